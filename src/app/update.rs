//! The only place state changes: `update(&mut State, Msg) -> Vec<Effect>`. Pure: no I/O, no
//! awaits; effects are values the runner executes on tokio tasks.

use super::command::{self, Command};
use super::keymap::{Action, Key, KeyName, Layer};
use super::links::{self, Target};
use super::resources::ActionBinding;
use super::resources::messages::Shown;
use super::rows;
use super::state::{
    ConfirmForm, Flash, Focus, Kind, MfaPurpose, Mode, ParamForm, SessionInfo, State, View,
};
use crate::cloud::cloudtrail::EventFilter;
use chrono::{DateTime, Duration, Utc};
use crossterm::event::KeyEvent;

pub use super::data::Payload;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Tick(DateTime<Utc>),
    Loaded {
        kind: Kind,
        generation: u64,
        payload: Payload,
    },
    Failed {
        kind: Kind,
        generation: u64,
        error: String,
    },
    /// A progressive list's names (items with only what the list call gives); their details
    /// follow in `Details`. `pending` are the ids whose details are coming.
    Listed {
        kind: Kind,
        generation: u64,
        payload: Payload,
        pending: Vec<String>,
        /// A later page of the list call: added to what is listed.
        append: bool,
    },
    /// Details of some items of a progressive list (merged by id), items that failed
    /// (id → why), and whether the list is complete.
    Details {
        kind: Kind,
        generation: u64,
        payload: Payload,
        failed: Vec<(String, String)>,
        done: bool,
    },
    /// The startup work finished (after the first frame): the banner and the profiles.
    Started {
        banner: Option<String>,
        profiles: Vec<String>,
    },
    /// The runner needs an MFA code for this purpose.
    AskCode(MfaPurpose),
    SessionOpened {
        /// Boxed: the info is the largest thing a message carries.
        info: Box<SessionInfo>,
        purpose: MfaPurpose,
    },
    SessionFailed(String),
    Flash(Flash),
    /// The plan of a guarded action (or why it cannot be planned).
    Planned(Result<Box<crate::guard::Plan>, String>),
    /// A guarded action finished: a summary with the request id, or the error.
    ActionDone(Result<String, String>),
    /// The plan of a peek (or why the queue may not be peeked).
    PeekPlanned(Result<Box<crate::guard::peek::PeekPlan>, String>),
    /// A message body may be shown: its reveal is recorded (or why it cannot be).
    Revealed(Result<(String, crate::app::resources::messages::Shown), String>),
    /// `--demo` only: the demo MFA device's current code, for the MFA prompt.
    DemoCode(String),
    /// A profile's audit log cannot be opened (why): its actions are disabled. Shown only while
    /// that profile is the session's (a slow answer for a profile switched away from is not).
    AuditUnavailable {
        profile: String,
        why: String,
    },
    /// A runbook read for `:drill` (or why it cannot run).
    DrillPrepared(Result<Box<super::drill::DrillOffer>, String>),
    /// A drill started on a task: its progress comes as `TaskProgress` of this id, its end
    /// as `TaskEnded`.
    DrillStarted {
        id: String,
        summary: String,
    },
    /// The running drill asks something.
    DrillAsks(super::drill::DrillQuestion),
    /// A long-running action started (its handle's id) and is followed.
    TaskStarted {
        id: String,
        summary: String,
    },
    /// A status read of a followed task, in one line ("RUNNING 5/12").
    TaskProgress {
        id: String,
        line: String,
    },
    /// A followed task ended (or is no longer followed): what it came to, or what went wrong.
    TaskEnded {
        id: String,
        result: Result<String, String>,
    },
    /// The terminal's size gives this many list rows per page (sent before a frame when it
    /// changed).
    Resized {
        page_rows: usize,
    },
}

/// A request for a page of CloudTrail events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsRequest {
    pub filter: Option<EventFilter>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Load {
        kind: Kind,
        generation: u64,
        events: Option<EventsRequest>,
    },
    /// Open (Login) or renew (Reauth, Unlock) the session with this MFA code.
    Authenticate {
        purpose: MfaPurpose,
        code: String,
    },
    SwitchProfile {
        profile: String,
    },
    SwitchRegion {
        region: String,
    },
    /// Record the idle lock in the audit log.
    RecordIdleLock,
    /// Move these ids (the rows on screen) to the front of a progressive load's calls.
    Prioritize {
        kind: Kind,
        generation: u64,
        ids: Vec<String>,
    },
    /// Plan a guarded action: pre-checks against live state.
    Plan(crate::guard::Request),
    /// Run a confirmed plan (step-up first when the MFA code is too old).
    Execute(Box<crate::guard::Confirmed>),
    /// Forget a confirmed action waiting for a step-up code.
    CancelPending,
    /// Read a drill runbook (and the state of an interrupted run of it) for its confirmation.
    PrepareDrill {
        runbook: std::path::PathBuf,
        report_dir: std::path::PathBuf,
    },
    /// Run a confirmed drill on a task (one at a time).
    RunDrill {
        prepared: Box<crate::drill::files::Prepared>,
        reason: Option<String>,
    },
    /// The answer to the running drill's question (None: no answer, the drill stops).
    DrillAnswer(Option<String>),
    /// Stop the running drill at its next step (the call in flight gets its grace).
    StopDrill,
    /// Plan a peek at a queue's messages (reads its attributes; receives nothing).
    PlanPeek {
        queue_url: String,
        seen: Option<crate::guard::peek::SeenCounts>,
    },
    /// Run a confirmed peek: recorded first, bodies stay hidden. The answer comes back as
    /// `Loaded`/`Failed` of `Kind::Messages` with this generation.
    Peek {
        generation: u64,
        plan: Box<crate::guard::peek::PeekPlan>,
    },
    /// Record the reveal of a message body in the audit log, then show it (masked, or raw:
    /// recorded as a distinct reveal).
    Reveal {
        queue_arn: String,
        message_id: String,
        shown: crate::app::resources::messages::Shown,
    },
    Quit,
}

const EXPIRY_WARNING_MINUTES: i64 = 5;

pub fn update(s: &mut State, msg: Msg) -> Vec<Effect> {
    let follows = matches!(msg, Msg::Key(_) | Msg::Listed { .. });
    let mut out = update_inner(s, msg);
    if follows {
        out.extend(prioritize_visible(s));
    }
    super::drill::show_question(s);
    out
}

/// The ids of the rows around the selection (a screen above and below) of the current view's
/// progressive list that are still loading: sent to the front of its calls when the window
/// moved since the last time.
fn prioritize_visible(s: &mut State) -> Vec<Effect> {
    let view = s.view;
    let Some(kind) = view.kinds().first().copied().filter(|k| k.progressive()) else {
        return Vec::new();
    };
    let st = s.status(kind);
    if st.pending.is_empty() {
        return Vec::new();
    }
    let generation = st.generation;
    let t = s.table(view);
    let page = s.page_rows.max(20);
    let first = t.selected.saturating_sub(t.selected % page);
    if s.priority_window == Some((kind, generation, first)) {
        return Vec::new();
    }
    let ids: Vec<String> = t
        .visible
        .iter()
        .skip(first)
        .take(page * 2)
        .filter_map(|i| t.rows.get(*i))
        .filter_map(|r| fetch_id(s, kind, &r.key))
        .filter(|id| st.pending.contains(id))
        .collect();
    s.priority_window = Some((kind, generation, first));
    if ids.is_empty() {
        return Vec::new();
    }
    vec![Effect::Prioritize {
        kind,
        generation,
        ids,
    }]
}

/// The id a row's detail call takes (queue URL; topic ARN; key id), from its row key (ARN).
fn fetch_id(s: &State, kind: Kind, key: &str) -> Option<String> {
    s.view
        .resource()
        .kinds()
        .first()
        .filter(|k| **k == kind)
        .and_then(|_| s.view.resource().fetch_id(s, key))
}

/// Merges a progressive list's details into the loaded data, by id; returns the ids merged
/// (queue URLs, topic ARNs, key ids; for recovery points, their vaults).
fn merge_details(s: &mut State, payload: Payload) -> Vec<String> {
    fn merge<T>(into: &mut Vec<T>, items: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<String> {
        let ids = items.iter().map(|x| id(x).to_string()).collect();
        // Indexed once per batch: a scan per item made a long list's load O(N²).
        let mut at: std::collections::HashMap<String, usize> = into
            .iter()
            .enumerate()
            .map(|(i, x)| (id(x).to_string(), i))
            .collect();
        for item in items {
            match at.get(id(&item)) {
                Some(&i) => into[i] = item,
                None => {
                    at.insert(id(&item).to_string(), into.len());
                    into.push(item);
                }
            }
        }
        ids
    }
    match payload {
        Payload::Queues(v) => {
            let ids = merge(&mut s.data.queues, v, |q| q.url.as_str());
            crate::cloud::sqs::link_dead_letter_queues(&mut s.data.queues);
            ids
        }
        Payload::Topics(v) => merge(&mut s.data.topics, v, |t| t.arn.as_str()),
        Payload::Keys(v) => merge(&mut s.data.keys, v, |k| k.id.as_str()),
        Payload::Points(v) => {
            let ids = v.iter().map(|p| p.vault.clone()).collect();
            s.data.points.extend(v);
            ids
        }
        other => {
            super::data::store(s, other);
            Vec::new()
        }
    }
}

fn update_inner(s: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Started { banner, profiles } => {
            s.starting = None;
            if banner.is_some() {
                s.banner = banner;
            }
            s.profiles = profiles;
            s.profiles.sort();
            Vec::new()
        }
        Msg::Key(k) => {
            // A flash message lasts until the next key press (the key may set a new one).
            s.flash = None;
            s.last_input = s.now;
            key(s, k)
        }
        Msg::Resized { page_rows } => {
            s.page_rows = page_rows;
            Vec::new()
        }
        Msg::TaskStarted { id, summary } => {
            let refresh = s.acting.map(|b| b.refresh).unwrap_or_default();
            s.tasks.insert(
                id,
                super::state::Task {
                    summary,
                    line: "starting".into(),
                    refresh,
                },
            );
            Vec::new()
        }
        Msg::DrillPrepared(offer) => super::drill::prepared(s, offer),
        Msg::DrillAsks(q) => super::drill::asks(s, q),
        Msg::DrillStarted { id, summary } => {
            s.tasks.insert(
                id.clone(),
                super::state::Task {
                    summary,
                    line: "starting".into(),
                    refresh: &[Kind::RestoreJobs, Kind::Points],
                },
            );
            s.drill_running = Some(id);
            // The task line (the drill's progress) shows once the "starting" note is gone.
            if matches!(&s.flash, Some(Flash::Info(m)) if m.starts_with("drill ")) {
                s.flash = None;
            }
            Vec::new()
        }
        Msg::TaskProgress { id, line } => {
            if let Some(t) = s.tasks.get_mut(&id) {
                t.line = line;
            }
            Vec::new()
        }
        Msg::TaskEnded { id, result } => {
            if s.drill_running.as_ref() == Some(&id) {
                s.drill_running = None;
                s.drill_asks = None;
                if matches!(
                    s.mode,
                    Mode::DrillVerdict { .. }
                        | Mode::Mfa {
                            purpose: MfaPurpose::Drill,
                            ..
                        }
                ) {
                    s.mode = Mode::Normal;
                }
            }
            let refresh = s.tasks.remove(&id).map(|t| t.refresh).unwrap_or_default();
            match result {
                Ok(m) => s.flash = Some(Flash::Info(m)),
                Err(e) => {
                    s.last_error = Some(e.clone());
                    s.flash = Some(Flash::Error(e));
                }
            }
            if s.session.is_none() {
                return Vec::new();
            }
            refresh.iter().map(|k| start_load(s, *k, false)).collect()
        }
        Msg::AuditUnavailable { profile, why } => {
            if s.session.as_ref().is_some_and(|i| i.profile != profile) {
                return Vec::new();
            }
            if let Some(info) = &mut s.session {
                info.audit_error = Some(why.clone());
            }
            s.last_error = Some(why.clone());
            s.flash = Some(Flash::Error(why));
            Vec::new()
        }
        Msg::Tick(now) => tick(s, now),
        Msg::Loaded {
            kind,
            generation,
            payload,
        } => {
            if s.status(kind).generation != generation {
                return Vec::new(); // a stale result: a newer load was asked for
            }
            loaded(s, kind, payload);
            Vec::new()
        }
        Msg::Listed {
            kind,
            generation,
            payload,
            pending,
            append,
        } => {
            if s.status(kind).generation != generation {
                return Vec::new();
            }
            if append {
                merge_details(s, payload);
            } else {
                super::data::store(s, payload);
            }
            let now = s.now;
            let st = s.data.status.entry(kind).or_default();
            st.loaded = true;
            if !append {
                st.error = None;
                st.item_errors.clear();
                st.loaded_at = Some(now);
                st.pending.clear();
            }
            st.pending.extend(pending);
            st.loading = true;
            rebuild_for(s, kind);
            Vec::new()
        }
        Msg::Details {
            kind,
            generation,
            payload,
            failed,
            done,
        } => {
            if s.status(kind).generation != generation {
                return Vec::new();
            }
            let ids = merge_details(s, payload);
            let st = s.data.status.entry(kind).or_default();
            for id in ids {
                st.pending.remove(&id);
            }
            for (id, why) in failed {
                st.pending.remove(&id);
                st.item_errors.insert(id, why);
            }
            if done {
                st.loading = false;
                // Vaults without points and anything the fetch never reached are not coming.
                st.pending.clear();
                if !st.item_errors.is_empty() {
                    let n = st.item_errors.len();
                    let first = st.item_errors.values().next().cloned().unwrap_or_default();
                    let e = format!("{n} could not be read in full: {first}");
                    st.error = Some(e.clone());
                    s.last_error = Some(e);
                }
            }
            rebuild_for(s, kind);
            Vec::new()
        }
        Msg::Failed {
            kind,
            generation,
            error,
        } => {
            if s.status(kind).generation != generation {
                return Vec::new();
            }
            let st = s.data.status.entry(kind).or_default();
            st.loading = false;
            st.error = Some(error.clone());
            s.last_error = Some(error.clone());
            s.flash = Some(Flash::Error(error));
            Vec::new()
        }
        Msg::AskCode(purpose) => {
            s.mode = Mode::Mfa {
                purpose,
                input: String::new(),
                error: None,
                busy: false,
            };
            Vec::new()
        }
        Msg::SessionOpened { info, purpose } => {
            let switched = s
                .session
                .as_ref()
                .is_none_or(|old| old.profile != info.profile || old.region != info.region);
            s.flash = Some(Flash::Info(match &purpose {
                MfaPurpose::Login { .. } => format!(
                    "signed in as {} ({} {})",
                    info.caller_arn, info.account, info.region
                ),
                MfaPurpose::Reauth => "session renewed".to_string(),
                MfaPurpose::Unlock => "unlocked".to_string(),
                MfaPurpose::StepUp | MfaPurpose::Drill => "MFA renewed".to_string(),
            }));
            s.idle_lock_minutes = info.idle_lock_minutes;
            let mut info = *info;
            // The same profile keeps its audit log, so a log that could not be opened is
            // still unavailable (the writer said so once, after the profile's first session).
            if let Some(old) = &s.session
                && old.profile == info.profile
                && info.audit_error.is_none()
            {
                info.audit_error = old.audit_error.clone();
            }
            s.session = Some(info);
            if s.locked && purpose != MfaPurpose::Unlock {
                // Only a fresh code at the unlock prompt unlocks.
                s.flash = None;
                return Vec::new();
            }
            if purpose == MfaPurpose::StepUp {
                // The confirmed action runs now.
                s.mode = Mode::Running {
                    summary: "MFA renewed; running the confirmed action…".into(),
                };
                return Vec::new();
            }
            s.mode = Mode::Normal;
            s.locked = false;
            s.last_input = s.now;
            if switched {
                let tables = std::mem::take(&mut s.tables);
                // Generations keep counting, so a late answer for the old session is dropped.
                let mut status = std::mem::take(&mut s.data.status);
                for st in status.values_mut() {
                    *st = super::state::LoadStatus {
                        generation: st.generation + 1,
                        ..Default::default()
                    };
                }
                s.data = Default::default();
                s.data.status = status;
                s.tables = tables
                    .into_keys()
                    .map(|v| (v, Default::default()))
                    .collect();
                for v in View::ALL {
                    let (c, d) = rows::default_sort(v);
                    if let Some(t) = s.tables.get_mut(&v) {
                        t.sort_col = c;
                        t.sort_desc = d;
                    }
                }
            }
            ensure_loaded(s)
        }
        Msg::SessionFailed(error) => {
            if let Mode::Mfa {
                error: e,
                busy,
                input,
                ..
            } = &mut s.mode
            {
                *e = Some(error);
                *busy = false;
                input.clear();
            } else {
                s.flash = Some(Flash::Error(error));
            }
            Vec::new()
        }
        Msg::Flash(f) => {
            if let Flash::Error(e) = &f {
                s.last_error = Some(e.clone());
            }
            s.flash = Some(f);
            Vec::new()
        }
        Msg::Planned(Ok(plan)) => {
            // Only the plan of the request being waited for opens the confirmation.
            // A restore asked for a resource ("its latest point") is planned for the point it
            // resolved to: the plan names the resource it came from.
            let expected = matches!(&s.mode, Mode::Planning { action, key, target }
                if *action == plan.action
                    && (plan.targets.iter().any(|t| [key, target].iter().any(|k| t.arn == **k || t.name == **k))
                        || (s.acting.is_some_and(|b| b.name == "restore_test_latest")
                            && plan.operation.text("source_resource_arn") == Some(target.as_str()))));
            if expected {
                let mut plan = *plan;
                // A selective redrive's plan shows how many of the DLQ's last peeked messages
                // match (peek it first to see; the peek is its own recorded action).
                let peeked = s
                    .data
                    .messages_queue
                    .as_ref()
                    .is_some_and(|(_, arn)| plan.targets.iter().any(|t| t.arn == *arn));
                let sample: &[crate::cloud::sqs::Message] =
                    if peeked { &s.data.messages } else { &[] };
                if let Some(mut f) = crate::guard::redrive::sample_fact(&plan, sample) {
                    if !peeked {
                        f.value =
                            "none: peek the DLQ (its messages link, then p) to see how many match"
                                .into();
                    }
                    plan.facts.push(f);
                }
                // Focus starts in the name field; "plan loading…" is over.
                s.mode = Mode::Confirm(Box::new(ConfirmForm::new(plan)));
                s.flash = None;
            }
            Vec::new()
        }
        Msg::Planned(Err(e)) => {
            if matches!(s.mode, Mode::Planning { .. }) {
                s.mode = Mode::Normal;
                s.acting = None;
            }
            s.flash = Some(Flash::Error(e));
            Vec::new()
        }
        Msg::PeekPlanned(Ok(plan)) => {
            // Only the plan of the queue being waited for opens the confirmation.
            if matches!(&s.mode, Mode::PeekPlanning { queue_url } if *queue_url == plan.queue_url) {
                s.mode = Mode::PeekConfirm(plan);
            }
            Vec::new()
        }
        Msg::PeekPlanned(Err(e)) => {
            if matches!(s.mode, Mode::PeekPlanning { .. }) {
                s.mode = Mode::Normal;
                let st = s.data.status.entry(Kind::Messages).or_default();
                st.error = Some(format!("not peeked: {e}"));
            }
            s.last_error = Some(e.clone());
            s.flash = Some(Flash::Error(e));
            Vec::new()
        }
        Msg::Revealed(Ok((id, shown))) => {
            s.revealing = None;
            if s.view == View::Messages && !s.locked {
                s.data.revealed.insert(id, shown);
                rebuild(s, View::Messages);
                s.flash = Some(match shown {
                    Shown::Masked => Flash::Info(
                        "message body revealed, PHI-like values masked (recorded in the audit log)"
                            .into(),
                    ),
                    Shown::Raw => Flash::Info(
                        "message body revealed UNMASKED (recorded in the audit log as a raw reveal)"
                            .into(),
                    ),
                });
            }
            Vec::new()
        }
        Msg::Revealed(Err(e)) => {
            s.revealing = None;
            s.flash = Some(Flash::Error(format!("the body stays hidden: {e}")));
            Vec::new()
        }
        Msg::DemoCode(code) => {
            s.demo_code = Some(code);
            Vec::new()
        }
        Msg::ActionDone(result) => {
            // A locked screen stays locked; only the running action's screen closes.
            if matches!(s.mode, Mode::Running { .. }) {
                s.mode = Mode::Normal;
            }
            match result {
                Ok(summary) => s.flash = Some(Flash::Info(summary)),
                Err(e) => {
                    s.last_error = Some(e.clone());
                    s.flash = Some(Flash::Error(e));
                }
            }
            // Show the new state of what the action changed (and keep the message: refresh
            // says nothing here).
            let refresh = s.acting.take().map(|b| b.refresh).unwrap_or_default();
            if s.session.is_some() {
                return refresh.iter().map(|k| start_load(s, *k, false)).collect();
            }
            Vec::new()
        }
    }
}

fn tick(s: &mut State, now: DateTime<Utc>) -> Vec<Effect> {
    s.now = now;
    s.spinner = s.spinner.wrapping_add(1);
    let Some(info) = &s.session else {
        return Vec::new();
    };
    if s.locked {
        return Vec::new();
    }
    // The idle lock wins over any other prompt (a re-auth or step-up prompt left open must not
    // keep the account's data on an unattended screen).
    if now - s.last_input > Duration::minutes(s.idle_lock_minutes) {
        let stepping_up = matches!(
            &s.mode,
            Mode::Mfa {
                purpose: MfaPurpose::StepUp,
                ..
            }
        );
        s.locked = true;
        s.data.revealed.clear();
        s.mode = Mode::Mfa {
            purpose: MfaPurpose::Unlock,
            input: String::new(),
            error: None,
            busy: false,
        };
        let mut out = vec![Effect::RecordIdleLock];
        if stepping_up {
            out.push(Effect::CancelPending);
        }
        return out;
    }
    if matches!(s.mode, Mode::Mfa { .. }) {
        return Vec::new();
    }
    if let Some(exp) = info.expires {
        if now >= exp {
            s.mode = Mode::Mfa {
                purpose: MfaPurpose::Reauth,
                input: String::new(),
                error: Some("the session has expired; enter a fresh MFA code to continue".into()),
                busy: false,
            };
        } else if exp - now <= Duration::minutes(EXPIRY_WARNING_MINUTES) && s.flash.is_none() {
            s.flash = Some(Flash::Error(format!(
                "the session expires in {} min: type :reauth to renew it with a fresh MFA code",
                (exp - now).num_minutes() + 1
            )));
        }
    }
    Vec::new()
}

fn loaded(s: &mut State, kind: Kind, payload: Payload) {
    super::data::store(s, payload);
    let now = s.now;
    let st = s.data.status.entry(kind).or_default();
    st.loading = false;
    st.loaded = true;
    st.error = None;
    st.loaded_at = Some(now);
    if s.data.status.values().all(|x| x.error.is_none()) {
        s.last_error = None;
    }
    rebuild_for(s, kind);
}

/// Rebuilds the rows of every view that needs `kind` (each resource lists what it needs: key
/// names appear in the queue, topic and vault rows, so those list the keys and a key load
/// rebuilds them too).
fn rebuild_for(s: &mut State, kind: Kind) {
    for v in View::ALL {
        if v.resource().kinds().contains(&kind) {
            rebuild(s, v);
        }
    }
}

/// Rebuilds a view's rows from the data, keeping filter, sort and selection.
pub fn rebuild(s: &mut State, v: View) {
    let rows = rows::build_rows(s, v);
    if let Some(t) = s.tables.get_mut(&v) {
        t.rows = rows;
        rows::refilter(t);
    }
}

/// Loads whatever the current view needs and is not loaded or loading.
pub fn ensure_loaded(s: &mut State) -> Vec<Effect> {
    if s.session.is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for k in s.view.kinds() {
        let st = s.status(*k);
        // The audit log is local and grows as the session works: read it on every visit.
        // Messages are never loaded by a visit: a peek is a recorded action of its own.
        if *k == Kind::Messages {
            continue;
        }
        if (!st.loaded || *k == Kind::Audit) && !st.loading {
            out.push(start_load(s, *k, false));
        }
    }
    out
}

fn start_load(s: &mut State, kind: Kind, more_events: bool) -> Effect {
    let st = s.data.status.entry(kind).or_default();
    st.generation += 1;
    st.loading = true;
    let generation = st.generation;
    let events = (kind == Kind::Events).then(|| EventsRequest {
        filter: s.data.events_filter.clone(),
        next_token: if more_events {
            s.data.events_next.clone()
        } else {
            None
        },
    });
    Effect::Load {
        kind,
        generation,
        events,
    }
}

fn refresh(s: &mut State) -> Vec<Effect> {
    if s.session.is_none() {
        return Vec::new();
    }
    if s.view == View::Messages {
        return plan_peek(s);
    }
    let kinds = s.view.kinds();
    let out: Vec<Effect> = kinds.iter().map(|k| start_load(s, *k, false)).collect();
    s.flash = Some(Flash::Info(format!(
        "refreshing {}",
        s.view.title().to_lowercase()
    )));
    out
}

/// Switches to a view (pushing the current one on the history).
pub fn go(s: &mut State, v: View) -> Vec<Effect> {
    if v != s.view {
        s.data.revealed.clear();
        s.history.push(s.view);
        if s.history.len() > 32 {
            s.history.remove(0);
        }
        s.view = v;
    }
    ensure_loaded(s)
}

fn follow(s: &mut State, target: Target) -> Vec<Effect> {
    match target {
        Target::Select { view, key } => {
            let v = if view == View::Queues && s.view == View::Dlq {
                View::Queues
            } else {
                view
            };
            if let Some(t) = s.tables.get_mut(&v) {
                t.filter.clear();
                t.selected_key = Some(key);
                rows::refilter(t);
            }
            go(s, v)
        }
        Target::Filter { view, filter } => {
            if let Some(t) = s.tables.get_mut(&view) {
                t.filter = filter;
                rows::refilter(t);
            }
            go(s, view)
        }
        Target::Events(filter) => open_events(s, Some(filter)),
        Target::Messages { url, arn } => {
            let other_queue = s
                .data
                .messages_queue
                .as_ref()
                .is_none_or(|(u, _)| *u != url);
            s.data.messages_queue = Some((url, arn));
            s.data.messages.clear();
            s.data.revealed.clear();
            let st = s.data.status.entry(Kind::Messages).or_default();
            st.loaded = false;
            if other_queue {
                // A peek of the previous queue still running answers for that queue: a new
                // generation drops it, so its messages never show (or count) as this queue's.
                st.generation += 1;
                st.loading = false;
                st.error = None;
            }
            if let Some(t) = s.tables.get_mut(&View::Messages) {
                t.rows.clear();
                t.visible.clear();
                t.filter.clear();
                t.selected_key = None;
            }
            let mut out = go(s, View::Messages);
            out.extend(plan_peek(s));
            out
        }
        Target::EventsMatching { filter, local } => {
            let out = open_events(s, Some(filter));
            if let Some(t) = s.tables.get_mut(&View::Events) {
                t.filter = local;
                rows::refilter(t);
            }
            out
        }
    }
}

/// Opens the events view with a server-side filter (reloading when it changed).
pub fn open_events(s: &mut State, filter: Option<EventFilter>) -> Vec<Effect> {
    let changed = s.data.events_filter != filter;
    s.data.events_filter = filter;
    let mut out = go(s, View::Events);
    if changed
        && !out.iter().any(|e| {
            matches!(
                e,
                Effect::Load {
                    kind: Kind::Events,
                    ..
                }
            )
        })
        && s.session.is_some()
    {
        if let Some(t) = s.tables.get_mut(&View::Events) {
            t.selected_key = None;
            t.selected = 0;
        }
        out.push(start_load(s, Kind::Events, false));
    }
    out
}

fn layer(s: &State) -> Layer {
    match s.mode {
        Mode::Normal => Layer::Browse,
        Mode::Help { .. } => Layer::Help,
        _ => Layer::Input,
    }
}

fn key(s: &mut State, ev: KeyEvent) -> Vec<Effect> {
    let Some(k) = Key::from_event(&ev) else {
        return Vec::new();
    };
    let action = s.keymap.action(layer(s), &k);
    match s.mode.clone() {
        Mode::Normal => browse(s, k, action),
        Mode::Help { scroll } => {
            match action {
                Some(Action::Close) => s.mode = Mode::Normal,
                Some(Action::Down) => {
                    s.mode = Mode::Help {
                        scroll: scroll.saturating_add(1),
                    }
                }
                Some(Action::Up) => {
                    s.mode = Mode::Help {
                        scroll: scroll.saturating_sub(1),
                    }
                }
                _ => {}
            }
            Vec::new()
        }
        Mode::Command { input } => command_key(s, k, action, input),
        Mode::Filter { input } => filter_key(s, k, action, input),
        Mode::Mfa {
            purpose,
            input,
            error,
            busy,
        } => mfa_key(s, k, action, purpose, input, error, busy),
        Mode::Form(form) => form_key(s, k, action, *form),
        Mode::Confirm(form) => confirm_key(s, k, action, *form),
        Mode::PeekConfirm(plan) => peek_confirm_key(s, k, action, plan),
        Mode::DrillConfirm(form) => super::drill::confirm_key(s, k, action, *form),
        Mode::DrillVerdict { question } => super::drill::verdict_key(s, k, action, question),
        Mode::DrillPreparing if action == Some(Action::Cancel) => {
            s.mode = Mode::Normal;
            s.flash = Some(Flash::Info("drill cancelled: nothing was changed".into()));
            Vec::new()
        }
        Mode::PeekPlanning { .. } if action == Some(Action::Cancel) => {
            s.mode = Mode::Normal;
            s.flash = Some(Flash::Info("peek cancelled: nothing was received".into()));
            Vec::new()
        }
        // Esc while the pre-checks run: the plan, when it comes, is dropped (nothing was called).
        Mode::Planning { .. } if action == Some(Action::Cancel) => {
            s.mode = Mode::Normal;
            s.acting = None;
            s.flash = Some(Flash::Info("cancelled: nothing was changed".into()));
            Vec::new()
        }
        // Keys typed before the form exists are dropped, and the footer says so (they never
        // land in a field).
        Mode::Planning { .. } => {
            s.flash = Some(Flash::Info(
                "plan loading…: that key was dropped; type the name when the plan is shown".into(),
            ));
            Vec::new()
        }
        // Nothing to do while the pre-checks or the action run.
        Mode::PeekPlanning { .. } | Mode::Running { .. } | Mode::DrillPreparing => Vec::new(),
    }
}

fn move_sel(s: &mut State, f: impl Fn(usize, usize, usize) -> usize) -> Vec<Effect> {
    let page = s.page_rows.max(1);
    let view = s.view;
    let mut more = false;
    if let Some(t) = s.tables.get_mut(&view) {
        let n = t.visible.len();
        if n == 0 {
            return Vec::new();
        }
        t.selected = f(t.selected, n, page).min(n - 1);
        t.selected_key = t.selected_row().map(|r| r.key.clone());
        more = view == View::Events && t.selected + page >= n;
    }
    // Lazy paging: near the end of the loaded events, fetch the next page.
    if more
        && s.data.events_next.is_some()
        && !s.status(Kind::Events).loading
        && s.table(View::Events).filter.is_empty()
    {
        return vec![start_load(s, Kind::Events, true)];
    }
    Vec::new()
}

/// Starts a guarded action the current view offers on its selected row: its parameters form
/// first when it has parameters, else its plan. Only reached when the session is read-write:
/// in read-only mode these keys are not bound at all (and the guard refuses anyway).
fn guarded_action(s: &mut State, binding: &'static ActionBinding) -> Vec<Effect> {
    let resource = s.view.resource();
    let spec = binding.action;
    let Some(row) = s.table(s.view).selected_row().map(|r| r.key.clone()) else {
        s.flash = Some(Flash::Info(format!(
            "{}: select a row first",
            binding.describe
        )));
        return Vec::new();
    };
    // The row may not be one this action applies to (a backup job for a restore's cleanup):
    // the resource says why.
    let target = match resource.action_target(s, &row, binding) {
        Ok(t) => t,
        Err(why) => {
            s.flash = Some(Flash::Error(format!("{}: {why}", binding.name)));
            return Vec::new();
        }
    };
    s.acting = Some(binding);
    if spec.params.is_empty() {
        return plan(s, crate::guard::Request::new(spec, target), row);
    }
    let fields = resource.action_prefill(s, &row, binding);
    s.flash = None;
    s.mode = Mode::Form(Box::new(
        ParamForm::new(spec, target, row).prefilled(fields),
    ));
    Vec::new()
}

/// Plans a peek at the messages view's queue. In read-only mode nothing is asked: a peek is a
/// write (it raises receive counts), so it is refused here and again by the runner.
pub fn plan_peek(s: &mut State) -> Vec<Effect> {
    let Some((queue_url, _)) = s.data.messages_queue.clone() else {
        return Vec::new();
    };
    let Some(info) = &s.session else {
        return Vec::new();
    };
    if info.read_only {
        let e = "read-only mode: peeking receives messages (each one's receive count goes up, and on a queue with a redrive policy a receive can move a claim to its DLQ), so it is refused; open the console without --read-only to peek".to_string();
        s.data.status.entry(Kind::Messages).or_default().error =
            Some("not peeked: read-only mode".into());
        s.flash = Some(Flash::Error(e));
        return Vec::new();
    }
    if s.status(Kind::Messages).loading {
        return Vec::new();
    }
    let seen = s.data.peek_seen.get(&queue_url).copied();
    s.mode = Mode::PeekPlanning {
        queue_url: queue_url.clone(),
    };
    vec![Effect::PlanPeek { queue_url, seen }]
}

fn peek_confirm_key(
    s: &mut State,
    k: Key,
    action: Option<Action>,
    plan: Box<crate::guard::peek::PeekPlan>,
) -> Vec<Effect> {
    match (action, k.code) {
        (Some(Action::Cancel), _) => {
            s.mode = Mode::Normal;
            s.flash = Some(Flash::Info("peek cancelled: nothing was received".into()));
            Vec::new()
        }
        (None, KeyName::Char('p')) if !k.ctrl && !k.alt => {
            s.mode = Mode::Normal;
            let st = s.data.status.entry(Kind::Messages).or_default();
            st.generation += 1;
            st.loading = true;
            st.error = None;
            let generation = st.generation;
            s.flash = Some(Flash::Info(format!("{} (recorded)…", plan.summary())));
            vec![Effect::Peek { generation, plan }]
        }
        _ => {
            s.mode = Mode::PeekConfirm(plan);
            Vec::new()
        }
    }
}

/// Asks for the plan of `request`; only a plan whose target is `row` (the selected row's key:
/// an ARN or a name) or the request's target opens the confirmation.
fn plan(s: &mut State, request: crate::guard::Request, row: String) -> Vec<Effect> {
    // Whatever the footer said (an earlier "cancelled") is not about this plan.
    s.flash = None;
    s.mode = Mode::Planning {
        action: request.action().to_string(),
        key: row,
        target: request.target().to_string(),
    };
    vec![Effect::Plan(request)]
}

/// The parameters form of an action: Tab/↓ and Shift-Tab/↑ move between fields, Enter moves
/// on and, on the last field, checks every field and plans (a field that does not parse keeps
/// the form open with the focus on it and says what to type); Esc cancels.
fn form_key(s: &mut State, k: Key, action: Option<Action>, mut form: ParamForm) -> Vec<Effect> {
    let last = form.fields.len().saturating_sub(1);
    match (action, k.code) {
        (Some(Action::Cancel), _) => {
            s.mode = Mode::Normal;
            s.acting = None;
            s.flash = Some(Flash::Info("cancelled: nothing was changed".into()));
            return Vec::new();
        }
        (Some(Action::Complete), _) | (None, KeyName::Down) => {
            form.focus = if form.focus >= last {
                0
            } else {
                form.focus + 1
            };
        }
        (None, KeyName::BackTab) | (None, KeyName::Up) => {
            form.focus = if form.focus == 0 {
                last
            } else {
                form.focus - 1
            };
        }
        (Some(Action::Submit), _) if form.focus < last => form.focus += 1,
        (Some(Action::Submit), _) => match form.request() {
            Ok(request) => {
                let row = form.row.clone();
                return plan(s, request, row);
            }
            Err((field, message)) => {
                form.focus = field;
                form.error = Some(message);
            }
        },
        _ => {
            let focus = form.focus;
            if let (Some(field), Some(spec)) =
                (form.fields.get_mut(focus), form.spec.params.get(focus))
            {
                let typing = action.is_none();
                let fits = ParamForm::accepts(spec, field, k.code);
                if (!typing || fits) && edit(field, k, action) {
                    form.error = None;
                }
            }
        }
    }
    s.mode = Mode::Form(Box::new(form));
    Vec::new()
}

/// The confirmation form. Focus starts in the name field; Tab/↓ and Shift-Tab/↑ move; Enter
/// in a field moves to the next one and never confirms; Enter on the confirm button runs the
/// plan only when the name matches and a required reason is given (else it only says why);
/// Esc cancels.
fn confirm_key(
    s: &mut State,
    k: Key,
    action: Option<Action>,
    mut form: ConfirmForm,
) -> Vec<Effect> {
    let cancel = |s: &mut State| {
        s.mode = Mode::Normal;
        s.acting = None;
        s.flash = Some(Flash::Info("cancelled: nothing was changed".into()));
        Vec::new()
    };
    match (action, k.code) {
        (Some(Action::Cancel), _) => return cancel(s),
        (Some(Action::Complete), _) | (None, KeyName::Down) => form.focus = form.focus.next(),
        (None, KeyName::BackTab) | (None, KeyName::Up) => form.focus = form.focus.prev(),
        (Some(Action::Submit), _) => match form.focus {
            Focus::Cancel => return cancel(s),
            Focus::Name | Focus::Reason | Focus::Ticket => form.focus = form.focus.next(),
            Focus::Confirm => {
                let require = s.session.as_ref().is_none_or(|i| i.require_reason);
                match form.check(require) {
                    Ok(confirmed) => {
                        s.mode = Mode::Running {
                            summary: form.plan.summary.clone(),
                        };
                        return vec![Effect::Execute(Box::new(confirmed))];
                    }
                    // Disabled: nothing happens but the reason why.
                    Err(e) => form.error = Some(format!("{} is disabled: {e}", form.plan.action)),
                }
            }
        },
        _ => {
            let field = match form.focus {
                Focus::Name => Some(&mut form.typed),
                Focus::Reason => Some(&mut form.reason),
                Focus::Ticket => Some(&mut form.ticket),
                _ => None,
            };
            // Typing stops at 200 characters; deleting always works.
            let inserting = action.is_none();
            if let Some(f) = field
                && (!inserting || f.chars().count() < 200)
                && edit(f, k, action)
            {
                form.error = None;
            }
        }
    }
    s.mode = Mode::Confirm(Box::new(form));
    Vec::new()
}

fn browse(s: &mut State, k: Key, action: Option<Action>) -> Vec<Effect> {
    let read_write = s.session.as_ref().is_some_and(|i| !i.read_only);
    if action.is_none()
        && read_write
        && let Some(b) = s.keymap.view_action(s.view, &k)
    {
        return guarded_action(s, b);
    }
    if let (None, KeyName::Char(c)) = (action, k.code) {
        if let Some(n) = c.to_digit(10).filter(|n| *n >= 1) {
            return follow_link(s, n as usize - 1);
        }
        return Vec::new();
    }
    match action {
        Some(Action::Up) => move_sel(s, |i, _, _| i.saturating_sub(1)),
        Some(Action::Down) => move_sel(s, |i, _, _| i + 1),
        Some(Action::PageUp) => move_sel(s, |i, _, p| i.saturating_sub(p)),
        Some(Action::PageDown) => move_sel(s, |i, _, p| i + p),
        Some(Action::Top) => move_sel(s, |_, _, _| 0),
        Some(Action::Bottom) => move_sel(s, |_, n, _| n - 1),
        Some(Action::Enter) => follow_link(s, 0),
        Some(Action::Back) => {
            let view = s.view;
            if let Some(t) = s.tables.get_mut(&view).filter(|t| !t.filter.is_empty()) {
                t.filter.clear();
                rows::refilter(t);
                return Vec::new();
            }
            if let Some(prev) = s.history.pop() {
                s.data.revealed.clear();
                s.view = prev;
                return ensure_loaded(s);
            }
            Vec::new()
        }
        Some(Action::Refresh) => refresh(s),
        Some(Action::Command) => {
            s.mode = Mode::Command {
                input: String::new(),
            };
            Vec::new()
        }
        Some(Action::Filter) => {
            let f = s.table(s.view).filter.clone();
            s.mode = Mode::Filter { input: f };
            Vec::new()
        }
        Some(Action::Help) => {
            s.mode = Mode::Help { scroll: 0 };
            Vec::new()
        }
        Some(Action::Sort) | Some(Action::Reverse) => {
            let view = s.view;
            let cols = rows::columns(view);
            let ncols = cols.len();
            if let Some(t) = s.tables.get_mut(&view) {
                if action == Some(Action::Sort) {
                    t.sort_col = (t.sort_col + 1) % ncols;
                    t.sort_desc = cols[t.sort_col].numeric;
                } else {
                    t.sort_desc = !t.sort_desc;
                }
                rows::refilter(t);
                let col = t.sort_col;
                let mut text = format!(
                    "sorted by {} {}",
                    cols[col].name,
                    if t.sort_desc {
                        "descending"
                    } else {
                        "ascending"
                    }
                );
                // Sorting works on what is loaded: a column the list call does not give is
                // unknown for rows still loading, and says so.
                if let Some(kind) = view.kinds().first()
                    && col >= rows::listed_columns(view)
                {
                    let n = s.status(*kind).pending.len();
                    if n > 0 {
                        text.push_str(&format!(
                            " — {n} rows still loading sort last (their {} is not known yet)",
                            cols[col].name
                        ));
                    }
                }
                s.flash = Some(Flash::Info(text));
            }
            Vec::new()
        }
        Some(Action::Events) => {
            let key = s.table(s.view).selected_row().map(|r| r.key.clone());
            match (s.view, key) {
                (View::Events, _) | (_, None) => open_events(s, None),
                (view, Some(k)) => {
                    let name = view.resource().events_name(s, &k);
                    open_events(s, Some(EventFilter::ResourceName(name)))
                }
            }
        }
        Some(a @ (Action::Reveal | Action::RevealRaw)) => {
            let wanted = if a == Action::RevealRaw {
                Shown::Raw
            } else {
                Shown::Masked
            };
            if s.view != View::Messages {
                return Vec::new();
            }
            let (Some(id), Some((_, arn))) = (
                s.table(View::Messages)
                    .selected_row()
                    .map(|r| r.key.clone()),
                s.data.messages_queue.clone(),
            ) else {
                return Vec::new();
            };
            // The same key hides the body again; the other key asks for the other reveal (a
            // raw body is masked again without a record: masking shows less).
            match s.data.revealed.get(&id).copied() {
                Some(shown) if shown == wanted => {
                    s.data.revealed.remove(&id);
                    rebuild(s, View::Messages);
                    s.flash = Some(Flash::Info("message body hidden again".into()));
                    return Vec::new();
                }
                Some(Shown::Raw) => {
                    s.data.revealed.insert(id, Shown::Masked);
                    rebuild(s, View::Messages);
                    s.flash = Some(Flash::Info("message body masked again".into()));
                    return Vec::new();
                }
                _ => {}
            }
            s.revealing = Some(id.clone());
            s.flash = Some(Flash::Info("recording the reveal in the audit log…".into()));
            vec![Effect::Reveal {
                queue_arn: arn,
                message_id: id,
                shown: wanted,
            }]
        }
        Some(Action::Quit) => {
            s.quit = true;
            vec![Effect::Quit]
        }
        _ => Vec::new(),
    }
}

fn follow_link(s: &mut State, n: usize) -> Vec<Effect> {
    let Some(key) = s.table(s.view).selected_row().map(|r| r.key.clone()) else {
        return Vec::new();
    };
    let all = links::links(s, s.view, &key);
    match all.into_iter().nth(n) {
        Some(l) => follow(s, l.target),
        None => {
            s.flash = Some(Flash::Info(format!("no link {} here", n + 1)));
            Vec::new()
        }
    }
}

pub(crate) fn edit(input: &mut String, k: Key, action: Option<Action>) -> bool {
    match (action, k.code) {
        (Some(Action::Delete), _) => {
            input.pop();
            true
        }
        (Some(Action::Clear), _) => {
            input.clear();
            true
        }
        (None, KeyName::Char(c)) if !k.ctrl && !k.alt && !c.is_control() => {
            input.push(c);
            true
        }
        _ => false,
    }
}

fn command_key(s: &mut State, k: Key, action: Option<Action>, mut input: String) -> Vec<Effect> {
    match action {
        Some(Action::Cancel) => {
            s.mode = Mode::Normal;
            Vec::new()
        }
        Some(Action::Complete) => {
            s.mode = Mode::Command {
                input: command::complete(&input, &s.profiles),
            };
            Vec::new()
        }
        Some(Action::Submit) => {
            s.mode = Mode::Normal;
            run_command(s, &input)
        }
        _ => {
            edit(&mut input, k, action);
            s.mode = Mode::Command { input };
            Vec::new()
        }
    }
}

pub fn run_command(s: &mut State, input: &str) -> Vec<Effect> {
    match command::parse(input) {
        Ok(Command::View(v)) => go(s, v),
        Ok(Command::Events(filter)) => open_events(s, filter),
        Ok(Command::Quit) => {
            s.quit = true;
            vec![Effect::Quit]
        }
        Ok(Command::Help) => {
            s.mode = Mode::Help { scroll: 0 };
            Vec::new()
        }
        Ok(Command::Profile(p)) => vec![Effect::SwitchProfile { profile: p }],
        Ok(Command::Region(r)) => vec![Effect::SwitchRegion { region: r }],
        Ok(Command::Drill {
            runbook,
            report_dir,
        }) => super::drill::command(s, runbook, report_dir),
        Ok(Command::DrillStop) => super::drill::stop(s),
        Ok(Command::Reauth) => {
            s.mode = Mode::Mfa {
                purpose: MfaPurpose::Reauth,
                input: String::new(),
                error: None,
                busy: false,
            };
            Vec::new()
        }
        Err(e) => {
            s.flash = Some(Flash::Error(e));
            Vec::new()
        }
    }
}

fn filter_key(s: &mut State, k: Key, action: Option<Action>, mut input: String) -> Vec<Effect> {
    let view = s.view;
    match action {
        Some(Action::Cancel) => {
            input.clear();
            s.mode = Mode::Normal;
        }
        Some(Action::Submit) => {
            s.mode = Mode::Normal;
            return Vec::new();
        }
        _ => {
            edit(&mut input, k, action);
            s.mode = Mode::Filter {
                input: input.clone(),
            };
        }
    }
    // Incremental: the list follows every key stroke.
    if let Some(t) = s.tables.get_mut(&view) {
        t.filter = input;
        rows::refilter(t);
    }
    Vec::new()
}

#[allow(clippy::too_many_arguments)]
fn mfa_key(
    s: &mut State,
    k: Key,
    action: Option<Action>,
    purpose: MfaPurpose,
    mut input: String,
    error: Option<String>,
    busy: bool,
) -> Vec<Effect> {
    if busy {
        return Vec::new();
    }
    match action {
        Some(Action::Cancel) => {
            match purpose {
                // Without a session there is nothing to go back to; without unlocking, the
                // screen stays blank.
                MfaPurpose::Login { .. } if s.session.is_none() => {
                    s.quit = true;
                    return vec![Effect::Quit];
                }
                MfaPurpose::Unlock => {}
                MfaPurpose::StepUp => {
                    s.mode = Mode::Normal;
                    s.acting = None;
                    s.flash = Some(Flash::Info("cancelled: the action did not run".into()));
                    return vec![Effect::CancelPending];
                }
                MfaPurpose::Drill => return super::drill::code(s, None),
                _ => s.mode = Mode::Normal,
            }
            if purpose == MfaPurpose::Unlock {
                s.mode = Mode::Mfa {
                    purpose,
                    input: String::new(),
                    error: Some("the console is locked: enter a fresh MFA code".into()),
                    busy: false,
                };
            }
            Vec::new()
        }
        Some(Action::Submit) => match crate::session::validate_code(&input) {
            Ok(code) if purpose == MfaPurpose::Drill => super::drill::code(s, Some(code)),
            Ok(code) => {
                s.mode = Mode::Mfa {
                    purpose: purpose.clone(),
                    input: String::new(),
                    error: None,
                    busy: true,
                };
                vec![Effect::Authenticate { purpose, code }]
            }
            Err(e) => {
                s.mode = Mode::Mfa {
                    purpose,
                    input: String::new(),
                    error: Some(e.to_string()),
                    busy: false,
                };
                Vec::new()
            }
        },
        _ => {
            if (matches!(k.code, KeyName::Char(c) if c.is_ascii_digit()) || action.is_some())
                && (input.len() < 6 || action.is_some())
            {
                edit(&mut input, k, action);
            }
            s.mode = Mode::Mfa {
                purpose,
                input,
                error,
                busy,
            };
            Vec::new()
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::theme::Theme;
    use crossterm::event::{KeyCode, KeyModifiers};

    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd";

    use crate::app::test_support::now;

    fn info(require_reason: bool) -> SessionInfo {
        SessionInfo {
            require_reason,
            ..crate::app::test_support::session_info(now())
        }
    }

    fn the_plan() -> crate::guard::Plan {
        crate::guard::Plan {
            operation: crate::guard::Operation::new(&crate::guard::kms::ROTATE_NOW, KEY),
            action: "kms:RotateKeyOnDemand".into(),
            summary: "rotate alias/claims-costs now".into(),
            targets: vec![crate::guard::Target {
                arn: KEY.into(),
                name: "claims-costs".into(),
            }],
            calls: Vec::new(),
            profile: "demo".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            endpoint: None,
            caller_arn: String::new(),
            production: false,
            facts: Vec::new(),
            irreversible: Vec::new(),
            warnings: Vec::new(),
            confirm_text: "claims-costs".into(),
            confirm_also: vec!["alias/claims-costs".into()],
            planned_at: now(),
        }
    }

    /// A signed-in state whose plan was asked for (an earlier "cancelled" still in the footer).
    fn planning(require_reason: bool) -> State {
        let mut s = State::new(now(), Keymap::default_keymap(), Theme::default());
        s.session = Some(info(require_reason));
        s.flash = Some(Flash::Info("cancelled: nothing was changed".into()));
        let out = plan(&mut s, crate::guard::Request::rotate_now(KEY), KEY.into());
        assert!(matches!(out.as_slice(), [Effect::Plan(_)]), "{out:?}");
        s
    }

    /// A signed-in state showing the confirmation form of a fresh plan.
    pub(crate) fn planned(require_reason: bool) -> State {
        let mut s = planning(require_reason);
        update(&mut s, Msg::Planned(Ok(Box::new(the_plan()))));
        s
    }

    fn messages(url: &str) -> Target {
        Target::Messages {
            url: url.into(),
            arn: format!(
                "arn:aws:sqs:us-east-1:123456789012:{}",
                url.rsplit('/').next().unwrap_or(url)
            ),
        }
    }

    fn peek_plan(url: &str) -> crate::guard::peek::PeekPlan {
        crate::guard::peek::PeekPlan {
            queue_url: url.into(),
            queue_arn: String::new(),
            queue_name: url.rsplit('/').next().unwrap_or(url).into(),
            visible: 1,
            in_flight: 0,
            max_messages: 50,
            redrive: None,
            seen: None,
            place: String::new(),
            planned_at: now(),
        }
    }

    /// A peek of queue A confirmed, then queue B opened while it runs: A's messages never show
    /// as B's, B's peek is planned (not skipped as "loading"), and A's counts are not B's.
    #[test]
    fn a_peek_of_one_queue_never_lands_in_another() {
        let (a, b) = ("http://x/123456789012/qa", "http://x/123456789012/qb");
        let mut s = State::new(now(), Keymap::default_keymap(), Theme::default());
        s.session = Some(info(false));
        let out = follow(&mut s, messages(a));
        assert!(
            matches!(out.last(), Some(Effect::PlanPeek { .. })),
            "{out:?}"
        );
        update(&mut s, Msg::PeekPlanned(Ok(Box::new(peek_plan(a)))));
        let out = press(&mut s, KeyCode::Char('p'));
        let Some(Effect::Peek { generation, .. }) = out.first() else {
            panic!("not peeked: {out:?}");
        };
        let generation = *generation;
        let out = follow(&mut s, messages(b));
        assert!(
            out.iter()
                .any(|e| matches!(e, Effect::PlanPeek { queue_url, .. } if queue_url == b)),
            "queue B is planned: {out:?}"
        );
        let m = crate::cloud::sqs::Message {
            id: "from-a".into(),
            sent: None,
            receive_count: 3,
            group_id: None,
            size: 0,
            attributes: Default::default(),
            body: String::new(),
        };
        update(
            &mut s,
            Msg::Loaded {
                kind: Kind::Messages,
                generation,
                payload: Payload::Messages(vec![m]),
            },
        );
        assert!(s.data.messages.is_empty(), "A's messages shown as B's");
        assert!(!s.data.peek_seen.contains_key(b));
        // B's own plan is still the one awaited.
        assert!(matches!(&s.mode, Mode::PeekPlanning { queue_url } if queue_url == b));
    }

    pub(crate) fn press(s: &mut State, code: KeyCode) -> Vec<Effect> {
        update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
    }

    pub(crate) fn type_text(s: &mut State, text: &str) -> Vec<Effect> {
        text.chars()
            .flat_map(|c| press(s, KeyCode::Char(c)))
            .collect()
    }

    fn form(s: &State) -> &ConfirmForm {
        match &s.mode {
            Mode::Confirm(f) => f,
            other => panic!("not confirming: {other:?}"),
        }
    }

    #[test]
    fn a_plan_clears_the_footer_and_the_form_starts_in_the_name_field() {
        let mut s = planning(true);
        assert_eq!(
            s.flash, None,
            "the old 'cancelled' is gone once a plan starts"
        );
        update(&mut s, Msg::Planned(Ok(Box::new(the_plan()))));
        assert_eq!(form(&s).focus, Focus::Name);
        assert!(type_text(&mut s, "claims-costs").is_empty());
        assert_eq!(
            form(&s).typed,
            "claims-costs",
            "typed at once, into the name"
        );
    }

    #[test]
    fn keys_typed_while_the_plan_loads_are_dropped_and_say_so() {
        let mut s = planning(true);
        assert!(type_text(&mut s, "claims").is_empty());
        assert!(matches!(s.mode, Mode::Planning { .. }), "{:?}", s.mode);
        assert!(
            matches!(&s.flash, Some(Flash::Info(m)) if m.contains("plan loading")),
            "{:?}",
            s.flash
        );
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        update(&mut s, Msg::Planned(Ok(Box::new(the_plan()))));
        assert_eq!(form(&s).typed, "", "nothing typed early reached a field");
        assert_eq!(s.flash, None, "the plan is shown: 'plan loading…' is over");
    }

    #[test]
    fn esc_while_the_plan_loads_cancels_and_the_late_plan_is_dropped() {
        let mut s = planning(true);
        assert!(press(&mut s, KeyCode::Esc).is_empty());
        assert_eq!(s.mode, Mode::Normal);
        update(&mut s, Msg::Planned(Ok(Box::new(the_plan()))));
        assert_eq!(s.mode, Mode::Normal, "no form opens for a cancelled plan");
    }

    #[test]
    fn enter_in_a_field_moves_to_the_next_and_never_confirms() {
        let mut s = planned(false);
        // A name that matches (no reason needed here): Enter still only moves on.
        assert!(type_text(&mut s, "claims-costs").is_empty());
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert_eq!(form(&s).focus, Focus::Reason);
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert_eq!(form(&s).focus, Focus::Ticket);
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        assert_eq!(form(&s).focus, Focus::Confirm);
        // Enter on the (enabled) confirm button runs it.
        let out = press(&mut s, KeyCode::Enter);
        match out.as_slice() {
            [Effect::Execute(c)] => {
                assert_eq!(c.typed(), "claims-costs");
                assert_eq!(c.reason(), None);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(s.mode, Mode::Running { .. }));
    }

    #[test]
    fn the_confirm_button_is_disabled_until_the_name_matches_and_a_reason_is_given() {
        let mut s = planned(true);
        assert_eq!(form(&s).missing(true), Some("type the name and a reason"));
        // Straight to the button: pressing it does nothing but say why.
        for _ in 0..3 {
            press(&mut s, KeyCode::Tab);
        }
        assert_eq!(form(&s).focus, Focus::Confirm);
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        let err = form(&s).error.clone().unwrap_or_default();
        assert!(
            err.contains("disabled") && err.contains("claims-costs"),
            "{err}"
        );
        assert_eq!(form(&s).focus, Focus::Confirm, "the focus stays");

        // A wrong name: still disabled.
        press(&mut s, KeyCode::BackTab);
        press(&mut s, KeyCode::BackTab);
        press(&mut s, KeyCode::BackTab);
        assert_eq!(form(&s).focus, Focus::Name);
        type_text(&mut s, "claims-cost");
        assert_eq!(form(&s).error, None, "editing clears the old reason why");
        assert_eq!(form(&s).missing(true), Some("type the name and a reason"));
        // The right name, no reason: disabled, and says the reason is missing.
        type_text(&mut s, "s");
        assert_eq!(form(&s).missing(true), Some("give a reason"));
        press(&mut s, KeyCode::Up);
        assert_eq!(
            form(&s).focus,
            Focus::Cancel,
            "Up from the name wraps to Cancel"
        );
        press(&mut s, KeyCode::Up);
        assert_eq!(form(&s).focus, Focus::Confirm);
        assert!(press(&mut s, KeyCode::Enter).is_empty());
        let err = form(&s).error.clone().unwrap_or_default();
        assert!(err.contains("reason"), "{err}");
        // A blank reason does not count.
        press(&mut s, KeyCode::Up);
        press(&mut s, KeyCode::Up);
        assert_eq!(form(&s).focus, Focus::Reason);
        type_text(&mut s, "   ");
        assert_eq!(form(&s).missing(true), Some("give a reason"));
        type_text(&mut s, "CHG-1 posture fix");
        assert_eq!(form(&s).missing(true), None);
        press(&mut s, KeyCode::Down);
        press(&mut s, KeyCode::Down);
        assert_eq!(form(&s).focus, Focus::Confirm);
        let out = press(&mut s, KeyCode::Enter);
        match out.as_slice() {
            [Effect::Execute(c)] => assert_eq!(c.reason(), Some("CHG-1 posture fix")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_full_alias_also_enables_the_button() {
        let mut s = planned(false);
        type_text(&mut s, "alias/claims-costs");
        assert_eq!(form(&s).missing(false), None);
    }

    #[test]
    fn esc_cancels_from_every_focus_and_enter_on_cancel_cancels() {
        for tabs in 0..5 {
            let mut s = planned(true);
            type_text(&mut s, "claims-costs");
            for _ in 0..tabs {
                press(&mut s, KeyCode::Tab);
            }
            assert!(press(&mut s, KeyCode::Esc).is_empty());
            assert_eq!(s.mode, Mode::Normal);
            assert!(
                matches!(&s.flash, Some(Flash::Info(m)) if m.contains("cancelled")),
                "{:?}",
                s.flash
            );
        }
        let mut s = planned(false);
        type_text(&mut s, "claims-costs");
        for _ in 0..4 {
            press(&mut s, KeyCode::Tab);
        }
        assert_eq!(form(&s).focus, Focus::Cancel);
        assert!(
            press(&mut s, KeyCode::Enter).is_empty(),
            "Cancel runs nothing"
        );
        assert_eq!(s.mode, Mode::Normal);
    }

    #[test]
    fn the_demo_code_is_state_set_by_its_message_only() {
        let mut s = State::new(now(), Keymap::default_keymap(), Theme::default());
        assert_eq!(s.demo_code, None);
        update(&mut s, Msg::Tick(now()));
        assert_eq!(s.demo_code, None, "a tick alone never makes a code up");
        update(&mut s, Msg::DemoCode("123456".into()));
        assert_eq!(s.demo_code.as_deref(), Some("123456"));
    }
}
