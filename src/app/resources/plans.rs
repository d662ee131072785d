//! Backup plans and restore testing plans, in one list.

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row, when};
use crate::app::links::Link;
use crate::app::rows::{Row, Tone, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::backup::{BackupPlan, RestoreJob, RestoreTestingPlan, RestoreTestingSelection};

pub struct Plans;

/// A row of the plans list.
pub enum Plan<'a> {
    Backup(&'a BackupPlan),
    RestoreTesting(&'a RestoreTestingPlan),
}

/// A restore testing plan's selections, if read.
fn selections<'a>(
    s: &'a State,
    plan: &RestoreTestingPlan,
) -> Option<&'a Result<Vec<RestoreTestingSelection>, String>> {
    s.data
        .testing_selections
        .iter()
        .find(|(name, _)| *name == plan.name)
        .map(|(_, r)| r)
}

/// The restore jobs a restore testing plan started, newest first.
fn results<'a>(s: &'a State, plan: &RestoreTestingPlan) -> Vec<&'a RestoreJob> {
    let mut jobs: Vec<&RestoreJob> = s
        .data
        .restore_jobs
        .iter()
        .filter(|j| j.restore_testing_plan.as_deref() == Some(plan.arn.as_str()))
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.created));
    jobs
}

/// A restore job's result in a few words: its status, the validation, the deletion.
fn result_words(j: &RestoreJob) -> String {
    let mut out = j.status.clone();
    if let Some(v) = &j.validation_status {
        out.push_str(&format!(", validation {v}"));
    }
    if let Some(d) = &j.deletion_status {
        out.push_str(&format!(", deletion {d}"));
    }
    out
}

fn columns<'a>() -> [Column<Plan<'a>>; 6] {
    [
        col("KIND", 20, false, 1, |_, p| match p {
            Plan::Backup(_) => Cell::text("backup plan", Tone::Normal),
            Plan::RestoreTesting(_) => Cell::text("restore testing plan", Tone::Normal),
        }),
        col("NAME", 28, false, 0, |_, p| match p {
            Plan::Backup(b) => Cell::text(&b.name, Tone::Normal),
            Plan::RestoreTesting(r) => Cell::text(&r.name, Tone::Normal),
        }),
        col("SCHEDULE", 24, false, 0, |_, p| match p {
            Plan::Backup(_) => Cell::text("-", Tone::Muted),
            Plan::RestoreTesting(r) => Cell::text(&r.schedule, Tone::Normal),
        }),
        col("LAST RUN", 16, false, 1, |_, p| match p {
            Plan::Backup(b) => Cell::text(time_cell(b.last_execution), Tone::Normal),
            Plan::RestoreTesting(r) => Cell::text(time_cell(r.last_execution), Tone::Normal),
        }),
        col("SELECTIONS", 10, true, 2, |s, p| match p {
            Plan::Backup(_) => Cell::text("-", Tone::Muted),
            Plan::RestoreTesting(r) => match selections(s, r) {
                Some(Ok(v)) => Cell::text(v.len().to_string(), Tone::Normal),
                Some(Err(_)) => Cell::text("unreadable", Tone::Warning),
                None => Cell::text("-", Tone::Muted),
            },
        }),
        col("LAST RESULT", 30, false, 2, |s, p| match p {
            Plan::Backup(_) => Cell::text("-", Tone::Muted),
            Plan::RestoreTesting(r) => match results(s, r).first() {
                Some(j) => Cell::text(
                    result_words(j),
                    match (j.status.as_str(), j.validation_status.as_deref()) {
                        ("FAILED" | "ABORTED", _) | (_, Some("FAILED" | "TIMED_OUT")) => {
                            Tone::Danger
                        }
                        _ => Tone::Normal,
                    },
                ),
                None => Cell::text("no run yet", Tone::Muted),
            },
        }),
    ]
}

impl Resource for Plans {
    fn title(&self) -> &'static str {
        "Backup and restore testing plans"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "plans",
            aliases: &["plan"],
            about: "backup plans and restore testing plans",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Plans, Kind::TestingPlans, Kind::RestoreJobs]
    }

    fn heads(&self) -> Vec<Head> {
        heads(&columns())
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        let cols = columns();
        let backups = s
            .data
            .plans
            .iter()
            .map(|p| row(s, &cols, &Plan::Backup(p), &p.arn));
        let tests = s
            .data
            .testing_plans
            .iter()
            .map(|p| row(s, &cols, &Plan::RestoreTesting(p), &p.arn));
        backups.chain(tests).collect()
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let mut p = Pane::default();
        if let Some(b) = s.data.plans.iter().find(|p| p.arn == key) {
            p.heading(format!("Backup plan {}", b.name))
                .field("ARN", &b.arn)
                .field("Last run", when(s, b.last_execution));
        } else if let Some(r) = s.data.testing_plans.iter().find(|p| p.arn == key) {
            p.heading(format!("Restore testing plan {}", r.name))
                .field("ARN", &r.arn)
                .field("Schedule", &r.schedule)
                .field("Last run", when(s, r.last_execution));
            match selections(s, r) {
                Some(Ok(v)) if v.is_empty() => {
                    p.heading("Selections")
                        .field("-", "none: the plan restores nothing");
                }
                Some(Ok(v)) => {
                    p.heading("Selections");
                    for sel in v {
                        p.field(
                            &sel.name,
                            format!(
                                "{}, validation window {} h, as {}",
                                sel.resource_type, sel.validation_window_hours, sel.iam_role_arn
                            ),
                        );
                    }
                }
                Some(Err(e)) => {
                    p.heading("Selections").field("unreadable", e);
                }
                None => {}
            }
            let jobs = results(s, r);
            p.heading("Last results");
            if jobs.is_empty() {
                p.field("-", "no restore job of this plan yet");
            }
            for j in jobs.iter().take(10) {
                p.field(
                    when(s, j.created),
                    format!("{} ({})", result_words(j), j.id),
                );
            }
        }
        p.0
    }

    fn links(&self, _s: &State, _key: &str) -> Vec<Link> {
        Vec::new()
    }
}
