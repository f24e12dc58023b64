//! The dashboard (`/_ecsd/ui`) and the event stream (`/_ecsd/events`), in-process on a
//! `ManualClock`: the pages show what the engine holds (jobs with their filters, a job's
//! sub-jobs and failures, a project's servers), record values are escaped, the login and the
//! session cookie open it and nothing else does, cross-site writes are refused, and the
//! stream delivers acceptances and ends with increasing ids and resumes after `Last-Event-ID`.

use crate::support::{create_request, error_code, test_accounts, Harness, PROJECT};
use api::admin::access::AdminAccess;
use api::identity::auth::{Auth, Identity};
use api::AppState;
use axum::body::Body;
use axum::http::{header, Method, Request, Response, StatusCode};
use engine::clock::Clock;
use engine::compute::LatencyProfile;
use engine::engine::{FaultInjector, InjectedFault};
use engine::job::TaskRecord;
use engine::regions::Regions;
use http_body_util::BodyExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;

const TOKEN: &str = "dashboard-test-admin-token";

/// A reason a tenant could make appear (fault rules take it from their author).
const HOSTILE: &str = "<script>alert('x')</script> & \"quoted\"";

fn app(harness: &Harness, admin_token: Option<&str>) -> axum::Router {
    let clock: Arc<dyn Clock> = Arc::new(harness.clock.clone());
    let token_key = api::identity::tokens::TokenKey::new(engine::store::Store::token_signing_key(
        harness.store.as_ref(),
    ));
    api::router(
        AppState::new(
            harness.engine.clone(),
            Regions::builtin(),
            api::DEFAULT_MAX_BODY_BYTES,
            Auth::Verify(Arc::new(Identity::new(test_accounts(), clock, token_key))),
        )
        .with_admin(AdminAccess::with_token(admin_token)),
    )
}

fn get(path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header(header::HOST, "127.0.0.1:8774")
        .body(Body::empty())
        .expect("request")
}

async fn send(app: &axum::Router, request: Request<Body>) -> Response<Body> {
    tokio::time::timeout(Duration::from_secs(30), app.clone().oneshot(request))
        .await
        .expect("answered within the test's bound")
        .expect("infallible")
}

async fn text(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = send(app, request).await;
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn code_of(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    error_code(&value).to_owned()
}

/// Fails every sub-job of a create at its third phase, with [`HOSTILE`] as its reason.
#[derive(Debug)]
struct FailWithHostileReason;

impl FaultInjector for FailWithHostileReason {
    fn fault(&self, _task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        (step == 2).then(|| InjectedFault {
            code: Some("Ecs.0204".to_owned()),
            reason: HOSTILE.to_owned(),
        })
    }
}

#[tokio::test]
async fn the_jobs_page_lists_jobs_live_status_and_applies_its_filters() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Fast));
    let app = app(&harness, None);
    let (status, body) = text(&app, get("/_ecsd/ui")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("No jobs yet"), "{body}");

    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("web", 2), None)
        .await
        .expect("accepted");
    let (_, body) = text(&app, get("/_ecsd/ui")).await;
    assert!(
        body.contains(&format!("data-job=\"{}\"", accepted.job_id)),
        "{body}"
    );
    assert!(
        body.contains("createServer") && body.contains(">INIT<"),
        "{body}"
    );
    assert!(body.contains("data-live=\"jobs\"") && body.contains("data-unfinished=\"1\""));

    harness.advance_ms(600_000);
    harness.drain().await;
    let (_, body) = text(&app, get("/_ecsd/ui")).await;
    assert!(
        body.contains(&format!(
            "data-job=\"{}\" data-status=\"SUCCESS\"",
            accepted.job_id
        )),
        "{body}"
    );
    assert!(body.contains(">2/2<"), "both sub-jobs done: {body}");

    // Newest first.
    let later = harness
        .engine
        .create_servers(PROJECT, create_request("later", 1), None)
        .await
        .expect("accepted");
    let (_, body) = text(&app, get("/_ecsd/ui")).await;
    let position = |job_id: &str| {
        body.find(&format!("data-job=\"{job_id}\""))
            .expect("listed")
    };
    assert!(
        position(&later.job_id) < position(&accepted.job_id),
        "{body}"
    );
    let (_, body) = text(&app, get("/_ecsd/ui?limit=1")).await;
    assert!(body.contains(&later.job_id) && !body.contains(&accepted.job_id));
    harness.advance_ms(600_000);
    harness.drain().await;

    for (query, listed) in [
        ("status=SUCCESS", true),
        ("status=FAIL", false),
        ("status=RUNNING", false),
        ("job_type=createServer", true),
        ("job_type=deleteVMs", false),
        (&format!("project_id={PROJECT}") as &str, true),
        ("project_id=another-project", false),
        ("status=&job_type=&project_id=&limit=", true),
    ] {
        let (status, body) = text(&app, get(&format!("/_ecsd/ui?{query}"))).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(body.contains(&accepted.job_id), listed, "{query}");
    }
    for (query, field) in [
        ("status=DONE", "status"),
        ("job_type=makeCoffee", "job_type"),
        ("limit=0", "limit"),
        ("project_id=a%20b", "project_id"),
    ] {
        let (status, body) = text(&app, get(&format!("/_ecsd/ui?{query}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let value: Value = serde_json::from_str(&body).expect("the envelope");
        assert!(
            value["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{query}: {body}"
        );
    }
}

#[tokio::test]
async fn the_job_page_draws_every_sub_job_and_each_failure_escaped() {
    let harness = Harness::with_faults(
        crate::support::config(LatencyProfile::Fast),
        Some(Arc::new(FailWithHostileReason)),
    );
    let app = app(&harness, None);
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("db", 3), None)
        .await
        .expect("accepted");
    let path = format!("/_ecsd/ui/jobs/{}", accepted.job_id);

    let (status, body) = text(&app, get(&path)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.matches("<g class=\"subjob\"").count(), 3, "{body}");
    assert!(body.contains("data-unfinished=\"1\""));

    harness.advance_ms(600_000);
    harness.drain().await;
    let (_, body) = text(&app, get(&path)).await;
    assert_eq!(
        body.matches("<rect class=\"bar fail\"").count(),
        3,
        "{body}"
    );
    assert!(body.contains("Ecs.0204"), "{body}");
    // The reason is shown, escaped, in the failures table, the bars' titles and the JSON.
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;")
    );
    // The job query's JSON, as the API answers it.
    assert!(body.contains("&quot;sub_jobs_total&quot;: 3"), "{body}");
    assert!(body.contains(&format!("GET /v1/{PROJECT}/jobs/{}", accepted.job_id)));

    let (status, body) = text(&app, get("/_ecsd/ui/jobs/0123456789abcdef0123456789abcdef")).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::NOT_FOUND, "Ecsd.0404")
    );
    let (status, _) = text(&app, get("/_ecsd/ui/jobs/%3Cscript%3E")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_servers_page_shows_status_flavor_task_state_and_the_holding_job() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Fast));
    let app = app(&harness, None);
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("app", 1), None)
        .await
        .expect("accepted");
    let path = format!("/_ecsd/ui/projects/{PROJECT}/servers");
    let (status, body) = text(&app, get(&path)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&accepted.server_ids[0]), "{body}");
    assert!(
        body.contains(">BUILD<") && body.contains("scheduling"),
        "{body}"
    );
    assert!(body.contains(crate::support::FLAVOR), "{body}");
    assert!(
        body.contains(&format!("href=\"/_ecsd/ui/jobs/{}\"", accepted.job_id)),
        "{body}"
    );

    harness.advance_ms(600_000);
    harness.drain().await;
    let (_, body) = text(&app, get(&path)).await;
    assert!(body.contains(">ACTIVE<"), "{body}");
    assert!(
        !body.contains(&format!("href=\"/_ecsd/ui/jobs/{}\"", accepted.job_id)),
        "released"
    );

    // The projects page lists the accounts' projects, and its form leads to one.
    let (_, body) = text(&app, get("/_ecsd/ui/servers")).await;
    assert!(
        body.contains(&format!("href=\"/_ecsd/ui/projects/{PROJECT}/servers\"")),
        "{body}"
    );
    let response = send(
        &app,
        get(&format!("/_ecsd/ui/servers?project_id={PROJECT}")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("/_ecsd/ui/projects/{PROJECT}/servers").as_str()
    );
}

fn session_of(response: &Response<Body>) -> String {
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ASCII")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/_ecsd"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is not the token: {cookie}"
    );
    cookie.split(';').next().expect("name=value").to_owned()
}

fn login(token: &str, origin: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri("/_ecsd/ui/login")
        .header(header::HOST, "127.0.0.1:8774")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request
        .body(Body::from(format!("token={token}")))
        .expect("request")
}

/// Five wrong admin tokens are free; then the address waits (429 `Ecsd.0429`, `Retry-After`)
/// before any token of its is compared, the right one included, on the login form and the API
/// alike; once the wait is over the right token works and clears the count.
#[tokio::test]
async fn wrong_admin_tokens_make_the_guesser_wait_on_the_form_and_the_api() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Fast));
    let clock: Arc<dyn Clock> = Arc::new(harness.clock.clone());
    let token_key = api::identity::tokens::TokenKey::new(engine::store::Store::token_signing_key(
        harness.store.as_ref(),
    ));
    let app = api::router(
        AppState::new(
            harness.engine.clone(),
            Regions::builtin(),
            api::DEFAULT_MAX_BODY_BYTES,
            Auth::Verify(Arc::new(Identity::new(
                test_accounts(),
                clock.clone(),
                token_key,
            ))),
        )
        .with_admin(AdminAccess::with_token(Some(TOKEN)).with_clock(clock)),
    );
    let bearer = |token: &str| {
        Request::builder()
            .uri("/_ecsd/faults")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .expect("request")
    };
    for guess in 0..3 {
        let (status, _) = text(&app, login(&format!("guess{guess}"), None)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{guess}");
        let (status, body) = text(&app, bearer(&format!("bearer{guess}"))).await;
        assert_eq!(
            (status, code_of(&body).as_str()),
            (StatusCode::UNAUTHORIZED, "Ecsd.0401")
        );
    }
    let response = send(&app, bearer(TOKEN)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    let (status, body) = text(&app, bearer(TOKEN)).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::TOO_MANY_REQUESTS, "Ecsd.0429")
    );
    let response = send(&app, login(TOKEN, None)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");

    harness.clock.advance(time::Duration::seconds(1));
    let response = send(&app, login(TOKEN, None)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "logged in");
    let (status, _) = text(&app, bearer(TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    // The right token forgot the count: five wrong ones are free again.
    for guess in 0..5 {
        let (status, _) = text(&app, bearer(&format!("again{guess}"))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{guess}");
    }
}

#[tokio::test]
async fn with_an_admin_token_the_dashboard_needs_a_login_and_refuses_cross_site_writes() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Fast));
    let app = app(&harness, Some(TOKEN));

    // No session: a page sends the browser to the login form; the API answers 401.
    let response = send(&app, get("/_ecsd/ui")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/_ecsd/ui/login");
    let (status, body) = text(&app, get("/_ecsd/events")).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "Ecsd.0401")
    );
    let (status, body) = text(&app, get("/_ecsd/ui/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("name=\"token\""), "{body}");
    // The assets hold no data and are open.
    let (status, _) = text(&app, get("/_ecsd/ui/assets/dashboard.js")).await;
    assert_eq!(status, StatusCode::OK);

    // A wrong token shows the form again; a login posted from another site is refused.
    let (status, body) = text(&app, login("wrong", Some("http://127.0.0.1:8774"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not the admin token"), "{body}");
    let (status, body) = text(&app, login(TOKEN, Some("http://evil.example"))).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::FORBIDDEN, "Ecsd.0403")
    );

    let response = send(&app, login(TOKEN, Some("http://127.0.0.1:8774"))).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "logged in");
    assert_eq!(response.headers()[header::LOCATION], "/_ecsd/ui");
    let session = session_of(&response);

    let with_session = |path: &str, method: Method, site: Option<&str>| {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, "127.0.0.1:8774")
            .header(header::COOKIE, &session);
        if let Some(site) = site {
            request = request.header("sec-fetch-site", site);
        }
        request.body(Body::empty()).expect("request")
    };
    let (status, body) = text(
        &app,
        with_session("/_ecsd/ui", Method::GET, Some("same-origin")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Log out"), "{body}");
    let (status, _) = text(&app, with_session("/metrics", Method::GET, None)).await;
    assert_eq!(status, StatusCode::OK, "the session opens the admin API");
    // …but not a tenant route.
    let (status, _) = text(
        &app,
        with_session(
            &format!("/v1/{PROJECT}/cloudservers/detail"),
            Method::GET,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A state change the browser was made to send from another site is refused.
    let (status, body) = text(
        &app,
        with_session("/_ecsd/ui/logout", Method::POST, Some("cross-site")),
    )
    .await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::FORBIDDEN, "Ecsd.0403")
    );
    let response = send(
        &app,
        with_session("/_ecsd/ui/logout", Method::POST, Some("same-origin")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("ASCII")
        .contains("Max-Age=0"));
    // A session made with another token opens nothing.
    let forged = Request::builder()
        .uri("/_ecsd/ui")
        .header(header::COOKIE, "ecsd_admin=00ff")
        .body(Body::empty())
        .expect("request");
    assert_eq!(send(&app, forged).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_login_and_rebound_hosts_are_refused() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Fast));
    let app = app(&harness, None);
    let response = send(&app, get("/_ecsd/ui/login")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "/_ecsd/ui");
    let rebound = Request::builder()
        .uri("/_ecsd/ui")
        .header(header::HOST, "attacker.example:8774")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .expect("request");
    let (status, body) = text(&app, rebound).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::FORBIDDEN, "Ecsd.0403")
    );
}

/// Reads server-sent events from `body` until `count` have arrived (bounded).
async fn read_events(body: &mut Body, count: usize) -> Vec<(u64, String, Value)> {
    let mut events = Vec::new();
    let mut buffer = String::new();
    while events.len() < count {
        let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
            .await
            .expect("an event within the test's bound")
            .expect("the stream is open")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            buffer.push_str(&String::from_utf8_lossy(&data));
        }
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let (mut id, mut kind, mut data) = (None, String::new(), None);
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("id: ") {
                    id = value.parse::<u64>().ok();
                } else if let Some(value) = line.strip_prefix("event: ") {
                    kind = value.to_owned();
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(value).ok();
                }
            }
            if let (Some(id), Some(data)) = (id, data) {
                events.push((id, kind, data));
            }
        }
    }
    events
}

#[tokio::test]
async fn the_event_stream_sends_acceptances_and_ends_and_resumes_after_the_last_id() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Fast));
    let app = app(&harness, None);
    let response = send(&app, get("/_ecsd/events")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut stream = response.into_body();

    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("web", 1), None)
        .await
        .expect("accepted");
    harness.advance_ms(600_000);
    harness.drain().await;

    // Acceptance: the job, then its server; end: the job, then its server.
    let events = read_events(&mut stream, 4).await;
    let ids: Vec<u64> = events.iter().map(|(id, _, _)| *id).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "{ids:?}");
    let (_, kind, job) = &events[0];
    assert_eq!(kind, "job");
    assert_eq!(job["job_id"], accepted.job_id.as_str());
    assert_eq!(job["status"], "INIT");
    assert_eq!(job["job_type"], "createServer");
    assert!(
        job["due_at"].is_i64() && job["running_at"].is_i64(),
        "{job}"
    );
    let (_, kind, server) = &events[1];
    assert_eq!(kind, "server");
    assert_eq!(server["server_id"], accepted.server_ids[0].as_str());
    assert_eq!(
        (&server["status"], &server["held"]),
        (&Value::from("BUILD"), &Value::from(true))
    );
    let (_, kind, end) = &events[2];
    assert_eq!(kind, "job");
    assert_eq!(end["status"], "SUCCESS");
    assert_eq!(end["sub_jobs_done"], 1);
    let (_, _, released) = &events[3];
    assert_eq!(
        (&released["status"], &released["held"]),
        (&Value::from("ACTIVE"), &Value::from(false))
    );

    // A client that saw only the first event gets the rest again, then live ones.
    let resumed = Request::builder()
        .uri("/_ecsd/events")
        .header("last-event-id", ids[0].to_string())
        .body(Body::empty())
        .expect("request");
    let mut resumed = send(&app, resumed).await.into_body();
    let again = read_events(&mut resumed, 3).await;
    assert_eq!(
        again.iter().map(|(id, _, _)| *id).collect::<Vec<_>>(),
        ids[1..]
    );

    // A project filter keeps that project's events only: replayed from the start, the first
    // event it sends is the other project's job accepted after the ones above.
    let other = Request::builder()
        .uri("/_ecsd/events?project_id=another-project")
        .header("last-event-id", "0")
        .body(Body::empty())
        .expect("request");
    let mut other = send(&app, other).await.into_body();
    let elsewhere = harness
        .engine
        .create_servers("another-project", create_request("api", 1), None)
        .await
        .expect("accepted");
    let first = read_events(&mut other, 1).await;
    assert_eq!(first[0].2["job_id"], elsewhere.job_id.as_str());
    assert_eq!(first[0].2["project_id"], "another-project");

    let bad = Request::builder()
        .uri("/_ecsd/events")
        .header("last-event-id", "yesterday")
        .body(Body::empty())
        .expect("request");
    let (status, body) = text(&app, bad).await;
    assert_eq!(
        (status, code_of(&body).as_str()),
        (StatusCode::BAD_REQUEST, "Ecsd.0400")
    );
}

#[tokio::test]
async fn a_failed_job_ends_in_the_stream_with_its_code_and_its_server_in_error() {
    let harness = Harness::with_faults(
        crate::support::config(LatencyProfile::Fast),
        Some(Arc::new(FailWithHostileReason)),
    );
    let app = app(&harness, None);
    let mut stream = send(&app, get("/_ecsd/events")).await.into_body();
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("db", 1), None)
        .await
        .expect("accepted");
    harness.advance_ms(600_000);
    harness.drain().await;
    let events = read_events(&mut stream, 4).await;
    let (_, _, end) = &events[2];
    assert_eq!(end["job_id"], accepted.job_id.as_str());
    assert_eq!(end["status"], "FAIL");
    assert_eq!(end["error_code"], "Ecs.0204");
    assert_eq!(end["fail_reason"], HOSTILE);
    assert!(end["end_time"].is_i64(), "{end}");
    let (_, _, server) = &events[3];
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["held"], false);
}

/// An open event stream never ends by itself; shutdown must end it rather than wait for it.
/// With a one-hour request timeout (hence shutdown grace), ecsd stopping within the bound of
/// `terminate` shows the stream was closed, not waited for.
#[test]
fn an_open_event_stream_does_not_hold_the_shutdown() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = crate::e2e::Ecsd::start_with(dir.path(), "fast", &["--request-timeout", "1h"]);
    let address = ecsd.endpoint.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("a read bound");
    write!(
        stream,
        "GET /_ecsd/events HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .expect("sent");
    let mut head = [0u8; 256];
    let read = stream.read(&mut head).expect("the answer's head");
    let head = String::from_utf8_lossy(&head[..read]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let exit = ecsd.terminate();
    assert!(exit.success(), "exit status {exit:?}");
}
