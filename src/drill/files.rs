//! A drill's files, the same from the terminal and the console: the runbook read and checked
//! before any session is used, the state file of an interrupted drill (resume), and the
//! reports written at the end (0600, through a temporary file and a rename).

use super::report::{self, DrillReport, Operator, TestEntry};
use super::run::MAX_REPORT_BYTES;
use super::runbook::Runbook;
use crate::sanitize;
use crate::session::Session;
use crate::session::settings::ProfileSettings;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A runbook ready to run: parsed, its role found, its report directory usable, and the
/// state of an interrupted run of it (if any) read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub runbook: Runbook,
    /// The file as given (named in the report).
    pub file: String,
    pub role: String,
    pub dir: PathBuf,
    pub state_path: PathBuf,
    /// The interrupted drill this run resumes.
    pub previous: Option<DrillReport>,
}

/// Why a runbook cannot run: a usage error (the runbook, the settings: exit 2) or a file
/// problem (the report directory, the state file: exit 1). Each message names the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unprepared {
    Usage(String),
    Failed(String),
}

impl Unprepared {
    pub fn message(&self) -> &str {
        match self {
            Unprepared::Usage(m) | Unprepared::Failed(m) => m,
        }
    }
    pub fn exit_code(&self) -> i32 {
        match self {
            Unprepared::Usage(_) => report::EXIT_USAGE,
            Unprepared::Failed(_) => report::EXIT_FAILED,
        }
    }
}

/// Reads `runbook` (errors name its line), finds the restore role (the runbook's, else the
/// profile's), makes the report directory and reads the state of an interrupted run.
pub fn prepare(
    runbook: &Path,
    dir: &Path,
    settings: &ProfileSettings,
) -> Result<Prepared, Unprepared> {
    let file = runbook.display().to_string();
    let rb = Runbook::load(runbook).map_err(|e| Unprepared::Usage(e.to_string()))?;
    let role = rb
        .role(&file, settings.restore_role_arn.as_deref())
        .map_err(|e| Unprepared::Usage(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|e| {
        Unprepared::Failed(format!(
            "{}: cannot create the report directory ({e}): give a writable report directory",
            dir.display()
        ))
    })?;
    let state_path = dir.join(format!("{}.state.json", rb.name));
    let previous = read_state(&rb, &state_path)?;
    Ok(Prepared {
        runbook: rb,
        file,
        role,
        dir: dir.to_path_buf(),
        state_path,
        previous,
    })
}

/// The state of an interrupted run of `rb` (None: there is none), checked against it.
fn read_state(rb: &Runbook, state_path: &Path) -> Result<Option<DrillReport>, Unprepared> {
    Ok(match std::fs::symlink_metadata(state_path) {
        Ok(_) => {
            let parsed = crate::validate::read_bounded(state_path, MAX_REPORT_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<DrillReport>(&t).map_err(|e| e.to_string()))
                .and_then(|p| {
                    if p.runbook_sha256 == rb.sha256 {
                        state_matches(&p, rb).map(|()| p)
                    } else {
                        Ok(p)
                    }
                });
            match parsed {
                Ok(p) if p.runbook_sha256 == rb.sha256 => Some(p),
                Ok(_) => {
                    return Err(Unprepared::Failed(format!(
                        "{}: the runbook changed since the interrupted drill this state belongs to: restore the runbook to finish that drill, or remove the state file to start a new one",
                        state_path.display()
                    )));
                }
                Err(e) => {
                    return Err(Unprepared::Failed(format!(
                        "{}: the drill's state cannot be read ({e}): remove it to start the drill over",
                        state_path.display()
                    )));
                }
            }
        }
        Err(_) => None,
    })
}

/// Whether a state file (of this runbook's sha256) can belong to a run of it: its drill is
/// the runbook's, its stamp `yyyymmdd-hhmm` (both name the report files), one entry per test
/// in the runbook's order. A hand-written state is otherwise trusted to index the tests and
/// to name files outside the report directory.
fn state_matches(p: &DrillReport, rb: &Runbook) -> Result<(), String> {
    let stamp_ok = p.stamp.len() == 13
        && p.stamp.bytes().enumerate().all(|(i, b)| {
            if i == 8 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if p.drill != rb.name {
        return Err(format!(
            "it names drill '{}', not {}",
            sanitize::clean(&p.drill),
            rb.name
        ));
    }
    if !stamp_ok {
        return Err("its stamp is not yyyymmdd-hhmm".into());
    }
    // A finished drill's report is evidence of that drill, not a state to resume.
    if p.finished_at.is_some() || p.outcome != "incomplete" {
        return Err("it is a finished drill's report, not an interrupted drill's state".into());
    }
    // The stamp is the start's minute (restores older than the start are not this drill's:
    // the engine checks each job against it).
    let started = chrono::DateTime::parse_from_rfc3339(&p.started_at)
        .map_err(|_| "its start time is not a time".to_string())?;
    if started.format("%Y%m%d-%H%M").to_string() != p.stamp {
        return Err(format!(
            "its stamp {} is not its start time {}",
            p.stamp,
            sanitize::clean(&p.started_at)
        ));
    }
    if p.tests.len() != rb.tests.len()
        || p.tests.iter().zip(&rb.tests).any(|(e, t)| e.name != t.name)
    {
        return Err(format!(
            "it has {} test entries, not the runbook's {} tests in order",
            p.tests.len(),
            rb.tests.len()
        ));
    }
    Ok(())
}

/// A drill's lock (`<dir>/<drill>.lock`): one run of a drill per report directory at a time,
/// from the terminal or the console. Released when dropped.
#[derive(Debug)]
pub struct DrillLock {
    _file: std::fs::File,
}

impl Prepared {
    /// Takes the drill's lock, then reads the state again under it: another run of the same
    /// drill (here or in another console) is refused, not raced, and a state it changed
    /// meanwhile is the one used.
    pub fn lock(&self) -> Result<(DrillLock, Prepared), Unprepared> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(format!("{}.lock", self.runbook.name));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                Unprepared::Failed(format!(
                    "{}: the drill's lock cannot be opened ({e}): give a writable report directory",
                    path.display()
                ))
            })?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Unprepared::Failed(format!(
                    "drill {} is already running from {} (another phi-console holds {}): wait for it to end, or give another report directory",
                    self.runbook.name,
                    self.dir.display(),
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Unprepared::Failed(format!(
                    "{}: the drill's lock cannot be taken ({e})",
                    path.display()
                )));
            }
        }
        let mut again = self.clone();
        again.previous = read_state(&self.runbook, &self.state_path)?;
        Ok((DrillLock { _file: file }, again))
    }

    /// The report this run fills in: the interrupted one (counted as resumed once more), or
    /// a new one stamped now. The operator is this run's.
    pub fn report(&self, session: &Session, ticket: Option<String>) -> DrillReport {
        let rb = &self.runbook;
        let now = session.now();
        let mut rep = self.previous.clone().unwrap_or_else(|| DrillReport {
            format: report::FORMAT,
            drill: rb.name.clone(),
            runbook: self.file.clone(),
            runbook_sha256: rb.sha256.clone(),
            approved_by: rb.approved_by.clone(),
            approved_on: rb.approved_on.clone(),
            ticket: ticket.or_else(|| rb.ticket.clone()),
            operator: Operator::default(),
            profile: session.profile.clone(),
            account: session.caller.account.clone(),
            region: session.region.clone(),
            stamp: now.format("%Y%m%d-%H%M").to_string(),
            started_at: crate::audit::writer::format_time(now),
            finished_at: None,
            outcome: "incomplete".into(),
            exit_code: report::EXIT_INTERRUPTED,
            resumed: 0,
            tests: rb
                .tests
                .iter()
                .map(|t| {
                    TestEntry::new(&t.name, t.selector.describe(), t.rto_minutes, t.rpo_minutes)
                })
                .collect(),
        });
        rep.operator = Operator {
            os_user: crate::session::os_login(),
            aws_arn: session.caller.arn.clone(),
        };
        if self.previous.is_some() {
            rep.resumed += 1;
        }
        rep
    }

    /// The drill in a few lines, shown once before it is confirmed by typing its name.
    pub fn summary(&self, rep: &DrillReport, session: &Session) -> Vec<String> {
        let rb = &self.runbook;
        let mut out = vec![format!(
            "Drill {} ({} restore tests), approved by {} on {}{}",
            rb.name,
            rb.tests.len(),
            rb.approved_by,
            rb.approved_on,
            if self.previous.is_some() {
                format!(
                    "; RESUMING the drill started {} (finished tests are kept, running restore jobs followed)",
                    rep.started_at
                )
            } else {
                String::new()
            }
        )];
        for (t, e) in rb.tests.iter().zip(&rep.tests) {
            out.push(format!(
                "  - {}: restore the {} into a NEW resource{}; RTO {} min, RPO {} min{}",
                t.name,
                t.selector.describe(),
                match t.run_as {
                    super::runbook::RunAs::RestoreJob => String::new(),
                    super::runbook::RunAs::RestoreTestingPlan => format!(
                        " as a one-time AWS Backup restore testing plan (AWS Backup deletes the copy after at most {} h)",
                        t.validation_window_hours
                    ),
                },
                t.rto_minutes,
                t.rpo_minutes,
                if e.status != "NOT_STARTED" {
                    format!(" [{}]", e.status)
                } else {
                    String::new()
                }
            ));
        }
        out.push(format!(
            "  as {} in {} (profile {}); restores run as {}",
            session.caller.arn, session.region, session.profile, self.role
        ));
        out
    }

    /// Saves the report in progress as the state file.
    pub fn save_state(&self, rep: &DrillReport) -> Result<(), String> {
        let text = sanitize::to_json_pretty(rep).unwrap_or_default();
        write_private(&self.state_path, text.as_bytes()).map_err(|e| {
            format!(
                "{}: the drill's state cannot be saved ({e}); the drill stops so that it can be resumed",
                self.state_path.display()
            )
        })
    }

    /// Where `rep`'s reports go: `<dir>/<drill>-<stamp>.json` and `.md`.
    pub fn report_paths(&self, rep: &DrillReport) -> Written {
        let base = self.dir.join(format!("{}-{}", rep.drill, rep.stamp));
        Written {
            json: base.with_extension("json"),
            markdown: base.with_extension("md"),
        }
    }

    /// Writes the JSON and markdown reports (and removes the state file when the drill ran
    /// to its end). On failure the state file keeps the results and the error says where.
    pub fn write_reports(&self, rep: &DrillReport, ended: bool) -> Result<Written, String> {
        let written = self.report_paths(rep);
        let json_text = sanitize::to_json_pretty(rep).unwrap_or_default();
        match write_private(&written.json, json_text.as_bytes())
            .and_then(|()| write_private(&written.markdown, report::markdown(rep).as_bytes()))
        {
            Ok(()) => {
                if ended {
                    let _ = std::fs::remove_file(&self.state_path);
                }
                Ok(written)
            }
            Err(e) => {
                let _ = self.save_state(rep);
                Err(format!(
                    "the reports could not be written to {} ({e}); the state file keeps the results",
                    self.dir.display()
                ))
            }
        }
    }
}

/// Where the reports went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub json: PathBuf,
    pub markdown: PathBuf,
}

/// The exit code and outcome of a drill that ran (or stopped), written into `rep`.
pub fn conclude(
    rep: &mut DrillReport,
    stop: Option<&super::engine::Stop>,
    outcome_warnings: &[String],
    now: chrono::DateTime<chrono::Utc>,
) -> i32 {
    use super::engine::Stop;
    let code = match stop {
        Some(Stop::Fatal(_)) => report::EXIT_FAILED,
        Some(Stop::Interrupted(_)) => report::EXIT_INTERRUPTED,
        None => report::exit_code(&rep.tests),
    };
    let code = if !outcome_warnings.is_empty() && code != report::EXIT_FAILED {
        report::EXIT_OUTCOME_NOT_RECORDED
    } else {
        code
    };
    rep.exit_code = code;
    rep.outcome = match code {
        report::EXIT_OK => "passed",
        report::EXIT_INTERRUPTED | report::EXIT_FAILED => "incomplete",
        _ => "failed",
    }
    .into();
    if stop.is_none() {
        rep.finished_at = Some(crate::audit::writer::format_time(now));
    }
    code
}

/// Writes `data` to `path` with mode 0600, through a temporary file and a rename.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNBOOK: &str = "[drill]\nname = \"q4\"\napproved_by = \"D\"\napproved_on = \"2026-11-20\"\nrestore_role_arn = \"arn:aws:iam::123456789012:role/R\"\n\n[[test]]\nname = \"t\"\nrecovery_point_arn = \"arn:aws:backup:us-east-1:123456789012:recovery-point:p\"\nrto_minutes = 60\nrpo_minutes = 60\n";

    #[test]
    fn one_run_of_a_drill_at_a_time_per_report_directory() {
        let dir = tempfile::tempdir().unwrap();
        let rb = dir.path().join("q4.toml");
        std::fs::write(&rb, RUNBOOK).unwrap();
        let reports = dir.path().join("reports");
        let p = prepare(&rb, &reports, &ProfileSettings::default()).unwrap();
        let (held, again) = p.lock().unwrap();
        assert_eq!(again, p, "nothing changed under the lock");
        let e = p.lock().unwrap_err();
        assert!(
            e.message().contains("drill q4 is already running") && e.exit_code() == 1,
            "{e:?}"
        );
        // Another report directory is another drill's place.
        let other = prepare(
            &rb,
            &dir.path().join("elsewhere"),
            &ProfileSettings::default(),
        )
        .unwrap();
        assert!(other.lock().is_ok());
        drop(held);
        // Released, and a state written meanwhile is the one read under the lock.
        let session_less = DrillReport {
            format: report::FORMAT,
            drill: "q4".into(),
            runbook: "q4.toml".into(),
            runbook_sha256: p.runbook.sha256.clone(),
            approved_by: "D".into(),
            approved_on: "2026-11-20".into(),
            ticket: None,
            operator: Operator::default(),
            profile: "demo".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            stamp: "20261201-0900".into(),
            started_at: "2026-12-01T09:00:00.000Z".into(),
            finished_at: None,
            outcome: "incomplete".into(),
            exit_code: 7,
            resumed: 0,
            tests: vec![TestEntry::new("t", "x".into(), 60, 60)],
        };
        p.save_state(&session_less).unwrap();
        let (held, again) = p.lock().unwrap();
        assert_eq!(again.previous.as_ref(), Some(&session_less));
        drop(held);
        // A finished drill's report is not a state to resume (whatever its hash).
        let mut finished = session_less.clone();
        finished.finished_at = Some("2026-12-01T10:00:00.000Z".into());
        finished.outcome = "passed".into();
        p.save_state(&finished).unwrap();
        let e = prepare(&rb, &reports, &ProfileSettings::default()).unwrap_err();
        assert!(e.message().contains("finished drill's report"), "{e:?}");
        p.save_state(&session_less).unwrap();
        let (_held, _) = p.lock().unwrap();
        let mode = std::fs::metadata(reports.join("q4.lock"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );
    }
}
