//! Who is calling, and may they: the authentication and tenancy check in front of every ECS
//! route.
//!
//! A request proves who it is in one of two ways:
//! * an `X-Auth-Token` issued by `POST /v3/auth/tokens` ([`crate::tokens`]); a missing,
//!   malformed, forged or expired token is 401 `Common.0013`;
//! * an `SDK-HMAC-SHA256` signature (`Authorization` + `X-Sdk-Date`), verified over the request
//!   exactly as received ([`crate::signature`]); any failure is 401 `APIGW.0301` with a message
//!   saying which check failed.
//!
//! A request with neither is 401 `Common.0013`. Then tenancy: the project in the path must be
//! the token's project, or one of the signing account's projects (and equal `X-Project-Id` if
//! sent), else 400 `Common.0018` — the reference's code for "the project ID in the URL is
//! different from that in the token". Then the key's rate limit (429 `Common.1503` with
//! `Retry-After`). The handler gets the [`Caller`] as a request extension.

use crate::accounts::{AccountId, Accounts};
use crate::error::ApiError;
use crate::error_codes;
use crate::rate_limit::RateLimiter;
use crate::signature::{self, SignatureError};
use crate::tokens;
use crate::AppState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::clock::Clock;
use std::sync::Arc;
use time::Duration;

/// How far `X-Sdk-Date` may be from the server's clock, either way (as Huawei's gateway).
pub const DATE_WINDOW: Duration = Duration::minutes(15);
/// How long a token lives unless configured: 24 hours, as IAM's.
pub const DEFAULT_TOKEN_TTL: Duration = Duration::hours(24);
/// Requests per second per access key unless configured.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;
/// Total size of all request headers (names and values) ecsd accepts.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Whether requests must prove who they are.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Every ECS path needs a valid token or signature (the default).
    Verify(Arc<Identity>),
    /// No checks; any well-formed project id works. For benchmarks with unsigning load tools,
    /// on loopback only (`ecsd serve --auth off`).
    Off,
}

/// The accounts, and what checking them needs.
#[derive(Debug)]
pub struct Identity {
    pub accounts: Accounts,
    pub clock: Arc<dyn Clock>,
    pub token_ttl: Duration,
    /// Requests per second for accounts without their own `rate_limit` (0: none).
    pub default_rate_limit: u32,
    limiter: RateLimiter,
}

impl Identity {
    pub fn new(accounts: Accounts, clock: Arc<dyn Clock>) -> Self {
        Self {
            accounts,
            limiter: RateLimiter::new(clock.clone()),
            clock,
            token_ttl: DEFAULT_TOKEN_TTL,
            default_rate_limit: DEFAULT_RATE_LIMIT,
        }
    }

    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    pub fn with_default_rate_limit(mut self, per_second: u32) -> Self {
        self.default_rate_limit = per_second;
        self
    }

    /// Takes one request from `key`'s allowance of `rate` per second; over it, `Some` 429
    /// `Common.1503` answer with `Retry-After`. `who` names the key in the message.
    pub fn throttle(&self, key: &str, rate: u32, who: &str) -> Option<Response> {
        let Err(retry_after) = self.limiter.check(key, rate) else {
            return None;
        };
        let mut response = ApiError::new(
            error_codes::COMMON_1503,
            error_codes::COMMON_1503
                .render(&format!("{who} is limited to {rate} requests per second")),
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        Some(response)
    }
}

/// The authenticated caller, for handlers that need to know (e.g. a change-OS `userid` default).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: AccountId,
    /// The user, for token callers.
    pub user: Option<String>,
    /// The project the request acts in: the path's, else the token's, else `X-Project-Id`
    /// (one of the account's), else the account's only project. `None` when none of these
    /// names one (an account with several projects and no `X-Project-Id`).
    pub project_id: Option<String>,
}

/// The project of a route whose path has none (`/v2.1/servers/{server_id}/…`,
/// `/v1.0/servers/{server_id}/action`): from the [`Caller`]; with `--auth off`, from
/// `X-Project-Id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectScope(pub String);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ProjectScope {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return caller.project_id.clone().map(ProjectScope).ok_or_else(|| {
                ApiError::new(
                    error_codes::COMMON_0018,
                    "This API has no project in its path and the credentials have several projects: send X-Project-Id.",
                )
            });
        }
        parts
            .headers
            .get("x-project-id")
            .and_then(|value| value.to_str().ok())
            .map(|project| ProjectScope(project.to_owned()))
            .ok_or_else(|| {
                ApiError::invalid_field(
                    "X-Project-Id",
                    "this API has no project in its path; send X-Project-Id",
                )
            })
    }
}

fn gateway(message: impl Into<String>) -> ApiError {
    ApiError::new(error_codes::APIGW_0301, message)
}

fn invalid_token(message: impl Into<String>) -> ApiError {
    ApiError::new(error_codes::COMMON_0013, message)
}

fn wrong_project(project: &str) -> ApiError {
    ApiError::new(
        error_codes::COMMON_0018,
        format!("The project ID {project} (in the URL or X-Project-Id) is not a project of these credentials."),
    )
}

/// The `{project_id}` segment of a matched route, if the route has one.
fn project_in_path<'a>(route: Option<&str>, path: &'a str) -> Option<&'a str> {
    let index = route?
        .split('/')
        .position(|segment| segment == "{project_id}")?;
    path.split('/').nth(index)
}

/// The middleware: authenticates, checks tenancy and the rate limit, then runs the route.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Auth::Verify(identity) = &state.auth else {
        return next.run(request).await;
    };
    match check(identity, state.max_body_bytes, request).await {
        Ok(request) => next.run(request).await,
        Err(rejection) => rejection,
    }
}

async fn check(
    identity: &Identity,
    max_body_bytes: usize,
    request: Request,
) -> Result<Request, Response> {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            error_codes::ECSD_HEADERS_TOO_LARGE,
            format!("The request headers exceed {MAX_HEADER_BYTES} bytes."),
        )
        .into_response());
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let path_project = project_in_path(route.as_deref(), &path);
    let (mut parts, body) = request.into_parts();

    let (caller, body) = if let Some(token) = parts.headers.get("x-auth-token") {
        let token = token
            .to_str()
            .map_err(|_| invalid_token("X-Auth-Token is not a valid token.").into_response())?;
        let claims = tokens::verify(&identity.accounts, token, identity.clock.now())
            .map_err(|error| invalid_token(format!("Invalid token: {error}.")).into_response())?;
        if let Some(project) = path_project {
            if project != claims.project_id {
                return Err(ApiError::new(
                    error_codes::COMMON_0018,
                    format!(
                        "The project ID in the URL ({project}) is different from that in the token ({}).",
                        claims.project_id
                    ),
                )
                .into_response());
            }
        }
        let caller = Caller {
            account: claims.account,
            user: Some(claims.user),
            project_id: Some(claims.project_id),
        };
        (caller, body)
    } else if let Some(authorization) = parts.headers.get(header::AUTHORIZATION) {
        let authorization = authorization
            .to_str()
            .map_err(|_| gateway("The Authorization header is not ASCII.").into_response())?
            .to_owned();
        let bytes = crate::body::read_limited(body, max_body_bytes)
            .await
            .map_err(IntoResponse::into_response)?;
        let account = verify_signature(identity, &parts, &authorization, &bytes)
            .map_err(IntoResponse::into_response)?;
        let header_project = parts
            .headers
            .get("x-project-id")
            .map(|value| value.to_str().unwrap_or_default().to_owned());
        let owned = identity
            .accounts
            .get(account)
            .map(|account| &account.projects);
        let owns = |project: &str| owned.is_some_and(|all| all.iter().any(|p| p.id == project));
        let project_id = match (path_project, header_project) {
            (Some(project), header) => {
                if !owns(project) || header.is_some_and(|header| header != project) {
                    return Err(wrong_project(project).into_response());
                }
                Some(project.to_owned())
            }
            (None, Some(header)) => {
                if !owns(&header) {
                    return Err(wrong_project(&header).into_response());
                }
                Some(header)
            }
            (None, None) => match owned.map(Vec::as_slice) {
                Some([only]) => Some(only.id.clone()),
                _ => None,
            },
        };
        let caller = Caller {
            account,
            user: None,
            project_id,
        };
        (caller, Body::from(bytes))
    } else {
        return Err(invalid_token(
            "The request carries no credentials: send an X-Auth-Token, or sign it with SDK-HMAC-SHA256 (Authorization and X-Sdk-Date).",
        )
        .into_response());
    };

    if let Some(account) = identity.accounts.get(caller.account) {
        let rate = account.rate_limit.unwrap_or(identity.default_rate_limit);
        if let Some(refusal) = identity.throttle(&account.access_key, rate, "this key") {
            return Err(refusal);
        }
    }
    parts.extensions.insert(caller);
    Ok(Request::from_parts(parts, body))
}

/// Verifies an `SDK-HMAC-SHA256` request and returns the signing account.
fn verify_signature(
    identity: &Identity,
    parts: &axum::http::request::Parts,
    authorization: &str,
    body: &[u8],
) -> Result<AccountId, ApiError> {
    let parsed = signature::parse_authorization(authorization)
        .map_err(|error| gateway(format!("Authentication failed: {error}.")))?;
    for required in ["host", "x-sdk-date"] {
        if !parsed.signed_headers.contains(&required) {
            return Err(gateway(format!(
                "Authentication failed: SignedHeaders must include {required}."
            )));
        }
    }
    if let Some(content_sha256) = parts.headers.get("x-sdk-content-sha256") {
        if !parsed.signed_headers.contains(&"x-sdk-content-sha256") {
            return Err(gateway(
                "Authentication failed: X-Sdk-Content-Sha256 is sent but not signed.",
            ));
        }
        if content_sha256 == "UNSIGNED-PAYLOAD" && !body.is_empty() {
            return Err(gateway(
                "Authentication failed: ECS request bodies are JSON and must be signed (UNSIGNED-PAYLOAD is not accepted).",
            ));
        }
    }
    let (account_id, account) = identity
        .accounts
        .by_access_key(parsed.access_key)
        .ok_or_else(|| gateway("Authentication failed: the access key is unknown."))?;
    let sdk_date = parts
        .headers
        .get("x-sdk-date")
        .and_then(|value| value.to_str().ok());
    signature::check_date(sdk_date, identity.clock.now(), DATE_WINDOW)
        .map_err(|error| gateway(format!("Authentication failed: {error}.")))?;
    signature::verify(
        account.secret_key.expose(),
        &parsed,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        &parts.headers,
        body,
    )
    .map_err(|error| match error {
        SignatureError::Mismatch => gateway(
            "Authentication failed: the signature does not match (check the secret key, and that nothing rewrote the Host, path, query, body or a signed header).",
        ),
        other => gateway(format!("Authentication failed: {other}.")),
    })?;
    Ok(account_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_comes_from_the_routes_project_segment() {
        assert_eq!(
            project_in_path(Some("/v1/{project_id}/jobs/{job_id}"), "/v1/p1/jobs/j"),
            Some("p1")
        );
        assert_eq!(
            project_in_path(Some("/v2.1/servers/{server_id}"), "/v2.1/servers/s"),
            None
        );
        assert_eq!(project_in_path(None, "/v1/p1/jobs/j"), None);
    }
}
