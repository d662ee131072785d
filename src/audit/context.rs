//! The OS side of "who": user, uid, login uid, host, SSH client and terminal.

use super::record::Who;
use std::path::Path;

impl Who {
    /// The OS identity of this process. The AWS fields are left empty for the session layer
    /// ([`Who::with_aws`], [`Who::with_mfa`]).
    pub fn from_os() -> Who {
        let uid = real_uid();
        let os_user = uid
            .and_then(user_name)
            .or_else(|| env("USER"))
            .or_else(|| env("LOGNAME"));
        Who {
            os_user,
            uid,
            login_uid: login_uid(),
            host: read_trimmed("/proc/sys/kernel/hostname")
                .or_else(|| read_trimmed("/etc/hostname")),
            pid: Some(std::process::id()),
            ssh_client: env("SSH_CLIENT"),
            ssh_connection: env("SSH_CONNECTION"),
            tty: tty_name(),
            ..Who::default()
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// The real uid, from `/proc/self/status` (no libc needed).
fn real_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

/// The audit login uid; `4294967295` means "not set" (no login session).
fn login_uid() -> Option<u32> {
    read_trimmed("/proc/self/loginuid")
        .and_then(|s| s.parse().ok())
        .filter(|&u: &u32| u != u32::MAX)
}

fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// The terminal on stdin/stdout/stderr, else `$SSH_TTY`.
fn tty_name() -> Option<String> {
    for fd in 0..3 {
        if let Ok(target) = std::fs::read_link(format!("/proc/self/fd/{fd}")) {
            let t = target.to_string_lossy();
            if t.starts_with("/dev/pts/")
                || t.starts_with("/dev/tty")
                || t.starts_with("/dev/console")
            {
                return Some(t.into_owned());
            }
        }
    }
    env("SSH_TTY")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_identity_has_uid_pid_and_host() {
        let who = Who::from_os();
        assert!(who.uid.is_some());
        assert_eq!(who.pid, Some(std::process::id()));
        assert!(who.caller_arn.is_none());
    }
}
