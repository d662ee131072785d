//! Shared test helpers: start an emulator, build SDK clients against it, compute TOTP codes.
#![allow(dead_code)]

use aws_types::SdkConfig;
use phi_console::cloud::http::{endpoint_config, static_credentials};
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};

pub const REGION: &str = "us-east-1";

pub fn start(scenario: Scenario, clock: ClockMode) -> Emulator {
    Emulator::start(EmulatorConfig {
        scenario,
        clock,
        ..Default::default()
    })
    .expect("emulator starts")
}

pub fn empty() -> Emulator {
    start(Scenario::Empty, ClockMode::Manual)
}

pub fn claims() -> Emulator {
    start(Scenario::Claims, ClockMode::Manual)
}

/// An SdkConfig with long-term test keys and retries off.
pub fn config(emu: &Emulator) -> SdkConfig {
    endpoint_config(
        &emu.endpoint_url(),
        REGION,
        static_credentials("AKIATESTKEY", "testsecret", None),
        1,
    )
}

pub fn config_with(emu: &Emulator, ak: &str, sk: &str, token: Option<&str>) -> SdkConfig {
    endpoint_config(
        &emu.endpoint_url(),
        REGION,
        static_credentials(ak, sk, token),
        1,
    )
}

pub fn config_retrying(emu: &Emulator, attempts: u32) -> SdkConfig {
    endpoint_config(
        &emu.endpoint_url(),
        REGION,
        static_credentials("AKIATESTKEY", "testsecret", None),
        attempts,
    )
}

/// The error code of an SDK error.
pub fn code<
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> String {
    match e {
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(s) => {
            s.err().code().unwrap_or("").to_string()
        }
        other => format!("not a service error: {other:?}"),
    }
}

/// Registers a virtual MFA device for a new user with a long-term key; returns (serial, seed).
pub fn mfa_user(emu: &Emulator, user: &str, key: &str) -> (String, Vec<u8>) {
    let seed = format!("seed-for-{user}-0123456789").into_bytes();
    let serial = emu.with_world(|w| {
        w.add_user(user);
        w.iam.keys.insert(key.to_string(), user.to_string());
        w.add_mfa_device(user, user, &seed)
    });
    (serial, seed)
}

/// The TOTP code for the emulator's current time.
pub fn code_now(emu: &Emulator, seed: &[u8]) -> String {
    phi_console::emulator::crypto::totp(seed, emu.clock().now().timestamp())
}

/// The pinned aws CLI that scripts/test installs (or `aws` when run by hand with it on PATH).
pub fn aws_cli() -> String {
    std::env::var("PHI_TEST_AWS_CLI").unwrap_or_else(|_| {
        let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/aws");
        if std::path::Path::new(venv).exists() {
            venv.to_string()
        } else {
            "aws".to_string()
        }
    })
}

/// Runs the aws CLI against an endpoint; returns (exit code, stdout, stderr).
pub fn run_aws(endpoint: &str, args: &[&str], access_key: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(aws_cli())
        .args([
            "--endpoint-url",
            endpoint,
            "--region",
            REGION,
            "--output",
            "json",
        ])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", "testsecret")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", dir.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials"),
        )
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("AWS_PAGER", "")
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run the aws CLI ({}): {e}. Run scripts/test, which installs it.",
                aws_cli()
            )
        });
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the aws CLI and parses its JSON output; panics with stderr on failure.
pub fn aws_json(endpoint: &str, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = run_aws(endpoint, args, "AKIATESTKEY");
    assert_eq!(code, 0, "aws {args:?} failed: {err}");
    if out.trim().is_empty() {
        return serde_json::json!({});
    }
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("aws {args:?}: not JSON ({e}): {out}"))
}

/// The AWS files of a test home: the demo operator's profile (`demo`, with its MFA device) in
/// `config` and its key in `credentials`.
pub fn write_demo_aws_files(d: &std::path::Path) {
    use phi_console::emulator::scenario::claims::{DEMO_ACCESS_KEY, DEMO_MFA_SERIAL};
    std::fs::write(
        d.join("config"),
        format!("[profile demo]\nregion = us-east-1\nmfa_serial = {DEMO_MFA_SERIAL}\n"),
    )
    .unwrap();
    std::fs::write(
        d.join("credentials"),
        format!("[demo]\naws_access_key_id = {DEMO_ACCESS_KEY}\naws_secret_access_key = demo\n"),
    )
    .unwrap();
}

/// The real binary, kept from the developer's own environment: HOME, the XDG directories and
/// the AWS files are under `d`, and no AWS_* variable (nor the audit directory's) leaks in.
/// Standard streams are piped.
pub fn isolated_binary(d: &std::path::Path) -> std::process::Command {
    use std::process::Stdio;
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_phi-console"));
    c.env("AWS_CONFIG_FILE", d.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", d.join("credentials"))
        .env("HOME", d)
        .env("XDG_STATE_HOME", d.join("state"))
        .env("XDG_CONFIG_HOME", d.join("xdg"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove(phi_console::guard::AUDIT_DIR_ENV)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// One request to an emulator's control endpoints (`/_emulator/…`, plain HTTP/1.1, connection
/// closed); returns the status and the JSON body.
pub fn control_http(endpoint: &str, method: &str, path: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).expect("connect to the emulator");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status: u16 = raw.split(' ').nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").unwrap().1;
    (
        status,
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}")),
    )
}

/// Percent-encodes everything but unreserved characters (an ARN as one path segment).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The real binary as the demo operator against `emu`: a test home with the demo profile, a
/// settings file and an audit directory of its own.
pub struct DemoBin {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl DemoBin {
    /// With these settings (TOML) in `settings.toml`.
    pub fn new(emu: &Emulator, settings: &str) -> DemoBin {
        let dir = tempfile::tempdir().unwrap();
        write_demo_aws_files(dir.path());
        std::fs::write(dir.path().join("settings.toml"), settings).unwrap();
        DemoBin {
            dir,
            url: emu.endpoint_url(),
        }
    }
    /// The demo profile's audit log.
    pub fn audit_file(&self) -> std::path::PathBuf {
        self.dir.path().join("audit").join("demo.jsonl")
    }
    /// `phi-console ARGS --profile demo --endpoint-url … --config … --audit-dir …`.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let d = self.dir.path();
        let mut c = isolated_binary(d);
        c.args(args)
            .args(["--profile", "demo", "--endpoint-url", &self.url])
            .arg("--config")
            .arg(d.join("settings.toml"))
            .arg("--audit-dir")
            .arg(d.join("audit"));
        c
    }
    /// Starts it with the demo device's next MFA code on stdin (a code is taken once: the
    /// clock moves to the next step first).
    pub fn spawn_with_code(&self, emu: &Emulator, args: &[&str]) -> std::process::Child {
        use std::io::Write;
        emu.advance(std::time::Duration::from_secs(30));
        let mut child = self.command(args).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let code = emu
            .totp(phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL)
            .unwrap();
        let _ = stdin.write_all(format!("{code}\n").as_bytes());
        drop(stdin);
        child
    }
    /// Runs it with a fresh MFA code: (exit code, stdout, stderr).
    pub fn run_with_code(&self, emu: &Emulator, args: &[&str]) -> (i32, String, String) {
        let out = self.spawn_with_code(emu, args).wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}
