//! Reads that show what the jobs on one server did: its disks (`block_device`), its NICs
//! (`os-interface`), and the flavors it may be resized to (`resize_flavors`).

use crate::body::{list_limit, query_pairs};
use crate::ecs::servers::{require_uuid, server_in_path, server_not_found};
use crate::error::ApiError;
use crate::error_codes;
use crate::identity::auth::ProjectScope;
use crate::{project_from_path, AppState, Path};
use axum::extract::{RawQuery, State};
use axum::Json;
use engine::flavors::Flavor;
use engine::server::{ServerRecord, Volume};
use engine::server_jobs::{MAX_DATA_VOLUMES, MAX_NICS};
use serde_json::{json, Value};

/// One disk as the `block_device` pages show it: `bootIndex` an integer (0 = the system disk,
/// data disks 1, 2… in order), a PCI address from the device letter, `bus` virtio.
fn volume_attachment(server: &ServerRecord, position: usize, volume: &Volume) -> Value {
    let letter = volume
        .device
        .bytes()
        .last()
        .map_or(0, |byte| byte.saturating_sub(b'a'));
    json!({
        "serverId": server.id,
        "volumeId": volume.id,
        "id": volume.id,
        "size": volume.size_gib,
        "device": volume.device,
        "pciAddress": format!("0000:02:{:02x}.0", u32::from(letter) + 1),
        "bootIndex": volume.boot_index.unwrap_or(position as i64),
        "bus": "virtio",
    })
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/block_device`
/// (`disk_management/listing_details_about_disks_attached_to_an_ecs.rst`).
pub async fn server_block_device_list(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    block_device_list(&state, &project_id, &server_id).await
}

/// `GET /v2.1/servers/{server_id}/block_device`
/// (`disk_management/querying_disk_attachment_of_an_ecs.rst`): the same answer, with the
/// project taken from the credentials ([`ProjectScope`]).
pub async fn server_block_device_list_v21(
    State(state): State<AppState>,
    ProjectScope(project_id): ProjectScope,
    Path(server_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    block_device_list(&state, &project_id, &server_id).await
}

/// `GET /v2.1/servers/{server_id}/block_device/{volume_id}`
/// (`disk_management/querying_a_single_disk_attached_to_an_ecs.rst`), project from the
/// credentials.
pub async fn server_block_device_view_v21(
    State(state): State<AppState>,
    ProjectScope(project_id): ProjectScope,
    Path((server_id, volume_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    block_device_view(&state, &project_id, &server_id, &volume_id).await
}

async fn block_device_list(
    state: &AppState,
    project_id: &str,
    server_id: &str,
) -> Result<Json<Value>, ApiError> {
    let server = server_in_path(state, project_id, server_id).await?;
    let attachments: Vec<Value> = server
        .doc
        .volumes
        .iter()
        .enumerate()
        .map(|(position, volume)| volume_attachment(&server, position, volume))
        .collect();
    let free = (MAX_DATA_VOLUMES + 1).saturating_sub(server.doc.volumes.len());
    Ok(Json(json!({
        "attachableQuantity": { "free_scsi": free, "free_blk": free, "free_disk": free },
        "volumeAttachments": attachments,
    })))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/block_device/{volume_id}`
/// (`disk_management/querying_details_of_a_single_disk_attached_to_an_ecs.rst`); a disk not
/// attached to the server is `Ecs.0111`.
pub async fn server_block_device_view(
    State(state): State<AppState>,
    Path((project_id, server_id, volume_id)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    block_device_view(&state, &project_id, &server_id, &volume_id).await
}

async fn block_device_view(
    state: &AppState,
    project_id: &str,
    server_id: &str,
    volume_id: &str,
) -> Result<Json<Value>, ApiError> {
    let server = server_in_path(state, project_id, server_id).await?;
    let canonical_volume = require_uuid("volume_id", volume_id)?;
    let (position, volume) = server
        .doc
        .volumes
        .iter()
        .enumerate()
        .find(|(_, volume)| volume.id == canonical_volume)
        .ok_or_else(|| {
            ApiError::new(
                error_codes::ECS_0111,
                format!(
                    "The disk {volume_id} is not attached to the ECS {}.",
                    server.id
                ),
            )
        })?;
    Ok(Json(json!({
        "volumeAttachment": volume_attachment(&server, position, volume)
    })))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}/os-interface`
/// (`nic_management/listing_nics_of_an_ecs.rst`). ecsd has one id per network: `net_id` and
/// `fixed_ips[].subnet_id` are both the `subnet_id` the NIC was created with.
pub async fn server_interface_list(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let server = server_in_path(&state, &project_id, &server_id).await?;
    let attachments: Vec<Value> = server
        .doc
        .nics
        .iter()
        .map(|nic| {
            json!({
                "port_state": "ACTIVE",
                "fixed_ips": [{ "subnet_id": nic.subnet_id, "ip_address": nic.ip_address }],
                "net_id": nic.subnet_id,
                "port_id": nic.port_id,
                "mac_addr": nic.mac_address,
                "delete_on_termination": false,
                "driver_mode": null,
                "min_rate": null,
                "multiqueue_num": null,
                "pci_address": null,
            })
        })
        .collect();
    Ok(Json(json!({
        "attachableQuantity": {
            "free_nic": MAX_NICS.saturating_sub(server.doc.nics.len()),
            "free_efi_nic": 0,
        },
        "interfaceAttachments": attachments,
    })))
}

/// `GET /v1/{project_id}/cloudservers/resize_flavors` and `GET /v2.1/{project_id}/resize_flavors`
/// (`flavor_management/querying_the_target_flavors_to_which_an_ecs_flavor_can_be_changed.rst`;
/// both paths, ASYNC-OPERATIONS.md §6 row 17): the rule of `FlavorCatalogue::resize_targets`,
/// sorted by `sort_key`/`sort_dir`, paged by `limit` and `marker` (the last id of a page).
pub async fn resize_flavor_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let (mut instance, mut flavor_id, mut flavor_name) = (None, None, None);
    let (mut sort_key, mut descending, mut limit, mut marker) =
        ("flavorid".to_owned(), false, 1000usize, None);
    for (key, value) in query_pairs(query.as_deref())? {
        match key.as_str() {
            "instance_uuid" if !value.is_empty() => instance = Some(value),
            "source_flavor_id" if !value.is_empty() => flavor_id = Some(value),
            "source_flavor_name" if !value.is_empty() => flavor_name = Some(value),
            "sort_key" => {
                if !["flavorid", "name", "memory_mb", "vcpus", "root_gb"].contains(&value.as_str())
                {
                    return Err(ApiError::invalid_field(
                        "sort_key",
                        "must be flavorid, name, memory_mb, vcpus or root_gb",
                    ));
                }
                sort_key = value;
            }
            "sort_dir" => {
                descending = match value.as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => return Err(ApiError::invalid_field("sort_dir", "must be asc or desc")),
                }
            }
            "limit" => limit = list_limit(&value)?,
            "marker" if !value.is_empty() => marker = Some(value),
            _ => {}
        }
    }
    // The project's region's catalogue: another region's flavor is unknown here.
    let region = state.region(project_id);
    let catalogue = region.flavors();
    let unknown_flavor = |what: &str| crate::ecs::flavors::unknown_flavor(what, &region);
    // The source flavor, in the order the page gives: instance, flavor id, flavor name.
    let (source_id, source_name) = if let Some(instance) = instance {
        let canonical = require_uuid("instance_uuid", &instance)?;
        let server = state
            .engine
            .server(project_id, &canonical)
            .await?
            .ok_or_else(|| server_not_found(&instance))?;
        (server.doc.flavor.id, server.doc.flavor.name)
    } else if let Some(id) = flavor_id {
        let flavor = catalogue.get(&id).ok_or_else(|| unknown_flavor(&id))?;
        (flavor.id.clone(), flavor.name.clone())
    } else if let Some(name) = flavor_name {
        let flavor = catalogue
            .all()
            .iter()
            .find(|flavor| flavor.name == name)
            .ok_or_else(|| unknown_flavor(&name))?;
        (flavor.id.clone(), flavor.name.clone())
    } else {
        return Err(ApiError::invalid_field(
            "query",
            "one of instance_uuid, source_flavor_id or source_flavor_name is required",
        ));
    };
    let targets: Vec<&Flavor> = match catalogue.get(&source_id) {
        Some(source) => catalogue.resize_targets(source),
        // A server's flavor that the catalogue no longer has: the same family rule by name.
        None => {
            let family = source_name.split('.').next().unwrap_or_default();
            catalogue
                .all()
                .iter()
                .filter(|flavor| {
                    flavor.family() == family && flavor.id != source_id && !flavor.is_retired()
                })
                .collect()
        }
    };
    let mut targets = targets;
    targets.sort_by(|a, b| {
        let order = match sort_key.as_str() {
            "name" => a.name.cmp(&b.name),
            "memory_mb" => a.ram.cmp(&b.ram),
            "vcpus" => a.vcpu_count().cmp(&b.vcpu_count()),
            _ => std::cmp::Ordering::Equal,
        };
        order.then_with(|| a.id.cmp(&b.id))
    });
    if descending {
        targets.reverse();
    }
    let start = match &marker {
        None => 0,
        Some(marker) => {
            targets
                .iter()
                .position(|flavor| flavor.id == *marker)
                .ok_or_else(|| {
                    ApiError::invalid_field("marker", format!("{marker:?} is not a target flavor"))
                })?
                + 1
        }
    };
    let flavors = targets
        .iter()
        .skip(start)
        .take(limit)
        .map(|flavor| {
            let mut value = serde_json::to_value(flavor).map_err(ApiError::internal)?;
            if let Some(object) = value.as_object_mut() {
                // This page names the extra specifications `extra_specs` (an object, as sampled).
                let specs = object.remove("os_extra_specs").unwrap_or(json!({}));
                object.insert("extra_specs".to_owned(), specs);
            }
            Ok(value)
        })
        .collect::<Result<Vec<Value>, ApiError>>()?;
    Ok(Json(json!({ "flavors": flavors })))
}
