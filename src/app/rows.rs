//! Table rows for every view, built from loaded data when it changes (never per frame): cells
//! already sanitised, a lower-case haystack for the filter, and sort keys.

use super::state::{State, Table, View};
use crate::cloud::sqs::{Queue, QueueEncryption};
use crate::sanitize::clean;
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Num(f64),
    Text(String),
    /// Not known yet (the row's details are loading): sorts last in either direction.
    Pending,
}

impl SortKey {
    fn cmp(&self, other: &SortKey) -> Ordering {
        match (self, other) {
            (SortKey::Pending, SortKey::Pending) => Ordering::Equal,
            (SortKey::Pending, _) => Ordering::Greater,
            (_, SortKey::Pending) => Ordering::Less,
            (SortKey::Num(a), SortKey::Num(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
            (SortKey::Num(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Num(_)) => Ordering::Greater,
        }
    }
}

/// How a cell is emphasised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    Warning,
    Danger,
    Muted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Identity of the row (ARN or id) for selection and links.
    pub key: String,
    pub cells: Vec<String>,
    pub tones: Vec<Tone>,
    pub sort: Vec<SortKey>,
    pub haystack: String,
}

pub struct Column {
    pub name: &'static str,
    /// Width; the last shown column takes the rest.
    pub width: u16,
    pub numeric: bool,
    /// 0 = always shown; higher numbers are dropped first on narrow terminals.
    pub priority: u8,
}

const fn col(name: &'static str, width: u16, numeric: bool, priority: u8) -> Column {
    Column {
        name,
        width,
        numeric,
        priority,
    }
}

const QUEUE_COLS: &[Column] = &[
    col("NAME", 23, false, 0),
    col("TYPE", 4, false, 3),
    col("VISIBLE", 8, true, 0),
    col("IN-FLIGHT", 9, true, 2),
    col("DELAYED", 7, true, 3),
    col("DLQ", 20, false, 1),
    col("ENCRYPTION", 20, false, 1),
    col("MAX RCV", 7, true, 2),
];
const TOPIC_COLS: &[Column] = &[
    col("NAME", 26, false, 0),
    col("TYPE", 4, false, 2),
    col("SUBS", 4, true, 0),
    col("PROTOCOLS", 10, false, 2),
    col("KMS KEY", 24, false, 1),
    col("DATA PROTECTION", 15, false, 1),
];
const KEY_COLS: &[Column] = &[
    col("ALIAS", 28, false, 0),
    col("KEY ID", 8, false, 3),
    col("STATE", 15, false, 1),
    col("SPEC", 17, false, 2),
    col("MANAGER", 8, false, 2),
    col("ROTATION", 8, false, 0),
    col("PERIOD", 6, true, 1),
    col("NEXT ROTATION", 13, false, 1),
    col("LAST ROTATION", 13, false, 3),
    col("ON-DEMAND", 9, true, 2),
];
const VAULT_COLS: &[Column] = &[
    col("NAME", 22, false, 0),
    col("LOCK", 8, false, 0),
    col("RETENTION", 11, false, 1),
    col("POINTS", 6, true, 0),
    col("KMS KEY", 24, false, 1),
    col("CREATED", 16, false, 2),
];
const POINT_COLS: &[Column] = &[
    col("RESOURCE", 22, false, 0),
    col("TYPE", 8, false, 1),
    col("VAULT", 20, false, 2),
    col("CREATED", 16, false, 0),
    col("SIZE", 9, true, 1),
    col("STATUS", 9, false, 0),
    col("AGE (RPO)", 9, true, 0),
];
const JOB_COLS: &[Column] = &[
    col("KIND", 7, false, 0),
    col("JOB ID", 10, false, 3),
    col("RESOURCE", 24, false, 0),
    col("STATE", 10, false, 0),
    col("CREATED", 16, false, 1),
    col("DURATION", 8, true, 2),
    col("PROGRESS / VALIDATION", 20, false, 1),
];
const PLAN_COLS: &[Column] = &[
    col("KIND", 20, false, 1),
    col("NAME", 28, false, 0),
    col("SCHEDULE", 24, false, 0),
    col("LAST RUN", 16, false, 1),
];
const EVENT_COLS: &[Column] = &[
    col("TIME", 19, false, 0),
    col("EVENT", 24, false, 0),
    col("SOURCE", 22, false, 1),
    col("USER", 20, false, 1),
    col("RO", 3, false, 2),
    col("RESOURCE", 30, false, 2),
];

const MESSAGE_COLS: &[Column] = &[
    col("MESSAGE ID", 12, false, 0),
    col("SENT", 16, false, 0),
    col("RECEIVES", 8, true, 0),
    col("SIZE", 8, true, 1),
    col("ERROR", 28, false, 0),
    col("BODY", 9, false, 0),
];
const AUDIT_COLS: &[Column] = &[
    col("SEQ", 5, true, 0),
    col("TIME", 19, false, 0),
    col("KIND", 8, false, 0),
    col("ACTION / EVENT", 24, false, 0),
    col("TARGET", 30, false, 1),
    col("OUTCOME", 12, false, 0),
    col("WHO", 16, false, 2),
];

/// The columns that fit `width` (most important first, greedily), in their display order.
pub fn fitting_columns(view: View, width: u16) -> Vec<usize> {
    let cols = columns(view);
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|i| (cols[*i].priority, *i));
    let mut chosen: Vec<usize> = Vec::new();
    let mut used: u16 = 0;
    for i in order {
        let extra = cols[i].width + if chosen.is_empty() { 0 } else { 1 };
        if used + extra <= width || chosen.is_empty() {
            used += extra;
            chosen.push(i);
        }
    }
    chosen.sort();
    chosen
}

pub fn columns(view: View) -> &'static [Column] {
    match view {
        View::Queues | View::Dlq => QUEUE_COLS,
        View::Topics => TOPIC_COLS,
        View::Keys => KEY_COLS,
        View::Vaults => VAULT_COLS,
        View::Points => POINT_COLS,
        View::Jobs => JOB_COLS,
        View::Plans => PLAN_COLS,
        View::Events => EVENT_COLS,
        View::Audit => AUDIT_COLS,
        View::Messages => MESSAGE_COLS,
    }
}

/// How many of a view's first columns the list call itself gives (the rest come from per-item
/// calls and are unknown while a row loads).
pub fn listed_columns(view: View) -> usize {
    match view {
        View::Queues | View::Dlq | View::Topics | View::Keys => 2,
        _ => usize::MAX,
    }
}

/// Why a progressive list's item has no details: still loading, or its calls failed (then its
/// data is only the listed placeholder, whose zeros and "none" must not show as facts).
fn unknown(s: &State, kind: super::state::Kind, id: &str) -> Option<&'static str> {
    let st = s.status(kind);
    if st.pending.contains(id) {
        Some("loading…")
    } else if st.item_errors.contains_key(id) {
        Some("unreadable")
    } else {
        None
    }
}

/// The row of an item whose details are still loading (or could not be read): the listed
/// columns, then why the rest is empty.
fn pending_row(view: View, name: &str, second: &str, key: &str, why: &str) -> Row {
    let cols = columns(view);
    let mut b = RowBuilder::new()
        .text(name, Tone::Normal)
        .text(second, Tone::Muted);
    for i in 2..cols.len() {
        // The first unknown cell says why it is empty; the others only that they are.
        b.cells.push(if i == 2 { why } else { "…" }.into());
        b.tones.push(if why == "unreadable" {
            Tone::Warning
        } else {
            Tone::Muted
        });
        b.sort.push(SortKey::Pending);
    }
    let mut row = b.build(key);
    row.haystack.push(' ');
    row.haystack.push_str(why.trim_end_matches('…'));
    row
}

/// The default sort of a view: (column, descending).
pub fn default_sort(view: View) -> (usize, bool) {
    match view {
        View::Dlq => (2, true),
        View::Points => (3, true),
        View::Jobs => (4, true),
        View::Events => (0, true),
        View::Audit => (0, true),
        View::Messages => (1, true),
        _ => (0, false),
    }
}

pub fn time_cell(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn age(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> (String, f64) {
    match t {
        Some(t) => {
            let d = now - t;
            let secs = d.num_seconds().max(0) as f64;
            let s = if d.num_days() >= 1 {
                format!("{}d{}h", d.num_days(), d.num_hours() % 24)
            } else if d.num_hours() >= 1 {
                format!("{}h{}m", d.num_hours(), d.num_minutes() % 60)
            } else {
                format!("{}m", d.num_minutes().max(0))
            };
            (s, secs)
        }
        None => ("-".into(), f64::MAX),
    }
}

pub fn bytes(n: Option<i64>) -> String {
    match n {
        None => "-".into(),
        Some(n) => {
            let units = ["B", "KiB", "MiB", "GiB", "TiB"];
            let mut v = n as f64;
            let mut u = 0;
            while v >= 1024.0 && u < units.len() - 1 {
                v /= 1024.0;
                u += 1;
            }
            if u == 0 {
                format!("{n} B")
            } else {
                format!("{v:.1} {}", units[u])
            }
        }
    }
}

fn name_of_arn(arn: &str) -> &str {
    arn.rsplit([':', '/']).next().unwrap_or(arn)
}

struct RowBuilder {
    cells: Vec<String>,
    tones: Vec<Tone>,
    sort: Vec<SortKey>,
}

impl RowBuilder {
    fn new() -> Self {
        RowBuilder {
            cells: Vec::new(),
            tones: Vec::new(),
            sort: Vec::new(),
        }
    }
    fn text(mut self, s: &str, tone: Tone) -> Self {
        let c = clean(s).into_owned();
        self.sort.push(SortKey::Text(c.to_lowercase()));
        self.cells.push(c);
        self.tones.push(tone);
        self
    }
    fn num(mut self, shown: String, v: f64, tone: Tone) -> Self {
        self.cells.push(clean(&shown).into_owned());
        self.sort.push(SortKey::Num(v));
        self.tones.push(tone);
        self
    }
    fn build(self, key: &str) -> Row {
        let haystack = self.cells.join(" ").to_lowercase() + " " + &key.to_lowercase();
        Row {
            key: key.to_string(),
            cells: self.cells,
            tones: self.tones,
            sort: self.sort,
            haystack,
        }
    }
}

/// Each queue's visible depth by ARN, built once per rebuild: a row's DLQ cell looks its
/// target up here (a scan of every queue per row made a rebuild of N queues O(N²)).
fn depths(s: &State) -> std::collections::HashMap<&str, u64> {
    s.data
        .queues
        .iter()
        .map(|q| (q.arn.as_str(), q.visible))
        .collect()
}

fn queue_row(
    s: &State,
    view: View,
    q: &Queue,
    depths: &std::collections::HashMap<&str, u64>,
) -> Row {
    if let Some(why) = unknown(s, super::state::Kind::Queues, &q.url) {
        return pending_row(
            view,
            &q.name,
            if q.fifo { "FIFO" } else { "STD" },
            &q.arn,
            why,
        );
    }
    let dlq = match (&q.redrive, q.is_dlq()) {
        (Some(r), _) => {
            let target = name_of_arn(&r.dead_letter_target_arn);
            let depth = depths.get(r.dead_letter_target_arn.as_str()).copied();
            match depth {
                Some(d) => format!("→ {target} ({d})"),
                None => format!("→ {target}"),
            }
        }
        (None, true) => format!("DLQ ← {}", q.sources.len()),
        (None, false) => "none".into(),
    };
    let (enc, enc_tone) = match &q.encryption {
        QueueEncryption::Kms(k) => (s.key_name(k), Tone::Normal),
        QueueEncryption::SqsManaged => ("SQS-managed".into(), Tone::Warning),
        QueueEncryption::None => ("NONE".into(), Tone::Danger),
    };
    let dlq_tone = if q.redrive.is_none() && !q.is_dlq() {
        Tone::Warning
    } else if q.is_dlq() && q.visible > 0 {
        Tone::Danger
    } else {
        Tone::Normal
    };
    let max = q.redrive.as_ref().map(|r| r.max_receive_count);
    RowBuilder::new()
        .text(&q.name, Tone::Normal)
        .text(if q.fifo { "FIFO" } else { "STD" }, Tone::Normal)
        .num(
            q.visible.to_string(),
            q.visible as f64,
            if q.is_dlq() && q.visible > 0 {
                Tone::Danger
            } else {
                Tone::Normal
            },
        )
        .num(q.in_flight.to_string(), q.in_flight as f64, Tone::Normal)
        .num(q.delayed.to_string(), q.delayed as f64, Tone::Normal)
        .text(&dlq, dlq_tone)
        .text(&enc, enc_tone)
        .num(
            max.map(|m| m.to_string()).unwrap_or_else(|| "-".into()),
            max.unwrap_or(0) as f64,
            Tone::Normal,
        )
        .build(&q.arn)
}

/// Builds the rows of one view from the data.
pub fn build_rows(s: &State, view: View) -> Vec<Row> {
    let now = s.now;
    match view {
        View::Queues => {
            let depths = depths(s);
            s.data
                .queues
                .iter()
                .map(|q| queue_row(s, view, q, &depths))
                .collect()
        }
        View::Dlq => {
            let depths = depths(s);
            s.data
                .queues
                .iter()
                .filter(|q| q.is_dlq())
                .map(|q| queue_row(s, view, q, &depths))
                .collect()
        }
        View::Topics => s
            .data
            .topics
            .iter()
            .map(|t| {
                if let Some(why) = unknown(s, super::state::Kind::Topics, &t.arn) {
                    let second = if t.fifo { "FIFO" } else { "STD" };
                    return pending_row(view, &t.name, second, &t.arn, why);
                }
                let mut protos: Vec<&str> = t
                    .subscriptions
                    .iter()
                    .map(|x| x.protocol.as_str())
                    .collect();
                protos.sort();
                protos.dedup();
                RowBuilder::new()
                    .text(&t.name, Tone::Normal)
                    .text(if t.fifo { "FIFO" } else { "STD" }, Tone::Normal)
                    .num(
                        t.subscriptions.len().to_string(),
                        t.subscriptions.len() as f64,
                        Tone::Normal,
                    )
                    .text(&protos.join(","), Tone::Normal)
                    .text(
                        &t.kms_key
                            .as_deref()
                            .map(|k| s.key_name(k))
                            .unwrap_or_else(|| "NONE".into()),
                        if t.kms_key.is_some() {
                            Tone::Normal
                        } else {
                            Tone::Danger
                        },
                    )
                    .text(
                        if t.data_protection_policy.is_some() {
                            "yes"
                        } else {
                            "no"
                        },
                        Tone::Normal,
                    )
                    .build(&t.arn)
            })
            .collect(),
        View::Keys => s
            .data
            .keys
            .iter()
            .map(|k| {
                if let Some(why) = unknown(s, super::state::Kind::Keys, &k.id) {
                    let short: String = k.id.chars().take(8).collect();
                    let alias = k
                        .aliases
                        .first()
                        .map(String::as_str)
                        .unwrap_or("(no alias)");
                    return pending_row(view, alias, &short, &k.arn, why);
                }
                let (rot, rot_tone, period, next) = match &k.rotation {
                    Some(r) if r.enabled => (
                        if r.on_demand_started.is_some() {
                            "rotating"
                        } else {
                            "on"
                        },
                        Tone::Normal,
                        r.period_days
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "-".into()),
                        r.next
                            .map(|n| n.format("%Y-%m-%d").to_string())
                            .unwrap_or_else(|| "-".into()),
                    ),
                    Some(_) if !k.customer_managed => {
                        ("aws", Tone::Muted, "365".into(), "-".into())
                    }
                    Some(_) => ("OFF", Tone::Danger, "-".into(), "-".into()),
                    None => ("n/a", Tone::Muted, "-".into(), "-".into()),
                };
                let state_tone = if k.state == "Enabled" {
                    Tone::Normal
                } else {
                    Tone::Warning
                };
                let short = k.id.get(..8).unwrap_or(&k.id);
                RowBuilder::new()
                    .text(
                        k.aliases
                            .first()
                            .map(String::as_str)
                            .unwrap_or("(no alias)"),
                        Tone::Normal,
                    )
                    .text(short, Tone::Muted)
                    .text(&k.state, state_tone)
                    .text(&k.spec, Tone::Normal)
                    .text(
                        if k.customer_managed {
                            "CUSTOMER"
                        } else {
                            "AWS"
                        },
                        Tone::Normal,
                    )
                    .text(rot, rot_tone)
                    .num(period.clone(), period.parse().unwrap_or(0.0), Tone::Normal)
                    .text(&next, Tone::Normal)
                    .text(
                        &k.last_rotation()
                            .map(|t| t.format("%Y-%m-%d").to_string())
                            .unwrap_or_else(|| "-".into()),
                        Tone::Normal,
                    )
                    .num(
                        format!(
                            "{}/{}",
                            k.on_demand_used(),
                            crate::cloud::kms::ON_DEMAND_ROTATION_QUOTA
                        ),
                        k.on_demand_used() as f64,
                        Tone::Normal,
                    )
                    .build(&k.arn)
            })
            .collect(),
        View::Vaults => s
            .data
            .vaults
            .iter()
            .map(|v| {
                let retention = match (v.min_retention_days, v.max_retention_days) {
                    (Some(a), Some(b)) => format!("{a}-{b}d"),
                    (Some(a), None) => format!("≥{a}d"),
                    (None, Some(b)) => format!("≤{b}d"),
                    (None, None) => "-".into(),
                };
                RowBuilder::new()
                    .text(&v.name, Tone::Normal)
                    .text(
                        if v.locked { "LOCKED" } else { "unlocked" },
                        if v.locked {
                            Tone::Normal
                        } else {
                            Tone::Warning
                        },
                    )
                    .text(&retention, Tone::Normal)
                    .num(
                        v.recovery_points.to_string(),
                        v.recovery_points as f64,
                        Tone::Normal,
                    )
                    .text(
                        &v.encryption_key
                            .as_deref()
                            .map(|k| s.key_name(k))
                            .unwrap_or_else(|| "-".into()),
                        Tone::Normal,
                    )
                    .text(&time_cell(v.created), Tone::Normal)
                    .build(&v.arn)
            })
            .collect(),
        View::Points => s
            .data
            .points
            .iter()
            .map(|p| {
                let (age_s, age_v) = age(now, p.created);
                let stale = age_v > 36.0 * 3600.0;
                RowBuilder::new()
                    .text(
                        p.resource_name
                            .as_deref()
                            .unwrap_or_else(|| name_of_arn(&p.resource_arn)),
                        Tone::Normal,
                    )
                    .text(&p.resource_type, Tone::Normal)
                    .text(&p.vault, Tone::Normal)
                    .text(&time_cell(p.created), Tone::Normal)
                    .num(
                        bytes(p.size_bytes),
                        p.size_bytes.unwrap_or(0) as f64,
                        Tone::Normal,
                    )
                    .text(
                        &p.status,
                        if p.status == "COMPLETED" {
                            Tone::Normal
                        } else {
                            Tone::Warning
                        },
                    )
                    .num(
                        age_s,
                        age_v,
                        if stale { Tone::Warning } else { Tone::Normal },
                    )
                    .build(&p.arn)
            })
            .collect(),
        View::Jobs => {
            let mut rows: Vec<Row> = s
                .data
                .backup_jobs
                .iter()
                .map(|j| {
                    let tone = match j.state.as_str() {
                        "FAILED" | "ABORTED" => Tone::Danger,
                        "EXPIRED" | "PARTIAL" => Tone::Warning,
                        _ => Tone::Normal,
                    };
                    let dur = match (j.created, j.completed) {
                        (Some(a), Some(b)) => (b - a).num_seconds(),
                        _ => -1,
                    };
                    RowBuilder::new()
                        .text("backup", Tone::Muted)
                        .text(j.id.get(..8).unwrap_or(&j.id), Tone::Muted)
                        .text(name_of_arn(&j.resource_arn), Tone::Normal)
                        .text(&j.state, tone)
                        .text(&time_cell(j.created), Tone::Normal)
                        .num(duration(dur), dur as f64, Tone::Normal)
                        .text(j.status_message.as_deref().unwrap_or(""), tone)
                        .build(&j.id)
                })
                .collect();
            rows.extend(s.data.restore_jobs.iter().map(|j| {
                let tone = match j.status.as_str() {
                    "FAILED" | "ABORTED" => Tone::Danger,
                    "PENDING" | "RUNNING" => Tone::Warning,
                    _ => Tone::Normal,
                };
                let dur = j.duration().map(|d| d.num_seconds()).unwrap_or(-1);
                let progress = match (&j.validation_status, &j.percent_done) {
                    (Some(v), _) => format!("validation {v}"),
                    (None, Some(p)) if !j.is_finished() => p.clone(),
                    _ => j.status_message.clone().unwrap_or_default(),
                };
                RowBuilder::new()
                    .text("restore", Tone::Normal)
                    .text(j.id.get(..8).unwrap_or(&j.id), Tone::Muted)
                    .text(
                        j.created_resource_arn
                            .as_deref()
                            .map(name_of_arn)
                            .unwrap_or(&j.resource_type),
                        Tone::Normal,
                    )
                    .text(&j.status, tone)
                    .text(&time_cell(j.created), Tone::Normal)
                    .num(duration(dur), dur as f64, Tone::Normal)
                    .text(&progress, tone)
                    .build(&j.id)
            }));
            rows
        }
        View::Plans => {
            let mut rows: Vec<Row> = s
                .data
                .plans
                .iter()
                .map(|p| {
                    RowBuilder::new()
                        .text("backup plan", Tone::Normal)
                        .text(&p.name, Tone::Normal)
                        .text("-", Tone::Muted)
                        .text(&time_cell(p.last_execution), Tone::Normal)
                        .build(&p.arn)
                })
                .collect();
            rows.extend(s.data.testing_plans.iter().map(|p| {
                RowBuilder::new()
                    .text("restore testing plan", Tone::Normal)
                    .text(&p.name, Tone::Normal)
                    .text(&p.schedule, Tone::Normal)
                    .text(&time_cell(p.last_execution), Tone::Normal)
                    .build(&p.arn)
            }));
            rows
        }
        View::Events => s
            .data
            .events
            .iter()
            .map(|e| {
                let resource = e.resources.first().map(|(_, n)| n.as_str()).unwrap_or("");
                let mut row = RowBuilder::new()
                    .text(
                        &e.time
                            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                            .unwrap_or_default(),
                        Tone::Normal,
                    )
                    .text(
                        &e.name,
                        if e.read_only == Some(false) {
                            Tone::Warning
                        } else {
                            Tone::Normal
                        },
                    )
                    .text(&e.source, Tone::Normal)
                    .text(e.username.as_deref().unwrap_or("-"), Tone::Normal)
                    .text(
                        match e.read_only {
                            Some(true) => "yes",
                            Some(false) => "no",
                            None => "-",
                        },
                        Tone::Normal,
                    )
                    .text(resource, Tone::Normal)
                    .build(&e.id);
                // The request id is searchable, so an audit record can find its call.
                if let Some(id) = &e.request_id {
                    row.haystack.push(' ');
                    row.haystack.push_str(&id.to_lowercase());
                }
                row
            })
            .collect(),
        View::Messages => s
            .data
            .messages
            .iter()
            .map(|m| {
                // The error a failed stage attached, if any (attribute values are shown; the
                // body never is, and is not searchable either).
                let error = m
                    .attributes
                    .iter()
                    .find(|(k, _)| k.to_ascii_lowercase().contains("error"))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| "-".into());
                let revealed = s.data.revealed.contains(&m.id);
                RowBuilder::new()
                    .text(m.id.get(..8).unwrap_or(&m.id), Tone::Muted)
                    .text(&time_cell(m.sent), Tone::Normal)
                    .num(
                        m.receive_count.to_string(),
                        m.receive_count as f64,
                        if m.receive_count > 1 {
                            Tone::Warning
                        } else {
                            Tone::Normal
                        },
                    )
                    .num(bytes(Some(m.size as i64)), m.size as f64, Tone::Normal)
                    .text(
                        &error,
                        if error == "-" {
                            Tone::Normal
                        } else {
                            Tone::Danger
                        },
                    )
                    .text(
                        if revealed { "REVEALED" } else { "hidden" },
                        if revealed { Tone::Warning } else { Tone::Muted },
                    )
                    .build(&m.id)
            })
            .collect(),
        View::Audit => s
            .data
            .audit
            .iter()
            .map(|r| {
                use crate::audit::{Kind as K, Status};
                let kind = match r.kind {
                    K::Intent => "intent",
                    K::Outcome => "outcome",
                    K::Session => "session",
                    K::Reveal => "reveal",
                    K::Seal => "seal",
                    K::Task => "task",
                };
                let action = r
                    .what
                    .as_ref()
                    .map(|w| w.action.clone())
                    .or_else(|| r.event.clone())
                    .unwrap_or_else(|| "-".into());
                let target = r
                    .what
                    .as_ref()
                    .and_then(|w| w.targets.first().cloned())
                    .unwrap_or_default();
                let (outcome, tone) = match &r.outcome {
                    Some(o) => match o.status {
                        Status::Succeeded => ("succeeded".to_string(), Tone::Normal),
                        Status::Failed => (
                            format!("FAILED {}", o.error_code.clone().unwrap_or_default()),
                            Tone::Danger,
                        ),
                        Status::Cancelled => ("cancelled".to_string(), Tone::Warning),
                        Status::Interrupted => ("INTERRUPTED".to_string(), Tone::Danger),
                    },
                    None if matches!(r.kind, K::Intent) => {
                        let answered = s
                            .data
                            .audit
                            .iter()
                            .any(|o| o.intent_id.as_deref() == Some(r.id.as_str()));
                        if answered {
                            ("-".to_string(), Tone::Normal)
                        } else {
                            ("UNFINISHED".to_string(), Tone::Danger)
                        }
                    }
                    None => ("-".to_string(), Tone::Normal),
                };
                let who = r
                    .who
                    .as_ref()
                    .and_then(|w| w.os_user.clone())
                    .unwrap_or_default();
                RowBuilder::new()
                    .num(r.seq.to_string(), r.seq as f64, Tone::Muted)
                    .text(
                        &r.time
                            .replace('T', " ")
                            .chars()
                            .take(19)
                            .collect::<String>(),
                        Tone::Normal,
                    )
                    .text(
                        kind,
                        if matches!(r.kind, K::Intent | K::Outcome) {
                            Tone::Warning
                        } else {
                            Tone::Normal
                        },
                    )
                    .text(&action, Tone::Normal)
                    .text(&target, Tone::Normal)
                    .text(&outcome, tone)
                    .text(&who, Tone::Normal)
                    .build(&r.id)
            })
            .collect(),
    }
}

fn duration(secs: i64) -> String {
    if secs < 0 {
        "-".into()
    } else if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
    } else {
        format!("{}m{:02}s", secs / 60, secs % 60)
    }
}

/// Recomputes `visible` from the filter and sort, keeping the selected row when it survives.
pub fn refilter(t: &mut Table) {
    let needle = t.filter.to_lowercase();
    let mut visible: Vec<usize> = (0..t.rows.len())
        .filter(|i| needle.is_empty() || t.rows[*i].haystack.contains(&needle))
        .collect();
    let col = t.sort_col;
    let desc = t.sort_desc;
    let rows = &t.rows;
    visible.sort_by(|a, b| {
        let (ra, rb) = (&rows[*a], &rows[*b]);
        let o = match (ra.sort.get(col), rb.sort.get(col)) {
            // Rows still loading go last whichever the direction.
            (Some(x @ SortKey::Pending), Some(y)) | (Some(x), Some(y @ SortKey::Pending)) => {
                return x.cmp(y).then_with(|| ra.key.cmp(&rb.key));
            }
            (Some(x), Some(y)) => x.cmp(y),
            _ => Ordering::Equal,
        };
        let o = if desc { o.reverse() } else { o };
        o.then_with(|| ra.key.cmp(&rb.key))
    });
    t.visible = visible;
    t.selected = match &t.selected_key {
        Some(k) => t
            .visible
            .iter()
            .position(|i| &t.rows[*i].key == k)
            .unwrap_or(t.selected.min(t.visible.len().saturating_sub(1))),
        None => 0,
    };
    if t.visible.is_empty() {
        t.selected = 0;
    }
    t.selected_key = t.selected_row().map(|r| r.key.clone());
}
