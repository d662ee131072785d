//! Restore tests run as AWS Backup restore testing plans (src/guard/restore_testing.rs,
//! src/drill/as_plan.rs): the emulator's CreateRestoreTestingPlan / CreateRestoreTestingSelection
//! / DeleteRestoreTestingSelection / DeleteRestoreTestingPlan through the adapter and the aws
//! CLI, a one-time plan that runs once on the stepped clock and deletes what it restored, the
//! two guarded actions (plans, refusals, read-only, the audit records), and `drill run` with a
//! test run as a restore testing plan (end to end, and resumed without a second plan).

use crate::common::*;
use crate::guard::{of_kind, open, records};
use phi_console::audit::{AuditConfig, AuditLog, Kind};
use phi_console::cloud::backup::{NewRestoreTestingPlan, NewRestoreTestingSelection};
use phi_console::cloud::{Cloud, CloudError};
use phi_console::emulator::Emulator;
use phi_console::guard::restore::{self as restore_action, ROLE as ROLE_P, VAULT as VAULT_P};
use phi_console::guard::restore_testing::{
    self as rt, CREATE_PLAN, DELETE_PLAN, PLAN_NAME, SELECTION_NAME, one_time_schedule,
};
use phi_console::guard::{self, Check, GuardError, Policy, Request};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/BackupRestoreRole";
const VAULT: &str = "claims-primary-vault";
const VAULT_ARN: &str = "arn:aws:backup:us-east-1:123456789012:backup-vault:claims-primary-vault";
const INTAKE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake";

fn cloud(emu: &Emulator) -> Cloud {
    Cloud::new(&config(emu), "123456789012", None, emu.now_fn())
}

fn new_plan(name: &str, schedule: &str, token: Option<&str>) -> NewRestoreTestingPlan {
    NewRestoreTestingPlan {
        name: name.into(),
        schedule: schedule.into(),
        start_window_hours: 1,
        include_vaults: vec![VAULT_ARN.into()],
        selection_window_days: 30,
        creator_request_id: token.map(str::to_string),
    }
}

fn new_selection(plan: &str, encryption: &str, hours: i32) -> NewRestoreTestingSelection {
    NewRestoreTestingSelection {
        plan_name: plan.into(),
        name: SELECTION_NAME.into(),
        resource_type: "DynamoDB".into(),
        iam_role_arn: ROLE.into(),
        protected_resource_arns: vec![INTAKE.into()],
        metadata_overrides: [("encryptionType".to_string(), encryption.to_string())]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        validation_window_hours: hours,
        creator_request_id: Some("sel-token".into()),
    }
}

fn code(e: &CloudError) -> String {
    e.code().unwrap_or_default().to_string()
}

fn restored(emu: &Emulator) -> Vec<String> {
    emu.with_world(|w| w.backup.restored_resources.keys().cloned().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_plan_is_created_runs_once_deletes_its_copy_and_is_deleted() {
    let emu = claims();
    let c = cloud(&emu);
    let (at, cron) = one_time_schedule(emu.clock().now(), 5);
    let name = "phi_drill_t1";
    let (arn, _) = c
        .create_restore_testing_plan(&new_plan(name, &cron, Some("tok-1")))
        .await
        .unwrap();
    assert!(
        arn.starts_with("arn:aws:backup:us-east-1:123456789012:restore-testing-plan:phi_drill_t1-"),
        "{arn}"
    );
    // A retry with the same CreatorRequestId gets the same plan; another request is refused.
    let (again, _) = c
        .create_restore_testing_plan(&new_plan(name, &cron, Some("tok-1")))
        .await
        .unwrap();
    assert_eq!(again, arn);
    let e = c
        .create_restore_testing_plan(&new_plan(name, &cron, Some("tok-2")))
        .await
        .unwrap_err();
    assert_eq!(code(&e), "AlreadyExistsException", "{e}");
    for (bad, schedule, what) in [
        ("bad-name", cron.as_str(), "RestoreTestingPlanName"),
        ("phi_drill_x", "cron(0/5 * ? * * *)", "the lab runs"),
        ("phi_drill_x", "cron(0 5 31 2 ? 2027)", "does not exist"),
    ] {
        let e = c
            .create_restore_testing_plan(&new_plan(bad, schedule, None))
            .await
            .unwrap_err();
        assert_eq!(code(&e), "InvalidParameterValueException", "{e}");
        assert!(e.to_string().contains(what), "{e}");
    }
    let e = c
        .create_restore_testing_selection(&new_selection("phi_drill_nope", "x", 2))
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::NotFound { .. }), "{e:?}");
    let mut two = new_selection(name, "Default", 2);
    two.protected_resource_arns = vec!["*".into(), INTAKE.into()];
    let e = c.create_restore_testing_selection(&two).await.unwrap_err();
    assert_eq!(code(&e), "InvalidParameterValueException", "{e}");
    // AWS Backup names a restore test's copy: the name is not overridable.
    let mut named = new_selection(name, "Default", 2);
    named
        .metadata_overrides
        .insert("targetTableName".into(), "claims-intake-copy".into());
    let e = c
        .create_restore_testing_selection(&named)
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidParameterValueException", "{e}");
    assert!(e.to_string().contains("targetTableName"), "{e}");
    c.create_restore_testing_selection(&new_selection(name, "Default", 2))
        .await
        .unwrap();
    let s = c
        .get_restore_testing_selection(name, SELECTION_NAME)
        .await
        .unwrap();
    assert_eq!(
        (
            s.resource_type.as_str(),
            s.iam_role_arn.as_str(),
            s.validation_window_hours,
            s.protected_resource_arns.clone()
        ),
        ("DynamoDB", ROLE, 2, vec![INTAKE.to_string()])
    );
    let p = c.get_restore_testing_plan(name).await.unwrap();
    assert_eq!(
        (
            p.schedule.as_str(),
            p.start_window_hours,
            p.include_vaults.clone()
        ),
        (cron.as_str(), 1, vec![VAULT_ARN.to_string()])
    );
    // A plan with a selection is not deleted.
    let e = c.delete_restore_testing_plan(name).await.unwrap_err();
    assert_eq!(code(&e), "InvalidRequestException", "{e}");

    // Nothing before the time; one restore job at it, into the overriding name.
    emu.advance(Duration::from_secs(60));
    assert!(c.list_restore_jobs_of_plan(&arn).await.unwrap().is_empty());
    emu.advance(Duration::from_secs(6 * 60));
    let jobs = c.list_restore_jobs_of_plan(&arn).await.unwrap();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0].created, Some(at));
    assert_eq!(jobs[0].restore_testing_plan.as_deref(), Some(arn.as_str()));
    emu.advance(Duration::from_secs(20 * 60));
    let job = c.describe_restore_job(&jobs[0].id).await.unwrap();
    assert_eq!(job.status, "COMPLETED");
    let copy = job.created_resource_arn.clone().unwrap();
    assert!(
        copy.contains(":table/awsbackup-restore-test-"),
        "a new table AWS named: {copy}"
    );
    let meta = c.restore_job_metadata(&job.id).await.unwrap();
    assert_eq!(
        meta.get("encryptionType").map(String::as_str),
        Some("Default"),
        "the override: {meta:?}"
    );
    assert!(restored(&emu).contains(&copy));
    // Two validation hours (and the deletion's minutes) later AWS Backup has deleted it; a
    // day later the one-time plan has not run again.
    emu.advance(Duration::from_secs(86_400));
    let jobs = c.list_restore_jobs_of_plan(&arn).await.unwrap();
    assert_eq!(jobs.len(), 1, "it ran once");
    assert_eq!(jobs[0].deletion_status.as_deref(), Some("SUCCESSFUL"));
    assert!(!restored(&emu).contains(&copy));

    c.delete_restore_testing_selection(name, SELECTION_NAME)
        .await
        .unwrap();
    let e = c
        .delete_restore_testing_selection(name, SELECTION_NAME)
        .await
        .unwrap_err();
    assert!(matches!(e, CloudError::NotFound { .. }), "{e:?}");
    c.delete_restore_testing_plan(name).await.unwrap();
    let e = c.get_restore_testing_plan(name).await.unwrap_err();
    assert!(matches!(e, CloudError::NotFound { .. }), "{e:?}");
    let e = c.delete_restore_testing_plan(name).await.unwrap_err();
    assert!(matches!(e, CloudError::NotFound { .. }), "{e:?}");
    assert!(
        !c.list_restore_testing_plans()
            .await
            .unwrap()
            .iter()
            .any(|p| p.name == name)
    );
}

#[test]
fn the_aws_cli_creates_and_deletes_restore_testing_plans() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let emu = start(
        phi_console::emulator::Scenario::Claims,
        phi_console::emulator::ClockMode::ManualAt(at),
    );
    let url = emu.endpoint_url();
    let plan = serde_json::json!({
        "RestoreTestingPlanName": "phi_drill_cli",
        "ScheduleExpression": "cron(10 12 1 DEC ? 2026)",
        "ScheduleExpressionTimezone": "Etc/UTC",
        "StartWindowHours": 1,
        "RecoveryPointSelection": {
            "Algorithm": "LATEST_WITHIN_WINDOW",
            "IncludeVaults": [VAULT_ARN],
            "RecoveryPointTypes": ["SNAPSHOT"],
            "SelectionWindowDays": 7
        }
    })
    .to_string();
    let created = aws_json(
        &url,
        &[
            "backup",
            "create-restore-testing-plan",
            "--restore-testing-plan",
            &plan,
            "--creator-request-id",
            "cli-1",
        ],
    );
    assert_eq!(created["RestoreTestingPlanName"], "phi_drill_cli");
    assert_eq!(
        created["CreationTime"].as_f64(),
        Some(at.timestamp() as f64)
    );
    let arn = created["RestoreTestingPlanArn"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, _, err) = run_aws(
        &url,
        &[
            "backup",
            "create-restore-testing-plan",
            "--restore-testing-plan",
            &plan,
        ],
        "AKIATESTKEY",
    );
    assert_ne!(code, 0);
    assert!(err.contains("AlreadyExistsException"), "{err}");
    let selection = serde_json::json!({
        "RestoreTestingSelectionName": "phi_drill_selection",
        "ProtectedResourceType": "DynamoDB",
        "IamRoleArn": ROLE,
        "ProtectedResourceArns": [INTAKE],
        "RestoreMetadataOverrides": {"encryptionType": "Default"},
        "ValidationWindowHours": 1
    })
    .to_string();
    let s = aws_json(
        &url,
        &[
            "backup",
            "create-restore-testing-selection",
            "--restore-testing-plan-name",
            "phi_drill_cli",
            "--restore-testing-selection",
            &selection,
        ],
    );
    assert_eq!(
        (
            s["RestoreTestingPlanArn"].as_str(),
            s["RestoreTestingSelectionName"].as_str()
        ),
        (Some(arn.as_str()), Some("phi_drill_selection"))
    );
    let got = aws_json(
        &url,
        &[
            "backup",
            "get-restore-testing-selection",
            "--restore-testing-plan-name",
            "phi_drill_cli",
            "--restore-testing-selection-name",
            "phi_drill_selection",
        ],
    );
    assert_eq!(
        got["RestoreTestingSelection"]["RestoreMetadataOverrides"]["encryptionType"],
        "Default"
    );
    let (code, _, err) = run_aws(
        &url,
        &[
            "backup",
            "delete-restore-testing-plan",
            "--restore-testing-plan-name",
            "phi_drill_cli",
        ],
        "AKIATESTKEY",
    );
    assert_ne!(code, 0);
    assert!(err.contains("InvalidRequestException"), "{err}");
    // The run at 12:10 (the CLI prints the epoch seconds the service sent).
    emu.advance(Duration::from_secs(11 * 60));
    let jobs = aws_json(
        &url,
        &[
            "backup",
            "list-restore-jobs",
            "--by-restore-testing-plan-arn",
            &arn,
        ],
    );
    let jobs = jobs["RestoreJobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0]["CreationDate"].as_f64(),
        Some((at.timestamp() + 600) as f64)
    );
    for args in [
        vec![
            "backup",
            "delete-restore-testing-selection",
            "--restore-testing-plan-name",
            "phi_drill_cli",
            "--restore-testing-selection-name",
            "phi_drill_selection",
        ],
        vec![
            "backup",
            "delete-restore-testing-plan",
            "--restore-testing-plan-name",
            "phi_drill_cli",
        ],
    ] {
        aws_json(&url, &args);
    }
    let (code, _, err) = run_aws(
        &url,
        &[
            "backup",
            "get-restore-testing-plan",
            "--restore-testing-plan-name",
            "phi_drill_cli",
        ],
        "AKIATESTKEY",
    );
    assert_ne!(code, 0);
    assert!(err.contains("ResourceNotFoundException"), "{err}");
}

// ---- the guarded actions ---------------------------------------------------------------------

struct Lab {
    emu: Emulator,
    session: phi_console::session::Session,
    policy: Policy,
    log: Arc<AuditLog>,
    path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

async fn lab() -> Lab {
    let emu = claims();
    let session = open(&emu).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit").join("claims.jsonl");
    let log = Arc::new(AuditLog::open(AuditConfig::new(&path)).unwrap());
    Lab {
        emu,
        session,
        policy: Policy {
            step_up_minutes: 600,
            ..Policy::default()
        },
        log,
        path,
        _dir: dir,
    }
}

impl Lab {
    async fn execute(&self, request: &Request) -> Result<guard::Executed, GuardError> {
        let plan = guard::plan(&self.session, &self.policy, request).await?;
        let c = guard::confirm(&plan, &plan.confirm_text, Some("DR drill"), None, true)?;
        guard::execute(&self.log, &self.session, &self.policy, c).await
    }
}

fn create_of(target: &str, plan_name: &str) -> Request {
    Request::new(&CREATE_PLAN, target)
        .param(ROLE_P.name, ROLE)
        .param(VAULT_P.name, VAULT)
        .param(PLAN_NAME.name, plan_name)
}

fn refusal(e: GuardError) -> Vec<guard::Refusal> {
    match e {
        GuardError::Refused { refusals, .. } => refusals,
        e => panic!("{e:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guarded_plan_restores_into_a_new_name_and_is_deleted_once_its_job_ended() {
    let lab = lab().await;
    let name = "phi_drill_guarded";
    let plan = guard::plan(&lab.session, &lab.policy, &create_of(INTAKE, name))
        .await
        .unwrap();
    assert_eq!(plan.action, "backup:CreateRestoreTestingPlan");
    assert_eq!(plan.confirm_text, name);
    assert!(
        plan.calls[0].contains("no metadata overrides"),
        "AWS Backup names the copy: {}",
        plan.calls[0]
    );
    let (at, cron) = one_time_schedule(lab.session.now(), 5);
    assert_eq!(plan.operation.text("schedule"), Some(cron.as_str()));
    assert!(
        plan.calls[0].contains("StartWindowHours=1"),
        "{}",
        plan.calls[0]
    );
    assert!(plan.calls[0].contains("ValidationWindowHours=24"));
    let facts: Vec<String> = plan
        .facts
        .iter()
        .map(|f| format!("{}: {}", f.label, f.value))
        .collect();
    assert!(
        facts.iter().any(|f| f.starts_with("runs: once, at")),
        "{facts:?}"
    );
    assert!(
        facts.iter().any(|f| f.starts_with("afterwards:")
            && f.contains("named by AWS Backup (awsbackup-restore-test-")
            && f.contains("until AWS Backup deletes it")),
        "{facts:?}"
    );
    assert!(records(&lab.path).is_empty(), "planning records nothing");

    let x = lab.execute(&create_of(INTAKE, name)).await.unwrap();
    let c = cloud(&lab.emu);
    let p = c.get_restore_testing_plan(name).await.unwrap();
    assert_eq!(p.schedule, cron);
    let s = c
        .get_restore_testing_selection(name, SELECTION_NAME)
        .await
        .unwrap();
    assert_eq!(s.protected_resource_arns, [INTAKE]);
    assert_eq!(s.validation_window_hours, 24);
    // The intent was recorded before the call, the outcome after.
    let audit = records(&lab.path);
    let intents = of_kind(&audit, Kind::Intent);
    assert_eq!(intents.len(), 1);
    assert_eq!(intents[0].id, x.intent_id);
    assert_eq!(intents[0].action(), Some("backup:CreateRestoreTestingPlan"));
    assert_eq!(of_kind(&audit, Kind::Outcome).len(), 1);

    // The same name again is refused; so is a recovery point, no role, a target name.
    let r = refusal(
        guard::plan(&lab.session, &lab.policy, &create_of(INTAKE, name))
            .await
            .unwrap_err(),
    );
    assert_eq!(r[0].check, Check::RestoreTestingPlanExists);
    let point = c
        .list_recovery_points_by_resource(INTAKE)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.status == "COMPLETED")
        .unwrap()
        .arn;
    let r = refusal(
        guard::plan(&lab.session, &lab.policy, &create_of(&point, "phi_drill_p"))
            .await
            .unwrap_err(),
    );
    assert_eq!(r[0].check, Check::NotAResource);
    let r = refusal(
        guard::plan(
            &lab.session,
            &lab.policy,
            &create_of(INTAKE, "phi_drill_p").param(ROLE_P.name, ""),
        )
        .await
        .unwrap_err(),
    );
    let kinds: Vec<_> = r.iter().map(|r| r.check).collect();
    assert_eq!(kinds, [Check::RestoreRoleMissing]);
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &create_of(INTAKE, "phi_drill_p").param(restore_action::TARGET_NAME.name, "claims-intake"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::InvalidRequest(m) if m.contains("has no parameter 'target_name'")),
        "{e:?}"
    );
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::new(&DELETE_PLAN, "claims-weekly-restore-test"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &e,
            GuardError::InvalidParam { .. } | GuardError::InvalidRequest(_)
        ),
        "only the console's plans: {e:?}"
    );

    // While its job runs the plan is not deleted; after, it is, with its selection.
    lab.emu.advance(Duration::from_secs(6 * 60));
    let jobs = c.list_restore_jobs_of_plan(&p.arn).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].created, Some(at));
    let r = refusal(
        guard::plan(&lab.session, &lab.policy, &Request::new(&DELETE_PLAN, name))
            .await
            .unwrap_err(),
    );
    assert_eq!(r[0].check, Check::RestoreTestRunning);
    lab.emu.advance(Duration::from_secs(20 * 60));
    let job = c.describe_restore_job(&jobs[0].id).await.unwrap();
    assert_eq!(job.status, "COMPLETED");
    assert!(
        job.created_resource_arn
            .as_deref()
            .unwrap()
            .contains(":table/awsbackup-restore-test-")
    );
    let plan = guard::plan(&lab.session, &lab.policy, &Request::new(&DELETE_PLAN, name))
        .await
        .unwrap();
    assert_eq!(
        plan.calls[0],
        format!(
            "backup:DeleteRestoreTestingSelection {SELECTION_NAME}, then backup:DeleteRestoreTestingPlan {name}"
        )
    );
    lab.execute(&Request::new(&DELETE_PLAN, name))
        .await
        .unwrap();
    assert!(matches!(
        c.get_restore_testing_plan(name).await.unwrap_err(),
        CloudError::NotFound { .. }
    ));
    assert!(
        c.list_restore_testing_selections(name).await.is_err(),
        "its selection went with it"
    );
    let audit = records(&lab.path);
    assert_eq!(
        of_kind(&audit, Kind::Intent)
            .iter()
            .filter(|r| r.action() == Some("backup:DeleteRestoreTestingPlan"))
            .count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_both_actions_at_the_plan_and_the_executor() {
    let lab = lab().await;
    let ro = Policy {
        read_only: true,
        ..lab.policy
    };
    for request in [
        create_of(INTAKE, "phi_drill_ro"),
        Request::new(&DELETE_PLAN, "phi_drill_ro"),
    ] {
        let e = guard::plan(&lab.session, &ro, &request).await.unwrap_err();
        assert!(matches!(e, GuardError::ReadOnly { .. }), "{e:?}");
    }
    let plan = guard::plan(
        &lab.session,
        &lab.policy,
        &create_of(INTAKE, "phi_drill_ro"),
    )
    .await
    .unwrap();
    let c = guard::confirm(&plan, &plan.confirm_text, Some("r"), None, true).unwrap();
    let e = guard::execute(&lab.log, &lab.session, &ro, c)
        .await
        .unwrap_err();
    assert!(matches!(e, GuardError::ReadOnly { .. }), "{e:?}");
    assert!(
        cloud(&lab.emu)
            .get_restore_testing_plan("phi_drill_ro")
            .await
            .is_err(),
        "nothing was created"
    );
    assert!(of_kind(&records(&lab.path), Kind::Intent).is_empty());
    let _ = rt::PLAN_PREFIX;
}
