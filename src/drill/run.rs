//! `phi-console drill run|report|plans` (docs/DR-DRILLS.md).
//!
//! `drill run RUNBOOK` opens ONE session (one MFA code), asks for ONE typed confirmation of the
//! whole drill (its name) and a reason, then runs each restore test in turn: a guarded
//! `backup.start_restore_job` (intent before the call), followed to its end with
//! DescribeRestoreJob (task records), the validation (the check command's exit code, or the
//! operator's answer) sent with a guarded PutRestoreValidationResult, and the cleanup (a
//! guarded run of the cleanup command). Progress goes to stderr. The state — the report in
//! progress — is saved (0600) after every step next to the reports, keyed by the runbook's
//! name and checked against its SHA-256; a rerun reuses finished tests and follows restore
//! jobs that were running instead of starting them again (the idempotency token makes even a
//! start cut between the call and the save return the same job). At the end the JSON and
//! markdown reports are written and the state file removed.

use super::report::{self, Cleanup, DrillReport, Operator, TestEntry, Validation};
use super::runbook::{RunAs, Runbook, TestSpec};
use crate::audit::{AuditLog, SessionEvent};
use crate::guard::cli::{CliError, Opened, Report};
use crate::guard::restore::{self, Ran};
use crate::guard::watch::{self, Pace, Started};
use crate::guard::{self, Executed, GuardError, Handle, HandleKind, Policy, Request};
use crate::options::GlobalOptions;
use crate::sanitize::{self, clean};
use crate::session::prompt::Prompter;
use crate::session::{ResolvedProfile, Session};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[path = "as_plan.rs"]
mod as_plan;

/// The largest JSON report (or state file) read.
pub const MAX_REPORT_BYTES: u64 = 4 * 1024 * 1024;

#[derive(Subcommand, Debug, Clone)]
pub enum DrillCommand {
    /// Run a drill runbook: its restore tests in turn, with one MFA code and one confirmation;
    /// writes a markdown and a JSON report (and resumes an interrupted drill).
    Run(RunArgs),
    /// Render a drill's JSON report as markdown again.
    Report {
        /// The JSON report (`<drill>-<yyyymmdd-hhmm>.json`).
        file: PathBuf,
    },
    /// The restore testing plans, their selections and their last restore jobs (reads only).
    Plans {
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
        /// Directory of the audit log (the session start and end are recorded).
        #[arg(long, value_parser = crate::validate::Checked(crate::validate::audit_dir_arg))]
        audit_dir: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The runbook (TOML; docs/DR-DRILLS.md).
    pub runbook: PathBuf,
    /// Print the JSON report on stdout (prompts and progress go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Where the reports and the state file go (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// Seconds between two reads of a running restore job's status, 1 to 300.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub poll_seconds: u64,
    /// Why (recorded with every action of the drill).
    #[arg(long)]
    pub reason: Option<String>,
    /// The change ticket (default: the runbook's).
    #[arg(long)]
    pub ticket: Option<String>,
    /// The drill's name, as you would type it at the confirmation prompt.
    #[arg(long, value_name = "NAME")]
    pub yes_i_typed: Option<String>,
    /// Directory of the audit log (`<dir>/<profile>.jsonl`).
    #[arg(long, value_parser = crate::validate::Checked(crate::validate::audit_dir_arg))]
    pub audit_dir: Option<PathBuf>,
}

/// Runs a `phi-console drill …` command; returns the exit code.
pub fn run(command: DrillCommand, global: &GlobalOptions) -> anyhow::Result<i32> {
    Ok(match command {
        DrillCommand::Run(args) => run_drill(&args, global),
        DrillCommand::Report { file } => render(&file),
        DrillCommand::Plans { json, audit_dir } => plans(global, json, audit_dir.as_deref()),
    })
}

fn say_error(message: &str) {
    for l in message.lines() {
        let _ = writeln!(sanitize::stderr(), "phi-console: {}", clean(l));
    }
}

fn cli_error_text(e: &CliError) -> String {
    match e {
        CliError::Guard(g) => g.to_string(),
        CliError::Other { message, .. } => message.clone(),
    }
}

/// `drill report FILE.json`.
fn render(file: &Path) -> i32 {
    let text = match crate::validate::read_bounded(file, MAX_REPORT_BYTES) {
        Ok(t) => t,
        Err(e) => {
            say_error(&format!(
                "{}: cannot read the report ({e}): give the JSON report a drill wrote",
                file.display()
            ));
            return report::EXIT_USAGE;
        }
    };
    match serde_json::from_str::<DrillReport>(&text) {
        Ok(r) => {
            let _ = write!(sanitize::stdout(), "{}", report::markdown(&r));
            report::EXIT_OK
        }
        Err(e) => {
            say_error(&format!(
                "{}:{}: not a drill's JSON report ({e}): give the .json file `drill run` wrote",
                file.display(),
                e.line()
            ));
            report::EXIT_USAGE
        }
    }
}

/// Writes `data` to `path` with mode 0600, through a temporary file and a rename.
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
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

/// SIGHUP, SIGINT and SIGTERM, as one stream.
struct Signals {
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new(rt: &tokio::runtime::Runtime) -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let _g = rt.enter();
        Ok(Signals {
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
        }
    }
}

/// Why a drill stopped before its end.
enum Stop {
    /// A signal, a session that expired, a status that could not be read: resumable.
    Interrupted(String),
    /// Nothing more can run (the audit log failed, read-only): exit 1.
    Fatal(String),
}

/// What one guarded step ended with (`GuardError` is a plain value; rare, never hot).
#[allow(clippy::large_enum_variant)]
enum Step {
    Done(Box<(Executed, guard::Plan)>),
    Error(GuardError),
}

struct Drill<'a> {
    rt: &'a tokio::runtime::Runtime,
    log: &'a AuditLog,
    session: Session,
    resolved: &'a ResolvedProfile,
    policy: Policy,
    prompt: &'a mut Prompter,
    signals: Signals,
    reason: Option<String>,
    ticket: Option<String>,
    poll: Duration,
    outcome_warnings: Vec<String>,
    pending_stop: Option<String>,
}

impl Drill<'_> {
    fn progress(&mut self, line: &str) {
        self.prompt.say(&clean(line));
    }

    /// Plans, confirms (the drill's confirmation covers it), passes the gates (a step-up MFA
    /// code when the profile's step_up_minutes ran out) and executes one guarded action.
    fn guarded(&mut self, request: &Request) -> Result<Step, Stop> {
        let plan = match self
            .rt
            .block_on(guard::plan(&self.session, &self.policy, request))
        {
            Ok(p) => p,
            Err(e) if transient(&e) => return Err(Stop::Interrupted(e.to_string())),
            Err(e) => return Ok(Step::Error(e)),
        };
        for l in plan.lines() {
            self.progress(&format!("    {l}"));
        }
        let confirmed = match guard::confirm(
            &plan,
            &plan.confirm_text,
            self.reason.as_deref(),
            self.ticket.as_deref(),
            self.policy.require_reason,
        ) {
            Ok(c) => c,
            Err(e) => return Ok(Step::Error(e)),
        };
        if let Err(e @ GuardError::StepUpRequired { .. }) =
            guard::preflight(&self.session, &self.policy, &confirmed)
        {
            self.progress(&e.to_string());
            let code = self
                .prompt
                .mfa_code(self.resolved)
                .map_err(|e| Stop::Interrupted(e.message))?;
            self.session = self
                .rt
                .block_on(self.session.renew(&code))
                .map_err(|e| Stop::Interrupted(e.to_string()))?;
            guard::record_context(self.log, &self.session);
            let _ = self.log.session(SessionEvent::MfaStepUp, Value::Null);
        }
        let (log, session, policy) = (self.log, &self.session, self.policy);
        let signals = &mut self.signals;
        let out = self.rt.block_on(async {
            let mut fut = Box::pin(guard::execute(log, session, &policy, confirmed));
            tokio::select! {
                r = &mut fut => Ok(r),
                s = signals.recv() => {
                    // Let the call in flight finish so its real outcome is recorded.
                    match tokio::time::timeout(crate::guard::cli::SIGNAL_GRACE, &mut fut).await {
                        Ok(r) => Err((s, Some(r))),
                        Err(_) => Err((s, None)),
                    }
                }
            }
        });
        match out {
            Ok(Ok(x)) => {
                if let Some(w) = &x.outcome_warning {
                    self.outcome_warnings.push(w.clone());
                }
                Ok(Step::Done(Box::new((x, plan))))
            }
            Ok(Err(GuardError::Audit { message })) => Err(Stop::Fatal(format!(
                "the audit log could not record the action, so nothing was done: {message}"
            ))),
            Ok(Err(e)) => {
                if let GuardError::Failed {
                    outcome_warning: Some(w),
                    ..
                } = &e
                {
                    self.outcome_warnings.push(w.clone());
                }
                if transient(&e) {
                    // Whether a start reached AWS is unknown: the rerun's idempotency token
                    // finds the job if it did.
                    return Err(Stop::Interrupted(e.to_string()));
                }
                Ok(Step::Error(e))
            }
            Err((s, Some(Ok(x)))) => {
                // The call finished within the grace: keep its result, then stop.
                if let Some(w) = &x.outcome_warning {
                    self.outcome_warnings.push(w.clone());
                }
                self.pending_stop = Some(format!("stopped by {s}"));
                Ok(Step::Done(Box::new((x, plan))))
            }
            Err((s, _)) => Err(Stop::Interrupted(format!("stopped by {s}"))),
        }
    }

    /// A signal that came while a call finished: stop now that its result is saved.
    fn stopped(&mut self) -> Result<(), Stop> {
        match self.pending_stop.take() {
            Some(m) => Err(Stop::Interrupted(m)),
            None => Ok(()),
        }
    }

    /// Follows a restore job to its end (task records), then reads it once more.
    fn follow(
        &mut self,
        label: &str,
        started: &Started,
    ) -> Result<crate::cloud::backup::RestoreJob, Stop> {
        let cloud = self.session.cloud();
        let log = self.log;
        let poll = self.poll;
        let signals = &mut self.signals;
        let mut last = String::new();
        let label = label.to_string();
        let out = self.rt.block_on(async {
            let w = watch::watch(log, &cloud, started, Pace::Every(poll), |p| {
                let line = p.line();
                let key: String = line.split_whitespace().take(2).collect();
                if key != last {
                    last = key;
                    let _ = writeln!(sanitize::stderr(), "  {label}: {}", clean(&line));
                }
            });
            tokio::select! {
                r = w => Ok(r),
                s = signals.recv() => Err(s),
            }
        });
        match out {
            Err(s) => Err(Stop::Interrupted(format!(
                "stopped by {s} while restore job {} ran (it runs on in AWS; run the drill again to follow it)",
                started.handle.id
            ))),
            Ok(Err(e)) => Err(Stop::Interrupted(e.to_string())),
            Ok(Ok(_)) => self
                .rt
                .block_on(cloud.describe_restore_job(&started.handle.id))
                .map_err(|e| Stop::Interrupted(e.to_string())),
        }
    }
}

/// The reason recorded with each action of a drill: the operator's, and the drill's name.
fn drill_reason(drill: &str, reason: Option<&str>) -> String {
    let tag = format!("[drill {drill}, confirmed once by typing its name]");
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => {
            let keep = crate::guard::MAX_REASON_CHARS.saturating_sub(tag.chars().count() + 1);
            let r: String = r.chars().take(keep).collect();
            format!("{r} {tag}")
        }
        None => tag,
    }
}

/// A failure that says nothing about the test (the network, an expired session): the drill
/// stops and resumes later.
fn transient(e: &GuardError) -> bool {
    let cloud = |c: &crate::cloud::CloudError| {
        c.is_expired() || matches!(c, crate::cloud::CloudError::Network { .. })
    };
    match e {
        GuardError::SessionExpired => true,
        GuardError::LiveState { error, .. } | GuardError::Failed { error, .. } => cloud(error),
        _ => false,
    }
}

fn fmt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
    t.map(crate::audit::writer::format_time)
}

fn parse_time(s: &Option<String>) -> Option<chrono::DateTime<chrono::Utc>> {
    s.as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn error_words(e: &GuardError) -> String {
    match e {
        GuardError::Refused { refusals, .. } => refusals
            .iter()
            .map(|r| r.message.clone())
            .collect::<Vec<_>>()
            .join("; "),
        GuardError::Failed { error, .. } => error.to_string(),
        e => e.to_string(),
    }
}

/// One test, from where its entry says it is to its end (or a stop).
#[allow(clippy::too_many_arguments)]
fn run_test(
    d: &mut Drill<'_>,
    spec: &TestSpec,
    entry: &mut TestEntry,
    role: &str,
    stamp: &str,
    token: &str,
    ps: &crate::session::settings::ProfileSettings,
    save: &mut dyn FnMut(&TestEntry) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let label = spec.name.clone();
    // A test run as a restore testing plan: the plan starts the restore job.
    if spec.run_as == RunAs::RestoreTestingPlan
        && !as_plan::start(d, spec, entry, role, token, save)?
    {
        return as_plan::end(d, entry, save);
    }
    // 1. Start the restore (unless a previous run did).
    if entry.restore_job_id.is_none() && !entry.restore_ended() {
        d.progress(&format!(
            "  {label}: planning the restore of the {}",
            spec.selector.describe()
        ));
        let mut request = Request::new(&restore::START_RESTORE, spec.selector.target())
            .param(restore::ROLE.name, role.to_string())
            .param(restore::TOKEN.name, token.to_string());
        if let Some(v) = spec.selector.vault() {
            request = request.param(restore::VAULT.name, v.to_string());
        }
        if let Some(t) = &spec.target_name {
            request = request.param(restore::TARGET_NAME.name, t.replace("{stamp}", stamp));
        }
        match d.guarded(&request)? {
            Step::Done(done) => {
                let (x, plan) = *done;
                let op = &plan.operation;
                entry.recovery_point_created =
                    op.text("recovery_point_created").map(str::to_string);
                entry.source_resource_arn = op.text("source_resource_arn").map(str::to_string);
                entry.resource_type = op.text("resource_type").map(str::to_string);
                let Some(h) = x.handle.clone() else {
                    return Err(Stop::Fatal(
                        "StartRestoreJob returned no restore job id".into(),
                    ));
                };
                entry.audit.restore_intent = Some(x.intent_id.clone());
                entry.restore_job_id = Some(h.id.clone());
                entry.recovery_point_arn = Some(h.resource.clone());
                entry.status = "PENDING".into();
                d.progress(&format!("  {label}: restore job {} started", h.id));
            }
            Step::Error(e) => {
                entry.status = if e.reached_aws() { "FAILED" } else { "REFUSED" }.into();
                entry.failure = Some(clean(&error_words(&e)).into_owned());
                if let GuardError::Failed { intent_id, .. } = &e {
                    entry.audit.restore_intent = Some(intent_id.clone());
                }
                d.progress(&format!("  {label}: {}: {}", entry.status, error_words(&e)));
                save(entry)?;
                return Ok(());
            }
        }
        save(entry)?;
        d.stopped()?;
    }
    // 2. Follow it to its end.
    if !entry.restore_ended()
        && let Some(id) = entry.restore_job_id.clone()
    {
        let started = Started {
            intent_id: entry.audit.restore_intent.clone().unwrap_or_default(),
            action: match spec.run_as {
                RunAs::RestoreJob => restore::START_RESTORE.api_action,
                RunAs::RestoreTestingPlan => crate::guard::restore_testing::CREATE_PLAN.api_action,
            }
            .to_string(),
            handle: Handle {
                kind: HandleKind::RestoreJob,
                id: id.clone(),
                resource: entry.recovery_point_arn.clone().unwrap_or_default(),
                after_ms: None,
            },
        };
        let job = d.follow(&label, &started)?;
        entry.status = job.status.clone();
        entry.started_at = fmt_time(job.created);
        entry.completed_at = fmt_time(job.completed);
        entry.created_resource_arn = job.created_resource_arn.clone();
        if entry.resource_type.is_none() && !job.resource_type.is_empty() {
            entry.resource_type = Some(job.resource_type.clone());
        }
        if job.status != "COMPLETED" {
            entry.failure = Some(
                clean(job.status_message.as_deref().unwrap_or("no status message")).into_owned(),
            );
        }
        // What the plan read: the recovery point's creation and the source (from the
        // intent's parameters, kept in the audit log; here from the recovery point listing).
        if entry.recovery_point_created.is_none() || entry.source_resource_arn.is_none() {
            let cloud = d.session.cloud();
            let rp = entry.recovery_point_arn.clone().unwrap_or_default();
            if let Ok(points) = d.rt.block_on(cloud.list_all_recovery_points())
                && let Some(p) = points.iter().find(|p| p.arn == rp)
            {
                entry.recovery_point_created = fmt_time(p.created);
                entry.source_resource_arn = Some(p.resource_arn.clone());
                if entry.resource_type.is_none() {
                    entry.resource_type = Some(p.resource_type.clone());
                }
            }
        }
        let (start, done, point) = (
            job.created,
            job.completed,
            parse_time(&entry.recovery_point_created),
        );
        if job.status == "COMPLETED" {
            entry.rto = report::measure(spec.rto_minutes, start.zip(done).map(|(s, e)| e - s));
        }
        entry.rpo = report::measure(spec.rpo_minutes, start.zip(point).map(|(s, p)| s - p));
        d.progress(&format!(
            "  {label}: {} (RTO {}, RPO {})",
            entry.status,
            entry
                .rto
                .achieved_s
                .map(report::duration_words)
                .unwrap_or_else(|| "—".into()),
            entry
                .rpo
                .achieved_s
                .map(report::duration_words)
                .unwrap_or_else(|| "—".into()),
        ));
        save(entry)?;
        d.stopped()?;
    }
    if entry.status != "COMPLETED" {
        return as_plan::end(d, entry, save);
    }
    let job_id = entry.restore_job_id.clone().unwrap_or_default();
    let created = entry.created_resource_arn.clone().unwrap_or_default();
    let env = vec![
        (restore::ENV_RESOURCE_ARN.to_string(), created.clone()),
        (restore::ENV_RESTORE_JOB_ID.to_string(), job_id.clone()),
        (
            restore::ENV_RESOURCE_TYPE.to_string(),
            entry.resource_type.clone().unwrap_or_default(),
        ),
    ];
    // 3. Validate, and send the result.
    if entry.validation.is_none() {
        let command = spec
            .validation_command
            .clone()
            .or_else(|| ps.restore_check_command.clone());
        let (status, method, exit_code) = match command {
            Some(argv) => {
                d.progress(&format!(
                    "  {label}: validating {created} with {}",
                    argv.join(" ")
                ));
                let timeout = Duration::from_secs(spec.validation_timeout_seconds);
                let e2 = env.clone();
                let task =
                    d.rt.spawn_blocking(move || restore::run_command(&argv, &e2, timeout));
                let ran =
                    d.rt.block_on(task)
                        .unwrap_or(Ran::NotStarted("the check's task failed".into()));
                match ran {
                    Ran::Exited(0) => ("SUCCESSFUL", "command", Some(0)),
                    Ran::Exited(c) => ("FAILED", "command", Some(c)),
                    Ran::TimedOut => ("TIMED_OUT", "command", None),
                    Ran::NotStarted(m) => {
                        d.progress(&format!("  {label}: {m}"));
                        ("FAILED", "command", None)
                    }
                }
            }
            None => {
                let answer = d
                    .prompt
                    .ask(&format!(
                        "  {label}: did the restored copy {created} pass your checks? type yes or no: "
                    ))
                    .map_err(|e| Stop::Interrupted(e.message))?;
                match answer.as_deref().map(str::trim) {
                    Some(a) if a.eq_ignore_ascii_case("yes") => ("SUCCESSFUL", "operator", None),
                    Some(_) => ("FAILED", "operator", None),
                    None => {
                        return Err(Stop::Interrupted(format!(
                            "no answer to the validation question of test {label}"
                        )));
                    }
                }
            }
        };
        let message = match exit_code {
            Some(c) => format!("phi-console drill: check command exited {c}"),
            None => format!("phi-console drill: {status} by {method}"),
        };
        let request = Request::new(&restore::PUT_VALIDATION, job_id.clone())
            .param(
                restore::VALIDATION_STATUS.name,
                guard::ParamValue::Choice(status.into()),
            )
            .param(restore::VALIDATION_MESSAGE.name, message);
        let mut v = Validation {
            status: status.into(),
            method: method.into(),
            exit_code,
            sent: false,
            error: None,
        };
        match d.guarded(&request)? {
            Step::Done(done) => {
                v.sent = true;
                entry.audit.validation_intent = Some(done.0.intent_id);
            }
            Step::Error(e) => {
                if let GuardError::Failed { intent_id, .. } = &e {
                    entry.audit.validation_intent = Some(intent_id.clone());
                }
                v.error = Some(clean(&error_words(&e)).into_owned());
            }
        }
        d.progress(&format!(
            "  {label}: validation {status}{}",
            if v.sent { " (sent)" } else { " (NOT sent)" }
        ));
        entry.validation = Some(v);
        save(entry)?;
        d.stopped()?;
    }
    if entry.restore_testing_plan.is_some() {
        // AWS Backup deletes the copy; the drill deletes the plan.
        return as_plan::end(d, entry, save);
    }
    // 4. Clean up.
    if entry.cleanup.is_none() {
        let command = spec
            .cleanup_command
            .clone()
            .or_else(|| ps.restore_cleanup_command.clone());
        let c = match (spec.cleanup, command) {
            (false, _) => Cleanup {
                status: "skipped".into(),
                message: format!(
                    "cleanup = false in the runbook: {created} stays; delete it when done"
                ),
            },
            (true, None) => Cleanup {
                status: "skipped".into(),
                message: format!(
                    "no cleanup command (set restore_cleanup_command in the profile's settings, or cleanup_command in the test): {created} stays; delete it yourself"
                ),
            },
            (true, Some(argv)) => {
                let request = Request::new(&restore::CLEANUP, created.clone())
                    .param(restore::COMMAND.name, argv)
                    .param(restore::JOB.name, job_id.clone());
                match d.guarded(&request)? {
                    Step::Done(done) => {
                        entry.audit.cleanup_intent = Some(done.0.intent_id);
                        Cleanup {
                            status: "done".into(),
                            message: "the cleanup command exited 0".into(),
                        }
                    }
                    Step::Error(e) => {
                        if let GuardError::Failed { intent_id, .. } = &e {
                            entry.audit.cleanup_intent = Some(intent_id.clone());
                        }
                        Cleanup {
                            status: "failed".into(),
                            message: clean(&error_words(&e)).into_owned(),
                        }
                    }
                }
            }
        };
        d.progress(&format!("  {label}: cleanup {}", c.status));
        entry.cleanup = Some(c);
        save(entry)?;
        d.stopped()?;
    }
    Ok(())
}

fn run_drill(args: &RunArgs, global: &GlobalOptions) -> i32 {
    use aws_types::os_shim_internal::Env;
    let file = args.runbook.display().to_string();
    let rb = match Runbook::load(&args.runbook) {
        Ok(r) => r,
        Err(e) => {
            say_error(&e.to_string());
            return report::EXIT_USAGE;
        }
    };
    let settings = match crate::session::settings::load_selected(global.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            say_error(&e.to_string());
            return report::EXIT_USAGE;
        }
    };
    let profile =
        crate::session::profile::selected_profile(global.profile.as_deref(), &Env::real());
    let ps = settings.for_profile(&profile);
    let role = match rb.role(&file, ps.restore_role_arn.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            say_error(&e.to_string());
            return report::EXIT_USAGE;
        }
    };
    let dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        say_error(&format!(
            "{}: cannot create the report directory ({e}): give a writable --report-dir",
            dir.display()
        ));
        return report::EXIT_FAILED;
    }
    let state_path = dir.join(format!("{}.state.json", rb.name));
    let previous: Option<DrillReport> = match std::fs::symlink_metadata(&state_path) {
        Ok(_) => {
            let parsed = crate::validate::read_bounded(&state_path, MAX_REPORT_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<DrillReport>(&t).map_err(|e| e.to_string()));
            match parsed {
                Ok(p) if p.runbook_sha256 == rb.sha256 => Some(p),
                Ok(_) => {
                    say_error(&format!(
                        "{}: the runbook changed since the interrupted drill this state belongs to: restore the runbook to finish that drill, or remove the state file to start a new one",
                        state_path.display()
                    ));
                    return report::EXIT_FAILED;
                }
                Err(e) => {
                    say_error(&format!(
                        "{}: the drill's state cannot be read ({e}): remove it to start the drill over",
                        state_path.display()
                    ));
                    return report::EXIT_FAILED;
                }
            }
        }
        Err(_) => None,
    };

    // One session, one MFA code. Read-only mode refuses here, before any code is asked.
    let first = Request::new(
        match rb.tests[0].run_as {
            RunAs::RestoreJob => &restore::START_RESTORE,
            RunAs::RestoreTestingPlan => &crate::guard::restore_testing::CREATE_PLAN,
        },
        rb.tests[0].selector.target(),
    );
    let mut opened_report = Report::default();
    let mut o = match Opened::open(
        global,
        args.audit_dir.as_deref(),
        Some(&first),
        &mut opened_report,
    ) {
        Ok(o) => o,
        Err(e) => {
            say_error(&cli_error_text(&e));
            return report::EXIT_FAILED;
        }
    };
    let session = o.session.clone();
    let now = session.now();
    let resumed = previous.is_some();
    let mut rep = previous.unwrap_or_else(|| DrillReport {
        format: report::FORMAT,
        drill: rb.name.clone(),
        runbook: file.clone(),
        runbook_sha256: rb.sha256.clone(),
        approved_by: rb.approved_by.clone(),
        approved_on: rb.approved_on.clone(),
        ticket: args.ticket.clone().or_else(|| rb.ticket.clone()),
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
            .map(|t| TestEntry::new(&t.name, t.selector.describe(), t.rto_minutes, t.rpo_minutes))
            .collect(),
    });
    rep.operator = Operator {
        os_user: crate::session::os_login(),
        aws_arn: session.caller.arn.clone(),
    };
    if resumed {
        rep.resumed += 1;
    }

    // The whole drill, shown once and confirmed once.
    o.prompt.say(&clean(&format!(
        "Drill {} ({} restore tests), approved by {} on {}{}",
        rb.name,
        rb.tests.len(),
        rb.approved_by,
        rb.approved_on,
        if resumed {
            format!(
                "; RESUMING the drill started {} (finished tests are kept, running restore jobs followed)",
                rep.started_at
            )
        } else {
            String::new()
        }
    )));
    for (t, e) in rb.tests.iter().zip(&rep.tests) {
        o.prompt.say(&clean(&format!(
            "  - {}: restore the {} into a NEW resource{}; RTO {} min, RPO {} min{}",
            t.name,
            t.selector.describe(),
            match t.run_as {
                RunAs::RestoreJob => String::new(),
                RunAs::RestoreTestingPlan => format!(
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
        )));
    }
    o.prompt.say(&clean(&format!(
        "  as {} in {} (profile {}); restores run as {role}",
        session.caller.arn, session.region, session.profile
    )));
    let typed = match &args.yes_i_typed {
        Some(t) => Some(t.clone()),
        None => o
            .prompt
            .ask(&format!("Type {} to run the drill: ", rb.name))
            .unwrap_or(None),
    };
    if typed.as_deref().map(str::trim) != Some(rb.name.as_str()) {
        say_error(&format!(
            "the drill was not confirmed: type exactly {} (or pass --yes-i-typed {}); nothing was changed",
            rb.name, rb.name
        ));
        o.close();
        return report::EXIT_FAILED;
    }
    let reason = match &args.reason {
        Some(r) => Some(r.clone()),
        None if o.policy.require_reason => o.prompt.ask("Reason (required): ").unwrap_or(None),
        None => None,
    };
    if reason
        .as_deref()
        .is_some_and(|r| r.chars().any(char::is_control))
    {
        say_error("the reason must be one line of text, without control characters: retype it");
        o.close();
        return report::EXIT_USAGE;
    }
    if o.policy.require_reason && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
        say_error(&format!(
            "{}; pass --reason \"…\"",
            GuardError::ReasonRequired
        ));
        o.close();
        return report::EXIT_FAILED;
    }
    let signals = match Signals::new(&o.rt) {
        Ok(s) => s,
        Err(e) => {
            say_error(&format!("cannot watch for signals: {e}"));
            o.close();
            return report::EXIT_FAILED;
        }
    };
    let write_state = |rep: &DrillReport| -> Result<(), Stop> {
        let text = sanitize::to_json_pretty(rep).unwrap_or_default();
        write_private(&state_path, text.as_bytes()).map_err(|e| {
            Stop::Fatal(format!(
                "{}: the drill's state cannot be saved ({e}); the drill stops so that it can be resumed",
                state_path.display()
            ))
        })
    };
    let mut stop: Option<Stop> = write_state(&rep).err();
    let mut d = Drill {
        rt: &o.rt,
        log: &o.log,
        session,
        resolved: &o.resolved,
        policy: o.policy,
        prompt: &mut o.prompt,
        signals,
        // Every action's intent says it belongs to the drill and how the drill was confirmed
        // (the name typed was the drill's; each plan is confirmed with its own target's name).
        reason: Some(drill_reason(&rb.name, reason.as_deref())),
        ticket: rep.ticket.clone(),
        poll: Duration::from_secs(args.poll_seconds),
        outcome_warnings: Vec::new(),
        pending_stop: None,
    };
    let n = rb.tests.len();
    for (i, spec) in rb.tests.iter().enumerate() {
        if stop.is_some() {
            break;
        }
        let mut entry = rep.tests[i].clone();
        if entry.status == "REFUSED" {
            // A refusal changed nothing: a resumed drill asks again.
            entry = TestEntry::new(
                &spec.name,
                spec.selector.describe(),
                spec.rto_minutes,
                spec.rpo_minutes,
            );
        }
        let finished = entry.restore_ended()
            && (entry.status != "COMPLETED"
                || (entry.validation.is_some() && entry.cleanup.is_some()))
            && as_plan::settled(&entry);
        if finished {
            d.progress(&format!(
                "[{}/{n}] {}: finished earlier ({}), kept",
                i + 1,
                spec.name,
                entry.result()
            ));
            continue;
        }
        d.progress(&format!("[{}/{n}] {}", i + 1, spec.name));
        let token = format!("drill-{}-{}-{i}", &rb.sha256[..12], rep.stamp);
        let mut base = rep.clone();
        let mut save = |e: &TestEntry| {
            base.tests[i] = e.clone();
            write_state(&base)
        };
        let r = run_test(
            &mut d, spec, &mut entry, &role, &rep.stamp, &token, &ps, &mut save,
        );
        rep.tests[i] = entry;
        if let Err(s) = r {
            // Keep what is known in the state file (a failed save stops here too).
            let _ = write_state(&rep);
            stop = Some(s);
        }
    }
    let outcome_warnings = std::mem::take(&mut d.outcome_warnings);
    drop(d);

    let code = match &stop {
        Some(Stop::Fatal(m)) => {
            say_error(m);
            report::EXIT_FAILED
        }
        Some(Stop::Interrupted(m)) => {
            say_error(&format!(
                "the drill was interrupted: {m}; run the same command again to resume it ({} keeps its state)",
                state_path.display()
            ));
            report::EXIT_INTERRUPTED
        }
        None => report::exit_code(&rep.tests),
    };
    let code = if !outcome_warnings.is_empty() && code != report::EXIT_FAILED {
        for w in &outcome_warnings {
            say_error(&format!("error: {w}"));
        }
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
        rep.finished_at = Some(crate::audit::writer::format_time(o.session.now()));
    }
    let base = dir.join(format!("{}-{}", rep.drill, rep.stamp));
    let json_path = base.with_extension("json");
    let md_path = base.with_extension("md");
    let json_text = sanitize::to_json_pretty(&rep).unwrap_or_default();
    let written = write_private(&json_path, json_text.as_bytes())
        .and_then(|()| write_private(&md_path, report::markdown(&rep).as_bytes()));
    let code = match written {
        Ok(()) => {
            if stop.is_none() {
                let _ = std::fs::remove_file(&state_path);
            }
            code
        }
        Err(e) => {
            say_error(&format!(
                "the reports could not be written to {} ({e}); the state file keeps the results",
                dir.display()
            ));
            let _ = write_state(&rep);
            if code == report::EXIT_OK {
                report::EXIT_FAILED
            } else {
                code
            }
        }
    };
    let mut out = sanitize::stdout();
    if args.json {
        let mut v = serde_json::to_value(&rep).unwrap_or(Value::Null);
        v["reports"] = json!({
            "json": json_path.display().to_string(),
            "markdown": md_path.display().to_string(),
        });
        if let Some(p) = &opened_report.audit_log {
            v["audit_log"] = p.display().to_string().into();
        }
        let _ = writeln!(out, "{}", sanitize::to_json_string(&v));
    } else {
        for t in &rep.tests {
            let _ = writeln!(
                out,
                "{}: {} ({})",
                clean(&t.name),
                t.result(),
                clean(&t.status)
            );
        }
        let _ = writeln!(
            out,
            "drill {}: {} (exit code {code})",
            clean(&rep.drill),
            rep.outcome
        );
        let _ = writeln!(
            out,
            "  reports: {} and {}",
            clean(&md_path.display().to_string()),
            clean(&json_path.display().to_string())
        );
    }
    o.close();
    code
}

/// `drill plans`: every restore testing plan with its selections and its last restore jobs.
fn plans(global: &GlobalOptions, as_json: bool, audit_dir: Option<&Path>) -> i32 {
    let mut r = Report::default();
    let o = match Opened::open(global, audit_dir, None, &mut r) {
        Ok(o) => o,
        Err(e) => {
            say_error(&cli_error_text(&e));
            return report::EXIT_FAILED;
        }
    };
    let cloud = o.session.cloud();
    let result: Result<Value, crate::cloud::CloudError> = o.rt.block_on(async {
        let plans = cloud.list_restore_testing_plans().await?;
        let jobs = cloud.list_restore_jobs().await?;
        let mut out = Vec::new();
        for p in plans {
            let detail = cloud.get_restore_testing_plan(&p.name).await?;
            let selections = cloud.list_restore_testing_selections(&p.name).await?;
            let mut mine: Vec<_> = jobs
                .iter()
                .filter(|j| j.restore_testing_plan.as_deref() == Some(p.arn.as_str()))
                .collect();
            mine.sort_by_key(|j| std::cmp::Reverse(j.created));
            out.push(json!({
                "name": p.name,
                "arn": p.arn,
                "schedule": detail.schedule,
                "schedule_timezone": detail.schedule_timezone,
                "last_execution": fmt_time(detail.last_execution),
                "algorithm": detail.algorithm,
                "include_vaults": detail.include_vaults,
                "selection_window_days": detail.selection_window_days,
                "selections": selections.iter().map(|s| json!({
                    "name": s.name,
                    "resource_type": s.resource_type,
                    "iam_role_arn": s.iam_role_arn,
                    "validation_window_hours": s.validation_window_hours,
                })).collect::<Vec<_>>(),
                "last_results": mine.iter().take(10).map(|j| json!({
                    "restore_job_id": j.id,
                    "resource_type": j.resource_type,
                    "status": j.status,
                    "created": fmt_time(j.created),
                    "completed": fmt_time(j.completed),
                    "validation_status": j.validation_status,
                    "deletion_status": j.deletion_status,
                    "status_message": j.status_message,
                })).collect::<Vec<_>>(),
            }));
        }
        Ok(json!({ "restore_testing_plans": out }))
    });
    let code = match result {
        Ok(v) => {
            let mut out = sanitize::stdout();
            if as_json {
                let _ = writeln!(out, "{}", sanitize::to_json_string(&v));
            } else {
                for p in v["restore_testing_plans"].as_array().into_iter().flatten() {
                    let s = |k: &str| p[k].as_str().unwrap_or("—").to_string();
                    let _ = writeln!(
                        out,
                        "{}  schedule {}  last run {}",
                        clean(&s("name")),
                        clean(&s("schedule")),
                        clean(&s("last_execution"))
                    );
                    for sel in p["selections"].as_array().into_iter().flatten() {
                        let _ = writeln!(
                            out,
                            "  selection {} ({}, validation window {} h)",
                            clean(sel["name"].as_str().unwrap_or("")),
                            clean(sel["resource_type"].as_str().unwrap_or("")),
                            sel["validation_window_hours"]
                        );
                    }
                    for j in p["last_results"].as_array().into_iter().flatten() {
                        let g = |k: &str| j[k].as_str().unwrap_or("—").to_string();
                        let _ = writeln!(
                            out,
                            "  {}  {} {}  validation {}  deletion {}",
                            clean(&g("created")),
                            clean(&g("resource_type")),
                            clean(&g("status")),
                            clean(&g("validation_status")),
                            clean(&g("deletion_status"))
                        );
                    }
                }
            }
            report::EXIT_OK
        }
        Err(e) => {
            say_error(&e.to_string());
            report::EXIT_FAILED
        }
    };
    o.close();
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drill_is_named_in_every_reason_within_the_limit() {
        assert_eq!(
            drill_reason("q4", Some(" Q4 drill ")),
            "Q4 drill [drill q4, confirmed once by typing its name]"
        );
        assert_eq!(
            drill_reason("q4", None),
            "[drill q4, confirmed once by typing its name]"
        );
        let long = drill_reason("q4", Some(&"x".repeat(600)));
        assert_eq!(long.chars().count(), crate::guard::MAX_REASON_CHARS);
        assert!(long.ends_with("typing its name]"));
    }

    #[test]
    fn network_and_expiry_interrupt_other_failures_do_not() {
        let net = crate::cloud::CloudError::Network {
            operation: "DescribeRestoreJob".into(),
            message: "reset".into(),
        };
        assert!(transient(&GuardError::LiveState {
            target: "t".into(),
            error: net,
        }));
        assert!(transient(&GuardError::SessionExpired));
        assert!(!transient(&GuardError::ReasonRequired));
    }
}
