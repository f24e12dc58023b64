//! Tags, metadata and the modification of a server through the HTTP surface in-process
//! (`crate::http::Api`, every request signed): wire shapes, idempotency, every validation error
//! with its status and code, and tenancy.

use crate::http::{assert_error, Api};
use crate::support::{create_body, OTHER, PROJECT};
use axum::http::{Method, StatusCode};
use engine::compute::LatencyProfile;
use serde_json::{json, Value};

const UNKNOWN_SERVER: &str = "00000000-0000-4000-8000-000000000000";

fn path(server_id: &str, tail: &str) -> String {
    format!("/v1/{PROJECT}/cloudservers/{server_id}{tail}")
}

async fn created(api: &Api, body: &Value) -> String {
    let (status, answer) = api.post(&format!("/v1/{PROJECT}/cloudservers"), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer["serverIds"][0].as_str().expect("id").to_owned()
}

/// A server built to ACTIVE (instant profile: one drain runs the job).
async fn active(api: &Api, name: &str) -> String {
    let id = created(api, &create_body(name, 1)).await;
    api.harness.drain().await;
    id
}

async fn view(api: &Api, server_id: &str) -> Value {
    let (status, body) = api.get(&path(server_id, "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["server"].clone()
}

async fn tag_action(api: &Api, server_id: &str, body: Value) -> (StatusCode, Value) {
    api.post(&path(server_id, "/tags/action"), &body).await
}

async fn add_tags(api: &Api, server_id: &str, tags: Value) {
    let answer = tag_action(api, server_id, json!({ "action": "create", "tags": tags })).await;
    assert_eq!(answer, (StatusCode::NO_CONTENT, Value::Null));
}

async fn tags_of(api: &Api, server_id: &str) -> Value {
    let (status, body) = api.get(&path(server_id, "/tags")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    body["tags"].clone()
}

async fn put(api: &Api, server_id: &str, body: &Value) -> (StatusCode, Value) {
    api.send(
        Method::PUT,
        &path(server_id, ""),
        Some("application/json;charset=utf-8"),
        body.to_string(),
    )
    .await
}

async fn by_tag(api: &Api, body: Value) -> (StatusCode, Value) {
    api.post(
        &format!("/v1/{PROJECT}/servers/resource_instances/action"),
        &body,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Tags of one server.

#[tokio::test]
async fn tags_are_added_overwritten_and_deleted_idempotently() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "tagged").await;
    assert_eq!(tags_of(&api, &id).await, json!([]));
    let example =
        json!([{ "key": "key1", "value": "value1" }, { "key": "key2", "value": "value3" }]);
    for _ in 0..2 {
        add_tags(&api, &id, example.clone()).await;
    }
    assert_eq!(
        tags_of(&api, &id).await,
        example,
        "adding the same tags twice is one add"
    );
    assert_eq!(
        view(&api, &id).await["tags"],
        json!(["key1=value1", "key2=value3"])
    );
    add_tags(
        &api,
        &id,
        json!([{ "key": "key1", "value": "new" }, { "key": "bare" }]),
    )
    .await;
    assert_eq!(
        tags_of(&api, &id).await,
        json!([
            { "key": "key1", "value": "new" },
            { "key": "key2", "value": "value3" },
            { "key": "bare", "value": "" },
        ]),
        "the same key with a new value overwrites; a missing value is empty"
    );
    for _ in 0..2 {
        let answer = tag_action(
            &api,
            &id,
            json!({ "action": "delete", "tags": [
                { "key": "key2", "value": "value3" }, { "key": "absent", "value": "x" }, { "key": "bare" }
            ] }),
        )
        .await;
        assert_eq!(answer, (StatusCode::NO_CONTENT, Value::Null), "idempotent");
    }
    let answer = tag_action(
        &api,
        &id,
        json!({ "action": "delete", "tags": [{ "key": "key1", "value": "other" }] }),
    )
    .await;
    assert_eq!(answer.0, StatusCode::NO_CONTENT);
    assert_eq!(
        tags_of(&api, &id).await,
        json!([{ "key": "key1", "value": "new" }]),
        "a delete naming another value leaves the tag"
    );
    assert_eq!(view(&api, &id).await["tags"], json!(["key1=new"]));
}

#[tokio::test]
async fn tags_given_at_create_are_the_same_tags_and_count_toward_ten() {
    let api = Api::new(LatencyProfile::Instant);
    let mut body = create_body("created-tagged", 1);
    body["server"]["server_tags"] = json!([{ "key": "env", "value": "prod" }]);
    body["server"]["tags"] = json!(["team.a"]);
    let id = created(&api, &body).await;
    api.harness.drain().await;
    assert_eq!(
        tags_of(&api, &id).await,
        json!([{ "key": "team", "value": "a" }, { "key": "env", "value": "prod" }])
    );
    let eight: Vec<Value> = (0..8)
        .map(|i| json!({ "key": format!("k{i}"), "value": "v" }))
        .collect();
    add_tags(&api, &id, Value::from(eight)).await;
    assert_eq!(tags_of(&api, &id).await.as_array().map(Vec::len), Some(10));
    add_tags(&api, &id, json!([{ "key": "env", "value": "dev" }])).await;
    let eleventh = tag_action(
        &api,
        &id,
        json!({ "action": "create", "tags": [{ "key": "k8", "value": "v" }] }),
    )
    .await;
    assert_error(&eleventh, StatusCode::BAD_REQUEST, "Ecs.0905", "at most 10");
    assert_eq!(tags_of(&api, &id).await.as_array().map(Vec::len), Some(10));
}

#[tokio::test]
async fn create_refuses_tags_the_tag_apis_would_refuse() {
    let api = Api::new(LatencyProfile::Instant);
    let with = |tags: Value, server_tags: Value| {
        let mut body = create_body("bad-tags", 1);
        body["server"]["tags"] = tags;
        body["server"]["server_tags"] = server_tags;
        body
    };
    let eleven: Vec<Value> = (0..11).map(|i| json!({ "key": format!("k{i}") })).collect();
    let cases = [
        (
            with(json!(["a.1"]), json!([{ "key": "a", "value": "2" }])),
            "Ecs.0908",
            "\"a\"",
        ),
        (
            with(json!([]), json!([{ "key": "a b" }])),
            "Ecs.0907",
            "server.server_tags[0].key",
        ),
        (
            with(json!(["k.".to_owned() + &"v".repeat(44)]), json!([])),
            "Ecs.0906",
            "server.tags[0].value",
        ),
        (with(json!([]), Value::from(eleven)), "Ecs.0905", "11 tags"),
    ];
    for (body, code, fragment) in cases {
        let answer = api
            .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code, fragment);
    }
    let (_, list) = api.get(&format!("/v1/{PROJECT}/cloudservers/detail")).await;
    assert_eq!(list["count"], 0, "nothing was created: {list}");
}

#[tokio::test]
async fn tag_action_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "errs").await;
    let create = |tags: Value| json!({ "action": "create", "tags": tags });
    let cases = [
        (
            json!({ "action": "Create", "tags": [{ "key": "a" }] }),
            "Ecs.0005",
            "action",
        ),
        (json!({ "action": "create" }), "Ecs.0005", "tags"),
        (create(json!([])), "Ecs.0005", "tags"),
        (create(json!([{ "value": "v" }])), "Ecs.0005", "key"),
        (create(json!([{ "key": "" }])), "Ecs.0906", "tags[0].key"),
        (
            create(json!([{ "key": "k".repeat(37) }])),
            "Ecs.0906",
            "tags[0].key",
        ),
        (
            create(json!([{ "key": "ok", "value": "v".repeat(44) }])),
            "Ecs.0906",
            "tags[0].value",
        ),
        (create(json!([{ "key": "a.b" }])), "Ecs.0907", "tags[0].key"),
        (
            create(json!([{ "key": "a", "value": "x y" }])),
            "Ecs.0907",
            "tags[0].value",
        ),
        (
            create(json!([{ "key": "a" }, { "key": "a", "value": "2" }])),
            "Ecs.0908",
            "tags[1].key",
        ),
        (
            create(Value::from(
                (0..11)
                    .map(|i| json!({ "key": format!("k{i}") }))
                    .collect::<Vec<_>>(),
            )),
            "Ecs.0905",
            "11 tags",
        ),
        (
            json!({ "action": "delete", "tags": [{ "key": "" }] }),
            "Ecs.0005",
            "tags[0].key",
        ),
        (
            json!({ "action": "delete", "tags": [{ "key": "a" }, { "key": "a" }] }),
            "Ecs.0908",
            "tags[1].key",
        ),
    ];
    for (body, code, fragment) in cases {
        let answer = tag_action(&api, &id, body.clone()).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code, fragment);
    }
    assert_eq!(
        tags_of(&api, &id).await,
        json!([]),
        "a refused request changes nothing"
    );
    let unknown = tag_action(&api, UNKNOWN_SERVER, create(json!([{ "key": "a" }]))).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "Ecs.0114", UNKNOWN_SERVER);
    let malformed = tag_action(&api, "not-a-uuid", create(json!([{ "key": "a" }]))).await;
    assert_error(&malformed, StatusCode::BAD_REQUEST, "Ecs.0005", "server_id");
    let unknown = api.get(&path(UNKNOWN_SERVER, "/tags")).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "Ecs.0114", UNKNOWN_SERVER);
    let empty = api
        .send(
            Method::POST,
            &path(&id, "/tags/action"),
            Some("application/json"),
            "",
        )
        .await;
    assert_eq!(empty.1["error"]["code"], "Common.0002", "{}", empty.1);
}

// ---------------------------------------------------------------------------------------------
// Tags of the project, and servers by tag.

/// Three servers: `web-prod` (env=prod, team=a), `web-dev` (env=dev, team=a), `db` (none).
async fn tagged_fleet(api: &Api) -> [String; 3] {
    let prod = active(api, "web-prod").await;
    let dev = active(api, "web-dev").await;
    let db = active(api, "db").await;
    add_tags(
        api,
        &prod,
        json!([{ "key": "env", "value": "prod" }, { "key": "team", "value": "a" }]),
    )
    .await;
    add_tags(
        api,
        &dev,
        json!([{ "key": "env", "value": "dev" }, { "key": "team", "value": "a" }]),
    )
    .await;
    [prod, dev, db]
}

#[tokio::test]
async fn project_tags_list_every_key_with_its_values() {
    let api = Api::new(LatencyProfile::Instant);
    let (status, body) = api.get(&format!("/v1/{PROJECT}/cloudservers/tags")).await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "tags": [] })));
    tagged_fleet(&api).await;
    let (status, body) = api.get(&format!("/v1/{PROJECT}/cloudservers/tags")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "tags": [
            { "key": "env", "values": ["dev", "prod"] },
            { "key": "team", "values": ["a"] },
        ] })
    );
}

fn names(body: &Value) -> Vec<String> {
    body["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["resource_name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn servers_by_tag_filter_count_and_page() {
    let api = Api::new(LatencyProfile::Instant);
    let [prod, _dev, _db] = tagged_fleet(&api).await;
    let (status, body) = by_tag(
        &api,
        json!({ "action": "filter", "tags": [{ "key": "env", "values": ["prod"] }] }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "resources": [{
            "resource_id": prod,
            "resource_detail": null,
            "resource_name": "web-prod",
            "tags": [{ "key": "env", "value": "prod" }, { "key": "team", "value": "a" }],
        }], "total_count": 1 })
    );
    let (_, body) = by_tag(
        &api,
        json!({ "action": "filter", "tags": [{ "key": "env", "values": ["prod", "dev"] }] }),
    )
    .await;
    assert_eq!(
        names(&body),
        ["web-dev", "web-prod"],
        "values are alternatives, newest first"
    );
    let (_, body) = by_tag(
        &api,
        json!({ "action": "filter", "tags": [{ "key": "team" }] }),
    )
    .await;
    assert_eq!(body["total_count"], 2, "no values: any value");
    let (_, body) = by_tag(
        &api,
        json!({ "action": "filter", "not_tags": [{ "key": "env", "values": ["dev"] }] }),
    )
    .await;
    assert_eq!(names(&body), ["db", "web-prod"]);
    let (_, body) = by_tag(
        &api,
        json!({ "action": "filter", "matches": [{ "key": "resource_name", "value": "web" }] }),
    )
    .await;
    assert_eq!(
        names(&body),
        ["web-dev", "web-prod"],
        "a name containing the value"
    );
    let (_, body) = by_tag(
        &api,
        json!({ "action": "filter", "limit": "1", "offset": "1" }),
    )
    .await;
    assert_eq!(
        (names(&body), &body["total_count"]),
        (vec!["web-dev".to_owned()], &json!(3)),
        "offset counts items"
    );
    let (status, body) = by_tag(
        &api,
        json!({ "action": "count", "limit": "1", "tags": [{ "key": "team", "values": ["a"] }] }),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "total_count": 2 })),
        "count ignores limit"
    );
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/resource_instances/action"),
            &json!({ "action": "count" }),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, json!({ "total_count": 3 })),
        "the SDK's path"
    );
}

#[tokio::test]
async fn servers_by_tag_errors_are_invalid_parameters() {
    let api = Api::new(LatencyProfile::Instant);
    let long_key = "k".repeat(128);
    let cases = [
        (json!({ "action": "list" }), "action"),
        (json!({ "tags": [] }), "action"),
        (json!({ "action": "filter", "limit": "1001" }), "limit"),
        (json!({ "action": "filter", "limit": "ten" }), "limit"),
        (json!({ "action": "filter", "offset": "-1" }), "offset"),
        (json!({ "action": "filter", "tags": [] }), "tags"),
        (json!({ "action": "filter", "not_tags": [] }), "not_tags"),
        (
            json!({ "action": "filter", "tags": [{ "key": "" }] }),
            "tags[0].key",
        ),
        (
            json!({ "action": "filter", "tags": [{ "key": long_key }] }),
            "tags[0].key",
        ),
        (
            json!({ "action": "filter", "tags": [{ "key": "a" }, { "key": "a" }] }),
            "tags[1].key",
        ),
        (
            json!({ "action": "filter", "tags": [{ "key": "a", "values": ["x", "x"] }] }),
            "tags[0].values[1]",
        ),
        (
            json!({ "action": "filter", "matches": [{ "key": "name", "value": "x" }] }),
            "matches[0].key",
        ),
        (
            json!({ "action": "filter", "matches": [{ "key": "resource_name", "value": "" }] }),
            "matches[0].value",
        ),
    ];
    for (body, fragment) in cases {
        let answer = by_tag(&api, body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0005", fragment);
    }
}

#[tokio::test]
async fn server_lists_filter_on_tags_and_not_tags() {
    let api = Api::new(LatencyProfile::Instant);
    tagged_fleet(&api).await;
    let list = |query: &'static str| {
        let api = &api;
        async move {
            let (status, body) = api
                .get(&format!("/v1/{PROJECT}/cloudservers/detail?{query}"))
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let mut names: Vec<String> = body["servers"]
                .as_array()
                .expect("servers")
                .iter()
                .map(|s| s["name"].as_str().expect("name").to_owned())
                .collect();
            names.sort();
            assert_eq!(body["count"], names.len(), "{body}");
            names
        }
    };
    assert_eq!(list("tags=env%3Dprod").await, ["web-prod"]);
    assert_eq!(
        list("tags=team,env=dev").await,
        ["web-dev"],
        "every listed tag"
    );
    assert_eq!(
        list("tags=team").await,
        ["web-dev", "web-prod"],
        "a key alone: any value"
    );
    assert_eq!(list("not-tags=team").await, ["db"]);
    assert_eq!(list("tags=team&not-tags=env=dev").await, ["web-prod"]);
    let bad = api
        .get(&format!("/v1/{PROJECT}/cloudservers/detail?tags==x"))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "Ecs.0005", "tags");
}

// ---------------------------------------------------------------------------------------------
// Metadata.

#[tokio::test]
async fn metadata_updates_merge_and_deletes_are_idempotent_on_every_path() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "meta").await;
    let (status, body) = api
        .post(
            &path(&id, "/metadata"),
            &json!({ "metadata": { "key": "value" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    assert_eq!(body["metadata"]["key"], "value");
    assert_eq!(
        body["metadata"],
        view(&api, &id).await["metadata"],
        "the answer is the view's metadata"
    );
    let (_, body) = api
        .post(
            &path(&id, "/metadata"),
            &json!({ "metadata": { "key": "v2", "other": "x" } }),
        )
        .await;
    assert_eq!(
        (&body["metadata"]["key"], &body["metadata"]["other"]),
        (&json!("v2"), &json!("x"))
    );
    let (_, body) = api
        .post(&path(&id, "/metadata"), &json!({ "metadata": {} }))
        .await;
    assert_eq!(
        body["metadata"]["key"], "v2",
        "an empty update changes nothing"
    );
    for delete_path in [
        path(&id, "/metadata/key"),
        format!("/v2.1/{PROJECT}/servers/{id}/metadata/key"),
        format!("/v2/{PROJECT}/servers/{id}/metadata/other"),
    ] {
        let answer = api.send(Method::DELETE, &delete_path, None, "").await;
        assert_eq!(
            answer,
            (StatusCode::NO_CONTENT, Value::Null),
            "{delete_path}"
        );
    }
    let metadata = view(&api, &id).await["metadata"].clone();
    assert!(
        metadata.get("key").is_none() && metadata.get("other").is_none(),
        "{metadata}"
    );
    assert!(
        metadata.get("vpc_id").is_some(),
        "the cloud's own keys stay: {metadata}"
    );
}

#[tokio::test]
async fn metadata_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "meta-errs").await;
    let long = "v".repeat(256);
    let cases = [
        (json!({}), "metadata"),
        (json!({ "metadata": ["a"] }), "metadata"),
        (json!({ "metadata": { "a b": "v" } }), "metadata.a b"),
        (json!({ "metadata": { "k": 1 } }), "metadata.k"),
        (json!({ "metadata": { "k": long } }), "metadata.k"),
    ];
    for (body, fragment) in cases {
        let answer = api.post(&path(&id, "/metadata"), &body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0005", fragment);
    }
    let unknown = api
        .post(
            &path(UNKNOWN_SERVER, "/metadata"),
            &json!({ "metadata": { "k": "v" } }),
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "Ecs.0114", UNKNOWN_SERVER);
    let unknown = api
        .send(
            Method::DELETE,
            &path(UNKNOWN_SERVER, "/metadata/k"),
            None,
            "",
        )
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "Ecs.0114", UNKNOWN_SERVER);
    // A server still building: metadata needs `active` or `stopped`.
    let building = created(&api, &create_body("building", 1)).await;
    let refused = api
        .post(
            &path(&building, "/metadata"),
            &json!({ "metadata": { "k": "v" } }),
        )
        .await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "Ecs.0100", "BUILD");
    let refused = api
        .send(Method::DELETE, &path(&building, "/metadata/k"), None, "")
        .await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "Ecs.0100", "BUILD");
}

// ---------------------------------------------------------------------------------------------
// Modifying a server.

#[tokio::test]
async fn put_changes_name_description_and_hostname_and_answers_the_pages_shape() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "before").await;
    add_tags(&api, &id, json!([{ "key": "env", "value": "prod" }])).await;
    let (status, body) = put(
        &api,
        &id,
        &json!({ "server": { "name": "new-server-test", "description": "renamed", "hostname": "new-host.local" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let server = &body["server"];
    assert_eq!(server["id"], id.as_str());
    assert_eq!(server["name"], "new-server-test");
    assert_eq!(server["description"], "renamed");
    assert_eq!(server["OS-EXT-SRV-ATTR:hostname"], "new-host.local");
    assert_eq!(server["tags"], json!(["env=prod"]));
    assert_eq!(server["status"], "ACTIVE");
    assert_eq!(server["tenant_id"], PROJECT);
    assert!(
        server["image"].is_string(),
        "the page's `image` is the id: {server}"
    );
    assert!(
        server["flavor"]["links"].is_array() && server["links"].is_array(),
        "{server}"
    );
    let first_address = server["addresses"]
        .as_object()
        .and_then(|networks| networks.values().next())
        .and_then(|addresses| addresses.get(0))
        .cloned()
        .expect("an address");
    assert_eq!(
        first_address["version"], 4,
        "an integer, as the page's Table 7"
    );
    let shown = view(&api, &id).await;
    assert_eq!(
        (
            &shown["name"],
            &shown["description"],
            &shown["OS-EXT-SRV-ATTR:hostname"]
        ),
        (
            &json!("new-server-test"),
            &json!("renamed"),
            &json!("new-host.local")
        )
    );
    let (status, body) = put(&api, &id, &json!({ "server": { "description": "" } })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["server"]["name"], &body["server"]["description"]),
        (&json!("new-server-test"), &json!("")),
        "what is not given stays"
    );
    let (_, list) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/detail?name=new-server"
        ))
        .await;
    assert_eq!(list["count"], 1, "lists find the new name: {list}");
}

#[tokio::test]
async fn put_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "put-errs").await;
    let cases = [
        (
            json!({ "name": "x" }),
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "server",
        ),
        (
            json!({ "server": { "name": "" } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0914",
            "1 to 128",
        ),
        (
            json!({ "server": { "name": "n".repeat(129) } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0914",
            "1 to 128",
        ),
        (
            json!({ "server": { "name": "a b" } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0915",
            "' '",
        ),
        (
            json!({ "server": { "description": "<b>" } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0041",
            "'<'",
        ),
        (
            json!({ "server": { "description": "d".repeat(86) } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0041",
            "85",
        ),
        (
            json!({ "server": { "hostname": "under_score" } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "server.hostname",
        ),
        (
            json!({ "server": { "hostname": "a..b" } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "server.hostname",
        ),
        (
            json!({ "server": { "name": 7 } }),
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "server.name",
        ),
    ];
    for (body, status, code, fragment) in cases {
        let answer = put(&api, &id, &body).await;
        assert_error(&answer, status, code, fragment);
    }
    assert_eq!(
        view(&api, &id).await["name"],
        "put-errs",
        "a refused request changes nothing"
    );
    let unknown = put(&api, UNKNOWN_SERVER, &json!({ "server": { "name": "x" } })).await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "Ecs.0114", UNKNOWN_SERVER);
}

// ---------------------------------------------------------------------------------------------
// Jobs and tenancy.

#[tokio::test]
async fn tags_and_names_change_while_a_job_holds_the_server_and_survive_it() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api, "busy").await;
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/action"),
            &json!({ "os-stop": { "servers": [{ "id": id }] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
    let (status, body) = api
        .post(
            &path(&id, "/resize"),
            &json!({ "resize": { "flavorRef": "s3.medium.2" } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    add_tags(&api, &id, json!([{ "key": "during", "value": "resize" }])).await;
    let (status, body) = put(&api, &id, &json!({ "server": { "name": "renamed-busy" } })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = api
        .post(
            &path(&id, "/metadata"),
            &json!({ "metadata": { "k": "v" } }),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a stopped server being resized is still `stopped`: {body}"
    );
    api.harness.drain().await;
    let shown = view(&api, &id).await;
    assert_eq!(shown["flavor"]["id"], "s3.medium.2", "{shown}");
    assert_eq!(shown["status"], "SHUTOFF");
    assert_eq!(shown["name"], "renamed-busy");
    assert_eq!(shown["tags"], json!(["during=resize"]));
    assert_eq!(shown["metadata"]["k"], "v");
}

#[tokio::test]
async fn another_tenant_sees_and_changes_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let [prod, ..] = tagged_fleet(&api).await;
    let other = |tail: &str| format!("/v1/{}/cloudservers/{prod}{tail}", OTHER.project);
    let json_type = Some("application/json");
    let answer = api.get_as(OTHER, &other("/tags")).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", &prod);
    let body = json!({ "action": "create", "tags": [{ "key": "x" }] }).to_string();
    let answer = api
        .send_as(
            OTHER,
            Method::POST,
            &other("/tags/action"),
            json_type,
            &body,
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", &prod);
    let body = json!({ "action": "delete", "tags": [{ "key": "env" }] }).to_string();
    let answer = api
        .send_as(
            OTHER,
            Method::POST,
            &other("/tags/action"),
            json_type,
            &body,
        )
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", &prod);
    let body = json!({ "metadata": { "k": "v" } }).to_string();
    let answer = api
        .send_as(OTHER, Method::POST, &other("/metadata"), json_type, &body)
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", &prod);
    let answer = api
        .send_as(OTHER, Method::DELETE, &other("/metadata/vpc_id"), None, "")
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", &prod);
    let body = json!({ "server": { "name": "stolen" } }).to_string();
    let answer = api
        .send_as(OTHER, Method::PUT, &other(""), json_type, &body)
        .await;
    assert_error(&answer, StatusCode::NOT_FOUND, "Ecs.0114", &prod);
    let answer = api
        .get_as(OTHER, &format!("/v1/{}/cloudservers/tags", OTHER.project))
        .await;
    assert_eq!(answer, (StatusCode::OK, json!({ "tags": [] })));
    let body = json!({ "action": "filter" }).to_string();
    let answer = api
        .send_as(
            OTHER,
            Method::POST,
            &format!("/v1/{}/servers/resource_instances/action", OTHER.project),
            json_type,
            &body,
        )
        .await;
    assert_eq!(
        answer,
        (StatusCode::OK, json!({ "resources": [], "total_count": 0 }))
    );
    let answer = api
        .get_as(
            OTHER,
            &format!("/v1/{}/cloudservers/detail?tags=env", OTHER.project),
        )
        .await;
    assert_eq!(answer.1["count"], 0);
    let shown = view(&api, &prod).await;
    assert_eq!(shown["name"], "web-prod");
    assert_eq!(shown["tags"], json!(["env=prod", "team=a"]));
}
