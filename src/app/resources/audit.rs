//! This console's audit log (read from the file on every visit).

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row};
use crate::app::links::{Link, Target, link};
use crate::app::rows::{Row, Tone};
use crate::app::state::{Kind, State};
use crate::audit::{Kind as K, Record, Status};
use crate::cloud::cloudtrail::EventFilter;
use std::collections::HashSet;

pub struct Audit;

/// What an audit row reads: the state and the ids of the intents that have an outcome
/// (computed once per rebuild, not per row).
pub struct Ctx<'a> {
    answered: HashSet<&'a str>,
}

fn columns<'a>() -> [Column<Record, Ctx<'a>>; 7] {
    [
        col("SEQ", 5, true, 0, |_, r| {
            Cell::num(r.seq.to_string(), r.seq as f64, Tone::Muted)
        }),
        col("TIME", 19, false, 0, |_, r| {
            Cell::text(
                r.time
                    .replace('T', " ")
                    .chars()
                    .take(19)
                    .collect::<String>(),
                Tone::Normal,
            )
        }),
        col("KIND", 8, false, 0, |_, r| {
            let kind = match r.kind {
                K::Intent => "intent",
                K::Outcome => "outcome",
                K::Session => "session",
                K::Reveal => "reveal",
                K::Seal => "seal",
                K::Task => "task",
            };
            let tone = if matches!(r.kind, K::Intent | K::Outcome) {
                Tone::Warning
            } else {
                Tone::Normal
            };
            Cell::text(kind, tone)
        }),
        col("ACTION / EVENT", 24, false, 0, |_, r| {
            Cell::text(
                r.what
                    .as_ref()
                    .map(|w| w.action.clone())
                    .or_else(|| r.event.clone())
                    .unwrap_or_else(|| "-".into()),
                Tone::Normal,
            )
        }),
        col("TARGET", 30, false, 1, |_, r| {
            Cell::text(
                r.what
                    .as_ref()
                    .and_then(|w| w.targets.first().cloned())
                    .unwrap_or_default(),
                Tone::Normal,
            )
        }),
        col("OUTCOME", 12, false, 0, |c, r| match &r.outcome {
            Some(o) => match o.status {
                Status::Succeeded => Cell::text("succeeded", Tone::Normal),
                Status::Failed => Cell::text(
                    format!("FAILED {}", o.error_code.clone().unwrap_or_default()),
                    Tone::Danger,
                ),
                Status::Cancelled => Cell::text("cancelled", Tone::Warning),
                Status::Interrupted => Cell::text("INTERRUPTED", Tone::Danger),
            },
            None if matches!(r.kind, K::Intent) && !c.answered.contains(r.id.as_str()) => {
                Cell::text("UNFINISHED", Tone::Danger)
            }
            None => Cell::text("-", Tone::Normal),
        }),
        col("WHO", 16, false, 2, |_, r| {
            Cell::text(
                r.who
                    .as_ref()
                    .and_then(|w| w.os_user.clone())
                    .unwrap_or_default(),
                Tone::Normal,
            )
        }),
    ]
}

impl Resource for Audit {
    fn title(&self) -> &'static str {
        "Audit log"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "audit",
            aliases: &[],
            about: "this console's audit log",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Audit]
    }

    fn heads(&self) -> Vec<Head> {
        heads(&columns())
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        let ctx = Ctx {
            // Only an outcome answers an intent (a task record names its intent too).
            answered: s
                .data
                .audit
                .iter()
                .filter(|r| matches!(r.kind, K::Outcome))
                .filter_map(|r| r.intent_id.as_deref())
                .collect(),
        };
        let cols = columns();
        s.data
            .audit
            .iter()
            .map(|r| row(&ctx, &cols, r, &r.id))
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        (0, true)
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(r) = s.data.audit.iter().find(|r| r.id == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("Audit record {} ({:?})", r.seq, r.kind))
            .block(serde_json::to_string_pretty(r).unwrap_or_default());
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(r) = s.data.audit.iter().find(|r| r.id == key) else {
            return out;
        };
        // The other half of an intent/outcome pair (a task record names its intent too).
        if let Some(i) = &r.intent_id {
            out.push(link(
                if matches!(r.kind, K::Task) {
                    "the intent that started this task"
                } else {
                    "the intent this outcome answers"
                },
                Target::Select {
                    view: super::View::Audit,
                    key: i.clone(),
                },
            ));
        } else if let Some(o) =
            s.data.audit.iter().find(|o| {
                matches!(o.kind, K::Outcome) && o.intent_id.as_deref() == Some(r.id.as_str())
            })
        {
            out.push(link(
                "the outcome of this intent",
                Target::Select {
                    view: super::View::Audit,
                    key: o.id.clone(),
                },
            ));
        }
        let target = r
            .what
            .as_ref()
            .and_then(|w| w.targets.first().cloned())
            .or_else(|| {
                s.data
                    .audit
                    .iter()
                    .find(|i| Some(i.id.as_str()) == r.intent_id.as_deref())
                    .and_then(|i| i.what.as_ref()?.targets.first().cloned())
            });
        match (target, r.request_ids.first().cloned()) {
            (Some(t), Some(req)) => out.push(link(
                format!("the CloudTrail event of request {req}"),
                Target::EventsMatching {
                    filter: EventFilter::ResourceName(t),
                    local: req,
                },
            )),
            (Some(t), None) => out.push(link(
                "CloudTrail events of the target",
                Target::Events(EventFilter::ResourceName(t)),
            )),
            _ => {}
        }
        if let Some(si) = r.who.as_ref().and_then(|w| w.source_identity.clone()) {
            out.push(link(
                format!("events of source identity {si}"),
                Target::Events(EventFilter::Username(format!("phi-console-{si}"))),
            ));
        }
        out
    }
}
