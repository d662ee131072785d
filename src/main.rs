//! The `phi-console` binary.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use phi_console::emulator::scenario::claims::{
    DEMO_ACCESS_KEY, DEMO_MFA_SEED_BASE32, DEMO_MFA_SERIAL,
};
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario, crypto, faults};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "phi-console",
    version,
    about = "Terminal console for HIPAA-eligible claims pipelines on AWS"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    tui: TuiArgs,
}

/// Opening the console (no subcommand).
#[derive(Args, Debug)]
struct TuiArgs {
    /// Run against the built-in emulator's claims account (no AWS account needed).
    #[arg(long)]
    demo: bool,
    /// AWS profile (default: AWS_PROFILE, else `default`).
    #[arg(long)]
    profile: Option<String>,
    /// AWS region (default: the profile's region, AWS_REGION, else us-east-1).
    #[arg(long)]
    region: Option<String>,
    /// Send every AWS call to this endpoint (a VPC endpoint, or the emulator).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Read-only: no action can change the account.
    #[arg(long)]
    read_only: bool,
    /// Theme: default, high-contrast, light, monochrome, or a file in ~/.config/phi-console/themes/.
    #[arg(long)]
    theme: Option<String>,
    /// phi-console settings (default ~/.config/phi-console/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The local AWS emulator (the lab).
    Emulator {
        #[command(subcommand)]
        command: EmulatorCommand,
    },
    /// Verify, show or export the audit log.
    Audit {
        #[command(subcommand)]
        command: phi_console::audit::cli::AuditCommand,
    },
    /// Change a KMS key's rotation (guarded: plan, typed confirmation, MFA, audit log).
    Key {
        #[command(subcommand)]
        command: phi_console::guard::cli::KeyCommand,
    },
}

#[derive(Subcommand, Debug)]
enum EmulatorCommand {
    /// Serve STS, SQS, SNS, KMS, Backup and CloudTrail on 127.0.0.1.
    Serve(ServeArgs),
    /// Print the current TOTP code of a virtual MFA device.
    Totp {
        /// The device serial (default: the claims scenario's demo operator).
        serial: Option<String>,
        /// Ask a running emulator (needed when it runs a scaled or manual clock).
        #[arg(long)]
        endpoint_url: Option<String>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ScenarioArg {
    Claims,
    Empty,
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Port on 127.0.0.1 (0: an ephemeral port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seeded account to start with.
    #[arg(long, value_enum, default_value = "claims")]
    scenario: ScenarioArg,
    /// Emulated seconds per real second (1 = real time, 0 = stopped).
    #[arg(long, default_value_t = 1.0)]
    clock_scale: f64,
    /// Seed for the scenario's data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// A TOML file of fault rules (see docs/EMULATOR.md).
    #[arg(long)]
    faults: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("phi-console: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        return tui(cli.tui);
    };
    match command {
        Command::Emulator {
            command: EmulatorCommand::Serve(args),
        } => serve(args),
        Command::Emulator {
            command:
                EmulatorCommand::Totp {
                    serial,
                    endpoint_url,
                },
        } => totp(serial, endpoint_url),
        Command::Audit { command } => match phi_console::audit::cli::run(command)? {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Command::Key { command } => match phi_console::guard::cli::run(command)? {
            0 => Ok(()),
            code => std::process::exit(code),
        },
    }
}

/// Logs go to a file (never to the terminal the TUI owns); PHI-bearing fields are never logged.
fn init_logging() {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use tracing_subscriber::EnvFilter;
    let Some(dir) = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("phi-console"))
    else {
        return;
    };
    if std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .is_err()
    {
        return;
    }
    let path = dir.join("phi-console.log");
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
    else {
        return;
    };
    // A file that already existed with a wider mode is tightened.
    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    let wanted = std::env::var("PHI_CONSOLE_LOG").unwrap_or_else(|_| "warn".to_string());
    // The SDK's and HTTP stack's own debug/trace output can carry request and response bodies:
    // they are capped at info whatever is asked for.
    let caps = "aws_smithy_runtime=info,aws_smithy_http_client=info,aws_sigv4=info,aws_config=info,hyper=info,hyper_util=info,h2=info,rustls=info";
    let filter =
        EnvFilter::try_new(format!("{wanted},{caps}")).unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init();
}

fn tui(args: TuiArgs) -> Result<()> {
    use phi_console::app::run::Context as RunContext;
    use phi_console::session::settings::{self, SettingsFile};
    use phi_console::session::{self, OpenOptions};
    init_logging();
    let settings_path = args.config.clone().or_else(settings::default_path);
    let mut settings = match &settings_path {
        Some(p) => SettingsFile::load(p)?,
        None => SettingsFile::default(),
    };
    if args.demo {
        // The demo seals its audit log with the claims account's HMAC key.
        let demo = settings.profiles.entry("demo".into()).or_default();
        if demo.audit_hmac_key.is_none() {
            demo.audit_hmac_key = Some(phi_console::audit::KmsSealer::CLAIMS_KEY.to_string());
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut options = OpenOptions::new(&session::os_login());
    options.region = args.region.clone();
    options.endpoint_url = args.endpoint_url.clone();
    let mut _emulator = None;
    let (ctx, banner, profile_name) = if args.demo {
        let mut config = EmulatorConfig::claims();
        config.clock = ClockMode::Real;
        let emu = Emulator::start(config).context("starting the demo emulator")?;
        // Demo restores finish in about a minute.
        emu.with_world(|w| {
            w.backup.restore_behaviour.pending_seconds = 5;
            w.backup.restore_behaviour.running_seconds = 45;
        });
        let url = emu.endpoint_url();
        let profile = phi_console::session::profile::ResolvedProfile {
            name: "demo".into(),
            region: Some("us-east-1".into()),
            endpoint_url: Some(url.clone()),
            base: phi_console::session::BaseCredentials::Static {
                profile: "demo".into(),
                credentials: phi_console::session::AwsCredentials {
                    access_key_id: DEMO_ACCESS_KEY.into(),
                    secret_access_key: phi_console::session::Secret::new("demo-secret"),
                    session_token: None,
                    expires: None,
                },
            },
            roles: vec![phi_console::session::profile::RoleHop {
                profile: "demo".into(),
                role_arn: "arn:aws:iam::123456789012:role/ClaimsOperator".into(),
                external_id: None,
                role_session_name: None,
                duration_seconds: None,
                mfa_serial: Some(DEMO_MFA_SERIAL.into()),
            }],
            mfa_serial: Some(DEMO_MFA_SERIAL.into()),
            duration_seconds: None,
        };
        options.endpoint_url = Some(url);
        _emulator = Some(emu);
        let banner = "DEMO (local emulator, synthetic data) — MFA code: run `phi-console emulator totp` in another terminal".to_string();
        (
            RunContext {
                profiles: None,
                settings,
                options,
                force_read_only: args.read_only,
                initial: profile,
            },
            Some(banner),
            "demo".to_string(),
        )
    } else {
        let env = aws_types::os_shim_internal::Env::real();
        let fs = aws_types::os_shim_internal::Fs::real();
        let name = session::profile::selected_profile(args.profile.as_deref(), &env);
        let set = rt.block_on(session::profile::load_profiles(&env, &fs))?;
        let mut initial = session::profile::resolve(&set, &name, &env)?;
        if let Some(url) = &args.endpoint_url {
            initial.endpoint_url = Some(url.clone());
        }
        (
            RunContext {
                profiles: Some(set),
                settings,
                options,
                force_read_only: args.read_only,
                initial,
            },
            None,
            name,
        )
    };
    let theme_name = args
        .theme
        .clone()
        .unwrap_or_else(|| ctx.settings.for_profile(&profile_name).theme);
    let theme = phi_console::ui::theme::Theme::load(
        &theme_name,
        phi_console::ui::theme::Theme::no_color_from_env(),
    )?;
    rt.block_on(phi_console::app::run_tui(ctx, theme, banner))
}

fn serve(args: ServeArgs) -> Result<()> {
    if !(args.clock_scale >= 0.0 && args.clock_scale.is_finite()) {
        bail!(
            "--clock-scale must be a number >= 0 (got {})",
            args.clock_scale
        );
    }
    let faults = match &args.faults {
        Some(p) => faults::load_rules(p)?,
        None => Vec::new(),
    };
    let clock = if args.clock_scale == 1.0 {
        ClockMode::Real
    } else if args.clock_scale == 0.0 {
        ClockMode::Manual
    } else {
        ClockMode::Scaled(args.clock_scale)
    };
    let scenario = match args.scenario {
        ScenarioArg::Claims => Scenario::Claims,
        ScenarioArg::Empty => Scenario::Empty,
    };
    let emu = Emulator::start(EmulatorConfig {
        port: args.port,
        scenario,
        clock,
        seed: args.seed,
        faults,
        workers: 2,
    })
    .context("starting the emulator")?;
    let url = emu.endpoint_url();
    println!("phi-console emulator listening on {url}");
    println!(
        "  scenario: {:?}, clock x{}, account 123456789012, region us-east-1",
        args.scenario, args.clock_scale
    );
    println!(
        "  try:      AWS_ACCESS_KEY_ID={DEMO_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url {url} sqs list-queues"
    );
    println!(
        "  MFA code: phi-console emulator totp --endpoint-url {url}   (device {DEMO_MFA_SERIAL})"
    );
    println!("Press Ctrl-C to stop.");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = tokio::signal::ctrl_c() => r?,
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await?;
        Ok::<_, std::io::Error>(())
    })?;
    emu.shutdown();
    println!("emulator stopped");
    Ok(())
}

fn totp(serial: Option<String>, endpoint: Option<String>) -> Result<()> {
    let serial = serial.unwrap_or_else(|| DEMO_MFA_SERIAL.to_string());
    match endpoint {
        Some(url) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let body = rt.block_on(http_get(
                &url,
                &format!("/_emulator/totp?serial={}", form_encode(&serial)),
            ))?;
            let v: serde_json::Value = serde_json::from_str(&body)
                .with_context(|| format!("unexpected answer from {url}: {body}"))?;
            match v.get("code").and_then(|c| c.as_str()) {
                Some(code) => println!("{code}"),
                None => bail!(
                    "{}",
                    v.get("error")
                        .and_then(|e| e.as_str())
                        .unwrap_or("no code in the emulator's answer")
                ),
            }
        }
        None => {
            if serial != DEMO_MFA_SERIAL {
                bail!("without --endpoint-url only the demo device {DEMO_MFA_SERIAL} is known");
            }
            let seed = crypto::base32_decode(DEMO_MFA_SEED_BASE32).context("demo seed")?;
            println!("{}", crypto::totp(&seed, chrono::Utc::now().timestamp()));
        }
    }
    Ok(())
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A minimal HTTP/1.1 GET against the emulator's control endpoint (127.0.0.1 only).
async fn http_get(base: &str, path: &str) -> Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hostport = base.trim_start_matches("http://").trim_end_matches('/');
    if base.starts_with("https://") {
        bail!("the emulator speaks plain HTTP on 127.0.0.1; use its http:// URL");
    }
    let mut s = tokio::net::TcpStream::connect(hostport)
        .await
        .with_context(|| {
            format!(
                "cannot reach the emulator at {base} (is `phi-console emulator serve` running?)"
            )
        })?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok(body)
}
