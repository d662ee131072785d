//! Reading resource policies (queue, topic and key policies are JSON documents): a small
//! evaluator of the parts posture needs, not a string match.
//!
//! What it decides:
//! - [`tls_only`]: some statement denies every request made without TLS — `Effect` `Deny`,
//!   `Principal` `"*"` or `{"AWS": "*"}` (no `NotPrincipal`), an `Action` that covers every
//!   action of the service (`*`, `sqs:*`, `SNS:*`; or a `NotAction` that names none of them), a
//!   `Resource` that covers the resource (`*`, the ARN, or a wildcard matching it; or a
//!   `NotResource` that does not), and a condition block that holds only
//!   `Bool`/`BoolIfExists` `aws:SecureTransport` with `"false"` among its values (any other
//!   condition narrows the deny, so it no longer covers every request without TLS).
//! - [`public_statements`]: statements that `Allow` `Principal` `"*"` (or `{"AWS": "*"}`, or any
//!   `NotPrincipal`) without a restricting condition (a fixed `aws:SourceOwner`,
//!   `aws:SourceAccount`, `aws:SourceArn`, `aws:PrincipalOrgID`, `aws:PrincipalAccount`,
//!   `aws:PrincipalArn`, `aws:SourceVpce`, `aws:SourceVpc` or `aws:SourceIp` value, without
//!   wildcards or policy variables, under an operator that is not `…IfExists`).
//!
//! AWS's rules followed: element names (`Effect`, `Principal`, `Condition`, …) and operator
//! names are case-sensitive; action names, condition keys and `Bool` values are not; every
//! element may be a string or an array of strings. Several statements that together deny
//! every non-TLS request are not combined: such a policy reads as not TLS-only (a false
//! failure, never a false pass).

use serde_json::Value;

/// The statements of a policy document (one object or an array), or None when the text is
/// not a policy.
fn statements(policy: &str) -> Option<Vec<Value>> {
    let v: Value = serde_json::from_str(policy).ok()?;
    match v.get("Statement")? {
        Value::Array(a) => Some(a.clone()),
        o @ Value::Object(_) => Some(vec![o.clone()]),
        _ => None,
    }
}

/// A string or an array of strings, as strings (other JSON values are dropped).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| match x {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            })
            .collect(),
        Some(Value::Bool(b)) => vec![b.to_string()],
        _ => Vec::new(),
    }
}

/// IAM wildcard match (`*` any run, `?` one character), case-insensitive when asked.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = if ignore_case {
        (
            pattern.to_lowercase().chars().collect(),
            text.to_lowercase().chars().collect(),
        )
    } else {
        (pattern.chars().collect(), text.chars().collect())
    };
    // Iterative matcher with backtracking to the last `*` (linear memory).
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Whether the principal element is everyone: `"*"`, `{"AWS": "*"}` (or an array holding `*`).
fn principal_is_everyone(p: Option<&Value>) -> bool {
    match p {
        Some(Value::String(s)) => s == "*",
        Some(Value::Object(m)) => m
            .get("AWS")
            .map(|a| strings(Some(a)).iter().any(|s| s == "*"))
            .unwrap_or(false),
        _ => false,
    }
}

/// Whether an `Action` list covers every action of `service` (`sqs`, `sns`).
fn covers_service(patterns: &[String], service: &str) -> bool {
    patterns
        .iter()
        .any(|p| p == "*" || p.eq_ignore_ascii_case(&format!("{service}:*")))
}

/// Whether a `NotAction` list leaves every action of `service` in (names none of them).
fn excludes_none_of(patterns: &[String], service: &str) -> bool {
    let prefix = format!("{service}:");
    !patterns.iter().any(|p| {
        let l = p.to_lowercase();
        l == "*" || l.starts_with(&prefix) || glob(&l, &prefix, false) || l.starts_with('*')
    })
}

fn action_covers(st: &Value, service: &str) -> bool {
    match (st.get("Action"), st.get("NotAction")) {
        (Some(a), None) => covers_service(&strings(Some(a)), service),
        (None, Some(n)) => excludes_none_of(&strings(Some(n)), service),
        _ => false,
    }
}

fn resource_covers(st: &Value, arn: &str) -> bool {
    match (st.get("Resource"), st.get("NotResource")) {
        // A resource policy's statement without Resource applies to the resource it is on.
        (None, None) => true,
        (Some(r), None) => strings(Some(r)).iter().any(|p| glob(p, arn, false)),
        (None, Some(n)) => !strings(Some(n)).iter().any(|p| glob(p, arn, false)),
        _ => false,
    }
}

/// The condition block as (operator, key, values).
fn conditions(st: &Value) -> Option<Vec<(String, String, Vec<String>)>> {
    match st.get("Condition") {
        None => Some(Vec::new()),
        Some(Value::Object(ops)) => {
            let mut out = Vec::new();
            for (op, keys) in ops {
                let Value::Object(keys) = keys else {
                    return None;
                };
                for (k, v) in keys {
                    out.push((op.clone(), k.to_lowercase(), strings(Some(v))));
                }
            }
            Some(out)
        }
        Some(_) => None,
    }
}

/// Whether a statement is a TLS-only deny for `service` on `arn` (None: on whatever resource
/// the policy is attached to).
pub fn is_tls_deny(st: &Value, service: &str, arn: Option<&str>) -> bool {
    if st.get("Effect").and_then(Value::as_str) != Some("Deny")
        || st.get("NotPrincipal").is_some()
        || !principal_is_everyone(st.get("Principal"))
        || !action_covers(st, service)
        || !arn.is_none_or(|a| resource_covers(st, a))
    {
        return false;
    }
    let Some(conds) = conditions(st) else {
        return false;
    };
    !conds.is_empty()
        && conds.iter().all(|(op, key, values)| {
            (op == "Bool" || op == "BoolIfExists")
                && key == "aws:securetransport"
                && values.iter().any(|v| v.eq_ignore_ascii_case("false"))
        })
}

/// The statement (as JSON text) that makes a policy TLS-only for `service` on `arn`, if any.
pub fn tls_only_statement(policy: &str, service: &str, arn: &str) -> Option<String> {
    statements(policy)?
        .into_iter()
        .find(|st| is_tls_deny(st, service, Some(arn)))
        .map(|st| st.to_string())
}

/// True when a resource policy denies every request to `arn` (a `service` resource) not made
/// over TLS (see the module's rules).
pub fn tls_only_for(policy: &str, service: &str, arn: &str) -> bool {
    tls_only_statement(policy, service, arn).is_some()
}

/// True when some statement is a TLS-only deny of every `sqs` or `sns` action, whatever its
/// `Resource` (for views that show a policy without its resource's ARN at hand).
pub fn tls_only(policy: &str) -> bool {
    statements(policy).is_some_and(|sts| {
        sts.iter()
            .any(|st| ["sqs", "sns"].iter().any(|svc| is_tls_deny(st, svc, None)))
    })
}

const RESTRICTING_KEYS: &[&str] = &[
    "aws:sourceowner",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:principalorgid",
    "aws:principalaccount",
    "aws:principalarn",
    "aws:sourcevpce",
    "aws:sourcevpc",
    "aws:sourceip",
];

fn fixed(v: &str) -> bool {
    !v.is_empty() && !v.contains('*') && !v.contains('?') && !v.contains("${")
}

fn restricted(st: &Value) -> bool {
    let Some(conds) = conditions(st) else {
        // An unreadable condition block: not evidence of a restriction.
        return false;
    };
    conds.iter().any(|(op, key, values)| {
        !op.ends_with("IfExists")
            && !op.starts_with("ForAnyValue")
            && !op.starts_with("Not")
            && op != "Null"
            && RESTRICTING_KEYS.contains(&key.as_str())
            && !values.is_empty()
            && values.iter().all(|v| fixed(v))
    })
}

/// The statements (as JSON text) that allow everyone without a restricting condition.
/// `Err` when the text is not a policy document.
pub fn public_statements(policy: &str) -> Result<Vec<String>, String> {
    let sts =
        statements(policy).ok_or_else(|| "the policy is not a JSON policy document".to_string())?;
    Ok(sts
        .into_iter()
        .filter(|st| {
            st.get("Effect").and_then(Value::as_str) == Some("Allow")
                && (st.get("NotPrincipal").is_some() || principal_is_everyone(st.get("Principal")))
                && !restricted(st)
        })
        .map(|st| st.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const Q: &str = "arn:aws:sqs:us-east-1:123456789012:claims-intake";

    fn pol(st: Value) -> String {
        json!({ "Version": "2012-10-17", "Statement": [st] }).to_string()
    }
    fn deny() -> Value {
        json!({ "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": Q,
                "Condition": { "Bool": { "aws:SecureTransport": "false" } } })
    }
    fn with(mut v: Value, k: &str, x: Value) -> Value {
        v[k] = x;
        v
    }
    fn without(mut v: Value, k: &str) -> Value {
        v.as_object_mut().map(|m| m.remove(k));
        v
    }

    #[test]
    fn a_deny_without_tls_is_tls_only() {
        assert!(tls_only_for(&pol(deny()), "sqs", Q));
        assert!(tls_only(&pol(deny())));
        assert!(!tls_only("not json"));
        assert!(!tls_only(r#"{"Statement":"x"}"#));
        // A single statement object (not an array) is a policy too.
        let one = json!({ "Statement": deny() }).to_string();
        assert!(tls_only_for(&one, "sqs", Q));
    }

    #[test]
    fn tricky_statements_are_not_tls_only() {
        let cases: Vec<(&str, Value)> = vec![
            (
                "allow with the condition",
                with(deny(), "Effect", json!("Allow")),
            ),
            (
                "condition true",
                with(
                    deny(),
                    "Condition",
                    json!({ "Bool": { "aws:SecureTransport": "true" } }),
                ),
            ),
            (
                "only some actions",
                with(
                    deny(),
                    "Action",
                    json!(["sqs:SendMessage", "sqs:ReceiveMessage"]),
                ),
            ),
            ("another service", with(deny(), "Action", json!("sns:*"))),
            (
                "not everyone",
                with(
                    deny(),
                    "Principal",
                    json!({ "AWS": "arn:aws:iam::123456789012:root" }),
                ),
            ),
            (
                "NotPrincipal",
                with(
                    without(deny(), "Principal"),
                    "NotPrincipal",
                    json!({ "AWS": "arn:aws:iam::1:root" }),
                ),
            ),
            (
                "another resource",
                with(
                    deny(),
                    "Resource",
                    json!("arn:aws:sqs:us-east-1:123456789012:other"),
                ),
            ),
            (
                "NotResource names it",
                with(without(deny(), "Resource"), "NotResource", json!(Q)),
            ),
            (
                "NotAction names sqs",
                with(
                    without(deny(), "Action"),
                    "NotAction",
                    json!("sqs:SendMessage"),
                ),
            ),
            (
                "narrowed by another condition",
                with(
                    deny(),
                    "Condition",
                    json!({ "Bool": { "aws:SecureTransport": "false" }, "StringEquals": { "aws:SourceVpce": "vpce-1" } }),
                ),
            ),
            (
                "other operator",
                with(
                    deny(),
                    "Condition",
                    json!({ "StringEquals": { "aws:SecureTransport": "false" } }),
                ),
            ),
            (
                "no condition key",
                with(
                    deny(),
                    "Condition",
                    json!({ "Bool": { "aws:MultiFactorAuthPresent": "false" } }),
                ),
            ),
            (
                "lower-case element name",
                json!({ "effect": "Deny", "Principal": "*", "Action": "sqs:*", "Condition": { "Bool": { "aws:SecureTransport": "false" } } }),
            ),
            (
                "lower-case operator",
                with(
                    deny(),
                    "Condition",
                    json!({ "bool": { "aws:SecureTransport": "false" } }),
                ),
            ),
        ];
        for (why, st) in cases {
            assert!(!tls_only_for(&pol(st.clone()), "sqs", Q), "{why}: {st}");
        }
    }

    #[test]
    fn equivalent_spellings_are_tls_only() {
        let cases: Vec<(&str, Value)> = vec![
            ("AWS star", with(deny(), "Principal", json!({ "AWS": "*" }))),
            (
                "AWS star in an array",
                with(deny(), "Principal", json!({ "AWS": ["*"] })),
            ),
            ("all actions", with(deny(), "Action", json!("*"))),
            (
                "upper-case service",
                with(deny(), "Action", json!(["SQS:*"])),
            ),
            (
                "array of actions with the wildcard",
                with(deny(), "Action", json!(["sqs:SendMessage", "sqs:*"])),
            ),
            (
                "NotAction of another service",
                with(without(deny(), "Action"), "NotAction", json!("sns:Publish")),
            ),
            (
                "resource wildcard",
                with(
                    deny(),
                    "Resource",
                    json!("arn:aws:sqs:*:123456789012:claims-*"),
                ),
            ),
            ("no resource", without(deny(), "Resource")),
            (
                "NotResource of another",
                with(
                    without(deny(), "Resource"),
                    "NotResource",
                    json!("arn:aws:sqs:us-east-1:1:x"),
                ),
            ),
            (
                "BoolIfExists",
                with(
                    deny(),
                    "Condition",
                    json!({ "BoolIfExists": { "aws:SecureTransport": "false" } }),
                ),
            ),
            (
                "key case",
                with(
                    deny(),
                    "Condition",
                    json!({ "Bool": { "AWS:securetransport": "false" } }),
                ),
            ),
            (
                "value array and case",
                with(
                    deny(),
                    "Condition",
                    json!({ "Bool": { "aws:SecureTransport": ["False"] } }),
                ),
            ),
            (
                "JSON boolean",
                with(
                    deny(),
                    "Condition",
                    json!({ "Bool": { "aws:SecureTransport": false } }),
                ),
            ),
        ];
        for (why, st) in cases {
            assert!(tls_only_for(&pol(st.clone()), "sqs", Q), "{why}: {st}");
        }
    }

    #[test]
    fn public_statements_are_found_and_restricted_ones_are_not() {
        let allow = |p: Value, c: Option<Value>| {
            let mut st = json!({ "Effect": "Allow", "Principal": p, "Action": "sqs:SendMessage", "Resource": Q });
            if let Some(c) = c {
                st["Condition"] = c;
            }
            pol(st)
        };
        assert_eq!(
            public_statements(&allow(json!("*"), None)).map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(
            public_statements(&allow(json!({ "AWS": "*" }), None)).map(|v| v.len()),
            Ok(1)
        );
        assert_eq!(
            public_statements(&allow(json!({ "AWS": ["arn:aws:iam::1:root", "*"] }), None))
                .map(|v| v.len()),
            Ok(1)
        );
        // Restricted to the owner (the SNS default policy), to a source ARN: not public.
        let owner = json!({ "StringEquals": { "AWS:SourceOwner": "123456789012" } });
        assert_eq!(
            public_statements(&allow(json!({ "AWS": "*" }), Some(owner))),
            Ok(vec![])
        );
        let src = json!({ "ArnEquals": { "aws:SourceArn": "arn:aws:sns:us-east-1:1:t" } });
        assert_eq!(public_statements(&allow(json!("*"), Some(src))), Ok(vec![]));
        // A wildcard value, an IfExists operator or an unrelated key restricts nothing.
        for c in [
            json!({ "ArnLike": { "aws:SourceArn": "arn:aws:sns:*" } }),
            json!({ "StringEqualsIfExists": { "aws:SourceAccount": "1" } }),
            json!({ "Bool": { "aws:SecureTransport": "true" } }),
            json!({ "StringEquals": { "aws:SourceAccount": "${aws:PrincipalAccount}" } }),
        ] {
            assert_eq!(
                public_statements(&allow(json!("*"), Some(c.clone()))).map(|v| v.len()),
                Ok(1),
                "{c}"
            );
        }
        // A named principal, a Deny: not public. NotPrincipal with Allow: public.
        assert_eq!(
            public_statements(&allow(json!({ "AWS": "arn:aws:iam::1:root" }), None)),
            Ok(vec![])
        );
        assert_eq!(
            public_statements(&pol(with(deny(), "Condition", json!({})))),
            Ok(vec![])
        );
        let np = pol(
            json!({ "Effect": "Allow", "NotPrincipal": { "AWS": "arn:aws:iam::1:root" }, "Action": "sqs:*" }),
        );
        assert_eq!(public_statements(&np).map(|v| v.len()), Ok(1));
        assert!(public_statements("nope").is_err());
    }

    #[test]
    fn glob_matches_like_iam() {
        assert!(glob(
            "arn:aws:sqs:*:1:q",
            "arn:aws:sqs:us-east-1:1:q",
            false
        ));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
        assert!(glob("SQS:*", "sqs:SendMessage", true));
        assert!(!glob("SQS:*", "sqs:SendMessage", false));
        assert!(glob("*", "", false));
        assert!(glob("**a", "ba", false));
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Never panics on any text, and a policy that is not JSON is neither TLS-only nor
        /// readable for public statements.
        #[test]
        fn any_text_is_safe(s in ".{0,200}") {
            let _ = tls_only_for(&s, "sqs", "arn:aws:sqs:us-east-1:1:q");
            let _ = public_statements(&s);
        }

        /// Adding any further condition to the TLS deny narrows it: no longer TLS-only.
        #[test]
        fn an_extra_condition_narrows_the_deny(key in "[a-z]{1,8}:[A-Za-z]{1,12}", val in "[a-z0-9]{1,8}") {
            prop_assume!(key.to_lowercase() != "aws:securetransport");
            let p = serde_json::json!({ "Statement": [{ "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                "Condition": { "Bool": { "aws:SecureTransport": "false" }, "StringEquals": { key: val } } }] }).to_string();
            prop_assert!(!tls_only_for(&p, "sqs", "arn:aws:sqs:us-east-1:1:q"));
        }

        /// Only a pattern that matches every action of the service covers it.
        #[test]
        fn a_named_action_never_covers_the_service(action in "[A-Za-z]{1,20}") {
            let p = serde_json::json!({ "Statement": [{ "Effect": "Deny", "Principal": "*", "Action": format!("sqs:{action}"),
                "Condition": { "Bool": { "aws:SecureTransport": "false" } } }] }).to_string();
            prop_assert!(!tls_only_for(&p, "sqs", "arn:aws:sqs:us-east-1:1:q"));
        }

        /// glob: a pattern without wildcards matches only itself.
        #[test]
        fn a_literal_pattern_matches_only_itself(a in "[a-z:]{0,12}", b in "[a-z:]{0,12}") {
            prop_assert_eq!(glob(&a, &b, false), a == b);
        }
    }
}
