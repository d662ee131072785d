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
//! Actions are data: an [`ActionSpec`] per action (its parameters as [`ParamSpec`]s, its
//! planner and its call), listed in [`actions::ALL`]; nothing here knows a particular action.
//! Long-running actions return a [`Handle`] that [`watch::watch`] follows to its end.
//!
//! docs/GUARDED-ACTIONS.md describes the flow, how an action is declared, the pre-checks and
//! the CLI (`phi-console key`).

// `GuardError` is a plain value the TUI keeps in its state (Clone + Eq, no boxes); errors are
// rare and never on a hot path, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod action;
pub mod actions;
pub mod cli;
mod error;
pub mod kms;
pub mod peek;
pub mod queue_cli;
pub mod redrive;
pub mod restore;
pub mod restore_testing;
pub mod sqs;
pub mod watch;

pub use action::{ActionSpec, Called, Handle, HandleKind, ParamKind, ParamSpec, ParamValue};
pub use error::{Check, GuardError, Refusal};

use crate::audit::{
    self, Action, AuditConfig, AuditError, AuditLog, Confirmation, Intent, Where, Who, Why,
};
use crate::cloud::CloudError;
use crate::session::Session;
use crate::session::settings::ProfileSettings;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
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
    /// The RTO and RPO objectives (minutes) a restore test outside a runbook is measured
    /// against (`restore_rto_minutes`, `restore_rpo_minutes`).
    pub restore_objectives: (Option<i64>, Option<i64>),
}

impl Policy {
    /// The policy of a profile's effective settings; `force_read_only` is `--read-only`.
    pub fn from_settings(s: &ProfileSettings, force_read_only: bool) -> Policy {
        Policy {
            read_only: s.read_only || force_read_only,
            require_reason: s.require_reason,
            step_up_minutes: s.step_up_minutes,
            production: s.production,
            restore_objectives: (s.restore_rto_minutes, s.restore_rpo_minutes),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_settings(&ProfileSettings::default(), false)
    }
}

/// What the operator asks for: an action ([`ActionSpec`]) on a target, with parameters, before
/// any check. The target is as the operator named it (a KMS key id, key ARN or alias; a queue
/// URL); the plan resolves it to an ARN. Build it with [`Request::new`] / [`Request::of`] and
/// [`Request::param`] (a value built in code) or [`Request::input`] (text typed in a form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The action (serialised as its id, `kms.rotate_now`).
    #[serde(rename = "request")]
    pub spec: &'static ActionSpec,
    pub target: String,
    /// Parameters by [`ParamSpec::name`]; a missing one takes its default when planned.
    pub params: BTreeMap<String, ParamValue>,
}

impl Request {
    /// A request for `spec` on `target`, without parameters yet.
    pub fn new(spec: &'static ActionSpec, target: impl Into<String>) -> Request {
        Request {
            spec,
            target: target.into(),
            params: BTreeMap::new(),
        }
    }
    /// A request for the action with this id (`kms.rotate_now`).
    pub fn of(id: &str, target: impl Into<String>) -> Result<Request, GuardError> {
        actions::spec(id)
            .map(|spec| Request::new(spec, target))
            .ok_or_else(|| {
                GuardError::InvalidRequest(format!(
                    "there is no guarded action '{id}': use one of {}",
                    actions::ALL
                        .iter()
                        .map(|a| a.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
    }
    /// Sets a parameter to a value built in code (checked by [`validate`]).
    pub fn param(mut self, name: &str, value: impl Into<ParamValue>) -> Request {
        self.params.insert(name.to_string(), value.into());
        self
    }
    /// Sets a parameter from the text typed for it ([`ParamSpec::parse`]).
    pub fn input(self, name: &str, text: &str) -> Result<Request, GuardError> {
        let spec = self.param_spec(name)?;
        let value = spec
            .parse(text)
            .map_err(|message| GuardError::InvalidParam {
                param: name.to_string(),
                message,
            })?;
        Ok(self.param(name, value))
    }
    fn param_spec(&self, name: &str) -> Result<&'static ParamSpec, GuardError> {
        self.spec.param(name).ok_or_else(|| {
            GuardError::InvalidRequest(format!(
                "{} has no parameter '{name}': {}",
                self.spec.id,
                if self.spec.params.is_empty() {
                    "it takes none".to_string()
                } else {
                    format!(
                        "its parameters are {}",
                        self.spec
                            .params
                            .iter()
                            .map(|p| p.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            ))
        })
    }
    /// The API action (`kms:EnableKeyRotation`).
    pub fn action(&self) -> &'static str {
        self.spec.api_action
    }
    /// The target as the operator named it.
    pub fn target(&self) -> &str {
        &self.target
    }
    /// A parameter's value as given, else its default.
    pub fn value(&self, name: &str) -> Option<ParamValue> {
        self.params
            .get(name)
            .cloned()
            .or_else(|| self.spec.param(name).and_then(ParamSpec::default_value))
    }
}

/// Checks a request without any call: the target, the action's own checks, and every
/// parameter against its [`ParamSpec`].
pub fn validate(request: &Request) -> Result<(), GuardError> {
    let spec = request.spec;
    (spec.check_target)(request.target()).map_err(GuardError::InvalidRequest)?;
    (spec.check_request)(request)?;
    for (name, value) in &request.params {
        request
            .param_spec(name)?
            .check(value)
            .map_err(|message| GuardError::InvalidParam {
                param: name.clone(),
                message,
            })?;
    }
    Ok(())
}

/// The exact call a plan makes: the action, the resolved target ARNs and **every** parameter
/// of the call (defaults applied), which is what [`execute`] runs and the intent records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operation {
    /// The action (serialised as its id).
    #[serde(rename = "operation")]
    pub spec: &'static ActionSpec,
    pub targets: Vec<String>,
    /// By the names the audit log records them under.
    pub params: BTreeMap<String, ParamValue>,
}

impl Operation {
    /// A call of `spec` on one target ARN.
    pub fn new(spec: &'static ActionSpec, target_arn: impl Into<String>) -> Operation {
        Operation {
            spec,
            targets: vec![target_arn.into()],
            params: BTreeMap::new(),
        }
    }
    pub fn param(mut self, name: &str, value: impl Into<ParamValue>) -> Operation {
        self.params.insert(name.to_string(), value.into());
        self
    }
    /// The API action (`kms:EnableKeyRotation`).
    pub fn action(&self) -> &'static str {
        self.spec.api_action
    }
    /// The first target ARN.
    pub fn target(&self) -> &str {
        self.targets.first().map(String::as_str).unwrap_or_default()
    }
    pub fn number(&self, name: &str) -> Option<i64> {
        self.params.get(name).and_then(ParamValue::as_number)
    }
    pub fn text(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(ParamValue::as_text)
    }
    /// Makes the call, through the action's spec.
    pub async fn call(&self, cloud: &crate::cloud::Cloud) -> Result<Called, CloudError> {
        (self.spec.call)(cloud, self).await
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
    /// A plan of `operation` on `target`, made now in `session`'s place and as its identity,
    /// with the one `call` line. Its warnings start with the production one when the profile
    /// is production; the planner adds the facts, what cannot be undone, its own warnings and
    /// what to type (`confirm_text`, default the target's name).
    pub fn new(
        session: &Session,
        policy: &Policy,
        operation: Operation,
        summary: String,
        target: Target,
        call: String,
    ) -> Plan {
        let mut warnings = Vec::new();
        if policy.production {
            warnings.push(format!(
                "this is a PRODUCTION account ({}, profile {})",
                session.caller.account, session.profile
            ));
        }
        Plan {
            calls: vec![call],
            action: operation.action().to_string(),
            operation,
            summary,
            confirm_text: target.name.clone(),
            confirm_also: Vec::new(),
            targets: vec![target],
            profile: session.profile.clone(),
            account: session.caller.account.clone(),
            region: session.region.clone(),
            endpoint: session.endpoint_url.clone(),
            caller_arn: session.caller.arn.clone(),
            production: policy.production,
            facts: Vec::new(),
            irreversible: Vec::new(),
            warnings,
            planned_at: session.now(),
        }
    }

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

/// The gates every execution repeats before it writes its intent, in this order: read-only;
/// the session is the one the plan was made for (`planned_place`: profile, account, region,
/// endpoint); a reason when one is required and missing; the plan is at most `ttl` old; the
/// session is alive. One function for [`preflight`] and [`peek::execute`], so the order is
/// the same everywhere.
pub(crate) fn gates(
    session: &Session,
    policy: &Policy,
    action: &str,
    planned_place: &str,
    reason_missing: bool,
    planned_at: DateTime<Utc>,
    ttl: chrono::Duration,
) -> Result<(), GuardError> {
    read_only_gate(session, policy, action)?;
    let current = session_place(session);
    if planned_place != current {
        return Err(GuardError::SessionChanged {
            planned: planned_place.to_string(),
            current,
        });
    }
    if reason_missing {
        return Err(GuardError::ReasonRequired);
    }
    let age = session.now() - planned_at;
    if age > ttl {
        return Err(GuardError::PlanExpired {
            age_s: age.num_seconds(),
            max_minutes: ttl.num_minutes(),
        });
    }
    if session.is_expired() {
        return Err(GuardError::SessionExpired);
    }
    Ok(())
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
    gates(
        session,
        policy,
        &plan.action,
        &plan.place(),
        policy.require_reason && confirmed.reason.is_none(),
        plan.planned_at,
        chrono::Duration::minutes(PLAN_TTL_MINUTES),
    )?;
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
    (request.spec.plan)(session, policy, request).await
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
    /// What a long-running action started (follow it with [`watch::watch`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handle: Option<Handle>,
    /// The id of the intent record (its outcome record names it).
    pub intent_id: String,
    /// What the call did, in one line, as its outcome record says it (a validation's status).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Set when the outcome record could not be written (the action ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome_warning: Option<String>,
}

/// The error code recorded in an outcome: the code AWS answered with
/// ([`CloudError::code`]), or for a failure that is no AWS answer a label that is clearly not
/// an AWS code (`NetworkError`, `SessionExpired`).
pub fn error_code(e: &CloudError) -> String {
    e.recorded_code()
}

/// Records a failed call in an outcome: the code, the message and the request id (when the
/// AWS answer carried one).
pub(crate) fn record_failure(receipt: &audit::Receipt, e: &CloudError) {
    receipt.error_code(error_code(e));
    receipt.message(e.to_string());
    if let Some(id) = e.request_id() {
        receipt.request_id(id);
    }
}

/// What the intent records of a plan: the action, the target ARNs, the target's name, and
/// every parameter of the operation under its own name (generic: no action is special).
fn intent_action(plan: &Plan) -> Action {
    let mut action = Action::new(plan.action.clone());
    for t in &plan.targets {
        action = action.target(t.arn.clone());
    }
    if let [t] = plan.targets.as_slice() {
        action = action.param("name", t.name.clone());
    }
    for (name, value) in &plan.operation.params {
        action = action.param(name.clone(), value.to_json());
    }
    action
}

/// The audit intent of a confirmed plan: who (OS and AWS identity, MFA time), where, what
/// (action, target ARNs, parameters), why, how (typed name, MFA step-up).
pub fn intent(session: &Session, confirmed: &Confirmed) -> Intent {
    let plan = &confirmed.plan;
    let action = intent_action(plan);
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
            Ok(called) => {
                if !called.request_id.is_empty() {
                    receipt.request_id(called.request_id.clone());
                }
                if let Some(n) = &called.note {
                    receipt.message(n.clone());
                }
                if let Some(h) = &called.handle {
                    receipt.message(format!(
                        "started {} {} on {}; its progress and end are recorded as task records",
                        h.kind.as_str(),
                        h.id,
                        h.resource
                    ));
                }
                Ok(called)
            }
            Err(e) => {
                record_failure(&receipt, &e);
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
        Ok(called) => Ok(Executed {
            action: plan.action,
            targets: plan.targets.into_iter().map(|t| t.arn).collect(),
            summary: plan.summary,
            request_id: called.request_id,
            handle: called.handle,
            note: called.note,
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
            operation: Operation::new(
                &kms::ENABLE_ROTATION,
                "arn:aws:kms:us-east-1:123456789012:key/k1",
            )
            .param("rotation_period_in_days", 180),
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
        let req = |d| Request::enable_rotation("alias/k", Some(d));
        assert_eq!(
            validate(&req(89)),
            Err(GuardError::PeriodOutOfRange { days: 89 })
        );
        assert_eq!(
            validate(&req(2561)),
            Err(GuardError::PeriodOutOfRange { days: 2561 })
        );
        assert!(validate(&req(90)).is_ok() && validate(&req(2560)).is_ok());
        assert!(validate(&Request::enable_rotation("k", None)).is_ok());
        assert!(matches!(
            validate(&Request::rotate_now(" ")),
            Err(GuardError::InvalidRequest(_))
        ));
        assert!(
            GuardError::PeriodOutOfRange { days: 30 }
                .to_string()
                .contains("between 90 and 2,560 days")
        );
    }

    #[test]
    fn requests_are_built_from_the_registry_and_their_params_checked_by_spec() {
        let r = Request::of("kms.enable_rotation", "alias/k")
            .unwrap()
            .input("rotation_period_in_days", "")
            .unwrap();
        assert_eq!(r, Request::enable_rotation("alias/k", Some(365)));
        assert_eq!(r.action(), "kms:EnableKeyRotation");
        let e = Request::of("kms.enable_rotation", "alias/k")
            .unwrap()
            .input("rotation_period_in_days", "30")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the period must be 90 to 2,560 days (empty: 365)"
        );
        assert_eq!(e.kind(), "invalid_param");
        let e = Request::of("kms.nope", "k").unwrap_err();
        assert!(
            e.to_string().contains("use one of kms.enable_rotation"),
            "{e}"
        );
        // A parameter the action does not take, or of the wrong kind, is refused by name.
        let e = validate(&Request::rotate_now("alias/k").param("rotation_period_in_days", 90))
            .unwrap_err();
        assert!(e.to_string().contains("it takes none"), "{e}");
        let e = validate(
            &Request::enable_rotation("alias/k", None).param("rotation_period_in_days", "x"),
        )
        .unwrap_err();
        assert!(
            matches!(&e, GuardError::InvalidParam { param, .. } if param == "rotation_period_in_days"),
            "{e:?}"
        );
        // A request serialises with its action's id.
        let v = serde_json::to_value(Request::rotate_now("alias/k")).unwrap();
        assert_eq!(
            (v["request"].as_str(), v["target"].as_str()),
            (Some("kms.rotate_now"), Some("alias/k"))
        );
    }

    #[test]
    fn the_intent_records_every_parameter_of_the_operation() {
        let mut p = plan();
        p.operation = Operation::new(
            &sqs::START_MOVE_TASK,
            "arn:aws:sqs:us-east-1:123456789012:q-dlq",
        )
        .param("max_messages_per_second", 7);
        let what = intent_action(&p);
        assert_eq!(what.params.len(), 2, "{what:?}");
        let p = plan();
        let what = intent_action(&p);
        assert_eq!(
            what.params.get("rotation_period_in_days"),
            Some(&audit::record::ParamValue::Plain(180.into()))
        );
        let p2 = {
            let mut p = plan();
            p.operation = p.operation.param("max_messages_per_second", 7);
            p
        };
        assert_eq!(
            intent_action(&p2).params.get("max_messages_per_second"),
            Some(&audit::record::ParamValue::Plain(7.into()))
        );
    }

    #[test]
    fn the_plan_serialises_with_its_operation() {
        let v = serde_json::to_value(plan()).unwrap();
        assert_eq!(v["operation"]["operation"], "kms.enable_rotation");
        assert_eq!(v["operation"]["params"]["rotation_period_in_days"], 180);
        assert_eq!(
            v["operation"]["targets"][0],
            "arn:aws:kms:us-east-1:123456789012:key/k1"
        );
        assert_eq!(v["targets"][0]["name"], "alias/claims-costs");
        assert!(v["planned_at"].as_str().unwrap().ends_with('Z'));
    }
}
