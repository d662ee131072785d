//! MFA codes: format checks before calling STS, and AWS's answers explained.

/// Why a session could not be opened or renewed, in words that say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the MFA code must be 6 digits (got {0} characters)")]
    CodeFormat(usize),
    #[error("an MFA code is required for profile '{0}'")]
    CodeRequired(String),
    #[error(
        "AWS rejected the MFA code: it is wrong or from another device; check the clock of your authenticator and try again"
    )]
    WrongCode,
    #[error("that MFA code was already used; wait for the next code (within 30 s) and enter it")]
    ReusedCode,
    #[error("the MFA device {0} was not found for this user; check mfa_serial in the profile")]
    DeviceNotFound(String),
    #[error("role {role} cannot be assumed by these credentials: {message}")]
    RoleNotAssumable { role: String, message: String },
    #[error(
        "role chaining is capped at 1 hour by STS: lower duration_seconds to 3600 or less for profile '{0}'"
    )]
    ChainingCap(String),
    #[error("the base credentials were rejected ({0}); check the access key of the profile")]
    BadCredentials(String),
    #[error("the base credentials have expired; refresh them and try again")]
    Expired,
    #[error(
        "more than one role in this chain asks for MFA; a code can be used only once, so give mfa_serial on one profile only"
    )]
    MultipleMfa,
    #[error("cannot get base credentials: {0}")]
    BaseCredentials(String),
    #[error("cannot reach STS: {0}")]
    Network(String),
    #[error("STS refused the request: {0}")]
    Sts(String),
}

/// Checks an MFA code's format (6 digits; spaces are ignored) before anything is sent.
pub fn validate_code(input: &str) -> Result<String, SessionError> {
    let code: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SessionError::CodeFormat(code.chars().count()));
    }
    Ok(code)
}

/// Explains an STS error code and message.
pub fn explain(
    code: &str,
    message: &str,
    serial: Option<&str>,
    role: Option<&str>,
    profile: &str,
) -> SessionError {
    let lower = message.to_ascii_lowercase();
    match code {
        "AccessDenied" if lower.contains("already been used") => SessionError::ReusedCode,
        "AccessDenied" if lower.contains("invalid mfa one time pass code") => {
            SessionError::WrongCode
        }
        "AccessDenied"
            if lower.contains("serial number is valid")
                || lower.contains("unable to validate mfa") =>
        {
            SessionError::DeviceNotFound(serial.unwrap_or("?").to_string())
        }
        "AccessDenied" => match role {
            Some(r) => SessionError::RoleNotAssumable {
                role: r.to_string(),
                message: message.to_string(),
            },
            None => SessionError::Sts(format!("{code}: {message}")),
        },
        "ValidationError" if lower.contains("role chaining") => {
            SessionError::ChainingCap(profile.to_string())
        }
        "ValidationError" if lower.contains("tokencode") => SessionError::CodeFormat(0),
        "ExpiredToken" | "ExpiredTokenException" => SessionError::Expired,
        "InvalidClientTokenId" | "SignatureDoesNotMatch" | "UnrecognizedClientException" => {
            SessionError::BadCredentials(code.to_string())
        }
        _ => SessionError::Sts(format!("{code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_format() {
        assert_eq!(validate_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(validate_code("12345"), Err(SessionError::CodeFormat(5)));
        assert_eq!(validate_code("12a456"), Err(SessionError::CodeFormat(6)));
    }

    #[test]
    fn answers_are_explained() {
        let e = explain(
            "AccessDenied",
            "MultiFactorAuthentication failed, the MFA one time pass code has already been used. Wait for the next code.",
            None,
            None,
            "p",
        );
        assert_eq!(e, SessionError::ReusedCode);
        assert!(e.to_string().contains("wait for the next code"));
        assert_eq!(
            explain(
                "AccessDenied",
                "MultiFactorAuthentication failed with invalid MFA one time pass code.",
                None,
                None,
                "p"
            ),
            SessionError::WrongCode
        );
        assert!(matches!(
            explain(
                "AccessDenied",
                "not authorized to perform: sts:AssumeRole",
                None,
                Some("arn:r"),
                "p"
            ),
            SessionError::RoleNotAssumable { .. }
        ));
        assert_eq!(
            explain(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                None,
                None,
                "ops"
            ),
            SessionError::ChainingCap("ops".into())
        );
    }
}
