//! DR restore tests and drill runbooks (docs/DR-DRILLS.md): HIPAA §164.308(a)(7) asks for
//! tested backups and practised recovery; a drill restores, measures, validates, cleans up
//! and writes the evidence.
//!
//! - [`runbook`]: the TOML runbook (pure parsing; errors name the line).
//! - [`report`]: the report (JSON and markdown), the RTO/RPO maths, the exit codes (pure).
//! - [`engine`]: running the tests of a runbook (async), on top of the guarded restore actions
//!   ([`crate::guard::restore`]) and [`crate::guard::watch`]; the same for the terminal and the
//!   console, which differ only in their [`engine::Io`].
//! - [`files`]: the runbook prepared, the state file (resume) and the reports (0600).
//! - [`run`]: `phi-console drill run|report|plans`; the console's `:drill` is in
//!   `crate::app::drill`.

pub mod engine;
pub mod files;
pub mod report;
pub mod run;
pub mod runbook;
