//! Messages of one queue: peeked (a recorded action), bodies hidden until revealed.

use super::{Cell, Column, Detail, Head, Pane, Resource, col, heads, pretty, row, when};
use crate::app::links::{Link, Target, link};
use crate::app::rows::{Row, Tone, bytes, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::sqs::Message;

pub struct Messages;

/// The error a failed stage attached, if any (attribute values are shown; the body never is,
/// and is not searchable either).
fn error(m: &Message) -> Option<&str> {
    m.attributes
        .iter()
        .find(|(k, _)| k.to_ascii_lowercase().contains("error"))
        .map(|(_, v)| v.as_str())
}

const COLUMNS: &[Column<Message>] = &[
    col("MESSAGE ID", 12, false, 0, |_, m| {
        Cell::text(m.id.get(..8).unwrap_or(&m.id), Tone::Muted)
    }),
    col("SENT", 16, false, 0, |_, m| {
        Cell::text(time_cell(m.sent), Tone::Normal)
    }),
    col("RECEIVES", 8, true, 0, |_, m| {
        let tone = if m.receive_count > 1 {
            Tone::Warning
        } else {
            Tone::Normal
        };
        Cell::num(m.receive_count.to_string(), m.receive_count as f64, tone)
    }),
    col("SIZE", 8, true, 1, |_, m| {
        Cell::num(bytes(Some(m.size as i64)), m.size as f64, Tone::Normal)
    }),
    col("ERROR", 28, false, 0, |_, m| match error(m) {
        Some(e) => Cell::text(e, Tone::Danger),
        None => Cell::text("-", Tone::Normal),
    }),
    col("BODY", 9, false, 0, |s, m| {
        if s.data.revealed.contains(&m.id) {
            Cell::text("REVEALED", Tone::Warning)
        } else {
            Cell::text("hidden", Tone::Muted)
        }
    }),
];

impl Resource for Messages {
    fn title(&self) -> &'static str {
        "Messages (bodies hidden)"
    }

    /// Reached only from a queue's link (a peek is planned and confirmed first).
    fn command(&self) -> Option<super::Command> {
        None
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::Messages]
    }

    /// Visiting never receives: a peek is planned and confirmed.
    fn unloaded_hint(&self) -> Option<&'static str> {
        Some("not peeked (r plans a peek)")
    }

    fn heads(&self) -> Vec<Head> {
        heads(COLUMNS)
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        s.data
            .messages
            .iter()
            .map(|m| row(s, COLUMNS, m, &m.id))
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        (1, true)
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(m) = s.data.messages.iter().find(|m| m.id == key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading("Message")
            .field("Message id", &m.id)
            .field("Sent", when(s, m.sent))
            .field("Receive count", m.receive_count.to_string())
            .field("Size", bytes(Some(m.size as i64)));
        if !m.attributes.is_empty() {
            p.heading("Message attributes");
            for (k, v) in &m.attributes {
                p.field(k, v);
            }
        }
        p.heading("Body");
        if s.data.revealed.contains(&m.id) {
            p.note(
                "revealed on purpose; recorded in the audit log (v hides it)",
                Tone::Warning,
            )
            .block(pretty(&m.body));
        } else {
            p.note(
                "hidden: it may carry PHI. Press v to reveal it (the reveal is recorded in the audit log).",
                Tone::Muted,
            );
        }
        p.0
    }

    fn links(&self, s: &State, _key: &str) -> Vec<Link> {
        match &s.data.messages_queue {
            Some((_, arn)) => vec![link(
                "the queue",
                Target::Select {
                    view: super::View::Queues,
                    key: arn.clone(),
                },
            )],
            None => Vec::new(),
        }
    }
}
