//! Backup and restore jobs, in one list.

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row, when};
use crate::app::links::{Link, Target, link, short};
use crate::app::rows::{Row, Tone, bytes, duration, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::backup::{BackupJob, RestoreJob};
use crate::cloud::cloudtrail::EventFilter;

pub struct Jobs;

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

impl Resource for Jobs {
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
