//! SNS (awsQuery): topics, subscriptions, publish with fan-out to SQS subscribers (raw and
//! envelope delivery, filter policies), data-protection policies and tags.

use super::Ctx;
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::util::{iso8601, uuid};
use crate::emulator::wire::query::Params;
use crate::emulator::wire::xml::Xml;
use crate::emulator::world::World;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Topic {
    pub name: String,
    pub arn: String,
    pub attributes: BTreeMap<String, String>,
    pub tags: Vec<(String, String)>,
    pub data_protection_policy: Option<String>,
    pub fifo: bool,
}

#[derive(Debug, Clone)]
pub struct Subscription {
    pub arn: String,
    pub topic_arn: String,
    pub protocol: String,
    pub endpoint: String,
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct SnsState {
    pub topics: BTreeMap<String, Topic>,
    pub subscriptions: Vec<Subscription>,
}

const PAGE: usize = 100;

fn not_found(what: &str) -> ApiError {
    ApiError::new(404, "NotFound", format!("{what} does not exist"))
}
fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameter", msg)
}

pub fn handle(w: &mut World, ctx: &Ctx, op: &str, p: &Params) -> ApiResult<Xml> {
    match op {
        "CreateTopic" => create_topic(w, p),
        "ListTopics" => {
            let (page, next) =
                paginate(w.sns.topics.keys().cloned().collect(), p.get("NextToken"))?;
            let items = page
                .into_iter()
                .map(|a| Xml::node().with_text("TopicArn", a))
                .collect();
            Ok(Xml::node()
                .with("Topics", Xml::Members(items))
                .with_opt("NextToken", next))
        }
        "GetTopicAttributes" => {
            let t = topic(w, p.req("TopicArn")?)?;
            let subs: Vec<&Subscription> = w
                .sns
                .subscriptions
                .iter()
                .filter(|s| s.topic_arn == t.arn)
                .collect();
            let mut attrs: Vec<(String, String)> = vec![
                ("TopicArn".into(), t.arn.clone()),
                ("Owner".into(), w.account_id.clone()),
                ("SubscriptionsConfirmed".into(), subs.len().to_string()),
                ("SubscriptionsPending".into(), "0".into()),
                ("SubscriptionsDeleted".into(), "0".into()),
                ("Policy".into(), default_policy(&t.arn, &w.account_id)),
                (
                    "EffectiveDeliveryPolicy".into(),
                    r#"{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false}}"#.into(),
                ),
                ("DisplayName".into(), String::new()),
            ];
            for (k, v) in &t.attributes {
                attrs.retain(|(x, _)| x != k);
                attrs.push((k.clone(), v.clone()));
            }
            Ok(Xml::node().with("Attributes", Xml::Entries(attrs)))
        }
        "SetTopicAttributes" => {
            let name = p.req("AttributeName")?.to_string();
            let value = p.get("AttributeValue").unwrap_or("").to_string();
            let arn = p.req("TopicArn")?.to_string();
            let t = w
                .sns
                .topics
                .get_mut(&arn)
                .ok_or_else(|| not_found("Topic"))?;
            t.attributes.insert(name, value);
            Ok(Xml::node())
        }
        "Subscribe" => subscribe(w, p),
        "ListSubscriptionsByTopic" => {
            let arn = p.req("TopicArn")?;
            topic(w, arn)?;
            let subs: Vec<String> = w
                .sns
                .subscriptions
                .iter()
                .filter(|s| s.topic_arn == arn)
                .map(|s| s.arn.clone())
                .collect();
            list_subs(w, subs, p)
        }
        "ListSubscriptions" => {
            let subs = w.sns.subscriptions.iter().map(|s| s.arn.clone()).collect();
            list_subs(w, subs, p)
        }
        "GetSubscriptionAttributes" => {
            let arn = p.req("SubscriptionArn")?;
            let s = w
                .sns
                .subscriptions
                .iter()
                .find(|s| s.arn == arn)
                .ok_or_else(|| not_found("Subscription"))?;
            let mut attrs = vec![
                ("SubscriptionArn".to_string(), s.arn.clone()),
                ("TopicArn".into(), s.topic_arn.clone()),
                ("Protocol".into(), s.protocol.clone()),
                ("Endpoint".into(), s.endpoint.clone()),
                ("Owner".into(), w.account_id.clone()),
                ("ConfirmationWasAuthenticated".into(), "true".into()),
                ("PendingConfirmation".into(), "false".into()),
                ("RawMessageDelivery".into(), "false".into()),
            ];
            for (k, v) in &s.attributes {
                attrs.retain(|(x, _)| x != k);
                attrs.push((k.clone(), v.clone()));
            }
            Ok(Xml::node().with("Attributes", Xml::Entries(attrs)))
        }
        "SetSubscriptionAttributes" => set_subscription_attributes(w, p),
        "Publish" => publish(w, ctx, p),
        "GetDataProtectionPolicy" => {
            let t = topic(w, p.req("ResourceArn")?)?;
            Ok(Xml::node().with_opt("DataProtectionPolicy", t.data_protection_policy.clone()))
        }
        "PutDataProtectionPolicy" => {
            let policy = p.req("DataProtectionPolicy")?.to_string();
            check_data_protection_policy(&policy)?;
            let arn = p.req("ResourceArn")?.to_string();
            let t = w
                .sns
                .topics
                .get_mut(&arn)
                .ok_or_else(|| not_found("Topic"))?;
            t.data_protection_policy = Some(policy);
            Ok(Xml::node())
        }
        "ListTagsForResource" => {
            let t = topic(w, p.req("ResourceArn")?)
                .map_err(|_| ApiError::new(404, "ResourceNotFound", "Resource does not exist"))?;
            let items = t
                .tags
                .iter()
                .map(|(k, v)| Xml::node().with_text("Key", k).with_text("Value", v))
                .collect();
            Ok(Xml::node().with("Tags", Xml::Members(items)))
        }
        "TagResource" => {
            let arn = p.req("ResourceArn")?.to_string();
            let tags = p.member_structs("Tags");
            let t =
                w.sns.topics.get_mut(&arn).ok_or_else(|| {
                    ApiError::new(404, "ResourceNotFound", "Resource does not exist")
                })?;
            for m in tags {
                if let (Some(k), Some(v)) = (m.get("Key"), m.get("Value")) {
                    t.tags.retain(|(x, _)| x != k);
                    t.tags.push((k.clone(), v.clone()));
                }
            }
            Ok(Xml::node())
        }
        _ => Err(ApiError::client(
            "InvalidAction",
            format!("Could not find operation {op} for version 2010-03-31"),
        )),
    }
}

fn default_policy(arn: &str, account: &str) -> String {
    json!({
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
            "Action": ["SNS:Publish", "SNS:Subscribe", "SNS:GetTopicAttributes"],
            "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}}
        }]
    })
    .to_string()
}

fn topic<'a>(w: &'a World, arn: &str) -> ApiResult<&'a Topic> {
    w.sns.topics.get(arn).ok_or_else(|| not_found("Topic"))
}

fn paginate(items: Vec<String>, token: Option<&str>) -> ApiResult<(Vec<String>, Option<String>)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let start = match token {
        None => 0,
        Some(t) => b64
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.strip_prefix("sns1:")
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .ok_or_else(|| invalid("Invalid parameter: NextToken"))?,
    };
    let page: Vec<String> = items.iter().skip(start).take(PAGE).cloned().collect();
    let next = (start + PAGE < items.len()).then(|| b64.encode(format!("sns1:{}", start + PAGE)));
    Ok((page, next))
}

fn list_subs(w: &World, arns: Vec<String>, p: &Params) -> ApiResult<Xml> {
    let (page, next) = paginate(arns, p.get("NextToken"))?;
    let items = page
        .iter()
        .filter_map(|a| w.sns.subscriptions.iter().find(|s| s.arn == *a))
        .map(|s| {
            Xml::node()
                .with_text("SubscriptionArn", &s.arn)
                .with_text("Owner", &w.account_id)
                .with_text("Protocol", &s.protocol)
                .with_text("Endpoint", &s.endpoint)
                .with_text("TopicArn", &s.topic_arn)
        })
        .collect();
    Ok(Xml::node()
        .with("Subscriptions", Xml::Members(items))
        .with_opt("NextToken", next))
}

fn check_data_protection_policy(policy: &str) -> ApiResult<()> {
    let v: Value = serde_json::from_str(policy)
        .map_err(|_| invalid("Invalid parameter: DataProtectionPolicy is not valid JSON"))?;
    if v.get("Statement").and_then(Value::as_array).is_none() {
        return Err(invalid(
            "Invalid parameter: DataProtectionPolicy must contain a Statement list",
        ));
    }
    Ok(())
}

fn create_topic(w: &mut World, p: &Params) -> ApiResult<Xml> {
    let name = p.req("Name")?.to_string();
    let base = name.strip_suffix(".fifo").unwrap_or(&name);
    if base.is_empty()
        || name.len() > 256
        || !base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid("Invalid parameter: Topic Name"));
    }
    let attrs: BTreeMap<String, String> = p.entries("Attributes").into_iter().collect();
    let fifo = attrs.get("FifoTopic").is_some_and(|v| v == "true");
    if fifo != name.ends_with(".fifo") {
        return Err(invalid(
            "Invalid parameter: Fifo Topic names must end with .fifo and must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.",
        ));
    }
    if let Some(dp) = p.get("DataProtectionPolicy") {
        check_data_protection_policy(dp)?;
    }
    let arn = format!("arn:aws:sns:{}:{}:{name}", w.region, w.account_id);
    if !w.sns.topics.contains_key(&arn) {
        let tags = p
            .member_structs("Tags")
            .into_iter()
            .filter_map(|m| Some((m.get("Key")?.clone(), m.get("Value")?.clone())))
            .collect();
        w.sns.topics.insert(
            arn.clone(),
            Topic {
                name,
                arn: arn.clone(),
                attributes: attrs,
                tags,
                data_protection_policy: p.get("DataProtectionPolicy").map(str::to_string),
                fifo,
            },
        );
    }
    Ok(Xml::node().with_text("TopicArn", arn))
}

fn subscribe(w: &mut World, p: &Params) -> ApiResult<Xml> {
    let topic_arn = p.req("TopicArn")?.to_string();
    let protocol = p.req("Protocol")?.to_string();
    let endpoint = p.get("Endpoint").unwrap_or("").to_string();
    topic(w, &topic_arn)?;
    if ![
        "sqs",
        "lambda",
        "email",
        "email-json",
        "http",
        "https",
        "sms",
        "application",
        "firehose",
    ]
    .contains(&protocol.as_str())
    {
        return Err(invalid(format!(
            "Invalid parameter: Amazon SNS does not support this protocol string: {protocol}"
        )));
    }
    if protocol == "sqs" && !endpoint.starts_with("arn:aws:sqs:") {
        return Err(invalid("Invalid parameter: SQS endpoint ARN"));
    }
    let attrs: BTreeMap<String, String> = p.entries("Attributes").into_iter().collect();
    if let Some(fp) = attrs.get("FilterPolicy") {
        serde_json::from_str::<Value>(fp)
            .map_err(|_| invalid("Invalid parameter: FilterPolicy: failed to parse JSON."))?;
    }
    if let Some(existing) = w
        .sns
        .subscriptions
        .iter()
        .find(|s| s.topic_arn == topic_arn && s.protocol == protocol && s.endpoint == endpoint)
    {
        return Ok(Xml::node().with_text("SubscriptionArn", &existing.arn));
    }
    let arn = format!("{topic_arn}:{}", uuid());
    w.sns.subscriptions.push(Subscription {
        arn: arn.clone(),
        topic_arn,
        protocol,
        endpoint,
        attributes: attrs,
    });
    Ok(Xml::node().with_text("SubscriptionArn", arn))
}

/// The attributes SetSubscriptionAttributes accepts.
const SUBSCRIPTION_ATTRIBUTES: &[&str] = &[
    "DeliveryPolicy",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "SubscriptionRoleArn",
    "ReplayPolicy",
];

/// Checks a subscription attribute's value as SNS does (an empty value clears it).
fn check_subscription_attribute(name: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() {
        return Ok(());
    }
    match name {
        "RawMessageDelivery"
            if !["true", "false"].contains(&value.to_ascii_lowercase().as_str()) =>
        {
            Err(invalid(format!(
                "Invalid parameter: RawMessageDelivery: Invalid value [{value}]. Must be true or false."
            )))
        }
        "FilterPolicy" | "DeliveryPolicy" => serde_json::from_str::<Value>(value)
            .map(|_| ())
            .map_err(|_| invalid(format!("Invalid parameter: {name}: failed to parse JSON."))),
        "RedrivePolicy" => {
            let v: Value = serde_json::from_str(value)
                .map_err(|_| invalid("Invalid parameter: RedrivePolicy: failed to parse JSON."))?;
            match v.get("deadLetterTargetArn").and_then(Value::as_str) {
                Some(a) if a.starts_with("arn:") && a.split(':').nth(2) == Some("sqs") => Ok(()),
                _ => Err(invalid(
                    "Invalid parameter: RedrivePolicy: deadLetterTargetArn is invalid",
                )),
            }
        }
        _ => Ok(()),
    }
}

fn set_subscription_attributes(w: &mut World, p: &Params) -> ApiResult<Xml> {
    let arn = p.req("SubscriptionArn")?.to_string();
    let name = p.req("AttributeName")?.to_string();
    let value = p.get("AttributeValue").unwrap_or("").to_string();
    if !SUBSCRIPTION_ATTRIBUTES.contains(&name.as_str()) {
        return Err(invalid(format!(
            "Invalid parameter: AttributeName: Unknown attribute {name}"
        )));
    }
    check_subscription_attribute(&name, &value)?;
    let s = w
        .sns
        .subscriptions
        .iter_mut()
        .find(|s| s.arn == arn)
        .ok_or_else(|| not_found("Subscription"))?;
    if value.is_empty() {
        s.attributes.remove(&name);
    } else {
        s.attributes.insert(name, value);
    }
    Ok(Xml::node())
}

/// Message attributes from `MessageAttributes.entry.N.{Name,Value.DataType,Value.StringValue}`.
fn message_attributes(p: &Params) -> Map<String, Value> {
    let mut out = Map::new();
    for i in 1.. {
        let pre = format!("MessageAttributes.entry.{i}");
        let Some(name) = p.get(&format!("{pre}.Name")) else {
            break;
        };
        let dt = p.get(&format!("{pre}.Value.DataType")).unwrap_or("String");
        let mut v = json!({ "DataType": dt });
        if let Some(s) = p.get(&format!("{pre}.Value.StringValue")) {
            v["StringValue"] = json!(s);
        }
        if let Some(b) = p.get(&format!("{pre}.Value.BinaryValue")) {
            v["BinaryValue"] = json!(b);
        }
        out.insert(name.to_string(), v);
    }
    out
}

/// Attribute-based filter policies: exact strings, numbers, `prefix`, `exists`, `anything-but`.
pub fn filter_matches(policy: &Value, attrs: &Map<String, Value>) -> bool {
    let Some(obj) = policy.as_object() else {
        return true;
    };
    obj.iter().all(|(key, rules)| {
        let value = attrs
            .get(key)
            .and_then(|a| a.get("StringValue"))
            .and_then(Value::as_str);
        let rules = match rules {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        rules.iter().any(|r| match r {
            Value::String(s) => value == Some(s.as_str()),
            Value::Number(n) => value.and_then(|v| v.parse::<f64>().ok()) == n.as_f64(),
            Value::Object(o) => {
                if let Some(e) = o.get("exists").and_then(Value::as_bool) {
                    return value.is_some() == e;
                }
                if let Some(pfx) = o.get("prefix").and_then(Value::as_str) {
                    return value.is_some_and(|v| v.starts_with(pfx));
                }
                if let Some(ab) = o.get("anything-but") {
                    let excluded: Vec<Value> = match ab {
                        Value::Array(a) => a.clone(),
                        x => vec![x.clone()],
                    };
                    return value.is_some_and(|v| !excluded.iter().any(|x| x.as_str() == Some(v)));
                }
                false
            }
            _ => false,
        })
    })
}

fn publish(w: &mut World, ctx: &Ctx, p: &Params) -> ApiResult<Xml> {
    let arn = p
        .get("TopicArn")
        .or_else(|| p.get("TargetArn"))
        .ok_or_else(|| {
            invalid(
                "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter",
            )
        })?
        .to_string();
    let message = p.req("Message")?.to_string();
    if message.len() > 262_144 {
        return Err(invalid("Invalid parameter: Message too long"));
    }
    let t = topic(w, &arn)?.clone();
    let group = p.get("MessageGroupId").map(str::to_string);
    if t.fifo && group.is_none() {
        return Err(invalid(
            "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
        ));
    }
    let attrs = message_attributes(p);
    let id = uuid();
    let subject = p.get("Subject").map(str::to_string);
    let subs: Vec<Subscription> = w
        .sns
        .subscriptions
        .iter()
        .filter(|s| s.topic_arn == arn && s.protocol == "sqs")
        .cloned()
        .collect();
    for s in subs {
        if let Some(fp) = s
            .attributes
            .get("FilterPolicy")
            .and_then(|f| serde_json::from_str::<Value>(f).ok())
            && !filter_matches(&fp, &attrs)
        {
            continue;
        }
        let raw = s
            .attributes
            .get("RawMessageDelivery")
            .is_some_and(|v| v == "true");
        let (body, msg_attrs) = if raw {
            (message.clone(), attrs.clone())
        } else {
            let mut env = json!({
                "Type": "Notification",
                "MessageId": id,
                "TopicArn": arn,
                "Message": message,
                "Timestamp": iso8601(ctx.now),
                "SignatureVersion": "1",
                "Signature": "EMULATOR",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-emulator.pem",
                "UnsubscribeURL": format!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={}", s.arn),
            });
            if let Some(sub) = &subject {
                env["Subject"] = json!(sub);
            }
            if !attrs.is_empty() {
                let m: Map<String, Value> = attrs
                    .iter()
                    .map(|(k, v)| {
                        let val = v
                            .get("StringValue")
                            .or_else(|| v.get("BinaryValue"))
                            .cloned()
                            .unwrap_or(Value::Null);
                        (
                            k.clone(),
                            json!({ "Type": v.get("DataType"), "Value": val }),
                        )
                    })
                    .collect();
                env["MessageAttributes"] = Value::Object(m);
            }
            (env.to_string(), Map::new())
        };
        let Some(qname) = w.sqs.by_arn(&s.endpoint).map(|q| q.name.clone()) else {
            continue;
        };
        let fifo_q = w.sqs.queues.get(&qname).is_some_and(|q| q.fifo);
        let dedup = p
            .get("MessageDeduplicationId")
            .map(str::to_string)
            .or_else(|| fifo_q.then(|| id.clone()));
        // A delivery failure (e.g. an invalid body for SQS) does not fail the publish.
        let _ = super::sqs::enqueue(
            w,
            ctx.now,
            &qname,
            body,
            msg_attrs,
            None,
            group.clone().filter(|_| fifo_q),
            dedup.filter(|_| fifo_q),
            &ctx.caller.principal_id,
        );
    }
    let mut out = Xml::node().with_text("MessageId", id);
    if t.fifo {
        out = out.with_text(
            "SequenceNumber",
            format!("{:020}", ctx.now.timestamp_millis()),
        );
    }
    Ok(out)
}
