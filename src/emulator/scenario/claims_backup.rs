//! Backup part of the claims scenario.
//!
//! - Vaults: `claims-primary-vault` (access policy denying `backup:DeleteRecoveryPoint`) and
//!   `claims-locked-vault` (Vault Lock: 7–365 days), both encrypted with the claims backup key.
//! - Plans: `claims-daily` (05:00 UTC, keep 35 days, primary vault, copied to
//!   `claims-dr-vault` in us-west-2: the cross-region copy a DR posture check wants) and
//!   `claims-weekly` (Sundays, cold after 30 days, keep a year, locked vault; its only copy goes
//!   to the primary vault in the same region, so it fails such a check). Selections: the daily
//!   plan names the three resources; the weekly plan selects by the tag `backup=weekly`.
//! - 30 days of daily COMPLETED backup jobs and recovery points for the intake table (DynamoDB),
//!   the payments database (RDS) and the documents bucket (S3); one FAILED RDS attempt (retried
//!   the same morning) and one EXPIRED weekly S3 job; weekly copies in the locked vault.
//! - The restore testing plan `claims-weekly-restore-test` (Sundays 06:00 UTC, run by the
//!   emulator's clock) with two selections: the intake table (DynamoDB, validation window 4 h)
//!   and every RDS database (24 h). Its last run: a COMPLETED restore of the intake table whose
//!   validation was SUCCESSFUL and whose restored table was deleted.
//!
//! Everything is deterministic from the scenario's PRNG.

use crate::emulator::services::backup::{
    self, BackupJob, BackupPlan, BackupRule, BackupSelection, CopyAction, Lifecycle, RecoveryPoint,
    RestoreBehaviour, RestoreJob, RestoreStatus, RestoreTestingPlan, RestoreTestingSelection,
    Vault,
};
use crate::emulator::util::SeededRng;
use crate::emulator::world::World;
use base64::Engine;
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use serde_json::json;
use std::collections::BTreeMap;

pub const PRIMARY_VAULT: &str = "claims-primary-vault";
pub const LOCKED_VAULT: &str = "claims-locked-vault";
pub const DAILY_PLAN: &str = "claims-daily";
pub const WEEKLY_PLAN: &str = "claims-weekly";
pub const RESTORE_TESTING_PLAN: &str = "claims-weekly-restore-test";
pub const DR_REGION: &str = "us-west-2";
pub const DR_VAULT: &str = "claims-dr-vault";
pub const INTAKE_TEST_SELECTION: &str = "claims-intake-table";
pub const RDS_TEST_SELECTION: &str = "claims-databases";
/// Days of daily recovery points per resource.
pub const DAYS: i64 = 30;

/// Minutes a backup takes: (minimum, spread).
type Took = (i64, u64);

/// (resource type, name, base size in bytes, daily growth, minutes a backup takes)
const RESOURCES: &[(&str, &str, i64, i64, Took)] = &[
    (
        "DynamoDB",
        "claims-intake",
        2_480_000_000,
        9_500_000,
        (4, 7),
    ),
    (
        "RDS",
        "claims-payments",
        53_687_091_200,
        160_000_000,
        (18, 17),
    ),
    (
        "S3",
        "claims-documents",
        331_000_000_000,
        1_250_000_000,
        (45, 45),
    ),
];

fn resource_arn(w: &World, rtype: &str, name: &str) -> String {
    match rtype {
        "DynamoDB" => format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            w.region, w.account_id
        ),
        "RDS" => format!("arn:aws:rds:{}:{}:db:{name}", w.region, w.account_id),
        _ => format!("arn:aws:s3:::{name}"),
    }
}

fn upper_uuid(rng: &mut SeededRng) -> String {
    rng.uuid().to_ascii_uppercase()
}

fn plan(
    w: &World,
    rng: &mut SeededRng,
    name: &str,
    created: DateTime<Utc>,
    last: DateTime<Utc>,
) -> BackupPlan {
    let id = rng.uuid();
    BackupPlan {
        arn: backup::plan_arn(w, &id),
        id,
        name: name.to_string(),
        version_id: base64::engine::general_purpose::STANDARD.encode(rng.bytes::<36>()),
        creation_date: created,
        deletion_date: None,
        creator_request_id: Some(rng.uuid()),
        last_execution_date: Some(last),
        rule_id: rng.uuid(),
        rules: Vec::new(),
    }
}

/// The most recent `hour`:00 UTC at least two hours before `now`.
fn last_run(now: DateTime<Utc>, hour: u32) -> DateTime<Utc> {
    let t = now
        .date_naive()
        .and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default())
        .and_utc();
    if t + Duration::hours(2) > now {
        t - Duration::days(1)
    } else {
        t
    }
}

pub fn seed(w: &mut World, now: DateTime<Utc>, rng: &mut SeededRng, backup_key_arn: &str) {
    // Selections and restore testing details draw from their own stream, derived from the
    // scenario's, so everything seeded before them keeps its values.
    let mut ids = SeededRng::new(rng.clone().next_u64() ^ 0x5e1e_c710_b5ac_0001);
    let role = format!("arn:aws:iam::{}:role/BackupRestoreRole", w.account_id);

    // Vaults.
    let mut primary = Vault::new(
        w,
        PRIMARY_VAULT,
        now - Duration::days(420),
        Some(backup_key_arn),
    );
    primary.creator_request_id = Some(rng.uuid());
    primary.access_policy = Some(
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyRecoveryPointDeletion",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": ["backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"],
                "Resource": "*"
            }]
        })
        .to_string(),
    );
    backup::add_vault(w, primary);
    let mut locked = Vault::new(
        w,
        LOCKED_VAULT,
        now - Duration::days(300),
        Some(backup_key_arn),
    );
    locked.creator_request_id = Some(rng.uuid());
    locked.locked = true;
    locked.min_retention_days = Some(7);
    locked.max_retention_days = Some(365);
    locked.lock_date = Some(now - Duration::days(297));
    backup::add_vault(w, locked);

    // Plans.
    let daily_at = last_run(now, 5);
    let mut sunday = daily_at;
    while sunday.weekday() != Weekday::Sun {
        sunday -= Duration::days(1);
    }
    let mut daily = plan(w, rng, DAILY_PLAN, now - Duration::days(410), daily_at);
    let mut weekly = plan(w, rng, WEEKLY_PLAN, now - Duration::days(290), sunday);
    daily.rules = vec![BackupRule {
        name: "claims-daily-0500".into(),
        id: daily.rule_id.clone(),
        target_vault: PRIMARY_VAULT.into(),
        schedule_expression: "cron(0 5 ? * * *)".into(),
        schedule_expression_timezone: Some("Etc/UTC".into()),
        start_window_minutes: 60,
        completion_window_minutes: 480,
        lifecycle: Lifecycle {
            delete_after_days: Some(35),
            move_to_cold_storage_after_days: None,
        },
        copy_actions: vec![CopyAction {
            destination_vault_arn: format!(
                "arn:aws:backup:{DR_REGION}:{}:backup-vault:{DR_VAULT}",
                w.account_id
            ),
            lifecycle: Lifecycle {
                delete_after_days: Some(35),
                move_to_cold_storage_after_days: None,
            },
        }],
    }];
    weekly.rules = vec![BackupRule {
        name: "claims-weekly-sunday".into(),
        id: weekly.rule_id.clone(),
        target_vault: LOCKED_VAULT.into(),
        schedule_expression: "cron(0 5 ? * SUN *)".into(),
        schedule_expression_timezone: Some("Etc/UTC".into()),
        start_window_minutes: 480,
        completion_window_minutes: 10080,
        lifecycle: Lifecycle {
            delete_after_days: Some(365),
            move_to_cold_storage_after_days: Some(30),
        },
        copy_actions: vec![CopyAction {
            destination_vault_arn: backup::vault_arn(w, PRIMARY_VAULT),
            lifecycle: Lifecycle {
                delete_after_days: Some(35),
                move_to_cold_storage_after_days: None,
            },
        }],
    }];
    backup::add_plan(w, daily.clone());
    backup::add_plan(w, weekly.clone());
    let all: Vec<String> = RESOURCES
        .iter()
        .map(|(t, n, ..)| resource_arn(w, t, n))
        .collect();
    backup::add_backup_selection(
        w,
        BackupSelection {
            id: ids.uuid(),
            plan_id: daily.id.clone(),
            name: "claims-daily-resources".into(),
            iam_role_arn: role.clone(),
            resources: all,
            not_resources: Vec::new(),
            list_of_tags: Vec::new(),
            creation_date: now - Duration::days(410),
            creator_request_id: Some(ids.uuid()),
        },
    );
    backup::add_backup_selection(
        w,
        BackupSelection {
            id: ids.uuid(),
            plan_id: weekly.id.clone(),
            name: "claims-weekly-tagged".into(),
            iam_role_arn: role.clone(),
            resources: Vec::new(),
            not_resources: Vec::new(),
            list_of_tags: vec![("STRINGEQUALS".into(), "backup".into(), "weekly".into())],
            creation_date: now - Duration::days(290),
            creator_request_id: Some(ids.uuid()),
        },
    );

    // Daily backups into the primary vault.
    let mut intake_points: Vec<(String, DateTime<Utc>, i64)> = Vec::new();
    for d in 0..DAYS {
        for (i, (rtype, name, base, growth, (min_minutes, spread))) in RESOURCES.iter().enumerate()
        {
            let arn = resource_arn(w, rtype, name);
            let mut start = daily_at - Duration::days(d)
                + Duration::seconds(i as i64 * 40 + rng.below(120) as i64);
            if *rtype == "RDS" && d == 12 {
                // The first attempt failed during a maintenance window; the retry succeeded.
                let failed_at = start;
                backup::add_backup_job(
                    w,
                    BackupJob {
                        id: upper_uuid(rng),
                        vault_name: PRIMARY_VAULT.into(),
                        recovery_point_arn: None,
                        resource_arn: arn.clone(),
                        resource_type: rtype.to_string(),
                        resource_name: name.to_string(),
                        creation_date: failed_at,
                        completion_date: Some(failed_at + Duration::minutes(3)),
                        state: "FAILED".into(),
                        status_message: Some(format!(
                            "Unable to perform backup as resource {name} is in an invalid state: modifying."
                        )),
                        percent_done: "0.00%".into(),
                        backup_size_bytes: 0,
                        iam_role_arn: role.clone(),
                        created_by: Some(daily.created_by()),
                        backup_type: None,
                    },
                );
                start = failed_at + Duration::hours(3);
            }
            let size = base - growth * d + rng.below(40_000_000) as i64;
            let took = Duration::minutes(*min_minutes + rng.below(*spread) as i64)
                + Duration::seconds(rng.below(60) as i64);
            let rp_arn = backup::recovery_point_arn(w, rtype, name, &rng.uuid(), start);
            backup::add_recovery_point(
                w,
                RecoveryPoint {
                    arn: rp_arn.clone(),
                    vault_name: PRIMARY_VAULT.into(),
                    resource_arn: arn.clone(),
                    resource_type: rtype.to_string(),
                    resource_name: name.to_string(),
                    created_by: Some(daily.created_by()),
                    iam_role_arn: role.clone(),
                    status: "COMPLETED".into(),
                    creation_date: start,
                    completion_date: Some(start + took),
                    backup_size_bytes: size,
                    delete_after_days: Some(35),
                    encryption_key_arn: Some(backup_key_arn.to_string()),
                    last_restore_time: None,
                    restore_metadata: BTreeMap::new(),
                },
            );
            backup::add_backup_job(
                w,
                BackupJob {
                    id: upper_uuid(rng),
                    vault_name: PRIMARY_VAULT.into(),
                    recovery_point_arn: Some(rp_arn.clone()),
                    resource_arn: arn.clone(),
                    resource_type: rtype.to_string(),
                    resource_name: name.to_string(),
                    creation_date: start,
                    completion_date: Some(start + took),
                    state: "COMPLETED".into(),
                    status_message: None,
                    percent_done: "100.00%".into(),
                    backup_size_bytes: size,
                    iam_role_arn: role.clone(),
                    created_by: Some(daily.created_by()),
                    backup_type: None,
                },
            );
            if *rtype == "DynamoDB" {
                intake_points.push((rp_arn, start, size));
            }
        }
    }

    // Weekly copies into the locked vault (five Sundays), and one weekly job that expired.
    for k in 0..5 {
        let copied = sunday - Duration::weeks(k) + Duration::hours(2);
        for (i, (rtype, name, base, growth, _)) in RESOURCES.iter().enumerate() {
            let arn = resource_arn(w, rtype, name);
            let days_back = (daily_at - copied).num_days().max(0);
            let size = base - growth * days_back + rng.below(40_000_000) as i64;
            let created = copied + Duration::seconds(i as i64 * 90 + rng.below(60) as i64);
            let rp_arn = format!(
                "arn:aws:backup:{}:{}:recovery-point:{}",
                w.region,
                w.account_id,
                rng.uuid()
            );
            backup::add_recovery_point(
                w,
                RecoveryPoint {
                    arn: rp_arn,
                    vault_name: LOCKED_VAULT.into(),
                    resource_arn: arn,
                    resource_type: rtype.to_string(),
                    resource_name: name.to_string(),
                    created_by: Some(weekly.created_by()),
                    iam_role_arn: role.clone(),
                    status: "COMPLETED".into(),
                    creation_date: created,
                    completion_date: Some(created + Duration::minutes(12 + rng.below(40) as i64)),
                    backup_size_bytes: size,
                    delete_after_days: Some(365),
                    encryption_key_arn: Some(backup_key_arn.to_string()),
                    last_restore_time: None,
                    restore_metadata: BTreeMap::new(),
                },
            );
        }
    }
    let expired_at = sunday - Duration::weeks(2) + Duration::minutes(5);
    backup::add_backup_job(
        w,
        BackupJob {
            id: upper_uuid(rng),
            vault_name: LOCKED_VAULT.into(),
            recovery_point_arn: None,
            resource_arn: resource_arn(w, "S3", "claims-documents"),
            resource_type: "S3".into(),
            resource_name: "claims-documents".into(),
            creation_date: expired_at,
            completion_date: Some(expired_at + Duration::hours(8)),
            state: "EXPIRED".into(),
            status_message: Some(
                "Backup job expired: it did not start within the start window of 8 hours.".into(),
            ),
            percent_done: "0.00%".into(),
            backup_size_bytes: 0,
            iam_role_arn: role.clone(),
            created_by: Some(weekly.created_by()),
            backup_type: None,
        },
    );

    // Restore testing: the plan and its last run.
    let mut test_run = last_run(now, 6);
    while test_run.weekday() != Weekday::Sun {
        test_run -= Duration::days(1);
    }
    let plan_arn = backup::restore_testing_plan_arn(
        w,
        RESTORE_TESTING_PLAN,
        &rng.uuid().replace('-', "")[..10],
    );
    let seeded = backup::add_restore_testing_plan(
        w,
        RestoreTestingPlan {
            name: RESTORE_TESTING_PLAN.into(),
            arn: plan_arn.clone(),
            schedule_expression: "cron(0 6 ? * SUN *)".into(),
            schedule_expression_timezone: Some("Etc/UTC".into()),
            start_window_hours: 24,
            creation_time: now - Duration::days(120),
            last_execution_time: Some(test_run),
            last_update_time: Some(now - Duration::days(45)),
            creator_request_id: Some(ids.uuid()),
            include_vaults: vec!["*".into()],
            selection_window_days: 14,
            // Runs from the scenario's start on; history before it is seeded below.
            schedule_cursor: now,
        },
    );
    debug_assert!(seeded.is_ok(), "the claims schedule is one the lab runs");
    for (name, rtype, arns, hours, created) in [
        (
            INTAKE_TEST_SELECTION,
            "DynamoDB",
            vec![resource_arn(w, "DynamoDB", "claims-intake")],
            4,
            120,
        ),
        (RDS_TEST_SELECTION, "RDS", vec!["*".to_string()], 24, 60),
    ] {
        backup::add_restore_testing_selection(
            w,
            RestoreTestingSelection {
                plan_name: RESTORE_TESTING_PLAN.into(),
                name: name.into(),
                iam_role_arn: role.clone(),
                protected_resource_type: rtype.into(),
                protected_resource_arns: arns,
                validation_window_hours: hours,
                restore_metadata_overrides: BTreeMap::new(),
                creation_time: now - Duration::days(created),
                creator_request_id: Some(ids.uuid()),
            },
        );
    }
    // The newest intake backup before the run.
    if let Some((rp_arn, rp_created, size)) = intake_points
        .iter()
        .filter(|(_, t, _)| *t < test_run)
        .max_by_key(|(_, t, _)| *t)
        .cloned()
    {
        let id = upper_uuid(rng);
        let created = test_run + Duration::minutes(7);
        let completed = created + Duration::minutes(23) + Duration::seconds(rng.below(60) as i64);
        let target = format!(
            "awsbackup-restore-test-{}",
            &id.replace('-', "").to_ascii_lowercase()[..12]
        );
        let metadata: BTreeMap<String, String> = [
            ("targetTableName".to_string(), target.clone()),
            ("encryptionType".to_string(), "KMS".to_string()),
            ("kmsMasterKeyArn".to_string(), backup_key_arn.to_string()),
        ]
        .into_iter()
        .collect();
        backup::add_restore_job(
            w,
            RestoreJob {
                id,
                recovery_point_arn: rp_arn.clone(),
                backup_vault_arn: backup::vault_arn(w, PRIMARY_VAULT),
                resource_type: "DynamoDB".into(),
                iam_role_arn: Some(role.clone()),
                metadata,
                idempotency_token: None,
                creation_date: created,
                completion_date: Some(completed),
                status: RestoreStatus::Completed,
                status_message: None,
                percent_done: "100.00%".into(),
                backup_size_bytes: size,
                expected_completion_minutes: 25,
                target_resource_arn: format!(
                    "arn:aws:dynamodb:{}:{}:table/{target}",
                    w.region, w.account_id
                ),
                recovery_point_creation_date: rp_created,
                restore_testing_plan_arn: Some(plan_arn),
                validation_status: Some("SUCCESSFUL".into()),
                validation_status_message: Some(
                    "Item count and checksums of 500 sampled items match the source table.".into(),
                ),
                behaviour: RestoreBehaviour::default(),
                validation_window_hours: Some(4),
                deletion_due: Some(completed + Duration::hours(1)),
                deletion_status: Some("SUCCESSFUL".into()),
                deletion_status_message: None,
            },
        );
        if let Some(rp) = w.backup.recovery_points.get_mut(&rp_arn) {
            rp.last_restore_time = Some(completed);
        }
    }
}
