//! File-level operations of the writer: the private directory, opening the log, the exclusive
//! lock with a timeout, reading the chain head back from the file, and a durable append.

use super::canonical::{is_hash, record_hash};
use super::error::AuditError;
use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest record line the writer produces or reads back (1 MiB).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// How much of the file's end is read at a time to find the last record.
const TAIL_CHUNK: u64 = 8 << 10;

/// Creates `dir` (and missing parents) with mode 0700, and checks that it is a directory that
/// other users cannot enter.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), AuditError> {
    let not_a_dir = || AuditError::NotADirectory {
        path: dir.to_path_buf(),
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => return Err(not_a_dir()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotADirectory => {
                        not_a_dir()
                    }
                    _ => AuditError::io("create the directory of", dir, e),
                })?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Err(not_a_dir()),
        Err(e) => return Err(AuditError::io("open the directory of", dir, e)),
    }
    let meta =
        std::fs::metadata(dir).map_err(|e| AuditError::io("open the directory of", dir, e))?;
    if !meta.is_dir() {
        return Err(not_a_dir());
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(AuditError::InsecureDirectory {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Makes a file size limit (`ulimit -f`, RLIMIT_FSIZE) an error the writer can report instead
/// of a signal that kills the process: by default SIGXFSZ terminates a process whose write
/// crosses the limit, which would stop the console between an action's call and its outcome
/// record, silently. With the signal ignored, the write fails with EFBIG, the partial line is
/// cut back, and the operator is told what happened.
pub(crate) fn ignore_file_size_signal() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code, touches
        // no memory of this process, and is allowed at any time from any thread.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        }
    });
}

/// Opens a file of the log without following a symbolic link at its last component
/// (`O_NOFOLLOW`): a link in place of the log or its key file is refused, whatever it points
/// to ([`AuditError::Symlink`]).
pub(crate) fn no_follow(o: &mut OpenOptions) -> &mut OpenOptions {
    o.custom_flags(libc::O_NOFOLLOW)
}

/// Opens (creating with mode 0600) the log for reading and appending. Returns whether the file
/// was created. A symbolic link or anything but a regular file is refused; a regular file with
/// group/other permission bits is made private.
pub(crate) fn open_log(path: &Path) -> Result<(File, bool), AuditError> {
    let open = |create_new: bool| {
        let mut o = OpenOptions::new();
        o.read(true).append(true).mode(0o600);
        no_follow(&mut o);
        if create_new {
            o.create_new(true);
        }
        o.open(path)
    };
    let (file, created) = match open(false) {
        Ok(f) => (f, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match open(true) {
            Ok(f) => (f, true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => (
                open(false).map_err(|e| AuditError::io("open", path, e))?,
                false,
            ),
            Err(e) => return Err(AuditError::io("create", path, e)),
        },
        Err(e) => return Err(AuditError::io("open", path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| AuditError::io("inspect", path, e))?;
    if !meta.is_file() {
        return Err(AuditError::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    // Tightened through the open handle (which O_NOFOLLOW made sure is the file itself).
    if meta.permissions().mode() & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| AuditError::io("make private", path, e))?;
    }
    Ok((file, created))
}

/// Takes the exclusive lock, polling until `timeout`.
pub(crate) fn lock(file: &File, path: &Path, timeout: Duration) -> Result<(), AuditError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(AuditError::LockTimeout {
                        path: path.to_path_buf(),
                        waited,
                    });
                }
                std::thread::sleep(pause.min(timeout - waited));
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(TryLockError::Error(e)) => return Err(AuditError::io("lock", path, e)),
        }
    }
}

/// The last record of the log, read back under the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub seq: u64,
    pub hash: String,
    pub kind: String,
}

/// Reads the chain head (the last line of the file) and the file's length. `None` for an empty
/// file (or a device).
/// A last line that is incomplete, unreadable, or whose hash does not match is an error: the
/// writer does not extend a damaged chain.
pub(crate) fn read_head(file: &File, path: &Path) -> Result<(Option<Head>, u64), AuditError> {
    let meta = file
        .metadata()
        .map_err(|e| AuditError::io("inspect", path, e))?;
    let len = if meta.is_file() { meta.len() } else { 0 };
    if len == 0 {
        return Ok((None, 0));
    }
    let damaged = |detail: String| AuditError::DamagedTail {
        path: path.to_path_buf(),
        detail,
    };
    let read_at = |buf: &mut [u8], at: u64| {
        file.read_exact_at(buf, at)
            .map_err(|e| AuditError::io("read", path, e))
    };
    let mut last = [0u8; 1];
    read_at(&mut last, len - 1)?;
    if last[0] != b'\n' {
        return Err(damaged(
            "the last line has no line end: a write was cut short".into(),
        ));
    }
    // Read backwards, a chunk at a time, until the line end before the last line (or the start
    // of the file): an append costs a few KiB of reading however long the log is.
    let body_end = len - 1;
    let mut start = body_end;
    let mut line: Vec<u8> = Vec::new();
    while start > 0 {
        let chunk = TAIL_CHUNK.min(start);
        let mut buf = vec![0u8; chunk as usize];
        read_at(&mut buf, start - chunk)?;
        buf.extend_from_slice(&line);
        line = buf;
        start -= chunk;
        if let Some(i) = line[..chunk as usize].iter().rposition(|&b| b == b'\n') {
            line.drain(..=i);
            break;
        }
        if line.len() > MAX_RECORD_BYTES {
            return Err(damaged("the last line is longer than any record".into()));
        }
    }
    let line = &line[..];
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|e| damaged(format!("the last record is not valid JSON: {e}")))?;
    let seq = value.get("seq").and_then(|s| s.as_u64());
    let hash = value
        .get("hash")
        .and_then(|h| h.as_str())
        .filter(|h| is_hash(h));
    let kind = value
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_string();
    let (Some(seq), Some(hash)) = (seq, hash) else {
        return Err(damaged(
            "the last record has no sequence number or hash".into(),
        ));
    };
    match record_hash(&value) {
        Ok(h) if h == hash => {}
        _ => {
            return Err(damaged(format!(
                "the hash of the last record (seq {seq}) does not match its content"
            )));
        }
    }
    Ok((
        Some(Head {
            seq,
            hash: hash.to_string(),
            kind,
        }),
        len,
    ))
}

/// Appends `line` (which ends with `\n`) in one write and flushes it to disk. On failure the
/// file is cut back to `old_len`, so a partial line does not stay behind.
pub(crate) fn append(
    file: &File,
    path: &Path,
    line: &[u8],
    old_len: u64,
) -> Result<(), AuditError> {
    let mut f = file;
    let result = f.write_all(line).and_then(|()| file.sync_all());
    if let Err(e) = result {
        if file.metadata().is_ok_and(|m| m.is_file()) {
            let _ = file.set_len(old_len);
            let _ = file.sync_all();
        }
        return Err(AuditError::io("write", path, e));
    }
    Ok(())
}

/// Flushes the directory entry of a newly created log.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}
