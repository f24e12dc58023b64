//! `GET /v1/{project_id}/jobs/{job_id}`: the job query
//! (`apis_recommended/job_status_management/querying_job_execution_status.rst`).
//!
//! The body follows what the real service answers (JOB-FACTS.md, a captured RUNNING body and
//! the documented finished ones): while a job or sub-job is unfinished its `end_time` is `""`
//! (not `null`) and it has no `error_code` or `fail_reason` keys at all; once finished
//! `end_time` is set, and `error_code`/`fail_reason` are `null` on success and set on failure.
//! Sub-jobs carry `entities.server_id` from the start.

use crate::error::ApiError;
use crate::error_codes;
use crate::time_format::job_time;
use crate::{project_from_path, AppState, Path};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use engine::job::{is_job_id, JobRecord, JobStatus, TaskRecord};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Serialize)]
pub struct JobView {
    pub status: &'static str,
    pub entities: JobEntities,
    pub job_id: String,
    pub job_type: &'static str,
    pub begin_time: String,
    /// `""` until the job is finished.
    pub end_time: String,
    /// Absent until the job is finished ([`outcome`]); then `null` unless it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<Option<String>>,
}

/// `end_time`: `""` while unfinished (the real service's value), else the time.
fn end_time(end: Option<i64>) -> String {
    end.map(job_time).unwrap_or_default()
}

/// `error_code` or `fail_reason` of a job or sub-job in `status`: absent (`None`) while it
/// runs, `null` once it succeeded, `value` once it failed.
fn outcome(status: JobStatus, value: impl FnOnce() -> Option<String>) -> Option<Option<String>> {
    if !status.is_terminal() {
        None
    } else if status == JobStatus::Fail {
        Some(value())
    } else {
        Some(None)
    }
}

#[derive(Debug, Serialize)]
pub struct JobEntities {
    /// Set for single-target jobs, which have no sub-jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_jobs_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_jobs: Option<Vec<SubJobView>>,
}

#[derive(Debug, Serialize)]
pub struct SubJobView {
    pub status: &'static str,
    pub entities: SubJobEntities,
    pub job_id: String,
    pub job_type: &'static str,
    pub begin_time: String,
    pub end_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<Option<String>>,
}

#[derive(Debug, Serialize)]
pub struct SubJobEntities {
    pub server_id: String,
    /// The NIC a NIC sub-job adds or deletes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nic_id: Option<String>,
    /// Why the sub-job failed; only on failed sub-jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errorcode_message: Option<String>,
}

impl JobView {
    pub fn from_record(job: &JobRecord) -> Self {
        let entities = if let Some(sub_job_type) = job.kind.sub_job_type() {
            let sub_jobs: Vec<SubJobView> = job
                .tasks
                .iter()
                .map(|task| SubJobView::from_task(task, sub_job_type))
                .collect();
            JobEntities {
                server_id: None,
                sub_jobs_total: Some(sub_jobs.len()),
                sub_jobs: Some(sub_jobs),
            }
        } else {
            JobEntities {
                server_id: job.tasks.first().map(|task| task.server_id.clone()),
                sub_jobs_total: None,
                sub_jobs: None,
            }
        };
        JobView {
            status: job.status.as_str(),
            entities,
            job_id: job.id.clone(),
            job_type: job.kind.job_type(),
            begin_time: job_time(job.begin_time),
            end_time: end_time(job.end_time),
            error_code: outcome(job.status, || {
                Some(
                    job.error_code
                        .clone()
                        .unwrap_or_else(|| error_codes::COMMON_0021.code.to_owned()),
                )
            }),
            fail_reason: outcome(job.status, || {
                Some(
                    job.fail_reason
                        .clone()
                        .unwrap_or_else(|| error_codes::COMMON_0021.message.to_owned()),
                )
            }),
        }
    }
}

impl SubJobView {
    fn from_task(task: &TaskRecord, job_type: &'static str) -> Self {
        let failed = task.status == JobStatus::Fail;
        SubJobView {
            status: task.status.as_str(),
            entities: SubJobEntities {
                server_id: task.server_id.clone(),
                nic_id: task.operation.nic_id().map(str::to_owned),
                errorcode_message: failed.then(|| task.fail_reason.clone()).flatten(),
            },
            job_id: task.id.clone(),
            job_type,
            begin_time: job_time(task.begin_time),
            end_time: end_time(task.end_time),
            error_code: outcome(task.status, || task.error_code.clone()),
            fail_reason: outcome(task.status, || task.fail_reason.clone()),
        }
    }
}

fn unknown_job(job_id: &str) -> ApiError {
    ApiError::new(
        error_codes::COMMON_0011,
        format!("Failed to query the job: {job_id:?} is not a valid job ID of this project."),
    )
}

/// An unknown, malformed or foreign job id is the reference's invalid-job-ID case: 400
/// `Common.0011` — the same answer for all three, so other projects' job ids leak nothing.
pub async fn job_view(
    State(state): State<AppState>,
    Path((project_id, job_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    if !is_job_id(&job_id) {
        return Err(unknown_job(&job_id));
    }
    // A job past its retention is gone, purged yet or not, and from the cache too.
    let cutoff = state.engine.retention_cutoff();
    let mut retry_after = None;
    let body = match state.finished_jobs.get(project_id, &job_id, cutoff) {
        Some(body) => body,
        None => {
            let era = state.finished_jobs.era();
            let job = state
                .engine
                .job(project_id, &job_id)
                .await?
                .filter(|job| job.end_time.is_none_or(|end| end >= cutoff))
                .ok_or_else(|| unknown_job(&job_id))?;
            let body = Bytes::from(
                serde_json::to_vec(&JobView::from_record(&job)).map_err(ApiError::internal)?,
            );
            if let (true, Some(end_time)) = (job.status.is_terminal(), job.end_time) {
                state.finished_jobs.insert_read_in(
                    era,
                    project_id,
                    &job_id,
                    end_time,
                    body.clone(),
                );
            }
            retry_after = retry_after_seconds(&job, engine::clock::to_unix_ms(state.engine.now()));
            body
        }
    };
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    }
    Ok(response)
}

/// The longest `Retry-After` ecsd sends. The schedules run on the engine's clock, which a
/// virtual or paused clock can set apart from the client's: a short cap keeps a client that
/// honours the hint from sleeping past a job that ends sooner in wall time.
pub const MAX_RETRY_AFTER_SECONDS: i64 = 10;

/// The `Retry-After` of an unfinished job's answer: whole seconds until the next end of one
/// of its unfinished sub-jobs is due (at `now`, unix ms), from 1 (an end due or past due, not
/// yet written) to [`MAX_RETRY_AFTER_SECONDS`]. `None` for a finished job: nothing will change.
///
/// Safe for every client checked (README, "The job list and Retry-After"): the header is
/// only defined with 3xx, 413, 429 and 503, and the SDKs, keystoneauth, urllib3's retries
/// and golangsdk read it on those statuses at most, never on a job query's 200.
pub fn retry_after_seconds(job: &JobRecord, now: i64) -> Option<i64> {
    if job.status.is_terminal() {
        return None;
    }
    let next_end = job
        .tasks
        .iter()
        .filter(|task| !task.status.is_terminal())
        .map(TaskRecord::end_due)
        .min()?;
    let wait_ms = (next_end - now).max(0);
    Some(((wait_ms + 999) / 1000).clamp(1, MAX_RETRY_AFTER_SECONDS))
}

/// The rendered views of recently read finished jobs. A finished job never changes until its
/// retention ends, so its view can be served from memory on every node; clients poll finished
/// jobs again and again. Each entry keeps its job's end time, so that an entry past the
/// retention is never served (the job is purged, or about to be). Bounded: two generations of
/// at most `capacity / 2` entries each; the older generation is dropped when the newer fills.
#[derive(Debug)]
pub struct FinishedJobCache {
    generations: Mutex<Generations>,
    capacity: usize,
}

/// A cached view: its job's project, end time (Unix ms) and rendered body.
#[derive(Debug, Clone)]
struct Entry {
    project_id: String,
    end_time: i64,
    body: Bytes,
}

#[derive(Debug, Default)]
struct Generations {
    current: HashMap<String, Entry>,
    previous: HashMap<String, Entry>,
    /// Counts [`FinishedJobCache::clear`]s: a view read from the store before a reset or a
    /// restore must not be cached after it ([`FinishedJobCache::insert_read_in`]).
    era: u64,
}

impl FinishedJobCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            generations: Mutex::new(Generations::default()),
            capacity: capacity.max(2),
        }
    }

    /// The cached view of `job_id`, if it is cached, belongs to `project_id` and its job ended
    /// at or after `cutoff` (Unix ms; an older entry is dropped).
    pub fn get(&self, project_id: &str, job_id: &str, cutoff: i64) -> Option<Bytes> {
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        // What the answer needs, without copying the entry's strings (a hit is the job query's
        // common case).
        let seen = |entry: &Entry| {
            (
                entry.end_time,
                entry.project_id == project_id,
                entry.body.clone(),
            )
        };
        let (end_time, same_project, body) = match generations.current.get(job_id) {
            Some(entry) => seen(entry),
            None => {
                let entry = generations.previous.remove(job_id)?;
                let found = seen(&entry);
                self.insert_locked(&mut generations, job_id.to_owned(), entry);
                found
            }
        };
        if end_time < cutoff {
            generations.current.remove(job_id);
            return None;
        }
        same_project.then_some(body)
    }

    /// Forgets every view (after a reset or a restore replaced the jobs).
    pub fn clear(&self) {
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        generations.current.clear();
        generations.previous.clear();
        generations.era += 1;
    }

    /// The current era: take it before reading a job from the store, and insert its view with
    /// [`FinishedJobCache::insert_read_in`].
    pub fn era(&self) -> u64 {
        self.generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .era
    }

    /// Caches a view read from the store in `era`, unless the cache was cleared since (the
    /// view may be of a job a reset or a restore replaced).
    pub fn insert_read_in(
        &self,
        era: u64,
        project_id: &str,
        job_id: &str,
        end_time: i64,
        body: Bytes,
    ) {
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        if generations.era != era {
            return;
        }
        let entry = Entry {
            project_id: project_id.to_owned(),
            end_time,
            body,
        };
        self.insert_locked(&mut generations, job_id.to_owned(), entry);
    }

    pub fn insert(&self, project_id: &str, job_id: &str, end_time: i64, body: Bytes) {
        let mut generations = self.generations.lock().unwrap_or_else(|p| p.into_inner());
        let entry = Entry {
            project_id: project_id.to_owned(),
            end_time,
            body,
        };
        self.insert_locked(&mut generations, job_id.to_owned(), entry);
    }

    fn insert_locked(&self, generations: &mut Generations, job_id: String, entry: Entry) {
        if generations.current.len() >= self.capacity / 2 {
            generations.previous = std::mem::take(&mut generations.current);
        }
        generations.current.insert(job_id, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running_job(ends: &[(JobStatus, i64)]) -> JobRecord {
        let tasks = ends
            .iter()
            .enumerate()
            .map(|(index, (status, due))| TaskRecord {
                id: format!("t{index}"),
                job_id: "j".to_owned(),
                index: index as i64,
                server_id: "s".to_owned(),
                operation: engine::compute::Operation::StartServer,
                status: *status,
                schedule: vec![*due],
                fault: None,
                begin_time: 0,
                end_time: None,
                error_code: None,
                fail_reason: None,
            })
            .collect();
        JobRecord {
            id: "j".to_owned(),
            project_id: "p".to_owned(),
            kind: engine::job::JobKind::StartServers,
            status: JobStatus::Running,
            begin_time: 0,
            end_time: None,
            error_code: None,
            fail_reason: None,
            tasks,
        }
    }

    #[test]
    fn retry_after_counts_to_the_next_unfinished_end_within_bounds() {
        // The finished task's end does not count; the next one is 2.5 s away: 3 s.
        let job = running_job(&[(JobStatus::Success, 1_000), (JobStatus::Init, 3_500)]);
        assert_eq!(retry_after_seconds(&job, 1_000), Some(3));
        // Due or past due but not written yet: poll again in a second.
        assert_eq!(retry_after_seconds(&job, 3_500), Some(1));
        assert_eq!(retry_after_seconds(&job, 9_000), Some(1));
        // Far away: capped.
        assert_eq!(
            retry_after_seconds(&job, -600_000),
            Some(MAX_RETRY_AFTER_SECONDS)
        );
        let mut done = job;
        done.status = JobStatus::Success;
        assert_eq!(retry_after_seconds(&done, 1_000), None);
    }

    #[test]
    fn the_cache_answers_only_the_owning_project() {
        let cache = FinishedJobCache::new(8);
        // A view read before a clear is not cached after it.
        let era = cache.era();
        cache.clear();
        cache.insert_read_in(era, "p", "stale", 5, Bytes::from_static(b"old"));
        assert_eq!(cache.get("p", "stale", 0), None);
        cache.insert_read_in(cache.era(), "p", "fresh", 5, Bytes::from_static(b"new"));
        assert!(cache.get("p", "fresh", 0).is_some());
        cache.insert("p1", "j1", 100, Bytes::from_static(b"{}"));
        assert_eq!(cache.get("p1", "j1", 0).as_deref(), Some(&b"{}"[..]));
        assert_eq!(cache.get("p2", "j1", 0), None);
    }

    #[test]
    fn an_entry_past_the_retention_is_never_served() {
        let cache = FinishedJobCache::new(8);
        cache.insert("p1", "j1", 100, Bytes::from_static(b"{}"));
        assert!(
            cache.get("p1", "j1", 100).is_some(),
            "ended at the cutoff: kept"
        );
        assert_eq!(cache.get("p1", "j1", 101), None, "ended before the cutoff");
        assert_eq!(cache.get("p1", "j1", 0), None, "and dropped");
    }

    #[test]
    fn the_cache_stays_bounded_and_keeps_what_is_read() {
        let cache = FinishedJobCache::new(4);
        for id in ["a", "b"] {
            cache.insert("p", id, 0, Bytes::from_static(b"x"));
        }
        cache.insert("p", "c", 0, Bytes::from_static(b"x")); // a, b become the previous generation
        assert!(
            cache.get("p", "a", 0).is_some(),
            "read back from the previous generation"
        );
        cache.insert("p", "d", 0, Bytes::from_static(b"x")); // drops b
        assert!(cache.get("p", "b", 0).is_none());
        let generations = cache.generations.lock().expect("lock");
        assert!(generations.current.len() + generations.previous.len() <= 4);
    }
}
