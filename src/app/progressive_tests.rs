//! Progressive lists in `update`, with no emulator: names first, details merged as they come,
//! rows on screen sent to the front, loading rows marked and sorted last, stale answers dropped.

use super::keymap::Keymap;
use super::state::{Flash, Kind, SessionInfo, State, View};
use super::update::{Effect, Msg, Payload, update};
use crate::cloud::sqs::Queue;
use crate::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::test_support::now;

fn url(i: usize) -> String {
    format!("http://127.0.0.1:1/123456789012/claims-q{i:04}")
}

fn signed_in() -> State {
    let mut s = State::new(now(), Keymap::default_keymap(), Theme::default());
    s.session = Some(SessionInfo {
        expires: None,
        ..super::test_support::session_info(now())
    });
    s.page_rows = 20;
    s
}

/// Starts a queues load the way `ensure_loaded` does and answers it with `n` names.
fn listed(s: &mut State, n: usize) -> (u64, Vec<Effect>) {
    let st = s.data.status.entry(Kind::Queues).or_default();
    st.generation += 1;
    st.loading = true;
    let generation = st.generation;
    let urls: Vec<String> = (0..n).map(url).collect();
    let fx = update(
        s,
        Msg::Listed {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(
                urls.iter()
                    .map(|u| Queue::pending(u, "us-east-1"))
                    .collect(),
            ),
            pending: urls,
            append: false,
        },
    );
    (generation, fx)
}

fn detailed(i: usize, visible: u64) -> Queue {
    let mut q = Queue::pending(&url(i), "us-east-1");
    q.visible = visible;
    q
}

fn key(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn prioritized(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .flat_map(|e| match e {
            Effect::Prioritize { ids, .. } => ids.clone(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn names_show_at_once_and_the_rows_on_screen_go_first() {
    let mut s = signed_in();
    let (generation, fx) = listed(&mut s, 200);
    let t = s.table(View::Queues);
    assert_eq!(t.rows.len(), 200, "every name is listed before any detail");
    let first = t.selected_row().expect("a row");
    assert_eq!(first.cells[0], "claims-q0000");
    assert_eq!(first.cells[2], "loading…", "a loading row says so");
    assert!(s.status(Kind::Queues).loading);
    // The first screen (and the next) are sent to the front, nothing beyond.
    let ids = prioritized(&fx);
    assert_eq!(ids.first(), Some(&url(0)));
    assert_eq!(ids.len(), 40, "{ids:?}");
    assert!(
        fx.iter()
            .all(|e| matches!(e, Effect::Prioritize { generation: g, .. } if *g == generation))
    );
    // Moving inside the same window asks nothing again; a page further down asks for it.
    assert!(prioritized(&key(&mut s, KeyCode::Down)).is_empty());
    let fx = key(&mut s, KeyCode::PageDown);
    let fx2 = key(&mut s, KeyCode::PageDown);
    let ids: Vec<String> = prioritized(&fx)
        .into_iter()
        .chain(prioritized(&fx2))
        .collect();
    assert!(ids.contains(&url(40)), "{ids:?}");
    assert!(
        !ids.contains(&url(0)),
        "rows already asked for are not asked again: {ids:?}"
    );
}

#[test]
fn details_fill_rows_in_and_the_last_batch_completes_the_list() {
    let mut s = signed_in();
    let (generation, _) = listed(&mut s, 3);
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(vec![detailed(1, 7)]),
            failed: vec![(url(2), "access denied".into())],
            done: false,
        },
    );
    let st = s.status(Kind::Queues);
    assert_eq!(st.pending.len(), 1);
    assert!(st.pending.contains(&url(0)));
    let row = |s: &State, name: &str| {
        s.table(View::Queues)
            .rows
            .iter()
            .find(|r| r.cells[0] == name)
            .cloned()
            .expect("row")
    };
    assert_eq!(row(&s, "claims-q0001").cells[2], "7");
    assert_eq!(row(&s, "claims-q0000").cells[2], "loading…");
    assert_eq!(s.data.queues.len(), 3, "merged by URL, not appended");
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(vec![detailed(0, 2)]),
            failed: Vec::new(),
            done: true,
        },
    );
    let st = s.status(Kind::Queues);
    assert!(!st.loading && st.pending.is_empty());
    let e = st.error.clone().unwrap_or_default();
    assert!(
        e.contains("1 could not be read in full: access denied"),
        "{e}"
    );
    assert_eq!(row(&s, "claims-q0000").cells[2], "2");
}

#[test]
fn stale_names_and_details_are_dropped() {
    let mut s = signed_in();
    let (old, _) = listed(&mut s, 5);
    let (new, _) = listed(&mut s, 2);
    assert_ne!(old, new);
    update(
        &mut s,
        Msg::Listed {
            kind: Kind::Queues,
            generation: old,
            payload: Payload::Queues((0..9).map(|i| detailed(i, 1)).collect()),
            pending: Vec::new(),
            append: false,
        },
    );
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation: old,
            payload: Payload::Queues(vec![detailed(4, 99)]),
            failed: Vec::new(),
            done: true,
        },
    );
    assert_eq!(s.data.queues.len(), 2);
    assert!(s.status(Kind::Queues).loading, "the current load goes on");
    assert_eq!(s.status(Kind::Queues).pending.len(), 2);
}

#[test]
fn sorting_works_on_what_is_loaded_and_says_what_is_not() {
    let mut s = signed_in();
    let (generation, _) = listed(&mut s, 4);
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(vec![detailed(2, 5), detailed(3, 9)]),
            failed: Vec::new(),
            done: false,
        },
    );
    // s: sort by the next column (TYPE, listed), then VISIBLE (not listed yet for two rows).
    let sort = |s: &mut State| {
        update(
            s,
            Msg::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::NONE)),
        );
    };
    sort(&mut s);
    sort(&mut s);
    let flash = match &s.flash {
        Some(Flash::Info(f)) => f.clone(),
        other => panic!("{other:?}"),
    };
    assert!(flash.starts_with("sorted by VISIBLE"), "{flash}");
    assert!(
        flash.contains("2 rows still loading sort last (their VISIBLE is not known yet)"),
        "{flash}"
    );
    let order = |s: &State| -> Vec<String> {
        let t = s.table(View::Queues);
        t.visible
            .iter()
            .map(|i| t.rows[*i].cells[0].clone())
            .collect()
    };
    // Descending by VISIBLE (numeric), loading rows last.
    assert_eq!(
        order(&s),
        [
            "claims-q0003",
            "claims-q0002",
            "claims-q0000",
            "claims-q0001"
        ]
    );
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT)),
    );
    assert_eq!(
        order(&s)[2..],
        ["claims-q0000", "claims-q0001"],
        "still last when reversed"
    );
    // The filter works on the names that are there.
    s.mode = super::state::Mode::Normal;
    let t = s.tables.get_mut(&View::Queues).expect("table");
    t.filter = "q0001".into();
    super::rows::refilter(t);
    assert_eq!(order(&s), ["claims-q0001"]);
}

#[test]
fn the_screen_shows_names_and_says_what_is_still_loading() {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut s = signed_in();
    let (generation, _) = listed(&mut s, 200);
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(vec![detailed(0, 42)]),
            failed: Vec::new(),
            done: false,
        },
    );
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    t.draw(|f| crate::ui::draw(f, &s)).expect("draw");
    let buf = t.backend().buffer().clone();
    let screen: String = (0..48)
        .map(|y| {
            (0..160)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                + "\n"
        })
        .collect();
    assert!(screen.contains("199 rows loading…"), "{screen}");
    assert!(
        screen.contains("claims-q0001") && screen.contains("loading…"),
        "{screen}"
    );
    let row0 = screen
        .lines()
        .find(|l| l.starts_with("│claims-q0000"))
        .expect("the loaded row");
    assert!(row0.contains("42") && !row0.contains("loading"), "{row0}");
}

#[test]
fn a_queue_whose_details_failed_says_unreadable_not_zero_and_unencrypted() {
    let mut s = signed_in();
    let (generation, _) = listed(&mut s, 2);
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(vec![detailed(0, 3)]),
            failed: vec![(url(1), "access denied".into())],
            done: true,
        },
    );
    let t = s.table(View::Queues);
    assert_eq!(t.rows.len(), 2, "the row stays");
    let row = t
        .rows
        .iter()
        .find(|r| r.cells[0] == "claims-q0001")
        .expect("row");
    // Its data is only the listed placeholder: depth 0 and encryption NONE would be false facts.
    assert_eq!(row.cells[2], "unreadable", "{:?}", row.cells);
    assert!(
        !row.cells.iter().any(|c| c == "NONE" || c == "0"),
        "{:?}",
        row.cells
    );
    assert!(s.status(Kind::Queues).error.is_some());
}

#[test]
fn a_batch_over_ten_thousand_queues_keeps_dlq_depths_and_merges_by_url() {
    use crate::cloud::sqs::RedrivePolicy;
    let mut s = signed_in();
    let n = 10_000;
    let (generation, _) = listed(&mut s, n);
    // Every even queue sends to the odd one after it, which holds i messages.
    let batch: Vec<Queue> = (0..n)
        .map(|i| {
            let mut q = detailed(i, i as u64);
            if i % 2 == 0 {
                q.redrive = Some(RedrivePolicy {
                    dead_letter_target_arn: Queue::pending(&url(i + 1), "us-east-1").arn,
                    max_receive_count: 5,
                });
            }
            q
        })
        .collect();
    update(
        &mut s,
        Msg::Details {
            kind: Kind::Queues,
            generation,
            payload: Payload::Queues(batch),
            failed: Vec::new(),
            done: true,
        },
    );
    assert_eq!(s.data.queues.len(), n, "merged by URL, not appended");
    let row = s
        .table(View::Queues)
        .rows
        .iter()
        .find(|r| r.cells[0] == "claims-q9998")
        .cloned()
        .expect("row");
    assert_eq!(row.cells[5], "→ claims-q9999 (9999)");
    assert_eq!(s.table(View::Dlq).rows.len(), n / 2);
}
