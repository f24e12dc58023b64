//! The discovery documents (`api_version_query/`), answered without a token: Nova's version
//! list at `/`, the `v2.1` and `v2.0` documents, Keystone's `v3` document, and Glance's
//! version list at `/image`. keystoneauth reads the `self` link's path verbatim, so the
//! hrefs carry exactly the paths ecsd serves.

use super::{base_url, MAX_MICROVERSION, MIN_MICROVERSION};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

fn v21(base: &str) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "min_version": MIN_MICROVERSION.to_string(),
        "version": MAX_MICROVERSION.to_string(),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("{base}/v2.1/")},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        ],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1"
        }]
    })
}

fn v2(base: &str) -> Value {
    json!({
        "id": "v2.0",
        "status": "SUPPORTED",
        "min_version": "",
        "version": "",
        "updated": "2011-01-21T11:33:21Z",
        "links": [
            {"rel": "self", "href": format!("{base}/v2/")},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        ],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2"
        }]
    })
}

/// `GET /`: "Listing API Versions".
pub async fn compute_versions(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    let strip = |mut version: Value| {
        if let Some(object) = version.as_object_mut() {
            object.remove("media-types");
            if let Some(links) = object.get_mut("links").and_then(Value::as_array_mut) {
                links.retain(|link| link["rel"] == "self");
            }
        }
        version
    };
    Json(json!({ "versions": [strip(v2(&base)), strip(v21(&base))] }))
}

/// `GET /v2.1` and `/v2.1/`: "Querying a Specified API Version".
pub async fn compute_v21(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    Json(json!({ "version": v21(&base_url(&state, &headers)) }))
}

/// `GET /v2` and `/v2/`.
pub async fn compute_v2(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    Json(json!({ "version": v2(&base_url(&state, &headers)) }))
}

/// `GET /v3`: Keystone's version document, whose `self` link is where keystoneauth then posts
/// `auth/tokens` (a 401 here would deadlock it).
pub async fn identity_v3(State(state): State<AppState>, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&state, &headers);
    Json(json!({
        "version": {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": format!("{base}/v3/")}],
            "media-types": [{
                "base": "application/json",
                "type": "application/vnd.openstack.identity-v3+json"
            }]
        }
    }))
}

/// `GET /image`: Glance's version list, with Glance's status 300 (keystoneauth accepts it).
pub async fn image_versions(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let base = base_url(&state, &headers);
    (
        StatusCode::MULTIPLE_CHOICES,
        Json(json!({
            "versions": [{
                "id": "v2.9",
                "status": "CURRENT",
                "links": [{"rel": "self", "href": format!("{base}/image/v2/")}]
            }]
        })),
    )
        .into_response()
}

/// `GET /{api_version}`: the document of `v2.1`, `v2`, `v3` (Keystone) or `image` (Glance);
/// any other segment is the gateway's 404 (`APIGW.0101`), as before these routes existed.
pub async fn version_document(
    state: State<AppState>,
    headers: HeaderMap,
    Path(version): Path<String>,
) -> Response {
    match version.as_str() {
        "v2.1" => compute_v21(state, headers).await.into_response(),
        "v2" => compute_v2(state, headers).await.into_response(),
        "v3" => identity_v3(state, headers).await.into_response(),
        "image" => image_versions(state, headers).await,
        other => crate::error::ApiError::new(
            crate::error_codes::APIGW_0101,
            format!("The API does not exist or has not been published in the environment: no API matches GET /{other}."),
        )
        .into_response(),
    }
}
