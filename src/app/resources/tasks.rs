//! SQS message move tasks (DLQ redrives): the recent tasks of every dead-letter queue, with
//! their progress, rate, estimated time to finish and failure.

use super::{Cell, Column, Command, Detail, Head, Pane, Resource, col, heads, row, when};
use crate::app::links::{Link, Target, link, short};
use crate::app::rows::{Row, Tone, duration, time_cell};
use crate::app::state::{Kind, State};
use crate::cloud::cloudtrail::EventFilter;
use crate::cloud::sqs::MoveTask;

pub struct Tasks;

/// A task's row key: its DLQ and start time (an ended task has no handle).
pub fn key_of(t: &MoveTask) -> String {
    format!(
        "{}#{}",
        t.source_arn,
        t.started.map(|s| s.timestamp_millis()).unwrap_or_default()
    )
}

fn tone(t: &MoveTask) -> Tone {
    match t.status.as_str() {
        "FAILED" => Tone::Danger,
        "RUNNING" | "CANCELLING" => Tone::Warning,
        "CANCELLED" => Tone::Muted,
        _ => Tone::Normal,
    }
}

/// Seconds until a running task has moved the rest, at its rate (`None`: not running, or
/// unknown).
pub fn eta_secs(t: &MoveTask) -> Option<i64> {
    if t.status != "RUNNING" {
        return None;
    }
    let rate = u64::try_from(t.rate.unwrap_or(500))
        .ok()
        .filter(|r| *r > 0)?;
    let left = t.to_move?.saturating_sub(t.moved);
    i64::try_from(left.div_ceil(rate)).ok()
}

fn progress(t: &MoveTask) -> String {
    match t.to_move {
        Some(n) => format!("{} / {n}", t.moved),
        None => format!("{} / ?", t.moved),
    }
}

fn columns() -> [Column<MoveTask>; 7] {
    [
        col("DLQ", 24, false, 0, |_, t| {
            Cell::text(short(&t.source_arn), Tone::Normal)
        }),
        col("STATUS", 10, false, 0, |_, t| {
            Cell::text(&t.status, tone(t))
        }),
        col("MOVED / TO MOVE", 15, true, 0, |_, t| {
            Cell::num(progress(t), t.moved as f64, Tone::Normal)
        }),
        col("RATE", 6, true, 2, |_, t| {
            let r = t.rate.unwrap_or(0);
            Cell::num(
                t.rate
                    .map(|r| format!("{r}/s"))
                    .unwrap_or_else(|| "-".into()),
                f64::from(r),
                Tone::Normal,
            )
        }),
        col("STARTED", 16, false, 1, |_, t| {
            Cell::text(time_cell(t.started), Tone::Normal)
        }),
        col("ETA", 8, true, 1, |_, t| {
            let eta = eta_secs(t);
            Cell::num(
                eta.map(duration).unwrap_or_else(|| "-".into()),
                eta.unwrap_or(-1) as f64,
                Tone::Normal,
            )
        }),
        col("FAILURE", 20, false, 2, |_, t| {
            Cell::text(t.failure.as_deref().unwrap_or(""), Tone::Danger)
        }),
    ]
}

impl Tasks {
    fn find<'a>(&self, s: &'a State, key: &str) -> Option<&'a MoveTask> {
        s.data.move_tasks.iter().find(|t| key_of(t) == key)
    }
}

impl Resource for Tasks {
    fn title(&self) -> &'static str {
        "Message move tasks (DLQ redrives)"
    }

    fn command(&self) -> Option<Command> {
        Some(Command {
            name: "tasks",
            aliases: &["move-tasks"],
            about: "message move tasks (DLQ redrives): progress, rate, ETA",
        })
    }

    fn kinds(&self) -> &'static [Kind] {
        &[Kind::MoveTasks]
    }

    fn heads(&self) -> Vec<Head> {
        heads(&columns())
    }

    fn rows(&self, s: &State) -> Vec<Row> {
        let cols = columns();
        s.data
            .move_tasks
            .iter()
            .map(|t| row(s, &cols, t, &key_of(t)))
            .collect()
    }

    fn default_sort(&self) -> (usize, bool) {
        (4, true)
    }

    fn detail(&self, s: &State, key: &str) -> Vec<Detail> {
        let Some(t) = self.find(s, key) else {
            return Vec::new();
        };
        let mut p = Pane::default();
        p.heading(format!("Move task of {}", short(&t.source_arn)))
            .field("Status", &t.status)
            .field("Dead-letter queue", &t.source_arn)
            .field(
                "Destination",
                t.destination_arn
                    .as_deref()
                    .unwrap_or("the source queues (each message back where it came from)"),
            )
            .field("Moved / to move", progress(t))
            .field(
                "Rate",
                t.rate
                    .map(|r| format!("{r} messages a second (at most)"))
                    .unwrap_or_else(|| "-".into()),
            )
            .field("Started", when(s, t.started))
            .field(
                "Estimated time left",
                eta_secs(t).map(duration).unwrap_or_else(|| "-".into()),
            )
            .field("Task handle", t.handle.as_deref().unwrap_or("- (ended)"))
            .field("Failure", t.failure.as_deref().unwrap_or("-"));
        if t.status == "RUNNING" {
            p.note(
                "cancel it from the DLQ view (X, guarded); redrive again there (M) once it ended",
                Tone::Muted,
            );
        }
        p.0
    }

    fn links(&self, s: &State, key: &str) -> Vec<Link> {
        let mut out = Vec::new();
        let Some(t) = self.find(s, key) else {
            return out;
        };
        out.push(link(
            format!("DLQ {}", short(&t.source_arn)),
            Target::Select {
                view: super::View::Dlq,
                key: t.source_arn.clone(),
            },
        ));
        if let Some(d) = &t.destination_arn {
            out.push(link(
                format!("destination {}", short(d)),
                Target::Select {
                    view: super::View::Queues,
                    key: d.clone(),
                },
            ));
        }
        out.push(link(
            "CloudTrail events of this DLQ",
            Target::Events(EventFilter::ResourceName(t.source_arn.clone())),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::test_support::now;

    fn state(tasks: Vec<MoveTask>) -> State {
        let mut s = State::new(
            now(),
            crate::app::keymap::Keymap::default_keymap(),
            Default::default(),
        );
        s.data.move_tasks = tasks;
        s
    }

    fn running() -> MoveTask {
        MoveTask {
            handle: Some("h-1".into()),
            status: "RUNNING".into(),
            source_arn: "arn:aws:sqs:us-east-1:123456789012:claims-notify-dlq".into(),
            destination_arn: None,
            rate: Some(2),
            moved: 5,
            to_move: Some(25),
            failure: None,
            started: Some(now()),
        }
    }

    #[test]
    fn rows_show_progress_rate_and_the_eta_of_running_tasks() {
        let failed = MoveTask {
            handle: None,
            status: "FAILED".into(),
            source_arn: "arn:aws:sqs:us-east-1:123456789012:claims-validation-dlq".into(),
            destination_arn: Some("arn:aws:sqs:us-east-1:123456789012:claims-intake".into()),
            rate: Some(500),
            moved: 3,
            to_move: Some(12),
            failure: Some("AccessDenied".into()),
            started: Some(now() - chrono::Duration::hours(1)),
        };
        let s = state(vec![running(), failed.clone()]);
        let rows = Tasks.rows(&s);
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.cells[0], "claims-notify-dlq");
        assert_eq!(r.cells[1], "RUNNING");
        assert_eq!(r.cells[2], "5 / 25");
        assert_eq!(r.cells[3], "2/s");
        // 20 left at 2 a second.
        assert_eq!(eta_secs(&running()), Some(10));
        assert_eq!(r.cells[5], duration(10));
        assert_eq!(r.cells[6], "");
        let f = &rows[1];
        assert_eq!(
            (
                f.cells[1].as_str(),
                f.cells[2].as_str(),
                f.cells[5].as_str()
            ),
            ("FAILED", "3 / 12", "-")
        );
        assert_eq!(f.cells[6], "AccessDenied");
        assert_ne!(r.key, f.key);
        // An uneven rest rounds up; no rate means SQS's maximum.
        let t = MoveTask {
            moved: 0,
            to_move: Some(501),
            rate: None,
            ..running()
        };
        assert_eq!(eta_secs(&t), Some(2));
        // The detail and links of the failed one: its destination and its DLQ.
        let d = format!("{:?}", Tasks.detail(&s, &f.key));
        assert!(
            d.contains("claims-intake") && d.contains("AccessDenied"),
            "{d}"
        );
        let links = Tasks.links(&s, &f.key);
        assert!(matches!(
            &links[0].target,
            Target::Select { view: super::super::View::Dlq, key } if key == &failed.source_arn
        ));
        assert!(links.iter().any(|l| l.label == "destination claims-intake"));
    }
}
