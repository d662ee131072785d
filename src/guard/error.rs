//! Why a guarded action was not planned, not confirmed, or did not run — in words that say
//! what to do. Every variant is a plain value (`Clone`, `Eq`) so the TUI can keep it in its
//! state and the CLI can print it as JSON.

use crate::cloud::CloudError;
use serde::Serialize;

/// A pre-check that refused an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// An AWS managed key: AWS rotates it yearly; nobody can change that.
    AwsManaged,
    /// Asymmetric or HMAC keys cannot be rotated by KMS.
    NotSymmetric,
    /// Imported key material (origin `EXTERNAL`) cannot be rotated by KMS.
    ImportedMaterial,
    /// Keys in a custom key store (CloudHSM, external) cannot be rotated by KMS.
    CustomKeyStore,
    /// The key is disabled: enable it first.
    Disabled,
    /// The key is scheduled for deletion.
    PendingDeletion,
    /// The key waits for imported key material.
    PendingImport,
    /// Any other state that is not `Enabled` (`Creating`, `Unavailable`, …).
    NotEnabled,
    /// The key has used all its on-demand rotations.
    OnDemandQuota,
    /// An on-demand rotation of the key is still running.
    RotationInProgress,
    /// A receive (a peek) could move a message of a queue with a redrive policy to its DLQ.
    ReceiveCouldMove,
    /// A message move task's source must be a dead-letter queue (another queue's redrive
    /// policy targets it).
    NotDeadLetterQueue,
    /// A move task already runs on the DLQ (SQS allows one at a time).
    MoveTaskRunning,
    /// The destination queue given does not exist (or is not visible to this identity).
    DestinationNotFound,
    /// The destination is not of the DLQ's type (standard and FIFO do not mix).
    DestinationTypeMismatch,
    /// The move task's destination is the DLQ itself.
    DestinationIsTheDlq,
    /// A cancel needs a running move task on the DLQ.
    NoMoveTaskRunning,
    /// A restore needs the profile's `restore_role_arn` (the role AWS Backup restores as).
    RestoreRoleMissing,
    /// The restore would name its source resource: a restore test only creates new resources.
    RestoreOverSource,
    /// Only a COMPLETED recovery point can be restored.
    RecoveryPointNotCompleted,
    /// The resource has no COMPLETED recovery point (or the ARN names neither a recovery point
    /// nor a backed-up resource).
    NoRecoveryPoint,
    /// A validation result or a cleanup needs a COMPLETED restore job.
    RestoreNotCompleted,
    /// A cleanup may only remove the resource its restore job created (and a check needs one).
    NotCreatedByRestore,
    /// AWS Backup deletes a restore testing plan's copy itself.
    DeletedByAwsBackup,
    /// A cleanup needs a command (`restore_cleanup_command`, or the runbook's).
    NoCleanupCommand,
    /// A validation by the check command needs one (`restore_check_command`).
    NoCheckCommand,
    /// The console only deletes the restore testing plans it created (`phi_drill_…`).
    NotDrillPlan,
    /// A restore testing plan whose restore job still runs is not deleted.
    RestoreTestRunning,
    /// A restore testing plan of that name exists already.
    RestoreTestingPlanExists,
    /// A restore testing plan restores a resource's latest recovery point, not a given one.
    NotAResource,
}

/// One refusing pre-check and its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub check: Check,
    pub message: String,
}

impl Refusal {
    pub fn new(check: Check, message: impl Into<String>) -> Self {
        Refusal {
            check,
            message: message.into(),
        }
    }
}

/// Why a guarded action was not planned, not confirmed or not run, or how it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// Read-only mode (the `--read-only` flag, the profile's `read_only` setting or the session).
    #[error(
        "read-only mode: {action} changes the account, which profile '{profile}' does not allow here (read-only comes from --read-only or the profile's read_only setting)"
    )]
    ReadOnly { profile: String, action: String },

    /// The rotation period is outside what KMS accepts; checked before any call.
    #[error(
        "the rotation period must be between 90 and 2,560 days (got {days}); the default is 365 days"
    )]
    PeriodOutOfRange { days: i32 },

    /// The request itself is unusable (an empty key name, …); checked before any call.
    #[error("{0}")]
    InvalidRequest(String),

    /// A parameter's value is not what its [`ParamSpec`](super::ParamSpec) accepts; checked
    /// before any call. The message says what to give instead.
    #[error("{message}")]
    InvalidParam { param: String, message: String },

    /// The live state of the target could not be read, so there is no plan.
    #[error("cannot read the current state of {target} to plan the action: {error}")]
    LiveState { target: String, error: CloudError },

    /// Pre-checks against the live state refused the action; nothing was called.
    #[error("{action} on {target} is refused: {}", .refusals.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("; "))]
    Refused {
        action: String,
        target: String,
        refusals: Vec<Refusal>,
    },

    /// Nothing was typed where the target's name is asked for.
    #[error("to confirm, type the target's name: {expected}")]
    NameRequired { expected: String },

    /// The typed name is not the target's.
    #[error("'{typed}' is not the name of the target; to confirm, type exactly: {expected}")]
    WrongName { expected: String, typed: String },

    /// The profile requires a reason (`require_reason`) and none was given.
    #[error(
        "this profile requires a reason for every change (require_reason): say why (a ticket may be added)"
    )]
    ReasonRequired,

    /// The reason or ticket is not usable (too long, control characters).
    #[error("{0}")]
    InvalidReason(String),

    /// The last MFA code is older than the profile's `step_up_minutes`: renew the session
    /// with a fresh code (`Session::renew`) and run the same confirmed action again.
    #[error("a fresh MFA code is needed for this action: the last one was entered {} ago and profile '{profile}' allows {step_up_minutes} min; enter the current code to continue", age_words(*.mfa_age_s))]
    StepUpRequired {
        profile: String,
        mfa_age_s: Option<i64>,
        step_up_minutes: i64,
    },

    /// The session has no MFA device, so no step-up is possible.
    #[error(
        "guarded actions need an MFA session, and profile '{profile}' has no MFA device: set mfa_serial in the profile"
    )]
    NoMfa { profile: String },

    /// The session's credentials have expired.
    #[error("the session has expired; enter a fresh MFA code to continue")]
    SessionExpired,

    /// The plan was made for another profile, account, region or endpoint than the session's.
    #[error(
        "the plan was made for {planned}, but the session is now {current}; plan the action again"
    )]
    SessionChanged { planned: String, current: String },

    /// The plan is older than [`PLAN_TTL_MINUTES`](super::PLAN_TTL_MINUTES): its pre-checks
    /// describe a state that may have changed.
    #[error("the plan is {} min old (at most {max_minutes} min): plan the action again so its checks see the current state", .age_s / 60)]
    PlanExpired { age_s: i64, max_minutes: i64 },

    /// The intent could not be written to the audit log (fail closed): nothing was called.
    #[error("the audit log could not record the action, so nothing was done: {message}")]
    Audit { message: String },

    /// The call was made and AWS (or the network) answered with an error. The outcome is in
    /// the audit log (`failed`, with `code`) unless `outcome_warning` says otherwise.
    #[error("{action} on {target} failed: {error}")]
    Failed {
        action: String,
        target: String,
        error: CloudError,
        /// The error code recorded in the outcome.
        code: String,
        intent_id: String,
        /// Set when the outcome record could not be written.
        outcome_warning: Option<String>,
    },
}

fn age_words(age_s: Option<i64>) -> String {
    match age_s {
        None => "never".to_string(),
        Some(s) if s < 120 => format!("{s} s"),
        Some(s) => format!("{} min", s / 60),
    }
}

impl GuardError {
    /// A stable snake_case name of the variant (the CLI's JSON `error.kind`).
    pub fn kind(&self) -> &'static str {
        match self {
            GuardError::ReadOnly { .. } => "read_only",
            GuardError::PeriodOutOfRange { .. } => "period_out_of_range",
            GuardError::InvalidRequest(_) => "invalid_request",
            GuardError::InvalidParam { .. } => "invalid_param",
            GuardError::LiveState { .. } => "live_state",
            GuardError::Refused { .. } => "refused",
            GuardError::NameRequired { .. } => "name_required",
            GuardError::WrongName { .. } => "wrong_name",
            GuardError::ReasonRequired => "reason_required",
            GuardError::InvalidReason(_) => "invalid_reason",
            GuardError::StepUpRequired { .. } => "step_up_required",
            GuardError::NoMfa { .. } => "no_mfa",
            GuardError::SessionExpired => "session_expired",
            GuardError::SessionChanged { .. } => "session_changed",
            GuardError::PlanExpired { .. } => "plan_expired",
            GuardError::Audit { .. } => "audit",
            GuardError::Failed { .. } => "failed",
        }
    }

    /// True when the action may have reached AWS (only [`GuardError::Failed`]); every other
    /// error happened before the intent was written, and nothing was called.
    pub fn reached_aws(&self) -> bool {
        matches!(self, GuardError::Failed { .. })
    }

    /// The error as JSON: `kind`, `message`, and the refusals or failure details.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({ "kind": self.kind(), "message": self.to_string() });
        match self {
            GuardError::Refused { refusals, .. } => {
                v["refusals"] = serde_json::to_value(refusals).unwrap_or_default();
            }
            GuardError::Failed {
                code,
                intent_id,
                outcome_warning,
                ..
            } => {
                v["code"] = code.clone().into();
                v["intent_id"] = intent_id.clone().into();
                if let Some(w) = outcome_warning {
                    v["outcome_warning"] = w.clone().into();
                }
            }
            GuardError::InvalidParam { param, .. } => {
                v["param"] = param.clone().into();
            }
            GuardError::WrongName { expected, .. } | GuardError::NameRequired { expected } => {
                v["expected"] = expected.clone().into();
            }
            _ => {}
        }
        v
    }
}
