//! KMS through the real SDK: keys, aliases, paging, policies, tags, key state, automatic and
//! on-demand rotation, real encryption and MACs, and the errors the console's pre-checks rely on.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyState, MacAlgorithmSpec, OriginType, RotationType, Tag};
use std::time::Duration;

const DAY: u64 = 86_400;

async fn new_key(kms: &aws_sdk_kms::Client) -> String {
    kms.create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_string()
}

#[tokio::test]
async fn keys_aliases_paging_and_describe() {
    let emu = empty();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let mut ids = Vec::new();
    for i in 0..25 {
        let k = kms
            .create_key()
            .description(format!("key {i}"))
            .tags(
                Tag::builder()
                    .tag_key("Team")
                    .tag_value("claims")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        let md = k.key_metadata().unwrap();
        assert_eq!(md.key_state(), Some(&KeyState::Enabled));
        assert_eq!(md.key_spec(), Some(&KeySpec::SymmetricDefault));
        assert_eq!(
            md.key_usage(),
            Some(&aws_sdk_kms::types::KeyUsageType::EncryptDecrypt)
        );
        assert!(md.arn().unwrap().ends_with(md.key_id()));
        ids.push(md.key_id().to_string());
        kms.create_alias()
            .alias_name(format!("alias/k-{i:02}"))
            .target_key_id(md.key_id())
            .send()
            .await
            .unwrap();
    }
    // ListKeys in pages of 7: every key exactly once.
    let mut seen = Vec::new();
    let mut marker = None;
    let mut pages = 0;
    loop {
        let out = kms
            .list_keys()
            .limit(7)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(out.keys().len() <= 7);
        seen.extend(out.keys().iter().map(|k| k.key_id().unwrap().to_string()));
        if !out.truncated() {
            assert!(out.next_marker().is_none());
            break;
        }
        marker = out.next_marker().map(str::to_string);
    }
    assert_eq!(pages, 4);
    seen.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(seen, want);
    // The paginator agrees.
    let all: Vec<_> = kms
        .list_aliases()
        .limit(10)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 25);

    // Describe by id, ARN, alias name and alias ARN.
    let by_alias = kms
        .describe_key()
        .key_id("alias/k-03")
        .send()
        .await
        .unwrap();
    let md = by_alias.key_metadata().unwrap();
    assert_eq!(md.key_id(), ids[3]);
    assert_eq!(md.description(), Some("key 3"));
    let arn = md.arn().unwrap().to_string();
    assert_eq!(
        kms.describe_key()
            .key_id(&arn)
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id(),
        ids[3]
    );
    let alias_arn = "arn:aws:kms:us-east-1:123456789012:alias/k-03".to_string();
    assert_eq!(
        kms.describe_key()
            .key_id(alias_arn)
            .send()
            .await
            .unwrap()
            .key_metadata()
            .unwrap()
            .key_id(),
        ids[3]
    );

    // Aliases filtered by key, tags, policy.
    let a = kms.list_aliases().key_id(&ids[5]).send().await.unwrap();
    assert_eq!(a.aliases().len(), 1);
    assert_eq!(a.aliases()[0].alias_name(), Some("alias/k-05"));
    assert_eq!(a.aliases()[0].target_key_id(), Some(ids[5].as_str()));
    let tags = kms
        .list_resource_tags()
        .key_id(&ids[0])
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].tag_key(), "Team");
    let p = kms.get_key_policy().key_id(&ids[0]).send().await.unwrap();
    let policy: serde_json::Value = serde_json::from_str(p.policy().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::123456789012:root"
    );

    // Errors: unknown key, duplicate alias, reserved alias, bad limit.
    let e = kms
        .describe_key()
        .key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_not_found_exception(),
        "{e:?}"
    );
    let e = kms
        .describe_key()
        .key_id("alias/nope")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_not_found_exception());
    let e = kms
        .create_alias()
        .alias_name("alias/k-00")
        .target_key_id(&ids[1])
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_already_exists_exception());
    let e = kms
        .create_alias()
        .alias_name("alias/aws/mine")
        .target_key_id(&ids[1])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "NotAuthorizedException");
    let e = kms.list_keys().limit(0).send().await.unwrap_err();
    assert_eq!(code(&e), "ValidationException");
}

#[tokio::test]
async fn encrypt_decrypt_data_keys_and_context() {
    let emu = empty();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let id = new_key(&kms).await;
    let secret = b"TEST PATIENT ALPHA (SYNTHETIC)".to_vec();
    let enc = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(secret.clone()))
        .encryption_context("segment", "patient_details")
        .send()
        .await
        .unwrap();
    let ct = enc.ciphertext_blob().unwrap().clone();
    assert!(
        !ct.as_ref()
            .windows(secret.len())
            .any(|w| w == secret.as_slice()),
        "ciphertext leaks plaintext"
    );
    // Decrypt without naming the key: the ciphertext carries it.
    let dec = kms
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("segment", "patient_details")
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), secret.as_slice());
    assert!(dec.key_id().unwrap().ends_with(&id));
    // The wrong context, a flipped bit, or another key fail as AWS fails them.
    let e = kms
        .decrypt()
        .ciphertext_blob(ct.clone())
        .encryption_context("segment", "costs")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_ciphertext_exception()
    );
    let mut bad = ct.as_ref().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let e = kms
        .decrypt()
        .ciphertext_blob(Blob::new(bad))
        .encryption_context("segment", "patient_details")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_ciphertext_exception()
    );
    let other = new_key(&kms).await;
    let e = kms
        .decrypt()
        .key_id(&other)
        .ciphertext_blob(ct.clone())
        .encryption_context("segment", "patient_details")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_incorrect_key_exception());

    // Data keys: the plaintext key and its encrypted copy agree.
    let dk = kms
        .generate_data_key()
        .key_id(&id)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    assert_eq!(dk.plaintext().unwrap().as_ref().len(), 32);
    let back = kms
        .decrypt()
        .ciphertext_blob(dk.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.plaintext().unwrap().as_ref(),
        dk.plaintext().unwrap().as_ref()
    );
    let e = kms
        .generate_data_key()
        .key_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");

    // A disabled key refuses to encrypt and decrypt; re-enabled it works again.
    kms.disable_key().key_id(&id).send().await.unwrap();
    let e = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_disabled_exception());
    kms.enable_key().key_id(&id).send().await.unwrap();
    kms.encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn hmac_keys_generate_and_verify() {
    let emu = empty();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let k = kms
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(aws_sdk_kms::types::KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap();
    let md = k.key_metadata().unwrap();
    assert_eq!(md.mac_algorithms(), &[MacAlgorithmSpec::HmacSha256]);
    let id = md.key_id().to_string();
    let msg = Blob::new(b"audit chain head 0123".to_vec());
    let mac = kms
        .generate_mac()
        .key_id(&id)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(msg.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(mac.mac().unwrap().as_ref().len(), 32);
    let ok = kms
        .verify_mac()
        .key_id(&id)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(msg.clone())
        .mac(mac.mac().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert!(ok.mac_valid());
    let e = kms
        .verify_mac()
        .key_id(&id)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(Blob::new(b"audit chain head 0124".to_vec()))
        .mac(mac.mac().unwrap().clone())
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_kms_invalid_mac_exception());
    // A symmetric key cannot MAC, an HMAC key cannot encrypt or rotate.
    let sym = new_key(&kms).await;
    let e = kms
        .generate_mac()
        .key_id(&sym)
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .message(msg)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_key_usage_exception()
    );
    let e = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_invalid_key_usage_exception()
    );
    let e = kms
        .enable_key_rotation()
        .key_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unsupported_operation_exception()
    );
}

#[tokio::test]
async fn automatic_rotation_period_and_next_date() {
    let emu = empty();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let id = new_key(&kms).await;
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(!s.key_rotation_enabled());
    assert!(s.next_rotation_date().is_none());

    let e = kms
        .enable_key_rotation()
        .key_id(&id)
        .rotation_period_in_days(89)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = kms
        .enable_key_rotation()
        .key_id(&id)
        .rotation_period_in_days(2561)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    kms.enable_key_rotation().key_id(&id).send().await.unwrap();
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(s.rotation_period_in_days(), Some(365), "the default period");
    kms.enable_key_rotation()
        .key_id(&id)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(s.key_rotation_enabled());
    assert_eq!(s.rotation_period_in_days(), Some(90));
    let now = emu.clock().now().timestamp();
    let next = s.next_rotation_date().unwrap().secs();
    assert!(
        (next - (now + 90 * DAY as i64)).abs() < 5,
        "next rotation {next} vs now {now}"
    );

    // Old ciphertext, then time passes beyond the period: one automatic rotation, and the old
    // ciphertext still decrypts.
    let ct = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"before".to_vec()))
        .send()
        .await
        .unwrap();
    emu.advance(Duration::from_secs(91 * DAY));
    let r = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    assert_eq!(r.rotations().len(), 1);
    assert_eq!(
        r.rotations()[0].rotation_type(),
        Some(&RotationType::Automatic)
    );
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.next_rotation_date().unwrap().secs(),
        next + 90 * DAY as i64
    );
    let dec = kms
        .decrypt()
        .ciphertext_blob(ct.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"before");

    kms.disable_key_rotation().key_id(&id).send().await.unwrap();
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(!s.key_rotation_enabled());
    emu.advance(Duration::from_secs(200 * DAY));
    assert_eq!(
        kms.list_key_rotations()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .rotations()
            .len(),
        1
    );
}

#[tokio::test]
async fn on_demand_rotation_progress_conflict_and_quota() {
    let emu = empty();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let id = new_key(&kms).await;
    let first = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"v0".to_vec()))
        .send()
        .await
        .unwrap();
    kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(s.on_demand_rotation_start_date().is_some(), "in progress");
    let e = kms
        .rotate_key_on_demand()
        .key_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_conflict_exception(),
        "{e:?}"
    );
    assert!(
        kms.list_key_rotations()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .rotations()
            .is_empty()
    );
    emu.advance(Duration::from_secs(61));
    let s = kms
        .get_key_rotation_status()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert!(s.on_demand_rotation_start_date().is_none(), "finished");
    let r = kms.list_key_rotations().key_id(&id).send().await.unwrap();
    assert_eq!(r.rotations().len(), 1);
    assert_eq!(
        r.rotations()[0].rotation_type(),
        Some(&RotationType::OnDemand)
    );
    // Old ciphertexts still decrypt; new ones use the new material.
    let dec = kms
        .decrypt()
        .ciphertext_blob(first.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(dec.plaintext().unwrap().as_ref(), b"v0");
    // Use up the quota of 10.
    for _ in 1..10 {
        kms.rotate_key_on_demand().key_id(&id).send().await.unwrap();
        emu.advance(Duration::from_secs(61));
    }
    assert_eq!(
        kms.list_key_rotations()
            .key_id(&id)
            .send()
            .await
            .unwrap()
            .rotations()
            .len(),
        10
    );
    let e = kms
        .rotate_key_on_demand()
        .key_id(&id)
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error().unwrap().is_limit_exceeded_exception(),
        "{e:?}"
    );
    // Paging of the history.
    let p = kms
        .list_key_rotations()
        .key_id(&id)
        .limit(4)
        .send()
        .await
        .unwrap();
    assert_eq!(p.rotations().len(), 4);
    assert!(p.truncated());
    let rest = kms
        .list_key_rotations()
        .key_id(&id)
        .marker(p.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.rotations().len(), 6);
}

#[tokio::test]
async fn rotation_prechecks_refuse_bad_keys() {
    let emu = claims();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    // AWS managed key.
    let e = kms
        .enable_key_rotation()
        .key_id("alias/aws/sqs")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unsupported_operation_exception(),
        "{e:?}"
    );
    let e = kms
        .rotate_key_on_demand()
        .key_id("alias/aws/backup")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unsupported_operation_exception()
    );
    // Asymmetric key.
    let e = kms
        .rotate_key_on_demand()
        .key_id("alias/claims-notify-signing")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unsupported_operation_exception()
    );
    // Pending deletion.
    let e = kms
        .enable_key_rotation()
        .key_id("alias/claims-legacy-export")
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_kms_invalid_state_exception(),
        "{e:?}"
    );
    // Disabled.
    kms.disable_key()
        .key_id("alias/claims-costs")
        .send()
        .await
        .unwrap();
    let e = kms
        .enable_key_rotation()
        .key_id("alias/claims-costs")
        .send()
        .await
        .unwrap_err();
    assert!(e.as_service_error().unwrap().is_disabled_exception());
    // Imported key material.
    let ext = kms
        .create_key()
        .origin(OriginType::External)
        .send()
        .await
        .unwrap();
    let md = ext.key_metadata().unwrap();
    assert_eq!(md.key_state(), Some(&KeyState::PendingImport));
    let e = kms
        .enable_key_rotation()
        .key_id(md.key_id())
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_unsupported_operation_exception()
    );
}

#[tokio::test]
async fn claims_keys_posture_and_deletion() {
    let emu = claims();
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let aliases: Vec<_> = kms
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let names: Vec<_> = aliases.iter().filter_map(|a| a.alias_name()).collect();
    for want in [
        "alias/claims-patient-details",
        "alias/claims-medical-expenses",
        "alias/claims-costs",
        "alias/claims-transport",
        "alias/claims-backup",
        "alias/claims-audit-hmac",
        "alias/aws/sqs",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let costs = kms
        .get_key_rotation_status()
        .key_id("alias/claims-costs")
        .send()
        .await
        .unwrap();
    assert!(
        !costs.key_rotation_enabled(),
        "the costs key is the posture finding"
    );
    let pd = kms
        .get_key_rotation_status()
        .key_id("alias/claims-patient-details")
        .send()
        .await
        .unwrap();
    assert!(pd.key_rotation_enabled());
    assert!(pd.next_rotation_date().unwrap().secs() > emu.clock().now().timestamp());
    let hist = kms
        .list_key_rotations()
        .key_id("alias/claims-patient-details")
        .send()
        .await
        .unwrap();
    assert!(
        hist.rotations()
            .iter()
            .any(|r| r.rotation_type() == Some(&RotationType::OnDemand))
    );
    assert!(
        hist.rotations()
            .iter()
            .any(|r| r.rotation_type() == Some(&RotationType::Automatic))
    );
    let me = kms
        .get_key_rotation_status()
        .key_id("alias/claims-medical-expenses")
        .send()
        .await
        .unwrap();
    assert_eq!(me.rotation_period_in_days(), Some(180));
    let hmac = kms
        .describe_key()
        .key_id("alias/claims-audit-hmac")
        .send()
        .await
        .unwrap();
    assert_eq!(
        hmac.key_metadata().unwrap().key_spec(),
        Some(&KeySpec::Hmac256)
    );
    let managed = kms
        .describe_key()
        .key_id("alias/aws/sqs")
        .send()
        .await
        .unwrap();
    assert_eq!(
        managed.key_metadata().unwrap().key_manager(),
        Some(&aws_sdk_kms::types::KeyManagerType::Aws)
    );

    // Scheduled deletion: a window below 7 days is refused; after the window the key is gone.
    let id = new_key(&kms).await;
    let e = kms
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(6)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let d = kms
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(d.key_state(), Some(&KeyState::PendingDeletion));
    let e = kms
        .encrypt()
        .key_id(&id)
        .plaintext(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert!(
        e.as_service_error()
            .unwrap()
            .is_kms_invalid_state_exception()
    );
    emu.advance(Duration::from_secs(8 * DAY));
    let e = kms.describe_key().key_id(&id).send().await.unwrap_err();
    assert!(e.as_service_error().unwrap().is_not_found_exception());
}
