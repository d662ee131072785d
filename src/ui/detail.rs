//! The detail pane: the selected row's resource describes it (`Resource::detail`, plain data);
//! this draws it, sanitised, with the numbered links.

use crate::app::links;
use crate::app::resources::Detail;
use crate::app::state::{State, View};
use crate::sanitize::{clean, clean_block};
use ratatui::text::{Line, Span};

pub fn lines<'a>(s: &State, view: View) -> Vec<Line<'a>> {
    let Some(key) = s.table(view).selected_row().map(|r| r.key.clone()) else {
        return vec![Line::from(Span::styled("nothing selected", s.theme.muted))];
    };
    let mut out: Vec<Line> = Vec::new();
    for d in view.resource().detail(s, &key) {
        match d {
            Detail::Heading(t) => out.push(Line::from(Span::styled(
                clean(&t).into_owned(),
                s.theme.title,
            ))),
            Detail::Field(k, v) => out.push(Line::from(vec![
                Span::styled(format!("{:<22} ", clean(&k)), s.theme.muted),
                Span::styled(clean(&v).into_owned(), s.theme.base),
            ])),
            Detail::Note(t, tone) => out.push(Line::from(Span::styled(
                clean(&t).into_owned(),
                super::tone(s, tone),
            ))),
            Detail::Block(t) => out.extend(
                clean_block(&t)
                    .lines()
                    .map(|l| Line::from(Span::styled(l.to_string(), s.theme.base))),
            ),
        }
    }
    let links = links::links(s, view, &key);
    if !links.is_empty() {
        out.push(Line::from(""));
        out.push(Line::from(Span::styled(
            "Links (press the number; Enter follows 1)",
            s.theme.title,
        )));
        for (i, l) in links.iter().enumerate().take(9) {
            out.push(Line::from(vec![
                Span::styled(format!(" {} ", i + 1), s.theme.selected),
                Span::styled(format!(" {}", clean(&l.label)), s.theme.accent),
            ]));
        }
    }
    out
}
