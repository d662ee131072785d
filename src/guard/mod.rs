//! Guarded actions: every change to the account goes through this one flow, written once.
//!
//! ```text
//! Request ──plan()──▶ Plan ──confirm()──▶ Confirmed ──execute()──▶ Executed
//!           live pre-checks     typed name + reason     read-only, step-up, audit intent,
//!           (no change)         (pure, no I/O)          the call, audit outcome
//! ```
//!
//! 1. [`plan`] validates the [`Request`] (e.g. the rotation period) before any call, reads the
//!    target's **live** state and runs the pre-checks; it returns a [`Plan`]: the exact call
//!    ([`Operation`], with target ARNs and parameters), the account, region and identity it
//!    runs as, what cannot be undone, and warnings — or [`GuardError::Refused`] with every
//!    refusing check explained. Nothing is changed.
//! 2. [`confirm`] (pure) checks the name the operator typed and the reason/ticket, and returns
//!    a [`Confirmed`], which carries the plan **by value**: what executes is exactly what was
//!    shown, never a re-read of a selection.
//! 3. [`check_step_up`] / [`preflight`] (pure) tell the caller whether a fresh MFA code is
//!    needed ([`GuardError::StepUpRequired`]): renew the session with
//!    [`Session::renew`](crate::session::Session::renew) and call [`execute`] again with the
//!    same `Confirmed`.
//! 4. [`execute`] repeats every gate (read-only, session, reason, plan age, step-up), writes
//!    the intent to the audit log (fail closed: if it cannot, nothing is called), makes the
//!    call, and records the outcome with the request id or the error code
//!    ([`audit::guarded_async`](crate::audit::guarded_async)). If its future is dropped while
//!    the call is in flight (task aborted, SIGHUP), the outcome `interrupted` is recorded.
//!
//! In the TUI (Elm style): `update` turns a key into an effect carrying a [`Request`] built
//! from the selected row's ARN; the runner calls [`plan`] and sends the `Plan` back as a
//! message; the confirm screen keeps the `Plan` in its state and calls [`confirm`] from
//! `update`; the `Confirmed` goes out in an effect; the runner calls [`preflight`] (on
//! `StepUpRequired` it asks for a code, renews, and retries) and then [`execute`] on a task.
//!
//! docs/GUARDED-ACTIONS.md describes the flow, the pre-checks and the CLI (`phi-console key`).

// `GuardError` is a plain value the TUI keeps in its state (Clone + Eq, no boxes); errors are
// rare and never on a hot path, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod cli;
mod error;
pub mod kms;
pub mod peek;

pub use error::{Check, GuardError, Refusal};

use crate::audit::{
    self, Action, AuditConfig, AuditError, AuditLog, Confirmation, Intent, Where, Who, Why,
};
use crate::cloud::CloudError;
use crate::session::Session;
use crate::session::settings::ProfileSettings;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::Path;

pub use crate::cloud::kms::{
    DEFAULT_ROTATION_PERIOD_DAYS, MAX_ROTATION_PERIOD_DAYS, MIN_ROTATION_PERIOD_DAYS,
    ON_DEMAND_ROTATION_QUOTA,
};

/// A plan older than this is refused at execution: its pre-checks describe a past state.
pub const PLAN_TTL_MINUTES: i64 = 15;
/// The longest reason or ticket accepted (characters).
pub const MAX_REASON_CHARS: usize = 500;
/// The environment variable that overrides the audit directory (after the profile's
/// `audit_dir` setting, like the TUI).
pub const AUDIT_DIR_ENV: &str = "PHI_CONSOLE_AUDIT_DIR";

/// The settings that govern guarded actions for one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// No action may change the account.
    pub read_only: bool,
    /// A reason is mandatory.
    pub require_reason: bool,
    /// The MFA code must be at most this old when an action runs.
    pub step_up_minutes: i64,
    /// A production account (the plan warns).
    pub production: bool,
}

impl Policy {
    /// The policy of a profile's effective settings; `force_read_only` is `--read-only`.
    pub fn from_settings(s: &ProfileSettings, force_read_only: bool) -> Policy {
        Policy {
            read_only: s.read_only || force_read_only,
            require_reason: s.require_reason,
            step_up_minutes: s.step_up_minutes,
            production: s.production,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_settings(&ProfileSettings::default(), false)
    }
}

/// What the operator asks for: an action on a target, before any check. `key` is a key id,
/// key ARN or alias (`alias/claims-costs`); the plan resolves it to the key's ARN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Turn on automatic rotation, or change its period (the same call). `None`: 365 days.
    EnableKeyRotation {
        key: String,
        period_days: Option<i32>,
    },
    /// Turn off automatic rotation.
    DisableKeyRotation { key: String },
    /// Rotate the key material now.
    RotateKeyOnDemand { key: String },
}

impl Request {
    /// The API action (`kms:EnableKeyRotation`).
    pub fn action(&self) -> &'static str {
        match self {
            Request::EnableKeyRotation { .. } => "kms:EnableKeyRotation",
            Request::DisableKeyRotation { .. } => "kms:DisableKeyRotation",
            Request::RotateKeyOnDemand { .. } => "kms:RotateKeyOnDemand",
        }
    }
    /// The target as the operator named it.
    pub fn target(&self) -> &str {
        match self {
            Request::EnableKeyRotation { key, .. }
            | Request::DisableKeyRotation { key }
            | Request::RotateKeyOnDemand { key } => key,
        }
    }
}

/// Checks a request without any call: parameters in range, a target named.
pub fn validate(request: &Request) -> Result<(), GuardError> {
    crate::validate::kms_key(request.target()).map_err(|e| GuardError::InvalidRequest(e.0))?;
    if let Request::EnableKeyRotation {
        period_days: Some(days),
        ..
    } = request
        && !(MIN_ROTATION_PERIOD_DAYS..=MAX_ROTATION_PERIOD_DAYS).contains(days)
    {
        return Err(GuardError::PeriodOutOfRange { days: *days });
    }
    Ok(())
}

/// The exact call a plan makes (resolved target ARNs and parameters): what [`execute`] runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    EnableKeyRotation { key_arn: String, period_days: i32 },
    DisableKeyRotation { key_arn: String },
    RotateKeyOnDemand { key_arn: String },
}

impl Operation {
    /// The API action (`kms:EnableKeyRotation`).
    pub fn action(&self) -> &'static str {
        match self {
            Operation::EnableKeyRotation { .. } => "kms:EnableKeyRotation",
            Operation::DisableKeyRotation { .. } => "kms:DisableKeyRotation",
            Operation::RotateKeyOnDemand { .. } => "kms:RotateKeyOnDemand",
        }
    }
    /// The ARNs the call acts on.
    pub fn targets(&self) -> Vec<String> {
        match self {
            Operation::EnableKeyRotation { key_arn, .. }
            | Operation::DisableKeyRotation { key_arn }
            | Operation::RotateKeyOnDemand { key_arn } => vec![key_arn.clone()],
        }
    }
    /// The call's parameters besides the target, as the plan shows them.
    fn params_text(&self) -> String {
        match self {
            Operation::EnableKeyRotation { period_days, .. } => {
                format!(" (RotationPeriodInDays={period_days})")
            }
            _ => String::new(),
        }
    }
    /// Makes the call; returns the request id.
    async fn call(&self, cloud: &crate::cloud::Cloud) -> Result<String, CloudError> {
        match self {
            Operation::EnableKeyRotation {
                key_arn,
                period_days,
            } => cloud.enable_key_rotation(key_arn, *period_days).await,
            Operation::DisableKeyRotation { key_arn } => cloud.disable_key_rotation(key_arn).await,
            Operation::RotateKeyOnDemand { key_arn } => cloud.rotate_key_on_demand(key_arn).await,
        }
    }
}

/// A target of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    /// The exact resource the call names.
    pub arn: String,
    /// What a person calls it (an alias, else the key id).
    pub name: String,
}

/// A fact about the live state the pre-checks saw (`state: Enabled`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

/// A planned action: what will be called, on what, where, as whom; what cannot be undone;
/// warnings; and what to type to confirm. A value: keep it, show it, confirm it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The exact call (targets by ARN, parameters).
    pub operation: Operation,
    /// `kms:EnableKeyRotation`.
    pub action: String,
    /// One line in words: "enable automatic rotation of alias/claims-costs every 180 days".
    pub summary: String,
    pub targets: Vec<Target>,
    /// "kms:EnableKeyRotation on arn:aws:kms:… (RotationPeriodInDays=180)"
    pub calls: Vec<String>,
    pub profile: String,
    pub account: String,
    pub region: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The identity the call runs as.
    pub caller_arn: String,
    pub production: bool,
    /// The live state the pre-checks saw.
    pub facts: Vec<Fact>,
    /// What cannot be undone once the call is made.
    pub irreversible: Vec<String>,
    pub warnings: Vec<String>,
    /// What the operator types to confirm: the target's name (for a KMS key: its alias
    /// without `alias/`, e.g. `claims-costs`, or the key id when it has no alias), or a short
    /// phrase for several targets (`rotate 3 keys`).
    pub confirm_text: String,
    /// Other spellings accepted (the full alias, `alias/claims-costs`).
    pub confirm_also: Vec<String>,
    #[serde(serialize_with = "ser_time")]
    pub planned_at: DateTime<Utc>,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&audit::writer::format_time(*t))
}

impl Plan {
    /// The target's display name (or `N targets`).
    pub fn target_name(&self) -> String {
        match self.targets.as_slice() {
            [t] => t.name.clone(),
            ts => format!("{} targets", ts.len()),
        }
    }

    /// "profile demo, account 123456789012, us-east-1[, endpoint …]"
    pub fn place(&self) -> String {
        let mut s = format!(
            "profile {}, account {}, {}",
            self.profile, self.account, self.region
        );
        if let Some(e) = &self.endpoint {
            s.push_str(&format!(", endpoint {e}"));
        }
        s
    }

    /// The plan as lines of text (the CLI prints them; the TUI may show them as they are).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("Plan: {}", self.summary)];
        if self.production {
            out.push(format!("  !! PRODUCTION account {} !!", self.account));
        }
        for c in &self.calls {
            out.push(format!("  call:    {c}"));
        }
        out.push(format!("  where:   {}", self.place()));
        out.push(format!("  as:      {}", self.caller_arn));
        for f in &self.facts {
            out.push(format!("  now:     {}: {}", f.label, f.value));
        }
        for i in &self.irreversible {
            out.push(format!("  cannot be undone: {i}"));
        }
        for w in &self.warnings {
            out.push(format!("  WARNING: {w}"));
        }
        out.push(format!("  to confirm, type: {}", self.confirm_text));
        out
    }
}

/// A plan the operator confirmed: the plan (by value), the name typed, the reason and ticket.
/// Made only by [`confirm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmed {
    plan: Plan,
    typed: String,
    reason: Option<String>,
    ticket: Option<String>,
}

impl Confirmed {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }
    pub fn typed(&self) -> &str {
        &self.typed
    }
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
    pub fn ticket(&self) -> Option<&str> {
        self.ticket.as_deref()
    }
}

fn clean(what: &str, v: Option<&str>) -> Result<Option<String>, GuardError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > MAX_REASON_CHARS {
        return Err(GuardError::InvalidReason(format!(
            "the {what} is too long ({} characters, at most {MAX_REASON_CHARS})",
            v.chars().count()
        )));
    }
    if v.chars().any(char::is_control) {
        return Err(GuardError::InvalidReason(format!(
            "the {what} must be one line of text, without control characters"
        )));
    }
    Ok(Some(v.to_string()))
}

/// Confirms a plan: `typed` must be the plan's [`confirm_text`](Plan::confirm_text) (or one
/// of [`confirm_also`](Plan::confirm_also)), exactly, surrounding spaces aside — a single key
/// press never confirms. A reason is required when `require_reason` (a ticket is optional).
/// Pure: no I/O.
pub fn confirm(
    plan: &Plan,
    typed: &str,
    reason: Option<&str>,
    ticket: Option<&str>,
    require_reason: bool,
) -> Result<Confirmed, GuardError> {
    let typed = typed.trim();
    if typed.is_empty() {
        return Err(GuardError::NameRequired {
            expected: plan.confirm_text.clone(),
        });
    }
    if typed != plan.confirm_text && !plan.confirm_also.iter().any(|a| a == typed) {
        let shown: String = typed.chars().take(80).filter(|c| !c.is_control()).collect();
        return Err(GuardError::WrongName {
            expected: plan.confirm_text.clone(),
            typed: shown,
        });
    }
    let reason = clean("reason", reason)?;
    let ticket = clean("ticket", ticket)?;
    if require_reason && reason.is_none() {
        return Err(GuardError::ReasonRequired);
    }
    Ok(Confirmed {
        plan: plan.clone(),
        typed: typed.to_string(),
        reason,
        ticket,
    })
}

/// `StepUpRequired` when the session's MFA code is older than the policy's `step_up_minutes`
/// (renew the session with a fresh code, then retry); `NoMfa` when it has no MFA at all.
pub fn check_step_up(session: &Session, policy: &Policy) -> Result<(), GuardError> {
    if session.mfa_serial.is_none() && session.mfa_at.is_none() {
        return Err(GuardError::NoMfa {
            profile: session.profile.clone(),
        });
    }
    if session.needs_step_up(policy.step_up_minutes) {
        return Err(GuardError::StepUpRequired {
            profile: session.profile.clone(),
            mfa_age_s: session.mfa_age().map(|d| d.num_seconds()),
            step_up_minutes: policy.step_up_minutes,
        });
    }
    Ok(())
}

/// A target given as an ARN must be in the session's region and account: an ARN from another
/// region or account is a mistake to name, not a call to make.
fn same_place(session: &Session, target: &str) -> Result<(), GuardError> {
    let partition = crate::validate::Arn::parse(&session.caller.arn)
        .map(|a| a.partition)
        .unwrap_or_else(|_| crate::validate::partition_of(&session.region).to_string());
    same_partition(target, &partition)?;
    let parts: Vec<&str> = target.splitn(6, ':').collect();
    if parts.len() == 6 && parts[0] == "arn" {
        let (region, account) = (parts[3], parts[4]);
        if !region.is_empty() && region != session.region {
            return Err(GuardError::InvalidRequest(format!(
                "{target} is in region {region}, but this session is in {}: switch region (:region {region}, or --region {region}) and try again",
                session.region
            )));
        }
        if !account.is_empty() && account != session.caller.account {
            return Err(GuardError::InvalidRequest(format!(
                "{target} belongs to account {account}, but this session is account {}: use a profile for that account",
                session.caller.account
            )));
        }
    }
    Ok(())
}

/// A target given as an ARN must be in the partition the session runs in: `arn:aws-cn:…` and
/// `arn:aws-us-gov:…` name resources of another AWS, which the session's credentials cannot
/// reach and must not be asked to. Pure: the CLI checks it against the session's region before
/// any call, the plan again against the caller's ARN.
pub fn same_partition(target: &str, partition: &str) -> Result<(), GuardError> {
    use crate::validate::{Arn, partition_name};
    let Ok(arn) = Arn::parse(target.trim()) else {
        return Ok(());
    };
    if arn.partition == partition {
        return Ok(());
    }
    let example = match arn.partition.as_str() {
        "aws-cn" => " (e.g. region cn-north-1)",
        "aws-us-gov" => " (e.g. region us-gov-west-1)",
        "aws" => " (e.g. region us-east-1)",
        _ => "",
    };
    Err(GuardError::InvalidRequest(format!(
        "{arn} is in partition {} ({}), but this command works in partition {partition} ({}): a partition is a separate AWS with its own accounts and credentials; nothing was called — use a profile of that partition{example}",
        arn.partition,
        partition_name(&arn.partition),
        partition_name(partition),
    )))
}

/// The checks of a request's target that need no session: its partition and region against
/// the region the command will run in (the CLI calls this before asking for an MFA code).
pub fn check_target_region(request: &Request, region: &str) -> Result<(), GuardError> {
    let target = request.target().trim();
    same_partition(target, crate::validate::partition_of(region))?;
    if let Ok(arn) = crate::validate::Arn::parse(target)
        && !arn.region.is_empty()
        && arn.region != region
    {
        return Err(GuardError::InvalidRequest(format!(
            "{target} is in region {}, but this command runs in {region}: pass --region {} and try again",
            arn.region, arn.region
        )));
    }
    Ok(())
}

fn read_only_gate(session: &Session, policy: &Policy, action: &str) -> Result<(), GuardError> {
    if policy.read_only || session.read_only {
        return Err(GuardError::ReadOnly {
            profile: session.profile.clone(),
            action: action.to_string(),
        });
    }
    Ok(())
}

fn session_place(session: &Session) -> String {
    let mut s = format!(
        "profile {}, account {}, {}",
        session.profile, session.caller.account, session.region
    );
    if let Some(e) = &session.endpoint_url {
        s.push_str(&format!(", endpoint {e}"));
    }
    s
}

/// Every gate [`execute`] applies before it writes the intent, without I/O: read-only, the
/// session is the plan's (profile, account, region, endpoint) and alive, the reason the
/// policy requires, the plan's age, and step-up. Callers run it first to ask for an MFA code
/// when it returns [`GuardError::StepUpRequired`].
pub fn preflight(
    session: &Session,
    policy: &Policy,
    confirmed: &Confirmed,
) -> Result<(), GuardError> {
    let plan = &confirmed.plan;
    read_only_gate(session, policy, &plan.action)?;
    let current = session_place(session);
    if plan.place() != current {
        return Err(GuardError::SessionChanged {
            planned: plan.place(),
            current,
        });
    }
    if policy.require_reason && confirmed.reason.is_none() {
        return Err(GuardError::ReasonRequired);
    }
    let age = session.now() - plan.planned_at;
    if age > chrono::Duration::minutes(PLAN_TTL_MINUTES) {
        return Err(GuardError::PlanExpired {
            age_s: age.num_seconds(),
            max_minutes: PLAN_TTL_MINUTES,
        });
    }
    if session.is_expired() {
        return Err(GuardError::SessionExpired);
    }
    check_step_up(session, policy)
}

/// Plans a request: validates it (before any call), refuses in read-only mode, reads the
/// target's live state and runs the pre-checks. Changes nothing.
pub async fn plan(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    validate(request)?;
    read_only_gate(session, policy, request.action())?;
    same_place(session, request.target())?;
    kms::plan(session, policy, request).await
}

/// A guarded action that ran and succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Executed {
    /// `kms:EnableKeyRotation`.
    pub action: String,
    pub targets: Vec<String>,
    pub summary: String,
    /// The AWS request id of the call.
    pub request_id: String,
    /// The id of the intent record (its outcome record names it).
    pub intent_id: String,
    /// Set when the outcome record could not be written (the action ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_warning: Option<String>,
}

/// The KMS error code recorded in an outcome.
fn error_code(e: &CloudError) -> String {
    match e {
        CloudError::NotFound { .. } => "NotFoundException".into(),
        CloudError::AccessDenied { .. } => "AccessDeniedException".into(),
        CloudError::Throttled { .. } => "ThrottlingException".into(),
        CloudError::Expired => "ExpiredTokenException".into(),
        CloudError::Network { .. } => "NetworkError".into(),
        CloudError::Invalid { code, .. } | CloudError::Service { code, .. } => code.clone(),
    }
}

/// The audit intent of a confirmed plan: who (OS and AWS identity, MFA time), where, what
/// (action, target ARNs, parameters), why, how (typed name, MFA step-up).
pub fn intent(session: &Session, confirmed: &Confirmed) -> Intent {
    let plan = &confirmed.plan;
    let mut action = Action::new(plan.action.clone());
    for t in &plan.targets {
        action = action.target(t.arn.clone());
    }
    if let [t] = plan.targets.as_slice() {
        action = action.param("name", t.name.clone());
    }
    if let Operation::EnableKeyRotation { period_days, .. } = &plan.operation {
        action = action.param("rotation_period_in_days", *period_days);
    }
    let mut who =
        Who::from_os().with_aws(session.caller.arn.clone(), session.source_identity.clone());
    if let Some(at) = session.mfa_at {
        who = who.with_mfa(at);
    }
    let mut place = Where::new(
        plan.profile.clone(),
        plan.account.clone(),
        plan.region.clone(),
    );
    if let Some(e) = &plan.endpoint {
        place = place.with_endpoint(e.clone());
    }
    let why = Why {
        reason: confirmed.reason.clone(),
        ticket: confirmed.ticket.clone(),
    };
    Intent::new(action)
        .who(who)
        .place(place)
        .why(why)
        .confirmed(Confirmation::typed_name(confirmed.typed.clone()))
        .confirmed(Confirmation::mfa_step_up())
}

/// Runs a confirmed plan: [`preflight`]; the intent to the audit log (if it cannot be
/// written, nothing is called: [`GuardError::Audit`]); the call, exactly as planned; the
/// outcome (request id, or the error code). Runs on the caller's tokio runtime. If the future
/// is dropped mid-call, the outcome `interrupted` is recorded.
pub async fn execute(
    log: &AuditLog,
    session: &Session,
    policy: &Policy,
    confirmed: Confirmed,
) -> Result<Executed, GuardError> {
    preflight(session, policy, &confirmed)?;
    let intent = intent(session, &confirmed);
    let cloud = session.cloud();
    let op = confirmed.plan.operation.clone();
    let done = audit::guarded_async(log, intent, |receipt| async move {
        match op.call(&cloud).await {
            Ok(id) => {
                if !id.is_empty() {
                    receipt.request_id(id.clone());
                }
                Ok(id)
            }
            Err(e) => {
                receipt.error_code(error_code(&e));
                receipt.message(e.to_string());
                Err(e)
            }
        }
    })
    .await
    .map_err(|e| GuardError::Audit {
        message: e.to_string(),
    })?;
    let plan = confirmed.plan;
    // The error says it all: the action ran, its outcome is not in the log, what to do.
    let outcome_warning = done.outcome.err().map(|e| e.to_string());
    match done.result {
        Ok(request_id) => Ok(Executed {
            action: plan.action,
            targets: plan.targets.into_iter().map(|t| t.arn).collect(),
            summary: plan.summary,
            request_id,
            intent_id: done.intent_id,
            outcome_warning,
        }),
        Err(error) => Err(GuardError::Failed {
            action: plan.action,
            target: plan
                .targets
                .first()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            code: error_code(&error),
            error,
            intent_id: done.intent_id,
            outcome_warning,
        }),
    }
}

/// Sets the audit log's who and where from a session (caller, SourceIdentity, MFA time;
/// profile, account, region, endpoint): the TUI and the CLI both call this.
pub fn record_context(log: &AuditLog, s: &Session) {
    let mut who =
        crate::audit::Who::from_os().with_aws(s.caller.arn.clone(), s.source_identity.clone());
    if let Some(at) = s.mfa_at {
        who = who.with_mfa(at);
    }
    let mut place = crate::audit::Where::new(
        s.profile.clone(),
        s.caller.account.clone(),
        s.region.clone(),
    );
    if let Some(e) = &s.endpoint_url {
        place = place.with_endpoint(e.clone());
    }
    log.set_context(who, place);
}

/// Where a profile's audit log lives: `dir` (the CLI's `--audit-dir`), else the profile's
/// `audit_dir` setting, else `$PHI_CONSOLE_AUDIT_DIR`, else the default state directory
/// (`AuditConfig::for_profile`). The file is `<dir>/<profile>.jsonl`.
pub fn audit_config(
    profile: &str,
    settings: &ProfileSettings,
    dir: Option<&Path>,
) -> Result<AuditConfig, AuditError> {
    let dir = dir
        .map(Path::to_path_buf)
        .or_else(|| settings.audit_dir.clone())
        .or_else(|| {
            std::env::var_os(AUDIT_DIR_ENV)
                .filter(|v| !v.is_empty())
                .map(Into::into)
        });
    match dir {
        Some(d) => {
            crate::audit::writer::check_profile_name(profile)?;
            // `--audit-dir` and the settings file are checked where they are read; this also
            // covers $PHI_CONSOLE_AUDIT_DIR.
            crate::validate::audit_dir(&d).map_err(|e| AuditError::Io {
                op: "place",
                path: d.join(format!("{profile}.jsonl")),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.0),
            })?;
            Ok(AuditConfig::new(d.join(format!("{profile}.jsonl"))))
        }
        None => AuditConfig::for_profile(profile),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan {
            operation: Operation::EnableKeyRotation {
                key_arn: "arn:aws:kms:us-east-1:123456789012:key/k1".into(),
                period_days: 180,
            },
            action: "kms:EnableKeyRotation".into(),
            summary: "enable".into(),
            targets: vec![Target {
                arn: "arn:aws:kms:us-east-1:123456789012:key/k1".into(),
                name: "alias/claims-costs".into(),
            }],
            calls: vec![],
            profile: "p".into(),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            endpoint: None,
            caller_arn: "arn:aws:sts::123456789012:assumed-role/R/s".into(),
            production: false,
            facts: vec![],
            irreversible: vec![],
            warnings: vec![],
            confirm_text: "claims-costs".into(),
            confirm_also: vec!["alias/claims-costs".into()],
            planned_at: Utc::now(),
        }
    }

    #[test]
    fn the_typed_name_and_the_reason_are_checked() {
        let p = plan();
        assert_eq!(
            confirm(&p, "", None, None, false),
            Err(GuardError::NameRequired {
                expected: "claims-costs".into()
            })
        );
        let e = confirm(&p, "y", Some("r"), None, true).unwrap_err();
        assert!(
            matches!(&e, GuardError::WrongName { expected, .. } if expected == "claims-costs"),
            "{e}"
        );
        assert!(e.to_string().contains("type exactly: claims-costs"), "{e}");
        assert_eq!(
            confirm(&p, "claims-costs", None, Some("CHG-1"), true),
            Err(GuardError::ReasonRequired)
        );
        assert_eq!(
            confirm(&p, "claims-costs", Some("   "), None, true),
            Err(GuardError::ReasonRequired)
        );
        let c = confirm(&p, " claims-costs ", Some(" rotate "), Some("CHG-1"), true).unwrap();
        assert_eq!(
            (c.typed(), c.reason(), c.ticket()),
            ("claims-costs", Some("rotate"), Some("CHG-1"))
        );
        assert_eq!(c.plan(), &p);
        assert!(confirm(&p, "alias/claims-costs", None, None, false).is_ok());
        assert!(matches!(
            confirm(&p, "claims-costs", Some("a\nb"), None, true),
            Err(GuardError::InvalidReason(_))
        ));
        assert!(matches!(
            confirm(&p, "claims-costs", Some(&"x".repeat(501)), None, true),
            Err(GuardError::InvalidReason(_))
        ));
    }

    #[test]
    fn periods_are_checked_before_any_call() {
        let req = |d| Request::EnableKeyRotation {
            key: "alias/k".into(),
            period_days: Some(d),
        };
        assert_eq!(
            validate(&req(89)),
            Err(GuardError::PeriodOutOfRange { days: 89 })
        );
        assert_eq!(
            validate(&req(2561)),
            Err(GuardError::PeriodOutOfRange { days: 2561 })
        );
        assert!(validate(&req(90)).is_ok() && validate(&req(2560)).is_ok());
        assert!(
            validate(&Request::EnableKeyRotation {
                key: "k".into(),
                period_days: None
            })
            .is_ok()
        );
        assert!(matches!(
            validate(&Request::RotateKeyOnDemand { key: " ".into() }),
            Err(GuardError::InvalidRequest(_))
        ));
        assert!(
            GuardError::PeriodOutOfRange { days: 30 }
                .to_string()
                .contains("between 90 and 2,560 days")
        );
    }

    #[test]
    fn the_plan_serialises_with_its_operation() {
        let v = serde_json::to_value(plan()).unwrap();
        assert_eq!(v["operation"]["operation"], "enable_key_rotation");
        assert_eq!(v["operation"]["period_days"], 180);
        assert_eq!(v["targets"][0]["name"], "alias/claims-costs");
        assert!(v["planned_at"].as_str().unwrap().ends_with('Z'));
    }
}
