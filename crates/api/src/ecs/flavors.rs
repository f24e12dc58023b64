//! `GET /v1/{project_id}/cloudservers/flavors`
//! (`apis_recommended/flavor_management/listing_flavor_details_and_extended_information.rst`),
//! and the checks every API that names a flavor or a zone shares: both are the project's
//! region's ([`AppState::region`]).

use crate::body::query_pairs;
use crate::error::ApiError;
use crate::error_codes;
use crate::{project_from_path, AppState, Path};
use axum::extract::{RawQuery, State};
use axum::Json;
use engine::flavors::Flavor;
use engine::regions::Region;
use serde::Serialize;

#[derive(Serialize)]
pub struct FlavorList<'a> {
    flavors: Vec<&'a Flavor>,
}

/// A flavor the region's catalogue does not have (another region's, or none): `Ecs.0029`.
pub(crate) fn unknown_flavor(id: &str, region: &Region) -> ApiError {
    ApiError::new(
        error_codes::ECS_0029,
        format!(
            "The flavor {id:?} does not exist in region {}.",
            region.name()
        ),
    )
}

/// The flavor `id` of the region's catalogue, retired ones included (a server may have one).
pub(crate) fn region_flavor<'r>(region: &'r Region, id: &str) -> Result<&'r Flavor, ApiError> {
    region
        .flavors()
        .get(id)
        .ok_or_else(|| unknown_flavor(id, region))
}

/// A flavor a new server (or a resize) may take in `zone`: the region has it and sells it
/// there. A retired (`abandon`) flavor is refused with the same `Ecs.0029`: the appendix has no
/// code of its own for it.
pub(crate) fn sellable_flavor<'r>(
    region: &'r Region,
    id: &str,
    zone: Option<&str>,
) -> Result<&'r Flavor, ApiError> {
    let flavor = region_flavor(region, id)?;
    let refused = |why: String| {
        ApiError::new(
            error_codes::ECS_0029,
            format!(
                "The flavor {id:?} cannot be used in region {}: {why}.",
                region.name()
            ),
        )
    };
    if flavor.is_retired() {
        return Err(refused("it is retired (abandon)".to_owned()));
    }
    if let Some(zone) = zone {
        if !flavor.is_offered_in(zone) {
            return Err(refused(format!(
                "it is {} in availability zone {zone}",
                flavor.status_in_az(zone)
            )));
        }
    }
    Ok(flavor)
}

/// `zone` if the region has it; otherwise `Ecs.0005` worded as the real cloud words it
/// (`availability_zone=la-south-2 not exist`, huaweicloud/terraform-provider-huaweicloud#1272),
/// with the region's zones.
pub(crate) fn region_zone(region: &Region, field: &str, zone: &str) -> Result<(), ApiError> {
    if region.has_zone(zone) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!(
                "availability_zone={zone} not exist in region {} (its zones: {})",
                region.name(),
                region.zones().join(", ")
            ),
        ))
    }
}

pub async fn flavor_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    let project_id = project_from_path(&project_id)?;
    let region = state.region(project_id);
    let mut zone = None;
    for (key, value) in query_pairs(query.as_deref())? {
        match key.as_str() {
            "availability_zone" if !value.is_empty() => {
                region_zone(&region, "availability_zone", &value)?;
                zone = Some(value);
            }
            _ => {}
        }
    }
    let flavors: Vec<&Flavor> = match &zone {
        Some(zone) => region.flavors().in_availability_zone(zone).collect(),
        None => region.listed_flavors().collect(),
    };
    let body = serde_json::to_value(FlavorList { flavors }).map_err(ApiError::internal)?;
    Ok(Json(body))
}
