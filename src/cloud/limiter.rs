//! A shared rate limiter: CloudTrail LookupEvents allows 2 requests per second per account and
//! region, so every LookupEvents of this process goes through one limiter per (account, region)
//! and no screen can cause throttling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// Spaces calls at least `interval` apart (a token bucket of one token).
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    next: tokio::sync::Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub fn per_second(rate: f64) -> Self {
        RateLimiter {
            interval: Duration::from_secs_f64(1.0 / rate.max(0.001)),
            next: tokio::sync::Mutex::new(None),
        }
    }

    /// Waits for the next slot.
    pub async fn acquire(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        let at = match *next {
            Some(t) if t > now => t,
            _ => now,
        };
        *next = Some(at + self.interval);
        drop(next);
        tokio::time::sleep_until(at).await;
    }
}

/// LookupEvents quota, with a margin so clock jitter never crosses it.
pub const LOOKUP_EVENTS_PER_SECOND: f64 = 1.95;

/// Limiters by (account, region).
type Limiters = Mutex<HashMap<(String, String), Arc<RateLimiter>>>;

/// The process-wide limiter for LookupEvents in one account and region.
pub fn lookup_events_limiter(account: &str, region: &str) -> Arc<RateLimiter> {
    static LIMITERS: OnceLock<Limiters> = OnceLock::new();
    let map = LIMITERS.get_or_init(Default::default);
    let mut map = match map.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    map.entry((account.to_string(), region.to_string()))
        .or_insert_with(|| Arc::new(RateLimiter::per_second(LOOKUP_EVENTS_PER_SECOND)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_calls_by_the_interval() {
        let l = RateLimiter::per_second(2.0);
        let start = Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(2000) && took < Duration::from_millis(2100),
            "{took:?}"
        );
    }

    #[test]
    fn one_limiter_per_account_and_region() {
        let a = lookup_events_limiter("111111111111", "us-east-1");
        let b = lookup_events_limiter("111111111111", "us-east-1");
        let c = lookup_events_limiter("111111111111", "eu-west-1");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
