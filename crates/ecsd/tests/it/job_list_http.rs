//! The job list, ecsd's own extension (`GET /v1/{project_id}/jobs`): in-process on a manual
//! clock (order, each item equal to the job query's body, filters, paging with a marker, limit
//! bounds, tenancy, Nova's jobs, retention, bad input) and through the real binary; and the
//! job query's `Retry-After` on unfinished jobs.

use crate::http::{assert_error, Api};
use crate::support::{config, create_body, signed_request, Harness, LOCAL, OTHER, PROJECT};
use axum::http::{Method, StatusCode};
use engine::clock::Clock;
use engine::compute::LatencyProfile;
use engine::engine::{FaultInjector, InjectedFault};
use engine::job::TaskRecord;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Fails the second sub-job of every job (a create of two servers ends FAIL).
#[derive(Debug)]
struct FailSecondTask;

impl FaultInjector for FailSecondTask {
    fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        (task.index == 1 && step == 0).then(|| InjectedFault {
            code: None,
            reason: "injected: the second one fails".into(),
        })
    }
}

fn api() -> Api {
    let config = engine::EngineConfig {
        job_retention: time::Duration::hours(1),
        ..config(LatencyProfile::Fast)
    };
    let harness = Harness::with_faults(
        config,
        Some(Arc::new(FailSecondTask) as Arc<dyn FaultInjector>),
    );
    Api::over(harness, api::DEFAULT_MAX_BODY_BYTES)
}

/// A Nova create of one server (the flavor of the shared create body).
fn nova_create_body(name: &str) -> Value {
    let flavor = create_body(name, 1)["server"]["flavorRef"].clone();
    json!({"server": {"name": name, "imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
        "flavorRef": flavor, "networks": [{"uuid": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33"}]}})
}

async fn create(api: &Api, name: &str, count: u32) -> String {
    let body = api.create(name, count).await;
    body["job_id"].as_str().expect("job_id").to_owned()
}

async fn list(api: &Api, query: &str) -> Value {
    let (status, body) = api.get(&format!("/v1/{PROJECT}/jobs{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

fn ids(body: &Value) -> Vec<String> {
    body["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|job| job["job_id"].as_str().expect("job_id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_job_list_filters_pages_and_shows_each_job_as_the_job_query_does() {
    let api = api();
    let a = create(&api, "list-a", 1).await;
    api.harness.advance_ms(1_000);
    let b = create(&api, "list-b", 2).await;
    api.harness.advance_ms(1_000);
    // A Nova create makes the same kind of job, listed with the others.
    let (status, created) = api
        .post(
            &format!("/v2.1/{PROJECT}/servers"),
            &nova_create_body("list-c"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let server_c = created["server"]["id"].as_str().expect("id").to_owned();
    api.harness.advance_ms(1_000);
    // Everything so far finishes: a and c succeed, b's second server fails.
    api.harness.advance_ms(60_000);
    api.harness.drain().await;
    let d = create(&api, "list-d", 1).await;
    let (status, foreign) = api
        .send_as(
            OTHER,
            Method::POST,
            &format!("/v1/{}/cloudservers", OTHER.project),
            Some("application/json"),
            create_body("foreign", 1).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{foreign}");
    let foreign_job = foreign["job_id"].as_str().expect("job_id").to_owned();

    // Newest first, with the Nova job; never the other project's.
    let all = list(&api, "").await;
    let listed = ids(&all);
    assert_eq!(listed.len(), 4, "{all}");
    let c = listed[1].clone();
    assert_eq!(listed, [d.as_str(), c.as_str(), b.as_str(), a.as_str()]);
    assert!(!listed.contains(&foreign_job));
    assert!(all.get("next_marker").is_none(), "one page: {all}");
    let (_, c_view) = api.get(&format!("/v1/{PROJECT}/jobs/{c}")).await;
    assert_eq!(
        c_view["entities"]["sub_jobs"][0]["entities"]["server_id"],
        server_c.as_str(),
        "the Nova create's job: {c_view}"
    );
    // Each item is exactly the job query's body.
    for (item, id) in all["jobs"].as_array().expect("jobs").iter().zip(&listed) {
        let (status, view) = api.get(&format!("/v1/{PROJECT}/jobs/{id}")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(item, &view);
    }
    let d_status = all["jobs"][0]["status"]
        .as_str()
        .expect("status")
        .to_owned();
    assert!(d_status == "INIT" || d_status == "RUNNING", "{all}");

    // Filters.
    assert_eq!(ids(&list(&api, "?status=FAIL").await), [b.as_str()]);
    assert_eq!(
        ids(&list(&api, "?status=SUCCESS").await),
        [c.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(&list(&api, "?status=FAIL,SUCCESS").await),
        [c.as_str(), b.as_str(), a.as_str()]
    );
    assert_eq!(
        ids(&list(&api, &format!("?status={d_status}")).await),
        [d.as_str()]
    );
    assert_eq!(ids(&list(&api, "?job_type=createServer").await).len(), 4);
    assert!(ids(&list(&api, "?job_type=deleteVMs").await).is_empty());
    let c_begin = all["jobs"][1]["begin_time"].as_str().expect("begin_time");
    assert_eq!(
        ids(&list(&api, &format!("?since={c_begin}")).await),
        [d.as_str(), c.as_str()]
    );
    assert_eq!(
        ids(&list(&api, "?status=SUCCESS&since=2026-01-01T12:00:01Z").await),
        [c.as_str()]
    );

    // Pages: `next_marker` while more follow.
    let first = list(&api, "?limit=2").await;
    assert_eq!(ids(&first), [d.as_str(), c.as_str()]);
    assert_eq!(first["next_marker"], c.as_str());
    let second = list(&api, &format!("?limit=2&marker={c}")).await;
    assert_eq!(ids(&second), [b.as_str(), a.as_str()]);
    assert!(second.get("next_marker").is_none(), "{second}");
    assert_eq!(ids(&list(&api, "?limit=100").await).len(), 4);

    // The other project lists its own job only.
    let (status, theirs) = api
        .get_as(OTHER, &format!("/v1/{}/jobs", OTHER.project))
        .await;
    assert_eq!(status, StatusCode::OK, "{theirs}");
    assert_eq!(ids(&theirs), [foreign_job.as_str()]);
    // And cannot list this one's.
    let (status, refused) = api.get_as(OTHER, &format!("/v1/{PROJECT}/jobs")).await;
    assert!(status.is_client_error(), "{status} {refused}");

    // Past the retention (an hour here) finished jobs are gone from the list, as from the
    // job query, purged yet or not.
    api.harness.advance_ms(60_000);
    api.harness.drain().await;
    api.harness.advance_ms(2 * 3_600_000);
    assert!(ids(&list(&api, "").await).is_empty());
    let (status, _) = api.get(&format!("/v1/{PROJECT}/jobs/{a}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn bad_job_list_parameters_are_refused_naming_the_parameter() {
    let api = api();
    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=101", "limit"),
        ("?limit=many", "limit"),
        ("?status=DONE", "status"),
        ("?job_type=createServers", "job_type"),
        ("?since=yesterday", "since"),
        ("?marker=0123", "marker"),
        ("?state=FAIL", "state"),
    ] {
        let answer = api.get(&format!("/v1/{PROJECT}/jobs{query}")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0005", field);
    }
}

#[test]
fn the_real_binary_lists_jobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = crate::e2e::Ecsd::start_with(dir.path(), "instant", &[]);
    let (status, first) = ecsd.post("/cloudservers", &create_body("e2e-list-1", 1));
    assert_eq!(status, 200, "{first}");
    let (status, second) = ecsd.post("/cloudservers", &create_body("e2e-list-2", 2));
    assert_eq!(status, 200, "{second}");
    let deadline = Instant::now() + Duration::from_secs(60);
    for created in [&first, &second] {
        ecsd.wait_job(created["job_id"].as_str().expect("job_id"), deadline);
    }
    let (status, listed) = ecsd.get("/jobs?status=SUCCESS&job_type=createServer&limit=1");
    assert_eq!(status, 200, "{listed}");
    assert_eq!(ids(&listed), [second["job_id"].as_str().expect("job_id")]);
    assert_eq!(listed["next_marker"], second["job_id"]);
    assert_eq!(listed["jobs"][0]["entities"]["sub_jobs_total"], 2);
    let (status, rest) = ecsd.get(&format!(
        "/jobs?status=SUCCESS&limit=1&marker={}",
        second["job_id"].as_str().expect("job_id")
    ));
    assert_eq!(status, 200, "{rest}");
    assert_eq!(ids(&rest), [first["job_id"].as_str().expect("job_id")]);
    let (status, refused) = ecsd.get("/jobs?limit=1000");
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "Ecs.0005");

    // The binary's engine reports to its metrics: both jobs finished, three sub-jobs, and
    // the writer committed (a loopback scrape needs no admin token when none is set).
    let metrics = ureq::get(&format!("{}/metrics", ecsd.endpoint))
        .timeout(Duration::from_secs(30))
        .call()
        .expect("scraped")
        .into_string()
        .expect("text");
    for line in [
        "ecsd_jobs_finished_total{job_type=\"createServer\",status=\"SUCCESS\"} 2",
        "ecsd_subjob_duration_seconds_count{job_type=\"createServer\",status=\"SUCCESS\"} 3",
        "ecsd_store_writer_queue_depth 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line}: {metrics}");
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("ecsd_store_commit_batch_size_count ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}

/// The job query's `Retry-After` header (seconds), if any.
async fn retry_after(api: &Api, job_id: &str) -> (String, Option<i64>) {
    let request = signed_request(
        LOCAL,
        api.harness.clock.now(),
        &Method::GET,
        &format!("/v1/{PROJECT}/jobs/{job_id}"),
        None,
        b"",
    );
    let (status, headers, body) = api.send_request(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let seconds = headers
        .get("retry-after")
        .map(|value| value.to_str().expect("ASCII").parse().expect("seconds"));
    (body["status"].as_str().expect("status").to_owned(), seconds)
}

#[tokio::test]
async fn unfinished_jobs_answer_a_retry_after_until_their_end() {
    // A realistic create takes tens of seconds.
    let api = Api::new(LatencyProfile::Realistic);
    let job_id = create(&api, "retry-after", 1).await;
    let due = api.harness.job(&job_id).await.tasks[0].end_due();
    let now = engine::clock::to_unix_ms(api.harness.clock.now());
    assert!(
        due - now > 2_000 * api::ecs::jobs::MAX_RETRY_AFTER_SECONDS,
        "{due} {now}"
    );
    // Far from its end: the hint is capped.
    assert_eq!(
        retry_after(&api, &job_id).await.1,
        Some(api::ecs::jobs::MAX_RETRY_AFTER_SECONDS)
    );
    // 2.5 s before its end: 3 s.
    api.harness.advance_ms(due - now - 2_500);
    assert_eq!(
        retry_after(&api, &job_id).await,
        ("RUNNING".to_owned(), Some(3))
    );
    // Past its due end, until the engine writes it: one second.
    api.harness.advance_ms(3_000);
    assert_eq!(
        retry_after(&api, &job_id).await,
        ("RUNNING".to_owned(), Some(1))
    );
    // Finished: no hint (and none from the finished-job cache either).
    api.harness.drain().await;
    assert_eq!(
        retry_after(&api, &job_id).await,
        ("SUCCESS".to_owned(), None)
    );
    assert_eq!(
        retry_after(&api, &job_id).await,
        ("SUCCESS".to_owned(), None)
    );
}
