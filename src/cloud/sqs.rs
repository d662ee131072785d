//! SQS: queues with their depths, encryption, redrive (DLQ) and redrive-allow policies, access
//! policy and tags.

use super::error::from_sdk;
use super::{Cloud, CloudError};
use aws_sdk_sqs::types::QueueAttributeName;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// How a queue's messages are encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueEncryption {
    /// A KMS key (id, ARN or alias, as configured).
    Kms(String),
    SqsManaged,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub fifo: bool,
    pub visible: u64,
    pub in_flight: u64,
    pub delayed: u64,
    pub encryption: QueueEncryption,
    pub redrive: Option<RedrivePolicy>,
    /// Raw RedriveAllowPolicy JSON, when set.
    pub redrive_allow: Option<String>,
    /// Raw access policy JSON, when set.
    pub policy: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub visibility_timeout: Option<u32>,
    pub retention_seconds: Option<u32>,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    /// ARNs of queues whose redrive policy targets this queue (filled by [`link_dead_letter_queues`]).
    pub sources: Vec<String>,
}

impl Queue {
    /// A queue known only by its URL (ListQueues), its details still loading: the name, and
    /// the ARN the URL implies (`…/ACCOUNT/NAME` in `region`), so its row keeps its key when
    /// the details arrive.
    pub fn pending(url: &str, region: &str) -> Queue {
        let name = name_of(url);
        let account = url
            .trim_end_matches('/')
            .rsplit('/')
            .nth(1)
            .unwrap_or_default()
            .to_string();
        Queue {
            arn: format!(
                "arn:{}:sqs:{region}:{account}:{name}",
                crate::validate::partition_of(region)
            ),
            fifo: name.ends_with(".fifo"),
            name,
            url: url.to_string(),
            visible: 0,
            in_flight: 0,
            delayed: 0,
            encryption: QueueEncryption::None,
            redrive: None,
            redrive_allow: None,
            policy: None,
            created: None,
            visibility_timeout: None,
            retention_seconds: None,
            attributes: BTreeMap::new(),
            tags: BTreeMap::new(),
            sources: Vec::new(),
        }
    }

    /// A queue is a DLQ when another queue's redrive policy targets it.
    pub fn is_dlq(&self) -> bool {
        !self.sources.is_empty()
    }
    pub fn depth(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

pub(crate) fn name_of(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_string()
}

/// Parses a RedrivePolicy attribute (AWS writes maxReceiveCount as a number or a string).
pub fn parse_redrive(json: &str) -> Option<RedrivePolicy> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let target = v.get("deadLetterTargetArn")?.as_str()?.to_string();
    let max = match v.get("maxReceiveCount")? {
        serde_json::Value::Number(n) => u32::try_from(n.as_u64()?).ok()?,
        serde_json::Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some(RedrivePolicy {
        dead_letter_target_arn: target,
        max_receive_count: max,
    })
}

/// Fills `sources` of every queue from the others' redrive policies.
pub fn link_dead_letter_queues(queues: &mut [Queue]) {
    let mut by_target: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for q in queues.iter() {
        if let Some(r) = &q.redrive {
            by_target
                .entry(r.dead_letter_target_arn.clone())
                .or_default()
                .push(q.arn.clone());
        }
    }
    for q in queues.iter_mut() {
        q.sources = by_target.remove(&q.arn).unwrap_or_default();
    }
}

fn num(attrs: &BTreeMap<String, String>, k: &str) -> u64 {
    attrs.get(k).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl Cloud {
    /// Every queue URL (ListQueues paged to the end).
    pub async fn list_queue_urls(&self, prefix: Option<&str>) -> Result<Vec<String>, CloudError> {
        let mut urls = Vec::new();
        self.queue_url_pages(prefix, |page| urls.extend(page))
            .await?;
        Ok(urls)
    }

    /// ListQueues page by page: `page` gets each page's URLs as it arrives.
    pub async fn queue_url_pages(
        &self,
        prefix: Option<&str>,
        mut page: impl FnMut(Vec<String>),
    ) -> Result<(), CloudError> {
        self.alive()?;
        let mut token = None;
        loop {
            let out = self
                .sqs
                .list_queues()
                .set_queue_name_prefix(prefix.map(str::to_string))
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| from_sdk("ListQueues", "queues", e))?;
            page(out.queue_urls().to_vec());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(())
    }

    /// The URL of the queue named by `arn` (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`), by
    /// GetQueueUrl with the owner's account.
    pub async fn queue_url_of_arn(&self, arn: &str) -> Result<String, CloudError> {
        self.alive()?;
        let mut parts = arn.split(':');
        let account = parts.nth(4).unwrap_or_default().to_string();
        let name = parts.next().unwrap_or_default().to_string();
        let out = self
            .sqs
            .get_queue_url()
            .queue_name(&name)
            .set_queue_owner_aws_account_id((!account.is_empty()).then_some(account))
            .send()
            .await
            .map_err(|e| from_sdk("GetQueueUrl", &format!("queue {name}"), e))?;
        Ok(out.queue_url().unwrap_or_default().to_string())
    }

    /// One queue with all its attributes and tags.
    pub async fn queue(&self, url: &str) -> Result<Queue, CloudError> {
        self.alive()?;
        queue_details(self.sqs.clone(), url.to_string()).await
    }

    /// Every queue with attributes and tags, per-queue calls with bounded concurrency, and the
    /// DLQ links filled in.
    pub async fn list_queues(&self) -> Result<Vec<Queue>, CloudError> {
        let urls = self.list_queue_urls(None).await?;
        let client = self.sqs.clone();
        // Each queue makes its CALLS_PER_QUEUE calls at once: as many calls in flight as the
        // adapter's concurrency, not twice as many.
        let mut queues = self
            .clone()
            .with_concurrency(self.concurrency() / CALLS_PER_QUEUE)
            .bounded(urls, move |url| queue_details(client.clone(), url))
            .await?;
        link_dead_letter_queues(&mut queues);
        Ok(queues)
    }
}

/// The calls one queue's details take (GetQueueAttributes, ListQueueTags), made at once.
pub const CALLS_PER_QUEUE: usize = 2;

async fn queue_details(client: aws_sdk_sqs::Client, url: String) -> Result<Queue, CloudError> {
    let what = format!("queue {}", name_of(&url));
    // Both calls at once: one round trip per queue (callers count 2 calls in flight per queue).
    let (out, tags) = tokio::join!(
        client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::All)
            .send(),
        client.list_queue_tags().queue_url(&url).send()
    );
    let out = out.map_err(|e| from_sdk("GetQueueAttributes", &what, e))?;
    let attrs: BTreeMap<String, String> = out
        .attributes()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    let tags = tags
        .map_err(|e| from_sdk("ListQueueTags", &what, e))?
        .tags()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let encryption = match attrs.get("KmsMasterKeyId").filter(|k| !k.is_empty()) {
        Some(k) => QueueEncryption::Kms(k.clone()),
        None if attrs.get("SqsManagedSseEnabled").map(String::as_str) == Some("true") => {
            QueueEncryption::SqsManaged
        }
        None => QueueEncryption::None,
    };
    Ok(Queue {
        name: name_of(&url),
        arn: attrs.get("QueueArn").cloned().unwrap_or_default(),
        fifo: attrs.get("FifoQueue").map(String::as_str) == Some("true") || url.ends_with(".fifo"),
        visible: num(&attrs, "ApproximateNumberOfMessages"),
        in_flight: num(&attrs, "ApproximateNumberOfMessagesNotVisible"),
        delayed: num(&attrs, "ApproximateNumberOfMessagesDelayed"),
        encryption,
        redrive: attrs.get("RedrivePolicy").and_then(|r| parse_redrive(r)),
        redrive_allow: attrs
            .get("RedriveAllowPolicy")
            .cloned()
            .filter(|s| !s.is_empty()),
        policy: attrs.get("Policy").cloned().filter(|s| !s.is_empty()),
        created: attrs
            .get("CreatedTimestamp")
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(|t| DateTime::from_timestamp(t, 0)),
        visibility_timeout: attrs.get("VisibilityTimeout").and_then(|v| v.parse().ok()),
        retention_seconds: attrs
            .get("MessageRetentionPeriod")
            .and_then(|v| v.parse().ok()),
        url,
        attributes: attrs,
        tags,
        sources: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redrive_policy_parses_both_number_forms() {
        let r = parse_redrive(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:q-dlq","maxReceiveCount":"5"}"#,
        )
        .unwrap();
        assert_eq!(r.max_receive_count, 5);
        let r = parse_redrive(
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:1:q-dlq","maxReceiveCount":3}"#,
        )
        .unwrap();
        assert_eq!(r.max_receive_count, 3);
        assert!(parse_redrive("not json").is_none());
    }
}

/// A message seen by peeking at a queue. The body may carry PHI: the console keeps it in
/// memory, never logs it, and shows it only after a recorded reveal.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub sent: Option<DateTime<Utc>>,
    pub receive_count: u32,
    /// The message group of a FIFO queue's message.
    pub group_id: Option<String>,
    pub size: usize,
    /// String message attributes (e.g. the error code a failed stage attached).
    pub attributes: BTreeMap<String, String>,
    pub body: String,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("id", &self.id)
            .field("receive_count", &self.receive_count)
            .field("size", &self.size)
            .field("body", &"<hidden>")
            .finish_non_exhaustive()
    }
}

/// How long peeked messages stay hidden while the console pages through a queue (they are made
/// visible again right after; this bounds the wait for consumers if that fails).
pub const PEEK_HIDE_SECONDS: i32 = 30;

fn message_of(m: &aws_sdk_sqs::types::Message) -> Message {
    let r = super::sqs_batch::received_of(m);
    Message {
        size: r.body.len(),
        attributes: r
            .attributes
            .into_iter()
            .filter_map(|(k, v)| v.string.map(|s| (k, s)))
            .collect(),
        id: r.id,
        sent: r.sent,
        receive_count: r.receive_count,
        group_id: r.group_id,
        body: r.body,
    }
}

impl Cloud {
    /// Up to `max` messages of a queue without taking them, as the AWS console's "poll for
    /// messages" does: each page is received with a short visibility timeout (so the next page
    /// brings other messages), then every message is made visible again at once with
    /// ChangeMessageVisibility 0. Receive counts go up by one, as with any receive.
    pub async fn peek_messages(&self, url: &str, max: usize) -> Result<Vec<Message>, CloudError> {
        self.alive()?;
        let what = format!("queue {}", name_of(url));
        let mut out: Vec<Message> = Vec::new();
        let mut handles: Vec<String> = Vec::new();
        let mut received: Result<(), CloudError> = Ok(());
        // A message comes back to a later page only when its hide time ran out (a slow or
        // retried receive, a scaled clock): receiving it again would add a second receive to
        // its count. So the peek stops at the first page holding a message it already has,
        // and stops receiving well before the first page's hide time can run out.
        let started = std::time::Instant::now();
        let deadline = std::time::Duration::from_secs(PEEK_HIDE_SECONDS as u64 / 3);
        while out.len() < max && started.elapsed() < deadline {
            let r = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(PEEK_HIDE_SECONDS)
                .wait_time_seconds(0)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .message_attribute_names("All")
                .send()
                .await;
            let r = match r {
                Ok(r) => r,
                Err(e) => {
                    received = Err(from_sdk("ReceiveMessage", &what, e));
                    break;
                }
            };
            if r.messages().is_empty() {
                break;
            }
            let mut again = false;
            for m in r.messages() {
                handles.extend(m.receipt_handle().map(str::to_string));
                if out.iter().any(|x| Some(x.id.as_str()) == m.message_id()) {
                    again = true;
                } else {
                    out.push(message_of(m));
                }
            }
            if again {
                break;
            }
        }
        // Give every message back to its consumers now, whatever happened above.
        for (n, chunk) in handles.chunks(10).enumerate() {
            let entries: Vec<_> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, h)| {
                    aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(format!("m{n}-{i}"))
                        .receipt_handle(h)
                        .visibility_timeout(0)
                        .build()
                        .ok()
                })
                .collect();
            let _ = self
                .sqs
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await;
        }
        received?;
        out.truncate(max);
        Ok(out)
    }
}

/// A message move task (DLQ redrive) as ListMessageMoveTasks shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MoveTask {
    /// Present while the task is `RUNNING` (the handle CancelMessageMoveTask takes).
    pub handle: Option<String>,
    /// `RUNNING`, `COMPLETED`, `CANCELLING`, `CANCELLED` or `FAILED`.
    pub status: String,
    pub source_arn: String,
    /// `None`: the messages go back to the queues they came from.
    pub destination_arn: Option<String>,
    pub rate: Option<i32>,
    pub moved: u64,
    pub to_move: Option<u64>,
    pub failure: Option<String>,
    pub started: Option<DateTime<Utc>>,
}

impl MoveTask {
    /// The task has ended (it will not move more messages).
    pub fn is_terminal(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "CANCELLED" | "FAILED")
    }
}

/// A move task that was started: its handle, and the request id of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveTaskStarted {
    pub handle: String,
    pub request_id: String,
}

impl Cloud {
    /// The URLs of the queues whose redrive policy targets `url` (ListDeadLetterSourceQueues,
    /// paged to the end): empty when `url` is nobody's DLQ.
    pub async fn dead_letter_sources(&self, url: &str) -> Result<Vec<String>, CloudError> {
        self.alive()?;
        let what = format!("queue {}", name_of(url));
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let r = self
                .sqs
                .list_dead_letter_source_queues()
                .queue_url(url)
                .set_next_token(token.take())
                .max_results(1000)
                .send()
                .await
                .map_err(|e| from_sdk("ListDeadLetterSourceQueues", &what, e))?;
            out.extend(r.queue_urls().iter().cloned());
            match r.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Starts moving the messages of the DLQ `source_arn` (StartMessageMoveTask): to
    /// `destination_arn`, else back to the queues they came from; at most `rate` messages a
    /// second (`None`: as fast as SQS goes).
    pub async fn start_message_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        rate: Option<i32>,
    ) -> Result<MoveTaskStarted, CloudError> {
        use aws_types::request_id::RequestId;
        self.alive()?;
        let out = self
            .sqs
            .start_message_move_task()
            .source_arn(source_arn)
            .set_destination_arn(destination_arn.map(str::to_string))
            .set_max_number_of_messages_per_second(rate)
            .send()
            .await
            .map_err(|e| from_sdk("StartMessageMoveTask", &format!("queue {source_arn}"), e))?;
        Ok(MoveTaskStarted {
            handle: out.task_handle().unwrap_or_default().to_string(),
            request_id: out.request_id().unwrap_or_default().to_string(),
        })
    }

    /// The most recent move tasks of the queue `source_arn`, newest first (at most 10, as SQS
    /// keeps them).
    pub async fn list_message_move_tasks(
        &self,
        source_arn: &str,
    ) -> Result<Vec<MoveTask>, CloudError> {
        self.alive()?;
        let out = self
            .sqs
            .list_message_move_tasks()
            .source_arn(source_arn)
            .max_results(10)
            .send()
            .await
            .map_err(|e| from_sdk("ListMessageMoveTasks", &format!("queue {source_arn}"), e))?;
        Ok(out
            .results()
            .iter()
            .map(|t| MoveTask {
                handle: t.task_handle().map(str::to_string),
                status: t.status().unwrap_or_default().to_string(),
                source_arn: t.source_arn().unwrap_or(source_arn).to_string(),
                destination_arn: t.destination_arn().map(str::to_string),
                rate: t.max_number_of_messages_per_second(),
                moved: u64::try_from(t.approximate_number_of_messages_moved()).unwrap_or(0),
                to_move: t
                    .approximate_number_of_messages_to_move()
                    .and_then(|n| u64::try_from(n).ok()),
                failure: t.failure_reason().map(str::to_string),
                started: DateTime::from_timestamp_millis(t.started_timestamp()),
            })
            .collect())
    }

    /// The recent move tasks of every dead-letter queue (ListQueues with their redrive
    /// policies, then ListMessageMoveTasks per DLQ, several at once), newest first per DLQ.
    pub async fn list_all_move_tasks(&self) -> Result<Vec<MoveTask>, CloudError> {
        let queues = self.list_queues().await?;
        let dlqs: Vec<String> = queues
            .into_iter()
            .filter(|q| q.is_dlq())
            .map(|q| q.arn)
            .collect();
        // One call per DLQ, with bounded concurrency (results in the DLQs' order).
        let me = self.clone();
        let lists = self
            .bounded(dlqs, move |arn| {
                let c = me.clone();
                async move { c.list_message_move_tasks(&arn).await }
            })
            .await?;
        Ok(lists.into_iter().flatten().collect())
    }

    /// Cancels a running move task; returns how many messages it had moved, and the request id.
    pub async fn cancel_message_move_task(
        &self,
        handle: &str,
    ) -> Result<(u64, String), CloudError> {
        use aws_types::request_id::RequestId;
        self.alive()?;
        let out = self
            .sqs
            .cancel_message_move_task()
            .task_handle(handle)
            .send()
            .await
            .map_err(|e| from_sdk("CancelMessageMoveTask", "message move task", e))?;
        Ok((
            u64::try_from(out.approximate_number_of_messages_moved()).unwrap_or(0),
            out.request_id().unwrap_or_default().to_string(),
        ))
    }
}
