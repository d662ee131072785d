//! Frame times while the audit log records and seals, for docs/PERFORMANCE.md (a custom
//! harness driving the real `run_loop` in process, with a frame-timing TestBackend):
//!
//! - the console signed in to the claims emulator (an MFA session, the log sealed with the
//!   claims account's KMS HMAC key), GenerateMac slowed by 300 ms of injected latency;
//! - the loop is sent a session renewal (a session record, then a seal) every 300 ms, so a
//!   seal is always in flight and each record waits for the previous seal; meanwhile a key
//!   every 5 ms: key → frame latency and the gaps between frames, p50 / p99 / max;
//! - in the same run, the naive figure: a session record plus its seal written synchronously
//!   with the same latency (what a frame waited when the loop wrote the record itself behind
//!   an in-flight seal, or sealed it).
//!
//! `cargo bench --bench audit` prints the figures (40 records); `cargo test --bench audit --
//! --bench` takes them in the debug build. Under `cargo test` (no `--bench`) it runs 2
//! records, so the harness itself is checked.

#[path = "../tests/support/lab.rs"]
mod lab;

use chrono::Utc;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use phi_console::app::frames::Timed;
use phi_console::app::keymap::Keymap;
use phi_console::app::run::{Context, Incoming, Runner, channel, run_loop};
use phi_console::app::state::{MfaPurpose, State};
use phi_console::app::update::{Effect, Msg, update};
use phi_console::audit::{AuditConfig, AuditLog, KmsSealer, SessionEvent};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::{AUDIT_HMAC_ALIAS, DEMO_MFA_SERIAL};
use phi_console::emulator::wire::Service;
use phi_console::emulator::{Emulator, EmulatorConfig};
use phi_console::session::settings::SettingsFile;
use phi_console::session::{OpenOptions, Session};
use phi_console::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SEAL_LATENCY: Duration = Duration::from_millis(300);
const KEY_EVERY: Duration = Duration::from_millis(5);

fn pct(v: &[Duration], p: f64) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn line(what: &str, v: &[Duration]) {
    println!(
        "{what}: p50 {} / p99 {} / max {} ({} samples)",
        ms(pct(v, 0.5)),
        ms(pct(v, 0.99)),
        ms(pct(v, 1.0)),
        v.len()
    );
}

fn kinds(path: &std::path::Path) -> Vec<String> {
    lab::record_kinds(&std::fs::read_to_string(path).unwrap_or_default())
}

async fn wait_for(path: &std::path::Path, f: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !f(&kinds(path)) {
        assert!(
            Instant::now() < deadline,
            "the audit log never got there: {:?}",
            kinds(path)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Signs in through the runner (the MFA code from the emulator); returns the session.
async fn sign_in(
    emu: &Emulator,
    state: &mut State,
    runner: &mut Runner,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Incoming>,
) -> Session {
    runner.start();
    loop {
        let incoming = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("the sign-in answered")
            .expect("channel open");
        match incoming {
            Incoming::Msg(Msg::AskCode(purpose)) => runner.execute(Effect::Authenticate {
                purpose,
                code: emu.totp(DEMO_MFA_SERIAL).expect("the demo device"),
            }),
            Incoming::Msg(m) => {
                for e in update(state, m) {
                    runner.execute(e);
                }
                true
            }
            Incoming::Session(s, purpose) => {
                let session = (*s).clone();
                let m = runner.session_ready(*s, purpose);
                update(state, m);
                return session;
            }
            Incoming::Term(_) => true,
        };
    }
}

async fn measure(records: usize) {
    let emu = tokio::task::spawn_blocking(|| Emulator::start(EmulatorConfig::claims()))
        .await
        .expect("join")
        .expect("the emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let audit_dir = dir.path().join("audit");
    let log_path = audit_dir.join("demo.jsonl");
    let settings = SettingsFile::parse(
        &format!(
            "[defaults]\naudit_dir = \"{}\"\naudit_hmac_key = \"{AUDIT_HMAC_ALIAS}\"\n",
            audit_dir.display()
        ),
        "bench.toml",
    )
    .expect("settings");
    let mut options = OpenOptions::new("bench");
    options.attempts = 1;
    options.now = emu.now_fn();
    let profile = lab::demo_profile(&emu);
    let (tx, mut rx) = channel();
    let mut runner = Runner::new(
        tx.clone(),
        Context {
            profiles: None,
            settings,
            options,
            force_read_only: false,
            initial: profile,
            demo_code: None,
        },
    );
    let mut state = State::new(Utc::now(), Keymap::default_keymap(), Theme::default());
    let session = sign_in(&emu, &mut state, &mut runner, &mut rx).await;
    wait_for(&log_path, |k| k.last().map(String::as_str) == Some("seal")).await;
    // The loop ticks with the real clock: no idle lock during the run.
    state.last_input = Utc::now();
    emu.add_fault(
        FaultRule::for_op(Service::Kms, "GenerateMac").latency(SEAL_LATENCY, Duration::ZERO),
    );

    let (backend, frames) = Timed::new(TestBackend::new(160, 48));
    let mut terminal = Terminal::new(backend).expect("terminal");
    let mut keys = Vec::new();
    let started = Instant::now();
    let driver = async {
        let mut next_record = Instant::now();
        let mut asked = 0;
        while asked < records {
            if Instant::now() >= next_record {
                // A session renewal: a session record, then a seal, on the writer.
                let _ = tx.send(Incoming::Session(
                    Box::new(session.clone()),
                    MfaPurpose::Reauth,
                ));
                asked += 1;
                next_record += SEAL_LATENCY;
            }
            keys.push(Instant::now());
            let _ = tx.send(Incoming::Term(Event::Key(KeyEvent::new(
                KeyCode::Down,
                KeyModifiers::NONE,
            ))));
            tokio::time::sleep(KEY_EVERY).await;
        }
        wait_for(&log_path, |k| {
            k.iter().filter(|x| *x == "session:mfa_step_up").count() >= records
                && k.last().map(String::as_str) == Some("seal")
        })
        .await;
    };
    tokio::select! {
        r = run_loop(&mut terminal, &mut state, &mut runner, rx, &phi_console::ui::Views) => panic!("the loop ended: {r:?}"),
        _ = driver => {}
    }
    let elapsed = started.elapsed();
    let drawn = frames.instants();
    // The frames while keys were coming (after the last key the loop has nothing to draw
    // but its 250 ms tick).
    let until = keys.last().copied().unwrap_or(started) + Duration::from_millis(50);
    let window: Vec<Instant> = drawn
        .into_iter()
        .filter(|t| *t >= started && *t <= until)
        .collect();
    let gaps: Vec<Duration> = window.windows(2).map(|w| w[1] - w[0]).collect();
    let key_to_frame: Vec<Duration> = keys
        .iter()
        .filter_map(|k| window.iter().find(|f| *f >= k).map(|f| *f - *k))
        .collect();
    let k = kinds(&log_path);
    let seals = k.iter().filter(|x| *x == "seal").count();
    println!(
        "audit under {} of GenerateMac latency: {records} session records asked every {}, {seals} seals in the log, {} frames in {}",
        ms(SEAL_LATENCY),
        ms(SEAL_LATENCY),
        window.len(),
        ms(elapsed)
    );
    line("  key → frame (a key every 5 ms)", &key_to_frame);
    line("  gap between frames", &gaps);
    assert!(key_to_frame.len() >= keys.len() / 2, "keys were not drawn");
    runner.shutdown().await;

    // The naive figure, same latency: the record and its seal written synchronously.
    let config = session.sdk_config().clone();
    let naive_path = dir.path().join("naive").join("naive.jsonl");
    let naive = tokio::task::spawn_blocking(move || {
        let sealer = KmsSealer::from_config(&config, AUDIT_HMAC_ALIAS).expect("sealer");
        let log = AuditLog::open(
            AuditConfig::new(naive_path)
                .seal_every(0)
                .sealer(Arc::new(sealer)),
        )
        .expect("open");
        let mut record = Vec::new();
        let mut both = Vec::new();
        for _ in 0..records {
            let t = Instant::now();
            log.session(SessionEvent::MfaStepUp, serde_json::json!({}))
                .expect("record");
            record.push(t.elapsed());
            log.seal().expect("seal");
            both.push(t.elapsed());
        }
        (record, both)
    })
    .await
    .expect("join");
    line(
        "  naive, on the loop: the record alone (write + fsync)",
        &naive.0,
    );
    line("  naive, on the loop: the record and its seal", &naive.1);
    drop(emu);
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(measure(if bench { 40 } else { 2 }));
}
