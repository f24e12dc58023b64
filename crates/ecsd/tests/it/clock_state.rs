//! Time and state under the user's control (issue 11, items 3 and 4): the virtual clock, the
//! latency changed at runtime, reset, snapshots, export and import, `--seed`, and the
//! throwaway database. In-process over a running engine on a [`VirtualClock`] (no test waits
//! for simulated work: the clock is moved instead), and through the real binary.
//! Every wait is bounded; none asserts on timing.

use crate::e2e::Ecsd;
use crate::support::{
    create_body, error_code, signed_request, test_accounts, wall_clock_now, Credentials, LOCAL,
    OTHER, PROJECT,
};
use api::identity::auth::{Auth, Identity};
use api::AppState;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use engine::clock::{Clock, ManualClock, SystemClock, VirtualClock};
use engine::compute::LatencyProfile;
use engine::regions::Regions;
use engine::{Engine, EngineConfig};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::sqlite::SqliteStore;
use time::macros::datetime;
use tower::ServiceExt;

/// Where the virtual clock of the in-process tests starts.
const START: time::OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

/// The router over an engine whose run loop is running, on a virtual clock (or the system
/// clock, to see the refusals that depend on it).
struct Rig {
    router: axum::Router,
    /// What signatures are dated with and rate limits meter.
    wall: Arc<dyn Clock>,
    stop: tokio::sync::watch::Sender<bool>,
    dir: tempfile::TempDir,
}

struct Options {
    latency: LatencyProfile,
    virtual_clock: bool,
    retention: time::Duration,
    token_ttl: time::Duration,
    /// A stand-in for the wall clock (default: the system's).
    wall: Option<ManualClock>,
    rate_limit: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            latency: LatencyProfile::Instant,
            virtual_clock: true,
            retention: time::Duration::hours(24),
            token_ttl: time::Duration::hours(24),
            wall: None,
            rate_limit: api::identity::auth::DEFAULT_RATE_LIMIT,
        }
    }
}

impl Rig {
    fn new(options: Options) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("ecsd.db")).expect("store opens"));
        let config = EngineConfig {
            latency: options.latency,
            job_retention: options.retention,
            ..EngineConfig::default()
        };
        let wall: Arc<dyn Clock> = match options.wall {
            Some(manual) => Arc::new(manual),
            None => Arc::new(SystemClock),
        };
        let mut engine = Engine::new(store.clone(), wall.clone(), config);
        if options.virtual_clock {
            engine = engine.with_virtual_clock(VirtualClock::new(START));
        }
        let engine = Arc::new(engine);
        let engine_clock = engine.clock();
        let token_key = api::identity::tokens::TokenKey::new(
            engine::store::Store::token_signing_key(store.as_ref()),
        );
        // As `ecsd serve` builds it: tokens on the engine's clock, signatures on the wall's.
        let identity = Identity::new(test_accounts(), engine_clock, token_key)
            .with_wall_clock(wall.clone())
            .with_token_ttl(options.token_ttl)
            .with_default_rate_limit(options.rate_limit);
        let router = api::router(AppState::new(
            engine.clone(),
            Regions::builtin(),
            api::DEFAULT_MAX_BODY_BYTES,
            Auth::Verify(Arc::new(identity)),
        ));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(engine.clone().run(stopped));
        Self {
            router,
            wall,
            stop,
            dir,
        }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        if bytes.is_empty() {
            return (status, Value::Null);
        }
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)));
        (status, value)
    }

    /// A tenant call, signed as `who` with the wall clock (as a client signs).
    async fn tenant(
        &self,
        who: Credentials,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let bytes = body.map(Value::to_string).unwrap_or_default();
        let content_type = body.map(|_| "application/json");
        self.send(signed_request(
            who,
            self.wall.now(),
            &method,
            path,
            content_type,
            bytes.as_bytes(),
        ))
        .await
    }

    /// An admin call (in-process there is no peer address: the loopback rule lets it through).
    async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        self.send(request.body(Body::from(body)).expect("request"))
            .await
    }

    async fn create(&self, who: Credentials, name: &str, count: u32) -> (String, Vec<String>) {
        let (status, body) = self
            .tenant(
                who,
                Method::POST,
                &format!("/v1/{}/cloudservers", who.project),
                Some(&create_body(name, count)),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let servers = body["serverIds"]
            .as_array()
            .expect("serverIds")
            .iter()
            .map(|id| id.as_str().expect("id").to_owned())
            .collect();
        (body["job_id"].as_str().expect("job_id").to_owned(), servers)
    }

    async fn job(&self, who: Credentials, job_id: &str) -> (StatusCode, Value) {
        self.tenant(
            who,
            Method::GET,
            &format!("/v1/{}/jobs/{job_id}", who.project),
            None,
        )
        .await
    }

    /// Polls until the job has ended (the run loop writes the end), for at most 20 s.
    async fn finished(&self, who: Credentials, job_id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (status, job) = self.job(who, job_id).await;
            assert_eq!(status, StatusCode::OK, "{job}");
            if job["status"] == "SUCCESS" || job["status"] == "FAIL" {
                return job;
            }
            assert!(Instant::now() < deadline, "job {job_id} did not end: {job}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn advance(&self, by: &str) -> Value {
        let (status, body) = self
            .admin(Method::POST, "/_ecsd/clock", Some(&json!({"advance": by})))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn servers(&self, who: Credentials) -> Value {
        let (status, body) = self
            .tenant(
                who,
                Method::GET,
                &format!("/v1/{}/cloudservers/detail", who.project),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn groups(&self, who: Credentials) -> Value {
        let (status, body) = self
            .tenant(
                who,
                Method::GET,
                &format!("/v1/{}/cloudservers/os-server-groups", who.project),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn create_group(&self, who: Credentials, name: &str) {
        let (status, body) = self
            .tenant(
                who,
                Method::POST,
                &format!("/v1/{}/cloudservers/os-server-groups", who.project),
                Some(&json!({"server_group": {"name": name, "policies": ["anti-affinity"]}})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_realistic_create_finishes_after_one_advance_with_no_real_waiting() {
    let rig = Rig::new(Options {
        latency: LatencyProfile::Realistic,
        ..Options::default()
    });
    let (status, clock) = rig.admin(Method::GET, "/_ecsd/clock", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        clock,
        json!({"mode": "virtual", "now": "2026-03-01T09:00:00.000Z"})
    );

    let (job_id, servers) = rig.create(LOCAL, "frozen", 2).await;
    // The clock stands still: however often the run loop looks, nothing is due.
    for _ in 0..20 {
        tokio::task::yield_now().await;
        let (_, job) = rig.job(LOCAL, &job_id).await;
        assert_eq!(job["status"], "INIT", "{job}");
    }
    let moved = rig.advance("60s").await;
    assert_eq!(moved["now"], "2026-03-01T09:01:00.000Z");
    // A realistic create takes about 38 s of simulated time; it ends without that passing.
    let job = rig.finished(LOCAL, &job_id).await;
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["begin_time"], "2026-03-01T09:00:00.000Z");
    let end = job["end_time"].as_str().expect("end_time");
    assert!(
        end > "2026-03-01T09:00:20" && end <= "2026-03-01T09:01:00.000Z",
        "{end}"
    );
    for server_id in servers {
        let (_, server) = rig
            .tenant(
                LOCAL,
                Method::GET,
                &format!("/v1/{PROJECT}/cloudservers/{server_id}"),
                None,
            )
            .await;
        assert_eq!(server["server"]["status"], "ACTIVE", "{server}");
        assert_eq!(server["server"]["created"], "2026-03-01T09:00:00Z");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_follows_the_virtual_clock() {
    let rig = Rig::new(Options {
        retention: time::Duration::hours(1),
        ..Options::default()
    });
    let (job_id, _) = rig.create(LOCAL, "kept", 1).await;
    assert_eq!(rig.finished(LOCAL, &job_id).await["status"], "SUCCESS");
    rig.advance("59m").await;
    assert_eq!(rig.job(LOCAL, &job_id).await.0, StatusCode::OK);
    rig.advance("2m").await;
    let (status, body) = rig.job(LOCAL, &job_id).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "Common.0011")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_on_the_virtual_clock_while_signatures_use_the_wall_clock() {
    let rig = Rig::new(Options {
        token_ttl: time::Duration::hours(1),
        ..Options::default()
    });
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v3/auth/tokens")
        .header("content-type", "application/json")
        .header("host", crate::support::HOST)
        .body(Body::from(
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "ecsd", "password": ecsd::config::DEFAULT_PASSWORD,
                "domain": {"name": "ecsd"}}}}, "scope": {"project": {"name": "eu-de"}}}})
            .to_string(),
        ))
        .expect("request");
    let response = rig.router.clone().oneshot(request).await.expect("answer");
    assert_eq!(response.status(), StatusCode::CREATED);
    let token = response.headers()["x-subject-token"]
        .to_str()
        .expect("text")
        .to_owned();
    let with_token = || {
        Request::builder()
            .uri(format!("/v1/{PROJECT}/cloudservers/detail"))
            .header("x-auth-token", &token)
            .body(Body::empty())
            .expect("request")
    };
    assert_eq!(rig.send(with_token()).await.0, StatusCode::OK);
    rig.advance("61m").await;
    assert_eq!(rig.send(with_token()).await.0, StatusCode::UNAUTHORIZED);
    // A day on the virtual clock: signatures dated by the client's wall clock still pass.
    rig.advance("1d").await;
    assert_eq!(
        rig.tenant(
            LOCAL,
            Method::GET,
            &format!("/v1/{PROJECT}/cloudservers/detail"),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_moved_backwards_or_badly_is_refused_and_does_not_move() {
    let rig = Rig::new(Options::default());
    let cases = [
        json!({"set": "2026-03-01T08:59:59Z"}),
        json!({"advance": "-5m"}),
        json!({"advance": "ten minutes"}),
        json!({"set": "yesterday"}),
        json!({"advance": "1m", "set": "2027-01-01T00:00:00Z"}),
        json!({}),
        json!({"advance": "1m", "backwards": true}),
    ];
    for body in cases {
        let (status, answer) = rig.admin(Method::POST, "/_ecsd/clock", Some(&body)).await;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::BAD_REQUEST, "Ecsd.0400"),
            "{body} → {answer}"
        );
        assert!(!answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
    }
    let (_, clock) = rig.admin(Method::GET, "/_ecsd/clock", None).await;
    assert_eq!(clock["now"], "2026-03-01T09:00:00.000Z");
    // Setting it forward works.
    let (status, clock) = rig
        .admin(
            Method::POST,
            "/_ecsd/clock",
            Some(&json!({"set": "2026-03-02T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        (status, &clock["now"]),
        (StatusCode::OK, &json!("2026-03-02T00:00:00.000Z"))
    );

    let system = Rig::new(Options {
        virtual_clock: false,
        ..Options::default()
    });
    let (status, answer) = system
        .admin(
            Method::POST,
            "/_ecsd/clock",
            Some(&json!({"advance": "10m"})),
        )
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::CONFLICT, "Ecsd.0409")
    );
    let (_, clock) = system.admin(Method::GET, "/_ecsd/clock", None).await;
    assert_eq!(clock["mode"], "system");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_latency_changes_at_runtime_for_new_jobs_only() {
    let rig = Rig::new(Options {
        latency: LatencyProfile::Realistic,
        ..Options::default()
    });
    let (slow, _) = rig.create(LOCAL, "slow", 1).await;
    let (status, latency) = rig
        .admin(
            Method::PUT,
            "/_ecsd/latency",
            Some(&json!({"profile": "instant"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{latency}");
    assert_eq!(latency, json!({"profile": "instant", "operations": {}}));
    // On a clock that stands still: the new job ends at once, the one accepted before waits.
    let (quick, _) = rig.create(LOCAL, "quick", 1).await;
    assert_eq!(rig.finished(LOCAL, &quick).await["status"], "SUCCESS");
    assert_eq!(rig.job(LOCAL, &slow).await.1["status"], "INIT");

    // A duration per job type: a create takes exactly 10 s of the clock.
    let (status, latency) = rig
        .admin(
            Method::PUT,
            "/_ecsd/latency",
            Some(&json!({"operations": {"createServer": "10s"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{latency}");
    assert_eq!(
        latency,
        json!({"profile": "instant", "operations": {"createServer": "10000ms"}})
    );
    let (timed, _) = rig.create(LOCAL, "timed", 1).await;
    rig.advance("9s").await;
    let (_, job) = rig.job(LOCAL, &timed).await;
    assert_eq!(job["status"], "RUNNING", "{job}");
    rig.advance("1s").await;
    let job = rig.finished(LOCAL, &timed).await;
    assert_eq!(job["end_time"], "2026-03-01T09:00:10.000Z", "{job}");

    for bad in [
        json!({"profile": "slow"}),
        json!({"operations": {"createServers": "1s"}}),
        json!({"operations": {"createServer": "soon"}}),
        json!({"profile": "fast", "speed": 2}),
    ] {
        let (status, answer) = rig.admin(Method::PUT, "/_ecsd/latency", Some(&bad)).await;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::BAD_REQUEST, "Ecsd.0400"),
            "{bad}"
        );
    }
    let (_, latency) = rig.admin(Method::GET, "/_ecsd/latency", None).await;
    assert_eq!(
        latency["operations"]["createServer"], "10000ms",
        "unchanged"
    );
}

/// What a snapshot must bring back exactly: the servers, the groups, and every job's view.
async fn state_of(rig: &Rig, job_ids: &[String]) -> Value {
    let mut jobs = Vec::new();
    for job_id in job_ids {
        let (status, job) = rig.job(LOCAL, job_id).await;
        jobs.push(json!({"status": status.as_u16(), "job": job}));
    }
    json!({"servers": rig.servers(LOCAL).await, "groups": rig.groups(LOCAL).await, "jobs": jobs})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_snapshot_is_exactly_the_saved_state() {
    let rig = Rig::new(Options::default());
    let (first, servers) = rig.create(LOCAL, "first", 2).await;
    rig.finished(LOCAL, &first).await;
    rig.create_group(LOCAL, "kept").await;
    let saved_jobs = vec![first.clone()];
    let before = state_of(&rig, &saved_jobs).await;

    let (status, saved) = rig
        .admin(
            Method::POST,
            "/_ecsd/snapshots",
            Some(&json!({"name": "base-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["name"], "base-1");
    assert!(saved["bytes"].as_u64().is_some_and(|bytes| bytes > 0));

    // More changes: a server deleted, another created, a group added.
    let (status, deleted) = rig
        .tenant(
            LOCAL,
            Method::POST,
            &format!("/v1/{PROJECT}/cloudservers/delete"),
            Some(&json!({"servers": [{"id": servers[0]}]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let delete_job = deleted["job_id"].as_str().expect("job").to_owned();
    rig.finished(LOCAL, &delete_job).await;
    let (second, _) = rig.create(LOCAL, "second", 1).await;
    rig.finished(LOCAL, &second).await;
    rig.create_group(LOCAL, "later").await;
    let all_jobs = vec![first.clone(), delete_job.clone(), second.clone()];
    assert_ne!(state_of(&rig, &saved_jobs).await, before);

    let (status, restored) = rig
        .admin(Method::POST, "/_ecsd/snapshots/base-1/restore", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(state_of(&rig, &saved_jobs).await, before);
    // The jobs made after the snapshot are gone (the finished-job cache forgot them too).
    for job_id in [&delete_job, &second] {
        let (status, body) = rig.job(LOCAL, job_id).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::BAD_REQUEST, "Common.0011")
        );
    }
    // The restored state works on: a new job runs on the restored servers.
    let (status, stopped) = rig
        .tenant(
            LOCAL,
            Method::POST,
            &format!("/v1/{PROJECT}/cloudservers/action"),
            Some(&json!({"os-stop": {"servers": [{"id": servers[0]}]}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{stopped}");
    let stop_job = stopped["job_id"].as_str().expect("job").to_owned();
    assert_eq!(rig.finished(LOCAL, &stop_job).await["status"], "SUCCESS");
    drop(all_jobs);

    let (status, list) = rig.admin(Method::GET, "/_ecsd/snapshots", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["snapshots"][0]["name"], "base-1", "{list}");
    assert!(rig.dir.path().join("snapshots/base-1.db").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_taken_mid_job_restores_the_job_under_way_and_it_finishes() {
    let rig = Rig::new(Options {
        latency: LatencyProfile::Realistic,
        ..Options::default()
    });
    let (job_id, _) = rig.create(LOCAL, "midway", 1).await;
    rig.advance("10s").await;
    let (status, _) = rig
        .admin(
            Method::POST,
            "/_ecsd/snapshots",
            Some(&json!({"name": "midway"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    rig.advance("60s").await;
    assert_eq!(rig.finished(LOCAL, &job_id).await["status"], "SUCCESS");
    let (status, _) = rig
        .admin(Method::POST, "/_ecsd/snapshots/midway/restore", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    // The clock did not go back, so the restored job is past due: the engine ends it at once
    // (after a restore it looks again, whatever it had planned).
    assert_eq!(rig.finished(LOCAL, &job_id).await["status"], "SUCCESS");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_empties_one_project_or_all() {
    let rig = Rig::new(Options::default());
    let (mine, _) = rig.create(LOCAL, "mine", 2).await;
    let (theirs, _) = rig.create(OTHER, "theirs", 1).await;
    rig.finished(LOCAL, &mine).await;
    rig.finished(OTHER, &theirs).await;
    rig.create_group(LOCAL, "g").await;
    rig.create_group(OTHER, "h").await;

    let (status, answer) = rig
        .admin(
            Method::POST,
            &format!("/_ecsd/reset?project_id={PROJECT}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["project_id"], PROJECT);
    assert_eq!(answer["removed"]["jobs"], 1);
    assert_eq!(answer["removed"]["servers"], 2);
    assert_eq!(answer["removed"]["server_groups"], 1);
    assert_eq!(rig.servers(LOCAL).await["count"], 0);
    assert_eq!(rig.groups(LOCAL).await["server_groups"], json!([]));
    let (status, body) = rig.job(LOCAL, &mine).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::BAD_REQUEST, "Common.0011")
    );
    // The other project is untouched.
    assert_eq!(rig.servers(OTHER).await["count"], 1);
    assert_eq!(rig.job(OTHER, &theirs).await.0, StatusCode::OK);

    let (status, answer) = rig.admin(Method::POST, "/_ecsd/reset", None).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["removed"]["servers"], 1);
    assert_eq!(rig.servers(OTHER).await["count"], 0);
    assert_eq!(rig.groups(OTHER).await["server_groups"], json!([]));
    // Accounts stay: the same keys still work, and new work starts from empty.
    let (again, _) = rig.create(LOCAL, "again", 1).await;
    assert_eq!(rig.finished(LOCAL, &again).await["status"], "SUCCESS");
    assert_eq!(rig.servers(LOCAL).await["count"], 1);

    let (status, answer) = rig
        .admin(Method::POST, "/_ecsd/reset?project=x", None)
        .await;
    assert_eq!(
        (status, error_code(&answer)),
        (StatusCode::BAD_REQUEST, "Ecsd.0400")
    );
    assert_eq!(
        rig.servers(LOCAL).await["count"],
        1,
        "a refused reset removes nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_snapshot_requests_are_clear_errors_and_change_nothing() {
    let rig = Rig::new(Options::default());
    let (status, _) = rig
        .admin(
            Method::POST,
            "/_ecsd/snapshots",
            Some(&json!({"name": "taken"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (job_id, _) = rig.create(LOCAL, "after", 1).await;
    rig.finished(LOCAL, &job_id).await;

    for (body, code) in [
        (json!({"name": "../escape"}), "Ecsd.0400"),
        (json!({"name": "a/b"}), "Ecsd.0400"),
        (json!({"name": ".hidden"}), "Ecsd.0400"),
        (json!({"name": "spaces are odd"}), "Ecsd.0400"),
        (json!({"name": ""}), "Ecsd.0400"),
        (json!({"name": "ok", "extra": 1}), "Ecsd.0400"),
        (json!({"label": "ok"}), "Ecsd.0400"),
        (json!({"name": "taken"}), "Ecsd.0409"),
    ] {
        let (status, answer) = rig
            .admin(Method::POST, "/_ecsd/snapshots", Some(&body))
            .await;
        assert_eq!(error_code(&answer), code, "{body} → {answer}");
        assert_eq!(
            status.as_u16().to_string(),
            code.trim_start_matches("Ecsd.0")
        );
    }
    for (method, path, code) in [
        (
            Method::POST,
            "/_ecsd/snapshots/missing/restore",
            "Ecsd.0404",
        ),
        (Method::DELETE, "/_ecsd/snapshots/missing", "Ecsd.0404"),
        (
            Method::POST,
            "/_ecsd/snapshots/..%2Fescape/restore",
            "Ecsd.0400",
        ),
        (Method::GET, "/_ecsd/export?snapshot=missing", "Ecsd.0404"),
        (Method::GET, "/_ecsd/export?snapshot=..", "Ecsd.0400"),
    ] {
        let (_, answer) = rig.admin(method.clone(), path, None).await;
        assert_eq!(error_code(&answer), code, "{method} {path} → {answer}");
    }
    // Nothing changed: one snapshot, and the server made after it is still there.
    let (_, list) = rig.admin(Method::GET, "/_ecsd/snapshots", None).await;
    let names: Vec<&str> = list["snapshots"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|snapshot| snapshot["name"].as_str())
        .collect();
    assert_eq!(names, ["taken"]);
    assert_eq!(rig.servers(LOCAL).await["count"], 1);

    let (status, _) = rig
        .admin(Method::DELETE, "/_ecsd/snapshots/taken", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = rig.admin(Method::GET, "/_ecsd/snapshots", None).await;
    assert_eq!(list["snapshots"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_reset_refills_the_rate_limits_and_a_project_reset_does_not() {
    // The limits meter the wall clock; a stand-in that does not move makes the test exact.
    let wall = ManualClock::new(wall_clock_now());
    let rig = Rig::new(Options {
        wall: Some(wall),
        rate_limit: 1,
        ..Options::default()
    });
    let list = format!("/v1/{PROJECT}/cloudservers/detail");
    assert_eq!(
        rig.tenant(LOCAL, Method::GET, &list, None).await.0,
        StatusCode::OK
    );
    let (status, body) = rig.tenant(LOCAL, Method::GET, &list, None).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "APIGW.0308")
    );
    // Moving the virtual clock does not refill them: they meter real request rates.
    rig.advance("1h").await;
    assert_eq!(
        rig.tenant(LOCAL, Method::GET, &list, None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    rig.admin(
        Method::POST,
        &format!("/_ecsd/reset?project_id={PROJECT}"),
        None,
    )
    .await;
    assert_eq!(
        rig.tenant(LOCAL, Method::GET, &list, None).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    let (status, _) = rig.admin(Method::POST, "/_ecsd/reset", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        rig.tenant(LOCAL, Method::GET, &list, None).await.0,
        StatusCode::OK
    );
}

// ---- through the real binary ----

/// An admin call to the real binary (loopback, no admin token configured).
fn admin(ecsd: &Ecsd, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let request = ureq::request(method, &format!("{}{path}", ecsd.endpoint));
    let result = match body {
        Some(body) => request
            .set("content-type", "application/json")
            .send_string(&body.to_string()),
        None => request.call(),
    };
    match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => {
            let status = response.status();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("body");
            (status, bytes)
        }
        Err(error) => panic!("transport error: {error}"),
    }
}

fn admin_json(ecsd: &Ecsd, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, bytes) = admin(ecsd, method, path, body);
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, value)
}

fn create_through(ecsd: &Ecsd, name: &str, count: u32) -> (String, Vec<String>) {
    let (status, body) = ecsd.post("/cloudservers", &create_body(name, count));
    assert_eq!(status, 200, "{body}");
    let servers = body["serverIds"]
        .as_array()
        .expect("serverIds")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect();
    (body["job_id"].as_str().expect("job_id").to_owned(), servers)
}

#[test]
fn the_binary_on_a_virtual_clock_finishes_a_realistic_create_after_one_advance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "realistic", &["--clock", "virtual"]);
    let (job_id, _) = create_through(&ecsd, "virtual", 1);
    let (_, job) = ecsd.get(&format!("/jobs/{job_id}"));
    assert_eq!(job["status"], "INIT", "{job}");
    let (status, clock) = admin_json(
        &ecsd,
        "POST",
        "/_ecsd/clock",
        Some(&json!({"advance": "60s"})),
    );
    assert_eq!(status, 200, "{clock}");
    assert_eq!(clock["mode"], "virtual");
    // Far less than the ~38 s the create takes in simulated time.
    let job = ecsd.wait_job(&job_id, Instant::now() + Duration::from_secs(15));
    assert_eq!(job["status"], "SUCCESS", "{job}");
}

#[test]
fn snapshots_survive_a_restart_and_an_export_starts_another_ecsd() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let (job_id, servers) = create_through(&ecsd, "saved", 1);
    ecsd.wait_job(&job_id, Instant::now() + Duration::from_secs(15));
    let (status, saved) = admin_json(
        &ecsd,
        "POST",
        "/_ecsd/snapshots",
        Some(&json!({"name": "one"})),
    );
    assert_eq!(status, 201, "{saved}");
    let (later, _) = create_through(&ecsd, "later", 1);
    ecsd.wait_job(&later, Instant::now() + Duration::from_secs(15));
    let (status, export) = admin(&ecsd, "GET", "/_ecsd/export", None);
    assert_eq!(status, 200);
    assert!(export.starts_with(b"SQLite format 3\0"), "an SQLite file");
    assert!(ecsd.terminate().success());

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let (_, list) = admin_json(&ecsd, "GET", "/_ecsd/snapshots", None);
    assert_eq!(list["snapshots"][0]["name"], "one", "{list}");
    let (status, _) = admin_json(&ecsd, "POST", "/_ecsd/snapshots/one/restore", None);
    assert_eq!(status, 200);
    let (_, detail) = ecsd.get("/cloudservers/detail");
    assert_eq!(detail["count"], 1, "{detail}");
    assert_eq!(detail["servers"][0]["id"], servers[0].as_str());
    drop(ecsd);

    // The export (taken with both servers) starts a fresh ecsd elsewhere.
    let file = dir.path().join("export.db");
    std::fs::write(&file, &export).expect("written");
    let other = tempfile::tempdir().expect("temp dir");
    let file_arg = file.display().to_string();
    let imported = Ecsd::start_with(other.path(), "instant", &["--import", &file_arg]);
    let (_, detail) = imported.get("/cloudservers/detail");
    assert_eq!(detail["count"], 2, "{detail}");
    let (status, job) = imported.get(&format!("/jobs/{later}"));
    assert_eq!((status, &job["status"]), (200, &json!("SUCCESS")));
}

#[test]
fn an_import_of_a_file_that_is_not_a_snapshot_is_refused_before_anything_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bogus = dir.path().join("bogus.db");
    std::fs::write(&bogus, b"not a database at all").expect("written");
    let output = crate::support::ecsd_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--import"])
        .arg(&bogus)
        .arg("--database")
        .arg(format!(
            "sqlite://{}",
            dir.path().join("data/ecsd.db").display()
        ))
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot import"), "{stderr}");
    assert!(
        !dir.path().join("data/ecsd.db").exists(),
        "no database was made from it"
    );
}

/// The ids a fresh ecsd started with `--seed seed` invents for two creates, with `polls` job
/// queries between them.
fn seeded_ids(seed: &str, polls: usize) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--seed", seed]);
    let client = ecsd::call::Client::new(
        &ecsd.endpoint,
        ecsd::AccountArgs {
            access_key: ecsd::DEFAULT_ACCESS_KEY.into(),
            secret_key: ecsd::DEFAULT_SECRET_KEY.into(),
            project_id: PROJECT.into(),
        },
    )
    .expect("endpoint");
    // The first request of the run: its request id is the first of the stream.
    let created = client
        .send(
            "POST",
            &format!("/v1/{PROJECT}/cloudservers"),
            create_body("seeded", 2).to_string().as_bytes(),
        )
        .expect("answer");
    assert_eq!(created.status, 200, "{}", created.body);
    let body: Value = serde_json::from_str(&created.body).expect("json");
    let job_id = body["job_id"].as_str().expect("job_id").to_owned();
    let job = ecsd.wait_job(&job_id, Instant::now() + Duration::from_secs(15));
    for _ in 0..polls {
        ecsd.get(&format!("/jobs/{job_id}"));
    }
    let (second, _) = create_through(&ecsd, "second", 1);
    let (_, detail) = ecsd.get(&format!(
        "/cloudservers/{}",
        body["serverIds"][0].as_str().expect("id")
    ));
    let server = &detail["server"];
    json!({
        "request_id": created.request_id,
        "job_id": job_id,
        "servers": body["serverIds"],
        "sub_jobs": job["entities"]["sub_jobs"].as_array().map(|subs| subs.iter().map(|sub| sub["job_id"].clone()).collect::<Vec<_>>()),
        "addresses": server["addresses"],
        "volumes": server["os-extended-volumes:volumes_attached"],
        "second_job_id": second,
    })
}

#[test]
fn the_same_seed_gives_the_same_ids_twice() {
    let first = seeded_ids("42", 0);
    // However often a client polls in between (timing decides that), later ids do not move.
    assert_eq!(first, seeded_ids("42", 5));
    assert_ne!(first["job_id"], seeded_ids("43", 0)["job_id"]);
    assert!(first["addresses"].is_object(), "{first}");
    assert!(first["request_id"].is_string(), "{first}");
}

#[test]
fn sqlite_memory_is_a_throwaway_database_that_leaves_nothing_behind() {
    let cwd = tempfile::tempdir().expect("temp dir");
    // Its private folder goes where TMPDIR says: here, to see it made and removed.
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut child = crate::support::ecsd_command()
        .current_dir(cwd.path())
        .env("TMPDIR", tmp.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--latency", "instant"])
        .args(["--database", "sqlite::memory:"])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ecsd starts");
    let stderr = child.stderr.take().expect("piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = sender.send(line);
        }
    });
    let mut endpoint = None;
    let mut banner = Vec::new();
    while let Ok(line) = receiver.recv_timeout(Duration::from_secs(30)) {
        if let Some(rest) = line.split("listening on ").nth(1) {
            endpoint = Some(rest.trim().to_owned());
        }
        let done = line.contains("next:");
        banner.push(line);
        if done {
            break;
        }
    }
    let endpoint = endpoint.unwrap_or_else(|| panic!("no banner: {banner:?}"));
    assert!(
        banner.iter().any(|line| line.contains("sqlite::memory:")),
        "{banner:?}"
    );
    let client = ecsd::call::Client::new(
        &endpoint,
        ecsd::AccountArgs {
            access_key: ecsd::DEFAULT_ACCESS_KEY.into(),
            secret_key: ecsd::DEFAULT_SECRET_KEY.into(),
            project_id: PROJECT.into(),
        },
    )
    .expect("endpoint");
    let answer = client
        .send(
            "POST",
            &format!("/v1/{PROJECT}/cloudservers"),
            create_body("ephemeral", 1).to_string().as_bytes(),
        )
        .expect("answer");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let made: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("readable")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert_eq!(made.len(), 1, "one private folder: {made:?}");
    let job: Value = serde_json::from_str(&answer.body).expect("json");
    let job_path = format!("/v1/{PROJECT}/jobs/{}", job["job_id"].as_str().expect("id"));
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = client.send("GET", &job_path, b"").expect("answer");
        let job: Value = serde_json::from_str(&answer.body).expect("json");
        if job["status"] == "SUCCESS" {
            break;
        }
        assert!(Instant::now() < deadline, "{job}");
        std::thread::sleep(Duration::from_millis(20));
    }
    crate::support::terminate(&child);
    let status = child.wait().expect("exits");
    assert!(status.success(), "{status}");
    // Nothing in the working folder: no `:memory:` file, no `:memory:.lock`.
    let left: Vec<_> = std::fs::read_dir(cwd.path())
        .expect("readable")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("readable")
        .map(|entry| entry.expect("entry").file_name())
        .collect();
    assert!(left.is_empty(), "the private folder is removed: {left:?}");
}
