//! STS: caller identity, MFA-backed session tokens and role assumption (awsQuery).

use super::Ctx;
use crate::emulator::crypto::{totp_at_step, totp_step};
use crate::emulator::error::{ApiError, ApiResult};
use crate::emulator::util::{iso8601, random_bytes};
use crate::emulator::wire::query::Params;
use crate::emulator::wire::xml::Xml;
use crate::emulator::world::{Caller, CallerKind, TempCredentials, World};
use chrono::Duration;

pub fn handle(w: &mut World, ctx: &Ctx, op: &str, p: &Params) -> ApiResult<Xml> {
    match op {
        "GetCallerIdentity" => Ok(Xml::node()
            .with_text("Arn", &ctx.caller.arn)
            .with_text("UserId", &ctx.caller.principal_id)
            .with_text("Account", &ctx.caller.account)),
        "GetSessionToken" => get_session_token(w, ctx, p),
        "AssumeRole" => assume_role(w, ctx, p),
        _ => Err(ApiError::client(
            "InvalidAction",
            format!("Could not find operation {op} for version 2011-06-15"),
        )),
    }
}

fn validation(msg: impl Into<String>) -> ApiError {
    ApiError::client("ValidationError", msg)
}

fn access_denied(msg: impl Into<String>) -> ApiError {
    ApiError::new(403, "AccessDenied", msg)
}

fn duration(p: &Params, default: i64, min: i64, max: i64) -> ApiResult<i64> {
    let d = p.int("DurationSeconds")?.unwrap_or(default);
    if d < min {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        )));
    }
    if d > max {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(d)
}

/// Checks an MFA code against a device the user owns; records the step so it cannot be reused.
fn check_mfa(
    w: &mut World,
    ctx: &Ctx,
    user: Option<&str>,
    serial: &str,
    code: Option<&str>,
) -> ApiResult<()> {
    let code = code.ok_or_else(|| {
        access_denied(
            "MultiFactorAuthentication failed: a TokenCode is required with SerialNumber.",
        )
    })?;
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(validation(format!(
            "1 validation error detected: Value '{code}' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]* and have length 6"
        )));
    }
    let device = w.iam.mfa_devices.get_mut(serial).filter(|d| user.is_none_or(|u| u == d.user)).ok_or_else(|| {
        access_denied("MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA serial number is valid and associated with this user.")
    })?;
    let now_step = totp_step(ctx.now.timestamp());
    // One step of clock skew either way, as AWS tolerates.
    let matched = [now_step.saturating_sub(1), now_step, now_step + 1]
        .into_iter()
        .find(|s| totp_at_step(&device.seed, *s) == code);
    match matched {
        None => Err(access_denied(
            "MultiFactorAuthentication failed with invalid MFA one time pass code.",
        )),
        Some(step) if device.last_step_used.is_some_and(|last| step <= last) => Err(access_denied(
            "MultiFactorAuthentication failed, the MFA one time pass code has already been used. Wait for the next code.",
        )),
        Some(step) => {
            device.last_step_used = Some(step);
            Ok(())
        }
    }
}

fn issue(w: &mut World, caller: Caller, expires: chrono::DateTime<chrono::Utc>) -> TempCredentials {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let kb = random_bytes::<16>();
    let access_key = format!(
        "ASIA{}",
        kb.iter()
            .map(|b| ALNUM[(*b as usize) % 32] as char)
            .collect::<String>()
    );
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let secret = b64.encode(random_bytes::<30>());
    let token = format!("IQoJb3JpZ2luX2VtEMU{}", b64.encode(random_bytes::<96>()));
    let mut caller = caller;
    caller.access_key = access_key.clone();
    let creds = TempCredentials {
        access_key: access_key.clone(),
        secret,
        token,
        expires,
        caller,
    };
    w.iam.sessions.insert(access_key, creds.clone());
    creds
}

fn credentials_xml(c: &TempCredentials) -> Xml {
    Xml::node()
        .with_text("AccessKeyId", &c.access_key)
        .with_text("SecretAccessKey", &c.secret)
        .with_text("SessionToken", &c.token)
        .with_text("Expiration", iso8601(c.expires))
}

fn get_session_token(w: &mut World, ctx: &Ctx, p: &Params) -> ApiResult<Xml> {
    let user = match &ctx.caller.kind {
        CallerKind::IamUser { user } => user.clone(),
        _ => {
            return Err(access_denied(
                "Cannot call GetSessionToken with session credentials",
            ));
        }
    };
    let secs = duration(p, 43_200, 900, 129_600)?;
    let mut mfa = false;
    if let Some(serial) = p.get("SerialNumber") {
        check_mfa(w, ctx, Some(&user), serial, p.get("TokenCode"))?;
        mfa = true;
    }
    let mut caller = ctx.caller.clone();
    caller.kind = CallerKind::SessionToken { user };
    caller.mfa_authenticated = mfa;
    caller.session_created = Some(ctx.now);
    let creds = issue(w, caller, ctx.now + Duration::seconds(secs));
    Ok(Xml::node().with("Credentials", credentials_xml(&creds)))
}

fn valid_name(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@-_".contains(c))
}

fn assume_role(w: &mut World, ctx: &Ctx, p: &Params) -> ApiResult<Xml> {
    let role_arn = p.req("RoleArn")?.to_string();
    let session_name = p.req("RoleSessionName")?.to_string();
    if !valid_name(&session_name, 2, 64) {
        return Err(validation(format!(
            "1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length between 2 and 64"
        )));
    }
    let source_identity = p.get("SourceIdentity").map(str::to_string);
    if let Some(si) = &source_identity
        && (!valid_name(si, 2, 64) || si.starts_with("aws:"))
    {
        return Err(validation(format!(
            "Value '{si}' at 'sourceIdentity' is not a valid source identity"
        )));
    }
    let role = w
        .iam
        .roles
        .values()
        .find(|r| r.arn == role_arn)
        .cloned()
        .ok_or_else(|| {
            access_denied(format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                ctx.caller.arn
            ))
        })?;
    let chained = matches!(ctx.caller.kind, CallerKind::AssumedRole { .. });
    let requested = p.int("DurationSeconds")?;
    if chained && requested.is_some_and(|d| d > 3600) {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if requested.is_some_and(|d| d > role.max_session_duration) {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    let secs = duration(p, 3600, 900, 43_200)?;
    let mut mfa = ctx.caller.mfa_authenticated;
    if let Some(serial) = p.get("SerialNumber") {
        let user = match &ctx.caller.kind {
            CallerKind::IamUser { user } | CallerKind::SessionToken { user } => Some(user.clone()),
            CallerKind::AssumedRole { .. } => None,
        };
        check_mfa(w, ctx, user.as_deref(), serial, p.get("TokenCode"))?;
        mfa = true;
    }
    if role.mfa_required && !mfa {
        return Err(access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn} (the role's trust policy requires MFA)",
            ctx.caller.arn
        )));
    }
    // A source identity, once set, carries through role chaining and cannot be changed.
    let source_identity = match (&ctx.caller.source_identity, source_identity) {
        (Some(existing), Some(new)) if *existing != new => {
            return Err(access_denied(
                "SourceIdentity cannot be changed once set in a role chain",
            ));
        }
        (Some(existing), _) => Some(existing.clone()),
        (None, new) => new,
    };
    let caller = Caller {
        account: w.account_id.clone(),
        arn: format!(
            "arn:aws:sts::{}:assumed-role/{}/{session_name}",
            w.account_id, role.name
        ),
        principal_id: format!("{}:{session_name}", role.role_id),
        access_key: String::new(),
        kind: CallerKind::AssumedRole {
            role_name: role.name.clone(),
            role_arn: role.arn.clone(),
            role_id: role.role_id.clone(),
            session_name: session_name.clone(),
        },
        mfa_authenticated: mfa,
        session_created: Some(ctx.now),
        source_identity: source_identity.clone(),
    };
    let arn = caller.arn.clone();
    let id = caller.principal_id.clone();
    let creds = issue(w, caller, ctx.now + Duration::seconds(secs));
    let mut out = Xml::node()
        .with("Credentials", credentials_xml(&creds))
        .with(
            "AssumedRoleUser",
            Xml::node()
                .with_text("AssumedRoleId", id)
                .with_text("Arn", arn),
        );
    if let Some(si) = source_identity {
        out = out.with_text("SourceIdentity", si);
    }
    Ok(out)
}
