//! Who is calling, and may they: the authentication and tenancy check in front of every ECS
//! route.
//!
//! A request proves who it is in one of two ways:
//! * an `X-Auth-Token` issued by `POST /v3/auth/tokens` ([`crate::identity::tokens`]); a missing,
//!   malformed, forged or expired token is 401 `Common.0013`;
//! * an `SDK-HMAC-SHA256` signature (`Authorization` + `X-Sdk-Date`), verified over the request
//!   exactly as received ([`crate::identity::signature`]); any failure is 401 `APIGW.0301` with a message
//!   saying which check failed.
//!
//! A request with neither is 401 `Common.0013`. Then tenancy: the project in the path must be
//! the token's project, or one of the signing account's projects (and equal `X-Project-Id` if
//! sent), else 400 `Common.0018` — the reference's code for "the project ID in the URL is
//! different from that in the token". Then the key's rate limit (429 `Common.1503` with
//! `Retry-After`). The handler gets the [`Caller`] as a request extension.

use crate::error::ApiError;
use crate::error_codes;
use crate::identity::accounts::{AccountId, Accounts};
use crate::identity::login_limits::{LoginLimiter, LoginLimits};
use crate::identity::rate_limit::{too_many_requests, RateLimiter};
use crate::identity::signature::{self, SignatureError};
use crate::identity::tokens::{self, TokenKey};
use crate::observe::{refusal_reason, CallerNote, ErrorCodeNote};
use crate::AppState;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
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
    /// The engine's clock (virtual under `--clock virtual`): token issue and expiry.
    pub clock: Arc<dyn Clock>,
    /// The wall clock: what `X-Sdk-Date` is checked against (clients sign with their own wall
    /// clock, whatever ecsd's virtual time) and what rate limits and login limits meter (real
    /// request rates; a frozen virtual clock would never refill a bucket). The same as `clock`
    /// unless [`Identity::with_wall_clock`] sets it.
    pub wall_clock: Arc<dyn Clock>,
    /// How long new tokens live, and the longest lifetime an accepted token may have.
    pub token_ttl: Duration,
    /// Requests per second for accounts without their own `rate_limit` (0: none).
    pub default_rate_limit: u32,
    /// What tokens are signed with (the database's key; see [`crate::identity::tokens`]).
    pub token_key: TokenKey,
    /// The base URL of the token catalog's endpoints (`--public-url`); `None`: `http://` and
    /// the request's `Host`, checked for shape.
    pub public_url: Option<String>,
    /// The limits on password checks.
    pub login: LoginLimiter,
    limiter: RateLimiter,
}

impl Identity {
    pub fn new(accounts: Accounts, clock: Arc<dyn Clock>, token_key: TokenKey) -> Self {
        Self {
            accounts,
            limiter: RateLimiter::new(clock.clone()),
            login: LoginLimiter::new(LoginLimits::default(), clock.clone()),
            wall_clock: clock.clone(),
            clock,
            token_ttl: DEFAULT_TOKEN_TTL,
            default_rate_limit: DEFAULT_RATE_LIMIT,
            token_key,
            public_url: None,
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

    pub fn with_login_limits(mut self, limits: LoginLimits) -> Self {
        self.login = LoginLimiter::new(limits, self.wall_clock.clone());
        self
    }

    /// Checks `X-Sdk-Date` and meters the rate and login limits on `wall_clock` rather than on
    /// the engine's clock (`--clock virtual`: see [`Identity::wall_clock`]).
    pub fn with_wall_clock(mut self, wall_clock: Arc<dyn Clock>) -> Self {
        self.limiter = RateLimiter::new(wall_clock.clone());
        self.login = LoginLimiter::new(self.login.limits(), wall_clock.clone());
        self.wall_clock = wall_clock;
        self
    }

    /// `url` without a trailing `/`, e.g. `https://ecs.eu-de.otc.t-systems.com`.
    pub fn with_public_url(mut self, url: Option<String>) -> Self {
        self.public_url = url.map(|url| url.trim_end_matches('/').to_owned());
        self
    }

    /// Forgets the rate-limit buckets and the login limits' counters: the tokens' side state
    /// a full `POST /_ecsd/reset` clears (tokens themselves are stateless and stay valid).
    pub fn reset_limits(&self) {
        self.limiter.clear();
        self.login.clear();
    }

    /// Takes one request from `key`'s allowance of `rate` per second; over it, `Some` 429
    /// `Common.1503` answer with `Retry-After`. `who` names the key in the message.
    pub fn throttle(&self, key: &str, rate: u32, who: &str) -> Option<Response> {
        let retry_after = self.limiter.check(key, rate).err()?;
        Some(too_many_requests(
            &format!("policy user over ratelimit,limit:{rate},time:1 second ({who})"),
            retry_after,
        ))
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

/// An authentication refusal, as the API gateway answers it: 401 `APIGW.0301`, "Incorrect IAM
/// authentication information: " and what failed.
fn gateway(message: impl AsRef<str>) -> ApiError {
    ApiError::new(
        error_codes::APIGW_0301,
        format!(
            "Incorrect IAM authentication information: {}",
            message.as_ref()
        ),
    )
}

fn invalid_token(message: impl AsRef<str>) -> ApiError {
    gateway(message)
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

/// The 431 `Ecsd.0431` answer when `headers` (names and values) exceed [`MAX_HEADER_BYTES`]:
/// the front door ([`crate::front_door`]) asks on every route (the token route and unknown
/// paths too), before anything else looks at the headers.
pub fn headers_too_large(headers: &axum::http::HeaderMap) -> Option<Response> {
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (header_bytes > MAX_HEADER_BYTES).then(|| {
        ApiError::new(
            error_codes::ECSD_HEADERS_TOO_LARGE,
            format!("The request headers exceed {MAX_HEADER_BYTES} bytes."),
        )
        .into_response()
    })
}

/// The middleware: authenticates, checks tenancy and the rate limit, then runs the route.
pub async fn authenticate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    authenticate_with(&state, request, |request| next.run(request)).await
}

/// [`authenticate`], with `inner` as the rest of the request's way (the tenant gate of
/// [`crate::front_door`] runs the fault rules there, in the same layer).
pub async fn authenticate_with<F, Fut>(state: &AppState, request: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let Auth::Verify(identity) = &state.auth else {
        return inner(request).await;
    };
    // Which credential was presented, for the refusal's reason (never its value).
    let credential = if request.headers().contains_key("x-auth-token") {
        Some("token")
    } else if request.headers().contains_key(header::AUTHORIZATION) {
        Some("signature")
    } else {
        None
    };
    match check(identity, state.max_body_bytes, request).await {
        Ok(request) => inner(request).await,
        Err(rejection) => {
            if let Some(note) = rejection.extensions().get::<ErrorCodeNote>() {
                state
                    .metrics
                    .auth_refused(refusal_reason(credential, note.0), note.0);
            }
            rejection
        }
    }
}

async fn check(
    identity: &Identity,
    max_body_bytes: usize,
    request: Request,
) -> Result<Request, Response> {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let path_project = project_in_path(route.as_deref(), &path);
    let (mut parts, body) = request.into_parts();

    let (caller, body) = if let Some(token) = parts.headers.get("x-auth-token") {
        let token = token.to_str().map_err(|_| {
            invalid_token("the X-Auth-Token header is not valid text.").into_response()
        })?;
        let claims = tokens::verify(
            &identity.token_key,
            &identity.accounts,
            identity.token_ttl,
            token,
            identity.clock.now(),
        )
        .map_err(|error| {
            invalid_token(format!("invalid X-Auth-Token: {error}.")).into_response()
        })?;
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
        if let (Some(note), Some(account)) = (
            parts.extensions.get::<CallerNote>(),
            identity.accounts.get(claims.account),
        ) {
            note.set(&account.access_key);
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
        // Everything that needs no body is checked before the body is read, so a request that
        // will be refused cannot hold the connection by never sending the body it announced.
        let parsed = signature::parse_authorization(&authorization)
            .map_err(|error| gateway(format!("{error}.")).into_response())?;
        // The key the request claims, known or not: a refused key is what its log line needs.
        if let Some(note) = parts.extensions.get::<CallerNote>() {
            note.set(parsed.access_key);
        }
        let account = signer(identity, &parts, &parsed).map_err(IntoResponse::into_response)?;
        let bytes = crate::body::read_limited(body, max_body_bytes)
            .await
            .map_err(IntoResponse::into_response)?;
        verify_signature(identity, account, &parts, &parsed, &bytes)
            .map_err(IntoResponse::into_response)?;
        let project_id = signed_project(identity, account, &parts, path_project)
            .map_err(IntoResponse::into_response)?;
        let caller = Caller {
            account,
            user: None,
            project_id,
        };
        (caller, Body::from(bytes))
    } else {
        return Err(invalid_token(
            "the request carries no credentials: send an X-Auth-Token, or sign it with SDK-HMAC-SHA256 (Authorization and X-Sdk-Date).",
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

/// The project a signed request acts in: the path's (which `X-Project-Id`, if sent, must
/// equal), else `X-Project-Id`, else the account's only project. Each must be the account's.
fn signed_project(
    identity: &Identity,
    account: AccountId,
    parts: &axum::http::request::Parts,
    path_project: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let header_project = parts
        .headers
        .get("x-project-id")
        .map(|value| value.to_str().unwrap_or_default().to_owned());
    let owned = identity
        .accounts
        .get(account)
        .map(|account| &account.projects);
    let owns = |project: &str| owned.is_some_and(|all| all.iter().any(|p| p.id == project));
    match (path_project, header_project) {
        (Some(project), header) => {
            if !owns(project) {
                return Err(wrong_project(project));
            }
            if let Some(header) = header.filter(|header| header != project) {
                // Both may be the account's; say which two differ. A project the account
                // does not own is named only as "not a project of these credentials".
                let header = if owns(&header) {
                    header
                } else {
                    "(not a project of these credentials)".to_owned()
                };
                return Err(ApiError::new(
                    error_codes::COMMON_0018,
                    format!("The project ID in the URL ({project}) is different from X-Project-Id ({header})."),
                ));
            }
            Ok(Some(project.to_owned()))
        }
        (None, Some(header)) => {
            if !owns(&header) {
                return Err(wrong_project(&header));
            }
            Ok(Some(header))
        }
        (None, None) => Ok(match owned.map(Vec::as_slice) {
            Some([only]) => Some(only.id.clone()),
            _ => None,
        }),
    }
}

/// The checks of a signed request that need no body: the signature policy, the date, and the
/// access key. Returns the account whose key signed it.
fn signer(
    identity: &Identity,
    parts: &axum::http::request::Parts,
    parsed: &signature::Authorization<'_>,
) -> Result<AccountId, ApiError> {
    for required in ["host", "x-sdk-date"] {
        if !parsed.signed_headers.contains(&required) {
            return Err(gateway(format!("SignedHeaders must include {required}.")));
        }
    }
    // Headers that change what a request means must be signed when sent: the body's hash
    // replaces the body in the signature, and X-Project-Id chooses the project of routes
    // without one in their path.
    for (header, name) in [
        ("x-sdk-content-sha256", "X-Sdk-Content-Sha256"),
        ("x-project-id", "X-Project-Id"),
    ] {
        if parts.headers.contains_key(header) && !parsed.signed_headers.contains(&header) {
            return Err(gateway(format!(
                "{name} is sent but not signed (add it to SignedHeaders)."
            )));
        }
    }
    let sdk_date = parts
        .headers
        .get("x-sdk-date")
        .and_then(|value| value.to_str().ok());
    signature::check_date(sdk_date, identity.wall_clock.now(), DATE_WINDOW)
        .map_err(|error| gateway(format!("{error}.")))?;
    identity
        .accounts
        .by_access_key(parsed.access_key)
        .map(|(account_id, _)| account_id)
        .ok_or_else(signature_mismatch)
}

/// One answer for an unknown access key and a wrong signature, so the refusal does not tell
/// which keys exist.
fn signature_mismatch() -> ApiError {
    gateway(
        "the access key is unknown or the signature does not match (check the access and secret keys, and that nothing rewrote the Host, path, query, body or a signed header).",
    )
}

/// Verifies an `SDK-HMAC-SHA256` request's signature over its body with `account`'s secret key.
fn verify_signature(
    identity: &Identity,
    account: AccountId,
    parts: &axum::http::request::Parts,
    parsed: &signature::Authorization<'_>,
    body: &[u8],
) -> Result<(), ApiError> {
    if let Some(content_sha256) = parts.headers.get("x-sdk-content-sha256") {
        // The header stands for the body in the signature, so it must be the body's hash; the
        // only other value is the exact `UNSIGNED-PAYLOAD`, for a request without a body.
        let declared = content_sha256.as_bytes();
        if declared == b"UNSIGNED-PAYLOAD" {
            if !body.is_empty() {
                return Err(gateway(
                    "ECS request bodies are JSON and must be signed (UNSIGNED-PAYLOAD is not accepted with a body).",
                ));
            }
        } else if declared != signature::body_hash(body).as_bytes() {
            return Err(gateway(
                "X-Sdk-Content-Sha256 is not the SHA-256 of the body (lower-case hex).",
            ));
        }
    }
    let secret_key = identity
        .accounts
        .get(account)
        .map(|account| account.secret_key.expose())
        .ok_or_else(signature_mismatch)?;
    signature::verify(
        secret_key,
        parsed,
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        &parts.headers,
        body,
    )
    .map_err(|error| match error {
        SignatureError::Mismatch => signature_mismatch(),
        other => gateway(format!("{other}.")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    /// The limit counts every header's name and value: exactly [`MAX_HEADER_BYTES`] (16 KiB)
    /// passes, one byte more is 431 `Ecsd.0431`.
    #[test]
    fn headers_up_to_sixteen_kib_pass_and_one_byte_more_is_refused() {
        let status_with = |total: usize| {
            // One header: the name's 8 bytes and a value making up the rest.
            let mut headers = axum::http::HeaderMap::new();
            headers.insert(
                "x-filler",
                "a".repeat(total - "x-filler".len())
                    .parse()
                    .expect("a header value"),
            );
            headers_too_large(&headers).map(|refusal| refusal.status())
        };
        assert_eq!(MAX_HEADER_BYTES, 16_384);
        assert_eq!(status_with(2_000), None);
        assert_eq!(status_with(MAX_HEADER_BYTES), None);
        assert_eq!(
            status_with(MAX_HEADER_BYTES + 1),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
    }

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
