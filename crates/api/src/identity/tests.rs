//! In-process tests of the authentication middleware ([`auth::authenticate`]) and the token
//! route ([`tokens::issue_token`]) over the real `Identity`, `AppState` and signer: a small
//! router whose handler echoes the [`Caller`] it was given, requests signed with
//! [`signature::authorization_header`], and a [`ManualClock`].
//!
//! Before these, the middleware and the handler were driven only by the slow `it` suite, so
//! the crate's own tests (what `scripts/mutants.sh` runs per mutant) let 33 mutants of
//! `auth.rs` and `tokens.rs` survive (docs/mutants.md). Each test names the rules it guards;
//! every rule here fails a test when it is deleted or inverted.

use crate::identity::accounts::{Account, Accounts, Project, Secret, User};
use crate::identity::auth::{self, Auth, Caller, Identity};
use crate::identity::login_limits::LoginLimits;
use crate::identity::signature;
use crate::identity::tokens::{self, TokenKey};
use crate::{routes, AppState};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use engine::clock::ManualClock;
use engine::engine::{Engine, EngineConfig};
use engine::regions::Regions;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tower::ServiceExt;

const START: OffsetDateTime = datetime!(2026-01-01 12:00 UTC);
const HOST: &str = "ecsd.test:8774";

/// An account of the tests: its key pair, its one user, its projects.
struct Who {
    access_key: &'static str,
    secret_key: &'static str,
    domain: &'static str,
    user: &'static str,
    password: &'static str,
    projects: &'static [&'static str],
}

/// Account 0: one project.
const ONE: Who = Who {
    access_key: "AK-ONE",
    secret_key: "secret-of-one",
    domain: "one",
    user: "alice",
    password: "alice-password",
    projects: &["p-one"],
};

/// Account 1: two projects, so a request naming none has no project.
const TWO: Who = Who {
    access_key: "AK-TWO",
    secret_key: "secret-of-two",
    domain: "two",
    user: "bob",
    password: "bob-password",
    projects: &["p-two-a", "p-two-b"],
};

fn accounts() -> Accounts {
    let account = |who: &Who| Account {
        access_key: who.access_key.into(),
        secret_key: Secret::new(who.secret_key),
        domain: who.domain.into(),
        users: vec![User {
            name: who.user.into(),
            password: Secret::new(who.password),
        }],
        projects: who
            .projects
            .iter()
            .map(|id| Project {
                id: (*id).into(),
                name: format!("eu-de_{id}"),
                region: "eu-de".into(),
                quotas: Default::default(),
            })
            .collect(),
        rate_limit: None,
    };
    Accounts::new(vec![account(&ONE), account(&TWO)]).expect("test accounts are valid")
}

/// The router under test, the identity behind it and its clock.
struct World {
    app: Router,
    identity: Arc<Identity>,
    clock: ManualClock,
}

/// What the handler saw: the caller's account, user and project, and the body.
async fn echo(request: Request) -> Json<Value> {
    let caller = request.extensions().get::<Caller>().cloned();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|body| body.to_bytes())
        .unwrap_or_default();
    Json(json!({
        "caller": caller.map(|caller| json!({
            "account": caller.account,
            "user": caller.user,
            "project_id": caller.project_id,
        })),
        "body": String::from_utf8_lossy(&body),
    }))
}

/// `configure` adjusts the identity (rate limits, public URL…) before it is shared.
fn world(configure: impl FnOnce(Identity) -> Identity) -> World {
    let clock = ManualClock::new(START);
    let store = store::sqlite::SqliteStore::open_ephemeral(&store::StoreOptions::default())
        .expect("ephemeral store opens");
    let engine = Arc::new(Engine::new(
        Arc::new(store),
        Arc::new(clock.clone()),
        EngineConfig::default(),
    ));
    let identity = Arc::new(configure(Identity::new(
        accounts(),
        Arc::new(clock.clone()),
        TokenKey::new(*b"the token key of these tests 32b"),
    )));
    let state = AppState::new(
        engine,
        Regions::builtin(),
        crate::DEFAULT_MAX_BODY_BYTES,
        Auth::Verify(identity.clone()),
    );
    // As `crate::router` layers them: the middleware on the tenant routes, the token route
    // beside them without it.
    let app = Router::new()
        .route("/v1/{project_id}/echo", get(echo).post(echo))
        .route("/v2.1/servers/{server_id}/echo", get(echo))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .route(routes::TOKENS_PATH, post(tokens::issue_token))
        .with_state(state);
    World {
        app,
        identity,
        clock,
    }
}

/// How a test request is signed: which extra headers it carries and which headers it signs.
struct Signing<'a> {
    who: &'a Who,
    /// The secret the signature is computed with (a wrong one for the mismatch case).
    secret_key: &'a str,
    method: Method,
    path: &'a str,
    /// Sent besides `host` and `x-sdk-date`.
    headers: Vec<(&'static str, String)>,
    /// `SignedHeaders`, sorted.
    signed: Vec<&'a str>,
    body: Vec<u8>,
    /// The body the signature covers, when it is not the one sent.
    signed_body: Option<Vec<u8>>,
    at: OffsetDateTime,
}

impl<'a> Signing<'a> {
    /// A GET signed as the SDK signs it: `host`, `x-project-id` (the account's first project)
    /// and `x-sdk-date`.
    fn get(who: &'a Who, path: &'a str) -> Self {
        Self {
            who,
            secret_key: who.secret_key,
            method: Method::GET,
            path,
            headers: vec![("x-project-id", who.projects[0].to_owned())],
            signed: vec!["host", "x-project-id", "x-sdk-date"],
            body: Vec::new(),
            signed_body: None,
            at: START,
        }
    }

    /// The same request without `X-Project-Id`.
    fn without_project_header(mut self) -> Self {
        self.headers.retain(|(name, _)| *name != "x-project-id");
        self.signed.retain(|name| *name != "x-project-id");
        self
    }

    fn request(self) -> Request {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(HOST));
        headers.insert(
            "x-sdk-date",
            HeaderValue::from_str(&signature::sdk_date(self.at)).expect("header"),
        );
        for (name, value) in &self.headers {
            headers.insert(*name, HeaderValue::from_str(value).expect("header"));
        }
        let authorization = signature::authorization_header(
            self.who.access_key,
            self.secret_key,
            self.method.as_str(),
            self.path,
            "",
            &headers,
            &self.signed,
            self.signed_body.as_deref().unwrap_or(&self.body),
        )
        .expect("signs");
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).expect("header"),
        );
        let mut request = Request::builder()
            .method(self.method)
            .uri(self.path)
            .body(Body::from(self.body))
            .expect("request");
        request.headers_mut().extend(headers);
        request
    }
}

/// An answer's status, headers and JSON body (`Null` when the body is not JSON).
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// The error code, in either envelope (`error.code`, or the gateway's `error_code`).
    fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["error_code"].as_str())
            .unwrap_or_default()
    }

    fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .or_else(|| self.body["error_msg"].as_str())
            .unwrap_or_default()
    }

    /// The caller the echo handler saw.
    fn caller(&self) -> &Value {
        &self.body["caller"]
    }

    /// Asserts a refusal: `status`, `code`, and a message containing `says`.
    fn assert_refused(&self, status: StatusCode, code: &str, says: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(self.code(), code, "{}", self.body);
        assert!(
            self.message().contains(says),
            "{:?} does not say {says:?}",
            self.message()
        );
    }
}

async fn send(app: &Router, request: Request) -> Answer {
    let response: Response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn caller(account: usize, user: Option<&str>, project_id: Option<&str>) -> Value {
    json!({"account": account, "user": user, "project_id": project_id})
}

// --- signed requests ------------------------------------------------------------------------

/// A signed request reaches the handler as the account whose key signed it, in the path's
/// project: for account 0 and account 1 (so "the signer is account 0" cannot pass), with
/// `X-Project-Id` equal to the path's project (sent and signed, as the SDKs do).
#[tokio::test]
async fn a_signed_request_reaches_the_handler_as_its_account_and_project() {
    let world = world(|identity| identity);
    let answer = send(&world.app, Signing::get(&ONE, "/v1/p-one/echo").request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(0, None, Some("p-one")));

    let answer = send(&world.app, Signing::get(&TWO, "/v1/p-two-a/echo").request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(1, None, Some("p-two-a")));

    // Without X-Project-Id, the path alone names the project.
    let answer = send(
        &world.app,
        Signing::get(&TWO, "/v1/p-two-b/echo")
            .without_project_header()
            .request(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(1, None, Some("p-two-b")));
}

/// Without a project in the path: `X-Project-Id` names it (one of the account's); without that
/// header, the account's only project, or none for an account with several.
#[tokio::test]
async fn a_route_without_a_project_takes_the_header_or_the_only_project() {
    let world = world(|identity| identity);
    let mut with_header = Signing::get(&TWO, "/v2.1/servers/s-1/echo");
    with_header.headers = vec![("x-project-id", "p-two-b".to_owned())];
    let answer = send(&world.app, with_header.request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(1, None, Some("p-two-b")));

    let answer = send(
        &world.app,
        Signing::get(&ONE, "/v2.1/servers/s-1/echo")
            .without_project_header()
            .request(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(0, None, Some("p-one")));

    let answer = send(
        &world.app,
        Signing::get(&TWO, "/v2.1/servers/s-1/echo")
            .without_project_header()
            .request(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(1, None, None));

    // Another account's project in X-Project-Id is refused.
    let mut foreign = Signing::get(&TWO, "/v2.1/servers/s-1/echo");
    foreign.headers = vec![("x-project-id", "p-one".to_owned())];
    send(&world.app, foreign.request()).await.assert_refused(
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "not a project of these credentials",
    );
}

/// Tenancy of signed requests: a path project the key's account does not own, and an
/// `X-Project-Id` that differs from the path's, are 400 `Common.0018`; the handler never runs.
#[tokio::test]
async fn a_signed_request_for_a_project_of_another_account_is_refused() {
    let world = world(|identity| identity);
    let mut other_path = Signing::get(&ONE, "/v1/p-two-a/echo");
    other_path.headers = vec![("x-project-id", "p-two-a".to_owned())];
    send(&world.app, other_path.request()).await.assert_refused(
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "The project ID p-two-a",
    );

    // Both the account's, but not the same.
    let mut differing = Signing::get(&TWO, "/v1/p-two-a/echo");
    differing.headers = vec![("x-project-id", "p-two-b".to_owned())];
    send(&world.app, differing.request()).await.assert_refused(
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "(p-two-a) is different from X-Project-Id (p-two-b)",
    );
}

/// The signature itself: another secret, an unknown key, and a stale date are 401 `APIGW.0301`
/// with the reason; an unknown key and a wrong signature get the same message.
#[tokio::test]
async fn a_wrong_signature_an_unknown_key_and_a_stale_date_are_refused() {
    let world = world(|identity| identity);
    let mismatch = "the access key is unknown or the signature does not match";
    let mut wrong_secret = Signing::get(&ONE, "/v1/p-one/echo");
    wrong_secret.secret_key = TWO.secret_key;
    send(&world.app, wrong_secret.request())
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "APIGW.0301", mismatch);

    let stranger = Who {
        access_key: "AK-NOBODY",
        ..ONE
    };
    send(
        &world.app,
        Signing::get(&stranger, "/v1/p-one/echo").request(),
    )
    .await
    .assert_refused(StatusCode::UNAUTHORIZED, "APIGW.0301", mismatch);

    let mut stale = Signing::get(&ONE, "/v1/p-one/echo");
    stale.at = START - Duration::minutes(16);
    let answer = send(&world.app, stale.request()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    assert_eq!(answer.code(), "APIGW.0301");
    assert!(
        answer
            .message()
            .starts_with("Incorrect IAM authentication information: "),
        "{}",
        answer.message()
    );
}

/// The signature policy (issue 15 found it could be deleted with every test green):
/// `SignedHeaders` must include `host` and `x-sdk-date`, and `X-Sdk-Content-Sha256` and
/// `X-Project-Id` must be signed when sent — each refused on its own, with a request whose
/// signature is otherwise valid.
#[tokio::test]
async fn the_signature_policy_refuses_each_unsigned_header_on_its_own() {
    let world = world(|identity| identity);
    for (unsigned, says) in [
        ("host", "SignedHeaders must include host"),
        ("x-sdk-date", "SignedHeaders must include x-sdk-date"),
        ("x-project-id", "X-Project-Id is sent but not signed"),
    ] {
        let mut request = Signing::get(&ONE, "/v1/p-one/echo");
        request.signed.retain(|name| *name != unsigned);
        send(&world.app, request.request()).await.assert_refused(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            says,
        );
    }
    let mut hash_unsigned = Signing::get(&ONE, "/v1/p-one/echo");
    hash_unsigned
        .headers
        .push(("x-sdk-content-sha256", signature::body_hash(b"")));
    send(&world.app, hash_unsigned.request())
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            "X-Sdk-Content-Sha256 is sent but not signed",
        );
}

/// A POST whose signed `X-Sdk-Content-Sha256` is a body's hash.
fn post_with_hash(body: &[u8], declared: String) -> Signing<'static> {
    Signing {
        method: Method::POST,
        headers: vec![
            ("x-project-id", "p-one".to_owned()),
            ("x-sdk-content-sha256", declared),
        ],
        signed: vec!["host", "x-project-id", "x-sdk-content-sha256", "x-sdk-date"],
        body: body.to_vec(),
        ..Signing::get(&ONE, "/v1/p-one/echo")
    }
}

/// `X-Sdk-Content-Sha256` stands for the body in the signature, so it must be the body's
/// hash: the right hash passes (the handler gets the body), the hash of another body is
/// refused even though the signature over it is valid; `UNSIGNED-PAYLOAD` passes without a
/// body and is refused with one.
#[tokio::test]
async fn the_signed_body_hash_must_be_the_body_sent() {
    let world = world(|identity| identity);
    let body = br#"{"server": {"name": "a"}}"#;
    let answer = send(
        &world.app,
        post_with_hash(body, signature::body_hash(body)).request(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["body"], String::from_utf8_lossy(body).as_ref());
    assert_eq!(*answer.caller(), caller(0, None, Some("p-one")));

    let mut other_body = post_with_hash(body, signature::body_hash(b"{}"));
    other_body.signed_body = Some(b"{}".to_vec());
    send(&world.app, other_body.request()).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        "APIGW.0301",
        "X-Sdk-Content-Sha256 is not the SHA-256 of the body",
    );

    let empty = post_with_hash(b"", "UNSIGNED-PAYLOAD".to_owned());
    let answer = send(&world.app, empty.request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(0, None, Some("p-one")));

    let unsigned_body = post_with_hash(body, "UNSIGNED-PAYLOAD".to_owned());
    send(&world.app, unsigned_body.request())
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            "UNSIGNED-PAYLOAD is not accepted with a body",
        );
}

/// A request with no credentials, or with a token ecsd did not issue, is refused before the
/// handler runs.
#[tokio::test]
async fn a_request_without_valid_credentials_is_refused() {
    let world = world(|identity| identity);
    let bare = Request::builder()
        .uri("/v1/p-one/echo")
        .header("host", HOST)
        .body(Body::empty())
        .expect("request");
    send(&world.app, bare).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        "APIGW.0301",
        "the request carries no credentials",
    );
    let junk = Request::builder()
        .uri("/v1/p-one/echo")
        .header("x-auth-token", "ecsd2.zz.00")
        .body(Body::empty())
        .expect("request");
    send(&world.app, junk).await.assert_refused(
        StatusCode::UNAUTHORIZED,
        "APIGW.0301",
        "invalid X-Auth-Token",
    );
}

/// The per-key rate limit: with 2 requests per second and a clock that does not move, the
/// third is 429 with `Retry-After`; a second later, or after the limits are reset
/// (`POST /_ecsd/reset`), the key may call again.
#[tokio::test]
async fn a_key_over_its_rate_limit_is_throttled_until_its_allowance_refills() {
    let world = world(|identity| identity.with_default_rate_limit(2));
    let call = || Signing::get(&ONE, "/v1/p-one/echo");
    for _ in 0..2 {
        let answer = send(&world.app, call().request()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let throttled = send(&world.app, call().request()).await;
    throttled.assert_refused(
        StatusCode::TOO_MANY_REQUESTS,
        "APIGW.0308",
        "policy user over ratelimit,limit:2",
    );
    assert_eq!(
        throttled.headers.get("retry-after"),
        Some(&HeaderValue::from_static("1"))
    );
    // Another key has its own allowance.
    let answer = send(&world.app, Signing::get(&TWO, "/v1/p-two-a/echo").request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);

    world.identity.reset_limits();
    let answer = send(&world.app, call().request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = send(&world.app, call().request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        send(&world.app, call().request()).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    world.clock.advance(Duration::seconds(1));
    let mut later = call();
    later.at = START + Duration::seconds(1);
    let answer = send(&world.app, later.request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

// --- tokens -----------------------------------------------------------------------------------

/// A Keystone v3 password token request for `who`'s user, scoped to `project` by id.
fn token_request(user: &str, password: &str, domain: &str, project: &str) -> Value {
    json!({"auth": {
        "identity": {
            "methods": ["password"],
            "password": {"user": {"name": user, "password": password, "domain": {"name": domain}}}
        },
        "scope": {"project": {"id": project}}
    }})
}

/// `POST /v3/auth/tokens` with `body`, from `client` if given (as the listener records it).
fn token_call(body: &Value, host: &str, client: Option<&str>) -> Request {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(routes::TOKENS_PATH)
        .header("host", host)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    if let Some(client) = client {
        let address: SocketAddr = client.parse().expect("address");
        request.extensions_mut().insert(ConnectInfo(address));
    }
    request
}

fn subject_token(answer: &Answer) -> String {
    answer
        .headers
        .get("x-subject-token")
        .and_then(|value| value.to_str().ok())
        .expect("X-Subject-Token")
        .to_owned()
}

fn with_token(path: &str, token: &str) -> Request {
    Request::builder()
        .uri(path)
        .header("x-auth-token", token)
        .body(Body::empty())
        .expect("request")
}

/// A password token: 201, the token in `X-Subject-Token`, issued now and expiring after the
/// TTL, a catalog whose endpoints are this ecsd (`http://` and the `Host`); the token then
/// authenticates as its user in its project, and only there.
#[tokio::test]
async fn a_password_token_is_issued_and_authenticates_as_its_user_and_project() {
    let world = world(|identity| identity.with_token_ttl(Duration::hours(2)));
    let answer = send(
        &world.app,
        token_call(
            &token_request(ONE.user, ONE.password, ONE.domain, "p-one"),
            HOST,
            None,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let token = &answer.body["token"];
    assert_eq!(token["issued_at"], "2026-01-01T12:00:00.000000Z");
    assert_eq!(token["expires_at"], "2026-01-01T14:00:00.000000Z");
    assert_eq!(token["user"]["name"], ONE.user);
    assert_eq!(token["project"]["id"], "p-one");
    assert_eq!(token["project"]["domain"]["name"], ONE.domain);
    let catalog = token["catalog"].as_array().expect("catalog");
    let url = |kind: &str| {
        catalog
            .iter()
            .find(|service| service["type"] == kind)
            .map(|service| service["endpoints"][0]["url"].clone())
    };
    assert_eq!(url("ecs"), Some(json!("http://ecsd.test:8774/v1/p-one")));
    assert_eq!(
        url("compute"),
        Some(json!("http://ecsd.test:8774/v2.1/p-one"))
    );
    assert_eq!(url("identity"), Some(json!("http://ecsd.test:8774/v3")));

    let token = subject_token(&answer);
    let answer = send(&world.app, with_token("/v1/p-one/echo", &token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(0, Some(ONE.user), Some("p-one")));
    // Without a project in the path, the token's.
    let answer = send(&world.app, with_token("/v2.1/servers/s-1/echo", &token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(0, Some(ONE.user), Some("p-one")));

    // Another project in the path: 400 Common.0018, whoever owns it.
    send(&world.app, with_token("/v1/p-two-a/echo", &token))
        .await
        .assert_refused(
            StatusCode::BAD_REQUEST,
            "Common.0018",
            "is different from that in the token (p-one)",
        );

    // The token expires with the TTL.
    world.clock.advance(Duration::hours(2));
    send(&world.app, with_token("/v1/p-one/echo", &token))
        .await
        .assert_refused(StatusCode::UNAUTHORIZED, "APIGW.0301", "expired");
}

/// A token of account 1 authenticates as account 1 (not "account 0", the default), with its
/// rate limit applied to its key like a signature's.
#[tokio::test]
async fn a_token_carries_its_account_and_meters_its_key() {
    let world = world(|identity| identity.with_default_rate_limit(1));
    let answer = send(
        &world.app,
        token_call(
            &token_request(TWO.user, TWO.password, TWO.domain, "p-two-b"),
            HOST,
            None,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let token = subject_token(&answer);
    let answer = send(&world.app, with_token("/v1/p-two-b/echo", &token)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(*answer.caller(), caller(1, Some(TWO.user), Some("p-two-b")));
    assert_eq!(
        send(&world.app, with_token("/v1/p-two-b/echo", &token))
            .await
            .status,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// What the token route refuses: a method other than `password`, a wrong password (401
/// `Common.0013`, the same answer as an unknown user), a project of another domain, and a
/// `Host` that cannot become the catalog's URLs.
#[tokio::test]
async fn token_requests_with_a_wrong_method_password_project_or_host_are_refused() {
    let world = world(|identity| identity);
    let mut token_method = token_request(ONE.user, ONE.password, ONE.domain, "p-one");
    token_method["auth"]["identity"]["methods"] = json!(["token"]);
    send(&world.app, token_call(&token_method, HOST, None))
        .await
        .assert_refused(StatusCode::BAD_REQUEST, "Ecs.0005", "auth.identity.methods");

    let wrong = "The user name, password or domain is wrong.";
    for (user, password) in [(ONE.user, "not-the-password"), ("mallory", ONE.password)] {
        let answer = send(
            &world.app,
            token_call(
                &token_request(user, password, ONE.domain, "p-one"),
                HOST,
                None,
            ),
        )
        .await;
        answer.assert_refused(StatusCode::UNAUTHORIZED, "Common.0013", wrong);
        assert!(answer.headers.get("x-subject-token").is_none());
    }

    send(
        &world.app,
        token_call(
            &token_request(ONE.user, ONE.password, ONE.domain, "p-two-a"),
            HOST,
            None,
        ),
    )
    .await
    .assert_refused(
        StatusCode::UNAUTHORIZED,
        "Common.0013",
        "does not belong to this domain",
    );

    send(
        &world.app,
        token_call(
            &token_request(ONE.user, ONE.password, ONE.domain, "p-one"),
            "evil.example/x?",
            None,
        ),
    )
    .await
    .assert_refused(StatusCode::BAD_REQUEST, "Ecs.0005", "Host");
}

/// With `--public-url`, the catalog's endpoints are under it, whatever the `Host` says.
#[tokio::test]
async fn the_public_url_replaces_the_host_in_the_catalog() {
    let world =
        world(|identity| identity.with_public_url(Some("https://ecs.example.com/".to_owned())));
    let answer = send(
        &world.app,
        token_call(
            &token_request(ONE.user, ONE.password, ONE.domain, "p-one"),
            "anything.test",
            None,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let ecs = answer.body["token"]["catalog"]
        .as_array()
        .and_then(|catalog| catalog.iter().find(|service| service["type"] == "ecs"))
        .map(|service| service["endpoints"][0]["url"].clone());
    assert_eq!(ecs, Some(json!("https://ecs.example.com/v1/p-one")));
}

/// Failed passwords are counted per client address: after the free failures, the client that
/// guessed waits (429) even with the right password, while the real user from another address
/// gets a token at once.
#[tokio::test]
async fn wrong_passwords_hold_up_the_guessing_client_not_the_user_elsewhere() {
    let world = world(|identity| {
        identity.with_login_limits(LoginLimits {
            per_client: 100,
            per_account: 100,
            free_failures: 2,
            max_backoff: Duration::minutes(15),
        })
    });
    let guess = token_request(ONE.user, "guess", ONE.domain, "p-one");
    let right = token_request(ONE.user, ONE.password, ONE.domain, "p-one");
    for _ in 0..3 {
        let answer = send(&world.app, token_call(&guess, HOST, Some("10.0.0.1:4000"))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    }
    let held = send(&world.app, token_call(&right, HOST, Some("10.0.0.1:4001"))).await;
    held.assert_refused(
        StatusCode::TOO_MANY_REQUESTS,
        "APIGW.0308",
        "policy login backoff",
    );
    let elsewhere = send(&world.app, token_call(&right, HOST, Some("10.0.0.2:4000"))).await;
    assert_eq!(elsewhere.status, StatusCode::CREATED, "{}", elsewhere.body);
    // A full reset (`POST /_ecsd/reset`) forgets the failures too.
    world.identity.reset_limits();
    let forgiven = send(&world.app, token_call(&right, HOST, Some("10.0.0.1:4002"))).await;
    assert_eq!(forgiven.status, StatusCode::CREATED, "{}", forgiven.body);
}

/// A token scoped by project name (`auth.scope.project.name`, as keystoneauth sends
/// `OS_PROJECT_NAME`) is for the project of that name in the user's domain, here the second of
/// two.
#[tokio::test]
async fn a_token_scoped_by_project_name_is_for_that_project() {
    let world = world(|identity| identity);
    let mut by_name = token_request(TWO.user, TWO.password, TWO.domain, "unused");
    by_name["auth"]["scope"]["project"] = json!({"name": "eu-de_p-two-b"});
    let answer = send(&world.app, token_call(&by_name, HOST, None)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    assert_eq!(answer.body["token"]["project"]["id"], "p-two-b");
    let answer = send(
        &world.app,
        with_token("/v2.1/servers/s-1/echo", &subject_token(&answer)),
    )
    .await;
    assert_eq!(*answer.caller(), caller(1, Some(TWO.user), Some("p-two-b")));

    by_name["auth"]["scope"]["project"] = json!({"name": "eu-de_p-one"});
    send(&world.app, token_call(&by_name, HOST, None))
        .await
        .assert_refused(
            StatusCode::UNAUTHORIZED,
            "Common.0013",
            "does not belong to this domain",
        );
}

/// `--clock virtual`: tokens live on the engine's clock, while the `X-Sdk-Date` window and the
/// login limits run on the wall clock, and the login limits configured before the wall clock
/// was set are kept (`ecsd serve` sets the wall clock first; the builder must not reset them).
#[tokio::test]
async fn the_wall_clock_meters_the_login_limits_and_checks_signature_dates() {
    let wall = ManualClock::new(START + Duration::days(30));
    let wall_for_identity = wall.clone();
    let world = world(move |identity| {
        identity
            .with_login_limits(LoginLimits {
                per_client: 100,
                per_account: 100,
                free_failures: 1,
                max_backoff: Duration::minutes(15),
            })
            .with_wall_clock(Arc::new(wall_for_identity))
    });
    // Signed at the wall clock's time, a month after the engine's: accepted; at the engine's
    // time: outside the window.
    let mut at_wall_time = Signing::get(&ONE, "/v1/p-one/echo");
    at_wall_time.at = START + Duration::days(30);
    let answer = send(&world.app, at_wall_time.request()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let answer = send(&world.app, Signing::get(&ONE, "/v1/p-one/echo").request()).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);

    // One free failure (not the default five): the second makes the client wait a second.
    let guess = token_request(ONE.user, "guess", ONE.domain, "p-one");
    let right = token_request(ONE.user, ONE.password, ONE.domain, "p-one");
    for _ in 0..2 {
        let answer = send(&world.app, token_call(&guess, HOST, Some("10.0.0.1:4000"))).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    }
    let held = send(&world.app, token_call(&right, HOST, Some("10.0.0.1:4000"))).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "{}", held.body);
    // The engine's clock moving does not end the wait; the wall clock's does.
    world.clock.advance(Duration::seconds(1));
    let held = send(&world.app, token_call(&right, HOST, Some("10.0.0.1:4000"))).await;
    assert_eq!(held.status, StatusCode::TOO_MANY_REQUESTS, "{}", held.body);
    wall.advance(Duration::seconds(1));
    let answer = send(&world.app, token_call(&right, HOST, Some("10.0.0.1:4000"))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    // The token is dated by the engine's clock.
    assert_eq!(
        answer.body["token"]["issued_at"],
        "2026-01-01T12:00:01.000000Z"
    );
}
