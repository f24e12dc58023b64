//! `GET /v1/{project_id}/jobs/{job_id}`: the job query
//! (`apis_recommended/job_status_management/querying_job_execution_status.rst`).

use crate::error::ApiError;
use crate::error_codes;
use crate::time_format::job_time;
use crate::{project_from_path, AppState, Path};
use axum::extract::State;
use axum::Json;
use engine::job::{is_job_id, JobRecord, JobStatus, TaskRecord};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct JobView {
    pub status: &'static str,
    pub entities: JobEntities,
    pub job_id: String,
    pub job_type: &'static str,
    pub begin_time: String,
    /// `null` until the job is finished.
    pub end_time: Option<String>,
    /// `null` unless the job failed.
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
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
    pub end_time: Option<String>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SubJobEntities {
    pub server_id: String,
    /// Why the sub-job failed; only on failed sub-jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errorcode_message: Option<String>,
}

impl JobView {
    pub fn from_record(job: &JobRecord) -> Self {
        let sub_job_type = job.kind.sub_job_type();
        let entities = if job.kind.has_sub_jobs() {
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
        let failed = job.status == JobStatus::Fail;
        JobView {
            status: job.status.as_str(),
            entities,
            job_id: job.id.clone(),
            job_type: job.kind.job_type(),
            begin_time: job_time(job.begin_time),
            end_time: job.end_time.map(job_time),
            error_code: failed.then(|| {
                job.error_code
                    .clone()
                    .unwrap_or_else(|| error_codes::COMMON_0021.code.to_owned())
            }),
            fail_reason: failed.then(|| {
                job.fail_reason
                    .clone()
                    .unwrap_or_else(|| error_codes::COMMON_0021.message.to_owned())
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
                errorcode_message: failed.then(|| task.fail_reason.clone()).flatten(),
            },
            job_id: task.id.clone(),
            job_type,
            begin_time: job_time(task.begin_time),
            end_time: task.end_time.map(job_time),
            error_code: failed.then(|| task.error_code.clone()).flatten(),
            fail_reason: failed.then(|| task.fail_reason.clone()).flatten(),
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
) -> Result<Json<JobView>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    if !is_job_id(&job_id) {
        return Err(unknown_job(&job_id));
    }
    let job = state
        .engine
        .job(project_id, &job_id)
        .await?
        .ok_or_else(|| unknown_job(&job_id))?;
    Ok(Json(JobView::from_record(&job)))
}
