//! The per-log key that turns sensitive parameters into keyed hashes
//! (`hmac-sha256:<hex>`), kept outside the log in a 0600 key file or supplied by the caller.
//!
//! A keyed hash (not a plain SHA-256) is used so that someone holding only the log cannot
//! confirm a guess of a low-entropy value (a member id, a date of birth); an auditor holding the
//! key can check whether a given body was the one acted on ([`ParamKey::hash`]).

use super::canonical::{hex, sha256_hex};
use super::error::AuditError;
use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The prefix of a hashed sensitive parameter.
pub const SENSITIVE_PREFIX: &str = "hmac-sha256:";

/// A 256-bit HMAC key for sensitive parameters.
#[derive(Clone)]
pub struct ParamKey {
    bytes: [u8; 32],
}

impl fmt::Debug for ParamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParamKey({})", self.fingerprint())
    }
}

impl ParamKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        ParamKey { bytes }
    }

    /// A new random key.
    pub fn generate() -> Result<Self, ring::error::Unspecified> {
        let mut bytes = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)?;
        Ok(ParamKey { bytes })
    }

    /// `hmac-sha256:<hex>` of `value`.
    pub fn hash(&self, value: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &self.bytes);
        format!(
            "{SENSITIVE_PREFIX}{}",
            hex(ring::hmac::sign(&key, value).as_ref())
        )
    }

    /// A public fingerprint: the first 16 hex digits of SHA-256 of the key.
    pub fn fingerprint(&self) -> String {
        sha256_hex(&self.bytes)[..16].to_string()
    }

    /// The default key file of a log: `<log file name>.key` in the same directory.
    pub fn default_path(log: &Path) -> PathBuf {
        let mut name = log
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_default();
        name.push(".key");
        log.with_file_name(name)
    }

    /// The key of the log at `log`, kept in `path`: read from the file (64 hex digits), or
    /// created (mode 0600, a random key) only while the log has no record yet. A missing key
    /// file next to a log that already has records is an error ([`AuditError::KeyFileMissing`]),
    /// never silently replaced: a new key would make every hashed parameter already in the log
    /// uncheckable, and would hide that the old key was deleted. A symbolic link in place of the
    /// key file is refused.
    ///
    /// Two processes creating it at once agree on one key: the file is written aside and
    /// published with a hard link, which fails if the other won.
    pub fn for_log(log: &Path, path: &Path) -> Result<Self, AuditError> {
        match Self::load(path) {
            Ok(k) => return Ok(k),
            Err(LoadError::Missing) => {}
            Err(LoadError::Symlink) => {
                return Err(AuditError::Symlink {
                    path: path.to_path_buf(),
                });
            }
            Err(LoadError::Bad(reason)) => return Err(key_error(path, reason)),
        }
        match std::fs::symlink_metadata(log) {
            Ok(m) if !m.is_file() || m.len() > 0 => {
                return Err(AuditError::KeyFileMissing {
                    path: path.to_path_buf(),
                    log: log.to_path_buf(),
                });
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AuditError::io("inspect", log, e)),
        }
        Self::create(path)
    }

    /// Reads the key file, creating it if it does not exist, whatever the state of the log.
    /// Prefer [`ParamKey::for_log`], which refuses to replace the key of a log with records.
    pub fn load_or_create(path: &Path) -> Result<Self, AuditError> {
        match Self::load(path) {
            Ok(k) => Ok(k),
            Err(LoadError::Missing) => Self::create(path),
            Err(LoadError::Symlink) => Err(AuditError::Symlink {
                path: path.to_path_buf(),
            }),
            Err(LoadError::Bad(reason)) => Err(key_error(path, reason)),
        }
    }

    fn create(path: &Path) -> Result<Self, AuditError> {
        let key =
            Self::generate().map_err(|_| key_error(path, "the OS has no random source".into()))?;
        let tmp = path.with_file_name(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(format!("{}\n", hex(&key.bytes)).as_bytes())?;
            f.sync_all()
        };
        let published = write().and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match published {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match Self::load(path) {
                Ok(k) => Ok(k),
                Err(LoadError::Symlink) => Err(AuditError::Symlink {
                    path: path.to_path_buf(),
                }),
                Err(e) => Err(key_error(path, e.to_string())),
            },
            Err(e) => Err(AuditError::io("create the parameter key of", path, e)),
        }
    }

    /// Reads a key file without following a symbolic link; it must be a private regular file.
    fn load(path: &Path) -> Result<Self, LoadError> {
        use std::io::Read;
        let mut o = std::fs::OpenOptions::new();
        o.read(true);
        super::storage::no_follow(&mut o);
        // O_NONBLOCK as well (custom_flags replaces, so both): a FIFO in place of the key file
        // would otherwise block the open until someone writes to it; it is refused below.
        o.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        let file = match o.open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadError::Missing),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(LoadError::Symlink),
            Err(e) => return Err(LoadError::Bad(e.to_string())),
        };
        let meta = file.metadata().map_err(|e| LoadError::Bad(e.to_string()))?;
        if !meta.is_file() {
            return Err(LoadError::Bad("it is not a regular file".into()));
        }
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(LoadError::Bad(format!(
                "it is readable by other users (mode {:04o}); run `chmod 600` on it",
                meta.permissions().mode() & 0o7777
            )));
        }
        // 64 hex digits and a line end; anything much longer is not a key file.
        let mut text = String::new();
        file.take(256)
            .read_to_string(&mut text)
            .map_err(|e| LoadError::Bad(e.to_string()))?;
        parse_hex_key(text.trim())
            .map(ParamKey::from_bytes)
            .ok_or_else(|| LoadError::Bad("it does not hold 64 hex digits".into()))
    }
}

#[derive(Debug)]
enum LoadError {
    Missing,
    Symlink,
    Bad(String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing => f.write_str("it does not exist"),
            LoadError::Symlink => f.write_str("it is a symbolic link"),
            LoadError::Bad(s) => f.write_str(s),
        }
    }
}

fn key_error(path: &Path, reason: String) -> AuditError {
    AuditError::ParamKey {
        path: path.to_path_buf(),
        reason,
    }
}

/// 32 bytes from 64 hex digits.
pub(crate) fn parse_hex_key(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_keyed_and_prefixed() {
        let k = ParamKey::from_bytes([0x0b; 32]);
        let h = k.hash(b"Hi There");
        assert!(h.starts_with(SENSITIVE_PREFIX));
        assert_eq!(h.len(), SENSITIVE_PREFIX.len() + 64);
        assert_eq!(h, k.hash(b"Hi There"));
        assert_ne!(h, ParamKey::from_bytes([0x0c; 32]).hash(b"Hi There"));
        assert!(!format!("{k:?}").contains("0b0b"));
    }

    #[test]
    fn key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl.key");
        let a = ParamKey::load_or_create(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let b = ParamKey::load_or_create(&path).unwrap();
        assert_eq!(a.hash(b"x"), b.hash(b"x"));
        std::fs::write(&path, "nonsense").unwrap();
        assert!(matches!(
            ParamKey::load_or_create(&path),
            Err(AuditError::ParamKey { .. })
        ));
        assert_eq!(
            ParamKey::default_path(Path::new("/a/b.jsonl")),
            Path::new("/a/b.jsonl.key")
        );
        assert_eq!(parse_hex_key(&"ab".repeat(32)), Some([0xab; 32]));
    }
}
