//! The awsQuery protocol as older SDKs and hand-written clients send it: parameters in the URL
//! (GET, or a POST with an empty body), in a form body, or both; SigV4 in the `Authorization`
//! header over the canonical query string, or presigned-style in the URL. Requests are signed
//! with the `aws-sigv4` crate and sent over plain HTTP/1.1; every request carries STS-issued
//! session credentials, whose signatures the emulator verifies. Results are compared with what
//! the SDK (awsJson for SQS) sees.

use crate::common::*;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use md5::{Digest, Md5};
use phi_console::emulator::Emulator;
use std::time::{Duration, SystemTime};

const SQS_VERSION: &str = "2012-11-05";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Session credentials issued by the emulator's STS (their signatures are verified).
#[derive(Clone)]
struct Creds {
    ak: String,
    sk: String,
    token: String,
}

async fn session(emu: &Emulator) -> Creds {
    let (serial, seed) = mfa_user(emu, "querier", "AKIAQUERIER");
    let sts = aws_sdk_sts::Client::new(&config_with(emu, "AKIAQUERIER", "s", None));
    let out = sts
        .get_session_token()
        .serial_number(serial)
        .token_code(code_now(emu, &seed))
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    Creds {
        ak: c.access_key_id().to_string(),
        sk: c.secret_access_key().to_string(),
        token: c.session_token().to_string(),
    }
}

/// A request to sign: method, path with query string, body, and where the signature goes.
struct Req<'a> {
    method: &'a str,
    path_and_query: String,
    body: String,
    service: &'a str,
    presigned: bool,
}

fn get(service: &'static str, query: &str) -> Req<'static> {
    Req {
        method: "GET",
        path_and_query: format!("/?{query}"),
        body: String::new(),
        service,
        presigned: false,
    }
}

fn post(service: &'static str, query: &str, body: &str) -> Req<'static> {
    Req {
        method: "POST",
        path_and_query: if query.is_empty() {
            "/".to_string()
        } else {
            format!("/?{query}")
        },
        body: body.to_string(),
        service,
        presigned: false,
    }
}

/// Signs `req` for the emulator at its current (manual) time; returns the request to send.
fn signed(emu: &Emulator, creds: &Creds, req: &Req) -> http::Request<String> {
    let url = format!("{}{}", emu.endpoint_url(), req.path_and_query);
    let host = emu.endpoint_url().trim_start_matches("http://").to_string();
    let mut builder = http::Request::builder()
        .method(req.method)
        .uri(&url)
        .header("host", &host);
    if !req.body.is_empty() || req.method == "POST" {
        builder = builder.header("content-type", FORM);
    }
    let mut request = builder.body(req.body.clone()).unwrap();
    let identity = aws_credential_types::Credentials::new(
        &creds.ak,
        &creds.sk,
        Some(creds.token.clone()),
        None,
        "query-wire-test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if req.presigned {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
    }
    let time: SystemTime = emu.clock().now().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name(req.service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let signable = SignableRequest::new(
        req.method,
        &url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(req.body.as_bytes()),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    instructions.apply_to_request_http1x(&mut request);
    request
}

/// Sends one request over a fresh connection; returns (status, body).
async fn send(emu: &Emulator, req: &http::Request<String>) -> (u16, String) {
    send_to(emu, req, req.uri().path_and_query().unwrap().as_str()).await
}

/// Sends `req` with `target` as its request target.
async fn send_to(emu: &Emulator, req: &http::Request<String>, target: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = emu.endpoint_url().trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut raw = format!(
        "{} {target} HTTP/1.1\r\nConnection: close\r\n",
        req.method()
    );
    for (k, v) in req.headers() {
        raw.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap()));
    }
    raw.push_str(&format!("Content-Length: {}\r\n\r\n", req.body().len()));
    raw.push_str(req.body());
    s.write_all(raw.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

async fn call(emu: &Emulator, creds: &Creds, req: &Req<'_>) -> (u16, String) {
    send(emu, &signed(emu, creds, req)).await
}

/// Every `<tag>…</tag>` text in `xml`, unescaped (the emulator's XML has no attributes on
/// these elements and no nesting of a tag in itself).
fn texts(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(
            after[..j]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &after[j + close.len()..];
    }
    out
}

fn text(xml: &str, tag: &str) -> String {
    texts(xml, tag)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// (status, `<Type>`, `<Code>`) of an awsQuery error, after checking its envelope.
fn query_error(status: u16, body: &str) -> (u16, String, String) {
    assert!(
        body.starts_with("<ErrorResponse xmlns="),
        "not an ErrorResponse: {body}"
    );
    assert!(!text(body, "RequestId").is_empty());
    (status, text(body, "Type"), text(body, "Code"))
}

async fn sdk_queue_urls(emu: &Emulator, prefix: Option<&str>) -> Vec<String> {
    let sqs = aws_sdk_sqs::Client::new(&config(emu));
    let mut urls = sqs
        .list_queues()
        .set_queue_name_prefix(prefix.map(str::to_string))
        .send()
        .await
        .unwrap()
        .queue_urls()
        .to_vec();
    urls.sort();
    urls
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn sqs_list_queues_with_parameters_in_the_url_matches_the_sdk() {
    let emu = claims();
    let creds = session(&emu).await;
    let expected = sdk_queue_urls(&emu, None).await;
    assert!(
        expected.len() >= 10,
        "the claims scenario has its stage queues and DLQs"
    );
    let list = format!("Action=ListQueues&Version={SQS_VERSION}");

    // GET with every parameter in the URL.
    let (status, body) = call(&emu, &creds, &get("sqs", &list)).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.starts_with(
            "<ListQueuesResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><ListQueuesResult>"
        ),
        "{body}"
    );
    assert!(!text(&body, "RequestId").is_empty());
    assert_eq!(sorted(texts(&body, "QueueUrl")), expected);

    // POST with the parameters in the URL and an empty body (what taws sends).
    let (status, body) = call(&emu, &creds, &post("sqs", &list, "")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sorted(texts(&body, "QueueUrl")), expected);

    // The same in a form body.
    let (status, body) = call(&emu, &creds, &post("sqs", "", &list)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sorted(texts(&body, "QueueUrl")), expected);

    // Presigned-style: the signature itself in the URL.
    let mut req = get("sqs", &list);
    req.presigned = true;
    let request = signed(&emu, &creds, &req);
    let target = request.uri().query().unwrap().to_string();
    assert!(target.contains("X-Amz-Signature=") && target.contains("X-Amz-Security-Token="));
    assert!(request.headers().get("authorization").is_none());
    let (status, body) = send(&emu, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sorted(texts(&body, "QueueUrl")), expected);

    // A prefix narrows the list exactly as it does for the SDK.
    let (status, body) = call(
        &emu,
        &creds,
        &get("sqs", &format!("{list}&QueueNamePrefix=claims-payment")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let narrowed = sorted(texts(&body, "QueueUrl"));
    assert_eq!(narrowed, sdk_queue_urls(&emu, Some("claims-payment")).await);
    assert_eq!(narrowed.len(), 2, "{narrowed:?}");
}

#[tokio::test]
async fn parameters_in_both_the_url_and_the_body_merge_and_the_url_wins() {
    let emu = claims();
    let creds = session(&emu).await;
    // Action in the URL, the rest in the body.
    let (status, body) = call(
        &emu,
        &creds,
        &post(
            "sqs",
            &format!("Action=ListQueues&Version={SQS_VERSION}"),
            "QueueNamePrefix=claims-notify",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sorted(texts(&body, "QueueUrl")),
        sdk_queue_urls(&emu, Some("claims-notify")).await
    );
    // A name in both places: the URL's value is the one used.
    let (status, body) = call(
        &emu,
        &creds,
        &post(
            "sqs",
            &format!("Action=ListQueues&Version={SQS_VERSION}&QueueNamePrefix=claims-intake"),
            "Action=ListQueues&QueueNamePrefix=claims-notify",
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let urls = sorted(texts(&body, "QueueUrl"));
    assert_eq!(urls, sdk_queue_urls(&emu, Some("claims-intake")).await);
    assert!(
        urls.iter().all(|u| u.contains("/claims-intake")),
        "{urls:?}"
    );
}

#[tokio::test]
async fn a_signature_over_a_tampered_query_is_refused_in_the_query_error_shape() {
    let emu = claims();
    let creds = session(&emu).await;
    let list = format!("Action=ListQueues&Version={SQS_VERSION}&QueueNamePrefix=claims-intake");

    // Header signature, then a parameter changed in the URL.
    let mut request = signed(&emu, &creds, &get("sqs", &list));
    let tampered = request.uri().to_string().replace(
        "QueueNamePrefix=claims-intake",
        "QueueNamePrefix=claims-notify",
    );
    *request.uri_mut() = tampered.parse().unwrap();
    let (status, body) = send(&emu, &request).await;
    assert_eq!(
        query_error(status, &body),
        (403, "Sender".into(), "SignatureDoesNotMatch".into()),
        "{body}"
    );
    assert!(texts(&body, "QueueUrl").is_empty());

    // A parameter added to the URL after signing.
    let mut request = signed(&emu, &creds, &post("sqs", &list, ""));
    let added = format!("{}&MaxResults=1", request.uri());
    *request.uri_mut() = added.parse().unwrap();
    let (status, body) = send(&emu, &request).await;
    assert_eq!(
        query_error(status, &body).2,
        "SignatureDoesNotMatch",
        "{body}"
    );

    // Presigned, with a parameter changed.
    let mut req = get("sqs", &list);
    req.presigned = true;
    let mut request = signed(&emu, &creds, &req);
    let tampered = request
        .uri()
        .to_string()
        .replace("claims-intake", "claims-notify");
    *request.uri_mut() = tampered.parse().unwrap();
    let (status, body) = send(&emu, &request).await;
    assert_eq!(
        query_error(status, &body),
        (403, "Sender".into(), "SignatureDoesNotMatch".into()),
        "{body}"
    );

    // The wrong secret.
    let forged = Creds {
        sk: "not-the-secret".into(),
        ..creds.clone()
    };
    let (status, body) = call(&emu, &forged, &get("sqs", &list)).await;
    assert_eq!(
        query_error(status, &body).2,
        "SignatureDoesNotMatch",
        "{body}"
    );

    // An expired presigned URL (signed for 300 s, used 301 s later).
    let mut req = get("sqs", &list);
    req.presigned = true;
    let request = signed(&emu, &creds, &req);
    emu.advance(Duration::from_secs(301));
    let (status, body) = send(&emu, &request).await;
    assert_eq!(
        query_error(status, &body),
        (403, "Sender".into(), "AccessDenied".into()),
        "{body}"
    );

    // The untampered request still works (the refusals above were about the signature).
    let (status, body) = call(&emu, &creds, &get("sqs", &list)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        sorted(texts(&body, "QueueUrl")),
        sdk_queue_urls(&emu, Some("claims-intake")).await
    );
}

#[tokio::test]
async fn sqs_common_operations_over_query_answer_in_the_query_shape() {
    let emu = claims();
    let creds = session(&emu).await;
    let sqs = aws_sdk_sqs::Client::new(&config(&emu));
    let q = |s: &str| format!("Action={s}&Version={SQS_VERSION}");
    let intake = sdk_queue_urls(&emu, Some("claims-intake")).await[0].clone();
    let intake_dlq = sdk_queue_urls(&emu, Some("claims-intake-dlq")).await[0].clone();
    assert!(intake.ends_with("/claims-intake") && intake_dlq.ends_with("/claims-intake-dlq"));
    let u = enc(&intake);

    // GetQueueAttributes: the same attributes the SDK sees.
    let (status, body) = call(
        &emu,
        &creds,
        &get(
            "sqs",
            &format!(
                "{}&QueueUrl={u}&AttributeName.1=All",
                q("GetQueueAttributes")
            ),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let names = texts(&body, "Name");
    let values = texts(&body, "Value");
    assert_eq!(names.len(), values.len());
    let via_query: std::collections::BTreeMap<String, String> =
        names.into_iter().zip(values).collect();
    let via_sdk: std::collections::BTreeMap<String, String> = sqs
        .get_queue_attributes()
        .queue_url(&intake)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect();
    assert_eq!(via_query, via_sdk);
    assert!(via_query.contains_key("RedrivePolicy"));

    // ListQueueTags.
    let (status, body) = call(
        &emu,
        &creds,
        &post("sqs", "", &format!("{}&QueueUrl={u}", q("ListQueueTags"))),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let tags: std::collections::HashMap<String, String> = texts(&body, "Key")
        .into_iter()
        .zip(texts(&body, "Value"))
        .collect();
    let sdk_tags = sqs
        .list_queue_tags()
        .queue_url(&intake)
        .send()
        .await
        .unwrap();
    assert_eq!(&tags, sdk_tags.tags().unwrap());

    // ListDeadLetterSourceQueues of the intake DLQ: the intake queue.
    let (status, body) = call(
        &emu,
        &creds,
        &get(
            "sqs",
            &format!(
                "{}&QueueUrl={}",
                q("ListDeadLetterSourceQueues"),
                enc(&intake_dlq)
            ),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(texts(&body, "QueueUrl"), vec![intake.clone()]);

    // SendMessage over query with a message attribute; the SDK receives the same message.
    let fresh = sqs
        .create_queue()
        .queue_name("query-wire")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let u = enc(&fresh);
    let claim = "claim <CLM-0001> & co";
    let (status, body) = call(
        &emu,
        &creds,
        &post(
            "sqs",
            &q("SendMessage"),
            &format!(
                "QueueUrl={u}&MessageBody={}&MessageAttribute.1.Name=tenant\
                 &MessageAttribute.1.Value.DataType=String&MessageAttribute.1.Value.StringValue=acme",
                enc(claim)
            ),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<SendMessageResponse"), "{body}");
    let sent_id = text(&body, "MessageId");
    let md5 = text(&body, "MD5OfMessageBody");
    assert_eq!(md5, format!("{:x}", Md5::digest(claim.as_bytes())));
    assert!(!text(&body, "MD5OfMessageAttributes").is_empty());

    // ReceiveMessage over query: the message, its attributes and a receipt handle.
    let (status, body) = call(
        &emu,
        &creds,
        &get(
            "sqs",
            &format!(
                "{}&QueueUrl={u}&AttributeName.1=All&MessageAttributeName.1=All&MaxNumberOfMessages=10",
                q("ReceiveMessage")
            ),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(texts(&body, "Message").len(), 1, "{body}");
    assert_eq!(text(&body, "MessageId"), sent_id);
    assert_eq!(text(&body, "Body"), claim);
    assert_eq!(text(&body, "MD5OfBody"), md5);
    assert_eq!(text(&body, "StringValue"), "acme");
    assert!(
        body.contains("<Name>ApproximateReceiveCount</Name><Value>1</Value>"),
        "{body}"
    );
    let receipt = text(&body, "ReceiptHandle");

    // ChangeMessageVisibility to 0 makes it visible to the SDK at once.
    let (status, body) = call(
        &emu,
        &creds,
        &post(
            "sqs",
            &q("ChangeMessageVisibility"),
            &format!(
                "QueueUrl={u}&ReceiptHandle={}&VisibilityTimeout=0",
                enc(&receipt)
            ),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let got = sqs
        .receive_message()
        .queue_url(&fresh)
        .send()
        .await
        .unwrap();
    let m = &got.messages()[0];
    assert_eq!(m.message_id(), Some(sent_id.as_str()));
    assert_eq!(m.body(), Some(claim));

    // DeleteMessage over query with the SDK's receipt handle; the queue is then empty.
    let (status, body) = call(
        &emu,
        &creds,
        &get(
            "sqs",
            &format!(
                "{}&QueueUrl={u}&ReceiptHandle={}",
                q("DeleteMessage"),
                enc(m.receipt_handle().unwrap())
            ),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<DeleteMessageResponse"), "{body}");
    let depth = sqs
        .get_queue_attributes()
        .queue_url(&fresh)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let a = depth.attributes().unwrap();
    assert_eq!(a[&QueueAttributeName::ApproximateNumberOfMessages], "0");
    assert_eq!(
        a[&QueueAttributeName::ApproximateNumberOfMessagesNotVisible],
        "0"
    );

    // Errors use the legacy SQS codes in an ErrorResponse.
    let gone = enc(&fresh.replace("query-wire", "no-such-queue"));
    let (status, body) = call(
        &emu,
        &creds,
        &get(
            "sqs",
            &format!("{}&QueueUrl={gone}", q("GetQueueAttributes")),
        ),
    )
    .await;
    assert_eq!(
        query_error(status, &body),
        (
            400,
            "Sender".into(),
            "AWS.SimpleQueueService.NonExistentQueue".into()
        )
    );
    let (status, body) = call(
        &emu,
        &creds,
        &get("sqs", &format!("{}&MaxResults=many", q("ListQueues"))),
    )
    .await;
    assert_eq!(
        query_error(status, &body).2,
        "InvalidParameterValue",
        "{body}"
    );
}

#[tokio::test]
async fn sns_and_sts_accept_their_parameters_in_the_url() {
    let emu = claims();
    let creds = session(&emu).await;
    // STS GetCallerIdentity by GET, header-signed and presigned: the SDK's identity.
    let sts =
        aws_sdk_sts::Client::new(&config_with(&emu, &creds.ak, &creds.sk, Some(&creds.token)));
    let id = sts.get_caller_identity().send().await.unwrap();
    let who = "Action=GetCallerIdentity&Version=2011-06-15";
    let (status, body) = call(&emu, &creds, &get("sts", who)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("<GetCallerIdentityResponse"), "{body}");
    assert_eq!(Some(text(&body, "Arn").as_str()), id.arn());
    let mut req = get("sts", who);
    req.presigned = true;
    let (status, body) = send(&emu, &signed(&emu, &creds, &req)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(Some(text(&body, "Arn").as_str()), id.arn());

    // SNS ListTopics by POST with an empty body: the SDK's topics.
    let sns = aws_sdk_sns::Client::new(&config(&emu));
    let mut expected: Vec<String> = sns
        .list_topics()
        .send()
        .await
        .unwrap()
        .topics()
        .iter()
        .filter_map(|t| t.topic_arn().map(str::to_string))
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    let (status, body) = call(
        &emu,
        &creds,
        &post("sns", "Action=ListTopics&Version=2010-03-31", ""),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(sorted(texts(&body, "TopicArn")), expected);

    // A tampered SNS query is refused with the SNS error shape.
    let mut request = signed(
        &emu,
        &creds,
        &post("sns", "Action=ListTopics&Version=2010-03-31", ""),
    );
    let tampered = format!("{}&NextToken=x", request.uri());
    *request.uri_mut() = tampered.parse().unwrap();
    let (status, body) = send(&emu, &request).await;
    assert_eq!(
        query_error(status, &body),
        (403, "Sender".into(), "SignatureDoesNotMatch".into())
    );
}

#[tokio::test]
async fn an_oversized_query_string_is_refused_and_the_emulator_keeps_serving() {
    let emu = empty();
    let creds = session(&emu).await;
    let long = |n: usize| {
        format!(
            "Action=ListQueues&Version={SQS_VERSION}&QueueNamePrefix={}",
            "a".repeat(n)
        )
    };
    // Over the emulator's cap: the query error shape, naming the fix.
    let (status, body) = call(&emu, &creds, &get("sqs", &long(40 * 1024))).await;
    assert_eq!(
        query_error(status, &body),
        (414, "Sender".into(), "RequestURITooLong".into())
    );
    assert!(text(&body, "Message").contains("form body"), "{body}");
    // Over what HTTP parsing takes at all (64 KiB; no client would even build it, so it goes
    // out unsigned and raw): refused before it reaches the emulator.
    let raw = http::Request::builder()
        .method("GET")
        .uri("/")
        .header("host", "127.0.0.1")
        .body(String::new())
        .unwrap();
    let (status, _) = send_to(&emu, &raw, &format!("/?{}", long(70 * 1024))).await;
    assert_eq!(status, 414);
    let (status, _) = call(
        &emu,
        &creds,
        &get("sqs", &format!("Action=ListQueues&Version={SQS_VERSION}")),
    )
    .await;
    assert_eq!(status, 200);
}
