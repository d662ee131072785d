//! AWS Backup through the real SDK: vaults and their lock state, access policies, paging of
//! recovery points, restore metadata, restore jobs progressing over emulated time (and failing
//! when configured to), restore validation results, job filters, plans and restore testing.

use crate::common::*;
use aws_sdk_backup::Client;
use aws_sdk_backup::types::{
    BackupJobState, RecoveryPointStatus, RestoreJobStatus, RestoreValidationStatus, StorageClass,
    VaultType,
};
use chrono::Duration as ChronoDuration;
use phi_console::emulator::Emulator;
use phi_console::emulator::services::backup::{self, RecoveryPoint, RestoreBehaviour, Vault};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const ACCOUNT: &str = "123456789012";
const INTAKE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake";
const PAYMENTS: &str = "arn:aws:rds:us-east-1:123456789012:db:claims-payments";
const DOCUMENTS: &str = "arn:aws:s3:::claims-documents";
const ROLE: &str = "arn:aws:iam::123456789012:role/BackupRestoreRole";

fn secs(t: Option<&aws_smithy_types::DateTime>) -> i64 {
    t.expect("timestamp present").secs()
}

/// The newest COMPLETED recovery point of a resource in the primary vault.
async fn latest_point(
    b: &Client,
    resource_arn: &str,
) -> aws_sdk_backup::types::RecoveryPointByBackupVault {
    let out = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .by_resource_arn(resource_arn)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(out.recovery_points().len(), 1);
    assert!(
        out.next_token().is_some(),
        "30 points per resource, one per page"
    );
    out.recovery_points()[0].clone()
}

async fn restore_status(
    b: &Client,
    id: &str,
) -> aws_sdk_backup::operation::describe_restore_job::DescribeRestoreJobOutput {
    b.describe_restore_job()
        .restore_job_id(id)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn claims_vaults_and_lock_state() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let out = b.list_backup_vaults().send().await.unwrap();
    assert!(out.next_token().is_none());
    let names: Vec<&str> = out
        .backup_vault_list()
        .iter()
        .filter_map(|v| v.backup_vault_name())
        .collect();
    assert_eq!(names, ["claims-locked-vault", "claims-primary-vault"]);
    let primary = &out.backup_vault_list()[1];
    let locked = &out.backup_vault_list()[0];
    assert_eq!(primary.locked(), Some(false));
    assert_eq!(primary.min_retention_days(), None);
    assert_eq!(primary.number_of_recovery_points(), 90);
    assert_eq!(primary.vault_type(), Some(&VaultType::BackupVault));
    assert_eq!(
        primary.backup_vault_arn(),
        Some("arn:aws:backup:us-east-1:123456789012:backup-vault:claims-primary-vault")
    );
    assert_eq!(locked.locked(), Some(true));
    assert_eq!(
        (locked.min_retention_days(), locked.max_retention_days()),
        (Some(7), Some(365))
    );
    assert!(locked.lock_date().is_some());
    assert_eq!(
        locked.number_of_recovery_points(),
        15,
        "five weekly copies of three resources"
    );
    let key = primary.encryption_key_arn().unwrap();
    assert!(
        key.starts_with("arn:aws:kms:us-east-1:123456789012:key/"),
        "{key}"
    );
    assert_eq!(locked.encryption_key_arn(), Some(key));

    // Paging the vault list one at a time.
    let p1 = b.list_backup_vaults().max_results(1).send().await.unwrap();
    assert_eq!(p1.backup_vault_list().len(), 1);
    let p2 = b
        .list_backup_vaults()
        .max_results(1)
        .next_token(p1.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        p2.backup_vault_list()[0].backup_vault_name(),
        Some("claims-primary-vault")
    );
    assert!(p2.next_token().is_none());

    let d = b
        .describe_backup_vault()
        .backup_vault_name("claims-locked-vault")
        .send()
        .await
        .unwrap();
    assert_eq!(d.locked(), Some(true));
    assert_eq!(d.min_retention_days(), Some(7));
    assert_eq!(d.max_retention_days(), Some(365));
    assert_eq!(secs(d.lock_date()), secs(locked.lock_date()));
    assert!(secs(d.creation_date()) < secs(d.lock_date()));
    assert_eq!(d.encryption_key_arn(), Some(key));

    let e = b
        .describe_backup_vault()
        .backup_vault_name("no-such-vault")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
    assert_eq!(code(&e), "ResourceNotFoundException");
    assert!(format!("{:?}", e.as_service_error().unwrap()).contains("no-such-vault"));
}

#[tokio::test]
async fn recovery_points_page_without_duplicates() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let mut seen = HashSet::new();
    let mut token: Option<String> = None;
    let mut pages = Vec::new();
    let mut last_created = i64::MAX;
    loop {
        let out = b
            .list_recovery_points_by_backup_vault()
            .backup_vault_name("claims-primary-vault")
            .max_results(7)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        pages.push(out.recovery_points().len());
        for rp in out.recovery_points() {
            assert!(
                seen.insert(rp.recovery_point_arn().unwrap().to_string()),
                "duplicate {:?}",
                rp.recovery_point_arn()
            );
            let created = secs(rp.creation_date());
            assert!(created <= last_created, "newest first");
            last_created = created;
            assert_eq!(rp.status(), Some(&RecoveryPointStatus::Completed));
            assert_eq!(rp.backup_vault_name(), Some("claims-primary-vault"));
            assert!(rp.backup_size_in_bytes().unwrap() > 1_000_000_000);
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 90);
    assert_eq!(pages.len(), 13);
    assert!(pages[..12].iter().all(|n| *n == 7), "{pages:?}");
    assert_eq!(pages[12], 6);

    // Filters.
    let dynamo = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .by_resource_arn(INTAKE)
        .send()
        .await
        .unwrap();
    assert_eq!(dynamo.recovery_points().len(), 30);
    assert!(
        dynamo
            .recovery_points()
            .iter()
            .all(|r| r.resource_type() == Some("DynamoDB"))
    );
    let s3 = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .by_resource_type("S3")
        .send()
        .await
        .unwrap();
    assert_eq!(s3.recovery_points().len(), 30);
    assert!(
        s3.recovery_points()
            .iter()
            .all(|r| r.resource_arn() == Some(DOCUMENTS))
    );
    let week_ago = emu.clock().now() - ChronoDuration::days(7);
    let recent = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .by_created_after(aws_smithy_types::DateTime::from_secs(week_ago.timestamp()))
        .send()
        .await
        .unwrap();
    assert!(
        (18..=24).contains(&recent.recovery_points().len()),
        "{}",
        recent.recovery_points().len()
    );
    assert!(
        recent
            .recovery_points()
            .iter()
            .all(|r| secs(r.creation_date()) > week_ago.timestamp())
    );
    let locked = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-locked-vault")
        .send()
        .await
        .unwrap();
    assert_eq!(locked.recovery_points().len(), 15);
    assert!(
        locked
            .recovery_points()
            .iter()
            .all(|r| r.lifecycle().and_then(|l| l.delete_after_days()) == Some(365))
    );

    // Bad paging input.
    let e = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_value_exception(),
        "{e:?}"
    );
    let e = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .max_results(1001)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_value_exception(),
        "{e:?}"
    );
    let e = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("nope")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
}

#[tokio::test]
async fn describe_recovery_point_and_restore_metadata() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let key = emu.with_world(|w| {
        w.backup.vaults["claims-primary-vault"]
            .encryption_key_arn
            .clone()
            .unwrap()
    });
    for (resource, rtype) in [(INTAKE, "DynamoDB"), (PAYMENTS, "RDS"), (DOCUMENTS, "S3")] {
        let rp = latest_point(&b, resource).await;
        let arn = rp.recovery_point_arn().unwrap();
        let d = b
            .describe_recovery_point()
            .backup_vault_name("claims-primary-vault")
            .recovery_point_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(d.recovery_point_arn(), Some(arn));
        assert_eq!(d.resource_arn(), Some(resource));
        assert_eq!(d.resource_type(), Some(rtype));
        assert_eq!(d.status(), Some(&RecoveryPointStatus::Completed));
        assert_eq!(d.storage_class(), Some(&StorageClass::Warm));
        assert!(d.is_encrypted());
        assert_eq!(d.encryption_key_arn(), Some(key.as_str()));
        assert_eq!(d.iam_role_arn(), Some(ROLE));
        let created = secs(d.creation_date());
        assert!(secs(d.completion_date()) > created);
        assert_eq!(d.lifecycle().unwrap().delete_after_days(), Some(35));
        assert_eq!(
            secs(d.calculated_lifecycle().unwrap().delete_at()),
            created + 35 * 86_400
        );
        let by = d.created_by().unwrap();
        assert!(by.backup_plan_arn().unwrap().contains(":backup-plan:"));
        assert!(by.backup_rule_id().is_some());

        let m = b
            .get_recovery_point_restore_metadata()
            .backup_vault_name("claims-primary-vault")
            .recovery_point_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(m.resource_type(), Some(rtype));
        assert_eq!(m.recovery_point_arn(), Some(arn));
        let md = m.restore_metadata().unwrap();
        match rtype {
            "DynamoDB" => {
                assert!(
                    arn.starts_with(
                        "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake/backup/"
                    ),
                    "{arn}"
                );
                assert_eq!(md["targetTableName"], "claims-intake");
                assert_eq!(md["encryptionType"], "KMS");
            }
            "RDS" => {
                assert_eq!(md["DBInstanceIdentifier"], "claims-payments");
                assert_eq!(md["MultiAZ"], "true");
                assert!(md.contains_key("DBInstanceClass") && md.contains_key("Engine"));
            }
            _ => {
                assert_eq!(md["DestinationBucketName"], "claims-documents");
                assert_eq!(md["Encrypted"], "true");
                assert!(md.contains_key("NewBucket"));
            }
        }
    }
    // A point that exists, but in another vault, and one that does not exist at all.
    let rp = latest_point(&b, INTAKE).await;
    for (vault, arn) in [
        ("claims-locked-vault", rp.recovery_point_arn().unwrap()),
        (
            "claims-primary-vault",
            "arn:aws:backup:us-east-1:123456789012:recovery-point:nope",
        ),
    ] {
        let e = b
            .describe_recovery_point()
            .backup_vault_name(vault)
            .recovery_point_arn(arn)
            .send()
            .await
            .unwrap_err();
        assert!(
            e.as_service_error()
                .unwrap()
                .is_resource_not_found_exception(),
            "{e:?}"
        );
        let e = b
            .get_recovery_point_restore_metadata()
            .backup_vault_name(vault)
            .recovery_point_arn(arn)
            .send()
            .await
            .unwrap_err();
        assert!(
            e.as_service_error()
                .unwrap()
                .is_resource_not_found_exception(),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn vault_access_policy_round_trip() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let p = b
        .get_backup_vault_access_policy()
        .backup_vault_name("claims-primary-vault")
        .send()
        .await
        .unwrap();
    assert_eq!(p.backup_vault_name(), Some("claims-primary-vault"));
    let policy: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Effect"], "Deny");
    assert!(
        policy["Statement"][0]["Action"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "backup:DeleteRecoveryPoint")
    );

    // The locked vault has none until one is put.
    let e = b
        .get_backup_vault_access_policy()
        .backup_vault_name("claims-locked-vault")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
    let doc = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Deny", "Principal": "*", "Action": "backup:DeleteBackupVault", "Resource": "*" }]
    })
    .to_string();
    b.put_backup_vault_access_policy()
        .backup_vault_name("claims-locked-vault")
        .policy(&doc)
        .send()
        .await
        .unwrap();
    let got = b
        .get_backup_vault_access_policy()
        .backup_vault_name("claims-locked-vault")
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy(), Some(doc.as_str()));
    assert_eq!(
        got.backup_vault_arn(),
        Some("arn:aws:backup:us-east-1:123456789012:backup-vault:claims-locked-vault")
    );

    // Not JSON, or not an object: rejected, and the stored policy is unchanged.
    for bad in ["not json", "[1,2]"] {
        let e = b
            .put_backup_vault_access_policy()
            .backup_vault_name("claims-locked-vault")
            .policy(bad)
            .send()
            .await
            .unwrap_err();
        assert!(
            e.as_service_error()
                .unwrap()
                .is_invalid_parameter_value_exception(),
            "{e:?}"
        );
    }
    let got = b
        .get_backup_vault_access_policy()
        .backup_vault_name("claims-locked-vault")
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy(), Some(doc.as_str()));
    let e = b
        .get_backup_vault_access_policy()
        .backup_vault_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
    let e = b
        .put_backup_vault_access_policy()
        .backup_vault_name("ghost")
        .policy(&doc)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
}

#[tokio::test]
async fn restore_job_progresses_over_emulated_time() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let rp = latest_point(&b, INTAKE).await;
    let rp_arn = rp.recovery_point_arn().unwrap();
    let start = || {
        b.start_restore_job()
            .recovery_point_arn(rp_arn)
            .metadata("targetTableName", "claims-intake-restored")
            .metadata("encryptionType", "KMS")
            .iam_role_arn(ROLE)
            .idempotency_token("restore-1")
            .resource_type("DynamoDB")
    };
    let started_at = emu.clock().now().timestamp();
    let id = start()
        .send()
        .await
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_string();
    assert_eq!(
        start().send().await.unwrap().restore_job_id(),
        Some(id.as_str()),
        "idempotent"
    );

    let d = restore_status(&b, &id).await;
    assert_eq!(d.status(), Some(&RestoreJobStatus::Pending));
    assert_eq!(d.percent_done(), Some("0.00%"));
    assert_eq!(d.expected_completion_time_minutes(), Some(16));
    assert_eq!(d.created_resource_arn(), None);
    assert_eq!(d.completion_date(), None);
    assert_eq!(d.recovery_point_arn(), Some(rp_arn));
    assert_eq!(d.resource_type(), Some("DynamoDB"));
    assert_eq!(d.iam_role_arn(), Some(ROLE));
    assert_eq!(d.account_id(), Some(ACCOUNT));
    assert_eq!(d.backup_size_in_bytes(), rp.backup_size_in_bytes());
    assert_eq!(
        secs(d.recovery_point_creation_date()),
        secs(rp.creation_date())
    );
    assert!((secs(d.creation_date()) - started_at).abs() <= 1);

    emu.advance(Duration::from_secs(60 + 300));
    let d = restore_status(&b, &id).await;
    assert_eq!(d.status(), Some(&RestoreJobStatus::Running));
    let pct: f64 = d
        .percent_done()
        .unwrap()
        .trim_end_matches('%')
        .parse()
        .unwrap();
    assert!((30.0..=37.0).contains(&pct), "{pct}");
    assert_eq!(d.created_resource_arn(), None);

    emu.advance(Duration::from_secs(600));
    let d = restore_status(&b, &id).await;
    assert_eq!(d.status(), Some(&RestoreJobStatus::Completed));
    assert_eq!(d.percent_done(), Some("100.00%"));
    assert_eq!(
        d.created_resource_arn(),
        Some("arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake-restored")
    );
    let done = secs(d.completion_date());
    assert!(
        (done - (secs(d.creation_date()) + 960)).abs() <= 1,
        "completes after pending + running"
    );
    assert_eq!(d.status_message(), None);

    // The recovery point remembers the restore.
    let p = b
        .describe_recovery_point()
        .backup_vault_name("claims-primary-vault")
        .recovery_point_arn(rp_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(secs(p.last_restore_time()), done);

    // A validation result, then visible on the job and in the list.
    b.put_restore_validation_result()
        .restore_job_id(&id)
        .validation_status(RestoreValidationStatus::Successful)
        .validation_status_message("Row counts match")
        .send()
        .await
        .unwrap();
    let d = restore_status(&b, &id).await;
    assert_eq!(
        d.validation_status(),
        Some(&RestoreValidationStatus::Successful)
    );
    assert_eq!(d.validation_status_message(), Some("Row counts match"));
    let listed = b
        .list_restore_jobs()
        .by_status(RestoreJobStatus::Completed)
        .by_resource_type("DynamoDB")
        .send()
        .await
        .unwrap();
    let mine = listed
        .restore_jobs()
        .iter()
        .find(|j| j.restore_job_id() == Some(id.as_str()))
        .expect("listed");
    assert_eq!(
        mine.validation_status(),
        Some(&RestoreValidationStatus::Successful)
    );
    assert!(
        listed
            .restore_jobs()
            .iter()
            .all(|j| j.status() == Some(&RestoreJobStatus::Completed))
    );
    let pending = b
        .list_restore_jobs()
        .by_status(RestoreJobStatus::Pending)
        .send()
        .await
        .unwrap();
    assert!(pending.restore_jobs().is_empty());
}

#[tokio::test]
async fn configured_failure_per_resource_type() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    emu.with_world(|w| {
        w.backup.restore_overrides.insert(
            "S3".into(),
            RestoreBehaviour {
                pending_seconds: 10,
                running_seconds: 20,
                fail: true,
                failure_message: "Access denied: the restore role cannot use the vault's KMS key"
                    .into(),
            },
        );
    });
    let s3 = latest_point(&b, DOCUMENTS).await;
    let s3_job = b
        .start_restore_job()
        .recovery_point_arn(s3.recovery_point_arn().unwrap())
        .metadata("DestinationBucketName", "claims-documents-restore")
        .metadata("NewBucket", "true")
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_string();
    // The override does not apply to other resource types.
    let rds = latest_point(&b, PAYMENTS).await;
    let rds_job = b
        .start_restore_job()
        .recovery_point_arn(rds.recovery_point_arn().unwrap())
        .metadata("DBInstanceIdentifier", "claims-payments-restore")
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_string();
    // Behaviour is captured at start: clearing the override now changes nothing.
    emu.with_world(|w| w.backup.restore_overrides.clear());
    assert_eq!(
        restore_status(&b, &s3_job)
            .await
            .expected_completion_time_minutes(),
        Some(1)
    );

    emu.advance(Duration::from_secs(15));
    assert_eq!(
        restore_status(&b, &s3_job).await.status(),
        Some(&RestoreJobStatus::Running)
    );
    emu.advance(Duration::from_secs(16));
    let d = restore_status(&b, &s3_job).await;
    assert_eq!(d.status(), Some(&RestoreJobStatus::Failed));
    assert_eq!(
        d.status_message(),
        Some("Access denied: the restore role cannot use the vault's KMS key")
    );
    assert_eq!(d.created_resource_arn(), None);
    assert!(d.completion_date().is_some());
    assert_eq!(
        restore_status(&b, &rds_job).await.status(),
        Some(&RestoreJobStatus::Pending)
    );

    // A failed restore does not count as a restore of the point, and cannot be validated.
    emu.with_world(|w| {
        assert!(
            w.backup.recovery_points[s3.recovery_point_arn().unwrap()]
                .last_restore_time
                .is_none()
        );
    });
    let e = b
        .put_restore_validation_result()
        .restore_job_id(&s3_job)
        .validation_status(RestoreValidationStatus::Successful)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_invalid_request_exception(),
        "{e:?}"
    );
    let failed = b
        .list_restore_jobs()
        .by_status(RestoreJobStatus::Failed)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.restore_jobs().len(), 1);
    assert_eq!(
        failed.restore_jobs()[0].restore_job_id(),
        Some(s3_job.as_str())
    );

    emu.advance(Duration::from_secs(960));
    let d = restore_status(&b, &rds_job).await;
    assert_eq!(d.status(), Some(&RestoreJobStatus::Completed));
    assert_eq!(
        d.created_resource_arn(),
        Some("arn:aws:rds:us-east-1:123456789012:db:claims-payments-restore")
    );
}

/// An empty account seeded with the public helpers: a vault with one EXPIRED point.
fn seed_expired(emu: &Emulator) -> String {
    let now = emu.clock().now();
    emu.with_world(|w| {
        let v = Vault::new(w, "lab-vault", now - ChronoDuration::days(3), None);
        backup::add_vault(w, v);
        let arn = backup::recovery_point_arn(
            w,
            "EBS",
            "vol-0123",
            "11111111-2222-4333-8444-555555555555",
            now,
        );
        backup::add_recovery_point(
            w,
            RecoveryPoint {
                arn: arn.clone(),
                vault_name: "lab-vault".into(),
                resource_arn: "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123".into(),
                resource_type: "EBS".into(),
                resource_name: "vol-0123".into(),
                created_by: None,
                iam_role_arn: ROLE.into(),
                status: "EXPIRED".into(),
                creation_date: now - ChronoDuration::days(2),
                completion_date: Some(now - ChronoDuration::days(2)),
                backup_size_bytes: 8_589_934_592,
                delete_after_days: Some(1),
                encryption_key_arn: None,
                last_restore_time: None,
                restore_metadata: BTreeMap::new(),
            },
        );
        arn
    })
}

#[tokio::test]
async fn restore_errors_are_typed() {
    let emu = empty();
    let b = Client::new(&config(&emu));
    let expired = seed_expired(&emu);
    let v = b.list_backup_vaults().send().await.unwrap();
    assert_eq!(v.backup_vault_list().len(), 1);
    assert_eq!(v.backup_vault_list()[0].number_of_recovery_points(), 1);
    assert_eq!(v.backup_vault_list()[0].encryption_key_arn(), None);

    // Metadata is required.
    let e = b
        .start_restore_job()
        .recovery_point_arn(&expired)
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_missing_parameter_value_exception(),
        "{e:?}"
    );
    // Unknown recovery point.
    let e = b
        .start_restore_job()
        .recovery_point_arn("arn:aws:backup:us-east-1:123456789012:recovery-point:missing")
        .metadata("k", "v")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
    // A point that is not COMPLETED cannot be restored.
    let e = b
        .start_restore_job()
        .recovery_point_arn(&expired)
        .metadata("encrypted", "true")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_invalid_request_exception(),
        "{e:?}"
    );
    // A role that is not an IAM role ARN.
    let e = b
        .start_restore_job()
        .recovery_point_arn(&expired)
        .metadata("encrypted", "true")
        .iam_role_arn("not-a-role")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_value_exception(),
        "{e:?}"
    );
    assert!(
        b.list_restore_jobs()
            .send()
            .await
            .unwrap()
            .restore_jobs()
            .is_empty(),
        "no job was created"
    );

    // Unknown restore job.
    let e = b
        .describe_restore_job()
        .restore_job_id("NOPE")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );
    let e = b
        .put_restore_validation_result()
        .restore_job_id("NOPE")
        .validation_status(RestoreValidationStatus::Failed)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_resource_not_found_exception(),
        "{e:?}"
    );

    // Validation of a job that has not completed yet.
    emu.with_world(|w| {
        let arn = w.backup.recovery_points.keys().next().unwrap().clone();
        w.backup.recovery_points.get_mut(&arn).unwrap().status = "COMPLETED".into();
    });
    let id = b
        .start_restore_job()
        .recovery_point_arn(&expired)
        .metadata("availabilityZone", "us-east-1b")
        .iam_role_arn(ROLE)
        .send()
        .await
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_string();
    let e = b
        .put_restore_validation_result()
        .restore_job_id(&id)
        .validation_status(RestoreValidationStatus::Successful)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_invalid_request_exception(),
        "{e:?}"
    );
    // ValidationStatus is required.
    emu.advance(Duration::from_secs(961));
    let e = b
        .put_restore_validation_result()
        .restore_job_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_missing_parameter_value_exception(),
        "{e:?}"
    );
    b.put_restore_validation_result()
        .restore_job_id(&id)
        .validation_status(RestoreValidationStatus::TimedOut)
        .send()
        .await
        .unwrap();
    let d = restore_status(&b, &id).await;
    assert_eq!(
        d.validation_status(),
        Some(&RestoreValidationStatus::TimedOut)
    );
    assert!(
        d.created_resource_arn()
            .unwrap()
            .starts_with("arn:aws:ec2:us-east-1:123456789012:volume/vol-")
    );
}

#[tokio::test]
async fn backup_jobs_filtered_by_state() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let failed = b
        .list_backup_jobs()
        .by_state(BackupJobState::Failed)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.backup_jobs().len(), 1);
    let f = &failed.backup_jobs()[0];
    assert_eq!(f.resource_arn(), Some(PAYMENTS));
    assert_eq!(f.resource_type(), Some("RDS"));
    assert!(f.status_message().unwrap().contains("claims-payments"));
    assert_eq!(f.recovery_point_arn(), None);
    let expired = b
        .list_backup_jobs()
        .by_state(BackupJobState::Expired)
        .send()
        .await
        .unwrap();
    assert_eq!(expired.backup_jobs().len(), 1);
    assert_eq!(
        expired.backup_jobs()[0].backup_vault_name(),
        Some("claims-locked-vault")
    );

    let completed = b
        .list_backup_jobs()
        .by_state(BackupJobState::Completed)
        .send()
        .await
        .unwrap();
    assert_eq!(completed.backup_jobs().len(), 90);
    for j in completed.backup_jobs() {
        assert_eq!(j.state(), Some(&BackupJobState::Completed));
        assert_eq!(j.percent_done(), Some("100.00%"));
        assert_eq!(j.account_id(), Some(ACCOUNT));
        assert_eq!(j.iam_role_arn(), Some(ROLE));
        assert!(j.recovery_point_arn().is_some());
        assert!(secs(j.completion_date()) > secs(j.creation_date()));
        let by = j.created_by().unwrap();
        assert!(
            by.backup_plan_id().is_some()
                && by.backup_plan_version().is_some()
                && by.backup_rule_id().is_some()
        );
    }
    // Every completed job's recovery point exists in its vault.
    let j = &completed.backup_jobs()[5];
    b.describe_recovery_point()
        .backup_vault_name(j.backup_vault_name().unwrap())
        .recovery_point_arn(j.recovery_point_arn().unwrap())
        .send()
        .await
        .unwrap();

    let intake = b
        .list_backup_jobs()
        .by_resource_arn(INTAKE)
        .by_state(BackupJobState::Completed)
        .send()
        .await
        .unwrap();
    assert_eq!(intake.backup_jobs().len(), 30);
    let rds = b
        .list_backup_jobs()
        .by_resource_type("RDS")
        .send()
        .await
        .unwrap();
    assert_eq!(
        rds.backup_jobs().len(),
        31,
        "30 completed and the failed attempt"
    );
    let locked = b
        .list_backup_jobs()
        .by_backup_vault_name("claims-locked-vault")
        .send()
        .await
        .unwrap();
    assert_eq!(locked.backup_jobs().len(), 1);
    let cut = emu.clock().now() - ChronoDuration::days(10);
    let cut_sdk = aws_smithy_types::DateTime::from_secs(cut.timestamp());
    let newer = b
        .list_backup_jobs()
        .by_created_after(cut_sdk)
        .send()
        .await
        .unwrap();
    let older = b
        .list_backup_jobs()
        .by_created_before(cut_sdk)
        .send()
        .await
        .unwrap();
    assert!(
        newer
            .backup_jobs()
            .iter()
            .all(|j| secs(j.creation_date()) > cut.timestamp())
    );
    assert!(
        older
            .backup_jobs()
            .iter()
            .all(|j| secs(j.creation_date()) < cut.timestamp())
    );
    assert_eq!(newer.backup_jobs().len() + older.backup_jobs().len(), 92);
    assert!(!newer.backup_jobs().is_empty() && !older.backup_jobs().is_empty());

    // All jobs, 25 at a time.
    let mut ids = HashSet::new();
    let mut token = None;
    loop {
        let out = b
            .list_backup_jobs()
            .max_results(25)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(out.backup_jobs().len() <= 25);
        for j in out.backup_jobs() {
            assert!(ids.insert(j.backup_job_id().unwrap().to_string()));
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(ids.len(), 92);
    let e = b
        .list_backup_jobs()
        .max_results(0)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_parameter_value_exception(),
        "{e:?}"
    );
}

#[tokio::test]
async fn plans_and_restore_testing() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let plans = b.list_backup_plans().send().await.unwrap();
    let names: Vec<&str> = plans
        .backup_plans_list()
        .iter()
        .filter_map(|p| p.backup_plan_name())
        .collect();
    assert_eq!(names, ["claims-daily", "claims-weekly"]);
    let daily = &plans.backup_plans_list()[0];
    let daily_id = daily.backup_plan_id().unwrap();
    assert_eq!(
        daily.backup_plan_arn(),
        Some(format!("arn:aws:backup:us-east-1:123456789012:backup-plan:{daily_id}").as_str())
    );
    assert!(daily.version_id().unwrap().len() >= 32);
    assert!(secs(daily.last_execution_date()) > secs(daily.creation_date()));
    // The daily plan's id is what its recovery points were created by.
    let rp = latest_point(&b, INTAKE).await;
    assert_eq!(rp.created_by().unwrap().backup_plan_id(), Some(daily_id));
    assert_eq!(
        rp.created_by().unwrap().backup_plan_version(),
        daily.version_id()
    );
    let by_plan = b
        .list_recovery_points_by_backup_vault()
        .backup_vault_name("claims-primary-vault")
        .by_backup_plan_id(daily_id)
        .send()
        .await
        .unwrap();
    assert_eq!(by_plan.recovery_points().len(), 90);
    let one = b.list_backup_plans().max_results(1).send().await.unwrap();
    assert_eq!(one.backup_plans_list().len(), 1);
    assert!(one.next_token().is_some());

    let rtp = b.list_restore_testing_plans().send().await.unwrap();
    assert_eq!(rtp.restore_testing_plans().len(), 1);
    let p = &rtp.restore_testing_plans()[0];
    assert_eq!(p.restore_testing_plan_name(), "claims-weekly-restore-test");
    assert!(p.restore_testing_plan_arn().starts_with(
        "arn:aws:backup:us-east-1:123456789012:restore-testing-plan:claims-weekly-restore-test-"
    ));
    assert_eq!(p.schedule_expression(), "cron(0 6 ? * SUN *)");
    assert_eq!(p.start_window_hours(), 24);
    let last_run = secs(p.last_execution_time());
    assert!(last_run < emu.clock().now().timestamp());
    assert!(last_run > emu.clock().now().timestamp() - 8 * 86_400);

    // Its last run restored the intake table and was validated.
    let jobs = b
        .list_restore_jobs()
        .by_restore_testing_plan_arn(p.restore_testing_plan_arn())
        .send()
        .await
        .unwrap();
    assert_eq!(jobs.restore_jobs().len(), 1);
    let j = &jobs.restore_jobs()[0];
    assert_eq!(j.status(), Some(&RestoreJobStatus::Completed));
    assert_eq!(
        j.validation_status(),
        Some(&RestoreValidationStatus::Successful)
    );
    assert_eq!(
        j.created_by().unwrap().restore_testing_plan_arn(),
        Some(p.restore_testing_plan_arn())
    );
    assert!(
        j.created_resource_arn()
            .unwrap()
            .starts_with("arn:aws:dynamodb:us-east-1:123456789012:table/awsbackup-restore-test-")
    );
    assert!(secs(j.creation_date()) >= last_run);
    let d = b
        .describe_recovery_point()
        .backup_vault_name("claims-primary-vault")
        .recovery_point_arn(j.recovery_point_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(d.resource_arn(), Some(INTAKE));
    assert_eq!(secs(d.last_restore_time()), secs(j.completion_date()));
    assert!(
        b.list_restore_jobs()
            .by_status(RestoreJobStatus::Running)
            .send()
            .await
            .unwrap()
            .restore_jobs()
            .is_empty()
    );
}

#[tokio::test]
async fn empty_account_lists_nothing() {
    let emu = empty();
    let b = Client::new(&config(&emu));
    let v = b.list_backup_vaults().send().await.unwrap();
    assert!(v.backup_vault_list().is_empty() && v.next_token().is_none());
    assert!(
        b.list_backup_plans()
            .send()
            .await
            .unwrap()
            .backup_plans_list()
            .is_empty()
    );
    assert!(
        b.list_backup_jobs()
            .send()
            .await
            .unwrap()
            .backup_jobs()
            .is_empty()
    );
    assert!(
        b.list_restore_testing_plans()
            .send()
            .await
            .unwrap()
            .restore_testing_plans()
            .is_empty()
    );
}

fn cloud(emu: &Emulator) -> phi_console::cloud::Cloud {
    phi_console::cloud::Cloud::new(
        &config(emu),
        ACCOUNT,
        None,
        phi_console::cloud::system_now(),
    )
}

fn control(emu: &Emulator, method: &str, path: &str) -> (u16, serde_json::Value) {
    control_http(&emu.endpoint_url(), method, path)
}

fn restored_arns(emu: &Emulator) -> Vec<String> {
    let (status, v) = control(emu, "GET", "/_emulator/restored-resources");
    assert_eq!(status, 200, "{v}");
    v["RestoredResources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ResourceArn"].as_str().unwrap().to_string())
        .collect()
}

async fn plan_ids(b: &Client) -> (String, String) {
    let plans = b.list_backup_plans().send().await.unwrap();
    let id = |name: &str| {
        plans
            .backup_plans_list()
            .iter()
            .find(|p| p.backup_plan_name() == Some(name))
            .and_then(|p| p.backup_plan_id())
            .unwrap()
            .to_string()
    };
    (id("claims-daily"), id("claims-weekly"))
}

#[tokio::test]
async fn backup_plan_rules_copy_actions_and_selections() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let (daily, weekly) = plan_ids(&b).await;
    let d = b
        .get_backup_plan()
        .backup_plan_id(&daily)
        .send()
        .await
        .unwrap();
    assert_eq!(d.backup_plan_id(), Some(daily.as_str()));
    let plan = d.backup_plan().unwrap();
    assert_eq!(plan.backup_plan_name(), "claims-daily");
    let rule = &plan.rules()[0];
    assert_eq!(rule.target_backup_vault_name(), "claims-primary-vault");
    assert_eq!(rule.schedule_expression(), Some("cron(0 5 ? * * *)"));
    assert_eq!(rule.start_window_minutes(), Some(60));
    assert_eq!(rule.completion_window_minutes(), Some(480));
    assert_eq!(rule.lifecycle().unwrap().delete_after_days(), Some(35));
    assert_eq!(
        rule.lifecycle().unwrap().move_to_cold_storage_after_days(),
        None
    );
    let copy = &rule.copy_actions()[0];
    assert_eq!(
        copy.destination_backup_vault_arn(),
        "arn:aws:backup:us-west-2:123456789012:backup-vault:claims-dr-vault"
    );
    assert_eq!(copy.lifecycle().unwrap().delete_after_days(), Some(35));
    // The rule id is what the recovery points were created by.
    let rp = latest_point(&b, INTAKE).await;
    assert_eq!(rp.created_by().unwrap().backup_rule_id(), rule.rule_id());
    // The current version by id; another version is not found.
    let v = b
        .get_backup_plan()
        .backup_plan_id(&daily)
        .version_id(d.version_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(v.version_id(), d.version_id());
    let e = b
        .get_backup_plan()
        .backup_plan_id(&daily)
        .version_id("bm90LWEtdmVyc2lvbg==")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let e = b
        .get_backup_plan()
        .backup_plan_id("00000000-0000-0000-0000-000000000000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    assert!(e.into_service_error().is_resource_not_found_exception());

    let w = b
        .get_backup_plan()
        .backup_plan_id(&weekly)
        .send()
        .await
        .unwrap();
    let rule = &w.backup_plan().unwrap().rules()[0];
    assert_eq!(
        rule.lifecycle().unwrap().move_to_cold_storage_after_days(),
        Some(30)
    );
    assert_eq!(rule.lifecycle().unwrap().delete_after_days(), Some(365));
    assert_eq!(
        rule.copy_actions()[0].destination_backup_vault_arn(),
        "arn:aws:backup:us-east-1:123456789012:backup-vault:claims-primary-vault"
    );

    // Selections.
    let sels = b
        .list_backup_selections()
        .backup_plan_id(&daily)
        .send()
        .await
        .unwrap();
    assert_eq!(sels.backup_selections_list().len(), 1);
    let s = &sels.backup_selections_list()[0];
    assert_eq!(s.selection_name(), Some("claims-daily-resources"));
    assert_eq!(s.backup_plan_id(), Some(daily.as_str()));
    assert_eq!(s.iam_role_arn(), Some(ROLE));
    let g = b
        .get_backup_selection()
        .backup_plan_id(&daily)
        .selection_id(s.selection_id().unwrap())
        .send()
        .await
        .unwrap();
    let sel = g.backup_selection().unwrap();
    assert_eq!(sel.iam_role_arn(), ROLE);
    assert_eq!(sel.resources(), [INTAKE, PAYMENTS, DOCUMENTS]);
    assert!(sel.list_of_tags().is_empty());
    let ws = b
        .list_backup_selections()
        .backup_plan_id(&weekly)
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert!(ws.next_token().is_none());
    let wsel = b
        .get_backup_selection()
        .backup_plan_id(&weekly)
        .selection_id(ws.backup_selections_list()[0].selection_id().unwrap())
        .send()
        .await
        .unwrap();
    let tag = &wsel.backup_selection().unwrap().list_of_tags()[0];
    assert_eq!(
        (
            tag.condition_type().as_str(),
            tag.condition_key(),
            tag.condition_value()
        ),
        ("STRINGEQUALS", "backup", "weekly")
    );
    // A selection of one plan is not found under the other.
    let e = b
        .get_backup_selection()
        .backup_plan_id(&weekly)
        .selection_id(s.selection_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let e = b
        .list_backup_selections()
        .backup_plan_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");

    // Through the adapter: domain types, and the cross-region copy check passes for one plan
    // and fails for the other.
    let c = cloud(&emu);
    let dp = c.get_backup_plan(&daily, None).await.unwrap();
    assert_eq!(
        dp.rules[0].copy_actions[0].destination_region(),
        Some("us-west-2")
    );
    assert!(dp.copies_to_another_region("us-east-1"));
    let wp = c.get_backup_plan(&weekly, None).await.unwrap();
    assert_eq!(
        wp.rules[0]
            .lifecycle
            .as_ref()
            .unwrap()
            .move_to_cold_storage_after_days,
        Some(30)
    );
    assert!(!wp.copies_to_another_region("us-east-1"));
    assert!(matches!(
        c.get_backup_plan("nope", None).await,
        Err(phi_console::cloud::CloudError::NotFound { .. })
    ));
    let sels = c.list_backup_selections(&daily).await.unwrap();
    assert_eq!(sels.len(), 1);
    let full = c.get_backup_selection(&daily, &sels[0].id).await.unwrap();
    assert_eq!(full.resources.len(), 3);
    let wsels = c.list_backup_selections(&weekly).await.unwrap();
    let wfull = c.get_backup_selection(&weekly, &wsels[0].id).await.unwrap();
    assert_eq!(wfull.tags[0].key, "backup");
}

#[tokio::test]
async fn recovery_points_by_resource_and_protected_resources() {
    let emu = claims();
    let b = Client::new(&config(&emu));
    let out = b.list_protected_resources().send().await.unwrap();
    let arns: Vec<&str> = out
        .results()
        .iter()
        .filter_map(|r| r.resource_arn())
        .collect();
    let mut sorted = vec![INTAKE, PAYMENTS, DOCUMENTS];
    sorted.sort();
    assert_eq!(arns, sorted, "sorted by ARN");
    let intake = out
        .results()
        .iter()
        .find(|r| r.resource_arn() == Some(INTAKE))
        .unwrap();
    assert_eq!(intake.resource_type(), Some("DynamoDB"));
    assert_eq!(intake.resource_name(), Some("claims-intake"));
    let newest = latest_point(&b, INTAKE).await;
    assert_eq!(
        intake.last_recovery_point_arn(),
        newest.recovery_point_arn()
    );
    assert_eq!(
        secs(intake.last_backup_time()),
        secs(newest.creation_date())
    );
    assert_eq!(
        intake.last_backup_vault_arn(),
        Some("arn:aws:backup:us-east-1:123456789012:backup-vault:claims-primary-vault")
    );
    // One per page.
    let mut token = None;
    let mut pages = 0;
    loop {
        let p = b
            .list_protected_resources()
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert_eq!(p.results().len(), 1);
        pages += 1;
        match p.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);

    // 30 daily points in the primary vault and 5 weekly copies in the locked vault, newest
    // first, paged by the SDK's paginator ten at a time.
    let points: Vec<_> = b
        .list_recovery_points_by_resource()
        .resource_arn(INTAKE)
        .max_results(10)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(points.len(), 4, "35 points, ten a page");
    let all: Vec<_> = points
        .iter()
        .flat_map(|p| p.recovery_points().to_vec())
        .collect();
    assert_eq!(all.len(), 35);
    assert_eq!(all[0].recovery_point_arn(), newest.recovery_point_arn());
    assert!(
        all.windows(2)
            .all(|w| secs(w[0].creation_date()) >= secs(w[1].creation_date()))
    );
    let vaults: HashSet<&str> = all.iter().filter_map(|p| p.backup_vault_name()).collect();
    assert_eq!(
        vaults,
        HashSet::from(["claims-primary-vault", "claims-locked-vault"])
    );
    assert!(all.iter().all(|p| p.backup_size_bytes().unwrap() > 0));
    assert!(
        all.iter()
            .all(|p| p.status() == Some(&RecoveryPointStatus::Completed))
    );
    let e = b
        .list_recovery_points_by_resource()
        .resource_arn("arn:aws:dynamodb:us-east-1:123456789012:table/not-protected")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");

    let c = cloud(&emu);
    let by_resource = c.list_recovery_points_by_resource(PAYMENTS).await.unwrap();
    assert_eq!(by_resource.len(), 35);
    assert_eq!(
        by_resource[0].resource_name.as_deref(),
        Some("claims-payments")
    );
    let protected = c.list_protected_resources().await.unwrap();
    assert_eq!(protected.len(), 3);
    assert!(
        protected
            .iter()
            .any(|p| p.arn == DOCUMENTS && p.resource_type == "S3")
    );
}

#[tokio::test]
async fn restore_testing_plan_runs_on_schedule_and_cleans_up() {
    // A Wednesday noon: the plan next runs on Sunday 2024-05-05 at 06:00 UTC.
    let start = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let emu = crate::common::start(
        phi_console::emulator::Scenario::Claims,
        phi_console::emulator::ClockMode::ManualAt(start),
    );
    let b = Client::new(&config(&emu));
    let plan = b
        .get_restore_testing_plan()
        .restore_testing_plan_name("claims-weekly-restore-test")
        .send()
        .await
        .unwrap();
    let plan = plan.restore_testing_plan().unwrap();
    let plan_arn = plan.restore_testing_plan_arn().to_string();
    assert_eq!(plan.schedule_expression(), "cron(0 6 ? * SUN *)");
    let sel = plan.recovery_point_selection().unwrap();
    assert_eq!(sel.include_vaults(), ["*"]);
    assert_eq!(sel.selection_window_days(), 14);
    let e = b
        .get_restore_testing_plan()
        .restore_testing_plan_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");

    let sels = b
        .list_restore_testing_selections()
        .restore_testing_plan_name("claims-weekly-restore-test")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = sels
        .restore_testing_selections()
        .iter()
        .map(|s| s.restore_testing_selection_name())
        .collect();
    assert_eq!(names, ["claims-databases", "claims-intake-table"]);
    let p1 = b
        .list_restore_testing_selections()
        .restore_testing_plan_name("claims-weekly-restore-test")
        .max_results(1)
        .send()
        .await
        .unwrap();
    assert_eq!(p1.restore_testing_selections().len(), 1);
    assert!(p1.next_token().is_some());
    let intake_sel = b
        .get_restore_testing_selection()
        .restore_testing_plan_name("claims-weekly-restore-test")
        .restore_testing_selection_name("claims-intake-table")
        .send()
        .await
        .unwrap();
    let s = intake_sel.restore_testing_selection().unwrap();
    assert_eq!(s.protected_resource_arns(), [INTAKE]);
    assert_eq!(s.protected_resource_type(), "DynamoDB");
    assert_eq!(s.validation_window_hours(), 4);
    assert_eq!(s.iam_role_arn(), ROLE);
    let e = b
        .get_restore_testing_selection()
        .restore_testing_plan_name("claims-weekly-restore-test")
        .restore_testing_selection_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");

    let by_plan = |b: Client, arn: String| async move {
        let mut jobs = b
            .list_restore_jobs()
            .by_restore_testing_plan_arn(arn)
            .send()
            .await
            .unwrap()
            .restore_jobs()
            .to_vec();
        jobs.sort_by_key(|j| secs(j.creation_date()));
        jobs
    };
    // Nothing runs before Sunday 06:00.
    emu.advance(Duration::from_secs(3 * 86_400 + 17 * 3600 + 59 * 60)); // Sun 05:59
    assert_eq!(
        by_plan(b.clone(), plan_arn.clone()).await.len(),
        1,
        "the seeded history"
    );
    assert!(restored_arns(&emu).is_empty());
    emu.advance(Duration::from_secs(90)); // Sun 06:00:30
    let jobs = by_plan(b.clone(), plan_arn.clone()).await;
    assert_eq!(jobs.len(), 3, "one job per selected resource");
    let run_at = chrono::DateTime::parse_from_rfc3339("2024-05-05T06:00:00Z")
        .unwrap()
        .timestamp();
    let new: Vec<_> = jobs
        .iter()
        .filter(|j| secs(j.creation_date()) == run_at)
        .collect();
    assert_eq!(new.len(), 2);
    for j in &new {
        assert_eq!(j.status(), Some(&RestoreJobStatus::Pending));
        assert_eq!(
            j.created_by().unwrap().restore_testing_plan_arn(),
            Some(plan_arn.as_str())
        );
        assert_eq!(j.iam_role_arn(), Some(ROLE));
    }
    let mut types: Vec<&str> = new.iter().filter_map(|j| j.resource_type()).collect();
    types.sort();
    assert_eq!(types, ["DynamoDB", "RDS"]);
    let intake_job = new
        .iter()
        .find(|j| j.resource_type() == Some("DynamoDB"))
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_string();
    // The newest intake recovery point before the run was restored.
    let newest = latest_point(&b, INTAKE).await;
    let d = restore_status(&b, &intake_job).await;
    assert_eq!(d.recovery_point_arn(), newest.recovery_point_arn());
    assert_eq!(d.deletion_status(), None);
    let p = b.list_restore_testing_plans().send().await.unwrap();
    assert_eq!(
        secs(p.restore_testing_plans()[0].last_execution_time()),
        run_at
    );

    // Completed after 16 minutes; the restored table and database exist.
    emu.advance(Duration::from_secs(16 * 60));
    let d = restore_status(&b, &intake_job).await;
    assert_eq!(d.status(), Some(&RestoreJobStatus::Completed));
    let table = d.created_resource_arn().unwrap().to_string();
    assert!(
        table.starts_with("arn:aws:dynamodb:us-east-1:123456789012:table/awsbackup-restore-test-"),
        "{table}"
    );
    let meta = b
        .get_restore_job_metadata()
        .restore_job_id(&intake_job)
        .send()
        .await
        .unwrap();
    assert_eq!(meta.restore_job_id(), Some(intake_job.as_str()));
    let target = meta.metadata().unwrap()["targetTableName"].clone();
    assert!(table.ends_with(&format!("table/{target}")));
    let e = b
        .get_restore_job_metadata()
        .restore_job_id("NOPE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let mut restored = restored_arns(&emu);
    restored.sort();
    assert_eq!(restored.len(), 2, "{restored:?}");
    assert!(restored.contains(&table));
    let db = restored
        .iter()
        .find(|a| a.starts_with("arn:aws:rds:us-east-1:123456789012:db:awsbackup-restore-test-"))
        .unwrap()
        .clone();
    let (_, listed) = control(&emu, "GET", "/_emulator/restored-resources");
    let entry = listed["RestoredResources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ResourceArn"] == table.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["RestoreJobId"], intake_job.as_str());
    assert_eq!(entry["SourceResourceArn"], INTAKE);
    assert_eq!(entry["RestoreTestingPlanArn"], plan_arn.as_str());
    assert_eq!(entry["State"], "AVAILABLE");

    // A cleanup command removes the database through the control endpoint.
    let (status, v) = control(
        &emu,
        "DELETE",
        &format!("/_emulator/restored-resources/{}", url_encode(&db)),
    );
    assert_eq!((status, v["Deleted"].as_str()), (200, Some(db.as_str())));
    assert_eq!(restored_arns(&emu), std::slice::from_ref(&table));
    let (status, v) = control(
        &emu,
        "DELETE",
        &format!("/_emulator/restored-resources/{}", url_encode(&db)),
    );
    assert_eq!(status, 404);
    assert!(v["error"].as_str().unwrap().contains(&db));

    // The intake selection's 4-hour validation window ends: the restore test deletes the table.
    emu.advance(Duration::from_secs(4 * 3600));
    let d = restore_status(&b, &intake_job).await;
    assert_eq!(
        d.deletion_status(),
        Some(&aws_sdk_backup::types::RestoreDeletionStatus::Deleting)
    );
    let (_, listed) = control(&emu, "GET", "/_emulator/restored-resources");
    assert_eq!(listed["RestoredResources"][0]["State"], "DELETING");
    emu.advance(Duration::from_secs(5 * 60));
    let d = restore_status(&b, &intake_job).await;
    assert_eq!(
        d.deletion_status(),
        Some(&aws_sdk_backup::types::RestoreDeletionStatus::Successful)
    );
    assert!(restored_arns(&emu).is_empty());

    // Through the adapter.
    let c = cloud(&emu);
    let detail = c
        .get_restore_testing_plan("claims-weekly-restore-test")
        .await
        .unwrap();
    assert_eq!(detail.arn, plan_arn);
    assert_eq!(detail.schedule, "cron(0 6 ? * SUN *)");
    assert_eq!(detail.algorithm.as_deref(), Some("LATEST_WITHIN_WINDOW"));
    assert_eq!(detail.selection_window_days, 14);
    assert_eq!(detail.last_execution.map(|t| t.timestamp()), Some(run_at));
    assert!(matches!(
        c.get_restore_testing_plan("nope").await,
        Err(phi_console::cloud::CloudError::NotFound { .. })
    ));
    let sels = c
        .list_restore_testing_selections("claims-weekly-restore-test")
        .await
        .unwrap();
    assert_eq!(sels.len(), 2);
    assert_eq!(sels[1].validation_window_hours, 4);
    let one = c
        .get_restore_testing_selection("claims-weekly-restore-test", "claims-databases")
        .await
        .unwrap();
    assert_eq!(one.protected_resource_arns, ["*"]);
    assert_eq!(one.resource_type, "RDS");
    let job = c.describe_restore_job(&intake_job).await.unwrap();
    assert_eq!(job.deletion_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(job.restore_testing_plan.as_deref(), Some(plan_arn.as_str()));
    let meta = c.restore_job_metadata(&intake_job).await.unwrap();
    assert_eq!(meta["targetTableName"], target);
    assert!(matches!(
        c.describe_restore_job("NOPE").await,
        Err(phi_console::cloud::CloudError::NotFound { .. })
    ));
}
