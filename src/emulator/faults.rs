//! Fault injection per operation: added latency (fixed + jitter), throttling by token bucket
//! with the service's real throttling error, random 500/503 answers, failing the Nth call, and
//! partial batch failures. Set from Rust or from a TOML file.

use super::error::ApiError;
use super::wire::Service;
use serde::Deserialize;
use std::path::Path;
use std::time::{Duration, Instant};

/// One rule; `service`/`operation` absent means "every".
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub service: Option<String>,
    pub operation: Option<String>,
    /// Fixed latency added to every matching call.
    #[serde(default)]
    pub latency_ms: u64,
    /// Uniform random extra latency in `0..=jitter_ms`.
    #[serde(default)]
    pub jitter_ms: u64,
    /// Token bucket: sustained requests per second allowed (throttled beyond).
    pub throttle_rate: Option<f64>,
    /// Token bucket size (burst); defaults to the rate.
    pub throttle_burst: Option<f64>,
    /// Probability in [0, 1] that a call fails with `error_status`.
    #[serde(default)]
    pub error_rate: f64,
    /// 500 or 503 (default 500).
    pub error_status: Option<u16>,
    /// Fail exactly the Nth matching call (1-based) with `error_status`.
    pub fail_nth: Option<u64>,
    /// The message of the injected 500/503 error (default: "Internal failure (injected
    /// fault)"); any text, so that tests can plant hostile text in an AWS error message.
    pub error_message: Option<String>,
    /// Probability in [0, 1] that each entry of a batch call fails (SQS batch operations).
    #[serde(default)]
    pub batch_failure_rate: f64,
    /// The error code of the injected error instead of the service's 5xx code (e.g.
    /// `ExpiredToken`, with `error_status` 400 or 403).
    pub error_code: Option<String>,
    /// The Nth matching call (1-based) never answers: it hangs (up to 10 minutes) so that a
    /// test can kill the client at that exact point. See `stall_after`.
    pub stall_nth: Option<u64>,
    /// With `stall_nth`: the call is applied first and only its answer is held back (the
    /// client cannot know it happened); without, it hangs before it is applied.
    #[serde(default)]
    pub stall_after: bool,
    /// Every matching call is refused with the service's access-denied answer (403:
    /// `AccessDeniedException`; SQS `AccessDenied`; SNS `AuthorizationError`), whose message
    /// names the permission (`… is not authorized to perform: kms:ListGrants …`), as when an
    /// IAM policy lacks it.
    #[serde(default)]
    pub deny: bool,
}

impl FaultRule {
    pub fn for_op(service: Service, operation: &str) -> Self {
        FaultRule {
            service: Some(service.signing_name().to_string()),
            operation: Some(operation.to_string()),
            ..Default::default()
        }
    }
    pub fn for_service(service: Service) -> Self {
        FaultRule {
            service: Some(service.signing_name().to_string()),
            ..Default::default()
        }
    }
    pub fn latency(mut self, fixed: Duration, jitter: Duration) -> Self {
        self.latency_ms = fixed.as_millis() as u64;
        self.jitter_ms = jitter.as_millis() as u64;
        self
    }
    pub fn throttle(mut self, rate: f64, burst: f64) -> Self {
        self.throttle_rate = Some(rate);
        self.throttle_burst = Some(burst);
        self
    }
    pub fn errors(mut self, rate: f64, status: u16) -> Self {
        self.error_rate = rate;
        self.error_status = Some(status);
        self
    }
    pub fn fail_nth(mut self, n: u64, status: u16) -> Self {
        self.fail_nth = Some(n);
        self.error_status = Some(status);
        self
    }
    /// The message the injected error carries.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.error_message = Some(message.into());
        self
    }
    /// Refuses every matching call as access denied (a missing IAM permission).
    pub fn deny(mut self) -> Self {
        self.deny = true;
        self
    }
    pub fn batch_failures(mut self, rate: f64) -> Self {
        self.batch_failure_rate = rate;
        self
    }
    /// Fails the Nth call with this error code and status (e.g. `ExpiredToken`, 403).
    pub fn fail_nth_with(mut self, n: u64, status: u16, code: &str) -> Self {
        self.fail_nth = Some(n);
        self.error_status = Some(status);
        self.error_code = Some(code.to_string());
        self
    }
    /// The Nth call hangs: before it is applied, or (`after`) with its answer held back.
    pub fn stall_nth(mut self, n: u64, after: bool) -> Self {
        self.stall_nth = Some(n);
        self.stall_after = after;
        self
    }
    fn matches(&self, service: Service, op: &str) -> bool {
        self.service
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case(service.signing_name()))
            && self.operation.as_deref().is_none_or(|o| o == op)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultFile {
    #[serde(default)]
    rule: Vec<FaultRule>,
}

#[derive(Debug, thiserror::Error)]
pub enum FaultFileError {
    #[error(
        "cannot read fault file {path}: {error}; give --faults a TOML file of [[rule]] tables (see docs/EMULATOR.md)"
    )]
    Read { path: String, error: std::io::Error },
    #[error("fault file {path} is not valid: {message}")]
    Parse { path: String, message: String },
}

/// Parses a fault file: `[[rule]]` tables with the fields of [`FaultRule`].
pub fn parse_rules(text: &str, path: &str) -> Result<Vec<FaultRule>, FaultFileError> {
    let f: FaultFile = toml::from_str(text).map_err(|e| FaultFileError::Parse {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    for r in &f.rule {
        if let Some(s) = &r.service
            && Service::from_name(s).is_none()
        {
            return Err(FaultFileError::Parse {
                path: path.to_string(),
                message: format!(
                    "unknown service '{s}' (use sts, sqs, sns, kms, backup or cloudtrail)"
                ),
            });
        }
        if !(0.0..=1.0).contains(&r.error_rate) || !(0.0..=1.0).contains(&r.batch_failure_rate) {
            return Err(FaultFileError::Parse {
                path: path.to_string(),
                message: "error_rate and batch_failure_rate must be between 0 and 1".into(),
            });
        }
        let bad = |message: String| FaultFileError::Parse {
            path: path.to_string(),
            message,
        };
        if let Some(st) = r.error_status
            && st != 500
            && st != 503
            && !(r.error_code.is_some() && (st == 400 || st == 403))
        {
            return Err(bad(format!(
                "error_status = {st}: use 500 or 503 (or 400/403 with an error_code)"
            )));
        }
        if let Some(c) = &r.error_code
            && (c.is_empty()
                || c.len() > 64
                || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.'))
        {
            return Err(bad(format!(
                "error_code = '{}': use an AWS error code such as ExpiredToken",
                crate::validate::shown(c)
            )));
        }
        if r.latency_ms > MAX_LATENCY_MS || r.jitter_ms > MAX_LATENCY_MS {
            return Err(bad(format!(
                "latency_ms and jitter_ms must be at most {MAX_LATENCY_MS} (10 minutes)"
            )));
        }
        for (key, v) in [
            ("throttle_rate", r.throttle_rate),
            ("throttle_burst", r.throttle_burst),
        ] {
            if let Some(x) = v
                && !(x.is_finite() && x > 0.0 && x <= 1e9)
            {
                return Err(bad(format!(
                    "{key} = {x}: use a number of requests per second above 0 (at most 1e9)"
                )));
            }
        }
    }
    Ok(f.rule)
}

/// The longest latency a rule may add (10 minutes).
pub const MAX_LATENCY_MS: u64 = 600_000;

/// The largest fault file read.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

pub fn load_rules(path: &Path) -> Result<Vec<FaultRule>, FaultFileError> {
    let text =
        crate::validate::read_bounded(path, MAX_FILE_BYTES).map_err(|e| FaultFileError::Read {
            path: path.display().to_string(),
            error: e,
        })?;
    parse_rules(&text, &path.display().to_string())
}

#[derive(Debug)]
struct ActiveRule {
    rule: FaultRule,
    tokens: f64,
    last_refill: Instant,
    calls: u64,
}

/// The rules in force, with their runtime state (buckets and counters).
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<ActiveRule>,
}

/// What the faults decided for one call.
#[derive(Debug, Default)]
pub struct Decision {
    pub delay: Duration,
    pub error: Option<ApiError>,
    pub batch_failure_rate: f64,
    /// Hang before applying the call.
    pub stall_before: bool,
    /// Apply the call, then hang instead of answering.
    pub stall_after: bool,
}

/// How long a stalled call hangs (the test kills its client long before).
pub const STALL: Duration = Duration::from_secs(600);

impl Faults {
    pub fn add(&mut self, rule: FaultRule) {
        let tokens = rule.throttle_burst.or(rule.throttle_rate).unwrap_or(0.0);
        self.rules.push(ActiveRule {
            rule,
            tokens,
            last_refill: Instant::now(),
            calls: 0,
        });
    }
    pub fn clear(&mut self) {
        self.rules.clear();
    }
    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|r| r.rule.clone()).collect()
    }

    pub fn decide(&mut self, service: Service, op: &str) -> Decision {
        let mut d = Decision::default();
        for a in self
            .rules
            .iter_mut()
            .filter(|a| a.rule.matches(service, op))
        {
            a.calls += 1;
            let r = &a.rule;
            let jitter = if r.jitter_ms > 0 {
                (super::util::random_unit() * r.jitter_ms.saturating_add(1) as f64) as u64
            } else {
                0
            };
            d.delay = d
                .delay
                .saturating_add(Duration::from_millis(r.latency_ms.saturating_add(jitter)));
            d.batch_failure_rate = d.batch_failure_rate.max(r.batch_failure_rate);
            if d.error.is_some() {
                continue;
            }
            if r.deny {
                d.error = Some(access_denied(service, op));
                continue;
            }
            if let Some(rate) = r.throttle_rate {
                let burst = r.throttle_burst.unwrap_or(rate).max(1.0);
                let now = Instant::now();
                a.tokens =
                    (a.tokens + now.duration_since(a.last_refill).as_secs_f64() * rate).min(burst);
                a.last_refill = now;
                if a.tokens >= 1.0 {
                    a.tokens -= 1.0;
                } else {
                    d.error = Some(service.throttling_error());
                    continue;
                }
            }
            if r.stall_nth == Some(a.calls) {
                if r.stall_after {
                    d.stall_after = true;
                } else {
                    d.stall_before = true;
                }
            }
            let status = r.error_status.unwrap_or(500);
            let fail = r.fail_nth == Some(a.calls)
                || (r.error_rate > 0.0 && super::util::random_unit() < r.error_rate);
            if fail {
                let mut e = match &r.error_code {
                    Some(code) => {
                        let mut e = ApiError::new(
                            status,
                            code,
                            "The security token included in the request is expired (injected fault)",
                        );
                        if service == Service::Sqs {
                            e = e.with_query_code(code.clone());
                        }
                        e
                    }
                    None => server_error(service, status),
                };
                if let Some(m) = &r.error_message {
                    e.message = m.clone();
                }
                d.error = Some(e);
            }
        }
        d
    }
}

/// The service's answer to a call its caller has no permission for.
pub fn access_denied(service: Service, op: &str) -> ApiError {
    let permission = format!("{}:{op}", service.signing_name());
    let message = format!(
        "User: the caller is not authorized to perform: {permission} because no identity-based policy allows the {permission} action"
    );
    match service {
        Service::Sqs => ApiError::new(403, "AccessDenied", message).with_query_code("AccessDenied"),
        Service::Sns => ApiError::new(403, "AuthorizationError", message),
        Service::Sts => ApiError::new(403, "AccessDenied", message),
        _ => ApiError::new(403, "AccessDeniedException", message),
    }
}

fn server_error(service: Service, status: u16) -> ApiError {
    let (code, msg) = if status == 503 {
        (
            "ServiceUnavailable",
            "Service is unavailable (injected fault)",
        )
    } else {
        ("InternalFailure", "Internal failure (injected fault)")
    };
    let code = match (service, status) {
        (Service::Sqs, _) => "InternalError",
        (Service::Kms, 500) => "KMSInternalException",
        (Service::Backup, 503) | (Service::CloudTrail, 503) => "ServiceUnavailableException",
        _ => code,
    };
    let mut e = ApiError::new(status, code, msg);
    if service == Service::Sqs {
        e = e.with_query_code(code.to_string());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_rules_parse_and_reject_unknowns() {
        let rules = parse_rules(
            "[[rule]]\nservice='sqs'\noperation='GetQueueAttributes'\nlatency_ms=20\njitter_ms=5\nthrottle_rate=10.0\n",
            "f.toml",
        )
        .unwrap();
        assert_eq!(rules[0].latency_ms, 20);
        assert!(
            parse_rules("[[rule]]\nlatencyms=1\n", "f.toml")
                .unwrap_err()
                .to_string()
                .contains("f.toml")
        );
        assert!(parse_rules("[[rule]]\nservice='s3'\n", "f.toml").is_err());
    }

    #[test]
    fn fail_nth_fails_exactly_that_call() {
        let mut f = Faults::default();
        f.add(FaultRule::for_op(Service::Kms, "ListKeys").fail_nth(2, 503));
        assert!(f.decide(Service::Kms, "ListKeys").error.is_none());
        assert_eq!(
            f.decide(Service::Kms, "ListKeys").error.unwrap().status,
            503
        );
        assert!(f.decide(Service::Kms, "ListKeys").error.is_none());
        assert!(f.decide(Service::Kms, "DescribeKey").error.is_none());
    }

    #[test]
    fn token_bucket_throttles_bursts() {
        let mut f = Faults::default();
        // A refill so slow (one token in 1,000 s) that no wall-clock pause between the calls
        // can add a token: exactly the burst passes, whatever the machine's load.
        f.add(FaultRule::for_service(Service::Sqs).throttle(0.001, 3.0));
        let errors = (0..10)
            .filter(|_| f.decide(Service::Sqs, "ListQueues").error.is_some())
            .count();
        assert_eq!(errors, 7);
    }
}
