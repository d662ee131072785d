//! What the lab tests and the benchmarks share about the claims lab: the demo operator as a
//! profile, and an audit log read as its record kinds.

use phi_console::emulator::Emulator;
use phi_console::emulator::scenario::claims::{DEMO_ACCESS_KEY, DEMO_MFA_SERIAL};
use phi_console::session::profile::ResolvedProfile;

/// The demo operator with its static keys and MFA device, against `emu` (no role).
pub fn demo_profile(emu: &Emulator) -> ResolvedProfile {
    ResolvedProfile::with_static_keys(
        "demo",
        "us-east-1",
        Some(emu.endpoint_url()),
        DEMO_ACCESS_KEY,
        "demo",
        Some(DEMO_MFA_SERIAL),
    )
}

/// An audit log's records (JSON lines) as `kind` or `kind:event`.
pub fn record_kinds(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|r| {
            let kind = r["kind"].as_str().unwrap_or("?").to_string();
            match r["event"].as_str() {
                Some(e) => format!("{kind}:{e}"),
                None => kind,
            }
        })
        .collect()
}
