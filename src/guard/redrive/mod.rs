//! Selective redrive (`sqs.redrive_messages`): move only the dead-lettered claims that match a
//! filter — message attributes, a time window, a file of claim ids — from a DLQ to a queue,
//! message by message, when AWS's own move task (which takes everything) will not do.
//!
//! It is one guarded action: planned (the DLQ, the destination, the same pre-checks as a move
//! task, what the journal holds from earlier runs), confirmed, recorded as one intent, then
//! run by [`engine`] with a [`journal`] of every step. Its outcome record carries the counts.
//! The journal directory, the progress callback and the cancel flag come from the caller
//! through [`Context`] (a task-local): without one the action does not run.
//!
//! docs/REDRIVE.md tells the operator's side: filters, the journal, resume, the duplicate
//! window, FIFO queues.

pub mod engine;
pub mod filter;
pub mod journal;

use super::action::{ActionSpec, CallFuture, Called, ParamKind, ParamSpec};
use super::sqs::{Destination, MoveState, checks};
use super::{Check, Fact, GuardError, Operation, Plan, Policy, Refusal, Request, Target};
use crate::cloud::{Cloud, CloudError};
use crate::session::Session;
use engine::{Ending, Job, RunReport};
use filter::Filter;
use serde_json::json;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `destination`: where the matching messages go (empty: the DLQ's one source queue).
pub const DESTINATION: ParamSpec = ParamSpec {
    name: "destination",
    label: "destination",
    kind: ParamKind::Text { max_chars: 1024 },
    default: Some(""),
    help: "the queue to move the matching messages to, its URL or ARN (empty: the DLQ's source queue, when it has exactly one)",
};

/// `max_messages_per_second`.
pub const RATE: ParamSpec = ParamSpec {
    name: "max_messages_per_second",
    label: "rate",
    kind: ParamKind::Number {
        min: 1,
        max: 3000,
        unit: " messages a second",
    },
    default: Some("100"),
    help: "at most this many messages a second, 1 to 3,000 (empty: 100)",
};

/// `where`: `attr=value` conditions, all of which must hold.
pub const WHERE: ParamSpec = ParamSpec {
    name: "where",
    label: "conditions",
    kind: ParamKind::List {
        max_items: filter::MAX_WHERES,
        item_max_chars: 1300,
    },
    default: Some(""),
    help: "message attribute conditions, attribute=value, separated by commas (e.g. error_code=VALIDATION_TIMEOUT, stage=fraud); all must hold",
};

/// `since`: sent at or after this time.
pub const SINCE: ParamSpec = ParamSpec {
    name: "since",
    label: "since",
    kind: ParamKind::Text { max_chars: 64 },
    default: Some(""),
    help: "only messages sent at or after this time (2026-11-30T08:00:00Z or 2026-11-30; empty: no start)",
};

/// `until`: sent before this time.
pub const UNTIL: ParamSpec = ParamSpec {
    name: "until",
    label: "until",
    kind: ParamKind::Text { max_chars: 64 },
    default: Some(""),
    help: "only messages sent before this time (2026-11-30T12:00:00Z or 2026-12-01; empty: no end)",
};

/// `claim_ids`: only messages whose `claim_id` attribute is listed.
pub const IDS: ParamSpec = ParamSpec {
    name: "claim_ids",
    label: "claim ids",
    kind: ParamKind::List {
        max_items: filter::MAX_IDS,
        item_max_chars: 256,
    },
    default: Some(""),
    help: "only these claim ids (the claim_id attribute), separated by commas or lines (empty: any)",
};

/// `sqs.redrive_messages`: the selective redrive.
pub static REDRIVE_MESSAGES: ActionSpec = ActionSpec {
    id: "sqs.redrive_messages",
    api_action: "sqs:SendMessageBatch",
    title: "move the matching messages of a DLQ to a queue (selective redrive)",
    target: "SQS dead-letter queue: its queue URL",
    params: &[DESTINATION, RATE, WHERE, SINCE, UNTIL, IDS],
    long_running: false,
    check_target: super::sqs::check_queue_url,
    check_request: check_filter,
    plan: |s, p, r| Box::pin(plan(s, p, r)),
    call: call_run,
};

impl Request {
    /// A selective redrive of the DLQ at `queue_url` (add the filter with `param`).
    pub fn redrive_messages(queue_url: impl Into<String>) -> Request {
        Request::new(&REDRIVE_MESSAGES, queue_url)
    }
}

/// Seconds a received message stays hidden while the run holds it.
pub const VISIBILITY_SECONDS: i32 = 300;

/// What the caller gives a run: where journals live, where progress goes, how to cancel, and
/// where the report comes back.
#[derive(Clone)]
pub struct Context {
    pub journal_dir: PathBuf,
    pub progress: Option<engine::ProgressFn>,
    pub cancel: Arc<AtomicBool>,
    pub report: Arc<Mutex<Option<RunReport>>>,
    /// Workers and retry pause (tests and benchmarks set them; the defaults otherwise).
    pub workers: usize,
    pub backoff: Duration,
    /// Seconds a receive waits for messages before the DLQ counts as drained.
    pub wait: i32,
}

impl Context {
    pub fn new(journal_dir: PathBuf) -> Context {
        Context {
            journal_dir,
            progress: None,
            cancel: Arc::new(AtomicBool::new(false)),
            report: Arc::new(Mutex::new(None)),
            workers: engine::WORKERS,
            backoff: Duration::from_millis(200),
            wait: 1,
        }
    }
    /// The report of the run made in this context.
    pub fn take_report(&self) -> Option<RunReport> {
        self.report.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

tokio::task_local! {
    static CONTEXT: Context;
}

/// Runs `f` (a plan or an execute of this action) with `context`.
pub async fn scope<F: std::future::Future>(context: Context, f: F) -> F::Output {
    CONTEXT.scope(context, f).await
}

fn context() -> Option<Context> {
    CONTEXT.try_with(Context::clone).ok()
}

/// The filter a request asks for (each part checked with a message that names the fix).
pub fn filter_of(value: impl Fn(&str) -> Option<super::ParamValue>) -> Result<Filter, String> {
    let list = |name: &str| {
        value(name)
            .and_then(|v| v.as_list().map(<[String]>::to_vec))
            .unwrap_or_default()
    };
    let text = |name: &str| {
        value(name)
            .and_then(|v| v.as_text().map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty())
    };
    let wheres = list(WHERE.name)
        .iter()
        .map(|w| filter::parse_where(w))
        .collect::<Result<Vec<_>, _>>()?;
    let since = text(SINCE.name)
        .map(|t| filter::parse_time(&t))
        .transpose()
        .map_err(|e| format!("--since: {e}"))?;
    let until = text(UNTIL.name)
        .map(|t| filter::parse_time(&t))
        .transpose()
        .map_err(|e| format!("--until: {e}"))?;
    let ids = list(IDS.name);
    let ids = if ids.is_empty() {
        None
    } else {
        Some(filter::parse_ids(&ids.join("\n"))?)
    };
    let f = Filter {
        wheres,
        since,
        until,
        ids,
    };
    f.check()?;
    Ok(f)
}

fn check_filter(request: &Request) -> Result<(), GuardError> {
    filter_of(|n| request.value(n))
        .map(|_| ())
        .map_err(GuardError::InvalidRequest)
}

/// The journal of this DLQ in this context's directory.
fn journal_path(ctx: &Context, session: &Session, queue_arn: &str) -> PathBuf {
    journal::path_for(&ctx.journal_dir, &session.profile, queue_arn)
}

async fn plan(session: &Session, policy: &Policy, request: &Request) -> Result<Plan, GuardError> {
    let Some(ctx) = context() else {
        return Err(GuardError::InvalidRequest(
            "a selective redrive needs its journal directory: run it from the console or `phi-console queue redrive` (nothing was read or changed)".into(),
        ));
    };
    let filter = filter_of(|n| request.value(n)).map_err(GuardError::InvalidRequest)?;
    let named = request
        .value(DESTINATION.name)
        .and_then(|v| v.as_text().map(|t| t.trim().to_string()))
        .unwrap_or_default();
    let state = super::sqs::read_move_state(session, request.target(), &named).await?;
    let mut refusals = checks(&state);
    refusals.extend(selective_checks(&state));
    if !refusals.is_empty() {
        return Err(GuardError::Refused {
            action: request.action().to_string(),
            target: state.queue.name.clone(),
            refusals,
        });
    }
    let destination = match &state.destination {
        Destination::Given { queue: Some(q), .. } => (**q).clone(),
        Destination::Sources(qs) if qs.len() == 1 => qs[0].clone(),
        // The checks refuse every other case; kept as an error, never a panic.
        _ => {
            return Err(GuardError::InvalidRequest(
                "no destination queue could be chosen: give one with --to".into(),
            ));
        }
    };
    let queue = &state.queue;
    let path = journal_path(&ctx, session, &queue.arn);
    let earlier = journal::read(&path).map_err(|e| GuardError::InvalidRequest(e.to_string()))?;
    let rate = request
        .value(RATE.name)
        .and_then(|v| v.as_number())
        .unwrap_or(100);
    let run = crate::audit::writer::new_id();
    let mut operation = Operation::new(&REDRIVE_MESSAGES, queue.arn.clone())
        .param(DESTINATION.name, destination.arn.clone())
        .param(RATE.name, rate)
        .param("run", run.clone())
        .param("dlq_url", queue.url.clone())
        .param("destination_url", destination.url.clone())
        .param("journal", path.display().to_string());
    for p in [WHERE, SINCE, UNTIL, IDS] {
        if let Some(v) = request.value(p.name) {
            operation = operation.param(p.name, v);
        }
    }
    let summary = format!(
        "move the messages of {} that match ({}) to {}",
        queue.name,
        filter.describe(),
        destination.name
    );
    let call = format!(
        "ReceiveMessage on {} (10 at a time, hidden {VISIBILITY_SECONDS} s), SendMessageBatch to {}, DeleteMessageBatch of what was sent; at most {rate} messages a second",
        queue.arn, destination.arn
    );
    let target = Target {
        arn: queue.arn.clone(),
        name: queue.name.clone(),
    };
    let mut plan = Plan::new(session, policy, operation, summary, target, call);
    plan.confirm_also = vec![queue.arn.clone()];
    plan.facts.extend([
        Fact {
            label: "queue".into(),
            value: queue.arn.clone(),
        },
        Fact {
            label: "messages".into(),
            value: format!("{} visible, {} in flight", queue.visible, queue.in_flight),
        },
        Fact {
            label: "filter".into(),
            value: filter.describe(),
        },
        Fact {
            label: "destination".into(),
            value: format!(
                "{} ({})",
                destination.arn,
                if destination.fifo {
                    "FIFO: group ids kept, deduplication id per message"
                } else {
                    "standard"
                }
            ),
        },
        Fact {
            label: "journal".into(),
            value: path.display().to_string(),
        },
    ]);
    if earlier.runs > 0 {
        plan.facts.push(Fact {
            label: "earlier runs".into(),
            value: format!(
                "{} (moved {}); {} sent and not yet deleted: deleted on sight, never sent again{}",
                earlier.runs,
                earlier.moved,
                earlier.sent_not_deleted.len(),
                if earlier.unfinished.is_some() {
                    "; the last one did not finish: this run resumes it"
                } else {
                    ""
                }
            ),
        });
    }
    if !earlier.unknown.is_empty() {
        plan.warnings.push(format!(
            "{} messages were being sent when an earlier run stopped, and their answer was never recorded: they may have been delivered twice (ids in the journal and in this run's report)",
            earlier.unknown.len()
        ));
    }
    plan.irreversible = vec![format!(
        "every matching message leaves {} and arrives in {} as a new message (new id, receive count 0), where consumers process it again",
        queue.name, destination.name
    )];
    plan.warnings.push(format!(
        "messages that do not match are received too (their receive count goes up by one) and stay hidden until the run ends (at most {VISIBILITY_SECONDS} s each), then reappear untouched"
    ));
    if queue.fifo {
        plan.warnings.push(
            "FIFO: a message group is read in order, so messages behind one that does not match wait for it; run again after the run ends to reach them".into(),
        );
    }
    Ok(plan)
}

/// The pre-checks a selective redrive adds to a move task's (pure).
pub fn selective_checks(state: &MoveState) -> Vec<Refusal> {
    let mut out = Vec::new();
    let queue = &state.queue;
    if state.sources.is_empty() {
        return out;
    }
    if let Some(r) = &queue.redrive {
        out.push(Refusal::new(
            Check::NotDeadLetterQueue,
            format!(
                "{} has a redrive policy of its own (to {}): receiving its messages could move them on to that queue; a selective redrive reads only a DLQ without one",
                queue.name, r.dead_letter_target_arn
            ),
        ));
    }
    if let Destination::Sources(qs) = &state.destination
        && qs.len() > 1
    {
        out.push(Refusal::new(
            Check::DestinationNotFound,
            format!(
                "{} is the DLQ of {} queues ({}): a selective redrive moves to one queue; name it with --to (the destination field)",
                queue.name,
                qs.len(),
                qs.iter().map(|q| q.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    out
}

fn call_run<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let local = |message: String| CloudError::Invalid {
            operation: "selective redrive".into(),
            code: "NotStarted".into(),
            message,
            request_id: None,
        };
        let ctx = context().ok_or_else(|| {
            local("no journal directory was given for the run, so nothing was moved".into())
        })?;
        let filter = filter_of(|n| op.params.get(n).cloned()).map_err(local)?;
        let text = |n: &str| op.text(n).unwrap_or_default().to_string();
        let run_id = text("run");
        let path = PathBuf::from(text("journal"));
        let (mut journal, earlier) =
            journal::Journal::open(&path, &run_id).map_err(|e| local(e.to_string()))?;
        let destination_url = text("destination_url");
        let job = Job {
            dlq_url: text("dlq_url"),
            dlq_arn: op.target().to_string(),
            destination_fifo: destination_url.ends_with(".fifo"),
            destination_url,
            filter: filter.clone(),
            rate: op
                .number(RATE.name)
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(100),
            visibility: VISIBILITY_SECONDS,
            wait: ctx.wait,
            workers: ctx.workers,
            backoff: ctx.backoff,
        };
        journal
            .start(json!({
                "dlq": job.dlq_arn,
                "destination": text(DESTINATION.name),
                "filter": filter.describe(),
                "rate": job.rate,
            }))
            .map_err(|e| local(e.to_string()))?;
        let report = engine::run(
            cloud.clone(),
            job,
            journal,
            earlier,
            ctx.cancel.clone(),
            ctx.progress.clone(),
        )
        .await;
        // The journal's end line (a new handle: the run gave its own back).
        if let Ok((mut j, _)) = journal::Journal::open(&path, &run_id) {
            let _ = j.end(&report);
        }
        let note = summary(&report);
        *ctx.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(report.clone());
        match (&report.ending, &report.error_code) {
            (Ending::Stopped, Some(code)) => Err(CloudError::Service {
                operation: "selective redrive".into(),
                code: code.clone(),
                message: format!("{note}: {}", report.error.clone().unwrap_or_default()),
                request_id: None,
            }),
            (Ending::Stopped, None) => Err(local(format!(
                "{note}: {}",
                report.error.clone().unwrap_or_default()
            ))),
            _ => Ok(Called {
                request_id: String::new(),
                handle: None,
                note: Some(note),
            }),
        }
    })
}

/// The plan's fact about a sample: of the messages a recorded peek of the DLQ showed, how
/// many the plan's filter matches (`None`: not a selective redrive plan).
pub fn sample_fact(plan: &Plan, sample: &[crate::cloud::sqs::Message]) -> Option<Fact> {
    if plan.operation.spec.id != REDRIVE_MESSAGES.id {
        return None;
    }
    let filter = filter_of(|n| plan.operation.params.get(n).cloned()).ok()?;
    let matched = sample.iter().filter(|m| filter.matches_peeked(m)).count();
    Some(Fact {
        label: "sample".into(),
        value: format!(
            "{matched} of the {} messages of the last recorded peek match",
            sample.len()
        ),
    })
}

/// One line of counts for the outcome record and the screen.
pub fn summary(r: &RunReport) -> String {
    let p = &r.progress;
    let ending = match r.ending {
        Ending::Completed => "completed",
        Ending::Cancelled => "cancelled",
        Ending::Stopped => "stopped",
    };
    format!(
        "{ending}: looked at {}, matched {}, moved {}{}, left {} in the DLQ{}",
        p.looked_at,
        p.matched,
        p.moved,
        if p.resumed > 0 {
            format!(" (+{} sent by an earlier run)", p.resumed)
        } else {
            String::new()
        },
        p.left,
        if p.failed > 0 {
            format!(
                "; {} matched but not moved (still in the DLQ: run again)",
                p.failed
            )
        } else {
            String::new()
        }
    ) + &if r.in_doubt_count > 0 {
        format!(
            "; {} sends went unanswered (SQS may have delivered them): left in the DLQ, not sent again by this run",
            r.in_doubt_count
        )
    } else {
        String::new()
    }
}
