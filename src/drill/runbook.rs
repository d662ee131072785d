//! Drill runbooks: a TOML file naming the drill, who approved it, and its restore tests
//! (docs/DR-DRILLS.md). Parsing is pure; every error names the line to fix.

use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// The largest runbook read.
pub const MAX_RUNBOOK_BYTES: u64 = 256 * 1024;
/// At most this many restore tests in one drill.
pub const MAX_TESTS: usize = 50;

/// A runbook that cannot be used: the file, the line, what is wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RunbookError {
    pub file: String,
    /// 1-based; 0 when the error has no place in the file (it cannot be read).
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    drill: Spanned<DrillFile>,
    #[serde(default)]
    test: Vec<Spanned<TestFile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillFile {
    name: Spanned<String>,
    approved_by: Spanned<String>,
    approved_on: Spanned<String>,
    ticket: Option<String>,
    description: Option<String>,
    restore_role_arn: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    name: Spanned<String>,
    vault: Option<Spanned<String>>,
    resource_arn: Option<Spanned<String>>,
    recovery_point_arn: Option<Spanned<String>>,
    target_name: Option<Spanned<String>>,
    validation_command: Option<Spanned<Vec<String>>>,
    validation_timeout_seconds: Option<Spanned<i64>>,
    cleanup: Option<bool>,
    cleanup_command: Option<Spanned<Vec<String>>>,
    rto_minutes: Spanned<i64>,
    rpo_minutes: Spanned<i64>,
    run_as: Option<Spanned<String>>,
    validation_window_hours: Option<Spanned<i64>>,
}

/// Which recovery point a test restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// The newest COMPLETED recovery point of this resource in this vault.
    Latest { vault: String, resource_arn: String },
    /// This recovery point (its vault, when given, is searched first).
    Point { vault: Option<String>, arn: String },
}

impl Selector {
    /// The ARN the restore action is asked for.
    pub fn target(&self) -> &str {
        match self {
            Selector::Latest { resource_arn, .. } => resource_arn,
            Selector::Point { arn, .. } => arn,
        }
    }
    pub fn vault(&self) -> Option<&str> {
        match self {
            Selector::Latest { vault, .. } => Some(vault),
            Selector::Point { vault, .. } => vault.as_deref(),
        }
    }
    /// "newest COMPLETED recovery point of ARN in vault V" / "recovery point ARN".
    pub fn describe(&self) -> String {
        match self {
            Selector::Latest {
                vault,
                resource_arn,
            } => format!("newest COMPLETED recovery point of {resource_arn} in vault {vault}"),
            Selector::Point { arn, .. } => format!("recovery point {arn}"),
        }
    }
}

/// How a test restores and who deletes the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunAs {
    /// StartRestoreJob; the cleanup command deletes the copy (`run_as = "restore_job"`).
    #[default]
    RestoreJob,
    /// A one-time AWS Backup restore testing plan; AWS Backup deletes the copy after the
    /// validation window (`run_as = "restore_testing_plan"`).
    RestoreTestingPlan,
}

/// One restore test of a drill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSpec {
    pub name: String,
    pub line: usize,
    pub selector: Selector,
    /// The new resource's name; `{stamp}` becomes `yyyymmdd-hhmm` (`None`: the default
    /// `<source>-drill-<yyyymmdd-hhmm>`).
    pub target_name: Option<String>,
    pub validation_command: Option<Vec<String>>,
    pub validation_timeout_seconds: u64,
    /// Remove the restored copy after the validation (default true).
    pub cleanup: bool,
    pub cleanup_command: Option<Vec<String>>,
    pub rto_minutes: i64,
    pub rpo_minutes: i64,
    pub run_as: RunAs,
    /// `run_as = "restore_testing_plan"`: the hours AWS Backup keeps the copy (1–168, 24).
    pub validation_window_hours: i64,
}

/// A parsed runbook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    pub name: String,
    pub approved_by: String,
    pub approved_on: String,
    pub ticket: Option<String>,
    pub description: Option<String>,
    pub restore_role_arn: Option<String>,
    /// The line of `[drill]` (where a missing setting goes).
    pub drill_line: usize,
    pub tests: Vec<TestSpec>,
    /// SHA-256 of the file, hex: a drill's state is kept for exactly this runbook.
    pub sha256: String,
}

/// The 1-based line of a byte offset (bytes, so an offset inside a character cannot panic).
fn line_of(text: &str, offset: usize) -> usize {
    let b = text.as_bytes();
    b[..offset.min(b.len())]
        .iter()
        .filter(|c| **c == b'\n')
        .count()
        + 1
}

fn name_ok(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn arn_ok(s: &str) -> bool {
    crate::validate::Arn::parse(s).is_ok()
}

fn sha256_hex(data: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Runbook {
    /// Reads and parses a runbook file (bounded).
    pub fn load(path: &Path) -> Result<Runbook, RunbookError> {
        let file = path.display().to_string();
        let text =
            crate::validate::read_bounded(path, MAX_RUNBOOK_BYTES).map_err(|e| RunbookError {
                file: file.clone(),
                line: 0,
                message: format!(
                    "cannot read the runbook ({e}): check the path (at most {} KiB)",
                    MAX_RUNBOOK_BYTES / 1024
                ),
            })?;
        Runbook::parse(&file, &text)
    }

    /// Parses a runbook's text; `file` names it in errors. Pure.
    pub fn parse(file: &str, text: &str) -> Result<Runbook, RunbookError> {
        let err = |offset: usize, message: String| RunbookError {
            file: file.to_string(),
            line: line_of(text, offset),
            message,
        };
        let f: File = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            let msg = e.message().trim().to_string();
            let hint = if msg.contains("unknown field") {
                "; remove it or fix its spelling (docs/DR-DRILLS.md lists the keys)"
            } else {
                ""
            };
            RunbookError {
                file: file.to_string(),
                line,
                message: format!("{msg}{hint}"),
            }
        })?;
        let drill_line = line_of(text, f.drill.span().start);
        let d = f.drill.into_inner();
        let name = d.name.get_ref().trim().to_string();
        if !name_ok(&name, 64) {
            return Err(err(
                d.name.span().start,
                format!(
                    "the drill's name '{}' must be 1 to 64 letters, digits, - or _ (it names the reports and the state file)",
                    crate::validate::shown(&name)
                ),
            ));
        }
        for (what, v) in [
            ("approved_by", &d.approved_by),
            ("approved_on", &d.approved_on),
        ] {
            let t = v.get_ref().trim();
            if t.is_empty() || t.len() > 200 || t.chars().any(char::is_control) {
                return Err(err(
                    v.span().start,
                    format!(
                        "{what} must say who approved the drill and when (one line, at most 200 characters)"
                    ),
                ));
            }
        }
        if let Some(r) = &d.restore_role_arn
            && let Err(e) = crate::validate::arn_of("iam", r.get_ref())
        {
            return Err(err(r.span().start, format!("restore_role_arn: {}", e.0)));
        }
        if f.test.is_empty() {
            return Err(RunbookError {
                file: file.to_string(),
                line: drill_line,
                message:
                    "the runbook has no restore test: add a [[test]] table (docs/DR-DRILLS.md)"
                        .into(),
            });
        }
        if f.test.len() > MAX_TESTS {
            return Err(err(
                f.test[MAX_TESTS].span().start,
                format!("at most {MAX_TESTS} restore tests in one drill: split the runbook"),
            ));
        }
        let mut tests: Vec<TestSpec> = Vec::new();
        for t in f.test {
            let line = line_of(text, t.span().start);
            let t = t.into_inner();
            let tname = t.name.get_ref().trim().to_string();
            if !name_ok(&tname, 64) {
                return Err(err(
                    t.name.span().start,
                    format!(
                        "the test's name '{}' must be 1 to 64 letters, digits, - or _",
                        crate::validate::shown(&tname)
                    ),
                ));
            }
            if tests.iter().any(|x| x.name == tname) {
                return Err(err(
                    t.name.span().start,
                    format!("a second test named '{tname}': give each test its own name"),
                ));
            }
            let check_arn = |v: &Spanned<String>, key: &str| {
                if arn_ok(v.get_ref().trim()) {
                    Ok(v.get_ref().trim().to_string())
                } else {
                    Err(err(
                        v.span().start,
                        format!(
                            "{key} '{}' is not an ARN (arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)",
                            crate::validate::shown(v.get_ref())
                        ),
                    ))
                }
            };
            let vault = match &t.vault {
                Some(v) if !name_ok(v.get_ref().trim(), 50) => {
                    return Err(err(
                        v.span().start,
                        format!(
                            "vault '{}' is not a backup vault name (2 to 50 letters, digits, - or _)",
                            crate::validate::shown(v.get_ref())
                        ),
                    ));
                }
                Some(v) => Some(v.get_ref().trim().to_string()),
                None => None,
            };
            let selector = match (&t.resource_arn, &t.recovery_point_arn) {
                (Some(_), Some(p)) => {
                    return Err(err(
                        p.span().start,
                        format!(
                            "test '{tname}' names both resource_arn and recovery_point_arn: keep one selector"
                        ),
                    ));
                }
                (None, None) => {
                    return Err(RunbookError {
                        file: file.to_string(),
                        line,
                        message: format!(
                            "test '{tname}' has no selector: give vault + resource_arn (its newest COMPLETED recovery point) or recovery_point_arn"
                        ),
                    });
                }
                (Some(r), None) => {
                    let resource_arn = check_arn(r, "resource_arn")?;
                    let Some(vault) = vault else {
                        return Err(err(
                            r.span().start,
                            format!(
                                "test '{tname}' selects by resource_arn without a vault: add vault = \"…\" (the vault its recovery points are in)"
                            ),
                        ));
                    };
                    Selector::Latest {
                        vault,
                        resource_arn,
                    }
                }
                (None, Some(p)) => Selector::Point {
                    vault,
                    arn: check_arn(p, "recovery_point_arn")?,
                },
            };
            let target_name = match &t.target_name {
                Some(n) => {
                    let v = n.get_ref().trim();
                    let plain = v.replace("{stamp}", "");
                    if v.is_empty()
                        || v.len() > 200
                        || !plain
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    {
                        return Err(err(
                            n.span().start,
                            "target_name must be letters, digits, - _ . and {stamp} (yyyymmdd-hhmm), at most 200 characters".into(),
                        ));
                    }
                    Some(v.to_string())
                }
                None => None,
            };
            for (key, c) in [
                ("validation_command", &t.validation_command),
                ("cleanup_command", &t.cleanup_command),
            ] {
                if let Some(c) = c
                    && let Err(e) = crate::session::settings::check_command(c.get_ref())
                {
                    return Err(err(c.span().start, format!("{key}: {e}")));
                }
            }
            let range = |v: &Spanned<i64>, key: &str, max: i64, unit: &str| {
                let n = *v.get_ref();
                if (1..=max).contains(&n) {
                    Ok(n)
                } else {
                    Err(err(
                        v.span().start,
                        format!("{key} = {n} is out of range: 1 to {max} {unit}"),
                    ))
                }
            };
            let rto_minutes = range(&t.rto_minutes, "rto_minutes", 10_080, "minutes")?;
            let rpo_minutes = range(&t.rpo_minutes, "rpo_minutes", 525_600, "minutes")?;
            let validation_timeout_seconds = match &t.validation_timeout_seconds {
                Some(v) => range(v, "validation_timeout_seconds", 3600, "seconds")? as u64,
                None => 600,
            };
            let run_as = match &t.run_as {
                None => RunAs::RestoreJob,
                Some(v) => match v.get_ref().trim() {
                    "restore_job" => RunAs::RestoreJob,
                    "restore_testing_plan" => RunAs::RestoreTestingPlan,
                    other => {
                        return Err(err(
                            v.span().start,
                            format!(
                                "run_as = \"{}\" is not known: \"restore_job\" (StartRestoreJob, the cleanup command deletes the copy) or \"restore_testing_plan\" (AWS Backup restores and deletes the copy)",
                                crate::validate::shown(other)
                            ),
                        ));
                    }
                },
            };
            let validation_window_hours = match &t.validation_window_hours {
                Some(v) if run_as != RunAs::RestoreTestingPlan => {
                    return Err(err(
                        v.span().start,
                        "validation_window_hours is for run_as = \"restore_testing_plan\": remove it, or run the test as a restore testing plan".into(),
                    ));
                }
                Some(v) => range(v, "validation_window_hours", 168, "hours")?,
                None => 24,
            };
            if run_as == RunAs::RestoreTestingPlan {
                if let Selector::Point { .. } = selector {
                    return Err(err(
                        t.recovery_point_arn
                            .as_ref()
                            .map(|p| p.span().start)
                            .unwrap_or(0),
                        format!(
                            "test '{tname}' runs as a restore testing plan, which restores the latest recovery point of a resource: give vault + resource_arn instead of recovery_point_arn"
                        ),
                    ));
                }
                if let Some(n) = &t.target_name {
                    return Err(err(
                        n.span().start,
                        format!(
                            "test '{tname}' runs as a restore testing plan, whose copy AWS Backup names itself (awsbackup-restore-test-…): remove target_name"
                        ),
                    ));
                }
                if let Some(c) = &t.cleanup_command {
                    return Err(err(
                        c.span().start,
                        format!(
                            "test '{tname}' runs as a restore testing plan: AWS Backup deletes the copy, so cleanup_command is not used; remove it"
                        ),
                    ));
                }
                if t.cleanup == Some(false) {
                    return Err(RunbookError {
                        file: file.to_string(),
                        line,
                        message: format!(
                            "test '{tname}' runs as a restore testing plan, whose copy AWS Backup always deletes: remove cleanup = false, or run it as a restore job"
                        ),
                    });
                }
            }
            tests.push(TestSpec {
                name: tname,
                line,
                selector,
                target_name,
                validation_command: t.validation_command.map(Spanned::into_inner),
                validation_timeout_seconds,
                cleanup: t.cleanup.unwrap_or(true),
                cleanup_command: t.cleanup_command.map(Spanned::into_inner),
                rto_minutes,
                rpo_minutes,
                run_as,
                validation_window_hours,
            });
        }
        Ok(Runbook {
            name,
            approved_by: d.approved_by.into_inner().trim().to_string(),
            approved_on: d.approved_on.into_inner().trim().to_string(),
            ticket: d
                .ticket
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
            description: d.description,
            restore_role_arn: d
                .restore_role_arn
                .map(|r| r.into_inner().trim().to_string()),
            drill_line,
            tests,
            sha256: sha256_hex(text.as_bytes()),
        })
    }

    /// The role the restores run as: the runbook's, else the profile's `restore_role_arn`;
    /// neither is an error naming the `[drill]` line.
    pub fn role(&self, file: &str, profile_role: Option<&str>) -> Result<String, RunbookError> {
        self.restore_role_arn
            .clone()
            .or_else(|| profile_role.map(str::to_string))
            .ok_or_else(|| RunbookError {
                file: file.to_string(),
                line: self.drill_line,
                message: "no restore role: add restore_role_arn = \"arn:aws:iam::ACCOUNT:role/…\" to [drill], or set restore_role_arn in the profile's settings".into(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[drill]
name = "q4"
approved_by = "A. Approver"
approved_on = "2026-11-20"

[[test]]
name = "intake"
vault = "claims-primary-vault"
resource_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake"
rto_minutes = 60
rpo_minutes = 1440
validation_command = ["/bin/true"]

[[test]]
name = "point"
recovery_point_arn = "arn:aws:backup:us-east-1:123456789012:recovery-point:abc"
target_name = "x-{stamp}"
rto_minutes = 30
rpo_minutes = 60
cleanup = false
"#;

    fn error(text: &str) -> RunbookError {
        Runbook::parse("rb.toml", text).unwrap_err()
    }

    #[test]
    fn a_good_runbook_parses() {
        let r = Runbook::parse("rb.toml", GOOD).unwrap();
        assert_eq!(r.name, "q4");
        assert_eq!(r.drill_line, 2);
        assert_eq!(r.tests.len(), 2);
        assert_eq!(
            r.tests[0].selector,
            Selector::Latest {
                vault: "claims-primary-vault".into(),
                resource_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake".into()
            }
        );
        assert_eq!(r.tests[0].validation_timeout_seconds, 600);
        assert!(r.tests[0].cleanup);
        assert!(!r.tests[1].cleanup);
        assert_eq!(r.tests[1].target_name.as_deref(), Some("x-{stamp}"));
        assert_eq!(r.sha256.len(), 64);
        assert_eq!(
            r.role("rb.toml", None).unwrap_err().to_string(),
            "rb.toml:2: no restore role: add restore_role_arn = \"arn:aws:iam::ACCOUNT:role/…\" to [drill], or set restore_role_arn in the profile's settings"
        );
        assert_eq!(r.role("rb.toml", Some("arn:r")).unwrap(), "arn:r");
    }

    #[test]
    fn unknown_keys_name_their_line() {
        let bad = GOOD.replace("rpo_minutes = 60", "rpo_minutes = 60\nrto_minuets = 5");
        let e = error(&bad);
        assert_eq!(e.line, 21, "{e}");
        assert!(e.message.contains("rto_minuets"), "{e}");
        assert!(e.message.contains("remove it or fix its spelling"), "{e}");
        let e = error(&GOOD.replace("approved_on", "approved_at"));
        assert_eq!(e.line, 5, "{e}");
    }

    #[test]
    fn bad_selectors_and_values_name_their_line() {
        let e = error(&GOOD.replace("vault = \"claims-primary-vault\"\n", ""));
        assert_eq!(e.line, 9, "{e}");
        assert!(e.message.contains("without a vault"), "{e}");
        let e = error(&GOOD.replace(
            "resource_arn = \"arn:aws:dynamodb",
            "recovery_point_arn = \"arn:x:y:z:1:2\"\nresource_arn = \"arn:aws:dynamodb",
        ));
        assert!(e.message.contains("both"), "{e}");
        let e = error(&GOOD.replace(
            "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake",
            "claims-intake",
        ));
        assert_eq!(e.line, 10, "{e}");
        assert!(e.message.contains("is not an ARN"), "{e}");
        let e = error(&GOOD.replace(
            "recovery_point_arn = \"arn:aws:backup:us-east-1:123456789012:recovery-point:abc\"\n",
            "",
        ));
        assert_eq!(e.line, 15, "{e}");
        assert!(e.message.contains("no selector"), "{e}");
        let e = error(&GOOD.replace("rto_minutes = 30", "rto_minutes = 0"));
        assert_eq!(e.line, 19, "{e}");
        let e = error(&GOOD.replace("name = \"point\"", "name = \"intake\""));
        assert!(e.message.contains("second test"), "{e}");
        let e = error(&GOOD.replace("[\"/bin/true\"]", "[]"));
        assert_eq!(e.line, 13, "{e}");
        let e = error(&GOOD.replace("approved_on = \"2026-11-20\"", "approved_on = \"2026-11-20\"\nrestore_role_arn = \"arn:aws:sns:us-east-1:123456789012:t\""));
        assert_eq!(e.line, 6, "{e}");
        let e = error("[drill]\nname = \"a\"\napproved_by = \"b\"\napproved_on = \"c\"\n");
        assert!(e.message.contains("no restore test"), "{e}");
        let e = error("not toml [");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn run_as_a_restore_testing_plan_parses_and_its_misuses_name_their_line() {
        let plan = GOOD.replace(
            "validation_command = [\"/bin/true\"]",
            "validation_command = [\"/bin/true\"]\nrun_as = \"restore_testing_plan\"\nvalidation_window_hours = 4",
        );
        let r = Runbook::parse("rb.toml", &plan).unwrap();
        assert_eq!(r.tests[0].run_as, RunAs::RestoreTestingPlan);
        assert_eq!(r.tests[0].validation_window_hours, 4);
        assert_eq!(r.tests[1].run_as, RunAs::RestoreJob);
        let e = error(&plan.replace("\"restore_testing_plan\"", "\"plan\""));
        assert_eq!(e.line, 14, "{e}");
        assert!(e.message.contains("run_as = \"plan\" is not known"), "{e}");
        let e = error(&plan.replace(
            "validation_window_hours = 4",
            "validation_window_hours = 169",
        ));
        assert_eq!(e.line, 15, "{e}");
        let e = error(&GOOD.replace(
            "validation_command = [\"/bin/true\"]",
            "validation_command = [\"/bin/true\"]\nvalidation_window_hours = 4",
        ));
        assert_eq!(e.line, 14, "{e}");
        assert!(e.message.contains("is for run_as"), "{e}");
        let e = error(&plan.replace(
            "validation_window_hours = 4",
            "validation_window_hours = 4\ncleanup_command = [\"/bin/rm\"]",
        ));
        assert_eq!(e.line, 16, "{e}");
        assert!(e.message.contains("AWS Backup deletes the copy"), "{e}");
        let e = error(&plan.replace(
            "validation_window_hours = 4",
            "validation_window_hours = 4\ntarget_name = \"x\"",
        ));
        assert_eq!(e.line, 16, "{e}");
        assert!(e.message.contains("remove target_name"), "{e}");
        let e = error(&GOOD.replace(
            "cleanup = false",
            "cleanup = false\nrun_as = \"restore_testing_plan\"",
        ));
        assert!(e.message.contains("instead of recovery_point_arn"), "{e}");
        assert_eq!(e.line, 17, "{e}");
    }

    #[test]
    fn the_example_in_the_docs_parses() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/docs/drills/claims-quarterly.toml"
        );
        let r = Runbook::load(Path::new(path)).unwrap();
        assert_eq!(r.tests.len(), 3);
        assert!(r.restore_role_arn.is_some());
    }
}
