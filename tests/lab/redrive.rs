//! Selective redrive (src/guard/redrive) against the emulator: 10,000 claims with mixed
//! attributes moved under injected send, batch, delete and throttling faults; an expired token
//! in the middle; deletes that keep failing (the next run deletes, never resends); FIFO
//! groups and deduplication ids; and the `phi-console queue` binary killed at 22 points and
//! resumed. Every test ends by checking each claim is in exactly one of the two queues, by
//! count and by id: the matching ones in the destination, the others still in the DLQ.

use crate::common::*;
use crate::guard::{open, records};
use phi_console::audit::{AuditConfig, AuditLog, Kind};
use phi_console::emulator::Emulator;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::wire::Service;
use phi_console::guard::redrive::engine::{Ending, RunReport};
use phi_console::guard::redrive::{self, Context};
use phi_console::guard::{self, GuardError, Policy, Request};
use phi_console::session::Session;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A claim's attributes by its number: a third fail validation by timeout at the fraud stage.
fn attrs_of(i: usize) -> (&'static str, &'static str) {
    let code = ["VALIDATION_TIMEOUT", "FRAUD_DOWN", "BAD_FORMAT"][i % 3];
    let stage = ["fraud", "validation"][(i / 3) % 2];
    (code, stage)
}

pub(crate) fn matches(i: usize) -> bool {
    attrs_of(i) == ("VALIDATION_TIMEOUT", "fraud")
}

/// Creates `src<suffix>` with `dlq<suffix>` as its DLQ, and fills the DLQ with `n` claims.
pub(crate) async fn setup(emu: &Emulator, suffix: &str, n: usize, fifo: bool) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(&config(emu));
    let ext = if fifo { ".fifo" } else { "" };
    let mut dlq = sqs.create_queue().queue_name(format!("dlq{suffix}{ext}"));
    let mut src = sqs.create_queue().queue_name(format!("src{suffix}{ext}"));
    if fifo {
        dlq = dlq.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
        src = src.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    let dlq_url = dlq.send().await.unwrap().queue_url().unwrap().to_string();
    let dlq_arn = emu.with_world(|w| w.sqs.queues[&format!("dlq{suffix}{ext}")].arn.clone());
    let src_url = src
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            format!("{{\"deadLetterTargetArn\":\"{dlq_arn}\",\"maxReceiveCount\":3}}"),
        )
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let mut set = tokio::task::JoinSet::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let (sqs, url, chunk) = (sqs.clone(), dlq_url.clone(), chunk.to_vec());
        set.spawn(async move {
            let entries = chunk.iter().map(|&i| {
                let (code, stage) = attrs_of(i);
                let s = |v: &str| {
                    aws_sdk_sqs::types::MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value(v)
                        .build()
                        .unwrap()
                };
                let mut e = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(format!("e{i}"))
                    .message_body(format!("{{\"claim\":\"CLM-{i}\",\"ssn\":\"123-45-6789\"}}"))
                    .message_attributes("claim_id", s(&format!("CLM-{i}")))
                    .message_attributes("error_code", s(code))
                    .message_attributes("stage", s(stage));
                if fifo {
                    e = e
                        .message_group_id(format!("member-{}", i % 30))
                        .message_deduplication_id(format!("orig-{i}"));
                }
                e.build().unwrap()
            });
            let out = sqs
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries.collect()))
                .send()
                .await
                .unwrap();
            assert!(out.failed().is_empty());
        });
        while set.len() >= 16 {
            set.join_next().await;
        }
    }
    while set.join_next().await.is_some() {}
    (dlq_url, src_url)
}

/// Each message of a queue: its id → its claim id.
pub(crate) fn claims_by_message(emu: &Emulator, queue: &str) -> BTreeMap<String, String> {
    emu.with_world(|w| {
        w.sqs.queues[queue]
            .messages
            .iter()
            .map(|m| {
                (
                    m.id.clone(),
                    m.attributes["claim_id"]["StringValue"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                )
            })
            .collect()
    })
}

/// The claim ids in a queue (each once per message holding it).
pub(crate) fn claims_in(emu: &Emulator, queue: &str) -> Vec<String> {
    emu.with_world(|w| {
        w.sqs.queues[queue]
            .messages
            .iter()
            .map(|m| {
                m.attributes["claim_id"]["StringValue"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    })
}

/// Each of the `n` claims is in exactly one queue: the matching ones in `dest`, the others
/// in `dlq`; `allowed_twice` may be in both (the documented window).
pub(crate) fn assert_exactly_once(
    emu: &Emulator,
    dlq: &str,
    dest: &str,
    n: usize,
    allowed_twice: &BTreeSet<String>,
    at: &str,
) {
    let in_dlq = claims_in(emu, dlq);
    let in_dest = claims_in(emu, dest);
    let mut count: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in &in_dlq {
        count.entry(c.clone()).or_default().0 += 1;
    }
    for c in &in_dest {
        count.entry(c.clone()).or_default().1 += 1;
    }
    assert_eq!(count.len(), n, "every claim is somewhere; {at}");
    let mut twice = 0;
    for i in 0..n {
        let id = format!("CLM-{i}");
        let (d, s) = count[&id];
        if matches(i) {
            if s > 1 {
                assert!(
                    allowed_twice.contains(&id),
                    "{id} delivered {s} times; {at}"
                );
                twice += 1;
            } else {
                assert_eq!(
                    (d, s),
                    (0, 1),
                    "{id} matches: only in the destination; {at}"
                );
            }
            assert_eq!(d, 0, "{id} left the DLQ; {at}");
        } else {
            assert_eq!((d, s), (1, 0), "{id} does not match: only in the DLQ; {at}");
        }
    }
    assert_eq!(
        in_dest.len(),
        (0..n).filter(|&i| matches(i)).count() + twice,
        "by count; {at}"
    );
}

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
        // The tests move the clock past hide times; step-up is tested elsewhere.
        policy: Policy {
            step_up_minutes: 24 * 60,
            ..Policy::default()
        },
        log,
        path,
        dir,
    }
}

impl Lab {
    fn context(&self) -> Context {
        let mut c = Context::new(self.dir.path().join("audit").join("redrive"));
        c.backoff = Duration::from_millis(5);
        c.wait = 0;
        c
    }
    async fn redrive(&self, request: &Request) -> (Result<guard::Executed, GuardError>, RunReport) {
        let ctx = self.context();
        let plan = redrive::scope(
            ctx.clone(),
            guard::plan(&self.session, &self.policy, request),
        )
        .await
        .unwrap();
        let c = guard::confirm(
            &plan,
            &plan.confirm_text,
            Some("fraud service back"),
            None,
            true,
        )
        .unwrap();
        let r = redrive::scope(
            ctx.clone(),
            guard::execute(&self.log, &self.session, &self.policy, c),
        )
        .await;
        (r, ctx.take_report().expect("a run report"))
    }
}

pub(crate) fn fraud_timeouts(dlq_url: &str) -> Request {
    Request::redrive_messages(dlq_url).param(
        redrive::WHERE.name,
        vec![
            "error_code=VALIDATION_TIMEOUT".to_string(),
            "stage=fraud".to_string(),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_mixed_claims_move_exactly_the_matching_ones_under_faults() {
    let lab = lab().await;
    let n = 10_000;
    let (dlq, _) = setup(&lab.emu, "-big", n, false).await;
    lab.emu
        .add_fault(FaultRule::for_op(Service::Sqs, "SendMessageBatch").batch_failures(0.1));
    lab.emu
        .add_fault(FaultRule::for_op(Service::Sqs, "SendMessageBatch").errors(0.05, 503));
    lab.emu
        .add_fault(FaultRule::for_op(Service::Sqs, "DeleteMessageBatch").batch_failures(0.1));
    lab.emu
        .add_fault(FaultRule::for_op(Service::Sqs, "DeleteMessageBatch").errors(0.05, 500));
    lab.emu
        .add_fault(FaultRule::for_op(Service::Sqs, "ReceiveMessage").throttle(2000.0, 50.0));
    let request = fraud_timeouts(&dlq).param(redrive::RATE.name, 3000);
    let (r, report) = lab.redrive(&request).await;
    let done = r.unwrap();
    assert_eq!(report.ending, Ending::Completed, "{report:?}");
    let p = &report.progress;
    let want = (0..n).filter(|&i| matches(i)).count() as u64;
    assert_eq!(p.looked_at, n as u64);
    assert_eq!(p.matched, want);
    assert_eq!(p.left, n as u64 - want);
    // Faults that kept failing leave claims in the DLQ, named; a second run takes them.
    let mut moved = p.moved;
    if p.failed > 0 {
        lab.emu.clear_faults();
        lab.emu.advance(Duration::from_secs(301));
        let (r2, again) = lab.redrive(&request).await;
        r2.unwrap();
        moved += again.progress.moved + again.progress.resumed;
    }
    assert_eq!(moved, want);
    assert_exactly_once(&lab.emu, "dlq-big", "src-big", n, &BTreeSet::new(), "");
    // One intent, its outcome with the counts; the journal is private.
    let recs = records(&lab.path);
    let intent = recs
        .iter()
        .find(|r| r.id == done.intent_id)
        .expect("the intent");
    assert_eq!(intent.kind, Kind::Intent);
    let outcome = recs
        .iter()
        .find(|r| {
            r.kind == Kind::Outcome && r.intent_id.as_deref() == Some(done.intent_id.as_str())
        })
        .expect("its outcome");
    let msg = outcome
        .outcome
        .as_ref()
        .unwrap()
        .message
        .clone()
        .unwrap_or_default();
    assert!(msg.contains(&format!("matched {want}")), "{msg}");
    let journal = std::fs::read_dir(lab.dir.path().join("audit").join("redrive"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&journal).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(
        !text.contains("123-45-6789") && !text.contains("CLM-"),
        "ids only, no PHI"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_stops_the_run_and_the_next_one_finishes() {
    let lab = lab().await;
    let n = 600;
    let (dlq, _) = setup(&lab.emu, "-exp", n, false).await;
    lab.emu.add_fault(
        FaultRule::for_op(Service::Sqs, "SendMessageBatch").fail_nth_with(4, 403, "ExpiredToken"),
    );
    let request = fraud_timeouts(&dlq).param(redrive::RATE.name, 3000);
    let (r, report) = lab.redrive(&request).await;
    match r {
        Err(GuardError::Failed { code, .. }) => assert_eq!(code, "ExpiredToken"),
        other => panic!("{other:?}"),
    }
    assert_eq!(report.ending, Ending::Stopped);
    assert_eq!(report.error_code.as_deref(), Some("ExpiredToken"));
    assert!(report.progress.moved < 200, "{report:?}");
    lab.emu.clear_faults();
    lab.emu.advance(Duration::from_secs(301));
    let (r, again) = lab.redrive(&request).await;
    r.unwrap();
    assert_eq!(again.ending, Ending::Completed);
    assert!(
        again.possibly_duplicated.is_empty(),
        "a refused send sent nothing"
    );
    assert_exactly_once(&lab.emu, "dlq-exp", "src-exp", n, &BTreeSet::new(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deletes_are_finished_by_the_next_run_without_a_second_send() {
    let lab = lab().await;
    let n = 300;
    let (dlq, _) = setup(&lab.emu, "-del", n, false).await;
    lab.emu
        .add_fault(FaultRule::for_op(Service::Sqs, "DeleteMessageBatch").errors(1.0, 500));
    let request = fraud_timeouts(&dlq).param(redrive::RATE.name, 3000);
    let (r, first) = lab.redrive(&request).await;
    r.unwrap();
    let want = (0..n).filter(|&i| matches(i)).count() as u64;
    assert_eq!((first.progress.sent, first.progress.moved), (want, 0));
    assert_eq!(
        first.progress.failed, want,
        "every delete failed, and is named"
    );
    let sent_once = claims_in(&lab.emu, "src-del").len();
    assert_eq!(sent_once as u64, want);
    lab.emu.clear_faults();
    lab.emu.advance(Duration::from_secs(301));
    let (r, second) = lab.redrive(&request).await;
    r.unwrap();
    assert_eq!(second.progress.resumed, want, "deleted on sight");
    assert_eq!(second.progress.sent, 0, "never sent again");
    assert_exactly_once(&lab.emu, "dlq-del", "src-del", n, &BTreeSet::new(), "");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_keeps_groups_and_sends_a_deterministic_deduplication_id() {
    let lab = lab().await;
    let n = 90;
    let (dlq, _) = setup(&lab.emu, "-f", n, true).await;
    let dlq_arn = lab
        .emu
        .with_world(|w| w.sqs.queues["dlq-f.fifo"].arn.clone());
    let originals: BTreeMap<String, (String, Option<String>)> = lab.emu.with_world(|w| {
        w.sqs.queues["dlq-f.fifo"]
            .messages
            .iter()
            .map(|m| {
                (
                    m.attributes["claim_id"]["StringValue"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    (m.id.clone(), m.group_id.clone()),
                )
            })
            .collect()
    });
    let request = fraud_timeouts(&dlq).param(redrive::RATE.name, 3000);
    // Three messages a group: one receive reaches a whole group.
    let (r, report) = lab.redrive(&request).await;
    r.unwrap();
    assert_eq!(report.ending, Ending::Completed);
    let moved: Vec<(String, Option<String>, Option<String>)> = lab.emu.with_world(|w| {
        w.sqs.queues["src-f.fifo"]
            .messages
            .iter()
            .map(|m| {
                (
                    m.attributes["claim_id"]["StringValue"]
                        .as_str()
                        .unwrap()
                        .to_string(),
                    m.group_id.clone(),
                    m.dedup_id.clone(),
                )
            })
            .collect()
    });
    assert!(!moved.is_empty());
    for (claim, group, dedup) in &moved {
        let (orig_id, orig_group) = &originals[claim];
        assert_eq!(group, orig_group, "{claim} keeps its group");
        assert_eq!(
            dedup.as_deref(),
            Some(redrive::engine::dedup_id(&dlq_arn, orig_id).as_str())
        );
    }
    assert_exactly_once(
        &lab.emu,
        "dlq-f.fifo",
        "src-f.fifo",
        n,
        &BTreeSet::new(),
        "",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_the_fix_and_change_nothing() {
    let lab = lab().await;
    let (dlq, src) = setup(&lab.emu, "-r", 20, false).await;
    let ctx = lab.context();
    let plan = |r: Request| {
        let ctx = ctx.clone();
        let (s, p) = (&lab.session, &lab.policy);
        async move { redrive::scope(ctx, guard::plan(s, p, &r)).await }
    };
    // Not a DLQ.
    let e = plan(Request::redrive_messages(&src)).await.unwrap_err();
    assert!(e.to_string().contains("refused"), "{e}");
    // A bad filter, before any call.
    let e =
        plan(Request::redrive_messages(&dlq).param(redrive::WHERE.name, vec!["stage".to_string()]))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("attribute=value"), "{e}");
    let e = plan(
        Request::redrive_messages(&dlq)
            .param(redrive::SINCE.name, "2026-12-02")
            .param(redrive::UNTIL.name, "2026-12-01"),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("--since"), "{e}");
    // Without a journal directory, nothing runs.
    let e = guard::plan(&lab.session, &lab.policy, &Request::redrive_messages(&dlq))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("journal"), "{e}");
    // Read-only.
    let ro = Policy {
        read_only: true,
        ..Policy::default()
    };
    let e = redrive::scope(
        ctx.clone(),
        guard::plan(&lab.session, &ro, &fraud_timeouts(&dlq)),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, GuardError::ReadOnly { .. }), "{e:?}");
    assert_eq!(claims_in(&lab.emu, "dlq-r").len(), 20);
    let untouched = lab.emu.with_world(|w| {
        w.sqs.queues["dlq-r"]
            .messages
            .iter()
            .all(|m| m.receive_count == 0)
    });
    assert!(untouched, "planning receives nothing");
}

// ---- the binary, killed and resumed ----------------------------------------------------------

/// The binary, its stdout parsed as JSON.
struct Bin(DemoBin);

impl Bin {
    fn new(emu: &Emulator) -> Bin {
        Bin(DemoBin::new(emu, "[defaults]\nrequire_reason = true\n"))
    }
    fn spawn(&self, emu: &Emulator, args: &[&str]) -> std::process::Child {
        self.0.spawn_with_code(emu, args)
    }
    fn run(&self, emu: &Emulator, args: &[&str]) -> (i32, serde_json::Value, String) {
        let (code, stdout, stderr) = self.0.run_with_code(emu, args);
        let v = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}\nstderr: {stderr}"));
        (code, v, stderr)
    }
}

fn redrive_args<'a>(dlq: &'a str, name: &'a str) -> Vec<&'a str> {
    vec![
        "queue",
        "redrive",
        dlq,
        "--where",
        "error_code=VALIDATION_TIMEOUT",
        "--where",
        "stage=fraud",
        "--rate",
        "3000",
        "--yes-i-typed",
        name,
        "--reason",
        "fraud service restored",
        "--json",
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_22_points_and_resumed_every_claim_ends_in_exactly_one_queue() {
    let emu = claims();
    let bin = Bin::new(&emu);
    let n = 120;
    // (operation, nth call, answer held back after the call was applied)
    let points: Vec<(&str, u64, bool)> = [
        "ReceiveMessage",
        "SendMessageBatch",
        "DeleteMessageBatch",
        "ChangeMessageVisibilityBatch",
    ]
    .iter()
    .flat_map(|op| {
        let nths: &[u64] = match *op {
            "ChangeMessageVisibilityBatch" => &[1],
            "ReceiveMessage" => &[1, 5, 9],
            _ => &[1, 2, 4],
        };
        nths.iter()
            .flat_map(move |&k| [(*op, k, false), (*op, k, true)])
    })
    .collect();
    assert!(points.len() >= 20, "{}", points.len());
    for (i, (op, nth, after)) in points.iter().enumerate() {
        let suffix = format!("-k{i}");
        let (dlq, _) = setup(&emu, &suffix, n, false).await;
        let name = format!("dlq{suffix}");
        let dlq_ids = claims_by_message(&emu, &name);
        emu.add_fault(FaultRule::for_op(Service::Sqs, op).stall_nth(*nth, *after));
        let stalls = emu.stalls();
        let mut child = bin.spawn(&emu, &redrive_args(&dlq, &name));
        let mut stalled = false;
        for _ in 0..3000 {
            if emu.stalls() > stalls {
                stalled = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The kill: no handler runs, nothing is flushed.
        let _ = child.kill();
        let _ = child.wait();
        // Requests the process sent before it died are still served (as AWS would): wait for
        // the emulator to go quiet before moving its clock.
        loop {
            let served = emu.request_count();
            tokio::time::sleep(Duration::from_millis(150)).await;
            if emu.request_count() == served {
                break;
            }
        }
        emu.clear_faults();
        // The messages it held reappear once their hide time runs out.
        emu.advance(Duration::from_secs(301));
        let (code, v, stderr) = bin.run(&emu, &redrive_args(&dlq, &name));
        assert_eq!(
            code, 0,
            "point {i} ({op} #{nth}, after={after}, stalled={stalled}): {v}\n{stderr}"
        );
        assert_eq!(v["run"]["ending"], "completed", "{v}");
        let possibly: BTreeSet<String> = v["run"]["possibly_duplicated"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| dlq_ids.get(x.as_str().unwrap()).cloned())
            .collect();
        // A send whose answer was held back is named as possibly delivered twice (a kill
        // can also land in another worker's send, at any point).
        if *op == "SendMessageBatch" && *after && stalled {
            assert!(
                !possibly.is_empty(),
                "point {i}: the lost answer's batch is named"
            );
        }
        let at = format!("point {i} ({op} #{nth}, after={after}, stalled={stalled}): {v}");
        assert_exactly_once(&emu, &name, &format!("src{suffix}"), n, &possibly, &at);
        emu.advance(Duration::from_secs(31));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_dry_runs_peeks_lists_and_refuses_read_only() {
    let emu = claims();
    let bin = Bin::new(&emu);
    let (dlq, _) = setup(&emu, "-cli", 40, false).await;
    let receives = |emu: &Emulator| {
        emu.with_world(|w| {
            w.sqs.queues["dlq-cli"]
                .messages
                .iter()
                .map(|m| m.receive_count)
                .sum::<u32>()
        })
    };
    // A whole-queue dry run receives nothing.
    let (code, v, e) = bin.run(
        &emu,
        &["queue", "redrive", "dlq-cli", "--dry-run", "--json"],
    );
    assert_eq!(code, 0, "{v} {e}");
    assert_eq!(v["dry_run"]["selective"], false);
    assert_eq!(receives(&emu), 0);
    // A selective dry run samples with a recorded peek and counts the matches.
    let mut args = redrive_args("dlq-cli", "dlq-cli");
    args.push("--dry-run");
    let (code, v, e) = bin.run(&emu, &args);
    assert_eq!(code, 0, "{v} {e}");
    let sampled = v["dry_run"]["sampled"].as_u64().unwrap();
    assert_eq!(sampled, 40);
    let want = (0..40).filter(|&i| matches(i)).count() as u64;
    assert_eq!(v["dry_run"]["matched"].as_u64().unwrap(), want);
    assert_eq!(receives(&emu), 40, "one receive each, given back");
    assert_eq!(claims_in(&emu, "dlq-cli").len(), 40, "nothing moved");
    let log = bin.0.dir.path().join("audit").join("demo.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("sqs:ReceiveMessage"),
        "the sample is recorded"
    );
    // Read-only: refused before anything (global option after the subcommand).
    let mut ro = redrive_args("dlq-cli", "dlq-cli");
    ro.push("--read-only");
    let (code, v, _) = bin.run(&emu, &ro);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["kind"], "read_only", "{v}");
    let (code, v, _) = bin.run(&emu, &["--read-only", "queue", "peek", "dlq-cli", "--json"]);
    assert_eq!(code, 1, "a peek is a receive: refused read-only {v}");
    assert_eq!(receives(&emu), 40);
    // Peek: metadata, safe values only.
    let (code, v, e) = bin.run(&emu, &["queue", "peek", &dlq, "--json"]);
    assert_eq!(code, 0, "{v} {e}");
    let m = &v["messages"][0];
    assert!(m["attributes"]["claim_id"].is_string());
    assert!(!v.to_string().contains("123-45-6789"), "no body");
    // Tasks: a read, allowed read-only.
    let (code, v, e) = bin.run(&emu, &["--read-only", "queue", "tasks", "--json"]);
    assert_eq!(code, 0, "{v} {e}");
    assert!(v["tasks"].is_array());
    // An ids file with a bad line is named before anything runs.
    let ids = bin.0.dir.path().join("ids.txt");
    std::fs::write(&ids, "CLM-1\nCLM 2\n").unwrap();
    let (code, v, _) = bin.run(
        &emu,
        &[
            "queue",
            "redrive",
            "dlq-cli",
            "--ids",
            ids.to_str().unwrap(),
            "--json",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("line 2"),
        "{v}"
    );
    // A whole run by claim ids.
    std::fs::write(&ids, "CLM-0\nCLM-3\nCLM-99\n").unwrap();
    let (code, v, e) = bin.run(
        &emu,
        &[
            "queue",
            "redrive",
            "dlq-cli",
            "--ids",
            ids.to_str().unwrap(),
            "--yes-i-typed",
            "dlq-cli",
            "--reason",
            "two claims",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{v} {e}");
    assert_eq!(v["run"]["progress"]["moved"], 2, "{v}");
    assert_eq!(claims_in(&emu, "src-cli").len(), 2);
    // The local history keeps the run (AWS keeps no record of a selective redrive).
    let (code, v, e) = bin.run(
        &emu,
        &["--read-only", "queue", "tasks", "dlq-cli", "--json"],
    );
    assert_eq!(code, 0, "{v} {e}");
    let history = v["history"].as_array().unwrap();
    assert!(
        history.iter().any(|h| h["action"] == "sqs:SendMessageBatch"
            && h["event"] == "succeeded"
            && h["message"].as_str().unwrap().contains("moved 2")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_moves_a_whole_queue_on_awss_engine_and_follows_it_to_its_end() {
    let emu = claims();
    let bin = Bin::new(&emu);
    let (_, _) = setup(&emu, "-whole", 30, false).await;
    let mut child = bin.spawn(
        &emu,
        &[
            "queue",
            "redrive",
            "dlq-whole",
            "--to",
            "src-whole",
            "--rate",
            "10",
            "--yes-i-typed",
            "dlq-whole",
            "--reason",
            "validation fixed",
            "--json",
        ],
    );
    // The move task runs on emulated time: move the clock until the command has followed it.
    let mut waited = 0;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        emu.advance(Duration::from_secs(2));
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
        assert!(waited < 1200, "the command never ended");
    };
    let out = child.wait_with_output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(status.code(), Some(0), "{v}");
    assert_eq!(v["result"]["action"], "sqs:StartMessageMoveTask", "{v}");
    assert_eq!(v["task"]["ending"], "ended", "{v}");
    assert_eq!(claims_in(&emu, "dlq-whole").len(), 0, "{v}");
    assert_eq!(claims_in(&emu, "src-whole").len(), 30);
    // Its start and finish are recorded, linked to the intent.
    let text = std::fs::read_to_string(bin.0.audit_file()).unwrap();
    let intent = v["result"]["intent_id"].as_str().unwrap();
    let linked: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|r| r["intent_id"] == intent)
        .map(|r| {
            format!(
                "{}:{}",
                r["kind"].as_str().unwrap(),
                r["event"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(linked, ["outcome:", "task:start", "task:finish"], "{text}");
}
