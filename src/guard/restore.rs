//! Restore tests (docs/DR-DRILLS.md): three guarded actions.
//!
//! - `backup.start_restore_job` (long-running): restores a recovery point — named by its ARN,
//!   or "the newest COMPLETED one" of a resource ARN (ListRecoveryPointsByResource) — into a
//!   NEW resource named `<source>-drill-<yyyymmdd-hhmm>`. The planner reads
//!   GetRecoveryPointRestoreMetadata, overrides the key that names the target (DynamoDB
//!   `targetTableName`, RDS `DBInstanceIdentifier`, S3 `DestinationBucketName`), and refuses
//!   when the name would be the source's or the profile has no `restore_role_arn`. The call
//!   returns a [`Handle`] (a restore job) that [`super::watch`] follows with DescribeRestoreJob.
//! - `backup.put_restore_validation_result`: sends a COMPLETED restore job's validation result.
//! - `local.run_cleanup_command`: runs the configured cleanup command on the resource a
//!   COMPLETED restore job created (the console adds no other service's SDK), and nothing
//!   else: the target must be the job's `CreatedResourceArn`.
//!
//! The pure parts ([`drill_name`], [`overrides`], [`checks`], [`run_command`]) are tested
//! without AWS.

use super::action::{ActionSpec, CallFuture, Called, Handle, HandleKind, ParamKind, ParamSpec};
use super::{Check, Fact, GuardError, Operation, Plan, Policy, Refusal, Request, Target};
use crate::cloud::backup::{RecoveryPoint, RestoreMetadata};
use crate::cloud::{Cloud, CloudError};
use crate::session::Session;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

/// The IAM role AWS Backup restores as (the profile's `restore_role_arn`).
pub const ROLE: ParamSpec = ParamSpec {
    name: "iam_role_arn",
    label: "restore role",
    kind: ParamKind::Text { max_chars: 2048 },
    default: Some(""),
    help: "the IAM role AWS Backup restores as (set restore_role_arn in the profile's settings)",
};
/// The vault of the recovery point (empty: searched).
pub const VAULT: ParamSpec = ParamSpec {
    name: "vault",
    label: "vault",
    kind: ParamKind::Text { max_chars: 50 },
    default: Some(""),
    help: "the backup vault of the recovery point (empty: every vault is searched)",
};
/// The name of the new resource (empty: `<source>-drill-<yyyymmdd-hhmm>`).
pub const TARGET_NAME: ParamSpec = ParamSpec {
    name: "target_name",
    label: "target name",
    kind: ParamKind::Text { max_chars: 255 },
    default: Some(""),
    help: "the name of the NEW resource (empty: <source>-drill-<yyyymmdd-hhmm>); never the source's",
};
/// How long the restored copy is kept before it is cleaned up (shown in the plan).
pub const KEEP_HOURS: ParamSpec = ParamSpec {
    name: "keep_hours",
    label: "keep time",
    kind: ParamKind::Number {
        min: 1,
        max: 168,
        unit: " hours",
    },
    default: Some("24"),
    help: "hours the restored copy may exist before it is cleaned up, 1 to 168 (empty: 24)",
};
/// StartRestoreJob's IdempotencyToken (a drill's resume never starts a second job).
pub const TOKEN: ParamSpec = ParamSpec {
    name: "idempotency_token",
    label: "idempotency token",
    kind: ParamKind::Text { max_chars: 64 },
    default: Some(""),
    help: "StartRestoreJob's IdempotencyToken (empty: none)",
};

/// `backup:StartRestoreJob` into a new, clearly named resource.
pub static START_RESTORE: ActionSpec = ActionSpec {
    id: "backup.start_restore_job",
    api_action: "backup:StartRestoreJob",
    title: "restore a recovery point into a NEW resource (a restore test)",
    target: "a recovery point ARN, or a resource ARN (its newest COMPLETED recovery point)",
    params: &[ROLE, VAULT, TARGET_NAME, KEEP_HOURS, TOKEN],
    long_running: true,
    check_target: check_arn,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan_restore(s, p, r)),
    call: call_start,
};

/// The status that runs the check command and sends what its exit says (see [`CHECK_COMMAND`]).
pub const CHECK: &str = "CHECK";

/// The validation result sent (`SUCCESSFUL`, `FAILED`, `TIMED_OUT`, `VALIDATING`), or
/// [`CHECK`]: run the check command and send `SUCCESSFUL` (exit 0), `FAILED` (any other exit)
/// or `TIMED_OUT` (stopped at the time limit).
pub const VALIDATION_STATUS: ParamSpec = ParamSpec {
    name: "validation_status",
    label: "validation status",
    kind: ParamKind::Choice(&["SUCCESSFUL", "FAILED", "TIMED_OUT", "VALIDATING", CHECK]),
    default: None,
    help: "SUCCESSFUL, FAILED, TIMED_OUT or VALIDATING; CHECK runs the check command and sends its result",
};
/// One line for AWS's ValidationStatusMessage (no PHI: codes and words).
pub const VALIDATION_MESSAGE: ParamSpec = ParamSpec {
    name: "validation_message",
    label: "validation message",
    kind: ParamKind::Text { max_chars: 256 },
    default: Some(""),
    help: "one line for ValidationStatusMessage (no PHI)",
};

/// The check command (argv) that status [`CHECK`] runs: the profile's `restore_check_command`
/// when the form leaves it empty (the console's runner fills it in, [`with_settings`]).
pub const CHECK_COMMAND: ParamSpec = ParamSpec {
    name: "check_command",
    label: "check command",
    kind: ParamKind::List {
        max_items: 32,
        item_max_chars: 1024,
    },
    default: Some(""),
    help: "with status CHECK: the program and its arguments (empty: the profile's restore_check_command)",
};

/// `backup:PutRestoreValidationResult` of a COMPLETED restore job (with status [`CHECK`]: the
/// check command runs first, and its exit decides the status sent).
pub static PUT_VALIDATION: ActionSpec = ActionSpec {
    id: "backup.put_restore_validation_result",
    api_action: "backup:PutRestoreValidationResult",
    title: "send a restore job's validation result",
    target: "a restore job id",
    params: &[
        VALIDATION_STATUS,
        VALIDATION_MESSAGE,
        CHECK_COMMAND,
        TIMEOUT,
    ],
    long_running: false,
    check_target: check_job_id,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan_validation(s, p, r)),
    call: call_validation,
};

/// The cleanup command (argv; the profile's `restore_cleanup_command` or the runbook's).
pub const COMMAND: ParamSpec = ParamSpec {
    name: "command",
    label: "cleanup command",
    kind: ParamKind::List {
        max_items: 32,
        item_max_chars: 1024,
    },
    default: Some(""),
    help: "the program and its arguments (set restore_cleanup_command in the profile's settings)",
};
/// The restore job whose created resource is removed.
pub const JOB: ParamSpec = ParamSpec {
    name: "restore_job_id",
    label: "restore job",
    kind: ParamKind::Text { max_chars: 100 },
    default: None,
    help: "the restore job that created the resource",
};
/// The command's time limit.
pub const TIMEOUT: ParamSpec = ParamSpec {
    name: "timeout_seconds",
    label: "timeout",
    kind: ParamKind::Number {
        min: 1,
        max: 3600,
        unit: " seconds",
    },
    default: Some("600"),
    help: "seconds the command may run, 1 to 3,600 (empty: 600)",
};

/// Runs the cleanup command on the resource a restore created (recorded like any action).
pub static CLEANUP: ActionSpec = ActionSpec {
    id: "local.run_cleanup_command",
    api_action: "local:RunCleanupCommand",
    title: "remove what a restore test created (the configured cleanup command)",
    target: "the ARN of the resource a restore job created",
    params: &[COMMAND, JOB, TIMEOUT],
    long_running: false,
    check_target: check_arn,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan_cleanup(s, p, r)),
    call: call_cleanup,
};

/// The environment variable a check or cleanup command gets the created resource's ARN in.
pub const ENV_RESOURCE_ARN: &str = "PHI_DRILL_RESOURCE_ARN";
/// … the restore job id.
pub const ENV_RESTORE_JOB_ID: &str = "PHI_DRILL_RESTORE_JOB_ID";
/// … the resource type (`DynamoDB`, `RDS`, `S3`, …).
pub const ENV_RESOURCE_TYPE: &str = "PHI_DRILL_RESOURCE_TYPE";

fn check_arn(t: &str) -> Result<(), String> {
    arn_target(t, "the recovery point's ARN or the resource's ARN")
}

/// A target that must be an ARN (one line, at most 2,048 characters); the error names `what`
/// to give instead.
pub(super) fn arn_target(t: &str, what: &str) -> Result<(), String> {
    let t = t.trim();
    if t.starts_with("arn:") && t.len() <= 2048 && !t.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not an ARN: give {what} (arn:aws:…)",
            crate::validate::shown(t)
        ))
    }
}

fn check_job_id(t: &str) -> Result<(), String> {
    let t = t.trim();
    if !t.is_empty() && t.len() <= 100 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a restore job id: give the id AWS Backup returned (letters, digits and -)",
            crate::validate::shown(t)
        ))
    }
}

/// A request with the profile's restore settings in the fields left empty: the restore role
/// (`restore_role_arn`) of a restore, the check command (`restore_check_command`) of a
/// validation by [`CHECK`], the cleanup command (`restore_cleanup_command`) of a cleanup. What
/// the operator typed is kept; other actions are returned as they are. Pure.
pub fn with_settings(
    request: Request,
    settings: &crate::session::settings::ProfileSettings,
) -> Request {
    let empty = |r: &Request, p: &ParamSpec| match r.value(p.name) {
        Some(v) => v
            .as_text()
            .map(|t| t.trim().is_empty())
            .or_else(|| v.as_list().map(<[String]>::is_empty))
            .unwrap_or(false),
        None => true,
    };
    let fill = |r: Request, p: &ParamSpec, v: Option<super::ParamValue>| match v {
        Some(v) if empty(&r, p) => r.param(p.name, v),
        _ => r,
    };
    let id = request.spec.id;
    if id == START_RESTORE.id {
        let v = settings.restore_role_arn.clone().map(Into::into);
        fill(request, &ROLE, v)
    } else if id == PUT_VALIDATION.id && text(&request, &VALIDATION_STATUS) == CHECK {
        let v = settings.restore_check_command.clone().map(Into::into);
        fill(request, &CHECK_COMMAND, v)
    } else if id == CLEANUP.id {
        let v = settings.restore_cleanup_command.clone().map(Into::into);
        fill(request, &COMMAND, v)
    } else {
        request
    }
}

/// The metadata key that names the restored resource, by resource type (`None`: the restore
/// always creates a resource with a new id, e.g. an EBS volume).
pub fn name_key(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "DynamoDB" => Some("targetTableName"),
        "RDS" | "Aurora" => Some("DBInstanceIdentifier"),
        "S3" => Some("DestinationBucketName"),
        _ => None,
    }
}

/// The source resource's name: the recovery point's, else the ARN's last part.
pub fn source_name(point: &RecoveryPoint) -> String {
    point
        .resource_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            point
                .resource_arn
                .rsplit([':', '/'])
                .next()
                .unwrap_or_default()
                .to_string()
        })
}

/// `<source>-drill-<yyyymmdd-hhmm>`, within the type's naming rules (S3 lower case and RDS at
/// most 63 characters; the source part is shortened, the suffix kept). Pure.
pub fn drill_name(source: &str, resource_type: &str, at: DateTime<Utc>) -> String {
    let suffix = format!("-drill-{}", at.format("%Y%m%d-%H%M"));
    let max: usize = match resource_type {
        "DynamoDB" => 255,
        _ => 63,
    };
    let mut base: String = source
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || (resource_type == "DynamoDB" && c == '_') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if resource_type == "S3" {
        base = base.to_ascii_lowercase();
    }
    let keep = max.saturating_sub(suffix.len());
    base = base.chars().take(keep).collect();
    let base = base.trim_end_matches('-');
    format!("{base}{suffix}")
}

/// The metadata to restore with: what AWS proposed, with the target's name replaced (and, for
/// S3, a new bucket; for RDS, no deletion protection so that the cleanup can remove it).
/// Returns the full metadata and the overrides alone. Pure.
pub fn overrides(
    meta: &RestoreMetadata,
    target_name: Option<&str>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut changed = BTreeMap::new();
    if let (Some(k), Some(n)) = (name_key(&meta.resource_type), target_name) {
        changed.insert(k.to_string(), n.to_string());
        match meta.resource_type.as_str() {
            "S3" => {
                changed.insert("NewBucket".into(), "true".into());
            }
            "RDS" | "Aurora" => {
                changed.insert("DeletionProtection".into(), "false".into());
            }
            _ => {}
        }
    }
    let mut all = meta.metadata.clone();
    all.extend(changed.clone());
    (all, changed)
}

/// What a restore's pre-checks read.
#[derive(Debug, Clone, PartialEq)]
pub struct RestoreState {
    pub point: RecoveryPoint,
    pub metadata: RestoreMetadata,
    pub role: Option<String>,
    /// The new resource's name (`None` for types that always get a new id).
    pub target_name: Option<String>,
}

/// The pre-checks of a restore test (pure).
pub fn checks(state: &RestoreState) -> Vec<Refusal> {
    let mut out = Vec::new();
    if state.role.as_deref().is_none_or(|r| r.trim().is_empty()) {
        out.push(Refusal::new(
            Check::RestoreRoleMissing,
            "no restore role: set restore_role_arn in the profile's settings (the IAM role AWS Backup restores as, e.g. arn:aws:iam::ACCOUNT:role/BackupRestoreRole)",
        ));
    }
    if state.point.status != "COMPLETED" {
        out.push(Refusal::new(
            Check::RecoveryPointNotCompleted,
            format!(
                "recovery point {} is {}: only a COMPLETED recovery point can be restored; pick another",
                state.point.arn, state.point.status
            ),
        ));
    }
    let source = source_name(&state.point);
    let proposed = name_key(&state.metadata.resource_type)
        .and_then(|k| state.metadata.metadata.get(k))
        .cloned();
    if let Some(t) = &state.target_name {
        let t = t.trim();
        if t.is_empty()
            || t.eq_ignore_ascii_case(&source)
            || proposed
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case(t))
            || state.point.resource_arn.ends_with(&format!("/{t}"))
            || state.point.resource_arn.ends_with(&format!(":{t}"))
        {
            out.push(Refusal::new(
                Check::RestoreOverSource,
                format!(
                    "the target name '{}' is the source resource's ({source}): a restore test never restores over its source; leave the target name empty for {source}-drill-<yyyymmdd-hhmm> or give a new name",
                    crate::validate::shown(t)
                ),
            ));
        }
    }
    out
}

/// "3d 4h", "2h 05m", "12m".
/// An achieved duration against an objective in minutes: "18h 07m: met (objective 1,440 min)".
pub fn objective_words(achieved: chrono::Duration, objective_minutes: i64) -> String {
    if achieved < chrono::Duration::zero() {
        return format!(
            "unknown: AWS's times are inconsistent (it ended before it began) (objective {objective_minutes} min)"
        );
    }
    let met = achieved <= chrono::Duration::minutes(objective_minutes);
    format!(
        "{}: {} (objective {objective_minutes} min)",
        age_words(achieved),
        if met { "met" } else { "MISSED" }
    )
}

/// A finished restore job's RTO in words ("RTO 4m: met (objective 60 min)"), read once more
/// from AWS; None when it did not complete or cannot be read.
pub async fn rto_words(cloud: &Cloud, job_id: &str, objective: Option<i64>) -> Option<String> {
    let job = cloud.describe_restore_job(job_id).await.ok()?;
    if job.status != "COMPLETED" {
        return None;
    }
    let took = job.duration()?;
    Some(match objective {
        Some(o) => format!("RTO {}", objective_words(took, o)),
        None => format!(
            "RTO {} (no objective: set restore_rto_minutes, or run it in a runbook)",
            age_words(took)
        ),
    })
}

pub fn age_words(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if days > 0 {
        format!("{days}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m")
    }
}

/// The recovery point a target names: a recovery point ARN (in `vault`, or any vault), else
/// the newest COMPLETED recovery point of the resource the ARN names.
pub(super) async fn find_point(
    cloud: &Cloud,
    target: &str,
    vault: &str,
) -> Result<Option<RecoveryPoint>, CloudError> {
    let listed = if vault.is_empty() {
        cloud.list_all_recovery_points().await?
    } else {
        cloud.list_recovery_points(vault).await?
    };
    if let Some(p) = listed.into_iter().find(|p| p.arn == target) {
        return Ok(Some(p));
    }
    let points = match cloud.list_recovery_points_by_resource(target).await {
        Ok(p) => p,
        Err(CloudError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let newest = points
        .into_iter()
        .filter(|p| p.status == "COMPLETED" && (vault.is_empty() || p.vault == vault))
        .max_by_key(|p| p.created);
    Ok(newest.map(|p| RecoveryPoint {
        arn: p.arn,
        vault: p.vault,
        resource_arn: target.to_string(),
        resource_type: String::new(),
        resource_name: p.resource_name,
        status: p.status,
        created: p.created,
        completed: None,
        size_bytes: p.size_bytes,
        encryption_key: p.encryption_key,
        last_restore: None,
        delete_at: None,
    }))
}

pub(super) fn refused(action: &str, target: &str, refusals: Vec<Refusal>) -> GuardError {
    GuardError::Refused {
        action: action.to_string(),
        target: target.to_string(),
        refusals,
    }
}

fn list(request: &Request, p: &ParamSpec) -> Vec<String> {
    request
        .value(p.name)
        .and_then(|v| v.as_list().map(<[String]>::to_vec))
        .unwrap_or_default()
}

pub(super) fn text(request: &Request, p: &ParamSpec) -> String {
    request
        .value(p.name)
        .and_then(|v| v.as_text().map(str::to_string))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// GetRecoveryPointRestoreMetadata of `point`, whose resource type it fills in when the
/// listing gave none.
pub(super) async fn restore_metadata(
    cloud: &Cloud,
    point: &mut RecoveryPoint,
) -> Result<crate::cloud::backup::RestoreMetadata, CloudError> {
    let metadata = cloud
        .recovery_point_restore_metadata(&point.vault, &point.arn)
        .await?;
    if point.resource_type.is_empty() {
        point.resource_type = metadata.resource_type.clone();
    }
    Ok(metadata)
}

async fn plan_restore(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    let target = request.target().trim().to_string();
    let cloud = session.cloud();
    let live = |error| GuardError::LiveState {
        target: target.clone(),
        error,
    };
    let vault = text(request, &VAULT);
    let Some(mut point) = find_point(&cloud, &target, &vault).await.map_err(live)? else {
        return Err(refused(
            START_RESTORE.api_action,
            &target,
            vec![Refusal::new(
                Check::NoRecoveryPoint,
                format!(
                    "{target} is neither a recovery point{} nor a resource with a COMPLETED recovery point: give a recovery point ARN (the points view lists them) or the ARN of a backed-up resource",
                    if vault.is_empty() {
                        String::new()
                    } else {
                        format!(" of vault {vault}")
                    }
                ),
            )],
        ));
    };
    let metadata = restore_metadata(&cloud, &mut point).await.map_err(live)?;
    let now = session.now();
    let source = source_name(&point);
    let typed = text(request, &TARGET_NAME);
    let target_name = name_key(&metadata.resource_type).map(|_| {
        if typed.is_empty() {
            drill_name(&source, &metadata.resource_type, now)
        } else {
            typed.clone()
        }
    });
    let role = Some(text(request, &ROLE)).filter(|r| !r.is_empty());
    let state = RestoreState {
        point: point.clone(),
        metadata: metadata.clone(),
        role: role.clone(),
        target_name: target_name.clone(),
    };
    let refusals = checks(&state);
    if !refusals.is_empty() {
        return Err(refused(START_RESTORE.api_action, &point.arn, refusals));
    }
    let role = role.unwrap_or_default();
    let keep_hours = request
        .value(KEEP_HOURS.name)
        .and_then(|v| v.as_number())
        .unwrap_or(24);
    let (all, changed) = overrides(&metadata, target_name.as_deref());
    let token = text(request, &TOKEN);
    let mut op = Operation::new(&START_RESTORE, point.arn.clone())
        .param(ROLE.name, role.clone())
        .param(VAULT.name, point.vault.clone())
        .param(KEEP_HOURS.name, keep_hours)
        .param("resource_type", metadata.resource_type.clone())
        .param("source_resource_arn", point.resource_arn.clone())
        .param(
            "metadata",
            all.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        );
    if let Some(n) = &target_name {
        op = op.param(TARGET_NAME.name, n.clone());
    }
    if !token.is_empty() {
        op = op.param(TOKEN.name, token);
    }
    if let Some(c) = point.created {
        op = op.param(
            "recovery_point_created",
            crate::audit::writer::format_time(c),
        );
    }
    let new_name = target_name
        .clone()
        .unwrap_or_else(|| format!("a new {} (AWS names it)", metadata.resource_type));
    let summary = format!(
        "restore {} {source} from recovery point {} into a NEW {} named {new_name} (a restore test)",
        metadata.resource_type, point.arn, metadata.resource_type
    );
    let call = format!(
        "backup:StartRestoreJob on {} (IamRoleArn={role}{})",
        point.arn,
        changed
            .iter()
            .map(|(k, v)| format!(", {k}={v}"))
            .collect::<String>()
    );
    let mut plan = Plan::new(
        session,
        policy,
        op,
        summary,
        Target {
            arn: point.arn.clone(),
            name: target_name.clone().unwrap_or_else(|| point.arn.clone()),
        },
        call,
    );
    let fact = |label: &str, value: String| Fact {
        label: label.into(),
        value,
    };
    plan.facts.push(fact("recovery point", point.arn.clone()));
    plan.facts.push(fact("vault", point.vault.clone()));
    plan.facts
        .push(fact("source resource", point.resource_arn.clone()));
    plan.facts
        .push(fact("resource type", metadata.resource_type.clone()));
    if let Some(c) = point.created {
        plan.facts.push(fact(
            "recovery point age",
            format!(
                "{} (created {}): the RPO this restore proves",
                age_words(now - c),
                crate::audit::writer::format_time(c)
            ),
        ));
        if let Some(objective) = policy.restore_objectives.1 {
            plan.facts
                .push(fact("RPO objective", objective_words(now - c, objective)));
        }
    }
    if let Some(objective) = policy.restore_objectives.0 {
        plan.facts.push(fact(
            "RTO objective",
            format!(
                "{objective} min: the restore job must be COMPLETED within {} of its start",
                age_words(chrono::Duration::minutes(objective))
            ),
        ));
    }
    for (k, v) in &changed {
        let was = metadata.metadata.get(k).cloned().unwrap_or_default();
        plan.facts.push(fact(
            "metadata override",
            format!("{k} = {v} (AWS proposed {was:?})"),
        ));
    }
    plan.facts.push(fact(
        "metadata kept as AWS proposed",
        format!("{} keys", all.len() - changed.len()),
    ));
    plan.facts.push(fact(
        "afterwards",
        format!(
            "a NEW {} {new_name} exists beside the source (which is not touched) for up to {keep_hours} h, until it is cleaned up",
            metadata.resource_type
        ),
    ));
    plan.irreversible.push(format!(
        "the new {} holds the same data (PHI) as its source until it is deleted: it is not deleted by itself",
        metadata.resource_type
    ));
    plan.confirm_also = vec![point.arn.clone()];
    Ok(plan)
}

fn call_start<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let metadata: BTreeMap<String, String> = op
            .params
            .get("metadata")
            .and_then(|v| v.as_list())
            .unwrap_or_default()
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (id, request_id) = cloud
            .start_restore_job(
                op.target(),
                &metadata,
                op.text(ROLE.name).unwrap_or_default(),
                op.text("resource_type").filter(|t| !t.is_empty()),
                op.text(TOKEN.name).filter(|t| !t.is_empty()),
            )
            .await?;
        Ok(Called {
            request_id,
            handle: Some(Handle {
                kind: HandleKind::RestoreJob,
                id,
                resource: op.target().to_string(),
                after_ms: None,
            }),
            note: None,
        })
    })
}

async fn plan_validation(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    let id = request.target().trim().to_string();
    let status = text(request, &VALIDATION_STATUS);
    let message = text(request, &VALIDATION_MESSAGE);
    let command = list(request, &CHECK_COMMAND);
    let check = status == CHECK;
    // A command with a plain status would not run: say so rather than ignore it.
    if !check && !command.is_empty() {
        return Err(GuardError::InvalidParam {
            param: CHECK_COMMAND.name.into(),
            message: format!(
                "a check command runs only with validation status {CHECK}: choose {CHECK}, or clear the check command to send {status}"
            ),
        });
    }
    let cloud = session.cloud();
    let job = cloud
        .describe_restore_job(&id)
        .await
        .map_err(|error| GuardError::LiveState {
            target: format!("restore job {id}"),
            error,
        })?;
    let mut refusals = Vec::new();
    if job.status != "COMPLETED" {
        refusals.push(Refusal::new(
            Check::RestoreNotCompleted,
            format!(
                "restore job {id} is {}: a validation result can only be sent for a COMPLETED restore job",
                job.status
            ),
        ));
    }
    if check && command.is_empty() {
        refusals.push(Refusal::new(
            Check::NoCheckCommand,
            format!(
                "no check command: set restore_check_command in the profile's settings (a program that checks the restored copy named by ${ENV_RESOURCE_ARN} and exits 0 when it is good), or choose the status yourself"
            ),
        ));
    }
    let created = job.created_resource_arn.clone().unwrap_or_default();
    if check && job.status == "COMPLETED" && created.is_empty() {
        refusals.push(Refusal::new(
            Check::NotCreatedByRestore,
            format!(
                "restore job {id} names no created resource: there is nothing for the check command to check; choose the status yourself"
            ),
        ));
    }
    if !refusals.is_empty() {
        return Err(refused(PUT_VALIDATION.api_action, &id, refusals));
    }
    let mut op = Operation::new(&PUT_VALIDATION, id.clone()).param(
        VALIDATION_STATUS.name,
        super::ParamValue::Choice(status.clone()),
    );
    if !message.is_empty() {
        op = op.param(VALIDATION_MESSAGE.name, message.clone());
    }
    let target = Target {
        arn: id.clone(),
        name: id.clone(),
    };
    let mut plan = if check {
        let timeout = request
            .value(TIMEOUT.name)
            .and_then(|v| v.as_number())
            .unwrap_or(600);
        op = op
            .param(CHECK_COMMAND.name, command.clone())
            .param(TIMEOUT.name, timeout)
            .param("created_resource_arn", created.clone())
            .param("resource_type", job.resource_type.clone());
        let mut plan = Plan::new(
            session,
            policy,
            op,
            format!(
                "check the copy restore job {id} created with the check command and report the result"
            ),
            target,
            format!(
                "run {} with {ENV_RESOURCE_ARN}={created}, {ENV_RESTORE_JOB_ID}={id}, {ENV_RESOURCE_TYPE}={} (no input, its output discarded, stopped after {timeout} s)",
                command.join(" "),
                job.resource_type
            ),
        );
        plan.calls.push(format!(
            "then backup:PutRestoreValidationResult on {id}: ValidationStatus=SUCCESSFUL if it exits 0, FAILED on any other exit, TIMED_OUT if it is stopped at {timeout} s (nothing is sent if it cannot be started); ValidationStatusMessage={}",
            if message.is_empty() {
                "'phi-console: check command exited N' (or 'stopped after T s')".to_string()
            } else {
                format!("'{message}'")
            }
        ));
        plan
    } else {
        Plan::new(
            session,
            policy,
            op,
            format!("report restore job {id} as validated {status}"),
            target,
            format!("backup:PutRestoreValidationResult on {id} (ValidationStatus={status})"),
        )
    };
    if !created.is_empty() {
        plan.facts.push(Fact {
            label: "restored resource".into(),
            value: created,
        });
    }
    if let Some(v) = &job.validation_status {
        plan.facts.push(Fact {
            label: "validation status now".into(),
            value: v.clone(),
        });
    }
    Ok(plan)
}

/// The status a check command's end sends, and the message that goes with it (`None`: it
/// could not be started, and nothing is sent). Pure.
pub fn check_result(ran: &Ran, timeout_s: i64) -> Result<(&'static str, String), String> {
    match ran {
        Ran::Exited(0) => Ok(("SUCCESSFUL", "phi-console: check command exited 0".into())),
        Ran::Exited(c) => Ok(("FAILED", format!("phi-console: check command exited {c}"))),
        Ran::TimedOut => Ok((
            "TIMED_OUT",
            format!("phi-console: check command stopped after {timeout_s} s"),
        )),
        Ran::NotStarted(m) => Err(m.clone()),
        Ran::Stopped => Err("the check command was stopped before it ended".into()),
    }
}

fn call_validation<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let mut status = op.text(VALIDATION_STATUS.name).unwrap_or_default();
        let mut message = op
            .text(VALIDATION_MESSAGE.name)
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        let mut how = String::new();
        if status == CHECK {
            let argv = op
                .params
                .get(CHECK_COMMAND.name)
                .and_then(|v| v.as_list())
                .unwrap_or_default()
                .to_vec();
            let env = vec![
                (
                    ENV_RESOURCE_ARN.to_string(),
                    op.text("created_resource_arn")
                        .unwrap_or_default()
                        .to_string(),
                ),
                (ENV_RESTORE_JOB_ID.to_string(), op.target().to_string()),
                (
                    ENV_RESOURCE_TYPE.to_string(),
                    op.text("resource_type").unwrap_or_default().to_string(),
                ),
            ];
            let secs = op.number(TIMEOUT.name).unwrap_or(600).max(1);
            let timeout = Duration::from_secs(secs as u64);
            let ran = run_command_async(argv, env, timeout).await;
            match check_result(&ran, secs) {
                Ok((s, m)) => {
                    status = s;
                    how = format!(" ({})", m.trim_start_matches("phi-console: "));
                    message.get_or_insert(m);
                }
                Err(m) => {
                    return Err(CloudError::Service {
                        operation: "RunCheckCommand".into(),
                        code: "CheckCommandNotStarted".into(),
                        message: format!("{m}; no validation result was sent"),
                        request_id: None,
                    });
                }
            }
        }
        let request_id = cloud
            .put_restore_validation_result(op.target(), status, message.as_deref())
            .await?;
        Ok(Called {
            request_id,
            handle: None,
            note: Some(format!("validation {status} sent{how}")),
        })
    })
}

async fn plan_cleanup(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    let target = request.target().trim().to_string();
    let id = text(request, &JOB);
    let command = list(request, &COMMAND);
    let mut refusals = Vec::new();
    if command.is_empty() {
        refusals.push(Refusal::new(
            Check::NoCleanupCommand,
            "no cleanup command: set restore_cleanup_command in the profile's settings (or cleanup_command in the runbook's test), a program that deletes the resource named by $PHI_DRILL_RESOURCE_ARN",
        ));
    }
    let job = session
        .cloud()
        .describe_restore_job(&id)
        .await
        .map_err(|error| GuardError::LiveState {
            target: format!("restore job {id}"),
            error,
        })?;
    if job.status != "COMPLETED" {
        refusals.push(Refusal::new(
            Check::RestoreNotCompleted,
            format!(
                "restore job {id} is {}: only what a COMPLETED restore created can be cleaned up",
                job.status
            ),
        ));
    } else if job.created_resource_arn.as_deref() != Some(target.as_str()) {
        refusals.push(Refusal::new(
            Check::NotCreatedByRestore,
            format!(
                "{target} is not what restore job {id} created ({}): a cleanup only removes the restored copy",
                job.created_resource_arn.as_deref().unwrap_or("nothing")
            ),
        ));
    } else if job.restore_testing_plan.is_some() || job.deletion_status.is_some() {
        // A restore testing plan's copy: AWS Backup deletes it at the end of its validation
        // window (or has).
        refusals.push(Refusal::new(
            Check::DeletedByAwsBackup,
            format!(
                "AWS Backup deletes what restore job {id} created itself (a restore testing plan's restore; deletion {}): nothing to clean up",
                job.deletion_status.as_deref().unwrap_or("due at the end of its validation window")
            ),
        ));
    }
    if !refusals.is_empty() {
        return Err(refused(CLEANUP.api_action, &target, refusals));
    }
    let timeout = request
        .value(TIMEOUT.name)
        .and_then(|v| v.as_number())
        .unwrap_or(600);
    let op = Operation::new(&CLEANUP, target.clone())
        .param(COMMAND.name, command.clone())
        .param(JOB.name, id.clone())
        .param(TIMEOUT.name, timeout)
        .param("resource_type", job.resource_type.clone());
    let mut plan = Plan::new(
        session,
        policy,
        op,
        format!("remove {target}, created by restore job {id}, with the cleanup command"),
        Target {
            arn: target.clone(),
            name: target
                .rsplit([':', '/'])
                .next()
                .unwrap_or_default()
                .to_string(),
        },
        format!(
            "run {} with {ENV_RESOURCE_ARN}={target} (at most {timeout} s)",
            command.join(" ")
        ),
    );
    plan.irreversible
        .push(format!("the restored copy {target} is deleted"));
    plan.confirm_also = vec![target];
    Ok(plan)
}

fn call_cleanup<'a>(_cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let argv = op
            .params
            .get(COMMAND.name)
            .and_then(|v| v.as_list())
            .unwrap_or_default()
            .to_vec();
        let env = vec![
            (ENV_RESOURCE_ARN.to_string(), op.target().to_string()),
            (
                ENV_RESTORE_JOB_ID.to_string(),
                op.text(JOB.name).unwrap_or_default().to_string(),
            ),
            (
                ENV_RESOURCE_TYPE.to_string(),
                op.text("resource_type").unwrap_or_default().to_string(),
            ),
        ];
        let timeout = Duration::from_secs(op.number(TIMEOUT.name).unwrap_or(600).max(1) as u64);
        let ran = run_command_async(argv, env, timeout).await;
        let fail = |code: &str, message: String| CloudError::Service {
            operation: "RunCleanupCommand".into(),
            code: code.into(),
            message,
            request_id: None,
        };
        match ran {
            Ran::Exited(0) => Ok(Called {
                request_id: String::new(),
                handle: None,
                note: Some("the cleanup command exited 0".into()),
            }),
            Ran::Exited(c) => Err(fail(
                "CleanupCommandFailed",
                format!("the cleanup command exited {c}; the restored copy may still exist"),
            )),
            Ran::TimedOut => Err(fail(
                "CleanupCommandTimedOut",
                format!(
                    "the cleanup command ran longer than {} s and was stopped; the restored copy may still exist",
                    timeout.as_secs()
                ),
            )),
            Ran::NotStarted(m) => Err(fail("CleanupCommandNotStarted", m)),
            Ran::Stopped => Err(fail(
                "CleanupCommandStopped",
                "the cleanup command was stopped before it ended; the restored copy may still exist".into(),
            )),
        }
    })
}

/// Kills a command's process group (it leads it) and reaps it.
fn kill_group(child: &mut std::process::Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory involved.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// How a check or cleanup command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// Its exit code (a signal counts as 128 + the signal).
    Exited(i32),
    /// It was stopped (the drill or the console stopping) and killed.
    Stopped,
    /// It ran past its time limit and was killed.
    TimedOut,
    /// It could not be started (the message says why).
    NotStarted(String),
}

/// Runs `argv` with `env` added, its output discarded (it may print PHI; only the exit code
/// counts), killed after `timeout`. Blocking.
pub fn run_command(argv: &[String], env: &[(String, String)], timeout: Duration) -> Ran {
    run_command_until(
        argv,
        env,
        timeout,
        &std::sync::atomic::AtomicBool::new(false),
    )
}

/// Runs a check or cleanup command on the blocking pool; dropping the future (the drill or
/// the console stopping, the action's grace running out) kills it and everything it started
/// (its process group), so nothing lingers after the console quits.
pub async fn run_command_async(
    argv: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
) -> Ran {
    struct KillOnDrop(std::sync::Arc<std::sync::atomic::AtomicBool>);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
    let stop = KillOnDrop(Default::default());
    let flag = stop.0.clone();
    let ran = tokio::task::spawn_blocking(move || run_command_until(&argv, &env, timeout, &flag))
        .await
        .unwrap_or(Ran::NotStarted("the command's task failed".into()));
    drop(stop);
    ran
}

/// [`run_command`], also ended (killed, with its process group) when `stop` is set.
pub fn run_command_until(
    argv: &[String],
    env: &[(String, String)],
    timeout: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> Ran {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};
    let Some((program, args)) = argv.split_first() else {
        return Ran::NotStarted("the command is empty".into());
    };
    let mut child = match Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: a time limit or a stop ends what it started too.
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Ran::NotStarted(format!(
                "{} could not be started ({e}): check the command's path",
                crate::sanitize::clean(program)
            ));
        }
    };
    let deadline = std::time::Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                use std::os::unix::process::ExitStatusExt;
                return Ran::Exited(
                    status
                        .code()
                        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
                );
            }
            Ok(None) if std::time::Instant::now() >= deadline => {
                kill_group(&mut child);
                return Ran::TimedOut;
            }
            Ok(None) if stop.load(std::sync::atomic::Ordering::SeqCst) => {
                kill_group(&mut child);
                return Ran::Stopped;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Ran::NotStarted(format!("waiting for the command failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_objective_is_met_at_or_under_it_and_missed_over_it() {
        let m = chrono::Duration::minutes;
        assert_eq!(objective_words(m(60), 60), "1h 00m: met (objective 60 min)");
        assert!(objective_words(m(61), 60).contains("MISSED"));
        assert!(objective_words(m(5), 60).ends_with("met (objective 60 min)"));
        assert!(objective_words(m(-5), 60).starts_with("unknown"));
    }
    use chrono::TimeZone;

    fn point(rtype: &str, name: &str, status: &str) -> RecoveryPoint {
        RecoveryPoint {
            arn: "arn:aws:backup:us-east-1:123456789012:recovery-point:1".into(),
            vault: "v".into(),
            resource_arn: match rtype {
                "DynamoDB" => format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"),
                "RDS" => format!("arn:aws:rds:us-east-1:123456789012:db:{name}"),
                _ => format!("arn:aws:s3:::{name}"),
            },
            resource_type: rtype.into(),
            resource_name: Some(name.into()),
            status: status.into(),
            created: None,
            completed: None,
            size_bytes: None,
            encryption_key: None,
            last_restore: None,
            delete_at: None,
        }
    }

    fn meta(rtype: &str, name: &str) -> RestoreMetadata {
        RestoreMetadata {
            resource_type: rtype.into(),
            metadata: [(name_key(rtype).unwrap_or("x").to_string(), name.to_string())]
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn drill_names_follow_each_types_rules() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 5, 0).unwrap();
        assert_eq!(
            drill_name("claims-intake", "DynamoDB", at),
            "claims-intake-drill-20261201-0905"
        );
        assert_eq!(
            drill_name("Claims.Docs", "S3", at),
            "claims-docs-drill-20261201-0905"
        );
        let long = "a".repeat(100);
        let n = drill_name(&long, "RDS", at);
        assert_eq!(n.len(), 63);
        assert!(n.ends_with("-drill-20261201-0905"), "{n}");
    }

    #[test]
    fn overrides_name_the_new_resource_and_keep_the_rest() {
        let mut m = meta("RDS", "claims-payments");
        m.metadata.insert("Port".into(), "5432".into());
        m.metadata
            .insert("DeletionProtection".into(), "true".into());
        let (all, changed) = overrides(&m, Some("claims-payments-drill-x"));
        assert_eq!(all["DBInstanceIdentifier"], "claims-payments-drill-x");
        assert_eq!(all["Port"], "5432");
        assert_eq!(all["DeletionProtection"], "false");
        assert_eq!(changed.len(), 2);
        let (all, changed) = overrides(&meta("S3", "docs"), Some("docs-drill-x"));
        assert_eq!(
            (
                all["DestinationBucketName"].as_str(),
                all["NewBucket"].as_str()
            ),
            ("docs-drill-x", "true")
        );
        assert_eq!(changed.len(), 2);
        let ebs = RestoreMetadata {
            resource_type: "EBS".into(),
            metadata: BTreeMap::new(),
        };
        assert!(overrides(&ebs, None).1.is_empty());
    }

    #[test]
    fn checks_refuse_the_source_name_a_missing_role_and_unfinished_points() {
        let state = |target: &str, role: Option<&str>, status: &str| RestoreState {
            point: point("DynamoDB", "claims-intake", status),
            metadata: meta("DynamoDB", "claims-intake"),
            role: role.map(str::to_string),
            target_name: Some(target.into()),
        };
        let role = Some("arn:aws:iam::123456789012:role/R");
        assert!(checks(&state("claims-intake-drill-1", role, "COMPLETED")).is_empty());
        let r = checks(&state("claims-intake", role, "COMPLETED"));
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].check, Check::RestoreOverSource);
        assert!(r[0].message.contains("never restores over its source"));
        let r = checks(&state("CLAIMS-INTAKE", None, "PARTIAL"));
        let kinds: Vec<_> = r.iter().map(|r| r.check).collect();
        assert_eq!(
            kinds,
            [
                Check::RestoreRoleMissing,
                Check::RecoveryPointNotCompleted,
                Check::RestoreOverSource
            ]
        );
        assert!(r[0].message.contains("restore_role_arn"));
    }

    /// Whether process `pid` is gone (reaped or never there), waiting up to 3 s.
    fn gone(pid: i32) -> bool {
        for _ in 0..150 {
            // SAFETY: signal 0 only checks that the process exists.
            if unsafe { libc::kill(pid, 0) } != 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// A command that starts a grandchild (its pid written to `pidfile`) and waits for it.
    fn with_grandchild(pidfile: &std::path::Path) -> Vec<String> {
        vec![
            "/bin/sh".into(),
            "-c".into(),
            format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
        ]
    }

    fn pid_in(pidfile: &std::path::Path) -> i32 {
        for _ in 0..150 {
            if let Some(p) = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return p;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no pid in {}", pidfile.display());
    }

    #[test]
    fn a_stopped_or_timed_out_command_is_killed_with_what_it_started() {
        let dir = tempfile::tempdir().unwrap();
        // A time limit kills the grandchild too.
        let pidfile = dir.path().join("a");
        let ran = run_command(&with_grandchild(&pidfile), &[], Duration::from_millis(300));
        assert_eq!(ran, Ran::TimedOut);
        assert!(
            gone(pid_in(&pidfile)),
            "the grandchild outlived the time limit"
        );
        // So does a stop.
        let pidfile = dir.path().join("b");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let p2 = pidfile.clone();
        let t = std::thread::spawn(move || {
            run_command_until(&with_grandchild(&p2), &[], Duration::from_secs(30), &s2)
        });
        let pid = pid_in(&pidfile);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(t.join().unwrap(), Ran::Stopped);
        assert!(gone(pid), "the grandchild outlived the stop");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_a_running_command_kills_it() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("c");
        let argv = with_grandchild(&pidfile);
        let task = tokio::spawn(run_command_async(argv, Vec::new(), Duration::from_secs(30)));
        let p2 = pidfile.clone();
        let pid = tokio::task::spawn_blocking(move || pid_in(&p2))
            .await
            .unwrap();
        task.abort();
        let _ = task.await;
        assert!(
            tokio::task::spawn_blocking(move || gone(pid))
                .await
                .unwrap(),
            "the command outlived its dropped future"
        );
    }

    #[test]
    fn commands_report_their_exit_code_and_are_stopped_at_the_limit() {
        let sh = |s: &str| vec!["/bin/sh".to_string(), "-c".to_string(), s.to_string()];
        let env = vec![(ENV_RESOURCE_ARN.to_string(), "arn:x".to_string())];
        let t = Duration::from_secs(5);
        assert_eq!(
            run_command(&sh("test \"$PHI_DRILL_RESOURCE_ARN\" = arn:x"), &env, t),
            Ran::Exited(0)
        );
        assert_eq!(run_command(&sh("exit 3"), &env, t), Ran::Exited(3));
        assert_eq!(
            run_command(&sh("sleep 5"), &env, Duration::from_millis(100)),
            Ran::TimedOut
        );
        assert!(matches!(
            run_command(&["/nonexistent/x".to_string()], &env, t),
            Ran::NotStarted(_)
        ));
        assert!(matches!(run_command(&[], &env, t), Ran::NotStarted(_)));
    }

    #[test]
    fn a_check_commands_end_decides_the_status_sent() {
        assert_eq!(
            check_result(&Ran::Exited(0), 600).map(|r| r.0),
            Ok("SUCCESSFUL")
        );
        let (status, message) = check_result(&Ran::Exited(1), 600).unwrap();
        assert_eq!(status, "FAILED");
        assert!(message.contains("exited 1"), "{message}");
        let (status, message) = check_result(&Ran::TimedOut, 30).unwrap();
        assert_eq!(status, "TIMED_OUT");
        assert!(message.contains("30 s"), "{message}");
        // A command that cannot start sends nothing.
        assert!(check_result(&Ran::NotStarted("no such file".into()), 30).is_err());
    }

    #[test]
    fn the_profiles_commands_fill_only_what_the_form_left_empty() {
        let settings = crate::session::settings::ProfileSettings {
            restore_role_arn: Some("arn:aws:iam::123456789012:role/R".into()),
            restore_check_command: Some(vec!["/bin/check".into()]),
            restore_cleanup_command: Some(vec!["/bin/clean".into(), "-y".into()]),
            ..Default::default()
        };
        let list = |r: &Request, p: &ParamSpec| super::list(r, p);
        // A validation by the check command takes the profile's; a chosen status takes none.
        let check = Request::new(&PUT_VALIDATION, "job-1").param(
            VALIDATION_STATUS.name,
            super::super::ParamValue::Choice(CHECK.into()),
        );
        let filled = with_settings(check.clone(), &settings);
        assert_eq!(list(&filled, &CHECK_COMMAND), ["/bin/check"]);
        let typed = with_settings(
            check.param(CHECK_COMMAND.name, vec!["/opt/mine".to_string()]),
            &settings,
        );
        assert_eq!(list(&typed, &CHECK_COMMAND), ["/opt/mine"]);
        let chosen = Request::new(&PUT_VALIDATION, "job-1").param(
            VALIDATION_STATUS.name,
            super::super::ParamValue::Choice("SUCCESSFUL".into()),
        );
        assert!(list(&with_settings(chosen, &settings), &CHECK_COMMAND).is_empty());
        // A cleanup takes the cleanup command, a restore the role (an empty field counts as
        // not given).
        let cleanup = Request::new(&CLEANUP, "arn:aws:dynamodb:us-east-1:1:table/t")
            .param(COMMAND.name, Vec::<String>::new());
        assert_eq!(
            list(&with_settings(cleanup, &settings), &COMMAND),
            ["/bin/clean", "-y"]
        );
        let restore = Request::new(&START_RESTORE, "arn:aws:backup:x").param(ROLE.name, " ");
        assert_eq!(
            text(&with_settings(restore, &settings), &ROLE),
            "arn:aws:iam::123456789012:role/R"
        );
        // Nothing configured: nothing filled (the planner refuses, naming the setting).
        let none = crate::session::settings::ProfileSettings::default();
        let check = Request::new(&PUT_VALIDATION, "job-1").param(
            VALIDATION_STATUS.name,
            super::super::ParamValue::Choice(CHECK.into()),
        );
        assert!(list(&with_settings(check, &none), &CHECK_COMMAND).is_empty());
    }

    #[test]
    fn ages_read_in_words() {
        assert_eq!(age_words(chrono::Duration::minutes(12)), "12m");
        assert_eq!(age_words(chrono::Duration::minutes(125)), "2h 05m");
        assert_eq!(age_words(chrono::Duration::hours(76)), "3d 4h");
    }
}
