//! The TUI: every view rendered into ratatui's TestBackend at 80×24 and 160×48 from state loaded
//! from the emulator's claims scenario through the real adapter (insta snapshots, ARNs, ids,
//! hosts and times masked), and flows driven by key events through `update`.

use crate::common::*;
use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use phi_console::app::keymap::Keymap;
use phi_console::app::run::load;
use phi_console::app::state::{Flash, Kind, MfaPurpose, Mode, SessionInfo, State, View};
use phi_console::app::update::{Effect, Msg, update};
use phi_console::cloud::{Cloud, system_now};
use phi_console::emulator::Emulator;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::wire::Service;
use phi_console::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The claims account at a fixed instant, so every screen is the same on every day.
fn claims() -> Emulator {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    start(
        phi_console::emulator::Scenario::Claims,
        phi_console::emulator::ClockMode::ManualAt(at),
    )
}

fn info(emu: &Emulator) -> SessionInfo {
    let now = emu.clock().now();
    SessionInfo {
        profile: "demo".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/ClaimsOperator/phi-console-jdoe".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        read_only: false,
        production: false,
        expires: Some(now + chrono::Duration::minutes(59)),
        mfa_at: Some(now),
        source_identity: Some("jdoe".into()),
        idle_lock_minutes: 15,
        audit_path: None,
        audit_error: None,
        require_reason: true,
        // Times in UTC, so the snapshots are the same in every time zone.
        utc: true,
        safe_attributes: phi_console::session::settings::ProfileSettings::default().safe_attributes,
        posture_limits: phi_console::posture::Limits::default(),
    }
}

/// Executes load effects with the real adapter until none are left (what the runner does).
async fn settle(s: &mut State, cloud: &Cloud, mut effects: Vec<Effect>) {
    while let Some(e) = effects.pop() {
        if let Effect::Load {
            kind,
            generation,
            events,
        } = e
        {
            let msg = match load(cloud.clone(), kind, events).await {
                Ok(payload) => Msg::Loaded {
                    kind,
                    generation,
                    payload,
                },
                Err(err) => Msg::Failed {
                    kind,
                    generation,
                    error: err.to_string(),
                },
            };
            effects.extend(update(s, msg));
        }
    }
}

async fn signed_in(emu: &Emulator) -> (State, Cloud) {
    let mut s = State::new(
        emu.clock().now(),
        Keymap::default_keymap(),
        Theme::default(),
    );
    let cloud = Cloud::new(&config(emu), "123456789012", None, system_now());
    let effects = update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info(emu)),
            purpose: MfaPurpose::Login {
                profile: "demo".into(),
            },
        },
    );
    settle(&mut s, &cloud, effects).await;
    assert_loaded(&mut s, "signed in");
    (s, cloud)
}

/// Every kind of data the current view needs loaded, without an error (the list's or any
/// item's), and nothing in flight; no error flashed: a screen of failed loads is never
/// snapshotted as if it were the view. Clears the flash after checking it.
fn assert_loaded(s: &mut State, what: &str) {
    for k in s.view.kinds() {
        let st = s.status(*k);
        assert!(
            st.loaded
                && !st.loading
                && st.error.is_none()
                && st.item_errors.is_empty()
                && st.pending.is_empty(),
            "{what}: {k:?} not loaded cleanly: {st:?}"
        );
    }
    assert!(s.last_error.is_none(), "{what}: {:?}", s.last_error);
    assert!(
        !matches!(s.flash, Some(Flash::Error(_))),
        "{what}: {:?}",
        s.flash
    );
    s.flash = None;
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}
fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

async fn press(s: &mut State, cloud: &Cloud, msgs: impl IntoIterator<Item = Msg>) {
    for m in msgs {
        let e = update(s, m);
        settle(s, cloud, e).await;
    }
}

async fn command(s: &mut State, cloud: &Cloud, cmd: &str) {
    let mut msgs = vec![key(':')];
    msgs.extend(cmd.chars().map(key));
    msgs.push(code(KeyCode::Enter));
    press(s, cloud, msgs).await;
}

pub(crate) fn render(s: &State, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| phi_console::ui::draw(f, s)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub(crate) fn masked(name: &str, screen: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"arn:aws:[A-Za-z0-9:/_.\-]+", "[ARN]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "[HOST]");
    settings.add_filter(
        r"\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?Z?)?)?",
        "[TIME]",
    );
    settings.add_filter(r"\b1\d{9}\b", "[EPOCH]");
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[UUID]",
    );
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, screen));
}

#[tokio::test]
async fn every_view_renders_at_two_sizes() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    for (v, cmd) in [
        (View::Queues, "queues"),
        (View::Dlq, "dlq"),
        (View::Topics, "topics"),
        (View::Keys, "keys"),
        (View::Vaults, "vaults"),
        (View::Points, "points"),
        (View::Jobs, "jobs"),
        (View::Plans, "plans"),
    ] {
        command(&mut s, &cloud, cmd).await;
        assert_eq!(s.view, v);
        assert_loaded(&mut s, cmd);
        for (w, h) in [(80, 24), (160, 48)] {
            let screen = render(&s, w, h);
            assert!(!screen.contains('\u{1b}'));
            masked(&format!("{cmd}_{w}x{h}"), &screen);
        }
    }
}

#[tokio::test]
async fn events_view_renders_at_two_sizes() {
    let emu = claims();
    let mut s = State::new(
        emu.clock().now(),
        Keymap::default_keymap(),
        Theme::default(),
    );
    let cloud = Cloud::new(&config(&emu), "123456789012", None, system_now());
    // Events first, on a fresh account, so the newest events are the seeded history.
    s.view = View::Events;
    let e = update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info(&emu)),
            purpose: MfaPurpose::Login {
                profile: "demo".into(),
            },
        },
    );
    settle(&mut s, &cloud, e).await;
    assert_loaded(&mut s, "events");
    assert_eq!(s.data.events.len(), 50);
    for (w, h) in [(80, 24), (160, 48)] {
        masked(&format!("events_{w}x{h}"), &render(&s, w, h));
    }
}

/// `:posture`: findings failures first; a finding links to its resource's view, where the
/// guarded action fixes it (here: the costs key, whose rotation is off).
#[tokio::test]
async fn posture_view_renders_and_links_to_the_resource() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    command(&mut s, &cloud, "posture").await;
    assert_eq!(s.view, View::Posture);
    assert_loaded(&mut s, "posture");
    let rows = &s.table(View::Posture).rows;
    assert!(rows.len() > 40, "{}", rows.len());
    assert_eq!(rows[0].cells[0], "FAIL");
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = render(&s, w, h);
        assert!(!screen.contains('\u{1b}'));
        masked(&format!("posture_{w}x{h}"), &screen);
    }
    let mut msgs = vec![key('/')];
    msgs.extend("claims-costs kms.rotation".chars().map(key));
    msgs.push(code(KeyCode::Enter));
    press(&mut s, &cloud, msgs).await;
    let row = s.table(View::Posture).selected_row().unwrap().clone();
    assert_eq!(
        row.cells[..4],
        ["FAIL", "medium", "alias/claims-costs", "kms.rotation"]
    );
    let screen = render(&s, 160, 48);
    assert!(
        screen.contains("KMS.4") && screen.contains("§164.312(a)(2)(iv)"),
        "{screen}"
    );
    press(&mut s, &cloud, [key('1')]).await;
    assert_eq!(s.view, View::Keys);
    assert_eq!(
        s.table(View::Keys).selected_row().unwrap().cells[0],
        "alias/claims-costs"
    );
}

#[tokio::test]
async fn command_line_filter_drill_in_and_back() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    assert_eq!(s.view, View::Queues);
    assert_eq!(s.table(View::Queues).rows.len(), 10);

    // :dlq, deepest first.
    command(&mut s, &cloud, "dlq").await;
    assert_eq!(s.view, View::Dlq);
    assert_eq!(s.table(View::Dlq).visible.len(), 5);
    assert!(
        s.table(View::Dlq)
            .selected_row()
            .unwrap()
            .key
            .ends_with(":claims-notify-dlq")
    );
    assert_eq!(s.breadcrumb(), "Queues › Dead-letter queues");

    // Tab completes a command.
    press(
        &mut s,
        &cloud,
        [key(':'), key('t'), key('o'), code(KeyCode::Tab)],
    )
    .await;
    assert_eq!(
        s.mode,
        Mode::Command {
            input: "topics".into()
        }
    );
    press(&mut s, &cloud, [code(KeyCode::Esc)]).await;
    assert_eq!(s.mode, Mode::Normal);

    // An unknown command is explained, nothing else changes.
    command(&mut s, &cloud, "fly").await;
    assert!(matches!(&s.flash, Some(Flash::Error(e)) if e.contains("unknown command :fly")));
    assert_eq!(s.view, View::Dlq);

    // Incremental filter on the queues.
    command(&mut s, &cloud, "queues").await;
    press(&mut s, &cloud, [key('/'), key('f'), key('r'), key('a')]).await;
    assert_eq!(
        s.table(View::Queues).visible.len(),
        2,
        "claims-fraud-check and its DLQ"
    );
    press(&mut s, &cloud, [key('u'), key('d'), code(KeyCode::Enter)]).await;
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(s.table(View::Queues).filter, "fraud");
    // Esc clears the filter first, then goes back.
    press(&mut s, &cloud, [code(KeyCode::Esc)]).await;
    assert_eq!(s.table(View::Queues).visible.len(), 10);

    // Drill in: the validation queue's first link is its DLQ.
    let t = s.table(View::Queues);
    let pos = t
        .visible
        .iter()
        .position(|i| t.rows[*i].cells[0] == "claims-validation")
        .unwrap();
    press(&mut s, &cloud, std::iter::repeat_n(key('j'), pos)).await;
    assert!(
        s.table(View::Queues)
            .selected_row()
            .unwrap()
            .key
            .ends_with(":claims-validation")
    );
    // The selection survives a refresh (the rows are rebuilt from new data).
    press(&mut s, &cloud, [key('r')]).await;
    assert!(
        s.table(View::Queues)
            .selected_row()
            .unwrap()
            .key
            .ends_with(":claims-validation")
    );
    press(&mut s, &cloud, [code(KeyCode::Enter)]).await;
    assert!(
        s.table(View::Queues)
            .selected_row()
            .unwrap()
            .key
            .ends_with(":claims-validation-dlq")
    );
    // From the DLQ, link 1 goes back to its source queue.
    press(&mut s, &cloud, [key('1')]).await;
    assert!(
        s.table(View::Queues)
            .selected_row()
            .unwrap()
            .key
            .ends_with(":claims-validation")
    );

    // Cross-link to the key (link 2 of the validation queue), whose blast radius lists it.
    press(&mut s, &cloud, [key('2')]).await;
    assert_eq!(s.view, View::Keys);
    let k = s.table(View::Keys).selected_row().unwrap().cells[0].clone();
    assert_eq!(k, "alias/claims-patient-details");
    let screen = render(&s, 160, 48);
    assert!(
        screen.contains("encrypts queue claims-validation"),
        "{screen}"
    );
    // Esc goes back to the queues.
    press(&mut s, &cloud, [code(KeyCode::Esc)]).await;
    assert_eq!(s.view, View::Queues);

    // The events of the selected queue: a server-side filter on its ARN.
    press(&mut s, &cloud, [key('e')]).await;
    assert_eq!(s.view, View::Events);
    assert!(
        matches!(&s.data.events_filter, Some(phi_console::cloud::cloudtrail::EventFilter::ResourceName(a)) if a.ends_with(":claims-validation"))
    );
}

#[tokio::test]
async fn sort_keys_and_help_from_the_keymap() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    press(&mut s, &cloud, [key('s'), key('s')]).await; // TYPE, then VISIBLE (numeric: descending)
    let t = s.table(View::Queues);
    assert_eq!(t.sort_col, 2);
    let first = &t.rows[t.visible[0]];
    assert_eq!(first.cells[0], "claims-notify-dlq");
    press(&mut s, &cloud, [key('S')]).await;
    let t = s.table(View::Queues);
    assert_ne!(t.rows[t.visible[0]].cells[0], "claims-notify-dlq");

    press(&mut s, &cloud, [key('?')]).await;
    let screen = render(&s, 120, 48);
    assert!(
        screen.contains("move down") && screen.contains("j ↓"),
        "{screen}"
    );
    assert!(screen.contains("dlq dlqs dead-letter"));
    press(&mut s, &cloud, [key('q')]).await;
    assert_eq!(s.mode, Mode::Normal);
}

#[tokio::test]
async fn stale_results_are_dropped_and_errors_shown_then_recovered() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    // Two refreshes; the first one's answer arrives last and must be dropped.
    let first = update(&mut s, key('r'));
    let second = update(&mut s, key('r'));
    let gen_of = |e: &[Effect]| -> u64 {
        e.iter()
            .find_map(|x| match x {
                Effect::Load {
                    kind: Kind::Queues,
                    generation,
                    ..
                } => Some(*generation),
                _ => None,
            })
            .unwrap()
    };
    let (g1, g2) = (gen_of(&first), gen_of(&second));
    assert!(g2 > g1);
    let fresh = load(cloud.clone(), Kind::Queues, None).await.unwrap();
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Queues,
            generation: g2,
            payload: fresh,
        },
    );
    let stale = phi_console::app::update::Payload::Queues(Vec::new());
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Queues,
            generation: g1,
            payload: stale,
        },
    );
    assert_eq!(
        s.table(View::Queues).rows.len(),
        10,
        "the stale (empty) answer was dropped"
    );

    // An error is shown in words, and recovered from by a refresh.
    emu.add_fault(FaultRule::for_op(Service::Sns, "ListTopics").errors(1.0, 500));
    command(&mut s, &cloud, "topics").await;
    assert!(s.last_error.is_some());
    let screen = render(&s, 120, 30);
    assert!(screen.contains("✗ ListTopics failed"), "{screen}");
    emu.clear_faults();
    s.flash = None;
    press(&mut s, &cloud, [key('r')]).await;
    assert!(s.last_error.is_none());
    assert_eq!(s.table(View::Topics).rows.len(), 5);
    assert!(!render(&s, 120, 30).contains('✗'));
}

#[tokio::test]
async fn idle_lock_blanks_the_screen_and_a_code_unlocks() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    let now = s.now;
    assert!(render(&s, 120, 30).contains("claims-validation"));
    update(&mut s, Msg::Tick(now + chrono::Duration::minutes(16)));
    assert!(s.locked);
    let screen = render(&s, 120, 30);
    assert!(
        !screen.contains("claims-"),
        "no account data on a locked screen:\n{screen}"
    );
    assert!(screen.contains("Locked after inactivity"));
    // Esc does not unlock; a malformed code is refused without a call; a well-formed one asks
    // STS (the runner's part is the next test).
    press(&mut s, &cloud, [code(KeyCode::Esc)]).await;
    assert!(s.locked);
    press(&mut s, &cloud, [key('1'), key('2'), code(KeyCode::Enter)]).await;
    assert!(matches!(&s.mode, Mode::Mfa { error: Some(e), .. } if e.contains("6 digits")));
    let mut effects = Vec::new();
    for c in "123456".chars() {
        effects.extend(update(&mut s, key(c)));
    }
    effects.extend(update(&mut s, code(KeyCode::Enter)));
    assert_eq!(
        effects,
        vec![Effect::Authenticate {
            purpose: MfaPurpose::Unlock,
            code: "123456".into()
        }]
    );
}

/// The idle lock through the runner, against the emulator's STS: a wrong code is refused by
/// STS (the screen stays locked and says why), the right one unlocks and keeps the data.
#[tokio::test]
async fn idle_unlock_asks_sts_refuses_a_wrong_code_then_unlocks() {
    use crate::actions::{Harness, render};
    use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
    let mut h = Harness::new("", false, None).await;
    assert!(render(&h.s).0.contains("claims-costs"));
    // Sixteen idle minutes on the emulator's clock (a fresh MFA code window, too).
    h.emu.advance(std::time::Duration::from_secs(16 * 60));
    let now = h.emu.clock().now();
    h.apply(Msg::Tick(now));
    h.settle().await;
    assert!(h.s.locked);
    let screen = render(&h.s).0;
    // (The breadcrumb still shows the operator's filter "/claims-costs"; the rows are gone.)
    assert!(
        !screen.contains("alias/") && !screen.contains("arn:aws:kms"),
        "no account data on a locked screen:\n{screen}"
    );
    let right = h.emu.totp(DEMO_MFA_SERIAL).unwrap();
    // A code of none of the steps STS accepts (one step of skew either way).
    let seed = phi_console::emulator::crypto::base32_decode(
        phi_console::emulator::scenario::claims::DEMO_MFA_SEED_BASE32,
    )
    .unwrap();
    let t = now.timestamp();
    let accepted: Vec<String> = [t - 30, t, t + 30]
        .iter()
        .map(|t| phi_console::emulator::crypto::totp(&seed, *t))
        .collect();
    assert!(accepted.contains(&right));
    let wrong = (0..1_000_000)
        .map(|i| format!("{:06}", (right.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .find(|c| !accepted.contains(c))
        .unwrap();
    let n = h.emu.request_count();
    h.type_text(&wrong).await;
    h.key(KeyCode::Enter).await;
    assert!(
        h.emu.request_count() > n,
        "the wrong code was not sent to STS"
    );
    assert!(h.s.locked, "a wrong code unlocked the screen");
    let Mode::Mfa {
        purpose: MfaPurpose::Unlock,
        error: Some(why),
        busy: false,
        ..
    } = &h.s.mode
    else {
        panic!("no refusal shown: {:?}", h.s.mode);
    };
    assert!(why.to_lowercase().contains("code"), "{why}");
    let screen = render(&h.s).0;
    // The reason on screen (wrapped in the dialog: compared word by word).
    let words = |t: &str| {
        t.replace('│', " ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert!(
        words(&screen).contains(&words(why)),
        "the reason is not on screen: {why}\n{screen}"
    );
    assert!(!screen.contains("alias/"), "still locked:\n{screen}");
    // The right code: STS accepts it, the screen unlocks with its data.
    h.apply(Msg::Key(KeyEvent::new(
        KeyCode::Char('u'),
        KeyModifiers::CONTROL,
    )));
    h.type_text(&right).await;
    h.key(KeyCode::Enter).await;
    assert!(!h.s.locked, "{:?}", h.s.mode);
    assert_eq!(h.s.mode, Mode::Normal);
    assert!(
        render(&h.s).0.contains("claims-costs"),
        "data kept after unlock"
    );
}

#[tokio::test]
async fn expiry_asks_for_a_fresh_code_and_keeps_the_screen() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    command(&mut s, &cloud, "keys").await;
    let exp = s.session.as_ref().unwrap().expires.unwrap();
    s.flash = None;
    s.last_input = exp - chrono::Duration::minutes(4);
    update(&mut s, Msg::Tick(exp - chrono::Duration::minutes(3)));
    assert!(matches!(&s.flash, Some(Flash::Error(e)) if e.contains("expires in")));
    s.last_input = exp;
    update(&mut s, Msg::Tick(exp + chrono::Duration::seconds(1)));
    assert!(matches!(
        &s.mode,
        Mode::Mfa {
            purpose: MfaPurpose::Reauth,
            ..
        }
    ));
    assert_eq!(s.view, View::Keys);
    let screen = render(&s, 120, 30);
    assert!(
        screen.contains("EXPIRED") && screen.contains("Renew the session"),
        "{screen}"
    );
}

#[tokio::test]
async fn hostile_names_and_tags_never_reach_the_terminal_raw() {
    let emu = empty();
    let sqs = aws_sdk_sqs::Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("innocent")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    sqs.tag_queue()
        .queue_url(&url)
        .tags(
            "own\u{202e}er",
            "\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}[31mred\r\u{8}",
        )
        .send()
        .await
        .unwrap();
    let (mut s, _cloud) = signed_in(&emu).await;
    assert_eq!(s.table(View::Queues).rows.len(), 1);
    s.now = Utc::now();
    let screen = render(&s, 160, 48);
    assert!(
        !screen.chars().any(|c| c.is_control() && c != '\n'),
        "control characters reached the screen"
    );
    assert!(screen.contains("␛]52;c;ZXZpbA=="), "{screen}");
    assert!(
        !screen.contains('\u{202e}'),
        "a bidi override in a tag key reached the screen"
    );
}

#[tokio::test]
async fn audit_view_lists_records_newest_first_and_links_to_the_call() {
    use phi_console::audit::{
        Action, AuditConfig, AuditLog, Intent, SessionEvent, Where, Who, Why, guarded,
    };
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(AuditConfig::new(
        dir.path().join("audit").join("demo.jsonl"),
    ))
    .unwrap();
    log.set_context(
        Who::from_os().with_aws(info(&emu).caller_arn, Some("jdoe".into())),
        Where::new("demo", "123456789012", "us-east-1"),
    );
    log.session(SessionEvent::Start, serde_json::json!({}))
        .unwrap();
    let arn = "arn:aws:kms:us-east-1:123456789012:key/1234";
    let done = guarded(
        &log,
        Intent::new(Action::new("kms:EnableKeyRotation").target(arn)).why(Why::reason("CHG-1")),
        |r| {
            r.request_id("req-42");
            Ok::<_, std::io::Error>(())
        },
    )
    .unwrap();
    done.result.unwrap();
    let bytes = std::fs::read(log.path()).unwrap();
    let records: Vec<_> = phi_console::audit::read_records(&bytes)
        .0
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    assert_eq!(records.len(), 3);

    command(&mut s, &cloud, "audit").await;
    assert_eq!(s.view, View::Audit);
    let generation = s.status(Kind::Audit).generation;
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Audit,
            generation,
            payload: phi_console::app::update::Payload::Audit(records),
        },
    );
    let t = s.table(View::Audit);
    assert_eq!(t.visible.len(), 3);
    assert_eq!(t.rows[t.visible[0]].cells[2], "outcome", "newest first");
    let screen = render(&s, 160, 48);
    assert!(
        screen.contains("kms:EnableKeyRotation") && screen.contains("succeeded"),
        "{screen}"
    );
    // From the outcome: link 1 is its intent, link 2 the CloudTrail event of its request id.
    press(&mut s, &cloud, [key('2')]).await;
    assert_eq!(s.view, View::Events);
    assert_eq!(s.table(View::Events).filter, "req-42");
    assert!(
        matches!(&s.data.events_filter, Some(phi_console::cloud::cloudtrail::EventFilter::ResourceName(a)) if a == arn)
    );
}

#[tokio::test]
async fn events_page_lazily_as_you_scroll_and_filter_server_side() {
    let emu = claims();
    let (mut s, cloud) = signed_in(&emu).await;
    command(&mut s, &cloud, "events").await;
    assert_eq!(s.data.events.len(), 50, "one page first");
    assert!(s.data.events_next.is_some());
    // Going to the bottom fetches the next page, and the selection stays where it was.
    press(&mut s, &cloud, [key('G')]).await;
    assert_eq!(s.data.events.len(), 100);
    assert_eq!(s.table(View::Events).selected, 49);
    let ids: std::collections::BTreeSet<_> = s.data.events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 100, "no event twice");
    // A server-side filter replaces the list.
    command(&mut s, &cloud, "events source=backup.amazonaws.com").await;
    assert!(!s.data.events.is_empty());
    assert!(
        s.data
            .events
            .iter()
            .all(|e| e.source == "backup.amazonaws.com")
    );
    assert!(s.breadcrumb().ends_with("CloudTrail events"));
}

#[tokio::test]
async fn locks_and_stale_answers_cannot_be_bypassed() {
    let emu = claims();
    let (mut s, _cloud) = signed_in(&emu).await;
    let now = s.now;
    // An expiry prompt left open still locks after the idle timeout.
    let exp = s.session.as_ref().unwrap().expires.unwrap();
    s.last_input = exp - chrono::Duration::minutes(1);
    update(&mut s, Msg::Tick(exp + chrono::Duration::seconds(1)));
    assert!(matches!(
        &s.mode,
        Mode::Mfa {
            purpose: MfaPurpose::Reauth,
            ..
        }
    ));
    let effects = update(&mut s, Msg::Tick(exp + chrono::Duration::minutes(16)));
    assert!(s.locked);
    assert!(matches!(
        &s.mode,
        Mode::Mfa {
            purpose: MfaPurpose::Unlock,
            ..
        }
    ));
    assert_eq!(effects, vec![Effect::RecordIdleLock]);
    // Answers arriving while locked do not unlock: an action's result, a plan, a sign-in.
    update(&mut s, Msg::ActionDone(Ok("done".into())));
    update(&mut s, Msg::Planned(Err("refused".into())));
    update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info(&emu)),
            purpose: MfaPurpose::Login {
                profile: "demo".into(),
            },
        },
    );
    assert!(s.locked);
    assert!(matches!(
        &s.mode,
        Mode::Mfa {
            purpose: MfaPurpose::Unlock,
            ..
        }
    ));
    assert!(!render(&s, 120, 30).contains("claims-"));
    update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info(&emu)),
            purpose: MfaPurpose::Unlock,
        },
    );
    assert!(!s.locked);

    // After a profile switch, a late answer for the old profile is dropped.
    s.now = now;
    s.last_input = now;
    let old_gen = s.status(Kind::Queues).generation;
    let mut other = info(&emu);
    other.profile = "other".into();
    let effects = update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(other),
            purpose: MfaPurpose::Login {
                profile: "other".into(),
            },
        },
    );
    let new_gen = effects
        .iter()
        .find_map(|e| match e {
            Effect::Load {
                kind: Kind::Queues,
                generation,
                ..
            } => Some(*generation),
            _ => None,
        })
        .unwrap();
    assert!(new_gen > old_gen);
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Queues,
            generation: old_gen,
            payload: phi_console::app::update::Payload::Queues(Vec::new()),
        },
    );
    assert!(
        s.status(Kind::Queues).loading,
        "the old profile's answer was dropped"
    );

    // A plan for another key than the one asked for does not open the confirmation.
    s.mode = Mode::Planning {
        action: "kms:RotateKeyOnDemand".into(),
        key: "arn:aws:kms:us-east-1:123456789012:key/asked".into(),
        target: "arn:aws:kms:us-east-1:123456789012:key/asked".into(),
    };
    let other = "arn:aws:kms:us-east-1:123456789012:key/other".to_string();
    let plan = phi_console::guard::Plan {
        operation: phi_console::guard::Operation::new(
            &phi_console::guard::kms::ROTATE_NOW,
            other.clone(),
        ),
        action: "kms:RotateKeyOnDemand".into(),
        summary: "rotate other now".into(),
        targets: vec![phi_console::guard::Target {
            arn: other,
            name: "other".into(),
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
        confirm_text: "other".into(),
        confirm_also: Vec::new(),
        planned_at: now,
    };
    update(&mut s, Msg::Planned(Ok(Box::new(plan))));
    assert!(matches!(s.mode, Mode::Planning { .. }), "{:?}", s.mode);
}

/// Every kind of remote text the console shows — resource names, tags, descriptions,
/// policies, CloudTrail event fields, message attributes and bodies, AWS error messages — each
/// holding every class of escape sequence (CSI, OSC incl. OSC 52, DCS, APC, PM, SOS, 8-bit C1,
/// bidi, line/paragraph separators): every view, every row's detail pane, nothing reaches the
/// screen raw; the planted text is shown, sanitised.
#[tokio::test]
async fn hostile_text_in_every_kind_of_remote_text_never_reaches_the_screen() {
    use crate::hostile::{self, assert_no_escape};
    use serde_json::json;
    let emu = claims();
    let h = hostile::all();
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [{ "Sid": h, "Effect": "Allow", "Principal": { "AWS": h },
                        "Action": "kms:Decrypt", "Resource": "*" }]
    })
    .to_string();
    let now = emu.clock().now();
    emu.with_world(|w| {
        // Names: a queue, a key alias, a topic, a backup plan.
        let mut q = w.sqs.queues.values().next().unwrap().clone();
        q.name = format!("claims{h}");
        q.url = w.sqs.queue_url(&w.account_id, &q.name);
        q.arn = format!("arn:aws:sqs:us-east-1:{}:{}", w.account_id, q.name);
        q.messages.clear();
        w.sqs.queues.insert(q.name.clone(), q);
        // Tags and policies of every queue.
        for q in w.sqs.queues.values_mut() {
            q.tags.insert(format!("owner{h}"), h.clone());
            q.attributes.insert("Policy".into(), policy.clone());
        }
        // Key descriptions, tags and policies.
        for k in w.kms.keys.values_mut() {
            k.description = format!("claims key {h}");
            k.tags.push((format!("team{h}"), h.clone()));
            k.policy = policy.clone();
        }
        if let Some(a) = w.kms.aliases.values().next().cloned() {
            let name = format!("alias/claims{h}");
            w.kms.aliases.insert(
                name.clone(),
                phi_console::emulator::services::kms::Alias { name, ..a },
            );
        }
        let mut t = w.sns.topics.values().next().unwrap().clone();
        t.name = format!("claims{h}");
        t.arn = format!("arn:aws:sns:us-east-1:{}:{}", w.account_id, t.name);
        w.sns.topics.insert(t.arn.clone(), t);
        for t in w.sns.topics.values_mut() {
            t.attributes.insert("DisplayName".into(), h.clone());
            t.attributes.insert("Policy".into(), policy.clone());
            t.tags.push((h.clone(), h.clone()));
            t.data_protection_policy = Some(policy.clone());
        }
        for sub in &mut w.sns.subscriptions {
            sub.endpoint = format!("https://example.com/{h}");
            sub.attributes
                .insert("FilterPolicy".into(), json!({ "code": [h] }).to_string());
        }
        let mut v = w.backup.vaults.values().next().unwrap().clone();
        v.name = format!("claims{h}");
        v.arn = format!(
            "arn:aws:backup:us-east-1:{}:backup-vault:{}",
            w.account_id, v.name
        );
        w.backup.vaults.insert(v.name.clone(), v);
        for v in w.backup.vaults.values_mut() {
            v.access_policy = Some(policy.clone());
        }
        for p in &mut w.backup.plans {
            p.name = format!("plan{h}");
        }
        for j in &mut w.backup.backup_jobs {
            j.status_message = Some(h.clone());
            j.resource_name = h.clone();
        }
        for p in w.backup.recovery_points.values_mut() {
            p.resource_name = h.clone();
        }
        // A CloudTrail event whose every field is hostile (the newest, so it is listed).
        let mut e = w.trail.events.last().unwrap().clone();
        e.event_id = format!("hostile-{h}");
        e.event_name = format!("RotateKey{h}");
        e.event_time = now;
        e.username = h.clone();
        e.resources = vec![("AWS::KMS::Key".into(), h.clone())];
        e.cloudtrail_event = json!({
            "eventName": e.event_name, "userIdentity": { "userName": h },
            "errorMessage": h, "requestParameters": { "description": h },
        })
        .to_string();
        w.trail.events.push(e);
    });

    let (mut s, cloud) = signed_in(&emu).await;
    s.now = now;
    let mut shown = Vec::new();
    for cmd in [
        "queues", "dlq", "topics", "keys", "vaults", "points", "jobs", "plans", "events",
    ] {
        command(&mut s, &cloud, cmd).await;
        assert_loaded(&mut s, cmd);
        let rows = s.table(s.view).visible.len();
        assert!(rows > 0, ":{cmd} lists nothing");
        let mut seen = false;
        // Every row, so every detail pane is drawn.
        for i in 0..rows {
            let screen = render(&s, 160, 48);
            assert_no_escape(&format!(":{cmd}, row {i}"), screen.as_bytes());
            seen |= screen.contains('␛');
            press(&mut s, &cloud, [key('j')]).await;
        }
        shown.push((cmd, seen));
    }
    assert!(
        shown.iter().all(|(_, seen)| *seen),
        "views that never showed the planted text: {shown:?}"
    );

    // Message attributes and a revealed body, peeked through the real adapter.
    let dlq = emu.with_world(|w| {
        let q = w
            .sqs
            .queues
            .values_mut()
            .find(|q| !q.messages.is_empty())
            .unwrap();
        for m in &mut q.messages {
            m.attributes.insert(
                format!("error{h}"),
                json!({ "DataType": "String", "StringValue": h }),
            );
            m.body = format!("{{\"note\": {}}}", json!(h));
            m.md5_body = phi_console::emulator::services::sqs::md5_hex(m.body.as_bytes());
        }
        q.url.clone()
    });
    let messages = cloud.peek_messages(&dlq, 10).await.unwrap();
    assert!(!messages.is_empty());
    s.data.revealed = messages
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                phi_console::app::resources::messages::Shown::Raw,
            )
        })
        .collect();
    s.data.messages = messages;
    s.view = View::Messages;
    phi_console::app::update::rebuild(&mut s, View::Messages);
    let rows = s.table(View::Messages).visible.len();
    assert!(rows > 0);
    for i in 0..rows {
        let screen = render(&s, 160, 48);
        assert_no_escape(&format!("messages, row {i}"), screen.as_bytes());
        assert!(
            screen.contains('␛'),
            "the message's attributes and body are shown:\n{screen}"
        );
        press(&mut s, &cloud, [key('j')]).await;
    }

    // An AWS error message.
    s.view = View::Queues;
    emu.add_fault(
        FaultRule::for_op(Service::Kms, "ListKeys")
            .errors(1.0, 500)
            .message(h.clone()),
    );
    command(&mut s, &cloud, "keys").await;
    press(&mut s, &cloud, [key('r')]).await;
    assert!(
        s.last_error.as_deref().is_some_and(|e| e.contains("<<")),
        "{:?}",
        s.last_error
    );
    let screen = render(&s, 160, 48);
    assert_no_escape("an AWS error message", screen.as_bytes());
    assert!(screen.contains("<<␛[2J"), "{screen}");
}
