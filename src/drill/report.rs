//! A drill's report: JSON for machines (the [`DrillReport`] serialised) and markdown for
//! people ([`markdown`]), the RTO/RPO maths ([`measure`]) and the exit code ([`exit_code`]).
//! Pure. Reports hold ARNs, times, statuses, codes and AWS's failure messages — never data.

use serde::{Deserialize, Serialize};

/// The JSON report's format version.
pub const FORMAT: u32 = 1;

/// Exit code: every test restored, met its objectives and validated.
pub const EXIT_OK: i32 = 0;
/// Exit code: the drill could not run (session, audit log, state file, a refusal before any
/// restore).
pub const EXIT_FAILED: i32 = 1;
/// Exit code: usage errors and unusable runbooks (the line is named).
pub const EXIT_USAGE: i32 = 2;
/// Exit code: an action ran but its outcome could not be written to the audit log.
pub const EXIT_OUTCOME_NOT_RECORDED: i32 = 3;
/// Exit code: a restore failed, was aborted or refused.
pub const EXIT_RESTORE_FAILED: i32 = 4;
/// Exit code: every restore completed, but a validation failed or timed out.
pub const EXIT_VALIDATION_FAILED: i32 = 5;
/// Exit code: every restore completed and validated, but an RTO or RPO objective was missed.
pub const EXIT_OBJECTIVE_MISSED: i32 = 6;
/// Exit code: the drill was interrupted (signal, session expiry, network); run it again to
/// resume.
pub const EXIT_INTERRUPTED: i32 = 7;

/// An objective and what was achieved, in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measure {
    pub objective_s: i64,
    pub achieved_s: Option<i64>,
    /// `None` until measured.
    pub met: Option<bool>,
}

/// RTO or RPO: met when achieved ≤ objective. Pure.
pub fn measure(objective_minutes: i64, achieved: Option<chrono::Duration>) -> Measure {
    let objective_s = objective_minutes * 60;
    // Times that run backwards (an end before its start) measure nothing and meet nothing.
    if achieved.is_some_and(|d| d < chrono::Duration::zero()) {
        return Measure {
            objective_s,
            achieved_s: None,
            met: Some(false),
        };
    }
    let achieved_s = achieved.map(|d| d.num_seconds());
    Measure {
        objective_s,
        achieved_s,
        met: achieved_s.map(|a| a <= objective_s),
    }
}

/// How a test's validation was decided and what was sent to AWS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validation {
    /// SUCCESSFUL, FAILED or TIMED_OUT.
    pub status: String,
    /// `command` or `operator`.
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// PutRestoreValidationResult was accepted.
    pub sent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The cleanup of the restored copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cleanup {
    /// `done`, `failed` or `skipped`.
    pub status: String,
    pub message: String,
}

/// A test run as an AWS Backup restore testing plan: the plan the drill created (its name
/// is chosen before it is created, so a resumed drill finds it instead of making another).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRun {
    /// `phi_drill_…`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Its schedule (a cron that fires once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// The restored copy's DeletionStatus last seen (`DELETING`, `SUCCESSFUL`, `FAILED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_status: Option<String>,
    /// The plan (and its selection) was deleted by the drill.
    #[serde(default)]
    pub deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete_error: Option<String>,
}

/// The audit records of a test (intent ids).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditIds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_intent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cleanup_intent: Option<String>,
}

/// One restore test's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestEntry {
    pub name: String,
    pub selector: String,
    #[serde(default)]
    pub recovery_point_arn: Option<String>,
    #[serde(default)]
    pub recovery_point_created: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub source_resource_arn: Option<String>,
    #[serde(default)]
    pub restore_job_id: Option<String>,
    #[serde(default)]
    pub created_resource_arn: Option<String>,
    #[serde(default)]
    pub started_at: Option<String>,
    #[serde(default)]
    pub completed_at: Option<String>,
    /// The restore job's status (COMPLETED, FAILED, ABORTED), or NOT_STARTED, REFUSED,
    /// RUNNING (interrupted while it ran).
    pub status: String,
    /// Why it failed, in AWS's words (or the refusal's).
    #[serde(default)]
    pub failure: Option<String>,
    pub rto: Measure,
    pub rpo: Measure,
    #[serde(default)]
    pub validation: Option<Validation>,
    #[serde(default)]
    pub cleanup: Option<Cleanup>,
    #[serde(default)]
    pub audit: AuditIds,
    /// Run as a restore testing plan (`run_as = "restore_testing_plan"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_testing_plan: Option<PlanRun>,
}

impl TestEntry {
    /// A test not started yet.
    pub fn new(name: &str, selector: String, rto_minutes: i64, rpo_minutes: i64) -> TestEntry {
        TestEntry {
            name: name.to_string(),
            selector,
            recovery_point_arn: None,
            recovery_point_created: None,
            resource_type: None,
            source_resource_arn: None,
            restore_job_id: None,
            created_resource_arn: None,
            started_at: None,
            completed_at: None,
            status: "NOT_STARTED".into(),
            failure: None,
            rto: measure(rto_minutes, None),
            rpo: measure(rpo_minutes, None),
            validation: None,
            cleanup: None,
            audit: AuditIds::default(),
            restore_testing_plan: None,
        }
    }

    /// The restore job ended (COMPLETED, FAILED, ABORTED) or never could start (REFUSED).
    pub fn restore_ended(&self) -> bool {
        matches!(
            self.status.as_str(),
            "COMPLETED" | "FAILED" | "ABORTED" | "REFUSED"
        )
    }

    /// The test's result in one word.
    pub fn result(&self) -> &'static str {
        match self.status.as_str() {
            "COMPLETED" => {}
            "NOT_STARTED" | "RUNNING" | "PENDING" => return "incomplete",
            _ => return "restore_failed",
        }
        match &self.validation {
            None => "incomplete",
            Some(v) if v.status != "SUCCESSFUL" || !v.sent => "validation_failed",
            Some(_) if self.rto.met != Some(true) || self.rpo.met != Some(true) => {
                "objective_missed"
            }
            Some(_) => "passed",
        }
    }
}

/// Who ran the drill.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub os_user: String,
    pub aws_arn: String,
}

/// A drill's report (and, while it runs, its resumable state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillReport {
    pub format: u32,
    pub drill: String,
    pub runbook: String,
    pub runbook_sha256: String,
    pub approved_by: String,
    pub approved_on: String,
    #[serde(default)]
    pub ticket: Option<String>,
    pub operator: Operator,
    pub profile: String,
    pub account: String,
    pub region: String,
    /// `yyyymmdd-hhmm` of the drill's first start (names the reports and the new resources).
    pub stamp: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// `passed`, `failed` or `incomplete`.
    pub outcome: String,
    pub exit_code: i32,
    /// How many times the drill was resumed after an interruption.
    #[serde(default)]
    pub resumed: u32,
    pub tests: Vec<TestEntry>,
}

/// The exit code of a finished drill's tests (see the constants: 4 beats 5 beats 6). Pure.
pub fn exit_code(tests: &[TestEntry]) -> i32 {
    let results: Vec<&str> = tests.iter().map(TestEntry::result).collect();
    if results.contains(&"incomplete") {
        EXIT_INTERRUPTED
    } else if results.contains(&"restore_failed") {
        EXIT_RESTORE_FAILED
    } else if results.contains(&"validation_failed") {
        EXIT_VALIDATION_FAILED
    } else if results.contains(&"objective_missed") {
        EXIT_OBJECTIVE_MISSED
    } else {
        EXIT_OK
    }
}

/// "1h 02m 05s", "15m 00s", "45s".
pub fn duration_words(s: i64) -> String {
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {sec:02}s")
    } else if m > 0 {
        format!("{m}m {sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// A cell of a markdown table: one line, no `|`, sanitised.
fn cell(s: &str) -> String {
    crate::sanitize::clean(s)
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(cell).unwrap_or_else(|| "—".into())
}

fn measure_line(m: &Measure) -> String {
    let achieved = m
        .achieved_s
        .map(duration_words)
        .unwrap_or_else(|| "not measured".into());
    let verdict = match m.met {
        Some(true) => "met",
        Some(false) => "MISSED",
        None => "—",
    };
    format!(
        "{achieved} (objective {}) — {verdict}",
        duration_words(m.objective_s)
    )
}

/// The report for people, in markdown. Pure.
pub fn markdown(r: &DrillReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!("# DR drill {}", cell(&r.drill)));
    line(String::new());
    line(format!(
        "**Outcome: {}** (exit code {})",
        r.outcome.to_uppercase(),
        r.exit_code
    ));
    line(String::new());
    line("| | |".into());
    line("|---|---|".into());
    for (k, v) in [
        ("Runbook", cell(&r.runbook)),
        ("Runbook SHA-256", cell(&r.runbook_sha256)),
        ("Approved by", cell(&r.approved_by)),
        ("Approved on", cell(&r.approved_on)),
        ("Ticket", opt(&r.ticket)),
        ("Operator", cell(&r.operator.os_user)),
        ("AWS identity", cell(&r.operator.aws_arn)),
        (
            "Where",
            format!(
                "profile {}, account {}, {}",
                cell(&r.profile),
                cell(&r.account),
                cell(&r.region)
            ),
        ),
        ("Started", cell(&r.started_at)),
        ("Finished", opt(&r.finished_at)),
        ("Resumed", r.resumed.to_string()),
    ] {
        line(format!("| {k} | {v} |"));
    }
    line(String::new());
    line("## Summary".into());
    line(String::new());
    line("| Test | Restore | RTO | RPO | Validation | Result |".into());
    line("|---|---|---|---|---|---|".into());
    for t in &r.tests {
        let short = |m: &Measure| match (m.achieved_s, m.met) {
            (Some(a), Some(true)) => format!("{} ✓", duration_words(a)),
            (Some(a), _) => format!("{} ✗", duration_words(a)),
            _ => "—".into(),
        };
        line(format!(
            "| {} | {} | {} | {} | {} | {} |",
            cell(&t.name),
            cell(&t.status),
            short(&t.rto),
            short(&t.rpo),
            t.validation
                .as_ref()
                .map(|v| cell(&v.status))
                .unwrap_or_else(|| "—".into()),
            t.result()
        ));
    }
    for t in &r.tests {
        line(String::new());
        line(format!("## Test {}", cell(&t.name)));
        line(String::new());
        line(format!("- Selector: {}", cell(&t.selector)));
        line(format!("- Recovery point: {}", opt(&t.recovery_point_arn)));
        line(format!(
            "- Recovery point created: {}",
            opt(&t.recovery_point_created)
        ));
        line(format!("- Resource type: {}", opt(&t.resource_type)));
        line(format!(
            "- Source resource: {}",
            opt(&t.source_resource_arn)
        ));
        line(format!("- Restore job: {}", opt(&t.restore_job_id)));
        line(format!(
            "- Restored resource: {}",
            opt(&t.created_resource_arn)
        ));
        line(format!("- Started: {}", opt(&t.started_at)));
        line(format!("- Completed: {}", opt(&t.completed_at)));
        line(format!("- Status: {}", cell(&t.status)));
        if let Some(f) = &t.failure {
            line(format!("- Failure (AWS): {}", cell(f)));
        }
        line(format!("- RTO: {}", measure_line(&t.rto)));
        line(format!("- RPO: {}", measure_line(&t.rpo)));
        match &t.validation {
            Some(v) => line(format!(
                "- Validation: {} by {}{}{}{}",
                cell(&v.status),
                cell(&v.method),
                v.exit_code
                    .map(|c| format!(" (exit code {c})"))
                    .unwrap_or_default(),
                if v.sent {
                    ", sent to AWS Backup"
                } else {
                    ", NOT sent to AWS Backup"
                },
                v.error
                    .as_deref()
                    .map(|e| format!(": {}", cell(e)))
                    .unwrap_or_default()
            )),
            None => line("- Validation: —".into()),
        }
        match &t.cleanup {
            Some(c) => line(format!(
                "- Cleanup: {} ({})",
                cell(&c.status),
                cell(&c.message)
            )),
            None => line("- Cleanup: —".into()),
        }
        if let Some(p) = &t.restore_testing_plan {
            line(format!(
                "- Run as restore testing plan: {} ({}), schedule {}; {}",
                cell(&p.name),
                opt(&p.arn),
                opt(&p.schedule),
                if p.deleted {
                    "deleted by the drill".to_string()
                } else {
                    match &p.delete_error {
                        Some(e) => format!("NOT deleted: {}", cell(e)),
                        None => "not deleted yet".to_string(),
                    }
                }
            ));
        }
        line(format!(
            "- Audit records: restore {}, validation {}, cleanup {}",
            opt(&t.audit.restore_intent),
            opt(&t.audit.validation_intent),
            opt(&t.audit.cleanup_intent)
        ));
        line(format!("- Result: **{}**", t.result()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passed(name: &str) -> TestEntry {
        let mut t = TestEntry::new(name, "recovery point arn:p".into(), 60, 1440);
        t.status = "COMPLETED".into();
        t.rto = measure(60, Some(chrono::Duration::minutes(16)));
        t.rpo = measure(1440, Some(chrono::Duration::hours(5)));
        t.validation = Some(Validation {
            status: "SUCCESSFUL".into(),
            method: "command".into(),
            exit_code: Some(0),
            sent: true,
            error: None,
        });
        t
    }

    #[test]
    fn objectives_are_met_up_to_and_including_the_objective() {
        assert_eq!(
            measure(15, Some(chrono::Duration::minutes(15))),
            Measure {
                objective_s: 900,
                achieved_s: Some(900),
                met: Some(true)
            }
        );
        assert_eq!(
            measure(15, Some(chrono::Duration::seconds(901))).met,
            Some(false)
        );
        assert_eq!(measure(15, None).met, None);
        // AWS's times running backwards measure nothing and meet nothing.
        assert_eq!(
            measure(1, Some(chrono::Duration::seconds(-5))),
            Measure {
                objective_s: 60,
                achieved_s: None,
                met: Some(false)
            }
        );
    }

    #[test]
    fn exit_codes_rank_restore_then_validation_then_objectives() {
        let ok = passed("a");
        assert_eq!(exit_code(&[ok.clone(), ok.clone()]), EXIT_OK);
        let mut slow = passed("b");
        slow.rto = measure(10, Some(chrono::Duration::minutes(16)));
        assert_eq!(slow.result(), "objective_missed");
        assert_eq!(
            exit_code(&[ok.clone(), slow.clone()]),
            EXIT_OBJECTIVE_MISSED
        );
        let mut invalid = passed("c");
        invalid.validation.as_mut().unwrap().status = "FAILED".into();
        assert_eq!(
            exit_code(&[slow.clone(), invalid.clone()]),
            EXIT_VALIDATION_FAILED
        );
        let mut failed = passed("d");
        failed.status = "FAILED".into();
        assert_eq!(exit_code(&[invalid, failed.clone()]), EXIT_RESTORE_FAILED);
        let mut running = passed("e");
        running.status = "RUNNING".into();
        assert_eq!(exit_code(&[failed, running]), EXIT_INTERRUPTED);
        let mut unsent = passed("f");
        unsent.validation.as_mut().unwrap().sent = false;
        assert_eq!(unsent.result(), "validation_failed");
    }

    #[test]
    fn markdown_has_every_field_and_escapes_table_cells() {
        let mut slow = passed("payments|db");
        slow.rto = measure(10, Some(chrono::Duration::minutes(16)));
        slow.failure = Some("line one\nline two \u{1b}[2J".into());
        slow.audit.restore_intent = Some("int-1".into());
        let r = DrillReport {
            format: FORMAT,
            drill: "q4".into(),
            runbook: "rb.toml".into(),
            runbook_sha256: "ab".repeat(32),
            approved_by: "A".into(),
            approved_on: "2026-11-20".into(),
            ticket: None,
            operator: Operator {
                os_user: "jdoe".into(),
                aws_arn: "arn:aws:sts::1:assumed-role/R/s".into(),
            },
            profile: "p".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            stamp: "20261201-0900".into(),
            started_at: "2026-12-01T09:00:00.000Z".into(),
            finished_at: Some("2026-12-01T10:00:00.000Z".into()),
            outcome: "failed".into(),
            exit_code: 6,
            resumed: 1,
            tests: vec![passed("intake"), slow],
        };
        let md = markdown(&r);
        assert!(md.contains("**Outcome: FAILED** (exit code 6)"), "{md}");
        assert!(md.contains("| Resumed | 1 |"), "{md}");
        assert!(
            md.contains("| intake | COMPLETED | 16m 00s ✓ | 5h 00m 00s ✓ | SUCCESSFUL | passed |"),
            "{md}"
        );
        assert!(
            md.contains("| payments\\|db | COMPLETED | 16m 00s ✗"),
            "{md}"
        );
        assert!(
            md.contains("- RTO: 16m 00s (objective 10m 00s) — MISSED"),
            "{md}"
        );
        assert!(
            md.contains("- Validation: SUCCESSFUL by command (exit code 0), sent to AWS Backup")
        );
        assert!(md.contains("- Audit records: restore int-1, validation —, cleanup —"));
        assert!(!md.contains('\u{1b}'), "escapes are sanitised");
        assert!(md.contains("- Failure (AWS): line one"), "{md}");
        // The JSON round-trips, so `drill report` renders the same markdown.
        let back: DrillReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(markdown(&back), md);
        assert!(!md.contains("restore testing plan"), "{md}");

        // A test run as a restore testing plan says so; an entry written before the field
        // existed still reads.
        let mut r = back;
        r.tests[0].restore_testing_plan = Some(PlanRun {
            name: "phi_drill_x".into(),
            arn: Some("arn:p".into()),
            schedule: Some("cron(5 9 1 12 ? 2026)".into()),
            deletion_status: Some("SUCCESSFUL".into()),
            deleted: false,
            delete_intent: None,
            delete_error: Some("access denied".into()),
        });
        let md = markdown(&r);
        assert!(
            md.contains("- Run as restore testing plan: phi_drill_x (arn:p), schedule cron(5 9 1 12 ? 2026); NOT deleted: access denied"),
            "{md}"
        );
        let mut v = serde_json::to_value(&r.tests[1]).unwrap();
        v.as_object_mut().unwrap().remove("restore_testing_plan");
        let old: TestEntry = serde_json::from_value(v).unwrap();
        assert_eq!(old.restore_testing_plan, None);
    }
}
