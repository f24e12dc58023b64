//! Instance actions (`ecs_operation_management/`): what was done to a server through Nova, with
//! the request id of each action (the `x-openstack-request-id` its answer carried). Recorded in
//! the server's document right after the engine accepted the action (a separate write: an ecsd
//! stopped between the two leaves the action unrecorded, never the job); its events come from
//! the job while it is retained (`--job-retention`), then show no result.

use super::servers::find_server;
use super::{NovaError, NovaResult};
use crate::time_format::iso8601_micros;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use engine::job::JobStatus;
use engine::server::{ActionRecord, ServerChange, ServerRecord};
use serde_json::{json, Value};

/// The user the Nova views name (`user_id`), as the server view does.
const USER_ID: &str = "ecsd-local-user";

/// The request id of this request, as Nova's answer headers carry it (`req-…`).
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&crate::X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(|id| format!("req-{id}"))
        .unwrap_or_default()
}

/// Records `action` on the server. A failure is logged, not answered: the action itself was
/// accepted.
pub async fn record(
    state: &AppState,
    project_id: &str,
    server_id: &str,
    action: &str,
    headers: &HeaderMap,
    job_id: Option<&str>,
) {
    let record = ActionRecord {
        action: action.to_owned(),
        request_id: request_id(headers),
        start_time: engine::clock::to_unix_ms(state.engine.now()),
        user_id: USER_ID.to_owned(),
        job_id: job_id.map(str::to_owned),
    };
    let change = ServerChange::RecordAction { record };
    if let Err(error) = state
        .engine
        .server_edit(project_id, server_id, change)
        .await
    {
        tracing::warn!(%error, server_id, action, "the instance action was not recorded");
    }
}

fn time(ms: i64) -> String {
    iso8601_micros(engine::clock::from_unix_ms(ms))
}

fn action_json(server: &ServerRecord, record: &ActionRecord) -> Value {
    json!({
        "action": record.action,
        "instance_uuid": server.id,
        "message": null,
        "project_id": server.project_id,
        "request_id": record.request_id,
        "start_time": time(record.start_time),
        "user_id": record.user_id,
    })
}

/// `GET …/servers/{server_id}/os-instance-actions`: newest first.
pub async fn action_list(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let actions: Vec<Value> = server
        .doc
        .instance_actions
        .iter()
        .rev()
        .map(|record| action_json(&server, record))
        .collect();
    Ok(Json(json!({ "instanceActions": actions })))
}

/// `GET …/servers/{server_id}/os-instance-actions/{request_id}`: the action with its event
/// (`compute_<action>`), whose times and result are its job's.
pub async fn action_show(
    State(state): State<AppState>,
    Path((project_id, server_id, request_id)): Path<(String, String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let record = server
        .doc
        .instance_actions
        .iter()
        .find(|record| record.request_id == request_id)
        .ok_or_else(|| {
            NovaError::not_found(format!(
                "Action for request_id {request_id} on instance {server_id} not found"
            ))
        })?;
    let job = match &record.job_id {
        Some(job_id) => state.engine.job(&project_id, job_id).await?,
        None => None,
    };
    let (start, finish, result) = match &job {
        Some(job) => (
            time(job.begin_time),
            job.end_time.map(time),
            match job.status {
                JobStatus::Success => Some("Success"),
                JobStatus::Fail => Some("Error"),
                _ => None,
            },
        ),
        None => (time(record.start_time), None, None),
    };
    let mut view = action_json(&server, record);
    view["events"] = json!([{
        "event": format!("compute_{}", record.action),
        "start_time": start,
        "finish_time": finish,
        "result": result,
        "traceback": null,
    }]);
    Ok(Json(json!({ "instanceAction": view })))
}
