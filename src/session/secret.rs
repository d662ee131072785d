//! Secrets held in memory only: zeroized on drop, never printed by `Debug` or `Display`.

use std::fmt;
use zeroize::Zeroize;

/// A secret string (secret access key, session token, MFA code). Its memory is overwritten when
/// dropped, and formatting it shows only `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is handed to the SDK.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A set of AWS credentials. The access key id is not secret (it appears in CloudTrail); the
/// secret key and the session token are.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Option<Secret>,
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
}

impl fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires", &self.expires)
            .finish()
    }
}

impl AwsCredentials {
    /// A credentials provider for SDK clients (the SDK keeps its own copy in memory).
    pub fn provider(&self) -> aws_credential_types::provider::SharedCredentialsProvider {
        aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(
                &self.access_key_id,
                self.secret_access_key.expose(),
                self.session_token.as_ref().map(|t| t.expose().to_string()),
                self.expires.map(std::time::SystemTime::from),
                "phi-console-session",
            ),
        )
    }
}

/// Credentials that can be swapped while clients keep using them (the audit sealer follows the
/// session through re-authentication this way).
#[derive(Clone, Default)]
pub struct CurrentCredentials(std::sync::Arc<std::sync::RwLock<Option<AwsCredentials>>>);

impl fmt::Debug for CurrentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CurrentCredentials(<redacted>)")
    }
}

impl CurrentCredentials {
    pub fn set(&self, c: &AwsCredentials) {
        if let Ok(mut g) = self.0.write() {
            *g = Some(c.clone());
        }
    }
    pub fn provider(&self) -> aws_credential_types::provider::SharedCredentialsProvider {
        aws_credential_types::provider::SharedCredentialsProvider::new(self.clone())
    }
}

impl aws_credential_types::provider::ProvideCredentials for CurrentCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let current = self.0.read().ok().and_then(|g| g.clone());
        aws_credential_types::provider::future::ProvideCredentials::ready(match current {
            Some(c) => Ok(aws_credential_types::Credentials::new(
                &c.access_key_id,
                c.secret_access_key.expose(),
                c.session_token.as_ref().map(|t| t.expose().to_string()),
                c.expires.map(std::time::SystemTime::from),
                "phi-console-current-session",
            )),
            None => Err(
                aws_credential_types::provider::error::CredentialsError::not_loaded(
                    "no session yet",
                ),
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let c = AwsCredentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Secret::new("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            session_token: Some(Secret::new("IQoJb3JpZ2luX2VjEXAMPLETOKEN")),
            expires: None,
        };
        let shown = format!("{c:?} {} {:?}", c.secret_access_key, c.session_token);
        assert!(!shown.contains("wJalr"), "{shown}");
        assert!(!shown.contains("IQoJ"), "{shown}");
        assert!(shown.contains("ASIAEXAMPLE"));
    }
}
