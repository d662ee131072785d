//! The selective redrive loop: several workers each receive 10 messages at a time from the
//! DLQ (hidden for the visibility timeout), keep the ones the filter matches, send them to the
//! destination with SendMessageBatch, journal the accepted ids (synced), delete exactly those
//! from the DLQ, and journal the deletes. Messages that do not match stay hidden until the run
//! ends, then are all made visible again at once, untouched. A message an earlier run sent but
//! could not delete is deleted on sight, never sent again.
//!
//! Failures: a failed entry of a batch is retried (with backoff) while AWS says it may
//! succeed; a throttled or failed call is retried the same way; an expired session, a journal
//! that cannot be written or a cancel stops every worker after the step in hand, and the next
//! run resumes. No path deletes a message whose send was not accepted.

use super::filter::Filter;
use super::journal::{Earlier, Journal, JournalError};
use crate::cloud::sqs_batch::{BatchOutcome, Outgoing, Received};
use crate::cloud::{Cloud, CloudError};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a run reports its progress (after each batch).
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// Workers receiving and sending at once: 16 reach ~2,000 messages/s at 10 ms of latency
/// (benches/redrive.rs; 8 reach ~1,400). Each holds at most 10 messages (≤ 2.5 MiB of bodies).
pub const WORKERS: usize = 16;
/// Attempts of one batch call (or of its failed entries) before its messages are left.
pub const ATTEMPTS: u32 = 5;
/// The most distinct messages one run looks at (bounded memory): the rest wait for a next run.
pub const MAX_SEEN: usize = 500_000;

/// What one run does.
#[derive(Debug, Clone)]
pub struct Job {
    pub dlq_url: String,
    pub dlq_arn: String,
    pub destination_url: String,
    pub destination_fifo: bool,
    pub filter: Filter,
    /// Messages sent a second, at most.
    pub rate: u32,
    /// Seconds a received message stays hidden from other consumers.
    pub visibility: i32,
    /// Seconds a receive waits for messages (long polling) before the queue counts as drained.
    pub wait: i32,
    pub workers: usize,
    /// Pause before retry `n` is `backoff * 2^n`.
    pub backoff: Duration,
}

/// Counts so far (what the progress line and the report show).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Distinct messages received.
    pub looked_at: u64,
    pub matched: u64,
    /// Accepted by the destination.
    pub sent: u64,
    /// Deleted from the DLQ after their send (or an earlier run's) was accepted.
    pub moved: u64,
    /// Sent by an earlier run and deleted now (never sent twice).
    pub resumed: u64,
    /// Did not match: made visible again at the end.
    pub left: u64,
    /// Matched but not moved (their send or delete kept failing): still in the DLQ.
    pub failed: u64,
    pub elapsed_ms: u64,
}

/// How the run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    /// The DLQ had nothing more to look at.
    Completed,
    /// The operator cancelled it: the step in hand finished, the rest stayed in the DLQ.
    Cancelled,
    /// It stopped on an error (named); running it again resumes.
    Stopped,
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    pub ending: Ending,
    pub progress: Progress,
    /// Why it stopped, in AWS's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Matched messages left in the DLQ, with the last error code for each (at most
    /// [`MAX_LISTED`]; `progress.failed` counts them all).
    pub not_moved: Vec<(String, String)>,
    /// Messages an earlier run announced and never confirmed: possibly delivered twice (at most
    /// [`MAX_LISTED`]).
    pub possibly_duplicated: Vec<String>,
    pub possibly_duplicated_count: u64,
    /// Sends of this run whose answer was lost or a 5xx (SQS may have applied them): not sent
    /// again in this run, left in the DLQ, and named here (at most [`MAX_LISTED`]). A next run
    /// sends them again and names them as possibly duplicated.
    pub in_doubt: Vec<String>,
    pub in_doubt_count: u64,
}

/// The most ids a report lists (the counts say how many there are).
pub const MAX_LISTED: usize = 100;

/// Why the run stopped.
#[derive(Debug, Clone)]
enum Stop {
    Cloud(CloudError),
    Journal(String),
    TooMany,
}

struct Shared {
    seen: HashSet<String>,
    /// Non-matching (or not moved) messages: their newest receipt handle, to give back.
    give_back: HashMap<String, String>,
    /// Being sent or deleted by a worker now.
    in_hand: HashSet<String>,
    /// The newest receipt handle of a message in hand that another receive brought back (its
    /// hide time ran out): the delete must use it, an older one may not delete.
    latest: HashMap<String, String>,
    /// Sends of this run with no answer (see [`RunReport::in_doubt`]).
    in_doubt: Vec<String>,
    earlier: Earlier,
    progress: Progress,
    not_moved: Vec<(String, String)>,
    stop: Option<Stop>,
    next_slot: Instant,
}

/// The run's state, shared by its workers.
struct Run {
    cloud: Cloud,
    job: Job,
    journal: Mutex<Journal>,
    shared: Mutex<Shared>,
    cancel: Arc<AtomicBool>,
    progress: Option<ProgressFn>,
    started: Instant,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The deduplication id of a message sent to a FIFO destination: the same for the same DLQ
/// message in every run, so a resend within 5 minutes is dropped by SQS.
pub fn dedup_id(dlq_arn: &str, message_id: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{dlq_arn}\n{message_id}").as_bytes(),
    );
    crate::audit::canonical::hex(d.as_ref())
}

/// Runs the job to its end; the journal holds every step.
pub async fn run(
    cloud: Cloud,
    job: Job,
    journal: Journal,
    earlier: Earlier,
    cancel: Arc<AtomicBool>,
    progress: Option<ProgressFn>,
) -> RunReport {
    let possibly_duplicated_count = earlier.unknown.len() as u64;
    let possibly_duplicated: Vec<String> = {
        let mut v: Vec<String> = earlier.unknown.iter().cloned().collect();
        v.sort();
        v.truncate(MAX_LISTED);
        v
    };
    let workers = job.workers.max(1);
    let run = Arc::new(Run {
        cloud,
        job,
        journal: Mutex::new(journal),
        shared: Mutex::new(Shared {
            seen: HashSet::new(),
            give_back: HashMap::new(),
            in_hand: HashSet::new(),
            latest: HashMap::new(),
            earlier,
            progress: Progress::default(),
            not_moved: Vec::new(),
            in_doubt: Vec::new(),
            stop: None,
            next_slot: Instant::now(),
        }),
        cancel,
        progress,
        started: Instant::now(),
    });
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let r = run.clone();
        set.spawn(async move { r.worker().await });
    }
    while set.join_next().await.is_some() {}
    run.give_back_all().await;
    let mut s = lock(&run.shared);
    s.progress.elapsed_ms = run.started.elapsed().as_millis() as u64;
    let (ending, error, error_code) = match &s.stop {
        None if run.cancel.load(Ordering::SeqCst) => (Ending::Cancelled, None, None),
        None => (Ending::Completed, None, None),
        Some(Stop::Cloud(e)) => (
            Ending::Stopped,
            Some(e.to_string()),
            Some(e.recorded_code()),
        ),
        Some(Stop::Journal(m)) => (Ending::Stopped, Some(m.clone()), None),
        Some(Stop::TooMany) => (
            Ending::Stopped,
            Some(format!(
                "looked at {MAX_SEEN} messages, the most one run holds: run again to go on"
            )),
            None,
        ),
    };
    s.not_moved.truncate(MAX_LISTED);
    let in_doubt_count = s.in_doubt.len() as u64;
    s.in_doubt.sort();
    s.in_doubt.truncate(MAX_LISTED);
    RunReport {
        ending,
        progress: s.progress.clone(),
        error,
        error_code,
        not_moved: s.not_moved.clone(),
        possibly_duplicated,
        possibly_duplicated_count,
        in_doubt: s.in_doubt.clone(),
        in_doubt_count,
    }
}

/// The messages of one received batch, sorted by what happens to them.
#[derive(Default)]
struct Sorted {
    send: Vec<Received>,
    /// Sent by an earlier run: delete only.
    delete_only: Vec<Received>,
}

impl Run {
    fn stopped(&self) -> bool {
        self.cancel.load(Ordering::SeqCst) || lock(&self.shared).stop.is_some()
    }

    fn stop(&self, why: Stop) {
        let mut s = lock(&self.shared);
        if s.stop.is_none() {
            s.stop = Some(why);
        }
    }

    fn report(&self) {
        if let Some(p) = &self.progress {
            let mut snapshot = lock(&self.shared).progress.clone();
            snapshot.elapsed_ms = self.started.elapsed().as_millis() as u64;
            p(&snapshot);
        }
    }

    /// Writes to the journal. A synced write blocks for a few milliseconds: on a
    /// multi-threaded runtime the worker thread hands its other tasks over first.
    fn journal<T>(&self, f: impl FnOnce(&mut Journal) -> Result<T, JournalError>) -> Option<T> {
        let write = || f(&mut lock(&self.journal));
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let result = if multi {
            tokio::task::block_in_place(write)
        } else {
            write()
        };
        match result {
            Ok(t) => Some(t),
            Err(e) => {
                self.stop(Stop::Journal(e.to_string()));
                None
            }
        }
    }

    async fn worker(self: Arc<Self>) {
        while !self.stopped() {
            let batch = match self
                .retrying(|| {
                    self.cloud.receive_to_move(
                        &self.job.dlq_url,
                        self.job.visibility,
                        self.job.wait,
                    )
                })
                .await
            {
                Ok(b) => b,
                Err(e) => {
                    self.stop(Stop::Cloud(e));
                    break;
                }
            };
            if batch.is_empty() {
                break;
            }
            // Only an empty receive ends a worker: a batch of messages already seen (their
            // hide time ran out in a long run) is given back at the end, and the worker goes on
            // to the messages it has not seen.
            let sorted = self.sort(batch);
            if !sorted.send.is_empty() || !sorted.delete_only.is_empty() {
                self.move_batch(sorted.send, sorted.delete_only).await;
                self.report();
            }
        }
    }

    fn sort(&self, batch: Vec<Received>) -> Sorted {
        let mut s = lock(&self.shared);
        let mut out = Sorted::default();
        for m in batch {
            if s.in_hand.contains(&m.id) {
                // Another worker holds it (its hide time ran out under a slow call): keep the
                // newest handle, which the delete needs.
                s.latest.insert(m.id.clone(), m.receipt.clone());
                continue;
            }
            if s.earlier.sent.contains(&m.id) {
                // A run journaled it sent: never send it again. Delete it, if it is what this
                // run moves; otherwise leave it and say so (a journal is no licence to delete).
                if self.job.filter.matches(&m) {
                    s.in_hand.insert(m.id.clone());
                    out.delete_only.push(m);
                } else if s.seen.insert(m.id.clone()) {
                    s.give_back.insert(m.id.clone(), m.receipt.clone());
                    s.not_moved
                        .push((m.id.clone(), "JournaledSentButNotMatching".to_string()));
                    s.progress.failed += 1;
                }
                continue;
            }
            if s.seen.contains(&m.id) {
                // Seen before and not moved: keep its newest handle to give it back.
                s.give_back.insert(m.id.clone(), m.receipt.clone());
                continue;
            }
            if s.seen.len() >= MAX_SEEN {
                s.give_back.insert(m.id.clone(), m.receipt.clone());
                if s.stop.is_none() {
                    s.stop = Some(Stop::TooMany);
                }
                continue;
            }
            s.seen.insert(m.id.clone());
            s.progress.looked_at += 1;
            if self.job.filter.matches(&m) {
                s.progress.matched += 1;
                s.in_hand.insert(m.id.clone());
                out.send.push(m);
            } else {
                s.progress.left += 1;
                s.give_back.insert(m.id.clone(), m.receipt.clone());
            }
        }
        out
    }

    /// Waits for the rate limit to let `n` messages go.
    async fn pace(&self, n: usize) {
        if n == 0 {
            return;
        }
        let at = {
            let mut s = lock(&self.shared);
            let now = Instant::now();
            let at = s.next_slot.max(now);
            s.next_slot = at + Duration::from_secs_f64(n as f64 / self.job.rate.max(1) as f64);
            at
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }

    /// Retries a whole call while AWS throttles or fails on its side.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, CloudError>>,
    {
        let mut attempt = 0;
        loop {
            match call().await {
                Ok(t) => return Ok(t),
                Err(e) if attempt + 1 < ATTEMPTS && retryable(&e) => {
                    tokio::time::sleep(self.job.backoff * 2u32.pow(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Calls a batch operation on `entries` (entry id, item) until every entry succeeded or
    /// failed for good (AWS says the request was wrong, or the attempts ran out). Returns the
    /// succeeded entry ids, the failed ones with their last error code, and the error that
    /// stopped the calls (one that asking again cannot mend: an expired session, a denial).
    async fn batch<T: Clone, F, Fut>(
        &self,
        entries: Vec<(String, T)>,
        retry_in_doubt: bool,
        mut call: F,
    ) -> (Vec<String>, Vec<Failed>, Option<CloudError>)
    where
        F: FnMut(Vec<(String, T)>) -> Fut,
        Fut: std::future::Future<Output = Result<BatchOutcome, CloudError>>,
    {
        let mut ok = Vec::new();
        let mut failed: Vec<Failed> = Vec::new();
        let mut pending = entries;
        // The last answer about each entry: its code, and whether AWS surely did not apply it.
        let mut codes: HashMap<String, (String, bool)> = HashMap::new();
        for attempt in 0..ATTEMPTS {
            if pending.is_empty() {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(self.job.backoff * 2u32.pow(attempt - 1)).await;
            }
            match call(pending.clone()).await {
                Err(e) if retryable(&e) && (retry_in_doubt || not_applied(&e)) => {
                    for (id, _) in &pending {
                        codes.insert(id.clone(), (e.recorded_code(), not_applied(&e)));
                    }
                }
                // A lost answer or a 5xx: SQS may have applied it. A send is not made again.
                Err(e) if retryable(&e) => {
                    failed.extend(pending.iter().map(|(id, _)| Failed {
                        entry: id.clone(),
                        code: e.recorded_code(),
                        not_applied: false,
                    }));
                    return (ok, failed, None);
                }
                Err(e) => {
                    failed.extend(pending.iter().map(|(id, _)| Failed {
                        entry: id.clone(),
                        code: e.recorded_code(),
                        not_applied: not_applied(&e),
                    }));
                    return (ok, failed, Some(e));
                }
                Ok(o) => {
                    for f in &o.failed {
                        codes.insert(f.entry.clone(), (f.code.clone(), true));
                        if f.sender_fault {
                            failed.push(Failed {
                                entry: f.entry.clone(),
                                code: f.code.clone(),
                                not_applied: true,
                            });
                        }
                    }
                    // An entry the answer left out is tried again, like a failed one.
                    pending.retain(|(id, _)| {
                        !o.succeeded.contains(id)
                            && !o.failed.iter().any(|f| &f.entry == id && f.sender_fault)
                    });
                    ok.extend(o.succeeded);
                }
            }
        }
        failed.extend(pending.iter().map(|(id, _)| {
            let (code, not_applied) = codes.get(id).cloned().unwrap_or_default();
            Failed {
                entry: id.clone(),
                code,
                not_applied,
            }
        }));
        (ok, failed, None)
    }

    async fn move_batch(&self, send: Vec<Received>, delete_only: Vec<Received>) {
        let job = &self.job;
        // 1. Send (announced in the journal first).
        self.pace(send.len()).await;
        let ids: Vec<&str> = send.iter().map(|m| m.id.as_str()).collect();
        let mut accepted: Vec<&Received> = Vec::new();
        let mut not_sent: Vec<(String, String)> = Vec::new();
        if !send.is_empty() && self.journal(|j| j.sending(&ids)).is_some() {
            let entries: Vec<(String, &Received)> = send
                .iter()
                .enumerate()
                .map(|(i, m)| (format!("m{i}"), m))
                .collect();
            let (ok, failed, error) = self
                .batch(entries.clone(), false, |chunk| async move {
                    let out: Vec<Outgoing> = chunk
                        .iter()
                        .map(|(entry, m)| Outgoing {
                            entry: entry.clone(),
                            message: m,
                            dedup_id: job.destination_fifo.then(|| dedup_id(&job.dlq_arn, &m.id)),
                        })
                        .collect();
                    self.cloud.send_batch(&job.destination_url, &out).await
                })
                .await;
            for (entry, m) in &entries {
                if ok.contains(entry) {
                    accepted.push(m);
                }
            }
            let mut surely_not: Vec<&str> = Vec::new();
            let mut doubt: Vec<String> = Vec::new();
            for f in failed {
                if let Some((_, m)) = entries.iter().find(|(e, _)| *e == f.entry) {
                    if f.not_applied {
                        surely_not.push(m.id.as_str());
                    } else {
                        doubt.push(m.id.clone());
                    }
                    not_sent.push((m.id.clone(), f.code));
                }
            }
            // Left `sending` in the journal: the next run names them if it sends them.
            lock(&self.shared).in_doubt.extend(doubt);
            // AWS answered that these were not sent: not a possible duplicate.
            if !surely_not.is_empty() {
                self.journal(|j| j.unsent(&surely_not));
            }
            if let Some(e) = error {
                self.stop(Stop::Cloud(e));
            }
        } else if !send.is_empty() {
            // The journal could not announce the send: nothing is sent.
            not_sent.extend(send.iter().map(|m| (m.id.clone(), "NotSent".to_string())));
        }
        // 2. Journal what the destination accepted, synced, before any delete.
        let accepted_ids: Vec<&str> = accepted.iter().map(|m| m.id.as_str()).collect();
        let journaled =
            accepted_ids.is_empty() || self.journal(|j| j.sent(&accepted_ids)).is_some();
        {
            let mut s = lock(&self.shared);
            s.progress.sent += accepted.len() as u64;
        }
        // 3. Delete exactly those (and the earlier runs' sent ones).
        let mut to_delete: Vec<&Received> = delete_only.iter().collect();
        if journaled {
            to_delete.extend(accepted.iter().copied());
        }
        let mut deleted: Vec<&Received> = Vec::new();
        let mut not_deleted: Vec<(String, String)> = Vec::new();
        if !to_delete.is_empty() {
            let entries: Vec<(String, String)> = {
                let s = lock(&self.shared);
                to_delete
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let handle = s.latest.get(&m.id).unwrap_or(&m.receipt);
                        (format!("d{i}"), handle.clone())
                    })
                    .collect()
            };
            let (ok, failed, error) = self
                .batch(entries.clone(), true, |chunk| async move {
                    self.cloud.delete_batch(&job.dlq_url, &chunk).await
                })
                .await;
            for (i, m) in to_delete.iter().enumerate() {
                if ok.contains(&format!("d{i}")) {
                    deleted.push(m);
                }
            }
            for f in failed {
                if let Some(i) = f
                    .entry
                    .strip_prefix('d')
                    .and_then(|n| n.parse::<usize>().ok())
                    && let Some(m) = to_delete.get(i)
                {
                    not_deleted.push((m.id.clone(), f.code));
                }
            }
            if let Some(e) = error {
                self.stop(Stop::Cloud(e));
            }
            let deleted_ids: Vec<&str> = deleted.iter().map(|m| m.id.as_str()).collect();
            if !deleted_ids.is_empty() {
                self.journal(|j| j.deleted(&deleted_ids));
            }
        }
        // 4. Count, and hand back what stays.
        let mut s = lock(&self.shared);
        for m in &deleted {
            if delete_only.iter().any(|d| d.id == m.id) {
                s.progress.resumed += 1;
            } else {
                s.progress.moved += 1;
            }
        }
        for m in send.iter().chain(delete_only.iter()) {
            s.in_hand.remove(&m.id);
            s.latest.remove(&m.id);
        }
        // Sent: never sent again, in this run or the next (which deletes it on sight).
        for m in &accepted {
            s.earlier.sent.insert(m.id.clone());
        }
        for (id, code) in not_sent.into_iter().chain(not_deleted) {
            s.progress.failed += 1;
            if let Some(m) = send.iter().chain(delete_only.iter()).find(|m| m.id == id) {
                s.give_back.insert(id.clone(), m.receipt.clone());
            }
            s.not_moved.push((id, code));
        }
    }

    /// Makes every message the run holds and did not move visible again.
    async fn give_back_all(&self) {
        let handles: Vec<(String, String)> = {
            let s = lock(&self.shared);
            s.give_back
                .iter()
                .enumerate()
                .map(|(i, (_, h))| (format!("g{i}"), h.clone()))
                .collect()
        };
        // As many batches at once as there are workers. A handle that no longer works is a
        // message whose hide time runs out by itself.
        let mut set = tokio::task::JoinSet::new();
        for chunk in handles.chunks(10) {
            while set.len() >= self.job.workers.max(1) {
                set.join_next().await;
            }
            let (cloud, url, chunk) =
                (self.cloud.clone(), self.job.dlq_url.clone(), chunk.to_vec());
            set.spawn(async move {
                let _ = cloud.release_batch(&url, &chunk).await;
            });
        }
        while set.join_next().await.is_some() {}
    }
}

/// A batch entry that did not succeed.
struct Failed {
    entry: String,
    code: String,
    /// AWS answered, and the answer says it was not applied (an entry's failure, a denial, an
    /// expired token, throttling): unlike a 5xx or a lost answer, which may have been applied.
    not_applied: bool,
}

fn not_applied(e: &CloudError) -> bool {
    !matches!(e, CloudError::Network { .. } | CloudError::Service { .. })
}

/// AWS may answer differently if asked again (throttling, a 5xx, the network).
fn retryable(e: &CloudError) -> bool {
    match e {
        CloudError::Throttled { .. } | CloudError::Network { .. } => true,
        CloudError::Service { code, .. } => !matches!(code.as_str(), "AccessDenied"),
        _ => false,
    }
}
