//! awsJson 1.0/1.1 framing (SQS, KMS, CloudTrail) and helpers for reading JSON inputs.

use crate::emulator::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

/// Parses a JSON request body; an empty body is `{}`.
pub fn parse_body(body: &[u8]) -> ApiResult<Value> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::client(
            "SerializationException",
            "The request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::client(
            "SerializationException",
            format!("Malformed JSON request body: {e}"),
        )),
    }
}

/// Typed access to a JSON input object, with AWS-style validation errors.
pub trait JsonInput {
    fn str_opt(&self, name: &str) -> Option<&str>;
    fn str_req(&self, name: &str) -> ApiResult<&str>;
    fn int_opt(&self, name: &str) -> ApiResult<Option<i64>>;
    fn bool_opt(&self, name: &str) -> Option<bool>;
    fn arr(&self, name: &str) -> &[Value];
    fn obj(&self, name: &str) -> Option<&Map<String, Value>>;
}

static EMPTY: Vec<Value> = Vec::new();

impl JsonInput for Value {
    fn str_opt(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }
    fn str_req(&self, name: &str) -> ApiResult<&str> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(ApiError::client(
                "SerializationException",
                format!("'{name}' must be a string"),
            )),
            None => Err(ApiError::missing(&lower_first(name))),
        }
    }
    fn int_opt(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                ApiError::client(
                    "SerializationException",
                    format!("'{name}' must be an integer"),
                )
            }),
            Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
                ApiError::client(
                    "SerializationException",
                    format!("'{name}' must be an integer"),
                )
            }),
            Some(_) => Err(ApiError::client(
                "SerializationException",
                format!("'{name}' must be an integer"),
            )),
        }
    }
    fn bool_opt(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        }
    }
    fn arr(&self, name: &str) -> &[Value] {
        self.get(name).and_then(Value::as_array).unwrap_or(&EMPTY)
    }
    fn obj(&self, name: &str) -> Option<&Map<String, Value>> {
        self.get(name).and_then(Value::as_object)
    }
}

pub fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

/// The awsJson error body.
pub fn error_body(err: &ApiError) -> String {
    serde_json::json!({ "__type": err.code, "message": err.message }).to_string()
}
