//! The audit log's error type. Every message is written for an operator: it says what went
//! wrong, where, and that the action was not run (the log fails closed).

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::seal::SealError;

/// Why an audit record could not be written (or a log could not be opened or read).
///
/// When [`AuditLog::intent`](super::AuditLog::intent) returns one of these, the action must not
/// run; the `Display` text is meant to be shown to the operator as is.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "the disk holding the audit log {path} is full, so the action was not run; free some space and retry"
    )]
    DiskFull { path: PathBuf },

    #[error(
        "the audit log {path} is on a read-only filesystem, so the action was not run; configure a writable audit directory"
    )]
    ReadOnly { path: PathBuf },

    #[error(
        "no permission to write the audit log {path}, so the action was not run; check its owner and mode (it must be yours, mode 0600)"
    )]
    PermissionDenied { path: PathBuf },

    #[error(
        "the audit log's directory {path} cannot be created or used because something that is not a directory is in the way, so the action was not run"
    )]
    NotADirectory { path: PathBuf },

    #[error(
        "the audit directory {path} is open to other users (mode {mode:04o}), so the log was not used; make it private with `chmod 700 {path}` or configure another directory"
    )]
    InsecureDirectory { path: PathBuf, mode: u32 },

    #[error(
        "another phi-console kept the audit log {path} locked for more than {} s, so the action was not run; retry, or look for a stuck console on this host",
        waited.as_secs_f64()
    )]
    LockTimeout { path: PathBuf, waited: Duration },

    #[error(
        "the audit log {path} ends with an incomplete record ({detail}), so nothing more is appended to it and the action was not run; run `phi-console audit verify {path}`, then move the file aside to start a new log"
    )]
    DamagedTail { path: PathBuf, detail: String },

    #[error(
        "the audit log {path} has reached the file size limit, so the action was not run; archive it and start a new log"
    )]
    TooLarge { path: PathBuf },

    #[error(
        "the audit record is too large ({size} bytes, at most {max}); shorten its parameters (the action was not run)"
    )]
    RecordTooLarge { size: usize, max: usize },

    #[error(
        "the key that hashes sensitive parameters ({path}) cannot be used: {reason}; the action was not run"
    )]
    ParamKey { path: PathBuf, reason: String },

    #[error(
        "the audit file {path} is a symbolic link, so it was not used and the action was not run; phi-console does not follow links for its audit files (a link can point anywhere): configure the real path, or replace the link with the file"
    )]
    Symlink { path: PathBuf },

    #[error(
        "the audit log {path} is not a regular file, so it was not used and the action was not run; move it aside or configure another path"
    )]
    NotARegularFile { path: PathBuf },

    #[error(
        "the key file {path} of the audit log {log} is missing, but the log already holds records, so it was not regenerated and the action was not run; restore the key file from a backup (the log's hashed parameters can only be checked with it), or move the log and start a new one"
    )]
    KeyFileMissing { path: PathBuf, log: PathBuf },

    #[error(
        "the action ran, but its outcome is NOT in the audit log {path}: {cause}. The log holds the action's intent (id {intent_id}) without an outcome, and the next session lists it as unfinished. Check the target's state in AWS before you retry; then {fix}, and run `phi-console audit verify`"
    )]
    OutcomeNotRecorded {
        path: PathBuf,
        intent_id: String,
        /// What went wrong, in words (without "the action was not run").
        cause: String,
        /// What to do about it.
        fix: String,
    },

    #[error(
        "{0:?} is not a usable profile name for an audit log (use letters, digits, '.', '_' or '-')"
    )]
    InvalidProfile(String),

    #[error(
        "no state directory for the audit log: neither XDG_STATE_HOME nor HOME is set; configure the audit path"
    )]
    NoStateDir,

    #[error("the audit log could not be sealed: {0}")]
    Seal(#[from] SealError),

    #[error("cannot {op} the audit log {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl AuditError {
    /// Classifies an I/O error into the variant an operator can act on.
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> AuditError {
        use io::ErrorKind as K;
        let path = path.to_path_buf();
        if source.raw_os_error() == Some(libc::ELOOP) {
            // O_NOFOLLOW refused a symbolic link.
            return AuditError::Symlink { path };
        }
        match source.kind() {
            K::StorageFull | K::QuotaExceeded => AuditError::DiskFull { path },
            K::ReadOnlyFilesystem => AuditError::ReadOnly { path },
            K::PermissionDenied => AuditError::PermissionDenied { path },
            K::NotADirectory => AuditError::NotADirectory { path },
            K::FileTooLarge => AuditError::TooLarge { path },
            _ => AuditError::Io { op, path, source },
        }
    }

    /// What went wrong and what to do, for an error met while recording an outcome (the action
    /// had already run, so the "the action was not run" of `Display` would be false).
    pub(crate) fn cause_and_fix(&self) -> (String, String) {
        let (cause, fix): (String, &str) = match self {
            AuditError::DiskFull { .. } => ("the disk is full".into(), "free some space"),
            AuditError::TooLarge { .. } => (
                "the file size limit was reached (ulimit -f, or the filesystem's limit)".into(),
                "raise the limit or archive the log",
            ),
            AuditError::ReadOnly { .. } => (
                "its filesystem is read-only".into(),
                "make it writable or configure another audit directory",
            ),
            AuditError::PermissionDenied { .. } => (
                "no permission to write it".into(),
                "make the log yours with mode 0600",
            ),
            AuditError::NotADirectory { .. } => (
                "its directory is gone and something else is in the way".into(),
                "restore the audit directory",
            ),
            AuditError::InsecureDirectory { mode, .. } => (
                format!("its directory is open to other users (mode {mode:04o})"),
                "make the directory private (chmod 700)",
            ),
            AuditError::LockTimeout { .. } => (
                "another phi-console kept it locked".into(),
                "look for a stuck console on this host",
            ),
            AuditError::DamagedTail { detail, .. } => (
                format!("its last record is damaged ({detail})"),
                "move the damaged log aside",
            ),
            AuditError::RecordTooLarge { size, max } => (
                format!("the record is too large ({size} bytes, at most {max})"),
                "report this as a bug",
            ),
            AuditError::Symlink { .. } => (
                "its path has become a symbolic link".into(),
                "replace the link with the real file",
            ),
            AuditError::NotARegularFile { .. } => (
                "its path is no longer a regular file".into(),
                "restore the log file",
            ),
            AuditError::Io { op, source, .. } => {
                (format!("cannot {op} it: {source}"), "fix the cause")
            }
            other => (other.to_string(), "fix the cause"),
        };
        (cause, fix.to_string())
    }
}
