//! SNS topics: subscriptions, protocols, key, data protection.

use super::{
    Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, key_or, pending_row, pretty,
    row, unknown,
};
use crate::app::links::{Link, Target, key_link, link, short};
use crate::app::rows::{Row, Tone};
use crate::app::state::{Kind, State};
use crate::cloud::cloudtrail::EventFilter;
use crate::cloud::sns::Topic;

pub struct Topics;

fn kind(t: &Topic) -> &'static str {
    if t.fifo { "FIFO" } else { "STD" }
}

const COLUMNS: &[Column<Topic>] = &[
    col("NAME", 26, false, 0, |_, t| {
        Cell::text(&t.name, Tone::Normal)
    }),
    col("TYPE", 4, false, 2, |_, t| {
        Cell::text(kind(t), Tone::Normal)
    }),
    col("SUBS", 4, true, 0, |_, t| {
        let n = t.subscriptions.len();
        Cell::num(n.to_string(), n as f64, Tone::Normal)
    }),
    col("PROTOCOLS", 10, false, 2, |_, t| {
        let mut protos: Vec<&str> = t
            .subscriptions
            .iter()
            .map(|x| x.protocol.as_str())
            .collect();
        protos.sort();
        protos.dedup();
        Cell::text(protos.join(","), Tone::Normal)
    }),
    col("KMS KEY", 24, false, 1, |s, t| match &t.kms_key {
        Some(k) => Cell::text(s.key_name(k), Tone::Normal),
        None => Cell::text("NONE", Tone::Danger),
    }),
    col("DATA PROTECTION", 15, false, 1, |_, t| {
        Cell::text(
            if t.data_protection_policy.is_some() {
                "yes"
            } else {
                "no"
            },
            Tone::Normal,
        )
    }),
];

impl Resource for Topics {
    fn title(&self) -> &'static str {
        "Topics"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "topics",
            aliases: &["sns", "topic"],
            about: "SNS topics and subscriptions",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Topics, Kind::Keys]
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .topics
            .iter()
            .map(|t| match unknown(s, Kind::Topics, &t.arn) {
                Some(why) => pending_row(COLUMNS.len(), &t.name, kind(t), &t.arn, why),
                None => row(s, COLUMNS, t, &t.arn),
            })
            .collect()
    }

    fn listed_columns(&self) -> usize {
        2
    }

    fn fetch_id(&self, _s: &State, key: &str) -> Option<String> {
        Some(key.to_string())
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(t) = s.data.topics.iter().find(|t| t.arn == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("Topic {}", t.name))
            .field("ARN", &t.arn)
            .field("KMS key", key_or(s, t.kms_key.as_deref(), "NONE"));
        p.heading("Subscriptions");
        for sub in &t.subscriptions {
            p.field(
                &sub.protocol,
                format!(
                    "{}{}{}",
                    sub.endpoint,
                    if sub.raw_delivery {
                        "  raw"
                    } else {
                        "  envelope"
                    },
                    sub.filter_policy
                        .as_deref()
                        .map(|f| format!("  filter {f}"))
                        .unwrap_or_default()
                ),
            );
        }
        p.heading("Data protection policy");
        match &t.data_protection_policy {
            Some(d) => p.block(pretty(d)),
            None => p.note("none", Tone::Warning),
        };
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(t) = s.data.topics.iter().find(|t| t.arn == key) else {
            return out;
        };
        for sub in t.subscriptions.iter().filter(|x| x.protocol == "sqs") {
            out.push(link(
                format!("subscribed queue {}", short(&sub.endpoint)),
                Target::Select {
                    view: super::View::Queues,
                    key: sub.endpoint.clone(),
                },
            ));
        }
        if let Some(k) = &t.kms_key {
            out.push(key_link(s, k));
        }
        out.push(link(
            "CloudTrail events of this topic",
            Target::Events(EventFilter::ResourceName(t.arn.clone())),
        ));
        out
    }
}
