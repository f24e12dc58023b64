//! The real `ecsd` binary, started as a user would, driven over HTTP on 127.0.0.1.
//! Polls have deadlines; nothing here asserts on timing.

use crate::support::{create_body, PROJECT};
use ecsd::call::{Answer, Client};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Ecsd {
    child: Child,
    /// `http://host:port`
    pub(crate) endpoint: String,
    /// `/v1/{project_id}`
    pub(crate) base: String,
    pub(crate) log: Arc<Mutex<Vec<String>>>,
}

/// A client signing as the local account with the documented default keys.
pub(crate) fn client(endpoint: &str) -> Client {
    Client::new(
        endpoint,
        ecsd::AccountArgs {
            access_key: ecsd::DEFAULT_ACCESS_KEY.into(),
            secret_key: ecsd::DEFAULT_SECRET_KEY.into(),
            project_id: PROJECT.into(),
        },
    )
    .expect("a valid endpoint")
}

impl Ecsd {
    /// Starts `ecsd serve` on a free port over `dir/ecsd.db`, and waits for its banner.
    fn start(dir: &Path, latency: &str) -> Self {
        Self::start_with(dir, latency, &[])
    }

    /// [`Ecsd::start`] with more arguments, and none of the `ECSD_*` account variables of the
    /// caller's environment.
    pub(crate) fn start_with(dir: &Path, latency: &str, args: &[&str]) -> Self {
        let mut child = crate::support::ecsd_command()
            .args(["serve", "--listen", "127.0.0.1:0", "--latency", latency])
            .arg("--database")
            .arg(format!("sqlite://{}", dir.join("ecsd.db").display()))
            .args(args)
            .env("RUST_LOG", "warn")
            .env_remove("ECSD_ACCESS_KEY")
            .env_remove("ECSD_SECRET_KEY")
            .env_remove("ECSD_PROJECT_ID")
            .env_remove("ECSD_PASSWORD")
            .env_remove("ECSD_CONFIG")
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
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let address = rest.trim().trim_start_matches("https://");
                    let _ = address_sender.send(address.trim_start_matches("http://").to_owned());
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
            base: format!("/v1/{PROJECT}"),
            log,
        }
    }

    pub(crate) fn kill_hard(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        crate::support::terminate(&self.child);
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

    pub(crate) fn get(&self, path: &str) -> (u16, Value) {
        answer(client(&self.endpoint).send("GET", &format!("{}{path}", self.base), b""))
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        answer(client(&self.endpoint).send(
            "POST",
            &format!("{}{path}", self.base),
            body.to_string().as_bytes(),
        ))
    }

    /// Polls a job until SUCCESS or FAIL, or panics at the deadline.
    pub(crate) fn wait_job(&self, job_id: &str, deadline: Instant) -> Value {
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

impl Ecsd {
    /// Waits at most `timeout` for the process to end on its own (a crash point's abort).
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("waits") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Ecsd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn answer(result: anyhow::Result<Answer>) -> (u16, Value) {
    let response = result.unwrap_or_else(|error| panic!("transport error: {error:#}"));
    let status = response.status;
    assert!(response.request_id.is_some_and(|id| !id.is_empty()));
    let text = response.body;
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
    // Paused, the engine writes no task's end: every acknowledged job is still under way when
    // the plug is pulled, however long the submitter takes (the schedule is decided at
    // acceptance, so a restart under the same profile finishes them at once).
    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &["--engine-paused"]);
    let path = format!("{}/cloudservers", ecsd.base);
    let client = client(&ecsd.endpoint);
    let acknowledged: Arc<Mutex<Vec<Acknowledged>>> = Arc::new(Mutex::new(Vec::new()));
    let submitter = {
        let acknowledged = acknowledged.clone();
        std::thread::spawn(move || {
            for index in 0.. {
                let name = format!("crash{index}");
                let body = create_body(&name, 3).to_string();
                let Ok(response) = client.send("POST", &path, body.as_bytes()) else {
                    return;
                };
                if response.status != 200 {
                    // Not acknowledged (e.g. rate-limited): nothing to check for it.
                    continue;
                }
                let Ok(body) = serde_json::from_str::<Value>(&response.body) else {
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

    let ecsd = Ecsd::start(dir.path(), "fast");
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

/// The NICs a server shows.
fn nic_count(ecsd: &Ecsd, server_id: &str) -> usize {
    let (status, server) = ecsd.get(&format!("/cloudservers/{server_id}"));
    assert_eq!(status, 200, "{server}");
    server["server"]["addresses"]
        .as_object()
        .map_or(0, |networks| {
            networks
                .values()
                .filter_map(Value::as_array)
                .map(Vec::len)
                .sum()
        })
}

/// A task's end falls due while nothing writes it (the engine paused, as if the process were
/// stuck just before the write), the process is killed with SIGKILL, and a start under the same
/// profile writes the end: the job succeeds and its effect (one NIC more) happens exactly once,
/// also across a further restart.
#[test]
fn a_kill_between_a_due_end_and_its_write_finishes_the_job_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let deadline = Instant::now() + Duration::from_secs(60);
    let ecsd = Ecsd::start(dir.path(), "fast");
    let (status, created) = ecsd.post("/cloudservers", &create_body("nics", 1));
    assert_eq!(status, 200, "{created}");
    let job = ecsd.wait_job(created["job_id"].as_str().expect("id"), deadline);
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let server_id = created["serverIds"][0].as_str().expect("id").to_owned();
    let before = nic_count(&ecsd, &server_id);
    drop(ecsd);

    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &["--engine-paused"]);
    let (status, accepted) = ecsd.post(
        &format!("/cloudservers/{server_id}/nics"),
        &json!({ "nics": [{ "subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33" }] }),
    );
    assert_eq!(status, 200, "{accepted}");
    let job_id = accepted["job_id"].as_str().expect("id").to_owned();
    // The fast profile ends an add-NIC 0.42 s after acceptance; wait well past it.
    std::thread::sleep(Duration::from_millis(1_500));
    let (_, past_due) = ecsd.get(&format!("/jobs/{job_id}"));
    assert_eq!(
        past_due["status"], "RUNNING",
        "past its due end, unwritten: still running, never SUCCESS: {past_due}"
    );
    assert_eq!(
        nic_count(&ecsd, &server_id),
        before,
        "no effect before the end is written"
    );
    ecsd.kill_hard();

    let mut ecsd = Ecsd::start(dir.path(), "fast");
    let job = ecsd.wait_job(&job_id, Instant::now() + Duration::from_secs(60));
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(nic_count(&ecsd, &server_id), before + 1);
    ecsd.kill_hard();
    let ecsd = Ecsd::start(dir.path(), "fast");
    assert_eq!(
        nic_count(&ecsd, &server_id),
        before + 1,
        "the end is written once"
    );
    let (_, job) = ecsd.get(&format!("/jobs/{job_id}"));
    assert_eq!(job["status"], "SUCCESS", "{job}");
}

#[test]
fn sigterm_stops_gracefully_and_unfinished_jobs_resume() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &["--engine-paused"]);
    let (status, created) = ecsd.post("/cloudservers", &create_body("slow", 1));
    assert_eq!(status, 200);
    let job_id = created["job_id"].as_str().expect("id").to_owned();
    let exit = ecsd.terminate();
    assert!(exit.success(), "exit status {exit:?}");
    drop(ecsd);

    // The job was not done (the paused engine wrote no end); it resumes under the same
    // profile, and its end, already due, is written at once.
    let ecsd = Ecsd::start(dir.path(), "fast");
    let job = ecsd.wait_job(&job_id, Instant::now() + Duration::from_secs(120));
    assert_eq!(job["status"], "SUCCESS", "{job}");
}

/// `ecsd call` as a user runs it: the default account, `{project_id}` substituted.
fn ecsd_call(endpoint: &str, args: &[&str]) -> (Option<i32>, Value) {
    let output = crate::support::ecsd_command()
        .arg("call")
        .args(args)
        .args(["--endpoint", endpoint])
        .env_remove("ECSD_ACCESS_KEY")
        .env_remove("ECSD_SECRET_KEY")
        .env_remove("ECSD_PROJECT_ID")
        .output()
        .expect("ecsd call runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // With --wait the first answer comes first: the last document is the job.
    let json = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .map_while(Result::ok)
        .last()
        .unwrap_or(Value::Null);
    (output.status.code(), json)
}

/// `ecsd call --print-headers` signs without sending; a load generator replays the headers:
/// the same signed create is accepted twice (a signature is valid for its 15-minute window),
/// and a path read from a file gets its own line and signature.
#[test]
fn ecsd_call_prints_signed_headers_a_load_generator_can_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start(dir.path(), "fast");
    let body = create_body("replayed", 1).to_string();
    let body_file = dir.path().join("body.json");
    std::fs::write(&body_file, &body).expect("body written");
    let paths = dir.path().join("paths.txt");
    std::fs::write(&paths, "/v1/{project_id}/cloudservers\n").expect("paths written");
    let output = crate::support::ecsd_command()
        .args([
            "call",
            "POST",
            &format!("@{}", paths.display()),
            "--print-headers",
        ])
        .args(["--data", &format!("@{}", body_file.display())])
        .args(["--endpoint", &ecsd.endpoint])
        .env_remove("ECSD_ACCESS_KEY")
        .env_remove("ECSD_SECRET_KEY")
        .env_remove("ECSD_PROJECT_ID")
        .output()
        .expect("ecsd call runs");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).expect("text");
    let line = stdout.lines().next().expect("one line");
    assert_eq!(stdout.lines().count(), 1);
    let mut fields = line.split('\t');
    let path = fields.next().expect("the path");
    assert_eq!(path, format!("{}/cloudservers", ecsd.base));
    let headers: Vec<(&str, &str)> = fields
        .map(|field| field.split_once(": ").expect("name: value"))
        .collect();
    assert!(headers.iter().any(|(name, _)| *name == "authorization"));
    for _ in 0..2 {
        let mut request = ureq::post(&format!("{}{path}", ecsd.endpoint));
        for (name, value) in &headers {
            if *name != "host" {
                request = request.set(name, value);
            }
        }
        let response = request.send_string(&body).expect("accepted");
        assert_eq!(response.status(), 200);
    }
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

/// The accounts file as README documents it: a team's keys work on the team's project, and
/// only there.
#[test]
fn accounts_from_the_config_file_sign_for_their_own_projects() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ecsd, team) = serve_as_team(
        dir.path(),
        r#"
[[accounts]]
access_key = "TEAMAACCESSKEY000001"
secret_key = "team-a-secret-key-0000000000000000000001"
domain = "team-a"

[[accounts.users]]
name = "alice"
password = "alice-password"

[[accounts.projects]]
id = "a0000000000000000000000000000001"
name = "eu-de_team-a"
region = "eu-de"
"#,
        ecsd::AccountArgs {
            access_key: "TEAMAACCESSKEY000001".into(),
            secret_key: "team-a-secret-key-0000000000000000000001".into(),
            project_id: "a0000000000000000000000000000001".into(),
        },
    );
    let body = create_body("team", 1).to_string();
    let created = team
        .send(
            "POST",
            "/v1/a0000000000000000000000000000001/cloudservers",
            body.as_bytes(),
        )
        .expect("answer");
    assert_eq!(created.status, 200, "{}", created.body);
    let (status, list) = answer(team.send(
        "GET",
        "/v1/a0000000000000000000000000000001/cloudservers/detail",
        b"",
    ));
    assert_eq!((status, list["count"].as_u64()), (200, Some(1)), "{list}");
    // The team's keys on the local account's project; the local account still works beside.
    let (status, refused) =
        answer(team.send("GET", &format!("/v1/{PROJECT}/cloudservers/detail"), b""));
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("Common.0018")),
        "{refused}"
    );
    let (status, local) = ecsd.get("/cloudservers/detail");
    assert_eq!((status, local["count"].as_u64()), (200, Some(0)), "{local}");
}

/// ecsd serving `config` (TOML, written into `dir`) on the instant profile, and a client that
/// signs as `team`, one of its accounts.
fn serve_as_team(dir: &std::path::Path, config: &str, team: ecsd::AccountArgs) -> (Ecsd, Client) {
    let path = dir.join("ecsd.toml");
    std::fs::write(&path, config).expect("config written");
    let path = path.display().to_string();
    let ecsd = Ecsd::start_with(dir, "instant", &["--config", &path]);
    let client = Client::new(&ecsd.endpoint, team).expect("client");
    (ecsd, client)
}

/// `[accounts.projects.quotas]` reaches the engine `ecsd serve` builds (its quota source): the
/// limits page shows the quota, and a create past it is refused with `Ecs.0001` and creates
/// nothing. No handler passes quotas, so this fails if `serve` does not give the source.
#[test]
fn the_config_files_quotas_are_enforced_by_the_served_engine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = "a0000000000000000000000000000002";
    // `_ecsd`, not `_`: the server must live until the end of the test.
    let (_ecsd, team) = serve_as_team(
        dir.path(),
        &format!(
            r#"
[[accounts]]
access_key = "TEAMBACCESSKEY000001"
secret_key = "team-b-secret-key-0000000000000000000001"
domain = "team-b"

[[accounts.users]]
name = "bob"
password = "bob-password-0001"

[[accounts.projects]]
id = "{project}"
name = "eu-de_team-b"
region = "eu-de"

[accounts.projects.quotas]
instances = 1
"#
        ),
        ecsd::AccountArgs {
            access_key: "TEAMBACCESSKEY000001".into(),
            secret_key: "team-b-secret-key-0000000000000000000001".into(),
            project_id: project.into(),
        },
    );
    let (status, limits) =
        answer(team.send("GET", &format!("/v1/{project}/cloudservers/limits"), b""));
    assert_eq!(
        (status, limits["absolute"]["maxTotalInstances"].as_i64()),
        (200, Some(1)),
        "{limits}"
    );
    let create = |name: &str| {
        let body = create_body(name, 1).to_string();
        answer(team.send(
            "POST",
            &format!("/v1/{project}/cloudservers"),
            body.as_bytes(),
        ))
    };
    let (status, created) = create("first");
    assert_eq!(status, 200, "{created}");
    let (status, refused) = create("second");
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (400, Some("Ecs.0001")),
        "{refused}"
    );
    let (status, list) =
        answer(team.send("GET", &format!("/v1/{project}/cloudservers/detail"), b""));
    assert_eq!((status, list["count"].as_u64()), (200, Some(1)), "{list}");
}

/// `--region` chooses the local project's catalogue; a `[[regions]]` table replaces a
/// region's; a region ecsd does not know stops `serve` with a message that says what to add.
#[test]
fn the_projects_region_chooses_its_flavors_and_must_be_known() {
    let (code, stderr) = serve_refusal(&["--listen", "127.0.0.1:0", "--region", "mars-1"]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("\"mars-1\"") && stderr.contains("[[regions]]"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--region", "cn-north-4"]);
    let (status, flavors) = ecsd.get("/cloudservers/flavors");
    let ids: Vec<&str> = flavors["flavors"]
        .as_array()
        .expect("flavors")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!((status, ids.len()), (200, 127), "{flavors}");
    assert!(ids.contains(&"s3.small.1") && !ids.contains(&"s3.medium.1"));
    drop(ecsd);

    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("one.json"),
        r#"{"flavors": [{"id": "k1.large.2", "name": "k1.large.2", "vcpus": "2", "ram": 4096}]}"#,
    )
    .expect("catalogue written");
    let config = dir.path().join("ecsd.toml");
    std::fs::write(
        &config,
        "[[regions]]\nname = \"cn-north-4\"\nzones = [\"cn-north-4z\"]\nflavors = \"one.json\"\n",
    )
    .expect("config written");
    let config = config.display().to_string();
    let ecsd = Ecsd::start_with(
        dir.path(),
        "instant",
        &["--region", "cn-north-4", "--config", &config],
    );
    let (_, flavors) = ecsd.get("/cloudservers/flavors?availability_zone=cn-north-4z");
    assert_eq!(flavors["flavors"][0]["id"], "k1.large.2", "{flavors}");
    assert_eq!(flavors["flavors"].as_array().map(Vec::len), Some(1));
}

/// What `ecsd serve` prints and its exit status when it refuses to start.
fn serve_refusal(args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = crate::support::ecsd_command()
        .arg("serve")
        .args(args)
        .arg("--database")
        .arg(format!("sqlite://{}", dir.path().join("ecsd.db").display()))
        .env_remove("ECSD_SECRET_KEY")
        .env_remove("ECSD_PASSWORD")
        .env_remove("ECSD_AUTH")
        .env_remove("ECSD_ALLOW_DEFAULT_CREDENTIALS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ecsd runs");
    // A refusal is immediate; a start that got past the checks would serve until stopped, so
    // the wait is bounded and such a process is killed (and the test fails on its status).
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("waits").is_none() {
        if Instant::now() >= deadline {
            child.kill().expect("SIGKILL");
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("reaped");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// 192.0.2.1 (TEST-NET-1) is not loopback and not an address of this machine, so nothing is
/// ever served to a network here: a start that passes the check fails to bind instead.
#[test]
fn default_credentials_or_no_auth_are_refused_off_loopback() {
    const ADMIN: [&str; 2] = ["--admin-token", "a-long-admin-token"];
    let (code, stderr) = serve_refusal(&["--listen", "192.0.2.1:0", ADMIN[0], ADMIN[1]]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("documented default credentials")
            && stderr.contains("--allow-default-credentials"),
        "{stderr}"
    );
    let (code, stderr) = serve_refusal(&[
        "--listen",
        "192.0.2.1:0",
        "--auth",
        "off",
        ADMIN[0],
        ADMIN[1],
    ]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("--auth off"), "{stderr}");
    // The admin API needs its own token off loopback, whatever the tenant credentials.
    let (code, stderr) = serve_refusal(&["--listen", "192.0.2.1:0", "--allow-default-credentials"]);
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("without an admin token") && stderr.contains("ECSD_ADMIN_TOKEN"),
        "{stderr}"
    );
    // Told explicitly, the checks pass; then binding the foreign address fails.
    let (code, stderr) = serve_refusal(&[
        "--listen",
        "192.0.2.1:0",
        "--allow-default-credentials",
        ADMIN[0],
        ADMIN[1],
    ]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("cannot listen on 192.0.2.1:0"), "{stderr}");
}
