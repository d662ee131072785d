//! Protocol framing, kept apart from the services' state: which service and operation a request
//! names, how its input is read, and how results and errors are written back.

pub mod json;
pub mod query;
pub mod rest;
pub mod sqs_query;
pub mod xml;

use super::error::ApiError;
use http::HeaderMap;

/// The six emulated services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Sts,
    Sqs,
    Sns,
    Kms,
    Backup,
    CloudTrail,
}

/// The wire protocols they speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    AwsJson10,
    AwsJson11,
    AwsQuery,
    RestJson1,
}

impl Service {
    pub const ALL: [Service; 6] = [
        Service::Sts,
        Service::Sqs,
        Service::Sns,
        Service::Kms,
        Service::Backup,
        Service::CloudTrail,
    ];

    /// The SigV4 signing name (also used in fault files and CloudTrail `eventSource`).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Sts => "sts",
            Service::Sqs => "sqs",
            Service::Sns => "sns",
            Service::Kms => "kms",
            Service::Backup => "backup",
            Service::CloudTrail => "cloudtrail",
        }
    }
    pub fn from_name(s: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .find(|svc| svc.signing_name().eq_ignore_ascii_case(s))
    }
    pub fn protocol(self) -> Protocol {
        match self {
            Service::Sqs => Protocol::AwsJson10,
            Service::Kms | Service::CloudTrail => Protocol::AwsJson11,
            Service::Sns | Service::Sts => Protocol::AwsQuery,
            Service::Backup => Protocol::RestJson1,
        }
    }
    pub fn event_source(self) -> String {
        format!("{}.amazonaws.com", self.signing_name())
    }
    /// awsQuery XML namespace.
    pub fn xml_namespace(self) -> &'static str {
        match self {
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
            Service::Sqs => "http://queue.amazonaws.com/doc/2012-11-05/",
            _ => "http://sns.amazonaws.com/doc/2010-03-31/",
        }
    }
    /// awsJson target prefix (before the `.`).
    pub fn target_prefix(self) -> &'static str {
        match self {
            Service::Sqs => "AmazonSQS",
            Service::Kms => "TrentService",
            Service::CloudTrail => "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
            _ => "",
        }
    }
    /// The error code this service throttles with (one the SDKs classify as throttling).
    pub fn throttling_error(self) -> ApiError {
        match self {
            Service::Sqs => ApiError::client("RequestThrottled", "Rate exceeded")
                .with_query_code("RequestThrottled"),
            Service::Sns | Service::Sts => ApiError::client("Throttling", "Rate exceeded"),
            _ => ApiError::client("ThrottlingException", "Rate exceeded"),
        }
    }
}

/// Picks the service a request is for: the SigV4 credential scope first, then the
/// `X-Amz-Target` prefix, then the awsQuery `Version`, then the REST path.
pub fn detect_service(
    headers: &HeaderMap,
    path: &str,
    form_version: Option<&str>,
) -> Option<Service> {
    if let Some(scope) = super::auth::credential_scope(headers)
        && let Some(s) = Service::from_name(&scope.service)
    {
        return Some(s);
    }
    if let Some(t) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        let prefix = t.rsplit_once('.').map(|(p, _)| p).unwrap_or("");
        for s in [Service::Sqs, Service::Kms, Service::CloudTrail] {
            if target_matches(s, prefix) {
                return Some(s);
            }
        }
    }
    match form_version {
        Some("2010-03-31") => return Some(Service::Sns),
        Some("2011-06-15") => return Some(Service::Sts),
        Some("2012-11-05") => return Some(Service::Sqs),
        _ => {}
    }
    if path.starts_with("/backup") || path.starts_with("/restore") {
        return Some(Service::Backup);
    }
    None
}

/// Whether an `X-Amz-Target` prefix names `service`. The Rust SDK sends CloudTrail's target
/// without its namespace (`CloudTrail_20131101`), botocore with it: both are accepted.
pub fn target_matches(service: Service, prefix: &str) -> bool {
    let full = service.target_prefix();
    !full.is_empty() && (prefix == full || full.rsplit('.').next() == Some(prefix))
}
