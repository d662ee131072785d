//! CloudTrail: trails, their status, and LookupEvents over the events the emulator records for
//! every management call it serves (awsJson 1.1).

use super::{Ctx, Input};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::util::{epoch, iso8601_secs, parse_time};
use crate::emulator::wire::Service;
use crate::emulator::wire::json::JsonInput;
use crate::emulator::world::{CallerKind, World};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TrailEvent {
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    pub event_time: DateTime<Utc>,
    pub read_only: bool,
    pub access_key: String,
    pub username: String,
    /// (ResourceType, ResourceName)
    pub resources: Vec<(String, String)>,
    /// The full CloudTrail record, as JSON text.
    pub cloudtrail_event: String,
}

#[derive(Debug, Clone)]
pub struct Trail {
    pub name: String,
    pub arn: String,
    pub bucket: String,
    pub kms_key_id: Option<String>,
    pub multi_region: bool,
    pub log_file_validation: bool,
    pub is_logging: bool,
    pub started: DateTime<Utc>,
}

#[derive(Debug)]
pub struct TrailState {
    pub trails: Vec<Trail>,
    /// Oldest first; indices are stable (only appended), which the paging tokens rely on.
    pub events: Vec<TrailEvent>,
    /// Event selectors set with PutEventSelectors, by trail ARN: `{"EventSelectors": […]}` or
    /// `{"AdvancedEventSelectors": […]}`. A trail without an entry has AWS's default (all
    /// management events, read and write).
    pub selectors: std::collections::BTreeMap<String, Value>,
    /// LookupEvents quota: 2 requests per second per account and region (token bucket).
    pub lookup_rate: f64,
    tokens: f64,
    last_refill: Instant,
}

impl Default for TrailState {
    fn default() -> Self {
        TrailState {
            trails: Vec::new(),
            events: Vec::new(),
            selectors: Default::default(),
            lookup_rate: 2.0,
            tokens: 2.0,
            last_refill: Instant::now(),
        }
    }
}

impl TrailState {
    /// Appends an event, keeping time order (seeded history may be inserted out of order).
    pub fn push(&mut self, ev: TrailEvent) {
        if self
            .events
            .last()
            .is_none_or(|last| last.event_time <= ev.event_time)
        {
            self.events.push(ev);
        } else {
            let pos = self
                .events
                .partition_point(|e| e.event_time <= ev.event_time);
            self.events.insert(pos, ev);
        }
    }

    fn take_lookup_token(&mut self) -> bool {
        let now = Instant::now();
        let burst = self.lookup_rate.max(1.0);
        self.tokens = (self.tokens
            + now.duration_since(self.last_refill).as_secs_f64() * self.lookup_rate)
            .min(burst);
        self.last_refill = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub fn handle(w: &mut World, ctx: &Ctx, op: &str, input: &Value) -> ApiResult<Value> {
    match op {
        "DescribeTrails" => Ok(describe_trails(w, input)),
        "GetTrailStatus" => get_trail_status(w, input),
        "GetEventSelectors" => get_event_selectors(w, input),
        "PutEventSelectors" => put_event_selectors(w, input),
        "LookupEvents" => lookup_events(w, ctx, input),
        _ => Err(ApiError::unknown_operation(op)),
    }
}

fn describe_trails(w: &World, input: &Value) -> Value {
    let names: Vec<&str> = input
        .arr("trailNameList")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let list: Vec<Value> = w
        .trail
        .trails
        .iter()
        .filter(|t| names.is_empty() || names.iter().any(|n| *n == t.name || *n == t.arn))
        .map(|t| {
            let mut v = json!({
                "Name": t.name, "TrailARN": t.arn, "S3BucketName": t.bucket,
                "IncludeGlobalServiceEvents": true, "IsMultiRegionTrail": t.multi_region,
                "HomeRegion": w.region, "LogFileValidationEnabled": t.log_file_validation,
                "HasCustomEventSelectors": false, "HasInsightSelectors": false, "IsOrganizationTrail": false,
            });
            if let Some(k) = &t.kms_key_id {
                v["KmsKeyId"] = json!(k);
            }
            v
        })
        .collect();
    json!({ "trailList": list })
}

fn trail_named<'a>(w: &'a World, name: &str) -> ApiResult<&'a Trail> {
    w.trail
        .trails
        .iter()
        .find(|t| t.name == name || t.arn == name)
        .ok_or_else(|| {
            ApiError::client(
                "TrailNotFoundException",
                format!("Unknown trail: {name} for the user: {}", w.account_id),
            )
        })
}

/// AWS's selectors for a trail created without any: all management events, read and write.
pub fn default_selectors() -> Value {
    json!({ "EventSelectors": [{
        "ReadWriteType": "All", "IncludeManagementEvents": true,
        "DataResources": [], "ExcludeManagementEventSources": []
    }] })
}

fn get_event_selectors(w: &World, input: &Value) -> ApiResult<Value> {
    let t = trail_named(w, input.str_req("TrailName")?)?;
    let mut out = w
        .trail
        .selectors
        .get(&t.arn)
        .cloned()
        .unwrap_or_else(default_selectors);
    out["TrailARN"] = json!(t.arn);
    Ok(out)
}

fn put_event_selectors(w: &mut World, input: &Value) -> ApiResult<Value> {
    let arn = trail_named(w, input.str_req("TrailName")?)?.arn.clone();
    let basic = input.get("EventSelectors");
    let advanced = input.get("AdvancedEventSelectors");
    let stored = match (basic, advanced) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::client(
                "InvalidParameterCombinationException",
                "Specify either EventSelectors or AdvancedEventSelectors, not both",
            ));
        }
        (Some(b), None) => {
            let list = b.as_array().cloned().unwrap_or_default();
            if list.len() > 5 {
                return Err(ApiError::client(
                    "InvalidEventSelectorsException",
                    "A trail can have at most 5 event selectors",
                ));
            }
            let mut out = Vec::new();
            for sel in list {
                let rw = sel
                    .get("ReadWriteType")
                    .and_then(Value::as_str)
                    .unwrap_or("All");
                if !["All", "ReadOnly", "WriteOnly"].contains(&rw) {
                    return Err(ApiError::client(
                        "InvalidEventSelectorsException",
                        format!("Invalid ReadWriteType: {rw}"),
                    ));
                }
                out.push(json!({
                    "ReadWriteType": rw,
                    "IncludeManagementEvents": sel.get("IncludeManagementEvents").and_then(Value::as_bool).unwrap_or(true),
                    "DataResources": sel.get("DataResources").cloned().unwrap_or(json!([])),
                    "ExcludeManagementEventSources": sel.get("ExcludeManagementEventSources").cloned().unwrap_or(json!([])),
                }));
            }
            json!({ "EventSelectors": out })
        }
        (None, Some(a)) => {
            let list = a.as_array().cloned().unwrap_or_default();
            if list.is_empty()
                || list.len() > 500
                || list.iter().any(|x| {
                    x.get("FieldSelectors")
                        .and_then(Value::as_array)
                        .is_none_or(|f| f.is_empty())
                })
            {
                return Err(ApiError::client(
                    "InvalidEventSelectorsException",
                    "Each advanced event selector needs at least one field selector",
                ));
            }
            json!({ "AdvancedEventSelectors": list })
        }
    };
    w.trail.selectors.insert(arn.clone(), stored.clone());
    let mut out = stored;
    out["TrailARN"] = json!(arn);
    Ok(out)
}

fn get_trail_status(w: &World, input: &Value) -> ApiResult<Value> {
    let name = input.str_req("Name")?;
    let t = w
        .trail
        .trails
        .iter()
        .find(|t| t.name == name || t.arn == name)
        .ok_or_else(|| {
            ApiError::client(
                "TrailNotFoundException",
                format!("Unknown trail: {name} for the user: {}", w.account_id),
            )
        })?;
    Ok(json!({
        "IsLogging": t.is_logging,
        "StartLoggingTime": epoch(t.started),
        "LatestDeliveryTime": epoch(w.trail.events.last().map(|e| e.event_time).unwrap_or(t.started)),
        "LatestDeliveryAttemptTime": iso8601_secs(t.started),
        "LatestDeliveryAttemptSucceeded": iso8601_secs(t.started),
        "TimeLoggingStarted": iso8601_secs(t.started),
    }))
}

const LOOKUP_KEYS: &[&str] = &[
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

fn lookup_events(w: &mut World, ctx: &Ctx, input: &Value) -> ApiResult<Value> {
    if !w.trail.take_lookup_token() {
        return Err(ApiError::client("ThrottlingException", "Rate exceeded"));
    }
    let attrs = input.arr("LookupAttributes");
    if attrs.len() > 1 {
        return Err(ApiError::client(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
        ));
    }
    let filter = match attrs.first() {
        None => None,
        Some(a) => {
            let key = a.str_req("AttributeKey")?;
            let value = a.str_req("AttributeValue")?;
            if !LOOKUP_KEYS.contains(&key) {
                return Err(ApiError::client(
                    "InvalidLookupAttributesException",
                    format!(
                        "Lookup attribute key '{key}' is not valid. Valid keys: {}",
                        LOOKUP_KEYS.join(", ")
                    ),
                ));
            }
            Some((key.to_string(), value.to_string()))
        }
    };
    let max = input.int_opt("MaxResults")?.unwrap_or(50);
    if !(1..=50).contains(&max) {
        return Err(ApiError::client(
            "InvalidMaxResultsException",
            "MaxResults must be between 1 and 50.",
        ));
    }
    let earliest = ctx.now - Duration::days(90);
    let start = input
        .get("StartTime")
        .and_then(parse_time)
        .unwrap_or(earliest)
        .max(earliest);
    let end = input.get("EndTime").and_then(parse_time).unwrap_or(ctx.now);
    if start > end {
        return Err(ApiError::client(
            "InvalidTimeRangeException",
            "StartTime must be before EndTime.",
        ));
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    // The token is the index (exclusive) to continue below, newest first.
    let mut upper = w.trail.events.len();
    if let Some(tok) = input.str_opt("NextToken") {
        upper = b64
            .decode(tok)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("ct1:").and_then(|n| n.parse::<usize>().ok()))
            .filter(|n| *n <= w.trail.events.len())
            .ok_or_else(|| {
                ApiError::client("InvalidNextTokenException", "The NextToken is not valid.")
            })?;
    }
    // Skip events newer than EndTime quickly (time-ordered).
    upper = upper.min(w.trail.events.partition_point(|e| e.event_time <= end));
    let mut out = Vec::new();
    let mut i = upper;
    while i > 0 && out.len() < max as usize {
        i -= 1;
        let e = &w.trail.events[i];
        if e.event_time < start {
            i = 0;
            break;
        }
        if matches_filter(e, filter.as_ref()) {
            out.push(event_json(e));
        }
    }
    // Is anything left below i that could match?
    let more = i > 0
        && w.trail.events[..i]
            .iter()
            .rev()
            .take_while(|e| e.event_time >= start)
            .any(|e| matches_filter(e, filter.as_ref()));
    let mut resp = json!({ "Events": out });
    if more {
        resp["NextToken"] = json!(b64.encode(format!("ct1:{i}")));
    }
    Ok(resp)
}

fn matches_filter(e: &TrailEvent, f: Option<&(String, String)>) -> bool {
    let Some((k, v)) = f else { return true };
    match k.as_str() {
        "EventId" => e.event_id == *v,
        "EventName" => e.event_name == *v,
        "ReadOnly" => e.read_only.to_string() == v.to_ascii_lowercase(),
        "Username" => e.username == *v,
        "EventSource" => e.event_source == *v,
        "AccessKeyId" => e.access_key == *v,
        "ResourceType" => e.resources.iter().any(|(t, _)| t == v),
        "ResourceName" => e.resources.iter().any(|(_, n)| n == v),
        _ => false,
    }
}

fn event_json(e: &TrailEvent) -> Value {
    json!({
        "EventId": e.event_id,
        "EventName": e.event_name,
        "ReadOnly": e.read_only.to_string(),
        "AccessKeyId": e.access_key,
        "EventTime": epoch(e.event_time),
        "EventSource": e.event_source,
        "Username": e.username,
        "Resources": e.resources.iter().map(|(t, n)| json!({"ResourceType": t, "ResourceName": n})).collect::<Vec<_>>(),
        "CloudTrailEvent": e.cloudtrail_event,
    })
}

/// Whether CloudTrail records an operation as a management event, and if it is read-only.
/// `None`: not recorded (reads of no interest, data events such as SQS messages, and
/// LookupEvents itself).
pub fn classify(service: Service, op: &str) -> Option<bool> {
    let data_event = matches!(
        (service, op),
        (
            Service::Sqs,
            "SendMessage"
                | "SendMessageBatch"
                | "ReceiveMessage"
                | "DeleteMessage"
                | "DeleteMessageBatch"
                | "ChangeMessageVisibility"
                | "ChangeMessageVisibilityBatch"
        ) | (Service::Sns, "Publish")
            | (Service::CloudTrail, "LookupEvents")
            | (Service::Sts, "GetCallerIdentity")
    );
    if data_event {
        return None;
    }
    let read_prefixes = ["Get", "List", "Describe", "Lookup"];
    if read_prefixes.iter().any(|p| op.starts_with(p)) {
        // Reads are management events too, but recording every poll would drown the history;
        // the emulator records KMS crypto operations and STS sessions as read-only events.
        return match (service, op) {
            (Service::Sts, "GetSessionToken") => Some(true),
            (Service::Kms, "GenerateDataKey" | "GenerateMac") => Some(true),
            _ => None,
        };
    }
    match (service, op) {
        (Service::Kms, "Encrypt" | "Decrypt" | "VerifyMac") => Some(true),
        (Service::Sts, "AssumeRole") => Some(true),
        _ => Some(false),
    }
}

fn resource_of(service: Service, key: &str, value: &str, w: &World) -> Option<(String, String)> {
    let t = match (service, key) {
        (Service::Sqs, "QueueUrl") => {
            let name = value.rsplit('/').next().unwrap_or(value);
            return Some((
                "AWS::SQS::Queue".into(),
                format!("arn:aws:sqs:{}:{}:{name}", w.region, w.account_id),
            ));
        }
        (Service::Sqs, "QueueName") => {
            return Some((
                "AWS::SQS::Queue".into(),
                format!("arn:aws:sqs:{}:{}:{value}", w.region, w.account_id),
            ));
        }
        (Service::Sqs, "SourceArn" | "DestinationArn") => "AWS::SQS::Queue",
        (Service::Sns, "TopicArn") => "AWS::SNS::Topic",
        (Service::Sns, "ResourceArn") => "AWS::SNS::Topic",
        (Service::Kms, "KeyId") => {
            return Some((
                "AWS::KMS::Key".into(),
                crate::emulator::services::kms::key_arn_for(w, value),
            ));
        }
        (Service::Backup, "BackupVaultName") => "AWS::Backup::BackupVault",
        (Service::Backup, "RecoveryPointArn") => "AWS::Backup::RecoveryPoint",
        (Service::Backup, "RestoreJobId") => "AWS::Backup::RestoreJob",
        (Service::Sts, "RoleArn") => "AWS::IAM::Role",
        _ => return None,
    };
    Some((t.to_string(), value.to_string()))
}

/// Records one served call as a CloudTrail event (when [`classify`] says it is recorded).
pub fn record(
    w: &mut World,
    ctx: &Ctx,
    service: Service,
    op: &str,
    input: &Input,
    error: Option<&ApiError>,
    response: Option<Value>,
) {
    let Some(read_only) = classify(service, op) else {
        return;
    };
    // Fields that may carry secrets or PHI are never copied into the event.
    const REDACT: &[&str] = &[
        "Plaintext",
        "Message",
        "MessageBody",
        "Entries",
        "Body",
        "TokenCode",
        "Policy",
        "Message",
    ];
    let params = match input {
        Input::Json(v) | Input::Rest(v) => {
            let mut m = serde_json::Map::new();
            if let Some(obj) = v.as_object() {
                for (k, val) in obj {
                    let redact = REDACT.contains(&k.as_str()) || k == "CiphertextBlob";
                    m.insert(
                        crate::emulator::wire::json::lower_first(k),
                        if redact {
                            json!("HIDDEN_DUE_TO_SECURITY_REASONS")
                        } else {
                            val.clone()
                        },
                    );
                }
            }
            Value::Object(m)
        }
        Input::Query(p) => p.to_json(REDACT),
    };
    let mut resources = Vec::new();
    let mut scan = |k: &str, v: &str| {
        if let Some(r) = resource_of(service, k, v, w)
            && !resources.contains(&r)
        {
            resources.push(r);
        }
    };
    match input {
        Input::Json(v) | Input::Rest(v) => {
            if let Some(obj) = v.as_object() {
                for (k, val) in obj {
                    if let Some(s) = val.as_str() {
                        scan(k, s);
                    }
                }
            }
        }
        Input::Query(p) => {
            for (k, v) in &p.0 {
                scan(k, v);
            }
        }
    }
    let c = &ctx.caller;
    let mut identity = json!({
        "type": match c.kind { CallerKind::AssumedRole { .. } => "AssumedRole", _ => "IAMUser" },
        "principalId": c.principal_id,
        "arn": c.arn,
        "accountId": c.account,
        "accessKeyId": c.access_key,
    });
    match &c.kind {
        CallerKind::IamUser { user } => {
            identity["userName"] = json!(user);
        }
        CallerKind::SessionToken { user } => {
            identity["userName"] = json!(user);
            identity["sessionContext"] = json!({
                "attributes": {
                    "creationDate": c.session_created.map(iso8601_secs),
                    "mfaAuthenticated": c.mfa_authenticated.to_string(),
                },
                "sourceIdentity": c.source_identity,
            });
        }
        CallerKind::AssumedRole {
            role_name,
            role_arn,
            role_id,
            ..
        } => {
            identity["sessionContext"] = json!({
                "sessionIssuer": {
                    "type": "Role", "principalId": role_id, "arn": role_arn,
                    "accountId": c.account, "userName": role_name,
                },
                "attributes": {
                    "creationDate": c.session_created.map(iso8601_secs),
                    "mfaAuthenticated": c.mfa_authenticated.to_string(),
                },
                "sourceIdentity": c.source_identity,
            });
        }
    }
    let event_id = crate::emulator::util::uuid();
    let mut record = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": iso8601_secs(ctx.now),
        "eventSource": service.event_source(),
        "eventName": op,
        "awsRegion": ctx.region,
        "sourceIPAddress": ctx.source_ip,
        "userAgent": ctx.user_agent,
        "requestParameters": params,
        "responseElements": response,
        "requestID": ctx.request_id,
        "eventID": event_id,
        "readOnly": read_only,
        "resources": resources.iter().map(|(t, n)| json!({"type": t, "ARN": n, "accountId": c.account})).collect::<Vec<_>>(),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": w.account_id,
        "eventCategory": "Management",
    });
    if let Some(e) = error {
        record["errorCode"] = json!(e.code);
        record["errorMessage"] = json!(e.message);
        record["responseElements"] = Value::Null;
    }
    let ev = TrailEvent {
        event_id,
        event_name: op.to_string(),
        event_source: service.event_source(),
        event_time: ctx.now,
        read_only,
        access_key: c.access_key.clone(),
        username: c.username(),
        resources,
        cloudtrail_event: record.to_string(),
    };
    w.trail.push(ev);
}
