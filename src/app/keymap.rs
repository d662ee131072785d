//! Keymaps are data: per layer, key → action, from the embedded keymap.toml merged with the
//! user's file. The help screen renders the current layer's bindings from here.

use super::resources::{ActionBinding, View};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;

const DEFAULT: &str = include_str!("keymap.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Browse,
    Input,
    Help,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    Back,
    Refresh,
    Command,
    Filter,
    Help,
    Sort,
    Reverse,
    Events,
    Quit,
    Submit,
    Cancel,
    Complete,
    Delete,
    Clear,
    Close,
    Reveal,
    RevealRaw,
}

impl Action {
    fn from_name(s: &str) -> Option<Action> {
        Some(match s {
            "up" => Action::Up,
            "down" => Action::Down,
            "page_up" => Action::PageUp,
            "page_down" => Action::PageDown,
            "top" => Action::Top,
            "bottom" => Action::Bottom,
            "enter" => Action::Enter,
            "back" => Action::Back,
            "refresh" => Action::Refresh,
            "command" => Action::Command,
            "filter" => Action::Filter,
            "help" => Action::Help,
            "sort" => Action::Sort,
            "reverse" => Action::Reverse,
            "events" => Action::Events,
            "quit" => Action::Quit,
            "submit" => Action::Submit,
            "cancel" => Action::Cancel,
            "complete" => Action::Complete,
            "delete" => Action::Delete,
            "clear" => Action::Clear,
            "close" => Action::Close,
            "reveal" => Action::Reveal,
            "reveal_raw" => Action::RevealRaw,
            _ => return None,
        })
    }

    /// What the help screen says about this action.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "first row",
            Action::Bottom => "last row",
            Action::Enter => "drill in (open the first link of the selection)",
            Action::Back => "back (or clear the filter)",
            Action::Refresh => "refresh this view",
            Action::Command => {
                "command line (:queues :dlq :topics :keys :vaults :points :jobs :plans :events :audit :profile :region :q)"
            }
            Action::Filter => "filter the list as you type",
            Action::Help => "this help",
            Action::Sort => "sort by the next column",
            Action::Reverse => "reverse the sort",
            Action::Events => "CloudTrail events of the selection",
            Action::Quit => "quit",
            Action::Submit => "accept",
            Action::Cancel => "cancel",
            Action::Complete => "complete the command",
            Action::Delete => "delete a character",
            Action::Clear => "clear the input",
            Action::Close => "close help",
            Action::Reveal => {
                "reveal / hide the selected message's body, PHI-like values masked (recorded in the audit log)"
            }
            Action::RevealRaw => {
                "reveal / hide the selected message's body unmasked (recorded in the audit log as a raw reveal)"
            }
        }
    }
}

/// A key with modifiers, as written in keymap files ("ctrl-c", "G", "pageup").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyName,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyName {
    Char(char),
    Up,
    Down,
    Left,
    Right,
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Home,
    End,
    PageUp,
    PageDown,
}

impl Key {
    pub fn parse(s: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "up" => KeyName::Up,
            "down" => KeyName::Down,
            "left" => KeyName::Left,
            "right" => KeyName::Right,
            "enter" => KeyName::Enter,
            "esc" => KeyName::Esc,
            "tab" => KeyName::Tab,
            "backtab" => KeyName::BackTab,
            "backspace" => KeyName::Backspace,
            "home" => KeyName::Home,
            "end" => KeyName::End,
            "pageup" => KeyName::PageUp,
            "pagedown" => KeyName::PageDown,
            "space" => KeyName::Char(' '),
            // One printable character (a control character is no key name: it would reach the
            // help screen as a terminal control).
            s if s.chars().count() == 1 && !s.chars().any(char::is_control) => {
                KeyName::Char(s.chars().next()?)
            }
            _ => return None,
        };
        Some(Key { code, ctrl, alt })
    }

    pub fn from_event(e: &KeyEvent) -> Option<Key> {
        let code = match e.code {
            KeyCode::Char(c) => KeyName::Char(c),
            KeyCode::Up => KeyName::Up,
            KeyCode::Down => KeyName::Down,
            KeyCode::Left => KeyName::Left,
            KeyCode::Right => KeyName::Right,
            KeyCode::Enter => KeyName::Enter,
            KeyCode::Esc => KeyName::Esc,
            KeyCode::Tab => KeyName::Tab,
            KeyCode::BackTab => KeyName::BackTab,
            KeyCode::Backspace => KeyName::Backspace,
            KeyCode::Home => KeyName::Home,
            KeyCode::End => KeyName::End,
            KeyCode::PageUp => KeyName::PageUp,
            KeyCode::PageDown => KeyName::PageDown,
            _ => return None,
        };
        Some(Key {
            code,
            ctrl: e.modifiers.contains(KeyModifiers::CONTROL),
            alt: e.modifiers.contains(KeyModifiers::ALT),
        })
    }

    pub fn label(&self) -> String {
        let name = match self.code {
            KeyName::Char(' ') => "space".to_string(),
            KeyName::Char(c) => c.to_string(),
            KeyName::Up => "↑".into(),
            KeyName::Down => "↓".into(),
            KeyName::Left => "←".into(),
            KeyName::Right => "→".into(),
            KeyName::Enter => "Enter".into(),
            KeyName::Esc => "Esc".into(),
            KeyName::Tab => "Tab".into(),
            KeyName::BackTab => "Shift-Tab".into(),
            KeyName::Backspace => "Backspace".into(),
            KeyName::Home => "Home".into(),
            KeyName::End => "End".into(),
            KeyName::PageUp => "PgUp".into(),
            KeyName::PageDown => "PgDn".into(),
        };
        format!(
            "{}{}{}",
            if self.ctrl { "Ctrl-" } else { "" },
            if self.alt { "Alt-" } else { "" },
            name
        )
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

/// The bindings of every layer, and each view's guarded actions: key → the name of one of the
/// actions its resource declares (`app::resources`), so a key bound on one view never starts an
/// action of another.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: BTreeMap<Layer, BTreeMap<Key, Action>>,
    actions: BTreeMap<View, BTreeMap<Key, &'static str>>,
}

type KeymapFile = BTreeMap<String, toml::Value>;

/// The keys of a `name = ["k", …]` entry.
fn keys_of(
    v: &toml::Value,
    what: &str,
    err: &dyn Fn(String) -> KeymapError,
) -> Result<Vec<Key>, KeymapError> {
    let list = v
        .as_array()
        .ok_or_else(|| err(format!("{what}: write a list of keys, e.g. [\"R\"]")))?;
    list.iter()
        .map(|k| {
            let k = k
                .as_str()
                .ok_or_else(|| err(format!("{what}: keys are strings, e.g. \"R\"")))?;
            Key::parse(k).ok_or_else(|| err(format!("{what}: unknown key '{k}'")))
        })
        .collect()
}

impl Keymap {
    /// The embedded defaults.
    pub fn default_keymap() -> Keymap {
        let mut k = Keymap {
            bindings: BTreeMap::new(),
            actions: BTreeMap::new(),
        };
        // The embedded file is tested; a failure here would be a build mistake.
        let _ = k.merge(DEFAULT, "keymap.toml (built in)");
        // Each view's actions, with the keys its resource gives them.
        for v in View::ALL {
            let map = k.actions.entry(v).or_default();
            for a in v.resource().actions() {
                for key in a.keys.iter().filter_map(|x| Key::parse(x)) {
                    map.insert(key, a.name);
                }
            }
        }
        k
    }

    /// Merges a user keymap over this one: each action named replaces its keys in that layer.
    pub fn merge(&mut self, text: &str, file: &str) -> Result<(), KeymapError> {
        let err = |message: String| KeymapError::Invalid {
            file: file.to_string(),
            message,
        };
        let parsed: KeymapFile = toml::from_str(text).map_err(|e| err(e.message().to_string()))?;
        for (layer_name, table) in parsed {
            let layer = match layer_name.as_str() {
                "browse" => Layer::Browse,
                "input" => Layer::Input,
                "help" => Layer::Help,
                "actions" => {
                    self.merge_actions(&table, &err)?;
                    continue;
                }
                other => {
                    return Err(err(format!(
                        "unknown layer [{other}] (expected browse, input, help, or actions.VIEW)"
                    )));
                }
            };
            let table = table
                .as_table()
                .ok_or_else(|| err(format!("[{layer_name}] must be a table of action = [keys]")))?;
            let map = self.bindings.entry(layer).or_default();
            for (action_name, keys) in table {
                let action = Action::from_name(action_name)
                    .ok_or_else(|| err(format!("[{layer_name}] unknown action '{action_name}'")))?;
                let keys = keys_of(keys, &format!("[{layer_name}] {action_name}"), &err)?;
                map.retain(|_, a| *a != action);
                for key in keys {
                    map.insert(key, action);
                }
            }
        }
        self.check_clashes().map_err(err)
    }

    /// A view's action key must mean nothing else there: not a browse key (it would never
    /// fire, and help would say it does) and not a link digit 1–9.
    fn check_clashes(&self) -> Result<(), String> {
        let browse = self.bindings.get(&Layer::Browse);
        for (view, keys) in &self.actions {
            let name = view.resource().command().map(|c| c.name).unwrap_or("?");
            for (key, action) in keys {
                if let Some(b) = browse.and_then(|m| m.get(key)) {
                    return Err(format!(
                        "[actions.{name}] {action}: '{}' is already {:?} in [browse]; pick another key, or rebind that one",
                        key.label(),
                        b.describe()
                    ));
                }
                if !key.ctrl
                    && !key.alt
                    && matches!(key.code, KeyName::Char(c) if ('1'..='9').contains(&c))
                {
                    return Err(format!(
                        "[actions.{name}] {action}: '{}' follows a numbered link; pick another key",
                        key.label()
                    ));
                }
            }
        }
        Ok(())
    }

    /// `[actions.VIEW]` tables (VIEW is the view's command: `[actions.keys]`); a flat
    /// `[actions]` entry (older files) rebinds that action on every view that offers it.
    fn merge_actions(
        &mut self,
        table: &toml::Value,
        err: &dyn Fn(String) -> KeymapError,
    ) -> Result<(), KeymapError> {
        let table = table
            .as_table()
            .ok_or_else(|| err("[actions] must be a table, e.g. [actions.keys]".into()))?;
        let views_with_actions = || {
            View::ALL
                .into_iter()
                .filter(|v| !v.resource().actions().is_empty())
                .filter_map(|v| v.resource().command().map(|c| c.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for (name, value) in table {
            let targets: Vec<(View, &str, &toml::Value)> = match value {
                toml::Value::Table(per_view) => {
                    let view = View::ALL
                        .into_iter()
                        .find(|v| v.resource().command().is_some_and(|c| c.name == name))
                        .ok_or_else(|| {
                            err(format!(
                                "[actions.{name}]: no view is called {name} (views with actions: {})",
                                views_with_actions()
                            ))
                        })?;
                    per_view
                        .iter()
                        .map(|(a, keys)| (view, a.as_str(), keys))
                        .collect()
                }
                keys => {
                    let views: Vec<View> = View::ALL
                        .into_iter()
                        .filter(|v| v.resource().actions().iter().any(|a| a.name == name))
                        .collect();
                    if views.is_empty() {
                        return Err(err(format!(
                            "[actions] unknown action '{name}' (write [actions.VIEW]; views with actions: {})",
                            views_with_actions()
                        )));
                    }
                    views
                        .into_iter()
                        .map(|v| (v, name.as_str(), keys))
                        .collect()
                }
            };
            for (view, action, keys) in targets {
                let offered = view.resource().actions();
                let Some(binding) = offered.iter().find(|a| a.name == action) else {
                    let names: Vec<&str> = offered.iter().map(|a| a.name).collect();
                    return Err(err(format!(
                        "[actions.{}] unknown action '{action}' (this view offers: {})",
                        view.resource().command().map(|c| c.name).unwrap_or("?"),
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    )));
                };
                let keys = keys_of(keys, &format!("[actions] {action}"), err)?;
                let map = self.actions.entry(view).or_default();
                map.retain(|_, a| *a != binding.name);
                for key in keys {
                    map.insert(key, binding.name);
                }
            }
        }
        Ok(())
    }

    /// The guarded action `key` starts on `view`, if one is bound there.
    pub fn view_action(&self, view: View, key: &Key) -> Option<&'static ActionBinding> {
        let name = self.actions.get(&view)?.get(key)?;
        view.resource().actions().iter().find(|a| a.name == *name)
    }

    /// (keys, description) of a view's guarded actions, in the order the resource lists them.
    pub fn action_help(&self, view: View) -> Vec<(String, &'static str)> {
        let bound = self.actions.get(&view);
        view.resource()
            .actions()
            .iter()
            .map(|a| {
                let keys: Vec<String> = bound
                    .into_iter()
                    .flatten()
                    .filter(|(_, n)| **n == a.name)
                    .map(|(k, _)| k.label())
                    .collect();
                (
                    if keys.is_empty() {
                        "(unbound)".to_string()
                    } else {
                        keys.join(" ")
                    },
                    a.describe,
                )
            })
            .collect()
    }

    pub fn action(&self, layer: Layer, key: &Key) -> Option<Action> {
        self.bindings.get(&layer)?.get(key).copied()
    }

    /// (keys, description) for every action of a layer, in a stable order.
    pub fn help(&self, layer: Layer) -> Vec<(String, &'static str)> {
        let mut by_action: BTreeMap<Action, Vec<String>> = BTreeMap::new();
        if let Some(m) = self.bindings.get(&layer) {
            for (k, a) in m {
                by_action.entry(*a).or_default().push(k.label());
            }
        }
        by_action
            .into_iter()
            .map(|(a, keys)| (keys.join(" "), a.describe()))
            .collect()
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::default_keymap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_overrides_replace() {
        let mut k = Keymap::default_keymap();
        let j = Key::parse("j").unwrap();
        assert_eq!(k.action(Layer::Browse, &j), Some(Action::Down));
        assert_eq!(
            k.action(Layer::Browse, &Key::parse("ctrl-c").unwrap()),
            Some(Action::Quit)
        );
        k.merge("[browse]\ndown = [\"n\"]\n", "user.toml").unwrap();
        assert_eq!(k.action(Layer::Browse, &j), None);
        assert_eq!(
            k.action(Layer::Browse, &Key::parse("n").unwrap()),
            Some(Action::Down)
        );
        assert!(
            k.help(Layer::Browse)
                .iter()
                .any(|(keys, d)| keys == "n" && *d == "move down")
        );
    }

    #[test]
    fn bad_keymaps_are_named() {
        let mut k = Keymap::default_keymap();
        let e = k.merge("[browse]\nfly = [\"x\"]\n", "u.toml").unwrap_err();
        assert_eq!(e.to_string(), "u.toml: [browse] unknown action 'fly'");
        let e = k
            .merge("[browse]\nup = [\"hyper-x\"]\n", "u.toml")
            .unwrap_err();
        assert!(e.to_string().contains("unknown key 'hyper-x'"));
    }
}
