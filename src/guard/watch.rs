//! Following a long-running action to its end. A guarded action whose spec is `long_running`
//! returns a [`Handle`] from its call ([`Executed::handle`](super::Executed)); [`watch`] polls
//! the handle's status until it reaches a terminal state, reports each [`Progress`] through a
//! callback, and records in the audit log, each linked to the intent
//! that started it: a `start` task record (the handle), then exactly one of `finish` (the
//! final state), `cancel` (it ended cancelled: the final state) or `stopped`
//! (the console stopped following it — the future dropped, the pacer gone, or the status
//! could not be read: the state last seen).
//!
//! The watch only observes: cancelling a task is a guarded action of its own (an intent and an
//! outcome of its own, behind the same gates), never a side effect of watching.
//!
//! When to poll is the caller's: [`Pace::Every`] in the console, [`Pace::Ticks`] where a test
//! (or a UI) decides — no timer decides anything in tests.

use super::{Executed, GuardError, Handle, HandleKind};
use crate::audit::{Action, AuditLog, Task, TaskEvent};
use crate::cloud::{Cloud, CloudError};
use serde::Serialize;
use serde_json::json;
use std::time::Duration;
use tokio::sync::mpsc;

/// How many status reads in a row may fail before the watch gives up (`stopped`).
pub const MAX_POLL_FAILURES: u32 = 3;
/// The console's polling interval.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// Where a long-running task is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Units done (messages moved, percent restored), when the service says.
    pub done: Option<u64>,
    /// Units in all, when known.
    pub total: Option<u64>,
    /// The service's status word (`RUNNING`, `COMPLETED`, …).
    pub status: String,
    /// A failure reason, or a note from the watcher (a status read that failed).
    pub message: Option<String>,
    /// Seconds since the task started (restore jobs: since its CreationDate; to its
    /// CompletionDate once ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<i64>,
}

impl Progress {
    fn unknown() -> Progress {
        Progress {
            done: None,
            total: None,
            status: "UNKNOWN".into(),
            message: None,
            elapsed_s: None,
        }
    }
    /// "RUNNING 30/100"
    pub fn line(&self) -> String {
        let mut s = self.status.clone();
        match (self.done, self.total) {
            (Some(d), Some(t)) => s.push_str(&format!(" {d}/{t}")),
            (Some(d), None) => s.push_str(&format!(" {d}")),
            _ => {}
        }
        if let Some(e) = self.elapsed_s {
            s.push_str(&format!(" {}m{:02}s", e / 60, e % 60));
        }
        if let Some(m) = &self.message {
            s.push_str(&format!(" ({m})"));
        }
        s
    }
}

/// What a guarded action started, to watch: the intent that started it, the action, the handle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Started {
    pub intent_id: String,
    /// `sqs:StartMessageMoveTask`.
    pub action: String,
    pub handle: Handle,
}

impl Executed {
    /// What this action started, when it is long-running.
    pub fn started(&self) -> Option<Started> {
        self.handle.as_ref().map(|h| Started {
            intent_id: self.intent_id.clone(),
            action: self.action.clone(),
            handle: h.clone(),
        })
    }
}

/// When to read the status next.
pub enum Pace {
    /// Every interval (the console).
    Every(Duration),
    /// At each message; when every sender is gone, the watch stops (`stopped`).
    Ticks(mpsc::UnboundedReceiver<()>),
}

impl Pace {
    /// Waits for the next poll; `false` when there will be none.
    async fn next(&mut self) -> bool {
        match self {
            Pace::Every(d) => {
                tokio::time::sleep(*d).await;
                true
            }
            Pace::Ticks(rx) => rx.recv().await.is_some(),
        }
    }
}

/// How a watch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The task ended by itself (completed, failed).
    Finished,
    /// It ended cancelled (a cancel is a guarded action of its own, with its own intent and
    /// outcome; the watch only sees the task end).
    Cancelled,
    /// The console stopped following it (the pacer is gone); it may still run.
    Stopped,
}

/// The end of a watch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Watched {
    pub handle: Handle,
    pub ending: Ending,
    /// The final state (or the last seen, when stopped).
    pub last: Progress,
    /// Task records that could not be written (the task went on regardless).
    pub record_warnings: Vec<String>,
}

/// What the status reader remembers between polls.
#[derive(Default)]
struct Memo {
    /// A move task's start time, seen while it was running (its handle disappears from the
    /// listing once it ends).
    started_ms: Option<i64>,
}

/// Which listed move task is the one `h` started: by its handle while it runs; once ended
/// (the listing drops the handle), by the start time seen while it ran; ended before it was
/// ever seen, the newest ended task that started after the newest one listed before the call
/// (`Handle::after_ms`) — never an older task that ended before ours began.
fn ours<'t>(
    tasks: &'t [crate::cloud::sqs::MoveTask],
    h: &Handle,
    memo: &Memo,
) -> Option<&'t crate::cloud::sqs::MoveTask> {
    let started = |t: &crate::cloud::sqs::MoveTask| t.started.map(|s| s.timestamp_millis());
    tasks
        .iter()
        .find(|t| t.handle.as_deref() == Some(h.id.as_str()))
        .or_else(|| {
            memo.started_ms
                .and_then(|ms| tasks.iter().find(|t| started(t) == Some(ms)))
        })
        .or_else(|| {
            memo.started_ms
                .is_none()
                .then(|| {
                    tasks.iter().find(|t| {
                        t.handle.is_none()
                            && started(t).is_some_and(|ms| h.after_ms.is_none_or(|a| ms > a))
                    })
                })
                .flatten()
        })
}

async fn status(
    cloud: &Cloud,
    h: &Handle,
    memo: &mut Memo,
) -> Result<(Progress, bool), CloudError> {
    match h.kind {
        HandleKind::MessageMoveTask => {
            let tasks = cloud.list_message_move_tasks(&h.resource).await?;
            let started = |t: &crate::cloud::sqs::MoveTask| t.started.map(|s| s.timestamp_millis());
            let ours = ours(&tasks, h, memo);
            let Some(t) = ours else {
                return Ok((
                    Progress {
                        message: Some("not listed yet".into()),
                        ..Progress::unknown()
                    },
                    false,
                ));
            };
            if t.handle.is_some() {
                memo.started_ms = started(t);
            }
            Ok((
                Progress {
                    done: Some(t.moved),
                    total: t.to_move,
                    status: t.status.clone(),
                    message: t.failure.clone(),
                    elapsed_s: None,
                },
                t.is_terminal(),
            ))
        }
        HandleKind::RestoreJob => {
            let j = match cloud.describe_restore_job(&h.id).await {
                Ok(j) => j,
                // Just started: not visible yet (eventual consistency).
                Err(CloudError::NotFound { .. }) => {
                    return Ok((
                        Progress {
                            message: Some("not found yet".into()),
                            ..Progress::unknown()
                        },
                        false,
                    ));
                }
                Err(e) => return Err(e),
            };
            let pct = j
                .percent_done
                .as_deref()
                .and_then(|p| p.trim_end_matches('%').trim().parse::<f64>().ok())
                .map(|p| p.clamp(0.0, 100.0) as u64);
            let elapsed_s = j.created.map(|c| {
                (j.completed.unwrap_or_else(|| cloud.now()) - c)
                    .num_seconds()
                    .max(0)
            });
            Ok((
                Progress {
                    done: pct,
                    total: pct.map(|_| 100),
                    status: j.status.clone(),
                    message: j.status_message.clone(),
                    elapsed_s,
                },
                j.is_finished(),
            ))
        }
    }
}

/// Runs an audit write off the async worker (one fsync) on a multi-threaded runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

fn details(
    h: &Handle,
    state_key: &str,
    p: Option<&Progress>,
    extra: Option<&str>,
) -> serde_json::Value {
    let mut v = json!({ "handle": h });
    if let Some(p) = p {
        v[state_key] = p.status.clone().into();
        if let Some(d) = p.done {
            v["done"] = d.into();
        }
        if let Some(t) = p.total {
            v["total"] = t.into();
        }
        if let Some(e) = p.elapsed_s {
            v["elapsed_s"] = e.into();
        }
        let message = match (&p.message, extra) {
            (Some(m), Some(x)) => Some(format!("{m}; {x}")),
            (m, x) => m.clone().or(x.map(str::to_string)),
        };
        if let Some(m) = message {
            v["message"] = m.into();
        }
    } else if let Some(x) = extra {
        v["message"] = x.into();
    }
    v
}

/// The task records of one watch; records `stopped` if dropped before the end.
struct Recorder<'a> {
    log: &'a AuditLog,
    started: &'a Started,
    last: Option<Progress>,
    ended: bool,
    warnings: Vec<String>,
}

impl Recorder<'_> {
    fn write(&mut self, event: TaskEvent, request_ids: Vec<String>, details: serde_json::Value) {
        let task = Task {
            intent_id: self.started.intent_id.clone(),
            event,
            action: Action::new(self.started.action.clone())
                .target(self.started.handle.resource.clone()),
            request_ids,
            details,
        };
        if let Err(e) = blocking(|| self.log.task(task)) {
            self.warnings.push(format!(
                "the {} record of {} {} could not be written to the audit log ({e}); the task is not affected",
                event.as_str(),
                self.started.handle.kind.as_str(),
                self.started.handle.id
            ));
        }
    }

    fn end(&mut self, event: TaskEvent, request_ids: Vec<String>, extra: Option<&str>) {
        self.ended = true;
        let key = if event == TaskEvent::Stopped {
            "state"
        } else {
            "final_state"
        };
        let d = details(&self.started.handle, key, self.last.as_ref(), extra);
        self.write(event, request_ids, d);
    }
}

impl Drop for Recorder<'_> {
    fn drop(&mut self) {
        if !self.ended {
            self.end(
                TaskEvent::Stopped,
                Vec::new(),
                Some("the console stopped following the task before its end"),
            );
            for w in &self.warnings {
                tracing::error!("{w}");
            }
        }
    }
}

/// Follows `started` to its end (see the module documentation). `report` gets every status
/// read. Errors: the status could not be read [`MAX_POLL_FAILURES`] times in a row
/// ([`GuardError::LiveState`]; `stopped` is recorded).
pub async fn watch(
    log: &AuditLog,
    cloud: &Cloud,
    started: &Started,
    mut pace: Pace,
    mut report: impl FnMut(&Progress),
) -> Result<Watched, GuardError> {
    let h = &started.handle;
    let mut rec = Recorder {
        log,
        started,
        last: None,
        ended: false,
        warnings: Vec::new(),
    };
    rec.write(TaskEvent::Start, Vec::new(), json!({ "handle": h }));
    let mut memo = Memo::default();
    let mut failures = 0;
    loop {
        match status(cloud, h, &mut memo).await {
            Ok((p, terminal)) => {
                failures = 0;
                report(&p);
                rec.last = Some(p.clone());
                if terminal {
                    let (event, ending) = if p.status.eq_ignore_ascii_case("CANCELLED") {
                        (TaskEvent::Cancel, Ending::Cancelled)
                    } else {
                        (TaskEvent::Finish, Ending::Finished)
                    };
                    rec.end(event, Vec::new(), None);
                    return Ok(Watched {
                        handle: h.clone(),
                        ending,
                        last: p,
                        record_warnings: std::mem::take(&mut rec.warnings),
                    });
                }
            }
            Err(e) => {
                failures += 1;
                let p = Progress {
                    message: Some(format!("the status could not be read: {e}")),
                    ..rec.last.clone().unwrap_or_else(Progress::unknown)
                };
                report(&p);
                if failures >= MAX_POLL_FAILURES {
                    let why =
                        format!("the status could not be read {failures} times in a row: {e}");
                    rec.end(TaskEvent::Stopped, Vec::new(), Some(&why));
                    return Err(GuardError::LiveState {
                        target: format!("{} {}", h.kind.as_str(), h.id),
                        error: e,
                    });
                }
            }
        }
        if !pace.next().await {
            return Ok(stopped(&mut rec, h));
        }
    }
}

fn stopped(rec: &mut Recorder<'_>, h: &Handle) -> Watched {
    rec.end(
        TaskEvent::Stopped,
        Vec::new(),
        Some("the console stopped following the task before its end"),
    );
    Watched {
        handle: h.clone(),
        ending: Ending::Stopped,
        last: rec.last.clone().unwrap_or_else(Progress::unknown),
        record_warnings: std::mem::take(&mut rec.warnings),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(handle: Option<&str>, started_s: i64, status: &str) -> crate::cloud::sqs::MoveTask {
        crate::cloud::sqs::MoveTask {
            handle: handle.map(str::to_string),
            status: status.into(),
            started: chrono::DateTime::from_timestamp(started_s, 0),
            ..Default::default()
        }
    }

    /// An older task that ended before ours started is never taken for ours.
    #[test]
    fn an_older_ended_task_is_never_taken_for_ours() {
        let h = Handle {
            kind: HandleKind::MessageMoveTask,
            id: "new".into(),
            resource: "arn:aws:sqs:us-east-1:123456789012:q-dlq".into(),
            after_ms: Some(1_000_000),
        };
        let memo = Memo::default();
        // Ours is not listed yet; only last week's completed task is.
        let old = [task(None, 1_000, "COMPLETED")];
        assert!(ours(&old, &h, &memo).is_none());
        // Ours ended before it was ever seen running: it started after the older one.
        let both = [
            task(None, 2_000, "CANCELLED"),
            task(None, 1_000, "COMPLETED"),
        ];
        assert_eq!(
            ours(&both, &h, &memo).map(|t| t.status.as_str()),
            Some("CANCELLED")
        );
        // Running: by its handle.
        let running = [task(Some("new"), 2_000, "RUNNING")];
        assert_eq!(
            ours(&running, &h, &memo).map(|t| t.status.as_str()),
            Some("RUNNING")
        );
        // Seen running, then ended: by its start time.
        let memo = Memo {
            started_ms: Some(2_000_000),
        };
        let ended = [task(None, 2_000, "COMPLETED"), task(None, 3_000, "RUNNING")];
        assert_eq!(
            ours(&ended, &h, &memo).map(|t| t.started),
            Some(ended[0].started)
        );
    }

    #[test]
    fn progress_reads_as_one_line() {
        let p = Progress {
            done: Some(30),
            total: Some(100),
            status: "RUNNING".into(),
            message: None,
            elapsed_s: None,
        };
        assert_eq!(p.line(), "RUNNING 30/100");
        let t = Progress {
            elapsed_s: Some(125),
            ..p.clone()
        };
        assert_eq!(t.line(), "RUNNING 30/100 2m05s");
        let p = Progress {
            message: Some("x".into()),
            total: None,
            ..p
        };
        assert_eq!(p.line(), "RUNNING 30 (x)");
    }

    #[test]
    fn task_details_carry_the_handle_and_the_state() {
        let h = Handle {
            kind: HandleKind::MessageMoveTask,
            id: "t1".into(),
            resource: "arn:aws:sqs:us-east-1:123456789012:q-dlq".into(),
            after_ms: None,
        };
        let p = Progress {
            done: Some(5),
            total: Some(5),
            status: "COMPLETED".into(),
            message: None,
            elapsed_s: None,
        };
        let d = details(&h, "final_state", Some(&p), None);
        assert_eq!(d["handle"]["kind"], "message_move_task");
        assert_eq!(d["handle"]["id"], "t1");
        assert_eq!(d["final_state"], "COMPLETED");
        assert_eq!(
            (d["done"].as_u64(), d["total"].as_u64()),
            (Some(5), Some(5))
        );
        assert!(d.get("message").is_none());
        let d = details(&h, "state", None, Some("stopped"));
        assert_eq!(d["message"], "stopped");
    }
}
