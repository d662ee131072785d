//! The small error enum the UI can explain, mapped from SDK errors.

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Every variant that came from an AWS answer carries the service's own error `code` (from the
/// SDK's error metadata, e.g. `NotFoundException`, `AWS.SimpleQueueService.NonExistentQueue`)
/// and the AWS `request_id` when the answer had one; the audit log records both as they are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    /// The resource does not exist (or vanished mid-action).
    #[error("{what} was not found ({message})")]
    NotFound {
        what: String,
        message: String,
        /// The AWS error code; empty when the console itself found nothing (no AWS error).
        code: String,
        request_id: Option<String>,
    },
    /// The caller lacks a permission; `action` names it when AWS says which.
    #[error("access denied{}: {message}", .action.as_ref().map(|a| format!(" (missing permission {a})")).unwrap_or_default())]
    AccessDenied {
        action: Option<String>,
        message: String,
        code: String,
        request_id: Option<String>,
    },
    /// AWS throttled the calls even after the SDK's retries.
    #[error("AWS is throttling {operation}; try again shortly")]
    Throttled {
        operation: String,
        code: String,
        request_id: Option<String>,
    },
    /// The session credentials expired: re-authenticate with a fresh MFA code. `code` is
    /// `None` when the console's own clock said so and no call was made.
    #[error("the session has expired; enter a fresh MFA code to continue")]
    Expired {
        code: Option<String>,
        request_id: Option<String>,
    },
    /// The endpoint could not be reached, or timed out (no AWS answer, so no AWS code).
    #[error("network error calling {operation}: {message}")]
    Network { operation: String, message: String },
    /// The request was refused as invalid (bad parameter, wrong state).
    #[error("{operation} was refused: {code}: {message}")]
    Invalid {
        operation: String,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// Any other service error (or a client-side failure: `ClientError`, `Panic`).
    #[error("{operation} failed: {code}: {message}")]
    Service {
        operation: String,
        code: String,
        message: String,
        request_id: Option<String>,
    },
}

/// The label recorded for a failure that is not an AWS answer (no code from AWS).
pub const NETWORK_ERROR: &str = "NetworkError";
/// The label recorded when the console refused to call with credentials it knows are expired.
pub const SESSION_EXPIRED: &str = "SessionExpired";

impl CloudError {
    /// The error code AWS answered with, when the error is an AWS answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            CloudError::NotFound { code, .. }
            | CloudError::AccessDenied { code, .. }
            | CloudError::Throttled { code, .. }
            | CloudError::Invalid { code, .. }
            | CloudError::Service { code, .. } => Some(code.as_str()).filter(|c| !c.is_empty()),
            CloudError::Expired { code, .. } => code.as_deref(),
            CloudError::Network { .. } => None,
        }
    }
    /// The AWS request id of the failed call, when its answer carried one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            CloudError::NotFound { request_id, .. }
            | CloudError::AccessDenied { request_id, .. }
            | CloudError::Throttled { request_id, .. }
            | CloudError::Expired { request_id, .. }
            | CloudError::Invalid { request_id, .. }
            | CloudError::Service { request_id, .. } => request_id.as_deref(),
            CloudError::Network { .. } => None,
        }
    }
    /// The code to record for this failure: AWS's own code, else a label that is clearly not
    /// an AWS code ([`NETWORK_ERROR`], [`SESSION_EXPIRED`], `ClientError`).
    pub fn recorded_code(&self) -> String {
        match (self.code(), self) {
            (Some(c), _) => c.to_string(),
            (None, CloudError::Expired { .. }) => SESSION_EXPIRED.into(),
            (None, CloudError::NotFound { .. }) => "NotFound".into(),
            (None, _) => NETWORK_ERROR.into(),
        }
    }
    /// The session's credentials are expired (said by AWS or by the console's clock).
    pub fn expired() -> CloudError {
        CloudError::Expired {
            code: None,
            request_id: None,
        }
    }
    pub fn is_expired(&self) -> bool {
        matches!(self, CloudError::Expired { .. })
    }
    fn with_request_id(mut self, id: Option<String>) -> CloudError {
        match &mut self {
            CloudError::NotFound { request_id, .. }
            | CloudError::AccessDenied { request_id, .. }
            | CloudError::Throttled { request_id, .. }
            | CloudError::Expired { request_id, .. }
            | CloudError::Invalid { request_id, .. }
            | CloudError::Service { request_id, .. } => *request_id = id,
            CloudError::Network { .. } => {}
        }
        self
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
            request_id: None,
        };
    }
    if NOT_FOUND.contains(&code) {
        CloudError::NotFound {
            what: what.to_string(),
            message,
            code: code.to_string(),
            request_id: None,
        }
    } else if THROTTLED.contains(&code) {
        CloudError::Throttled {
            operation: operation.to_string(),
            code: code.to_string(),
            request_id: None,
        }
    } else if EXPIRED.contains(&code) {
        CloudError::Expired {
            code: Some(code.to_string()),
            request_id: None,
        }
    } else if DENIED.contains(&code) {
        CloudError::AccessDenied {
            action: missing_permission(&message),
            message,
            code: code.to_string(),
            request_id: None,
        }
    } else if INVALID.contains(&code) {
        CloudError::Invalid {
            operation: operation.to_string(),
            code: code.to_string(),
            message,
            request_id: None,
        }
    } else {
        CloudError::Service {
            operation: operation.to_string(),
            code: code.to_string(),
            message,
            request_id: None,
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

/// Maps an SDK error, keeping the service's error code and the request id of its answer.
/// `what` names the resource for "not found" messages.
pub fn from_sdk<E, R>(operation: &str, what: &str, err: SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            let request_id =
                aws_types::request_id::RequestId::request_id(e.meta()).map(str::to_string);
            from_code(
                operation,
                what,
                e.code().unwrap_or("Unknown"),
                e.message().unwrap_or(""),
            )
            .with_request_id(request_id)
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
            request_id: None,
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
                operation: "LookupEvents".into(),
                code: "ThrottlingException".into(),
                request_id: None,
            }
        );
        let e = from_code("x", "", "ExpiredToken", "");
        assert!(e.is_expired());
        assert_eq!(e.code(), Some("ExpiredToken"), "AWS's own code is kept");
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
                message: e_msg(&e),
                code: "AccessDeniedException".into(),
                request_id: None,
            }
        );
        assert!(
            e.to_string()
                .contains("missing permission kms:RotateKeyOnDemand")
        );
        assert_eq!(from_code("x", "", "Weird", "m").code(), Some("Weird"));
    }

    #[test]
    fn every_aws_answer_keeps_its_code_and_only_non_aws_failures_get_a_label() {
        for code in [
            "NotFoundException",
            "AWS.SimpleQueueService.NonExistentQueue",
            "QueueDoesNotExist",
            "ThrottlingException",
            "RequestThrottled",
            "ExpiredTokenException",
            "AccessDenied",
            "ValidationException",
            "KMSInternalException",
        ] {
            let e = from_code("Op", "thing", code, "m");
            assert_eq!(e.code(), Some(code), "{e:?}");
            assert_eq!(e.recorded_code(), code);
        }
        let net = CloudError::Network {
            operation: "Op".into(),
            message: "the call timed out".into(),
        };
        assert_eq!(
            (net.code(), net.recorded_code().as_str()),
            (None, NETWORK_ERROR)
        );
        let local = CloudError::expired();
        assert_eq!(
            (local.code(), local.recorded_code().as_str()),
            (None, SESSION_EXPIRED)
        );
        let e = from_code("Op", "thing", "NotFoundException", "m")
            .with_request_id(Some("req-1".into()));
        assert_eq!(e.request_id(), Some("req-1"));
        assert_eq!(net.request_id(), None);
    }

    fn e_msg(e: &CloudError) -> String {
        match e {
            CloudError::AccessDenied { message, .. } => message.clone(),
            _ => String::new(),
        }
    }
}
