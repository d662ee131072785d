//! `phi-console audit verify | show | export`.

use super::record::{Kind, Record};
use super::verify::{VerifyOptions, read_records, verify_bytes};
use super::verify_cmd::EXIT_CODES_HELP;
use super::writer::default_path;
use crate::options::GlobalOptions;
use crate::sanitize::{self, SafeWriter, clean};
use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// Exit code: the log is intact (warnings allowed).
pub const EXIT_VALID: i32 = 0;
/// Exit code: verification found a problem.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: the log could not be read.
pub const EXIT_UNREADABLE: i32 = 2;
pub use super::verify_cmd::{EXIT_SEALS_NOT_VERIFIED, EXIT_WITNESS_PENDING, VerifyArgs, Witness};

/// Which log: a file, or the default log of a profile.
#[derive(Args, Debug, Clone, Default)]
pub struct LogArgs {
    /// The log file (default: the log of the global `--profile` under
    /// $XDG_STATE_HOME/phi-console/audit/).
    pub file: Option<PathBuf>,
    /// The profile whose log to read (and, for verify, whose AWS credentials check seals):
    /// the global `--profile`, else $AWS_PROFILE, else `default`.
    #[arg(skip)]
    pub profile: Option<String>,
}

impl LogArgs {
    pub(crate) fn path(&self) -> Result<PathBuf> {
        match &self.file {
            Some(f) => Ok(f.clone()),
            None => Ok(default_path(&profile_name(&self.profile))?),
        }
    }
    /// The profile: `--profile`, else `AWS_PROFILE`, else `default`.
    pub(crate) fn profile_name(&self) -> String {
        profile_name(&self.profile)
    }
}

fn profile_name(p: &Option<String>) -> String {
    p.clone()
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "default".into())
}

/// Export formats.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Json,
    Csv,
}

#[derive(Subcommand, Debug, Clone)]
pub enum AuditCommand {
    /// Check the hash chain, the sequence and the seals (with the profile's seal key); exit 0
    /// only if the log is intact and every seal verified.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// List records, oldest first.
    Show {
        #[command(flatten)]
        log: LogArgs,
        /// Only records at or after this time: RFC 3339, a date (YYYY-MM-DD), or an age such
        /// as 30m, 12h, 7d.
        #[arg(long)]
        since: Option<String>,
        /// Only records whose action contains this text (case-insensitive), e.g. `PurgeQueue`.
        #[arg(long)]
        action: Option<String>,
        /// Print the records as stored (JSON Lines).
        #[arg(long)]
        json: bool,
    },
    /// Write every record to stdout as a JSON array or CSV (exit 1 if the log does not verify).
    Export {
        #[command(flatten)]
        log: LogArgs,
        #[arg(long, value_enum, default_value = "json")]
        format: ExportFormat,
    },
}

impl AuditCommand {
    /// Takes the global options (`--profile`, `--region`, `--endpoint-url`) into the command.
    pub fn apply_globals(&mut self, global: &GlobalOptions) {
        match self {
            AuditCommand::Verify(v) => {
                v.log.profile = global.profile.clone();
                v.global = global.clone();
            }
            AuditCommand::Show { log, .. } | AuditCommand::Export { log, .. } => {
                log.profile = global.profile.clone();
            }
        }
    }
}

/// Runs an audit command on stdout/stderr; returns the exit code.
pub fn run(mut cmd: AuditCommand, global: &GlobalOptions) -> Result<i32> {
    cmd.apply_globals(global);
    let mut out = sanitize::stdout();
    let code = run_with(cmd, &mut out, &mut sanitize::stderr())?;
    out.flush()?;
    Ok(code)
}

/// Runs an audit command writing to `out` and `err`; returns the exit code.
pub fn run_with(cmd: AuditCommand, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    // Records hold text from AWS and from operators: every byte printed goes through the one
    // sanitiser (JSON is escaped before, so this changes nothing in it).
    let out = &mut SafeWriter::new(out);
    let err = &mut SafeWriter::new(err);
    match cmd {
        AuditCommand::Verify(args) => super::verify_cmd::run(args, out, err),
        AuditCommand::Show {
            log,
            since,
            action,
            json,
        } => {
            let path = log.path()?;
            let data = std::fs::read(&path)
                .with_context(|| format!("cannot read the audit log {}", path.display()))?;
            let since = since.as_deref().map(parse_since).transpose()?;
            let action = action.map(|a| a.to_lowercase());
            let (records, bad) = read_records(&data);
            let raw: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            for (line, r) in records {
                if let Some(t) = since {
                    match DateTime::parse_from_rfc3339(&r.time) {
                        Ok(rt) if rt.with_timezone(&Utc) >= t => {}
                        _ => continue,
                    }
                }
                if let Some(a) = &action
                    && !r
                        .action()
                        .is_some_and(|x| x.to_lowercase().contains(a.as_str()))
                {
                    continue;
                }
                if json {
                    // As stored, but with every unsafe character as a `\uXXXX` escape (the
                    // same JSON data; the line parsed, so it is valid UTF-8 JSON).
                    let stored = raw.get(line as usize - 1).copied().unwrap_or_default();
                    let stored = String::from_utf8_lossy(stored);
                    writeln!(out, "{}", sanitize::escape_json_text(&stored))?;
                } else {
                    // One line per record, whatever its fields hold.
                    writeln!(out, "{}", clean(&summary(&r)))?;
                }
            }
            if !bad.is_empty() {
                writeln!(
                    err,
                    "{} unreadable line(s) skipped (first: line {}); run `phi-console audit verify`",
                    bad.len(),
                    bad[0]
                )?;
            }
            Ok(EXIT_VALID)
        }
        AuditCommand::Export { log, format } => {
            let path = log.path()?;
            let data = std::fs::read(&path)
                .with_context(|| format!("cannot read the audit log {}", path.display()))?;
            let (records, _) = read_records(&data);
            match format {
                ExportFormat::Json => {
                    let all: Vec<Value> = records
                        .iter()
                        .map(|(_, r)| serde_json::to_value(r))
                        .collect::<Result<_, _>>()?;
                    writeln!(out, "{}", sanitize::to_json_string(&Value::Array(all)))?;
                }
                ExportFormat::Csv => write_csv(out, records.iter().map(|(_, r)| r))?,
            }
            // The structure only: export does not check seals (that is `audit verify`'s job).
            let report = verify_bytes(&data, &VerifyOptions::offline());
            match report.first_problem() {
                None => Ok(EXIT_VALID),
                Some(p) => {
                    writeln!(
                        err,
                        "warning: the log does not verify ({p}); exported the readable records anyway"
                    )?;
                    Ok(EXIT_INVALID)
                }
            }
        }
    }
}

/// Parses `--since`: RFC 3339, `YYYY-MM-DD` (UTC midnight), or `<n>s|m|h|d` ago.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>> {
    parse_since_at(s, Utc::now())
}

/// [`parse_since`] relative to `now` (the session's clock for `phi-console events`).
pub fn parse_since_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        && let Some(t) = d.and_hms_opt(0, 0, 0)
    {
        return Ok(t.and_utc());
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().with_context(|| {
        format!("--since {s:?}: use RFC 3339, YYYY-MM-DD, or an age like 30m, 12h, 7d")
    })?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86400),
        _ => anyhow::bail!("--since {s:?}: the unit must be s, m, h or d"),
    };
    let ago = chrono::Duration::try_seconds(secs).context("--since: too far back")?;
    now.checked_sub_signed(ago).context("--since: too far back")
}

/// One line per record for `show`.
fn summary(r: &Record) -> String {
    let mut s = format!("{:>6}  {}  {:<7} ", r.seq, r.time, r.kind.as_str());
    let targets = r
        .what
        .as_ref()
        .map(|w| w.targets.join(","))
        .unwrap_or_default();
    match r.kind {
        Kind::Intent | Kind::Reveal => {
            if let Some(e) = &r.event {
                s.push_str(&format!("{e} "));
            }
            s.push_str(r.action().unwrap_or("?"));
            if !targets.is_empty() {
                s.push_str(&format!(" {targets}"));
            }
            if let Some(why) = &r.why {
                if let Some(reason) = &why.reason {
                    s.push_str(&format!(" reason={reason:?}"));
                }
                if let Some(t) = &why.ticket {
                    s.push_str(&format!(" ticket={t}"));
                }
            }
        }
        Kind::Outcome => {
            if let Some(o) = &r.outcome {
                s.push_str(o.status.as_str());
                if let Some(c) = &o.error_code {
                    s.push_str(&format!(" ({c})"));
                }
            }
            s.push_str(&format!(" {}", r.action().unwrap_or("?")));
            if let Some(id) = &r.intent_id {
                s.push_str(&format!(" [intent {}]", &id[..id.len().min(8)]));
            }
        }
        Kind::Task => {
            s.push_str(&format!(
                "{} {}",
                r.event.as_deref().unwrap_or("?"),
                r.action().unwrap_or("?")
            ));
            if !targets.is_empty() {
                s.push_str(&format!(" {targets}"));
            }
            if let Some(state) = r
                .details
                .as_ref()
                .and_then(|d| d.get("final_state"))
                .and_then(|v| v.as_str())
            {
                s.push_str(&format!(" final_state={state}"));
            }
            if let Some(id) = &r.intent_id {
                s.push_str(&format!(" [intent {}]", &id[..id.len().min(8)]));
            }
        }
        Kind::Session => {
            s.push_str(r.event.as_deref().unwrap_or("?"));
            if let Some(p) = r.place.as_ref().and_then(|p| p.profile.as_ref()) {
                s.push_str(&format!(" profile={p}"));
            }
        }
        Kind::Seal => {
            if let Some(seal) = &r.seal {
                s.push_str(&format!(
                    "sealed seq {} with {}",
                    r.seq.saturating_sub(1),
                    seal.key_id
                ));
            }
        }
    }
    if let Some(w) = &r.who
        && r.kind != Kind::Seal
    {
        let user = w.os_user.as_deref().unwrap_or("?");
        match &w.caller_arn {
            Some(arn) => s.push_str(&format!("  by {user} as {arn}")),
            None => s.push_str(&format!("  by {user}")),
        }
    }
    s
}

const CSV_COLUMNS: &[&str] = &[
    "seq",
    "time",
    "kind",
    "event",
    "id",
    "intent_id",
    "action",
    "targets",
    "os_user",
    "uid",
    "host",
    "ssh_client",
    "tty",
    "caller_arn",
    "source_identity",
    "mfa_used",
    "mfa_age_s",
    "profile",
    "account",
    "region",
    "reason",
    "ticket",
    "confirmed",
    "status",
    "error_code",
    "request_ids",
    "hash",
];

fn write_csv<'a>(
    out: &mut dyn Write,
    records: impl Iterator<Item = &'a Record>,
) -> std::io::Result<()> {
    writeln!(out, "{}", sanitize::csv_row(CSV_COLUMNS))?;
    for r in records {
        let who = r.who.clone().unwrap_or_default();
        let place = r.place.clone().unwrap_or_default();
        let why = r.why.clone().unwrap_or_default();
        let opt = |v: Option<String>| v.unwrap_or_default();
        let row: Vec<String> = vec![
            r.seq.to_string(),
            r.time.clone(),
            r.kind.as_str().to_string(),
            opt(r.event.clone()),
            r.id.clone(),
            opt(r.intent_id.clone()),
            r.action().unwrap_or_default().to_string(),
            r.what
                .as_ref()
                .map(|w| w.targets.join(" "))
                .unwrap_or_default(),
            opt(who.os_user),
            opt(who.uid.map(|u| u.to_string())),
            opt(who.host),
            opt(who.ssh_client),
            opt(who.tty),
            opt(who.caller_arn),
            opt(who.source_identity),
            opt(who.mfa_used.map(|b| b.to_string())),
            opt(who.mfa_age_s.map(|a| a.to_string())),
            opt(place.profile),
            opt(place.account),
            opt(place.region),
            opt(why.reason),
            opt(why.ticket),
            r.how
                .iter()
                .map(|c| c.method.clone())
                .collect::<Vec<_>>()
                .join(" "),
            opt(r.outcome.as_ref().map(|o| o.status.as_str().to_string())),
            opt(r.outcome.as_ref().and_then(|o| o.error_code.clone())),
            r.request_ids.join(" "),
            r.hash.clone(),
        ];
        // Every cell through the one sanitiser: one line, quoted, formulas defused.
        writeln!(out, "{}", sanitize::csv_row(&row))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_times_dates_and_ages() {
        let now = DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_since_at("2026-02-01T00:00:00Z", now)
                .unwrap()
                .to_rfc3339(),
            "2026-02-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since_at("2026-02-01", now).unwrap().to_rfc3339(),
            "2026-02-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since_at("90m", now).unwrap().to_rfc3339(),
            "2026-03-01T10:30:00+00:00"
        );
        assert_eq!(
            parse_since_at("2d", now).unwrap().to_rfc3339(),
            "2026-02-27T12:00:00+00:00"
        );
        assert!(parse_since_at("yesterday", now).is_err());
        assert!(parse_since_at("5w", now).is_err());
        assert!(parse_since_at("99999999999999999d", now).is_err());
    }

    #[test]
    fn csv_cells_are_quoted_and_defused() {
        use crate::sanitize::csv_cell;
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
