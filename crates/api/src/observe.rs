//! What ecsd tells the people watching it: one log line per request and per accepted job, and
//! the Prometheus metrics served at `/metrics`.
//!
//! Requests, accepted jobs and refusals are counted at the HTTP layer, from what the handlers
//! and the authentication middleware note on the request and response (extensions). What only
//! the engine and the store know (task and job ends, the writer's commits) reaches [`Metrics`]
//! through the engine's hook, [`engine::stats::Observer`], which it implements; the engine and
//! the store stay free of Prometheus. The unfinished jobs and the writer's queue are read at
//! each scrape.
//!
//! The same place fills the request log ([`crate::admin::requests`]), the ring that
//! `GET /_ecsd/requests` reads.
//!
//! Nothing logged or labelled here may carry a secret: the access key is logged (it names the
//! caller, like a user name), never a secret key, token, signature, password or request body.

use crate::admin::requests::{RequestEntry, RequestLog};
use crate::body::BodyNotes;
use crate::error_codes;
use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use engine::clock::Clock;
use engine::job::JobKind;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The `route` label and log field of a request that matched no route: the raw path would
/// make one time series per mistyped URL.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// The error code of an answer, noted on the response by `ApiError::into_response`.
#[derive(Debug, Clone, Copy)]
pub struct ErrorCodeNote(pub &'static str);

/// A job the answer accepted, noted on the response by the handler that submitted it.
#[derive(Debug, Clone)]
pub struct JobNote {
    pub job_id: String,
    pub job_type: &'static str,
}

/// Notes `job_id` (of kind `kind`) on `response`, for the request's log line, the job's
/// "accepted" line and the jobs-accepted counter.
pub fn with_job(mut response: Response, job_id: &str, kind: JobKind) -> Response {
    response.extensions_mut().insert(JobNote {
        job_id: job_id.to_owned(),
        job_type: kind.job_type(),
    });
    response
}

/// The same note as a response part, for handlers that answer a tuple:
/// `(StatusCode::ACCEPTED, job_note(&job_id, kind), Json(body))`.
pub fn job_note(job_id: &str, kind: JobKind) -> axum::Extension<JobNote> {
    axum::Extension(JobNote {
        job_id: job_id.to_owned(),
        job_type: kind.job_type(),
    })
}

/// The access key a request presented or its token belongs to, filled in by authentication;
/// the request's log line reads it after the answer. A slot on the request, because the
/// authentication middleware sees the request and the log line is written from the response.
#[derive(Debug, Clone, Default)]
pub struct CallerNote(Arc<OnceLock<String>>);

impl CallerNote {
    /// Records the access key; the first one recorded stays.
    pub fn set(&self, access_key: &str) {
        let _ = self.0.set(access_key.to_owned());
    }

    pub fn get(&self) -> Option<&str> {
        self.0.get().map(String::as_str)
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job_type: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    job_type: &'static str,
    status: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    reason: &'static str,
    code: &'static str,
}

/// Why an authenticated route or the token route refused a caller (the `reason` label of
/// `ecsd_auth_refusals_total`). A fixed set, so the label cannot grow without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    /// Neither a token nor a signature.
    NoCredentials,
    /// An `X-Auth-Token` that is not valid (forged, expired, from another ecsd).
    Token,
    /// A signed request refused: malformed, unknown key, wrong signature, stale date.
    Signature,
    /// Valid credentials, but for another project than the path's or `X-Project-Id`'s.
    Project,
    /// Too many requests for the access key.
    Throttled,
    /// `POST /v3/auth/tokens` refused: unknown user or domain, or a wrong password.
    Password,
    /// `POST /v3/auth/tokens` refused for too many attempts.
    LoginThrottled,
    /// Anything else the authentication step answered (e.g. a body over the size limit).
    Other,
}

impl RefusalReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::NoCredentials => "no_credentials",
            RefusalReason::Token => "token",
            RefusalReason::Signature => "signature",
            RefusalReason::Project => "project",
            RefusalReason::Throttled => "throttled",
            RefusalReason::Password => "password",
            RefusalReason::LoginThrottled => "login_throttled",
            RefusalReason::Other => "other",
        }
    }
}

/// The metrics registry and its families. One per [`AppState`]; `/metrics` encodes it.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    jobs_accepted: Family<JobLabels, Counter>,
    auth_refusals: Family<RefusalLabels, Counter>,
    unfinished_jobs: Gauge,
    faults_fired: Family<EffectLabels, Counter>,
    jobs_finished: Family<OutcomeLabels, Counter>,
    job_seconds: Family<OutcomeLabels, Histogram>,
    subjob_seconds: Family<OutcomeLabels, Histogram>,
    writer_queue: Gauge,
    commit_batch: Histogram,
    commit_seconds: Histogram,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EffectLabels {
    effect: &'static str,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Request duration buckets, in seconds: from a cached job query (well under a millisecond)
/// to the slowest read the query deadline lets through.
const DURATION_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// Job and sub-job durations, in seconds of the engine's clock: from the `instant` profile's
/// zero through `fast` (about a second) to `realistic` creates and resizes (minutes).
const JOB_BUCKETS: [f64; 13] = [
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0,
];

/// Commands per group commit: powers of two up to the writer's group limit (512).
const BATCH_BUCKETS: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// A group commit's wall-clock time, in seconds: an fsync on a fast disk (tens of
/// microseconds) to a slow, busy one.
const COMMIT_BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("ecsd");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        let request_seconds =
            Family::<RouteLabels, Histogram>::new_with_constructor(|| -> Histogram {
                Histogram::new(DURATION_BUCKETS)
            });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request (until the response head), by route template and method",
            request_seconds.clone(),
        );
        let jobs_accepted = Family::<JobLabels, Counter>::default();
        registry.register(
            "jobs_accepted",
            "Jobs accepted (answered with a job_id), by job_type",
            jobs_accepted.clone(),
        );
        let auth_refusals = Family::<RefusalLabels, Counter>::default();
        registry.register(
            "auth_refusals",
            "Requests refused by authentication or token issuance, by reason and error code",
            auth_refusals.clone(),
        );
        let unfinished_jobs = Gauge::default();
        registry.register(
            "jobs_unfinished",
            "Jobs not yet finished (all projects), read from the store at each scrape",
            unfinished_jobs.clone(),
        );
        let faults_fired = Family::<EffectLabels, Counter>::default();
        registry.register(
            "faults_fired",
            "Fault rules that fired (admin API /_ecsd/faults, [[faults]]), by effect",
            faults_fired.clone(),
        );
        let jobs_finished = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "jobs_finished",
            "Jobs finished (their last sub-job's end written), by job_type and status (SUCCESS or FAIL)",
            jobs_finished.clone(),
        );
        let job_seconds =
            Family::<OutcomeLabels, Histogram>::new_with_constructor(|| -> Histogram {
                Histogram::new(JOB_BUCKETS)
            });
        registry.register(
            "job_duration_seconds",
            "Finished jobs' time from acceptance to their last end (engine clock), by job_type and status",
            job_seconds.clone(),
        );
        let subjob_seconds =
            Family::<OutcomeLabels, Histogram>::new_with_constructor(|| -> Histogram {
                Histogram::new(JOB_BUCKETS)
            });
        registry.register(
            "subjob_duration_seconds",
            "Finished sub-jobs' (tasks') time from their job's acceptance to their end (engine clock), by their job's job_type and their status",
            subjob_seconds.clone(),
        );
        let writer_queue = Gauge::default();
        registry.register(
            "store_writer_queue_depth",
            "Writes sent to the store's writer and not yet answered (queued or committing), read at each scrape",
            writer_queue.clone(),
        );
        let commit_batch = Histogram::new(BATCH_BUCKETS);
        registry.register(
            "store_commit_batch_size",
            "Writes per group commit of the store's writer (one transaction, one fsync)",
            commit_batch.clone(),
        );
        let commit_seconds = Histogram::new(COMMIT_BUCKETS);
        registry.register(
            "store_commit_duration_seconds",
            "Wall-clock time of each group commit, from its begin to its commit",
            commit_seconds.clone(),
        );
        Self {
            registry,
            requests,
            request_seconds,
            jobs_accepted,
            auth_refusals,
            unfinished_jobs,
            faults_fired,
            jobs_finished,
            job_seconds,
            subjob_seconds,
            writer_queue,
            commit_batch,
            commit_seconds,
        }
    }

    /// Counts one fault rule firing.
    pub fn fault_fired(&self, effect: engine::faults::Effect) {
        self.faults_fired
            .get_or_create(&EffectLabels {
                effect: effect.as_str(),
            })
            .inc();
    }

    /// Counts one refusal.
    pub fn auth_refused(&self, reason: RefusalReason, code: &'static str) {
        self.auth_refusals
            .get_or_create(&RefusalLabels {
                reason: reason.as_str(),
                code,
            })
            .inc();
    }

    fn request(&self, method: &'static str, route: &str, status: StatusCode, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status: status.as_u16().to_string(),
            })
            .inc();
        self.request_seconds
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(seconds);
    }

    /// The registry in the text exposition format (OpenMetrics 1.0, which Prometheus reads).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Milliseconds of the engine's clock as seconds; a negative span (a clock set back between
/// acceptance and end) counts as zero.
fn seconds(duration_ms: i64) -> f64 {
    duration_ms.max(0) as f64 / 1000.0
}

impl engine::stats::Observer for Metrics {
    fn task_finished(&self, kind: JobKind, status: engine::job::JobStatus, duration_ms: i64) {
        self.subjob_seconds
            .get_or_create(&OutcomeLabels {
                job_type: kind.job_type(),
                status: status.as_str(),
            })
            .observe(seconds(duration_ms));
    }

    fn job_finished(&self, kind: JobKind, status: engine::job::JobStatus, duration_ms: i64) {
        let labels = OutcomeLabels {
            job_type: kind.job_type(),
            status: status.as_str(),
        };
        self.jobs_finished.get_or_create(&labels).inc();
        self.job_seconds
            .get_or_create(&labels)
            .observe(seconds(duration_ms));
    }

    fn writer_committed(&self, commands: usize, elapsed: std::time::Duration) {
        self.commit_batch.observe(commands as f64);
        self.commit_seconds.observe(elapsed.as_secs_f64());
    }
}

/// A method as a label: the standard ones by name, anything else as `other` (a client can send
/// any token as a method, and each would be a new time series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// What [`access_log`] writes to: the metrics, the request log and the clock that stamps its
/// entries, and whether bodies are parsed strictly (`--strict-bodies`, [`BodyNotes`]).
#[derive(Debug, Clone)]
pub struct Watch {
    pub metrics: Arc<Metrics>,
    pub requests: Arc<RequestLog>,
    /// The engine's clock, so entries follow it when it is not the wall clock.
    pub clock: Arc<dyn Clock>,
    pub strict_bodies: bool,
}

impl Default for Watch {
    fn default() -> Self {
        Self {
            metrics: Arc::default(),
            requests: Arc::default(),
            clock: Arc::new(engine::clock::SystemClock),
            strict_bodies: false,
        }
    }
}

/// The request's log line, metrics and request log entry: runs inside the request id layer
/// (so the id is set) and inside the router (so the matched route template is known).
/// `inner` is the rest of the request's way (see [`crate::front_door`]).
pub async fn access_log<F, Fut>(watch: &Watch, request: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let metrics = &watch.metrics;
    let started = Instant::now();
    let arrived = watch.clock.now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let path = request.uri().path().to_owned();
    // The raw path only when no route matched: it is what the client got wrong. The query is
    // never logged.
    let unmatched_path = route.is_none().then(|| path.clone());
    let request_id = request
        .headers()
        .get(&crate::X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let caller = CallerNote::default();
    let mut request = request;
    request.extensions_mut().insert(caller.clone());

    let notes = Arc::new(BodyNotes::new(watch.strict_bodies));
    let response = crate::body::with_body_notes(notes.clone(), inner(request)).await;

    let elapsed = started.elapsed();
    let status = response.status();
    let matched = route;
    let route = matched.as_deref().unwrap_or(UNMATCHED_ROUTE);
    let code = response
        .extensions()
        .get::<ErrorCodeNote>()
        .map(|note| note.0);
    let job = response.extensions().get::<JobNote>();
    metrics.request(method, route, status, elapsed.as_secs_f64());
    if route == crate::routes::TOKENS_PATH {
        if let Some(code) = code {
            match status {
                StatusCode::UNAUTHORIZED => metrics.auth_refused(RefusalReason::Password, code),
                StatusCode::TOO_MANY_REQUESTS => {
                    metrics.auth_refused(RefusalReason::LoginThrottled, code)
                }
                _ => {}
            }
        }
    }

    tracing::info!(
        target: "ecsd::request",
        method = display(method),
        route = display(route),
        path = unmatched_path.as_deref().map(display),
        status = status.as_u16(),
        code = code.map(display),
        duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        request_id = display(&request_id),
        access_key = caller.get().map(display),
        job_id = job.map(|job| display(&job.job_id)),
        "request"
    );
    // With the log off (size 0) nothing is built: the entry's strings are the cost.
    if watch.requests.capacity() > 0 && !crate::admin::requests::is_admin_path(&path) {
        watch.requests.record(RequestEntry {
            seq: 0,
            time: arrived,
            method: method.to_owned(),
            project_id: matched
                .as_deref()
                .and_then(|template| crate::admin::requests::project_of(template, &path)),
            operation: matched
                .as_deref()
                .and_then(|template| crate::admin::requests::operation_of(method, template)),
            path,
            route: matched.clone(),
            status: status.as_u16(),
            code,
            duration_ms: elapsed.as_micros() as f64 / 1000.0,
            request_id: request_id.clone(),
            job_id: job.map(|job| job.job_id.clone()),
            access_key: caller.get().map(str::to_owned),
            ignored_fields: notes.ignored_fields(),
        });
    }
    if let Some(job) = job {
        metrics
            .jobs_accepted
            .get_or_create(&JobLabels {
                job_type: job.job_type,
            })
            .inc();
        tracing::info!(
            target: "ecsd::job",
            job_id = display(&job.job_id),
            job_type = display(job.job_type),
            request_id = display(&request_id),
            access_key = caller.get().map(display),
            "job accepted"
        );
    }
    response
}

/// `GET /metrics`: the registry, after reading the gauges that are sampled at scrape time.
/// Behind the admin credential ([`crate::admin::access`]; loopback callers without one), not
/// tenant credentials (README, "Watching ecsd").
pub async fn metrics_view(State(state): State<AppState>) -> Response {
    match state.engine.unfinished_jobs().await {
        Ok(unfinished) => {
            state
                .metrics
                .unfinished_jobs
                .set(i64::try_from(unfinished).unwrap_or(i64::MAX));
        }
        // A scrape still answers: the gauge keeps its last value, and the failure is logged.
        Err(error) => tracing::warn!(%error, "cannot count unfinished jobs for /metrics"),
    }
    if let Some(depth) = state.engine.writer_queue_depth() {
        state
            .metrics
            .writer_queue
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }
    match state.metrics.encode() {
        Ok(text) => {
            let mut response = text.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(_) => {
            crate::error::ApiError::internal("the metrics could not be encoded").into_response()
        }
    }
}

/// The refusal reason of an answer of the authentication step, from the credential the
/// request carried (`"token"`, `"signature"` or none) and the answer's code.
pub fn refusal_reason(credential: Option<&str>, code: &str) -> RefusalReason {
    if code == error_codes::APIGW_0308.code {
        return RefusalReason::Throttled;
    }
    if code == error_codes::COMMON_0018.code {
        return RefusalReason::Project;
    }
    match credential {
        None => RefusalReason::NoCredentials,
        Some(_) if !code.starts_with("APIGW.") => RefusalReason::Other,
        Some("token") => RefusalReason::Token,
        Some(_) => RefusalReason::Signature,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").expect("a method token");
        assert_eq!(method_label(&odd), "other");
    }

    #[test]
    fn refusal_reasons_follow_the_credential_and_the_code() {
        assert_eq!(
            refusal_reason(None, error_codes::APIGW_0301.code),
            RefusalReason::NoCredentials
        );
        assert_eq!(
            refusal_reason(Some("token"), error_codes::APIGW_0301.code),
            RefusalReason::Token
        );
        assert_eq!(
            refusal_reason(Some("signature"), error_codes::APIGW_0301.code),
            RefusalReason::Signature
        );
        assert_eq!(
            refusal_reason(Some("signature"), error_codes::APIGW_0308.code),
            RefusalReason::Throttled
        );
        assert_eq!(
            refusal_reason(Some("token"), error_codes::COMMON_0018.code),
            RefusalReason::Project
        );
    }
}
