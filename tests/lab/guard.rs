//! Guarded actions (src/guard) against the emulator with a real MFA session: every pre-check
//! refusing a bad key with no mutating call, enable/disable/on-demand rotation end to end, the
//! typed name and the reason, read-only and step-up at the executor, a failing audit log,
//! throttling and 5xx answers, abandoned actions, and the `phi-console key` binary.

use crate::common::*;
use aws_sdk_kms::types::{OriginType, RotationType};
use phi_console::audit::{AuditConfig, AuditLog, Kind, Record, Status, read_records};
use phi_console::cloud::CloudError;
use phi_console::emulator::Emulator;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::{DEMO_ACCESS_KEY, DEMO_MFA_SERIAL};
use phi_console::emulator::wire::Service;
use phi_console::guard::{self, Check, Confirmed, GuardError, Plan, Policy, Request};
use phi_console::session::profile::RoleHop;
use phi_console::session::{self, OpenOptions, ResolvedProfile, Session};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const ACCOUNT: &str = "123456789012";

/// The demo operator assuming ClaimsOperator with MFA (SourceIdentity = the login).
fn profile(emu: &Emulator) -> ResolvedProfile {
    let mut p = ResolvedProfile::with_static_keys(
        "claims",
        REGION,
        Some(emu.endpoint_url()),
        DEMO_ACCESS_KEY,
        "demo",
        Some(DEMO_MFA_SERIAL),
    );
    p.roles.push(RoleHop {
        profile: "claims".into(),
        role_arn: format!("arn:aws:iam::{ACCOUNT}:role/ClaimsOperator"),
        external_id: None,
        role_session_name: None,
        duration_seconds: None,
        mfa_serial: Some(DEMO_MFA_SERIAL.into()),
    });
    p
}

/// A session whose clock is the emulator's (step-up and expiry follow emulated time).
pub(crate) async fn open(emu: &Emulator) -> Session {
    let mut o = OpenOptions::new("jdoe");
    o.attempts = 1;
    o.now = emu.now_fn();
    session::open(&profile(emu), Some(&emu.totp(DEMO_MFA_SERIAL).unwrap()), &o)
        .await
        .unwrap()
}

struct Lab {
    emu: Emulator,
    session: Session,
    policy: Policy,
    log: Arc<AuditLog>,
    path: PathBuf,
    /// CloudTrail events before the test acted.
    trail0: usize,
    _dir: tempfile::TempDir,
}

async fn lab() -> Lab {
    let emu = claims();
    let session = open(&emu).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit").join("claims.jsonl");
    let log = Arc::new(AuditLog::open(AuditConfig::new(&path)).unwrap());
    let trail0 = trail_len(&emu);
    Lab {
        emu,
        session,
        policy: Policy::default(),
        log,
        path,
        trail0,
        _dir: dir,
    }
}

impl Lab {
    async fn plan(&self, request: &Request) -> Result<Plan, GuardError> {
        guard::plan(&self.session, &self.policy, request).await
    }
    async fn confirmed(&self, request: &Request) -> Confirmed {
        let plan = self.plan(request).await.unwrap();
        let name = plan.confirm_text.clone();
        guard::confirm(
            &plan,
            &name,
            Some("key rotation finding F-12"),
            Some("CHG-1001"),
            true,
        )
        .unwrap()
    }
    async fn execute(&self, c: Confirmed) -> Result<guard::Executed, GuardError> {
        guard::execute(&self.log, &self.session, &self.policy, c).await
    }
    fn records(&self) -> Vec<Record> {
        records(&self.path)
    }
    fn mutations(&self) -> Vec<(String, String)> {
        mutations(&self.emu, self.trail0)
    }
}

pub(crate) fn records(path: &Path) -> Vec<Record> {
    let data = std::fs::read(path).unwrap_or_default();
    let (ok, bad) = read_records(&data);
    assert!(bad.is_empty(), "unreadable audit lines {bad:?}");
    ok.into_iter().map(|(_, r)| r).collect()
}

pub(crate) fn of_kind(recs: &[Record], kind: Kind) -> Vec<Record> {
    recs.iter().filter(|r| r.kind == kind).cloned().collect()
}

/// How many CloudTrail events the emulator holds (the scenario seeds a history).
fn trail_len(emu: &Emulator) -> usize {
    emu.with_world(|w| w.trail.events.len())
}

/// Mutating (non-read-only) events the emulator recorded in CloudTrail after the first
/// `from`: (name, request id).
fn mutations(emu: &Emulator, from: usize) -> Vec<(String, String)> {
    emu.with_world(|w| {
        w.trail
            .events
            .iter()
            .skip(from)
            .filter(|e| !e.read_only)
            .map(|e| {
                let v: serde_json::Value = serde_json::from_str(&e.cloudtrail_event).unwrap();
                (
                    e.event_name.clone(),
                    v["requestID"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    })
}

fn enable(key: &str, days: i32) -> Request {
    Request::enable_rotation(key, Some(days))
}
fn disable(key: &str) -> Request {
    Request::disable_rotation(key)
}
fn on_demand(key: &str) -> Request {
    Request::rotate_now(key)
}

pub(crate) async fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn pre_checks_refuse_bad_keys_with_no_mutating_call() {
    assert_eq!(
        guard::ON_DEMAND_ROTATION_QUOTA,
        phi_console::emulator::services::kms::ON_DEMAND_ROTATION_QUOTA
    );
    let lab = lab().await;
    let emu = &lab.emu;
    let kms = aws_sdk_kms::Client::new(&config(emu));
    // A disabled key, a key that used its quota, a rotation in progress, imported material and
    // a custom key store.
    kms.disable_key()
        .key_id("alias/claims-transport")
        .send()
        .await
        .unwrap();
    let cloud = lab.session.cloud();
    for _ in 0..guard::ON_DEMAND_ROTATION_QUOTA {
        cloud
            .rotate_key_on_demand("alias/claims-medical-expenses")
            .await
            .unwrap();
        emu.advance(Duration::from_secs(61));
    }
    cloud
        .rotate_key_on_demand("alias/claims-patient-details")
        .await
        .unwrap();
    let imported = kms
        .create_key()
        .origin(OriginType::External)
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/claims-imported")
        .target_key_id(imported.key_metadata().unwrap().key_id())
        .send()
        .await
        .unwrap();
    let hsm = kms
        .create_key()
        .origin(OriginType::AwsCloudhsm)
        .custom_key_store_id("cks-1234567890")
        .send()
        .await
        .unwrap();
    kms.create_alias()
        .alias_name("alias/claims-hsm")
        .target_key_id(hsm.key_metadata().unwrap().key_id())
        .send()
        .await
        .unwrap();

    let before = lab.mutations();
    let cases = [
        (
            enable("alias/aws/sqs", 180),
            Check::AwsManaged,
            "AWS managed",
        ),
        (disable("alias/aws/backup"), Check::AwsManaged, "every year"),
        (
            on_demand("alias/aws/sqs"),
            Check::AwsManaged,
            "cannot be changed",
        ),
        (
            enable("alias/claims-notify-signing", 365),
            Check::NotSymmetric,
            "ECC_NIST_P256",
        ),
        (
            on_demand("alias/claims-audit-hmac"),
            Check::NotSymmetric,
            "HMAC",
        ),
        (
            enable("alias/claims-transport", 365),
            Check::Disabled,
            "enable it first",
        ),
        (
            on_demand("alias/claims-transport"),
            Check::Disabled,
            "disabled",
        ),
        (
            enable("alias/claims-legacy-export", 365),
            Check::PendingDeletion,
            "pending deletion",
        ),
        (
            disable("alias/claims-legacy-export"),
            Check::PendingDeletion,
            "cancel the deletion",
        ),
        (
            on_demand("alias/claims-medical-expenses"),
            Check::OnDemandQuota,
            "used 10 of its 10",
        ),
        (
            on_demand("alias/claims-patient-details"),
            Check::RotationInProgress,
            "already in progress",
        ),
        (
            enable("alias/claims-imported", 365),
            Check::ImportedMaterial,
            "imported key material",
        ),
        (
            on_demand("alias/claims-hsm"),
            Check::CustomKeyStore,
            "cks-1234567890",
        ),
    ];
    for (request, check, words) in cases {
        let e = lab.plan(&request).await.unwrap_err();
        let GuardError::Refused {
            action, refusals, ..
        } = &e
        else {
            panic!("{request:?}: {e:?}")
        };
        assert_eq!(action, request.action());
        let r = refusals
            .iter()
            .find(|r| r.check == check)
            .unwrap_or_else(|| panic!("{request:?}: {refusals:?}"));
        assert!(r.message.contains(words), "{request:?}: {}", r.message);
        assert!(!e.reached_aws());
    }
    // The quota limits on-demand rotations only: automatic rotation of that key can change.
    lab.plan(&enable("alias/claims-medical-expenses", 90))
        .await
        .unwrap();

    // A period out of range is refused before any call at all.
    let n = emu.request_count();
    for days in [0, 30, 89, 2561, -5] {
        let e = lab
            .plan(&enable("alias/claims-costs", days))
            .await
            .unwrap_err();
        assert_eq!(e, GuardError::PeriodOutOfRange { days });
        assert!(e.to_string().contains("between 90 and 2,560 days"), "{e}");
    }
    assert_eq!(emu.request_count(), n, "no call for a bad period");
    assert_eq!(
        lab.mutations(),
        before,
        "no pre-check let a mutating call through"
    );
    assert!(lab.records().is_empty(), "refused plans write nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_with_a_period_then_disable_with_the_intent_written_before_the_call() {
    let lab = lab().await;
    let emu = &lab.emu;
    let plan = lab.plan(&enable("alias/claims-costs", 180)).await.unwrap();
    let arn = plan.targets[0].arn.clone();
    assert!(
        arn.starts_with(&format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/")),
        "{arn}"
    );
    assert_eq!(plan.action, "kms:EnableKeyRotation");
    assert_eq!(
        plan.operation,
        guard::Operation::new(&guard::kms::ENABLE_ROTATION, arn.clone())
            .param("rotation_period_in_days", 180)
    );
    assert_eq!(
        plan.calls,
        [format!(
            "kms:EnableKeyRotation on {arn} (RotationPeriodInDays=180)"
        )]
    );
    assert_eq!(
        (
            plan.account.as_str(),
            plan.region.as_str(),
            plan.profile.as_str()
        ),
        (ACCOUNT, REGION, "claims")
    );
    assert!(
        plan.caller_arn.contains("assumed-role/ClaimsOperator/"),
        "{}",
        plan.caller_arn
    );
    assert_eq!(plan.targets[0].name, "alias/claims-costs");
    assert_eq!(plan.confirm_text, "claims-costs");
    assert!(
        plan.summary
            .contains("enable automatic rotation of alias/claims-costs every 180 days"),
        "{}",
        plan.summary
    );
    assert!(
        plan.facts
            .iter()
            .any(|f| f.label == "automatic rotation" && f.value == "off"),
        "{:?}",
        plan.facts
    );
    assert!(
        plan.irreversible.iter().any(|i| i.contains("permanent")),
        "{:?}",
        plan.irreversible
    );
    assert!(
        plan.lines()
            .iter()
            .any(|l| l.contains("to confirm, type: claims-costs"))
    );
    let confirmed = guard::confirm(
        &plan,
        "claims-costs",
        Some("key rotation finding F-12"),
        Some("CHG-1001"),
        true,
    )
    .unwrap();

    // A slow call: the intent is on disk while the call is in flight, before the emulator acts.
    emu.add_fault(
        FaultRule::for_op(Service::Kms, "EnableKeyRotation")
            .latency(Duration::from_millis(1500), Duration::ZERO),
    );
    let task = {
        let (log, s, p) = (lab.log.clone(), lab.session.clone(), lab.policy);
        tokio::spawn(async move { guard::execute(&log, &s, &p, confirmed).await })
    };
    let intent = wait_for("the intent", || of_kind(&lab.records(), Kind::Intent).pop()).await;
    assert!(
        of_kind(&lab.records(), Kind::Outcome).is_empty(),
        "no outcome while in flight"
    );
    assert!(
        lab.mutations().is_empty(),
        "the emulator has not acted yet when the intent is durable"
    );
    let done = task.await.unwrap().unwrap();
    emu.clear_faults();
    assert!(!done.request_id.is_empty());
    assert_eq!(done.targets, std::slice::from_ref(&arn));
    assert_eq!(
        lab.mutations(),
        [("EnableKeyRotation".to_string(), done.request_id.clone())]
    );

    // The live state: rotation on, every 180 days, next date 180 days out.
    let kms = aws_sdk_kms::Client::new(&config(emu));
    let st = kms
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(st.key_rotation_enabled());
    assert_eq!(st.rotation_period_in_days(), Some(180));
    let next = st.next_rotation_date().expect("NextRotationDate").secs();
    let want = emu.clock().now().timestamp() + 180 * 86_400;
    assert!((next - want).abs() < 10, "next rotation {next} vs {want}");

    // The audit log: the intent (who, where, what, why, how), then its outcome with the request id.
    let recs = lab.records();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[0].id, intent.id);
    let what = intent.what.as_ref().unwrap();
    assert_eq!(what.action, "kms:EnableKeyRotation");
    assert_eq!(what.targets, std::slice::from_ref(&arn));
    assert_eq!(what.params["rotation_period_in_days"], 180);
    assert_eq!(what.params["name"], "alias/claims-costs");
    let why = intent.why.as_ref().unwrap();
    assert_eq!(
        (why.reason.as_deref(), why.ticket.as_deref()),
        (Some("key rotation finding F-12"), Some("CHG-1001"))
    );
    let how: Vec<_> = intent
        .how
        .iter()
        .map(|h| (h.method.as_str(), h.detail.as_deref()))
        .collect();
    assert_eq!(
        how,
        [("typed_name", Some("claims-costs")), ("mfa_step_up", None)]
    );
    let who = intent.who.as_ref().unwrap();
    assert!(
        who.caller_arn
            .as_deref()
            .unwrap()
            .contains("ClaimsOperator")
    );
    assert_eq!(who.source_identity.as_deref(), Some("jdoe"));
    assert_eq!(who.mfa_used, Some(true));
    let place = intent.place.as_ref().unwrap();
    assert_eq!(
        (place.account.as_deref(), place.region.as_deref()),
        (Some(ACCOUNT), Some(REGION))
    );
    assert_eq!(place.endpoint.as_deref(), Some(emu.endpoint_url().as_str()));
    let outcome = &recs[1];
    assert_eq!(outcome.kind, Kind::Outcome);
    assert_eq!(outcome.intent_id.as_deref(), Some(intent.id.as_str()));
    assert_eq!(outcome.outcome.as_ref().unwrap().status, Status::Succeeded);
    assert_eq!(outcome.request_ids, std::slice::from_ref(&done.request_id));
    assert_eq!(done.intent_id, intent.id);

    // Disable: planned on the ARN, with the compliance warning.
    let plan = lab.plan(&disable(&arn)).await.unwrap();
    assert_eq!(
        plan.operation,
        guard::Operation::new(&guard::kms::DISABLE_ROTATION, arn.clone())
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("will no longer rotate") && w.contains("compliance posture")),
        "{:?}",
        plan.warnings
    );
    assert!(
        plan.facts
            .iter()
            .any(|f| f.label == "automatic rotation" && f.value.starts_with("on, every 180 days")),
        "{:?}",
        plan.facts
    );
    // The full alias is accepted as the typed name too.
    let c = guard::confirm(
        &plan,
        "alias/claims-costs",
        Some("rollback of CHG-1001"),
        None,
        true,
    )
    .unwrap();
    let done = lab.execute(c).await.unwrap();
    let st = kms
        .get_key_rotation_status()
        .key_id(&arn)
        .send()
        .await
        .unwrap();
    assert!(!st.key_rotation_enabled());
    assert!(st.next_rotation_date().is_none());
    let recs = lab.records();
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[2].action(), Some("kms:DisableKeyRotation"));
    assert_eq!(recs[3].request_ids, [done.request_id]);
    assert_eq!(recs[3].intent_id.as_deref(), Some(recs[2].id.as_str()));
}

#[tokio::test]
async fn on_demand_rotation_runs_then_shows_in_the_history() {
    let lab = lab().await;
    let emu = &lab.emu;
    let plan = lab.plan(&on_demand("alias/claims-costs")).await.unwrap();
    assert_eq!(plan.action, "kms:RotateKeyOnDemand");
    assert!(
        plan.facts
            .iter()
            .any(|f| f.label == "on-demand rotations used" && f.value == "0 of 10"),
        "{:?}",
        plan.facts
    );
    assert!(
        plan.irreversible
            .iter()
            .any(|i| i.contains("0 used, 1 after this")),
        "{:?}",
        plan.irreversible
    );
    let c = guard::confirm(
        &plan,
        "claims-costs",
        Some("suspected exposure INC-7"),
        None,
        true,
    )
    .unwrap();
    let done = lab.execute(c).await.unwrap();

    let kms = aws_sdk_kms::Client::new(&config(emu));
    let arn = &plan.targets[0].arn;
    let st = kms
        .get_key_rotation_status()
        .key_id(arn)
        .send()
        .await
        .unwrap();
    assert!(st.on_demand_rotation_start_date().is_some(), "in progress");
    // While it runs, another on-demand rotation is refused by the pre-checks.
    let e = lab.plan(&on_demand(arn)).await.unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::RotationInProgress),
        "{e:?}"
    );

    emu.advance(Duration::from_secs(61));
    let r = kms.list_key_rotations().key_id(arn).send().await.unwrap();
    assert_eq!(r.rotations().len(), 1);
    assert_eq!(
        r.rotations()[0].rotation_type(),
        Some(&RotationType::OnDemand)
    );
    let key = lab.session.cloud().key(arn).await.unwrap();
    assert_eq!(key.on_demand_used(), 1);
    assert!(key.rotation.unwrap().on_demand_started.is_none());

    let recs = lab.records();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[1].request_ids, std::slice::from_ref(&done.request_id));
    assert_eq!(
        lab.mutations(),
        [("RotateKeyOnDemand".to_string(), done.request_id)]
    );
}

#[tokio::test]
async fn the_typed_name_and_the_reason_are_required() {
    let lab = lab().await;
    let plan = lab.plan(&enable("alias/claims-costs", 365)).await.unwrap();
    assert_eq!(
        plan.operation,
        guard::Operation::new(&guard::kms::ENABLE_ROTATION, plan.targets[0].arn.clone())
            .param("rotation_period_in_days", 365)
    );

    let e = guard::confirm(&plan, "claims-cost", Some("r"), None, true).unwrap_err();
    assert_eq!(
        e,
        GuardError::WrongName {
            expected: "claims-costs".into(),
            typed: "claims-cost".into()
        }
    );
    assert!(e.to_string().contains("type exactly: claims-costs"), "{e}");
    // A single key never confirms.
    assert!(matches!(
        guard::confirm(&plan, "y", Some("r"), None, true),
        Err(GuardError::WrongName { .. })
    ));
    assert_eq!(
        guard::confirm(&plan, "  ", Some("r"), None, true),
        Err(GuardError::NameRequired {
            expected: "claims-costs".into()
        })
    );
    let e = guard::confirm(&plan, "claims-costs", None, Some("CHG-1"), true).unwrap_err();
    assert_eq!(e, GuardError::ReasonRequired);
    assert!(e.to_string().contains("requires a reason"), "{e}");

    // Confirmed without a reason (the profile does not require one) …
    let c = guard::confirm(&plan, "claims-costs", None, None, false).unwrap();
    // … is still refused by the executor under a policy that requires one.
    let e = lab.execute(c.clone()).await.unwrap_err();
    assert_eq!(e, GuardError::ReasonRequired);
    assert!(lab.records().is_empty());
    // And runs where no reason is required.
    let relaxed = Policy {
        require_reason: false,
        ..lab.policy
    };
    guard::execute(&lab.log, &lab.session, &relaxed, c)
        .await
        .unwrap();
    let recs = lab.records();
    assert_eq!(recs.len(), 2);
    assert!(recs[0].why.is_none());
}

#[tokio::test]
async fn read_only_is_refused_at_the_executor() {
    let lab = lab().await;
    let c = lab.confirmed(&enable("alias/claims-costs", 180)).await;
    let before = lab.emu.request_count();
    let ro = Policy {
        read_only: true,
        ..lab.policy
    };
    let e = guard::execute(&lab.log, &lab.session, &ro, c.clone())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        GuardError::ReadOnly {
            profile: "claims".into(),
            action: "kms:EnableKeyRotation".into()
        }
    );
    assert!(e.to_string().contains("read-only"), "{e}");
    let mut ro_session = lab.session.clone();
    ro_session.read_only = true;
    // A read-only session (not only a read-only policy) is refused the same way.
    let e = guard::execute(&lab.log, &ro_session, &lab.policy, c)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        GuardError::ReadOnly {
            profile: "claims".into(),
            action: "kms:EnableKeyRotation".into()
        }
    );
    assert_eq!(lab.emu.request_count(), before, "no call at all");
    assert!(lab.records().is_empty(), "nothing recorded");
    // Planning refuses as well (the first gate).
    let n = lab.emu.request_count();
    let e = guard::plan(&lab.session, &ro, &enable("alias/claims-costs", 180))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        GuardError::ReadOnly {
            profile: "claims".into(),
            action: "kms:EnableKeyRotation".into()
        }
    );
    assert_eq!(
        lab.emu.request_count(),
        n,
        "the planning gate called nothing"
    );
}

#[tokio::test]
async fn step_up_is_required_after_step_up_minutes_then_given() {
    let lab = lab().await;
    let emu = &lab.emu;
    let c = lab.confirmed(&on_demand("alias/claims-costs")).await;
    guard::check_step_up(&lab.session, &lab.policy).unwrap();
    emu.advance(Duration::from_secs(6 * 60));
    let e = guard::check_step_up(&lab.session, &lab.policy).unwrap_err();
    assert!(
        matches!(e, GuardError::StepUpRequired { step_up_minutes: 5, mfa_age_s: Some(a), .. } if a >= 360),
        "{e:?}"
    );
    let before = emu.request_count();
    let e = lab.execute(c.clone()).await.unwrap_err();
    assert!(matches!(e, GuardError::StepUpRequired { .. }), "{e:?}");
    assert!(e.to_string().contains("fresh MFA code"), "{e}");
    assert_eq!(emu.request_count(), before);
    assert!(lab.records().is_empty());

    // A fresh code renews the session; the same confirmed plan then runs.
    let renewed = lab
        .session
        .renew(&emu.totp(DEMO_MFA_SERIAL).unwrap())
        .await
        .unwrap();
    guard::preflight(&renewed, &lab.policy, &c).unwrap();
    let done = guard::execute(&lab.log, &renewed, &lab.policy, c.clone())
        .await
        .unwrap();
    let recs = lab.records();
    assert_eq!(recs[1].request_ids, [done.request_id]);
    assert_eq!(
        recs[0].who.as_ref().unwrap().mfa_at,
        Some(phi_console::audit::writer::format_time(
            renewed.mfa_at.unwrap()
        ))
    );

    // A plan older than PLAN_TTL_MINUTES is refused even with a fresh code.
    emu.advance(Duration::from_secs(16 * 60));
    let renewed = renewed
        .renew(&emu.totp(DEMO_MFA_SERIAL).unwrap())
        .await
        .unwrap();
    let e = guard::execute(&lab.log, &renewed, &lab.policy, c)
        .await
        .unwrap_err();
    assert!(matches!(e, GuardError::PlanExpired { .. }), "{e:?}");
}

#[tokio::test]
async fn a_plan_runs_only_in_the_session_it_was_made_for() {
    let lab = lab().await;
    let c = lab.confirmed(&enable("alias/claims-costs", 180)).await;
    let elsewhere = lab.session.with_region("eu-west-1");
    let e = guard::execute(&lab.log, &elsewhere, &lab.policy, c)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GuardError::SessionChanged { planned, current } if planned.contains("us-east-1") && current.contains("eu-west-1")),
        "{e:?}"
    );
    assert!(lab.records().is_empty());
}

#[tokio::test]
async fn an_audit_log_that_cannot_be_written_stops_the_action() {
    let lab = lab().await;
    let emu = &lab.emu;
    let c = lab.confirmed(&enable("alias/claims-costs", 180)).await;
    let before = emu.request_count();

    // The log's directory replaced by a regular file after the log was opened.
    let dir = tempfile::tempdir().unwrap();
    let audit_dir = dir.path().join("audit");
    let log = AuditLog::open(AuditConfig::new(audit_dir.join("claims.jsonl"))).unwrap();
    std::fs::remove_dir_all(&audit_dir).unwrap();
    std::fs::write(&audit_dir, b"not a directory").unwrap();
    let e = guard::execute(&log, &lab.session, &lab.policy, c.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GuardError::Audit { message } if message.contains("not run")),
        "{e:?}"
    );
    assert!(e.to_string().contains("nothing was done"), "{e}");

    // The log swapped for a link to /dev/full under a running console: links are not
    // followed, so the append is refused (and /dev/full is never written).
    let full = dir.path().join("full");
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(&full)
        .unwrap();
    let log = AuditLog::open(AuditConfig::new(full.join("claims.jsonl"))).unwrap();
    std::fs::remove_file(full.join("claims.jsonl")).unwrap();
    std::os::unix::fs::symlink("/dev/full", full.join("claims.jsonl")).unwrap();
    let e = guard::execute(&log, &lab.session, &lab.policy, c)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GuardError::Audit { message } if message.contains("symbolic link") && message.contains("not run")),
        "{e:?}"
    );
    assert_eq!(emu.request_count(), before, "no call reached the emulator");
    assert!(lab.mutations().is_empty());
}

#[tokio::test]
async fn throttled_and_5xx_answers_are_typed_and_recorded_as_failed() {
    let lab = lab().await;
    let emu = &lab.emu;
    let c = lab.confirmed(&enable("alias/claims-costs", 180)).await;

    emu.add_fault(FaultRule::for_op(Service::Kms, "EnableKeyRotation").throttle(0.001, 0.0));
    let e = lab.execute(c.clone()).await.unwrap_err();
    let GuardError::Failed {
        error,
        code,
        intent_id,
        outcome_warning,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(
        matches!(error, CloudError::Throttled { operation, code, .. } if operation == "EnableKeyRotation" && code == "ThrottlingException"),
        "{error:?}"
    );
    assert_eq!(code, "ThrottlingException");
    assert!(outcome_warning.is_none());
    assert!(e.reached_aws());
    let recs = lab.records();
    let o = recs
        .iter()
        .find(|r| r.intent_id.as_deref() == Some(intent_id.as_str()))
        .unwrap()
        .outcome
        .clone()
        .unwrap();
    assert_eq!(
        (o.status, o.error_code.as_deref()),
        (Status::Failed, Some("ThrottlingException"))
    );

    emu.clear_faults();
    for (status, want) in [(500, "KMSInternalException"), (503, "ServiceUnavailable")] {
        emu.clear_faults();
        emu.add_fault(FaultRule::for_op(Service::Kms, "EnableKeyRotation").errors(1.0, status));
        let e = lab.execute(c.clone()).await.unwrap_err();
        let GuardError::Failed {
            error,
            code,
            intent_id,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert!(
            matches!(error, CloudError::Service { code, .. } if code == want),
            "{error:?}"
        );
        assert_eq!(code, want);
        let recs = lab.records();
        let o = recs
            .iter()
            .find(|r| r.intent_id.as_deref() == Some(intent_id.as_str()))
            .unwrap()
            .outcome
            .clone()
            .unwrap();
        assert_eq!(
            (o.status, o.error_code.as_deref()),
            (Status::Failed, Some(want))
        );
    }
    emu.clear_faults();
    let key = lab.session.cloud().key("alias/claims-costs").await.unwrap();
    assert!(!key.rotation.unwrap().enabled, "nothing changed");
    assert_eq!(of_kind(&lab.records(), Kind::Intent).len(), 3);
    assert_eq!(of_kind(&lab.records(), Kind::Outcome).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_action_is_recorded_as_interrupted() {
    let lab = lab().await;
    let emu = &lab.emu;
    let c = lab.confirmed(&on_demand("alias/claims-costs")).await;
    emu.add_fault(
        FaultRule::for_op(Service::Kms, "RotateKeyOnDemand")
            .latency(Duration::from_secs(3), Duration::ZERO),
    );

    // The future dropped mid-call (a timeout, a select! that went another way): dropped once
    // its intent is on disk (waited for, not a 400 ms timer a slow machine could outrun).
    let mut fut = Box::pin(lab.execute(c.clone()));
    let intent = wait_for("the intent", || {
        (of_kind(&lab.records(), Kind::Intent).len() == 1).then_some(())
    });
    tokio::select! {
        r = &mut fut => panic!("the call finished, not in flight: {r:?}"),
        () = intent => {}
    }
    drop(fut);
    let recs = lab.records();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let o = recs[1].outcome.clone().unwrap();
    assert_eq!(recs[1].intent_id.as_deref(), Some(recs[0].id.as_str()));
    assert_eq!(o.status, Status::Interrupted);
    assert!(o.message.unwrap().contains("abandoned"));

    // The task running it aborted once the intent is on disk.
    let task = {
        let (log, s, p) = (lab.log.clone(), lab.session.clone(), lab.policy);
        tokio::spawn(async move { guard::execute(&log, &s, &p, c).await })
    };
    wait_for("the second intent", || {
        (of_kind(&lab.records(), Kind::Intent).len() == 2).then_some(())
    })
    .await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let recs = lab.records();
    assert_eq!(recs.len(), 4);
    assert_eq!(recs[3].intent_id.as_deref(), Some(recs[2].id.as_str()));
    assert_eq!(
        recs[3].outcome.as_ref().unwrap().status,
        Status::Interrupted
    );
    let report = phi_console::audit::verify_file(&lab.path, &Default::default()).unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
}

// ---- the binary ----------------------------------------------------------------------------

struct Cli(DemoBin);

impl Cli {
    fn new(emu: &Emulator) -> Cli {
        Cli(DemoBin::new(
            emu,
            "[defaults]\nrequire_reason = true\nstep_up_minutes = 5\n",
        ))
    }
    fn audit_file(&self) -> PathBuf {
        self.0.audit_file()
    }
    fn command(&self, args: &[&str]) -> Command {
        self.0.command(args)
    }
    /// Runs with `input` on stdin; returns (exit code, stdout JSON, stderr).
    fn run(&self, args: &[&str], input: &str) -> (i32, serde_json::Value, String) {
        use std::io::Write;
        let mut child = self.command(args).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let v = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {stdout}\nstderr: {stderr}"));
        (out.status.code().unwrap_or(-1), v, stderr)
    }
}

fn rotation_of(emu: &Emulator, alias: &str) -> (bool, i64) {
    emu.with_world(|w| {
        let id = w.kms.resolve(alias).unwrap();
        let k = &w.kms.keys[&id];
        (k.rotation_enabled, k.rotation_period_days)
    })
}

fn verify(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["audit", "verify"])
        .arg(path)
        .arg("--offline")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_binary_enables_rotation_end_to_end() {
    let emu = claims();
    let cli = Cli::new(&emu);
    let t0 = trail_len(&emu);
    let code = format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap());
    let args = [
        "key",
        "rotation",
        "alias/claims-costs",
        "--enable",
        "--period",
        "180",
        "--reason",
        "rotation finding F-12",
        "--ticket",
        "CHG-1001",
        "--yes-i-typed",
        "claims-costs",
        "--json",
    ];
    let (status, v, stderr) = cli.run(&args, &code);
    assert_eq!(status, 0, "{v:#}\n{stderr}");
    assert!(
        stderr.contains("MFA code for arn:aws:iam::123456789012:mfa/demo-operator"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Plan: enable automatic rotation of alias/claims-costs every 180 days"),
        "{stderr}"
    );
    let plan = &v["plan"];
    assert_eq!(plan["action"], "kms:EnableKeyRotation");
    assert_eq!(plan["operation"]["params"]["rotation_period_in_days"], 180);
    assert_eq!(plan["account"], ACCOUNT);
    assert_eq!(plan["region"], REGION);
    assert_eq!(plan["confirm_text"], "claims-costs");
    let arn = plan["targets"][0]["arn"].as_str().unwrap();
    assert!(
        arn.starts_with("arn:aws:kms:us-east-1:123456789012:key/"),
        "{arn}"
    );
    assert_eq!(
        plan["caller_arn"],
        "arn:aws:iam::123456789012:user/demo-operator"
    );
    let result = &v["result"];
    assert_eq!(result["status"], "succeeded");
    let request_id = result["request_id"].as_str().unwrap();
    assert!(!request_id.is_empty());
    assert_eq!(v["audit_log"], cli.audit_file().display().to_string());
    assert_eq!(rotation_of(&emu, "alias/claims-costs"), (true, 180));
    assert_eq!(
        mutations(&emu, t0),
        [("EnableKeyRotation".to_string(), request_id.to_string())]
    );

    let recs = records(&cli.audit_file());
    let kinds: Vec<_> = recs.iter().map(|r| (r.kind, r.event.clone())).collect();
    assert_eq!(
        kinds,
        [
            (Kind::Session, Some("start".into())),
            (Kind::Intent, None),
            (Kind::Outcome, None),
            (Kind::Session, Some("end".into()))
        ]
    );
    assert_eq!(
        recs[1].why.as_ref().unwrap().ticket.as_deref(),
        Some("CHG-1001")
    );
    assert_eq!(recs[2].request_ids, [request_id.to_string()]);
    let (status, out) = verify(&cli.audit_file());
    assert_eq!(
        status,
        phi_console::audit::cli::EXIT_SEALS_NOT_VERIFIED,
        "{out}"
    );
}

/// The review's case: the call ran but its outcome could not be written (here the file size
/// limit, `ulimit -f`, reached while the call is in flight). The message says exactly that,
/// and the exit code is not 0.
#[test]
fn an_outcome_that_cannot_be_written_fails_the_command_and_says_so() {
    use std::io::Write;
    let emu = claims();
    let cli = Cli::new(&emu);
    emu.add_fault(
        FaultRule::for_op(Service::Kms, "EnableKeyRotation")
            .latency(Duration::from_millis(1500), Duration::ZERO),
    );
    let mut child = cli
        .command(&[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--period",
            "180",
            "--reason",
            "rotation finding F-12",
            "--yes-i-typed",
            "claims-costs",
            "--json",
        ])
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap()).as_bytes())
        .unwrap();
    drop(stdin);
    // Once the intent is on disk (the call is in flight), the log may not grow any more.
    let file = cli.audit_file();
    let start = std::time::Instant::now();
    while !std::fs::read_to_string(&file).is_ok_and(|t| t.contains("\"kind\":\"intent\"")) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no intent was written"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let len = std::fs::metadata(&file).unwrap().len();
    let limit = libc::rlimit {
        rlim_cur: len,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: prlimit reads `limit` and writes nothing (no old-limit pointer); the child is ours.
    let set = unsafe {
        libc::prlimit(
            child.id() as libc::pid_t,
            libc::RLIMIT_FSIZE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "prlimit: {}", std::io::Error::last_os_error());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(guard::cli::EXIT_OUTCOME_NOT_RECORDED),
        "{stdout}{stderr}"
    );
    // The call ran …
    assert_eq!(rotation_of(&emu, "alias/claims-costs"), (true, 180));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["result"]["status"], "succeeded", "{v:#}");
    // … and every message says that its outcome is not in the log, and nothing else.
    let warning = v["result"]["outcome_warning"].as_str().unwrap();
    for text in [warning, stderr.as_ref()] {
        assert!(
            text.contains("the action ran, but its outcome is NOT in the audit log"),
            "{text}"
        );
        assert!(text.contains("file size limit"), "{text}");
        assert!(text.contains("Check the target's state in AWS"), "{text}");
        assert!(!text.contains("was not run"), "contradicts itself: {text}");
    }
    // The log holds the intent without an outcome, and no torn line.
    let recs = records(&file);
    assert_eq!(of_kind(&recs, Kind::Intent).len(), 1);
    assert!(of_kind(&recs, Kind::Outcome).is_empty());
    assert_eq!(phi_console::audit::unfinished(&file).unwrap().len(), 1);
    let (status, out) = verify(&file);
    assert_eq!(
        status,
        phi_console::audit::cli::EXIT_SEALS_NOT_VERIFIED,
        "{out}"
    );
}

#[test]
fn the_binary_refuses_before_any_change() {
    let emu = claims();
    let cli = Cli::new(&emu);
    let t0 = trail_len(&emu);
    let code = || format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap());

    // A period out of range: no call at all, not even STS.
    let n = emu.request_count();
    let (status, v, _) = cli.run(
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--period",
            "30",
            "--json",
        ],
        "",
    );
    assert_eq!(status, 1);
    assert_eq!(v["error"]["kind"], "period_out_of_range");
    assert!(v["plan"].is_null());
    // Read-only: refused before the MFA code is asked.
    let (status, v, stderr) = cli.run(
        &[
            "key",
            "rotate",
            "alias/claims-costs",
            "--on-demand",
            "--read-only",
            "--reason",
            "r",
            "--json",
        ],
        "",
    );
    assert_eq!(status, 1);
    assert_eq!(v["error"]["kind"], "read_only");
    assert!(!stderr.contains("MFA code"), "{stderr}");
    assert_eq!(emu.request_count(), n);

    // The wrong name typed: the error says what to type; nothing changes.
    let (status, v, _) = cli.run(
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--reason",
            "r",
            "--yes-i-typed",
            "claims-cost",
            "--json",
        ],
        &code(),
    );
    assert_eq!(status, 1);
    assert_eq!(v["error"]["kind"], "wrong_name");
    assert_eq!(v["error"]["expected"], "claims-costs");
    assert_eq!(
        v["plan"]["operation"]["params"]["rotation_period_in_days"], 365,
        "the default period"
    );
    // The name typed at the prompt (a line on stdin), but no reason: required by the settings.
    emu.advance(Duration::from_secs(30));
    let (status, v, stderr) = cli.run(
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--disable",
            "--json",
        ],
        &format!("{}claims-costs\n", code()),
    );
    assert_eq!(status, 1, "{stderr}");
    assert_eq!(v["error"]["kind"], "reason_required", "{v:#}");
    assert!(stderr.contains("Type claims-costs to confirm"), "{stderr}");
    // A pre-check refusal.
    emu.advance(Duration::from_secs(30));
    let (status, v, _) = cli.run(
        &[
            "key",
            "rotate",
            "alias/aws/sqs",
            "--on-demand",
            "--reason",
            "r",
            "--json",
        ],
        &code(),
    );
    assert_eq!(status, 1);
    assert_eq!(v["error"]["kind"], "refused");
    assert_eq!(v["error"]["refusals"][0]["check"], "aws_managed");

    assert_eq!(rotation_of(&emu, "alias/claims-costs"), (false, 365));
    assert!(mutations(&emu, t0).is_empty());
    assert!(
        records(&cli.audit_file())
            .iter()
            .all(|r| r.kind == Kind::Session),
        "no intent was written"
    );
}

#[test]
fn a_signal_mid_action_records_the_outcome_and_exits_non_zero() {
    let emu = claims();
    let cli = Cli::new(&emu);
    emu.add_fault(
        FaultRule::for_op(Service::Kms, "EnableKeyRotation")
            .latency(Duration::from_secs(10), Duration::ZERO),
    );
    let mut child = cli
        .command(&[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--reason",
            "r",
            "--yes-i-typed",
            "claims-costs",
            "--json",
        ])
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap()).as_bytes())
            .unwrap();
    }
    let mut waited = 0;
    while !records(&cli.audit_file())
        .iter()
        .any(|r| r.kind == Kind::Intent)
    {
        std::thread::sleep(Duration::from_millis(20));
        waited += 1;
        assert!(waited < 1000, "no intent written");
    }
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(143),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["signal"], "SIGTERM");
    assert_eq!(v["error"]["kind"], "interrupted");
    let recs = records(&cli.audit_file());
    let outcome = recs
        .iter()
        .find(|r| r.kind == Kind::Outcome)
        .expect("an outcome");
    assert_eq!(
        outcome.outcome.as_ref().unwrap().status,
        Status::Interrupted
    );
    let (status, out) = verify(&cli.audit_file());
    assert_eq!(
        status,
        phi_console::audit::cli::EXIT_SEALS_NOT_VERIFIED,
        "{out}"
    );
}

/// The review's case: global options given before the subcommand were silently ignored (the
/// key rotated in `--read-only`, and `--profile` fell back to `default`). Every global option
/// now works on either side; here through the real binary, with every request counted.
#[test]
fn global_options_before_the_subcommand_are_obeyed() {
    let emu = claims();
    let cli = Cli::new(&emu);
    let d = cli.0.dir.path();
    let settings = d.join("settings.toml");
    let run = |args: &[&str], input: &str| {
        use std::io::Write;
        let c = cli.command(&[]);
        // `command` appends the globals after its args; rebuild with the globals first.
        let mut full: Vec<std::ffi::OsString> = vec![
            "--read-only".into(),
            "--profile".into(),
            "demo".into(),
            "--endpoint-url".into(),
            cli.0.url.clone().into(),
            "--config".into(),
            settings.clone().into(),
            "--region".into(),
            "us-east-1".into(),
        ];
        full.extend(args.iter().map(Into::into));
        full.push("--audit-dir".into());
        full.push(d.join("audit").into());
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_phi-console"));
        cmd.args(&full);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let before = rotation_of(&emu, "alias/claims-costs");
    let n = emu.request_count();
    for args in [
        &[
            "key",
            "rotate",
            "alias/claims-costs",
            "--on-demand",
            "--reason",
            "r",
            "--json",
        ][..],
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--period",
            "180",
            "--reason",
            "r",
            "--json",
        ][..],
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--disable",
            "--reason",
            "r",
            "--json",
        ][..],
    ] {
        let code = format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap());
        let (status, out, err) = run(args, &format!("{code}claims-costs\n"));
        assert_eq!(status, 1, "{out}{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["error"]["kind"], "read_only", "{out}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("profile 'demo'"),
            "--profile before the subcommand names the profile: {out}"
        );
    }
    assert_eq!(emu.request_count(), n, "no request reached the emulator");
    assert_eq!(rotation_of(&emu, "alias/claims-costs"), before);
}
