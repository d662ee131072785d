//! Differential suite: the same adapter-level calls against moto (an independent server,
//! pinned and installed by scripts/test) and the emulator, for the operations both implement.
//! Retries are off: moto answers unimplemented operations with HTTP 500.

use crate::common::*;
use aws_types::SdkConfig;
use phi_console::cloud::http::{endpoint_config, static_credentials};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A moto server on 127.0.0.1 and an ephemeral port, stopped on drop.
struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let bin = std::env::var("PHI_TEST_MOTO_SERVER").unwrap_or_else(|_| {
            let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/moto_server");
            if std::path::Path::new(venv).exists() {
                venv.to_string()
            } else {
                "moto_server".to_string()
            }
        });
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto ({bin}): {e}. Run scripts/test, which installs it.")
            });
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
    fn config(&self) -> SdkConfig {
        endpoint_config(
            &self.url,
            REGION,
            static_credentials("AKIATESTKEY", "testsecret", None),
            1,
        )
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a caller can observe of SQS basics, normalised (no ids, no hosts).
async fn sqs_observations(cfg: &SdkConfig) -> Vec<String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let mut obs = Vec::new();
    let url = sqs
        .create_queue()
        .queue_name("diff-basic")
        .attributes(A::VisibilityTimeout, "45")
        .attributes(A::DelaySeconds, "0")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    obs.push(format!("url ends {}", url.rsplit('/').next().unwrap()));
    let a = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::VisibilityTimeout)
        .attribute_names(A::QueueArn)
        .send()
        .await
        .unwrap();
    obs.push(format!(
        "visibility {}",
        a.attributes().unwrap()[&A::VisibilityTimeout]
    ));
    obs.push(format!("arn {}", a.attributes().unwrap()[&A::QueueArn]));
    for i in 0..3 {
        let s = sqs
            .send_message()
            .queue_url(&url)
            .message_body(format!("claim-{i}"))
            .send()
            .await
            .unwrap();
        obs.push(format!("md5 {}", s.md5_of_message_body().unwrap()));
    }
    let listed = sqs
        .list_queues()
        .queue_name_prefix("diff-")
        .send()
        .await
        .unwrap();
    obs.push(format!("listed {}", listed.queue_urls().len()));
    let mut bodies = Vec::new();
    let r = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    for m in r.messages() {
        bodies.push(m.body().unwrap().to_string());
        sqs.delete_message()
            .queue_url(&url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    bodies.sort();
    obs.push(format!("bodies {bodies:?}"));
    let a = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap();
    obs.push(format!(
        "left {}",
        a.attributes().unwrap()[&A::ApproximateNumberOfMessages]
    ));
    let e = sqs
        .get_queue_url()
        .queue_name("diff-missing")
        .send()
        .await
        .unwrap_err();
    obs.push(format!(
        "missing typed {}",
        e.as_service_error()
            .is_some_and(|s| s.is_queue_does_not_exist())
    ));
    obs
}

async fn sns_fanout_observations(cfg: &SdkConfig) -> Vec<String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sns = aws_sdk_sns::Client::new(cfg);
    let sqs = aws_sdk_sqs::Client::new(cfg);
    let mut obs = Vec::new();
    let topic = sns
        .create_topic()
        .name("diff-topic")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    obs.push(format!("topic {topic}"));
    let mut targets = Vec::new();
    for (name, raw) in [("diff-raw", true), ("diff-env", false)] {
        let url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&A::QueueArn]
            .clone();
        let mut sub = sns
            .subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&arn);
        if raw {
            sub = sub.attributes("RawMessageDelivery", "true");
        }
        sub.send().await.unwrap();
        targets.push((url, raw));
    }
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let mut protos: Vec<String> = subs
        .subscriptions()
        .iter()
        .map(|s| format!("{} {}", s.protocol().unwrap(), s.topic_arn().unwrap()))
        .collect();
    protos.sort();
    obs.push(format!("subs {protos:?}"));
    sns.publish()
        .topic_arn(&topic)
        .message("claim approved")
        .subject("s")
        .send()
        .await
        .unwrap();
    for (url, raw) in targets {
        let r = sqs
            .receive_message()
            .queue_url(&url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let body = r.messages()[0].body().unwrap().to_string();
        if raw {
            obs.push(format!("raw {body}"));
        } else {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            obs.push(format!(
                "envelope {} {} {} {}",
                v["Type"], v["Message"], v["TopicArn"], v["Subject"]
            ));
        }
    }
    obs
}

async fn kms_observations(cfg: &SdkConfig, settle: impl Fn()) -> Vec<String> {
    use aws_sdk_kms::primitives::Blob;
    let kms = aws_sdk_kms::Client::new(cfg);
    let mut obs = Vec::new();
    let key = kms
        .create_key()
        .description("diff key")
        .send()
        .await
        .unwrap();
    let md = key.key_metadata().unwrap();
    let id = md.key_id().to_string();
    // KeyUsage is left out: moto 5.2.1 omits it from CreateKey's metadata (AWS and the emulator
    // return ENCRYPT_DECRYPT; tests/lab/kms.rs checks the emulator's).
    obs.push(format!(
        "state {:?} spec {:?} manager {:?}",
        md.key_state(),
        md.key_spec(),
        md.key_manager()
    ));
    kms.create_alias()
        .alias_name("alias/diff")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    let d = kms
        .describe_key()
        .key_id("alias/diff")
        .send()
        .await
        .unwrap();
    obs.push(format!(
        "alias resolves {}",
        d.key_metadata().unwrap().key_id() == id
    ));
    let c = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new("segment"))
        .send()
        .await
        .unwrap();
    let p = kms
        .decrypt()
        .ciphertext_blob(c.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    obs.push(format!(
        "roundtrip {:?}",
        String::from_utf8_lossy(p.plaintext().unwrap().as_ref())
    ));
    obs.push(format!(
        "decrypt key matches {}",
        p.key_id().unwrap().ends_with(&id)
    ));
    kms.enable_key_rotation().key_id(&id).send().await.unwrap();
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    obs.push(format!("rotation enabled {}", s.key_rotation_enabled()));
    let r = kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    obs.push(format!(
        "on-demand key {}",
        r.key_id().unwrap().ends_with(&id)
    ));
    settle();
    let rot = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    obs.push(format!("rotations {}", rot.rotations().len()));
    obs.push(format!(
        "rotation type {:?}",
        rot.rotations().first().and_then(|r| r.rotation_type())
    ));
    let e = kms
        .describe_key()
        .key_id("alias/nope")
        .send()
        .await
        .unwrap_err();
    obs.push(format!(
        "missing typed {}",
        e.as_service_error()
            .is_some_and(|s| s.is_not_found_exception())
    ));
    obs
}

async fn sts_observations(cfg: &SdkConfig) -> Vec<String> {
    let sts = aws_sdk_sts::Client::new(cfg);
    let mut obs = Vec::new();
    let id = sts.get_caller_identity().send().await.unwrap();
    obs.push(format!("account {}", id.account().unwrap()));
    let t = sts
        .get_session_token()
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = t.credentials().unwrap();
    obs.push(format!(
        "session creds {} {}",
        !c.access_key_id().is_empty(),
        !c.session_token().is_empty()
    ));
    let r = sts
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/DiffRole")
        .role_session_name("diff-session")
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    obs.push(format!("assumed {}", r.assumed_role_user().unwrap().arn()));
    obs
}

#[tokio::test]
async fn emulator_and_moto_agree_on_sqs_sns_kms_sts() {
    let moto = Moto::start();
    let emu = empty();
    emu.with_world(|w| w.add_role("DiffRole", 3600, false));
    let m = moto.config();
    let e = config(&emu);

    assert_eq!(
        sqs_observations(&m).await,
        sqs_observations(&e).await,
        "SQS basics differ"
    );
    assert_eq!(
        sns_fanout_observations(&m).await,
        sns_fanout_observations(&e).await,
        "SNS fan-out differs"
    );
    // The emulator completes an on-demand rotation over emulated time; moto at once.
    let moto_kms = kms_observations(&m, || {}).await;
    let emu_kms = kms_observations(&e, || emu.advance(Duration::from_secs(120))).await;
    assert_eq!(moto_kms, emu_kms, "KMS differs");
    assert_eq!(
        sts_observations(&m).await,
        sts_observations(&e).await,
        "STS differs"
    );
}
