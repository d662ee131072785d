//! A restore test run as an AWS Backup restore testing plan (docs/DR-DRILLS.md): AWS Backup
//! restores, and AWS Backup deletes what it restored once the validation window ends (or a
//! final validation result arrives). Two guarded actions:
//!
//! - `backup.create_restore_testing_plan`: a one-time plan (`phi_drill_…`, a cron with a day, a
//!   month and a year, a few minutes ahead) with one selection: the one protected resource the
//!   target names, restored with the restore role into a NEW resource that AWS Backup names
//!   (`awsbackup-restore-test-…`: a restore test's target name is inferred by AWS and is not
//!   among the metadata a selection may override, so the console sends no name and a restore
//!   test never restores over its source), kept for the validation window. Refusals as for a
//!   restore (no role, no COMPLETED recovery point), a recovery point instead of a resource (a
//!   plan restores the latest one), and a plan of that name already there.
//! - `backup.delete_restore_testing_plan`: deletes one of the console's plans (`phi_drill_…`
//!   only) with its selections, once no restore job of it runs.
//!
//! The pure part ([`one_time_schedule`], [`plan_name_ok`], [`window_days`]) is tested without
//! AWS.

use super::action::{ActionSpec, CallFuture, Called, ParamKind, ParamSpec};
use super::restore::{self, ROLE, TOKEN, VAULT, refused, text};
use super::{Check, Fact, GuardError, Operation, Plan, Policy, Refusal, Request, Target};
use crate::cloud::backup::{NewRestoreTestingPlan, NewRestoreTestingSelection};
use crate::cloud::{Cloud, CloudError};
use crate::session::Session;
use chrono::{DateTime, Datelike, Duration, Timelike, Utc};

/// Every plan the console creates starts with this (and only these are deleted by it).
pub const PLAN_PREFIX: &str = "phi_drill_";
/// The one selection of a console plan.
pub const SELECTION_NAME: &str = "phi_drill_selection";

/// The plan's name (empty: `phi_drill_<yyyymmdd_hhmm>`).
pub const PLAN_NAME: ParamSpec = ParamSpec {
    name: "plan_name",
    label: "plan name",
    kind: ParamKind::Text { max_chars: 50 },
    default: Some(""),
    help: "the restore testing plan's name: phi_drill_ then letters, digits and _, at most 50 (empty: phi_drill_<yyyymmdd_hhmm>)",
};
/// Hours AWS Backup keeps the restored copy for validation before it deletes it.
pub const VALIDATION_WINDOW: ParamSpec = ParamSpec {
    name: "validation_window_hours",
    label: "validation window",
    kind: ParamKind::Number {
        min: 1,
        max: 168,
        unit: " hours",
    },
    default: Some("24"),
    help: "hours AWS Backup keeps the restored copy before it deletes it, 1 to 168 (empty: 24); a final validation result ends it sooner",
};
/// Minutes from now to the plan's one run.
pub const START_IN: ParamSpec = ParamSpec {
    name: "start_in_minutes",
    label: "starts in",
    kind: ParamKind::Number {
        min: 2,
        max: 1440,
        unit: " minutes",
    },
    default: Some("5"),
    help: "minutes from now to the plan's one run, 2 to 1,440 (empty: 5)",
};

/// `backup:CreateRestoreTestingPlan` (+ its one selection) for one protected resource.
pub static CREATE_PLAN: ActionSpec = ActionSpec {
    id: "backup.create_restore_testing_plan",
    api_action: "backup:CreateRestoreTestingPlan",
    title: "run a restore test as a one-time AWS Backup restore testing plan (AWS deletes the copy)",
    target: "the ARN of a backed-up resource (its latest COMPLETED recovery point is restored)",
    params: &[ROLE, VAULT, PLAN_NAME, VALIDATION_WINDOW, START_IN, TOKEN],
    long_running: false,
    check_target: check_resource_arn,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan_create(s, p, r)),
    call: call_create,
};

/// `backup:DeleteRestoreTestingPlan` (after its selections) of a plan the console created.
pub static DELETE_PLAN: ActionSpec = ActionSpec {
    id: "backup.delete_restore_testing_plan",
    api_action: "backup:DeleteRestoreTestingPlan",
    title: "delete a restore testing plan the console created (and its selection)",
    target: "the name of a phi_drill_… restore testing plan",
    params: &[],
    long_running: false,
    check_target: check_plan_name,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan_delete(s, p, r)),
    call: call_delete,
};

fn check_resource_arn(t: &str) -> Result<(), String> {
    super::restore::arn_target(t, "the ARN of the backed-up resource")
}

fn check_plan_name(t: &str) -> Result<(), String> {
    if plan_name_ok(t.trim()) {
        Ok(())
    } else {
        Err(format!(
            "'{}' is not a plan the console created: give a name that starts with {PLAN_PREFIX} (letters, digits and _, at most 50)",
            crate::validate::shown(t)
        ))
    }
}

/// A console plan's name: `phi_drill_` then letters, digits and `_`, at most 50 (AWS's rule
/// for restore testing plan names, and the console's prefix). Pure.
pub fn plan_name_ok(name: &str) -> bool {
    name.len() <= 50
        && name.len() > PLAN_PREFIX.len()
        && name.starts_with(PLAN_PREFIX)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The first whole minute at least `minutes` after `now`, and the cron that runs once then
/// (`cron(M H D MON ? YYYY)`, UTC). Pure.
pub fn one_time_schedule(now: DateTime<Utc>, minutes: i64) -> (DateTime<Utc>, String) {
    let t = now + Duration::minutes(minutes);
    let at = if t.second() == 0 && t.nanosecond() == 0 {
        t
    } else {
        t.with_second(0)
            .and_then(|x| x.with_nanosecond(0))
            .map(|x| x + Duration::minutes(1))
            .unwrap_or(t)
    };
    let cron = format!(
        "cron({} {} {} {} ? {})",
        at.minute(),
        at.hour(),
        at.day(),
        at.month(),
        at.year()
    );
    (at, cron)
}

/// The selection window (days back from the run) that still holds a recovery point created
/// at `created`: at least 1, at most 365. Pure.
pub fn window_days(created: Option<DateTime<Utc>>, run: DateTime<Utc>) -> i32 {
    let days = created.map(|c| (run - c).num_days() + 2).unwrap_or(30);
    days.clamp(1, 365) as i32
}

async fn plan_create(
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
    let Some(mut point) = restore::find_point(&cloud, &target, &vault)
        .await
        .map_err(live)?
    else {
        return Err(refused(
            CREATE_PLAN.api_action,
            &target,
            vec![Refusal::new(
                Check::NoRecoveryPoint,
                format!(
                    "{target} has no COMPLETED recovery point{}: a restore testing plan restores a backed-up resource's latest one; give the ARN of a resource AWS Backup protects",
                    if vault.is_empty() {
                        String::new()
                    } else {
                        format!(" in vault {vault}")
                    }
                ),
            )],
        ));
    };
    if point.arn == target {
        return Err(refused(
            CREATE_PLAN.api_action,
            &target,
            vec![Refusal::new(
                Check::NotAResource,
                format!(
                    "{target} is a recovery point: a restore testing plan restores the latest recovery point of a resource; give the resource's ARN ({}) or run the test as a restore job",
                    point.resource_arn
                ),
            )],
        ));
    }
    let metadata = restore::restore_metadata(&cloud, &mut point)
        .await
        .map_err(live)?;
    let now = session.now();
    let source = restore::source_name(&point);
    let role = Some(text(request, &ROLE)).filter(|r| !r.is_empty());
    // No target name: AWS Backup names a restore test's copy itself.
    let mut refusals = restore::checks(&restore::RestoreState {
        point: point.clone(),
        metadata: metadata.clone(),
        role: role.clone(),
        target_name: None,
    });
    let typed_plan = text(request, &PLAN_NAME);
    let plan_name = if typed_plan.is_empty() {
        format!("{PLAN_PREFIX}{}", now.format("%Y%m%d_%H%M"))
    } else {
        typed_plan
    };
    if !plan_name_ok(&plan_name) {
        return Err(GuardError::InvalidParam {
            param: PLAN_NAME.name.into(),
            message: format!(
                "'{}' is not a plan name the console uses: phi_drill_ then letters, digits and _, at most 50",
                crate::validate::shown(&plan_name)
            ),
        });
    }
    match cloud.get_restore_testing_plan(&plan_name).await {
        Ok(p) => refusals.push(Refusal::new(
            Check::RestoreTestingPlanExists,
            format!(
                "restore testing plan {plan_name} exists already ({}): give another plan name, or delete it first",
                p.arn
            ),
        )),
        Err(CloudError::NotFound { .. }) => {}
        Err(e) => return Err(live(e)),
    }
    if !refusals.is_empty() {
        return Err(refused(CREATE_PLAN.api_action, &target, refusals));
    }
    let role = role.unwrap_or_default();
    let window = request
        .value(VALIDATION_WINDOW.name)
        .and_then(|v| v.as_number())
        .unwrap_or(24);
    let lead = request
        .value(START_IN.name)
        .and_then(|v| v.as_number())
        .unwrap_or(5);
    let (run_at, schedule) = one_time_schedule(now, lead);
    let days = window_days(point.created, run_at);
    let vault_arn = format!(
        "arn:{}:backup:{}:{}:backup-vault:{}",
        crate::validate::partition_of(&session.region),
        session.region,
        session.caller.account,
        point.vault
    );
    let token = text(request, &TOKEN);
    let mut op = Operation::new(&CREATE_PLAN, point.resource_arn.clone())
        .param(PLAN_NAME.name, plan_name.clone())
        .param("selection_name", SELECTION_NAME)
        .param("schedule", schedule.clone())
        .param("include_vaults", vec![vault_arn.clone()])
        .param("selection_window_days", i64::from(days))
        .param(ROLE.name, role.clone())
        .param(VAULT.name, point.vault.clone())
        .param(VALIDATION_WINDOW.name, window)
        .param("resource_type", metadata.resource_type.clone())
        .param("source_resource_arn", point.resource_arn.clone())
        .param("recovery_point", point.arn.clone());
    if !token.is_empty() {
        op = op.param(TOKEN.name, token);
    }
    if let Some(c) = point.created {
        op = op.param(
            "recovery_point_created",
            crate::audit::writer::format_time(c),
        );
    }
    let at = crate::audit::writer::format_time(run_at);
    let summary = format!(
        "create restore testing plan {plan_name}: once at {at}, restore the latest recovery point of {} {source} into a NEW {} that AWS Backup names (awsbackup-restore-test-…) and deletes after {window} h at most",
        metadata.resource_type, metadata.resource_type
    );
    let call = format!(
        "backup:CreateRestoreTestingPlan {plan_name} (ScheduleExpression={schedule}, Etc/UTC, StartWindowHours=1, LATEST_WITHIN_WINDOW of {vault_arn}, {days} days) and backup:CreateRestoreTestingSelection {SELECTION_NAME} ({} {}, IamRoleArn={role}, ValidationWindowHours={window}, no metadata overrides)",
        metadata.resource_type, point.resource_arn,
    );
    let mut plan = Plan::new(
        session,
        policy,
        op,
        summary,
        Target {
            arn: point.resource_arn.clone(),
            name: plan_name.clone(),
        },
        call,
    );
    let fact = |label: &str, value: String| Fact {
        label: label.into(),
        value,
    };
    plan.facts
        .push(fact("restore testing plan", plan_name.clone()));
    plan.facts.push(fact(
        "runs",
        format!("once, at {at} (within 1 h); the schedule never fires again"),
    ));
    plan.facts
        .push(fact("latest recovery point now", point.arn.clone()));
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
                restore::age_words(now - c),
                crate::audit::writer::format_time(c)
            ),
        ));
    }
    plan.facts.push(fact(
        "afterwards",
        format!(
            "a NEW {} named by AWS Backup (awsbackup-restore-test-…, never the source's name) exists beside the source (which is not touched) until AWS Backup deletes it: at the end of the {window} h validation window, or sooner once a final validation result is sent; the console deletes the plan once its restore job has ended",
            metadata.resource_type
        ),
    ));
    plan.irreversible.push(format!(
        "the new {} holds the same data (PHI) as its source until AWS Backup deletes it",
        metadata.resource_type
    ));
    Ok(plan)
}

fn call_create<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let name = op.text(PLAN_NAME.name).unwrap_or_default().to_string();
        let token = op
            .text(TOKEN.name)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let list = |k: &str| -> Vec<String> {
            op.params
                .get(k)
                .and_then(|v| v.as_list())
                .unwrap_or_default()
                .to_vec()
        };
        let (arn, request_id) = cloud
            .create_restore_testing_plan(&NewRestoreTestingPlan {
                name: name.clone(),
                schedule: op.text("schedule").unwrap_or_default().to_string(),
                start_window_hours: 1,
                include_vaults: list("include_vaults"),
                selection_window_days: op.number("selection_window_days").unwrap_or(30) as i32,
                creator_request_id: token.clone(),
            })
            .await?;
        let selection = NewRestoreTestingSelection {
            plan_name: name.clone(),
            name: op
                .text("selection_name")
                .unwrap_or(SELECTION_NAME)
                .to_string(),
            resource_type: op.text("resource_type").unwrap_or_default().to_string(),
            iam_role_arn: op.text(ROLE.name).unwrap_or_default().to_string(),
            protected_resource_arns: vec![op.target().to_string()],
            metadata_overrides: Default::default(),
            validation_window_hours: op.number(VALIDATION_WINDOW.name).unwrap_or(24) as i32,
            creator_request_id: token,
        };
        if let Err(e) = cloud.create_restore_testing_selection(&selection).await {
            let left = format!(
                "restore testing plan {name} was created without its selection (it restores nothing); delete it with backup.delete_restore_testing_plan"
            );
            return Err(match e {
                CloudError::Service {
                    operation,
                    code,
                    message,
                    request_id,
                } => CloudError::Service {
                    operation,
                    code,
                    message: format!("{message}; {left}"),
                    request_id,
                },
                e => e,
            });
        }
        Ok(Called {
            request_id,
            handle: None,
            note: Some(format!(
                "restore testing plan {arn} with selection {SELECTION_NAME}"
            )),
        })
    })
}

async fn plan_delete(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    let name = request.target().trim().to_string();
    let cloud = session.cloud();
    let live = |error| GuardError::LiveState {
        target: format!("restore testing plan {name}"),
        error,
    };
    let detail = cloud.get_restore_testing_plan(&name).await.map_err(live)?;
    let selections = cloud
        .list_restore_testing_selections(&name)
        .await
        .map_err(live)?;
    let jobs = cloud
        .list_restore_jobs_of_plan(&detail.arn)
        .await
        .map_err(live)?;
    let running: Vec<&str> = jobs
        .iter()
        .filter(|j| !j.is_finished())
        .map(|j| j.id.as_str())
        .collect();
    if !running.is_empty() {
        return Err(refused(
            DELETE_PLAN.api_action,
            &name,
            vec![Refusal::new(
                Check::RestoreTestRunning,
                format!(
                    "restore job {} of plan {name} still runs: delete the plan once it has ended",
                    running.join(", ")
                ),
            )],
        ));
    }
    let names: Vec<String> = selections.iter().map(|s| s.name.clone()).collect();
    let op = Operation::new(&DELETE_PLAN, name.clone())
        .param("plan_arn", detail.arn.clone())
        .param("selections", names.clone());
    let mut plan = Plan::new(
        session,
        policy,
        op,
        format!(
            "delete restore testing plan {name} and its {} selection(s): it runs no more restore tests",
            names.len()
        ),
        Target {
            arn: detail.arn.clone(),
            name: name.clone(),
        },
        format!(
            "{}backup:DeleteRestoreTestingPlan {name}",
            names
                .iter()
                .map(|s| format!("backup:DeleteRestoreTestingSelection {s}, then "))
                .collect::<String>()
        ),
    );
    plan.facts.push(Fact {
        label: "schedule".into(),
        value: detail.schedule.clone(),
    });
    plan.facts.push(Fact {
        label: "restore jobs it created".into(),
        value: if jobs.is_empty() {
            "none".into()
        } else {
            jobs.iter()
                .map(|j| {
                    format!(
                        "{} {} (deletion {})",
                        j.id,
                        j.status,
                        j.deletion_status.as_deref().unwrap_or("not started")
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
    });
    plan.irreversible.push(format!(
        "the plan {name} and its selections are gone (its restore jobs stay listed)"
    ));
    Ok(plan)
}

fn call_delete<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let name = op.target().to_string();
        for s in op
            .params
            .get("selections")
            .and_then(|v| v.as_list())
            .unwrap_or_default()
        {
            match cloud.delete_restore_testing_selection(&name, s).await {
                Ok(_) | Err(CloudError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        let request_id = cloud.delete_restore_testing_plan(&name).await?;
        Ok(Called::done(request_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_one_time_schedule_is_the_next_whole_minute_after_the_lead() {
        let now = Utc.with_ymd_and_hms(2026, 12, 31, 23, 57, 30).unwrap();
        let (at, cron) = one_time_schedule(now, 5);
        assert_eq!(at, Utc.with_ymd_and_hms(2027, 1, 1, 0, 3, 0).unwrap());
        assert_eq!(cron, "cron(3 0 1 1 ? 2027)");
        let exact = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        assert_eq!(one_time_schedule(exact, 5).1, "cron(5 9 1 12 ? 2026)");
    }

    #[test]
    fn only_the_consoles_plan_names_pass() {
        assert!(plan_name_ok("phi_drill_20261201_0905_0"));
        assert!(!plan_name_ok("phi_drill_"));
        assert!(!plan_name_ok("claims-weekly-restore-test"));
        assert!(!plan_name_ok("phi_drill_a-b"));
        assert!(!plan_name_ok(&format!("phi_drill_{}", "a".repeat(41))));
        assert!(plan_name_ok(&format!("phi_drill_{}", "a".repeat(40))));
    }

    #[test]
    fn the_window_holds_the_recovery_point() {
        let run = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        assert_eq!(window_days(Some(run - Duration::hours(30)), run), 3);
        assert_eq!(window_days(Some(run - Duration::days(900)), run), 365);
        assert_eq!(window_days(None, run), 30);
    }
}
