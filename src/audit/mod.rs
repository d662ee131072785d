//! The tamper-evident audit log: every action an operator takes is recorded, and flushed to
//! disk, before it runs (fail closed).
//!
//! The log is JSON Lines, one hash-chained record per line, periodically sealed with a MAC
//! from AWS KMS; docs/AUDIT.md is the format's specification.
//!
//! ```no_run
//! use phi_console::audit::{Action, AuditConfig, AuditLog, Confirmation, Intent, Why, guarded};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let log = AuditLog::open(AuditConfig::for_profile("prod")?)?;
//! let intent = Intent::new(Action::new("sqs:PurgeQueue").target("arn:aws:sqs:us-east-1:123456789012:claims-dlq"))
//!     .why(Why::reason("poison messages").ticket("CHG-1234"))
//!     .confirmed(Confirmation::typed_name("claims-dlq"));
//! // The closure runs only once the intent is on disk; the outcome is recorded after it.
//! let done = guarded(&log, intent, |receipt| {
//!     receipt.request_id("c0ffee");
//!     Ok::<_, std::io::Error>(())
//! })?;
//! done.result?;
//! # Ok(()) }
//! ```
//!
//! Modules: `record` (the record and the input types), `canonical` (canonical JSON and
//! hashes), `params` (keyed hashes of sensitive parameters), `storage` (directory, lock,
//! durable append), `writer` ([`AuditLog`]), `guard` ([`guarded`]), `seal` ([`Sealer`],
//! [`KmsSealer`]), `notify` (seal notices to an SNS topic), `verify` ([`verify_file`],
//! [`unfinished`]), `witness` (the CloudTrail cross-check), `cli` and `verify_cmd`
//! (`phi-console audit …`).

pub mod canonical;
pub mod cli;
mod context;
mod error;
pub mod guard;
pub mod notify;
pub mod params;
pub mod record;
pub mod seal;
pub(crate) mod storage;
pub mod verify;
mod verify_cmd;
pub mod witness;
pub mod writer;

pub use canonical::GENESIS_HASH;
pub use error::AuditError;
pub use guard::{Guarded, Receipt, guarded, guarded_async};
pub use notify::{SealNotice, SealWitness, SnsWitness};
pub use params::{ParamKey, SENSITIVE_PREFIX};
pub use record::{
    Action, Confirmation, FORMAT_VERSION, Intent, Kind, Outcome, Record, Reveal, SessionEvent,
    Status, Task, TaskEvent, What, Where, Who, Why,
};
pub use seal::{Generated, KmsSealer, LocalHmacSealer, SealError, Sealer, seal_message};
pub use storage::MAX_RECORD_BYTES;
pub use verify::{
    MAX_PROBLEMS, Problem, ProblemKind, Report, SealCheck, SealStatus, Unfinished, VerifyOptions,
    Warning, read_records, unfinished, verify_bytes, verify_file, verify_reader,
};
pub use writer::{
    AuditConfig, AuditLog, Context, DEFAULT_LOCK_TIMEOUT, DEFAULT_SEAL_EVERY, IntentHandle,
    Written, default_path, state_dir,
};
