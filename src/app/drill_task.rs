//! The runner's side of `:drill`: reading the runbook off the draw loop, and running the
//! confirmed drill on a task with the engine `phi-console drill run` uses
//! (`crate::drill::engine`). The console's [`Io`]: progress is the drill's task line, a
//! step-up code and a verdict are asked through the state (`Msg::DrillAsks`, answered by
//! `Effect::DrillAnswer`), and quitting the console stops the drill with its state kept.

use super::audit_task::AuditWriter;
use super::drill::{DrillOffer, DrillQuestion};
use super::run::Incoming;
use super::update::Msg;
use crate::drill::engine::{self, Answer, Asker, Io, Setup, Stop};
use crate::drill::files::{self, Prepared};
use crate::drill::report::DrillReport;
use crate::session::Session;
use crate::session::settings::ProfileSettings;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;

/// What the runner keeps of a running drill: where its answers go, and how to stop it.
pub struct DrillHandle {
    pub answers: UnboundedSender<Option<String>>,
    pub stop: watch::Sender<Option<String>>,
}

impl DrillHandle {
    /// Stops the drill at its next step (the call in flight gets its grace); a question it
    /// waits on gets no answer.
    pub fn stop(self, why: &str) {
        let _ = self.stop.send(Some(why.to_string()));
    }
}

fn send(tx: &UnboundedSender<Incoming>, m: Msg) {
    let _ = tx.send(Incoming::Msg(m));
}

/// Reads the runbook and the state of an interrupted run of it (blocking file I/O, on the
/// blocking pool), then sends the drill's confirmation (or why it cannot run).
pub fn prepare(
    tx: UnboundedSender<Incoming>,
    session: Session,
    settings: ProfileSettings,
    runbook: PathBuf,
    report_dir: PathBuf,
) {
    tokio::spawn(async move {
        let asked = runbook.clone();
        let prepared =
            tokio::task::spawn_blocking(move || files::prepare(&runbook, &report_dir, &settings))
                .await;
        let msg = match prepared {
            Ok(Ok(p)) => {
                let rep = p.report(&session, None);
                let lines = p.summary(&rep, &session);
                Ok(Box::new(DrillOffer {
                    prepared: p,
                    runbook: asked,
                    profile: session.profile.clone(),
                    lines,
                }))
            }
            Ok(Err(e)) => Err(e.message().to_string()),
            Err(e) => Err(format!("the runbook could not be read: {e}")),
        };
        send(&tx, Msg::DrillPrepared(msg));
    });
}

/// The console's questions: asked through the state, answered through the runner.
struct ConsoleAsker {
    tx: UnboundedSender<Incoming>,
    answers: UnboundedReceiver<Option<String>>,
}

impl ConsoleAsker {
    async fn ask(&mut self, q: DrillQuestion) -> Option<String> {
        // An answer to an earlier question that came late is not this one's.
        while self.answers.try_recv().is_ok() {}
        send(&self.tx, Msg::DrillAsks(q));
        self.answers.recv().await.flatten()
    }
}

impl Asker for ConsoleAsker {
    fn mfa_code(&mut self) -> Answer<'_, Result<String, String>> {
        Box::pin(async move {
            self.ask(DrillQuestion::Code)
                .await
                .ok_or_else(|| "no MFA code was given for the drill's step-up".to_string())
        })
    }
    fn verdict<'a>(&'a mut self, question: &'a str) -> Answer<'a, Option<bool>> {
        Box::pin(async move {
            self.ask(DrillQuestion::Verdict(question.to_string()))
                .await
                .map(|a| a.eq_ignore_ascii_case("yes"))
        })
    }
}

/// Everything a drill task needs from the runner.
pub struct Start {
    pub tx: UnboundedSender<Incoming>,
    pub writer: AuditWriter,
    pub session: Session,
    pub policy: crate::guard::Policy,
    pub settings: ProfileSettings,
    pub prepared: Prepared,
    pub reason: Option<String>,
    pub poll: Duration,
}

/// Runs a confirmed drill on a task; returns it and its handle.
pub fn run(start: Start) -> (tokio::task::JoinHandle<()>, DrillHandle) {
    let (answers_tx, answers_rx) = unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(None);
    let handle = DrillHandle {
        answers: answers_tx,
        stop: stop_tx,
    };
    let task = tokio::spawn(drill(start, answers_rx, stop_rx));
    (task, handle)
}

async fn drill(
    start: Start,
    answers: UnboundedReceiver<Option<String>>,
    stop: watch::Receiver<Option<String>>,
) {
    let Start {
        tx,
        writer,
        session,
        policy,
        settings,
        prepared,
        reason,
        poll,
    } = start;
    let name = prepared.runbook.name.clone();
    let id = format!("drill {name}");
    // One run of a drill at a time per report directory (here or in a terminal); the state
    // read again under the lock must be the one confirmed.
    let confirmed = prepared.previous.clone();
    let locked = tokio::task::spawn_blocking(move || prepared.lock()).await;
    let why_not = match locked {
        Ok(Ok((lock, again))) if again.previous == confirmed => Ok((lock, again)),
        Ok(Ok(_)) => Err("its state changed since you confirmed it (another run of it ended or moved on): run :drill again to see it".to_string()),
        Ok(Err(e)) => Err(e.message().to_string()),
        Err(e) => Err(e.to_string()),
    };
    let (_lock, prepared) = match why_not {
        Ok(l) => l,
        Err(why) => {
            send(
                &tx,
                Msg::Flash(super::state::Flash::Error(format!(
                    "drill {name} did not start: {why}"
                ))),
            );
            return;
        }
    };
    let mut rep = prepared.report(&session, None);
    send(
        &tx,
        Msg::DrillStarted {
            id: id.clone(),
            summary: format!(
                "drill {name} ({} restore tests)",
                prepared.runbook.tests.len()
            ),
        },
    );
    // The log once every record asked before is written (fail closed: no log, no drill).
    let log = match writer.current().await {
        Ok(log) => log,
        Err(why) => {
            send(
                &tx,
                Msg::TaskEnded {
                    id,
                    result: Err(format!("{why}: the drill did not run")),
                },
            );
            return;
        }
    };
    let (t2, id2) = (tx.clone(), id.clone());
    let mut io = Io {
        say: Arc::new(move |line: &str| {
            send(
                &t2,
                Msg::TaskProgress {
                    id: id2.clone(),
                    line: line.trim().to_string(),
                },
            );
        }),
        ask: Box::new(ConsoleAsker {
            tx: tx.clone(),
            answers,
        }),
        stop,
    };
    let setup = Setup {
        log: &log,
        session: session.clone(),
        policy,
        settings: &settings,
        role: prepared.role.clone(),
        reason: Some(engine::drill_reason(&name, reason.as_deref())),
        ticket: rep.ticket.clone(),
        poll,
    };
    let mut save =
        |r: &DrillReport| -> Result<(), Stop> { prepared.save_state(r).map_err(Stop::Fatal) };
    let ended = engine::run_tests(setup, &mut io, &prepared.runbook, &mut rep, &mut save).await;
    writer.seal_log(log.clone());
    let code = files::conclude(
        &mut rep,
        ended.stop.as_ref(),
        &ended.outcome_warnings,
        session.now(),
    );
    let mut notes: Vec<String> = ended.outcome_warnings.clone();
    match &ended.stop {
        Some(Stop::Fatal(m)) => notes.push(m.clone()),
        Some(Stop::Interrupted(m)) => notes.push(format!(
            "interrupted: {m}; run the same :drill to resume it ({} keeps its state)",
            prepared.state_path.display()
        )),
        None => {}
    }
    let written = prepared.write_reports(&rep, ended.stop.is_none());
    let reports = match &written {
        Ok(w) => format!("reports {} and {}", w.markdown.display(), w.json.display()),
        Err(e) => e.clone(),
    };
    let line = format!(
        "drill {name}: {} (exit code {code}); {reports}{}",
        rep.outcome,
        notes.iter().map(|n| format!("; {n}")).collect::<String>()
    );
    let result = if code == crate::drill::report::EXIT_OK && written.is_ok() {
        Ok(line)
    } else {
        Err(line)
    };
    send(&tx, Msg::TaskEnded { id, result });
}
