//! The canonical serialisation of a record, and the record hash computed over it.
//!
//! Canonical form (see docs/AUDIT.md): JSON with no insignificant whitespace, object members
//! sorted by key (byte-wise over the UTF-8 key, i.e. by code point), strings escaped exactly as
//! RFC 8785 does (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00xx` in lower
//! case, everything else as raw UTF-8), and numbers restricted to integers written in decimal.
//! A record line on disk is the canonical form of the whole record; its `hash` is the lowercase
//! hex SHA-256 of the canonical form of the record without its `hash` member.

use serde_json::Value;

/// The `prev_hash` of the first record of a log.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("the record contains a non-integer number ({0}), which the format does not allow")]
    NonIntegerNumber(String),
    #[error("the record is not a JSON object")]
    NotAnObject,
}

/// The canonical serialisation of `value`.
pub fn to_canonical(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else {
                return Err(CanonicalError::NonIntegerNumber(n.to_string()));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, v)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let b = c as u32 as usize;
                out.push_str("\\u00");
                out.push(HEX[b >> 4] as char);
                out.push(HEX[b & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const H: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(H[(b >> 4) as usize] as char);
        s.push(H[(b & 15) as usize] as char);
    }
    s
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// The hash of a record: SHA-256 over the canonical form of the record without `hash`.
pub fn record_hash(record: &Value) -> Result<String, CanonicalError> {
    let Value::Object(map) = record else {
        return Err(CanonicalError::NotAnObject);
    };
    let mut without = map.clone();
    without.remove("hash");
    Ok(sha256_hex(
        to_canonical(&Value::Object(without))?.as_bytes(),
    ))
}

/// True if `s` is 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Replaces every non-integer number in `value` by its decimal string, so caller-supplied
/// parameters always have a canonical form.
pub fn normalize_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_u64().is_none() && n.as_i64().is_none() => {
            *value = Value::String(n.to_string());
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_numbers),
        Value::Object(map) => map.values_mut().for_each(normalize_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_recursively_without_whitespace() {
        let v = json!({"b": 1, "a": {"z": [true, null], "y": "x"}, "A": -3});
        assert_eq!(
            to_canonical(&v).unwrap(),
            r#"{"A":-3,"a":{"y":"x","z":[true,null]},"b":1}"#
        );
    }

    #[test]
    fn escapes_like_rfc8785() {
        let v = json!("q\"b\\\u{08}\u{0c}\n\r\t\u{01}\u{1f}\u{7f}é/€😀");
        assert_eq!(
            to_canonical(&v).unwrap(),
            "\"q\\\"b\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é/€😀\""
        );
        // The same as serde_json's compact writer for strings.
        assert_eq!(
            to_canonical(&v).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
    }

    #[test]
    fn rejects_floats_and_normalizes_them() {
        let mut v = json!({"x": 1.5, "y": [2.25], "z": 3});
        assert!(matches!(
            to_canonical(&v),
            Err(CanonicalError::NonIntegerNumber(_))
        ));
        normalize_numbers(&mut v);
        assert_eq!(
            to_canonical(&v).unwrap(),
            r#"{"x":"1.5","y":["2.25"],"z":3}"#
        );
    }

    #[test]
    fn hash_ignores_the_hash_member_only() {
        let a = json!({"seq": 1, "hash": "whatever"});
        let b = json!({"seq": 1});
        assert_eq!(record_hash(&a).unwrap(), record_hash(&b).unwrap());
        assert_eq!(record_hash(&b).unwrap(), sha256_hex(br#"{"seq":1}"#));
        assert_ne!(
            record_hash(&json!({"seq": 2})).unwrap(),
            record_hash(&b).unwrap()
        );
        assert!(is_hash(&record_hash(&b).unwrap()));
        assert!(is_hash(GENESIS_HASH));
        assert!(!is_hash(&GENESIS_HASH.to_uppercase().replace('0', "A")));
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
