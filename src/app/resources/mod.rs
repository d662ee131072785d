//! Resources: one module per kind of thing the console lists. Each declares, in one place,
//! what its view is called and which commands open it, the data it needs, its columns (each
//! with the function that makes its cell, so columns and cells cannot drift apart), its
//! detail pane, its links to other views and the guarded actions it offers with their keys.
//!
//! The [`registry!`] below is the list of views: adding a resource is one new module here and
//! one line in the registry (docs/ARCHITECTURE.md, "How to add a resource").

pub mod audit;
pub mod events;
pub mod jobs;
pub mod keys;
pub mod messages;
pub mod plans;
pub mod points;
pub mod posture;
pub mod queues;
pub mod tasks;
pub mod topics;
pub mod vaults;

use super::links::Link;
use super::rows::{Row, SortKey, Tone};
use super::state::{Kind, State};
use crate::guard::action::ActionSpec;
use crate::sanitize::clean;

/// Declares the views: `View` (one variant per line), `View::ALL` in this order, and
/// `View::resource()`, the module that describes each.
macro_rules! registry {
    ($($view:ident => $resource:expr),* $(,)?) => {
        /// A screen of the console: one per registered resource.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum View { $($view),* }

        impl View {
            /// Every view, in the registry's order.
            pub const ALL: [View; [$(stringify!($view)),*].len()] = [$(View::$view),*];

            /// The resource this view shows.
            pub fn resource(self) -> &'static dyn Resource {
                match self { $(View::$view => &$resource),* }
            }
        }
    };
}

registry! {
    Queues => queues::QUEUES,
    Dlq => queues::DLQ,
    Tasks => tasks::Tasks,
    Topics => topics::Topics,
    Keys => keys::Keys,
    Vaults => vaults::Vaults,
    Points => points::Points,
    Jobs => jobs::Jobs,
    Plans => plans::Plans,
    Events => events::Events,
    Audit => audit::Audit,
    Messages => messages::Messages,
    Posture => posture::Posture,
}

impl View {
    pub fn title(self) -> &'static str {
        self.resource().title()
    }

    /// The data the view needs loaded (its own list first).
    pub fn kinds(self) -> &'static [Kind] {
        self.resource().kinds()
    }
}

/// The `:` command that opens a view: its name, aliases and what it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub about: &'static str,
}

/// A guarded action a view offers on its selected row, and its default keys (the keymap's
/// `[actions.<command>]` table overrides them per view).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionBinding {
    /// The name in keymap files (`rotate_now`).
    pub name: &'static str,
    /// The guarded action it starts (its spec in `guard`'s registry).
    pub action: &'static ActionSpec,
    pub keys: &'static [&'static str],
    /// What the help screen says.
    pub describe: &'static str,
    /// The data reloaded when the action finishes.
    pub refresh: &'static [Kind],
}

/// A column's header: name, width, whether it is numeric (sorts descending first) and its
/// priority (0 = always shown; higher numbers are dropped first on narrow terminals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub name: &'static str,
    /// Width; the last shown column takes the rest.
    pub width: u16,
    pub numeric: bool,
    pub priority: u8,
}

/// A column of items of type `T`: its header and the function that makes its cell, read with
/// a context `C` (the state, or what a resource precomputes once per rebuild).
pub struct Column<T, C = State> {
    pub head: Head,
    pub cell: fn(&C, &T) -> Cell,
}

/// A column (`col("NAME", 23, false, 0, cell)`).
pub const fn col<T, C>(
    name: &'static str,
    width: u16,
    numeric: bool,
    priority: u8,
    cell: fn(&C, &T) -> Cell,
) -> Column<T, C> {
    Column {
        head: Head {
            name,
            width,
            numeric,
            priority,
        },
        cell,
    }
}

/// The headers of typed columns.
pub fn heads<T, C>(cols: &[Column<T, C>]) -> Vec<Head> {
    cols.iter().map(|c| c.head).collect()
}

/// One cell: its text (sanitised when the row is built), tone and sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
    pub sort: SortKey,
}

impl Cell {
    /// Text, sorted case-insensitively.
    pub fn text(s: impl AsRef<str>, tone: Tone) -> Cell {
        let text = clean(s.as_ref()).into_owned();
        Cell {
            sort: SortKey::Text(text.to_lowercase()),
            text,
            tone,
        }
    }
    /// A number shown as `shown`, sorted by `v`.
    pub fn num(shown: impl AsRef<str>, v: f64, tone: Tone) -> Cell {
        Cell {
            text: clean(shown.as_ref()).into_owned(),
            tone,
            sort: SortKey::Num(v),
        }
    }
}

/// The row of one item: its cells in column order, and the key that identifies it (ARN or id).
pub fn row<T, C>(ctx: &C, cols: &[Column<T, C>], item: &T, key: &str) -> Row {
    let cells: Vec<Cell> = cols.iter().map(|c| (c.cell)(ctx, item)).collect();
    let mut texts = Vec::with_capacity(cells.len());
    let mut tones = Vec::with_capacity(cells.len());
    let mut sort = Vec::with_capacity(cells.len());
    for c in cells {
        texts.push(c.text);
        tones.push(c.tone);
        sort.push(c.sort);
    }
    let haystack = texts.join(" ").to_lowercase() + " " + &key.to_lowercase();
    Row {
        key: key.to_string(),
        cells: texts,
        tones,
        sort,
        haystack,
    }
}

/// Why a progressive list's item has no details: still loading, or its calls failed (then its
/// data is only the listed placeholder, whose zeros and "none" must not show as facts).
pub fn unknown(s: &State, kind: Kind, id: &str) -> Option<&'static str> {
    let st = s.data.status.get(&kind)?;
    if st.pending.contains(id) {
        Some("loading…")
    } else if st.item_errors.contains_key(id) {
        Some("unreadable")
    } else {
        None
    }
}

/// The row of an item whose details are still loading (or could not be read): the two
/// columns the list call gives, then why the rest is empty (sorting last).
pub fn pending_row(ncols: usize, name: &str, second: &str, key: &str, why: &str) -> Row {
    let mut cells = vec![
        Cell::text(name, Tone::Normal),
        Cell::text(second, Tone::Muted),
    ];
    for i in 2..ncols {
        // The first unknown cell says why it is empty; the others only that they are.
        cells.push(Cell {
            text: if i == 2 { why } else { "…" }.into(),
            tone: if why == "unreadable" {
                Tone::Warning
            } else {
                Tone::Muted
            },
            sort: SortKey::Pending,
        });
    }
    let texts: Vec<String> = cells.iter().map(|c| c.text.clone()).collect();
    let haystack = format!(
        "{} {} {}",
        texts.join(" ").to_lowercase(),
        key.to_lowercase(),
        why.trim_end_matches('…')
    );
    Row {
        key: key.to_string(),
        cells: texts,
        tones: cells.iter().map(|c| c.tone).collect(),
        sort: cells.into_iter().map(|c| c.sort).collect(),
        haystack,
    }
}

/// A line of a detail pane, described without the terminal (the UI draws it, sanitised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Heading(String),
    /// `label  value`
    Field(String, String),
    /// A line of text in a tone.
    Note(String, Tone),
    /// Multi-line text (a policy, a record), as it is.
    Block(String),
}

/// Builds a detail pane.
#[derive(Debug, Default)]
pub struct Pane(pub Vec<Detail>);

impl Pane {
    pub fn heading(&mut self, t: impl Into<String>) -> &mut Self {
        self.0.push(Detail::Heading(t.into()));
        self
    }
    pub fn field(&mut self, k: impl Into<String>, v: impl Into<String>) -> &mut Self {
        self.0.push(Detail::Field(k.into(), v.into()));
        self
    }
    pub fn note(&mut self, t: impl Into<String>, tone: Tone) -> &mut Self {
        self.0.push(Detail::Note(t.into(), tone));
        self
    }
    pub fn block(&mut self, t: impl Into<String>) -> &mut Self {
        self.0.push(Detail::Block(t.into()));
        self
    }
}

/// A time in the operator's zone (UTC with the profile's `utc` setting); `-` when absent.
pub fn when(s: &State, t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    crate::app::format::maybe_time(t, s.session.as_ref().is_some_and(|i| i.utc))
}

/// A KMS key reference as a person names it (its alias when loaded), or `none` when absent.
pub fn key_or(s: &State, reference: Option<&str>, none: &str) -> String {
    reference
        .map(|k| s.key_name(k))
        .unwrap_or_else(|| none.to_string())
}

/// Pretty-prints JSON text (policies, event JSON); falls back to the text as it is.
pub fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_string())
}

/// What one kind of resource declares. Every method but the first few has a default, so a
/// simple list is short.
pub trait Resource: Sync {
    /// The view's title (`Queues`).
    fn title(&self) -> &'static str;
    /// The `:` command that opens it (None: reached only by a link).
    fn command(&self) -> Option<Command>;
    /// The data the view needs loaded, its own list first.
    fn kinds(&self) -> &'static [Kind];
    /// The column headers, in cell order (from the typed columns).
    fn heads(&self) -> Vec<Head>;
    /// The rows, built when the data changes (never per frame).
    fn rows(&self, s: &State) -> Vec<Row>;
    /// The default sort: (column, descending).
    fn default_sort(&self) -> (usize, bool) {
        (0, false)
    }
    /// How many first columns the list call itself gives (the rest are unknown while a row of
    /// a progressive list loads).
    fn listed_columns(&self) -> usize {
        usize::MAX
    }
    /// The id the per-item detail call takes for the row `key` (progressive lists only).
    fn fetch_id(&self, _s: &State, _key: &str) -> Option<String> {
        None
    }
    /// What a progressive load counts while it loads ("rows", "vaults").
    fn pending_noun(&self) -> &'static str {
        "rows"
    }
    /// The detail pane of the row `key`.
    fn detail(&self, s: &State, key: &str) -> Vec<Detail>;
    /// The numbered links of the row `key`.
    fn links(&self, s: &State, key: &str) -> Vec<Link>;
    /// The CloudTrail resource name of the row `key` (the `e` key).
    fn events_name(&self, _s: &State, key: &str) -> String {
        key.to_string()
    }
    /// What `action` names as its target on the row `key`: the row key (an ARN) unless the
    /// action takes something else (a queue URL; the resource a restore job created).
    /// `Err`: why the action does not apply to this row, in words for the footer.
    fn action_target(
        &self,
        _s: &State,
        key: &str,
        _binding: &ActionBinding,
    ) -> Result<String, String> {
        Ok(key.to_string())
    }
    /// The fields of `action`'s parameters form that the row `key` fills in before the
    /// operator types (by parameter name; the operator can still change them).
    fn action_prefill(
        &self,
        _s: &State,
        _key: &str,
        _binding: &ActionBinding,
    ) -> Vec<(&'static str, String)> {
        Vec::new()
    }
    /// The guarded actions the view offers.
    fn actions(&self) -> &'static [ActionBinding] {
        &[]
    }
    /// What the list's title says before its data is loaded (None: "loading…" as usual).
    fn unloaded_hint(&self) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_view_has_a_title_and_cells_for_its_columns() {
        let s = State::new(
            chrono::Utc::now(),
            crate::app::keymap::Keymap::default_keymap(),
            Default::default(),
        );
        for v in View::ALL {
            let r = v.resource();
            assert!(!r.title().is_empty());
            assert!(!r.heads().is_empty(), "{v:?}");
            let (col, _) = r.default_sort();
            assert!(col < r.heads().len(), "{v:?}: default sort column");
            assert!(!r.kinds().is_empty(), "{v:?}");
            assert!(r.rows(&s).is_empty(), "{v:?}: no data, no rows");
        }
    }

    #[test]
    fn command_names_and_aliases_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for v in View::ALL {
            if let Some(c) = v.resource().command() {
                for n in std::iter::once(c.name).chain(c.aliases.iter().copied()) {
                    assert!(seen.insert(n), "{n} names two views");
                }
            }
        }
    }

    #[test]
    fn action_names_are_unique_per_view() {
        for v in View::ALL {
            let mut seen = std::collections::BTreeSet::new();
            for a in v.resource().actions() {
                assert!(seen.insert(a.name), "{v:?}: {} twice", a.name);
            }
        }
    }
}
