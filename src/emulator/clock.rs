//! The emulator clock: real time, scaled time (a restore job that takes an hour finishes in
//! seconds in the demo), or time that only moves when a test steps it.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;
use std::time::Instant;

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
                emulated: start,
                factor: factor.max(0.0),
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
        b.emulated += Duration::from_std(by).unwrap_or(Duration::zero());
    }

    /// Changes the speed from now on, keeping the current emulated time.
    pub fn set_factor(&self, factor: f64) {
        let mut b = self.lock();
        let now = now_of(&b);
        b.real = Instant::now();
        b.emulated = now;
        b.factor = factor.max(0.0);
    }

    pub fn factor(&self) -> f64 {
        self.lock().factor
    }

    /// How long real time takes to cover `emulated` of emulated time (None when stopped).
    pub fn real_duration_for(&self, emulated: std::time::Duration) -> Option<std::time::Duration> {
        let f = self.factor();
        (f > 0.0).then(|| emulated.div_f64(f))
    }
}

fn now_of(b: &Base) -> DateTime<Utc> {
    let elapsed = b.real.elapsed().as_secs_f64() * b.factor;
    b.emulated + Duration::microseconds((elapsed * 1_000_000.0) as i64)
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
    fn scaled_clock_runs_faster() {
        let start = Utc::now();
        let c = Clock::scaled(start, 1000.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(c.now() - start >= Duration::seconds(19));
    }
}
