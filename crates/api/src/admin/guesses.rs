//! Wrong admin tokens, counted per client address, so that an admin API listening off
//! loopback (which it does only with a token) cannot be brute-forced at request speed.
//!
//! The rule is the one of wrong passwords ([`crate::identity::login_limits`]): the first
//! [`FREE_GUESSES`] wrong tokens from an address cost nothing; each one after that makes that
//! address wait 1 s, 2 s, 4 s… up to [`MAX_WAIT`] before its next token is even compared, the
//! right one included (else the answers would still tell a guesser when it is right). A right
//! token forgets the address's failures, and so does [`MAX_WAIT`] without a wrong one. IPv6
//! addresses count by their /64. Other addresses are not held up. The table is bounded
//! ([`MAX_RECORDS`]): a client inventing addresses cannot grow memory.
//!
//! Time is the wall clock's (a request rate, not the engine's possibly virtual time).

use engine::clock::Clock;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// Wrong tokens from one address before each further one makes it wait.
pub const FREE_GUESSES: u32 = 5;
/// The longest wait.
pub const MAX_WAIT: Duration = Duration::minutes(15);
/// How many addresses are remembered at most.
pub const MAX_RECORDS: usize = 10_000;

/// Where guesses come from: an IPv4 address, an IPv6 /64, or unknown (in-process callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Source {
    V4([u8; 4]),
    V6([u8; 8]),
    Unknown,
}

impl Source {
    fn of(peer: Option<SocketAddr>) -> Self {
        match peer.map(|peer| peer.ip().to_canonical()) {
            Some(IpAddr::V4(ip)) => Source::V4(ip.octets()),
            Some(IpAddr::V6(ip)) => {
                let mut network = [0; 8];
                network.copy_from_slice(&ip.octets()[..8]);
                Source::V6(network)
            }
            None => Source::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Record {
    wrong: u32,
    last_wrong: OffsetDateTime,
    blocked_until: OffsetDateTime,
}

/// The wrong-token counts of the admin API.
#[derive(Debug)]
pub struct TokenGuesses {
    clock: Arc<dyn Clock>,
    records: Mutex<HashMap<Source, Record>>,
}

impl TokenGuesses {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            records: Mutex::new(HashMap::new()),
        }
    }

    /// Whole seconds `peer` must still wait before its next token is compared, if any.
    pub fn wait(&self, peer: Option<SocketAddr>) -> Option<u64> {
        let now = self.clock.now();
        let records = self.lock();
        let record = records.get(&Source::of(peer))?;
        (now < record.blocked_until).then(|| {
            (record.blocked_until - now)
                .as_seconds_f64()
                .ceil()
                .max(1.0) as u64
        })
    }

    /// Records a wrong token from `peer`.
    pub fn wrong(&self, peer: Option<SocketAddr>) {
        let now = self.clock.now();
        let mut records = self.lock();
        let source = Source::of(peer);
        if !records.contains_key(&source) && records.len() >= MAX_RECORDS {
            // Forgiven records first; if none, the address waiting least goes.
            records.retain(|_, record| now - record.last_wrong < MAX_WAIT);
            if records.len() >= MAX_RECORDS {
                if let Some(oldest) = records
                    .iter()
                    .min_by_key(|(_, record)| record.blocked_until)
                    .map(|(source, _)| *source)
                {
                    records.remove(&oldest);
                }
            }
        }
        let record = records.entry(source).or_insert(Record {
            wrong: 0,
            last_wrong: now,
            blocked_until: now,
        });
        if now - record.last_wrong >= MAX_WAIT {
            record.wrong = 0;
        }
        record.wrong = record.wrong.saturating_add(1);
        record.last_wrong = now;
        if record.wrong > FREE_GUESSES {
            let doublings = (record.wrong - FREE_GUESSES - 1).min(30);
            record.blocked_until = now + Duration::seconds(1i64 << doublings).min(MAX_WAIT);
        }
    }

    /// A right token from `peer`: its failures are forgotten.
    pub fn right(&self, peer: Option<SocketAddr>) {
        self.lock().remove(&Source::of(peer));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Source, Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use engine::clock::ManualClock;

    fn peer(text: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(text.parse().expect("an address"), 40000))
    }

    fn guesses() -> (Arc<ManualClock>, TokenGuesses) {
        let clock = Arc::new(ManualClock::new(
            OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time"),
        ));
        (clock.clone(), TokenGuesses::new(clock))
    }

    #[test]
    fn five_wrong_tokens_are_free_then_each_one_doubles_the_wait() {
        let (clock, guesses) = guesses();
        let guesser = peer("203.0.113.7");
        for _ in 0..FREE_GUESSES {
            guesses.wrong(guesser);
            assert_eq!(guesses.wait(guesser), None);
        }
        guesses.wrong(guesser);
        assert_eq!(guesses.wait(guesser), Some(1));
        clock.advance(Duration::seconds(1));
        assert_eq!(guesses.wait(guesser), None, "the wait is over");
        guesses.wrong(guesser);
        assert_eq!(guesses.wait(guesser), Some(2));
        clock.advance(Duration::seconds(2));
        guesses.wrong(guesser);
        assert_eq!(guesses.wait(guesser), Some(4));
        // Another address, and another /64, are not held up; the same /64 is.
        assert_eq!(guesses.wait(peer("203.0.113.8")), None);
        for _ in 0..=FREE_GUESSES {
            guesses.wrong(peer("2001:db8:1:2::1"));
        }
        assert_eq!(guesses.wait(peer("2001:db8:1:2::ffff")), Some(1));
        assert_eq!(guesses.wait(peer("2001:db8:1:3::1")), None);
    }

    #[test]
    fn the_wait_is_capped_and_a_right_token_or_a_quiet_spell_forgets() {
        let (clock, guesses) = guesses();
        let guesser = peer("198.51.100.1");
        for _ in 0..60 {
            guesses.wrong(guesser);
        }
        assert_eq!(guesses.wait(guesser), Some(MAX_WAIT.whole_seconds() as u64));
        guesses.right(guesser);
        assert_eq!(guesses.wait(guesser), None);
        for _ in 0..=FREE_GUESSES {
            guesses.wrong(guesser);
        }
        assert_eq!(guesses.wait(guesser), Some(1));
        clock.advance(MAX_WAIT);
        guesses.wrong(guesser);
        assert_eq!(guesses.wait(guesser), None, "counting starts again");
    }

    #[test]
    fn the_table_stays_bounded() {
        let (_clock, guesses) = guesses();
        for n in 0..(MAX_RECORDS as u32 + 50) {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n);
            guesses.wrong(Some(SocketAddr::new(IpAddr::V4(ip), 1)));
        }
        assert!(guesses.lock().len() <= MAX_RECORDS);
    }
}
