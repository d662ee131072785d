//! SQS (awsJson 1.0, query-compatible): queues and their attributes, messages with visibility
//! timeouts, receive counts and the move to a dead-letter queue, FIFO ordering and
//! deduplication, and message move tasks (DLQ redrive) that progress over emulated time.

use super::Ctx;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::util::{hex, random_bytes, random_unit, uuid};
use crate::emulator::wire::json::JsonInput;
use crate::emulator::world::World;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use md5::{Digest, Md5};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Attributes a caller may set, with their defaults.
const SETTABLE: &[(&str, Option<&str>)] = &[
    ("DelaySeconds", Some("0")),
    ("MaximumMessageSize", Some("262144")),
    ("MessageRetentionPeriod", Some("345600")),
    ("ReceiveMessageWaitTimeSeconds", Some("0")),
    ("VisibilityTimeout", Some("30")),
    ("Policy", None),
    ("RedrivePolicy", None),
    ("RedriveAllowPolicy", None),
    ("KmsMasterKeyId", None),
    ("KmsDataKeyReusePeriodSeconds", None),
    ("SqsManagedSseEnabled", None),
    ("FifoQueue", None),
    ("ContentBasedDeduplication", None),
    ("DeduplicationScope", None),
    ("FifoThroughputLimit", None),
];

const COMPUTED: &[&str] = &[
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
];

#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub body: String,
    pub md5_body: String,
    /// `{Name: {DataType, StringValue | BinaryValue}}`
    pub attributes: Map<String, Value>,
    pub md5_attributes: Option<String>,
    pub sent: DateTime<Utc>,
    /// When the message can next be received (delay or visibility timeout).
    pub available_at: DateTime<Utc>,
    pub receive_count: u32,
    pub first_receive: Option<DateTime<Utc>>,
    /// Nonce of the current receipt handle.
    pub receipt: Option<String>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence: Option<String>,
    pub sender_id: String,
    /// Set when the message was moved here from a source queue after maxReceiveCount.
    pub dead_letter_source_arn: Option<String>,
    /// Extra system attributes kept verbatim (e.g. AWSTraceHeader).
    pub system: BTreeMap<String, String>,
}

impl Message {
    fn in_flight(&self, now: DateTime<Utc>) -> bool {
        self.available_at > now && self.receive_count > 0
    }
    fn delayed(&self, now: DateTime<Utc>) -> bool {
        self.available_at > now && self.receive_count == 0
    }
}

#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub url: String,
    pub arn: String,
    pub fifo: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub attributes: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub messages: Vec<Message>,
    dedup: HashMap<String, (DateTime<Utc>, String)>,
}

impl Queue {
    fn attr_i64(&self, name: &str) -> i64 {
        self.attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                SETTABLE
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, d)| d.and_then(|d| d.parse().ok()))
                    .unwrap_or(0)
            })
    }
    /// (deadLetterTargetArn, maxReceiveCount) of the RedrivePolicy.
    pub fn redrive(&self) -> Option<(String, u32)> {
        let v: Value = serde_json::from_str(self.attributes.get("RedrivePolicy")?).ok()?;
        let target = v.get("deadLetterTargetArn")?.as_str()?.to_string();
        let max = match v.get("maxReceiveCount")? {
            Value::Number(n) => n.as_u64()? as u32,
            Value::String(s) => s.parse().ok()?,
            _ => return None,
        };
        Some((target, max))
    }
    pub fn counts(&self, now: DateTime<Utc>) -> (usize, usize, usize) {
        let mut visible = 0;
        let mut inflight = 0;
        let mut delayed = 0;
        for m in &self.messages {
            if m.in_flight(now) {
                inflight += 1;
            } else if m.delayed(now) {
                delayed += 1;
            } else {
                visible += 1;
            }
        }
        (visible, inflight, delayed)
    }
}

#[derive(Debug, Clone)]
pub struct MoveTask {
    pub handle: String,
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub rate: u32,
    pub status: String,
    pub started: DateTime<Utc>,
    pub to_move: u64,
    pub moved: u64,
    pub failure: Option<String>,
}

#[derive(Debug, Default)]
pub struct SqsState {
    pub queues: BTreeMap<String, Queue>,
    pub move_tasks: Vec<MoveTask>,
    /// Base of queue URLs (`http://127.0.0.1:PORT`); set when the server starts.
    pub base_url: String,
    sequence: u64,
}

fn err(code: &str, legacy: &str, msg: impl Into<String>) -> ApiError {
    ApiError::client(code, msg).with_query_code(legacy)
}
fn no_queue() -> ApiError {
    err(
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
    )
}
fn invalid_param(msg: impl Into<String>) -> ApiError {
    err("InvalidParameterValue", "InvalidParameterValue", msg)
}
fn invalid_attr_value(msg: impl Into<String>) -> ApiError {
    err("InvalidAttributeValue", "InvalidAttributeValue", msg)
}
fn missing(name: &str) -> ApiError {
    err(
        "MissingParameter",
        "MissingParameter",
        format!("The request must contain the parameter {name}."),
    )
}

pub fn md5_hex(data: &[u8]) -> String {
    hex(&Md5::digest(data))
}

/// MD5 of message attributes as SQS defines it (sorted names, length-prefixed fields).
pub fn md5_of_attributes(attrs: &Map<String, Value>) -> Option<String> {
    if attrs.is_empty() {
        return None;
    }
    let mut buf = Vec::new();
    let mut names: Vec<&String> = attrs.keys().collect();
    names.sort();
    for name in names {
        let a = &attrs[name];
        let dt = a.str_opt("DataType").unwrap_or("String");
        for part in [name.as_bytes(), dt.as_bytes()] {
            buf.extend_from_slice(&(part.len() as u32).to_be_bytes());
            buf.extend_from_slice(part);
        }
        if let Some(s) = a.str_opt("StringValue") {
            buf.push(1);
            buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        } else if let Some(b) = a.str_opt("BinaryValue") {
            let bytes = B64.decode(b).unwrap_or_default();
            buf.push(2);
            buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            buf.extend_from_slice(&bytes);
        }
    }
    Some(md5_hex(&buf))
}

impl SqsState {
    pub fn queue_url(&self, account: &str, name: &str) -> String {
        let base = if self.base_url.is_empty() {
            "https://sqs.us-east-1.amazonaws.com"
        } else {
            &self.base_url
        };
        format!("{base}/{account}/{name}")
    }
    /// The queue a URL names (any host; the last path segment is the name).
    pub fn by_url(&self, url: &str) -> ApiResult<&Queue> {
        let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        self.queues.get(name).ok_or_else(no_queue)
    }
    fn by_url_mut(&mut self, url: &str) -> ApiResult<&mut Queue> {
        let name = url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_string();
        self.queues.get_mut(&name).ok_or_else(no_queue)
    }
    pub fn by_arn(&self, arn: &str) -> Option<&Queue> {
        self.queues.values().find(|q| q.arn == arn)
    }
    fn name_by_arn(&self, arn: &str) -> Option<String> {
        self.by_arn(arn).map(|q| q.name.clone())
    }
}

pub fn handle(w: &mut World, ctx: &Ctx, op: &str, input: &Value) -> ApiResult<Value> {
    match op {
        "CreateQueue" => create_queue(w, ctx, input),
        "GetQueueUrl" => {
            let name = input
                .str_opt("QueueName")
                .ok_or_else(|| missing("QueueName"))?;
            let q = w.sqs.queues.get(name).ok_or_else(no_queue)?;
            Ok(json!({ "QueueUrl": q.url }))
        }
        "ListQueues" => list_queues(w, input),
        "DeleteQueue" => {
            let url = input
                .str_opt("QueueUrl")
                .ok_or_else(|| missing("QueueUrl"))?;
            let name = w.sqs.by_url(url)?.name.clone();
            w.sqs.queues.remove(&name);
            Ok(json!({}))
        }
        "PurgeQueue" => {
            let q = w.sqs.by_url_mut(url_of(input)?)?;
            q.messages.clear();
            Ok(json!({}))
        }
        "GetQueueAttributes" => get_attributes(w, ctx, input),
        "SetQueueAttributes" => {
            let url = url_of(input)?.to_string();
            let attrs = string_map(input, "Attributes")?;
            let name = w.sqs.by_url(&url)?.name.clone();
            set_attributes(w, ctx, &name, &attrs, false)?;
            Ok(json!({}))
        }
        "ListQueueTags" => {
            let q = w.sqs.by_url(url_of(input)?)?;
            Ok(if q.tags.is_empty() {
                json!({})
            } else {
                json!({ "Tags": q.tags })
            })
        }
        "TagQueue" => {
            let tags = string_map(input, "Tags")?;
            let q = w.sqs.by_url_mut(url_of(input)?)?;
            q.tags.extend(tags);
            Ok(json!({}))
        }
        "UntagQueue" => {
            let keys: Vec<String> = input
                .arr("TagKeys")
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let q = w.sqs.by_url_mut(url_of(input)?)?;
            for k in keys {
                q.tags.remove(&k);
            }
            Ok(json!({}))
        }
        "ListDeadLetterSourceQueues" => list_dlq_sources(w, input),
        "SendMessage" => {
            let url = url_of(input)?.to_string();
            let r = send(w, ctx, &url, input)?;
            Ok(r)
        }
        "SendMessageBatch" => send_batch(w, ctx, input),
        "ReceiveMessage" => receive(w, ctx, input),
        "DeleteMessage" => {
            let url = url_of(input)?.to_string();
            let rh = input
                .str_opt("ReceiptHandle")
                .ok_or_else(|| missing("ReceiptHandle"))?;
            delete_one(w, &url, rh)?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => batch(w, ctx, input, |w, url, e| {
            let rh = e
                .str_opt("ReceiptHandle")
                .ok_or_else(|| missing("ReceiptHandle"))?;
            delete_one(w, url, rh).map(|_| json!({}))
        }),
        "ChangeMessageVisibility" => {
            let url = url_of(input)?.to_string();
            change_visibility(w, ctx, &url, input)?;
            Ok(json!({}))
        }
        "ChangeMessageVisibilityBatch" => {
            let now = ctx.now;
            batch(w, ctx, input, move |w, url, e| {
                let c = Ctx { now, ..ctx.clone() };
                change_visibility(w, &c, url, e).map(|_| json!({}))
            })
        }
        "StartMessageMoveTask" => start_move_task(w, ctx, input),
        "ListMessageMoveTasks" => list_move_tasks(w, input),
        "CancelMessageMoveTask" => cancel_move_task(w, input),
        _ => Err(err(
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            format!("The operation {op} is not supported by the emulator"),
        )),
    }
}

fn url_of(input: &Value) -> ApiResult<&str> {
    input.str_opt("QueueUrl").ok_or_else(|| missing("QueueUrl"))
}

fn string_map(input: &Value, name: &str) -> ApiResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    if let Some(m) = input.obj(name) {
        for (k, v) in m {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(invalid_attr_value(format!(
                        "Value for {k} must be a string"
                    )));
                }
            };
            out.insert(k.clone(), s);
        }
    }
    Ok(out)
}

fn valid_queue_name(name: &str) -> bool {
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    !base.is_empty()
        && name.len() <= 80
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn create_queue(w: &mut World, ctx: &Ctx, input: &Value) -> ApiResult<Value> {
    let name = input
        .str_opt("QueueName")
        .ok_or_else(|| missing("QueueName"))?
        .to_string();
    if !valid_queue_name(&name) {
        return Err(invalid_param(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
        ));
    }
    let attrs = string_map(input, "Attributes")?;
    let fifo_attr = attrs.get("FifoQueue").is_some_and(|v| v == "true");
    if fifo_attr != name.ends_with(".fifo") {
        return Err(invalid_attr_value(
            "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix",
        ));
    }
    let tags = string_map(input, "tags")?;
    if let Some(existing) = w.sqs.queues.get(&name) {
        let same = attrs
            .iter()
            .all(|(k, v)| existing.attributes.get(k) == Some(v));
        return if same {
            Ok(json!({ "QueueUrl": existing.url }))
        } else {
            Err(err(
                "QueueNameExists",
                "QueueAlreadyExists",
                "A queue already exists with the same name and a different value for attribute(s)"
                    .to_string(),
            ))
        };
    }
    let q = Queue {
        url: w.sqs.queue_url(&w.account_id, &name),
        arn: format!("arn:aws:sqs:{}:{}:{name}", w.region, w.account_id),
        name: name.clone(),
        fifo: fifo_attr,
        created: ctx.now,
        modified: ctx.now,
        attributes: BTreeMap::new(),
        tags,
        messages: Vec::new(),
        dedup: HashMap::new(),
    };
    let url = q.url.clone();
    w.sqs.queues.insert(name.clone(), q);
    let mut attrs = attrs;
    if !attrs.contains_key("KmsMasterKeyId") && !attrs.contains_key("SqsManagedSseEnabled") {
        // New queues get SSE-SQS by default, as in AWS since 2022.
        attrs.insert("SqsManagedSseEnabled".into(), "true".into());
    }
    if let Err(e) = set_attributes(w, ctx, &name, &attrs, true) {
        w.sqs.queues.remove(&name);
        return Err(e);
    }
    Ok(json!({ "QueueUrl": url }))
}

fn set_attributes(
    w: &mut World,
    ctx: &Ctx,
    name: &str,
    attrs: &BTreeMap<String, String>,
    creating: bool,
) -> ApiResult<()> {
    let fifo = w.sqs.queues.get(name).map(|q| q.fifo).unwrap_or(false);
    for (k, v) in attrs {
        if !SETTABLE.iter().any(|(n, _)| n == k) {
            return Err(err(
                "InvalidAttributeName",
                "InvalidAttributeName",
                format!("Unknown Attribute {k}."),
            ));
        }
        let range = |lo: i64, hi: i64| -> ApiResult<()> {
            match v.parse::<i64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(()),
                _ => Err(invalid_attr_value(format!(
                    "Invalid value for the parameter {k}. Value must be between {lo} and {hi}."
                ))),
            }
        };
        match k.as_str() {
            "DelaySeconds" => range(0, 900)?,
            "MaximumMessageSize" => range(1024, 262_144)?,
            "MessageRetentionPeriod" => range(60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => range(0, 20)?,
            "VisibilityTimeout" => range(0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => range(60, 86_400)?,
            "FifoQueue" if !creating => {
                return Err(invalid_attr_value(
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue type is not supported.",
                ));
            }
            "ContentBasedDeduplication" | "DeduplicationScope" | "FifoThroughputLimit" if !fifo => {
                return Err(invalid_attr_value(format!(
                    "Invalid value for the parameter {k}. Reason: Only FIFO queues support this attribute."
                )));
            }
            "Policy" | "RedriveAllowPolicy" if !v.is_empty() => {
                serde_json::from_str::<Value>(v).map_err(|_| {
                    invalid_attr_value(format!(
                        "Invalid value for the parameter {k}. Reason: the value is not valid JSON."
                    ))
                })?;
            }
            "RedrivePolicy" if !v.is_empty() => check_redrive(w, ctx, name, fifo, v)?,
            _ => {}
        }
    }
    let q = w.sqs.queues.get_mut(name).ok_or_else(no_queue)?;
    for (k, v) in attrs {
        if v.is_empty()
            && (k == "RedrivePolicy"
                || k == "Policy"
                || k == "RedriveAllowPolicy"
                || k == "KmsMasterKeyId")
        {
            q.attributes.remove(k);
        } else {
            q.attributes.insert(k.clone(), v.clone());
        }
    }
    if attrs.contains_key("KmsMasterKeyId") && !attrs.contains_key("SqsManagedSseEnabled") {
        q.attributes.remove("SqsManagedSseEnabled");
    }
    q.modified = ctx.now;
    Ok(())
}

fn check_redrive(w: &World, _ctx: &Ctx, source: &str, fifo: bool, v: &str) -> ApiResult<()> {
    let bad = |why: &str| {
        invalid_attr_value(format!(
            "Value {v} for parameter RedrivePolicy is invalid. Reason: {why}"
        ))
    };
    let p: Value =
        serde_json::from_str(v).map_err(|_| bad("Redrive policy is not a valid JSON map."))?;
    let target = p
        .get("deadLetterTargetArn")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.")
        })?;
    let max = match p.get("maxReceiveCount") {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| bad("Redrive policy does not contain mandatory attribute: maxReceiveCount."))?;
    if !(1..=1000).contains(&max) {
        return Err(bad(
            "Invalid value for maxReceiveCount: must be between 1 and 1000.",
        ));
    }
    let dlq = w
        .sqs
        .by_arn(target)
        .ok_or_else(|| bad("Dead letter target does not exist."))?;
    if dlq.fifo != fifo {
        return Err(bad(
            "Dead-letter target owner/type does not match the source queue (FIFO and standard cannot mix).",
        ));
    }
    if let Some(allow) = dlq
        .attributes
        .get("RedriveAllowPolicy")
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        let source_arn = format!("arn:aws:sqs:{}:{}:{source}", w.region, w.account_id);
        let allowed = match allow
            .get("redrivePermission")
            .and_then(Value::as_str)
            .unwrap_or("allowAll")
        {
            "denyAll" => false,
            "byQueue" => allow
                .get("sourceQueueArns")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(&source_arn))),
            _ => true,
        };
        if !allowed {
            return Err(bad(
                "Dead-letter queue's RedriveAllowPolicy does not allow this source queue.",
            ));
        }
    }
    Ok(())
}

fn list_queues(w: &World, input: &Value) -> ApiResult<Value> {
    let prefix = input.str_opt("QueueNamePrefix").unwrap_or("");
    let max = input.int_opt("MaxResults")?;
    if let Some(m) = max
        && !(1..=1000).contains(&m)
    {
        return Err(invalid_param(
            "Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.",
        ));
    }
    let after = match input.str_opt("NextToken") {
        Some(t) => Some(
            B64.decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("lq1:").map(str::to_string))
                .ok_or_else(|| invalid_param("Invalid NextToken value."))?,
        ),
        None => None,
    };
    let limit = max.unwrap_or(1000) as usize;
    let mut it = w
        .sqs
        .queues
        .range::<String, _>((
            after
                .as_ref()
                .map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded),
            std::ops::Bound::Unbounded,
        ))
        .filter(|(n, _)| n.starts_with(prefix))
        .map(|(_, q)| q);
    let page: Vec<&Queue> = it.by_ref().take(limit).collect();
    let more = it.next().is_some();
    let mut out = json!({});
    if !page.is_empty() {
        out["QueueUrls"] = json!(page.iter().map(|q| q.url.clone()).collect::<Vec<_>>());
    }
    if more
        && max.is_some()
        && let Some(last) = page.last()
    {
        out["NextToken"] = json!(B64.encode(format!("lq1:{}", last.name)));
    }
    Ok(out)
}

fn list_dlq_sources(w: &World, input: &Value) -> ApiResult<Value> {
    let q = w.sqs.by_url(url_of(input)?)?;
    let arn = q.arn.clone();
    let max = input.int_opt("MaxResults")?.unwrap_or(1000).clamp(1, 1000) as usize;
    let after = input
        .str_opt("NextToken")
        .and_then(|t| B64.decode(t).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let mut sources = w
        .sqs
        .queues
        .values()
        .filter(|s| s.redrive().is_some_and(|(t, _)| t == arn))
        .filter(|s| after.as_ref().is_none_or(|a| s.name > *a));
    let page: Vec<&Queue> = sources.by_ref().take(max).collect();
    let mut out = json!({ "queueUrls": page.iter().map(|q| q.url.clone()).collect::<Vec<_>>() });
    if sources.next().is_some()
        && input.get("MaxResults").is_some()
        && let Some(last) = page.last()
    {
        out["NextToken"] = json!(B64.encode(&last.name));
    }
    Ok(out)
}

fn get_attributes(w: &World, ctx: &Ctx, input: &Value) -> ApiResult<Value> {
    let q = w.sqs.by_url(url_of(input)?)?;
    let names: Vec<&str> = input
        .arr("AttributeNames")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let all = names.contains(&"All");
    let mut out = Map::new();
    let (visible, inflight, delayed) = q.counts(ctx.now);
    let computed = |n: &str| -> Option<String> {
        Some(match n {
            "ApproximateNumberOfMessages" => visible.to_string(),
            "ApproximateNumberOfMessagesNotVisible" => inflight.to_string(),
            "ApproximateNumberOfMessagesDelayed" => delayed.to_string(),
            "CreatedTimestamp" => q.created.timestamp().to_string(),
            "LastModifiedTimestamp" => q.modified.timestamp().to_string(),
            "QueueArn" => q.arn.clone(),
            _ => return None,
        })
    };
    let value_of = |n: &str| -> Option<String> {
        if let Some(v) = computed(n) {
            return Some(v);
        }
        if let Some(v) = q.attributes.get(n) {
            return Some(v.clone());
        }
        SETTABLE
            .iter()
            .find(|(k, _)| *k == n)
            .and_then(|(_, d)| d.map(str::to_string))
    };
    let wanted: Vec<&str> = if all {
        COMPUTED
            .iter()
            .copied()
            .chain(SETTABLE.iter().map(|(n, _)| *n))
            .collect()
    } else {
        for n in &names {
            if !COMPUTED.contains(n) && !SETTABLE.iter().any(|(k, _)| k == n) {
                return Err(err(
                    "InvalidAttributeName",
                    "InvalidAttributeName",
                    format!("Unknown Attribute {n}."),
                ));
            }
        }
        names
    };
    for n in wanted {
        if let Some(v) = value_of(n) {
            out.insert(n.to_string(), Value::String(v));
        }
    }
    Ok(if out.is_empty() {
        json!({})
    } else {
        json!({ "Attributes": out })
    })
}

fn validate_body(body: &str, max: i64) -> ApiResult<()> {
    if body.is_empty() {
        return Err(missing("MessageBody"));
    }
    if body.len() as i64 > max {
        return Err(invalid_param(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max} bytes."
        )));
    }
    let ok = body.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    });
    if !ok {
        return Err(err(
            "InvalidMessageContents",
            "InvalidMessageContents",
            "Invalid characters found in the message body.",
        ));
    }
    Ok(())
}

/// Enqueues one message (shared by SendMessage, the batch, SNS fan-out and move tasks).
// Each argument is a field of the message as SQS takes it; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn enqueue(
    w: &mut World,
    now: DateTime<Utc>,
    queue_name: &str,
    body: String,
    attributes: Map<String, Value>,
    delay: Option<i64>,
    group_id: Option<String>,
    dedup_id: Option<String>,
    sender_id: &str,
) -> ApiResult<Value> {
    w.sqs.sequence += 1;
    let seq_no = w.sqs.sequence;
    let q = w.sqs.queues.get_mut(queue_name).ok_or_else(no_queue)?;
    validate_body(&body, q.attr_i64("MaximumMessageSize"))?;
    if q.fifo {
        if delay.is_some_and(|d| d > 0) {
            return Err(invalid_param(
                "Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
            ));
        }
        if group_id.is_none() {
            return Err(missing("MessageGroupId"));
        }
    } else if group_id.is_some() && dedup_id.is_some() {
        return Err(invalid_param(
            "The request include parameter MessageDeduplicationId that is not valid for this queue type",
        ));
    }
    let md5_body = md5_hex(body.as_bytes());
    let md5_attributes = md5_of_attributes(&attributes);
    let mut sequence = None;
    let mut dedup = None;
    if q.fifo {
        let d = match dedup_id {
            Some(d) => d,
            None if q
                .attributes
                .get("ContentBasedDeduplication")
                .is_some_and(|v| v == "true") =>
            {
                crate::emulator::crypto::sha256_hex(body.as_bytes())
            }
            None => {
                return Err(invalid_param(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        };
        q.dedup.retain(|_, (t, _)| now - *t < Duration::minutes(5));
        if let Some((_, id)) = q.dedup.get(&d) {
            let mut out = json!({ "MessageId": id, "MD5OfMessageBody": md5_body, "SequenceNumber": format!("{seq_no:020}") });
            if let Some(m) = md5_attributes {
                out["MD5OfMessageAttributes"] = json!(m);
            }
            return Ok(out);
        }
        sequence = Some(format!("{seq_no:020}"));
        dedup = Some(d);
    }
    let id = uuid();
    if let Some(d) = &dedup {
        q.dedup.insert(d.clone(), (now, id.clone()));
    }
    let delay = delay.unwrap_or_else(|| q.attr_i64("DelaySeconds"));
    if !(0..=900).contains(&delay) {
        return Err(invalid_param(
            "Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.",
        ));
    }
    q.messages.push(Message {
        id: id.clone(),
        body,
        md5_body: md5_body.clone(),
        attributes,
        md5_attributes: md5_attributes.clone(),
        sent: now,
        available_at: now + Duration::seconds(delay),
        receive_count: 0,
        first_receive: None,
        receipt: None,
        group_id,
        dedup_id: dedup,
        sequence: sequence.clone(),
        sender_id: sender_id.to_string(),
        dead_letter_source_arn: None,
        system: BTreeMap::new(),
    });
    let mut out = json!({ "MessageId": id, "MD5OfMessageBody": md5_body });
    if let Some(m) = md5_attributes {
        out["MD5OfMessageAttributes"] = json!(m);
    }
    if let Some(s) = sequence {
        out["SequenceNumber"] = json!(s);
    }
    Ok(out)
}

fn send(w: &mut World, ctx: &Ctx, url: &str, e: &Value) -> ApiResult<Value> {
    let name = w.sqs.by_url(url)?.name.clone();
    let body = e
        .str_opt("MessageBody")
        .ok_or_else(|| missing("MessageBody"))?
        .to_string();
    let attrs = e.obj("MessageAttributes").cloned().unwrap_or_default();
    for (k, v) in &attrs {
        if v.str_opt("DataType").is_none() {
            return Err(invalid_param(format!(
                "The message attribute '{k}' must contain non-empty message attribute type."
            )));
        }
    }
    enqueue(
        w,
        ctx.now,
        &name,
        body,
        attrs,
        e.int_opt("DelaySeconds")?,
        e.str_opt("MessageGroupId").map(str::to_string),
        e.str_opt("MessageDeduplicationId").map(str::to_string),
        &ctx.caller.principal_id,
    )
}

/// Runs a batch operation: 1–10 entries with distinct ids, each answered in Successful or
/// Failed; injected batch faults fail entries at random.
fn batch(
    w: &mut World,
    ctx: &Ctx,
    input: &Value,
    mut f: impl FnMut(&mut World, &str, &Value) -> ApiResult<Value>,
) -> ApiResult<Value> {
    let url = url_of(input)?.to_string();
    w.sqs.by_url(&url)?;
    let entries = input.arr("Entries");
    if entries.is_empty() {
        return Err(err(
            "EmptyBatchRequest",
            "AWS.SimpleQueueService.EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        ));
    }
    if entries.len() > 10 {
        return Err(err(
            "TooManyEntriesInBatchRequest",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                entries.len()
            ),
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for e in entries {
        let id = e.str_opt("Id").unwrap_or("");
        if id.is_empty()
            || id.len() > 80
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(err(
                "InvalidBatchEntryId",
                "AWS.SimpleQueueService.InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
            ));
        }
        if !ids.insert(id) {
            return Err(err(
                "BatchEntryIdsNotDistinct",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                format!("Id {id} repeated."),
            ));
        }
    }
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for e in entries {
        let id = e.str_opt("Id").unwrap_or("").to_string();
        if ctx.batch_failure_rate > 0.0 && random_unit() < ctx.batch_failure_rate {
            failed.push(json!({ "Id": id, "SenderFault": false, "Code": "InternalError", "Message": "Injected batch entry failure" }));
            continue;
        }
        match f(w, &url, e) {
            Ok(mut v) => {
                v["Id"] = json!(id);
                ok.push(v);
            }
            Err(er) => failed.push(json!({
                "Id": id, "SenderFault": er.sender_fault,
                "Code": er.query_code.clone().unwrap_or(er.code.clone()), "Message": er.message,
            })),
        }
    }
    Ok(json!({ "Successful": ok, "Failed": failed }))
}

fn send_batch(w: &mut World, ctx: &Ctx, input: &Value) -> ApiResult<Value> {
    let total: usize = input
        .arr("Entries")
        .iter()
        .map(|e| e.str_opt("MessageBody").map_or(0, str::len))
        .sum();
    if total > 262_144 {
        return Err(err(
            "BatchRequestTooLong",
            "AWS.SimpleQueueService.BatchRequestTooLong",
            "Batch requests cannot be longer than 262144 bytes.",
        ));
    }
    batch(w, ctx, input, |w, url, e| send(w, ctx, url, e))
}

fn receipt_handle(queue: &str, msg_id: &str, nonce: &str) -> String {
    B64.encode(format!("rh1|{queue}|{msg_id}|{nonce}"))
}

fn parse_receipt(rh: &str) -> ApiResult<(String, String, String)> {
    let bad = || {
        err(
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            format!("The input receipt handle \"{rh}\" is not a valid receipt handle."),
        )
    };
    let s = B64
        .decode(rh)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let mut it = s.split('|');
    if it.next() != Some("rh1") {
        return Err(bad());
    }
    match (it.next(), it.next(), it.next()) {
        (Some(q), Some(m), Some(n)) => Ok((q.to_string(), m.to_string(), n.to_string())),
        _ => Err(bad()),
    }
}

fn delete_one(w: &mut World, url: &str, rh: &str) -> ApiResult<()> {
    let (_, msg_id, _) = parse_receipt(rh)?;
    let q = w.sqs.by_url_mut(url)?;
    // Deleting an already-deleted message succeeds, as in SQS.
    q.messages.retain(|m| m.id != msg_id);
    Ok(())
}

fn change_visibility(w: &mut World, ctx: &Ctx, url: &str, e: &Value) -> ApiResult<()> {
    let rh = e
        .str_opt("ReceiptHandle")
        .ok_or_else(|| missing("ReceiptHandle"))?;
    let timeout = e
        .int_opt("VisibilityTimeout")?
        .ok_or_else(|| missing("VisibilityTimeout"))?;
    if !(0..=43_200).contains(&timeout) {
        return Err(invalid_param(
            "Value for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.",
        ));
    }
    let (_, msg_id, nonce) = parse_receipt(rh)?;
    let q = w.sqs.by_url_mut(url)?;
    let m = q
        .messages
        .iter_mut()
        .find(|m| {
            m.id == msg_id && m.receipt.as_deref() == Some(nonce.as_str()) && m.in_flight(ctx.now)
        })
        .ok_or_else(|| {
            err(
                "MessageNotInflight",
                "AWS.SimpleQueueService.MessageNotInflight",
                "Message does not exist or is not available for visibility timeout change.",
            )
        })?;
    m.available_at = ctx.now + Duration::seconds(timeout);
    Ok(())
}

/// Moves messages that reached maxReceiveCount to the queue's DLQ.
fn redrive_exhausted(w: &mut World, now: DateTime<Utc>, queue: &str) {
    let Some(q) = w.sqs.queues.get(queue) else {
        return;
    };
    let Some((target, max)) = q.redrive() else {
        return;
    };
    let Some(dlq_name) = w.sqs.name_by_arn(&target) else {
        return;
    };
    let source_arn = q.arn.clone();
    let q = match w.sqs.queues.get_mut(queue) {
        Some(q) => q,
        None => return,
    };
    let mut moved = Vec::new();
    q.messages.retain(|m| {
        if m.available_at <= now && m.receive_count >= max {
            moved.push(m.clone());
            false
        } else {
            true
        }
    });
    if let Some(dlq) = w.sqs.queues.get_mut(&dlq_name) {
        for mut m in moved {
            m.available_at = now;
            m.receipt = None;
            m.receive_count = 0;
            m.first_receive = None;
            m.dead_letter_source_arn = Some(source_arn.clone());
            dlq.messages.push(m);
        }
    }
}

fn expire(q: &mut Queue, now: DateTime<Utc>) {
    let retention = Duration::seconds(q.attr_i64("MessageRetentionPeriod"));
    q.messages.retain(|m| now - m.sent < retention);
}

fn receive(w: &mut World, ctx: &Ctx, input: &Value) -> ApiResult<Value> {
    let url = url_of(input)?.to_string();
    let name = w.sqs.by_url(&url)?.name.clone();
    let max = input.int_opt("MaxNumberOfMessages")?.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(invalid_param(format!(
            "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        )));
    }
    let wait = input.int_opt("WaitTimeSeconds")?;
    if wait.is_some_and(|w| !(0..=20).contains(&w)) {
        return Err(invalid_param(
            "Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.",
        ));
    }
    redrive_exhausted(w, ctx.now, &name);
    let now = ctx.now;
    let q = w.sqs.queues.get_mut(&name).ok_or_else(no_queue)?;
    expire(q, now);
    let visibility = input
        .int_opt("VisibilityTimeout")?
        .unwrap_or_else(|| q.attr_i64("VisibilityTimeout"));
    let wait = wait.unwrap_or_else(|| q.attr_i64("ReceiveMessageWaitTimeSeconds"));
    let mut sys_names: Vec<&str> = input
        .arr("AttributeNames")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    sys_names.extend(
        input
            .arr("MessageSystemAttributeNames")
            .iter()
            .filter_map(Value::as_str),
    );
    let attr_names: Vec<&str> = input
        .arr("MessageAttributeNames")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut picked = Vec::new();
    let fifo = q.fifo;
    let mut blocked_groups: std::collections::HashSet<String> = if fifo {
        q.messages
            .iter()
            .filter(|m| m.in_flight(now))
            .filter_map(|m| m.group_id.clone())
            .collect()
    } else {
        Default::default()
    };
    let mut chosen_group: Option<String> = None;
    for (i, m) in q.messages.iter().enumerate() {
        if picked.len() >= max as usize {
            break;
        }
        if m.available_at > now {
            if let Some(g) = &m.group_id {
                blocked_groups.insert(g.clone());
            }
            continue;
        }
        if fifo {
            let g = m.group_id.clone().unwrap_or_default();
            if blocked_groups.contains(&g) {
                continue;
            }
            // One receive returns messages of one group, in order.
            match &chosen_group {
                Some(cg) if *cg != g => continue,
                _ => chosen_group = Some(g),
            }
        }
        picked.push(i);
    }
    let mut out = Vec::new();
    for i in picked {
        let m = &mut q.messages[i];
        m.receive_count += 1;
        m.first_receive.get_or_insert(now);
        m.available_at = now + Duration::seconds(visibility);
        let nonce = hex(&random_bytes::<8>());
        m.receipt = Some(nonce.clone());
        let mut msg = json!({
            "MessageId": m.id,
            "ReceiptHandle": receipt_handle(&name, &m.id, &nonce),
            "MD5OfBody": m.md5_body,
            "Body": m.body,
        });
        let want = |n: &str| sys_names.contains(&"All") || sys_names.contains(&n);
        let mut attrs = Map::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v
                && want(k)
            {
                attrs.insert(k.to_string(), Value::String(v));
            }
        };
        put("SenderId", Some(m.sender_id.clone()));
        put("SentTimestamp", Some(m.sent.timestamp_millis().to_string()));
        put("ApproximateReceiveCount", Some(m.receive_count.to_string()));
        put(
            "ApproximateFirstReceiveTimestamp",
            m.first_receive.map(|t| t.timestamp_millis().to_string()),
        );
        put("MessageGroupId", m.group_id.clone());
        put("MessageDeduplicationId", m.dedup_id.clone());
        put("SequenceNumber", m.sequence.clone());
        put("DeadLetterQueueSourceArn", m.dead_letter_source_arn.clone());
        for (k, v) in &m.system {
            put(k, Some(v.clone()));
        }
        if !attrs.is_empty() {
            msg["Attributes"] = Value::Object(attrs);
        }
        let selected: Map<String, Value> = m
            .attributes
            .iter()
            .filter(|(k, _)| {
                attr_names.iter().any(|n| {
                    *n == "All"
                        || *n == ".*"
                        || *n == k.as_str()
                        || n.strip_suffix(".*").is_some_and(|p| k.starts_with(p))
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !selected.is_empty() {
            msg["MD5OfMessageAttributes"] = json!(md5_of_attributes(&selected));
            msg["MessageAttributes"] = Value::Object(selected);
        }
        out.push(msg);
    }
    if out.is_empty() {
        return Ok(if wait > 0 {
            json!({ "__wait_seconds": wait })
        } else {
            json!({})
        });
    }
    Ok(json!({ "Messages": out }))
}

fn task_handle(task_id: &str, source_arn: &str) -> String {
    B64.encode(json!({ "taskId": task_id, "sourceArn": source_arn }).to_string())
}

fn start_move_task(w: &mut World, ctx: &Ctx, input: &Value) -> ApiResult<Value> {
    let source = input
        .str_opt("SourceArn")
        .ok_or_else(|| missing("SourceArn"))?
        .to_string();
    let dest = input.str_opt("DestinationArn").map(str::to_string);
    let rate = input.int_opt("MaxNumberOfMessagesPerSecond")?;
    if rate.is_some_and(|r| !(1..=500).contains(&r)) {
        return Err(invalid_param(
            "Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.",
        ));
    }
    let not_found = |arn: &str| {
        err(
            "ResourceNotFoundException",
            "ResourceNotFoundException",
            format!(
                "The resource that you specified for the SourceArn or DestinationArn parameter doesn't exist: {arn}"
            ),
        )
    };
    let src = w.sqs.by_arn(&source).ok_or_else(|| not_found(&source))?;
    let src_arn = src.arn.clone();
    if let Some(d) = &dest {
        w.sqs.by_arn(d).ok_or_else(|| not_found(d))?;
    }
    let is_dlq = w
        .sqs
        .queues
        .values()
        .any(|q| q.redrive().is_some_and(|(t, _)| t == src_arn));
    if !is_dlq {
        return Err(invalid_param(
            "Source queue must be configured as a Dead Letter Queue.",
        ));
    }
    if w.sqs
        .move_tasks
        .iter()
        .any(|t| t.source_arn == source && t.status == "RUNNING")
    {
        return Err(err(
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            "There is already a task running. Only one active task is allowed for a source queue arn at a given time.",
        ));
    }
    let (visible, _, _) = w
        .sqs
        .by_arn(&source)
        .map(|q| q.counts(ctx.now))
        .unwrap_or((0, 0, 0));
    let handle = task_handle(&uuid(), &source);
    w.sqs.move_tasks.push(MoveTask {
        handle: handle.clone(),
        source_arn: source,
        destination_arn: dest,
        rate: rate.unwrap_or(500) as u32,
        status: "RUNNING".into(),
        started: ctx.now,
        to_move: visible as u64,
        moved: 0,
        failure: None,
    });
    Ok(json!({ "TaskHandle": handle }))
}

fn list_move_tasks(w: &World, input: &Value) -> ApiResult<Value> {
    let source = input
        .str_opt("SourceArn")
        .ok_or_else(|| missing("SourceArn"))?;
    if w.sqs.by_arn(source).is_none() {
        return Err(err(
            "ResourceNotFoundException",
            "ResourceNotFoundException",
            "The resource that you specified for the SourceArn parameter doesn't exist.",
        ));
    }
    let max = input.int_opt("MaxResults")?.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(invalid_param(
            "Value for parameter MaxResults is invalid. Reason: must be between 1 and 10.",
        ));
    }
    let results: Vec<Value> = w
        .sqs
        .move_tasks
        .iter()
        .rev()
        .filter(|t| t.source_arn == source)
        .take(max as usize)
        .map(|t| {
            let mut v = json!({
                "Status": t.status,
                "SourceArn": t.source_arn,
                "MaxNumberOfMessagesPerSecond": t.rate,
                "ApproximateNumberOfMessagesMoved": t.moved,
                "ApproximateNumberOfMessagesToMove": t.to_move,
                "StartedTimestamp": t.started.timestamp_millis(),
            });
            if t.status == "RUNNING" {
                v["TaskHandle"] = json!(t.handle);
            }
            if let Some(d) = &t.destination_arn {
                v["DestinationArn"] = json!(d);
            }
            if let Some(f) = &t.failure {
                v["FailureReason"] = json!(f);
            }
            v
        })
        .collect();
    Ok(json!({ "Results": results }))
}

fn cancel_move_task(w: &mut World, input: &Value) -> ApiResult<Value> {
    let handle = input
        .str_opt("TaskHandle")
        .ok_or_else(|| missing("TaskHandle"))?;
    let t = w
        .sqs
        .move_tasks
        .iter_mut()
        .find(|t| t.handle == handle)
        .ok_or_else(|| {
            err(
                "ResourceNotFoundException",
                "ResourceNotFoundException",
                "The task handle does not name a message move task.",
            )
        })?;
    if t.status != "RUNNING" {
        return Err(err(
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
            format!(
                "Only running tasks can be cancelled; this one is {}.",
                t.status
            ),
        ));
    }
    t.status = "CANCELLED".into();
    Ok(json!({ "ApproximateNumberOfMessagesMoved": t.moved }))
}

/// Advances running move tasks to `now`: each moves up to `rate` messages per emulated second.
pub fn tick(w: &mut World, now: DateTime<Utc>) {
    for i in 0..w.sqs.move_tasks.len() {
        let t = w.sqs.move_tasks[i].clone();
        if t.status != "RUNNING" {
            continue;
        }
        let elapsed = (now - t.started).num_milliseconds().max(0) as u64;
        let allowed = (elapsed * t.rate as u64 / 1000).min(t.to_move);
        let mut moved = t.moved;
        let Some(src_name) = w.sqs.name_by_arn(&t.source_arn) else {
            let task = &mut w.sqs.move_tasks[i];
            task.status = "FAILED".into();
            task.failure = Some("AWS.SimpleQueueService.NonExistentQueue".into());
            continue;
        };
        let mut failure = None;
        while moved < allowed {
            let Some(src) = w.sqs.queues.get_mut(&src_name) else {
                break;
            };
            let Some(pos) = src.messages.iter().position(|m| m.available_at <= now) else {
                break;
            };
            let m = src.messages.remove(pos);
            let dest_arn = t
                .destination_arn
                .clone()
                .or_else(|| m.dead_letter_source_arn.clone());
            let Some(dest_name) = dest_arn.as_deref().and_then(|a| w.sqs.name_by_arn(a)) else {
                // Put it back and fail the task, as SQS does when it cannot deliver.
                if let Some(src) = w.sqs.queues.get_mut(&src_name) {
                    src.messages.insert(pos, m);
                }
                failure = Some(
                    "AWS.SimpleQueueService.NonExistentQueue: the destination queue does not exist"
                        .to_string(),
                );
                break;
            };
            let fifo_dest = w.sqs.queues.get(&dest_name).is_some_and(|q| q.fifo);
            let r = enqueue(
                w,
                now,
                &dest_name,
                m.body.clone(),
                m.attributes.clone(),
                Some(0).filter(|_| !fifo_dest),
                m.group_id.clone(),
                m.dedup_id
                    .clone()
                    .map(|d| format!("{d}-redrive-{}", t.started.timestamp_millis())),
                &m.sender_id,
            );
            if let Err(e) = r {
                if let Some(src) = w.sqs.queues.get_mut(&src_name) {
                    src.messages.insert(pos, m);
                }
                failure = Some(e.message);
                break;
            }
            moved += 1;
        }
        let src_empty = w
            .sqs
            .queues
            .get(&src_name)
            .is_none_or(|q| !q.messages.iter().any(|m| m.available_at <= now));
        let task = &mut w.sqs.move_tasks[i];
        task.moved = moved;
        if let Some(f) = failure {
            task.status = "FAILED".into();
            task.failure = Some(f);
        } else if moved >= task.to_move || (src_empty && moved >= allowed) {
            task.status = "COMPLETED".into();
        }
    }
}
