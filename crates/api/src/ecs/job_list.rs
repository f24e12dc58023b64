//! `GET /v1/{project_id}/jobs`: the project's jobs, newest first — ecsd's own extension, not in
//! the reference (the real ECS API has no job list; README "Watching ecsd" documents it).
//!
//! Each item is the job query's body ([`JobView`]), so a client that reads one job reads a
//! list. Filters: `status` and `job_type` (comma-separated, any of), `since` (jobs accepted at
//! or after an RFC 3339 instant), `limit` (1–[`MAX_LIMIT`], default [`DEFAULT_LIMIT`]) and
//! `marker` (the last `job_id` of the previous page; answered as `next_marker` while more
//! jobs follow). Any other parameter is refused, so a misspelt filter does not silently list
//! everything. Jobs past their retention are not listed, like the job query answers them.

use crate::ecs::jobs::JobView;
use crate::error::ApiError;
use crate::{body::query_pairs, project_from_path, AppState, Path};
use axum::extract::{RawQuery, State};
use axum::Json;
use engine::job::{is_job_id, JobKind, JobStatus};
use engine::store::JobQuery;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

/// The most jobs one page holds. A job's view carries its sub-jobs (up to one per server of a
/// create), so pages stay well under the server list's 1,000.
pub const MAX_LIMIT: u32 = 100;
/// Jobs per page when `limit` is not given (the server list's default).
pub const DEFAULT_LIMIT: u32 = 25;

#[derive(Debug, Serialize)]
pub struct JobListView {
    pub jobs: Vec<JobView>,
    /// The marker of the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
}

/// The list's filters from the query string; every problem is 400 `Ecs.0005` naming the
/// parameter.
pub fn parse_query(project_id: &str, raw: Option<&str>) -> Result<JobQuery, ApiError> {
    let mut query = JobQuery {
        project_id: project_id.to_owned(),
        limit: DEFAULT_LIMIT,
        ..JobQuery::default()
    };
    for (key, value) in query_pairs(raw)? {
        match key.as_str() {
            _ if value.is_empty() => {}
            "status" => {
                for item in value.split(',') {
                    let status = JobStatus::parse(item.trim()).ok_or_else(|| {
                        ApiError::invalid_field(
                            "status",
                            format!("unknown status {item:?} (INIT, RUNNING, SUCCESS or FAIL)"),
                        )
                    })?;
                    if !query.statuses.contains(&status) {
                        query.statuses.push(status);
                    }
                }
            }
            "job_type" => {
                for item in value.split(',') {
                    let kind = JobKind::from_job_type(item.trim()).ok_or_else(|| {
                        ApiError::invalid_field(
                            "job_type",
                            format!("unknown job type {item:?} (e.g. createServer, deleteVMs)"),
                        )
                    })?;
                    if !query.kinds.contains(&kind) {
                        query.kinds.push(kind);
                    }
                }
            }
            "since" => {
                let at = time::OffsetDateTime::parse(&value, &Rfc3339).map_err(|_| {
                    ApiError::invalid_field(
                        "since",
                        format!("{value:?} is not an RFC 3339 time (e.g. 2026-12-06T07:50:10Z)"),
                    )
                })?;
                query.since = Some(engine::clock::to_unix_ms(at));
            }
            "limit" => {
                query.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                    .ok_or_else(|| {
                        ApiError::invalid_field(
                            "limit",
                            format!("must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?;
            }
            "marker" => {
                if !is_job_id(&value) {
                    return Err(ApiError::invalid_field(
                        "marker",
                        format!("{value:?} is not a job ID (32 lowercase hex digits)"),
                    ));
                }
                query.marker = Some(value);
            }
            other => {
                return Err(ApiError::invalid_field(
                    other,
                    "unknown parameter (the job list takes status, job_type, since, limit and marker)",
                ));
            }
        }
    }
    Ok(query)
}

/// `GET /v1/{project_id}/jobs` (see the module comment).
pub async fn job_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<JobListView>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let mut query = parse_query(project_id, raw.as_deref())?;
    let limit = query.limit as usize;
    // One more than the page tells whether another page follows.
    query.limit += 1;
    let mut jobs = state.engine.jobs(query).await?;
    let more = jobs.len() > limit;
    jobs.truncate(limit);
    let next_marker = more
        .then(|| jobs.last().map(|job| job.id.clone()))
        .flatten();
    Ok(Json(JobListView {
        jobs: jobs.iter().map(JobView::from_record).collect(),
        next_marker,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_and_message(raw: &str) -> (String, String) {
        let error = parse_query("p", Some(raw)).expect_err("refused");
        (error.code.code.to_owned(), error.message)
    }

    #[test]
    fn filters_parse_into_the_store_query() {
        let query = parse_query(
            "p",
            Some("status=FAIL,RUNNING&job_type=createServer&job_type=deleteVMs&since=2026-12-06T07:50:10.5Z&limit=7&marker=0123456789abcdef0123456789abcdef"),
        )
        .expect("parses");
        assert_eq!(query.statuses, [JobStatus::Fail, JobStatus::Running]);
        assert_eq!(
            query.kinds,
            [JobKind::CreateServers, JobKind::DeleteServers]
        );
        assert_eq!(query.since, Some(1_796_543_410_500));
        assert_eq!(query.limit, 7);
        assert_eq!(
            query.marker.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        let default = parse_query("p", None).expect("parses");
        assert_eq!(default.limit, DEFAULT_LIMIT);
        assert!(default.statuses.is_empty() && default.kinds.is_empty());
    }

    #[test]
    fn bad_filters_are_refused_naming_the_parameter() {
        for (raw, field) in [
            ("status=DONE", "status"),
            ("status=FAIL,nope", "status"),
            ("job_type=createServers", "job_type"),
            ("since=yesterday", "since"),
            ("since=1764000000", "since"),
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=-1", "limit"),
            ("limit=ten", "limit"),
            ("marker=not-a-job", "marker"),
            ("type=createServer", "type"),
        ] {
            let (code, message) = code_and_message(raw);
            assert_eq!(code, "Ecs.0005", "{raw}");
            assert!(message.contains(field), "{raw}: {message}");
        }
        assert_eq!(
            parse_query("p", Some("limit=100"))
                .expect("the maximum")
                .limit,
            MAX_LIMIT
        );
    }
}
