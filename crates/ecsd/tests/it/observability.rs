//! Watching ecsd (issue 13): the request and job log lines, the log formats, no secret in the
//! log at any level, the start banner, Prometheus metrics after known traffic, and the OpenAPI
//! document checked against the router itself.

use crate::support::{
    create_body, error_code, signed_request, test_accounts, Harness, LOCAL, PROJECT,
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
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tower::ServiceExt;

// ---------------------------------------------------------------------------------------------
// The real binary.

/// Credentials no test elsewhere uses, so finding one in the log means this run leaked it.
const SECRET_KEY: &str = "obsSecretKeyNeverInTheLog0000000000000001";
const PASSWORD: &str = "obs-Password-never-logged-01";
const ADMIN_PASS: &str = "NeverLogged9!Pass";

struct Running {
    child: Child,
    address: String,
    log: Arc<Mutex<Vec<String>>>,
    /// The thread reading stderr; it ends when the process has exited and closed it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// `ecsd serve` on a free port with the local account's secret key and password set to
    /// [`SECRET_KEY`] and [`PASSWORD`], in `cwd`, with `args`; waits for the banner.
    fn start(cwd: &Path, args: &[&str], rust_log: Option<&str>) -> Self {
        let mut command = crate::support::ecsd_command();
        command
            .current_dir(cwd)
            .args(["serve", "--listen", "127.0.0.1:0", "--latency", "instant"])
            .args(args)
            .env("ECSD_SECRET_KEY", SECRET_KEY)
            .env("ECSD_PASSWORD", PASSWORD)
            .env_remove("ECSD_ACCESS_KEY")
            .env_remove("ECSD_PROJECT_ID")
            .env_remove("ECSD_CONFIG")
            .env_remove("ECSD_LOG_FORMAT")
            .env_remove("ECSD_DATABASE")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match rust_log {
            Some(filter) => command.env("RUST_LOG", filter),
            None => command.env_remove("RUST_LOG"),
        };
        let mut child = command.spawn().expect("ecsd starts");
        let stderr = child.stderr.take().expect("piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = std::sync::mpsc::channel();
        let writer = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Text: "listening on http://ADDR"; JSON: "listening":"http://ADDR".
                let address = line
                    .split("listening on http://")
                    .nth(1)
                    .or_else(|| line.split("\"listening\":\"http://").nth(1))
                    .map(|rest| rest.split(['"', ' ']).next().unwrap_or_default().to_owned());
                if let Some(address) = address {
                    let _ = sender.send(address);
                }
                writer.lock().expect("log").push(line);
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("ecsd did not start: {:?}", log.lock().expect("log")));
        Self {
            child,
            address,
            log,
            reader: Some(reader),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends a request signed as the local account (with [`SECRET_KEY`]); returns status,
    /// body and the `Authorization` header it sent.
    fn signed(&self, method: &str, path: &str, body: &[u8]) -> (u16, Value, String) {
        use axum::http::{HeaderMap, HeaderValue};
        let date = api::identity::signature::sdk_date(crate::support::wall_clock_now());
        let mut headers = HeaderMap::new();
        headers.insert(
            "host",
            HeaderValue::from_str(&self.address).expect("header"),
        );
        headers.insert("x-sdk-date", HeaderValue::from_str(&date).expect("header"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        let authorization = api::identity::signature::authorization_header(
            ecsd::DEFAULT_ACCESS_KEY,
            SECRET_KEY,
            method,
            path,
            "",
            &headers,
            &["content-type", "host", "x-sdk-date"],
            body,
        )
        .expect("signs");
        let request = ureq::request(method, &self.url(path))
            .set("X-Sdk-Date", &date)
            .set("Content-Type", "application/json")
            .set("Authorization", &authorization);
        let (status, body) = read(if body.is_empty() {
            request.call()
        } else {
            request.send_bytes(body)
        });
        (status, body, authorization)
    }

    /// The log lines so far, after waiting (bounded) until `ready` holds for them.
    fn log_when(&self, ready: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let lines = self.log.lock().expect("log").clone();
            if ready(&lines) {
                return lines;
            }
            assert!(Instant::now() < deadline, "log never got there: {lines:#?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server (SIGTERM) and returns its whole log.
    fn stop(mut self) -> Vec<String> {
        crate::support::terminate(&self.child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().expect("waits").is_none() {
            assert!(Instant::now() < deadline, "ecsd did not stop");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The process has exited, so its stderr is closed and the reader ends.
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the reader thread ends");
        }
        self.log.lock().expect("log").clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("transport error: {error}"),
    };
    let status = response.status();
    let text = response.into_string().expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A create body with an `adminPass`, which must never reach the log.
fn create_with_admin_pass(name: &str) -> Vec<u8> {
    let mut body = create_body(name, 1);
    body["server"]["adminPass"] = json!(ADMIN_PASS);
    body.to_string().into_bytes()
}

/// A password token request for the local account.
fn token_body(password: &str) -> String {
    json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "ecsd", "password": password, "domain": {"name": "ecsd"}
        }}},
        "scope": {"project": {"id": PROJECT}}
    }})
    .to_string()
}

/// The traffic of the log tests: a job, a refusal, an unknown route, a token issued and used,
/// a wrong password. Returns the secrets it sent (token, signature), which the log must not
/// contain, and the created job's id.
fn traffic(ecsd: &Running) -> (Vec<String>, String) {
    let (status, created, authorization) = ecsd.signed(
        "POST",
        &format!("/v1/{PROJECT}/cloudservers"),
        &create_with_admin_pass("logged"),
    );
    assert_eq!(status, 200, "{created}");
    let job_id = created["job_id"].as_str().expect("job_id").to_owned();
    let signature = authorization
        .split("Signature=")
        .nth(1)
        .expect("a signature")
        .to_owned();

    let (status, _) =
        read(ureq::get(&ecsd.url(&format!("/v1/{PROJECT}/cloudservers/detail"))).call());
    assert_eq!(status, 401);
    let (status, _) = read(ureq::get(&ecsd.url("/no/such/route?secret=query-value")).call());
    assert_eq!(status, 404);

    let issued = ureq::post(&ecsd.url("/v3/auth/tokens"))
        .set("Content-Type", "application/json")
        .send_string(&token_body(PASSWORD))
        .expect("a token");
    let token = issued.header("X-Subject-Token").expect("token").to_owned();
    let (status, _) = read(
        ureq::get(&ecsd.url(&format!("/v1/{PROJECT}/jobs/{job_id}")))
            .set("X-Auth-Token", &token)
            .call(),
    );
    assert_eq!(status, 200);
    let (status, _) = read(
        ureq::post(&ecsd.url("/v3/auth/tokens"))
            .set("Content-Type", "application/json")
            .send_string(&token_body("wrong-Password-9")),
    );
    assert_eq!(status, 401);
    (vec![token, signature], job_id)
}

fn assert_no_secret(log: &[String], sent: &[String]) {
    let text = log.join("\n");
    let mut secrets = vec![
        SECRET_KEY.to_owned(),
        PASSWORD.to_owned(),
        ADMIN_PASS.to_owned(),
    ];
    secrets.extend(sent.iter().cloned());
    for secret in &secrets {
        assert!(!secret.is_empty());
        // The failure names the line, with the secret itself blanked out.
        if let Some(line) = log.iter().find(|line| line.contains(secret.as_str())) {
            panic!(
                "the log contains a secret: {}",
                line.replace(secret.as_str(), "<SECRET>")
            );
        }
    }
    assert!(!text.contains("query-value"), "a query string was logged");
}

/// At the default level (no `RUST_LOG`), as JSON: one line per request with its route,
/// status, error code, duration, request id and caller, and one when a job is accepted and
/// one when it finishes.
#[test]
fn the_default_level_logs_each_request_and_accepted_job_as_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Running::start(
        dir.path(),
        &["--database", "sqlite://ecsd.db", "--log-format", "json"],
        None,
    );
    let (sent, job_id) = traffic(&ecsd);
    let log = ecsd.log_when(|lines| {
        lines
            .iter()
            .filter(|line| line.contains("\"ecsd::request\""))
            .count()
            >= 6
            && lines.iter().any(|line| line.contains("job finished"))
    });
    let log = {
        drop(ecsd);
        log
    };
    let events: Vec<Value> = log
        .iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"))
        })
        .collect();
    let requests: Vec<&Value> = events
        .iter()
        .filter(|event| event["target"] == "ecsd::request")
        .collect();
    assert_eq!(requests.len(), 6, "one line per request: {requests:#?}");
    for request in &requests {
        assert_eq!(request["level"], "INFO");
        assert!(request["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 32));
        assert!(request["duration_us"].is_u64(), "{request}");
    }
    let create = requests[0];
    assert_eq!(create["method"], "POST");
    assert_eq!(create["route"], "/v1/{project_id}/cloudservers");
    assert_eq!(create["status"], 200);
    assert_eq!(create["access_key"], ecsd::DEFAULT_ACCESS_KEY);
    assert_eq!(create["job_id"], job_id.as_str());
    assert!(create.get("code").is_none(), "a success has no error code");

    let refused = requests[1];
    assert_eq!(refused["status"], 401);
    assert_eq!(refused["code"], "APIGW.0301");
    assert!(
        refused.get("access_key").is_none(),
        "no credentials, no key"
    );

    let unknown = requests[2];
    assert_eq!(unknown["route"], "unmatched");
    assert_eq!(
        unknown["path"], "/no/such/route",
        "the path, never the query"
    );
    assert_eq!(unknown["code"], "APIGW.0101");

    assert_eq!(requests[3]["route"], "/v3/auth/tokens");
    assert_eq!(requests[3]["status"], 201);
    let by_token = requests[4];
    assert_eq!(by_token["route"], "/v1/{project_id}/jobs/{job_id}");
    assert_eq!(
        by_token["access_key"],
        ecsd::DEFAULT_ACCESS_KEY,
        "a token's caller is its account's access key"
    );
    assert_eq!(requests[5]["status"], 401);

    let accepted: Vec<&Value> = events
        .iter()
        .filter(|event| event["target"] == "ecsd::job" && event["message"] == "job accepted")
        .collect();
    assert_eq!(accepted.len(), 1, "{accepted:#?}");
    assert_eq!(accepted[0]["message"], "job accepted");
    assert_eq!(accepted[0]["job_id"], job_id.as_str());
    assert_eq!(accepted[0]["job_type"], "createServer");
    assert_eq!(accepted[0]["request_id"], create["request_id"]);
    let finished: Vec<&Value> = events
        .iter()
        .filter(|event| event["target"] == "ecsd::job" && event["message"] == "job finished")
        .collect();
    assert_eq!(finished.len(), 1, "{finished:#?}");
    assert_eq!(finished[0]["level"], "INFO");
    assert_eq!(finished[0]["job_id"], job_id.as_str());
    assert_eq!(finished[0]["job_type"], "createServer");
    assert_eq!(finished[0]["status"], "SUCCESS");
    assert!(finished[0]["duration_ms"].is_i64(), "{}", finished[0]);
    assert!(
        finished[0].get("error_code").is_none(),
        "a success has none"
    );

    let start = events
        .iter()
        .find(|event| event["target"] == "ecsd::start")
        .expect("the banner is a JSON event too");
    assert!(start["database"]
        .as_str()
        .is_some_and(|database| database.starts_with("sqlite:///")));
    assert_no_secret(&log, &sent);
}

/// At `trace`, every crate's every line: the secret key, the password, the token, the
/// signature and the `adminPass` appear in none of them (text format, the default).
/// Nova's answers carry no `job_id`, but the jobs they make are in the access log like ECS's:
/// the request's line names the job, and the job's "accepted" line follows.
#[test]
fn nova_requests_that_make_jobs_log_their_job_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Running::start(
        dir.path(),
        &["--database", "sqlite://ecsd.db", "--log-format", "json"],
        None,
    );
    let flavor = create_body("nova", 1)["server"]["flavorRef"].clone();
    let body = json!({"server": {"name": "nova-logged", "imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
        "flavorRef": flavor, "networks": [{"uuid": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33"}]}});
    let (status, created, _) = ecsd.signed(
        "POST",
        &format!("/v2.1/{PROJECT}/servers"),
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 202, "{created}");
    let log = ecsd.log_when(|lines| lines.iter().any(|line| line.contains("job accepted")));
    drop(ecsd);
    let events: Vec<Value> = log
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let request = events
        .iter()
        .find(|event| {
            event["target"] == "ecsd::request" && event["route"] == "/v2.1/{project_id}/servers"
        })
        .unwrap_or_else(|| panic!("no request line: {events:#?}"));
    let job_id = request["job_id"]
        .as_str()
        .unwrap_or_else(|| panic!("the Nova create's line names its job: {request}"));
    assert!(engine::job::is_job_id(job_id), "{request}");
    assert!(
        events.iter().any(|event| event["target"] == "ecsd::job"
            && event["job_id"] == job_id
            && event["job_type"] == "createServer"),
        "{events:#?}"
    );
}

#[test]
fn no_secret_token_signature_or_admin_pass_reaches_the_log_even_at_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Running::start(
        dir.path(),
        &["--database", "sqlite://ecsd.db"],
        Some("trace"),
    );
    let (sent, job_id) = traffic(&ecsd);
    let log = ecsd.stop();
    // The text format carries the same request line.
    assert!(
        log.iter().any(|line| line.contains("ecsd::request")
            && line.contains("status=200")
            && line.contains(&format!("job_id={job_id}"))),
        "{log:#?}"
    );
    assert_no_secret(&log, &sent);
}

/// The banner names the database by its absolute path and says what it holds; the next run
/// over the same file says it holds the earlier job and server.
#[test]
fn the_banner_shows_the_absolute_database_and_what_it_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = ["--database", "sqlite://data/ecsd.db"];
    let ecsd = Running::start(dir.path(), &args, Some("warn"));
    let absolute = std::fs::canonicalize(dir.path())
        .expect("canonical")
        .join("data/ecsd.db");
    let banner = ecsd.log_when(|lines| lines.iter().any(|line| line.contains("next:")));
    let text = banner.join("\n");
    assert!(
        text.contains(&format!("database: sqlite://{}", absolute.display())),
        "{text}"
    );
    assert!(text.contains("holds:    nothing yet"), "{text}");
    assert!(text.contains("next:     ecsd call GET"), "{text}");
    assert!(
        !text.contains(SECRET_KEY) && !text.contains(PASSWORD),
        "{text}"
    );
    let (status, _, _) = ecsd.signed(
        "POST",
        &format!("/v1/{PROJECT}/cloudservers"),
        create_body("kept", 1).to_string().as_bytes(),
    );
    assert_eq!(status, 200);
    ecsd.stop();

    let again = Running::start(dir.path(), &args, Some("warn"));
    let banner = again.log_when(|lines| lines.iter().any(|line| line.contains("next:")));
    let text = banner.join("\n");
    assert!(
        text.contains("holds:    1 job (") && text.contains("1 server, 1 project"),
        "{text}"
    );
}

/// A port that is taken, or a config file that does not parse, is found before any file is
/// created.
#[test]
fn a_busy_port_or_a_broken_config_is_refused_before_the_database_is_created() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let output = crate::support::ecsd_command()
        .current_dir(dir.path())
        .args([
            "serve",
            "--listen",
            &address,
            "--database",
            "sqlite://data/ecsd.db",
        ])
        .env_remove("ECSD_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("ecsd runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created when the port is busy"
    );
    // With JSON logs the refusal is a JSON line too.
    let output = crate::support::ecsd_command()
        .current_dir(dir.path())
        .args(["--log-format", "json", "serve", "--listen", &address])
        .args(["--database", "sqlite://data/ecsd.db"])
        .env_remove("ECSD_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("ecsd runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let event: Value = serde_json::from_str(stderr.trim()).expect("one JSON line");
    assert_eq!(event["level"], "ERROR", "{event}");
    assert!(
        event["error"]
            .as_str()
            .is_some_and(|error| error.contains(&format!("cannot listen on {address}"))),
        "{event}"
    );

    drop(taken);
    std::fs::write(dir.path().join("broken.toml"), "[[accounts]\n").expect("write");
    let output = crate::support::ecsd_command()
        .current_dir(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "sqlite://data/ecsd.db",
        ])
        .args(["--config", "broken.toml"])
        .stdin(Stdio::null())
        .output()
        .expect("ecsd runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("broken.toml"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing is created when the config is invalid"
    );
}

// ---------------------------------------------------------------------------------------------
// In process: metrics and the OpenAPI document.

/// The whole API over a fresh engine, verifying signatures of [`test_accounts`].
fn app(harness: &Harness) -> axum::Router {
    let clock: Arc<dyn Clock> = Arc::new(harness.clock.clone());
    let token_key = api::identity::tokens::TokenKey::new(engine::store::Store::token_signing_key(
        harness.store.as_ref(),
    ));
    api::router(AppState::new(
        harness.engine.clone(),
        Regions::builtin(),
        api::DEFAULT_MAX_BODY_BYTES,
        Auth::Verify(Arc::new(Identity::new(test_accounts(), clock, token_key))),
    ))
}

async fn call(app: &axum::Router, request: Request<Body>) -> (StatusCode, String) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

fn unsigned(method: Method, path: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(Body::empty())
        .expect("request")
}

/// The value of the sample `name{labels}` in a scrape (0 when absent: a counter not yet
/// touched has no sample).
fn sample(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
        .unwrap_or(0.0)
}

async fn scrape(app: &axum::Router) -> String {
    let response = app
        .clone()
        .oneshot(unsigned(Method::GET, "/metrics"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::OK, "no credentials needed");
    assert!(response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/openmetrics-text")));
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    assert!(text.ends_with("# EOF\n"), "{text}");
    text
}

#[tokio::test]
async fn metrics_count_requests_jobs_and_auth_refusals_after_known_traffic() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Instant));
    let app = app(&harness);
    let create_route = "/v1/{project_id}/cloudservers";
    let created = format!(
        "ecsd_http_requests_total{{method=\"POST\",route=\"{create_route}\",status=\"200\"}}"
    );
    let accepted = "ecsd_jobs_accepted_total{job_type=\"createServer\"}";
    let no_credentials = "ecsd_auth_refusals_total{reason=\"no_credentials\",code=\"APIGW.0301\"}";
    let bad_signature = "ecsd_auth_refusals_total{reason=\"signature\",code=\"APIGW.0301\"}";
    let unmatched = "ecsd_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";

    let before = scrape(&app).await;
    for series in [
        created.as_str(),
        accepted,
        no_credentials,
        bad_signature,
        unmatched,
    ] {
        assert_eq!(sample(&before, series), 0.0, "{series}: {before}");
    }

    let now = harness.clock.now();
    let body = create_body("counted", 1).to_string().into_bytes();
    let path = format!("/v1/{PROJECT}/cloudservers");
    for _ in 0..2 {
        let request = signed_request(
            LOCAL,
            now,
            &Method::POST,
            &path,
            Some("application/json"),
            &body,
        );
        let (status, answer) = call(&app, request).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, _) = call(
        &app,
        unsigned(Method::GET, &format!("/v1/{PROJECT}/cloudservers/detail")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut forged = signed_request(
        LOCAL,
        now,
        &Method::GET,
        &format!("/v1/{PROJECT}/cloudservers/detail"),
        None,
        b"",
    );
    let authorization = forged.headers()["authorization"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let tampered = format!(
        "{}0",
        authorization.trim_end_matches(|c: char| c.is_ascii_hexdigit())
    );
    forged
        .headers_mut()
        .insert("authorization", tampered.parse().expect("header"));
    let (status, answer) = call(&app, forged).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    let (status, _) = call(&app, unsigned(Method::GET, "/nowhere/at-all")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let after = scrape(&app).await;
    assert_eq!(sample(&after, &created), 2.0, "{after}");
    assert_eq!(sample(&after, accepted), 2.0, "{after}");
    assert_eq!(sample(&after, no_credentials), 1.0, "{after}");
    assert_eq!(sample(&after, bad_signature), 1.0, "{after}");
    assert_eq!(sample(&after, unmatched), 1.0, "{after}");
    assert_eq!(
        sample(
            &after,
            "ecsd_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}"
        ),
        1.0,
        "the first scrape is counted by the second: {after}"
    );
    assert_eq!(
        sample(&after, &format!("ecsd_http_request_duration_seconds_count{{method=\"POST\",route=\"{create_route}\"}}")),
        2.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "ecsd_jobs_unfinished"),
        2.0,
        "both jobs are queued: {after}"
    );
    harness.drain().await;
    let drained = scrape(&app).await;
    assert!(
        sample(&drained, "ecsd_jobs_unfinished") < 2.0,
        "the gauge is read at each scrape: {drained}"
    );
    // The wrong password of the token route is a refusal too.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v3/auth/tokens")
        .header("content-type", "application/json")
        .body(Body::from(token_body("wrong-Password-9")))
        .expect("request");
    let (status, _) = call(&app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let last = scrape(&app).await;
    assert_eq!(
        sample(
            &last,
            "ecsd_auth_refusals_total{reason=\"password\",code=\"Common.0013\"}"
        ),
        1.0,
        "{last}"
    );
}

/// Fails the second sub-job of every job: a create of two servers ends FAIL.
#[derive(Debug)]
struct FailSecondTask;

impl engine::engine::FaultInjector for FailSecondTask {
    fn fault(
        &self,
        task: &engine::job::TaskRecord,
        step: usize,
    ) -> Option<engine::engine::InjectedFault> {
        (task.index == 1 && step == 0).then(|| engine::engine::InjectedFault {
            code: None,
            reason: "injected".into(),
        })
    }
}

/// Sends a signed request as the local account and returns the status and body.
async fn signed_call(
    app: &axum::Router,
    harness: &Harness,
    path: &str,
    body: &Value,
) -> (StatusCode, String) {
    let bytes = body.to_string().into_bytes();
    let request = signed_request(
        LOCAL,
        harness.clock.now(),
        &Method::POST,
        path,
        Some("application/json"),
        &bytes,
    );
    call(app, request).await
}

#[tokio::test]
async fn metrics_count_finished_jobs_their_durations_nova_jobs_and_the_writers_commits() {
    let harness = Harness::with_faults(
        crate::support::config(LatencyProfile::Fast),
        Some(Arc::new(FailSecondTask) as Arc<dyn engine::engine::FaultInjector>),
    );
    let app = app(&harness);
    let accepted = "ecsd_jobs_accepted_total{job_type=\"createServer\"}";
    let succeeded = "ecsd_jobs_finished_total{job_type=\"createServer\",status=\"SUCCESS\"}";
    let failed = "ecsd_jobs_finished_total{job_type=\"createServer\",status=\"FAIL\"}";
    let job_seconds = "ecsd_job_duration_seconds";
    let labels = "job_type=\"createServer\",status=\"SUCCESS\"";
    let commits = "ecsd_store_commit_batch_size_count";
    let committed_writes = "ecsd_store_commit_batch_size_sum";
    let before = scrape(&app).await;
    for series in [accepted, succeeded, failed] {
        assert_eq!(sample(&before, series), 0.0, "{series}: {before}");
    }
    let writes_before = sample(&before, committed_writes);

    // A create that succeeds, one whose second server fails, one refused at acceptance (no
    // job), and a Nova create.
    let ecs_path = format!("/v1/{PROJECT}/cloudservers");
    for (count, expected) in [(1, StatusCode::OK), (2, StatusCode::OK)] {
        let (status, answer) =
            signed_call(&app, &harness, &ecs_path, &create_body("metered", count)).await;
        assert_eq!(status, expected, "{answer}");
    }
    let mut refused = create_body("refused", 1);
    refused["server"]["flavorRef"] = json!("no.such.flavor");
    let (status, answer) = signed_call(&app, &harness, &ecs_path, &refused).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let flavor = create_body("nova", 1)["server"]["flavorRef"].clone();
    let nova = json!({"server": {"name": "nova-metered", "imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
        "flavorRef": flavor, "networks": [{"uuid": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33"}]}});
    let (status, answer) =
        signed_call(&app, &harness, &format!("/v2.1/{PROJECT}/servers"), &nova).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");

    let accepted_only = scrape(&app).await;
    assert_eq!(
        sample(&accepted_only, accepted),
        3.0,
        "Nova's create counts: {accepted_only}"
    );
    assert_eq!(sample(&accepted_only, succeeded), 0.0, "nothing ended yet");
    assert_eq!(sample(&accepted_only, "ecsd_jobs_unfinished"), 3.0);
    // Every acceptance was one of the writer's commits, counted before it was answered.
    assert!(
        sample(&accepted_only, committed_writes) - writes_before >= 3.0,
        "{accepted_only}"
    );

    // A minute of the engine's clock later every task is due; each ends at that instant.
    harness.advance_ms(60_000);
    harness.drain().await;
    let after = scrape(&app).await;
    assert_eq!(sample(&after, accepted), 3.0, "{after}");
    assert_eq!(sample(&after, succeeded), 2.0, "{after}");
    assert_eq!(sample(&after, failed), 1.0, "{after}");
    assert_eq!(sample(&after, "ecsd_jobs_unfinished"), 0.0, "{after}");
    assert_eq!(
        sample(&after, &format!("{job_seconds}_count{{{labels}}}")),
        2.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, &format!("{job_seconds}_sum{{{labels}}}")),
        120.0,
        "two jobs of 60 s: {after}"
    );
    assert_eq!(
        sample(
            &after,
            &format!("{job_seconds}_bucket{{le=\"30.0\",{labels}}}")
        ),
        0.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            &format!("{job_seconds}_bucket{{le=\"60.0\",{labels}}}")
        ),
        2.0,
        "{after}"
    );
    // Sub-jobs: three servers built (one in the failed job), one failed.
    assert_eq!(
        sample(
            &after,
            "ecsd_subjob_duration_seconds_count{job_type=\"createServer\",status=\"SUCCESS\"}"
        ),
        3.0,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "ecsd_subjob_duration_seconds_count{job_type=\"createServer\",status=\"FAIL\"}"
        ),
        1.0,
        "{after}"
    );
    // The writer: every commit has a batch size and a duration; nothing waits after the drain.
    assert!(sample(&after, commits) >= 2.0, "{after}");
    assert_eq!(
        sample(&after, commits),
        sample(&after, "ecsd_store_commit_duration_seconds_count"),
        "{after}"
    );
    assert!(sample(&after, committed_writes) > sample(&accepted_only, committed_writes));
    assert!(
        after.contains("\necsd_store_writer_queue_depth 0\n"),
        "the gauge is read at the scrape: {after}"
    );
}

/// Every metric family `/metrics` exposes is in README's metrics table (by its sample name:
/// counters with `_total`), so a new metric cannot go undocumented.
#[tokio::test]
async fn every_metric_is_documented_in_the_readme() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Instant));
    let app = app(&harness);
    // Traffic that touches every family (a labelled family shows no sample before its first).
    let (status, answer) = signed_call(
        &app,
        &harness,
        &format!("/v1/{PROJECT}/cloudservers"),
        &create_body("documented", 1),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    harness.drain().await;
    let (status, _) = call(
        &app,
        unsigned(Method::GET, &format!("/v1/{PROJECT}/cloudservers/detail")),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let text = scrape(&app).await;
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md is readable");
    let families: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .map(|rest| {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap_or_default();
            match parts.next() {
                Some("counter") => format!("{name}_total"),
                _ => name.to_owned(),
            }
        })
        .collect();
    assert!(families.len() >= 11, "{text}");
    for family in families {
        assert!(
            readme.contains(&format!("| `{family}` |")),
            "{family} is not in README's metrics table"
        );
    }
}

/// The path templates the router holds, read from its `Debug` form (axum has no public
/// listing). Fails loudly if axum's `Debug` stops showing them.
fn router_paths(app: &axum::Router) -> BTreeSet<String> {
    let debug = format!("{app:?}");
    let routes = debug
        .split("fallback_router")
        .next()
        .expect("the path router comes first");
    let paths: BTreeSet<String> = routes
        .split("RouteId(")
        .skip(1)
        .filter_map(|rest| rest.split_once("): \"")?.1.split('"').next())
        .filter(|path| path.starts_with('/') && !path.contains("__private__axum"))
        .map(str::to_owned)
        .collect();
    assert!(
        paths.len() > 10,
        "axum's Debug no longer shows the route paths; adapt router_paths: {debug:.2000}"
    );
    paths
}

/// Every method the router answers on every path it holds, found by asking it: a method the
/// path does not serve (or a path it does not hold) is answered 404 `APIGW.0101` by ecsd's
/// fallbacks (405 by axum's, for a route added outside `api::router`); anything else reached a
/// handler or the authentication in front of it.
async fn served_routes(app: &axum::Router) -> BTreeSet<(String, String)> {
    let mut served = BTreeSet::new();
    for path in router_paths(app) {
        let concrete = path
            .split('/')
            .map(|segment| match segment {
                // The version route serves known versions only; others are the gateway's 404.
                "{api_version}" => "v2.1",
                _ if segment.starts_with('{') => "x",
                _ => segment,
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::PATCH,
        ] {
            let response = app
                .clone()
                .oneshot(unsigned(method.clone(), &concrete))
                .await
                .expect("infallible");
            let status = response.status();
            // An event stream (`/_ecsd/events`) never ends: its answer is enough.
            let streams = response
                .headers()
                .get(axum::http::header::CONTENT_TYPE)
                .is_some_and(|value| value == "text/event-stream");
            let body = if streams {
                Value::Null
            } else {
                let bytes = response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes();
                serde_json::from_slice(&bytes).unwrap_or(Value::Null)
            };
            let unrouted = (status == StatusCode::NOT_FOUND && error_code(&body) == "APIGW.0101")
                || status == StatusCode::METHOD_NOT_ALLOWED;
            if !unrouted {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    served
}

/// The OpenAPI document lists exactly the routes the router serves: a route added without a
/// `api::routes` entry, or an entry without a route, fails here.
#[tokio::test]
async fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Instant));
    let app = app(&harness);
    let (status, text) = call(&app, unsigned(Method::GET, "/_ecsd/openapi.json")).await;
    assert_eq!(status, StatusCode::OK, "no credentials needed");
    let document: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(document, *api::openapi::document());
    assert_eq!(document["openapi"], "3.1.0");

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            assert!(operation["operationId"].is_string(), "{method} {path}");
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let served = served_routes(&app).await;
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "served but not in the document (add them to api::routes): {undocumented:#?}\nin the document but not served: {unserved:#?}"
    );
    assert_eq!(served.len(), api::routes::all().count());
}

/// The probe above must see a difference: a router with one route more than the document.
#[tokio::test]
async fn the_route_probe_finds_an_undocumented_route() {
    let harness = Harness::new(crate::support::config(LatencyProfile::Instant));
    let extra = app(&harness).route(
        "/v1/{project_id}/secret-route",
        axum::routing::get(|| async { "x" }),
    );
    let served = served_routes(&extra).await;
    assert!(served.contains(&("GET".to_owned(), "/v1/{project_id}/secret-route".to_owned())));
    assert!(!served.contains(&(
        "POST".to_owned(),
        "/v1/{project_id}/secret-route".to_owned()
    )));
    assert!(served.contains(&(
        "PUT".to_owned(),
        "/v1/{project_id}/cloudservers/{server_id}".to_owned()
    )));
}
