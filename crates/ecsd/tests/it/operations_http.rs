//! The jobs on one server through the HTTP surface in-process (`crate::http::Api`): the wire
//! shapes of the answers, the jobs and the server views that show their effects, and every
//! error path with its status and code.

use crate::http::{assert_error, Api};
use crate::support::PROJECT;
use axum::http::{Method, StatusCode};
use engine::compute::LatencyProfile;
use serde_json::{json, Value};

const SUBNET: &str = "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33";
const VOLUME: &str = "a26887c6-c47b-4654-abb5-dfadf7d3f803";
const DEH: &str = "459a2b9d-804a-4745-ab19-a113bb1b4ddc";
const IMAGE: &str = "7d2c9a41-0c5e-4b8e-9f3a-1b2c3d4e5f60";
const UNKNOWN_SERVER: &str = "00000000-0000-4000-8000-000000000000";

fn path(server_id: &str, tail: &str) -> String {
    format!("/v1/{PROJECT}/cloudservers/{server_id}/{tail}")
}

fn v2_path(server_id: &str, tail: &str) -> String {
    format!("/v2/{PROJECT}/cloudservers/{server_id}/{tail}")
}

/// A server built to ACTIVE (instant profile: one drain runs the job).
async fn active(api: &Api) -> String {
    let created = api.create("ops", 1).await;
    api.harness.drain().await;
    created["serverIds"][0]
        .as_str()
        .expect("server id")
        .to_owned()
}

async fn stopped(api: &Api) -> String {
    let id = active(api).await;
    let (status, body) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/action"),
            &json!({ "os-stop": { "servers": [{ "id": id }] } }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    api.harness.drain().await;
    id
}

async fn view(api: &Api, server_id: &str) -> Value {
    let (status, body) = api
        .get(&format!("/v1/{PROJECT}/cloudservers/{server_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["server"].clone()
}

async fn job(api: &Api, job_id: &str) -> Value {
    let (status, body) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Expects `{"job_id"}` (and nothing else), runs the job, and returns the finished job.
async fn accepted(api: &Api, answer: (StatusCode, Value)) -> Value {
    let (status, body) = answer;
    assert_eq!(status, StatusCode::OK, "{body}");
    let job_id = body["job_id"].as_str().expect("job_id").to_owned();
    assert!(engine::job::is_job_id(&job_id), "{body}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(1), "{body}");
    api.harness.drain().await;
    job(api, &job_id).await
}

/// A single-target job: `entities.server_id`, no sub-jobs.
fn assert_single_target(job: &Value, job_type: &str, server_id: &str) {
    assert_eq!(job["job_type"], job_type, "{job}");
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(job["entities"], json!({ "server_id": server_id }), "{job}");
    assert_eq!(
        (&job["error_code"], &job["fail_reason"]),
        (&Value::Null, &Value::Null)
    );
}

async fn delete(api: &Api, path: &str) -> (StatusCode, Value) {
    api.send(Method::DELETE, path, None, "").await
}

async fn put(api: &Api, path: &str, body: &Value) -> (StatusCode, Value) {
    api.send(
        Method::PUT,
        path,
        Some("application/json;charset=utf-8"),
        body.to_string(),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Resize.

#[tokio::test]
async fn resize_on_v1_and_v1_1_answers_a_job_that_changes_the_flavor() {
    let api = Api::new(LatencyProfile::Instant);
    let id = stopped(&api).await;
    let resize = |flavor: &str| json!({ "resize": { "flavorRef": flavor } });
    let done = accepted(
        &api,
        api.post(&path(&id, "resize"), &resize("s3.large.2")).await,
    )
    .await;
    assert_single_target(&done, "resizeServer", &id);
    let server = view(&api, &id).await;
    assert_eq!(
        (&server["flavor"]["id"], &server["status"]),
        (&json!("s3.large.2"), &json!("SHUTOFF"))
    );
    assert_eq!(server["flavor"]["vcpus"], "2", "flavor fields stay strings");

    // The SDK's v1.1 path, with the extra fields it may send.
    let v1_1 = format!("/v1.1/{PROJECT}/cloudservers/{id}/resize");
    let body =
        json!({ "resize": { "flavorRef": "s3.medium.2", "extendparam": { "isAutoPay": "true" } } });
    let done = accepted(&api, api.post(&v1_1, &body).await).await;
    assert_single_target(&done, "resizeServer", &id);
    assert_eq!(view(&api, &id).await["flavor"]["id"], "s3.medium.2");
    let listed = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/detail?flavor=s3.medium.2"
        ))
        .await;
    assert_eq!(listed.1["count"], 1, "the list filter sees the new flavor");
}

#[tokio::test]
async fn resize_dry_run_answers_202_and_changes_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let id = stopped(&api).await;
    let (status, body) = api
        .post(
            &path(&id, "resize"),
            &json!({ "resize": { "flavorRef": "s3.large.2" }, "dry_run": true }),
        )
        .await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, json!({})));
    api.harness.drain().await;
    assert_eq!(view(&api, &id).await["flavor"]["id"], "s3.medium.1");
    // dry_run still checks the body and the flavor.
    let unknown = api
        .post(
            &path(&id, "resize"),
            &json!({ "resize": { "flavorRef": "no.such" }, "dry_run": true }),
        )
        .await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "Ecs.0029", "no.such");
}

#[tokio::test]
async fn resize_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let active_id = active(&api).await;
    let id = stopped(&api).await;
    let resize = |flavor: &str| json!({ "resize": { "flavorRef": flavor } });
    let cases = [
        (
            api.post(&path(&active_id, "resize"), &resize("s3.large.2"))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0100",
            "ACTIVE",
        ),
        (
            api.post(&path(&id, "resize"), &resize("s3.medium.1")).await,
            StatusCode::BAD_REQUEST,
            "Ecs.0810",
            "s3.medium.1",
        ),
        (
            api.post(&path(&id, "resize"), &resize("c3.large.2")).await,
            StatusCode::BAD_REQUEST,
            "Ecs.0009",
            "same family",
        ),
        (
            api.post(&path(&id, "resize"), &resize("nope")).await,
            StatusCode::BAD_REQUEST,
            "Ecs.0029",
            "nope",
        ),
        (
            api.post(&path(UNKNOWN_SERVER, "resize"), &resize("s3.large.2"))
                .await,
            StatusCode::NOT_FOUND,
            "Ecs.0114",
            UNKNOWN_SERVER,
        ),
        (
            api.post(&path("not-a-uuid", "resize"), &resize("s3.large.2"))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "server_id",
        ),
        (
            api.post(&path(&id, "resize"), &json!({ "flavorRef": "s3.large.2" }))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "resize",
        ),
        (
            api.send(
                Method::POST,
                &path(&id, "resize"),
                Some("application/json"),
                "",
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Common.0002",
            "empty",
        ),
    ];
    for (answer, status, code, fragment) in &cases {
        assert_error(answer, *status, code, fragment);
    }
    // A second job while the first is accepted but not yet run: Ecs.0100, as for batch actions.
    let (status, _) = api.post(&path(&id, "resize"), &resize("s3.large.2")).await;
    assert_eq!(status, StatusCode::OK);
    let busy = api
        .post(&path(&id, "migrate"), &json!({ "migrate": null }))
        .await;
    assert_error(&busy, StatusCode::BAD_REQUEST, "Ecs.0100", "busy");
}

// ---------------------------------------------------------------------------------------------
// Cold migration.

#[tokio::test]
async fn migrate_moves_the_host_shown_in_the_server_view() {
    let api = Api::new(LatencyProfile::Instant);
    let id = stopped(&api).await;
    let before = view(&api, &id).await;
    let done = accepted(
        &api,
        api.post(
            &path(&id, "migrate"),
            &json!({ "migrate": { "dedicated_host_id": DEH } }),
        )
        .await,
    )
    .await;
    assert_single_target(&done, "migrateServer", &id);
    let after = view(&api, &id).await;
    assert_ne!(
        after["OS-EXT-SRV-ATTR:host"],
        before["OS-EXT-SRV-ATTR:host"]
    );
    assert_ne!(after["hostId"], before["hostId"]);
    assert_eq!(after["hostId"].as_str().map(str::len), Some(56));
    assert_eq!(after["status"], "SHUTOFF");
    // To the public pool: null, an empty object, or (as the SDK sends null) no key at all.
    for body in [
        json!({ "migrate": null }),
        json!({ "migrate": {} }),
        json!({}),
    ] {
        let done = accepted(&api, api.post(&path(&id, "migrate"), &body).await).await;
        assert_single_target(&done, "migrateServer", &id);
    }
}

#[tokio::test]
async fn migrate_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let active_id = active(&api).await;
    let id = stopped(&api).await;
    let to_deh = json!({ "migrate": { "dedicated_host_id": DEH } });
    accepted(&api, api.post(&path(&id, "migrate"), &to_deh).await).await;
    let cases = [
        (
            api.post(&path(&id, "migrate"), &to_deh).await,
            StatusCode::BAD_REQUEST,
            "Ecs.0221",
            DEH,
        ),
        (
            api.post(&path(&active_id, "migrate"), &json!({ "migrate": null }))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0100",
            "ACTIVE",
        ),
        (
            api.post(&path(&id, "migrate"), &json!({ "migrate": "public" }))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "migrate",
        ),
        (
            api.post(
                &path(&id, "migrate"),
                &json!({ "migrate": { "dedicated_host_id": "deh-1" } }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "migrate.dedicated_host_id",
        ),
        (
            api.post(
                &path(UNKNOWN_SERVER, "migrate"),
                &json!({ "migrate": null }),
            )
            .await,
            StatusCode::NOT_FOUND,
            "Ecs.0114",
            UNKNOWN_SERVER,
        ),
    ];
    for (answer, status, code, fragment) in &cases {
        assert_error(answer, *status, code, fragment);
    }
}

// ---------------------------------------------------------------------------------------------
// Reinstall and change OS.

#[tokio::test]
async fn reinstall_and_change_os_answer_jobs_on_the_v2_paths() {
    let api = Api::new(LatencyProfile::Instant);
    let id = stopped(&api).await;
    let image = view(&api, &id).await["image"]["id"].clone();
    let done = accepted(
        &api,
        api.post(
            &v2_path(&id, "reinstallos"),
            &json!({ "os-reinstall": { "adminpass": "Passw0rd!", "mode": "withStopServer" } }),
        )
        .await,
    )
    .await;
    assert_single_target(&done, "reInitOs", &id);
    assert_eq!(view(&api, &id).await["image"]["id"], image);

    let done = accepted(
        &api,
        api.post(
            &v2_path(&id, "changeos"),
            &json!({ "os-change": { "imageid": IMAGE, "keyname": "kp-1", "metadata": { "user_data": "IyEvYmluL2Jhc2g=" } } }),
        )
        .await,
    )
    .await;
    assert_single_target(&done, "changeOS", &id);
    let server = view(&api, &id).await;
    assert_eq!(
        (
            &server["image"]["id"],
            &server["key_name"],
            &server["status"]
        ),
        (&json!(IMAGE), &json!("kp-1"), &json!("SHUTOFF"))
    );
    assert_eq!(server["metadata"]["metering.image_id"], IMAGE);
}

#[tokio::test]
async fn reinstall_and_change_os_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let active_id = active(&api).await;
    let id = stopped(&api).await;
    let reinstall = json!({ "os-reinstall": {} });
    let cases = [
        (
            api.post(&v2_path(&active_id, "reinstallos"), &reinstall)
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0100",
            "ACTIVE",
        ),
        (
            api.post(
                &v2_path(&id, "reinstallos"),
                &json!({ "os-reinstall": { "keyname": "kp" } }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "os-reinstall.userid",
        ),
        (
            api.post(
                &v2_path(&id, "reinstallos"),
                &json!({ "os-reinstall": { "adminpass": "weak" } }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0011",
            "os-reinstall.adminpass",
        ),
        (
            api.post(&v2_path(&id, "changeos"), &json!({ "os-change": {} }))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "os-change.imageid",
        ),
        (
            api.post(
                &v2_path(&id, "changeos"),
                &json!({ "os-change": { "imageid": "centos" } }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "os-change.imageid",
        ),
        (
            api.post(&v2_path(UNKNOWN_SERVER, "reinstallos"), &reinstall)
                .await,
            StatusCode::NOT_FOUND,
            "Ecs.0114",
            UNKNOWN_SERVER,
        ),
    ];
    for (answer, status, code, fragment) in &cases {
        assert_error(answer, *status, code, fragment);
    }
    // Without a system disk: Ecs.0105.
    let system = view(&api, &id).await["os-extended-volumes:volumes_attached"][0]["id"]
        .as_str()
        .expect("system disk id")
        .to_owned();
    accepted(
        &api,
        delete(&api, &path(&id, &format!("detachvolume/{system}"))).await,
    )
    .await;
    let no_disk = api.post(&v2_path(&id, "reinstallos"), &reinstall).await;
    assert_error(&no_disk, StatusCode::BAD_REQUEST, "Ecs.0105", "system disk");
}

// ---------------------------------------------------------------------------------------------
// Disks.

#[tokio::test]
async fn attach_and_detach_show_in_volumes_attached_with_string_boot_indexes() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let done = accepted(
        &api,
        api.post(
            &path(&id, "attachvolume"),
            &json!({ "volumeAttachment": { "volumeId": VOLUME, "hw:passthrough": "false" } }),
        )
        .await,
    )
    .await;
    assert_single_target(&done, "attachVolume", &id);
    let server = view(&api, &id).await;
    let volumes = server["os-extended-volumes:volumes_attached"]
        .as_array()
        .expect("volumes_attached");
    assert_eq!(volumes.len(), 2, "{server}");
    assert_eq!(
        volumes[0]["bootIndex"], "0",
        "the system disk's bootIndex is a string"
    );
    assert_eq!(volumes[0]["device"], "/dev/vda");
    assert_eq!(
        (&volumes[1]["id"], &volumes[1]["device"]),
        (&json!(VOLUME), &json!("/dev/vdb"))
    );
    assert_eq!(server["status"], "ACTIVE");

    let done = accepted(
        &api,
        delete(
            &api,
            &path(&id, &format!("detachvolume/{VOLUME}?delete_flag=1")),
        )
        .await,
    )
    .await;
    assert_single_target(&done, "detachVolume", &id);
    let volumes = view(&api, &id).await["os-extended-volumes:volumes_attached"].clone();
    assert_eq!(volumes.as_array().map(Vec::len), Some(1), "{volumes}");
}

#[tokio::test]
async fn attach_dry_run_answers_202_and_attaches_nothing() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let (status, body) = api
        .post(
            &path(&id, "attachvolume"),
            &json!({ "volumeAttachment": { "volumeId": VOLUME }, "dry_run": true }),
        )
        .await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, json!({})));
    api.harness.drain().await;
    let volumes = view(&api, &id).await["os-extended-volumes:volumes_attached"].clone();
    assert_eq!(volumes.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn disk_errors_use_the_reference_codes() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let other = active(&api).await;
    let attach = |volume: &str, device: Option<&str>| {
        let mut body = json!({ "volumeAttachment": { "volumeId": volume } });
        if let Some(device) = device {
            body["volumeAttachment"]["device"] = json!(device);
        }
        body
    };
    accepted(
        &api,
        api.post(
            &path(&id, "attachvolume"),
            &attach(VOLUME, Some("/dev/sdb")),
        )
        .await,
    )
    .await;
    let system = view(&api, &id).await["os-extended-volumes:volumes_attached"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let fresh = "d3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f6a";
    let cases = [
        (
            api.post(&path(&id, "attachvolume"), &attach(VOLUME, None))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0057",
            VOLUME,
        ),
        (
            api.post(&path(&other, "attachvolume"), &attach(VOLUME, None))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0103",
            VOLUME,
        ),
        (
            api.post(&path(&id, "attachvolume"), &attach(fresh, Some("/dev/vdb")))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "volumeAttachment.device",
        ),
        (
            api.post(&path(&id, "attachvolume"), &attach(fresh, Some("vdc")))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "volumeAttachment.device",
        ),
        (
            api.post(&path(&id, "attachvolume"), &attach("disk-1", None))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "volumeAttachment.volumeId",
        ),
        (
            api.post(&path(UNKNOWN_SERVER, "attachvolume"), &attach(fresh, None))
                .await,
            StatusCode::NOT_FOUND,
            "Ecs.0114",
            UNKNOWN_SERVER,
        ),
        (
            delete(&api, &path(&id, &format!("detachvolume/{fresh}"))).await,
            StatusCode::BAD_REQUEST,
            "Ecs.0111",
            fresh,
        ),
        (
            delete(
                &api,
                &path(&id, &format!("detachvolume/{VOLUME}?delete_flag=2")),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "delete_flag",
        ),
        (
            delete(&api, &path(&id, &format!("detachvolume/{system}"))).await,
            StatusCode::BAD_REQUEST,
            "Ecs.0100",
            "ACTIVE",
        ),
    ];
    for (answer, status, code, fragment) in &cases {
        assert_error(answer, *status, code, fragment);
    }
}

// ---------------------------------------------------------------------------------------------
// NICs.

#[tokio::test]
async fn add_nics_answers_sub_jobs_with_nic_ids_that_appear_in_addresses() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let done = accepted(
        &api,
        api.post(
            &path(&id, "nics"),
            &json!({ "nics": [
                { "subnet_id": SUBNET, "security_groups": [{ "id": "f0ac4394-7e4a-4409-9701-ba8be283dbc3" }] },
                { "subnet_id": SUBNET, "ip_address": "192.168.77.7" }
            ] }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (&done["job_type"], &done["status"]),
        (&json!("addNics"), &json!("SUCCESS"))
    );
    assert_eq!(done["entities"]["sub_jobs_total"], 2);
    let sub_jobs = done["entities"]["sub_jobs"].as_array().expect("sub_jobs");
    let nic_ids: Vec<&str> = sub_jobs
        .iter()
        .map(|sub_job| {
            assert_eq!(sub_job["job_type"], "addNic");
            assert_eq!(sub_job["entities"]["server_id"], id.as_str());
            sub_job["entities"]["nic_id"].as_str().expect("nic_id")
        })
        .collect();
    let server = view(&api, &id).await;
    let ports: Vec<Value> = server["addresses"]
        .as_object()
        .expect("addresses")
        .values()
        .flat_map(|ports| ports.as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(ports.len(), 3, "{server}");
    for nic_id in &nic_ids {
        let port = ports
            .iter()
            .find(|port| port["OS-EXT-IPS:port_id"] == *nic_id)
            .unwrap_or_else(|| panic!("port {nic_id} in addresses: {server}"));
        assert_eq!(port["OS-EXT-IPS:type"], "fixed");
        assert_eq!(port["version"], "4");
        assert!(port["OS-EXT-IPS-MAC:mac_addr"]
            .as_str()
            .is_some_and(|mac| mac.starts_with("fa:16:3e:")));
    }
    assert!(ports.iter().any(|port| port["addr"] == "192.168.77.7"));

    // Delete them again: a deleteNics job with a sub-job per NIC.
    let body = json!({ "nics": nic_ids.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() });
    let done = accepted(&api, api.post(&path(&id, "nics/delete"), &body).await).await;
    assert_eq!(
        (
            &done["job_type"],
            &done["status"],
            &done["entities"]["sub_jobs"][1]["job_type"]
        ),
        (&json!("deleteNics"), &json!("SUCCESS"), &json!("deleteNic"))
    );
    assert_eq!(
        done["entities"]["sub_jobs"][0]["entities"]["nic_id"],
        json!(nic_ids[0])
    );
    let addresses = view(&api, &id).await["addresses"].clone();
    let left: usize = addresses
        .as_object()
        .expect("addresses")
        .values()
        .map(|ports| ports.as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(left, 1, "{addresses}");
}

#[tokio::test]
async fn nic_errors_use_the_reference_codes_and_the_primary_nic_is_403() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let server = view(&api, &id).await;
    let primary = server["addresses"]
        .as_object()
        .and_then(|addresses| addresses.values().next())
        .and_then(|ports| ports[0]["OS-EXT-IPS:port_id"].as_str())
        .expect("primary port")
        .to_owned();
    let primary_ip = server["addresses"]
        .as_object()
        .and_then(|addresses| addresses.values().next())
        .and_then(|ports| ports[0]["addr"].as_str())
        .expect("primary address")
        .to_owned();
    let thirteen: Vec<Value> = (0..12).map(|_| json!({ "subnet_id": SUBNET })).collect();
    let unknown_port = "e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b";
    let cases = [
        (
            api.post(
                &path(&id, "nics/delete"),
                &json!({ "nics": [{ "id": primary }] }),
            )
            .await,
            StatusCode::FORBIDDEN,
            "Ecs.0003",
            "primary",
        ),
        (
            api.post(
                &path(&id, "nics/delete"),
                &json!({ "nics": [{ "id": unknown_port }] }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0085",
            unknown_port,
        ),
        (
            api.post(
                &path(&id, "nics/delete"),
                &json!({ "nics": [{ "id": unknown_port }, { "id": unknown_port }] }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "nics[1].id",
        ),
        (
            api.post(&path(&id, "nics/delete"), &json!({ "nics": [] }))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "nics",
        ),
        (
            api.post(&path(&id, "nics"), &json!({ "nics": thirteen }))
                .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0050",
            "13 NICs",
        ),
        (
            api.post(
                &path(&id, "nics"),
                &json!({ "nics": [{ "subnet_id": SUBNET, "ip_address": primary_ip }] }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0010",
            &primary_ip,
        ),
        (
            api.post(
                &path(&id, "nics"),
                &json!({ "nics": [{ "subnet_id": SUBNET, "ip_address": "300.1.1.1" }] }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "nics[0].ip_address",
        ),
        (
            api.post(
                &path(&id, "nics"),
                &json!({ "nics": [{ "subnet_id": "net" }] }),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "Ecs.0005",
            "nics[0].subnet_id",
        ),
        (
            api.post(
                &path(UNKNOWN_SERVER, "nics"),
                &json!({ "nics": [{ "subnet_id": SUBNET }] }),
            )
            .await,
            StatusCode::NOT_FOUND,
            "Ecs.0114",
            UNKNOWN_SERVER,
        ),
    ];
    for (answer, status, code, fragment) in &cases {
        assert_error(answer, *status, code, fragment);
    }
}

// ---------------------------------------------------------------------------------------------
// Auto-recovery.

#[tokio::test]
async fn autorecovery_reads_and_stores_the_string_value() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let auto_recovery = path(&id, "autorecovery");
    assert_eq!(
        api.get(&auto_recovery).await,
        (StatusCode::OK, json!({ "support_auto_recovery": "false" }))
    );
    assert_eq!(
        put(
            &api,
            &auto_recovery,
            &json!({ "support_auto_recovery": "true" })
        )
        .await,
        (StatusCode::OK, json!({}))
    );
    assert_eq!(
        api.get(&auto_recovery).await.1,
        json!({ "support_auto_recovery": "true" })
    );

    let mut body = crate::support::create_body("ar", 1);
    body["server"]["extendparam"] = json!({ "support_auto_recovery": true, "chargingMode": 0 });
    let (status, created) = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let created_id = created["serverIds"][0].as_str().expect("id");
    assert_eq!(
        api.get(&path(created_id, "autorecovery")).await.1,
        json!({ "support_auto_recovery": "true" })
    );

    assert_error(
        &api.get(&path(UNKNOWN_SERVER, "autorecovery")).await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        UNKNOWN_SERVER,
    );
    assert_error(
        &put(
            &api,
            &path(UNKNOWN_SERVER, "autorecovery"),
            &json!({ "support_auto_recovery": "true" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        UNKNOWN_SERVER,
    );
    assert_error(
        &put(
            &api,
            &auto_recovery,
            &json!({ "support_auto_recovery": "yes" }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "support_auto_recovery",
    );
}

// ---------------------------------------------------------------------------------------------
// The reads that show the effects.

#[tokio::test]
async fn block_device_lists_the_attached_disks_with_integer_boot_indexes() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    accepted(
        &api,
        api.post(
            &path(&id, "attachvolume"),
            &json!({ "volumeAttachment": { "volumeId": VOLUME } }),
        )
        .await,
    )
    .await;
    let (status, body) = api.get(&path(&id, "block_device")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let attachments = body["volumeAttachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 2, "{body}");
    assert_eq!(attachments[0]["bootIndex"], 0);
    assert_eq!(attachments[0]["device"], "/dev/vda");
    assert_eq!(attachments[0]["serverId"], id.as_str());
    assert_eq!(
        (
            &attachments[1]["volumeId"],
            &attachments[1]["id"],
            &attachments[1]["device"],
            &attachments[1]["bootIndex"],
            &attachments[1]["size"],
            &attachments[1]["bus"]
        ),
        (
            &json!(VOLUME),
            &json!(VOLUME),
            &json!("/dev/vdb"),
            &json!(1),
            &json!(10),
            &json!("virtio")
        )
    );
    assert_eq!(body["attachableQuantity"]["free_disk"], 58);

    let (status, one) = api.get(&path(&id, &format!("block_device/{VOLUME}"))).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["volumeAttachment"], attachments[1]);
    let missing = "d3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f6a";
    assert_error(
        &api.get(&path(&id, &format!("block_device/{missing}")))
            .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0111",
        missing,
    );
    assert_error(
        &api.get(&path(UNKNOWN_SERVER, "block_device")).await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        UNKNOWN_SERVER,
    );
}

#[tokio::test]
async fn os_interface_lists_every_nic_with_its_fixed_ip() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let done = accepted(
        &api,
        api.post(
            &path(&id, "nics"),
            &json!({ "nics": [{ "subnet_id": SUBNET, "ip_address": "192.168.33.3" }] }),
        )
        .await,
    )
    .await;
    let nic_id = done["entities"]["sub_jobs"][0]["entities"]["nic_id"].clone();
    let (status, body) = api.get(&path(&id, "os-interface")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let nics = body["interfaceAttachments"]
        .as_array()
        .expect("attachments");
    assert_eq!(nics.len(), 2, "{body}");
    assert_eq!(nics[1]["port_id"], nic_id);
    assert_eq!(
        nics[1]["fixed_ips"],
        json!([{ "subnet_id": SUBNET, "ip_address": "192.168.33.3" }])
    );
    assert_eq!(nics[1]["port_state"], "ACTIVE");
    assert!(nics[1]["mac_addr"]
        .as_str()
        .is_some_and(|mac| mac.starts_with("fa:16:3e:")));
    assert_eq!(body["attachableQuantity"]["free_nic"], 10);
}

#[tokio::test]
async fn resize_flavors_lists_the_family_on_both_paths_sorted_and_paged() {
    let api = Api::new(LatencyProfile::Instant);
    let id = active(&api).await;
    let ids = |body: &Value| -> Vec<String> {
        body["flavors"]
            .as_array()
            .expect("flavors")
            .iter()
            .filter_map(|flavor| flavor["id"].as_str().map(str::to_owned))
            .collect()
    };
    let (status, by_server) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/resize_flavors?instance_uuid={id}"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{by_server}");
    let targets = ids(&by_server);
    assert!(!targets.is_empty());
    assert!(
        targets.iter().all(|flavor| flavor.starts_with("s3.")),
        "{targets:?}"
    );
    assert!(!targets.contains(&"s3.medium.1".to_owned()));
    let mut sorted = targets.clone();
    sorted.sort();
    assert_eq!(targets, sorted, "sorted by flavor id by default");
    let first = &by_server["flavors"][0];
    assert!(
        first["vcpus"].is_string() && first["ram"].is_u64(),
        "{first}"
    );
    assert!(first["extra_specs"].is_object(), "{first}");

    let (_, by_id) = api
        .get(&format!(
            "/v2.1/{PROJECT}/resize_flavors?source_flavor_id=s3.medium.1&limit=2"
        ))
        .await;
    assert_eq!(ids(&by_id), targets[..2]);
    let (_, next) = api
        .get(&format!(
            "/v2.1/{PROJECT}/resize_flavors?source_flavor_id=s3.medium.1&limit=2&marker={}",
            targets[1]
        ))
        .await;
    assert_eq!(ids(&next), targets[2..4]);
    let (_, by_memory) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/resize_flavors?source_flavor_name=s3.medium.1&sort_key=memory_mb&sort_dir=desc"
        ))
        .await;
    let rams: Vec<u64> = by_memory["flavors"]
        .as_array()
        .expect("flavors")
        .iter()
        .filter_map(|flavor| flavor["ram"].as_u64())
        .collect();
    assert!(rams.windows(2).all(|pair| pair[0] >= pair[1]), "{rams:?}");

    let base = format!("/v1/{PROJECT}/cloudservers/resize_flavors");
    assert_error(
        &api.get(&base).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "instance_uuid",
    );
    assert_error(
        &api.get(&format!("{base}?source_flavor_id=nope")).await,
        StatusCode::BAD_REQUEST,
        "Ecs.0029",
        "nope",
    );
    assert_error(
        &api.get(&format!("{base}?instance_uuid={UNKNOWN_SERVER}"))
            .await,
        StatusCode::NOT_FOUND,
        "Ecs.0114",
        UNKNOWN_SERVER,
    );
    assert_error(
        &api.get(&format!(
            "{base}?source_flavor_id=s3.medium.1&sort_key=price"
        ))
        .await,
        StatusCode::BAD_REQUEST,
        "Ecs.0005",
        "sort_key",
    );
}

// ---------------------------------------------------------------------------------------------
// Failed jobs on the wire.

/// Fails the last step of every resize and rebuild.
#[derive(Debug)]
struct FailResizeAndRebuild;

impl engine::engine::FaultInjector for FailResizeAndRebuild {
    fn fault(
        &self,
        task: &engine::job::TaskRecord,
        step: usize,
    ) -> Option<engine::engine::InjectedFault> {
        let last = match task.operation {
            engine::compute::Operation::ResizeServer { .. } => 4,
            engine::compute::Operation::RebuildServer { .. } => 3,
            _ => return None,
        };
        (step == last).then(|| engine::engine::InjectedFault {
            code: None,
            reason: "injected: the host refused".to_owned(),
        })
    }
}

#[tokio::test]
async fn failed_single_target_jobs_report_their_code_and_leave_the_documented_server() {
    let faults: std::sync::Arc<dyn engine::engine::FaultInjector> =
        std::sync::Arc::new(FailResizeAndRebuild);
    let api = Api::over(
        crate::support::Harness::with_faults(
            crate::support::config(LatencyProfile::Instant),
            Some(faults),
        ),
        api::DEFAULT_MAX_BODY_BYTES,
    );
    let id = stopped(&api).await;
    let failed = accepted(
        &api,
        api.post(
            &path(&id, "resize"),
            &json!({ "resize": { "flavorRef": "s3.large.2" } }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (
            &failed["status"],
            &failed["job_type"],
            &failed["error_code"],
            &failed["entities"]
        ),
        (
            &json!("FAIL"),
            &json!("resizeServer"),
            &json!("Ecs.0207"),
            &json!({ "server_id": id })
        )
    );
    assert!(failed["fail_reason"]
        .as_str()
        .is_some_and(|reason| reason.contains("host refused")));
    let server = view(&api, &id).await;
    assert_eq!(
        (&server["status"], &server["flavor"]["id"], &server["fault"]),
        (&json!("SHUTOFF"), &json!("s3.medium.1"), &Value::Null)
    );

    let failed = accepted(
        &api,
        api.post(
            &v2_path(&id, "changeos"),
            &json!({ "os-change": { "imageid": IMAGE } }),
        )
        .await,
    )
    .await;
    assert_eq!(
        (&failed["status"], &failed["error_code"]),
        (&json!("FAIL"), &json!("Ecs.1002"))
    );
    let server = view(&api, &id).await;
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["fault"]["code"], 500);
    assert!(server["fault"]["message"]
        .as_str()
        .is_some_and(|message| message.starts_with("Ecs.1002")));
    assert_ne!(server["image"]["id"], IMAGE);
}
