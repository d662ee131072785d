//! Posture against the lab: the emulator operations it reads (GetEventSelectors,
//! PutEventSelectors, ListGrants, CreateGrant, SetSubscriptionAttributes, the `deny` fault),
//! the collection through the adapter against the claims scenario (a denied read is an
//! `unknown` naming the permission, never a crash), and `phi-console posture --json` end to
//! end with its exit codes.

use crate::common::*;
use phi_console::cloud::Cloud;
use phi_console::emulator::Emulator;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use phi_console::emulator::services::cloudtrail::Trail;
use phi_console::emulator::wire::Service;
use phi_console::posture::{self, Finding, Limits, Status, checks, collect};
use std::io::Write;

const ACCT: &str = "123456789012";

fn cloud(emu: &Emulator) -> Cloud {
    Cloud::new(&config(emu), ACCT, None, emu.now_fn())
}

async fn findings(emu: &Emulator) -> Vec<Finding> {
    let inv = collect::inventory(&cloud(emu)).await.expect("inventory");
    checks::evaluate(&inv, &Limits::default(), emu.clock().now())
}

fn status(fs: &[Finding], control: &str, name: &str) -> Status {
    match fs
        .iter()
        .find(|f| f.control == control && f.resource_name == name)
    {
        Some(f) => f.status,
        None => panic!("no {control} finding for {name}"),
    }
}

#[tokio::test]
async fn event_selectors_default_to_all_management_events_and_can_be_set() {
    let emu = claims();
    let ct = aws_sdk_cloudtrail::Client::new(&config(&emu));
    let s = ct
        .get_event_selectors()
        .trail_name("claims-org-trail")
        .send()
        .await
        .unwrap();
    let sel = &s.event_selectors()[0];
    assert_eq!(sel.read_write_type().map(|r| r.as_str()), Some("All"));
    assert_eq!(sel.include_management_events(), Some(true));
    assert!(s.trail_arn().unwrap().ends_with(":trail/claims-org-trail"));
    ct.put_event_selectors()
        .trail_name("claims-org-trail")
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::WriteOnly)
                .include_management_events(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let s = ct
        .get_event_selectors()
        .trail_name("claims-org-trail")
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.event_selectors()[0].read_write_type().map(|r| r.as_str()),
        Some("WriteOnly")
    );
    let sel = phi_console::cloud::cloudtrail::selectors_of(&s);
    assert!(sel.management_write && !sel.management_read, "{sel:?}");
    // Advanced selectors for management events only.
    use aws_sdk_cloudtrail::types::{AdvancedEventSelector, AdvancedFieldSelector};
    ct.put_event_selectors()
        .trail_name("claims-org-trail")
        .advanced_event_selectors(
            AdvancedEventSelector::builder()
                .name("management")
                .field_selectors(
                    AdvancedFieldSelector::builder()
                        .field("eventCategory")
                        .equals("Management")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let s = ct
        .get_event_selectors()
        .trail_name("claims-org-trail")
        .send()
        .await
        .unwrap();
    let sel = phi_console::cloud::cloudtrail::selectors_of(&s);
    assert!(sel.management_read && sel.management_write, "{sel:?}");
    let e = ct
        .get_event_selectors()
        .trail_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "TrailNotFoundException");
    let e = ct
        .put_event_selectors()
        .trail_name("claims-org-trail")
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .include_management_events(true)
                .build(),
        )
        .advanced_event_selectors(
            AdvancedEventSelector::builder()
                .field_selectors(
                    AdvancedFieldSelector::builder()
                        .field("eventCategory")
                        .equals("Management")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterCombinationException");
}

#[tokio::test]
async fn grants_are_created_and_listed_also_on_a_key_pending_deletion() {
    let emu = claims();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let g = kms
        .list_grants()
        .key_id("alias/claims-legacy-export")
        .send()
        .await
        .unwrap();
    assert_eq!(g.grants().len(), 1, "the seeded export grant");
    assert!(
        g.grants()[0]
            .grantee_principal()
            .unwrap()
            .ends_with(":role/ClaimsExportWorker")
    );
    let e = kms
        .create_grant()
        .key_id("alias/claims-legacy-export")
        .grantee_principal("arn:aws:iam::123456789012:role/X")
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "KMSInvalidStateException");
    let made = kms
        .create_grant()
        .key_id("alias/claims-costs")
        .grantee_principal("arn:aws:iam::123456789012:role/ClaimsPaymentStage")
        .operations(aws_sdk_kms::types::GrantOperation::Decrypt)
        .operations(aws_sdk_kms::types::GrantOperation::GenerateDataKey)
        .name("payments")
        .send()
        .await
        .unwrap();
    let g = kms
        .list_grants()
        .key_id("alias/claims-costs")
        .send()
        .await
        .unwrap();
    assert_eq!(g.grants().len(), 1);
    assert_eq!(g.grants()[0].grant_id(), made.grant_id());
    assert_eq!(g.grants()[0].operations().len(), 2);
    assert!(g.grants()[0].key_id().unwrap().starts_with("arn:aws:kms:"));
    // The adapter's read.
    let list = cloud(&emu)
        .list_grants("alias/claims-legacy-export")
        .await
        .unwrap();
    assert_eq!(list.len(), 1);
    assert!(
        list[0].contains("ClaimsExportWorker (Decrypt GenerateDataKey)"),
        "{list:?}"
    );
}

#[tokio::test]
async fn subscription_redrive_policies_are_set_checked_and_read_back() {
    let emu = claims();
    let sns = aws_sdk_sns::Client::new(&config(&emu));
    let topic = format!("arn:aws:sns:us-east-1:{ACCT}:claims-paid");
    let subs = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    let arn = subs.subscriptions()[0]
        .subscription_arn()
        .unwrap()
        .to_string();
    let get = |arn: String| {
        let sns = sns.clone();
        async move {
            sns.get_subscription_attributes()
                .subscription_arn(arn)
                .send()
                .await
                .unwrap()
                .attributes()
                .cloned()
                .unwrap_or_default()
        }
    };
    assert!(!get(arn.clone()).await.contains_key("RedrivePolicy"));
    let policy =
        format!(r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:{ACCT}:claims-notify-dlq"}}"#);
    sns.set_subscription_attributes()
        .subscription_arn(&arn)
        .attribute_name("RedrivePolicy")
        .attribute_value(&policy)
        .send()
        .await
        .unwrap();
    assert_eq!(get(arn.clone()).await.get("RedrivePolicy"), Some(&policy));
    for (name, value) in [
        ("RedrivePolicy", "not json"),
        (
            "RedrivePolicy",
            r#"{"deadLetterTargetArn":"arn:aws:sns:us-east-1:1:t"}"#,
        ),
        ("Colour", "blue"),
        ("RawMessageDelivery", "maybe"),
    ] {
        let e = sns
            .set_subscription_attributes()
            .subscription_arn(&arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "InvalidParameter", "{name}={value}");
    }
    // An empty value clears it.
    sns.set_subscription_attributes()
        .subscription_arn(&arn)
        .attribute_name("RedrivePolicy")
        .attribute_value("")
        .send()
        .await
        .unwrap();
    assert!(!get(arn.clone()).await.contains_key("RedrivePolicy"));
    let e = sns
        .set_subscription_attributes()
        .subscription_arn(format!("{topic}:nope"))
        .attribute_name("RedrivePolicy")
        .attribute_value(&policy)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotFound");
}

#[tokio::test]
async fn the_claims_account_passes_and_fails_what_it_should() {
    let emu = claims();
    let fs = findings(&emu).await;
    // Encryption: intake has its CMK; notify has none.
    assert_eq!(status(&fs, "sqs.encryption", "claims-intake"), Status::Pass);
    assert_eq!(status(&fs, "sqs.encryption", "claims-notify"), Status::Fail);
    assert_eq!(
        status(&fs, "sns.encryption", "claims-received"),
        Status::Pass
    );
    assert_eq!(status(&fs, "sns.encryption", "claims-paid"), Status::Fail);
    // Rotation: off on the costs key, 365 days on patient details.
    assert_eq!(
        status(&fs, "kms.rotation", "alias/claims-costs"),
        Status::Fail
    );
    assert_eq!(
        status(&fs, "kms.rotation", "alias/claims-patient-details"),
        Status::Pass
    );
    // TLS-only: the stage queues deny plain HTTP; their DLQs and the topics have no such deny.
    assert_eq!(status(&fs, "sqs.tls-only", "claims-intake"), Status::Pass);
    assert_eq!(
        status(&fs, "sqs.tls-only", "claims-intake-dlq"),
        Status::Fail
    );
    assert_eq!(status(&fs, "sns.tls-only", "claims-received"), Status::Fail);
    // The SNS default policy allows AWS:* only with AWS:SourceOwner: not public.
    assert_eq!(
        status(&fs, "sns.no-public-access", "claims-received"),
        Status::Pass
    );
    assert_eq!(status(&fs, "sqs.dlq", "claims-intake"), Status::Pass);
    assert_eq!(
        status(&fs, "sqs.dlq-retention", "claims-intake"),
        Status::Pass,
        "a 14-day DLQ for a 4-day queue"
    );
    assert_eq!(
        status(&fs, "sns.data-protection", "claims-received"),
        Status::Pass
    );
    assert_eq!(
        status(&fs, "sns.data-protection", "claims-paid"),
        Status::Fail
    );
    let sub = |topic: &str| {
        fs.iter()
            .find(|f| {
                f.control == "sns.subscription-dlq"
                    && f.resource_name.starts_with(&format!("{topic} "))
            })
            .map(|f| f.status)
    };
    assert_eq!(sub("claims-received"), Some(Status::Pass));
    assert_eq!(sub("claims-paid"), Some(Status::Fail));
    assert_eq!(
        status(&fs, "backup.vault-lock", "claims-locked-vault"),
        Status::Pass
    );
    assert!(
        fs.iter()
            .any(|f| f.control == "backup.vault-lock" && f.status == Status::Fail),
        "the primary vault is not locked"
    );
    assert!(fs.iter().any(|f| f.control == "backup.rpo"));
    // GetBackupPlan's copy actions: the daily plan copies to us-west-2, the weekly one not.
    assert_eq!(
        status(&fs, "backup.cross-region-copy", "claims-daily"),
        Status::Pass
    );
    assert_eq!(
        status(&fs, "backup.cross-region-copy", "claims-weekly"),
        Status::Fail
    );
    assert!(
        fs.iter()
            .any(|f| f.control == "backup.restore-tested" && f.status == Status::Pass)
    );
    for c in [
        "cloudtrail.logging",
        "cloudtrail.multi-region",
        "cloudtrail.log-file-validation",
        "cloudtrail.encryption",
        "cloudtrail.management-events",
    ] {
        assert_eq!(status(&fs, c, "claims-org-trail"), Status::Pass, "{c}");
    }
    // The retired key pending deletion encrypts nothing: a pass that still shows its grant.
    let retired = fs
        .iter()
        .find(|f| f.control == "kms.key-in-use" && f.resource_name == "alias/claims-legacy-export")
        .expect("retired key");
    assert_eq!(retired.status, Status::Pass);
    assert!(
        retired.evidence.contains("ClaimsExportWorker"),
        "{}",
        retired.evidence
    );
    assert!(
        !fs.iter().any(|f| f.status == Status::Unknown),
        "every read allowed"
    );
}

#[tokio::test]
async fn a_key_pending_deletion_that_still_encrypts_a_queue_fails() {
    let emu = claims();
    emu.with_world(|w| {
        let id = w.kms.resolve("alias/claims-costs").unwrap();
        let k = w.kms.keys.get_mut(&id).unwrap();
        k.state = phi_console::emulator::services::kms::KeyState::PendingDeletion;
    });
    let fs = findings(&emu).await;
    let f = fs
        .iter()
        .find(|f| f.control == "kms.key-in-use" && f.resource_name == "alias/claims-costs")
        .unwrap();
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.evidence.contains("queue claims-payment.fifo"),
        "{}",
        f.evidence
    );
}

#[tokio::test]
async fn a_denied_read_is_unknown_naming_the_permission_and_the_rest_still_checks() {
    let emu = claims();
    emu.add_fault(FaultRule::for_op(Service::Kms, "GetKeyRotationStatus").deny());
    emu.add_fault(FaultRule::for_op(Service::Sns, "GetDataProtectionPolicy").deny());
    emu.add_fault(FaultRule::for_op(Service::CloudTrail, "GetEventSelectors").deny());
    emu.add_fault(FaultRule::for_op(Service::Backup, "ListRestoreJobs").deny());
    let fs = findings(&emu).await;
    let f = fs
        .iter()
        .find(|f| f.control == "kms.rotation" && f.resource_name == "alias/claims-costs")
        .unwrap();
    assert_eq!(f.status, Status::Unknown);
    assert_eq!(f.permission.as_deref(), Some("kms:GetKeyRotationStatus"));
    assert_eq!(f.error_code.as_deref(), Some("AccessDeniedException"));
    let f = fs
        .iter()
        .find(|f| f.control == "sns.data-protection" && f.resource_name == "claims-paid")
        .unwrap();
    assert_eq!(
        (f.status, f.error_code.as_deref()),
        (Status::Unknown, Some("AuthorizationError"))
    );
    assert_eq!(
        status(&fs, "cloudtrail.management-events", "claims-org-trail"),
        Status::Unknown
    );
    assert!(
        fs.iter()
            .filter(|f| f.control == "backup.restore-tested")
            .all(|f| f.status == Status::Unknown
                && f.permission.as_deref() == Some("backup:ListRestoreJobs"))
    );
    // The reads that were allowed still decide.
    assert_eq!(status(&fs, "sqs.encryption", "claims-notify"), Status::Fail);
    assert_eq!(
        status(&fs, "cloudtrail.logging", "claims-org-trail"),
        Status::Pass
    );

    // A list that cannot be read at all: one unknown per control, named by the service.
    emu.add_fault(FaultRule::for_op(Service::Sqs, "ListQueues").deny());
    let fs = findings(&emu).await;
    let f = fs.iter().find(|f| f.control == "sqs.encryption").unwrap();
    assert_eq!((f.status, f.resource.as_str()), (Status::Unknown, "sqs"));
    assert_eq!(f.permission.as_deref(), Some("sqs:ListQueues"));
    assert_eq!(f.error_code.as_deref(), Some("AccessDenied"));
}

#[tokio::test]
async fn posture_makes_only_read_calls() {
    let emu = claims();
    let before = emu.with_world(|w| w.trail.events.len());
    let _ = findings(&emu).await;
    let written: Vec<String> = emu.with_world(|w| {
        w.trail.events[before..]
            .iter()
            .filter(|e| !e.read_only)
            .map(|e| e.event_name.clone())
            .collect()
    });
    assert!(written.is_empty(), "posture changed state: {written:?}");
}

// ------------------------------------------------------------------ the binary

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run_posture(emu: &Emulator, profile: &str, args: &[&str], input: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_demo_aws_files(d);
    // A profile without MFA, for the empty account.
    let mut config = std::fs::read_to_string(d.join("config")).unwrap();
    config.push_str("[profile plain]\nregion = us-east-1\n");
    std::fs::write(d.join("config"), config).unwrap();
    let mut creds = std::fs::read_to_string(d.join("credentials")).unwrap();
    creds.push_str(
        "[plain]\naws_access_key_id = AKIAPLAIN0000000001\naws_secret_access_key = plain\n",
    );
    std::fs::write(d.join("credentials"), creds).unwrap();
    let mut child = isolated_binary(d)
        .arg("posture")
        .args(args)
        .args(["--profile", profile, "--endpoint-url", &emu.endpoint_url()])
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(input.as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The JSON document's fields and types (docs/POSTURE.md).
fn check_schema(v: &serde_json::Value) {
    assert_eq!(v["schema"], posture::cli::SCHEMA);
    for k in ["profile", "account", "region", "generated_at", "fail_on"] {
        assert!(v[k].is_string(), "{k}");
    }
    assert!(v["exit_code"].is_i64());
    for k in ["pass", "fail", "unknown"] {
        assert!(v["summary"][k].is_u64(), "summary.{k}");
    }
    for k in ["max_rotation_days", "rpo_hours", "restore_test_days"] {
        assert!(v["limits"][k].is_i64(), "limits.{k}");
    }
    for f in v["findings"].as_array().unwrap() {
        assert_eq!(f.as_object().unwrap().len(), 13, "{f}");
        for k in [
            "control",
            "title",
            "status",
            "severity",
            "resource_type",
            "resource",
            "resource_name",
            "evidence",
            "fix",
            "safeguard",
        ] {
            assert!(f[k].is_string(), "{k}: {f}");
        }
        for k in ["security_hub", "permission", "error_code"] {
            assert!(f[k].is_null() || f[k].is_string(), "{k}: {f}");
        }
    }
}

#[test]
fn posture_json_against_the_claims_lab_exits_3_on_failures() {
    let emu = claims();
    let code = format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap());
    let before = emu.with_world(|w| w.trail.events.len());
    let r = run_posture(&emu, "demo", &["--json", "--fail-on", "high"], &code);
    assert_eq!(r.code, Some(posture::cli::EXIT_FINDINGS), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    check_schema(&v);
    assert_eq!(v["account"], ACCT);
    assert_eq!(v["fail_on"], "high");
    assert_eq!(v["exit_code"], 3);
    let notify = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["control"] == "sqs.encryption" && f["resource_name"] == "claims-notify")
        .unwrap();
    assert_eq!(notify["status"], "fail");
    assert_eq!(notify["security_hub"], "SQS.1");
    assert_eq!(
        notify["safeguard"],
        "§164.312(a)(2)(iv) encryption and decryption"
    );
    // Read-only: only the session's STS call and reads reached the account.
    let written: Vec<String> = emu.with_world(|w| {
        w.trail.events[before..]
            .iter()
            .filter(|e| !e.read_only && e.event_source != "sts.amazonaws.com")
            .map(|e| e.event_name.clone())
            .collect()
    });
    assert!(written.is_empty(), "{written:?}");
    // Text mode says the same, one line per finding (with the next MFA code).
    emu.advance(std::time::Duration::from_secs(30));
    let code = format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap());
    let r = run_posture(&emu, "demo", &[], &code);
    assert_eq!(r.code, Some(3), "{}", r.stderr);
    assert!(
        r.stdout.contains("FAIL    high   sqs.encryption"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("fix: Set the queue's KmsMasterKeyId"),
        "{}",
        r.stdout
    );
}

#[test]
fn fail_on_sets_the_exit_code_by_severity() {
    let emu = empty();
    let trail = |validation: bool| Trail {
        name: "org".into(),
        arn: format!("arn:aws:cloudtrail:us-east-1:{ACCT}:trail/org"),
        bucket: "logs".into(),
        kms_key_id: Some(format!("arn:aws:kms:us-east-1:{ACCT}:key/k")),
        multi_region: true,
        log_file_validation: validation,
        is_logging: true,
        started: chrono::Utc::now(),
    };
    emu.with_world(|w| w.trail.trails = vec![trail(true)]);
    let r = run_posture(&emu, "plain", &["--json"], "");
    assert_eq!(
        r.code,
        Some(posture::cli::EXIT_OK),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    check_schema(&v);
    assert_eq!(v["summary"]["fail"], 0);
    // A medium failure (no log file validation): exit 3 at low and medium, 0 at high.
    emu.with_world(|w| w.trail.trails = vec![trail(false)]);
    for (level, want) in [("low", 3), ("medium", 3), ("high", 0)] {
        let r = run_posture(&emu, "plain", &["--fail-on", level], "");
        assert_eq!(
            r.code,
            Some(want),
            "--fail-on {level}: {}{}",
            r.stdout,
            r.stderr
        );
    }
    // An error (no such profile) is exit 1, distinct from findings.
    let r = run_posture(&emu, "ghost", &["--json"], "");
    assert_eq!(r.code, Some(posture::cli::EXIT_ERROR), "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["schema"], posture::cli::SCHEMA);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("ghost"),
        "{v}"
    );
    assert!(r.stderr.contains("phi-console: posture:"), "{}", r.stderr);
    // A bad level is a usage error (clap: 2).
    let r = run_posture(&emu, "plain", &["--fail-on", "critical"], "");
    assert_eq!(r.code, Some(2));
}

/// Text from AWS (here a queue policy's Sid and a trail name planted with every class of
/// escape sequence) reaches the report only through the sanitiser, in text and JSON.
#[test]
fn hostile_text_in_evidence_never_reaches_the_terminal() {
    use crate::hostile;
    let emu = empty();
    let evil = hostile::all();
    emu.with_world(|w| {
        w.trail.trails = vec![Trail {
            name: format!("trail{evil}"),
            arn: format!("arn:aws:cloudtrail:us-east-1:{ACCT}:trail/x"),
            bucket: "logs".into(),
            kms_key_id: None,
            multi_region: false,
            log_file_validation: false,
            is_logging: false,
            started: chrono::Utc::now(),
        }];
    });
    let sqs = aws_sdk_sqs::Client::new(&config(&emu));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let url = sqs
            .create_queue()
            .queue_name("exposed")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let policy = serde_json::json!({ "Statement": [{ "Sid": evil, "Effect": "Allow",
            "Principal": "*", "Action": "sqs:SendMessage" }] })
        .to_string();
        sqs.set_queue_attributes()
            .queue_url(url)
            .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy)
            .send()
            .await
            .unwrap();
    });
    for args in [&[][..], &["--json"][..]] {
        let r = run_posture(&emu, "plain", args, "");
        assert_eq!(r.code, Some(3), "{}", r.stderr);
        hostile::assert_no_escape(&format!("posture {args:?} stdout"), r.stdout.as_bytes());
        hostile::assert_no_escape(&format!("posture {args:?} stderr"), r.stderr.as_bytes());
        assert!(r.stdout.contains("sqs.no-public-access"), "{}", r.stdout);
        assert!(
            r.stdout.contains("trail<<"),
            "the planted name is shown: {}",
            r.stdout
        );
        if args.is_empty() {
            assert!(
                r.stdout.contains("FAIL    high   sqs.no-public-access"),
                "{}",
                r.stdout
            );
        } else {
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let f = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["control"] == "sqs.no-public-access")
                .unwrap();
            assert_eq!(f["status"], "fail");
            // JSON keeps the data (escaped), so an auditor's tooling sees the real Sid.
            assert!(
                f["evidence"].as_str().unwrap().contains("]52;c;ZXZpbA=="),
                "{f}"
            );
        }
    }
}

/// The new operations through the aws CLI (botocore's own parsers: an independent check of
/// the wire shapes).
#[test]
fn the_aws_cli_reads_event_selectors_grants_and_subscription_redrive() {
    let emu = claims();
    let url = emu.endpoint_url();
    let s = aws_json(
        &url,
        &[
            "cloudtrail",
            "get-event-selectors",
            "--trail-name",
            "claims-org-trail",
        ],
    );
    assert_eq!(s["EventSelectors"][0]["ReadWriteType"], "All");
    assert_eq!(s["EventSelectors"][0]["IncludeManagementEvents"], true);
    let s = aws_json(
        &url,
        &[
            "cloudtrail",
            "put-event-selectors",
            "--trail-name",
            "claims-org-trail",
            "--event-selectors",
            r#"[{"ReadWriteType":"ReadOnly","IncludeManagementEvents":true}]"#,
        ],
    );
    assert_eq!(s["EventSelectors"][0]["ReadWriteType"], "ReadOnly");
    let g = aws_json(
        &url,
        &[
            "kms",
            "list-grants",
            "--key-id",
            "alias/claims-legacy-export",
        ],
    );
    let grants = g["Grants"].as_array().unwrap();
    assert_eq!(grants.len(), 1);
    assert_eq!(
        grants[0]["Operations"],
        serde_json::json!(["Decrypt", "GenerateDataKey"])
    );
    assert!(
        grants[0]["CreationDate"].is_number(),
        "a timestamp botocore parsed: {g}"
    );
    let topic = format!("arn:aws:sns:us-east-1:{ACCT}:claims-paid");
    let subs = aws_json(
        &url,
        &["sns", "list-subscriptions-by-topic", "--topic-arn", &topic],
    );
    let arn = subs["Subscriptions"][0]["SubscriptionArn"]
        .as_str()
        .unwrap()
        .to_string();
    let policy =
        format!(r#"{{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:{ACCT}:claims-notify-dlq"}}"#);
    aws_json(
        &url,
        &[
            "sns",
            "set-subscription-attributes",
            "--subscription-arn",
            &arn,
            "--attribute-name",
            "RedrivePolicy",
            "--attribute-value",
            &policy,
        ],
    );
    let a = aws_json(
        &url,
        &[
            "sns",
            "get-subscription-attributes",
            "--subscription-arn",
            &arn,
        ],
    );
    assert_eq!(a["Attributes"]["RedrivePolicy"], policy.as_str());
}
