//! The ECS HTTP surface of ecsd: routes, wire types and the error envelope.
//!
//! [`router`] builds the whole API over an [`AppState`]. Handlers parse and validate, call the
//! engine, and convert; every failure is an [`error::ApiError`] rendered as
//! `{"error": {"message", "code", "details"}}`, including unknown routes, wrong methods, bad
//! paths and panics. Every response carries an `X-Request-Id`.

pub mod admin;
pub mod body;
pub mod documented_fields;
pub mod ecs;
pub mod error;
pub mod error_codes;
pub mod faults;
pub mod front_door;
pub mod identity;
pub mod nova;
pub mod observe;
pub mod openapi;
pub mod routes;
pub mod time_format;

use ecs::jobs;
use identity::{auth, tokens};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderName;
use axum::routing::{get, post};
use axum::Router;
use engine::regions::{Region, Regions};
use engine::Engine;
use error::ApiError;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// The default limit on request bodies: far above the largest valid request (a create with
/// 59 data disks and 32 KiB of user data), far below what could hurt the server.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a request's body may take to arrive after its headers (`--body-read-timeout`): a
/// 1 MiB body at 35 KB/s still makes it.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a whole request may take, body and handler included (`--request-timeout`): twice
/// the body-read timeout, so a slow body gets its 408 before this.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// How many finished job views are kept in memory (about 1 KiB each).
pub const FINISHED_JOB_CACHE_ENTRIES: usize = 16 * 1024;

/// What every handler and middleware shares. One `Arc`: axum clones the state for every
/// extractor and layer of every request, and one reference count is cheaper than one per
/// field (the job query's profile showed the per-field clones and drops). Fields are read
/// through `Deref`; the `with_*` builders change them before the router is built.
#[derive(Debug, Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// The fields of [`AppState`].
#[derive(Debug, Clone)]
pub struct SharedState {
    pub engine: Arc<Engine>,
    /// Every region's zones and flavors; a project's region picks one ([`AppState::region`]).
    pub regions: Arc<Regions>,
    pub max_body_bytes: usize,
    pub finished_jobs: Arc<jobs::FinishedJobCache>,
    pub auth: auth::Auth,
    /// The public images the Glance reads show (`--images`).
    pub images: Arc<nova::images::ImageCatalogue>,
    /// What `/metrics` shows; counted by [`observe::access_log`] and the auth middleware.
    pub metrics: Arc<observe::Metrics>,
    pub deadlines: Deadlines,
    /// Who may use the admin API (`--admin-token`).
    pub admin: admin::access::AdminAccess,
    /// The last requests answered (`--request-log-size`), for `GET /_ecsd/requests`.
    pub requests: Arc<admin::requests::RequestLog>,
    /// `--strict-bodies`: body fields ecsd does not model are refused, not only noted.
    pub strict_bodies: bool,
    /// The fault rules (`/_ecsd/faults`): the engine's registry, shared
    /// ([`engine::Engine::rules`]).
    pub faults: Arc<engine::faults::FaultRules>,
}

/// How long a request may take to arrive and to be answered; see [`deadlines`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// From the request's headers to the last byte of its body.
    pub body_read: Duration,
    /// From the request's headers to its answer.
    pub request: Duration,
}

impl Default for Deadlines {
    fn default() -> Self {
        Self {
            body_read: DEFAULT_BODY_READ_TIMEOUT,
            request: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

impl AppState {
    pub fn new(
        engine: Arc<Engine>,
        regions: Regions,
        max_body_bytes: usize,
        auth: auth::Auth,
    ) -> Self {
        let metrics = Arc::new(observe::Metrics::new());
        // Task and job ends and the store's commits reach the registry through the engine's
        // hook (the engine has no metrics dependency).
        engine.observe(metrics.clone());
        Self(Arc::new(SharedState {
            faults: engine.rules().clone(),
            engine,
            regions: Arc::new(regions),
            max_body_bytes,
            finished_jobs: Arc::new(jobs::FinishedJobCache::new(FINISHED_JOB_CACHE_ENTRIES)),
            auth,
            images: Arc::new(nova::images::ImageCatalogue::builtin()),
            deadlines: Deadlines::default(),
            metrics,
            admin: admin::access::AdminAccess::default(),
            requests: Arc::default(),
            strict_bodies: false,
        }))
    }

    /// The fields, to change while building (copied if the state is already shared).
    fn fields_mut(&mut self) -> &mut SharedState {
        Arc::make_mut(&mut self.0)
    }

    /// Sets the admin credential ([`admin::access`]).
    pub fn with_admin(mut self, admin: admin::access::AdminAccess) -> Self {
        self.fields_mut().admin = admin;
        self
    }

    /// Bounds the request log to `size` entries (0: none kept).
    pub fn with_request_log_size(mut self, size: usize) -> Self {
        self.fields_mut().requests = Arc::new(admin::requests::RequestLog::new(size));
        self
    }

    /// Refuses body fields ecsd does not model (`--strict-bodies`) instead of noting them.
    pub fn with_strict_bodies(mut self, strict: bool) -> Self {
        self.fields_mut().strict_bodies = strict;
        self
    }

    /// Replaces the built-in public image catalogue (`--images FILE`).
    pub fn with_images(mut self, images: nova::images::ImageCatalogue) -> Self {
        self.fields_mut().images = Arc::new(images);
        self
    }

    /// The region of the project in the path (its `region` in the accounts), which chooses its
    /// flavors and availability zones. With `--auth off` (no accounts) it is the default region,
    /// `eu-de`; so is a region ecsd does not know, which `ecsd serve` refuses at start.
    pub fn region(&self, project_id: &str) -> Arc<Region> {
        match &self.auth {
            auth::Auth::Verify(identity) => match identity.accounts.project(project_id) {
                Some(project) => self.regions.region_or_default(&project.region),
                None => self.regions.default_region(),
            },
            auth::Auth::Off => self.regions.default_region(),
        }
    }

    /// Replaces the default body-read timeout ([`DEFAULT_BODY_READ_TIMEOUT`]).
    pub fn with_body_read_timeout(mut self, timeout: Duration) -> Self {
        self.fields_mut().deadlines.body_read = timeout;
        self
    }

    /// Replaces the default request timeout ([`DEFAULT_REQUEST_TIMEOUT`]).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.fields_mut().deadlines.request = timeout;
        self
    }

    /// The quotas of the project in the path, as the engine checks them ([`Engine::quotas`]:
    /// its quota source, [`ecs::server_groups::AccountQuotas`] under `ecsd serve`), so what the
    /// limits pages show is what the checks apply.
    pub fn quotas(&self, project_id: &str) -> engine::quota::Quotas {
        self.engine.quotas(project_id)
    }
}

/// The whole API: the ECS and Nova routes (and the Glance and Neutron reads) behind
/// [`front_door::tenant_gate`], the IAM token route, and the discovery documents, which need no
/// token.
pub fn router(state: AppState) -> Router {
    // One layer per group of routes: see `front_door` for why.
    let gate = || axum::middleware::from_fn_with_state(state.clone(), front_door::tenant_gate);
    let ecs = ecs::routes().route_layer(gate());
    // The Nova compute routes: behind the gate like the ECS routes, then (outermost) the
    // microversion negotiation and Nova's request id headers.
    let compute = nova::compute_routes()
        .route_layer(gate())
        .layer(axum::middleware::from_fn(nova::compute_layer));
    let images_and_networks = nova::image_and_network_routes()
        .route_layer(gate())
        .layer(axum::middleware::from_fn(nova::request_id_layer));
    let front = front_door::Front {
        watch: observe::Watch {
            metrics: state.metrics.clone(),
            requests: state.requests.clone(),
            clock: state.engine.clock(),
            strict_bodies: state.strict_bodies,
        },
        engine: Some(state.engine.clone()),
        deadlines: Some(state.deadlines),
    };
    // ecsd's own routes: no tenant credentials. The OpenAPI document is open (generators read
    // it); the rest is the admin API, behind the admin credential.
    let ecsd = Router::new()
        .route(routes::OPENAPI_PATH, get(openapi::openapi_view))
        .merge(admin::routes(&state));
    let routes = Router::new()
        .route(routes::TOKENS_PATH, post(tokens::issue_token))
        .merge(nova::discovery_routes())
        .merge(ecs)
        .merge(compute)
        .merge(images_and_networks)
        .merge(ecsd)
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    with_front_door(routes, front)
}

/// `routes` behind [`front_door::front_door`]: a request id, the request's log line and
/// metrics, a trace span, a panic catcher that answers 500 in the envelope, the header size
/// limit and the deadlines.
fn with_front_door(routes: Router, front: front_door::Front) -> Router {
    routes.layer(axum::middleware::from_fn_with_state(
        front,
        front_door::front_door,
    ))
}

/// No API matches: answered as the API gateway answers (404 `APIGW.0101`, its flat shape).
async fn route_not_found(request: Request) -> ApiError {
    ApiError::new(
        error_codes::APIGW_0101,
        format!(
            "The API does not exist or has not been published in the environment: no API matches {} {}.",
            request.method(),
            request.uri().path()
        ),
    )
}

/// The path exists with other methods. The gateway publishes an API per method and path, so
/// this is its 404 too; the message says the path exists.
async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        error_codes::APIGW_0101,
        format!(
            "The API does not exist or has not been published in the environment: {} {} exists with another method.",
            request.method(),
            request.uri().path()
        ),
    )
}

/// `axum::extract::Path`, but a path that does not decode is an [`ApiError`], not plain text.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| ApiError::invalid_field("path", rejection.body_text()))
    }
}

/// The project id from the path, checked for shape. Whether the caller may use it was checked
/// before the handler ran ([`auth::authenticate`]); jobs and servers are stored per project, so
/// another project's ids are simply not found.
pub fn project_from_path(project_id: &str) -> Result<&str, ApiError> {
    let well_formed = (1..=64).contains(&project_id.len())
        && project_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if well_formed {
        Ok(project_id)
    } else {
        Err(ApiError::invalid_field(
            "project_id",
            format!(
                "{project_id:?} is not a valid project ID (1 to 64 letters, digits, '-' or '_')"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::Response;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("secret internal detail")
    }

    /// A body whose bytes never come: a client that sent its headers and stopped.
    struct NeverArrives;

    impl axum::body::HttpBody for NeverArrives {
        type Data = axum::body::Bytes;
        type Error = axum::Error;

        fn poll_frame(
            self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
            std::task::Poll::Pending
        }
    }

    async fn never_answers() -> &'static str {
        std::future::pending().await
    }

    async fn echo(body: axum::body::Body) -> Result<Vec<u8>, ApiError> {
        Ok(body::read_limited(body, 1024).await?.to_vec())
    }

    /// `routes` behind the front door with `deadlines`, as [`router`] puts them.
    fn with_deadlines(routes: Router, deadlines: Deadlines) -> Router {
        with_front_door(
            routes,
            front_door::Front {
                watch: observe::Watch::default(),
                engine: None,
                deadlines: Some(deadlines),
            },
        )
    }

    /// Runs `request` through `app`, bounded: should the deadline under test be missing, the
    /// paused clock jumps to this bound and the test fails instead of hanging.
    async fn send_bounded(app: Router, request: Request) -> Response {
        tokio::time::timeout(Duration::from_secs(24 * 3600), app.oneshot(request))
            .await
            .expect("answered before the test's bound")
            .expect("infallible")
    }

    async fn envelope_code(response: Response) -> String {
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    // Paused time: the runtime jumps to the next timer once nothing else can run, so the
    // deadlines pass at once, independently of the wall clock.
    #[tokio::test(start_paused = true)]
    async fn a_request_not_answered_in_time_is_503_in_the_envelope() {
        let deadlines = Deadlines {
            body_read: Duration::from_secs(30),
            request: Duration::from_secs(60),
        };
        let routes = Router::new().route("/slow", get(never_answers));
        let response = send_bounded(
            with_deadlines(routes, deadlines),
            Request::builder()
                .uri("/slow")
                .body(Body::empty())
                .expect("request"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().get(&X_REQUEST_ID).is_some());
        assert_eq!(envelope_code(response).await, "Ecsd.0503");
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_never_arrives_is_408_and_closes_the_connection() {
        let deadlines = Deadlines {
            body_read: Duration::from_secs(30),
            request: Duration::from_secs(60),
        };
        let routes = Router::new().route("/echo", post(echo));
        // Headers came, the body does not.
        let body = Body::new(NeverArrives);
        let response = send_bounded(
            with_deadlines(routes.clone(), deadlines),
            Request::builder()
                .method("POST")
                .uri("/echo")
                .body(body)
                .expect("request"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(
            response.headers().get(header::CONNECTION),
            Some(&HeaderValue::from_static("close"))
        );
        assert_eq!(envelope_code(response).await, "Ecsd.0408");

        // A body that is there is read as before.
        let response = send_bounded(
            with_deadlines(routes, deadlines),
            Request::builder()
                .method("POST")
                .uri("/echo")
                .body(Body::from("{}"))
                .expect("request"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_500_in_the_envelope_without_internals() {
        let routes = Router::new().route("/boom", get(boom));
        let front = front_door::Front {
            watch: observe::Watch::default(),
            engine: None,
            deadlines: None,
        };
        let response = with_front_door(routes, front)
            .oneshot(
                Request::builder()
                    .uri("/boom")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(
            response.status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert!(response.headers().get(&X_REQUEST_ID).is_some());
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(body["error"]["code"], "Common.0001");
        assert!(!body.to_string().contains("secret internal detail"));
    }
}
