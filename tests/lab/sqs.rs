//! SQS through the real SDK: queues, attributes, messages, DLQs, FIFO, move tasks, faults.

use crate::common::*;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::wire::Service;
use std::collections::HashSet;
use std::time::Duration;

async fn queue_with_dlq(sqs: &Client, name: &str, max_receives: u32) -> (String, String, String) {
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .unwrap();
    let dlq_url = dlq.queue_url().unwrap().to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let dlq_arn = attrs.attributes().unwrap()[&QueueAttributeName::QueueArn].clone();
    let q = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            format!(r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":{max_receives}}}"#),
        )
        .attributes(QueueAttributeName::VisibilityTimeout, "30")
        .send()
        .await
        .unwrap();
    (q.queue_url().unwrap().to_string(), dlq_url, dlq_arn)
}

async fn count(sqs: &Client, url: &str, attr: QueueAttributeName) -> u64 {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(attr.clone())
        .send()
        .await
        .unwrap();
    a.attributes().unwrap()[&attr].parse().unwrap()
}

#[tokio::test]
async fn list_queues_pages_past_one_thousand() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    for i in 0..1105 {
        sqs.create_queue()
            .queue_name(format!("q-{i:05}"))
            .send()
            .await
            .unwrap();
    }
    sqs.create_queue().queue_name("other").send().await.unwrap();
    // Without MaxResults: at most 1,000 and no token.
    let first = sqs.list_queues().send().await.unwrap();
    assert_eq!(first.queue_urls().len(), 1000);
    assert!(first.next_token().is_none());
    // With MaxResults: follow tokens to the end, no duplicates, prefix respected.
    let mut seen = HashSet::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = sqs
            .list_queues()
            .queue_name_prefix("q-")
            .max_results(500)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        for u in page.queue_urls() {
            assert!(u.contains("/q-"));
            assert!(seen.insert(u.clone()), "duplicate {u}");
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 1105);
    assert_eq!(pages, 3);
    // The paginator agrees.
    let all: Vec<String> = sqs
        .list_queues()
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 1106);
}

#[tokio::test]
async fn attributes_tags_and_validation() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("claims-intake")
        .attributes(QueueAttributeName::KmsMasterKeyId, "alias/claims-transport")
        .tags("pipeline", "claims")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    assert_eq!(
        sqs.get_queue_url()
            .queue_name("claims-intake")
            .send()
            .await
            .unwrap()
            .queue_url(),
        Some(url.as_str())
    );
    let all = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let a = all.attributes().unwrap();
    assert_eq!(
        a[&QueueAttributeName::KmsMasterKeyId],
        "alias/claims-transport"
    );
    assert_eq!(a[&QueueAttributeName::VisibilityTimeout], "30");
    assert_eq!(a[&QueueAttributeName::ApproximateNumberOfMessages], "0");
    assert_eq!(
        a[&QueueAttributeName::QueueArn],
        "arn:aws:sqs:us-east-1:123456789012:claims-intake"
    );
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["pipeline"], "claims");

    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "120")
        .attributes(
            QueueAttributeName::RedriveAllowPolicy,
            r#"{"redrivePermission":"denyAll"}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        count(&sqs, &url, QueueAttributeName::VisibilityTimeout).await,
        120
    );

    let e = sqs
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "50000")
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("InvalidAttributeValue"), "{}", code(&e));

    // A DLQ whose RedriveAllowPolicy denies all cannot be targeted.
    let e = sqs
        .create_queue()
        .queue_name("source")
        .attributes(
            QueueAttributeName::RedrivePolicy,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:claims-intake","maxReceiveCount":3}"#,
        )
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("InvalidAttributeValue"), "{}", code(&e));

    // A queue that does not exist: typed error.
    let e = sqs
        .get_queue_attributes()
        .queue_url(format!("{}/123456789012/nope", emu.endpoint_url()))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .is_some_and(|s| s.is_queue_does_not_exist()),
        "{e:?}"
    );
}

#[tokio::test]
async fn visibility_receive_count_and_move_to_dlq() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let (url, dlq_url, _) = queue_with_dlq(&sqs, "claims-validation", 2).await;
    let sent = sqs
        .send_message()
        .queue_url(&url)
        .message_body("{\"claimId\":\"C-1\"}")
        .message_attributes(
            "errorCode",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("E42")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some("6e71cf366e40270e2fbc34b0fe9a8d76")
    );

    for attempt in 1..=2 {
        let r = sqs
            .receive_message()
            .queue_url(&url)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let m = &r.messages()[0];
        assert_eq!(m.message_id(), sent.message_id());
        assert_eq!(
            m.attributes().unwrap()[&MessageSystemAttributeName::ApproximateReceiveCount],
            attempt.to_string()
        );
        assert_eq!(
            m.message_attributes().unwrap()["errorCode"].string_value(),
            Some("E42")
        );
        // While in flight it is invisible.
        assert!(
            sqs.receive_message()
                .queue_url(&url)
                .send()
                .await
                .unwrap()
                .messages()
                .is_empty()
        );
        assert_eq!(
            count(
                &sqs,
                &url,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible
            )
            .await,
            1
        );
        emu.advance(Duration::from_secs(31));
    }
    // The third receive finds it exhausted: it moved to the DLQ.
    assert!(
        sqs.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    assert_eq!(
        count(
            &sqs,
            &dlq_url,
            QueueAttributeName::ApproximateNumberOfMessages
        )
        .await,
        1
    );
    let r = sqs
        .receive_message()
        .queue_url(&dlq_url)
        .message_system_attribute_names(MessageSystemAttributeName::DeadLetterQueueSourceArn)
        .send()
        .await
        .unwrap();
    let m = &r.messages()[0];
    assert_eq!(
        m.attributes().unwrap()[&MessageSystemAttributeName::DeadLetterQueueSourceArn],
        "arn:aws:sqs:us-east-1:123456789012:claims-validation"
    );
    // Delete, change visibility of a deleted message, and the DLQ source listing.
    sqs.delete_message()
        .queue_url(&dlq_url)
        .receipt_handle(m.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    let e = sqs
        .change_message_visibility()
        .queue_url(&dlq_url)
        .receipt_handle(m.receipt_handle().unwrap())
        .visibility_timeout(10)
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("MessageNotInflight"), "{}", code(&e));
    let sources = sqs
        .list_dead_letter_source_queues()
        .queue_url(&dlq_url)
        .send()
        .await
        .unwrap();
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&url));
    let e = sqs
        .delete_message()
        .queue_url(&dlq_url)
        .receipt_handle("garbage")
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("ReceiptHandleIsInvalid"), "{}", code(&e));
}

#[tokio::test]
async fn delay_and_change_visibility() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("d")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    sqs.send_message()
        .queue_url(&url)
        .message_body("later")
        .delay_seconds(60)
        .send()
        .await
        .unwrap();
    assert_eq!(
        count(
            &sqs,
            &url,
            QueueAttributeName::ApproximateNumberOfMessagesDelayed
        )
        .await,
        1
    );
    assert!(
        sqs.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    emu.advance(Duration::from_secs(61));
    let r = sqs.receive_message().queue_url(&url).send().await.unwrap();
    let rh = r.messages()[0].receipt_handle().unwrap().to_string();
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&rh)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    assert_eq!(
        sqs.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .len(),
        1
    );
}

#[tokio::test]
async fn fifo_order_groups_and_deduplication() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("claims-payment.fifo")
        .attributes(QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let e = sqs
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .message_group_id("g")
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("InvalidParameterValue"), "{}", code(&e));
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = sqs
            .send_message()
            .queue_url(&url)
            .message_body(format!("a{i}"))
            .message_group_id("A")
            .message_deduplication_id(format!("a{i}"))
            .send()
            .await
            .unwrap();
        assert!(r.sequence_number().is_some());
        ids.push(r.message_id().unwrap().to_string());
    }
    // Same dedup id within 5 minutes: same message id, not enqueued twice.
    let dup = sqs
        .send_message()
        .queue_url(&url)
        .message_body("a0 again")
        .message_group_id("A")
        .message_deduplication_id("a0")
        .send()
        .await
        .unwrap();
    assert_eq!(dup.message_id(), Some(ids[0].as_str()));
    sqs.send_message()
        .queue_url(&url)
        .message_body("b0")
        .message_group_id("B")
        .message_deduplication_id("b0")
        .send()
        .await
        .unwrap();
    let r = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = r.messages().iter().map(|m| m.body().unwrap()).collect();
    assert_eq!(bodies, ["a0", "a1", "a2"]);
    // Group A is in flight: only B is available.
    let r2 = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = r2.messages().iter().map(|m| m.body().unwrap()).collect();
    assert_eq!(bodies, ["b0"]);
    assert!(
        sqs.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
}

#[tokio::test]
async fn batches_and_partial_failures() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("b")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let entries: Vec<_> = (0..10)
        .map(|i| {
            SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(format!("body {i}"))
                .build()
                .unwrap()
        })
        .collect();
    let r = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(entries.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.successful().len(), 10);
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some([entries.clone(), entries[..1].to_vec()].concat()))
        .send()
        .await
        .unwrap_err();
    assert!(
        code(&e).contains("TooManyEntriesInBatchRequest"),
        "{}",
        code(&e)
    );
    let e = sqs
        .send_message_batch()
        .queue_url(&url)
        .set_entries(Some(vec![entries[0].clone(), entries[0].clone()]))
        .send()
        .await
        .unwrap_err();
    assert!(
        code(&e).contains("BatchEntryIdsNotDistinct"),
        "{}",
        code(&e)
    );

    let got = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let dels: Vec<_> = got
        .messages()
        .iter()
        .enumerate()
        .map(|(i, m)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().unwrap())
                .build()
                .unwrap()
        })
        .collect();
    assert_eq!(dels.len(), 10);

    // Injected partial failure: every entry fails, each reported in Failed, none lost.
    emu.add_fault(FaultRule::for_op(Service::Sqs, "DeleteMessageBatch").batch_failures(1.0));
    let r = sqs
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(dels.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.failed().len(), 10);
    assert!(
        r.failed()
            .iter()
            .all(|f| !f.sender_fault() && f.code() == "InternalError")
    );
    emu.clear_faults();
    let r = sqs
        .delete_message_batch()
        .queue_url(&url)
        .set_entries(Some(dels))
        .send()
        .await
        .unwrap();
    assert_eq!(r.successful().len(), 10);
    assert_eq!(
        count(
            &sqs,
            &url,
            QueueAttributeName::ApproximateNumberOfMessagesNotVisible
        )
        .await,
        0
    );
}

#[tokio::test]
async fn message_move_task_progresses_over_emulated_time() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let (url, dlq_url, dlq_arn) = queue_with_dlq(&sqs, "claims-fraud-check", 1).await;
    // Put 100 messages in the DLQ the real way: receive once, let the timeout lapse, receive again.
    for chunk in 0..10 {
        let entries: Vec<_> = (0..10)
            .map(|i| {
                SendMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .message_body(format!("claim {chunk}-{i}"))
                    .build()
                    .unwrap()
            })
            .collect();
        sqs.send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
    while !sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages()
        .is_empty()
    {}
    emu.advance(Duration::from_secs(31));
    assert!(
        sqs.receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    assert_eq!(
        count(
            &sqs,
            &dlq_url,
            QueueAttributeName::ApproximateNumberOfMessages
        )
        .await,
        100
    );

    // Rate bound and source must be a DLQ.
    let e = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(501)
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("InvalidParameterValue"), "{}", code(&e));
    // The source queue exists (it has the redrive policy) but is nobody's DLQ: refused as such,
    // not as a missing queue.
    let src_arn = "arn:aws:sqs:us-east-1:123456789012:claims-fraud-check";
    let a = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        a.attributes().unwrap()[&QueueAttributeName::QueueArn],
        src_arn,
        "the source queue exists"
    );
    let e = sqs
        .start_message_move_task()
        .source_arn(src_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterValue", "{e:?}");
    assert_eq!(
        aws_sdk_sqs::error::ProvideErrorMetadata::message(e.as_service_error().unwrap()),
        Some("Source queue must be configured as a Dead Letter Queue."),
        "{e:?}"
    );

    let task = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(10)
        .send()
        .await
        .unwrap();
    let handle = task.task_handle().unwrap().to_string();
    // One active task per source.
    let e = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("UnsupportedOperation"), "{}", code(&e));

    emu.advance(Duration::from_secs(3));
    let l = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    let r = &l.results()[0];
    assert_eq!(r.status(), Some("RUNNING"));
    assert_eq!(r.approximate_number_of_messages_to_move(), Some(100));
    assert_eq!(r.approximate_number_of_messages_moved(), 30);
    assert_eq!(
        count(&sqs, &url, QueueAttributeName::ApproximateNumberOfMessages).await,
        30
    );

    emu.advance(Duration::from_secs(10));
    let l = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(l.results()[0].status(), Some("COMPLETED"));
    assert_eq!(l.results()[0].approximate_number_of_messages_moved(), 100);
    assert_eq!(
        count(
            &sqs,
            &dlq_url,
            QueueAttributeName::ApproximateNumberOfMessages
        )
        .await,
        0
    );
    assert_eq!(
        count(&sqs, &url, QueueAttributeName::ApproximateNumberOfMessages).await,
        100
    );
    // Redriven messages get new ids on the destination and can be received.
    let back = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(back.messages().len(), 10);

    // Cancel: a finished task cannot be cancelled; a running one can.
    let e = sqs
        .cancel_message_move_task()
        .task_handle(&handle)
        .send()
        .await
        .unwrap_err();
    assert!(code(&e).contains("UnsupportedOperation"), "{}", code(&e));
}

#[tokio::test]
async fn cancel_a_running_move_task() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    let (url, dlq_url, dlq_arn) = queue_with_dlq(&sqs, "claims-notify", 1).await;
    for i in 0..20 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("n{i}"))
            .send()
            .await
            .unwrap();
    }
    while !sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap()
        .messages()
        .is_empty()
    {}
    emu.advance(Duration::from_secs(31));
    sqs.receive_message().queue_url(&url).send().await.unwrap();
    let t = sqs
        .start_message_move_task()
        .source_arn(&dlq_arn)
        .max_number_of_messages_per_second(1)
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(5));
    let c = sqs
        .cancel_message_move_task()
        .task_handle(t.task_handle().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(c.approximate_number_of_messages_moved(), 5);
    emu.advance(Duration::from_secs(30));
    let l = sqs
        .list_message_move_tasks()
        .source_arn(&dlq_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(l.results()[0].status(), Some("CANCELLED"));
    assert_eq!(
        count(
            &sqs,
            &dlq_url,
            QueueAttributeName::ApproximateNumberOfMessages
        )
        .await,
        15
    );
}

#[tokio::test]
async fn throttling_and_server_errors_are_typed_and_retried() {
    let emu = empty();
    let sqs = Client::new(&config(&emu));
    sqs.create_queue().queue_name("t").send().await.unwrap();
    emu.add_fault(FaultRule::for_op(Service::Sqs, "ListQueues").throttle(0.001, 1.0));
    sqs.list_queues().send().await.unwrap();
    let e = sqs.list_queues().send().await.unwrap_err();
    assert_eq!(code(&e), "RequestThrottled");
    emu.clear_faults();

    // A 503 on the first call is retried by a retrying client and succeeds.
    emu.add_fault(FaultRule::for_op(Service::Sqs, "ListQueues").fail_nth(1, 503));
    let retrying = Client::new(&config_retrying(&emu, 3));
    let before = emu.request_count();
    assert_eq!(
        retrying
            .list_queues()
            .send()
            .await
            .unwrap()
            .queue_urls()
            .len(),
        1
    );
    assert_eq!(emu.request_count() - before, 2);
}

#[tokio::test]
async fn long_polling_waits_for_a_message() {
    let emu = start(
        phi_console::emulator::Scenario::Empty,
        phi_console::emulator::ClockMode::Real,
    );
    let sqs = Client::new(&config(&emu));
    let url = sqs
        .create_queue()
        .queue_name("lp")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    // The receive goes first; the message is sent once the receive has reached the emulator
    // (waited for, not slept for), so the receive can only return it by waiting.
    let before = emu.request_count();
    let receiver = sqs.clone();
    let u2 = url.clone();
    let t = tokio::spawn(async move {
        let started = std::time::Instant::now();
        let r = receiver
            .receive_message()
            .queue_url(&u2)
            .wait_time_seconds(20)
            .send()
            .await
            .unwrap();
        (r, started.elapsed())
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while emu.request_count() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the receive never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sqs.send_message()
        .queue_url(&url)
        .message_body("late")
        .send()
        .await
        .unwrap();
    let (r, took) = t.await.unwrap();
    assert_eq!(r.messages().len(), 1);
    assert_eq!(r.messages()[0].body(), Some("late"));
    assert!(
        took < Duration::from_secs(20),
        "answered when the message came: {took:?}"
    );
}
