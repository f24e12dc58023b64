//! Fault rules over HTTP, in-process: the admin routes (`/_ecsd/faults`, release) and their
//! bad input, and each effect as a client of the ECS API meets it (status, shape, headers).

use crate::http::Api;
use crate::support::{create_body, signed_request, LOCAL, PROJECT};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use engine::clock::Clock;
use engine::compute::LatencyProfile;
use engine::job::JobStatus;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

/// One answer, whatever its body.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    dropped: bool,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

async fn answer(api: &Api, request: Request<Body>) -> Answer {
    let response = api.router().oneshot(request).await.expect("infallible");
    let dropped = response
        .extensions()
        .get::<api::faults::DropResponse>()
        .is_some();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
        dropped,
    }
}

/// An admin call (in-process there is no peer address, and no admin token is configured).
async fn admin(api: &Api, method: Method, path: &str, body: Option<Value>) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |body| Body::from(body.to_string()));
    answer(api, request.body(body).expect("request")).await
}

/// A tenant call signed as [`LOCAL`].
async fn tenant(api: &Api, method: Method, path: &str, body: Option<Value>) -> Answer {
    let bytes = body.map(|body| body.to_string()).unwrap_or_default();
    let content_type = (!bytes.is_empty()).then_some("application/json");
    let request = signed_request(
        LOCAL,
        api.harness.clock.now(),
        &method,
        path,
        content_type,
        bytes.as_bytes(),
    );
    answer(api, request).await
}

async fn add_rule(api: &Api, rule: Value) -> String {
    let added = admin(api, Method::POST, "/_ecsd/faults", Some(rule)).await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.json());
    added.json()["id"].as_str().expect("an id").to_owned()
}

async fn create(api: &Api, name: &str, count: u32) -> Answer {
    tenant(
        api,
        Method::POST,
        &format!("/v1/{PROJECT}/cloudservers"),
        Some(create_body(name, count)),
    )
    .await
}

async fn server_count(api: &Api) -> usize {
    let list = tenant(
        api,
        Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/detail"),
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK);
    list.json()["servers"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn rules_are_added_listed_with_counts_and_deleted() {
    let api = Api::new(LatencyProfile::Instant);
    let added = admin(
        &api,
        Method::POST,
        "/_ecsd/faults",
        Some(
            json!({"operation": "createServer", "project_id": PROJECT, "server_name": "web-*",
                    "times": 1, "effect": "fail", "error_code": "Ecs.0204",
                    "fail_reason": "no capacity", "sub_jobs": [1]}),
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED);
    let rule = added.json();
    assert_eq!(rule["id"], "f-1");
    assert_eq!(rule["effect"], "fail");
    assert_eq!(rule["sub_jobs"], json!([1]));
    assert_eq!(
        (rule["matched"].clone(), rule["fired"].clone()),
        (json!(0), json!(0))
    );

    let created = create(&api, "web", 2).await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.json());
    let listed = admin(&api, Method::GET, "/_ecsd/faults", None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()["faults"][0]["fired"], 1);

    let deleted = admin(&api, Method::DELETE, "/_ecsd/faults/f-1", None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.json()["fault"]["id"], "f-1");
    let again = admin(&api, Method::DELETE, "/_ecsd/faults/f-1", None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.json()["error"]["code"], "Ecsd.0404");

    add_rule(&api, json!({"effect": "stuck"})).await;
    add_rule(&api, json!({"effect": "fail"})).await;
    let cleared = admin(&api, Method::DELETE, "/_ecsd/faults", None).await;
    assert_eq!(cleared.json()["deleted"], 2);
    let listed = admin(&api, Method::GET, "/_ecsd/faults", None).await;
    assert_eq!(listed.json()["faults"], json!([]));
}

#[tokio::test]
async fn bad_rules_are_400_naming_the_field_and_change_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let cases = [
        (json!({"effect": "fail", "tmes": 1}), "tmes"),
        (json!({"effect": "explode"}), "effect"),
        (json!({"operation": "createServer"}), "effect"),
        (
            json!({"effect": "fail", "error_code": "Ecs.9999"}),
            "error_code",
        ),
        (json!({"effect": "reject", "code": "Nope.0001"}), "code"),
        (json!({"effect": "throttle", "code": "Ecs.0005"}), "code"),
        (json!({"effect": "fail", "probability": 1.5}), "probability"),
        (json!({"effect": "fail", "times": 1, "every": 2}), "every"),
        (
            json!({"effect": "fail", "operation": "createServers"}),
            "operation",
        ),
        (json!({"effect": "stuck", "operation": "ShowJob"}), "effect"),
        (json!({"effect": "latency", "duration": "soon"}), "duration"),
        (json!({"effect": "gateway_error", "status": 500}), "status"),
        (
            json!({"effect": "throttle", "operation": "BatchCreateServerTags"}),
            "BatchServerTags",
        ),
    ];
    for (body, field) in cases {
        let refused = admin(&api, Method::POST, "/_ecsd/faults", Some(body.clone())).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        let error = refused.json();
        assert_eq!(error["error"]["code"], "Ecsd.0400", "{body}");
        let message = error["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(field), "{body}: {message}");
    }
    let listed = admin(&api, Method::GET, "/_ecsd/faults", None).await;
    assert_eq!(listed.json()["faults"], json!([]));
    // The next rule still gets the first id: refused ones took none.
    assert_eq!(add_rule(&api, json!({"effect": "fail"})).await, "f-1");
}

#[tokio::test]
async fn the_second_poll_of_a_job_is_throttled_in_the_gateways_shape() {
    let api = Api::new(LatencyProfile::Fast);
    let created = create(&api, "poll", 1).await;
    let job_id = created.json()["job_id"].as_str().expect("job").to_owned();
    add_rule(
        &api,
        json!({"operation": "ShowJob", "job_id": job_id, "after": 1, "times": 1,
               "effect": "throttle", "retry_after": 7}),
    )
    .await;
    let path = format!("/v1/{PROJECT}/jobs/{job_id}");
    let first = tenant(&api, Method::GET, &path, None).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = tenant(&api, Method::GET, &path, None).await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(second.header("retry-after"), Some("7"));
    let body = second.json();
    assert_eq!(body["error_code"], "APIGW.0308");
    assert_eq!(
        body["request_id"].as_str(),
        second.header("x-request-id"),
        "the gateway's shape carries the request id"
    );
    assert!(body["error_msg"]
        .as_str()
        .is_some_and(|message| message.starts_with("The throttling threshold has been reached")));
    let third = tenant(&api, Method::GET, &path, None).await;
    assert_eq!(third.status, StatusCode::OK);
}

#[tokio::test]
async fn a_throttled_create_in_the_ecs_envelope_creates_nothing() {
    let api = Api::new(LatencyProfile::Fast);
    add_rule(
        &api,
        json!({"operation": "createServer", "every": 2, "effect": "throttle",
               "status": 503, "code": "Common.1503"}),
    )
    .await;
    assert_eq!(create(&api, "first", 1).await.status, StatusCode::OK);
    let refused = create(&api, "second", 1).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.json()["error"]["code"], "Common.1503");
    assert_eq!(
        server_count(&api).await,
        1,
        "the refused create made nothing"
    );
    assert_eq!(create(&api, "third", 1).await.status, StatusCode::OK);
}

#[tokio::test]
async fn reject_answers_the_rules_status_code_and_message() {
    let api = Api::new(LatencyProfile::Fast);
    add_rule(
        &api,
        json!({"operation": "createServer", "effect": "reject", "status": 400,
               "code": "Ecs.0005", "message": "flavor sold out"}),
    )
    .await;
    let refused = create(&api, "rejected", 2).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let body = refused.json();
    assert_eq!(body["error"]["code"], "Ecs.0005");
    assert_eq!(body["error"]["message"], "flavor sold out");
    assert_eq!(server_count(&api).await, 0);
}

#[tokio::test]
async fn gateway_error_is_html_not_json() {
    let api = Api::new(LatencyProfile::Fast);
    add_rule(
        &api,
        json!({"operation": "ListServersDetails", "effect": "gateway_error", "status": 504,
               "times": 1}),
    )
    .await;
    let path = format!("/v1/{PROJECT}/cloudservers/detail");
    let failed = tenant(&api, Method::GET, &path, None).await;
    assert_eq!(failed.status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(failed.header("content-type"), Some("text/html"));
    let text = String::from_utf8_lossy(&failed.body);
    assert!(text.contains("<h1>504 Gateway Time-out</h1>"), "{text}");
    assert!(serde_json::from_slice::<Value>(&failed.body).is_err());
    assert_eq!(
        tenant(&api, Method::GET, &path, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn drop_response_marks_the_answer_after_the_job_is_stored() {
    let api = Api::new(LatencyProfile::Fast);
    add_rule(
        &api,
        json!({"operation": "createServer", "times": 1, "effect": "drop_response"}),
    )
    .await;
    let dropped = create(&api, "dropped", 1).await;
    assert!(
        dropped.dropped,
        "the listener is told to close without answering"
    );
    assert_eq!(server_count(&api).await, 1, "the create took full effect");
    let next = create(&api, "answered", 1).await;
    assert!(!next.dropped);
    // A synchronous call's answer can be dropped too.
    add_rule(
        &api,
        json!({"operation": "ShowServerLimits", "effect": "drop_response"}),
    )
    .await;
    let limits = tenant(
        &api,
        Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/limits"),
        None,
    )
    .await;
    assert!(limits.dropped);
}

#[tokio::test]
async fn a_stuck_job_is_released_over_the_admin_api_and_firings_are_counted() {
    let api = Api::new(LatencyProfile::Instant);
    add_rule(
        &api,
        json!({"operation": "createServer", "effect": "stuck"}),
    )
    .await;
    let created = create(&api, "held", 1).await;
    let job_id = created.json()["job_id"].as_str().expect("job").to_owned();
    api.harness.advance_ms(600_000);
    api.harness.drain().await;
    assert_eq!(api.harness.job(&job_id).await.status, JobStatus::Running);

    let unknown = admin(&api, Method::POST, "/_ecsd/jobs/0123/release", None).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.json()["error"]["code"], "Ecsd.0404");
    let released = admin(
        &api,
        Method::POST,
        &format!("/_ecsd/jobs/{job_id}/release"),
        None,
    )
    .await;
    assert_eq!(released.status, StatusCode::OK, "{}", released.json());
    assert_eq!(released.json()["released"], 1);
    assert_eq!(api.harness.job(&job_id).await.status, JobStatus::Success);
    let again = admin(
        &api,
        Method::POST,
        &format!("/_ecsd/jobs/{job_id}/release?project_id={PROJECT}"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["error"]["code"], "Ecsd.0409");

    let metrics = admin(&api, Method::GET, "/metrics", None).await;
    let text = String::from_utf8_lossy(&metrics.body);
    assert!(
        text.contains("ecsd_faults_fired_total{effect=\"stuck\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn rules_name_operations_as_the_official_sdk_does() {
    let api = Api::new(LatencyProfile::Instant);
    let added = admin(
        &api,
        Method::POST,
        "/_ecsd/faults",
        Some(json!({"operation": "ListServerTags", "effect": "throttle", "times": 1})),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED);
    assert_eq!(added.json()["operation"], "ListServerTags");
    let path = format!("/v1/{PROJECT}/cloudservers/tags");
    let throttled = tenant(&api, Method::GET, &path, None).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.json()["error_code"], "APIGW.0308");
    assert_eq!(
        tenant(&api, Method::GET, &path, None).await.status,
        StatusCode::OK
    );

    // The SDK's CreatePostPaidServers is the v1 create, its CreateServers the v1.1 one.
    add_rule(
        &api,
        json!({"operation": "CreatePostPaidServers", "effect": "reject", "code": "Ecs.0005"}),
    )
    .await;
    let v1 = create(&api, "v1", 1).await;
    assert_eq!(v1.status, StatusCode::BAD_REQUEST);
    let v11 = tenant(
        &api,
        Method::POST,
        &format!("/v1.1/{PROJECT}/cloudservers"),
        Some(create_body("v11", 1)),
    )
    .await;
    assert_eq!(v11.status, StatusCode::OK, "{}", v11.json());
}

#[tokio::test]
async fn latency_on_a_synchronous_call_still_answers_it() {
    let api = Api::new(LatencyProfile::Instant);
    let rule = add_rule(
        &api,
        json!({"operation": "ShowServerLimits", "effect": "latency", "duration": "1ms"}),
    )
    .await;
    let limits = tenant(
        &api,
        Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/limits"),
        None,
    )
    .await;
    assert_eq!(limits.status, StatusCode::OK);
    assert!(limits.json()["absolute"].is_object(), "{}", limits.json());
    let listed = admin(&api, Method::GET, "/_ecsd/faults", None).await;
    assert_eq!(listed.json()["faults"][0]["id"], rule.as_str());
    assert_eq!(listed.json()["faults"][0]["fired"], 1);
}
