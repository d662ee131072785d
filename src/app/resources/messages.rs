//! Messages of one queue: peeked (a recorded action), bodies hidden until revealed.
//!
//! A peek shows metadata only: the message id, sent time, receive count, FIFO group, the
//! names of the message attributes and the values of the attributes the profile lists as safe
//! (`safe_attributes`); every other value shows as `(hidden)` and is not searchable. A reveal
//! (`v`) shows the body with PHI-like values masked ([`crate::mask`]); a raw reveal (`V`) shows
//! it unmasked. Both are recorded in the audit log before anything shows, as distinct reveals.

use super::{Cell, Column, Detail, Head, Pane, Resource, col, heads, pretty, row, when};
use crate::app::links::{Link, Target, link};
use crate::app::rows::{Row, Tone, bytes, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::sqs::Message;

pub struct Messages;

/// How a revealed body is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// PHI-like values masked (`v`; recorded as `message_body`, masked=true).
    Masked,
    /// Unmasked (`V`; recorded as `message_body_raw`, masked=false).
    Raw,
}

/// What a hidden attribute value shows instead.
pub const HIDDEN: &str = "(hidden)";

/// Whether the value of attribute `name` may be shown: listed in the profile's
/// `safe_attributes`. Without a session nothing is.
pub fn attribute_shown(s: &State, name: &str) -> bool {
    s.session
        .as_ref()
        .is_some_and(|i| crate::session::settings::attribute_is_safe(&i.safe_attributes, name))
}

/// The value of attribute `name` as the view shows it: the value when safe, else `(hidden)`.
pub fn attribute_value<'a>(s: &State, name: &str, value: &'a str) -> &'a str {
    if attribute_shown(s, name) {
        value
    } else {
        HIDDEN
    }
}

/// The error a failed stage attached, if any: a safe error attribute's value, else `(hidden)`
/// when there is an error attribute whose value is not safe (the body never shows here and is
/// not searchable either).
fn error<'a>(s: &State, m: &'a Message) -> Option<&'a str> {
    let errors = || {
        m.attributes
            .iter()
            .filter(|(k, _)| k.to_ascii_lowercase().contains("error"))
    };
    errors()
        .find(|(k, _)| attribute_shown(s, k))
        .map(|(_, v)| v.as_str())
        .or_else(|| errors().next().map(|_| HIDDEN))
}

/// The body as the detail pane shows it: pretty-printed, masked unless revealed raw.
pub fn shown_body(m: &Message, shown: Shown) -> String {
    match shown {
        Shown::Masked => crate::mask::mask_body(&m.body),
        Shown::Raw => pretty(&m.body),
    }
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
    col("ERROR", 28, false, 0, |s, m| match error(s, m) {
        Some(HIDDEN) => Cell::text(HIDDEN, Tone::Muted),
        Some(e) => Cell::text(e, Tone::Danger),
        None => Cell::text("-", Tone::Normal),
    }),
    col("BODY", 9, false, 0, |s, m| {
        match s.data.revealed.get(&m.id) {
            Some(Shown::Masked) => Cell::text("MASKED", Tone::Warning),
            Some(Shown::Raw) => Cell::text("RAW", Tone::Danger),
            None => Cell::text("hidden", Tone::Muted),
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
            .field("Receive count", m.receive_count.to_string());
        // Pipelines often group by member or patient: the group id is an attribute like the
        // others, shown only when `MessageGroupId` is a safe attribute.
        if let Some(g) = &m.group_id {
            p.field("Group id", attribute_value(s, "MessageGroupId", g));
        }
        p.field("Size", bytes(Some(m.size as i64)));
        if !m.attributes.is_empty() {
            p.heading("Message attributes");
            for (k, v) in &m.attributes {
                p.field(k, attribute_value(s, k, v));
            }
            if m.attributes.keys().any(|k| !attribute_shown(s, k)) {
                p.note(
                    "(hidden): values of attributes not in the profile's safe_attributes",
                    Tone::Muted,
                );
            }
        }
        p.heading("Body");
        match s.data.revealed.get(&m.id) {
            Some(shown @ Shown::Masked) => {
                p.note(
                    "revealed on purpose, PHI-like values masked; recorded in the audit log (v hides it, V shows it unmasked)",
                    Tone::Warning,
                )
                .block(shown_body(m, *shown));
            }
            Some(shown @ Shown::Raw) => {
                p.note(
                    "revealed UNMASKED on purpose; recorded in the audit log as a raw reveal (V hides it, v masks it)",
                    Tone::Danger,
                )
                .block(shown_body(m, *shown));
            }
            None => {
                p.note(
                    "hidden: it may carry PHI. Press v to reveal it with PHI-like values masked, V to reveal it unmasked (each reveal is recorded in the audit log).",
                    Tone::Muted,
                );
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_support::{now, session_info};

    fn state(safe: Option<&[&str]>) -> State {
        let mut s = State::new(
            now(),
            crate::app::keymap::Keymap::default_keymap(),
            Default::default(),
        );
        if let Some(safe) = safe {
            let mut info = session_info(now());
            info.safe_attributes = safe.iter().map(|x| x.to_string()).collect();
            s.session = Some(info);
        }
        s.data.messages = vec![Message {
            id: "m-0001-abcdef".into(),
            sent: None,
            receive_count: 2,
            group_id: Some("provider-1".into()),
            size: 60,
            attributes: [
                ("errorCode", "BAD_CODE"),
                ("errorMessage", "patient Jane Roe 1980-01-02"),
                ("stage", "validation"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            body: r#"{"ssn":"123-45-6789"}"#.into(),
        }];
        s
    }

    fn pane(s: &State) -> String {
        format!("{:?}", Messages.detail(s, "m-0001-abcdef"))
    }

    #[test]
    fn only_safe_attribute_values_are_shown_or_searchable() {
        let s = state(Some(&["error_code", "stage"]));
        let rows = Messages.rows(&s);
        assert!(rows[0].cells.contains(&"BAD_CODE".to_string()));
        assert!(!rows[0].haystack.contains("jane"));
        let p = pane(&s);
        assert!(p.contains("BAD_CODE") && p.contains("validation"), "{p}");
        assert!(p.contains("errorMessage") && p.contains(HIDDEN), "{p}");
        assert!(!p.contains("Jane") && !p.contains("123-45-6789"), "{p}");
        assert!(
            !p.contains("provider-1"),
            "the FIFO group id is hidden unless MessageGroupId is safe: {p}"
        );
        let s = state(Some(&["error_code", "MessageGroupId"]));
        assert!(pane(&s).contains("provider-1"));

        // errorCode not safe: the ERROR column says so, and the value is nowhere.
        let s = state(Some(&["stage"]));
        let rows = Messages.rows(&s);
        assert!(
            rows[0].cells.contains(&HIDDEN.to_string()),
            "{:?}",
            rows[0].cells
        );
        assert!(!rows[0].haystack.contains("bad_code"));
        assert!(!pane(&s).contains("BAD_CODE"));

        // Without a session nothing is safe.
        let s = state(None);
        let p = pane(&s);
        assert!(!p.contains("BAD_CODE") && !p.contains("validation"), "{p}");
    }

    #[test]
    fn a_revealed_body_is_masked_unless_raw() {
        let mut s = state(Some(&[]));
        s.data
            .revealed
            .insert("m-0001-abcdef".into(), Shown::Masked);
        let p = pane(&s);
        assert!(p.contains("[SSN]") && !p.contains("123-45-6789"), "{p}");
        s.data.revealed.insert("m-0001-abcdef".into(), Shown::Raw);
        let p = pane(&s);
        assert!(p.contains("123-45-6789") && p.contains("UNMASKED"), "{p}");
    }
}
