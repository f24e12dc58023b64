//! Who may call the admin API. With an admin token (`--admin-token` / `ECSD_ADMIN_TOKEN`) the
//! caller sends `Authorization: Bearer <token>`, compared in constant time. Without one, the
//! admin API answers only callers on the loopback interface (`ecsd serve` refuses to listen
//! off loopback without a token, and the peer address is checked on every call as well).
//!
//! A tenant's credentials are refused here whatever the configuration (an `X-Auth-Token`, or
//! an `Authorization` that is not `Bearer`): a tenant must never reach the control plane by
//! accident of the listener's address. The converse holds in [`crate::identity::auth`]: a
//! bearer token is not a tenant credential, so the admin token opens no tenant route.
//!
//! Browsers cannot send a bearer token when they navigate, so the dashboard's login page
//! (`/_ecsd/ui/login`) exchanges the token for a session cookie ([`SESSION_COOKIE`]: HttpOnly,
//! SameSite=Strict, `Path=/_ecsd`) whose value is an HMAC of the token — it opens the admin
//! API like the token, and stops working when the token changes, but does not reveal it.
//! Requests that carry no `Authorization` may come from a browser, which sends cookies by
//! itself (and, without a token, reaches the loopback listener by itself): those that change
//! state must come from ecsd's own pages ([`cross_site_check`]: `Sec-Fetch-Site` and `Origin`),
//! and without a token a browser's request must name a loopback host (DNS rebinding).

use super::guesses::TokenGuesses;
use crate::error::ApiError;
use crate::error_codes;
use crate::identity::tokens::constant_time_eq;
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::clock::{Clock, SystemClock};
use std::net::SocketAddr;
use std::sync::Arc;

/// The admin credential: a token, or none (loopback callers only).
#[derive(Clone)]
pub struct AdminAccess {
    token: Option<Arc<str>>,
    /// Wrong tokens per client address ([`super::guesses`]).
    guesses: Arc<TokenGuesses>,
}

impl Default for AdminAccess {
    fn default() -> Self {
        Self::with_token(None)
    }
}

impl std::fmt::Debug for AdminAccess {
    // The token is a secret: never in a debug print or a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAccess")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl AdminAccess {
    /// Callers must send `Authorization: Bearer <token>`. An empty token means none.
    pub fn with_token(token: Option<&str>) -> Self {
        Self {
            token: token.filter(|token| !token.is_empty()).map(Arc::from),
            guesses: Arc::new(TokenGuesses::new(Arc::new(SystemClock))),
        }
    }

    /// Counts wrong tokens on `wall_clock` (tests give a manual one).
    pub fn with_clock(mut self, wall_clock: Arc<dyn Clock>) -> Self {
        self.guesses = Arc::new(TokenGuesses::new(wall_clock));
        self
    }

    /// Compares a presented `token` from `peer` with the admin token (constant time), unless
    /// `peer` has guessed wrong too often ([`super::guesses`]): 429 `Ecsd.0429` then, whatever
    /// the token. A wrong token is 401 `Ecsd.0401` and counted; a right one forgets the count.
    pub fn guess(&self, token: &str, peer: Option<SocketAddr>) -> Result<(), ApiError> {
        if let Some(wait) = self.guesses.wait(peer) {
            return Err(ApiError::new(
                error_codes::ECSD_TOO_MANY_GUESSES,
                format!("Too many wrong admin tokens from this address: wait {wait} s before the next try."),
            ));
        }
        if self.token_matches(token) {
            self.guesses.right(peer);
            Ok(())
        } else {
            self.guesses.wrong(peer);
            tracing::warn!(peer = ?peer.map(|peer| peer.ip()), "a wrong admin token");
            Err(ApiError::new(
                error_codes::ECSD_UNAUTHORIZED,
                "The admin token is wrong.",
            ))
        }
    }

    /// Seconds `peer` must still wait before its next token is compared (for `Retry-After`).
    pub fn guess_wait(&self, peer: Option<SocketAddr>) -> Option<u64> {
        self.guesses.wait(peer)
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether a request with these headers, from `peer` (unknown in in-process tests), may
    /// use the admin API.
    pub fn check(&self, headers: &HeaderMap, peer: Option<SocketAddr>) -> Result<(), ApiError> {
        if headers.contains_key("x-auth-token") {
            return Err(tenant_credential("an X-Auth-Token"));
        }
        let presented = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(value) => match value.to_str().ok().and_then(bearer) {
                Some(token) => Some(token),
                None => return Err(tenant_credential("an Authorization that is not Bearer")),
            },
        };
        match (&self.token, presented) {
            (Some(_), Some(token)) => self.guess(token, peer),
            (Some(_), None) => Err(ApiError::new(
                error_codes::ECSD_UNAUTHORIZED,
                "The admin API needs the admin token: send Authorization: Bearer <ECSD_ADMIN_TOKEN>.",
            )),
            // Accepting any bearer when none is configured would let a client believe it is
            // protected; say so instead.
            (None, Some(_)) => Err(ApiError::new(
                error_codes::ECSD_UNAUTHORIZED,
                "ecsd has no admin token (--admin-token / ECSD_ADMIN_TOKEN); call the admin API without one, from loopback.",
            )),
            (None, None) => match peer {
                Some(peer) if !peer.ip().is_loopback() => Err(ApiError::new(
                    error_codes::ECSD_FORBIDDEN,
                    "Without an admin token (--admin-token), the admin API answers loopback callers only.",
                )),
                _ => Ok(()),
            },
        }
    }
}

/// The dashboard's session cookie (set by `/_ecsd/ui/login`).
pub const SESSION_COOKIE: &str = "ecsd_admin";

/// Where the dashboard's pages send a browser that has no valid session.
pub const LOGIN_PATH: &str = "/_ecsd/ui/login";

impl AdminAccess {
    /// The session cookie's value for the configured token (`None` without one): the hex
    /// HMAC-SHA256 of a fixed label under the token.
    pub fn session_value(&self) -> Option<String> {
        use hmac::{Hmac, Mac};
        let token = self.token.as_ref()?;
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(token.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"ecsd dashboard session v1");
        Some(
            mac.finalize()
                .into_bytes()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect(),
        )
    }

    /// Whether `token` is the admin token (constant time); `false` without one.
    pub fn token_matches(&self, token: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|expected| constant_time_eq(expected, token))
    }

    /// [`AdminAccess::check`] for a whole request: a request without `Authorization` (a
    /// browser's, possibly) must pass [`cross_site_check`], and may authenticate with the
    /// dashboard's session cookie instead of the bearer token.
    pub fn check_request(
        &self,
        method: &Method,
        headers: &HeaderMap,
        peer: Option<SocketAddr>,
    ) -> Result<(), ApiError> {
        let explicit =
            headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-auth-token");
        if !explicit {
            cross_site_check(method, headers, !self.has_token())?;
            if let (Some(expected), Some(presented)) =
                (self.session_value(), cookie(headers, SESSION_COOKIE))
            {
                return if constant_time_eq(&expected, presented) {
                    Ok(())
                } else {
                    Err(ApiError::new(
                        error_codes::ECSD_UNAUTHORIZED,
                        "The dashboard session is not valid (the admin token changed?); log in again at /_ecsd/ui/login.",
                    ))
                };
            }
        }
        self.check(headers, peer)
    }
}

/// Refuses what a web page on another site could make a browser send: a state-changing
/// request (not GET/HEAD/OPTIONS) whose `Sec-Fetch-Site` is not `same-origin`, or, from a
/// browser that sends no `Sec-Fetch-Site`, whose `Origin` is not this host; and, when `loopback_only` (no admin token), any browser request
/// (one with `Origin` or `Sec-Fetch-Site`) whose `Host` is not a loopback name, which is what
/// a DNS-rebinding page sends. Clients that are not browsers send neither header and pass.
pub fn cross_site_check(
    method: &Method,
    headers: &HeaderMap,
    loopback_only: bool,
) -> Result<(), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let fetch_site = text("sec-fetch-site");
    let origin = text(header::ORIGIN.as_str());
    let host = text(header::HOST.as_str()).unwrap_or_default();
    let browser = fetch_site.is_some() || origin.is_some();
    if loopback_only && browser && !is_loopback_host(host) {
        return Err(ApiError::new(
            error_codes::ECSD_FORBIDDEN,
            format!("Without an admin token, browsers may reach the admin API only as localhost, 127.0.0.1 or [::1], not as {host:?} (DNS rebinding)."),
        ));
    }
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe {
        return Ok(());
    }
    // `Sec-Fetch-Site` is set by the browser alone and says it directly; `Origin` is the
    // fallback for browsers without it (it can be `null` on a same-origin post under some
    // referrer policies, so it is not consulted when `Sec-Fetch-Site` is there).
    if let Some(site) = fetch_site {
        if site != "same-origin" {
            return Err(cross_site(&format!("Sec-Fetch-Site: {site}")));
        }
    } else if let Some(origin) = origin {
        let origin_host = origin
            .split_once("://")
            .map_or("", |(_, rest)| rest.trim_end_matches('/'));
        if origin_host.is_empty() || !origin_host.eq_ignore_ascii_case(host) {
            return Err(cross_site(&format!("Origin: {origin}")));
        }
    }
    Ok(())
}

fn cross_site(what: &str) -> ApiError {
    ApiError::new(
        error_codes::ECSD_FORBIDDEN,
        format!("A state-changing admin request from a browser must come from ecsd's own pages; this one carried {what}."),
    )
}

/// `localhost`, a loopback address, or either with a port.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']').map_or(rest, |(inside, _)| inside)
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 9110 §11.1).
fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

fn tenant_credential(what: &str) -> ApiError {
    ApiError::new(
        error_codes::ECSD_FORBIDDEN,
        format!("The admin API takes the admin token (Authorization: Bearer <token>), not a tenant's credentials; the request carried {what}."),
    )
}

/// The layer in front of every admin route ([`super::routes`]).
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| *peer);
    match state
        .admin
        .check_request(request.method(), request.headers(), peer)
    {
        Ok(()) => next.run(request).await,
        // A person opening a dashboard page gets the login form, not a JSON error.
        Err(error)
            if error.code.code == error_codes::ECSD_UNAUTHORIZED.code
                && request.method() == Method::GET
                && request.uri().path().starts_with("/_ecsd/ui") =>
        {
            axum::response::Redirect::to(LOGIN_PATH).into_response()
        }
        Err(error) if error.code.code == error_codes::ECSD_TOO_MANY_GUESSES.code => {
            with_retry_after(error.into_response(), state.admin.guess_wait(peer))
        }
        Err(error) => error.into_response(),
    }
}

/// `response` with `Retry-After: seconds`, when there is a wait.
pub fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                *name,
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
        map
    }

    fn code(result: Result<(), ApiError>) -> Option<&'static str> {
        result.err().map(|error| error.code.code)
    }

    const LOOPBACK: Option<SocketAddr> = Some(SocketAddr::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        40000,
    ));
    const REMOTE: Option<SocketAddr> = Some(SocketAddr::new(
        std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7)),
        40000,
    ));

    #[test]
    fn with_a_token_only_that_bearer_passes() {
        let access = AdminAccess::with_token(Some("s3cret"));
        let ok = headers(&[("authorization", "Bearer s3cret")]);
        assert_eq!(code(access.check(&ok, REMOTE)), None);
        let lower = headers(&[("authorization", "bearer s3cret")]);
        assert_eq!(code(access.check(&lower, LOOPBACK)), None);
        let wrong = headers(&[("authorization", "Bearer s3cre")]);
        assert_eq!(code(access.check(&wrong, LOOPBACK)), Some("Ecsd.0401"));
        assert_eq!(
            code(access.check(&HeaderMap::new(), LOOPBACK)),
            Some("Ecsd.0401")
        );
    }

    #[test]
    fn without_a_token_only_loopback_passes() {
        let access = AdminAccess::with_token(None);
        assert_eq!(code(access.check(&HeaderMap::new(), LOOPBACK)), None);
        assert_eq!(
            code(access.check(&HeaderMap::new(), REMOTE)),
            Some("Ecsd.0403")
        );
        let bearer = headers(&[("authorization", "Bearer anything")]);
        assert_eq!(code(access.check(&bearer, LOOPBACK)), Some("Ecsd.0401"));
        assert!(!AdminAccess::with_token(Some("")).has_token());
    }

    #[test]
    fn tenant_credentials_are_refused_even_with_the_right_token() {
        let access = AdminAccess::with_token(Some("s3cret"));
        let token = headers(&[
            ("authorization", "Bearer s3cret"),
            ("x-auth-token", "ecsd2.abc"),
        ]);
        assert_eq!(code(access.check(&token, LOOPBACK)), Some("Ecsd.0403"));
        let signed = headers(&[(
            "authorization",
            "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00",
        )]);
        assert_eq!(code(access.check(&signed, LOOPBACK)), Some("Ecsd.0403"));
        let open = AdminAccess::with_token(None);
        assert_eq!(code(open.check(&signed, LOOPBACK)), Some("Ecsd.0403"));
    }

    #[test]
    fn the_session_cookie_opens_what_the_token_opens_and_nothing_else() {
        let access = AdminAccess::with_token(Some("s3cret"));
        let session = access.session_value().expect("a token is set");
        assert!(!session.contains("s3cret"));
        let with_cookie = headers(&[("cookie", &format!("a=b; {SESSION_COOKIE}={session}"))]);
        assert_eq!(
            code(access.check_request(&Method::GET, &with_cookie, REMOTE)),
            None
        );
        let stale = headers(&[("cookie", &format!("{SESSION_COOKIE}=00{session}"))]);
        assert_eq!(
            code(access.check_request(&Method::GET, &stale, LOOPBACK)),
            Some("Ecsd.0401")
        );
        // Another token, another session.
        let other = AdminAccess::with_token(Some("other"));
        assert_eq!(
            code(other.check_request(&Method::GET, &with_cookie, LOOPBACK)),
            Some("Ecsd.0401")
        );
        // No token configured: no sessions, the loopback rule decides.
        let open = AdminAccess::with_token(None);
        assert_eq!(open.session_value(), None);
        assert_eq!(
            code(open.check_request(&Method::GET, &with_cookie, REMOTE)),
            Some("Ecsd.0403")
        );
    }

    #[test]
    fn cross_site_writes_are_refused_and_same_origin_ones_pass() {
        let access = AdminAccess::with_token(Some("s3cret"));
        let session = format!(
            "{SESSION_COOKIE}={}",
            access.session_value().expect("a token is set")
        );
        let host = ("host", "ecsd.example:8774");
        let same = headers(&[
            ("cookie", &session),
            host,
            ("origin", "http://ecsd.example:8774"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(
            code(access.check_request(&Method::POST, &same, REMOTE)),
            None
        );
        // Chromium's own form post under some referrer policies: `Origin: null`, but the
        // browser-set `Sec-Fetch-Site` says same-origin.
        let form_post = headers(&[
            ("cookie", &session),
            host,
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(
            code(access.check_request(&Method::POST, &form_post, REMOTE)),
            None
        );
        for (name, value) in [
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-site", "same-site"),
            ("origin", "http://evil.example"),
            ("origin", "null"),
        ] {
            let forged = headers(&[("cookie", &session), host, (name, value)]);
            assert_eq!(
                code(access.check_request(&Method::POST, &forged, REMOTE)),
                Some("Ecsd.0403"),
                "{name}: {value}"
            );
            // Reading is not what CSRF abuses (and SameSite=Strict keeps the cookie home).
            assert_eq!(
                code(access.check_request(&Method::GET, &forged, REMOTE)),
                None
            );
        }
        // A bearer-authenticated call is not a browser's: no origin rule.
        let bearer = headers(&[
            ("authorization", "Bearer s3cret"),
            ("origin", "http://elsewhere.example"),
        ]);
        assert_eq!(
            code(access.check_request(&Method::POST, &bearer, REMOTE)),
            None
        );
    }

    #[test]
    fn without_a_token_browsers_must_name_a_loopback_host() {
        let open = AdminAccess::with_token(None);
        let rebound = headers(&[
            ("host", "attacker.example:8774"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(
            code(open.check_request(&Method::GET, &rebound, LOOPBACK)),
            Some("Ecsd.0403")
        );
        for host in [
            "127.0.0.1:8774",
            "localhost:8774",
            "[::1]:8774",
            "localhost",
        ] {
            let local = headers(&[("host", host), ("sec-fetch-site", "same-origin")]);
            assert_eq!(
                code(open.check_request(&Method::GET, &local, LOOPBACK)),
                None,
                "{host}"
            );
        }
        // A loopback page of another origin (another port) may not write.
        let other_port = headers(&[
            ("host", "127.0.0.1:8774"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert_eq!(
            code(open.check_request(&Method::POST, &other_port, LOOPBACK)),
            Some("Ecsd.0403")
        );
        // curl and the SDKs send neither header.
        let curl = headers(&[("host", "127.0.0.1:8774")]);
        assert_eq!(
            code(open.check_request(&Method::POST, &curl, LOOPBACK)),
            None
        );
    }

    #[test]
    fn the_token_is_not_printed() {
        let access = AdminAccess::with_token(Some("s3cret"));
        assert!(!format!("{access:?}").contains("s3cret"));
    }
}
