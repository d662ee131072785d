//! SNS through the real SDK: topics, paging, subscriptions, fan-out to SQS, data protection.

use crate::common::*;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let a = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    (
        url,
        a.attributes().unwrap()[&QueueAttributeName::QueueArn].clone(),
    )
}

#[tokio::test]
async fn topics_page_and_describe() {
    let emu = empty();
    let sns = aws_sdk_sns::Client::new(&config(&emu));
    for i in 0..230 {
        sns.create_topic()
            .name(format!("t-{i:03}"))
            .send()
            .await
            .unwrap();
    }
    let topics: Vec<_> = sns
        .list_topics()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(topics.len(), 230);
    let mut arns: Vec<_> = topics
        .iter()
        .map(|t| t.topic_arn().unwrap().to_string())
        .collect();
    arns.dedup();
    assert_eq!(arns.len(), 230);
    let a = sns
        .get_topic_attributes()
        .topic_arn(&arns[0])
        .send()
        .await
        .unwrap();
    assert_eq!(a.attributes().unwrap()["TopicArn"], arns[0]);
    assert_eq!(a.attributes().unwrap()["Owner"], "123456789012");
    let e = sns
        .get_topic_attributes()
        .topic_arn("arn:aws:sns:us-east-1:123456789012:nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFound");
    assert!(e.as_service_error().unwrap().is_not_found_exception());
}

#[tokio::test]
async fn publish_fans_out_raw_and_envelope_with_filters() {
    let emu = empty();
    let cfg = config(&emu);
    let sns = aws_sdk_sns::Client::new(&cfg);
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let topic = sns
        .create_topic()
        .name("claims-validated")
        .attributes("KmsMasterKeyId", "alias/claims-transport")
        .tags(
            aws_sdk_sns::types::Tag::builder()
                .key("pipeline")
                .value("claims")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let (raw_url, raw_arn) = queue(&sqs, "raw").await;
    let (env_url, env_arn) = queue(&sqs, "env").await;
    let (filt_url, filt_arn) = queue(&sqs, "filtered").await;
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&raw_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&env_arn)
        .send()
        .await
        .unwrap();
    let sub = sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&filt_arn)
        .attributes("FilterPolicy", r#"{"stage":["fraud-check"]}"#)
        .send()
        .await
        .unwrap();
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(subs.subscriptions().len(), 3);
    let sa = sns
        .get_subscription_attributes()
        .subscription_arn(sub.subscription_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        sa.attributes().unwrap()["FilterPolicy"],
        r#"{"stage":["fraud-check"]}"#
    );

    let attr = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("payment")
        .build()
        .unwrap();
    let pubd = sns
        .publish()
        .topic_arn(&topic)
        .message("{\"claimId\":\"C-9\"}")
        .subject("claim")
        .message_attributes("stage", attr)
        .send()
        .await
        .unwrap();

    let raw = sqs
        .receive_message()
        .queue_url(&raw_url)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.messages()[0].body(), Some("{\"claimId\":\"C-9\"}"));
    assert_eq!(
        raw.messages()[0].message_attributes().unwrap()["stage"].string_value(),
        Some("payment")
    );
    let env = sqs
        .receive_message()
        .queue_url(&env_url)
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(env.messages()[0].body().unwrap()).unwrap();
    assert_eq!(v["Type"], "Notification");
    assert_eq!(v["MessageId"], pubd.message_id().unwrap());
    assert_eq!(v["Message"], "{\"claimId\":\"C-9\"}");
    assert_eq!(v["MessageAttributes"]["stage"]["Value"], "payment");
    // The filter policy dropped it …
    assert!(
        sqs.receive_message()
            .queue_url(&filt_url)
            .send()
            .await
            .unwrap()
            .messages()
            .is_empty()
    );
    // … and delivers a message that matches it.
    let fraud = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("fraud-check")
        .build()
        .unwrap();
    sns.publish()
        .topic_arn(&topic)
        .message("{\"claimId\":\"C-10\"}")
        .message_attributes("stage", fraud)
        .send()
        .await
        .unwrap();
    let got = sqs
        .receive_message()
        .queue_url(&filt_url)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 1, "{got:?}");
    let v: serde_json::Value = serde_json::from_str(got.messages()[0].body().unwrap()).unwrap();
    assert_eq!(v["Message"], "{\"claimId\":\"C-10\"}");

    let tags = sns
        .list_tags_for_resource()
        .resource_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].key(), "pipeline");
}

#[tokio::test]
async fn data_protection_policy_roundtrip() {
    let emu = empty();
    let sns = aws_sdk_sns::Client::new(&config(&emu));
    let topic = sns
        .create_topic()
        .name("claims-intake")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let none = sns
        .get_data_protection_policy()
        .resource_arn(&topic)
        .send()
        .await
        .unwrap();
    assert!(none.data_protection_policy().is_none());
    let policy = r#"{"Name":"phi","Description":"","Version":"2021-06-01","Statement":[{"Sid":"deny-phi","DataDirection":"Inbound","Principal":["*"],"DataIdentifier":["arn:aws:dataprotection::aws:data-identifier/NameEN"],"Operation":{"Deny":{}}}]}"#;
    sns.put_data_protection_policy()
        .resource_arn(&topic)
        .data_protection_policy(policy)
        .send()
        .await
        .unwrap();
    let got = sns
        .get_data_protection_policy()
        .resource_arn(&topic)
        .send()
        .await
        .unwrap();
    assert_eq!(got.data_protection_policy(), Some(policy));
    let e = sns
        .put_data_protection_policy()
        .resource_arn(&topic)
        .data_protection_policy("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameter");
}

/// One subscription per filter-policy operator the emulator supports (exact string, number,
/// `prefix`, `exists` true and false, `anything-but`): each queue gets exactly the messages its
/// policy matches, so a policy that dropped everything or nothing fails.
#[tokio::test]
async fn each_filter_policy_operator_delivers_what_matches_and_drops_the_rest() {
    let emu = empty();
    let cfg = config(&emu);
    let sns = aws_sdk_sns::Client::new(&cfg);
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let topic = sns
        .create_topic()
        .name("claims-filtered")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let policies = [
        ("exact", r#"{"stage":["fraud-check"]}"#, vec!["m1"]),
        ("number", r#"{"amount":[42]}"#, vec!["m1"]),
        (
            "prefix",
            r#"{"stage":[{"prefix":"fraud-"}]}"#,
            vec!["m1", "m4"],
        ),
        (
            "exists",
            r#"{"stage":[{"exists":true}]}"#,
            vec!["m1", "m2", "m4"],
        ),
        ("absent", r#"{"stage":[{"exists":false}]}"#, vec!["m3"]),
        (
            "anything-but",
            r#"{"stage":[{"anything-but":["payment"]}]}"#,
            vec!["m1", "m4"],
        ),
    ];
    let mut urls = Vec::new();
    for (name, policy, _) in &policies {
        let (url, arn) = queue(&sqs, name).await;
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&arn)
            .attributes("FilterPolicy", *policy)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        urls.push(url);
    }
    let attr = |t: &str, v: &str| {
        MessageAttributeValue::builder()
            .data_type(t)
            .string_value(v)
            .build()
            .unwrap()
    };
    for (body, stage, amount) in [
        ("m1", Some("fraud-check"), Some("42")),
        ("m2", Some("payment"), Some("7")),
        ("m3", None, None),
        ("m4", Some("fraud-review"), None),
    ] {
        let mut p = sns.publish().topic_arn(&topic).message(body);
        if let Some(s) = stage {
            p = p.message_attributes("stage", attr("String", s));
        }
        if let Some(a) = amount {
            p = p.message_attributes("amount", attr("Number", a));
        }
        p.send().await.unwrap();
    }
    for ((name, policy, expected), url) in policies.iter().zip(&urls) {
        let r = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let mut got: Vec<&str> = r.messages().iter().filter_map(|m| m.body()).collect();
        got.sort();
        assert_eq!(&got, expected, "{name}: {policy}");
    }
}
