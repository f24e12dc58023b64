//! The native OpenStack API in-process: discovery without a token, the token's catalog,
//! microversions, Nova's error shape and request ids, create / actions / resize / delete as
//! engine jobs visible in both views, the status shown in the read right after an action, and
//! the Glance and Neutron reads. Requests carry a token from `POST /v3/auth/tokens`, as the
//! OpenStack clients send them.

use crate::http::Api;
use crate::support::{config, Harness, HOST, PROJECT};
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use engine::compute::LatencyProfile;
use engine::engine::{FaultInjector, InjectedFault};
use engine::flavors::FlavorCatalogue;
use engine::job::TaskRecord;
use serde_json::{json, Value};
use std::sync::Arc;

const NETWORK: &str = "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33";
const IMAGE: &str = "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e";

/// The router with a token of the local user.
struct Nova {
    api: Api,
    token: String,
}

/// A flavor of the built-in catalogue with a resize target, and that target.
fn flavor_and_target() -> (String, String) {
    let catalogue = FlavorCatalogue::builtin();
    catalogue
        .all()
        .iter()
        .filter(|flavor| !flavor.is_retired())
        .find_map(|flavor| {
            catalogue
                .resize_targets(flavor)
                .first()
                .map(|target| (flavor.id.clone(), target.id.clone()))
        })
        .expect("the catalogue has a flavor with a resize target")
}

impl Nova {
    async fn new() -> Self {
        Self::over(Api::new(LatencyProfile::Fast)).await
    }

    async fn over(api: Api) -> Self {
        let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "ecsd", "password": ecsd::config::DEFAULT_PASSWORD, "domain": {"name": "ecsd"}}}},
            "scope": {"project": {"name": "eu-de", "domain": {"name": "ecsd"}}}}});
        let request = Request::builder()
            .method(Method::POST)
            .uri("/v3/auth/tokens")
            .header("content-type", "application/json")
            .header("host", HOST)
            .body(Body::from(body.to_string()))
            .expect("request");
        let (status, headers, answer) = api.send_request(request).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
        let token = headers
            .get("x-subject-token")
            .and_then(|value| value.to_str().ok())
            .expect("X-Subject-Token")
            .to_owned();
        Self { api, token }
    }

    /// Sends with the token and, if given, `OpenStack-API-Version: compute <version>`.
    async fn send(
        &self,
        method: Method,
        path: &str,
        version: Option<&str>,
        body: Option<&Value>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", HOST)
            .header("x-auth-token", &self.token);
        if let Some(version) = version {
            request = request.header("openstack-api-version", format!("compute {version}"));
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Body::from(body.to_string())
            }
            None => Body::empty(),
        };
        self.api
            .send_request(request.body(body).expect("request"))
            .await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.send(Method::GET, path, Some("2.60"), None).await;
        (status, body)
    }

    async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, answer) = self
            .send(Method::POST, path, Some("2.60"), Some(body))
            .await;
        (status, answer)
    }

    async fn action(&self, server_id: &str, body: Value) -> StatusCode {
        self.post(
            &format!("/v2.1/{PROJECT}/servers/{server_id}/action"),
            &body,
        )
        .await
        .0
    }

    async fn server(&self, server_id: &str) -> Value {
        let (status, body) = self
            .get(&format!("/v2.1/{PROJECT}/servers/{server_id}"))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["server"].clone()
    }

    /// Runs the engine until nothing is due, moving the clock past each step.
    async fn settle(&self) {
        for _ in 0..20 {
            self.api.harness.advance_ms(1_000);
            self.api.harness.drain().await;
        }
    }

    /// Creates a server with the body `openstack server create` sends; its id.
    async fn create(&self, flavor: &str) -> String {
        let (status, created) = self
            .post(
                &format!("/v2.1/{PROJECT}/servers"),
                &cli_create_body("cli", flavor),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{created}");
        created["server"]["id"].as_str().expect("id").to_owned()
    }
}

/// `openstack server create --flavor F --image I --nic net-id=N NAME`'s body
/// (OPENSTACK-CLIENT.md §5): a local boot mapping with an integer `boot_index`.
fn cli_create_body(name: &str, flavor: &str) -> Value {
    json!({"server": {"name": name, "imageRef": IMAGE, "flavorRef": flavor,
        "min_count": 1, "max_count": 1, "networks": [{"uuid": NETWORK}],
        "block_device_mapping_v2": [{"uuid": IMAGE, "boot_index": 0, "source_type": "image",
            "destination_type": "local", "delete_on_termination": true}]}})
}

fn unauthenticated(path: &str) -> Request<Body> {
    Request::builder()
        .uri(path)
        .header("host", HOST)
        .body(Body::empty())
        .expect("request")
}

#[tokio::test]
async fn discovery_documents_answer_without_a_token() {
    let api = Api::new(LatencyProfile::Instant);
    for (path, status, pointer, href) in [
        (
            "/",
            StatusCode::OK,
            "/versions/1/links/0/href",
            "http://ecsd.test:8774/v2.1/",
        ),
        (
            "/v2.1",
            StatusCode::OK,
            "/version/links/0/href",
            "http://ecsd.test:8774/v2.1/",
        ),
        (
            "/v2.1/",
            StatusCode::OK,
            "/version/links/0/href",
            "http://ecsd.test:8774/v2.1/",
        ),
        (
            "/v2",
            StatusCode::OK,
            "/version/links/0/href",
            "http://ecsd.test:8774/v2/",
        ),
        (
            "/v3",
            StatusCode::OK,
            "/version/links/0/href",
            "http://ecsd.test:8774/v3/",
        ),
        (
            "/image",
            StatusCode::MULTIPLE_CHOICES,
            "/versions/0/links/0/href",
            "http://ecsd.test:8774/image/v2/",
        ),
    ] {
        let (actual, _, body) = api.send_request(unauthenticated(path)).await;
        assert_eq!(actual, status, "{path}: {body}");
        assert_eq!(body.pointer(pointer), Some(&json!(href)), "{path}: {body}");
    }
    let (_, _, v21) = api.send_request(unauthenticated("/v2.1")).await;
    assert_eq!(v21["version"]["min_version"], "2.1");
    assert_eq!(v21["version"]["version"], "2.60");
    assert_eq!(v21["version"]["status"], "CURRENT");
    // The compute API itself still needs credentials.
    let (status, _, _) = api
        .send_request(unauthenticated(&format!("/v2.1/{PROJECT}/flavors")))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_catalog_lists_what_the_openstack_clients_need_in_the_projects_region() {
    let nova = Nova::new().await;
    let body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "ecsd", "password": ecsd::config::DEFAULT_PASSWORD, "domain": {"name": "ecsd"}}}},
        "scope": {"project": {"name": "eu-de"}}}});
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v3/auth/tokens")
        .header("content-type", "application/json")
        .header("host", HOST)
        .body(Body::from(body.to_string()))
        .expect("request");
    let (_, _, answer) = nova.api.send_request(request).await;
    let catalog = answer["token"]["catalog"].as_array().expect("catalog");
    for (kind, url) in [
        ("ecs", format!("http://ecsd.test:8774/v1/{PROJECT}")),
        ("compute", format!("http://ecsd.test:8774/v2.1/{PROJECT}")),
        ("image", "http://ecsd.test:8774/image".to_owned()),
        ("network", "http://ecsd.test:8774/network".to_owned()),
        ("identity", "http://ecsd.test:8774/v3".to_owned()),
    ] {
        let service = catalog
            .iter()
            .find(|service| service["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {catalog:?}"));
        let endpoint = &service["endpoints"][0];
        assert_eq!(endpoint["url"], json!(url), "{kind}");
        assert_eq!(endpoint["interface"], "public", "{kind}");
        assert_eq!(endpoint["region_id"], "eu-de", "{kind}");
    }
}

#[tokio::test]
async fn microversions_are_negotiated_echoed_and_bounded() {
    let nova = Nova::new().await;
    let path = format!("/v2.1/{PROJECT}/flavors");
    for (asked, status, echoed) in [
        (None, StatusCode::OK, "2.1"),
        (Some("2.60"), StatusCode::OK, "2.60"),
        (Some("latest"), StatusCode::OK, "2.60"),
        (Some("2.61"), StatusCode::NOT_ACCEPTABLE, "2.1"),
        (Some("3.0"), StatusCode::NOT_ACCEPTABLE, "2.1"),
        (Some("2.0"), StatusCode::NOT_ACCEPTABLE, "2.1"),
        (Some("two"), StatusCode::BAD_REQUEST, "2.1"),
    ] {
        let (actual, headers, body) = nova.send(Method::GET, &path, asked, None).await;
        assert_eq!(actual, status, "{asked:?}: {body}");
        assert_eq!(
            headers
                .get("openstack-api-version")
                .and_then(|v| v.to_str().ok()),
            Some(format!("compute {echoed}").as_str()),
            "{asked:?}"
        );
        assert_eq!(
            headers
                .get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok()),
            Some(echoed),
            "{asked:?}"
        );
        if status == StatusCode::NOT_ACCEPTABLE {
            assert_eq!(body["notAcceptable"]["code"], 406, "{body}");
        }
    }
    // The legacy header alone is read too.
    let request = Request::builder()
        .uri(&path)
        .header("host", HOST)
        .header("x-auth-token", &nova.token)
        .header("x-openstack-nova-api-version", "2.47")
        .body(Body::empty())
        .expect("request");
    let (_, headers, _) = nova.api.send_request(request).await;
    assert_eq!(
        headers
            .get("x-openstack-nova-api-version")
            .and_then(|v| v.to_str().ok()),
        Some("2.47")
    );
}

#[tokio::test]
async fn the_server_flavor_is_embedded_from_2_47() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    let path = format!("/v2.1/{PROJECT}/servers/{id}");
    let (_, _, old) = nova.send(Method::GET, &path, Some("2.46"), None).await;
    assert_eq!(old["server"]["flavor"]["id"], json!(flavor));
    assert!(old["server"]["flavor"].get("original_name").is_none());
    let (_, _, new) = nova.send(Method::GET, &path, Some("2.47"), None).await;
    assert_eq!(new["server"]["flavor"]["original_name"], json!(flavor));
    assert!(new["server"]["flavor"].get("id").is_none(), "{new}");
    assert!(new["server"]["flavor"]["vcpus"].is_u64());
    assert!(new["server"]["flavor"]["extra_specs"].is_object());
}

#[tokio::test]
async fn a_nova_create_with_the_clis_body_builds_a_server_seen_in_both_views() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let (status, headers, created) = nova
        .send(
            Method::POST,
            &format!("/v2.1/{PROJECT}/servers"),
            Some("2.60"),
            Some(&cli_create_body("cli", &flavor)),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let id = created["server"]["id"].as_str().expect("id").to_owned();
    assert!(created["server"]["adminPass"].is_string());
    assert!(headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|location| location.ends_with(&format!("/servers/{id}"))));
    // The very next read shows it building (a 404 would abort the clients' waits).
    let building = nova.server(&id).await;
    assert_eq!(building["status"], "BUILD");
    nova.settle().await;
    let active = nova.server(&id).await;
    assert_eq!(active["status"], "ACTIVE");
    assert_eq!(active["image"]["id"], IMAGE);
    assert_eq!(active["progress"], 0, "OSC prints a non-zero progress");
    assert!(
        active.get("fault").is_none(),
        "no fault on a healthy server"
    );
    let addresses = active["addresses"].as_object().expect("addresses");
    assert_eq!(
        addresses
            .values()
            .next()
            .map(|list| list[0]["version"].clone()),
        Some(json!(4))
    );
    // The same server through the ECS API.
    let (status, ecs) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{ecs}");
    assert_eq!(ecs["server"]["status"], "ACTIVE");
    assert_eq!(ecs["server"]["flavor"]["id"], json!(flavor));
    assert_eq!(
        ecs["server"]["addresses"][&"3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11"][0]["addr"],
        addresses.values().next().expect("a network")[0]["addr"]
    );
    // The SDK's body (no mapping) and `"networks": "auto"` (OSC without --nic) work too.
    for networks in [json!([{"uuid": NETWORK}]), json!("auto")] {
        let (status, body) = nova
            .post(
                &format!("/v2.1/{PROJECT}/servers"),
                &json!({"server": {"name": "sdk", "imageRef": IMAGE, "flavorRef": flavor,
                                   "networks": networks}}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
}

#[tokio::test]
async fn nova_create_refusals_use_novas_shape() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    for (body, status, name) in [
        (
            json!({"server": {"name": "x", "imageRef": IMAGE, "flavorRef": "no-such-flavor"}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            json!({"server": {"name": "x", "imageRef": "not-a-uuid", "flavorRef": flavor}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            json!({"server": {"name": "x", "imageRef": IMAGE, "flavorRef": flavor, "networks": "none"}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            json!({"nothing": {}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            json!({"server": {"name": "x", "imageRef": IMAGE, "flavorRef": flavor,
                "block_device_mapping_v2": [{"uuid": IMAGE, "boot_index": "0",
                    "source_type": "image", "destination_type": "volume",
                    "volume_size": 5000, "volume_type": "SSD"}]}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            json!({"server": {"name": "x", "imageRef": IMAGE, "flavorRef": flavor,
                "block_device_mapping_v2": [{"uuid": IMAGE, "boot_index": 0,
                    "source_type": "image", "destination_type": "volume",
                    "volume_type": "FLOPPY"}]}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
        (
            json!({"server": {"name": "x", "imageRef": IMAGE, "flavorRef": flavor,
                "description": "<b>"}}),
            StatusCode::BAD_REQUEST,
            "badRequest",
        ),
    ] {
        let (actual, answer) = nova.post(&format!("/v2.1/{PROJECT}/servers"), &body).await;
        assert_eq!(actual, status, "{body}: {answer}");
        assert_eq!(answer[name]["code"], status.as_u16(), "{answer}");
        assert!(answer[name]["message"].is_string(), "{answer}");
        assert!(
            answer.get("error").is_none(),
            "not the ECS envelope: {answer}"
        );
    }
}

#[tokio::test]
async fn an_action_shows_in_the_very_next_read() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    // The SDK's bodies: null inner values.
    assert_eq!(
        nova.action(&id, json!({"reboot": {"type": "HARD"}})).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(nova.server(&id).await["status"], "HARD_REBOOT");
    nova.settle().await;
    assert_eq!(nova.server(&id).await["status"], "ACTIVE");
    assert_eq!(
        nova.action(&id, json!({"os-stop": null})).await,
        StatusCode::ACCEPTED
    );
    let stopping = nova.server(&id).await;
    assert_eq!(
        (&stopping["status"], &stopping["OS-EXT-STS:task_state"]),
        (&json!("ACTIVE"), &json!("powering-off"))
    );
    nova.settle().await;
    assert_eq!(nova.server(&id).await["status"], "SHUTOFF");
    // The reference's bodies: empty objects.
    assert_eq!(
        nova.action(&id, json!({"os-start": {}})).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        nova.server(&id).await["OS-EXT-STS:task_state"],
        "powering-on"
    );
    nova.settle().await;
    assert_eq!(nova.server(&id).await["status"], "ACTIVE");
    // A start of a running server is Nova's 409.
    let (status, answer) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"os-start": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["conflictingRequest"]["code"], 409);
}

#[tokio::test]
async fn a_resize_waits_in_verify_resize_until_confirmed_or_reverted() {
    let nova = Nova::new().await;
    let (flavor, target) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    // Confirming before any resize is refused.
    let (status, _) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"confirmResize": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        nova.action(&id, json!({"resize": {"flavorRef": target}}))
            .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(nova.server(&id).await["status"], "RESIZE", "at once");
    nova.settle().await;
    let waiting = nova.server(&id).await;
    assert_eq!(waiting["status"], "VERIFY_RESIZE");
    assert_eq!(waiting["flavor"]["original_name"], json!(target));
    assert_eq!(
        nova.action(&id, json!({"confirmResize": null})).await,
        StatusCode::NO_CONTENT
    );
    nova.settle().await;
    let confirmed = nova.server(&id).await;
    assert_eq!(confirmed["status"], "ACTIVE");
    assert_eq!(confirmed["flavor"]["original_name"], json!(target));

    // A revert goes back to the flavor before the resize.
    assert_eq!(
        nova.action(&id, json!({"resize": {"flavorRef": flavor}}))
            .await,
        StatusCode::ACCEPTED
    );
    nova.settle().await;
    assert_eq!(nova.server(&id).await["status"], "VERIFY_RESIZE");
    assert_eq!(
        nova.action(&id, json!({"revertResize": null})).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(nova.server(&id).await["status"], "REVERT_RESIZE", "at once");
    nova.settle().await;
    let reverted = nova.server(&id).await;
    assert_eq!(reverted["status"], "ACTIVE");
    assert_eq!(reverted["flavor"]["original_name"], json!(target));
    // The ECS view shows the same flavor.
    let (_, ecs) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(ecs["server"]["flavor"]["id"], json!(target));
}

#[tokio::test]
async fn delete_answers_204_and_the_server_is_then_gone_from_both_views() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let (status, _, body) = nova
        .send(
            Method::DELETE,
            &format!("/v2.1/{PROJECT}/servers/{id}"),
            Some("2.60"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(nova.server(&id).await["OS-EXT-STS:task_state"], "deleting");
    nova.settle().await;
    let (status, headers, gone) = nova
        .send(
            Method::GET,
            &format!("/v2.1/{PROJECT}/servers/{id}"),
            Some("2.60"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(gone["itemNotFound"]["code"], 404, "{gone}");
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("X-Request-Id");
    for header in ["x-openstack-request-id", "x-compute-request-id"] {
        assert_eq!(
            headers.get(header).and_then(|v| v.to_str().ok()),
            Some(format!("req-{request_id}").as_str()),
            "{header}"
        );
    }
    let (status, _) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The clients' name fallback must not find it either.
    let (_, listed) = nova
        .get(&format!(
            "/v2.1/{PROJECT}/servers/detail?name={id}&deleted=False"
        ))
        .await;
    assert_eq!(listed["servers"], json!([]));
}

#[tokio::test]
async fn a_server_created_through_ecs_is_listed_and_deleted_through_nova() {
    let nova = Nova::new().await;
    let created = nova.api.create("ecs-made", 1).await;
    let id = created["serverIds"][0].as_str().expect("id").to_owned();
    nova.settle().await;
    let (status, listed) = nova
        .get(&format!("/v2.1/{PROJECT}/servers/detail?deleted=False"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .any(|server| server["id"] == json!(id) && server["status"] == "ACTIVE"));
    let (status, _, _) = nova
        .send(
            Method::DELETE,
            &format!("/v2.1/{PROJECT}/servers/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    nova.settle().await;
    let (status, _) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Fails every create at its last step.
#[derive(Debug)]
struct FailCreates;

impl FaultInjector for FailCreates {
    fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        let create = serde_json::to_value(&task.operation).ok()?["op"] == "create_server";
        (create && step == 4).then(|| InjectedFault {
            code: None,
            reason: "injected: no host".into(),
        })
    }
}

#[tokio::test]
async fn an_error_server_carries_a_fault() {
    let harness = Harness::with_faults(
        config(LatencyProfile::Fast),
        Some(Arc::new(FailCreates) as Arc<dyn FaultInjector>),
    );
    let nova = Nova::over(Api::over(harness, api::DEFAULT_MAX_BODY_BYTES)).await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let failed = nova.server(&id).await;
    assert_eq!(failed["status"], "ERROR");
    assert_eq!(failed["fault"]["code"], 500);
    assert!(failed["fault"]["message"]
        .as_str()
        .is_some_and(|message| message.contains("injected: no host")));
    assert!(failed["fault"]["created"].is_string());
}

#[tokio::test]
async fn flavors_list_show_and_extra_specs_come_from_the_catalogue() {
    let nova = Nova::new().await;
    // The project's region's catalogue, retired flavors not listed.
    let region = engine::regions::Regions::builtin().default_region();
    let sold: Vec<_> = region.listed_flavors().collect();
    let first = sold[0];
    let (status, listed) = nova
        .get(&format!("/v2.1/{PROJECT}/flavors/detail?is_public=None"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["flavors"].as_array().map(Vec::len), Some(sold.len()));
    let (_, shown) = nova
        .get(&format!("/v2.1/{PROJECT}/flavors/{}", first.id))
        .await;
    assert_eq!(shown["flavor"]["vcpus"], first.vcpu_count());
    assert_eq!(shown["flavor"]["ram"], first.ram);
    assert_eq!(shown["flavor"]["os-flavor-access:is_public"], true);
    let (_, specs) = nova
        .get(&format!(
            "/v2.1/{PROJECT}/flavors/{}/os-extra_specs",
            first.id
        ))
        .await;
    assert_eq!(specs["extra_specs"], json!(first.os_extra_specs));
    let (status, missing) = nova
        .get(&format!("/v2.1/{PROJECT}/flavors/none.such"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["itemNotFound"]["code"], 404);
    // The v2 prefix serves the same API.
    let (status, _) = nova.get(&format!("/v2/{PROJECT}/flavors")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn glance_and_neutron_reads_serve_the_compute_clients() {
    let nova = Nova::new().await;
    let (status, image) = nova.get(&format!("/image/v2/images/{IMAGE}")).await;
    assert_eq!(status, StatusCode::OK, "{image}");
    assert_eq!(image["id"], IMAGE, "a bare image, no envelope");
    assert_eq!(image["status"], "active");
    let (status, _) = nova
        .get("/image/v2/images/00000000-0000-4000-8000-000000000000")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let name = image["name"].as_str().expect("name").to_owned();
    let (_, by_name) = nova.get(&format!("/image/v2/images?name={name}")).await;
    assert_eq!(by_name["images"][0]["id"], IMAGE);
    let (_, by_ids) = nova
        .get(&format!(
            "/image/v2/images?id=in%3A{IMAGE},00000000-0000-4000-8000-000000000000"
        ))
        .await;
    assert_eq!(by_ids["images"].as_array().map(Vec::len), Some(1));

    let (status, network) = nova.get(&format!("/network/v2.0/networks/{NETWORK}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(network["network"]["id"], NETWORK);
    let subnet = network["network"]["subnets"][0].clone();
    let (_, subnets) = nova
        .get(&format!("/network/v2.0/subnets?network_id={NETWORK}"))
        .await;
    assert_eq!(subnets["subnets"][0]["id"], subnet);
    let (status, _) = nova.get("/network/v2.0/networks/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    let (_, ports) = nova
        .get(&format!("/network/v2.0/ports?device_id={id}"))
        .await;
    assert_eq!(ports["ports"].as_array().map(Vec::len), Some(1), "{ports}");
    assert_eq!(ports["ports"][0]["network_id"], NETWORK);
}

#[tokio::test]
async fn metadata_and_smaller_reads_use_the_same_server() {
    let nova = Nova::new().await;
    let created = nova.api.create("meta", 1).await;
    let id = created["serverIds"][0].as_str().expect("id").to_owned();
    nova.settle().await;
    let base = format!("/v2.1/{PROJECT}/servers/{id}");
    let (status, body) = nova
        .post(
            &format!("{base}/metadata"),
            &json!({"metadata": {"a": "1"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, _, put) = nova
        .send(
            Method::PUT,
            &format!("{base}/metadata/b"),
            None,
            Some(&json!({"meta": {"b": "2"}})),
        )
        .await;
    assert_eq!(put["meta"]["b"], "2");
    let (_, shown) = nova.get(&format!("{base}/metadata/a")).await;
    assert_eq!(shown["meta"]["a"], "1");
    let (_, ecs) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(
        (
            &ecs["server"]["metadata"]["a"],
            &ecs["server"]["metadata"]["b"]
        ),
        (&json!("1"), &json!("2"))
    );
    let (_, ips) = nova.get(&format!("{base}/ips")).await;
    assert_eq!(
        ips["addresses"].as_object().map(|a| a.len()),
        Some(1),
        "{ips}"
    );
    let (_, zones) = nova
        .get(&format!("/v2.1/{PROJECT}/os-availability-zone"))
        .await;
    assert!(zones["availabilityZoneInfo"]
        .as_array()
        .is_some_and(|zones| !zones.is_empty()));
    let (_, detail) = nova
        .get(&format!("/v2.1/{PROJECT}/os-availability-zone/detail"))
        .await;
    assert!(
        detail["availabilityZoneInfo"][0]["hosts"].is_object(),
        "{detail}"
    );
    let (_, limits) = nova.get(&format!("/v2.1/{PROJECT}/limits")).await;
    assert!(limits["limits"]["absolute"]["totalInstancesUsed"].is_i64());
    let (status, refused) = nova
        .post(&format!("{base}/action"), &json!({"shelve": null}))
        .await;
    assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    assert_eq!(refused["notImplemented"]["code"], 501);
    let (_, console) = nova
        .post(
            &format!("{base}/action"),
            &json!({"os-getConsoleOutput": {"length": 1}}),
        )
        .await;
    assert_eq!(
        console["output"].as_str().map(|text| text.lines().count()),
        Some(1)
    );
}

#[tokio::test]
async fn groups_quotas_tags_passwords_and_consoles() {
    let nova = Nova::new().await;
    // Server groups are ECS's groups.
    let (status, created) = nova
        .post(
            &format!("/v2.1/{PROJECT}/os-server-groups"),
            &json!({"server_group": {"name": "g", "policies": ["anti-affinity"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let group = created["server_group"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, ecs) = nova
        .api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/os-server-groups/{group}"
        ))
        .await;
    assert_eq!(ecs["server_group"]["name"], "g");
    let (status, refused) = nova
        .post(
            &format!("/v2.1/{PROJECT}/os-server-groups"),
            &json!({"server_group": {"name": "g", "policies": ["affinity"]}}),
        )
        .await;
    assert_eq!(
        (status, refused["badRequest"]["code"].clone()),
        (StatusCode::BAD_REQUEST, json!(400))
    );
    let (status, _, _) = nova
        .send(
            Method::DELETE,
            &format!("/v2.1/{PROJECT}/os-server-groups/{group}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = nova
        .get(&format!("/v2.1/{PROJECT}/os-server-groups/{group}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Quotas: the local project has none configured (-1); another project's are forbidden.
    let (_, quotas) = nova
        .get(&format!("/v2.1/{PROJECT}/os-quota-sets/{PROJECT}"))
        .await;
    assert_eq!(quotas["quota_set"]["instances"], -1);
    let (status, _) = nova
        .get(&format!(
            "/v2.1/{PROJECT}/os-quota-sets/fedcba9876543210fedcba9876543210"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Tags: plain strings, ECS tags without a value.
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let tags = format!("/v2.1/{PROJECT}/servers/{id}/tags");
    let (status, _, _) = nova
        .send(Method::PUT, &format!("{tags}/blue"), None, None)
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = nova
        .send(Method::PUT, &format!("{tags}/blue"), None, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "adding it again");
    let (status, _, _) = nova
        .send(Method::GET, &format!("{tags}/blue"), None, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, ecs_tags) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}/tags"))
        .await;
    assert_eq!(ecs_tags["tags"], json!([{"key": "blue", "value": ""}]));
    let (_, _, replaced) = nova
        .send(
            Method::PUT,
            &tags,
            None,
            Some(&json!({"tags": ["red", "green"]})),
        )
        .await;
    assert_eq!(
        replaced["tags"],
        json!(["red", "green"]),
        "in the order given"
    );
    let (status, _, _) = nova
        .send(Method::DELETE, &format!("{tags}/blue"), None, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "replaced away");
    let (status, _, _) = nova.send(Method::DELETE, &tags, None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, listed) = nova.get(&tags).await;
    assert_eq!(listed["tags"], json!([]));

    // No password is kept; a console URL for a running server.
    let (_, password) = nova
        .get(&format!("/v2.1/{PROJECT}/servers/{id}/os-server-password"))
        .await;
    assert_eq!(password["password"], "");
    let (status, console) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/remote-consoles"),
            &json!({"remote_console": {"protocol": "vnc", "type": "novnc"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{console}");
    assert!(console["remote_console"]["url"]
        .as_str()
        .is_some_and(|url| url.starts_with("http://ecsd.test:8774/vnc_auto.html?token=")));
}

#[tokio::test]
async fn disks_and_nics_attach_and_detach_as_ecs_jobs() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let base = format!("/v2.1/{PROJECT}/servers/{id}");
    let volume = "6d4e1a52-1b8c-4f0e-a1d7-2c9b8e3f4a21";
    let (status, attached) = nova
        .post(
            &format!("{base}/os-volume_attachments"),
            &json!({"volumeAttachment": {"volumeId": volume}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{attached}");
    let device = attached["volumeAttachment"]["device"].clone();
    assert!(device
        .as_str()
        .is_some_and(|device| device.starts_with("/dev/vd")));
    nova.settle().await;
    let (_, shown) = nova
        .get(&format!("{base}/os-volume_attachments/{volume}"))
        .await;
    assert_eq!(
        shown["volumeAttachment"]["device"], device,
        "the planned device"
    );
    let (status, _, _) = nova
        .send(
            Method::DELETE,
            &format!("{base}/os-volume_attachments/{volume}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    nova.settle().await;
    let (status, _) = nova
        .get(&format!("{base}/os-volume_attachments/{volume}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, added) = nova
        .post(
            &format!("{base}/os-interface"),
            &json!({"interfaceAttachment": {"net_id": NETWORK}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let port = added["interfaceAttachment"]["port_id"]
        .as_str()
        .expect("port")
        .to_owned();
    nova.settle().await;
    let (_, listed) = nova.get(&format!("{base}/os-interface")).await;
    assert_eq!(
        listed["interfaceAttachments"].as_array().map(Vec::len),
        Some(2)
    );
    let (_, shown) = nova.get(&format!("{base}/os-interface/{port}")).await;
    assert_eq!(
        shown["interfaceAttachment"]["mac_addr"],
        added["interfaceAttachment"]["mac_addr"]
    );
    let primary = listed["interfaceAttachments"][0]["port_id"]
        .as_str()
        .expect("primary")
        .to_owned();
    let (status, _, refused) = nova
        .send(
            Method::DELETE,
            &format!("{base}/os-interface/{primary}"),
            None,
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the primary NIC stays: {refused}"
    );
    let (status, _, _) = nova
        .send(
            Method::DELETE,
            &format!("{base}/os-interface/{port}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    nova.settle().await;
    let (_, listed) = nova.get(&format!("{base}/os-interface")).await;
    assert_eq!(
        listed["interfaceAttachments"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn instance_actions_carry_the_request_ids_of_the_answers() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let (_, create_headers, created) = nova
        .send(
            Method::POST,
            &format!("/v2.1/{PROJECT}/servers"),
            Some("2.60"),
            Some(&cli_create_body("acted", &flavor)),
        )
        .await;
    let id = created["server"]["id"].as_str().expect("id").to_owned();
    nova.settle().await;
    let (status, reboot_headers, _) = nova
        .send(
            Method::POST,
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            None,
            Some(&json!({"reboot": {"type": "SOFT"}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let header = |headers: &HeaderMap| {
        headers
            .get("x-openstack-request-id")
            .and_then(|value| value.to_str().ok())
            .expect("x-openstack-request-id")
            .to_owned()
    };
    let (_, listed) = nova
        .get(&format!("/v2.1/{PROJECT}/servers/{id}/os-instance-actions"))
        .await;
    let actions: Vec<(Value, Value)> = listed["instanceActions"]
        .as_array()
        .expect("instanceActions")
        .iter()
        .map(|action| (action["action"].clone(), action["request_id"].clone()))
        .collect();
    assert_eq!(
        actions,
        [
            (json!("reboot"), json!(header(&reboot_headers))),
            (json!("create"), json!(header(&create_headers))),
        ],
        "newest first"
    );
    let running = nova
        .get(&format!(
            "/v2.1/{PROJECT}/servers/{id}/os-instance-actions/{}",
            header(&reboot_headers)
        ))
        .await
        .1;
    assert_eq!(
        running["instanceAction"]["events"][0]["event"],
        "compute_reboot"
    );
    assert_eq!(
        running["instanceAction"]["events"][0]["result"],
        Value::Null,
        "under way"
    );
    nova.settle().await;
    let (_, done) = nova
        .get(&format!(
            "/v2.1/{PROJECT}/servers/{id}/os-instance-actions/{}",
            header(&reboot_headers)
        ))
        .await;
    assert_eq!(done["instanceAction"]["events"][0]["result"], "Success");
    let (status, _) = nova
        .get(&format!(
            "/v2.1/{PROJECT}/servers/{id}/os-instance-actions/req-unknown"
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_locked_server_refuses_actions_and_deletion_until_unlocked() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    assert_eq!(
        nova.action(&id, json!({"lock": null})).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(nova.server(&id).await["locked"], true);
    let (_, ecs) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(
        ecs["server"]["locked"], true,
        "the ECS view shows the same lock"
    );
    let (status, refused) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"os-stop": null}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["conflictingRequest"]["code"], 409);
    let (status, _, _) = nova
        .send(
            Method::DELETE,
            &format!("/v2.1/{PROJECT}/servers/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        nova.action(&id, json!({"unlock": null})).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(nova.server(&id).await["locked"], false);
    assert_eq!(
        nova.action(&id, json!({"os-stop": null})).await,
        StatusCode::ACCEPTED
    );
}

#[tokio::test]
async fn a_quota_exceeded_is_novas_403() {
    let quotas = engine::quota::Quotas {
        instances: Some(1),
        ..engine::quota::Quotas::default()
    };
    let api = Api::with_accounts(
        LatencyProfile::Fast,
        crate::support::test_accounts_with_quotas(quotas),
    );
    let nova = Nova::over(api).await;
    let (flavor, _) = flavor_and_target();
    nova.create(&flavor).await;
    let (status, refused) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers"),
            &cli_create_body("second", &flavor),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["forbidden"]["code"], 403);
}

#[tokio::test]
async fn security_groups_are_added_and_removed_by_id_in_both_views() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let group = "8e1f3c2a-4b5d-4e6f-9a7b-1c2d3e4f5a61";
    assert_eq!(
        nova.action(&id, json!({"addSecurityGroup": {"name": group}}))
            .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        nova.server(&id).await["security_groups"],
        json!([{"name": group}])
    );
    let (_, ecs) = nova
        .api
        .get(&format!("/v1/{PROJECT}/cloudservers/{id}"))
        .await;
    assert_eq!(ecs["server"]["security_groups"][0]["id"], group);
    let (status, _) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"addSecurityGroup": {"name": "by-name"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "names are not modelled");
    assert_eq!(
        nova.action(&id, json!({"removeSecurityGroup": {"name": group}}))
            .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        nova.server(&id).await["security_groups"],
        json!([{"name": "default"}])
    );
    let (status, _) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"removeSecurityGroup": {"name": group}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rebuild_changes_the_image_and_returns_to_the_state_it_left() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let other_image = "3ed456f5-3d8f-4383-a6c9-312032afcd1a";
    let (status, answer) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"rebuild": {"imageRef": other_image, "name": "rebuilt",
                                "metadata": {"why": "test"}}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    assert_eq!(answer["server"]["status"], "REBUILD", "at once");
    assert_eq!(answer["server"]["name"], "rebuilt");
    assert!(answer["server"]["adminPass"].is_string());
    nova.settle().await;
    let rebuilt = nova.server(&id).await;
    assert_eq!(rebuilt["status"], "ACTIVE", "it was running");
    assert_eq!(rebuilt["image"]["id"], other_image);
    assert_eq!(rebuilt["metadata"]["why"], "test");
    // From a stopped server it ends stopped.
    assert_eq!(
        nova.action(&id, json!({"os-stop": null})).await,
        StatusCode::ACCEPTED
    );
    nova.settle().await;
    let (status, _) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            &json!({"rebuild": {"imageRef": IMAGE}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    nova.settle().await;
    let stopped = nova.server(&id).await;
    assert_eq!(
        (&stopped["status"], &stopped["image"]["id"]),
        (&json!("SHUTOFF"), &json!(IMAGE))
    );
}

#[tokio::test]
async fn key_pairs_are_imported_or_generated_and_kept_per_project() {
    let nova = Nova::new().await;
    let path = format!("/v2.1/{PROJECT}/os-keypairs");
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDkQ1mZlAy9sZ1eWz7cX0bPj3v4s8QHnGmJ4rVfZb0Yp me";
    let (status, imported) = nova
        .post(
            &path,
            &json!({"keypair": {"name": "mine", "public_key": key}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported["keypair"]["public_key"], key);
    assert!(imported["keypair"].get("private_key").is_none());
    let (status, generated) = nova
        .post(&path, &json!({"keypair": {"name": "made"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{generated}");
    assert!(generated["keypair"]["private_key"]
        .as_str()
        .is_some_and(|key| key.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----")));
    let (status, taken) = nova
        .post(
            &path,
            &json!({"keypair": {"name": "mine", "public_key": key}}),
        )
        .await;
    assert_eq!(
        (status, taken["conflictingRequest"]["code"].clone()),
        (StatusCode::CONFLICT, json!(409))
    );
    let (status, _) = nova
        .post(
            &path,
            &json!({"keypair": {"name": "bad", "public_key": "ssh-rsa***"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, listed) = nova.get(&path).await;
    let names: Vec<Value> = listed["keypairs"]
        .as_array()
        .expect("keypairs")
        .iter()
        .map(|entry| entry["keypair"]["name"].clone())
        .collect();
    assert_eq!(names, [json!("made"), json!("mine")]);
    let (_, shown) = nova.get(&format!("{path}/mine")).await;
    assert_eq!(
        shown["keypair"]["fingerprint"],
        imported["keypair"]["fingerprint"]
    );
    let (status, _, _) = nova
        .send(Method::DELETE, &format!("{path}/mine"), None, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = nova.get(&format!("{path}/mine")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn create_image_makes_a_private_image_the_glance_reads_show() {
    let nova = Nova::new().await;
    let (flavor, _) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    let (status, headers, answer) = nova
        .send(
            Method::POST,
            &format!("/v2.1/{PROJECT}/servers/{id}/action"),
            Some("2.60"),
            Some(&json!({"createImage": {"name": "golden", "metadata": {"ImageType": "Gold"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
    let image = answer["image_id"].as_str().expect("image_id").to_owned();
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("http://ecsd.test:8774/image/v2/images/{image}").as_str())
    );
    let (status, shown) = nova.get(&format!("/image/v2/images/{image}")).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(
        (
            &shown["name"],
            &shown["visibility"],
            &shown["ImageType"],
            &shown["instance_uuid"]
        ),
        (
            &json!("golden"),
            &json!("private"),
            &json!("Gold"),
            &json!(id)
        )
    );
    let (_, private) = nova.get("/image/v2/images?visibility=private").await;
    assert_eq!(private["images"].as_array().map(Vec::len), Some(1));
    // A server can be created from it.
    let (status, created) = nova
        .post(
            &format!("/v2.1/{PROJECT}/servers"),
            &json!({"server": {"name": "from-image", "imageRef": image, "flavorRef": flavor}}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
}

#[tokio::test]
async fn a_server_waiting_in_verify_resize_can_be_deleted() {
    let nova = Nova::new().await;
    let (flavor, target) = flavor_and_target();
    let id = nova.create(&flavor).await;
    nova.settle().await;
    assert_eq!(
        nova.action(&id, json!({"resize": {"flavorRef": target}}))
            .await,
        StatusCode::ACCEPTED
    );
    nova.settle().await;
    assert_eq!(nova.server(&id).await["status"], "VERIFY_RESIZE");
    let (status, _, _) = nova
        .send(
            Method::DELETE,
            &format!("/v2.1/{PROJECT}/servers/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let deleting = nova.server(&id).await;
    assert_eq!(
        (&deleting["status"], &deleting["OS-EXT-STS:task_state"]),
        (&json!("VERIFY_RESIZE"), &json!("deleting"))
    );
    nova.settle().await;
    let (status, _) = nova.get(&format!("/v2.1/{PROJECT}/servers/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
