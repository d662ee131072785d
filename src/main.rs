//! The `phi-console` binary.

use anyhow::{Context, Result, bail};
use clap::Parser;
use phi_console::cli::{Cli, Command, EmulatorCommand, ScenarioArg, ServeArgs, TuiArgs};
use phi_console::emulator::scenario::claims::{
    DEMO_ACCESS_KEY, DEMO_MFA_SEED_BASE32, DEMO_MFA_SERIAL,
};
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario, crypto, faults};
use phi_console::options::GlobalOptions;
use phi_console::sanitize;
use std::io::Write;

fn main() {
    // Until the command is known, a closed stdout ends the process like any Unix filter
    // (`phi-console --help | head -c0`); see `output_policy`.
    sigpipe(libc::SIG_DFL);
    // A panic message can quote the text it choked on (a slice of hostile input): printed
    // through the sanitiser too. The console's hook restores the terminal, then calls this.
    std::panic::set_hook(Box::new(|info| {
        let _ = writeln!(
            sanitize::stderr(),
            "phi-console: internal error (please report it): {info}"
        );
    }));
    if let Err(e) = run() {
        // Errors echo typed arguments and AWS messages: through the sanitiser like all output.
        let _ = writeln!(sanitize::stderr(), "phi-console: {e:#}");
        std::process::exit(1);
    }
}

/// Parses the command line. clap's own errors echo the bad value, so they are printed through
/// the sanitiser too (without clap's colours); exit codes stay clap's: 2 for a usage error, 0
/// for `--help` and `--version` (on stdout).
fn parse_cli() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                write!(sanitize::stderr(), "{text}")
            } else {
                write!(sanitize::stdout(), "{text}")
            };
            std::process::exit(e.exit_code());
        }
    }
}

fn run() -> Result<()> {
    let cli = parse_cli();
    output_policy(cli.command.as_ref());
    // An explicit --config must exist and parse, whatever the command (the default file may
    // be absent).
    if cli.global.config.is_some() {
        phi_console::session::settings::load_selected(cli.global.config.as_deref())?;
    }
    // Every command logs the same way: to the file, capped (src/logging.rs).
    if let Some(warning) = phi_console::logging::init() {
        let _ = writeln!(sanitize::stderr(), "phi-console: warning: {warning}");
    }
    let name = match &cli.command {
        None => "console",
        Some(Command::Emulator { .. }) => "emulator",
        Some(Command::Audit { .. }) => "audit",
        Some(Command::Key { .. }) => "key",
        Some(Command::Queue { .. }) => "queue",
        Some(Command::Drill { .. }) => "drill",
        Some(Command::Topic { .. })
        | Some(Command::Vault { .. })
        | Some(Command::Point { .. })
        | Some(Command::Job { .. })
        | Some(Command::Events(_)) => "list",
        Some(Command::Completions { .. }) | Some(Command::Man) => "help",
        Some(Command::Posture(_)) => "posture",
    };
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        command = name,
        "phi-console started"
    );
    let Some(command) = cli.command else {
        return tui(cli.tui, cli.global);
    };
    match command {
        Command::Emulator {
            command: EmulatorCommand::Serve(args),
        } => {
            no_effect_on_the_lab(&cli.global, "emulator serve", false)?;
            serve(args)
        }
        Command::Emulator {
            command: EmulatorCommand::Totp { serial },
        } => {
            no_effect_on_the_lab(&cli.global, "emulator totp", true)?;
            totp(serial, cli.global.endpoint_url)
        }
        Command::Audit { command } => match phi_console::audit::cli::run(command, &cli.global)? {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Command::Key { command } => match phi_console::guard::cli::run(command, &cli.global)? {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Command::Queue { command } => {
            match phi_console::guard::queue_cli::run(command, &cli.global)? {
                0 => Ok(()),
                code => std::process::exit(code),
            }
        }
        Command::Drill { command } => match phi_console::drill::run::run(command, &cli.global)? {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Command::Topic {
            command: phi_console::listing::ListOnly::List { out },
        } => exit_with(phi_console::listing::run(
            phi_console::listing::What::Topics,
            &out,
            &cli.global,
        )?),
        Command::Vault {
            command: phi_console::listing::ListOnly::List { out },
        } => exit_with(phi_console::listing::run(
            phi_console::listing::What::Vaults,
            &out,
            &cli.global,
        )?),
        Command::Job {
            command: phi_console::listing::ListOnly::List { out },
        } => exit_with(phi_console::listing::run(
            phi_console::listing::What::Jobs,
            &out,
            &cli.global,
        )?),
        Command::Point {
            command: phi_console::listing::PointCommand::List { vault, out },
        } => exit_with(phi_console::listing::run(
            phi_console::listing::What::Points { vault },
            &out,
            &cli.global,
        )?),
        Command::Events(args) => {
            let out = args.out.clone();
            exit_with(phi_console::listing::run(
                phi_console::listing::What::Events(args),
                &out,
                &cli.global,
            )?)
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "phi-console",
                &mut buf,
            );
            write_all_stdout(&buf)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
                .render(&mut buf)
                .context("rendering the man page")?;
            write_all_stdout(&buf)
        }
        Command::Posture(args) => match phi_console::posture::cli::run(args, &cli.global)? {
            0 => Ok(()),
            code => std::process::exit(code),
        },
    }
}

fn exit_with(code: i32) -> Result<()> {
    match code {
        0 => Ok(()),
        code => std::process::exit(code),
    }
}

/// Generated text (completions, the man page), through the sanitiser like every output: it
/// holds only printable text, tabs and newlines, which pass unchanged (a test compares).
fn write_all_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = sanitize::stdout();
    out.write_all(bytes).context("writing to stdout")?;
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// What a closed stdout (`phi-console audit show | head -1`: EPIPE) does.
///
/// - Commands that only print — `audit …`, `emulator totp`, `--help`, `--version` and usage
///   errors — end like any Unix filter: the default SIGPIPE action stops the process at the
///   first write, silently, and the shell reports status 141 (128 + SIGPIPE). A verification
///   whose report cannot be delivered never exits 0.
/// - Commands that act — the console, `key …` and `emulator serve` — keep SIGPIPE ignored (the
///   Rust default): a guarded action is never cut between its call and its outcome record
///   because its reader went away. Their output to a closed stdout is dropped (every print goes
///   through the sanitiser's writers, which never panic), the command runs to its end, and the
///   exit status is its own; the audit log holds the outcome.
///
/// Sockets are not affected either way: Rust and tokio send with MSG_NOSIGNAL.
fn output_policy(command: Option<&Command>) {
    let acts = match command {
        None
        | Some(Command::Key { .. })
        | Some(Command::Queue { .. })
        | Some(Command::Drill { .. }) => true,
        Some(Command::Emulator {
            command: EmulatorCommand::Serve(_),
        }) => true,
        Some(_) => false,
    };
    if acts {
        sigpipe(libc::SIG_IGN);
    }
}

fn sigpipe(action: libc::sighandler_t) {
    // SAFETY: setting SIGPIPE's disposition to SIG_DFL or SIG_IGN installs no handler code and
    // touches no memory of this process; it happens before any other thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, action);
    }
}

fn tui(args: TuiArgs, global: GlobalOptions) -> Result<()> {
    use phi_console::app::Startup;
    use phi_console::app::run::Context as RunContext;
    use phi_console::session::settings;
    use phi_console::session::{self, OpenOptions};
    let mut settings = settings::load_selected(global.config.as_deref())?;
    if args.demo {
        // The demo seals its audit log with the claims account's HMAC key.
        let demo = settings.profiles.entry("demo".into()).or_default();
        if demo.audit_hmac_key.is_none() {
            demo.audit_hmac_key =
                Some(phi_console::emulator::scenario::claims::AUDIT_HMAC_ALIAS.to_string());
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let env = aws_types::os_shim_internal::Env::real();
    let profile_name = if args.demo {
        "demo".to_string()
    } else {
        session::profile::selected_profile(global.profile.as_deref(), &env)
    };
    let theme_name = args
        .theme
        .clone()
        .unwrap_or_else(|| settings.for_profile(&profile_name).theme);
    let theme = phi_console::ui::theme::Theme::load(
        &theme_name,
        phi_console::ui::theme::Theme::no_color_from_env(),
    )?;
    let banner = args.demo.then(|| {
        "DEMO (local emulator, synthetic data) — the MFA prompt shows the demo device's code"
            .to_string()
    });
    // Everything slow (reading the AWS profiles, starting and seeding the demo emulator) runs
    // after the console's first frame.
    let demo = args.demo;
    let startup = async move {
        let mut options = OpenOptions::new(&session::os_login());
        options.region = global.region.clone();
        options.endpoint_url = global.endpoint_url.clone();
        if demo {
            demo_startup(settings, options, global.read_only).await
        } else {
            let fs = aws_types::os_shim_internal::Fs::real();
            let set = session::profile::load_profiles(&env, &fs).await?;
            let mut initial = session::profile::resolve(&set, &profile_name, &env)?;
            if let Some(url) = &global.endpoint_url {
                initial.endpoint_url = Some(url.clone());
            }
            Ok(Startup {
                ctx: RunContext {
                    profiles: Some(set),
                    settings,
                    options,
                    force_read_only: global.read_only,
                    initial,
                    demo_code: None,
                },
                banner: None,
                keep_alive: None,
            })
        }
    };
    rt.block_on(phi_console::app::run_tui(
        startup,
        theme,
        banner,
        &phi_console::ui::Views,
    ))
}

/// The demo's startup (after the first frame): the emulator in process with the claims
/// scenario, a real clock and ~1-minute restores, and the demo operator's profile.
async fn demo_startup(
    settings: phi_console::session::settings::SettingsFile,
    mut options: phi_console::session::OpenOptions,
    read_only: bool,
) -> Result<phi_console::app::Startup> {
    use phi_console::app::run::Context as RunContext;
    let emu = tokio::task::spawn_blocking(|| {
        let mut config = EmulatorConfig::claims();
        config.clock = ClockMode::Real;
        Emulator::start(config)
    })
    .await
    .context("starting the demo emulator")?
    .context("starting the demo emulator")?;
    // Demo restores finish in about a minute.
    emu.with_world(|w| {
        w.backup.restore_behaviour.pending_seconds = 5;
        w.backup.restore_behaviour.running_seconds = 45;
    });
    let url = emu.endpoint_url();
    let mut profile = phi_console::session::profile::ResolvedProfile::with_static_keys(
        "demo",
        "us-east-1",
        Some(url.clone()),
        DEMO_ACCESS_KEY,
        "demo-secret",
        Some(DEMO_MFA_SERIAL),
    );
    profile.roles.push(phi_console::session::profile::RoleHop {
        profile: "demo".into(),
        role_arn: "arn:aws:iam::123456789012:role/ClaimsOperator".into(),
        external_id: None,
        role_session_name: None,
        duration_seconds: None,
        mfa_serial: Some(DEMO_MFA_SERIAL.into()),
    });
    options.endpoint_url = Some(url);
    // The demo device's seed is published and test-only: its code is shown in the prompt.
    let seed = crypto::base32_decode(DEMO_MFA_SEED_BASE32).context("demo seed")?;
    let demo_code: phi_console::app::run::DemoCodes =
        Box::new(move |t: chrono::DateTime<chrono::Utc>| crypto::totp(&seed, t.timestamp()));
    Ok(phi_console::app::Startup {
        ctx: RunContext {
            profiles: None,
            settings,
            options,
            force_read_only: read_only,
            initial: profile,
            demo_code: Some(demo_code),
        },
        banner: None,
        keep_alive: Some(Box::new(emu)),
    })
}

/// A global option that has no meaning for the lab is an error, never silently ignored: the
/// emulator serves its own local account (no profile, region or settings), and `totp` asks
/// only the emulator named by `--endpoint-url`.
fn no_effect_on_the_lab(global: &GlobalOptions, command: &str, endpoint_ok: bool) -> Result<()> {
    let mut given = Vec::new();
    if global.profile.is_some() {
        given.push("--profile");
    }
    if global.region.is_some() {
        given.push("--region");
    }
    if global.endpoint_url.is_some() && !endpoint_ok {
        given.push("--endpoint-url");
    }
    if global.read_only {
        given.push("--read-only");
    }
    if global.config.is_some() {
        given.push("--config");
    }
    if given.is_empty() {
        return Ok(());
    }
    bail!(
        "{} {} no effect on `phi-console {command}`: the lab serves its own local account (us-east-1, account 123456789012); drop {}",
        given.join(", "),
        if given.len() == 1 { "has" } else { "have" },
        if given.len() == 1 { "it" } else { "them" }
    )
}

fn serve(args: ServeArgs) -> Result<()> {
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
    let mut out = sanitize::stdout();
    let _ = writeln!(out, "phi-console emulator listening on {url}");
    let _ = writeln!(
        out,
        "  scenario: {:?}, clock x{}, account 123456789012, region us-east-1",
        args.scenario, args.clock_scale
    );
    let _ = writeln!(
        out,
        "  try:      AWS_ACCESS_KEY_ID={DEMO_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1 aws --endpoint-url {url} sqs list-queues"
    );
    let _ = writeln!(
        out,
        "  MFA code: phi-console emulator totp --endpoint-url {url}   (device {DEMO_MFA_SERIAL})"
    );
    let _ = writeln!(out, "Press Ctrl-C to stop.");
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
    let _ = writeln!(out, "emulator stopped");
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
                Some(code) => {
                    let _ = writeln!(sanitize::stdout(), "{code}");
                }
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
            let code = crypto::totp(&seed, chrono::Utc::now().timestamp());
            let _ = writeln!(sanitize::stdout(), "{code}");
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
    // The answer is a few bytes; whatever listens at a mistyped URL may send without end.
    const MAX_ANSWER: u64 = 64 * 1024;
    let mut raw = Vec::new();
    (&mut s).take(MAX_ANSWER + 1).read_to_end(&mut raw).await?;
    if raw.len() as u64 > MAX_ANSWER {
        bail!(
            "{base} sent more than {} KiB: that is not the emulator's control endpoint (check --endpoint-url)",
            MAX_ANSWER / 1024
        );
    }
    let out = String::from_utf8_lossy(&raw).into_owned();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok(body)
}
