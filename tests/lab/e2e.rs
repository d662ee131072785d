//! End to end: the real binary with `--demo` in a pseudo-terminal. Enter the demo MFA code,
//! open `:dlq`, read the screen (vt100), quit, and check the terminal was restored.

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Pty {
    /// Set when the console asked the terminal for the cursor position.
    queried: Arc<std::sync::atomic::AtomicBool>,
    master: std::fs::File,
    child: std::process::Child,
    screen: Arc<Mutex<vt100::Parser>>,
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(args: &[&str], rows: u16, cols: u16, home: &std::path::Path) -> Pty {
    let (master, child) =
        crate::pty::spawn(env!("CARGO_BIN_EXE_phi-console"), args, rows, cols, |cmd| {
            cmd.env("HOME", home)
                .env_remove("XDG_STATE_HOME")
                .env_remove("XDG_CONFIG_HOME");
        });
    let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
    let mut reader = master.try_clone().unwrap();
    let queried = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let q = queried.clone();
    let s = screen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let mut p = s.lock().unwrap();
            p.process(&buf[..n]);
            // Like a session recorder that never answers, this terminal ignores cursor-position
            // queries (ESC [ 6 n): the console must never ask.
            if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                q.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    Pty {
        queried,
        master,
        child,
        screen,
    }
}

impl Pty {
    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let c = self.contents();
            if c.contains(needle) {
                return c;
            }
            assert!(
                start.elapsed() < timeout,
                "'{needle}' did not appear in {timeout:?}; screen:\n{c}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    fn type_str(&mut self, s: &str) {
        self.master.write_all(s.as_bytes()).unwrap();
        self.master.flush().unwrap();
    }
}

fn demo_code() -> String {
    let seed = phi_console::emulator::crypto::base32_decode(
        phi_console::emulator::scenario::claims::DEMO_MFA_SEED_BASE32,
    )
    .unwrap();
    // Use the code of a step that stays valid for a while (avoid the last seconds of a step).
    let mut now = chrono::Utc::now().timestamp();
    if now % 30 > 25 {
        std::thread::sleep(Duration::from_secs(6));
        now = chrono::Utc::now().timestamp();
    }
    phi_console::emulator::crypto::totp(&seed, now)
}

/// The code the demo's MFA prompt shows.
fn shown_code(screen: &str) -> String {
    let label = "demo device (published test seed): ";
    screen
        .find(label)
        .map(|i| screen[i + label.len()..].chars().take(6).collect())
        .unwrap_or_default()
}

#[test]
fn demo_in_a_pseudo_terminal() {
    let home = tempfile::tempdir().unwrap();
    let mut pty = spawn(&["--demo"], 40, 140, home.path());
    pty.wait_for("Enter the 6-digit code", Duration::from_secs(30));
    // The demo's prompt shows the demo device's current code, labelled as the published test
    // seed's (a newcomer with one terminal needs nothing else).
    let screen = pty.wait_for(
        "demo device (published test seed): ",
        Duration::from_secs(5),
    );
    let shown = shown_code(&screen);
    assert!(
        shown.len() == 6 && shown.bytes().all(|b| b.is_ascii_digit()),
        "{screen}"
    );

    // A wrong code first: explained, and the prompt stays.
    pty.type_str("000000\r");
    let screen = pty.wait_for("AWS rejected the MFA code", Duration::from_secs(15));
    assert!(screen.contains("Enter the 6-digit code"));

    // The code on screen is the device's (give or take the 30-second step that just turned).
    let expected = demo_code();
    let screen = pty.contents();
    let shown = shown_code(&screen);
    assert!(shown.len() == 6, "{screen}");
    if shown != expected {
        pty.wait_for(
            &format!("demo device (published test seed): {expected}"),
            Duration::from_secs(5),
        );
    }
    pty.type_str(&format!("{expected}\r"));
    let screen = pty.wait_for("assumed-role/ClaimsOperator", Duration::from_secs(20));
    assert!(screen.contains("READ-WRITE"), "{screen}");
    pty.wait_for("claims-validation", Duration::from_secs(20));

    pty.type_str(":dlq\r");
    let screen = pty.wait_for("Dead-letter queues [5]", Duration::from_secs(20));
    // Deepest first: claims-notify-dlq (25 messages) is the first row.
    let first_row = screen
        .lines()
        .find(|l| l.starts_with("│claims-"))
        .unwrap_or_default()
        .to_string();
    assert!(
        first_row.contains("claims-notify-dlq") && first_row.contains("25"),
        "{screen}"
    );

    // Quit; the process exits and leaves the alternate screen.
    pty.type_str("\u{3}");
    let start = Instant::now();
    loop {
        if let Some(status) = pty.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status:?}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the console did not quit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The reader thread may still be parsing the last bytes: wait for the restore itself.
    let start = Instant::now();
    while pty.screen.lock().unwrap().screen().alternate_screen() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the terminal was not restored"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        !pty.queried.load(std::sync::atomic::Ordering::Relaxed),
        "the console asked the terminal for the cursor position"
    );

    // The session was recorded in the audit log, which verifies.
    let log = home
        .path()
        .join(".local/state/phi-console/audit/demo.jsonl");
    let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    assert!(
        text.contains("\"event\":\"start\"") && text.contains("\"event\":\"end\""),
        "{text}"
    );
    assert!(
        text.contains("\"kind\":\"seal\""),
        "the demo seals its log with the claims HMAC key: {text}"
    );
    // The demo's KMS left with the demo: the chain is checked offline (exit 3: intact, seals
    // not verified); tests/lab/witness.rs checks seals against a running emulator.
    let out = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["audit", "verify", log.to_str().unwrap(), "--offline"])
        .env("HOME", home.path())
        .env_remove("XDG_STATE_HOME")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(phi_console::audit::cli::EXIT_SEALS_NOT_VERIFIED),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = pty.master.as_raw_fd();
}
