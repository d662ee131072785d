//! The runner changes the state only through `update`, with no emulator: the page size comes
//! from `Msg::Resized` (which `run_loop` sends from the terminal's size before a frame), and a
//! flash is cleared by the next key inside `update`.

use super::frames::{FrameLog, Timed};
use super::keymap::Keymap;
use super::run::{Context, Incoming, Runner, Screen, channel, run_loop};
use super::state::{Flash, Kind, SessionInfo, State, View};
use super::update::{Msg, Payload, update};
use crate::cloud::sqs::Queue;
use crate::theme::Theme;
use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

/// The real time: `run_loop` ticks with the real clock, and the idle lock must not fire.
fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Signed in, `:queues` showing 200 queues, the first selected.
fn with_queues() -> State {
    let mut s = State::new(now(), Keymap::default_keymap(), Theme::default());
    s.session = Some(SessionInfo {
        expires: None,
        ..super::test_support::session_info(now())
    });
    s.view = View::Queues;
    let st = s.data.status.entry(Kind::Queues).or_default();
    st.generation += 1;
    let generation = st.generation;
    let queues = (0..200)
        .map(|i| {
            Queue::pending(
                &format!("http://127.0.0.1:1/123456789012/claims-q{i:04}"),
                "us-east-1",
            )
        })
        .collect();
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(queues),
        },
    );
    assert_eq!(s.table(View::Queues).visible.len(), 200);
    s
}

fn press(s: &mut State, code: KeyCode) {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn selected(s: &State) -> usize {
    s.table(View::Queues).selected
}

#[test]
fn page_keys_move_by_the_page_size_of_the_resize_message() {
    let mut s = with_queues();
    update(&mut s, Msg::Resized { page_rows: 7 });
    assert_eq!(s.page_rows, 7);
    press(&mut s, KeyCode::PageDown);
    assert_eq!(selected(&s), 7);
    press(&mut s, KeyCode::PageDown);
    assert_eq!(selected(&s), 14);
    // A larger terminal: a larger page.
    update(&mut s, Msg::Resized { page_rows: 31 });
    press(&mut s, KeyCode::PageDown);
    assert_eq!(selected(&s), 45);
    press(&mut s, KeyCode::PageUp);
    assert_eq!(selected(&s), 14);
}

#[test]
fn a_flash_lasts_until_the_next_key_which_may_set_its_own() {
    let mut s = with_queues();
    update(
        &mut s,
        Msg::Flash(Flash::Error("the audit log is full".into())),
    );
    assert!(s.flash.is_some());
    // A message that is not a key leaves it.
    update(&mut s, Msg::Tick(now()));
    assert_eq!(s.flash, Some(Flash::Error("the audit log is full".into())));
    // A key that says nothing clears it…
    press(&mut s, KeyCode::Down);
    assert_eq!(s.flash, None);
    // …and a key that says something shows only its own.
    update(&mut s, Msg::Flash(Flash::Error("old".into())));
    press(&mut s, KeyCode::Char('s'));
    match &s.flash {
        Some(Flash::Info(m)) => assert!(m.starts_with("sorted by"), "{m}"),
        other => panic!("the sort key's flash: {other:?}"),
    }
}

fn runner() -> (
    Runner,
    tokio::sync::mpsc::UnboundedSender<Incoming>,
    tokio::sync::mpsc::UnboundedReceiver<Incoming>,
) {
    let (tx, rx) = channel();
    let ctx = Context {
        profiles: None,
        settings: Default::default(),
        options: crate::session::OpenOptions::new("jdoe"),
        force_read_only: false,
        initial: crate::session::profile::ResolvedProfile::with_static_keys(
            "demo",
            "us-east-1",
            None,
            "AKIDEXAMPLE",
            "x",
            None,
        ),
        demo_code: None,
    };
    (Runner::new(tx.clone(), ctx), tx, rx)
}

/// Runs the loop until `keys` are handled and drawn: the first frame, then each key and the
/// frame after it (waiting on frames, not on time).
async fn run_keys(
    terminal: &mut Terminal<Timed<TestBackend>>,
    s: &mut State,
    frames: &FrameLog,
    keys: &[Event],
) {
    let (mut runner, tx, rx) = runner();
    let driver = async {
        let wait = |n: usize| async move {
            while frames.count() <= n {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        };
        wait(frames.count()).await;
        for k in keys {
            let n = frames.count();
            tx.send(Incoming::Term(k.clone())).expect("send");
            wait(n).await;
        }
    };
    tokio::select! {
        r = run_loop(terminal, s, &mut runner, rx, &crate::ui::Views) => panic!("the loop ended: {r:?}"),
        _ = driver => {}
    }
}

/// `run_loop` tells `update` the terminal's page size before it draws, and again after the
/// terminal is resized; the page keys use it.
#[tokio::test]
async fn the_loop_sends_the_terminals_page_size_before_drawing() {
    let mut s = with_queues();
    let (backend, frames) = Timed::new(TestBackend::new(100, 30));
    let mut terminal = Terminal::new(backend).expect("terminal");
    let small = Screen::page_rows(&crate::ui::Views, Rect::new(0, 0, 100, 30));
    let large = Screen::page_rows(&crate::ui::Views, Rect::new(0, 0, 160, 60));
    assert!(small != s.page_rows && large > small, "{small} {large}");
    let page_down = Event::Key(KeyEvent::new(KeyCode::PageDown, KeyModifiers::NONE));
    run_keys(
        &mut terminal,
        &mut s,
        &frames,
        std::slice::from_ref(&page_down),
    )
    .await;
    assert_eq!(s.page_rows, small);
    assert_eq!(selected(&s), small);
    // The terminal grows: the next frame's page is larger.
    terminal.backend_mut().inner_mut().resize(160, 60);
    run_keys(
        &mut terminal,
        &mut s,
        &frames,
        &[Event::Resize(160, 60), page_down],
    )
    .await;
    assert_eq!(s.page_rows, large);
    assert_eq!(selected(&s), small + large);
}
