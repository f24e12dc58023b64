//! Server groups (`ecs_group_management/`, Nova's `os-server-groups`): the same groups as ECS's
//! `/v1/{project_id}/cloudservers/os-server-groups`, anti-affinity only (the create page's
//! constraint), within the project's `server_groups` quota. Members join at create
//! (`os:scheduler_hints.group`) or through ECS's member action.

use super::{json_body, NovaError, NovaResult};
use crate::body::read_limited;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use engine::quota::ServerGroupRecord;
use serde_json::{json, Value};

fn group_json(group: &ServerGroupRecord) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "policies": group.policies,
        "members": group.members,
        "metadata": {},
        "project_id": group.project_id,
        "user_id": "ecsd-local-user",
    })
}

fn group_id(text: &str) -> NovaResult<String> {
    uuid::Uuid::try_parse(text)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| NovaError::not_found(format!("Instance group {text} could not be found.")))
}

/// `POST …/os-server-groups`: `{"server_group": {"name", "policies": ["anti-affinity"]}}`.
pub async fn group_create(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    body: Body,
) -> NovaResult<Json<Value>> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    let bytes = read_limited(body, state.max_body_bytes)
        .await
        .map_err(NovaError::from)?;
    let body = json_body(&bytes)?;
    let group = &body["server_group"];
    let name = group["name"]
        .as_str()
        .filter(|name| !name.is_empty() && name.chars().count() <= 255)
        .ok_or_else(|| {
            NovaError::bad_request("server_group.name must have 1 to 255 characters.")
        })?;
    if group["policies"] != json!([engine::quota::ANTI_AFFINITY]) {
        return Err(NovaError::bad_request(
            "Only the policies [\"anti-affinity\"] are supported (the reference's constraint).",
        ));
    }
    let created = state.engine.server_group_create(&project_id, name).await?;
    Ok(Json(json!({ "server_group": group_json(&created) })))
}

/// `GET …/os-server-groups`: oldest first; `limit` and `offset` page it.
pub async fn group_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> NovaResult<Json<Value>> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    let mut limit = usize::MAX;
    let mut offset = 0;
    for (key, value) in crate::body::query_pairs(query.as_deref()).map_err(NovaError::from)? {
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| NovaError::bad_request(format!("{key} must be an integer")))
        };
        match key.as_str() {
            "limit" => limit = number()?,
            "offset" => offset = number()?,
            _ => {}
        }
    }
    let groups = state.engine.server_groups(&project_id).await?;
    let page: Vec<Value> = groups
        .iter()
        .skip(offset)
        .take(limit)
        .map(group_json)
        .collect();
    Ok(Json(json!({ "server_groups": page })))
}

/// `GET …/os-server-groups/{server_group_id}`.
pub async fn group_show(
    State(state): State<AppState>,
    Path((project_id, group)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let id = group_id(&group)?;
    let found = state
        .engine
        .server_group(&project_id, &id)
        .await?
        .ok_or_else(|| {
            NovaError::not_found(format!("Instance group {group} could not be found."))
        })?;
    Ok(Json(json!({ "server_group": group_json(&found) })))
}

/// `DELETE …/os-server-groups/{server_group_id}`: 204; the members stay where they are.
pub async fn group_delete(
    State(state): State<AppState>,
    Path((project_id, group)): Path<(String, String)>,
) -> NovaResult<StatusCode> {
    let id = group_id(&group)?;
    if !state.engine.server_group_delete(&project_id, &id).await? {
        return Err(NovaError::not_found(format!(
            "Instance group {group} could not be found."
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
