//! The options every command takes, before or after its subcommand
//! (`phi-console --read-only key rotate …` and `phi-console key rotate … --read-only` are the
//! same command). They are declared once, `global = true`, and handed to every subcommand.

use clap::Args;
use std::path::PathBuf;

/// `--profile`, `--region`, `--endpoint-url`, `--read-only`, `--config`.
#[derive(Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct GlobalOptions {
    /// AWS profile (default: AWS_PROFILE, else `default`).
    #[arg(long, global = true, value_name = "PROFILE", value_parser = crate::validate::Checked(crate::validate::profile_name))]
    pub profile: Option<String>,
    /// AWS region (default: the profile's region, AWS_REGION, else us-east-1).
    #[arg(long, global = true, value_name = "REGION", value_parser = crate::validate::Checked(crate::validate::region))]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (a VPC endpoint, or the emulator).
    #[arg(long, global = true, value_name = "URL", value_parser = crate::validate::Checked(crate::validate::endpoint_url))]
    pub endpoint_url: Option<String>,
    /// Read-only: nothing may change the account (actions and peeks are refused).
    #[arg(long, global = true)]
    pub read_only: bool,
    /// phi-console settings (default ~/.config/phi-console/config.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}
