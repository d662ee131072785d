//! Logging: every command logs the same way, to `$XDG_STATE_HOME/phi-console/phi-console.log`
//! (else `~/.local/state/phi-console/`; directory 0700, file 0600), never to the terminal.
//! The level is `warn` unless `PHI_CONSOLE_LOG` asks for more (an `EnvFilter` directive list).
//!
//! The cap: whatever `PHI_CONSOLE_LOG` says — `trace`, `aws_smithy_runtime::client=trace`,
//! `[{body}]=trace`, … — nothing from any crate but phi-console's own code is logged above
//! `info`, and no other crate's spans are recorded at all. The SDK and the HTTP stack log
//! request and response bodies (message bodies, key descriptions: PHI) at `debug` and `trace`,
//! and their span fields would be printed as the context of every event inside them. The cap
//! is a second per-layer filter combined with the user's filter by `and`, so no directive,
//! however specific, can lift it (a directive only widens the user's filter, never the cap).

use std::path::PathBuf;
use tracing::{Level, Metadata, Subscriber};
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// The environment variable with the user's filter.
pub const ENV: &str = "PHI_CONSOLE_LOG";
/// The log file's name.
pub const FILE_NAME: &str = "phi-console.log";
/// The filter when `PHI_CONSOLE_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "warn";
/// The most verbose level other crates (the AWS SDK, hyper, rustls, …) may log at.
pub const FOREIGN_CAP: Level = Level::INFO;

/// phi-console's own code (the library and the binary share the crate name).
pub fn is_own(target: &str) -> bool {
    target == "phi_console" || target.starts_with("phi_console::")
}

/// The cap: phi-console's own spans and events pass (the user's filter decides); another
/// crate's events pass only at `info` or less verbose, and its spans never.
pub fn within_cap(meta: &Metadata<'_>) -> bool {
    if is_own(meta.target()) {
        return true;
    }
    meta.is_event() && *meta.level() <= FOREIGN_CAP
}

/// The user's filter; an invalid one falls back to [`DEFAULT_FILTER`] with an explanation.
pub fn user_filter(wanted: Option<&str>) -> (EnvFilter, Option<String>) {
    let Some(w) = wanted.filter(|w| !w.trim().is_empty()) else {
        return (EnvFilter::new(DEFAULT_FILTER), None);
    };
    match EnvFilter::try_new(w) {
        Ok(f) => (f, None),
        Err(e) => (
            EnvFilter::new(DEFAULT_FILTER),
            Some(format!(
                "{ENV}='{}' is not a log filter ({}): logging at {DEFAULT_FILTER}; set it like {ENV}=info or {ENV}=phi_console=debug",
                crate::validate::shown(w),
                crate::validate::shown_max(&e.to_string(), 300)
            )),
        ),
    }
}

/// The log file is read with `cat`, `less -R` and `tail -f`: each event is one line, and
/// passes through the sanitiser like every other output. tracing's formatter escapes ESC only
/// in the message, never in other fields (`error = %e` carries AWS error text raw), and keeps
/// newlines, which would let a value forge log lines of its own.
pub struct SafeLines<M>(pub M);

/// One event's text, written through [`crate::sanitize::clean`] when the event is done.
pub struct SafeLine<W: std::io::Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: std::io::Write> std::io::Write for SafeLine<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<W: std::io::Write> Drop for SafeLine<W> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.buf);
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let mut line = crate::sanitize::clean(body).into_owned();
        line.push('\n');
        let _ = self.inner.write_all(line.as_bytes());
        let _ = self.inner.flush();
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for SafeLines<M> {
    type Writer = SafeLine<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        SafeLine {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// The subscriber: one plain-text fmt layer writing to `writer` (one sanitised line per
/// event), filtered by the user's filter AND the cap.
pub fn subscriber<W>(filter: EnvFilter, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let cap = filter_fn(within_cap);
    tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(SafeLines(writer))
            .with_ansi(false)
            .with_filter(filter.and(cap)),
    )
}

/// The log directory: `$XDG_STATE_HOME/phi-console` (when absolute), else
/// `~/.local/state/phi-console`.
pub fn log_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("phi-console"))
}

/// Starts logging to the file for this process. Returns a warning for the operator when
/// `PHI_CONSOLE_LOG` is invalid. Logging that cannot start (no home, unwritable directory) is
/// off: a log is never a reason to refuse to work.
pub fn init() -> Option<String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let wanted = std::env::var(ENV).ok();
    let (filter, warning) = user_filter(wanted.as_deref());
    let dir = log_dir()?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .ok()?;
    let path = dir.join(FILE_NAME);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .ok()?;
    // A file that already existed with a wider mode is tightened.
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let _ =
        tracing::subscriber::set_global_default(subscriber(filter, std::sync::Mutex::new(file)));
    if let Some(w) = &warning {
        tracing::warn!("{w}");
    }
    warning
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }
    impl Buf {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
        }
    }

    const MARKER: &str = "PHI-MARKER-7f3a";

    /// What the SDK and HTTP stack do: bodies in debug/trace events and in span fields.
    fn emit() {
        tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", response = MARKER, "received response");
        tracing::debug!(target: "aws_smithy_runtime::client::http", body = MARKER);
        tracing::trace!(target: "hyper::proto::h1::io", "read {MARKER}");
        tracing::trace!(target: "hyper_util::client", "{MARKER}");
        tracing::debug!(target: "aws_sigv4::http_request", canonical_request = MARKER);
        tracing::trace!(target: "aws", "{MARKER}");
        tracing::trace!(target: "phi_consolex", "{MARKER}");
        for level_span in [
            tracing::trace_span!(target: "aws_smithy_runtime", "invoke", body = MARKER),
            tracing::info_span!(target: "hyper", "conn", body = MARKER),
        ] {
            level_span.in_scope(|| {
                tracing::warn!(target: "phi_console::cloud", "own event inside a foreign span");
                tracing::info!(target: "aws_config", body = "fine");
            });
        }
        tracing::trace!(target: "phi_console::app", "own trace event");
        tracing::info!(target: "aws_smithy_runtime::client", "foreign info event");
    }

    fn logged(filter: &str) -> String {
        let buf = Buf::default();
        let (f, warning) = user_filter(Some(filter));
        assert_eq!(warning, None, "{filter}");
        tracing::subscriber::with_default(subscriber(f, buf.clone()), emit);
        buf.text()
    }

    #[test]
    fn no_filter_lifts_the_cap() {
        for filter in [
            "trace",
            "aws_smithy_runtime::client=trace",
            "aws_smithy_runtime::client::orchestrator=trace",
            "[{body}]=trace",
            "[invoke]=trace,[conn{body}]=trace",
            "hyper=trace,aws=trace",
            "warn,aws_sigv4=trace,hyper_util=trace,hyper::proto=trace",
            "off,aws_smithy_runtime=trace",
            "phi_console=trace,trace",
        ] {
            let text = logged(filter);
            assert!(!text.contains(MARKER), "{filter} leaked:\n{text}");
        }
    }

    #[test]
    fn the_cap_keeps_what_is_safe() {
        // The filter is really applied: phi-console's own trace and another crate's info pass.
        let text = logged("trace");
        assert!(text.contains("own trace event"), "{text}");
        assert!(text.contains("foreign info event"), "{text}");
        assert!(text.contains("own event inside a foreign span"), "{text}");
        // And the user's filter still narrows: warn drops both.
        let text = logged("warn");
        assert!(!text.contains("own trace event"), "{text}");
        assert!(!text.contains("foreign info event"), "{text}");
        assert!(text.contains("own event inside a foreign span"), "{text}");
    }

    #[test]
    fn a_plain_env_filter_would_leak() {
        // The control: without the cap, the hostile filter lets the marker through.
        let buf = Buf::default();
        let sub = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(buf.clone())
                .with_ansi(false)
                .with_filter(EnvFilter::new("aws_smithy_runtime::client=trace")),
        );
        tracing::subscriber::with_default(sub, emit);
        assert!(buf.text().contains(MARKER));
    }

    #[test]
    fn every_field_of_every_event_is_one_sanitised_line() {
        let buf = Buf::default();
        let (f, _) = user_filter(Some("trace"));
        let hostile = "AccessDenied\u{1b}]52;c;cm0gLXJmIH4=\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp.exe\u{2028}x\r\nFAKE ERROR forged line";
        tracing::subscriber::with_default(subscriber(f, buf.clone()), || {
            tracing::warn!(target: "phi_console::app", profile = %hostile, error = %hostile, "session not opened: {hostile}");
            tracing::info!(target: "phi_console::app", caller = ?hostile, "second");
        });
        let text = buf.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].contains("session not opened") && lines[1].contains("second"));
        for bad in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}', '\u{2028}', '\r'] {
            assert!(!text.contains(bad), "{bad:?} reached the log: {text:?}");
        }
        assert!(!text.lines().any(|l| l.starts_with("FAKE")), "{text}");
    }

    #[test]
    fn an_invalid_filter_falls_back_to_warn_and_says_how_to_fix_it() {
        let (_, w) = user_filter(Some("aws=loud\u{1b}[2J"));
        let w = w.unwrap();
        assert!(
            w.contains("PHI_CONSOLE_LOG=info") && !w.contains('\u{1b}'),
            "{w}"
        );
        assert_eq!(user_filter(None).1, None);
        assert_eq!(user_filter(Some("  ")).1, None);
    }
}
