//! Guarded actions declared as data. An action is an [`ActionSpec`]: its id, the AWS API
//! action it calls, a title, what its target is, its parameters ([`ParamSpec`]), whether it
//! starts something that runs on after the call (`long_running`), and three functions: the
//! action's own request checks, its planner (live state → pre-checks → [`Plan`]) and its call
//! ([`Operation`] → [`Called`]). The registry is [`super::actions`].
//!
//! A [`ParamSpec`] is what a form or a command line needs to ask for a parameter: name, label,
//! kind ([`ParamKind`]), default and help; [`ParamSpec::parse`] turns the text typed into a
//! [`ParamValue`] or says what to type instead. Pure, no I/O.

use super::{GuardError, Operation, Plan, Policy, Request};
use crate::cloud::{Cloud, CloudError};
use crate::session::Session;
use serde::Serialize;
use std::future::Future;
use std::pin::Pin;

/// The future of an action's planner.
pub type PlanFuture<'a> = Pin<Box<dyn Future<Output = Result<Plan, GuardError>> + Send + 'a>>;
/// The future of an action's call.
pub type CallFuture<'a> = Pin<Box<dyn Future<Output = Result<Called, CloudError>> + Send + 'a>>;

/// One guarded action, as data. Declared as a `static` in its planner module and listed in
/// [`super::actions::ALL`].
pub struct ActionSpec {
    /// A stable id: `service.verb_object` (`kms.rotate_now`).
    pub id: &'static str,
    /// The AWS API action the call makes (`kms:RotateKeyOnDemand`), as the audit log records it.
    pub api_action: &'static str,
    /// What it does, in a few words ("rotate the key material now").
    pub title: &'static str,
    /// What the target is, for prompts and errors ("KMS key: alias, key id or key ARN").
    pub target: &'static str,
    /// The parameters besides the target, in the order a form shows them.
    pub params: &'static [ParamSpec],
    /// The call starts something that runs on (a move task, a restore job): the call returns a
    /// [`Handle`], and [`super::watch`] follows it to its end.
    pub long_running: bool,
    /// Checks the target as typed, before any call (`Err`: what is wrong and what to give).
    pub check_target: fn(&str) -> Result<(), String>,
    /// The action's own checks of a request, before any call, run before the generic
    /// parameter checks (e.g. a refusal with its own error kind).
    pub check_request: fn(&Request) -> Result<(), GuardError>,
    /// Reads the target's live state, runs the pre-checks and builds the plan.
    pub plan: for<'a> fn(&'a Session, &'a Policy, &'a Request) -> PlanFuture<'a>,
    /// Makes the planned call.
    pub call: for<'a> fn(&'a Cloud, &'a Operation) -> CallFuture<'a>,
}

impl ActionSpec {
    /// The parameter named `name`.
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// No action-specific request checks.
pub fn no_request_checks(_: &Request) -> Result<(), GuardError> {
    Ok(())
}

impl std::fmt::Debug for ActionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionSpec")
            .field("id", &self.id)
            .field("api_action", &self.api_action)
            .finish_non_exhaustive()
    }
}

/// Two specs are the same action when their ids are.
impl PartialEq for ActionSpec {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl Eq for ActionSpec {}

/// A spec serialises as its id.
impl Serialize for ActionSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id)
    }
}

/// A parameter of an action: what a form needs to ask for it and check the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The name in requests, operations and the audit log (`rotation_period_in_days`).
    pub name: &'static str,
    /// A short noun for forms and messages ("period": "the period must be …").
    pub label: &'static str,
    pub kind: ParamKind,
    /// The value an empty answer stands for, as it would be typed; `None`: an answer is required.
    pub default: Option<&'static str>,
    /// One line of help for the form.
    pub help: &'static str,
}

/// What a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// One line of text, at most `max_chars` characters, no control characters.
    Text { max_chars: usize },
    /// A whole number from `min` to `max`; `unit` is shown after the range (" days").
    Number {
        min: i64,
        max: i64,
        unit: &'static str,
    },
    /// One of these words (case-insensitive when typed; stored as listed).
    Choice(&'static [&'static str]),
    /// Items separated by commas or new lines (blank items dropped): at most `max_items`,
    /// each at most `item_max_chars` characters.
    List {
        max_items: usize,
        item_max_chars: usize,
    },
}

/// A parameter's value, checked against its [`ParamSpec`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    Number(i64),
    Text(String),
    Choice(String),
    List(Vec<String>),
}

impl ParamValue {
    pub fn as_number(&self) -> Option<i64> {
        match self {
            ParamValue::Number(n) => Some(*n),
            _ => None,
        }
    }
    /// The text of a `Text` or `Choice`.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            ParamValue::Text(t) | ParamValue::Choice(t) => Some(t),
            _ => None,
        }
    }
    pub fn as_list(&self) -> Option<&[String]> {
        match self {
            ParamValue::List(v) => Some(v),
            _ => None,
        }
    }
    /// The value as the audit log stores it.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl From<i64> for ParamValue {
    fn from(n: i64) -> Self {
        ParamValue::Number(n)
    }
}
impl From<i32> for ParamValue {
    fn from(n: i32) -> Self {
        ParamValue::Number(n.into())
    }
}
impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::Text(s.to_string())
    }
}
impl From<String> for ParamValue {
    fn from(s: String) -> Self {
        ParamValue::Text(s)
    }
}
impl From<Vec<String>> for ParamValue {
    fn from(v: Vec<String>) -> Self {
        ParamValue::List(v)
    }
}

/// `2560` → `2,560`.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// What the operator typed, safe to repeat in a message: one line, at most 40 characters.
fn shown(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

impl ParamSpec {
    /// " (empty: 365)" when there is a default.
    fn empty_note(&self) -> String {
        match self.default {
            Some(d) if !d.is_empty() => format!(" (empty: {d})"),
            _ => String::new(),
        }
    }

    fn range_message(&self, min: i64, max: i64, unit: &str) -> String {
        format!(
            "the {} must be {} to {}{unit}{}",
            self.label,
            grouped(min),
            grouped(max),
            self.empty_note()
        )
    }

    /// Parses what was typed for this parameter. Empty (or blank) stands for the default; the
    /// error says what to type instead. Pure.
    pub fn parse(&self, input: &str) -> Result<ParamValue, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return match self.default {
                Some(d) if !d.trim().is_empty() => self.parse(d),
                Some(_) => Ok(match self.kind {
                    ParamKind::List { .. } => ParamValue::List(Vec::new()),
                    _ => ParamValue::Text(String::new()),
                }),
                None => Err(format!("the {} is required: {}", self.label, self.help)),
            };
        }
        match self.kind {
            ParamKind::Text { .. } => {
                let v = ParamValue::Text(trimmed.to_string());
                self.check(&v).map(|()| v)
            }
            ParamKind::Number { min, max, unit } => match trimmed.parse::<i64>() {
                Ok(n) => {
                    let v = ParamValue::Number(n);
                    self.check(&v).map(|()| v)
                }
                Err(_) => Err(format!(
                    "'{}' is not a whole number: {}",
                    shown(trimmed),
                    self.range_message(min, max, unit)
                )),
            },
            ParamKind::Choice(choices) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(trimmed))
                .map(|c| ParamValue::Choice(c.to_string()))
                .ok_or_else(|| self.unknown_choice(trimmed, choices)),
            ParamKind::List { .. } => {
                if trimmed
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\r')
                {
                    return Err(self.control_message());
                }
                let items: Vec<String> = trimmed
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|i| !i.is_empty())
                    .map(str::to_string)
                    .collect();
                let v = ParamValue::List(items);
                self.check(&v).map(|()| v)
            }
        }
    }

    fn unknown_choice(&self, typed: &str, choices: &[&str]) -> String {
        format!(
            "'{}' is not a {}: type one of {}",
            shown(typed),
            self.label,
            choices.join(", ")
        )
    }

    fn control_message(&self) -> String {
        format!(
            "the {} must be plain text, without control characters: remove them",
            self.label
        )
    }

    /// Checks a value built in code (a request made without a form) as [`parse`](Self::parse)
    /// checks typed text.
    pub fn check(&self, value: &ParamValue) -> Result<(), String> {
        let kind_error = || {
            format!(
                "the {} has the wrong kind of value ({value:?}): {}",
                self.label, self.help
            )
        };
        match (self.kind, value) {
            (ParamKind::Text { max_chars }, ParamValue::Text(t)) => {
                if t.chars().any(char::is_control) {
                    return Err(self.control_message());
                }
                let n = t.chars().count();
                if n > max_chars {
                    return Err(format!(
                        "the {} is too long ({n} characters, at most {max_chars}): shorten it",
                        self.label
                    ));
                }
                Ok(())
            }
            (ParamKind::Number { min, max, unit }, ParamValue::Number(n)) => {
                if (min..=max).contains(n) {
                    Ok(())
                } else {
                    Err(self.range_message(min, max, unit))
                }
            }
            (ParamKind::Choice(choices), ParamValue::Choice(c) | ParamValue::Text(c)) => {
                if choices.contains(&c.as_str()) {
                    Ok(())
                } else {
                    Err(self.unknown_choice(c, choices))
                }
            }
            (
                ParamKind::List {
                    max_items,
                    item_max_chars,
                },
                ParamValue::List(items),
            ) => {
                if items.len() > max_items {
                    return Err(format!(
                        "the {} has {} items, at most {max_items}: remove {} (separate items with commas or new lines)",
                        self.label,
                        items.len(),
                        items.len() - max_items
                    ));
                }
                for i in items {
                    if i.chars().any(char::is_control) {
                        return Err(self.control_message());
                    }
                    let n = i.chars().count();
                    if n > item_max_chars {
                        return Err(format!(
                            "'{}' is too long for the {} ({n} characters, at most {item_max_chars} per item): shorten it",
                            shown(i),
                            self.label
                        ));
                    }
                }
                Ok(())
            }
            _ => Err(kind_error()),
        }
    }

    /// The default value, parsed (`None` when an answer is required).
    pub fn default_value(&self) -> Option<ParamValue> {
        self.default.and_then(|_| self.parse("").ok())
    }
}

/// What a call returned: the AWS request id, and for a long-running action the handle of what
/// it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Called {
    pub request_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
    /// What the call did, in one line, for the outcome record (a run's counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Called {
    /// A call that finished with its answer.
    pub fn done(request_id: impl Into<String>) -> Called {
        Called {
            request_id: request_id.into(),
            handle: None,
            note: None,
        }
    }
}

/// What a long-running action started, to follow with [`super::watch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handle {
    pub kind: HandleKind,
    /// The id AWS gave it (a move task's TaskHandle, a restore job's id).
    pub id: String,
    /// The ARN it works on (the move task's source queue, the restore job's recovery point).
    pub resource: String,
    /// Move tasks: the start time (ms) of the newest task of this queue listed just before the
    /// call. Once ended, a task loses its handle in the listing; only a task that started
    /// later can be this one (never an older task that ended before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after_ms: Option<i64>,
}

/// Which kind of long-running thing a [`Handle`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HandleKind {
    /// An SQS message move task (StartMessageMoveTask; DLQ redrive).
    MessageMoveTask,
    /// An AWS Backup restore job.
    RestoreJob,
}

impl HandleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            HandleKind::MessageMoveTask => "message_move_task",
            HandleKind::RestoreJob => "restore_job",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: ParamSpec = ParamSpec {
        name: "rotation_period_in_days",
        label: "period",
        kind: ParamKind::Number {
            min: 90,
            max: 2560,
            unit: " days",
        },
        default: Some("365"),
        help: "days between automatic rotations, 90 to 2,560",
    };
    const NOTE: ParamSpec = ParamSpec {
        name: "note",
        label: "note",
        kind: ParamKind::Text { max_chars: 5 },
        default: None,
        help: "a short note",
    };
    const MODE: ParamSpec = ParamSpec {
        name: "mode",
        label: "mode",
        kind: ParamKind::Choice(&["fast", "slow"]),
        default: Some("slow"),
        help: "fast or slow",
    };
    const IDS: ParamSpec = ParamSpec {
        name: "ids",
        label: "message ids",
        kind: ParamKind::List {
            max_items: 3,
            item_max_chars: 4,
        },
        default: Some(""),
        help: "up to 3 ids",
    };

    #[test]
    fn numbers_take_the_default_when_empty_and_refuse_out_of_range_with_the_range() {
        assert_eq!(PERIOD.parse(""), Ok(ParamValue::Number(365)));
        assert_eq!(PERIOD.parse("  "), Ok(ParamValue::Number(365)));
        assert_eq!(PERIOD.parse(" 180 "), Ok(ParamValue::Number(180)));
        assert_eq!(PERIOD.parse("90"), Ok(ParamValue::Number(90)));
        assert_eq!(PERIOD.parse("2560"), Ok(ParamValue::Number(2560)));
        let want = "the period must be 90 to 2,560 days (empty: 365)";
        assert_eq!(PERIOD.parse("89").unwrap_err(), want);
        assert_eq!(PERIOD.parse("2561").unwrap_err(), want);
        assert_eq!(PERIOD.parse("-5").unwrap_err(), want);
        let e = PERIOD.parse("12x").unwrap_err();
        assert_eq!(e, format!("'12x' is not a whole number: {want}"));
        assert!(PERIOD.parse("99999999999999999999").is_err());
        assert_eq!(PERIOD.check(&ParamValue::Number(30)).unwrap_err(), want);
        assert!(PERIOD.check(&ParamValue::Text("365".into())).is_err());
        assert_eq!(PERIOD.default_value(), Some(ParamValue::Number(365)));
    }

    #[test]
    fn text_is_one_short_line_and_required_without_a_default() {
        assert_eq!(NOTE.parse(" abc "), Ok(ParamValue::Text("abc".into())));
        assert_eq!(
            NOTE.parse("").unwrap_err(),
            "the note is required: a short note"
        );
        let e = NOTE.parse("abcdef").unwrap_err();
        assert!(
            e.contains("too long (6 characters, at most 5): shorten it"),
            "{e}"
        );
        let e = NOTE.parse("a\u{1b}[2Jb").unwrap_err();
        assert!(e.contains("without control characters"), "{e}");
        assert!(NOTE.parse("a\nb").is_err(), "one line only");
        assert_eq!(NOTE.default_value(), None);
    }

    #[test]
    fn choices_are_one_of_the_listed_words() {
        assert_eq!(MODE.parse(""), Ok(ParamValue::Choice("slow".into())));
        assert_eq!(MODE.parse("FAST"), Ok(ParamValue::Choice("fast".into())));
        let e = MODE.parse("medium").unwrap_err();
        assert_eq!(e, "'medium' is not a mode: type one of fast, slow");
        assert!(MODE.check(&ParamValue::Choice("fast".into())).is_ok());
        assert!(MODE.check(&ParamValue::Choice("FAST".into())).is_err());
    }

    #[test]
    fn lists_split_on_commas_and_lines_and_are_bounded() {
        assert_eq!(
            IDS.parse("a, b\n\nc,"),
            Ok(ParamValue::List(vec!["a".into(), "b".into(), "c".into()]))
        );
        assert_eq!(IDS.parse(""), Ok(ParamValue::List(Vec::new())));
        let e = IDS.parse("a,b,c,d,e").unwrap_err();
        assert!(e.contains("has 5 items, at most 3: remove 2"), "{e}");
        let e = IDS.parse("a,toolong").unwrap_err();
        assert!(e.contains("'toolong' is too long"), "{e}");
        assert!(e.contains("at most 4 per item"), "{e}");
        let e = IDS.parse("a\u{7}b").unwrap_err();
        assert!(e.contains("without control characters"), "{e}");
        assert!(
            IDS.check(&ParamValue::List(vec!["a\tb".into()])).is_err(),
            "a tab inside an item"
        );
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(
            [grouped(0), grouped(90), grouped(2560), grouped(-1234567)],
            ["0", "90", "2,560", "-1,234,567"]
        );
    }
}
