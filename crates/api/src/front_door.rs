//! The two middlewares every request passes: the front door (all routes) and the tenant gate
//! (the ECS and Nova routes).
//!
//! Each is one `from_fn` layer doing several jobs in a fixed order, rather than one layer per
//! job, because of what a layer costs in axum: `Router::layer` wraps every route on its own,
//! and a `from_fn` layer clones the boxed service inside it on every request, which clones
//! every layer below it in turn. With eight layers that was dozens of allocations per request
//! (the job query's profile: service clones and boxed futures were about a tenth of its CPU).
//!
//! The front door, outermost first: the request id ([`X_REQUEST_ID`]), the access log and
//! metrics ([`observe::access_log`]), the `request` trace span, the panic catcher (500 in the
//! envelope, the panic message is not sent), the header size limit
//! ([`auth::headers_too_large`]), and the deadlines ([`Deadlines`]).
//!
//! The tenant gate: authentication and tenancy ([`auth::authenticate_with`]), then the fault
//! rules of SDK operations ([`faults::apply`]).

use crate::error::{self, ApiError};
use crate::identity::auth;
use crate::{body, error_codes, faults, observe, AppState, Deadlines, X_REQUEST_ID};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::Engine;
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tracing::Instrument;

/// What the front door needs.
#[derive(Debug, Clone)]
pub struct Front {
    pub watch: observe::Watch,
    /// Where request ids come from (seeded by `--seed`); `None`: at random.
    pub engine: Option<Arc<Engine>>,
    /// `None`: no deadlines (tests of the other jobs of the front door).
    pub deadlines: Option<Deadlines>,
}

/// The front door of every route, the fallbacks included (see the module's text).
pub async fn front_door(State(front): State<Front>, mut request: Request, next: Next) -> Response {
    let id = match &front.engine {
        Some(engine) => engine.ids().request_id(),
        None => engine::job::random_uuid(),
    }
    .simple()
    .to_string();
    let id_value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("0"));
    request
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id_value.clone());
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        matched_path = request.extensions().get::<MatchedPath>().map(MatchedPath::as_str),
        request_id = %id,
    );
    let deadlines = front.deadlines;
    let inner = move |request: Request| {
        async move {
            match AssertUnwindSafe(limited(deadlines, request, next))
                .catch_unwind()
                .await
            {
                Ok(response) => response,
                // The panic message stays in the log (the panic hook), out of the answer.
                Err(_panic) => ApiError::internal("a request handler panicked").into_response(),
            }
        }
        .instrument(span)
    };
    let mut response = observe::access_log(&front.watch, request, inner).await;
    if let Some(answer) = response.extensions_mut().remove::<error::GatewayAnswer>() {
        // The gateway's flat shape carries the request id in its body too.
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        response = Response::from_parts(parts, axum::body::Body::from(answer.body(&id)));
    }
    response
        .headers_mut()
        .insert(X_REQUEST_ID.clone(), id_value);
    response
}

/// The header size limit, then the deadlines: the body gets the body-read deadline
/// ([`body::with_read_deadline`], which [`body::read_limited`] answers with 408 `Ecsd.0408`),
/// and a request not answered within the request timeout is answered 503 `Ecsd.0503`; its
/// handler is dropped at its next await, so work it had already handed to the store (a job)
/// may still be done: clients that retry creates send `X-Client-Token`.
async fn limited(deadlines: Option<Deadlines>, request: Request, next: Next) -> Response {
    if let Some(refusal) = auth::headers_too_large(request.headers()) {
        return refusal;
    }
    let Some(deadlines) = deadlines else {
        return next.run(request).await;
    };
    let request = request.map(|body| body::with_read_deadline(body, deadlines.body_read));
    let Ok(mut response) = tokio::time::timeout(deadlines.request, next.run(request)).await else {
        return ApiError::new(
            error_codes::ECSD_REQUEST_TIMEOUT,
            format!(
                "The request was not answered within {} s (the request timeout); it may or may not have taken effect.",
                deadlines.request.as_secs_f64()
            ),
        )
        .into_response();
    };
    if response.status() == StatusCode::REQUEST_TIMEOUT {
        // The rest of a body that came too late may still be on its way: the connection's
        // framing is lost, so it is closed after this answer rather than kept alive.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The gate of the tenant routes (ECS and Nova): authentication, then the fault rules.
pub async fn tenant_gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    auth::authenticate_with(&state, request, |request| {
        faults::apply(&state, request, |request| next.run(request))
    })
    .await
}
