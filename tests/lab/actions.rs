//! Guarded actions in the console, end to end through `update` and the runner against the
//! emulator: plan, cancel, wrong name, missing reason, success with the audit intent before the
//! call and the outcome after, step-up required and given, read-only refusal at both gates, an
//! audit log that cannot be written (no call), and an interrupted action at shutdown.

use crate::common::*;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use phi_console::app::keymap::Keymap;
use phi_console::app::run::{Context, Incoming, Runner, channel};
use phi_console::app::state::{Focus, Mode, State, View};
use phi_console::app::update::{Effect, Msg, update};
use phi_console::emulator::Emulator;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use phi_console::emulator::wire::Service;
use phi_console::guard::{self, GuardError, Policy};
use phi_console::session::OpenOptions;
use phi_console::session::settings::SettingsFile;
use phi_console::ui::theme::Theme;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

pub(crate) struct Harness {
    pub(crate) emu: Emulator,
    pub(crate) s: State,
    pub(crate) runner: Runner,
    pub(crate) rx: UnboundedReceiver<Incoming>,
    pub(crate) audit: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

use crate::lab_support::demo_profile;

impl Harness {
    /// Signs in to the claims account (a real MFA session) with the given settings text (the
    /// audit directory is added) and opens `:keys` with `alias/claims-costs` selected.
    pub(crate) async fn new(
        settings: &str,
        read_only: bool,
        audit_dir: Option<std::path::PathBuf>,
    ) -> Harness {
        let emu = claims();
        let dir = tempfile::tempdir().unwrap();
        let audit = audit_dir.unwrap_or_else(|| dir.path().join("audit"));
        let settings = SettingsFile::parse(
            &format!(
                "[defaults]\naudit_dir = \"{}\"\n{settings}",
                audit.display()
            ),
            "t.toml",
        )
        .unwrap();
        let mut options = OpenOptions::new("jdoe");
        options.attempts = 1;
        options.now = emu.now_fn();
        let (tx, rx) = channel();
        let runner = Runner::new(
            tx,
            Context {
                profiles: None,
                settings,
                options,
                force_read_only: read_only,
                initial: demo_profile(&emu),
                demo_code: None,
            },
        );
        let s = State::new(
            emu.clock().now(),
            Keymap::default_keymap(),
            Theme::default(),
        );
        let mut h = Harness {
            emu,
            s,
            runner,
            rx,
            audit,
            _dir: dir,
        };
        h.runner.start();
        h.settle().await;
        let code = h.emu.totp(DEMO_MFA_SERIAL).unwrap();
        h.type_text(&code).await;
        h.key(KeyCode::Enter).await;
        assert!(h.s.session.is_some(), "signed in: {:?}", h.s.mode);
        h.type_text(":keys").await;
        h.key(KeyCode::Enter).await;
        h.type_text("/claims-costs").await;
        h.key(KeyCode::Enter).await;
        assert_eq!(
            h.s.table(View::Keys).selected_row().unwrap().cells[0],
            "alias/claims-costs"
        );
        h
    }

    pub(crate) fn apply(&mut self, msg: Msg) {
        for e in update(&mut self.s, msg) {
            self.runner.execute(e);
        }
    }

    /// Feeds every message the runner's tasks send until none comes for a while.
    /// Feeds every message the runner's tasks send until none comes for a while and nothing is
    /// in flight (a load, a plan, an action, an MFA check), so a slow machine only waits longer.
    pub(crate) async fn settle(&mut self) {
        let start = std::time::Instant::now();
        loop {
            match tokio::time::timeout(Duration::from_millis(300), self.rx.recv()).await {
                Ok(Some(incoming)) => {
                    let msg = match incoming {
                        Incoming::Msg(m) => m,
                        Incoming::Session(s, purpose) => self.runner.session_ready(*s, purpose),
                        Incoming::Term(_) => continue,
                    };
                    self.apply(msg);
                }
                Ok(None) => break,
                Err(_) => {
                    let busy = self.s.data.status.values().any(|st| st.loading)
                        || !self.s.tasks.is_empty()
                        || self.s.revealing.is_some()
                        || matches!(
                            self.s.mode,
                            Mode::Planning { .. }
                                | Mode::PeekPlanning { .. }
                                | Mode::Running { .. }
                                | Mode::Mfa { busy: true, .. }
                        );
                    if !busy || start.elapsed() > Duration::from_secs(30) {
                        break;
                    }
                }
            }
        }
    }

    /// Presses `c` and feeds the runner's messages until the action's answer, and returns it
    /// with the number of requests the emulator served until then (the keys reload an answer
    /// starts comes after); then settles.
    async fn key_until_done(&mut self, c: KeyCode) -> (Result<String, String>, u64) {
        let n = self.emu.request_count();
        self.apply(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
        loop {
            let incoming = tokio::time::timeout(Duration::from_secs(30), self.rx.recv())
                .await
                .expect("an answer to the action")
                .expect("the runner's channel is open");
            let msg = match incoming {
                Incoming::Msg(Msg::ActionDone(r)) => {
                    let served = self.emu.request_count() - n;
                    self.apply(Msg::ActionDone(r.clone()));
                    self.settle().await;
                    return (r, served);
                }
                Incoming::Msg(m) => m,
                Incoming::Session(s, purpose) => self.runner.session_ready(*s, purpose),
                Incoming::Term(_) => continue,
            };
            self.apply(msg);
        }
    }

    /// Applies the runner's messages until a followed task ends; `on_progress` sees each
    /// progress line (with the emulator, to move its clock). Returns how the task ended.
    pub(crate) async fn until_task_ended(
        &mut self,
        mut on_progress: impl FnMut(&Emulator, &str),
    ) -> Result<String, String> {
        loop {
            let incoming = tokio::time::timeout(Duration::from_secs(60), self.rx.recv())
                .await
                .expect("the task's messages")
                .expect("the runner's channel is open");
            let msg = match incoming {
                Incoming::Msg(m) => m,
                Incoming::Session(s, purpose) => self.runner.session_ready(*s, purpose),
                Incoming::Term(_) => continue,
            };
            if let Msg::TaskProgress { line, .. } = &msg {
                on_progress(&self.emu, line);
            }
            if let Msg::TaskEnded { result, .. } = &msg {
                let r = result.clone();
                self.apply(msg);
                return r;
            }
            self.apply(msg);
        }
    }

    pub(crate) async fn key(&mut self, c: KeyCode) {
        self.apply(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
        self.settle().await;
    }

    pub(crate) async fn type_text(&mut self, t: &str) {
        for c in t.chars() {
            self.apply(Msg::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
        }
        self.settle().await;
    }

    fn form(&self) -> &phi_console::app::state::ConfirmForm {
        match &self.s.mode {
            Mode::Confirm(f) => f,
            other => panic!("not confirming: {other:?}"),
        }
    }

    /// Mutating KMS calls the emulator served, from its CloudTrail.
    fn kms_changes(&self) -> Vec<(String, String)> {
        self.emu.with_world(|w| {
            w.trail
                .events
                .iter()
                .filter(|e| {
                    e.event_source == "kms.amazonaws.com"
                        && !e.read_only
                        && e.cloudtrail_event.contains("aws-sdk-rust")
                })
                .map(|e| {
                    let v: serde_json::Value = serde_json::from_str(&e.cloudtrail_event).unwrap();
                    (
                        e.event_name.clone(),
                        v["requestID"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
    }

    /// Every message's receive count in every queue, by queue name (sorted), and each
    /// queue's depth: what a receive would change.
    fn receive_counts(&self) -> Vec<(String, usize, u32)> {
        self.emu.with_world(|w| {
            w.sqs
                .queues
                .values()
                .map(|q| {
                    (
                        q.name.clone(),
                        q.messages.len(),
                        q.messages.iter().map(|m| m.receive_count).sum(),
                    )
                })
                .collect()
        })
    }

    pub(crate) fn audit_text(&self) -> String {
        std::fs::read_to_string(self.audit.join("demo.jsonl")).unwrap_or_default()
    }
}

pub(crate) fn render(s: &State) -> (String, ratatui::buffer::Buffer) {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    t.draw(|f| phi_console::ui::draw(f, s)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..40 {
        for x in 0..120 {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    (out, buf)
}

/// The foreground colour of the confirm button `[ kms:EnableKeyRotation ]` on screen.
fn button_fg(screen: &str, buf: &ratatui::buffer::Buffer) -> Option<ratatui::style::Color> {
    let button = "[ kms:EnableKeyRotation ]";
    let row = screen.lines().position(|l| l.contains(button)).unwrap();
    let line = screen.lines().nth(row).unwrap();
    let col = line[..line.find(button).unwrap()].chars().count() as u16;
    buf[(col, row as u16)].style().fg
}

#[tokio::test]
async fn plan_cancel_wrong_name_missing_reason_then_success_recorded_around_the_call() {
    let mut h = Harness::new("require_reason = true\n", false, None).await;
    // Enable automatic rotation with a 180-day period: the period prompt, then the plan.
    h.type_text("A").await;
    assert!(matches!(h.s.mode, Mode::Form(_)));
    h.type_text("180").await;
    h.key(KeyCode::Enter).await;
    let form = h.form().clone();
    // Every request from here on is counted: cancelling, a wrong name and a missing reason
    // call nothing at all (not even a read).
    let n = h.emu.request_count();
    assert_eq!(form.focus, Focus::Name, "the name field has the focus");
    assert_eq!(form.plan.action, "kms:EnableKeyRotation");
    assert!(
        form.plan.targets[0]
            .arn
            .starts_with("arn:aws:kms:us-east-1:123456789012:key/")
    );
    let (screen, buf) = render(&h.s);
    assert!(
        screen.contains("Plan: kms:EnableKeyRotation") && screen.contains("123456789012"),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("Type \"{}\" to confirm", form.plan.confirm_text)),
        "{screen}"
    );
    crate::tui::masked("confirm_enable_rotation_120x40", &screen);
    // The confirm button is drawn disabled (muted, and says why) until the name and a reason
    // are given.
    assert!(
        screen.contains("disabled: type the name and a reason"),
        "{screen}"
    );
    assert_eq!(
        button_fg(&screen, &buf),
        h.s.theme.muted.fg,
        "the disabled confirm button is muted"
    );

    // Esc cancels: nothing happens to the account.
    h.key(KeyCode::Esc).await;
    assert_eq!(h.s.mode, Mode::Normal);
    assert_eq!(h.emu.request_count(), n, "cancelling called something");
    assert!(h.kms_changes().is_empty());

    // Again: typed at once, the name lands in the name field; Enter in a field moves to the
    // next one and never confirms; a wrong name leaves the button disabled, and pressing it only
    // says what to type.
    h.type_text("A").await;
    h.type_text("180").await;
    h.key(KeyCode::Enter).await;
    let n = h.emu.request_count();
    h.type_text("claims-cost").await;
    assert_eq!(h.form().typed, "claims-cost");
    h.key(KeyCode::Enter).await;
    assert_eq!(h.form().focus, Focus::Reason);
    h.key(KeyCode::Enter).await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.form().focus, Focus::Confirm);
    h.key(KeyCode::Enter).await;
    let err = h.form().error.clone().unwrap();
    assert!(err.contains(&h.form().plan.confirm_text), "{err}");
    assert_eq!(
        h.form().focus,
        Focus::Confirm,
        "a disabled button does nothing else"
    );
    assert_eq!(h.emu.request_count(), n, "a wrong name called something");

    // The right name, but no reason: still disabled, and it says the reason is missing.
    let name = h.form().plan.confirm_text.clone();
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    assert_eq!(h.form().focus, Focus::Name);
    h.apply(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    h.type_text(&name).await;
    for _ in 0..3 {
        h.key(KeyCode::Enter).await;
    }
    assert_eq!(h.form().focus, Focus::Confirm);
    h.key(KeyCode::Enter).await;
    assert!(
        h.form()
            .error
            .clone()
            .unwrap_or_else(|| panic!("{:?}", h.form()))
            .to_lowercase()
            .contains("reason")
    );
    crate::tui::masked("confirm_reason_missing_120x40", &render(&h.s).0);
    assert_eq!(h.form().focus, Focus::Confirm);
    assert_eq!(h.emu.request_count(), n, "nothing ran yet");

    // A reason and a ticket: the button is enabled (drawn in the danger style), and it runs.
    h.key(KeyCode::BackTab).await;
    h.key(KeyCode::BackTab).await;
    assert_eq!(h.form().focus, Focus::Reason);
    h.type_text("quarterly posture fix").await;
    h.key(KeyCode::Enter).await;
    h.type_text("CHG-1234").await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.form().focus, Focus::Confirm);
    let (screen, buf) = render(&h.s);
    assert!(!screen.contains("disabled:"), "{screen}");
    assert_eq!(
        button_fg(&screen, &buf),
        h.s.theme.danger.fg,
        "the enabled confirm button marks danger"
    );
    h.key(KeyCode::Enter).await;
    assert_eq!(h.s.mode, Mode::Normal);
    let flash = format!("{:?}", h.s.flash);
    assert!(flash.contains("request"), "{flash}");
    let changes = h.kms_changes();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].0, "EnableKeyRotation");
    // The audit log: intent (with reason and ticket), then the outcome with the call's request id.
    let log = h.audit_text();
    let intent = log.find("\"kind\":\"intent\"").expect("intent");
    let outcome = log.find("\"kind\":\"outcome\"").expect("outcome");
    assert!(intent < outcome);
    assert!(log.contains("CHG-1234") && log.contains("quarterly posture fix"));
    assert!(
        log.contains(&changes[0].1),
        "the outcome carries the request id {}",
        changes[0].1
    );
    // The keys view shows the new state.
    let row = h.s.table(View::Keys).selected_row().unwrap().clone();
    assert_eq!(row.cells[0], "alias/claims-costs");
    assert_eq!(row.cells[5], "on");
    assert_eq!(row.cells[6], "180");
    // The key's CloudTrail events show the call.
    h.type_text("e").await;
    assert_eq!(h.s.view, View::Events);
    let events = h.s.table(View::Events);
    assert!(events.visible.iter().any(|i| {
        events.rows[*i].cells[1] == "EnableKeyRotation"
            && events.rows[*i]
                .haystack
                .contains(&changes[0].1.to_lowercase())
    }));
}

#[tokio::test]
async fn step_up_is_asked_and_given_before_the_action_runs() {
    let mut h = Harness::new("require_reason = false\nstep_up_minutes = 5\n", false, None).await;
    h.emu.advance(Duration::from_secs(6 * 60));
    h.type_text("R").await;
    let name = h.form().plan.confirm_text.clone();
    assert_eq!(h.form().plan.action, "kms:RotateKeyOnDemand");
    h.type_text(&name).await;
    for _ in 0..3 {
        h.key(KeyCode::Tab).await;
    }
    let n = h.emu.request_count();
    h.key(KeyCode::Enter).await;
    // The MFA code is older than 5 minutes: a fresh one first, nothing ran yet.
    assert!(
        matches!(
            &h.s.mode,
            Mode::Mfa {
                purpose: phi_console::app::state::MfaPurpose::StepUp,
                ..
            }
        ),
        "{:?}",
        h.s.mode
    );
    assert_eq!(h.emu.request_count(), n, "a call before the step-up");
    let code = h.emu.totp(DEMO_MFA_SERIAL).unwrap();
    h.type_text(&code).await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.s.mode, Mode::Normal, "{:?}", h.s.flash);
    assert_eq!(
        h.kms_changes()
            .iter()
            .map(|c| c.0.as_str())
            .collect::<Vec<_>>(),
        ["RotateKeyOnDemand"]
    );
    let log = h.audit_text();
    let step_up = log
        .find("\"event\":\"mfa_step_up\"")
        .expect("step-up recorded");
    assert!(step_up < log.find("\"kind\":\"intent\"").unwrap());
}

#[tokio::test]
async fn read_only_refuses_at_both_gates() {
    let mut h = Harness::new("", true, None).await;
    assert!(h.s.session.as_ref().unwrap().read_only);
    let refused = GuardError::ReadOnly {
        profile: "demo".into(),
        action: "kms:RotateKeyOnDemand".into(),
    }
    .to_string();
    // The key is not bound.
    let n = h.emu.request_count();
    h.type_text("A").await;
    h.type_text("R").await;
    assert_eq!(h.s.mode, Mode::Normal);
    let (screen, _) = render(&h.s);
    assert!(screen.contains("READ-ONLY"));
    assert_eq!(h.emu.request_count(), n, "an unbound key called something");
    // The planning gate refuses a plan asked for directly, before any call.
    let key = h.s.table(View::Keys).selected_row().unwrap().key.clone();
    h.runner
        .execute(Effect::Plan(phi_console::guard::Request::rotate_now(
            key.clone(),
        )));
    let Some(Incoming::Msg(Msg::Planned(Err(e)))) =
        tokio::time::timeout(Duration::from_secs(5), h.rx.recv())
            .await
            .unwrap()
    else {
        panic!("the plan was not refused");
    };
    assert_eq!(e, refused);
    assert_eq!(
        h.emu.request_count(),
        n,
        "the planning gate called something"
    );

    // The executor gate, reached directly: a plan confirmed in a read-write session of the same
    // profile, handed to the read-only console's runner, is refused before any call.
    h.emu.advance(Duration::from_secs(30)); // a fresh MFA code for the second session
    let mut options = OpenOptions::new("jdoe");
    options.attempts = 1;
    options.now = h.emu.now_fn();
    let rw = phi_console::session::open(
        &demo_profile(&h.emu),
        Some(&h.emu.totp(DEMO_MFA_SERIAL).unwrap()),
        &options,
    )
    .await
    .unwrap();
    assert!(!rw.read_only);
    let plan = guard::plan(&rw, &Policy::default(), &guard::Request::rotate_now(key))
        .await
        .unwrap();
    let confirmed =
        guard::confirm(&plan, &plan.confirm_text.clone(), Some("r"), None, false).unwrap();
    let n = h.emu.request_count();
    h.runner.execute(Effect::Execute(Box::new(confirmed)));
    let Some(Incoming::Msg(Msg::ActionDone(Err(e)))) =
        tokio::time::timeout(Duration::from_secs(5), h.rx.recv())
            .await
            .unwrap()
    else {
        panic!("the executor did not refuse");
    };
    assert_eq!(e, refused);
    assert_eq!(
        h.emu.request_count(),
        n,
        "the executor gate called something"
    );
    assert!(h.kms_changes().is_empty());
    assert!(
        !h.audit_text().contains("kms:RotateKeyOnDemand"),
        "nothing recorded"
    );
}

#[tokio::test]
async fn an_audit_log_that_cannot_be_written_stops_every_action() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    // The audit directory's parent is a regular file: the log cannot be created.
    let audit_dir = blocker.path().join("audit");
    let mut h = Harness::new("require_reason = false\n", false, Some(audit_dir)).await;
    let info = h.s.session.clone().unwrap();
    assert!(info.audit_error.is_some());
    let (screen, _) = render(&h.s);
    assert!(screen.contains("AUDIT UNAVAILABLE"), "{screen}");
    h.type_text("R").await;
    let name = h.form().plan.confirm_text.clone();
    h.type_text(&name).await;
    for _ in 0..3 {
        h.key(KeyCode::Tab).await;
    }
    let (done, served) = h.key_until_done(KeyCode::Enter).await;
    assert!(done.is_err(), "{done:?}");
    assert_eq!(h.s.mode, Mode::Normal);
    assert!(
        format!("{:?}", h.s.flash).contains("did not run"),
        "{:?}",
        h.s.flash
    );
    assert_eq!(served, 0, "no call reached the emulator");
}

#[tokio::test]
async fn shutdown_mid_action_records_interrupted_and_the_next_start_says_so() {
    let mut h = Harness::new("require_reason = false\n", false, None).await;
    h.emu.add_fault(
        FaultRule::for_op(Service::Kms, "RotateKeyOnDemand")
            .latency(Duration::from_secs(3), Duration::ZERO),
    );
    h.type_text("R").await;
    let name = h.form().plan.confirm_text.clone();
    h.type_text(&name).await;
    for _ in 0..3 {
        h.key(KeyCode::Tab).await;
    }
    // Confirm, then SIGHUP while the call is in flight: the runner shuts down.
    h.apply(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    // Waits for the intent itself (no fixed sleep): it is on disk while the call is in flight.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !h.audit_text().contains("\"kind\":\"intent\"") {
        assert!(
            std::time::Instant::now() < deadline,
            "no intent on disk: {}",
            h.audit_text()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !h.audit_text().contains("\"kind\":\"outcome\""),
        "the intent is on disk before the call returns"
    );
    h.runner.shutdown().await;
    let log = h.audit_text();
    assert!(log.contains("\"status\":\"interrupted\""), "{log}");
    assert!(log.contains("\"event\":\"end\""));
    let report =
        phi_console::audit::verify_file(&h.audit.join("demo.jsonl"), &Default::default()).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn an_arn_in_another_region_or_account_is_explained_not_called() {
    let mut h = Harness::new("", false, None).await;
    let key = h.s.table(View::Keys).selected_row().unwrap().key.clone();
    let n = h.emu.request_count();
    for (arn, says) in [
        (
            key.replace(":us-east-1:", ":eu-west-1:"),
            "region eu-west-1",
        ),
        (
            key.replace(":123456789012:", ":999999999999:"),
            "account 999999999999",
        ),
    ] {
        h.runner
            .execute(Effect::Plan(phi_console::guard::Request::rotate_now(arn)));
        let Some(Incoming::Msg(Msg::Planned(Err(e)))) =
            tokio::time::timeout(Duration::from_secs(5), h.rx.recv())
                .await
                .unwrap()
        else {
            panic!("the plan was not refused");
        };
        assert!(e.contains(says), "{e}");
    }
    assert_eq!(
        h.emu.request_count(),
        n,
        "explained, not called: no request at all"
    );
}

/// Follows the "messages of this queue" link of the selected row of `view`, named `queue`:
/// the console plans a peek (nothing is received yet).
async fn open_messages_link(h: &mut Harness, view: View, command: &str, queue: &str) {
    h.key(KeyCode::Esc).await; // clear the keys filter
    h.type_text(command).await;
    h.key(KeyCode::Enter).await;
    h.type_text("/").await;
    h.apply(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    ))); // a filter left from an earlier visit
    h.type_text(queue).await;
    h.key(KeyCode::Enter).await;
    let key = h.s.table(view).selected_row().unwrap().key.clone();
    assert!(key.ends_with(&format!(":{queue}")), "{key}");
    let links = phi_console::app::links::links(&h.s, view, &key);
    let n = links
        .iter()
        .position(|l| l.label.starts_with("messages of this queue"))
        .unwrap()
        + 1;
    h.type_text(&n.to_string()).await;
    assert_eq!(h.s.view, View::Messages);
}

/// Opens the messages of claims-notify-dlq (synthetic failed claims) and confirms the peek.
async fn open_dlq_messages(h: &mut Harness) {
    let before = h.receive_counts();
    open_messages_link(h, View::Dlq, ":dlq", "claims-notify-dlq").await;
    // The plan is shown; nothing was received yet.
    let Mode::PeekConfirm(plan) = &h.s.mode else {
        panic!("no peek plan: {:?} {:?}", h.s.mode, h.s.flash);
    };
    assert_eq!(plan.queue_name, "claims-notify-dlq");
    assert!(h.s.data.messages.is_empty());
    assert_eq!(h.receive_counts(), before, "planning received something");
    h.type_text("p").await;
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    assert!(!h.s.data.messages.is_empty(), "{:?}", h.s.flash);
    // The DLQ view now shows the age of the oldest message the peek sampled.
    let oldest =
        h.s.data
            .messages
            .iter()
            .filter_map(|m| m.sent)
            .min()
            .unwrap();
    let want = phi_console::app::rows::age(h.s.now, Some(oldest)).0;
    let rows = phi_console::app::resources::View::Dlq.resource().rows(&h.s);
    let row = rows
        .iter()
        .find(|r| r.cells[0] == "claims-notify-dlq")
        .unwrap();
    assert_eq!(row.cells[3], want, "{:?}", row.cells);
}

#[tokio::test]
async fn message_bodies_are_hidden_until_a_recorded_reveal() {
    let mut h = Harness::new("", false, None).await;
    open_dlq_messages(&mut h).await;
    let (screen, _) = render(&h.s);
    assert!(
        screen.contains("hidden") && !screen.contains("TEST PATIENT"),
        "{screen}"
    );
    assert!(
        screen.contains("NOTIFY_ADDRESS_INVALID"),
        "error attributes are shown: {screen}"
    );
    // The filter never searches bodies.
    h.type_text("/PATIENT").await;
    assert!(h.s.table(View::Messages).visible.is_empty());
    h.key(KeyCode::Esc).await; // cancels the filter
    assert_eq!(h.s.view, View::Messages);
    assert!(!h.s.table(View::Messages).visible.is_empty());
    assert!(!h.audit_text().contains("\"kind\":\"reveal\""));

    // v: the reveal is recorded first, then the body shows (sanitised, pretty-printed).
    let id =
        h.s.table(View::Messages)
            .selected_row()
            .unwrap()
            .key
            .clone();
    h.type_text("v").await;
    assert!(h.s.data.revealed.contains_key(&id));
    let (screen, _) = render(&h.s);
    // The body shows, masked: the patient's name is under a name key.
    assert!(
        screen.contains("\"patient\"") && screen.contains("[NAME]"),
        "{screen}"
    );
    assert!(!screen.contains("TEST PATIENT"), "{screen}");
    let log = h.audit_text();
    assert!(
        log.contains("\"kind\":\"reveal\"")
            && log.contains(&id)
            && log.contains("claims-notify-dlq"),
        "{log}"
    );
    assert!(
        !log.contains("TEST PATIENT"),
        "the body itself is never in the audit log"
    );
    // v again hides it; leaving the view hides everything.
    h.type_text("v").await;
    assert!(!render(&h.s).0.contains("[NAME]"));
    h.type_text("v").await;
    h.key(KeyCode::Esc).await;
    assert!(h.s.data.revealed.is_empty());
}

/// A peek shows metadata only (attribute names, values of the profile's safe attributes);
/// `v` shows the body with PHI-like values masked, `V` unmasked, each recorded first as its own
/// kind of reveal.
#[tokio::test]
async fn a_peek_shows_metadata_only_and_a_raw_reveal_is_its_own_record() {
    let mut h = Harness::new("", false, None).await;
    let body = r#"{"note":"SSN 123-45-6789","patient":{"memberId":"MBR123456789"}}"#;
    h.emu.with_world(|w| {
        let q = w.sqs.queues.get_mut("claims-notify-dlq").unwrap();
        for m in &mut q.messages {
            m.body = body.to_string();
            m.md5_body = phi_console::emulator::services::sqs::md5_hex(m.body.as_bytes());
        }
    });
    open_dlq_messages(&mut h).await;
    let (screen, _) = render(&h.s);
    // Safe values (errorCode, by the default safe_attributes) and attribute names show; the
    // other values, and the body, do not, and the filter cannot find them.
    assert!(screen.contains("NOTIFY_ADDRESS_INVALID"), "{screen}");
    assert!(
        screen.contains("errorMessage") && screen.contains("(hidden)"),
        "{screen}"
    );
    assert!(!screen.contains("123-45-6789") && !screen.contains("MBR123456789"));
    let hidden: Vec<String> =
        h.s.data
            .messages
            .iter()
            .flat_map(|m| m.attributes.iter())
            .filter(|(k, _)| *k == "errorMessage" || *k == "claimSegment")
            .map(|(_, v)| v.clone())
            .collect();
    assert!(!hidden.is_empty());
    for v in &hidden {
        assert!(!screen.contains(v.as_str()), "{v} shown: {screen}");
        for r in &h.s.table(View::Messages).rows {
            assert!(!r.haystack.contains(&v.to_lowercase()), "{v} searchable");
        }
    }
    h.type_text("/patient-details").await;
    assert!(h.s.table(View::Messages).visible.is_empty());
    h.key(KeyCode::Esc).await;
    let id =
        h.s.table(View::Messages)
            .selected_row()
            .unwrap()
            .key
            .clone();

    // v: masked.
    h.type_text("v").await;
    let (screen, _) = render(&h.s);
    assert!(
        screen.contains("SSN [SSN]") && screen.contains("[MEMBER-ID]"),
        "{screen}"
    );
    assert!(!screen.contains("123-45-6789") && !screen.contains("MBR123456789"));
    let log = h.audit_text();
    let reveals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"reveal\""))
        .collect();
    assert_eq!(reveals.len(), 1, "{log}");
    assert!(
        reveals[0].contains("\"message_body\"")
            && reveals[0].contains("\"masked\":true")
            && reveals[0].contains(&id),
        "{}",
        reveals[0]
    );

    // V: raw, recorded as a distinct reveal before it shows.
    h.type_text("V").await;
    let (screen, _) = render(&h.s);
    assert!(
        screen.contains("123-45-6789") && screen.contains("MBR123456789"),
        "{screen}"
    );
    assert!(screen.contains("UNMASKED"), "{screen}");
    let log = h.audit_text();
    let reveals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"reveal\""))
        .collect();
    assert_eq!(reveals.len(), 2, "{log}");
    assert!(
        reveals[1].contains("\"message_body_raw\"")
            && reveals[1].contains("\"masked\":false")
            && reveals[1].contains(&id),
        "{}",
        reveals[1]
    );
    assert!(!log.contains("123-45-6789"), "the body is never in the log");
    // V again hides it; nothing more is recorded.
    h.type_text("V").await;
    assert!(!render(&h.s).0.contains("123-45-6789"));
    assert!(h.s.data.revealed.is_empty());
    assert_eq!(
        h.audit_text()
            .lines()
            .filter(|l| l.contains("\"kind\":\"reveal\""))
            .count(),
        2
    );
}

#[tokio::test]
async fn no_audit_log_no_peek() {
    let blocker = tempfile::NamedTempFile::new().unwrap();
    let mut h = Harness::new("", false, Some(blocker.path().join("audit"))).await;
    let before = h.receive_counts();
    open_messages_link(&mut h, View::Dlq, ":dlq", "claims-notify-dlq").await;
    assert!(matches!(h.s.mode, Mode::PeekConfirm(_)), "{:?}", h.s.mode);
    h.type_text("p").await;
    // Fail closed: without a record there is no receive, so no message and no body.
    assert!(h.s.data.messages.is_empty());
    let err =
        h.s.status(phi_console::app::state::Kind::Messages)
            .error
            .clone();
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("nothing was received")),
        "{err:?}"
    );
    assert_eq!(h.receive_counts(), before);
    h.type_text("v").await;
    assert!(h.s.data.revealed.is_empty());
    assert!(!render(&h.s).0.contains("TEST PATIENT"));
}

#[tokio::test]
async fn read_only_never_peeks_at_either_gate() {
    let mut h = Harness::new("", true, None).await;
    let before = h.receive_counts();
    // The console asks for nothing: no plan, no receive, and the view says why.
    open_messages_link(&mut h, View::Dlq, ":dlq", "claims-notify-dlq").await;
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    let flash = format!("{:?}", h.s.flash);
    assert!(
        flash.contains("read-only mode: peeking receives messages"),
        "{flash}"
    );
    assert!(render(&h.s).0.contains("not peeked: read-only mode"));
    // r on the messages view asks again: refused again.
    h.type_text("r").await;
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    // The runner refuses a plan and a peek asked for directly (the UI is not the only gate).
    let url = h.s.data.messages_queue.clone().unwrap().0;
    let n = h.emu.request_count();
    h.runner.execute(Effect::PlanPeek {
        queue_url: url.clone(),
        seen: None,
    });
    let Some(Incoming::Msg(Msg::PeekPlanned(Err(e)))) =
        tokio::time::timeout(Duration::from_secs(5), h.rx.recv())
            .await
            .unwrap()
    else {
        panic!("the peek was planned in read-only mode");
    };
    assert!(e.starts_with("read-only mode: sqs:ReceiveMessage"), "{e}");
    let queue = h.emu.with_world(|w| {
        let q = w.sqs.queues.values().find(|q| q.url == url).unwrap();
        let mut queue = phi_console::cloud::sqs::Queue::pending(&q.url, "us-east-1");
        queue.visible = q.messages.len() as u64;
        queue
    });
    let place = format!(
        "profile demo, account 123456789012, us-east-1, endpoint {}",
        h.emu.endpoint_url()
    );
    let plan = phi_console::guard::peek::assess(&queue, None, place, h.s.now).unwrap();
    h.runner.execute(Effect::Peek {
        generation: 99,
        plan: Box::new(plan),
    });
    let Some(Incoming::Msg(Msg::Failed { error, .. })) =
        tokio::time::timeout(Duration::from_secs(5), h.rx.recv())
            .await
            .unwrap()
    else {
        panic!("the peek ran in read-only mode");
    };
    assert!(
        error.starts_with("read-only mode: sqs:ReceiveMessage"),
        "{error}"
    );
    assert_eq!(
        h.emu.request_count(),
        n,
        "a gate called the emulator (not even a read)"
    );
    assert_eq!(
        h.receive_counts(),
        before,
        "a read-only console received messages"
    );
    assert!(!h.audit_text().contains("sqs:ReceiveMessage"));
}

#[tokio::test]
async fn a_source_queue_with_a_redrive_policy_is_never_peeked() {
    let mut h = Harness::new("", false, None).await;
    let before = h.receive_counts();
    open_messages_link(&mut h, View::Queues, ":queues", "claims-validation").await;
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    let flash = format!("{:?}", h.s.flash);
    assert!(
        flash.contains("has a redrive policy with maxReceiveCount")
            && flash.contains("Peek the DLQ claims-validation-dlq"),
        "{flash}"
    );
    // Asking again (r) is refused again; nothing is ever received.
    for _ in 0..3 {
        h.type_text("r").await;
        assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    }
    assert_eq!(h.receive_counts(), before);
    assert!(!h.audit_text().contains("sqs:ReceiveMessage"));
}

#[tokio::test]
async fn a_peek_is_recorded_before_the_receive_and_repeats_only_when_confirmed() {
    let mut h = Harness::new("", false, None).await;
    let before = h.receive_counts();
    open_dlq_messages(&mut h).await;
    let after_one = h.receive_counts();
    let dlq = |c: &[(String, usize, u32)]| {
        c.iter()
            .find(|(n, _, _)| n == "claims-notify-dlq")
            .cloned()
            .unwrap()
    };
    let (_, depth, sum) = dlq(&after_one);
    assert_eq!(dlq(&before).1, depth, "a peek takes nothing");
    assert_eq!(sum, dlq(&before).2 + depth as u32, "one receive each");
    // Intent, then outcome, both naming the queue; no body in the log.
    let log = h.audit_text();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sqs:ReceiveMessage") || l.contains("\"kind\":\"outcome\""))
        .collect();
    assert!(
        lines
            .first()
            .is_some_and(|l| l.contains("\"kind\":\"intent\"") && l.contains("claims-notify-dlq")),
        "{log}"
    );
    assert!(
        log.contains(&format!("received {depth} messages")),
        "the outcome counts the messages: {log}"
    );
    assert!(!log.contains("TEST PATIENT"));
    // r does not re-peek silently: it plans, and the plan says what rises.
    h.type_text("r").await;
    let Mode::PeekConfirm(plan) = &h.s.mode else {
        panic!("r peeked without a plan: {:?}", h.s.mode);
    };
    let text = plan.lines().join("\n");
    assert!(
        text.contains(&format!("the {depth} messages already peeked go up again")),
        "{text}"
    );
    // Esc: nothing received. Leaving and coming back: a plan again, never a receive.
    h.key(KeyCode::Esc).await;
    assert!(matches!(h.s.mode, Mode::Normal));
    assert_eq!(h.receive_counts(), after_one);
    open_messages_link(&mut h, View::Dlq, ":dlq", "claims-notify-dlq").await;
    assert!(matches!(h.s.mode, Mode::PeekConfirm(_)), "{:?}", h.s.mode);
    h.key(KeyCode::Esc).await;
    assert_eq!(h.receive_counts(), after_one);
    // p on the repeated plan: one more receive each, recorded.
    h.type_text("r").await;
    h.type_text("p").await;
    assert_eq!(dlq(&h.receive_counts()).2, sum + depth as u32);
    let log = h.audit_text();
    let intents = log
        .lines()
        .filter(|l| l.contains("\"kind\":\"intent\"") && l.contains("sqs:ReceiveMessage"))
        .count();
    assert_eq!(intents, 2, "{log}");
}

/// A redrive policy set after the plan (the plan lives two minutes) stops the peek: the queue
/// is read again before the intent, and nothing is received.
#[tokio::test]
async fn a_redrive_policy_set_after_the_plan_stops_the_peek() {
    let mut h = Harness::new("", false, None).await;
    let before = h.receive_counts();
    open_messages_link(&mut h, View::Dlq, ":dlq", "claims-notify-dlq").await;
    let Mode::PeekConfirm(plan) = &h.s.mode else {
        panic!("no peek plan: {:?} {:?}", h.s.mode, h.s.flash);
    };
    assert!(plan.redrive.is_none());
    h.emu.with_world(|w| {
        let target = w
            .sqs
            .queues
            .values()
            .find(|q| q.name == "claims-validation-dlq")
            .unwrap()
            .arn
            .clone();
        let q = w
            .sqs
            .queues
            .values_mut()
            .find(|q| q.name == "claims-notify-dlq")
            .unwrap();
        q.attributes.insert(
            "RedrivePolicy".into(),
            format!(r#"{{"deadLetterTargetArn":"{target}","maxReceiveCount":"2"}}"#),
        );
    });
    h.type_text("p").await;
    assert!(h.s.data.messages.is_empty());
    let err =
        h.s.status(phi_console::app::state::Kind::Messages)
            .error
            .clone();
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("has a redrive policy")),
        "{err:?}"
    );
    assert_eq!(h.receive_counts(), before, "the peek received after all");
    assert!(!h.audit_text().contains("sqs:ReceiveMessage"));
}

/// Read-only means no AWS state change, the audit log's witness included: a read-only session
/// seals (GenerateMac, a read-only event) but publishes no seal notice (SNS Publish is a
/// write). The witness topic here is the claims scenario's `claims-paid`, whose subscriber is
/// the `claims-notify` queue; a read-write session is the control.
#[tokio::test]
async fn a_read_only_session_publishes_no_seal_notice() {
    let settings = format!(
        "audit_hmac_key = \"{}\"\naudit_witness_topic = \"arn:aws:sns:us-east-1:123456789012:claims-paid\"\n",
        phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS
    );
    let mut published = Vec::new();
    for read_only in [false, true] {
        let mut h = Harness::new(&settings, read_only, None).await;
        let depth = |h: &Harness| {
            h.emu.with_world(|w| {
                w.sqs
                    .queues
                    .values()
                    .find(|q| q.name == "claims-notify")
                    .map(|q| q.messages.len())
                    .unwrap_or_default()
            })
        };
        let before = depth(&h);
        h.runner.shutdown().await;
        let log = h.audit_text();
        assert!(
            log.contains("\"kind\":\"seal\""),
            "the session is sealed: {log}"
        );
        published.push(depth(&h) - before);
    }
    assert!(
        published[0] > 0,
        "the control published no notice: {published:?}"
    );
    assert_eq!(
        published[1], 0,
        "a read-only session published a seal notice"
    );
}

/// A long-running action from the TUI: on the DLQ view, `M` asks for the rate (the one
/// parameters form), plans, confirms, runs StartMessageMoveTask after its intent, and the
/// console follows the task to its end: progress in the footer, the task's start and finish
/// recorded and linked to the intent, and the queues reloaded when it ends.
#[tokio::test]
async fn a_redrive_from_the_dlq_view_is_followed_to_its_end_and_recorded() {
    let mut h = Harness::new("", false, None).await;
    h.runner.watch_every = Duration::from_millis(20);
    h.type_text(":dlq").await;
    h.key(KeyCode::Enter).await;
    h.type_text("/claims-notify-dlq").await;
    h.key(KeyCode::Enter).await;
    let row = h.s.table(View::Dlq).selected_row().unwrap().clone();
    assert_eq!(row.cells[0], "claims-notify-dlq");
    let before = h.receive_counts();
    let depth = |counts: &[(String, usize, u32)], name: &str| {
        counts
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, d, _)| *d)
            .unwrap_or_default()
    };
    let in_dlq = depth(&before, "claims-notify-dlq");
    assert!(in_dlq > 0, "{before:?}");
    // R (a key view's action) is nothing here; M is the redrive.
    h.type_text("R").await;
    assert_eq!(h.s.mode, Mode::Normal);
    h.type_text("M").await;
    match &h.s.mode {
        Mode::Form(f) => {
            assert_eq!(f.spec.id, "sqs.start_move_task");
            assert!(f.target.ends_with("/claims-notify-dlq"), "{}", f.target);
        }
        other => panic!("no form: {other:?}"),
    }
    let (screen, _) = render(&h.s);
    assert!(
        screen.contains("Rate (at most this many messages a second"),
        "{screen}"
    );
    // A rate over the SQS maximum is refused by the form; nothing is called.
    let n = h.emu.request_count();
    h.type_text("501").await;
    // Enter moves on to the destination (empty: the source queues); Enter there submits.
    h.key(KeyCode::Enter).await;
    assert!(matches!(&h.s.mode, Mode::Form(f) if f.focus == 1));
    h.key(KeyCode::Enter).await;
    assert!(
        matches!(&h.s.mode, Mode::Form(f) if f.error.as_deref().is_some_and(|e| e.contains("500")))
    );
    assert_eq!(h.emu.request_count(), n, "a refused form calls nothing");
    h.key(KeyCode::Backspace).await;
    h.key(KeyCode::Backspace).await;
    h.key(KeyCode::Backspace).await;
    h.type_text("100").await;
    h.key(KeyCode::Enter).await;
    h.key(KeyCode::Enter).await;
    let form = h.form().clone();
    assert_eq!(form.plan.action, "sqs:StartMessageMoveTask");
    assert_eq!(form.plan.targets[0].arn, row.key);
    h.type_text(&form.plan.confirm_text).await;
    h.key(KeyCode::Tab).await;
    h.type_text("INC-7 notification outage fixed").await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    assert_eq!(h.form().focus, Focus::Confirm);
    assert_eq!(h.form().missing(true), None, "{:?}", h.form());
    h.apply(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(matches!(h.s.mode, Mode::Running { .. }), "{:?}", h.s.mode);
    // Follow the runner's messages: the task starts, the clock moves, the task ends.
    let mut progress = Vec::new();
    let mut advanced = false;
    let ended = loop {
        let incoming = tokio::time::timeout(Duration::from_secs(30), h.rx.recv())
            .await
            .expect("the task's messages")
            .expect("the runner's channel is open");
        let msg = match incoming {
            Incoming::Msg(m) => m,
            Incoming::Session(s, purpose) => h.runner.session_ready(*s, purpose),
            Incoming::Term(_) => continue,
        };
        match &msg {
            Msg::TaskProgress { line, .. } => {
                progress.push(line.clone());
                if !advanced {
                    // Seen running: let emulated time pass so the task moves everything.
                    advanced = true;
                    h.emu.advance(Duration::from_secs(5));
                }
            }
            Msg::TaskEnded { result, .. } => {
                let r = result.clone();
                h.apply(msg);
                break r;
            }
            _ => {}
        }
        h.apply(msg);
        if let Some(t) = h.s.tasks.values().next().cloned()
            && t.line.starts_with("RUNNING")
        {
            // While it runs, the footer says so (once a key has cleared the "started" flash).
            h.apply(Msg::Key(KeyEvent::new(
                KeyCode::Char('j'),
                KeyModifiers::NONE,
            )));
            let (screen, _) = render(&h.s);
            assert!(
                screen.contains(&format!("{}: {}", t.summary, t.line)),
                "{screen}"
            );
        }
    };
    let ended = ended.expect("the task ended well");
    assert!(ended.contains("ended (COMPLETED"), "{ended}");
    assert!(
        progress.iter().any(|p| p.starts_with("RUNNING")),
        "{progress:?}"
    );
    assert!(h.s.tasks.is_empty());
    h.settle().await;
    let after = h.receive_counts();
    assert_eq!(depth(&after, "claims-notify-dlq"), 0, "{after:?}");
    // The DLQ row shows the new depth: the binding's refresh reloaded the queues.
    let dlq =
        h.s.data
            .queues
            .iter()
            .find(|q| q.name == "claims-notify-dlq")
            .unwrap();
    assert_eq!(dlq.visible, 0);
    // The log: intent, outcome, task start, task finish — linked to the intent.
    let text = h.audit_text();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let intent = records
        .iter()
        .find(|r| r["kind"] == "intent" && r["what"]["action"] == "sqs:StartMessageMoveTask")
        .expect("the intent");
    let id = intent["id"].as_str().unwrap();
    let linked: Vec<(&str, Option<&str>)> = records
        .iter()
        .filter(|r| r["intent_id"] == id)
        .map(|r| (r["kind"].as_str().unwrap(), r["event"].as_str()))
        .collect();
    assert_eq!(
        linked,
        [
            ("outcome", None),
            ("task", Some("start")),
            ("task", Some("finish"))
        ],
        "{text}"
    );
    assert_eq!(
        intent["what"]["params"]["max_messages_per_second"], 100,
        "the rate typed is what was recorded"
    );
}

/// The rows of the `:tasks` view for the DLQ `name`: (status, moved / to move).
fn task_rows(h: &Harness, name: &str) -> Vec<(String, String)> {
    h.s.table(View::Tasks)
        .rows
        .iter()
        .filter(|r| r.cells[0] == name)
        .map(|r| (r.cells[1].clone(), r.cells[2].clone()))
        .collect()
}

#[tokio::test]
async fn a_started_redrive_shows_in_tasks_and_x_on_the_dlq_view_cancels_it() {
    let mut h = Harness::new("", false, None).await;
    // A redrive started elsewhere (another operator): 1 message a second.
    let arn = "arn:aws:sqs:us-east-1:123456789012:claims-notify-dlq";
    aws_sdk_sqs::Client::new(&crate::common::config(&h.emu))
        .start_message_move_task()
        .source_arn(arn)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap();
    h.emu.advance(Duration::from_secs(3));
    h.type_text(":tasks").await;
    h.key(KeyCode::Enter).await;
    assert_eq!(h.s.view, View::Tasks);
    assert_eq!(
        task_rows(&h, "claims-notify-dlq"),
        [("RUNNING".to_string(), "3 / 25".to_string())]
    );
    let (screen, _) = render(&h.s);
    assert!(screen.contains("MOVED / TO MOVE"), "{screen}");
    assert!(screen.contains("1 messages a second"), "{screen}");

    // X on the DLQ view: the guarded cancel, planned on the running task.
    h.type_text(":dlq").await;
    h.key(KeyCode::Enter).await;
    h.type_text("/claims-notify-dlq").await;
    h.key(KeyCode::Enter).await;
    h.settle().await;
    // The DLQ view shows the running task on the DLQ's row, with its ETA.
    let row = h.s.table(View::Dlq).selected_row().unwrap().clone();
    let redrive = row.cells.iter().find(|c| c.starts_with("RUNNING")).cloned();
    assert_eq!(
        redrive
            .as_deref()
            .map(|r| r.starts_with("RUNNING 3/25 ETA")),
        Some(true),
        "{:?}",
        row.cells
    );
    h.type_text("X").await;
    let plan = h.form().plan.clone();
    assert_eq!(plan.action, "sqs:CancelMessageMoveTask");
    assert!(plan.summary.contains("3 of 25 moved"), "{}", plan.summary);
    h.type_text(&plan.confirm_text).await;
    h.key(KeyCode::Tab).await;
    h.type_text("INC-8 wrong destination").await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    let (done, _) = h.key_until_done(KeyCode::Enter).await;
    assert!(done.is_ok(), "{done:?}");
    let text = h.audit_text();
    assert!(
        text.lines()
            .any(|l| l.contains("\"kind\":\"outcome\"") && l.contains("succeeded")),
        "{text}"
    );
    assert!(text.contains("sqs:CancelMessageMoveTask"), "{text}");

    // Back in :tasks, reloaded: the task is cancelled, and X now refuses.
    h.type_text(":tasks").await;
    h.key(KeyCode::Enter).await;
    h.type_text("r").await;
    assert_eq!(
        task_rows(&h, "claims-notify-dlq"),
        [("CANCELLED".to_string(), "3 / 25".to_string())]
    );
    h.type_text(":dlq").await;
    h.key(KeyCode::Enter).await;
    h.type_text("X").await;
    let flash = format!("{:?}", h.s.flash);
    assert!(flash.contains("nothing to cancel"), "{flash}");
    assert!(flash.contains("start one with M"), "{flash}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selective_redrive_from_the_dlq_view_moves_only_the_matching_claims() {
    let mut h = Harness::new("", false, None).await;
    h.type_text(":dlq").await;
    h.key(KeyCode::Enter).await;
    h.type_text("/claims-notify-dlq").await;
    h.key(KeyCode::Enter).await;
    // The error code of the DLQ's first message, and how many share it.
    let codes: Vec<String> = h.emu.with_world(|w| {
        w.sqs.queues["claims-notify-dlq"]
            .messages
            .iter()
            .map(|m| {
                m.attributes["errorCode"]["StringValue"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    });
    let code = codes[0].clone();
    let want = codes.iter().filter(|c| **c == code).count();
    assert!(
        want < codes.len(),
        "the filter leaves some behind: {codes:?}"
    );
    let in_source = h
        .emu
        .with_world(|w| w.sqs.queues["claims-notify"].messages.len());
    h.type_text("F").await;
    match &h.s.mode {
        Mode::Form(f) => assert_eq!(f.spec.id, "sqs.redrive_messages"),
        other => panic!("no form: {other:?}"),
    }
    let (screen, _) = render(&h.s);
    assert!(screen.contains("Conditions"), "{screen}");
    // destination (empty: the source queue), rate, conditions, since, until, claim ids.
    h.key(KeyCode::Enter).await;
    h.type_text("3000").await;
    h.key(KeyCode::Enter).await;
    h.type_text(&format!("errorCode={code}")).await;
    for _ in 0..4 {
        h.key(KeyCode::Enter).await;
    }
    h.settle().await;
    let form = h.form().clone();
    assert_eq!(form.plan.operation.spec.id, "sqs.redrive_messages");
    assert!(
        form.plan
            .facts
            .iter()
            .any(|f| f.value.contains(&format!("errorCode={code}"))),
        "{:?}",
        form.plan.facts
    );
    // No peek of this DLQ yet: the plan says how to see how many match.
    let sample = form
        .plan
        .facts
        .iter()
        .find(|f| f.label == "sample")
        .unwrap();
    assert!(sample.value.contains("peek the DLQ"), "{sample:?}");
    h.type_text(&form.plan.confirm_text).await;
    h.key(KeyCode::Tab).await;
    h.type_text("INC-9 notify fix deployed").await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    assert_eq!(h.form().missing(true), None, "{:?}", h.form());
    h.apply(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let mut progress = Vec::new();
    let ended = h
        .until_task_ended(|_, line| progress.push(line.to_string()))
        .await;
    let ended = ended.expect("the run ended well");
    assert!(
        ended.contains(&format!("matched {want}, moved {want}")),
        "{ended}"
    );
    assert!(!progress.is_empty());
    h.settle().await;
    let left: Vec<String> = h.emu.with_world(|w| {
        w.sqs.queues["claims-notify-dlq"]
            .messages
            .iter()
            .map(|m| {
                m.attributes["errorCode"]["StringValue"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    });
    assert_eq!(left.len(), codes.len() - want);
    assert!(
        left.iter().all(|c| *c != code),
        "only the matching ones left"
    );
    let now_in_source = h
        .emu
        .with_world(|w| w.sqs.queues["claims-notify"].messages.len());
    assert_eq!(now_in_source, in_source + want);
    let text = h.audit_text();
    assert!(
        text.contains("\"sqs:SendMessageBatch\""),
        "the run's intent"
    );
    assert!(!text.contains("SYNTHETIC"), "no body in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_during_a_selective_redrive_lets_it_end_cleanly() {
    let mut h = Harness::new("", false, None).await;
    // Slow sends, so the run is still going when the console quits.
    h.emu.add_fault(
        phi_console::emulator::faults::FaultRule::for_op(
            phi_console::emulator::wire::Service::Sqs,
            "SendMessageBatch",
        )
        .latency(Duration::from_millis(400), Duration::ZERO),
    );
    h.type_text(":dlq").await;
    h.key(KeyCode::Enter).await;
    h.type_text("/claims-notify-dlq").await;
    h.key(KeyCode::Enter).await;
    h.type_text("F").await;
    for _ in 0..6 {
        h.key(KeyCode::Enter).await;
    }
    h.settle().await;
    let form = h.form().clone();
    h.type_text(&form.plan.confirm_text).await;
    h.key(KeyCode::Tab).await;
    h.type_text("INC-10 notify").await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    h.apply(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    // Wait until it runs (its task line appears), then quit.
    loop {
        let incoming = tokio::time::timeout(Duration::from_secs(30), h.rx.recv())
            .await
            .expect("the run starts")
            .expect("channel open");
        if let Incoming::Msg(m) = incoming {
            let started = matches!(m, Msg::TaskStarted { .. });
            h.apply(m);
            if started {
                break;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.runner.shutdown().await;
    // The run ended by itself: its journal says cancelled, and nothing it held stays hidden.
    let dir = h.audit.join("redrive");
    let journal = std::fs::read_dir(&dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let text = std::fs::read_to_string(&journal).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "end", "{text}");
    assert_eq!(last["ending"], "cancelled", "{text}");
    let now = h.emu.clock().now();
    let hidden = h.emu.with_world(|w| {
        w.sqs.queues["claims-notify-dlq"]
            .messages
            .iter()
            .filter(|m| m.available_at > now)
            .count()
    });
    assert_eq!(hidden, 0, "everything the run held was given back");
    // The audit log has the run's outcome (not `interrupted`).
    let audit = h.audit_text();
    assert!(!audit.contains("\"interrupted\""), "{audit}");
}

/// `T` on a COMPLETED recovery point of `filter` on the points view, every field of the form
/// empty (the profile's role), confirmed and followed to its end; returns how the task ended.
async fn restore_test_from_points(
    h: &mut Harness,
    role: &str,
    filter: &str,
) -> Result<String, String> {
    h.runner.watch_every = Duration::from_millis(20);
    h.type_text(":points").await;
    h.key(KeyCode::Enter).await;
    h.settle().await;
    if !filter.is_empty() {
        h.type_text(&format!("/{filter}")).await;
        h.key(KeyCode::Enter).await;
    }
    // A completed recovery point.
    for _ in 0..50 {
        let row = h.s.table(View::Points).selected_row().unwrap().clone();
        if row.cells.iter().any(|c| c == "COMPLETED") {
            break;
        }
        h.type_text("j").await;
    }
    let row = h.s.table(View::Points).selected_row().unwrap().clone();
    assert!(
        row.cells.iter().any(|c| c == "COMPLETED"),
        "{:?}",
        row.cells
    );
    h.type_text("T").await;
    match &h.s.mode {
        Mode::Form(f) => assert_eq!(f.spec.id, "backup.start_restore_job"),
        other => panic!("no form: {other:?}"),
    }
    // Every field empty: the profile's role, the point's vault searched, the drill name.
    for _ in 0..5 {
        h.key(KeyCode::Enter).await;
    }
    h.settle().await;
    let form = h.form().clone();
    assert_eq!(form.plan.action, "backup:StartRestoreJob");
    assert_eq!(
        form.plan.operation.text("iam_role_arn"),
        Some(role),
        "the profile's restore role"
    );
    h.type_text(&form.plan.confirm_text).await;
    h.key(KeyCode::Tab).await;
    h.type_text("quarterly restore test").await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    assert_eq!(h.form().missing(true), None, "{:?}", h.form());
    h.apply(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    // Emulated time passes at each progress read, so the restore job runs to its end.
    h.until_task_ended(|emu, _| emu.advance(Duration::from_secs(120)))
        .await
}

/// The audit records as JSON values.
fn audit_records(h: &Harness) -> Vec<serde_json::Value> {
    h.audit_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_test_from_the_points_view_is_followed_to_its_end() {
    let role = "arn:aws:iam::123456789012:role/BackupRestoreRole";
    let mut h = Harness::new(
        &format!("restore_role_arn = \"{role}\"\nrestore_rto_minutes = 1\n"),
        false,
        None,
    )
    .await;
    let ended = restore_test_from_points(&mut h, role, "")
        .await
        .expect("the restore ended well");
    assert!(ended.contains("COMPLETED"), "{ended}");
    // Measured against the profile's objective: emulated restores take longer than 1 min.
    assert!(
        ended.contains("; RTO ") && ended.contains("MISSED (objective 1 min)"),
        "{ended}"
    );
    let text = h.audit_text();
    let records = audit_records(&h);
    let intent = records
        .iter()
        .find(|r| r["kind"] == "intent" && r["what"]["action"] == "backup:StartRestoreJob")
        .expect("the intent");
    let id = intent["id"].as_str().unwrap();
    let linked: Vec<(&str, Option<&str>)> = records
        .iter()
        .filter(|r| r["intent_id"] == id)
        .map(|r| (r["kind"].as_str().unwrap(), r["event"].as_str()))
        .collect();
    assert_eq!(
        linked,
        [
            ("outcome", None),
            ("task", Some("start")),
            ("task", Some("finish"))
        ],
        "{text}"
    );
}

/// Opens `:jobs` and selects the row of job `id`.
async fn select_job(h: &mut Harness, id: &str) {
    h.type_text(":jobs").await;
    h.key(KeyCode::Enter).await;
    h.settle().await;
    // A new filter (Ctrl-U clears the one typed before).
    h.type_text("/").await;
    h.apply(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    h.type_text(id).await;
    h.key(KeyCode::Enter).await;
    assert_eq!(
        h.s.table(View::Jobs).selected_row().map(|r| r.key.as_str()),
        Some(id),
        "{:?}",
        h.s.table(View::Jobs)
            .rows
            .iter()
            .map(|r| &r.key)
            .collect::<Vec<_>>()
    );
}

/// Types the confirmation of the plan shown (its name, a reason) and runs it; returns the
/// action's answer.
async fn confirm_and_run(h: &mut Harness) -> Result<String, String> {
    let text = h.form().plan.confirm_text.clone();
    h.type_text(&text).await;
    h.key(KeyCode::Tab).await;
    h.type_text("restore test follow-up").await;
    h.key(KeyCode::Tab).await;
    h.key(KeyCode::Tab).await;
    assert_eq!(h.form().missing(true), None, "{:?}", h.form());
    h.key_until_done(KeyCode::Enter).await.0
}

/// `A` on the selected restore job with `status` typed in the form (the other fields empty):
/// the plan shown, confirmed and run; returns the plan's call lines and the answer.
async fn validate(h: &mut Harness, status: &str) -> (Vec<String>, Result<String, String>) {
    h.type_text("A").await;
    match &h.s.mode {
        Mode::Form(f) => assert_eq!(f.spec.id, "backup.put_restore_validation_result"),
        other => panic!("no form: {other:?} ({:?})", h.s.flash),
    }
    h.type_text(status).await;
    for _ in 0..4 {
        h.key(KeyCode::Enter).await;
    }
    h.settle().await;
    let calls = h.form().plan.calls.clone();
    (calls, confirm_and_run(h).await)
}

/// What AWS Backup says of a restore job's validation (DescribeRestoreJob, through the SDK).
async fn validation_of(h: &Harness, id: &str) -> (Option<String>, Option<String>) {
    let b = aws_sdk_backup::Client::new(&config(&h.emu));
    let j = b
        .describe_restore_job()
        .restore_job_id(id)
        .send()
        .await
        .unwrap();
    (
        j.validation_status().map(|v| v.as_str().to_string()),
        j.validation_status_message().map(str::to_string),
    )
}

/// The restored resources the emulator's control endpoint lists.
fn restored_arns(h: &Harness) -> Vec<String> {
    let (status, body) = control_http(
        &h.emu.endpoint_url(),
        "GET",
        "/_emulator/restored-resources",
    );
    assert_eq!(status, 200, "{body}");
    body["RestoredResources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ResourceArn"].as_str().unwrap().to_string())
        .collect()
}

/// A restore test from the points view (`T`), then on the jobs view: `A` sends the status the
/// operator chose, then with CHECK the result of the profile's check command (exit 1 → FAILED,
/// exit 0 → SUCCESSFUL), each recorded; `C` runs the profile's cleanup command, which removes
/// the restored copy through the emulator's control endpoint; `C` on a backup job and `A` on
/// a RUNNING restore job say why not and call nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_test_is_validated_and_cleaned_up_from_the_jobs_view() {
    let role = "arn:aws:iam::123456789012:role/BackupRestoreRole";
    let scripts = tempfile::tempdir().unwrap();
    let check = scripts.path().join("check.sh");
    let cleanup = scripts.path().join("cleanup.sh");
    // The restore takes emulated minutes: a fresh code per step is tested elsewhere.
    let mut h = Harness::new(
        &format!(
            "step_up_minutes = 60\nrestore_role_arn = \"{role}\"\nrestore_check_command = [\"/bin/sh\", \"{}\"]\nrestore_cleanup_command = [\"/bin/sh\", \"{}\"]\n",
            check.display(),
            cleanup.display()
        ),
        false,
        None,
    )
    .await;
    let endpoint = h.emu.endpoint_url();
    let before: Vec<String> = h
        .emu
        .with_world(|w| w.backup.restore_jobs.iter().map(|j| j.id.clone()).collect());
    let ended = restore_test_from_points(&mut h, role, "claims-intake")
        .await
        .expect("the restore ended well");
    assert!(ended.contains("COMPLETED"), "{ended}");
    let (job, created) = h.emu.with_world(|w| {
        let j = w
            .backup
            .restore_jobs
            .iter()
            .find(|j| !before.contains(&j.id))
            .expect("the new restore job");
        (j.id.clone(), j.target_resource_arn.clone())
    });
    assert!(restored_arns(&h).contains(&created), "{created}");

    // A with a status the operator chose.
    select_job(&mut h, &job).await;
    let (calls, done) = validate(&mut h, "SUCCESSFUL").await;
    assert_eq!(
        calls,
        [format!(
            "backup:PutRestoreValidationResult on {job} (ValidationStatus=SUCCESSFUL)"
        )]
    );
    let done = done.expect("sent");
    assert!(done.contains("validation SUCCESSFUL sent"), "{done}");
    assert_eq!(
        validation_of(&h, &job).await.0.as_deref(),
        Some("SUCCESSFUL")
    );
    let records = audit_records(&h);
    let intent = records
        .iter()
        .find(|r| {
            r["kind"] == "intent" && r["what"]["action"] == "backup:PutRestoreValidationResult"
        })
        .expect("the validation's intent");
    assert_eq!(intent["what"]["targets"][0], job.as_str(), "{intent}");
    assert_eq!(intent["what"]["params"]["validation_status"], "SUCCESSFUL");
    let outcome = records
        .iter()
        .find(|r| r["kind"] == "outcome" && r["intent_id"] == intent["id"])
        .expect("its outcome");
    assert_eq!(outcome["outcome"]["status"], "succeeded", "{outcome}");
    assert_eq!(outcome["outcome"]["message"], "validation SUCCESSFUL sent");
    // The jobs view was reloaded and shows it.
    let row = h.s.table(View::Jobs).selected_row().unwrap().clone();
    assert!(
        row.cells
            .iter()
            .any(|c| c.contains("validation SUCCESSFUL")),
        "{:?}",
        row.cells
    );

    // CHECK: the check command decides. It sees the restored copy's ARN and the job's id (and
    // exits 0 only if the emulator lists that ARN as a restored resource).
    std::fs::write(&check, "exit 1\n").unwrap();
    let (calls, done) = validate(&mut h, "check").await;
    assert!(
        calls[0].starts_with(&format!(
            "run /bin/sh {} with PHI_DRILL_RESOURCE_ARN={created}",
            check.display()
        )),
        "{calls:?}"
    );
    assert!(
        calls[1].contains("SUCCESSFUL if it exits 0, FAILED on any other exit"),
        "{calls:?}"
    );
    let done = done.expect("sent");
    assert!(
        done.contains("validation FAILED sent (check command exited 1)"),
        "{done}"
    );
    assert_eq!(
        validation_of(&h, &job).await,
        (
            Some("FAILED".into()),
            Some("phi-console: check command exited 1".into())
        )
    );
    std::fs::write(
        &check,
        format!(
            "set -eu\n[ \"$PHI_DRILL_RESTORE_JOB_ID\" = {job} ]\ncurl -fsS {endpoint}/_emulator/restored-resources | grep -qF \"\\\"$PHI_DRILL_RESOURCE_ARN\\\"\"\n"
        ),
    )
    .unwrap();
    let (_, done) = validate(&mut h, "CHECK").await;
    let done = done.expect("sent");
    assert!(
        done.contains("validation SUCCESSFUL sent (check command exited 0)"),
        "{done}"
    );
    assert_eq!(
        validation_of(&h, &job).await,
        (
            Some("SUCCESSFUL".into()),
            Some("phi-console: check command exited 0".into())
        )
    );
    let records = audit_records(&h);
    let checked: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["kind"] == "intent" && r["what"]["params"]["validation_status"] == "CHECK")
        .collect();
    assert_eq!(checked.len(), 2);
    assert_eq!(
        checked[1]["what"]["params"]["created_resource_arn"],
        created.as_str()
    );
    let notes: Vec<&str> = checked
        .iter()
        .map(|i| {
            records
                .iter()
                .find(|r| r["kind"] == "outcome" && r["intent_id"] == i["id"])
                .and_then(|o| o["outcome"]["message"].as_str())
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        notes,
        [
            "validation FAILED sent (check command exited 1)",
            "validation SUCCESSFUL sent (check command exited 0)"
        ]
    );

    // C: the cleanup command removes what the restore created, and only that.
    std::fs::write(
        &cleanup,
        format!(
            "set -eu\n[ \"$PHI_DRILL_RESTORE_JOB_ID\" = {job} ]\narn=$(printf %s \"$PHI_DRILL_RESOURCE_ARN\" | sed -e 's/:/%3A/g' -e 's#/#%2F#g')\ncurl -fsS -X DELETE \"{endpoint}/_emulator/restored-resources/$arn\" >/dev/null\n"
        ),
    )
    .unwrap();
    h.type_text("C").await;
    match &h.s.mode {
        Mode::Form(f) => {
            assert_eq!(
                (f.spec.id, f.target.as_str()),
                ("local.run_cleanup_command", created.as_str())
            );
        }
        other => panic!("no form: {other:?} ({:?})", h.s.flash),
    }
    for _ in 0..3 {
        h.key(KeyCode::Enter).await;
    }
    h.settle().await;
    assert_eq!(
        h.form().plan.operation.text("restore_job_id"),
        Some(job.as_str())
    );
    let done = confirm_and_run(&mut h).await.expect("cleaned up");
    assert!(done.contains("the cleanup command exited 0"), "{done}");
    assert!(!restored_arns(&h).contains(&created), "{created} is gone");
    let records = audit_records(&h);
    let intent = records
        .iter()
        .find(|r| r["kind"] == "intent" && r["what"]["action"] == "local:RunCleanupCommand")
        .expect("the cleanup's intent");
    assert_eq!(intent["what"]["targets"][0], created.as_str());
    assert!(records.iter().any(|r| r["kind"] == "outcome"
        && r["intent_id"] == intent["id"]
        && r["outcome"]["status"] == "succeeded"));

    // C on a backup job's row, A on a RUNNING restore job: why not, in the footer; no call.
    let backup =
        h.s.data
            .backup_jobs
            .first()
            .expect("a backup job")
            .id
            .clone();
    select_job(&mut h, &backup).await;
    let n = h.emu.request_count();
    h.type_text("C").await;
    assert_eq!(h.s.mode, Mode::Normal);
    let flash = format!("{:?}", h.s.flash);
    assert!(
        flash.contains(&format!("{backup} is a backup job")),
        "{flash}"
    );
    assert_eq!(h.emu.request_count(), n, "nothing was called");
    let b = aws_sdk_backup::Client::new(&config(&h.emu));
    let point = h.emu.with_world(|w| {
        w.backup
            .restore_jobs
            .iter()
            .find(|j| j.id == job)
            .unwrap()
            .recovery_point_arn
            .clone()
    });
    let running = b
        .start_restore_job()
        .recovery_point_arn(&point)
        .metadata("targetTableName", "claims-intake-still-running")
        .iam_role_arn(role)
        .send()
        .await
        .unwrap()
        .restore_job_id()
        .unwrap()
        .to_string();
    h.emu.advance(Duration::from_secs(120));
    h.type_text("r").await;
    h.settle().await;
    select_job(&mut h, &running).await;
    let row = h.s.table(View::Jobs).selected_row().unwrap().clone();
    assert!(row.cells.iter().any(|c| c == "RUNNING"), "{:?}", row.cells);
    let n = h.emu.request_count();
    h.type_text("A").await;
    assert_eq!(h.s.mode, Mode::Normal);
    let flash = format!("{:?}", h.s.flash);
    assert!(
        flash.contains(&format!("restore job {running} is RUNNING")) && flash.contains("COMPLETED"),
        "{flash}"
    );
    assert_eq!(h.emu.request_count(), n, "nothing was called");
    assert_eq!(validation_of(&h, &running).await.0, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn l_on_the_points_view_plans_the_newest_point_of_the_rows_resource() {
    let role = "arn:aws:iam::123456789012:role/BackupRestoreRole";
    let mut h = Harness::new(&format!("restore_role_arn = \"{role}\"\n"), false, None).await;
    h.type_text(":points").await;
    h.key(KeyCode::Enter).await;
    h.settle().await;
    // A COMPLETED point that is not its resource's newest in its vault (the newest is read
    // when planned).
    let newest = |h: &Harness, resource: &str, vault: &str| -> String {
        h.emu.with_world(|w| {
            w.backup
                .recovery_points
                .values()
                .filter(|p| {
                    p.resource_arn == resource && p.vault_name == vault && p.status == "COMPLETED"
                })
                .max_by_key(|p| p.creation_date)
                .map(|p| p.arn.clone())
                .unwrap()
        })
    };
    let mut chosen = None;
    for _ in 0..200 {
        let key = h.s.table(View::Points).selected_row().unwrap().key.clone();
        let point =
            h.s.data
                .points
                .iter()
                .find(|p| p.arn == key)
                .unwrap()
                .clone();
        if point.status == "COMPLETED" && newest(&h, &point.resource_arn, &point.vault) != point.arn
        {
            chosen = Some(point);
            break;
        }
        h.type_text("j").await;
    }
    let point = chosen.expect("an older completed point in the claims lab");
    let jobs = h.emu.with_world(|w| w.backup.restore_jobs.len());
    h.type_text("L").await;
    match &h.s.mode {
        Mode::Form(f) => {
            assert_eq!(f.spec.id, "backup.start_restore_job");
            assert_eq!(f.target, point.resource_arn, "the row's resource");
        }
        other => panic!("no form: {other:?}"),
    }
    for _ in 0..5 {
        h.key(KeyCode::Enter).await;
    }
    h.settle().await;
    let form = h.form().clone();
    assert_eq!(
        form.plan.operation.target(),
        newest(&h, &point.resource_arn, &point.vault),
        "the newest COMPLETED point in the row's vault, not the row's"
    );
    assert_ne!(form.plan.operation.target(), point.arn);
    assert_eq!(
        form.plan.operation.text("source_resource_arn"),
        Some(point.resource_arn.as_str())
    );
    h.key(KeyCode::Esc).await;
    assert_eq!(h.emu.with_world(|w| w.backup.restore_jobs.len()), jobs);
}
