//! Restore tests and DR drills (src/guard/restore.rs, src/drill) against the emulator on its
//! manual clock: planning from GetRecoveryPointRestoreMetadata for each seeded resource type,
//! refusals (over the source, no role, read-only), a failing restore followed to its end, an
//! RTO missed, the validation result seen by the emulator, the cleanup command; and the
//! `phi-console drill` binary: a three-test runbook end to end with both reports checked, a
//! drill killed mid-way and resumed without restarting a restore, malformed runbooks.

use crate::common::*;
use crate::guard::{of_kind, open, records};
use phi_console::audit::{AuditConfig, AuditLog, Kind};
use phi_console::drill::report::{self, DrillReport};
use phi_console::emulator::Emulator;
use phi_console::emulator::services::backup::{RestoreBehaviour, RestoreStatus, tick};
use phi_console::guard::restore::{self, CLEANUP, PUT_VALIDATION, START_RESTORE};
use phi_console::guard::watch::{self, Pace};
use phi_console::guard::{self, Check, GuardError, Policy, Request};
use phi_console::session::Session;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/BackupRestoreRole";
const VAULT: &str = "claims-primary-vault";
const INTAKE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake";
const PAYMENTS: &str = "arn:aws:rds:us-east-1:123456789012:db:claims-payments";
const DOCS: &str = "arn:aws:s3:::claims-documents";

struct Lab {
    emu: Emulator,
    session: Session,
    policy: Policy,
    log: Arc<AuditLog>,
    path: PathBuf,
    dir: tempfile::TempDir,
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
        // Restores take emulated half hours here; a fresh code per step is tested elsewhere.
        policy: Policy {
            step_up_minutes: 60,
            ..Policy::default()
        },
        log,
        path,
        dir,
    }
}

fn restore_of(target: &str) -> Request {
    Request::new(&START_RESTORE, target)
        .param(restore::ROLE.name, ROLE)
        .param(restore::VAULT.name, VAULT)
}

impl Lab {
    async fn execute(&self, request: &Request) -> Result<guard::Executed, GuardError> {
        let plan = guard::plan(&self.session, &self.policy, request).await?;
        let c = guard::confirm(&plan, &plan.confirm_text, Some("DR drill"), None, true)?;
        guard::execute(&self.log, &self.session, &self.policy, c).await
    }
    fn jobs(&self) -> usize {
        self.emu.with_world(|w| w.backup.restore_jobs.len())
    }
}

/// The newest COMPLETED recovery point of a resource, and its creation time, in the world.
fn newest(emu: &Emulator, resource: &str) -> (String, chrono::DateTime<chrono::Utc>) {
    emu.with_world(|w| {
        w.backup
            .recovery_points
            .values()
            .filter(|p| p.resource_arn == resource && p.status == "COMPLETED")
            .max_by_key(|p| p.creation_date)
            .map(|p| (p.arn.clone(), p.creation_date))
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restores_are_planned_from_the_metadata_for_each_seeded_type() {
    let lab = lab().await;
    let jobs = lab.jobs();
    for (arn, rtype, key, source) in [
        (INTAKE, "DynamoDB", "targetTableName", "claims-intake"),
        (PAYMENTS, "RDS", "DBInstanceIdentifier", "claims-payments"),
        (DOCS, "S3", "DestinationBucketName", "claims-documents"),
    ] {
        let plan = guard::plan(&lab.session, &lab.policy, &restore_of(arn))
            .await
            .unwrap();
        let (point, created) = newest(&lab.emu, arn);
        assert_eq!(plan.operation.target(), point, "{rtype}: the newest point");
        assert_eq!(plan.action, "backup:StartRestoreJob");
        let name = plan.operation.text("target_name").unwrap().to_string();
        let stamp = lab.session.now().format("%Y%m%d-%H%M").to_string();
        assert_eq!(name, format!("{source}-drill-{stamp}"), "{rtype}");
        assert_eq!(plan.confirm_text, name);
        let meta = plan.operation.params["metadata"].as_list().unwrap();
        assert!(meta.contains(&format!("{key}={name}")), "{rtype}: {meta:?}");
        assert!(
            !meta.contains(&format!("{key}={source}")),
            "{rtype}: the source is not named"
        );
        assert_eq!(plan.operation.text("iam_role_arn"), Some(ROLE));
        assert_eq!(plan.operation.text("resource_type"), Some(rtype));
        assert_eq!(
            plan.operation.text("recovery_point_created"),
            Some(phi_console::audit::writer::format_time(created).as_str())
        );
        let facts: Vec<String> = plan
            .facts
            .iter()
            .map(|f| format!("{}: {}", f.label, f.value))
            .collect();
        assert!(
            facts
                .iter()
                .any(|f| f.starts_with("recovery point age: ") && f.contains("the RPO")),
            "{facts:?}"
        );
        assert!(
            facts.iter().any(
                |f| f.starts_with(&format!("metadata override: {key} = {name}"))
                    && f.contains(&format!("AWS proposed \"{source}\""))
            ),
            "{facts:?}"
        );
        assert!(
            facts
                .iter()
                .any(|f| f.starts_with("afterwards: a NEW") && f.contains("24 h")),
            "{facts:?}"
        );
        assert!(plan.calls[0].contains(&format!("{key}={name}")));
        match rtype {
            "S3" => assert!(meta.contains(&"NewBucket=true".to_string())),
            "RDS" => assert!(meta.contains(&"DeletionProtection=false".to_string())),
            _ => {}
        }
        // The same point named by its ARN (no vault given) plans the same restore.
        let by_point = guard::plan(
            &lab.session,
            &lab.policy,
            &Request::new(&START_RESTORE, point.clone()).param(restore::ROLE.name, ROLE),
        )
        .await
        .unwrap();
        assert_eq!(by_point.operation.target(), point);
    }
    assert_eq!(lab.jobs(), jobs, "planning starts nothing");
    assert!(records(&lab.path).is_empty(), "planning records nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restoring_over_the_source_without_a_role_or_read_only_is_refused() {
    let lab = lab().await;
    let jobs = lab.jobs();
    let refusal = |e: GuardError| match e {
        GuardError::Refused { refusals, .. } => refusals,
        e => panic!("{e:?}"),
    };
    let r = refusal(
        guard::plan(
            &lab.session,
            &lab.policy,
            &restore_of(INTAKE).param(restore::TARGET_NAME.name, "claims-intake"),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(r[0].check, Check::RestoreOverSource);
    assert!(r[0].message.contains("never restores over its source"));
    let r = refusal(
        guard::plan(
            &lab.session,
            &lab.policy,
            &Request::new(&START_RESTORE, PAYMENTS).param(restore::VAULT.name, VAULT),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(r[0].check, Check::RestoreRoleMissing);
    assert!(
        r[0].message.contains("restore_role_arn"),
        "{}",
        r[0].message
    );
    let r = refusal(
        guard::plan(
            &lab.session,
            &lab.policy,
            &restore_of("arn:aws:dynamodb:us-east-1:123456789012:table/nope"),
        )
        .await
        .unwrap_err(),
    );
    assert_eq!(r[0].check, Check::NoRecoveryPoint);

    // Read-only: refused at the plan, and at the executor for a plan made before.
    let ro = Policy {
        read_only: true,
        ..lab.policy
    };
    for request in [
        restore_of(INTAKE),
        Request::new(&PUT_VALIDATION, "job-1").param(
            restore::VALIDATION_STATUS.name,
            guard::ParamValue::Choice("SUCCESSFUL".into()),
        ),
        Request::new(&CLEANUP, DOCS).param(restore::JOB.name, "job-1"),
    ] {
        let e = guard::plan(&lab.session, &ro, &request).await.unwrap_err();
        assert!(matches!(e, GuardError::ReadOnly { .. }), "{e:?}");
    }
    let plan = guard::plan(&lab.session, &lab.policy, &restore_of(INTAKE))
        .await
        .unwrap();
    let c = guard::confirm(&plan, &plan.confirm_text, Some("r"), None, true).unwrap();
    let e = guard::execute(&lab.log, &lab.session, &ro, c)
        .await
        .unwrap_err();
    assert!(matches!(e, GuardError::ReadOnly { .. }), "{e:?}");
    assert_eq!(lab.jobs(), jobs, "no restore started");
    assert!(
        records(&lab.path).is_empty(),
        "nothing ran, nothing recorded"
    );
}

/// Runs the restore, steps the clock past its end, and watches it (one poll).
async fn restore_and_watch(
    lab: &Lab,
    request: &Request,
    step: Duration,
) -> (guard::Executed, watch::Watched) {
    let x = lab.execute(request).await.unwrap();
    let started = x.started().unwrap();
    lab.emu.advance(step);
    let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let w = watch::watch(
        &lab.log,
        &lab.session.cloud(),
        &started,
        Pace::Ticks(rx),
        |_| {},
    )
    .await
    .unwrap();
    (x, w)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_restore_ends_failed_in_awss_words_and_cannot_be_validated() {
    let lab = lab().await;
    lab.emu.with_world(|w| {
        w.backup.restore_overrides.insert(
            "DynamoDB".into(),
            RestoreBehaviour {
                pending_seconds: 60,
                running_seconds: 300,
                fail: true,
                failure_message: "Restore failed: the table limit of the account was reached."
                    .into(),
            },
        )
    });
    let (x, w) = restore_and_watch(&lab, &restore_of(INTAKE), Duration::from_secs(400)).await;
    assert_eq!(w.last.status, "FAILED");
    assert_eq!(
        w.last.message.as_deref(),
        Some("Restore failed: the table limit of the account was reached.")
    );
    assert_eq!(w.last.elapsed_s, Some(360));
    let tasks = of_kind(&records(&lab.path), Kind::Task);
    assert_eq!(tasks.len(), 2, "start and finish");
    assert_eq!(tasks[1].event.as_deref(), Some("finish"));
    assert_eq!(tasks[1].intent_id.as_deref(), Some(x.intent_id.as_str()));
    let d = tasks[1].details.as_ref().unwrap();
    assert_eq!(d["final_state"], "FAILED");
    assert_eq!(d["handle"]["kind"], "restore_job");
    assert_eq!(d["elapsed_s"], 360);
    let job = x.handle.unwrap().id;
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::new(&PUT_VALIDATION, job.clone()).param(
            restore::VALIDATION_STATUS.name,
            guard::ParamValue::Choice("SUCCESSFUL".into()),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::RestoreNotCompleted),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_restore_misses_its_rto_then_is_validated_and_cleaned_up() {
    let lab = lab().await;
    lab.emu.with_world(|w| {
        w.backup.restore_overrides.insert(
            "RDS".into(),
            RestoreBehaviour {
                pending_seconds: 60,
                running_seconds: 1800,
                ..Default::default()
            },
        )
    });
    let (x, w) = restore_and_watch(&lab, &restore_of(PAYMENTS), Duration::from_secs(1900)).await;
    assert_eq!(w.last.status, "COMPLETED");
    let job_id = x.handle.unwrap().id;
    let job = lab
        .session
        .cloud()
        .describe_restore_job(&job_id)
        .await
        .unwrap();
    let rto = report::measure(20, job.duration());
    assert_eq!((rto.achieved_s, rto.met), (Some(1860), Some(false)));
    assert_eq!(report::measure(31, job.duration()).met, Some(true));
    let created = job.created_resource_arn.clone().unwrap();
    assert!(
        created.starts_with("arn:aws:rds:us-east-1:123456789012:db:claims-payments-drill-"),
        "{created}"
    );

    // The validation result reaches AWS Backup.
    let v = lab
        .execute(
            &Request::new(&PUT_VALIDATION, job_id.clone())
                .param(
                    restore::VALIDATION_STATUS.name,
                    guard::ParamValue::Choice("SUCCESSFUL".into()),
                )
                .param(restore::VALIDATION_MESSAGE.name, "check exited 0"),
        )
        .await
        .unwrap();
    let (status, message) = lab.emu.with_world(|w| {
        let j = w
            .backup
            .restore_jobs
            .iter()
            .find(|j| j.id == job_id)
            .unwrap();
        (
            j.validation_status.clone(),
            j.validation_status_message.clone(),
        )
    });
    assert_eq!(status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(message.as_deref(), Some("check exited 0"));
    assert!(!v.request_id.is_empty());

    // CHECK (the console's validate key): a check command is needed, and runs only with CHECK;
    // one that cannot be started sends nothing.
    let check = |command: Option<&str>| {
        let r = Request::new(&PUT_VALIDATION, job_id.clone()).param(
            restore::VALIDATION_STATUS.name,
            guard::ParamValue::Choice(restore::CHECK.into()),
        );
        match command {
            Some(c) => r.param(restore::CHECK_COMMAND.name, vec![c.to_string()]),
            None => r,
        }
    };
    let e = guard::plan(&lab.session, &lab.policy, &check(None))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::NoCheckCommand && refusals[0].message.contains("restore_check_command")),
        "{e:?}"
    );
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::new(&PUT_VALIDATION, job_id.clone())
            .param(
                restore::VALIDATION_STATUS.name,
                guard::ParamValue::Choice("FAILED".into()),
            )
            .param(restore::CHECK_COMMAND.name, vec!["/bin/true".to_string()]),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::InvalidParam { param, message } if param == "check_command" && message.contains("choose CHECK")),
        "{e:?}"
    );
    let e = lab
        .execute(&check(Some("/nonexistent/check-restore")))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, GuardError::Failed { code, .. } if code == "CheckCommandNotStarted"),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("no validation result was sent"),
        "{e}"
    );
    let still = lab.emu.with_world(|w| {
        w.backup
            .restore_jobs
            .iter()
            .find(|j| j.id == job_id)
            .and_then(|j| j.validation_status_message.clone())
    });
    assert_eq!(still.as_deref(), Some("check exited 0"), "nothing was sent");

    // The cleanup removes only what the restore created, through the command.
    let seen = lab.dir.path().join("cleaned");
    let command = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!(
            "echo \"$PHI_DRILL_RESOURCE_ARN $PHI_DRILL_RESTORE_JOB_ID $PHI_DRILL_RESOURCE_TYPE\" > {}",
            seen.display()
        ),
    ];
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::new(&CLEANUP, PAYMENTS)
            .param(restore::COMMAND.name, command.clone())
            .param(restore::JOB.name, job_id.clone()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::NotCreatedByRestore),
        "the source is never cleaned up: {e:?}"
    );
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::new(&CLEANUP, created.clone()).param(restore::JOB.name, job_id.clone()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::NoCleanupCommand && refusals[0].message.contains("restore_cleanup_command")),
        "{e:?}"
    );
    // A copy AWS Backup deletes itself (a restore testing plan's) is never cleaned up by a
    // command, whatever view asks.
    let mark = |d: Option<&str>| {
        lab.emu.with_world(|w| {
            for j in w.backup.restore_jobs.iter_mut().filter(|j| j.id == job_id) {
                j.deletion_status = d.map(str::to_string);
            }
        })
    };
    mark(Some("DELETING"));
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::new(&CLEANUP, created.clone())
            .param(restore::COMMAND.name, command.clone())
            .param(restore::JOB.name, job_id.clone()),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::DeletedByAwsBackup && refusals[0].message.contains("deletion DELETING")),
        "{e:?}"
    );
    mark(None);
    let c = lab
        .execute(
            &Request::new(&CLEANUP, created.clone())
                .param(restore::COMMAND.name, command)
                .param(restore::JOB.name, job_id.clone()),
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap().trim(),
        format!("{created} {job_id} RDS")
    );
    // Every action has its intent and its outcome (the check that could not start too).
    let recs = records(&lab.path);
    let intents = of_kind(&recs, Kind::Intent);
    assert_eq!(
        intents
            .iter()
            .map(|r| r.action().unwrap())
            .collect::<Vec<_>>(),
        [
            "backup:StartRestoreJob",
            "backup:PutRestoreValidationResult",
            "backup:PutRestoreValidationResult",
            "local:RunCleanupCommand"
        ]
    );
    assert_eq!(intents[3].id, c.intent_id);
    assert_eq!(of_kind(&recs, Kind::Outcome).len(), 4);
}

// ---- the binary ----------------------------------------------------------------------------

struct Bin {
    dir: tempfile::TempDir,
    url: String,
}

impl Bin {
    fn new(emu: &Emulator, settings: &str) -> Bin {
        let dir = tempfile::tempdir().unwrap();
        write_demo_aws_files(dir.path());
        std::fs::write(dir.path().join("settings.toml"), settings).unwrap();
        Bin {
            dir,
            url: emu.endpoint_url(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn command(&self, args: &[&str]) -> std::process::Command {
        let d = self.dir.path();
        let mut c = isolated_binary(d);
        c.args(args)
            .args(["--profile", "demo", "--endpoint-url", &self.url])
            .arg("--config")
            .arg(d.join("settings.toml"));
        c
    }
    fn spawn(&self, emu: &Emulator, args: &[&str], input: &str) -> std::process::Child {
        use std::io::Write;
        // A TOTP code is taken once: the next run waits for the next step.
        emu.advance(Duration::from_secs(30));
        let mut child = self.command(args).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let code = emu
            .totp(phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL)
            .unwrap();
        let _ = stdin.write_all(format!("{code}\n{input}").as_bytes());
        drop(stdin);
        child
    }
    fn drill_args(&self, runbook: &Path) -> Vec<String> {
        let d = self.dir.path();
        vec![
            "drill".into(),
            "run".into(),
            runbook.display().to_string(),
            "--json".into(),
            "--report-dir".into(),
            d.join("reports").display().to_string(),
            "--poll-seconds".into(),
            "1".into(),
            "--yes-i-typed".into(),
            "claims-q4".into(),
            "--reason".into(),
            "quarterly DR drill".into(),
            "--audit-dir".into(),
            d.join("audit").display().to_string(),
        ]
    }
}

/// Steps the emulator's clock while a restore job (not a restore test's) is unfinished, until
/// the child exits or `stop(world's manual jobs)` says to kill it.
fn drive(
    emu: &Emulator,
    audit: &Path,
    child: std::process::Child,
    stop: impl Fn(usize) -> bool,
) -> (Option<i32>, String, String) {
    drive_with(emu, audit, child, |n| stop(n).then_some(libc::SIGKILL))
}

/// [`drive`], sending the signal `stop` returns (once); after a signal the clock stands
/// still, and a SIGKILL ends the wait at once.
fn drive_with(
    emu: &Emulator,
    audit: &Path,
    mut child: std::process::Child,
    stop: impl Fn(usize) -> Option<i32>,
) -> (Option<i32>, String, String) {
    use std::io::Read;
    // The clock stands still until the child's session is open (its MFA code is checked at
    // the emulator's time).
    let starts = || {
        records(audit)
            .iter()
            .filter(|r| r.kind == Kind::Session && r.event.as_deref() == Some("start"))
            .count()
    };
    let starts0 = starts();
    let mut open = false;
    let mut signalled = false;
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drill did not end"
        );
        open = open || starts() > starts0;
        if !open {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let now = emu.clock().now();
        let (running, manual) = emu.with_world(|w| {
            tick(w, now);
            let manual: Vec<_> = w
                .backup
                .restore_jobs
                .iter()
                .filter(|j| j.restore_testing_plan_arn.is_none())
                .collect();
            (manual.iter().any(|j| !j.status.is_terminal()), manual.len())
        });
        if !signalled && let Some(sig) = stop(manual) {
            signalled = true;
            if sig == libc::SIGKILL {
                child.kill().unwrap();
                let _ = child.wait();
                break None;
            }
            // SAFETY: a signal to our own child process, by its pid.
            unsafe { libc::kill(child.id() as i32, sig) };
        }
        if running && !signalled {
            emu.advance(Duration::from_secs(30));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, o.join().unwrap(), e.join().unwrap())
}

fn manual_jobs(emu: &Emulator) -> Vec<(String, String, Option<String>, String)> {
    emu.with_world(|w| {
        w.backup
            .restore_jobs
            .iter()
            .filter(|j| j.restore_testing_plan_arn.is_none())
            .map(|j| {
                (
                    j.id.clone(),
                    j.status.as_str().to_string(),
                    j.validation_status.clone(),
                    j.target_resource_arn.clone(),
                )
            })
            .collect()
    })
}

fn runbook(bin: &Bin, tests: &str) -> PathBuf {
    let p = bin.path("claims-q4.toml");
    std::fs::write(
        &p,
        format!(
            "[drill]\nname = \"claims-q4\"\napproved_by = \"Dana Reyes\"\napproved_on = \"2026-11-20\"\nticket = \"CHG-2211\"\n\n{tests}"
        ),
    )
    .unwrap();
    p
}

fn test_toml(name: &str, resource: &str, rto: i64, check: &str, cleanup_log: &Path) -> String {
    format!(
        "[[test]]\nname = \"{name}\"\nvault = \"{VAULT}\"\nresource_arn = \"{resource}\"\nrto_minutes = {rto}\nrpo_minutes = 2880\nvalidation_command = [\"/bin/sh\", \"-c\", \"{check}\"]\ncleanup_command = [\"/bin/sh\", \"-c\", \"echo $PHI_DRILL_RESOURCE_ARN >> {}\"]\n\n",
        cleanup_log.display()
    )
}

fn quick_restores(emu: &Emulator) {
    emu.with_world(|w| {
        w.backup.restore_behaviour = RestoreBehaviour {
            pending_seconds: 60,
            running_seconds: 240,
            ..Default::default()
        };
        w.backup.restore_overrides.insert(
            "RDS".into(),
            RestoreBehaviour {
                pending_seconds: 60,
                running_seconds: 1800,
                ..Default::default()
            },
        );
    });
}

const SETTINGS: &str = "[defaults]\nrequire_reason = true\nrestore_role_arn = \"arn:aws:iam::123456789012:role/BackupRestoreRole\"\n";

#[test]
fn a_three_test_drill_runs_end_to_end_and_reports_every_field() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let ok = "test -n \\\"$PHI_DRILL_RESOURCE_ARN\\\"";
    let rb = runbook(
        &bin,
        &[
            test_toml("intake-table", INTAKE, 60, ok, &cleaned),
            test_toml("payments-db", PAYMENTS, 20, ok, &cleaned),
            test_toml("documents-bucket", DOCS, 60, "exit 1", &cleaned),
        ]
        .concat(),
    );
    let points: Vec<_> = [INTAKE, PAYMENTS, DOCS]
        .iter()
        .map(|r| newest(&emu, r))
        .collect();
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |_| false,
    );
    assert_eq!(code, Some(report::EXIT_VALIDATION_FAILED), "{err}\n{out}");
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let jobs = manual_jobs(&emu);
    assert_eq!(jobs.len(), 3, "one restore job per test");

    // The JSON report on disk is the one printed; every field of every test.
    let json_path = PathBuf::from(v["reports"]["json"].as_str().unwrap());
    let md_path = PathBuf::from(v["reports"]["markdown"].as_str().unwrap());
    let r: DrillReport =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(&r).unwrap()["tests"], v["tests"]);
    assert_eq!(
        (
            r.drill.as_str(),
            r.approved_by.as_str(),
            r.ticket.as_deref()
        ),
        ("claims-q4", "Dana Reyes", Some("CHG-2211"))
    );
    assert_eq!((r.exit_code, r.outcome.as_str()), (5, "failed"));
    assert_eq!(r.resumed, 0);
    assert!(
        r.operator.aws_arn.ends_with(":user/demo-operator"),
        "{:?}",
        r.operator
    );
    assert_eq!(
        (r.account.as_str(), r.region.as_str()),
        ("123456789012", "us-east-1")
    );
    assert!(r.finished_at.is_some());
    let audit = records(&bin.path("audit").join("demo.jsonl"));
    let intents = of_kind(&audit, Kind::Intent);
    for (i, t) in r.tests.iter().enumerate() {
        let (point, created) = &points[i];
        let (job, status, validation, resource) = &jobs[i];
        assert_eq!(t.recovery_point_arn.as_deref(), Some(point.as_str()));
        assert_eq!(
            t.recovery_point_created.as_deref(),
            Some(phi_console::audit::writer::format_time(*created).as_str())
        );
        assert_eq!(t.restore_job_id.as_deref(), Some(job.as_str()));
        assert_eq!(t.status, "COMPLETED");
        assert_eq!(status, "COMPLETED");
        assert_eq!(t.created_resource_arn.as_deref(), Some(resource.as_str()));
        assert!(resource.contains("-drill-"), "{resource}");
        let started =
            chrono::DateTime::parse_from_rfc3339(t.started_at.as_deref().unwrap()).unwrap();
        let completed =
            chrono::DateTime::parse_from_rfc3339(t.completed_at.as_deref().unwrap()).unwrap();
        let rto = (completed - started).num_seconds();
        assert_eq!(t.rto.achieved_s, Some(rto));
        assert_eq!(rto, if i == 1 { 1860 } else { 300 });
        assert_eq!(t.rto.met, Some(i != 1));
        assert_eq!(
            t.rpo.achieved_s,
            Some((started.with_timezone(&chrono::Utc) - *created).num_seconds())
        );
        assert_eq!(t.rpo.objective_s, 2880 * 60);
        assert_eq!(t.rpo.met, Some(true));
        let val = t.validation.as_ref().unwrap();
        assert_eq!(val.method, "command");
        assert!(val.sent);
        let want = if i == 2 { "FAILED" } else { "SUCCESSFUL" };
        assert_eq!(
            (val.status.as_str(), validation.as_deref()),
            (want, Some(want))
        );
        assert_eq!(val.exit_code, Some(if i == 2 { 1 } else { 0 }));
        assert_eq!(t.cleanup.as_ref().unwrap().status, "done");
        assert_eq!(
            t.result(),
            ["passed", "objective_missed", "validation_failed"][i]
        );
        // The audit ids are the intents of the three actions.
        for (id, action) in [
            (&t.audit.restore_intent, "backup:StartRestoreJob"),
            (
                &t.audit.validation_intent,
                "backup:PutRestoreValidationResult",
            ),
            (&t.audit.cleanup_intent, "local:RunCleanupCommand"),
        ] {
            let rec = intents
                .iter()
                .find(|r| Some(&r.id) == id.as_ref())
                .unwrap_or_else(|| panic!("{action}: {id:?}"));
            assert_eq!(rec.action(), Some(action));
            assert_eq!(
                rec.why.as_ref().and_then(|w| w.reason.as_deref()),
                Some("quarterly DR drill [drill claims-q4, confirmed once by typing its name]")
            );
            assert_eq!(
                rec.why.as_ref().and_then(|w| w.ticket.as_deref()),
                Some("CHG-2211"),
                "the runbook's ticket"
            );
        }
    }
    assert_eq!(
        std::fs::read_to_string(&cleaned)
            .unwrap()
            .lines()
            .collect::<Vec<_>>(),
        jobs.iter().map(|j| j.3.as_str()).collect::<Vec<_>>(),
        "each restored copy was cleaned up by the command"
    );
    // One MFA session: one session start in the audit log.
    let starts = audit
        .iter()
        .filter(|r| r.kind == Kind::Session && r.event.as_deref() == Some("start"))
        .count();
    assert_eq!(starts, 1);

    // The markdown report, and `drill report` renders the same from the JSON.
    let md = std::fs::read_to_string(&md_path).unwrap();
    assert!(md.starts_with("# DR drill claims-q4\n"), "{md}");
    assert!(md.contains("**Outcome: FAILED** (exit code 5)"), "{md}");
    assert!(
        md.contains("| intake-table | COMPLETED | 5m 00s ✓ |"),
        "{md}"
    );
    assert!(
        md.contains("| payments-db | COMPLETED | 31m 00s ✗ |"),
        "{md}"
    );
    assert!(
        md.contains("- RTO: 31m 00s (objective 20m 00s) — MISSED"),
        "{md}"
    );
    assert!(md.contains("- Validation: FAILED by command (exit code 1), sent to AWS Backup"));
    assert!(md.contains(&format!("- Restore job: {}", jobs[0].0)));
    for p in [&json_path, &md_path] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(p).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert!(
        !bin.path("reports").join("claims-q4.state.json").exists(),
        "a finished drill leaves no state"
    );
    let out = bin
        .command(&["drill", "report", json_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), md);
    // Progress went to stderr, once per state change.
    assert!(err.contains("[1/3] intake-table"), "{err}");
    assert!(err.contains("intake-table: COMPLETED (RTO 5m 00s"), "{err}");
}

#[test]
fn a_killed_drill_resumes_without_restarting_finished_restores() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let ok = "test -n \\\"$PHI_DRILL_RESOURCE_ARN\\\"";
    let rb = runbook(
        &bin,
        &[
            test_toml("intake-table", INTAKE, 60, ok, &cleaned),
            test_toml("documents-bucket", DOCS, 60, ok, &cleaned),
        ]
        .concat(),
    );
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Killed (SIGKILL) as soon as the second restore job exists.
    let (code, _, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |n| n >= 2,
    );
    assert_eq!(code, None, "killed: {err}");
    let state = bin.path("reports").join("claims-q4.state.json");
    let before: DrillReport =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(before.tests[0].result(), "passed");
    let first = before.tests[0].clone();
    let jobs = manual_jobs(&emu);
    assert_eq!(jobs.len(), 2);

    let (code, out, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |_| false,
    );
    assert_eq!(code, Some(0), "{err}\n{out}");
    assert!(err.contains("RESUMING"), "{err}");
    assert!(
        err.contains("[1/2] intake-table: finished earlier (passed), kept"),
        "{err}"
    );
    let jobs_after = manual_jobs(&emu);
    assert_eq!(
        jobs_after.iter().map(|j| &j.0).collect::<Vec<_>>(),
        jobs.iter().map(|j| &j.0).collect::<Vec<_>>(),
        "no restore was started again"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let r: DrillReport = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(r.resumed, 1);
    assert_eq!(r.stamp, before.stamp);
    assert_eq!(r.tests[0], first, "the finished test is reused as it was");
    assert_eq!(
        r.tests[1].restore_job_id.as_deref(),
        Some(jobs[1].0.as_str())
    );
    assert_eq!(r.tests[1].result(), "passed");
    assert_eq!((r.exit_code, r.outcome.as_str()), (0, "passed"));
    assert!(!state.exists());
    // The second restore's intent exists once (from the killed run; the rerun followed it)
    // unless the kill came before its state was saved (then the idempotency token returned
    // the same job).
    let audit = records(&bin.path("audit").join("demo.jsonl"));
    let starts = of_kind(&audit, Kind::Intent)
        .iter()
        .filter(|r| r.action() == Some("backup:StartRestoreJob"))
        .count();
    assert!((2..=3).contains(&starts), "{starts}");
    assert_eq!(jobs_after[1].2.as_deref(), Some("SUCCESSFUL"));
}

#[test]
fn malformed_runbooks_and_read_only_are_refused_before_any_restore() {
    let emu = claims();
    let bin = Bin::new(&emu, "[defaults]\nrequire_reason = true\n");
    let good_test = format!(
        "[[test]]\nname = \"t\"\nvault = \"{VAULT}\"\nresource_arn = \"{INTAKE}\"\nrto_minutes = 60\nrpo_minutes = 60\n"
    );
    let cases = [
        (
            good_test.replace("rpo_minutes", "rpo_minuets"),
            "claims-q4.toml:12: unknown field `rpo_minuets`",
        ),
        (
            good_test.replace(&format!("vault = \"{VAULT}\"\n"), ""),
            "claims-q4.toml:9: test 't' selects by resource_arn without a vault",
        ),
        (
            good_test.replace(INTAKE, "claims-intake"),
            "claims-q4.toml:10: resource_arn 'claims-intake' is not an ARN",
        ),
        (
            good_test.clone(),
            "claims-q4.toml:1: no restore role: add restore_role_arn",
        ),
    ];
    for (tests, want) in cases {
        let rb = runbook(&bin, &tests);
        let out = bin
            .command(&["drill", "run", rb.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(want), "{want}\n{err}");
    }
    // `drill report` on something that is not a report names the file and exits 2.
    let out = bin
        .command(&[
            "drill",
            "report",
            bin.path("settings.toml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("settings.toml:1: not a drill's JSON report"),
        "{err}"
    );
    let rb = runbook(
        &bin,
        &good_test.replace(
            "[[test]]",
            "restore_role_arn = \"arn:aws:iam::123456789012:role/BackupRestoreRole\"\n[[test]]",
        ),
    );
    let out = bin
        .command(&["--read-only", "drill", "run", rb.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("read-only mode: backup:StartRestoreJob"),
        "{err}"
    );
    assert!(manual_jobs(&emu).is_empty());
    assert!(emu.with_world(|w| {
        w.backup
            .restore_jobs
            .iter()
            .all(|j| j.status != RestoreStatus::Running || j.restore_testing_plan_arn.is_some())
    }));
}

#[test]
fn drill_plans_lists_the_restore_testing_plans_with_their_selections() {
    let emu = claims();
    let bin = Bin::new(&emu, "[defaults]\nrequire_reason = true\n");
    let d = bin.dir.path().join("audit");
    let child = bin.spawn(
        &emu,
        &[
            "drill",
            "plans",
            "--json",
            "--audit-dir",
            d.to_str().unwrap(),
        ],
        "",
    );
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let plans = v["restore_testing_plans"].as_array().unwrap();
    let p = plans
        .iter()
        .find(|p| p["name"] == "claims-weekly-restore-test")
        .unwrap();
    assert_eq!(p["schedule"], "cron(0 6 ? * SUN *)");
    let mut names: Vec<_> = p["selections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["claims-databases", "claims-intake-table"]);
    assert!(
        !p["last_results"].as_array().unwrap().is_empty(),
        "the seeded run"
    );
}

#[test]
fn a_failed_restore_is_reported_in_awss_words_and_exits_4() {
    let emu = claims();
    quick_restores(&emu);
    emu.with_world(|w| {
        w.backup.restore_overrides.insert(
            "DynamoDB".into(),
            RestoreBehaviour {
                pending_seconds: 60,
                running_seconds: 120,
                fail: true,
                failure_message: "Restore failed: the table limit of the account was reached."
                    .into(),
            },
        )
    });
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "exit 0", &cleaned),
    );
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit = bin.path("audit").join("demo.jsonl");
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert_eq!(code, Some(report::EXIT_RESTORE_FAILED), "{err}");
    let r: DrillReport = serde_json::from_str(&out).unwrap();
    let t = &r.tests[0];
    assert_eq!(t.status, "FAILED");
    assert_eq!(
        t.failure.as_deref(),
        Some("Restore failed: the table limit of the account was reached.")
    );
    assert_eq!(
        (t.rto.achieved_s, t.rto.met),
        (None, None),
        "no RTO for a failed restore"
    );
    assert!(t.rpo.achieved_s.is_some());
    assert_eq!((t.validation.as_ref(), t.cleanup.as_ref()), (None, None));
    assert_eq!(t.result(), "restore_failed");
    assert!(!cleaned.exists(), "nothing to clean up");
    let md = std::fs::read_to_string(v_path(&out, "markdown")).unwrap();
    assert!(
        md.contains("- Failure (AWS): Restore failed: the table limit of the account was reached."),
        "{md}"
    );
}

fn v_path(out: &str, which: &str) -> PathBuf {
    let v: serde_json::Value = serde_json::from_str(out).unwrap();
    PathBuf::from(v["reports"][which].as_str().unwrap())
}

#[test]
fn ctrl_c_mid_restore_keeps_the_state_exits_7_and_records_stopped() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "exit 0", &cleaned),
    );
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit = bin.path("audit").join("demo.jsonl");
    // SIGINT once the restore job exists (and before it ends: the clock stands still).
    let (code, out, err) = drive_with(&emu, &audit, bin.spawn(&emu, &args, ""), |n| {
        (n >= 1).then_some(libc::SIGINT)
    });
    assert_eq!(code, Some(report::EXIT_INTERRUPTED), "{err}");
    assert!(err.contains("the drill was interrupted"), "{err}");
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    let r: DrillReport = serde_json::from_str(&out).unwrap();
    assert_eq!((r.outcome.as_str(), r.exit_code), ("incomplete", 7));
    assert!(r.finished_at.is_none());
    let state = bin.path("reports").join("claims-q4.state.json");
    let kept: DrillReport =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let jobs = manual_jobs(&emu);
    assert_eq!(jobs.len(), 1);
    // The kill may land before the job id was saved; the token then finds the same job.
    if let Some(id) = &kept.tests[0].restore_job_id {
        assert_eq!(id, &jobs[0].0);
    }
    // The console stopped following the job: a `stopped` task record, when it was followed.
    let recs = records(&audit);
    let tasks = of_kind(&recs, Kind::Task);
    if !tasks.is_empty() {
        assert_eq!(tasks.last().unwrap().event.as_deref(), Some("stopped"));
    }
    // The rerun finishes it without a second job.
    let (code, _, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(manual_jobs(&emu).len(), 1);
    assert!(!state.exists());
}

// ---- tests run as restore testing plans ------------------------------------------------------

/// The console's restore testing plans in the world: (name, ARN).
fn drill_plans(emu: &Emulator) -> Vec<(String, String)> {
    emu.with_world(|w| {
        w.backup
            .restore_testing_plans
            .iter()
            .filter(|p| p.name.starts_with("phi_drill_"))
            .map(|p| (p.name.clone(), p.arn.clone()))
            .collect()
    })
}

/// [`drive`] for drills with tests run as plans: the clock is stepped while a console plan
/// exists (its run, its restore job, the deletion of the copy) or a manual restore runs;
/// `kill` ends the child (SIGKILL) once a plan and its selection exist.
fn drive_plans(
    emu: &Emulator,
    audit: &Path,
    mut child: std::process::Child,
    kill: bool,
) -> (Option<i32>, String, String) {
    use std::io::Read;
    let starts = || {
        records(audit)
            .iter()
            .filter(|r| r.kind == Kind::Session && r.event.as_deref() == Some("start"))
            .count()
    };
    let starts0 = starts();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let e = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut open = false;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the drill did not end"
        );
        open = open || starts() > starts0;
        if !open {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let now = emu.clock().now();
        let (planned, selected, running) = emu.with_world(|w| {
            tick(w, now);
            let plans: Vec<String> = w
                .backup
                .restore_testing_plans
                .iter()
                .filter(|p| p.name.starts_with("phi_drill_"))
                .map(|p| p.name.clone())
                .collect();
            let selected = w
                .backup
                .restore_testing_selections
                .iter()
                .any(|s| plans.contains(&s.plan_name));
            let running = w
                .backup
                .restore_jobs
                .iter()
                .any(|j| j.restore_testing_plan_arn.is_none() && !j.status.is_terminal());
            (!plans.is_empty(), selected, running)
        });
        if kill && selected {
            child.kill().unwrap();
            let _ = child.wait();
            break None;
        }
        if planned || running {
            emu.advance(Duration::from_secs(30));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (code, o.join().unwrap(), e.join().unwrap())
}

fn plan_test_toml(name: &str, resource: &str) -> String {
    format!(
        "[[test]]\nname = \"{name}\"\nvault = \"{VAULT}\"\nresource_arn = \"{resource}\"\nrto_minutes = 60\nrpo_minutes = 2880\nvalidation_command = [\"/bin/sh\", \"-c\", \"test -n \\\"$PHI_DRILL_RESOURCE_ARN\\\"\"]\nrun_as = \"restore_testing_plan\"\nvalidation_window_hours = 4\n\n"
    )
}

#[test]
fn a_test_run_as_a_restore_testing_plan_is_restored_validated_and_deleted_by_aws_backup() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &[
            plan_test_toml("intake-table", INTAKE),
            test_toml(
                "documents-bucket",
                DOCS,
                60,
                "test -n \\\"$PHI_DRILL_RESOURCE_ARN\\\"",
                &cleaned,
            ),
        ]
        .concat(),
    );
    // Read-only: refused before anything is created.
    let out = bin
        .command(&["--read-only", "drill", "run", rb.to_str().unwrap()])
        .output()
        .unwrap();
    let ro = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{ro}");
    assert!(
        ro.contains("read-only mode: backup:CreateRestoreTestingPlan"),
        "{ro}"
    );
    assert!(drill_plans(&emu).is_empty());

    let (point, point_created) = newest(&emu, INTAKE);
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit_path = bin.path("audit").join("demo.jsonl");
    let (code, out, err) = drive_plans(&emu, &audit_path, bin.spawn(&emu, &args, ""), false);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r: DrillReport = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let t = &r.tests[0];
    assert_eq!(t.result(), "passed", "{t:?}");
    let run = t.restore_testing_plan.clone().unwrap();
    assert!(run.name.starts_with("phi_drill_"), "{}", run.name);
    assert!(run.deleted, "{run:?}");
    assert!(drill_plans(&emu).is_empty(), "the drill deleted its plan");
    // The restore job the plan created, its copy named for the drill and deleted by AWS Backup
    // once the validation result arrived.
    let job = emu.with_world(|w| {
        let jobs: Vec<_> = w
            .backup
            .restore_jobs
            .iter()
            .filter(|j| j.restore_testing_plan_arn.as_deref() == run.arn.as_deref())
            .cloned()
            .collect();
        assert_eq!(jobs.len(), 1, "one run of the one-time plan");
        jobs[0].clone()
    });
    assert_eq!(t.restore_job_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(t.recovery_point_arn.as_deref(), Some(point.as_str()));
    assert_eq!(
        t.recovery_point_created.as_deref(),
        Some(phi_console::audit::writer::format_time(point_created).as_str())
    );
    assert_eq!(t.status, "COMPLETED");
    assert_eq!(t.rto.achieved_s, Some(300));
    assert!(
        job.target_resource_arn
            .contains(":table/awsbackup-restore-test-"),
        "a NEW table AWS Backup named: {}",
        job.target_resource_arn
    );
    assert_ne!(job.target_resource_arn, INTAKE);
    assert_eq!(
        t.created_resource_arn.as_deref(),
        Some(job.target_resource_arn.as_str())
    );
    assert_eq!(job.validation_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(job.deletion_status.as_deref(), Some("SUCCESSFUL"));
    assert_eq!(run.deletion_status.as_deref(), Some("SUCCESSFUL"));
    assert!(
        emu.with_world(|w| !w
            .backup
            .restored_resources
            .contains_key(&job.target_resource_arn)),
        "AWS Backup deleted the copy"
    );
    let c = t.cleanup.as_ref().unwrap();
    assert_eq!(c.status, "done");
    assert!(
        c.message
            .contains("deleted by AWS Backup (restore testing plan phi_drill_"),
        "{c:?}"
    );
    assert!(
        !std::fs::read_to_string(&cleaned)
            .unwrap_or_default()
            .contains(&job.target_resource_arn),
        "no cleanup command ran on the plan's copy"
    );
    // The other test ran as a restore job, cleaned up by its command.
    assert_eq!(r.tests[1].result(), "passed");
    assert_eq!(r.tests[1].cleanup.as_ref().unwrap().status, "done");
    assert!(r.tests[1].restore_testing_plan.is_none());
    // Create, validation and delete: each an intent recorded with the drill's reason.
    let audit = records(&audit_path);
    let intents = of_kind(&audit, Kind::Intent);
    for (id, action) in [
        (&t.audit.restore_intent, "backup:CreateRestoreTestingPlan"),
        (
            &t.audit.validation_intent,
            "backup:PutRestoreValidationResult",
        ),
        (&run.delete_intent, "backup:DeleteRestoreTestingPlan"),
    ] {
        let rec = intents
            .iter()
            .find(|r| Some(&r.id) == id.as_ref())
            .unwrap_or_else(|| panic!("{action}: {id:?}"));
        assert_eq!(rec.action(), Some(action));
        assert_eq!(
            rec.why.as_ref().and_then(|w| w.reason.as_deref()),
            Some("quarterly DR drill [drill claims-q4, confirmed once by typing its name]")
        );
    }
    assert_eq!(
        t.audit.cleanup_intent, None,
        "no cleanup command for the plan's test"
    );
    let md = std::fs::read_to_string(v_path(&out, "markdown")).unwrap();
    assert!(
        md.contains(&format!(
            "- Run as restore testing plan: {} ({}), schedule cron(",
            run.name,
            run.arn.as_deref().unwrap()
        )),
        "{md}"
    );
    assert!(md.contains("; deleted by the drill"), "{md}");
    assert!(
        md.contains("- Cleanup: done (deleted by AWS Backup (restore testing plan"),
        "{md}"
    );
    assert!(
        err.contains("as a one-time AWS Backup restore testing plan"),
        "{err}"
    );
    assert!(
        err.contains("intake-table: cleanup by AWS Backup: DeletionStatus SUCCESSFUL"),
        "{err}"
    );
}

#[test]
fn a_killed_drill_resumes_its_restore_testing_plan_without_a_second_one() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let rb = runbook(&bin, &plan_test_toml("intake-table", INTAKE));
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit_path = bin.path("audit").join("demo.jsonl");
    // Killed once the plan and its selection exist (before its restore job).
    let (code, _, err) = drive_plans(&emu, &audit_path, bin.spawn(&emu, &args, ""), true);
    assert_eq!(code, None, "killed: {err}");
    let plans = drill_plans(&emu);
    assert_eq!(plans.len(), 1);
    let state = bin.path("reports").join("claims-q4.state.json");
    let before: DrillReport =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(
        before.tests[0]
            .restore_testing_plan
            .as_ref()
            .map(|p| p.name.as_str()),
        Some(plans[0].0.as_str()),
        "the plan's name was saved before it was created"
    );

    let (code, out, err) = drive_plans(&emu, &audit_path, bin.spawn(&emu, &args, ""), false);
    assert_eq!(code, Some(0), "{err}\n{out}");
    assert!(err.contains("RESUMING"), "{err}");
    assert!(
        err.contains("exists (created earlier): not created again"),
        "{err}"
    );
    let r: DrillReport = serde_json::from_str(&out).unwrap();
    assert_eq!(r.resumed, 1);
    assert_eq!(r.tests[0].result(), "passed");
    let run = r.tests[0].restore_testing_plan.clone().unwrap();
    assert_eq!(run.name, plans[0].0);
    assert_eq!(run.arn.as_deref(), Some(plans[0].1.as_str()));
    assert!(run.deleted);
    assert!(drill_plans(&emu).is_empty());
    let creates = of_kind(&records(&audit_path), Kind::Intent)
        .iter()
        .filter(|r| r.action() == Some("backup:CreateRestoreTestingPlan"))
        .count();
    assert_eq!(creates, 1, "one plan, created once");
    let jobs = emu.with_world(|w| {
        w.backup
            .restore_jobs
            .iter()
            .filter(|j| j.restore_testing_plan_arn.as_deref() == Some(plans[0].1.as_str()))
            .count()
    });
    assert_eq!(jobs, 1);
    assert!(!state.exists());
}

// ---- adversarial review (round of issue 15) ---------------------------------------------------

/// A state file written by hand for `rb` (its sha256 recomputed, as an attacker would): one
/// entry per test, each in the state `entry` makes of it.
fn forged_state(bin: &Bin, rb: &Path, entry: impl Fn(&mut report::TestEntry)) -> PathBuf {
    let book = phi_console::drill::runbook::Runbook::load(rb).unwrap();
    let tests = book
        .tests
        .iter()
        .map(|t| {
            let mut e = report::TestEntry::new(
                &t.name,
                t.selector.describe(),
                t.rto_minutes,
                t.rpo_minutes,
            );
            entry(&mut e);
            e
        })
        .collect();
    let rep = DrillReport {
        format: report::FORMAT,
        drill: book.name.clone(),
        runbook: rb.display().to_string(),
        runbook_sha256: book.sha256.clone(),
        approved_by: book.approved_by.clone(),
        approved_on: book.approved_on.clone(),
        ticket: None,
        operator: report::Operator::default(),
        profile: "demo".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        stamp: "20261201-0900".into(),
        started_at: "2026-12-01T09:00:00Z".into(),
        finished_at: None,
        outcome: "incomplete".into(),
        exit_code: report::EXIT_INTERRUPTED,
        resumed: 0,
        tests,
    };
    let dir = bin.path("reports");
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join(format!("{}.state.json", book.name));
    std::fs::write(&state, serde_json::to_string_pretty(&rep).unwrap()).unwrap();
    state
}

/// Every test "finished earlier": COMPLETED, validated SUCCESSFUL (sent), objectives met,
/// cleaned up — and not one restore job behind any of it.
fn forged_pass(e: &mut report::TestEntry) {
    e.status = "COMPLETED".into();
    e.restore_job_id = Some("forged-restore-job".into());
    e.created_resource_arn =
        Some("arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake-drill-x".into());
    e.rto = report::measure(60, Some(chrono::Duration::minutes(5)));
    e.rpo = report::measure(2880, Some(chrono::Duration::minutes(5)));
    e.validation = Some(report::Validation {
        status: "SUCCESSFUL".into(),
        method: "command".into(),
        exit_code: Some(0),
        sent: true,
        error: None,
    });
    e.cleanup = Some(report::Cleanup {
        status: "done".into(),
        message: "the cleanup command exited 0".into(),
    });
}

/// Review finding: "verification cannot be talked into passing". A state file whose tests
/// all claim to have passed is kept as it is on resume: the drill reports PASSED (exit 0)
/// without a single restore job in AWS. A resumed entry must be checked against AWS
/// (DescribeRestoreJob: the job exists, its status, created resource, times and validation
/// status are AWS's) before it is kept.
#[test]
fn review_a_forged_state_file_cannot_make_a_drill_pass_without_restores() {
    let emu = claims();
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "true", &cleaned),
    );
    forged_state(&bin, &rb, forged_pass);
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |_| false,
    );
    assert!(manual_jobs(&emu).is_empty(), "no restore ran");
    assert_ne!(
        code,
        Some(report::EXIT_OK),
        "a drill without a restore passed:\n{err}\n{out}"
    );
    assert!(!out.contains("\"outcome\": \"passed\""), "{out}");
}

/// Review finding: "no panics on bad input". A state file with fewer entries than the
/// runbook has tests (the runbook's sha256 recomputed) makes the drill index past its end:
/// the binary panics (exit 101); in the console the drill's task dies without its
/// `TaskEnded`, so `:drill` stays refused ("is running") until the console restarts.
#[test]
fn review_a_state_file_with_fewer_tests_is_refused_not_a_panic() {
    let emu = claims();
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "true", &cleaned),
    );
    let state = forged_state(&bin, &rb, |_| {});
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    v["tests"] = serde_json::json!([]);
    std::fs::write(&state, v.to_string()).unwrap();
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |_| false,
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(code, Some(report::EXIT_FAILED), "{err}\n{out}");
    assert!(err.contains("remove it to start the drill over"), "{err}");
    assert!(manual_jobs(&emu).is_empty());
}

/// Review finding: report files are written where a state file says. The state's `drill`
/// and `stamp` name the report files (`<dir>/<drill>-<stamp>.json`); `Path::join` of an
/// absolute `drill` leaves the report directory, so a hand-written state writes 0600 files
/// anywhere the operator can write. The state must name the runbook's drill and a stamp of
/// the form yyyymmdd-hhmm.
#[test]
fn review_a_state_file_cannot_send_the_reports_outside_the_report_directory() {
    let emu = claims();
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "true", &cleaned),
    );
    let state = forged_state(&bin, &rb, forged_pass);
    let elsewhere = bin.path("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    v["drill"] = serde_json::json!(elsewhere.join("planted").display().to_string());
    std::fs::write(&state, v.to_string()).unwrap();
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |_| false,
    );
    let planted: Vec<_> = std::fs::read_dir(&elsewhere)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        planted.is_empty(),
        "written outside the report directory: {planted:?}"
    );
    assert_eq!(code, Some(report::EXIT_FAILED), "{err}\n{out}");
}

/// Review check (sound): read-only. Were `--read-only drill run` to reach the engine while
/// resuming a drill whose restore COMPLETED, the engine would run the validation command on
/// the restored copy (outside any guarded action) and then record the refused
/// PutRestoreValidationResult and cleanup as final, dropping the state. `drill run` refuses
/// read-only before the session opens (and `:drill` before the runbook is read): nothing
/// runs and the state is kept.
#[test]
fn review_a_read_only_resume_runs_nothing_and_keeps_the_state() {
    let emu = claims();
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let checked = bin.path("checked");
    let check = format!("echo ran >> {}", checked.display());
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, &check, &cleaned),
    );
    let state = forged_state(&bin, &rb, |e| {
        forged_pass(e);
        e.validation = None;
        e.cleanup = None;
    });
    let args = bin.drill_args(&rb);
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.insert(0, "--read-only");
    let (code, out, err) = drive(
        &emu,
        &bin.path("audit").join("demo.jsonl"),
        bin.spawn(&emu, &args, ""),
        |_| false,
    );
    assert!(!checked.exists(), "the check command ran in read-only mode");
    assert!(state.exists(), "the state was dropped by a read-only run");
    assert_eq!(code, Some(report::EXIT_FAILED), "{err}\n{out}");
    assert!(err.contains("read-only mode"), "{err}");
}

/// Review finding (open): a state file can replay an earlier drill's passing tests. The
/// entries of a finished drill's JSON report are real (AWS agrees with every field), so a
/// state file made of them, under a new stamp, resumes as "finished earlier" and the new drill
/// passes without a restore of its own. A kept entry's restore job must be shown to be this
/// drill's: its StartRestoreJob intent and outcome in the (sealed) audit log, for this stamp.
#[test]
fn review_an_earlier_drills_report_replayed_as_state_does_not_pass() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "true", &cleaned),
    );
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit = bin.path("audit").join("demo.jsonl");
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let last: DrillReport = serde_json::from_str(&out).unwrap();
    assert_eq!(manual_jobs(&emu).len(), 1);
    // Next quarter: last quarter's entries as this drill's state.
    let state = forged_state(&bin, &rb, |_| {});
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    v["tests"] = serde_json::to_value(&last.tests).unwrap();
    v["stamp"] = serde_json::json!("20270301-0900");
    std::fs::write(&state, v.to_string()).unwrap();
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert!(
        manual_jobs(&emu).len() == 2 || code != Some(report::EXIT_OK),
        "the drill passed on an earlier drill's restore:\n{err}\n{out}"
    );
}

#[test]
fn a_drill_interrupted_more_than_a_week_ago_is_not_resumed() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "true", &bin.path("cleaned")),
    );
    let state = forged_state(&bin, &rb, |_| {});
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let started = emu.clock().now() - chrono::Duration::days(8);
    v["started_at"] = serde_json::json!(phi_console::audit::writer::format_time(started));
    v["stamp"] = serde_json::json!(started.format("%Y%m%d-%H%M").to_string());
    std::fs::write(&state, v.to_string()).unwrap();
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit = bin.path("audit").join("demo.jsonl");
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert_eq!(code, Some(report::EXIT_FAILED), "{err}\n{out}");
    assert!(err.contains("resumed within 7 days"), "{err}");
    assert_eq!(manual_jobs(&emu).len(), 0, "nothing started");
    assert!(
        state.exists(),
        "the state is kept for the operator to look at"
    );
}

#[test]
fn a_check_command_that_cannot_start_sends_nothing_and_the_drill_resumes_to_validate() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let check = bin.path("check.sh");
    let cleaned = bin.path("cleaned");
    let rb = runbook(
        &bin,
        &format!(
            "[[test]]\nname = \"intake-table\"\nvault = \"{VAULT}\"\nresource_arn = \"{INTAKE}\"\nrto_minutes = 60\nrpo_minutes = 2880\nvalidation_command = [\"{}\"]\ncleanup_command = [\"/bin/sh\", \"-c\", \"echo $PHI_DRILL_RESOURCE_ARN >> {}\"]\n",
            check.display(),
            cleaned.display()
        ),
    );
    let args = bin.drill_args(&rb);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let audit = bin.path("audit").join("demo.jsonl");
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert_eq!(code, Some(report::EXIT_INTERRUPTED), "{err}\n{out}");
    assert!(err.contains("could not be started"), "{err}");
    let jobs = manual_jobs(&emu);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].2, None, "no validation was sent");
    // Made runnable, the same drill validates the same restore.
    std::fs::write(&check, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&check, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    emu.advance(Duration::from_secs(30));
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &args, ""), |_| false);
    assert_eq!(code, Some(report::EXIT_OK), "{err}\n{out}");
    let jobs = manual_jobs(&emu);
    assert_eq!(jobs.len(), 1, "not restored again");
    assert_eq!(jobs[0].2.as_deref(), Some("SUCCESSFUL"));
}

#[test]
fn a_state_cannot_hand_the_drill_another_tests_restore_or_another_runs_plan() {
    let emu = claims();
    quick_restores(&emu);
    let bin = Bin::new(&emu, SETTINGS);
    let cleaned = bin.path("cleaned");
    let args = |rb: &Path| bin.drill_args(rb);
    let audit = bin.path("audit").join("demo.jsonl");
    // Someone's restore of the documents bucket (a drill of its own, ended).
    let rb = runbook(&bin, &test_toml("docs", DOCS, 60, "true", &cleaned));
    let a = args(&rb);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &a, ""), |_| false);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let job = v["tests"][0]["restore_job_id"]
        .as_str()
        .unwrap()
        .to_string();
    let point = v["tests"][0]["recovery_point_arn"]
        .as_str()
        .unwrap()
        .to_string();
    // This runbook restores the intake table; its state names the bucket's restore as its
    // own running one (with a start that makes the job look new).
    let rb = runbook(
        &bin,
        &test_toml("intake-table", INTAKE, 60, "true", &cleaned),
    );
    let started = emu.clock().now() - chrono::Duration::hours(2);
    let forge = |entry: &dyn Fn(&mut serde_json::Value)| {
        let state = forged_state(&bin, &rb, |_| {});
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        v["started_at"] = serde_json::json!(phi_console::audit::writer::format_time(started));
        v["stamp"] = serde_json::json!(started.format("%Y%m%d-%H%M").to_string());
        entry(&mut v["tests"][0]);
        std::fs::write(&state, v.to_string()).unwrap();
        state
    };
    let a = args(&rb);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let jobs = manual_jobs(&emu).len();
    let state = forge(&|t| {
        t["status"] = serde_json::json!("RUNNING");
        t["restore_job_id"] = serde_json::json!(job);
        t["recovery_point_arn"] = serde_json::json!(point);
    });
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &a, ""), |_| false);
    assert_eq!(code, Some(report::EXIT_FAILED), "{err}\n{out}");
    assert!(
        err.contains("not the newest COMPLETED recovery point of"),
        "{err}"
    );
    assert_eq!(manual_jobs(&emu).len(), jobs, "nothing started");
    assert_eq!(
        std::fs::read_to_string(&cleaned).unwrap().lines().count(),
        1,
        "the bucket's copy was not cleaned up by this drill"
    );
    // Another run's restore testing plan is not taken over (nor deleted).
    std::fs::remove_file(&state).unwrap();
    forge(&|t| {
        t["restore_testing_plan"] = serde_json::json!({ "name": "phi_drill_someone_elses" });
    });
    let (code, out, err) = drive(&emu, &audit, bin.spawn(&emu, &a, ""), |_| false);
    assert_eq!(code, Some(report::EXIT_FAILED), "{err}\n{out}");
    assert!(
        err.contains("restore testing plan phi_drill_someone_elses is not this test's"),
        "{err}"
    );
}
