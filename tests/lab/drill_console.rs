//! `:drill` in the console, through `update` and the runner against the emulator: the drill
//! shown once and confirmed once by typing its name with a reason, its progress as a task
//! line, its questions (a step-up MFA code when the restores outlast `step_up_minutes`, an
//! operator's verdict when a test has no check command) asked on screen, both reports and
//! the audit records; a verdict refused stops the drill with its state kept and the same
//! `:drill` resumes it without a second restore; read-only refuses before anything is read;
//! quitting mid-restore keeps the state and records the watch as stopped.

use crate::actions::Harness;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use phi_console::app::drill::DrillQuestion;
use phi_console::app::run::Incoming;
use phi_console::app::state::{Flash, MfaPurpose, Mode};
use phi_console::app::update::Msg;
use phi_console::drill::report::DrillReport;
use phi_console::emulator::scenario::claims::DEMO_MFA_SERIAL;
use phi_console::emulator::services::backup::RestoreBehaviour;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const ROLE: &str = "arn:aws:iam::123456789012:role/BackupRestoreRole";
const VAULT: &str = "claims-primary-vault";
const INTAKE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/claims-intake";
const DOCS: &str = "arn:aws:s3:::claims-documents";

/// A two-test runbook: the intake table checked by a command, the documents bucket by the
/// operator (no check command anywhere); both cleaned up by a command that logs the ARN.
fn runbook(dir: &Path, cleaned: &Path) -> PathBuf {
    let cleanup = format!(
        "cleanup_command = [\"/bin/sh\", \"-c\", \"echo $PHI_DRILL_RESOURCE_ARN >> {}\"]",
        cleaned.display()
    );
    let text = format!(
        "[drill]\nname = \"claims-tui\"\napproved_by = \"Dana Reyes\"\napproved_on = \"2026-11-20\"\n\n\
         [[test]]\nname = \"intake-table\"\nvault = \"{VAULT}\"\nresource_arn = \"{INTAKE}\"\nrto_minutes = 60\nrpo_minutes = 2880\n\
         validation_command = [\"/bin/sh\", \"-c\", \"test -n \\\"$PHI_DRILL_RESOURCE_ARN\\\"\"]\n{cleanup}\n\n\
         [[test]]\nname = \"documents-bucket\"\nvault = \"{VAULT}\"\nresource_arn = \"{DOCS}\"\nrto_minutes = 60\nrpo_minutes = 2880\n{cleanup}\n"
    );
    let p = dir.join("claims-tui.toml");
    std::fs::write(&p, text).unwrap();
    p
}

async fn harness(read_only: bool) -> Harness {
    let mut h = Harness::new(
        &format!("require_reason = true\nrestore_role_arn = \"{ROLE}\"\n"),
        read_only,
        None,
    )
    .await;
    h.runner.watch_every = Duration::from_millis(20);
    h.emu.with_world(|w| {
        w.backup.restore_behaviour = RestoreBehaviour {
            pending_seconds: 60,
            running_seconds: 240,
            ..Default::default()
        };
    });
    h
}

fn press(h: &mut Harness, c: KeyCode) {
    h.apply(Msg::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

fn type_now(h: &mut Harness, t: &str) {
    for c in t.chars() {
        press(h, KeyCode::Char(c));
    }
}

/// `:drill RUNBOOK DIR`, then the confirmation.
async fn open_drill(h: &mut Harness, rb: &Path, dir: &Path) {
    h.type_text(&format!(":drill {} {}", rb.display(), dir.display()))
        .await;
    h.key(KeyCode::Enter).await;
}

/// `:drill`, confirmed with the drill's name and `reason`.
async fn start_drill(h: &mut Harness, rb: &Path, dir: &Path, reason: &str) {
    open_drill(h, rb, dir).await;
    type_now(h, "claims-tui");
    press(h, KeyCode::Tab);
    type_now(h, reason);
    press(h, KeyCode::Enter);
}

/// Applies the runner's messages until the drill follows its first restore job (emulated time
/// stands still: it runs on).
async fn until_following(h: &mut Harness) {
    loop {
        let incoming = tokio::time::timeout(Duration::from_secs(30), h.rx.recv())
            .await
            .expect("progress")
            .expect("open");
        if let Incoming::Msg(m) = incoming {
            let following = matches!(&m, Msg::TaskProgress { line, .. } if line.contains("PENDING") || line.contains("RUNNING"));
            h.apply(m);
            if following {
                break;
            }
        }
    }
}

/// What the drill asked and how it ended.
#[derive(Default, Debug)]
struct Seen {
    codes: usize,
    verdicts: Vec<String>,
    progress: Vec<String>,
}

/// Feeds the runner's messages until the drill's task ends, moving emulated time at each
/// progress line and answering its questions: a fresh MFA code, and `verdict` (a key) to the
/// operator's question.
async fn until_drill_ended(
    h: &mut Harness,
    verdict: KeyCode,
    seen: &mut Seen,
) -> Result<String, String> {
    let start = std::time::Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the drill did not end: {:#?}",
            seen.progress
        );
        // Emulated time moves only while the drill waits (a restore job runs on), never
        // between a plan and its call.
        let incoming = match tokio::time::timeout(Duration::from_millis(100), h.rx.recv()).await {
            Ok(m) => m.expect("the runner's channel is open"),
            Err(_) => {
                h.emu.advance(Duration::from_secs(60));
                continue;
            }
        };
        let msg = match incoming {
            Incoming::Msg(m) => m,
            Incoming::Session(s, purpose) => h.runner.session_ready(*s, purpose),
            Incoming::Term(_) => continue,
        };
        if let Msg::TaskProgress { line, .. } = &msg {
            seen.progress.push(line.clone());
        }
        let ended = match &msg {
            Msg::TaskEnded { id, result } if id.starts_with("drill ") => Some(result.clone()),
            _ => None,
        };
        h.apply(msg);
        if let Some(r) = ended {
            return r;
        }
        match h.s.mode.clone() {
            Mode::Mfa {
                purpose: MfaPurpose::Drill,
                ..
            } => {
                seen.codes += 1;
                // A code is single-use: the next one is 30 s later.
                h.emu.advance(Duration::from_secs(30));
                let code = h.emu.totp(DEMO_MFA_SERIAL).unwrap();
                type_now(h, &code);
                press(h, KeyCode::Enter);
            }
            Mode::DrillVerdict { question } => {
                seen.verdicts.push(question);
                match verdict {
                    KeyCode::Esc => press(h, KeyCode::Esc),
                    c => press(h, c),
                }
            }
            _ => {}
        }
    }
}

fn audit_records(h: &Harness) -> Vec<serde_json::Value> {
    h.audit_text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn intents<'a>(records: &'a [serde_json::Value], action: &str) -> Vec<&'a serde_json::Value> {
    records
        .iter()
        .filter(|r| r["kind"] == "intent" && r["what"]["action"] == action)
        .collect()
}

fn report_in(dir: &Path) -> (PathBuf, DrillReport) {
    let json = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.to_string_lossy().ends_with(".state.json")
        })
        .expect("the JSON report");
    let r = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (json, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_from_the_console_asks_what_it_must_and_writes_both_reports() {
    let mut h = harness(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let cleaned = tmp.path().join("cleaned");
    let rb = runbook(tmp.path(), &cleaned);
    let reports = tmp.path().join("reports");
    let jobs_before = h.emu.with_world(|w| w.backup.restore_jobs.len());
    open_drill(&mut h, &rb, &reports).await;
    let form = match &h.s.mode {
        Mode::DrillConfirm(f) => f.clone(),
        other => panic!("no confirmation: {other:?} {:?}", h.s.flash),
    };
    let shown = form.offer.lines.join("\n");
    assert!(shown.contains("Drill claims-tui (2 restore tests), approved by Dana Reyes"));
    assert!(shown.contains("intake-table") && shown.contains("documents-bucket"));
    assert!(shown.contains(ROLE), "{shown}");
    // Enter on the reason with a wrong name and no reason: nothing starts, and it says why.
    type_now(&mut h, "claims");
    press(&mut h, KeyCode::Tab);
    press(&mut h, KeyCode::Enter);
    match &h.s.mode {
        Mode::DrillConfirm(f) => assert!(
            f.error.as_deref().unwrap_or("").contains("type claims-tui"),
            "{:?}",
            f.error
        ),
        other => panic!("{other:?}"),
    }
    press(&mut h, KeyCode::Tab);
    type_now(&mut h, "-tui");
    press(&mut h, KeyCode::Tab);
    press(&mut h, KeyCode::Enter);
    match &h.s.mode {
        Mode::DrillConfirm(f) => assert!(
            f.error.as_deref().unwrap_or("").contains("reason"),
            "{:?}",
            f.error
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        h.emu.with_world(|w| w.backup.restore_jobs.len()),
        jobs_before
    );
    type_now(&mut h, "Q4 DR drill");
    press(&mut h, KeyCode::Enter);
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    let mut seen = Seen::default();
    let ended = until_drill_ended(&mut h, KeyCode::Char('y'), &mut seen).await;
    let ended = ended.unwrap_or_else(|e| panic!("{e}\n{:#?}", seen.progress));
    assert!(
        ended.contains("drill claims-tui: passed (exit code 0)"),
        "{ended}"
    );
    assert!(h.s.drill_running.is_none() && h.s.tasks.is_empty());
    // The operator was asked about the bucket only (the table has its check command).
    assert_eq!(seen.verdicts.len(), 1, "{:?}", seen.verdicts);
    assert!(seen.verdicts[0].starts_with("documents-bucket: did the restored copy arn:aws:s3:::"));
    assert!(
        seen.codes >= 1,
        "emulated restores outlast step_up_minutes: a fresh code is asked"
    );
    assert!(
        seen.progress
            .iter()
            .any(|l| l.starts_with("[2/2] documents-bucket"))
    );

    // Both reports, private; the state file is gone.
    let (json, r) = report_in(&reports);
    let md = json.with_extension("md");
    for p in [&json, &md] {
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", p.display());
    }
    assert!(!reports.join("claims-tui.state.json").exists());
    assert_eq!(
        (r.exit_code, r.outcome.as_str(), r.resumed),
        (0, "passed", 0)
    );
    let methods: Vec<(&str, &str, bool)> = r
        .tests
        .iter()
        .map(|t| {
            let v = t.validation.as_ref().unwrap();
            (v.status.as_str(), v.method.as_str(), v.sent)
        })
        .collect();
    assert_eq!(
        methods,
        [
            ("SUCCESSFUL", "command", true),
            ("SUCCESSFUL", "operator", true)
        ]
    );
    assert!(std::fs::read_to_string(&md).unwrap().contains("claims-tui"));
    // Both copies cleaned up, by the command, with their ARNs.
    let cleaned = std::fs::read_to_string(&cleaned).unwrap();
    assert_eq!(cleaned.lines().count(), 2, "{cleaned}");
    // AWS Backup saw both validations.
    let validated: Vec<Option<String>> = h.emu.with_world(|w| {
        w.backup
            .restore_jobs
            .iter()
            .filter(|j| {
                j.restore_testing_plan_arn.is_none() && j.iam_role_arn.as_deref() == Some(ROLE)
            })
            .map(|j| j.validation_status.clone())
            .collect()
    });
    assert_eq!(
        validated,
        [Some("SUCCESSFUL".into()), Some("SUCCESSFUL".into())]
    );
    // Every action recorded with the drill in its reason, and the step-up in the log.
    let records = audit_records(&h);
    for (action, n) in [
        ("backup:StartRestoreJob", 2),
        ("backup:PutRestoreValidationResult", 2),
        ("local:RunCleanupCommand", 2),
    ] {
        let found = intents(&records, action);
        assert_eq!(found.len(), n, "{action}");
        for i in found {
            let reason = i["why"]["reason"].as_str().unwrap_or_default();
            assert!(
                reason.starts_with("Q4 DR drill [drill claims-tui"),
                "{action}: {i}"
            );
        }
    }
    assert!(
        records
            .iter()
            .any(|r| r["kind"] == "session" && r["event"] == "mfa_step_up"),
        "the drill's step-up is recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_verdict_stops_the_drill_and_the_same_drill_resumes_without_a_second_restore() {
    let mut h = harness(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(tmp.path(), &tmp.path().join("cleaned"));
    let reports = tmp.path().join("reports");
    start_drill(&mut h, &rb, &reports, "Q4 DR drill").await;
    let mut seen = Seen::default();
    let ended = until_drill_ended(&mut h, KeyCode::Esc, &mut seen).await;
    let e = ended.expect_err("stopped before its end");
    assert!(e.contains("incomplete (exit code 7)"), "{e}");
    assert!(e.contains("run the same :drill to resume"), "{e}");
    assert!(reports.join("claims-tui.state.json").exists());
    let restores = |h: &Harness| intents(&audit_records(h), "backup:StartRestoreJob").len();
    assert_eq!(restores(&h), 2);

    // The same :drill: RESUMING, the finished test kept, the bucket's restore not started
    // again; the verdict asked again.
    open_drill(&mut h, &rb, &reports).await;
    let shown = match &h.s.mode {
        Mode::DrillConfirm(f) => f.offer.lines.join("\n"),
        other => panic!("{other:?}"),
    };
    assert!(shown.contains("RESUMING"), "{shown}");
    assert!(shown.contains("[COMPLETED]"), "{shown}");
    type_now(&mut h, "claims-tui");
    press(&mut h, KeyCode::Tab);
    type_now(&mut h, "Q4 DR drill, resumed");
    press(&mut h, KeyCode::Enter);
    let mut seen = Seen::default();
    let ended = until_drill_ended(&mut h, KeyCode::Char('n'), &mut seen).await;
    let e = ended.expect_err("a copy the operator failed");
    assert!(e.contains("failed (exit code 5)"), "{e}");
    assert_eq!(seen.verdicts.len(), 1);
    assert!(
        seen.progress
            .iter()
            .any(|l| l.contains("intake-table: finished earlier")),
        "{:#?}",
        seen.progress
    );
    assert_eq!(restores(&h), 2, "no second restore");
    let (_, r) = report_in(&reports);
    assert_eq!(r.resumed, 1);
    let v = r.tests[1].validation.as_ref().unwrap();
    assert_eq!(
        (v.status.as_str(), v.method.as_str()),
        ("FAILED", "operator")
    );
    assert!(!reports.join("claims-tui.state.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_refuses_a_drill_before_the_runbook_is_read() {
    let mut h = harness(true).await;
    let tmp = tempfile::tempdir().unwrap();
    let reports = tmp.path().join("reports");
    open_drill(&mut h, &tmp.path().join("missing.toml"), &reports).await;
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    match &h.s.flash {
        Some(Flash::Error(e)) => assert!(
            e.contains("read-only mode") && e.contains("without --read-only"),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(!reports.exists(), "nothing was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runbook_that_cannot_run_is_explained_with_its_line() {
    let mut h = harness(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let rb = tmp.path().join("bad.toml");
    std::fs::write(
        &rb,
        "[drill]\nname = \"x\"\napproved_by = \"D\"\napproved_on = \"2026-11-20\"\ncolour = \"red\"\n",
    )
    .unwrap();
    open_drill(&mut h, &rb, &tmp.path().join("r")).await;
    assert!(matches!(h.s.mode, Mode::Normal), "{:?}", h.s.mode);
    match &h.s.flash {
        Some(Flash::Error(e)) => assert!(e.contains("bad.toml:5") && e.contains("colour"), "{e}"),
        other => panic!("{other:?}"),
    }
    // No runbook at all, and a usage slip, say what to type.
    open_drill(&mut h, &tmp.path().join("nope.toml"), &tmp.path().join("r")).await;
    match &h.s.flash {
        Some(Flash::Error(e)) => assert!(e.contains("nope.toml"), "{e}"),
        other => panic!("{other:?}"),
    }
    h.type_text(":drill").await;
    h.key(KeyCode::Enter).await;
    match &h.s.flash {
        Some(Flash::Error(e)) => assert!(e.contains(":drill needs a runbook"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quitting_mid_restore_keeps_the_drill_state_and_records_the_watch_stopped() {
    let mut h = harness(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(tmp.path(), &tmp.path().join("cleaned"));
    let reports = tmp.path().join("reports");
    start_drill(&mut h, &rb, &reports, "Q4 DR drill").await;
    // Until the first restore job is being followed (emulated time stands still: it runs on).
    until_following(&mut h).await;
    h.runner.shutdown().await;
    let state: DrillReport = serde_json::from_str(
        &std::fs::read_to_string(reports.join("claims-tui.state.json")).expect("state kept"),
    )
    .unwrap();
    assert!(state.tests[0].restore_job_id.is_some(), "{state:?}");
    let records = audit_records(&h);
    let intent = intents(&records, "backup:StartRestoreJob")[0]["id"].clone();
    let events: Vec<&str> = records
        .iter()
        .filter(|r| r["intent_id"] == intent && r["kind"] == "task")
        .filter_map(|r| r["event"].as_str())
        .collect();
    assert_eq!(events, ["start", "stopped"], "{records:#?}");
}

#[test]
fn a_drill_question_waits_for_a_free_screen() {
    use phi_console::app::keymap::Keymap;
    use phi_console::app::state::State;
    use phi_console::app::update::update;
    let mut s = State::new(
        chrono::Utc::now(),
        Keymap::default_keymap(),
        Default::default(),
    );
    s.mode = Mode::Help { scroll: 0 };
    update(
        &mut s,
        Msg::DrillAsks(DrillQuestion::Verdict("t: ok?".into())),
    );
    assert!(matches!(s.mode, Mode::Help { .. }), "the help stays");
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    assert_eq!(
        s.mode,
        Mode::DrillVerdict {
            question: "t: ok?".into()
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drill_confirmation_and_its_questions_render_clean() {
    let mut h = harness(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(tmp.path(), &tmp.path().join("cleaned"));
    open_drill(&mut h, &rb, &tmp.path().join("reports")).await;
    type_now(&mut h, "claims-tui");
    press(&mut h, KeyCode::Tab);
    let shown =
        crate::tui::render(&h.s, 120, 40).replace(&tmp.path().display().to_string(), "[TMP]");
    assert!(
        shown.contains("Type \"claims-tui\" to run the drill:"),
        "{shown}"
    );
    crate::tui::masked("drill_confirm_120x40", &shown);
    press(&mut h, KeyCode::Esc);
    assert!(matches!(h.s.mode, Mode::Normal));
    // A question carrying hostile bytes (a resource name from AWS) is drawn sanitised.
    h.apply(Msg::DrillAsks(DrillQuestion::Verdict(
        "docs: did the restored copy arn:aws:s3:::x\u{1b}[2J\u{7} pass your checks?".into(),
    )));
    let shown = crate::tui::render(&h.s, 120, 40);
    assert!(shown.contains("y: it passed"), "{shown}");
    assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'));
    crate::tui::masked("drill_verdict_120x40", &shown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_stop_stops_it_at_its_next_step_with_its_state_kept() {
    let mut h = harness(false).await;
    let tmp = tempfile::tempdir().unwrap();
    let rb = runbook(tmp.path(), &tmp.path().join("cleaned"));
    let reports = tmp.path().join("reports");
    h.type_text(":drill stop").await;
    h.key(KeyCode::Enter).await;
    assert!(
        matches!(&h.s.flash, Some(Flash::Error(e)) if e.contains("no drill is running")),
        "{:?}",
        h.s.flash
    );
    start_drill(&mut h, &rb, &reports, "Q4 DR drill").await;
    // Until the first restore job is followed; then `:drill stop` (typed while it runs).
    until_following(&mut h).await;
    type_now(&mut h, ":drill stop");
    press(&mut h, KeyCode::Enter);
    let mut seen = Seen::default();
    let e = until_drill_ended(&mut h, KeyCode::Char('y'), &mut seen)
        .await
        .expect_err("stopped");
    assert!(e.contains("incomplete (exit code 7)"), "{e}");
    assert!(e.contains("stopped by the operator (:drill stop)"), "{e}");
    assert!(reports.join("claims-tui.state.json").exists());
    assert_eq!(
        intents(&audit_records(&h), "backup:StartRestoreJob").len(),
        1,
        "the second test never started"
    );
}
