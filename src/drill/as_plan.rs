//! A drill's test run as an AWS Backup restore testing plan (`run_as = "restore_testing_plan"`,
//! docs/DR-DRILLS.md): the guarded `backup.create_restore_testing_plan` makes a one-time plan
//! with one selection (the test's resource, restored into a NEW resource AWS Backup names
//! `awsbackup-restore-test-…`, kept for the validation window); the drill waits for the restore job the plan starts (ListRestoreJobs
//! ByRestoreTestingPlanArn), follows, measures and validates it as any restore, records the
//! cleanup as AWS Backup's (its DeletionStatus once final, or as last seen after 30 minutes),
//! and deletes the plan with the guarded `backup.delete_restore_testing_plan`.
//!
//! The plan's name is derived from the drill's idempotency token and saved in the test's
//! state entry before the create call: a resumed drill finds the plan (GetRestoreTestingPlan)
//! instead of creating a second one, and CreatorRequestId makes a create cut between the call
//! and the save return the same plan.
//!
//! A child module of `engine` (it uses the drill's `guarded`, its progress and its stop);
//! `run_test` calls [`start`] first and [`end`] where a test ends.

use super::{Drill, Step, Stop, error_words};
use crate::cloud::CloudError;
use crate::drill::report::{Cleanup, PlanRun, TestEntry};
use crate::drill::runbook::TestSpec;
use crate::guard::restore_testing::{CREATE_PLAN, DELETE_PLAN, PLAN_NAME, VALIDATION_WINDOW};
use crate::guard::{GuardError, Request, restore};
use crate::sanitize::clean;
use std::time::Duration;

/// How long the drill waits for a plan's restore job: the plan's lead, AWS's one-hour start
/// window, and a margin.
const WAIT_FOR_JOB: Duration = Duration::from_secs(90 * 60);
/// How long the drill waits for the restored copy's final DeletionStatus.
const WAIT_FOR_DELETION: Duration = Duration::from_secs(30 * 60);

/// The plan's name for a test: `phi_drill_` and the drill's idempotency token (the runbook's
/// hash, the drill's stamp, the test's index), at most 50 characters. Pure.
pub fn plan_name(token: &str) -> String {
    let tail: String = token
        .trim_start_matches("drill-")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut name = format!("{}{tail}", crate::guard::restore_testing::PLAN_PREFIX);
    name.truncate(50);
    name
}

/// Sleeps one poll; a signal stops the drill (`what` says what it was waiting for).
async fn pause(d: &mut Drill<'_>, what: &str) -> Result<(), Stop> {
    let poll = d.poll;
    let stop = &mut d.io.stop;
    let got = tokio::select! {
        _ = tokio::time::sleep(poll) => None,
        s = super::stop_asked(stop) => Some(s),
    };
    match got {
        None => Ok(()),
        Some(s) => Err(Stop::Interrupted(format!(
            "{s} while waiting for {what} (run the drill again to go on)"
        ))),
    }
}

/// Creates the test's plan (unless an earlier run did) and waits for its restore job. True:
/// the entry names the job to follow; false: the test ended without one (refused, failed, no
/// job in time) and [`end`] deletes what was created.
pub(super) async fn start(
    d: &mut Drill<'_>,
    spec: &TestSpec,
    entry: &mut TestEntry,
    role: &str,
    token: &str,
    save: &mut (dyn FnMut(&TestEntry) -> Result<(), Stop> + Send),
) -> Result<bool, Stop> {
    if entry.restore_job_id.is_some() || entry.restore_ended() {
        return Ok(entry.restore_job_id.is_some());
    }
    let label = spec.name.clone();
    let cloud = d.session.cloud();
    let mut run = entry
        .restore_testing_plan
        .clone()
        .unwrap_or_else(|| PlanRun {
            name: plan_name(token),
            ..PlanRun::default()
        });
    let existing = match cloud.get_restore_testing_plan(&run.name).await {
        Ok(p) => Some(p),
        Err(CloudError::NotFound { .. }) => None,
        Err(e) => return Err(Stop::Interrupted(e.to_string())),
    };
    match existing {
        Some(p) => {
            d.progress(&format!(
                "  {label}: restore testing plan {} exists (created earlier): not created again",
                run.name
            ));
            run.arn = Some(p.arn);
            run.schedule.get_or_insert(p.schedule);
            let selections = cloud
                .list_restore_testing_selections(&run.name)
                .await
                .map_err(|e| Stop::Interrupted(e.to_string()))?;
            if selections.is_empty() {
                // The drill stopped between the plan and its selection: it restores nothing.
                entry.status = "FAILED".into();
                entry.failure = Some(format!(
                    "restore testing plan {} has no selection (the drill stopped while creating it), so it restores nothing; it is deleted: run the drill again with a new state to test this resource",
                    run.name
                ));
                entry.restore_testing_plan = Some(run);
                save(entry)?;
                return Ok(false);
            }
        }
        None if run.arn.is_some() => {
            entry.status = "FAILED".into();
            entry.failure = Some(format!(
                "restore testing plan {} was deleted before its restore job was seen",
                run.name
            ));
            entry.restore_testing_plan = Some(run);
            save(entry)?;
            return Ok(false);
        }
        None => {
            // The name first: a drill that dies during the call finds the plan by it.
            entry.restore_testing_plan = Some(run.clone());
            save(entry)?;
            d.progress(&format!(
                "  {label}: planning restore testing plan {} for the {}",
                run.name,
                spec.selector.describe()
            ));
            let mut request = Request::new(&CREATE_PLAN, spec.selector.target())
                .param(restore::ROLE.name, role.to_string())
                .param(PLAN_NAME.name, run.name.clone())
                .param(VALIDATION_WINDOW.name, spec.validation_window_hours)
                .param(restore::TOKEN.name, token.to_string());
            if let Some(v) = spec.selector.vault() {
                request = request.param(restore::VAULT.name, v.to_string());
            }
            match d.guarded(&request).await? {
                Step::Done(done) => {
                    let (x, plan) = *done;
                    let op = &plan.operation;
                    entry.source_resource_arn = op.text("source_resource_arn").map(str::to_string);
                    entry.resource_type = op.text("resource_type").map(str::to_string);
                    entry.audit.restore_intent = Some(x.intent_id.clone());
                    run.schedule = op.text("schedule").map(str::to_string);
                    entry.restore_testing_plan = Some(run.clone());
                    save(entry)?;
                    let p = cloud
                        .get_restore_testing_plan(&run.name)
                        .await
                        .map_err(|e| Stop::Interrupted(e.to_string()))?;
                    run.arn = Some(p.arn);
                    d.progress(&format!(
                        "  {label}: restore testing plan {} created ({})",
                        run.name,
                        run.schedule.as_deref().unwrap_or("")
                    ));
                }
                Step::Error(e) => {
                    entry.status = if e.reached_aws() { "FAILED" } else { "REFUSED" }.into();
                    entry.failure = Some(clean(&error_words(&e)).into_owned());
                    if let GuardError::Failed { intent_id, .. } = &e {
                        entry.audit.restore_intent = Some(intent_id.clone());
                    }
                    d.progress(&format!("  {label}: {}: {}", entry.status, error_words(&e)));
                    save(entry)?;
                    return Ok(false);
                }
            }
        }
    }
    entry.status = "PENDING".into();
    entry.restore_testing_plan = Some(run.clone());
    save(entry)?;
    d.stopped()?;
    let arn = run.arn.clone().unwrap_or_default();
    let polls = (WAIT_FOR_JOB.as_secs() / d.poll.as_secs().max(1)).max(1);
    d.progress(&format!(
        "  {label}: waiting for restore testing plan {} to start its restore job",
        run.name
    ));
    for _ in 0..polls {
        let jobs = cloud
            .list_restore_jobs_of_plan(&arn)
            .await
            .map_err(|e| Stop::Interrupted(e.to_string()))?;
        if let Some(j) = jobs.first() {
            entry.restore_job_id = Some(j.id.clone());
            entry.recovery_point_arn = Some(j.recovery_point_arn.clone());
            d.progress(&format!(
                "  {label}: restore job {} started by restore testing plan {}",
                j.id, run.name
            ));
            save(entry)?;
            return Ok(true);
        }
        pause(
            d,
            &format!("restore testing plan {}'s restore job", run.name),
        )
        .await?;
    }
    entry.status = "FAILED".into();
    entry.failure = Some(format!(
        "restore testing plan {} started no restore job within {} minutes (AWS Backup found no COMPLETED recovery point of the resource in the plan's vault and window, or could not start it)",
        run.name,
        WAIT_FOR_JOB.as_secs() / 60
    ));
    d.progress(&format!("  {label}: FAILED: no restore job started"));
    save(entry)?;
    Ok(false)
}

/// The end of a test run as a plan (a no-op for other tests): the cleanup as AWS Backup's,
/// with its DeletionStatus, then the plan deleted (guarded).
pub(super) async fn end(
    d: &mut Drill<'_>,
    entry: &mut TestEntry,
    save: &mut (dyn FnMut(&TestEntry) -> Result<(), Stop> + Send),
) -> Result<(), Stop> {
    let Some(mut run) = entry.restore_testing_plan.clone() else {
        return Ok(());
    };
    let label = entry.name.clone();
    let cloud = d.session.cloud();
    if entry.status == "COMPLETED" && entry.cleanup.is_none() {
        let id = entry.restore_job_id.clone().unwrap_or_default();
        let polls = (WAIT_FOR_DELETION.as_secs() / d.poll.as_secs().max(1)).max(1);
        d.progress(&format!(
            "  {label}: AWS Backup deletes the restored copy (restore testing plan {}): waiting for its DeletionStatus",
            run.name
        ));
        for i in 0..polls {
            let job = cloud
                .describe_restore_job(&id)
                .await
                .map_err(|e| Stop::Interrupted(e.to_string()))?;
            run.deletion_status = job.deletion_status.clone();
            if matches!(
                job.deletion_status.as_deref(),
                Some("SUCCESSFUL" | "FAILED")
            ) || i + 1 == polls
            {
                break;
            }
            entry.restore_testing_plan = Some(run.clone());
            pause(
                d,
                &format!(
                    "the deletion of {}",
                    entry
                        .created_resource_arn
                        .as_deref()
                        .unwrap_or("the restored copy")
                ),
            )
            .await?;
        }
        let seen = run.deletion_status.clone();
        entry.cleanup = Some(Cleanup {
            status: match seen.as_deref() {
                Some("SUCCESSFUL") => "done",
                Some("FAILED") => "failed",
                _ => "pending",
            }
            .into(),
            message: match seen.as_deref() {
                Some(s @ ("SUCCESSFUL" | "FAILED")) => format!(
                    "deleted by AWS Backup (restore testing plan {}): DeletionStatus {s}",
                    run.name
                ),
                other => format!(
                    "AWS Backup (restore testing plan {}) deletes the copy at the end of its validation window or once the validation result is final; DeletionStatus {} when last seen",
                    run.name,
                    other.unwrap_or("not reported yet")
                ),
            },
        });
        d.progress(&format!(
            "  {label}: cleanup by AWS Backup: DeletionStatus {}",
            seen.as_deref().unwrap_or("not reported yet")
        ));
        entry.restore_testing_plan = Some(run.clone());
        save(entry)?;
        d.stopped()?;
    }
    if run.deleted {
        return Ok(());
    }
    match cloud.get_restore_testing_plan(&run.name).await {
        Ok(p) => {
            run.arn.get_or_insert(p.arn);
        }
        Err(CloudError::NotFound { .. }) => {
            if run.arn.is_none() {
                // Never created (refused before the call, or the call failed first).
                entry.restore_testing_plan = None;
            } else {
                run.deleted = true;
                entry.restore_testing_plan = Some(run);
            }
            return save(entry);
        }
        Err(e) => return Err(Stop::Interrupted(e.to_string())),
    }
    d.progress(&format!(
        "  {label}: deleting restore testing plan {} (it runs no more)",
        run.name
    ));
    match d
        .guarded(&Request::new(&DELETE_PLAN, run.name.clone()))
        .await?
    {
        Step::Done(done) => {
            run.deleted = true;
            run.delete_error = None;
            run.delete_intent = Some(done.0.intent_id);
        }
        Step::Error(e) => {
            if let GuardError::Failed { intent_id, .. } = &e {
                run.delete_intent = Some(intent_id.clone());
            }
            run.delete_error = Some(clean(&error_words(&e)).into_owned());
            d.progress(&format!(
                "  {label}: restore testing plan {} NOT deleted: {}",
                run.name,
                error_words(&e)
            ));
        }
    }
    entry.restore_testing_plan = Some(run);
    save(entry)?;
    d.stopped()
}

/// A test's plan is settled: deleted, never made, or its deletion failed (reported).
pub(super) fn settled(entry: &TestEntry) -> bool {
    entry
        .restore_testing_plan
        .as_ref()
        .is_none_or(|p| p.deleted || p.delete_error.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_names_follow_the_token_within_awss_rules() {
        let n = plan_name("drill-0123456789ab-20261201-2305-7");
        assert_eq!(n, "phi_drill_0123456789ab_20261201_2305_7");
        assert!(crate::guard::restore_testing::plan_name_ok(&n));
        let long = plan_name(&format!("drill-{}", "a".repeat(80)));
        assert_eq!(long.len(), 50);
        assert!(crate::guard::restore_testing::plan_name_ok(&long));
    }
}
