//! SQS message move tasks (DLQ redrive): the first **long-running** guarded action, and the
//! seed of the DLQ redrive issue. `sqs.start_move_task` moves the messages of a dead-letter
//! queue back to the queues they came from (StartMessageMoveTask without a destination); the
//! call returns a task handle, which [`super::watch`] follows to its end; or to a
//! `destination` queue given by URL or ARN. Pre-checks ([`checks`]): the source is a DLQ, no
//! task already runs on it, the destination exists, is of the DLQ's type (standard/FIFO) and
//! its RedriveAllowPolicy admits the DLQ (each source queue's, without a destination).
//! `sqs.cancel_move_task` cancels the DLQ's running task (CancelMessageMoveTask).

use super::action::{ActionSpec, CallFuture, Called, Handle, HandleKind, ParamKind, ParamSpec};
use super::{Check, Fact, GuardError, Operation, Plan, Policy, Refusal, Request, Target};
use crate::cloud::Cloud;
use crate::cloud::CloudError;
use crate::cloud::sqs::{MoveTask, Queue};
use crate::session::Session;

/// `MaxNumberOfMessagesPerSecond`, recorded as `max_messages_per_second`.
pub const RATE: ParamSpec = ParamSpec {
    name: "max_messages_per_second",
    label: "rate",
    kind: ParamKind::Number {
        min: 1,
        max: 500,
        unit: " messages a second",
    },
    default: Some("500"),
    help: "at most this many messages a second, 1 to 500 (empty: 500, the SQS maximum)",
};

/// `DestinationArn`, recorded as `destination` (the ARN; empty: the original source queues).
pub const DESTINATION: ParamSpec = ParamSpec {
    name: "destination",
    label: "destination",
    kind: ParamKind::Text { max_chars: 1024 },
    default: Some(""),
    help: "the queue to move the messages to, its queue URL or ARN (empty: back to the source queues they came from)",
};

/// `sqs:StartMessageMoveTask`: move a DLQ's messages back to their source queues.
pub static START_MOVE_TASK: ActionSpec = ActionSpec {
    id: "sqs.start_move_task",
    api_action: "sqs:StartMessageMoveTask",
    title: "move a DLQ's messages back to their source queues (redrive)",
    target: "SQS dead-letter queue: its queue URL",
    params: &[RATE, DESTINATION],
    long_running: true,
    check_target: check_queue_url,
    check_request: check_destination,
    plan: |s, p, r| Box::pin(plan(s, p, r)),
    call: call_start,
};

/// `sqs:CancelMessageMoveTask`: cancel the move task running on a DLQ.
pub static CANCEL_MOVE_TASK: ActionSpec = ActionSpec {
    id: "sqs.cancel_move_task",
    api_action: "sqs:CancelMessageMoveTask",
    title: "cancel the message move task (redrive) running on a DLQ",
    target: "SQS dead-letter queue: its queue URL",
    params: &[],
    long_running: false,
    check_target: check_queue_url,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan_cancel(s, p, r)),
    call: call_cancel,
};

impl Request {
    /// Redrive the DLQ at `queue_url` to its source queues.
    pub fn start_move_task(queue_url: impl Into<String>) -> Request {
        Request::new(&START_MOVE_TASK, queue_url)
    }
    /// Cancel the move task running on the DLQ at `queue_url`.
    pub fn cancel_move_task(queue_url: impl Into<String>) -> Request {
        Request::new(&CANCEL_MOVE_TASK, queue_url)
    }
}

/// The destination, when given, names a queue: its URL or its SQS ARN.
fn check_destination(request: &Request) -> Result<(), GuardError> {
    let Some(d) = request.value(DESTINATION.name) else {
        return Ok(());
    };
    let d = d.as_text().unwrap_or_default().trim();
    if d.is_empty() || d.starts_with("https://") || d.starts_with("http://") {
        return Ok(());
    }
    let parts: Vec<&str> = d.split(':').collect();
    if parts.len() == 6 && parts[0] == "arn" && parts[2] == "sqs" && !parts[5].is_empty() {
        return Ok(());
    }
    Err(GuardError::InvalidParam {
        param: DESTINATION.name.into(),
        message: format!(
            "'{}' is not a queue URL or ARN: give the destination queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME) or ARN (arn:aws:sqs:REGION:ACCOUNT:NAME), or leave it empty for the source queues",
            crate::validate::shown(d)
        ),
    })
}

pub(crate) fn check_queue_url(url: &str) -> Result<(), String> {
    let url = url.trim();
    if url.is_empty() {
        return Err(
            "name the queue: give its queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)"
                .into(),
        );
    }
    if url.chars().any(char::is_control) || url.len() > 1024 {
        return Err(format!(
            "'{}' is not a queue URL: give the queue URL as SQS shows it (one line, https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)",
            crate::validate::shown(url)
        ));
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(format!(
            "'{}' is not a queue URL: give the queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME), not its name or ARN",
            crate::validate::shown(url)
        ));
    }
    Ok(())
}

/// Where a move task sends the messages, as the planner found it.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    /// Back to the source queues (no DestinationArn): each one, as read.
    Sources(Vec<Queue>),
    /// The queue given (as typed), `None` when it does not exist.
    Given {
        named: String,
        queue: Option<Box<Queue>>,
    },
}

/// What a move task's pre-checks read: the DLQ, its source queue URLs
/// (ListDeadLetterSourceQueues), its recent move tasks and the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveState {
    pub queue: Queue,
    pub sources: Vec<String>,
    pub tasks: Vec<MoveTask>,
    pub destination: Destination,
}

/// A running task of `tasks` (with the handle CancelMessageMoveTask takes).
pub fn running(tasks: &[MoveTask]) -> Option<&MoveTask> {
    tasks.iter().find(|t| t.status == "RUNNING")
}

/// A task that has not ended: running, or being cancelled (SQS refuses a new task meanwhile).
pub fn active(tasks: &[MoveTask]) -> Option<&MoveTask> {
    tasks
        .iter()
        .find(|t| t.status == "RUNNING" || t.status == "CANCELLING")
}

fn type_of(fifo: bool) -> &'static str {
    if fifo { "FIFO" } else { "standard" }
}

/// A plan of `operation` on `queue`: the queue as its target (its name to type, or its ARN),
/// and the queue's ARN as its first fact.
fn queue_plan(
    session: &Session,
    policy: &Policy,
    operation: Operation,
    summary: String,
    call: String,
    queue: &Queue,
) -> Plan {
    let target = Target {
        arn: queue.arn.clone(),
        name: queue.name.clone(),
    };
    let mut plan = Plan::new(session, policy, operation, summary, target, call);
    plan.facts.push(Fact {
        label: "queue".into(),
        value: queue.arn.clone(),
    });
    plan.confirm_also = vec![queue.arn.clone()];
    plan
}

/// The pre-checks of a move task (pure).
pub fn checks(state: &MoveState) -> Vec<Refusal> {
    let queue = &state.queue;
    if state.sources.is_empty() {
        return vec![Refusal::new(
            Check::NotDeadLetterQueue,
            format!(
                "{} is not a dead-letter queue (no queue's redrive policy targets it), so there is nowhere to move its messages back to; pick the DLQ of a source queue (its RedrivePolicy names it)",
                queue.name
            ),
        )];
    }
    let mut out = Vec::new();
    if let Some(t) = active(&state.tasks) {
        out.push(Refusal::new(
            Check::MoveTaskRunning,
            format!(
                "a move task already runs on {} ({} of {} moved; SQS allows one at a time): wait for it to end, or cancel it first (X on the DLQ view, sqs.cancel_move_task)",
                queue.name,
                t.moved,
                t.to_move.map(|n| n.to_string()).unwrap_or_else(|| "?".into())
            ),
        ));
    }
    let targets: Vec<&Queue> = match &state.destination {
        Destination::Given { named, queue: None } => {
            out.push(Refusal::new(
                Check::DestinationNotFound,
                format!(
                    "the destination queue '{}' does not exist (or this identity cannot see it): give the URL or ARN of an existing queue, or leave the destination empty for the source queues",
                    crate::validate::shown(named)
                ),
            ));
            Vec::new()
        }
        Destination::Given { queue: Some(q), .. } => vec![&**q],
        Destination::Sources(qs) => qs.iter().collect(),
    };
    for d in targets {
        if d.fifo != queue.fifo {
            out.push(Refusal::new(
                Check::DestinationTypeMismatch,
                format!(
                    "{} is a {} queue and {} a {} one: messages move only between queues of the same type; pick a {} destination",
                    d.name,
                    type_of(d.fifo),
                    queue.name,
                    type_of(queue.fifo),
                    type_of(queue.fifo)
                ),
            ));
        }
        // A queue's RedriveAllowPolicy says which source queues may name it as their DLQ; it
        // does not govern where a move task delivers, so it is not a pre-check here.
        if d.arn == queue.arn {
            out.push(Refusal::new(
                Check::DestinationIsTheDlq,
                format!(
                    "the destination is {} itself: its messages would only go round; leave the destination empty for the source queues, or name another queue",
                    queue.name
                ),
            ));
        }
    }
    out
}

/// Resolves the destination as typed (URL or ARN) to its queue; `None` when it does not exist.
async fn destination_queue(cloud: &Cloud, named: &str) -> Result<Option<Queue>, CloudError> {
    let url = if named.starts_with("arn:") {
        match cloud.queue_url_of_arn(named).await {
            Ok(u) => u,
            Err(CloudError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
    } else {
        named.to_string()
    };
    match cloud.queue(&url).await {
        Ok(q) => Ok(Some(q)),
        Err(CloudError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads what a move's pre-checks need: the DLQ at `url`, its sources, its recent move tasks
/// and the destination `named` (URL or ARN; empty: the source queues).
pub(crate) async fn read_move_state(
    session: &Session,
    url: &str,
    named: &str,
) -> Result<MoveState, GuardError> {
    let url = url.trim();
    let named = named.trim().to_string();
    let name = url.rsplit('/').next().unwrap_or(url).to_string();
    let cloud = session.cloud();
    let live = |error| GuardError::LiveState {
        target: name.clone(),
        error,
    };
    let queue = cloud.queue(url).await.map_err(live)?;
    super::same_place(session, &queue.arn)?;
    let sources = cloud.dead_letter_sources(url).await.map_err(live)?;
    let (tasks, destination) = if sources.is_empty() {
        (Vec::new(), Destination::Sources(Vec::new()))
    } else {
        let tasks = cloud
            .list_message_move_tasks(&queue.arn)
            .await
            .map_err(live)?;
        let destination = if named.is_empty() {
            let mut qs = Vec::with_capacity(sources.len());
            for s in &sources {
                qs.push(cloud.queue(s).await.map_err(live)?);
            }
            Destination::Sources(qs)
        } else {
            // A typed ARN names its own region and account: check them before GetQueueUrl,
            // which would find a queue of that name here instead.
            if named.starts_with("arn:") {
                super::same_place(session, &named)?;
            }
            let found = destination_queue(&cloud, &named).await.map_err(live)?;
            if let Some(d) = &found {
                super::same_place(session, &d.arn)?;
                if named.starts_with("arn:") && d.arn != named {
                    return Err(GuardError::InvalidRequest(format!(
                        "the destination {} resolved to {}, another queue: give the destination's exact ARN or its URL",
                        crate::validate::shown(&named),
                        d.arn
                    )));
                }
            }
            Destination::Given {
                named: named.clone(),
                queue: found.map(Box::new),
            }
        };
        (tasks, destination)
    };
    Ok(MoveState {
        queue,
        sources,
        tasks,
        destination,
    })
}

async fn plan(session: &Session, policy: &Policy, request: &Request) -> Result<Plan, GuardError> {
    let named = request
        .value(DESTINATION.name)
        .and_then(|v| v.as_text().map(|t| t.trim().to_string()))
        .unwrap_or_default();
    let state = read_move_state(session, request.target(), &named).await?;
    let refusals = checks(&state);
    if !refusals.is_empty() {
        return Err(GuardError::Refused {
            action: request.action().to_string(),
            target: state.queue.name.clone(),
            refusals,
        });
    }
    let MoveState {
        queue,
        sources,
        destination,
        ..
    } = state;
    let rate = request
        .value(RATE.name)
        .and_then(|v| v.as_number())
        .unwrap_or(500);
    let source_names: Vec<&str> = sources
        .iter()
        .map(|u| u.rsplit('/').next().unwrap_or(u))
        .collect();
    let (dest_arn, dest_words) = match &destination {
        Destination::Given { queue: Some(d), .. } => (d.arn.clone(), d.name.clone()),
        _ => (String::new(), source_names.join(", ")),
    };
    let mut warnings = Vec::new();
    if queue.visible == 0 {
        warnings.push(format!(
            "{} has no visible messages now: the task may finish at once, moving nothing",
            queue.name
        ));
    }
    warnings.push(
        "the move runs on after the call: the console follows it (progress, end) and records its end in the audit log"
            .into(),
    );
    let operation = Operation::new(&START_MOVE_TASK, queue.arn.clone())
        .param(RATE.name, rate)
        .param(DESTINATION.name, dest_arn.clone());
    let call = if dest_arn.is_empty() {
        format!(
            "{} on {} (MaxNumberOfMessagesPerSecond={rate}, back to the source queues)",
            operation.action(),
            queue.arn
        )
    } else {
        format!(
            "{} on {} (MaxNumberOfMessagesPerSecond={rate}, DestinationArn={dest_arn})",
            operation.action(),
            queue.arn
        )
    };
    let summary = if dest_arn.is_empty() {
        format!("move the messages of {} back to {dest_words}", queue.name)
    } else {
        format!("move the messages of {} to {dest_words}", queue.name)
    };
    let mut plan = queue_plan(session, policy, operation, summary, call, &queue);
    plan.facts.extend([
        Fact {
            label: "messages".into(),
            value: format!("{} visible, {} in flight", queue.visible, queue.in_flight),
        },
        Fact {
            label: "source queues".into(),
            value: source_names.join(", "),
        },
        Fact {
            label: "destination".into(),
            value: if dest_arn.is_empty() {
                "the source queues (each message back where it came from)".into()
            } else {
                dest_arn.clone()
            },
        },
    ]);
    plan.irreversible = vec![format!(
        "every message moved leaves {} and arrives in {} as a new message (new id, receive count 0), where consumers process it again",
        queue.name,
        if dest_arn.is_empty() {
            "its source queue"
        } else {
            "the destination"
        }
    )];
    plan.warnings.extend(warnings);
    Ok(plan)
}

fn call_start<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let rate = op.number(RATE.name).and_then(|r| i32::try_from(r).ok());
        let destination = op.text(DESTINATION.name).filter(|d| !d.is_empty());
        // The newest task already listed: the watch never takes it for this one.
        let after_ms = cloud
            .list_message_move_tasks(op.target())
            .await
            .ok()
            .and_then(|ts| ts.iter().filter_map(|t| t.started).max())
            .map(|t| t.timestamp_millis());
        let started = cloud
            .start_message_move_task(op.target(), destination, rate)
            .await?;
        Ok(Called {
            request_id: started.request_id,
            note: None,
            handle: Some(Handle {
                kind: HandleKind::MessageMoveTask,
                id: started.handle,
                resource: op.target().to_string(),
                after_ms,
            }),
        })
    })
}

/// The refusal of a cancel when no task runs on `queue` (pure).
pub fn cancel_checks(queue: &Queue, tasks: &[MoveTask]) -> Vec<Refusal> {
    match running(tasks) {
        Some(t) if t.handle.is_some() => Vec::new(),
        _ if active(tasks).is_some() => vec![Refusal::new(
            Check::NoMoveTaskRunning,
            format!(
                "the move task on {} is already being cancelled (CANCELLING): wait for it to end; :tasks shows how it ends",
                queue.name
            ),
        )],
        _ => vec![Refusal::new(
            Check::NoMoveTaskRunning,
            format!(
                "no move task runs on {}, so there is nothing to cancel: start one with M (sqs.start_move_task), or see :tasks for how the last one ended",
                queue.name
            ),
        )],
    }
}

async fn plan_cancel(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    let url = request.target().trim();
    let name = url.rsplit('/').next().unwrap_or(url).to_string();
    let cloud = session.cloud();
    let live = |error| GuardError::LiveState {
        target: name.clone(),
        error,
    };
    let queue = cloud.queue(url).await.map_err(live)?;
    super::same_place(session, &queue.arn)?;
    let tasks = cloud
        .list_message_move_tasks(&queue.arn)
        .await
        .map_err(live)?;
    let refusals = cancel_checks(&queue, &tasks);
    if !refusals.is_empty() {
        return Err(GuardError::Refused {
            action: request.action().to_string(),
            target: queue.name.clone(),
            refusals,
        });
    }
    let Some(task) = running(&tasks).cloned() else {
        return Err(GuardError::Refused {
            action: request.action().to_string(),
            target: queue.name.clone(),
            refusals: cancel_checks(&queue, &[]),
        });
    };
    let handle = task.handle.clone().unwrap_or_default();
    let operation =
        Operation::new(&CANCEL_MOVE_TASK, queue.arn.clone()).param("task_handle", handle.clone());
    let to_move = task
        .to_move
        .map(|n| n.to_string())
        .unwrap_or_else(|| "?".into());
    let call = format!(
        "{} (TaskHandle of the task on {})",
        operation.action(),
        queue.arn
    );
    let summary = format!(
        "cancel the move task running on {} ({} of {to_move} moved)",
        queue.name, task.moved
    );
    let mut plan = queue_plan(session, policy, operation, summary, call, &queue);
    plan.facts.extend([Fact {
        label: "task".into(),
        value: format!(
            "{}, {} of {to_move} moved, to {}",
            task.status,
            task.moved,
            task.destination_arn
                .as_deref()
                .unwrap_or("the source queues")
        ),
    }]);
    plan.irreversible = vec![format!(
        "the messages already moved stay where they went; the rest stay in {}",
        queue.name
    )];
    plan.warnings.push(
        "the task may move a few more messages before SQS stops it; the console following it records its end"
            .into(),
    );
    Ok(plan)
}

fn call_cancel<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let handle = op.text("task_handle").unwrap_or_default();
        let (_, request_id) = cloud.cancel_message_move_task(handle).await?;
        Ok(Called::done(request_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_letter_queue_is_a_source() {
        let q = Queue::pending("http://x/123456789012/claims-intake", "us-east-1");
        let r = checks(&state(
            q.clone(),
            &[],
            Vec::new(),
            Destination::Sources(Vec::new()),
        ));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, Check::NotDeadLetterQueue);
        assert!(
            r[0].message.contains("not a dead-letter queue"),
            "{}",
            r[0].message
        );
        let src = Queue::pending("http://x/123456789012/claims", "us-east-1");
        assert!(
            checks(&state(
                q,
                &["http://x/123456789012/claims"],
                Vec::new(),
                Destination::Sources(vec![src])
            ))
            .is_empty()
        );
    }

    const DLQ_URL: &str = "http://x/123456789012/claims-dlq";
    const DLQ_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:claims-dlq";

    fn state(queue: Queue, sources: &[&str], tasks: Vec<MoveTask>, d: Destination) -> MoveState {
        MoveState {
            queue,
            sources: sources.iter().map(|s| s.to_string()).collect(),
            tasks,
            destination: d,
        }
    }

    fn q(name: &str) -> Queue {
        Queue::pending(&format!("http://x/123456789012/{name}"), "us-east-1")
    }

    fn dlq_with(d: Destination, tasks: Vec<MoveTask>) -> Vec<Check> {
        checks(&state(
            q("claims-dlq"),
            &["http://x/123456789012/claims"],
            tasks,
            d,
        ))
        .into_iter()
        .map(|r| r.check)
        .collect()
    }

    fn given(queue: Option<Queue>) -> Destination {
        Destination::Given {
            named: "arn:aws:sqs:us-east-1:123456789012:other".into(),
            queue: queue.map(Box::new),
        }
    }

    fn with_allow(mut queue: Queue, policy: &str) -> Queue {
        queue.redrive_allow = Some(policy.into());
        queue
    }

    #[test]
    fn a_running_task_refuses_a_second_one_and_names_the_cancel() {
        let running = MoveTask {
            handle: Some("h".into()),
            status: "RUNNING".into(),
            moved: 3,
            to_move: Some(12),
            ..MoveTask::default()
        };
        let done = MoveTask {
            status: "COMPLETED".into(),
            ..MoveTask::default()
        };
        let sources = Destination::Sources(vec![q("claims")]);
        assert!(dlq_with(sources.clone(), vec![done.clone()]).is_empty());
        let r = checks(&state(
            q("claims-dlq"),
            &["http://x/123456789012/claims"],
            vec![done, running],
            sources,
        ));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, Check::MoveTaskRunning);
        assert!(r[0].message.contains("3 of 12 moved"), "{}", r[0].message);
        assert!(r[0].message.contains("cancel it first"), "{}", r[0].message);
    }

    #[test]
    fn the_destination_must_exist_and_be_of_the_dlqs_type() {
        assert_eq!(
            dlq_with(given(None), Vec::new()),
            [Check::DestinationNotFound]
        );
        assert!(dlq_with(given(Some(q("other"))), Vec::new()).is_empty());
        assert_eq!(
            dlq_with(given(Some(q("other.fifo"))), Vec::new()),
            [Check::DestinationTypeMismatch]
        );
        let r = checks(&state(
            q("claims-dlq"),
            &["u"],
            Vec::new(),
            given(Some(q("other.fifo"))),
        ));
        assert!(
            r[0].message.contains("pick a standard destination"),
            "{}",
            r[0].message
        );
        // Back to the sources: each source is checked.
        assert_eq!(
            dlq_with(
                Destination::Sources(vec![q("claims"), q("b.fifo")]),
                Vec::new()
            ),
            [Check::DestinationTypeMismatch]
        );
    }

    #[test]
    fn a_redrive_allow_policy_is_no_pre_check_but_the_dlq_itself_is() {
        let by =
            |arns: &str| format!(r#"{{"redrivePermission":"byQueue","sourceQueueArns":[{arns}]}}"#);
        // The policy governs who may name a queue as its DLQ, not where a move delivers: a
        // destination or source with denyAll is no refusal.
        let deny = with_allow(q("other"), r#"{"redrivePermission":"denyAll"}"#);
        assert_eq!(dlq_with(given(Some(deny)), Vec::new()), []);
        let src = with_allow(q("claims"), &by("\"arn:aws:sqs:us-east-1:1:x\""));
        assert_eq!(dlq_with(Destination::Sources(vec![src]), Vec::new()), []);
        // The DLQ itself as the destination is.
        assert_eq!(
            dlq_with(given(Some(q("claims-dlq"))), Vec::new()),
            [Check::DestinationIsTheDlq]
        );
        assert_eq!(q("claims-dlq").arn, DLQ_ARN);
        assert_eq!(q("claims-dlq").url, DLQ_URL);
    }

    #[test]
    fn a_cancel_needs_a_running_task() {
        let dlq = q("claims-dlq");
        let r = cancel_checks(&dlq, &[]);
        assert_eq!(r[0].check, Check::NoMoveTaskRunning);
        assert!(
            r[0].message.contains("nothing to cancel"),
            "{}",
            r[0].message
        );
        let ended = MoveTask {
            status: "CANCELLED".into(),
            ..MoveTask::default()
        };
        assert_eq!(
            cancel_checks(&dlq, &[ended])[0].check,
            Check::NoMoveTaskRunning
        );
        let running = MoveTask {
            handle: Some("h".into()),
            status: "RUNNING".into(),
            ..MoveTask::default()
        };
        assert!(cancel_checks(&dlq, &[running]).is_empty());
    }

    #[test]
    fn the_destination_is_a_queue_url_or_arn() {
        let dlq = "https://sqs.us-east-1.amazonaws.com/123456789012/q-dlq";
        for ok in [
            "",
            "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "arn:aws:sqs:us-east-1:123456789012:q",
        ] {
            let r = Request::start_move_task(dlq)
                .input("destination", ok)
                .unwrap();
            assert!(check_destination(&r).is_ok(), "{ok}");
        }
        for bad in ["q", "arn:aws:sns:us-east-1:123456789012:q", "arn:aws:sqs:x"] {
            let r = Request::start_move_task(dlq)
                .input("destination", bad)
                .unwrap();
            let e = check_destination(&r).unwrap_err().to_string();
            assert!(e.contains("queue URL or ARN"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_target_is_a_queue_url() {
        assert!(check_queue_url("https://sqs.us-east-1.amazonaws.com/123456789012/q").is_ok());
        for bad in [
            "",
            "  ",
            "q",
            "arn:aws:sqs:us-east-1:123456789012:q",
            "https://x/\u{1b}[2J",
        ] {
            let e = check_queue_url(bad).unwrap_err();
            assert!(e.contains("queue URL"), "{bad:?}: {e}");
        }
    }
}
