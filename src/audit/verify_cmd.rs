//! `phi-console audit verify`: the chain, the seals with the profile's seal key, the files, and
//! optionally the CloudTrail witness.
//!
//! Trust comes from the verifier, never from the log: seals are checked with the KMS key the
//! profile's settings name (`audit_hmac_key`, or `--seal-key`), through the profile's own
//! credentials (asking for the MFA code when the profile needs one), or with a local key the
//! verifier hands over (`--seal-key-file`). A seal that names another key, or that cannot be
//! checked, fails verification. Only `--offline` skips the seal checks, and then the exit code
//! says so.

use super::cli::{EXIT_INVALID, EXIT_UNREADABLE, EXIT_VALID, LogArgs, parse_since};
use super::seal::{KmsSealer, LocalHmacSealer, SealError, Sealer};
use super::verify::{Report, SealStatus, VerifyOptions, Warning, verify_file};
use super::witness::{self, WitnessParams, WitnessReport};
use crate::options::GlobalOptions;
use crate::sanitize::{self, clean};
use crate::session::Session;
use crate::session::prompt::{self, Prompter};
use crate::session::settings;
use anyhow::Result;
use chrono::Utc;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Exit code: the chain is intact but the seals were not verified (`--offline`).
pub const EXIT_SEALS_NOT_VERIFIED: i32 = 3;
/// Exit code: intact, but CloudTrail does not show the newest seals yet (`--witness`).
pub const EXIT_WITNESS_PENDING: i32 = 4;

/// The exit codes, as `--help` shows them.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  intact: the hash chain is whole and every seal was made with the seal key
     (with --witness: and CloudTrail confirms every seal and shows no other)
  1  FAILED: tampering found, or a seal that cannot be checked (no seal key, no access,
     network), or the witness contradicts the log
  2  the log cannot be read (or the command is wrong)
  3  the hash chain is intact, but the log is NOT fully verified: --offline (seals not
     checked), or --allow-unsealed with records after the last seal
  4  intact so far, but the witness cannot confirm it yet: CloudTrail does not show the
     newest seals yet (verify again later), or the log's writer must be named
     (--witness-identity)";

/// Witnesses outside the host.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Witness {
    /// The seal key's GenerateMac calls in CloudTrail (LookupEvents).
    Cloudtrail,
}

/// `audit verify`'s arguments.
#[derive(Args, Debug, Clone, Default)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Check seals with this KMS key (id, ARN or alias) instead of the profile's
    /// `audit_hmac_key` setting.
    #[arg(long, value_name = "KEY")]
    pub seal_key: Option<String>,
    /// Also accept seals made with this local HMAC key (64 hex digits in the file). A local
    /// key counts only when you supply it here: a key named in the log could be anyone's.
    #[arg(long, value_name = "FILE")]
    pub seal_key_file: Option<PathBuf>,
    /// Do not contact AWS: check the chain and the seals' structure only (exit 3, never 0).
    #[arg(long, conflicts_with_all = ["witness", "seal_key"])]
    pub offline: bool,
    /// Records no verified seal covers fail verification (the default, and with --offline
    /// too when this is given).
    #[arg(long, conflicts_with = "allow_unsealed")]
    pub require_sealed: bool,
    /// Accept records after the last seal (a console that crashed, or KMS unreachable at
    /// the end of a session): they are reported, and the exit code is 3, never 0.
    #[arg(long)]
    pub allow_unsealed: bool,
    /// Hold the log's seals against a witness outside this host.
    #[arg(long, value_enum, value_name = "WITNESS")]
    pub witness: Option<Witness>,
    /// An identity (ARN, as CloudTrail shows it) that writes this log, whose every seal call
    /// must be in it (default: the identity you sign in with, and those the log names).
    #[arg(long, value_name = "ARN", requires = "witness")]
    pub witness_identity: Vec<String>,
    /// Look at CloudTrail events from this time on (default: 90 days, CloudTrail's limit):
    /// RFC 3339, YYYY-MM-DD, or an age such as 30d.
    #[arg(long, value_name = "TIME", requires = "witness")]
    pub witness_since: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// The global options (`--profile`, `--region`, `--endpoint-url`, `--config`).
    #[arg(skip)]
    pub global: GlobalOptions,
}

/// The AWS side of one verification: the profile's session, opened (with the MFA prompt) the
/// first time a seal or the witness needs it, and shared by both.
struct Aws {
    rt: tokio::runtime::Runtime,
    global: GlobalOptions,
    prompt: Mutex<Prompter>,
    session: OnceLock<Result<Session, String>>,
}

impl Aws {
    fn session(&self) -> Result<&Session, String> {
        self.session
            .get_or_init(|| {
                let p = prompt::resolve_profile(&self.rt, &self.global).map_err(|e| e.message)?;
                let mut prompt = self.prompt.lock().unwrap_or_else(PoisonError::into_inner);
                prompt::open_session(&self.rt, &p, &mut prompt).map_err(|e| e.message)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The session, in the region of `key` when it is an ARN (KMS keys and their CloudTrail
    /// events are regional).
    fn session_for_key(&self, key: &str) -> Result<Session, String> {
        let s = self.session()?;
        Ok(match arn_region(key) {
            Some(r) if r != s.region => s.with_region(r),
            _ => s.clone(),
        })
    }
}

fn arn_region(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, _, region, _, _] if !region.is_empty() => Some(region),
        _ => None,
    }
}

/// The profile's KMS seal key, reached through the profile's session on first use.
struct LazyKms {
    aws: Arc<Aws>,
    key: String,
    inner: OnceLock<Result<KmsSealer, SealError>>,
}

impl LazyKms {
    fn get(&self) -> Result<&KmsSealer, SealError> {
        self.inner
            .get_or_init(|| {
                let session = self.aws.session_for_key(&self.key).map_err(|e| {
                    SealError::Other(format!(
                        "no AWS session to check it with ({e}); run with --offline to check the chain alone"
                    ))
                })?;
                let client = aws_sdk_kms::Client::new(session.sdk_config());
                KmsSealer::resolved(client, &self.key)
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The key's ARN once resolved.
    fn arn(&self) -> Result<String, SealError> {
        self.get().map(|s| s.key_id())
    }
}

impl Sealer for LazyKms {
    fn mac(&self, message: &[u8]) -> Result<Vec<u8>, SealError> {
        self.get()?.mac(message)
    }
    fn verify(&self, message: &[u8], mac: &[u8]) -> Result<bool, SealError> {
        self.get()?.verify(message, mac)
    }
    fn key_id(&self) -> String {
        match self.inner.get() {
            Some(Ok(s)) => s.key_id(),
            _ => self.key.clone(),
        }
    }
    fn names_this_key(&self, key_id: &str) -> Result<bool, SealError> {
        if key_id.starts_with("local-hmac:") {
            // Not a KMS key: no session (and no MFA prompt) needed to say so.
            return Ok(false);
        }
        self.get()?.names_this_key(key_id)
    }
}

/// Runs `audit verify`; returns the exit code.
pub fn run(args: VerifyArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    // The seal key is the verifier's setting: `--config` (which must exist), else the default
    // settings file. Offline, no key is used, and settings are read only to find the profile's
    // log when no FILE is given.
    let profile = args.log.profile_name();
    let settings = if args.offline && args.log.file.is_some() {
        None
    } else {
        match settings::load_selected(args.global.config.as_deref()) {
            Ok(s) => Some(s.for_profile(&profile)),
            Err(e) => {
                writeln!(err, "phi-console: {}", clean(&e.to_string()))?;
                return Ok(EXIT_UNREADABLE);
            }
        }
    };
    // No FILE: the profile's log where the console writes it (its `audit_dir`, else
    // $PHI_CONSOLE_AUDIT_DIR, else the state directory).
    let path = match (&args.log.file, &settings) {
        (Some(f), _) => f.clone(),
        (None, Some(ps)) => match crate::guard::audit_config(&profile, ps, None) {
            Ok(c) => c.path,
            Err(e) => {
                writeln!(err, "phi-console: {}", clean(&e.to_string()))?;
                return Ok(EXIT_UNREADABLE);
            }
        },
        (None, None) => args.log.path()?,
    };
    let configured = if args.offline {
        None
    } else {
        args.seal_key
            .clone()
            .or_else(|| settings.as_ref().and_then(|s| s.audit_hmac_key.clone()))
    };

    let mut opts = VerifyOptions {
        // A log rewritten with every seal stripped is a log of unsealed records: unless the
        // verifier accepts them (and gets exit 3), they fail.
        // (Offline, the check is structural and never exits 0: unsealed records are reported,
        // and fail only when asked with --require-sealed.)
        require_sealed: args.require_sealed || !(args.allow_unsealed || args.offline),
        offline: args.offline,
        ..VerifyOptions::default()
    };
    if let Some(f) = &args.seal_key_file {
        match LocalHmacSealer::from_file(f) {
            Ok(s) => opts.sealers.push(Arc::new(s)),
            Err(e) => {
                writeln!(
                    err,
                    "phi-console: --seal-key-file: {}",
                    clean(&e.to_string())
                )?;
                return Ok(EXIT_UNREADABLE);
            }
        }
    }
    let aws = Arc::new(Aws {
        rt: tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?,
        global: GlobalOptions {
            profile: Some(profile.clone()),
            ..args.global.clone()
        },
        prompt: Mutex::new(Prompter::new()),
        session: OnceLock::new(),
    });
    let kms = match (&configured, args.offline) {
        (Some(key), false) => {
            let k = Arc::new(LazyKms {
                aws: aws.clone(),
                key: key.clone(),
                inner: OnceLock::new(),
            });
            opts.sealers.push(k.clone());
            Some(k)
        }
        _ => None,
    };
    if configured.is_none() && !args.offline {
        opts.no_key_reason = Some(format!(
            "no seal key is configured for profile {profile}: set audit_hmac_key in its settings, pass --seal-key KEY (or --seal-key-file FILE for a local key), or run with --offline to check the chain alone"
        ));
    }

    let report = match verify_file(&path, &opts) {
        Ok(r) => r,
        Err(e) => {
            writeln!(err, "phi-console: {}", clean(&e.to_string()))?;
            return Ok(EXIT_UNREADABLE);
        }
    };
    let witness = args
        .witness
        .map(|Witness::Cloudtrail| cloudtrail_witness(&args, &aws, kms.as_deref(), &report));

    let notes = trust_notes(&aws, configured.as_deref(), &opts);
    let code = if !report.is_valid() || witness.as_ref().is_some_and(|w| !w.problems.is_empty()) {
        EXIT_INVALID
    } else if report.offline
        || report
            .warnings
            .iter()
            .any(|w| matches!(w, super::verify::Warning::Unsealed { .. }))
    {
        EXIT_SEALS_NOT_VERIFIED
    } else if witness.as_ref().is_some_and(|w| !w.pending.is_empty()) {
        EXIT_WITNESS_PENDING
    } else {
        EXIT_VALID
    };
    if args.json {
        writeln!(
            out,
            "{}",
            sanitize::to_json_string(&report_json(&path, &report, witness.as_ref(), &notes, code))
        )?;
    } else {
        print_report(out, &path, &report, witness.as_ref(), &notes, code)?;
    }
    Ok(code)
}

/// Asks CloudTrail; a witness that cannot be asked is a failed witness.
fn cloudtrail_witness(
    args: &VerifyArgs,
    aws: &Aws,
    kms: Option<&LazyKms>,
    report: &Report,
) -> WitnessReport {
    let failed = |why: String| WitnessReport {
        problems: vec![why],
        ..WitnessReport::default()
    };
    let Some(kms) = kms else {
        return failed(
            "the CloudTrail witness needs the profile's KMS seal key (audit_hmac_key, or --seal-key)"
                .into(),
        );
    };
    let key_arn = match kms.arn() {
        Ok(a) => a,
        Err(e) => return failed(format!("the seal key cannot be resolved: {e}")),
    };
    let session = match aws.session_for_key(&key_arn) {
        Ok(s) => s,
        Err(e) => return failed(format!("no AWS session to ask CloudTrail with: {e}")),
    };
    let now = Utc::now();
    let earliest = now - witness::LOOKUP_WINDOW;
    let since = match args.witness_since.as_deref().map(parse_since).transpose() {
        Ok(s) => s.unwrap_or(earliest).max(earliest),
        Err(e) => return failed(format!("--witness-since: {e:#}")),
    };
    let mut identities: std::collections::BTreeSet<String> =
        args.witness_identity.iter().cloned().collect();
    identities.insert(session.caller.arn.clone());
    let cloud = session.cloud();
    let events = aws.rt.block_on(witness::cloudtrail_events(
        &cloud,
        &key_arn,
        since,
        // CloudTrail's clock may be ahead of this host's.
        now + witness::TIME_TOLERANCE,
    ));
    match events {
        Ok(events) => witness::cross_check(
            report,
            &events,
            &WitnessParams {
                key_arn,
                identities,
                writer_named: !args.witness_identity.is_empty(),
                since,
                now,
            },
        ),
        Err(e) => failed(format!("CloudTrail cannot be asked: {e}")),
    }
}

fn meaning(code: i32) -> &'static str {
    match code {
        EXIT_VALID => "intact",
        EXIT_INVALID => "FAILED",
        EXIT_SEALS_NOT_VERIFIED => {
            "chain intact, NOT fully verified (seals NOT verified offline, or unsealed records allowed)"
        }
        EXIT_WITNESS_PENDING => {
            "intact so far; the witness cannot confirm it yet (see \"not yet\" above)"
        }
        _ => "unreadable",
    }
}

fn print_report(
    out: &mut dyn Write,
    path: &Path,
    report: &Report,
    witness: Option<&WitnessReport>,
    notes: &[String],
    code: i32,
) -> std::io::Result<()> {
    // Everything below may carry text from the log or from AWS: one line each, cleaned.
    write!(
        out,
        "audit log {}: {} record(s)",
        clean(&path.display().to_string()),
        report.records
    )?;
    if let Some((seq, hash)) = &report.head {
        write!(out, ", head seq {seq} ({})", &hash[..hash.len().min(16)])?;
    }
    writeln!(out)?;
    match report.first_problem() {
        None => writeln!(out, "OK: the hash chain is intact")?,
        Some(p) => {
            writeln!(out, "FAILED: {}", clean(&p.to_string()))?;
            for p in report.problems.iter().skip(1).take(20) {
                writeln!(out, "  also: {}", clean(&p.to_string()))?;
            }
            if report.problems.len() > 21 {
                writeln!(out, "  … and {} more", report.problems.len() - 21)?;
            }
        }
    }
    let valid = count(report, |s| *s == SealStatus::Valid);
    let invalid = count(report, |s| *s == SealStatus::Invalid);
    let unchecked = report.seals.len() - valid - invalid;
    writeln!(
        out,
        "seals: {} ({valid} valid, {invalid} bad, {unchecked} not checked)",
        report.seals.len()
    )?;
    // Seals not checked offline are summarised (a long log has many).
    let mut offline_seals = 0;
    for w in &report.warnings {
        match w {
            Warning::SealNotChecked { .. } => offline_seals += 1,
            _ => writeln!(out, "warning: {}", clean(&w.to_string()))?,
        }
    }
    if offline_seals > 0 {
        writeln!(
            out,
            "warning: {offline_seals} seal(s) not checked: --offline checks the chain only, so the log could have been rewritten and re-hashed"
        )?;
    }
    for u in &report.unfinished {
        writeln!(out, "warning: {}", clean(&u.to_string()))?;
    }
    if report.unfinished_more > 0 {
        writeln!(
            out,
            "warning: … and {} more unfinished intent(s)",
            report.unfinished_more
        )?;
    }
    if let Some(w) = witness {
        writeln!(
            out,
            "witness (CloudTrail): {} of {} seal(s) confirmed; {} event(s) on the seal key read",
            w.confirmed,
            report.seals.len(),
            w.events_read
        )?;
        for p in &w.problems {
            writeln!(out, "  FAILED: {}", clean(p))?;
        }
        for p in &w.pending {
            writeln!(out, "  not yet: {}", clean(p))?;
        }
        for n in &w.notes {
            writeln!(out, "  note: {}", clean(n))?;
        }
    }
    for n in notes {
        writeln!(out, "warning: {}", clean(n))?;
    }
    writeln!(out, "result: {} (exit {code})", meaning(code))
}

/// What the verdict rests on, when that is weaker than it looks: a seal key named by an alias
/// (whoever can repoint the alias chooses the key verify trusts), and a non-AWS endpoint (whoever
/// answers there answers for KMS and CloudTrail).
fn trust_notes(aws: &Aws, configured: Option<&str>, opts: &VerifyOptions) -> Vec<String> {
    let mut notes = Vec::new();
    let used_kms = opts
        .sealers
        .iter()
        .any(|s| !s.key_id().starts_with("local-hmac:"));
    if let Some(key) = configured
        && used_kms
        && !key.starts_with("arn:")
    {
        notes.push(format!(
            "the seal key is configured as {key}, not as a key ARN: whoever can repoint that alias chooses the key this verification trusts; configure audit_hmac_key (or --seal-key) with the key's ARN"
        ));
    }
    if let Some(Ok(s)) = aws.session.get()
        && let Some(url) = &s.endpoint_url
    {
        notes.push(format!(
            "seals were checked through {url}, not AWS's own endpoint: the result is only as trustworthy as that endpoint (the profile's endpoint_url, AWS_ENDPOINT_URL or --endpoint-url)"
        ));
    }
    notes
}

fn count(report: &Report, f: impl Fn(&SealStatus) -> bool) -> usize {
    report.seals.iter().filter(|s| f(&s.status)).count()
}

fn report_json(
    path: &Path,
    report: &Report,
    witness: Option<&WitnessReport>,
    notes: &[String],
    code: i32,
) -> Value {
    let mut v = json!({
        "file": path.display().to_string(),
        // Only a full pass is "valid": offline (3) or not yet witnessed (4) is not.
        "valid": code == EXIT_VALID,
        "chain_intact": report.is_valid(),
        "exit_code": code,
        "result": meaning(code),
        "offline": report.offline,
        "lines": report.lines,
        "records": report.records,
        "head": report.head.as_ref().map(|(s, h)| json!({"seq": s, "hash": h})),
        "problems": report.problems.iter().map(|p| json!({"line": p.line, "seq": p.seq, "why": p.kind.to_string()})).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(|w| w.to_string()).chain(notes.iter().cloned()).collect::<Vec<_>>(),
        "seals": report.seals.iter().map(|s| json!({
            "line": s.line, "seq": s.seq, "key_id": s.key_id, "time": s.time,
            "request_id": s.request_id,
            "status": match &s.status {
                SealStatus::Valid => "valid".to_string(),
                SealStatus::Invalid => "bad".to_string(),
                SealStatus::NotChecked(r) => format!("not checked ({r})"),
            },
        })).collect::<Vec<_>>(),
        "unfinished": report.unfinished.iter().map(|u| json!({
            "line": u.line, "seq": u.seq, "id": u.id, "time": u.time, "action": u.action, "targets": u.targets,
        })).collect::<Vec<_>>(),
    });
    if let Some(w) = witness {
        v["witness"] = json!({
            "kind": "cloudtrail",
            "passed": w.passed(),
            "confirmed": w.confirmed,
            "events_read": w.events_read,
            "problems": w.problems,
            "pending": w.pending,
            "notes": w.notes,
            "horizon": w.horizon.map(|h| h.to_rfc3339()),
        });
    }
    v
}
