//! Time, injected.
//!
//! Everything in the engine that depends on time asks a [`Clock`], so tests can drive jobs through
//! their states with a [`ManualClock`] instead of sleeping. [`SystemClock`] is the one place that
//! reads the wall clock. [`VirtualClock`] is the user's frozen clock (`--clock virtual`): it
//! starts at the wall time and moves only forward, when the admin API says so.

use std::sync::{Arc, Mutex};
use time::{Duration, OffsetDateTime};

/// A source of "now". Implementations must be cheap: the engine asks on every step.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock, in UTC.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one sanctioned read of the wall clock (clippy.toml forbids it elsewhere).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *now += by;
    }

    /// Sets the clock to `to` (which may be in the past: tests use this to fake skew).
    pub fn set(&self, to: OffsetDateTime) {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Which clock the engine runs on (`--clock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// The wall clock.
    #[default]
    System,
    /// A [`VirtualClock`]: still until advanced or set.
    Virtual,
}

impl ClockMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "system" => Some(ClockMode::System),
            "virtual" => Some(ClockMode::Virtual),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClockMode::System => "system",
            ClockMode::Virtual => "virtual",
        }
    }
}

/// Why a [`VirtualClock`] did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockMoveError {
    /// Time never goes back: stored schedules, retention and token lifetimes assume it.
    #[error("the clock does not go backwards: it is {now}, {requested} is earlier")]
    Backwards {
        now: OffsetDateTime,
        requested: OffsetDateTime,
    },
    #[error("the clock cannot move that far")]
    OutOfRange,
}

/// The clock of `--clock virtual`: starts where it is told (the wall time at start) and then
/// moves only by [`VirtualClock::advance`] and [`VirtualClock::set`], never backwards. Unlike
/// [`ManualClock`] (a test tool that may fake skew), it refuses to go back, because every job
/// schedule, retention cut-off and token lifetime stored under it assumes time only grows.
/// Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl VirtualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A virtual clock starting at the wall time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward by `by` (not negative); answers the new time.
    pub fn advance(&self, by: Duration) -> Result<OffsetDateTime, ClockMoveError> {
        let mut now = self.lock();
        let requested = now.checked_add(by).ok_or(ClockMoveError::OutOfRange)?;
        if requested < *now {
            return Err(ClockMoveError::Backwards {
                now: *now,
                requested,
            });
        }
        *now = requested;
        Ok(requested)
    }

    /// Sets the clock to `to`, which must not be before now; answers the new time.
    pub fn set(&self, to: OffsetDateTime) -> Result<OffsetDateTime, ClockMoveError> {
        let mut now = self.lock();
        if to < *now {
            return Err(ClockMoveError::Backwards {
                now: *now,
                requested: to,
            });
        }
        *now = to;
        Ok(to)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OffsetDateTime> {
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> OffsetDateTime {
        *self.lock()
    }
}

/// Milliseconds since the Unix epoch: the form times take in storage.
pub fn to_unix_ms(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_unix_ms`]; out-of-range values clamp to the epoch rather than panic.
pub fn from_unix_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_advanced_and_clones_share_time() {
        let clock = ManualClock::new(datetime!(2026-01-01 00:00 UTC));
        let other = clock.clone();
        clock.advance(Duration::milliseconds(1500));
        assert_eq!(other.now(), datetime!(2026-01-01 00:00:01.5 UTC));
    }

    #[test]
    fn virtual_clock_moves_forward_only_and_refuses_going_back_without_moving() {
        let clock = VirtualClock::new(datetime!(2026-01-01 00:00 UTC));
        let shared = clock.clone();
        assert_eq!(
            clock.advance(Duration::minutes(10)),
            Ok(datetime!(2026-01-01 00:10 UTC))
        );
        assert_eq!(shared.now(), datetime!(2026-01-01 00:10 UTC));
        assert!(matches!(
            clock.advance(Duration::seconds(-1)),
            Err(ClockMoveError::Backwards { .. })
        ));
        assert!(matches!(
            clock.set(datetime!(2026-01-01 00:09 UTC)),
            Err(ClockMoveError::Backwards { .. })
        ));
        assert_eq!(clock.now(), datetime!(2026-01-01 00:10 UTC));
        assert_eq!(
            clock.set(datetime!(2026-02-01 00:00 UTC)),
            Ok(datetime!(2026-02-01 00:00 UTC))
        );
        // Setting to the present is not going back.
        assert!(clock.set(datetime!(2026-02-01 00:00 UTC)).is_ok());
    }

    #[test]
    fn unix_ms_round_trips_with_millisecond_precision() {
        let at = datetime!(2016-04-25 20:04:34.604 UTC);
        assert_eq!(from_unix_ms(to_unix_ms(at)), at);
    }
}
