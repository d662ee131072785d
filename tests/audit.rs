//! The audit log, end to end: fail-closed writes, the hash chain and seals under tampering,
//! two processes sharing one log, garbage input, file modes, secrets, and the CLI.

use phi_console::audit::canonical::{record_hash, to_canonical};
use phi_console::audit::cli::{AuditCommand, ExportFormat, LogArgs, run_with};
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
    let fut = guarded_async(&log, purge(2), |_| async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, ()>(())
    });
    assert!(
        tokio::time::timeout(Duration::from_millis(50), fut)
            .await
            .is_err()
    );
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

    // Without the key, seals are not checked, which is not a failure.
    let report = verify_file(&path, &VerifyOptions::default()).unwrap();
    assert!(report.is_valid());
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
    let kms: Arc<dyn Sealer> =
        Arc::new(KmsSealer::from_config(&cfg, KmsSealer::CLAIMS_KEY).unwrap());

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
    assert!(
        v.iter()
            .filter(|r| r["kind"] == "seal")
            .all(|r| r["seal"]["key_id"] == KmsSealer::CLAIMS_KEY)
    );

    // A verifier with its own KMS client (as `audit verify` builds) accepts the seals …
    let verifier: Arc<dyn Sealer> =
        Arc::new(KmsSealer::from_config(&cfg, KmsSealer::CLAIMS_KEY).unwrap());
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

    // An alias can be pinned to its key ARN; a stopped KMS means "not checked", not "bad".
    let pinned =
        KmsSealer::resolved(aws_sdk_kms::Client::new(&cfg), KmsSealer::CLAIMS_KEY).unwrap();
    assert!(
        pinned
            .key_id()
            .starts_with("arn:aws:kms:us-east-1:123456789012:key/"),
        "{}",
        pinned.key_id()
    );
    drop(emu);
    let report = verify_file(&path, &opts).unwrap();
    assert!(
        report
            .seals
            .iter()
            .all(|s| matches!(s.status, SealStatus::NotChecked(_))),
        "{:?}",
        report.seals
    );
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
fn fail_closed_when_the_disk_is_full() {
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
    let log = open(&path, 1);
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
    assert!(matches!(e, AuditError::DiskFull { .. }), "{e:?}");
    assert!(e.to_string().contains("disk holding the audit log"), "{e}");
    assert!(e.to_string().contains("is full"), "{e}");
    for e in [
        log.reveal(Reveal::message_body(Action::new("sqs:ReceiveMessage")))
            .unwrap_err(),
        log.session(SessionEvent::Start, Value::Null).unwrap_err(),
    ] {
        assert!(matches!(e, AuditError::DiskFull { .. }), "{e:?}");
    }
    // /dev/full was not touched (its mode is not "fixed" through the symlink).
    assert_eq!(
        std::fs::metadata("/dev/full").unwrap().permissions().mode(),
        dev_mode
    );
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

    // Released in time, the append waits for it and succeeds.
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        holder.unlock().unwrap();
    });
    guarded(&log, purge(2), |_| Ok::<_, ()>(()))
        .unwrap()
        .outcome
        .unwrap();
    releaser.join().unwrap();
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

/// Not a test on its own: the body of each child process of
/// `two_processes_append_to_one_valid_chain` (it does nothing without its environment).
#[test]
fn child_appender() {
    let Some(path) = std::env::var_os(CHILD_LOG) else {
        return;
    };
    let n: usize = std::env::var(CHILD_COUNT).unwrap().parse().unwrap();
    let tag = std::env::var(CHILD_TAG).unwrap();
    let log = AuditLog::open(
        AuditConfig::new(PathBuf::from(path))
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

fn verify_cmd(path: &Path, seal_key: Option<PathBuf>) -> AuditCommand {
    AuditCommand::Verify {
        log: file(path),
        endpoint_url: None,
        region: None,
        seal_key_file: seal_key,
        offline: true,
        require_sealed: false,
        json: false,
    }
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
    let (code, out, _) = cli(verify_cmd(&path, None));
    assert_eq!(code, 0, "unchecked seals are not a failure: {out}");
    assert!(out.contains("not checked"), "{out}");

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
    let (code, out, _) = cli(AuditCommand::Verify {
        log: file(&path),
        endpoint_url: None,
        region: None,
        seal_key_file: None,
        offline: true,
        require_sealed: false,
        json: true,
    });
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
                KmsSealer::from_config(&cfg, KmsSealer::CLAIMS_KEY).unwrap(),
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

    let run = |args: &[&str], creds: bool| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"));
        cmd.arg("audit").args(args);
        for var in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("AWS_CONFIG_FILE", dir.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("no-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if creds {
            cmd.env("AWS_ACCESS_KEY_ID", "AKIATESTKEY")
                .env("AWS_SECRET_ACCESS_KEY", "testsecret");
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let p = path.to_str().unwrap();
    let (code, out, err) = run(
        &["verify", p, "--endpoint-url", &url, "--region", "us-east-1"],
        true,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("seals: 2 (2 valid, 0 bad, 0 not checked)"),
        "{out}{err}"
    );
    // No credentials: the seals are reported as not checked and verification still passes.
    let (code, out, err) = run(&["verify", p, "--endpoint-url", &url], false);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 not checked"), "{out}{err}");

    // The rehashed rewrite is caught through KMS.
    let mut v = read_values(&path);
    v[0]["why"]["reason"] = json!("approved by the CISO");
    rehash_all(&mut v);
    write_values(&path, &v);
    let (code, out, err) = run(&["verify", p, "--endpoint-url", &url], true);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!(
            "FAILED: line {0} (seq {0}): bad seal",
            first_seal_line(&v)
        )),
        "{out}{err}"
    );
}
