//! The one error type every emulated operation returns. The wire layer turns it into the
//! protocol's real error shape (see `wire/`).

use std::fmt;

/// An AWS error as the service would answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// The error code (`__type` for awsJson, `<Code>` for awsQuery, `x-amzn-errortype` for restJson).
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// SQS only: the legacy awsQuery code sent in `x-amzn-query-error`.
    pub query_code: Option<String>,
    /// `Sender` (client fault) or `Receiver` (server fault).
    pub sender_fault: bool,
}

impl ApiError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            query_code: None,
            sender_fault: status < 500,
        }
    }
    /// A 400 client error.
    pub fn client(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }
    pub fn with_query_code(mut self, code: impl Into<String>) -> Self {
        self.query_code = Some(code.into());
        self
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalFailure", message)
    }
    pub fn unknown_operation(op: &str) -> Self {
        Self::client(
            "UnknownOperationException",
            format!("The operation {op} is not supported by the emulator"),
        )
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::client("ValidationException", message)
    }
    pub fn missing(name: &str) -> Self {
        Self::validation(format!(
            "1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"
        ))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
