//! Server lifecycle: create, delete and batch start/stop/reboot (each answered with a job), and
//! the reads that clients poll between jobs: show one server, list with filters.
//!
//! Handlers parse and validate the request (every synchronous check of the reference happens here
//! or in the engine's accept transaction, so a rejected request creates no job), call the engine,
//! and convert its answer to the wire.

use crate::body::{list_limit, parse_json, query_pairs, read_limited};
use crate::ecs::flavors::{region_zone, sellable_flavor};
use crate::error::ApiError;
use crate::error_codes;
use crate::observe::with_job;
use crate::time_format::{launch_time, server_time};
use crate::{project_from_path, AppState, Path};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::engine::{CreateServers, NicRequest, ServerAction, VolumeRequest};
use engine::job::JobKind;
use engine::regions::Region;
use engine::server::{FlavorRef, ServerRecord, ServerStatus};
use engine::store::{ClientToken, ServerQuery};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Digest;
use std::collections::BTreeMap;

/// Most servers one create request may build (`creating_ecss.rst`, `count`).
const MAX_CREATE_COUNT: i64 = 100;
/// Most servers one delete or batch action may name (`deleting_ecss.rst`; ASYNC-OPERATIONS.md §6
/// row 9 applies the same cap to start/stop/reboot).
const MAX_BATCH: usize = 1000;
const MAX_NICS: usize = 12;
const MAX_DATA_VOLUMES: usize = 59;
const MAX_METADATA: usize = 10;
pub(crate) const VOLUME_TYPES: &[&str] = &[
    "SATA", "SAS", "SSD", "GPSSD", "GPSSD2", "ESSD", "ESSD2", "co-p1", "uh-l1",
];

// ---------------------------------------------------------------------------------------------
// Wire types of the requests. Unknown keys of the create body are ignored, because real clients
// send many optional fields ecsd does not model (`extendparam`, `isAutoRename`, …); the delete and
// action bodies are small and exact, so a misspelt key there is refused rather than ignored.

#[derive(Debug, Deserialize)]
struct CreateBody {
    server: CreateServerBody,
    #[serde(default)]
    dry_run: bool,
}

#[derive(Debug, Deserialize)]
struct CreateServerBody {
    #[serde(rename = "imageRef")]
    image_ref: String,
    #[serde(rename = "flavorRef")]
    flavor_ref: String,
    name: String,
    vpcid: String,
    nics: Vec<NicBody>,
    root_volume: VolumeBody,
    #[serde(default)]
    data_volumes: Vec<VolumeBody>,
    count: Option<i64>,
    availability_zone: Option<String>,
    #[serde(rename = "adminPass")]
    admin_pass: Option<String>,
    key_name: Option<String>,
    #[serde(default)]
    security_groups: Vec<IdBody>,
    publicip: Option<PublicIpBody>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    /// `"key.value"` strings (`creating_ecss.rst`).
    #[serde(default)]
    tags: Vec<String>,
    /// `{key, value}` objects: the newer form the SDK's v1.1 create sends.
    #[serde(default)]
    server_tags: Vec<TagBody>,
    description: Option<String>,
    #[serde(rename = "os:scheduler_hints", default)]
    scheduler_hints: BTreeMap<String, Value>,
    /// Only `support_auto_recovery` is read (the SDK sends a boolean, older clients a string).
    extendparam: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct NicBody {
    subnet_id: String,
    ip_address: Option<String>,
}

#[derive(Debug, Deserialize)]
struct VolumeBody {
    volumetype: String,
    size: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IdBody {
    id: String,
}

#[derive(Debug, Deserialize)]
struct PublicIpBody {
    id: Option<String>,
    eip: Option<Value>,
    #[serde(default)]
    delete_on_termination: bool,
}

#[derive(Debug, Deserialize)]
struct TagBody {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    servers: Vec<IdBody>,
    #[serde(default)]
    delete_publicip: Option<bool>,
    #[serde(default)]
    delete_volume: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionBody {
    servers: Vec<IdBody>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Handlers.

/// `POST /v1/{project_id}/cloudservers` and `POST /v1.1/{project_id}/cloudservers`.
pub async fn server_create(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let body: CreateBody = parse_json(&headers, &bytes)?;
    let dry_run = body.dry_run;
    let request = validate_create(&state.region(project_id), body.server)?;
    let client_token = client_token(&headers, &bytes)?;
    if dry_run {
        // `dry_run`: checked, nothing created; 202 as the reference says.
        return Ok((StatusCode::ACCEPTED, Json(json!({}))).into_response());
    }
    let accepted = state
        .engine
        .create_servers(project_id, request, client_token)
        .await?;
    let response = Json(json!({ "job_id": accepted.job_id, "serverIds": accepted.server_ids }))
        .into_response();
    Ok(with_job(response, &accepted.job_id, JobKind::CreateServers))
}

/// `POST /v1/{project_id}/cloudservers/delete`.
pub async fn server_delete(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let body: DeleteBody = parse_json(&headers, &bytes)?;
    let server_ids = validate_server_ids("servers", &body.servers)?;
    let action = ServerAction::Delete {
        delete_volume: body.delete_volume,
        delete_publicip: body.delete_publicip,
    };
    action_answer(&state, project_id, action, &server_ids).await
}

/// `POST /v1/{project_id}/cloudservers/action`: exactly one of `os-start`, `os-stop`, `reboot`.
pub async fn server_action(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let bytes = read_limited(body, state.max_body_bytes).await?;
    let body: Map<String, Value> = parse_json(&headers, &bytes)?;
    let mut keys = body.keys();
    let (Some(key), None) = (keys.next(), keys.next()) else {
        return Err(ApiError::invalid_field(
            "body",
            "exactly one of \"os-start\", \"os-stop\" or \"reboot\" is required",
        ));
    };
    let key = key.clone();
    let inner = body.get(&key).cloned().unwrap_or(Value::Null);
    let parse = |field: &str| -> Result<ActionBody, ApiError> {
        serde_path_to_error::deserialize(inner.clone()).map_err(|error| {
            let path = error.path().to_string();
            let field = if path == "." {
                field.to_owned()
            } else {
                format!("{field}.{path}")
            };
            ApiError::invalid_field(&field, error.into_inner())
        })
    };
    let hardness = |field: &str, kind: Option<&str>, required: bool| -> Result<bool, ApiError> {
        match kind {
            Some("SOFT") => Ok(false),
            Some("HARD") => Ok(true),
            None if !required => Ok(false),
            None => Err(ApiError::invalid_field(
                &format!("{field}.type"),
                "is required (SOFT or HARD)",
            )),
            Some(other) => Err(ApiError::invalid_field(
                &format!("{field}.type"),
                format!("must be SOFT or HARD, not {other:?}"),
            )),
        }
    };
    let (action, servers) = match key.as_str() {
        "os-start" => {
            let inner = parse("os-start")?;
            if inner.kind.is_some() {
                return Err(ApiError::invalid_field(
                    "os-start.type",
                    "is not a parameter of os-start",
                ));
            }
            (ServerAction::Start, inner.servers)
        }
        "os-stop" => {
            let inner = parse("os-stop")?;
            let hard = hardness("os-stop", inner.kind.as_deref(), false)?;
            (ServerAction::Stop { hard }, inner.servers)
        }
        "reboot" => {
            let inner = parse("reboot")?;
            let hard = hardness("reboot", inner.kind.as_deref(), true)?;
            (ServerAction::Reboot { hard }, inner.servers)
        }
        other => {
            return Err(ApiError::invalid_field(
                other,
                "unknown action; use \"os-start\", \"os-stop\" or \"reboot\"",
            ))
        }
    };
    let server_ids = validate_server_ids(&format!("{key}.servers"), &servers)?;
    action_answer(&state, project_id, action, &server_ids).await
}

/// Submits a batch action and answers `{"job_id"}`, the job noted for the request's log line.
async fn action_answer(
    state: &AppState,
    project_id: &str,
    action: ServerAction,
    server_ids: &[String],
) -> Result<Response, ApiError> {
    let kind = match action {
        ServerAction::Start => JobKind::StartServers,
        ServerAction::Stop { .. } => JobKind::StopServers,
        ServerAction::Reboot { .. } => JobKind::RebootServers,
        ServerAction::Delete { .. } => JobKind::DeleteServers,
    };
    let accepted = state
        .engine
        .server_action(project_id, action, server_ids)
        .await?;
    let response = Json(json!({ "job_id": accepted.job_id })).into_response();
    Ok(with_job(response, &accepted.job_id, kind))
}

/// The server a path names: the project checked for shape, the id a UUID (any case, with or
/// without dashes), and the server found in that project, else 404 `Ecs.0114`.
pub(crate) async fn server_in_path(
    state: &AppState,
    project_id: &str,
    server_id: &str,
) -> Result<ServerRecord, ApiError> {
    let project_id = project_from_path(project_id)?;
    // A read of `…/cloudservers/{x}` with an `x` that is no server ID is most often a
    // misspelt API (`…/cloudservers/flavor`): say that no server (and no API) has that name,
    // with the not-found code, rather than "not a UUID".
    let canonical_id = uuid::Uuid::try_parse(server_id)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| {
            ApiError::new(
                error_codes::ECS_0114,
                format!(
                    "No ECS has the ID {server_id:?} (ECS IDs are UUIDs), and no other API matches this path: check its spelling (e.g. …/cloudservers/flavors, …/cloudservers/detail)."
                ),
            )
        })?;
    state
        .engine
        .server(project_id, &canonical_id)
        .await?
        .ok_or_else(|| server_not_found(server_id))
}

/// `GET /v1/{project_id}/cloudservers/{server_id}`.
pub async fn server_view(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let server = server_in_path(&state, &project_id, &server_id).await?;
    Ok(Json(ServerBody {
        server: ServerView::of(&server),
    })
    .into_response())
}

/// `GET /v1/{project_id}/cloudservers/detail`: `offset` is a page number from 1 (0 means 1),
/// `limit` 1–1000 (default 25), `name` fuzzy, `status` with the documented transitional matches,
/// `tags` (servers with every listed tag) and `not-tags` (servers with none of them), each a
/// comma-separated list of `key=value` or `key` (any value).
pub async fn server_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let mut limit: u32 = 25;
    let mut page: u64 = 1;
    let mut filter = ServerQuery {
        project_id: project_id.to_owned(),
        ..ServerQuery::default()
    };
    for (key, value) in query_pairs(query.as_deref())? {
        match key.as_str() {
            // The store pages with u32; list_limit caps it at 1000.
            "limit" => limit = list_limit(&value)? as u32,
            "offset" => {
                page = value
                    .parse::<u64>()
                    .map_err(|_| {
                        ApiError::invalid_field("offset", "must be a page number (an integer ≥ 0)")
                    })?
                    .max(1);
            }
            "name" if !value.is_empty() => {
                // Longer than any name, and SQLite refuses LIKE patterns over 50,000 bytes
                // (a 500 before this check).
                let length = value.chars().count();
                if length > crate::ecs::tags::MAX_QUERY_VALUE_CHARS {
                    return Err(ApiError::invalid_field(
                        "name",
                        format!(
                            "at most {} characters, not {length}",
                            crate::ecs::tags::MAX_QUERY_VALUE_CHARS
                        ),
                    ));
                }
                filter.name = Some(value);
            }
            "flavor" if !value.is_empty() => filter.flavor_id = Some(value),
            "status" if !value.is_empty() => {
                let status = ServerStatus::parse(&value).ok_or_else(|| {
                    ApiError::invalid_field("status", format!("unknown status {value:?}"))
                })?;
                filter.statuses = status.filter_matches().to_vec();
            }
            "enterprise_project_id" => {}
            "tags" if !value.is_empty() => {
                filter.tags = crate::ecs::tags::list_tag_filter("tags", &value)?;
            }
            "not-tags" if !value.is_empty() => {
                filter.not_tags = crate::ecs::tags::list_tag_filter("not-tags", &value)?;
            }
            "ip" | "ip_eq" | "reservation_id" | "server_id" | "marker" => {
                return Err(ApiError::invalid_field(
                    &key,
                    "this filter is not supported by ecsd yet",
                ));
            }
            _ => {}
        }
    }
    filter.limit = limit;
    filter.offset = (page - 1).saturating_mul(u64::from(limit));
    let found = state.engine.servers(filter).await?;
    let servers = found.servers.iter().map(ServerView::of).collect();
    Ok(Json(ServerPage {
        count: found.total,
        servers,
    })
    .into_response())
}

/// The optional `X-Client-Token` (the SDK's `x_client_token`): 1–64 visible ASCII characters.
/// The request it names is identified by the SHA-256 of the raw body.
fn client_token(headers: &HeaderMap, body: &[u8]) -> Result<Option<ClientToken>, ApiError> {
    let Some(value) = headers.get("x-client-token") else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .filter(|token| {
            (1..=64).contains(&token.len()) && token.bytes().all(|byte| byte.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::invalid_field("X-Client-Token", "must be 1 to 64 visible ASCII characters")
        })?;
    let digest = sha2::Sha256::digest(body);
    Ok(Some(ClientToken {
        token: token.to_owned(),
        request_hash: digest.iter().map(|byte| format!("{byte:02x}")).collect(),
    }))
}

pub(crate) fn server_not_found(server_id: &str) -> ApiError {
    ApiError::new(
        error_codes::ECS_0114,
        format!("The ECS {server_id} does not exist."),
    )
}

// ---------------------------------------------------------------------------------------------
// Validation.

/// Checks that `value` is a UUID (any form the uuid crate accepts) and returns it in the
/// canonical lower-case hyphenated form, the form ecsd stores and compares.
pub(crate) fn require_uuid(field: &str, value: &str) -> Result<String, ApiError> {
    uuid::Uuid::try_parse(value)
        .map(|uuid| uuid.hyphenated().to_string())
        .map_err(|_| ApiError::invalid_field(field, format!("{value:?} is not a UUID")))
}

fn validate_server_ids(field: &str, servers: &[IdBody]) -> Result<Vec<String>, ApiError> {
    if servers.is_empty() {
        return Err(ApiError::invalid_field(
            field,
            "must name at least one server",
        ));
    }
    if servers.len() > MAX_BATCH {
        return Err(ApiError::new(
            error_codes::ECS_0118,
            format!(
                "{field}: {} servers named; at most {MAX_BATCH} per request.",
                servers.len()
            ),
        ));
    }
    let mut ids = Vec::with_capacity(servers.len());
    let mut seen = std::collections::HashSet::with_capacity(servers.len());
    for (index, server) in servers.iter().enumerate() {
        let id = require_uuid(&format!("{field}[{index}].id"), &server.id)?;
        if !seen.insert(id.clone()) {
            return Err(ApiError::invalid_field(
                &format!("{field}[{index}].id"),
                format!("server {id} is named twice"),
            ));
        }
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) fn validate_name(name: &str, count: i64) -> Result<(), ApiError> {
    let max = if count > 1 { 59 } else { 128 };
    let length = name.chars().count();
    if length == 0 || length > max {
        return Err(ApiError::new(
            error_codes::ECS_0914,
            format!(
                "server.name must have 1 to {max} characters{}; it has {length}.",
                if count > 1 { " when count > 1" } else { "" }
            ),
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(ApiError::new(
            error_codes::ECS_0915,
            format!("server.name may contain letters, digits, '_', '-' and '.'; {bad:?} is not allowed."),
        ));
    }
    Ok(())
}

/// `adminPass`: 8–26 characters with at least three of the four classes (`creating_ecss.rst`).
pub(crate) fn validate_admin_pass(field: &str, password: &str) -> Result<(), ApiError> {
    let length = password.chars().count();
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .into_iter()
    .filter(|present| *present)
    .count();
    if !(8..=26).contains(&length) || classes < 3 {
        return Err(ApiError::new(
            error_codes::ECS_0011,
            format!("{field} must have 8 to 26 characters and at least three of: upper-case letters, lower-case letters, digits, special characters."),
        ));
    }
    Ok(())
}

fn validate_volume(
    field: &str,
    volume: &VolumeBody,
    sizes: std::ops::RangeInclusive<i64>,
    size_required: bool,
) -> Result<VolumeRequest, ApiError> {
    if !VOLUME_TYPES.contains(&volume.volumetype.as_str()) {
        return Err(ApiError::invalid_field(
            &format!("{field}.volumetype"),
            format!(
                "{:?} is not one of {}",
                volume.volumetype,
                VOLUME_TYPES.join(", ")
            ),
        ));
    }
    match volume.size {
        None | Some(0) if !size_required => {}
        Some(size) if sizes.contains(&size) => {}
        // Said apart from a wrong size: a misspelt key (`"sizee": 100`) lands here.
        None => {
            return Err(ApiError::invalid_field(
                &format!("{field}.size"),
                format!(
                    "is required for a data disk (an integer from {} to {} GiB)",
                    sizes.start(),
                    sizes.end()
                ),
            ))
        }
        Some(size) => {
            return Err(ApiError::invalid_field(
                &format!("{field}.size"),
                format!(
                    "must be from {} to {} GiB, not {size}",
                    sizes.start(),
                    sizes.end()
                ),
            ))
        }
    }
    Ok(VolumeRequest {
        volume_type: volume.volumetype.clone(),
        size_gib: volume.size,
    })
}

/// Tags are `key.value` on input (split at the first `.`); key ≤ 36, value ≤ 43 characters of
/// letters, digits, `_` and `-` (ASYNC-OPERATIONS.md §2.3 and §6 row 23).
/// A tag of the create request, with the rules of the tag APIs (`crate::ecs::tags`): a tag given
/// at create is the same tag they read and change.
fn validate_tag(field: &str, key: &str, value: &str) -> Result<(String, String), ApiError> {
    crate::ecs::tags::validate_new_tag(field, key, value)?;
    Ok((key.to_owned(), value.to_owned()))
}

/// Checks a create body against the rules of `creating_ecss.rst`, with the flavors and zones
/// of the project's `region`. Without `availability_zone` the server goes to the region's
/// first zone (the page: "auto-selected"; ecsd's choice is predictable).
///
/// The parts are checked in this order, which is the order of precedence of their errors
/// (the first wrong part is the one reported): placement (image, zone, flavor), count and
/// name, network (VPC, NICs), disks, `adminPass`, security groups and EIP, metadata, tags,
/// `extendparam`, description, scheduler hints.
fn validate_create(region: &Region, server: CreateServerBody) -> Result<CreateServers, ApiError> {
    let placement = validate_placement(region, &server)?;
    let count = validate_count_and_name(&server)?;
    let (vpc_id, nics) = validate_network(&server, count)?;
    let (root_volume, data_volumes) = validate_volumes(&server)?;
    if let Some(password) = &server.admin_pass {
        validate_admin_pass("server.adminPass", password)?;
    }
    validate_security_groups_and_public_ip(&server)?;
    validate_metadata(&server.metadata)?;
    let tags = validate_tags(&server)?;
    let auto_recovery = validate_auto_recovery(server.extendparam.as_ref())?;
    let description = validate_description(server.description.unwrap_or_default())?;
    let server_group_id = validate_scheduler_hints(&server.scheduler_hints)?;
    Ok(CreateServers {
        name: server.name,
        count: count as u32,
        flavor: placement.flavor,
        image_id: placement.image_id,
        vpc_id,
        availability_zone: Some(placement.zone),
        nics,
        root_volume,
        data_volumes,
        metadata: server.metadata,
        tags,
        key_name: server.key_name,
        description,
        security_group_ids: server
            .security_groups
            .into_iter()
            .map(|group| group.id)
            .collect(),
        public_ip: server
            .publicip
            .map(|public_ip| public_ip.delete_on_termination),
        scheduler_hints: server.scheduler_hints,
        auto_recovery,
        server_group_id,
    })
}

/// Where and from what a server is built.
struct Placement {
    image_id: String,
    zone: String,
    flavor: FlavorRef,
}

/// `imageRef` (a UUID), `availability_zone` (one of the region's, else its first), and
/// `flavorRef` (sellable in that zone).
fn validate_placement(region: &Region, server: &CreateServerBody) -> Result<Placement, ApiError> {
    let image_id = require_uuid("server.imageRef", &server.image_ref)?;
    let zone = match server
        .availability_zone
        .as_deref()
        .filter(|zone| !zone.is_empty())
    {
        Some(zone) => {
            region_zone(region, "server.availability_zone", zone)?;
            zone.to_owned()
        }
        None => region.default_zone().to_owned(),
    };
    let flavor = sellable_flavor(region, &server.flavor_ref, Some(&zone))?;
    Ok(Placement {
        image_id,
        zone,
        flavor: FlavorRef::from(flavor),
    })
}

/// `count` (1 to [`MAX_CREATE_COUNT`], default 1), then `name`, whose rules depend on it.
fn validate_count_and_name(server: &CreateServerBody) -> Result<i64, ApiError> {
    let count = server.count.unwrap_or(1);
    // The page's range for `count` is 1 to 100; out of it on either side is its Ecs.0913.
    if !(1..=MAX_CREATE_COUNT).contains(&count) {
        return Err(ApiError::new(
            error_codes::ECS_0913,
            format!("server.count is {count}; it must be from 1 to {MAX_CREATE_COUNT} (ECSs created per request)."),
        ));
    }
    validate_name(&server.name, count)?;
    Ok(count)
}

/// `vpcid` and the NICs: 1 to [`MAX_NICS`], each on a subnet (a UUID) with an optional fixed
/// IPv4 address, which only a single server may take.
fn validate_network(
    server: &CreateServerBody,
    count: i64,
) -> Result<(String, Vec<NicRequest>), ApiError> {
    let vpc_id = require_uuid("server.vpcid", &server.vpcid)?;
    if server.nics.is_empty() || server.nics.len() > MAX_NICS {
        return Err(ApiError::invalid_field(
            "server.nics",
            format!("must have 1 to {MAX_NICS} NICs"),
        ));
    }
    let mut nics = Vec::with_capacity(server.nics.len());
    for (index, nic) in server.nics.iter().enumerate() {
        require_uuid(&format!("server.nics[{index}].subnet_id"), &nic.subnet_id)?;
        let ip_address = nic.ip_address.clone().filter(|ip| !ip.is_empty());
        if let Some(ip) = &ip_address {
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(ApiError::invalid_field(
                    &format!("server.nics[{index}].ip_address"),
                    format!("{ip:?} is not an IPv4 address"),
                ));
            }
            if count > 1 {
                return Err(ApiError::invalid_field(
                    &format!("server.nics[{index}].ip_address"),
                    "a fixed IP cannot be given to several servers (count > 1)",
                ));
            }
        }
        nics.push(NicRequest {
            subnet_id: nic.subnet_id.clone(),
            ip_address,
        });
    }
    Ok((vpc_id, nics))
}

/// The system disk (1–1024 GiB, size optional) and at most [`MAX_DATA_VOLUMES`] data disks
/// (10–32768 GiB, size required).
fn validate_volumes(
    server: &CreateServerBody,
) -> Result<(VolumeRequest, Vec<VolumeRequest>), ApiError> {
    let root_volume = validate_volume("server.root_volume", &server.root_volume, 1..=1024, false)?;
    if server.data_volumes.len() > MAX_DATA_VOLUMES {
        return Err(ApiError::new(
            error_codes::ECS_0042,
            format!(
                "server.data_volumes has {} disks; at most {MAX_DATA_VOLUMES}.",
                server.data_volumes.len()
            ),
        ));
    }
    let data_volumes = server
        .data_volumes
        .iter()
        .enumerate()
        .map(|(index, volume)| {
            validate_volume(
                &format!("server.data_volumes[{index}]"),
                volume,
                10..=32768,
                true,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((root_volume, data_volumes))
}

/// Security group ids are UUIDs; `publicip` names an existing EIP (a UUID) or asks for one
/// (`eip`).
fn validate_security_groups_and_public_ip(server: &CreateServerBody) -> Result<(), ApiError> {
    for (index, group) in server.security_groups.iter().enumerate() {
        require_uuid(&format!("server.security_groups[{index}].id"), &group.id)?;
    }
    if let Some(public_ip) = &server.publicip {
        if let Some(id) = &public_ip.id {
            require_uuid("server.publicip.id", id)?;
        } else if public_ip.eip.is_none() {
            return Err(ApiError::invalid_field(
                "server.publicip",
                "needs either id or eip",
            ));
        }
    }
    Ok(())
}

/// At most [`MAX_METADATA`] pairs; keys 1–255 of `[A-Za-z0-9 _-:.]`, values up to 255
/// characters.
fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if metadata.len() > MAX_METADATA {
        return Err(ApiError::invalid_field(
            "server.metadata",
            format!("at most {MAX_METADATA} pairs"),
        ));
    }
    for (key, value) in metadata {
        let key_ok = !key.is_empty()
            && key.chars().count() <= 255
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | ':' | '.'));
        if !key_ok || value.chars().count() > 255 {
            return Err(ApiError::invalid_field(
                &format!("server.metadata.{key}"),
                "keys have 1 to 255 of [A-Za-z0-9 _-:.], values up to 255 characters",
            ));
        }
    }
    Ok(())
}

/// `tags` (`"key.value"`) and `server_tags` (`{key, value}`) together: each tag valid, no key
/// twice, at most [`crate::ecs::tags::MAX_TAGS`].
fn validate_tags(server: &CreateServerBody) -> Result<Vec<(String, String)>, ApiError> {
    let mut tags = Vec::new();
    for (index, tag) in server.tags.iter().enumerate() {
        let (key, value) = tag.split_once('.').unwrap_or((tag.as_str(), ""));
        tags.push(validate_tag(&format!("server.tags[{index}]"), key, value)?);
    }
    for (index, tag) in server.server_tags.iter().enumerate() {
        tags.push(validate_tag(
            &format!("server.server_tags[{index}]"),
            &tag.key,
            &tag.value,
        )?);
    }
    let mut keys = std::collections::BTreeSet::new();
    for (key, _) in &tags {
        if !keys.insert(key.as_str()) {
            return Err(ApiError::new(
                error_codes::ECS_0908,
                format!("server.tags/server_tags: the tag key {key:?} is given twice."),
            ));
        }
    }
    if tags.len() > crate::ecs::tags::MAX_TAGS {
        return Err(ApiError::new(
            error_codes::ECS_0905,
            format!(
                "{} tags given; at most {}.",
                tags.len(),
                crate::ecs::tags::MAX_TAGS
            ),
        ));
    }
    Ok(tags)
}

/// `extendparam.support_auto_recovery`: a boolean, or the strings `"true"`/`"false"`; absent is
/// false.
fn validate_auto_recovery(extendparam: Option<&Map<String, Value>>) -> Result<bool, ApiError> {
    match extendparam.and_then(|extend| extend.get("support_auto_recovery")) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(value)) => Ok(*value),
        Some(Value::String(text)) if text == "true" || text == "false" => Ok(text == "true"),
        Some(_) => Err(ApiError::invalid_field(
            "server.extendparam.support_auto_recovery",
            "must be true or false",
        )),
    }
}

/// `description`: at most 85 characters, without `<` or `>`.
fn validate_description(description: String) -> Result<String, ApiError> {
    if description.chars().count() > 85 || description.contains(['<', '>']) {
        return Err(ApiError::invalid_field(
            "server.description",
            "at most 85 characters, without '<' or '>'",
        ));
    }
    Ok(description)
}

/// `os:scheduler_hints` as the server view shows it: `group`, `tenancy` and
/// `dedicated_host_id` are arrays of strings there (the data structure page's Table 11, and the
/// SDK's `ServerSchedulerHints`, which would read a bare string as a list of characters), so a
/// string given at create is shown as a one-element array. Other keys are shown as given.
pub(crate) fn scheduler_hints_view(hints: &BTreeMap<String, Value>) -> Value {
    hints
        .iter()
        .map(|(key, value)| {
            let shown = match (key.as_str(), value) {
                ("group" | "tenancy" | "dedicated_host_id", Value::String(text)) => {
                    json!([text])
                }
                _ => value.clone(),
            };
            (key.clone(), shown)
        })
        .collect::<Map<String, Value>>()
        .into()
}

/// `os:scheduler_hints.group`: an ECS group's UUID (the store checks it exists in the
/// project). The data structure page: "The anti-affinity policy is not supported for ECSs
/// created on a specified DeH", so a group with `tenancy: dedicated` or a `dedicated_host_id`
/// is refused.
fn validate_scheduler_hints(hints: &BTreeMap<String, Value>) -> Result<Option<String>, ApiError> {
    let group = match hints.get("group") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(id)) if id.is_empty() => return Ok(None),
        Some(Value::String(id)) => require_uuid("server.os:scheduler_hints.group", id)?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "server.os:scheduler_hints.group",
                "must be an ECS group UUID",
            ))
        }
    };
    let dedicated = hints.get("tenancy").and_then(Value::as_str) == Some("dedicated")
        || hints
            .get("dedicated_host_id")
            .and_then(Value::as_str)
            .is_some_and(|id| !id.is_empty());
    if dedicated {
        return Err(ApiError::invalid_field(
            "server.os:scheduler_hints.group",
            "the anti-affinity policy is not supported for ECSs created on a dedicated host",
        ));
    }
    Ok(Some(group))
}

// ---------------------------------------------------------------------------------------------
// The server view (`data_structure/data_structure_for_querying_details_about_ecss.rst`).

/// `OS-EXT-SRV-ATTR:host`: the zone's simulated host until a cold migration names another.
fn host_name(server: &ServerRecord) -> String {
    server
        .doc
        .host
        .clone()
        .unwrap_or_else(|| format!("{}.ecsd", server.doc.availability_zone))
}

/// `hostId`: 56 hex characters, like Nova's hash of project and host. Servers that never moved
/// keep the value derived from their id, which earlier ecsd versions showed.
pub(crate) fn host_id(server: &ServerRecord) -> String {
    match &server.doc.host {
        None => format!(
            "{:056x}",
            u128::from_str_radix(&server.id.replace('-', ""), 16).unwrap_or_default()
        ),
        Some(host) => {
            let digest = sha2::Sha256::digest(format!("{}{host}", server.project_id));
            digest
                .iter()
                .take(28)
                .map(|byte| format!("{byte:02x}"))
                .collect()
        }
    }
}

/// The `metadata` a server shows: the user's pairs, then the keys the cloud sets itself (a user
/// key of the same name wins).
pub(crate) fn metadata_json(server: &ServerRecord) -> Map<String, Value> {
    let doc = &server.doc;
    let mut metadata: Map<String, Value> = doc
        .metadata
        .iter()
        .map(|(key, value)| (key.clone(), Value::from(value.as_str())))
        .collect();
    for (key, value) in [
        ("vpc_id", doc.vpc_id.as_str()),
        ("charging_mode", "0"),
        ("metering.image_id", doc.image_id.as_str()),
        ("metering.imagetype", "gold"),
        ("metering.resourcespeccode", doc.flavor.id.as_str()),
        ("metering.resourcetype", "1"),
        ("os_type", "Linux"),
        ("os_bit", "64"),
    ] {
        metadata
            .entry(key.to_owned())
            .or_insert_with(|| Value::from(value));
    }
    metadata
}

/// `{"server": …}`, the answer of `GET …/cloudservers/{server_id}`.
#[derive(Debug, Serialize)]
pub(crate) struct ServerBody<'a> {
    pub(crate) server: ServerView<'a>,
}

/// `{"count", "servers"}`, the answer of `GET …/cloudservers/detail`.
#[derive(Debug, Serialize)]
pub(crate) struct ServerPage<'a> {
    pub(crate) count: u64,
    pub(crate) servers: Vec<ServerView<'a>>,
}

/// The ECS server view (`data_structure_for_querying_details_about_ecss.rst`).
///
/// The fields are declared in the byte order of their wire names: the view was a `json!`
/// literal, whose keys serde_json (without `preserve_order`) writes sorted, and clients have
/// seen that order since; serialized directly, this struct writes the same bytes
/// (`tests::the_server_view_renders_as_it_always_did`).
#[derive(Debug, Serialize)]
pub(crate) struct ServerView<'a> {
    #[serde(rename = "OS-DCF:diskConfig")]
    disk_config: &'static str,
    #[serde(rename = "OS-EXT-AZ:availability_zone")]
    availability_zone: &'a str,
    #[serde(rename = "OS-EXT-SRV-ATTR:host")]
    host: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:hostname")]
    hostname: &'a str,
    #[serde(rename = "OS-EXT-SRV-ATTR:hypervisor_hostname")]
    hypervisor_hostname: &'static str,
    #[serde(rename = "OS-EXT-SRV-ATTR:instance_name")]
    instance_name: String,
    #[serde(rename = "OS-EXT-SRV-ATTR:kernel_id")]
    kernel_id: &'static str,
    #[serde(rename = "OS-EXT-SRV-ATTR:launch_index")]
    launch_index: i64,
    #[serde(rename = "OS-EXT-SRV-ATTR:ramdisk_id")]
    ramdisk_id: &'static str,
    #[serde(rename = "OS-EXT-SRV-ATTR:reservation_id")]
    reservation_id: &'a str,
    #[serde(rename = "OS-EXT-SRV-ATTR:root_device_name")]
    root_device_name: &'static str,
    /// Always `null`: ecsd keeps no user data.
    #[serde(rename = "OS-EXT-SRV-ATTR:user_data")]
    user_data: Option<&'static str>,
    #[serde(rename = "OS-EXT-STS:power_state")]
    power_state: i64,
    #[serde(rename = "OS-EXT-STS:task_state")]
    task_state: Option<&'static str>,
    #[serde(rename = "OS-EXT-STS:vm_state")]
    vm_state: &'static str,
    /// `""` until the server first ran.
    #[serde(rename = "OS-SRV-USG:launched_at")]
    launched_at: String,
    /// Always `null`: a deleted server is not shown.
    #[serde(rename = "OS-SRV-USG:terminated_at")]
    terminated_at: Option<&'static str>,
    #[serde(rename = "accessIPv4")]
    access_ipv4: &'static str,
    #[serde(rename = "accessIPv6")]
    access_ipv6: &'static str,
    /// `{}` without NICs, else the VPC's id → its addresses.
    addresses: BTreeMap<&'a str, Vec<AddressView<'a>>>,
    config_drive: &'static str,
    created: String,
    description: &'a str,
    enclave_options: EnabledView,
    enterprise_project_id: &'static str,
    fault: Option<FaultView<'a>>,
    flavor: FlavorView<'a>,
    #[serde(rename = "hostId")]
    host_id: String,
    host_status: &'static str,
    id: &'a str,
    image: IdView<'a>,
    key_name: Option<&'a str>,
    locked: bool,
    metadata: Map<String, Value>,
    name: &'a str,
    #[serde(rename = "os-extended-volumes:volumes_attached")]
    volumes_attached: Vec<VolumeView<'a>>,
    #[serde(rename = "os:scheduler_hints")]
    scheduler_hints: Value,
    progress: i64,
    security_groups: Vec<SecurityGroupView<'a>>,
    security_options: TpmView,
    status: &'static str,
    sys_tags: [SysTagView; 1],
    tags: &'a [String],
    tenant_id: &'a str,
    updated: String,
    user_id: &'static str,
}

/// One address of `addresses`, keys in wire (byte) order.
#[derive(Debug, Serialize)]
struct AddressView<'a> {
    #[serde(rename = "OS-EXT-IPS-MAC:mac_addr")]
    mac_addr: &'a str,
    #[serde(rename = "OS-EXT-IPS:port_id")]
    port_id: &'a str,
    /// `fixed` or `floating`.
    #[serde(rename = "OS-EXT-IPS:type")]
    kind: &'static str,
    addr: &'a str,
    primary: bool,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct EnabledView {
    enabled: bool,
}

#[derive(Debug, Serialize)]
struct TpmView {
    tpm_enabled: bool,
}

/// The `fault` of a server in `ERROR`.
#[derive(Debug, Serialize)]
struct FaultView<'a> {
    code: u16,
    created: String,
    details: &'a str,
    message: String,
}

#[derive(Debug, Serialize)]
struct FlavorView<'a> {
    disk: &'a str,
    id: &'a str,
    name: &'a str,
    /// A string on this page (MiB).
    ram: String,
    vcpus: &'a str,
}

#[derive(Debug, Serialize)]
struct IdView<'a> {
    id: &'a str,
}

#[derive(Debug, Serialize)]
struct VolumeView<'a> {
    /// `"0"` for the system disk, `"-1"` for a data disk: strings on this page.
    #[serde(rename = "bootIndex")]
    boot_index: String,
    delete_on_termination: String,
    device: &'a str,
    id: &'a str,
}

#[derive(Debug, Serialize)]
struct SecurityGroupView<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Debug, Serialize)]
struct SysTagView {
    key: &'static str,
    value: &'static str,
}

/// The security group a server without any is shown in.
const DEFAULT_SECURITY_GROUP: SecurityGroupView<'static> = SecurityGroupView {
    id: "00000000-0000-4000-8000-000000000000",
    name: "default",
};

impl<'a> ServerView<'a> {
    pub(crate) fn of(server: &'a ServerRecord) -> Self {
        let doc = &server.doc;
        let mut addresses: Vec<AddressView<'a>> = doc
            .nics
            .iter()
            .map(|nic| AddressView {
                mac_addr: &nic.mac_address,
                port_id: &nic.port_id,
                kind: "fixed",
                addr: &nic.ip_address,
                primary: nic.primary,
                version: "4",
            })
            .collect();
        if let (Some(public_ip), Some(primary)) = (&doc.public_ip, doc.nics.first()) {
            addresses.push(AddressView {
                mac_addr: &primary.mac_address,
                port_id: &primary.port_id,
                kind: "floating",
                addr: &public_ip.address,
                primary: false,
                version: "4",
            });
        }
        let addresses = if addresses.is_empty() {
            BTreeMap::new()
        } else {
            BTreeMap::from([(doc.vpc_id.as_str(), addresses)])
        };
        let volumes_attached = doc
            .volumes
            .iter()
            .map(|volume| VolumeView {
                boot_index: volume
                    .boot_index
                    .map_or_else(|| "-1".to_owned(), |index| index.to_string()),
                delete_on_termination: volume.delete_on_termination.to_string(),
                device: &volume.device,
                id: &volume.id,
            })
            .collect();
        let security_groups = if doc.security_group_ids.is_empty() {
            vec![DEFAULT_SECURITY_GROUP]
        } else {
            doc.security_group_ids
                .iter()
                .map(|id| SecurityGroupView { id, name: id })
                .collect()
        };
        let fault = server.fault.as_ref().map(|fault| FaultView {
            code: 500,
            created: server_time(fault.created),
            details: &fault.message,
            message: format!("{}: {}", fault.code, fault.message),
        });
        Self {
            disk_config: "MANUAL",
            availability_zone: &doc.availability_zone,
            host: host_name(server),
            hostname: &doc.hostname,
            hypervisor_hostname: "ecsd-simulated",
            instance_name: format!("instance-{}", server.id.get(..8).unwrap_or(&server.id)),
            kernel_id: "",
            launch_index: doc.launch_index,
            ramdisk_id: "",
            reservation_id: &doc.reservation_id,
            root_device_name: "/dev/vda",
            user_data: None,
            power_state: server.state.power_state,
            task_state: server.state.task_state.map(|state| state.as_str()),
            vm_state: server.state.vm_state.as_str(),
            launched_at: server.launched_at.map(launch_time).unwrap_or_default(),
            terminated_at: None,
            access_ipv4: "",
            access_ipv6: "",
            addresses,
            config_drive: "",
            created: server_time(server.created_at),
            description: &doc.description,
            enclave_options: EnabledView { enabled: false },
            enterprise_project_id: "0",
            fault,
            flavor: FlavorView {
                disk: &doc.flavor.disk,
                id: &doc.flavor.id,
                name: &doc.flavor.name,
                ram: doc.flavor.ram.to_string(),
                vcpus: &doc.flavor.vcpus,
            },
            host_id: host_id(server),
            host_status: "UP",
            id: &server.id,
            image: IdView { id: &doc.image_id },
            key_name: doc.key_name.as_deref(),
            locked: doc.locked,
            metadata: metadata_json(server),
            name: &server.name,
            volumes_attached,
            scheduler_hints: scheduler_hints_view(&doc.scheduler_hints),
            progress: server.progress,
            security_groups,
            security_options: TpmView { tpm_enabled: false },
            status: server.state.status().as_str(),
            sys_tags: [SysTagView {
                key: "_sys_enterprise_project_id",
                value: "0",
            }],
            tags: &doc.tags,
            tenant_id: &server.project_id,
            updated: server_time(server.updated_at),
            user_id: "ecsd-local-user",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `validate_create` for `body` in the built-in default region, as
    /// `(code, detail)`; `None` when the body is valid.
    fn create_error(body: &Value) -> Option<(&'static str, String)> {
        let region = engine::regions::Regions::builtin().default_region();
        let server: CreateServerBody =
            serde_json::from_value(body["server"].clone()).expect("the shape parses");
        validate_create(&region, server)
            .err()
            .map(|error| (error.code.code, error.details[0].message.clone()))
    }

    #[test]
    fn the_parts_of_a_create_are_checked_in_their_order_of_precedence() {
        let region = engine::regions::Regions::builtin().default_region();
        let zone = region.default_zone().to_owned();
        // Any flavor sellable in the default zone: the catalogue is not this test's subject.
        let flavor = region
            .listed_flavors()
            .find(|flavor| sellable_flavor(&region, &flavor.id, Some(&zone)).is_ok())
            .expect("a sellable flavor")
            .id
            .clone();
        let valid = json!({ "server": {
            "imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
            "flavorRef": flavor,
            "name": "web",
            "vpcid": "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11",
            "nics": [{ "subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33" }],
            "root_volume": { "volumetype": "SSD" },
        }});
        assert_eq!(create_error(&valid), None);
        let too_many_disks: Vec<Value> = (0..=MAX_DATA_VOLUMES)
            .map(|_| json!({ "volumetype": "SSD", "size": 10 }))
            .collect();
        // One way to break each part, in the order validate_create documents.
        let breaks: Vec<(&str, Value)> = vec![
            ("imageRef", json!("not-a-uuid")),
            ("availability_zone", json!("nowhere-9z")),
            ("flavorRef", json!("nope.flavor")),
            ("count", json!(0)),
            ("name", json!("a b")),
            ("vpcid", json!("not-a-vpc")),
            ("nics", json!([{ "subnet_id": "not-a-subnet" }])),
            ("root_volume", json!({ "volumetype": "HDD" })),
            ("data_volumes", json!(too_many_disks)),
            ("adminPass", json!("short")),
            ("security_groups", json!([{ "id": "not-a-group" }])),
            ("publicip", json!({})),
            ("metadata", json!({ "bad key!": "v" })),
            ("tags", json!(["a.b", "a.c"])),
            ("extendparam", json!({ "support_auto_recovery": 3 })),
            ("description", json!("<b>")),
            ("os:scheduler_hints", json!({ "group": "not-a-group" })),
        ];
        let alone: Vec<(&'static str, String)> = breaks
            .iter()
            .map(|(key, value)| {
                let mut body = valid.clone();
                body["server"][*key] = value.clone();
                create_error(&body).unwrap_or_else(|| panic!("{key} broken is refused"))
            })
            .collect();
        for (index, error) in alone.iter().enumerate() {
            assert!(
                !alone[..index].contains(error),
                "{}: an error of its own",
                breaks[index].0
            );
        }
        // Broken from the last part back to the first: each time, the earliest broken part
        // is the one reported.
        let mut body = valid.clone();
        for (index, (key, value)) in breaks.iter().enumerate().rev() {
            body["server"][*key] = value.clone();
            assert_eq!(
                create_error(&body).as_ref(),
                Some(&alone[index]),
                "with {key} and every later part broken"
            );
        }
    }

    /// Servers at the states a client meets: building (no address yet), active with every
    /// optional part set, stopped after a cold migration with a Nova resize pending, in error
    /// with a fault, and resizing.
    fn servers_at_a_few_states() -> Vec<ServerRecord> {
        use engine::server::{
            Nic, PowerTriple, PublicIp, ServerDoc, ServerFault, TaskState, VmState, Volume,
        };
        let state = |vm_state, task_state, power_state| PowerTriple {
            vm_state,
            task_state,
            power_state,
        };
        let flavor = FlavorRef {
            id: "s3.medium.2".into(),
            name: "s3.medium.2".into(),
            vcpus: "1".into(),
            ram: 2048,
            disk: "0".into(),
        };
        let base = ServerRecord {
            id: "7d8e1f2a-3b4c-4d5e-8f60-718293a4b5c6".into(),
            project_id: "0123456789abcdef0123456789abcdef".into(),
            name: "web-0001".into(),
            flavor_id: flavor.id.clone(),
            state: state(VmState::Building, Some(TaskState::Spawning), 0),
            progress: 40,
            busy_job_id: Some("job".into()),
            created_at: 1_767_268_800_000,
            updated_at: 1_767_268_801_234,
            launched_at: None,
            fault: None,
            doc: ServerDoc {
                image_id: "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e".into(),
                flavor: flavor.clone(),
                vpc_id: "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11".into(),
                availability_zone: "eu-de-01".into(),
                hostname: "web-0001".into(),
                reservation_id: "r-0123abcd".into(),
                ..ServerDoc::default()
            },
            tasks: Vec::new(),
        };
        let mut active = base.clone();
        active.state = state(VmState::Active, None, 1);
        active.progress = 100;
        active.busy_job_id = None;
        active.launched_at = Some(1_767_268_830_500);
        active.doc.description = "the front end".into();
        active.doc.key_name = Some("ops-key".into());
        active.doc.nics = vec![
            Nic {
                port_id: "a1b2c3d4-0000-4000-8000-000000000001".into(),
                subnet_id: "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33".into(),
                ip_address: "192.168.0.10".into(),
                mac_address: "fa:16:3e:00:00:01".into(),
                primary: true,
            },
            Nic {
                port_id: "a1b2c3d4-0000-4000-8000-000000000002".into(),
                subnet_id: "6f1a3e9b-8d2a-4e9f-a053-5c3e7f9c2d44".into(),
                ip_address: "10.0.0.7".into(),
                mac_address: "fa:16:3e:00:00:02".into(),
                primary: false,
            },
        ];
        active.doc.public_ip = Some(PublicIp {
            id: "e1e2e3e4-0000-4000-8000-000000000009".into(),
            address: "80.158.1.2".into(),
            delete_on_termination: true,
        });
        active.doc.volumes = vec![
            Volume {
                id: "b1b2b3b4-0000-4000-8000-000000000001".into(),
                device: "/dev/vda".into(),
                boot_index: Some(0),
                size_gib: 40,
                volume_type: "SSD".into(),
                delete_on_termination: true,
            },
            Volume {
                id: "b1b2b3b4-0000-4000-8000-000000000002".into(),
                device: "/dev/vdb".into(),
                boot_index: None,
                size_gib: 100,
                volume_type: "SAS".into(),
                delete_on_termination: false,
            },
        ];
        active.doc.metadata = BTreeMap::from([
            ("os_type".into(), "Windows".into()),
            ("team".into(), "blue".into()),
        ]);
        active.doc.tags = vec!["env=prod".into(), "tier".into()];
        active.doc.security_group_ids = vec!["c1c2c3c4-0000-4000-8000-000000000003".into()];
        active.doc.launch_index = 3;
        active.doc.scheduler_hints = BTreeMap::from([
            (
                "group".into(),
                json!("d1d2d3d4-0000-4000-8000-000000000004"),
            ),
            ("check_resources".into(), json!(true)),
        ]);
        active.doc.locked = true;
        let mut moved = active.clone();
        moved.state = state(VmState::Resized, None, 4);
        moved.doc.host = Some("eu-de-01-host-00af".into());
        moved.doc.public_ip = None;
        moved.doc.security_group_ids = Vec::new();
        moved.doc.key_name = None;
        moved.doc.locked = false;
        let mut failed = base.clone();
        failed.state = state(VmState::Error, None, 0);
        failed.busy_job_id = None;
        failed.fault = Some(ServerFault {
            code: "Ecs.0013".into(),
            message: "Insufficient EIP quota.".into(),
            created: 1_767_268_805_000,
        });
        let mut resizing = active.clone();
        resizing.state = state(VmState::Stopped, Some(TaskState::ResizePrep), 4);
        resizing.busy_job_id = Some("job-2".into());
        vec![base, active, moved, failed, resizing]
    }

    /// The ECS server view, byte for byte, at a few states, against the output of the
    /// `json!` literal it replaced (`testdata/server_views.jsonl`, one view per line): key
    /// order, every key and value. Clients (the SDKs, Ansible) read these bodies.
    #[test]
    fn the_server_view_renders_as_it_always_did() {
        let expected: Vec<&str> = include_str!("testdata/server_views.jsonl")
            .lines()
            .collect();
        let rendered: Vec<String> = servers_at_a_few_states()
            .iter()
            .map(|server| serde_json::to_string(&ServerView::of(server)).expect("renders"))
            .collect();
        assert_eq!(rendered.len(), expected.len(), "{}", rendered.join("\n"));
        for (index, (rendered, expected)) in rendered.iter().zip(expected).enumerate() {
            assert_eq!(rendered, expected, "server {index}");
        }
    }

    #[test]
    fn names_follow_the_length_and_character_rules() {
        assert!(validate_name("web_1.a-b", 1).is_ok());
        assert_eq!(
            validate_name("", 1).map_err(|e| e.code.code),
            Err("Ecs.0914")
        );
        assert_eq!(
            validate_name(&"x".repeat(60), 2).map_err(|e| e.code.code),
            Err("Ecs.0914")
        );
        assert!(validate_name(&"x".repeat(60), 1).is_ok());
        assert_eq!(
            validate_name("a b", 1).map_err(|e| e.code.code),
            Err("Ecs.0915")
        );
    }

    #[test]
    fn passwords_need_eight_characters_and_three_classes() {
        assert!(validate_admin_pass("p", "Passw0rd").is_ok());
        assert_eq!(
            validate_admin_pass("p", "password1").map_err(|e| e.code.code),
            Err("Ecs.0011")
        );
        assert_eq!(
            validate_admin_pass("p", "Pa1!").map_err(|e| e.code.code),
            Err("Ecs.0011")
        );
    }

    #[test]
    fn server_id_lists_are_bounded_well_formed_and_unique() {
        let ids = |n: usize| {
            (0..n)
                .map(|i| IdBody {
                    id: format!("00000000-0000-4000-8000-{i:012}"),
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            validate_server_ids("servers", &ids(2)).map(|v| v.len()),
            Ok(2)
        );
        assert_eq!(
            validate_server_ids("servers", &ids(1001)).map_err(|e| e.code.code),
            Err("Ecs.0118")
        );
        assert_eq!(
            validate_server_ids("servers", &[]).map_err(|e| e.code.code),
            Err("Ecs.0005")
        );
        let twice = [
            IdBody {
                id: "00000000-0000-4000-8000-000000000001".into(),
            },
            IdBody {
                id: "00000000-0000-4000-8000-000000000001".into(),
            },
        ];
        let error = validate_server_ids("servers", &twice).expect_err("duplicate");
        assert!(error.details[0].message.starts_with("servers[1].id"));
        let bad = [IdBody { id: "nope".into() }];
        assert!(validate_server_ids("servers", &bad)
            .expect_err("bad")
            .details[0]
            .message
            .starts_with("servers[0].id"));
    }
}
