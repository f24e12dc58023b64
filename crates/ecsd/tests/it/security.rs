//! Identity and tenancy in-process: the mutation matrix over a valid signed request, tenancy
//! between two accounts, the IAM token flow, the rate limit and the header limit.

use crate::http::Api;
use crate::support::{config, create_body, signed_request, Harness, HOST, LOCAL, OTHER, PROJECT};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use engine::clock::Clock;
use engine::compute::LatencyProfile;
use serde_json::{json, Value};

/// Asserts status and code of an answer.
fn refused(answer: &(StatusCode, Value), status: StatusCode, code: &str, what: &str) {
    let (actual, body) = answer;
    assert_eq!(*actual, status, "{what}: {body}");
    assert_eq!(crate::support::error_code(body), code, "{what}: {body}");
    assert!(
        !crate::support::error_message(body).is_empty(),
        "{what}: {body}"
    );
}

async fn send(api: &Api, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = api.send_request(request).await;
    (status, body)
}

/// A request rebuilt from its parts with `change` applied to the parts and body.
fn mutated(
    request: &Request<Body>,
    body: &[u8],
    change: impl FnOnce(&mut axum::http::request::Parts, &mut Vec<u8>),
) -> Request<Body> {
    let mut builder = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone());
    if let Some(headers) = builder.headers_mut() {
        *headers = request.headers().clone();
    }
    let (mut parts, ()) = builder.body(()).expect("request").into_parts();
    let mut body = body.to_vec();
    change(&mut parts, &mut body);
    Request::from_parts(parts, Body::from(body))
}

async fn server_count(api: &Api) -> u64 {
    let (_, list) = api.get(&format!("/v1/{PROJECT}/cloudservers/detail")).await;
    list["count"].as_u64().expect("count")
}

#[tokio::test]
async fn every_mutation_of_a_signed_request_is_refused_and_creates_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let now = api.harness.clock.now();
    let path = format!("/v1/{PROJECT}/cloudservers");
    let body = create_body("signed", 1).to_string().into_bytes();
    let json = Some("application/json;charset=utf-8");
    let original = || signed_request(LOCAL, now, &Method::POST, &path, json, &body);

    type Mutation = Box<dyn FnOnce(&mut axum::http::request::Parts, &mut Vec<u8>)>;
    let set = |name: &'static str, value: &'static str| -> Mutation {
        Box::new(move |parts, _| {
            parts.headers.insert(name, HeaderValue::from_static(value));
        })
    };
    let edit_authorization = |from: &'static str, to: &'static str| -> Mutation {
        Box::new(move |parts, _| {
            let value = parts.headers["authorization"]
                .to_str()
                .expect("ascii")
                .replace(from, to);
            parts.headers.insert(
                "authorization",
                HeaderValue::from_str(&value).expect("header"),
            );
        })
    };
    let drop_header = |name: &'static str| -> Mutation {
        Box::new(move |parts, _| {
            parts.headers.remove(name);
        })
    };
    let other_project_path = format!("/v1/{}/cloudservers", OTHER.project);
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "content-type changed",
            set("content-type", "application/json"),
        ),
        ("host changed", set("host", "evil.test:8774")),
        (
            "x-project-id changed",
            set("x-project-id", "fedcba9876543210fedcba9876543210"),
        ),
        ("x-sdk-date changed by a second", {
            let later = api::identity::signature::sdk_date(now + time::Duration::seconds(1));
            Box::new(move |parts, _| {
                parts
                    .headers
                    .insert("x-sdk-date", HeaderValue::from_str(&later).expect("header"));
            })
        }),
        ("content-type dropped", drop_header("content-type")),
        ("host dropped", drop_header("host")),
        ("x-project-id dropped", drop_header("x-project-id")),
        ("x-sdk-date dropped", drop_header("x-sdk-date")),
        (
            "one body byte changed",
            Box::new(|_, body| {
                let at = body.len() / 2;
                body[at] ^= 0x01;
            }),
        ),
        (
            "body with a trailing space",
            Box::new(|_, body| body.push(b' ')),
        ),
        ("path changed to another project (replay)", {
            let path = other_project_path.clone();
            Box::new(move |parts, _| {
                parts.uri = path.parse().expect("uri");
            })
        }),
        ("query added", {
            let path = format!("{path}?dry_run=true");
            Box::new(move |parts, _| {
                parts.uri = path.parse().expect("uri");
            })
        }),
        (
            "unsigned payload claimed",
            set("x-sdk-content-sha256", "UNSIGNED-PAYLOAD"),
        ),
        (
            "signature's last digit changed",
            Box::new(|parts, _| {
                let value = parts.headers["authorization"]
                    .to_str()
                    .expect("ascii")
                    .to_owned();
                let last = if value.ends_with('0') { '1' } else { '0' };
                let changed = format!("{}{last}", &value[..value.len() - 1]);
                parts.headers.insert(
                    "authorization",
                    HeaderValue::from_str(&changed).expect("header"),
                );
            }),
        ),
        (
            "unsupported algorithm",
            edit_authorization("SDK-HMAC-SHA256", "SDK-HMAC-SM3"),
        ),
        (
            "unknown access key",
            edit_authorization(LOCAL.access_key, "UNKNOWNACCESSKEY0001"),
        ),
        (
            "malformed Authorization",
            set("authorization", "SDK-HMAC-SHA256 garbage"),
        ),
        (
            "SignedHeaders without host",
            edit_authorization(";host;", ";"),
        ),
    ];
    for (what, mutation) in mutations {
        let answer = send(&api, mutated(&original(), &body, mutation)).await;
        refused(&answer, StatusCode::UNAUTHORIZED, "APIGW.0301", what);
    }

    // Signed correctly, but outside the ±15 minute window, either way.
    for skew in [time::Duration::minutes(-16), time::Duration::minutes(16)] {
        let stale = signed_request(LOCAL, now + skew, &Method::POST, &path, json, &body);
        let answer = send(&api, stale).await;
        refused(
            &answer,
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            "date outside the window",
        );
        assert!(
            answer.1["error_msg"]
                .as_str()
                .is_some_and(|m| m.contains("15 minutes")),
            "{}",
            answer.1
        );
    }
    // Within the window is fine: clocks are allowed to differ a little.
    let skewed = signed_request(
        LOCAL,
        now - time::Duration::minutes(14),
        &Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/detail"),
        None,
        b"",
    );
    assert_eq!(send(&api, skewed).await.0, StatusCode::OK);

    // Another key's secret under this access key.
    let forged = signed_request(
        crate::support::Credentials {
            secret_key: OTHER.secret_key,
            ..LOCAL
        },
        now,
        &Method::POST,
        &path,
        json,
        &body,
    );
    refused(
        &send(&api, forged).await,
        StatusCode::UNAUTHORIZED,
        "APIGW.0301",
        "another key's signature",
    );
    // No credentials at all.
    let bare = Request::builder()
        .method(Method::POST)
        .uri(&path)
        .header("content-type", "application/json")
        .header("host", HOST)
        .body(Body::from(body.clone()))
        .expect("request");
    refused(
        &send(&api, bare).await,
        StatusCode::UNAUTHORIZED,
        "APIGW.0301",
        "no credentials",
    );

    assert_eq!(
        server_count(&api).await,
        0,
        "no refused request created anything"
    );
    // And the original, untouched, works.
    let (status, accepted) = send(&api, original()).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(server_count(&api).await, 1);
}

#[tokio::test]
async fn the_query_is_verified_in_canonical_form_whatever_its_order_and_escaping() {
    let api = Api::new(LatencyProfile::Instant);
    // As the Node SDK sends it: parameters unsorted, `!*'()` unescaped, space as %20.
    let (status, body) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/detail?name=x!*'()%20y&limit=10"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["count"], 0);
}

#[tokio::test]
async fn a_key_acts_only_on_its_own_projects() {
    let api = Api::new(LatencyProfile::Instant);
    let created = api.create("tenant", 1).await;
    let server = created["serverIds"][0].as_str().expect("id");
    // OTHER signs correctly, but for LOCAL's project: the reference's Common.0018.
    for path in [
        format!("/v1/{PROJECT}/cloudservers/{server}"),
        format!("/v1/{PROJECT}/cloudservers/detail"),
        format!(
            "/v1/{PROJECT}/jobs/{}",
            created["job_id"].as_str().expect("id")
        ),
    ] {
        refused(
            &api.get_as(OTHER, &path).await,
            StatusCode::BAD_REQUEST,
            "Common.0018",
            &path,
        );
    }
    let delete = json!({"servers": [{"id": server}]}).to_string();
    refused(
        &api.send_as(
            OTHER,
            Method::POST,
            &format!("/v1/{PROJECT}/cloudservers/delete"),
            Some("application/json"),
            &delete,
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "delete in another account's project",
    );
    // X-Project-Id must name the path's project even for the owner.
    let request = signed_request(
        crate::support::Credentials {
            project: OTHER.project,
            ..LOCAL
        },
        api.harness.clock.now(),
        &Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/detail"),
        None,
        b"",
    );
    assert_eq!(
        request.headers()["x-project-id"],
        OTHER.project,
        "signed with a foreign X-Project-Id"
    );
    refused(
        &send(&api, request).await,
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "X-Project-Id differs from the path",
    );
    // The server is untouched and visible to its owner.
    let (status, shown) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/{server}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{shown}");
}

/// The body Ansible's `hwc_ecs_instance` (keystoneauth) sends.
fn password_request(user: &str, password: &str, domain: &str, project: &str) -> String {
    json!({"auth": {"identity": {"methods": ["password"],
                                 "password": {"user": {"password": password,
                                                       "name": user,
                                                       "domain": {"name": domain}}}},
                    "scope": {"project": {"name": project}}}})
    .to_string()
}

async fn token_request(api: &Api, body: String) -> (StatusCode, axum::http::HeaderMap, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v3/auth/tokens")
        .header("content-type", "application/json")
        .header("host", HOST)
        .body(Body::from(body))
        .expect("request");
    api.send_request(request).await
}

fn with_token(method: Method, path: &str, token: &str, body: &str) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("x-auth-token", token)
        .header("accept", "application/json")
        .header("user-agent", "Huawei-Ansible-MM-ecs");
    if !body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    request.body(Body::from(body.to_owned())).expect("request")
}

#[tokio::test]
async fn password_tokens_work_on_ecs_paths_until_they_expire() {
    let api = Api::new(LatencyProfile::Instant);
    let (status, headers, body) = token_request(
        &api,
        password_request("ecsd", ecsd::config::DEFAULT_PASSWORD, "ecsd", "eu-de"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = headers["x-subject-token"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let expires_at = body["token"]["expires_at"].as_str().expect("expires_at");
    assert_eq!(
        expires_at, "2026-01-02T12:00:00.000000Z",
        "24 hours from now"
    );
    let catalog = &body["token"]["catalog"];
    let ecs = catalog
        .as_array()
        .and_then(|services| services.iter().find(|service| service["type"] == "ecs"))
        .expect("an ecs service");
    let endpoint = &ecs["endpoints"][0];
    assert_eq!(endpoint["interface"], "public");
    assert_eq!(endpoint["region_id"], "eu-de");
    assert_eq!(
        endpoint["url"],
        format!("http://{HOST}/v1/{PROJECT}"),
        "the catalog points back at this ecsd, with the project"
    );
    assert_eq!(body["token"]["project"]["id"], PROJECT);

    // The token works for reads and writes on its project.
    let create = create_body("tokened", 1).to_string();
    let (status, created) = send(
        &api,
        with_token(
            Method::POST,
            &format!("/v1/{PROJECT}/cloudservers"),
            &token,
            &create,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let (status, list) = send(
        &api,
        with_token(
            Method::GET,
            &format!("/v1/{PROJECT}/cloudservers/detail"),
            &token,
            "",
        ),
    )
    .await;
    assert_eq!((status, list["count"].as_u64()), (StatusCode::OK, Some(1)));

    // Not on another project.
    refused(
        &send(
            &api,
            with_token(
                Method::GET,
                &format!("/v1/{}/cloudservers/detail", OTHER.project),
                &token,
                "",
            ),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "token for another project",
    );
    // Tampered and unknown tokens.
    let mut tampered = token.clone().into_bytes();
    let at = tampered.len() - 1;
    tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    for bad in [tampered.as_str(), "MIIxyz-not-ours", ""] {
        refused(
            &send(
                &api,
                with_token(
                    Method::GET,
                    &format!("/v1/{PROJECT}/cloudservers/detail"),
                    bad,
                    "",
                ),
            )
            .await,
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            bad,
        );
    }
    // Expired: a day later.
    api.harness.advance_ms(24 * 3600 * 1000);
    refused(
        &send(
            &api,
            with_token(
                Method::GET,
                &format!("/v1/{PROJECT}/cloudservers/detail"),
                &token,
                "",
            ),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "APIGW.0301",
        "expired token",
    );
}

#[tokio::test]
async fn token_requests_with_wrong_credentials_get_401() {
    let api = Api::new(LatencyProfile::Instant);
    let good = ecsd::config::DEFAULT_PASSWORD;
    for (what, body) in [
        (
            "wrong password",
            password_request("ecsd", "wrong", "ecsd", "eu-de"),
        ),
        (
            "unknown user",
            password_request("mallory", good, "ecsd", "eu-de"),
        ),
        (
            "unknown domain",
            password_request("ecsd", good, "nowhere", "eu-de"),
        ),
        (
            "another domain's project",
            password_request("ecsd", good, "ecsd", "eu-nl_other"),
        ),
        (
            "another domain's password",
            password_request("bob", good, "other", "eu-nl_other"),
        ),
    ] {
        let (status, headers, body) = token_request(&api, body).await;
        refused(
            &(status, body),
            StatusCode::UNAUTHORIZED,
            "Common.0013",
            what,
        );
        assert!(headers.get("x-subject-token").is_none(), "{what}");
    }
    let (status, _, body) = token_request(&api, "{\"auth\": 1}".into()).await;
    refused(
        &(status, body),
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "malformed",
    );
    // The other tenant gets its own project's token, by project id too.
    let by_id = json!({"auth": {"identity": {"methods": ["password"],
        "password": {"user": {"name": "bob", "password": "bob-password", "domain": {"name": "other"}}}},
        "scope": {"project": {"id": OTHER.project}}}});
    let (status, _, body) = token_request(&api, by_id.to_string()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        body["token"]["catalog"][0]["endpoints"][0]["region_id"],
        "eu-nl"
    );
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_do_not() {
    let api = Api::with_identity(
        Harness::new(config(LatencyProfile::Instant)),
        api::DEFAULT_MAX_BODY_BYTES,
        |identity| identity.with_default_rate_limit(3),
    );
    let path = format!("/v1/{PROJECT}/cloudservers/detail");
    for _ in 0..3 {
        assert_eq!(api.get(&path).await.0, StatusCode::OK);
    }
    let request = signed_request(
        LOCAL,
        api.harness.clock.now(),
        &Method::GET,
        &path,
        None,
        b"",
    );
    let (status, headers, body) = api.send_request(request).await;
    refused(
        &(status, body),
        StatusCode::TOO_MANY_REQUESTS,
        "APIGW.0308",
        "over the rate",
    );
    assert_eq!(headers["retry-after"], "1");
    let other = format!("/v1/{}/cloudservers/detail", OTHER.project);
    assert_eq!(api.get_as(OTHER, &other).await.0, StatusCode::OK, "per key");
    api.harness.advance_ms(1000);
    assert_eq!(api.get(&path).await.0, StatusCode::OK, "the bucket refills");
}

#[tokio::test]
async fn oversized_headers_get_431_in_the_envelope() {
    let api = Api::new(LatencyProfile::Instant);
    let mut request = signed_request(
        LOCAL,
        api.harness.clock.now(),
        &Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/detail"),
        None,
        b"",
    );
    request.headers_mut().insert(
        "x-padding",
        HeaderValue::from_str(&"a".repeat(20 * 1024)).expect("header"),
    );
    refused(
        &send(&api, request).await,
        StatusCode::from_u16(431).expect("status"),
        "Ecsd.0431",
        "20 KiB header",
    );
}

#[tokio::test]
async fn a_project_over_its_unfinished_job_limit_gets_429_until_jobs_finish() {
    let api = Api::over(
        Harness::new(engine::EngineConfig {
            max_unfinished_jobs_per_project: Some(2),
            ..config(LatencyProfile::Fast)
        }),
        api::DEFAULT_MAX_BODY_BYTES,
    );
    let path = format!("/v1/{PROJECT}/cloudservers");
    api.create("first", 1).await;
    api.create("second", 1).await;
    let request = signed_request(
        LOCAL,
        api.harness.clock.now(),
        &Method::POST,
        &path,
        Some("application/json"),
        create_body("third", 1).to_string().as_bytes(),
    );
    let (status, headers, body) = api.send_request(request).await;
    refused(
        &(status, body.clone()),
        StatusCode::TOO_MANY_REQUESTS,
        "Common.1503",
        "third unfinished job",
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2 unfinished jobs")),
        "{body}"
    );
    assert_eq!(headers["retry-after"], "1");
    let (_, list) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/detail?name=third"))
        .await;
    assert_eq!(list["count"], 0, "the refused create made nothing");
    // Another project is not held up by this one.
    let (status, other) = api
        .send_as(
            OTHER,
            Method::POST,
            &format!("/v1/{}/cloudservers", OTHER.project),
            Some("application/json"),
            create_body("elsewhere", 1).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{other}");
    // Once the jobs have finished, there is room again.
    api.harness.advance_ms(60_000);
    api.harness.drain().await;
    api.create("third", 1).await;
}

#[tokio::test]
async fn apis_without_a_project_in_the_path_act_in_the_credentials_project() {
    let api = Api::new(LatencyProfile::Instant);
    let created = api.create("projectless", 1).await;
    api.harness.drain().await;
    let server = created["serverIds"][0].as_str().expect("id");
    let block_device = format!("/v2.1/servers/{server}/block_device");

    // AK/SK: the signed X-Project-Id names the project.
    let (status, disks) = api.get(&block_device).await;
    assert_eq!(status, StatusCode::OK, "{disks}");
    let system = &disks["volumeAttachments"][0];
    assert_eq!(system["serverId"], server);
    let volume = system["volumeId"].as_str().expect("volume id");
    let (status, one) = api.get(&format!("{block_device}/{volume}")).await;
    assert_eq!(
        (status, one["volumeAttachment"]["volumeId"].as_str()),
        (StatusCode::OK, Some(volume)),
        "{one}"
    );
    // Another tenant does not see it: its credentials' project has no such server.
    refused(
        &api.get_as(OTHER, &block_device).await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        "another tenant's server",
    );
    // Naming a project that is not the account's is refused.
    let foreign = signed_request(
        crate::support::Credentials {
            project: OTHER.project,
            ..LOCAL
        },
        api.harness.clock.now(),
        &Method::GET,
        &block_device,
        None,
        b"",
    );
    refused(
        &send(&api, foreign).await,
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "X-Project-Id of another account",
    );
    // A token: its project.
    let (_, headers, _) = token_request(
        &api,
        password_request("ecsd", ecsd::config::DEFAULT_PASSWORD, "ecsd", "eu-de"),
    )
    .await;
    let token = headers["x-subject-token"].to_str().expect("ascii");
    let (status, by_token) = send(&api, with_token(Method::GET, &block_device, token, "")).await;
    assert_eq!((status, &by_token), (StatusCode::OK, &disks));

    // Adding to the monitoring list: the server must exist; the body must be well-formed.
    let monitor = format!("/v1.0/servers/{server}/action");
    let json = Some("application/json");
    let (status, answer) = api
        .send(Method::POST, &monitor, json, r#"{"monitorMetrics": ""}"#)
        .await;
    assert_eq!((status, answer), (StatusCode::NO_CONTENT, Value::Null));
    refused(
        &api.send(Method::POST, &monitor, json, r#"{"monitorMetrics": 1}"#)
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "monitorMetrics not a string",
    );
    let unknown = "/v1.0/servers/3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11/action";
    refused(
        &api.send(Method::POST, unknown, json, r#"{"monitorMetrics": ""}"#)
            .await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        "unknown server",
    );
}

#[tokio::test]
async fn token_requests_are_throttled_per_account() {
    let api = Api::with_identity(
        Harness::new(config(LatencyProfile::Instant)),
        api::DEFAULT_MAX_BODY_BYTES,
        |identity| {
            identity.with_login_limits(api::identity::login_limits::LoginLimits {
                per_account: 3,
                per_client: 0,
                ..Default::default()
            })
        },
    );
    for attempt in 0..3 {
        let (status, _, body) =
            token_request(&api, password_request("ecsd", "guess", "ecsd", "eu-de")).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {body}"
        );
    }
    let (status, headers, body) = token_request(
        &api,
        password_request("ecsd", ecsd::config::DEFAULT_PASSWORD, "ecsd", "eu-de"),
    )
    .await;
    refused(
        &(status, body),
        StatusCode::TOO_MANY_REQUESTS,
        "APIGW.0308",
        "fourth try",
    );
    assert_eq!(headers["retry-after"], "1");
    assert!(headers.get("x-subject-token").is_none());
    // Another domain is not held up; and a second later the right password works.
    let (status, _, _) = token_request(
        &api,
        password_request("bob", "bob-password", "other", "eu-nl_other"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    api.harness.advance_ms(1000);
    let (status, _, _) = token_request(
        &api,
        password_request("ecsd", ecsd::config::DEFAULT_PASSWORD, "ecsd", "eu-de"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}
