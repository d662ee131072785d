//! The console application: state, key → action → update → effects, and the runner.

pub mod command;
pub mod keymap;
pub mod links;
pub mod rows;
pub mod run;
pub mod state;
pub mod update;

use crate::ui::theme::Theme;
use anyhow::{Context as _, Result};
use crossterm::ExecutableCommand;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use keymap::Keymap;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use state::State;

/// Restores the terminal (also from the panic hook and on signals).
pub fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = std::io::stdout().execute(LeaveAlternateScreen);
    let _ = std::io::stdout().execute(crossterm::cursor::Show);
}

/// Loads the keymap: built-in defaults merged with ~/.config/phi-console/keymap.toml.
pub fn load_keymap() -> Result<Keymap> {
    let mut k = Keymap::default_keymap();
    if let Some(path) = crate::session::settings::default_path()
        .and_then(|p| p.parent().map(|d| d.join("keymap.toml")))
    {
        // Absent is the defaults; present but unreadable (a directory, huge, not UTF-8) is an
        // error naming the file, never silently ignored.
        match crate::validate::read_bounded(&path, 1 << 20) {
            Ok(text) => k.merge(&text, &path.display().to_string())?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("keymap file {}: cannot read: {e}", path.display()),
        }
    }
    Ok(k)
}

/// Runs the TUI until the operator quits.
pub async fn run_tui(ctx: run::Context, theme: Theme, banner: Option<String>) -> Result<()> {
    let keymap = load_keymap()?;
    let mut state = State::new(chrono::Utc::now(), keymap, theme);
    state.banner = banner;
    if let Some(set) = &ctx.profiles {
        state.profiles = set.profiles().map(str::to_string).collect();
        state.profiles.sort();
    }
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    enable_raw_mode().context("cannot put the terminal in raw mode (is this a terminal?)")?;
    std::io::stdout().execute(EnterAlternateScreen)?;
    let result = async {
        let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        terminal.clear()?;
        let (tx, rx) = run::channel();
        run::spawn_input(tx.clone());
        let mut runner = run::Runner::new(tx, ctx);
        // SIGHUP (the SSH session dropped) and SIGTERM end the console cleanly.
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let r = tokio::select! {
            r = run::run_loop(&mut terminal, &mut state, &mut runner, rx) => r,
            _ = hup.recv() => Ok(()),
            _ = term.recv() => Ok(()),
        };
        runner.shutdown().await;
        r
    }
    .await;
    restore_terminal();
    result.map_err(Into::into)
}
