//! Recovery points: resource, vault, age (the RPO it proves).

use super::{
    ActionBinding, Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, key_or, row,
    when,
};
use crate::app::links::{Link, Target, link, short};
use crate::app::rows::{Row, Tone, age, bytes, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::backup::RecoveryPoint;
use crate::cloud::cloudtrail::EventFilter;

pub struct Points;

/// A restore test from the selected recovery point (guarded, long-running: followed to its end).
const POINT_ACTIONS: &[ActionBinding] = &[
    ActionBinding {
        name: "restore_test",
        action: &crate::guard::restore::START_RESTORE,
        keys: &["T"],
        describe: "restore test: restore this recovery point into a NEW resource (<source>-drill-<time>, never over the source) with the profile's restore_role_arn, followed to its end (guarded)",
        refresh: &[Kind::RestoreJobs, Kind::Points],
    },
    ActionBinding {
        name: "restore_test_latest",
        action: &crate::guard::restore::START_RESTORE,
        keys: &["L"],
        describe: "restore test of the latest: restore the newest COMPLETED recovery point of this row's resource (in its vault, read when planned) into a NEW resource, as T does (guarded)",
        refresh: &[Kind::RestoreJobs, Kind::Points],
    },
];

/// The `restore_test_latest` binding: its target is the row's resource, not the row.
fn latest(binding: &ActionBinding) -> bool {
    binding.name == POINT_ACTIONS[1].name
}

/// A point older than this is shown as a warning (a daily plan has missed a run).
const STALE_SECS: f64 = 36.0 * 3600.0;

const COLUMNS: &[Column<RecoveryPoint>] = &[
    col("RESOURCE", 22, false, 0, |_, p| {
        Cell::text(
            p.resource_name
                .as_deref()
                .unwrap_or_else(|| short(&p.resource_arn)),
            Tone::Normal,
        )
    }),
    col("TYPE", 8, false, 1, |_, p| {
        Cell::text(&p.resource_type, Tone::Normal)
    }),
    col("VAULT", 20, false, 2, |_, p| {
        Cell::text(&p.vault, Tone::Normal)
    }),
    col("CREATED", 16, false, 0, |_, p| {
        Cell::text(time_cell(p.created), Tone::Normal)
    }),
    col("SIZE", 9, true, 1, |_, p| {
        Cell::num(
            bytes(p.size_bytes),
            p.size_bytes.unwrap_or(0) as f64,
            Tone::Normal,
        )
    }),
    col("STATUS", 9, false, 0, |_, p| {
        let tone = if p.status == "COMPLETED" {
            Tone::Normal
        } else {
            Tone::Warning
        };
        Cell::text(&p.status, tone)
    }),
    col("AGE (RPO)", 9, true, 0, |s, p| {
        let (shown, secs) = age(s.now, p.created);
        let tone = if secs > STALE_SECS {
            Tone::Warning
        } else {
            Tone::Normal
        };
        Cell::num(shown, secs, tone)
    }),
];

impl Resource for Points {
    fn actions(&self) -> &'static [ActionBinding] {
        POINT_ACTIONS
    }

    /// `T` restores the row's recovery point; `L` the newest COMPLETED one of its resource.
    fn action_target(
        &self,
        s: &State,
        key: &str,
        binding: &ActionBinding,
    ) -> Result<String, String> {
        if !latest(binding) {
            return Ok(key.to_string());
        }
        s.data
            .points
            .iter()
            .find(|p| p.arn == key)
            .map(|p| p.resource_arn.clone())
            .ok_or_else(|| {
                format!("{key} is not in the loaded list: refresh (r) and select it again")
            })
    }

    /// `L` searches the row's vault for its resource's newest point.
    fn action_prefill(
        &self,
        s: &State,
        key: &str,
        binding: &ActionBinding,
    ) -> Vec<(&'static str, String)> {
        match s.data.points.iter().find(|p| p.arn == key) {
            Some(p) if latest(binding) => {
                vec![(crate::guard::restore::VAULT.name, p.vault.clone())]
            }
            _ => Vec::new(),
        }
    }

    fn title(&self) -> &'static str {
        "Recovery points"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "points",
            aliases: &["rp", "recovery-points"],
            about: "recovery points",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Points]
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .points
            .iter()
            .map(|p| row(s, COLUMNS, p, &p.arn))
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        (3, true)
    }

    /// Points are listed per vault: a progressive load counts vaults.
    fn pending_noun(&self) -> &'static str {
        "vaults"
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(pt) = s.data.points.iter().find(|p| p.arn == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading("Recovery point")
            .field("ARN", &pt.arn)
            .field("Resource", &pt.resource_arn)
            .field("Type", &pt.resource_type)
            .field("Vault", &pt.vault)
            .field("Status", &pt.status)
            .field("Created", when(s, pt.created))
            .field("Age (RPO)", age(s.now, pt.created).0)
            .field("Size", bytes(pt.size_bytes))
            .field("Delete at", when(s, pt.delete_at))
            .field("Last restore", when(s, pt.last_restore))
            .field("KMS key", key_or(s, pt.encryption_key.as_deref(), "-"));
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(p) = s.data.points.iter().find(|p| p.arn == key) else {
            return out;
        };
        if let Some(v) = s.data.vaults.iter().find(|v| v.name == p.vault) {
            out.push(link(
                format!("vault {}", v.name),
                Target::Select {
                    view: super::View::Vaults,
                    key: v.arn.clone(),
                },
            ));
        }
        out.push(link(
            "restore jobs of this resource type",
            Target::Filter {
                view: super::View::Jobs,
                filter: "restore".into(),
            },
        ));
        out.push(link(
            "CloudTrail events of this recovery point",
            Target::Events(EventFilter::ResourceName(p.arn.clone())),
        ));
        out
    }
}
