//! Opening a session from the command line, for every subcommand that needs one
//! (`phi-console key …`, `phi-console audit verify`): the profile from `--profile` /
//! `AWS_PROFILE`, `--region` and `--endpoint-url` applied, and the MFA code asked when the
//! profile needs one.
//!
//! Answers are read from the terminal (`/dev/tty`) when stdin is a terminal, else as lines
//! from stdin (scripts and tests pipe them); prompts go to the terminal or stderr, never
//! stdout.

use super::profile::{load_profiles, resolve, selected_profile};
use super::{OpenOptions, ResolvedProfile, Session};
use crate::options::GlobalOptions;
use aws_types::os_shim_internal::{Env, Fs};
use std::io::{BufRead, Write};

/// Why a prompt or the session behind it failed; `kind` names the step (`input`, `mfa`,
/// `profile`, `session`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PromptError {
    pub kind: &'static str,
    pub message: String,
}

impl PromptError {
    fn new(kind: &'static str, message: impl std::fmt::Display) -> Self {
        PromptError {
            kind,
            message: message.to_string(),
        }
    }
}

/// Reads answers from the terminal, or from stdin when stdin is not a terminal. What it shows
/// goes through the sanitiser (prompts carry names from AWS and from the log).
pub struct Prompter {
    input: Box<dyn BufRead + Send>,
    out: Box<dyn Write + Send>,
    /// Input is not echoed (a pipe): end each prompt's line after the answer.
    piped: bool,
}

impl Default for Prompter {
    fn default() -> Self {
        Self::new()
    }
}

impl Prompter {
    /// The terminal when stdin is one, else stdin lines with prompts on stderr.
    pub fn new() -> Prompter {
        use std::io::IsTerminal;
        if std::io::stdin().is_terminal() {
            let tty = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/tty");
            if let Ok(tty) = tty
                && let Ok(w) = tty.try_clone()
            {
                return Prompter {
                    input: Box::new(std::io::BufReader::new(tty)),
                    out: Box::new(crate::sanitize::SafeWriter::new(w)),
                    piped: false,
                };
            }
        }
        Prompter {
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
            out: Box::new(crate::sanitize::stderr()),
            piped: true,
        }
    }

    /// Answers from `input`, prompts to `out` (tests).
    pub fn from_parts(input: Box<dyn BufRead + Send>, out: Box<dyn Write + Send>) -> Prompter {
        Prompter {
            input,
            out: Box::new(crate::sanitize::SafeWriter::new(out)),
            piped: true,
        }
    }

    /// Asks one line; `None` at end of input.
    pub fn ask(&mut self, prompt: &str) -> Result<Option<String>, PromptError> {
        let _ = write!(self.out, "{prompt}");
        let _ = self.out.flush();
        let mut line = String::new();
        // A line longer than any answer is not an answer (and is not kept in memory).
        let limited = std::io::Read::take(&mut self.input, 4096);
        let n = BufRead::read_line(&mut { limited }, &mut line)
            .map_err(|e| PromptError::new("input", e))?;
        if n == 0 || self.piped {
            let _ = writeln!(self.out);
        }
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
    }

    /// Says something on the prompt's side (the terminal or stderr).
    pub fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    /// Asks for the MFA code of `p`'s device.
    pub fn mfa_code(&mut self, p: &ResolvedProfile) -> Result<String, PromptError> {
        let serial = p
            .mfa_serial
            .clone()
            .or_else(|| p.roles.iter().find_map(|r| r.mfa_serial.clone()))
            .unwrap_or_default();
        match self.ask(&format!("MFA code for {serial} (profile {}): ", p.name))? {
            Some(c) if !c.trim().is_empty() => Ok(c),
            _ => Err(PromptError::new(
                "mfa",
                format!("no MFA code was entered for profile '{}'", p.name),
            )),
        }
    }
}

/// The profile a command runs as, resolved from the AWS config files, with the options its
/// session opens with.
#[derive(Debug, Clone)]
pub struct CliProfile {
    pub name: String,
    pub resolved: ResolvedProfile,
    pub options: OpenOptions,
}

/// Resolves the profile of `--profile` (else `AWS_PROFILE`, else `default`), applying
/// `--region` and `--endpoint-url`.
pub fn resolve_profile(
    rt: &tokio::runtime::Runtime,
    global: &GlobalOptions,
) -> Result<CliProfile, PromptError> {
    let env = Env::real();
    let set = rt
        .block_on(load_profiles(&env, &Fs::real()))
        .map_err(|e| PromptError::new("profile", e))?;
    let name = selected_profile(global.profile.as_deref(), &env);
    let mut resolved = resolve(&set, &name, &env).map_err(|e| PromptError::new("profile", e))?;
    if let Some(url) = &global.endpoint_url {
        resolved.endpoint_url = Some(url.clone());
    }
    let mut options = OpenOptions::new(&super::os_login());
    options.region = global.region.clone();
    options.endpoint_url = global.endpoint_url.clone();
    Ok(CliProfile {
        name,
        resolved,
        options,
    })
}

/// Opens the session of `p`, asking for the MFA code first when the profile needs one.
pub fn open_session(
    rt: &tokio::runtime::Runtime,
    p: &CliProfile,
    prompt: &mut Prompter,
) -> Result<Session, PromptError> {
    let code = if super::needs_code(&p.resolved) {
        Some(prompt.mfa_code(&p.resolved)?)
    } else {
        None
    };
    rt.block_on(super::open(&p.resolved, code.as_deref(), &p.options))
        .map_err(|e| PromptError::new("session", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_line_by_line_and_end_with_none() {
        let input: Box<dyn BufRead + Send> =
            Box::new(std::io::Cursor::new(b"123456\r\nsecond\n".to_vec()));
        let mut p = Prompter::from_parts(input, Box::new(std::io::sink()));
        assert_eq!(p.ask("code: ").unwrap().as_deref(), Some("123456"));
        assert_eq!(p.ask("next: ").unwrap().as_deref(), Some("second"));
        assert_eq!(p.ask("more: ").unwrap(), None);
    }
}
