//! SigV4: reading the credential scope (which service, which access key) and verifying
//! signatures made with keys that the emulator's STS issued. Both ways of carrying a signature
//! are read: the `Authorization` header, and presigned-style query parameters (`X-Amz-Algorithm`,
//! `X-Amz-Credential`, `X-Amz-Signature`, … in the URL).

use super::crypto::{hmac_sha256, sha256_hex};
use super::error::ApiError;
use super::util::hex;
use chrono::{DateTime, NaiveDateTime, Utc};
use http::HeaderMap;

/// The parts of `Authorization: AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request, ...`
/// (or of the same fields in the query string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// Set when the signature came in the query string rather than a header.
    pub query: Option<QueryAuth>,
}

/// The fields only presigned-style (query) authentication carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryAuth {
    /// `X-Amz-Date`: the signing time (it is in the string to sign).
    pub amz_date: String,
    /// `X-Amz-Expires`, as sent.
    pub expires: Option<String>,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub token: Option<String>,
}

/// Longest a presigned request may live (7 days, as in AWS).
const MAX_EXPIRES: i64 = 604_800;

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
    scope_from(cred?, signed.unwrap_or(""), sig.unwrap_or(""), None)
}

fn scope_from(cred: &str, signed: &str, sig: &str, query: Option<QueryAuth>) -> Option<Scope> {
    let mut c = cred.split('/');
    Some(Scope {
        access_key: c.next()?.to_string(),
        date: c.next()?.to_string(),
        region: c.next()?.to_string(),
        service: c.next()?.to_string(),
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature: sig.to_string(),
        query,
    })
}

/// The scope of presigned-style authentication: `X-Amz-Algorithm=AWS4-HMAC-SHA256` with
/// `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders` and `X-Amz-Signature` in the query.
pub fn query_scope(query: &str) -> Option<Scope> {
    if !query.contains("X-Amz-") && !query.contains("x-amz-") {
        return None;
    }
    let mut algorithm = None;
    let mut cred = None;
    let mut date = None;
    let mut signed = None;
    let mut sig = None;
    let mut expires = None;
    let mut token = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.to_ascii_lowercase().as_str() {
            "x-amz-algorithm" => &mut algorithm,
            "x-amz-credential" => &mut cred,
            "x-amz-date" => &mut date,
            "x-amz-signedheaders" => &mut signed,
            "x-amz-signature" => &mut sig,
            "x-amz-expires" => &mut expires,
            "x-amz-security-token" => &mut token,
            _ => continue,
        };
        slot.get_or_insert(v.into_owned());
    }
    if algorithm.as_deref() != Some("AWS4-HMAC-SHA256") {
        return None;
    }
    let auth = QueryAuth {
        amz_date: date?,
        expires,
        token,
    };
    scope_from(
        &cred?,
        signed.as_deref().unwrap_or(""),
        sig.as_deref().unwrap_or(""),
        Some(auth),
    )
}

/// The request's scope: the `Authorization` header first, then the query string.
pub fn request_scope(headers: &HeaderMap, query: &str) -> Option<Scope> {
    credential_scope(headers).or_else(|| query_scope(query))
}

/// For presigned-style authentication: refuses a URL whose `X-Amz-Date`/`X-Amz-Expires` are
/// malformed, or that has expired at `now`. Header authentication passes unchanged.
pub fn check_query_time(scope: &Scope, now: DateTime<Utc>) -> Result<(), ApiError> {
    let Some(q) = &scope.query else {
        return Ok(());
    };
    let bad = |msg: &str| ApiError::client("AuthorizationQueryParametersError", msg);
    let signed = NaiveDateTime::parse_from_str(&q.amz_date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""))?
        .and_utc();
    let expires = match &q.expires {
        None => MAX_EXPIRES,
        Some(e) => match e.parse::<i64>() {
            Ok(n) if (1..=MAX_EXPIRES).contains(&n) => n,
            _ => {
                return Err(bad(
                    "X-Amz-Expires must be a number of seconds from 1 to 604800 (7 days)",
                ));
            }
        },
    };
    if now > signed + chrono::Duration::seconds(expires) {
        return Err(ApiError::new(403, "AccessDenied", "Request has expired"));
    }
    Ok(())
}

fn uri_encode(s: &str, keep_slash: bool) -> String {
    uri_encode_bytes(s.as_bytes(), keep_slash)
}

fn uri_encode_bytes(s: &[u8], keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
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

/// Percent-decodes one query component to bytes (`+` is a space, as in form encoding; a `%`
/// not followed by two hex digits stays as it is). Bytes, not text: a client signs what it
/// sent, so invalid UTF-8 must round-trip unchanged.
fn decode_component(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).and_then(hex_val),
                b.get(i + 2).and_then(hex_val),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex_val(c: &u8) -> Option<u8> {
    (*c as char).to_digit(16).map(|d| d as u8)
}

/// The SigV4 canonical query string: every parameter decoded, URI-encoded (RFC 3986
/// unreserved characters kept, everything else `%XX`), sorted by name then value, joined with
/// `&`. Presigned requests leave their own `X-Amz-Signature` out.
pub fn canonical_query(query: &str, skip_signature: bool) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode_bytes(&decode_component(k), false),
                uri_encode_bytes(&decode_component(v), false),
            )
        })
        .filter(|(k, _)| !(skip_signature && k == "X-Amz-Signature"))
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
    let amz_date = match &scope.query {
        Some(q) => q.amz_date.as_str(),
        None => match headers.get("x-amz-date").and_then(|v| v.to_str().ok()) {
            Some(d) => d,
            None => return false,
        },
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
    let mut payload_hashes = vec![
        headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| sha256_hex(body)),
    ];
    if scope.query.is_some() {
        // A presigned URL may be signed before its payload is known.
        payload_hashes.push("UNSIGNED-PAYLOAD".to_string());
    }
    // Non-S3 services sign the path URI-encoded once more (double encoding).
    let path = if raw_path.is_empty() {
        "/".to_string()
    } else {
        uri_encode(raw_path, true)
    };
    let canonical_query = canonical_query(query, scope.query.is_some());
    let credential_scope = format!(
        "{}/{}/{}/aws4_request",
        scope.date, scope.region, scope.service
    );
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    let k_signing = hmac_sha256(&k_service, b"aws4_request");
    payload_hashes.iter().any(|payload_hash| {
        let canonical_request = format!(
            "{method}\n{path}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
            scope.signed_headers.join(";")
        );
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{credential_scope}\n{}",
            sha256_hex(canonical_request.as_bytes())
        );
        let expected = hex(&hmac_sha256(&k_signing, string_to_sign.as_bytes()));
        // Constant-time comparison.
        expected.len() == scope.signature.len()
            && expected
                .bytes()
                .zip(scope.signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    })
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
            query: None,
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
    #[test]
    fn canonical_query_is_decoded_encoded_and_sorted() {
        assert_eq!(
            canonical_query("b=2&a=%7e&a=1&c=x+y%2Fz&d&&e=%FF%zz", false),
            "a=1&a=~&b=2&c=x%20y%2Fz&d=&e=%FF%25zz"
        );
        assert_eq!(
            canonical_query("Action=X&X-Amz-Signature=abc&X-Amz-Date=1", true),
            "Action=X&X-Amz-Date=1"
        );
    }

    #[test]
    fn a_tampered_query_fails_the_signature() {
        // The documented GET /?Action=ListUsers example, with its Version changed.
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
            query: None,
        };
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        // Order and encoding of the parameters do not matter; their values do.
        assert!(verify_signature(
            &scope,
            secret,
            "GET",
            "/",
            "Version=2010-05-08&Action=ListUsers",
            &h,
            b""
        ));
        assert!(verify_signature(
            &scope,
            secret,
            "GET",
            "/",
            "Action=List%55sers&Version=2010-05-08",
            &h,
            b""
        ));
        assert!(!verify_signature(
            &scope,
            secret,
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-09",
            &h,
            b""
        ));
        assert!(!verify_signature(
            &scope,
            secret,
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08&Extra=1",
            &h,
            b""
        ));
    }

    /// The presigned-URL example of the AWS SigV4 documentation (GET /test.txt).
    const PRESIGNED: &str = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

    #[test]
    fn presigned_query_authentication_is_verified() {
        let mut h = HeaderMap::new();
        h.insert("host", "examplebucket.s3.amazonaws.com".parse().unwrap());
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let scope = request_scope(&h, PRESIGNED).unwrap();
        assert_eq!(scope.access_key, "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(scope.service, "s3");
        assert_eq!(scope.query.as_ref().unwrap().amz_date, "20130524T000000Z");
        assert!(verify_signature(
            &scope,
            secret,
            "GET",
            "/test.txt",
            PRESIGNED,
            &h,
            b""
        ));
        assert!(!verify_signature(
            &scope,
            "wrong",
            "GET",
            "/test.txt",
            PRESIGNED,
            &h,
            b""
        ));
        // Stretching the lifetime breaks the signature.
        let stretched = PRESIGNED.replace("X-Amz-Expires=86400", "X-Amz-Expires=604800");
        let scope = request_scope(&h, &stretched).unwrap();
        assert!(!verify_signature(
            &scope,
            secret,
            "GET",
            "/test.txt",
            &stretched,
            &h,
            b""
        ));
        // Without the algorithm it is not query authentication at all.
        assert!(query_scope(&PRESIGNED.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256&", "")).is_none());
    }

    #[test]
    fn presigned_urls_expire() {
        let scope = query_scope(PRESIGNED).unwrap();
        let signed = chrono::NaiveDate::from_ymd_opt(2013, 5, 24)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        assert!(check_query_time(&scope, signed + chrono::Duration::seconds(86_400)).is_ok());
        let e = check_query_time(&scope, signed + chrono::Duration::seconds(86_401)).unwrap_err();
        assert_eq!((e.status, e.code.as_str()), (403, "AccessDenied"));
        let bad = query_scope(&PRESIGNED.replace("20130524T000000Z", "yesterday")).unwrap();
        let e = check_query_time(&bad, signed).unwrap_err();
        assert_eq!(e.code, "AuthorizationQueryParametersError");
        let long =
            query_scope(&PRESIGNED.replace("X-Amz-Expires=86400", "X-Amz-Expires=604801")).unwrap();
        assert!(check_query_time(&long, signed).is_err());
        // Header authentication has no URL lifetime.
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=abc"
                .parse()
                .unwrap(),
        );
        assert!(check_query_time(&credential_scope(&h).unwrap(), signed).is_ok());
    }
}
