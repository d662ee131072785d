//! Backup plans and restore testing plans, in one list.

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row, when};
use crate::app::links::Link;
use crate::app::rows::{Row, Tone, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::backup::{BackupPlan, RestoreTestingPlan};

pub struct Plans;

/// A row of the plans list.
pub enum Plan<'a> {
    Backup(&'a BackupPlan),
    RestoreTesting(&'a RestoreTestingPlan),
}

fn columns<'a>() -> [Column<Plan<'a>>; 4] {
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
        &[Kind::Plans, Kind::TestingPlans]
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
        }
        p.0
    }

    fn links(&self, _s: &State, _key: &str) -> Vec<Link> {
        Vec::new()
    }
}
