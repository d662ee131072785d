//! Nothing PHI-bearing reaches phi-console.log, whatever filter `PHI_CONSOLE_LOG` sets: a
//! marker planted in a KMS key's description travels through the SDK (DescribeKey) while
//! `phi-console key rotate` plans, with the most hostile filters we know; the log file must
//! never hold it. The control shows the same filter and the same call leak the marker when
//! the subscriber is a plain EnvFilter, so the test could fail.

use crate::common::*;
use phi_console::emulator::Emulator;
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

const MARKER: &str = "PHI-MARKER-Jane-Q-Patient-DOB-1970-01-01";

const HOSTILE: &[&str] = &[
    "trace",
    "aws_smithy_runtime::client=trace",
    "aws_smithy_runtime::client::orchestrator=trace",
    "aws_smithy_runtime::client::orchestrator::http=trace",
    "[{body}]=trace",
    "[{response}]=trace,[invoke]=trace",
    "hyper=trace,aws=trace",
    "hyper_util=trace,aws_smithy_http_client=trace,aws_sigv4=trace,h2=trace,rustls=trace",
    "off,aws_smithy_runtime=trace,phi_console=info",
];

fn plant(emu: &Emulator) {
    emu.with_world(|w| {
        let id = w.kms.resolve("alias/claims-costs").unwrap();
        w.kms.keys.get_mut(&id).unwrap().description = MARKER.to_string();
    });
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
    type Writer = Buf;
    fn make_writer(&'a self) -> Buf {
        self.clone()
    }
}

/// The control: a plain EnvFilter with the hostile directive, the real SDK, the planted key —
/// the marker is in the trace. (This is what `PHI_CONSOLE_LOG` did before the cap.)
#[tokio::test]
async fn without_the_cap_the_sdk_would_log_the_marker() {
    use tracing_subscriber::prelude::*;
    let emu = claims();
    plant(&emu);
    let buf = Buf::default();
    let sub = tracing_subscriber::registry().with(
        tracing_subscriber::fmt::layer()
            .with_writer(buf.clone())
            .with_ansi(false)
            .with_filter(tracing_subscriber::EnvFilter::new(
                "aws_smithy_runtime::client=trace",
            )),
    );
    let _guard = tracing::subscriber::set_default(sub);
    let kms = aws_sdk_kms::Client::new(&config(&emu));
    let out = kms
        .describe_key()
        .key_id("alias/claims-costs")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.key_metadata().and_then(|m| m.description()),
        Some(MARKER)
    );
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).into_owned();
    assert!(text.contains(MARKER), "the control did not leak:\n{text}");
}

fn run_key_rotate(emu: &Emulator, dir: &Path, filter: &str) -> (i32, String) {
    let mut c = isolated_binary(dir);
    c.args(["key", "rotate", "alias/claims-costs", "--on-demand"])
        .args(["--reason", "log cap test", "--yes-i-typed", "not-the-name"])
        .args(["--profile", "demo", "--endpoint-url", &emu.endpoint_url()])
        .arg("--audit-dir")
        .arg(dir.join("audit"))
        .env("PHI_CONSOLE_LOG", filter)
        .env("LOG_SENSITIVE_BODIES", "true");
    let mut child = c.spawn().unwrap();
    let code = emu.totp(DEMO_MFA_SERIAL).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let _ = writeln!(stdin, "{code}");
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn no_filter_lets_a_planted_description_into_the_log() {
    for filter in HOSTILE {
        let emu = claims();
        plant(&emu);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_demo_aws_files(d);
        let calls = emu.request_count();
        let (status, out) = run_key_rotate(&emu, d, filter);
        // The plan was made (DescribeKey answered with the marker), then the wrong name
        // stopped the action.
        assert_eq!(status, 1, "{filter}: {out}");
        assert!(
            out.contains("Type claims-costs") || out.contains("claims-costs"),
            "{filter}: {out}"
        );
        assert!(
            emu.request_count() > calls + 1,
            "{filter}: the SDK made no calls"
        );
        let log = d.join("state/phi-console/phi-console.log");
        let text = std::fs::read_to_string(&log)
            .unwrap_or_else(|e| panic!("{filter}: no log file {}: {e}", log.display()));
        assert!(
            !text.contains(MARKER),
            "{filter}: the marker reached the log:\n{text}"
        );
        // The filter was applied to this run's log: where it enables phi-console's own info,
        // the start line is there.
        if *filter == "trace" || filter.contains("phi_console=info") {
            assert!(
                text.contains("phi-console started") && text.contains("command=\"key\""),
                "{filter}: {text}"
            );
        }
        // And the SDK's own info-or-quieter events are kept where asked: nothing above info.
        for line in text.lines() {
            if !line.contains(" phi_console") {
                assert!(
                    !line.contains(" TRACE ") && !line.contains(" DEBUG "),
                    "{filter}: {line}"
                );
            }
        }
    }
}
