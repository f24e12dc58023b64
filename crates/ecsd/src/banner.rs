//! The start banner: where ecsd listens, which account to use, and what the database is —
//! where it is (absolute, so a relative `--database` run from another folder is visible) and
//! what it holds, so a "fresh" run that carries old state, or one that starts empty in another
//! folder, shows it at once — and one line on what to run next.
//!
//! As text it is a block on stderr; with `--log-format json` it is one JSON log event
//! (`target` `ecsd::start`), so a log collector reads every line, and it leaves the documented
//! default secrets out.

use crate::logging::{self, LogFormat};
use crate::{config, ServeArgs, DEFAULT_SECRET_KEY};
use api::identity::auth::Auth;
use engine::Engine;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use store::DatabaseUrl;

/// The database's location and counts, as the banner prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseContents {
    /// `sqlite:///absolute/path/ecsd.db`.
    pub location: String,
    /// `None` when the counts could not be read (the banner says so; serving goes on).
    pub counts: Option<Counts>,
    /// The `--import` file a throwaway database was filled from: its counts are not read (the
    /// file-based count needs a file), so the banner names the snapshot instead.
    pub imported_into_memory: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub jobs: u64,
    pub unfinished_jobs: u64,
    pub servers: u64,
    pub projects: u64,
}

impl DatabaseContents {
    /// Reads the location and counts of the (already opened) database at `url`.
    /// `imported` is the `--import` snapshot ecsd started from, if any.
    pub async fn read(url: &str, engine: &Engine, imported: Option<&Path>) -> Self {
        if let Ok(DatabaseUrl::SqliteEphemeral) = DatabaseUrl::parse(url) {
            let location = "sqlite::memory: (throwaway: removed when ecsd stops)".to_owned();
            return match imported {
                Some(snapshot) => Self {
                    location,
                    counts: None,
                    imported_into_memory: Some(snapshot.display().to_string()),
                },
                None => Self {
                    location,
                    counts: Some(Counts {
                        jobs: 0,
                        unfinished_jobs: 0,
                        servers: 0,
                        projects: 0,
                    }),
                    imported_into_memory: None,
                },
            };
        }
        let Ok(DatabaseUrl::Sqlite(path)) = DatabaseUrl::parse(url) else {
            return Self {
                location: url.to_owned(),
                counts: None,
                imported_into_memory: None,
            };
        };
        let path = absolute(&path);
        let unfinished = engine.unfinished_jobs().await.ok();
        let counts = match (sqlite_counts(&path), unfinished) {
            (Ok((jobs, servers, projects)), Some(unfinished_jobs)) => Some(Counts {
                jobs,
                unfinished_jobs,
                servers,
                projects,
            }),
            (Err(error), _) => {
                tracing::warn!(%error, "cannot count what the database holds");
                None
            }
            (_, None) => None,
        };
        Self {
            location: format!("sqlite://{}", path.display()),
            counts,
            imported_into_memory: None,
        }
    }

    /// `3 jobs (1 unfinished), 2 servers, 1 project` or `nothing yet (a new database)`.
    pub fn summary(&self) -> String {
        if let Some(snapshot) = &self.imported_into_memory {
            return format!("what {snapshot} held (imported at start)");
        }
        match self.counts {
            None => "(could not be counted)".to_owned(),
            Some(counts) if counts.jobs == 0 && counts.servers == 0 => {
                "nothing yet (no jobs, no servers)".to_owned()
            }
            Some(counts) => format!(
                "{} job{} ({} unfinished), {} server{}, {} project{} (kept from earlier runs; use another --database to start empty)",
                counts.jobs,
                plural(counts.jobs),
                counts.unfinished_jobs,
                counts.servers,
                plural(counts.servers),
                counts.projects,
                plural(counts.projects),
            ),
        }
    }
}

/// The profile, and the clock when it is not the wall clock (the one thing that makes jobs
/// stand still until told).
fn latency_line(args: &ServeArgs) -> String {
    match args.clock {
        engine::clock::ClockMode::System => args.latency.as_str().to_owned(),
        engine::clock::ClockMode::Virtual => format!(
            "{} on a virtual clock (jobs move when it does: POST /_ecsd/clock {{\"advance\": \"60s\"}})",
            args.latency.as_str()
        ),
    }
}

fn plural(count: u64) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}

/// The path with symbolic links and `..` resolved when it exists, else made absolute.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_owned())
}

/// The stored jobs and servers and the projects that have either, read on a read-only
/// connection of its own, beside the store's. (It knows the SQLite schema: the banner test
/// in `tests/it/observability.rs` fails if the schema moves away from it.)
fn sqlite_counts(path: &Path) -> rusqlite::Result<(u64, u64, u64)> {
    let connection = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.query_row(
        "SELECT (SELECT count(*) FROM jobs), (SELECT count(*) FROM servers), \
         (SELECT count(*) FROM (SELECT project_id FROM jobs UNION SELECT project_id FROM servers))",
        [],
        |row| {
            let count = |index: usize| -> rusqlite::Result<u64> {
                Ok(u64::try_from(row.get::<_, i64>(index)?).unwrap_or(0))
            };
            Ok((count(0)?, count(1)?, count(2)?))
        },
    )
}

/// One line on what to run next: a signed call with the bundled client.
pub fn next_step(scheme: &str, address: SocketAddr) -> String {
    let endpoint = if scheme == "http" && address.to_string() == "127.0.0.1:8774" {
        String::new()
    } else {
        format!(" --endpoint {scheme}://{address}")
    };
    format!(
        "ecsd call GET '/v1/{{project_id}}/cloudservers/detail'{endpoint}   (signs as the local account; README \"The two commands\")"
    )
}

/// Prints the banner in the log's format.
pub fn print(
    args: &ServeArgs,
    auth: &Auth,
    scheme: &str,
    address: SocketAddr,
    contents: &DatabaseContents,
) {
    let local = &args.identity;
    let auth = match auth {
        Auth::Off => "OFF (--auth off): no credentials are checked".to_owned(),
        Auth::Verify(identity) => format!(
            "AK/SK signatures and tokens are verified; {} account(s)",
            identity.accounts.iter().count()
        ),
    };
    if logging::format() == LogFormat::Json {
        tracing::info!(
            target: "ecsd::start",
            version = env!("CARGO_PKG_VERSION"),
            listening = %format_args!("{scheme}://{address}"),
            database = %contents.location,
            holds = %contents.summary(),
            latency = args.latency.as_str(),
            clock = args.clock.as_str(),
            auth = %auth,
            access_key = %local.account.access_key,
            project_id = %local.account.project_id,
            next = %next_step(scheme, address),
            "ecsd started"
        );
        return;
    }
    // The documented defaults are printed (they are in the README); anything else is not.
    let secret = if local.account.secret_key == DEFAULT_SECRET_KEY {
        format!("{DEFAULT_SECRET_KEY} (the documented default)")
    } else {
        "(from ECSD_SECRET_KEY / --secret-key)".to_owned()
    };
    let password = if local.password == config::DEFAULT_PASSWORD {
        format!("{} (the documented default)", config::DEFAULT_PASSWORD)
    } else {
        "(from ECSD_PASSWORD / --password)".to_owned()
    };
    eprintln!(
        "ecsd {} listening on {scheme}://{address}\n  database: {}\n  holds:    {}\n  latency:  {}\n  auth:     {auth}\n  account:  access key {}, secret key {secret}, project {} ({}, region {})\n  tokens:   POST {scheme}://{address}/v3/auth/tokens as user {} / {password}, domain {}\n  watch:    {scheme}://{address}/_ecsd/ui (dashboard), {scheme}://{address}/metrics, {scheme}://{address}/_ecsd/openapi.json\n  next:     {}",
        env!("CARGO_PKG_VERSION"),
        contents.location,
        contents.summary(),
        latency_line(args),
        local.account.access_key,
        local.account.project_id,
        local.project_name,
        local.region,
        local.user,
        local.domain,
        next_step(scheme, address),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throwaway_database_filled_by_import_is_not_called_empty() {
        let imported = DatabaseContents {
            location: "sqlite::memory:".to_owned(),
            counts: None,
            imported_into_memory: Some("/tmp/snapshot.db".to_owned()),
        };
        assert_eq!(
            imported.summary(),
            "what /tmp/snapshot.db held (imported at start)"
        );
        let empty = DatabaseContents {
            imported_into_memory: None,
            counts: Some(Counts {
                jobs: 0,
                unfinished_jobs: 0,
                servers: 0,
                projects: 0,
            }),
            ..imported
        };
        assert_eq!(empty.summary(), "nothing yet (no jobs, no servers)");
    }
}
