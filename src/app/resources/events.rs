//! CloudTrail events: paged lazily, filtered server-side (`:events name=…`).

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, pretty, row};
use crate::app::links::{Link, Target, link, short};
use crate::app::rows::{Row, Tone};
use crate::app::state::{Kind, State};
use crate::cloud::cloudtrail::{EventFilter, TrailEvent};

pub struct Events;

const COLUMNS: &[Column<TrailEvent>] = &[
    col("TIME", 19, false, 0, |_, e| {
        Cell::text(
            e.time
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            Tone::Normal,
        )
    }),
    col("EVENT", 24, false, 0, |_, e| {
        let tone = if e.read_only == Some(false) {
            Tone::Warning
        } else {
            Tone::Normal
        };
        Cell::text(&e.name, tone)
    }),
    col("SOURCE", 22, false, 1, |_, e| {
        Cell::text(&e.source, Tone::Normal)
    }),
    col("USER", 20, false, 1, |_, e| {
        Cell::text(e.username.as_deref().unwrap_or("-"), Tone::Normal)
    }),
    col("RO", 3, false, 2, |_, e| {
        Cell::text(
            match e.read_only {
                Some(true) => "yes",
                Some(false) => "no",
                None => "-",
            },
            Tone::Normal,
        )
    }),
    col("RESOURCE", 30, false, 2, |_, e| {
        Cell::text(
            e.resources.first().map(|(_, n)| n.as_str()).unwrap_or(""),
            Tone::Normal,
        )
    }),
];

impl Resource for Events {
    fn title(&self) -> &'static str {
        "CloudTrail events"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "events",
            aliases: &["ct", "cloudtrail", "trail"],
            about: "CloudTrail events [source=|name=|user=|resource=|type=|readonly=]",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Events]
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .events
            .iter()
            .map(|e| {
                let mut r = row(s, COLUMNS, e, &e.id);
                // The request id is searchable, so an audit record can find its call.
                if let Some(id) = &e.request_id {
                    r.haystack.push(' ');
                    r.haystack.push_str(&id.to_lowercase());
                }
                r
            })
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        (0, true)
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(e) = s.data.events.iter().find(|e| e.id == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("{} ({})", e.name, e.source));
        if let Some(si) = &e.source_identity {
            p.field("Source identity", si);
        }
        p.block(pretty(&e.raw));
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(e) = s.data.events.iter().find(|e| e.id == key) else {
            return out;
        };
        for (_, name) in &e.resources {
            if s.data.queues.iter().any(|q| &q.arn == name) {
                out.push(link(
                    format!("queue {}", short(name)),
                    Target::Select {
                        view: super::View::Queues,
                        key: name.clone(),
                    },
                ));
            } else if s.data.topics.iter().any(|t| &t.arn == name) {
                out.push(link(
                    format!("topic {}", short(name)),
                    Target::Select {
                        view: super::View::Topics,
                        key: name.clone(),
                    },
                ));
            } else if s.data.keys.iter().any(|k| &k.arn == name) {
                out.push(link(
                    format!("key {}", s.key_name(name)),
                    Target::Select {
                        view: super::View::Keys,
                        key: name.clone(),
                    },
                ));
            }
        }
        // CloudTrail's user name of a role session is its session name.
        if let Some(user) = &e.username {
            let label = match &e.source_identity {
                Some(si) => format!("events of user {user} (source identity {si})"),
                None => format!("events of user {user}"),
            };
            out.push(link(
                label,
                Target::Events(EventFilter::Username(user.clone())),
            ));
        }
        out
    }
}
