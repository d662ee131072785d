//! AWS Backup: vaults (lock state), recovery points, backup and restore jobs, plans and restore
//! testing plans.

use super::error::from_sdk;
use super::{Cloud, CloudError, time};
use chrono::{DateTime, Utc};

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

/// Pages a Backup list call to the end: `$call` is a builder expression, `$items` the output
/// accessor and `$map` converts one item.
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
            |j| RestoreJob {
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
            }
        ))
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
