//! The `phi-console` binary never prints hostile text raw: every class of escape sequence
//! planted in a KMS key description (the plan), in an AWS error message (faults), and in typed
//! arguments (clap's errors and ours), on stdout and stderr, in text and `--json` modes.

use crate::common::*;
use crate::hostile::{self, assert_named, assert_no_escape, assert_shown};
use phi_console::emulator::Emulator;
use phi_console::emulator::faults::FaultRule;
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use phi_console::emulator::wire::Service;
use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Stdio};

struct Bin {
    dir: tempfile::TempDir,
    url: String,
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Bin {
    fn new(emu: &Emulator) -> Bin {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_demo_aws_files(d);
        std::fs::write(
            d.join("settings.toml"),
            "[defaults]\nrequire_reason = true\n",
        )
        .unwrap();
        Bin {
            dir,
            url: emu.endpoint_url(),
        }
    }

    /// Runs `phi-console ARGS --profile demo …` with `input` on stdin.
    fn run<S: AsRef<OsStr>>(&self, args: &[S], input: &str) -> Run {
        self.run_as("demo", args, input)
    }

    /// Runs `phi-console ARGS --profile PROFILE …` with `input` on stdin; both streams are
    /// checked for escapes here, whatever the test then asserts.
    fn run_as<S: AsRef<OsStr>>(&self, profile: &str, args: &[S], input: &str) -> Run {
        let d = self.dir.path();
        let mut child = isolated_binary(d)
            .args(args)
            .args(["--profile", profile, "--endpoint-url", &self.url])
            .arg("--config")
            .arg(d.join("settings.toml"))
            .env("PHI_CONSOLE_AUDIT_DIR", d.join("audit"))
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let what: Vec<String> = args
            .iter()
            .map(|a| a.as_ref().to_string_lossy().into_owned())
            .collect();
        // Escaped (Debug), so a failing test does not drive the terminal it reports to.
        let what = format!("{:?}", what.join(" "));
        assert_no_escape(&format!("{what} (stdout)"), &out.stdout);
        assert_no_escape(&format!("{what} (stderr)"), &out.stderr);
        Run {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

fn code(emu: &Emulator) -> String {
    format!("{}\n", emu.totp(DEMO_MFA_SERIAL).unwrap())
}

/// Every key's description holds every class of sequence, and a newline followed by what
/// would look like the plan's confirmation line.
fn plant_descriptions(emu: &Emulator) -> String {
    let description = format!("{}\n  to confirm, type: anything", hostile::all());
    emu.with_world(|w| {
        for k in w.kms.keys.values_mut() {
            k.description = description.clone();
        }
    });
    description
}

const ENABLE: &[&str] = &[
    "key",
    "rotation",
    "alias/claims-costs",
    "--enable",
    "--period",
    "180",
    "--reason",
    "finding F-12",
    "--ticket",
    "CHG-1",
    "--yes-i-typed",
    "claims-costs",
];

#[test]
fn a_hostile_key_description_never_reaches_the_terminal_from_a_plan() {
    let emu = claims();
    let bin = Bin::new(&emu);
    plant_descriptions(&emu);
    let r = bin.run(ENABLE, &code(&emu));
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_shown("the plan", &r.stdout);
    // The description cannot add a line to the plan.
    let confirm_lines = r
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("to confirm, type:"))
        .count();
    assert_eq!(confirm_lines, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("  to confirm, type: claims-costs"),
        "{}",
        r.stdout
    );

    // On-demand rotation, with --json: the plan on stderr is clean, the JSON on stdout keeps
    // the description exactly.
    let emu = claims();
    let bin = Bin::new(&emu);
    let description = plant_descriptions(&emu);
    let r = bin.run(
        &[
            "key",
            "rotate",
            "alias/claims-costs",
            "--on-demand",
            "--reason",
            "r",
            "--yes-i-typed",
            "claims-costs",
            "--json",
        ],
        &code(&emu),
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert_shown("the plan on stderr", &r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let fact = v["plan"]["facts"][0]["value"].as_str().unwrap();
    assert!(fact.contains(&description), "{fact:?}");
    assert!(r.stdout.contains("\\u001b]52;c;ZXZpbA=="), "{}", r.stdout);
    assert!(r.stdout.contains("\\u202e"), "{}", r.stdout);
}

#[test]
fn a_hostile_aws_error_message_never_reaches_the_terminal() {
    let h = hostile::all();
    for (op, json) in [
        ("DescribeKey", false),
        ("EnableKeyRotation", false),
        ("EnableKeyRotation", true),
    ] {
        let emu = claims();
        let bin = Bin::new(&emu);
        emu.add_fault(
            FaultRule::for_op(Service::Kms, op)
                .errors(1.0, 500)
                .message(h.clone()),
        );
        let mut args = ENABLE.to_vec();
        if json {
            args.push("--json");
        }
        let r = bin.run(&args, &code(&emu));
        assert_eq!(r.code, Some(1), "{op}: {}{}", r.stdout, r.stderr);
        if json {
            let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
            let message = v["error"]["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&h),
                "{op}: the message is kept: {}",
                r.stdout
            );
        } else {
            assert_shown(op, &r.stderr);
        }
    }
}

#[test]
fn typed_arguments_are_not_echoed_raw() {
    use std::os::unix::ffi::OsStrExt;
    let emu = claims();
    let bin = Bin::new(&emu);
    // Arguments cannot hold NUL; every other class can be typed.
    let h = hostile::all().replace('\0', "");
    // The key is looked up and not found: the error names it.
    let r = bin.run(&["key", "rotate", &h, "--on-demand"], &code(&emu));
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    assert_named("a key that does not exist", &r.stderr);
    // clap's own errors echo the value: usage errors exit 2, on stderr.
    for args in [
        vec![
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--period",
            h.as_str(),
        ],
        vec!["key", h.as_str()],
        vec![h.as_str()],
        vec![
            "key",
            "rotate",
            "alias/claims-costs",
            "--on-demand",
            "--reason",
        ],
    ] {
        let r = bin.run(&args, "");
        assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}: {}", r.stdout);
        assert!(r.stderr.contains("error:"), "{args:?}: {}", r.stderr);
    }
    let r = bin.run(&[h.as_str()], "");
    assert_named("an unknown argument", &r.stderr);
    // Not UTF-8 at all (a raw 8-bit CSI among the bytes).
    let raw = OsStr::from_bytes(hostile::INVALID_UTF8);
    let r = bin.run(&[OsStr::new("key"), OsStr::new("rotate"), raw], "");
    assert_eq!(r.code, Some(2), "{}{}", r.stdout, r.stderr);
    // A profile that does not exist, named with every class.
    let r = bin.run_as(
        &h,
        &["key", "rotate", "alias/claims-costs", "--on-demand"],
        "",
    );
    // Refused by clap's value check (2) or when the profile is looked up (1).
    assert!(
        matches!(r.code, Some(1 | 2)),
        "{:?}: {}{}",
        r.code,
        r.stdout,
        r.stderr
    );
    assert_named("a profile that does not exist", &r.stderr);
    // Help and version stay clap's: stdout, exit 0.
    for flag in ["--help", "--version"] {
        let r = bin.run(&[flag], "");
        assert_eq!(r.code, Some(0), "{flag}: {}", r.stderr);
        assert!(r.stdout.contains("phi-console"), "{flag}: {}", r.stdout);
        assert!(r.stderr.is_empty(), "{flag}: {}", r.stderr);
    }
}

// ---- the audit log's commands ----------------------------------------------------------------

/// A log whose every text field holds every class of escape sequence (as an operator could
/// type it, or as AWS could return it), an unfinished intent, and a line of invalid UTF-8.
fn hostile_log(path: &std::path::Path) -> String {
    use phi_console::audit::{
        Action, AuditConfig, AuditLog, Confirmation, Intent, Reveal, SessionEvent, Where, Who, Why,
        guarded,
    };
    use serde_json::json;
    let h = hostile::all();
    let log = AuditLog::open(AuditConfig::new(path)).unwrap();
    let mut who =
        Who::from_os().with_aws(format!("arn:aws:sts::1:assumed-role/{h}"), Some(h.clone()));
    who.os_user = Some(h.clone());
    who.host = Some(h.clone());
    who.tty = Some(h.clone());
    who.ssh_client = Some(h.clone());
    log.set_context(who, Where::new(h.clone(), h.clone(), h.clone()));
    log.session(SessionEvent::Start, json!({ "mode": h }))
        .unwrap();
    let intent = || {
        Intent::new(
            Action::new(format!("kms:RotateKeyOnDemand{h}"))
                .target(format!("arn:aws:kms:us-east-1:1:key/{h}"))
                .param("description", h.clone()),
        )
        .why(Why::reason(h.clone()).ticket(h.clone()))
        .confirmed(Confirmation::typed_name(h.clone()))
    };
    let done = guarded(&log, intent(), |r| {
        r.request_id(h.clone());
        r.error_code(h.clone());
        r.message(h.clone());
        Err::<(), String>(h.clone())
    })
    .unwrap();
    assert!(done.result.is_err());
    done.outcome.unwrap();
    log.reveal(
        Reveal::message_body(Action::new("sqs:ReceiveMessage").target(h.clone()))
            .why(Why::reason(h.clone())),
    )
    .unwrap();
    // Left unfinished, as after a crash: verify lists it with its action and targets.
    let unfinished = log.intent(intent()).unwrap();
    drop(log);
    drop(unfinished);
    let mut data = std::fs::read(path).unwrap();
    data.extend_from_slice(hostile::INVALID_UTF8);
    data.push(b'\n');
    std::fs::write(path, data).unwrap();
    h
}

/// Runs `phi-console ARGS FILE` with no AWS configuration; both streams checked for escapes.
fn audit(args: &[&str], file: &std::path::Path, home: &std::path::Path) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(args)
        .arg(file)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let what = args.join(" ");
    assert_no_escape(&format!("{what} (stdout)"), &out.stdout);
    assert_no_escape(&format!("{what} (stderr)"), &out.stderr);
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Whether a string anywhere in `v` (keys included) holds `s`.
fn contains_string(v: &serde_json::Value, s: &str) -> bool {
    use serde_json::Value;
    match v {
        Value::String(x) => x.contains(s),
        Value::Array(a) => a.iter().any(|x| contains_string(x, s)),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k.contains(s) || contains_string(x, s)),
        _ => false,
    }
}

#[test]
fn hostile_text_in_an_audit_log_never_reaches_show_export_or_verify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit").join("claims.jsonl");
    let h = hostile_log(&path);
    for args in [
        &["audit", "show"][..],
        &["audit", "show", "--json"],
        &["audit", "export", "--format", "csv"],
        &["audit", "export", "--format", "json"],
        &["audit", "verify", "--offline"],
        &["audit", "verify", "--offline", "--json"],
    ] {
        let r = audit(args, &path, dir.path());
        let what = args.join(" ");
        assert!(r.code.is_some(), "{what} was killed: {}", r.stderr);
        if args.contains(&"--json") || args.contains(&"json") {
            // JSON keeps the data: what was planted parses back exactly.
            let values: Vec<serde_json::Value> = if args[1] == "show" {
                r.stdout
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect()
            } else {
                vec![
                    serde_json::from_str(&r.stdout)
                        .unwrap_or_else(|e| panic!("{what}: {e}\n{}", r.stdout)),
                ]
            };
            assert!(
                contains_string(&serde_json::Value::Array(values), &h),
                "{what}: the planted text is not in the JSON as it was:\n{}",
                r.stdout
            );
            assert!(
                r.stdout.contains("\\u001b]52;c;ZXZpbA=="),
                "{what}: {}",
                r.stdout
            );
        } else if args[1] == "verify" {
            // The unfinished intent is named by its (planted) action and targets.
            assert_shown(&what, &format!("{}{}", r.stdout, r.stderr));
        } else {
            assert_shown(&what, &r.stdout);
        }
        if args[1] == "show" && !args.contains(&"--json") {
            // One line per record: a newline in a field never starts a line.
            assert_eq!(r.stdout.lines().count(), 5, "{}", r.stdout);
        }
        if args[1] == "export" && args[3] == "csv" {
            // The header and one row per record.
            assert_eq!(r.stdout.lines().count(), 6, "{}", r.stdout);
        }
    }
}

#[test]
fn a_hostile_audit_file_name_is_not_echoed_raw() {
    let dir = tempfile::tempdir().unwrap();
    let name = hostile::all().replace(['\0', '/'], "");
    let path = dir.path().join(name);
    for args in [
        &["audit", "verify", "--offline"][..],
        &["audit", "show"],
        &["audit", "export"],
    ] {
        let r = audit(args, &path, dir.path());
        assert!(
            !matches!(r.code, Some(0) | None),
            "{args:?}: a missing file is an error: {}",
            r.stderr
        );
        assert_named(&format!("{args:?}"), &r.stderr);
    }
}
