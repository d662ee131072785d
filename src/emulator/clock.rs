//! The emulator clock: real time, scaled time (a restore job that takes an hour finishes in
//! seconds in the demo), or time that only moves when a test steps it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Mutex;
use std::time::Instant;

/// The fastest a clock runs: a million emulated seconds (11.6 days) per real second. Faster
/// factors are clamped to this; negative and NaN factors stop the clock.
pub const MAX_FACTOR: f64 = crate::validate::MAX_CLOCK_SCALE;

/// The latest emulated time: 9999-12-31T23:59:59Z. The clock saturates here instead of
/// overflowing; services can still add centuries to it, and every timestamp keeps four digits.
pub fn latest() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A factor made safe: NaN and negative stop the clock, +inf and huge values run at
/// [`MAX_FACTOR`].
fn sane(factor: f64) -> f64 {
    if factor.is_nan() {
        0.0
    } else {
        factor.clamp(0.0, MAX_FACTOR)
    }
}

/// `t + by`, saturating at [`latest`] (and at the earliest time for negative `by`).
fn add_saturating(t: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    match t.checked_add_signed(by) {
        Some(x) if x <= latest() => x,
        Some(x) if by < Duration::zero() => x,
        Some(_) => latest(),
        None if by < Duration::zero() => DateTime::<Utc>::MIN_UTC,
        None => latest(),
    }
}

#[derive(Debug)]
struct Base {
    real: Instant,
    emulated: DateTime<Utc>,
    /// Emulated seconds per real second: 1.0 real, >1 faster, 0.0 stopped (manual).
    factor: f64,
}

/// A shareable clock. Cheap to read; every service reads time only from here.
#[derive(Debug)]
pub struct Clock {
    base: Mutex<Base>,
}

impl Clock {
    /// Real time.
    pub fn real() -> Self {
        Self::scaled(Utc::now(), 1.0)
    }
    /// Time starting at `start`, running `factor` times as fast as real time.
    pub fn scaled(start: DateTime<Utc>, factor: f64) -> Self {
        Clock {
            base: Mutex::new(Base {
                real: Instant::now(),
                emulated: start.min(latest()),
                factor: sane(factor),
            }),
        }
    }
    /// Stopped time that moves only through [`Clock::advance`].
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self::scaled(start, 0.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Base> {
        self.base.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        let b = self.lock();
        now_of(&b)
    }

    /// Moves emulated time forward (works in every mode).
    pub fn advance(&self, by: std::time::Duration) {
        let mut b = self.lock();
        let by = Duration::from_std(by).unwrap_or(Duration::MAX);
        b.emulated = add_saturating(b.emulated, by);
    }

    /// Changes the speed from now on, keeping the current emulated time.
    pub fn set_factor(&self, factor: f64) {
        let mut b = self.lock();
        let now = now_of(&b);
        b.real = Instant::now();
        b.emulated = now;
        b.factor = sane(factor);
    }

    pub fn factor(&self) -> f64 {
        self.lock().factor
    }

    /// How long real time takes to cover `emulated` of emulated time (None when stopped, or
    /// when it would take longer than `Duration` can say).
    pub fn real_duration_for(&self, emulated: std::time::Duration) -> Option<std::time::Duration> {
        let f = self.factor();
        if f > 0.0 {
            std::time::Duration::try_from_secs_f64(emulated.as_secs_f64() / f).ok()
        } else {
            None
        }
    }
}

fn now_of(b: &Base) -> DateTime<Utc> {
    let elapsed = b.real.elapsed().as_secs_f64() * b.factor;
    // `as` saturates (inf to i64::MAX microseconds, about 292,000 years; NaN to 0).
    add_saturating(
        b.emulated,
        Duration::microseconds((elapsed * 1_000_000.0) as i64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_stepped() {
        let start = Utc::now();
        let c = Clock::manual(start);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(c.now(), start);
        c.advance(std::time::Duration::from_secs(90));
        assert_eq!(c.now(), start + Duration::seconds(90));
    }

    #[test]
    fn absurd_factors_and_steps_saturate_instead_of_panicking() {
        let start = Utc::now();
        for f in [
            1e308,
            f64::INFINITY,
            f64::NAN,
            -1.0,
            f64::MIN_POSITIVE,
            1e-300,
        ] {
            let c = Clock::scaled(start, f);
            let now = c.now();
            assert!(now >= start && now <= latest(), "{f}: {now}");
            assert!(c.factor() >= 0.0 && c.factor() <= MAX_FACTOR, "{f}");
            // Far beyond what Duration can hold: None, not a panic.
            let _ = c.real_duration_for(std::time::Duration::from_secs(u64::MAX));
            c.set_factor(f);
        }
        let c = Clock::manual(start);
        c.advance(std::time::Duration::from_secs(u64::MAX));
        assert_eq!(c.now(), latest());
        c.advance(std::time::Duration::from_secs(1_000_000_000_000_000));
        assert_eq!(c.now(), latest());
        let c = Clock::manual(DateTime::<Utc>::MAX_UTC);
        assert_eq!(c.now(), latest());
        c.set_factor(MAX_FACTOR);
        assert_eq!(c.now(), latest());
        // The fastest clock still moves forward and stays exact at small steps.
        let c = Clock::scaled(start, 1e308);
        assert_eq!(c.factor(), MAX_FACTOR);
        assert_eq!(
            c.real_duration_for(std::time::Duration::from_secs(1_000_000)),
            Some(std::time::Duration::from_secs(1))
        );
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let start = Utc::now();
        let c = Clock::scaled(start, 1000.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(c.now() - start >= Duration::seconds(19));
    }
}
