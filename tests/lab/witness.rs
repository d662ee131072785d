//! The audit log's witness outside the host, end to end against the emulator: the
//! `phi-console` binary writes a sealed log through a real MFA session (every seal a KMS
//! GenerateMac call that the emulator's CloudTrail records), and `audit verify --witness
//! cloudtrail` holds each tampered copy against CloudTrail: the tamperings that nothing in the
//! file can show (a cut tail, an emptied log, stripped seals, a log re-sealed with the
//! operator's own KMS access) are caught here.

use crate::common::*;
use phi_console::audit::{KmsSealer, Sealer, canonical::record_hash, canonical::to_canonical};
use phi_console::emulator::Emulator;
use phi_console::emulator::scenario::claims::{DEMO_ACCESS_KEY, DEMO_MFA_SERIAL};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The operator's identity, as CloudTrail and the log name it.
const OPERATOR: &str = "arn:aws:iam::123456789012:user/demo-operator";

struct Lab {
    emu: Emulator,
    dir: tempfile::TempDir,
    url: String,
}

impl Lab {
    fn new() -> Lab {
        let emu = claims();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // The operator (MFA, like the demo) and an auditor with its own keys.
        std::fs::write(
            d.join("config"),
            format!(
                "[profile demo]\nregion = us-east-1\nmfa_serial = {DEMO_MFA_SERIAL}\n\n[profile auditor]\nregion = us-east-1\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("credentials"),
            format!(
                "[demo]\naws_access_key_id = {DEMO_ACCESS_KEY}\naws_secret_access_key = demo\n\n[auditor]\naws_access_key_id = AKIATESTKEY\naws_secret_access_key = testsecret\n"
            ),
        )
        .unwrap();
        std::fs::write(
            d.join("settings.toml"),
            format!(
                "[defaults]\nrequire_reason = true\naudit_hmac_key = \"{}\"\n",
                phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS
            ),
        )
        .unwrap();
        let url = emu.endpoint_url();
        // Many verifications back to back: LookupEvents' quota of 2 a second would make each
        // wait (and the SDK back off) for nothing this test is about.
        emu.with_world(|w| w.trail.lookup_rate = 100.0);
        Lab { emu, dir, url }
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("audit").join("demo.jsonl")
    }

    /// Runs the binary with `input` on stdin; returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str], input: &str) -> (i32, String, String) {
        use std::io::Write;
        let d = self.dir.path();
        let mut c = isolated_binary(d);
        c.args(args)
            .args(["--endpoint-url", &self.url])
            .arg("--config")
            .arg(d.join("settings.toml"));
        let mut child = c.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(input.as_bytes());
        drop(stdin);
        let out = child.wait_with_output().unwrap();

        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// A fresh MFA code (the emulator refuses a code twice: the next time step).
    fn code(&self) -> String {
        self.emu.advance(std::time::Duration::from_secs(30));
        format!("{}\n", self.emu.totp(DEMO_MFA_SERIAL).unwrap())
    }

    /// A guarded action by the operator, as the CLI runs it: its session ends with a seal.
    fn act(&self, args: &[&str]) {
        let audit_dir = self.dir.path().join("audit");
        let mut all = vec!["key", "rotation", "alias/claims-costs"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[
            "--reason",
            "rotation finding F-12",
            "--yes-i-typed",
            "claims-costs",
            "--profile",
            "demo",
            "--audit-dir",
            audit_dir.to_str().unwrap(),
        ]);
        let (code, out, err) = self.run(&all, &self.code());
        assert_eq!(code, 0, "{out}{err}");
    }

    /// `audit verify FILE --witness cloudtrail` as the auditor.
    fn witness(&self, file: &Path, extra: &[&str]) -> (i32, String) {
        let mut args = vec![
            "audit",
            "verify",
            file.to_str().unwrap(),
            "--profile",
            "auditor",
            "--witness",
            "cloudtrail",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = self.run(&args, "");
        (code, format!("{out}{err}"))
    }
}

fn read_values(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn write_values(path: &Path, values: &[Value]) {
    let text: String = values
        .iter()
        .map(|v| to_canonical(v).unwrap() + "\n")
        .collect();
    std::fs::write(path, text).unwrap();
}

/// Renumbers, relinks and re-hashes every record (seal heads re-pointed, MACs untouched).
fn rehash_all(values: &mut [Value]) {
    let mut prev = phi_console::audit::GENESIS_HASH.to_string();
    for (i, v) in values.iter_mut().enumerate() {
        v["seq"] = json!(i as u64 + 1);
        v["prev_hash"] = json!(prev);
        if v["kind"] == "seal" {
            v["seal"]["head"] = json!(prev);
        }
        let h = record_hash(v).unwrap();
        v["hash"] = json!(h);
        prev = h;
    }
}

fn seals(v: &[Value]) -> Vec<usize> {
    v.iter()
        .enumerate()
        .filter(|(_, r)| r["kind"] == "seal")
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn cloudtrail_records_each_seal_under_its_request_id() {
    let lab = Lab::new();
    lab.act(&["--enable", "--period", "180"]);
    let v = read_values(&lab.log());
    let seal = &v[*seals(&v).last().unwrap()];
    let request = seal["seal"]["request_id"].as_str().unwrap().to_string();
    let key_arn = seal["seal"]["key_id"].as_str().unwrap().to_string();
    assert!(
        key_arn.starts_with("arn:aws:kms:us-east-1:123456789012:key/"),
        "{key_arn}"
    );
    // The GenerateMac call of the seal, as CloudTrail keeps it: the same request id, the key's
    // ARN as its resource, the caller; neither the message nor the MAC.
    let events = lab.emu.with_world(|w| {
        w.trail
            .events
            .iter()
            .filter(|e| e.event_name == "GenerateMac" && e.cloudtrail_event.contains(&request))
            .map(|e| (e.resources.clone(), e.cloudtrail_event.clone()))
            .collect::<Vec<_>>()
    });
    assert_eq!(events.len(), 1, "{events:?}");
    let (resources, raw) = &events[0];
    assert_eq!(resources, &[("AWS::KMS::Key".to_string(), key_arn.clone())]);
    let ev: Value = serde_json::from_str(raw).unwrap();
    assert_eq!(ev["requestID"], request.as_str());
    assert_eq!(ev["eventSource"], "kms.amazonaws.com");
    assert_eq!(ev["userIdentity"]["arn"], OPERATOR);
    assert_eq!(ev["requestParameters"]["macAlgorithm"], "HMAC_SHA_256");
    assert_eq!(
        ev["requestParameters"]["message"],
        "HIDDEN_DUE_TO_SECURITY_REASONS"
    );
    assert!(ev["responseElements"].is_null(), "{ev}");
    assert!(!raw.contains(seal["seal"]["mac"].as_str().unwrap()));
    let t = chrono::DateTime::parse_from_rfc3339(ev["eventTime"].as_str().unwrap()).unwrap();
    let st = chrono::DateTime::parse_from_rfc3339(seal["time"].as_str().unwrap()).unwrap();
    assert!((st - t).num_seconds().abs() < 60, "{t} vs {st}");
}

#[test]
fn the_cloudtrail_witness_catches_what_the_file_cannot_show() {
    let lab = Lab::new();
    // Two CLI sessions, each ending with a seal.
    lab.act(&["--enable", "--period", "180"]);
    lab.act(&["--disable"]);
    let good = read_values(&lab.log());
    assert_eq!(seals(&good).len(), 2, "{good:#?}");
    let copy = lab.dir.path().join("copy.jsonl");

    // Intact: every seal confirmed, no other seal call.
    let (code, out) = lab.witness(&lab.log(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("witness (CloudTrail): 2 of 2 seal(s) confirmed"),
        "{out}"
    );
    assert!(
        out.contains("other identities were not held against this log"),
        "{out}"
    );

    let mut caught = 0;
    let mut check = |name: &str, v: &[Value], file_alone: i32, says: &str| {
        write_values(&copy, v);
        // What the file alone says (offline: the chain; 3 means "intact, seals unchecked").
        let (c, o, e) = lab.run(
            &["audit", "verify", copy.to_str().unwrap(), "--offline"],
            "",
        );
        assert_eq!(c, file_alone, "{name}: {o}{e}");
        // The auditor names whose log it is (a tampered log may no longer name its writer), and
        // looks at the last hour only (LookupEvents answers 2 requests a second).
        let (code, out) = lab.witness(
            &copy,
            &["--witness-identity", OPERATOR, "--witness-since", "1h"],
        );
        assert_eq!(code, 1, "{name}: the witness missed it\n{out}");
        assert!(out.contains(says), "{name}: {says:?} not in\n{out}");
        caught += 1;
    };

    // A cut tail: the second session, seal included, removed. The file is a valid log.
    let first_session = seals(&good)[0] + 1;
    check("cut tail", &good[..first_session], 3, "a cut tail");
    // The whole log emptied.
    check("empty the log", &[], 3, "a cut tail");
    // Every seal stripped, the chain recomputed.
    let mut v = good.clone();
    v.retain(|r| r["kind"] != "seal");
    rehash_all(&mut v);
    check(
        "strip every seal",
        &v,
        3,
        "CloudTrail shows a seal that is not in this log",
    );
    // A seal whose request id was made up (the real call is then unexplained, too).
    let mut v = good.clone();
    let last = *seals(&v).last().unwrap();
    v[last]["seal"]["request_id"] = json!("00000000-0000-4000-8000-000000000000");
    rehash_all(&mut v);
    check(
        "forge a seal's request id",
        &v,
        3,
        "a seal that is not in this log",
    );
    // A seal that claims the request of the other seal.
    let mut v = good.clone();
    let s = seals(&v);
    v[s[1]]["seal"]["request_id"] = v[s[0]]["seal"]["request_id"].clone();
    rehash_all(&mut v);
    check("copy a seal's request id", &v, 3, "is a copy");
    // A seal without its request id.
    let mut v = good.clone();
    v[last]["seal"]
        .as_object_mut()
        .unwrap()
        .remove("request_id");
    rehash_all(&mut v);
    check(
        "drop a seal's request id",
        &v,
        3,
        "carries no GenerateMac request id",
    );
    // The last seal's time moved back an hour (its own fields are not under any MAC).
    let mut v = good.clone();
    let t = chrono::DateTime::parse_from_rfc3339(v[last]["time"].as_str().unwrap()).unwrap()
        - chrono::Duration::hours(1);
    v[last]["time"] = json!(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    rehash_all(&mut v);
    check(
        "make a seal's time lie",
        &v,
        3,
        "at another time than it claims",
    );

    // The operator rewrites the log and re-seals it with their own KMS access (GenerateMac is
    // theirs to call): every seal verifies with the key, so the file and KMS are satisfied;
    // CloudTrail still holds the original seals' calls.
    let mut v = good.clone();
    v[1]["why"]["reason"] = json!("approved by the CISO");
    rehash_all(&mut v);
    let cfg = config_with(&lab.emu, DEMO_ACCESS_KEY, "demo", None);
    let kms = KmsSealer::from_config(
        &cfg,
        phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS,
    )
    .unwrap();
    let mut prev = phi_console::audit::GENESIS_HASH.to_string();
    for r in v.iter_mut() {
        r["prev_hash"] = json!(prev);
        if r["kind"] == "seal" {
            let g = kms
                .generate(&phi_console::audit::seal_message(&prev))
                .unwrap();
            use base64::Engine as _;
            r["seal"]["head"] = json!(prev);
            r["seal"]["mac"] = json!(base64::engine::general_purpose::STANDARD.encode(g.mac));
            r["seal"]["request_id"] = json!(g.request_id.unwrap());
        }
        let h = record_hash(r).unwrap();
        r["hash"] = json!(h);
        prev = h;
    }
    write_values(&copy, &v);
    let (code, out, err) = lab.run(
        &[
            "audit",
            "verify",
            copy.to_str().unwrap(),
            "--profile",
            "auditor",
        ],
        "",
    );
    assert_eq!(
        code, 0,
        "re-sealed with KMS, the file and its seals pass:\n{out}{err}"
    );
    check(
        "rewrite and re-seal through KMS",
        &v,
        3,
        "within the log's span: the log was rewritten",
    );
    assert_eq!(caught, 8);

    // The re-seal itself left evidence: held against CloudTrail now, even the genuine log
    // shows seal calls that are not in it (the witness cannot tell which copy is the real one;
    // it can tell that someone sealed something else).
    let (code, out) = lab.witness(&lab.log(), &["--witness-since", "1h"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a seal that is not in this log"), "{out}");
}

/// An auditor who names no writer holds the log against the writers its records name, and a
/// rewrite chooses those: seals stripped and every `caller_arn` rewritten to someone who never
/// sealed must not pass, nor a log re-sealed by a second identity that it names.
#[test]
fn a_log_rewritten_to_name_another_writer_does_not_pass_the_witness() {
    let lab = Lab::new();
    // A real auditor: the lab's `auditor` profile signs in with a key the emulator does not
    // know, which makes it the default user, the operator itself.
    lab.emu.with_world(|w| {
        w.add_user("auditor");
        w.iam
            .keys
            .insert("AKIAAUDITOR000000001".into(), "auditor".into());
    });
    let creds = lab.dir.path().join("credentials");
    let text = std::fs::read_to_string(&creds).unwrap();
    std::fs::write(&creds, text.replace("AKIATESTKEY", "AKIAAUDITOR000000001")).unwrap();
    lab.act(&["--enable", "--period", "180"]);
    lab.act(&["--disable"]);
    let good = read_values(&lab.log());
    let copy = lab.dir.path().join("copy.jsonl");
    // The intact log, verified by an auditor who names nobody: CloudTrail shows another
    // identity's seal calls (the scenario's alice), which could be this log's writer's, so the
    // witness cannot confirm it (4); named, it is confirmed (0).
    let (code, out) = lab.witness(&lab.log(), &["--witness-since", "1h"]);
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("identities held against this log: arn:aws:iam::123456789012:user/auditor"),
        "{out}"
    );
    assert!(
        out.contains("ClaimsOperator/alice, whom this log does not name"),
        "{out}"
    );
    let (code, out) = lab.witness(
        &lab.log(),
        &["--witness-identity", OPERATOR, "--witness-since", "1h"],
    );
    assert_eq!(code, 0, "{out}");

    let rename = |v: &mut Vec<Value>, who: &str| {
        for r in v.iter_mut() {
            if r["who"]["caller_arn"].is_string() {
                r["who"]["caller_arn"] = json!(who);
            }
        }
    };
    let mut v = good.clone();
    v.retain(|r| r["kind"] != "seal");
    rename(&mut v, "arn:aws:iam::123456789012:user/nobody");
    rehash_all(&mut v);
    write_values(&copy, &v);
    let (code, out) = lab.witness(&copy, &["--witness-since", "1h"]);
    assert_ne!(
        code, 0,
        "stripped and renamed, the witness passed it:\n{out}"
    );
    assert!(
        out.contains(OPERATOR) && out.contains("--witness-identity"),
        "{out}"
    );
    // Named, the operator's calls are held against it: a failure.
    let (code, out) = lab.witness(
        &copy,
        &["--witness-identity", OPERATOR, "--witness-since", "1h"],
    );
    assert_eq!(code, 1, "{out}");
}

#[test]
fn verify_asks_for_the_mfa_code_of_an_mfa_profile() {
    let lab = Lab::new();
    lab.act(&["--enable", "--period", "180"]);
    let log = lab.log();
    let file = log.to_str().unwrap();
    // The operator verifies their own log: the MFA code is asked (here on stdin) and the seals
    // are checked with KMS; the witness uses the same session.
    let code = lab.code();
    let (status, out, err) = lab.run(
        &[
            "audit",
            "verify",
            file,
            "--profile",
            "demo",
            "--witness",
            "cloudtrail",
        ],
        &code,
    );
    assert_eq!(status, 0, "{out}{err}");
    assert!(
        err.contains("MFA code for arn:aws:iam::123456789012:mfa/demo-operator"),
        "{err}"
    );
    assert!(out.contains("1 valid, 0 bad"), "{out}");
    assert!(out.contains("1 of 1 seal(s) confirmed"), "{out}");
    // No code: the seals cannot be checked, and that fails.
    let (status, out, err) = lab.run(&["audit", "verify", file, "--profile", "demo"], "");
    assert_eq!(status, 1, "{out}{err}");
    assert!(
        out.contains("seal not verified") && out.contains("no MFA code"),
        "{out}{err}"
    );
    // Without FILE, the profile's log where the console writes it (here its `audit_dir`).
    let settings = lab.dir.path().join("settings.toml");
    let text = std::fs::read_to_string(&settings).unwrap();
    let dir = log.parent().unwrap().display().to_string();
    std::fs::write(
        &settings,
        text.replace(
            "[defaults]\n",
            &format!("[defaults]\naudit_dir = \"{dir}\"\n"),
        ),
    )
    .unwrap();
    let (status, out, err) = lab.run(&["audit", "verify", "--profile", "demo", "--offline"], "");
    assert_eq!(status, 3, "{out}{err}");
    assert!(
        out.contains(&format!("audit log {file}: 5 record(s)")),
        "{out}"
    );
}

/// The SNS witness: each seal's notice reaches a queue subscribed to the profile's
/// `audit_witness_topic`, with the seal's seq, chain head and hash, and nothing of the records.
#[test]
fn every_seal_is_published_to_the_witness_topic() {
    let lab = Lab::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cfg = config(&lab.emu);
    let sns = aws_sdk_sns::Client::new(&cfg);
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let (topic, queue_url) = rt.block_on(async {
        let topic = sns
            .create_topic()
            .name("audit-witness")
            .send()
            .await
            .unwrap()
            .topic_arn()
            .unwrap()
            .to_string();
        let url = sqs
            .create_queue()
            .queue_name("audit-witness-copy")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        (topic, url)
    });
    std::fs::write(
        lab.dir.path().join("settings.toml"),
        format!(
            "[defaults]\nrequire_reason = true\naudit_hmac_key = \"{}\"\naudit_witness_topic = \"{topic}\"\n",
            phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS
        ),
    )
    .unwrap();
    lab.act(&["--enable", "--period", "180"]);
    lab.act(&["--disable"]);

    let log = read_values(&lab.log());
    let sealed: Vec<&Value> = log.iter().filter(|r| r["kind"] == "seal").collect();
    assert_eq!(sealed.len(), 2);
    let messages = rt.block_on(async {
        let mut all = Vec::new();
        while all.len() < 2 {
            let out = sqs
                .receive_message()
                .queue_url(&queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(2)
                .send()
                .await
                .unwrap();
            let got = out.messages();
            assert!(!got.is_empty(), "the notices did not arrive: {all:?}");
            all.extend(got.iter().map(|m| m.body().unwrap().to_string()));
        }
        all
    });
    assert_eq!(messages.len(), 2, "{messages:?}");
    for (body, seal) in messages.iter().zip(&sealed) {
        let n: Value = serde_json::from_str(body).unwrap();
        assert_eq!(n["kind"], "phi-console-audit-seal");
        assert_eq!(n["log"], "demo.jsonl");
        assert_eq!(n["seq"], seal["seq"]);
        assert_eq!(n["hash"], seal["hash"]);
        assert_eq!(n["head"], seal["seal"]["head"]);
        assert_eq!(n["key_id"], seal["seal"]["key_id"]);
        assert_eq!(n["request_id"], seal["seal"]["request_id"]);
        assert_eq!(n["time"], seal["time"]);
        // Nothing of the records: no reason, no target, no caller.
        for secret in [
            "rotation finding",
            "claims-costs",
            "demo-operator",
            "intent",
        ] {
            assert!(!body.contains(secret), "{secret:?} in the notice: {body}");
        }
    }
}

/// The console (the runner behind the TUI) seals off its draw loop, after its records and at
/// the end of the session, and its log verifies with the seal key and against CloudTrail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_seals_each_session_and_its_end() {
    use phi_console::app::run::{Context, Incoming, Runner, channel};
    use phi_console::app::state::MfaPurpose;
    use phi_console::app::update::{Effect, Msg};
    use phi_console::session::{OpenOptions, ResolvedProfile};
    let lab = Lab::new();
    let audit_dir = lab.dir.path().join("audit");
    let settings = phi_console::session::settings::SettingsFile::parse(
        &format!(
            "[defaults]\naudit_dir = \"{}\"\naudit_hmac_key = \"{}\"\n",
            audit_dir.display(),
            phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS
        ),
        "t.toml",
    )
    .unwrap();
    let demo = ResolvedProfile::with_static_keys(
        "demo",
        REGION,
        Some(lab.url.clone()),
        DEMO_ACCESS_KEY,
        "demo",
        Some(DEMO_MFA_SERIAL),
    );
    let mut options = OpenOptions::new("jdoe");
    options.attempts = 1;
    options.now = lab.emu.now_fn();
    let (tx, mut rx) = channel();
    let mut runner = Runner::new(
        tx,
        Context {
            profiles: None,
            settings,
            options,
            force_read_only: false,
            initial: demo,
            demo_code: None,
        },
    );
    async fn next_msg(
        rx: &mut tokio::sync::mpsc::UnboundedReceiver<Incoming>,
        runner: &mut Runner,
    ) -> Msg {
        match tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("a message")
            .expect("open channel")
        {
            Incoming::Msg(m) => m,
            Incoming::Session(s, purpose) => runner.session_ready(*s, purpose),
            Incoming::Term(_) => panic!("no terminal here"),
        }
    }
    runner.start();
    let m = next_msg(&mut rx, &mut runner).await;
    assert!(matches!(&m, Msg::AskCode(_)), "{m:?}");
    runner.execute(Effect::Authenticate {
        purpose: MfaPurpose::Login {
            profile: "demo".into(),
        },
        code: lab.code().trim().to_string(),
    });
    let Msg::SessionOpened { info, .. } = next_msg(&mut rx, &mut runner).await else {
        panic!("not opened")
    };
    assert!(info.audit_error.is_none(), "{:?}", info.audit_error);
    // The writer seals once the records asked are written (one seal covers a burst): wait
    // for the start's seal, so the idle lock is a record of its own to seal.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(lab.log())
        .unwrap_or_default()
        .contains("\"kind\":\"seal\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the start was never sealed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    runner.execute(Effect::RecordIdleLock);
    runner.shutdown().await;

    let log = lab.log();
    let v = read_values(&log);
    let kinds: Vec<String> = v
        .iter()
        .map(|r| {
            format!(
                "{}{}",
                r["kind"].as_str().unwrap(),
                r["event"]
                    .as_str()
                    .map(|e| format!(":{e}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    // Every record is followed by a seal sooner or later, and the session's end by one at once.
    assert_eq!(
        kinds.first().map(String::as_str),
        Some("session:start"),
        "{kinds:?}"
    );
    assert_eq!(
        &kinds[kinds.len() - 2..],
        ["session:end", "seal"],
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|k| *k == "seal").count() >= 2,
        "{kinds:?}"
    );
    assert!(
        !kinds.windows(2).any(|w| w[0] == "seal" && w[1] == "seal"),
        "{kinds:?}"
    );
    let (code, out) = lab.witness(&log, &[]);
    assert_eq!(code, 0, "{out}");
}
