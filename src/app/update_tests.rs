//! `update` driven by keys and messages, with no emulator and no terminal: action keys bound
//! per view, the idle lock, stale answers dropped.

use super::keymap::Keymap;
use super::state::{Flash, Kind, MfaPurpose, Mode, SessionInfo, State, View};
use super::update::{Effect, Msg, Payload, update};
use crate::cloud::kms::Key;
use crate::theme::Theme;
use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

const KEY_ARN: &str = "arn:aws:kms:us-east-1:123456789012:key/k1";

use super::test_support::now;

fn info(read_only: bool) -> SessionInfo {
    SessionInfo {
        read_only,
        ..super::test_support::session_info(now())
    }
}

fn kms_key() -> Key {
    crate::cloud::kms::sample_key()
}

/// Signed in with `keymap`, on `view`, with one KMS key and one queue loaded.
fn on(view: View, read_only: bool, keymap: Keymap) -> State {
    let mut s = State::new(now(), keymap, Theme::default());
    s.session = Some(info(read_only));
    s.view = view;
    for (kind, payload) in [
        (Kind::Keys, Payload::Keys(vec![kms_key()])),
        (
            Kind::Queues,
            Payload::Queues(vec![crate::cloud::sqs::Queue::pending(
                "http://127.0.0.1:1/123456789012/claims-intake",
                "us-east-1",
            )]),
        ),
    ] {
        let st = s.data.status.entry(kind).or_default();
        st.generation += 1;
        let generation = st.generation;
        update(
            &mut s,
            Msg::Loaded {
                kind,
                generation,
                payload,
            },
        );
    }
    s
}

fn press(s: &mut State, c: char) -> Vec<Effect> {
    update(
        s,
        Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn planned_request(fx: &[Effect]) -> Option<&crate::guard::Request> {
    fx.iter().find_map(|e| match e {
        Effect::Plan(r) => Some(r),
        _ => None,
    })
}

#[test]
fn each_action_key_starts_its_own_action_on_the_keys_view() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    let fx = press(&mut s, 'R');
    assert_eq!(
        planned_request(&fx),
        Some(&crate::guard::Request::rotate_now(KEY_ARN))
    );
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    let fx = press(&mut s, 'D');
    assert_eq!(
        planned_request(&fx),
        Some(&crate::guard::Request::disable_rotation(KEY_ARN))
    );
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    assert!(press(&mut s, 'A').is_empty(), "the period is asked first");
    assert!(
        matches!(&s.mode, Mode::Form(f) if f.target == KEY_ARN && f.spec.id == "kms.enable_rotation")
    );
}

/// A key bound on one view never starts an action on another: on the queues view R, A and D
/// do nothing at all (no plan, no form).
#[test]
fn action_keys_of_one_view_do_nothing_on_another() {
    for view in View::ALL {
        if view == View::Keys {
            continue;
        }
        let mut s = on(view, false, Keymap::default_keymap());
        for c in ['R', 'A', 'D'] {
            let fx = press(&mut s, c);
            assert!(
                planned_request(&fx).is_none(),
                "{view:?}: {c} planned {fx:?}"
            );
            assert_eq!(s.mode, Mode::Normal, "{view:?}: {c}");
            assert!(s.acting.is_none());
        }
    }
}

#[test]
fn read_only_sessions_have_no_action_keys() {
    let mut s = on(View::Keys, true, Keymap::default_keymap());
    for c in ['R', 'A', 'D'] {
        let fx = press(&mut s, c);
        assert!(planned_request(&fx).is_none(), "{c}: {fx:?}");
        assert_eq!(s.mode, Mode::Normal);
    }
}

#[test]
fn a_user_keymap_rebinds_an_action_on_its_view_only() {
    let mut k = Keymap::default_keymap();
    k.merge("[actions.keys]\nrotate_now = [\"X\"]\n", "user.toml")
        .unwrap();
    let mut s = on(View::Keys, false, k.clone());
    assert!(
        planned_request(&press(&mut s, 'R')).is_none(),
        "R is unbound now"
    );
    let mut s = on(View::Keys, false, k.clone());
    assert_eq!(
        planned_request(&press(&mut s, 'X')).map(|r| r.spec.id),
        Some("kms.rotate_now")
    );
    let mut s = on(View::Queues, false, k);
    assert!(planned_request(&press(&mut s, 'X')).is_none());
    // Older files: a flat [actions] table rebinds the action wherever it is offered.
    let mut k = Keymap::default_keymap();
    k.merge("[actions]\ndisable_rotation = [\"Z\"]\n", "old.toml")
        .unwrap();
    let mut s = on(View::Keys, false, k);
    assert_eq!(
        planned_request(&press(&mut s, 'Z')).map(|r| r.spec.id),
        Some("kms.disable_rotation")
    );
}

#[test]
fn keymap_mistakes_about_actions_name_the_fix() {
    let err = |text: &str| {
        Keymap::default_keymap()
            .merge(text, "u.toml")
            .unwrap_err()
            .to_string()
    };
    let e = err("[actions.queues]\nrotate_now = [\"R\"]\n");
    assert!(e.contains("this view offers: none"), "{e}");
    let e = err("[actions.nope]\nrotate_now = [\"R\"]\n");
    assert!(
        e.contains("no view is called nope") && e.contains("keys"),
        "{e}"
    );
    let e = err("[actions.keys]\nfly = [\"R\"]\n");
    assert!(
        e.contains("unknown action 'fly'") && e.contains("rotate_now"),
        "{e}"
    );
    let e = err("[actions]\nfly = [\"R\"]\n");
    assert!(e.contains("[actions.VIEW]"), "{e}");
    let e = err("[actions.keys]\nrotate_now = \"R\"\n");
    assert!(e.contains("list of keys"), "{e}");
    let e = err("[actions.keys]\nrotate_now = [\"r\"]\n");
    assert!(e.contains("'r' is already") && e.contains("refresh"), "{e}");
    let e = err("[actions.keys]\nrotate_now = [\"3\"]\n");
    assert!(e.contains("numbered link"), "{e}");
    // Freeing the key in [browse] first makes it usable.
    let mut k = Keymap::default_keymap();
    k.merge(
        "[browse]\nrefresh = [\"ctrl-r\"]\n[actions.keys]\nrotate_now = [\"r\"]\n",
        "u.toml",
    )
    .unwrap();
    let e = err("[actions.keys]\nrotate_now = [\"hyper-r\"]\n");
    assert!(e.contains("unknown key 'hyper-r'"), "{e}");
}

/// When an action finishes, what its binding names is reloaded (rotation: the keys).
#[test]
fn a_finished_action_reloads_what_its_view_declared() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    press(&mut s, 'R');
    s.mode = Mode::Running {
        summary: "rotating".into(),
    };
    let fx = update(&mut s, Msg::ActionDone(Ok("done".into())));
    let kinds: Vec<Kind> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::Load { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [Kind::Keys]);
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.acting.is_none());
}

#[test]
fn the_idle_lock_blanks_the_screen_and_only_a_fresh_code_unlocks() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    s.data
        .revealed
        .insert("m1".into(), crate::app::resources::messages::Shown::Raw);
    // Just under the limit: nothing.
    assert!(update(&mut s, Msg::Tick(now() + Duration::minutes(15))).is_empty());
    assert!(!s.locked);
    let fx = update(&mut s, Msg::Tick(now() + Duration::minutes(16)));
    assert_eq!(fx, [Effect::RecordIdleLock]);
    assert!(s.locked && s.data.revealed.is_empty());
    assert!(matches!(
        &s.mode,
        Mode::Mfa {
            purpose: MfaPurpose::Unlock,
            ..
        }
    ));
    // Esc does not unlock; letters are not typed; digits go to the prompt.
    update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
    );
    assert!(s.locked);
    for c in "ab12".chars() {
        press(&mut s, c);
    }
    assert!(matches!(&s.mode, Mode::Mfa { input, .. } if input == "12"));
    // A wrong code (the session refuses it) keeps it locked and says so.
    update(
        &mut s,
        Msg::SessionFailed("the MFA code was not accepted".into()),
    );
    assert!(s.locked);
    assert!(matches!(&s.mode, Mode::Mfa { error: Some(e), .. } if e.contains("not accepted")));
    // A session renewed for another purpose (a late re-auth answer) does not unlock.
    update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info(false)),
            purpose: MfaPurpose::Reauth,
        },
    );
    assert!(s.locked);
    // Ticks while locked record nothing more.
    assert!(update(&mut s, Msg::Tick(now() + Duration::minutes(40))).is_empty());
    update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(info(false)),
            purpose: MfaPurpose::Unlock,
        },
    );
    assert!(!s.locked);
    assert_eq!(s.mode, Mode::Normal);
}

#[test]
fn the_idle_lock_cancels_a_pending_step_up() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    update(&mut s, Msg::AskCode(MfaPurpose::StepUp));
    let fx = update(&mut s, Msg::Tick(now() + Duration::minutes(16)));
    assert_eq!(fx, [Effect::RecordIdleLock, Effect::CancelPending]);
    assert!(s.locked);
}

#[test]
fn answers_of_an_older_load_are_dropped() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    let old = s.status(Kind::Keys).generation;
    // A refresh asks again: the older answer (late) must not replace what the newer brings.
    let fx = update(
        &mut s,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE)),
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Load {
            kind: Kind::Keys,
            ..
        }
    )));
    let newer = s.status(Kind::Keys).generation;
    assert!(newer > old);
    let mut gone = kms_key();
    gone.state = "PendingDeletion".into();
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Keys,
            generation: old,
            payload: Payload::Keys(vec![gone]),
        },
    );
    assert_eq!(
        s.data.keys[0].state, "Enabled",
        "a stale answer was applied"
    );
    update(
        &mut s,
        Msg::Failed {
            kind: Kind::Keys,
            generation: old,
            error: "AccessDenied".into(),
        },
    );
    assert_eq!(
        s.status(Kind::Keys).error,
        None,
        "a stale failure was shown"
    );
    assert!(!matches!(s.flash, Some(Flash::Error(_))));
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Keys,
            generation: newer,
            payload: Payload::Keys(vec![]),
        },
    );
    assert!(s.data.keys.is_empty(), "the current answer is applied");
}

#[test]
fn a_profile_switch_drops_every_answer_of_the_old_session() {
    let mut s = on(View::Queues, false, Keymap::default_keymap());
    let old = s.status(Kind::Queues).generation;
    let mut other = info(false);
    other.profile = "prod".into();
    update(
        &mut s,
        Msg::SessionOpened {
            info: Box::new(other),
            purpose: MfaPurpose::Login {
                profile: "prod".into(),
            },
        },
    );
    assert!(s.data.queues.is_empty(), "the old account's rows are gone");
    update(
        &mut s,
        Msg::Loaded {
            kind: Kind::Queues,
            generation: old,
            payload: Payload::Queues(vec![crate::cloud::sqs::Queue::pending(
                "http://127.0.0.1:1/123456789012/old-account-queue",
                "us-east-1",
            )]),
        },
    );
    assert!(
        s.data.queues.is_empty(),
        "an answer for the old session landed"
    );
}

fn key_code(s: &mut State, code: KeyCode) -> Vec<Effect> {
    update(s, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn form(s: &State) -> &super::state::ParamForm {
    match &s.mode {
        Mode::Form(f) => f,
        other => panic!("no form: {other:?}"),
    }
}

/// The rotation period form: only digits are typed, out-of-range and empty follow the spec
/// (the spec's message, the default 365), and only a valid period plans.
#[test]
fn the_period_form_checks_its_field_before_any_plan() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    press(&mut s, 'A');
    for c in "9x0-".chars() {
        press(&mut s, c);
    }
    assert_eq!(
        form(&s).fields,
        ["90"],
        "letters and a late minus are not typed"
    );
    key_code(&mut s, KeyCode::Backspace);
    let fx = key_code(&mut s, KeyCode::Enter);
    assert!(planned_request(&fx).is_none(), "9 days planned: {fx:?}");
    let e = form(&s).error.clone().unwrap_or_default();
    assert!(
        e.contains("the period must be 90 to 2,560 days (empty: 365)"),
        "{e}"
    );
    // Typing again clears the message; 2561 is refused, 2560 plans with that value.
    press(&mut s, '0');
    assert_eq!(form(&s).error, None);
    key_code(&mut s, KeyCode::Backspace);
    key_code(&mut s, KeyCode::Backspace);
    for c in "2561".chars() {
        press(&mut s, c);
    }
    assert!(planned_request(&key_code(&mut s, KeyCode::Enter)).is_none());
    key_code(&mut s, KeyCode::Backspace);
    press(&mut s, '0');
    let fx = key_code(&mut s, KeyCode::Enter);
    let r = planned_request(&fx).expect("planned");
    assert_eq!(r.spec.id, "kms.enable_rotation");
    assert_eq!(
        r.value("rotation_period_in_days")
            .and_then(|v| v.as_number()),
        Some(2560)
    );
    assert!(matches!(s.mode, Mode::Planning { .. }));
    // Empty: the default period.
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    press(&mut s, 'A');
    let r = planned_request(&key_code(&mut s, KeyCode::Enter))
        .cloned()
        .expect("planned");
    assert_eq!(
        r.value("rotation_period_in_days")
            .and_then(|v| v.as_number()),
        Some(365)
    );
    // Esc: nothing planned, and the action is forgotten.
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    press(&mut s, 'A');
    assert!(key_code(&mut s, KeyCode::Esc).is_empty());
    assert_eq!(s.mode, Mode::Normal);
    assert!(s.acting.is_none());
}

/// Every form field of every action any view offers is driven through the same form: an
/// empty field takes the default or is refused with the parser's message, and a value the
/// parser refuses never plans.
#[test]
fn every_actions_form_refuses_what_its_parameters_refuse() {
    use crate::guard::action::ParamKind;
    for view in View::ALL {
        for b in view.resource().actions() {
            for (i, p) in b.action.params.iter().enumerate() {
                let mut f = super::state::ParamForm::new(b.action, KEY_ARN.into(), KEY_ARN.into());
                // The other required fields hold a value they accept.
                for (field, q) in f.fields.iter_mut().zip(b.action.params) {
                    if q.default.is_none() {
                        *field = match q.kind {
                            ParamKind::Number { min, .. } => min.to_string(),
                            ParamKind::Choice(c) => c.first().copied().unwrap_or_default().into(),
                            ParamKind::Text { .. } | ParamKind::List { .. } => "x".into(),
                        };
                    }
                }
                let bad = match p.kind {
                    ParamKind::Number { max, .. } => (max + 1).to_string(),
                    ParamKind::Text { max_chars } => "x".repeat(max_chars + 1),
                    ParamKind::Choice(_) => "no-such-choice".into(),
                    ParamKind::List { max_items, .. } => vec!["a"; max_items + 1].join(","),
                };
                f.fields[i] = bad;
                let (field, message) = f.request().expect_err("a bad value was accepted");
                assert_eq!(field, i);
                assert_eq!(Err(message), p.parse(&f.fields[i]).map(|_| ()));
                f.fields[i] = String::new();
                match p.default {
                    Some(d) => assert_eq!(
                        f.request().ok().and_then(|r| r.value(p.name)),
                        p.parse(d).ok()
                    ),
                    None => assert!(f.request().is_err(), "{}: empty accepted", p.name),
                }
            }
        }
    }
}

/// A long-running action: its progress is kept (the footer shows it) and its end reloads what
/// its view's binding declared; a status for a task nobody follows is ignored.
#[test]
fn a_followed_task_shows_progress_and_its_end_reloads_its_data() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    press(&mut s, 'R');
    update(
        &mut s,
        Msg::TaskStarted {
            id: "t1".into(),
            summary: "rotate".into(),
        },
    );
    update(&mut s, Msg::ActionDone(Ok("started".into())));
    update(
        &mut s,
        Msg::TaskProgress {
            id: "t1".into(),
            line: "RUNNING 5/12".into(),
        },
    );
    update(
        &mut s,
        Msg::TaskProgress {
            id: "other".into(),
            line: "RUNNING 1/1".into(),
        },
    );
    assert_eq!(s.tasks.len(), 1);
    assert_eq!(s.tasks["t1"].line, "RUNNING 5/12");
    assert_eq!(s.tasks["t1"].refresh, [Kind::Keys]);
    let fx = update(
        &mut s,
        Msg::TaskEnded {
            id: "t1".into(),
            result: Err("the status could not be read".into()),
        },
    );
    assert!(s.tasks.is_empty());
    assert!(matches!(&s.flash, Some(Flash::Error(e)) if e.contains("could not be read")));
    assert!(
        fx.iter().any(|e| matches!(
            e,
            Effect::Load {
                kind: Kind::Keys,
                ..
            }
        )),
        "{fx:?}"
    );
}

/// A profile's "audit log unavailable" reaches the header only while that profile is the
/// session's: a slow answer about a profile switched away from is dropped.
#[test]
fn an_audit_failure_is_shown_only_for_its_own_profile() {
    let mut s = on(View::Keys, false, Keymap::default_keymap());
    update(
        &mut s,
        Msg::AuditUnavailable {
            profile: "prod".into(),
            why: "audit log unavailable (disk full)".into(),
        },
    );
    assert_eq!(s.session.as_ref().and_then(|i| i.audit_error.clone()), None);
    assert!(s.flash.is_none());
    update(
        &mut s,
        Msg::AuditUnavailable {
            profile: "demo".into(),
            why: "audit log unavailable (disk full)".into(),
        },
    );
    assert!(
        s.session
            .as_ref()
            .and_then(|i| i.audit_error.as_deref())
            .is_some_and(|e| e.contains("disk full"))
    );
}

/// On the jobs view, `A` (validate) and `C` (cleanup) start their action on a restore row
/// they apply to (the cleanup on what the restore created, its job pre-filled) and, on any
/// other row, say why in the footer without a form or a plan.
#[test]
fn validate_and_cleanup_on_the_jobs_view_apply_to_restore_rows_only() {
    use crate::cloud::backup::{BackupJob, RestoreJob};
    let created = "arn:aws:dynamodb:us-east-1:123456789012:table/t-drill-1";
    let restore = |id: &str, status: &str, arn: Option<&str>| RestoreJob {
        id: id.into(),
        recovery_point_arn: "arn:aws:backup:us-east-1:123456789012:recovery-point:1".into(),
        resource_type: "DynamoDB".into(),
        status: status.into(),
        status_message: None,
        percent_done: None,
        created: Some(now()),
        completed: None,
        created_resource_arn: arn.map(str::to_string),
        validation_status: None,
        restore_testing_plan: None,
        deletion_status: None,
    };
    let backup = BackupJob {
        id: "backup-1".into(),
        vault: "v".into(),
        resource_arn: "arn:aws:dynamodb:us-east-1:123456789012:table/t".into(),
        resource_type: "DynamoDB".into(),
        state: "COMPLETED".into(),
        status_message: None,
        created: Some(now()),
        completed: Some(now()),
        size_bytes: None,
        recovery_point_arn: None,
    };
    let on_row = |id: &str| {
        let mut s = on(View::Jobs, false, Keymap::default_keymap());
        for (kind, payload) in [
            (Kind::BackupJobs, Payload::BackupJobs(vec![backup.clone()])),
            (
                Kind::RestoreJobs,
                Payload::RestoreJobs(vec![
                    restore("restore-done", "COMPLETED", Some(created)),
                    restore("restore-running", "RUNNING", None),
                ]),
            ),
        ] {
            let st = s.data.status.entry(kind).or_default();
            st.generation += 1;
            let generation = st.generation;
            update(
                &mut s,
                Msg::Loaded {
                    kind,
                    generation,
                    payload,
                },
            );
        }
        press(&mut s, '/');
        for c in id.chars() {
            press(&mut s, c);
        }
        key_code(&mut s, KeyCode::Enter);
        assert_eq!(
            s.table(View::Jobs).selected_row().map(|r| r.key.as_str()),
            Some(id)
        );
        s
    };
    // Validate a COMPLETED restore job: the form, on the job id.
    let mut s = on_row("restore-done");
    assert!(press(&mut s, 'A').is_empty());
    assert!(
        matches!(&s.mode, Mode::Form(f) if f.target == "restore-done" && f.spec.id == "backup.put_restore_validation_result"),
        "{:?}",
        s.mode
    );
    // Clean it up: the form, on what it created, with its job filled in.
    let mut s = on_row("restore-done");
    assert!(press(&mut s, 'C').is_empty());
    match &s.mode {
        Mode::Form(f) => {
            assert_eq!(
                (f.spec.id, f.target.as_str(), f.row.as_str()),
                ("local.run_cleanup_command", created, "restore-done")
            );
            let r = f.request().expect("the pre-filled form parses");
            assert_eq!(
                r.value("restore_job_id")
                    .and_then(|v| v.as_text().map(str::to_string)),
                Some("restore-done".into())
            );
        }
        other => panic!("no form: {other:?}"),
    }
    // A running restore job, and a backup job: the footer says why; no form, no plan.
    for (row, c, why) in [
        (
            "restore-running",
            'A',
            "restore job restore-running is RUNNING",
        ),
        ("restore-running", 'C', "is RUNNING"),
        ("backup-1", 'C', "backup-1 is a backup job"),
        ("backup-1", 'A', "backup-1 is a backup job"),
    ] {
        let mut s = on_row(row);
        let fx = press(&mut s, c);
        assert!(planned_request(&fx).is_none(), "{row} {c}: {fx:?}");
        assert_eq!(s.mode, Mode::Normal, "{row} {c}");
        assert!(s.acting.is_none());
        match &s.flash {
            Some(Flash::Error(e)) => {
                assert!(e.contains(why), "{row} {c}: {e}");
                assert!(!e.contains("select a row first"), "{e}");
            }
            other => panic!("{row} {c}: {other:?}"),
        }
    }
    // The help screen names them from their bindings; a user keymap can rebind them by name.
    let help = Keymap::default_keymap().action_help(View::Jobs);
    assert!(
        help.iter()
            .any(|(k, d)| k == "A" && d.starts_with("validate:"))
            && help
                .iter()
                .any(|(k, d)| k == "C" && d.starts_with("cleanup:")),
        "{help:?}"
    );
    // Read-only: the keys are not bound at all.
    let mut s = on_row("restore-done");
    s.session.as_mut().unwrap().read_only = true;
    for c in ['A', 'C'] {
        assert!(press(&mut s, c).is_empty());
        assert_eq!(s.mode, Mode::Normal);
        assert!(s.flash.is_none(), "{:?}", s.flash);
    }
}
