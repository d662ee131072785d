//! SQS's awsQuery wire. SQS speaks awsJson 1.0 to current SDKs but still accepts the awsQuery
//! protocol it was born with (form or URL parameters in, XML out), and older SDKs and
//! hand-written clients send it. This module translates between the two shapes with the member
//! names of the SQS 2012-11-05 query model: flattened lists and maps (`AttributeName.1`,
//! `Attribute.1.Name`/`Attribute.1.Value`, `Tag.1.Key`, `MessageAttribute.1.Value.StringValue`,
//! `SendMessageBatchRequestEntry.1.Id`, …) in, and the same flattened elements out
//! (`<QueueUrl>` repeated, `<Attribute><Name/><Value/></Attribute>`, `<Message>` …). The
//! service itself sees one input shape (the awsJson one) and knows nothing of either wire.

use super::query::Params;
use super::xml::Xml;
use crate::emulator::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

/// One member of an operation's input, with its awsJson name and its awsQuery spelling.
enum M {
    /// A string, the same name on both wires.
    Str(&'static str),
    /// An integer, the same name on both wires.
    Int(&'static str),
    /// A flattened list of strings: `Item.N`.
    List(&'static str, &'static str),
    /// A flattened string map: `Item.N.<key>` / `Item.N.<value>`.
    Map(&'static str, &'static str, &'static str, &'static str),
    /// A flattened map of message attribute values: `Item.N.Name`, `Item.N.Value.DataType`,
    /// `Item.N.Value.StringValue`, `Item.N.Value.BinaryValue`.
    Attrs(&'static str, &'static str),
    /// A flattened list of structures: `Item.N.<field>`.
    Entries(&'static str, &'static str, &'static [M]),
}

use M::*;

const SEND_FIELDS: &[M] = &[
    Str("MessageBody"),
    Int("DelaySeconds"),
    Attrs("MessageAttributes", "MessageAttribute"),
    Attrs("MessageSystemAttributes", "MessageSystemAttribute"),
    Str("MessageDeduplicationId"),
    Str("MessageGroupId"),
];

const SEND_ENTRY: &[M] = &[
    Str("Id"),
    Str("MessageBody"),
    Int("DelaySeconds"),
    Attrs("MessageAttributes", "MessageAttribute"),
    Attrs("MessageSystemAttributes", "MessageSystemAttribute"),
    Str("MessageDeduplicationId"),
    Str("MessageGroupId"),
];

/// The input members of each operation the emulator's SQS serves (besides `QueueUrl`, which
/// every operation that names a queue takes).
fn members(op: &str) -> &'static [M] {
    match op {
        "ListQueues" => &[Str("QueueNamePrefix"), Str("NextToken"), Int("MaxResults")],
        "GetQueueUrl" => &[Str("QueueName"), Str("QueueOwnerAWSAccountId")],
        "CreateQueue" => &[
            Str("QueueName"),
            Map("Attributes", "Attribute", "Name", "Value"),
            Map("tags", "Tag", "Key", "Value"),
        ],
        "GetQueueAttributes" => &[List("AttributeNames", "AttributeName")],
        "SetQueueAttributes" => &[Map("Attributes", "Attribute", "Name", "Value")],
        "TagQueue" => &[Map("Tags", "Tag", "Key", "Value")],
        "UntagQueue" => &[List("TagKeys", "TagKey")],
        "ListDeadLetterSourceQueues" => &[Str("NextToken"), Int("MaxResults")],
        "SendMessage" => SEND_FIELDS,
        "SendMessageBatch" => &[Entries(
            "Entries",
            "SendMessageBatchRequestEntry",
            SEND_ENTRY,
        )],
        "ReceiveMessage" => &[
            List("AttributeNames", "AttributeName"),
            List("MessageSystemAttributeNames", "MessageSystemAttributeName"),
            List("MessageAttributeNames", "MessageAttributeName"),
            Int("MaxNumberOfMessages"),
            Int("VisibilityTimeout"),
            Int("WaitTimeSeconds"),
            Str("ReceiveRequestAttemptId"),
        ],
        "DeleteMessage" => &[Str("ReceiptHandle")],
        "DeleteMessageBatch" => &[Entries(
            "Entries",
            "DeleteMessageBatchRequestEntry",
            &[Str("Id"), Str("ReceiptHandle")],
        )],
        "ChangeMessageVisibility" => &[Str("ReceiptHandle"), Int("VisibilityTimeout")],
        "ChangeMessageVisibilityBatch" => &[Entries(
            "Entries",
            "ChangeMessageVisibilityBatchRequestEntry",
            &[Str("Id"), Str("ReceiptHandle"), Int("VisibilityTimeout")],
        )],
        "StartMessageMoveTask" => &[
            Str("SourceArn"),
            Str("DestinationArn"),
            Int("MaxNumberOfMessagesPerSecond"),
        ],
        "ListMessageMoveTasks" => &[Str("SourceArn"), Int("MaxResults")],
        "CancelMessageMoveTask" => &[Str("TaskHandle")],
        _ => &[],
    }
}

/// The awsJson input of `op` from its awsQuery parameters. `path` is the request's path: a
/// legacy client may post to the queue URL itself (`/123456789012/claims-intake`) instead of
/// naming it in `QueueUrl`.
pub fn to_json(op: &str, params: &Params, path: &str) -> ApiResult<Value> {
    let mut out = decode(params, "", members(op))?;
    match params.get("QueueUrl") {
        Some(url) => {
            out.insert("QueueUrl".into(), Value::String(url.to_string()));
        }
        None if path.trim_matches('/').contains('/') => {
            out.insert("QueueUrl".into(), Value::String(path.to_string()));
        }
        None => {}
    }
    Ok(Value::Object(out))
}

/// Whether any parameter starts with `prefix`.
fn any_with_prefix(p: &Params, prefix: &str) -> bool {
    p.0.range::<str, _>((
        std::ops::Bound::Included(prefix),
        std::ops::Bound::Unbounded,
    ))
    .next()
    .is_some_and(|(k, _)| k.starts_with(prefix))
}

fn decode(p: &Params, prefix: &str, members: &[M]) -> ApiResult<Map<String, Value>> {
    let get = |name: &str| p.get(&format!("{prefix}{name}"));
    let mut out = Map::new();
    for m in members {
        match m {
            Str(n) => {
                if let Some(v) = get(n) {
                    out.insert((*n).into(), Value::String(v.to_string()));
                }
            }
            Int(n) => {
                if let Some(v) = get(n) {
                    let i: i64 = v.trim().parse().map_err(|_| {
                        ApiError::client(
                            "InvalidParameterValue",
                            format!("Value {v} for parameter {n} is invalid. Reason: must be an integer."),
                        )
                        .with_query_code("InvalidParameterValue")
                    })?;
                    out.insert((*n).into(), Value::from(i));
                }
            }
            List(n, item) => {
                let mut list = Vec::new();
                for i in 1.. {
                    match get(&format!("{item}.{i}")) {
                        Some(v) => list.push(Value::String(v.to_string())),
                        None => break,
                    }
                }
                if !list.is_empty() {
                    out.insert((*n).into(), Value::Array(list));
                }
            }
            Map(n, item, key, value) => {
                let mut map = Map::new();
                for i in 1.. {
                    let Some(k) = get(&format!("{item}.{i}.{key}")) else {
                        break;
                    };
                    let v = get(&format!("{item}.{i}.{value}")).unwrap_or("");
                    map.insert(k.to_string(), Value::String(v.to_string()));
                }
                if !map.is_empty() {
                    out.insert((*n).into(), Value::Object(map));
                }
            }
            Attrs(n, item) => {
                let mut map = Map::new();
                for i in 1.. {
                    let Some(name) = get(&format!("{item}.{i}.Name")) else {
                        break;
                    };
                    let mut value = Map::new();
                    for field in ["DataType", "StringValue", "BinaryValue"] {
                        if let Some(v) = get(&format!("{item}.{i}.Value.{field}")) {
                            value.insert(field.into(), Value::String(v.to_string()));
                        }
                    }
                    map.insert(name.to_string(), Value::Object(value));
                }
                if !map.is_empty() {
                    out.insert((*n).into(), Value::Object(map));
                }
            }
            Entries(n, item, fields) => {
                let mut list = Vec::new();
                for i in 1.. {
                    let entry_prefix = format!("{prefix}{item}.{i}.");
                    if !any_with_prefix(p, &entry_prefix) {
                        break;
                    }
                    list.push(Value::Object(decode(p, &entry_prefix, fields)?));
                }
                if !list.is_empty() {
                    out.insert((*n).into(), Value::Array(list));
                }
            }
        }
    }
    Ok(out)
}

/// The awsQuery result (the inside of `<OpResult>`) of `op` from its awsJson output.
pub fn to_xml(op: &str, out: &Value) -> Xml {
    let mut node = Xml::node();
    if let Some(members) = out.as_object() {
        for (name, value) in members {
            node = member(op, node, name, value);
        }
    }
    node
}

/// Appends one output member to `node`, in its awsQuery spelling.
fn member(op: &str, mut node: Xml, name: &str, value: &Value) -> Xml {
    match (name, value) {
        (_, Value::Null) => node,
        ("QueueUrls" | "queueUrls", Value::Array(items)) => {
            for url in items {
                node = node.with("QueueUrl", scalar(url));
            }
            node
        }
        ("Attributes", Value::Object(m)) => pairs(node, "Attribute", "Name", "Value", m),
        ("Tags", Value::Object(m)) => pairs(node, "Tag", "Key", "Value", m),
        ("MessageAttributes", Value::Object(m)) => {
            for (k, v) in m {
                let entry = Xml::node()
                    .with_text("Name", k)
                    .with("Value", to_xml(op, v));
                node = node.with("MessageAttribute", entry);
            }
            node
        }
        (_, Value::Array(items)) => {
            // Flattened lists of structures: `<Message>`, `<SendMessageBatchResultEntry>`,
            // `<BatchResultErrorEntry>`, `<ListMessageMoveTasksResultEntry>`.
            let item = match name {
                "Messages" => "Message".to_string(),
                "Successful" | "Results" => format!("{op}ResultEntry"),
                "Failed" => "BatchResultErrorEntry".to_string(),
                other => other.to_string(),
            };
            for v in items {
                let x = if v.is_object() {
                    to_xml(op, v)
                } else {
                    scalar(v)
                };
                node = node.with(&item, x);
            }
            node
        }
        (_, Value::Object(_)) => node.with(name, to_xml(op, value)),
        (_, v) => node.with(name, scalar(v)),
    }
}

fn pairs(mut node: Xml, item: &str, key: &str, value: &str, m: &Map<String, Value>) -> Xml {
    for (k, v) in m {
        node = node.with(item, Xml::node().with_text(key, k).with(value, scalar(v)));
    }
    node
}

fn scalar(v: &Value) -> Xml {
    match v {
        Value::String(s) => Xml::text(s.as_str()),
        Value::Null => Xml::text(""),
        other => Xml::text(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn xml(x: &Xml) -> String {
        let mut s = String::new();
        x.write(&mut s);
        s
    }

    #[test]
    fn flattened_query_members_become_the_json_input() {
        let p = Params::parse(
            b"Action=SendMessageBatch&QueueUrl=http%3A%2F%2Fh%2F1%2Fq\
              &SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=one\
              &SendMessageBatchRequestEntry.1.DelaySeconds=5\
              &SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=tenant\
              &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String\
              &SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=acme\
              &SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=two",
            "",
        );
        let v = to_json("SendMessageBatch", &p, "/").unwrap();
        assert_eq!(
            v,
            json!({
                "QueueUrl": "http://h/1/q",
                "Entries": [
                    { "Id": "a", "MessageBody": "one", "DelaySeconds": 5,
                      "MessageAttributes": { "tenant": { "DataType": "String", "StringValue": "acme" } } },
                    { "Id": "b", "MessageBody": "two" },
                ]
            })
        );
        let p = Params::parse(
            b"Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=60&Tag.1.Key=team&Tag.1.Value=claims&QueueName=q",
            "AttributeName.1=All&AttributeName.2=QueueArn",
        );
        assert_eq!(
            to_json("CreateQueue", &p, "/").unwrap(),
            json!({ "QueueName": "q", "Attributes": { "VisibilityTimeout": "60" }, "tags": { "team": "claims" } })
        );
        assert_eq!(
            to_json("GetQueueAttributes", &p, "/123456789012/q").unwrap(),
            json!({ "QueueUrl": "/123456789012/q", "AttributeNames": ["All", "QueueArn"] })
        );
    }

    #[test]
    fn a_non_integer_is_an_invalid_parameter() {
        let p = Params::parse(b"MaxResults=ten", "");
        let e = to_json("ListQueues", &p, "/").unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn json_output_becomes_the_flattened_xml_result() {
        let out = json!({ "QueueUrls": ["u1", "u2"], "NextToken": "t" });
        assert_eq!(
            xml(&to_xml("ListQueues", &out)),
            "<NextToken>t</NextToken><QueueUrl>u1</QueueUrl><QueueUrl>u2</QueueUrl>"
        );
        let out = json!({ "Attributes": { "QueueArn": "arn", "VisibilityTimeout": "30" } });
        assert_eq!(
            xml(&to_xml("GetQueueAttributes", &out)),
            "<Attribute><Name>QueueArn</Name><Value>arn</Value></Attribute><Attribute><Name>VisibilityTimeout</Name><Value>30</Value></Attribute>"
        );
        let out = json!({ "Messages": [{
            "MessageId": "m", "Body": "a<b",
            "Attributes": { "SenderId": "AID" },
            "MessageAttributes": { "k": { "DataType": "String", "StringValue": "v" } },
        }]});
        assert_eq!(
            xml(&to_xml("ReceiveMessage", &out)),
            "<Message><Attribute><Name>SenderId</Name><Value>AID</Value></Attribute><Body>a&lt;b</Body>\
             <MessageAttribute><Name>k</Name><Value><DataType>String</DataType><StringValue>v</StringValue></Value></MessageAttribute>\
             <MessageId>m</MessageId></Message>"
        );
        let out = json!({ "Successful": [{ "Id": "a", "MessageId": "m" }], "Failed": [{ "Id": "b", "SenderFault": true, "Code": "X" }] });
        assert_eq!(
            xml(&to_xml("SendMessageBatch", &out)),
            "<BatchResultErrorEntry><Code>X</Code><Id>b</Id><SenderFault>true</SenderFault></BatchResultErrorEntry>\
             <SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>"
        );
        let out = json!({ "Tags": { "team": "claims" } });
        assert_eq!(
            xml(&to_xml("ListQueueTags", &out)),
            "<Tag><Key>team</Key><Value>claims</Value></Tag>"
        );
    }
}
