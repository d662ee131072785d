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

use super::engine::{self, Answer, Asker, Io, Setup, Stop, fmt_time};
use super::files;
use super::report::{self, DrillReport};
use super::runbook::RunAs;
use crate::guard::Request;
use crate::guard::cli::{CliError, Opened, Report};
use crate::guard::restore;
use crate::options::GlobalOptions;
use crate::sanitize::{self, clean};
use crate::session::ResolvedProfile;
use crate::session::prompt::Prompter;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// The terminal's side of a drill: the prompter asks (a step-up code, an operator's verdict).
struct TerminalAsker {
    prompt: Arc<Mutex<Prompter>>,
    resolved: ResolvedProfile,
}

impl Asker for TerminalAsker {
    fn mfa_code(&mut self) -> Answer<'_, Result<String, String>> {
        let code = match self.prompt.lock() {
            Ok(mut p) => p.mfa_code(&self.resolved).map_err(|e| e.message),
            Err(_) => Err("the prompt is unusable".into()),
        };
        Box::pin(std::future::ready(code))
    }
    fn verdict<'a>(&'a mut self, question: &'a str) -> Answer<'a, Option<bool>> {
        let answer = match self.prompt.lock() {
            Ok(mut p) => p
                .ask(&format!("  {question} type yes or no: "))
                .ok()
                .flatten(),
            Err(_) => None,
        };
        Box::pin(std::future::ready(
            answer.map(|a| a.trim().eq_ignore_ascii_case("yes")),
        ))
    }
}

fn run_drill(args: &RunArgs, global: &GlobalOptions) -> i32 {
    use aws_types::os_shim_internal::Env;
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
    let dir = args
        .report_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    let prepared = match files::prepare(&args.runbook, &dir, &ps) {
        Ok(p) => p,
        Err(e) => {
            say_error(e.message());
            return e.exit_code();
        }
    };
    let rb = &prepared.runbook;

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
    // One run of a drill at a time per report directory (taken once the session is open:
    // a refused session leaves nothing behind); the state read again under the lock.
    let (_lock, prepared) = match prepared.lock() {
        Ok(p) => p,
        Err(e) => {
            say_error(e.message());
            o.close();
            return e.exit_code();
        }
    };
    let session = o.session.clone();
    let mut rep = prepared.report(&session, args.ticket.clone());

    // The whole drill, shown once and confirmed once.
    for line in prepared.summary(&rep, &session) {
        o.prompt.say(&clean(&line));
    }
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
    match engine::check_reason(reason.as_deref(), o.policy.require_reason) {
        Ok(()) => {}
        Err(e @ engine::BadReason::ControlCharacters) => {
            say_error(&e.to_string());
            o.close();
            return report::EXIT_USAGE;
        }
        Err(e @ engine::BadReason::Missing) => {
            say_error(&format!("{e}; pass --reason \"…\""));
            o.close();
            return report::EXIT_FAILED;
        }
    }
    let signals = match Signals::new(&o.rt) {
        Ok(s) => s,
        Err(e) => {
            say_error(&format!("cannot watch for signals: {e}"));
            o.close();
            return report::EXIT_FAILED;
        }
    };
    // A signal asks the drill to stop (the call in flight gets its grace).
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(None);
    let listener = o.rt.spawn(async move {
        let mut signals = signals;
        let s = signals.recv().await;
        let _ = stop_tx.send(Some(format!("stopped by {s}")));
    });
    let prompt = Arc::new(Mutex::new(std::mem::take(&mut o.prompt)));
    let p2 = prompt.clone();
    let mut io = Io {
        say: Arc::new(move |line: &str| {
            if let Ok(mut p) = p2.lock() {
                p.say(line);
            }
        }),
        ask: Box::new(TerminalAsker {
            prompt: prompt.clone(),
            resolved: o.resolved.clone(),
        }),
        stop: stop_rx,
    };
    let setup = Setup {
        log: &o.log,
        session,
        policy: o.policy,
        settings: &ps,
        role: prepared.role.clone(),
        // Every action's intent says it belongs to the drill and how the drill was confirmed
        // (the name typed was the drill's; each plan is confirmed with its own target's name).
        reason: Some(engine::drill_reason(&rb.name, reason.as_deref())),
        ticket: rep.ticket.clone(),
        poll: Duration::from_secs(args.poll_seconds),
    };
    let mut save =
        |r: &DrillReport| -> Result<(), Stop> { prepared.save_state(r).map_err(Stop::Fatal) };
    let ended =
        o.rt.block_on(engine::run_tests(setup, &mut io, rb, &mut rep, &mut save));
    listener.abort();
    drop(io);
    if let Ok(p) = Arc::try_unwrap(prompt).map(|m| m.into_inner()) {
        o.prompt = p.unwrap_or_default();
    }

    match &ended.stop {
        Some(Stop::Fatal(m)) => say_error(m),
        Some(Stop::Interrupted(m)) => say_error(&format!(
            "the drill was interrupted: {m}; run the same command again to resume it ({} keeps its state)",
            prepared.state_path.display()
        )),
        None => {}
    }
    let code = files::conclude(
        &mut rep,
        ended.stop.as_ref(),
        &ended.outcome_warnings,
        o.session.now(),
    );
    if code == report::EXIT_OUTCOME_NOT_RECORDED {
        for w in &ended.outcome_warnings {
            say_error(&format!("error: {w}"));
        }
    }
    let (code, written) = match prepared.write_reports(&rep, ended.stop.is_none()) {
        Ok(w) => (code, w),
        Err(e) => {
            say_error(&e);
            let w = prepared.report_paths(&rep);
            (
                if code == report::EXIT_OK {
                    report::EXIT_FAILED
                } else {
                    code
                },
                w,
            )
        }
    };
    let mut out = sanitize::stdout();
    if args.json {
        let mut v = serde_json::to_value(&rep).unwrap_or(Value::Null);
        v["reports"] = json!({
            "json": written.json.display().to_string(),
            "markdown": written.markdown.display().to_string(),
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
            clean(&written.markdown.display().to_string()),
            clean(&written.json.display().to_string())
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
