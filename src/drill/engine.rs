//! The drill engine, shared by `phi-console drill run` and the console's `:drill`
//! (docs/DR-DRILLS.md): each restore test of a runbook in turn — a guarded
//! `backup.start_restore_job` (intent before the call), followed to its end, the validation
//! sent with a guarded PutRestoreValidationResult, the cleanup — saving the entry after every
//! step so that an interrupted drill resumes where it stopped.
//!
//! What differs between the terminal and the console is the [`Io`]: where progress goes, how
//! a step-up MFA code and an operator's verdict are asked, and what stops the drill (a signal,
//! the console quitting).

use super::report::{self, Cleanup, DrillReport, TestEntry, Validation};
use super::runbook::{RunAs, Runbook, Selector, TestSpec};
use crate::audit::{AuditLog, SessionEvent};
use crate::guard::restore::{self, Ran};
use crate::guard::watch::{self, Pace, Started};
use crate::guard::{self, Executed, GuardError, Handle, HandleKind, Policy, Request};
use crate::sanitize::clean;
use crate::session::Session;
use crate::session::settings::ProfileSettings;
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch as stop_channel;

#[path = "as_plan.rs"]
mod as_plan;

/// How many days after its start an interrupted drill may be resumed.
pub const MAX_RESUME_DAYS: i64 = 7;

/// An answer the drill waits for.
pub type Answer<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The questions a drill may have to ask while it runs.
pub trait Asker: Send {
    /// A fresh MFA code (a step-up, when the drill outlasts the profile's `step_up_minutes`);
    /// `Err` says why there is none (the drill stops, resumable).
    fn mfa_code(&mut self) -> Answer<'_, Result<String, String>>;
    /// The operator's verdict on a restored copy when no check command is configured:
    /// `Some(true)` it passed, `Some(false)` it did not, `None` no answer (the drill stops).
    fn verdict<'a>(&'a mut self, question: &'a str) -> Answer<'a, Option<bool>>;
}

/// Where a drill talks to its operator, and what stops it.
pub struct Io {
    /// One line of progress (already sanitised by the engine).
    pub say: Arc<dyn Fn(&str) + Send + Sync>,
    pub ask: Box<dyn Asker>,
    /// Set to `Some(why)` to stop the drill at its next step ("stopped by SIGINT"); the call
    /// in flight gets [`crate::guard::cli::SIGNAL_GRACE`] to finish.
    pub stop: stop_channel::Receiver<Option<String>>,
}

/// Resolves when `stop` is set; never when its sender is gone without setting it.
async fn stop_asked(stop: &mut stop_channel::Receiver<Option<String>>) -> String {
    loop {
        if let Some(why) = stop.borrow_and_update().clone() {
            return why;
        }
        if stop.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// What a drill needs besides its runbook: the session and where its actions are recorded.
pub struct Setup<'a> {
    pub log: &'a AuditLog,
    pub session: Session,
    pub policy: Policy,
    pub settings: &'a ProfileSettings,
    /// The restore role (the runbook's, else the profile's).
    pub role: String,
    /// The recorded reason (see [`drill_reason`]) and ticket of every action.
    pub reason: Option<String>,
    pub ticket: Option<String>,
    pub poll: Duration,
}

/// How a run of the tests ended.
pub struct Ended {
    /// Why it stopped before the end (None: every test ran to its end).
    pub stop: Option<Stop>,
    /// Actions that ran but whose outcome could not be written to the audit log.
    pub outcome_warnings: Vec<String>,
}

/// Runs the tests of `rb` not finished yet in `rep`, in order, saving `rep` with `save` first
/// and after every step (a failed save stops the drill: it could not be resumed).
pub async fn run_tests(
    setup: Setup<'_>,
    io: &mut Io,
    rb: &Runbook,
    rep: &mut DrillReport,
    save: &mut (dyn FnMut(&DrillReport) -> Result<(), Stop> + Send),
) -> Ended {
    // Read-only refuses before anything (each action's gates refuse again).
    if setup.policy.read_only {
        return Ended {
            stop: Some(Stop::Fatal(
                "read-only mode: a drill restores recovery points into new resources, so it does not run; run it without --read-only (and a profile without read_only)".into(),
            )),
            outcome_warnings: Vec::new(),
        };
    }
    let mut stop: Option<Stop> = save(rep).err();
    let mut d = Drill {
        log: setup.log,
        session: setup.session,
        policy: setup.policy,
        io,
        reason: setup.reason,
        ticket: setup.ticket,
        poll: setup.poll,
        outcome_warnings: Vec::new(),
        pending_stop: None,
    };
    // Restores of an old, interrupted drill prove nothing about today's RTO: a drill is
    // resumed within a week of its start, else started over.
    if rep.resumed > 0
        && let Some(started) = parse_time(&Some(rep.started_at.clone()))
        && (d.session.now() - started > chrono::Duration::days(MAX_RESUME_DAYS)
            || started > d.session.now() + chrono::Duration::minutes(1))
    {
        stop = Some(Stop::Fatal(format!(
            "the interrupted drill this state belongs to started {} (in the future, or {MAX_RESUME_DAYS}+ days ago): a drill is resumed within {MAX_RESUME_DAYS} days of its start; remove the state file to start the drill over",
            rep.started_at
        )));
    }
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
        // What a state file says ran is AWS's to confirm (a state can be written by hand).
        let token = format!("drill-{}-{}-{i}", &rb.sha256[..12], rep.stamp);
        if let Err(s) = d
            .agrees_with_aws(
                spec,
                &mut entry,
                parse_time(&Some(rep.started_at.clone())),
                &token,
            )
            .await
        {
            stop = Some(s);
            break;
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
        if let Err(s) = d.stopped() {
            stop = Some(s);
            break;
        }
        d.progress(&format!("[{}/{n}] {}", i + 1, spec.name));
        let mut base = rep.clone();
        let mut save_entry = |e: &TestEntry| {
            base.tests[i] = e.clone();
            save(&base)
        };
        let r = run_test(
            &mut d,
            spec,
            &mut entry,
            &setup.role,
            &rep.stamp,
            &token,
            setup.settings,
            &mut save_entry,
        )
        .await;
        rep.tests[i] = entry;
        if let Err(s) = r {
            // Keep what is known in the state file (a failed save stops here too).
            let _ = save(rep);
            stop = Some(s);
        }
    }
    Ended {
        stop,
        outcome_warnings: d.outcome_warnings,
    }
}

/// Why a drill stopped before its end.
pub enum Stop {
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
    log: &'a AuditLog,
    session: Session,
    policy: Policy,
    io: &'a mut Io,
    reason: Option<String>,
    ticket: Option<String>,
    poll: Duration,
    outcome_warnings: Vec<String>,
    pending_stop: Option<String>,
}

impl Drill<'_> {
    fn progress(&self, line: &str) {
        (self.io.say)(&clean(line));
    }

    /// Plans, confirms (the drill's confirmation covers it), passes the gates (a step-up MFA
    /// code when the profile's step_up_minutes ran out) and executes one guarded action.
    async fn guarded(&mut self, request: &Request) -> Result<Step, Stop> {
        // A step-up code may take the operator a while: the plan is made again after it, so
        // its checks (and its age) are those of the call that follows.
        let mut renewed = false;
        let (plan, confirmed) = loop {
            let plan = match guard::plan(&self.session, &self.policy, request).await {
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
            match guard::preflight(&self.session, &self.policy, &confirmed) {
                Err(e @ GuardError::StepUpRequired { .. }) if !renewed => {
                    self.progress(&e.to_string());
                    let code = self.io.ask.mfa_code().await.map_err(Stop::Interrupted)?;
                    self.session = self
                        .session
                        .renew(&code)
                        .await
                        .map_err(|e| Stop::Interrupted(e.to_string()))?;
                    guard::record_context(self.log, &self.session);
                    let _ = self.log.session(SessionEvent::MfaStepUp, Value::Null);
                    renewed = true;
                }
                // The executor checks the gates again and refuses with the reason.
                _ => break (plan, confirmed),
            }
        };
        let (log, session, policy) = (self.log, &self.session, self.policy);
        let stop = &mut self.io.stop;
        let out = {
            let mut fut = Box::pin(guard::execute(log, session, &policy, confirmed));
            tokio::select! {
                r = &mut fut => Ok(r),
                s = stop_asked(stop) => {
                    // Let the call in flight finish so its real outcome is recorded.
                    match tokio::time::timeout(crate::guard::cli::SIGNAL_GRACE, &mut fut).await {
                        Ok(r) => Err((s, Some(r))),
                        Err(_) => Err((s, None)),
                    }
                }
            }
        };
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
                self.pending_stop = Some(s);
                Ok(Step::Done(Box::new((x, plan))))
            }
            Err((s, _)) => Err(Stop::Interrupted(s)),
        }
    }

    /// A resumed entry that names a restore job must be that job as AWS describes it: its
    /// status, its created resource, its times (the RTO is measured again from them) and the
    /// validation status it says was sent. A COMPLETED entry without a job is not kept.
    async fn agrees_with_aws(
        &mut self,
        spec: &TestSpec,
        entry: &mut TestEntry,
        drill_started: Option<chrono::DateTime<chrono::Utc>>,
        token: &str,
    ) -> Result<(), Stop> {
        let disagree = |what: String| {
            Stop::Fatal(format!(
                "the drill's state does not agree with AWS: test {}: {what}; remove the state file to start the drill over",
                spec.name
            ))
        };
        // A restore testing plan named in the state is this test's own (its name follows the
        // drill's token), never another run's plan to take over and delete.
        if let Some(run) = &entry.restore_testing_plan
            && (spec.run_as != RunAs::RestoreTestingPlan || run.name != as_plan::plan_name(token))
        {
            return Err(disagree(format!(
                "restore testing plan {} is not this test's",
                run.name
            )));
        }
        let Some(id) = entry.restore_job_id.clone() else {
            return if entry.status == "COMPLETED" {
                Err(disagree("COMPLETED without a restore job".into()))
            } else {
                Ok(())
            };
        };
        let cloud = self.session.cloud();
        let unreadable = |what: String, e: crate::cloud::CloudError| {
            if transient_cloud(&e) {
                Stop::Interrupted(e.to_string())
            } else {
                disagree(format!("{what} cannot be read ({e})"))
            }
        };
        let job = cloud
            .describe_restore_job(&id)
            .await
            .map_err(|e| unreadable(format!("restore job {id}"), e))?;
        // The job restores this test's recovery point: the one the state names, of the
        // test's resource in its vault (or the test's own point).
        if entry.recovery_point_arn.as_deref() != Some(job.recovery_point_arn.as_str()) {
            return Err(disagree(format!(
                "restore job {id} restores {}, not the recovery point the state names",
                job.recovery_point_arn
            )));
        }
        let points = cloud
            .list_all_recovery_points()
            .await
            .map_err(|e| unreadable("the recovery points".into(), e))?;
        let point = points.iter().find(|p| p.arn == job.recovery_point_arn);
        let ours = match (&spec.selector, point) {
            (
                Selector::Latest {
                    vault,
                    resource_arn,
                },
                Some(p),
            ) => p.resource_arn == *resource_arn && p.vault == *vault,
            (Selector::Point { arn, .. }, Some(p)) => p.arn == *arn,
            (_, None) => false,
        };
        if !ours {
            return Err(disagree(format!(
                "restore job {id} restores {}, not the {}",
                job.recovery_point_arn,
                spec.selector.describe()
            )));
        }
        // What the state says of the point (its age: the RPO) is AWS's.
        let point_created = point.and_then(|p| p.created);
        entry.recovery_point_created = fmt_time(point_created);
        entry.rpo = report::measure(
            spec.rpo_minutes,
            job.created.zip(point_created).map(|(s, p)| s - p),
        );
        // A job older than the drill is another drill's (an earlier report replayed as this
        // drill's state): this drill's restores start after it does (a minute's clock skew).
        if let (Some(created), Some(started)) = (job.created, drill_started)
            && created < started - chrono::Duration::minutes(1)
        {
            return Err(disagree(format!(
                "restore job {id} was created {}, before this drill started ({}): it is not this drill's",
                crate::audit::writer::format_time(created),
                crate::audit::writer::format_time(started)
            )));
        }
        if !entry.restore_ended() {
            return Ok(()); // followed (and read from AWS again) below
        }
        if job.status != entry.status {
            return Err(disagree(format!(
                "it says {} but restore job {id} is {}",
                entry.status, job.status
            )));
        }
        if job.status != "COMPLETED" {
            return Ok(());
        }
        if job.created_resource_arn != entry.created_resource_arn
            || fmt_time(job.created) != entry.started_at
            || fmt_time(job.completed) != entry.completed_at
        {
            return Err(disagree(format!(
                "restore job {id} created {} from {} to {}, not what the state says",
                job.created_resource_arn.as_deref().unwrap_or("nothing"),
                fmt_time(job.created).unwrap_or_default(),
                fmt_time(job.completed).unwrap_or_default()
            )));
        }
        if let Some(v) = entry.validation.as_ref().filter(|v| v.sent)
            && job.validation_status.as_deref() != Some(v.status.as_str())
        {
            return Err(disagree(format!(
                "validation {} was not sent: restore job {id}'s validation is {}",
                v.status,
                job.validation_status.as_deref().unwrap_or("none")
            )));
        }
        entry.rto = report::measure(
            spec.rto_minutes,
            job.created.zip(job.completed).map(|(s, e)| e - s),
        );
        Ok(())
    }

    /// A stop asked for while a call finished (or between steps): stop now that the result
    /// is saved.
    fn stopped(&mut self) -> Result<(), Stop> {
        if let Some(m) = self.pending_stop.take() {
            return Err(Stop::Interrupted(m));
        }
        match self.io.stop.borrow().clone() {
            Some(m) => Err(Stop::Interrupted(m)),
            None => Ok(()),
        }
    }

    /// Follows a restore job to its end (task records), then reads it once more.
    async fn follow(
        &mut self,
        label: &str,
        started: &Started,
    ) -> Result<crate::cloud::backup::RestoreJob, Stop> {
        let cloud = self.session.cloud();
        let log = self.log;
        let poll = self.poll;
        let say = self.io.say.clone();
        let stop = &mut self.io.stop;
        let mut last = String::new();
        let out = {
            let w = watch::watch(log, &cloud, started, Pace::Every(poll), |p| {
                let line = p.line();
                let key: String = line.split_whitespace().take(2).collect();
                if key != last {
                    last = key;
                    say(&clean(&format!("  {label}: {line}")));
                }
            });
            tokio::select! {
                r = w => Ok(r),
                s = stop_asked(stop) => Err(s),
            }
        };
        match out {
            Err(s) => Err(Stop::Interrupted(format!(
                "{s} while restore job {} ran (it runs on in AWS; run the drill again to follow it)",
                started.handle.id
            ))),
            Ok(Err(e)) => Err(Stop::Interrupted(e.to_string())),
            Ok(Ok(_)) => cloud
                .describe_restore_job(&started.handle.id)
                .await
                .map_err(|e| Stop::Interrupted(e.to_string())),
        }
    }
}

/// The reason recorded with each action of a drill: the operator's, and the drill's name.
pub fn drill_reason(drill: &str, reason: Option<&str>) -> String {
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

/// What is wrong with a drill's reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadReason {
    /// Not one line of text.
    ControlCharacters,
    /// The profile requires a reason and none was given.
    Missing,
}

impl std::fmt::Display for BadReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadReason::ControlCharacters => f.write_str(
                "the reason must be one line of text, without control characters: retype it",
            ),
            BadReason::Missing => write!(f, "{}", GuardError::ReasonRequired),
        }
    }
}

/// Checks the operator's reason for a whole drill (before anything runs).
pub fn check_reason(reason: Option<&str>, required: bool) -> Result<(), BadReason> {
    if reason.is_some_and(|r| r.chars().any(char::is_control)) {
        return Err(BadReason::ControlCharacters);
    }
    if required && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(BadReason::Missing);
    }
    Ok(())
}

/// A failure that says nothing about the test (the network, an expired session): the drill
/// stops and resumes later.
fn transient(e: &GuardError) -> bool {
    match e {
        GuardError::SessionExpired => true,
        GuardError::LiveState { error, .. } | GuardError::Failed { error, .. } => {
            transient_cloud(error)
        }
        _ => false,
    }
}

/// An AWS failure that says nothing about the test: the network, an expired session.
fn transient_cloud(e: &crate::cloud::CloudError) -> bool {
    e.is_expired() || matches!(e, crate::cloud::CloudError::Network { .. })
}

pub(crate) fn fmt_time(t: Option<chrono::DateTime<chrono::Utc>>) -> Option<String> {
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
async fn run_test(
    d: &mut Drill<'_>,
    spec: &TestSpec,
    entry: &mut TestEntry,
    role: &str,
    stamp: &str,
    token: &str,
    ps: &ProfileSettings,
    save: &mut (dyn FnMut(&TestEntry) -> Result<(), Stop> + Send),
) -> Result<(), Stop> {
    let label = spec.name.clone();
    // A test run as a restore testing plan: the plan starts the restore job.
    if spec.run_as == RunAs::RestoreTestingPlan
        && !as_plan::start(d, spec, entry, role, token, save).await?
    {
        return as_plan::end(d, entry, save).await;
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
        match d.guarded(&request).await? {
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
        let job = d.follow(&label, &started).await?;
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
            if let Ok(points) = cloud.list_all_recovery_points().await
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
        return as_plan::end(d, entry, save).await;
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
                let program = argv.first().cloned().unwrap_or_default();
                // A stop ends the command too (it is killed with what it started).
                let ran = {
                    let stop = &mut d.io.stop;
                    tokio::select! {
                        r = restore::run_command_async(argv, e2, timeout) => r,
                        s = stop_asked(stop) => Ran::NotStarted(format!("{s} while it ran")),
                    }
                };
                if let Some(s) = d.io.stop.borrow().clone() {
                    return Err(Stop::Interrupted(format!(
                        "{s} while the check command of test {label} ran (it was stopped; run the drill again to validate)"
                    )));
                }
                match ran {
                    Ran::Exited(0) => ("SUCCESSFUL", "command", Some(0)),
                    Ran::Exited(c) => ("FAILED", "command", Some(c)),
                    Ran::TimedOut => ("TIMED_OUT", "command", None),
                    // Nothing was checked: nothing is sent (a setup slip is not a failed
                    // restore); fixed, the same drill resumes here.
                    Ran::Stopped => {
                        return Err(Stop::Interrupted(format!(
                            "the check command of test {label} was stopped; run the drill again to validate"
                        )));
                    }
                    Ran::NotStarted(m) => {
                        return Err(Stop::Interrupted(format!(
                            "test {label}: the check command {program} could not be started ({m}); make it runnable at that path (or fix restore_check_command in the profile's settings), then run the same drill again to validate (a changed runbook starts a new drill)"
                        )));
                    }
                }
            }
            None => {
                let question =
                    format!("{label}: did the restored copy {created} pass your checks?");
                match d.io.ask.verdict(&question).await {
                    Some(true) => ("SUCCESSFUL", "operator", None),
                    Some(false) => ("FAILED", "operator", None),
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
        match d.guarded(&request).await? {
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
        return as_plan::end(d, entry, save).await;
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
                match d.guarded(&request).await? {
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
    fn a_reason_is_one_line_and_given_when_required() {
        assert_eq!(check_reason(None, false), Ok(()));
        assert_eq!(check_reason(Some("Q4 drill"), true), Ok(()));
        assert_eq!(check_reason(None, true), Err(BadReason::Missing));
        assert_eq!(check_reason(Some("  "), true), Err(BadReason::Missing));
        assert_eq!(
            check_reason(Some("a\nb"), false),
            Err(BadReason::ControlCharacters)
        );
        assert_eq!(
            check_reason(Some("a\u{1b}[2J"), true),
            Err(BadReason::ControlCharacters)
        );
    }

    #[tokio::test]
    async fn a_stop_is_seen_once_asked_and_never_without_it() {
        let (tx, mut rx) = stop_channel::channel(None);
        let waiting = tokio::spawn(async move { stop_asked(&mut rx).await });
        tx.send(Some("stopped by SIGINT".into())).expect("send");
        assert_eq!(waiting.await.expect("join"), "stopped by SIGINT");
        let (tx, mut rx) = stop_channel::channel::<Option<String>>(None);
        drop(tx);
        let never = tokio::time::timeout(Duration::from_millis(50), stop_asked(&mut rx)).await;
        assert!(never.is_err(), "a dropped sender is not a stop");
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
