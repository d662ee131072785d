//! The audit writer: one thread that owns the current profile's audit log and does every open,
//! write, fsync and seal the runner asks for, in the order asked. The draw loop only sends
//! requests; what the operator must see (a reveal allowed or refused, a record that could not
//! be written, a seal that failed, a log that cannot be opened) comes back to `update` as a
//! `Msg` on the runner's channel.
//!
//! Fail closed: a reveal's `Msg::Revealed(Ok)` is sent only after its record is on disk; an
//! action gets the log (`AuditWriter::current`) only after every record asked before it is
//! written, and writes its intent before its call (`guard::execute`).

use super::run::Incoming;
use super::state::Flash;
use super::update::Msg;
use crate::app::resources::messages::Shown;
use crate::audit::{AuditConfig, AuditError, AuditLog, Reveal, SessionEvent};
use crate::session::Session;
use serde_json::Value;
use std::sync::Arc;
use std::sync::mpsc::{self, TryRecvError};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

/// Builds a profile's audit configuration (its sealer and witness clients too) on the writer.
pub type BuildConfig = Box<dyn FnOnce() -> Result<AuditConfig, AuditError> + Send>;

/// Records written in a row before a seal is made even though more requests wait.
const MAX_UNSEALED: u32 = 16;

enum Request {
    /// Ends and seals the log that is open (a profile switch), then opens this profile's one.
    Open { profile: String, build: BuildConfig },
    /// A session event; with a session, the log's who and where are set from it first.
    Session {
        session: Option<Box<Session>>,
        event: SessionEvent,
        details: Value,
    },
    /// A reveal: `Msg::Revealed(Ok((message_id, shown)))` once it is on disk, else why not.
    Reveal {
        reveal: Reveal,
        message_id: String,
        shown: Shown,
    },
    /// An action wrote records of its own into this log: seal it (the open one with the next
    /// seal; an earlier profile's log, which the action began in before a switch, at once).
    SealLog(Arc<AuditLog>),
    /// The open log, after everything asked before.
    Current(oneshot::Sender<Result<Arc<AuditLog>, String>>),
    /// Records the session's end, seals, and stops.
    Shutdown(oneshot::Sender<()>),
}

/// The runner's handle on the writer thread (cheap to clone: a channel sender).
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Request>,
}

impl AuditWriter {
    /// Starts the writer thread; its messages go to `out`. It stops at `shutdown`, or when
    /// every handle is dropped (then it seals what it wrote, without a session end).
    pub fn spawn(out: UnboundedSender<Incoming>) -> AuditWriter {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || {
                Worker {
                    out,
                    log: None,
                    error: None,
                    unsealed: 0,
                }
                .run(rx)
            })
            .map(|_| ())
            .unwrap_or_else(|e| {
                // Without the thread every request fails (closed): no action, no reveal.
                tracing::error!(error = %e, "the audit writer thread could not start");
            });
        AuditWriter { tx }
    }

    fn ask(&self, r: Request) -> bool {
        self.tx.send(r).is_ok()
    }

    /// Opens `profile`'s log (after ending and sealing the one open).
    pub fn open(&self, profile: String, build: BuildConfig) {
        if !self.ask(Request::Open { profile, build }) {
            tracing::error!("the audit writer has stopped: the log was not opened");
        }
    }

    /// Records a session event (nothing when no log is open: the header says so).
    pub fn session(&self, session: Option<Box<Session>>, event: SessionEvent, details: Value) {
        if !self.ask(Request::Session {
            session,
            event,
            details,
        }) {
            tracing::error!(event = event.as_str(), "the audit writer has stopped");
        }
    }

    /// Records a reveal; the answer is a `Msg::Revealed`. False when the writer has stopped
    /// (then nothing will answer: the caller says the body stays hidden).
    #[must_use]
    pub fn reveal(&self, reveal: Reveal, message_id: String, shown: Shown) -> bool {
        self.ask(Request::Reveal {
            reveal,
            message_id,
            shown,
        })
    }

    /// Seals `log`, the log an action wrote to: the open log, or one a profile switch has
    /// since ended (its late records then end sealed too).
    pub fn seal_log(&self, log: Arc<AuditLog>) {
        let _ = self.ask(Request::SealLog(log));
    }

    /// The open log once every request sent before this one is done, or why there is none.
    pub async fn current(&self) -> Result<Arc<AuditLog>, String> {
        let (tx, rx) = oneshot::channel();
        if !self.ask(Request::Current(tx)) {
            return Err(stopped());
        }
        rx.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Records the session's end and seals, waiting at most `bound` for the writer to drain.
    /// False if it did not finish in time.
    pub async fn shutdown(&self, bound: Duration) -> bool {
        let (tx, rx) = oneshot::channel();
        if !self.ask(Request::Shutdown(tx)) {
            // The writer is gone: the session's end and its seal were not written.
            tracing::error!("the audit writer had stopped: the session end was not recorded");
            return false;
        }
        matches!(tokio::time::timeout(bound, rx).await, Ok(Ok(())))
    }
}

fn stopped() -> String {
    "the audit writer has stopped".into()
}

struct Worker {
    out: UnboundedSender<Incoming>,
    log: Option<Arc<AuditLog>>,
    /// Why the log could not be opened.
    error: Option<String>,
    /// Records written since the last seal.
    unsealed: u32,
}

impl Worker {
    fn run(mut self, rx: mpsc::Receiver<Request>) {
        let mut next = None;
        loop {
            let request = match next.take() {
                Some(r) => r,
                None => match rx.recv() {
                    Ok(r) => r,
                    Err(_) => {
                        // Every handle dropped without a shutdown: seal what was written.
                        self.seal();
                        return;
                    }
                },
            };
            if let Request::Shutdown(done) = request {
                self.end();
                let _ = done.send(());
                return;
            }
            self.handle(request);
            if self.unsealed > 0 {
                // One seal covers the records asked meanwhile: they are written first (a
                // reveal waits for its record, not for a seal), up to a bound.
                match rx.try_recv() {
                    Ok(r) if self.unsealed < MAX_UNSEALED => next = Some(r),
                    Ok(r) => {
                        self.seal();
                        next = Some(r);
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => self.seal(),
                }
            }
        }
    }

    fn send(&self, m: Msg) {
        let _ = self.out.send(Incoming::Msg(m));
    }

    fn flash(&self, text: String) {
        self.send(Msg::Flash(Flash::Error(text)));
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Open { profile, build } => self.open(profile, build),
            Request::Session {
                session,
                event,
                details,
            } => self.session(session, event, details),
            Request::Reveal {
                reveal,
                message_id,
                shown,
            } => {
                let result = match &self.log {
                    Some(log) => log
                        .reveal(reveal)
                        .map(|_| (message_id, shown))
                        .map_err(|e| format!("the reveal cannot be recorded: {e}")),
                    None => Err(self.why_closed()),
                };
                if result.is_ok() {
                    self.unsealed += 1;
                }
                self.send(Msg::Revealed(result));
            }
            Request::SealLog(log) => {
                if self.log.as_ref().is_some_and(|l| Arc::ptr_eq(l, &log)) {
                    self.unsealed += 1;
                } else {
                    seal_at_end(&log);
                }
            }
            Request::Current(reply) => {
                let _ = reply.send(self.log.clone().ok_or_else(|| self.why_closed()));
            }
            Request::Shutdown(_) => {}
        }
    }

    fn why_closed(&self) -> String {
        self.error
            .clone()
            .unwrap_or_else(|| "the audit log is not open".into())
    }

    fn open(&mut self, profile: String, build: BuildConfig) {
        if let Some(old) = self.log.take() {
            let _ = old.session(
                SessionEvent::End,
                serde_json::json!({ "reason": "profile switch" }),
            );
            seal_at_end(&old);
            self.unsealed = 0;
        }
        match build().and_then(AuditLog::open) {
            Ok(log) => {
                self.log = Some(Arc::new(log));
                self.error = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "audit log unavailable");
                let why = format!("audit log unavailable ({e}): actions are disabled");
                self.error = Some(why.clone());
                self.send(Msg::AuditUnavailable { profile, why });
            }
        }
    }

    fn session(&mut self, session: Option<Box<Session>>, event: SessionEvent, details: Value) {
        let Some(log) = self.log.clone() else { return };
        if let Some(s) = &session {
            crate::guard::record_context(&log, s);
        }
        if let Some(e) = log.take_seal_failure() {
            self.flash(format!("the audit log could not be sealed with KMS: {e}"));
        }
        match log.session(event, details) {
            Ok(_) => self.unsealed += 1,
            Err(e) => self.flash(format!("cannot write the audit log: {e}")),
        }
        if event == SessionEvent::Start
            && let Ok(open) = crate::audit::unfinished(log.path())
            && let Some(u) = open.first()
        {
            self.flash(format!(
                "{} unfinished action(s) from an earlier session, e.g. {} on {} at {} — see :audit",
                open.len(),
                u.action,
                u.targets.join(", "),
                u.time
            ));
        }
    }

    /// Seals the log (a KMS call), telling the operator when it fails.
    fn seal(&mut self) {
        self.unsealed = 0;
        let Some(log) = &self.log else { return };
        let failure = match log.seal() {
            Err(e) => Some(e.to_string()),
            Ok(_) => log.take_seal_failure().map(|e| format!("audit seal: {e}")),
        };
        if let Some(m) = failure {
            tracing::warn!(error = %m, "audit seal failed");
            self.flash(m);
        }
    }

    /// The session's end, then a seal (every session ends with one).
    fn end(&mut self) {
        if let Some(log) = self.log.take() {
            let _ = log.session(SessionEvent::End, serde_json::json!({}));
            seal_at_end(&log);
        }
    }
}

/// Seals a log at the end of its session.
fn seal_at_end(log: &AuditLog) {
    if let Err(e) = log.seal() {
        tracing::error!(error = %e, "the audit log could not be sealed at the end of the session");
    }
}
