//! Flavors (`flavor_management/`): list, list with details, show, and the extra specs, from
//! the same catalogue as the ECS flavor list (`AppState::flavors`). Nova's view has integer
//! `vcpus` and `disk` where the ECS view has strings.

use super::{base_url, NovaError, NovaResult};
use crate::body::query_pairs;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::Json;
use engine::flavors::Flavor;
use engine::regions::Region;
use serde_json::{json, Value};

fn links(base: &str, project_id: &str, flavor_id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{base}/v2.1/{project_id}/flavors/{flavor_id}")},
        {"rel": "bookmark", "href": format!("{base}/{project_id}/flavors/{flavor_id}")}
    ])
}

/// Nova's detailed flavor view.
pub fn flavor_json(flavor: &Flavor, base: &str, project_id: &str) -> Value {
    json!({
        "id": flavor.id,
        "name": flavor.name,
        "vcpus": flavor.vcpu_count(),
        "ram": flavor.ram,
        "disk": flavor.disk.trim().parse::<u64>().unwrap_or(0),
        "swap": flavor.swap,
        "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral,
        "OS-FLV-DISABLED:disabled": flavor.disabled,
        "os-flavor-access:is_public": flavor.is_public,
        "rxtx_factor": flavor.rxtx_factor,
        // 2.55's field, shown at every microversion as the reference's page does; ecsd's
        // flavors have no description.
        "description": "",
        "links": links(base, project_id, &flavor.id),
    })
}

/// The catalogue's flavors a list shows: `minRam`, `minDisk` filter; `is_public` (`True`,
/// `False`, `None`, any case) is accepted, and since every built-in flavor is public only
/// `False` filters. Other parameters are ignored.
fn listed<'a>(region: &'a Region, query: Option<&str>) -> NovaResult<Vec<&'a Flavor>> {
    // Retired (`abandon`) flavors are not listed (they still show on servers that have one).
    let mut flavors: Vec<&Flavor> = region.listed_flavors().collect();
    let number = |key: &str, value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| NovaError::bad_request(format!("Invalid {key} filter [{value}]")))
    };
    let mut limit = usize::MAX;
    let mut marker = None;
    for (key, value) in query_pairs(query).map_err(NovaError::from)? {
        match key.as_str() {
            "minRam" => {
                let min = number("minRam", &value)?;
                flavors.retain(|flavor| flavor.ram >= min);
            }
            "minDisk" => {
                let min = number("minDisk", &value)?;
                flavors.retain(|flavor| flavor.disk.trim().parse::<u64>().unwrap_or(0) >= min);
            }
            "is_public" if value.eq_ignore_ascii_case("false") => {
                flavors.retain(|flavor| !flavor.is_public)
            }
            "limit" => limit = number("limit", &value)? as usize,
            "marker" => marker = Some(value),
            _ => {}
        }
    }
    if let Some(marker) = marker {
        let position = flavors
            .iter()
            .position(|flavor| flavor.id == marker)
            .ok_or_else(|| NovaError::bad_request(format!("marker [{marker}] not found")))?;
        flavors.drain(..=position);
    }
    flavors.truncate(limit);
    Ok(flavors)
}

/// `GET …/flavors`: id, name, links.
pub async fn flavor_list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> NovaResult<Json<Value>> {
    let base = base_url(&state, &headers);
    let flavors: Vec<Value> = listed(&state.region(&project_id), query.as_deref())?
        .into_iter()
        .map(|flavor| {
            json!({
                "id": flavor.id,
                "name": flavor.name,
                "links": links(&base, &project_id, &flavor.id),
            })
        })
        .collect();
    Ok(Json(json!({ "flavors": flavors })))
}

/// `GET …/flavors/detail`.
pub async fn flavor_list_detail(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> NovaResult<Json<Value>> {
    let base = base_url(&state, &headers);
    let flavors: Vec<Value> = listed(&state.region(&project_id), query.as_deref())?
        .into_iter()
        .map(|flavor| flavor_json(flavor, &base, &project_id))
        .collect();
    Ok(Json(json!({ "flavors": flavors })))
}

fn find<'a>(region: &'a Region, flavor_id: &str) -> NovaResult<&'a Flavor> {
    region
        .flavors()
        .get(flavor_id)
        .ok_or_else(|| NovaError::not_found(format!("Flavor {flavor_id} could not be found.")))
}

/// `GET …/flavors/{flavor_id}`.
pub async fn flavor_show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((project_id, flavor_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let region = state.region(&project_id);
    let flavor = find(&region, &flavor_id)?;
    let base = base_url(&state, &headers);
    Ok(Json(
        json!({ "flavor": flavor_json(flavor, &base, &project_id) }),
    ))
}

/// `GET …/flavors/{flavor_id}/os-extra_specs`.
pub async fn extra_specs_list(
    State(state): State<AppState>,
    Path((project_id, flavor_id)): Path<(String, String)>,
) -> NovaResult<Json<Value>> {
    let region = state.region(&project_id);
    let flavor = find(&region, &flavor_id)?;
    Ok(Json(json!({ "extra_specs": flavor.os_extra_specs })))
}

/// `GET …/flavors/{flavor_id}/os-extra_specs/{key}`: `{key: value}`.
pub async fn extra_spec_show(
    State(state): State<AppState>,
    Path((project_id, flavor_id, key)): Path<(String, String, String)>,
) -> NovaResult<Json<Value>> {
    let region = state.region(&project_id);
    let flavor = find(&region, &flavor_id)?;
    let value = flavor.os_extra_specs.get(&key).ok_or_else(|| {
        NovaError::not_found(format!(
            "Flavor {flavor_id} has no extra specs with key {key}."
        ))
    })?;
    Ok(Json(json!({ key: value })))
}
