//! `:drill RUNBOOK [REPORT_DIR]` in the console (docs/DR-DRILLS.md), as pure state logic:
//! the runbook is read off the draw loop (`Effect::PrepareDrill`), shown once and confirmed
//! once by typing its name, with the reason (`Mode::DrillConfirm`), then run on a task of the
//! runner with the engine `phi-console drill run` uses (`Effect::RunDrill`,
//! `crate::app::drill_task`). Its progress is a task line in the footer; its questions (a
//! step-up MFA code, an operator's verdict on a restored copy) arrive as `Msg::DrillAsks` and
//! are shown as soon as nothing else is on screen, so a form being filled in is never lost.

use super::keymap::Action;
use super::state::{Flash, MfaPurpose, Mode, State};
use super::update::Effect;
use crate::drill::engine;
use crate::drill::files::Prepared;
use std::path::PathBuf;

/// A prepared runbook and what the confirmation shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillOffer {
    pub prepared: Prepared,
    /// The runbook as `:drill` named it and the profile it was read for.
    pub runbook: PathBuf,
    pub profile: String,
    /// The drill in a few lines (tests, objectives, approver, identity, role; RESUMING).
    pub lines: Vec<String>,
}

/// The field of the drill's confirmation that has focus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrillFocus {
    Name,
    Reason,
}

/// The drill's one confirmation: its name typed, and the reason recorded with every action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillForm {
    pub offer: DrillOffer,
    pub typed: String,
    pub reason: String,
    pub focus: DrillFocus,
    pub error: Option<String>,
}

impl DrillForm {
    pub fn new(offer: DrillOffer) -> DrillForm {
        DrillForm {
            offer,
            typed: String::new(),
            reason: String::new(),
            focus: DrillFocus::Name,
            error: None,
        }
    }

    pub fn name(&self) -> &str {
        &self.offer.prepared.runbook.name
    }

    fn reason(&self) -> Option<&str> {
        Some(self.reason.as_str()).filter(|r| !r.trim().is_empty())
    }

    /// Why Enter does not start the drill yet (None: it does).
    pub fn missing(&self, require_reason: bool) -> Option<String> {
        if self.typed.trim() != self.name() {
            return Some(format!("type {} to run the drill", self.name()));
        }
        engine::check_reason(self.reason(), require_reason)
            .err()
            .map(|e| e.to_string())
    }
}

/// A question a running drill asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrillQuestion {
    /// A fresh MFA code before the drill's next action (step-up).
    Code,
    /// Did the restored copy pass the operator's checks (no check command is configured)?
    Verdict(String),
}

/// `:drill RUNBOOK [DIR]`: refused without a session, in read-only mode and while another
/// drill runs; else the runbook is read (and the state of an interrupted run of it).
pub fn command(s: &mut State, runbook: PathBuf, report_dir: Option<PathBuf>) -> Vec<Effect> {
    let refusal = match &s.session {
        None => Some("not signed in: sign in, then run the drill".to_string()),
        Some(i) if i.read_only => Some(
            "read-only mode: a drill restores recovery points into new resources, so it is refused; open the console without --read-only (and a profile without read_only) to run it".to_string(),
        ),
        Some(i) if i.audit_error.is_some() => Some(format!(
            "the audit log is unavailable ({}), so no drill can run: fix the audit directory and sign in again",
            i.audit_error.as_deref().unwrap_or_default()
        )),
        Some(_) => s.drill_running.as_ref().map(|d| {
            format!("{d} is running: wait for it to end (or quit: it resumes with the same :drill)")
        }),
    };
    if let Some(r) = refusal {
        s.flash = Some(Flash::Error(r));
        return Vec::new();
    }
    s.flash = None;
    s.mode = Mode::DrillPreparing;
    s.drill_asked = s
        .session
        .as_ref()
        .map(|i| (runbook.clone(), i.profile.clone()));
    vec![Effect::PrepareDrill {
        runbook,
        report_dir: report_dir.unwrap_or_else(|| PathBuf::from(".")),
    }]
}

/// `:drill stop`: the running drill stops at its next step, its state kept.
pub fn stop(s: &mut State) -> Vec<Effect> {
    match &s.drill_running {
        Some(d) => {
            s.flash = Some(Flash::Info(format!(
                "stopping {d} at its next step (the call in flight finishes and is recorded); the same :drill resumes it"
            )));
            vec![Effect::StopDrill]
        }
        None => {
            s.flash = Some(Flash::Error(
                "no drill is running: :drill RUNBOOK starts one".to_string(),
            ));
            Vec::new()
        }
    }
}

/// The runbook read: its confirmation opens (only if it is still awaited).
pub fn prepared(s: &mut State, offer: Result<Box<DrillOffer>, String>) -> Vec<Effect> {
    if !matches!(s.mode, Mode::DrillPreparing) {
        return Vec::new();
    }
    // An offer read for an earlier `:drill` (another runbook, another profile) is not this one's.
    if let Ok(o) = &offer
        && s.drill_asked.as_ref() != Some(&(o.runbook.clone(), o.profile.clone()))
    {
        return Vec::new();
    }
    s.drill_asked = None;
    match offer {
        Ok(o) => s.mode = Mode::DrillConfirm(Box::new(DrillForm::new(*o))),
        Err(e) => {
            s.mode = Mode::Normal;
            s.last_error = Some(e.clone());
            s.flash = Some(Flash::Error(e));
        }
    }
    Vec::new()
}

/// The confirmation's keys: typing edits the focused field, Tab/↓/↑ switch fields, Enter on
/// the name moves to the reason and Enter on the reason starts the drill once the name
/// matches and a required reason is given (else it says why); Esc cancels.
pub fn confirm_key(
    s: &mut State,
    k: super::keymap::Key,
    action: Option<Action>,
    mut form: DrillForm,
) -> Vec<Effect> {
    use super::keymap::KeyName;
    match (action, k.code) {
        (Some(Action::Cancel), _) => {
            s.mode = Mode::Normal;
            s.flash = Some(Flash::Info(
                "drill cancelled: nothing was changed".to_string(),
            ));
            return Vec::new();
        }
        (Some(Action::Complete), _)
        | (None, KeyName::Down)
        | (None, KeyName::Up)
        | (None, KeyName::BackTab) => {
            form.focus = match form.focus {
                DrillFocus::Name => DrillFocus::Reason,
                DrillFocus::Reason => DrillFocus::Name,
            };
        }
        (Some(Action::Submit), _) if form.focus == DrillFocus::Name => {
            form.focus = DrillFocus::Reason;
        }
        (Some(Action::Submit), _) => {
            let require = s.session.as_ref().is_none_or(|i| i.require_reason);
            match form.missing(require) {
                None => {
                    s.mode = Mode::Normal;
                    s.flash = Some(Flash::Info(format!(
                        "drill {} starting: its progress is in the footer; reports go to {}",
                        form.name(),
                        form.offer.prepared.dir.display()
                    )));
                    let reason = form.reason().map(str::to_string);
                    return vec![Effect::RunDrill {
                        prepared: Box::new(form.offer.prepared),
                        reason,
                    }];
                }
                Some(m) => form.error = Some(format!("the drill does not start: {m}")),
            }
        }
        _ => {
            let field = match form.focus {
                DrillFocus::Name => &mut form.typed,
                DrillFocus::Reason => &mut form.reason,
            };
            if super::update::edit(field, k, action) {
                form.error = None;
            }
        }
    }
    s.mode = Mode::DrillConfirm(Box::new(form));
    Vec::new()
}

/// A running drill asks something: kept until nothing else is on screen.
pub fn asks(s: &mut State, q: DrillQuestion) -> Vec<Effect> {
    s.drill_asks = Some(q);
    show_question(s);
    Vec::new()
}

/// Shows the drill's question when the screen is free (called after every update).
pub fn show_question(s: &mut State) {
    if !matches!(s.mode, Mode::Normal) || s.locked {
        return;
    }
    match s.drill_asks.take() {
        Some(DrillQuestion::Code) => {
            s.mode = Mode::Mfa {
                purpose: MfaPurpose::Drill,
                input: String::new(),
                error: None,
                busy: false,
            };
        }
        Some(DrillQuestion::Verdict(question)) => s.mode = Mode::DrillVerdict { question },
        None => {}
    }
}

/// The verdict's keys: `y` it passed, `n` it did not, Esc no answer (the drill stops here,
/// its state kept: the same `:drill` resumes it and asks again).
pub fn verdict_key(
    s: &mut State,
    k: super::keymap::Key,
    action: Option<Action>,
    question: String,
) -> Vec<Effect> {
    use super::keymap::KeyName;
    let answer = match (action, k.code) {
        (Some(Action::Cancel), _) => None,
        (None, KeyName::Char('y' | 'Y')) => Some("yes"),
        (None, KeyName::Char('n' | 'N')) => Some("no"),
        _ => {
            s.mode = Mode::DrillVerdict { question };
            return Vec::new();
        }
    };
    s.mode = Mode::Normal;
    if answer.is_none() {
        s.flash = Some(Flash::Info(
            "no verdict: the drill stops here with its state kept; run the same :drill to resume"
                .to_string(),
        ));
    }
    vec![Effect::DrillAnswer(answer.map(str::to_string))]
}

/// The step-up code typed for the drill (or none: the drill stops, resumable).
pub fn code(s: &mut State, code: Option<String>) -> Vec<Effect> {
    s.mode = Mode::Normal;
    if code.is_none() {
        s.flash = Some(Flash::Info(
            "no MFA code: the drill stops here with its state kept; run the same :drill to resume"
                .to_string(),
        ));
    }
    vec![Effect::DrillAnswer(code)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::Keymap;
    use crate::app::test_support::{now, session_info};
    use crate::app::update::{Msg, update};
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    const RUNBOOK: &str = "[drill]\nname = \"q4\"\napproved_by = \"D\"\napproved_on = \"2026-11-20\"\nrestore_role_arn = \"arn:aws:iam::123456789012:role/R\"\n\n[[test]]\nname = \"t\"\nrecovery_point_arn = \"arn:aws:backup:us-east-1:123456789012:recovery-point:p\"\nrto_minutes = 60\nrpo_minutes = 60\n";

    fn offer() -> DrillOffer {
        let runbook = crate::drill::runbook::Runbook::parse("q4.toml", RUNBOOK).unwrap();
        DrillOffer {
            runbook: "q4.toml".into(),
            profile: "demo".into(),
            prepared: Prepared {
                role: "arn:aws:iam::123456789012:role/R".into(),
                file: "q4.toml".into(),
                dir: ".".into(),
                state_path: "./q4.state.json".into(),
                previous: None,
                runbook,
            },
            lines: vec!["Drill q4 (1 restore tests)".into()],
        }
    }

    fn state(read_only: bool) -> State {
        let mut s = State::new(now(), Keymap::default_keymap(), Default::default());
        let mut info = session_info(now());
        info.read_only = read_only;
        info.require_reason = true;
        s.session = Some(info);
        s
    }

    fn key(s: &mut State, c: KeyCode) -> Vec<Effect> {
        update(s, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)))
    }

    fn typed(s: &mut State, t: &str) {
        for c in t.chars() {
            key(s, KeyCode::Char(c));
        }
    }

    #[test]
    fn a_drill_is_refused_without_a_session_read_only_or_while_one_runs() {
        for (mut s, why) in [
            (
                State::new(now(), Keymap::default_keymap(), Default::default()),
                "not signed in",
            ),
            (state(true), "read-only mode"),
        ] {
            assert!(command(&mut s, "q4.toml".into(), None).is_empty());
            assert!(
                matches!(&s.flash, Some(Flash::Error(e)) if e.contains(why)),
                "{:?}",
                s.flash
            );
            assert_eq!(s.mode, Mode::Normal);
        }
        let mut s = state(false);
        s.drill_running = Some("drill q4".into());
        assert!(command(&mut s, "q4.toml".into(), None).is_empty());
        assert!(matches!(&s.flash, Some(Flash::Error(e)) if e.contains("drill q4 is running")));
        let mut s = state(false);
        assert_eq!(
            command(&mut s, "q4.toml".into(), None),
            [Effect::PrepareDrill {
                runbook: "q4.toml".into(),
                report_dir: ".".into()
            }]
        );
        assert_eq!(s.mode, Mode::DrillPreparing);
    }

    #[test]
    fn the_drill_starts_only_with_its_name_typed_and_a_required_reason() {
        let mut s = state(false);
        command(&mut s, "q4.toml".into(), None);
        update(&mut s, Msg::DrillPrepared(Ok(Box::new(offer()))));
        assert!(matches!(s.mode, Mode::DrillConfirm(_)));
        typed(&mut s, "q");
        key(&mut s, KeyCode::Enter);
        assert!(key(&mut s, KeyCode::Enter).is_empty(), "wrong name");
        key(&mut s, KeyCode::Tab);
        typed(&mut s, "4");
        key(&mut s, KeyCode::Tab);
        assert!(key(&mut s, KeyCode::Enter).is_empty(), "no reason");
        match &s.mode {
            Mode::DrillConfirm(f) => {
                assert!(f.error.as_deref().unwrap_or("").contains("reason"));
            }
            other => panic!("{other:?}"),
        }
        typed(&mut s, "Q4 drill");
        let e = key(&mut s, KeyCode::Enter);
        assert_eq!(
            e,
            [Effect::RunDrill {
                prepared: Box::new(offer().prepared),
                reason: Some("Q4 drill".into())
            }]
        );
        assert_eq!(s.mode, Mode::Normal);
        // A control character typed into the reason does not start a drill.
        let mut f = DrillForm::new(offer());
        f.typed = "q4".into();
        f.reason = "a\u{1b}b".into();
        assert!(f.missing(false).is_some());
        // Esc cancels; a late runbook does not reopen anything.
        s.mode = Mode::DrillConfirm(Box::new(DrillForm::new(offer())));
        key(&mut s, KeyCode::Esc);
        assert_eq!(s.mode, Mode::Normal);
        update(&mut s, Msg::DrillPrepared(Ok(Box::new(offer()))));
        assert_eq!(s.mode, Mode::Normal);
    }

    /// Review finding: a runbook read for an earlier `:drill` (cancelled with Esc while it
    /// was read) opens the confirmation of a later `:drill`, even after the profile changed:
    /// its lines name the old profile and account and its role comes from the old profile's
    /// settings, while `Effect::RunDrill` runs it with the session of the moment. The offer
    /// must answer the `:drill` that asked for it (a sequence number, or the runbook path and
    /// the profile compared).
    #[test]
    fn review_a_stale_runbook_does_not_open_a_later_drills_confirmation() {
        let mut s = state(false);
        assert!(!command(&mut s, "q4.toml".into(), None).is_empty());
        key(&mut s, KeyCode::Esc);
        assert_eq!(s.mode, Mode::Normal);
        // Another profile, another runbook.
        if let Some(i) = s.session.as_mut() {
            i.profile = "prod".into();
            i.account = "999999999999".into();
        }
        assert!(!command(&mut s, "other.toml".into(), None).is_empty());
        // q4.toml, read for the first :drill under the first profile, arrives now.
        update(&mut s, Msg::DrillPrepared(Ok(Box::new(offer()))));
        assert!(
            !matches!(s.mode, Mode::DrillConfirm(_)),
            "the first :drill's runbook opened the second's confirmation"
        );
    }

    #[test]
    fn questions_are_answered_by_their_keys_and_no_answer_stops_the_drill() {
        let mut s = state(false);
        update(
            &mut s,
            Msg::DrillAsks(DrillQuestion::Verdict("t: ok?".into())),
        );
        assert!(
            key(&mut s, KeyCode::Char('x')).is_empty(),
            "other keys wait"
        );
        assert_eq!(
            key(&mut s, KeyCode::Char('y')),
            [Effect::DrillAnswer(Some("yes".into()))]
        );
        update(
            &mut s,
            Msg::DrillAsks(DrillQuestion::Verdict("t: ok?".into())),
        );
        assert_eq!(
            key(&mut s, KeyCode::Char('n')),
            [Effect::DrillAnswer(Some("no".into()))]
        );
        update(
            &mut s,
            Msg::DrillAsks(DrillQuestion::Verdict("t: ok?".into())),
        );
        assert_eq!(key(&mut s, KeyCode::Esc), [Effect::DrillAnswer(None)]);
        assert_eq!(s.mode, Mode::Normal);
        // A code: six digits go to the drill (the console's session is not renewed).
        update(&mut s, Msg::DrillAsks(DrillQuestion::Code));
        assert!(matches!(
            s.mode,
            Mode::Mfa {
                purpose: MfaPurpose::Drill,
                ..
            }
        ));
        typed(&mut s, "123456");
        assert_eq!(
            key(&mut s, KeyCode::Enter),
            [Effect::DrillAnswer(Some("123456".into()))]
        );
        update(&mut s, Msg::DrillAsks(DrillQuestion::Code));
        assert_eq!(key(&mut s, KeyCode::Esc), [Effect::DrillAnswer(None)]);
        // The drill's end closes a question still open.
        s.drill_running = Some("drill q4".into());
        update(
            &mut s,
            Msg::DrillAsks(DrillQuestion::Verdict("t: ok?".into())),
        );
        update(
            &mut s,
            Msg::TaskEnded {
                id: "drill q4".into(),
                result: Err("stopped".into()),
            },
        );
        assert_eq!(s.mode, Mode::Normal);
        assert!(s.drill_running.is_none());
    }
}
