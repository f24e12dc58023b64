//! The read side of the SQLite backend: a pool of read-only connections, used from tokio's
//! blocking pool, each read bounded by a deadline.
//!
//! A read is synchronous SQLite work that can take seconds (tag filters over many servers). On
//! an async worker it would stall every other request on that worker, and ecsd runs one worker
//! per core; so [`Readers::run`] moves it to `spawn_blocking`, and the async caller only awaits.
//! The deadline keeps one expensive query from holding a reader connection (and a blocking
//! thread) for long: it covers the wait for a free connection and the statements themselves,
//! which SQLite's progress handler interrupts once it has passed.

use engine::store::StoreError;
use rusqlite::Connection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many SQLite VM instructions run between two looks at the clock: about a microsecond of
/// work, so a statement stops within microseconds of its deadline, and `Instant::now` (tens of
/// nanoseconds) costs nothing measurable.
const PROGRESS_OPS: std::ffi::c_int = 1000;

/// Read-only connections, lent to one read at a time.
#[derive(Debug)]
pub(crate) struct Readers {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
    /// `None`: reads may take as long as they take.
    deadline: Option<Duration>,
}

/// A connection lent to one read; it goes back to the pool when dropped (also on a panic).
struct Lease<'a> {
    readers: &'a Readers,
    connection: Option<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.readers
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(connection);
            self.readers.returned.notify_one();
        }
    }
}

impl Readers {
    pub(crate) fn new(connections: Vec<Connection>, deadline: Option<Duration>) -> Self {
        Self {
            idle: Mutex::new(connections),
            returned: Condvar::new(),
            deadline,
        }
    }

    fn deadline_error(&self) -> StoreError {
        StoreError::ReadDeadline {
            deadline: self.deadline.unwrap_or_default(),
        }
    }

    /// Runs `read` on a blocking thread with a free connection, inside one read transaction:
    /// all its statements see the same commit (a job and its tasks, a count and its page).
    /// The deadline counts from this call; past it the read fails with
    /// [`StoreError::ReadDeadline`], whatever it had done.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, read: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let started = Instant::now();
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || readers.run_blocking(started, read))
            .await
            .unwrap_or_else(|error| {
                Err(StoreError::Backend(format!("a read task failed: {error}")))
            })
    }

    fn run_blocking<T>(
        &self,
        started: Instant,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let deadline_at = self
            .deadline
            .map(|deadline| started.checked_add(deadline).unwrap_or(started));
        let lease = self.lease(deadline_at)?;
        let Some(connection) = lease.connection.as_ref() else {
            return Err(StoreError::Backend("internal: an empty lease".to_owned()));
        };
        let expired = Arc::new(AtomicBool::new(false));
        if let Some(at) = deadline_at {
            let expired = Arc::clone(&expired);
            // Returning true interrupts the running statement (SQLITE_INTERRUPT). Unlike an
            // interrupt sent from another thread, the handler is asked during every statement
            // of the read, so a deadline that passes between two statements is not missed.
            connection.progress_handler(
                PROGRESS_OPS,
                Some(move || {
                    let over = Instant::now() >= at;
                    if over {
                        expired.store(true, Ordering::Relaxed);
                    }
                    over
                }),
            );
        }
        let result = connection
            .unchecked_transaction()
            .map_err(|error| StoreError::Backend(error.to_string()))
            .and_then(|snapshot| {
                let result = read(&snapshot);
                // A read-only transaction: ending it cannot lose anything.
                drop(snapshot);
                result
            });
        connection.progress_handler(0, None::<fn() -> bool>);
        if expired.load(Ordering::Relaxed) {
            return Err(self.deadline_error());
        }
        result
    }

    /// Takes a free connection, waiting for one until the deadline.
    fn lease(&self, deadline_at: Option<Instant>) -> Result<Lease<'_>, StoreError> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(connection) = idle.pop() {
                return Ok(Lease {
                    readers: self,
                    connection: Some(connection),
                });
            }
            idle = match deadline_at {
                None => self
                    .returned
                    .wait(idle)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(self.deadline_error());
                    }
                    self.returned
                        .wait_timeout(idle, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every wait in these tests is bounded: a read that hangs fails the test instead.
    const BOUND: Duration = Duration::from_secs(60);

    fn pool(connections: usize, deadline: Option<Duration>) -> Arc<Readers> {
        let connections = (0..connections)
            .map(|_| Connection::open_in_memory().expect("opens"))
            .collect();
        Arc::new(Readers::new(connections, deadline))
    }

    /// Counts to a trillion: hours of work, made of data (rows), not of sleeping.
    fn endless(connection: &Connection) -> Result<i64, StoreError> {
        connection
            .query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000000)
                 SELECT count(*) FROM n",
                [],
                |row| row.get(0),
            )
            .map_err(|error| StoreError::Backend(error.to_string()))
    }

    fn one(connection: &Connection) -> Result<i64, StoreError> {
        connection
            .query_row("SELECT 1", [], |row| row.get(0))
            .map_err(|error| StoreError::Backend(error.to_string()))
    }

    #[tokio::test]
    async fn a_read_past_its_deadline_is_stopped_and_its_connection_serves_the_next() {
        // A deadline that has passed when the read starts: the progress handler stops the
        // statement at its first look at the clock, however long the statement would run.
        let readers = pool(1, Some(Duration::ZERO));
        let stopped = tokio::time::timeout(BOUND, readers.run(endless))
            .await
            .expect("stopped, not hanging");
        assert!(
            matches!(stopped, Err(StoreError::ReadDeadline { deadline }) if deadline.is_zero()),
            "{stopped:?}"
        );
        // The only connection came back, out of its transaction, and without the handler: a
        // statement shorter than one look at the clock still runs.
        let next = tokio::time::timeout(BOUND, readers.run(one))
            .await
            .expect("answers");
        assert_eq!(next.ok(), Some(1));
    }

    #[tokio::test]
    async fn waiting_for_a_free_connection_ends_at_the_deadline() {
        // No connection ever comes free.
        let readers = pool(0, Some(Duration::from_millis(20)));
        let waited = tokio::time::timeout(BOUND, readers.run(one))
            .await
            .expect("gives up, not hanging");
        assert!(
            matches!(waited, Err(StoreError::ReadDeadline { .. })),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn without_a_deadline_reads_are_not_interrupted() {
        let readers = pool(1, None);
        let counted = tokio::time::timeout(
            BOUND,
            readers.run(|connection| {
                connection
                    .query_row(
                        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
                         SELECT count(*) FROM n",
                        [],
                        |row| row.get::<_, i64>(0),
                    )
                    .map_err(|error| StoreError::Backend(error.to_string()))
            }),
        )
        .await
        .expect("answers");
        assert_eq!(counted.ok(), Some(100_000));
    }
}
