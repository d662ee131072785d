//! Which dead-lettered messages a selective redrive moves: every `attr=value` condition holds
//! (message attributes, compared exactly), the message was sent inside the time window, and,
//! with a list of claim ids, its id attribute is one of them. Pure: parsed from the operator's
//! input with messages that name the fix, matched with no I/O.

use crate::cloud::sqs_batch::Received;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeSet;

/// The most `attr=value` conditions one filter takes.
pub const MAX_WHERES: usize = 10;
/// The most claim ids one filter takes (a file of them).
pub const MAX_IDS: usize = 10_000;
/// The most bytes of claim ids one filter takes: they are recorded in the run's intent, which
/// must fit an audit record (1 MiB).
pub const MAX_IDS_BYTES: usize = 256 << 10;
/// The attribute a claim id is compared with.
pub const ID_ATTRIBUTE: &str = "claim_id";

/// One `attr=value` condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Where {
    pub attribute: String,
    pub value: String,
}

/// The conditions a message must meet to be moved; an empty filter matches every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub wheres: Vec<Where>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Claim ids (compared with the `claim_id` attribute).
    pub ids: Option<BTreeSet<String>>,
}

fn one_line(what: &str, s: &str) -> Result<(), String> {
    if s.chars().any(char::is_control) {
        return Err(format!(
            "{what} must be one line of text without control characters"
        ));
    }
    Ok(())
}

/// `attr=value`: an attribute name (letters, digits, `_ - .`, at most 256) and any value.
pub fn parse_where(s: &str) -> Result<Where, String> {
    let Some((name, value)) = s.split_once('=') else {
        return Err(format!(
            "'{}' is not a condition: write attribute=value, e.g. error_code=VALIDATION_TIMEOUT",
            shown(s)
        ));
    };
    let name = name.trim();
    if name.is_empty()
        || name.len() > 256
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(format!(
            "'{}' is not a message attribute name: use letters, digits, '_', '-' and '.' (at most 256), e.g. stage=fraud",
            shown(name)
        ));
    }
    one_line("a condition's value", value)?;
    if value.len() > 1024 {
        return Err("a condition's value is too long (at most 1,024 bytes)".into());
    }
    Ok(Where {
        attribute: name.to_string(),
        value: value.to_string(),
    })
}

/// A time: RFC 3339 (`2026-11-30T08:00:00Z`) or a day (`2026-11-30`, its midnight UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        && let Some(dt) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(dt.and_utc());
    }
    Err(format!(
        "'{}' is not a time: write 2026-11-30T08:00:00Z (RFC 3339, with its offset) or a day, 2026-11-30",
        shown(t)
    ))
}

/// Claim ids, one a line; blank lines and lines starting with `#` are skipped. A bad line is
/// named by its number.
pub fn parse_ids(text: &str) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let mut bytes = 0usize;
    for (n, line) in text.lines().enumerate() {
        let id = line.trim();
        if id.is_empty() || id.starts_with('#') {
            continue;
        }
        if id.len() > 256 || id.chars().any(char::is_control) || id.contains(char::is_whitespace) {
            return Err(format!(
                "line {}: '{}' is not a claim id (one id a line, no spaces, at most 256 bytes)",
                n + 1,
                shown(id)
            ));
        }
        bytes += id.len() + 1;
        if bytes > MAX_IDS_BYTES {
            return Err(format!(
                "the claim ids come to more than {} KiB (recorded in the audit log with the run): split the file and run one redrive per part",
                MAX_IDS_BYTES >> 10
            ));
        }
        out.insert(id.to_string());
        if out.len() > MAX_IDS {
            return Err(format!(
                "more than {MAX_IDS} claim ids: split the file and run one redrive per part"
            ));
        }
    }
    if out.is_empty() {
        return Err("the file of claim ids has no id: write one claim id a line".into());
    }
    Ok(out)
}

fn shown(s: &str) -> String {
    let mut t: String = s.chars().filter(|c| !c.is_control()).take(60).collect();
    if s.chars().count() > 60 {
        t.push('…');
    }
    t
}

impl Filter {
    /// Checks the filter as a whole (each part was parsed on its own).
    pub fn check(&self) -> Result<(), String> {
        if self.wheres.len() > MAX_WHERES {
            return Err(format!(
                "{} conditions: at most {MAX_WHERES}",
                self.wheres.len()
            ));
        }
        if let (Some(s), Some(u)) = (self.since, self.until)
            && s >= u
        {
            return Err(format!(
                "the window is empty: --since ({}) must be before --until ({})",
                s.to_rfc3339(),
                u.to_rfc3339()
            ));
        }
        Ok(())
    }

    /// No condition: every message matches (a whole-queue move).
    pub fn is_empty(&self) -> bool {
        self.wheres.is_empty() && self.since.is_none() && self.until.is_none() && self.ids.is_none()
    }

    /// The message meets every condition. A message without a sent time is outside any window.
    pub fn matches(&self, m: &Received) -> bool {
        let attrs_hold = self
            .wheres
            .iter()
            .all(|w| m.attribute(&w.attribute) == Some(w.value.as_str()));
        let in_window = match (self.since, self.until, m.sent) {
            (None, None, _) => true,
            (_, _, None) => false,
            (s, u, Some(t)) => s.is_none_or(|s| t >= s) && u.is_none_or(|u| t < u),
        };
        let id_listed = match &self.ids {
            None => true,
            Some(ids) => m.attribute(ID_ATTRIBUTE).is_some_and(|id| ids.contains(id)),
        };
        attrs_hold && in_window && id_listed
    }

    /// Whether a peeked message (its metadata) meets every condition, as a received one would.
    pub fn matches_peeked(&self, m: &crate::cloud::sqs::Message) -> bool {
        let r = Received {
            id: m.id.clone(),
            receipt: String::new(),
            body: String::new(),
            attributes: m
                .attributes
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        crate::cloud::sqs_batch::AttrValue {
                            data_type: "String".into(),
                            string: Some(v.clone()),
                            binary: None,
                        },
                    )
                })
                .collect(),
            sent: m.sent,
            receive_count: m.receive_count,
            group_id: m.group_id.clone(),
            dedup_id: None,
        };
        self.matches(&r)
    }

    /// One line for the plan and the report.
    pub fn describe(&self) -> String {
        if self.is_empty() {
            return "every message".into();
        }
        let mut parts: Vec<String> = self
            .wheres
            .iter()
            .map(|w| format!("{}={}", w.attribute, w.value))
            .collect();
        if let Some(s) = self.since {
            parts.push(format!("sent at or after {}", s.to_rfc3339()));
        }
        if let Some(u) = self.until {
            parts.push(format!("sent before {}", u.to_rfc3339()));
        }
        if let Some(ids) = &self.ids {
            parts.push(format!("{ID_ATTRIBUTE} one of {} listed", ids.len()));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::sqs_batch::AttrValue;

    fn msg(attrs: &[(&str, &str)], sent: Option<&str>) -> Received {
        Received {
            id: "m".into(),
            receipt: "r".into(),
            body: "{}".into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        AttrValue {
                            data_type: "String".into(),
                            string: Some(v.to_string()),
                            binary: None,
                        },
                    )
                })
                .collect(),
            sent: sent.map(|s| parse_time(s).unwrap()),
            receive_count: 1,
            group_id: None,
            dedup_id: None,
        }
    }

    #[test]
    fn conditions_must_all_hold_exactly() {
        let f = Filter {
            wheres: vec![
                parse_where("error_code=VALIDATION_TIMEOUT").unwrap(),
                parse_where("stage=fraud").unwrap(),
            ],
            ..Default::default()
        };
        let both = msg(
            &[("error_code", "VALIDATION_TIMEOUT"), ("stage", "fraud")],
            None,
        );
        let one = msg(&[("error_code", "VALIDATION_TIMEOUT")], None);
        let case = msg(
            &[("error_code", "validation_timeout"), ("stage", "fraud")],
            None,
        );
        assert!(f.matches(&both));
        assert!(!f.matches(&one));
        assert!(!f.matches(&case), "values compare exactly");
        assert!(Filter::default().matches(&one), "no condition: everything");
    }

    #[test]
    fn the_window_includes_since_and_excludes_until() {
        let f = Filter {
            since: Some(parse_time("2026-11-30").unwrap()),
            until: Some(parse_time("2026-11-30T12:00:00Z").unwrap()),
            ..Default::default()
        };
        assert!(f.matches(&msg(&[], Some("2026-11-30T00:00:00Z"))));
        assert!(f.matches(&msg(&[], Some("2026-11-30T11:59:59Z"))));
        assert!(!f.matches(&msg(&[], Some("2026-11-30T12:00:00Z"))));
        assert!(!f.matches(&msg(&[], Some("2026-11-29T23:59:59Z"))));
        assert!(!f.matches(&msg(&[], None)), "no sent time: outside");
        assert!(f.check().is_ok());
        let empty = Filter {
            since: f.until,
            until: f.since,
            ..Default::default()
        };
        assert!(empty.check().unwrap_err().contains("--since"));
    }

    #[test]
    fn ids_compare_with_the_claim_id_attribute() {
        let ids = parse_ids("# failed at fraud\nCLM-1\n\n  CLM-2  \n").unwrap();
        assert_eq!(ids.len(), 2);
        let f = Filter {
            ids: Some(ids),
            ..Default::default()
        };
        assert!(f.matches(&msg(&[("claim_id", "CLM-2")], None)));
        assert!(!f.matches(&msg(&[("claim_id", "CLM-3")], None)));
        assert!(!f.matches(&msg(&[], None)));
    }

    #[test]
    fn bad_input_names_the_fix() {
        assert!(
            parse_where("error_code")
                .unwrap_err()
                .contains("attribute=value")
        );
        assert!(parse_where("=x").unwrap_err().contains("attribute name"));
        assert!(parse_where("a b=x").unwrap_err().contains("attribute name"));
        assert!(parse_where("a=x\ny").unwrap_err().contains("one line"));
        assert_eq!(parse_where("a=b=c").unwrap().value, "b=c");
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
        assert!(
            parse_time("2026-11-30T08:00:00").is_err(),
            "an offset is required"
        );
        let e = parse_ids("CLM-1\nCLM 2\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        assert!(parse_ids("\n# none\n").unwrap_err().contains("no id"));
        let many: String = (0..=MAX_IDS).map(|i| format!("C{i}\n")).collect();
        assert!(parse_ids(&many).unwrap_err().contains("split"));
        let long: String = (0..2000).map(|i| format!("CLM-{i:0>200}\n")).collect();
        let e = parse_ids(&long).unwrap_err();
        assert!(e.contains("KiB") && e.contains("split"), "{e}");
        let hostile = parse_where("\u{1b}[2J=x").unwrap_err();
        assert!(!hostile.contains('\u{1b}'));
    }

    #[test]
    fn a_peeked_message_matches_as_a_received_one_would() {
        let m = crate::cloud::sqs::Message {
            id: "a".into(),
            sent: Some(parse_time("2026-11-30T10:00:00Z").unwrap()),
            receive_count: 1,
            group_id: None,
            size: 2,
            attributes: [("stage".to_string(), "fraud".to_string())].into(),
            body: "{}".into(),
        };
        let f = Filter {
            wheres: vec![parse_where("stage=fraud").unwrap()],
            since: Some(parse_time("2026-11-30").unwrap()),
            ..Default::default()
        };
        assert!(f.matches_peeked(&m));
        let g = Filter {
            wheres: vec![parse_where("stage=validation").unwrap()],
            ..Default::default()
        };
        assert!(!g.matches_peeked(&m));
    }

    #[test]
    fn the_description_says_every_condition() {
        let f = Filter {
            wheres: vec![parse_where("stage=fraud").unwrap()],
            since: Some(parse_time("2026-11-30").unwrap()),
            ids: Some(parse_ids("A\nB\n").unwrap()),
            ..Default::default()
        };
        let d = f.describe();
        assert!(d.contains("stage=fraud") && d.contains("2026-11-30") && d.contains("2 listed"));
        assert_eq!(Filter::default().describe(), "every message");
    }
}
