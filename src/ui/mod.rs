//! Views: functions of `&State` that draw a frame. No I/O, no AWS, no mutation.

pub mod detail;
/// Display formats moved to `app::format` (the resources compute their text there).
pub use crate::app::format;
/// The sanitiser moved to the crate root (one rule for every output); kept here for old paths.
pub use crate::sanitize;
/// Themes live at the crate root (the state holds one; `app` never imports `ui`).
pub use crate::theme;

use crate::app::command::commands;
use crate::app::keymap::Layer;
use crate::app::rows::{Tone, columns};
use crate::app::state::{Flash, MfaPurpose, Mode, State};
use crate::sanitize::clean;
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row as TRow, Table, Wrap};

const SPINNER: [&str; 4] = ["⠋", "⠙", "⠹", "⠸"];

/// Rows of the list that fit `area` (after borders and the column header).
pub fn list_rows(area: Rect) -> usize {
    area.height.saturating_sub(3) as usize
}

/// The screen layout: header (2), body, footer (1).
pub fn layout(area: Rect) -> (Rect, Rect, Rect) {
    let c = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    (c[0], c[1], c[2])
}

/// The list and detail areas of the body: side by side when wide, stacked when narrow.
pub fn body_split(body: Rect) -> (Rect, Rect) {
    let wide = body.width >= 120;
    let c = Layout::default()
        .direction(if wide {
            Direction::Horizontal
        } else {
            Direction::Vertical
        })
        .constraints(if wide {
            [Constraint::Percentage(62), Constraint::Percentage(38)]
        } else {
            [Constraint::Percentage(60), Constraint::Percentage(40)]
        })
        .split(body);
    (c[0], c[1])
}

/// The views, as the runner draws them (`app::run::Screen`).
pub struct Views;

impl crate::app::run::Screen for Views {
    fn draw(&self, f: &mut Frame, s: &State) {
        draw(f, s)
    }
    fn page_rows(&self, area: Rect) -> usize {
        list_rows(body_split(layout(area).1).0)
    }
}

pub fn draw(f: &mut Frame, s: &State) {
    let (header, body, footer) = layout(f.area());
    f.render_widget(Block::default().style(s.theme.base), f.area());
    draw_header(f, s, header);
    if s.locked {
        // Nothing from the account stays on an unattended terminal.
        f.render_widget(
            Paragraph::new("locked")
                .style(s.theme.muted)
                .block(Block::default().borders(Borders::ALL)),
            body,
        );
    } else if s.session.is_some() {
        let (list, detail_area) = body_split(body);
        draw_list(f, s, list);
        draw_detail(f, s, detail_area);
    } else {
        let text = match &s.starting {
            Some(t) => format!("{} {}", SPINNER[s.spinner % SPINNER.len()], clean(t)),
            None => "not signed in".to_string(),
        };
        f.render_widget(
            Paragraph::new(text)
                .style(s.theme.muted)
                .block(Block::default().borders(Borders::ALL)),
            body,
        );
    }
    draw_footer(f, s, footer);
    match &s.mode {
        Mode::Help { scroll } => draw_help(f, s, *scroll),
        Mode::Mfa {
            purpose,
            input,
            error,
            busy,
        } => draw_mfa(f, s, purpose, input, error.as_deref(), *busy),
        Mode::Form(form) => draw_form(f, s, form),
        Mode::Planning { action, .. } => draw_wait(
            f,
            s,
            &format!(
                "Planning {action}: checking the target's live state… (plan loading: keys typed now are dropped; Esc cancels)"
            ),
        ),
        Mode::Running { summary } => draw_wait(f, s, &format!("Running: {summary}")),
        Mode::Confirm(form) => draw_confirm(f, s, form),
        Mode::PeekPlanning { .. } => draw_wait(
            f,
            s,
            "Planning the peek: reading the queue's attributes (nothing is received yet)… Esc cancels",
        ),
        Mode::PeekConfirm(plan) => draw_peek_plan(f, s, plan),
        Mode::DrillPreparing => draw_wait(
            f,
            s,
            "Reading the runbook and the state of an interrupted run of it… Esc cancels",
        ),
        Mode::DrillConfirm(form) => draw_drill_confirm(f, s, form),
        Mode::DrillVerdict { question } => draw_drill_verdict(f, s, question),
        Mode::Normal | Mode::Command { .. } | Mode::Filter { .. } => {}
    }
}

/// A box of `lines` (wrapped; tall enough for all of them) titled `title`, centred.
fn draw_box(f: &mut Frame, s: &State, title: Span<'static>, lines: Vec<Line<'static>>) {
    let width = 110.min(f.area().width).max(4);
    let inner = usize::from(width - 2).max(1);
    let height: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner))
        .sum::<usize>()
        + 2;
    let area = centered(f.area(), width, u16::try_from(height).unwrap_or(u16::MAX));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(s.theme.base)
            .block(Block::default().borders(Borders::ALL).title(title)),
        area,
    );
}

/// The drill, shown once: its tests, objectives, approver, identity and role; its name to
/// type and the reason recorded with every action; Enter on the reason starts it.
fn draw_drill_confirm(f: &mut Frame, s: &State, form: &crate::app::drill::DrillForm) {
    use crate::app::drill::DrillFocus;
    let t = &s.theme;
    let mut lines: Vec<Line<'static>> = Vec::new();
    if let Some(i) = &s.session
        && i.production
    {
        lines.push(Line::from(Span::styled(
            format!(" PRODUCTION account {} ", clean(&i.account)),
            t.production,
        )));
    }
    for (n, l) in form.offer.lines.iter().enumerate() {
        let style = if n == 0 { t.title } else { t.base };
        lines.push(Line::from(Span::styled(clean(l).into_owned(), style)));
    }
    lines.push(Line::from(Span::styled(
        format!(
            "reports and state: {}",
            clean(&form.offer.prepared.dir.display().to_string())
        ),
        t.muted,
    )));
    lines.push(Line::from(Span::styled(
        "Each restore, validation and cleanup is still planned, checked and recorded on its own (intent before the call).",
        t.muted,
    )));
    lines.push(Line::from(""));
    let require = s.session.as_ref().is_none_or(|i| i.require_reason);
    let field = |label: String, value: &str, focused: bool| -> Line<'static> {
        let style = if focused { t.selected } else { t.base };
        Line::from(vec![
            Span::styled(format!("{label:<34}"), t.muted),
            Span::styled(
                format!("[{}{}]", clean(value), if focused { "█" } else { "" }),
                style,
            ),
        ])
    };
    lines.push(field(
        format!("Type \"{}\" to run the drill:", clean(form.name())),
        &form.typed,
        form.focus == DrillFocus::Name,
    ));
    lines.push(field(
        if require {
            "Reason (required):".to_string()
        } else {
            "Reason:".to_string()
        },
        &form.reason,
        form.focus == DrillFocus::Reason,
    ));
    lines.push(Line::from(""));
    match form.missing(require) {
        Some(m) => lines.push(Line::from(Span::styled(
            format!("Enter on the reason starts the drill once: {}", clean(&m)),
            t.muted,
        ))),
        None => lines.push(Line::from(Span::styled(
            "Enter on the reason starts the drill",
            t.danger,
        ))),
    }
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(clean(e).into_owned(), t.danger)));
    }
    lines.push(Line::from(Span::styled(
        "Tab/↑/↓: other field   Enter: next field, or start   Esc: cancel",
        t.muted,
    )));
    draw_box(
        f,
        s,
        Span::styled(format!(" Drill: {} ", clean(form.name())), t.danger),
        lines,
    );
}

/// The running drill asks whether a restored copy passed the operator's checks.
fn draw_drill_verdict(f: &mut Frame, s: &State, question: &str) {
    let t = &s.theme;
    let lines = vec![
        Line::from(Span::styled(clean(question).into_owned(), t.title)),
        Line::from(""),
        Line::from(Span::styled(
            "y: it passed (SUCCESSFUL is sent)   n: it did not (FAILED is sent)   Esc: stop the drill here (run the same :drill to resume)",
            t.muted,
        )),
    ];
    draw_box(
        f,
        s,
        Span::styled(" Drill: validation ".to_string(), t.title),
        lines,
    );
}

fn time_left(s: &State) -> Option<(String, bool)> {
    let exp = s.session.as_ref()?.expires?;
    let left = exp - s.now;
    if left <= chrono::Duration::zero() {
        return Some(("EXPIRED".into(), true));
    }
    let text = if left.num_hours() >= 1 {
        format!("{}h{:02}m left", left.num_hours(), left.num_minutes() % 60)
    } else {
        format!(
            "{}m{:02}s left",
            left.num_minutes(),
            left.num_seconds() % 60
        )
    };
    Some((text, left <= chrono::Duration::minutes(5)))
}

fn draw_header(f: &mut Frame, s: &State, area: Rect) {
    let t = &s.theme;
    let mut first: Vec<Span> = Vec::new();
    match &s.session {
        Some(info) => {
            if info.production {
                first.push(Span::styled(" PRODUCTION ", t.production));
                first.push(Span::raw(" "));
            }
            first.push(Span::styled("phi-console ", t.header));
            first.push(Span::styled(format!("{} ", clean(&info.profile)), t.accent));
            first.push(Span::styled(
                format!("{} {} ", clean(&info.account), clean(&info.region)),
                t.base,
            ));
            first.push(if info.read_only {
                Span::styled("READ-ONLY ", t.accent)
            } else {
                Span::styled("READ-WRITE ", t.warning)
            });
            if info.audit_error.is_some() {
                first.push(Span::styled("AUDIT UNAVAILABLE ", t.danger));
            }
            if let Some((left, warn)) = time_left(s) {
                first.push(Span::styled(
                    format!("{left} "),
                    if warn { t.danger } else { t.base },
                ));
            }
            first.push(Span::styled(clean(&info.caller_arn).into_owned(), t.muted));
        }
        None => first.push(Span::styled("phi-console — not signed in", t.header)),
    }
    let mut second: Vec<Span> = vec![Span::styled(s.breadcrumb(), t.title)];
    if s.loading() {
        second.push(Span::styled(
            format!(" {} loading…", SPINNER[s.spinner % SPINNER.len()]),
            t.accent,
        ));
    }
    // The filter is what the operator typed (a claim id, a member's name): a locked screen
    // shows nothing of the work.
    let filter = &s.table(s.view).filter;
    if !filter.is_empty() && !s.locked {
        second.push(Span::styled(format!("  /{}", clean(filter)), t.warning));
    }
    if let Some(b) = &s.banner {
        second.push(Span::styled(format!("  {}", clean(b)), t.warning));
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(first), Line::from(second)]),
        area,
    );
}

fn tone(s: &State, tone: Tone) -> Style {
    match tone {
        Tone::Normal => s.theme.base,
        Tone::Warning => s.theme.warning,
        Tone::Danger => s.theme.danger,
        Tone::Muted => s.theme.muted,
        Tone::Accent => s.theme.accent,
    }
}

fn draw_list(f: &mut Frame, s: &State, area: Rect) {
    let t = s.table(s.view);
    let cols = columns(s.view);
    let height = list_rows(area);
    let offset = t.selected.saturating_sub(height.saturating_sub(1));
    let shown = crate::app::rows::fitting_columns(s.view, area.width.saturating_sub(2));
    let header = TRow::new(shown.iter().map(|i| {
        let c = &cols[*i];
        let arrow = if *i == t.sort_col {
            if t.sort_desc { "▼" } else { "▲" }
        } else {
            ""
        };
        Cell::from(format!("{}{}", c.name, arrow))
    }))
    .style(s.theme.header);
    // Only the visible window is turned into widgets: 10,000 rows cost what 20 do.
    let rows = t
        .visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(pos, i)| {
            let r = &t.rows[*i];
            let cells = shown.iter().map(|c| {
                Cell::from(r.cells.get(*c).map(String::as_str).unwrap_or(""))
                    .style(tone(s, r.tones.get(*c).copied().unwrap_or(Tone::Normal)))
            });
            let row = TRow::new(cells);
            if pos == t.selected {
                row.style(s.theme.selected)
            } else {
                row
            }
        });
    let widths: Vec<Constraint> = shown
        .iter()
        .enumerate()
        .map(|(n, i)| {
            if n + 1 == shown.len() {
                Constraint::Min(cols[*i].width)
            } else {
                Constraint::Length(cols[*i].width)
            }
        })
        .collect();
    let status = s
        .view
        .kinds()
        .first()
        .map(|k| s.status(*k))
        .unwrap_or_default();
    let count = if t.filter.is_empty() {
        format!("{}", t.rows.len())
    } else {
        format!("{}/{}", t.visible.len(), t.rows.len())
    };
    let mut title = format!(" {} [{}] ", s.view.title(), count);
    if let Some(e) = &status.error {
        title.push_str(&format!("— {} ", clean(e)));
    } else if !status.loaded && status.loading {
        title.push_str("— loading… ");
    } else if !status.pending.is_empty() {
        let what = s.view.resource().pending_noun();
        title.push_str(&format!(
            "— {} {} {what} loading… ",
            SPINNER[s.spinner % SPINNER.len()],
            status.pending.len()
        ));
    } else if !status.loaded
        && let Some(hint) = s.view.resource().unloaded_hint()
    {
        title.push_str(&format!("— {hint} "));
    }
    let table = Table::new(rows, widths)
        .header(header)
        .column_spacing(1)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(title, s.theme.title))
                .border_style(s.theme.muted),
        );
    f.render_widget(table, area);
    if t.visible.is_empty() && status.loaded {
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: 1,
        };
        let msg = if t.filter.is_empty() {
            "nothing here"
        } else {
            "no row matches the filter (Esc clears it)"
        };
        f.render_widget(Paragraph::new(msg).style(s.theme.muted), inner);
    }
}

fn draw_detail(f: &mut Frame, s: &State, area: Rect) {
    let lines = detail::lines(s, s.view);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Detail ", s.theme.title))
                .border_style(s.theme.muted),
        ),
        area,
    );
}

fn draw_footer(f: &mut Frame, s: &State, area: Rect) {
    let t = &s.theme;
    let line = match &s.mode {
        Mode::Command { input } => Line::from(vec![
            Span::styled(":", t.accent),
            Span::styled(format!("{}█", clean(input)), t.base),
        ]),
        Mode::Filter { input } => Line::from(vec![
            Span::styled("/", t.accent),
            Span::styled(format!("{}█", clean(input)), t.base),
        ]),
        _ => match &s.flash {
            Some(Flash::Error(e)) => Line::from(Span::styled(format!("✗ {}", clean(e)), t.danger)),
            Some(Flash::Info(m)) => Line::from(Span::styled(clean(m).into_owned(), t.accent)),
            None => match (&s.last_error, s.tasks.values().next()) {
                // A followed task's progress beats the key hint (and an old error).
                (_, Some(task)) => Line::from(Span::styled(
                    format!(
                        "{} {}: {}{}",
                        SPINNER[s.spinner % SPINNER.len()],
                        clean(&task.summary),
                        clean(&task.line),
                        if s.tasks.len() > 1 {
                            format!(" (+{} more)", s.tasks.len() - 1)
                        } else {
                            String::new()
                        }
                    ),
                    t.warning,
                )),
                (Some(e), None) => Line::from(Span::styled(format!("✗ {}", clean(e)), t.danger)),
                (None, None) => Line::from(Span::styled(
                    "? help  : command  / filter  Enter drill in  Esc back  r refresh  e events  Ctrl-C quit",
                    t.muted,
                )),
            },
        },
    };
    f.render_widget(Paragraph::new(line), area);
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_help(f: &mut Frame, s: &State, scroll: u16) {
    let t = &s.theme;
    let mut lines = vec![Line::from(Span::styled(
        format!("Keys — {}", s.view.title()),
        t.title,
    ))];
    for (keys, what) in s.keymap.help(Layer::Browse) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<22}", clean(&keys)), t.accent),
            Span::styled(what, t.base),
        ]));
    }
    // Actions are listed (and bound) only when the session may change the account.
    if s.session.as_ref().is_some_and(|i| !i.read_only) {
        for (keys, what) in s.keymap.action_help(s.view) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<22}", clean(&keys)), t.warning),
                Span::styled(what, t.base),
            ]));
        }
    }
    lines.push(Line::from(vec![
        Span::styled(format!("{:<22}", "1-9"), t.accent),
        Span::styled("follow a numbered link of the detail pane", t.base),
    ]));
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Commands (:name, Tab completes)",
        t.title,
    )));
    for (name, aliases, what) in commands() {
        let names = std::iter::once(name)
            .chain(aliases.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        lines.push(Line::from(vec![
            Span::styled(format!("{names:<30}"), t.accent),
            Span::styled(what, t.base),
        ]));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "In the command line and filter",
        t.title,
    )));
    for (keys, what) in s.keymap.help(Layer::Input) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<22}", clean(&keys)), t.accent),
            Span::styled(what, t.base),
        ]));
    }
    let close = s
        .keymap
        .help(Layer::Help)
        .into_iter()
        .map(|(k, w)| format!("{}: {w}", clean(&k)))
        .collect::<Vec<_>>()
        .join("   ");
    let area = centered(f.area(), 100, 40);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" Help ", t.title))
                    .title_bottom(Span::styled(format!(" {close} "), t.muted)),
            )
            .style(t.base),
        area,
    );
}

fn draw_mfa(
    f: &mut Frame,
    s: &State,
    purpose: &MfaPurpose,
    input: &str,
    error: Option<&str>,
    busy: bool,
) {
    let t = &s.theme;
    let title = match purpose {
        MfaPurpose::Login { profile } => format!(" Sign in: profile {} ", clean(profile)),
        MfaPurpose::Reauth => " Renew the session ".to_string(),
        MfaPurpose::Unlock => " Locked after inactivity ".to_string(),
        MfaPurpose::StepUp => " Step-up: a fresh MFA code for this action ".to_string(),
        MfaPurpose::Drill => " Step-up: a fresh MFA code for the drill's next action ".to_string(),
    };
    let masked: String = "•".repeat(input.chars().count())
        + &"_".repeat(6usize.saturating_sub(input.chars().count()));
    let mut lines = vec![
        Line::from(Span::styled(
            "Enter the 6-digit code from your MFA device:",
            t.base,
        )),
        Line::from(""),
        Line::from(Span::styled(
            format!("   {masked}"),
            t.header.add_modifier(Modifier::BOLD),
        )),
        Line::from(""),
    ];
    // `--demo` only (the state never holds a code for a real profile): the demo device's seed
    // is published and test-only, so its code is shown here.
    if let Some(code) = &s.demo_code {
        lines.push(Line::from(vec![
            Span::styled("demo device (published test seed): ", t.muted),
            Span::styled(
                clean(code).into_owned(),
                t.accent.add_modifier(Modifier::BOLD),
            ),
        ]));
    }
    if busy {
        lines.push(Line::from(Span::styled(
            format!(
                "{} checking with AWS STS…",
                SPINNER[s.spinner % SPINNER.len()]
            ),
            t.accent,
        )));
    } else if let Some(e) = error {
        lines.push(Line::from(Span::styled(clean(e).into_owned(), t.danger)));
    }
    if let Some(b) = &s.banner {
        lines.push(Line::from(Span::styled(b.clone(), t.warning)));
    }
    lines.push(Line::from(Span::styled(
        "Enter: submit   Esc: cancel",
        t.muted,
    )));
    let area = centered(f.area(), 72, if s.demo_code.is_some() { 12 } else { 11 });
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(title, t.title)),
            )
            .style(t.base),
        area,
    );
}

fn draw_wait(f: &mut Frame, s: &State, text: &str) {
    let t = &s.theme;
    let area = centered(f.area(), 76, 5);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(Line::from(Span::styled(
            format!("{} {}", SPINNER[s.spinner % SPINNER.len()], clean(text)),
            t.accent,
        )))
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(Span::styled(" Working ", t.title)),
        )
        .style(t.base),
        area,
    );
}

/// A peek's plan: what will be received, what rises, and the one key that confirms it.
fn draw_peek_plan(f: &mut Frame, s: &State, plan: &crate::guard::peek::PeekPlan) {
    let t = &s.theme;
    let lines: Vec<Line> = plan
        .lines()
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let style = match i {
                0 => t.title,
                _ if l.contains("cannot be undone") => t.danger,
                _ => t.base,
            };
            Line::from(Span::styled(clean(&l).into_owned(), style))
        })
        .collect();
    let width = 100.min(f.area().width).max(4);
    let inner = usize::from(width - 2);
    let height: usize = lines.iter().map(|l| l.width() / inner + 1).sum::<usize>() + 2;
    let area = centered(f.area(), width, u16::try_from(height).unwrap_or(u16::MAX));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(t.base)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(Span::styled(" Peek (a recorded action) ", t.title)),
            ),
        area,
    );
}

/// The parameters form of a guarded action: each parameter's label, help and field (the
/// focused one with a cursor), and why the last submit was refused.
fn draw_form(f: &mut Frame, s: &State, form: &crate::app::state::ParamForm) {
    let t = &s.theme;
    let mut lines = vec![
        Line::from(Span::styled(
            format!("Target: {}", clean(&form.target)),
            t.muted,
        )),
        Line::from(""),
    ];
    for (i, (param, text)) in form.spec.params.iter().zip(&form.fields).enumerate() {
        let focused = i == form.focus;
        lines.push(Line::from(Span::styled(
            format!("{} ({}):", capitalise(param.label), clean(param.help)),
            t.base,
        )));
        let cursor = if focused { "█" } else { "" };
        let shown = if text.is_empty() && !focused {
            param
                .default
                .map(|d| format!("{d} (default)"))
                .unwrap_or_default()
        } else {
            clean(text).into_owned()
        };
        lines.push(Line::from(Span::styled(
            format!("   {shown}{cursor}"),
            if focused { t.header } else { t.muted },
        )));
        lines.push(Line::from(""));
    }
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(clean(e).into_owned(), t.danger)));
    }
    lines.push(Line::from(Span::styled(
        if form.fields.len() > 1 {
            "Tab: next field   Enter: next / plan   Esc: cancel"
        } else {
            "Enter: plan   Esc: cancel"
        },
        t.muted,
    )));
    let height = (lines.len() as u16).saturating_add(2);
    let area = centered(f.area(), 80, height);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(Span::styled(
                format!(" {} ", capitalise(form.spec.title)),
                t.title,
            )))
            .style(t.base),
        area,
    );
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The plan and its confirmation: what will be called, on what, where, what cannot be undone,
/// warnings; the name to type (focused first), the reason and ticket; the confirm button (danger;
/// drawn disabled until the name matches and a required reason is given) and Cancel.
fn draw_confirm(f: &mut Frame, s: &State, form: &crate::app::state::ConfirmForm) {
    use crate::app::state::Focus;
    let t = &s.theme;
    let plan = &form.plan;
    let mut lines: Vec<Line> = Vec::new();
    if plan.production {
        lines.push(Line::from(Span::styled(
            format!(" PRODUCTION account {} ", clean(&plan.account)),
            t.production,
        )));
    }
    lines.push(Line::from(Span::styled(
        clean(&plan.summary).into_owned(),
        t.title,
    )));
    for c in &plan.calls {
        lines.push(Line::from(vec![
            Span::styled("call    ", t.muted),
            Span::styled(clean(c).into_owned(), t.base),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("where   ", t.muted),
        Span::styled(clean(&plan.place()).into_owned(), t.base),
    ]));
    lines.push(Line::from(vec![
        Span::styled("as      ", t.muted),
        Span::styled(clean(&plan.caller_arn).into_owned(), t.base),
    ]));
    for fact in &plan.facts {
        lines.push(Line::from(vec![
            Span::styled("now     ", t.muted),
            Span::styled(
                format!("{}: {}", clean(&fact.label), clean(&fact.value)),
                t.base,
            ),
        ]));
    }
    for i in &plan.irreversible {
        lines.push(Line::from(Span::styled(
            format!("cannot be undone: {}", clean(i)),
            t.danger,
        )));
    }
    for w in &plan.warnings {
        lines.push(Line::from(Span::styled(
            format!("warning: {}", clean(w)),
            t.warning,
        )));
    }
    lines.push(Line::from(""));
    let field = |label: &str, value: &str, focused: bool| -> Line<'static> {
        let style = if focused { t.selected } else { t.base };
        Line::from(vec![
            Span::styled(format!("{label:<34}"), t.muted),
            Span::styled(
                format!("[{}{}]", clean(value), if focused { "█" } else { "" }),
                style,
            ),
        ])
    };
    lines.push(field(
        &format!("Type \"{}\" to confirm:", clean(&plan.confirm_text)),
        &form.typed,
        form.focus == Focus::Name,
    ));
    let require = s.session.as_ref().is_none_or(|i| i.require_reason);
    lines.push(field(
        if require {
            "Reason (required):"
        } else {
            "Reason:"
        },
        &form.reason,
        form.focus == Focus::Reason,
    ));
    lines.push(field("Ticket:", &form.ticket, form.focus == Focus::Ticket));
    lines.push(Line::from(""));
    let cancel_style = if form.focus == Focus::Cancel {
        t.selected
    } else {
        t.base
    };
    let missing = form.missing(require);
    let confirm_style = match (missing.is_some(), form.focus == Focus::Confirm) {
        (true, true) => t.muted.add_modifier(Modifier::REVERSED),
        (true, false) => t.muted,
        (false, true) => t.danger.add_modifier(Modifier::REVERSED),
        (false, false) => t.danger,
    };
    let mut buttons = vec![
        Span::styled(format!("  [ {} ]  ", clean(&plan.action)), confirm_style),
        Span::raw("   "),
        Span::styled("  [ Cancel ]  ", cancel_style),
    ];
    if let Some(m) = missing {
        buttons.push(Span::styled(format!("   disabled: {m}"), t.muted));
    }
    lines.push(Line::from(buttons));
    if let Some(e) = &form.error {
        lines.push(Line::from(Span::styled(clean(e).into_owned(), t.danger)));
    }
    lines.push(Line::from(Span::styled(
        "Tab/↓: next   Shift-Tab/↑: previous   Enter: next field, or press the focused button   Esc: cancel",
        t.muted,
    )));
    // Room for every line once wrapped, so the buttons are always on screen.
    let width = 110.min(f.area().width);
    let inner = width.saturating_sub(2).max(1) as usize;
    let height: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let area = centered(f.area(), width, (height as u16 + 4).max(12));
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::default().borders(Borders::ALL).title(Span::styled(
                format!(" Plan: {} ", clean(&plan.action)),
                t.danger,
            )))
            .style(t.base),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::tests::{planned, press, type_text};
    use crossterm::event::KeyCode;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;

    fn render(s: &State) -> (String, Buffer) {
        let mut t = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        t.draw(|f| draw(f, s)).expect("draw");
        let buf = t.backend().buffer().clone();
        let mut out = String::new();
        for y in 0..40 {
            for x in 0..120 {
                out.push_str(buf[(x, y)].symbol());
            }
            out.push('\n');
        }
        (out, buf)
    }

    fn mfa(s: &mut State) {
        s.mode = Mode::Mfa {
            purpose: MfaPurpose::Login {
                profile: "demo".into(),
            },
            input: String::new(),
            error: None,
            busy: false,
        };
    }

    #[test]
    fn the_mfa_prompt_shows_a_code_only_in_the_demo() {
        let mut s = planned(true);
        s.session = None;
        mfa(&mut s);
        let (screen, _) = render(&s);
        assert!(screen.contains("Enter the 6-digit code"), "{screen}");
        assert!(!screen.contains("published test seed"), "{screen}");
        s.demo_code = Some("123456".into());
        let (screen, _) = render(&s);
        assert!(
            screen.contains("demo device (published test seed): 123456"),
            "{screen}"
        );
    }

    #[test]
    fn a_locked_screen_shows_nothing_the_operator_typed() {
        let mut s = planned(true);
        s.mode = Mode::Normal;
        let view = s.view;
        if let Some(t) = s.tables.get_mut(&view) {
            t.filter = "MEMBER-7731".into();
        }
        assert!(render(&s).0.contains("/MEMBER-7731"));
        s.locked = true;
        let (screen, _) = render(&s);
        assert!(!screen.contains("MEMBER-7731"), "{screen}");
        assert!(screen.contains("locked"), "{screen}");
    }

    /// The foreground colour of the confirm button, and whether the screen says it is disabled.
    fn button(s: &State) -> (Option<ratatui::style::Color>, bool) {
        let (screen, buf) = render(s);
        let label = "[ kms:RotateKeyOnDemand ]";
        let row = screen
            .lines()
            .position(|l| l.contains(label))
            .unwrap_or_else(|| panic!("no button:\n{screen}"));
        let line = screen.lines().nth(row).unwrap_or_default();
        let col = line[..line.find(label).unwrap_or(0)].chars().count() as u16;
        (
            buf[(col, row as u16)].style().fg,
            screen.contains("disabled:"),
        )
    }

    #[test]
    fn the_confirm_button_is_drawn_disabled_until_the_form_is_complete() {
        let mut s = planned(true);
        let (muted, danger) = (s.theme.muted.fg, s.theme.danger.fg);
        assert_ne!(muted, danger);
        let (screen, _) = render(&s);
        assert!(
            screen.contains("disabled: type the name and a reason"),
            "{screen}"
        );
        assert_eq!(button(&s), (muted, true));
        type_text(&mut s, "claims-costs");
        let (screen, _) = render(&s);
        assert!(screen.contains("disabled: give a reason"), "{screen}");
        press(&mut s, KeyCode::Tab);
        type_text(&mut s, "posture fix");
        assert_eq!(button(&s), (danger, false));
    }

    #[test]
    fn keys_while_planning_say_plan_loading() {
        let mut s = planned(true);
        s.mode = Mode::Planning {
            action: "kms:RotateKeyOnDemand".into(),
            key: "k".into(),
            target: "k".into(),
        };
        type_text(&mut s, "x");
        let (screen, _) = render(&s);
        assert!(screen.contains("plan loading"), "{screen}");
        assert!(screen.contains("Esc cancels"), "{screen}");
    }
}
