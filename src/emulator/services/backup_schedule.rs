//! The schedule expressions the lab runs for AWS Backup restore testing plans: a documented
//! subset of EventBridge-style expressions, in UTC.
//!
//! - `cron(M H ? * * *)` (or `cron(M H * * ? *)`): every day at H:M UTC;
//! - `cron(M H ? * DAY[,DAY…] *)`: on those weekdays (`SUN`…`SAT`, or `1`…`7` with 1 = Sunday);
//! - `cron(M H D MON ? YYYY)`: once, at that minute of that day (day 1-31, month 1-12 or
//!   `JAN`…`DEC`, a year): the one-time plan a drill creates (`guard::restore_testing`);
//! - `rate(N hour|hours|day|days)`: every N hours or days, counted from the plan's creation.
//!
//! Anything else (ranges, steps, a day-of-month or month without a year, `at(…)`, minutes
//! rates, time zones other than UTC) is refused with the supported forms, never silently
//! ignored.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// At `hour`:`minute` UTC on `weekdays` (every day when empty).
    Cron {
        minute: u32,
        hour: u32,
        weekdays: Vec<Weekday>,
    },
    /// Every `every`, counted from an anchor (the plan's creation time).
    Rate { every: Duration },
    /// Once, at `at` (a cron with a day, a month and a year).
    Once { at: DateTime<Utc> },
}

/// Why an expression cannot run in the lab.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported schedule expression '{expression}': {reason}; the lab runs cron(M H ? * * *), cron(M H ? * DAY[,DAY...] *), cron(M H D MON ? YYYY) (once) and rate(N hours|days), in UTC"
)]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

const UTC_NAMES: &[&str] = &["UTC", "Etc/UTC", "GMT", "Etc/GMT", "Etc/UCT", "UCT", "Z"];

impl Schedule {
    /// Parses an expression with its optional time zone (only UTC is run).
    pub fn parse(expression: &str, timezone: Option<&str>) -> Result<Schedule, ScheduleError> {
        let fail = |reason: &str| ScheduleError {
            expression: expression.to_string(),
            reason: reason.to_string(),
        };
        if let Some(tz) = timezone.filter(|t| !t.is_empty())
            && !UTC_NAMES.contains(&tz)
        {
            return Err(fail(&format!("time zone {tz} is not run (only UTC)")));
        }
        let e = expression.trim();
        if let Some(inner) = e.strip_prefix("rate(").and_then(|x| x.strip_suffix(')')) {
            let mut parts = inner.split_whitespace();
            let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(fail("a rate is 'rate(N hours)' or 'rate(N days)'"));
            };
            let n: i64 = n
                .parse()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| fail("N must be a whole number from 1 to 10000"))?;
            let every = match unit {
                "hour" | "hours" => Duration::hours(n),
                "day" | "days" => Duration::days(n),
                _ => return Err(fail(&format!("rate unit {unit} is not run"))),
            };
            return Ok(Schedule::Rate { every });
        }
        let Some(inner) = e.strip_prefix("cron(").and_then(|x| x.strip_suffix(')')) else {
            return Err(fail("it is neither cron(...) nor rate(...)"));
        };
        let f: Vec<&str> = inner.split_whitespace().collect();
        let [minute, hour, dom, month, dow, year] = f.as_slice() else {
            return Err(fail("a cron expression has six fields"));
        };
        let minute: u32 = minute
            .parse()
            .ok()
            .filter(|m| *m < 60)
            .ok_or_else(|| fail("the minute must be a number 0-59"))?;
        let hour: u32 = hour
            .parse()
            .ok()
            .filter(|h| *h < 24)
            .ok_or_else(|| fail("the hour must be a number 0-23"))?;
        if *year != "*" || *month != "*" {
            // One time: a day, a month and a year (the day-of-week '?').
            let (Some(d), Some(m), Some(y), "?") = (
                dom.parse::<u32>().ok(),
                month_number(month),
                year.parse::<i32>()
                    .ok()
                    .filter(|y| (1970..=9999).contains(y)),
                *dow,
            ) else {
                return Err(fail(
                    "a month or a year needs all of them: cron(M H D MON ? YYYY), with day-of-week '?'",
                ));
            };
            let at = NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|day| day.and_hms_opt(hour, minute, 0))
                .ok_or_else(|| fail("that day does not exist"))?
                .and_utc();
            return Ok(Schedule::Once { at });
        }
        let weekdays = match (*dom, *dow) {
            ("?", "*") | ("*", "?") | ("?", "?") => Vec::new(),
            ("?", days) => days
                .split(',')
                .map(weekday)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| fail("weekdays are SUN..SAT or 1..7, comma-separated"))?,
            _ => {
                return Err(fail(
                    "the day-of-month must be '?' (or '*' with day-of-week '?')",
                ));
            }
        };
        Ok(Schedule::Cron {
            minute,
            hour,
            weekdays,
        })
    }

    /// The first occurrence strictly after `t`; `anchor` starts a rate.
    pub fn next_after(&self, t: DateTime<Utc>, anchor: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Schedule::Rate { every } => {
                let step = every.num_seconds().max(1);
                if t < anchor {
                    return anchor;
                }
                let k = (t - anchor).num_seconds() / step + 1;
                Duration::try_seconds(k.saturating_mul(step))
                    .and_then(|d| anchor.checked_add_signed(d))
                    // Beyond chrono's range: never again.
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
            Schedule::Once { at } => {
                if *at > t {
                    *at
                } else {
                    DateTime::<Utc>::MAX_UTC
                }
            }
            Schedule::Cron {
                minute,
                hour,
                weekdays,
            } => {
                let at = NaiveTime::from_hms_opt(*hour, *minute, 0).unwrap_or_default();
                for d in 0..=8 {
                    let Some(day) = t.date_naive().checked_add_signed(Duration::days(d)) else {
                        break;
                    };
                    let c = day.and_time(at).and_utc();
                    if c > t && (weekdays.is_empty() || weekdays.contains(&c.weekday())) {
                        return c;
                    }
                }
                // Unreachable for a non-empty weekday set, except at chrono's end of time.
                DateTime::<Utc>::MAX_UTC
            }
        }
    }
}

fn month_number(s: &str) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    let s = s.trim().to_ascii_uppercase();
    if let Some(i) = NAMES.iter().position(|n| *n == s) {
        return Some(i as u32 + 1);
    }
    s.parse().ok().filter(|m| (1..=12).contains(m))
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_uppercase().as_str() {
        "SUN" | "1" => Weekday::Sun,
        "MON" | "2" => Weekday::Mon,
        "TUE" | "3" => Weekday::Tue,
        "WED" | "4" => Weekday::Wed,
        "THU" | "5" => Weekday::Thu,
        "FRI" | "6" => Weekday::Fri,
        "SAT" | "7" => Weekday::Sat,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_weekly_and_rate_occurrences() {
        let daily = Schedule::parse("cron(0 5 ? * * *)", None).unwrap();
        let a = t("2024-05-01T00:00:00Z");
        assert_eq!(daily.next_after(a, a), t("2024-05-01T05:00:00Z"));
        assert_eq!(
            daily.next_after(t("2024-05-01T05:00:00Z"), a),
            t("2024-05-02T05:00:00Z"),
            "strictly after"
        );
        // 2024-05-01 is a Wednesday.
        let weekly = Schedule::parse("cron(0 6 ? * SUN *)", Some("Etc/UTC")).unwrap();
        assert_eq!(weekly.next_after(a, a), t("2024-05-05T06:00:00Z"));
        let two = Schedule::parse("cron(30 1 ? * 2,SAT *)", None).unwrap();
        assert_eq!(two.next_after(a, a), t("2024-05-04T01:30:00Z"));
        assert_eq!(
            two.next_after(t("2024-05-04T01:30:00Z"), a),
            t("2024-05-06T01:30:00Z")
        );
        let rate = Schedule::parse("rate(6 hours)", None).unwrap();
        assert_eq!(
            rate.next_after(t("2024-05-01T07:00:00Z"), a),
            t("2024-05-01T12:00:00Z")
        );
        assert_eq!(rate.next_after(a - Duration::hours(1), a), a);
        assert_eq!(
            Schedule::parse("rate(1 day)", None).unwrap(),
            Schedule::Rate {
                every: Duration::days(1)
            }
        );
    }

    #[test]
    fn a_dated_cron_runs_once() {
        let once = Schedule::parse("cron(35 14 1 DEC ? 2026)", None).unwrap();
        assert_eq!(
            once,
            Schedule::parse("cron(35 14 1 12 ? 2026)", Some("UTC")).unwrap()
        );
        let a = t("2026-12-01T14:00:00Z");
        assert_eq!(once.next_after(a, a), t("2026-12-01T14:35:00Z"));
        assert_eq!(
            once.next_after(t("2026-12-01T14:35:00Z"), a),
            DateTime::<Utc>::MAX_UTC,
            "never again"
        );
    }

    #[test]
    fn occurrences_at_the_end_of_time_do_not_panic() {
        let end = crate::emulator::clock::latest();
        let max = DateTime::<Utc>::MAX_UTC;
        for e in [
            "cron(0 5 ? * * *)",
            "cron(0 5 ? * SUN *)",
            "rate(10000 days)",
        ] {
            let s = Schedule::parse(e, None).unwrap();
            assert!(s.next_after(end, DateTime::<Utc>::MIN_UTC) > end, "{e}");
            assert_eq!(s.next_after(max, DateTime::<Utc>::MIN_UTC), max, "{e}");
        }
    }

    #[test]
    fn unknown_expressions_are_refused_with_the_supported_forms() {
        for (e, tz) in [
            ("cron(0 5 1 * ? *)", None),
            ("cron(0/15 5 ? * * *)", None),
            ("cron(0 5 ? * MON-FRI *)", None),
            ("cron(0 5 ? * * 2025)", None),
            ("cron(0 5 1 * ? *)", None),
            ("cron(0 5 1 12 ? *)", None),
            ("cron(0 5 31 2 ? 2026)", None),
            ("cron(0 5 1 12 MON 2026)", None),
            ("cron(0 5 * 12 ? 2026)", None),
            ("cron(0 24 ? * * *)", None),
            ("cron(0 5 ? *)", None),
            ("rate(5 minutes)", None),
            ("rate(0 hours)", None),
            ("at(2024-05-01T00:00:00)", None),
            ("", None),
            ("cron(0 5 ? * * *)", Some("America/New_York")),
        ] {
            let err = Schedule::parse(e, tz).unwrap_err();
            assert!(err.to_string().contains("rate(N hours|days)"), "{e}: {err}");
        }
    }
}
