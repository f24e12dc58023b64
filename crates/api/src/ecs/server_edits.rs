//! Synchronous changes to one server (no job): update and delete metadata, and modify the
//! server (`PUT`: name, description, hostname).
//!
//! They apply while a job holds the server (the reference puts no such constraint on them); a
//! job's own effects are applied by its last step to the document as it is then, so neither
//! loses the other's change. Metadata needs the `vm_state` the page names (ASYNC-OPERATIONS.md
//! §6 row 22: `active` or `stopped`; otherwise `Ecs.0100`).

use crate::ecs::server_jobs::OnServer;
use crate::ecs::servers::{host_id, metadata_json, require_uuid, validate_name};
use crate::ecs::tags::edit;
use crate::error::ApiError;
use crate::error_codes;
use crate::time_format::server_time;
use crate::{project_from_path, AppState, Path};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::server::{ServerChange, ServerRecord, VmState, MAX_SERVER_METADATA};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The `vm_state`s in which metadata may change (the page also names `paused` and `suspended`,
/// which ecsd's servers never reach).
pub(crate) const METADATA_VM_STATES: &[VmState] = &[VmState::Active, VmState::Stopped];
const MAX_METADATA_CHARS: usize = 255;
const MAX_DESCRIPTION_CHARS: usize = 85;
const MAX_HOSTNAME_CHARS: usize = 64;

#[derive(Debug, Deserialize)]
pub(crate) struct MetadataBody {
    metadata: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UpdateBody {
    server: UpdateServerBody,
}

/// Unknown keys (`security_options`, `user_data`, which the SDK may send) are ignored.
#[derive(Debug, Deserialize)]
struct UpdateServerBody {
    name: Option<String>,
    description: Option<String>,
    hostname: Option<String>,
}

/// A metadata key: 1–255 of `A-Z a-z 0-9 - _ : .`; a value: a string of at most 255 characters.
fn validate_metadata_key(key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty()
        && key.chars().count() <= MAX_METADATA_CHARS
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            &format!("metadata.{key}"),
            "keys have 1 to 255 of A-Z, a-z, 0-9, '-', '_', ':' and '.'",
        ))
    }
}

/// `POST /v1/{project_id}/cloudservers/{server_id}/metadata`: sets the given keys, keeps the
/// others; answers the server's whole `metadata` as its view shows it.
pub(crate) async fn server_metadata_update(
    State(state): State<AppState>,
    request: OnServer<MetadataBody>,
) -> Result<Json<Value>, ApiError> {
    let OnServer {
        project_id,
        server_id: canonical_id,
        raw_server_id: server_id,
        body,
    } = request;
    // A request that alone exceeds the limit is refused before the writer; what the server
    // already holds is counted in the writer's transaction (`ServerChange::apply`).
    if body.metadata.len() > MAX_SERVER_METADATA {
        return Err(ApiError::invalid_field(
            "metadata",
            format!(
                "{} keys given; an ECS has at most {MAX_SERVER_METADATA} (maxServerMeta)",
                body.metadata.len()
            ),
        ));
    }
    let mut metadata = BTreeMap::new();
    for (key, value) in body.metadata {
        validate_metadata_key(&key)?;
        let Value::String(value) = value else {
            return Err(ApiError::invalid_field(
                &format!("metadata.{key}"),
                "values are strings",
            ));
        };
        if value.chars().count() > MAX_METADATA_CHARS {
            return Err(ApiError::invalid_field(
                &format!("metadata.{key}"),
                format!("values have at most {MAX_METADATA_CHARS} characters"),
            ));
        }
        metadata.insert(key, value);
    }
    let change = ServerChange::MetadataUpdate {
        metadata,
        max: MAX_SERVER_METADATA,
        allowed_vm_states: METADATA_VM_STATES,
    };
    let server = edit(&state, &project_id, &canonical_id, &server_id, change).await?;
    Ok(Json(json!({ "metadata": metadata_json(&server) })))
}

/// `DELETE /v1/{project_id}/cloudservers/{server_id}/metadata/{key}` (the SDK's path) and the
/// native `DELETE /v2.1/{project_id}/servers/{server_id}/metadata/{key}` (and `/v2/`). 204, no
/// body, as Nova answers; a key that is not there is no error (as deleting a tag).
pub async fn server_metadata_delete(
    State(state): State<AppState>,
    Path((project_id, server_id, key)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let canonical_id = require_uuid("server_id", &server_id)?;
    validate_metadata_key(&key)?;
    let change = ServerChange::MetadataDelete {
        key,
        allowed_vm_states: METADATA_VM_STATES,
    };
    edit(&state, project_id, &canonical_id, &server_id, change).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A hostname: 1–64 characters, segments separated by `.`, each of letters, digits and `-`.
fn validate_hostname(hostname: &str) -> Result<(), ApiError> {
    let ok = (1..=MAX_HOSTNAME_CHARS).contains(&hostname.chars().count())
        && hostname.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            "server.hostname",
            "1 to 64 characters: segments of letters, digits and '-' separated by '.'",
        ))
    }
}

/// `PUT /v1/{project_id}/cloudservers/{server_id}`: name (1–128 of letters, digits, `_`, `-`,
/// `.`: `Ecs.0914`/`Ecs.0915`), description (0–85, no `<>`: `Ecs.0041`), hostname. Answers the
/// server in the page's shape (Table 6).
pub(crate) async fn server_update(
    State(state): State<AppState>,
    // The `Host` the answer's links name; reading the headers cannot fail, so the path and
    // body checks of `OnServer` keep their precedence.
    headers: HeaderMap,
    request: OnServer<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let OnServer {
        project_id,
        server_id: canonical_id,
        raw_server_id: server_id,
        body,
    } = request;
    let server = body.server;
    if let Some(name) = &server.name {
        validate_name(name, 1)?;
    }
    if let Some(description) = &server.description {
        if description.chars().count() > MAX_DESCRIPTION_CHARS || description.contains(['<', '>']) {
            return Err(ApiError::new(
                error_codes::ECS_0041,
                format!(
                    "server.description has at most {MAX_DESCRIPTION_CHARS} characters, without '<' or '>'."
                ),
            ));
        }
    }
    if let Some(hostname) = &server.hostname {
        validate_hostname(hostname)?;
    }
    let change = ServerChange::Details {
        name: server.name,
        description: server.description,
        hostname: server.hostname,
    };
    let server = edit(&state, &project_id, &canonical_id, &server_id, change).await?;
    Ok(Json(
        json!({ "server": updated_server_json(&server, &headers) }),
    ))
}

/// The server as `modifying_ecs_details.rst` answers it (Nova's update response): `image` is the
/// image id as a string, addresses carry `version` as an integer, and `links` point at the
/// server and its flavor.
fn updated_server_json(server: &ServerRecord, headers: &HeaderMap) -> Value {
    let doc = &server.doc;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("localhost");
    let project = &server.project_id;
    let addresses: Vec<Value> = doc
        .nics
        .iter()
        .map(|nic| json!({ "addr": nic.ip_address, "version": 4 }))
        .collect();
    let addresses = if addresses.is_empty() {
        json!({})
    } else {
        json!({ doc.vpc_id.clone(): addresses })
    };
    json!({
        "tenant_id": project,
        "image": doc.image_id,
        "accessIPv4": "",
        "accessIPv6": "",
        "addresses": addresses,
        "metadata": metadata_json(server),
        "created": server_time(server.created_at),
        "hostId": host_id(server),
        "flavor": {
            "id": doc.flavor.id,
            "links": [{
                "rel": "bookmark",
                "href": format!("http://{host}/{project}/flavors/{}", doc.flavor.id),
            }],
        },
        "OS-DCF:diskConfig": "MANUAL",
        "user_id": "ecsd-local-user",
        "name": server.name,
        "progress": server.progress,
        "links": [
            { "rel": "self", "href": format!("http://{host}/v2/{project}/servers/{}", server.id) },
            { "rel": "bookmark", "href": format!("http://{host}/{project}/servers/{}", server.id) },
        ],
        "id": server.id,
        "updated": server_time(server.updated_at),
        "locked": false,
        "description": doc.description,
        "tags": doc.tags,
        "status": server.state.status().as_str(),
        "OS-EXT-SRV-ATTR:hostname": doc.hostname,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_keys_and_hostnames_follow_the_pages() {
        assert!(validate_metadata_key("a-b_c:d.e").is_ok());
        assert!(validate_metadata_key("").is_err());
        assert!(validate_metadata_key("a b").is_err());
        assert!(validate_metadata_key(&"k".repeat(256)).is_err());
        assert!(validate_hostname("web-1.example").is_ok());
        assert!(validate_hostname("a..b").is_err());
        assert!(validate_hostname("under_score").is_err());
        assert!(validate_hostname(&"h".repeat(65)).is_err());
    }
}
