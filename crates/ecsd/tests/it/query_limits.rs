//! Query and metadata limits (issue 9, findings 5 and 6), through the HTTP surface in-process
//! (`crate::http::Api`, every request signed): the caps on tag filters and their answers at and
//! over the limit (never a 500), reads that run off the async workers so that one tenant's slow
//! lists do not hold another tenant's requests, the read deadline, and the 128-key metadata cap
//! under concurrent updates.

use crate::http::{assert_error, Api};
use crate::support::{
    config, create_body, create_request, Credentials, Harness, LOCAL, OTHER, PROJECT,
};
use axum::http::{Method, StatusCode};
use engine::clock::ManualClock;
use engine::compute::LatencyProfile;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use store::sqlite::SqliteStore;
use store::StoreOptions;

/// Every wait in these tests is bounded by this; none is a threshold on how fast things are.
const BOUND: Duration = Duration::from_secs(120);

/// An [`Api`] over a store opened with `options` (the instant latency profile).
fn api_with_store(options: StoreOptions) -> Api {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(
        SqliteStore::open_with(&dir.path().join("ecsd.db"), &options).expect("store opens"),
    );
    let clock = ManualClock::new(time::macros::datetime!(2026-01-01 12:00 UTC));
    let engine = Harness::engine_over(
        store.clone(),
        clock.clone(),
        config(LatencyProfile::Instant),
        None,
    );
    Api::over(
        Harness {
            engine,
            clock,
            store,
            _dir: dir,
        },
        api::DEFAULT_MAX_BODY_BYTES,
    )
}

/// `count` servers of [`LOCAL`]'s project, each with ten tags `t0=v` … `t9=v`, accepted by the
/// engine directly (faster than HTTP; a list shows them from acceptance).
async fn tagged_servers(api: &Api, count: u32) {
    let mut left = count;
    while left > 0 {
        let batch = left.min(100);
        let mut request = create_request("tagged", batch);
        request.tags = (0..10).map(|i| (format!("t{i}"), "v".to_owned())).collect();
        api.harness
            .engine
            .create_servers(PROJECT, request, None)
            .await
            .expect("accepted");
        left -= batch;
    }
}

fn list_path(project: &str, query: &str) -> String {
    format!("/v1/{project}/cloudservers/detail?{query}")
}

/// `n` comma-separated `key=value` items, none of which any server has.
fn absent_tags(n: usize) -> String {
    (0..n)
        .map(|i| format!("absent{i}=x"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `n` filters of the tag query, each with `values` values.
fn filter_body(n: usize, values: usize) -> Value {
    (0..n)
        .map(|key| {
            json!({
                "key": format!("k{key}"),
                "values": (0..values).map(|value| format!("v{value}")).collect::<Vec<_>>(),
            })
        })
        .collect()
}

async fn by_tag(api: &Api, body: Value) -> (StatusCode, Value) {
    api.post(
        &format!("/v1/{PROJECT}/servers/resource_instances/action"),
        &body,
    )
    .await
}

/// A 400 `Ecs.0005` whose message names the field and its limit.
fn assert_limit_named(answer: &(StatusCode, Value), field: &str, limit: &str) {
    assert_error(answer, StatusCode::BAD_REQUEST, "Ecs.0005", field);
    let message = answer.1["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(field) && message.contains(limit),
        "the refusal names {field} and its limit {limit}: {}",
        answer.1
    );
}

// ---------------------------------------------------------------------------------------------
// Filter caps: the largest allowed filters answer 200, one more answers 400 naming the limit,
// and no shape answers 500.

#[tokio::test]
async fn list_tag_filters_take_ten_items_and_refuse_more_naming_the_limit() {
    let api = Api::new(LatencyProfile::Instant);
    tagged_servers(&api, 3).await;
    for field in ["tags", "not-tags"] {
        let (status, body) = api
            .get(&list_path(PROJECT, &format!("{field}={}", absent_tags(10))))
            .await;
        assert_eq!(status, StatusCode::OK, "{field} with 10 items: {body}");
        let expected = if field == "tags" { 0 } else { 3 };
        assert_eq!(body["count"], expected, "{field}: {body}");
        for items in [11, 1_100] {
            let (status, body) = api
                .get(&list_path(
                    PROJECT,
                    &format!("{field}={}", absent_tags(items)),
                ))
                .await;
            assert_limit_named(&(status, body), field, "at most 10 tag keys");
        }
    }
    let both = format!("tags={}&not-tags={}", "t0=v", absent_tags(10));
    let (status, body) = api.get(&list_path(PROJECT, &both)).await;
    assert_eq!((status, body["count"].clone()), (StatusCode::OK, json!(3)));
    let long_key = format!("tags={}", "k".repeat(128));
    let (status, body) = api.get(&list_path(PROJECT, &long_key)).await;
    assert_limit_named(&(status, body), "tags", "at most 127");
}

#[tokio::test]
async fn the_list_name_filter_is_capped_below_sqlites_pattern_limit() {
    let api = Api::new(LatencyProfile::Instant);
    tagged_servers(&api, 1).await;
    let (status, body) = api
        .get(&list_path(PROJECT, &format!("name={}", "a".repeat(255))))
        .await;
    assert_eq!((status, body["count"].clone()), (StatusCode::OK, json!(0)));
    for length in [256, 60_000] {
        let (status, body) = api
            .get(&list_path(PROJECT, &format!("name={}", "a".repeat(length))))
            .await;
        assert_limit_named(&(status, body), "name", "at most 255 characters");
    }
}

#[tokio::test]
async fn tag_queries_take_ten_keys_of_ten_values_and_refuse_more_never_500() {
    let api = Api::new(LatencyProfile::Instant);
    tagged_servers(&api, 3).await;
    // The largest query allowed: 10 keys of 10 values in each of tags and not_tags, a match.
    for action in ["filter", "count"] {
        let (status, body) = by_tag(
            &api,
            json!({
                "action": action,
                "not_tags": filter_body(10, 10),
                "matches": [{ "key": "resource_name", "value": "tagged" }],
            }),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        assert_eq!(body["total_count"], 3, "{body}");
        let (status, body) = by_tag(
            &api,
            json!({ "action": action, "tags": filter_body(10, 10), "not_tags": filter_body(10, 10) }),
        )
        .await;
        assert_eq!(
            (status, body["total_count"].clone()),
            (StatusCode::OK, json!(0))
        );
    }
    for field in ["tags", "not_tags"] {
        for keys in [11, 1_100] {
            let (status, body) = by_tag(
                &api,
                json!({ "action": "filter", field: filter_body(keys, 0) }),
            )
            .await;
            assert_limit_named(&(status, body), field, "at most 10 tag keys");
        }
        let (status, body) = by_tag(
            &api,
            json!({ "action": "count", field: filter_body(1, 11) }),
        )
        .await;
        assert_limit_named(
            &(status, body),
            &format!("{field}[0].values"),
            "at most 10 values per key",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Reads off the async workers, with a deadline.

/// Sends a request signed as `who` from a task of its own.
fn spawn_get(
    api: &Arc<Api>,
    who: Credentials,
    path: String,
) -> tokio::task::JoinHandle<(StatusCode, Value)> {
    let api = Arc::clone(api);
    tokio::spawn(async move { api.send_as(who, Method::GET, &path, None, b"").await })
}

/// The process runs one async worker per core (two on the machines in the issue). Two lists of
/// one tenant that take long by the volume of its data (thousands of servers with ten tags,
/// ten `not-tags`, the most allowed) must not keep another tenant's request from being answered
/// while they run. Before reads moved to the blocking pool, each slow list held a worker until
/// it finished, and the third request waited for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenants_slow_lists_do_not_hold_another_tenants_request() {
    let api = Arc::new(api_with_store(StoreOptions {
        read_deadline: None,
        ..StoreOptions::default()
    }));
    tagged_servers(&api, SLOW_LIST_SERVERS).await;
    let slow_path = list_path(PROJECT, &format!("limit=1000&not-tags={}", absent_tags(10)));
    let (started, mut started_rx) = tokio::sync::mpsc::unbounded_channel();
    let slow: Vec<_> = (0..2)
        .map(|_| {
            let api = Arc::clone(&api);
            let started = started.clone();
            let path = slow_path.clone();
            tokio::spawn(async move {
                // Sent from the worker that runs the request, right before it.
                let _ = started.send(());
                api.send_as(LOCAL, Method::GET, &path, None, b"").await
            })
        })
        .collect();
    for _ in 0..2 {
        tokio::time::timeout(BOUND, started_rx.recv())
            .await
            .expect("both slow lists start");
    }
    let cheap = spawn_get(&api, OTHER, list_path(OTHER.project, "limit=10"));
    let (status, body) = tokio::time::timeout(BOUND, cheap)
        .await
        .expect("the other tenant is answered")
        .expect("joins");
    assert_eq!((status, body["count"].clone()), (StatusCode::OK, json!(0)));
    // And a request without credentials (the probe), which needs no read at all.
    let anonymous = tokio::spawn({
        let api = Arc::clone(&api);
        async move {
            let request = axum::http::Request::builder()
                .uri(list_path(OTHER.project, ""))
                .header("host", crate::support::HOST)
                .body(axum::body::Body::empty())
                .expect("request");
            api.send_request(request).await.0
        }
    });
    let status = tokio::time::timeout(BOUND, anonymous)
        .await
        .expect("the anonymous request is answered")
        .expect("joins");
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let still_running = slow.iter().filter(|list| !list.is_finished()).count();
    for list in slow {
        let (status, body) = tokio::time::timeout(BOUND, list)
            .await
            .expect("the slow lists end")
            .expect("joins");
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["count"], SLOW_LIST_SERVERS, "{}", body["count"]);
    }
    assert_eq!(
        still_running, 2,
        "the other tenant and the anonymous request were answered while both slow lists were still running"
    );
}

/// Enough servers that the slow list takes far longer than the cheap request (well over a
/// second in a debug build), so the ordering the test checks is not a race.
const SLOW_LIST_SERVERS: u32 = 3_000;

#[tokio::test]
async fn a_read_past_its_deadline_answers_503_rather_than_hanging() {
    // A deadline that has passed when the read starts: the first look at the clock (every
    // thousand SQLite instructions) stops the statement, however long it would run.
    let api = api_with_store(StoreOptions {
        read_deadline: Some(Duration::ZERO),
        ..StoreOptions::default()
    });
    tagged_servers(&api, 50).await;
    let (status, body) = tokio::time::timeout(
        BOUND,
        api.get(&list_path(
            PROJECT,
            &format!("not-tags={}", absent_tags(10)),
        )),
    )
    .await
    .expect("answered, not hanging");
    assert_error(
        &(status, body),
        StatusCode::SERVICE_UNAVAILABLE,
        "Ecsd.0503",
        "Narrow the filters",
    );
}

// ---------------------------------------------------------------------------------------------
// Metadata: at most 128 keys per server (the limits page's maxServerMeta).

async fn active_server(api: &Api) -> String {
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers"),
            &create_body("meta", 1),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
    body["serverIds"][0].as_str().expect("an id").to_owned()
}

fn metadata_body(keys: std::ops::Range<usize>) -> Value {
    let metadata: serde_json::Map<String, Value> = keys
        .map(|key| (format!("key{key:03}"), json!("v")))
        .collect();
    json!({ "metadata": metadata })
}

async fn update_metadata(api: &Api, server_id: &str, body: &Value) -> (StatusCode, Value) {
    api.post(
        &format!("/v1/{PROJECT}/cloudservers/{server_id}/metadata"),
        body,
    )
    .await
}

async fn user_metadata_keys(api: &Api, server_id: &str) -> usize {
    let server = api
        .harness
        .engine
        .server(PROJECT, server_id)
        .await
        .expect("reads")
        .expect("exists");
    server.doc.metadata.len()
}

#[tokio::test]
async fn metadata_is_capped_at_128_keys_and_a_refused_update_writes_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let server_id = active_server(&api).await;
    let (status, body) = update_metadata(&api, &server_id, &metadata_body(0..129)).await;
    assert_limit_named(&(status, body), "metadata", "at most 128");
    assert_eq!(user_metadata_keys(&api, &server_id).await, 0);

    let (status, body) = update_metadata(&api, &server_id, &metadata_body(0..100)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // 29 new keys and one already there: 129 after the merge, refused whole.
    let (status, body) = update_metadata(&api, &server_id, &metadata_body(99..129)).await;
    assert_limit_named(&(status, body), "metadata", "at most 128");
    assert_eq!(user_metadata_keys(&api, &server_id).await, 100);
    // Keys already there are not counted again: exactly 128 is allowed.
    let (status, body) = update_metadata(&api, &server_id, &metadata_body(0..128)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(user_metadata_keys(&api, &server_id).await, 128);

    let (status, body) = api.get(&format!("/v1/{PROJECT}/cloudservers/limits")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["absolute"]["maxServerMeta"], 128);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_metadata_updates_cannot_exceed_128_keys() {
    let api = Api::new(LatencyProfile::Instant);
    let server_id = active_server(&api).await;
    // Four updates of 40 new keys each: any three fit (120), all four would make 160.
    let bodies: Vec<Value> = (0..4).map(|i| metadata_body(i * 40..i * 40 + 40)).collect();
    let (a, b, c, d) = tokio::time::timeout(BOUND, async {
        tokio::join!(
            update_metadata(&api, &server_id, &bodies[0]),
            update_metadata(&api, &server_id, &bodies[1]),
            update_metadata(&api, &server_id, &bodies[2]),
            update_metadata(&api, &server_id, &bodies[3]),
        )
    })
    .await
    .expect("all answered");
    let statuses: Vec<StatusCode> = [&a, &b, &c, &d].iter().map(|(status, _)| *status).collect();
    let accepted = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    assert_eq!((accepted, refused), (3, 1), "{statuses:?}");
    assert_eq!(user_metadata_keys(&api, &server_id).await, 120);
}

#[test]
fn the_query_timeout_flag_defaults_to_the_stores_read_deadline() {
    use clap::Parser;
    let timeout = |args: &[&str]| match ecsd::Cli::try_parse_from(args).map(|cli| cli.command) {
        Ok(ecsd::Command::Serve(serve)) => Some(serve.query_timeout.unsigned_abs()),
        _ => None,
    };
    assert_eq!(
        timeout(&["ecsd", "serve"]),
        Some(store::DEFAULT_READ_DEADLINE)
    );
    assert_eq!(
        timeout(&["ecsd", "serve", "--query-timeout", "2m"]),
        Some(Duration::from_secs(120))
    );
    assert_eq!(timeout(&["ecsd", "serve", "--query-timeout", "0s"]), None);
}
