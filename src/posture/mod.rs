//! Posture: evidence, checked per resource. HIPAA eligibility belongs to an organisation, not
//! to a tool; what the console gives an operator and an auditor is one [`Finding`] per resource
//! and control: pass, fail or unknown (a read that failed, named by its permission and AWS's
//! error code), its severity, the attribute or policy statement that decided it, the fix in one
//! line, the HIPAA safeguard and the AWS Security Hub control where one exists.
//!
//! - `checks`: pure functions from domain types (`cloud::…`) to findings; unit-tested with no
//!   AWS at all.
//! - `collect`: the reads, through the `cloud` adapter (read-only calls only); a read that
//!   fails gives `unknown` findings, never an error for the whole report.
//! - `cli`: `phi-console posture [--json] [--fail-on low|medium|high]`.
//!
//! docs/POSTURE.md lists the controls and the JSON schema.

pub mod checks;
pub mod cli;
pub mod collect;
#[cfg(test)]
mod tests;

use serde::Serialize;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Fail,
    Unknown,
    Pass,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// How much a failing control matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// The HIPAA Security Rule safeguard a control gives evidence for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Safeguard {
    /// §164.312(a)(1) access control.
    AccessControl,
    /// §164.312(a)(2)(iv) encryption and decryption.
    Encryption,
    /// §164.312(b) audit controls.
    AuditControls,
    /// §164.312(c)(1) integrity.
    Integrity,
    /// §164.312(e)(1) transmission security.
    Transmission,
    /// §164.308(a)(7) contingency plan.
    Contingency,
}

impl Safeguard {
    pub fn citation(self) -> &'static str {
        match self {
            Safeguard::AccessControl => "§164.312(a)(1)",
            Safeguard::Encryption => "§164.312(a)(2)(iv)",
            Safeguard::AuditControls => "§164.312(b)",
            Safeguard::Integrity => "§164.312(c)(1)",
            Safeguard::Transmission => "§164.312(e)(1)",
            Safeguard::Contingency => "§164.308(a)(7)",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Safeguard::AccessControl => "access control",
            Safeguard::Encryption => "encryption and decryption",
            Safeguard::AuditControls => "audit controls",
            Safeguard::Integrity => "integrity",
            Safeguard::Transmission => "transmission security",
            Safeguard::Contingency => "contingency plan",
        }
    }
}

impl Serialize for Safeguard {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{} {}", self.citation(), self.name()))
    }
}

/// A control: what is checked, on which kind of resource, how much it matters, the fix.
#[derive(Debug, PartialEq, Eq)]
pub struct Control {
    /// Stable id (`sqs.encryption`).
    pub id: &'static str,
    pub title: &'static str,
    /// `queue`, `topic`, `subscription`, `key`, `vault`, `backup-resource`, `trail`, `account`.
    pub resource_type: &'static str,
    pub severity: Severity,
    pub safeguard: Safeguard,
    /// The AWS Security Hub control id, where one checks the same thing.
    pub security_hub: Option<&'static str>,
    /// The fix, in one line.
    pub fix: &'static str,
}

/// One resource checked against one control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub control: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub severity: Severity,
    pub resource_type: &'static str,
    /// The resource's ARN (or, for an account-wide control, `account`; for a read that could
    /// not list, the service).
    pub resource: String,
    /// What a person calls it (name or alias).
    pub resource_name: String,
    /// What decided it: the attribute and its value, the policy statement, or (unknown) the
    /// read that failed with AWS's error code.
    pub evidence: String,
    pub fix: &'static str,
    pub safeguard: Safeguard,
    pub security_hub: Option<&'static str>,
    /// For `unknown`: the permission whose read failed (`kms:GetKeyRotationStatus`).
    pub permission: Option<String>,
    /// For `unknown`: AWS's error code (`AccessDeniedException`), or a label when there was no
    /// AWS answer (`NetworkError`).
    pub error_code: Option<String>,
}

impl Finding {
    fn new(
        c: &'static Control,
        status: Status,
        resource: &str,
        name: &str,
        evidence: String,
    ) -> Finding {
        Finding {
            control: c.id,
            title: c.title,
            status,
            severity: c.severity,
            resource_type: c.resource_type,
            resource: resource.to_string(),
            resource_name: name.to_string(),
            evidence,
            fix: c.fix,
            safeguard: c.safeguard,
            security_hub: c.security_hub,
            permission: None,
            error_code: None,
        }
    }
    pub fn pass(
        c: &'static Control,
        resource: &str,
        name: &str,
        evidence: impl Into<String>,
    ) -> Finding {
        Finding::new(c, Status::Pass, resource, name, evidence.into())
    }
    pub fn fail(
        c: &'static Control,
        resource: &str,
        name: &str,
        evidence: impl Into<String>,
    ) -> Finding {
        Finding::new(c, Status::Fail, resource, name, evidence.into())
    }
    /// The read that would decide it failed.
    pub fn unknown(c: &'static Control, resource: &str, name: &str, why: &Unread) -> Finding {
        let mut f = Finding::new(
            c,
            Status::Unknown,
            resource,
            name,
            format!("{} failed: {} ({})", why.permission, why.code, why.message),
        );
        f.permission = Some(why.permission.clone());
        f.error_code = Some(why.code.clone());
        f
    }
    /// The row key of the finding in the console (control and resource).
    pub fn key(&self) -> String {
        format!("{}|{}", self.control, self.resource)
    }
}

/// A read that failed: the permission it needs and AWS's error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unread {
    /// `sqs:GetQueueAttributes`.
    pub permission: String,
    /// AWS's error code, or a label for a failure without an AWS answer.
    pub code: String,
    pub message: String,
}

impl Unread {
    /// From the adapter's error: the permission AWS named, else the one the call needs.
    pub fn of(permission: &str, e: &crate::cloud::CloudError) -> Unread {
        let named = match e {
            crate::cloud::CloudError::AccessDenied {
                action: Some(a), ..
            } => a.clone(),
            _ => permission.to_string(),
        };
        let message: String = e.to_string().chars().take(300).collect();
        Unread {
            permission: named,
            code: e.recorded_code(),
            message,
        }
    }
}

/// A read's result: the value, or why it is unknown.
pub type Read<T> = Result<T, Unread>;

/// The limits a profile sets for posture (`max_rotation_days`, `rpo_hours`,
/// `restore_test_days` in the settings file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_rotation_days: i32,
    pub rpo_hours: i64,
    pub restore_test_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_rotation_days: 365,
            rpo_hours: 24,
            restore_test_days: 30,
        }
    }
}

impl Limits {
    pub fn from_settings(s: &crate::session::settings::ProfileSettings) -> Limits {
        Limits {
            max_rotation_days: s.max_rotation_days,
            rpo_hours: s.rpo_hours,
            restore_test_days: s.restore_test_days,
        }
    }
}

/// Counts by status; the worst failing severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
}

pub fn summary(findings: &[Finding]) -> Summary {
    let mut s = Summary::default();
    for f in findings {
        match f.status {
            Status::Pass => s.pass += 1,
            Status::Fail => s.fail += 1,
            Status::Unknown => s.unknown += 1,
        }
    }
    s
}

/// Whether any finding fails at or above `level`.
pub fn fails_at(findings: &[Finding], level: Severity) -> bool {
    findings
        .iter()
        .any(|f| f.status == Status::Fail && f.severity >= level)
}

/// Failures first (then unknowns, then passes), the most severe first, then by control and
/// resource: the order of the report and the console's default.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (
            a.status,
            std::cmp::Reverse(a.severity),
            a.control,
            &a.resource,
        )
            .cmp(&(
                b.status,
                std::cmp::Reverse(b.severity),
                b.control,
                &b.resource,
            ))
    });
}
