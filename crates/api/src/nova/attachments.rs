//! Disks and NICs of a server through Nova (`disk_management/`, `nic_management/`): attach and
//! detach are the ECS jobs (`ServerJob::AttachVolume`, `DetachVolume`, `AddNics`,
//! `DeleteNics`), with their checks and quotas; the answer of an attach is what the job
//! planned (the device, the port id, MAC and address), read back from the accepted job. The
//! disk or NIC shows in the server's document, and in the reads, when the job ends.

use super::servers::find_server;
use super::{NovaError, NovaResult};
use crate::nova::servers::ServerWithBody;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::compute::Operation;
use engine::engine::NicRequest;
use engine::server::{Nic, ServerRecord};
use engine::server_jobs::ServerJob;
use serde_json::{json, Value};

fn uuid_field(value: &Value, name: &str) -> NovaResult<String> {
    value
        .as_str()
        .and_then(|text| uuid::Uuid::try_parse(text).ok())
        .map(|id| id.hyphenated().to_string())
        .ok_or_else(|| NovaError::bad_request(format!("{name} must be a UUID.")))
}

/// Accepts `job` on the server and returns the operations the engine planned for it, and the
/// job's note for the request's log line and the jobs-accepted counter.
async fn submit(
    state: &AppState,
    server: &ServerRecord,
    job: ServerJob,
) -> NovaResult<(Vec<Operation>, axum::Extension<crate::observe::JobNote>)> {
    super::servers::refuse_locked(server)?;
    let kind = crate::ecs::server_jobs::job_kind(&job);
    let accepted = state
        .engine
        .server_job(&server.project_id, &server.id, job)
        .await?;
    let record = state
        .engine
        .job(&server.project_id, &accepted.job_id)
        .await?
        .ok_or_else(|| {
            NovaError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The accepted job could not be read back.",
            )
        })?;
    let note = crate::observe::job_note(&accepted.job_id, kind);
    Ok((
        record
            .tasks
            .into_iter()
            .map(|task| task.operation)
            .collect(),
        note,
    ))
}

fn attachment_json(server_id: &str, volume_id: &str, device: &str) -> Value {
    json!({ "id": volume_id, "volumeId": volume_id, "serverId": server_id, "device": device })
}

/// `POST …/servers/{server_id}/os-volume_attachments`: `{"volumeAttachment": {"volumeId",
/// "device"}}`; 200 with the attachment (the device the job will use).
pub async fn volume_attach(
    State(state): State<AppState>,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Response> {
    let attachment = &body["volumeAttachment"];
    let volume_id = uuid_field(&attachment["volumeId"], "volumeAttachment.volumeId")?;
    let device = attachment["device"]
        .as_str()
        .filter(|device| !device.is_empty())
        .map(str::to_owned);
    if let Some(device) = &device {
        if !engine::server_jobs::is_device_name(device) {
            return Err(NovaError::bad_request(format!(
                "{device} is not a device name such as /dev/vdb."
            )));
        }
    }
    let job = ServerJob::AttachVolume {
        volume_id: volume_id.clone(),
        device,
        volume_type: None,
    };
    let (planned, note) = submit(&state, &server, job).await?;
    let device = planned
        .iter()
        .find_map(|operation| match operation {
            Operation::AttachVolume { volume } => Some(volume.device.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Ok((
        note,
        Json(json!({
            "volumeAttachment": attachment_json(&server.id, &volume_id, &device)
        })),
    )
        .into_response())
}

/// `GET …/servers/{server_id}/os-volume_attachments/{volume_id}`.
pub async fn volume_show(
    State(state): State<AppState>,
    Path((project_id, server_id, volume_id)): Path<(String, String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let volume = server
        .doc
        .volumes
        .iter()
        .find(|volume| volume.id.eq_ignore_ascii_case(&volume_id))
        .ok_or_else(|| {
            NovaError::not_found(format!(
                "Volume {volume_id} is not attached to instance {server_id}."
            ))
        })?;
    Ok(Json(json!({
        "volumeAttachment": attachment_json(&server.id, &volume.id, &volume.device)
    })))
}

/// `DELETE …/servers/{server_id}/os-volume_attachments/{volume_id}`: 202; the job detaches it.
pub async fn volume_detach(
    State(state): State<AppState>,
    Path((project_id, server_id, volume_id)): Path<(String, String, String)>,
) -> NovaResult<Response> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let volume_id = uuid_field(&json!(volume_id), "volume_id")
        .map_err(|_| NovaError::not_found("Volume could not be found."))?;
    if !server
        .doc
        .volumes
        .iter()
        .any(|volume| volume.id == volume_id)
    {
        return Err(NovaError::not_found(format!(
            "Volume {volume_id} is not attached to instance {server_id}."
        )));
    }
    let (_, note) = submit(&state, &server, ServerJob::DetachVolume { volume_id }).await?;
    Ok((StatusCode::ACCEPTED, note).into_response())
}

fn interface_json(nic: &Nic) -> Value {
    json!({
        "port_id": nic.port_id,
        "net_id": nic.subnet_id,
        "mac_addr": nic.mac_address,
        "port_state": "ACTIVE",
        "fixed_ips": [{
            "ip_address": nic.ip_address,
            "subnet_id": super::networks::derived_uuid(&format!("subnet:{}", nic.subnet_id)),
        }],
    })
}

/// `POST …/servers/{server_id}/os-interface`: `{"interfaceAttachment": {"net_id",
/// "fixed_ips": [{"ip_address"}]}}` (a `port_id` is refused: ports are not modelled); 200 with
/// the NIC the job will add.
pub async fn interface_attach(
    State(state): State<AppState>,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Response> {
    let attachment = &body["interfaceAttachment"];
    if !attachment["port_id"].is_null() {
        return Err(NovaError::bad_request(
            "Attaching an existing port is not supported by ecsd; give net_id.",
        ));
    }
    let subnet_id = uuid_field(&attachment["net_id"], "interfaceAttachment.net_id")?;
    let ip_address = attachment["fixed_ips"][0]["ip_address"]
        .as_str()
        .filter(|ip| !ip.is_empty())
        .map(str::to_owned);
    if let Some(ip) = &ip_address {
        if ip.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(NovaError::bad_request(format!("Invalid fixed IP {ip}.")));
        }
    }
    let job = ServerJob::AddNics {
        nics: vec![NicRequest {
            subnet_id,
            ip_address,
        }],
    };
    let (planned, note) = submit(&state, &server, job).await?;
    let nic = planned
        .iter()
        .find_map(|operation| match operation {
            Operation::AddNic { nic } => Some(nic.clone()),
            _ => None,
        })
        .ok_or_else(|| NovaError::new(StatusCode::INTERNAL_SERVER_ERROR, "No NIC was planned."))?;
    Ok((
        note,
        Json(json!({ "interfaceAttachment": interface_json(&nic) })),
    )
        .into_response())
}

/// `GET …/servers/{server_id}/os-interface/{port_id}`.
pub async fn interface_show(
    State(state): State<AppState>,
    Path((project_id, server_id, port_id)): Path<(String, String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let nic = server
        .doc
        .nics
        .iter()
        .find(|nic| nic.port_id.eq_ignore_ascii_case(&port_id))
        .ok_or_else(|| {
            NovaError::not_found(format!(
                "Port {port_id} is not attached to instance {server_id}."
            ))
        })?;
    Ok(Json(json!({ "interfaceAttachment": interface_json(nic) })))
}

/// `DELETE …/servers/{server_id}/os-interface/{port_id}`: 202; the primary NIC is refused (403,
/// as ECS's NIC deletion).
pub async fn interface_detach(
    State(state): State<AppState>,
    Path((project_id, server_id, port_id)): Path<(String, String, String)>,
) -> NovaResult<Response> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let Some(nic) = server
        .doc
        .nics
        .iter()
        .find(|nic| nic.port_id.eq_ignore_ascii_case(&port_id))
    else {
        return Err(NovaError::not_found(format!(
            "Port {port_id} is not attached to instance {server_id}."
        )));
    };
    let job = ServerJob::DeleteNics {
        port_ids: vec![nic.port_id.clone()],
    };
    let (_, note) = submit(&state, &server, job).await?;
    Ok((StatusCode::ACCEPTED, note).into_response())
}
