//! The native OpenStack Nova API of ecsd (`native_openstack_nova_apis/`), over the same engine
//! as the ECS API: a Nova create, action or delete is an engine job, and a server is the same
//! server in both views.
//!
//! What this module adds on top of the handlers: the routes under `/v2.1/{project_id}` and
//! `/v2/{project_id}` ([`router`], behind [`crate::identity::auth::authenticate`]), the unauthenticated
//! discovery documents ([`versions`]), microversion negotiation ([`negotiate`]), Nova's error
//! shape ([`NovaError`]: `{"itemNotFound": {"message", "code"}}` …) and the request id headers
//! Nova clients read. The read-only Glance and Neutron pieces the compute clients look up
//! (`images`, `networks`) live here too, because they exist only to serve them.

pub mod actions;
pub mod attachments;
pub mod flavors;
pub mod groups;
pub mod images;
pub mod instance_actions;
pub mod keypairs;
pub mod misc;
pub mod networks;
pub mod quotas;
pub mod servers;
pub mod versions;

use crate::error::ApiError;
use crate::error_codes;
use crate::AppState;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde_json::{json, Value};

/// The lowest and highest compute microversions ecsd answers (`2.60`: the highest the
/// reference's version pages name; what the clients then negotiate).
pub const MIN_MICROVERSION: Microversion = Microversion(1);
pub const MAX_MICROVERSION: Microversion = Microversion(60);

/// A compute microversion `2.N`; only the minor number varies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Microversion(pub u32);

impl Microversion {
    /// Whether the request's microversion is at least `2.minor`.
    pub fn at_least(self, minor: u32) -> bool {
        self.0 >= minor
    }
}

impl std::fmt::Display for Microversion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "2.{}", self.0)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Microversion {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Microversion>()
            .copied()
            .unwrap_or(MIN_MICROVERSION))
    }
}

/// Nova's error shape: `{"<name>": {"message", "code"}}`, the name by status as Nova's
/// `wsgi.Fault` names it.
#[derive(Debug, Clone, PartialEq)]
pub struct NovaError {
    pub status: StatusCode,
    pub message: String,
}

impl NovaError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// A page ecsd does not model (listed in README's "OpenStack clients" refusals).
    pub fn not_modelled(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("ecsd does not model {what} (see README, \"OpenStack clients\")."),
        )
    }

    /// The top-level key Nova gives an error of this status.
    pub fn name(&self) -> &'static str {
        match self.status.as_u16() {
            400 => "badRequest",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "itemNotFound",
            405 => "badMethod",
            406 => "notAcceptable",
            409 => "conflictingRequest",
            413 | 429 => "overLimit",
            415 => "badMediaType",
            501 => "notImplemented",
            503 => "serviceUnavailable",
            _ => "computeFault",
        }
    }
}

impl IntoResponse for NovaError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.status != StatusCode::NOT_IMPLEMENTED {
            tracing::error!(status = self.status.as_u16(), "{}", self.message);
        }
        let body =
            json!({ self.name(): { "message": self.message, "code": self.status.as_u16() } });
        (self.status, axum::Json(body)).into_response()
    }
}

/// ECS errors of the shared engine paths, in Nova's terms: a state that forbids the action
/// (`Ecs.0100`) is Nova's 409, a quota exceeded (`Ecs.0001`, `0021`, `0022`, `0050`) its 403;
/// the rest keep their status and message. A 500 keeps its cause
/// out of the answer.
impl From<ApiError> for NovaError {
    fn from(error: ApiError) -> Self {
        if error.status().is_server_error() {
            tracing::error!(code = error.code.code, internal = ?error.internal, "{}", error.message);
            return NovaError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Unexpected API Error. The cause is in ecsd's log.",
            );
        }
        let quota = [
            error_codes::ECS_0001,
            error_codes::ECS_0021,
            error_codes::ECS_0022,
            error_codes::ECS_0050,
        ];
        let status = if error.code == error_codes::ECS_0100 {
            StatusCode::CONFLICT
        } else if quota.contains(&error.code) {
            // Nova answers a quota exceeded with 403.
            StatusCode::FORBIDDEN
        } else {
            error.status()
        };
        let message = match error.details.first() {
            Some(detail) if error.code == error_codes::ECS_0005 => detail.message.clone(),
            _ => error.message,
        };
        NovaError::new(status, message)
    }
}

impl From<engine::SubmitError> for NovaError {
    fn from(error: engine::SubmitError) -> Self {
        NovaError::from(ApiError::from(error))
    }
}

impl From<engine::store::StoreError> for NovaError {
    fn from(error: engine::store::StoreError) -> Self {
        NovaError::from(ApiError::from(error))
    }
}

pub type NovaResult<T> = Result<T, NovaError>;

/// Parses a request body as JSON without asking for a content type (the SDK's actions come
/// with an empty `Accept` and sometimes no `Content-Type`).
pub fn json_body(bytes: &[u8]) -> NovaResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(NovaError::bad_request("The request body is empty."));
    }
    serde_json::from_slice(bytes)
        .map_err(|error| NovaError::bad_request(format!("Malformed request body: {error}")))
}

/// The region of a project, for the image catalogue and the AZs (the local default with
/// `--auth off`).
pub fn project_region(state: &AppState, project_id: &str) -> String {
    match &state.auth {
        crate::identity::auth::Auth::Verify(identity) => identity
            .accounts
            .project(project_id)
            .map(|project| project.region.clone())
            .unwrap_or_else(|| "eu-de".to_owned()),
        crate::identity::auth::Auth::Off => "eu-de".to_owned(),
    }
}

/// The base of the URLs ecsd puts in links and version documents: the token catalog's
/// (`--public-url`, else `http://` and the request's `Host`).
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let crate::identity::auth::Auth::Verify(identity) = &state.auth {
        if let Some(url) = &identity.public_url {
            return url.clone();
        }
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| crate::identity::tokens::is_host_and_port(host))
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

static OPENSTACK_API_VERSION: HeaderName = HeaderName::from_static("openstack-api-version");
static NOVA_API_VERSION: HeaderName = HeaderName::from_static("x-openstack-nova-api-version");

/// The microversion a request asks for: `OpenStack-API-Version: compute X` (first), else
/// `X-OpenStack-Nova-API-Version: X`, else 2.1. `latest` is the maximum. `Err` with 400 for a
/// malformed value, 406 outside [`MIN_MICROVERSION`]..=[`MAX_MICROVERSION`].
pub fn negotiate(headers: &HeaderMap) -> NovaResult<Microversion> {
    let from_generic = headers
        .get_all(&OPENSTACK_API_VERSION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|item| {
            let mut words = item.split_whitespace();
            match (words.next(), words.next()) {
                (Some(service), Some(version)) if service.eq_ignore_ascii_case("compute") => {
                    Some(version.to_owned())
                }
                _ => None,
            }
        });
    let requested = from_generic.or_else(|| {
        headers
            .get(&NOVA_API_VERSION)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.trim().to_owned())
    });
    let Some(requested) = requested else {
        return Ok(MIN_MICROVERSION);
    };
    if requested.eq_ignore_ascii_case("latest") {
        return Ok(MAX_MICROVERSION);
    }
    let parsed = requested
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)));
    let Some((major, minor)) = parsed else {
        return Err(NovaError::bad_request(format!(
            "Invalid API version request string {requested:?}: use \"2.N\" or \"latest\"."
        )));
    };
    let version = Microversion(minor);
    if major != 2 || version < MIN_MICROVERSION || version > MAX_MICROVERSION {
        return Err(NovaError::new(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "Version {requested} is not supported by the API. Minimum is {MIN_MICROVERSION} and maximum is {MAX_MICROVERSION}."
            ),
        ));
    }
    Ok(version)
}

/// The middleware of every compute route: negotiates the microversion (406 outside the range),
/// hands it to the handler, and answers with it echoed and Nova's request id headers.
pub async fn compute_layer(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&crate::X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(|id| format!("req-{id}"))
        .unwrap_or_default();
    let negotiated = negotiate(request.headers());
    let (mut response, version) = match negotiated {
        Ok(version) => {
            request.extensions_mut().insert(version);
            (next.run(request).await, version)
        }
        Err(refusal) => (refusal.into_response(), MIN_MICROVERSION),
    };
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("compute {version}")) {
        headers.insert(OPENSTACK_API_VERSION.clone(), value);
    }
    if let Ok(value) = HeaderValue::from_str(&version.to_string()) {
        headers.insert(NOVA_API_VERSION.clone(), value);
    }
    headers.insert(
        axum::http::header::VARY,
        HeaderValue::from_static("OpenStack-API-Version, X-OpenStack-Nova-API-Version"),
    );
    add_request_ids(headers, &request_id);
    response
}

/// `x-openstack-request-id` and `x-compute-request-id` (`req-` and the `X-Request-Id`), which
/// the OpenStack clients log and the instance actions list.
pub fn add_request_ids(headers: &mut HeaderMap, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-openstack-request-id", value.clone());
        headers.insert("x-compute-request-id", value);
    }
}

/// The Glance and Neutron routes' layer: only the request id headers (they have no
/// microversions).
pub async fn request_id_layer(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&crate::X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .map(|id| format!("req-{id}"))
        .unwrap_or_default();
    let mut response = next.run(request).await;
    add_request_ids(response.headers_mut(), &request_id);
    response
}

/// Adds `path` under both `/v2.1/{project_id}` and `/v2/{project_id}`.
fn both(router: Router<AppState>, path: &str, method: MethodRouter<AppState>) -> Router<AppState> {
    router
        .route(&format!("/v2.1/{{project_id}}{path}"), method.clone())
        .route(&format!("/v2/{{project_id}}{path}"), method)
}

/// The compute routes (authenticated by the caller's `route_layer`).
pub fn compute_routes() -> Router<AppState> {
    let mut router = Router::new();
    router = both(
        router,
        "/servers",
        get(servers::server_list).post(servers::server_create),
    );
    router = both(router, "/servers/detail", get(servers::server_list_detail));
    router = both(
        router,
        "/servers/{server_id}",
        get(servers::server_show)
            .put(servers::server_update)
            .delete(servers::server_delete),
    );
    router = both(
        router,
        "/servers/{server_id}/action",
        post(actions::server_action),
    );
    router = both(router, "/flavors", get(flavors::flavor_list));
    router = both(router, "/flavors/detail", get(flavors::flavor_list_detail));
    router = both(router, "/flavors/{flavor_id}", get(flavors::flavor_show));
    router = both(
        router,
        "/flavors/{flavor_id}/os-extra_specs",
        get(flavors::extra_specs_list),
    );
    router = both(
        router,
        "/flavors/{flavor_id}/os-extra_specs/{key}",
        get(flavors::extra_spec_show),
    );
    router = both(
        router,
        "/servers/{server_id}/metadata",
        get(misc::metadata_list)
            .post(misc::metadata_update)
            .put(misc::metadata_replace),
    );
    router = both(
        router,
        "/servers/{server_id}/metadata/{key}",
        get(misc::metadata_show)
            .put(misc::metadata_put_key)
            .delete(misc::metadata_delete_key),
    );
    router = both(
        router,
        "/os-availability-zone",
        get(misc::availability_zones),
    );
    router = both(
        router,
        "/os-availability-zone/detail",
        get(misc::availability_zones_detail),
    );
    router = both(router, "/limits", get(misc::limits));
    router = both(router, "/servers/{server_id}/ips", get(misc::server_ips));
    router = both(
        router,
        "/servers/{server_id}/ips/{network_name}",
        get(misc::server_ips_of_network),
    );
    router = both(
        router,
        "/servers/{server_id}/os-security-groups",
        get(misc::server_security_groups),
    );
    router = both(
        router,
        "/servers/{server_id}/os-interface",
        get(misc::server_interfaces).post(attachments::interface_attach),
    );
    router = both(
        router,
        "/servers/{server_id}/os-interface/{port_id}",
        get(attachments::interface_show).delete(attachments::interface_detach),
    );
    router = both(
        router,
        "/servers/{server_id}/os-volume_attachments",
        get(misc::volume_attachments).post(attachments::volume_attach),
    );
    router = both(
        router,
        "/servers/{server_id}/os-volume_attachments/{volume_id}",
        get(attachments::volume_show).delete(attachments::volume_detach),
    );
    router = both(router, "/os-networks", get(misc::os_networks));
    router = router.route(
        "/v2.1/{project_id}/servers/{server_id}/tags",
        get(misc::tags_list)
            .put(misc::tags_replace)
            .delete(misc::tags_delete_all),
    );
    router = router.route(
        "/v2.1/{project_id}/servers/{server_id}/tags/{tag}",
        get(misc::tag_check)
            .put(misc::tag_add)
            .delete(misc::tag_delete),
    );
    router = router.route(
        "/v2.1/{project_id}/servers/{server_id}/remote-consoles",
        post(misc::remote_console),
    );
    router = both(
        router,
        "/servers/{server_id}/os-server-password",
        get(misc::password_show).delete(misc::password_delete),
    );
    router = both(
        router,
        "/os-keypairs",
        get(keypairs::keypair_list).post(keypairs::keypair_create),
    );
    router = both(
        router,
        "/os-keypairs/{keypair_name}",
        get(keypairs::keypair_show).delete(keypairs::keypair_delete),
    );
    router = both(
        router,
        "/servers/{server_id}/os-instance-actions",
        get(instance_actions::action_list),
    );
    router = both(
        router,
        "/servers/{server_id}/os-instance-actions/{request_id}",
        get(instance_actions::action_show),
    );
    router = both(
        router,
        "/os-server-groups",
        get(groups::group_list).post(groups::group_create),
    );
    router = both(
        router,
        "/os-server-groups/{server_group_id}",
        get(groups::group_show).delete(groups::group_delete),
    );
    router = both(
        router,
        "/os-quota-sets/{target_project_id}",
        get(quotas::quota_show),
    );
    router = both(
        router,
        "/os-quota-sets/{target_project_id}/defaults",
        get(quotas::quota_defaults),
    );
    router
}

/// The Glance v2 and Neutron v2.0 reads (authenticated by the caller's `route_layer`).
pub fn image_and_network_routes() -> Router<AppState> {
    Router::new()
        .route("/image/v2/images", get(images::image_list))
        .route("/image/v2/images/{image_id}", get(images::image_show))
        .route("/network/v2.0/networks", get(networks::network_list))
        .route(
            "/network/v2.0/networks/{network_id}",
            get(networks::network_show),
        )
        .route("/network/v2.0/subnets", get(networks::subnet_list))
        .route(
            "/network/v2.0/subnets/{subnet_id}",
            get(networks::subnet_show),
        )
        .route("/network/v2.0/ports", get(networks::port_list))
}

/// The discovery documents, served without a token (a 401 there deadlocks keystoneauth).
pub fn discovery_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(versions::compute_versions))
        // `/v2.1`, `/v2`, `/v3`, `/image` ("Querying a Specified API Version"); another
        // segment is the router's 404.
        .route("/{api_version}", get(versions::version_document))
        .route("/v2.1/", get(versions::compute_v21))
        .route("/v2/", get(versions::compute_v2))
        .route("/v3/", get(versions::identity_v3))
        .route("/image/", get(versions::image_versions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        map
    }

    #[test]
    fn the_generic_header_wins_and_names_only_compute() {
        let both = headers(&[
            ("openstack-api-version", "volume 3.5, compute 2.30"),
            ("x-openstack-nova-api-version", "2.40"),
        ]);
        assert_eq!(negotiate(&both), Ok(Microversion(30)));
        let other_service = headers(&[("openstack-api-version", "volume 3.5")]);
        assert_eq!(negotiate(&other_service), Ok(MIN_MICROVERSION));
        let legacy = headers(&[("x-openstack-nova-api-version", "2.47")]);
        assert_eq!(negotiate(&legacy), Ok(Microversion(47)));
        assert_eq!(negotiate(&HeaderMap::new()), Ok(MIN_MICROVERSION));
    }

    #[test]
    fn versions_outside_the_range_are_406_and_malformed_ones_400() {
        for (value, status) in [
            ("2.61", StatusCode::NOT_ACCEPTABLE),
            ("2.0", StatusCode::NOT_ACCEPTABLE),
            ("3.1", StatusCode::NOT_ACCEPTABLE),
            ("2", StatusCode::BAD_REQUEST),
            ("2.x", StatusCode::BAD_REQUEST),
        ] {
            let refused = negotiate(&headers(&[("x-openstack-nova-api-version", value)]));
            assert_eq!(
                refused.map_err(|error| error.status),
                Err(status),
                "{value}"
            );
        }
        assert_eq!(
            negotiate(&headers(&[("openstack-api-version", "compute latest")])),
            Ok(MAX_MICROVERSION)
        );
    }

    #[test]
    fn errors_are_named_as_nova_names_them() {
        for (status, name) in [
            (StatusCode::BAD_REQUEST, "badRequest"),
            (StatusCode::NOT_FOUND, "itemNotFound"),
            (StatusCode::CONFLICT, "conflictingRequest"),
            (StatusCode::FORBIDDEN, "forbidden"),
            (StatusCode::NOT_IMPLEMENTED, "notImplemented"),
            (StatusCode::INTERNAL_SERVER_ERROR, "computeFault"),
        ] {
            assert_eq!(NovaError::new(status, "x").name(), name);
        }
        // An ECS state refusal (Ecs.0100) is Nova's 409; its 500s keep their cause out.
        let busy = NovaError::from(ApiError::new(error_codes::ECS_0100, "busy"));
        assert_eq!(busy.status, StatusCode::CONFLICT);
        let internal = NovaError::from(ApiError::internal("secret cause"));
        assert!(!internal.message.contains("secret cause"));
    }
}
