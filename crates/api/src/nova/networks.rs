//! Neutron v2.0 reads as the compute clients call them (`--nic net-id=` looks the network up by
//! id; `server list`/`show` may read ports). Read-only; they exist only to serve the compute
//! clients.
//!
//! ecsd has no network service: a Neutron network is an ECS subnet (on Open Telekom Cloud the
//! subnet id the ECS API takes *is* the Neutron network id), so any well-formed network id
//! exists, as any subnet id is accepted at create. The list shows the default network (which
//! a Nova create without networks uses) and every network the project's servers are on.

use super::{NovaError, NovaResult};
use crate::body::query_pairs;
use crate::identity::auth::Caller;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use engine::server::ServerRecord;
use engine::store::ServerQuery;
use serde_json::{json, Value};
use sha2::Digest;

/// The network (ECS subnet) a Nova create without `networks` (or with `"auto"`) uses.
pub const DEFAULT_NETWORK_ID: &str = "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33";
/// The VPC of every server created through Nova (Nova has no VPC parameter).
pub const DEFAULT_VPC_ID: &str = "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11";

/// A Neutron-shaped error (`{"NeutronError": {"type", "message", "detail"}}`).
struct NeutronError(StatusCode, String);

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let kind = if self.0 == StatusCode::NOT_FOUND {
            "NotFound"
        } else {
            "BadRequest"
        };
        (
            self.0,
            Json(json!({"NeutronError": {"type": kind, "message": self.1, "detail": ""}})),
        )
            .into_response()
    }
}

impl From<NovaError> for NeutronError {
    fn from(error: NovaError) -> Self {
        NeutronError(error.status, error.message)
    }
}

/// A stable UUID derived from `seed` (the Neutron subnet of a network, an invented port).
pub fn derived_uuid(seed: &str) -> String {
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    // Version 4 and the RFC variant bits, so clients that check the shape accept it.
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes).to_string()
}

fn subnet_of(network_id: &str) -> String {
    derived_uuid(&format!("subnet:{network_id}"))
}

/// A subnet's CIDR: 192.168.N.0/24 with N from the id, so it is stable.
fn cidr_of(network_id: &str) -> String {
    let digest = sha2::Sha256::digest(network_id.as_bytes());
    format!("192.168.{}.0/24", digest[0])
}

/// A network's CIDR and gateway, for the nova-network view.
pub fn cidr_and_gateway(network_id: &str) -> (String, String) {
    let cidr = cidr_of(network_id);
    let gateway = format!("{}.1", cidr.trim_end_matches(".0/24"));
    (cidr, gateway)
}

fn network_json(network_id: &str, project_id: &str) -> Value {
    json!({
        "id": network_id,
        "name": format!("subnet-{}", &network_id[..8]),
        "status": "ACTIVE",
        "admin_state_up": true,
        "shared": false,
        "router:external": false,
        "mtu": 1500,
        "subnets": [subnet_of(network_id)],
        "availability_zones": [],
        "tenant_id": project_id,
        "project_id": project_id,
        "description": "",
        "tags": []
    })
}

fn subnet_json(network_id: &str, project_id: &str) -> Value {
    let cidr = cidr_of(network_id);
    let prefix = cidr.trim_end_matches(".0/24");
    json!({
        "id": subnet_of(network_id),
        "name": format!("subnet-{}", &network_id[..8]),
        "network_id": network_id,
        "ip_version": 4,
        "cidr": cidr,
        "gateway_ip": format!("{prefix}.1"),
        "enable_dhcp": true,
        "dns_nameservers": ["100.125.4.25", "100.125.129.199"],
        "allocation_pools": [{"start": format!("{prefix}.2"), "end": format!("{prefix}.254")}],
        "host_routes": [],
        "tenant_id": project_id,
        "project_id": project_id,
        "description": "",
        "tags": []
    })
}

fn caller_project(caller: Option<Extension<Caller>>) -> String {
    caller
        .and_then(|Extension(caller)| caller.project_id)
        .unwrap_or_default()
}

fn well_formed(id: &str) -> Option<String> {
    uuid::Uuid::parse_str(id).ok().map(|uuid| uuid.to_string())
}

/// The project's servers (the first 1000), for the lists.
async fn servers_of(state: &AppState, project_id: &str) -> NovaResult<Vec<ServerRecord>> {
    let page = state
        .engine
        .servers(ServerQuery {
            project_id: project_id.to_owned(),
            limit: 1000,
            ..ServerQuery::default()
        })
        .await?;
    Ok(page.servers)
}

/// Every network id the lists show: the default, then those of the project's servers.
async fn network_ids(state: &AppState, project_id: &str) -> NovaResult<Vec<String>> {
    let mut ids = vec![DEFAULT_NETWORK_ID.to_owned()];
    for server in servers_of(state, project_id).await? {
        for nic in &server.doc.nics {
            if !ids.contains(&nic.subnet_id) {
                ids.push(nic.subnet_id.clone());
            }
        }
    }
    Ok(ids)
}

/// `GET /network/v2.0/networks/{network_id}`: any well-formed id.
pub async fn network_show(
    caller: Option<Extension<Caller>>,
    Path(network_id): Path<String>,
) -> Response {
    let project_id = caller_project(caller);
    match well_formed(&network_id) {
        Some(id) => Json(json!({ "network": network_json(&id, &project_id) })).into_response(),
        None => NeutronError(
            StatusCode::NOT_FOUND,
            format!("Network {network_id} could not be found."),
        )
        .into_response(),
    }
}

/// `GET /network/v2.0/networks`: filters `id`, `name`; others are ignored.
pub async fn network_list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Response> {
    let project_id = caller_project(caller);
    let pairs = query_pairs(query.as_deref())
        .map_err(|error| NeutronError::from(NovaError::from(error)).into_response())?;
    let ids = network_ids(&state, &project_id)
        .await
        .map_err(|error| NeutronError::from(error).into_response())?;
    let mut networks: Vec<Value> = ids.iter().map(|id| network_json(id, &project_id)).collect();
    for (key, value) in pairs {
        if matches!(key.as_str(), "id" | "name") {
            networks.retain(|network| network[key.as_str()] == value.as_str());
        }
    }
    Ok(Json(json!({ "networks": networks })))
}

/// `GET /network/v2.0/subnets`: filters `network_id`, `id`.
pub async fn subnet_list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Response> {
    let project_id = caller_project(caller);
    let pairs = query_pairs(query.as_deref())
        .map_err(|error| NeutronError::from(NovaError::from(error)).into_response())?;
    let mut ids = network_ids(&state, &project_id)
        .await
        .map_err(|error| NeutronError::from(error).into_response())?;
    for (key, value) in &pairs {
        if key == "network_id" {
            if let Some(id) = well_formed(value) {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
    }
    let mut subnets: Vec<Value> = ids.iter().map(|id| subnet_json(id, &project_id)).collect();
    for (key, value) in pairs {
        if matches!(key.as_str(), "network_id" | "id" | "name") {
            subnets.retain(|subnet| subnet[key.as_str()] == value.as_str());
        }
    }
    Ok(Json(json!({ "subnets": subnets })))
}

/// `GET /network/v2.0/subnets/{subnet_id}`: the subnets of the listed networks.
pub async fn subnet_show(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    Path(subnet_id): Path<String>,
) -> Response {
    let project_id = caller_project(caller);
    let ids = match network_ids(&state, &project_id).await {
        Ok(ids) => ids,
        Err(error) => return NeutronError::from(error).into_response(),
    };
    match ids.iter().find(|id| subnet_of(id) == subnet_id) {
        Some(id) => Json(json!({ "subnet": subnet_json(id, &project_id) })).into_response(),
        None => NeutronError(
            StatusCode::NOT_FOUND,
            format!("Subnet {subnet_id} could not be found."),
        )
        .into_response(),
    }
}

/// `GET /network/v2.0/ports`: the NICs of the project's servers; filters `device_id`,
/// `network_id`, `id`, `mac_address`.
pub async fn port_list(
    State(state): State<AppState>,
    caller: Option<Extension<Caller>>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, Response> {
    let project_id = caller_project(caller);
    let pairs = query_pairs(query.as_deref())
        .map_err(|error| NeutronError::from(NovaError::from(error)).into_response())?;
    let servers = servers_of(&state, &project_id)
        .await
        .map_err(|error| NeutronError::from(error).into_response())?;
    let mut ports: Vec<Value> = servers
        .iter()
        .flat_map(|server| {
            server.doc.nics.iter().map(move |nic| {
                json!({
                    "id": nic.port_id,
                    "name": "",
                    "network_id": nic.subnet_id,
                    "device_id": server.id,
                    "device_owner": format!("compute:{}", server.doc.availability_zone),
                    "mac_address": nic.mac_address,
                    "fixed_ips": [{"subnet_id": subnet_of(&nic.subnet_id), "ip_address": nic.ip_address}],
                    "status": "ACTIVE",
                    "admin_state_up": true,
                    "tenant_id": server.project_id,
                    "project_id": server.project_id,
                    "security_groups": server.doc.security_group_ids,
                })
            })
        })
        .collect();
    for (key, value) in pairs {
        if matches!(
            key.as_str(),
            "device_id" | "network_id" | "id" | "mac_address"
        ) {
            ports.retain(|port| port[key.as_str()] == value.as_str());
        }
    }
    Ok(Json(json!({ "ports": ports })))
}
