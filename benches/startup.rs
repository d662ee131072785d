//! Whole-process and list-loading figures for docs/PERFORMANCE.md (a custom harness: each
//! figure is a median over separate runs, not a criterion loop):
//!
//! - **first frame**: the real binary in a pseudo-terminal (160×48) from spawn to the first
//!   full frame, for `--demo` and for a profile against the standalone emulator; beside it, in
//!   the same run, the time until the startup work is done (the sign-in prompt, or the queues
//!   on screen) — when the console drew nothing before that work, this was its first frame.
//! - **time to names / to full attributes**: 200 and 2,000 queues at 20 ms injected latency per
//!   call, progressive loading (names, then details, rows on screen first) against all-at-once
//!   loading (`Cloud::list_queues`), in the same run.
//!
//! `cargo bench --bench startup` prints the figures. Under `cargo test` (no `--bench`), each
//! figure is taken once at the smallest size, so the harness itself is checked.

use phi_console::app::run::{Incoming, load_progressive};
use phi_console::app::state::Kind;
use phi_console::app::update::Msg;
use phi_console::cloud::http::{endpoint_config, static_credentials};
use phi_console::cloud::progressive::Priority;
use phi_console::cloud::{Cloud, DEFAULT_CONCURRENCY, system_now};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::DEMO_ACCESS_KEY;
use phi_console::emulator::wire::Service;
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};
use std::io::Read;

#[path = "../tests/support/pty.rs"]
mod pty;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const LATENCY_MS: u64 = 20;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Spawns the binary in a pty and returns (time to the first full frame, time until `ready`
/// is on screen). The first frame is the first moment the screen holds both the header and
/// the footer (a whole frame, not a partial write).
fn pty_run(args: &[&str], env: &[(&str, String)], ready: &str) -> (Duration, Duration) {
    let (rows, cols) = (48u16, 160u16);
    let start = Instant::now();
    let (mut master, mut child) =
        pty::spawn(env!("CARGO_BIN_EXE_phi-console"), args, rows, cols, |cmd| {
            cmd.env_remove("AWS_PROFILE").env_remove("AWS_REGION");
            for (k, v) in env {
                cmd.env(k, v);
            }
        });
    let mut parser = vt100::Parser::new(rows, cols, 0);
    let mut buf = [0u8; 16384];
    let mut first = None;
    let queried = Arc::new(AtomicBool::new(false));
    let deadline = start + Duration::from_secs(30);
    let ready_at = loop {
        let n = master.read(&mut buf).unwrap_or(0);
        if n == 0 || Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the console ended or hung; screen:\n{}",
                parser.screen().contents()
            );
        }
        if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
            queried.store(true, Ordering::Relaxed);
        }
        parser.process(&buf[..n]);
        let screen = parser.screen().contents();
        if first.is_none() && screen.contains("phi-console") && screen.contains("? help") {
            first = Some(start.elapsed());
        }
        if first.is_some() && screen.contains(ready) {
            break start.elapsed();
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !queried.load(Ordering::Relaxed),
        "the console asked the terminal for the cursor position"
    );
    (first.unwrap_or(ready_at), ready_at)
}

fn first_frames(runs: usize) {
    let home = tempfile::tempdir().expect("tempdir");
    let env = |h: &std::path::Path| {
        vec![
            ("HOME", h.display().to_string()),
            ("XDG_STATE_HOME", h.join("state").display().to_string()),
            ("XDG_CONFIG_HOME", h.join("config").display().to_string()),
        ]
    };
    let mut demo = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (f, r) = pty_run(&["--demo"], &env(home.path()), "Sign in");
        demo.0.push(f);
        demo.1.push(r);
    }
    // A profile (static credentials, no MFA) against the standalone emulator.
    let emu = Emulator::start(EmulatorConfig::claims()).expect("emulator");
    let aws = home.path().join("aws");
    std::fs::create_dir_all(&aws).expect("dir");
    std::fs::write(aws.join("config"), "[profile bench]\nregion = us-east-1\n").expect("config");
    std::fs::write(
        aws.join("credentials"),
        format!("[bench]\naws_access_key_id = {DEMO_ACCESS_KEY}\naws_secret_access_key = demo\n"),
    )
    .expect("credentials");
    let mut env2 = env(home.path());
    env2.push(("AWS_CONFIG_FILE", aws.join("config").display().to_string()));
    env2.push((
        "AWS_SHARED_CREDENTIALS_FILE",
        aws.join("credentials").display().to_string(),
    ));
    let url = emu.endpoint_url();
    let mut prof = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (f, r) = pty_run(
            &["--profile", "bench", "--endpoint-url", &url],
            &env2,
            "claims-validation-dlq",
        );
        prof.0.push(f);
        prof.1.push(r);
    }
    println!("first frame (pty 160x48, {runs} runs; median / p90):");
    println!(
        "  --demo:                 first frame {} / {}   startup done (sign-in prompt) {} / {}",
        ms(median(demo.0.clone())),
        ms(p90(demo.0)),
        ms(median(demo.1.clone())),
        ms(p90(demo.1))
    );
    println!(
        "  profile vs emulator:    first frame {} / {}   queues on screen {} / {}",
        ms(median(prof.0.clone())),
        ms(p90(prof.0)),
        ms(median(prof.1.clone())),
        ms(p90(prof.1))
    );
}

fn lists(sizes: &[usize], runs: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "queues at {LATENCY_MS} ms per call, concurrency {DEFAULT_CONCURRENCY} ({runs} runs; median):"
    );
    for &n in sizes {
        let emu = Emulator::start(EmulatorConfig {
            scenario: Scenario::Empty,
            clock: ClockMode::Real,
            ..Default::default()
        })
        .expect("emulator");
        let cfg = endpoint_config(
            &emu.endpoint_url(),
            "us-east-1",
            static_credentials("AKIABENCH", "bench", None),
            1,
        );
        let sqs = aws_sdk_sqs::Client::new(&cfg);
        rt.block_on(async {
            for i in 0..n {
                sqs.create_queue()
                    .queue_name(format!("claims-bench-{i:05}"))
                    .send()
                    .await
                    .expect("create");
            }
        });
        emu.add_fault(
            FaultRule::for_service(Service::Sqs)
                .latency(Duration::from_millis(LATENCY_MS), Duration::ZERO),
        );
        let cloud = Cloud::new(&cfg, "123456789012", None, system_now());
        // The round trip as the client sees it: the injected latency plus signing, HTTP and the
        // emulator's own work on this machine (median of 15 single calls).
        let url0 = format!("{}/123456789012/claims-bench-00000", emu.endpoint_url());
        let rtts: Vec<Duration> = (0..15)
            .map(|_| {
                let t = Instant::now();
                rt.block_on(
                    sqs.get_queue_attributes()
                        .queue_url(&url0)
                        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                        .send(),
                )
                .expect("rtt");
                t.elapsed()
            })
            .collect();
        let measured_rtt = median(rtts);
        let (mut names, mut full, mut old) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let all = rt.block_on(cloud.list_queues()).expect("list");
            assert_eq!(all.len(), n);
            old.push(t.elapsed());

            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let (_p, prx) = Priority::channel();
            let t = Instant::now();
            let task = rt.spawn(load_progressive(
                cloud.clone(),
                Kind::Queues,
                1,
                Arc::new(AtomicU64::new(1)),
                prx,
                tx,
            ));
            let (mut first, mut count) = (None, 0usize);
            let done = rt.block_on(async {
                while let Some(Incoming::Msg(m)) = rx.recv().await {
                    match m {
                        Msg::Listed { .. } if first.is_none() => first = Some(t.elapsed()),
                        Msg::Details {
                            payload: phi_console::app::update::Payload::Queues(v),
                            done,
                            ..
                        } => {
                            count += v.len();
                            if done {
                                return t.elapsed();
                            }
                        }
                        Msg::Failed { error, .. } => panic!("{error}"),
                        _ => {}
                    }
                }
                t.elapsed()
            });
            rt.block_on(task).expect("task");
            assert_eq!(count, n);
            names.push(first.expect("names"));
            full.push(done);
        }
        let rtt = Duration::from_millis(LATENCY_MS);
        let limit = Duration::from_millis(n as u64 * 2 * LATENCY_MS / DEFAULT_CONCURRENCY as u64);
        let measured_limit = measured_rtt.mul_f64(n as f64 * 2.0 / DEFAULT_CONCURRENCY as f64);
        println!(
            "  {n:>5} queues: names {} (goal <= RTT + 15 ms = {}; all-at-once shows them at {})",
            ms(median(names)),
            ms(rtt + Duration::from_millis(15)),
            ms(median(old.clone()))
        );
        let full = median(full);
        println!(
            "               full attributes {} (goal <= 1.2 x N x 2 calls x RTT / {DEFAULT_CONCURRENCY} = {} with the injected {LATENCY_MS} ms; all-at-once {})",
            ms(full),
            ms(limit.mul_f64(1.2)),
            ms(median(old))
        );
        println!(
            "               measured RTT {} -> bound {}: {:.2}x",
            ms(measured_rtt),
            ms(measured_limit),
            full.as_secs_f64() / measured_limit.as_secs_f64()
        );
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    if bench {
        first_frames(15);
        lists(&[200, 2_000], 3);
    } else {
        first_frames(1);
        lists(&[50], 1);
    }
}
