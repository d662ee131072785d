//! Progressive lists against the emulator through the real SDK: names arrive in one message
//! before any detail, later ListQueues pages join, details fill in for every queue, rows asked
//! for go first, and a newer load stops an older one.

use crate::common::*;
use phi_console::app::run::{Incoming, load_progressive};
use phi_console::app::state::Kind;
use phi_console::app::update::{Msg, Payload};
use phi_console::cloud::progressive::Priority;
use phi_console::cloud::{Cloud, system_now};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::wire::Service;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

async fn with_queues(n: usize) -> phi_console::emulator::Emulator {
    let emu = empty();
    let sqs = aws_sdk_sqs::Client::new(&config(&emu));
    for i in 0..n {
        sqs.create_queue()
            .queue_name(format!("q-{i:04}"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                (i % 100 + 1).to_string(),
            )
            .send()
            .await
            .unwrap();
    }
    emu
}

/// Collects every message of one load until its final `Details { done: true }`.
async fn collect(mut rx: tokio::sync::mpsc::UnboundedReceiver<Incoming>) -> Vec<Msg> {
    let mut out = Vec::new();
    while let Ok(Some(Incoming::Msg(m))) =
        tokio::time::timeout(Duration::from_secs(60), rx.recv()).await
    {
        let last = matches!(m, Msg::Details { done: true, .. } | Msg::Failed { .. });
        out.push(m);
        if last {
            break;
        }
    }
    out
}

#[tokio::test]
async fn names_then_details_for_every_page_visible_rows_first() {
    // 1,200 queues: ListQueues answers in two pages of at most 1,000.
    let emu = with_queues(1200).await;
    emu.add_fault(
        FaultRule::for_op(Service::Sqs, "GetQueueAttributes")
            .latency(Duration::from_millis(5), Duration::ZERO),
    );
    let cloud = Cloud::new(&config(&emu), "123456789012", None, system_now());
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (priority, prx) = Priority::channel();
    // Rows "on screen" asked for before any detail call is made: they go first.
    let wanted: Vec<String> = ["q-1100", "q-0999"]
        .iter()
        .map(|n| format!("{}/123456789012/{n}", emu.endpoint_url()))
        .collect();
    priority.bump(wanted.clone());
    let task = tokio::spawn(load_progressive(
        cloud,
        Kind::Queues,
        7,
        Arc::new(AtomicU64::new(7)),
        prx,
        tx,
    ));
    let msgs = collect(rx).await;
    task.await.unwrap();
    // Names first: both pages listed, and the first page before any detail.
    let listed: Vec<(usize, bool)> = msgs
        .iter()
        .filter_map(|m| match m {
            Msg::Listed {
                payload: Payload::Queues(v),
                append,
                generation,
                ..
            } => {
                assert_eq!(*generation, 7);
                Some((v.len(), *append))
            }
            _ => None,
        })
        .collect();
    assert_eq!(listed, [(1000, false), (200, true)]);
    assert!(
        matches!(msgs[0], Msg::Listed { .. }),
        "the first message is the names"
    );
    // Every queue's details arrive once, with real attributes.
    let mut detailed = Vec::new();
    let mut batches = 0;
    for m in &msgs {
        if let Msg::Details {
            payload: Payload::Queues(v),
            failed,
            ..
        } = m
        {
            assert!(failed.is_empty(), "{failed:?}");
            batches += 1;
            detailed.extend(v.iter().cloned());
        }
    }
    assert_eq!(detailed.len(), 1200);
    assert!(batches < 1200 / 4, "{batches} batches: results are batched");
    let q = detailed.iter().find(|q| q.name == "q-0042").unwrap();
    assert_eq!(q.visibility_timeout, Some(43));
    assert_eq!(q.arn, "arn:aws:sqs:us-east-1:123456789012:q-0042");
    // The rows asked for were among the first fetched, although q-1100 is on the last page.
    let pos = |url: &str| detailed.iter().position(|q| q.url == url).unwrap();
    assert!(pos(&wanted[1]) < 32, "q-0999 at {}", pos(&wanted[1]));
    // A placeholder keeps the ARN its details have, so the row keeps its key.
    let placeholder = phi_console::cloud::sqs::Queue::pending(&q.url, "us-east-1");
    assert_eq!(placeholder.arn, q.arn);
}

#[tokio::test]
async fn a_newer_load_stops_the_older_one() {
    let emu = with_queues(300).await;
    emu.add_fault(
        FaultRule::for_op(Service::Sqs, "GetQueueAttributes")
            .latency(Duration::from_millis(20), Duration::ZERO),
    );
    let cloud = Cloud::new(&config(&emu), "123456789012", None, system_now());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_priority, prx) = Priority::channel();
    let current = Arc::new(AtomicU64::new(1));
    let task = tokio::spawn(load_progressive(
        cloud,
        Kind::Queues,
        1,
        current.clone(),
        prx,
        tx,
    ));
    // Wait for the names and a first batch, then replace the load.
    let mut seen = 0;
    while seen < 2 {
        if let Some(Incoming::Msg(Msg::Listed { .. } | Msg::Details { .. })) = rx.recv().await {
            seen += 1;
        }
    }
    current.store(2, std::sync::atomic::Ordering::Relaxed);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the old load stopped")
        .unwrap();
    let mut after = 0;
    while let Ok(Some(Incoming::Msg(m))) =
        tokio::time::timeout(Duration::from_millis(50), rx.recv()).await
    {
        assert!(
            !matches!(m, Msg::Details { done: true, .. }),
            "a stopped load never says done"
        );
        after += 1;
    }
    assert!(after <= 1, "{after} messages after the stop");
}

#[tokio::test]
async fn a_stopped_queues_load_does_not_wait_for_the_rest_of_the_pages() {
    // 1,100 queues: two ListQueues pages, each 3 s slow. Stopped after the first page's first
    // batch, the load ends without listing the second page (it once paged on to the end).
    let emu = with_queues(1100).await;
    emu.add_fault(
        FaultRule::for_op(Service::Sqs, "ListQueues")
            .latency(Duration::from_secs(3), Duration::ZERO),
    );
    let cloud = Cloud::new(&config(&emu), "123456789012", None, system_now());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (_priority, prx) = Priority::channel();
    let current = Arc::new(AtomicU64::new(1));
    let task = tokio::spawn(load_progressive(
        cloud,
        Kind::Queues,
        1,
        current.clone(),
        prx,
        tx,
    ));
    loop {
        if let Some(Incoming::Msg(Msg::Details { .. })) = rx.recv().await {
            break;
        }
    }
    current.store(2, std::sync::atomic::Ordering::Relaxed);
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the stopped load ended before the second page (3 s) came")
        .unwrap();
}
