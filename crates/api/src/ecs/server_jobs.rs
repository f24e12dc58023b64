//! Jobs on one server: resize, cold migrate, reinstall and change OS, attach and detach a disk,
//! add and delete NICs — each answered `{"job_id"}` once the job is durable — and the small
//! synchronous auto-recovery setting that Ansible reads with every server.
//!
//! Handlers check the request's shape here; the checks that need the server (its state, its
//! disks and NICs) happen in the engine and its accept transaction, so a refused request
//! creates no job. Unknown keys in these bodies are ignored, as in the create body: the SDK
//! sends optional fields ecsd does not model (`mode`, `isAutoPay`, `cpu_options`…).

use crate::body::{parse_json, query_pairs, read_limited};
use crate::ecs::servers::{require_uuid, server_not_found, validate_admin_pass};
use crate::error::ApiError;
use crate::observe::with_job;
use crate::{project_from_path, AppState, Path};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::engine::NicRequest;
use engine::job::JobKind;
use engine::server::{DocChange, FlavorRef};
use engine::server_jobs::{is_device_name, MAX_NICS};
use engine::ServerJob;
use serde::Deserialize;
use serde_json::{json, Map, Value};

#[derive(Debug, Deserialize)]
pub(crate) struct ResizeBody {
    resize: ResizeOption,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ResizeOption {
    #[serde(rename = "flavorRef")]
    flavor_ref: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReinstallBody {
    #[serde(rename = "os-reinstall")]
    reinstall: OsOption,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ChangeOsBody {
    #[serde(rename = "os-change")]
    change: OsOption,
}

/// The options of `os-reinstall` and `os-change` (the latter also has `imageid`).
#[derive(Debug, Deserialize)]
pub(crate) struct OsOption {
    keyname: Option<String>,
    userid: Option<String>,
    adminpass: Option<String>,
    imageid: Option<String>,
    metadata: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AttachBody {
    #[serde(rename = "volumeAttachment")]
    attachment: AttachOption,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AttachOption {
    #[serde(rename = "volumeId")]
    volume_id: String,
    device: Option<String>,
    volume_type: Option<String>,
    count: Option<i64>,
    /// A string `"true"`/`"false"` on this page, a boolean on create: both are accepted.
    #[serde(rename = "hw:passthrough")]
    passthrough: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AddNicsBody {
    nics: Vec<AddNicOption>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AddNicOption {
    subnet_id: String,
    ip_address: Option<String>,
    #[serde(default)]
    security_groups: Vec<IdOption>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdOption {
    id: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct DeleteNicsBody {
    nics: Vec<IdOption>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AutoRecoveryBody {
    support_auto_recovery: Value,
}

/// `{"job_id"}`, the job noted for the request's log line and the jobs-accepted counter.
fn job_answer(job_id: String, kind: JobKind) -> Response {
    let response = Json(json!({ "job_id": job_id })).into_response();
    with_job(response, &job_id, kind)
}

/// The parent job kind a server job makes (the kind the engine's plan gives it).
pub(crate) fn job_kind(job: &ServerJob) -> JobKind {
    match job {
        ServerJob::Resize { .. } => JobKind::ResizeServer,
        ServerJob::Migrate { .. } => JobKind::MigrateServer,
        ServerJob::ReinstallOs { .. } => JobKind::ReinstallOs,
        ServerJob::ChangeOs { .. } => JobKind::ChangeOs,
        ServerJob::AttachVolume { .. } => JobKind::AttachVolume,
        ServerJob::DetachVolume { .. } => JobKind::DetachVolume,
        ServerJob::AddNics { .. } => JobKind::AddNics,
        ServerJob::DeleteNics { .. } => JobKind::DeleteNics,
        ServerJob::NovaResize { .. } => JobKind::NovaResize,
        ServerJob::NovaConfirmResize => JobKind::NovaConfirmResize,
        ServerJob::NovaRevertResize => JobKind::NovaRevertResize,
        ServerJob::NovaRebuild { .. } => JobKind::NovaRebuild,
    }
}

fn dry_run_answer() -> Response {
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}

/// The project and the server id (canonical) from the path.
fn target<'a>(project_id: &'a str, server_id: &str) -> Result<(&'a str, String), ApiError> {
    Ok((
        project_from_path(project_id)?,
        require_uuid("server_id", server_id)?,
    ))
}

/// A request to `/…/{project_id}/cloudservers/{server_id}/…` with a JSON body: the path checked
/// first (project shape, server id a UUID, made canonical), then the body read within the size
/// limit and parsed as `B`, each failure an [`ApiError`] naming the field. The server itself is
/// looked up by whatever the handler asks of the engine.
pub(crate) struct OnServer<B> {
    pub(crate) project_id: String,
    /// Canonical: lower-case and hyphenated, as ecsd stores it.
    pub(crate) server_id: String,
    /// The id as the client wrote it in the path, for the answers that echo it (`Ecs.0114` of
    /// the synchronous edits says "The ECS {id} does not exist." with the client's spelling).
    pub(crate) raw_server_id: String,
    pub(crate) body: B,
}

impl<B: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for OnServer<B> {
    type Rejection = ApiError;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let Path((project_id, server_id)) =
            <Path<(String, String)> as axum::extract::FromRequestParts<AppState>>::from_request_parts(
                &mut parts, state,
            )
            .await?;
        let (checked_project_id, canonical_id) = target(&project_id, &server_id)?;
        let project_id = checked_project_id.to_owned();
        let bytes = read_limited(body, state.max_body_bytes).await?;
        let body = parse_json(&parts.headers, &bytes)?;
        Ok(Self {
            project_id,
            server_id: canonical_id,
            raw_server_id: server_id,
            body,
        })
    }
}

/// Submits `job` on the request's server (the engine checks it within the project's quotas:
/// only what the job adds counts, a reinstall adds nothing), and answers `{"job_id"}`.
async fn submit<B>(
    state: &AppState,
    request: &OnServer<B>,
    job: ServerJob,
) -> Result<Response, ApiError> {
    let kind = job_kind(&job);
    let accepted = state
        .engine
        .server_job(&request.project_id, &request.server_id, job)
        .await?;
    Ok(job_answer(accepted.job_id, kind))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/resize` and the SDK's `/v1.1/` path.
pub(crate) async fn server_resize(
    State(state): State<AppState>,
    request: OnServer<ResizeBody>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    // The target comes from the project's region and must not be retired.
    let region = state.region(&request.project_id);
    let flavor = crate::ecs::flavors::sellable_flavor(&region, &body.resize.flavor_ref, None)?;
    if body.dry_run {
        return Ok(dry_run_answer());
    }
    let job = ServerJob::Resize {
        flavor: FlavorRef::from(flavor),
    };
    submit(&state, &request, job).await
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/migrate`: `{"migrate": null}` or
/// `{"migrate": {}}` moves to the public pool, `{"migrate": {"dedicated_host_id"}}` to a DeH.
/// A body without `migrate` is taken as `null`: the SDKs drop null fields, so `null` is what
/// `{}` means when they send it.
pub(crate) async fn server_migrate(
    State(state): State<AppState>,
    request: OnServer<Map<String, Value>>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    let dedicated_host_id = match body.get("migrate") {
        None | Some(Value::Null) => None,
        Some(Value::Object(migrate)) => match migrate.get("dedicated_host_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if id.is_empty() => None,
            Some(Value::String(id)) => Some(require_uuid("migrate.dedicated_host_id", id)?),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "migrate.dedicated_host_id",
                    "must be a string",
                ))
            }
        },
        Some(_) => {
            return Err(ApiError::invalid_field(
                "migrate",
                "must be an object or null",
            ))
        }
    };
    submit(&state, &request, ServerJob::Migrate { dedicated_host_id }).await
}

/// Checks what reinstall and change OS share: `keyname`/`userid` (ASYNC-OPERATIONS.md §6 rows
/// 11–12: both optional; with `keyname`, reinstall also needs `userid`), `adminpass`, and the
/// size of `metadata.user_data`.
fn validate_os_option(
    field: &str,
    option: &OsOption,
    userid_required_with_keyname: bool,
) -> Result<Option<String>, ApiError> {
    let key_name = option.keyname.clone().filter(|name| !name.is_empty());
    if key_name.is_some()
        && userid_required_with_keyname
        && option.userid.as_deref().unwrap_or_default().is_empty()
    {
        return Err(ApiError::invalid_field(
            &format!("{field}.userid"),
            "is required when keyname is given",
        ));
    }
    if let Some(password) = option.adminpass.as_deref().filter(|p| !p.is_empty()) {
        validate_admin_pass(&format!("{field}.adminpass"), password)?;
    }
    if let Some(user_data) = option
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.get("user_data"))
    {
        let text = user_data.as_str().ok_or_else(|| {
            ApiError::invalid_field(&format!("{field}.metadata.user_data"), "must be a string")
        })?;
        // Base64 of at most 32 KiB is at most 43,692 characters.
        if text.len() > 43_692 {
            return Err(ApiError::invalid_field(
                &format!("{field}.metadata.user_data"),
                "must be at most 32 KB before base64 encoding",
            ));
        }
    }
    Ok(key_name)
}

/// `POST /v2/{project_id}/cloudservers/{server_id}/reinstallos`.
pub(crate) async fn server_reinstall_os(
    State(state): State<AppState>,
    request: OnServer<ReinstallBody>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    let key_name = validate_os_option("os-reinstall", &body.reinstall, true)?;
    submit(&state, &request, ServerJob::ReinstallOs { key_name }).await
}

/// `POST /v2/{project_id}/cloudservers/{server_id}/changeos`.
pub(crate) async fn server_change_os(
    State(state): State<AppState>,
    request: OnServer<ChangeOsBody>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    let image_id = body
        .change
        .imageid
        .as_deref()
        .ok_or_else(|| ApiError::invalid_field("os-change.imageid", "is required"))?;
    let image_id = require_uuid("os-change.imageid", image_id)?;
    let key_name = validate_os_option("os-change", &body.change, false)?;
    submit(&state, &request, ServerJob::ChangeOs { image_id, key_name }).await
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/attachvolume`.
pub(crate) async fn server_attach_volume(
    State(state): State<AppState>,
    request: OnServer<AttachBody>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    let attachment = &body.attachment;
    let volume_id = require_uuid("volumeAttachment.volumeId", &attachment.volume_id)?;
    let device = attachment
        .device
        .clone()
        .filter(|device| !device.is_empty());
    if let Some(device) = &device {
        if !is_device_name(device) {
            return Err(ApiError::invalid_field(
                "volumeAttachment.device",
                format!("{device:?} is not a device name such as /dev/vdb"),
            ));
        }
    }
    match &attachment.passthrough {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(Value::String(text)) if text == "true" || text == "false" => {}
        Some(_) => {
            return Err(ApiError::invalid_field(
                "volumeAttachment.hw:passthrough",
                "must be \"true\" or \"false\"",
            ))
        }
    }
    if attachment.count.is_some_and(|count| count < 1) {
        return Err(ApiError::invalid_field(
            "volumeAttachment.count",
            "must be at least 1",
        ));
    }
    if body.dry_run {
        return Ok(dry_run_answer());
    }
    let job = ServerJob::AttachVolume {
        volume_id,
        device,
        volume_type: attachment
            .volume_type
            .clone()
            .filter(|kind| !kind.is_empty()),
    };
    submit(&state, &request, job).await
}

/// `DELETE /v1/{project_id}/cloudservers/{server_id}/detachvolume/{volume_id}?delete_flag=0|1`
/// (`delete_flag` is in the page's URI table but not its path: ASYNC-OPERATIONS.md §6 row 13).
pub(crate) async fn server_detach_volume(
    State(state): State<AppState>,
    Path((project_id, server_id, volume_id)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (project_id, server_id) = target(&project_id, &server_id)?;
    let volume_id = require_uuid("volume_id", &volume_id)?;
    for (key, value) in query_pairs(query.as_deref())? {
        if key == "delete_flag" && value != "0" && value != "1" {
            return Err(ApiError::invalid_field("delete_flag", "must be 0 or 1"));
        }
    }
    let accepted = state
        .engine
        .server_job(
            project_id,
            &server_id,
            ServerJob::DetachVolume { volume_id },
        )
        .await?;
    Ok(job_answer(accepted.job_id, JobKind::DetachVolume))
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/nics`: one sub-job per NIC.
pub(crate) async fn server_add_nics(
    State(state): State<AppState>,
    request: OnServer<AddNicsBody>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    if body.nics.is_empty() || body.nics.len() > MAX_NICS {
        return Err(ApiError::invalid_field(
            "nics",
            format!("must have 1 to {MAX_NICS} NICs"),
        ));
    }
    let mut nics = Vec::with_capacity(body.nics.len());
    for (index, nic) in body.nics.iter().enumerate() {
        let subnet_id = require_uuid(&format!("nics[{index}].subnet_id"), &nic.subnet_id)?;
        let ip_address = nic.ip_address.clone().filter(|ip| !ip.is_empty());
        if let Some(ip) = &ip_address {
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(ApiError::invalid_field(
                    &format!("nics[{index}].ip_address"),
                    format!("{ip:?} is not an IPv4 address"),
                ));
            }
        }
        for (group_index, group) in nic.security_groups.iter().enumerate() {
            require_uuid(
                &format!("nics[{index}].security_groups[{group_index}].id"),
                &group.id,
            )?;
        }
        nics.push(NicRequest {
            subnet_id,
            ip_address,
        });
    }
    submit(&state, &request, ServerJob::AddNics { nics }).await
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/nics/delete`: one sub-job per NIC.
pub(crate) async fn server_delete_nics(
    State(state): State<AppState>,
    request: OnServer<DeleteNicsBody>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    if body.nics.is_empty() {
        return Err(ApiError::invalid_field(
            "nics",
            "must name at least one NIC",
        ));
    }
    let mut port_ids: Vec<String> = Vec::with_capacity(body.nics.len());
    for (index, nic) in body.nics.iter().enumerate() {
        let port_id = require_uuid(&format!("nics[{index}].id"), &nic.id)?;
        if port_ids.contains(&port_id) {
            return Err(ApiError::invalid_field(
                &format!("nics[{index}].id"),
                format!("NIC {port_id} is named twice"),
            ));
        }
        port_ids.push(port_id);
    }
    submit(&state, &request, ServerJob::DeleteNics { port_ids }).await
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/autorecovery`: `"true"` or `"false"`, a
/// string (Ansible compares it with the string `"true"`).
pub(crate) async fn server_auto_recovery_view(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let server = crate::ecs::servers::server_in_path(&state, &project_id, &server_id).await?;
    let value = server
        .doc
        .auto_recovery
        .unwrap_or_else(|| "false".to_owned());
    Ok(Json(json!({ "support_auto_recovery": value })))
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}/autorecovery`
/// `{"support_auto_recovery": "true"|"false"}`; answers 200 with `{}` (not a reference API,
/// so no page asks for a 204; clients accept any 2xx).
pub(crate) async fn server_auto_recovery_update(
    State(state): State<AppState>,
    request: OnServer<AutoRecoveryBody>,
) -> Result<Json<Value>, ApiError> {
    let body = &request.body;
    let value = match &body.support_auto_recovery {
        Value::String(text) if text == "true" || text == "false" => text.clone(),
        Value::Bool(flag) => flag.to_string(),
        _ => {
            return Err(ApiError::invalid_field(
                "support_auto_recovery",
                "must be \"true\" or \"false\"",
            ))
        }
    };
    let found = state
        .engine
        .server_change(
            &request.project_id,
            &request.server_id,
            DocChange::AutoRecovery { value },
        )
        .await?;
    if !found {
        return Err(server_not_found(&request.server_id));
    }
    Ok(Json(json!({})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MonitorBody {
    // Checked for presence and type only.
    #[serde(rename = "monitorMetrics")]
    _monitor_metrics: String,
}

/// `POST /v1.0/servers/{server_id}/action` `{"monitorMetrics": ""}`
/// (`status_management/adding_an_ecs_to_the_monitoring_list.rst`), project from the
/// credentials. ecsd has no monitoring to feed: the server must exist in the project and the
/// body must be well-formed; the answer is 204 with no body (the page's response is "None").
pub(crate) async fn server_monitor(
    State(state): State<AppState>,
    crate::identity::auth::ProjectScope(project_id): crate::identity::auth::ProjectScope,
    Path(server_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let (project_id, canonical_id) = target(&project_id, &server_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let _: MonitorBody = parse_json(&headers, &bytes)?;
    state
        .engine
        .server(project_id, &canonical_id)
        .await?
        .ok_or_else(|| server_not_found(&server_id))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
