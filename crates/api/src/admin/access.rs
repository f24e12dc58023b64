//! Who may call the admin API. With an admin token (`--admin-token` / `ECSD_ADMIN_TOKEN`) the
//! caller sends `Authorization: Bearer <token>`, compared in constant time. Without one, the
//! admin API answers only callers on the loopback interface (`ecsd serve` refuses to listen
//! off loopback without a token, and the peer address is checked on every call as well).
//!
//! A tenant's credentials are refused here whatever the configuration (an `X-Auth-Token`, or
//! an `Authorization` that is not `Bearer`): a tenant must never reach the control plane by
//! accident of the listener's address. The converse holds in [`crate::identity::auth`]: a
//! bearer token is not a tenant credential, so the admin token opens no tenant route.

use crate::error::ApiError;
use crate::error_codes;
use crate::identity::tokens::constant_time_eq;
use crate::AppState;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// The admin credential: a token, or none (loopback callers only).
#[derive(Clone, Default)]
pub struct AdminAccess {
    token: Option<Arc<str>>,
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
        }
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
            (Some(expected), Some(token)) if constant_time_eq(expected, token) => Ok(()),
            (Some(_), Some(_)) => Err(ApiError::new(
                error_codes::ECSD_UNAUTHORIZED,
                "The admin token is wrong.",
            )),
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
    match state.admin.check(request.headers(), peer) {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
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
    fn the_token_is_not_printed() {
        let access = AdminAccess::with_token(Some("s3cret"));
        assert!(!format!("{access:?}").contains("s3cret"));
    }
}
