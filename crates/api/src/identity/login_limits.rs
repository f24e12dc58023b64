//! Limits on password checks (`POST /v3/auth/tokens`), against guessing and against locking a
//! real user out.
//!
//! Three limits apply, in this order, each answered 429 `Common.1503` with `Retry-After`:
//! 1. **Per client address** (`per_client` requests per second; IPv6 clients by their /64), so
//!    one client cannot use up the allowances below for everyone.
//! 2. **Per account** (`per_account` requests per second); every unknown domain shares one
//!    allowance of the same rate, so made-up domain names cannot grow the table.
//! 3. **Failed passwords per (account, user, client)**: the first `free_failures` cost nothing;
//!    each one after that makes that user wait, from that client, 1 s, 2 s, 4 s… up to
//!    `max_backoff`, before the next password is even checked. A success, or `max_backoff`
//!    without a failure, forgets them. The real user, from another address, is not held up by a
//!    flood of wrong passwords: the flood waits, the user does not.
//!
//! Every table is bounded ([`crate::identity::rate_limit`]; [`MAX_FAILURE_RECORDS`]), so a client
//! inventing names or addresses cannot grow memory.

use crate::identity::accounts::AccountId;
use crate::identity::rate_limit::{too_many_requests, RateLimiter};
use axum::response::Response;
use engine::clock::Clock;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// How many (account, user, client) failure records are kept at most.
pub const MAX_FAILURE_RECORDS: usize = 10_000;

/// The limits on password checks (`--token-rate-limit`, `--token-client-rate-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Token requests per second from one client address (0: no limit).
    pub per_client: u32,
    /// Token requests per second for one account; all unknown domains share one such allowance
    /// (0: no limit).
    pub per_account: u32,
    /// Failed passwords of one user from one client before each further one makes it wait.
    pub free_failures: u32,
    /// The longest wait after repeated failures.
    pub max_backoff: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_client: 10,
            per_account: 100,
            free_failures: 5,
            max_backoff: Duration::minutes(15),
        }
    }
}

/// Where a request comes from, as the limits count it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ClientKey {
    V4([u8; 4]),
    /// The /64 network: one host usually has a whole /64.
    V6([u8; 8]),
    /// No address known (in-process use): all such requests are one client.
    Unknown,
}

impl ClientKey {
    fn of(address: Option<IpAddr>) -> Self {
        match address.map(|address| address.to_canonical()) {
            Some(IpAddr::V4(v4)) => ClientKey::V4(v4.octets()),
            Some(IpAddr::V6(v6)) => {
                let octets = v6.octets();
                let mut network = [0u8; 8];
                network.copy_from_slice(&octets[..8]);
                ClientKey::V6(network)
            }
            None => ClientKey::Unknown,
        }
    }

    fn bucket(&self) -> String {
        match self {
            ClientKey::V4(octets) => format!("client:{}", std::net::Ipv4Addr::from(*octets)),
            ClientKey::V6(network) => format!("client:{network:02x?}/64"),
            ClientKey::Unknown => "client:unknown".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last_failure: OffsetDateTime,
    blocked_until: OffsetDateTime,
}

type FailureKey = (AccountId, String, ClientKey);

#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    clock: Arc<dyn Clock>,
    /// Separate tables, so that many client addresses cannot push the accounts' state out.
    client_buckets: RateLimiter,
    account_buckets: RateLimiter,
    failures: Mutex<HashMap<FailureKey, Failures>>,
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            client_buckets: RateLimiter::new(clock.clone()),
            account_buckets: RateLimiter::new(clock.clone()),
            clock,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every allowance and failure count (`POST /_ecsd/reset`).
    pub fn clear(&self) {
        self.client_buckets.clear();
        self.account_buckets.clear();
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    pub fn limits(&self) -> LoginLimits {
        self.limits
    }

    /// Limit 1: the client's allowance.
    pub fn client_throttle(&self, client: Option<IpAddr>) -> Option<Response> {
        let key = ClientKey::of(client).bucket();
        let rate = self.limits.per_client;
        self.client_buckets
            .check(&key, rate)
            .err()
            .map(|retry_after| {
                too_many_requests(
                    &format!("policy client over ratelimit,limit:{rate},time:1 second (token requests from one address)"),
                    retry_after,
                )
            })
    }

    /// Limit 2: the account's allowance (`None`: the shared one of unknown domains).
    pub fn account_throttle(&self, account: Option<AccountId>) -> Option<Response> {
        let key = match account {
            Some(account) => format!("account:{account}"),
            None => "account:unknown".to_owned(),
        };
        let rate = self.limits.per_account;
        self.account_buckets
            .check(&key, rate)
            .err()
            .map(|retry_after| {
                too_many_requests(
                    &format!("policy domain over ratelimit,limit:{rate},time:1 second (token requests for one account)"),
                    retry_after,
                )
            })
    }

    /// Limit 3: whether this user must still wait, from this client, after failed passwords.
    pub fn backoff(
        &self,
        account: AccountId,
        user: &str,
        client: Option<IpAddr>,
    ) -> Option<Response> {
        let now = self.clock.now();
        let failures = self.lock();
        let record = failures.get(&(account, user.to_owned(), ClientKey::of(client)))?;
        if now >= record.blocked_until {
            return None;
        }
        let wait = (record.blocked_until - now)
            .as_seconds_f64()
            .ceil()
            .max(1.0) as u64;
        Some(too_many_requests(
            &format!("policy login backoff ({} wrong passwords for this user from this address; wait {wait} s before the next try)", record.count),
            wait,
        ))
    }

    /// Records a wrong password.
    pub fn failed(&self, account: AccountId, user: &str, client: Option<IpAddr>) {
        let now = self.clock.now();
        let limits = self.limits;
        let mut failures = self.lock();
        let key = (account, user.to_owned(), ClientKey::of(client));
        if !failures.contains_key(&key) && failures.len() >= MAX_FAILURE_RECORDS {
            evict(&mut failures, now, limits.max_backoff);
        }
        let record = failures.entry(key).or_insert(Failures {
            count: 0,
            last_failure: now,
            blocked_until: now,
        });
        if now - record.last_failure >= limits.max_backoff {
            record.count = 0;
        }
        record.count = record.count.saturating_add(1);
        record.last_failure = now;
        if record.count > limits.free_failures {
            let doublings = (record.count - limits.free_failures - 1).min(30);
            let wait = Duration::seconds(1i64 << doublings).min(limits.max_backoff);
            record.blocked_until = now + wait;
        }
    }

    /// Forgets this user's failures from this client.
    pub fn succeeded(&self, account: AccountId, user: &str, client: Option<IpAddr>) {
        self.lock()
            .remove(&(account, user.to_owned(), ClientKey::of(client)));
    }

    /// How many failure records are kept now.
    pub fn failure_records(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FailureKey, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Drops records forgiven by time; if none is, the one whose last failure is oldest.
fn evict(
    failures: &mut HashMap<FailureKey, Failures>,
    now: OffsetDateTime,
    forgive_after: Duration,
) {
    failures.retain(|_, record| now - record.last_failure < forgive_after);
    if failures.len() < MAX_FAILURE_RECORDS {
        return;
    }
    let oldest = failures
        .iter()
        .min_by_key(|(_, record)| record.last_failure)
        .map(|(key, _)| key.clone());
    if let Some(key) = oldest {
        failures.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::clock::ManualClock;
    use std::net::Ipv4Addr;
    use time::macros::datetime;

    fn limiter(limits: LoginLimits) -> (LoginLimiter, ManualClock) {
        let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
        (LoginLimiter::new(limits, Arc::new(clock.clone())), clock)
    }

    const ATTACKER: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 66)));
    const USER: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)));

    #[test]
    fn failures_beyond_the_free_ones_make_that_client_wait_longer_each_time() {
        let (limiter, clock) = limiter(LoginLimits::default());
        for _ in 0..5 {
            assert!(limiter.backoff(0, "alice", ATTACKER).is_none());
            limiter.failed(0, "alice", ATTACKER);
        }
        assert!(
            limiter.backoff(0, "alice", ATTACKER).is_none(),
            "five are free"
        );
        let mut waits = Vec::new();
        for _ in 0..6 {
            limiter.failed(0, "alice", ATTACKER);
            let refusal = limiter.backoff(0, "alice", ATTACKER).expect("must wait");
            let wait: i64 = refusal.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            waits.push(wait);
            clock.advance(Duration::seconds(wait));
            assert!(
                limiter.backoff(0, "alice", ATTACKER).is_none(),
                "the wait ends"
            );
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32]);
        // The same user from another address, and another user, are not held up.
        limiter.failed(0, "alice", ATTACKER);
        assert!(limiter.backoff(0, "alice", ATTACKER).is_some());
        assert!(limiter.backoff(0, "alice", USER).is_none());
        assert!(limiter.backoff(0, "bob", ATTACKER).is_none());
        assert!(limiter.backoff(1, "alice", ATTACKER).is_none());
    }

    #[test]
    fn the_wait_is_capped_and_forgiven_by_success_or_time() {
        let limits = LoginLimits {
            max_backoff: Duration::minutes(15),
            ..LoginLimits::default()
        };
        let (limiter, clock) = limiter(limits);
        for _ in 0..40 {
            limiter.failed(0, "alice", ATTACKER);
        }
        let refusal = limiter.backoff(0, "alice", ATTACKER).expect("must wait");
        assert_eq!(refusal.headers()["retry-after"], "900", "capped at 15 min");
        limiter.succeeded(0, "alice", ATTACKER);
        assert!(limiter.backoff(0, "alice", ATTACKER).is_none());
        // Failures older than the longest wait are forgotten: five more are free again.
        for _ in 0..6 {
            limiter.failed(0, "alice", ATTACKER);
        }
        clock.advance(Duration::minutes(15));
        for _ in 0..5 {
            limiter.failed(0, "alice", ATTACKER);
        }
        assert!(limiter.backoff(0, "alice", ATTACKER).is_none());
    }

    #[test]
    fn one_client_cannot_use_up_the_accounts_allowance() {
        let limits = LoginLimits {
            per_client: 3,
            per_account: 5,
            ..LoginLimits::default()
        };
        let (limiter, _clock) = limiter(limits);
        let mut passed = 0;
        for _ in 0..100 {
            if limiter.client_throttle(ATTACKER).is_none()
                && limiter.account_throttle(Some(0)).is_none()
            {
                passed += 1;
            }
        }
        assert_eq!(passed, 3, "the attacker's own allowance stops it first");
        assert!(limiter.client_throttle(USER).is_none());
        assert!(
            limiter.account_throttle(Some(0)).is_none(),
            "the account still has room"
        );
    }

    #[test]
    fn unknown_domains_share_one_allowance() {
        let limits = LoginLimits {
            per_account: 2,
            ..LoginLimits::default()
        };
        let (limiter, _clock) = limiter(limits);
        assert!(limiter.account_throttle(None).is_none());
        assert!(limiter.account_throttle(None).is_none());
        assert!(limiter.account_throttle(None).is_some());
        assert!(
            limiter.account_throttle(Some(0)).is_none(),
            "known accounts have their own"
        );
    }

    #[test]
    fn ipv6_clients_count_by_their_network() {
        let a: IpAddr = "2001:db8:1:2::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(ClientKey::of(Some(a)), ClientKey::of(Some(b)));
        assert_ne!(ClientKey::of(Some(a)), ClientKey::of(Some(c)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("ip");
        assert_eq!(ClientKey::of(Some(mapped)), ClientKey::of(USER));
    }

    #[test]
    fn failure_records_stay_bounded() {
        let (limiter, _clock) = limiter(LoginLimits::default());
        for index in 0..(MAX_FAILURE_RECORDS + 500) {
            limiter.failed(0, &format!("user-{index}"), ATTACKER);
        }
        assert!(limiter.failure_records() <= MAX_FAILURE_RECORDS);
    }

    /// Filling the table with made-up user names cannot wipe a guessing client's wait: when the
    /// table is full, the records forgiven by time go first and, if that made room, nothing
    /// else; otherwise only the record whose last failure is oldest.
    #[test]
    fn a_full_table_keeps_a_blocked_clients_record_and_drops_forgiven_ones_first() {
        let (limiter, clock) = limiter(LoginLimits::default());
        limiter.failed(0, "stale", ATTACKER);
        clock.advance(Duration::minutes(1));
        // Enough failures for the longest wait (15 min from now).
        for _ in 0..40 {
            limiter.failed(0, "alice", ATTACKER);
        }
        clock.advance(Duration::minutes(14));
        // "stale" is now forgiven (15 min old); alice still waits for a minute.
        for index in 0..(MAX_FAILURE_RECORDS - 2) {
            limiter.failed(0, &format!("junk-{index}"), ATTACKER);
        }
        assert_eq!(limiter.failure_records(), MAX_FAILURE_RECORDS);
        limiter.failed(0, "one-more", ATTACKER);
        assert_eq!(limiter.failure_records(), MAX_FAILURE_RECORDS);
        assert!(
            limiter.backoff(0, "alice", ATTACKER).is_some(),
            "the flood did not forgive alice's guesser"
        );
        // Full again and nothing forgiven: the oldest (alice's) record is the one dropped.
        limiter.failed(0, "and-another", ATTACKER);
        assert_eq!(limiter.failure_records(), MAX_FAILURE_RECORDS);
        assert!(limiter.backoff(0, "alice", ATTACKER).is_none());
        assert!(limiter.backoff(0, "one-more", ATTACKER).is_none());
    }

    /// Records whose last failure is `max_backoff` old are forgiven: a full table drops all of
    /// them at once, not one per new record.
    #[test]
    fn records_forgiven_by_time_are_all_dropped_at_once() {
        let (limiter, clock) = limiter(LoginLimits::default());
        for index in 0..MAX_FAILURE_RECORDS {
            limiter.failed(0, &format!("user-{index}"), ATTACKER);
        }
        assert_eq!(limiter.failure_records(), MAX_FAILURE_RECORDS);
        clock.advance(Duration::minutes(15));
        limiter.failed(0, "late", ATTACKER);
        assert_eq!(limiter.failure_records(), 1);
    }
}
