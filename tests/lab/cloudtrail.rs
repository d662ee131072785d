//! CloudTrail through the real SDK: trails, LookupEvents paging/filters/quota, and the events
//! the emulator records for the calls it serves (with SourceIdentity and MFA).

use crate::common::*;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use std::time::Duration;

/// Makes a LookupEvents call, waiting out the emulator's 2 requests/s quota (a wall-clock token
/// bucket) by retrying while it answers ThrottlingException, up to a deadline: the test waits
/// for the condition, not for a fixed time, and any other answer is returned at once.
async fn when_allowed<T, E, R, F, Fut>(mut call: F) -> Result<T, SdkError<E, R>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = call().await;
        match &r {
            Err(e) if code(e) == "ThrottlingException" => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "LookupEvents still throttled after 30 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            _ => return r,
        }
    }
}

#[tokio::test]
async fn mutating_calls_are_recorded_with_source_identity() {
    let emu = empty();
    let (serial, seed) = mfa_user(&emu, "dana", "AKIADANA");
    let role_arn = emu.with_world(|w| w.add_role("ClaimsOperator", 3600, true).arn);
    let sts = aws_sdk_sts::Client::new(&config_with(&emu, "AKIADANA", "s", None));
    let out = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("dana")
        .source_identity("dana")
        .serial_number(&serial)
        .token_code(code_now(&emu, &seed))
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    let cfg = config_with(
        &emu,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
    );
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let created = sqs
        .create_queue()
        .queue_name("audited")
        .send()
        .await
        .unwrap();
    // Data events and reads are not recorded as management events.
    sqs.send_message()
        .queue_url(created.queue_url().unwrap())
        .message_body("phi")
        .send()
        .await
        .unwrap();

    let ct = aws_sdk_cloudtrail::Client::new(&config(&emu));
    let ev = ct
        .lookup_events()
        .lookup_attributes(
            LookupAttribute::builder()
                .attribute_key(LookupAttributeKey::EventName)
                .attribute_value("CreateQueue")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ev.events().len(), 1);
    let e = &ev.events()[0];
    assert_eq!(e.event_source(), Some("sqs.amazonaws.com"));
    assert_eq!(e.read_only(), Some("false"));
    assert_eq!(e.username(), Some("dana"));
    assert!(
        e.resources()
            .iter()
            .any(|r| r.resource_name() == Some("arn:aws:sqs:us-east-1:123456789012:audited"))
    );
    let record: serde_json::Value = serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap();
    assert_eq!(record["userIdentity"]["type"], "AssumedRole");
    assert_eq!(
        record["userIdentity"]["sessionContext"]["sourceIdentity"],
        "dana"
    );
    assert_eq!(
        record["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"],
        "true"
    );
    assert_eq!(
        record["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"],
        role_arn
    );
    assert_eq!(record["requestParameters"]["queueName"], "audited");
    assert_eq!(record["eventName"], "CreateQueue");
    let sends = when_allowed(|| {
        ct.lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::EventName)
                    .attribute_value("SendMessage")
                    .build()
                    .unwrap(),
            )
            .send()
    })
    .await
    .unwrap();
    assert!(sends.events().is_empty());
    // The AssumeRole itself is there, attributable to the user.
    let ar = when_allowed(|| {
        ct.lookup_events()
            .lookup_attributes(
                LookupAttribute::builder()
                    .attribute_key(LookupAttributeKey::EventName)
                    .attribute_value("AssumeRole")
                    .build()
                    .unwrap(),
            )
            .send()
    })
    .await
    .unwrap();
    assert_eq!(ar.events()[0].username(), Some("dana"));
}

#[tokio::test]
async fn lookup_pages_newest_first_filters_and_enforces_quota() {
    let emu = empty();
    let cfg = config(&emu);
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    for i in 0..120 {
        sqs.create_queue()
            .queue_name(format!("q{i:03}"))
            .send()
            .await
            .unwrap();
        emu.advance(Duration::from_secs(1));
    }
    let ct = aws_sdk_cloudtrail::Client::new(&cfg);
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = when_allowed(|| {
            ct.lookup_events()
                .max_results(50)
                .set_next_token(token.clone())
                .send()
        })
        .await
        .unwrap();
        pages += 1;
        for e in page.events() {
            let rec: serde_json::Value =
                serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap();
            names.push(
                rec["requestParameters"]["queueName"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 120);
    assert_eq!(names[0], "q119");
    assert_eq!(names[119], "q000");

    // Time window: only the last 10 seconds.
    let now = emu.clock().now();
    let recent = when_allowed(|| {
        ct.lookup_events()
            .start_time(aws_smithy_types::DateTime::from_secs(now.timestamp() - 10))
            .send()
    })
    .await
    .unwrap();
    assert!(
        (9..=11).contains(&recent.events().len()),
        "{}",
        recent.events().len()
    );

    // More than one attribute is refused; a bad token is refused.
    let a = LookupAttribute::builder()
        .attribute_key(LookupAttributeKey::ReadOnly)
        .attribute_value("false")
        .build()
        .unwrap();
    let e = when_allowed(|| {
        ct.lookup_events()
            .lookup_attributes(a.clone())
            .lookup_attributes(a.clone())
            .send()
    })
    .await
    .unwrap_err();
    assert_eq!(code(&e), "InvalidLookupAttributesException");
    let e = when_allowed(|| ct.lookup_events().next_token("garbage").send())
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidNextTokenException");

    // The quota: the bucket is wall-clock, so a burst at 2 requests/s can refill on a loaded
    // machine. At a rate no burst can refill (one token a million seconds), one call empties
    // the bucket and every call after it is throttled, whatever the machine's speed.
    assert_eq!(
        emu.with_world(|w| w.trail.lookup_rate),
        2.0,
        "the default quota is 2 requests/s"
    );
    emu.with_world(|w| w.trail.lookup_rate = 1e-6);
    let _ = ct.lookup_events().max_results(1).send().await;
    for i in 0..4 {
        let e = ct
            .lookup_events()
            .max_results(1)
            .send()
            .await
            .expect_err(&format!("call {i} of the burst was not throttled"));
        assert_eq!(code(&e), "ThrottlingException");
        assert_eq!(
            e.as_service_error().and_then(|e| e.message()),
            Some("Rate exceeded")
        );
    }
    // Back at 2 requests/s the bucket refills: a call is allowed again.
    emu.with_world(|w| w.trail.lookup_rate = 2.0);
    let page = when_allowed(|| ct.lookup_events().max_results(1).send())
        .await
        .unwrap();
    assert_eq!(page.events().len(), 1);
}

#[tokio::test]
async fn trails_and_status() {
    let emu = empty();
    emu.with_world(|w| {
        w.trail
            .trails
            .push(phi_console::emulator::services::cloudtrail::Trail {
                name: "claims-trail".into(),
                arn: "arn:aws:cloudtrail:us-east-1:123456789012:trail/claims-trail".into(),
                bucket: "claims-trail-logs".into(),
                kms_key_id: None,
                multi_region: true,
                log_file_validation: true,
                is_logging: true,
                started: chrono::Utc::now(),
            })
    });
    let ct = aws_sdk_cloudtrail::Client::new(&config(&emu));
    let t = ct.describe_trails().send().await.unwrap();
    assert_eq!(t.trail_list()[0].name(), Some("claims-trail"));
    assert_eq!(t.trail_list()[0].log_file_validation_enabled(), Some(true));
    let s = ct
        .get_trail_status()
        .name("claims-trail")
        .send()
        .await
        .unwrap();
    assert_eq!(s.is_logging(), Some(true));
    let e = ct.get_trail_status().name("nope").send().await.unwrap_err();
    assert_eq!(code(&e), "TrailNotFoundException");
}
