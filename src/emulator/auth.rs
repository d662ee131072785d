//! SigV4: reading the credential scope (which service, which access key) and verifying
//! signatures made with keys that the emulator's STS issued.

use super::crypto::{hmac_sha256, sha256_hex};
use super::util::hex;
use http::HeaderMap;

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request, ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn credential_scope(headers: &HeaderMap) -> Option<Scope> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256")?.trim();
    let mut cred = None;
    let mut signed = None;
    let mut sig = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            cred = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            sig = Some(v);
        }
    }
    let mut c = cred?.split('/');
    Some(Scope {
        access_key: c.next()?.to_string(),
        date: c.next()?.to_string(),
        region: c.next()?.to_string(),
        service: c.next()?.to_string(),
        signed_headers: signed
            .unwrap_or("")
            .split(';')
            .map(str::to_string)
            .collect(),
        signature: sig.unwrap_or("").to_string(),
    })
}

fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Verifies a SigV4 signature with `secret`. `raw_path` is the path as sent (percent-encoded).
pub fn verify_signature(
    scope: &Scope,
    secret: &str,
    method: &str,
    raw_path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> bool {
    let amz_date = match headers.get("x-amz-date").and_then(|v| v.to_str().ok()) {
        Some(d) => d,
        None => return false,
    };
    let mut canonical_headers = String::new();
    for name in &scope.signed_headers {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    let payload_hash = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| sha256_hex(body));
    // Non-S3 services sign the path URI-encoded once more (double encoding).
    let path = if raw_path.is_empty() {
        "/".to_string()
    } else {
        uri_encode(raw_path, true)
    };
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        canonical_query(query),
        scope.signed_headers.join(";")
    );
    let credential_scope = format!(
        "{}/{}/{}/aws4_request",
        scope.date, scope.region, scope.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    let expected = hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()));
    // Constant-time comparison.
    expected.len() == scope.signature.len()
        && expected
            .bytes()
            .zip(scope.signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scope() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"
                .parse()
                .unwrap(),
        );
        let s = credential_scope(&h).unwrap();
        assert_eq!(s.access_key, "AKID");
        assert_eq!(s.service, "sqs");
        assert_eq!(s.region, "us-east-1");
        assert_eq!(s.signed_headers, vec!["host", "x-amz-date"]);
    }

    #[test]
    fn aws_documented_example_signature() {
        // The GET /?Action=ListUsers example from the AWS SigV4 documentation.
        let mut h = HeaderMap::new();
        h.insert("host", "iam.amazonaws.com".parse().unwrap());
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let scope = Scope {
            access_key: "AKIDEXAMPLE".into(),
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
            signed_headers: vec!["content-type".into(), "host".into(), "x-amz-date".into()],
            signature: "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7".into(),
        };
        assert!(verify_signature(
            &scope,
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &h,
            b"",
        ));
        assert!(!verify_signature(
            &scope,
            "wrong",
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &h,
            b""
        ));
    }
}
