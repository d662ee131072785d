//! The TUI (figures in docs/PERFORMANCE.md):
//! - first frame in demo: emulator with the claims scenario, an MFA session through the real
//!   adapter, the queues view loaded, the first frame drawn;
//! - frame time with 10,000 queues and with 10,000 events (goal ≤ 1 ms);
//! - resident memory with that data (goal ≤ 50 MB), printed.

#[path = "../tests/support/lab.rs"]
#[allow(dead_code)] // the record reader serves other benches
mod lab;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use phi_console::app::keymap::Keymap;
use phi_console::app::state::{Kind, MfaPurpose, SessionInfo, State, View};
use phi_console::app::update::{Effect, Msg, Payload, update};
use phi_console::cloud::cloudtrail::TrailEvent;
use phi_console::cloud::sqs::{Queue, QueueEncryption, RedrivePolicy};
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};
use phi_console::session::OpenOptions;
use phi_console::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};

fn rss_mb() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / 1_048_576.0
}

fn info() -> SessionInfo {
    SessionInfo {
        profile: "bench".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/ClaimsOperator/bench".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        read_only: false,
        production: true,
        expires: Some(Utc::now() + chrono::Duration::hours(1)),
        mfa_at: Some(Utc::now()),
        source_identity: Some("bench".into()),
        idle_lock_minutes: 15,
        audit_path: None,
        audit_error: None,
        require_reason: true,
        utc: true,
        safe_attributes: phi_console::session::settings::ProfileSettings::default().safe_attributes,
        posture_limits: phi_console::posture::Limits::default(),
    }
}

fn queues(n: usize) -> Vec<Queue> {
    (0..n)
        .map(|i| {
            let name = format!(
                "claims-stage-{i:05}{}",
                if i % 2 == 1 { "-dlq" } else { "" }
            );
            let arn = format!("arn:aws:sqs:us-east-1:123456789012:{name}");
            Queue {
                url: format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}"),
                fifo: false,
                visible: (i * 7 % 1000) as u64,
                in_flight: (i % 13) as u64,
                delayed: 0,
                encryption: if i % 5 == 0 {
                    QueueEncryption::SqsManaged
                } else {
                    QueueEncryption::Kms("alias/claims-transport".into())
                },
                redrive: (i % 2 == 0).then(|| RedrivePolicy {
                    dead_letter_target_arn: format!(
                        "arn:aws:sqs:us-east-1:123456789012:claims-stage-{:05}-dlq",
                        i + 1
                    ),
                    max_receive_count: 5,
                }),
                redrive_allow: None,
                policy: None,
                created: Some(Utc::now()),
                visibility_timeout: Some(30),
                retention_seconds: Some(345_600),
                attributes: Default::default(),
                tags: Default::default(),
                sources: Vec::new(),
                name,
                arn,
            }
        })
        .collect()
}

fn events(n: usize) -> Vec<TrailEvent> {
    (0..n)
        .map(|i| TrailEvent {
            id: format!("00000000-0000-0000-0000-{i:012}"),
            name: ["Decrypt", "SendMessage", "RotateKeyOnDemand", "StartRestoreJob"][i % 4].into(),
            source: "kms.amazonaws.com".into(),
            time: Some(Utc::now() - chrono::Duration::seconds(i as i64)),
            username: Some("claims-worker".into()),
            read_only: Some(i % 3 != 0),
            access_key: None,
            resources: vec![("AWS::KMS::Key".into(), format!("arn:aws:kms:us-east-1:123456789012:key/{i}"))],
            raw: format!("{{\"eventID\":\"{i}\",\"requestID\":\"req-{i}\",\"userIdentity\":{{\"type\":\"AssumedRole\"}}}}"),
            request_id: Some(format!("req-{i}")),
            source_identity: None,
            mfa_authenticated: Some(true),
        })
        .collect()
}

fn loaded_state(view: View) -> State {
    let mut s = State::new(Utc::now(), Keymap::default_keymap(), Theme::default());
    s.view = view;
    let effects = update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info()),
            purpose: MfaPurpose::Login {
                profile: "bench".into(),
            },
        },
    );
    for e in effects {
        if let Effect::Load {
            kind, generation, ..
        } = e
        {
            let payload = match kind {
                Kind::Queues => Payload::Queues(queues(10_000)),
                Kind::Events => Payload::Events {
                    events: events(10_000),
                    next: None,
                    append: false,
                },
                Kind::Keys => Payload::Keys(Vec::new()),
                _ => continue,
            };
            update(
                &mut s,
                Msg::Loaded {
                    kind,
                    generation,
                    payload,
                },
            );
        }
    }
    s
}

fn frames(c: &mut Criterion) {
    let before = rss_mb();
    let mut queues_state = loaded_state(View::Queues);
    let mut events_state = loaded_state(View::Events);
    let after = rss_mb();
    println!(
        "memory: resident {after:.1} MB with 10,000 queues and 10,000 events loaded ({:.1} MB for the data)",
        after - before
    );
    assert_eq!(queues_state.table(View::Queues).rows.len(), 10_000);
    assert_eq!(events_state.table(View::Events).rows.len(), 10_000);
    // Put the selection in the middle, as after scrolling.
    for s in [&mut queues_state, &mut events_state] {
        let v = s.view;
        if let Some(t) = s.tables.get_mut(&v) {
            t.selected = 5_000;
        }
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let mut group = c.benchmark_group("tui");
    group.bench_function("frame/10000 queues/160x48", |b| {
        b.iter(|| {
            terminal
                .draw(|f| phi_console::ui::draw(f, &queues_state))
                .expect("draw")
                .area
        })
    });
    group.bench_function("frame/10000 events/160x48", |b| {
        b.iter(|| {
            terminal
                .draw(|f| phi_console::ui::draw(f, &events_state))
                .expect("draw")
                .area
        })
    });
    // Typing into the filter re-filters 10,000 rows on every key stroke.
    group.bench_function("filter keystroke/10000 queues", |b| {
        b.iter(|| {
            let t = queues_state.tables.get_mut(&View::Queues).expect("table");
            t.filter = "dlq".into();
            phi_console::app::rows::refilter(t);
            t.filter.clear();
            phi_console::app::rows::refilter(t);
        })
    });
    group.finish();
}

fn first_frame_in_demo(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("tui");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("first frame in demo", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let emu = Emulator::start(EmulatorConfig {
                    scenario: Scenario::Claims,
                    clock: ClockMode::Real,
                    ..Default::default()
                })
                .expect("emulator");
                let profile = lab::demo_profile(&emu);
                let code = emu.totp(DEMO_MFA_SERIAL).expect("code");
                let mut options = OpenOptions::new("bench");
                options.attempts = 1;
                let session = rt
                    .block_on(phi_console::session::open(&profile, Some(&code), &options))
                    .expect("session");
                let mut s = State::new(Utc::now(), Keymap::default_keymap(), Theme::default());
                let effects = update(
                    &mut s,
                    Msg::SessionOpened {
                        info: Box::new(phi_console::app::run::session_info(
                            &session,
                            &Default::default(),
                            false,
                        )),
                        purpose: MfaPurpose::Login {
                            profile: "demo".into(),
                        },
                    },
                );
                let cloud = session.cloud();
                for e in effects {
                    if let Effect::Load {
                        kind,
                        generation,
                        events,
                    } = e
                    {
                        let payload = rt
                            .block_on(phi_console::app::run::load(cloud.clone(), kind, events))
                            .expect("load");
                        update(
                            &mut s,
                            Msg::Loaded {
                                kind,
                                generation,
                                payload,
                            },
                        );
                    }
                }
                let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
                terminal
                    .draw(|f| phi_console::ui::draw(f, &s))
                    .expect("draw");
                total += start.elapsed();
                assert_eq!(s.table(View::Queues).rows.len(), 10);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, frames, first_frame_in_demo);
criterion_main!(benches);
