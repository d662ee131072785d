//! The claims scenario's KMS keys: one per payload segment (patient details, medical expenses,
//! costs) so each pipeline stage can read only its own segment, plus transport, backup and an
//! HMAC audit key, the AWS managed keys for SQS and Backup, and a retired key pending deletion.
//! Rotation is off on the costs key (a posture finding); the others carry rotation history.

use crate::emulator::services::kms::{KmsKey, Rotation, RotationType};
use crate::emulator::util::SeededRng;
use crate::emulator::world::World;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// Key ARNs the rest of the scenario encrypts with.
#[derive(Debug, Clone)]
pub struct ClaimsKeys {
    pub patient_details: String,
    pub medical_expenses: String,
    pub costs: String,
    pub transport: String,
    pub backup: String,
    pub audit_hmac: String,
}

struct Spec {
    alias: &'static str,
    description: &'static str,
    segment: &'static str,
    key_spec: &'static str,
    /// Rotation period in days, or None for rotation off.
    rotation: Option<i64>,
    /// Days since creation.
    age_days: i64,
    on_demand: usize,
    /// The role that may decrypt with this key.
    reader: &'static str,
}

const KEYS: &[Spec] = &[
    Spec {
        alias: "alias/claims-patient-details",
        description: "Claims payload segment: patient details (PHI)",
        segment: "patient_details",
        key_spec: "SYMMETRIC_DEFAULT",
        rotation: Some(365),
        age_days: 540,
        on_demand: 2,
        reader: "ClaimsValidationStage",
    },
    Spec {
        alias: "alias/claims-medical-expenses",
        description: "Claims payload segment: medical expenses (PHI)",
        segment: "medical_expenses",
        key_spec: "SYMMETRIC_DEFAULT",
        rotation: Some(180),
        age_days: 540,
        on_demand: 0,
        reader: "ClaimsFraudStage",
    },
    Spec {
        alias: "alias/claims-costs",
        description: "Claims payload segment: costs and payment amounts",
        segment: "costs",
        key_spec: "SYMMETRIC_DEFAULT",
        rotation: None,
        age_days: 540,
        on_demand: 0,
        reader: "ClaimsPaymentStage",
    },
    Spec {
        alias: "alias/claims-transport",
        description: "Claims pipeline transport encryption (SNS/SQS)",
        segment: "transport",
        key_spec: "SYMMETRIC_DEFAULT",
        rotation: Some(365),
        age_days: 800,
        on_demand: 1,
        reader: "ClaimsIntakeStage",
    },
    Spec {
        alias: "alias/claims-backup",
        description: "AWS Backup vault encryption for claims data stores",
        segment: "backup",
        key_spec: "SYMMETRIC_DEFAULT",
        rotation: Some(365),
        age_days: 400,
        on_demand: 0,
        reader: "BackupRestoreRole",
    },
    Spec {
        alias: super::claims::AUDIT_HMAC_ALIAS,
        description: "HMAC key sealing the phi-console audit log",
        segment: "audit_hmac",
        key_spec: "HMAC_256",
        rotation: None,
        age_days: 120,
        on_demand: 0,
        reader: "ClaimsOperator",
    },
];

fn policy(account: &str, reader: &str, hmac: bool) -> String {
    let use_actions = if hmac {
        json!(["kms:GenerateMac", "kms:VerifyMac", "kms:DescribeKey"])
    } else {
        json!(["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"])
    };
    serde_json::to_string_pretty(&json!({
        "Version": "2012-10-17",
        "Id": "claims-key-policy",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{account}:root") },
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "Allow use by the pipeline stage",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{account}:role/{reader}") },
                "Action": use_actions,
                "Resource": "*"
            },
            {
                "Sid": "Allow key administration with MFA",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:aws:iam::{account}:role/ClaimsOperator") },
                "Action": ["kms:EnableKeyRotation", "kms:DisableKeyRotation", "kms:RotateKeyOnDemand", "kms:Describe*", "kms:Get*", "kms:List*"],
                "Resource": "*",
                "Condition": { "Bool": { "aws:MultiFactorAuthPresent": "true" } }
            }
        ]
    }))
    .unwrap_or_default()
}

fn new_key(w: &World, rng: &mut SeededRng, spec: &str, created: DateTime<Utc>) -> KmsKey {
    KmsKey::new(
        &rng.uuid(),
        &w.region,
        &w.account_id,
        spec,
        created,
        rng.bytes::<32>(),
    )
}

/// Turns on automatic rotation every `period` days and applies the rotations that fell due
/// between the key's creation and `now`.
fn rotate_automatically(key: &mut KmsKey, period: i64, now: DateTime<Utc>, rng: &mut SeededRng) {
    key.rotation_enabled = true;
    key.rotation_period_days = period;
    let mut next = key.created + Duration::days(period);
    while next <= now {
        key.material.push(rng.bytes::<32>());
        key.rotations.push(Rotation {
            date: next,
            kind: RotationType::Automatic,
        });
        next += Duration::days(period);
    }
    key.next_rotation = Some(next);
}

/// Stores a key with its alias; returns the key's ARN.
fn add(w: &mut World, key: KmsKey, alias: &str, created: DateTime<Utc>) -> String {
    let (id, arn) = (key.id.clone(), key.arn.clone());
    w.kms.insert_key(key);
    w.kms.insert_alias(alias, &id, created);
    arn
}

pub fn seed(w: &mut World, now: DateTime<Utc>, rng: &mut SeededRng) -> ClaimsKeys {
    let mut arns = std::collections::HashMap::new();
    for s in KEYS {
        let created = now - Duration::days(s.age_days) - Duration::minutes(rng.below(600) as i64);
        let mut key = new_key(w, rng, s.key_spec, created);
        key.description = s.description.to_string();
        key.policy = policy(&w.account_id, s.reader, s.key_spec.starts_with("HMAC"));
        key.tags = vec![
            ("Project".into(), "claims-pipeline".into()),
            ("Segment".into(), s.segment.into()),
            (
                "DataClassification".into(),
                if s.segment == "audit_hmac" {
                    "audit"
                } else {
                    "phi"
                }
                .into(),
            ),
            ("Owner".into(), "platform-security".into()),
        ];
        for i in 0..s.on_demand {
            let date =
                now - Duration::days(30 + 45 * i as i64) - Duration::minutes(rng.below(600) as i64);
            key.material.push(rng.bytes::<32>());
            key.rotations.push(Rotation {
                date,
                kind: RotationType::OnDemand,
            });
        }
        if let Some(period) = s.rotation {
            rotate_automatically(&mut key, period, now, rng);
        }
        key.rotations.sort_by_key(|r| r.date);
        arns.insert(s.segment, add(w, key, s.alias, created));
    }

    // AWS managed keys, created when the services first used KMS; they rotate yearly.
    for (alias, description) in [
        (
            "alias/aws/sqs",
            "Default key that protects my SQS messages when no other key is defined",
        ),
        (
            "alias/aws/backup",
            "Default key that protects my backups when no other key is defined",
        ),
    ] {
        let created = now - Duration::days(900);
        let mut key = new_key(w, rng, "SYMMETRIC_DEFAULT", created);
        key.manager = "AWS".into();
        key.description = description.into();
        rotate_automatically(&mut key, 365, now, rng);
        add(w, key, alias, created);
    }

    // A retired export key, disabled and pending deletion (what an operator must not rotate).
    let mut retired = new_key(w, rng, "SYMMETRIC_DEFAULT", now - Duration::days(1200));
    retired.description = "Retired: legacy claims export (scheduled for deletion)".into();
    retired.state = crate::emulator::services::kms::KeyState::PendingDeletion;
    retired.deletion_date = Some(now + Duration::days(21));
    retired.pending_window_days = Some(30);
    // The export worker's grant outlived the export (ListGrants shows it).
    w.kms.grants.push(crate::emulator::services::kms::Grant {
        key_id: retired.id.clone(),
        grant_id: crate::emulator::crypto::sha256_hex(format!("grant:{}", retired.id).as_bytes()),
        name: "claims-export-worker".into(),
        grantee: format!("arn:aws:iam::{}:role/ClaimsExportWorker", w.account_id),
        retiring: None,
        operations: vec!["Decrypt".into(), "GenerateDataKey".into()],
        created: now - Duration::days(1100),
    });
    add(
        w,
        retired,
        "alias/claims-legacy-export",
        now - Duration::days(1200),
    );

    // An asymmetric signing key for provider notifications (cannot be rotated).
    let mut signing = new_key(w, rng, "ECC_NIST_P256", now - Duration::days(300));
    signing.description = "Signs provider notification payloads".into();
    add(
        w,
        signing,
        "alias/claims-notify-signing",
        now - Duration::days(300),
    );

    let get = |s: &str| arns.get(s).cloned().unwrap_or_default();
    ClaimsKeys {
        patient_details: get("patient_details"),
        medical_expenses: get("medical_expenses"),
        costs: get("costs"),
        transport: get("transport"),
        backup: get("backup"),
        audit_hmac: get("audit_hmac"),
    }
}
