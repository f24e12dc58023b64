//! The fault rules' admin routes: `POST /_ecsd/faults` (201, the rule with its `id`),
//! `GET /_ecsd/faults` (every rule with its `matched` and `fired` counts),
//! `DELETE /_ecsd/faults/{id}` (releases the jobs it held), `DELETE /_ecsd/faults`, and
//! `POST /_ecsd/jobs/{job_id}/release` (ends a `stuck` job's held tasks now).
//!
//! A rule is checked whole before anything changes (unknown keys, codes outside the catalogue,
//! a probability outside 0–1, two of times/every/probability…): a refusal is 400 `Ecsd.0400`
//! naming the field, and the registry is untouched.

use crate::error::ApiError;
use crate::error_codes;
use crate::{AppState, Path};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::faults::FaultSpec;
use serde::Deserialize;
use serde_json::json;

pub const FAULTS_PATH: &str = "/_ecsd/faults";
pub const FAULT_PATH: &str = "/_ecsd/faults/{id}";
pub const RELEASE_PATH: &str = "/_ecsd/jobs/{job_id}/release";

/// A body that does not parse, as the admin API's 400 (the message names the field).
fn bad_request(error: ApiError) -> ApiError {
    if error.code.status == 400 {
        ApiError::new(error_codes::ECSD_BAD_REQUEST, error.message)
    } else {
        error
    }
}

/// Parses and checks a rule as the admin API and the config file take it: the api's checks
/// (operation names, catalogued codes) then the engine's.
pub fn parse_rule(headers: &HeaderMap, body: &[u8]) -> Result<FaultSpec, ApiError> {
    let spec: FaultSpec = crate::body::parse_json(headers, body).map_err(bad_request)?;
    crate::faults::prepare_spec(spec).map_err(rule_error)
}

fn rule_error(error: engine::faults::RuleError) -> ApiError {
    ApiError::new(
        error_codes::ECSD_BAD_REQUEST,
        format!(
            "Invalid fault rule field {}: {}",
            error.field, error.message
        ),
    )
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let spec = parse_rule(&headers, &body)?;
    let rule = state.faults.add(spec).map_err(rule_error)?;
    tracing::info!(rule_id = %rule.id, effect = rule.spec.effect.as_str(), "fault rule added");
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

pub async fn list(State(state): State<AppState>) -> Response {
    Json(json!({ "faults": state.faults.list() })).into_response()
}

pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let Some((rule, held)) = state.faults.remove(&id) else {
        return Err(ApiError::new(
            error_codes::ECSD_NOT_FOUND,
            format!("No fault rule has the id {id:?} (GET /_ecsd/faults lists them)."),
        ));
    };
    let released = state.engine.release_all(held).await?;
    tracing::info!(rule_id = %rule.id, released = released.len(), "fault rule deleted");
    Ok(Json(json!({ "fault": rule, "released_jobs": released })).into_response())
}

pub async fn clear(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (deleted, held) = state.faults.clear();
    let released = state.engine.release_all(held).await?;
    tracing::info!(deleted, released = released.len(), "fault rules cleared");
    Ok(Json(json!({ "deleted": deleted, "released_jobs": released })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseQuery {
    /// The job's project, for a job held before a restart (the registry forgets those).
    project_id: Option<String>,
}

pub async fn release(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
    query: Result<Query<ReleaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query
        .map_err(|rejection| ApiError::new(error_codes::ECSD_BAD_REQUEST, rejection.body_text()))?;
    match state
        .engine
        .release(&job_id, query.project_id.as_deref())
        .await?
    {
        None => Err(ApiError::new(
            error_codes::ECSD_NOT_FOUND,
            format!("No held job has the id {job_id:?} (for a job held before a restart, add ?project_id=)."),
        )),
        Some(0) => Err(ApiError::new(
            error_codes::ECSD_CONFLICT,
            format!("The job {job_id} has no held task: it was released already or never held."),
        )),
        Some(released) => Ok(Json(json!({ "job_id": job_id, "released": released })).into_response()),
    }
}
