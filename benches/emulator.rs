//! Emulator throughput: GetQueueAttributes requests per second from a concurrent client (the
//! real aws-sdk-rust SQS client over HTTP on 127.0.0.1). Figures go to docs/PERFORMANCE.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use phi_console::cloud::http::{endpoint_config, static_credentials};
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};
use std::time::{Duration, Instant};

fn get_queue_attributes(c: &mut Criterion) {
    let emu = Emulator::start(EmulatorConfig {
        scenario: Scenario::Claims,
        clock: ClockMode::Real,
        ..Default::default()
    })
    .expect("emulator");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cfg = endpoint_config(
        &emu.endpoint_url(),
        "us-east-1",
        static_credentials("AKIABENCH", "bench", None),
        1,
    );
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let url = rt.block_on(async {
        sqs.get_queue_url()
            .queue_name("claims-validation-dlq")
            .send()
            .await
            .expect("queue")
            .queue_url()
            .unwrap_or_default()
            .to_string()
    });
    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    for concurrency in [1usize, 16] {
        group.bench_function(
            format!("GetQueueAttributes/concurrency={concurrency}"),
            |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        let per_task = iters.div_ceil(concurrency as u64);
                        let mut tasks = Vec::new();
                        for _ in 0..concurrency {
                            let sqs = sqs.clone();
                            let url = url.clone();
                            tasks.push(tokio::spawn(async move {
                                for _ in 0..per_task {
                                    sqs.get_queue_attributes()
                                        .queue_url(&url)
                                        .attribute_names(
                                            aws_sdk_sqs::types::QueueAttributeName::All,
                                        )
                                        .send()
                                        .await
                                        .expect("GetQueueAttributes");
                                }
                            }));
                        }
                        for t in tasks {
                            t.await.expect("task");
                        }
                        // Normalise to the requested iteration count.
                        start
                            .elapsed()
                            .mul_f64(iters as f64 / (per_task * concurrency as u64) as f64)
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, get_queue_attributes);
criterion_main!(benches);
