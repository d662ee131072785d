//! Table rows, built from loaded data when it changes (never per frame; each resource in
//! `app::resources` makes its own): cells already sanitised, a lower-case haystack for the
//! filter, and sort keys; and the filter/sort of a table.

use super::resources::Head;
use super::state::{State, Table, View};
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
    /// A good sign ("✓ TLS-only").
    Accent,
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

/// The column headers of a view (from its resource's typed columns).
pub fn columns(view: View) -> Vec<Head> {
    view.resource().heads()
}

/// How many of a view's first columns the list call itself gives (the rest come from per-item
/// calls and are unknown while a row loads).
pub fn listed_columns(view: View) -> usize {
    view.resource().listed_columns()
}

/// The default sort of a view: (column, descending).
pub fn default_sort(view: View) -> (usize, bool) {
    view.resource().default_sort()
}

/// Builds the rows of one view from the data.
pub fn build_rows(s: &State, view: View) -> Vec<Row> {
    view.resource().rows(s)
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

/// Seconds as `1h02m` or `3m05s` (`-` when negative: not finished).
pub fn duration(secs: i64) -> String {
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
