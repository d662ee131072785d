//! Themes are data (themes/*.toml, embedded; user files in ~/.config/phi-console/themes/).
//! `NO_COLOR` turns every colour off; emphasis then comes from bold/reverse/underline only.

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use std::str::FromStr;

pub const BUILT_IN: &[(&str, &str)] = &[
    ("default", include_str!("../themes/default.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("light", include_str!("../themes/light.toml")),
    ("monochrome", include_str!("../themes/monochrome.toml")),
];

/// The largest theme file read.
pub const MAX_FILE_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    background: String,
    foreground: String,
    accent: String,
    selection_bg: String,
    selection_fg: String,
    warning: String,
    danger: String,
    production_marker: String,
    muted: String,
}

/// Resolved styles for every role the views use.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub base: Style,
    pub accent: Style,
    pub header: Style,
    pub selected: Style,
    pub warning: Style,
    pub danger: Style,
    pub production: Style,
    pub muted: Style,
    pub title: Style,
    pub no_color: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ThemeError {
    #[error(
        "theme '{0}' not found (built in: default, high-contrast, light, monochrome; or a file ~/.config/phi-console/themes/{0}.toml)"
    )]
    NotFound(String),
    #[error("theme file {file}: {message}")]
    Invalid { file: String, message: String },
}

fn color(file: &str, key: &str, v: &str) -> Result<Color, ThemeError> {
    Color::from_str(v).map_err(|_| ThemeError::Invalid {
        file: file.into(),
        message: format!("{key} = '{v}' is not a colour name or #rrggbb"),
    })
}

impl Theme {
    pub fn parse(text: &str, file: &str, no_color: bool) -> Result<Theme, ThemeError> {
        let t: ThemeFile = toml::from_str(text).map_err(|e| ThemeError::Invalid {
            file: file.into(),
            message: e.message().to_string(),
        })?;
        if no_color || t.name == "monochrome" {
            return Ok(Theme::monochrome(&t.name));
        }
        let fg = color(file, "foreground", &t.foreground)?;
        let bg = color(file, "background", &t.background)?;
        let accent = color(file, "accent", &t.accent)?;
        let base = Style::default().fg(fg).bg(bg);
        Ok(Theme {
            name: t.name,
            base,
            accent: base.fg(accent),
            header: base.fg(accent).add_modifier(Modifier::BOLD),
            selected: Style::default()
                .fg(color(file, "selection_fg", &t.selection_fg)?)
                .bg(color(file, "selection_bg", &t.selection_bg)?)
                .add_modifier(Modifier::BOLD),
            warning: base
                .fg(color(file, "warning", &t.warning)?)
                .add_modifier(Modifier::BOLD),
            danger: base
                .fg(color(file, "danger", &t.danger)?)
                .add_modifier(Modifier::BOLD),
            production: Style::default()
                .fg(Color::White)
                .bg(color(file, "production_marker", &t.production_marker)?)
                .add_modifier(Modifier::BOLD),
            muted: base.fg(color(file, "muted", &t.muted)?),
            title: base.fg(accent).add_modifier(Modifier::BOLD),
            no_color: false,
        })
    }

    /// No colour at all: selection reversed, danger bold+underlined.
    pub fn monochrome(name: &str) -> Theme {
        let base = Style::default();
        Theme {
            name: name.to_string(),
            base,
            accent: base,
            header: base.add_modifier(Modifier::BOLD),
            selected: base.add_modifier(Modifier::REVERSED),
            warning: base.add_modifier(Modifier::BOLD),
            danger: base.add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            production: base.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            muted: base.add_modifier(Modifier::DIM),
            title: base.add_modifier(Modifier::BOLD),
            no_color: true,
        }
    }

    /// A built-in theme or a user theme file; `NO_COLOR` (any value) disables colour.
    pub fn load(name: &str, no_color: bool) -> Result<Theme, ThemeError> {
        // A name, never a path (`--theme ../x`).
        crate::validate::theme_name(name).map_err(|e| ThemeError::Invalid {
            file: "(name)".into(),
            message: e.0,
        })?;
        if let Some(dir) = crate::session::settings::default_path()
            .and_then(|p| p.parent().map(|d| d.join("themes")))
        {
            let file = dir.join(format!("{name}.toml"));
            match crate::validate::read_bounded(&file, MAX_FILE_BYTES) {
                Ok(text) => return Theme::parse(&text, &file.display().to_string(), no_color),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(ThemeError::Invalid {
                        file: file.display().to_string(),
                        message: format!("cannot read: {e}"),
                    });
                }
            }
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Theme::parse(text, &format!("themes/{n}.toml"), no_color),
            None => Err(ThemeError::NotFound(name.to_string())),
        }
    }

    pub fn no_color_from_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}

impl Default for Theme {
    fn default() -> Self {
        Theme::parse(BUILT_IN[0].1, "themes/default.toml", false)
            .unwrap_or_else(|_| Theme::monochrome("default"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_theme_parses() {
        for (name, text) in BUILT_IN {
            let t = Theme::parse(text, name, false).unwrap();
            assert_eq!(&t.name, name);
            assert_ne!(t.danger, t.base, "{name}: danger must stand out");
            assert_ne!(t.selected, t.base, "{name}: the selection must stand out");
        }
    }

    #[test]
    fn no_color_has_no_colours() {
        let t = Theme::parse(BUILT_IN[0].1, "d", true).unwrap();
        assert!(t.no_color);
        for s in [t.base, t.selected, t.danger, t.production] {
            assert_eq!(s.fg, None);
            assert_eq!(s.bg, None);
        }
        assert!(t.danger.add_modifier.contains(Modifier::UNDERLINED));
    }

    #[test]
    fn bad_theme_names_the_key() {
        let e = Theme::parse(
            &BUILT_IN[0]
                .1
                .replace("accent = \"cyan\"", "accent = \"glitter\""),
            "x.toml",
            false,
        )
        .unwrap_err();
        assert!(e.to_string().contains("accent = 'glitter'"), "{e}");
        assert!(matches!(
            Theme::load("no-such-theme", false),
            Err(ThemeError::NotFound(_))
        ));
    }
}
