//! The `claims` scenario: a seeded account shaped like a claims-processing pipeline.
//!
//! - IAM: the demo operator `demo-operator` (every unknown long-term access key is this user)
//!   with the virtual MFA device [`DEMO_MFA_SERIAL`] whose TOTP seed is the test-only
//!   [`DEMO_MFA_SEED_BASE32`]; roles `ClaimsOperator` and `ClaimsReadOnly` (MFA required) and
//!   `BackupRestoreRole`.
//! - SQS: intake → validation → fraud-check → payment (FIFO) → notify, each with a DLQ; some
//!   DLQs hold failed claims with synthetic, obviously fake PHI and error attributes; `claims-notify`
//!   has no customer-managed key (a posture finding).
//! - SNS: topics fanning out to the stage queues, one with a data-protection policy and one
//!   subscription with a redrive policy (the others are posture findings).
//! - KMS: one key per payload segment plus transport, backup and an HMAC audit key; rotation is
//!   off on the costs key (a posture finding). See `claims_kms`.
//! - Backup: two vaults (one locked), 30 days of recovery points. See `claims_backup`.
//! - CloudTrail: a trail and a week of history (≥ 2,000 events).
//!
//! Everything is deterministic from the seed (ids, keys, messages, history).

use super::{claims_backup, claims_kms};
use crate::emulator::services::cloudtrail::{Trail, TrailEvent};
use crate::emulator::services::{Ctx, sns, sqs};
use crate::emulator::util::{SeededRng, iso8601_secs};
use crate::emulator::wire::query::Params;
use crate::emulator::world::World;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

/// Base32 TOTP seed of the demo operator's virtual MFA device. TEST ONLY: it is published.
/// (It is RFC 6238's own test seed, "12345678901234567890".)
pub const DEMO_MFA_SEED_BASE32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
pub const DEMO_USER: &str = "demo-operator";
/// The HMAC key that seals the demo's audit log (the `audit_hmac_key` the demo sets).
pub const AUDIT_HMAC_ALIAS: &str = "alias/claims-audit-hmac";
pub const DEMO_ACCESS_KEY: &str = "AKIADEMOOPERATOR0001";
pub const DEMO_MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/demo-operator";

/// (queue, customer key segment or None, DLQ depth) for the five stages.
const STAGES: &[(&str, Option<&str>, usize)] = &[
    ("claims-intake", Some("transport"), 0),
    ("claims-validation", Some("patient_details"), 12),
    ("claims-fraud-check", Some("medical_expenses"), 7),
    ("claims-payment.fifo", Some("costs"), 3),
    ("claims-notify", None, 25),
];

pub fn seed(w: &mut World, now: DateTime<Utc>, seed: u64) {
    let mut rng = SeededRng::new(seed);
    seed_identities(w);
    let keys = claims_kms::seed(w, now, &mut rng);
    let ctx = Ctx::internal(w, now - Duration::days(200));
    seed_queues(w, &ctx, &keys, &mut rng, now);
    seed_topics(w, &ctx, &keys);
    claims_backup::seed(w, now, &mut rng, &keys.backup);
    seed_trail(w, now, &keys, &mut rng);
}

fn seed_identities(w: &mut World) {
    w.add_user(DEMO_USER);
    w.iam.default_user = DEMO_USER.to_string();
    w.iam
        .keys
        .insert(DEMO_ACCESS_KEY.to_string(), DEMO_USER.to_string());
    let seed = crate::emulator::crypto::base32_decode(DEMO_MFA_SEED_BASE32).unwrap_or_default();
    w.add_mfa_device(DEMO_USER, DEMO_USER, &seed);
    w.add_role("ClaimsOperator", 43_200, true);
    w.add_role("ClaimsReadOnly", 43_200, true);
    w.add_role("BackupRestoreRole", 3_600, false);
}

fn key_for(keys: &claims_kms::ClaimsKeys, segment: &str) -> String {
    match segment {
        "transport" => keys.transport.clone(),
        "patient_details" => keys.patient_details.clone(),
        "medical_expenses" => keys.medical_expenses.clone(),
        _ => keys.costs.clone(),
    }
}

fn call_sqs(w: &mut World, ctx: &Ctx, op: &str, input: Value) -> Value {
    sqs::handle(w, ctx, op, &input)
        .unwrap_or_else(|e| panic!("claims scenario: SQS {op} failed: {e}"))
}

const FIRST: &[&str] = &[
    "ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL",
];
const ERRORS: &[(&str, &str)] = &[
    (
        "VALIDATION_MISSING_FIELD",
        "Required field providerNpi is missing",
    ),
    (
        "VALIDATION_BAD_CODE",
        "Procedure code 99999 is not a valid CPT code",
    ),
    (
        "FRAUD_SCORE_TIMEOUT",
        "Fraud scoring service timed out after 30s",
    ),
    (
        "PAYMENT_LEDGER_CONFLICT",
        "Ledger entry already exists for this claim",
    ),
    (
        "NOTIFY_ADDRESS_INVALID",
        "Provider notification endpoint rejected the message",
    ),
    (
        "KMS_ACCESS_DENIED",
        "Decrypt of the medical-expenses segment was denied",
    ),
];

/// A failed claim with synthetic, obviously fake PHI.
fn synthetic_claim(rng: &mut SeededRng, n: usize) -> String {
    let first = rng.pick(FIRST);
    json!({
        "claimId": format!("CLM-SYN-{:06}", rng.below(1_000_000)),
        "patient": {
            "name": format!("TEST PATIENT {first} (SYNTHETIC)"),
            "memberId": format!("SYN-{:06}", n),
            "dateOfBirth": "1900-01-01",
            "address": "1 Example Street, Nowhere, ZZ 00000",
        },
        "provider": { "npi": "0000000000", "name": "Synthetic Clinic" },
        "expenses": [{ "cpt": "99213", "amountCents": 10_000 + rng.below(90_000) }],
        "note": "SYNTHETIC TEST DATA - NOT A REAL PERSON",
    })
    .to_string()
}

fn seed_queues(
    w: &mut World,
    ctx: &Ctx,
    keys: &claims_kms::ClaimsKeys,
    rng: &mut SeededRng,
    now: DateTime<Utc>,
) {
    for (name, segment, dlq_depth) in STAGES {
        let fifo = name.ends_with(".fifo");
        let base = name.trim_end_matches(".fifo");
        let dlq_name = if fifo {
            format!("{base}-dlq.fifo")
        } else {
            format!("{base}-dlq")
        };
        let mut dlq_attrs = Map::new();
        dlq_attrs.insert("MessageRetentionPeriod".into(), json!("1209600"));
        if fifo {
            dlq_attrs.insert("FifoQueue".into(), json!("true"));
        }
        match segment {
            Some(s) => dlq_attrs.insert("KmsMasterKeyId".into(), json!(key_for(keys, s))),
            None => dlq_attrs.insert("SqsManagedSseEnabled".into(), json!("false")),
        };
        let tags = json!({ "pipeline": "claims", "stage": base.trim_start_matches("claims-"), "data-classification": "PHI" });
        call_sqs(
            w,
            ctx,
            "CreateQueue",
            json!({ "QueueName": dlq_name, "Attributes": dlq_attrs, "tags": tags }),
        );
        let dlq_arn = format!("arn:aws:sqs:{}:{}:{dlq_name}", w.region, w.account_id);
        let src_arn = format!("arn:aws:sqs:{}:{}:{name}", w.region, w.account_id);
        let mut attrs = Map::new();
        attrs.insert(
            "RedrivePolicy".into(),
            json!(json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5 }).to_string()),
        );
        attrs.insert("VisibilityTimeout".into(), json!("60"));
        attrs.insert(
            "Policy".into(),
            json!(json!({
                "Version": "2012-10-17",
                "Statement": [
                    { "Sid": "AllowClaimsTopics", "Effect": "Allow", "Principal": { "Service": "sns.amazonaws.com" },
                      "Action": "sqs:SendMessage", "Resource": src_arn },
                    { "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                      "Resource": src_arn, "Condition": { "Bool": { "aws:SecureTransport": "false" } } }
                ]
            })
            .to_string()),
        );
        if fifo {
            attrs.insert("FifoQueue".into(), json!("true"));
            attrs.insert("ContentBasedDeduplication".into(), json!("true"));
        }
        match segment {
            Some(s) => attrs.insert("KmsMasterKeyId".into(), json!(key_for(keys, s))),
            None => attrs.insert("SqsManagedSseEnabled".into(), json!("false")),
        };
        call_sqs(
            w,
            ctx,
            "CreateQueue",
            json!({ "QueueName": name, "Attributes": attrs, "tags": tags }),
        );
        // Only this stage may redrive into its DLQ.
        let allow =
            json!({ "redrivePermission": "byQueue", "sourceQueueArns": [src_arn] }).to_string();
        let dlq_url = w.sqs.queue_url(&w.account_id, &dlq_name);
        call_sqs(
            w,
            ctx,
            "SetQueueAttributes",
            json!({ "QueueUrl": dlq_url, "Attributes": { "RedriveAllowPolicy": allow } }),
        );

        // Failed claims in the DLQ, as if moved there after 5 receives over the last days.
        for i in 0..*dlq_depth {
            let (code, msg) = *rng.pick(ERRORS);
            let sent = now - Duration::minutes(30 + rng.below(60 * 24 * 6) as i64);
            let attrs: Map<String, Value> = [
                ("errorCode", code.to_string()),
                ("errorMessage", msg.to_string()),
                (
                    "failedStage",
                    base.trim_start_matches("claims-").to_string(),
                ),
                ("claimSegment", "patient-details".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string(),
                    json!({ "DataType": "String", "StringValue": v }),
                )
            })
            .collect();
            let body = synthetic_claim(rng, i);
            let group = fifo.then(|| format!("provider-{}", i % 3));
            let dedup = fifo.then(|| format!("seed-{i}"));
            if sqs::enqueue(
                w,
                sent,
                &dlq_name,
                body,
                attrs,
                None,
                group,
                dedup,
                "AROACLAIMSPIPELINE:stage-worker",
            )
            .is_ok()
                && let Some(q) = w.sqs.queues.get_mut(&dlq_name)
                && let Some(m) = q.messages.last_mut()
            {
                m.dead_letter_source_arn = Some(src_arn.clone());
                m.sent = sent;
                m.available_at = sent;
            }
        }
        // Some claims in flight through the stage itself.
        for i in 0..(3 + rng.below(6) as usize) {
            let group = fifo.then(|| format!("provider-{}", i % 3));
            let body = json!({ "claimId": format!("CLM-SYN-{:06}", rng.below(1_000_000)), "stage": base, "note": "SYNTHETIC" }).to_string();
            let _ = sqs::enqueue(
                w,
                now - Duration::seconds(rng.below(600) as i64),
                name,
                body,
                Map::new(),
                None,
                group,
                None,
                "AROACLAIMSPIPELINE:stage-worker",
            );
        }
    }
}

fn call_sns(w: &mut World, ctx: &Ctx, op: &str, params: Vec<(String, String)>) {
    let p = Params(params.into_iter().collect());
    if let Err(e) = sns::handle(w, ctx, op, &p) {
        panic!("claims scenario: SNS {op} failed: {e}");
    }
}

/// awsQuery `Attributes.entry.N` parameters.
fn attribute_entries(attrs: &[(&str, String)]) -> Vec<(String, String)> {
    attrs
        .iter()
        .enumerate()
        .flat_map(|(i, (k, v))| {
            [
                (format!("Attributes.entry.{}.key", i + 1), k.to_string()),
                (format!("Attributes.entry.{}.value", i + 1), v.clone()),
            ]
        })
        .collect()
}

fn seed_topics(w: &mut World, ctx: &Ctx, keys: &claims_kms::ClaimsKeys) {
    let acct = w.account_id.clone();
    let region = w.region.clone();
    let q = |n: &str| format!("arn:aws:sqs:{region}:{acct}:{n}");
    // (topic, key, [(queue, raw, filter)])
    type Subscription<'a> = (String, bool, Option<&'a str>);
    let topics: Vec<(&str, Option<&str>, Vec<Subscription>)> = vec![
        (
            "claims-received",
            Some(keys.transport.as_str()),
            vec![(q("claims-intake"), true, None)],
        ),
        (
            "claims-intake-accepted",
            Some(keys.transport.as_str()),
            vec![(q("claims-validation"), false, None)],
        ),
        (
            "claims-validated",
            Some(keys.patient_details.as_str()),
            vec![(
                q("claims-fraud-check"),
                true,
                Some(r#"{"claimType":["medical","dental"]}"#),
            )],
        ),
        (
            "claims-approved.fifo",
            Some(keys.costs.as_str()),
            vec![(q("claims-payment.fifo"), true, None)],
        ),
        ("claims-paid", None, vec![(q("claims-notify"), false, None)]),
    ];
    for (name, key, subs) in topics {
        let mut attrs: Vec<(&str, String)> = Vec::new();
        if let Some(k) = key {
            attrs.push(("KmsMasterKeyId", k.to_string()));
        }
        if name.ends_with(".fifo") {
            attrs.push(("FifoTopic", "true".into()));
            attrs.push(("ContentBasedDeduplication", "true".into()));
        }
        let mut params = attribute_entries(&attrs);
        params.push(("Name".into(), name.to_string()));
        params.push(("Tags.member.1.Key".into(), "pipeline".into()));
        params.push(("Tags.member.1.Value".into(), "claims".into()));
        if name == "claims-received" {
            let policy = json!({
                "Name": "claims-phi-protection", "Description": "Audit PHI identifiers on inbound claims",
                "Version": "2021-06-01",
                "Statement": [{
                    "Sid": "audit-phi", "DataDirection": "Inbound", "Principal": ["*"],
                    "DataIdentifier": ["arn:aws:dataprotection::aws:data-identifier/NameEN", "arn:aws:dataprotection::aws:data-identifier/DateOfBirth"],
                    "Operation": { "Audit": { "SampleRate": "99", "FindingsDestination": {} } }
                }]
            });
            params.push(("DataProtectionPolicy".into(), policy.to_string()));
        }
        call_sns(w, ctx, "CreateTopic", params);
        let topic_arn = format!("arn:aws:sns:{}:{}:{name}", w.region, w.account_id);
        for (queue, raw, filter) in subs {
            let mut sub_attrs: Vec<(&str, String)> = Vec::new();
            if raw {
                sub_attrs.push(("RawMessageDelivery", "true".into()));
            }
            if let Some(f) = filter {
                sub_attrs.push(("FilterPolicy", f.to_string()));
            }
            // Only the intake subscription parks undeliverable claims in a DLQ (the others
            // are posture findings).
            if name == "claims-received" {
                sub_attrs.push((
                    "RedrivePolicy",
                    json!({ "deadLetterTargetArn": q("claims-intake-dlq") }).to_string(),
                ));
            }
            let mut p = attribute_entries(&sub_attrs);
            p.push(("TopicArn".into(), topic_arn.clone()));
            p.push(("Protocol".into(), "sqs".into()));
            p.push(("Endpoint".into(), queue));
            call_sns(w, ctx, "Subscribe", p);
        }
    }
}

/// Who does what in the seeded history.
const ACTORS: &[(&str, &str, bool)] = &[
    // (session / user name, role, human operator with MFA and SourceIdentity)
    ("claims-intake-worker", "ClaimsPipelineRole", false),
    ("claims-validation-worker", "ClaimsPipelineRole", false),
    ("claims-fraud-worker", "ClaimsPipelineRole", false),
    ("claims-payment-worker", "ClaimsPipelineRole", false),
    ("alice", "ClaimsOperator", true),
    ("bob", "ClaimsOperator", true),
    ("backup-service", "AWSBackupDefaultServiceRole", false),
];

/// (event source, event name, read-only, resource type, resource name)
fn history_ops(
    w: &World,
    keys: &claims_kms::ClaimsKeys,
) -> Vec<(String, &'static str, bool, &'static str, String)> {
    let q = |n: &str| format!("arn:aws:sqs:{}:{}:{n}", w.region, w.account_id);
    let t = |n: &str| format!("arn:aws:sns:{}:{}:{n}", w.region, w.account_id);
    vec![
        (
            "kms.amazonaws.com".into(),
            "Decrypt",
            true,
            "AWS::KMS::Key",
            keys.patient_details.clone(),
        ),
        (
            "kms.amazonaws.com".into(),
            "Decrypt",
            true,
            "AWS::KMS::Key",
            keys.medical_expenses.clone(),
        ),
        (
            "kms.amazonaws.com".into(),
            "GenerateDataKey",
            true,
            "AWS::KMS::Key",
            keys.transport.clone(),
        ),
        (
            "kms.amazonaws.com".into(),
            "GenerateDataKey",
            true,
            "AWS::KMS::Key",
            keys.costs.clone(),
        ),
        (
            "kms.amazonaws.com".into(),
            "Encrypt",
            true,
            "AWS::KMS::Key",
            keys.patient_details.clone(),
        ),
        (
            "kms.amazonaws.com".into(),
            "GenerateMac",
            true,
            "AWS::KMS::Key",
            keys.audit_hmac.clone(),
        ),
        (
            "sts.amazonaws.com".into(),
            "AssumeRole",
            true,
            "AWS::IAM::Role",
            format!("arn:aws:iam::{}:role/ClaimsOperator", w.account_id),
        ),
        (
            "sqs.amazonaws.com".into(),
            "SetQueueAttributes",
            false,
            "AWS::SQS::Queue",
            q("claims-validation"),
        ),
        (
            "sqs.amazonaws.com".into(),
            "StartMessageMoveTask",
            false,
            "AWS::SQS::Queue",
            q("claims-notify-dlq"),
        ),
        (
            "sns.amazonaws.com".into(),
            "Subscribe",
            false,
            "AWS::SNS::Topic",
            t("claims-paid"),
        ),
        (
            "sns.amazonaws.com".into(),
            "SetTopicAttributes",
            false,
            "AWS::SNS::Topic",
            t("claims-validated"),
        ),
        (
            "backup.amazonaws.com".into(),
            "StartBackupJob",
            false,
            "AWS::Backup::BackupVault",
            "claims-primary-vault".into(),
        ),
        (
            "backup.amazonaws.com".into(),
            "StartRestoreJob",
            false,
            "AWS::Backup::BackupVault",
            "claims-primary-vault".into(),
        ),
        (
            "kms.amazonaws.com".into(),
            "EnableKeyRotation",
            false,
            "AWS::KMS::Key",
            keys.medical_expenses.clone(),
        ),
    ]
}

fn seed_trail(
    w: &mut World,
    now: DateTime<Utc>,
    keys: &claims_kms::ClaimsKeys,
    rng: &mut SeededRng,
) {
    w.trail.trails.push(Trail {
        name: "claims-org-trail".into(),
        arn: format!(
            "arn:aws:cloudtrail:{}:{}:trail/claims-org-trail",
            w.region, w.account_id
        ),
        bucket: format!("claims-cloudtrail-logs-{}", w.account_id),
        kms_key_id: Some(keys.transport.clone()),
        multi_region: true,
        log_file_validation: true,
        is_logging: true,
        started: now - Duration::days(400),
    });
    let ops = history_ops(w, keys);
    let total = 2_400;
    let week = 7 * 24 * 3600;
    let mut times: Vec<i64> = (0..total).map(|_| rng.below(week) as i64).collect();
    times.sort_unstable_by(|a, b| b.cmp(a));
    for offset in times {
        let t = now - Duration::seconds(offset + 60);
        // Crypto reads dominate, as in a real pipeline.
        let op = if rng.below(10) < 7 {
            &ops[rng.below(6) as usize]
        } else {
            rng.pick(&ops)
        };
        let (actor, role, human) = *rng.pick(ACTORS);
        let event = history_event(w, rng, t, op, actor, role, human);
        w.trail.push(event);
    }
}

fn history_event(
    w: &World,
    rng: &mut SeededRng,
    t: DateTime<Utc>,
    op: &(String, &'static str, bool, &'static str, String),
    actor: &str,
    role: &str,
    human: bool,
) -> TrailEvent {
    let (source, name, read_only, rtype, rname) = op;
    let access_key = format!("ASIA{:016X}", rng.next_u64())
        .chars()
        .take(20)
        .collect::<String>();
    let role_arn = format!("arn:aws:iam::{}:role/{role}", w.account_id);
    let event_id = rng.uuid();
    let request_id = rng.uuid();
    let record = json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": format!("AROA{:016X}:{actor}", rng.next_u64() & 0xFFFF_FFFF_FFFF),
            "arn": format!("arn:aws:sts::{}:assumed-role/{role}/{actor}", w.account_id),
            "accountId": w.account_id,
            "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": { "type": "Role", "arn": role_arn, "accountId": w.account_id, "userName": role },
                "attributes": { "creationDate": iso8601_secs(t - Duration::minutes(10)), "mfaAuthenticated": human.to_string() },
                "sourceIdentity": if human { Value::String(actor.to_string()) } else { Value::Null },
            }
        },
        "eventTime": iso8601_secs(t),
        "eventSource": source,
        "eventName": name,
        "awsRegion": w.region,
        "sourceIPAddress": if human { "10.20.0.15" } else { "lambda.amazonaws.com" },
        "userAgent": if human { "phi-console/0.1.0" } else { "aws-sdk-java/2.25.0" },
        "requestParameters": { "resource": rname },
        "responseElements": Value::Null,
        "requestID": request_id,
        "eventID": event_id,
        "readOnly": read_only,
        "resources": [{ "type": rtype, "ARN": rname, "accountId": w.account_id }],
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": w.account_id,
        "eventCategory": "Management",
    });
    TrailEvent {
        event_id,
        event_name: name.to_string(),
        event_source: source.clone(),
        event_time: t,
        read_only: *read_only,
        access_key,
        username: actor.to_string(),
        resources: vec![(rtype.to_string(), rname.clone())],
        cloudtrail_event: record.to_string(),
    }
}
