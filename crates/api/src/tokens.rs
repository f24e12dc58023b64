//! IAM-style tokens for OpenStack-style clients (keystoneauth, Ansible's `hwc_*` modules,
//! token-based Terraform configurations): `POST /v3/auth/tokens` with the password method, and
//! the `X-Auth-Token` check on every ECS path.
//!
//! Tokens are stateless: `ecsd1.<hex payload>.<hex HMAC>`, where the payload names the access
//! key, project, user and expiry, and the HMAC is keyed with the account's secret key. So a
//! token stays valid across restarts and on every node that has the same accounts, a forged
//! or altered token fails the HMAC, and changing an account's secret key revokes its tokens.
//! There is no other revocation.

use crate::accounts::{AccountId, Accounts};
use crate::auth::Identity;
use crate::error::ApiError;
use crate::error_codes;
use crate::time_format::iso8601_micros;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use time::OffsetDateTime;

const PREFIX: &str = "ecsd1";

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub account: AccountId,
    pub project_id: String,
    pub user: String,
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or was not issued by ecsd")]
    Malformed,
    #[error("the token was not issued by this ecsd (unknown account or bad signature)")]
    Forged,
    #[error("the token expired at {0}")]
    Expired(String),
}

fn mac(secret_key: &str, payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(b"ecsd-token\n");
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

/// A new token for `user` of account `account`, scoped to `project_id`, valid until `expires_at`.
pub fn issue(
    access_key: &str,
    secret_key: &str,
    project_id: &str,
    user: &str,
    expires_at: OffsetDateTime,
) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let payload = format!(
        "{access_key}\n{project_id}\n{user}\n{}\n{nonce}",
        expires_at.unix_timestamp()
    );
    let signature = mac(secret_key, &payload).finalize().into_bytes();
    format!("{PREFIX}.{}.{}", hex(payload.as_bytes()), hex(&signature))
}

/// Checks a token's form, HMAC and expiry against `now`.
pub fn verify(
    accounts: &Accounts,
    token: &str,
    now: OffsetDateTime,
) -> Result<TokenClaims, TokenError> {
    let mut parts = token.split('.');
    let (Some(PREFIX), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let payload = unhex(payload)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(TokenError::Malformed)?;
    let signature = unhex(signature).ok_or(TokenError::Malformed)?;
    let fields: Vec<&str> = payload.split('\n').collect();
    let [access_key, project_id, user, expires, _nonce] = fields[..] else {
        return Err(TokenError::Malformed);
    };
    let (account_id, account) = accounts
        .by_access_key(access_key)
        .ok_or(TokenError::Forged)?;
    mac(account.secret_key.expose(), &payload)
        .verify_slice(&signature)
        .map_err(|_| TokenError::Forged)?;
    let expires_at = expires
        .parse::<i64>()
        .ok()
        .and_then(|seconds| OffsetDateTime::from_unix_timestamp(seconds).ok())
        .ok_or(TokenError::Malformed)?;
    if now >= expires_at {
        return Err(TokenError::Expired(iso8601_micros(expires_at)));
    }
    Ok(TokenClaims {
        account: account_id,
        project_id: project_id.to_owned(),
        user: user.to_owned(),
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

/// `POST /v3/auth/tokens`: the Keystone v3 password method, answered as IAM answers it (201,
/// the token in `X-Subject-Token`, `token.expires_at`, and a catalog whose `ecs` endpoint is
/// this ecsd with `/v1/{project_id}`, built from the request's `Host`).
pub async fn issue_token(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let crate::auth::Auth::Verify(identity) = &state.auth else {
        return Err(ApiError::new(
            error_codes::ECSD_ROUTE_NOT_FOUND,
            "Tokens are not issued when ecsd runs with --auth off.",
        ));
    };
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
    // Password guessing is throttled per domain, at the keys' default rate.
    if let Some(refusal) = identity.throttle(
        &format!("iam-domain:{domain}"),
        identity.default_rate_limit,
        "token requests for this domain",
    ) {
        return Ok(refusal);
    }
    let wrong = || unauthorized("The user name, password or domain is wrong.");
    let (account_id, account) = identity.accounts.by_domain(&domain).ok_or_else(wrong)?;
    let known = account.user(&user.name).ok_or_else(wrong)?;
    if !constant_time_eq(known.password.expose(), &user.password) {
        return Err(wrong());
    }
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
    let issued_at = identity.clock.now();
    let expires_at = issued_at + identity.token_ttl;
    let token = issue(
        &account.access_key,
        account.secret_key.expose(),
        &project.id,
        &user.name,
        expires_at,
    );
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1:8774");
    let body = token_body(
        identity, account_id, project, &user.name, issued_at, expires_at, host,
    );
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    let value = HeaderValue::from_str(&token).map_err(ApiError::internal)?;
    response.headers_mut().insert("x-subject-token", value);
    Ok(response)
}

fn token_body(
    identity: &Identity,
    account_id: AccountId,
    project: &crate::accounts::Project,
    user: &str,
    issued_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    host: &str,
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
            "catalog": [{
                "type": "ecs",
                "name": "ecs",
                "id": "ecs",
                "endpoints": [{
                    "id": format!("ecs-{}", project.id),
                    "interface": "public",
                    "region": project.region,
                    "region_id": project.region,
                    "url": format!("http://{host}/v1/{}", project.id)
                }]
            }]
        }
    })
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
    use crate::accounts::{Account, Project, Secret};
    use time::macros::datetime;

    fn accounts() -> Accounts {
        let account = |ak: &str, sk: &str, domain: &str, project: &str| Account {
            access_key: ak.into(),
            secret_key: Secret::new(sk),
            domain: domain.into(),
            users: vec![],
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

    #[test]
    fn an_issued_token_verifies_until_it_expires() {
        let accounts = accounts();
        let now = datetime!(2026-01-01 12:00 UTC);
        let token = issue(
            "AK1",
            "secret-one",
            "p1",
            "alice",
            now + time::Duration::hours(1),
        );
        let claims = verify(&accounts, &token, now).expect("valid");
        assert_eq!(claims.account, 0);
        assert_eq!(claims.project_id, "p1");
        assert_eq!(claims.user, "alice");
        assert!(matches!(
            verify(&accounts, &token, now + time::Duration::hours(1)),
            Err(TokenError::Expired(_))
        ));
    }

    #[test]
    fn altered_forged_and_malformed_tokens_are_refused() {
        let accounts = accounts();
        let now = datetime!(2026-01-01 12:00 UTC);
        let later = now + time::Duration::hours(1);
        // Signed with the wrong account's secret: claims AK1 but keyed with AK2's secret.
        let forged = issue("AK1", "secret-two", "p1", "alice", later);
        assert_eq!(verify(&accounts, &forged, now), Err(TokenError::Forged));
        // Payload altered to another project: the HMAC no longer matches.
        let token = issue("AK1", "secret-one", "p1", "alice", later);
        let parts: Vec<&str> = token.split('.').collect();
        let payload = String::from_utf8(unhex(parts[1]).expect("hex")).expect("utf8");
        let altered = payload.replacen("p1", "p2", 1);
        let altered = format!("{PREFIX}.{}.{}", hex(altered.as_bytes()), parts[2]);
        assert_eq!(verify(&accounts, &altered, now), Err(TokenError::Forged));
        let unknown = issue("AK9", "secret-one", "p1", "alice", later);
        assert_eq!(verify(&accounts, &unknown, now), Err(TokenError::Forged));
        for junk in [
            "",
            "ecsd1",
            "ecsd1..",
            "x.y.z",
            "ecsd1.zz.00",
            &format!("{token}.x"),
        ] {
            assert_eq!(
                verify(&accounts, junk, now),
                Err(TokenError::Malformed),
                "{junk:?}"
            );
        }
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
