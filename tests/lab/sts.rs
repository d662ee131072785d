//! STS through the real SDK: identities, MFA codes, expiry, role chaining.

use crate::common::*;
use aws_sdk_sts::Client;
use std::time::Duration;

#[tokio::test]
async fn caller_identity_of_a_long_term_key() {
    let emu = empty();
    let sts = Client::new(&config(&emu));
    let id = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(id.account(), Some("123456789012"));
    assert_eq!(
        id.arn(),
        Some("arn:aws:iam::123456789012:user/emulator-user")
    );
}

#[tokio::test]
async fn session_token_with_mfa_then_expiry() {
    let emu = empty();
    let (serial, seed) = mfa_user(&emu, "alice", "AKIAALICE");
    let sts = Client::new(&config_with(&emu, "AKIAALICE", "s", None));
    let out = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(code_now(&emu, &seed))
        .duration_seconds(900)
        .send()
        .await
        .unwrap();
    let c = out.credentials().unwrap();
    assert!(c.access_key_id().starts_with("ASIA"));
    let temp = Client::new(&config_with(
        &emu,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
    ));
    let id = temp.get_caller_identity().send().await.unwrap();
    assert_eq!(id.arn(), Some("arn:aws:iam::123456789012:user/alice"));

    // A wrong secret is refused (signatures of issued keys are verified).
    let forged = Client::new(&config_with(
        &emu,
        c.access_key_id(),
        "wrong-secret",
        Some(c.session_token()),
    ));
    let e = forged.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "SignatureDoesNotMatch");

    emu.advance(Duration::from_secs(901));
    let e = temp.get_caller_identity().send().await.unwrap_err();
    assert_eq!(code(&e), "ExpiredToken");
}

#[tokio::test]
async fn wrong_and_reused_codes_are_refused() {
    let emu = empty();
    let (serial, seed) = mfa_user(&emu, "bob", "AKIABOB");
    let sts = Client::new(&config_with(&emu, "AKIABOB", "s", None));
    let good = code_now(&emu, &seed);
    let wrong = if good == "000000" {
        "111111".to_string()
    } else {
        "000000".to_string()
    };
    let e = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(&wrong)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert!(format!("{:?}", e).contains("invalid MFA one time pass code"));

    sts.get_session_token()
        .serial_number(&serial)
        .token_code(&good)
        .send()
        .await
        .unwrap();
    let e = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code(&good)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
    assert!(format!("{:?}", e).contains("already been used"));

    // The next 30-second step gives a fresh code that works.
    emu.advance(Duration::from_secs(30));
    sts.get_session_token()
        .serial_number(&serial)
        .token_code(code_now(&emu, &seed))
        .send()
        .await
        .unwrap();

    // A malformed code is a validation error, an unknown device is refused.
    let e = sts
        .get_session_token()
        .serial_number(&serial)
        .token_code("12ab")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    let e = sts
        .get_session_token()
        .serial_number("arn:aws:iam::123456789012:mfa/nobody")
        .token_code("123456")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
}

#[tokio::test]
async fn assume_role_with_mfa_source_identity_and_chaining_cap() {
    let emu = empty();
    let (serial, seed) = mfa_user(&emu, "carol", "AKIACAROL");
    let role_arn = emu.with_world(|w| w.add_role("ClaimsOperator", 43_200, true).arn);
    let sts = Client::new(&config_with(&emu, "AKIACAROL", "s", None));

    // The trust policy requires MFA.
    let e = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("carol")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");

    let out = sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("carol")
        .serial_number(&serial)
        .token_code(code_now(&emu, &seed))
        .source_identity("carol")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap();
    assert_eq!(out.source_identity(), Some("carol"));
    assert_eq!(
        out.assumed_role_user().unwrap().arn(),
        "arn:aws:sts::123456789012:assumed-role/ClaimsOperator/carol"
    );
    let c = out.credentials().unwrap();
    let role_sts = Client::new(&config_with(
        &emu,
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token()),
    ));
    let id = role_sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        id.arn(),
        Some("arn:aws:sts::123456789012:assumed-role/ClaimsOperator/carol")
    );

    // Role chaining is capped at one hour.
    let e = role_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("chained")
        .duration_seconds(3601)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationError");
    assert!(format!("{e:?}").contains("role chaining"));
    role_sts
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("chained")
        .duration_seconds(3600)
        .send()
        .await
        .unwrap();

    // An unknown role is not assumable.
    let e = sts
        .assume_role()
        .role_arn("arn:aws:iam::123456789012:role/Nope")
        .role_session_name("x1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AccessDenied");
}
