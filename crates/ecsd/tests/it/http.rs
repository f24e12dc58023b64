//! The HTTP surface in-process (`Router::oneshot`): wire shapes and every error path.

use crate::support::{
    config, create_body, signed_request, test_accounts, Credentials, Harness, LOCAL, OTHER, PROJECT,
};
use api::identity::auth::{Auth, Identity};
use api::AppState;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use engine::clock::Clock;
use engine::compute::LatencyProfile;
use engine::regions::Regions;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

/// The router in-process over a [`Harness`], with verification on; shared with the
/// client-waiter replays and the security tests. Requests are signed as [`LOCAL`] unless a
/// test says otherwise.
pub(crate) struct Api {
    pub(crate) harness: Harness,
    router: axum::Router,
    /// The route template (`MatchedPath`) of the last request that matched a route.
    matched_route: Arc<Mutex<Option<String>>>,
}

impl Api {
    pub(crate) fn new(latency: LatencyProfile) -> Self {
        Self::with_body_limit(latency, api::DEFAULT_MAX_BODY_BYTES)
    }

    fn with_body_limit(latency: LatencyProfile, max_body_bytes: usize) -> Self {
        Self::over(Harness::new(config(latency)), max_body_bytes)
    }

    pub(crate) fn over(harness: Harness, max_body_bytes: usize) -> Self {
        Self::with_identity(harness, max_body_bytes, |identity| identity)
    }

    /// With the identity settings `adjust` makes (rate limit, token lifetime).
    pub(crate) fn with_identity(
        harness: Harness,
        max_body_bytes: usize,
        adjust: impl FnOnce(Identity) -> Identity,
    ) -> Self {
        Self::with_accounts_and_identity(harness, max_body_bytes, test_accounts(), adjust)
    }

    /// With other accounts than [`test_accounts`] (quotas, for example); requests are still
    /// signed as [`LOCAL`] unless a test says otherwise, so the accounts should hold it. The
    /// engine reads the accounts' quotas as `ecsd serve` makes it.
    pub(crate) fn with_accounts(
        latency: LatencyProfile,
        accounts: api::identity::accounts::Accounts,
    ) -> Self {
        let quotas = api::ecs::server_groups::AccountQuotas::from_accounts(&accounts);
        Self::with_accounts_and_identity(
            Harness::with_quota_source(config(latency), Arc::new(quotas)),
            api::DEFAULT_MAX_BODY_BYTES,
            accounts,
            |identity| identity,
        )
    }

    fn with_accounts_and_identity(
        harness: Harness,
        max_body_bytes: usize,
        accounts: api::identity::accounts::Accounts,
        adjust: impl FnOnce(Identity) -> Identity,
    ) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(harness.clock.clone());
        let token_key = api::identity::tokens::TokenKey::new(
            engine::store::Store::token_signing_key(harness.store.as_ref()),
        );
        let identity = adjust(Identity::new(accounts, clock, token_key));
        let matched_route = Arc::new(Mutex::new(None));
        let recorder = matched_route.clone();
        let router = api::router(AppState::new(
            harness.engine.clone(),
            Regions::builtin(),
            max_body_bytes,
            Auth::Verify(Arc::new(identity)),
        ))
        // `Router::layer` wraps each route, where the router has already set `MatchedPath`.
        .layer(axum::middleware::from_fn(
            move |request: Request<Body>, next: axum::middleware::Next| {
                let recorder = recorder.clone();
                async move {
                    let route = request
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map(|path| path.as_str().to_owned());
                    *recorder.lock().expect("not poisoned") = route;
                    next.run(request).await
                }
            },
        ));
        Self {
            harness,
            router,
            matched_route,
        }
    }

    /// The router itself, for answers the checks of [`Api::send_request`] do not fit (the
    /// HTML of a `gateway_error` fault rule).
    pub(crate) fn router(&self) -> axum::Router {
        self.router.clone()
    }

    /// Sends a request signed as [`LOCAL`] at the harness clock's time.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> (StatusCode, Value) {
        self.send_as(LOCAL, method, path, content_type, body).await
    }

    /// Sends a request signed as `who`.
    pub(crate) async fn send_as(
        &self,
        who: Credentials,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: impl AsRef<[u8]>,
    ) -> (StatusCode, Value) {
        let request = signed_request(
            who,
            self.harness.clock.now(),
            &method,
            path,
            content_type,
            body.as_ref(),
        );
        let (status, _, value) = self.send_request(request).await;
        (status, value)
    }

    /// Sends `request` exactly as given and checks what every answer has (an `X-Request-Id`,
    /// a JSON body).
    pub(crate) async fn send_request(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(
            request_id.len(),
            32,
            "every response carries an X-Request-Id"
        );
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        if status == StatusCode::NO_CONTENT {
            // The answers the reference gives no body (tag actions, metadata delete).
            assert!(bytes.is_empty(), "a 204 has no body");
            return (status, headers, Value::Null);
        }
        if status == StatusCode::ACCEPTED && bytes.is_empty() {
            // Nova's server actions answer 202 with no body.
            return (status, headers, Value::Null);
        }
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "every response with a body is JSON"
        );
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
        (status, headers, value)
    }

    pub(crate) async fn get_as(&self, who: Credentials, path: &str) -> (StatusCode, Value) {
        self.send_as(who, Method::GET, path, None, "").await
    }

    /// Sends through [`Api::send`] and also returns the template of the route that answered
    /// (`/v1/{project_id}/cloudservers/{server_id}`), or `None` if no route matched.
    pub(crate) async fn send_and_route(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: &'static str,
    ) -> (StatusCode, Value, Option<String>) {
        *self.matched_route.lock().expect("not poisoned") = None;
        let (status, value) = self.send(method, path, content_type, body).await;
        let route = self.matched_route.lock().expect("not poisoned").take();
        (status, value, route)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None, "").await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(
            Method::POST,
            path,
            Some("application/json;charset=utf-8"),
            body.to_string(),
        )
        .await
    }

    pub(crate) async fn create(&self, name: &str, count: u32) -> Value {
        let (status, body) = self
            .post(
                &format!("/v1/{PROJECT}/cloudservers"),
                &create_body(name, count),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }
}

fn is_job_time(value: &Value) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let bytes = text.as_bytes();
    text.len() == 24
        && text.ends_with('Z')
        && bytes[10] == b'T'
        && bytes[19] == b'.'
        && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

/// Asserts an error answer: status, code, and that the details name `detail_fragment`.
pub(crate) fn assert_error(
    answer: &(StatusCode, Value),
    status: StatusCode,
    code: &str,
    detail_fragment: &str,
) {
    let (actual_status, body) = answer;
    assert_eq!(*actual_status, status, "{body}");
    if body.get("error_code").is_some() {
        // The API gateway's flat shape: code, message and the request id, nothing else.
        assert_eq!(body["error_code"], code, "{body}");
        assert!(
            body["error_msg"]
                .as_str()
                .is_some_and(|m| m.contains(detail_fragment)),
            "error_msg should mention {detail_fragment:?}: {body}"
        );
        assert!(
            body["request_id"].as_str().is_some_and(|id| id.len() == 32),
            "{body}"
        );
        assert_eq!(body.as_object().map(|o| o.len()), Some(3), "{body}");
        return;
    }
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    let details = body["error"]["details"]
        .as_array()
        .expect("details is an array");
    assert!(
        details.iter().any(|d| d["code"] == code
            && d["message"]
                .as_str()
                .is_some_and(|m| m.contains(detail_fragment))),
        "details should mention {detail_fragment:?}: {body}"
    );
}

/// The RUNNING body of JOB-FACTS.md (captured from the real service): `end_time` `""` on the
/// job and each sub-job, no `error_code`/`fail_reason` keys, sub-jobs RUNNING with their
/// `server_id`.
#[tokio::test]
async fn a_running_job_reads_as_the_real_service_writes_it() {
    let api = Api::new(LatencyProfile::Fast);
    let created = api.create("running", 1).await;
    let job_id = created["job_id"].as_str().expect("job_id");
    let server_id = created["serverIds"][0].as_str().expect("server id");
    // Past the `fast` profile's INIT (120 ms), well before its create (0.8 s) ends.
    api.harness.advance_ms(200);
    api.harness.drain().await;
    let (_, job) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
    assert_eq!(job["status"], "RUNNING", "{job}");
    let sub_job = &job["entities"]["sub_jobs"][0];
    assert_eq!(sub_job["status"], "RUNNING", "{job}");
    assert_eq!(sub_job["entities"]["server_id"], server_id);
    for body in [&job, sub_job] {
        assert_eq!(body["end_time"], "", "{body}");
        assert!(is_job_time(&body["begin_time"]), "{body}");
        let object = body.as_object().expect("an object");
        assert!(
            !object.contains_key("error_code") && !object.contains_key("fail_reason"),
            "{body}"
        );
    }
    api.harness.advance_ms(10_000);
    api.harness.drain().await;
    let (_, job) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert!(is_job_time(&job["end_time"]), "{job}");
    assert_eq!(
        (job.get("error_code"), job.get("fail_reason")),
        (Some(&Value::Null), Some(&Value::Null))
    );
}

#[tokio::test]
async fn a_create_answers_job_id_and_server_ids_and_the_job_has_every_documented_field() {
    let api = Api::new(LatencyProfile::Instant);
    let created = api.create("web", 2).await;
    let job_id = created["job_id"].as_str().expect("job_id");
    assert!(engine::job::is_job_id(job_id), "{job_id}");
    let server_ids: Vec<&str> = created["serverIds"]
        .as_array()
        .expect("serverIds")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(server_ids.len(), 2);

    let (status, job) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "INIT");
    assert_eq!(job["job_type"], "createServer");
    assert!(is_job_time(&job["begin_time"]), "{job}");
    assert_eq!(
        job["end_time"], "",
        "unfinished: an empty string, as the real service"
    );
    assert!(
        job.get("error_code").is_none() && job.get("fail_reason").is_none(),
        "unfinished: no error keys at all: {job}"
    );
    assert_eq!(job["entities"]["sub_jobs_total"], 2);
    assert_eq!(
        job["entities"]["sub_jobs"][0]["job_type"],
        "createSingleServer"
    );
    assert_eq!(
        job["entities"]["sub_jobs"][0]["entities"]["server_id"],
        server_ids[0]
    );
    assert!(
        job.get("message").is_none() && job.get("code").is_none(),
        "no query-error fields on success"
    );

    api.harness.drain().await;
    let (_, job) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
    assert_eq!(job["status"], "SUCCESS");
    assert!(is_job_time(&job["end_time"]), "{job}");
    for sub_job in job["entities"]["sub_jobs"].as_array().expect("sub_jobs") {
        assert_eq!(sub_job["status"], "SUCCESS");
        assert!(engine::job::is_job_id(
            sub_job["job_id"].as_str().expect("id")
        ));
        assert_ne!(sub_job["job_id"], job["job_id"]);
        assert!(is_job_time(&sub_job["begin_time"]) && is_job_time(&sub_job["end_time"]));
        assert_eq!(sub_job.get("error_code"), Some(&Value::Null), "{sub_job}");
        assert_eq!(sub_job.get("fail_reason"), Some(&Value::Null), "{sub_job}");
    }
    assert_eq!(job.get("error_code"), Some(&Value::Null), "finished: null");
    assert_eq!(job.get("fail_reason"), Some(&Value::Null), "finished: null");

    let (status, server) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/{}", server_ids[1]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let server = &server["server"];
    assert_eq!(server["name"], "web-0001");
    assert_eq!(server["status"], "ACTIVE");
    assert_eq!(server["OS-EXT-STS:vm_state"], "active");
    assert_eq!(server["OS-EXT-STS:power_state"], 1);
    assert_eq!(server["flavor"]["id"], "s3.medium.1");
    assert!(server["flavor"]["vcpus"].is_string() && server["flavor"]["ram"].is_string());
    assert_eq!(server["tenant_id"], PROJECT);
    assert_eq!(
        server["image"]["id"],
        "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e"
    );
    assert!(server["addresses"].is_object());
    let port = &server["addresses"]["3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11"][0];
    assert!(port["OS-EXT-IPS:port_id"].is_string() && port["addr"].is_string());
    assert_eq!(
        server["os-extended-volumes:volumes_attached"][0]["device"],
        "/dev/vda"
    );
    assert_eq!(
        server["os-extended-volumes:volumes_attached"][0]["bootIndex"],
        "0"
    );
    assert_eq!(
        server["metadata"]["vpc_id"],
        "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11"
    );
    assert_eq!(server["locked"], false);
    assert!(server["created"]
        .as_str()
        .is_some_and(|c| c.len() == 20 && c.ends_with('Z')));
}

#[tokio::test]
async fn the_sdk_v1_1_create_path_works_like_v1() {
    let api = Api::new(LatencyProfile::Instant);
    let (status, body) = api
        .post(
            &format!("/v1.1/{PROJECT}/cloudservers"),
            &create_body("v11", 1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["serverIds"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn dry_run_answers_202_and_creates_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let mut body = create_body("dry", 3);
    body["dry_run"] = json!(true);
    let (status, answer) = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let (_, list) = api.get(&format!("/v1/{PROJECT}/cloudservers/detail")).await;
    assert_eq!(list["count"], 0);
    // A dry run still checks: an unknown flavor fails it.
    body["server"]["flavorRef"] = json!("x9.huge.1");
    let answer = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0029", "x9.huge.1");
}

#[tokio::test]
async fn batch_actions_answer_a_job_and_check_states_at_submission() {
    let api = Api::new(LatencyProfile::Instant);
    let created = api.create("act", 2).await;
    api.harness.drain().await;
    let servers: Vec<Value> = created["serverIds"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| json!({ "id": id }))
        .collect();
    let action = format!("/v1/{PROJECT}/cloudservers/action");

    let answer = api
        .post(&action, &json!({ "os-start": { "servers": servers } }))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0100", "ACTIVE");

    let (status, stop) = api
        .post(
            &action,
            &json!({ "os-stop": { "servers": servers, "type": "HARD" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stop}");
    api.harness.drain().await;
    let (_, job) = api
        .get(&format!(
            "/v1/{PROJECT}/jobs/{}",
            stop["job_id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        (job["job_type"].as_str(), job["status"].as_str()),
        (Some("batchStopServers"), Some("SUCCESS"))
    );
    assert_eq!(job["entities"]["sub_jobs"][1]["job_type"], "stopServer");

    let (status, list) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/detail?status=SHUTOFF"))
        .await;
    assert_eq!((status, list["count"].clone()), (StatusCode::OK, json!(2)));

    let (status, deleted) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/delete"),
            &json!({ "servers": servers, "delete_volume": true }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    api.harness.drain().await;
    let answer = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/{}",
            servers[0]["id"].as_str().expect("id")
        ))
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", "does not exist");
}

#[tokio::test]
async fn list_pages_by_page_number_and_filters_by_name() {
    let api = Api::new(LatencyProfile::Instant);
    api.create("alpha", 3).await;
    api.create("beta", 2).await;
    let (_, page) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/detail?limit=2&offset=2&name=alpha"
        ))
        .await;
    assert_eq!(page["count"], 3);
    let names: Vec<&str> = page["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["alpha-0000"], "page 2 of 2-per-page, newest first");
    let (_, first) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/detail?offset=0&limit=2"
        ))
        .await;
    assert_eq!(
        first["servers"].as_array().map(Vec::len),
        Some(2),
        "offset 0 means page 1"
    );
}

#[tokio::test]
async fn another_projects_jobs_and_servers_are_invisible() {
    let api = Api::new(LatencyProfile::Instant);
    let created = api.create("mine", 1).await;
    let other = OTHER.project;
    let answer = api
        .get_as(
            OTHER,
            &format!(
                "/v1/{other}/jobs/{}",
                created["job_id"].as_str().expect("id")
            ),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "Common.0011",
        "not a valid job ID",
    );
    let answer = api
        .get_as(
            OTHER,
            &format!(
                "/v1/{other}/cloudservers/{}",
                created["serverIds"][0].as_str().expect("id")
            ),
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", "does not exist");
    let (_, list) = api
        .get_as(OTHER, &format!("/v1/{other}/cloudservers/detail"))
        .await;
    assert_eq!(list["count"], 0);
    // Finished: the owner's read puts the view in the finished-job cache; still invisible.
    api.harness.drain().await;
    let job_path = |project: &str| {
        format!(
            "/v1/{project}/jobs/{}",
            created["job_id"].as_str().expect("id")
        )
    };
    let (status, job) = api.get(&job_path(PROJECT)).await;
    assert_eq!(
        (status, job["status"].as_str()),
        (StatusCode::OK, Some("SUCCESS"))
    );
    let answer = api.get_as(OTHER, &job_path(other)).await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "Common.0011",
        "not a valid job ID",
    );
    let (status, again) = api.get(&job_path(PROJECT)).await;
    assert_eq!(
        (status, again),
        (StatusCode::OK, job),
        "the cached view is the same view"
    );
}

#[tokio::test]
async fn every_error_path_answers_the_envelope_with_a_documented_code() {
    let api = Api::new(LatencyProfile::Instant);
    let create = format!("/v1/{PROJECT}/cloudservers");
    let action = format!("/v1/{PROJECT}/cloudservers/action");
    let json_type = Some("application/json");
    let unknown_server = json!({ "id": "7d9b6c02-0000-4000-8000-000000000000" });

    assert_error(
        &api.get(&format!("/v1/{PROJECT}/nothing-here")).await,
        StatusCode::NOT_FOUND,
        "APIGW.0101",
        "nothing-here",
    );
    // `GET /` is Nova's version list now; an unknown top-level path is still the router's 404.
    assert_error(
        &api.get("/v9").await,
        StatusCode::NOT_FOUND,
        "APIGW.0101",
        "GET /v9",
    );
    assert_error(
        &api.send(
            Method::DELETE,
            &format!("/v1/{PROJECT}/jobs/0123"),
            None,
            "",
        )
        .await,
        StatusCode::NOT_FOUND,
        "APIGW.0101",
        "DELETE /v1/0123456789abcdef0123456789abcdef/jobs/0123 exists with another method",
    );
    assert_error(
        &api.send(Method::POST, &create, json_type, "{\"server\": ")
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "malformed JSON",
    );
    assert_error(
        &api.send(Method::POST, &create, json_type, "").await,
        StatusCode::BAD_REQUEST,
        "Common.0002",
        "empty",
    );
    assert_error(
        &api.send(Method::POST, &create, Some("text/plain"), "{}")
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "Ecsd.0415",
        "text/plain",
    );

    let mut body = create_body("bad", 1);
    body["server"]
        .as_object_mut()
        .expect("object")
        .remove("flavorRef");
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.flavorRef: is required",
    );
    let mut body = create_body("bad", 1);
    body["server"]["count"] = json!("two");
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.count",
    );
    let mut body = create_body("bad", 1);
    body["server"]["nics"] = json!([{ "subnet_id": 7 }]);
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.nics[0].subnet_id",
    );
    let mut body = create_body("bad", 1);
    body["server"]["imageRef"] = json!("not-a-uuid");
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.imageRef",
    );
    assert_error(
        &api.post(&create, &create_body("bad", 101)).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0913",
        "101",
    );
    assert_error(
        &api.post(&create, &create_body("bad name", 1)).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0915",
        "' '",
    );
    let mut body = create_body("bad", 1);
    body["server"]["flavorRef"] = json!("nope.flavor");
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0029",
        "nope.flavor",
    );

    assert_error(
        &api.get(&format!("/v1/{PROJECT}/jobs/xyz")).await,
        StatusCode::BAD_REQUEST,
        "Common.0011",
        "xyz",
    );
    assert_error(
        &api.get(&format!(
            "/v1/{PROJECT}/jobs/0123456789abcdef0123456789abcdef"
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "Common.0011",
        "0123456789abcdef0123456789abcdef",
    );
    assert_error(
        &api.get(&format!("/v1/{PROJECT}/cloudservers/not-a-uuid"))
            .await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        "\"not-a-uuid\"",
    );
    assert_error(
        &api.get("/v1/%7Bproject_id%7D/cloudservers/detail").await,
        StatusCode::BAD_REQUEST,
        "Common.0018",
        "%7Bproject_id%7D",
    );
    assert_error(
        &api.get(&format!("/v1/{PROJECT}/cloudservers/detail?limit=5000"))
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "limit",
    );
    assert_error(
        &api.get(&format!("/v1/{PROJECT}/cloudservers/detail?status=SLEEPY"))
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "SLEEPY",
    );

    let servers = json!([unknown_server]);
    assert_error(
        &api.post(&action, &json!({ "os-stop": { "servers": servers } }))
            .await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        "does not exist",
    );
    assert_error(
        &api.post(
            &action,
            &json!({ "os-stop": { "servers": servers }, "os-start": { "servers": servers } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "exactly one",
    );
    assert_error(
        &api.post(&action, &json!({ "reboot": { "servers": servers } }))
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "reboot.type",
    );
    assert_error(
        &api.post(
            &action,
            &json!({ "os-stop": { "servers": servers, "typ": "HARD" } }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "unknown field `typ`",
    );
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({ "id": format!("7d9b6c02-0000-4000-8000-{i:012}") }))
        .collect();
    assert_error(
        &api.post(&action, &json!({ "os-start": { "servers": many } }))
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0118",
        "1001",
    );
    assert_error(
        &api.post(
            &format!("/v1/{PROJECT}/cloudservers/delete"),
            &json!({ "servers": [] }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "at least one",
    );
}

/// Issue 12, point 6: what is wrong, in the user's terms, with the reference's code.
#[tokio::test]
async fn errors_are_worded_as_the_reference_words_them() {
    let api = Api::new(LatencyProfile::Instant);
    let create = format!("/v1/{PROJECT}/cloudservers");
    // `count` out of 1–100 on either side is the create page's Ecs.0913.
    for count in [0, -3, 101] {
        let mut body = create_body("bad", 1);
        body["server"]["count"] = json!(count);
        let answer = api.post(&create, &body).await;
        assert_error(
            &answer,
            StatusCode::BAD_REQUEST,
            "Ecs.0913",
            "from 1 to 100",
        );
    }
    // A wrong JSON type says which JSON type is wanted, not Rust's.
    let mut body = create_body("bad", 1);
    body["server"]["count"] = json!("2");
    let answer = api.post(&create, &body).await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.count: must be an integer, not the string \"2\"",
    );
    assert!(!answer.1.to_string().contains("i64"), "{}", answer.1);
    let mut body = create_body("bad", 1);
    body["server"]["root_volume"] = json!("SSD");
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.root_volume: must be an object, not the string \"SSD\"",
    );
    // A data disk without `size` (a misspelt key) is told that size is required.
    let mut body = create_body("bad", 1);
    body["server"]["data_volumes"] = json!([{ "volumetype": "SSD", "sizee": 100 }]);
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server.data_volumes[0].size: is required",
    );
    let mut body = create_body("bad", 1);
    body["server"]["data_volumes"] = json!([{ "volumetype": "SSD", "size": 5 }]);
    assert_error(
        &api.post(&create, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "must be from 10 to 32768 GiB, not 5",
    );
    // A misspelt API under …/cloudservers/ is no server: 404 Ecs.0114, saying so.
    for typo in ["flavor", "details", "limit"] {
        let answer = api.get(&format!("/v1/{PROJECT}/cloudservers/{typo}")).await;
        assert_error(
            &answer,
            StatusCode::NOT_FOUND,
            "Ecs.0114",
            "no other API matches",
        );
        assert!(
            !answer.1.to_string().contains("is not a UUID"),
            "{}",
            answer.1
        );
    }
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let api = Api::with_body_limit(LatencyProfile::Instant, 512);
    let mut body = create_body("big", 1);
    body["server"]["description"] = json!("x".repeat(1024));
    let answer = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_error(
        &answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Ecsd.0413",
        "512 bytes",
    );
}

#[tokio::test]
async fn flavors_list_the_catalogue_and_filter_by_zone() {
    let api = Api::new(LatencyProfile::Instant);
    let (status, body) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/flavors"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let flavors = body["flavors"].as_array().expect("flavors");
    let small = flavors
        .iter()
        .find(|f| f["id"] == "s3.medium.1")
        .expect("s3.medium.1");
    assert_eq!(
        (small["vcpus"].clone(), small["ram"].clone()),
        (json!("1"), json!(1024))
    );
    let (status, zoned) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/flavors?availability_zone=eu-de-02"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!zoned["flavors"].as_array().expect("flavors").is_empty());
    let answer = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/flavors?availability_zone=mars-01"
        ))
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0005", "mars-01");
}

#[tokio::test]
async fn server_ids_are_accepted_in_any_uuid_form() {
    let api = Api::new(LatencyProfile::Instant);
    let created = api.create("forms", 1).await;
    let id = created["serverIds"][0].as_str().expect("id").to_owned();
    for form in [id.to_uppercase(), id.replace('-', "")] {
        let (status, body) = api.get(&format!("/v1/{PROJECT}/cloudservers/{form}")).await;
        assert_eq!(
            (status, body["server"]["id"].as_str()),
            (StatusCode::OK, Some(id.as_str())),
            "{form}"
        );
    }
}

/// The synchronous edits on one server (tags action, metadata update, `PUT`) take their
/// path and body through `OnServer`: an unknown server is `Ecs.0114` naming the id as the
/// client wrote it (not the canonical form ecsd looks it up by), an id that is no UUID is
/// `Ecs.0005` naming `server_id`, and the path is checked before the body.
#[tokio::test]
async fn synchronous_edits_echo_the_server_id_as_written() {
    let api = Api::new(LatencyProfile::Instant);
    let unknown = "0A1B2C3D4E5F40718293A4B5C6D7E8F9";
    let edits = [
        (
            Method::POST,
            "tags/action",
            json!({ "action": "create", "tags": [{ "key": "k", "value": "v" }] }),
        ),
        (
            Method::POST,
            "metadata",
            json!({ "metadata": { "k": "v" } }),
        ),
        (Method::PUT, "", json!({ "server": { "name": "renamed" } })),
    ];
    for (method, tail, body) in edits {
        let path = |id: &str| {
            format!("/v1/{PROJECT}/cloudservers/{id}/{tail}")
                .trim_end_matches('/')
                .to_owned()
        };
        let send = |path: String, body: String| {
            let method = method.clone();
            let api = &api;
            async move {
                api.send(method, &path, Some("application/json"), body)
                    .await
            }
        };
        let answer = send(path(unknown), body.to_string()).await;
        assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", unknown);
        let answer = send(path("not-a-uuid"), "{".to_owned()).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0005", "server_id");
    }
}

#[tokio::test]
async fn a_repeated_client_token_replays_the_first_create() {
    let api = Api::new(LatencyProfile::Instant);
    let path = format!("/v1/{PROJECT}/cloudservers");
    let send = |token: &'static str, body: Value| {
        let mut request = signed_request(
            LOCAL,
            api.harness.clock.now(),
            &Method::POST,
            &path,
            Some("application/json"),
            body.to_string().as_bytes(),
        );
        request.headers_mut().insert(
            "x-client-token",
            axum::http::HeaderValue::from_static(token),
        );
        let router = api.router.clone();
        async move {
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .expect("body")
                .to_bytes();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).expect("JSON"),
            )
        }
    };
    let (status, first) = send("retry-42", create_body("idem", 2)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (status, again) = send("retry-42", create_body("idem", 2)).await;
    assert_eq!(
        (status, &again),
        (StatusCode::OK, &first),
        "the same job and servers"
    );
    let (_, list) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/detail?name=idem"))
        .await;
    assert_eq!(list["count"], 2, "no second set of servers");
    let answer = send("retry-42", create_body("other", 1)).await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "X-Client-Token",
    );
    let answer = send("", create_body("empty", 1)).await;
    assert_error(
        &answer,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "X-Client-Token",
    );
}

/// `--job-retention` holds through the API: a finished job is answered, from the store and
/// then from the cache of finished views, for exactly the retention after it ended; a moment
/// later it is an unknown job (400 `Common.0011`), whether or not the purge has run yet, and
/// after it too.
#[tokio::test]
async fn a_finished_job_is_queryable_for_exactly_the_retention() {
    let retention = time::Duration::hours(1);
    let harness = Harness::new(engine::EngineConfig {
        job_retention: retention,
        ..config(LatencyProfile::Instant)
    });
    let api = Api::over(harness, api::DEFAULT_MAX_BODY_BYTES);
    let created = api.create("kept", 1).await;
    let job_id = created["job_id"].as_str().expect("job_id").to_owned();
    api.harness.drain().await;
    let path = format!("/v1/{PROJECT}/jobs/{job_id}");
    for _ in 0..2 {
        // The second read is served from the cache of finished views.
        let (status, job) = api.get(&path).await;
        assert_eq!(
            (status, job["status"].as_str()),
            (StatusCode::OK, Some("SUCCESS")),
            "{job}"
        );
    }
    api.harness
        .advance_ms(retention.whole_milliseconds() as i64);
    let (status, job) = api.get(&path).await;
    assert_eq!(status, StatusCode::OK, "at exactly the retention: {job}");
    api.harness.advance_ms(1);
    let gone = api.get(&path).await;
    assert_error(&gone, StatusCode::BAD_REQUEST, "Common.0011", &job_id);
    assert_eq!(api.harness.engine.purge_expired().await.expect("purges"), 1);
    let gone = api.get(&path).await;
    assert_error(&gone, StatusCode::BAD_REQUEST, "Common.0011", &job_id);
}
