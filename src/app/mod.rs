//! The console application: state, key → action → update → effects, and the runner.

pub mod audit_task;
pub mod command;
pub mod data;
pub mod drill;
pub mod drill_task;
pub mod format;
pub mod frames;
pub mod keymap;
pub mod links;
#[cfg(test)]
mod loop_tests;
#[cfg(test)]
mod progressive_tests;
pub mod resources;
pub mod rows;
pub mod run;
pub mod state;
#[cfg(test)]
mod test_support;
pub mod update;
#[cfg(test)]
mod update_tests;

use crate::theme::Theme;
use anyhow::Result;
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

/// What the console needs before it can sign in, made **after** the first frame: the profiles
/// read, the demo's emulator started. `keep_alive` lives as long as the console (the demo
/// emulator; the console never looks inside it).
pub struct Startup {
    pub ctx: run::Context,
    pub banner: Option<String>,
    pub keep_alive: Option<Box<dyn std::any::Any + Send>>,
}

/// Runs the TUI until the operator quits. The first frame is drawn before anything slow: the
/// terminal is put in raw mode and the alternate screen, cleared without asking it anything
/// (no cursor-position query, which costs a round trip over SSH and never returns from some
/// recorders), and drawn; then `startup` runs on a task while keys are read (Ctrl-C quits;
/// other keys wait for the sign-in prompt).
pub async fn run_tui<F>(
    startup: F,
    theme: Theme,
    banner: Option<String>,
    screen: &dyn run::Screen,
) -> Result<()>
where
    F: std::future::Future<Output = Result<Startup>> + Send + 'static,
{
    let keymap = load_keymap()?;
    let mut state = State::new(chrono::Utc::now(), keymap, theme);
    state.banner = banner;
    state.starting = Some("starting: reading profiles…".into());
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    if let Err(e) = enable_raw_mode() {
        // Not a terminal: a mistake in the profiles or settings is the more useful message.
        startup.await?;
        return Err(anyhow::Error::from(e)
            .context("cannot put the terminal in raw mode (is this a terminal?)"));
    }
    std::io::stdout().execute(EnterAlternateScreen)?;
    let mut keep_alive = None;
    let result = async {
        std::io::stdout().execute(crossterm::terminal::Clear(
            crossterm::terminal::ClearType::All,
        ))?;
        let mut terminal = Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        terminal.draw(|f| screen.draw(f, &state))?;
        let (tx, mut rx) = run::channel();
        run::spawn_input(tx.clone());
        // SIGHUP (the SSH session dropped) and SIGTERM end the console cleanly.
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let waited = tokio::select! {
            r = run::await_startup(&mut terminal, &mut state, &mut rx, startup, screen) => r?,
            _ = hup.recv() => None,
            _ = term.recv() => None,
        };
        let Some((started, early)) = waited else {
            return Ok(());
        };
        keep_alive = started.keep_alive;
        if let Some(e) = update::update(
            &mut state,
            update::Msg::Started {
                banner: started.banner,
                profiles: started
                    .ctx
                    .profiles
                    .as_ref()
                    .map(|set| set.profiles().map(str::to_string).collect())
                    .unwrap_or_default(),
            },
        )
        .into_iter()
        .next()
        {
            tracing::debug!("startup effect ignored: {e:?}");
        }
        let mut runner = run::Runner::new(tx.clone(), started.ctx);
        runner.start();
        // Keys typed while starting follow the sign-in prompt (an MFA code typed ahead).
        for k in early {
            let _ = tx.send(run::Incoming::Term(k));
        }
        let r = tokio::select! {
            r = run::run_loop(&mut terminal, &mut state, &mut runner, rx, screen) => r,
            _ = hup.recv() => Ok(()),
            _ = term.recv() => Ok(()),
        };
        runner.shutdown().await;
        r.map_err(anyhow::Error::from)
    }
    .await;
    restore_terminal();
    drop(keep_alive);
    result
}
