//! Storage backends for the ecsd engine, behind `engine::store::Store`.
//!
//! [`sqlite`] is the default, single-node backend. The backend is chosen once, at start, from the
//! database URL ([`open`]); a PostgreSQL backend for several nodes will sit beside it and pass the
//! same conformance suite (`conformance`, run by each backend's tests).

use engine::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub mod sqlite;
mod sqlite_catalog;
mod sqlite_groups;
mod sqlite_jobs;
mod sqlite_readers;
mod sqlite_state;
mod sqlite_tasks;

#[cfg(test)]
mod conformance;

/// A parsed `--database` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// `sqlite://PATH` (relative or absolute; `sqlite:///abs/path` also works).
    Sqlite(PathBuf),
    /// `sqlite::memory:` (also `sqlite://:memory:`): a throwaway database for one run, in a
    /// private temporary folder removed when ecsd stops ([`sqlite::SqliteStore::open_ephemeral`]).
    SqliteEphemeral,
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error(
        "unsupported database URL {0:?}: use sqlite://PATH (postgres:// is not supported yet)"
    )]
    Unsupported(String),
    #[error("the database URL {0:?} has no path")]
    NoPath(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, DatabaseUrlError> {
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(DatabaseUrlError::NoPath(url.to_owned()));
            }
            if path == ":memory:" {
                return Ok(DatabaseUrl::SqliteEphemeral);
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        Err(DatabaseUrlError::Unsupported(url.to_owned()))
    }
}

/// The default [`StoreOptions::read_deadline`]. The largest query the API allows (10 `tags` and
/// 10 `not-tags` keys of 10 values, a name, a page of 1,000) takes well under a second over
/// tens of thousands of servers; the deadline only stops what is far beyond that, so that no
/// query holds a reader connection for long.
pub const DEFAULT_READ_DEADLINE: Duration = Duration::from_secs(10);

/// How a backend is run, beside where its data is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long one read (a list, a job, a server…) may take, the wait for a free connection
    /// included; past it the read is stopped and fails with `StoreError::ReadDeadline`.
    /// `None`: no deadline.
    pub read_deadline: Option<Duration>,
    /// `ecsd serve --import FILE`: a snapshot file whose content replaces the database's at
    /// open (checked first: a file that is not an ecsd database changes nothing).
    pub import: Option<PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            read_deadline: Some(DEFAULT_READ_DEADLINE),
            import: None,
        }
    }
}

/// Opens the backend that `url` names, with the default options.
pub fn open(url: &DatabaseUrl) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, &StoreOptions::default())
}

/// Opens the backend that `url` names.
pub fn open_with(url: &DatabaseUrl, options: &StoreOptions) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open_with(path, options)?)),
        DatabaseUrl::SqliteEphemeral => Ok(Arc::new(sqlite::SqliteStore::open_ephemeral(options)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_parse_relative_and_absolute_paths() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://ecsd-data/ecsd.db").ok(),
            Some(DatabaseUrl::Sqlite("ecsd-data/ecsd.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").ok(),
            Some(DatabaseUrl::Sqlite("/tmp/x.db".into()))
        );
    }

    #[test]
    fn other_schemes_are_refused_with_a_clear_message() {
        let error = DatabaseUrl::parse("postgres://localhost/ecsd").err();
        assert!(error.is_some_and(|e| e.to_string().contains("postgres:// is not supported yet")));
        assert!(DatabaseUrl::parse("sqlite://").is_err());
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").ok(),
            Some(DatabaseUrl::SqliteEphemeral)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://:memory:").ok(),
            Some(DatabaseUrl::SqliteEphemeral)
        );
    }
}
