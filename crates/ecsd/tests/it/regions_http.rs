//! Regions (issue 12, point 2): a project's region chooses its flavors and availability zones,
//! for ListFlavors, create, resize and the resize targets; retired flavors are not listed nor
//! sold but still shown on the servers that have them.

use crate::http::{assert_error, Api};
use crate::support::{create_body, create_request, test_accounts, Credentials, LOCAL, PROJECT};
use api::identity::accounts::{Accounts, Project};
use axum::http::StatusCode;
use engine::compute::LatencyProfile;
use engine::regions::Regions;
use engine::server::FlavorRef;
use serde_json::{json, Value};

/// A second project of the local account, in Huawei Cloud's `cn-north-4`.
const HUAWEI: Credentials = Credentials {
    project: "c0000000000000000000000000000004",
    ..LOCAL
};

/// [`test_accounts`] (the local project is in `eu-de`) with [`HUAWEI`]'s project added.
fn accounts() -> Accounts {
    let mut all: Vec<_> = test_accounts().iter().cloned().collect();
    all[0].projects.push(Project {
        id: HUAWEI.project.into(),
        name: "cn-north-4_local".into(),
        region: "cn-north-4".into(),
        quotas: Default::default(),
    });
    Accounts::new(all).expect("valid accounts")
}

fn api() -> Api {
    Api::with_accounts(LatencyProfile::Instant, accounts())
}

async fn flavor_ids(api: &Api, who: Credentials, query: &str) -> (StatusCode, Vec<String>, Value) {
    let (status, body) = api
        .get_as(
            who,
            &format!("/v1/{}/cloudservers/flavors{query}", who.project),
        )
        .await;
    let ids = body["flavors"]
        .as_array()
        .map(|flavors| {
            flavors
                .iter()
                .filter_map(|f| f["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (status, ids, body)
}

/// Creates one server as `who` and returns the create answer.
async fn create(
    api: &Api,
    who: Credentials,
    flavor: &str,
    zone: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = create_body("region", 1);
    body["server"]["flavorRef"] = json!(flavor);
    if let Some(zone) = zone {
        body["server"]["availability_zone"] = json!(zone);
    }
    api.send_as(
        who,
        axum::http::Method::POST,
        &format!("/v1/{}/cloudservers", who.project),
        Some("application/json"),
        body.to_string(),
    )
    .await
}

/// The server a successful create made, once its job is done.
async fn created_server(api: &Api, who: Credentials, answer: (StatusCode, Value)) -> Value {
    assert_eq!(answer.0, StatusCode::OK, "{}", answer.1);
    let id = answer.1["serverIds"][0]
        .as_str()
        .expect("server id")
        .to_owned();
    api.harness.drain().await;
    let (status, server) = api
        .get_as(who, &format!("/v1/{}/cloudservers/{id}", who.project))
        .await;
    assert_eq!(status, StatusCode::OK, "{server}");
    server["server"].clone()
}

#[tokio::test]
async fn each_project_lists_the_flavors_of_its_region() {
    let api = api();
    let (status, eu_de, _) = flavor_ids(&api, LOCAL, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        eu_de.len(),
        329,
        "OTC's guide, without the 68 retired flavors"
    );
    for name in ["s3.medium.1", "s2.large.2", "s2.medium.1", "c3.large.2"] {
        assert!(eu_de.iter().any(|id| id == name), "{name} in eu-de");
    }
    for name in ["s3.small.1", "s6.small.1", "hl1.8xlarge.8"] {
        assert!(
            !eu_de.iter().any(|id| id == name),
            "{name} not listed in eu-de"
        );
    }
    let (_, huawei, _) = flavor_ids(&api, HUAWEI, "").await;
    assert_eq!(huawei.len(), 127);
    assert!(huawei.iter().any(|id| id == "s3.small.1"));
    assert!(!huawei.iter().any(|id| id == "s3.medium.1"));

    for zone in ["eu-de-01", "eu-de-02", "eu-de-03"] {
        let (status, zoned, _) =
            flavor_ids(&api, LOCAL, &format!("?availability_zone={zone}")).await;
        assert_eq!((status, zoned.len()), (StatusCode::OK, 329), "{zone}");
    }
    let (status, zoned, _) = flavor_ids(&api, HUAWEI, "?availability_zone=cn-north-4g").await;
    assert_eq!((status, zoned.len()), (StatusCode::OK, 127));
    // Another region's zone: the real cloud's code and words.
    let (status, _, body) = flavor_ids(&api, HUAWEI, "?availability_zone=eu-de-01").await;
    assert_error(
        &(status, body),
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "availability_zone=eu-de-01 not exist in region cn-north-4",
    );
}

#[tokio::test]
async fn creates_take_the_regions_flavors_and_zones_and_show_the_zone() {
    let api = api();
    for zone in ["eu-de-01", "eu-de-02", "eu-de-03"] {
        let answer = create(&api, LOCAL, "s3.medium.1", Some(zone)).await;
        let server = created_server(&api, LOCAL, answer).await;
        assert_eq!(server["OS-EXT-AZ:availability_zone"], zone);
        assert_eq!(server["flavor"]["id"], "s3.medium.1");
        assert_eq!(server["status"], "ACTIVE");
    }
    // Without a zone: the region's first.
    let server = created_server(&api, LOCAL, create(&api, LOCAL, "s2.large.2", None).await).await;
    assert_eq!(server["OS-EXT-AZ:availability_zone"], "eu-de-01");

    for zone in ["cn-north-4a", "cn-north-4b", "cn-north-4c", "cn-north-4g"] {
        let answer = create(&api, HUAWEI, "s3.small.1", Some(zone)).await;
        let server = created_server(&api, HUAWEI, answer).await;
        assert_eq!(server["OS-EXT-AZ:availability_zone"], zone);
    }
    let server = created_server(&api, HUAWEI, create(&api, HUAWEI, "s6.large.2", None).await).await;
    assert_eq!(server["OS-EXT-AZ:availability_zone"], "cn-north-4a");

    // A zone the region lacks.
    assert_error(
        &create(&api, LOCAL, "s3.medium.1", Some("eu-nl-01")).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "availability_zone=eu-nl-01 not exist in region eu-de (its zones: eu-de-01, eu-de-02, eu-de-03)",
    );
    assert_error(
        &create(&api, HUAWEI, "s3.small.1", Some("eu-de-01")).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "availability_zone=eu-de-01 not exist",
    );
    // Another cloud's flavor: Ecs.0029, as an unknown one.
    assert_error(
        &create(&api, LOCAL, "s3.small.1", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0029",
        "\"s3.small.1\" does not exist in region eu-de",
    );
    assert_error(
        &create(&api, HUAWEI, "s3.medium.1", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0029",
        "\"s3.medium.1\" does not exist in region cn-north-4",
    );
}

#[tokio::test]
async fn resize_and_its_targets_use_the_projects_region() {
    let api = api();
    let targets = |who: Credentials, source: &'static str| {
        let api = &api;
        async move {
            api.get_as(
                who,
                &format!(
                    "/v1/{}/cloudservers/resize_flavors?source_flavor_id={source}",
                    who.project
                ),
            )
            .await
        }
    };
    let (status, body) = targets(HUAWEI, "s3.small.1").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ids: Vec<&str> = body["flavors"]
        .as_array()
        .expect("flavors")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"s3.large.2") && ids.iter().all(|id| id.starts_with("s3.")));
    assert!(
        !ids.contains(&"s3.medium.1"),
        "an OTC name is no Huawei target"
    );
    assert_error(
        &targets(LOCAL, "s3.small.1").await,
        StatusCode::BAD_REQUEST,
        "Ecs.0029",
        "s3.small.1",
    );

    let server = created_server(&api, HUAWEI, create(&api, HUAWEI, "s3.small.1", None).await).await;
    let id = server["id"].as_str().expect("id");
    let resize = |flavor: &str| json!({ "resize": { "flavorRef": flavor } });
    let answer = api
        .send_as(
            HUAWEI,
            axum::http::Method::POST,
            &format!("/v1/{}/cloudservers/{id}/resize", HUAWEI.project),
            Some("application/json"),
            resize("s3.medium.1").to_string(),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0029", "cn-north-4");
}

/// A server keeps a flavor that was retired (the server stores its flavor): the view shows
/// it, while ListFlavors hides it and create and resize refuse it (`Ecs.0029`).
#[tokio::test]
async fn retired_flavors_are_not_listed_nor_sold_but_shown_on_their_servers() {
    let api = api();
    let retired = "hl1.8xlarge.8";
    assert_error(
        &create(&api, LOCAL, retired, None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0029",
        "retired",
    );
    // A server made before the flavor was retired: through the engine, as the API no longer can.
    let catalogue = Regions::builtin().default_region().flavors().clone();
    let mut request = create_request("old", 1);
    request.flavor = FlavorRef::from(catalogue.get(retired).expect("in eu-de's catalogue"));
    let accepted = api
        .harness
        .engine
        .create_servers(PROJECT, request, None)
        .await
        .expect("accepted");
    api.harness.drain().await;
    let id = &accepted.server_ids[0];
    let (status, server) = api.get(&format!("/v1/{PROJECT}/cloudservers/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server["server"]["flavor"]["id"], retired);
    assert_eq!(server["server"]["flavor"]["vcpus"], "32");

    let (_, listed, _) = flavor_ids(&api, LOCAL, "").await;
    assert!(!listed.iter().any(|id| id == retired));
    let (status, targets) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/resize_flavors?instance_uuid={id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(targets["flavors"], json!([]), "its family is all retired");
    let small = created_server(&api, LOCAL, create(&api, LOCAL, "s3.medium.1", None).await).await;
    let answer = api
        .post(
            &format!(
                "/v1/{PROJECT}/cloudservers/{}/resize",
                small["id"].as_str().expect("id")
            ),
            &json!({ "resize": { "flavorRef": retired } }),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "Ecs.0029", "retired");
}

/// With `--auth off` there are no accounts: every project is in the default region, eu-de.
#[test]
fn without_accounts_every_project_is_in_eu_de() {
    let harness = crate::support::Harness::new(crate::support::config(LatencyProfile::Instant));
    let state = api::AppState::new(
        harness.engine.clone(),
        Regions::builtin(),
        api::DEFAULT_MAX_BODY_BYTES,
        api::identity::auth::Auth::Off,
    );
    assert_eq!(state.region("anything").name(), "eu-de");
    assert_eq!(state.region(PROJECT).default_zone(), "eu-de-01");
}
