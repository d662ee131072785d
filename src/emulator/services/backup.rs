//! AWS Backup (restJson1): vaults (with lock state and access policies), backup plans, backup
//! jobs, recovery points with their restore metadata, restore jobs that progress over emulated
//! time (PENDING → RUNNING → COMPLETED or FAILED, configurable per resource type), restore
//! validation results, backup plans with their rules and selections, protected resources, and
//! restore testing plans (created and deleted through the API, with their selections) that run
//! on their schedule: each run restores the latest recovery point of every selected resource,
//! and the restored resource is deleted after the selection's validation window (see
//! `backup_schedule` for the schedule expressions the lab runs).
//!
//! Routing (method + path → operation, labels, query) is done in `wire/rest.rs`; here every
//! operation reads one merged input object. Errors use AWS Backup's own codes
//! (`ResourceNotFoundException`, `InvalidParameterValueException`, `InvalidRequestException`,
//! `MissingParameterValueException`) so the SDKs map them to typed errors.

use super::Ctx;
pub use super::backup_schedule::{Schedule, ScheduleError};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::util::{epoch, parse_time};
use crate::emulator::wire::json::JsonInput;
use crate::emulator::world::World;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// How restore jobs progress. Captured when a job starts, so changing it later only affects
/// new jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreBehaviour {
    /// Seconds a job stays PENDING.
    pub pending_seconds: i64,
    /// Seconds a job then stays RUNNING (PercentDone grows linearly).
    pub running_seconds: i64,
    /// The job ends FAILED instead of COMPLETED.
    pub fail: bool,
    /// The StatusMessage of a failed job.
    pub failure_message: String,
}

impl Default for RestoreBehaviour {
    fn default() -> Self {
        RestoreBehaviour {
            pending_seconds: 60,
            running_seconds: 900,
            fail: false,
            failure_message: "Restore failed: the service encountered an internal error while restoring the resource."
                .into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Vault {
    pub name: String,
    pub arn: String,
    /// `BACKUP_VAULT` or `LOGICALLY_AIR_GAPPED_BACKUP_VAULT`.
    pub vault_type: String,
    pub creation_date: DateTime<Utc>,
    pub encryption_key_arn: Option<String>,
    pub creator_request_id: Option<String>,
    pub locked: bool,
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    pub lock_date: Option<DateTime<Utc>>,
    /// The vault access policy (JSON text).
    pub access_policy: Option<String>,
}

impl Vault {
    /// An unlocked vault with no policy.
    pub fn new(
        w: &World,
        name: &str,
        created: DateTime<Utc>,
        encryption_key_arn: Option<&str>,
    ) -> Vault {
        Vault {
            name: name.to_string(),
            arn: vault_arn(w, name),
            vault_type: "BACKUP_VAULT".into(),
            creation_date: created,
            encryption_key_arn: encryption_key_arn.map(str::to_string),
            creator_request_id: None,
            locked: false,
            min_retention_days: None,
            max_retention_days: None,
            lock_date: None,
            access_policy: None,
        }
    }
}

/// Who created a backup job or recovery point (`CreatedBy`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreatedBy {
    pub backup_plan_id: String,
    pub backup_plan_arn: String,
    pub backup_plan_version: String,
    pub backup_rule_id: String,
}

impl CreatedBy {
    fn to_json(&self) -> Value {
        json!({
            "BackupPlanId": self.backup_plan_id,
            "BackupPlanArn": self.backup_plan_arn,
            "BackupPlanVersion": self.backup_plan_version,
            "BackupRuleId": self.backup_rule_id,
        })
    }
}

#[derive(Debug, Clone)]
pub struct BackupPlan {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub creation_date: DateTime<Utc>,
    pub deletion_date: Option<DateTime<Utc>>,
    pub creator_request_id: Option<String>,
    pub last_execution_date: Option<DateTime<Utc>>,
    /// The id of the plan's (first) rule, for `CreatedBy`.
    pub rule_id: String,
    pub rules: Vec<BackupRule>,
}

/// A rule of a backup plan (GetBackupPlan's `Rules`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BackupRule {
    pub name: String,
    pub id: String,
    pub target_vault: String,
    pub schedule_expression: String,
    pub schedule_expression_timezone: Option<String>,
    pub start_window_minutes: i64,
    pub completion_window_minutes: i64,
    pub lifecycle: Lifecycle,
    pub copy_actions: Vec<CopyAction>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifecycle {
    pub delete_after_days: Option<i64>,
    pub move_to_cold_storage_after_days: Option<i64>,
}

impl Lifecycle {
    fn to_json(&self) -> Option<Value> {
        let mut v = json!({});
        put_opt(
            &mut v,
            "DeleteAfterDays",
            self.delete_after_days.map(|d| json!(d)),
        );
        put_opt(
            &mut v,
            "MoveToColdStorageAfterDays",
            self.move_to_cold_storage_after_days.map(|d| json!(d)),
        );
        v.as_object().is_some_and(|o| !o.is_empty()).then_some(v)
    }
}

/// A copy of each recovery point to another vault (possibly in another region or account).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopyAction {
    pub destination_vault_arn: String,
    pub lifecycle: Lifecycle,
}

/// A backup selection: which resources a plan backs up, and with which role.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSelection {
    pub id: String,
    pub plan_id: String,
    pub name: String,
    pub iam_role_arn: String,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    /// (ConditionType, ConditionKey, ConditionValue), e.g. (`STRINGEQUALS`, `backup`, `daily`).
    pub list_of_tags: Vec<(String, String, String)>,
    pub creation_date: DateTime<Utc>,
    pub creator_request_id: Option<String>,
}

/// A restore testing selection: which protected resources a restore testing plan restores,
/// and how long the restored copy is kept for validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreTestingSelection {
    pub plan_name: String,
    pub name: String,
    pub iam_role_arn: String,
    /// `DynamoDB`, `RDS`, `S3`, …
    pub protected_resource_type: String,
    /// ARNs, or `["*"]` for every protected resource of the type.
    pub protected_resource_arns: Vec<String>,
    /// Hours (0–168) the restored resource is kept before it is deleted.
    pub validation_window_hours: i64,
    pub restore_metadata_overrides: BTreeMap<String, String>,
    pub creation_time: DateTime<Utc>,
    pub creator_request_id: Option<String>,
}

/// A resource a COMPLETED restore job created. It exists until a restore test deletes it
/// (after its validation window) or it is removed through the control endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoredResource {
    pub arn: String,
    pub resource_type: String,
    pub restore_job_id: String,
    pub recovery_point_arn: String,
    pub source_resource_arn: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub restore_testing_plan_arn: Option<String>,
    /// A restore test is deleting it.
    pub deleting: bool,
}

/// Seconds a restore test takes to delete the resource it restored (DeletionStatus DELETING).
pub const RESTORE_TEST_DELETE_SECONDS: i64 = 300;
/// Scheduled runs further back than this (after a large clock jump) are skipped.
pub const MAX_CATCH_UP_DAYS: i64 = 31;

impl BackupPlan {
    pub fn created_by(&self) -> CreatedBy {
        CreatedBy {
            backup_plan_id: self.id.clone(),
            backup_plan_arn: self.arn.clone(),
            backup_plan_version: self.version_id.clone(),
            backup_rule_id: self.rule_id.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct BackupJob {
    pub id: String,
    pub vault_name: String,
    pub recovery_point_arn: Option<String>,
    pub resource_arn: String,
    /// `DynamoDB`, `RDS`, `S3`, `EBS`, `EC2`, `EFS`, …
    pub resource_type: String,
    pub resource_name: String,
    pub creation_date: DateTime<Utc>,
    pub completion_date: Option<DateTime<Utc>>,
    /// CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED, PARTIAL.
    pub state: String,
    pub status_message: Option<String>,
    /// As AWS writes it: `"100.00%"`.
    pub percent_done: String,
    pub backup_size_bytes: i64,
    pub iam_role_arn: String,
    pub created_by: Option<CreatedBy>,
    /// Only set for Windows VSS backups in AWS.
    pub backup_type: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RecoveryPoint {
    pub arn: String,
    pub vault_name: String,
    pub resource_arn: String,
    pub resource_type: String,
    pub resource_name: String,
    pub created_by: Option<CreatedBy>,
    pub iam_role_arn: String,
    /// COMPLETED, PARTIAL, DELETING, EXPIRED, AVAILABLE, STOPPED, CREATING.
    pub status: String,
    pub creation_date: DateTime<Utc>,
    pub completion_date: Option<DateTime<Utc>>,
    pub backup_size_bytes: i64,
    pub delete_after_days: Option<i64>,
    pub encryption_key_arn: Option<String>,
    pub last_restore_time: Option<DateTime<Utc>>,
    /// Extra or overriding restore metadata; the defaults come from the resource type.
    pub restore_metadata: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreStatus {
    Pending,
    Running,
    Completed,
    Aborted,
    Failed,
}

impl RestoreStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RestoreStatus::Pending => "PENDING",
            RestoreStatus::Running => "RUNNING",
            RestoreStatus::Completed => "COMPLETED",
            RestoreStatus::Aborted => "ABORTED",
            RestoreStatus::Failed => "FAILED",
        }
    }
    pub fn parse(s: &str) -> Option<RestoreStatus> {
        [
            RestoreStatus::Pending,
            RestoreStatus::Running,
            RestoreStatus::Completed,
            RestoreStatus::Aborted,
            RestoreStatus::Failed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RestoreStatus::Completed | RestoreStatus::Aborted | RestoreStatus::Failed
        )
    }
}

#[derive(Debug, Clone)]
pub struct RestoreJob {
    pub id: String,
    pub recovery_point_arn: String,
    pub backup_vault_arn: String,
    pub resource_type: String,
    pub iam_role_arn: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub idempotency_token: Option<String>,
    pub creation_date: DateTime<Utc>,
    pub completion_date: Option<DateTime<Utc>>,
    pub status: RestoreStatus,
    pub status_message: Option<String>,
    pub percent_done: String,
    pub backup_size_bytes: i64,
    pub expected_completion_minutes: i64,
    /// The ARN the restore creates; reported once the job has COMPLETED.
    pub target_resource_arn: String,
    pub recovery_point_creation_date: DateTime<Utc>,
    pub restore_testing_plan_arn: Option<String>,
    pub validation_status: Option<String>,
    pub validation_status_message: Option<String>,
    pub behaviour: RestoreBehaviour,
    /// Restore tests only: hours the restored resource is kept after the job completes.
    pub validation_window_hours: Option<i64>,
    /// Restore tests only: when deletion of the restored resource starts (the end of the
    /// validation window, or earlier when a final validation result arrives).
    pub deletion_due: Option<DateTime<Utc>>,
    /// `DELETING`, `SUCCESSFUL` or `FAILED`.
    pub deletion_status: Option<String>,
    pub deletion_status_message: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RestoreTestingPlan {
    pub name: String,
    pub arn: String,
    pub schedule_expression: String,
    pub schedule_expression_timezone: Option<String>,
    pub start_window_hours: i64,
    pub creation_time: DateTime<Utc>,
    pub last_execution_time: Option<DateTime<Utc>>,
    pub last_update_time: Option<DateTime<Utc>>,
    pub creator_request_id: Option<String>,
    /// RecoveryPointSelection: `LATEST_WITHIN_WINDOW` over these vaults (`*` = all) and days.
    pub include_vaults: Vec<String>,
    pub selection_window_days: i64,
    /// Occurrences of the schedule at or before this instant have been handled; the next run
    /// is the first occurrence after it.
    pub schedule_cursor: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct BackupState {
    /// By name.
    pub vaults: BTreeMap<String, Vault>,
    pub plans: Vec<BackupPlan>,
    pub backup_jobs: Vec<BackupJob>,
    /// By ARN.
    pub recovery_points: BTreeMap<String, RecoveryPoint>,
    pub restore_jobs: Vec<RestoreJob>,
    pub restore_testing_plans: Vec<RestoreTestingPlan>,
    pub backup_selections: Vec<BackupSelection>,
    pub restore_testing_selections: Vec<RestoreTestingSelection>,
    /// Resources created by COMPLETED restore jobs, by ARN.
    pub restored_resources: BTreeMap<String, RestoredResource>,
    /// How new restore jobs progress, unless overridden for their resource type.
    pub restore_behaviour: RestoreBehaviour,
    /// Per resource type (`DynamoDB`, `RDS`, `S3`, …).
    pub restore_overrides: BTreeMap<String, RestoreBehaviour>,
}

impl BackupState {
    /// The behaviour a restore job of this resource type starts with.
    pub fn behaviour_for(&self, resource_type: &str) -> RestoreBehaviour {
        self.restore_overrides
            .get(resource_type)
            .unwrap_or(&self.restore_behaviour)
            .clone()
    }
}

// ---------------------------------------------------------------------------------------------
// ARNs and helpers for scenarios.

pub fn vault_arn(w: &World, name: &str) -> String {
    format!(
        "arn:aws:backup:{}:{}:backup-vault:{name}",
        w.region, w.account_id
    )
}

pub fn plan_arn(w: &World, id: &str) -> String {
    format!(
        "arn:aws:backup:{}:{}:backup-plan:{id}",
        w.region, w.account_id
    )
}

pub fn restore_testing_plan_arn(w: &World, name: &str, id: &str) -> String {
    format!(
        "arn:aws:backup:{}:{}:restore-testing-plan:{name}-{id}",
        w.region, w.account_id
    )
}

/// A recovery point ARN in the format AWS Backup uses for the resource type: DynamoDB's own
/// backup ARN for tables, an RDS snapshot for RDS, a Backup recovery point otherwise. `id` is a
/// UUID; `created` names DynamoDB backups.
pub fn recovery_point_arn(
    w: &World,
    resource_type: &str,
    resource_name: &str,
    id: &str,
    created: DateTime<Utc>,
) -> String {
    let (r, a) = (&w.region, &w.account_id);
    match resource_type {
        "DynamoDB" => format!(
            "arn:aws:dynamodb:{r}:{a}:table/{resource_name}/backup/{:014}-{}",
            created.timestamp_millis(),
            &id.replace('-', "")[..8]
        ),
        "RDS" => format!("arn:aws:rds:{r}:{a}:snapshot:awsbackup:job-{id}"),
        _ => format!("arn:aws:backup:{r}:{a}:recovery-point:{id}"),
    }
}

pub fn add_vault(w: &mut World, vault: Vault) {
    w.backup.vaults.insert(vault.name.clone(), vault);
}

pub fn add_plan(w: &mut World, plan: BackupPlan) {
    w.backup.plans.retain(|p| p.id != plan.id);
    w.backup.plans.push(plan);
}

pub fn add_backup_job(w: &mut World, job: BackupJob) {
    w.backup.backup_jobs.push(job);
}

pub fn add_recovery_point(w: &mut World, rp: RecoveryPoint) {
    w.backup.recovery_points.insert(rp.arn.clone(), rp);
}

/// Adds (or replaces) a restore testing plan; its schedule must be one the lab runs.
pub fn add_restore_testing_plan(
    w: &mut World,
    plan: RestoreTestingPlan,
) -> Result<(), ScheduleError> {
    Schedule::parse(
        &plan.schedule_expression,
        plan.schedule_expression_timezone.as_deref(),
    )?;
    w.backup
        .restore_testing_plans
        .retain(|p| p.name != plan.name);
    w.backup.restore_testing_plans.push(plan);
    Ok(())
}

pub fn add_backup_selection(w: &mut World, sel: BackupSelection) {
    w.backup.backup_selections.retain(|s| s.id != sel.id);
    w.backup.backup_selections.push(sel);
}

pub fn add_restore_testing_selection(w: &mut World, sel: RestoreTestingSelection) {
    w.backup
        .restore_testing_selections
        .retain(|s| !(s.plan_name == sel.plan_name && s.name == sel.name));
    w.backup.restore_testing_selections.push(sel);
}

/// The resources restore jobs created that still exist, by ARN (the control endpoint's list).
pub fn restored_resources(w: &World) -> Vec<&RestoredResource> {
    w.backup.restored_resources.values().collect()
}

/// Removes a restored resource (a cleanup outside AWS Backup); false when there is none.
pub fn remove_restored_resource(w: &mut World, arn: &str) -> bool {
    w.backup.restored_resources.remove(arn).is_some()
}

pub fn add_restore_job(w: &mut World, job: RestoreJob) {
    w.backup.restore_jobs.push(job);
}

/// A restore job id as AWS Backup writes them (an upper-case GUID).
fn job_id(uuid: &str) -> String {
    uuid.to_ascii_uppercase()
}

// ---------------------------------------------------------------------------------------------
// Time-driven work.

/// Advances restore testing schedules, restore jobs and restore-test cleanups to `now`.
pub fn tick(w: &mut World, now: DateTime<Utc>) {
    run_restore_testing_schedules(w, now);
    let mut restored: Vec<(String, DateTime<Utc>)> = Vec::new();
    let mut created: Vec<RestoredResource> = Vec::new();
    for job in w
        .backup
        .restore_jobs
        .iter_mut()
        .filter(|j| !j.status.is_terminal())
    {
        advance(job, now);
        if job.status == RestoreStatus::Completed
            && let Some(t) = job.completion_date
        {
            restored.push((job.recovery_point_arn.clone(), t));
            if let Some(h) = job.validation_window_hours {
                job.deletion_due = Some(later(t, Duration::hours(h.clamp(0, 24 * 366))));
            }
            created.push(RestoredResource {
                arn: job.target_resource_arn.clone(),
                resource_type: job.resource_type.clone(),
                restore_job_id: job.id.clone(),
                recovery_point_arn: job.recovery_point_arn.clone(),
                source_resource_arn: None,
                creation_time: t,
                restore_testing_plan_arn: job.restore_testing_plan_arn.clone(),
                deleting: false,
            });
        }
    }
    for (arn, t) in restored {
        if let Some(rp) = w.backup.recovery_points.get_mut(&arn)
            && rp.last_restore_time.is_none_or(|prev| prev < t)
        {
            rp.last_restore_time = Some(t);
        }
    }
    for mut r in created {
        r.source_resource_arn = w
            .backup
            .recovery_points
            .get(&r.recovery_point_arn)
            .map(|rp| rp.resource_arn.clone());
        w.backup.restored_resources.insert(r.arn.clone(), r);
    }
    delete_restore_test_resources(w, now);
}

/// `t + d`, or `t` where that leaves chrono's range (times near the clock's limits).
fn later(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(t)
}

/// `t - d`, or `t` where that leaves chrono's range.
fn earlier(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(t)
}

/// Restore tests delete what they restored: DELETING when the validation window ends (or a
/// final validation result arrives), SUCCESSFUL [`RESTORE_TEST_DELETE_SECONDS`] later.
fn delete_restore_test_resources(w: &mut World, now: DateTime<Utc>) {
    let mut deleting: Vec<String> = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    for job in w.backup.restore_jobs.iter_mut() {
        let Some(due) = job.deletion_due else {
            continue;
        };
        if job.status != RestoreStatus::Completed || due > now {
            continue;
        }
        if job.deletion_status.is_none() {
            job.deletion_status = Some("DELETING".into());
            deleting.push(job.target_resource_arn.clone());
        }
        if job.deletion_status.as_deref() == Some("DELETING")
            && now >= later(due, Duration::seconds(RESTORE_TEST_DELETE_SECONDS))
        {
            job.deletion_status = Some("SUCCESSFUL".into());
            deleted.push(job.target_resource_arn.clone());
        }
    }
    for arn in deleting {
        if let Some(r) = w.backup.restored_resources.get_mut(&arn) {
            r.deleting = true;
        }
    }
    for arn in deleted {
        w.backup.restored_resources.remove(&arn);
    }
}

/// Fires every occurrence of each restore testing plan's schedule up to `now` (at most
/// [`MAX_CATCH_UP_DAYS`] back).
fn run_restore_testing_schedules(w: &mut World, now: DateTime<Utc>) {
    for i in 0..w.backup.restore_testing_plans.len() {
        let plan = w.backup.restore_testing_plans[i].clone();
        let Ok(schedule) = Schedule::parse(
            &plan.schedule_expression,
            plan.schedule_expression_timezone.as_deref(),
        ) else {
            // add_restore_testing_plan refuses these; a plan pushed around it never runs.
            continue;
        };
        let mut cursor = plan
            .schedule_cursor
            .max(earlier(now, Duration::days(MAX_CATCH_UP_DAYS)));
        let mut runs = Vec::new();
        loop {
            let next = schedule.next_after(cursor, plan.creation_time);
            if next > now || runs.len() >= 10_000 {
                break;
            }
            runs.push(next);
            cursor = next;
        }
        if let Some(p) = w.backup.restore_testing_plans.get_mut(i) {
            p.schedule_cursor = if runs.len() >= 10_000 { cursor } else { now };
        }
        for at in runs {
            run_restore_test(w, &plan, at);
        }
    }
}

/// One run of a restore testing plan at `at`: a restore job for the latest recovery point (in
/// the plan's vaults and selection window) of every resource its selections name.
fn run_restore_test(w: &mut World, plan: &RestoreTestingPlan, at: DateTime<Utc>) {
    let selections: Vec<RestoreTestingSelection> = w
        .backup
        .restore_testing_selections
        .iter()
        .filter(|s| s.plan_name == plan.name)
        .cloned()
        .collect();
    let window_start = earlier(
        at,
        Duration::days(plan.selection_window_days.clamp(1, 3660)),
    );
    let vault_ok = |v: &str| {
        plan.include_vaults.is_empty()
            || plan
                .include_vaults
                .iter()
                .any(|x| x == "*" || x == v || x.rsplit(':').next() == Some(v))
    };
    for sel in selections {
        let mut latest: BTreeMap<&str, &RecoveryPoint> = BTreeMap::new();
        for rp in w.backup.recovery_points.values() {
            let selected = rp.resource_type == sel.protected_resource_type
                && sel
                    .protected_resource_arns
                    .iter()
                    .any(|a| a == "*" || *a == rp.resource_arn);
            if !selected
                || rp.status != "COMPLETED"
                || rp.creation_date > at
                || rp.creation_date < window_start
                || !vault_ok(&rp.vault_name)
            {
                continue;
            }
            let e = latest.entry(rp.resource_arn.as_str()).or_insert(rp);
            if rp.creation_date > e.creation_date {
                *e = rp;
            }
        }
        let points: Vec<RecoveryPoint> = latest.into_values().cloned().collect();
        for rp in points {
            let id = job_id(&crate::emulator::util::uuid());
            let test_name = format!(
                "awsbackup-restore-test-{}",
                &id.replace('-', "").to_ascii_lowercase()[..12]
            );
            let mut metadata = restore_metadata(w, &rp);
            let key = match rp.resource_type.as_str() {
                "DynamoDB" => Some("targetTableName"),
                "RDS" | "Aurora" => Some("DBInstanceIdentifier"),
                "S3" => Some("DestinationBucketName"),
                _ => None,
            };
            if let Some(k) = key {
                metadata.insert(k.to_string(), test_name);
            }
            if rp.resource_type == "S3" {
                metadata.insert("NewBucket".into(), "true".into());
            }
            for (k, v) in &sel.restore_metadata_overrides {
                metadata.insert(k.clone(), v.clone());
            }
            let behaviour = w.backup.behaviour_for(&rp.resource_type);
            let total = behaviour.pending_seconds.max(0) + behaviour.running_seconds.max(0);
            let job = RestoreJob {
                id: id.clone(),
                recovery_point_arn: rp.arn.clone(),
                backup_vault_arn: vault_arn(w, &rp.vault_name),
                resource_type: rp.resource_type.clone(),
                iam_role_arn: Some(sel.iam_role_arn.clone()),
                target_resource_arn: restored_arn(w, &rp, &metadata, &id),
                metadata,
                idempotency_token: None,
                creation_date: at,
                completion_date: None,
                status: RestoreStatus::Pending,
                status_message: None,
                percent_done: "0.00%".into(),
                backup_size_bytes: rp.backup_size_bytes,
                expected_completion_minutes: (total + 59) / 60,
                recovery_point_creation_date: rp.creation_date,
                restore_testing_plan_arn: Some(plan.arn.clone()),
                validation_status: None,
                validation_status_message: None,
                behaviour,
                validation_window_hours: Some(sel.validation_window_hours),
                deletion_due: None,
                deletion_status: None,
                deletion_status_message: None,
            };
            w.backup.restore_jobs.push(job);
        }
    }
    if let Some(p) = w
        .backup
        .restore_testing_plans
        .iter_mut()
        .find(|p| p.name == plan.name)
        && p.last_execution_time.is_none_or(|t| t < at)
    {
        p.last_execution_time = Some(at);
    }
}

fn advance(job: &mut RestoreJob, now: DateTime<Utc>) {
    let b = &job.behaviour;
    let running_at = job.creation_date + Duration::seconds(b.pending_seconds.max(0));
    let done_at = running_at + Duration::seconds(b.running_seconds.max(0));
    if now < running_at {
        job.status = RestoreStatus::Pending;
        job.percent_done = "0.00%".into();
    } else if now < done_at {
        job.status = RestoreStatus::Running;
        let total = (done_at - running_at).num_milliseconds().max(1) as f64;
        let pct = (now - running_at).num_milliseconds() as f64 / total * 100.0;
        job.percent_done = format!("{:.2}%", pct.clamp(0.0, 99.99));
    } else if b.fail {
        job.status = RestoreStatus::Failed;
        job.status_message = Some(b.failure_message.clone());
        job.percent_done = "0.00%".into();
        job.completion_date = Some(done_at);
    } else {
        job.status = RestoreStatus::Completed;
        job.percent_done = "100.00%".into();
        job.completion_date = Some(done_at);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors.

fn not_found(msg: impl Into<String>) -> ApiError {
    ApiError::client("ResourceNotFoundException", msg)
}
fn invalid_param(msg: impl Into<String>) -> ApiError {
    ApiError::client("InvalidParameterValueException", msg)
}
fn invalid_request(msg: impl Into<String>) -> ApiError {
    ApiError::client("InvalidRequestException", msg)
}
fn missing(name: &str) -> ApiError {
    ApiError::client(
        "MissingParameterValueException",
        format!("Missing required parameter: {name}"),
    )
}

fn req<'a>(input: &'a Value, name: &str) -> ApiResult<&'a str> {
    match input.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::String(s)) if s.is_empty() => Err(missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid_param(format!("{name} must be a string"))),
    }
}

fn vault<'a>(w: &'a World, name: &str) -> ApiResult<&'a Vault> {
    w.backup.vaults.get(name).ok_or_else(|| {
        not_found(format!(
            "Backup vault {name} does not exist in account {} in region {}.",
            w.account_id, w.region
        ))
    })
}

// ---------------------------------------------------------------------------------------------
// Paging.

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One page of `items` (each with a unique, stable key). The token carries the offset and the
/// last key returned, so a list that grew at its head between pages resumes after that key.
fn paginate(items: Vec<(String, Value)>, input: &Value) -> ApiResult<(Vec<Value>, Option<String>)> {
    let max = match input.int_opt("MaxResults") {
        Ok(m) => m.unwrap_or(1000),
        Err(_) => {
            return Err(invalid_param(
                "MaxResults must be an integer between 1 and 1000.",
            ));
        }
    };
    if !(1..=1000).contains(&max) {
        return Err(invalid_param(format!(
            "1 validation error detected: Value '{max}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000"
        )));
    }
    let mut start = 0usize;
    if let Some(tok) = input.str_opt("NextToken").filter(|t| !t.is_empty()) {
        let bad = || invalid_param("The next token is not valid.");
        let text = B64
            .decode(tok)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(bad)?;
        let rest = text.strip_prefix("bk1:").ok_or_else(bad)?;
        let (off, key) = rest.split_once(':').ok_or_else(bad)?;
        let off: usize = off.parse().map_err(|_| bad())?;
        if off == 0 {
            return Err(bad());
        }
        start = if items.get(off - 1).is_some_and(|(k, _)| k == key) {
            off
        } else if let Some(p) = items.iter().position(|(k, _)| k == key) {
            p + 1
        } else {
            off.min(items.len())
        };
    }
    let end = (start + max as usize).min(items.len());
    let next = (end < items.len()).then(|| B64.encode(format!("bk1:{end}:{}", items[end - 1].0)));
    let page = items
        .into_iter()
        .skip(start)
        .take(end - start)
        .map(|(_, v)| v)
        .collect();
    Ok((page, next))
}

fn page_response(
    list_name: &str,
    items: Vec<(String, Value)>,
    input: &Value,
) -> ApiResult<(u16, Option<Value>)> {
    let (page, next) = paginate(items, input)?;
    let mut out = json!({ list_name: page });
    if let Some(n) = next {
        out["NextToken"] = json!(n);
    }
    Ok((0, Some(out)))
}

/// A time filter from the input (either name), or an InvalidParameterValueException.
fn time_filter(input: &Value, names: &[&str]) -> ApiResult<Option<DateTime<Utc>>> {
    for n in names {
        if let Some(v) = input.get(*n) {
            if v.is_null() {
                continue;
            }
            return parse_time(v)
                .map(Some)
                .ok_or_else(|| invalid_param(format!("Invalid timestamp for {n}: {v}")));
        }
    }
    Ok(None)
}

fn str_filter<'a>(input: &'a Value, names: &[&str]) -> Option<&'a str> {
    names
        .iter()
        .find_map(|n| input.str_opt(n))
        .filter(|s| !s.is_empty())
}

fn put_opt(v: &mut Value, key: &str, val: Option<Value>) {
    if let Some(x) = val {
        v[key] = x;
    }
}

fn ts(t: Option<DateTime<Utc>>) -> Option<Value> {
    t.map(|t| json!(epoch(t)))
}

// ---------------------------------------------------------------------------------------------
// Operations.

pub fn handle(
    w: &mut World,
    ctx: &Ctx,
    op: &str,
    input: &Value,
) -> ApiResult<(u16, Option<Value>)> {
    match op {
        "ListBackupVaults" => {
            let by_type = str_filter(input, &["ByVaultType", "VaultType"]);
            let items = w
                .backup
                .vaults
                .values()
                .filter(|v| by_type.is_none_or(|t| t == v.vault_type))
                .map(|v| (v.name.clone(), vault_json(w, v)))
                .collect();
            page_response("BackupVaultList", items, input)
        }
        "DescribeBackupVault" => {
            let v = vault(w, req(input, "BackupVaultName")?)?;
            Ok((0, Some(vault_json(w, v))))
        }
        "GetBackupVaultAccessPolicy" => {
            let v = vault(w, req(input, "BackupVaultName")?)?;
            let policy = v.access_policy.as_ref().ok_or_else(|| {
                not_found(format!(
                    "Backup vault {} does not have an access policy.",
                    v.name
                ))
            })?;
            Ok((
                0,
                Some(
                    json!({ "BackupVaultName": v.name, "BackupVaultArn": v.arn, "Policy": policy }),
                ),
            ))
        }
        "PutBackupVaultAccessPolicy" => {
            let name = req(input, "BackupVaultName")?.to_string();
            vault(w, &name)?;
            let policy = req(input, "Policy")?;
            match serde_json::from_str::<Value>(policy) {
                Ok(Value::Object(m)) if m.contains_key("Statement") => {}
                Ok(Value::Object(_)) => {
                    return Err(invalid_param(
                        "Invalid policy: the policy must contain a Statement.",
                    ));
                }
                _ => {
                    return Err(invalid_param(
                        "Invalid policy: the policy must be a JSON object.",
                    ));
                }
            }
            let policy = policy.to_string();
            if let Some(v) = w.backup.vaults.get_mut(&name) {
                v.access_policy = Some(policy);
            }
            Ok((0, None))
        }
        "ListBackupPlans" => {
            let include_deleted = input.bool_opt("IncludeDeleted").unwrap_or(false);
            let mut plans: Vec<&BackupPlan> = w
                .backup
                .plans
                .iter()
                .filter(|p| include_deleted || p.deletion_date.is_none())
                .collect();
            plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            let items = plans
                .into_iter()
                .map(|p| {
                    let mut v = json!({
                        "BackupPlanArn": p.arn, "BackupPlanId": p.id, "CreationDate": epoch(p.creation_date),
                        "VersionId": p.version_id, "BackupPlanName": p.name,
                    });
                    put_opt(&mut v, "CreatorRequestId", p.creator_request_id.clone().map(Value::String));
                    put_opt(&mut v, "LastExecutionDate", ts(p.last_execution_date));
                    put_opt(&mut v, "DeletionDate", ts(p.deletion_date));
                    (p.id.clone(), v)
                })
                .collect();
            page_response("BackupPlansList", items, input)
        }
        "ListBackupJobs" => list_backup_jobs(w, input),
        "ListRecoveryPointsByBackupVault" => list_recovery_points(w, input),
        "DescribeRecoveryPoint" => {
            let rp = recovery_point(w, input)?;
            let mut v = recovery_point_json(w, rp);
            v["StorageClass"] = json!("WARM");
            Ok((0, Some(v)))
        }
        "GetRecoveryPointRestoreMetadata" => {
            let rp = recovery_point(w, input)?;
            Ok((
                0,
                Some(json!({
                    "BackupVaultArn": vault_arn(w, &rp.vault_name),
                    "RecoveryPointArn": rp.arn,
                    "ResourceType": rp.resource_type,
                    "RestoreMetadata": restore_metadata(w, rp),
                })),
            ))
        }
        "StartRestoreJob" => start_restore_job(w, ctx, input),
        "DescribeRestoreJob" => {
            let id = req(input, "RestoreJobId")?;
            let j = restore_job(w, id)?;
            Ok((0, Some(restore_job_json(w, j))))
        }
        "ListRestoreJobs" => list_restore_jobs(w, input),
        "PutRestoreValidationResult" => {
            let id = req(input, "RestoreJobId")?.to_string();
            let status = req(input, "ValidationStatus")?.to_string();
            if !["FAILED", "SUCCESSFUL", "TIMED_OUT", "VALIDATING"].contains(&status.as_str()) {
                return Err(invalid_param(format!(
                    "Invalid ValidationStatus {status}: must be one of FAILED, SUCCESSFUL, TIMED_OUT, VALIDATING."
                )));
            }
            let message = input.str_opt("ValidationStatusMessage").map(str::to_string);
            let j = restore_job(w, &id)?;
            if j.status != RestoreStatus::Completed {
                return Err(invalid_request(format!(
                    "Restore job {id} is in status {}; validation results can only be sent for COMPLETED restore jobs.",
                    j.status.as_str()
                )));
            }
            if let Some(j) = w.backup.restore_jobs.iter_mut().find(|j| j.id == id) {
                // A final result ends a restore test's validation window early.
                if status != "VALIDATING" && j.deletion_due.is_some() {
                    j.deletion_due = j.deletion_due.map(|d| d.min(ctx.now));
                }
                j.validation_status = Some(status);
                j.validation_status_message = message;
            }
            tick(w, ctx.now);
            Ok((0, None))
        }
        "GetRestoreJobMetadata" => {
            let id = req(input, "RestoreJobId")?;
            let j = restore_job(w, id)?;
            Ok((
                0,
                Some(json!({ "RestoreJobId": j.id, "Metadata": j.metadata })),
            ))
        }
        "ListRecoveryPointsByResource" => list_recovery_points_by_resource(w, input),
        "ListProtectedResources" => list_protected_resources(w, input),
        "GetBackupPlan" => get_backup_plan(w, input),
        "ListBackupSelections" => {
            let plan = backup_plan(w, req(input, "BackupPlanId")?)?;
            let mut sels: Vec<&BackupSelection> = w
                .backup
                .backup_selections
                .iter()
                .filter(|s| s.plan_id == plan.id)
                .collect();
            sels.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            let items = sels
                .into_iter()
                .map(|s| {
                    let mut v = json!({
                        "SelectionId": s.id, "SelectionName": s.name, "BackupPlanId": s.plan_id,
                        "CreationDate": epoch(s.creation_date), "IamRoleArn": s.iam_role_arn,
                    });
                    put_opt(
                        &mut v,
                        "CreatorRequestId",
                        s.creator_request_id.clone().map(Value::String),
                    );
                    (s.id.clone(), v)
                })
                .collect();
            page_response("BackupSelectionsList", items, input)
        }
        "GetBackupSelection" => {
            let plan = backup_plan(w, req(input, "BackupPlanId")?)?;
            let id = req(input, "SelectionId")?;
            let s = w
                .backup
                .backup_selections
                .iter()
                .find(|s| s.plan_id == plan.id && s.id == id)
                .ok_or_else(|| {
                    not_found(format!(
                        "Backup selection {id} was not found in backup plan {}.",
                        plan.id
                    ))
                })?;
            let tags: Vec<Value> = s
                .list_of_tags
                .iter()
                .map(|(t, k, v)| json!({ "ConditionType": t, "ConditionKey": k, "ConditionValue": v }))
                .collect();
            let mut out = json!({
                "BackupSelection": {
                    "SelectionName": s.name,
                    "IamRoleArn": s.iam_role_arn,
                    "Resources": s.resources,
                    "ListOfTags": tags,
                    "NotResources": s.not_resources,
                    "Conditions": {
                        "StringEquals": [], "StringNotEquals": [], "StringLike": [], "StringNotLike": []
                    },
                },
                "SelectionId": s.id,
                "BackupPlanId": s.plan_id,
                "CreationDate": epoch(s.creation_date),
            });
            put_opt(
                &mut out,
                "CreatorRequestId",
                s.creator_request_id.clone().map(Value::String),
            );
            Ok((0, Some(out)))
        }
        "GetRestoreTestingPlan" => {
            let p = restore_testing_plan(w, req(input, "RestoreTestingPlanName")?)?;
            let mut v = json!({
                "RestoreTestingPlanArn": p.arn,
                "RestoreTestingPlanName": p.name,
                "ScheduleExpression": p.schedule_expression,
                "StartWindowHours": p.start_window_hours,
                "CreationTime": epoch(p.creation_time),
                "RecoveryPointSelection": {
                    "Algorithm": "LATEST_WITHIN_WINDOW",
                    "IncludeVaults": p.include_vaults,
                    "RecoveryPointTypes": ["SNAPSHOT"],
                    "SelectionWindowDays": p.selection_window_days,
                },
            });
            put_opt(
                &mut v,
                "ScheduleExpressionTimezone",
                p.schedule_expression_timezone.clone().map(Value::String),
            );
            put_opt(&mut v, "LastExecutionTime", ts(p.last_execution_time));
            put_opt(&mut v, "LastUpdateTime", ts(p.last_update_time));
            put_opt(
                &mut v,
                "CreatorRequestId",
                p.creator_request_id.clone().map(Value::String),
            );
            Ok((0, Some(json!({ "RestoreTestingPlan": v }))))
        }
        "ListRestoreTestingSelections" => {
            let plan = restore_testing_plan(w, req(input, "RestoreTestingPlanName")?)?;
            let mut sels: Vec<&RestoreTestingSelection> = w
                .backup
                .restore_testing_selections
                .iter()
                .filter(|s| s.plan_name == plan.name)
                .collect();
            sels.sort_by(|a, b| a.name.cmp(&b.name));
            let items = sels
                .into_iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        json!({
                            "CreationTime": epoch(s.creation_time),
                            "IamRoleArn": s.iam_role_arn,
                            "ProtectedResourceType": s.protected_resource_type,
                            "RestoreTestingPlanName": s.plan_name,
                            "RestoreTestingSelectionName": s.name,
                            "ValidationWindowHours": s.validation_window_hours,
                        }),
                    )
                })
                .collect();
            page_response("RestoreTestingSelections", items, input)
        }
        "GetRestoreTestingSelection" => {
            let plan = restore_testing_plan(w, req(input, "RestoreTestingPlanName")?)?;
            let name = req(input, "RestoreTestingSelectionName")?;
            let s = w
                .backup
                .restore_testing_selections
                .iter()
                .find(|s| s.plan_name == plan.name && s.name == name)
                .ok_or_else(|| {
                    not_found(format!(
                        "Restore testing selection {name} was not found in restore testing plan {}.",
                        plan.name
                    ))
                })?;
            let mut v = json!({
                "CreationTime": epoch(s.creation_time),
                "IamRoleArn": s.iam_role_arn,
                "ProtectedResourceArns": s.protected_resource_arns,
                "ProtectedResourceType": s.protected_resource_type,
                "RestoreMetadataOverrides": s.restore_metadata_overrides,
                "RestoreTestingPlanName": s.plan_name,
                "RestoreTestingSelectionName": s.name,
                "ValidationWindowHours": s.validation_window_hours,
            });
            put_opt(
                &mut v,
                "CreatorRequestId",
                s.creator_request_id.clone().map(Value::String),
            );
            Ok((0, Some(json!({ "RestoreTestingSelection": v }))))
        }
        "CreateRestoreTestingPlan" => create_restore_testing_plan(w, ctx, input),
        "CreateRestoreTestingSelection" => create_restore_testing_selection(w, ctx, input),
        "DeleteRestoreTestingSelection" => {
            let plan = restore_testing_plan(w, req(input, "RestoreTestingPlanName")?)?
                .name
                .clone();
            let name = req(input, "RestoreTestingSelectionName")?;
            let before = w.backup.restore_testing_selections.len();
            w.backup
                .restore_testing_selections
                .retain(|s| !(s.plan_name == plan && s.name == name));
            if w.backup.restore_testing_selections.len() == before {
                return Err(not_found(format!(
                    "Restore testing selection {name} was not found in restore testing plan {plan}."
                )));
            }
            Ok((0, None))
        }
        "DeleteRestoreTestingPlan" => {
            let plan = restore_testing_plan(w, req(input, "RestoreTestingPlanName")?)?
                .name
                .clone();
            let selections = w
                .backup
                .restore_testing_selections
                .iter()
                .filter(|s| s.plan_name == plan)
                .count();
            if selections > 0 {
                return Err(invalid_request(format!(
                    "Restore testing plan {plan} still has {selections} restore testing selection(s); delete them before the plan."
                )));
            }
            w.backup.restore_testing_plans.retain(|p| p.name != plan);
            Ok((0, None))
        }
        "ListRestoreTestingPlans" => {
            let mut plans: Vec<&RestoreTestingPlan> =
                w.backup.restore_testing_plans.iter().collect();
            plans.sort_by(|a, b| a.name.cmp(&b.name));
            let items = plans
                .into_iter()
                .map(|p| {
                    let mut v = json!({
                        "RestoreTestingPlanArn": p.arn, "RestoreTestingPlanName": p.name,
                        "ScheduleExpression": p.schedule_expression, "StartWindowHours": p.start_window_hours,
                        "CreationTime": epoch(p.creation_time),
                    });
                    put_opt(&mut v, "ScheduleExpressionTimezone", p.schedule_expression_timezone.clone().map(Value::String));
                    put_opt(&mut v, "LastExecutionTime", ts(p.last_execution_time));
                    put_opt(&mut v, "LastUpdateTime", ts(p.last_update_time));
                    (p.name.clone(), v)
                })
                .collect();
            page_response("RestoreTestingPlans", items, input)
        }
        _ => Err(ApiError::unknown_operation(op)),
    }
}

/// Restore testing plan and selection names: 1 to 50 letters, digits and underscores.
fn testing_name_ok(name: &str) -> bool {
    (1..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn creator_request_id(input: &Value) -> ApiResult<Option<String>> {
    match input.str_opt("CreatorRequestId") {
        None => Ok(None),
        Some(id)
            if (1..=50).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
        {
            Ok(Some(id.to_string()))
        }
        Some(_) => Err(invalid_param(
            "CreatorRequestId must contain 1 to 50 alphanumeric or '-_.' characters.",
        )),
    }
}

fn object<'a>(input: &'a Value, name: &str) -> ApiResult<&'a Value> {
    match input.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(v @ Value::Object(_)) => Ok(v),
        Some(_) => Err(invalid_param(format!("{name} must be a structure"))),
    }
}

fn strings(input: &Value, name: &str) -> ApiResult<Vec<String>> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid_param(format!("{name} must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(invalid_param(format!("{name} must be a list of strings"))),
    }
}

fn create_restore_testing_plan(
    w: &mut World,
    ctx: &Ctx,
    input: &Value,
) -> ApiResult<(u16, Option<Value>)> {
    let request_id = creator_request_id(input)?;
    let p = object(input, "RestoreTestingPlan")?;
    let name = req(p, "RestoreTestingPlanName")?.to_string();
    if !testing_name_ok(&name) {
        return Err(invalid_param(format!(
            "Invalid RestoreTestingPlanName {name}: it must consist of 1 to 50 alphanumeric characters and underscores."
        )));
    }
    let schedule = req(p, "ScheduleExpression")?.to_string();
    let timezone = p.str_opt("ScheduleExpressionTimezone").map(str::to_string);
    Schedule::parse(&schedule, timezone.as_deref()).map_err(|e| invalid_param(e.to_string()))?;
    let start_window = p.int_opt("StartWindowHours")?.unwrap_or(24);
    if !(1..=168).contains(&start_window) {
        return Err(invalid_param(format!(
            "Invalid StartWindowHours {start_window}: it must be between 1 and 168."
        )));
    }
    let sel = object(p, "RecoveryPointSelection")?;
    let algorithm = req(sel, "Algorithm")?;
    if !["LATEST_WITHIN_WINDOW", "RANDOM_WITHIN_WINDOW"].contains(&algorithm) {
        return Err(invalid_param(format!(
            "Invalid Algorithm {algorithm}: must be LATEST_WITHIN_WINDOW or RANDOM_WITHIN_WINDOW."
        )));
    }
    let include_vaults = strings(sel, "IncludeVaults")?;
    if include_vaults.is_empty() {
        return Err(missing("IncludeVaults"));
    }
    let types = strings(sel, "RecoveryPointTypes")?;
    if types.is_empty() {
        return Err(missing("RecoveryPointTypes"));
    }
    if let Some(t) = types
        .iter()
        .find(|t| !["CONTINUOUS", "SNAPSHOT"].contains(&t.as_str()))
    {
        return Err(invalid_param(format!(
            "Invalid RecoveryPointTypes value {t}: must be CONTINUOUS or SNAPSHOT."
        )));
    }
    let window_days = sel.int_opt("SelectionWindowDays")?.unwrap_or(30);
    if !(1..=365).contains(&window_days) {
        return Err(invalid_param(format!(
            "Invalid SelectionWindowDays {window_days}: it must be between 1 and 365."
        )));
    }
    if let Some(existing) = w
        .backup
        .restore_testing_plans
        .iter()
        .find(|x| x.name == name)
    {
        // A retried request (the same CreatorRequestId) gets the plan it created.
        if request_id.is_some() && existing.creator_request_id == request_id {
            return Ok((
                0,
                Some(json!({
                    "CreationTime": epoch(existing.creation_time),
                    "RestoreTestingPlanArn": existing.arn,
                    "RestoreTestingPlanName": existing.name,
                })),
            ));
        }
        return Err(ApiError::client(
            "AlreadyExistsException",
            format!("Restore testing plan {name} already exists."),
        ));
    }
    let id = crate::emulator::util::uuid().replace('-', "");
    let plan = RestoreTestingPlan {
        arn: restore_testing_plan_arn(w, &name, &id[..10]),
        name: name.clone(),
        schedule_expression: schedule,
        schedule_expression_timezone: timezone,
        start_window_hours: start_window,
        creation_time: ctx.now,
        last_execution_time: None,
        last_update_time: None,
        creator_request_id: request_id,
        include_vaults,
        selection_window_days: window_days,
        schedule_cursor: ctx.now,
    };
    let out = json!({
        "CreationTime": epoch(plan.creation_time),
        "RestoreTestingPlanArn": plan.arn,
        "RestoreTestingPlanName": plan.name,
    });
    add_restore_testing_plan(w, plan).map_err(|e| invalid_param(e.to_string()))?;
    Ok((0, Some(out)))
}

fn create_restore_testing_selection(
    w: &mut World,
    ctx: &Ctx,
    input: &Value,
) -> ApiResult<(u16, Option<Value>)> {
    let request_id = creator_request_id(input)?;
    let plan = restore_testing_plan(w, req(input, "RestoreTestingPlanName")?)?;
    let (plan_name, plan_arn) = (plan.name.clone(), plan.arn.clone());
    let s = object(input, "RestoreTestingSelection")?;
    let name = req(s, "RestoreTestingSelectionName")?.to_string();
    if !testing_name_ok(&name) {
        return Err(invalid_param(format!(
            "Invalid RestoreTestingSelectionName {name}: it must consist of 1 to 50 alphanumeric characters and underscores."
        )));
    }
    let role = req(s, "IamRoleArn")?.to_string();
    if !role.starts_with("arn:") {
        return Err(invalid_param(format!(
            "Invalid IamRoleArn {role}: not an ARN."
        )));
    }
    let rtype = req(s, "ProtectedResourceType")?.to_string();
    let arns = strings(s, "ProtectedResourceArns")?;
    let conditions = s
        .obj("ProtectedResourceConditions")
        .is_some_and(|c| !c.is_empty());
    if arns.is_empty() && !conditions {
        return Err(invalid_param(
            "A restore testing selection needs ProtectedResourceArns or ProtectedResourceConditions.",
        ));
    }
    let wildcard = arns.iter().any(|a| a == "*");
    if wildcard && arns.len() > 1 {
        return Err(invalid_param(
            "ProtectedResourceArns is either [\"*\"] or specific ARNs, not both.",
        ));
    }
    if !wildcard && conditions {
        return Err(invalid_param(
            "ProtectedResourceConditions can only be used with ProtectedResourceArns [\"*\"].",
        ));
    }
    if arns.len() > 30 {
        return Err(invalid_param(
            "ProtectedResourceArns can name at most 30 resources.",
        ));
    }
    if let Some(a) = arns.iter().find(|a| *a != "*" && !a.starts_with("arn:")) {
        return Err(invalid_param(format!(
            "Invalid ProtectedResourceArns value {a}: not an ARN."
        )));
    }
    let window = s.int_opt("ValidationWindowHours")?.unwrap_or(0);
    if !(0..=168).contains(&window) {
        return Err(invalid_param(format!(
            "Invalid ValidationWindowHours {window}: it must be between 0 and 168."
        )));
    }
    let overrides = match s.get("RestoreMetadataOverrides") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(v) => Ok((k.clone(), v.clone())),
                _ => Err(invalid_param(
                    "RestoreMetadataOverrides must be a map of strings",
                )),
            })
            .collect::<ApiResult<BTreeMap<_, _>>>()?,
        Some(_) => {
            return Err(invalid_param(
                "RestoreMetadataOverrides must be a map of strings",
            ));
        }
    };
    // A restore test's target name is inferred by AWS Backup (`awsbackup-restore-test-…`) and
    // is not overridable; for DynamoDB only encryptionType and kmsMasterKeyArn are.
    let naming = [
        "targettablename",
        "dbinstanceidentifier",
        "dbclusteridentifier",
        "destinationbucketname",
    ];
    for k in overrides.keys() {
        let key = k.to_ascii_lowercase();
        let dynamo_ok = ["encryptiontype", "kmsmasterkeyarn"].contains(&key.as_str());
        if naming.contains(&key.as_str()) || (rtype == "DynamoDB" && !dynamo_ok) {
            return Err(invalid_param(format!(
                "RestoreMetadataOverrides key {k} cannot be overridden for {rtype} restore tests{}.",
                if rtype == "DynamoDB" {
                    " (overridable: encryptionType, kmsMasterKeyArn)"
                } else {
                    ""
                }
            )));
        }
    }
    let answer = |created: DateTime<Utc>| {
        json!({
            "CreationTime": epoch(created),
            "RestoreTestingPlanArn": plan_arn,
            "RestoreTestingPlanName": plan_name,
            "RestoreTestingSelectionName": name,
        })
    };
    if let Some(existing) = w
        .backup
        .restore_testing_selections
        .iter()
        .find(|x| x.plan_name == plan_name && x.name == name)
    {
        if request_id.is_some() && existing.creator_request_id == request_id {
            return Ok((0, Some(answer(existing.creation_time))));
        }
        return Err(ApiError::client(
            "AlreadyExistsException",
            format!(
                "Restore testing selection {name} already exists in restore testing plan {plan_name}."
            ),
        ));
    }
    add_restore_testing_selection(
        w,
        RestoreTestingSelection {
            plan_name: plan_name.clone(),
            name: name.clone(),
            iam_role_arn: role,
            protected_resource_type: rtype,
            protected_resource_arns: arns,
            validation_window_hours: window,
            restore_metadata_overrides: overrides,
            creation_time: ctx.now,
            creator_request_id: request_id,
        },
    );
    Ok((0, Some(answer(ctx.now))))
}

fn vault_json(w: &World, v: &Vault) -> Value {
    let count = w
        .backup
        .recovery_points
        .values()
        .filter(|rp| rp.vault_name == v.name)
        .count();
    let mut out = json!({
        "BackupVaultName": v.name,
        "BackupVaultArn": v.arn,
        "VaultType": v.vault_type,
        "VaultState": "AVAILABLE",
        "CreationDate": epoch(v.creation_date),
        "NumberOfRecoveryPoints": count,
        "Locked": v.locked,
    });
    put_opt(
        &mut out,
        "EncryptionKeyArn",
        v.encryption_key_arn.clone().map(Value::String),
    );
    put_opt(
        &mut out,
        "CreatorRequestId",
        v.creator_request_id.clone().map(Value::String),
    );
    put_opt(
        &mut out,
        "MinRetentionDays",
        v.min_retention_days.map(|d| json!(d)),
    );
    put_opt(
        &mut out,
        "MaxRetentionDays",
        v.max_retention_days.map(|d| json!(d)),
    );
    put_opt(&mut out, "LockDate", ts(v.lock_date));
    out
}

fn list_backup_jobs(w: &World, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    const STATES: &[&str] = &[
        "CREATED",
        "PENDING",
        "RUNNING",
        "ABORTING",
        "ABORTED",
        "COMPLETED",
        "FAILED",
        "EXPIRED",
        "PARTIAL",
    ];
    let resource_arn = str_filter(input, &["ByResourceArn", "ResourceArn"]);
    let state = str_filter(input, &["ByState", "State"]);
    if let Some(s) = state
        && !STATES.contains(&s)
    {
        return Err(invalid_param(format!("Invalid value for ByState: {s}")));
    }
    let vault_name = str_filter(input, &["ByBackupVaultName", "BackupVaultName"]);
    let resource_type = str_filter(input, &["ByResourceType", "ResourceType"]);
    let account = str_filter(input, &["ByAccountId", "AccountId"]);
    let window = JobWindow::from_input(input)?;
    if account.is_some_and(|a| a != w.account_id && a != "*" && a != "ANY") {
        return page_response("BackupJobs", Vec::new(), input);
    }
    let mut jobs: Vec<&BackupJob> = w
        .backup
        .backup_jobs
        .iter()
        .filter(|j| resource_arn.is_none_or(|a| a == j.resource_arn))
        .filter(|j| state.is_none_or(|s| s == j.state))
        .filter(|j| vault_name.is_none_or(|v| v == j.vault_name))
        .filter(|j| resource_type.is_none_or(|t| t == j.resource_type))
        .filter(|j| window.admits(j.creation_date, j.completion_date))
        .collect();
    jobs.sort_by(|a, b| b.creation_date.cmp(&a.creation_date).then(a.id.cmp(&b.id)));
    let items = jobs
        .into_iter()
        .map(|j| (j.id.clone(), backup_job_json(w, j)))
        .collect();
    page_response("BackupJobs", items, input)
}

fn backup_job_json(w: &World, j: &BackupJob) -> Value {
    let mut v = json!({
        "AccountId": w.account_id,
        "BackupJobId": j.id,
        "BackupVaultName": j.vault_name,
        "BackupVaultArn": vault_arn(w, &j.vault_name),
        "ResourceArn": j.resource_arn,
        "CreationDate": epoch(j.creation_date),
        "State": j.state,
        "PercentDone": j.percent_done,
        "BackupSizeInBytes": j.backup_size_bytes,
        "IamRoleArn": j.iam_role_arn,
        "ResourceType": j.resource_type,
        "ResourceName": j.resource_name,
    });
    put_opt(
        &mut v,
        "RecoveryPointArn",
        j.recovery_point_arn.clone().map(Value::String),
    );
    put_opt(&mut v, "CompletionDate", ts(j.completion_date));
    put_opt(
        &mut v,
        "StatusMessage",
        j.status_message.clone().map(Value::String),
    );
    put_opt(
        &mut v,
        "CreatedBy",
        j.created_by.as_ref().map(CreatedBy::to_json),
    );
    put_opt(
        &mut v,
        "BackupType",
        j.backup_type.clone().map(Value::String),
    );
    if let Some(vault) = w.backup.vaults.get(&j.vault_name) {
        v["VaultType"] = json!(vault.vault_type);
        put_opt(
            &mut v,
            "EncryptionKeyArn",
            vault.encryption_key_arn.clone().map(Value::String),
        );
        v["IsEncrypted"] = json!(vault.encryption_key_arn.is_some());
        if vault.locked {
            v["VaultLockState"] = json!("LOCKED");
        }
    }
    v
}

fn list_recovery_points(w: &World, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    let name = req(input, "BackupVaultName")?;
    vault(w, name)?;
    let resource_arn = str_filter(input, &["ByResourceArn", "ResourceArn"]);
    let resource_type = str_filter(input, &["ByResourceType", "ResourceType"]);
    let plan_id = str_filter(input, &["ByBackupPlanId", "BackupPlanId"]);
    let before = time_filter(input, &["ByCreatedBefore", "CreatedBefore"])?;
    let after = time_filter(input, &["ByCreatedAfter", "CreatedAfter"])?;
    let mut rps: Vec<&RecoveryPoint> = w
        .backup
        .recovery_points
        .values()
        .filter(|rp| rp.vault_name == name)
        .filter(|rp| resource_arn.is_none_or(|a| a == rp.resource_arn))
        .filter(|rp| resource_type.is_none_or(|t| t == rp.resource_type))
        .filter(|rp| {
            plan_id.is_none_or(|p| {
                rp.created_by
                    .as_ref()
                    .is_some_and(|c| c.backup_plan_id == p)
            })
        })
        .filter(|rp| before.is_none_or(|t| rp.creation_date < t))
        .filter(|rp| after.is_none_or(|t| rp.creation_date > t))
        .collect();
    // Newest first.
    rps.sort_by(|a, b| {
        b.creation_date
            .cmp(&a.creation_date)
            .then(a.arn.cmp(&b.arn))
    });
    let items = rps
        .into_iter()
        .map(|rp| (rp.arn.clone(), recovery_point_json(w, rp)))
        .collect();
    page_response("RecoveryPoints", items, input)
}

fn recovery_point<'a>(w: &'a World, input: &Value) -> ApiResult<&'a RecoveryPoint> {
    let name = req(input, "BackupVaultName")?;
    let arn = req(input, "RecoveryPointArn")?;
    vault(w, name)?;
    w.backup
        .recovery_points
        .get(arn)
        .filter(|rp| rp.vault_name == name)
        .ok_or_else(|| {
            not_found(format!(
                "Recovery point {arn} was not found in backup vault {name}."
            ))
        })
}

fn recovery_point_json(w: &World, rp: &RecoveryPoint) -> Value {
    let mut v = json!({
        "RecoveryPointArn": rp.arn,
        "BackupVaultName": rp.vault_name,
        "BackupVaultArn": vault_arn(w, &rp.vault_name),
        "ResourceArn": rp.resource_arn,
        "ResourceType": rp.resource_type,
        "ResourceName": rp.resource_name,
        "IamRoleArn": rp.iam_role_arn,
        "Status": rp.status,
        "CreationDate": epoch(rp.creation_date),
        "BackupSizeInBytes": rp.backup_size_bytes,
        "IsEncrypted": rp.encryption_key_arn.is_some(),
        "VaultType": w.backup.vaults.get(&rp.vault_name).map(|v| v.vault_type.as_str()).unwrap_or("BACKUP_VAULT"),
    });
    put_opt(
        &mut v,
        "CreatedBy",
        rp.created_by.as_ref().map(CreatedBy::to_json),
    );
    put_opt(&mut v, "CompletionDate", ts(rp.completion_date));
    put_opt(
        &mut v,
        "EncryptionKeyArn",
        rp.encryption_key_arn.clone().map(Value::String),
    );
    put_opt(&mut v, "LastRestoreTime", ts(rp.last_restore_time));
    if let Some(days) = rp.delete_after_days {
        v["Lifecycle"] = json!({ "DeleteAfterDays": days });
        v["CalculatedLifecycle"] =
            json!({ "DeleteAt": epoch(rp.creation_date + Duration::days(days)) });
    }
    v
}

/// The restore metadata AWS Backup reports for a recovery point (strings only).
pub fn restore_metadata(w: &World, rp: &RecoveryPoint) -> BTreeMap<String, String> {
    let key = rp.encryption_key_arn.clone().unwrap_or_default();
    let name = rp.resource_name.as_str();
    let mut m: BTreeMap<String, String> = match rp.resource_type.as_str() {
        "DynamoDB" => [
            ("targetTableName", name.to_string()),
            ("originalTableArn", rp.resource_arn.clone()),
            (
                "encryptionType",
                if key.is_empty() {
                    "Default".into()
                } else {
                    "KMS".into()
                },
            ),
            ("kmsMasterKeyArn", key.clone()),
            ("billingMode", "PAY_PER_REQUEST".into()),
            ("tableClass", "STANDARD".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        "RDS" => [
            ("DBInstanceIdentifier", name.to_string()),
            ("DBInstanceClass", "db.r6g.large".into()),
            ("Engine", "postgres".into()),
            ("EngineVersion", "15.5".into()),
            ("LicenseModel", "postgresql-license".into()),
            ("MultiAZ", "true".into()),
            ("Port", "5432".into()),
            ("StorageType", "gp3".into()),
            ("AllocatedStorage", "100".into()),
            ("StorageEncrypted", "true".into()),
            ("KmsKeyId", key.clone()),
            ("DBSubnetGroupName", format!("{name}-subnets")),
            ("VpcSecurityGroupIds", "[\"sg-0a1b2c3d4e5f60789\"]".into()),
            ("PubliclyAccessible", "false".into()),
            ("CopyTagsToSnapshot", "true".into()),
            ("DeletionProtection", "true".into()),
            ("AvailabilityZone", format!("{}a", w.region)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        "S3" => [
            ("DestinationBucketName", name.to_string()),
            ("NewBucket", "false".into()),
            ("Encrypted", "true".into()),
            ("EncryptionType", "SSE-KMS".into()),
            ("KMSKey", key.clone()),
            (
                "CreationToken",
                rp.arn.rsplit(':').next().unwrap_or("").to_string(),
            ),
            ("ItemsToRestore", "[]".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        "EBS" => [
            ("availabilityZone", format!("{}a", w.region)),
            ("encrypted", "true".into()),
            ("volumeType", "gp3".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
        _ => BTreeMap::new(),
    };
    m.retain(|_, v| !v.is_empty());
    for (k, v) in &rp.restore_metadata {
        m.insert(k.clone(), v.clone());
    }
    m
}

/// The ARN a restore of `rp` with `metadata` creates.
fn restored_arn(
    w: &World,
    rp: &RecoveryPoint,
    metadata: &BTreeMap<String, String>,
    job_id: &str,
) -> String {
    let suffix = job_id
        .split('-')
        .next()
        .unwrap_or(job_id)
        .to_ascii_lowercase();
    let target = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| metadata.get(*k).filter(|v| !v.is_empty()).cloned())
            .filter(|t| *t != rp.resource_name)
            .unwrap_or_else(|| format!("{}-restored-{suffix}", rp.resource_name))
    };
    let (r, a) = (&w.region, &w.account_id);
    match rp.resource_type.as_str() {
        "DynamoDB" => format!(
            "arn:aws:dynamodb:{r}:{a}:table/{}",
            target(&["targetTableName"])
        ),
        "RDS" | "Aurora" => format!(
            "arn:aws:rds:{r}:{a}:db:{}",
            target(&["DBInstanceIdentifier"])
        ),
        "S3" => format!("arn:aws:s3:::{}", target(&["DestinationBucketName"])),
        "EBS" => format!(
            "arn:aws:ec2:{r}:{a}:volume/vol-{}",
            &job_id.replace('-', "").to_ascii_lowercase()[..17]
        ),
        "EC2" => format!(
            "arn:aws:ec2:{r}:{a}:instance/i-{}",
            &job_id.replace('-', "").to_ascii_lowercase()[..17]
        ),
        "EFS" => format!(
            "arn:aws:elasticfilesystem:{r}:{a}:file-system/fs-{}",
            &job_id.replace('-', "").to_ascii_lowercase()[..8]
        ),
        _ => format!("{}-restored-{suffix}", rp.resource_arn),
    }
}

fn start_restore_job(w: &mut World, ctx: &Ctx, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    let rp_arn = req(input, "RecoveryPointArn")?.to_string();
    let metadata: BTreeMap<String, String> = match input.get("Metadata") {
        None | Some(Value::Null) => return Err(missing("Metadata")),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(invalid_param(format!(
                    "Metadata value for {k} must be a string"
                ))),
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(invalid_param("Metadata must be a map of strings")),
    };
    let iam_role = input
        .str_opt("IamRoleArn")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(role) = &iam_role {
        let ok = crate::emulator::util::split_arn(role)
            .is_some_and(|(_, svc, _, _, res)| svc == "iam" && res.starts_with("role/"));
        if !ok {
            return Err(invalid_param(format!("Invalid IamRoleArn: {role}")));
        }
    }
    let token = input
        .str_opt("IdempotencyToken")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(t) = &token
        && let Some(j) = w
            .backup
            .restore_jobs
            .iter()
            .find(|j| j.idempotency_token.as_deref() == Some(t.as_str()))
    {
        return Ok((0, Some(json!({ "RestoreJobId": j.id }))));
    }
    let rp = w
        .backup
        .recovery_points
        .get(&rp_arn)
        .ok_or_else(|| not_found(format!("Recovery point {rp_arn} was not found.")))?;
    if let Some(t) = input.str_opt("ResourceType").filter(|s| !s.is_empty()) {
        let compatible = t == rp.resource_type || (t == "Aurora" && rp.resource_type == "RDS");
        if !compatible {
            return Err(invalid_param(format!(
                "ResourceType {t} does not match the resource type {} of recovery point {rp_arn}.",
                rp.resource_type
            )));
        }
    }
    if rp.status != "COMPLETED" {
        return Err(invalid_request(format!(
            "Recovery point {rp_arn} is in status {}; only COMPLETED recovery points can be restored.",
            rp.status
        )));
    }
    let id = job_id(&crate::emulator::util::uuid());
    let behaviour = w.backup.behaviour_for(&rp.resource_type);
    let total = behaviour.pending_seconds.max(0) + behaviour.running_seconds.max(0);
    let job = RestoreJob {
        id: id.clone(),
        recovery_point_arn: rp_arn.clone(),
        backup_vault_arn: vault_arn(w, &rp.vault_name),
        resource_type: rp.resource_type.clone(),
        iam_role_arn: iam_role,
        target_resource_arn: restored_arn(w, rp, &metadata, &id),
        metadata,
        idempotency_token: token,
        creation_date: ctx.now,
        completion_date: None,
        status: RestoreStatus::Pending,
        status_message: None,
        percent_done: "0.00%".into(),
        backup_size_bytes: rp.backup_size_bytes,
        expected_completion_minutes: (total + 59) / 60,
        recovery_point_creation_date: rp.creation_date,
        restore_testing_plan_arn: None,
        validation_status: None,
        validation_status_message: None,
        behaviour,
        validation_window_hours: None,
        deletion_due: None,
        deletion_status: None,
        deletion_status_message: None,
    };
    w.backup.restore_jobs.push(job);
    // A zero-length behaviour finishes at once.
    tick(w, ctx.now);
    Ok((0, Some(json!({ "RestoreJobId": id }))))
}

fn restore_job<'a>(w: &'a World, id: &str) -> ApiResult<&'a RestoreJob> {
    w.backup
        .restore_jobs
        .iter()
        .find(|j| j.id == id)
        .ok_or_else(|| not_found(format!("Restore job {id} was not found.")))
}

fn restore_job_json(w: &World, j: &RestoreJob) -> Value {
    let mut v = json!({
        "AccountId": w.account_id,
        "RestoreJobId": j.id,
        "RecoveryPointArn": j.recovery_point_arn,
        "BackupVaultArn": j.backup_vault_arn,
        "CreationDate": epoch(j.creation_date),
        "Status": j.status.as_str(),
        "PercentDone": j.percent_done,
        "BackupSizeInBytes": j.backup_size_bytes,
        "ExpectedCompletionTimeMinutes": j.expected_completion_minutes,
        "ResourceType": j.resource_type,
        "RecoveryPointCreationDate": epoch(j.recovery_point_creation_date),
    });
    if let Some(rp) = w.backup.recovery_points.get(&j.recovery_point_arn) {
        v["SourceResourceArn"] = json!(rp.resource_arn);
    }
    put_opt(
        &mut v,
        "IamRoleArn",
        j.iam_role_arn.clone().map(Value::String),
    );
    put_opt(&mut v, "CompletionDate", ts(j.completion_date));
    put_opt(
        &mut v,
        "StatusMessage",
        j.status_message.clone().map(Value::String),
    );
    if j.status == RestoreStatus::Completed {
        v["CreatedResourceArn"] = json!(j.target_resource_arn);
    }
    if let Some(p) = &j.restore_testing_plan_arn {
        v["CreatedBy"] = json!({ "RestoreTestingPlanArn": p });
    }
    put_opt(
        &mut v,
        "ValidationStatus",
        j.validation_status.clone().map(Value::String),
    );
    put_opt(
        &mut v,
        "ValidationStatusMessage",
        j.validation_status_message.clone().map(Value::String),
    );
    put_opt(
        &mut v,
        "DeletionStatus",
        j.deletion_status.clone().map(Value::String),
    );
    put_opt(
        &mut v,
        "DeletionStatusMessage",
        j.deletion_status_message.clone().map(Value::String),
    );
    v
}

fn backup_plan<'a>(w: &'a World, id: &str) -> ApiResult<&'a BackupPlan> {
    w.backup
        .plans
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| not_found(format!("Backup plan {id} was not found.")))
}

fn restore_testing_plan<'a>(w: &'a World, name: &str) -> ApiResult<&'a RestoreTestingPlan> {
    w.backup
        .restore_testing_plans
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| not_found(format!("Restore testing plan {name} was not found.")))
}

fn get_backup_plan(w: &World, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    let p = backup_plan(w, req(input, "BackupPlanId")?)?;
    if let Some(v) = str_filter(input, &["VersionId"])
        && v != p.version_id
    {
        return Err(not_found(format!(
            "Version {v} of backup plan {} was not found.",
            p.id
        )));
    }
    let rules: Vec<Value> = p
        .rules
        .iter()
        .map(|r| {
            let mut v = json!({
                "RuleName": r.name,
                "TargetBackupVaultName": r.target_vault,
                "ScheduleExpression": r.schedule_expression,
                "StartWindowMinutes": r.start_window_minutes,
                "CompletionWindowMinutes": r.completion_window_minutes,
                "RuleId": r.id,
                "EnableContinuousBackup": false,
            });
            put_opt(&mut v, "Lifecycle", r.lifecycle.to_json());
            put_opt(
                &mut v,
                "ScheduleExpressionTimezone",
                r.schedule_expression_timezone.clone().map(Value::String),
            );
            if !r.copy_actions.is_empty() {
                v["CopyActions"] = r
                    .copy_actions
                    .iter()
                    .map(|c| {
                        let mut a = json!({ "DestinationBackupVaultArn": c.destination_vault_arn });
                        put_opt(&mut a, "Lifecycle", c.lifecycle.to_json());
                        a
                    })
                    .collect();
            }
            v
        })
        .collect();
    let mut out = json!({
        "BackupPlan": { "BackupPlanName": p.name, "Rules": rules },
        "BackupPlanId": p.id,
        "BackupPlanArn": p.arn,
        "VersionId": p.version_id,
        "CreationDate": epoch(p.creation_date),
    });
    put_opt(
        &mut out,
        "CreatorRequestId",
        p.creator_request_id.clone().map(Value::String),
    );
    put_opt(&mut out, "DeletionDate", ts(p.deletion_date));
    put_opt(&mut out, "LastExecutionDate", ts(p.last_execution_date));
    Ok((0, Some(out)))
}

fn list_recovery_points_by_resource(w: &World, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    let arn = req(input, "ResourceArn")?;
    let mut rps: Vec<&RecoveryPoint> = w
        .backup
        .recovery_points
        .values()
        .filter(|rp| rp.resource_arn == arn)
        .collect();
    if rps.is_empty() {
        return Err(not_found(format!(
            "Resource {arn} has no recovery points in account {} in region {}.",
            w.account_id, w.region
        )));
    }
    rps.sort_by(|a, b| {
        b.creation_date
            .cmp(&a.creation_date)
            .then(a.arn.cmp(&b.arn))
    });
    let items = rps
        .into_iter()
        .map(|rp| {
            let mut v = json!({
                "RecoveryPointArn": rp.arn,
                "CreationDate": epoch(rp.creation_date),
                "Status": rp.status,
                "BackupSizeBytes": rp.backup_size_bytes,
                "BackupVaultName": rp.vault_name,
                "IsParent": false,
                "ResourceName": rp.resource_name,
                "VaultType": w.backup.vaults.get(&rp.vault_name).map(|v| v.vault_type.as_str()).unwrap_or("BACKUP_VAULT"),
            });
            put_opt(
                &mut v,
                "EncryptionKeyArn",
                rp.encryption_key_arn.clone().map(Value::String),
            );
            (rp.arn.clone(), v)
        })
        .collect();
    page_response("RecoveryPoints", items, input)
}

fn list_protected_resources(w: &World, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    // A resource is protected once a recovery point of it exists; its last backup is the
    // newest recovery point.
    let mut latest: BTreeMap<&str, &RecoveryPoint> = BTreeMap::new();
    for rp in w.backup.recovery_points.values() {
        let e = latest.entry(rp.resource_arn.as_str()).or_insert(rp);
        if rp.creation_date > e.creation_date {
            *e = rp;
        }
    }
    let items = latest
        .into_iter()
        .map(|(arn, rp)| {
            (
                arn.to_string(),
                json!({
                    "ResourceArn": arn,
                    "ResourceType": rp.resource_type,
                    "LastBackupTime": epoch(rp.creation_date),
                    "ResourceName": rp.resource_name,
                    "LastBackupVaultArn": vault_arn(w, &rp.vault_name),
                    "LastRecoveryPointArn": rp.arn,
                }),
            )
        })
        .collect();
    page_response("Results", items, input)
}

/// The created/completed time filters shared by ListBackupJobs and ListRestoreJobs.
struct JobWindow {
    before: Option<DateTime<Utc>>,
    after: Option<DateTime<Utc>>,
    complete_before: Option<DateTime<Utc>>,
    complete_after: Option<DateTime<Utc>>,
}

impl JobWindow {
    fn from_input(input: &Value) -> ApiResult<JobWindow> {
        Ok(JobWindow {
            before: time_filter(input, &["ByCreatedBefore", "CreatedBefore"])?,
            after: time_filter(input, &["ByCreatedAfter", "CreatedAfter"])?,
            complete_before: time_filter(input, &["ByCompleteBefore", "CompleteBefore"])?,
            complete_after: time_filter(input, &["ByCompleteAfter", "CompleteAfter"])?,
        })
    }

    fn admits(&self, created: DateTime<Utc>, completed: Option<DateTime<Utc>>) -> bool {
        self.before.is_none_or(|t| created < t)
            && self.after.is_none_or(|t| created > t)
            && self
                .complete_before
                .is_none_or(|t| completed.is_some_and(|c| c < t))
            && self
                .complete_after
                .is_none_or(|t| completed.is_some_and(|c| c > t))
    }
}

fn list_restore_jobs(w: &World, input: &Value) -> ApiResult<(u16, Option<Value>)> {
    let status = match str_filter(input, &["ByStatus", "Status"]) {
        None => None,
        Some(s) => Some(
            RestoreStatus::parse(s)
                .ok_or_else(|| invalid_param(format!("Invalid value for ByStatus: {s}")))?,
        ),
    };
    let resource_type = str_filter(input, &["ByResourceType", "ResourceType"]);
    let plan = str_filter(input, &["ByRestoreTestingPlanArn", "RestoreTestingPlanArn"]);
    let account = str_filter(input, &["ByAccountId", "AccountId"]);
    let window = JobWindow::from_input(input)?;
    if account.is_some_and(|a| a != w.account_id) {
        return page_response("RestoreJobs", Vec::new(), input);
    }
    let mut jobs: Vec<&RestoreJob> = w
        .backup
        .restore_jobs
        .iter()
        .filter(|j| status.is_none_or(|s| s == j.status))
        .filter(|j| resource_type.is_none_or(|t| t == j.resource_type))
        .filter(|j| plan.is_none_or(|p| j.restore_testing_plan_arn.as_deref() == Some(p)))
        .filter(|j| window.admits(j.creation_date, j.completion_date))
        .collect();
    jobs.sort_by(|a, b| b.creation_date.cmp(&a.creation_date).then(a.id.cmp(&b.id)));
    let items = jobs
        .into_iter()
        .map(|j| (j.id.clone(), restore_job_json(w, j)))
        .collect();
    page_response("RestoreJobs", items, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> (World, DateTime<Utc>) {
        let mut w = World::new("123456789012", "us-east-1");
        let now = DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let v = Vault::new(
            &w,
            "v1",
            now - Duration::days(10),
            Some("arn:aws:kms:us-east-1:123456789012:key/k"),
        );
        add_vault(&mut w, v);
        for i in 0..5 {
            let created = now - Duration::days(i);
            let arn = recovery_point_arn(
                &w,
                "DynamoDB",
                "t1",
                &format!("0000000{i}-0000-4000-8000-000000000000"),
                created,
            );
            add_recovery_point(
                &mut w,
                RecoveryPoint {
                    arn,
                    vault_name: "v1".into(),
                    resource_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/t1".into(),
                    resource_type: "DynamoDB".into(),
                    resource_name: "t1".into(),
                    created_by: None,
                    iam_role_arn: "arn:aws:iam::123456789012:role/R".into(),
                    status: if i == 4 {
                        "EXPIRED".into()
                    } else {
                        "COMPLETED".into()
                    },
                    creation_date: created,
                    completion_date: Some(created + Duration::minutes(5)),
                    backup_size_bytes: 1000 + i,
                    delete_after_days: Some(35),
                    encryption_key_arn: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
                    last_restore_time: None,
                    restore_metadata: BTreeMap::new(),
                },
            );
        }
        (w, now)
    }

    fn rp_arns(w: &World) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = w
            .backup
            .recovery_points
            .values()
            .map(|r| (r.arn.clone(), r.status.clone()))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn paging_tokens_round_trip_and_reject_garbage() {
        let (w, _) = world();
        let mut seen = Vec::new();
        let mut input = json!({ "BackupVaultName": "v1", "MaxResults": "2" });
        loop {
            let (_, out) = list_recovery_points(&w, &input).unwrap();
            let out = out.unwrap();
            let page = out["RecoveryPoints"].as_array().unwrap();
            assert!(page.len() <= 2 && !page.is_empty());
            seen.extend(
                page.iter()
                    .map(|p| p["RecoveryPointArn"].as_str().unwrap().to_string()),
            );
            match out.get("NextToken") {
                Some(t) => input["NextToken"] = t.clone(),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5);
        let mut dedup = seen.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), 5);
        let bad =
            list_recovery_points(&w, &json!({ "BackupVaultName": "v1", "NextToken": "nope" }))
                .unwrap_err();
        assert_eq!(bad.code, "InvalidParameterValueException");
        let bad = list_recovery_points(&w, &json!({ "BackupVaultName": "v1", "MaxResults": "0" }))
            .unwrap_err();
        assert_eq!(bad.code, "InvalidParameterValueException");
    }

    #[test]
    fn restore_progresses_with_configured_behaviour() {
        let (mut w, now) = world();
        let ctx = Ctx::internal(&w, now);
        let (arn, _) = rp_arns(&w)
            .into_iter()
            .find(|(_, s)| s == "COMPLETED")
            .unwrap();
        let start = |w: &mut World, token: &str| {
            let (_, out) = handle(
                w,
                &ctx,
                "StartRestoreJob",
                &json!({ "RecoveryPointArn": arn, "Metadata": { "targetTableName": "t1-copy" }, "IdempotencyToken": token }),
            )
            .unwrap();
            out.unwrap()["RestoreJobId"].as_str().unwrap().to_string()
        };
        let id = start(&mut w, "a");
        assert_eq!(start(&mut w, "a"), id, "same idempotency token, same job");
        let job = |w: &World| {
            w.backup
                .restore_jobs
                .iter()
                .find(|j| j.id == id)
                .unwrap()
                .clone()
        };
        assert_eq!(job(&w).status, RestoreStatus::Pending);
        tick(&mut w, now + Duration::seconds(60 + 450));
        assert_eq!(job(&w).status, RestoreStatus::Running);
        assert_eq!(job(&w).percent_done, "50.00%");
        tick(&mut w, now + Duration::seconds(961));
        let j = job(&w);
        assert_eq!(j.status, RestoreStatus::Completed);
        assert_eq!(j.completion_date, Some(now + Duration::seconds(960)));
        assert_eq!(
            j.target_resource_arn,
            "arn:aws:dynamodb:us-east-1:123456789012:table/t1-copy"
        );
        assert_eq!(
            w.backup.recovery_points[&arn].last_restore_time,
            Some(now + Duration::seconds(960))
        );

        // A failing override for DynamoDB, captured at start.
        w.backup.restore_overrides.insert(
            "DynamoDB".into(),
            RestoreBehaviour {
                pending_seconds: 0,
                running_seconds: 10,
                fail: true,
                failure_message: "boom".into(),
            },
        );
        let id2 = start(&mut w, "b");
        w.backup.restore_overrides.clear();
        tick(&mut w, now + Duration::seconds(11));
        let j = w.backup.restore_jobs.iter().find(|j| j.id == id2).unwrap();
        assert_eq!(j.status, RestoreStatus::Failed);
        assert_eq!(j.status_message.as_deref(), Some("boom"));
    }

    #[test]
    fn start_restore_errors() {
        let (mut w, now) = world();
        let ctx = Ctx::internal(&w, now);
        let expired = rp_arns(&w)
            .into_iter()
            .find(|(_, s)| s == "EXPIRED")
            .unwrap()
            .0;
        let e = handle(
            &mut w,
            &ctx,
            "StartRestoreJob",
            &json!({ "RecoveryPointArn": expired }),
        )
        .unwrap_err();
        assert_eq!(e.code, "MissingParameterValueException");
        let e = handle(
            &mut w,
            &ctx,
            "StartRestoreJob",
            &json!({ "RecoveryPointArn": expired, "Metadata": {} }),
        )
        .unwrap_err();
        assert_eq!(e.code, "InvalidRequestException");
        let e = handle(
            &mut w,
            &ctx,
            "StartRestoreJob",
            &json!({ "RecoveryPointArn": "arn:x", "Metadata": {} }),
        )
        .unwrap_err();
        assert_eq!(e.code, "ResourceNotFoundException");
        let e = handle(&mut w, &ctx, "Nope", &json!({})).unwrap_err();
        assert_eq!(e.code, "UnknownOperationException");
    }

    #[test]
    fn restore_testing_creates_and_deletes_check_their_input() {
        let (mut w, now) = world();
        let ctx = Ctx::internal(&w, now);
        let plan = |name: &str, schedule: &str| {
            json!({ "RestoreTestingPlan": {
                "RestoreTestingPlanName": name,
                "ScheduleExpression": schedule,
                "RecoveryPointSelection": {
                    "Algorithm": "LATEST_WITHIN_WINDOW",
                    "IncludeVaults": ["*"],
                    "RecoveryPointTypes": ["SNAPSHOT"],
                },
            }})
        };
        let code = |w: &mut World, op: &str, input: Value| {
            handle(w, &ctx, op, &input).map(|_| ()).unwrap_err().code
        };
        assert_eq!(
            code(&mut w, "CreateRestoreTestingPlan", json!({})),
            "MissingParameterValueException"
        );
        let mut no_types = plan("p1", "cron(0 5 ? * * *)");
        no_types["RestoreTestingPlan"]["RecoveryPointSelection"]["RecoveryPointTypes"] = json!([]);
        assert_eq!(
            code(&mut w, "CreateRestoreTestingPlan", no_types),
            "MissingParameterValueException"
        );
        let mut bad_id = plan("p1", "cron(0 5 ? * * *)");
        bad_id["CreatorRequestId"] = json!("has space");
        assert_eq!(
            code(&mut w, "CreateRestoreTestingPlan", bad_id),
            "InvalidParameterValueException"
        );
        let mut wide = plan("p1", "cron(0 5 ? * * *)");
        wide["RestoreTestingPlan"]["StartWindowHours"] = json!(169);
        assert_eq!(
            code(&mut w, "CreateRestoreTestingPlan", wide),
            "InvalidParameterValueException"
        );
        let (status, out) = handle(
            &mut w,
            &ctx,
            "CreateRestoreTestingPlan",
            &plan("p1", "cron(0 5 1 12 ? 2030)"),
        )
        .unwrap();
        assert_eq!(status, 0);
        let out = out.unwrap();
        assert_eq!(out["RestoreTestingPlanName"], "p1");
        let p = w
            .backup
            .restore_testing_plans
            .iter()
            .find(|p| p.name == "p1")
            .unwrap();
        assert_eq!(
            (
                p.start_window_hours,
                p.selection_window_days,
                p.schedule_cursor
            ),
            (24, 30, now),
            "AWS's defaults; it runs from its creation on"
        );
        let sel =
            |s: Value| json!({ "RestoreTestingPlanName": "p1", "RestoreTestingSelection": s });
        let base = json!({
            "RestoreTestingSelectionName": "s1",
            "IamRoleArn": "arn:aws:iam::123456789012:role/R",
            "ProtectedResourceType": "DynamoDB",
            "ProtectedResourceArns": ["arn:aws:dynamodb:us-east-1:123456789012:table/t"],
        });
        for (k, v) in [
            ("ProtectedResourceArns", json!([])),
            ("ValidationWindowHours", json!(169)),
            (
                "ProtectedResourceConditions",
                json!({ "StringEquals": [{ "Key": "aws:ResourceTag/x", "Value": "y" }] }),
            ),
            ("RestoreMetadataOverrides", json!({ "k": 1 })),
            (
                "RestoreMetadataOverrides",
                json!({ "TargetTableName": "x" }),
            ),
            ("RestoreMetadataOverrides", json!({ "billingMode": "x" })),
            ("RestoreTestingSelectionName", json!("s-1")),
        ] {
            let mut s = base.clone();
            s[k] = v;
            assert_eq!(
                code(&mut w, "CreateRestoreTestingSelection", sel(s)),
                "InvalidParameterValueException",
                "{k}"
            );
        }
        let mut all = base.clone();
        all["RestoreMetadataOverrides"] = json!({ "encryptionType": "Default" });
        all["ProtectedResourceArns"] = json!(["*"]);
        all["ProtectedResourceConditions"] =
            json!({ "StringEquals": [{ "Key": "aws:ResourceTag/x", "Value": "y" }] });
        handle(&mut w, &ctx, "CreateRestoreTestingSelection", &sel(all)).unwrap();
        let got = w
            .backup
            .restore_testing_selections
            .iter()
            .find(|s| s.name == "s1")
            .unwrap();
        assert_eq!(got.validation_window_hours, 0, "the lab's default");
        assert_eq!(
            code(&mut w, "CreateRestoreTestingSelection", sel(base.clone())),
            "AlreadyExistsException"
        );
        assert_eq!(
            code(
                &mut w,
                "DeleteRestoreTestingPlan",
                json!({ "RestoreTestingPlanName": "p1" })
            ),
            "InvalidRequestException"
        );
        assert_eq!(
            code(
                &mut w,
                "DeleteRestoreTestingSelection",
                json!({ "RestoreTestingPlanName": "p1", "RestoreTestingSelectionName": "s2" })
            ),
            "ResourceNotFoundException"
        );
        handle(
            &mut w,
            &ctx,
            "DeleteRestoreTestingSelection",
            &json!({ "RestoreTestingPlanName": "p1", "RestoreTestingSelectionName": "s1" }),
        )
        .unwrap();
        handle(
            &mut w,
            &ctx,
            "DeleteRestoreTestingPlan",
            &json!({ "RestoreTestingPlanName": "p1" }),
        )
        .unwrap();
        assert!(
            !w.backup
                .restore_testing_plans
                .iter()
                .any(|p| p.name == "p1")
        );
    }

    fn testing_plan(w: &World, schedule: &str, now: DateTime<Utc>) -> RestoreTestingPlan {
        RestoreTestingPlan {
            name: "rt".into(),
            arn: restore_testing_plan_arn(w, "rt", "abc"),
            schedule_expression: schedule.into(),
            schedule_expression_timezone: None,
            start_window_hours: 1,
            creation_time: now - Duration::days(30),
            last_execution_time: None,
            last_update_time: None,
            creator_request_id: None,
            include_vaults: vec!["*".into()],
            selection_window_days: 7,
            schedule_cursor: now,
        }
    }

    fn testing_selection(window_hours: i64) -> RestoreTestingSelection {
        RestoreTestingSelection {
            plan_name: "rt".into(),
            name: "tables".into(),
            iam_role_arn: "arn:aws:iam::123456789012:role/R".into(),
            protected_resource_type: "DynamoDB".into(),
            protected_resource_arns: vec!["*".into()],
            validation_window_hours: window_hours,
            restore_metadata_overrides: BTreeMap::new(),
            creation_time: DateTime::<Utc>::MIN_UTC,
            creator_request_id: None,
        }
    }

    #[test]
    fn restore_testing_runs_on_schedule_and_cleans_up_after_the_window() {
        let (mut w, now) = world(); // 2024-05-01T12:00Z, a Wednesday
        w.backup.restore_behaviour = RestoreBehaviour {
            pending_seconds: 60,
            running_seconds: 540,
            ..Default::default()
        };
        let plan = testing_plan(&w, "cron(0 5 ? * * *)", now);
        let plan_arn = plan.arn.clone();
        add_restore_testing_plan(&mut w, plan).unwrap();
        add_restore_testing_selection(&mut w, testing_selection(2));

        // Not due yet: nothing happens before 05:00 the next day.
        tick(&mut w, now + Duration::hours(16));
        assert!(w.backup.restore_jobs.is_empty());
        let due = now + Duration::hours(17);
        tick(&mut w, due + Duration::seconds(30));
        assert_eq!(
            w.backup.restore_jobs.len(),
            1,
            "one protected table, one job"
        );
        let job = w.backup.restore_jobs[0].clone();
        assert_eq!(job.creation_date, due);
        assert_eq!(job.status, RestoreStatus::Pending);
        assert_eq!(
            job.restore_testing_plan_arn.as_deref(),
            Some(plan_arn.as_str())
        );
        // The latest COMPLETED recovery point of the table (created `now`).
        assert_eq!(
            w.backup.recovery_points[&job.recovery_point_arn].creation_date,
            now
        );
        assert!(
            job.target_resource_arn
                .contains(":table/awsbackup-restore-test-")
        );
        let json = restore_job_json(&w, &job);
        assert_eq!(
            json["CreatedBy"]["RestoreTestingPlanArn"],
            plan_arn.as_str()
        );
        assert!(json.get("DeletionStatus").is_none());
        assert_eq!(
            w.backup.restore_testing_plans[0].last_execution_time,
            Some(due)
        );
        assert!(restored_resources(&w).is_empty(), "not restored yet");

        // Completed after 10 minutes: the restored table exists.
        tick(&mut w, due + Duration::minutes(10));
        let j = &w.backup.restore_jobs[0];
        assert_eq!(j.status, RestoreStatus::Completed);
        assert_eq!(
            j.deletion_due,
            Some(due + Duration::minutes(10) + Duration::hours(2))
        );
        let r = restored_resources(&w);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].arn, job.target_resource_arn);
        assert_eq!(
            r[0].source_resource_arn.as_deref(),
            Some("arn:aws:dynamodb:us-east-1:123456789012:table/t1")
        );
        assert!(!r[0].deleting);

        // The validation window (2 h) ends: DELETING, then SUCCESSFUL and gone.
        let window_end = due + Duration::minutes(10) + Duration::hours(2);
        tick(&mut w, window_end - Duration::seconds(1));
        assert_eq!(w.backup.restore_jobs[0].deletion_status, None);
        tick(&mut w, window_end);
        assert_eq!(
            w.backup.restore_jobs[0].deletion_status.as_deref(),
            Some("DELETING")
        );
        assert!(restored_resources(&w)[0].deleting);
        tick(
            &mut w,
            window_end + Duration::seconds(RESTORE_TEST_DELETE_SECONDS),
        );
        assert_eq!(
            w.backup.restore_jobs[0].deletion_status.as_deref(),
            Some("SUCCESSFUL")
        );
        assert!(restored_resources(&w).is_empty());
        let json = restore_job_json(&w, &w.backup.restore_jobs[0]);
        assert_eq!(json["DeletionStatus"], "SUCCESSFUL");

        // A three-day jump runs the three missed days, each once, and finishes them all.
        tick(&mut w, due + Duration::days(3) + Duration::hours(1));
        let created: Vec<DateTime<Utc>> = w
            .backup
            .restore_jobs
            .iter()
            .map(|j| j.creation_date)
            .collect();
        assert_eq!(
            created,
            [0, 1, 2, 3].map(|d| due + Duration::days(d)).to_vec()
        );
        assert!(
            w.backup.restore_jobs[1..3]
                .iter()
                .all(|j| j.deletion_status.as_deref() == Some("SUCCESSFUL"))
        );
        // The newest run is still inside its validation window.
        assert_eq!(restored_resources(&w).len(), 1);
        tick(&mut w, due + Duration::days(3) + Duration::hours(1));
        assert_eq!(
            w.backup.restore_jobs.len(),
            4,
            "a tick at the same time fires nothing"
        );
    }

    #[test]
    fn a_final_validation_result_ends_the_window_and_rate_schedules_run() {
        let (mut w, now) = world();
        w.backup.restore_behaviour = RestoreBehaviour {
            pending_seconds: 0,
            running_seconds: 60,
            ..Default::default()
        };
        let mut plan = testing_plan(&w, "rate(6 hours)", now);
        plan.creation_time = now - Duration::hours(1);
        add_restore_testing_plan(&mut w, plan).unwrap();
        add_restore_testing_selection(&mut w, testing_selection(48));
        tick(&mut w, now + Duration::hours(5) + Duration::minutes(2));
        assert_eq!(w.backup.restore_jobs.len(), 1);
        assert_eq!(
            w.backup.restore_jobs[0].creation_date,
            now + Duration::hours(5)
        );
        let id = w.backup.restore_jobs[0].id.clone();
        let later = now + Duration::hours(5) + Duration::minutes(30);
        let ctx = Ctx::internal(&w, later);
        // VALIDATING keeps the resource; SUCCESSFUL starts its deletion at once.
        for (status, deleting) in [("VALIDATING", None), ("SUCCESSFUL", Some("DELETING"))] {
            handle(
                &mut w,
                &ctx,
                "PutRestoreValidationResult",
                &json!({ "RestoreJobId": id, "ValidationStatus": status }),
            )
            .unwrap();
            assert_eq!(
                w.backup.restore_jobs[0].deletion_status.as_deref(),
                deleting
            );
        }
        tick(&mut w, later + Duration::minutes(5));
        assert_eq!(
            w.backup.restore_jobs[0].deletion_status.as_deref(),
            Some("SUCCESSFUL")
        );
        assert!(restored_resources(&w).is_empty());
        // A manual restore's resource stays until someone removes it.
        let rp = w.backup.restore_jobs[0].recovery_point_arn.clone();
        let (_, out) = handle(
            &mut w,
            &ctx,
            "StartRestoreJob",
            &json!({ "RecoveryPointArn": rp, "Metadata": { "targetTableName": "t1-manual" } }),
        )
        .unwrap();
        let manual = out.unwrap()["RestoreJobId"].as_str().unwrap().to_string();
        tick(&mut w, later + Duration::days(2));
        let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t1-manual";
        assert!(restored_resources(&w).iter().any(|r| r.arn == arn));
        assert!(remove_restored_resource(&mut w, arn));
        assert!(!remove_restored_resource(&mut w, arn));
        let j = restore_job(&w, &manual).unwrap();
        assert_eq!(
            j.deletion_status, None,
            "only restore tests delete what they restored"
        );
    }

    #[test]
    fn unknown_schedules_are_refused_when_a_plan_is_added() {
        let (mut w, now) = world();
        let plan = testing_plan(&w, "cron(0 5 L * ? *)", now);
        let e = add_restore_testing_plan(&mut w, plan).unwrap_err();
        assert!(e.to_string().contains("cron(0 5 L * ? *)"), "{e}");
        assert!(w.backup.restore_testing_plans.is_empty());
    }

    #[test]
    fn protected_resources_and_points_by_resource_page() {
        let (mut w, now) = world();
        let ctx = Ctx::internal(&w, now);
        let arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t1";
        let mut seen = Vec::new();
        let mut input = json!({ "ResourceArn": arn, "MaxResults": "2" });
        loop {
            let (_, out) = handle(&mut w, &ctx, "ListRecoveryPointsByResource", &input).unwrap();
            let out = out.unwrap();
            let page = out["RecoveryPoints"].as_array().unwrap();
            assert!(!page.is_empty() && page.len() <= 2);
            for p in page {
                seen.push(p["CreationDate"].as_f64().unwrap());
                assert_eq!(p["BackupVaultName"], "v1");
                assert!(p["BackupSizeBytes"].is_i64());
            }
            match out.get("NextToken") {
                Some(t) => input["NextToken"] = t.clone(),
                None => break,
            }
        }
        assert_eq!(seen.len(), 5);
        assert!(
            seen.windows(2).all(|p| p[0] > p[1]),
            "newest first: {seen:?}"
        );
        let e = handle(
            &mut w,
            &ctx,
            "ListRecoveryPointsByResource",
            &json!({ "ResourceArn": "arn:aws:dynamodb:us-east-1:123456789012:table/none" }),
        )
        .unwrap_err();
        assert_eq!(e.code, "ResourceNotFoundException");

        // A second resource: two protected resources, one per page.
        let mut rp = w.backup.recovery_points.values().next().unwrap().clone();
        rp.arn = "arn:aws:backup:us-east-1:123456789012:recovery-point:s3".into();
        rp.resource_arn = "arn:aws:s3:::b1".into();
        rp.resource_type = "S3".into();
        add_recovery_point(&mut w, rp);
        let (_, out) = handle(
            &mut w,
            &ctx,
            "ListProtectedResources",
            &json!({ "MaxResults": "1" }),
        )
        .unwrap();
        let out = out.unwrap();
        assert_eq!(
            out["Results"][0]["ResourceArn"],
            "arn:aws:dynamodb:us-east-1:123456789012:table/t1"
        );
        assert_eq!(
            out["Results"][0]["LastBackupTime"].as_f64(),
            Some(epoch(now))
        );
        assert_eq!(
            out["Results"][0]["LastBackupVaultArn"],
            "arn:aws:backup:us-east-1:123456789012:backup-vault:v1"
        );
        let (_, out2) = handle(
            &mut w,
            &ctx,
            "ListProtectedResources",
            &json!({ "MaxResults": "1", "NextToken": out["NextToken"] }),
        )
        .unwrap();
        let out2 = out2.unwrap();
        assert_eq!(out2["Results"][0]["ResourceArn"], "arn:aws:s3:::b1");
        assert!(out2.get("NextToken").is_none());
    }

    #[test]
    fn restore_metadata_per_type() {
        let (w, _) = world();
        let rp = w.backup.recovery_points.values().next().unwrap();
        let m = restore_metadata(&w, rp);
        assert_eq!(m["targetTableName"], "t1");
        assert_eq!(m["encryptionType"], "KMS");
        let mut rds = rp.clone();
        rds.resource_type = "RDS".into();
        rds.resource_name = "db1".into();
        let m = restore_metadata(&w, &rds);
        assert_eq!(m["DBInstanceIdentifier"], "db1");
        assert_eq!(m["MultiAZ"], "true");
    }
}
