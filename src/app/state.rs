//! The console's state: plain data, changed only by `update`, read by the views.

use super::keymap::Keymap;
use super::rows::Row;
use crate::cloud::kms::Key;
use crate::theme::Theme;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

pub use super::resources::View;

pub use super::data::{Data, Kind, LoadStatus};

/// One list on screen: its rows (built when data, filter or sort change, not per frame), the
/// filtered and sorted window onto them, and the selection.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub rows: Vec<Row>,
    /// Indices into `rows` that pass the filter, in display order.
    pub visible: Vec<usize>,
    /// Position in `visible`.
    pub selected: usize,
    pub filter: String,
    pub sort_col: usize,
    pub sort_desc: bool,
    /// The key of the selected row, so the selection survives refreshes.
    pub selected_key: Option<String>,
}

impl Table {
    pub fn selected_row(&self) -> Option<&Row> {
        self.visible
            .get(self.selected)
            .and_then(|i| self.rows.get(*i))
    }
}

/// What the header shows about the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub profile: String,
    pub caller_arn: String,
    pub account: String,
    pub region: String,
    pub read_only: bool,
    pub production: bool,
    pub expires: Option<DateTime<Utc>>,
    pub mfa_at: Option<DateTime<Utc>>,
    pub source_identity: Option<String>,
    pub idle_lock_minutes: i64,
    /// The audit log of this session, or why there is none (then no action can run).
    pub audit_path: Option<String>,
    pub audit_error: Option<String>,
    /// A reason is mandatory for guarded actions.
    pub require_reason: bool,
    /// Times in the detail panes in UTC (the profile's `utc` setting) instead of local time.
    pub utc: bool,
    /// The message attributes whose values a peek shows (the profile's `safe_attributes`).
    pub safe_attributes: Vec<String>,
    /// The profile's posture limits (`max_rotation_days`, `rpo_hours`, `restore_test_days`).
    pub posture_limits: crate::posture::Limits,
}

/// Why an MFA code is being asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaPurpose {
    /// Opening the session of `profile`.
    Login { profile: String },
    /// Re-authentication before or after expiry (keeps the current screen).
    Reauth,
    /// Unlocking after the idle lock.
    Unlock,
    /// A fresh code before a guarded action (the action runs right after).
    StepUp,
    /// A fresh code a running drill asked for before its next action (it renews its own
    /// session with it).
    Drill,
}

/// The field of the confirmation form that has focus: the name field first, then the reason,
/// the ticket, the confirm button and Cancel (the order Tab follows and the buttons are drawn in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Name,
    Reason,
    Ticket,
    Confirm,
    Cancel,
}

impl Focus {
    pub fn next(self) -> Focus {
        match self {
            Focus::Name => Focus::Reason,
            Focus::Reason => Focus::Ticket,
            Focus::Ticket => Focus::Confirm,
            Focus::Confirm => Focus::Cancel,
            Focus::Cancel => Focus::Name,
        }
    }
    pub fn prev(self) -> Focus {
        match self {
            Focus::Name => Focus::Cancel,
            Focus::Reason => Focus::Name,
            Focus::Ticket => Focus::Reason,
            Focus::Confirm => Focus::Ticket,
            Focus::Cancel => Focus::Confirm,
        }
    }

    /// True for the text fields (Enter there moves on; it never presses a button).
    pub fn is_field(self) -> bool {
        matches!(self, Focus::Name | Focus::Reason | Focus::Ticket)
    }
}

/// The confirmation of a planned action: the plan (captured once: it is what executes), what
/// the operator typed, and where the focus is.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmForm {
    pub plan: crate::guard::Plan,
    pub typed: String,
    pub reason: String,
    pub ticket: String,
    pub focus: Focus,
    pub error: Option<String>,
}

impl ConfirmForm {
    /// A fresh form for `plan`: empty fields, focus in the name field.
    pub fn new(plan: crate::guard::Plan) -> ConfirmForm {
        ConfirmForm {
            plan,
            typed: String::new(),
            reason: String::new(),
            ticket: String::new(),
            focus: Focus::Name,
            error: None,
        }
    }

    /// The confirmed action, or why the confirm button is still disabled (the same rules as
    /// `guard::confirm`, which this calls: the name must match, a required reason be given).
    #[allow(clippy::result_large_err)] // guard::confirm's own error type
    pub fn check(
        &self,
        require_reason: bool,
    ) -> Result<crate::guard::Confirmed, crate::guard::GuardError> {
        let opt = |x: &str| {
            if x.trim().is_empty() {
                None
            } else {
                Some(x.to_string())
            }
        };
        crate::guard::confirm(
            &self.plan,
            &self.typed,
            opt(&self.reason).as_deref(),
            opt(&self.ticket).as_deref(),
            require_reason,
        )
    }

    /// What is still missing before the confirm button is enabled, in a few words (None when
    /// it is enabled).
    pub fn missing(&self, require_reason: bool) -> Option<&'static str> {
        let e = self.check(require_reason).err()?;
        use crate::guard::GuardError as G;
        Some(match e {
            G::NameRequired { .. } | G::WrongName { .. } => {
                if require_reason && self.reason.trim().is_empty() {
                    "type the name and a reason"
                } else {
                    "type the name"
                }
            }
            G::ReasonRequired => "give a reason",
            G::InvalidReason(_) => "fix the reason or ticket",
            _ => "the form is incomplete",
        })
    }
}

/// The parameters form of a guarded action: one text field per [`ParamSpec`] of its
/// [`ActionSpec`], each checked by the spec's own parser when the form is submitted.
///
/// [`ParamSpec`]: crate::guard::action::ParamSpec
/// [`ActionSpec`]: crate::guard::action::ActionSpec
#[derive(Debug, Clone, PartialEq)]
pub struct ParamForm {
    pub spec: &'static crate::guard::action::ActionSpec,
    /// The action's target (what its spec names: a key ARN, a queue URL).
    pub target: String,
    /// The selected row's key (the plan that comes back must be for it).
    pub row: String,
    /// What is typed in each field, in the spec's parameter order.
    pub fields: Vec<String>,
    pub focus: usize,
    /// Why the last submit was refused (the field's parser, in words).
    pub error: Option<String>,
}

impl ParamForm {
    /// A form with empty fields (an empty field takes the parameter's default).
    pub fn new(
        spec: &'static crate::guard::action::ActionSpec,
        target: String,
        row: String,
    ) -> ParamForm {
        ParamForm {
            spec,
            target,
            row,
            fields: vec![String::new(); spec.params.len()],
            focus: 0,
            error: None,
        }
    }

    /// Whether typing `key` into a field of `param` that holds `field` is accepted: numbers
    /// take digits (and a leading minus) up to 12 characters, text and choices up to their
    /// bound, lists up to a bound of their items.
    pub fn accepts(
        param: &crate::guard::action::ParamSpec,
        field: &str,
        key: super::keymap::KeyName,
    ) -> bool {
        use crate::guard::action::ParamKind;
        let super::keymap::KeyName::Char(c) = key else {
            return false;
        };
        let n = field.chars().count();
        match param.kind {
            ParamKind::Number { .. } => {
                n < 12 && (c.is_ascii_digit() || (c == '-' && field.is_empty()))
            }
            ParamKind::Text { max_chars } => n < max_chars,
            ParamKind::Choice(choices) => {
                n < choices.iter().map(|x| x.chars().count()).max().unwrap_or(0)
            }
            ParamKind::List {
                max_items,
                item_max_chars,
            } => n < max_items.saturating_mul(item_max_chars + 1),
        }
    }

    /// The form with `fields` filled in (by parameter name; unknown names are ignored).
    pub fn prefilled(mut self, fields: Vec<(&'static str, String)>) -> ParamForm {
        for (name, value) in fields {
            if let Some(i) = self.spec.params.iter().position(|p| p.name == name) {
                self.fields[i] = value;
            }
        }
        self
    }

    /// The request, or the first field that does not parse and why.
    pub fn request(&self) -> Result<crate::guard::Request, (usize, String)> {
        let mut request = crate::guard::Request::new(self.spec, self.target.clone());
        for (i, (param, text)) in self.spec.params.iter().zip(&self.fields).enumerate() {
            let value = param.parse(text).map_err(|e| (i, e))?;
            request = request.param(param.name, value);
        }
        Ok(request)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Normal,
    Command {
        input: String,
    },
    Filter {
        input: String,
    },
    Help {
        scroll: u16,
    },
    Mfa {
        purpose: MfaPurpose,
        input: String,
        error: Option<String>,
        busy: bool,
    },
    /// The parameters of a guarded action, before its plan (one form for every action).
    Form(Box<ParamForm>),
    /// Pre-checks running against live state.
    Planning {
        action: String,
        /// The selected row's key, and the target the action was asked for (they differ when
        /// the action names something else, e.g. the resource a restore job created): only a
        /// plan for one of them is accepted.
        key: String,
        target: String,
    },
    Confirm(Box<ConfirmForm>),
    /// A peek's plan is being made (the queue's attributes are read).
    PeekPlanning {
        queue_url: String,
    },
    /// A peek's plan, waiting for `p` (peek) or Esc.
    PeekConfirm(Box<crate::guard::peek::PeekPlan>),
    /// The confirmed action is running.
    Running {
        summary: String,
    },
    /// `:drill`: the runbook is being read.
    DrillPreparing,
    /// The drill shown once, confirmed once by typing its name (with the reason).
    DrillConfirm(Box<super::drill::DrillForm>),
    /// A running drill asks whether a restored copy passed the operator's checks.
    DrillVerdict {
        question: String,
    },
}

/// A long-running action the console follows (by its handle's id in `State::tasks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The action's summary ("move the messages of claims-intake-dlq back …").
    pub summary: String,
    /// The last status read, in one line ("RUNNING 5/12").
    pub line: String,
    /// What to reload when it ends (its view's binding says).
    pub refresh: &'static [Kind],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    Info(String),
    Error(String),
}

#[derive(Debug, Clone)]
pub struct State {
    /// The last window of rows sent to the front of a progressive load: (kind, generation,
    /// first row index), so scrolling asks again only when the window moves.
    pub priority_window: Option<(Kind, u64, usize)>,
    /// Shown while the console's startup work runs (after the first frame).
    pub starting: Option<String>,
    pub view: View,
    /// Where Esc goes back to (breadcrumb: history + view).
    pub history: Vec<View>,
    pub mode: Mode,
    pub data: Data,
    pub tables: BTreeMap<View, Table>,
    pub session: Option<SessionInfo>,
    /// Shown in the header: the demo banner, or nothing.
    pub banner: Option<String>,
    pub flash: Option<Flash>,
    /// The last error, in words, until the next successful load of that kind.
    pub last_error: Option<String>,
    pub now: DateTime<Utc>,
    pub last_input: DateTime<Utc>,
    pub idle_lock_minutes: i64,
    /// Blank screen after the idle timeout; a fresh MFA code unlocks.
    pub locked: bool,
    pub keymap: Keymap,
    pub theme: Theme,
    pub spinner: usize,
    pub quit: bool,
    /// Profiles the command line can complete (`:profile`).
    pub profiles: Vec<String>,
    /// Rows on screen in the list (set by the view from the last frame; used by page keys).
    pub page_rows: usize,
    /// The guarded action started from a view's key, until it finishes (its binding says what
    /// to reload then).
    pub acting: Option<&'static super::resources::ActionBinding>,
    /// A reveal asked for and not yet answered (its record is being written): the message id.
    pub revealing: Option<String>,
    /// Long-running actions being followed, by handle id (shown in the footer).
    pub tasks: BTreeMap<String, Task>,
    /// The task id of the drill running (one at a time).
    pub drill_running: Option<String>,
    /// A question of the running drill, shown when nothing else is on screen.
    pub drill_asks: Option<super::drill::DrillQuestion>,
    /// The runbook and profile of the `:drill` whose runbook is being read: only its offer
    /// opens the confirmation (not one of an earlier, cancelled `:drill`).
    pub drill_asked: Option<(std::path::PathBuf, String)>,
    /// `--demo` only: the demo MFA device's current code (its seed is published and test-only),
    /// shown in the MFA prompt. Always None for real profiles.
    pub demo_code: Option<String>,
}

impl State {
    pub fn new(now: DateTime<Utc>, keymap: Keymap, theme: Theme) -> State {
        State {
            priority_window: None,
            starting: None,
            view: View::Queues,
            history: Vec::new(),
            mode: Mode::Normal,
            data: Data::default(),
            tables: View::ALL.iter().map(|v| (*v, Table::default())).collect(),
            session: None,
            banner: None,
            flash: None,
            last_error: None,
            now,
            last_input: now,
            idle_lock_minutes: 15,
            locked: false,
            keymap,
            theme,
            spinner: 0,
            quit: false,
            profiles: Vec::new(),
            page_rows: 20,
            acting: None,
            revealing: None,
            tasks: BTreeMap::new(),
            drill_running: None,
            drill_asks: None,
            drill_asked: None,
            demo_code: None,
        }
    }

    pub fn table(&self, v: View) -> &Table {
        // Every view has a table from `new`.
        static EMPTY: std::sync::OnceLock<Table> = std::sync::OnceLock::new();
        self.tables
            .get(&v)
            .unwrap_or_else(|| EMPTY.get_or_init(Table::default))
    }

    pub fn status(&self, k: Kind) -> LoadStatus {
        self.data.status.get(&k).cloned().unwrap_or_default()
    }

    /// True while any data the current view needs is loading.
    pub fn loading(&self) -> bool {
        self.view.kinds().iter().any(|k| self.status(*k).loading)
    }

    /// The breadcrumb: `Queues › Dead-letter queues`.
    pub fn breadcrumb(&self) -> String {
        let mut parts: Vec<&str> = self
            .history
            .iter()
            .rev()
            .take(3)
            .rev()
            .map(|v| v.title())
            .collect();
        parts.push(self.view.title());
        parts.join(" › ")
    }

    /// The display name of a KMS key reference (alias when known).
    pub fn key_name(&self, reference: &str) -> String {
        match self.find_key(reference) {
            Some(k) => k.display_name().to_string(),
            None => reference.to_string(),
        }
    }

    /// A key by id, ARN, alias name or alias ARN.
    pub fn find_key(&self, reference: &str) -> Option<&Key> {
        let alias = reference.find("alias/").map(|i| &reference[i..]);
        self.data.keys.iter().find(|k| {
            k.arn == reference
                || k.id == reference
                || alias.is_some_and(|a| k.aliases.iter().any(|x| x == a))
        })
    }
}
