//! Backup and restore jobs, in one list; a restore test's last steps on its restore job:
//! validate (`A`) and clean up (`C`).

use super::{
    ActionBinding, Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row, when,
};
use crate::app::links::{Link, Target, link, short};
use crate::app::rows::{Row, Tone, bytes, duration, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::backup::{BackupJob, RestoreJob};
use crate::cloud::cloudtrail::EventFilter;
use crate::guard::action::ActionSpec;
use crate::guard::restore::{CLEANUP, JOB, PUT_VALIDATION};

pub struct Jobs;

/// A restore test's validation and cleanup, on the selected restore job (guarded).
const JOB_ACTIONS: &[ActionBinding] = &[
    ActionBinding {
        name: "validate",
        action: &PUT_VALIDATION,
        keys: &["A"],
        describe: "validate: send a COMPLETED restore job's validation result (you choose it, or CHECK runs the profile's restore_check_command on the restored copy: exit 0 SUCCESSFUL, else FAILED) (guarded)",
        refresh: &[Kind::RestoreJobs],
    },
    ActionBinding {
        name: "cleanup",
        action: &CLEANUP,
        keys: &["C"],
        describe: "cleanup: remove the resource this restore job created with the profile's restore_cleanup_command (guarded)",
        refresh: &[Kind::RestoreJobs],
    },
];

/// A row of the jobs list: a backup job or a restore job.
pub enum Job<'a> {
    Backup(&'a BackupJob),
    Restore(&'a RestoreJob),
}

impl Job<'_> {
    fn tone(&self) -> Tone {
        match self {
            Job::Backup(j) => match j.state.as_str() {
                "FAILED" | "ABORTED" => Tone::Danger,
                "EXPIRED" | "PARTIAL" => Tone::Warning,
                _ => Tone::Normal,
            },
            Job::Restore(j) => match j.status.as_str() {
                "FAILED" | "ABORTED" => Tone::Danger,
                "PENDING" | "RUNNING" => Tone::Warning,
                _ => Tone::Normal,
            },
        }
    }
    fn id(&self) -> &str {
        match self {
            Job::Backup(j) => &j.id,
            Job::Restore(j) => &j.id,
        }
    }
    /// Seconds from creation to completion (-1: not finished).
    fn secs(&self) -> i64 {
        match self {
            Job::Backup(j) => match (j.created, j.completed) {
                (Some(a), Some(b)) => (b - a).num_seconds(),
                _ => -1,
            },
            Job::Restore(j) => j.duration().map(|d| d.num_seconds()).unwrap_or(-1),
        }
    }
}

/// The columns (a function: a job row borrows the data for one rebuild).
fn columns<'a>() -> [Column<Job<'a>>; 7] {
    [
        col("KIND", 7, false, 0, |_, j| match j {
            Job::Backup(_) => Cell::text("backup", Tone::Muted),
            Job::Restore(_) => Cell::text("restore", Tone::Normal),
        }),
        col("JOB ID", 10, false, 3, |_, j| {
            Cell::text(j.id().get(..8).unwrap_or(j.id()), Tone::Muted)
        }),
        col("RESOURCE", 24, false, 0, |_, j| match j {
            Job::Backup(b) => Cell::text(short(&b.resource_arn), Tone::Normal),
            Job::Restore(r) => Cell::text(
                r.created_resource_arn
                    .as_deref()
                    .map(short)
                    .unwrap_or(&r.resource_type),
                Tone::Normal,
            ),
        }),
        col("STATE", 10, false, 0, |_, j| match j {
            Job::Backup(b) => Cell::text(&b.state, j.tone()),
            Job::Restore(r) => Cell::text(&r.status, j.tone()),
        }),
        col("CREATED", 16, false, 1, |_, j| {
            Cell::text(
                time_cell(match j {
                    Job::Backup(b) => b.created,
                    Job::Restore(r) => r.created,
                }),
                Tone::Normal,
            )
        }),
        col("DURATION", 8, true, 2, |_, j| {
            Cell::num(duration(j.secs()), j.secs() as f64, Tone::Normal)
        }),
        col("PROGRESS / VALIDATION", 20, false, 1, |_, j| match j {
            Job::Backup(b) => Cell::text(b.status_message.as_deref().unwrap_or(""), j.tone()),
            Job::Restore(r) => {
                let progress = match (&r.validation_status, &r.percent_done) {
                    (Some(v), _) => format!("validation {v}"),
                    (None, Some(p)) if !r.is_finished() => p.clone(),
                    _ => r.status_message.clone().unwrap_or_default(),
                };
                Cell::text(progress, j.tone())
            }
        }),
    ]
}

/// Why `action` does not apply to the job `key`, or its target: a validation takes the
/// restore job's id, a cleanup the resource the restore job created (the other actions, none
/// yet, the row key). Judged on the jobs as last loaded; the planner reads the job again.
fn job_target(s: &State, key: &str, action: &ActionSpec) -> Result<String, String> {
    if action != &PUT_VALIDATION && action != &CLEANUP {
        return Ok(key.to_string());
    }
    let Some(job) = s.data.restore_jobs.iter().find(|j| j.id == key) else {
        let what = if action == &CLEANUP {
            "a cleanup removes what a restore test created"
        } else {
            "a validation result is sent for a restore job"
        };
        return Err(if s.data.backup_jobs.iter().any(|j| j.id == key) {
            format!("{key} is a backup job: {what}; select a restore row (KIND restore)")
        } else {
            format!("{key} is not in the loaded list: refresh (r) and select it again")
        });
    };
    let what = if action == &CLEANUP {
        "what it created can be cleaned up"
    } else {
        "a validation result can be sent"
    };
    if job.is_finished() && job.status != "COMPLETED" {
        return Err(format!(
            "restore job {key} ended {}: only once a restore job is COMPLETED {what}",
            job.status
        ));
    }
    if job.status != "COMPLETED" {
        return Err(format!(
            "restore job {key} is {} (as last loaded): {what} once it is COMPLETED; wait, then refresh (r)",
            job.status
        ));
    }
    if action == &PUT_VALIDATION {
        return Ok(key.to_string());
    }
    // A restore testing plan's copy is deleted by AWS Backup itself (at the end of its
    // validation window, or already).
    if job.restore_testing_plan.is_some() || job.deletion_status.is_some() {
        return Err(format!(
            "AWS Backup deletes what restore job {key} created itself (a restore testing plan's; deletion {}): there is nothing to clean up",
            job.deletion_status
                .as_deref()
                .unwrap_or("at the end of its validation window")
        ));
    }
    job.created_resource_arn
        .clone()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            format!("restore job {key} names no created resource: there is nothing to clean up")
        })
}

impl Resource for Jobs {
    fn actions(&self) -> &'static [ActionBinding] {
        JOB_ACTIONS
    }

    fn action_target(
        &self,
        s: &State,
        key: &str,
        binding: &ActionBinding,
    ) -> Result<String, String> {
        job_target(s, key, binding.action)
    }

    /// A cleanup names its restore job (the planner checks the target is what it created).
    fn action_prefill(
        &self,
        _s: &State,
        key: &str,
        binding: &ActionBinding,
    ) -> Vec<(&'static str, String)> {
        if binding.action == &CLEANUP {
            vec![(JOB.name, key.to_string())]
        } else {
            Vec::new()
        }
    }

    fn title(&self) -> &'static str {
        "Backup and restore jobs"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "jobs",
            aliases: &["restores", "restore-jobs"],
            about: "backup and restore jobs",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::BackupJobs, Kind::RestoreJobs]
    }

    fn heads(&self) -> Vec<Head> {
        heads(&columns())
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        let cols = columns();
        let backups = s.data.backup_jobs.iter().map(Job::Backup);
        let restores = s.data.restore_jobs.iter().map(Job::Restore);
        backups
            .chain(restores)
            .map(|j| row(s, &cols, &j, j.id()))
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        (4, true)
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let mut p = Pane::default();
        if let Some(j) = s.data.restore_jobs.iter().find(|j| j.id == key) {
            p.heading("Restore job")
                .field("Id", &j.id)
                .field("Status", &j.status)
                .field("Progress", j.percent_done.as_deref().unwrap_or("-"))
                .field("Recovery point", &j.recovery_point_arn)
                .field(
                    "Created resource",
                    j.created_resource_arn.as_deref().unwrap_or("-"),
                )
                .field("Created", when(s, j.created))
                .field("Completed", when(s, j.completed))
                .field("Validation", j.validation_status.as_deref().unwrap_or("-"))
                .field("Message", j.status_message.as_deref().unwrap_or("-"))
                .field(
                    "Testing plan",
                    j.restore_testing_plan.as_deref().unwrap_or("-"),
                );
        } else if let Some(j) = s.data.backup_jobs.iter().find(|j| j.id == key) {
            p.heading("Backup job")
                .field("Id", &j.id)
                .field("State", &j.state)
                .field("Resource", &j.resource_arn)
                .field("Vault", &j.vault)
                .field("Created", when(s, j.created))
                .field("Completed", when(s, j.completed))
                .field("Size", bytes(j.size_bytes))
                .field("Message", j.status_message.as_deref().unwrap_or("-"));
        }
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        if let Some(j) = s.data.restore_jobs.iter().find(|j| j.id == key) {
            out.push(link(
                "recovery point restored",
                Target::Select {
                    view: super::View::Points,
                    key: j.recovery_point_arn.clone(),
                },
            ));
            out.push(link(
                "CloudTrail events of this restore job",
                Target::Events(EventFilter::ResourceName(j.id.clone())),
            ));
        } else if let Some(j) = s.data.backup_jobs.iter().find(|j| j.id == key)
            && let Some(rp) = &j.recovery_point_arn
        {
            out.push(link(
                "recovery point created",
                Target::Select {
                    view: super::View::Points,
                    key: rp.clone(),
                },
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_support::now;
    use crate::guard::kms::ROTATE_NOW;

    const CREATED: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake-drill-1";

    fn restore(id: &str, status: &str, created: Option<&str>) -> RestoreJob {
        RestoreJob {
            id: id.into(),
            recovery_point_arn: "arn:aws:backup:us-east-1:123456789012:recovery-point:1".into(),
            resource_type: "DynamoDB".into(),
            status: status.into(),
            status_message: None,
            percent_done: None,
            created: Some(now()),
            completed: None,
            created_resource_arn: created.map(str::to_string),
            validation_status: None,
            restore_testing_plan: None,
            deletion_status: None,
        }
    }

    fn state() -> State {
        let mut s = State::new(
            now(),
            crate::app::keymap::Keymap::default_keymap(),
            Default::default(),
        );
        s.data.restore_jobs = vec![
            restore("r-done", "COMPLETED", Some(CREATED)),
            restore("r-running", "RUNNING", None),
            restore("r-bare", "COMPLETED", None),
            restore("r-failed", "FAILED", None),
            RestoreJob {
                deletion_status: Some("SUCCESSFUL".into()),
                ..restore("r-plan", "COMPLETED", Some(CREATED))
            },
        ];
        s.data.backup_jobs = vec![BackupJob {
            id: "b-1".into(),
            vault: "v".into(),
            resource_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake".into(),
            resource_type: "DynamoDB".into(),
            state: "COMPLETED".into(),
            status_message: None,
            created: Some(now()),
            completed: Some(now()),
            size_bytes: None,
            recovery_point_arn: None,
        }];
        s
    }

    #[test]
    fn a_validation_targets_a_completed_restore_job_and_says_why_not_otherwise() {
        let s = state();
        assert_eq!(
            Jobs.action_target(&s, "r-done", &JOB_ACTIONS[0]),
            Ok("r-done".into())
        );
        let e = Jobs
            .action_target(&s, "r-running", &JOB_ACTIONS[0])
            .unwrap_err();
        assert!(e.contains("is RUNNING") && e.contains("COMPLETED"), "{e}");
        let e = Jobs.action_target(&s, "b-1", &JOB_ACTIONS[0]).unwrap_err();
        assert!(e.contains("b-1 is a backup job"), "{e}");
        let e = Jobs.action_target(&s, "gone", &JOB_ACTIONS[0]).unwrap_err();
        assert!(e.contains("refresh"), "{e}");
        assert!(
            Jobs.action_prefill(&s, "r-done", &JOB_ACTIONS[0])
                .is_empty()
        );
    }

    #[test]
    fn a_cleanup_targets_what_the_restore_created_and_names_its_job() {
        let s = state();
        assert_eq!(
            Jobs.action_target(&s, "r-done", &JOB_ACTIONS[1]),
            Ok(CREATED.into())
        );
        assert_eq!(
            Jobs.action_prefill(&s, "r-done", &JOB_ACTIONS[1]),
            vec![(JOB.name, "r-done".to_string())]
        );
        let e = Jobs.action_target(&s, "b-1", &JOB_ACTIONS[1]).unwrap_err();
        assert!(
            e.contains("backup job") && e.contains("what a restore test created"),
            "{e}"
        );
        let e = Jobs
            .action_target(&s, "r-bare", &JOB_ACTIONS[1])
            .unwrap_err();
        assert!(e.contains("names no created resource"), "{e}");
        let e = Jobs
            .action_target(&s, "r-running", &JOB_ACTIONS[1])
            .unwrap_err();
        assert!(e.contains("is RUNNING") && e.contains("wait"), "{e}");
        let e = Jobs
            .action_target(&s, "r-failed", &JOB_ACTIONS[1])
            .unwrap_err();
        assert!(e.contains("ended FAILED") && !e.contains("wait"), "{e}");
        let e = Jobs
            .action_target(&s, "r-plan", &JOB_ACTIONS[1])
            .unwrap_err();
        assert!(e.contains("deletion SUCCESSFUL"), "{e}");
        // AWS Backup still takes its validation result.
        assert_eq!(
            Jobs.action_target(&s, "r-plan", &JOB_ACTIONS[0]),
            Ok("r-plan".into())
        );
        // Another action (none is offered here yet) takes the row key.
        let other = ActionBinding {
            name: "rotate_now",
            action: &ROTATE_NOW,
            keys: &[],
            describe: "",
            refresh: &[],
        };
        assert_eq!(Jobs.action_target(&s, "b-1", &other), Ok("b-1".into()));
    }
}
