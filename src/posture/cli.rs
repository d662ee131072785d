//! `phi-console posture [--json] [--fail-on low|medium|high]`: the findings of the profile's
//! account and region, as text or one JSON document (docs/POSTURE.md). Read-only: it opens a
//! session and makes list/describe calls only; nothing in AWS changes, nothing is written.
//!
//! Exit codes: 0 no failing finding at or above `--fail-on` (default `low`: any failing
//! finding); 3 some failing finding at or above it; 1 the report could not be made (settings,
//! profile, session, expired credentials); 2 bad command-line usage (clap). `unknown` findings
//! never change the exit code: they are listed, with the permission to grant.

use super::{Finding, Limits, Severity, Status, checks, collect, fails_at, summary};
use crate::options::GlobalOptions;
use crate::sanitize::{self, clean};
use crate::session::profile::selected_profile;
use crate::session::prompt::{self, Prompter};
use crate::session::settings;
use aws_types::os_shim_internal::Env;
use clap::Args;
use serde_json::{Value, json};
use std::io::Write;

/// Exit code: no failing finding at or above `--fail-on`.
pub const EXIT_OK: i32 = 0;
/// Exit code: the report could not be made.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: some finding fails at or above `--fail-on`.
pub const EXIT_FINDINGS: i32 = 3;
/// The `schema` field of the JSON document.
pub const SCHEMA: &str = "phi-console.posture/1";

#[derive(Args, Debug, Clone)]
pub struct PostureArgs {
    /// Print one JSON document on stdout (schema in docs/POSTURE.md).
    #[arg(long)]
    pub json: bool,
    /// Exit 3 when a finding fails at or above this severity (default low: any failure).
    #[arg(long, value_enum, default_value = "low")]
    pub fail_on: Severity,
}

/// What a run found, ready to print.
pub struct Report {
    pub profile: String,
    pub account: String,
    pub region: String,
    pub generated_at: chrono::DateTime<chrono::Utc>,
    pub limits: Limits,
    pub fail_on: Severity,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        if fails_at(&self.findings, self.fail_on) {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        }
    }

    /// The JSON document (docs/POSTURE.md).
    pub fn to_json(&self) -> Value {
        json!({
            "schema": SCHEMA,
            "profile": self.profile,
            "account": self.account,
            "region": self.region,
            "generated_at": self.generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "limits": {
                "max_rotation_days": self.limits.max_rotation_days,
                "rpo_hours": self.limits.rpo_hours,
                "restore_test_days": self.limits.restore_test_days,
            },
            "fail_on": self.fail_on.as_str(),
            "exit_code": self.exit_code(),
            "summary": summary(&self.findings),
            "findings": self.findings,
        })
    }

    /// The text report: one line per finding, failures with their fix and safeguard.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!(
            "Posture of account {} in {} (profile {}), {}",
            self.account,
            self.region,
            self.profile,
            self.generated_at.format("%Y-%m-%d %H:%M UTC")
        )];
        for f in &self.findings {
            out.push(format!(
                "{:<7} {:<6} {:<30} {} — {}",
                f.status.as_str().to_uppercase(),
                f.severity.as_str(),
                f.control,
                f.resource_name,
                f.evidence
            ));
            if f.status != Status::Pass {
                out.push(format!("        fix: {}", f.fix));
                out.push(format!(
                    "        {} {}{}",
                    f.safeguard.citation(),
                    f.safeguard.name(),
                    f.security_hub
                        .map(|s| format!("; Security Hub {s}"))
                        .unwrap_or_default()
                ));
            }
        }
        let s = summary(&self.findings);
        out.push(format!(
            "{} pass, {} fail, {} unknown; --fail-on {}: exit {}",
            s.pass,
            s.fail,
            s.unknown,
            self.fail_on.as_str(),
            self.exit_code()
        ));
        out
    }
}

/// Runs `phi-console posture`; returns the exit code. Everything, errors included, is
/// reported on stdout/stderr here.
pub fn run(args: PostureArgs, global: &GlobalOptions) -> anyhow::Result<i32> {
    match report(&args, global) {
        Ok(r) => {
            let mut out = sanitize::stdout();
            if args.json {
                let _ = writeln!(out, "{}", sanitize::to_json_string(&r.to_json()));
            } else {
                // One line each: a newline inside an AWS value cannot start a line of its own.
                for l in r.lines() {
                    let _ = writeln!(out, "{}", clean(&l));
                }
            }
            Ok(r.exit_code())
        }
        Err((kind, message)) => {
            if args.json {
                let v = json!({ "schema": SCHEMA, "error": { "kind": kind, "message": message } });
                let _ = writeln!(sanitize::stdout(), "{}", sanitize::to_json_string(&v));
            }
            let _ = writeln!(
                sanitize::stderr(),
                "phi-console: posture: {}",
                clean(&message)
            );
            Ok(EXIT_ERROR)
        }
    }
}

fn report(args: &PostureArgs, global: &GlobalOptions) -> Result<Report, (&'static str, String)> {
    let env = Env::real();
    let settings = settings::load_selected(global.config.as_deref())
        .map_err(|e| ("settings", e.to_string()))?;
    let profile = selected_profile(global.profile.as_deref(), &env);
    let limits = Limits::from_settings(&settings.for_profile(&profile));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ("runtime", e.to_string()))?;
    let target = prompt::resolve_profile(&rt, global).map_err(|e| (e.kind, e.message))?;
    let mut prompter = Prompter::new();
    let session =
        prompt::open_session(&rt, &target, &mut prompter).map_err(|e| (e.kind, e.message))?;
    let cloud = session.cloud();
    let inv = rt
        .block_on(collect::inventory(&cloud))
        .map_err(|e| ("aws", e.to_string()))?;
    let now = session.now();
    Ok(Report {
        profile: target.name,
        account: session.caller.account.clone(),
        region: session.region.clone(),
        generated_at: now,
        limits,
        fail_on: args.fail_on,
        findings: checks::evaluate(&inv, &limits, now),
    })
}
