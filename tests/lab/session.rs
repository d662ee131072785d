//! MFA-backed sessions against the emulator with real TOTP codes: both flows, wrong and reused
//! codes, role not assumable, the role-chaining cap, expiry mid-use, step-up, SourceIdentity in
//! CloudTrail, and no secret in Debug output.

use crate::common::*;
use aws_types::os_shim_internal::{Env, Fs};
use phi_console::cloud::CloudError;
use phi_console::cloud::cloudtrail::EventFilter;
use phi_console::emulator::Emulator;
use phi_console::emulator::scenario::claims::{DEMO_ACCESS_KEY, DEMO_MFA_SERIAL};
use phi_console::session::{self, OpenOptions, ResolvedProfile, SessionError};
use std::time::Duration;

/// Writes config/credentials files for the emulator and resolves `profile` from them through
/// aws-config's loader (real files, fake environment).
async fn profile(emu: &Emulator, extra: &str, name: &str) -> ResolvedProfile {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let creds = dir.path().join("credentials");
    let url = emu.endpoint_url();
    std::fs::write(
        &config,
        format!(
            "[profile demo]\nregion = us-east-1\nendpoint_url = {url}\nmfa_serial = {DEMO_MFA_SERIAL}\n\n\
             [profile ops]\nregion = us-east-1\nendpoint_url = {url}\nrole_arn = arn:aws:iam::123456789012:role/ClaimsOperator\nsource_profile = base\nmfa_serial = {DEMO_MFA_SERIAL}\n\n\
             [profile base]\nregion = us-east-1\nendpoint_url = {url}\n\n{extra}"
        ),
    )
    .unwrap();
    std::fs::write(
        &creds,
        format!("[demo]\naws_access_key_id = {DEMO_ACCESS_KEY}\naws_secret_access_key = demo\n[base]\naws_access_key_id = {DEMO_ACCESS_KEY}\naws_secret_access_key = demo\n"),
    )
    .unwrap();
    let env = Env::from_slice(&[
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().unwrap()),
        ("HOME", "/nonexistent"),
    ]);
    let set = session::profile::load_profiles(&env, &Fs::real())
        .await
        .unwrap();
    session::profile::resolve(&set, name, &env).unwrap()
}

fn options(emu: &Emulator) -> OpenOptions {
    let mut o = OpenOptions::new("jdoe");
    o.attempts = 1;
    o.now = emu.now_fn();
    o
}

fn code(emu: &Emulator) -> String {
    emu.totp(DEMO_MFA_SERIAL).unwrap()
}

/// The next TOTP step's code (a fresh code, as an operator would wait for).
fn next_code(emu: &Emulator) -> String {
    emu.advance(Duration::from_secs(30));
    code(emu)
}

#[tokio::test]
async fn session_token_flow_with_mfa() {
    let emu = claims();
    let p = profile(&emu, "", "demo").await;
    assert!(session::needs_code(&p));
    let e = session::open(&p, None, &options(&emu)).await.unwrap_err();
    assert_eq!(e, SessionError::CodeRequired("demo".into()));

    let s = session::open(&p, Some(&code(&emu)), &options(&emu))
        .await
        .unwrap();
    assert_eq!(s.caller.arn, "arn:aws:iam::123456789012:user/demo-operator");
    assert_eq!(s.caller.account, "123456789012");
    assert_eq!(s.region, "us-east-1");
    assert!(s.credentials.access_key_id.starts_with("ASIA"));
    let left = s.time_left().unwrap();
    assert!(
        left > chrono::Duration::hours(11) && left <= chrono::Duration::hours(12),
        "{left}"
    );
    assert!(!s.needs_step_up(5));
    // The session works for every service.
    let queues = s.cloud().list_queues().await.unwrap();
    assert_eq!(queues.len(), 10);

    // Secrets never show in Debug output.
    let shown = format!("{s:?}");
    assert!(
        !shown.contains(s.credentials.secret_access_key.expose()),
        "secret key in Debug"
    );
    assert!(
        !shown.contains(s.credentials.session_token.as_ref().unwrap().expose()),
        "token in Debug"
    );
}

#[tokio::test]
async fn wrong_reused_and_malformed_codes_are_explained() {
    let emu = claims();
    let p = profile(&emu, "", "demo").await;
    let before = emu.request_count();
    let e = session::open(&p, Some("12345"), &options(&emu))
        .await
        .unwrap_err();
    assert_eq!(e, SessionError::CodeFormat(5));
    assert_eq!(
        emu.request_count(),
        before,
        "a malformed code never reaches STS"
    );

    let right = code(&emu);
    let wrong = if right == "000000" {
        "111111".to_string()
    } else {
        "000000".to_string()
    };
    let e = session::open(&p, Some(&wrong), &options(&emu))
        .await
        .unwrap_err();
    assert_eq!(e, SessionError::WrongCode);

    session::open(&p, Some(&right), &options(&emu))
        .await
        .unwrap();
    let e = session::open(&p, Some(&right), &options(&emu))
        .await
        .unwrap_err();
    assert_eq!(e, SessionError::ReusedCode);
    assert!(e.to_string().contains("wait for the next code"));
    session::open(&p, Some(&next_code(&emu)), &options(&emu))
        .await
        .unwrap();
}

#[tokio::test]
async fn assume_role_flow_records_source_identity_in_cloudtrail() {
    let emu = claims();
    let p = profile(&emu, "", "ops").await;
    let s = session::open(&p, Some(&code(&emu)), &options(&emu))
        .await
        .unwrap();
    assert!(
        s.caller
            .arn
            .starts_with("arn:aws:sts::123456789012:assumed-role/ClaimsOperator/"),
        "{}",
        s.caller.arn
    );
    assert_eq!(s.source_identity.as_deref(), Some("jdoe"));
    assert!(s.mfa_at.is_some());
    let left = s.time_left().unwrap();
    assert!(
        left <= chrono::Duration::hours(1) && left > chrono::Duration::minutes(59),
        "{left}"
    );

    // A mutating call made with the session carries SourceIdentity and MFA in CloudTrail.
    let cloud = s.cloud();
    cloud
        .enable_key_rotation("alias/claims-costs", 180)
        .await
        .unwrap();
    let events = cloud
        .lookup_events(
            Some(&EventFilter::EventName("EnableKeyRotation".into())),
            None,
            None,
            None,
        )
        .await
        .unwrap();
    let mine = events
        .events
        .iter()
        .find(|e| e.source_identity.as_deref() == Some("jdoe"))
        .expect("our event");
    assert_eq!(mine.mfa_authenticated, Some(true));
    assert!(mine.raw.contains("ClaimsOperator"));
}

#[tokio::test]
async fn role_problems_are_explained() {
    let emu = claims();
    let url = emu.endpoint_url();
    let extra = format!(
        "[profile ghost]\nregion = us-east-1\nendpoint_url = {url}\nrole_arn = arn:aws:iam::123456789012:role/NoSuchRole\nsource_profile = base\nmfa_serial = {DEMO_MFA_SERIAL}\n\n\
         [profile chained]\nregion = us-east-1\nendpoint_url = {url}\nrole_arn = arn:aws:iam::123456789012:role/ClaimsReadOnly\nsource_profile = ops\nduration_seconds = 7200\n"
    );
    let p = profile(&emu, &extra, "ghost").await;
    let e = session::open(&p, Some(&code(&emu)), &options(&emu))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, SessionError::RoleNotAssumable { role, .. } if role.ends_with("NoSuchRole")),
        "{e}"
    );

    let p = profile(&emu, &extra, "chained").await;
    assert!(p.is_role_chain());
    let e = session::open(&p, Some(&next_code(&emu)), &options(&emu))
        .await
        .unwrap_err();
    assert_eq!(e, SessionError::ChainingCap("chained".into()));
    assert!(e.to_string().contains("1 hour"));
}

#[tokio::test]
async fn expiry_mid_use_and_no_calls_with_dead_credentials() {
    let emu = claims();
    let p = profile(&emu, "[profile short]\nregion = us-east-1\n", "demo").await;
    let mut p = p;
    p.duration_seconds = Some(900);
    // With the system clock the console does not know yet: the call reaches AWS, which answers
    // ExpiredToken, mapped to Expired.
    let mut o = options(&emu);
    o.now = phi_console::cloud::system_now();
    let s = session::open(&p, Some(&code(&emu)), &o).await.unwrap();
    emu.advance(Duration::from_secs(901));
    let e = s.cloud().list_queues().await.unwrap_err();
    assert!(
        matches!(&e, CloudError::Expired { code: Some(c), .. } if c.starts_with("ExpiredToken")),
        "AWS's own code: {e:?}"
    );

    // With the session's clock past expiry no call is attempted at all.
    let s = session::open(&p, Some(&next_code(&emu)), &options(&emu))
        .await
        .unwrap();
    assert!(!s.is_expired());
    assert!(!s.expiring_within(chrono::Duration::minutes(5)));
    emu.advance(Duration::from_secs(700));
    assert!(
        s.expiring_within(chrono::Duration::minutes(5)),
        "warns before expiry"
    );
    emu.advance(Duration::from_secs(201));
    assert!(s.is_expired());
    let before = emu.request_count();
    assert_eq!(
        s.cloud().list_keys().await.unwrap_err(),
        CloudError::expired(),
        "no call, so no AWS code"
    );
    assert_eq!(emu.request_count(), before);
}

#[tokio::test]
async fn step_up_requires_a_fresh_code() {
    let emu = claims();
    let p = profile(&emu, "", "ops").await;
    let s = session::open(&p, Some(&code(&emu)), &options(&emu))
        .await
        .unwrap();
    assert!(!s.needs_step_up(5));
    emu.advance(Duration::from_secs(6 * 60));
    assert!(s.needs_step_up(5));
    assert!(s.mfa_age().unwrap() >= chrono::Duration::minutes(6));
    let renewed = s.renew(&code(&emu)).await.unwrap();
    assert!(!renewed.needs_step_up(5));
    assert_ne!(
        renewed.credentials.access_key_id,
        s.credentials.access_key_id
    );
    assert_eq!(renewed.caller.arn.split('/').nth(1), Some("ClaimsOperator"));
}

/// The runner behind the TUI: sign in, `:profile` to another profile (its own session and audit
/// log), `:region` (same credentials, another region), with every step in the audit logs.
#[tokio::test]
async fn runner_switches_profile_and_region_with_audit_records() {
    use phi_console::app::run::{Context, Incoming, Runner, channel};
    use phi_console::app::state::MfaPurpose;
    use phi_console::app::update::{Effect, Msg};
    let emu = claims();
    let demo = profile(&emu, "", "demo").await;
    // The same files again, for the runner's own profile set.
    let dir = tempfile::tempdir().unwrap();
    let url = emu.endpoint_url();
    std::fs::write(dir.path().join("config"), format!(
        "[profile demo]\nregion = us-east-1\nendpoint_url = {url}\nmfa_serial = {DEMO_MFA_SERIAL}\n\n[profile ops]\nregion = us-east-1\nendpoint_url = {url}\nrole_arn = arn:aws:iam::123456789012:role/ClaimsOperator\nsource_profile = base\nmfa_serial = {DEMO_MFA_SERIAL}\n\n[profile base]\nregion = us-east-1\n"
    )).unwrap();
    std::fs::write(
        dir.path().join("credentials"),
        format!("[base]\naws_access_key_id = {DEMO_ACCESS_KEY}\naws_secret_access_key = demo\n"),
    )
    .unwrap();
    let env = Env::from_slice(&[
        (
            "AWS_CONFIG_FILE",
            dir.path().join("config").to_str().unwrap(),
        ),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials").to_str().unwrap(),
        ),
        ("HOME", "/nonexistent"),
    ]);
    let set = session::profile::load_profiles(&env, &Fs::real())
        .await
        .unwrap();
    let audit_dir = dir.path().join("audit");
    let settings = session::settings::SettingsFile::parse(
        &format!("[defaults]\naudit_dir = \"{}\"\n", audit_dir.display()),
        "t.toml",
    )
    .unwrap();
    let (tx, mut rx) = channel();
    let mut runner = Runner::new(
        tx,
        Context {
            profiles: Some(set),
            settings,
            options: options(&emu),
            force_read_only: false,
            initial: demo,
            demo_code: None,
        },
    );

    async fn next_msg(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Incoming>,
        runner: &mut Runner,
    ) -> Msg {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a message")
            .expect("open channel")
        {
            Incoming::Msg(m) => m,
            Incoming::Session(s, purpose) => runner.session_ready(*s, purpose),
            Incoming::Term(_) => panic!("no terminal here"),
        }
    }

    runner.start();
    let m = next_msg(&mut rx, &mut runner).await;
    assert!(
        matches!(&m, Msg::AskCode(MfaPurpose::Login { profile }) if profile == "demo"),
        "{m:?}"
    );
    runner.execute(Effect::Authenticate {
        purpose: MfaPurpose::Login {
            profile: "demo".into(),
        },
        code: code(&emu),
    });
    let Msg::SessionOpened { info, .. } = next_msg(&mut rx, &mut runner).await else {
        panic!("not opened")
    };
    assert_eq!(info.profile, "demo");
    assert!(info.audit_error.is_none(), "{:?}", info.audit_error);
    assert!(info.audit_path.as_deref().unwrap().ends_with("demo.jsonl"));

    // :profile ops — another MFA prompt, another session, another audit log.
    runner.execute(Effect::SwitchProfile {
        profile: "ops".into(),
    });
    let m = next_msg(&mut rx, &mut runner).await;
    assert!(
        matches!(&m, Msg::AskCode(MfaPurpose::Login { profile }) if profile == "ops"),
        "{m:?}"
    );
    runner.execute(Effect::Authenticate {
        purpose: MfaPurpose::Login {
            profile: "ops".into(),
        },
        code: next_code(&emu),
    });
    let Msg::SessionOpened { info, .. } = next_msg(&mut rx, &mut runner).await else {
        panic!("not opened")
    };
    assert_eq!(info.profile, "ops");
    assert!(info.caller_arn.contains("assumed-role/ClaimsOperator"));

    // :region eu-west-1 — the same credentials, a session of its own.
    runner.execute(Effect::SwitchRegion {
        region: "eu-west-1".into(),
    });
    let Msg::SessionOpened { info, .. } = next_msg(&mut rx, &mut runner).await else {
        panic!("not opened")
    };
    assert_eq!(
        (info.profile.as_str(), info.region.as_str()),
        ("ops", "eu-west-1")
    );

    // An unknown profile is explained; the session stays.
    runner.execute(Effect::SwitchProfile {
        profile: "nope".into(),
    });
    let m = next_msg(&mut rx, &mut runner).await;
    assert!(
        matches!(&m, Msg::Flash(phi_console::app::state::Flash::Error(e)) if e.contains("'nope'")),
        "{m:?}"
    );

    runner.shutdown().await;
    let demo_log = std::fs::read_to_string(audit_dir.join("demo.jsonl")).unwrap();
    assert!(
        demo_log.contains("\"event\":\"start\"") && demo_log.contains("\"event\":\"end\""),
        "{demo_log}"
    );
    let ops_log = std::fs::read_to_string(audit_dir.join("ops.jsonl")).unwrap();
    assert!(
        ops_log.contains("\"event\":\"profile_switch\""),
        "{ops_log}"
    );
    assert!(
        ops_log.contains("eu-west-1") && ops_log.contains("\"event\":\"end\""),
        "{ops_log}"
    );
    for log in ["demo.jsonl", "ops.jsonl"] {
        let report =
            phi_console::audit::verify_file(&audit_dir.join(log), &Default::default()).unwrap();
        assert!(report.problems.is_empty(), "{log}: {:?}", report.problems);
    }
}

/// No secret in the log (at debug level, SDK included), in Debug output, or in a panic message.
#[tokio::test(flavor = "current_thread")]
async fn secrets_stay_out_of_logs_debug_output_and_panics() {
    #[derive(Clone, Default)]
    struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let emu = claims();
    let p = profile(&emu, "", "ops").await;
    let s = session::open(&p, Some(&code(&emu)), &options(&emu))
        .await
        .unwrap();
    s.cloud().list_queues().await.unwrap();
    s.cloud().list_keys().await.unwrap();
    let secret = s.credentials.secret_access_key.expose().to_string();
    let token = s
        .credentials
        .session_token
        .as_ref()
        .unwrap()
        .expose()
        .to_string();
    let base_secret = "demo"; // the profile's long-term secret key

    let logged = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(!logged.is_empty(), "debug logging was captured");
    assert!(!logged.contains(&secret), "secret key in the log");
    assert!(!logged.contains(&token), "session token in the log");
    assert!(!logged.contains(&format!("secret_access_key: \"{base_secret}\"")));

    let shown = format!("{s:?} {p:?}");
    assert!(!shown.contains(&secret) && !shown.contains(&token));
    assert!(
        !shown.contains("\"demo\""),
        "the base secret in Debug output: {shown}"
    );

    let s2 = s.clone();
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        panic!("session broke: {s2:?}")
    }))
    .unwrap_err();
    let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("session broke") && !msg.contains(&secret) && !msg.contains(&token));
}
