//! Replays of the published wait logic of real clients (`TERRAFORM-WAITERS.md`,
//! `ANSIBLE-CLIENT.md`) against ecsd's real answers, for every job type, on a manual clock: a
//! response shape that would hang or crash one of those clients fails here.
//!
//! - golangsdk (terraform-provider-huaweicloud's vendored SDK, gophertelekomcloud): SUCCESS is
//!   done, FAIL is an error, anything else is pending; `GetJobEntity` reads
//!   `entities.sub_jobs[0].entities[label]` with no bounds check.
//! - terraform-provider-huaweicloud (newer code): an empty status is an error.
//! - Ansible `hwc_ecs_instance`: INIT and RUNNING are pending, anything else but SUCCESS fails at
//!   once; a create's server id is the `createSingleServer` sub-job's `entities.server_id`.
//! - Terraform delete: after the job's SUCCESS, poll the server until 404 or `DELETED`.

use crate::http::Api;
use crate::support::{config, create_body, Harness, PROJECT};
use axum::http::StatusCode;
use engine::compute::LatencyProfile;
use engine::engine::{FaultInjector, InjectedFault};
use engine::job::TaskRecord;
use serde_json::{json, Value};
use std::sync::Arc;

/// What a client's waiter concluded.
#[derive(Debug, PartialEq)]
enum Outcome {
    Done(Value),
    Failed(Value),
}

const STATUSES: [&str; 4] = ["INIT", "RUNNING", "SUCCESS", "FAIL"];

/// Polls the job the way golangsdk's `WaitForJobSuccess` does, one simulated second apart, and
/// checks on the way what every client relies on: a known, non-empty status that never moves
/// backwards.
async fn golangsdk_wait(api: &Api, job_id: &str) -> Outcome {
    let mut last_rank = 0;
    for _ in 0..600 {
        let (status, job) = api.get(&format!("/v1/{PROJECT}/jobs/{job_id}")).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        let text = job["status"].as_str().unwrap_or_default();
        assert!(
            !text.is_empty(),
            "the newer provider treats an empty status as an error: {job}"
        );
        let rank = STATUSES
            .iter()
            .position(|known| *known == text)
            .unwrap_or_else(|| panic!("unknown status: {job}"));
        assert!(
            rank.min(2) >= last_rank.min(2),
            "status went backwards: {job}"
        );
        last_rank = rank;
        match text {
            "SUCCESS" => return Outcome::Done(job),
            "FAIL" => return Outcome::Failed(job),
            _ => {
                api.harness.advance_ms(1_000);
                api.harness.drain().await;
            }
        }
    }
    panic!("job {job_id} never finished: a client would wait forever")
}

/// golangsdk's `GetJobEntity`: `entities.sub_jobs[0].entities[label]`, indexed like Go does
/// (an empty `sub_jobs` panics the provider, so it panics here).
fn get_job_entity<'a>(job: &'a Value, label: &str) -> &'a Value {
    let sub_jobs = job["entities"]["sub_jobs"]
        .as_array()
        .expect("sub_jobs is an array");
    &sub_jobs[0]["entities"][label]
}

/// Ansible's reading of a finished create job: the server id of a `createSingleServer` sub-job.
fn ansible_created_server_id(job: &Value) -> String {
    let status = job["status"].as_str().unwrap_or_default();
    assert!(status == "SUCCESS", "Ansible fails at once on {status}");
    job["entities"]["sub_jobs"]
        .as_array()
        .expect("sub_jobs")
        .iter()
        .find(|sub_job| sub_job["job_type"] == "createSingleServer")
        .and_then(|sub_job| sub_job["entities"]["server_id"].as_str())
        .expect("Ansible: Can't find the sub job")
        .to_owned()
}

fn ids_of(created: &Value) -> Vec<Value> {
    created["serverIds"]
        .as_array()
        .expect("serverIds")
        .iter()
        .map(|id| json!({ "id": id }))
        .collect()
}

#[tokio::test]
async fn every_job_type_satisfies_the_terraform_and_ansible_waiters() {
    let api = Api::new(LatencyProfile::Fast);
    let created = api.create("tf", 2).await;
    let Outcome::Done(job) = golangsdk_wait(&api, created["job_id"].as_str().expect("id")).await
    else {
        panic!("create failed")
    };
    let server_id = get_job_entity(&job, "server_id");
    assert!(
        created["serverIds"]
            .as_array()
            .expect("ids")
            .contains(server_id),
        "{job}"
    );
    assert!(created["serverIds"]
        .as_array()
        .expect("ids")
        .contains(&json!(ansible_created_server_id(&job))));

    let servers = ids_of(&created);
    let action = format!("/v1/{PROJECT}/cloudservers/action");
    for body in [
        json!({ "os-stop": { "servers": servers, "type": "SOFT" } }),
        json!({ "os-start": { "servers": servers } }),
        json!({ "reboot": { "servers": servers, "type": "HARD" } }),
    ] {
        let (status, accepted) = api.post(&action, &body).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        let outcome = golangsdk_wait(&api, accepted["job_id"].as_str().expect("id")).await;
        let Outcome::Done(job) = outcome else {
            panic!("{body}: {outcome:?}")
        };
        assert!(get_job_entity(&job, "server_id").is_string(), "{job}");
    }

    let (status, deleted) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/delete"),
            &json!({ "servers": servers }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    let Outcome::Done(job) = golangsdk_wait(&api, deleted["job_id"].as_str().expect("id")).await
    else {
        panic!("delete failed")
    };
    assert!(get_job_entity(&job, "server_id").is_string());
    // The provider then polls the server until 404 or DELETED: the first read already is 404.
    for server in &servers {
        let (status, body) = api
            .get(&format!(
                "/v1/{PROJECT}/cloudservers/{}",
                server["id"].as_str().expect("id")
            ))
            .await;
        assert!(
            status == StatusCode::NOT_FOUND || body["server"]["status"] == "DELETED",
            "{body}"
        );
    }
}

/// Fails every create at its third step.
#[derive(Debug)]
struct FailCreates;

impl FaultInjector for FailCreates {
    fn fault(&self, _task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        (step == 2).then(|| InjectedFault {
            code: None,
            reason: "injected: the simulated host ran out of capacity".to_owned(),
        })
    }
}

#[tokio::test]
async fn a_failed_job_gives_every_client_what_it_reads_on_failure() {
    let faults: Arc<dyn FaultInjector> = Arc::new(FailCreates);
    let api = Api::over(
        Harness::with_faults(config(LatencyProfile::Fast), Some(faults)),
        api::DEFAULT_MAX_BODY_BYTES,
    );
    let created = api.create("doomed", 1).await;
    let Outcome::Failed(job) = golangsdk_wait(&api, created["job_id"].as_str().expect("id")).await
    else {
        panic!("the create should fail")
    };
    assert_eq!(job["error_code"], "Ecs.0204", "{job}");
    assert!(
        job["fail_reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("capacity")),
        "{job}"
    );
    assert!(
        get_job_entity(&job, "server_id").is_string(),
        "sub_jobs[0] exists on FAIL too: {job}"
    );
    let sub_job = &job["entities"]["sub_jobs"][0];
    assert_eq!(
        (sub_job["status"].as_str(), sub_job["error_code"].as_str()),
        (Some("FAIL"), Some("Ecs.0204"))
    );
    assert!(
        sub_job["entities"]["errorcode_message"].is_string(),
        "{job}"
    );

    // The provider's view of the failed server: ERROR with fault.code and fault.message.
    let (status, body) = api
        .get(&format!(
            "/v1/{PROJECT}/cloudservers/{}",
            created["serverIds"][0].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let server = &body["server"];
    assert_eq!(server["status"], "ERROR");
    assert!(
        server["fault"]["code"].is_i64() && server["fault"]["message"].is_string(),
        "{server}"
    );
}

#[tokio::test]
async fn create_bodies_as_the_clients_send_them_are_accepted() {
    let api = Api::new(LatencyProfile::Instant);
    // Ansible sends json.dumps output, the Node SDK compact JSON; both are JSON, key order varies.
    let mut body = create_body("ansible", 1);
    body["server"]["root_volume"] = json!({ "volumetype": "SSD", "size": 40 });
    body["server"]["metadata"] = json!({ "hostname": "ansible" });
    body["server"]["extendparam"] = json!({ "chargingMode": 0, "regionID": "eu-de" });
    body["server"]["isAutoRename"] = json!(false);
    let (status, answer) = api
        .post(&format!("/v1/{PROJECT}/cloudservers"), &body)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "unknown create fields are ignored: {answer}"
    );
}

/// The jobs on one server, through the same waiters: golangsdk's status rule for all, its
/// `GetJobEntity("nic_id")` for the NIC jobs (terraform's interface attach reads
/// `sub_jobs[0].entities.nic_id`), and `entities.server_id` for the single-target jobs.
#[tokio::test]
async fn every_server_job_type_satisfies_the_waiters() {
    let api = Api::new(LatencyProfile::Fast);
    let created = api.create("tf-ops", 1).await;
    let Outcome::Done(_) = golangsdk_wait(&api, created["job_id"].as_str().expect("id")).await
    else {
        panic!("create failed")
    };
    let id = created["serverIds"][0].as_str().expect("id").to_owned();
    let server = |tail: &str| format!("/v1/{PROJECT}/cloudservers/{id}/{tail}");
    let v2 = |tail: &str| format!("/v2/{PROJECT}/cloudservers/{id}/{tail}");
    let volume = "a26887c6-c47b-4654-abb5-dfadf7d3f803";

    // Disks and NICs on the running server (Ansible's update path), then the stopped-only jobs.
    let (status, accepted) = api
        .post(
            &server("nics"),
            &json!({ "nics": [{ "subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33", "ip_address": "192.168.9.9" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let Outcome::Done(job) = golangsdk_wait(&api, accepted["job_id"].as_str().expect("id")).await
    else {
        panic!("add NICs failed")
    };
    let nic_id = get_job_entity(&job, "nic_id").clone();
    assert!(nic_id.is_string(), "{job}");
    let (status, accepted) = api
        .post(
            &server("nics/delete"),
            &json!({ "nics": [{ "id": nic_id }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let Outcome::Done(job) = golangsdk_wait(&api, accepted["job_id"].as_str().expect("id")).await
    else {
        panic!("delete NICs failed")
    };
    assert_eq!(get_job_entity(&job, "nic_id"), &nic_id);

    let single_target = [
        (
            server("attachvolume"),
            json!({ "volumeAttachment": { "volumeId": volume } }),
            "attachVolume",
        ),
        (
            format!("/v1/{PROJECT}/cloudservers/action"),
            json!({ "os-stop": { "servers": [{ "id": id }] } }),
            "batchStopServers",
        ),
        (
            server("resize"),
            json!({ "resize": { "flavorRef": "s3.medium.2" } }),
            "resizeServer",
        ),
        (
            server("migrate"),
            json!({ "migrate": null }),
            "migrateServer",
        ),
        (
            v2("reinstallos"),
            json!({ "os-reinstall": { "adminpass": "Passw0rd!" } }),
            "reInitOs",
        ),
        (
            v2("changeos"),
            json!({ "os-change": { "imageid": "7d2c9a41-0c5e-4b8e-9f3a-1b2c3d4e5f60" } }),
            "changeOS",
        ),
    ];
    for (path, body, job_type) in single_target {
        let (status, accepted) = api.post(&path, &body).await;
        assert_eq!(status, StatusCode::OK, "{job_type}: {accepted}");
        let outcome = golangsdk_wait(&api, accepted["job_id"].as_str().expect("id")).await;
        let Outcome::Done(job) = outcome else {
            panic!("{job_type}: {outcome:?}")
        };
        assert_eq!(job["job_type"], job_type);
        if job["entities"].get("sub_jobs").is_none() {
            assert_eq!(job["entities"]["server_id"], id.as_str(), "{job}");
        }
    }
    let (status, accepted) = api
        .send(
            axum::http::Method::DELETE,
            &server(&format!("detachvolume/{volume}")),
            None,
            "",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let Outcome::Done(job) = golangsdk_wait(&api, accepted["job_id"].as_str().expect("id")).await
    else {
        panic!("detach failed")
    };
    assert_eq!(
        (
            job["job_type"].as_str(),
            job["entities"]["server_id"].as_str()
        ),
        (Some("detachVolume"), Some(id.as_str()))
    );
}

/// Fails the second step of every NIC addition.
#[derive(Debug)]
struct FailNics;

impl FaultInjector for FailNics {
    fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        (task.operation.nic_id().is_some() && step == 1).then(|| InjectedFault {
            code: None,
            reason: "injected: the port could not be bound".to_owned(),
        })
    }
}

#[tokio::test]
async fn a_failed_nic_job_still_has_the_sub_job_terraform_indexes() {
    let faults: Arc<dyn FaultInjector> = Arc::new(FailNics);
    let api = Api::over(
        Harness::with_faults(config(LatencyProfile::Fast), Some(faults)),
        api::DEFAULT_MAX_BODY_BYTES,
    );
    let created = api.create("tf-nic", 1).await;
    golangsdk_wait(&api, created["job_id"].as_str().expect("id")).await;
    let id = created["serverIds"][0].as_str().expect("id");
    let (status, accepted) = api
        .post(
            &format!("/v1/{PROJECT}/cloudservers/{id}/nics"),
            &json!({ "nics": [{ "subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33" }] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    let Outcome::Failed(job) = golangsdk_wait(&api, accepted["job_id"].as_str().expect("id")).await
    else {
        panic!("the NIC job should fail")
    };
    assert_eq!(job["error_code"], "Ecs.0217", "{job}");
    assert!(get_job_entity(&job, "nic_id").is_string(), "{job}");
    assert!(job["entities"]["sub_jobs"][0]["entities"]["errorcode_message"].is_string());
}
