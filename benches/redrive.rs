//! Selective redrive throughput, for docs/PERFORMANCE.md (a custom harness): the claims
//! emulator with 10 ms of latency injected into every SQS call, a DLQ of claims, and
//!
//! - the engine (`guard::redrive::engine`: half its workers, then all 16; batches of 10, the
//!   journal synced before each delete) moving the messages a filter matches — every message, then
//!   half of them;
//! - in the same run, the naive loop: one message at a time (ReceiveMessage of 1, SendMessage,
//!   DeleteMessage), with the same latency.
//!
//! `cargo bench --bench redrive` prints messages moved a second (3,000 messages; the naive
//! loop for 10 s); under `cargo test` it moves 60, so the harness itself is checked.

#[path = "../tests/support/lab.rs"]
#[allow(dead_code)]
mod lab;

use phi_console::cloud::Cloud;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use phi_console::emulator::wire::Service;
use phi_console::emulator::{Emulator, EmulatorConfig};
use phi_console::guard::redrive::engine::{self, Ending, Job};
use phi_console::guard::redrive::filter::{Filter, parse_where};
use phi_console::guard::redrive::journal::Journal;
use phi_console::session::OpenOptions;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(10);

async fn fill(emu: &Emulator, dlq: &str, n: usize) -> (String, String) {
    let cfg = phi_console::cloud::http::endpoint_config(
        &emu.endpoint_url(),
        "us-east-1",
        phi_console::cloud::http::static_credentials("AKIATESTKEY", "testsecret", None),
        1,
    );
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let dlq_url = sqs
        .create_queue()
        .queue_name(dlq)
        .send()
        .await
        .expect("dlq")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    let dest_url = sqs
        .create_queue()
        .queue_name(format!("{dlq}-dest"))
        .send()
        .await
        .expect("dest")
        .queue_url()
        .unwrap_or_default()
        .to_string();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let entries = chunk.iter().map(|i| {
            let v = |s: String| {
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(s)
                    .build()
                    .expect("attribute")
            };
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(format!("e{i}"))
                .message_body(format!("{{\"claim\":\"CLM-{i}\"}}"))
                .message_attributes("claim_id", v(format!("CLM-{i}")))
                .message_attributes("stage", v(["fraud", "validation"][i % 2].to_string()))
                .build()
                .expect("entry")
        });
        sqs.send_message_batch()
            .queue_url(&dlq_url)
            .set_entries(Some(entries.collect()))
            .send()
            .await
            .expect("fill");
    }
    (dlq_url, dest_url)
}

async fn engine_run(
    emu: &Emulator,
    cloud: &Cloud,
    dir: &std::path::Path,
    name: &str,
    n: usize,
    filter: Filter,
    workers: usize,
) -> (u64, Duration) {
    let (dlq_url, dest_url) = fill(emu, name, n).await;
    emu.add_fault(FaultRule::for_service(Service::Sqs).latency(LATENCY, Duration::ZERO));
    let (journal, earlier) =
        Journal::open(&dir.join("redrive").join(format!("{name}.jsonl")), "bench")
            .expect("journal");
    let job = Job {
        dlq_arn: format!("arn:aws:sqs:us-east-1:123456789012:{name}"),
        dlq_url,
        destination_url: dest_url,
        destination_fifo: false,
        filter,
        rate: 3000,
        visibility: 300,
        wait: 0,
        workers,
        backoff: Duration::from_millis(50),
    };
    let start = Instant::now();
    let report = engine::run(
        cloud.clone(),
        job,
        journal,
        earlier,
        Arc::new(AtomicBool::new(false)),
        None,
    )
    .await;
    let took = start.elapsed();
    emu.clear_faults();
    assert_eq!(report.ending, Ending::Completed, "{report:?}");
    assert_eq!(report.progress.failed, 0);
    (report.progress.moved, took)
}

/// One message at a time: receive 1, send it, delete it.
async fn naive(emu: &Emulator, n: usize, budget: Duration) -> (u64, Duration) {
    let (dlq_url, dest_url) = fill(emu, "naive", n).await;
    emu.add_fault(FaultRule::for_service(Service::Sqs).latency(LATENCY, Duration::ZERO));
    let cfg = phi_console::cloud::http::endpoint_config(
        &emu.endpoint_url(),
        "us-east-1",
        phi_console::cloud::http::static_credentials("AKIATESTKEY", "testsecret", None),
        1,
    );
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let start = Instant::now();
    let mut moved = 0u64;
    while start.elapsed() < budget {
        let r = sqs
            .receive_message()
            .queue_url(&dlq_url)
            .max_number_of_messages(1)
            .visibility_timeout(300)
            .message_attribute_names("All")
            .send()
            .await
            .expect("receive");
        let Some(m) = r.messages().first() else {
            break;
        };
        sqs.send_message()
            .queue_url(&dest_url)
            .message_body(m.body().unwrap_or_default())
            .set_message_attributes(m.message_attributes().cloned())
            .send()
            .await
            .expect("send");
        sqs.delete_message()
            .queue_url(&dlq_url)
            .receipt_handle(m.receipt_handle().unwrap_or_default())
            .send()
            .await
            .expect("delete");
        moved += 1;
    }
    let took = start.elapsed();
    emu.clear_faults();
    (moved, took)
}

fn rate(moved: u64, took: Duration) -> String {
    format!(
        "{moved} messages in {:.2} s = {:.0} messages/s",
        took.as_secs_f64(),
        moved as f64 / took.as_secs_f64()
    )
}

async fn measure(n: usize, naive_budget: Duration) {
    let emu = tokio::task::spawn_blocking(|| Emulator::start(EmulatorConfig::claims()))
        .await
        .expect("join")
        .expect("the emulator");
    let mut options = OpenOptions::new("bench");
    options.attempts = 1;
    options.now = emu.now_fn();
    let code = emu.totp(DEMO_MFA_SERIAL).expect("totp");
    let session = phi_console::session::open(&lab::demo_profile(&emu), Some(&code), &options)
        .await
        .expect("session");
    let cloud = session.cloud();
    let dir = tempfile::tempdir().expect("tempdir");
    println!(
        "selective redrive, {} ms latency on every SQS call, {n} messages",
        LATENCY.as_millis()
    );
    let half = || Filter {
        wheres: vec![parse_where("stage=fraud").expect("where")],
        ..Default::default()
    };
    for workers in [engine::WORKERS / 2, engine::WORKERS] {
        let (moved, took) = engine_run(
            &emu,
            &cloud,
            dir.path(),
            &format!("all-{workers}"),
            n,
            Filter::default(),
            workers,
        )
        .await;
        println!(
            "  engine, {workers} workers, every message matches: {}",
            rate(moved, took)
        );
        let (moved, took) = engine_run(
            &emu,
            &cloud,
            dir.path(),
            &format!("half-{workers}"),
            n,
            half(),
            workers,
        )
        .await;
        println!(
            "  engine, {workers} workers, half match (each of the {n} received once): {}",
            rate(moved, took)
        );
    }
    let (moved, took) = naive(&emu, n, naive_budget).await;
    println!("  naive, one message at a time: {}", rate(moved, took));
    emu.shutdown();
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if bench {
        rt.block_on(measure(3000, Duration::from_secs(10)));
    } else {
        rt.block_on(measure(60, Duration::from_millis(500)));
    }
}
