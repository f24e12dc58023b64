//! Servers (`lifecycle_management/`): create (an engine create job; 202 with the server),
//! list, list with details, show, modify, delete (an engine delete job; 204), and the Nova
//! server view, which changes with the microversion as Nova's does.

use super::networks::{DEFAULT_NETWORK_ID, DEFAULT_VPC_ID};
use super::{base_url, json_body, Microversion, NovaError, NovaResult};
use crate::body::{query_pairs, read_limited};
use crate::ecs::servers::scheduler_hints_view;
use crate::ecs::servers::{
    host_id, metadata_json, require_uuid, validate_admin_pass, validate_name,
};
use crate::time_format::{launch_time, server_time};
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::engine::{CreateServers, NicRequest, ServerAction, VolumeRequest};
use engine::job::JobKind;
use engine::server::{FlavorRef, ServerRecord, ServerStatus};
use engine::store::ServerQuery;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The root disk type of a server created through Nova, which has no disk type parameter
/// (a `block_device_mapping_v2` entry's `volume_type` wins).
pub const DEFAULT_VOLUME_TYPE: &str = "SSD";
/// Most servers one Nova create may build (`max_count`), as ECS's `count`.
const MAX_COUNT: i64 = 100;

/// A Nova request on `…/{project_id}/servers/{server_id}` with a JSON body: the server found
/// in the project first (Nova's 404 otherwise), then the body read within the size limit and
/// parsed as JSON, in that order — the preamble every such handler wrote out.
pub struct ServerWithBody {
    pub server: ServerRecord,
    pub body: Value,
}

impl axum::extract::FromRequest<AppState> for ServerWithBody {
    type Rejection = NovaError;

    async fn from_request(
        request: axum::extract::Request,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let crate::Path((project_id, server_id)) =
            <crate::Path<(String, String)> as axum::extract::FromRequestParts<AppState>>::from_request_parts(
                &mut parts, state,
            )
            .await?;
        let server = find_server(state, &project_id, &server_id).await?;
        let bytes = read_limited(body, state.max_body_bytes)
            .await
            .map_err(NovaError::from)?;
        let body = json_body(&bytes)?;
        Ok(Self { server, body })
    }
}

/// The server a path names, in the project, or Nova's 404.
pub(crate) async fn find_server(
    state: &AppState,
    project_id: &str,
    server_id: &str,
) -> NovaResult<ServerRecord> {
    let not_found = || NovaError::not_found(format!("Instance {server_id} could not be found."));
    let canonical = uuid::Uuid::try_parse(server_id)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| not_found())?;
    crate::project_from_path(project_id).map_err(NovaError::from)?;
    state
        .engine
        .server(project_id, &canonical)
        .await?
        .ok_or_else(not_found)
}

/// Nova's 409 for a locked server (`lock`): its actions, deletion, disks and NICs wait for an
/// `unlock`.
pub(crate) fn refuse_locked(server: &ServerRecord) -> NovaResult<()> {
    if server.doc.locked {
        return Err(NovaError::conflict(format!(
            "Instance {} is locked",
            server.id
        )));
    }
    Ok(())
}

fn links(base: &str, project_id: &str, kind: &str, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{base}/v2.1/{project_id}/{kind}/{id}")},
        {"rel": "bookmark", "href": format!("{base}/{project_id}/{kind}/{id}")}
    ])
}

/// The `flavor` of a server: `{"id", "links"}` before 2.47, the embedded flavor from 2.47
/// (with its extra specs from the catalogue, when the flavor is still in it).
fn flavor_view(
    state: &AppState,
    flavor: &FlavorRef,
    version: Microversion,
    base: &str,
    project_id: &str,
) -> Value {
    if !version.at_least(47) {
        return json!({ "id": flavor.id, "links": links(base, project_id, "flavors", &flavor.id) });
    }
    let extra_specs = state
        .region(project_id)
        .flavors()
        .get(&flavor.id)
        .map(|known| json!(known.os_extra_specs))
        .unwrap_or_else(|| json!({}));
    json!({
        "original_name": flavor.name,
        "vcpus": flavor.vcpus.trim().parse::<u64>().unwrap_or(0),
        "ram": flavor.ram,
        "disk": flavor.disk.trim().parse::<u64>().unwrap_or(0),
        "ephemeral": 0,
        "swap": 0,
        "extra_specs": extra_specs,
    })
}

/// `addresses`: `{network: [{"addr", "version", "OS-EXT-IPS:type", "OS-EXT-IPS-MAC:mac_addr"}]}`,
/// keyed by the VPC as in the ECS view, so both views name the same network.
pub(crate) fn addresses_json(server: &ServerRecord) -> Value {
    let doc = &server.doc;
    let mut addresses: Vec<Value> = doc
        .nics
        .iter()
        .map(|nic| {
            json!({
                "addr": nic.ip_address,
                "version": 4,
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": nic.mac_address,
            })
        })
        .collect();
    if let (Some(public_ip), Some(primary)) = (&doc.public_ip, doc.nics.first()) {
        addresses.push(json!({
            "addr": public_ip.address,
            "version": 4,
            "OS-EXT-IPS:type": "floating",
            "OS-EXT-IPS-MAC:mac_addr": primary.mac_address,
        }));
    }
    if addresses.is_empty() {
        json!({})
    } else {
        json!({ doc.vpc_id.clone(): addresses })
    }
}

/// The tags as Nova shows them: a tag given through Nova (no value) is its key; an ECS
/// `key=value` tag shows as that string.
fn nova_tags(server: &ServerRecord) -> Vec<String> {
    server
        .doc
        .tags
        .iter()
        .map(|tag| tag.strip_suffix('=').unwrap_or(tag).to_owned())
        .collect()
}

/// Nova's detailed server view at `version`. `progress` is 0 (OSC prints a non-zero progress
/// before its output); `fault` is there only when the server has one (as Nova shows it).
pub fn server_json(
    state: &AppState,
    server: &ServerRecord,
    version: Microversion,
    base: &str,
) -> Value {
    let doc = &server.doc;
    let project_id = server.project_id.as_str();
    let security_groups: Vec<Value> = if doc.security_group_ids.is_empty() {
        vec![json!({ "name": "default" })]
    } else {
        doc.security_group_ids
            .iter()
            .map(|id| json!({ "name": id }))
            .collect()
    };
    let volumes: Vec<Value> = doc
        .volumes
        .iter()
        .map(|volume| {
            if version.at_least(3) {
                json!({ "id": volume.id, "delete_on_termination": volume.delete_on_termination })
            } else {
                json!({ "id": volume.id })
            }
        })
        .collect();
    let mut view = json!({
        "id": server.id,
        "name": server.name,
        "status": server.state.status().as_str(),
        "tenant_id": project_id,
        "user_id": "ecsd-local-user",
        "metadata": metadata_json(server),
        "hostId": host_id(server),
        "image": { "id": doc.image_id, "links": links(base, project_id, "images", &doc.image_id) },
        "flavor": flavor_view(state, &doc.flavor, version, base, project_id),
        "created": server_time(server.created_at),
        "updated": server_time(server.updated_at),
        "addresses": addresses_json(server),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": links(base, project_id, "servers", &server.id),
        "OS-DCF:diskConfig": "MANUAL",
        "progress": 0,
        "OS-EXT-AZ:availability_zone": doc.availability_zone,
        "config_drive": "",
        "key_name": doc.key_name,
        "OS-SRV-USG:launched_at": server.launched_at.map(launch_time),
        "OS-SRV-USG:terminated_at": null,
        "OS-EXT-SRV-ATTR:host": doc.host.clone().unwrap_or_else(|| format!("{}.ecsd", doc.availability_zone)),
        "OS-EXT-SRV-ATTR:instance_name": format!("instance-{}", &server.id[..8]),
        "OS-EXT-SRV-ATTR:hypervisor_hostname": "ecsd-simulated",
        "OS-EXT-STS:task_state": server.state.task_state.map(|state| state.as_str()),
        "OS-EXT-STS:vm_state": server.state.vm_state.as_str(),
        "OS-EXT-STS:power_state": server.state.power_state,
        "os-extended-volumes:volumes_attached": volumes,
        "security_groups": security_groups,
    });
    let Some(object) = view.as_object_mut() else {
        return view;
    };
    // The fields later microversions add (2.3, 2.9, 2.16, 2.19, 2.26) are shown at every
    // microversion, as the reference's pages show them; only the flavor changes shape (2.47).
    for (key, value) in [
        ("OS-EXT-SRV-ATTR:hostname", json!(doc.hostname)),
        ("OS-EXT-SRV-ATTR:reservation_id", json!(doc.reservation_id)),
        ("OS-EXT-SRV-ATTR:launch_index", json!(doc.launch_index)),
        ("OS-EXT-SRV-ATTR:root_device_name", json!("/dev/vda")),
        ("OS-EXT-SRV-ATTR:kernel_id", json!("")),
        ("OS-EXT-SRV-ATTR:ramdisk_id", json!("")),
        ("OS-EXT-SRV-ATTR:user_data", Value::Null),
        ("locked", json!(doc.locked)),
        ("host_status", json!("UP")),
        ("description", json!(doc.description)),
        ("tags", json!(nova_tags(server))),
        (
            "os:scheduler_hints",
            scheduler_hints_view(&doc.scheduler_hints),
        ),
    ] {
        object.insert(key.to_owned(), value);
    }
    if let Some(fault) = &server.fault {
        object.insert(
            "fault".into(),
            json!({
                "code": 500,
                "message": format!("{}: {}", fault.code, fault.message),
                "details": fault.message,
                "created": server_time(fault.created),
            }),
        );
    }
    view
}

// ---------------------------------------------------------------------------------------------
// Create.

fn field<'a>(server: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    server.get(name).filter(|value| !value.is_null())
}

fn string_field(server: &Map<String, Value>, name: &str) -> NovaResult<Option<String>> {
    match field(server, name) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(NovaError::bad_request(format!(
            "Invalid input for field/attribute {name}: must be a string."
        ))),
    }
}

fn integer_field(value: &Value, name: &str) -> NovaResult<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        NovaError::bad_request(format!(
            "Invalid input for field/attribute {name}: must be an integer."
        ))
    })
}

/// The last path segment of a reference that may be a URL (`flavorRef`, `imageRef`).
fn reference_id(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// A Nova create body as an engine create. `networks` entries name ECS subnets (Neutron
/// networks); `"auto"` or none takes the default network; `"none"` is refused (an ECS has at
/// least one NIC). `block_device_mapping_v2`: the boot entry (`boot_index` 0, as an integer or
/// a string) with `destination_type` `local` (OSC's "boot from this image") or `volume` gives
/// the image and the root disk's size and type; other entries with `volume_size` become data
/// disks.
fn create_request(
    state: &AppState,
    project_id: &str,
    body: &Value,
) -> NovaResult<(CreateServers, Option<String>)> {
    let region = state.region(project_id);
    let server = body
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| NovaError::bad_request("The request needs a \"server\" object."))?;
    let name = string_field(server, "name")?.ok_or_else(|| {
        NovaError::bad_request(
            "Invalid input for field/attribute server: 'name' is a required property",
        )
    })?;
    let flavor_ref = string_field(server, "flavorRef")?.ok_or_else(|| {
        NovaError::bad_request(
            "Invalid input for field/attribute server: 'flavorRef' is a required property",
        )
    })?;
    let flavor = region
        .flavors()
        .get(reference_id(&flavor_ref))
        .filter(|flavor| !flavor.is_retired())
        .ok_or_else(|| {
            NovaError::bad_request(format!("Flavor {flavor_ref} could not be found."))
        })?;
    let min_count = field(server, "min_count")
        .map(|v| integer_field(v, "min_count"))
        .transpose()?
        .unwrap_or(1);
    let max_count = field(server, "max_count")
        .map(|v| integer_field(v, "max_count"))
        .transpose()?
        .unwrap_or(min_count);
    if min_count < 1 || max_count < min_count {
        return Err(NovaError::bad_request(
            "min_count must be at least 1 and at most max_count.",
        ));
    }
    if max_count > MAX_COUNT {
        return Err(NovaError::new(
            StatusCode::FORBIDDEN,
            format!("Quota exceeded: at most {MAX_COUNT} servers per request."),
        ));
    }
    validate_name(&name, max_count).map_err(NovaError::from)?;

    let mut image_ref = string_field(server, "imageRef")?.filter(|image| !image.is_empty());
    let mut root_size = None;
    let mut root_type = DEFAULT_VOLUME_TYPE.to_owned();
    let mut data_volumes = Vec::new();
    if let Some(mappings) = field(server, "block_device_mapping_v2") {
        let mappings = mappings
            .as_array()
            .ok_or_else(|| NovaError::bad_request("block_device_mapping_v2 must be a list."))?;
        for (index, mapping) in mappings.iter().enumerate() {
            let boot_index = match mapping.get("boot_index") {
                None | Some(Value::Null) => None,
                Some(value) => Some(integer_field(value, "boot_index")?),
            };
            let size = match mapping.get("volume_size") {
                None | Some(Value::Null) => None,
                Some(value) => Some(integer_field(value, "volume_size")?),
            };
            let volume_type = mapping.get("volume_type").and_then(Value::as_str);
            let destination = mapping
                .get("destination_type")
                .and_then(Value::as_str)
                .unwrap_or("volume");
            if !matches!(destination, "local" | "volume") {
                return Err(NovaError::bad_request(format!(
                    "block_device_mapping_v2[{index}].destination_type must be local or volume"
                )));
            }
            if boot_index == Some(0) {
                if mapping.get("source_type").and_then(Value::as_str) == Some("image") {
                    if let Some(uuid) = mapping.get("uuid").and_then(Value::as_str) {
                        image_ref.get_or_insert_with(|| uuid.to_owned());
                    }
                }
                root_size = size;
                if let Some(volume_type) = volume_type {
                    root_type = volume_type.to_owned();
                }
            } else if let Some(size) = size {
                data_volumes.push(VolumeRequest {
                    volume_type: volume_type.unwrap_or(DEFAULT_VOLUME_TYPE).to_owned(),
                    size_gib: Some(size),
                });
            }
        }
    }
    let image_ref = image_ref.ok_or_else(|| {
        NovaError::bad_request(
            "imageRef (or a boot block device mapping from an image) is required.",
        )
    })?;
    // The disks follow ECS's create rules (types, system disk 1–1024 GiB, data 10–32768 GiB).
    let check_volume =
        |field: &str, volume: &VolumeRequest, sizes: std::ops::RangeInclusive<i64>| {
            if !crate::ecs::servers::VOLUME_TYPES.contains(&volume.volume_type.as_str()) {
                return Err(NovaError::bad_request(format!(
                    "{field}: volume type {} is not one of {}.",
                    volume.volume_type,
                    crate::ecs::servers::VOLUME_TYPES.join(", ")
                )));
            }
            match volume.size_gib {
                None | Some(0) => Ok(()),
                Some(size) if sizes.contains(&size) => Ok(()),
                Some(size) => Err(NovaError::bad_request(format!(
                    "{field}: volume_size {size} is not from {} to {} GiB.",
                    sizes.start(),
                    sizes.end()
                ))),
            }
        };
    check_volume(
        "block_device_mapping_v2 (boot)",
        &VolumeRequest {
            volume_type: root_type.clone(),
            size_gib: root_size,
        },
        1..=1024,
    )?;
    for volume in &data_volumes {
        check_volume("block_device_mapping_v2", volume, 10..=32768)?;
    }
    let image_id = require_uuid("server.imageRef", reference_id(&image_ref)).map_err(|_| {
        NovaError::bad_request(format!(
            "Invalid imageRef provided: {image_ref} is not a UUID."
        ))
    })?;

    let mut nics = Vec::new();
    match field(server, "networks") {
        None => nics.push(NicRequest {
            subnet_id: DEFAULT_NETWORK_ID.to_owned(),
            ip_address: None,
        }),
        Some(Value::String(mode)) if mode == "auto" => nics.push(NicRequest {
            subnet_id: DEFAULT_NETWORK_ID.to_owned(),
            ip_address: None,
        }),
        Some(Value::String(mode)) if mode == "none" => {
            return Err(NovaError::bad_request(
                "An ECS needs a network: \"networks\": \"none\" is not supported.",
            ))
        }
        Some(Value::Array(networks)) => {
            for (index, network) in networks.iter().enumerate() {
                let uuid = network.get("uuid").and_then(Value::as_str).ok_or_else(|| {
                    NovaError::bad_request(format!(
                        "networks[{index}] needs a uuid (ports are not supported)."
                    ))
                })?;
                let subnet_id =
                    require_uuid(&format!("networks[{index}].uuid"), uuid).map_err(|_| {
                        NovaError::bad_request(format!(
                            "Bad networks format: network uuid {uuid} is not in proper format"
                        ))
                    })?;
                let ip_address = network
                    .get("fixed_ip")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Some(ip) = &ip_address {
                    if ip.parse::<std::net::Ipv4Addr>().is_err() {
                        return Err(NovaError::bad_request(format!(
                            "Invalid fixed IP address ({ip})"
                        )));
                    }
                }
                nics.push(NicRequest {
                    subnet_id,
                    ip_address,
                });
            }
        }
        Some(_) => {
            return Err(NovaError::bad_request(
                "networks must be \"auto\", \"none\" or a list.",
            ))
        }
    }
    if nics.is_empty() || nics.len() > 12 {
        return Err(NovaError::bad_request("An ECS has 1 to 12 NICs."));
    }
    let admin_pass = string_field(server, "adminPass")?;
    if let Some(password) = &admin_pass {
        validate_admin_pass("server.adminPass", password).map_err(NovaError::from)?;
    }
    let availability_zone =
        string_field(server, "availability_zone")?.filter(|zone| !zone.is_empty());
    if let Some(zone) = &availability_zone {
        if !region.has_zone(zone) {
            return Err(NovaError::bad_request(format!(
                "The requested availability zone {zone} is not available"
            )));
        }
    }
    let metadata: BTreeMap<String, String> = match field(server, "metadata") {
        None => BTreeMap::new(),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|_| NovaError::bad_request("metadata must be an object of strings."))?,
    };
    let tags: Vec<(String, String)> = match field(server, "tags") {
        None => Vec::new(),
        Some(value) => serde_json::from_value::<Vec<String>>(value.clone())
            .map_err(|_| NovaError::bad_request("tags must be a list of strings."))?
            .into_iter()
            .map(|tag| (tag, String::new()))
            .collect(),
    };
    for (key, value) in &tags {
        crate::ecs::tags::validate_new_tag("server.tags", key, value).map_err(NovaError::from)?;
    }
    let security_group_ids = match field(server, "security_groups") {
        None => Vec::new(),
        Some(Value::Array(groups)) => groups
            .iter()
            .filter_map(|group| group.get("name").and_then(Value::as_str))
            // Names are not modelled; a group named by its UUID is kept.
            .filter_map(|name| {
                uuid::Uuid::try_parse(name)
                    .ok()
                    .map(|id| id.hyphenated().to_string())
            })
            .collect(),
        Some(_) => return Err(NovaError::bad_request("security_groups must be a list.")),
    };
    let scheduler_hints: BTreeMap<String, Value> = body
        .get("os:scheduler_hints")
        .and_then(Value::as_object)
        .map(|hints| {
            hints
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect()
        })
        .unwrap_or_default();
    let server_group_id = match scheduler_hints.get("group").and_then(Value::as_str) {
        Some(group) => {
            Some(require_uuid("os:scheduler_hints.group", group).map_err(NovaError::from)?)
        }
        None => None,
    };
    let description = string_field(server, "description")?.unwrap_or_default();
    if description.chars().count() > 85 || description.contains(['<', '>']) {
        return Err(NovaError::bad_request(
            "description: at most 85 characters, without '<' or '>'.",
        ));
    }
    for (key, value) in &metadata {
        if key.is_empty() || key.chars().count() > 255 || value.chars().count() > 255 {
            return Err(NovaError::bad_request(
                "Metadata keys have 1 to 255 characters, values at most 255.",
            ));
        }
    }
    let request = CreateServers {
        name,
        count: max_count as u32,
        flavor: FlavorRef::from(flavor),
        image_id,
        vpc_id: DEFAULT_VPC_ID.to_owned(),
        // Without one, the region's first zone, as an ECS create.
        availability_zone: Some(
            availability_zone.unwrap_or_else(|| region.default_zone().to_owned()),
        ),
        nics,
        root_volume: VolumeRequest {
            volume_type: root_type,
            size_gib: root_size,
        },
        data_volumes,
        metadata,
        tags,
        key_name: string_field(server, "key_name")?,
        description,
        security_group_ids,
        public_ip: None,
        scheduler_hints,
        auto_recovery: false,
        server_group_id,
    };
    Ok((request, admin_pass))
}

/// `POST …/servers`: 202 with `{"server": {"id", "links", "OS-DCF:diskConfig",
/// "security_groups", "adminPass"}}` and a `Location`. The servers exist (in `BUILD`) from the
/// answer on; with `max_count` > 1 the first is answered and `return_reservation_id` answers
/// `{"reservation_id"}`.
pub async fn server_create(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> NovaResult<Response> {
    crate::project_from_path(&project_id).map_err(NovaError::from)?;
    let bytes = read_limited(body, state.max_body_bytes)
        .await
        .map_err(NovaError::from)?;
    let body = json_body(&bytes)?;
    let (request, admin_pass) = create_request(&state, &project_id, &body)?;
    let accepted = state
        .engine
        .create_servers(&project_id, request, None)
        .await?;
    let Some(first) = accepted.server_ids.first() else {
        return Err(NovaError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "No server was created.",
        ));
    };
    for server_id in &accepted.server_ids {
        super::instance_actions::record(
            &state,
            &project_id,
            server_id,
            "create",
            &headers,
            Some(&accepted.job_id),
        )
        .await;
    }
    let base = base_url(&state, &headers);
    if body["server"]["return_reservation_id"] == json!(true) {
        let server = state.engine.server(&project_id, first).await?;
        let reservation = server
            .map(|server| server.doc.reservation_id)
            .unwrap_or_default();
        return Ok((
            StatusCode::ACCEPTED,
            crate::observe::job_note(&accepted.job_id, JobKind::CreateServers),
            Json(json!({ "reservation_id": reservation })),
        )
            .into_response());
    }
    let admin_pass = admin_pass.unwrap_or_else(|| generated_password(first));
    let answer = json!({
        "server": {
            "id": first,
            "links": links(&base, &project_id, "servers", first),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": [{"name": "default"}],
            "adminPass": admin_pass,
        }
    });
    let mut response = (
        StatusCode::ACCEPTED,
        crate::observe::job_note(&accepted.job_id, JobKind::CreateServers),
        Json(answer),
    )
        .into_response();
    if let Ok(location) =
        HeaderValue::from_str(&format!("{base}/v2.1/{project_id}/servers/{first}"))
    {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// The password Nova invents when none is given: not a secret here (no server exists to log
/// in to), derived from the id so the answer is reproducible.
fn generated_password(server_id: &str) -> String {
    let hex: String = server_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(10)
        .collect();
    format!("Ec{hex}")
}

// ---------------------------------------------------------------------------------------------
// Reads.

struct ListQuery {
    query: ServerQuery,
    limit: usize,
    marker: Option<String>,
    none: bool,
}

/// The list filters: `name` (ECS's fuzzy match), `status`, `flavor`, `tags`/`not-tags`,
/// `limit`, `marker`; `deleted=true` lists nothing (deleted servers are gone); other
/// parameters (`all_tenants`, `changes-since`, `image`, `ip` …) are accepted and ignored.
fn list_query(project_id: &str, raw: Option<&str>) -> NovaResult<ListQuery> {
    let mut list = ListQuery {
        query: ServerQuery {
            project_id: project_id.to_owned(),
            limit: 1000,
            ..ServerQuery::default()
        },
        limit: 1000,
        marker: None,
        none: false,
    };
    for (key, value) in query_pairs(raw).map_err(NovaError::from)? {
        match key.as_str() {
            "name" if !value.is_empty() => list.query.name = Some(value),
            "status" if !value.is_empty() => {
                let status = ServerStatus::parse(&value.to_ascii_uppercase()).ok_or_else(|| {
                    NovaError::bad_request(format!("Invalid status value {value}"))
                })?;
                list.query.statuses = vec![status];
            }
            "flavor" if !value.is_empty() => list.query.flavor_id = Some(value),
            "tags" if !value.is_empty() => {
                list.query.tags =
                    crate::ecs::tags::list_tag_filter("tags", &value).map_err(NovaError::from)?
            }
            "not-tags" if !value.is_empty() => {
                list.query.not_tags = crate::ecs::tags::list_tag_filter("not-tags", &value)
                    .map_err(NovaError::from)?
            }
            "limit" => {
                list.limit = value
                    .parse::<usize>()
                    .map_err(|_| NovaError::bad_request("limit must be an integer"))?
                    .min(1000)
            }
            "marker" => list.marker = Some(value),
            "deleted" if value.eq_ignore_ascii_case("true") || value == "1" => list.none = true,
            _ => {}
        }
    }
    Ok(list)
}

async fn listed(
    state: &AppState,
    project_id: &str,
    raw: Option<&str>,
) -> NovaResult<(Vec<ServerRecord>, bool, usize)> {
    crate::project_from_path(project_id).map_err(NovaError::from)?;
    let list = list_query(project_id, raw)?;
    if list.none {
        return Ok((Vec::new(), false, list.limit));
    }
    let mut servers = state.engine.servers(list.query).await?.servers;
    if let Some(marker) = &list.marker {
        let position = servers
            .iter()
            .position(|server| server.id == *marker)
            .ok_or_else(|| NovaError::bad_request(format!("marker [{marker}] not found")))?;
        servers.drain(..=position);
    }
    let more = servers.len() > list.limit;
    servers.truncate(list.limit);
    Ok((servers, more, list.limit))
}

fn next_link(
    base: &str,
    project_id: &str,
    path: &str,
    servers: &[ServerRecord],
    more: bool,
    limit: usize,
) -> Option<Value> {
    let last = servers.last().filter(|_| more)?;
    Some(json!([{
        "rel": "next",
        "href": format!("{base}/v2.1/{project_id}/{path}?limit={limit}&marker={}", last.id)
    }]))
}

/// `GET …/servers`: id, name, links.
pub async fn server_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> NovaResult<Json<Value>> {
    let (servers, more, limit) = listed(&state, &project_id, query.as_deref()).await?;
    let base = base_url(&state, &headers);
    let items: Vec<Value> = servers
        .iter()
        .map(|server| json!({ "id": server.id, "name": server.name, "links": links(&base, &project_id, "servers", &server.id) }))
        .collect();
    let mut body = json!({ "servers": items });
    if let Some(next) = next_link(&base, &project_id, "servers", &servers, more, limit) {
        body["servers_links"] = next;
    }
    Ok(Json(body))
}

/// `GET …/servers/detail`.
pub async fn server_list_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    version: Microversion,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> NovaResult<Json<Value>> {
    let (servers, more, limit) = listed(&state, &project_id, query.as_deref()).await?;
    let base = base_url(&state, &headers);
    let items: Vec<Value> = servers
        .iter()
        .map(|server| server_json(&state, server, version, &base))
        .collect();
    let mut body = json!({ "servers": items });
    if let Some(next) = next_link(&base, &project_id, "servers/detail", &servers, more, limit) {
        body["servers_links"] = next;
    }
    Ok(Json(body))
}

/// `GET …/servers/{server_id}`; a deleted or unknown server is 404.
pub async fn server_show(
    State(state): State<AppState>,
    headers: HeaderMap,
    version: Microversion,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let server = find_server(&state, &project_id, &server_id).await?;
    let base = base_url(&state, &headers);
    Ok(Json(
        json!({ "server": server_json(&state, &server, version, &base) }),
    ))
}

/// `PUT …/servers/{server_id}`: `name`, and from 2.19 `description` (synchronous, as ECS's
/// modify); answers the server.
pub async fn server_update(
    State(state): State<AppState>,
    headers: HeaderMap,
    version: Microversion,
    ServerWithBody { server, body }: ServerWithBody,
) -> NovaResult<Json<Value>> {
    let fields = body
        .get("server")
        .and_then(Value::as_object)
        .ok_or_else(|| NovaError::bad_request("The request needs a \"server\" object."))?;
    let name = string_field(fields, "name")?;
    if let Some(name) = &name {
        validate_name(name, 1).map_err(NovaError::from)?;
    }
    let description = if version.at_least(19) {
        string_field(fields, "description")?
    } else {
        None
    };
    if let Some(description) = &description {
        if description.chars().count() > 85 || description.contains(['<', '>']) {
            return Err(NovaError::bad_request(
                "description: at most 85 characters, without '<' or '>'",
            ));
        }
    }
    let change = engine::server::ServerChange::Details {
        name,
        description,
        hostname: None,
    };
    let updated = state
        .engine
        .server_edit(&server.project_id, &server.id, change)
        .await
        .map_err(|error| NovaError::from(crate::error::ApiError::from(error)))?;
    let base = base_url(&state, &headers);
    let mut view = server_json(&state, &updated, version, &base);
    // "Modifying an ECS" types the answer's `image` as the image id (a string).
    view["image"] = json!(updated.doc.image_id);
    Ok(Json(json!({ "server": view })))
}

/// `DELETE …/servers/{server_id}`: an engine delete job; 204. The server reads `ACTIVE`
/// (`task_state` `deleting`) until the job removes it, then 404.
pub async fn server_delete(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> NovaResult<Response> {
    let server = find_server(&state, &project_id, &server_id).await?;
    refuse_locked(&server)?;
    let action = ServerAction::Delete {
        delete_volume: false,
        delete_publicip: None,
    };
    let accepted = state
        .engine
        .server_action(&project_id, action, &[server.id])
        .await?;
    Ok((
        StatusCode::NO_CONTENT,
        crate::observe::job_note(&accepted.job_id, JobKind::DeleteServers),
    )
        .into_response())
}
