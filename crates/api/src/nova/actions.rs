//! `POST …/servers/{server_id}/action` (`status_management/` and the console log): each
//! accepted action is an engine job, and the server's status changes in the commit that
//! accepts it (its first phase, written with the acceptance), so a client polling right after the 202
//! sees `REBOOT`, `RESIZE`, `powering-off`… The bodies' inner values may be `null` or `{}`
//! (the SDK sends `{"os-stop": null}`, the reference `{"os-stop": {}}`).
//!
//! `resize` waits in `VERIFY_RESIZE` until `confirmResize` (ACTIVE or SHUTOFF with the new
//! flavor) or `revertResize` (the old flavor); unlike ECS's resize it also takes a running
//! server. `lock` and `unlock` set the server's lock (synchronous; a locked server's other
//! actions, its deletion, disks and NICs are Nova's 409 until unlocked — through Nova only: the
//! ECS API has no lock). Actions ecsd does not model are refused with 501 `notImplemented`
//! (README).

use super::servers::find_server;
use super::{json_body, NovaError, NovaResult};
use crate::body::read_limited;
use crate::observe::with_job;
use crate::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use engine::engine::ServerAction;
use engine::job::JobKind;
use engine::server::FlavorRef;
use engine::server_jobs::ServerJob;
use serde_json::{json, Value};

/// Actions ecsd refuses, with what each would need.
const NOT_MODELLED: &[(&str, &str)] = &[
    (
        "createImage",
        "images created from servers (there is no image service to hold them)",
    ),
    (
        "rebuild",
        "rebuilding through Nova (use ECS's reinstallos/changeos)",
    ),
    ("os-resetState", "the administrator's state reset"),
    ("forceDelete", "soft deletion"),
    ("restore", "soft deletion"),
    ("shelve", "shelving"),
    ("unshelve", "shelving"),
    ("pause", "pausing"),
    ("unpause", "pausing"),
    ("suspend", "suspending"),
    ("resume", "suspending"),
    ("migrate", "migration through Nova (use ECS's migrate)"),
    ("os-migrateLive", "live migration"),
    ("rescue", "rescue mode"),
    ("unrescue", "rescue mode"),
    ("changePassword", "passwords of running servers"),
    ("trigger_crash_dump", "crash dumps"),
];

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// `POST …/servers/{server_id}/action`.
pub async fn server_action(
    State(state): State<AppState>,
    Path((project_id, server_id)): Path<(String, String)>,
    version: super::Microversion,
    headers: axum::http::HeaderMap,
    body: Body,
) -> NovaResult<Response> {
    let bytes = read_limited(body, state.max_body_bytes)
        .await
        .map_err(NovaError::from)?;
    let body = json_body(&bytes)?;
    let Some((action, argument)) = body.as_object().and_then(|object| {
        let mut entries = object.iter();
        match (entries.next(), entries.next()) {
            (Some(entry), None) => Some(entry),
            _ => None,
        }
    }) else {
        return Err(NovaError::bad_request(
            "The body must name exactly one action.",
        ));
    };
    let server = find_server(&state, &project_id, &server_id).await?;
    let ids = [server.id.clone()];
    if !matches!(action.as_str(), "lock" | "unlock" | "os-getConsoleOutput") {
        super::servers::refuse_locked(&server)?;
    }
    match action.as_str() {
        "lock" | "unlock" => {
            let change = engine::server::ServerChange::Lock {
                locked: action == "lock",
            };
            state
                .engine
                .server_edit(&project_id, &server.id, change)
                .await
                .map_err(|error| NovaError::from(crate::error::ApiError::from(error)))?;
            super::instance_actions::record(
                &state,
                &project_id,
                &server.id,
                action,
                &headers,
                None,
            )
            .await;
            Ok(accepted())
        }
        "os-start" => {
            let job = state
                .engine
                .server_action(&project_id, ServerAction::Start, &ids)
                .await?;
            record(
                &state,
                &project_id,
                &server.id,
                "start",
                &headers,
                &job.job_id,
            )
            .await;
            Ok(with_job(accepted(), &job.job_id, JobKind::StartServers))
        }
        "os-stop" => {
            let job = state
                .engine
                .server_action(&project_id, ServerAction::Stop { hard: false }, &ids)
                .await?;
            record(
                &state,
                &project_id,
                &server.id,
                "stop",
                &headers,
                &job.job_id,
            )
            .await;
            Ok(with_job(accepted(), &job.job_id, JobKind::StopServers))
        }
        "reboot" => {
            let hard = match argument.get("type").and_then(Value::as_str) {
                Some(kind) if kind.eq_ignore_ascii_case("HARD") => true,
                Some(kind) if kind.eq_ignore_ascii_case("SOFT") => false,
                _ => {
                    return Err(NovaError::bad_request(
                        "Invalid input for field/attribute reboot: type must be SOFT or HARD.",
                    ))
                }
            };
            let job = state
                .engine
                .server_action(&project_id, ServerAction::Reboot { hard }, &ids)
                .await?;
            record(
                &state,
                &project_id,
                &server.id,
                "reboot",
                &headers,
                &job.job_id,
            )
            .await;
            Ok(with_job(accepted(), &job.job_id, JobKind::RebootServers))
        }
        "resize" => {
            let flavor_ref = argument
                .get("flavorRef")
                .and_then(|value| match value {
                    Value::String(text) => Some(text.clone()),
                    Value::Number(number) => Some(number.to_string()),
                    _ => None,
                })
                .ok_or_else(|| NovaError::bad_request("resize needs a flavorRef."))?;
            let flavor_id = flavor_ref.rsplit('/').next().unwrap_or(&flavor_ref);
            let region = state.region(&project_id);
            let flavor = region
                .flavors()
                .get(flavor_id)
                .filter(|flavor| !flavor.is_retired())
                .ok_or_else(|| {
                    NovaError::bad_request(format!("Unable to find flavor {flavor_ref}."))
                })?;
            let job = ServerJob::NovaResize {
                flavor: FlavorRef::from(flavor),
            };
            let job_id = submit(&state, &project_id, &server.id, job).await?;
            record(&state, &project_id, &server.id, "resize", &headers, &job_id).await;
            Ok(with_job(accepted(), &job_id, JobKind::NovaResize))
        }
        "confirmResize" | "revertResize" => {
            let job = if action == "confirmResize" {
                ServerJob::NovaConfirmResize
            } else {
                ServerJob::NovaRevertResize
            };
            let kind = crate::ecs::server_jobs::job_kind(&job);
            let job_id = submit(&state, &project_id, &server.id, job).await?;
            record(&state, &project_id, &server.id, action, &headers, &job_id).await;
            let response = if action == "confirmResize" {
                StatusCode::NO_CONTENT.into_response()
            } else {
                accepted()
            };
            Ok(with_job(response, &job_id, kind))
        }
        "rebuild" => rebuild(&state, &server, argument, version, &headers).await,
        "createImage" => create_image(&state, &server, argument, &headers).await,
        "addSecurityGroup" | "removeSecurityGroup" => {
            security_group(&state, &server, action == "addSecurityGroup", argument).await?;
            Ok(accepted())
        }
        "os-getConsoleOutput" => {
            let length = match argument.get("length") {
                None | Some(Value::Null) => None,
                Some(value) => Some(
                    value
                        .as_i64()
                        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
                        .ok_or_else(|| NovaError::bad_request("length must be an integer."))?,
                ),
            };
            Ok(Json(json!({ "output": console_output(&server, length) })).into_response())
        }
        other => match NOT_MODELLED.iter().find(|(name, _)| *name == other) {
            Some((_, what)) => Err(NovaError::not_modelled(what)),
            None => Err(NovaError::bad_request(format!(
                "There is no such action: {other}"
            ))),
        },
    }
}

/// A Nova resize, confirm or revert: a job on one server, within the project's quotas. A
/// server in the wrong state is Nova's 409 (`Cannot 'confirmResize' instance … while it is in
/// vm_state active`).
async fn submit(
    state: &AppState,
    project_id: &str,
    server_id: &str,
    job: ServerJob,
) -> NovaResult<String> {
    let accepted = state.engine.server_job(project_id, server_id, job).await?;
    Ok(accepted.job_id)
}

/// Records the accepted action in the server's instance actions.
async fn record(
    state: &AppState,
    project_id: &str,
    server_id: &str,
    action: &str,
    headers: &axum::http::HeaderMap,
    job_id: &str,
) {
    super::instance_actions::record(state, project_id, server_id, action, headers, Some(job_id))
        .await;
}

/// `rebuild` `{"imageRef", "name", "metadata", "adminPass", "key_name", "description"}`: an
/// engine job rebuilding the system disk from `imageRef` (ECS's reinstall or change of OS,
/// but from a running, stopped or ERROR server, ending as it was: ACTIVE, else SHUTOFF);
/// `name`, `metadata` (merged) and `description` are set at once. 202 with the server
/// (`REBUILD` from this answer on) and its `adminPass`.
async fn rebuild(
    state: &AppState,
    server: &engine::server::ServerRecord,
    argument: &Value,
    version: super::Microversion,
    headers: &axum::http::HeaderMap,
) -> NovaResult<Response> {
    let image_ref = argument
        .get("imageRef")
        .and_then(Value::as_str)
        .ok_or_else(|| NovaError::bad_request("rebuild needs an imageRef."))?;
    let image_id = crate::ecs::servers::require_uuid(
        "rebuild.imageRef",
        image_ref.rsplit('/').next().unwrap_or(image_ref),
    )
    .map_err(|_| NovaError::bad_request(format!("Invalid imageRef provided: {image_ref}.")))?;
    let admin_pass = argument.get("adminPass").and_then(Value::as_str);
    if let Some(password) = admin_pass {
        crate::ecs::servers::validate_admin_pass("rebuild.adminPass", password)
            .map_err(NovaError::from)?;
    }
    let name = argument
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(name) = &name {
        crate::ecs::servers::validate_name(name, 1).map_err(NovaError::from)?;
    }
    let description = argument
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let metadata: std::collections::BTreeMap<String, String> = match argument.get("metadata") {
        None | Some(Value::Null) => Default::default(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
            NovaError::bad_request("rebuild.metadata must be an object of strings.")
        })?,
    };
    let job = ServerJob::NovaRebuild {
        image_id,
        key_name: argument
            .get("key_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    let job_id = submit(state, &server.project_id, &server.id, job).await?;
    record(
        state,
        &server.project_id,
        &server.id,
        "rebuild",
        headers,
        &job_id,
    )
    .await;
    let edit = |change| async {
        state
            .engine
            .server_edit(&server.project_id, &server.id, change)
            .await
            .map_err(|error| NovaError::from(crate::error::ApiError::from(error)))
    };
    let mut updated = None;
    if name.is_some() || description.is_some() {
        updated = Some(
            edit(engine::server::ServerChange::Details {
                name,
                description,
                hostname: None,
            })
            .await?,
        );
    }
    if !metadata.is_empty() {
        // Metadata changes are allowed while a job holds the server; any vm_state will do.
        updated = Some(
            edit(engine::server::ServerChange::MetadataUpdate {
                max: engine::server::MAX_SERVER_METADATA,
                metadata,
                allowed_vm_states: &[
                    engine::server::VmState::Active,
                    engine::server::VmState::Stopped,
                    engine::server::VmState::Error,
                ],
            })
            .await?,
        );
    }
    let current = match updated {
        Some(server) => server,
        None => super::servers::find_server(state, &server.project_id, &server.id).await?,
    };
    let base = super::base_url(state, headers);
    let mut view = super::servers::server_json(state, &current, version, &base);
    view["adminPass"] = json!(admin_pass
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Rb{}", &server.id[..8])));
    let response = (StatusCode::ACCEPTED, Json(json!({ "server": view }))).into_response();
    Ok(with_job(response, &job_id, JobKind::NovaRebuild))
}

/// `createImage` `{"name", "metadata"}`: a private image of the project made from the server
/// (active or stopped), at once (ecsd copies no disk): the Glance reads show it `active`,
/// `visibility: private`, with the server's system disk size as `min_disk`, its flavor's memory
/// as `min_ram`, the metadata as properties. 202 with `{"image_id"}` and `Location`.
async fn create_image(
    state: &AppState,
    server: &engine::server::ServerRecord,
    argument: &Value,
    headers: &axum::http::HeaderMap,
) -> NovaResult<Response> {
    use engine::server::VmState;
    let name = argument
        .get("name")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty() && name.chars().count() <= 255)
        .ok_or_else(|| {
            NovaError::bad_request("createImage needs a name of 1 to 255 characters.")
        })?;
    let metadata: std::collections::BTreeMap<String, String> = match argument.get("metadata") {
        None | Some(Value::Null) => Default::default(),
        Some(value) => serde_json::from_value(value.clone()).map_err(|_| {
            NovaError::bad_request("createImage.metadata must be an object of strings.")
        })?,
    };
    if !matches!(server.state.vm_state, VmState::Active | VmState::Stopped) {
        return Err(NovaError::conflict(format!(
            "Cannot 'createImage' instance {} while it is in vm_state {}",
            server.id,
            server.state.vm_state.as_str()
        )));
    }
    let region = super::project_region(state, &server.project_id);
    let os_distro = state
        .images
        .get(&region, &server.doc.image_id)
        .map(|image| image.os_distro.clone())
        .unwrap_or_default();
    let min_disk = server
        .doc
        .volumes
        .iter()
        .find(|volume| volume.boot_index == Some(0))
        .map_or(40, |volume| volume.size_gib);
    let image = engine::store::ImageRecord {
        project_id: server.project_id.clone(),
        id: state.engine.ids().uuid().to_string(),
        name: name.to_owned(),
        server_id: server.id.clone(),
        min_disk,
        min_ram: i64::try_from(server.doc.flavor.ram).unwrap_or(0),
        os_distro,
        metadata,
        created_at: engine::clock::to_unix_ms(state.engine.now()),
    };
    state.engine.image_insert(image.clone()).await?;
    super::instance_actions::record(
        state,
        &server.project_id,
        &server.id,
        "createImage",
        headers,
        None,
    )
    .await;
    let base = super::base_url(state, headers);
    let mut response =
        (StatusCode::ACCEPTED, Json(json!({ "image_id": image.id }))).into_response();
    if let Ok(location) =
        axum::http::HeaderValue::from_str(&format!("{base}/image/v2/images/{}", image.id))
    {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, location);
    }
    Ok(response)
}

/// `addSecurityGroup` / `removeSecurityGroup` `{"name"}`: ecsd's security groups are the ids
/// given at create (the views show the id as the name), so `name` is a group id. Adding one the
/// server has, or removing `default` from a server without groups, changes nothing; removing
/// one it does not have is 404. A server whose last group is removed shows `default` again.
async fn security_group(
    state: &AppState,
    server: &engine::server::ServerRecord,
    add: bool,
    argument: &Value,
) -> NovaResult<()> {
    let name = argument
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| NovaError::bad_request("The security group action needs a name."))?;
    let shows_default = server.doc.security_group_ids.is_empty();
    if name == "default" && shows_default {
        return Ok(());
    }
    let id = uuid::Uuid::try_parse(name)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| {
            NovaError::bad_request(format!(
                "Security group {name} is not a group id: ecsd names security groups by id."
            ))
        })?;
    if !add && !server.doc.security_group_ids.contains(&id) {
        return Err(NovaError::not_found(format!(
            "Security group {name} not associated with the instance {}",
            server.id
        )));
    }
    let change = engine::server::ServerChange::SecurityGroup { id, add };
    state
        .engine
        .server_edit(&server.project_id, &server.id, change)
        .await
        .map_err(|error| NovaError::from(crate::error::ApiError::from(error)))?;
    Ok(())
}

/// The simulated console log: the boot lines of the server's life so far; `length` keeps the
/// last lines (negative or absent: all).
fn console_output(server: &engine::server::ServerRecord, length: Option<i64>) -> String {
    let mut lines = vec![
        format!(
            "[    0.000000] Linux version 5.15.0 (ecsd simulated console of {})",
            server.name
        ),
        "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=/dev/vda1 ro console=ttyS0"
            .to_owned(),
        format!("[    1.200000] cloud-init: instance-id {}", server.id),
    ];
    if server.launched_at.is_some() {
        lines.push(format!("{} login:", server.doc.hostname));
    }
    if let Some(length) = length.filter(|length| *length >= 0) {
        let keep = (length as usize).min(lines.len());
        lines.drain(..lines.len() - keep);
    }
    lines.join("\n")
}
