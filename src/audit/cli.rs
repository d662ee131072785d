//! `phi-console audit verify | show | export`.

use super::record::{Kind, Record};
use super::seal::{KmsSealer, LocalHmacSealer, Sealer};
use super::verify::{Report, SealStatus, VerifyOptions, Warning, read_records, verify_bytes};
use super::writer::default_path;
use anyhow::{Context as _, Result};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Exit code: the log is intact (warnings allowed).
pub const EXIT_VALID: i32 = 0;
/// Exit code: verification found a problem.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: the log could not be read.
pub const EXIT_UNREADABLE: i32 = 2;

/// Which log: a file, or the default log of a profile.
#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    /// The log file (default: the profile's log under $XDG_STATE_HOME/phi-console/audit/).
    pub file: Option<PathBuf>,
    /// The profile whose log to read (and, for verify, whose AWS credentials check seals);
    /// default: $AWS_PROFILE, else `default`.
    #[arg(long)]
    pub profile: Option<String>,
}

impl LogArgs {
    fn path(&self) -> Result<PathBuf> {
        match &self.file {
            Some(f) => Ok(f.clone()),
            None => Ok(default_path(&profile_name(&self.profile))?),
        }
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
    /// Check the hash chain, the sequence and the seals; exit 0 if the log is intact.
    Verify {
        #[command(flatten)]
        log: LogArgs,
        /// Endpoint for KMS (the emulator, a VPC endpoint); implies checking seals with KMS.
        #[arg(long)]
        endpoint_url: Option<String>,
        /// Region for KMS (default: from the profile or environment, else us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// Check seals made with a local HMAC key (64 hex digits in the file).
        #[arg(long)]
        seal_key_file: Option<PathBuf>,
        /// Do not contact KMS: seals are reported as not checked.
        #[arg(long)]
        offline: bool,
        /// Fail (instead of warning) when records after the last seal are not sealed.
        #[arg(long)]
        require_sealed: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
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

/// Runs an audit command on stdout/stderr; returns the exit code.
pub fn run(cmd: AuditCommand) -> Result<i32> {
    let mut out = std::io::stdout().lock();
    let code = run_with(cmd, &mut out, &mut std::io::stderr().lock())?;
    out.flush()?;
    Ok(code)
}

/// Runs an audit command writing to `out` and `err`; returns the exit code.
pub fn run_with(cmd: AuditCommand, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    match cmd {
        AuditCommand::Verify {
            log,
            endpoint_url,
            region,
            seal_key_file,
            offline,
            require_sealed,
            json,
        } => {
            let path = log.path()?;
            let data = match std::fs::read(&path) {
                Ok(d) => d,
                Err(e) => {
                    writeln!(err, "cannot read the audit log {}: {e}", path.display())?;
                    return Ok(EXIT_UNREADABLE);
                }
            };
            let kms = KmsOptions {
                endpoint_url,
                region,
                profile: log.profile.clone(),
                offline,
            };
            let mut opts = VerifyOptions {
                require_sealed,
                ..VerifyOptions::default()
            };
            if let Some(f) = &seal_key_file {
                opts.sealers.push(Arc::new(LocalHmacSealer::from_file(f)?));
            }
            opts.sealers.extend(kms_sealers(&data, &kms, err)?);
            let report = verify_bytes(&data, &opts);
            if json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&report_json(&path, &report))?
                )?;
            } else {
                print_report(out, &path, &report)?;
            }
            Ok(if report.is_valid() {
                EXIT_VALID
            } else {
                EXIT_INVALID
            })
        }
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
                    // As stored, byte for byte.
                    out.write_all(raw.get(line as usize - 1).copied().unwrap_or_default())?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "{}", summary(&r))?;
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
                    writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
                }
                ExportFormat::Csv => write_csv(out, records.iter().map(|(_, r)| r))?,
            }
            let report = verify_bytes(&data, &VerifyOptions::default());
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

struct KmsOptions {
    endpoint_url: Option<String>,
    region: Option<String>,
    profile: Option<String>,
    offline: bool,
}

/// KMS sealers for the KMS keys the log's seals name (none when offline or when no
/// configuration can be loaded; verification then reports those seals as not checked).
fn kms_sealers(data: &[u8], kms: &KmsOptions, err: &mut dyn Write) -> Result<Vec<Arc<dyn Sealer>>> {
    let (records, _) = read_records(data);
    let mut keys: Vec<String> = records
        .iter()
        .filter_map(|(_, r)| r.seal.as_ref().map(|s| s.key_id.clone()))
        .filter(|k| !k.starts_with("local-hmac:"))
        .collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() || kms.offline {
        return Ok(Vec::new());
    }
    let config = match load_aws_config(kms) {
        Ok(c) => c,
        Err(e) => {
            writeln!(err, "note: seals not checked (no KMS access: {e:#})")?;
            return Ok(Vec::new());
        }
    };
    let mut sealers: Vec<Arc<dyn Sealer>> = Vec::new();
    for key in keys {
        sealers.push(Arc::new(KmsSealer::from_config(&config, key)?));
    }
    Ok(sealers)
}

fn load_aws_config(kms: &KmsOptions) -> Result<aws_types::SdkConfig> {
    use aws_config::BehaviorVersion;
    use aws_smithy_types::retry::RetryConfig;
    use aws_smithy_types::timeout::TimeoutConfig;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(crate::cloud::http::http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        );
    if let Some(p) = &kms.profile {
        loader = loader.profile_name(p);
    }
    if let Some(u) = &kms.endpoint_url {
        loader = loader.endpoint_url(u);
    }
    let region = kms.region.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let config = std::thread::scope(|s| {
        s.spawn(|| {
            rt.block_on(async move {
                let mut config = loader.load().await;
                if let Some(r) =
                    region.or_else(|| config.region().is_none().then(|| "us-east-1".to_string()))
                {
                    config = config
                        .into_builder()
                        .region(aws_types::region::Region::new(r))
                        .build();
                }
                config
            })
        })
        .join()
    })
    .map_err(|_| anyhow::anyhow!("loading the AWS configuration panicked"))?;
    rt.shutdown_background();
    Ok(config)
}

fn print_report(
    out: &mut dyn Write,
    path: &std::path::Path,
    report: &Report,
) -> std::io::Result<()> {
    write!(
        out,
        "audit log {}: {} record(s)",
        path.display(),
        report.records
    )?;
    if let Some((seq, hash)) = &report.head {
        write!(out, ", head seq {seq} ({})", &hash[..hash.len().min(16)])?;
    }
    writeln!(out)?;
    match report.first_problem() {
        None => writeln!(out, "OK: the hash chain is intact")?,
        Some(p) => {
            writeln!(out, "FAILED: {p}")?;
            for p in report.problems.iter().skip(1).take(20) {
                writeln!(out, "  also: {p}")?;
            }
            if report.problems.len() > 21 {
                writeln!(out, "  … and {} more", report.problems.len() - 21)?;
            }
        }
    }
    let valid = report
        .seals
        .iter()
        .filter(|s| s.status == SealStatus::Valid)
        .count();
    let invalid = report
        .seals
        .iter()
        .filter(|s| s.status == SealStatus::Invalid)
        .count();
    let unchecked = report.seals.len() - valid - invalid;
    writeln!(
        out,
        "seals: {} ({valid} valid, {invalid} bad, {unchecked} not checked)",
        report.seals.len()
    )?;
    // Seals not checked are summarised per reason (a long log has many).
    let mut unchecked_by_reason: Vec<(&str, u64, &Warning)> = Vec::new();
    for w in &report.warnings {
        match w {
            Warning::SealNotChecked { reason, .. } => {
                match unchecked_by_reason.iter_mut().find(|(r, _, _)| r == reason) {
                    Some(entry) => entry.1 += 1,
                    None => unchecked_by_reason.push((reason, 1, w)),
                }
            }
            _ => writeln!(out, "warning: {w}")?,
        }
    }
    for (reason, n, first) in unchecked_by_reason {
        if let Warning::SealNotChecked {
            line, seq, key_id, ..
        } = first
        {
            writeln!(
                out,
                "warning: {n} seal(s) not checked ({reason}); the first at line {line} (seq {seq}), key {key_id}"
            )?;
        }
    }
    for u in &report.unfinished {
        writeln!(out, "warning: {u}")?;
    }
    Ok(())
}

fn report_json(path: &std::path::Path, report: &Report) -> Value {
    json!({
        "file": path.display().to_string(),
        "valid": report.is_valid(),
        "lines": report.lines,
        "records": report.records,
        "head": report.head.as_ref().map(|(s, h)| json!({"seq": s, "hash": h})),
        "problems": report.problems.iter().map(|p| json!({"line": p.line, "seq": p.seq, "why": p.kind.to_string()})).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        "seals": report.seals.iter().map(|s| json!({
            "line": s.line, "seq": s.seq, "key_id": s.key_id,
            "status": match &s.status {
                SealStatus::Valid => "valid".to_string(),
                SealStatus::Invalid => "bad".to_string(),
                SealStatus::NotChecked(r) => format!("not checked ({r})"),
            },
        })).collect::<Vec<_>>(),
        "unfinished": report.unfinished.iter().map(|u| json!({
            "line": u.line, "seq": u.seq, "id": u.id, "time": u.time, "action": u.action, "targets": u.targets,
        })).collect::<Vec<_>>(),
    })
}

/// Parses `--since`: RFC 3339, `YYYY-MM-DD` (UTC midnight), or `<n>s|m|h|d` ago.
pub fn parse_since(s: &str) -> Result<DateTime<Utc>> {
    parse_since_at(s, Utc::now())
}

fn parse_since_at(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
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
    writeln!(out, "{}", CSV_COLUMNS.join(","))?;
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
        writeln!(
            out,
            "{}",
            row.iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(",")
        )?;
    }
    Ok(())
}

/// RFC 4180 quoting, and a leading `'` for cells a spreadsheet would run as a formula.
fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
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
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
