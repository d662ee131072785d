//! AWS Backup: vaults (lock state), recovery points (per vault and per resource), protected
//! resources, backup and restore jobs (with their metadata), plans with their rules, copy
//! actions and selections, and restore testing plans with their selections.

use super::error::from_sdk;
use super::{Cloud, CloudError, time};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupVault {
    pub name: String,
    pub arn: String,
    pub encryption_key: Option<String>,
    pub recovery_points: i64,
    pub locked: bool,
    pub min_retention_days: Option<i64>,
    pub max_retention_days: Option<i64>,
    pub lock_date: Option<DateTime<Utc>>,
    pub created: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryPoint {
    pub arn: String,
    pub vault: String,
    pub resource_arn: String,
    pub resource_type: String,
    pub resource_name: Option<String>,
    pub status: String,
    pub created: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    pub size_bytes: Option<i64>,
    pub encryption_key: Option<String>,
    pub last_restore: Option<DateTime<Utc>>,
    pub delete_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupJob {
    pub id: String,
    pub vault: String,
    pub resource_arn: String,
    pub resource_type: String,
    pub state: String,
    pub status_message: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    pub size_bytes: Option<i64>,
    pub recovery_point_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreJob {
    pub id: String,
    pub recovery_point_arn: String,
    pub resource_type: String,
    pub status: String,
    pub status_message: Option<String>,
    pub percent_done: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
    pub created_resource_arn: Option<String>,
    pub validation_status: Option<String>,
    pub restore_testing_plan: Option<String>,
    /// Restore tests: `DELETING`, `SUCCESSFUL` or `FAILED` for the restored resource.
    pub deletion_status: Option<String>,
}

impl RestoreJob {
    pub fn duration(&self) -> Option<chrono::Duration> {
        Some(self.completed? - self.created?)
    }
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "COMPLETED" | "FAILED" | "ABORTED")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPlan {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub last_execution: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestingPlan {
    pub arn: String,
    pub name: String,
    pub schedule: String,
    pub last_execution: Option<DateTime<Utc>>,
}

/// What GetRecoveryPointRestoreMetadata answers: the resource type and the metadata AWS
/// proposes for a restore (it names the source resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreMetadata {
    pub resource_type: String,
    pub metadata: BTreeMap<String, String>,
}

/// A recovery point of one resource (ListRecoveryPointsByResource), in any vault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRecoveryPoint {
    pub arn: String,
    pub vault: String,
    pub status: String,
    pub created: Option<DateTime<Utc>>,
    pub size_bytes: Option<i64>,
    pub encryption_key: Option<String>,
    pub resource_name: Option<String>,
}

/// A resource AWS Backup has backed up at least once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedResource {
    pub arn: String,
    pub resource_type: String,
    pub name: Option<String>,
    pub last_backup: Option<DateTime<Utc>>,
    pub last_vault_arn: Option<String>,
    pub last_recovery_point_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    pub delete_after_days: Option<i64>,
    pub move_to_cold_storage_after_days: Option<i64>,
}

/// Where a rule copies each recovery point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyAction {
    pub destination_vault_arn: String,
    pub lifecycle: Option<Lifecycle>,
}

impl CopyAction {
    /// The destination vault's region (from its ARN), if the ARN has one.
    pub fn destination_region(&self) -> Option<&str> {
        self.destination_vault_arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupRule {
    pub name: String,
    pub id: Option<String>,
    pub target_vault: String,
    pub schedule: Option<String>,
    pub schedule_timezone: Option<String>,
    pub start_window_minutes: Option<i64>,
    pub completion_window_minutes: Option<i64>,
    pub lifecycle: Option<Lifecycle>,
    pub copy_actions: Vec<CopyAction>,
}

/// A backup plan with its rules (GetBackupPlan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupPlanDetail {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub created: Option<DateTime<Utc>>,
    pub last_execution: Option<DateTime<Utc>>,
    pub rules: Vec<BackupRule>,
}

impl BackupPlanDetail {
    /// Whether some rule copies its recovery points to a vault outside `home_region`.
    pub fn copies_to_another_region(&self, home_region: &str) -> bool {
        self.rules
            .iter()
            .flat_map(|r| &r.copy_actions)
            .any(|c| c.destination_region().is_some_and(|r| r != home_region))
    }
}

/// One entry of ListBackupSelections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSelectionSummary {
    pub id: String,
    pub name: String,
    pub plan_id: String,
    pub iam_role_arn: Option<String>,
    pub created: Option<DateTime<Utc>>,
}

/// A tag condition of a backup selection (`STRINGEQUALS` key = value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCondition {
    pub condition: String,
    pub key: String,
    pub value: String,
}

/// A backup selection in full (GetBackupSelection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSelection {
    pub id: String,
    pub plan_id: String,
    pub name: String,
    pub iam_role_arn: String,
    pub resources: Vec<String>,
    pub not_resources: Vec<String>,
    pub tags: Vec<TagCondition>,
    pub created: Option<DateTime<Utc>>,
}

/// A restore testing plan in full (GetRestoreTestingPlan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestingPlanDetail {
    pub arn: String,
    pub name: String,
    pub schedule: String,
    pub schedule_timezone: Option<String>,
    pub start_window_hours: i32,
    pub last_execution: Option<DateTime<Utc>>,
    /// RecoveryPointSelection: the algorithm, the vaults and the window in days.
    pub algorithm: Option<String>,
    pub include_vaults: Vec<String>,
    pub selection_window_days: i32,
}

/// A restore testing selection: the resources a restore testing plan restores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreTestingSelection {
    pub plan_name: String,
    pub name: String,
    pub resource_type: String,
    pub iam_role_arn: String,
    pub validation_window_hours: i32,
    pub created: Option<DateTime<Utc>>,
    /// Only from GetRestoreTestingSelection (empty in lists).
    pub protected_resource_arns: Vec<String>,
}

/// A restore testing plan to create (CreateRestoreTestingPlan): LATEST_WITHIN_WINDOW
/// snapshots, the schedule in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRestoreTestingPlan {
    pub name: String,
    pub schedule: String,
    pub start_window_hours: i32,
    pub include_vaults: Vec<String>,
    pub selection_window_days: i32,
    pub creator_request_id: Option<String>,
}

/// A restore testing selection to create (CreateRestoreTestingSelection) for specific
/// resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRestoreTestingSelection {
    pub plan_name: String,
    pub name: String,
    pub resource_type: String,
    pub iam_role_arn: String,
    pub protected_resource_arns: Vec<String>,
    pub metadata_overrides: BTreeMap<String, String>,
    pub validation_window_hours: i32,
    pub creator_request_id: Option<String>,
}

/// Pages a Backup list call to the end: `$call` is a builder expression, `$items` the output
/// accessor and `$map` converts one item.
/// A restore job as ListRestoreJobs lists it.
fn restore_job_of(j: &aws_sdk_backup::types::RestoreJobsListMember) -> RestoreJob {
    RestoreJob {
        id: j.restore_job_id().unwrap_or_default().to_string(),
        recovery_point_arn: j.recovery_point_arn().unwrap_or_default().to_string(),
        resource_type: j.resource_type().unwrap_or_default().to_string(),
        status: j
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        status_message: j.status_message().map(str::to_string),
        percent_done: j.percent_done().map(str::to_string),
        created: time(j.creation_date()),
        completed: time(j.completion_date()),
        created_resource_arn: j.created_resource_arn().map(str::to_string),
        validation_status: j.validation_status().map(|s| s.as_str().to_string()),
        restore_testing_plan: j
            .created_by()
            .and_then(|c| c.restore_testing_plan_arn())
            .map(str::to_string),
        deletion_status: j.deletion_status().map(|s| s.as_str().to_string()),
    }
}

macro_rules! all_pages {
    ($op:literal, $what:expr, $call:expr, $items:ident, $map:expr) => {{
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = $call
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| from_sdk($op, $what, e))?;
            out.extend(page.$items().iter().map($map));
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out
    }};
}

impl Cloud {
    pub async fn list_backup_vaults(&self) -> Result<Vec<BackupVault>, CloudError> {
        self.alive()?;
        Ok(all_pages!(
            "ListBackupVaults",
            "backup vaults",
            self.backup.list_backup_vaults(),
            backup_vault_list,
            |v| BackupVault {
                name: v.backup_vault_name().unwrap_or_default().to_string(),
                arn: v.backup_vault_arn().unwrap_or_default().to_string(),
                encryption_key: v.encryption_key_arn().map(str::to_string),
                recovery_points: v.number_of_recovery_points(),
                locked: v.locked().unwrap_or(false),
                min_retention_days: v.min_retention_days(),
                max_retention_days: v.max_retention_days(),
                lock_date: time(v.lock_date()),
                created: time(v.creation_date()),
            }
        ))
    }

    pub async fn list_recovery_points(
        &self,
        vault: &str,
    ) -> Result<Vec<RecoveryPoint>, CloudError> {
        self.alive()?;
        let what = format!("backup vault {vault}");
        Ok(all_pages!(
            "ListRecoveryPointsByBackupVault",
            &what,
            self.backup
                .list_recovery_points_by_backup_vault()
                .backup_vault_name(vault),
            recovery_points,
            |r| RecoveryPoint {
                arn: r.recovery_point_arn().unwrap_or_default().to_string(),
                vault: r.backup_vault_name().unwrap_or_default().to_string(),
                resource_arn: r.resource_arn().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                resource_name: r.resource_name().map(str::to_string),
                status: r
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                created: time(r.creation_date()),
                completed: time(r.completion_date()),
                size_bytes: r.backup_size_in_bytes(),
                encryption_key: r.encryption_key_arn().map(str::to_string),
                last_restore: time(r.last_restore_time()),
                delete_at: r.calculated_lifecycle().and_then(|c| time(c.delete_at())),
            }
        ))
    }

    /// Recovery points of every vault, with per-vault calls with bounded concurrency.
    pub async fn list_all_recovery_points(&self) -> Result<Vec<RecoveryPoint>, CloudError> {
        let vaults = self.list_backup_vaults().await?;
        let me = self.clone();
        let per_vault = self
            .bounded(vaults.into_iter().map(|v| v.name).collect(), move |name| {
                let me = me.clone();
                async move { me.list_recovery_points(&name).await }
            })
            .await?;
        Ok(per_vault.into_iter().flatten().collect())
    }

    pub async fn list_backup_jobs(&self) -> Result<Vec<BackupJob>, CloudError> {
        self.alive()?;
        Ok(all_pages!(
            "ListBackupJobs",
            "backup jobs",
            self.backup.list_backup_jobs(),
            backup_jobs,
            |j| BackupJob {
                id: j.backup_job_id().unwrap_or_default().to_string(),
                vault: j.backup_vault_name().unwrap_or_default().to_string(),
                resource_arn: j.resource_arn().unwrap_or_default().to_string(),
                resource_type: j.resource_type().unwrap_or_default().to_string(),
                state: j
                    .state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                status_message: j.status_message().map(str::to_string),
                created: time(j.creation_date()),
                completed: time(j.completion_date()),
                size_bytes: j.backup_size_in_bytes(),
                recovery_point_arn: j.recovery_point_arn().map(str::to_string),
            }
        ))
    }

    pub async fn list_restore_jobs(&self) -> Result<Vec<RestoreJob>, CloudError> {
        self.alive()?;
        Ok(all_pages!(
            "ListRestoreJobs",
            "restore jobs",
            self.backup.list_restore_jobs(),
            restore_jobs,
            restore_job_of
        ))
    }

    pub async fn describe_restore_job(&self, id: &str) -> Result<RestoreJob, CloudError> {
        self.alive()?;
        let j = self
            .backup
            .describe_restore_job()
            .restore_job_id(id)
            .send()
            .await
            .map_err(|e| from_sdk("DescribeRestoreJob", &format!("restore job {id}"), e))?;
        Ok(RestoreJob {
            id: j.restore_job_id().unwrap_or(id).to_string(),
            recovery_point_arn: j.recovery_point_arn().unwrap_or_default().to_string(),
            resource_type: j.resource_type().unwrap_or_default().to_string(),
            status: j
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            status_message: j.status_message().map(str::to_string),
            percent_done: j.percent_done().map(str::to_string),
            created: time(j.creation_date()),
            completed: time(j.completion_date()),
            created_resource_arn: j.created_resource_arn().map(str::to_string),
            validation_status: j.validation_status().map(|s| s.as_str().to_string()),
            restore_testing_plan: j
                .created_by()
                .and_then(|c| c.restore_testing_plan_arn())
                .map(str::to_string),
            deletion_status: j.deletion_status().map(|s| s.as_str().to_string()),
        })
    }

    /// The metadata a restore of a recovery point needs (GetRecoveryPointRestoreMetadata):
    /// the resource type and the metadata map AWS proposes (it names the source).
    pub async fn recovery_point_restore_metadata(
        &self,
        vault: &str,
        recovery_point_arn: &str,
    ) -> Result<RestoreMetadata, CloudError> {
        self.alive()?;
        let out = self
            .backup
            .get_recovery_point_restore_metadata()
            .backup_vault_name(vault)
            .recovery_point_arn(recovery_point_arn)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "GetRecoveryPointRestoreMetadata",
                    &format!("recovery point {recovery_point_arn}"),
                    e,
                )
            })?;
        Ok(RestoreMetadata {
            resource_type: out.resource_type().unwrap_or_default().to_string(),
            metadata: out
                .restore_metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    /// Starts a restore job (StartRestoreJob); returns its id and the request id.
    pub async fn start_restore_job(
        &self,
        recovery_point_arn: &str,
        metadata: &BTreeMap<String, String>,
        iam_role_arn: &str,
        resource_type: Option<&str>,
        idempotency_token: Option<&str>,
    ) -> Result<(String, String), CloudError> {
        use aws_types::request_id::RequestId;
        self.alive()?;
        let out = self
            .backup
            .start_restore_job()
            .recovery_point_arn(recovery_point_arn)
            .set_metadata(Some(metadata.clone().into_iter().collect()))
            .iam_role_arn(iam_role_arn)
            .set_resource_type(resource_type.map(str::to_string))
            .set_idempotency_token(idempotency_token.map(str::to_string))
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "StartRestoreJob",
                    &format!("recovery point {recovery_point_arn}"),
                    e,
                )
            })?;
        Ok((
            out.restore_job_id().unwrap_or_default().to_string(),
            out.request_id().unwrap_or_default().to_string(),
        ))
    }

    /// Sends a restore job's validation result (PutRestoreValidationResult); returns the
    /// request id.
    pub async fn put_restore_validation_result(
        &self,
        restore_job_id: &str,
        status: &str,
        message: Option<&str>,
    ) -> Result<String, CloudError> {
        use aws_types::request_id::RequestId;
        self.alive()?;
        let out = self
            .backup
            .put_restore_validation_result()
            .restore_job_id(restore_job_id)
            .validation_status(aws_sdk_backup::types::RestoreValidationStatus::from(status))
            .set_validation_status_message(message.map(str::to_string))
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "PutRestoreValidationResult",
                    &format!("restore job {restore_job_id}"),
                    e,
                )
            })?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }

    /// The metadata a restore job ran with (GetRestoreJobMetadata).
    pub async fn restore_job_metadata(
        &self,
        id: &str,
    ) -> Result<BTreeMap<String, String>, CloudError> {
        self.alive()?;
        let out = self
            .backup
            .get_restore_job_metadata()
            .restore_job_id(id)
            .send()
            .await
            .map_err(|e| from_sdk("GetRestoreJobMetadata", &format!("restore job {id}"), e))?;
        Ok(out
            .metadata()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }

    /// Every recovery point of one resource, in any vault, newest first.
    pub async fn list_recovery_points_by_resource(
        &self,
        resource_arn: &str,
    ) -> Result<Vec<ResourceRecoveryPoint>, CloudError> {
        self.alive()?;
        let items = self
            .backup
            .list_recovery_points_by_resource()
            .resource_arn(resource_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                from_sdk(
                    "ListRecoveryPointsByResource",
                    &format!("resource {resource_arn}"),
                    e,
                )
            })?;
        Ok(items
            .iter()
            .map(|r| ResourceRecoveryPoint {
                arn: r.recovery_point_arn().unwrap_or_default().to_string(),
                vault: r.backup_vault_name().unwrap_or_default().to_string(),
                status: r
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                created: time(r.creation_date()),
                size_bytes: r.backup_size_bytes(),
                encryption_key: r.encryption_key_arn().map(str::to_string),
                resource_name: r.resource_name().map(str::to_string),
            })
            .collect())
    }

    pub async fn list_protected_resources(&self) -> Result<Vec<ProtectedResource>, CloudError> {
        self.alive()?;
        let items = self
            .backup
            .list_protected_resources()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| from_sdk("ListProtectedResources", "protected resources", e))?;
        Ok(items
            .iter()
            .map(|r| ProtectedResource {
                arn: r.resource_arn().unwrap_or_default().to_string(),
                resource_type: r.resource_type().unwrap_or_default().to_string(),
                name: r.resource_name().map(str::to_string),
                last_backup: time(r.last_backup_time()),
                last_vault_arn: r.last_backup_vault_arn().map(str::to_string),
                last_recovery_point_arn: r.last_recovery_point_arn().map(str::to_string),
            })
            .collect())
    }

    /// A backup plan with its rules and copy actions (the current version, or `version_id`).
    pub async fn get_backup_plan(
        &self,
        plan_id: &str,
        version_id: Option<&str>,
    ) -> Result<BackupPlanDetail, CloudError> {
        self.alive()?;
        let out = self
            .backup
            .get_backup_plan()
            .backup_plan_id(plan_id)
            .set_version_id(version_id.map(str::to_string))
            .send()
            .await
            .map_err(|e| from_sdk("GetBackupPlan", &format!("backup plan {plan_id}"), e))?;
        let lifecycle = |l: Option<&aws_sdk_backup::types::Lifecycle>| {
            l.map(|l| Lifecycle {
                delete_after_days: l.delete_after_days(),
                move_to_cold_storage_after_days: l.move_to_cold_storage_after_days(),
            })
        };
        let (name, rules) = match out.backup_plan() {
            Some(p) => (
                p.backup_plan_name().to_string(),
                p.rules()
                    .iter()
                    .map(|r| BackupRule {
                        name: r.rule_name().to_string(),
                        id: r.rule_id().map(str::to_string),
                        target_vault: r.target_backup_vault_name().to_string(),
                        schedule: r.schedule_expression().map(str::to_string),
                        schedule_timezone: r.schedule_expression_timezone().map(str::to_string),
                        start_window_minutes: r.start_window_minutes(),
                        completion_window_minutes: r.completion_window_minutes(),
                        lifecycle: lifecycle(r.lifecycle()),
                        copy_actions: r
                            .copy_actions()
                            .iter()
                            .map(|c| CopyAction {
                                destination_vault_arn: c.destination_backup_vault_arn().to_string(),
                                lifecycle: lifecycle(c.lifecycle()),
                            })
                            .collect(),
                    })
                    .collect(),
            ),
            None => (String::new(), Vec::new()),
        };
        Ok(BackupPlanDetail {
            id: out.backup_plan_id().unwrap_or(plan_id).to_string(),
            arn: out.backup_plan_arn().unwrap_or_default().to_string(),
            name,
            version_id: out.version_id().unwrap_or_default().to_string(),
            created: time(out.creation_date()),
            last_execution: time(out.last_execution_date()),
            rules,
        })
    }

    pub async fn list_backup_selections(
        &self,
        plan_id: &str,
    ) -> Result<Vec<BackupSelectionSummary>, CloudError> {
        self.alive()?;
        let items = self
            .backup
            .list_backup_selections()
            .backup_plan_id(plan_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| from_sdk("ListBackupSelections", &format!("backup plan {plan_id}"), e))?;
        Ok(items
            .iter()
            .map(|s| BackupSelectionSummary {
                id: s.selection_id().unwrap_or_default().to_string(),
                name: s.selection_name().unwrap_or_default().to_string(),
                plan_id: s.backup_plan_id().unwrap_or(plan_id).to_string(),
                iam_role_arn: s.iam_role_arn().map(str::to_string),
                created: time(s.creation_date()),
            })
            .collect())
    }

    pub async fn get_backup_selection(
        &self,
        plan_id: &str,
        selection_id: &str,
    ) -> Result<BackupSelection, CloudError> {
        self.alive()?;
        let out = self
            .backup
            .get_backup_selection()
            .backup_plan_id(plan_id)
            .selection_id(selection_id)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "GetBackupSelection",
                    &format!("backup selection {selection_id} of backup plan {plan_id}"),
                    e,
                )
            })?;
        let sel = out.backup_selection();
        Ok(BackupSelection {
            id: out.selection_id().unwrap_or(selection_id).to_string(),
            plan_id: out.backup_plan_id().unwrap_or(plan_id).to_string(),
            name: sel
                .map(|s| s.selection_name().to_string())
                .unwrap_or_default(),
            iam_role_arn: sel
                .map(|s| s.iam_role_arn().to_string())
                .unwrap_or_default(),
            resources: sel.map(|s| s.resources().to_vec()).unwrap_or_default(),
            not_resources: sel.map(|s| s.not_resources().to_vec()).unwrap_or_default(),
            tags: sel
                .map(|s| {
                    s.list_of_tags()
                        .iter()
                        .map(|c| TagCondition {
                            condition: c.condition_type().as_str().to_string(),
                            key: c.condition_key().to_string(),
                            value: c.condition_value().to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            created: time(out.creation_date()),
        })
    }

    pub async fn get_restore_testing_plan(
        &self,
        name: &str,
    ) -> Result<RestoreTestingPlanDetail, CloudError> {
        self.alive()?;
        let out = self
            .backup
            .get_restore_testing_plan()
            .restore_testing_plan_name(name)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "GetRestoreTestingPlan",
                    &format!("restore testing plan {name}"),
                    e,
                )
            })?;
        let p = out
            .restore_testing_plan()
            .ok_or_else(|| CloudError::Service {
                operation: "GetRestoreTestingPlan".into(),
                code: "MissingRestoreTestingPlan".into(),
                message: format!(
                    "the answer for restore testing plan {name} had no plan; check the endpoint"
                ),
                request_id: None,
            })?;
        let sel = p.recovery_point_selection();
        Ok(RestoreTestingPlanDetail {
            arn: p.restore_testing_plan_arn().to_string(),
            name: p.restore_testing_plan_name().to_string(),
            schedule: p.schedule_expression().to_string(),
            schedule_timezone: p.schedule_expression_timezone().map(str::to_string),
            start_window_hours: p.start_window_hours(),
            last_execution: time(p.last_execution_time()),
            algorithm: sel
                .and_then(|s| s.algorithm())
                .map(|a| a.as_str().to_string()),
            include_vaults: sel.map(|s| s.include_vaults().to_vec()).unwrap_or_default(),
            selection_window_days: sel.map(|s| s.selection_window_days()).unwrap_or_default(),
        })
    }

    pub async fn list_restore_testing_selections(
        &self,
        plan_name: &str,
    ) -> Result<Vec<RestoreTestingSelection>, CloudError> {
        self.alive()?;
        let items = self
            .backup
            .list_restore_testing_selections()
            .restore_testing_plan_name(plan_name)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                from_sdk(
                    "ListRestoreTestingSelections",
                    &format!("restore testing plan {plan_name}"),
                    e,
                )
            })?;
        Ok(items
            .iter()
            .map(|s| RestoreTestingSelection {
                plan_name: s.restore_testing_plan_name().to_string(),
                name: s.restore_testing_selection_name().to_string(),
                resource_type: s.protected_resource_type().to_string(),
                iam_role_arn: s.iam_role_arn().to_string(),
                validation_window_hours: s.validation_window_hours(),
                created: time(Some(s.creation_time())),
                protected_resource_arns: Vec::new(),
            })
            .collect())
    }

    pub async fn get_restore_testing_selection(
        &self,
        plan_name: &str,
        selection_name: &str,
    ) -> Result<RestoreTestingSelection, CloudError> {
        self.alive()?;
        let out = self
            .backup
            .get_restore_testing_selection()
            .restore_testing_plan_name(plan_name)
            .restore_testing_selection_name(selection_name)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "GetRestoreTestingSelection",
                    &format!("restore testing selection {selection_name} of plan {plan_name}"),
                    e,
                )
            })?;
        let s = out.restore_testing_selection().ok_or_else(|| CloudError::Service {
            operation: "GetRestoreTestingSelection".into(),
            code: "MissingRestoreTestingSelection".into(),
            message: format!(
                "the answer for restore testing selection {selection_name} of plan {plan_name} had no selection; check the endpoint"
            ),
            request_id: None,
        })?;
        Ok(RestoreTestingSelection {
            plan_name: s.restore_testing_plan_name().to_string(),
            name: s.restore_testing_selection_name().to_string(),
            resource_type: s.protected_resource_type().to_string(),
            iam_role_arn: s.iam_role_arn().to_string(),
            validation_window_hours: s.validation_window_hours(),
            created: time(Some(s.creation_time())),
            protected_resource_arns: s.protected_resource_arns().to_vec(),
        })
    }

    /// Creates a restore testing plan (CreateRestoreTestingPlan) that picks the latest
    /// snapshot within `selection_window_days` in `vaults`; returns its ARN and the request id.
    pub async fn create_restore_testing_plan(
        &self,
        plan: &NewRestoreTestingPlan,
    ) -> Result<(String, String), CloudError> {
        use aws_sdk_backup::types::{
            RestoreTestingPlanForCreate, RestoreTestingRecoveryPointSelection,
            RestoreTestingRecoveryPointSelectionAlgorithm, RestoreTestingRecoveryPointType,
        };
        use aws_types::request_id::RequestId;
        self.alive()?;
        let what = format!("restore testing plan {}", plan.name);
        let invalid = |e: aws_sdk_backup::error::BuildError| CloudError::Service {
            operation: "CreateRestoreTestingPlan".into(),
            code: "InvalidRequest".into(),
            message: format!("the request for {what} is incomplete: {e}"),
            request_id: None,
        };
        let selection = RestoreTestingRecoveryPointSelection::builder()
            .algorithm(RestoreTestingRecoveryPointSelectionAlgorithm::LatestWithinWindow)
            .set_include_vaults(Some(plan.include_vaults.clone()))
            .recovery_point_types(RestoreTestingRecoveryPointType::Snapshot)
            .selection_window_days(plan.selection_window_days)
            .build();
        let body = RestoreTestingPlanForCreate::builder()
            .restore_testing_plan_name(&plan.name)
            .schedule_expression(&plan.schedule)
            .schedule_expression_timezone("Etc/UTC")
            .start_window_hours(plan.start_window_hours)
            .recovery_point_selection(selection)
            .build()
            .map_err(invalid)?;
        let out = self
            .backup
            .create_restore_testing_plan()
            .restore_testing_plan(body)
            .set_creator_request_id(plan.creator_request_id.clone())
            .send()
            .await
            .map_err(|e| from_sdk("CreateRestoreTestingPlan", &what, e))?;
        Ok((
            out.restore_testing_plan_arn().to_string(),
            out.request_id().unwrap_or_default().to_string(),
        ))
    }

    /// Adds a selection of specific resources to a restore testing plan
    /// (CreateRestoreTestingSelection); returns the request id.
    pub async fn create_restore_testing_selection(
        &self,
        sel: &NewRestoreTestingSelection,
    ) -> Result<String, CloudError> {
        use aws_sdk_backup::types::RestoreTestingSelectionForCreate;
        use aws_types::request_id::RequestId;
        self.alive()?;
        let what = format!(
            "restore testing selection {} of plan {}",
            sel.name, sel.plan_name
        );
        let body = RestoreTestingSelectionForCreate::builder()
            .restore_testing_selection_name(&sel.name)
            .protected_resource_type(&sel.resource_type)
            .iam_role_arn(&sel.iam_role_arn)
            .set_protected_resource_arns(Some(sel.protected_resource_arns.clone()))
            .set_restore_metadata_overrides(
                (!sel.metadata_overrides.is_empty())
                    .then(|| sel.metadata_overrides.clone().into_iter().collect()),
            )
            .validation_window_hours(sel.validation_window_hours)
            .build()
            .map_err(|e| CloudError::Service {
                operation: "CreateRestoreTestingSelection".into(),
                code: "InvalidRequest".into(),
                message: format!("the request for {what} is incomplete: {e}"),
                request_id: None,
            })?;
        let out = self
            .backup
            .create_restore_testing_selection()
            .restore_testing_plan_name(&sel.plan_name)
            .restore_testing_selection(body)
            .set_creator_request_id(sel.creator_request_id.clone())
            .send()
            .await
            .map_err(|e| from_sdk("CreateRestoreTestingSelection", &what, e))?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }

    /// Deletes a restore testing selection (DeleteRestoreTestingSelection); returns the
    /// request id.
    pub async fn delete_restore_testing_selection(
        &self,
        plan_name: &str,
        selection_name: &str,
    ) -> Result<String, CloudError> {
        use aws_types::request_id::RequestId;
        self.alive()?;
        let out = self
            .backup
            .delete_restore_testing_selection()
            .restore_testing_plan_name(plan_name)
            .restore_testing_selection_name(selection_name)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "DeleteRestoreTestingSelection",
                    &format!("restore testing selection {selection_name} of plan {plan_name}"),
                    e,
                )
            })?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }

    /// Deletes a restore testing plan without selections (DeleteRestoreTestingPlan); returns
    /// the request id.
    pub async fn delete_restore_testing_plan(&self, name: &str) -> Result<String, CloudError> {
        use aws_types::request_id::RequestId;
        self.alive()?;
        let out = self
            .backup
            .delete_restore_testing_plan()
            .restore_testing_plan_name(name)
            .send()
            .await
            .map_err(|e| {
                from_sdk(
                    "DeleteRestoreTestingPlan",
                    &format!("restore testing plan {name}"),
                    e,
                )
            })?;
        Ok(out.request_id().unwrap_or_default().to_string())
    }

    /// The restore jobs a restore testing plan created (ListRestoreJobs
    /// ByRestoreTestingPlanArn), oldest first.
    pub async fn list_restore_jobs_of_plan(
        &self,
        plan_arn: &str,
    ) -> Result<Vec<RestoreJob>, CloudError> {
        self.alive()?;
        let mut jobs = all_pages!(
            "ListRestoreJobs",
            "restore jobs",
            self.backup
                .list_restore_jobs()
                .by_restore_testing_plan_arn(plan_arn),
            restore_jobs,
            restore_job_of
        );
        jobs.sort_by_key(|j| j.created);
        Ok(jobs)
    }

    pub async fn list_backup_plans(&self) -> Result<Vec<BackupPlan>, CloudError> {
        self.alive()?;
        Ok(all_pages!(
            "ListBackupPlans",
            "backup plans",
            self.backup.list_backup_plans(),
            backup_plans_list,
            |p| BackupPlan {
                id: p.backup_plan_id().unwrap_or_default().to_string(),
                arn: p.backup_plan_arn().unwrap_or_default().to_string(),
                name: p.backup_plan_name().unwrap_or_default().to_string(),
                last_execution: time(p.last_execution_date()),
            }
        ))
    }

    pub async fn list_restore_testing_plans(&self) -> Result<Vec<RestoreTestingPlan>, CloudError> {
        self.alive()?;
        Ok(all_pages!(
            "ListRestoreTestingPlans",
            "restore testing plans",
            self.backup.list_restore_testing_plans(),
            restore_testing_plans,
            |p| RestoreTestingPlan {
                arn: p.restore_testing_plan_arn().to_string(),
                name: p.restore_testing_plan_name().to_string(),
                schedule: p.schedule_expression().to_string(),
                last_execution: time(p.last_execution_time()),
            }
        ))
    }
}
