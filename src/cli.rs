//! The command line: the options and subcommands of `phi-console` (clap). The global options
//! (`--profile`, `--region`, `--endpoint-url`, `--read-only`, `--config`) are
//! [`GlobalOptions`], accepted before or after any subcommand.

use crate::options::GlobalOptions;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "phi-console",
    version,
    about = "Terminal console for HIPAA-eligible claims pipelines on AWS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub global: GlobalOptions,
    #[command(flatten)]
    pub tui: TuiArgs,
}

/// Opening the console (no subcommand).
#[derive(Args, Debug)]
pub struct TuiArgs {
    /// Run against the built-in emulator's claims account (no AWS account needed).
    #[arg(long)]
    pub demo: bool,
    /// Theme: default, high-contrast, light, monochrome, or a file in ~/.config/phi-console/themes/.
    #[arg(long, value_parser = crate::validate::Checked(crate::validate::theme_name))]
    pub theme: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The local AWS emulator (the lab).
    Emulator {
        #[command(subcommand)]
        command: EmulatorCommand,
    },
    /// Verify, show or export the audit log.
    Audit {
        #[command(subcommand)]
        command: crate::audit::cli::AuditCommand,
    },
    /// Change a KMS key's rotation (guarded: plan, typed confirmation, MFA, audit log).
    Key {
        #[command(subcommand)]
        command: crate::guard::cli::KeyCommand,
    },
    /// Dead-letter queue triage: peek, redrive (all, or only matching claims), move tasks.
    Queue {
        #[command(subcommand)]
        command: crate::guard::queue_cli::QueueCommand,
    },
    /// SNS topics.
    Topic {
        #[command(subcommand)]
        command: crate::listing::ListOnly,
    },
    /// AWS Backup vaults.
    Vault {
        #[command(subcommand)]
        command: crate::listing::ListOnly,
    },
    /// AWS Backup recovery points.
    Point {
        #[command(subcommand)]
        command: crate::listing::PointCommand,
    },
    /// AWS Backup backup and restore jobs.
    Job {
        #[command(subcommand)]
        command: crate::listing::ListOnly,
    },
    /// CloudTrail events, newest first (reads only; --json for scripts).
    Events(crate::listing::EventArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) on stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout: `phi-console man > phi-console.1`.
    Man,
    /// Check the account's posture: one finding per resource and control (read-only).
    Posture(crate::posture::cli::PostureArgs),
    /// DR drills: run a runbook's restore tests (guarded, measured, validated, reported),
    /// re-render a report, list the restore testing plans.
    Drill {
        #[command(subcommand)]
        command: crate::drill::run::DrillCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum EmulatorCommand {
    /// Serve STS, SQS, SNS, KMS, Backup and CloudTrail on 127.0.0.1.
    Serve(ServeArgs),
    /// Print the current TOTP code of a virtual MFA device (with the global `--endpoint-url`,
    /// asks that running emulator: needed when it runs a scaled or manual clock).
    Totp {
        /// The device serial (default: the claims scenario's demo operator).
        serial: Option<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ScenarioArg {
    Claims,
    Empty,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: an ephemeral port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Seeded account to start with.
    #[arg(long, value_enum, default_value = "claims")]
    pub scenario: ScenarioArg,
    /// Emulated seconds per real second (1 = real time, 0 = stopped).
    #[arg(long, default_value_t = 1.0, value_parser = crate::validate::Checked(crate::validate::clock_scale))]
    pub clock_scale: f64,
    /// Seed for the scenario's data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// A TOML file of fault rules (see docs/EMULATOR.md).
    #[arg(long)]
    pub faults: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// Every subcommand of the binary, with the arguments it needs to parse.
    const SUBCOMMANDS: &[&[&str]] = &[
        &[],
        &["--demo"],
        &["emulator", "serve"],
        &["emulator", "totp"],
        &["audit", "verify", "log.jsonl"],
        &["audit", "show"],
        &["audit", "export", "--format", "csv"],
        &["key", "rotate", "alias/claims-costs", "--on-demand"],
        &[
            "key",
            "rotation",
            "alias/claims-costs",
            "--enable",
            "--period",
            "180",
        ],
        &["key", "rotation", "alias/claims-costs", "--disable"],
        &["queue", "redrive", "claims-validation-dlq"],
        &[
            "queue",
            "redrive",
            "claims-validation-dlq",
            "--where",
            "stage=fraud",
            "--since",
            "2026-11-30",
            "--dry-run",
        ],
        &["queue", "peek", "claims-validation-dlq"],
        &["queue", "tasks"],
        &["queue", "cancel-redrive", "claims-validation-dlq"],
        &["queue", "list", "--dlq", "--json"],
        &["topic", "list"],
        &["key", "list", "--json"],
        &["vault", "list"],
        &["point", "list", "--vault", "claims-primary"],
        &["job", "list"],
        &["events", "--since", "6h", "--name", "StartMessageMoveTask"],
        &["completions", "bash"],
        &["man"],
        &["posture"],
        &["posture", "--json"],
        &["posture", "--json", "--fail-on", "high"],
        &["posture", "--fail-on", "medium"],
        &["drill", "run", "docs/drills/claims-quarterly.toml"],
        &[
            "drill",
            "run",
            "rb.toml",
            "--json",
            "--report-dir",
            "out",
            "--poll-seconds",
            "1",
        ],
        &["drill", "report", "out/q4-20261201-0900.json"],
        &["drill", "plans", "--json"],
    ];

    /// Each global option with a value, and what it parses to.
    fn globals() -> Vec<(Vec<&'static str>, GlobalOptions)> {
        vec![
            (
                vec!["--profile", "claims-prod"],
                GlobalOptions {
                    profile: Some("claims-prod".into()),
                    ..Default::default()
                },
            ),
            (
                vec!["--region", "eu-west-1"],
                GlobalOptions {
                    region: Some("eu-west-1".into()),
                    ..Default::default()
                },
            ),
            (
                vec!["--endpoint-url", "http://127.0.0.1:4566"],
                GlobalOptions {
                    endpoint_url: Some("http://127.0.0.1:4566".into()),
                    ..Default::default()
                },
            ),
            (
                vec!["--read-only"],
                GlobalOptions {
                    read_only: true,
                    ..Default::default()
                },
            ),
            (
                vec!["--config", "/etc/phi-console/config.toml"],
                GlobalOptions {
                    config: Some("/etc/phi-console/config.toml".into()),
                    ..Default::default()
                },
            ),
        ]
    }

    fn parse(args: &[&str]) -> Cli {
        let mut all = vec!["phi-console"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(&all) {
            Ok(c) => c,
            Err(e) => panic!("{all:?} did not parse: {e}"),
        }
    }

    #[test]
    fn every_global_option_works_before_and_after_every_subcommand() {
        let mut checked = 0;
        for sub in SUBCOMMANDS {
            for (opt, want) in globals() {
                let before: Vec<&str> = opt.iter().chain(sub.iter()).copied().collect();
                let after: Vec<&str> = sub.iter().chain(opt.iter()).copied().collect();
                for args in [before, after] {
                    assert_eq!(parse(&args).global, want, "{args:?}");
                    checked += 1;
                }
            }
            // All of them at once, split around the subcommand.
            let mut args = vec!["--read-only", "--profile", "p"];
            args.extend_from_slice(sub);
            args.extend(["--region", "us-west-2", "--config", "c.toml"]);
            let g = parse(&args).global;
            assert!(g.read_only, "{args:?}");
            assert_eq!(g.profile.as_deref(), Some("p"));
            assert_eq!(g.region.as_deref(), Some("us-west-2"));
            assert_eq!(g.config.as_deref(), Some(std::path::Path::new("c.toml")));
        }
        assert_eq!(checked, SUBCOMMANDS.len() * 5 * 2);
    }

    #[test]
    fn the_review_case_parses_read_only_and_the_profile() {
        let c = parse(&[
            "--read-only",
            "key",
            "rotate",
            "alias/claims-costs",
            "--on-demand",
            "--profile",
            "P",
        ]);
        assert!(c.global.read_only);
        assert_eq!(c.global.profile.as_deref(), Some("P"));
        let c = parse(&["--profile", "P", "key", "rotate", "k", "--on-demand"]);
        assert_eq!(c.global.profile.as_deref(), Some("P"));
    }

    #[test]
    fn posture_takes_json_and_a_fail_on_level() {
        use crate::posture::Severity;
        let Some(Command::Posture(a)) = parse(&["posture"]).command else {
            panic!("posture");
        };
        assert!(!a.json);
        assert_eq!(a.fail_on, Severity::Low, "any failure fails by default");
        let Some(Command::Posture(a)) = parse(&[
            "--read-only",
            "posture",
            "--fail-on",
            "high",
            "--json",
            "--profile",
            "p",
        ])
        .command
        else {
            panic!("posture");
        };
        assert!(a.json);
        assert_eq!(a.fail_on, Severity::High);
        let mut all = vec!["phi-console", "posture", "--fail-on", "critical"];
        assert!(
            Cli::try_parse_from(&all).is_err(),
            "unknown levels are refused"
        );
        all.truncate(2);
        all.push("--fix");
        assert!(
            Cli::try_parse_from(&all).is_err(),
            "posture changes nothing"
        );
    }
}
