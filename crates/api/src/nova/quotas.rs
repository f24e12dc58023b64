//! Quotas (`tenant_quota_management/`): a project's quotas as configured (`[accounts.projects.
//! quotas]`, -1 where none is set) with Nova's names; the defaults are the same (ecsd has no
//! separate default quotas). Another project's quotas are 403.

use super::{NovaError, NovaResult};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

fn limit(value: Option<u64>) -> i64 {
    value.map_or(-1, |value| i64::try_from(value).unwrap_or(i64::MAX))
}

fn quota_set(state: &AppState, project_id: &str, target: &str) -> NovaResult<Value> {
    crate::project_from_path(project_id).map_err(NovaError::from)?;
    if target != project_id {
        return Err(NovaError::new(
            StatusCode::FORBIDDEN,
            format!("Policy doesn't allow reading the quotas of project {target}."),
        ));
    }
    let quotas = state.quotas(project_id);
    Ok(json!({
        "id": project_id,
        "instances": limit(quotas.instances),
        "cores": limit(quotas.cores),
        "ram": limit(quotas.ram),
        "server_groups": limit(quotas.server_groups),
        "server_group_members": limit(quotas.server_group_members),
        "key_pairs": -1,
        "metadata_items": crate::ecs::server_groups::MAX_SERVER_META,
        "injected_files": 5,
        "injected_file_content_bytes": 10_240,
        "injected_file_path_bytes": 255,
        "security_groups": -1,
        "security_group_rules": -1,
        "floating_ips": -1,
        "fixed_ips": -1,
    }))
}

/// `GET …/os-quota-sets/{project_id}`.
pub async fn quota_show(
    State(state): State<AppState>,
    Path((project_id, target)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    Ok(Json(
        json!({ "quota_set": quota_set(&state, &project_id, &target)? }),
    ))
}

/// `GET …/os-quota-sets/{project_id}/defaults`.
pub async fn quota_defaults(
    State(state): State<AppState>,
    Path((project_id, target)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    Ok(Json(
        json!({ "quota_set": quota_set(&state, &project_id, &target)? }),
    ))
}
