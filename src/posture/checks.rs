//! The controls and their checks: pure functions from what was read ([`Inventory`]) to
//! findings. No AWS, no clock (the time is passed in).

use super::{Control, Finding, Limits, Read, Safeguard, Severity, Unread};
use crate::cloud::backup::{BackupVault, RecoveryPoint, RestoreJob};
use crate::cloud::cloudtrail::TrailSelectors;
use crate::cloud::kms::{Key, RotationStatus};
use crate::cloud::policy;
use crate::cloud::sqs::{Queue, QueueEncryption};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

macro_rules! control {
    ($name:ident, $id:literal, $title:literal, $rt:literal, $sev:ident, $sg:ident, $sh:expr, $fix:literal) => {
        pub static $name: Control = Control {
            id: $id,
            title: $title,
            resource_type: $rt,
            severity: Severity::$sev,
            safeguard: Safeguard::$sg,
            security_hub: $sh,
            fix: $fix,
        };
    };
}

control!(
    SQS_ENCRYPTION,
    "sqs.encryption",
    "Queue encrypted with a customer managed KMS key",
    "queue",
    High,
    Encryption,
    Some("SQS.1"),
    "Set the queue's KmsMasterKeyId to a customer managed key (not alias/aws/sqs, not SQS-managed SSE)"
);
control!(
    SNS_ENCRYPTION,
    "sns.encryption",
    "Topic encrypted with a customer managed KMS key",
    "topic",
    High,
    Encryption,
    Some("SNS.1"),
    "Set the topic's KmsMasterKeyId to a customer managed key (not alias/aws/sns)"
);
control!(
    KMS_ROTATION,
    "kms.rotation",
    "Key rotation on, within the profile's maximum period",
    "key",
    Medium,
    Encryption,
    Some("KMS.4"),
    "Turn on automatic rotation with a period within max_rotation_days (keys view: the rotation action, or `phi-console key rotation KEY --enable --period N`)"
);
control!(
    KMS_USABLE,
    "kms.key-in-use",
    "No key pending deletion or disabled still encrypts data",
    "key",
    High,
    Contingency,
    Some("KMS.3"),
    "Cancel the key's deletion (CancelKeyDeletion) and enable it, or re-encrypt its queues, topics, vaults and trails with another key first"
);
control!(
    SQS_TLS,
    "sqs.tls-only",
    "Queue policy denies requests without TLS",
    "queue",
    High,
    Transmission,
    None,
    "Add a Deny statement: Principal *, Action sqs:*, this queue, Condition Bool aws:SecureTransport \"false\""
);
control!(
    SNS_TLS,
    "sns.tls-only",
    "Topic policy denies requests without TLS",
    "topic",
    High,
    Transmission,
    None,
    "Add a Deny statement: Principal *, Action SNS:* (or *), this topic, Condition Bool aws:SecureTransport \"false\""
);
control!(
    SQS_PUBLIC,
    "sqs.no-public-access",
    "Queue policy allows no one without a restricting condition",
    "queue",
    High,
    AccessControl,
    Some("SQS.3"),
    "Name the principals, or restrict the statement with a fixed aws:SourceArn/aws:SourceAccount/aws:PrincipalOrgID condition"
);
control!(
    SNS_PUBLIC,
    "sns.no-public-access",
    "Topic policy allows no one without a restricting condition",
    "topic",
    High,
    AccessControl,
    Some("SNS.4"),
    "Name the principals, or restrict the statement with a fixed aws:SourceOwner/aws:SourceArn/aws:PrincipalOrgID condition"
);
control!(
    SQS_DLQ,
    "sqs.dlq",
    "Queue has a dead-letter queue with maxReceiveCount 1 to 10",
    "queue",
    Medium,
    Integrity,
    None,
    "Set a RedrivePolicy with deadLetterTargetArn (an existing queue) and maxReceiveCount between 1 and 10"
);
control!(
    SQS_DLQ_RETENTION,
    "sqs.dlq-retention",
    "Dead-letter queue keeps messages at least as long as its source",
    "queue",
    Medium,
    Integrity,
    None,
    "Set the DLQ's MessageRetentionPeriod to at least the source queue's (1209600 s, 14 days, is the maximum)"
);
control!(
    SNS_SUB_REDRIVE,
    "sns.subscription-dlq",
    "Subscription has a redrive policy (DLQ)",
    "subscription",
    Medium,
    Integrity,
    None,
    "Set the subscription's RedrivePolicy to {\"deadLetterTargetArn\": \"<queue ARN>\"} (SetSubscriptionAttributes)"
);
control!(
    SNS_DATA_PROTECTION,
    "sns.data-protection",
    "PHI topic has a data-protection policy",
    "topic",
    Medium,
    AuditControls,
    None,
    "Attach a data-protection policy that audits (or de-identifies) PHI data identifiers (PutDataProtectionPolicy)"
);
control!(
    BACKUP_VAULT_LOCK,
    "backup.vault-lock",
    "Backup vault has Vault Lock on",
    "vault",
    Medium,
    Contingency,
    None,
    "Turn on Vault Lock (PutBackupVaultLockConfiguration) with minimum and maximum retention"
);
control!(
    BACKUP_RPO,
    "backup.rpo",
    "Protected resource has a recovery point within its RPO",
    "backup-resource",
    High,
    Contingency,
    None,
    "Check the backup plan's schedule and the failed backup jobs of this resource; the newest completed recovery point must be younger than rpo_hours"
);
control!(
    BACKUP_RESTORE_TESTED,
    "backup.restore-tested",
    "A restore of the resource completed within restore_test_days",
    "backup-resource",
    Medium,
    Contingency,
    None,
    "Run a restore test (a restore testing plan, or a restore job from the points view) and validate it"
);
control!(
    BACKUP_CROSS_REGION,
    "backup.cross-region-copy",
    "Backup plan copies recovery points to a second region",
    "backup-plan",
    Medium,
    Contingency,
    None,
    "Add a copy action to a vault in another region to the plan's rules"
);
control!(
    TRAIL_EXISTS,
    "cloudtrail.enabled",
    "The account has a CloudTrail trail",
    "account",
    High,
    AuditControls,
    Some("CloudTrail.1"),
    "Create a multi-region trail that logs read and write management events"
);
control!(
    TRAIL_LOGGING,
    "cloudtrail.logging",
    "Trail is logging",
    "trail",
    High,
    AuditControls,
    Some("CloudTrail.1"),
    "Start logging on the trail (StartLogging)"
);
control!(
    TRAIL_MULTI_REGION,
    "cloudtrail.multi-region",
    "Trail is multi-region",
    "trail",
    Medium,
    AuditControls,
    Some("CloudTrail.1"),
    "Make the trail multi-region (UpdateTrail --is-multi-region-trail)"
);
control!(
    TRAIL_MANAGEMENT,
    "cloudtrail.management-events",
    "Trail logs read and write management events",
    "trail",
    High,
    AuditControls,
    Some("CloudTrail.1"),
    "Set the trail's event selectors to include management events, ReadWriteType All (PutEventSelectors)"
);
control!(
    TRAIL_VALIDATION,
    "cloudtrail.log-file-validation",
    "Trail has log file validation",
    "trail",
    Medium,
    Integrity,
    Some("CloudTrail.4"),
    "Turn on log file validation (UpdateTrail --enable-log-file-validation)"
);
control!(
    TRAIL_KMS,
    "cloudtrail.encryption",
    "Trail logs are encrypted with a KMS key",
    "trail",
    Medium,
    Encryption,
    Some("CloudTrail.2"),
    "Set the trail's KmsKeyId to a customer managed key (UpdateTrail --kms-key-id)"
);

/// Every control, in the order of docs/POSTURE.md.
pub static CONTROLS: &[&Control] = &[
    &SQS_ENCRYPTION,
    &SNS_ENCRYPTION,
    &KMS_ROTATION,
    &KMS_USABLE,
    &SQS_TLS,
    &SNS_TLS,
    &SQS_PUBLIC,
    &SNS_PUBLIC,
    &SQS_DLQ,
    &SQS_DLQ_RETENTION,
    &SNS_SUB_REDRIVE,
    &SNS_DATA_PROTECTION,
    &BACKUP_VAULT_LOCK,
    &BACKUP_RPO,
    &BACKUP_RESTORE_TESTED,
    &BACKUP_CROSS_REGION,
    &TRAIL_EXISTS,
    &TRAIL_LOGGING,
    &TRAIL_MULTI_REGION,
    &TRAIL_MANAGEMENT,
    &TRAIL_VALIDATION,
    &TRAIL_KMS,
];

/// The retention SQS applies when a queue sets none (4 days).
pub const DEFAULT_RETENTION_SECONDS: u32 = 345_600;
/// The sane range of maxReceiveCount: at least one delivery, and a poison message parked
/// after at most 10 tries (more hides failures and delays the DLQ alarm).
pub const MAX_RECEIVE_RANGE: std::ops::RangeInclusive<u32> = 1..=10;

/// A queue as posture read it: its name and ARN from the list, its attributes if readable.
#[derive(Debug, Clone)]
pub struct QueueFacts {
    pub name: String,
    pub arn: String,
    pub queue: Read<Queue>,
}

/// What GetTopicAttributes says that posture reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicAttrs {
    pub kms_key: Option<String>,
    pub policy: Option<String>,
}

#[derive(Debug, Clone)]
pub struct SubscriptionFacts {
    pub arn: String,
    pub protocol: String,
    pub endpoint: String,
    /// The RedrivePolicy attribute, when set.
    pub redrive: Read<Option<String>>,
}

#[derive(Debug, Clone)]
pub struct TopicFacts {
    pub name: String,
    pub arn: String,
    pub attrs: Read<TopicAttrs>,
    pub subscriptions: Read<Vec<SubscriptionFacts>>,
    pub data_protection: Read<Option<String>>,
    pub tags: Read<BTreeMap<String, String>>,
}

#[derive(Debug, Clone)]
pub struct KeyFacts {
    pub id: String,
    pub arn: String,
    pub aliases: Vec<String>,
    /// DescribeKey (with `rotation` left empty).
    pub key: Read<Key>,
    /// GetKeyRotationStatus, for keys that can rotate.
    pub rotation: Option<Read<RotationStatus>>,
    /// ListGrants' grantee principals, for keys not enabled.
    pub grants: Option<Read<Vec<String>>>,
}

#[derive(Debug, Clone)]
pub struct TrailFacts {
    pub name: String,
    pub arn: String,
    pub kms_key: Option<String>,
    pub multi_region: bool,
    pub log_file_validation: bool,
    pub logging: Read<bool>,
    pub selectors: Read<TrailSelectors>,
}

/// Everything posture read. A list that could not be read is one `Err`.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub queues: Read<Vec<QueueFacts>>,
    pub topics: Read<Vec<TopicFacts>>,
    pub keys: Read<Vec<KeyFacts>>,
    /// Why the aliases could not be listed (then an alias reference cannot be resolved).
    pub aliases_unread: Option<Unread>,
    pub vaults: Read<Vec<BackupVault>>,
    pub points: Read<Vec<RecoveryPoint>>,
    pub restore_jobs: Read<Vec<RestoreJob>>,
    pub trails: Read<Vec<TrailFacts>>,
    /// The backup plans' copy actions (ListBackupPlans, then GetBackupPlan each).
    pub plans: Read<Vec<PlanCopies>>,
    /// The session's region: a copy elsewhere is a copy to a second region.
    pub region: String,
}

/// Every check over everything read, sorted (failures first).
pub fn evaluate(inv: &Inventory, limits: &Limits, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(queues(inv));
    out.extend(topics(inv));
    out.extend(keys(inv, limits));
    out.extend(backup(inv, limits, now));
    out.extend(trails(inv));
    super::sort(&mut out);
    out
}

/// One unknown finding per control of a list that could not be read.
fn unlisted(controls: &[&'static Control], service: &str, why: &Unread) -> Vec<Finding> {
    controls
        .iter()
        .map(|c| Finding::unknown(c, service, service, why))
        .collect()
}

// ---------------------------------------------------------------- keys and references

/// The key a reference (key id, key ARN, alias name or alias ARN) names, among those read.
pub fn resolve<'a>(keys: &'a [KeyFacts], reference: &str) -> Option<&'a KeyFacts> {
    let alias = reference
        .find(":alias/")
        .map(|i| &reference[i + 1..])
        .unwrap_or(reference);
    keys.iter().find(|k| {
        k.id == reference
            || k.arn == reference
            || k.aliases.iter().any(|a| a == alias)
            || reference.ends_with(&format!("key/{}", k.id))
    })
}

/// Whether a key reference is an AWS managed key (alias/aws/…, or a key read as AWS managed).
/// `Err` when the keys could not be listed and the reference alone does not say.
fn aws_managed(inv: &Inventory, reference: &str) -> Result<Option<bool>, Unread> {
    let keys = &inv.keys;
    let alias = reference
        .find(":alias/")
        .map(|i| &reference[i + 1..])
        .unwrap_or(reference);
    if alias.starts_with("alias/aws/") {
        return Ok(Some(true));
    }
    let keys = keys.as_ref().map_err(Clone::clone)?;
    match resolve(keys, reference) {
        Some(k) => match &k.key {
            Ok(key) => Ok(Some(!key.customer_managed)),
            Err(u) => Err(u.clone()),
        },
        // An alias that could not be resolved because the aliases could not be listed.
        None if alias.starts_with("alias/") && inv.aliases_unread.is_some() => {
            Err(inv.aliases_unread.clone().unwrap_or_else(|| Unread {
                permission: "kms:ListAliases".into(),
                code: String::new(),
                message: String::new(),
            }))
        }
        // A key of another account (or one this account cannot list).
        None => Ok(None),
    }
}

fn cmk_check(
    c: &'static Control,
    inv: &Inventory,
    arn: &str,
    name: &str,
    attr: &str,
    key: Option<&str>,
    other: Option<&str>,
) -> Finding {
    let Some(k) = key else {
        return Finding::fail(
            c,
            arn,
            name,
            other
                .unwrap_or(&format!("{attr} not set: no KMS encryption"))
                .to_string(),
        );
    };
    match aws_managed(inv, k) {
        Ok(Some(true)) => Finding::fail(
            c,
            arn,
            name,
            format!(
                "{attr}={k}: an AWS managed key (its policy and rotation are not yours to control)"
            ),
        ),
        Ok(Some(false)) => Finding::pass(c, arn, name, format!("{attr}={k} (customer managed)")),
        Ok(None) => Finding::pass(
            c,
            arn,
            name,
            format!("{attr}={k} (a key outside this account's key list; not an alias/aws/ key)"),
        ),
        Err(u) => Finding::unknown(c, arn, name, &u),
    }
}

// ---------------------------------------------------------------- queues

fn queues(inv: &Inventory) -> Vec<Finding> {
    let list = match &inv.queues {
        Ok(l) => l,
        Err(u) => {
            return unlisted(
                &[&SQS_ENCRYPTION, &SQS_TLS, &SQS_PUBLIC, &SQS_DLQ],
                "sqs",
                u,
            );
        }
    };
    let readable: Vec<&Queue> = list.iter().filter_map(|q| q.queue.as_ref().ok()).collect();
    let mut out = Vec::new();
    for qf in list {
        let q = match &qf.queue {
            Ok(q) => q,
            Err(u) => {
                for c in [&SQS_ENCRYPTION, &SQS_TLS, &SQS_PUBLIC, &SQS_DLQ] {
                    out.push(Finding::unknown(c, &qf.arn, &qf.name, u));
                }
                continue;
            }
        };
        out.push(queue_encryption(inv, q));
        out.push(tls(&SQS_TLS, "sqs", &q.arn, &q.name, q.policy.as_deref()));
        out.push(public(&SQS_PUBLIC, &q.arn, &q.name, q.policy.as_deref()));
        if !q.is_dlq() {
            out.extend(dlq(q, &readable));
        }
    }
    out
}

pub fn queue_encryption(inv: &Inventory, q: &Queue) -> Finding {
    match &q.encryption {
        QueueEncryption::Kms(k) => cmk_check(
            &SQS_ENCRYPTION,
            inv,
            &q.arn,
            &q.name,
            "KmsMasterKeyId",
            Some(k),
            None,
        ),
        QueueEncryption::SqsManaged => Finding::fail(
            &SQS_ENCRYPTION,
            &q.arn,
            &q.name,
            "SqsManagedSseEnabled=true: SQS-owned keys (no key policy, no CloudTrail record of key use)",
        ),
        QueueEncryption::None => Finding::fail(
            &SQS_ENCRYPTION,
            &q.arn,
            &q.name,
            "KmsMasterKeyId not set and SqsManagedSseEnabled=false: not encrypted at rest",
        ),
    }
}

pub fn tls(
    c: &'static Control,
    service: &str,
    arn: &str,
    name: &str,
    policy: Option<&str>,
) -> Finding {
    match policy {
        None => Finding::fail(
            c,
            arn,
            name,
            "no access policy: nothing denies requests without TLS",
        ),
        Some(p) => match policy::tls_only_statement(p, service, arn) {
            Some(st) => Finding::pass(c, arn, name, format!("Policy statement {st}")),
            None => Finding::fail(
                c,
                arn,
                name,
                format!(
                    "no Policy statement denies every {service} action on this resource to * when aws:SecureTransport is false"
                ),
            ),
        },
    }
}

pub fn public(c: &'static Control, arn: &str, name: &str, policy: Option<&str>) -> Finding {
    match policy {
        None => Finding::pass(
            c,
            arn,
            name,
            "no access policy (only the account's own IAM grants apply)",
        ),
        Some(p) => match policy::public_statements(p) {
            Ok(v) if v.is_empty() => Finding::pass(
                c,
                arn,
                name,
                "no Policy statement allows * without a fixed source/principal condition",
            ),
            Ok(v) => Finding::fail(c, arn, name, format!("Policy statement {}", v[0])),
            Err(e) => Finding::fail(c, arn, name, format!("Policy: {e}")),
        },
    }
}

/// The DLQ controls of a queue that is not itself a DLQ.
pub fn dlq(q: &Queue, all: &[&Queue]) -> Vec<Finding> {
    let Some(r) = &q.redrive else {
        return vec![Finding::fail(
            &SQS_DLQ,
            &q.arn,
            &q.name,
            "no RedrivePolicy: failing messages are retried until they expire",
        )];
    };
    let target = all.iter().find(|x| x.arn == r.dead_letter_target_arn);
    let mut out = Vec::new();
    let desc = format!(
        "RedrivePolicy deadLetterTargetArn={} maxReceiveCount={}",
        r.dead_letter_target_arn, r.max_receive_count
    );
    if !MAX_RECEIVE_RANGE.contains(&r.max_receive_count) {
        out.push(Finding::fail(
            &SQS_DLQ,
            &q.arn,
            &q.name,
            format!("{desc}: maxReceiveCount outside 1..=10"),
        ));
    } else if target.is_none() {
        out.push(Finding::fail(
            &SQS_DLQ,
            &q.arn,
            &q.name,
            format!("{desc}: the target queue does not exist (or could not be read)"),
        ));
    } else {
        out.push(Finding::pass(&SQS_DLQ, &q.arn, &q.name, desc));
    }
    if let Some(d) = target {
        let src = q.retention_seconds.unwrap_or(DEFAULT_RETENTION_SECONDS);
        let dst = d.retention_seconds.unwrap_or(DEFAULT_RETENTION_SECONDS);
        let ev = format!(
            "MessageRetentionPeriod: source {src} s, DLQ {} {dst} s",
            d.name
        );
        out.push(if dst >= src {
            Finding::pass(&SQS_DLQ_RETENTION, &q.arn, &q.name, ev)
        } else {
            Finding::fail(
                &SQS_DLQ_RETENTION,
                &q.arn,
                &q.name,
                format!("{ev}: the DLQ drops messages before the source would"),
            )
        });
    }
    out
}

// ---------------------------------------------------------------- topics

/// A topic carries PHI unless it is tagged `data-classification` with another value (an
/// unreadable or missing tag counts as PHI).
pub fn is_phi_topic(t: &TopicFacts) -> bool {
    match &t.tags {
        Ok(tags) => tags
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("data-classification"))
            .is_none_or(|(_, v)| v.eq_ignore_ascii_case("phi")),
        Err(_) => true,
    }
}

fn topics(inv: &Inventory) -> Vec<Finding> {
    let list = match &inv.topics {
        Ok(l) => l,
        Err(u) => {
            return unlisted(
                &[&SNS_ENCRYPTION, &SNS_TLS, &SNS_PUBLIC, &SNS_DATA_PROTECTION],
                "sns",
                u,
            );
        }
    };
    let mut out = Vec::new();
    for t in list {
        match &t.attrs {
            Ok(a) => {
                out.push(cmk_check(
                    &SNS_ENCRYPTION,
                    inv,
                    &t.arn,
                    &t.name,
                    "KmsMasterKeyId",
                    a.kms_key.as_deref(),
                    None,
                ));
                out.push(tls(&SNS_TLS, "sns", &t.arn, &t.name, a.policy.as_deref()));
                out.push(public(&SNS_PUBLIC, &t.arn, &t.name, a.policy.as_deref()));
            }
            Err(u) => {
                for c in [&SNS_ENCRYPTION, &SNS_TLS, &SNS_PUBLIC] {
                    out.push(Finding::unknown(c, &t.arn, &t.name, u));
                }
            }
        }
        if is_phi_topic(t) {
            out.push(match &t.data_protection {
                Ok(Some(p)) => {
                    let name = serde_json::from_str::<serde_json::Value>(p)
                        .ok()
                        .and_then(|v| v.get("Name").and_then(|n| n.as_str()).map(str::to_string))
                        .unwrap_or_else(|| "(unnamed)".into());
                    Finding::pass(&SNS_DATA_PROTECTION, &t.arn, &t.name, format!("DataProtectionPolicy {name}"))
                }
                Ok(None) => Finding::fail(&SNS_DATA_PROTECTION, &t.arn, &t.name, "no DataProtectionPolicy on a topic carrying PHI (not tagged data-classification other than PHI)"),
                Err(u) => Finding::unknown(&SNS_DATA_PROTECTION, &t.arn, &t.name, u),
            });
        }
        match &t.subscriptions {
            Ok(subs) => {
                for s in subs.iter().filter(|s| s.arn.starts_with("arn:")) {
                    out.push(subscription_redrive(t, s));
                }
            }
            Err(u) => out.push(Finding::unknown(&SNS_SUB_REDRIVE, &t.arn, &t.name, u)),
        }
    }
    out
}

pub fn subscription_redrive(t: &TopicFacts, s: &SubscriptionFacts) -> Finding {
    let name = format!(
        "{} → {} {}",
        t.name,
        s.protocol,
        s.endpoint.rsplit(':').next().unwrap_or(&s.endpoint)
    );
    match &s.redrive {
        Ok(Some(p)) => {
            let target = serde_json::from_str::<serde_json::Value>(p)
                .ok()
                .and_then(|v| {
                    v.get("deadLetterTargetArn")
                        .and_then(|x| x.as_str())
                        .map(str::to_string)
                });
            match target {
                Some(arn) if !arn.is_empty() => Finding::pass(
                    &SNS_SUB_REDRIVE,
                    &s.arn,
                    &name,
                    format!("RedrivePolicy deadLetterTargetArn={arn}"),
                ),
                _ => Finding::fail(
                    &SNS_SUB_REDRIVE,
                    &s.arn,
                    &name,
                    format!("RedrivePolicy without a deadLetterTargetArn: {p}"),
                ),
            }
        }
        Ok(None) => Finding::fail(
            &SNS_SUB_REDRIVE,
            &s.arn,
            &name,
            "no RedrivePolicy: undeliverable messages are dropped after SNS's retries",
        ),
        Err(u) => Finding::unknown(&SNS_SUB_REDRIVE, &s.arn, &name, u),
    }
}

// ---------------------------------------------------------------- keys

fn keys(inv: &Inventory, limits: &Limits) -> Vec<Finding> {
    let list = match &inv.keys {
        Ok(l) => l,
        Err(u) => return unlisted(&[&KMS_ROTATION, &KMS_USABLE], "kms", u),
    };
    let users = key_users(inv);
    let mut out = Vec::new();
    for k in list {
        let name = k.aliases.first().cloned().unwrap_or_else(|| k.id.clone());
        let key = match &k.key {
            Ok(key) => key,
            Err(u) => {
                out.push(Finding::unknown(&KMS_ROTATION, &k.arn, &name, u));
                continue;
            }
        };
        if let Some(f) = rotation(k, key, limits) {
            out.push(f);
        }
        if let Some(f) = key_in_use(k, key, users.get(&k.arn).map(Vec::as_slice).unwrap_or(&[])) {
            out.push(f);
        }
    }
    out
}

/// Which resources each key (by ARN) encrypts: queues, topics, vaults and trails.
pub fn key_users(inv: &Inventory) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Ok(keys) = &inv.keys else {
        return out;
    };
    let mut add = |reference: &str, what: String| {
        if let Some(k) = resolve(keys, reference) {
            out.entry(k.arn.clone()).or_default().push(what);
        }
    };
    if let Ok(qs) = &inv.queues {
        for q in qs.iter().filter_map(|q| q.queue.as_ref().ok()) {
            if let QueueEncryption::Kms(k) = &q.encryption {
                add(k, format!("queue {}", q.name));
            }
        }
    }
    if let Ok(ts) = &inv.topics {
        for t in ts {
            if let Ok(TopicAttrs {
                kms_key: Some(k), ..
            }) = &t.attrs
            {
                add(k, format!("topic {}", t.name));
            }
        }
    }
    if let Ok(vs) = &inv.vaults {
        for v in vs {
            if let Some(k) = &v.encryption_key {
                add(k, format!("vault {}", v.name));
            }
        }
    }
    if let Ok(ts) = &inv.trails {
        for t in ts {
            if let Some(k) = &t.kms_key {
                add(k, format!("trail {}", t.name));
            }
        }
    }
    out
}

/// KMS.4: a customer managed key that can rotate rotates, within the profile's maximum.
pub fn rotation(k: &KeyFacts, key: &Key, limits: &Limits) -> Option<Finding> {
    let name = key.display_name().to_string();
    if !key.customer_managed
        || key.rotation_unsupported().is_some()
        || matches!(key.state.as_str(), "PendingDeletion" | "PendingImport")
    {
        return None;
    }
    let max = limits.max_rotation_days;
    Some(match k.rotation.as_ref()? {
        Err(u) => Finding::unknown(&KMS_ROTATION, &key.arn, &name, u),
        Ok(r) if !r.enabled => {
            Finding::fail(&KMS_ROTATION, &key.arn, &name, "KeyRotationEnabled=false")
        }
        Ok(r) => {
            let days = r
                .period_days
                .unwrap_or(crate::cloud::kms::DEFAULT_ROTATION_PERIOD_DAYS);
            let ev = format!(
                "KeyRotationEnabled=true RotationPeriodInDays={days} (max_rotation_days {max})"
            );
            if days <= max {
                Finding::pass(&KMS_ROTATION, &key.arn, &name, ev)
            } else {
                Finding::fail(&KMS_ROTATION, &key.arn, &name, ev)
            }
        }
    })
}

/// KMS.3 (and more): a key that is not enabled must not still encrypt anything.
pub fn key_in_use(k: &KeyFacts, key: &Key, users: &[String]) -> Option<Finding> {
    let name = key.display_name().to_string();
    let listed = if users.is_empty() {
        "nothing read encrypts with it".to_string()
    } else {
        format!("encrypts {}", users.join(", "))
    };
    if key.state == "Enabled" {
        return (!users.is_empty() && key.customer_managed).then(|| {
            Finding::pass(
                &KMS_USABLE,
                &key.arn,
                &name,
                format!("KeyState=Enabled; {listed}"),
            )
        });
    }
    if !key.customer_managed {
        return None;
    }
    let when = key
        .deletion_date
        .map(|d| format!(" (DeletionDate {})", d.format("%Y-%m-%dT%H:%MZ")))
        .unwrap_or_default();
    let grants = match &k.grants {
        Some(Ok(g)) if !g.is_empty() => {
            format!("; {} grant(s) still allow use: {}", g.len(), g.join(", "))
        }
        Some(Err(u)) => format!("; grants unreadable: {} {}", u.permission, u.code),
        _ => String::new(),
    };
    let ev = format!("KeyState={}{when}; {listed}{grants}", key.state);
    Some(if users.is_empty() {
        Finding::pass(&KMS_USABLE, &key.arn, &name, ev)
    } else {
        Finding::fail(&KMS_USABLE, &key.arn, &name, ev)
    })
}

// ---------------------------------------------------------------- backup

fn backup(inv: &Inventory, limits: &Limits, now: DateTime<Utc>) -> Vec<Finding> {
    let mut out = Vec::new();
    match &inv.vaults {
        Ok(vs) => out.extend(vs.iter().map(vault_lock)),
        Err(u) => out.extend(unlisted(&[&BACKUP_VAULT_LOCK], "backup", u)),
    }
    match &inv.points {
        Ok(points) => out.extend(protected_resources(points, &inv.restore_jobs, limits, now)),
        Err(u) => out.extend(unlisted(
            &[&BACKUP_RPO, &BACKUP_RESTORE_TESTED],
            "backup",
            u,
        )),
    }
    match &inv.plans {
        Ok(plans) => out.extend(plans.iter().map(|p| cross_region_copy(p, &inv.region))),
        Err(u) => out.extend(unlisted(&[&BACKUP_CROSS_REGION], "backup", u)),
    }
    out
}

pub fn vault_lock(v: &BackupVault) -> Finding {
    if v.locked {
        let r = |d: Option<i64>| d.map(|d| format!("{d} days")).unwrap_or_else(|| "-".into());
        Finding::pass(
            &BACKUP_VAULT_LOCK,
            &v.arn,
            &v.name,
            format!(
                "Locked=true MinRetention {} MaxRetention {}",
                r(v.min_retention_days),
                r(v.max_retention_days)
            ),
        )
    } else {
        Finding::fail(
            &BACKUP_VAULT_LOCK,
            &v.arn,
            &v.name,
            "Locked=false: recovery points can be deleted before their retention ends",
        )
    }
}

fn hours(d: Duration) -> String {
    let h = d.num_hours();
    if h >= 48 {
        format!("{} days", h / 24)
    } else {
        format!("{h} h")
    }
}

/// The RPO and restore-test controls of every resource with recovery points.
pub fn protected_resources(
    points: &[RecoveryPoint],
    restores: &Read<Vec<RestoreJob>>,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut by_resource: BTreeMap<&str, Vec<&RecoveryPoint>> = BTreeMap::new();
    for p in points {
        by_resource
            .entry(p.resource_arn.as_str())
            .or_default()
            .push(p);
    }
    let rpo = Duration::hours(limits.rpo_hours);
    let window = Duration::days(limits.restore_test_days);
    let mut out = Vec::new();
    for (arn, pts) in by_resource {
        let name = pts
            .iter()
            .find_map(|p| p.resource_name.clone())
            .unwrap_or_else(|| arn.rsplit([':', '/']).next().unwrap_or(arn).to_string());
        let latest = pts
            .iter()
            .filter(|p| p.status == "COMPLETED")
            .filter_map(|p| p.completed.or(p.created))
            .max();
        out.push(match latest {
            Some(t) if now - t <= rpo => Finding::pass(
                &BACKUP_RPO,
                arn,
                &name,
                format!(
                    "newest COMPLETED recovery point {} ago (rpo_hours {})",
                    hours(now - t),
                    limits.rpo_hours
                ),
            ),
            Some(t) => Finding::fail(
                &BACKUP_RPO,
                arn,
                &name,
                format!(
                    "newest COMPLETED recovery point {} ago, older than rpo_hours {}",
                    hours(now - t),
                    limits.rpo_hours
                ),
            ),
            None => Finding::fail(&BACKUP_RPO, arn, &name, "no COMPLETED recovery point"),
        });
        out.push(match restores {
            Err(u) => Finding::unknown(&BACKUP_RESTORE_TESTED, arn, &name, u),
            Ok(jobs) => {
                let mine: Vec<&RestoreJob> = jobs
                    .iter()
                    .filter(|j| pts.iter().any(|p| p.arn == j.recovery_point_arn))
                    .collect();
                let last = mine
                    .iter()
                    .filter(|j| j.status == "COMPLETED")
                    .filter_map(|j| j.completed.or(j.created))
                    .max();
                match last {
                    Some(t) if now - t <= window => Finding::pass(
                        &BACKUP_RESTORE_TESTED,
                        arn,
                        &name,
                        format!("last COMPLETED restore job {} ago (restore_test_days {})", hours(now - t), limits.restore_test_days),
                    ),
                    Some(t) => Finding::fail(
                        &BACKUP_RESTORE_TESTED,
                        arn,
                        &name,
                        format!("last COMPLETED restore job {} ago, older than restore_test_days {}", hours(now - t), limits.restore_test_days),
                    ),
                    None => Finding::fail(
                        &BACKUP_RESTORE_TESTED,
                        arn,
                        &name,
                        format!("no COMPLETED restore job of its recovery points ({} restore job(s) in all)", mine.len()),
                    ),
                }
            }
        });
    }
    out
}

/// A backup plan's copy actions, as GetBackupPlan gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanCopies {
    pub plan_arn: String,
    pub plan_name: String,
    /// (rule name, destination vault ARNs of its copy actions).
    pub rules: Vec<(String, Vec<String>)>,
}

/// The region of an ARN (`arn:aws:backup:REGION:…`).
fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

/// A plan passes when some rule copies to a vault in a region other than `home_region`.
pub fn cross_region_copy(plan: &PlanCopies, home_region: &str) -> Finding {
    let away: Vec<String> = plan
        .rules
        .iter()
        .flat_map(|(rule, dests)| {
            dests
                .iter()
                .filter(|d| region_of(d).is_some_and(|r| r != home_region))
                .map(move |d| format!("rule {rule} copies to {d}"))
        })
        .collect();
    if let Some(first) = away.first() {
        Finding::pass(
            &BACKUP_CROSS_REGION,
            &plan.plan_arn,
            &plan.plan_name,
            first.clone(),
        )
    } else {
        let same: usize = plan.rules.iter().map(|(_, d)| d.len()).sum();
        Finding::fail(
            &BACKUP_CROSS_REGION,
            &plan.plan_arn,
            &plan.plan_name,
            if same == 0 {
                "no rule has a CopyAction".to_string()
            } else {
                format!("{same} CopyAction(s), all to vaults in {home_region}")
            },
        )
    }
}

// ---------------------------------------------------------------- CloudTrail

fn trails(inv: &Inventory) -> Vec<Finding> {
    let list = match &inv.trails {
        Ok(l) => l,
        Err(u) => return unlisted(&[&TRAIL_EXISTS], "cloudtrail", u),
    };
    let mut out = Vec::new();
    if list.is_empty() {
        out.push(Finding::fail(
            &TRAIL_EXISTS,
            "account",
            "account",
            "DescribeTrails lists no trail",
        ));
    } else {
        out.push(Finding::pass(
            &TRAIL_EXISTS,
            "account",
            "account",
            format!(
                "{} trail(s): {}",
                list.len(),
                list.iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    for t in list {
        out.extend(trail(t));
    }
    out
}

pub fn trail(t: &TrailFacts) -> Vec<Finding> {
    let (a, n) = (t.arn.as_str(), t.name.as_str());
    let yes_no = |c: &'static Control, ok: bool, attr: &str| {
        let ev = format!("{attr}={ok}");
        if ok {
            Finding::pass(c, a, n, ev)
        } else {
            Finding::fail(c, a, n, ev)
        }
    };
    vec![
        match &t.logging {
            Ok(l) => yes_no(&TRAIL_LOGGING, *l, "IsLogging"),
            Err(u) => Finding::unknown(&TRAIL_LOGGING, a, n, u),
        },
        yes_no(&TRAIL_MULTI_REGION, t.multi_region, "IsMultiRegionTrail"),
        yes_no(
            &TRAIL_VALIDATION,
            t.log_file_validation,
            "LogFileValidationEnabled",
        ),
        match &t.kms_key {
            Some(k) => Finding::pass(&TRAIL_KMS, a, n, format!("KmsKeyId={k}")),
            None => Finding::fail(&TRAIL_KMS, a, n, "KmsKeyId not set: logs use SSE-S3 only"),
        },
        match &t.selectors {
            Ok(s) if s.management_read && s.management_write => {
                Finding::pass(&TRAIL_MANAGEMENT, a, n, s.evidence.clone())
            }
            Ok(s) => Finding::fail(&TRAIL_MANAGEMENT, a, n, s.evidence.clone()),
            Err(u) => Finding::unknown(&TRAIL_MANAGEMENT, a, n, u),
        },
    ]
}
