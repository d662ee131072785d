//! Reading resource policies (queue, topic and key policies are JSON documents).

/// True when a resource policy denies every request not made over TLS
/// (`"Condition": {"Bool": {"aws:SecureTransport": "false"}}` on a Deny).
pub fn tls_only(policy: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements = match &v["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        o @ serde_json::Value::Object(_) => vec![o.clone()],
        _ => return false,
    };
    statements.iter().any(|st| {
        st["Effect"] == "Deny"
            && matches!(st.pointer("/Condition/Bool/aws:SecureTransport"), Some(serde_json::Value::String(x)) if x == "false")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deny_without_tls_is_tls_only() {
        let deny = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"sqs:*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert!(tls_only(deny));
        assert!(!tls_only(&deny.replace("Deny", "Allow")));
        assert!(!tls_only(&deny.replace("\"false\"", "\"true\"")));
        assert!(!tls_only("not json"));
        assert!(!tls_only(r#"{"Statement":"x"}"#));
    }
}
