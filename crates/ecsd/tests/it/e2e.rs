//! The real `ecsd` binary, started as a user would, driven over HTTP on 127.0.0.1.
//! Polls have deadlines; nothing here asserts on timing.

use crate::support::{create_body, PROJECT};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Ecsd {
    child: Child,
    /// `http://host:port`
    endpoint: String,
    base: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Ecsd {
    /// Starts `ecsd serve` on a free port over `dir/ecsd.db`, and waits for its banner.
    fn start(dir: &Path, latency: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecsd"))
            .args(["serve", "--listen", "127.0.0.1:0", "--latency", latency])
            .arg("--database")
            .arg(format!("sqlite://{}", dir.join("ecsd.db").display()))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ecsd starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address_sender, address_receiver) = std::sync::mpsc::channel();
        let log_writer = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = address_sender.send(rest.trim().to_owned());
                }
                log_writer.lock().expect("log").push(line);
            }
        });
        let address = address_receiver
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("ecsd did not start: {:?}", log.lock().expect("log")));
        Self {
            child,
            endpoint: format!("http://{address}"),
            base: format!("http://{address}/v1/{PROJECT}"),
            log,
        }
    }

    fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ecsd did not stop on SIGTERM: {:?}",
                self.log.lock().expect("log")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn get(&self, path: &str) -> (u16, Value) {
        answer(ureq::get(&format!("{}{path}", self.base)).call())
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(
            ureq::post(&format!("{}{path}", self.base))
                .set("Content-Type", "application/json;charset=utf-8")
                .send_string(&body.to_string()),
        )
    }

    /// Polls a job until SUCCESS or FAIL, or panics at the deadline.
    fn wait_job(&self, job_id: &str, deadline: Instant) -> Value {
        loop {
            let (status, job) = self.get(&format!("/jobs/{job_id}"));
            assert_eq!(status, 200, "{job}");
            if job["status"] == "SUCCESS" || job["status"] == "FAIL" {
                return job;
            }
            assert!(Instant::now() < deadline, "job {job_id} stuck: {job}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Ecsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    let response = match result {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("transport error: {error}"),
    };
    let status = response.status();
    assert!(response
        .header("x-request-id")
        .is_some_and(|id| !id.is_empty()));
    let text = response.into_string().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")),
    )
}

#[test]
fn the_binary_serves_a_full_lifecycle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start(dir.path(), "fast");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (status, created) = ecsd.post("/cloudservers", &create_body("life", 2));
    assert_eq!(status, 200, "{created}");
    let job = ecsd.wait_job(created["job_id"].as_str().expect("id"), deadline);
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let servers: Vec<Value> = created["serverIds"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|id| json!({ "id": id }))
        .collect();
    for action in [
        json!({ "os-stop": { "servers": servers } }),
        json!({ "os-start": { "servers": servers } }),
        json!({ "reboot": { "servers": servers, "type": "SOFT" } }),
    ] {
        let (status, accepted) = ecsd.post("/cloudservers/action", &action);
        assert_eq!(status, 200, "{accepted}");
        assert_eq!(
            ecsd.wait_job(accepted["job_id"].as_str().expect("id"), deadline)["status"],
            "SUCCESS"
        );
    }
    let (status, deleted) = ecsd.post("/cloudservers/delete", &json!({ "servers": servers }));
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        ecsd.wait_job(deleted["job_id"].as_str().expect("id"), deadline)["status"],
        "SUCCESS"
    );
    let (status, gone) = ecsd.get(&format!(
        "/cloudservers/{}",
        servers[0]["id"].as_str().expect("id")
    ));
    assert_eq!(
        (status, gone["error"]["code"].as_str()),
        (404, Some("Ecs.0114"))
    );
}

/// A create job the server answered: (server name, job id, server ids).
type Acknowledged = (String, String, Vec<String>);

/// Start, submit jobs from a client that keeps going, `kill -9` mid-flight, start again: every
/// acknowledged job reaches a terminal state, and every acknowledged server exists exactly once.
/// The crashed run uses the realistic profile, so every acknowledged job is unfinished at the
/// kill (a realistic create takes tens of seconds); the restart uses instant to finish them.
#[test]
fn acknowledged_jobs_survive_kill_9_and_no_server_is_created_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start(dir.path(), "realistic");
    let base = ecsd.base.clone();
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::new(Mutex::new(Vec::new()));
    let submitter = {
        let acknowledged = acknowledged.clone();
        std::thread::spawn(move || {
            for index in 0.. {
                let name = format!("crash{index}");
                let result = ureq::post(&format!("{base}/cloudservers"))
                    .set("Content-Type", "application/json")
                    .send_string(&create_body(&name, 3).to_string());
                let Ok(response) = result else { return };
                let Ok(body) = response.into_json::<Value>() else {
                    return;
                };
                let ids = body["serverIds"]
                    .as_array()
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|id| id.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                let job_id = body["job_id"].as_str().unwrap_or_default().to_owned();
                acknowledged.lock().expect("lock").push((name, job_id, ids));
            }
        })
    };
    // Let some jobs be acknowledged and start running, then pull the plug mid-stream.
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().expect("lock").len() < 40 {
        assert!(Instant::now() < deadline, "the submitter made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let first_job = acknowledged.lock().expect("lock")[0].1.clone();
    let (_, before) = ecsd.get(&format!("/jobs/{first_job}"));
    assert!(
        before["status"] == "INIT" || before["status"] == "RUNNING",
        "mid-flight: {before}"
    );
    ecsd.kill_hard();
    submitter
        .join()
        .expect("submitter stops when the server dies");
    let acknowledged = acknowledged.lock().expect("lock").clone();

    let ecsd = Ecsd::start(dir.path(), "instant");
    let (_, first) = ecsd.get(&format!("/jobs/{first_job}"));
    assert_eq!(
        first["job_id"],
        first_job.as_str(),
        "the first acknowledged job is still there"
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    for (name, job_id, server_ids) in &acknowledged {
        let job = ecsd.wait_job(job_id, deadline);
        assert_eq!(job["status"], "SUCCESS", "{job}");
        let (_, list) = ecsd.get(&format!("/cloudservers/detail?name={name}-&limit=100"));
        let mut listed: Vec<String> = list["servers"]
            .as_array()
            .expect("servers")
            .iter()
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect();
        listed.sort();
        let mut expected = server_ids.clone();
        expected.sort();
        assert_eq!(
            listed, expected,
            "{name}: exactly its acknowledged servers, once each"
        );
    }
}

#[test]
fn sigterm_stops_gracefully_and_unfinished_jobs_resume() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start(dir.path(), "realistic");
    let (status, created) = ecsd.post("/cloudservers", &create_body("slow", 1));
    assert_eq!(status, 200);
    let job_id = created["job_id"].as_str().expect("id").to_owned();
    let exit = ecsd.terminate();
    assert!(exit.success(), "exit status {exit:?}");
    drop(ecsd);

    // The job was far from done (realistic creates take tens of seconds); it resumes, and
    // finishes once the profile lets it.
    let ecsd = Ecsd::start(dir.path(), "instant");
    let job = ecsd.wait_job(&job_id, Instant::now() + Duration::from_secs(120));
    assert_eq!(job["status"], "SUCCESS", "{job}");
}

/// `ecsd call` as a user runs it: the default account, `{project_id}` substituted.
fn ecsd_call(endpoint: &str, args: &[&str]) -> (Option<i32>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_ecsd"))
        .arg("call")
        .args(args)
        .args(["--endpoint", endpoint])
        .env_remove("ECSD_ACCESS_KEY")
        .env_remove("ECSD_SECRET_KEY")
        .env_remove("ECSD_PROJECT_ID")
        .output()
        .expect("ecsd call runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code(), json)
}

#[test]
fn ecsd_call_signs_sends_and_waits_for_the_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start(dir.path(), "fast");
    let body = dir.path().join("body.json");
    std::fs::write(&body, create_body("called", 2).to_string()).expect("body written");
    let data = format!("@{}", body.display());
    let (code, job) = ecsd_call(
        &ecsd.endpoint,
        &[
            "POST",
            "/v1/{project_id}/cloudservers",
            "--data",
            &data,
            "--wait",
        ],
    );
    assert_eq!(code, Some(0), "{job}");
    assert_eq!(
        (job["status"].as_str(), job["job_type"].as_str()),
        (Some("SUCCESS"), Some("createServer")),
        "{job}"
    );
    assert_eq!(job["entities"]["sub_jobs_total"], 2);

    let (code, answer) = ecsd_call(&ecsd.endpoint, &["GET", "/v1/{project_id}/jobs/not-a-job"]);
    assert_eq!(
        (code, answer["error"]["code"].as_str()),
        (Some(1), Some("Common.0011")),
        "{answer}"
    );

    let (code, _) = ecsd_call(
        "http://127.0.0.1:1",
        &["GET", "/v1/{project_id}/cloudservers/detail"],
    );
    assert_eq!(code, Some(2), "an unreachable ecsd is exit status 2");
}
