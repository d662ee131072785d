//! Peeking at a queue's messages is a **write**: every ReceiveMessage hides the message for a
//! while and raises its receive count by one; on a queue with a redrive policy, the receive
//! after `maxReceiveCount` moves the message to the DLQ instead of delivering it. So a peek is
//! a recorded action like any other:
//!
//! 1. [`plan`] refuses in read-only mode, reads the queue's attributes (a read) and calls
//!    [`assess`] (pure), which refuses when a receive could move a message;
//! 2. the operator confirms the plan (one key: a peek cannot be undone, but it changes no data);
//! 3. [`execute`] repeats the gates, writes the intent to the audit log (fail closed), receives,
//!    gives every message back at once, and records the outcome (counts only, never a body).
//!
//! **Why a queue with a redrive policy is always refused.** SQS shows a message's receive count
//! only by receiving it. A message at count `c` is moved to the DLQ by the receive that would
//! make it `maxReceiveCount + 1`; a peek that brings it to `maxReceiveCount` takes its
//! consumer's last attempt. So a peek is harmless only when every message is at most at
//! `maxReceiveCount - 2`, and nothing can tell that without receiving: not even an earlier
//! peek, since consumers raise counts in between. The refusal shows maxReceiveCount and the
//! highest count an earlier peek saw, and names the DLQ, whose messages (the claims that
//! failed) are what an operator looks at.
//!
//! **Repeated peeks never pile up receives silently**: the messages view does not re-peek on
//! refresh or on return; every peek is planned and confirmed, and the plan says how far the
//! counts already seen will rise.

use super::{GuardError, Policy, read_only_gate, same_place};
use crate::audit::{self, Action, AuditLog, Confirmation, Intent};
use crate::cloud::sqs::{Message, Queue, RedrivePolicy};
use crate::session::Session;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// The API action a peek is recorded as.
pub const PEEK_ACTION: &str = "sqs:ReceiveMessage";
/// The most messages one peek shows.
pub const PEEK_MAX: usize = 50;
/// A peek plan older than this is planned again: its queue attributes describe a past state.
pub const PEEK_PLAN_TTL_SECONDS: i64 = 120;

/// What an earlier peek of the same queue saw (kept in the console's memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SeenCounts {
    /// How many messages it showed.
    pub messages: usize,
    /// The highest receive count among them, after that peek.
    pub highest: u32,
    #[serde(serialize_with = "ser_time")]
    pub at: DateTime<Utc>,
    /// When the oldest of them was sent (its age is the DLQ's backlog, as far as sampled).
    #[serde(skip)]
    pub oldest: Option<DateTime<Utc>>,
}

impl SeenCounts {
    /// The counts of the messages a peek returned.
    pub fn of(messages: &[Message], at: DateTime<Utc>) -> Option<SeenCounts> {
        (!messages.is_empty()).then(|| SeenCounts {
            messages: messages.len(),
            highest: messages.iter().map(|m| m.receive_count).max().unwrap_or(0),
            at,
            oldest: messages.iter().filter_map(|m| m.sent).min(),
        })
    }
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&audit::writer::format_time(*t))
}

/// A planned peek: the queue, what it holds, its redrive policy and what the peek will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeekPlan {
    pub queue_url: String,
    pub queue_arn: String,
    pub queue_name: String,
    /// Messages visible now (what a peek can receive) and in flight.
    pub visible: u64,
    pub in_flight: u64,
    pub max_messages: usize,
    /// The queue's redrive policy (a source queue).
    pub redrive: Option<RedrivePolicy>,
    /// What an earlier peek saw, when the console still holds it.
    pub seen: Option<SeenCounts>,
    pub place: String,
    #[serde(serialize_with = "ser_time")]
    pub planned_at: DateTime<Utc>,
}

impl PeekPlan {
    /// One line in words.
    pub fn summary(&self) -> String {
        format!(
            "peek at up to {} messages of {}",
            self.max_messages.min(self.visible as usize),
            self.queue_name
        )
    }

    /// The plan as lines of text.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("Plan: {}", self.summary())];
        out.push(format!(
            "  call:    sqs:ReceiveMessage on {} (VisibilityTimeout={}), then ChangeMessageVisibility 0 for every message received",
            self.queue_arn,
            crate::cloud::sqs::PEEK_HIDE_SECONDS
        ));
        out.push(format!("  where:   {}", self.place));
        out.push(format!(
            "  now:     {} visible, {} in flight",
            self.visible, self.in_flight
        ));
        match (&self.redrive, &self.seen) {
            // A queue with a redrive policy is never planned (see `assess`).
            (Some(r), _) => out.push(format!(
                "  now:     maxReceiveCount {}",
                r.max_receive_count
            )),
            (None, Some(s)) => out.push(format!(
                "  now:     highest receive count {} (seen by the peek at {}); no redrive policy",
                s.highest,
                s.at.format("%H:%M:%S UTC")
            )),
            (None, None) => {
                out.push("  now:     no redrive policy: no receive moves a message".into())
            }
        }
        let again = match &self.seen {
            Some(s) => format!(
                " (the {} messages already peeked go up again, to {} at most)",
                s.messages,
                s.highest.saturating_add(1)
            ),
            None => String::new(),
        };
        out.push(format!(
            "  cannot be undone: every message received gets +1 on its receive count{again}; bodies stay hidden"
        ));
        out.push("  recorded: the intent before the receive, the outcome after".into());
        out.push("  to confirm, press p (Esc cancels)".into());
        out
    }
}

/// The pure pre-checks: refuses when a receive could move a message to the DLQ.
pub fn assess(
    queue: &Queue,
    seen: Option<SeenCounts>,
    place: String,
    now: DateTime<Utc>,
) -> Result<PeekPlan, GuardError> {
    let refuse = |message: String| GuardError::Refused {
        action: PEEK_ACTION.into(),
        target: queue.name.clone(),
        refusals: vec![super::Refusal::new(super::Check::ReceiveCouldMove, message)],
    };
    // A RedrivePolicy that is set but cannot be read (a fractional or out-of-range
    // maxReceiveCount, a missing target) is still a redrive policy: refused, not ignored.
    if queue.redrive.is_none()
        && let Some(raw) = queue
            .attributes
            .get("RedrivePolicy")
            .filter(|r| !r.trim().is_empty() && r.trim() != "{}")
    {
        return Err(refuse(format!(
            "{} has a redrive policy that phi-console cannot read ({}), so a receive could move its messages to a DLQ: it is not peeked. Fix the queue's RedrivePolicy (deadLetterTargetArn and a whole maxReceiveCount from 1 to 1000), or peek its DLQ",
            queue.name,
            crate::validate::shown_max(raw, 200)
        )));
    }
    if let Some(r) = &queue.redrive {
        let dlq = r
            .dead_letter_target_arn
            .rsplit(':')
            .next()
            .unwrap_or(&r.dead_letter_target_arn);
        let counts = match seen {
            Some(s) => format!(
                "the highest receive count seen was {} (at {}, and consumers raise counts between peeks)",
                s.highest,
                s.at.format("%H:%M:%S UTC")
            ),
            None => "its receive counts are unknown (SQS shows them only by receiving)".into(),
        };
        return Err(refuse(format!(
            "{} has a redrive policy with maxReceiveCount {}, and {counts}: a message at {} or more would be moved to {dlq} by this peek or by its consumer's next receive. Peek the DLQ {dlq} instead, where failed claims go",
            queue.name,
            r.max_receive_count,
            r.max_receive_count.saturating_sub(1)
        )));
    }
    Ok(PeekPlan {
        queue_url: queue.url.clone(),
        queue_arn: queue.arn.clone(),
        queue_name: queue.name.clone(),
        visible: queue.visible,
        in_flight: queue.in_flight,
        max_messages: PEEK_MAX,
        redrive: queue.redrive.clone(),
        seen,
        place,
        planned_at: now,
    })
}

/// Plans a peek: read-only gate, the queue's live attributes, [`assess`]. Changes nothing.
pub async fn plan(
    session: &Session,
    policy: &Policy,
    queue_url: &str,
    seen: Option<SeenCounts>,
) -> Result<PeekPlan, GuardError> {
    read_only_gate(session, policy, PEEK_ACTION)?;
    let cloud = session.cloud();
    let queue = cloud
        .queue(queue_url)
        .await
        .map_err(|error| GuardError::LiveState {
            target: queue_url
                .rsplit('/')
                .next()
                .unwrap_or(queue_url)
                .to_string(),
            error,
        })?;
    same_place(session, &queue.arn)?;
    assess(&queue, seen, super::session_place(session), session.now())
}

/// Runs a planned peek: the gates again (read-only, same session, plan age), the intent
/// (fail closed: no record, no receive), the receive, the outcome (counts, never bodies).
pub async fn execute(
    log: &AuditLog,
    session: &Session,
    policy: &Policy,
    plan: &PeekPlan,
) -> Result<Vec<Message>, GuardError> {
    super::gates(
        session,
        policy,
        PEEK_ACTION,
        &plan.place,
        false,
        plan.planned_at,
        chrono::Duration::seconds(PEEK_PLAN_TTL_SECONDS),
    )?;
    let current = super::session_place(session);
    // The plan may be two minutes old: a redrive policy set since then must stop the peek, so
    // the queue's attributes are read again (a read) and assessed again before the intent.
    let now = session
        .cloud()
        .queue(&plan.queue_url)
        .await
        .map_err(|error| GuardError::LiveState {
            target: plan.queue_name.clone(),
            error,
        })?;
    if now.arn != plan.queue_arn {
        return Err(GuardError::InvalidRequest(format!(
            "{} is no longer the queue that was planned ({} now, {} planned): plan the peek again",
            plan.queue_name, now.arn, plan.queue_arn
        )));
    }
    assess(&now, plan.seen, current, session.now())?;
    let mut action = Action::new(PEEK_ACTION)
        .target(plan.queue_arn.clone())
        .param("name", plan.queue_name.clone())
        .param("max_messages", plan.max_messages as u64)
        .param(
            "visibility_timeout",
            crate::cloud::sqs::PEEK_HIDE_SECONDS as i64,
        );
    if let Some(r) = &plan.redrive {
        action = action.param("max_receive_count", r.max_receive_count as u64);
    }
    if let Some(s) = &plan.seen {
        action = action.param("highest_receive_count_seen", s.highest as u64);
    }
    let intent = Intent::new(action).confirmed(Confirmation::keypress("p"));
    let cloud = session.cloud();
    let url = plan.queue_url.clone();
    let max = plan.max_messages;
    let done = audit::guarded_async(log, intent, |receipt| async move {
        let r = cloud.peek_messages(&url, max).await;
        match &r {
            Ok(v) => receipt.message(format!(
                "received {} messages (highest receive count now {}); all made visible again",
                v.len(),
                v.iter().map(|m| m.receive_count).max().unwrap_or(0)
            )),
            Err(e) => super::record_failure(&receipt, e),
        }
        r
    })
    .await
    .map_err(|e| GuardError::Audit {
        message: e.to_string(),
    })?;
    let outcome_warning = done.outcome.err().map(|e| {
        format!("the peek ran, but its outcome could not be written to the audit log: {e}")
    });
    match done.result {
        Ok(v) => Ok(v),
        Err(error) => Err(GuardError::Failed {
            action: PEEK_ACTION.into(),
            target: plan.queue_name.clone(),
            code: super::error_code(&error),
            error,
            intent_id: done.intent_id,
            outcome_warning,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn queue(redrive: Option<u32>) -> Queue {
        let mut q = Queue::pending("http://x/123456789012/claims-validation", "us-east-1");
        q.visible = 2;
        q.redrive = redrive.map(|m| RedrivePolicy {
            dead_letter_target_arn: "arn:aws:sqs:us-east-1:123456789012:claims-validation-dlq"
                .into(),
            max_receive_count: m,
        });
        q
    }

    fn seen(highest: u32) -> Option<SeenCounts> {
        Some(SeenCounts {
            messages: 2,
            highest,
            at: Utc::now(),
            oldest: None,
        })
    }

    fn refused(r: Result<PeekPlan, GuardError>) -> String {
        match r {
            Err(e @ GuardError::Refused { .. }) => e.to_string(),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_queue_without_redrive_policy_can_be_peeked_and_the_plan_says_what_rises() {
        let p = assess(&queue(None), None, "here".into(), Utc::now()).unwrap();
        let text = p.lines().join("\n");
        assert!(text.contains("no redrive policy"), "{text}");
        assert!(text.contains("+1 on its receive count"), "{text}");
        let again = assess(&queue(None), seen(7), "here".into(), Utc::now()).unwrap();
        let text = again.lines().join("\n");
        assert!(
            text.contains("the 2 messages already peeked go up again, to 8 at most"),
            "{text}"
        );
    }

    #[test]
    fn a_source_queue_is_refused_whatever_its_counts_and_the_dlq_is_named() {
        let e = refused(assess(&queue(Some(5)), None, "here".into(), Utc::now()));
        assert!(e.contains("receive counts are unknown"), "{e}");
        assert!(e.contains("maxReceiveCount 5"), "{e}");
        assert!(e.contains("Peek the DLQ claims-validation-dlq"), "{e}");
        for max in [1u32, 2, 3, 10, 1000] {
            for highest in [0u32, 1, max.saturating_sub(2), max] {
                let e = refused(assess(
                    &queue(Some(max)),
                    seen(highest),
                    "here".into(),
                    Utc::now(),
                ));
                assert!(
                    e.contains(&format!("highest receive count seen was {highest}")),
                    "{e}"
                );
                assert!(e.contains(&format!("maxReceiveCount {max}")), "{e}");
            }
        }
    }

    #[test]
    fn a_redrive_policy_that_cannot_be_read_is_refused_not_ignored() {
        for raw in [
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:d","maxReceiveCount":5.0}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:d","maxReceiveCount":"5 "}"#,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:d"}"#,
            "not json",
        ] {
            let mut q = queue(None);
            q.redrive = crate::cloud::sqs::parse_redrive(raw);
            assert!(q.redrive.is_none(), "{raw} parsed");
            q.attributes.insert("RedrivePolicy".into(), raw.into());
            let e = refused(assess(&q, None, "here".into(), Utc::now()));
            assert!(e.contains("cannot read"), "{e}");
        }
        // An empty attribute is no policy.
        let mut q = queue(None);
        q.attributes.insert("RedrivePolicy".into(), String::new());
        assert!(assess(&q, None, "here".into(), Utc::now()).is_ok());
    }

    #[test]
    fn seen_counts_take_the_highest() {
        let m = |c| Message {
            id: format!("m{c}"),
            sent: None,
            receive_count: c,
            group_id: None,
            size: 0,
            attributes: BTreeMap::new(),
            body: String::new(),
        };
        let s = SeenCounts::of(&[m(1), m(4), m(2)], Utc::now()).unwrap();
        assert_eq!((s.messages, s.highest), (3, 4));
        assert!(SeenCounts::of(&[], Utc::now()).is_none());
    }
}
