//! The small error enum the UI can explain, mapped from SDK errors.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The resource does not exist (or vanished mid-action).
    #[error("{what} was not found ({message})")]
    NotFound { what: String, message: String },
    /// The caller lacks a permission; `action` names it when AWS says which.
    #[error("access denied{}: {message}", .action.as_ref().map(|a| format!(" (missing permission {a})")).unwrap_or_default())]
    AccessDenied {
        action: Option<String>,
        message: String,
    },
    /// AWS throttled the calls even after the SDK's retries.
    #[error("AWS is throttling {operation}; try again shortly")]
    Throttled { operation: String },
    /// The session credentials expired: re-authenticate with a fresh MFA code.
    #[error("the session has expired; enter a fresh MFA code to continue")]
    Expired,
    /// The endpoint could not be reached, or timed out.
    #[error("network error calling {operation}: {message}")]
    Network { operation: String, message: String },
    /// The request was refused as invalid (bad parameter, wrong state).
    #[error("{operation} was refused: {code}: {message}")]
    Invalid {
        operation: String,
        code: String,
        message: String,
    },
    /// Any other service error.
    #[error("{operation} failed: {code}: {message}")]
    Service {
        operation: String,
        code: String,
        message: String,
    },
}

impl CloudError {
    /// The AWS error code, when there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            CloudError::Invalid { code, .. } | CloudError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
    pub fn is_expired(&self) -> bool {
        matches!(self, CloudError::Expired)
    }
}

const NOT_FOUND: &[&str] = &[
    "NotFoundException",
    "ResourceNotFoundException",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
    "NotFound",
    "TrailNotFoundException",
    "NoSuchEntity",
];
const THROTTLED: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "RequestThrottled",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "AWS.SimpleQueueService.RequestThrottled",
];
const EXPIRED: &[&str] = &["ExpiredToken", "ExpiredTokenException"];
const DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "UnauthorizedOperation",
    "KMS.AccessDeniedException",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
];
const INVALID: &[&str] = &[
    "ValidationException",
    "ValidationError",
    "InvalidParameter",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidRequestException",
    "MissingParameterValueException",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "UnsupportedOperationException",
    "DisabledException",
    "KMSInvalidStateException",
    "LimitExceededException",
    "ConflictException",
    "InvalidKeyUsageException",
    "InvalidCiphertextException",
    "KMSInvalidMacException",
    "InvalidLookupAttributesException",
    "InvalidTimeRangeException",
    "InvalidNextTokenException",
    "InvalidMarkerException",
    "MessageNotInflight",
    "ReceiptHandleIsInvalid",
    "UnsupportedOperation",
    "AlreadyExistsException",
];

/// Maps an error code and message (from any protocol) to a [`CloudError`].
pub fn from_code(operation: &str, what: &str, code: &str, message: &str) -> CloudError {
    let message = message.to_string();
    if code == "RequestExpired" || code == "RequestTimeTooSkewed" {
        // Not the session: the request's timestamp. Renewing would not help.
        return CloudError::Invalid {
            operation: operation.to_string(),
            code: code.to_string(),
            message: format!(
                "{message} (this machine's clock is off: fix the time, e.g. with NTP)"
            ),
        };
    }
    if NOT_FOUND.contains(&code) {
        CloudError::NotFound {
            what: what.to_string(),
            message,
        }
    } else if THROTTLED.contains(&code) {
        CloudError::Throttled {
            operation: operation.to_string(),
        }
    } else if EXPIRED.contains(&code) {
        CloudError::Expired
    } else if DENIED.contains(&code) {
        CloudError::AccessDenied {
            action: missing_permission(&message),
            message,
        }
    } else if INVALID.contains(&code) {
        CloudError::Invalid {
            operation: operation.to_string(),
            code: code.to_string(),
            message,
        }
    } else {
        CloudError::Service {
            operation: operation.to_string(),
            code: code.to_string(),
            message,
        }
    }
}

/// "… is not authorized to perform: kms:RotateKeyOnDemand on resource …" → `kms:RotateKeyOnDemand`.
fn missing_permission(message: &str) -> Option<String> {
    let rest = message.split("perform: ").nth(1)?;
    let action = rest.split_whitespace().next()?;
    action
        .contains(':')
        .then(|| action.trim_end_matches(['.', ',']).to_string())
}

/// Maps an SDK error. `what` names the resource for "not found" messages.
pub fn from_sdk<E, R>(operation: &str, what: &str, err: SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            from_code(
                operation,
                what,
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or(""),
            )
        }
        SdkError::TimeoutError(_) => CloudError::Network {
            operation: operation.into(),
            message: "the call timed out".into(),
        },
        SdkError::DispatchFailure(d) => CloudError::Network {
            operation: operation.into(),
            message: if d.is_timeout() {
                "the call timed out".into()
            } else {
                "cannot connect to the endpoint".into()
            },
        },
        SdkError::ResponseError(_) => CloudError::Network {
            operation: operation.into(),
            message: "unreadable response from the endpoint".into(),
        },
        _ => CloudError::Service {
            operation: operation.into(),
            code: "ClientError".into(),
            message: err_chain(&err),
        },
    }
}

fn err_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_explainable_errors() {
        assert!(matches!(
            from_code(
                "x",
                "queue q",
                "AWS.SimpleQueueService.NonExistentQueue",
                ""
            ),
            CloudError::NotFound { .. }
        ));
        assert_eq!(
            from_code("LookupEvents", "", "ThrottlingException", ""),
            CloudError::Throttled {
                operation: "LookupEvents".into()
            }
        );
        assert_eq!(from_code("x", "", "ExpiredToken", ""), CloudError::Expired);
        let e = from_code(
            "RotateKeyOnDemand",
            "",
            "AccessDeniedException",
            "User: arn:aws:sts::1:assumed-role/R/s is not authorized to perform: kms:RotateKeyOnDemand on resource: arn:aws:kms:...",
        );
        assert_eq!(
            e,
            CloudError::AccessDenied {
                action: Some("kms:RotateKeyOnDemand".into()),
                message: e_msg(&e)
            }
        );
        assert!(
            e.to_string()
                .contains("missing permission kms:RotateKeyOnDemand")
        );
        assert_eq!(from_code("x", "", "Weird", "m").code(), Some("Weird"));
    }

    fn e_msg(e: &CloudError) -> String {
        match e {
            CloudError::AccessDenied { message, .. } => message.clone(),
            _ => String::new(),
        }
    }
}
