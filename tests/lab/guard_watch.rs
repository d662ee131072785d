//! Long-running guarded actions (src/guard/watch.rs) against the emulator, on its manual clock:
//! a DLQ move task started through `guard::execute`, watched to its end (progress reported, the
//! task records linked to the intent), a cancelled one, and the error codes AWS answered with
//! recorded as they are (not made up).

use crate::common::*;
use crate::guard::{of_kind, open, records, wait_for};
use phi_console::audit::{AuditConfig, AuditLog, Kind, Record, Status, Warning};
use phi_console::cloud::CloudError;
use phi_console::emulator::Emulator;
use phi_console::guard::watch::{self, Ending, Pace, Progress};
use phi_console::guard::{self, Check, GuardError, HandleKind, Policy, Request};
use phi_console::session::Session;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

struct Lab {
    emu: Emulator,
    session: Session,
    policy: Policy,
    log: Arc<AuditLog>,
    path: PathBuf,
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
        policy: Policy::default(),
        log,
        path,
        _dir: dir,
    }
}

impl Lab {
    async fn url(&self, name: &str) -> String {
        self.session
            .cloud()
            .list_queue_urls(None)
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.ends_with(&format!("/{name}")))
            .unwrap_or_else(|| panic!("no queue {name}"))
    }
    async fn run(&self, request: &Request) -> Result<guard::Executed, GuardError> {
        let plan = guard::plan(&self.session, &self.policy, request).await?;
        let c = guard::confirm(
            &plan,
            &plan.confirm_text.clone(),
            Some("redrive after the validation fix"),
            Some("CHG-2002"),
            true,
        )?;
        guard::execute(&self.log, &self.session, &self.policy, c).await
    }
    fn records(&self) -> Vec<Record> {
        records(&self.path)
    }
    fn visible(&self, name: &str) -> usize {
        let now = self.emu.clock().now();
        self.emu.with_world(|w| {
            w.sqs.queues[name]
                .messages
                .iter()
                .filter(|m| m.available_at <= now)
                .count()
        })
    }
}

/// A watch running on a task, paced by the test: `tick` polls once.
struct Watching {
    tick: mpsc::UnboundedSender<()>,
    seen: Arc<Mutex<Vec<Progress>>>,
    task: tokio::task::JoinHandle<Result<watch::Watched, GuardError>>,
}

impl Watching {
    fn start(lab: &Lab, started: watch::Started) -> Watching {
        let (tick, ticks) = mpsc::unbounded_channel();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (log, cloud, s) = (lab.log.clone(), lab.session.cloud(), seen.clone());
        let task = tokio::spawn(async move {
            watch::watch(&log, &cloud, &started, Pace::Ticks(ticks), |p| {
                s.lock().unwrap().push(p.clone())
            })
            .await
        });
        Watching { tick, seen, task }
    }
    /// Waits until the watch has reported `n` progress reads; returns the last.
    async fn progress(&self, n: usize) -> Progress {
        wait_for(&format!("progress report {n}"), || {
            let seen = self.seen.lock().unwrap();
            (seen.len() >= n).then(|| seen[n - 1].clone())
        })
        .await
    }
}

fn task_records(recs: &[Record]) -> Vec<Record> {
    of_kind(recs, Kind::Task)
}

#[tokio::test]
async fn guard_a_move_task_runs_through_execute_is_watched_to_its_end_and_recorded() {
    let lab = lab().await;
    // The pre-check: a queue nobody dead-letters to is refused, nothing recorded.
    let intake = lab.url("claims-intake").await;
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::start_move_task(&intake),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&e, GuardError::Refused { refusals, .. } if refusals[0].check == Check::NotDeadLetterQueue),
        "{e:?}"
    );
    // The rate is checked by its ParamSpec before any call.
    let dlq = lab.url("claims-validation-dlq").await;
    let e = Request::start_move_task(&dlq)
        .input("max_messages_per_second", "501")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the rate must be 1 to 500 messages a second (empty: 500)"
    );

    let request = Request::start_move_task(&dlq)
        .input("max_messages_per_second", "2")
        .unwrap();
    let total = lab.visible("claims-validation-dlq");
    assert_eq!(total, 12, "the scenario's DLQ depth");
    let done = lab.run(&request).await.unwrap();
    assert_eq!(done.action, "sqs:StartMessageMoveTask");
    let started = done
        .started()
        .expect("a long-running action returns a handle");
    let arn = "arn:aws:sqs:us-east-1:123456789012:claims-validation-dlq";
    assert_eq!(started.handle.kind, HandleKind::MessageMoveTask);
    assert_eq!(started.handle.resource, arn);
    assert!(!started.handle.id.is_empty());

    let w = Watching::start(&lab, started.clone());
    // The first read, at once: running, nothing moved yet.
    let p = w.progress(1).await;
    assert_eq!(
        (p.status.as_str(), p.done, p.total),
        ("RUNNING", Some(0), Some(12))
    );
    // Three emulated seconds at 2 a second.
    lab.emu.advance(Duration::from_secs(3));
    w.tick.send(()).unwrap();
    let p = w.progress(2).await;
    assert_eq!((p.status.as_str(), p.done), ("RUNNING", Some(6)));
    assert_eq!(p.line(), "RUNNING 6/12");
    // Long enough to move the rest: the next read is final and the watch ends.
    lab.emu.advance(Duration::from_secs(10));
    w.tick.send(()).unwrap();
    let watched = w.task.await.unwrap().unwrap();
    assert_eq!(watched.ending, Ending::Finished);
    assert_eq!(
        (watched.last.status.as_str(), watched.last.done),
        ("COMPLETED", Some(12))
    );
    assert!(watched.record_warnings.is_empty());
    assert_eq!(w.seen.lock().unwrap().len(), 3);
    assert_eq!(lab.visible("claims-validation-dlq"), 0);

    // The log: intent (every parameter), outcome (the call's request id), then the task's
    // start and finish, both linked to the intent.
    let recs = lab.records();
    let kinds: Vec<_> = recs.iter().map(|r| (r.kind, r.event.clone())).collect();
    assert_eq!(
        kinds,
        [
            (Kind::Intent, None),
            (Kind::Outcome, None),
            (Kind::Task, Some("start".into())),
            (Kind::Task, Some("finish".into())),
        ]
    );
    let intent = &recs[0];
    let what = intent.what.as_ref().unwrap();
    assert_eq!(what.action, "sqs:StartMessageMoveTask");
    assert_eq!(what.targets, [arn]);
    assert_eq!(what.params["max_messages_per_second"], 2);
    assert_eq!(what.params["name"], "claims-validation-dlq");
    assert_eq!(recs[1].request_ids, std::slice::from_ref(&done.request_id));
    assert_eq!(recs[1].outcome.as_ref().unwrap().status, Status::Succeeded);
    for r in &recs[2..] {
        assert_eq!(r.intent_id.as_deref(), Some(intent.id.as_str()));
        assert_eq!(r.action(), Some("sqs:StartMessageMoveTask"));
        assert_eq!(r.what.as_ref().unwrap().targets, [arn]);
        let d = r.details.as_ref().unwrap();
        assert_eq!(d["handle"]["id"], started.handle.id.as_str());
        assert_eq!(d["handle"]["kind"], "message_move_task");
    }
    let fin = recs[3].details.as_ref().unwrap();
    assert_eq!(fin["final_state"], "COMPLETED");
    assert_eq!(
        (fin["done"].as_u64(), fin["total"].as_u64()),
        (Some(12), Some(12))
    );
    let report = phi_console::audit::verify_file(&lab.path, &Default::default()).unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
    assert!(report.unfinished.is_empty(), "{report:?}");
    assert!(
        !report.warnings.iter().any(|w| matches!(
            w,
            Warning::DuplicateOutcome { .. } | Warning::UnknownIntent { .. }
        )),
        "task records do not answer intents: {report:?}"
    );
}

#[tokio::test]
async fn guard_a_watched_move_task_that_ends_cancelled_is_recorded_as_cancelled() {
    let lab = lab().await;
    let dlq = lab.url("claims-notify-dlq").await;
    let request = Request::start_move_task(&dlq)
        .input("max_messages_per_second", "1")
        .unwrap();
    let done = lab.run(&request).await.unwrap();
    let started = done.started().unwrap();
    let w = Watching::start(&lab, started.clone());
    assert_eq!(w.progress(1).await.done, Some(0));
    lab.emu.advance(Duration::from_secs(5));
    w.tick.send(()).unwrap();
    assert_eq!(w.progress(2).await.done, Some(5));

    // The watch never cancels: a cancel is its own call (here straight through the adapter,
    // as another operator would); the watch sees the task end cancelled.
    let (_, cancel_request) = lab
        .session
        .cloud()
        .cancel_message_move_task(&started.handle.id)
        .await
        .unwrap();
    assert!(!cancel_request.is_empty());
    w.tick.send(()).unwrap();
    let watched = w.task.await.unwrap().unwrap();
    assert_eq!(watched.ending, Ending::Cancelled);
    assert_eq!(
        (watched.last.status.as_str(), watched.last.done),
        ("CANCELLED", Some(5))
    );
    // Nothing moves after the cancel.
    lab.emu.advance(Duration::from_secs(30));
    assert_eq!(lab.visible("claims-notify-dlq"), 20);

    let recs = lab.records();
    let tasks = task_records(&recs);
    assert_eq!(tasks.len(), 2, "{tasks:#?}");
    let cancel = &tasks[1];
    assert_eq!(cancel.event.as_deref(), Some("cancel"));
    assert_eq!(cancel.intent_id.as_deref(), Some(done.intent_id.as_str()));
    assert!(
        cancel.request_ids.is_empty(),
        "the watch made no call of its own: {:?}",
        cancel.request_ids
    );
    let d = cancel.details.as_ref().unwrap();
    assert_eq!(
        (d["final_state"].as_str(), d["done"].as_u64()),
        (Some("CANCELLED"), Some(5))
    );
    let report = phi_console::audit::verify_file(&lab.path, &Default::default()).unwrap();
    assert!(report.problems.is_empty(), "{report:?}");
}

#[tokio::test]
async fn guard_a_watch_dropped_before_the_end_records_stopped() {
    let lab = lab().await;
    let dlq = lab.url("claims-fraud-check-dlq").await;
    let request = Request::start_move_task(&dlq)
        .input("max_messages_per_second", "1")
        .unwrap();
    let done = lab.run(&request).await.unwrap();
    let w = Watching::start(&lab, done.started().unwrap());
    assert_eq!(w.progress(1).await.status, "RUNNING");
    // The pacer goes away (the console quits the view): the watch stops, the task runs on.
    drop(w.tick);
    let watched = w.task.await.unwrap().unwrap();
    assert_eq!(watched.ending, Ending::Stopped);
    let tasks = task_records(&lab.records());
    assert_eq!(
        tasks.iter().map(|r| r.event.as_deref()).collect::<Vec<_>>(),
        [Some("start"), Some("stopped")]
    );
    assert_eq!(tasks[1].details.as_ref().unwrap()["state"], "RUNNING");
}

#[tokio::test]
async fn guard_failed_calls_record_the_code_aws_answered_and_its_request_id() {
    let lab = lab().await;
    // KMS: the key vanishes between the plan and the call; KMS answers NotFoundException.
    let plan = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::rotate_now("alias/claims-costs"),
    )
    .await
    .unwrap();
    let key_id = plan.targets[0].arn.rsplit('/').next().unwrap().to_string();
    let c = guard::confirm(&plan, "claims-costs", Some("r"), None, true).unwrap();
    lab.emu.with_world(|w| w.kms.keys.remove(&key_id)).unwrap();
    let e = guard::execute(&lab.log, &lab.session, &lab.policy, c)
        .await
        .unwrap_err();
    let GuardError::Failed {
        error,
        code,
        intent_id,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(error, CloudError::NotFound { .. }), "{error:?}");
    assert_eq!(code, "NotFoundException");
    assert_eq!(error.code(), Some("NotFoundException"), "KMS said so");
    let recs = lab.records();
    let o = recs
        .iter()
        .find(|r| r.intent_id.as_deref() == Some(intent_id.as_str()))
        .unwrap();
    let out = o.outcome.as_ref().unwrap();
    assert_eq!(
        (out.status, out.error_code.as_deref()),
        (Status::Failed, Some("NotFoundException"))
    );
    let id = error.request_id().expect("the error answer's request id");
    assert_eq!(o.request_ids, [id]);

    // SQS: the DLQ is deleted between the plan and the call; SQS answers with its own code.
    let dlq = lab.url("claims-validation-dlq").await;
    let plan = guard::plan(&lab.session, &lab.policy, &Request::start_move_task(&dlq))
        .await
        .unwrap();
    let c = guard::confirm(&plan, "claims-validation-dlq", Some("r"), None, true).unwrap();
    aws_sdk_sqs::Client::new(&config(&lab.emu))
        .delete_queue()
        .queue_url(&dlq)
        .send()
        .await
        .unwrap();
    let e = guard::execute(&lab.log, &lab.session, &lab.policy, c)
        .await
        .unwrap_err();
    let GuardError::Failed {
        error,
        code,
        intent_id,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(error, CloudError::NotFound { .. }), "{error:?}");
    assert_eq!(
        code, "ResourceNotFoundException",
        "SQS's code, not a KMS one"
    );
    let recs = lab.records();
    let o = recs
        .iter()
        .find(|r| r.intent_id.as_deref() == Some(intent_id.as_str()))
        .unwrap();
    assert_eq!(
        o.outcome.as_ref().unwrap().error_code.as_deref(),
        Some("ResourceNotFoundException")
    );
    assert_eq!(o.request_ids.len(), 1);
}

fn refused(e: &GuardError) -> Vec<Check> {
    match e {
        GuardError::Refused { refusals, .. } => refusals.iter().map(|r| r.check).collect(),
        other => panic!("not refused: {other:?}"),
    }
}

#[tokio::test]
async fn guard_a_second_redrive_is_refused_while_one_runs_and_the_guarded_cancel_ends_it() {
    let lab = lab().await;
    let dlq = lab.url("claims-notify-dlq").await;
    // Nothing runs yet: a cancel is refused, nothing recorded.
    let e = guard::plan(&lab.session, &lab.policy, &Request::cancel_move_task(&dlq))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), [Check::NoMoveTaskRunning]);
    assert!(e.to_string().contains("nothing to cancel"), "{e}");
    assert!(lab.records().is_empty());

    let request = Request::start_move_task(&dlq)
        .input("max_messages_per_second", "1")
        .unwrap();
    let done = lab.run(&request).await.unwrap();
    let started = done.started().unwrap();
    let w = Watching::start(&lab, started.clone());
    assert_eq!(w.progress(1).await.status, "RUNNING");
    lab.emu.advance(Duration::from_secs(4));

    // A second task on the same DLQ: refused before any call.
    let e = guard::plan(&lab.session, &lab.policy, &request)
        .await
        .unwrap_err();
    assert_eq!(refused(&e), [Check::MoveTaskRunning]);
    assert!(e.to_string().contains("cancel it first"), "{e}");

    // The guarded cancel: its plan names the running task, its call cancels it.
    let plan = guard::plan(&lab.session, &lab.policy, &Request::cancel_move_task(&dlq))
        .await
        .unwrap();
    assert_eq!(plan.action, "sqs:CancelMessageMoveTask");
    assert!(plan.summary.contains("4 of 25 moved"), "{}", plan.summary);
    let cancelled = lab.run(&Request::cancel_move_task(&dlq)).await.unwrap();
    assert_eq!(cancelled.action, "sqs:CancelMessageMoveTask");
    assert!(
        cancelled.started().is_none(),
        "a cancel is not long-running"
    );
    w.tick.send(()).unwrap();
    let watched = w.task.await.unwrap().unwrap();
    assert_eq!(watched.ending, Ending::Cancelled);
    lab.emu.advance(Duration::from_secs(30));
    assert_eq!(
        lab.visible("claims-notify-dlq"),
        21,
        "nothing moves after it"
    );

    // The log: the redrive's intent and outcome, the cancel's, and the task's start and
    // cancel linked to the redrive.
    let recs = lab.records();
    let cancel_intent = recs
        .iter()
        .find(|r| {
            r.kind == Kind::Intent && r.what.as_ref().unwrap().action == "sqs:CancelMessageMoveTask"
        })
        .expect("the cancel's intent");
    let what = cancel_intent.what.as_ref().unwrap();
    assert_eq!(
        what.targets,
        ["arn:aws:sqs:us-east-1:123456789012:claims-notify-dlq"]
    );
    assert_eq!(what.params["task_handle"], started.handle.id.as_str());
    let outcome = recs
        .iter()
        .find(|r| r.kind == Kind::Outcome && r.intent_id.as_deref() == Some(&cancel_intent.id))
        .expect("the cancel's outcome");
    assert_eq!(
        outcome.request_ids,
        std::slice::from_ref(&cancelled.request_id)
    );
    let tasks = task_records(&recs);
    assert_eq!(
        tasks.iter().map(|r| r.event.as_deref()).collect::<Vec<_>>(),
        [Some("start"), Some("cancel")]
    );
    // Ended: a cancel is refused again.
    let e = guard::plan(&lab.session, &lab.policy, &Request::cancel_move_task(&dlq))
        .await
        .unwrap_err();
    assert_eq!(refused(&e), [Check::NoMoveTaskRunning]);
}

#[tokio::test]
async fn guard_a_redrive_destination_must_exist() {
    let lab = lab().await;
    let dlq = lab.url("claims-validation-dlq").await;
    let n = lab.emu.request_count();
    for missing in [
        "arn:aws:sqs:us-east-1:123456789012:claims-nowhere",
        "http://127.0.0.1:1/123456789012/claims-nowhere",
    ] {
        let missing = if missing.starts_with("http") {
            dlq.replace("claims-validation-dlq", "claims-nowhere")
        } else {
            missing.to_string()
        };
        let request = Request::start_move_task(&dlq)
            .input("destination", &missing)
            .unwrap();
        let e = guard::plan(&lab.session, &lab.policy, &request)
            .await
            .unwrap_err();
        assert_eq!(refused(&e), [Check::DestinationNotFound], "{missing}");
        assert!(
            e.to_string()
                .contains("give the URL or ARN of an existing queue"),
            "{e}"
        );
    }
    assert!(lab.emu.request_count() > n, "the plans read the live state");
    assert!(lab.records().is_empty(), "a refused plan records nothing");
    // Not a URL or an ARN: refused before any call.
    let request = Request::start_move_task(&dlq)
        .input("destination", "claims-intake")
        .unwrap();
    let n = lab.emu.request_count();
    let e = guard::plan(&lab.session, &lab.policy, &request)
        .await
        .unwrap_err();
    assert!(matches!(e, GuardError::InvalidParam { .. }), "{e:?}");
    assert_eq!(lab.emu.request_count(), n);
}

#[tokio::test]
async fn guard_a_redrive_destination_must_be_of_the_dlqs_type() {
    let lab = lab().await;
    let dlq = lab.url("claims-validation-dlq").await;
    let fifo = lab.url("claims-payment.fifo").await;
    let request = Request::start_move_task(&dlq)
        .input("destination", &fifo)
        .unwrap();
    let e = guard::plan(&lab.session, &lab.policy, &request)
        .await
        .unwrap_err();
    assert_eq!(refused(&e), [Check::DestinationTypeMismatch]);
    assert!(e.to_string().contains("pick a standard destination"), "{e}");
}

/// A queue's RedriveAllowPolicy says which queues may name it as their DLQ; it does not govern
/// where a move delivers, so a hardened source (denyAll) is no refusal. The DLQ itself as the
/// destination is, and so is an ARN of another region (never silently this region's queue).
#[tokio::test]
async fn guard_a_redrive_ignores_redrive_allow_policies_and_refuses_the_dlq_itself() {
    let lab = lab().await;
    let dlq = lab.url("claims-validation-dlq").await;
    let source = lab.url("claims-validation").await;
    let sqs = aws_sdk_sqs::Client::new(&config(&lab.emu));
    sqs.set_queue_attributes()
        .queue_url(&source)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedriveAllowPolicy,
            r#"{"redrivePermission":"denyAll"}"#,
        )
        .send()
        .await
        .unwrap();
    guard::plan(&lab.session, &lab.policy, &Request::start_move_task(&dlq))
        .await
        .expect("a denyAll on the source is no refusal");
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::start_move_task(&dlq)
            .input("destination", &dlq)
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused(&e), [Check::DestinationIsTheDlq]);
    let elsewhere = "arn:aws:sqs:us-west-2:123456789012:claims-validation";
    let e = guard::plan(
        &lab.session,
        &lab.policy,
        &Request::start_move_task(&dlq)
            .input("destination", elsewhere)
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("us-west-2"), "{e}");
    assert!(lab.records().is_empty());
}

#[tokio::test]
async fn guard_a_redrive_to_a_destination_passes_its_arn_to_the_call() {
    let lab = lab().await;
    let dlq = lab.url("claims-validation-dlq").await;
    let intake = "arn:aws:sqs:us-east-1:123456789012:claims-intake";
    let request = Request::start_move_task(&dlq)
        .input("destination", intake)
        .unwrap();
    let plan = guard::plan(&lab.session, &lab.policy, &request)
        .await
        .unwrap();
    assert!(
        plan.summary.ends_with("to claims-intake"),
        "{}",
        plan.summary
    );
    assert!(
        plan.calls[0].contains(&format!("DestinationArn={intake}")),
        "{:?}",
        plan.calls
    );
    let done = lab.run(&request).await.unwrap();
    assert!(done.started().is_some());
    let tasks = lab
        .session
        .cloud()
        .list_message_move_tasks("arn:aws:sqs:us-east-1:123456789012:claims-validation-dlq")
        .await
        .unwrap();
    assert_eq!(tasks[0].destination_arn.as_deref(), Some(intake));
    let intent = &lab.records()[0];
    assert_eq!(intent.what.as_ref().unwrap().params["destination"], intake);
}
