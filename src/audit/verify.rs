//! Verification: re-derive every hash, follow the chain, check the sequence and the seals, and
//! name the first bad record (line and seq) with the reason. Never panics, whatever the bytes.

use super::canonical::{GENESIS_HASH, is_hash, record_hash, to_canonical};
use super::error::AuditError;
use super::record::{FORMAT_VERSION, Kind, Record, SealRecord};
use super::seal::{SEAL_ALGORITHM, Sealer, seal_message};
use base64::Engine as _;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// What verification may use.
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// Sealers to check seal MACs with, matched by [`Sealer::key_id`]. Seals whose key has no
    /// sealer here are reported as not checked, not as bad.
    pub sealers: Vec<Arc<dyn Sealer>>,
    /// Treat records after the last seal as a failure instead of a warning.
    pub require_sealed: bool,
}

impl fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field(
                "sealers",
                &self.sealers.iter().map(|s| s.key_id()).collect::<Vec<_>>(),
            )
            .field("require_sealed", &self.require_sealed)
            .finish()
    }
}

impl VerifyOptions {
    pub fn with_sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealers.push(sealer);
        self
    }
}

/// An integrity failure at one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number.
    pub line: u64,
    /// The record's sequence number, when it could be read.
    pub seq: Option<u64>,
    pub kind: ProblemKind,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(s) => write!(f, "line {} (seq {s}): {}", self.line, self.kind),
            None => write!(f, "line {}: {}", self.line, self.kind),
        }
    }
}

/// Why a line fails verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProblemKind {
    #[error("unparseable line: {0}")]
    Unparseable(String),
    #[error("truncated tail: the last line is incomplete ({0})")]
    TruncatedTail(String),
    #[error("not in canonical form (reformatted or edited by hand)")]
    NotCanonical,
    #[error("malformed record: {0}")]
    Malformed(String),
    #[error("unsupported format version {0} (this verifier knows version {FORMAT_VERSION})")]
    UnsupportedVersion(u64),
    #[error("bad hash: the record's content does not match its hash (edited)")]
    BadHash,
    #[error(
        "broken chain: prev_hash is not the hash of the record before it (a record was replaced, inserted or removed)"
    )]
    BrokenChain,
    #[error("sequence gap: expected seq {expected}, found {found} (record(s) deleted)")]
    SequenceGap { expected: u64, found: u64 },
    #[error("reordered: expected seq {expected}, found {found} (records moved)")]
    Reordered { expected: u64, found: u64 },
    #[error("duplicate: seq {0} appeared before (record copied)")]
    Duplicate(u64),
    #[error("bad seal: {0}")]
    BadSeal(String),
    #[error("{0} record(s) after the last seal are not sealed")]
    Unsealed(u64),
}

/// The result of checking one seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealStatus {
    Valid,
    Invalid,
    /// No sealer for its key, or KMS could not be asked; the reason says which.
    NotChecked(String),
}

/// One seal record and what verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealCheck {
    pub line: u64,
    pub seq: u64,
    pub key_id: String,
    pub status: SealStatus,
}

/// An intent without an outcome: the console stopped (or is still running) mid-action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub line: u64,
    pub seq: u64,
    /// The intent's id (what an outcome's `intent_id` would name).
    pub id: String,
    pub time: String,
    pub action: String,
    pub targets: Vec<String>,
    pub os_user: Option<String>,
    pub host: Option<String>,
    pub pid: Option<u32>,
}

impl fmt::Display for Unfinished {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unfinished: line {} (seq {}) at {}: {}",
            self.line, self.seq, self.time, self.action
        )?;
        if !self.targets.is_empty() {
            write!(f, " on {}", self.targets.join(", "))?;
        }
        if let Some(u) = &self.os_user {
            write!(f, " by {u}")?;
        }
        if let (Some(h), Some(p)) = (&self.host, self.pid) {
            write!(f, " ({h}, pid {p})")?;
        }
        f.write_str(" has no recorded outcome")
    }
}

/// Something worth an operator's attention that does not by itself mean tampering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Records after the last seal: deleting them could not be detected from the file alone.
    Unsealed {
        count: u64,
        first_line: u64,
        first_seq: u64,
    },
    SealNotChecked {
        line: u64,
        seq: u64,
        key_id: String,
        reason: String,
    },
    /// An outcome naming an intent that is not in the log.
    UnknownIntent {
        line: u64,
        seq: u64,
        intent_id: String,
    },
    /// A second outcome for one intent.
    DuplicateOutcome {
        line: u64,
        seq: u64,
        intent_id: String,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::Unsealed {
                count,
                first_line,
                first_seq,
            } => write!(
                f,
                "{count} record(s) after the last seal are not sealed (from line {first_line}, seq {first_seq}): their deletion could not be detected from this file alone"
            ),
            Warning::SealNotChecked {
                line,
                seq,
                key_id,
                reason,
            } => {
                write!(
                    f,
                    "seal at line {line} (seq {seq}) with key {key_id} not checked ({reason})"
                )
            }
            Warning::UnknownIntent {
                line,
                seq,
                intent_id,
            } => {
                write!(
                    f,
                    "outcome at line {line} (seq {seq}) answers intent {intent_id}, which is not in this log"
                )
            }
            Warning::DuplicateOutcome {
                line,
                seq,
                intent_id,
            } => {
                write!(
                    f,
                    "outcome at line {line} (seq {seq}) is a second outcome for intent {intent_id}"
                )
            }
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Lines in the file (a final incomplete line counts).
    pub lines: u64,
    /// Lines that hold a JSON object.
    pub records: u64,
    /// The last record's seq and hash.
    pub head: Option<(u64, String)>,
    /// Integrity failures in file order; the first is the one to name.
    pub problems: Vec<Problem>,
    pub warnings: Vec<Warning>,
    pub seals: Vec<SealCheck>,
    /// Intents without an outcome, in file order.
    pub unfinished: Vec<Unfinished>,
}

impl Report {
    /// No integrity failure (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
    pub fn first_problem(&self) -> Option<&Problem> {
        self.problems.first()
    }
    /// `Ok` if valid, else the first problem.
    pub fn result(&self) -> Result<(), &Problem> {
        self.first_problem().map_or(Ok(()), Err)
    }
}

/// Verifies the log at `path`.
pub fn verify_file(path: &Path, opts: &VerifyOptions) -> Result<Report, AuditError> {
    let data = std::fs::read(path).map_err(|e| AuditError::io("read", path, e))?;
    Ok(verify_bytes(&data, opts))
}

/// The lines of a log: (1-based line number, bytes, whether the line had its `\n`).
fn lines(data: &[u8]) -> Vec<(u64, &[u8], bool)> {
    let mut out = Vec::new();
    let mut rest = data;
    let mut n = 0;
    while !rest.is_empty() {
        n += 1;
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                out.push((n, &rest[..i], true));
                rest = &rest[i + 1..];
            }
            None => {
                out.push((n, rest, false));
                rest = &[];
            }
        }
    }
    out
}

/// A line checked on its own (before chain checks).
struct Checked {
    seq: u64,
    prev_hash: String,
    hash: String,
    value: Value,
}

/// Parses a line and checks everything that does not depend on its neighbours. On failure,
/// returns the problem and the seq if one could be read.
fn check_line(raw: &[u8]) -> Result<Checked, (ProblemKind, Option<u64>)> {
    if raw.is_empty() {
        return Err((ProblemKind::Unparseable("empty line".into()), None));
    }
    let text = std::str::from_utf8(raw)
        .map_err(|_| (ProblemKind::Unparseable("not UTF-8".into()), None))?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| (ProblemKind::Unparseable(e.to_string()), None))?;
    let Value::Object(map) = &value else {
        return Err((ProblemKind::Unparseable("not a JSON object".into()), None));
    };
    let seq = map.get("seq").and_then(Value::as_u64);
    let malformed = |m: &str| (ProblemKind::Malformed(m.to_string()), seq);
    match to_canonical(&value) {
        Ok(c) if c == text => {}
        Ok(_) => return Err((ProblemKind::NotCanonical, seq)),
        Err(e) => return Err(malformed(&e.to_string())),
    }
    let hash = map
        .get("hash")
        .and_then(Value::as_str)
        .filter(|h| is_hash(h))
        .ok_or_else(|| malformed("no valid `hash`"))?;
    match record_hash(&value) {
        Ok(h) if h == hash => {}
        Ok(_) => return Err((ProblemKind::BadHash, seq)),
        Err(e) => return Err(malformed(&e.to_string())),
    }
    let v = map
        .get("v")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("no format version `v`"))?;
    if v != FORMAT_VERSION {
        return Err((ProblemKind::UnsupportedVersion(v), seq));
    }
    let seq = seq.ok_or_else(|| malformed("no sequence number `seq`"))?;
    let prev_hash = map
        .get("prev_hash")
        .and_then(Value::as_str)
        .filter(|h| is_hash(h))
        .ok_or_else(|| malformed("no valid `prev_hash`"))?
        .to_string();
    if let Err(e) = serde_json::from_value::<Record>(value.clone()) {
        return Err(malformed(&e.to_string()));
    }
    Ok(Checked {
        seq,
        prev_hash,
        hash: hash.to_string(),
        value,
    })
}

/// Verifies a whole log held in memory.
pub fn verify_bytes(data: &[u8], opts: &VerifyOptions) -> Report {
    let lines = lines(data);
    let mut report = Report {
        lines: lines.len() as u64,
        ..Report::default()
    };
    // Every line's claimed seq, for telling a reordering from a deletion.
    let claimed: Vec<Option<u64>> = lines
        .iter()
        .map(|(_, raw, _)| {
            serde_json::from_slice::<Value>(raw)
                .ok()
                .and_then(|v| v.get("seq").and_then(Value::as_u64))
        })
        .collect();

    // The highest seq seen so far and its hash: the record the next one should follow (after a
    // reordering this keeps later, correctly placed records from being reported too).
    let mut head: Option<(u64, String)> = None;
    let mut last: Option<(u64, String)> = None;
    // After a line whose place in the chain is unknown, the next line is not chain-checked.
    let mut resync = false;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut tracker = Tracker::default();
    let mut failed_keys: HashMap<String, String> = HashMap::new();
    let mut last_seal: Option<u64> = None;

    for (idx, (line, raw, complete)) in lines.iter().enumerate() {
        let line = *line;
        let parsed = serde_json::from_slice::<Value>(raw).ok();
        if parsed.as_ref().is_some_and(Value::is_object) {
            report.records += 1;
        }
        if !complete {
            let detail = if parsed.is_some() {
                "no line end"
            } else {
                "cut in the middle of a record"
            };
            report.problems.push(Problem {
                line,
                seq: claimed[idx],
                kind: ProblemKind::TruncatedTail(detail.into()),
            });
            break;
        }
        let checked = match check_line(raw) {
            Ok(c) => c,
            Err((kind, seq)) => {
                let content_only = kind == ProblemKind::BadHash;
                report.problems.push(Problem { line, seq, kind });
                // A record whose only fault is its content keeps its place in the chain, so a
                // single edit is reported once; anything else breaks the chain here.
                let stored = parsed.as_ref().and_then(|v| {
                    Some((
                        v.get("seq")?.as_u64()?,
                        v.get("hash")?.as_str()?.to_string(),
                    ))
                });
                match (content_only, stored) {
                    (true, Some((s, h))) => {
                        seen.insert(s);
                        advance(&mut head, s, h.clone());
                        last = Some((s, h));
                        resync = false;
                        if let Some(r) =
                            parsed.and_then(|v| serde_json::from_value::<Record>(v).ok())
                        {
                            tracker.note(line, &r, &mut report.warnings);
                        }
                    }
                    _ => resync = true,
                }
                continue;
            }
        };
        let seq = checked.seq;

        // Position in the chain.
        if !resync {
            let (expected, prev) = match &head {
                Some((s, h)) => (s.saturating_add(1), h.as_str()),
                None => (1, GENESIS_HASH),
            };
            let kind = if seq > expected {
                if claimed[idx + 1..].contains(&Some(expected)) {
                    Some(ProblemKind::Reordered {
                        expected,
                        found: seq,
                    })
                } else {
                    Some(ProblemKind::SequenceGap {
                        expected,
                        found: seq,
                    })
                }
            } else if seq < expected {
                if seen.contains(&seq) {
                    Some(ProblemKind::Duplicate(seq))
                } else {
                    Some(ProblemKind::Reordered {
                        expected,
                        found: seq,
                    })
                }
            } else if checked.prev_hash != prev {
                Some(ProblemKind::BrokenChain)
            } else {
                None
            };
            if let Some(kind) = kind {
                report.problems.push(Problem {
                    line,
                    seq: Some(seq),
                    kind,
                });
            }
        }
        seen.insert(seq);
        advance(&mut head, seq, checked.hash.clone());
        last = Some((seq, checked.hash.clone()));
        resync = false;

        // What the record says (check_line made sure it deserializes).
        let Ok(record) = serde_json::from_value::<Record>(checked.value) else {
            continue;
        };
        if record.kind != Kind::Seal {
            tracker.note(line, &record, &mut report.warnings);
            continue;
        }
        let status = check_seal(&record, opts, &mut failed_keys, last_seal);
        let key_id = record
            .seal
            .as_ref()
            .map(|s| s.key_id.clone())
            .unwrap_or_default();
        match &status {
            Err(why) => report.problems.push(Problem {
                line,
                seq: Some(seq),
                kind: ProblemKind::BadSeal(why.clone()),
            }),
            Ok(SealStatus::NotChecked(reason)) => report.warnings.push(Warning::SealNotChecked {
                line,
                seq,
                key_id: key_id.clone(),
                reason: reason.clone(),
            }),
            Ok(_) => {}
        }
        if status.is_ok() {
            last_seal = Some(seq);
            tracker.unsealed = None;
        }
        report.seals.push(SealCheck {
            line,
            seq,
            key_id,
            status: status.unwrap_or(SealStatus::Invalid),
        });
    }

    if let Some((count, first_line, first_seq)) = tracker.unsealed {
        if opts.require_sealed {
            report.problems.push(Problem {
                line: first_line,
                seq: Some(first_seq),
                kind: ProblemKind::Unsealed(count),
            });
        } else {
            report.warnings.push(Warning::Unsealed {
                count,
                first_line,
                first_seq,
            });
        }
    }
    report.problems.sort_by_key(|p| p.line);
    let mut unfinished: Vec<Unfinished> = tracker.pending.into_values().collect();
    unfinished.sort_by_key(|u| u.line);
    report.unfinished = unfinished;
    report.head = last;
    report
}

/// Intents waiting for their outcome, and records not yet covered by a seal.
#[derive(Default)]
struct Tracker {
    pending: HashMap<String, Unfinished>,
    answered: HashSet<String>,
    /// (count, first line, first seq) of non-seal records since the last seal.
    unsealed: Option<(u64, u64, u64)>,
}

impl Tracker {
    fn note(&mut self, line: u64, r: &Record, warnings: &mut Vec<Warning>) {
        let u = self.unsealed.get_or_insert((0, line, r.seq));
        u.0 += 1;
        match r.kind {
            Kind::Intent => {
                self.pending.insert(r.id.clone(), unfinished_from(line, r));
            }
            Kind::Outcome => {
                let intent_id = r.intent_id.clone().unwrap_or_default();
                if self.pending.remove(&intent_id).is_some() {
                    self.answered.insert(intent_id);
                } else if self.answered.contains(&intent_id) {
                    warnings.push(Warning::DuplicateOutcome {
                        line,
                        seq: r.seq,
                        intent_id,
                    });
                } else {
                    warnings.push(Warning::UnknownIntent {
                        line,
                        seq: r.seq,
                        intent_id,
                    });
                }
            }
            _ => {}
        }
    }
}

fn unfinished_from(line: u64, r: &Record) -> Unfinished {
    let who = r.who.as_ref();
    Unfinished {
        line,
        seq: r.seq,
        id: r.id.clone(),
        time: r.time.clone(),
        action: r.action().unwrap_or_default().to_string(),
        targets: r
            .what
            .as_ref()
            .map(|w| w.targets.clone())
            .unwrap_or_default(),
        os_user: who.and_then(|w| w.os_user.clone()),
        host: who.and_then(|w| w.host.clone()),
        pid: who.and_then(|w| w.pid),
    }
}

fn advance(head: &mut Option<(u64, String)>, seq: u64, hash: String) {
    if head.as_ref().is_none_or(|(s, _)| seq > *s) {
        *head = Some((seq, hash));
    }
}

/// Checks one seal record: `Err(why)` if it is bad.
fn check_seal(
    record: &Record,
    opts: &VerifyOptions,
    failed_keys: &mut HashMap<String, String>,
    last_seal: Option<u64>,
) -> Result<SealStatus, String> {
    let Some(SealRecord {
        key_id,
        alg,
        head,
        mac,
    }) = &record.seal
    else {
        return Err("the seal record has no `seal` member".into());
    };
    if head != &record.prev_hash {
        return Err(
            "it does not seal the record before it (its head is not that record's hash)".into(),
        );
    }
    if alg != SEAL_ALGORITHM {
        return Err(format!("unknown algorithm {alg}"));
    }
    let mac = base64::engine::general_purpose::STANDARD
        .decode(mac)
        .map_err(|_| "the MAC is not base64".to_string())?;
    if let Some(reason) = failed_keys.get(key_id) {
        return Ok(SealStatus::NotChecked(reason.clone()));
    }
    let Some(sealer) = opts.sealers.iter().find(|s| &s.key_id() == key_id) else {
        let why = if key_id.starts_with("local-hmac:") {
            "its local key was not supplied"
        } else {
            "no KMS access"
        };
        return Ok(SealStatus::NotChecked(why.into()));
    };
    match sealer.verify(&seal_message(head), &mac) {
        Ok(true) => Ok(SealStatus::Valid),
        Ok(false) => Err(match last_seal {
            Some(s) => format!(
                "the MAC does not match the chain head: records after the seal at seq {s} were changed, inserted or removed (or the file was rewritten)"
            ),
            None => "the MAC does not match the chain head: records before it were changed, inserted or removed (or the file was rewritten)".into(),
        }),
        Err(e) => {
            let reason = e.to_string();
            failed_keys.insert(key_id.clone(), reason.clone());
            Ok(SealStatus::NotChecked(reason))
        }
    }
}

/// The records of a log that can be read, with their line numbers (for show and export).
/// Unreadable lines are skipped; their line numbers are returned second.
pub fn read_records(data: &[u8]) -> (Vec<(u64, Record)>, Vec<u64>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (line, raw, _) in lines(data) {
        match serde_json::from_slice::<Record>(raw) {
            Ok(r) => ok.push((line, r)),
            Err(_) => bad.push(line),
        }
    }
    (ok, bad)
}

/// Intents without an outcome in the log at `path` (empty if there is no log yet), for the
/// next session to show. Reads what it can; verification is [`verify_file`]'s job.
pub fn unfinished(path: &Path) -> Result<Vec<Unfinished>, AuditError> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io("read", path, e)),
    };
    let (records, _) = read_records(&data);
    let mut pending: Vec<Unfinished> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    for (line, r) in &records {
        if r.kind == Kind::Outcome
            && let Some(id) = &r.intent_id
        {
            answered.insert(id.clone());
        }
        if r.kind == Kind::Intent {
            pending.push(unfinished_from(*line, r));
        }
    }
    pending.retain(|u| !answered.contains(&u.id));
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_log_is_valid() {
        let r = verify_bytes(b"", &VerifyOptions::default());
        assert!(r.is_valid());
        assert_eq!(r.records, 0);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn garbage_lines_are_named() {
        let r = verify_bytes(b"{}\nnot json\n", &VerifyOptions::default());
        assert_eq!(r.first_problem().unwrap().line, 1);
        assert!(
            r.problems
                .iter()
                .any(|p| p.line == 2 && matches!(p.kind, ProblemKind::Unparseable(_)))
        );
        let r = verify_bytes(b"{\"a\":", &VerifyOptions::default());
        assert!(matches!(
            r.first_problem().unwrap().kind,
            ProblemKind::TruncatedTail(_)
        ));
        let r = verify_bytes(b"\n", &VerifyOptions::default());
        assert!(matches!(
            r.first_problem().unwrap().kind,
            ProblemKind::Unparseable(_)
        ));
    }

    #[test]
    fn lines_split_keeps_incomplete_tail() {
        let l = lines(b"a\nb\nc");
        assert_eq!(l.len(), 3);
        assert!(l[1].2 && !l[2].2);
        assert_eq!(lines(b"a\n").len(), 1);
    }

    /// The example in docs/AUDIT.md (checked there with an independent implementation too).
    const DOC_EXAMPLE: &str = concat!(
        r#"{"event":"start","hash":"ced6760576a0098bf4fbb2773b8bcfc659f1c890cce63163d43b1937d0577a19","id":"6f1c0a52-3b7e-4c0e-9a51-2d8e6b1f0001","kind":"session","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"time":"2026-01-15T09:30:00.000Z","v":1,"where":{"account":"123456789012","profile":"claims","region":"us-east-1"},"who":{"os_user":"alice","uid":1000}}"#,
        "\n",
        r#"{"hash":"f72f112ea5168bedf93dea15d93d67d61ada056173a73314660b175080eaa9fa","how":[{"detail":"claims-intake-dlq","method":"typed_name"}],"id":"6f1c0a52-3b7e-4c0e-9a51-2d8e6b1f0002","kind":"intent","prev_hash":"ced6760576a0098bf4fbb2773b8bcfc659f1c890cce63163d43b1937d0577a19","seq":2,"time":"2026-01-15T09:31:07.250Z","v":1,"what":{"action":"sqs:PurgeQueue","targets":["arn:aws:sqs:us-east-1:123456789012:claims-intake-dlq"]},"where":{"account":"123456789012","profile":"claims","region":"us-east-1"},"who":{"os_user":"alice","uid":1000},"why":{"reason":"poison messages","ticket":"CHG-1234"}}"#,
        "\n",
        r#"{"hash":"c7b9d61f0b6242df13c0de72fb85e24dfc4efac076f965e2434f4252c858d999","id":"6f1c0a52-3b7e-4c0e-9a51-2d8e6b1f0003","kind":"seal","prev_hash":"f72f112ea5168bedf93dea15d93d67d61ada056173a73314660b175080eaa9fa","seal":{"alg":"HMAC_SHA_256","head":"f72f112ea5168bedf93dea15d93d67d61ada056173a73314660b175080eaa9fa","key_id":"local-hmac:60bf07c488aad18f","mac":"1URTD6vW0wS6dpE1sLDB0fFciuxgnNU+xlkxuoi3ZOY="},"seq":3,"time":"2026-01-15T09:31:07.900Z","v":1}"#,
        "\n",
    );

    #[test]
    fn documented_example_verifies() {
        let sealer: Arc<dyn Sealer> = Arc::new(crate::audit::LocalHmacSealer::new(&[0x5a; 32]));
        let report = verify_bytes(
            DOC_EXAMPLE.as_bytes(),
            &VerifyOptions::default().with_sealer(sealer),
        );
        assert!(report.is_valid(), "{:?}", report.problems);
        assert_eq!(report.seals.len(), 1);
        assert_eq!(report.seals[0].status, SealStatus::Valid);
        assert_eq!(report.unfinished.len(), 1);
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        let first: Value = serde_json::from_str(DOC_EXAMPLE.lines().next().unwrap()).unwrap();
        assert_eq!(
            record_hash(&first).unwrap(),
            "ced6760576a0098bf4fbb2773b8bcfc659f1c890cce63163d43b1937d0577a19"
        );
    }
}
