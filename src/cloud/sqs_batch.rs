//! SQS batch calls for moving messages between queues (the selective redrive): receive with
//! everything a message carries, send a batch keeping body, attributes, group and
//! deduplication id, delete a batch, and give messages back (visibility 0). Each batch call
//! answers per entry: [`BatchOutcome`] keeps which entries succeeded and which failed, in
//! AWS's words.

use super::error::from_sdk;
use super::sqs::name_of;
use super::{Cloud, CloudError};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageAttributeValue, MessageSystemAttributeName as A, SendMessageBatchRequestEntry,
};
use chrono::{DateTime, Utc};

/// A message attribute's value, as SQS carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct AttrValue {
    /// `String`, `Number`, `Binary`, or one of those with a custom suffix (`Number.int`).
    pub data_type: String,
    pub string: Option<String>,
    pub binary: Option<Vec<u8>>,
}

/// A message received to be moved. Its body may carry PHI: it is kept in memory only between
/// its receive and its send, never logged, never shown (`Debug` hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct Received {
    pub id: String,
    pub receipt: String,
    pub body: String,
    pub attributes: Vec<(String, AttrValue)>,
    pub sent: Option<DateTime<Utc>>,
    pub receive_count: u32,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("id", &self.id)
            .field("receive_count", &self.receive_count)
            .field("body", &"<hidden>")
            .finish_non_exhaustive()
    }
}

impl Received {
    /// The string value of the attribute `name` (String and Number attributes).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.string.as_deref())
    }
}

/// A message to send: the entry id names it in the answer.
#[derive(Clone)]
pub struct Outgoing<'a> {
    pub entry: String,
    pub message: &'a Received,
    /// For a FIFO destination: the deduplication id to send with.
    pub dedup_id: Option<String>,
}

/// One failed entry of a batch call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryFailure {
    pub entry: String,
    pub code: String,
    pub message: String,
    /// AWS says the request itself was wrong (retrying will not help).
    pub sender_fault: bool,
}

/// What a batch call did, entry by entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    pub succeeded: Vec<String>,
    pub failed: Vec<EntryFailure>,
}

/// A received message in the console's terms (shared with the peek's [`super::sqs::Message`]).
pub(crate) fn received_of(m: &aws_sdk_sqs::types::Message) -> Received {
    let sys = m.attributes();
    let get = |k: A| sys.and_then(|a| a.get(&k)).cloned();
    let mut attributes: Vec<(String, AttrValue)> = m
        .message_attributes()
        .map(|a| {
            a.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        AttrValue {
                            data_type: v.data_type().to_string(),
                            string: v.string_value().map(str::to_string),
                            binary: v.binary_value().map(|b| b.as_ref().to_vec()),
                        },
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    attributes.sort_by(|a, b| a.0.cmp(&b.0));
    Received {
        id: m.message_id().unwrap_or_default().to_string(),
        receipt: m.receipt_handle().unwrap_or_default().to_string(),
        body: m.body().unwrap_or_default().to_string(),
        attributes,
        sent: get(A::SentTimestamp)
            .and_then(|t| t.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis),
        receive_count: get(A::ApproximateReceiveCount)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        group_id: get(A::MessageGroupId),
        dedup_id: get(A::MessageDeduplicationId),
    }
}

/// A batch answer: the ids of the entries that succeeded, and the failed ones in AWS's words.
fn outcome<'a>(
    succeeded: impl Iterator<Item = &'a str>,
    failed: &[aws_sdk_sqs::types::BatchResultErrorEntry],
) -> BatchOutcome {
    BatchOutcome {
        succeeded: succeeded.map(str::to_string).collect(),
        failed: failed
            .iter()
            .map(|f| EntryFailure {
                entry: f.id().to_string(),
                code: f.code().to_string(),
                message: f.message().unwrap_or_default().to_string(),
                sender_fault: f.sender_fault(),
            })
            .collect(),
    }
}

impl Cloud {
    /// Up to 10 messages, hidden for `visibility` seconds, with their attributes; waits up to
    /// `wait` seconds for one to arrive (long polling).
    pub async fn receive_to_move(
        &self,
        url: &str,
        visibility: i32,
        wait: i32,
    ) -> Result<Vec<Received>, CloudError> {
        self.alive()?;
        let r = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility)
            .wait_time_seconds(wait)
            .message_system_attribute_names(A::All)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| from_sdk("ReceiveMessage", &format!("queue {}", name_of(url)), e))?;
        Ok(r.messages().iter().map(received_of).collect())
    }

    /// Sends up to 10 messages to `url` in one SendMessageBatch, keeping each one's body,
    /// attributes and group id. One attempt: never retried by the SDK.
    pub async fn send_batch(
        &self,
        url: &str,
        messages: &[Outgoing<'_>],
    ) -> Result<BatchOutcome, CloudError> {
        self.alive()?;
        let mut entries = Vec::with_capacity(messages.len());
        for o in messages {
            let m = o.message;
            let mut e = SendMessageBatchRequestEntry::builder()
                .id(&o.entry)
                .message_body(&m.body)
                .set_message_group_id(m.group_id.clone())
                .set_message_deduplication_id(o.dedup_id.clone());
            for (k, v) in &m.attributes {
                let value = MessageAttributeValue::builder()
                    .data_type(&v.data_type)
                    .set_string_value(v.string.clone())
                    .set_binary_value(v.binary.clone().map(Blob::new))
                    .build()
                    .map_err(|e| invalid("SendMessageBatch", e))?;
                e = e.message_attributes(k, value);
            }
            entries.push(e.build().map_err(|e| invalid("SendMessageBatch", e))?);
        }
        // No retry by the SDK: a send whose answer was lost (a timeout, a 5xx) may have been
        // applied, and sending it again would deliver it twice. The caller decides.
        let out = self
            .sqs
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .customize()
            .config_override(
                aws_sdk_sqs::config::Builder::default()
                    .retry_config(aws_smithy_types::retry::RetryConfig::disabled()),
            )
            .send()
            .await
            .map_err(|e| from_sdk("SendMessageBatch", &format!("queue {}", name_of(url)), e))?;
        Ok(outcome(
            out.successful().iter().map(|s| s.id()),
            out.failed(),
        ))
    }

    /// Deletes up to 10 messages (entry id, receipt handle) in one DeleteMessageBatch.
    pub async fn delete_batch(
        &self,
        url: &str,
        receipts: &[(String, String)],
    ) -> Result<BatchOutcome, CloudError> {
        self.alive()?;
        let entries = receipts
            .iter()
            .map(|(id, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(h)
                    .build()
                    .map_err(|e| invalid("DeleteMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| from_sdk("DeleteMessageBatch", &format!("queue {}", name_of(url)), e))?;
        Ok(outcome(
            out.successful().iter().map(|s| s.id()),
            out.failed(),
        ))
    }

    /// Makes up to 10 received messages visible again at once (ChangeMessageVisibilityBatch 0).
    pub async fn release_batch(
        &self,
        url: &str,
        receipts: &[(String, String)],
    ) -> Result<BatchOutcome, CloudError> {
        self.alive()?;
        let entries = receipts
            .iter()
            .map(|(id, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(h)
                    .visibility_timeout(0)
                    .build()
                    .map_err(|e| invalid("ChangeMessageVisibilityBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .sqs
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "ChangeMessageVisibilityBatch",
                    &format!("queue {}", name_of(url)),
                    e,
                )
            })?;
        Ok(outcome(
            out.successful().iter().map(|s| s.id()),
            out.failed(),
        ))
    }
}

/// A request the SDK's builder refused (a missing required field): nothing was sent.
fn invalid(operation: &str, e: impl std::fmt::Display) -> CloudError {
    CloudError::Invalid {
        operation: operation.to_string(),
        code: "InvalidParameterValue".into(),
        message: e.to_string(),
        request_id: None,
    }
}
