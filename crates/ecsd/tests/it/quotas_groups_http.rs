//! Tenant quotas and ECS groups through the HTTP surface in-process (`crate::http::Api`, every
//! request signed): the limits page, each quota refusing a request with its code and leaving
//! nothing behind, usage going down after a delete, the unlimited default, the group lifecycle,
//! anti-affinity, and tenancy.

use crate::http::{assert_error, Api};
use crate::support::{create_body, test_accounts_with_quotas, OTHER, PROJECT};
use axum::http::{Method, StatusCode};
use engine::compute::LatencyProfile;
use engine::quota::Quotas;
use serde_json::{json, Value};

const SUBNET: &str = "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33";
const VOLUME: &str = "a26887c6-c47b-4654-abb5-dfadf7d3f803";
const OTHER_VOLUME: &str = "b36887c6-c47b-4654-abb5-dfadf7d3f804";
const DEH: &str = "459a2b9d-804a-4745-ab19-a113bb1b4ddc";
const UNKNOWN: &str = "00000000-0000-4000-8000-000000000000";

fn limits_path(project: &str) -> String {
    format!("/v1/{project}/cloudservers/limits")
}

fn groups_path(project: &str) -> String {
    format!("/v1/{project}/cloudservers/os-server-groups")
}

fn group_path(project: &str, group_id: &str) -> String {
    format!("/v1/{project}/cloudservers/os-server-groups/{group_id}")
}

fn with_quotas(quotas: Quotas) -> Api {
    Api::with_accounts(LatencyProfile::Instant, test_accounts_with_quotas(quotas))
}

async fn limits(api: &Api) -> Value {
    let (status, body) = api.get(&limits_path(PROJECT)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["absolute"].clone()
}

async fn server_count(api: &Api) -> usize {
    let (status, body) = api.get(&format!("/v1/{PROJECT}/cloudservers/detail")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["servers"].as_array().map_or(0, Vec::len)
}

/// Creates `count` servers of `flavor` (optionally into a group) and runs the job; their ids.
async fn create(api: &Api, count: u32, flavor: &str, group: Option<&str>) -> Vec<String> {
    let (status, body) = create_answer(api, count, flavor, group).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
    body["serverIds"]
        .as_array()
        .expect("serverIds")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect()
}

async fn create_answer(
    api: &Api,
    count: u32,
    flavor: &str,
    group: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = create_body("quota", count);
    body["server"]["flavorRef"] = json!(flavor);
    if let Some(group) = group {
        body["server"]["os:scheduler_hints"] = json!({ "group": group });
    }
    api.post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await
}

async fn stop(api: &Api, server_id: &str) {
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/action"),
            &json!({ "os-stop": { "servers": [{ "id": server_id }] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
}

async fn delete_server(api: &Api, server_id: &str) {
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/delete"),
            &json!({ "servers": [{ "id": server_id }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
}

async fn view(api: &Api, server_id: &str) -> Value {
    let (status, body) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/{server_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["server"].clone()
}

async fn create_group(api: &Api, name: &str) -> Value {
    let (status, body) = api
        .post(
            &groups_path(PROJECT),
            &json!({ "server_group": { "name": name, "policies": ["anti-affinity"] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["server_group"].clone()
}

async fn show_group(api: &Api, group_id: &str) -> Value {
    let (status, body) = api.get(&group_path(PROJECT, group_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["server_group"].clone()
}

async fn member_action(
    api: &Api,
    group_id: &str,
    action: &str,
    server_id: &str,
) -> (StatusCode, Value) {
    api.post(
        &format!("{}/action", group_path(PROJECT, group_id)),
        &json!({ action: { "instance_uuid": server_id } }),
    )
    .await
}

fn members(group: &Value) -> Vec<String> {
    group["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect()
}

fn host(server: &Value) -> String {
    server["OS-EXT-SRV-ATTR:host"]
        .as_str()
        .expect("host")
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// Limits.

#[tokio::test]
async fn limits_show_every_field_of_the_page_with_minus_one_for_unlimited_by_default() {
    let api = Api::new(LatencyProfile::Instant);
    // Without a quotas table nothing is limited: 100 servers at once go through.
    create(&api, 100, "s3.medium.1", None).await;
    create(&api, 1, "s3.large.2", None).await;
    let absolute = limits(&api).await;
    let fields = [
        "maxTotalInstances",
        "maxTotalCores",
        "maxTotalRAMSize",
        "maxTotalKeypairs",
        "maxServerMeta",
        "maxPersonality",
        "maxPersonalitySize",
        "maxServerGroups",
        "maxServerGroupMembers",
        "totalServerGroupsUsed",
        "maxSecurityGroups",
        "maxSecurityGroupRules",
        "maxTotalFloatingIps",
        "maxImageMeta",
        "totalInstancesUsed",
        "totalCoresUsed",
        "totalRAMUsed",
        "totalSecurityGroupsUsed",
        "totalFloatingIpsUsed",
    ];
    for field in fields {
        assert!(absolute[field].is_i64(), "{field}: {absolute}");
    }
    assert_eq!(absolute.as_object().map(|o| o.len()), Some(fields.len()));
    for unlimited in [
        "maxTotalInstances",
        "maxTotalCores",
        "maxTotalRAMSize",
        "maxServerGroups",
        "maxServerGroupMembers",
    ] {
        assert_eq!(absolute[unlimited], -1, "{unlimited}: {absolute}");
    }
    // 100 × (1 vCPU, 1 GiB) + (2 vCPUs, 4 GiB).
    assert_eq!(absolute["totalInstancesUsed"], 101);
    assert_eq!(absolute["totalCoresUsed"], 102);
    assert_eq!(absolute["totalRAMUsed"], 100 * 1024 + 4096);
    assert_eq!(absolute["totalServerGroupsUsed"], 0);
}

#[tokio::test]
async fn limits_show_the_configured_quotas() {
    let api = with_quotas(Quotas {
        instances: Some(10),
        cores: Some(40),
        ram: Some(81920),
        server_groups: Some(5),
        server_group_members: Some(16),
        ..Quotas::default()
    });
    create_group(&api, "g").await;
    let absolute = limits(&api).await;
    assert_eq!(absolute["maxTotalInstances"], 10);
    assert_eq!(absolute["maxTotalCores"], 40);
    assert_eq!(absolute["maxTotalRAMSize"], 81920);
    assert_eq!(absolute["maxServerGroups"], 5);
    assert_eq!(absolute["maxServerGroupMembers"], 16);
    assert_eq!(absolute["totalServerGroupsUsed"], 1);
    assert_eq!(absolute["totalInstancesUsed"], 0);
}

// ---------------------------------------------------------------------------------------------
// Quotas enforced at submission.

#[tokio::test]
async fn a_create_over_the_instance_quota_is_refused_with_ecs_0001_and_creates_nothing() {
    let api = with_quotas(Quotas {
        instances: Some(3),
        ..Quotas::default()
    });
    let first = create(&api, 2, "s3.medium.1", None).await;
    let over = create_answer(&api, 2, "s3.medium.1", None).await;
    assert_error(&over, StatusCode::BAD_REQUEST, "Ecs.0001", "instances");
    assert_eq!(server_count(&api).await, 2, "nothing created");
    assert_eq!(limits(&api).await["totalInstancesUsed"], 2);
    // A delete gives the quota back.
    delete_server(&api, &first[0]).await;
    assert_eq!(limits(&api).await["totalInstancesUsed"], 1);
    create(&api, 2, "s3.medium.1", None).await;
    assert_eq!(limits(&api).await["totalInstancesUsed"], 3);
    assert_error(
        &create_answer(&api, 1, "s3.medium.1", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0001",
        "instances",
    );
}

#[tokio::test]
async fn concurrent_creates_never_overshoot_the_quota() {
    let api = with_quotas(Quotas {
        instances: Some(3),
        ..Quotas::default()
    });
    // Eight requests in flight together reach the store's writer together (often in one
    // group commit); the quota is checked per insert inside that transaction.
    let one = || create_answer(&api, 1, "s3.medium.1", None);
    let answers = tokio::join!(one(), one(), one(), one(), one(), one(), one(), one());
    let answers = [
        answers.0, answers.1, answers.2, answers.3, answers.4, answers.5, answers.6, answers.7,
    ];
    let accepted = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    assert_eq!(accepted, 3, "{answers:?}");
    for answer in answers
        .iter()
        .filter(|(status, _)| *status != StatusCode::OK)
    {
        assert_error(answer, StatusCode::BAD_REQUEST, "Ecs.0001", "instances");
    }
    api.harness.drain().await;
    assert_eq!(server_count(&api).await, 3);
}

#[tokio::test]
async fn cores_and_ram_count_the_flavor_and_refuse_with_ecs_0001() {
    let api = with_quotas(Quotas {
        cores: Some(4),
        ram: Some(12288),
        ..Quotas::default()
    });
    // s3.xlarge.2: 4 vCPUs, 8 GiB.
    create(&api, 1, "s3.xlarge.2", None).await;
    assert_error(
        &create_answer(&api, 1, "s3.medium.1", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0001",
        "cores",
    );
    let api = with_quotas(Quotas {
        ram: Some(12288),
        ..Quotas::default()
    });
    create(&api, 1, "s3.xlarge.2", None).await;
    // s3.large.4: 8 GiB more would make 16 GiB.
    assert_error(
        &create_answer(&api, 1, "s3.large.4", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0001",
        "ram",
    );
    assert_eq!(server_count(&api).await, 1);
    assert_eq!(limits(&api).await["totalRAMUsed"], 8192);
}

#[tokio::test]
async fn a_resize_past_the_core_quota_is_refused_with_ecs_0001() {
    let api = with_quotas(Quotas {
        cores: Some(4),
        ..Quotas::default()
    });
    // Two servers of 1 vCPU (s3.medium.1), stopped.
    let ids = create(&api, 2, "s3.medium.1", None).await;
    for id in &ids {
        stop(&api, id).await;
    }
    let resize = |id: &str, flavor: &str| {
        (
            format!("/v1/{PROJECT}/cloudservers/{id}/resize"),
            json!({ "resize": { "flavorRef": flavor } }),
        )
    };
    // 1 → 2 vCPUs: 3 in all. Not run yet, but it counts.
    let (path, body) = resize(&ids[0], "s3.large.2");
    let (status, body) = api.post(&path, &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // 1 → 4 vCPUs would make 6.
    let (path, body) = resize(&ids[1], "s3.xlarge.2");
    assert_error(
        &api.post(&path, &body).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0001",
        "cores",
    );
    api.harness.drain().await;
    assert_eq!(limits(&api).await["totalCoresUsed"], 3);
    assert_eq!(view(&api, &ids[1]).await["flavor"]["id"], "s3.medium.1");
    // 1 → 2 fits exactly.
    let (path, body) = resize(&ids[1], "s3.large.2");
    let (status, body) = api.post(&path, &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn add_nics_over_the_nic_quota_is_refused_with_ecs_0050_and_adds_nothing() {
    let api = with_quotas(Quotas {
        nics: Some(2),
        ..Quotas::default()
    });
    let id = create(&api, 1, "s3.medium.1", None).await.remove(0);
    let nics_path = format!("/v1/{PROJECT}/cloudservers/{id}/nics");
    let two = json!({ "nics": [{ "subnet_id": SUBNET }, { "subnet_id": SUBNET }] });
    let refused = api.post(&nics_path, &two).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "Ecs.0050", "nics");
    let server = view(&api, &id).await;
    assert_eq!(server["status"], "ACTIVE", "no job took the server");
    let addresses: usize = server["addresses"]
        .as_object()
        .expect("addresses")
        .values()
        .map(|list| list.as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(addresses, 1, "no NIC added");
    let (status, body) = api
        .post(&nics_path, &json!({ "nics": [{ "subnet_id": SUBNET }] }))
        .await;
    assert_eq!(status, StatusCode::OK, "one more fits: {body}");
    // A create's NICs count too.
    api.harness.drain().await;
    assert_error(
        &create_answer(&api, 1, "s3.medium.1", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0050",
        "nics",
    );
}

#[tokio::test]
async fn attaching_over_the_volume_quota_is_refused_with_ecs_0021_and_attaches_nothing() {
    let api = with_quotas(Quotas {
        volumes: Some(3),
        ..Quotas::default()
    });
    // Each server's system disk is one volume: two used.
    let ids = create(&api, 2, "s3.medium.1", None).await;
    let attach_path = |id: &str| format!("/v1/{PROJECT}/cloudservers/{id}/attachvolume");
    let attach = |volume: &str| json!({ "volumeAttachment": { "volumeId": volume } });
    let (status, body) = api.post(&attach_path(&ids[0]), &attach(VOLUME)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // The first attach has not run yet: the disk it attaches counts already, so two
    // concurrent attaches cannot both take the last volume.
    let refused = api.post(&attach_path(&ids[1]), &attach(OTHER_VOLUME)).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "Ecs.0021", "volumes");
    api.harness.drain().await;
    let refused = api.post(&attach_path(&ids[1]), &attach(OTHER_VOLUME)).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "Ecs.0021", "volumes");
    let second = view(&api, &ids[1]).await;
    assert_eq!(second["status"], "ACTIVE", "no job took the server");
    assert_eq!(
        second["os-extended-volumes:volumes_attached"]
            .as_array()
            .map_or(0, Vec::len),
        1,
        "nothing attached"
    );
    // A create's disks count too.
    assert_error(
        &create_answer(&api, 1, "s3.medium.1", None).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0021",
        "volumes",
    );
    assert_eq!(server_count(&api).await, 2);
    // Deleting a server gives its disks back.
    delete_server(&api, &ids[1]).await;
    create(&api, 1, "s3.medium.1", None).await;
}

// ---------------------------------------------------------------------------------------------
// ECS groups.

#[tokio::test]
async fn a_group_is_created_listed_shown_and_deleted() {
    let api = Api::new(LatencyProfile::Instant);
    let group = create_group(&api, "web").await;
    let id = group["id"].as_str().expect("id").to_owned();
    assert!(
        id.len() == 36 && id.split('-').map(str::len).eq([8, 4, 4, 4, 12]),
        "{group}"
    );
    assert_eq!(
        group,
        json!({
            "id": id, "name": "web", "policies": ["anti-affinity"], "members": [], "metadata": {}
        })
    );
    assert_eq!(show_group(&api, &id).await, group);
    let second = create_group(&api, "db").await;
    let (status, listed) = api.get(&groups_path(PROJECT)).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed, json!({ "server_groups": [group, second] }));
    // Pages: limit and marker.
    let (_, page) = api.get(&format!("{}?limit=1", groups_path(PROJECT))).await;
    assert_eq!(page["server_groups"], json!([group]));
    assert_eq!(page["page_info"]["next_marker"], json!(id));
    let (_, page) = api
        .get(&format!("{}?limit=1&marker={id}", groups_path(PROJECT)))
        .await;
    assert_eq!(page, json!({ "server_groups": [second] }));
    let (status, body) = api
        .send(Method::DELETE, &group_path(PROJECT, &id), None, "")
        .await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    assert_error(
        &api.get(&group_path(PROJECT, &id)).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0313",
        &id,
    );
    assert_error(
        &api.send(Method::DELETE, &group_path(PROJECT, &id), None, "")
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0313",
        &id,
    );
}

#[tokio::test]
async fn group_requests_are_checked() {
    let api = Api::new(LatencyProfile::Instant);
    let bad_policy = api
        .post(
            &groups_path(PROJECT),
            &json!({ "server_group": { "name": "a", "policies": ["affinity"] } }),
        )
        .await;
    assert_error(
        &bad_policy,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server_group.policies",
    );
    let no_name = api
        .post(
            &groups_path(PROJECT),
            &json!({ "server_group": { "name": "", "policies": ["anti-affinity"] } }),
        )
        .await;
    assert_error(
        &no_name,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server_group.name",
    );
    assert_error(
        &api.get(&group_path(PROJECT, "not-a-uuid")).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "server_group_id",
    );
    assert_error(
        &api.get(&format!("{}?limit=0", groups_path(PROJECT))).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "limit",
    );
    let group = create_group(&api, "g").await;
    let id = group["id"].as_str().expect("id");
    let both = api
        .post(
            &format!("{}/action", group_path(PROJECT, id)),
            &json!({
                "add_member": { "instance_uuid": UNKNOWN },
                "remove_member": { "instance_uuid": UNKNOWN }
            }),
        )
        .await;
    assert_error(&both, StatusCode::BAD_REQUEST, "Ecs.0005", "exactly one");
    assert_error(
        &member_action(&api, id, "add_member", UNKNOWN).await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        UNKNOWN,
    );
    assert_error(
        &member_action(&api, UNKNOWN, "add_member", UNKNOWN).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0313",
        UNKNOWN,
    );
}

#[tokio::test]
async fn the_group_quota_refuses_a_group_with_ecs_0022() {
    let api = with_quotas(Quotas {
        server_groups: Some(1),
        ..Quotas::default()
    });
    let group = create_group(&api, "one").await;
    let refused = api
        .post(
            &groups_path(PROJECT),
            &json!({ "server_group": { "name": "two", "policies": ["anti-affinity"] } }),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "Ecs.0022",
        "server_groups",
    );
    let (_, listed) = api.get(&groups_path(PROJECT)).await;
    assert_eq!(listed["server_groups"], json!([group]));
}

#[tokio::test]
async fn servers_created_into_a_group_are_members_on_hosts_of_their_own() {
    let api = Api::new(LatencyProfile::Instant);
    let group_id = create_group(&api, "spread").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let ids = create(&api, 3, "s3.medium.1", Some(&group_id)).await;
    assert_eq!(members(&show_group(&api, &group_id).await), ids);
    let mut hosts = Vec::new();
    for id in &ids {
        let server = view(&api, id).await;
        assert_eq!(server["status"], "ACTIVE");
        // The view's hints are arrays of strings (the data structure page's Table 11).
        assert_eq!(server["os:scheduler_hints"]["group"], json!([group_id]));
        hosts.push(host(&server));
    }
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 3, "anti-affinity: {hosts:?}");
    // Deleting a member takes it out of the group.
    delete_server(&api, &ids[0]).await;
    assert_eq!(members(&show_group(&api, &group_id).await), ids[1..]);
}

#[tokio::test]
async fn members_are_added_when_stopped_and_removed() {
    let api = with_quotas(Quotas {
        server_group_members: Some(2),
        ..Quotas::default()
    });
    let group_id = create_group(&api, "g").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let in_group = create(&api, 1, "s3.medium.1", Some(&group_id))
        .await
        .remove(0);
    let outside = create(&api, 2, "s3.medium.1", None).await;
    // The add page: "The ECS to be added has been stopped."
    assert_error(
        &member_action(&api, &group_id, "add_member", &outside[0]).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0100",
        &outside[0],
    );
    stop(&api, &outside[0]).await;
    let shared_host = host(&view(&api, &outside[0]).await);
    let (status, body) = member_action(&api, &group_id, "add_member", &outside[0]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_eq!(
        members(&show_group(&api, &group_id).await),
        [in_group.clone(), outside[0].clone()]
    );
    let moved = host(&view(&api, &outside[0]).await);
    assert_ne!(moved, shared_host, "moved off the zone's shared host");
    assert_ne!(moved, host(&view(&api, &in_group).await));
    assert_error(
        &member_action(&api, &group_id, "add_member", &outside[0]).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "already",
    );
    // The members quota.
    stop(&api, &outside[1]).await;
    assert_error(
        &member_action(&api, &group_id, "add_member", &outside[1]).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0022",
        "server_group_members",
    );
    assert_error(
        &create_answer(&api, 1, "s3.medium.1", Some(&group_id)).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0022",
        "server_group_members",
    );
    assert_eq!(server_count(&api).await, 3, "nothing created");
    // Remove, then the quota has room again.
    let (status, body) = member_action(&api, &group_id, "remove_member", &outside[0]).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_error(
        &member_action(&api, &group_id, "remove_member", &outside[0]).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "not in",
    );
    let (status, body) = member_action(&api, &group_id, "add_member", &outside[1]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Deleting the group frees its members; they stay where they are.
    let (status, _) = api
        .send(Method::DELETE, &group_path(PROJECT, &group_id), None, "")
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let other = create_group(&api, "next").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = member_action(&api, &other, "add_member", &outside[1]).await;
    assert_eq!(status, StatusCode::OK, "the old group let it go: {body}");
}

#[tokio::test]
async fn anti_affinity_is_refused_on_dedicated_hosts_and_for_unknown_groups() {
    let api = Api::new(LatencyProfile::Instant);
    let group_id = create_group(&api, "g").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    // The create page: "The anti-affinity policy is not supported for ECSs created on a
    // specified DeH."
    let mut body = create_body("deh", 1);
    body["server"]["os:scheduler_hints"] =
        json!({ "group": group_id, "tenancy": "dedicated", "dedicated_host_id": DEH });
    let refused = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "os:scheduler_hints.group",
    );
    assert_error(
        &create_answer(&api, 1, "s3.medium.1", Some(UNKNOWN)).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0313",
        UNKNOWN,
    );
    assert_eq!(server_count(&api).await, 0, "nothing created");
    // A server moved to a dedicated host cannot join.
    let id = create(&api, 1, "s3.medium.1", None).await.remove(0);
    stop(&api, &id).await;
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/{id}/migrate"),
            &json!({ "migrate": { "dedicated_host_id": DEH } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
    assert_error(
        &member_action(&api, &group_id, "add_member", &id).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "dedicated host",
    );
    assert!(members(&show_group(&api, &group_id).await).is_empty());
    // Nor can a member move to one.
    let member = create(&api, 1, "s3.medium.1", Some(&group_id))
        .await
        .remove(0);
    stop(&api, &member).await;
    let refused = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/{member}/migrate"),
            &json!({ "migrate": { "dedicated_host_id": DEH } }),
        )
        .await;
    assert_error(
        &refused,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "dedicated host",
    );
    assert_eq!(view(&api, &member).await["status"], "SHUTOFF", "no job");
}

#[tokio::test]
async fn another_tenant_sees_and_touches_none_of_the_groups() {
    let api = Api::new(LatencyProfile::Instant);
    let group_id = create_group(&api, "mine").await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let server_id = create(&api, 1, "s3.medium.1", Some(&group_id))
        .await
        .remove(0);
    let (status, listed) = api.get_as(OTHER, &groups_path(OTHER.project)).await;
    assert_eq!(
        (status, listed),
        (StatusCode::OK, json!({ "server_groups": [] }))
    );
    assert_error(
        &api.get_as(OTHER, &group_path(OTHER.project, &group_id))
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0313",
        &group_id,
    );
    assert_error(
        &api.send_as(
            OTHER,
            Method::DELETE,
            &group_path(OTHER.project, &group_id),
            None,
            "",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0313",
        &group_id,
    );
    let (status, absolute) = api.get_as(OTHER, &limits_path(OTHER.project)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(absolute["absolute"]["totalInstancesUsed"], 0);
    assert_eq!(absolute["absolute"]["totalServerGroupsUsed"], 0);
    // OTHER's own group cannot take LOCAL's server.
    let (status, created) = api
        .send_as(
            OTHER,
            Method::POST,
            &groups_path(OTHER.project),
            Some("application/json"),
            json!({ "server_group": { "name": "theirs", "policies": ["anti-affinity"] } })
                .to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let theirs = created["server_group"]["id"].as_str().expect("id");
    let stolen = api
        .send_as(
            OTHER,
            Method::POST,
            &format!("{}/action", group_path(OTHER.project, theirs)),
            Some("application/json"),
            json!({ "add_member": { "instance_uuid": server_id } }).to_string(),
        )
        .await;
    assert_error(&stolen, StatusCode::NOT_FOUND, "Ecs.0114", &server_id);
    // And LOCAL's project path is refused to OTHER's credentials.
    let (status, _) = api.get_as(OTHER, &groups_path(PROJECT)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(members(&show_group(&api, &group_id).await), [server_id]);
}
