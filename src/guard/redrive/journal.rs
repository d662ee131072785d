//! The journal of a selective redrive: one file per profile and dead-letter queue, next to the
//! audit log (`<audit dir>/redrive/<profile>-<hash of the queue ARN>.jsonl`, mode 0600, locked
//! while a run holds it), appended line by line. It holds message ids and counts, never a body
//! or an attribute value.
//!
//! ```text
//! {"run":R,"event":"start",…}        a run began (its filter, destination, intent)
//! {"run":R,"event":"sending","ids":[…]}  about to send these (not synced: a hint)
//! {"run":R,"event":"unsent","ids":[…]}  AWS answered that these were not sent
//! {"run":R,"event":"sent","ids":[…]}     the destination accepted these (synced before any delete)
//! {"run":R,"event":"deleted","ids":[…]}  removed from the DLQ
//! {"run":R,"event":"end",…}          the run ended (completed, cancelled or stopped), with counts
//! ```
//!
//! A message journaled `sent` but not `deleted` is still in the DLQ after a crash, an expired
//! session or a failed delete: the next run deletes it on sight and does **not** send it again.
//! That closes the duplicate window between send and delete. What remains is the send call
//! itself: a crash after SQS accepted a batch and before `sent` reached the disk leaves those
//! ids `sending`; the next run names them (they may be delivered twice on a standard queue; a
//! FIFO destination drops the copy by its deduplication id within 5 minutes).

use crate::audit::storage;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The longest line read back. Every line written is far shorter: a batch of 10 ids, or an
/// end line whose id lists are capped (engine::MAX_LISTED).
const MAX_LINE: usize = 1 << 20;
/// How long a second run on the same queue waits for the first to let go of the journal.
const LOCK_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error(
        "the redrive journal {path} cannot be used: {message}; fix it (or move it aside) and run again — nothing was moved"
    )]
    Unusable { path: PathBuf, message: String },
    #[error(
        "another redrive of this queue holds its journal {path}: wait for it to end (or stop it), then run again"
    )]
    Busy { path: PathBuf },
    #[error(
        "the redrive journal {path} could not be written ({message}); the run stopped before its next step: free the disk, then run again to resume"
    )]
    Write { path: PathBuf, message: String },
}

/// What earlier runs left in the journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Earlier {
    /// Sent to the destination and not yet deleted from the DLQ (as far as the journal knows).
    pub sent_not_deleted: HashSet<String>,
    /// Every id ever journaled sent: never sent again (a delete with a stale receipt handle
    /// can leave a moved message in the DLQ; seen again, it is deleted, not resent).
    pub sent: HashSet<String>,
    /// Announced as sending, with no answer recorded: perhaps delivered (see the module doc).
    pub unknown: HashSet<String>,
    /// Moved (sent and deleted) by earlier runs.
    pub moved: u64,
    pub runs: u64,
    /// The last run started and never ended (a crash or a kill).
    pub unfinished: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    run: String,
    event: String,
    #[serde(default)]
    ids: Vec<String>,
}

/// The journal of one queue, open and locked.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    run: String,
}

/// Where the journal of `queue_arn` under `profile` lives in `dir`.
pub fn path_for(dir: &Path, profile: &str, queue_arn: &str) -> PathBuf {
    let digest = ring::digest::digest(&ring::digest::SHA256, queue_arn.as_bytes());
    let profile: String = profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let hex = crate::audit::canonical::hex(digest.as_ref());
    dir.join(format!("{profile}-{}.jsonl", &hex[..16]))
}

/// Reads what earlier runs left, without opening for writing (for the plan). A missing file
/// is an empty history.
pub fn read(path: &Path) -> Result<Earlier, JournalError> {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    storage::no_follow(&mut o);
    match o.open(path) {
        Ok(f) => scan(&f, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Earlier::default()),
        Err(e) => Err(JournalError::Unusable {
            path: path.to_path_buf(),
            message: e.to_string(),
        }),
    }
}

fn scan(file: &File, path: &Path) -> Result<Earlier, JournalError> {
    scan_to(file, path).map(|(e, _)| e)
}

/// What earlier runs left, and the length of the file's complete lines (a torn last line
/// after it is a write a crash cut short).
fn scan_to(file: &File, path: &Path) -> Result<(Earlier, u64), JournalError> {
    let unusable = |message: String| JournalError::Unusable {
        path: path.to_path_buf(),
        message,
    };
    let mut out = Earlier::default();
    let mut deleted: HashSet<String> = HashSet::new();
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut n = 0u64;
    let mut complete_len = 0u64;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| unusable(e.to_string()))?;
        if read == 0 {
            break;
        }
        n += 1;
        let complete = buf.last() == Some(&b'\n');
        if !complete && buf.len() > MAX_LINE {
            return Err(unusable(format!(
                "line {n} is longer than {MAX_LINE} bytes"
            )));
        }
        if complete {
            complete_len += read as u64;
        }
        let line: Line = match serde_json::from_slice(&buf) {
            Ok(l) if complete => l,
            // A last line without its newline: cut short, whatever it parses as.
            Ok(_) => break,
            // A torn last line: the write a crash cut short. Its step did not happen.
            Err(_) if !complete => break,
            Err(e) => return Err(unusable(format!("line {n} is not a journal record ({e})"))),
        };
        match line.event.as_str() {
            "start" => {
                out.runs += 1;
                out.unfinished = Some(line.run);
            }
            "end" => {
                if out.unfinished.as_deref() == Some(line.run.as_str()) {
                    out.unfinished = None;
                }
            }
            "sending" => out.unknown.extend(line.ids),
            "unsent" => {
                for id in &line.ids {
                    out.unknown.remove(id);
                }
            }
            "sent" => {
                for id in line.ids {
                    out.unknown.remove(&id);
                    out.sent.insert(id.clone());
                    if !deleted.contains(&id) {
                        out.sent_not_deleted.insert(id);
                    }
                }
            }
            "deleted" => {
                for id in line.ids {
                    if out.sent_not_deleted.remove(&id) {
                        out.moved += 1;
                    }
                    deleted.insert(id);
                }
            }
            other => return Err(unusable(format!("line {n} has an unknown event '{other}'"))),
        }
    }
    Ok((out, complete_len))
}

impl Journal {
    /// Opens (creating, 0600, in a 0700 directory) and locks the journal at `path` for the
    /// run `run`; returns it with what earlier runs left.
    pub fn open(path: &Path, run: &str) -> Result<(Journal, Earlier), JournalError> {
        let unusable = |message: String| JournalError::Unusable {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent() {
            storage::prepare_dir(dir).map_err(|e| unusable(e.to_string()))?;
        }
        let (file, _) = storage::open_log(path).map_err(|e| unusable(e.to_string()))?;
        match storage::lock(&file, path, LOCK_WAIT) {
            Ok(()) => {}
            Err(crate::audit::AuditError::LockTimeout { .. }) => {
                return Err(JournalError::Busy {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(unusable(e.to_string())),
        }
        let (earlier, complete) = scan_to(&file, path)?;
        // A torn last line is cut off, so the next record starts a line of its own.
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len > complete {
            file.set_len(complete)
                .map_err(|e| unusable(e.to_string()))?;
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
                run: run.to_string(),
            },
            earlier,
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_raw(&mut self, bytes: &[u8], sync: bool) -> Result<(), JournalError> {
        let err = |e: std::io::Error| JournalError::Write {
            path: self.path.clone(),
            message: e.to_string(),
        };
        self.file.write_all(bytes).map_err(err)?;
        if sync {
            self.file.sync_data().map_err(err)?;
        }
        Ok(())
    }

    fn write(&mut self, mut v: Value, sync: bool) -> Result<(), JournalError> {
        v["run"] = self.run.clone().into();
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        line.push(b'\n');
        self.write_raw(&line, sync)
    }

    /// The run began (synced).
    pub fn start(&mut self, details: Value) -> Result<(), JournalError> {
        let mut v = json!({ "event": "start" });
        if let (Value::Object(m), Value::Object(d)) = (&mut v, details) {
            m.extend(d);
        }
        self.write(v, true)
    }

    /// These are about to be sent (not synced: only a hint for the next run).
    pub fn sending(&mut self, ids: &[&str]) -> Result<(), JournalError> {
        self.write(json!({ "event": "sending", "ids": ids }), false)
    }

    /// AWS answered that these were not sent (not synced: a lost line only keeps them listed
    /// as possibly delivered twice).
    pub fn unsent(&mut self, ids: &[&str]) -> Result<(), JournalError> {
        self.write(json!({ "event": "unsent", "ids": ids }), false)
    }

    /// The destination accepted these: synced before any of them is deleted.
    pub fn sent(&mut self, ids: &[&str]) -> Result<(), JournalError> {
        self.write(json!({ "event": "sent", "ids": ids }), true)
    }

    /// These left the DLQ (not synced: a lost line only means a harmless second delete).
    pub fn deleted(&mut self, ids: &[&str]) -> Result<(), JournalError> {
        self.write(json!({ "event": "deleted", "ids": ids }), false)
    }

    /// The run ended (synced).
    pub fn end(&mut self, details: impl Serialize) -> Result<(), JournalError> {
        let mut v = json!({ "event": "end" });
        if let (Value::Object(m), Ok(Value::Object(d))) = (&mut v, serde_json::to_value(details)) {
            m.extend(d);
        }
        self.write(v, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_resumed_run_knows_what_was_sent_and_not_deleted() {
        let d = tempfile::tempdir().unwrap();
        let path = path_for(&d.path().join("redrive"), "claims prod", "arn:aws:sqs:x");
        assert!(
            path.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("claims_prod-")
        );
        {
            let (mut j, earlier) = Journal::open(&path, "r1").unwrap();
            assert_eq!(earlier, Earlier::default());
            j.start(json!({"filter": "stage=fraud"})).unwrap();
            j.sending(&["a", "b", "c"]).unwrap();
            j.sent(&["a", "b"]).unwrap();
            j.deleted(&["a"]).unwrap();
            j.sending(&["d", "e"]).unwrap();
            j.unsent(&["e"]).unwrap();
            // a crash here: no end
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let e = read(&path).unwrap();
        assert_eq!(e.sent_not_deleted, HashSet::from(["b".to_string()]));
        assert_eq!(e.unknown, HashSet::from(["c".to_string(), "d".to_string()]));
        assert_eq!(e.moved, 1);
        assert_eq!(e.unfinished.as_deref(), Some("r1"));
        let (mut j, again) = Journal::open(&path, "r2").unwrap();
        assert_eq!(again, e);
        j.start(json!({})).unwrap();
        j.deleted(&["b"]).unwrap();
        j.end(json!({"status": "completed"})).unwrap();
        drop(j);
        let e = read(&path).unwrap();
        assert!(e.sent_not_deleted.is_empty());
        assert_eq!((e.moved, e.runs, e.unfinished), (2, 2, None));
    }

    #[test]
    fn a_torn_last_line_is_a_step_that_did_not_happen() {
        let d = tempfile::tempdir().unwrap();
        let path = path_for(&d.path().join("r"), "p", "arn");
        {
            let (mut j, _) = Journal::open(&path, "r1").unwrap();
            j.start(json!({})).unwrap();
            j.sent(&["a"]).unwrap();
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"run":"r1","event":"del"#).unwrap();
        let e = read(&path).unwrap();
        assert_eq!(e.sent_not_deleted.len(), 1);
        let (mut j, _) = Journal::open(&path, "r2").unwrap();
        j.deleted(&["a"]).unwrap();
        drop(j);
        assert!(read(&path).unwrap().sent_not_deleted.is_empty());
    }

    #[test]
    fn a_second_run_on_the_same_queue_is_refused_while_one_holds_the_journal() {
        let d = tempfile::tempdir().unwrap();
        let path = path_for(&d.path().join("r"), "p", "arn");
        let (_held, _) = Journal::open(&path, "r1").unwrap();
        let e = Journal::open(&path, "r2").unwrap_err();
        assert!(matches!(e, JournalError::Busy { .. }), "{e}");
    }

    #[test]
    fn a_damaged_journal_is_named_and_refused() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("r");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = dir.join("j.jsonl");
        std::fs::write(&path, "garbage\n{}\n").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("move it aside"), "{e}");
        std::fs::write(&path, "{\"run\":\"r\",\"event\":\"boom\"}\n").unwrap();
        assert!(
            read(&path)
                .unwrap_err()
                .to_string()
                .contains("unknown event")
        );
        let link = dir.join("l.jsonl");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        assert!(
            Journal::open(&link, "r").is_err(),
            "a symbolic link is refused"
        );
    }
}
