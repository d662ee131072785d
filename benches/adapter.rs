//! The AWS adapter against the emulator (figures in docs/PERFORMANCE.md):
//! - inventory of 2,000 queues with attributes and tags at 20 ms injected latency per call,
//!   compared with the limit N × calls × RTT / concurrency;
//! - 1,000 CloudTrail events at the 2 requests/s LookupEvents quota (goal ≤ 1.05 × 10 s, and
//!   no throttling error: retries are off, so one would fail the run).

use criterion::{Criterion, criterion_group, criterion_main};
use phi_console::cloud::http::{endpoint_config, static_credentials};
use phi_console::cloud::{Cloud, DEFAULT_CONCURRENCY, system_now};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::wire::Service;
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};
use std::time::{Duration, Instant};

const QUEUES: usize = 2_000;
const LATENCY_MS: u64 = 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn inventory(c: &mut Criterion) {
    let emu = Emulator::start(EmulatorConfig {
        scenario: Scenario::Empty,
        clock: ClockMode::Real,
        ..Default::default()
    })
    .expect("emulator");
    let rt = runtime();
    let cfg = endpoint_config(
        &emu.endpoint_url(),
        "us-east-1",
        static_credentials("AKIABENCH", "bench", None),
        1,
    );
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    rt.block_on(async {
        for i in 0..QUEUES {
            sqs.create_queue()
                .queue_name(format!("claims-bench-{i:05}"))
                .send()
                .await
                .expect("create");
        }
    });
    for op in ["GetQueueAttributes", "ListQueueTags"] {
        emu.add_fault(
            FaultRule::for_op(Service::Sqs, op)
                .latency(Duration::from_millis(LATENCY_MS), Duration::ZERO),
        );
    }
    let cloud = Cloud::new(&cfg, "123456789012", None, system_now());
    let limit = Duration::from_millis(QUEUES as u64 * 2 * LATENCY_MS / DEFAULT_CONCURRENCY as u64);
    println!(
        "inventory: limit N x calls x RTT / concurrency = {QUEUES} x 2 x {LATENCY_MS} ms / {DEFAULT_CONCURRENCY} = {limit:?}"
    );
    let mut group = c.benchmark_group("adapter");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));
    group.bench_function(format!("list_queues/{QUEUES} queues/{LATENCY_MS}ms"), |b| {
        b.iter(|| {
            let q = rt.block_on(cloud.list_queues()).expect("inventory");
            assert_eq!(q.len(), QUEUES);
        })
    });
    group.finish();
}

fn cloudtrail(c: &mut Criterion) {
    let emu = Emulator::start(EmulatorConfig {
        scenario: Scenario::Claims,
        clock: ClockMode::Real,
        ..Default::default()
    })
    .expect("emulator");
    let rt = runtime();
    let cfg = endpoint_config(
        &emu.endpoint_url(),
        "us-east-1",
        static_credentials("AKIABENCH", "bench", None),
        1,
    );
    // A distinct account key so this limiter is not shared with the other benchmark's.
    let cloud = Cloud::new(&cfg, "bench-cloudtrail", None, system_now());
    let mut group = c.benchmark_group("adapter");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(100));
    group.bench_function("lookup_events/1000 events/2 rps", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Let the emulator's token bucket refill between runs.
                std::thread::sleep(Duration::from_millis(1100));
                let start = Instant::now();
                let events = rt
                    .block_on(cloud.lookup_events_up_to(None, 1000))
                    .expect("no throttling");
                total += start.elapsed();
                assert_eq!(events.len(), 1000);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, inventory, cloudtrail);
criterion_main!(benches);
