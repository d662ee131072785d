//! The `phi-console` binary.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use phi_console::emulator::scenario::claims::{DEMO_ACCESS_KEY, DEMO_MFA_SEED_BASE32, DEMO_MFA_SERIAL};
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario, crypto, faults};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "phi-console", version, about = "Terminal console for HIPAA-eligible claims pipelines on AWS")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The local AWS emulator (the lab).
    Emulator {
        #[command(subcommand)]
        command: EmulatorCommand,
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
    match cli.command {
        Command::Emulator { command: EmulatorCommand::Serve(args) } => serve(args),
        Command::Emulator { command: EmulatorCommand::Totp { serial, endpoint_url } } => totp(serial, endpoint_url),
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    if !(args.clock_scale >= 0.0 && args.clock_scale.is_finite()) {
        bail!("--clock-scale must be a number >= 0 (got {})", args.clock_scale);
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
    let emu = Emulator::start(EmulatorConfig { port: args.port, scenario, clock, seed: args.seed, faults, workers: 2 })
        .context("starting the emulator")?;
    let url = emu.endpoint_url();
    println!("phi-console emulator listening on {url}");
    println!("  scenario: {:?}, clock x{}, account 123456789012, region us-east-1", args.scenario, args.clock_scale);
    println!("  try:      AWS_ACCESS_KEY_ID={DEMO_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url {url} sqs list-queues");
    println!("  MFA code: phi-console emulator totp --endpoint-url {url}   (device {DEMO_MFA_SERIAL})");
    println!("Press Ctrl-C to stop.");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
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
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let body = rt.block_on(http_get(&url, &format!("/_emulator/totp?serial={}", form_encode(&serial))))?;
            let v: serde_json::Value = serde_json::from_str(&body).with_context(|| format!("unexpected answer from {url}: {body}"))?;
            match v.get("code").and_then(|c| c.as_str()) {
                Some(code) => println!("{code}"),
                None => bail!("{}", v.get("error").and_then(|e| e.as_str()).unwrap_or("no code in the emulator's answer")),
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
        .with_context(|| format!("cannot reach the emulator at {base} (is `phi-console emulator serve` running?)"))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: {hostport}\r\nConnection: close\r\n\r\n").as_bytes()).await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok(body)
}
