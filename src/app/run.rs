//! The runner: one `tokio::select!` loop over terminal events, worker results and a frame
//! deadline; effects from `update` executed on tokio tasks; the terminal restored on exit and
//! on panic.

use super::audit_task::AuditWriter;
use super::state::{Flash, Kind, MfaPurpose, SessionInfo, State};
use super::update::{Effect, Msg, Payload, update};
use crate::audit::{AuditConfig, KmsSealer, SessionEvent};
use crate::cloud::Cloud;
use crate::session::profile::ProfileSet;
use crate::session::settings::SettingsFile;
use crate::session::{self, OpenOptions, ResolvedProfile, Session};
use ratatui::Terminal;
use ratatui::backend::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

/// What arrives at the loop.
pub enum Incoming {
    Term(crossterm::event::Event),
    Msg(Msg),
    Session(Box<Session>, MfaPurpose),
}

/// Everything the runner needs to open sessions.
pub struct Context {
    pub profiles: Option<ProfileSet>,
    pub settings: SettingsFile,
    pub options: OpenOptions,
    /// `--read-only` on the command line (beats the profile's setting).
    pub force_read_only: bool,
    /// A profile resolved up front (the demo, or the `--profile` one).
    pub initial: ResolvedProfile,
    /// `--demo` only: the demo MFA device's code at an instant (its seed is published), shown
    /// in the MFA prompt. None for real profiles, whose codes are never shown.
    pub demo_code: Option<DemoCodes>,
}

/// The demo MFA device's code at an instant.
pub type DemoCodes = Box<dyn Fn(chrono::DateTime<chrono::Utc>) -> String + Send + Sync>;

/// How long shutdown waits for the audit writer to record the session's end and seal.
const SHUTDOWN_BOUND: Duration = Duration::from_secs(20);

/// How often a long-running action's status is read while the console follows it.
pub const WATCH_EVERY: Duration = Duration::from_secs(2);

pub struct Runner {
    /// How often a long-running action's status is read ([`WATCH_EVERY`]; tests set less).
    pub watch_every: Duration,
    tx: UnboundedSender<Incoming>,
    session: Option<Session>,
    ctx: Context,
    pending: Option<ResolvedProfile>,
    /// The audit writer: a thread of its own that opens the current profile's log and does
    /// every write, fsync and seal, in the order asked (the draw loop never waits on them).
    audit: AuditWriter,
    /// The profile whose log the writer was asked to open, and where that log is.
    audit_profile: Option<String>,
    audit_path: Option<String>,
    /// A confirmed action waiting for a step-up MFA code.
    pending_action: Option<Box<crate::guard::Confirmed>>,
    /// Actions in flight: aborted at shutdown so their outcome is recorded as interrupted.
    running: Vec<tokio::task::JoinHandle<()>>,
    /// The cancel flags of selective redrives running: quitting sets them and lets each run
    /// finish its batch in hand, give back what it holds and journal its end.
    redrive_cancels: Vec<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// The drill running (`:drill`): its answers and its stop.
    drill: Option<super::drill_task::DrillHandle>,
    /// The running progressive load of each kind: its generation (set to `u64::MAX` when a
    /// newer load replaces it, which stops it) and the channel that moves rows to the front.
    progressive: std::collections::HashMap<
        Kind,
        (
            Arc<std::sync::atomic::AtomicU64>,
            crate::cloud::progressive::Priority,
        ),
    >,
    /// The credentials the KMS audit sealer signs with: always the current session's, so seals
    /// keep working after re-authentication and step-up.
    sealer_credentials: crate::session::secret::CurrentCredentials,
}

/// Where a profile's audit log lives: the profile's `audit_dir`, `PHI_CONSOLE_AUDIT_DIR`, or
/// the default state directory.
pub fn audit_config(
    profile: &str,
    settings: &SettingsFile,
) -> Result<AuditConfig, crate::audit::AuditError> {
    // The same rule as `phi-console key …`, so one profile has one log.
    crate::guard::audit_config(profile, &settings.for_profile(profile), None)
}

pub fn session_info(s: &Session, settings: &SettingsFile, force_read_only: bool) -> SessionInfo {
    let p = settings.for_profile(&s.profile);
    SessionInfo {
        profile: s.profile.clone(),
        caller_arn: s.caller.arn.clone(),
        account: s.caller.account.clone(),
        region: s.region.clone(),
        read_only: force_read_only || p.read_only || s.read_only,
        production: p.production,
        expires: s.expires,
        mfa_at: s.mfa_at,
        source_identity: s.source_identity.clone(),
        idle_lock_minutes: p.idle_lock_minutes,
        audit_path: None,
        audit_error: None,
        require_reason: p.require_reason,
        utc: p.utc,
        posture_limits: crate::posture::Limits::from_settings(&p),
        safe_attributes: p.safe_attributes,
    }
}

/// Where one progressive load reports: its kind and generation, the runner's channel, and the
/// generation the runner wants now (the load stops when it is replaced).
struct Reporter<'a> {
    kind: Kind,
    generation: u64,
    tx: &'a UnboundedSender<Incoming>,
    current: &'a std::sync::atomic::AtomicU64,
}

impl Reporter<'_> {
    fn send(&self, m: Msg) {
        let _ = self.tx.send(Incoming::Msg(m));
    }
    fn live(&self) -> bool {
        self.current.load(std::sync::atomic::Ordering::Relaxed) == self.generation
    }
    fn failed(&self, error: String) -> Msg {
        Msg::Failed {
            kind: self.kind,
            generation: self.generation,
            error,
        }
    }
    fn listed(&self, payload: Payload, pending: Vec<String>, append: bool) -> Msg {
        Msg::Listed {
            kind: self.kind,
            generation: self.generation,
            payload,
            pending,
            append,
        }
    }
    /// A batch as a Details message, `wrap` making the payload of what succeeded.
    fn details<T>(
        &self,
        batch: Vec<crate::cloud::progressive::Fetched<T>>,
        wrap: impl Fn(Vec<T>) -> Payload,
        done: bool,
    ) -> Msg {
        let mut ok = Vec::new();
        let mut failed = Vec::new();
        for (id, r) in batch {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => failed.push((id, e.to_string())),
            }
        }
        Msg::Details {
            kind: self.kind,
            generation: self.generation,
            payload: wrap(ok),
            failed,
            done,
        }
    }

    /// The per-item calls (`ids`, then those `more` brings, until it closes), their results
    /// sent in batches while this load is the one wanted; the last message, `done`, is the
    /// caller's.
    async fn stream_details<T: Send + 'static>(
        &self,
        ids: Vec<String>,
        more: Option<tokio::sync::mpsc::UnboundedReceiver<Vec<String>>>,
        concurrency: usize,
        detail: impl Fn(String) -> crate::cloud::progressive::DetailFuture<T> + Send + Sync + 'static,
        priority: tokio::sync::mpsc::UnboundedReceiver<Vec<String>>,
        wrap: impl Fn(Vec<T>) -> Payload + Copy,
    ) {
        crate::cloud::progressive::fetch(ids, concurrency, detail, priority, more, |batch| {
            if !self.live() {
                return false;
            }
            self.send(self.details(batch, wrap, false));
            true
        })
        .await;
    }

    /// Names at once (`placeholders`), then their details, then done.
    async fn listed_then_details<T: Send + 'static>(
        &self,
        ids: Vec<String>,
        placeholders: Payload,
        concurrency: usize,
        detail: impl Fn(String) -> crate::cloud::progressive::DetailFuture<T> + Send + Sync + 'static,
        priority: tokio::sync::mpsc::UnboundedReceiver<Vec<String>>,
        wrap: impl Fn(Vec<T>) -> Payload + Copy,
    ) {
        self.send(self.listed(placeholders, ids.clone(), false));
        self.stream_details(ids, None, concurrency, detail, priority, wrap)
            .await;
        if self.live() {
            self.send(self.details(Vec::new(), wrap, true));
        }
    }
}

/// A progressive list: the list call, its names sent at once (`Msg::Listed`), then the
/// per-item calls with bounded concurrency, rows on screen first, their results sent in
/// batches (`Msg::Details`), the last one marked done. Stops when a newer load replaces it.
pub async fn load_progressive(
    cloud: Cloud,
    kind: Kind,
    generation: u64,
    current: Arc<std::sync::atomic::AtomicU64>,
    priority: tokio::sync::mpsc::UnboundedReceiver<Vec<String>>,
    tx: UnboundedSender<Incoming>,
) {
    use crate::cloud::progressive::DetailFuture;
    let r = Reporter {
        kind,
        generation,
        tx: &tx,
        current: &current,
    };
    let conc = cloud.concurrency();
    match kind {
        Kind::Queues => {
            // Names page by page: the first page shows after one round trip, later pages join
            // the list (and the back of the calls) as they come.
            let region = cloud.region().to_string();
            let (more_tx, more_rx) = tokio::sync::mpsc::unbounded_channel();
            let lister = cloud.clone();
            let tx2 = tx.clone();
            let current2 = current.clone();
            let listing = tokio::spawn(async move {
                let r = Reporter {
                    kind,
                    generation,
                    tx: &tx2,
                    current: &current2,
                };
                let mut first = true;
                lister
                    .queue_url_pages(None, |page| {
                        let placeholders = page
                            .iter()
                            .map(|u| crate::cloud::sqs::Queue::pending(u, &region))
                            .collect();
                        r.send(r.listed(Payload::Queues(placeholders), page.clone(), !first));
                        first = false;
                        let _ = more_tx.send(page);
                    })
                    .await
            });
            let c = cloud.clone();
            r.stream_details(
                Vec::new(),
                Some(more_rx),
                (conc / crate::cloud::sqs::CALLS_PER_QUEUE).max(1),
                move |url: String| -> DetailFuture<crate::cloud::sqs::Queue> {
                    let c = c.clone();
                    Box::pin(async move { c.queue(&url).await })
                },
                priority,
                Payload::Queues,
            )
            .await;
            if !r.live() {
                // Replaced: the rest of the pages are not wanted either.
                listing.abort();
                return;
            }
            match listing.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return r.send(r.failed(e.to_string())),
                Err(e) => return r.send(r.failed(format!("listing the queues stopped: {e}"))),
            }
            if r.live() {
                r.send(r.details(Vec::new(), Payload::Queues, true));
            }
        }
        Kind::Topics => {
            let arns = match cloud.list_topic_arns().await {
                Ok(a) => a,
                Err(e) => return r.send(r.failed(e.to_string())),
            };
            let placeholders = arns
                .iter()
                .map(|a| crate::cloud::sns::Topic::pending(a))
                .collect();
            let c = cloud.clone();
            r.listed_then_details(
                arns,
                Payload::Topics(placeholders),
                conc,
                move |arn: String| -> DetailFuture<crate::cloud::sns::Topic> {
                    let c = c.clone();
                    Box::pin(async move { c.topic(&arn).await })
                },
                priority,
                Payload::Topics,
            )
            .await
        }
        Kind::Keys => {
            let (refs, aliases) = match tokio::try_join!(cloud.list_key_refs(), cloud.aliases()) {
                Ok(x) => x,
                Err(e) => return r.send(r.failed(e.to_string())),
            };
            let placeholders = refs
                .iter()
                .map(|(id, arn)| crate::cloud::kms::Key::pending(id, arn, &aliases))
                .collect();
            let ids = refs.into_iter().map(|(id, _)| id).collect();
            let aliases = Arc::new(aliases);
            let c = cloud.clone();
            r.listed_then_details(
                ids,
                Payload::Keys(placeholders),
                conc,
                move |id: String| -> DetailFuture<crate::cloud::kms::Key> {
                    let c = c.clone();
                    let a = aliases.clone();
                    Box::pin(async move { c.key_with_aliases(id, a).await })
                },
                priority,
                Payload::Keys,
            )
            .await
        }
        Kind::Points => {
            let vaults = match cloud.list_backup_vaults().await {
                Ok(v) => v,
                Err(e) => return r.send(r.failed(e.to_string())),
            };
            let names = vaults.into_iter().map(|v| v.name).collect();
            let c = cloud.clone();
            // The list call gives vault names, not points: each vault's points arrive whole.
            let flat = |v: Vec<Vec<crate::cloud::backup::RecoveryPoint>>| {
                Payload::Points(v.into_iter().flatten().collect())
            };
            r.listed_then_details(
                names,
                Payload::Points(Vec::new()),
                conc,
                move |name: String| -> DetailFuture<Vec<crate::cloud::backup::RecoveryPoint>> {
                    let c = c.clone();
                    Box::pin(async move { c.list_recovery_points(&name).await })
                },
                priority,
                flat,
            )
            .await
        }
        other => match load(cloud, other, None).await {
            Ok(payload) => r.send(Msg::Loaded {
                kind: other,
                generation,
                payload,
            }),
            Err(e) => r.send(r.failed(e.to_string())),
        },
    }
}

pub use super::data::load;

impl Runner {
    pub fn new(tx: UnboundedSender<Incoming>, ctx: Context) -> Runner {
        Runner {
            watch_every: WATCH_EVERY,
            audit: AuditWriter::spawn(tx.clone()),
            tx,
            session: None,
            ctx,
            pending: None,
            audit_profile: None,
            audit_path: None,
            pending_action: None,
            sealer_credentials: Default::default(),
            running: Vec::new(),
            redrive_cancels: Vec::new(),
            drill: None,
            progressive: Default::default(),
        }
    }

    /// `--demo` only: the message carrying the demo device's code at `now`.
    pub fn demo_code(&self, now: chrono::DateTime<chrono::Utc>) -> Option<Msg> {
        self.ctx.demo_code.as_ref().map(|f| Msg::DemoCode(f(now)))
    }

    fn send(&self, m: Msg) {
        let _ = self.tx.send(Incoming::Msg(m));
    }

    /// Starts: asks for an MFA code when the profile needs one, else opens the session.
    pub fn start(&mut self) {
        let p = self.ctx.initial.clone();
        self.begin_login(p);
    }

    fn begin_login(&mut self, p: ResolvedProfile) {
        let purpose = MfaPurpose::Login {
            profile: p.name.clone(),
        };
        if session::needs_code(&p) {
            self.pending = Some(p);
            self.send(Msg::AskCode(purpose));
        } else {
            self.open(p, None, purpose);
        }
    }

    fn open(&self, p: ResolvedProfile, code: Option<String>, purpose: MfaPurpose) {
        let tx = self.tx.clone();
        let mut options = self.ctx.options.clone();
        options.read_only =
            self.ctx.force_read_only || self.ctx.settings.for_profile(&p.name).read_only;
        tokio::spawn(async move {
            match session::open(&p, code.as_deref(), &options).await {
                Ok(s) => {
                    tracing::info!(profile = %s.profile, caller = %s.caller.arn, "session opened");
                    let _ = tx.send(Incoming::Session(Box::new(s), purpose));
                }
                Err(e) => {
                    tracing::warn!(profile = %p.name, error = %e, "session not opened");
                    let _ = tx.send(Incoming::Msg(Msg::SessionFailed(e.to_string())));
                }
            }
        });
    }

    /// Stores a new session, records it in the audit log, and tells the state about it.
    pub fn session_ready(&mut self, s: Session, purpose: MfaPurpose) -> Msg {
        let previous = self
            .session
            .as_ref()
            .map(|p| (p.profile.clone(), p.region.clone()));
        if previous
            .as_ref()
            .is_some_and(|(p, r)| *p != s.profile || *r != s.region)
        {
            // Another account or region: the old session's lists are not wanted any more, so
            // their per-item calls (with the old credentials) stop now, not at the next visit.
            self.stop_progressive();
        }
        self.audit_session(&s, &purpose, previous);
        let mut info = session_info(&s, &self.ctx.settings, self.ctx.force_read_only);
        // Where the log is; whether it opened comes later from the writer
        // (`Msg::AuditUnavailable`), and `update` keeps that for the profile's later sessions.
        info.audit_path = self.audit_path.clone();
        self.session = Some(s);
        self.pending = None;
        if purpose == MfaPurpose::StepUp
            && let Some(c) = self.pending_action.take()
        {
            self.run_action(c);
        }
        Msg::SessionOpened {
            info: Box::new(info),
            purpose,
        }
    }

    /// Stops every running progressive load (at its next batch) and forgets them.
    fn stop_progressive(&mut self) {
        for (_, (current, _)) in self.progressive.drain() {
            current.store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
        }
    }

    fn policy(&self, s: &Session) -> crate::guard::Policy {
        crate::guard::Policy::from_settings(
            &self.ctx.settings.for_profile(&s.profile),
            self.ctx.force_read_only || s.read_only,
        )
    }

    /// Runs a confirmed action: the audit intent first (fail closed), the call, the outcome.
    fn run_action(&mut self, confirmed: Box<crate::guard::Confirmed>) {
        let Some(session) = self.session.clone() else {
            self.send(Msg::ActionDone(Err("not signed in".into())));
            return;
        };
        let policy = self.policy(&session);
        match crate::guard::preflight(&session, &policy, &confirmed) {
            Err(crate::guard::GuardError::StepUpRequired { .. }) => {
                self.pending_action = Some(confirmed);
                self.send(Msg::AskCode(MfaPurpose::StepUp));
                return;
            }
            Err(e) => {
                self.send(Msg::ActionDone(Err(e.to_string())));
                return;
            }
            Ok(()) => {}
        }
        let tx = self.tx.clone();
        let writer = self.audit.clone();
        let watch_every = self.watch_every;
        let redrive = (confirmed.plan().operation.spec.id
            == crate::guard::redrive::REDRIVE_MESSAGES.id)
            .then(|| self.redrive_context(&session))
            .flatten();
        if let Some(ctx) = &redrive {
            self.redrive_cancels
                .retain(|c| std::sync::Arc::strong_count(c) > 1);
            self.redrive_cancels.push(ctx.cancel.clone());
        }
        self.running.retain(|h| !h.is_finished());
        self.running.push(tokio::spawn(async move {
            // The log once every record asked before is written (fail closed: no log, no call).
            let log = match writer.current().await {
                Ok(log) => log,
                Err(why) => {
                    let _ = tx.send(Incoming::Msg(Msg::ActionDone(Err(format!(
                        "{why}: the action did not run"
                    )))));
                    return;
                }
            };
            let result = match redrive {
                // A selective redrive runs inside the call: its progress is a task line.
                Some(mut ctx) => {
                    let id = confirmed
                        .plan()
                        .operation
                        .text("run")
                        .unwrap_or_default()
                        .to_string();
                    let summary = confirmed.plan().summary.clone();
                    let _ = tx.send(Incoming::Msg(Msg::TaskStarted {
                        id: id.clone(),
                        summary: summary.clone(),
                    }));
                    let (t2, id2) = (tx.clone(), id.clone());
                    ctx.progress = Some(std::sync::Arc::new(move |p| {
                        let _ = t2.send(Incoming::Msg(Msg::TaskProgress {
                            id: id2.clone(),
                            line: format!(
                                "looked at {}, matched {}, moved {}, left {}, not moved {}",
                                p.looked_at, p.matched, p.moved, p.left, p.failed
                            ),
                        }));
                    }));
                    let r = crate::guard::redrive::scope(
                        ctx.clone(),
                        crate::guard::execute(&log, &session, &policy, *confirmed),
                    )
                    .await;
                    let end = match (ctx.take_report(), &r) {
                        (Some(report), Ok(_)) if report.progress.failed == 0 => {
                            Ok(format!("{summary}: {}", crate::guard::redrive::summary(&report)))
                        }
                        (Some(report), _) => Err(format!(
                            "{summary}: {}",
                            crate::guard::redrive::summary(&report)
                        )),
                        (None, Err(e)) => Err(e.to_string()),
                        (None, Ok(_)) => Err(format!("{summary}: no report")),
                    };
                    let _ = tx.send(Incoming::Msg(Msg::TaskEnded { id, result: end }));
                    r
                }
                None => crate::guard::execute(&log, &session, &policy, *confirmed).await,
            };
            // The action's records sealed at once, by the writer (a KMS call) — in the log
            // they went to, even if a profile switch has closed it since.
            writer.seal_log(log.clone());
            // A long-running action: say it started, then follow it to its end (progress to
            // the screen; start and end recorded, linked to the intent). Quitting stops the
            // watch (recorded as stopped); the task itself runs on in AWS.
            let started = result.as_ref().ok().and_then(|d| {
                d.started()
                    .filter(|_| d.outcome_warning.is_none())
                    .map(|st| (st, d.summary.clone()))
            });
            if let Some((started, summary)) = started {
                let id = started.handle.id.clone();
                let _ = tx.send(Incoming::Msg(Msg::TaskStarted {
                    id: id.clone(),
                    summary: summary.clone(),
                }));
                let _ = tx.send(Incoming::Msg(Msg::ActionDone(Ok(format!(
                    "{summary}: started (request {}); following it",
                    result.as_ref().map(|d| d.request_id.as_str()).unwrap_or("")
                )))));
                let cloud = session.cloud();
                let (t2, id2) = (tx.clone(), id.clone());
                let watched = crate::guard::watch::watch(
                    &log,
                    &cloud,
                    &started,
                    crate::guard::watch::Pace::Every(watch_every),
                    |p| {
                        let _ = t2.send(Incoming::Msg(Msg::TaskProgress {
                            id: id2.clone(),
                            line: p.line(),
                        }));
                    },
                )
                .await;
                writer.seal_log(log.clone());
                // A restore test: its RTO (start to COMPLETED), against the objective.
                let measured = match &watched {
                    Ok(w) if started.handle.kind == crate::guard::HandleKind::RestoreJob
                        && w.ending == crate::guard::watch::Ending::Finished =>
                    {
                        crate::guard::restore::rto_words(&cloud, &started.handle.id, policy.restore_objectives.0)
                            .await
                            .map(|m| format!("; {m}"))
                            .unwrap_or_default()
                    }
                    _ => String::new(),
                };
                let end = match watched {
                    Ok(w) if w.record_warnings.is_empty() => Ok(format!(
                        "{summary}: {} ({}){measured}",
                        match w.ending {
                            crate::guard::watch::Ending::Finished => "ended",
                            crate::guard::watch::Ending::Cancelled => "cancelled",
                            crate::guard::watch::Ending::Stopped => "no longer followed",
                        },
                        w.last.line()
                    )),
                    Ok(w) => Err(format!(
                        "{summary}: {}; {}",
                        w.last.line(),
                        w.record_warnings.join("; ")
                    )),
                    Err(e) => Err(format!("{summary}: {e}")),
                };
                let _ = tx.send(Incoming::Msg(Msg::TaskEnded { id, result: end }));
                return;
            }
            let msg = match result {
                // The call ran but its outcome is not in the audit log: an error, saying so.
                Ok(done) if done.outcome_warning.is_some() => Err(format!(
                    "{} (request {}); {}",
                    done.summary,
                    done.request_id,
                    done.outcome_warning.unwrap_or_default()
                )),
                Ok(done) => {
                    tracing::info!(action = %done.action, request_id = %done.request_id, "guarded action succeeded");
                    // A local command has no request id; a note says what happened.
                    let mut line = done.summary.clone();
                    if !done.request_id.is_empty() {
                        line.push_str(&format!(" (request {})", done.request_id));
                    }
                    if let Some(n) = &done.note {
                        line.push_str(&format!(": {n}"));
                    }
                    Ok(line)
                }
                Err(crate::guard::GuardError::Failed {
                    outcome_warning: Some(w),
                    action,
                    target,
                    error,
                    ..
                }) => Err(format!("{action} on {target} failed: {error}; {w}")),
                Err(e) => Err(e.to_string()),
            };
            let _ = tx.send(Incoming::Msg(Msg::ActionDone(msg)));
        }));
    }

    /// Where a selective redrive of this session keeps its journal: `redrive/` beside the
    /// profile's audit log (None when the log's place is not known: the action then refuses).
    fn redrive_context(&self, session: &Session) -> Option<crate::guard::redrive::Context> {
        let config = audit_config(&session.profile, &self.ctx.settings).ok()?;
        let dir = config.path.parent()?.join("redrive");
        Some(crate::guard::redrive::Context::new(dir))
    }

    /// Runs a confirmed peek on a task: the guard repeats the read-only gate and records the
    /// intent before the receive (fail closed: without the audit log, nothing is received).
    fn run_peek(&mut self, generation: u64, plan: crate::guard::peek::PeekPlan) {
        let failed = move |error: String| Msg::Failed {
            kind: Kind::Messages,
            generation,
            error,
        };
        let Some(session) = self.session.clone() else {
            self.send(failed("not signed in".into()));
            return;
        };
        let policy = self.policy(&session);
        let tx = self.tx.clone();
        let writer = self.audit.clone();
        self.running.retain(|h| !h.is_finished());
        self.running.push(tokio::spawn(async move {
            let log = match writer.current().await {
                Ok(log) => log,
                Err(why) => {
                    let _ = tx.send(Incoming::Msg(failed(format!(
                        "{why}: nothing was received"
                    ))));
                    return;
                }
            };
            let r = crate::guard::peek::execute(&log, &session, &policy, &plan).await;
            writer.seal_log(log.clone());
            let msg = match r {
                Ok(v) => Msg::Loaded {
                    kind: Kind::Messages,
                    generation,
                    payload: Payload::Messages(v),
                },
                Err(e) => failed(e.to_string()),
            };
            let _ = tx.send(Incoming::Msg(msg));
        }));
    }

    /// Asks the writer to open the profile's audit log when the profile changed (ending and
    /// sealing the previous one) and to record the session event. Nothing here waits on the
    /// disk or KMS.
    fn audit_session(
        &mut self,
        s: &Session,
        purpose: &MfaPurpose,
        previous: Option<(String, String)>,
    ) {
        self.sealer_credentials.set(&s.credentials);
        if self.audit_profile.as_deref() != Some(s.profile.as_str()) {
            self.audit_profile = Some(s.profile.clone());
            let base = audit_config(&s.profile, &self.ctx.settings);
            self.audit_path = base.as_ref().ok().map(|c| c.path.display().to_string());
            let settings = self.ctx.settings.for_profile(&s.profile);
            // The sealer signs with whatever the current session's credentials are.
            let config = s
                .sdk_config()
                .to_builder()
                .credentials_provider(self.sealer_credentials.provider())
                .build();
            // A read-only session changes nothing in the account: no SNS Publish, so no seal
            // notices (its seals, GenerateMac calls, are read-only events in CloudTrail and
            // still happen).
            let read_only = self.ctx.force_read_only || s.read_only || settings.read_only;
            self.audit.open(
                s.profile.clone(),
                Box::new(move || {
                    // No seal inside an append: the writer seals once the records asked are
                    // written, and at the session's end.
                    let mut c = base?.seal_every(0);
                    if let Some(key) = settings.audit_hmac_key
                        && let Ok(sealer) = KmsSealer::from_config(&config, key)
                    {
                        c = c.sealer(Arc::new(sealer));
                    }
                    if let Some(topic) = settings.audit_witness_topic
                        && !read_only
                        && let Ok(witness) = crate::audit::SnsWitness::from_config(&config, topic)
                    {
                        c = c.witness(Arc::new(witness));
                    }
                    Ok(c)
                }),
            );
        }
        let (event, details) = match (purpose, &previous) {
            (MfaPurpose::Login { .. }, Some((p, r))) if *p != s.profile || *r != s.region => (
                SessionEvent::ProfileSwitch,
                serde_json::json!({ "from_profile": p, "from_region": r }),
            ),
            (MfaPurpose::Login { .. }, _) => (
                SessionEvent::Start,
                serde_json::json!({ "mfa": s.mfa_at.is_some() }),
            ),
            (MfaPurpose::Reauth, _) => (
                SessionEvent::MfaStepUp,
                serde_json::json!({ "for": "session renewal" }),
            ),
            (MfaPurpose::StepUp, _) => (
                SessionEvent::MfaStepUp,
                serde_json::json!({ "for": "guarded action" }),
            ),
            (MfaPurpose::Unlock, _) => (SessionEvent::IdleUnlock, serde_json::json!({})),
            // A drill renews (and records) its own session; the console's is not asked to.
            (MfaPurpose::Drill, _) => (
                SessionEvent::MfaStepUp,
                serde_json::json!({ "for": "drill" }),
            ),
        };
        self.audit
            .session(Some(Box::new(s.clone())), event, details);
    }

    /// Ends the session (quit, SIGHUP, SIGTERM): an action still in flight is stopped and its
    /// outcome recorded as `interrupted` (whether AWS applied it is unknown, and the record
    /// says so); then the writer records the session end and seals, after everything asked
    /// before (bounded: a KMS that does not answer does not keep the console open).
    pub async fn shutdown(&mut self) {
        // A selective redrive is told to stop and given the CLI's grace to end cleanly.
        let runs = self
            .redrive_cancels
            .drain(..)
            .filter(|c| std::sync::Arc::strong_count(c) > 1)
            .inspect(|c| c.store(true, std::sync::atomic::Ordering::SeqCst))
            .count();
        // A drill is told to stop: the call in flight gets its grace, the state is kept.
        let drills = self
            .drill
            .take()
            .map(|d| d.stop("stopped: the console quit"))
            .is_some();
        let grace = if runs > 0 || drills {
            crate::guard::cli::RUN_STOP_GRACE
        } else {
            Duration::ZERO
        };
        let until = tokio::time::Instant::now() + grace;
        for mut h in self.running.drain(..) {
            if tokio::time::timeout_at(until, &mut h).await.is_ok() {
                continue;
            }
            h.abort();
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
        if !self.audit.shutdown(SHUTDOWN_BOUND).await {
            tracing::error!(
                "the audit writer did not finish in time: the session end may not be recorded or sealed"
            );
        }
    }

    pub fn execute(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::Quit => return false,
            Effect::Plan(request) => match &self.session {
                Some(s) => {
                    let s = s.clone();
                    let policy = self.policy(&s);
                    // Restore tests take the profile's restore role, check command and
                    // cleanup command unless the form names others (the CLI's drills do the
                    // same).
                    let request = crate::guard::restore::with_settings(
                        request,
                        &self.ctx.settings.for_profile(&s.profile),
                    );
                    let tx = self.tx.clone();
                    let redrive = self.redrive_context(&s);
                    tokio::spawn(async move {
                        let planned = match redrive {
                            Some(ctx) => {
                                crate::guard::redrive::scope(
                                    ctx,
                                    crate::guard::plan(&s, &policy, &request),
                                )
                                .await
                            }
                            None => crate::guard::plan(&s, &policy, &request).await,
                        };
                        let r = planned.map(Box::new).map_err(|e| e.to_string());
                        let _ = tx.send(Incoming::Msg(Msg::Planned(r)));
                    });
                }
                None => self.send(Msg::Planned(Err("not signed in".into()))),
            },
            Effect::Execute(confirmed) => self.run_action(confirmed),
            Effect::CancelPending => self.pending_action = None,
            Effect::PrepareDrill {
                runbook,
                report_dir,
            } => match &self.session {
                Some(s) => super::drill_task::prepare(
                    self.tx.clone(),
                    s.clone(),
                    self.ctx.settings.for_profile(&s.profile),
                    runbook,
                    report_dir,
                ),
                None => self.send(Msg::DrillPrepared(Err("not signed in".into()))),
            },
            Effect::RunDrill { prepared, reason } => {
                let Some(session) = self.session.clone() else {
                    self.send(Msg::DrillPrepared(Err("not signed in".into())));
                    return true;
                };
                // One drill at a time: one that ended has dropped its answers.
                if self.drill.as_ref().is_some_and(|d| !d.answers.is_closed()) {
                    self.send(Msg::Flash(super::state::Flash::Error(
                        "a drill is already running: wait for it to end".into(),
                    )));
                    return true;
                }
                let (task, handle) = super::drill_task::run(super::drill_task::Start {
                    tx: self.tx.clone(),
                    writer: self.audit.clone(),
                    policy: self.policy(&session),
                    settings: self.ctx.settings.for_profile(&session.profile),
                    session,
                    prepared: *prepared,
                    reason,
                    poll: self.watch_every,
                });
                self.running.retain(|h| !h.is_finished());
                self.running.push(task);
                self.drill = Some(handle);
            }
            Effect::StopDrill => {
                if let Some(d) = self.drill.take() {
                    d.stop("stopped by the operator (:drill stop)");
                }
            }
            Effect::DrillAnswer(answer) => {
                if let Some(d) = &self.drill {
                    let _ = d.answers.send(answer);
                }
            }
            Effect::PlanPeek { queue_url, seen } => match self.session.clone() {
                Some(session) => {
                    let policy = self.policy(&session);
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        let r = crate::guard::peek::plan(&session, &policy, &queue_url, seen)
                            .await
                            .map(Box::new)
                            .map_err(|e| e.to_string());
                        let _ = tx.send(Incoming::Msg(Msg::PeekPlanned(r)));
                    });
                }
                None => self.send(Msg::PeekPlanned(Err("not signed in".into()))),
            },
            Effect::Peek { generation, plan } => self.run_peek(generation, *plan),
            Effect::Reveal {
                queue_arn,
                message_id,
                shown,
            } => {
                // Fail closed: no record, no body. The writer answers `Msg::Revealed` once the
                // record is on disk (or with why it is not). A raw reveal is its own kind of
                // record (`message_body_raw`, masked=false), so the log tells them apart.
                use crate::app::resources::messages::Shown;
                let masked = shown == Shown::Masked;
                let action = crate::audit::Action::new("sqs:ReceiveMessage")
                    .target(queue_arn)
                    .param("message_id", message_id.clone())
                    .param("masked", masked);
                let (event, key) = if masked {
                    ("message_body", "v")
                } else {
                    ("message_body_raw", "V")
                };
                let mut reveal = crate::audit::Reveal::event(event, action);
                reveal.how.push(crate::audit::Confirmation::keypress(key));
                if !self.audit.reveal(reveal, message_id, shown) {
                    self.send(Msg::Revealed(Err(
                        "the audit writer has stopped: the reveal cannot be recorded".into(),
                    )));
                }
            }
            Effect::RecordIdleLock => {
                self.audit
                    .session(None, SessionEvent::IdleLock, serde_json::json!({}));
            }
            Effect::Load {
                kind: Kind::Audit,
                generation,
                ..
            } => {
                let tx = self.tx.clone();
                let writer = self.audit.clone();
                tokio::spawn(async move {
                    // The log as it is after the records asked before this view.
                    let path = writer.current().await.ok().map(|l| l.path().to_path_buf());
                    let read = tokio::task::spawn_blocking(move || {
                        path.map(|p| {
                            std::fs::read(p).map(|bytes| {
                                let (records, _) = crate::audit::read_records(&bytes);
                                records.into_iter().map(|(_, r)| r).collect()
                            })
                        })
                    });
                    let msg = match read.await.ok().flatten() {
                        Some(Ok(records)) => Msg::Loaded {
                            kind: Kind::Audit,
                            generation,
                            payload: Payload::Audit(records),
                        },
                        Some(Err(e)) => Msg::Failed {
                            kind: Kind::Audit,
                            generation,
                            error: format!("cannot read the audit log: {e}"),
                        },
                        None => Msg::Failed {
                            kind: Kind::Audit,
                            generation,
                            error: "there is no audit log for this session".into(),
                        },
                    };
                    let _ = tx.send(Incoming::Msg(msg));
                });
            }
            Effect::Load {
                kind, generation, ..
            } if kind.progressive() => {
                let Some(s) = &self.session else { return true };
                let (priority, rx) = crate::cloud::progressive::Priority::channel();
                let current = Arc::new(std::sync::atomic::AtomicU64::new(generation));
                if let Some((old, _)) = self.progressive.insert(kind, (current.clone(), priority)) {
                    // A newer load of the same kind: the older fetch stops at its next batch.
                    old.store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
                }
                tokio::spawn(load_progressive(
                    s.cloud(),
                    kind,
                    generation,
                    current,
                    rx,
                    self.tx.clone(),
                ));
            }
            Effect::Prioritize {
                kind,
                generation,
                ids,
            } => {
                if let Some((current, priority)) = self.progressive.get(&kind)
                    && current.load(std::sync::atomic::Ordering::Relaxed) == generation
                {
                    priority.bump(ids);
                }
            }
            Effect::Load {
                kind,
                generation,
                events,
            } => {
                let Some(s) = &self.session else { return true };
                let cloud = s.cloud();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let msg = match load(cloud, kind, events).await {
                        Ok(payload) => Msg::Loaded {
                            kind,
                            generation,
                            payload,
                        },
                        Err(e) => {
                            tracing::warn!(?kind, error = %e, "load failed");
                            Msg::Failed {
                                kind,
                                generation,
                                error: e.to_string(),
                            }
                        }
                    };
                    let _ = tx.send(Incoming::Msg(msg));
                });
            }
            Effect::Authenticate { purpose, code } => match (&purpose, &self.session) {
                // Step-up renews the session like a re-authentication.
                (MfaPurpose::Login { .. }, _) => match self.pending.clone() {
                    Some(p) => self.open(p, Some(code), purpose),
                    None => self.send(Msg::SessionFailed(
                        "no profile is waiting for a code".into(),
                    )),
                },
                (_, Some(s)) => {
                    let s = s.clone();
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        match s.renew(&code).await {
                            Ok(n) => {
                                let _ = tx.send(Incoming::Session(Box::new(n), purpose));
                            }
                            Err(e) => {
                                let _ = tx.send(Incoming::Msg(Msg::SessionFailed(e.to_string())));
                            }
                        }
                    });
                }
                (_, None) => self.send(Msg::SessionFailed("there is no session to renew".into())),
            },
            Effect::SwitchProfile { profile } => {
                let env = aws_types::os_shim_internal::Env::real();
                let resolved = match &self.ctx.profiles {
                    Some(set) => {
                        session::profile::resolve(set, &profile, &env).map_err(|e| e.to_string())
                    }
                    None => Err(
                        "no AWS config files were loaded (demo mode has only the demo profile)"
                            .to_string(),
                    ),
                };
                match resolved {
                    Ok(mut p) => {
                        if let Some(url) = &self.ctx.options.endpoint_url {
                            p.endpoint_url = Some(url.clone());
                        }
                        self.begin_login(p)
                    }
                    Err(e) => self.send(Msg::Flash(Flash::Error(e))),
                }
            }
            Effect::SwitchRegion { region } => match &self.session {
                Some(s) => {
                    let n = s.with_region(&region);
                    let _ = self.tx.send(Incoming::Session(
                        Box::new(n),
                        MfaPurpose::Login {
                            profile: s.profile.clone(),
                        },
                    ));
                }
                None => self.send(Msg::Flash(Flash::Error("sign in first".into()))),
            },
        }
        true
    }
}

/// Reads terminal events on a thread of its own (crossterm's read blocks).
pub fn spawn_input(tx: UnboundedSender<Incoming>) {
    std::thread::spawn(move || {
        while let Ok(ev) = crossterm::event::read() {
            if tx.send(Incoming::Term(ev)).is_err() {
                break;
            }
        }
    });
}

/// What the runner draws with: the views (`ui::Views`), passed in by whoever starts the
/// console, so `app` never imports `ui` (the views read `State`; the state knows no view).
pub trait Screen: Sync {
    /// Draws one frame of the state.
    fn draw(&self, f: &mut ratatui::Frame, s: &State);
    /// List rows per page on a terminal of this size.
    fn page_rows(&self, area: ratatui::layout::Rect) -> usize;
}

/// The loop. Returns when the operator quits. It changes the state only through `update`.
pub async fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    state: &mut State,
    runner: &mut Runner,
    mut rx: UnboundedReceiver<Incoming>,
    screen: &dyn Screen,
) -> std::io::Result<()>
where
    B::Error: Into<std::io::Error>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let frame = Duration::from_millis(16);
    let mut dirty = true;
    let mut next_frame = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next_frame), if dirty => {
                // The page size follows the terminal's: told to `update` before the frame.
                let size = terminal.size().map_err(Into::into)?;
                let page_rows = screen.page_rows(ratatui::layout::Rect::new(0, 0, size.width, size.height));
                if page_rows != state.page_rows {
                    for e in update(state, Msg::Resized { page_rows }) {
                        if !runner.execute(e) { return Ok(()); }
                    }
                }
                terminal.draw(|f| screen.draw(f, state)).map_err(Into::into)?;
                dirty = false;
                next_frame = tokio::time::Instant::now() + frame;
            }
            _ = tick.tick() => {
                let now = chrono::Utc::now();
                if let Some(m) = runner.demo_code(now) {
                    update(state, m);
                }
                for e in update(state, Msg::Tick(now)) {
                    if !runner.execute(e) { return Ok(()); }
                }
                dirty = true;
            }
            Some(incoming) = rx.recv() => {
                let msg = match incoming {
                    Incoming::Term(crossterm::event::Event::Key(k)) if k.kind != crossterm::event::KeyEventKind::Release => Some(Msg::Key(k)),
                    Incoming::Term(crossterm::event::Event::Resize(..)) => None,
                    Incoming::Term(_) => continue,
                    Incoming::Msg(m) => Some(m),
                    Incoming::Session(s, purpose) => Some(runner.session_ready(*s, purpose)),
                };
                if let Some(m) = msg {
                    for e in update(state, m) {
                        if !runner.execute(e) { return Ok(()); }
                    }
                }
                if state.quit { return Ok(()); }
                dirty = true;
            }
        }
    }
}

/// Waits for the console's startup work while keeping the screen alive: the spinner turns,
/// a resize redraws, Ctrl-C (or `q`) quits (`None`), and other key presses are kept for the
/// sign-in prompt. Returns the startup result and the keys typed meanwhile.
pub async fn await_startup<B: Backend, F, T>(
    terminal: &mut Terminal<B>,
    state: &mut State,
    rx: &mut UnboundedReceiver<Incoming>,
    startup: F,
    screen: &dyn Screen,
) -> anyhow::Result<Option<(T, Vec<crossterm::event::Event>)>>
where
    B::Error: std::error::Error + Send + Sync + 'static,
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
    let mut task = tokio::spawn(startup);
    let mut early = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            done = &mut task => {
                let started = done.map_err(|e| anyhow::anyhow!("the startup task failed: {e}"))??;
                // Keys already queued when the task finished (select! picks a ready branch at
                // random) were typed before the ones replayed after the prompt opens: keep
                // them in order here, or they reach the normal mode ahead of the prompt.
                while let Ok(incoming) = rx.try_recv() {
                    if let Incoming::Term(Event::Key(k)) = incoming
                        && k.kind != KeyEventKind::Release
                    {
                        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
                            return Ok(None);
                        }
                        if early.len() < 64 {
                            early.push(Event::Key(k));
                        }
                    }
                }
                return Ok(Some((started, early)));
            }
            _ = tick.tick() => {
                let _ = update(state, Msg::Tick(chrono::Utc::now()));
            }
            Some(incoming) = rx.recv() => match incoming {
                Incoming::Term(Event::Key(k)) if k.kind != KeyEventKind::Release => {
                    let quit = (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
                        || (k.code == KeyCode::Char('q') && k.modifiers.is_empty() && early.is_empty());
                    if quit {
                        task.abort();
                        return Ok(None);
                    }
                    if early.len() < 64 {
                        early.push(Event::Key(k));
                    }
                }
                _ => {}
            },
        }
        terminal
            .draw(|f| screen.draw(f, state))
            .map_err(anyhow::Error::from)?;
    }
}

pub fn channel() -> (UnboundedSender<Incoming>, UnboundedReceiver<Incoming>) {
    unbounded_channel()
}

#[cfg(test)]
mod startup_tests {
    use super::*;
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

    fn key(c: char) -> Incoming {
        Incoming::Term(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )))
    }

    /// Keys queued when the startup finishes are kept, in order, for the sign-in prompt (they
    /// were left in the channel, ahead of the prompt, about half the time); a queued Ctrl-C
    /// still quits.
    #[tokio::test]
    async fn keys_queued_as_startup_finishes_wait_for_the_prompt_in_order() {
        let theme = crate::theme::Theme::default();
        for round in 0..20 {
            let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
            let mut state = State::new(
                chrono::Utc::now(),
                super::super::keymap::Keymap::default_keymap(),
                theme.clone(),
            );
            let (tx, mut rx) = channel();
            tx.send(key('1')).unwrap();
            let tx2 = tx.clone();
            // The rest are typed while the startup finishes.
            let startup = async move {
                for c in ['2', '3', '4'] {
                    tx2.send(key(c)).unwrap();
                }
                Ok(())
            };
            let (_, early) = await_startup(
                &mut terminal,
                &mut state,
                &mut rx,
                startup,
                &crate::ui::Views,
            )
            .await
            .unwrap()
            .expect("started");
            let typed: String = early
                .iter()
                .map(|e| match e {
                    Event::Key(k) => match k.code {
                        KeyCode::Char(c) => c,
                        _ => '?',
                    },
                    _ => '?',
                })
                .collect();
            assert_eq!(typed, "1234", "round {round}");
            assert!(
                rx.try_recv().is_err(),
                "nothing left behind (round {round})"
            );
        }
        let mut terminal = Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        let mut state = State::new(
            chrono::Utc::now(),
            super::super::keymap::Keymap::default_keymap(),
            theme,
        );
        let (tx, mut rx) = channel();
        let startup = async move {
            tx.send(Incoming::Term(Event::Key(KeyEvent::new(
                KeyCode::Char('c'),
                KeyModifiers::CONTROL,
            ))))
            .unwrap();
            Ok(())
        };
        // Whichever branch select! takes, a Ctrl-C typed during startup quits.
        let r = await_startup(
            &mut terminal,
            &mut state,
            &mut rx,
            startup,
            &crate::ui::Views,
        )
        .await
        .unwrap();
        assert!(r.is_none());
    }
}
