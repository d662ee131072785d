//! KMS keys: state, rotation, blast radius; the rotation actions.

use super::{
    ActionBinding, Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, pending_row,
    pretty, row, unknown, when,
};
use crate::app::links::{Link, Target, blast_radius, link};
use crate::app::rows::{Row, Tone};
use crate::app::state::{Kind, State};
use crate::cloud::cloudtrail::EventFilter;
use crate::cloud::kms::{Key, ON_DEMAND_ROTATION_QUOTA};
use crate::guard::kms;

pub struct Keys;

fn alias(k: &Key) -> &str {
    k.aliases
        .first()
        .map(String::as_str)
        .unwrap_or("(no alias)")
}

fn short_id(k: &Key) -> String {
    k.id.chars().take(8).collect()
}

fn day(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

/// (shown, tone, period, next) of the rotation columns.
fn rotation(k: &Key) -> (&'static str, Tone, String, String) {
    match &k.rotation {
        Some(r) if r.enabled => (
            if r.on_demand_started.is_some() {
                "rotating"
            } else {
                "on"
            },
            Tone::Normal,
            r.period_days
                .map(|p| p.to_string())
                .unwrap_or_else(|| "-".into()),
            day(r.next),
        ),
        Some(_) if !k.customer_managed => ("aws", Tone::Muted, "365".into(), "-".into()),
        Some(_) => ("OFF", Tone::Danger, "-".into(), "-".into()),
        None => ("n/a", Tone::Muted, "-".into(), "-".into()),
    }
}

const COLUMNS: &[Column<Key>] = &[
    col("ALIAS", 28, false, 0, |_, k| {
        Cell::text(alias(k), Tone::Normal)
    }),
    col("KEY ID", 8, false, 3, |_, k| {
        Cell::text(short_id(k), Tone::Muted)
    }),
    col("STATE", 15, false, 1, |_, k| {
        let tone = if k.state == "Enabled" {
            Tone::Normal
        } else {
            Tone::Warning
        };
        Cell::text(&k.state, tone)
    }),
    col("SPEC", 17, false, 2, |_, k| {
        Cell::text(&k.spec, Tone::Normal)
    }),
    col("MANAGER", 8, false, 2, |_, k| {
        Cell::text(
            if k.customer_managed {
                "CUSTOMER"
            } else {
                "AWS"
            },
            Tone::Normal,
        )
    }),
    col("ROTATION", 8, false, 0, |_, k| {
        let (shown, tone, _, _) = rotation(k);
        Cell::text(shown, tone)
    }),
    col("PERIOD", 6, true, 1, |_, k| {
        let (_, _, period, _) = rotation(k);
        let v = period.parse().unwrap_or(0.0);
        Cell::num(period, v, Tone::Normal)
    }),
    col("NEXT ROTATION", 13, false, 1, |_, k| {
        Cell::text(rotation(k).3, Tone::Normal)
    }),
    col("LAST ROTATION", 13, false, 3, |_, k| {
        Cell::text(day(k.last_rotation()), Tone::Normal)
    }),
    col("ON-DEMAND", 9, true, 2, |_, k| {
        Cell::num(
            format!("{}/{}", k.on_demand_used(), ON_DEMAND_ROTATION_QUOTA),
            k.on_demand_used() as f64,
            Tone::Normal,
        )
    }),
];

/// The rotation actions (guarded: plan, typed name, reason, MFA step-up, audit record).
const ACTIONS: &[ActionBinding] = &[
    ActionBinding {
        name: "rotate_now",
        action: &kms::ROTATE_NOW,
        keys: &["R"],
        describe: "rotate the selected KMS key now (on demand; guarded)",
        refresh: &[Kind::Keys],
    },
    ActionBinding {
        name: "enable_rotation",
        action: &kms::ENABLE_ROTATION,
        keys: &["A"],
        describe: "enable automatic rotation / change its period (guarded)",
        refresh: &[Kind::Keys],
    },
    ActionBinding {
        name: "disable_rotation",
        action: &kms::DISABLE_ROTATION,
        keys: &["D"],
        describe: "disable automatic rotation (guarded)",
        refresh: &[Kind::Keys],
    },
];

impl Resource for Keys {
    fn title(&self) -> &'static str {
        "KMS keys"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "keys",
            aliases: &["kms", "key"],
            about: "KMS keys, rotation and blast radius",
        })
    }

    /// Queues, topics and vaults too: the detail pane shows what each key encrypts.
    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Keys, Kind::Queues, Kind::Topics, Kind::Vaults]
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .keys
            .iter()
            .map(|k| match unknown(s, Kind::Keys, &k.id) {
                Some(why) => pending_row(COLUMNS.len(), alias(k), &short_id(k), &k.arn, why),
                None => row(s, COLUMNS, k, &k.arn),
            })
            .collect()
    }

    fn listed_columns(&self) -> usize {
        2
    }

    fn fetch_id(&self, s: &State, key: &str) -> Option<String> {
        s.data
            .keys
            .iter()
            .find(|k| k.arn == key)
            .map(|k| k.id.clone())
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(k) = s.data.keys.iter().find(|k| k.arn == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("Key {}", k.display_name()))
            .field("ARN", &k.arn)
            .field("Aliases", k.aliases.join(", "))
            .field("Description", &k.description)
            .field("State", &k.state)
            .field("Spec / usage", format!("{} / {}", k.spec, k.usage))
            .field(
                "Manager / origin",
                format!(
                    "{} / {}",
                    if k.customer_managed {
                        "customer"
                    } else {
                        "AWS"
                    },
                    k.origin
                ),
            );
        match (&k.rotation, k.rotation_unsupported()) {
            (Some(r), _) => {
                p.field(
                    "Automatic rotation",
                    if r.enabled { "enabled" } else { "DISABLED" },
                )
                .field(
                    "Rotation period",
                    r.period_days
                        .map(|d| format!("{d} days"))
                        .unwrap_or_else(|| "-".into()),
                )
                .field("Next rotation", when(s, r.next));
                if let Some(st) = r.on_demand_started {
                    p.field(
                        "On-demand rotation",
                        format!("in progress since {}", when(s, Some(st))),
                    );
                }
            }
            (None, Some(why)) => {
                p.field("Rotation", format!("not supported: {why}"));
            }
            (None, None) => {
                p.field("Rotation", format!("unavailable while {}", k.state));
            }
        }
        p.field(
            "On-demand rotations",
            format!("{} of {}", k.on_demand_used(), ON_DEMAND_ROTATION_QUOTA),
        );
        if !k.rotations.is_empty() {
            p.heading("Rotation history");
            for r in k.rotations.iter().rev() {
                p.field(
                    if r.on_demand {
                        "on demand"
                    } else {
                        "automatic"
                    },
                    when(s, r.date),
                );
            }
        }
        p.heading("Blast radius (what this key encrypts)");
        let radius = blast_radius(s, k);
        if radius.is_empty() {
            p.note("no loaded queue, topic or vault uses this key", Tone::Muted);
        }
        for (_, _, label) in radius {
            p.note(format!("• {label}"), Tone::Normal);
        }
        if !k.tags.is_empty() {
            p.heading("Tags");
            for (tk, tv) in &k.tags {
                p.field(tk, tv);
            }
        }
        p.heading("Key policy");
        match &k.policy {
            Some(pol) => p.block(pretty(pol)),
            None => p.note("not readable with this session", Tone::Muted),
        };
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(k) = s.data.keys.iter().find(|k| k.arn == key) else {
            return out;
        };
        for (view, arn, label) in blast_radius(s, k) {
            out.push(link(label, Target::Select { view, key: arn }));
        }
        out.push(link(
            "CloudTrail events of this key",
            Target::Events(EventFilter::ResourceName(k.arn.clone())),
        ));
        out
    }

    fn actions(&self) -> &'static [ActionBinding] {
        ACTIONS
    }
}
