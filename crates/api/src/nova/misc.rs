//! The smaller Nova reads and edits: metadata (six pages), availability zones, limits, a
//! server's addresses, security groups, NICs and disks, the networks (`os-networks`), and a
//! server's tags. Each reads the same server document as the ECS views.

use super::servers::{addresses_json, find_server};
use super::{json_body, NovaError, NovaResult};
use crate::body::read_limited;
use crate::ecs::server_edits::METADATA_VM_STATES;
use crate::ecs::servers::metadata_json;
use crate::nova::servers::ServerWithBody;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use engine::server::{ServerChange, ServerRecord};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

async fn edit(
    state: &AppState,
    server: &ServerRecord,
    change: ServerChange,
) -> NovaResult<ServerRecord> {
    state
        .engine
        .server_edit(&server.project_id, &server.id, change)
        .await
        .map_err(|error| NovaError::from(crate::error::ApiError::from(error)))
}

/// Metadata pairs from a body's `key` object: keys 1–255 characters, string values up to 255.
fn metadata_pairs(body: &Value, key: &str) -> NovaResult<BTreeMap<String, String>> {
    let object = body
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| NovaError::bad_request(format!("The body needs a \"{key}\" object.")))?;
    let mut pairs = BTreeMap::new();
    for (name, value) in object {
        let Value::String(value) = value else {
            return Err(NovaError::bad_request(format!(
                "Metadata value of {name} must be a string."
            )));
        };
        if name.is_empty() || name.chars().count() > 255 || value.chars().count() > 255 {
            return Err(NovaError::bad_request(
                "Metadata keys have 1 to 255 characters, values at most 255.",
            ));
        }
        pairs.insert(name.clone(), value.clone());
    }
    Ok(pairs)
}

/// `GET …/servers/{server_id}/metadata`.
pub async fn metadata_list(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    Ok(Json(json!({ "metadata": metadata_json(&server) })))
}

/// `POST …/servers/{server_id}/metadata`: sets the given keys, keeps the others.
pub async fn metadata_update(
    State(state): State<AppState>,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Json<Value>> {
    let metadata = metadata_pairs(&body, "metadata")?;
    let change = ServerChange::MetadataUpdate {
        max: engine::server::MAX_SERVER_METADATA,
        metadata,
        allowed_vm_states: METADATA_VM_STATES,
    };
    let server = edit(&state, &server, change).await?;
    Ok(Json(json!({ "metadata": metadata_json(&server) })))
}

/// `PUT …/servers/{server_id}/metadata`: the user's metadata becomes the given pairs (the
/// removals and the update are separate writes: a failure between them leaves the removals).
pub async fn metadata_replace(
    State(state): State<AppState>,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Json<Value>> {
    let metadata = metadata_pairs(&body, "metadata")?;
    for key in server
        .doc
        .metadata
        .keys()
        .filter(|key| !metadata.contains_key(*key))
    {
        let change = ServerChange::MetadataDelete {
            key: key.clone(),
            allowed_vm_states: METADATA_VM_STATES,
        };
        edit(&state, &server, change).await?;
    }
    let change = ServerChange::MetadataUpdate {
        max: engine::server::MAX_SERVER_METADATA,
        metadata: metadata.clone(),
        allowed_vm_states: METADATA_VM_STATES,
    };
    edit(&state, &server, change).await?;
    Ok(Json(json!({ "metadata": metadata })))
}

/// `GET …/servers/{server_id}/metadata/{key}`: `{"meta": {key: value}}`, else 404.
pub async fn metadata_show(
    State(state): State<AppState>,
    Path((project_id, server_id, key)): Path<(String, String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let metadata = metadata_json(&server);
    let value = metadata
        .get(&key)
        .ok_or_else(|| NovaError::not_found(format!("Metadata item was not found: {key}")))?;
    Ok(Json(json!({ "meta": { key: value } })))
}

/// `PUT …/servers/{server_id}/metadata/{key}`: `{"meta": {key: value}}`, one pair whose key
/// is the path's.
pub async fn metadata_put_key(
    State(state): State<AppState>,
    Path((project_id, server_id, key)): Path<(String, String, String)>,
    body: Body,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let bytes = read_limited(body, state.max_body_bytes)
        .await
        .map_err(NovaError::from)?;
    let meta = metadata_pairs(&json_body(&bytes)?, "meta")?;
    if meta.len() != 1 || !meta.contains_key(&key) {
        return Err(NovaError::bad_request(
            "Request body and URI mismatch: \"meta\" must hold exactly the path's key.",
        ));
    }
    let change = ServerChange::MetadataUpdate {
        max: engine::server::MAX_SERVER_METADATA,
        metadata: meta.clone(),
        allowed_vm_states: METADATA_VM_STATES,
    };
    edit(&state, &server, change).await?;
    Ok(Json(json!({ "meta": meta })))
}

/// `DELETE …/servers/{server_id}/metadata/{key}`: 204, also for a key that is not there (as
/// ecsd answered this page before the Nova module, and as deleting a tag: idempotent).
pub async fn metadata_delete_key(
    State(state): State<AppState>,
    Path((project_id, server_id, key)): Path<(String, String, String)>,
) -> NovaResult<StatusCode> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let change = ServerChange::MetadataDelete {
        key,
        allowed_vm_states: METADATA_VM_STATES,
    };
    edit(&state, &server, change).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/os-availability-zone`: the zones of the simulated cloud.
pub async fn availability_zones(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> NovaResult<Json<Value>> {
    let region = state.region(&project_id);
    let zones: Vec<Value> = region
        .zones()
        .iter()
        .map(|zone| json!({ "zoneName": zone, "zoneState": { "available": true }, "hosts": null }))
        .collect();
    Ok(Json(json!({ "availabilityZoneInfo": zones })))
}

/// `GET …/os-availability-zone/detail` (`openstack availability zone list --compute`): the
/// zones with their simulated host (`<zone>.ecsd`, the host servers outside groups share).
pub async fn availability_zones_detail(
    state: State<AppState>,
    path: Path<String>,
) -> NovaResult<Json<Value>> {
    let Json(mut zones) = availability_zones(state, path).await?;
    if let Some(list) = zones["availabilityZoneInfo"].as_array_mut() {
        for zone in list {
            let host = format!("{}.ecsd", zone["zoneName"].as_str().unwrap_or_default());
            zone["hosts"] = json!({ host: { "nova-compute": {
                "available": true, "active": true, "updated_at": null } } });
        }
    }
    Ok(Json(zones))
}

/// `GET …/limits`: the ECS limits page's `absolute` under Nova's `limits`, `rate` empty.
pub async fn limits(state: State<AppState>, path: crate::Path<String>) -> NovaResult<Json<Value>> {
    let Json(ecs) = crate::ecs::server_groups::limits_view(state, path)
        .await
        .map_err(NovaError::from)?;
    Ok(Json(
        json!({ "limits": { "absolute": ecs["absolute"], "rate": [] } }),
    ))
}

/// `GET …/servers/{server_id}/ips`.
pub async fn server_ips(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let addresses = strip_to_addr_version(addresses_json(&server));
    Ok(Json(json!({ "addresses": addresses })))
}

fn strip_to_addr_version(addresses: Value) -> Value {
    let Value::Object(networks) = addresses else {
        return json!({});
    };
    networks
        .into_iter()
        .map(|(name, list)| {
            let list: Vec<Value> = list
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|item| json!({ "addr": item["addr"], "version": item["version"] }))
                        .collect()
                })
                .unwrap_or_default();
            (name, Value::from(list))
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// `GET …/servers/{server_id}/ips/{network_name}`: `{network_name: [...]}`, else 404.
pub async fn server_ips_of_network(
    State(state): State<AppState>,
    Path((project_id, server_id, network)): Path<(String, String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let addresses = strip_to_addr_version(addresses_json(&server));
    let list = addresses
        .get(&network)
        .cloned()
        .ok_or_else(|| NovaError::not_found("Instance is not a member of specified network"))?;
    Ok(Json(json!({ network: list })))
}

/// `GET …/servers/{server_id}/os-security-groups`.
pub async fn server_security_groups(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let ids: Vec<String> = if server.doc.security_group_ids.is_empty() {
        vec!["00000000-0000-4000-8000-000000000000".to_owned()]
    } else {
        server.doc.security_group_ids.clone()
    };
    let groups: Vec<Value> = ids
        .iter()
        .map(|id| {
            let name = if server.doc.security_group_ids.is_empty() { "default" } else { id.as_str() };
            json!({ "id": id, "name": name, "description": "", "tenant_id": server.project_id, "rules": [] })
        })
        .collect();
    Ok(Json(json!({ "security_groups": groups })))
}

/// `GET …/servers/{server_id}/os-interface`.
pub async fn server_interfaces(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let attachments: Vec<Value> = server
        .doc
        .nics
        .iter()
        .map(|nic| {
            json!({
                "port_id": nic.port_id,
                "net_id": nic.subnet_id,
                "mac_addr": nic.mac_address,
                "port_state": "ACTIVE",
                "fixed_ips": [{ "ip_address": nic.ip_address, "subnet_id": super::networks::derived_uuid(&format!("subnet:{}", nic.subnet_id)) }],
            })
        })
        .collect();
    Ok(Json(json!({ "interfaceAttachments": attachments })))
}

/// `GET …/servers/{server_id}/os-volume_attachments`.
pub async fn volume_attachments(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let attachments: Vec<Value> = server
        .doc
        .volumes
        .iter()
        .map(|volume| json!({ "id": volume.id, "volumeId": volume.id, "serverId": server.id, "device": volume.device }))
        .collect();
    Ok(Json(json!({ "volumeAttachments": attachments })))
}

/// `GET …/os-networks`: the networks the Neutron list shows, as nova-network labels them.
pub async fn os_networks(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
) -> NovaResult<Json<Value>> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    let page = state
        .engine
        .servers(engine::store::ServerQuery {
            project_id: project_id.clone(),
            limit: 1000,
            ..Default::default()
        })
        .await?;
    let mut ids = vec![super::networks::DEFAULT_NETWORK_ID.to_owned()];
    for server in &page.servers {
        for nic in &server.doc.nics {
            if !ids.contains(&nic.subnet_id) {
                ids.push(nic.subnet_id.clone());
            }
        }
    }
    let networks: Vec<Value> = ids
        .iter()
        .map(|id| {
            let (cidr, gateway) = super::networks::cidr_and_gateway(id);
            json!({
                "id": id,
                "label": format!("subnet-{}", &id[..8]),
                "cidr": cidr,
                "netmask": "255.255.255.0",
                "gateway": gateway,
                "broadcast": cidr.replace(".0/24", ".255"),
                "dns1": "100.125.4.25",
                "dns2": "100.125.129.199",
                "cidr_v6": "",
                "gateway_v6": "",
                "netmask_v6": "",
                "bridge": "",
            })
        })
        .collect();
    Ok(Json(json!({ "networks": networks })))
}

/// `GET /v2.1/{project_id}/servers/{server_id}/tags` (2.26).
pub async fn tags_list(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let tags: Vec<String> = server
        .doc
        .tags
        .iter()
        .map(|tag| tag.strip_suffix('=').unwrap_or(tag).to_owned())
        .collect();
    Ok(Json(json!({ "tags": tags })))
}

/// A Nova tag (a plain string) as an ECS tag: the key, with no value. The tag APIs' rules
/// apply (at most 10 per server, 1–36 characters of letters, digits, `_`, `-`).
fn nova_tag(tag: &str) -> NovaResult<(String, String)> {
    crate::ecs::tags::validate_new_tag("tag", tag, "").map_err(NovaError::from)?;
    Ok((tag.to_owned(), String::new()))
}

fn tag_strings(server: &ServerRecord) -> Vec<String> {
    server
        .doc
        .tags
        .iter()
        .map(|tag| tag.strip_suffix('=').unwrap_or(tag).to_owned())
        .collect()
}

/// `GET /v2.1/{project_id}/servers/{server_id}/tags/{tag}`: 204 if the server has it, else 404.
pub async fn tag_check(
    State(state): State<AppState>,
    Path((project_id, server_id, tag)): Path<(String, String, String)>,
) -> NovaResult<StatusCode> {
    let server = find_server(&state, &project_id, &server_id).await?;
    if tag_strings(&server).contains(&tag) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(NovaError::not_found(format!(
            "Tag {tag} could not be found on instance {server_id}."
        )))
    }
}

/// `PUT /v2.1/{project_id}/servers/{server_id}/tags/{tag}`: 201 with the page's JSON body
/// (`message`, `code`, `title`) when added, 204 when it was there.
pub async fn tag_add(
    State(state): State<AppState>,
    Path((project_id, server_id, tag)): Path<(String, String, String)>,
) -> NovaResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let server = find_server(&state, &project_id, &server_id).await?;
    if tag_strings(&server).contains(&tag) {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let change = ServerChange::TagsAdd {
        tags: vec![nova_tag(&tag)?],
        max: crate::ecs::tags::MAX_TAGS,
    };
    edit(&state, &server, change).await?;
    let body =
        json!({ "message": "<br /><br />\n\n\n", "code": "201 Created", "title": "Created" });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `PUT /v2.1/{project_id}/servers/{server_id}/tags`: `{"tags": [...]}` replaces every tag
/// (the removal and the addition are separate writes).
pub async fn tags_replace(
    State(state): State<AppState>,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Json<Value>> {
    let tags: Vec<String> = serde_json::from_value(body["tags"].clone())
        .map_err(|_| NovaError::bad_request("The body needs \"tags\": a list of strings."))?;
    if tags.len() > crate::ecs::tags::MAX_TAGS {
        return Err(NovaError::bad_request(format!(
            "At most {} tags per server.",
            crate::ecs::tags::MAX_TAGS
        )));
    }
    let wanted = tags
        .iter()
        .map(|tag| nova_tag(tag))
        .collect::<NovaResult<Vec<_>>>()?;
    let removed: Vec<(String, Option<String>)> = engine::server::tag_pairs(&server.doc.tags)
        .map(|(key, _)| (key.to_owned(), None))
        .collect();
    edit(&state, &server, ServerChange::TagsDelete { tags: removed }).await?;
    let change = ServerChange::TagsAdd {
        tags: wanted,
        max: crate::ecs::tags::MAX_TAGS,
    };
    let updated = edit(&state, &server, change).await?;
    Ok(Json(json!({ "tags": tag_strings(&updated) })))
}

/// `DELETE /v2.1/{project_id}/servers/{server_id}/tags/{tag}`: 204, else 404.
pub async fn tag_delete(
    State(state): State<AppState>,
    Path((project_id, server_id, tag)): Path<(String, String, String)>,
) -> NovaResult<StatusCode> {
    let server = find_server(&state, &project_id, &server_id).await?;
    if !tag_strings(&server).contains(&tag) {
        return Err(NovaError::not_found(format!(
            "Tag {tag} could not be found on instance {server_id}."
        )));
    }
    let key = tag
        .split_once('=')
        .map_or(tag.as_str(), |(key, _)| key)
        .to_owned();
    edit(
        &state,
        &server,
        ServerChange::TagsDelete {
            tags: vec![(key, None)],
        },
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /v2.1/{project_id}/servers/{server_id}/tags`: 204.
pub async fn tags_delete_all(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<StatusCode> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let removed: Vec<(String, Option<String>)> = engine::server::tag_pairs(&server.doc.tags)
        .map(|(key, _)| (key.to_owned(), None))
        .collect();
    edit(&state, &server, ServerChange::TagsDelete { tags: removed }).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET …/servers/{server_id}/os-server-password`: ecsd keeps no encrypted password (the
/// simulated servers run no metadata agent that would post one), so it is `""`, as Nova shows
/// a server without one.
pub async fn password_show(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    find_server(&state, &project_id, &server_id).await?;
    Ok(Json(json!({ "password": "" })))
}

/// `DELETE …/servers/{server_id}/os-server-password`: 204 (there is nothing to clear).
pub async fn password_delete(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<StatusCode> {
    find_server(&state, &project_id, &server_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v2.1/{project_id}/servers/{server_id}/remote-consoles`: `{"remote_console":
/// {"protocol": "vnc", "type": "novnc"}}` answers a console URL. The page says "2.6 or later",
/// when the API appeared; ecsd serves it at every microversion. The simulated servers have no
/// screen: the URL has the shape of the real one and leads nowhere.
pub async fn remote_console(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Json<Value>> {
    let console = &body["remote_console"];
    if console["protocol"] != "vnc" || console["type"] != "novnc" {
        return Err(NovaError::bad_request(
            "remote_console must be {\"protocol\": \"vnc\", \"type\": \"novnc\"}.",
        ));
    }
    if server.state.vm_state != engine::server::VmState::Active {
        return Err(NovaError::conflict(format!(
            "Instance {} is not running: no console.",
            server.id
        )));
    }
    let token =
        super::networks::derived_uuid(&format!("console:{}:{}", server.id, server.updated_at));
    let base = super::base_url(&state, &headers);
    Ok(Json(json!({
        "remote_console": {
            "protocol": "vnc",
            "type": "novnc",
            "url": format!("{base}/vnc_auto.html?token={token}&lang=en-us"),
        }
    })))
}
