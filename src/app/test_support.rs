//! Fixtures shared by the app's unit tests (no emulator, no terminal).

use super::state::SessionInfo;
use chrono::{DateTime, Duration, Utc};

/// A fixed instant (2026-05-28), so times in rows and plans do not move.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default()
}

/// A read-write session of profile `demo` (account 123456789012, us-east-1) with MFA at `at`,
/// expiring an hour later, no reason required, times in UTC.
pub fn session_info(at: DateTime<Utc>) -> SessionInfo {
    SessionInfo {
        profile: "demo".into(),
        caller_arn: "arn:aws:sts::123456789012:assumed-role/ClaimsOperator/jdoe".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
        read_only: false,
        production: false,
        expires: Some(at + Duration::hours(1)),
        mfa_at: Some(at),
        source_identity: None,
        idle_lock_minutes: 15,
        audit_path: None,
        audit_error: None,
        require_reason: false,
        utc: true,
        safe_attributes: crate::session::settings::ProfileSettings::default().safe_attributes,
        posture_limits: crate::posture::Limits::default(),
    }
}
