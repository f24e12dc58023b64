//! Per-key request rate limits: a token bucket per access key, on the injected clock.
//!
//! A key allowed `rate` requests per second holds up to `rate` tokens (one second's burst) and
//! regains them continuously. A request that finds no token is refused with how long until the
//! next one (for `Retry-After`). Buckets live in memory: a restart forgives everyone, and
//! several nodes each apply the limit on their own.

use engine::clock::Clock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

#[derive(Debug)]
pub struct RateLimiter {
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: OffsetDateTime,
}

impl RateLimiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `rate` per second. `Err(seconds)` when none is left: the
    /// whole seconds (at least 1) until one is.
    pub fn check(&self, key: &str, rate: u32) -> Result<(), u64> {
        if rate == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let capacity = f64::from(rate);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            refilled_at: now,
        });
        let elapsed = (now - bucket.refilled_at).as_seconds_f64().max(0.0);
        bucket.tokens = (bucket.tokens + elapsed * capacity).min(capacity);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / capacity;
            Err((wait.ceil() as u64).max(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::clock::ManualClock;
    use time::macros::datetime;

    #[test]
    fn a_key_gets_its_rate_then_waits_and_other_keys_are_unaffected() {
        let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
        let limiter = RateLimiter::new(Arc::new(clock.clone()));
        for _ in 0..5 {
            assert_eq!(limiter.check("AK1", 5), Ok(()));
        }
        assert_eq!(limiter.check("AK1", 5), Err(1));
        assert_eq!(limiter.check("AK2", 5), Ok(()), "buckets are per key");
        clock.advance(time::Duration::milliseconds(200));
        assert_eq!(
            limiter.check("AK1", 5),
            Ok(()),
            "one token back after 1/5 s"
        );
        assert_eq!(limiter.check("AK1", 5), Err(1));
        clock.advance(time::Duration::seconds(60));
        for _ in 0..5 {
            assert_eq!(limiter.check("AK1", 5), Ok(()));
        }
        assert!(
            limiter.check("AK1", 5).is_err(),
            "the burst is capped at one second's worth"
        );
    }

    #[test]
    fn rate_zero_is_unlimited() {
        let limiter = RateLimiter::new(Arc::new(ManualClock::new(datetime!(2026-01-01 0:00 UTC))));
        for _ in 0..10_000 {
            assert_eq!(limiter.check("AK1", 0), Ok(()));
        }
    }
}
