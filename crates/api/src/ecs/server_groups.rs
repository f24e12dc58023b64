//! Tenant quotas (`GET …/cloudservers/limits`) and ECS groups (`…/cloudservers/os-server-groups`):
//! create, list, show, delete, and add or remove a member (`…/{server_group_id}/action`).
//!
//! Quotas come from the project's `[accounts.projects.quotas]`: [`AccountQuotas`] is the
//! engine's `QuotaSource`, given at build, so the engine resolves them from the project itself
//! (no handler passes them); the store checks them in the transaction that accepts a job,
//! creates a group or adds a member. The limits page reads the same ([`AppState::quotas`]).

use crate::body::{list_limit, parse_json, query_pairs, read_limited};
use crate::ecs::servers::require_uuid;
use crate::error::ApiError;
use crate::error_codes;
use crate::identity::accounts::Accounts;
use crate::{project_from_path, AppState, Path};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::quota::{QuotaSource, Quotas, ServerGroupRecord, ANTI_AFFINITY};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

/// The quotas of every project of the accounts, as configured: the engine's
/// [`QuotaSource`] under `ecsd serve` (`Engine::with_quota_source`). A copy taken at start,
/// which is exact: accounts do not change while ecsd runs. A project it does not know has no
/// limits, like every project under `--auth off`.
#[derive(Debug, Default, Clone)]
pub struct AccountQuotas {
    by_project: HashMap<String, Quotas>,
}

impl AccountQuotas {
    pub fn from_accounts(accounts: &Accounts) -> Self {
        let by_project = accounts
            .iter()
            .flat_map(|account| &account.projects)
            .map(|project| (project.id.clone(), project.quotas))
            .collect();
        Self { by_project }
    }
}

impl QuotaSource for AccountQuotas {
    fn quotas(&self, project_id: &str) -> Quotas {
        self.by_project.get(project_id).copied().unwrap_or_default()
    }
}

/// Metadata keys per server: enforced by the metadata update (`MAX_SERVER_METADATA`).
pub(crate) const MAX_SERVER_META: i64 = engine::server::MAX_SERVER_METADATA as i64;
/// The limits page's fixed values for what ecsd does not model (image metadata, personality,
/// key pairs, security groups, floating IPs): the reference's example values, or -1
/// (unlimited) where ecsd enforces nothing.
const MAX_IMAGE_META: i64 = 128;
const MAX_PERSONALITY: i64 = 5;
const MAX_PERSONALITY_SIZE: i64 = 10_240;
const UNLIMITED: i64 = -1;

fn limit_value(limit: Option<u64>) -> i64 {
    limit.map_or(UNLIMITED, |limit| i64::try_from(limit).unwrap_or(i64::MAX))
}

fn count_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// `GET /v1/{project_id}/cloudservers/limits`: the configured quotas (-1: unlimited, the
/// page's example's convention for `maxTotalKeypairs`) and what the project uses.
pub async fn limits_view(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let quotas = state.quotas(project_id);
    let used = state.engine.project_usage(project_id).await?;
    Ok(Json(json!({
        "absolute": {
            "maxTotalInstances": limit_value(quotas.instances),
            "maxTotalCores": limit_value(quotas.cores),
            "maxTotalRAMSize": limit_value(quotas.ram),
            "maxTotalKeypairs": UNLIMITED,
            "maxServerMeta": MAX_SERVER_META,
            "maxPersonality": MAX_PERSONALITY,
            "maxPersonalitySize": MAX_PERSONALITY_SIZE,
            "maxServerGroups": limit_value(quotas.server_groups),
            "maxServerGroupMembers": limit_value(quotas.server_group_members),
            "totalServerGroupsUsed": count_value(used.server_groups),
            "maxSecurityGroups": UNLIMITED,
            "maxSecurityGroupRules": UNLIMITED,
            "maxTotalFloatingIps": UNLIMITED,
            "maxImageMeta": MAX_IMAGE_META,
            "totalInstancesUsed": count_value(used.instances),
            "totalCoresUsed": count_value(used.cores),
            "totalRAMUsed": count_value(used.ram),
            "totalSecurityGroupsUsed": 0,
            "totalFloatingIpsUsed": 0,
        }
    })))
}

fn group_json(group: &ServerGroupRecord) -> Value {
    json!({
        "id": group.id,
        "name": group.name,
        "policies": group.policies,
        "members": group.members,
        "metadata": {},
    })
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    server_group: CreateGroupBody,
}

#[derive(Debug, Deserialize)]
struct CreateGroupBody {
    name: String,
    policies: Vec<String>,
}

/// `POST /v1/{project_id}/cloudservers/os-server-groups`: anti-affinity only (the page's
/// constraint), within the project's `server_groups` quota.
pub async fn server_group_create(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let body: CreateBody = parse_json(&headers, &bytes)?;
    let name = body.server_group.name;
    if name.is_empty() || name.chars().count() > 255 {
        return Err(ApiError::invalid_field(
            "server_group.name",
            "must have 1 to 255 characters",
        ));
    }
    if body.server_group.policies != [ANTI_AFFINITY] {
        return Err(ApiError::invalid_field(
            "server_group.policies",
            "only [\"anti-affinity\"] is supported",
        ));
    }
    let group = state.engine.server_group_create(project_id, &name).await?;
    Ok(Json(json!({ "server_group": group_json(&group) })))
}

/// `GET /v1/{project_id}/cloudservers/os-server-groups`: oldest first; `limit` (1–1000) and
/// `marker` (the last group id of the previous page) page it, and `page_info.next_marker`
/// is there when another page follows.
pub async fn server_group_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let mut limit = None;
    let mut marker = None;
    for (key, value) in query_pairs(query.as_deref())? {
        match key.as_str() {
            "limit" => limit = Some(list_limit(&value)?),
            "marker" => marker = Some(value),
            _ => {}
        }
    }
    let groups = state.engine.server_groups(project_id).await?;
    let start = match &marker {
        None => 0,
        Some(marker) => {
            groups
                .iter()
                .position(|group| &group.id == marker)
                .ok_or_else(|| {
                    ApiError::invalid_field("marker", format!("no ECS group {marker:?}"))
                })?
                + 1
        }
    };
    let rest = &groups[start.min(groups.len())..];
    let page = &rest[..limit.unwrap_or(rest.len()).min(rest.len())];
    let mut answer = json!({
        "server_groups": page.iter().map(group_json).collect::<Vec<_>>(),
    });
    if page.len() < rest.len() {
        if let Some(last) = page.last() {
            answer["page_info"] = json!({ "next_marker": last.id });
        }
    }
    Ok(Json(answer))
}

fn group_not_found(group_id: &str) -> ApiError {
    ApiError::new(
        error_codes::ECS_0313,
        format!("The ECS group {group_id} does not exist."),
    )
}

/// `GET /v1/{project_id}/cloudservers/os-server-groups/{server_group_id}`.
pub async fn server_group_view(
    State(state): State<AppState>,
    Path((project_id, group_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let canonical = require_uuid("server_group_id", &group_id)?;
    let group = state
        .engine
        .server_group(project_id, &canonical)
        .await?
        .ok_or_else(|| group_not_found(&group_id))?;
    Ok(Json(json!({ "server_group": group_json(&group) })))
}

/// `DELETE /v1/{project_id}/cloudservers/os-server-groups/{server_group_id}`: the page sets no
/// condition, so a group with members is deleted too (they stay where they are). 204 with no
/// body: the page's response is "None" (and Nova's, which golangsdk expects, is 204).
pub async fn server_group_delete(
    State(state): State<AppState>,
    Path((project_id, group_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let canonical = require_uuid("server_group_id", &group_id)?;
    if !state
        .engine
        .server_group_delete(project_id, &canonical)
        .await?
    {
        return Err(group_not_found(&group_id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    add_member: Option<MemberBody>,
    remove_member: Option<MemberBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    instance_uuid: String,
}

/// `POST /v1/{project_id}/cloudservers/os-server-groups/{server_group_id}/action` with
/// `add_member` (the server must be stopped; it is moved to a host no other member holds) or
/// `remove_member`. 200 `{}`: both pages say "Status code 200".
pub async fn server_group_action(
    State(state): State<AppState>,
    Path((project_id, group_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let canonical = require_uuid("server_group_id", &group_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let body: ActionBody = parse_json(&headers, &bytes)?;
    let (add, field, member) = match (body.add_member, body.remove_member) {
        (Some(member), None) => (true, "add_member.instance_uuid", member),
        (None, Some(member)) => (false, "remove_member.instance_uuid", member),
        _ => {
            return Err(ApiError::invalid_field(
                "body",
                "needs exactly one of add_member and remove_member",
            ))
        }
    };
    let server_id = require_uuid(field, &member.instance_uuid)?;
    state
        .engine
        .server_group_membership(project_id, &canonical, &server_id, add)
        .await?;
    Ok(Json(json!({})).into_response())
}
