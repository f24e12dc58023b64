//! The job list (ecsd's `GET /v1/{project_id}/jobs`, not in the reference): its index
//! (migration 6 → 7) and its read.
//!
//! Job ids are UUIDv7 (`engine::job::new_job_id`): ordered by the acceptance's millisecond.
//! So one index on `(project_id, id)` serves every page newest first: the marker and `since`
//! are bounds on `id`, and the scan stops after `limit` matches. `jobs` is a `WITHOUT ROWID`
//! table keyed by `id`, whose other indexes already end in `id`; this one leads with the
//! project, which none of them does.

use crate::sqlite::{backend, raw_job_from_row, JOB_COLUMNS};
use engine::job::{JobRecord, JobStatus};
use engine::store::{JobQuery, StoreError};
use rusqlite::types::Value;
use rusqlite::Connection;

/// 6 → 7: the index of the job list.
pub const MIGRATION_JOB_LIST: &str = r#"
CREATE INDEX jobs_by_project ON jobs (project_id, id);
"#;

/// The smallest job id of a job accepted at `ms` (unix ms): its first 12 hex digits are the
/// milliseconds, the rest zero, so `id >= since_id(ms)` is "accepted at or after `ms`".
fn since_id(ms: i64) -> String {
    let ms = u64::try_from(ms).unwrap_or(0).min((1 << 48) - 1);
    format!("{ms:012x}{}", "0".repeat(20))
}

/// The jobs of `query`, newest first, with their status at `query.now`. `INIT` and `RUNNING`
/// differ only in the schedules (both are unfinished rows): SQL narrows to unfinished rows and
/// the computed status picks, so a page may read more rows than it returns, never more than
/// the project's unfinished jobs beyond it (the read deadline bounds it anyway).
pub(crate) fn list_jobs(
    connection: &Connection,
    query: &JobQuery,
) -> Result<Vec<JobRecord>, StoreError> {
    let (sql, values) = statement(query);
    let mut statement = connection.prepare_cached(&sql).map_err(backend)?;
    let mut rows = statement
        .query(rusqlite::params_from_iter(values))
        .map_err(backend)?;
    let limit = usize::try_from(query.limit).unwrap_or(usize::MAX);
    let mut jobs = Vec::new();
    while jobs.len() < limit {
        let Some(row) = rows.next().map_err(backend)? else {
            break;
        };
        let mut job = raw_job_from_row(row).map_err(backend)?.decode()?;
        engine::schedule::job_at(&mut job, query.now);
        if query.statuses.is_empty() || query.statuses.contains(&job.status) {
            jobs.push(job);
        }
    }
    Ok(jobs)
}

/// The list's SQL and its parameters.
pub(crate) fn statement(query: &JobQuery) -> (String, Vec<Value>) {
    let mut sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE project_id = ?1 AND (end_time IS NULL OR end_time >= ?2)"
    );
    let mut values: Vec<Value> = vec![
        Value::Text(query.project_id.clone()),
        Value::Integer(query.finished_since),
    ];
    if let Some(marker) = &query.marker {
        values.push(Value::Text(marker.clone()));
        sql.push_str(&format!(" AND id < ?{}", values.len()));
    }
    if let Some(since) = query.since {
        values.push(Value::Text(since_id(since)));
        sql.push_str(&format!(" AND id >= ?{}", values.len()));
        values.push(Value::Integer(since));
        sql.push_str(&format!(" AND begin_time >= ?{}", values.len()));
    }
    if !query.kinds.is_empty() {
        let mut placeholders = Vec::new();
        for kind in &query.kinds {
            values.push(Value::Text(kind.job_type().to_owned()));
            placeholders.push(format!("?{}", values.len()));
        }
        sql.push_str(&format!(" AND job_type IN ({})", placeholders.join(", ")));
    }
    let unfinished_wanted = query.statuses.iter().any(|status| !status.is_terminal());
    if !query.statuses.is_empty() {
        // Finished rows hold their final status; unfinished rows are INIT until their end.
        let mut terms = Vec::new();
        if unfinished_wanted {
            terms.push("end_time IS NULL".to_owned());
        }
        for status in query.statuses.iter().filter(|status| status.is_terminal()) {
            values.push(Value::Text(status.as_str().to_owned()));
            terms.push(format!(
                "(end_time IS NOT NULL AND status = ?{})",
                values.len()
            ));
        }
        sql.push_str(&format!(" AND ({})", terms.join(" OR ")));
    }
    sql.push_str(" ORDER BY id DESC");
    // Without a status to compute, SQL can stop at the page's end.
    let post_filter = unfinished_wanted
        && !(query.statuses.contains(&JobStatus::Init)
            && query.statuses.contains(&JobStatus::Running));
    if !post_filter {
        values.push(Value::Integer(i64::from(query.limit)));
        sql.push_str(&format!(" LIMIT ?{}", values.len()));
    }
    (sql, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_ids_bound_the_ids_of_that_millisecond() {
        let at = engine::clock::from_unix_ms(1_764_000_000_123);
        let id = engine::job::new_job_id(at);
        assert!(id >= since_id(1_764_000_000_123), "{id}");
        assert!(id < since_id(1_764_000_000_124), "{id}");
        assert_eq!(since_id(-5), "0".repeat(32));
    }
}
