//! Request rate limits: a token bucket per key, on the injected clock, in a bounded table.
//!
//! A key allowed `rate` requests per second holds up to `rate` tokens (one second's burst) and
//! regains them continuously. A request that finds no token is refused with how long until the
//! next one (for `Retry-After`). Buckets live in memory: a restart forgives everyone, and
//! several nodes each apply the limit on their own.
//!
//! The table holds at most `max_keys` buckets, because some keys come from the network (client
//! addresses): when it is full, buckets idle for a second or more are dropped first — such a
//! bucket is full again, so forgetting it changes no answer — and, if every bucket is busy, the
//! one idle longest.

use crate::error::ApiError;
use crate::error_codes;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use engine::clock::Clock;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// How many keys one limiter tracks at most.
pub const DEFAULT_MAX_KEYS: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    clock: Arc<dyn Clock>,
    buckets: Mutex<HashMap<String, Bucket>>,
    max_keys: usize,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: OffsetDateTime,
}

impl RateLimiter {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_max_keys(clock, DEFAULT_MAX_KEYS)
    }

    pub fn with_max_keys(clock: Arc<dyn Clock>, max_keys: usize) -> Self {
        Self {
            clock,
            buckets: Mutex::new(HashMap::new()),
            max_keys: max_keys.max(1),
        }
    }

    /// Forgets every key's bucket: all start full again (`POST /_ecsd/reset`).
    pub fn clear(&self) {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
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
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            evict(&mut buckets, now);
        }
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

    /// How many keys are tracked now.
    pub fn len(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes room for one more bucket: drops those idle for a second (full again), else the one
/// idle longest.
fn evict(buckets: &mut HashMap<String, Bucket>, now: OffsetDateTime) {
    buckets.retain(|_, bucket| now - bucket.refilled_at < time::Duration::SECOND);
    if buckets.is_empty() {
        return;
    }
    let stalest = buckets
        .iter()
        .min_by_key(|(_, bucket)| bucket.refilled_at)
        .map(|(key, _)| key.clone());
    if let Some(key) = stalest {
        buckets.remove(&key);
    }
}

/// A 429 answer with `Retry-After: retry_after`, as the API gateway throttles (`APIGW.0308`, its
/// flat shape, "The throttling threshold has been reached: …"); `policy` says which limit.
pub fn too_many_requests(policy: &str, retry_after: u64) -> Response {
    let mut response = ApiError::new(
        error_codes::APIGW_0308,
        format!("The throttling threshold has been reached: {policy}"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
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
        assert!(limiter.is_empty(), "unlimited keys take no room");
    }

    #[test]
    fn the_table_stays_bounded_and_forgets_idle_keys_first() {
        let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
        let limiter = RateLimiter::with_max_keys(Arc::new(clock.clone()), 100);
        // Many distinct keys at once (e.g. forged client addresses): never more than the cap.
        for index in 0..10_000 {
            let _ = limiter.check(&format!("junk-{index}"), 3);
            assert!(limiter.len() <= 100);
        }
        // A second later the junk is idle (its buckets full again); a busy key spends its
        // allowance, and new keys push out the idle junk, not the busy key's state.
        clock.advance(time::Duration::SECOND);
        for _ in 0..3 {
            assert_eq!(limiter.check("busy", 3), Ok(()));
        }
        for index in 0..99 {
            assert_eq!(limiter.check(&format!("new-{index}"), 3), Ok(()));
        }
        assert_eq!(
            limiter.len(),
            100,
            "the idle junk is gone, the busy key is not"
        );
        assert_eq!(
            limiter.check("busy", 3),
            Err(1),
            "its spent tokens were kept"
        );
    }

    /// `Retry-After` is the whole seconds until the next token: at 1 request per second, half
    /// a second after the last one it is still 1 (not 2), and a tracked key makes the table
    /// non-empty.
    #[test]
    fn the_wait_is_rounded_up_to_whole_seconds_from_a_partly_refilled_bucket() {
        let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
        let limiter = RateLimiter::new(Arc::new(clock.clone()));
        assert_eq!(limiter.check("AK1", 1), Ok(()));
        assert!(!limiter.is_empty());
        clock.advance(time::Duration::milliseconds(500));
        assert_eq!(limiter.check("AK1", 1), Err(1));
        clock.advance(time::Duration::milliseconds(500));
        assert_eq!(limiter.check("AK1", 1), Ok(()));
    }

    /// A full table drops every bucket idle for a second or more at once (each is full again),
    /// and never a bucket used within the last second unless all are: then only the one idle
    /// longest goes, so a key that spent its allowance keeps that state.
    #[test]
    fn eviction_drops_idle_buckets_and_keeps_a_busy_keys_spent_allowance() {
        let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
        let limiter = RateLimiter::with_max_keys(Arc::new(clock.clone()), 3);
        for key in ["a", "b"] {
            assert_eq!(limiter.check(key, 3), Ok(()));
        }
        clock.advance(time::Duration::milliseconds(1));
        for _ in 0..3 {
            assert_eq!(limiter.check("busy", 3), Ok(()));
        }
        clock.advance(time::Duration::milliseconds(1));
        // Full, nothing idle: one of the oldest ("a" or "b") makes room.
        assert_eq!(limiter.check("c", 3), Ok(()));
        assert_eq!(limiter.len(), 3);
        assert_eq!(
            limiter.check("busy", 3),
            Err(1),
            "its spent tokens were kept"
        );
        // Exactly a second after the last use of each, all are idle: all go at once.
        clock.advance(time::Duration::SECOND);
        assert_eq!(limiter.check("d", 3), Ok(()));
        assert_eq!(limiter.len(), 1);
    }
}
