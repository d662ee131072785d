//! Verification: re-derive every hash, follow the chain, check the sequence and the seals, and
//! name the first bad record (line and seq) with the reason. Never panics, whatever the bytes.
//!
//! The file is streamed, one line at a time, and no line may be longer than
//! [`MAX_RECORD_BYTES`] (the longest record the writer produces): an over-long line stops
//! verification at once, so `audit verify /dev/zero` fails after reading 1 MiB. What is kept per
//! record is small (a few bytes per sequence gap, intent and seal), so memory stays bounded by
//! the log's shape, not by its size.
//!
//! A seal counts only when a key the *verifier* trusts made it ([`VerifyOptions::sealers`]):
//! the profile's KMS seal key, or a local key the verifier supplies. A seal naming any other
//! key, or one that cannot be checked (no key given, KMS unreachable, no access), is a
//! failure; only [`VerifyOptions::offline`] skips the MAC checks, and the report says so.

use super::canonical::{GENESIS_HASH, is_hash, record_hash, to_canonical};
use super::error::AuditError;
use super::record::{FORMAT_VERSION, Kind, Record, SealRecord};
use super::seal::{SEAL_ALGORITHM, Sealer, seal_message};
use super::storage::MAX_RECORD_BYTES;
use base64::Engine as _;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::hash::BuildHasher;
use std::io::{BufRead, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

/// Problems kept in a report; verification stops after this many (a file of garbage is named
/// by its first problems, not listed to the end).
pub const MAX_PROBLEMS: usize = 1000;
/// Unfinished intents listed in a report (the rest are counted).
pub const MAX_UNFINISHED_LISTED: usize = 1000;
/// Distinct caller ARNs remembered from the records (for the CloudTrail witness).
const MAX_CALLERS: usize = 64;

/// What verification may use.
#[derive(Clone, Default)]
pub struct VerifyOptions {
    /// The seal keys this verification trusts: normally one, the profile's KMS seal key, and a
    /// local key only when the verifier supplies it. A seal is valid only when one of them made
    /// it; a seal naming another key, or with no trusted key to check it, is a failure.
    pub sealers: Vec<Arc<dyn Sealer>>,
    /// Treat records after the last valid seal as a failure instead of a warning.
    pub require_sealed: bool,
    /// Do not check seal MACs (no key, no network): seals are checked for their structure only
    /// and reported as not checked. A report made offline never proves the seals.
    pub offline: bool,
    /// Why no trusted key is available, shown with the seals that therefore cannot be checked
    /// (e.g. "no seal key is configured for profile claims").
    pub no_key_reason: Option<String>,
}

impl fmt::Debug for VerifyOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyOptions")
            .field(
                "sealers",
                &self.sealers.iter().map(|s| s.key_id()).collect::<Vec<_>>(),
            )
            .field("require_sealed", &self.require_sealed)
            .field("offline", &self.offline)
            .finish()
    }
}

impl VerifyOptions {
    /// Trusts `sealer`'s key.
    pub fn with_sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealers.push(sealer);
        self
    }
    /// Structure only: hashes, chain, sequence and seal structure, no MAC checks.
    pub fn offline() -> Self {
        VerifyOptions {
            offline: true,
            ..VerifyOptions::default()
        }
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
    #[error(
        "the line is longer than {max} bytes, the longest record the writer produces: this is not an audit log, or it is damaged (verification stopped here)"
    )]
    LineTooLong { max: usize },
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
    #[error("seal not verified: {0}")]
    UncheckedSeal(String),
    #[error("{0} record(s) after the last seal are not sealed")]
    Unsealed(u64),
    #[error("more than {MAX_PROBLEMS} problems: verification stopped here")]
    TooManyProblems,
}

/// The result of checking one seal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealStatus {
    /// A trusted key made it over the record before it.
    Valid,
    /// Forged, relabelled, copied, or the records before it were changed.
    Invalid,
    /// Not checked: offline, or it could not be checked (then the report has a problem too).
    NotChecked(String),
}

/// One seal record and what verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealCheck {
    pub line: u64,
    pub seq: u64,
    /// The key the seal names (a label; see [`VerifyOptions::sealers`]).
    pub key_id: String,
    /// The seal record's time.
    pub time: String,
    /// The KMS `GenerateMac` request id recorded in the seal.
    pub request_id: Option<String>,
    /// The chain head it seals.
    pub head: String,
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

/// Something worth an operator's attention that does not by itself fail verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// Records after the last seal: deleting them could not be detected from the file alone.
    Unsealed {
        count: u64,
        first_line: u64,
        first_seq: u64,
    },
    /// Only with [`VerifyOptions::offline`]: the seal's MAC was not checked.
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
    /// A task record (a long-running action's start or end) that does not fit its intent: it
    /// names an intent not in the log, ends a task that never started, ends one twice, or a
    /// task started and has no end recorded.
    Task {
        line: u64,
        seq: u64,
        intent_id: String,
        problem: String,
    },
    /// The files themselves: a symbolic link, loose modes, a missing key file.
    File(String),
    /// A record's time is earlier than the one before it (every record's time is taken under
    /// the log's lock, so it only goes back when the clock was set back, or the time edited).
    TimeGoesBack { line: u64, seq: u64, seconds: i64 },
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
            Warning::Task {
                line,
                seq,
                intent_id,
                problem,
            } => write!(
                f,
                "task record at line {line} (seq {seq}) of intent {intent_id} {problem}"
            ),
            Warning::File(text) => f.write_str(text),
            Warning::TimeGoesBack { line, seq, seconds } => write!(
                f,
                "the time of the record at line {line} (seq {seq}) is {seconds} s earlier than the record before it: the clock was set back, or the time was edited"
            ),
        }
    }
}

/// What verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Lines read (a final incomplete line counts).
    pub lines: u64,
    /// Lines that hold a JSON object.
    pub records: u64,
    /// The last record's seq and hash.
    pub head: Option<(u64, String)>,
    /// Integrity failures in file order; the first is the one to name.
    pub problems: Vec<Problem>,
    pub warnings: Vec<Warning>,
    pub seals: Vec<SealCheck>,
    /// Intents without an outcome, in file order (at most [`MAX_UNFINISHED_LISTED`]).
    pub unfinished: Vec<Unfinished>,
    /// Unfinished intents beyond those listed.
    pub unfinished_more: u64,
    /// The first and the last record's `time`.
    pub first_time: Option<String>,
    pub last_time: Option<String>,
    /// The distinct `who.caller_arn` values of the records (at most 64).
    pub callers: BTreeSet<String>,
    /// The verification ran offline: seal MACs were not checked.
    pub offline: bool,
}

impl Report {
    /// No integrity failure (warnings allowed). With [`Report::offline`] this says nothing
    /// about the seals.
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
    /// The last seal that verified (or, offline, that is well formed).
    pub fn last_good_seal(&self) -> Option<&SealCheck> {
        self.seals.iter().rev().find(|s| match &s.status {
            SealStatus::Valid => true,
            SealStatus::NotChecked(_) => self.offline,
            SealStatus::Invalid => false,
        })
    }
}

/// One line of a log, read with a bounded length.
pub(crate) enum Line<'a> {
    /// A line and its `\n` (not included).
    Complete(&'a [u8]),
    /// The file ends without a `\n`.
    Incomplete(&'a [u8]),
    /// Longer than [`MAX_RECORD_BYTES`] (not read to its end).
    TooLong,
}

/// Reads lines of at most [`MAX_RECORD_BYTES`] bytes (with the `\n`), so a file without line
/// ends (or `/dev/zero`) costs at most 1 MiB of memory.
pub(crate) struct LineReader<R> {
    reader: R,
    buf: Vec<u8>,
    /// The number of the line last returned.
    pub line: u64,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        LineReader {
            reader,
            buf: Vec::new(),
            line: 0,
        }
    }

    /// The next line and its number.
    pub(crate) fn next_line(&mut self) -> std::io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let n = (&mut self.reader)
            .take(MAX_RECORD_BYTES as u64)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        let line = match self.buf.last() {
            Some(b'\n') => Line::Complete(&self.buf[..n - 1]),
            _ if n >= MAX_RECORD_BYTES => Line::TooLong,
            _ => Line::Incomplete(&self.buf[..]),
        };
        Ok(Some((self.line, line)))
    }
}

/// Verifies the log at `path`: its content (streamed), and its files: a symbolic link, loose
/// modes (more than 0600 on the log or its key file, a directory others can write) and a
/// missing key file are reported as warnings. `Err` when the file cannot be read.
pub fn verify_file(path: &Path, opts: &VerifyOptions) -> Result<Report, AuditError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    // O_NONBLOCK: opening a FIFO for reading would wait for a writer forever. A FIFO or a
    // socket is refused: what it yields is whatever its writer sends now (nothing, an "empty,
    // intact" log), not a file that was written.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| AuditError::io("read", path, e))?;
    let kind = file
        .metadata()
        .map_err(|e| AuditError::io("inspect", path, e))?
        .file_type();
    if kind.is_fifo() || kind.is_socket() {
        return Err(AuditError::io(
            "read",
            path,
            std::io::Error::other(
                "it is a pipe or a socket, not a log file: give the path of the log file itself",
            ),
        ));
    }
    let file_warnings = inspect_files(path, &file);
    let mut report = verify_reader(std::io::BufReader::with_capacity(64 << 10, file), opts)
        .map_err(|e| AuditError::io("read", path, e))?;
    report.warnings.splice(0..0, file_warnings);
    Ok(report)
}

/// Verifies a whole log held in memory (no file checks).
pub fn verify_bytes(data: &[u8], opts: &VerifyOptions) -> Report {
    // Reading from a slice cannot fail.
    verify_reader(data, opts).unwrap_or_default()
}

/// What the files of the log at `path` show: links, modes, the key file.
fn inspect_files(path: &Path, file: &std::fs::File) -> Vec<Warning> {
    let mut out = Vec::new();
    let shown = path.display();
    if let Ok(m) = std::fs::symlink_metadata(path)
        && m.file_type().is_symlink()
    {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        out.push(Warning::File(format!(
            "{shown} is a symbolic link (to {target}): the console refuses to write a log through a link; the file verified is the link's target"
        )));
    }
    let Ok(meta) = file.metadata() else {
        return out;
    };
    if !meta.is_file() {
        // A device or a pipe: nothing more to say about modes or a key file.
        return out;
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & !0o600 != 0 {
        out.push(Warning::File(format!(
            "{shown} has mode {mode:04o}: an audit log should be 0600 (only its owner reads and writes it); run `chmod 600 {shown}`"
        )));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    if let Ok(d) = std::fs::metadata(&dir) {
        let dmode = d.permissions().mode() & 0o7777;
        if dmode & 0o022 != 0 {
            out.push(Warning::File(format!(
                "the directory {} has mode {dmode:04o}: others can write in it, so they can replace or remove the log; make it private (chmod 700)",
                dir.display()
            )));
        }
    }
    let key = super::params::ParamKey::default_path(path);
    match std::fs::symlink_metadata(&key) {
        Ok(k) if k.file_type().is_symlink() => out.push(Warning::File(format!(
            "the key file {} is a symbolic link: the console refuses to use it",
            key.display()
        ))),
        Ok(k) => {
            let kmode = k.permissions().mode() & 0o7777;
            if kmode & !0o600 != 0 {
                out.push(Warning::File(format!(
                    "the key file {} has mode {kmode:04o}: it should be 0600; run `chmod 600 {}`",
                    key.display(),
                    key.display()
                )));
            }
            if k.uid() != meta.uid() {
                out.push(Warning::File(format!(
                    "the key file {} belongs to uid {}, the log to uid {}",
                    key.display(),
                    k.uid(),
                    meta.uid()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && meta.len() > 0 => {
            out.push(Warning::File(format!(
                "the key file {} is missing: the log's hashed parameters cannot be checked, and the console refuses to append to this log until the key is restored",
                key.display()
            )))
        }
        Err(_) => {}
    }
    out
}

/// A line checked on its own (before chain checks).
struct Checked {
    seq: u64,
    prev_hash: String,
    hash: String,
}

/// Checks everything about a parsed line that does not depend on its neighbours. On failure,
/// returns the problem and the seq if one could be read.
fn check_line(text: &str, value: &Value) -> Result<Checked, (ProblemKind, Option<u64>)> {
    let Value::Object(map) = value else {
        return Err((ProblemKind::Unparseable("not a JSON object".into()), None));
    };
    let seq = map.get("seq").and_then(Value::as_u64);
    let malformed = |m: &str| (ProblemKind::Malformed(m.to_string()), seq);
    match to_canonical(value) {
        Ok(c) if c == text => {}
        Ok(_) => return Err((ProblemKind::NotCanonical, seq)),
        Err(e) => return Err(malformed(&e.to_string())),
    }
    let hash = map
        .get("hash")
        .and_then(Value::as_str)
        .filter(|h| is_hash(h))
        .ok_or_else(|| malformed("no valid `hash`"))?
        .to_string();
    match record_hash(value) {
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
    Ok(Checked {
        seq,
        prev_hash,
        hash,
    })
}

/// The sequence numbers seen, as sorted disjoint ranges (one range for an intact log).
#[derive(Default)]
struct SeqSet(Vec<(u64, u64)>);

impl SeqSet {
    fn contains(&self, s: u64) -> bool {
        let i = self.0.partition_point(|r| r.1 < s);
        self.0.get(i).is_some_and(|r| r.0 <= s)
    }
    fn insert(&mut self, s: u64) {
        if self.contains(s) {
            return;
        }
        let i = self.0.partition_point(|r| r.1 < s);
        let joins_prev = i > 0 && self.0[i - 1].1.checked_add(1) == Some(s);
        let joins_next = self.0.get(i).is_some_and(|r| s.checked_add(1) == Some(r.0));
        match (joins_prev, joins_next) {
            (true, true) => {
                self.0[i - 1].1 = self.0[i].1;
                self.0.remove(i);
            }
            (true, false) => self.0[i - 1].1 = s,
            (false, true) => self.0[i].0 = s,
            (false, false) => self.0.insert(i, (s, s)),
        }
    }
}

/// Verifies a log read from `reader`, one bounded line at a time. `Err` only for a read error.
pub fn verify_reader<R: BufRead>(reader: R, opts: &VerifyOptions) -> std::io::Result<Report> {
    let mut lines = LineReader::new(reader);
    let mut v = Verifier::new(opts);
    while let Some((n, line)) = lines.next_line()? {
        let go_on = match line {
            Line::TooLong => {
                v.problem(
                    n,
                    None,
                    ProblemKind::LineTooLong {
                        max: MAX_RECORD_BYTES,
                    },
                );
                false
            }
            Line::Incomplete(raw) => {
                v.incomplete(n, raw);
                false
            }
            Line::Complete(raw) => v.line(n, raw),
        };
        v.report.lines = n;
        if !go_on {
            break;
        }
    }
    Ok(v.finish())
}

/// The state of one verification.
struct Verifier<'o> {
    opts: &'o VerifyOptions,
    report: Report,
    /// The highest seq seen so far and its hash: the record the next one should follow (after a
    /// reordering this keeps later, correctly placed records from being reported too).
    head: Option<(u64, String)>,
    /// After a line whose place in the chain is unknown, the next line is not chain-checked.
    resync: bool,
    seen: SeqSet,
    /// Sequence gaps reported so far: (index in problems, expected seq); a later record with
    /// that seq turns the gap into a reordering.
    gaps: Vec<(usize, u64)>,
    tracker: Tracker,
    /// Why a key could not be used, so one outage is asked about once.
    failed_keys: HashMap<String, String>,
    last_seal: Option<u64>,
    /// The latest record time seen.
    latest: Option<chrono::DateTime<chrono::Utc>>,
}

impl<'o> Verifier<'o> {
    fn new(opts: &'o VerifyOptions) -> Self {
        Verifier {
            opts,
            report: Report {
                offline: opts.offline,
                ..Report::default()
            },
            head: None,
            resync: false,
            seen: SeqSet::default(),
            gaps: Vec::new(),
            tracker: Tracker::default(),
            failed_keys: HashMap::new(),
            last_seal: None,
            latest: None,
        }
    }

    /// Records a problem; false once there are too many to go on.
    fn problem(&mut self, line: u64, seq: Option<u64>, kind: ProblemKind) -> bool {
        if self.report.problems.len() >= MAX_PROBLEMS {
            return false;
        }
        self.report.problems.push(Problem { line, seq, kind });
        if self.report.problems.len() == MAX_PROBLEMS {
            self.report.problems.push(Problem {
                line,
                seq,
                kind: ProblemKind::TooManyProblems,
            });
            return false;
        }
        true
    }

    fn incomplete(&mut self, line: u64, raw: &[u8]) {
        let parsed = serde_json::from_slice::<Value>(raw).ok();
        if parsed.as_ref().is_some_and(Value::is_object) {
            self.report.records += 1;
        }
        let seq = parsed
            .as_ref()
            .and_then(|v| v.get("seq").and_then(Value::as_u64));
        let detail = if parsed.is_some() {
            "no line end"
        } else {
            "cut in the middle of a record"
        };
        self.problem(line, seq, ProblemKind::TruncatedTail(detail.into()));
    }

    /// One complete line; false to stop.
    fn line(&mut self, line: u64, raw: &[u8]) -> bool {
        if raw.is_empty() {
            self.resync = true;
            return self.problem(line, None, ProblemKind::Unparseable("empty line".into()));
        }
        let Ok(text) = std::str::from_utf8(raw) else {
            self.resync = true;
            return self.problem(line, None, ProblemKind::Unparseable("not UTF-8".into()));
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.resync = true;
                return self.problem(line, None, ProblemKind::Unparseable(e.to_string()));
            }
        };
        if value.is_object() {
            self.report.records += 1;
        }
        // What a damaged record still says about its place, for the content-only case.
        let stored = (|| {
            Some((
                value.get("seq")?.as_u64()?,
                value.get("hash")?.as_str()?.to_string(),
            ))
        })();
        let checked = match check_line(text, &value) {
            Ok(c) => c,
            Err((kind, seq)) => {
                let content_only = kind == ProblemKind::BadHash;
                let go_on = self.problem(line, seq, kind);
                // A record whose only fault is its content keeps its place in the chain, so a
                // single edit is reported once; anything else breaks the chain here.
                match (content_only, stored) {
                    (true, Some((s, h))) => {
                        self.placed(s, h);
                        if let Ok(r) = serde_json::from_value::<Record>(value) {
                            self.note(line, &r);
                        }
                    }
                    _ => self.resync = true,
                }
                return go_on;
            }
        };
        let record = match serde_json::from_value::<Record>(value) {
            Ok(r) => r,
            Err(e) => {
                self.resync = true;
                return self.problem(
                    line,
                    Some(checked.seq),
                    ProblemKind::Malformed(e.to_string()),
                );
            }
        };
        let seq = checked.seq;
        let mut go_on = true;
        if !self.resync
            && let Some(kind) = self.position(seq, &checked.prev_hash)
        {
            let is_gap = matches!(kind, ProblemKind::SequenceGap { .. });
            let index = self.report.problems.len();
            go_on = self.problem(line, Some(seq), kind);
            if is_gap {
                self.gaps.push((index, self.expected()));
            }
        }
        self.placed(seq, checked.hash);
        if record.kind != Kind::Seal {
            self.note(line, &record);
            return go_on;
        }
        self.seal(line, &record) && go_on
    }

    /// The seq the next record should have.
    fn expected(&self) -> u64 {
        self.head.as_ref().map_or(1, |(s, _)| s.saturating_add(1))
    }

    /// A chain problem with the record's position, if any.
    fn position(&mut self, seq: u64, prev_hash: &str) -> Option<ProblemKind> {
        if self.head.as_ref().is_some_and(|(s, _)| *s == u64::MAX) {
            return Some(ProblemKind::Malformed(
                "a record after the largest sequence number: the sequence cannot go on".into(),
            ));
        }
        let expected = self.expected();
        let prev = self.head.as_ref().map_or(GENESIS_HASH, |(_, h)| h.as_str());
        if seq > expected {
            Some(ProblemKind::SequenceGap {
                expected,
                found: seq,
            })
        } else if seq < expected {
            if self.seen.contains(seq) {
                Some(ProblemKind::Duplicate(seq))
            } else {
                // A record that belongs earlier: the gap it left is a reordering.
                for (index, gap_expected) in &self.gaps {
                    if *gap_expected == seq
                        && let Some(p) = self.report.problems.get_mut(*index)
                        && let ProblemKind::SequenceGap { expected, found } = p.kind
                    {
                        p.kind = ProblemKind::Reordered { expected, found };
                    }
                }
                Some(ProblemKind::Reordered {
                    expected,
                    found: seq,
                })
            }
        } else if prev_hash != prev {
            Some(ProblemKind::BrokenChain)
        } else {
            None
        }
    }

    /// The record with `seq` and `hash` is where the chain continues from.
    fn placed(&mut self, seq: u64, hash: String) {
        self.seen.insert(seq);
        if self.head.as_ref().is_none_or(|(s, _)| seq > *s) {
            self.head = Some((seq, hash.clone()));
        }
        self.report.head = Some((seq, hash));
        self.resync = false;
    }

    /// A non-seal record: intents and outcomes, times, callers, the unsealed count.
    fn note(&mut self, line: u64, r: &Record) {
        self.times(line, r);
        if let Some(arn) = r.who.as_ref().and_then(|w| w.caller_arn.as_ref())
            && self.report.callers.len() < MAX_CALLERS
        {
            self.report.callers.insert(arn.clone());
        }
        self.tracker.note(line, r, &mut self.report.warnings);
    }

    fn times(&mut self, line: u64, r: &Record) {
        if self.report.first_time.is_none() {
            self.report.first_time = Some(r.time.clone());
        }
        self.report.last_time = Some(r.time.clone());
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(&r.time) else {
            return;
        };
        let t = t.with_timezone(&chrono::Utc);
        match self.latest {
            // A second of slack: two processes read the same clock, but not at once.
            Some(latest) if t < latest - chrono::Duration::seconds(1) => push_bounded(
                &mut self.report.warnings,
                Warning::TimeGoesBack {
                    line,
                    seq: r.seq,
                    seconds: (latest - t).num_seconds(),
                },
            ),
            _ => self.latest = Some(self.latest.map_or(t, |l| l.max(t))),
        }
    }

    /// A seal record; false to stop.
    fn seal(&mut self, line: u64, record: &Record) -> bool {
        self.times(line, record);
        let seq = record.seq;
        let status = self.check_seal(record);
        let seal = record.seal.clone();
        let mut go_on = true;
        let status = match status {
            SealOutcome::Valid => SealStatus::Valid,
            SealOutcome::Offline => {
                let reason = "offline: --offline skips the MAC check".to_string();
                self.report.warnings.push(Warning::SealNotChecked {
                    line,
                    seq,
                    key_id: seal.as_ref().map(|s| s.key_id.clone()).unwrap_or_default(),
                    reason: reason.clone(),
                });
                SealStatus::NotChecked(reason)
            }
            SealOutcome::Bad(why) => {
                go_on = self.problem(line, Some(seq), ProblemKind::BadSeal(why));
                SealStatus::Invalid
            }
            SealOutcome::Unverifiable(why) => {
                go_on = self.problem(line, Some(seq), ProblemKind::UncheckedSeal(why.clone()));
                SealStatus::NotChecked(why)
            }
        };
        if status == SealStatus::Valid || (self.opts.offline && status != SealStatus::Invalid) {
            self.last_seal = Some(seq);
            self.tracker.unsealed = None;
        }
        self.report.seals.push(SealCheck {
            line,
            seq,
            key_id: seal.as_ref().map(|s| s.key_id.clone()).unwrap_or_default(),
            time: record.time.clone(),
            request_id: seal.as_ref().and_then(|s| s.request_id.clone()),
            head: seal.map(|s| s.head).unwrap_or_default(),
            status,
        });
        go_on
    }

    fn check_seal(&mut self, record: &Record) -> SealOutcome {
        let Some(SealRecord {
            key_id,
            alg,
            head,
            mac,
            ..
        }) = &record.seal
        else {
            return SealOutcome::Bad("the seal record has no `seal` member".into());
        };
        if head != &record.prev_hash {
            return SealOutcome::Bad(
                "it does not seal the record before it (its head is not that record's hash)".into(),
            );
        }
        if alg != SEAL_ALGORITHM {
            return SealOutcome::Bad(format!("unknown algorithm {alg}"));
        }
        let Ok(mac) = base64::engine::general_purpose::STANDARD.decode(mac) else {
            return SealOutcome::Bad("the MAC is not base64".into());
        };
        if self.opts.offline {
            return SealOutcome::Offline;
        }
        if let Some(reason) = self.failed_keys.get(key_id) {
            return SealOutcome::Unverifiable(reason.clone());
        }
        if self.opts.sealers.is_empty() {
            let why = self.opts.no_key_reason.clone().unwrap_or_else(|| {
                "no seal key was given to check it with (the profile's audit_hmac_key, or --seal-key-file)".into()
            });
            return SealOutcome::Unverifiable(why);
        }
        // The trusted key the seal names; the seal's own label never supplies a key.
        let mut sealer = None;
        let mut lookup_error = None;
        for s in &self.opts.sealers {
            match s.names_this_key(key_id) {
                Ok(true) => {
                    sealer = Some(s.clone());
                    break;
                }
                Ok(false) => {}
                Err(e) => lookup_error = Some(e.to_string()),
            }
        }
        let Some(sealer) = sealer else {
            if let Some(e) = lookup_error {
                let why = format!("cannot tell whether key {key_id} is the trusted seal key: {e}");
                self.failed_keys.insert(key_id.clone(), why.clone());
                return SealOutcome::Unverifiable(why);
            }
            let trusted = self
                .opts
                .sealers
                .iter()
                .map(|s| s.key_id())
                .collect::<Vec<_>>()
                .join(", ");
            let local = if key_id.starts_with("local-hmac:") {
                " (a local HMAC key counts only when the verifier supplies it with --seal-key-file: a key named in the log could be anyone's)"
            } else {
                ""
            };
            return SealOutcome::Bad(format!(
                "it was made with key {key_id}, not with the seal key this verification trusts ({trusted}){local}"
            ));
        };
        match sealer.verify(&seal_message(head), &mac) {
            Ok(true) => SealOutcome::Valid,
            Ok(false) => SealOutcome::Bad(match self.last_seal {
                Some(s) => format!(
                    "the MAC does not match the chain head: records after the seal at seq {s} were changed, inserted or removed (or the file was rewritten, or the seal forged)"
                ),
                None => "the MAC does not match the chain head: records before it were changed, inserted or removed (or the file was rewritten, or the seal forged)".into(),
            }),
            Err(e) => {
                let why = format!("it cannot be checked with key {}: {e}", sealer.key_id());
                self.failed_keys.insert(key_id.clone(), why.clone());
                SealOutcome::Unverifiable(why)
            }
        }
    }

    fn finish(mut self) -> Report {
        if let Some((count, first_line, first_seq)) = self.tracker.unsealed {
            if self.opts.require_sealed {
                self.report.problems.push(Problem {
                    line: first_line,
                    seq: Some(first_seq),
                    kind: ProblemKind::Unsealed(count),
                });
            } else {
                self.report.warnings.push(Warning::Unsealed {
                    count,
                    first_line,
                    first_seq,
                });
            }
        }
        let mut open: Vec<(u64, u64, String)> = self
            .tracker
            .tasks
            .values()
            .filter(|t| !t.3)
            .map(|t| (t.0, t.1, t.2.clone()))
            .collect();
        open.sort();
        for (line, seq, intent_id) in open {
            push_bounded(
                &mut self.report.warnings,
                Warning::Task {
                    line,
                    seq,
                    intent_id,
                    problem: "started a task and no end is recorded (the console may still be following it, or stopped without a record)".into(),
                },
            );
        }
        // In file order; the unsealed summary last (it follows from the others, if any).
        self.report
            .problems
            .sort_by_key(|p| (matches!(p.kind, ProblemKind::Unsealed(_)), p.line));
        let mut listed: Vec<Unfinished> = Vec::new();
        let mut more = 0;
        for p in self.tracker.pending.into_values() {
            match p {
                Pending::Listed(u) => listed.push(*u),
                Pending::Counted => more += 1,
            }
        }
        listed.sort_by_key(|u| u.line);
        self.report.unfinished = listed;
        self.report.unfinished_more = more;
        self.report
    }
}

enum SealOutcome {
    Valid,
    Offline,
    Bad(String),
    Unverifiable(String),
}

/// An intent waiting for its outcome.
enum Pending {
    Listed(Box<Unfinished>),
    /// Beyond [`MAX_UNFINISHED_LISTED`]: only counted.
    Counted,
}

/// Intents waiting for their outcome (by a fingerprint of their id), and records not yet
/// covered by a seal.
#[derive(Default)]
struct Tracker {
    hasher: std::collections::hash_map::RandomState,
    pending: HashMap<u64, Pending>,
    listed: usize,
    answered: HashSet<u64>,
    /// (count, first line, first seq) of non-seal records since the last seal.
    unsealed: Option<(u64, u64, u64)>,
    /// Tasks started, by intent: (line, seq, intent id, ended).
    tasks: HashMap<u64, (u64, u64, String, bool)>,
}

impl Tracker {
    fn note(&mut self, line: u64, r: &Record, warnings: &mut Vec<Warning>) {
        let u = self.unsealed.get_or_insert((0, line, r.seq));
        u.0 += 1;
        match r.kind {
            Kind::Intent => {
                let entry = if self.listed < MAX_UNFINISHED_LISTED {
                    self.listed += 1;
                    Pending::Listed(Box::new(unfinished_from(line, r)))
                } else {
                    Pending::Counted
                };
                self.pending.insert(self.hasher.hash_one(&r.id), entry);
            }
            Kind::Outcome => {
                let intent_id = r.intent_id.clone().unwrap_or_default();
                let id = self.hasher.hash_one(&intent_id);
                if let Some(p) = self.pending.remove(&id) {
                    if matches!(p, Pending::Listed(_)) {
                        self.listed -= 1;
                    }
                    self.answered.insert(id);
                } else if self.answered.contains(&id) {
                    push_bounded(
                        warnings,
                        Warning::DuplicateOutcome {
                            line,
                            seq: r.seq,
                            intent_id,
                        },
                    );
                } else {
                    push_bounded(
                        warnings,
                        Warning::UnknownIntent {
                            line,
                            seq: r.seq,
                            intent_id,
                        },
                    );
                }
            }
            Kind::Task => {
                let intent_id = r.intent_id.clone().unwrap_or_default();
                let id = self.hasher.hash_one(&intent_id);
                let known = self.pending.contains_key(&id) || self.answered.contains(&id);
                let problem = if !known {
                    Some("names an intent that is not in this log")
                } else if r.event.as_deref() == Some("start") {
                    match self.tasks.entry(id) {
                        std::collections::hash_map::Entry::Occupied(_) => {
                            Some("starts its task a second time")
                        }
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert((line, r.seq, intent_id.clone(), false));
                            None
                        }
                    }
                } else {
                    match self.tasks.get_mut(&id) {
                        None => Some("ends a task that never started"),
                        Some(t) if t.3 => Some("is a second end of its task"),
                        Some(t) => {
                            t.3 = true;
                            None
                        }
                    }
                };
                if let Some(problem) = problem {
                    push_bounded(
                        warnings,
                        Warning::Task {
                            line,
                            seq: r.seq,
                            intent_id,
                            problem: problem.into(),
                        },
                    );
                }
            }
            _ => {}
        }
    }
}

/// Warnings about single records are kept up to [`MAX_PROBLEMS`].
fn push_bounded(warnings: &mut Vec<Warning>, w: Warning) {
    if warnings.len() < MAX_PROBLEMS {
        warnings.push(w);
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

/// The records of a log that can be read, with their line numbers (for show and export).
/// Unreadable lines are skipped; their line numbers are returned second.
pub fn read_records(data: &[u8]) -> (Vec<(u64, Record)>, Vec<u64>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let mut lines = LineReader::new(data);
    while let Ok(Some((n, line))) = lines.next_line() {
        match line {
            Line::Complete(raw) | Line::Incomplete(raw) => {
                match serde_json::from_slice::<Record>(raw) {
                    Ok(r) => ok.push((n, r)),
                    Err(_) => bad.push(n),
                }
            }
            Line::TooLong => {
                bad.push(n);
                break;
            }
        }
    }
    (ok, bad)
}

/// Intents without an outcome in the log at `path` (empty if there is no log yet), for the
/// next session to show. Reads what it can, streaming (at most [`MAX_UNFINISHED_LISTED`]);
/// verification is [`verify_file`]'s job.
pub fn unfinished(path: &Path) -> Result<Vec<Unfinished>, AuditError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(AuditError::io("read", path, e)),
    };
    let mut lines = LineReader::new(std::io::BufReader::with_capacity(64 << 10, file));
    let mut pending: Vec<Unfinished> = Vec::new();
    let mut answered: HashSet<String> = HashSet::new();
    loop {
        let line = lines
            .next_line()
            .map_err(|e| AuditError::io("read", path, e))?;
        let (n, raw) = match line {
            None | Some((_, Line::TooLong)) => break,
            Some((n, Line::Complete(raw) | Line::Incomplete(raw))) => (n, raw),
        };
        let Ok(r) = serde_json::from_slice::<Record>(raw) else {
            continue;
        };
        match r.kind {
            Kind::Outcome => {
                if let Some(id) = r.intent_id {
                    if let Some(i) = pending.iter().position(|u| u.id == id) {
                        pending.remove(i);
                    } else {
                        answered.insert(id);
                    }
                }
            }
            Kind::Intent if !answered.contains(&r.id) && pending.len() < MAX_UNFINISHED_LISTED => {
                pending.push(unfinished_from(n, &r));
            }
            _ => {}
        }
    }
    Ok(pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Task records must fit their intents: a task naming an unknown intent, ending without a
    /// start, ending twice or never ending is named; a started and finished one is not.
    #[test]
    fn task_records_are_checked_against_their_intents() {
        use crate::audit::{Action, AuditConfig, AuditLog, Intent, Task, TaskEvent};
        let dir = tempfile::tempdir().unwrap();
        // The log's directory is created private (a temp dir itself is not).
        let path = dir.path().join("audit").join("t.jsonl");
        let log = AuditLog::open(AuditConfig::new(&path)).unwrap();
        let task = |intent_id: &str, event| Task {
            intent_id: intent_id.into(),
            event,
            action: Action::new("sqs:StartMessageMoveTask"),
            request_ids: Vec::new(),
            details: serde_json::Value::Null,
        };
        let a = log
            .intent(Intent::new(Action::new("sqs:StartMessageMoveTask")))
            .unwrap();
        let a_id = a.id.clone();
        let b = log
            .intent(Intent::new(Action::new("sqs:StartMessageMoveTask")))
            .unwrap();
        let b_id = b.id.clone();
        log.task(task(&a_id, TaskEvent::Start)).unwrap();
        log.task(task(&a_id, TaskEvent::Finish)).unwrap();
        let clean = verify_file(&path, &VerifyOptions::default()).unwrap();
        assert!(
            !clean
                .warnings
                .iter()
                .any(|w| matches!(w, Warning::Task { .. })),
            "{:?}",
            clean.warnings
        );
        log.task(task(&a_id, TaskEvent::Cancel)).unwrap(); // a second end
        log.task(task(&b_id, TaskEvent::Finish)).unwrap(); // never started
        log.task(task("no-such-intent", TaskEvent::Start)).unwrap();
        log.task(task(&b_id, TaskEvent::Start)).unwrap(); // no end
        let r = verify_file(&path, &VerifyOptions::default()).unwrap();
        let problems: Vec<String> = r
            .warnings
            .iter()
            .filter_map(|w| match w {
                Warning::Task { problem, .. } => Some(problem.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("second end"), "{problems:?}");
        assert!(problems[1].contains("never started"), "{problems:?}");
        assert!(problems[2].contains("not in this log"), "{problems:?}");
        assert!(problems[3].contains("no end is recorded"), "{problems:?}");
        drop((a, b));
    }

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
    fn lines_are_bounded_and_the_incomplete_tail_kept() {
        let data = b"a\nb\nc".to_vec();
        let mut l = LineReader::new(&data[..]);
        assert!(matches!(
            l.next_line().unwrap(),
            Some((1, Line::Complete(b"a")))
        ));
        assert!(matches!(
            l.next_line().unwrap(),
            Some((2, Line::Complete(b"b")))
        ));
        assert!(matches!(
            l.next_line().unwrap(),
            Some((3, Line::Incomplete(b"c")))
        ));
        assert!(l.next_line().unwrap().is_none());
        // A line of exactly the maximum (with its line end) is read; one byte more is not.
        let mut ok = vec![b'x'; MAX_RECORD_BYTES - 1];
        ok.push(b'\n');
        let mut l = LineReader::new(&ok[..]);
        assert!(matches!(
            l.next_line().unwrap(),
            Some((1, Line::Complete(_)))
        ));
        let mut long = vec![b'x'; MAX_RECORD_BYTES];
        long.push(b'\n');
        let mut l = LineReader::new(&long[..]);
        assert!(matches!(l.next_line().unwrap(), Some((1, Line::TooLong))));
    }

    #[test]
    fn sequence_sets_merge_ranges() {
        let mut s = SeqSet::default();
        for n in [1, 2, 3, 7, 5, 6, 4, 10] {
            s.insert(n);
        }
        assert_eq!(s.0, vec![(1, 7), (10, 10)]);
        assert!(s.contains(4) && s.contains(10) && !s.contains(8) && !s.contains(0));
        s.insert(u64::MAX);
        assert!(s.contains(u64::MAX));
    }

    #[test]
    fn too_many_problems_stop_verification() {
        let data = b"\n".repeat(5 * MAX_PROBLEMS);
        let r = verify_bytes(&data, &VerifyOptions::default());
        assert_eq!(r.problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(
            r.problems.last().unwrap().kind,
            ProblemKind::TooManyProblems
        );
        assert!(r.lines <= MAX_PROBLEMS as u64 + 1, "{}", r.lines);
    }

    #[test]
    fn the_sequence_cannot_wrap_or_repeat_at_its_end() {
        let record = |seq: u64, prev: &str| {
            let mut v = serde_json::json!({
                "v": 1, "seq": seq, "id": format!("id-{seq}"), "time": "2026-01-15T09:30:00.000Z",
                "kind": "session", "event": "start", "prev_hash": prev,
            });
            let h = record_hash(&v).unwrap();
            v["hash"] = serde_json::json!(h);
            (to_canonical(&v).unwrap() + "\n", h)
        };
        let (a, h) = record(u64::MAX, GENESIS_HASH);
        let (b, _) = record(u64::MAX, &h);
        let r = verify_bytes(format!("{a}{b}").as_bytes(), &VerifyOptions::offline());
        // The first is out of place (seq 1 expected); the second cannot follow it at all.
        assert_eq!(r.problems.len(), 2, "{:?}", r.problems);
        assert!(
            matches!(&r.problems[1].kind, ProblemKind::Malformed(m) if m.contains("cannot go on"))
        );
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
        // Without the key the seal is not proof of anything: a failure, not a pass …
        let r = verify_bytes(DOC_EXAMPLE.as_bytes(), &VerifyOptions::default());
        assert!(
            matches!(
                &r.first_problem().unwrap().kind,
                ProblemKind::UncheckedSeal(_)
            ),
            "{r:?}"
        );
        // … and with another key, a bad seal.
        let other: Arc<dyn Sealer> = Arc::new(crate::audit::LocalHmacSealer::new(&[0x5b; 32]));
        let r = verify_bytes(
            DOC_EXAMPLE.as_bytes(),
            &VerifyOptions::default().with_sealer(other),
        );
        assert!(
            matches!(&r.first_problem().unwrap().kind, ProblemKind::BadSeal(w) if w.contains("not with the seal key")),
            "{r:?}"
        );
        // Offline, the structure passes and the seal is reported as not checked.
        let r = verify_bytes(DOC_EXAMPLE.as_bytes(), &VerifyOptions::offline());
        assert!(r.is_valid() && r.offline);
        assert!(matches!(r.seals[0].status, SealStatus::NotChecked(_)));
    }
}
