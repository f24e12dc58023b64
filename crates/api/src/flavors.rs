//! `GET /v1/{project_id}/cloudservers/flavors`
//! (`apis_recommended/flavor_management/listing_flavor_details_and_extended_information.rst`).

use crate::body::query_pairs;
use crate::error::ApiError;
use crate::{project_from_path, AppState, Path};
use axum::extract::{RawQuery, State};
use axum::Json;
use engine::flavors::{Flavor, AVAILABILITY_ZONES};
use serde::Serialize;

#[derive(Serialize)]
pub struct FlavorList<'a> {
    flavors: Vec<&'a Flavor>,
}

pub async fn flavor_list(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Json<serde_json::Value>, ApiError> {
    project_from_path(&project_id)?;
    let mut zone = None;
    for (key, value) in query_pairs(query.as_deref())? {
        match key.as_str() {
            "availability_zone" if !value.is_empty() => {
                if !AVAILABILITY_ZONES.contains(&value.as_str()) {
                    return Err(ApiError::invalid_field(
                        "availability_zone",
                        format!(
                            "unknown availability zone {value:?}; known: {}",
                            AVAILABILITY_ZONES.join(", ")
                        ),
                    ));
                }
                zone = Some(value);
            }
            _ => {}
        }
    }
    let flavors: Vec<&Flavor> = match &zone {
        Some(zone) => state.flavors.in_availability_zone(zone).collect(),
        None => state.flavors.all().iter().collect(),
    };
    let body = serde_json::to_value(FlavorList { flavors }).map_err(ApiError::internal)?;
    Ok(Json(body))
}
