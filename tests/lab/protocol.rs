//! Bad requests get the protocol's AWS error shape and the emulator keeps serving.

use crate::common::*;

async fn post(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Vec<(String, String)>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let hdrs = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
        .collect();
    (status, body.to_string(), hdrs)
}

#[tokio::test]
async fn malformed_and_unknown_requests_get_aws_error_shapes() {
    let emu = empty();
    let url = emu.endpoint_url();
    // Malformed JSON to SQS.
    let (status, body, _) = post(
        &url,
        &[
            ("X-Amz-Target", "AmazonSQS.ListQueues"),
            ("Content-Type", "application/x-amz-json-1.0"),
        ],
        "{nope",
    )
    .await;
    assert_eq!(status, 400);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "SerializationException");
    // Unknown KMS operation.
    let (status, body, _) = post(
        &url,
        &[
            ("X-Amz-Target", "TrentService.MakeCoffee"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ],
        "{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"));
    // awsQuery without a required parameter.
    let (status, body, _) = post(
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "Action=AssumeRole&Version=2011-06-15",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<ErrorResponse") && body.contains("<Code>ValidationError</Code>"),
        "{body}"
    );
    // Unknown awsQuery action.
    let (_, body, _) = post(
        &url,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        "Action=Nope&Version=2011-06-15",
    )
    .await;
    assert!(body.contains("<Code>InvalidAction</Code>"), "{body}");
    // Still serving.
    let sts = aws_sdk_sts::Client::new(&config(&emu));
    sts.get_caller_identity().send().await.unwrap();
}
