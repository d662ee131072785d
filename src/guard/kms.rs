//! KMS key rotation, the first guarded actions: enable automatic rotation with a period (or
//! change the period: the same call), disable it, rotate on demand. The pre-checks are a pure
//! function of the key's live state ([`checks`]), so each refusal is explained before any
//! change is attempted.

use super::action::{ActionSpec, CallFuture, Called, ParamKind, ParamSpec};
use super::{Check, Fact, GuardError, Operation, Plan, Policy, Refusal, Request, Target};
use crate::cloud::Cloud;
use crate::cloud::kms::{
    DEFAULT_ROTATION_PERIOD_DAYS, Key, MAX_ROTATION_PERIOD_DAYS, MIN_ROTATION_PERIOD_DAYS,
    ON_DEMAND_ROTATION_QUOTA,
};
use crate::session::Session;
use chrono::{DateTime, Duration, Utc};

const KEY_TARGET: &str = "KMS key: alias (alias/claims-costs), key id or key ARN";

/// The automatic rotation period (`RotationPeriodInDays`), recorded as
/// `rotation_period_in_days`.
pub const PERIOD: ParamSpec = ParamSpec {
    name: "rotation_period_in_days",
    label: "period",
    kind: ParamKind::Number {
        min: MIN_ROTATION_PERIOD_DAYS as i64,
        max: MAX_ROTATION_PERIOD_DAYS as i64,
        unit: " days",
    },
    default: Some("365"),
    help: "days between automatic rotations, 90 to 2,560 (empty: 365)",
};

/// `kms:EnableKeyRotation`: turn on automatic rotation, or change its period (the same call).
pub static ENABLE_ROTATION: ActionSpec = ActionSpec {
    id: "kms.enable_rotation",
    api_action: "kms:EnableKeyRotation",
    title: "enable automatic rotation (or change its period)",
    target: KEY_TARGET,
    params: &[PERIOD],
    long_running: false,
    check_target,
    check_request: check_period,
    plan: |s, p, r| Box::pin(plan(s, p, r)),
    call: call_enable,
};

/// `kms:DisableKeyRotation`: turn off automatic rotation.
pub static DISABLE_ROTATION: ActionSpec = ActionSpec {
    id: "kms.disable_rotation",
    api_action: "kms:DisableKeyRotation",
    title: "disable automatic rotation",
    target: KEY_TARGET,
    params: &[],
    long_running: false,
    check_target,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan(s, p, r)),
    call: call_disable,
};

/// `kms:RotateKeyOnDemand`: rotate the key material now (KMS finishes it within minutes; its
/// end shows in the key's rotation history, so it is not watched).
pub static ROTATE_NOW: ActionSpec = ActionSpec {
    id: "kms.rotate_now",
    api_action: "kms:RotateKeyOnDemand",
    title: "rotate the key material now (on demand)",
    target: KEY_TARGET,
    params: &[],
    long_running: false,
    check_target,
    check_request: super::action::no_request_checks,
    plan: |s, p, r| Box::pin(plan(s, p, r)),
    call: call_rotate_now,
};

impl Request {
    /// Turn on automatic rotation of `key`, or change its period. `None`: 365 days.
    pub fn enable_rotation(key: impl Into<String>, period_days: Option<i32>) -> Request {
        let r = Request::new(&ENABLE_ROTATION, key);
        match period_days {
            Some(d) => r.param(PERIOD.name, d),
            None => r,
        }
    }
    /// Turn off automatic rotation of `key`.
    pub fn disable_rotation(key: impl Into<String>) -> Request {
        Request::new(&DISABLE_ROTATION, key)
    }
    /// Rotate the key material of `key` now.
    pub fn rotate_now(key: impl Into<String>) -> Request {
        Request::new(&ROTATE_NOW, key)
    }
}

fn check_target(key: &str) -> Result<(), String> {
    crate::validate::kms_key(key).map(|_| ()).map_err(|e| e.0)
}

/// A period outside what KMS accepts is refused with its own error
/// ([`GuardError::PeriodOutOfRange`]), before any call.
fn check_period(request: &Request) -> Result<(), GuardError> {
    if let Some(days) = request.params.get(PERIOD.name).and_then(|v| v.as_number())
        && !(i64::from(MIN_ROTATION_PERIOD_DAYS)..=i64::from(MAX_ROTATION_PERIOD_DAYS))
            .contains(&days)
    {
        return Err(GuardError::PeriodOutOfRange {
            days: i32::try_from(days).unwrap_or(if days < 0 { i32::MIN } else { i32::MAX }),
        });
    }
    Ok(())
}

fn period_of(op: &Operation) -> i32 {
    op.number(PERIOD.name)
        .and_then(|d| i32::try_from(d).ok())
        .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS)
}

fn call_enable<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move {
        let id = cloud
            .enable_key_rotation(op.target(), period_of(op))
            .await?;
        Ok(Called::done(id))
    })
}

fn call_disable<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move { Ok(Called::done(cloud.disable_key_rotation(op.target()).await?)) })
}

fn call_rotate_now<'a>(cloud: &'a Cloud, op: &'a Operation) -> CallFuture<'a> {
    Box::pin(async move { Ok(Called::done(cloud.rotate_key_on_demand(op.target()).await?)) })
}

/// Which rotation change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Enable automatic rotation, or change its period.
    Enable {
        period_days: i32,
    },
    Disable,
    OnDemand,
}

impl Change {
    /// The change a request of one of this module's actions asks for.
    pub fn of(request: &Request) -> Change {
        if *request.spec == ENABLE_ROTATION {
            Change::Enable {
                period_days: request
                    .value(PERIOD.name)
                    .and_then(|v| v.as_number())
                    .and_then(|d| i32::try_from(d).ok())
                    .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS),
            }
        } else if *request.spec == DISABLE_ROTATION {
            Change::Disable
        } else {
            Change::OnDemand
        }
    }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "never".into())
}

/// The pre-checks of a rotation change against the key's live state; empty when it may run.
pub fn checks(key: &Key, change: Change) -> Vec<Refusal> {
    let name = key.display_name();
    let mut out = Vec::new();
    if !key.customer_managed {
        out.push(Refusal::new(
            Check::AwsManaged,
            format!(
                "{name} is an AWS managed key: AWS rotates it every year, and its rotation cannot be changed or triggered by anyone; use a customer managed key where you need control over rotation"
            ),
        ));
        return out;
    }
    if key.spec != "SYMMETRIC_DEFAULT" {
        out.push(Refusal::new(
            Check::NotSymmetric,
            format!(
                "{name} has key spec {}: KMS rotates only symmetric encryption keys (SYMMETRIC_DEFAULT); asymmetric and HMAC keys cannot be rotated — create a new key and move the alias instead",
                key.spec
            ),
        ));
    }
    if key.origin == "EXTERNAL" {
        out.push(Refusal::new(
            Check::ImportedMaterial,
            format!("{name} has imported key material (origin EXTERNAL), which KMS cannot rotate; rotate it manually (new key, move the alias)"),
        ));
    }
    if let Some(store) = &key.custom_key_store {
        out.push(Refusal::new(
            Check::CustomKeyStore,
            format!("{name} is in the custom key store {store}; KMS cannot rotate keys in a custom key store"),
        ));
    }
    match key.state.as_str() {
        "Enabled" => {}
        "Disabled" => out.push(Refusal::new(
            Check::Disabled,
            format!("{name} is disabled: enable it first (kms:EnableKey), then change its rotation"),
        )),
        "PendingDeletion" => out.push(Refusal::new(
            Check::PendingDeletion,
            format!(
                "{name} is pending deletion{}: its rotation cannot be changed; cancel the deletion and enable the key first if it is still needed",
                key.deletion_date.map(|d| format!(" (scheduled for {})", day(d))).unwrap_or_default()
            ),
        )),
        "PendingImport" => out.push(Refusal::new(
            Check::PendingImport,
            format!("{name} is waiting for its key material to be imported; it cannot be rotated"),
        )),
        other => out.push(Refusal::new(
            Check::NotEnabled,
            format!("{name} is in state {other}; it must be Enabled to change its rotation"),
        )),
    }
    if change == Change::OnDemand && out.is_empty() {
        let used = key.on_demand_used();
        if used >= ON_DEMAND_ROTATION_QUOTA {
            out.push(Refusal::new(
                Check::OnDemandQuota,
                format!(
                    "{name} has used {used} of its {ON_DEMAND_ROTATION_QUOTA} on-demand rotations (a lifetime quota per key): no more are possible; automatic rotation is still available"
                ),
            ));
        }
        if let Some(started) = key.rotation.as_ref().and_then(|r| r.on_demand_started) {
            out.push(Refusal::new(
                Check::RotationInProgress,
                format!("an on-demand rotation of {name} is already in progress (started {}); wait for it to finish", when(Some(started))),
            ));
        }
    }
    out
}

/// When KMS is expected to rotate next after enabling rotation with `period` days: from the
/// last rotation when rotation is already on (a period change), else from now; never sooner
/// than a day.
fn expected_next(key: &Key, period: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let enabled = key.rotation.as_ref().is_some_and(|r| r.enabled);
    let anchor = if enabled {
        key.last_rotation().or(key.created).unwrap_or(now)
    } else {
        now
    };
    let next = anchor + Duration::days(i64::from(period));
    if next <= now {
        now + Duration::days(1)
    } else {
        next
    }
}

/// Reads the key, runs the pre-checks and builds the plan.
pub(crate) async fn plan(
    session: &Session,
    policy: &Policy,
    request: &Request,
) -> Result<Plan, GuardError> {
    let target = request.target().trim().to_string();
    let key = session
        .cloud()
        .key(&target)
        .await
        .map_err(|error| GuardError::LiveState {
            target: target.clone(),
            error,
        })?;
    let change = Change::of(request);
    let refusals = checks(&key, change);
    if !refusals.is_empty() {
        return Err(GuardError::Refused {
            action: request.action().to_string(),
            target: key.display_name().to_string(),
            refusals,
        });
    }
    Ok(build(&key, change, session, policy))
}

/// The plan of an allowed change (pre-checks passed).
pub fn build(key: &Key, change: Change, session: &Session, policy: &Policy) -> Plan {
    let name = key.display_name().to_string();
    let now = session.now();
    let rotation = key.rotation.clone();
    let enabled = rotation.as_ref().is_some_and(|r| r.enabled);
    let period = rotation.as_ref().and_then(|r| r.period_days);
    let used = key.on_demand_used();

    let mut facts = vec![
        Fact {
            label: "key".into(),
            value: format!(
                "{} ({})",
                key.arn,
                if key.description.is_empty() {
                    "no description"
                } else {
                    &key.description
                }
            ),
        },
        Fact {
            label: "state".into(),
            value: key.state.clone(),
        },
        Fact {
            label: "automatic rotation".into(),
            value: match (enabled, period) {
                (true, Some(p)) => format!(
                    "on, every {p} days, next {}",
                    when(rotation.as_ref().and_then(|r| r.next))
                ),
                (true, None) => "on".into(),
                _ => "off".into(),
            },
        },
        Fact {
            label: "last rotation".into(),
            value: when(key.last_rotation()),
        },
        Fact {
            label: "on-demand rotations used".into(),
            value: format!("{used} of {ON_DEMAND_ROTATION_QUOTA}"),
        },
    ];
    let mut warnings = Vec::new();
    let mut irreversible = Vec::new();
    let (operation, summary) = match change {
        Change::Enable { period_days } => {
            let next = expected_next(key, period_days, now);
            facts.push(Fact {
                label: "expected next rotation after the change".into(),
                value: day(next),
            });
            if enabled && period == Some(period_days) {
                warnings.push(format!("automatic rotation is already on every {period_days} days: this call changes nothing"));
            }
            irreversible.push(format!(
                "every rotation that happens while rotation is on (the first expected {}) is permanent: new key material becomes current for encryption, and older material is kept to decrypt",
                day(next)
            ));
            let summary = if enabled {
                format!(
                    "change the automatic rotation period of {name} from {} to {period_days} days",
                    period.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
                )
            } else {
                format!("enable automatic rotation of {name} every {period_days} days")
            };
            (
                Operation::new(&ENABLE_ROTATION, key.arn.clone()).param(PERIOD.name, period_days),
                summary,
            )
        }
        Change::Disable => {
            warnings.push(format!(
                "{name} will no longer rotate: its key material stays the same until rotation is turned on again or it is rotated on demand; compliance posture (HIPAA key management, AWS Security Hub KMS.4 / CIS) expects automatic rotation of customer managed keys, so this key will be reported as non-compliant"
            ));
            if !enabled {
                warnings
                    .push("automatic rotation is already off: this call changes nothing".into());
            }
            (
                Operation::new(&DISABLE_ROTATION, key.arn.clone()),
                format!("disable automatic rotation of {name}"),
            )
        }
        Change::OnDemand => {
            irreversible.push(
                "the rotation itself: new key material becomes current for encryption at once and cannot be removed (older material is kept to decrypt)"
                    .into(),
            );
            irreversible.push(format!(
                "it uses one of the {ON_DEMAND_ROTATION_QUOTA} on-demand rotations KMS allows per key for its lifetime ({used} used, {} after this)",
                used + 1
            ));
            let left = ON_DEMAND_ROTATION_QUOTA.saturating_sub(used + 1);
            if left <= 2 {
                warnings.push(format!(
                    "after this rotation only {left} on-demand rotation(s) remain for {name}, ever"
                ));
            }
            if enabled {
                warnings.push("the automatic rotation schedule does not change".into());
            }
            (
                Operation::new(&ROTATE_NOW, key.arn.clone()),
                format!("rotate the key material of {name} now (on demand)"),
            )
        }
    };
    let (confirm_text, confirm_also) = match name.strip_prefix("alias/") {
        Some(short) if short.chars().count() >= 3 => (short.to_string(), vec![name.clone()]),
        Some(_) => (name.clone(), Vec::new()),
        None => (key.id.clone(), vec![key.arn.clone()]),
    };
    let call = format!(
        "{} on {}{}",
        operation.action(),
        key.arn,
        match operation.number(PERIOD.name) {
            Some(days) => format!(" (RotationPeriodInDays={days})"),
            None => String::new(),
        }
    );
    let target = Target {
        arn: key.arn.clone(),
        name: name.clone(),
    };
    let mut plan = Plan::new(session, policy, operation, summary, target, call);
    plan.facts = facts;
    plan.irreversible = irreversible;
    plan.warnings.extend(warnings);
    plan.confirm_text = confirm_text;
    plan.confirm_also = confirm_also;
    plan.planned_at = now;
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::kms::KeyRotation;

    fn key() -> Key {
        crate::cloud::kms::sample_key()
    }

    fn kinds(k: &Key, c: Change) -> Vec<Check> {
        checks(k, c).into_iter().map(|r| r.check).collect()
    }

    #[test]
    fn each_check_refuses_with_a_reason() {
        assert!(checks(&key(), Change::OnDemand).is_empty());
        let mut k = key();
        k.customer_managed = false;
        assert_eq!(kinds(&k, Change::Disable), [Check::AwsManaged]);
        let mut k = key();
        k.spec = "HMAC_256".into();
        assert_eq!(
            kinds(&k, Change::Enable { period_days: 365 }),
            [Check::NotSymmetric]
        );
        let mut k = key();
        k.origin = "EXTERNAL".into();
        k.custom_key_store = Some("cks-1".into());
        assert_eq!(
            kinds(&k, Change::OnDemand),
            [Check::ImportedMaterial, Check::CustomKeyStore]
        );
        let mut k = key();
        k.state = "Disabled".into();
        assert_eq!(kinds(&k, Change::OnDemand), [Check::Disabled]);
        assert!(
            checks(&k, Change::OnDemand)[0]
                .message
                .contains("enable it first")
        );
        let mut k = key();
        k.rotations = (0..ON_DEMAND_ROTATION_QUOTA)
            .map(|_| KeyRotation {
                date: None,
                on_demand: true,
            })
            .collect();
        assert_eq!(kinds(&k, Change::OnDemand), [Check::OnDemandQuota]);
        assert!(
            checks(&k, Change::Enable { period_days: 90 }).is_empty(),
            "the quota limits on-demand rotations only"
        );
        let mut k = key();
        k.rotation.as_mut().unwrap().on_demand_started = Some(Utc::now());
        assert_eq!(kinds(&k, Change::OnDemand), [Check::RotationInProgress]);
    }

    #[test]
    fn the_next_rotation_is_expected_from_the_last_one_when_rotation_is_on() {
        let now = Utc::now();
        let mut k = key();
        assert_eq!(expected_next(&k, 180, now), now + Duration::days(180));
        k.rotation.as_mut().unwrap().enabled = true;
        k.rotations = vec![KeyRotation {
            date: Some(now - Duration::days(100)),
            on_demand: false,
        }];
        assert_eq!(expected_next(&k, 180, now), now + Duration::days(80));
        assert_eq!(expected_next(&k, 90, now), now + Duration::days(1));
    }
}
