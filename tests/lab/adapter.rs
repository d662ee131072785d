//! The AWS adapter (src/cloud) against the emulator: domain types for every view, complete
//! lists under latency, throttling and 5xx, typed errors, and lazy, rate-limited CloudTrail.

use crate::common::*;
use phi_console::cloud::cloudtrail::EventFilter;
use phi_console::cloud::sqs::QueueEncryption;
use phi_console::cloud::{Cloud, CloudError, system_now};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::wire::Service;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn cloud(emu: &phi_console::emulator::Emulator, attempts: u32) -> Cloud {
    Cloud::new(
        &config_retrying(emu, attempts),
        "123456789012",
        None,
        system_now(),
    )
}

#[tokio::test]
async fn queues_with_dlqs_depths_and_encryption() {
    let emu = claims();
    let queues = cloud(&emu, 1).list_queues().await.unwrap();
    assert_eq!(queues.len(), 10);
    let by = |n: &str| {
        queues
            .iter()
            .find(|q| q.name == n)
            .unwrap_or_else(|| panic!("{n}"))
    };
    let dlq = by("claims-validation-dlq");
    assert!(dlq.is_dlq());
    assert_eq!(dlq.sources, vec![by("claims-validation").arn.clone()]);
    assert_eq!(dlq.visible, 12);
    let v = by("claims-validation");
    assert!(!v.is_dlq());
    assert_eq!(v.redrive.as_ref().unwrap().dead_letter_target_arn, dlq.arn);
    assert!(matches!(&v.encryption, QueueEncryption::Kms(k) if !k.is_empty()));
    assert!(by("claims-payment.fifo").fifo);
    assert!(
        !matches!(by("claims-notify").encryption, QueueEncryption::Kms(_)),
        "claims-notify has no CMK"
    );
    assert_eq!(queues.iter().filter(|q| q.is_dlq()).count(), 5);
}

#[tokio::test]
async fn lists_complete_under_latency_throttling_and_5xx() {
    let emu = empty();
    let sqs = aws_sdk_sqs::Client::new(&config(&emu));
    for i in 0..300 {
        sqs.create_queue()
            .queue_name(format!("q-{i:04}"))
            .send()
            .await
            .unwrap();
    }
    emu.add_fault(
        FaultRule::for_op(Service::Sqs, "GetQueueAttributes")
            .latency(Duration::from_millis(5), Duration::from_millis(5)),
    );
    emu.add_fault(FaultRule::for_op(Service::Sqs, "GetQueueAttributes").throttle(400.0, 20.0));
    emu.add_fault(FaultRule::for_op(Service::Sqs, "ListQueueTags").errors(0.05, 503));
    let before = emu.request_count();
    let queues = cloud(&emu, 10).list_queues().await.unwrap();
    assert_eq!(queues.len(), 300);
    let names: BTreeSet<_> = queues.iter().map(|q| q.name.clone()).collect();
    assert_eq!(names.len(), 300, "nothing reported twice");
    // 1 ListQueues + 2 calls per queue, plus the retries the faults caused.
    assert!(
        emu.request_count() - before > 601,
        "faults were injected and retried"
    );
}

#[tokio::test]
async fn errors_reach_the_caller_typed() {
    let emu = empty();
    let c = cloud(&emu, 1);
    let sqs = aws_sdk_sqs::Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("vanishing")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let e = c.queue(&url).await.unwrap_err();
    assert!(
        matches!(&e, CloudError::NotFound { what, .. } if what == "queue vanishing"),
        "{e:?}"
    );

    emu.add_fault(FaultRule::for_op(Service::Kms, "ListKeys").throttle(0.001, 0.0));
    let e = c.list_keys().await.unwrap_err();
    assert!(
        matches!(&e, CloudError::Throttled { operation, code, .. } if operation == "ListKeys" && code == "ThrottlingException"),
        "{e:?}"
    );
    emu.clear_faults();
    emu.add_fault(FaultRule::for_op(Service::Sns, "ListTopics").errors(1.0, 500));
    assert!(matches!(
        c.list_topics().await.unwrap_err(),
        CloudError::Service { .. }
    ));

    let e = c.key("alias/none").await.unwrap_err();
    assert!(matches!(e, CloudError::NotFound { .. }), "{e:?}");

    // Nothing listening: a network error in words.
    let dead = Cloud::new(
        &phi_console::cloud::http::endpoint_config(
            "http://127.0.0.1:9",
            REGION,
            phi_console::cloud::http::static_credentials("AKIAX", "x", None),
            1,
        ),
        "123456789012",
        None,
        system_now(),
    );
    assert!(matches!(
        dead.list_queues().await.unwrap_err(),
        CloudError::Network { .. }
    ));
}

#[tokio::test]
async fn topics_keys_and_backups_as_domain_types() {
    let emu = claims();
    let c = cloud(&emu, 1);
    let topics = c.list_topics().await.unwrap();
    assert_eq!(topics.len(), 5);
    let received = topics.iter().find(|t| t.name == "claims-received").unwrap();
    assert!(received.data_protection_policy.is_some());
    assert!(received.kms_key.is_some());
    assert!(
        received.subscriptions.iter().any(|s| s.protocol == "sqs"
            && s.endpoint.ends_with(":claims-intake")
            && s.raw_delivery)
    );

    let keys = c.list_keys().await.unwrap();
    let by = |a: &str| {
        keys.iter()
            .find(|k| k.aliases.iter().any(|x| x == a))
            .unwrap_or_else(|| panic!("{a}"))
    };
    let costs = by("alias/claims-costs");
    assert!(costs.customer_managed);
    assert!(!costs.rotation.as_ref().unwrap().enabled);
    let pd = by("alias/claims-patient-details");
    let rot = pd.rotation.as_ref().unwrap();
    assert!(rot.enabled && rot.next.is_some());
    assert_eq!(rot.period_days, Some(365));
    assert_eq!(pd.on_demand_used(), 2);
    assert!(pd.last_rotation().is_some());
    assert_eq!(
        pd.tags.get("DataClassification").map(String::as_str),
        Some("phi")
    );
    let hmac = by("alias/claims-audit-hmac");
    assert!(hmac.rotation.is_none() && hmac.rotation_unsupported().is_some());
    assert!(!by("alias/aws/sqs").customer_managed);
    assert_eq!(by("alias/claims-legacy-export").state, "PendingDeletion");
    assert!(
        c.key_policy(&pd.arn)
            .await
            .unwrap()
            .contains("ClaimsValidationStage")
    );

    let vaults = c.list_backup_vaults().await.unwrap();
    assert_eq!(vaults.len(), 2);
    assert!(
        vaults
            .iter()
            .any(|v| v.name == "claims-locked-vault" && v.locked)
    );
    let points = c.list_all_recovery_points().await.unwrap();
    assert!(points.len() >= 90, "{}", points.len());
    assert!(points.iter().any(|p| p.resource_type == "DynamoDB"));
    assert!(!c.list_backup_jobs().await.unwrap().is_empty());
    let restores = c.list_restore_jobs().await.unwrap();
    assert!(
        restores
            .iter()
            .any(|r| r.status == "COMPLETED" && r.duration().is_some())
    );
    assert!(
        c.list_backup_plans()
            .await
            .unwrap()
            .iter()
            .any(|p| p.name == "claims-daily")
    );
    assert!(
        c.list_restore_testing_plans()
            .await
            .unwrap()
            .iter()
            .any(|p| p.name == "claims-weekly-restore-test")
    );
    let trails = c.describe_trails().await.unwrap();
    assert_eq!(trails[0].logging, Some(true));
}

#[tokio::test]
async fn cloudtrail_is_lazy_filtered_and_never_throttled() {
    let emu = claims();
    let c = cloud(&emu, 1);
    let first = c.lookup_events(None, None, None, None).await.unwrap();
    assert_eq!(first.events.len(), 50);
    assert!(
        first.next_token.is_some(),
        "more pages are fetched only on demand"
    );
    let times: Vec<_> = first.events.iter().map(|e| e.time.unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let filtered = c
        .lookup_events(
            Some(&EventFilter::EventSource("kms.amazonaws.com".into())),
            None,
            None,
            None,
        )
        .await
        .unwrap();
    assert!(!filtered.events.is_empty());
    assert!(
        filtered
            .events
            .iter()
            .all(|e| e.source == "kms.amazonaws.com")
    );

    // 6 pages back to back: the shared limiter keeps us under 2 requests/s (the emulator
    // enforces the quota with ThrottlingException, and retries are off here).
    let start = Instant::now();
    let events = c.lookup_events_up_to(None, 300).await.unwrap();
    assert_eq!(events.len(), 300);
    let ids: BTreeSet<_> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(ids.len(), 300);
    assert!(
        start.elapsed() >= Duration::from_millis(2400),
        "{:?}",
        start.elapsed()
    );
}

/// A FIFO queue's messages carry their message group (a system attribute the adapter asks for);
/// a standard queue's have none.
#[tokio::test]
async fn a_peek_of_a_fifo_queue_shows_each_message_group() {
    let emu = claims();
    let c = cloud(&emu, 1);
    let url = c
        .list_queue_urls(Some("claims-payment-dlq.fifo"))
        .await
        .unwrap()
        .remove(0);
    let messages = c.peek_messages(&url, 50).await.unwrap();
    assert!(!messages.is_empty());
    assert!(
        messages.iter().all(|m| m
            .group_id
            .as_deref()
            .is_some_and(|g| g.starts_with("provider-"))),
        "{:?}",
        messages.iter().map(|m| &m.group_id).collect::<Vec<_>>()
    );
    let url = c
        .list_queue_urls(Some("claims-notify-dlq"))
        .await
        .unwrap()
        .remove(0);
    let messages = c.peek_messages(&url, 5).await.unwrap();
    assert!(!messages.is_empty() && messages.iter().all(|m| m.group_id.is_none()));
}

#[tokio::test]
async fn peeking_pages_through_a_queue_and_gives_every_message_back() {
    let emu = claims();
    let c = cloud(&emu, 1);
    let url = c
        .list_queue_urls(Some("claims-notify-dlq"))
        .await
        .unwrap()
        .remove(0);
    let messages = c.peek_messages(&url, 50).await.unwrap();
    assert_eq!(
        messages.len(),
        25,
        "all 25 failed claims, past the 10 of one receive"
    );
    let ids: BTreeSet<_> = messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), 25);
    assert!(
        messages
            .iter()
            .all(|m| m.body.contains("SYNTHETIC") && m.receive_count >= 1)
    );
    assert!(
        messages.iter().any(|m| !m.attributes.is_empty()),
        "error attributes come along"
    );
    // Debug output never carries a body.
    assert!(!format!("{messages:?}").contains("SYNTHETIC"));
    // Every message is visible again for its consumers.
    let q = c.queue(&url).await.unwrap();
    assert_eq!((q.visible, q.in_flight), (25, 0));
    // A smaller peek stops early.
    assert_eq!(c.peek_messages(&url, 5).await.unwrap().len(), 5);
    assert_eq!(c.queue(&url).await.unwrap().in_flight, 0);
}

/// A message whose hide time ran out during a peek (here: a clock a million times faster, so
/// the 30 s hide is over before the next page) comes back on the next page. The peek stops
/// there instead of receiving it again and again: it ends, and no message's receive count rose
/// by more than the one page that brought it back.
#[tokio::test]
async fn a_peek_never_keeps_receiving_messages_that_came_back() {
    use phi_console::emulator::{ClockMode, Scenario};
    let emu = start(Scenario::Claims, ClockMode::Scaled(1e6));
    let c = cloud(&emu, 1);
    let url = c
        .list_queue_urls(Some("claims-notify-dlq"))
        .await
        .unwrap()
        .remove(0);
    let counts = || {
        emu.with_world(|w| {
            let q = w.sqs.queues.values().find(|q| q.url == url).unwrap();
            q.messages
                .iter()
                .map(|m| (m.id.clone(), m.receive_count))
                .collect::<std::collections::BTreeMap<_, _>>()
        })
    };
    let before = counts();
    let messages = tokio::time::timeout(Duration::from_secs(20), c.peek_messages(&url, 50))
        .await
        .expect("the peek kept receiving the same messages")
        .unwrap();
    let ids: BTreeSet<_> = messages.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids.len(), messages.len(), "each message shown once");
    let after = counts();
    for (id, n) in &before {
        let rose = after[id] - n;
        assert!(rose <= 2, "{id} was received {rose} times by one peek");
    }
}
