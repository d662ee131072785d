//! SQS queues (and the dead-letter-queue view, the same rows filtered): depths, DLQ, key.

use super::{
    ActionBinding, Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, pending_row,
    pretty, row, unknown,
};
use crate::app::links::{Link, Target, key_link, link, short};
use crate::app::rows::{Row, Tone};
use crate::app::state::{Kind, State};
use crate::cloud::cloudtrail::EventFilter;
use crate::cloud::policy::tls_only;
use crate::cloud::sqs::{Queue, QueueEncryption};
use std::collections::HashMap;

/// The dead-letter queues' actions (guarded: plan, typed name, reason, MFA, audit record).
const DLQ_ACTIONS: &[ActionBinding] = &[
    ActionBinding {
        name: "redrive",
        action: &crate::guard::sqs::START_MOVE_TASK,
        keys: &["M"],
        describe: "redrive: move the DLQ's messages back to their source queues (an SQS move task, followed to its end; guarded)",
        refresh: &[Kind::Queues, Kind::MoveTasks],
    },
    ActionBinding {
        name: "redrive_selected",
        action: &crate::guard::redrive::REDRIVE_MESSAGES,
        keys: &["F"],
        describe: "redrive selected (filtered): move only the messages matching a filter (attributes, time window, claim ids) to a queue, journaled and resumable (guarded)",
        refresh: &[Kind::Queues, Kind::MoveTasks],
    },
    ActionBinding {
        name: "cancel_redrive",
        action: &crate::guard::sqs::CANCEL_MOVE_TASK,
        keys: &["X"],
        describe: "cancel the redrive (move task) running on the DLQ (guarded)",
        refresh: &[Kind::Queues, Kind::MoveTasks],
    },
];

/// The queues view, or (with `dlq_only`) the dead-letter queues, deepest first.
pub struct Queues {
    dlq_only: bool,
}

pub const QUEUES: Queues = Queues { dlq_only: false };
pub const DLQ: Queues = Queues { dlq_only: true };

/// What a queue row reads: the state, and each queue's visible depth by ARN, built once per
/// rebuild (a scan of every queue per row made a rebuild of N queues O(N²)).
pub struct Ctx<'a> {
    s: &'a State,
    depths: HashMap<&'a str, u64>,
}

fn kind(q: &Queue) -> &'static str {
    if q.fifo { "FIFO" } else { "STD" }
}

/// The columns (a function, not a table: the context borrows the state for one rebuild).
fn columns<'a>() -> [Column<Queue, Ctx<'a>>; 8] {
    [
        col("NAME", 23, false, 0, |_, q| {
            Cell::text(&q.name, Tone::Normal)
        }),
        col("TYPE", 4, false, 3, |_, q| {
            Cell::text(kind(q), Tone::Normal)
        }),
        col("VISIBLE", 8, true, 0, |_, q| {
            let tone = if q.is_dlq() && q.visible > 0 {
                Tone::Danger
            } else {
                Tone::Normal
            };
            Cell::num(q.visible.to_string(), q.visible as f64, tone)
        }),
        col("IN-FLIGHT", 9, true, 2, |_, q| {
            Cell::num(q.in_flight.to_string(), q.in_flight as f64, Tone::Normal)
        }),
        col("DELAYED", 7, true, 3, |_, q| {
            Cell::num(q.delayed.to_string(), q.delayed as f64, Tone::Normal)
        }),
        col("DLQ", 20, false, 1, dlq_cell),
        col("ENCRYPTION", 20, false, 1, |c, q| match &q.encryption {
            QueueEncryption::Kms(k) => Cell::text(c.s.key_name(k), Tone::Normal),
            QueueEncryption::SqsManaged => Cell::text("SQS-managed", Tone::Warning),
            QueueEncryption::None => Cell::text("NONE", Tone::Danger),
        }),
        col("MAX RCV", 7, true, 2, |_, q| {
            let max = q.redrive.as_ref().map(|r| r.max_receive_count);
            Cell::num(
                max.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
                max.unwrap_or(0) as f64,
                Tone::Normal,
            )
        }),
    ]
}

/// The dead-letter queues' columns: depth, sources, the oldest message a peek sampled, and
/// the move task running on it.
fn dlq_columns<'a>() -> Vec<Column<Queue, Ctx<'a>>> {
    vec![
        col("NAME", 23, false, 0, |_, q| {
            Cell::text(&q.name, Tone::Normal)
        }),
        col("VISIBLE", 8, true, 0, |_, q| {
            let tone = if q.visible > 0 {
                Tone::Danger
            } else {
                Tone::Normal
            };
            Cell::num(q.visible.to_string(), q.visible as f64, tone)
        }),
        col("SOURCES", 18, false, 1, |_, q| {
            Cell::text(
                q.sources
                    .iter()
                    .map(|s| short(s))
                    .collect::<Vec<_>>()
                    .join(","),
                Tone::Normal,
            )
        }),
        col("OLDEST", 7, true, 1, |c, q| {
            let (text, secs) = oldest_sampled(c.s, q)
                .map(|t| crate::app::rows::age(c.s.now, Some(t)))
                .unwrap_or_else(|| ("-".into(), -1.0));
            Cell::num(text, secs, Tone::Normal)
        }),
        col("REDRIVE", 18, false, 1, |c, q| match move_task(c.s, q) {
            Some(t) => Cell::text(task_line(t), Tone::Warning),
            None => Cell::text("-", Tone::Muted),
        }),
        col("ENCRYPTION", 20, false, 2, |c, q| match &q.encryption {
            QueueEncryption::Kms(k) => Cell::text(c.s.key_name(k), Tone::Normal),
            QueueEncryption::SqsManaged => Cell::text("SQS-managed", Tone::Warning),
            QueueEncryption::None => Cell::text("NONE", Tone::Danger),
        }),
    ]
}

/// When the oldest message the last peek of `q` saw was sent (kept in memory, per session).
fn oldest_sampled(s: &State, q: &Queue) -> Option<chrono::DateTime<chrono::Utc>> {
    s.data.peek_seen.get(&q.url).and_then(|seen| seen.oldest)
}

/// The move task running (or being cancelled) on the DLQ `q`.
fn move_task<'a>(s: &'a State, q: &Queue) -> Option<&'a crate::cloud::sqs::MoveTask> {
    crate::guard::sqs::active(&s.data.move_tasks)
        .filter(|t| t.source_arn == q.arn)
        .or_else(|| {
            s.data
                .move_tasks
                .iter()
                .find(|t| t.source_arn == q.arn && !t.is_terminal())
        })
}

/// `RUNNING 40/412 ETA 1m`.
fn task_line(t: &crate::cloud::sqs::MoveTask) -> String {
    let to = t
        .to_move
        .map(|n| n.to_string())
        .unwrap_or_else(|| "?".into());
    let eta = super::tasks::eta_secs(t)
        .map(|s| format!(" ETA {}", crate::app::rows::duration(s)))
        .unwrap_or_default();
    format!("{} {}/{to}{eta}", t.status, t.moved)
}

fn dlq_cell(c: &Ctx<'_>, q: &Queue) -> Cell {
    let text = match (&q.redrive, q.is_dlq()) {
        (Some(r), _) => {
            let target = short(&r.dead_letter_target_arn);
            match c.depths.get(r.dead_letter_target_arn.as_str()) {
                Some(d) => format!("→ {target} ({d})"),
                None => format!("→ {target}"),
            }
        }
        (None, true) => format!("DLQ ← {}", q.sources.len()),
        (None, false) => "none".into(),
    };
    let tone = if q.redrive.is_none() && !q.is_dlq() {
        Tone::Warning
    } else if q.is_dlq() && q.visible > 0 {
        Tone::Danger
    } else {
        Tone::Normal
    };
    Cell::text(text, tone)
}

impl Queues {
    fn find<'a>(&self, s: &'a State, key: &str) -> Option<&'a Queue> {
        s.data.queues.iter().find(|q| q.arn == key)
    }
}

impl Resource for Queues {
    fn title(&self) -> &'static str {
        if self.dlq_only {
            "Dead-letter queues"
        } else {
            "Queues"
        }
    }

    fn command(&self) -> Option<Command> {
        Some(if self.dlq_only {
            Command {
                name: "dlq",
                aliases: &["dlqs", "dead-letter"],
                about: "dead-letter queues, deepest first",
            }
        } else {
            Command {
                name: "queues",
                aliases: &["sqs", "queue"],
                about: "SQS queues with DLQs and depths",
            }
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        if self.dlq_only {
            &[Kind::Queues, Kind::Keys, Kind::MoveTasks]
        } else {
            &[Kind::Queues, Kind::Keys]
        }
    }

    fn heads(&self) -> Vec<Head> {
        if self.dlq_only {
            heads(&dlq_columns())
        } else {
            heads(&columns())
        }
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        let ctx = Ctx {
            s,
            depths: s
                .data
                .queues
                .iter()
                .map(|q| (q.arn.as_str(), q.visible))
                .collect(),
        };
        let cols: Vec<Column<Queue, Ctx>> = if self.dlq_only {
            dlq_columns()
        } else {
            columns().into()
        };
        let second = if self.dlq_only { "" } else { "TYPE" };
        s.data
            .queues
            .iter()
            .filter(|q| !self.dlq_only || q.is_dlq())
            .map(|q| match unknown(s, Kind::Queues, &q.url) {
                Some(why) => pending_row(
                    cols.len(),
                    &q.name,
                    if second.is_empty() { "" } else { kind(q) },
                    &q.arn,
                    why,
                ),
                None => row(&ctx, &cols, q, &q.arn),
            })
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        // Deepest first on the DLQ view (VISIBLE is its second column).
        if self.dlq_only { (1, true) } else { (0, false) }
    }

    fn listed_columns(&self) -> usize {
        2
    }

    fn fetch_id(&self, s: &State, key: &str) -> Option<String> {
        self.find(s, key).map(|q| q.url.clone())
    }

    /// SQS actions name a queue by its URL.
    fn action_target(
        &self,
        s: &State,
        key: &str,
        _binding: &super::ActionBinding,
    ) -> Result<String, String> {
        self.find(s, key).map(|q| q.url.clone()).ok_or_else(|| {
            format!("{key} is not in the loaded list: refresh (r) and select it again")
        })
    }

    fn actions(&self) -> &'static [ActionBinding] {
        if self.dlq_only { DLQ_ACTIONS } else { &[] }
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(q) = self.find(s, key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("Queue {}", q.name))
            .field("ARN", &q.arn)
            .field("URL", &q.url);
        p.field(
            "Encryption",
            match &q.encryption {
                QueueEncryption::Kms(k) => format!("KMS {}", s.key_name(k)),
                QueueEncryption::SqsManaged => "SQS-managed (SSE-SQS): no customer key".into(),
                QueueEncryption::None => "NONE: messages are not encrypted at rest".into(),
            },
        );
        if let Some(r) = &q.redrive {
            p.field(
                "Redrive policy",
                format!(
                    "→ {} after {} receives",
                    r.dead_letter_target_arn, r.max_receive_count
                ),
            );
        }
        if !q.sources.is_empty() {
            p.field("Dead-letter queue of", q.sources.join(", "));
            p.field(
                "Oldest sampled",
                match (oldest_sampled(s, q), s.data.peek_seen.get(&q.url)) {
                    (Some(t), Some(seen)) => format!(
                        "sent {} ago (of {} messages peeked {} ago)",
                        crate::app::rows::age(s.now, Some(t)).0,
                        seen.messages,
                        crate::app::rows::age(s.now, Some(seen.at)).0
                    ),
                    _ => "not sampled: peek the DLQ (Enter on its messages link, then p)".into(),
                },
            );
            if let Some(t) = move_task(s, q) {
                p.field(
                    "Redrive",
                    format!(
                        "{}; rate {}",
                        task_line(t),
                        t.rate
                            .map(|r| format!("{r}/s"))
                            .unwrap_or_else(|| "as fast as SQS goes".into())
                    ),
                );
            }
        }
        if let Some(r) = &q.redrive_allow {
            p.field("Redrive allow policy", r);
        }
        p.heading("Attributes");
        let utc = s.session.as_ref().is_some_and(|i| i.utc);
        for (k, v) in &q.attributes {
            if k != "Policy" && k != "RedrivePolicy" && k != "RedriveAllowPolicy" {
                // Times as dates, durations in words.
                p.field(k, crate::app::format::attribute_value(k, v, utc));
            }
        }
        if !q.tags.is_empty() {
            p.heading("Tags");
            for (k, v) in &q.tags {
                p.field(k, v);
            }
        }
        p.heading("Access policy");
        match &q.policy {
            Some(pol) => {
                if tls_only(pol) {
                    p.note(
                        "✓ TLS-only (denies aws:SecureTransport=false)",
                        Tone::Accent,
                    );
                } else {
                    p.note(
                        "✗ not TLS-only: add a Deny on aws:SecureTransport=false",
                        Tone::Warning,
                    );
                }
                p.block(pretty(pol));
            }
            None => {
                p.note("none (account defaults; not TLS-only)", Tone::Warning);
            }
        }
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(q) = self.find(s, key) else {
            return out;
        };
        if let Some(r) = &q.redrive {
            out.push(link(
                format!("DLQ {}", short(&r.dead_letter_target_arn)),
                Target::Select {
                    view: super::View::Queues,
                    key: r.dead_letter_target_arn.clone(),
                },
            ));
        }
        for src in &q.sources {
            out.push(link(
                format!("source queue {}", short(src)),
                Target::Select {
                    view: super::View::Queues,
                    key: src.clone(),
                },
            ));
        }
        if let QueueEncryption::Kms(k) = &q.encryption {
            out.push(key_link(s, k));
        }
        out.push(link(
            format!(
                "messages of this queue ({} visible; bodies hidden)",
                q.visible
            ),
            Target::Messages {
                url: q.url.clone(),
                arn: q.arn.clone(),
            },
        ));
        out.push(link(
            "CloudTrail events of this queue",
            Target::Events(EventFilter::ResourceName(q.arn.clone())),
        ));
        out
    }
}
