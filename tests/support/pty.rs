//! The real binary in a pseudo-terminal (shared by the end-to-end tests and the startup
//! benchmark): `spawn` opens a pty of `rows`×`cols`, makes it the child's controlling
//! terminal, and returns the master side and the child.

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, Stdio};

/// Starts the `phi-console` binary (`exe`) with `args` in a new pty; `configure` sets its
/// environment. TERM is xterm-256color and NO_COLOR is unset.
pub fn spawn(
    exe: &str,
    args: &[&str],
    rows: u16,
    cols: u16,
    configure: impl FnOnce(&mut Command),
) -> (std::fs::File, Child) {
    let mut master: libc::c_int = 0;
    let mut slave: libc::c_int = 0;
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two file descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: fresh descriptors from openpty.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let master = unsafe { std::fs::File::from_raw_fd(master) };
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::from(slave.try_clone().expect("pty")))
        .stdout(Stdio::from(slave.try_clone().expect("pty")))
        .stderr(Stdio::from(slave));
    configure(&mut cmd);
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().expect("start phi-console");
    (master, child)
}
