//! The audit log, end to end: fail-closed writes, the hash chain and seals under tampering,
//! two processes sharing one log, garbage input, file modes, secrets, and the CLI.

use phi_console::audit::canonical::{record_hash, to_canonical};
use phi_console::audit::cli::{AuditCommand, ExportFormat, LogArgs, VerifyArgs, run_with};
use phi_console::audit::{
    Action, AuditConfig, AuditError, AuditLog, Confirmation, GENESIS_HASH, Intent, KmsSealer,
    LocalHmacSealer, Outcome, ParamKey, ProblemKind, Reveal, SealStatus, Sealer, SessionEvent,
    VerifyOptions, Warning, Where, Who, Why, guarded, guarded_async, read_records, unfinished,
    verify_bytes, verify_file,
};
use phi_console::emulator::util::SeededRng;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:claims-intake-dlq";
const PHI: &str = "PATIENT Jane Q Doe, DOB 1961-07-04, member 884-21-7730";

fn log_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state").join("audit").join("claims.jsonl")
}

/// A sealer whose key the attacker in these tests does not have.
fn sealer() -> Arc<dyn Sealer> {
    Arc::new(LocalHmacSealer::new(b"the auditor's key, not on this host"))
}

fn open(path: &Path, seal_every: u64) -> AuditLog {
    AuditLog::open(
        AuditConfig::new(path)
            .sealer(sealer())
            .seal_every(seal_every),
    )
    .expect("log opens")
}

fn checking() -> VerifyOptions {
    VerifyOptions::default().with_sealer(sealer())
}

fn purge(i: usize) -> Intent {
    Intent::new(
        Action::new("sqs:PurgeQueue")
            .target(QUEUE)
            .param("attempt", i as u64),
    )
    .why(Why::reason(format!("poison messages #{i}")).ticket("CHG-1234"))
    .confirmed(Confirmation::typed_name("claims-intake-dlq"))
}

/// A session with `n` purges (intent + outcome each), sealed every 5 records and on close.
fn sample_log(path: &Path, n: usize) {
    let log = open(path, 5);
    log.set_context(
        Who::from_os().with_aws("arn:aws:sts::123456789012:assumed-role/Ops/alice", None),
        Where::new("claims", "123456789012", "us-east-1"),
    );
    log.session(SessionEvent::Start, Value::Null).unwrap();
    for i in 0..n {
        let done = guarded(&log, purge(i), |r| {
            r.request_id(format!("req-{i}"));
            Ok::<_, String>(i)
        })
        .unwrap();
        assert_eq!(done.result, Ok(i));
        done.outcome.unwrap();
    }
    log.session(SessionEvent::End, Value::Null).unwrap();
    log.close().unwrap();
}

fn read_values(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_values(path: &Path, values: &[Value]) {
    let text: String = values
        .iter()
        .map(|v| to_canonical(v).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

/// What an attacker without the seal key can do: renumber, relink and re-hash every record
/// (seal records included, pointing their `head` at the new chain; only their MAC is beyond
/// reach).
fn rehash_all(values: &mut [Value]) {
    let mut prev = GENESIS_HASH.to_string();
    for (i, v) in values.iter_mut().enumerate() {
        v["seq"] = json!(i as u64 + 1);
        v["prev_hash"] = json!(prev);
        if v["kind"] == "seal" {
            v["seal"]["head"] = json!(prev);
        }
        let h = record_hash(v).unwrap();
        v["hash"] = json!(h);
        prev = h;
    }
}

fn first_seal_line(values: &[Value]) -> u64 {
    values.iter().position(|v| v["kind"] == "seal").unwrap() as u64 + 1
}

fn last_line(path: &Path) -> Value {
    read_values(path).pop().unwrap()
}

// ---------------------------------------------------------------- the guarded-action rule

#[test]
fn the_intent_is_on_disk_before_the_action_runs_and_the_outcome_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    let seen = guarded(&log, purge(1), |r| {
        // Inside the action, the intent is already durable and last in the file.
        let last = last_line(&path);
        r.request_id("5f0e-req");
        Ok::<_, std::io::Error>(last)
    })
    .unwrap();
    let intent = seen.result.as_ref().unwrap();
    assert_eq!(intent["kind"], "intent");
    assert_eq!(intent["what"]["action"], "sqs:PurgeQueue");
    assert_eq!(intent["what"]["targets"][0], QUEUE);
    assert_eq!(intent["why"]["ticket"], "CHG-1234");
    assert_eq!(intent["how"][0]["method"], "typed_name");
    assert_eq!(intent["id"], seen.intent_id.as_str());
    let outcome = last_line(&path);
    assert_eq!(outcome["kind"], "outcome");
    assert_eq!(outcome["intent_id"], seen.intent_id.as_str());
    assert_eq!(outcome["outcome"]["status"], "succeeded");
    assert_eq!(outcome["request_ids"], json!(["5f0e-req"]));
    assert_eq!(outcome["prev_hash"], intent["hash"]);
    assert_eq!(outcome["seq"], 2);
    assert!(seen.outcome.is_ok());
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert!(report.unfinished.is_empty());
}

#[test]
fn a_failed_action_records_its_error_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    let done = guarded(&log, purge(1), |r| {
        r.request_id("req-9");
        r.error_code("AccessDenied");
        Err::<(), _>("denied")
    })
    .unwrap();
    assert_eq!(done.result, Err("denied"));
    let o = last_line(&path);
    assert_eq!(o["outcome"]["status"], "failed");
    assert_eq!(o["outcome"]["error_code"], "AccessDenied");
    assert_eq!(o["request_ids"], json!(["req-9"]));
    // A cancellation is recorded as such.
    let done = guarded(&log, purge(2), |r| {
        r.cancelled();
        Err::<(), _>("operator pressed Esc at the MFA prompt")
    })
    .unwrap();
    assert!(done.result.is_err());
    assert_eq!(last_line(&path)["outcome"]["status"], "cancelled");
}

#[test]
fn a_panicking_action_is_recorded_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = guarded(&log, purge(1), |_| -> Result<(), ()> {
            panic!("bug in the action")
        });
    }));
    assert!(caught.is_err());
    let o = last_line(&path);
    assert_eq!(o["outcome"]["status"], "interrupted");
    assert!(unfinished(&path).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_form_keeps_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    let p = path.clone();
    let done = guarded_async(&log, purge(1), |r| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        r.request_id("async-req");
        Ok::<_, ()>(last_line(&p)["kind"].as_str().unwrap().to_string())
    })
    .await
    .unwrap();
    assert_eq!(done.result, Ok("intent".to_string()));
    assert_eq!(last_line(&path)["outcome"]["status"], "succeeded");

    // A future dropped mid-action leaves an `interrupted` outcome, not an unfinished intent.
    // (Dropped once the action has started, whatever the machine's speed: no timer.)
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let mut fut = Box::pin(guarded_async(&log, purge(2), |_| async move {
        let _ = started.send(());
        std::future::pending::<()>().await;
        Ok::<_, ()>(())
    }));
    tokio::select! {
        _ = &mut fut => panic!("the action finished"),
        r = running => r.unwrap(),
    }
    assert_eq!(
        last_line(&path)["kind"],
        "intent",
        "the action is in flight"
    );
    drop(fut);
    assert_eq!(last_line(&path)["outcome"]["status"], "interrupted");
    assert!(verify_file(&path, &checking()).unwrap().is_valid());
}

#[test]
fn a_crash_between_intent_and_outcome_leaves_an_unfinished_intent() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    assert!(
        unfinished(&path).unwrap().is_empty(),
        "no log yet: nothing unfinished"
    );
    let log = open(&path, 0);
    let handle = log.intent(purge(7)).unwrap();
    std::mem::forget(handle); // the process dies here
    drop(log);

    let pending = unfinished(&path).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].action, "sqs:PurgeQueue");
    assert_eq!(pending[0].targets, vec![QUEUE.to_string()]);
    assert_eq!(pending[0].seq, 1);
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    assert_eq!(report.unfinished, pending);
    assert!(
        pending[0].to_string().contains("sqs:PurgeQueue"),
        "{}",
        pending[0]
    );

    // The next session shows it, and records that it was interrupted.
    let log = open(&path, 0);
    log.resolve(
        &pending[0],
        Outcome::interrupted().message("found unfinished at session start"),
    )
    .unwrap();
    assert!(unfinished(&path).unwrap().is_empty());
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid() && report.unfinished.is_empty());
}

#[test]
fn session_events_and_reveals_are_recorded_with_who_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    let mfa_at = chrono::Utc::now() - chrono::Duration::seconds(120);
    let who = Who::from_os()
        .with_aws(
            "arn:aws:sts::123456789012:assumed-role/ClaimsOperator/alice",
            Some("alice".into()),
        )
        .with_mfa(mfa_at);
    log.set_context(
        who,
        Where::new("claims", "123456789012", "us-east-1").with_endpoint("http://127.0.0.1:1"),
    );
    for e in [
        SessionEvent::Start,
        SessionEvent::MfaStepUp,
        SessionEvent::IdleLock,
        SessionEvent::IdleUnlock,
    ] {
        log.session(e, Value::Null).unwrap();
    }
    log.session(SessionEvent::ProfileSwitch, json!({"from": "claims-ro"}))
        .unwrap();
    log.reveal(
        Reveal::message_body(
            Action::new("sqs:ReceiveMessage")
                .target(QUEUE)
                .param("message_id", "m-1")
                .sensitive("body", PHI),
        )
        .why(Why::reason("investigate DLQ"))
        .confirmed(Confirmation::keypress("v")),
    )
    .unwrap();
    log.session(SessionEvent::End, Value::Null).unwrap();

    let v = read_values(&path);
    let events: Vec<(&str, &str)> = v
        .iter()
        .map(|r| (r["kind"].as_str().unwrap(), r["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        events,
        [
            ("session", "start"),
            ("session", "mfa_step_up"),
            ("session", "idle_lock"),
            ("session", "idle_unlock"),
            ("session", "profile_switch"),
            ("reveal", "message_body"),
            ("session", "end")
        ]
    );
    assert_eq!(v[4]["details"]["from"], "claims-ro");
    let r = &v[5];
    assert_eq!(
        r["who"]["caller_arn"],
        "arn:aws:sts::123456789012:assumed-role/ClaimsOperator/alice"
    );
    assert_eq!(r["who"]["source_identity"], "alice");
    assert_eq!(r["who"]["mfa_used"], true);
    let age = r["who"]["mfa_age_s"].as_i64().unwrap();
    assert!((119..200).contains(&age), "{age}");
    assert_eq!(r["who"]["pid"], std::process::id());
    assert!(r["who"]["uid"].is_u64());
    assert_eq!(r["where"]["profile"], "claims");
    assert_eq!(r["where"]["account"], "123456789012");
    assert_eq!(r["where"]["endpoint"], "http://127.0.0.1:1");
    assert_eq!(r["what"]["params"]["message_id"], "m-1");
    assert!(
        r["what"]["params"]["body"]
            .as_str()
            .unwrap()
            .starts_with("hmac-sha256:")
    );
    assert!(verify_file(&path, &checking()).unwrap().is_valid());
}

// ---------------------------------------------------------------- secrets and file modes

#[test]
fn sensitive_parameters_never_reach_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    let intent = Intent::new(
        Action::new("sqs:SendMessage")
            .target(QUEUE)
            .sensitive("body", PHI)
            .sensitive("attr.member_id", "884-21-7730"),
    );
    guarded(&log, intent, |_| Ok::<_, ()>(()))
        .unwrap()
        .outcome
        .unwrap();
    log.reveal(Reveal::message_body(
        Action::new("sqs:ReceiveMessage")
            .target(QUEUE)
            .sensitive("body", PHI),
    ))
    .unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for secret in [PHI, "Jane", "884-21-7730", "1961-07-04"] {
        assert!(!text.contains(secret), "{secret:?} leaked into the log");
    }
    // The stored value is the keyed hash under the key file next to the log, which an auditor
    // can recompute; the key is not in the log.
    let key_path = ParamKey::default_path(&path);
    let key = ParamKey::load_or_create(&key_path).unwrap();
    let v = read_values(&path);
    assert_eq!(v[0]["what"]["params"]["body"], key.hash(PHI.as_bytes()));
    assert_eq!(
        v[0]["what"]["params"]["attr.member_id"],
        key.hash(b"884-21-7730")
    );
    let key_text = std::fs::read_to_string(&key_path).unwrap();
    assert!(!text.contains(key_text.trim()));

    // A caller-supplied key is used instead of the file.
    let other = dir.path().join("state").join("audit").join("other.jsonl");
    let supplied = ParamKey::from_bytes([7; 32]);
    let log = AuditLog::open(AuditConfig::new(&other).param_key(supplied.clone())).unwrap();
    log.reveal(Reveal::message_body(
        Action::new("sqs:ReceiveMessage").sensitive("body", PHI),
    ))
    .unwrap();
    assert_eq!(
        read_values(&other)[0]["what"]["params"]["body"],
        supplied.hash(PHI.as_bytes())
    );
    assert!(!ParamKey::default_path(&other).exists());
}

#[test]
fn the_log_and_its_key_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    sample_log(&path, 1);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(
        mode(path.parent().unwrap().parent().unwrap()),
        0o700,
        "created parents are private too"
    );
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&ParamKey::default_path(&path)), 0o600);

    // A log left readable by others is made private again.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    open(&path, 0)
        .session(SessionEvent::Start, Value::Null)
        .unwrap();
    assert_eq!(mode(&path), 0o600);

    // A directory others can enter is refused (and never chmod-ed behind the operator's back).
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = AuditLog::open(AuditConfig::new(shared.join("x.jsonl"))).unwrap_err();
    assert!(
        matches!(e, AuditError::InsecureDirectory { mode: 0o755, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("chmod 700"), "{e}");
    assert_eq!(mode(&shared), 0o755);
}

#[test]
fn large_records_are_chained_and_oversized_ones_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    // Longer than the writer's tail-reading chunk, so the head is found across chunks.
    let ids: Vec<String> = (0..1500).map(|i| format!("msg-{i:08}")).collect();
    for _ in 0..3 {
        let intent = Intent::new(
            Action::new("sqs:DeleteMessageBatch")
                .target(QUEUE)
                .param("message_ids", ids.clone()),
        );
        guarded(&log, intent, |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    assert!(std::fs::metadata(&path).unwrap().len() > 3 * 20_000);
    assert!(verify_file(&path, &checking()).unwrap().is_valid());

    let huge = Intent::new(
        Action::new("sqs:SendMessage")
            .param("blob", "x".repeat(phi_console::audit::MAX_RECORD_BYTES)),
    );
    let ran = AtomicBool::new(false);
    let e = guarded(&log, huge, |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap_err();
    assert!(!ran.load(Ordering::SeqCst));
    assert!(matches!(e, AuditError::RecordTooLarge { .. }), "{e}");
    assert!(verify_file(&path, &checking()).unwrap().is_valid());
}

// ---------------------------------------------------------------- seals

#[test]
fn seals_are_written_periodically_and_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 3);
    for i in 0..3 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    // Seals follow the records whose seq is a multiple of 3 (a seal takes a seq too):
    // 1 2 3 [4] 5 6 [7] 8.
    let v = read_values(&path);
    let seals: Vec<u64> = v
        .iter()
        .filter(|r| r["kind"] == "seal")
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seals, [4, 7]);
    for r in v.iter().filter(|r| r["kind"] == "seal") {
        assert_eq!(r["seal"]["head"], r["prev_hash"]);
        assert_eq!(r["seal"]["alg"], "HMAC_SHA_256");
    }
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    assert!(report.seals.iter().all(|s| s.status == SealStatus::Valid));
    assert!(
        report.warnings.iter().any(|w| matches!(
            w,
            Warning::Unsealed {
                count: 1,
                first_seq: 8,
                ..
            }
        )),
        "records after the last seal are reported: {:?}",
        report.warnings
    );
    let w = log.close().unwrap().expect("close seals");
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    assert_eq!(report.head.as_ref().unwrap().0, w.seq);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    // Closing an already sealed log adds nothing.
    assert!(open(&path, 3).close().unwrap().is_none());

    // Without the key a seal proves nothing: verification fails, naming why …
    let report = verify_file(&path, &VerifyOptions::default()).unwrap();
    assert!(!report.is_valid());
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(&p.kind, ProblemKind::UncheckedSeal(w) if w.contains("no seal key"))),
        "{:?}",
        report.problems
    );
    // … and offline the structure passes, every seal reported as not checked.
    let report = verify_file(&path, &VerifyOptions::offline()).unwrap();
    assert!(report.is_valid() && report.offline);
    assert!(
        report
            .seals
            .iter()
            .all(|s| matches!(s.status, SealStatus::NotChecked(_)))
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::SealNotChecked { .. }))
    );
}

#[test]
fn a_failing_sealer_does_not_block_the_action_but_is_reported() {
    struct Broken;
    impl Sealer for Broken {
        fn mac(&self, _: &[u8]) -> Result<Vec<u8>, phi_console::audit::SealError> {
            Err(phi_console::audit::SealError::Unavailable(
                "connection refused".into(),
            ))
        }
        fn verify(&self, _: &[u8], _: &[u8]) -> Result<bool, phi_console::audit::SealError> {
            Ok(false)
        }
        fn key_id(&self) -> String {
            "alias/broken".into()
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = AuditLog::open(
        AuditConfig::new(&path)
            .sealer(Arc::new(Broken))
            .seal_every(1),
    )
    .unwrap();
    let ran = AtomicBool::new(false);
    guarded(&log, purge(1), |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap()
    .outcome
    .unwrap();
    assert!(ran.load(Ordering::SeqCst));
    assert!(
        log.take_seal_failure()
            .unwrap()
            .to_string()
            .contains("not reachable")
    );
    let e = log.seal().unwrap_err();
    assert!(e.to_string().contains("could not be sealed"), "{e}");
    assert!(verify_file(&path, &checking()).unwrap().is_valid());
}

// ---------------------------------------------------------------- tampering

/// A sealed sample log and its records.
fn tamper_fixture() -> (tempfile::TempDir, PathBuf, Vec<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    sample_log(&path, 6);
    let v = read_values(&path);
    let report = verify_file(&path, &checking()).unwrap();
    assert!(
        report.is_valid() && report.warnings.is_empty(),
        "{report:?}"
    );
    assert!(report.seals.len() >= 3 && report.seals.iter().all(|s| s.status == SealStatus::Valid));
    (dir, path, v)
}

fn first_problem(path: &Path) -> phi_console::audit::Problem {
    let report = verify_file(path, &checking()).unwrap();
    assert!(!report.is_valid(), "tampering went unnoticed");
    report.first_problem().unwrap().clone()
}

#[test]
fn tamper_edit_a_field() {
    let (_d, path, mut v) = tamper_fixture();
    v[3]["why"]["reason"] = json!("routine cleanup");
    write_values(&path, &v);
    let p = first_problem(&path);
    assert_eq!(
        (p.line, p.seq, p.kind.clone()),
        (4, Some(4), ProblemKind::BadHash)
    );
    assert!(p.to_string().starts_with("line 4 (seq 4): bad hash"), "{p}");
    // Only that record is named: the chain after it still links to its stored hash.
    assert_eq!(verify_file(&path, &checking()).unwrap().problems.len(), 1);

    // Recomputing the edited record's own hash moves the failure to the next link.
    v[3]["hash"] = json!(record_hash(&v[3]).unwrap());
    write_values(&path, &v);
    let p = first_problem(&path);
    assert_eq!(
        (p.line, p.seq, p.kind.clone()),
        (5, Some(5), ProblemKind::BrokenChain)
    );
    assert!(
        p.to_string().starts_with("line 5 (seq 5): broken chain"),
        "{p}"
    );
}

#[test]
fn tamper_delete_a_record() {
    let (_d, path, mut v) = tamper_fixture();
    v.remove(2);
    write_values(&path, &v);
    let p = first_problem(&path);
    assert_eq!(p.line, 3);
    assert_eq!(p.seq, Some(4));
    assert_eq!(
        p.kind,
        ProblemKind::SequenceGap {
            expected: 3,
            found: 4
        }
    );
}

#[test]
fn tamper_reorder_two_records() {
    let (_d, path, mut v) = tamper_fixture();
    v.swap(3, 4);
    write_values(&path, &v);
    let report = verify_file(&path, &checking()).unwrap();
    let p = report.first_problem().unwrap();
    assert_eq!((p.line, p.seq), (4, Some(5)));
    assert_eq!(
        p.kind,
        ProblemKind::Reordered {
            expected: 4,
            found: 5
        }
    );
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p.kind, ProblemKind::Reordered { .. })),
        "{:?}",
        report.problems
    );
}

#[test]
fn tamper_truncate_the_tail_mid_line() {
    let (_d, path, v) = tamper_fixture();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() - 40]).unwrap();
    let p = first_problem(&path);
    assert_eq!(p.line, v.len() as u64);
    assert!(matches!(p.kind, ProblemKind::TruncatedTail(_)), "{p}");
    // The writer will not extend a damaged chain (see also the fail-closed tests).
    let e = open(&path, 0).intent(purge(1)).unwrap_err();
    assert!(matches!(e, AuditError::DamagedTail { .. }), "{e}");
}

#[test]
fn tamper_insert_a_forged_record_with_a_relinked_chain_is_caught_by_the_seal() {
    let (_d, path, mut v) = tamper_fixture();
    // A forged "cancelled" outcome for the first purge, inserted after it, with every later
    // record renumbered, relinked and re-hashed.
    let mut forged = v[2].clone();
    forged["id"] = json!("00000000-0000-4000-8000-000000000000");
    forged["outcome"]["status"] = json!("cancelled");
    v.insert(3, forged);
    rehash_all(&mut v);
    write_values(&path, &v);
    let report = verify_file(&path, &checking()).unwrap();
    let p = report.first_problem().unwrap();
    // Hashes, sequence and links are all consistent; the seal is what catches it.
    assert_eq!(p.line, first_seal_line(&v));
    assert_eq!(p.seq, Some(p.line));
    assert!(
        matches!(&p.kind, ProblemKind::BadSeal(why) if why.contains("MAC does not match")),
        "{p}"
    );
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p.kind, ProblemKind::BadSeal(_)))
    );
    assert!(report.seals.iter().any(|s| s.status == SealStatus::Invalid));
}

#[test]
fn tamper_replace_the_whole_file_with_a_rehashed_copy_is_caught_by_the_seal() {
    let (_d, path, mut v) = tamper_fixture();
    // Rewrite history: the purge never had a ticket, and the request ids are gone.
    for r in v.iter_mut() {
        if let Some(why) = r.get_mut("why") {
            why.as_object_mut().unwrap().remove("ticket");
        }
        if let Some(o) = r.as_object_mut() {
            o.remove("request_ids");
        }
    }
    rehash_all(&mut v);
    write_values(&path, &v);
    let p = first_problem(&path);
    assert_eq!(p.line, first_seal_line(&v));
    assert!(matches!(p.kind, ProblemKind::BadSeal(_)), "{p}");

    // Dropping the seals as well leaves a consistent chain with no seal at all: that is only a
    // warning by default, and a failure when seals are required.
    v.retain(|r| r["kind"] != "seal");
    rehash_all(&mut v);
    write_values(&path, &v);
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::Unsealed { first_seq: 1, .. }))
    );
    let strict = VerifyOptions {
        require_sealed: true,
        ..checking()
    };
    let report = verify_file(&path, &strict).unwrap();
    assert!(
        matches!(report.first_problem().unwrap().kind, ProblemKind::Unsealed(n) if n == v.len() as u64)
    );
}

#[test]
fn tamper_a_copied_old_seal_does_not_seal_a_new_head() {
    let (_d, path, mut v) = tamper_fixture();
    let seals: Vec<usize> = v
        .iter()
        .enumerate()
        .filter(|(_, r)| r["kind"] == "seal")
        .map(|(i, _)| i)
        .collect();
    // Edit a record after the first seal, then replace the next seal by a copy of the first
    // (a MAC the attacker holds), keeping the copy's head.
    v[seals[0] + 1]["why"] = json!({"reason": "nothing to see"});
    let old = v[seals[0]].clone();
    v[seals[1]]["seal"] = old["seal"].clone();
    let mut prev = GENESIS_HASH.to_string();
    for (i, r) in v.iter_mut().enumerate() {
        r["seq"] = json!(i as u64 + 1);
        r["prev_hash"] = json!(prev);
        let h = record_hash(r).unwrap();
        r["hash"] = json!(h);
        prev = h;
    }
    write_values(&path, &v);
    let p = first_problem(&path);
    assert_eq!(p.line, seals[1] as u64 + 1);
    assert!(
        matches!(&p.kind, ProblemKind::BadSeal(w) if w.contains("does not seal the record before it")),
        "{p}"
    );
}

#[test]
fn deleting_trailing_records_is_only_visible_through_seals() {
    // Documented limit: records after the last seal can be cut without a trace in the file;
    // verify says they were never sealed.
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    log.session(SessionEvent::Start, Value::Null).unwrap();
    log.seal().unwrap().unwrap();
    for i in 0..3 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    let mut v = read_values(&path);
    v.truncate(v.len() - 1);
    write_values(&path, &v);
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    assert!(
        report.warnings.iter().any(|w| matches!(
            w,
            Warning::Unsealed {
                count: 5,
                first_line: 3,
                ..
            }
        )),
        "{:?}",
        report.warnings
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("not sealed"))
    );
    assert_eq!(
        report.unfinished.len(),
        1,
        "the cut left an intent without its outcome"
    );
}

#[test]
fn kms_seals_against_the_emulator() {
    use phi_console::cloud::http::{endpoint_config, static_credentials};
    use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};
    let emu = Emulator::start(EmulatorConfig {
        scenario: Scenario::Claims,
        clock: ClockMode::Manual,
        ..Default::default()
    })
    .expect("emulator starts");
    let url = emu.endpoint_url();
    let cfg = endpoint_config(
        &url,
        "us-east-1",
        static_credentials("AKIATESTKEY", "testsecret", None),
        1,
    );
    let kms: Arc<dyn Sealer> = Arc::new(
        KmsSealer::from_config(
            &cfg,
            phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS,
        )
        .unwrap(),
    );

    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = AuditLog::open(AuditConfig::new(&path).sealer(kms.clone()).seal_every(4)).unwrap();
    for i in 0..3 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    log.close().unwrap().unwrap();
    let v = read_values(&path);
    // Seals name the key as KMS does (its ARN, whatever alias the writer was given) and the
    // GenerateMac request that made them (what CloudTrail records).
    let key_arn = emu.with_world(|w| {
        let id = w
            .kms
            .resolve(phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS)
            .unwrap();
        w.kms.keys[&id].arn.clone()
    });
    for r in v.iter().filter(|r| r["kind"] == "seal") {
        assert_eq!(r["seal"]["key_id"], key_arn.as_str());
        assert!(!r["seal"]["request_id"].as_str().unwrap().is_empty(), "{r}");
    }

    // A verifier with its own KMS client (as `audit verify` builds) accepts the seals …
    let verifier: Arc<dyn Sealer> = Arc::new(
        KmsSealer::from_config(
            &cfg,
            phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS,
        )
        .unwrap(),
    );
    let opts = VerifyOptions::default().with_sealer(verifier.clone());
    let report = verify_file(&path, &opts).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.seals.len(), 2);
    assert!(
        report.seals.iter().all(|s| s.status == SealStatus::Valid),
        "{:?}",
        report.seals
    );
    assert!(
        !verifier.verify(b"some other message", &[0u8; 32]).unwrap(),
        "an invalid MAC is `false`, not an error"
    );

    // … and rejects a rehashed rewrite.
    let mut v = v;
    v[0]["what"]["targets"] = json!(["arn:aws:sqs:us-east-1:123456789012:claims-intake"]);
    rehash_all(&mut v);
    write_values(&path, &v);
    let report = verify_file(&path, &opts).unwrap();
    let p = report.first_problem().unwrap();
    assert_eq!(p.line, first_seal_line(&v));
    assert!(matches!(p.kind, ProblemKind::BadSeal(_)), "{p}");

    // An alias can be pinned to its key ARN; a seal naming another KMS key is bad, even one
    // that exists; a key that does not exist cannot be the seal key.
    let pinned = KmsSealer::resolved(
        aws_sdk_kms::Client::new(&cfg),
        phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS,
    )
    .unwrap();
    assert_eq!(pinned.key_id(), key_arn);
    assert!(
        pinned
            .names_this_key(phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS)
            .unwrap()
    );
    assert!(pinned.names_this_key(&key_arn).unwrap());
    assert!(!pinned.names_this_key("alias/claims-costs").unwrap());
    assert!(!pinned.names_this_key("alias/no-such-key").unwrap());
    assert!(
        !pinned
            .names_this_key("local-hmac:0011223344556677")
            .unwrap()
    );
    assert!(KmsSealer::resolved(aws_sdk_kms::Client::new(&cfg), "alias/no-such-key").is_err());

    // A stopped KMS: the seals cannot be checked, and that fails verification.
    drop(emu);
    let report = verify_file(&path, &opts).unwrap();
    assert!(!report.is_valid());
    assert!(
        report
            .problems
            .iter()
            .all(|p| matches!(p.kind, ProblemKind::UncheckedSeal(_))),
        "{:?}",
        report.problems
    );
}

// ---------------------------------------------------------------- R2: every tamper variant

/// What shows a tampering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caught {
    /// The file's hash chain, sequence or format (`audit verify`, exit 1).
    Chain,
    /// A seal's MAC or key (`audit verify` with the profile's seal key, exit 1).
    Seal,
    /// Records after the last seal: a warning, a failure with `--require-sealed`.
    Unsealed,
    /// The files: verify warns, and the writer refuses to append.
    Files,
    /// Nothing in the file shows it: only a witness outside the host (tests/lab/witness.rs).
    Witness,
}

enum Tamper {
    Values(fn(&mut Vec<Value>)),
    Bytes(fn(Vec<u8>) -> Vec<u8>),
    Files(fn(&Path)),
}

fn seal_indices(v: &[Value]) -> Vec<usize> {
    v.iter()
        .enumerate()
        .filter(|(_, r)| r["kind"] == "seal")
        .map(|(i, _)| i)
        .collect()
}

/// Re-hashes records from `from` on, keeping seq and links consistent (not the MACs).
fn rehash_from(v: &mut [Value], from: usize) {
    let mut prev = if from == 0 {
        GENESIS_HASH.to_string()
    } else {
        v[from - 1]["hash"].as_str().unwrap().to_string()
    };
    for r in v[from..].iter_mut() {
        r["prev_hash"] = json!(prev);
        if r["kind"] == "seal" {
            r["seal"]["head"] = json!(prev);
        }
        let h = record_hash(r).unwrap();
        r["hash"] = json!(h);
        prev = h;
    }
}

/// A sealed session (seals at seq 6, 11, 16 and the closing 18) followed by a second, still
/// running session whose four records are not sealed yet.
fn matrix_fixture(path: &Path) -> usize {
    sample_log(path, 6);
    let closed = read_values(path).len();
    let log = open(path, 0);
    for i in 10..12 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    closed
}

fn strict() -> VerifyOptions {
    VerifyOptions {
        require_sealed: true,
        ..checking()
    }
}

fn classify(path: &Path) -> Option<Caught> {
    let report = verify_file(path, &strict()).unwrap();
    if let Some(p) = report.first_problem() {
        return Some(match p.kind {
            ProblemKind::BadSeal(_) | ProblemKind::UncheckedSeal(_) => Caught::Seal,
            ProblemKind::Unsealed(_) => Caught::Unsealed,
            _ => Caught::Chain,
        });
    }
    report
        .warnings
        .iter()
        .any(|w| matches!(w, Warning::File(_)))
        .then_some(Caught::Files)
}

#[test]
fn r2_every_tamper_variant_is_detected() {
    use Caught::*;
    // What the attacker can do without the seal key: anything to the file and the directory.
    let variants: Vec<(&str, Caught, Tamper)> = vec![
        // Within the sealed part.
        (
            "edit a field",
            Chain,
            Tamper::Values(|v| v[3]["why"]["reason"] = json!("routine")),
        ),
        (
            "edit a field and re-hash that record",
            Chain,
            Tamper::Values(|v| {
                v[3]["why"]["reason"] = json!("routine");
                v[3]["hash"] = json!(record_hash(&v[3]).unwrap());
            }),
        ),
        (
            "edit a field and re-hash the whole chain",
            Seal,
            Tamper::Values(|v| {
                v[3]["why"]["reason"] = json!("routine");
                rehash_from(v, 3);
            }),
        ),
        (
            "delete a record",
            Chain,
            Tamper::Values(|v| {
                v.remove(3);
            }),
        ),
        (
            "delete a record, renumber and re-hash",
            Seal,
            Tamper::Values(|v| {
                v.remove(3);
                rehash_all(v);
            }),
        ),
        (
            "reorder two records",
            Chain,
            Tamper::Values(|v| v.swap(3, 4)),
        ),
        (
            "reorder two records and re-hash",
            Seal,
            Tamper::Values(|v| {
                v.swap(3, 4);
                rehash_all(v);
            }),
        ),
        (
            "insert a forged record",
            Chain,
            Tamper::Values(|v| {
                let mut f = v[2].clone();
                f["outcome"]["status"] = json!("cancelled");
                v.insert(3, f);
            }),
        ),
        (
            "insert a forged record, renumber and re-hash",
            Seal,
            Tamper::Values(|v| {
                let mut f = v[2].clone();
                f["id"] = json!("00000000-0000-4000-8000-000000000000");
                v.insert(3, f);
                rehash_all(v);
            }),
        ),
        (
            "duplicate a record",
            Chain,
            Tamper::Values(|v| {
                let d = v[3].clone();
                v.insert(4, d);
            }),
        ),
        (
            "reformat a record",
            Chain,
            Tamper::Bytes(|b| {
                String::from_utf8(b)
                    .unwrap()
                    .replacen("\",\"", "\", \"", 1)
                    .into_bytes()
            }),
        ),
        (
            "change the format version and re-hash",
            Chain,
            Tamper::Values(|v| {
                v[3]["v"] = json!(2);
                rehash_from(v, 3);
            }),
        ),
        (
            "truncate in the middle of a record",
            Chain,
            Tamper::Bytes(|mut b| {
                let n = b.len() / 2;
                b.truncate(n);
                b
            }),
        ),
        (
            "cut the file back to an earlier seal",
            Witness,
            Tamper::Values(|v| {
                let s = seal_indices(v);
                v.truncate(s[1] + 1);
            }),
        ),
        (
            "cut the file back to a record before a seal",
            Unsealed,
            Tamper::Values(|v| {
                let s = seal_indices(v);
                v.truncate(s[1] - 1);
            }),
        ),
        // After the last seal (the running session's records).
        (
            "edit a record after the last seal",
            Chain,
            Tamper::Values(|v| {
                let n = v.len();
                v[n - 3]["why"]["reason"] = json!("routine");
            }),
        ),
        (
            "edit a record after the last seal and re-hash",
            Unsealed,
            Tamper::Values(|v| {
                let n = v.len();
                v[n - 3]["why"]["reason"] = json!("routine");
                rehash_from(v, n - 3);
            }),
        ),
        (
            "delete a record after the last seal",
            Chain,
            Tamper::Values(|v| {
                let n = v.len();
                v.remove(n - 3);
            }),
        ),
        (
            "delete the last record",
            Unsealed,
            Tamper::Values(|v| {
                v.pop();
            }),
        ),
        (
            "reorder records after the last seal",
            Chain,
            Tamper::Values(|v| {
                let n = v.len();
                v.swap(n - 3, n - 2);
            }),
        ),
        (
            "truncate the last record",
            Chain,
            Tamper::Bytes(|mut b| {
                let n = b.len() - 10;
                b.truncate(n);
                b
            }),
        ),
        // Seals.
        (
            "forge a seal's MAC",
            Seal,
            Tamper::Values(|v| {
                let s = seal_indices(v)[0];
                v[s]["seal"]["mac"] = json!("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
                rehash_from(v, s);
            }),
        ),
        (
            "relabel a seal to another key",
            Seal,
            Tamper::Values(|v| {
                let s = seal_indices(v)[0];
                v[s]["seal"]["key_id"] = json!("arn:aws:kms:us-east-1:123456789012:key/mallory");
                rehash_from(v, s);
            }),
        ),
        (
            "rewrite every seal as a local HMAC seal (chain recomputed)",
            Seal,
            Tamper::Values(|v| {
                v[3]["why"]["reason"] = json!("routine");
                reseal_locally(v, b"mallory's key");
            }),
        ),
        (
            "re-seal with another key, keeping the seal key's label",
            Seal,
            Tamper::Values(|v| {
                v[3]["why"]["reason"] = json!("routine");
                let labels: Vec<Value> = v.iter().map(|r| r["seal"]["key_id"].clone()).collect();
                reseal_locally(v, b"mallory's key");
                for (r, l) in v.iter_mut().zip(labels) {
                    if r["kind"] == "seal" {
                        r["seal"]["key_id"] = l;
                    }
                }
                rehash_from(v, 0);
            }),
        ),
        (
            "copy an earlier seal forward",
            Seal,
            Tamper::Values(|v| {
                let s = seal_indices(v);
                v[s[1] - 1]["why"]["reason"] = json!("routine");
                v[s[1]]["seal"] = v[s[0]]["seal"].clone();
                let prev = v[s[1] - 2]["hash"].clone();
                v[s[1] - 1]["prev_hash"] = prev;
                let h = record_hash(&v[s[1] - 1]).unwrap();
                v[s[1] - 1]["hash"] = json!(h);
                v[s[1]]["prev_hash"] = json!(h);
                let h = record_hash(&v[s[1]]).unwrap();
                v[s[1]]["hash"] = json!(h);
                rehash_from(v, s[1] + 1);
            }),
        ),
        (
            "point a seal at another record",
            Seal,
            Tamper::Values(|v| {
                let s = seal_indices(v)[1];
                v[s]["seal"]["head"] = v[s - 3]["hash"].clone();
                let h = record_hash(&v[s]).unwrap();
                v[s]["hash"] = json!(h);
                rehash_from(v, s + 1);
            }),
        ),
        (
            "change a seal's algorithm",
            Seal,
            Tamper::Values(|v| {
                let s = seal_indices(v)[0];
                v[s]["seal"]["alg"] = json!("HMAC_SHA_224");
                rehash_from(v, s);
            }),
        ),
        (
            "a seal whose MAC is not base64",
            Seal,
            Tamper::Values(|v| {
                let s = seal_indices(v)[0];
                v[s]["seal"]["mac"] = json!("not base64!");
                rehash_from(v, s);
            }),
        ),
        (
            "replay a seal MAC from another log of the same key",
            Seal,
            Tamper::Values(|v| {
                let dir = tempfile::tempdir().unwrap();
                let other = log_path(&dir);
                sample_log(&other, 2);
                let theirs = read_values(&other);
                let s = seal_indices(v)[0];
                v[s]["seal"]["mac"] = theirs[seal_indices(&theirs)[0]]["seal"]["mac"].clone();
                rehash_from(v, s);
            }),
        ),
        (
            "remove a seal's MAC member",
            Chain,
            Tamper::Values(|v| {
                let s = seal_indices(v)[0];
                v[s]["seal"].as_object_mut().unwrap().remove("mac");
                rehash_from(v, s);
            }),
        ),
        (
            "delete a seal record",
            Chain,
            Tamper::Values(|v| {
                let s = seal_indices(v)[0];
                v.remove(s);
            }),
        ),
        (
            "strip every seal (chain recomputed)",
            Unsealed,
            Tamper::Values(|v| {
                v.retain(|r| r["kind"] != "seal");
                rehash_all(v);
            }),
        ),
        (
            "strip the closing seal of a session (chain recomputed)",
            Unsealed,
            Tamper::Values(|v| {
                let last = *seal_indices(v).last().unwrap();
                v.remove(last);
                rehash_all(v);
            }),
        ),
        // Bytes that are not a log.
        (
            "invalid UTF-8",
            Chain,
            Tamper::Bytes(|mut b| {
                b[20] = 0xff;
                b
            }),
        ),
        (
            "CRLF line ends",
            Chain,
            Tamper::Bytes(|b| {
                String::from_utf8(b)
                    .unwrap()
                    .replace('\n', "\r\n")
                    .into_bytes()
            }),
        ),
        (
            "append a blank line",
            Chain,
            Tamper::Bytes(|mut b| {
                b.push(b'\n');
                b
            }),
        ),
        (
            "append a line longer than any record",
            Chain,
            Tamper::Bytes(|mut b| {
                b.extend(std::iter::repeat_n(
                    b'x',
                    phi_console::audit::MAX_RECORD_BYTES + 1,
                ));
                b
            }),
        ),
        // The files.
        (
            "delete the key file",
            Files,
            Tamper::Files(|p| {
                std::fs::remove_file(ParamKey::default_path(p)).unwrap();
            }),
        ),
        (
            "replace the log with a symbolic link",
            Files,
            Tamper::Files(|p| {
                let aside = p.with_extension("real");
                std::fs::rename(p, &aside).unwrap();
                std::os::unix::fs::symlink(&aside, p).unwrap();
            }),
        ),
        (
            "replace the key file with a symbolic link",
            Files,
            Tamper::Files(|p| {
                let key = ParamKey::default_path(p);
                let aside = key.with_extension("real");
                std::fs::rename(&key, &aside).unwrap();
                std::os::unix::fs::symlink(&aside, &key).unwrap();
            }),
        ),
        (
            "open the log's mode to others",
            Files,
            Tamper::Files(|p| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666)).unwrap();
            }),
        ),
        ("empty the log", Witness, Tamper::Bytes(|_| Vec::new())),
        (
            "replace the log with a fresh unsealed one",
            Unsealed,
            Tamper::Values(|v| {
                v.truncate(3);
                rehash_all(v);
            }),
        ),
    ];

    let mut table = String::new();
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for (name, expected, tamper) in &variants {
        let dir = tempfile::tempdir().unwrap();
        let path = log_path(&dir);
        let closed = matrix_fixture(&path);
        match tamper {
            Tamper::Values(f) => {
                let mut v = read_values(&path);
                // Variants about a closed session work on the closed session alone.
                if name.contains("closing seal") || name.contains("earlier seal") {
                    v.truncate(closed);
                }
                f(&mut v);
                write_values(&path, &v);
            }
            Tamper::Bytes(f) => {
                let b = std::fs::read(&path).unwrap();
                std::fs::write(&path, f(b)).unwrap();
            }
            Tamper::Files(f) => {
                // On a closed (fully sealed) session, so that only the files are at fault.
                let mut v = read_values(&path);
                v.truncate(closed);
                write_values(&path, &v);
                f(&path)
            }
        }
        let got = classify(&path);
        match expected {
            Witness => assert_eq!(
                got, None,
                "{name}: expected only a witness to see it, but the file shows it"
            ),
            _ => assert_eq!(got, Some(*expected), "{name}"),
        }
        if *expected == Unsealed {
            // By default a warning, not a pass in silence.
            let report = verify_file(&path, &checking()).unwrap();
            assert!(
                report
                    .warnings
                    .iter()
                    .any(|w| matches!(w, Warning::Unsealed { .. })),
                "{name}: {:?}",
                report.warnings
            );
        }
        if *expected == Files {
            // The writer refuses to go on with such files.
            let e = AuditLog::open(AuditConfig::new(&path))
                .and_then(|log| log.session(SessionEvent::Start, Value::Null).map(|_| ()));
            // A loosened mode is tightened (that is not a refusal, the warning is the finding).
            if !name.contains("mode") {
                assert!(e.is_err(), "{name}: the writer went on");
            }
        }
        *counts.entry(format!("{expected:?}")).or_default() += 1;
        table.push_str(&format!("| {name} | {expected:?} |\n"));
    }
    eprintln!("{table}");
    eprintln!("{} variants: {counts:?}", variants.len());
    assert_eq!(variants.len(), 44);
}

// ---------------------------------------------------------------- fail closed

#[test]
fn fail_closed_when_the_directory_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap().parent().unwrap()).unwrap();
    std::fs::write(path.parent().unwrap(), "not a directory").unwrap();
    let e = AuditLog::open(AuditConfig::new(&path)).unwrap_err();
    assert!(matches!(e, AuditError::NotADirectory { .. }), "{e}");
    assert!(e.to_string().contains("not a directory"), "{e}");

    // The directory disappears under a running console, and a file takes its place.
    let path = dir.path().join("live").join("claims.jsonl");
    let log =
        AuditLog::open(AuditConfig::new(&path).param_key(ParamKey::from_bytes([1; 32]))).unwrap();
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path.parent().unwrap(), "in the way").unwrap();
    let ran = AtomicBool::new(false);
    let e = guarded(&log, purge(1), |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap_err();
    assert!(
        !ran.load(Ordering::SeqCst),
        "the action ran without an intent record"
    );
    assert!(matches!(e, AuditError::NotADirectory { .. }), "{e}");
    assert!(e.to_string().contains("the action was not run"), "{e}");
}

#[test]
fn the_log_and_its_key_file_must_not_be_symbolic_links() {
    // A link to /dev/full (or to any other file) in place of the log is refused before
    // anything is written: the action does not run, and /dev/full is not touched.
    assert!(Path::new("/dev/full").exists(), "this test needs /dev/full");
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        path.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::os::unix::fs::symlink("/dev/full", &path).unwrap();
    let dev_mode = std::fs::metadata("/dev/full").unwrap().permissions().mode();
    let e = AuditLog::open(AuditConfig::new(&path).sealer(sealer())).unwrap_err();
    assert!(matches!(e, AuditError::Symlink { .. }), "{e:?}");
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert!(e.to_string().contains("not run"), "{e}");
    assert_eq!(
        std::fs::metadata("/dev/full").unwrap().permissions().mode(),
        dev_mode
    );

    // A link that appears under a running console (the log swapped for a link to a file the
    // attacker controls) is refused at the next append.
    std::fs::remove_file(&path).unwrap();
    let log = open(&path, 0);
    log.session(SessionEvent::Start, Value::Null).unwrap();
    let decoy = dir.path().join("decoy.jsonl");
    std::fs::rename(&path, &decoy).unwrap();
    std::os::unix::fs::symlink(&decoy, &path).unwrap();
    let ran = AtomicBool::new(false);
    let e = guarded(&log, purge(1), |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap_err();
    assert!(!ran.load(Ordering::SeqCst), "the action ran");
    assert!(matches!(e, AuditError::Symlink { .. }), "{e:?}");
    assert_eq!(
        read_values(&decoy).len(),
        1,
        "nothing written through the link"
    );
    // verify reads the target, and says that the path is a link.
    let report = verify_file(&path, &checking()).unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("is a symbolic link")),
        "{:?}",
        report.warnings
    );

    // The key file as a link: refused too, even when it points at a valid key.
    let other = dir.path().join("state").join("audit").join("other.jsonl");
    let real_key = dir.path().join("real.key");
    std::fs::write(&real_key, format!("{}\n", "ab".repeat(32))).unwrap();
    std::fs::set_permissions(&real_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&real_key, ParamKey::default_path(&other)).unwrap();
    let e = AuditLog::open(AuditConfig::new(&other)).unwrap_err();
    assert!(matches!(e, AuditError::Symlink { .. }), "{e:?}");
}

#[test]
fn a_missing_key_file_next_to_a_log_with_records_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    sample_log(&path, 1);
    let key = ParamKey::default_path(&path);
    let before = std::fs::read_to_string(&key).unwrap();
    std::fs::remove_file(&key).unwrap();
    let e = AuditLog::open(AuditConfig::new(&path)).unwrap_err();
    assert!(matches!(e, AuditError::KeyFileMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("restore the key file"), "{e}");
    assert!(!key.exists(), "no new key was made");
    // verify reports it.
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.to_string().contains("key file") && w.to_string().contains("missing")),
        "{:?}",
        report.warnings
    );
    // Restored, the log opens again with the same key.
    std::fs::write(&key, &before).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    open(&path, 0)
        .session(SessionEvent::Start, Value::Null)
        .unwrap();
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
    // A new (empty) log gets a new key.
    let fresh = dir.path().join("state").join("audit").join("fresh.jsonl");
    drop(open(&fresh, 0));
    assert!(ParamKey::default_path(&fresh).exists());
}

#[test]
fn verify_reports_loose_file_modes() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    sample_log(&path, 1);
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    let set =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    set(&path, 0o640);
    set(&ParamKey::default_path(&path), 0o604);
    set(path.parent().unwrap(), 0o777);
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid());
    let text: Vec<String> = report.warnings.iter().map(|w| w.to_string()).collect();
    assert!(text.iter().any(|w| w.contains("mode 0640")), "{text:?}");
    assert!(
        text.iter()
            .any(|w| w.contains("key file") && w.contains("0604")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|w| w.contains("0777") && w.contains("others can write")),
        "{text:?}"
    );
    set(path.parent().unwrap(), 0o700);
}

const CHILD_FSIZE_LOG: &str = "PHI_AUDIT_TEST_FSIZE_LOG";

/// Sets this process's file size limit (RLIMIT_FSIZE, what `ulimit -f` sets); `None`: none.
fn set_file_size_limit(bytes: Option<u64>) {
    let lim = libc::rlimit {
        rlim_cur: bytes.unwrap_or(libc::RLIM_INFINITY),
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct; lowering and raising the soft limit under an
    // unlimited hard limit is always allowed.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &lim) }, 0);
}

/// Not a test on its own: the body of the child process of
/// `fail_closed_at_the_file_size_limit` (a file size limit is per process, and the test
/// harness's other threads write files too).
#[test]
fn child_at_the_file_size_limit() {
    let Some(path) = std::env::var_os(CHILD_FSIZE_LOG) else {
        return;
    };
    let path = PathBuf::from(path);
    let log = open(&path, 0);
    let len = || std::fs::metadata(&path).unwrap().len();

    // The limit is reached before the intent: nothing runs.
    set_file_size_limit(Some(len()));
    let ran = AtomicBool::new(false);
    let e = guarded(&log, purge(1), |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap_err();
    assert!(
        !ran.load(Ordering::SeqCst),
        "the action ran without its intent"
    );
    assert!(matches!(e, AuditError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("the action was not run"), "{e}");

    // The limit is reached between the intent and the outcome: the action ran, and the
    // message says so, and that its outcome is not in the log.
    set_file_size_limit(None);
    let done = guarded(&log, purge(2), |_| {
        set_file_size_limit(Some(len()));
        Ok::<_, ()>("rotated")
    })
    .unwrap();
    assert_eq!(done.result, Ok("rotated"));
    let e = done.outcome.unwrap_err();
    assert!(matches!(e, AuditError::OutcomeNotRecorded { .. }), "{e:?}");
    let m = e.to_string();
    assert!(
        m.starts_with("the action ran, but its outcome is NOT in the audit log"),
        "{m}"
    );
    assert!(m.contains("file size limit"), "{m}");
    assert!(m.contains(&done.intent_id), "{m}");
    assert!(m.contains("Check the target's state in AWS"), "{m}");
    assert!(
        !m.contains("was not run"),
        "the message contradicts itself: {m}"
    );
    set_file_size_limit(None);
    println!("CHILD-OK {}", done.intent_id);
}

#[test]
fn fail_closed_at_the_file_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    open(&path, 0)
        .session(SessionEvent::Start, Value::Null)
        .unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_at_the_file_size_limit", "--nocapture"])
        .env(CHILD_FSIZE_LOG, &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("CHILD-OK"),
        "child failed ({:?}): {stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let intent_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CHILD-OK "))
        .unwrap()
        .trim()
        .to_string();
    // No partial line was left behind: the log verifies, and holds the second intent without
    // an outcome (which the next session lists as unfinished).
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert_eq!(report.records, 2, "start and the second intent");
    assert_eq!(report.unfinished.len(), 1);
    assert_eq!(report.unfinished[0].id, intent_id);
    assert_eq!(unfinished(&path).unwrap().len(), 1);
}

#[test]
fn fail_closed_when_another_console_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log =
        AuditLog::open(AuditConfig::new(&path).lock_timeout(Duration::from_millis(300))).unwrap();
    log.session(SessionEvent::Start, Value::Null).unwrap();
    let holder = std::fs::OpenOptions::new().read(true).open(&path).unwrap();
    holder.lock().unwrap();

    let ran = AtomicBool::new(false);
    let start = Instant::now();
    let e = guarded(&log, purge(1), |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap_err();
    assert!(
        !ran.load(Ordering::SeqCst),
        "the action ran without an intent record"
    );
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(matches!(e, AuditError::LockTimeout { .. }), "{e}");
    assert!(e.to_string().contains("kept the audit log"), "{e}");
    assert!(e.to_string().contains("locked"), "{e}");

    // Released in time, the append waits for it and succeeds. (A console with a timeout no
    // slow machine reaches, and the lock released once its append has started: no race
    // between a fixed sleep and a 300 ms timeout.)
    let patient =
        AuditLog::open(AuditConfig::new(&path).lock_timeout(Duration::from_secs(60))).unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    let started = Arc::new(AtomicBool::new(false));
    let appender = {
        let started = started.clone();
        std::thread::spawn(move || {
            started.store(true, Ordering::SeqCst);
            guarded(&patient, purge(2), |_| Ok::<_, ()>(()))
                .unwrap()
                .outcome
                .unwrap();
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !started.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the appender never started");
        std::thread::yield_now();
    }
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        len,
        "appended under another console's lock"
    );
    holder.unlock().unwrap();
    appender.join().unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > len);
    assert!(verify_file(&path, &checking()).unwrap().is_valid());
}

#[test]
fn fail_closed_when_the_last_record_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = open(&path, 0);
    log.session(SessionEvent::Start, Value::Null).unwrap();
    // A torn write (or an edit) at the end of the file.
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, [&good[..], br#"{"v":1,"seq":2,"ki"#].concat()).unwrap();
    let ran = AtomicBool::new(false);
    let e = guarded(&log, purge(1), |_| {
        ran.store(true, Ordering::SeqCst);
        Ok::<_, ()>(())
    })
    .unwrap_err();
    assert!(!ran.load(Ordering::SeqCst));
    assert!(matches!(e, AuditError::DamagedTail { .. }), "{e}");
    assert!(e.to_string().contains("audit verify"), "{e}");
    let mut v = read_values_lossy(&good);
    v[0]["who"]["os_user"] = json!("mallory");
    write_values(&path, &v);
    let e = log.intent(purge(1)).unwrap_err();
    assert!(e.to_string().contains("does not match its content"), "{e}");
}

fn read_values_lossy(data: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(data)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---------------------------------------------------------------- two consoles, one log

const CHILD_LOG: &str = "PHI_AUDIT_TEST_CHILD_LOG";
const CHILD_COUNT: &str = "PHI_AUDIT_TEST_CHILD_COUNT";
const CHILD_TAG: &str = "PHI_AUDIT_TEST_CHILD_TAG";

/// Appends `n` guarded actions tagged `tag` to the log at `path` (the way one console does).
fn append_as_one_console(path: PathBuf, n: usize, tag: &str) {
    let log = AuditLog::open(
        AuditConfig::new(path)
            .sealer(sealer())
            .seal_every(7)
            .lock_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    for i in 0..n {
        let intent = Intent::new(Action::new(format!("test:{tag}")).param("i", i as u64));
        guarded(&log, intent, |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
}

/// One appender: the body of each child process of `two_processes_append_to_one_valid_chain`
/// (which names the log in its environment). Run on its own, it appends to a fresh log of its
/// own and checks that one appender leaves a valid, sealed chain of its intents and outcomes.
#[test]
fn child_appender() {
    if let Some(path) = std::env::var_os(CHILD_LOG) {
        let n: usize = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
        let tag = std::env::var(CHILD_TAG).unwrap();
        append_as_one_console(PathBuf::from(path), n, &tag);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    append_as_one_console(path.clone(), 10, "solo");
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert!(report.unfinished.is_empty());
    let (records, bad) = read_records(&std::fs::read(&path).unwrap());
    assert!(bad.is_empty());
    let action = "test:solo".to_string();
    for kind in [
        phi_console::audit::Kind::Intent,
        phi_console::audit::Kind::Outcome,
    ] {
        let count = records
            .iter()
            .filter(|(_, r)| r.kind == kind && r.action() == Some(&action))
            .count();
        assert_eq!(count, 10, "{kind:?}");
    }
    assert!(
        records
            .iter()
            .any(|(_, r)| r.kind == phi_console::audit::Kind::Seal),
        "sealed every 7 records"
    );
}

#[test]
fn two_processes_append_to_one_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    // Created first so both children share one parameter key file.
    drop(open(&path, 7));
    let n = 40;
    let spawn = |tag: &str| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_appender", "--nocapture"])
            .env(CHILD_LOG, &path)
            .env(CHILD_COUNT, n.to_string())
            .env(CHILD_TAG, tag)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children = [spawn("a"), spawn("b")];
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "child failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    assert!(report.unfinished.is_empty());
    let (records, bad) = read_records(&std::fs::read(&path).unwrap());
    assert!(bad.is_empty());
    for tag in ["a", "b"] {
        let action = format!("test:{tag}");
        let intents = records
            .iter()
            .filter(|(_, r)| {
                r.kind == phi_console::audit::Kind::Intent && r.action() == Some(&action)
            })
            .count();
        let outcomes = records
            .iter()
            .filter(|(_, r)| {
                r.kind == phi_console::audit::Kind::Outcome && r.action() == Some(&action)
            })
            .count();
        assert_eq!((intents, outcomes), (n, n), "{tag}");
    }
    let seqs: Vec<u64> = records.iter().map(|(_, r)| r.seq).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
    assert!(
        report.seals.len() >= (4 * n) / 8,
        "periodic seals from both processes"
    );
}

#[test]
fn threads_share_one_valid_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let shared = Arc::new(open(&path, 5));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let path = path.clone();
            let shared = shared.clone();
            std::thread::spawn(move || {
                // Two threads share one AuditLog; two open their own, like separate consoles.
                let own;
                let log: &AuditLog = if t % 2 == 0 {
                    &shared
                } else {
                    own = open(&path, 5);
                    &own
                };
                for i in 0..15 {
                    guarded(log, purge(t * 100 + i), |_| Ok::<_, ()>(()))
                        .unwrap()
                        .outcome
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let report = verify_file(&path, &checking()).unwrap();
    assert!(report.is_valid(), "{:?}", report.problems);
    let (records, _) = read_records(&std::fs::read(&path).unwrap());
    assert_eq!(
        records
            .iter()
            .filter(|(_, r)| r.kind == phi_console::audit::Kind::Intent)
            .count(),
        60
    );
    assert_eq!(
        records
            .iter()
            .filter(|(_, r)| r.kind == phi_console::audit::Kind::Outcome)
            .count(),
        60
    );
    assert!(report.unfinished.is_empty());
}

// ---------------------------------------------------------------- garbage never panics

#[test]
fn verify_never_panics_on_garbage_and_rejects_every_byte_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    sample_log(&path, 3);
    let good = std::fs::read(&path).unwrap();
    let opts = checking();
    assert!(verify_bytes(&good, &opts).is_valid());
    let mut rng = SeededRng::new(0xA0D1);
    const ALPHABET: &[u8] = b"{}[]\":,\\\n 0123456789abcdefnulltrue-+.eE\x00\xff\xc3";

    for _ in 0..2500 {
        let len = rng.below(300) as usize;
        let json_like = rng.below(2) == 0;
        let data: Vec<u8> = (0..len)
            .map(|_| {
                if json_like {
                    *rng.pick(ALPHABET)
                } else {
                    rng.next_u64() as u8
                }
            })
            .collect();
        let report = verify_bytes(&data, &opts);
        assert_eq!(
            report.is_valid(),
            data.is_empty(),
            "{:?}",
            String::from_utf8_lossy(&data)
        );
        let _ = read_records(&data);
    }

    for _ in 0..1500 {
        let mut data = good.clone();
        let at = rng.below(data.len() as u64) as usize;
        match rng.below(5) {
            0 => data[at] ^= (rng.below(255) + 1) as u8,
            1 => data.insert(at, *rng.pick(ALPHABET)),
            2 => {
                data.remove(at);
            }
            3 => {
                // Truncation: at a line boundary this is the undetectable case the seals cover.
                data.truncate(at);
                let _ = verify_bytes(&data, &opts);
                continue;
            }
            _ => {
                // Splice a random piece of the log somewhere else.
                let from = rng.below(data.len() as u64) as usize;
                let to = (from + rng.below(200) as usize).min(data.len());
                let piece = data[from..to].to_vec();
                let at = rng.below(data.len() as u64) as usize;
                data.splice(at..at, piece);
            }
        }
        if data == good {
            continue;
        }
        let report = verify_bytes(&data, &opts);
        assert!(
            !report.is_valid(),
            "an altered log verified: {:?}",
            String::from_utf8_lossy(&data)
        );
        let _ = read_records(&data);
    }
}

// ---------------------------------------------------------------- bounded input

#[test]
fn huge_input_fails_fast_in_bounded_memory() {
    // /dev/zero: an endless line. Verification reads one line of at most 1 MiB and stops.
    let start = Instant::now();
    let report = verify_file(Path::new("/dev/zero"), &checking()).unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let p = &report.problems[0];
    assert_eq!(p.line, 1);
    assert_eq!(
        p.kind,
        ProblemKind::LineTooLong {
            max: phi_console::audit::MAX_RECORD_BYTES
        }
    );
    assert!(p.to_string().contains("longer than 1048576 bytes"), "{p}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );

    // A generated file: a valid log, then a 64 MiB line without an end. Verification names the
    // line after the good records and stops there.
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    sample_log(&path, 2);
    let good_lines = read_values(&path).len() as u64;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..64 {
        std::io::Write::write_all(&mut f, &chunk).unwrap();
    }
    drop(f);
    let report = verify_file(&path, &checking()).unwrap();
    let p = report.first_problem().unwrap();
    assert_eq!(p.line, good_lines + 1);
    assert!(matches!(p.kind, ProblemKind::LineTooLong { .. }), "{p}");
    // The writer will not append after it either (its last line is not a record).
    let e = open(&path, 0).intent(purge(1)).unwrap_err();
    assert!(matches!(e, AuditError::DamagedTail { .. }), "{e}");

    // The binary, with its address space capped at 256 MiB (reading /dev/zero whole, as
    // verify once did, grew to gigabytes): it answers, cleanly, and at once.
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"));
    cmd.args(["audit", "verify", "/dev/zero", "--offline"]);
    // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 256 << 20,
                rlim_max: 256 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("FAILED: line 1: the line is longer than 1048576 bytes"),
        "{stdout}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
}

/// Runs `f` on a thread and waits for it at most `limit`: a call that blocks forever (opening a
/// FIFO nobody writes to) fails the test instead of hanging it.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the call blocked (did it open a FIFO and wait for a writer?)")
}

fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// Files that are not files: a FIFO as the log, as its key file or as `--seal-key-file`, and
/// `/dev/zero` as `--seal-key-file`. Each is refused at once, in bounded memory, never waited on
/// and never read whole; a FIFO is never verified as an "empty, intact" log.
#[test]
fn pipes_and_devices_in_place_of_audit_files_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("log.fifo");
    mkfifo(&fifo);
    let f = fifo.clone();
    let r = within(Duration::from_secs(10), move || {
        verify_file(&f, &VerifyOptions::offline())
    });
    let e = r.expect_err("a FIFO is not a log");
    assert!(e.to_string().contains("not a log file"), "{e}");

    // The writer, with a FIFO in place of the key file next to a log with records.
    let path = log_path(&dir);
    sample_log(&path, 1);
    let key = ParamKey::default_path(&path);
    std::fs::remove_file(&key).unwrap();
    mkfifo(&key);
    let p = path.clone();
    let e = within(Duration::from_secs(10), move || {
        AuditLog::open(AuditConfig::new(p).sealer(sealer())).map(|_| ())
    })
    .expect_err("a FIFO is not a key file");
    assert!(e.to_string().contains("not a regular file"), "{e}");

    // The binary: a FIFO as the log, and as --seal-key-file; /dev/zero as --seal-key-file with
    // the address space capped at 256 MiB (read whole, it grew without end).
    use std::os::unix::process::CommandExt;
    let good_log = dir.path().join("good").join("g.jsonl");
    sample_log(&good_log, 1);
    let run = |args: Vec<String>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"));
        cmd.args(&args)
            .stdin(std::process::Stdio::null())
            .env("XDG_CONFIG_HOME", dir.path().join("xdg"));
        // SAFETY: only setrlimit, which is async-signal-safe, runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 256 << 20,
                    rlim_max: 256 << 20,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        within(Duration::from_secs(20), move || cmd.output().unwrap())
    };
    let s = |p: &Path| p.display().to_string();
    let out = run(vec![
        "audit".into(),
        "verify".into(),
        s(&fifo),
        "--offline".into(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a log file"), "{err}");
    for key in [s(&fifo), "/dev/zero".to_string()] {
        let out = run(vec![
            "audit".into(),
            "verify".into(),
            s(&good_log),
            "--seal-key-file".into(),
            key.clone(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{key}: {err}");
        assert!(
            err.contains("--seal-key-file") && err.contains("not a regular file"),
            "{key}: {err}"
        );
    }
}

// ---------------------------------------------------------------- the CLI

fn cli(cmd: AuditCommand) -> (i32, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(cmd, &mut out, &mut err).unwrap();
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn file(path: &Path) -> LogArgs {
    LogArgs {
        file: Some(path.to_path_buf()),
        profile: None,
    }
}

/// `audit verify FILE` with an empty settings file (no seal key configured) and no AWS.
fn verify_args(path: &Path, seal_key: Option<PathBuf>) -> VerifyArgs {
    let settings = path.with_file_name("no-settings.toml");
    std::fs::write(&settings, "").unwrap();
    let mut a = VerifyArgs {
        log: file(path),
        seal_key_file: seal_key,
        ..VerifyArgs::default()
    };
    a.global.config = Some(settings);
    a.log.profile = Some("claims".into());
    a
}

fn verify_cmd(path: &Path, seal_key: Option<PathBuf>) -> AuditCommand {
    AuditCommand::Verify(verify_args(path, seal_key))
}

#[test]
fn cli_verify_show_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    // Sealed with a local key the CLI reads from a file.
    let key_file = dir.path().join("seal.key");
    std::fs::write(&key_file, format!("{}\n", "5a".repeat(32))).unwrap();
    let local: Arc<dyn Sealer> = Arc::new(LocalHmacSealer::from_file(&key_file).unwrap());
    let log = AuditLog::open(AuditConfig::new(&path).sealer(local).seal_every(4)).unwrap();
    log.session(SessionEvent::Start, Value::Null).unwrap();
    for i in 0..3 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    let send = Intent::new(
        Action::new("sqs:SendMessage")
            .target(QUEUE)
            .sensitive("body", PHI),
    );
    guarded(&log, send, |r| {
        r.error_code("KMS.DisabledException");
        Err::<(), _>(())
    })
    .unwrap()
    .outcome
    .unwrap();
    log.close().unwrap();

    let (code, out, _) = cli(verify_cmd(&path, Some(key_file.clone())));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK: the hash chain is intact"), "{out}");
    assert!(out.contains("0 bad, 0 not checked"), "{out}");
    assert!(out.contains("result: intact (exit 0)"), "{out}");
    // Without a key the seals prove nothing: exit 1, saying how to give one.
    let (code, out, _) = cli(verify_cmd(&path, None));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("seal not verified: no seal key is configured for profile claims"),
        "{out}"
    );
    assert!(out.contains("--offline"), "{out}");
    // Offline: the chain only, and an exit code that says so.
    let mut offline = verify_args(&path, None);
    offline.offline = true;
    let (code, out, _) = cli(AuditCommand::Verify(offline.clone()));
    assert_eq!(
        code,
        phi_console::audit::cli::EXIT_SEALS_NOT_VERIFIED,
        "{out}"
    );
    assert!(out.contains("seals NOT verified"), "{out}");
    // In JSON too, offline is not "valid": a script reading `valid` is not talked into a pass.
    offline.json = true;
    let (code, out, _) = cli(AuditCommand::Verify(offline));
    assert_eq!(code, 3);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (j["valid"].clone(), j["chain_intact"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(j["exit_code"], 3);
    // A local key the verifier does not supply is never trusted, even with a KMS key set.
    std::fs::write(
        path.with_file_name("kms-settings.toml"),
        "[profiles.claims]\naudit_hmac_key = \"alias/claims-audit-hmac\"\n",
    )
    .unwrap();
    let mut kms = verify_args(&path, None);
    kms.global.config = Some(path.with_file_name("kms-settings.toml"));
    let (code, out, _) = cli(AuditCommand::Verify(kms));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("bad seal: it was made with key local-hmac:"),
        "{out}"
    );
    assert!(out.contains("--seal-key-file"), "{out}");

    let (code, out, _) = cli(AuditCommand::Show {
        log: file(&path),
        since: Some("1h".into()),
        action: Some("purge".into()),
        json: false,
    });
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(out.lines().all(|l| l.contains("sqs:PurgeQueue")), "{out}");
    assert!(
        out.contains("reason=\"poison messages #2\" ticket=CHG-1234"),
        "{out}"
    );
    let (_, out, _) = cli(AuditCommand::Show {
        log: file(&path),
        since: Some("2999-01-01".into()),
        action: None,
        json: false,
    });
    assert!(out.is_empty(), "{out}");
    let (_, out, _) = cli(AuditCommand::Show {
        log: file(&path),
        since: None,
        action: Some("SendMessage".into()),
        json: true,
    });
    let shown: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[1]["outcome"]["error_code"], "KMS.DisabledException");
    assert!(!out.contains("Jane"));
    let lines = std::fs::read_to_string(&path).unwrap();
    assert!(
        out.lines().all(|l| lines.contains(l)),
        "--json prints records as stored"
    );

    let (code, out, _) = cli(AuditCommand::Export {
        log: file(&path),
        format: ExportFormat::Json,
    });
    assert_eq!(code, 0);
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(all.len(), lines.lines().count());
    let (code, out, _) = cli(AuditCommand::Export {
        log: file(&path),
        format: ExportFormat::Csv,
    });
    assert_eq!(code, 0);
    let mut rows = out.lines();
    assert!(
        rows.next()
            .unwrap()
            .starts_with("seq,time,kind,event,id,intent_id,action,targets,")
    );
    assert_eq!(rows.count(), all.len());
    assert!(out.contains("KMS.DisabledException") && !out.contains("Jane"));

    // Tampered: exit 1, the record named.
    let mut v = read_values(&path);
    v[2]["what"]["targets"] = json!(["arn:aws:sqs:us-east-1:123456789012:other"]);
    write_values(&path, &v);
    let (code, out, _) = cli(verify_cmd(&path, Some(key_file.clone())));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED: line 3 (seq 3): bad hash"), "{out}");
    let mut json = verify_args(&path, None);
    json.offline = true;
    json.json = true;
    let (code, out, _) = cli(AuditCommand::Verify(json.clone()));
    assert_eq!(code, 1);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["valid"], false);
    assert_eq!(j["problems"][0]["line"], 3);
    assert_eq!(j["problems"][0]["seq"], 3);
    let (code, _, err) = cli(AuditCommand::Export {
        log: file(&path),
        format: ExportFormat::Json,
    });
    assert_eq!(code, 1);
    assert!(err.contains("does not verify"), "{err}");

    // Unreadable: exit 2.
    let (code, _, err) = cli(verify_cmd(&dir.path().join("missing.jsonl"), None));
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

/// The attack of issue 10: edit a record, recompute the chain, and rewrite every seal as a
/// "local HMAC" seal with a key of the attacker's choosing.
fn reseal_locally(values: &mut [Value], attacker_key: &[u8]) {
    let attacker = LocalHmacSealer::new(attacker_key);
    let mut prev = GENESIS_HASH.to_string();
    for (i, v) in values.iter_mut().enumerate() {
        v["seq"] = json!(i as u64 + 1);
        v["prev_hash"] = json!(prev);
        if v["kind"] == "seal" {
            let mac = attacker
                .mac(&phi_console::audit::seal_message(&prev))
                .unwrap();
            use base64::Engine as _;
            v["seal"] = json!({
                "alg": "HMAC_SHA_256",
                "head": prev,
                "key_id": attacker.key_id(),
                "mac": base64::engine::general_purpose::STANDARD.encode(mac),
            });
        }
        let h = record_hash(v).unwrap();
        v["hash"] = json!(h);
        prev = h;
    }
}

#[test]
fn cli_binary_checks_kms_seals_through_the_emulator() {
    use phi_console::cloud::http::{endpoint_config, static_credentials};
    use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};
    let emu = Emulator::start(EmulatorConfig {
        scenario: Scenario::Claims,
        clock: ClockMode::Manual,
        ..Default::default()
    })
    .expect("emulator starts");
    let url = emu.endpoint_url();
    let cfg = endpoint_config(
        &url,
        "us-east-1",
        static_credentials("AKIATESTKEY", "testsecret", None),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let log = AuditLog::open(
        AuditConfig::new(&path)
            .sealer(Arc::new(
                KmsSealer::from_config(
                    &cfg,
                    phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS,
                )
                .unwrap(),
            ))
            .seal_every(3),
    )
    .unwrap();
    for i in 0..2 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    log.close().unwrap();

    // An auditor's profile, and settings naming the profile's seal key.
    let d = dir.path();
    std::fs::write(
        d.join("config"),
        "[profile auditor]\nregion = us-east-1\n\n[profile wrong]\nregion = us-east-1\n",
    )
    .unwrap();
    std::fs::write(
        d.join("credentials"),
        "[auditor]\naws_access_key_id = AKIATESTKEY\naws_secret_access_key = testsecret\n\n[wrong]\naws_access_key_id = ASIANOSUCHKEY0000000\naws_secret_access_key = nope\naws_session_token = forged\n",
    )
    .unwrap();
    let settings = d.join("settings.toml");
    std::fs::write(
        &settings,
        "[defaults]\naudit_hmac_key = \"alias/claims-audit-hmac\"\n",
    )
    .unwrap();
    let bare = d.join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"));
        cmd.args(args);
        if !args.contains(&"--endpoint-url") {
            cmd.args(["--endpoint-url", &url]);
        }
        cmd.env("AWS_CONFIG_FILE", d.join("config"))
            .env("AWS_SHARED_CREDENTIALS_FILE", d.join("credentials"))
            .env("HOME", d)
            .env("XDG_CONFIG_HOME", d.join("xdg"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdin(std::process::Stdio::null());
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
        ] {
            cmd.env_remove(var);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let p = path.to_str().unwrap();
    let s = settings.to_str().unwrap();
    let mut checks = 0;
    let mut expect = |args: &[&str], code: i32, says: &str| {
        let (c, out, err) = run(args);
        assert_eq!(c, code, "{args:?}\n{out}{err}");
        assert!(
            out.contains(says) || err.contains(says),
            "{args:?}: {says:?} not in\n{out}{err}"
        );
        checks += 1;
    };
    // The global options before or after the subcommand.
    expect(
        &["audit", "verify", p, "--profile", "auditor", "--config", s],
        0,
        "seals: 2 (2 valid, 0 bad, 0 not checked)",
    );
    expect(
        &["--profile", "auditor", "--config", s, "audit", "verify", p],
        0,
        "result: intact (exit 0)",
    );
    // What the verdict rests on is said: an alias (whoever repoints it picks the key) and an
    // endpoint that is not AWS's (whoever answers there answers for KMS).
    expect(
        &["audit", "verify", p, "--profile", "auditor", "--config", s],
        0,
        "not as a key ARN",
    );
    expect(
        &["audit", "verify", p, "--profile", "auditor", "--config", s],
        0,
        "not AWS's own endpoint",
    );
    // No seal key configured: the seals are not proof, exit 1.
    expect(
        &[
            "audit",
            "verify",
            p,
            "--profile",
            "auditor",
            "--config",
            bare.to_str().unwrap(),
        ],
        1,
        "no seal key is configured for profile auditor",
    );
    // Another key of the account (it exists, and the auditor may use it): bad seals.
    expect(
        &[
            "audit",
            "verify",
            p,
            "--profile",
            "auditor",
            "--config",
            s,
            "--seal-key",
            "alias/claims-costs",
        ],
        1,
        "bad seal: it was made with key arn:aws:kms:us-east-1:123456789012:key/",
    );
    // A key that does not exist, or credentials KMS refuses: the seals cannot be checked.
    expect(
        &[
            "audit",
            "verify",
            p,
            "--profile",
            "auditor",
            "--config",
            s,
            "--seal-key",
            "alias/no-such-key",
        ],
        1,
        "seal not verified",
    );
    expect(
        &["audit", "verify", p, "--profile", "wrong", "--config", s],
        1,
        "seal not verified",
    );
    expect(
        &[
            "audit",
            "verify",
            p,
            "--profile",
            "auditor",
            "--config",
            s,
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        1,
        "seal not verified",
    );
    // Offline: never exit 0.
    expect(
        &[
            "audit",
            "verify",
            p,
            "--profile",
            "auditor",
            "--config",
            s,
            "--offline",
        ],
        3,
        "seals NOT verified",
    );
    // The exit codes are in --help.
    expect(
        &["audit", "verify", "--help"],
        0,
        "3  the hash chain is intact, but the log is NOT fully verified",
    );

    // The rehashed rewrite is caught through KMS …
    let good = read_values(&path);
    let mut v = good.clone();
    v[0]["why"]["reason"] = json!("approved by the CISO");
    rehash_all(&mut v);
    write_values(&path, &v);
    let seal_line = first_seal_line(&v);
    expect(
        &["audit", "verify", p, "--profile", "auditor", "--config", s],
        1,
        &format!("FAILED: line {seal_line} (seq {seal_line}): bad seal"),
    );
    // … and so is the issue's attack: seals rewritten as local HMAC seals with the attacker's
    // key, with --require-sealed, and even when the attacker's key file is passed as a KMS
    // key's stand-in (it is not the profile's key).
    let mut v = good.clone();
    v[0]["why"]["reason"] = json!("approved by the CISO");
    reseal_locally(&mut v, b"mallory's key");
    write_values(&path, &v);
    expect(
        &[
            "audit",
            "verify",
            p,
            "--profile",
            "auditor",
            "--config",
            s,
            "--require-sealed",
        ],
        1,
        "bad seal: it was made with key local-hmac:",
    );
    assert_eq!(checks, 13);
}

/// The review's last hole: strip every seal, recompute the chain, and run the documented
/// `audit verify FILE`. Records that no verified seal covers fail by default now; a verifier
/// who accepts them (`--allow-unsealed`, e.g. after a crash) gets exit 3, never 0.
#[test]
fn a_log_with_its_seals_stripped_fails_the_default_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = log_path(&dir);
    let key_file = dir.path().join("seal.key");
    std::fs::write(&key_file, format!("{}\n", "5a".repeat(32))).unwrap();
    let local: Arc<dyn Sealer> = Arc::new(LocalHmacSealer::from_file(&key_file).unwrap());
    let log = AuditLog::open(AuditConfig::new(&path).sealer(local).seal_every(3)).unwrap();
    for i in 0..4 {
        guarded(&log, purge(i), |_| Ok::<_, ()>(()))
            .unwrap()
            .outcome
            .unwrap();
    }
    log.close().unwrap();
    // The intact log: exit 0.
    let (code, out, _) = cli(verify_cmd(&path, Some(key_file.clone())));
    assert_eq!(code, 0, "{out}");
    // Seals stripped, chain recomputed.
    let mut values: Vec<Value> = read_values(&path)
        .into_iter()
        .filter(|v| v["kind"] != "seal")
        .collect();
    rehash_all(&mut values);
    write_values(&path, &values);
    let (code, out, _) = cli(verify_cmd(&path, Some(key_file.clone())));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not sealed") || out.contains("unsealed"),
        "{out}"
    );
    let mut lenient = verify_args(&path, Some(key_file.clone()));
    lenient.allow_unsealed = true;
    let (code, out, _) = cli(AuditCommand::Verify(lenient.clone()));
    assert_eq!(
        code,
        phi_console::audit::cli::EXIT_SEALS_NOT_VERIFIED,
        "{out}"
    );
    lenient.json = true;
    let (code, out, _) = cli(AuditCommand::Verify(lenient));
    assert_eq!(code, 3);
    let j: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["valid"], false, "{out}");
}
