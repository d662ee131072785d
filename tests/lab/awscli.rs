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

#[test]
fn backup_plans_selections_protected_resources_and_restore_testing() {
    // Wednesday noon; the restore testing plan runs on Sunday 06:00 UTC.
    let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let emu = start(
        phi_console::emulator::Scenario::Claims,
        phi_console::emulator::ClockMode::ManualAt(at),
    );
    let url = emu.endpoint_url();
    let plans = aws_json(&url, &["backup", "list-backup-plans"]);
    let id = |name: &str| {
        plans["BackupPlansList"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["BackupPlanName"] == name)
            .unwrap()["BackupPlanId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let daily = id("claims-daily");
    let p = aws_json(
        &url,
        &["backup", "get-backup-plan", "--backup-plan-id", &daily],
    );
    let rule = &p["BackupPlan"]["Rules"][0];
    assert_eq!(rule["TargetBackupVaultName"], "claims-primary-vault");
    assert_eq!(rule["Lifecycle"]["DeleteAfterDays"], 35);
    assert_eq!(
        rule["CopyActions"][0]["DestinationBackupVaultArn"],
        "arn:aws:backup:us-west-2:123456789012:backup-vault:claims-dr-vault"
    );
    let (rc, _, err) = run_aws(
        &url,
        &["backup", "get-backup-plan", "--backup-plan-id", "nope"],
        "AKIATESTKEY",
    );
    assert_ne!(rc, 0);
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    let sels = aws_json(
        &url,
        &[
            "backup",
            "list-backup-selections",
            "--backup-plan-id",
            &daily,
        ],
    );
    let sel_id = sels["BackupSelectionsList"][0]["SelectionId"]
        .as_str()
        .unwrap();
    let sel = aws_json(
        &url,
        &[
            "backup",
            "get-backup-selection",
            "--backup-plan-id",
            &daily,
            "--selection-id",
            sel_id,
        ],
    );
    assert_eq!(
        sel["BackupSelection"]["Resources"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        sel["BackupSelection"]["IamRoleArn"],
        "arn:aws:iam::123456789012:role/BackupRestoreRole"
    );

    // The CLI's paginator walks both lists with a page size of 1 and 7.
    let protected = aws_json(
        &url,
        &["backup", "list-protected-resources", "--page-size", "1"],
    );
    assert_eq!(protected["Results"].as_array().unwrap().len(), 3);
    let intake = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake";
    let points = aws_json(
        &url,
        &[
            "backup",
            "list-recovery-points-by-resource",
            "--resource-arn",
            intake,
            "--page-size",
            "7",
        ],
    );
    let points = points["RecoveryPoints"].as_array().unwrap();
    assert_eq!(points.len(), 35);
    assert!(points.iter().all(|p| p["BackupSizeBytes"].is_i64()));

    // Restore testing: the plan, its selections, and a scheduled run.
    let name = "claims-weekly-restore-test";
    let plan = aws_json(
        &url,
        &[
            "backup",
            "get-restore-testing-plan",
            "--restore-testing-plan-name",
            name,
        ],
    );
    assert_eq!(
        plan["RestoreTestingPlan"]["ScheduleExpression"],
        "cron(0 6 ? * SUN *)"
    );
    let ts = aws_json(
        &url,
        &[
            "backup",
            "list-restore-testing-selections",
            "--restore-testing-plan-name",
            name,
        ],
    );
    assert_eq!(ts["RestoreTestingSelections"].as_array().unwrap().len(), 2);
    let one = aws_json(
        &url,
        &[
            "backup",
            "get-restore-testing-selection",
            "--restore-testing-plan-name",
            name,
            "--restore-testing-selection-name",
            "claims-intake-table",
        ],
    );
    assert_eq!(
        one["RestoreTestingSelection"]["ProtectedResourceArns"][0],
        intake
    );
    assert_eq!(one["RestoreTestingSelection"]["ValidationWindowHours"], 4);

    emu.advance(std::time::Duration::from_secs(4 * 86_400)); // Sunday noon
    let jobs = aws_json(
        &url,
        &[
            "backup",
            "list-restore-jobs",
            "--by-restore-testing-plan-arn",
            plan["RestoreTestingPlan"]["RestoreTestingPlanArn"]
                .as_str()
                .unwrap(),
        ],
    );
    let jobs = jobs["RestoreJobs"].as_array().unwrap();
    let job = jobs
        .iter()
        .find(|j| {
            // 2024-05-05T06:00:00Z: the CLI prints the epoch seconds the service sent.
            j["ResourceType"] == "DynamoDB" && j["CreationDate"].as_f64() == Some(1_714_888_800.0)
        })
        .unwrap_or_else(|| panic!("no scheduled run in {jobs:?}"));
    let id = job["RestoreJobId"].as_str().unwrap();
    assert_eq!(job["Status"], "COMPLETED");
    assert_eq!(
        job["DeletionStatus"], "SUCCESSFUL",
        "4 h window ended at 10:16"
    );
    let meta = aws_json(
        &url,
        &["backup", "get-restore-job-metadata", "--restore-job-id", id],
    );
    assert_eq!(meta["RestoreJobId"], id);
    let table = meta["Metadata"]["targetTableName"].as_str().unwrap();
    assert!(
        job["CreatedResourceArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!("table/{table}"))
    );
}
