//! The writer: [`AuditLog`] appends records under an exclusive lock, re-reading the chain head
//! from the file every time, and flushes each record to disk before returning.

use super::canonical::{GENESIS_HASH, normalize_numbers, record_hash, to_canonical};
use super::error::AuditError;
use super::notify::{SealNotice, SealWitness};
use super::params::ParamKey;
use super::record::{
    Action, FORMAT_VERSION, Intent, Kind, Outcome, OutcomeRecord, ParamValue, Record, Reveal,
    SealRecord, SessionEvent, Task, What, Where, Who,
};
use super::seal::{SEAL_ALGORITHM, SealError, Sealer, seal_message};
use super::storage::{self, Head, MAX_RECORD_BYTES};
use super::verify::Unfinished;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Seal after every this many records unless configured otherwise.
pub const DEFAULT_SEAL_EVERY: u64 = 100;
/// How long an append waits for another console's lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// RFC 3339, UTC, milliseconds, `Z`: the format of every time in the log.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The state directory: `$XDG_STATE_HOME` if set and absolute, else `~/.local/state`.
pub fn state_dir() -> Result<PathBuf, AuditError> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        return Ok(x);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .ok_or(AuditError::NoStateDir)?;
    Ok(home.join(".local").join("state"))
}

/// A profile name that is safe as a file name (no `/`, no leading `.`, at most 128 of
/// `A-Z a-z 0-9 . _ -`).
pub fn check_profile_name(profile: &str) -> Result<(), AuditError> {
    let ok = !profile.is_empty()
        && !profile.starts_with('.')
        && profile.len() <= 128
        && profile
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AuditError::InvalidProfile(profile.to_string()))
    }
}

/// The default log of a profile: `<state dir>/phi-console/audit/<profile>.jsonl`.
pub fn default_path(profile: &str) -> Result<PathBuf, AuditError> {
    check_profile_name(profile)?;
    Ok(state_dir()?
        .join("phi-console")
        .join("audit")
        .join(format!("{profile}.jsonl")))
}

/// How to open a log.
#[derive(Clone)]
pub struct AuditConfig {
    /// The log file; its directory is created with mode 0700.
    pub path: PathBuf,
    /// Seal after every record whose `seq` is a multiple of this (0: only on `seal`/`close`).
    pub seal_every: u64,
    /// How long to wait for another console's lock before failing the append.
    pub lock_timeout: Duration,
    /// The key for sensitive parameters; `None` uses (and creates) `<log>.key` next to the log.
    pub param_key: Option<ParamKey>,
    /// Makes seal records; `None` writes no seals.
    pub sealer: Option<Arc<dyn Sealer>>,
    /// Receives a notice of every seal written (an SNS topic); `None`: none.
    pub witness: Option<Arc<dyn SealWitness>>,
}

impl fmt::Debug for AuditConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditConfig")
            .field("path", &self.path)
            .field("seal_every", &self.seal_every)
            .field("lock_timeout", &self.lock_timeout)
            .field("param_key", &self.param_key)
            .field("sealer", &self.sealer.as_ref().map(|s| s.key_id()))
            .field("witness", &self.witness.as_ref().map(|w| w.name()))
            .finish()
    }
}

impl AuditConfig {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        AuditConfig {
            path: path.into(),
            seal_every: DEFAULT_SEAL_EVERY,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            param_key: None,
            sealer: None,
            witness: None,
        }
    }
    /// The default log of `profile` (see [`default_path`]).
    pub fn for_profile(profile: &str) -> Result<Self, AuditError> {
        Ok(Self::new(default_path(profile)?))
    }
    pub fn sealer(mut self, sealer: Arc<dyn Sealer>) -> Self {
        self.sealer = Some(sealer);
        self
    }
    /// Publishes a notice of every seal to `witness` (see [`super::notify`]).
    pub fn witness(mut self, witness: Arc<dyn SealWitness>) -> Self {
        self.witness = Some(witness);
        self
    }
    pub fn seal_every(mut self, n: u64) -> Self {
        self.seal_every = n;
        self
    }
    pub fn lock_timeout(mut self, t: Duration) -> Self {
        self.lock_timeout = t;
        self
    }
    pub fn param_key(mut self, key: ParamKey) -> Self {
        self.param_key = Some(key);
        self
    }
}

/// The defaults the writer fills into records: who is at the console and where it points.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    pub who: Who,
    pub place: Where,
}

/// A record that is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub seq: u64,
    pub id: String,
    pub hash: String,
    /// The record's `time`.
    pub time: String,
}

/// A durable intent. Pass it to [`AuditLog::outcome`] when the action ends; if it is dropped
/// instead, the intent stays "unfinished" in the log, as after a crash.
#[must_use = "record how the action ended with AuditLog::outcome"]
#[derive(Debug)]
pub struct IntentHandle {
    pub id: String,
    pub seq: u64,
    pub hash: String,
    action: String,
    targets: Vec<String>,
    started: Instant,
}

impl IntentHandle {
    pub fn action(&self) -> &str {
        &self.action
    }
    pub fn targets(&self) -> &[String] {
        &self.targets
    }
}

/// An append-only, hash-chained, sealed audit log shared safely by threads and processes.
pub struct AuditLog {
    path: PathBuf,
    seal_every: u64,
    lock_timeout: Duration,
    param_key: ParamKey,
    sealer: Option<Arc<dyn Sealer>>,
    witness: Option<Arc<dyn SealWitness>>,
    context: Mutex<Context>,
    seal_failure: Mutex<Option<SealError>>,
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.path)
            .field("seal_every", &self.seal_every)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Prepares the directory (0700) and the file (0600) and loads the parameter key. Fails if
    /// the log cannot be used, so a session can refuse to start.
    ///
    /// The log and its key file must not be symbolic links ([`AuditError::Symlink`]); a
    /// missing key file next to a log that has records is an error
    /// ([`AuditError::KeyFileMissing`]), never replaced by a new key.
    pub fn open(config: AuditConfig) -> Result<AuditLog, AuditError> {
        storage::ignore_file_size_signal();
        let dir = parent_dir(&config.path);
        storage::prepare_dir(&dir)?;
        let (_, created) = storage::open_log(&config.path)?;
        if created {
            storage::sync_dir(&dir);
        }
        let param_key = match config.param_key {
            Some(k) => k,
            None => ParamKey::for_log(&config.path, &ParamKey::default_path(&config.path))?,
        };
        Ok(AuditLog {
            path: config.path,
            seal_every: config.seal_every,
            lock_timeout: config.lock_timeout,
            param_key,
            sealer: config.sealer,
            witness: config.witness,
            context: Mutex::new(Context {
                who: Who::from_os(),
                place: Where::default(),
            }),
            seal_failure: Mutex::new(None),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets who is at the console and where it points (after login, profile switch, MFA).
    pub fn set_context(&self, who: Who, place: Where) {
        *self.context.lock().unwrap_or_else(PoisonError::into_inner) = Context { who, place };
    }

    pub fn context(&self) -> Context {
        self.context
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Why the last periodic seal failed, or why publishing a seal to the witness failed, if
    /// it did (the record before it was written; the failure is reported here instead of
    /// failing that record's action).
    pub fn take_seal_failure(&self) -> Option<SealError> {
        self.seal_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Writes and flushes the intent record. Only when this returns `Ok` may the action run.
    pub fn intent(&self, intent: Intent) -> Result<IntentHandle, AuditError> {
        let ctx = self.context();
        let why = intent.why_opt();
        let what = self.what(&intent.action);
        let mut record = blank(Kind::Intent);
        record.who = Some(intent.who.unwrap_or(ctx.who));
        record.place = Some(intent.place.unwrap_or(ctx.place));
        record.why = why;
        record.how = intent.how;
        record.what = Some(what);
        let w = self.append(record)?;
        Ok(IntentHandle {
            id: w.id,
            seq: w.seq,
            hash: w.hash,
            action: intent.action.name,
            targets: intent.action.targets,
            started: Instant::now(),
        })
    }

    /// Writes how an intent ended.
    pub fn outcome(&self, handle: IntentHandle, outcome: Outcome) -> Result<Written, AuditError> {
        let ms = u64::try_from(handle.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.write_outcome(&handle.id, handle.action, handle.targets, outcome, Some(ms))
    }

    /// Writes the outcome of an intent left unfinished by an earlier session (normally
    /// [`Outcome::interrupted`]), after the operator has looked at it.
    pub fn resolve(
        &self,
        unfinished: &Unfinished,
        outcome: Outcome,
    ) -> Result<Written, AuditError> {
        self.write_outcome(
            &unfinished.id,
            unfinished.action.clone(),
            unfinished.targets.clone(),
            outcome,
            None,
        )
    }

    fn write_outcome(
        &self,
        intent_id: &str,
        action: String,
        targets: Vec<String>,
        outcome: Outcome,
        duration_ms: Option<u64>,
    ) -> Result<Written, AuditError> {
        let mut record = blank(Kind::Outcome);
        record.intent_id = Some(intent_id.to_string());
        record.who = Some(self.context().who);
        record.what = Some(What {
            action,
            targets,
            params: Default::default(),
        });
        record.request_ids = outcome.request_ids;
        record.outcome = Some(OutcomeRecord {
            status: outcome.status,
            error_code: outcome.error_code,
            message: outcome.message,
            duration_ms,
        });
        self.append(record)
    }

    /// Records a session event (start, end, profile switch, MFA step-up, idle lock/unlock).
    /// `details` (an object, or `Value::Null` for none) must not carry PHI.
    pub fn session(&self, event: SessionEvent, details: Value) -> Result<Written, AuditError> {
        let ctx = self.context();
        let mut record = blank(Kind::Session);
        record.event = Some(event.as_str().to_string());
        record.who = Some(ctx.who);
        record.place = Some(ctx.place);
        record.details = match details {
            Value::Null => None,
            Value::Object(m) if m.is_empty() => None,
            mut v => {
                normalize_numbers(&mut v);
                Some(v)
            }
        };
        self.append(record)
    }

    /// Records an event of a long-running task a guarded action started, linked to its
    /// intent. `details` (an object) must not carry PHI.
    pub fn task(&self, task: Task) -> Result<Written, AuditError> {
        let ctx = self.context();
        let mut record = blank(Kind::Task);
        record.event = Some(task.event.as_str().to_string());
        record.intent_id = Some(task.intent_id);
        record.who = Some(ctx.who);
        record.place = Some(ctx.place);
        record.what = Some(self.what(&task.action));
        record.request_ids = task.request_ids;
        record.details = match task.details {
            Value::Null => None,
            Value::Object(m) if m.is_empty() => None,
            mut v => {
                normalize_numbers(&mut v);
                Some(v)
            }
        };
        self.append(record)
    }

    /// Records that a possibly-PHI value is about to be shown. Show it only if this is `Ok`.
    pub fn reveal(&self, reveal: Reveal) -> Result<Written, AuditError> {
        let ctx = self.context();
        let mut record = blank(Kind::Reveal);
        record.event = Some(reveal.event);
        record.who = Some(ctx.who);
        record.place = Some(ctx.place);
        record.what = Some(self.what(&reveal.action));
        record.why = Some(reveal.why).filter(|w| w.reason.is_some() || w.ticket.is_some());
        record.how = reveal.how;
        self.append(record)
    }

    /// Seals the chain head now, unless the last record is already a seal. `Ok(None)` when
    /// there is no sealer or nothing to seal.
    pub fn seal(&self) -> Result<Option<Written>, AuditError> {
        let Some(sealer) = self.sealer.clone() else {
            return Ok(None);
        };
        self.locked(|file, head, len| match head {
            Some(h) if h.kind != Kind::Seal.as_str() => {
                self.write_seal(file, &h, len, sealer.as_ref()).map(Some)
            }
            _ => Ok(None),
        })
    }

    /// Seals the log (see [`AuditLog::seal`]) and closes it. Record `SessionEvent::End` first.
    pub fn close(self) -> Result<Option<Written>, AuditError> {
        self.seal()
    }

    /// The stored form of an action: sensitive parameters become keyed hashes.
    fn what(&self, action: &Action) -> What {
        let params = action
            .params
            .iter()
            .map(|(k, v)| {
                let stored = match v {
                    ParamValue::Plain(v) => {
                        let mut v = v.clone();
                        normalize_numbers(&mut v);
                        v
                    }
                    ParamValue::Sensitive(bytes) => Value::String(self.param_key.hash(bytes)),
                };
                (k.clone(), stored)
            })
            .collect();
        What {
            action: action.name.clone(),
            targets: action.targets.clone(),
            params,
        }
    }

    /// Opens, locks and reads the head; runs `f`; unlocks.
    fn locked<R>(
        &self,
        f: impl FnOnce(&std::fs::File, Option<Head>, u64) -> Result<R, AuditError>,
    ) -> Result<R, AuditError> {
        let dir = parent_dir(&self.path);
        storage::prepare_dir(&dir)?;
        let (file, created) = storage::open_log(&self.path)?;
        if created {
            storage::sync_dir(&dir);
        }
        storage::lock(&file, &self.path, self.lock_timeout)?;
        let result =
            storage::read_head(&file, &self.path).and_then(|(head, len)| f(&file, head, len));
        let _ = file.unlock();
        result
    }

    /// Appends one record (and a periodic seal after it when due).
    fn append(&self, record: Record) -> Result<Written, AuditError> {
        self.locked(|file, head, len| {
            let written = self.write_record(file, head.as_ref(), len, record)?;
            let due = self.seal_every > 0 && written.seq % self.seal_every == 0;
            if let (true, Some(sealer)) = (due, self.sealer.as_ref()) {
                let head = Head {
                    seq: written.seq,
                    hash: written.hash.clone(),
                    kind: String::new(),
                };
                let new_len = file.metadata().map(|m| m.len()).unwrap_or(len);
                if let Err(e) = self.write_seal(file, &head, new_len, sealer.as_ref()) {
                    tracing::warn!("periodic audit seal failed: {e}");
                    if let AuditError::Seal(s) = e {
                        *self
                            .seal_failure
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner) = Some(s);
                    }
                }
            }
            Ok(written)
        })
    }

    fn write_seal(
        &self,
        file: &std::fs::File,
        head: &Head,
        len: u64,
        sealer: &dyn Sealer,
    ) -> Result<Written, AuditError> {
        let generated = sealer.generate(&seal_message(&head.hash))?;
        let mut record = blank(Kind::Seal);
        record.seal = Some(SealRecord {
            key_id: generated.key_id.unwrap_or_else(|| sealer.key_id()),
            alg: SEAL_ALGORITHM.to_string(),
            head: head.hash.clone(),
            mac: base64::engine::general_purpose::STANDARD.encode(generated.mac),
            request_id: generated.request_id.clone(),
        });
        let key_id = record
            .seal
            .as_ref()
            .map(|s| s.key_id.clone())
            .unwrap_or_default();
        let written = self.write_record(file, Some(head), len, record)?;
        if let Some(witness) = &self.witness {
            let notice = SealNotice {
                kind: "phi-console-audit-seal",
                log: self
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                host: self.context().who.host,
                seq: written.seq,
                hash: written.hash.clone(),
                head: head.hash.clone(),
                key_id,
                request_id: generated.request_id,
                time: written.time.clone(),
            };
            if let Err(e) = witness.publish(&notice) {
                tracing::warn!("publishing an audit seal failed: {e}");
                *self
                    .seal_failure
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(SealError::Other(format!(
                    "the seal at seq {} was written, but publishing it to {} failed: {e}",
                    written.seq,
                    witness.name()
                )));
            }
        }
        Ok(written)
    }

    /// Fills in seq, prev_hash, time and hash, and appends the line durably.
    fn write_record(
        &self,
        file: &std::fs::File,
        head: Option<&Head>,
        len: u64,
        mut record: Record,
    ) -> Result<Written, AuditError> {
        let now = Utc::now();
        record.seq = head.map_or(1, |h| h.seq + 1);
        record.prev_hash = head.map_or_else(|| GENESIS_HASH.to_string(), |h| h.hash.clone());
        record.time = format_time(now);
        if let Some(who) = record.who.as_mut() {
            who.mfa_age_s = who
                .mfa_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| (now - t.with_timezone(&Utc)).num_seconds());
        }
        let line = serialize(&mut record)?;
        if line.len() > MAX_RECORD_BYTES {
            return Err(AuditError::RecordTooLarge {
                size: line.len(),
                max: MAX_RECORD_BYTES,
            });
        }
        storage::append(file, &self.path, line.as_bytes(), len)?;
        Ok(Written {
            seq: record.seq,
            id: record.id,
            hash: record.hash,
            time: record.time,
        })
    }
}

/// A record with only its id and kind set.
fn blank(kind: Kind) -> Record {
    Record {
        v: FORMAT_VERSION,
        seq: 0,
        id: new_id(),
        time: String::new(),
        kind,
        event: None,
        intent_id: None,
        who: None,
        place: None,
        what: None,
        why: None,
        how: Vec::new(),
        request_ids: Vec::new(),
        outcome: None,
        details: None,
        seal: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// Computes the record's hash, sets it, and returns the canonical line with its `\n`.
fn serialize(record: &mut Record) -> Result<String, AuditError> {
    let invalid = |e: String| AuditError::Io {
        op: "serialise a record for",
        path: PathBuf::new(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
    };
    let mut value = serde_json::to_value(&*record).map_err(|e| invalid(e.to_string()))?;
    let hash = record_hash(&value).map_err(|e| invalid(e.to_string()))?;
    if let Value::Object(m) = &mut value {
        m.insert("hash".into(), Value::String(hash.clone()));
    }
    let mut line = to_canonical(&value).map_err(|e| invalid(e.to_string()))?;
    line.push('\n');
    record.hash = hash;
    Ok(line)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A random UUID (v4).
pub(crate) fn new_id() -> String {
    let mut b = [0u8; 16];
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).is_err() {
        // No OS randomness: fall back to time and pid (ids need only be unique, not secret).
        let t = Utc::now().timestamp_nanos_opt().unwrap_or(0) as u128;
        b = (t ^ ((std::process::id() as u128) << 64)).to_le_bytes();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = super::canonical::hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_are_checked() {
        assert!(
            default_path("prod-claims_1.eu").is_ok()
                || matches!(default_path("x"), Err(AuditError::NoStateDir))
        );
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(
                matches!(default_path(bad), Err(AuditError::InvalidProfile(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn ids_are_v4_uuids() {
        let id = new_id();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, new_id());
    }

    #[test]
    fn time_format_is_utc_millis() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.678901Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format_time(t), "2026-01-02T03:04:05.678Z");
    }
}
