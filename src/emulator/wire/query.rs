//! awsQuery framing (SNS, STS, and SQS's legacy wire): `Action=` and the other parameters in a
//! form-encoded body, in the URL's query string, or split between the two; an XML response.

use super::xml::Xml;
use crate::emulator::error::{ApiError, ApiResult};
use std::collections::BTreeMap;

/// The flat parameters of an awsQuery request (`Tags.member.1.Key=...`).
#[derive(Debug, Clone, Default)]
pub struct Params(pub BTreeMap<String, String>);

impl Params {
    /// The parameters of the URL's query string and of a form body, merged as AWS does. A name
    /// given more than once keeps its first value, and the URL comes before the body: a
    /// parameter in both places takes the URL's value.
    pub fn parse(body: &[u8], query: &str) -> Params {
        let mut map = BTreeMap::new();
        for (k, v) in form_urlencoded::parse(query.as_bytes()).chain(form_urlencoded::parse(body)) {
            map.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
        Params(map)
    }
    /// Drops presigned-style authentication parameters (`X-Amz-Credential`, `X-Amz-Signature`,
    /// `X-Amz-Security-Token`, …): they are not operation input, and must never reach an
    /// operation or a CloudTrail event.
    pub fn without_auth(mut self) -> Params {
        self.0
            .retain(|k, _| !k.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("x-amz-")));
        self
    }
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    pub fn req(&self, name: &str) -> ApiResult<&str> {
        self.get(name).ok_or_else(|| {
            ApiError::client(
                "ValidationError",
                format!("1 validation error detected: Value null at '{name}' failed to satisfy constraint: Member must not be null"),
            )
        })
    }
    pub fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                ApiError::client(
                    "ValidationError",
                    format!("Value '{v}' at '{name}' is not a number"),
                )
            }),
        }
    }
    /// `Name.member.N` values, in order.
    pub fn members(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for i in 1.. {
            match self.get(&format!("{name}.member.{i}")) {
                Some(v) => out.push(v.to_string()),
                None => break,
            }
        }
        out
    }
    /// `Name.member.N.Field` structures, in order, as field maps.
    pub fn member_structs(&self, name: &str) -> Vec<BTreeMap<String, String>> {
        let mut out = Vec::new();
        for i in 1.. {
            let prefix = format!("{name}.member.{i}.");
            let fields: BTreeMap<String, String> = self
                .0
                .range(prefix.clone()..)
                .take_while(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k[prefix.len()..].to_string(), v.clone()))
                .collect();
            if fields.is_empty() {
                break;
            }
            out.push(fields);
        }
        out
    }
    /// `Name.entry.N.key` / `Name.entry.N.value` maps (SNS Attributes). For structured values
    /// (`MessageAttributes.entry.N.Value.StringValue`) the value field is the whole sub-map
    /// flattened to its `StringValue`/`BinaryValue`.
    pub fn entries(&self, name: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for i in 1.. {
            let k = self
                .get(&format!("{name}.entry.{i}.key"))
                .or_else(|| self.get(&format!("{name}.entry.{i}.Name")));
            let v = self
                .get(&format!("{name}.entry.{i}.value"))
                .or_else(|| self.get(&format!("{name}.entry.{i}.Value.StringValue")))
                .or_else(|| self.get(&format!("{name}.entry.{i}.Value.BinaryValue")));
            match (k, v) {
                (Some(k), Some(v)) => out.push((k.to_string(), v.to_string())),
                (Some(k), None) => out.push((k.to_string(), String::new())),
                _ => break,
            }
        }
        out
    }
    /// The parameters as a JSON object (for CloudTrail `requestParameters`).
    pub fn to_json(&self, skip: &[&str]) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for (k, v) in &self.0 {
            if k == "Action" || k == "Version" || skip.iter().any(|s| k.starts_with(s)) {
                continue;
            }
            let key = k
                .chars()
                .next()
                .map(|c| c.to_ascii_lowercase().to_string() + &k[c.len_utf8()..])
                .unwrap_or_default();
            m.insert(key, serde_json::Value::String(v.clone()));
        }
        serde_json::Value::Object(m)
    }
}

pub fn success_body(namespace: &str, op: &str, result: &Xml, request_id: &str) -> String {
    let mut s = String::with_capacity(512);
    s.push_str(&format!("<{op}Response xmlns=\"{namespace}\">"));
    // Always present: operations with an output shape require it even when empty, and the
    // SDKs ignore it for operations without one.
    s.push_str(&format!("<{op}Result>"));
    result.write(&mut s);
    s.push_str(&format!("</{op}Result>"));
    s.push_str("<ResponseMetadata><RequestId>");
    s.push_str(request_id);
    s.push_str(&format!("</RequestId></ResponseMetadata></{op}Response>"));
    s
}

pub fn error_body(namespace: &str, err: &ApiError, request_id: &str) -> String {
    let mut s = String::with_capacity(256);
    s.push_str(&format!(
        "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>"
    ));
    s.push_str(if err.sender_fault {
        "Sender"
    } else {
        "Receiver"
    });
    s.push_str("</Type><Code>");
    // SQS's awsQuery codes are its legacy ones (`AWS.SimpleQueueService.NonExistentQueue`).
    super::xml::escape_into(err.query_code.as_deref().unwrap_or(&err.code), &mut s);
    s.push_str("</Code><Message>");
    super::xml::escape_into(&err.message, &mut s);
    s.push_str("</Message></Error><RequestId>");
    s.push_str(request_id);
    s.push_str("</RequestId></ErrorResponse>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_members_entries_and_structs() {
        let p = Params::parse(
            b"Action=X&Attributes.entry.1.key=RawMessageDelivery&Attributes.entry.1.value=true&Tags.member.1.Key=a&Tags.member.1.Value=b&Ids.member.1=x&Ids.member.2=y",
            "",
        );
        assert_eq!(p.get("Action"), Some("X"));
        assert_eq!(
            p.entries("Attributes"),
            vec![("RawMessageDelivery".into(), "true".into())]
        );
        assert_eq!(p.members("Ids"), vec!["x", "y"]);
        let t = p.member_structs("Tags");
        assert_eq!(t[0]["Key"], "a");
        assert_eq!(t[0]["Value"], "b");
    }

    #[test]
    fn url_and_body_merge_and_the_url_wins_a_name_in_both() {
        let p = Params::parse(
            b"QueueNamePrefix=from-body&MaxResults=5&MaxResults=9",
            "Action=ListQueues&Version=2012-11-05&QueueNamePrefix=from-url",
        );
        assert_eq!(p.get("Action"), Some("ListQueues"));
        assert_eq!(p.get("QueueNamePrefix"), Some("from-url"));
        assert_eq!(p.get("MaxResults"), Some("5"));
    }

    #[test]
    fn presign_parameters_are_not_operation_input() {
        let p = Params::parse(
            b"",
            "Action=GetCallerIdentity&X-Amz-Signature=ab&x-amz-security-token=t&X-Amz-Credential=c&XAmz=keep",
        )
        .without_auth();
        assert_eq!(
            p.0.keys().map(String::as_str).collect::<Vec<_>>(),
            vec!["Action", "XAmz"]
        );
    }
}
