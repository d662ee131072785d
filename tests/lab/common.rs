//! Shared test helpers: start an emulator, build SDK clients against it, compute TOTP codes.
#![allow(dead_code)]

use aws_types::SdkConfig;
use phi_console::cloud::http::{endpoint_config, static_credentials};
use phi_console::emulator::{ClockMode, Emulator, EmulatorConfig, Scenario};

pub const REGION: &str = "us-east-1";

pub fn start(scenario: Scenario, clock: ClockMode) -> Emulator {
    Emulator::start(EmulatorConfig { scenario, clock, ..Default::default() }).expect("emulator starts")
}

pub fn empty() -> Emulator {
    start(Scenario::Empty, ClockMode::Manual)
}

pub fn claims() -> Emulator {
    start(Scenario::Claims, ClockMode::Manual)
}

/// An SdkConfig with long-term test keys and retries off.
pub fn config(emu: &Emulator) -> SdkConfig {
    endpoint_config(&emu.endpoint_url(), REGION, static_credentials("AKIATESTKEY", "testsecret", None), 1)
}

pub fn config_with(emu: &Emulator, ak: &str, sk: &str, token: Option<&str>) -> SdkConfig {
    endpoint_config(&emu.endpoint_url(), REGION, static_credentials(ak, sk, token), 1)
}

pub fn config_retrying(emu: &Emulator, attempts: u32) -> SdkConfig {
    endpoint_config(&emu.endpoint_url(), REGION, static_credentials("AKIATESTKEY", "testsecret", None), attempts)
}

/// The error code of an SDK error.
pub fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> String {
    match e {
        aws_smithy_runtime_api::client::result::SdkError::ServiceError(s) => s.err().code().unwrap_or("").to_string(),
        other => format!("not a service error: {other:?}"),
    }
}

/// Registers a virtual MFA device for a new user with a long-term key; returns (serial, seed).
pub fn mfa_user(emu: &Emulator, user: &str, key: &str) -> (String, Vec<u8>) {
    let seed = format!("seed-for-{user}-0123456789").into_bytes();
    let serial = emu.with_world(|w| {
        w.add_user(user);
        w.iam.keys.insert(key.to_string(), user.to_string());
        w.add_mfa_device(user, user, &seed)
    });
    (serial, seed)
}

/// The TOTP code for the emulator's current time.
pub fn code_now(emu: &Emulator, seed: &[u8]) -> String {
    phi_console::emulator::crypto::totp(seed, emu.clock().now().timestamp())
}
