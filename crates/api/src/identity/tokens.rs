//! IAM-style tokens for OpenStack-style clients (keystoneauth, Ansible's `hwc_*` modules,
//! token-based Terraform configurations): `POST /v3/auth/tokens` with the password method, and
//! the `X-Auth-Token` check on every ECS path.
//!
//! Tokens are stateless: `ecsd2.<hex payload>.<hex HMAC>`. The payload names the account's
//! access key, the project, the user, when the token was issued and when it expires; the HMAC
//! is keyed with the database's token signing key ([`TokenKey`], made once per database and
//! held by no tenant), so only ecsd can mint a token, and every node sharing the database, and
//! every restart, accepts it. A token is refused when:
//! - it does not verify (altered, forged, or minted the old `ecsd1` way with an account's
//!   secret key, which its tenant holds);
//! - what it names is gone: the account (or its access key changed), the user, or the project
//!   from the account;
//! - its lifetime is longer than `--token-ttl` allows now, or it has expired.

use crate::error::ApiError;
use crate::error_codes;
use crate::identity::accounts::{AccountId, Accounts};
use crate::identity::auth::Identity;
use crate::time_format::iso8601_micros;
use crate::AppState;
use axum::extract::{ConnectInfo, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use std::net::SocketAddr;
use time::{Duration, OffsetDateTime};

const PREFIX: &str = "ecsd2";
/// Tokens of ecsd before the signing key moved into the database: keyed with the account's
/// secret key, so any tenant could mint one. Refused with a message that says so.
const RETIRED_PREFIX: &str = "ecsd1";

/// The key tokens are signed with (from `Store::token_signing_key`). `Debug` hides it.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(***)")
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub account: AccountId,
    pub project_id: String,
    pub user: String,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a token to issue names.
#[derive(Debug, Clone, Copy)]
pub struct TokenGrant<'a> {
    pub access_key: &'a str,
    pub project_id: &'a str,
    pub user: &'a str,
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or was not issued by ecsd")]
    Malformed,
    #[error("the token was issued by an earlier version of ecsd, whose tokens are no longer accepted; request a new one")]
    Retired,
    #[error("the token was not issued by this ecsd")]
    Forged,
    #[error("the token's {0} no longer exists")]
    Revoked(&'static str),
    #[error("the token's lifetime is longer than this ecsd allows (--token-ttl)")]
    LifetimeTooLong,
    #[error("the token expired at {0}")]
    Expired(String),
}

fn mac(key: &TokenKey, payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"ecsd-token-2\n");
    mac.update(payload.as_bytes());
    mac
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

/// A new token for what `grant` names, signed with `key`.
pub fn issue(key: &TokenKey, grant: TokenGrant<'_>) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let payload = format!(
        "{}\n{}\n{}\n{}\n{}\n{nonce}",
        grant.access_key,
        grant.project_id,
        grant.user,
        grant.issued_at.unix_timestamp(),
        grant.expires_at.unix_timestamp()
    );
    let signature = mac(key, &payload).finalize().into_bytes();
    format!("{PREFIX}.{}.{}", hex(payload.as_bytes()), hex(&signature))
}

fn timestamp(text: &str) -> Result<OffsetDateTime, TokenError> {
    text.parse::<i64>()
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .ok_or(TokenError::Malformed)
}

/// Checks a token's form and HMAC, that its account, user and project still exist and belong
/// together, that its lifetime is at most `max_lifetime`, and that it has not expired at `now`.
pub fn verify(
    key: &TokenKey,
    accounts: &Accounts,
    max_lifetime: Duration,
    token: &str,
    now: OffsetDateTime,
) -> Result<TokenClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(prefix), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    match prefix {
        PREFIX => {}
        RETIRED_PREFIX => return Err(TokenError::Retired),
        _ => return Err(TokenError::Malformed),
    }
    let payload = unhex(payload)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(TokenError::Malformed)?;
    let signature = unhex(signature)
        .filter(|signature| signature.len() == 32)
        .ok_or(TokenError::Malformed)?;
    // The HMAC first: nothing of an unverified payload is looked at.
    mac(key, &payload)
        .verify_slice(&signature)
        .map_err(|_| TokenError::Forged)?;
    let fields: Vec<&str> = payload.split('\n').collect();
    let [access_key, project_id, user, issued, expires, _nonce] = fields[..] else {
        return Err(TokenError::Malformed);
    };
    let (issued_at, expires_at) = (timestamp(issued)?, timestamp(expires)?);
    let (account_id, account) = accounts
        .by_access_key(access_key)
        .ok_or(TokenError::Revoked("account"))?;
    if account.user(user).is_none() {
        return Err(TokenError::Revoked("user"));
    }
    if account.project(project_id).is_none() {
        return Err(TokenError::Revoked("project"));
    }
    if expires_at - issued_at > max_lifetime {
        return Err(TokenError::LifetimeTooLong);
    }
    if now >= expires_at {
        return Err(TokenError::Expired(iso8601_micros(expires_at)));
    }
    Ok(TokenClaims {
        account: account_id,
        project_id: project_id.to_owned(),
        user: user.to_owned(),
        issued_at,
        expires_at,
    })
}

// --- POST /v3/auth/tokens ------------------------------------------------------------------

#[derive(Deserialize)]
struct TokenRequest {
    auth: AuthBody,
}

#[derive(Deserialize)]
struct AuthBody {
    identity: IdentityBody,
    scope: Option<ScopeBody>,
}

#[derive(Deserialize)]
struct IdentityBody {
    methods: Vec<String>,
    password: Option<PasswordBody>,
}

#[derive(Deserialize)]
struct PasswordBody {
    user: UserBody,
}

#[derive(Deserialize)]
struct UserBody {
    name: String,
    password: String,
    domain: NameOrId,
}

#[derive(Deserialize)]
struct NameOrId {
    name: Option<String>,
    id: Option<String>,
}

#[derive(Deserialize)]
struct ScopeBody {
    project: Option<NameOrId>,
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(error_codes::COMMON_0013, message)
}

/// The client's address, when the server recorded it (in-process tests have none).
fn client_address(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
}

/// `POST /v3/auth/tokens`: the Keystone v3 password method, answered as IAM answers it (201,
/// the token in `X-Subject-Token`, `token.expires_at`, and a catalog whose `ecs` endpoint is
/// this ecsd with `/v1/{project_id}`).
///
/// Password checks are limited in three ways (see [`crate::identity::login_limits`]): per client
/// address, per account (one shared allowance for all unknown domains), and, after a few
/// failures of one user from one client, by a growing wait for that user from that client, so
/// a flood of wrong passwords from one place neither guesses fast nor locks the real user out.
pub async fn issue_token(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let crate::identity::auth::Auth::Verify(identity) = &state.auth else {
        return Err(ApiError::new(
            error_codes::APIGW_0101,
            "The API does not exist or has not been published in the environment: tokens are not issued when ecsd runs with --auth off.",
        ));
    };
    let (parts, body) = request.into_parts();
    let client = client_address(&parts);
    if let Some(refusal) = identity.login.client_throttle(client) {
        return Ok(refusal);
    }
    let body = crate::body::read_limited(body, state.max_body_bytes).await?;
    crate::body::require_json_content_type(&parts.headers)?;
    let request: TokenRequest = serde_json::from_slice(&body).map_err(|error| {
        ApiError::invalid_field(
            "auth",
            format!("not a Keystone v3 password token request: {error}"),
        )
    })?;
    if !request
        .auth
        .identity
        .methods
        .iter()
        .any(|m| m == "password")
    {
        return Err(ApiError::invalid_field(
            "auth.identity.methods",
            "ecsd supports the \"password\" method only",
        ));
    }
    let Some(password) = request.auth.identity.password else {
        return Err(ApiError::invalid_field(
            "auth.identity.password",
            "missing for the password method",
        ));
    };
    let user = password.user;
    let domain = user.domain.name.or(user.domain.id).unwrap_or_default();
    let account = identity.accounts.by_domain(&domain);
    if let Some(refusal) = identity
        .login
        .account_throttle(account.map(|(account_id, _)| account_id))
    {
        return Ok(refusal);
    }
    let wrong = || unauthorized("The user name, password or domain is wrong.");
    let (account_id, account) = account.ok_or_else(wrong)?;
    let known = account.user(&user.name).ok_or_else(wrong)?;
    if let Some(refusal) = identity.login.backoff(account_id, &user.name, client) {
        return Ok(refusal);
    }
    if !constant_time_eq(known.password.expose(), &user.password) {
        identity.login.failed(account_id, &user.name, client);
        return Err(wrong());
    }
    identity.login.succeeded(account_id, &user.name, client);
    let Some(scope) = request.auth.scope.and_then(|scope| scope.project) else {
        return Err(ApiError::invalid_field(
            "auth.scope.project",
            "ecsd issues project-scoped tokens only; name a project by name or id",
        ));
    };
    let project = match (&scope.id, &scope.name) {
        (Some(id), _) => account.project(id),
        (None, Some(name)) => account.project_named(name),
        (None, None) => None,
    }
    .ok_or_else(|| unauthorized("The project in auth.scope does not belong to this domain."))?;
    let base_url = catalog_base_url(identity, &parts)?;
    let issued_at = identity.clock.now();
    let expires_at = issued_at + identity.token_ttl;
    let token = issue(
        &identity.token_key,
        TokenGrant {
            access_key: &account.access_key,
            project_id: &project.id,
            user: &user.name,
            issued_at,
            expires_at,
        },
    );
    let body = token_body(
        identity, account_id, project, &user.name, issued_at, expires_at, &base_url,
    );
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    let value = HeaderValue::from_str(&token).map_err(ApiError::internal)?;
    response.headers_mut().insert("x-subject-token", value);
    Ok(response)
}

/// The base of the catalog's URLs: `--public-url` when set, else the request's scheme (`https`
/// when it came over TLS) and `Host`, which must then be a plain `host[:port]` (it is copied
/// into URLs clients call next).
fn catalog_base_url(identity: &Identity, parts: &Parts) -> Result<String, ApiError> {
    if let Some(url) = &identity.public_url {
        return Ok(url.clone());
    }
    let host = parts
        .headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()))
        .unwrap_or_default();
    if !is_host_and_port(host) {
        return Err(ApiError::invalid_field(
            "Host",
            "must be a host name or IP address with an optional port (it becomes the catalog's endpoint URLs); or start ecsd with --public-url",
        ));
    }
    // The listener records whether the request came over TLS.
    let scheme = parts
        .extensions
        .get::<axum::http::uri::Scheme>()
        .map_or("http", |scheme| scheme.as_str());
    Ok(format!("{scheme}://{host}"))
}

/// `name[:port]` or `[v6]:port`, as URLs carry them: letters, digits, `-`, `.`; at most 255
/// characters.
pub fn is_host_and_port(text: &str) -> bool {
    if text.is_empty() || text.len() > 255 {
        return false;
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            _ => match after.strip_prefix(':') {
                Some(port) => ("v6", Some(port)),
                None => return false,
            },
        }
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.');
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok());
    host_ok && port_ok
}

fn token_body(
    identity: &Identity,
    account_id: AccountId,
    project: &crate::identity::accounts::Project,
    user: &str,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    base_url: &str,
) -> serde_json::Value {
    let domain = identity
        .accounts
        .get(account_id)
        .map(|account| account.domain.clone())
        .unwrap_or_default();
    let domain_id = format!("domain-{account_id}");
    json!({
        "token": {
            "methods": ["password"],
            "expires_at": iso8601_micros(expires_at),
            "issued_at": iso8601_micros(issued_at),
            "user": {
                "id": format!("{domain_id}-{user}"),
                "name": user,
                "domain": {"id": domain_id, "name": domain},
                "password_expires_at": ""
            },
            "project": {
                "id": project.id,
                "name": project.name,
                "domain": {"id": domain_id, "name": domain}
            },
            "roles": [{"id": "te_admin", "name": "te_admin"}],
            "catalog": catalog(&project.id, &project.region, base_url)
        }
    })
}

/// The services of the token's catalog, each with one public endpoint in the project's
/// region: `ecs` (`/v1/{project_id}`), and what the OpenStack clients need: `compute` (the Nova
/// API, `/v2.1/{project_id}`), `image` (`/image`, with a version document), `network`
/// (`/network`; the SDK appends `/v2.0`) and `identity` (`/v3`).
fn catalog(project_id: &str, region: &str, base_url: &str) -> serde_json::Value {
    let services = [
        ("ecs", "ecs", format!("{base_url}/v1/{project_id}")),
        ("compute", "nova", format!("{base_url}/v2.1/{project_id}")),
        ("image", "glance", format!("{base_url}/image")),
        ("network", "neutron", format!("{base_url}/network")),
        ("identity", "keystone", format!("{base_url}/v3")),
    ];
    services
        .iter()
        .map(|(kind, name, url)| {
            json!({
                "type": kind,
                "name": name,
                "id": kind,
                "endpoints": [{
                    "id": format!("{kind}-{project_id}"),
                    "interface": "public",
                    "region": region,
                    "region_id": region,
                    "url": url
                }]
            })
        })
        .collect()
}

/// Compares two strings without stopping at the first difference.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut difference = a.len() ^ b.len();
    for (index, byte) in a.iter().enumerate() {
        difference |= usize::from(byte ^ b.get(index).copied().unwrap_or(!byte));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::accounts::{Account, Project, Secret, User};
    use time::macros::datetime;

    const TTL: Duration = Duration::hours(24);

    fn key() -> TokenKey {
        TokenKey::new(*b"0123456789abcdef0123456789abcdef")
    }

    fn accounts() -> Accounts {
        let account = |ak: &str, sk: &str, domain: &str, project: &str| Account {
            access_key: ak.into(),
            secret_key: Secret::new(sk),
            domain: domain.into(),
            users: vec![User {
                name: "alice".into(),
                password: Secret::new("pw"),
            }],
            projects: vec![Project {
                id: project.into(),
                name: "eu-de".into(),
                region: "eu-de".into(),
                quotas: Default::default(),
            }],
            rate_limit: None,
        };
        Accounts::new(vec![
            account("AK1", "secret-one", "a", "p1"),
            account("AK2", "secret-two", "b", "p2"),
        ])
        .expect("accounts")
    }

    fn grant<'a>(project_id: &'a str, now: OffsetDateTime, lifetime: Duration) -> TokenGrant<'a> {
        TokenGrant {
            access_key: "AK1",
            project_id,
            user: "alice",
            issued_at: now,
            expires_at: now + lifetime,
        }
    }

    /// A token minted as ecsd 0.1 minted them: `ecsd1`, keyed with the account's secret key.
    fn retired_token(secret_key: &str, payload: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes()).expect("key");
        mac.update(b"ecsd-token\n");
        mac.update(payload.as_bytes());
        format!(
            "{RETIRED_PREFIX}.{}.{}",
            hex(payload.as_bytes()),
            hex(&mac.finalize().into_bytes())
        )
    }

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let accounts = accounts();
        let now = datetime!(2026-01-01 12:00 UTC);
        let token = issue(&key(), grant("p1", now, Duration::hours(1)));
        let claims = verify(&key(), &accounts, TTL, &token, now).expect("valid");
        assert_eq!(claims.account, 0);
        assert_eq!(claims.project_id, "p1");
        assert_eq!(claims.user, "alice");
        assert_eq!(claims.issued_at, now);
        assert!(matches!(
            verify(&key(), &accounts, TTL, &token, now + Duration::hours(1)),
            Err(TokenError::Expired(_))
        ));
    }

    #[test]
    fn a_tenant_cannot_mint_a_token_with_its_own_secret_key() {
        let accounts = accounts();
        let now = datetime!(2026-01-01 12:00 UTC);
        // The attack of the security review: account 1 signs, with its own secret key, a token
        // for account 2's project; and the same in the new format with the tenant's key.
        let payload = format!("AK1\np2\nalice\n{}\nnonce", (now + TTL).unix_timestamp());
        let minted = retired_token("secret-one", &payload);
        assert_eq!(
            verify(&key(), &accounts, TTL, &minted, now),
            Err(TokenError::Retired)
        );
        let with_tenant_key = issue(
            &TokenKey::new("secret-one".as_bytes()),
            grant("p2", now, Duration::hours(1)),
        );
        assert_eq!(
            verify(&key(), &accounts, TTL, &with_tenant_key, now),
            Err(TokenError::Forged)
        );
    }

    #[test]
    fn a_token_whose_project_user_or_account_is_gone_is_refused() {
        let now = datetime!(2026-01-01 12:00 UTC);
        let accounts = accounts();
        let lifetime = Duration::hours(1);
        // Signed by ecsd but naming a project of another account, or nobody's.
        for project in ["p2", "nobodys-project"] {
            let token = issue(&key(), grant(project, now, lifetime));
            assert_eq!(
                verify(&key(), &accounts, TTL, &token, now),
                Err(TokenError::Revoked("project")),
                "{project}"
            );
        }
        let mut ghost = grant("p1", now, lifetime);
        ghost.user = "mallory";
        assert_eq!(
            verify(&key(), &accounts, TTL, &issue(&key(), ghost), now),
            Err(TokenError::Revoked("user"))
        );
        let mut unknown = grant("p1", now, lifetime);
        unknown.access_key = "AK9";
        assert_eq!(
            verify(&key(), &accounts, TTL, &issue(&key(), unknown), now),
            Err(TokenError::Revoked("account"))
        );
    }

    #[test]
    fn a_lifetime_longer_than_the_ttl_is_refused() {
        let accounts = accounts();
        let now = datetime!(2026-01-01 12:00 UTC);
        let forever = issue(
            &key(),
            TokenGrant {
                expires_at: datetime!(9999-12-31 0:00 UTC),
                ..grant("p1", now, TTL)
            },
        );
        assert_eq!(
            verify(&key(), &accounts, TTL, &forever, now),
            Err(TokenError::LifetimeTooLong)
        );
        // A token of the full TTL passes; lowering the TTL later refuses it.
        let full = issue(&key(), grant("p1", now, TTL));
        assert!(verify(&key(), &accounts, TTL, &full, now).is_ok());
        assert_eq!(
            verify(&key(), &accounts, Duration::hours(1), &full, now),
            Err(TokenError::LifetimeTooLong)
        );
    }

    #[test]
    fn altered_and_malformed_tokens_are_refused() {
        let accounts = accounts();
        let now = datetime!(2026-01-01 12:00 UTC);
        let token = issue(&key(), grant("p1", now, Duration::hours(1)));
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(unhex(parts[1]).expect("hex")).expect("utf8");
        let altered = payload.replacen("p1", "p2", 1);
        let altered = format!("{PREFIX}.{}.{}", hex(altered.as_bytes()), parts[2]);
        assert_eq!(
            verify(&key(), &accounts, TTL, &altered, now),
            Err(TokenError::Forged)
        );
        let other_key = TokenKey::new(*b"another key of thirty-two bytes!");
        assert_eq!(
            verify(&other_key, &accounts, TTL, &token, now),
            Err(TokenError::Forged),
            "another database's key"
        );
        for junk in [
            "",
            "ecsd2",
            "ecsd2..",
            "x.y.z",
            "ecsd2.zz.00",
            &format!("{token}.x"),
        ] {
            assert_eq!(
                verify(&key(), &accounts, TTL, junk, now),
                Err(TokenError::Malformed),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn catalog_hosts_must_be_plain_host_and_port() {
        for good in [
            "127.0.0.1:8774",
            "ecsd.test",
            "ecs.eu-de.otc.t-systems.com:443",
            "[::1]:8774",
            "[::1]",
            // 255 characters is the longest name allowed; one more is refused below.
            &"a".repeat(255),
        ] {
            assert!(is_host_and_port(good), "{good}");
        }
        for bad in [
            "",
            "evil.com/x?",
            "a b",
            "host:port",
            "user@host",
            "[::1",
            "[zz]:1",
            "h:99999",
            &"a".repeat(256),
        ] {
            assert!(!is_host_and_port(bad), "{bad}");
        }
    }

    #[test]
    fn the_token_key_never_shows_in_debug_output() {
        assert_eq!(format!("{:?}", key()), "TokenKey(***)");
    }

    #[test]
    fn constant_time_eq_compares_whole_strings() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(!constant_time_eq("", "a"));
        assert!(constant_time_eq("", ""));
    }
}
