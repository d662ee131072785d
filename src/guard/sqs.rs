//! SQS message move tasks (DLQ redrive): the first **long-running** guarded action, and the
//! seed of the DLQ redrive issue. `sqs.start_move_task` moves the messages of a dead-letter
//! queue back to the queues they came from (StartMessageMoveTask without a destination); the
//! call returns a task handle, which [`super::watch`] follows to its end. Its only pre-check
//! is that the source is a DLQ; the redrive issue adds the rest (destination checks, message
//! counts, consumers, FIFO, …).

use super::action::{ActionSpec, CallFuture, Called, Handle, HandleKind, ParamKind, ParamSpec};
use super::{Check, Fact, GuardError, Operation, Plan, Policy, Refusal, Request, Target};
use crate::cloud::Cloud;
use crate::cloud::sqs::Queue;
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

/// `sqs:StartMessageMoveTask`: move a DLQ's messages back to their source queues.
pub static START_MOVE_TASK: ActionSpec = ActionSpec {
    id: "sqs.start_move_task",
    api_action: "sqs:StartMessageMoveTask",
    title: "move a DLQ's messages back to their source queues (redrive)",
    target: "SQS dead-letter queue: its queue URL",
    params: &[RATE],
    long_running: true,
    check_target: check_queue_url,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan(s, p, r)),
    call: call_start,
};

impl Request {
    /// Redrive the DLQ at `queue_url` to its source queues.
    pub fn start_move_task(queue_url: impl Into<String>) -> Request {
        Request::new(&START_MOVE_TASK, queue_url)
    }
}

fn check_queue_url(url: &str) -> Result<(), String> {
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

/// The pre-checks of a move task from `queue` (pure): its source queues are the queues whose
/// redrive policy targets it (ListDeadLetterSourceQueues).
pub fn checks(queue: &Queue, sources: &[String]) -> Vec<Refusal> {
    if sources.is_empty() {
        return vec![Refusal::new(
            Check::NotDeadLetterQueue,
            format!(
                "{} is not a dead-letter queue (no queue's redrive policy targets it), so there is nowhere to move its messages back to; pick the DLQ of a source queue (its RedrivePolicy names it)",
                queue.name
            ),
        )];
    }
    Vec::new()
}

async fn plan(session: &Session, policy: &Policy, request: &Request) -> Result<Plan, GuardError> {
    let url = request.target().trim();
    let name = url.rsplit('/').next().unwrap_or(url).to_string();
    let cloud = session.cloud();
    let live = |error| GuardError::LiveState {
        target: name.clone(),
        error,
    };
    let queue = cloud.queue(url).await.map_err(live)?;
    super::same_place(session, &queue.arn)?;
    let sources = cloud.dead_letter_sources(url).await.map_err(live)?;
    let refusals = checks(&queue, &sources);
    if !refusals.is_empty() {
        return Err(GuardError::Refused {
            action: request.action().to_string(),
            target: queue.name.clone(),
            refusals,
        });
    }
    let rate = request
        .value(RATE.name)
        .and_then(|v| v.as_number())
        .unwrap_or(500);
    let source_names: Vec<&str> = sources
        .iter()
        .map(|u| u.rsplit('/').next().unwrap_or(u))
        .collect();
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
    let operation = Operation::new(&START_MOVE_TASK, queue.arn.clone()).param(RATE.name, rate);
    let call = format!(
        "{} on {} (MaxNumberOfMessagesPerSecond={rate}, back to the source queues)",
        operation.action(),
        queue.arn
    );
    let summary = format!(
        "move the messages of {} back to {}",
        queue.name,
        source_names.join(", ")
    );
    let target = Target {
        arn: queue.arn.clone(),
        name: queue.name.clone(),
    };
    let mut plan = Plan::new(session, policy, operation, summary, target, call);
    plan.facts = vec![
        Fact {
            label: "queue".into(),
            value: queue.arn.clone(),
        },
        Fact {
            label: "messages".into(),
            value: format!("{} visible, {} in flight", queue.visible, queue.in_flight),
        },
        Fact {
            label: "source queues".into(),
            value: source_names.join(", "),
        },
    ];
    plan.irreversible = vec![format!(
        "every message moved leaves {} and arrives in its source queue as a new message (new id, receive count 0), where consumers process it again",
        queue.name
    )];
    plan.warnings.extend(warnings);
    plan.confirm_also = vec![queue.arn.clone()];
    Ok(plan)
}

fn call_start<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let rate = op.number(RATE.name).and_then(|r| i32::try_from(r).ok());
        // The newest task already listed: the watch never takes it for this one.
        let after_ms = cloud
            .list_message_move_tasks(op.target())
            .await
            .ok()
            .and_then(|ts| ts.iter().filter_map(|t| t.started).max())
            .map(|t| t.timestamp_millis());
        let started = cloud
            .start_message_move_task(op.target(), None, rate)
            .await?;
        Ok(Called {
            request_id: started.request_id,
            handle: Some(Handle {
                kind: HandleKind::MessageMoveTask,
                id: started.handle,
                resource: op.target().to_string(),
                after_ms,
            }),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_letter_queue_is_a_source() {
        let q = Queue::pending("http://x/123456789012/claims-intake", "us-east-1");
        let r = checks(&q, &[]);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, Check::NotDeadLetterQueue);
        assert!(
            r[0].message.contains("not a dead-letter queue"),
            "{}",
            r[0].message
        );
        assert!(checks(&q, &["http://x/123456789012/claims".into()]).is_empty());
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
