//! `phi-console queue …`: the DLQ triage commands, in the noun-verb style of `key rotate`.
//!
//! - `queue redrive DLQ` moves a DLQ's messages back: all of them on AWS's engine (a guarded
//!   StartMessageMoveTask), or, with `--where`, `--since`, `--until` or `--ids`, only the
//!   matching ones, message by message ([`super::redrive`]). `--dry-run` changes nothing: for
//!   a whole-queue move it makes no receive at all (depths, pre-checks, plan); for a selective
//!   one it samples with a recorded peek (under the peek rules) and reports how many matched.
//! - `queue peek QUEUE` is the recorded peek: metadata only, values of safe attributes only.
//! - `queue tasks [DLQ]` lists the move tasks AWS keeps (reads only).
//! - `queue cancel-redrive TASK` cancels a running move task (guarded), named by its DLQ (URL,
//!   ARN or name) or by its task handle.
//!
//! Exit codes are those of `phi-console key` (see [`super::cli`]).

use super::cli::{ActionArgs, CliError, EXIT_FAILED, EXIT_OK, Opened, Report};
use super::redrive::{self, Context, IDS, RATE as SELECTIVE_RATE, SINCE, UNTIL, WHERE};
use super::{GuardError, Request, peek};
use crate::cloud::Cloud;
use crate::options::GlobalOptions;
use crate::sanitize;
use crate::session::settings::attribute_is_safe;
use clap::Subcommand;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Subcommand, Debug, Clone)]
pub enum QueueCommand {
    /// List the queues with their depths, DLQs and encryption (reads only).
    List {
        /// Only the dead-letter queues.
        #[arg(long)]
        dlq: bool,
        #[command(flatten)]
        out: ReadArgs,
    },
    /// Move a DLQ's messages back: all of them (AWS's move task), or only those matching
    /// --where/--since/--until/--ids (a journaled, resumable selective redrive).
    Redrive {
        /// The dead-letter queue: its URL, ARN or name.
        dlq: String,
        /// The queue to move to (URL, ARN or name; default: the DLQ's source queues).
        #[arg(long, value_name = "QUEUE")]
        to: Option<String>,
        /// Messages a second: at most 500 for a whole-queue move (default 500), 3,000 for a
        /// selective one (default 100).
        #[arg(long, value_name = "N", allow_negative_numbers = true)]
        rate: Option<i64>,
        /// Only messages whose attribute has this value (repeatable: all must hold).
        #[arg(long = "where", value_name = "ATTR=VALUE")]
        wheres: Vec<String>,
        /// Only messages sent at or after this time (RFC 3339, or a day: 2026-11-30).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only messages sent before this time.
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Only messages whose claim_id is listed in this file (one id a line).
        #[arg(long, value_name = "FILE")]
        ids: Option<PathBuf>,
        /// Send and delete nothing: report the plan (and, for a selective move, how many
        /// messages of a recorded sample match).
        #[arg(long)]
        dry_run: bool,
        /// A whole-queue move: return once AWS has started the task, instead of following it
        /// to its end (see it with `queue tasks`).
        #[arg(long)]
        no_follow: bool,
        #[command(flatten)]
        args: ActionArgs,
    },
    /// Peek at a queue's messages: metadata and safe attribute values only (recorded: a
    /// receive raises each message's receive count).
    Peek {
        /// The queue: its URL, ARN or name.
        queue: String,
        #[command(flatten)]
        out: ReadArgs,
    },
    /// The message move tasks AWS keeps for a DLQ (or for every DLQ).
    Tasks {
        /// The dead-letter queue: its URL, ARN or name (default: every DLQ).
        dlq: Option<String>,
        #[command(flatten)]
        out: ReadArgs,
    },
    /// Cancel the move task running on a DLQ (guarded).
    CancelRedrive {
        /// The DLQ the task runs on (URL, ARN or name), or the task's handle.
        task: String,
        #[command(flatten)]
        args: ActionArgs,
    },
}

/// What a command that only shows takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ReadArgs {
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Directory of the audit log (as for `key`).
    #[arg(long, value_parser = crate::validate::Checked(crate::validate::audit_dir_arg))]
    pub audit_dir: Option<PathBuf>,
}

/// The most bytes of a `--ids` file read.
const MAX_IDS_FILE: u64 = 4 << 20;

impl QueueCommand {
    fn json(&self) -> bool {
        match self {
            QueueCommand::Redrive { args, .. } | QueueCommand::CancelRedrive { args, .. } => {
                args.json
            }
            QueueCommand::Peek { out, .. }
            | QueueCommand::Tasks { out, .. }
            | QueueCommand::List { out, .. } => out.json,
        }
    }
}

/// Runs a `phi-console queue …` command; returns the exit code.
pub fn run(command: QueueCommand, global: &GlobalOptions) -> anyhow::Result<i32> {
    if let QueueCommand::List { dlq, out } = &command {
        return crate::listing::run(crate::listing::What::Queues { dlq_only: *dlq }, out, global);
    }
    let as_json = command.json();
    Ok(super::cli::reported(as_json, |report| {
        dispatch(command, global, report)
    }))
}

fn invalid(message: String) -> CliError {
    CliError::Guard(GuardError::InvalidRequest(message))
}

fn dispatch(
    command: QueueCommand,
    global: &GlobalOptions,
    report: &mut Report,
) -> Result<i32, CliError> {
    match command {
        QueueCommand::List { .. } => Ok(EXIT_OK),
        QueueCommand::Redrive {
            dlq,
            to,
            rate,
            wheres,
            since,
            until,
            ids,
            dry_run,
            no_follow,
            args,
        } => {
            let ids = ids.map(|p| read_ids(&p)).transpose()?;
            let selective =
                !wheres.is_empty() || since.is_some() || until.is_some() || ids.is_some();
            // The request is checked before any file, prompt or call.
            let placeholder = "https://sqs.invalid/0/placeholder";
            // The destination is named by URL, ARN or name: its URL goes into the request once
            // the session can look a name up (a placeholder URL until then).
            let build = |url: &str, dest: Option<&str>| -> Result<Request, CliError> {
                let mut r = if selective {
                    Request::redrive_messages(url)
                } else {
                    Request::start_move_task(url)
                };
                if let Some(d) = dest {
                    r = r.input(super::sqs::DESTINATION.name, d)?;
                }
                if let Some(n) = rate {
                    let name = if selective {
                        SELECTIVE_RATE.name
                    } else {
                        super::sqs::RATE.name
                    };
                    r = r.input(name, &n.to_string())?;
                }
                if selective {
                    r = r.param(WHERE.name, wheres.clone());
                    if let Some(s) = &since {
                        r = r.input(SINCE.name, s)?;
                    }
                    if let Some(u) = &until {
                        r = r.input(UNTIL.name, u)?;
                    }
                    if let Some(i) = &ids {
                        r = r.param(IDS.name, i.clone());
                    }
                }
                super::validate(&r)?;
                Ok(r)
            };
            if let Some(t) = &to {
                check_queue_name(t)?;
            }
            let probe = build(placeholder, to.as_ref().map(|_| placeholder))?;
            let mut o = Opened::open(global, args.audit_dir.as_deref(), Some(&probe), report)?;
            let result = (|| {
                let url =
                    o.rt.block_on(queue_url(&o.session.cloud(), &o.session, &dlq))?;
                let dest = match &to {
                    Some(t) => Some(o.rt.block_on(queue_url(&o.session.cloud(), &o.session, t))?),
                    None => None,
                };
                let request = build(&url, dest.as_deref())?;
                let ctx = redrive_context(&args, report);
                if dry_run {
                    return dry_run_of(&mut o, &request, selective, &ctx, report);
                }
                if selective {
                    // Before the plan is confirmed: how many of a sample match (a recorded
                    // peek, under the peek rules).
                    let (sampled, matched) = sample(&mut o, &request)?;
                    o.prompt.say(&format!(
                        "sample (a recorded peek, made visible again at once): {matched} of the {sampled} messages received match"
                    ));
                    report
                        .extra
                        .push(("sample", json!({ "sampled": sampled, "matched": matched })));
                }
                let code = super::cli::guarded(
                    &o.rt,
                    &o.log,
                    o.session.clone(),
                    &o.resolved,
                    &o.policy,
                    &request,
                    &args,
                    &mut o.prompt,
                    report,
                    selective.then_some(&ctx),
                )?;
                if !selective && !no_follow && code == EXIT_OK && !follow(&o, report) {
                    return Ok(EXIT_FAILED);
                }
                if selective {
                    end_progress_line();
                    if let Some(r) = ctx.take_report() {
                        let incomplete = r.progress.failed > 0
                            || r.in_doubt_count > 0
                            || r.ending != redrive::engine::Ending::Completed;
                        report
                            .extra
                            .push(("run", serde_json::to_value(&r).unwrap_or_default()));
                        report.lines.push(redrive::summary(&r));
                        if r.possibly_duplicated_count > 0 {
                            report.lines.push(format!(
                                "warning: {} messages of an earlier run may have been delivered twice (their send's answer was never recorded); the first: {}",
                                r.possibly_duplicated_count,
                                r.possibly_duplicated.join(", ")
                            ));
                        }
                        if r.in_doubt_count > 0 {
                            report.lines.push(format!(
                                "warning: {} sends of this run went unanswered and may have been delivered; they stay in the DLQ (`in_doubt` in --json)",
                                r.in_doubt_count
                            ));
                        }
                        if incomplete && code == EXIT_OK {
                            return Ok(EXIT_FAILED);
                        }
                    }
                }
                Ok(code)
            })();
            o.close();
            result
        }
        QueueCommand::CancelRedrive { task, args } => {
            let probe = Request::cancel_move_task("https://sqs.invalid/0/placeholder");
            let mut o = Opened::open(global, args.audit_dir.as_deref(), Some(&probe), report)?;
            let result = (|| {
                let url = o.rt.block_on(dlq_of_task(&o.session, &task))?;
                let request = Request::cancel_move_task(url);
                super::cli::guarded(
                    &o.rt,
                    &o.log,
                    o.session.clone(),
                    &o.resolved,
                    &o.policy,
                    &request,
                    &args,
                    &mut o.prompt,
                    report,
                    None,
                )
            })();
            o.close();
            result
        }
        QueueCommand::Peek { queue, out } => {
            let mut o = Opened::open(global, out.audit_dir.as_deref(), None, report)?;
            let result = (|| {
                let url =
                    o.rt.block_on(queue_url(&o.session.cloud(), &o.session, &queue))?;
                let plan =
                    o.rt.block_on(peek::plan(&o.session, &o.policy, &url, None))?;
                o.prompt.say(&format!(
                    "peek {}: {} visible, {} in flight; receives up to {} (each one's receive count goes up by one), gives them back at once; recorded in the audit log",
                    plan.queue_name, plan.visible, plan.in_flight, plan.max_messages
                ));
                let messages =
                    o.rt.block_on(peek::execute(&o.log, &o.session, &o.policy, &plan))?;
                let safe = &o.settings.safe_attributes;
                let shown: Vec<Value> = messages
                    .iter()
                    .map(|m| {
                        let attrs: serde_json::Map<String, Value> = m
                            .attributes
                            .iter()
                            .map(|(k, v)| {
                                let value = if attribute_is_safe(safe, k) {
                                    Value::String(v.clone())
                                } else {
                                    Value::Null
                                };
                                (k.clone(), value)
                            })
                            .collect();
                        json!({
                            "id": m.id,
                            "sent": m.sent.map(crate::audit::writer::format_time),
                            "receive_count": m.receive_count,
                            "group_id": m.group_id,
                            "size": m.size,
                            "attributes": attrs,
                        })
                    })
                    .collect();
                report.lines.push(format!(
                    "{} messages of {} (bodies are never shown here; reveal one in the console):",
                    messages.len(),
                    plan.queue_name
                ));
                for m in &messages {
                    let attrs: Vec<String> = m
                        .attributes
                        .iter()
                        .map(|(k, v)| {
                            if attribute_is_safe(safe, k) {
                                format!("{k}={v}")
                            } else {
                                format!("{k}=(hidden)")
                            }
                        })
                        .collect();
                    report.lines.push(format!(
                        "  {}  sent {}  received {}x{}  {}",
                        m.id,
                        m.sent
                            .map(crate::audit::writer::format_time)
                            .unwrap_or_else(|| "?".into()),
                        m.receive_count,
                        m.group_id
                            .as_ref()
                            .map(|g| format!("  group {g}"))
                            .unwrap_or_default(),
                        attrs.join(" ")
                    ));
                }
                report
                    .extra
                    .push(("queue", Value::String(plan.queue_arn.clone())));
                report.extra.push(("messages", Value::Array(shown)));
                Ok(EXIT_OK)
            })();
            o.close();
            result
        }
        QueueCommand::Tasks { dlq, out } => {
            let o = Opened::open(global, out.audit_dir.as_deref(), None, report)?;
            let result = (|| {
                let cloud = o.session.cloud();
                // The DLQ named, looked up once: its tasks, and the history filtered to it.
                let dlq_arn = match &dlq {
                    Some(d) => {
                        let url = o.rt.block_on(queue_url(&cloud, &o.session, d))?;
                        Some(
                            o.rt.block_on(cloud.queue(&url))
                                .map_err(|e| live(d, e))?
                                .arn,
                        )
                    }
                    None => None,
                };
                let tasks = match (&dlq, &dlq_arn) {
                    (Some(d), Some(arn)) => {
                        o.rt.block_on(cloud.list_message_move_tasks(arn))
                            .map_err(|e| live(d, e))?
                    }
                    _ => {
                        o.rt.block_on(cloud.list_all_move_tasks())
                            .map_err(|e| live("the DLQs", e))?
                    }
                };
                let rows: Vec<Value> = tasks
                    .iter()
                    .map(|t| {
                        json!({
                            "status": t.status,
                            "source": t.source_arn,
                            "destination": t.destination_arn,
                            "moved": t.moved,
                            "to_move": t.to_move,
                            "rate": t.rate,
                            "started": t.started.map(crate::audit::writer::format_time),
                            "handle": t.handle,
                            "failure": t.failure,
                        })
                    })
                    .collect();
                report.lines.push(format!("{} move tasks", tasks.len()));
                for t in &tasks {
                    report.lines.push(format!(
                        "  {:<10} {}  moved {} of {}  rate {}  started {}{}",
                        t.status,
                        t.source_arn,
                        t.moved,
                        t.to_move
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "?".into()),
                        t.rate
                            .map(|r| format!("{r}/s"))
                            .unwrap_or_else(|| "max".into()),
                        t.started
                            .map(crate::audit::writer::format_time)
                            .unwrap_or_else(|| "?".into()),
                        t.failure
                            .as_ref()
                            .map(|f| format!("  failed: {f}"))
                            .unwrap_or_default()
                    ));
                }
                report.extra.push(("tasks", Value::Array(rows)));
                // AWS keeps a few recent tasks per queue; the audit log keeps every one this
                // console started or ran, with its end.
                let history = report
                    .audit_log
                    .as_deref()
                    .map(|p| history(p, dlq_arn.as_deref()))
                    .unwrap_or_default();
                report.lines.push(format!(
                    "{} redrive events in this console's audit log{}",
                    history.len(),
                    if history.is_empty() { "" } else { ":" }
                ));
                for h in &history {
                    report.lines.push(format!(
                        "  {}  {:<8} {}  {}  {}",
                        h["time"].as_str().unwrap_or_default(),
                        h["event"].as_str().unwrap_or_default(),
                        h["action"].as_str().unwrap_or_default(),
                        h["queue"].as_str().unwrap_or_default(),
                        h["message"].as_str().unwrap_or_default()
                    ));
                }
                report.extra.push(("history", Value::Array(history)));
                Ok(EXIT_OK)
            })();
            o.close();
            result
        }
    }
}

/// The most of the audit log read for the history (its end: the newest records).
const HISTORY_TAIL: u64 = 16 << 20;
/// The most history entries shown (the newest).
const HISTORY_MAX: usize = 200;

/// The redrives the audit log at `path` records — move tasks (their start and end) and
/// selective runs (their outcome, with the counts) — newest last, for `dlq_arn` or every DLQ.
fn history(path: &Path, dlq_arn: Option<&str>) -> Vec<Value> {
    use crate::audit::Kind;
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let from = len.saturating_sub(HISTORY_TAIL);
    let mut data = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_err()
        || (&mut f).take(HISTORY_TAIL).read_to_end(&mut data).is_err()
    {
        return Vec::new();
    }
    if from > 0 {
        // Start at the first whole line.
        let cut = data
            .iter()
            .position(|b| *b == b'\n')
            .map_or(data.len(), |i| i + 1);
        data.drain(..cut);
    }
    let (records, _) = crate::audit::read_records(&data);
    let redrives = [
        super::sqs::START_MOVE_TASK.api_action,
        super::sqs::CANCEL_MOVE_TASK.api_action,
        redrive::REDRIVE_MESSAGES.api_action,
    ];
    let intents: std::collections::HashMap<&str, &crate::audit::Record> = records
        .iter()
        .filter(|(_, r)| r.kind == Kind::Intent)
        .map(|(_, r)| (r.id.as_str(), r))
        .collect();
    let mut out: Vec<Value> = Vec::new();
    for (_, r) in &records {
        let intent = r.intent_id.as_deref().and_then(|i| intents.get(i));
        let Some(action) = intent.and_then(|i| i.action()) else {
            continue;
        };
        let queue = intent
            .and_then(|i| i.what.as_ref())
            .and_then(|w| w.targets.first())
            .cloned()
            .unwrap_or_default();
        if !redrives.contains(&action) || dlq_arn.is_some_and(|d| d != queue) {
            continue;
        }
        let (event, message) = match r.kind {
            Kind::Task => (
                r.event.clone().unwrap_or_default(),
                r.details
                    .as_ref()
                    .map(|d| {
                        d.get("message")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| d.to_string())
                    })
                    .unwrap_or_default(),
            ),
            Kind::Outcome => (
                r.outcome
                    .as_ref()
                    .map(|o| format!("{:?}", o.status).to_lowercase())
                    .unwrap_or_default(),
                r.outcome
                    .as_ref()
                    .map(|o| {
                        let code = o
                            .error_code
                            .as_deref()
                            .map(|c| format!("{c}: "))
                            .unwrap_or_default();
                        format!("{code}{}", o.message.clone().unwrap_or_default())
                    })
                    .unwrap_or_default(),
            ),
            _ => continue,
        };
        out.push(json!({
            "time": r.time,
            "event": event,
            "action": action,
            "queue": queue,
            "intent_id": r.intent_id,
            "message": message,
        }));
    }
    let skip = out.len().saturating_sub(HISTORY_MAX);
    out.drain(..skip);
    out
}

fn live(what: &str, error: crate::cloud::CloudError) -> CliError {
    CliError::Guard(GuardError::LiveState {
        target: what.to_string(),
        error,
    })
}

/// A `--ids` file, read bounded; its lines are checked by the filter.
fn read_ids(path: &Path) -> Result<Vec<String>, CliError> {
    let text = crate::validate::read_bounded(path, MAX_IDS_FILE).map_err(|e| {
        invalid(format!(
            "--ids {}: {e}; give a text file of claim ids, one a line (at most 4 MiB)",
            path.display()
        ))
    })?;
    let ids = redrive::filter::parse_ids(&text)
        .map_err(|e| invalid(format!("--ids {}: {e}", path.display())))?;
    Ok(ids.into_iter().collect())
}

/// A queue's URL, ARN or name, checked before anything is opened or called.
fn check_queue_name(named: &str) -> Result<(), CliError> {
    let named = named.trim();
    if named.is_empty()
        || named.len() > 1024
        || named.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(invalid(format!(
            "'{}' is not a queue: give its URL, ARN or name",
            crate::validate::shown(named)
        )));
    }
    Ok(())
}

/// A queue named by URL, ARN or name: its URL.
async fn queue_url(
    cloud: &Cloud,
    session: &crate::session::Session,
    named: &str,
) -> Result<String, CliError> {
    let named = named.trim();
    check_queue_name(named)?;
    if named.starts_with("https://") || named.starts_with("http://") {
        return Ok(named.to_string());
    }
    let arn = if named.starts_with("arn:") {
        super::same_place(session, named)?;
        named.to_string()
    } else {
        format!(
            "arn:{}:sqs:{}:{}:{named}",
            crate::validate::partition_of(&session.region),
            session.region,
            session.caller.account
        )
    };
    cloud.queue_url_of_arn(&arn).await.map_err(|e| match e {
        crate::cloud::CloudError::NotFound { .. } => invalid(format!(
            "there is no queue '{}' in account {}, {}: check the name (phi-console queue tasks lists the DLQs with tasks), or pass its URL",
            crate::validate::shown(named),
            session.caller.account,
            session.region
        )),
        e => live(named, e),
    })
}

/// The DLQ a cancel names: a queue, or a task handle among the tasks AWS lists.
async fn dlq_of_task(session: &crate::session::Session, task: &str) -> Result<String, CliError> {
    let cloud = session.cloud();
    let t = task.trim();
    if t.starts_with("https://") || t.starts_with("http://") || t.starts_with("arn:") {
        return queue_url(&cloud, session, t).await;
    }
    let tasks = cloud
        .list_all_move_tasks()
        .await
        .map_err(|e| live("the DLQs", e))?;
    if let Some(found) = tasks.iter().find(|x| x.handle.as_deref() == Some(t)) {
        return queue_url(&cloud, session, &found.source_arn).await;
    }
    queue_url(&cloud, session, t).await
}

fn redrive_context(args: &ActionArgs, report: &Report) -> Context {
    let dir = report
        .audit_log
        .as_ref()
        .and_then(|p| p.parent().map(|d| d.join("redrive")))
        .or_else(|| args.audit_dir.as_ref().map(|d| d.join("redrive")))
        .unwrap_or_else(|| PathBuf::from("redrive"));
    let mut ctx = Context::new(dir);
    if sanitize::stderr_is_terminal() {
        let last = std::sync::Mutex::new(std::time::Instant::now());
        ctx.progress = Some(Arc::new(move |p: &redrive::engine::Progress| {
            let mut l = last.lock().unwrap_or_else(|e| e.into_inner());
            if l.elapsed() < std::time::Duration::from_millis(250) {
                return;
            }
            *l = std::time::Instant::now();
            let secs = (p.elapsed_ms as f64 / 1000.0).max(0.001);
            sanitize::redraw_status(&format!(
                "redrive: looked at {}, matched {}, moved {} ({:.0}/s), left {}, not moved {}",
                p.looked_at,
                p.matched,
                p.moved,
                p.moved as f64 / secs,
                p.left,
                p.failed
            ));
        }));
    }
    ctx
}

/// Follows a started move task to its end (its end recorded, linked to the intent): progress
/// on stderr when it is a terminal; Ctrl-C stops following (recorded as `stopped`), the task
/// runs on in AWS. Whether it completed (not failed, cancelled, or left unfollowed).
fn follow(o: &Opened, report: &mut Report) -> bool {
    let Some(started) = report.result.as_ref().and_then(|r| r.started()) else {
        return true;
    };
    let cloud = o.session.cloud();
    let watched = o.rt.block_on(async {
        let watch = super::watch::watch(
            &o.log,
            &cloud,
            &started,
            super::watch::Pace::Every(std::time::Duration::from_secs(2)),
            |p| {
                sanitize::redraw_status(&format!("redrive: {}", p.line()));
            },
        );
        tokio::select! {
            w = watch => Some(w),
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    end_progress_line();
    let completed = matches!(&watched, Some(Ok(w)) if w.ending == super::watch::Ending::Finished && w.last.status == "COMPLETED");
    let line = match watched {
        Some(Ok(w)) => {
            let ending = match w.ending {
                super::watch::Ending::Finished => "ended",
                super::watch::Ending::Cancelled => "cancelled",
                super::watch::Ending::Stopped => "no longer followed",
            };
            report.extra.push((
                "task",
                json!({ "ending": ending, "last": w.last.line(), "record_warnings": w.record_warnings }),
            ));
            format!("the move task {ending}: {}", w.last.line())
        }
        Some(Err(e)) => format!("the move task could not be followed ({e}); see `queue tasks`"),
        None => "stopped following; the move task runs on in AWS (see `queue tasks`)".into(),
    };
    report.lines.push(line);
    completed
}

fn end_progress_line() {
    if sanitize::stderr_is_terminal() {
        let _ = writeln!(sanitize::stderr());
    }
}

/// `--dry-run`: the plan, and for a selective move a recorded sample; nothing else.
fn dry_run_of(
    o: &mut Opened,
    request: &Request,
    selective: bool,
    ctx: &Context,
    report: &mut Report,
) -> Result<i32, CliError> {
    let plan = if selective {
        o.rt.block_on(redrive::scope(
            ctx.clone(),
            super::plan(&o.session, &o.policy, request),
        ))?
    } else {
        o.rt.block_on(super::plan(&o.session, &o.policy, request))?
    };
    report.lines.extend(plan.lines());
    report.plan = Some(plan);
    if !selective {
        report.lines.push(
            "dry run: nothing was received, sent or deleted (a whole-queue move makes no receive)"
                .into(),
        );
        report
            .extra
            .push(("dry_run", json!({ "selective": false })));
        return Ok(EXIT_OK);
    }
    let filter = redrive::filter_of(|n| request.value(n)).map_err(invalid)?;
    let (sampled, matched) = sample(o, request)?;
    report.lines.push(format!(
        "dry run: sampled {sampled} messages with a recorded peek (made visible again at once); {matched} match ({}); nothing was sent or deleted",
        filter.describe()
    ));
    report.extra.push((
        "dry_run",
        json!({ "selective": true, "sampled": sampled, "matched": matched }),
    ));
    Ok(EXIT_OK)
}

/// A recorded peek of the DLQ (under the peek rules): how many messages it received, and how
/// many of them the request's filter matches.
fn sample(o: &mut Opened, request: &Request) -> Result<(usize, usize), CliError> {
    let filter = redrive::filter_of(|n| request.value(n)).map_err(invalid)?;
    let peek_plan =
        o.rt.block_on(peek::plan(&o.session, &o.policy, request.target(), None))?;
    let sample =
        o.rt.block_on(peek::execute(&o.log, &o.session, &o.policy, &peek_plan))?;
    let matched = sample.iter().filter(|m| filter.matches_peeked(m)).count();
    Ok((sample.len(), matched))
}
