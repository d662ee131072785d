//! `phi-console key rotate KEY --on-demand` and
//! `phi-console key rotation KEY (--enable [--period N] | --disable)`: the guarded flow from
//! the command line. The MFA code, the typed name and a missing reason are asked on the
//! terminal (`/dev/tty`) when stdin is a terminal, else read as lines from stdin (scripts and
//! tests pipe them); prompts go to stderr or the terminal, never stdout. With `--json`, stdout
//! carries one JSON document: the plan and the result (or the error).
//!
//! Exit codes: 0 the action ran and succeeded; 1 it was refused, not confirmed, could not be
//! recorded, or failed; 2 bad command-line usage; 3 the action ran but its outcome could not be
//! written to the audit log (the message says what to do); 129/130/143 the console was stopped by SIGHUP/SIGINT/SIGTERM
//! while the action was in flight (its outcome — or `interrupted` — is in the audit log).

use super::{Executed, GuardError, Plan, Policy, Request};
use crate::audit::{AuditLog, KmsSealer, SessionEvent, SnsWitness};
use crate::options::GlobalOptions;
use crate::sanitize::{self, clean};
use crate::session::profile::selected_profile;
use crate::session::prompt::{self, PromptError, Prompter};
use crate::session::settings;
use crate::session::{ResolvedProfile, Session};
use aws_types::os_shim_internal::Env;
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Exit code: the action ran and succeeded.
pub const EXIT_OK: i32 = 0;
/// Exit code: refused, not confirmed, not recorded, or failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: the action ran, but its outcome is not in the audit log (disk full, file size
/// limit): whether it succeeded is only in AWS.
pub const EXIT_OUTCOME_NOT_RECORDED: i32 = 3;
/// How long a signal lets an in-flight call finish (so its real outcome is recorded) before
/// the action is abandoned and recorded as `interrupted`.
pub const SIGNAL_GRACE: Duration = Duration::from_secs(2);
/// How long a signal lets a selective redrive finish its batch in hand and give back what it
/// holds (its journal keeps every step either way).
pub const RUN_STOP_GRACE: Duration = Duration::from_secs(30);

#[derive(Subcommand, Debug, Clone)]
pub enum KeyCommand {
    /// List the KMS keys with their aliases, state and rotation (reads only).
    List {
        #[command(flatten)]
        out: super::queue_cli::ReadArgs,
    },
    /// Rotate a KMS key's material now (on demand; at most 10 per key, ever).
    Rotate {
        /// The key: alias (alias/claims-costs), key id or key ARN.
        key: String,
        /// Rotate now, on demand (required: the only kind of immediate rotation).
        #[arg(long, required = true)]
        on_demand: bool,
        #[command(flatten)]
        args: ActionArgs,
    },
    /// Turn a KMS key's automatic rotation on (or change its period), or off.
    Rotation {
        /// The key: alias (alias/claims-costs), key id or key ARN.
        key: String,
        /// Turn automatic rotation on, or change its period.
        #[arg(long, conflicts_with = "disable", required_unless_present = "disable")]
        enable: bool,
        /// Days between automatic rotations, 90 to 2560 (default 365).
        #[arg(
            long,
            requires = "enable",
            conflicts_with = "disable",
            allow_negative_numbers = true,
            value_parser = crate::validate::Checked(crate::validate::days)
        )]
        period: Option<i32>,
        /// Turn automatic rotation off.
        #[arg(long)]
        disable: bool,
        #[command(flatten)]
        args: ActionArgs,
    },
}

/// What every guarded command takes.
#[derive(Args, Debug, Clone, Default)]
pub struct ActionArgs {
    /// Why (recorded in the audit log; required when the profile sets require_reason).
    #[arg(long)]
    pub reason: Option<String>,
    /// The change ticket (recorded in the audit log).
    #[arg(long)]
    pub ticket: Option<String>,
    /// The name you would type at the confirmation prompt (the key's alias without `alias/`).
    #[arg(long, value_name = "NAME")]
    pub yes_i_typed: Option<String>,
    /// Print the plan and the result as JSON on stdout (prompts go to stderr).
    #[arg(long)]
    pub json: bool,
    /// Directory of the audit log (`<dir>/<profile>.jsonl`; default: the profile's audit_dir,
    /// else $PHI_CONSOLE_AUDIT_DIR, else ~/.local/state/phi-console/audit).
    #[arg(long, value_parser = crate::validate::Checked(crate::validate::audit_dir_arg))]
    pub audit_dir: Option<PathBuf>,
}

impl KeyCommand {
    /// The request this command asks for (`None`: a listing).
    pub fn request(&self) -> Request {
        match self {
            KeyCommand::List { .. } => Request::rotate_now(String::new()),
            KeyCommand::Rotate { key, .. } => Request::rotate_now(key.clone()),
            KeyCommand::Rotation {
                key, disable: true, ..
            } => Request::disable_rotation(key.clone()),
            KeyCommand::Rotation { key, period, .. } => {
                Request::enable_rotation(key.clone(), *period)
            }
        }
    }
    pub fn args(&self) -> ActionArgs {
        match self {
            KeyCommand::Rotate { args, .. } | KeyCommand::Rotation { args, .. } => args.clone(),
            KeyCommand::List { .. } => ActionArgs::default(),
        }
    }
}

/// Why the command stopped.
#[derive(Debug)]
pub(crate) enum CliError {
    Guard(GuardError),
    Other { kind: &'static str, message: String },
}

impl From<GuardError> for CliError {
    fn from(e: GuardError) -> Self {
        CliError::Guard(e)
    }
}

impl From<PromptError> for CliError {
    fn from(e: PromptError) -> Self {
        CliError::Other {
            kind: e.kind,
            message: e.message,
        }
    }
}

impl From<crate::audit::AuditError> for CliError {
    fn from(e: crate::audit::AuditError) -> Self {
        CliError::Guard(GuardError::Audit {
            message: e.to_string(),
        })
    }
}

pub(crate) fn other<E: std::fmt::Display>(kind: &'static str) -> impl Fn(E) -> CliError {
    move |e| CliError::Other {
        kind,
        message: e.to_string(),
    }
}

impl CliError {
    fn to_json(&self) -> Value {
        match self {
            CliError::Guard(g) => g.to_json(),
            CliError::Other { kind, message } => json!({ "kind": kind, "message": message }),
        }
    }
    fn lines(&self) -> Vec<String> {
        match self {
            CliError::Guard(GuardError::Refused {
                action,
                target,
                refusals,
            }) => {
                let mut v = vec![format!(
                    "{action} on {target} is refused (nothing was changed):"
                )];
                v.extend(refusals.iter().map(|r| format!("  - {}", r.message)));
                v
            }
            CliError::Guard(g @ GuardError::ReasonRequired) => {
                vec![format!("{g}; pass --reason \"…\" (and --ticket)")]
            }
            CliError::Guard(g) => vec![g.to_string()],
            CliError::Other { message, .. } => vec![message.clone()],
        }
    }
}

impl Report {
    /// Set when the action ran but its outcome could not be written to the audit log.
    pub(crate) fn outcome_warning(&self) -> Option<&str> {
        match (&self.result, &self.error) {
            (Some(x), _) if x.outcome_warning.is_some() => x.outcome_warning.as_deref(),
            (
                _,
                Some(CliError::Guard(GuardError::Failed {
                    outcome_warning: Some(w),
                    ..
                })),
            ) => Some(w),
            _ => None,
        }
    }
}

/// What the command prints at the end.
#[derive(Default)]
pub(crate) struct Report {
    pub plan: Option<Plan>,
    pub result: Option<Executed>,
    pub error: Option<CliError>,
    pub signal: Option<&'static str>,
    pub audit_log: Option<PathBuf>,
    /// More fields of the JSON document (a run's report, a peek's messages).
    pub extra: Vec<(&'static str, Value)>,
    /// More lines of the text report (stdout).
    pub lines: Vec<String>,
}

/// Runs a `phi-console key …` command; returns the exit code. Everything, errors included, is
/// reported on stdout/stderr here.
pub fn run(command: KeyCommand, global: &GlobalOptions) -> anyhow::Result<i32> {
    if let KeyCommand::List { out } = &command {
        return crate::listing::run(crate::listing::What::Keys, out, global);
    }
    let args = command.args();
    let request = command.request();
    Ok(reported(args.json, |report| {
        flow(&request, &args, global, report)
    }))
}

/// Runs a command's body, prints its report (text or JSON) and returns the exit code: the
/// body's, 1 when it failed, 3 when an action ran but its outcome is not in the audit log.
pub(crate) fn reported(
    as_json: bool,
    body: impl FnOnce(&mut Report) -> Result<i32, CliError>,
) -> i32 {
    let mut report = Report::default();
    let mut code = match body(&mut report) {
        Ok(code) => code,
        Err(e) => {
            report.error = Some(e);
            EXIT_FAILED
        }
    };
    if report.error.is_some() && code == EXIT_OK {
        code = EXIT_FAILED;
    }
    if report.outcome_warning().is_some() && matches!(code, EXIT_OK | EXIT_FAILED) {
        code = EXIT_OUTCOME_NOT_RECORDED;
    }
    print_report(&report, as_json);
    code
}

pub(crate) fn print_report(r: &Report, as_json: bool) {
    let mut stdout = sanitize::stdout();
    let mut stderr = sanitize::stderr();
    // The action ran but its outcome is not in the log: said on stderr in every mode.
    if let Some(w) = r.outcome_warning() {
        let _ = writeln!(stderr, "phi-console: error: {}", clean(w));
    }
    if as_json {
        let mut v = json!({ "plan": r.plan });
        if let Some(x) = &r.result {
            let mut res = serde_json::to_value(x).unwrap_or_default();
            res["status"] = "succeeded".into();
            v["result"] = res;
        }
        if let Some(e) = &r.error {
            v["error"] = e.to_json();
        }
        if let Some(s) = r.signal {
            v["signal"] = s.into();
        }
        if let Some(p) = &r.audit_log {
            v["audit_log"] = p.display().to_string().into();
        }
        for (k, x) in &r.extra {
            v[*k] = x.clone();
        }
        let _ = writeln!(stdout, "{}", sanitize::to_json_string(&v));
        return;
    }
    for l in &r.lines {
        let _ = writeln!(stdout, "{}", clean(l));
    }
    if let Some(x) = &r.result {
        let _ = writeln!(stdout, "done: {}", clean(&x.summary));
        let _ = writeln!(stdout, "  request id: {}", clean(&x.request_id));
        let log = r
            .audit_log
            .as_ref()
            .map(|p| format!(" in {}", p.display()))
            .unwrap_or_default();
        let _ = writeln!(
            stdout,
            "  audit:      intent {}{}",
            x.intent_id,
            clean(&log)
        );
    }
    if let Some(e) = &r.error {
        // One line each: a newline inside an AWS message cannot start a line of its own.
        for l in e.lines() {
            let _ = writeln!(stderr, "phi-console: {}", clean(&l));
        }
    }
}

fn flow(
    request: &Request,
    args: &ActionArgs,
    global: &GlobalOptions,
    report: &mut Report,
) -> Result<i32, CliError> {
    // Parameters are checked before anything else (no file, no network).
    super::validate(request)?;
    let mut o = Opened::open(global, args.audit_dir.as_deref(), Some(request), report)?;
    let result = guarded(
        &o.rt,
        &o.log,
        o.session.clone(),
        &o.resolved,
        &o.policy,
        request,
        args,
        &mut o.prompt,
        report,
        None,
    );
    o.close();
    result
}

/// A command's session, audit log and runtime, opened as every guarded command opens them.
pub(crate) struct Opened {
    pub rt: tokio::runtime::Runtime,
    pub session: Session,
    pub resolved: ResolvedProfile,
    pub policy: Policy,
    pub log: AuditLog,
    pub prompt: Prompter,
    pub settings: settings::ProfileSettings,
}

impl Opened {
    /// Opens the profile's session (asking for its MFA code) and its audit log. With
    /// `acting`, read-only mode refuses first and the request's region is checked before any
    /// code is asked.
    pub(crate) fn open(
        global: &GlobalOptions,
        audit_dir: Option<&std::path::Path>,
        acting: Option<&Request>,
        report: &mut Report,
    ) -> Result<Opened, CliError> {
        let env = Env::real();
        let settings =
            settings::load_selected(global.config.as_deref()).map_err(other("settings"))?;
        let profile = selected_profile(global.profile.as_deref(), &env);
        let ps = settings.for_profile(&profile);
        let policy = Policy::from_settings(&ps, global.read_only);
        if let Some(request) = acting
            && policy.read_only
        {
            return Err(GuardError::ReadOnly {
                profile,
                action: request.action().to_string(),
            }
            .into());
        }
        let audit = super::audit_config(&profile, &ps, audit_dir)?;
        report.audit_log = Some(audit.path.clone());
        // Fail closed before asking for a code: the log must be usable.
        drop(AuditLog::open(audit.clone())?);

        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(other("runtime"))?;
        let target = prompt::resolve_profile(&rt, global)?;
        // A target in another partition or region is refused before any code is asked or any
        // call is made (the plan checks again against the session's caller).
        let region = target
            .options
            .region
            .clone()
            .or_else(|| target.resolved.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        if let Some(request) = acting {
            super::check_target_region(request, &region)?;
        }
        let resolved = target.resolved.clone();
        let mut prompt = Prompter::new();
        let session = prompt::open_session(&rt, &target, &mut prompt)?;

        let mut config = audit;
        if let Some(key) = &ps.audit_hmac_key {
            match KmsSealer::from_config(session.sdk_config(), key.clone()) {
                Ok(s) => config = config.sealer(Arc::new(s)),
                Err(e) => prompt.say(&format!("warning: the audit log will not be sealed: {e}")),
            }
        }
        if let Some(topic) = &ps.audit_witness_topic {
            match SnsWitness::from_config(session.sdk_config(), topic.clone()) {
                Ok(w) => config = config.witness(Arc::new(w)),
                Err(e) => prompt.say(&format!(
                    "warning: the audit seals will not be published: {e}"
                )),
            }
        }
        let log = AuditLog::open(config)?;
        super::record_context(&log, &session);
        log.session(
            SessionEvent::Start,
            json!({ "mode": "cli", "mfa": session.mfa_at.is_some() }),
        )?;
        Ok(Opened {
            rt,
            session,
            resolved,
            policy,
            log,
            prompt,
            settings: ps,
        })
    }

    /// Ends the session in the log, with a seal (and its notice to the witness topic).
    pub(crate) fn close(mut self) {
        let _ = self
            .log
            .session(SessionEvent::End, json!({ "mode": "cli" }));
        if let Err(e) = self.log.seal() {
            self.prompt
                .say(&format!("warning: the audit log could not be sealed: {e}"));
        }
        if let Some(e) = self.log.take_seal_failure() {
            self.prompt.say(&format!("warning: {e}"));
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn guarded(
    rt: &tokio::runtime::Runtime,
    log: &AuditLog,
    mut session: Session,
    resolved: &ResolvedProfile,
    policy: &Policy,
    request: &Request,
    args: &ActionArgs,
    prompt: &mut Prompter,
    report: &mut Report,
    context: Option<&super::redrive::Context>,
) -> Result<i32, CliError> {
    let plan = match context {
        Some(c) => rt.block_on(super::redrive::scope(
            c.clone(),
            super::plan(&session, policy, request),
        ))?,
        None => rt.block_on(super::plan(&session, policy, request))?,
    };
    // Each line of the plan is one line on screen: a description cannot add or rewrite lines.
    let text = plan
        .lines()
        .iter()
        .map(|l| clean(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    if args.json {
        prompt.say(&text);
    } else {
        let _ = writeln!(sanitize::stdout(), "{text}");
    }
    report.plan = Some(plan.clone());

    let typed = match &args.yes_i_typed {
        Some(t) => t.clone(),
        None => prompt
            .ask(&format!("Type {} to confirm: ", plan.confirm_text))?
            .unwrap_or_default(),
    };
    let reason = match &args.reason {
        Some(r) => Some(r.clone()),
        None if policy.require_reason => prompt.ask("Reason (required): ")?,
        None => None,
    };
    let confirmed = super::confirm(
        &plan,
        &typed,
        reason.as_deref(),
        args.ticket.as_deref(),
        policy.require_reason,
    )?;

    if let Err(e @ GuardError::StepUpRequired { .. }) =
        super::preflight(&session, policy, &confirmed)
    {
        prompt.say(&e.to_string());
        let code = prompt.mfa_code(resolved)?;
        session = rt
            .block_on(session.renew(&code))
            .map_err(other("session"))?;
        super::record_context(log, &session);
        log.session(SessionEvent::MfaStepUp, Value::Null)?;
    }
    super::preflight(&session, policy, &confirmed)?;

    let (result, signal) = match context {
        Some(c) => rt.block_on(super::redrive::scope(
            c.clone(),
            with_signals(log, &session, policy, confirmed, Some(c)),
        )),
        None => rt.block_on(with_signals(log, &session, policy, confirmed, None)),
    }
    .map_err(other("signals"))?;
    report.signal = signal.map(|(name, _)| name);
    let code = signal.map_or(EXIT_OK, |(_, code)| code);
    match result {
        Some(Ok(done)) => {
            report.result = Some(done);
            Ok(code)
        }
        Some(Err(e)) => {
            report.error = Some(e.into());
            Ok(if code == EXIT_OK { EXIT_FAILED } else { code })
        }
        None => {
            let (name, code) = signal.unwrap_or(("a signal", EXIT_FAILED));
            report.error = Some(CliError::Other {
                kind: "interrupted",
                message: format!(
                    "stopped by {name} while {} was in flight: the audit log records the outcome as interrupted; check the target's state before retrying",
                    plan.action
                ),
            });
            Ok(code)
        }
    }
}

/// Runs the action; on SIGHUP, SIGINT or SIGTERM lets the call finish for [`SIGNAL_GRACE`]
/// (so its real outcome is recorded), else drops it (recorded as `interrupted`).
async fn with_signals(
    log: &AuditLog,
    session: &Session,
    policy: &Policy,
    confirmed: super::Confirmed,
    run: Option<&super::redrive::Context>,
) -> std::io::Result<(
    Option<Result<Executed, GuardError>>,
    Option<(&'static str, i32)>,
)> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut fut = Box::pin(super::execute(log, session, policy, confirmed));
    let sig = tokio::select! {
        r = &mut fut => return Ok((Some(r), None)),
        _ = hup.recv() => ("SIGHUP", 129),
        _ = int.recv() => ("SIGINT", 130),
        _ = term.recv() => ("SIGTERM", 143),
    };
    // A redrive run is told to stop: it finishes the batch in hand, gives back what it holds
    // and records its end, so it gets longer than a single call.
    let grace = match run {
        Some(c) => {
            c.cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            RUN_STOP_GRACE
        }
        None => SIGNAL_GRACE,
    };
    match tokio::time::timeout(grace, &mut fut).await {
        Ok(r) => Ok((Some(r), Some(sig))),
        Err(_) => {
            // Dropping the in-flight action records its outcome as `interrupted`.
            drop(fut);
            Ok((None, Some(sig)))
        }
    }
}
