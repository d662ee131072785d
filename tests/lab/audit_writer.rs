//! The audit writer against the emulator: records and KMS seals happen on the writer's thread,
//! so the draw loop keeps drawing while a slow seal (GenerateMac with injected latency) is in
//! flight and a record the loop asked for waits behind it; and a reveal whose record cannot
//! be written is never shown (fail closed), its answer coming from the writer.

use crate::actions::Harness;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use phi_console::app::frames::{FrameLog, Timed};
use phi_console::app::run::{Incoming, channel, run_loop};
use phi_console::app::state::View;
use phi_console::app::update::{Effect, Msg};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS;
use phi_console::emulator::wire::Service;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:claims-intake";

/// The log's records as `kind` or `kind:event`.
fn kinds(h: &Harness) -> Vec<String> {
    crate::lab_support::record_kinds(&h.audit_text())
}

/// Waits (polling the file, bounded) until `f` holds of the log's records.
async fn wait_for(h: &Harness, what: &str, f: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let k = kinds(h);
        if f(&k) {
            return;
        }
        assert!(Instant::now() < deadline, "never: {what}: {k:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn reveal(id: &str) -> Effect {
    Effect::Reveal {
        queue_arn: QUEUE.into(),
        message_id: id.into(),
        shown: phi_console::app::resources::messages::Shown::Masked,
    }
}

async fn signed_in_with_kms_seals() -> Harness {
    let h = Harness::new(
        &format!("audit_hmac_key = \"{AUDIT_HMAC_ALIAS}\"\n"),
        false,
        None,
    )
    .await;
    wait_for(&h, "the start sealed", |k| {
        k.iter().any(|x| x == "session:start") && k.last().map(String::as_str) == Some("seal")
    })
    .await;
    h
}

/// A reveal is recorded and its seal (3 s of KMS latency) is in flight; the loop then locks
/// the idle screen, whose record must wait for that seal (the log's lock is held while KMS
/// answers). Frames keep coming meanwhile: keys are handled and drawn while the idle lock's
/// record is still not on disk. Then everything lands, in the order asked, each sealed.
#[tokio::test]
async fn frames_keep_coming_while_a_record_waits_for_a_slow_seal() {
    let mut h = signed_in_with_kms_seals().await;
    h.emu.add_fault(
        FaultRule::for_op(Service::Kms, "GenerateMac")
            .latency(Duration::from_secs(3), Duration::ZERO),
    );
    // Nothing else calls the emulator from here: the next request is the reveal's seal.
    let served = h.emu.request_count();
    h.runner.execute(reveal("m-1"));
    let mut s = std::mem::replace(
        &mut h.s,
        phi_console::app::state::State::new(
            chrono::Utc::now(),
            phi_console::app::keymap::Keymap::default_keymap(),
            phi_console::ui::theme::Theme::default(),
        ),
    );
    // The harness's clock is the emulator's: the loop ticks with the real one.
    s.last_input = chrono::Utc::now();
    let mut runner = std::mem::replace(&mut h.runner, placeholder_runner());
    let (backend, frames) = Timed::new(TestBackend::new(120, 40));
    let mut terminal = Terminal::new(backend).expect("terminal");
    // The loop's own channel (keys and ticks); the writer answers on the harness's.
    let (tx, rx) = channel();
    let frames2: FrameLog = frames.clone();
    let driver = async {
        wait_for(&h, "the reveal on disk, its seal in flight", |k| {
            k.last().map(String::as_str) == Some("reveal:message_body")
                && h.emu.request_count() > served
        })
        .await;
        // An hour without a key: the loop locks the screen and asks for the idle-lock record.
        tx.send(Incoming::Msg(Msg::Tick(
            chrono::Utc::now() + chrono::Duration::hours(1),
        )))
        .expect("send");
        let before = frames2.count();
        let mut drawn = 0;
        for _ in 0..3 {
            let n = frames2.count();
            tx.send(Incoming::Term(Event::Key(KeyEvent::new(
                KeyCode::Char('1'),
                KeyModifiers::NONE,
            ))))
            .expect("send");
            while frames2.count() <= n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            drawn = frames2.count() - before;
        }
        // Still in the seal: the idle lock's record has not been written, yet keys were drawn.
        let during = kinds(&h);
        wait_for(&h, "the idle lock on disk and sealed", |k| {
            k.iter().any(|x| x == "session:idle_lock")
                && k.last().map(String::as_str) == Some("seal")
        })
        .await;
        (during, drawn)
    };
    let (during, drawn) = tokio::select! {
        r = run_loop(&mut terminal, &mut s, &mut runner, rx, &phi_console::ui::Views) => panic!("the loop ended: {r:?}"),
        d = driver => d,
    };
    let mut answers = Vec::new();
    while let Ok(m) = h.rx.try_recv() {
        if let Incoming::Msg(m) = m {
            answers.push(m);
        }
    }
    assert!(
        !during.iter().any(|x| x == "session:idle_lock")
            && during.last().map(String::as_str) == Some("reveal:message_body"),
        "the seal was not in flight any more when the frames were drawn: {during:?}; {answers:?}"
    );
    assert!(drawn >= 3, "{drawn} frames");
    assert!(s.locked, "the loop locked the idle screen");
    let k = kinds(&h);
    let tail: Vec<&str> = k[k.len() - 4..].iter().map(String::as_str).collect();
    assert_eq!(
        tail,
        ["reveal:message_body", "seal", "session:idle_lock", "seal"],
        "{k:?}"
    );
    // The reveal was allowed, by the writer, once its record was written.
    let answers: Vec<_> = answers
        .into_iter()
        .filter_map(|m| match m {
            Msg::Revealed(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        [Ok((
            "m-1".to_string(),
            phi_console::app::resources::messages::Shown::Masked
        ))]
    );
    runner.shutdown().await;
    let report = phi_console::audit::verify_file(&h.audit.join("demo.jsonl"), &Default::default())
        .expect("verify");
    // The chain is whole (the seals themselves are checked by the witness tests, with a key).
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p.kind, phi_console::audit::ProblemKind::UncheckedSeal(_))),
        "{:?}",
        report.problems
    );
}

/// A runner with nothing to do, standing in for the harness's while the test drives that one.
fn placeholder_runner() -> phi_console::app::run::Runner {
    let (tx, _rx) = channel();
    phi_console::app::run::Runner::new(
        tx,
        phi_console::app::run::Context {
            profiles: None,
            settings: Default::default(),
            options: phi_console::session::OpenOptions::new("jdoe"),
            force_read_only: false,
            initial: phi_console::session::profile::ResolvedProfile::with_static_keys(
                "idle",
                "us-east-1",
                None,
                "AKIDEXAMPLE",
                "x",
                None,
            ),
            demo_code: None,
        },
    )
}

/// The writer answers a reveal only after its record is on disk; when the record cannot be
/// written (the log replaced by a directory, which no permission bit lets a writer use), the
/// answer is an error and the body is never shown.
#[tokio::test]
async fn a_reveal_whose_record_cannot_be_written_is_never_shown() {
    let mut h = Harness::new("", false, None).await;
    h.s.view = View::Messages;
    // The control: a writable log. The answer comes after the record is on disk.
    h.runner.execute(reveal("m-ok"));
    let answer = revealed(&mut h).await;
    assert_eq!(
        answer,
        Ok((
            "m-ok".to_string(),
            phi_console::app::resources::messages::Shown::Masked
        ))
    );
    assert!(
        kinds(&h).iter().any(|k| k == "reveal:message_body"),
        "allowed before the record was written"
    );
    h.apply(Msg::Revealed(answer));
    assert!(h.s.data.revealed.contains_key("m-ok"));

    // The log becomes unwritable.
    let log = h.audit.join("demo.jsonl");
    std::fs::rename(&log, h.audit.join("moved.jsonl")).expect("move the log");
    std::fs::create_dir(&log).expect("a directory in its place");
    h.runner.execute(reveal("m-hidden"));
    let answer = revealed(&mut h).await;
    assert!(answer.is_err(), "{answer:?}");
    h.apply(Msg::Revealed(answer));
    h.settle().await;
    assert!(
        !h.s.data.revealed.contains_key("m-hidden"),
        "a reveal that was not recorded was shown"
    );
    let flash = format!("{:?}", h.s.flash);
    assert!(
        flash.contains("the body stays hidden") && flash.contains("cannot be recorded"),
        "{flash}"
    );
}

/// The writer's answer to a reveal (other messages are applied meanwhile).
async fn revealed(
    h: &mut Harness,
) -> Result<(String, phi_console::app::resources::messages::Shown), String> {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match h.rx.recv().await {
                Some(Incoming::Msg(Msg::Revealed(r))) => return r,
                Some(Incoming::Msg(m)) => h.apply(m),
                Some(_) => continue,
                None => panic!("the runner's channel closed"),
            }
        }
    })
    .await
    .expect("an answer to the reveal")
}
