//! The record written on each line of the log, and the input types callers build records from.
//!
//! Stored types (`Record`, `Who`, `Where`, `What`, …) mirror the JSON format of docs/AUDIT.md.
//! Input types (`Action`, `Intent`, `Reveal`, `Outcome`) are what the console builds; the
//! writer turns them into records, replacing sensitive parameters by keyed hashes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// The format version written in every record's `v`.
pub const FORMAT_VERSION: u64 = 1;

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An action the operator confirmed, written before it runs.
    Intent,
    /// How an intent ended.
    Outcome,
    /// Session start/end, profile switch, MFA step-up, idle lock/unlock.
    Session,
    /// A message body (or other possibly-PHI value) was shown to the operator.
    Reveal,
    /// A MAC over the chain head by a [`Sealer`](super::Sealer).
    Seal,
    /// An event of something a guarded action started that runs on after its call (a message
    /// move task, a restore job): `start`, then `finish`, `cancel` or `stopped`; linked to the
    /// intent by `intent_id`.
    Task,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Intent => "intent",
            Kind::Outcome => "outcome",
            Kind::Session => "session",
            Kind::Reveal => "reveal",
            Kind::Seal => "seal",
            Kind::Task => "task",
        }
    }
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Format version ([`FORMAT_VERSION`]).
    pub v: u64,
    /// 1 for the first record, +1 for each following one.
    pub seq: u64,
    /// A random UUID.
    pub id: String,
    /// UTC, RFC 3339 with milliseconds and `Z`.
    pub time: String,
    pub kind: Kind,
    /// For `session` and `reveal` records: what happened (`start`, `end`, `profile_switch`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// For `outcome` records: the `id` of the intent this answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub who: Option<Who>,
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Where>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<What>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<Why>,
    /// How the operator confirmed (typed name, MFA step-up, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub how: Vec<Confirmation>,
    /// AWS request ids of the calls the action made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<OutcomeRecord>,
    /// Extra facts of a session record (e.g. the profile switched from). No PHI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<SealRecord>,
    /// The previous record's `hash` ([`GENESIS_HASH`](super::GENESIS_HASH) for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of this record's canonical form without `hash`.
    pub hash: String,
}

impl Record {
    /// The action name, for intents, outcomes and reveals.
    pub fn action(&self) -> Option<&str> {
        self.what.as_ref().map(|w| w.action.as_str())
    }
}

/// Who acted: the OS identity (from the kernel and environment) and the AWS identity.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Who {
    /// OS user name (from the password database for `uid`, else `$USER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The audit login uid (`/proc/self/loginuid`): who logged in, even after `sudo`/`su`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// `$SSH_CLIENT` (client address, client port, server port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_client: Option<String>,
    /// `$SSH_CONNECTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_connection: Option<String>,
    /// The controlling terminal (e.g. `/dev/pts/3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// `GetCallerIdentity` ARN of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_used: Option<bool>,
    /// When MFA was last entered (RFC 3339); the writer derives `mfa_age_s` from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_at: Option<String>,
    /// Seconds between `mfa_at` and the record's `time`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_age_s: Option<i64>,
}

impl Who {
    /// Sets the AWS identity of the session.
    pub fn with_aws(
        mut self,
        caller_arn: impl Into<String>,
        source_identity: Option<String>,
    ) -> Self {
        self.caller_arn = Some(caller_arn.into());
        self.source_identity = source_identity;
        self
    }

    /// Records that MFA was used, entered at `at`.
    pub fn with_mfa(mut self, at: chrono::DateTime<chrono::Utc>) -> Self {
        self.mfa_used = Some(true);
        self.mfa_at = Some(super::writer::format_time(at));
        self
    }
}

/// Where the action went.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Where {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The endpoint URL when it is not AWS's default (the emulator, a VPC endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

impl Where {
    pub fn new(
        profile: impl Into<String>,
        account: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Where {
            profile: Some(profile.into()),
            account: Some(account.into()),
            region: Some(region.into()),
            endpoint: None,
        }
    }
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }
}

/// What was done, as stored: sensitive parameters are already `hmac-sha256:<hex>`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct What {
    /// `service:Operation` or a console action name (e.g. `sqs:PurgeQueue`).
    pub action: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
}

/// Why: the operator's reason and change ticket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Why {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

impl Why {
    pub fn reason(reason: impl Into<String>) -> Self {
        Why {
            reason: Some(reason.into()),
            ticket: None,
        }
    }
    pub fn ticket(mut self, ticket: impl Into<String>) -> Self {
        self.ticket = Some(ticket.into());
        self
    }
    fn is_empty(&self) -> bool {
        self.reason.is_none() && self.ticket.is_none()
    }
}

/// One step of how the operator confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// `typed_name`, `mfa_step_up`, `keypress`, …
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Confirmation {
    /// The operator typed the target's name.
    pub fn typed_name(name: impl Into<String>) -> Self {
        Confirmation {
            method: "typed_name".into(),
            detail: Some(name.into()),
        }
    }
    /// The operator re-entered an MFA code.
    pub fn mfa_step_up() -> Self {
        Confirmation {
            method: "mfa_step_up".into(),
            detail: None,
        }
    }
    /// The operator pressed a confirmation key.
    pub fn keypress(key: impl Into<String>) -> Self {
        Confirmation {
            method: "keypress".into(),
            detail: Some(key.into()),
        }
    }
    pub fn other(method: impl Into<String>, detail: Option<String>) -> Self {
        Confirmation {
            method: method.into(),
            detail,
        }
    }
}

/// How an intent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Succeeded,
    Failed,
    /// The operator (or the console) called it off after the intent was recorded.
    Cancelled,
    /// The console stopped (panic, task cancelled, crash found at the next start) mid-action:
    /// whether the action took effect is unknown.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Interrupted => "interrupted",
        }
    }
}

/// The stored outcome of an intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// A short message; never PHI (callers pass AWS error codes/messages, not payloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// The stored seal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealRecord {
    /// The key that made the MAC: a KMS key ARN (as KMS names it in its answer), or
    /// `local-hmac:<fingerprint>`. Only a label: verification checks the MAC with the key the
    /// verifier trusts, never with a key the log names.
    pub key_id: String,
    /// Always `HMAC_SHA_256`.
    pub alg: String,
    /// The sealed chain head: equal to this record's `prev_hash`.
    pub head: String,
    /// Base64 of the MAC over [`seal_message`](super::seal::seal_message)`(head)`.
    pub mac: String,
    /// The AWS request id of the KMS `GenerateMac` call that made the MAC: CloudTrail records
    /// the call under this id, which is what `audit verify --witness cloudtrail` matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A parameter value as the caller supplies it.
#[derive(Clone, PartialEq)]
pub enum ParamValue {
    /// Stored as is (no PHI).
    Plain(Value),
    /// Stored as `hmac-sha256:<hex>` under the log's parameter key; the plaintext never reaches
    /// the file.
    Sensitive(Vec<u8>),
}

impl fmt::Debug for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Plain(v) => write!(f, "Plain({v})"),
            ParamValue::Sensitive(b) => write!(f, "Sensitive(<{} bytes redacted>)", b.len()),
        }
    }
}

/// What the operator asked for, as the console builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub name: String,
    pub targets: Vec<String>,
    pub params: BTreeMap<String, ParamValue>,
}

impl Action {
    /// `name` is `service:Operation` or a console action (e.g. `sqs:PurgeQueue`).
    pub fn new(name: impl Into<String>) -> Self {
        Action {
            name: name.into(),
            targets: Vec::new(),
            params: BTreeMap::new(),
        }
    }
    /// Adds a target ARN.
    pub fn target(mut self, arn: impl Into<String>) -> Self {
        self.targets.push(arn.into());
        self
    }
    /// Adds a parameter stored as is. It must not carry PHI.
    pub fn param(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.params
            .insert(name.into(), ParamValue::Plain(value.into()));
        self
    }
    /// Adds a parameter that may carry PHI (a message body, an attribute value): only its
    /// keyed hash is stored.
    pub fn sensitive(mut self, name: impl Into<String>, value: impl AsRef<[u8]>) -> Self {
        self.params
            .insert(name.into(), ParamValue::Sensitive(value.as_ref().to_vec()));
        self
    }
}

/// An intent: the action with the who/where/why/how of its confirmation. `who` and `place`
/// default to the log's context ([`AuditLog::set_context`](super::AuditLog::set_context)).
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    pub action: Action,
    pub who: Option<Who>,
    pub place: Option<Where>,
    pub why: Why,
    pub how: Vec<Confirmation>,
}

impl Intent {
    pub fn new(action: Action) -> Self {
        Intent {
            action,
            who: None,
            place: None,
            why: Why::default(),
            how: Vec::new(),
        }
    }
    pub fn why(mut self, why: Why) -> Self {
        self.why = why;
        self
    }
    pub fn confirmed(mut self, how: Confirmation) -> Self {
        self.how.push(how);
        self
    }
    pub fn who(mut self, who: Who) -> Self {
        self.who = Some(who);
        self
    }
    pub fn place(mut self, place: Where) -> Self {
        self.place = Some(place);
        self
    }
    pub(crate) fn why_opt(&self) -> Option<Why> {
        (!self.why.is_empty()).then(|| self.why.clone())
    }
}

/// A session event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    Start,
    End,
    ProfileSwitch,
    MfaStepUp,
    IdleLock,
    IdleUnlock,
}

impl SessionEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEvent::Start => "start",
            SessionEvent::End => "end",
            SessionEvent::ProfileSwitch => "profile_switch",
            SessionEvent::MfaStepUp => "mfa_step_up",
            SessionEvent::IdleLock => "idle_lock",
            SessionEvent::IdleUnlock => "idle_unlock",
        }
    }
}

/// What happened to a long-running task a guarded action started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    /// The console follows it (the handle AWS gave).
    Start,
    /// It ended by itself (`details.final_state`: completed, failed, …).
    Finish,
    /// The operator called it off (the cancel call's request id; the final state).
    Cancel,
    /// The console stopped following it before its end (the state last seen).
    Stopped,
}

impl TaskEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEvent::Start => "start",
            TaskEvent::Finish => "finish",
            TaskEvent::Cancel => "cancel",
            TaskEvent::Stopped => "stopped",
        }
    }
}

/// A task record as the console builds it: the intent that started the task, the event, the
/// action and the resource the task works on, request ids of calls about it (a cancel), and
/// `details` (the handle, the state; no PHI).
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub intent_id: String,
    pub event: TaskEvent,
    pub action: Action,
    pub request_ids: Vec<String>,
    pub details: Value,
}

/// A reveal of a value that may be PHI, recorded before it is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Reveal {
    /// `message_body`, `message_attribute`, …
    pub event: String,
    /// What is revealed: e.g. `sqs:ReceiveMessage` on the queue ARN, with the message id.
    pub action: Action,
    pub why: Why,
    pub how: Vec<Confirmation>,
}

impl Reveal {
    /// The body of a message is shown.
    pub fn message_body(action: Action) -> Self {
        Reveal {
            event: "message_body".into(),
            action,
            why: Why::default(),
            how: Vec::new(),
        }
    }
    pub fn event(event: impl Into<String>, action: Action) -> Self {
        Reveal {
            event: event.into(),
            action,
            why: Why::default(),
            how: Vec::new(),
        }
    }
    pub fn why(mut self, why: Why) -> Self {
        self.why = why;
        self
    }
    pub fn confirmed(mut self, how: Confirmation) -> Self {
        self.how.push(how);
        self
    }
}

/// How an action ended, as the caller reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub request_ids: Vec<String>,
}

impl Outcome {
    fn with_status(status: Status) -> Self {
        Outcome {
            status,
            error_code: None,
            message: None,
            request_ids: Vec::new(),
        }
    }
    pub fn succeeded() -> Self {
        Outcome::with_status(Status::Succeeded)
    }
    /// Failed with an error code (an AWS error code such as `AccessDenied`).
    pub fn failed(code: impl Into<String>) -> Self {
        Outcome {
            error_code: Some(code.into()),
            ..Outcome::with_status(Status::Failed)
        }
    }
    pub fn cancelled() -> Self {
        Outcome::with_status(Status::Cancelled)
    }
    pub fn interrupted() -> Self {
        Outcome::with_status(Status::Interrupted)
    }
    /// A short message without PHI.
    pub fn message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_ids.push(id.into());
        self
    }
}
