//! AWS Backup vaults: lock, retention, points, key.

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, key_or, row, when};
use crate::app::links::{Link, Target, key_link, link};
use crate::app::rows::{Row, Tone, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::backup::BackupVault;
use crate::cloud::cloudtrail::EventFilter;

pub struct Vaults;

const COLUMNS: &[Column<BackupVault>] = &[
    col("NAME", 22, false, 0, |_, v| {
        Cell::text(&v.name, Tone::Normal)
    }),
    col("LOCK", 8, false, 0, |_, v| {
        if v.locked {
            Cell::text("LOCKED", Tone::Normal)
        } else {
            Cell::text("unlocked", Tone::Warning)
        }
    }),
    col("RETENTION", 11, false, 1, |_, v| {
        let r = match (v.min_retention_days, v.max_retention_days) {
            (Some(a), Some(b)) => format!("{a}-{b}d"),
            (Some(a), None) => format!("≥{a}d"),
            (None, Some(b)) => format!("≤{b}d"),
            (None, None) => "-".into(),
        };
        Cell::text(r, Tone::Normal)
    }),
    col("POINTS", 6, true, 0, |_, v| {
        Cell::num(
            v.recovery_points.to_string(),
            v.recovery_points as f64,
            Tone::Normal,
        )
    }),
    col("KMS KEY", 24, false, 1, |s, v| {
        Cell::text(key_or(s, v.encryption_key.as_deref(), "-"), Tone::Normal)
    }),
    col("CREATED", 16, false, 2, |_, v| {
        Cell::text(time_cell(v.created), Tone::Normal)
    }),
];

impl Resource for Vaults {
    fn title(&self) -> &'static str {
        "Backup vaults"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "vaults",
            aliases: &["backup", "backups", "vault"],
            about: "AWS Backup vaults",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Vaults, Kind::Keys]
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .vaults
            .iter()
            .map(|v| row(s, COLUMNS, v, &v.arn))
            .collect()
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(v) = s.data.vaults.iter().find(|v| v.arn == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("Vault {}", v.name))
            .field("ARN", &v.arn)
            .field(
                "Vault lock",
                if v.locked {
                    "LOCKED (compliance)"
                } else {
                    "not locked"
                },
            )
            .field(
                "Min / max retention",
                match (v.min_retention_days, v.max_retention_days) {
                    (None, None) => "not set (no vault lock)".to_string(),
                    (min, max) => format!(
                        "{} / {} days",
                        min.map(|d| d.to_string()).unwrap_or_else(|| "-".into()),
                        max.map(|d| d.to_string()).unwrap_or_else(|| "-".into())
                    ),
                },
            )
            .field("Lock date", when(s, v.lock_date))
            .field("Recovery points", v.recovery_points.to_string())
            .field("KMS key", key_or(s, v.encryption_key.as_deref(), "-"));
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(v) = s.data.vaults.iter().find(|v| v.arn == key) else {
            return out;
        };
        out.push(link(
            format!("recovery points in {}", v.name),
            Target::Filter {
                view: super::View::Points,
                filter: v.name.clone(),
            },
        ));
        if let Some(k) = &v.encryption_key {
            out.push(key_link(s, k));
        }
        out.push(link(
            "CloudTrail events of this vault",
            Target::Events(EventFilter::ResourceName(v.name.clone())),
        ));
        out
    }

    /// CloudTrail names a vault by its name, not its ARN.
    fn events_name(&self, s: &State, key: &str) -> String {
        s.data
            .vaults
            .iter()
            .find(|v| v.arn == key)
            .map(|v| v.name.clone())
            .unwrap_or_else(|| key.to_string())
    }
}
