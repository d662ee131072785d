//! The lab: a local, in-process AWS emulator speaking the real wire protocols of STS, SQS, SNS,
//! KMS, AWS Backup and CloudTrail on 127.0.0.1. Protocol framing (`wire/`) is kept apart from
//! per-service state (`services/`); time comes from [`clock::Clock`], faults from
//! [`faults::Faults`], seeded accounts from `scenario/`. Nothing here depends on the UI.

pub mod auth;
pub mod clock;
pub mod crypto;
pub mod error;
pub mod faults;
pub mod scenario;
mod server;
pub mod services;
pub mod util;
pub mod wire;
pub mod world;

use clock::Clock;
use faults::{FaultRule, Faults};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use world::World;

/// State shared by the server's tasks and the [`Emulator`] handle.
#[derive(Debug)]
pub(crate) struct Shared {
    world: Mutex<World>,
    pub(crate) clock: Arc<Clock>,
    faults: Mutex<Faults>,
    pub(crate) requests: AtomicU64,
    /// Calls a fault has stalled so far (see `FaultRule::stall_nth`).
    pub(crate) stalls: AtomicU64,
}

impl Shared {
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(crate) fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// How the emulator's clock runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockMode {
    /// Wall-clock time.
    Real,
    /// Emulated time runs this many times faster than real time.
    Scaled(f64),
    /// Time stands still until a test calls [`Emulator::advance`].
    Manual,
    /// Like `Manual`, starting at a fixed instant (deterministic snapshots).
    ManualAt(chrono::DateTime<chrono::Utc>),
}

/// Which seeded account to start with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// An empty account (identities only).
    Empty,
    /// The claims-processing pipeline (see `scenario::claims`).
    Claims,
}

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// 0 picks an ephemeral port.
    pub port: u16,
    pub scenario: Scenario,
    pub clock: ClockMode,
    /// Seed for deterministic scenario data.
    pub seed: u64,
    pub faults: Vec<FaultRule>,
    /// Worker threads of the emulator's own runtime.
    pub workers: usize,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            scenario: Scenario::Empty,
            clock: ClockMode::Real,
            seed: 42,
            faults: Vec::new(),
            workers: 2,
        }
    }
}

impl EmulatorConfig {
    pub fn claims() -> Self {
        EmulatorConfig {
            scenario: Scenario::Claims,
            ..Default::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "cannot listen on 127.0.0.1:{port}: {error}; choose another --port, or 0 for any free port"
    )]
    Bind { port: u16, error: std::io::Error },
    #[error("cannot start the emulator's runtime: {0}")]
    Runtime(std::io::Error),
}

/// A running emulator. It serves on its own thread and runtime, so any client (async or a
/// blocking child process) can use it; dropping the handle stops the server.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Emulator {
    pub fn start(config: EmulatorConfig) -> Result<Emulator, StartError> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", config.port)).map_err(|e| {
            StartError::Bind {
                port: config.port,
                error: e,
            }
        })?;
        listener
            .set_nonblocking(true)
            .map_err(StartError::Runtime)?;
        let addr = listener.local_addr().map_err(StartError::Runtime)?;
        let start = chrono::Utc::now();
        let clock = Arc::new(match config.clock {
            ClockMode::Real => Clock::real(),
            ClockMode::Scaled(f) => Clock::scaled(start, f),
            ClockMode::Manual => Clock::manual(start),
            ClockMode::ManualAt(t) => Clock::manual(t),
        });
        let mut world = World::new(world::DEFAULT_ACCOUNT, world::DEFAULT_REGION);
        world.sqs.base_url = format!("http://{addr}");
        if config.scenario == Scenario::Claims {
            scenario::claims::seed(&mut world, clock.now(), config.seed);
        }
        let mut faults = Faults::default();
        for r in config.faults {
            faults.add(r);
        }
        let shared = Arc::new(Shared {
            world: Mutex::new(world),
            clock,
            faults: Mutex::new(faults),
            requests: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name("emulator")
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("emulator-main".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => server::run(l, s, rx).await,
                        Err(e) => eprintln!("emulator: cannot use listener: {e}"),
                    }
                });
                runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            })
            .map_err(StartError::Runtime)?;
        Ok(Emulator {
            shared,
            addr,
            stop: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://127.0.0.1:PORT`, for `--endpoint-url` and SDK configs.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    pub fn clock(&self) -> &Clock {
        &self.shared.clock
    }
    /// A `'static` reader of the emulator's clock (for clients that check expiry against it).
    pub fn now_fn(
        &self,
    ) -> std::sync::Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync> {
        let shared = self.shared.clone();
        std::sync::Arc::new(move || shared.clock.now())
    }
    /// Moves emulated time forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.shared.clock.advance(by);
    }
    pub fn add_fault(&self, rule: FaultRule) {
        self.shared.faults().add(rule);
    }
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }
    /// Calls stalled by a fault so far: a test waits for one before it kills its client.
    pub fn stalls(&self) -> u64 {
        self.shared.stalls.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Number of HTTP requests served so far.
    pub fn request_count(&self) -> u64 {
        self.shared
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Reads or changes the world directly (tests and scenario tools).
    pub fn with_world<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        f(&mut self.shared.world())
    }
    /// The current TOTP code of a registered virtual MFA device.
    pub fn totp(&self, serial: &str) -> Option<String> {
        let now = self.shared.clock.now().timestamp();
        self.with_world(|w| {
            w.iam
                .mfa_devices
                .get(serial)
                .map(|d| crypto::totp(&d.seed, now))
        })
    }
    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_now();
    }
    fn stop_now(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop_now();
    }
}
