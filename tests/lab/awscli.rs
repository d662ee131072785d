//! The aws CLI (botocore, an independent client) against the emulator: at least one
//! operation of each service, its JSON output checked. Catches wire-format mistakes that the
//! Rust SDK forgives.

use crate::common::*;
use phi_console::emulator::scenario::claims::{DEMO_MFA_SEED_BASE32, DEMO_MFA_SERIAL};

#[test]
fn sqs_lists_and_describes_the_claims_queues() {
    let emu = claims();
    let url = emu.endpoint_url();
    let v = aws_json(&url, &["sqs", "list-queues"]);
    let urls: Vec<&str> = v["QueueUrls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 10, "{urls:?}");
    assert!(urls.iter().any(|u| u.ends_with("/claims-payment.fifo")));
    let dlq = urls
        .iter()
        .find(|u| u.ends_with("/claims-validation-dlq"))
        .unwrap();
    let a = aws_json(
        &url,
        &[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            dlq,
            "--attribute-names",
            "All",
        ],
    );
    assert_eq!(a["Attributes"]["ApproximateNumberOfMessages"], "12");
    assert!(
        a["Attributes"]["RedriveAllowPolicy"]
            .as_str()
            .unwrap()
            .contains("byQueue")
    );
    // Paging with the CLI's own paginator (MaxResults/NextToken under the hood).
    let p = aws_json(&url, &["sqs", "list-queues", "--page-size", "3"]);
    assert_eq!(p["QueueUrls"].as_array().unwrap().len(), 10);
    // A queue that does not exist: the legacy query-compatible code reaches botocore.
    let (code, _, err) = run_aws(
        &url,
        &["sqs", "get-queue-url", "--queue-name", "nope"],
        "AKIATESTKEY",
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("NonExistentQueue") || err.contains("QueueDoesNotExist"),
        "{err}"
    );
    // Receive from a DLQ with attributes: botocore checks the MD5 of bodies and attributes.
    let r = aws_json(
        &url,
        &[
            "sqs",
            "receive-message",
            "--queue-url",
            dlq,
            "--max-number-of-messages",
            "10",
            "--message-attribute-names",
            "All",
            "--attribute-names",
            "All",
        ],
    );
    let msgs = r["Messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 10);
    assert!(msgs[0]["MessageAttributes"]["errorCode"]["StringValue"].is_string());
    assert!(msgs[0]["Body"].as_str().unwrap().contains("SYNTHETIC"));
}

#[test]
fn kms_lists_keys_and_aliases() {
    let emu = claims();
    let url = emu.endpoint_url();
    let aliases = aws_json(&url, &["kms", "list-aliases"]);
    let names: Vec<&str> = aliases["Aliases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["AliasName"].as_str())
        .collect();
    for want in [
        "alias/claims-patient-details",
        "alias/claims-medical-expenses",
        "alias/claims-costs",
        "alias/claims-audit-hmac",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let keys = aws_json(&url, &["kms", "list-keys"]);
    assert!(keys["Keys"].as_array().unwrap().len() >= 6);
    let d = aws_json(
        &url,
        &["kms", "describe-key", "--key-id", "alias/claims-costs"],
    );
    assert_eq!(d["KeyMetadata"]["KeyState"], "Enabled");
    assert!(
        d["KeyMetadata"]["CreationDate"].is_number()
            || d["KeyMetadata"]["CreationDate"].is_string()
    );
    let r = aws_json(
        &url,
        &[
            "kms",
            "get-key-rotation-status",
            "--key-id",
            d["KeyMetadata"]["KeyId"].as_str().unwrap(),
        ],
    );
    assert_eq!(r["KeyRotationEnabled"], false);
    // Blobs go in as files (fileb://) and come out base64-encoded, as the CLI documents.
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"hello").unwrap();
    let e = aws_json(
        &url,
        &[
            "kms",
            "encrypt",
            "--key-id",
            "alias/claims-patient-details",
            "--plaintext",
            &format!("fileb://{}", plain.display()),
        ],
    );
    assert!(
        e["KeyId"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:kms:us-east-1:123456789012:key/")
    );
    use base64::Engine;
    let blob = base64::engine::general_purpose::STANDARD
        .decode(e["CiphertextBlob"].as_str().unwrap())
        .unwrap();
    let ct = dir.path().join("ct");
    std::fs::write(&ct, blob).unwrap();
    let p = aws_json(
        &url,
        &[
            "kms",
            "decrypt",
            "--ciphertext-blob",
            &format!("fileb://{}", ct.display()),
        ],
    );
    assert_eq!(p["Plaintext"], "aGVsbG8=");
    assert_eq!(p["KeyId"], e["KeyId"]);
}

#[test]
fn backup_lists_vaults_and_recovery_points() {
    let emu = claims();
    let url = emu.endpoint_url();
    let v = aws_json(&url, &["backup", "list-backup-vaults"]);
    let vaults = v["BackupVaultList"].as_array().unwrap();
    assert_eq!(vaults.len(), 2);
    assert!(
        vaults
            .iter()
            .any(|x| x["BackupVaultName"] == "claims-locked-vault" && x["Locked"] == true)
    );
    let rp = aws_json(
        &url,
        &[
            "backup",
            "list-recovery-points-by-backup-vault",
            "--backup-vault-name",
            "claims-primary-vault",
        ],
    );
    let points = rp["RecoveryPoints"].as_array().unwrap();
    assert!(points.len() >= 90, "{}", points.len());
    let arn = points[0]["RecoveryPointArn"].as_str().unwrap();
    let d = aws_json(
        &url,
        &[
            "backup",
            "describe-recovery-point",
            "--backup-vault-name",
            "claims-primary-vault",
            "--recovery-point-arn",
            arn,
        ],
    );
    assert_eq!(d["RecoveryPointArn"], arn);
    let plans = aws_json(&url, &["backup", "list-restore-testing-plans"]);
    assert!(!plans["RestoreTestingPlans"].as_array().unwrap().is_empty());
}

#[test]
fn cloudtrail_lookup_events_and_trails() {
    let emu = claims();
    let url = emu.endpoint_url();
    let ev = aws_json(&url, &["cloudtrail", "lookup-events", "--max-items", "5"]);
    let events = ev["Events"].as_array().unwrap();
    assert_eq!(events.len(), 5);
    let record: serde_json::Value =
        serde_json::from_str(events[0]["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert!(
        record["eventSource"]
            .as_str()
            .unwrap()
            .ends_with(".amazonaws.com")
    );
    let t = aws_json(&url, &["cloudtrail", "describe-trails"]);
    assert_eq!(t["trailList"][0]["Name"], "claims-org-trail");
}

#[test]
fn sts_and_sns_through_the_cli() {
    let emu = claims();
    let url = emu.endpoint_url();
    let id = aws_json(&url, &["sts", "get-caller-identity"]);
    assert_eq!(id["Account"], "123456789012");
    assert_eq!(id["Arn"], "arn:aws:iam::123456789012:user/demo-operator");
    let seed = phi_console::emulator::crypto::base32_decode(DEMO_MFA_SEED_BASE32).unwrap();
    let code = code_now(&emu, &seed);
    let s = aws_json(
        &url,
        &[
            "sts",
            "get-session-token",
            "--serial-number",
            DEMO_MFA_SERIAL,
            "--token-code",
            &code,
        ],
    );
    assert!(
        s["Credentials"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .starts_with("ASIA")
    );
    assert!(s["Credentials"]["Expiration"].is_string());
    // The same code again is refused.
    let (rc, _, err) = run_aws(
        &url,
        &[
            "sts",
            "get-session-token",
            "--serial-number",
            DEMO_MFA_SERIAL,
            "--token-code",
            &code,
        ],
        "AKIATESTKEY",
    );
    assert_ne!(rc, 0);
    assert!(
        err.contains("AccessDenied") && err.contains("already been used"),
        "{err}"
    );

    let topics = aws_json(&url, &["sns", "list-topics"]);
    assert_eq!(topics["Topics"].as_array().unwrap().len(), 5);
    let arn = "arn:aws:sns:us-east-1:123456789012:claims-paid";
    let subs = aws_json(
        &url,
        &["sns", "list-subscriptions-by-topic", "--topic-arn", arn],
    );
    assert_eq!(subs["Subscriptions"][0]["Protocol"], "sqs");
    let p = aws_json(
        &url,
        &["sns", "publish", "--topic-arn", arn, "--message", "paid"],
    );
    assert!(p["MessageId"].is_string());
    let attrs = aws_json(&url, &["sns", "get-topic-attributes", "--topic-arn", arn]);
    assert_eq!(attrs["Attributes"]["TopicArn"], arn);
}
