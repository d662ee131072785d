//! DR restore tests and drill runbooks (docs/DR-DRILLS.md): HIPAA §164.308(a)(7) asks for
//! tested backups and practised recovery; a drill restores, measures, validates, cleans up
//! and writes the evidence.
//!
//! - [`runbook`]: the TOML runbook (pure parsing; errors name the line).
//! - [`report`]: the report (JSON and markdown), the RTO/RPO maths, the exit codes (pure).
//! - [`run`]: `phi-console drill run|report|plans` on top of the guarded restore actions
//!   ([`crate::guard::restore`]) and [`crate::guard::watch`].

pub mod report;
pub mod run;
pub mod runbook;
