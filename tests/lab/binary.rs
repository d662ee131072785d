//! The real binary: `phi-console emulator serve` runs the claims scenario standalone, the aws CLI
//! lists its queues, keys, vaults and events, and `emulator totp` prints a code STS accepts; its
//! restore testing plan runs when the clock is stepped, and the control endpoint cleans up.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Served(Child);
impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(extra: &[&str]) -> (Served, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["emulator", "serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start phi-console emulator serve");
    let stdout = child.stdout.take().unwrap();
    let mut reader = BufReader::new(stdout);
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    // Keep draining stdout so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let url = first.trim().rsplit(' ').next().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "unexpected first line: {first}"
    );
    (Served(child), url)
}

#[test]
fn standalone_emulator_serves_the_claims_account_to_the_aws_cli() {
    let (_served, url) = serve(&[]);
    let q = aws_json(&url, &["sqs", "list-queues"]);
    assert_eq!(q["QueueUrls"].as_array().unwrap().len(), 10);
    let k = aws_json(&url, &["kms", "list-aliases"]);
    assert!(
        k["Aliases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["AliasName"] == "alias/claims-patient-details")
    );
    let v = aws_json(&url, &["backup", "list-backup-vaults"]);
    assert_eq!(v["BackupVaultList"].as_array().unwrap().len(), 2);
    let e = aws_json(
        &url,
        &[
            "cloudtrail",
            "lookup-events",
            "--max-results",
            "5",
            "--no-paginate",
        ],
    );
    assert_eq!(e["Events"].as_array().unwrap().len(), 5);

    // The demo MFA code from the running emulator opens an MFA session.
    let out = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["emulator", "totp", "--endpoint-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let code = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert_eq!(code.len(), 6, "{code}");
    let (status, body, err) = run_aws(
        &url,
        &[
            "sts",
            "get-session-token",
            "--serial-number",
            "arn:aws:iam::123456789012:mfa/demo-operator",
            "--token-code",
            &code,
        ],
        "AKIADEMOOPERATOR0001",
    );
    assert_eq!(status, 0, "{err}");
    assert!(body.contains("SessionToken"));
}

#[test]
fn standalone_restore_testing_runs_on_stepped_time_and_cleans_up() {
    // A stopped clock, stepped over the control endpoint: within a week the claims restore
    // testing plan runs once (Sunday 06:00 UTC) and restores the intake table and the payments
    // database.
    let (_served, url) = serve(&["--clock-scale", "0"]);
    let plan = aws_json(
        &url,
        &[
            "backup",
            "get-restore-testing-plan",
            "--restore-testing-plan-name",
            "claims-weekly-restore-test",
        ],
    );
    let plan_arn = plan["RestoreTestingPlan"]["RestoreTestingPlanArn"]
        .as_str()
        .unwrap()
        .to_string();
    let jobs = |url: &str| {
        let v = aws_json(
            url,
            &[
                "backup",
                "list-restore-jobs",
                "--by-restore-testing-plan-arn",
                &plan_arn,
            ],
        );
        v["RestoreJobs"].as_array().unwrap().clone()
    };
    assert_eq!(jobs(&url).len(), 1, "the seeded history");
    let (status, _) = control_http(&url, "POST", "/_emulator/clock/advance?seconds=604800");
    assert_eq!(status, 200);
    let mut now = jobs(&url);
    assert_eq!(now.len(), 3, "{now:?}");
    if now.iter().any(|j| j["Status"] != "COMPLETED") {
        // The run was in the last 16 minutes: let the restores finish (the next run is a week
        // after this one).
        control_http(&url, "POST", "/_emulator/clock/advance?seconds=1200");
        now = jobs(&url);
    }
    let (status, listed) = control_http(&url, "GET", "/_emulator/restored-resources");
    assert_eq!(status, 200);
    let restored = listed["RestoredResources"].as_array().unwrap();
    // Both restores finished; the table's 4-hour window may have ended too.
    let db = restored
        .iter()
        .filter_map(|r| r["ResourceArn"].as_str())
        .find(|a| a.starts_with("arn:aws:rds:"));
    let finished: Vec<&serde_json::Value> = now
        .iter()
        .filter(|j| j["Status"] == "COMPLETED" && j["CreatedBy"].is_object())
        .collect();
    assert_eq!(finished.len(), 3);
    let job = now
        .iter()
        .find(|j| j["ResourceType"] == "RDS")
        .expect("an RDS restore test");
    let id = job["RestoreJobId"].as_str().unwrap();
    let meta = aws_json(
        &url,
        &["backup", "get-restore-job-metadata", "--restore-job-id", id],
    );
    let created = job["CreatedResourceArn"].as_str().unwrap();
    assert!(
        created.ends_with(meta["Metadata"]["DBInstanceIdentifier"].as_str().unwrap()),
        "{created}"
    );
    // Within its 24-hour window the database still exists: a cleanup removes it by ARN.
    if let Some(db) = db {
        assert_eq!(db, created);
        let (status, v) = control_http(
            &url,
            "DELETE",
            &format!("/_emulator/restored-resources/{}", url_encode(db)),
        );
        assert_eq!((status, v["Deleted"].as_str()), (200, Some(db)));
    }
    // Two days later every window has ended and the restore tests deleted the rest.
    control_http(&url, "POST", "/_emulator/clock/advance?seconds=172800");
    let (_, listed) = control_http(&url, "GET", "/_emulator/restored-resources");
    assert_eq!(listed["RestoredResources"], serde_json::json!([]));
    for j in jobs(&url) {
        assert_eq!(j["DeletionStatus"], "SUCCESSFUL", "{j}");
    }
    let (status, v) = control_http(&url, "DELETE", "/_emulator/restored-resources/arn%3Anope");
    assert_eq!(status, 404);
    assert!(v["error"].as_str().unwrap().contains("arn:nope"));
}

#[test]
fn bad_arguments_are_clear_errors() {
    let out = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["emulator", "serve", "--faults", "/nonexistent/faults.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/faults.toml"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_phi-console"))
        .args(["emulator", "totp", "--endpoint-url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the emulator"));
}

/// Like bottom's config tests: the real binary on invalid inputs, checking the words it says.
#[test]
fn invalid_configs_name_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let aws = dir.path().join("aws-config");
    let run = |args: &[&str], aws_config: &str, settings: Option<&str>| {
        std::fs::write(&aws, aws_config).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_phi-console"));
        cmd.args(args)
            .env("HOME", dir.path())
            .env("AWS_CONFIG_FILE", &aws)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
            .env_remove("AWS_PROFILE")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XDG_STATE_HOME");
        if let Some(text) = settings {
            let p = dir.path().join("config.toml");
            std::fs::write(&p, text).unwrap();
            cmd.arg("--config").arg(&p);
        }
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(
        &["--profile", "prod"],
        "[profile prod\nregion = us-east-1\n",
        None,
    );
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read the AWS config files"), "{err}");
    let (code, err) = run(
        &["--profile", "prod"],
        "[profile dev]\nregion = us-east-1\n",
        None,
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("profile 'prod' is not in the AWS config files") && err.contains("dev"),
        "{err}"
    );
    let (_, err) = run(
        &["--profile", "dev"],
        "[profile dev]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/R\nsource_profile = ghost\n",
        None,
    );
    assert!(err.contains("source_profile 'ghost'"), "{err}");
    let (code, err) = run(
        &["--profile", "dev"],
        "[profile dev]\nregion = us-east-1\n",
        Some("[defaults]\nidle_lock = 5\n"),
    );
    assert_eq!(code, Some(1));
    assert!(
        err.contains("config.toml:2") && err.contains("idle_lock"),
        "{err}"
    );
    let (_, err) = run(&["--demo", "--theme", "neon"], "", None);
    assert!(err.contains("theme 'neon' not found"), "{err}");
}
