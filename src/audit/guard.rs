//! Guarded actions: the action runs only after its intent is durable, and its outcome is
//! recorded after it, whether it succeeded, failed, panicked or was abandoned.

use super::error::AuditError;
use super::record::{Intent, Outcome};
use super::writer::{AuditLog, IntentHandle, Written};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// What an action reports about itself for its outcome record: AWS request ids, and on
/// failure an error code (never a payload). Cheap to clone; clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct Receipt(Arc<Mutex<ReceiptData>>);

#[derive(Debug, Default)]
struct ReceiptData {
    request_ids: Vec<String>,
    error_code: Option<String>,
    message: Option<String>,
    cancelled: bool,
}

impl Receipt {
    fn with<R>(&self, f: impl FnOnce(&mut ReceiptData) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
    /// An AWS request id of a call the action made.
    pub fn request_id(&self, id: impl Into<String>) {
        self.with(|d| d.request_ids.push(id.into()));
    }
    /// The error code to record if the action fails (default `Error`).
    pub fn error_code(&self, code: impl Into<String>) {
        self.with(|d| d.error_code = Some(code.into()));
    }
    /// A short message without PHI for the outcome record.
    pub fn message(&self, message: impl Into<String>) {
        self.with(|d| d.message = Some(message.into()));
    }
    /// Marks an `Err` return as the operator calling the action off (outcome `cancelled`).
    pub fn cancelled(&self) {
        self.with(|d| d.cancelled = true);
    }

    fn outcome<T, E>(&self, result: &Result<T, E>) -> Outcome {
        self.with(|d| {
            let mut o = match result {
                Ok(_) => Outcome::succeeded(),
                Err(_) if d.cancelled => Outcome::cancelled(),
                Err(_) => Outcome::failed(d.error_code.clone().unwrap_or_else(|| "Error".into())),
            };
            o.request_ids = d.request_ids.clone();
            o.message = d.message.clone();
            o
        })
    }
}

/// The result of a guarded action that ran.
#[must_use = "check the action's result and whether its outcome was recorded"]
#[derive(Debug)]
pub struct Guarded<T, E> {
    /// What the action returned.
    pub result: Result<T, E>,
    /// The id of its intent record.
    pub intent_id: String,
    /// Whether the outcome record was written (the action has already run either way). An
    /// error is [`AuditError::OutcomeNotRecorded`], whose message says exactly that: the
    /// action ran, its outcome is not in the log, and what to do.
    pub outcome: Result<Written, AuditError>,
}

/// Records `intent`, runs `action` only if the intent is durable, then records the outcome.
///
/// `Err` means the intent could not be recorded and the action did **not** run; show the
/// error to the operator. If the action panics, an `interrupted` outcome is recorded while
/// unwinding.
pub fn guarded<T, E>(
    log: &AuditLog,
    intent: Intent,
    action: impl FnOnce(Receipt) -> Result<T, E>,
) -> Result<Guarded<T, E>, AuditError> {
    let mut pending = Pending {
        log,
        handle: Some(log.intent(intent)?),
    };
    let receipt = Receipt::default();
    let result = action(receipt.clone());
    Ok(pending.finish(receipt.outcome(&result), result))
}

/// The async form of [`guarded`]. The audit writes (one fsync each) block the task; on a
/// multi-threaded runtime they run under `block_in_place`. If the future is dropped while the
/// action is in flight, an `interrupted` outcome is recorded.
pub async fn guarded_async<T, E, F, Fut>(
    log: &AuditLog,
    intent: Intent,
    action: F,
) -> Result<Guarded<T, E>, AuditError>
where
    F: FnOnce(Receipt) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let handle = blocking(|| log.intent(intent))?;
    let mut pending = Pending {
        log,
        handle: Some(handle),
    };
    let receipt = Receipt::default();
    let result = action(receipt.clone()).await;
    let outcome = receipt.outcome(&result);
    Ok(blocking(|| pending.finish(outcome, result)))
}

fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// An intent whose outcome is not yet recorded; records `interrupted` if dropped unfinished.
struct Pending<'a> {
    log: &'a AuditLog,
    handle: Option<IntentHandle>,
}

impl Pending<'_> {
    fn finish<T, E>(&mut self, outcome: Outcome, result: Result<T, E>) -> Guarded<T, E> {
        let (intent_id, written) = match self.handle.take() {
            Some(h) => {
                let id = h.id.clone();
                let written = self.log.outcome(h, outcome).map_err(|e| {
                    let (cause, fix) = e.cause_and_fix();
                    AuditError::OutcomeNotRecorded {
                        path: self.log.path().to_path_buf(),
                        intent_id: id.clone(),
                        cause,
                        fix,
                    }
                });
                (id, written)
            }
            None => (String::new(), Err(already_finished())),
        };
        Guarded {
            result,
            intent_id,
            outcome: written,
        }
    }
}

fn already_finished() -> AuditError {
    AuditError::Io {
        op: "record an outcome in",
        path: Default::default(),
        source: std::io::Error::other("the outcome was already recorded"),
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let why = if std::thread::panicking() {
                "the console panicked while the action ran"
            } else {
                "the action was abandoned before it finished"
            };
            if let Err(e) = self.log.outcome(h, Outcome::interrupted().message(why)) {
                tracing::error!("could not record an interrupted action: {e}");
            }
        }
    }
}
