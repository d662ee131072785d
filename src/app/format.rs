//! Times and durations in words for the detail panes: small pure functions.
//!
//! Timestamps are shown in the operator's local time zone with its UTC offset, or in UTC when
//! the profile's `utc` setting says so; durations in words ("4 days", "1 hour 30 minutes").
//! AWS attributes that carry times or durations as bare numbers are known by name.

use chrono::{DateTime, Local, TimeZone, Utc};
use std::fmt::Display;

/// What a bare number in an attribute means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    /// Seconds since 1970-01-01 UTC.
    EpochSeconds,
    /// A duration in seconds.
    Seconds,
    /// Anything else: shown as it is.
    Other,
}

/// The kind of an SQS attribute by name. (The SNS topic attributes the console reads carry no
/// bare times or durations: their delivery and archive policies are JSON.)
pub fn attribute_kind(name: &str) -> AttributeKind {
    match name {
        "CreatedTimestamp" | "LastModifiedTimestamp" => AttributeKind::EpochSeconds,
        "MessageRetentionPeriod"
        | "VisibilityTimeout"
        | "DelaySeconds"
        | "ReceiveMessageWaitTimeSeconds"
        | "KmsDataKeyReusePeriodSeconds" => AttributeKind::Seconds,
        _ => AttributeKind::Other,
    }
}

/// An attribute's value for the detail pane: a time or a duration in words when its name says
/// it is one and its value is a number; otherwise the value unchanged (still to be sanitised by
/// the caller).
pub fn attribute_value(name: &str, value: &str, utc: bool) -> String {
    let parsed = value.trim().parse::<i64>().ok();
    match (attribute_kind(name), parsed) {
        (AttributeKind::EpochSeconds, Some(n)) => match DateTime::from_timestamp(n, 0) {
            Some(t) => time(t, utc),
            None => value.to_string(),
        },
        (AttributeKind::Seconds, Some(n)) => match u64::try_from(n) {
            Ok(n) => duration(n),
            Err(_) => value.to_string(),
        },
        _ => value.to_string(),
    }
}

/// A time in UTC (`2026-05-15 13:22:49 UTC`) or in the local time zone with its offset
/// (`2026-05-15 15:22:49 +02:00`).
pub fn time(t: DateTime<Utc>, utc: bool) -> String {
    if utc {
        format!("{} UTC", t.format("%Y-%m-%d %H:%M:%S"))
    } else {
        time_in(t, &Local)
    }
}

/// A time in the zone `tz`, with its offset.
pub fn time_in<Tz: TimeZone>(t: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: Display,
{
    t.with_timezone(tz)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// An optional time (`-` when absent).
pub fn maybe_time(t: Option<DateTime<Utc>>, utc: bool) -> String {
    t.map(|t| time(t, utc)).unwrap_or_else(|| "-".into())
}

/// Seconds in words, every unit that is not zero: `4 days`, `30 seconds`, `1 hour 30 minutes`,
/// `0 seconds`.
pub fn duration(secs: u64) -> String {
    const UNITS: [(u64, &str, &str); 4] = [
        (86_400, "day", "days"),
        (3_600, "hour", "hours"),
        (60, "minute", "minutes"),
        (1, "second", "seconds"),
    ];
    if secs == 0 {
        return "0 seconds".into();
    }
    let mut left = secs;
    let mut parts = Vec::new();
    for (size, one, many) in UNITS {
        let n = left / size;
        left %= size;
        if n > 0 {
            parts.push(format!("{n} {}", if n == 1 { one } else { many }));
        }
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::FixedOffset;

    #[test]
    fn durations_in_words() {
        assert_eq!(duration(345_600), "4 days");
        assert_eq!(duration(30), "30 seconds");
        assert_eq!(duration(5_400), "1 hour 30 minutes");
        assert_eq!(duration(0), "0 seconds");
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(60), "1 minute");
        assert_eq!(duration(1_209_600), "14 days");
        assert_eq!(duration(90_061), "1 day 1 hour 1 minute 1 second");
        assert_eq!(duration(43_200), "12 hours");
    }

    #[test]
    fn times_in_utc_or_a_zone_with_its_offset() {
        let t = DateTime::from_timestamp(1_778_851_369, 0).unwrap();
        assert_eq!(time(t, true), "2026-05-15 13:22:49 UTC");
        let paris_summer = FixedOffset::east_opt(2 * 3600).unwrap();
        assert_eq!(time_in(t, &paris_summer), "2026-05-15 15:22:49 +02:00");
        let new_york = FixedOffset::west_opt(4 * 3600).unwrap();
        assert_eq!(time_in(t, &new_york), "2026-05-15 09:22:49 -04:00");
        // Without `utc`: the operator's local zone (whatever it is on this machine).
        assert_eq!(time(t, false), time_in(t, &Local));
        assert_eq!(maybe_time(None, true), "-");
        assert_eq!(maybe_time(Some(t), true), "2026-05-15 13:22:49 UTC");
    }

    #[test]
    fn sqs_attributes_are_known_by_name() {
        assert_eq!(
            attribute_value("CreatedTimestamp", "1778851369", true),
            "2026-05-15 13:22:49 UTC"
        );
        assert_eq!(
            attribute_value("LastModifiedTimestamp", "1778851369", true),
            "2026-05-15 13:22:49 UTC"
        );
        assert_eq!(
            attribute_value("MessageRetentionPeriod", "345600", true),
            "4 days"
        );
        assert_eq!(
            attribute_value("VisibilityTimeout", "30", true),
            "30 seconds"
        );
        assert_eq!(attribute_value("DelaySeconds", "0", true), "0 seconds");
        assert_eq!(
            attribute_value("ReceiveMessageWaitTimeSeconds", "20", true),
            "20 seconds"
        );
        assert_eq!(
            attribute_value("KmsDataKeyReusePeriodSeconds", "300", true),
            "5 minutes"
        );
        // Counts and sizes stay numbers; names are matched exactly.
        assert_eq!(
            attribute_value("ApproximateNumberOfMessages", "345600", true),
            "345600"
        );
        assert_eq!(
            attribute_value("MaximumMessageSize", "262144", true),
            "262144"
        );
        assert_eq!(attribute_value("visibilitytimeout", "30", true), "30");
    }

    #[test]
    fn values_that_are_not_numbers_stay_as_they_are() {
        assert_eq!(attribute_value("VisibilityTimeout", "soon", true), "soon");
        assert_eq!(attribute_value("VisibilityTimeout", "-5", true), "-5");
        assert_eq!(attribute_value("CreatedTimestamp", "", true), "");
        assert_eq!(
            attribute_value("CreatedTimestamp", "99999999999999999", true),
            "99999999999999999"
        );
        assert_eq!(attribute_value("DelaySeconds", " 45 ", true), "45 seconds");
    }
}
