//! Crash points (issue 15): the real binary aborted at a named point of the write path
//! (`--crash-at POINT[:N]`, `engine::crash`), then started again on the same file **under the
//! same latency profile**. Each test checks that the crash happened there (SIGABRT and the
//! point's line on stderr: a point never reached would make the test vacuous), that every
//! acknowledged job ends, that every effect happened exactly once (servers by name, one sub-job
//! per server, a deleted server gone), and that nothing unacknowledged appeared.
//!
//! Every wait is bounded; nothing asserts on timing. `instant` runs where the profile does not
//! matter; the task-end points run `fast`, where a job's tasks end at different moments, so
//! the first, middle and last end of a job land in commits of their own.

use crate::e2e::{client, Ecsd};
use crate::support::{create_body, error_code, PROJECT};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

const SIGABRT: i32 = 6;

/// How long any one wait may take (a job to end, the process to abort).
const WAIT: Duration = Duration::from_secs(60);

/// Starts ecsd on `dir` under `latency`, armed to crash at `point` (`POINT[:N]`).
fn armed(dir: &Path, latency: &str, point: &str, extra: &[&str]) -> Ecsd {
    let mut args = vec!["--crash-at", point];
    args.extend_from_slice(extra);
    Ecsd::start_with(dir, latency, &args)
}

/// Waits for the process to abort and checks that it did so at `point`.
fn assert_crashed_at(ecsd: &mut Ecsd, point: &str) {
    let status = ecsd
        .wait_exit(WAIT)
        .unwrap_or_else(|| panic!("ecsd did not reach {point}"));
    assert_eq!(status.signal(), Some(SIGABRT), "aborted: {status:?}");
    let name = point.split(':').next().unwrap_or(point);
    // The reader thread may still be copying the last line: wait for it, bounded.
    let deadline = Instant::now() + WAIT;
    loop {
        let log = ecsd.log.lock().expect("log").clone();
        if log
            .iter()
            .any(|line| line.contains(&format!("crash point {name}")))
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "crashed elsewhere than {point}: {log:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A POST whose answer may never come (the process aborts first): `None` then.
fn try_post(ecsd: &Ecsd, path: &str, body: &Value) -> Option<(u16, Value)> {
    let answer = client(&ecsd.endpoint)
        .send(
            "POST",
            &format!("{}{path}", ecsd.base),
            body.to_string().as_bytes(),
        )
        .ok()?;
    // A 204 has no body: `null` then.
    let body = if answer.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&answer.body).unwrap_or(Value::String(answer.body))
    };
    Some((answer.status, body))
}

/// The ids of the servers whose name contains `name`.
fn servers_named(ecsd: &Ecsd, name: &str) -> BTreeSet<String> {
    let (status, list) = ecsd.get(&format!("/cloudservers/detail?name={name}&limit=1000"));
    assert_eq!(status, 200, "{list}");
    list["servers"]
        .as_array()
        .expect("servers")
        .iter()
        .filter_map(|server| server["id"].as_str().map(str::to_owned))
        .collect()
}

/// A create's job ended SUCCESS with one successful sub-job per server of `server_ids`, each
/// once (a replayed end would add none: sub-jobs are the job's tasks), and each server ACTIVE.
fn assert_created_once(ecsd: &Ecsd, job: &Value, server_ids: &BTreeSet<String>) {
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let sub_jobs = job["entities"]["sub_jobs"].as_array().expect("sub_jobs");
    let ended: Vec<String> = sub_jobs
        .iter()
        .map(|sub| {
            assert_eq!(sub["status"], "SUCCESS", "{sub}");
            sub["entities"]["server_id"]
                .as_str()
                .expect("server_id")
                .to_owned()
        })
        .collect();
    assert_eq!(
        ended.len(),
        server_ids.len(),
        "one sub-job per server: {job}"
    );
    assert_eq!(
        &ended.into_iter().collect::<BTreeSet<_>>(),
        server_ids,
        "{job}"
    );
    for id in server_ids {
        let (status, server) = ecsd.get(&format!("/cloudservers/{id}"));
        assert_eq!(status, 200, "{server}");
        assert_eq!(server["server"]["status"], "ACTIVE", "{server}");
    }
}

fn job_id(answer: &Value) -> String {
    answer["job_id"].as_str().expect("job_id").to_owned()
}

fn ids(answer: &Value) -> BTreeSet<String> {
    answer["serverIds"]
        .as_array()
        .expect("serverIds")
        .iter()
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect()
}

/// Creates `count` servers named `name` and waits for them (a setup run, not crashed).
fn created(ecsd: &Ecsd, name: &str, count: u32) -> BTreeSet<String> {
    let (status, answer) = ecsd.post("/cloudservers", &create_body(name, count));
    assert_eq!(status, 200, "{answer}");
    let job = ecsd.wait_job(&job_id(&answer), Instant::now() + WAIT);
    assert_eq!(job["status"], "SUCCESS", "{job}");
    ids(&answer)
}

/// Acceptance crashed before its commit: the client got no answer, and after the restart
/// nothing of the request exists.
#[test]
fn a_crash_before_the_acceptance_commit_leaves_no_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = armed(dir.path(), "instant", "job_insert.before_commit", &[]);
    let answer = try_post(&ecsd, "/cloudservers", &create_body("unacked", 2));
    assert!(answer.is_none(), "answered before the commit: {answer:?}");
    assert_crashed_at(&mut ecsd, "job_insert.before_commit");
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    assert!(servers_named(&ecsd, "unacked").is_empty());
    // The store works on: a new create succeeds.
    created(&ecsd, "after", 1);
}

/// Acceptance crashed after its commit and before its answer: the client saw no answer, so it
/// retries with the same `X-Client-Token`; the retry names the job the crashed run committed,
/// which ends once — the servers exist once, not twice.
#[test]
fn a_crash_after_the_acceptance_commit_runs_the_job_once_and_a_retry_finds_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let body = create_body("retried", 2).to_string();
    let send = |ecsd: &Ecsd| -> Option<(u16, Value)> {
        let path = format!("{}/cloudservers", ecsd.base);
        let client = client(&ecsd.endpoint);
        let headers = client
            .signed_headers("POST", &path, body.as_bytes())
            .expect("signs");
        let mut request = ureq::post(&format!("{}{path}", ecsd.endpoint))
            .set("X-Client-Token", "crash-retry-1")
            .timeout(WAIT);
        for (name, value) in &headers {
            request = request.set(name, value);
        }
        let response = match request.send_bytes(body.as_bytes()) {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(_) => return None,
        };
        let status = response.status();
        Some((status, response.into_json().expect("JSON")))
    };
    let mut ecsd = armed(dir.path(), "instant", "job_insert.after_commit", &[]);
    let answer = send(&ecsd);
    assert!(
        answer.is_none(),
        "answered past the crash point: {answer:?}"
    );
    assert_crashed_at(&mut ecsd, "job_insert.after_commit");
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let committed = servers_named(&ecsd, "retried");
    assert_eq!(committed.len(), 2, "the committed job's servers, once");
    let (status, answer) = send(&ecsd).expect("answered");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer), committed, "the retry names the committed job");
    let job = ecsd.wait_job(&job_id(&answer), Instant::now() + WAIT);
    assert_created_once(&ecsd, &job, &committed);
    assert_eq!(
        servers_named(&ecsd, "retried"),
        committed,
        "no second create"
    );
}

/// A create of three servers crashed at the `nth` task end (`before` or `after` its commit):
/// the acknowledged job ends, each server is created and ended once.
fn crash_a_create_at_a_task_end(when: &str, nth: u32) {
    let dir = tempfile::tempdir().expect("temp dir");
    let point = format!("task_end.{when}:{nth}");
    let mut ecsd = armed(dir.path(), "fast", &point, &[]);
    let (status, answer) = ecsd.post("/cloudservers", &create_body("ends", 3));
    assert_eq!(status, 200, "acknowledged: {answer}");
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let job = ecsd.wait_job(&job_id(&answer), Instant::now() + WAIT);
    assert_created_once(&ecsd, &job, &ids(&answer));
    assert_eq!(servers_named(&ecsd, "ends"), ids(&answer));
    // Each end freed its server in its own commit: a job on all three is accepted.
    let servers: Vec<Value> = ids(&answer).iter().map(|id| json!({ "id": id })).collect();
    let (status, stop) = ecsd.post(
        "/cloudservers/action",
        &json!({ "os-stop": { "servers": servers } }),
    );
    assert_eq!(status, 200, "the servers are free: {stop}");
}

#[test]
fn a_crash_before_the_first_task_end_commit_finishes_the_create_once() {
    crash_a_create_at_a_task_end("before_commit", 1);
}

#[test]
fn a_crash_after_the_first_task_end_commit_finishes_the_create_once() {
    crash_a_create_at_a_task_end("after_commit", 1);
}

#[test]
fn a_crash_after_a_middle_task_end_commit_finishes_the_create_once() {
    crash_a_create_at_a_task_end("after_commit", 2);
}

#[test]
fn a_crash_before_the_last_task_end_commit_finishes_the_create_once() {
    crash_a_create_at_a_task_end("before_commit", 3);
}

#[test]
fn a_crash_after_the_last_task_end_commit_finishes_the_create_once() {
    crash_a_create_at_a_task_end("after_commit", 3);
}

/// A delete of two servers crashed at its first removal (`before` or `after` the commit): the
/// job ends SUCCESS, both servers are gone, and the next start finds nothing to redo.
fn crash_a_delete_at_its_removal(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let servers = created(&ecsd, "doomed", 2);
    assert!(ecsd.terminate().success());
    drop(ecsd);

    let point = format!("task_end.{when}:1");
    let mut ecsd = armed(dir.path(), "fast", &point, &[]);
    let body =
        json!({ "servers": servers.iter().map(|id| json!({ "id": id })).collect::<Vec<_>>() });
    let (status, answer) = ecsd.post("/cloudservers/delete", &body);
    assert_eq!(status, 200, "acknowledged: {answer}");
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let job = ecsd.wait_job(&job_id(&answer), Instant::now() + WAIT);
    assert_eq!(job["status"], "SUCCESS", "{job}");
    let sub_jobs = job["entities"]["sub_jobs"].as_array().expect("sub_jobs");
    assert_eq!(sub_jobs.len(), 2, "one end per server: {job}");
    for id in &servers {
        let (status, gone) = ecsd.get(&format!("/cloudservers/{id}"));
        assert_eq!((status, error_code(&gone)), (404, "Ecs.0114"), "{gone}");
    }
    assert!(servers_named(&ecsd, "doomed").is_empty());
}

#[test]
fn a_crash_before_a_deletes_removal_commit_removes_the_servers_once() {
    crash_a_delete_at_its_removal("before_commit");
}

#[test]
fn a_crash_after_a_deletes_removal_commit_removes_the_servers_once() {
    crash_a_delete_at_its_removal("after_commit");
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

/// A job on one server (add a NIC) crashed around its end's commit: the NIC is added once.
fn crash_a_server_job_at_its_end(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let server = created(&ecsd, "nics", 1)
        .into_iter()
        .next()
        .expect("a server");
    let before = nic_count(&ecsd, &server);
    assert!(ecsd.terminate().success());
    drop(ecsd);

    let point = format!("task_end.{when}:1");
    let mut ecsd = armed(dir.path(), "fast", &point, &[]);
    let (status, answer) = ecsd.post(
        &format!("/cloudservers/{server}/nics"),
        &json!({ "nics": [{ "subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33" }] }),
    );
    assert_eq!(status, 200, "acknowledged: {answer}");
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let job = ecsd.wait_job(&job_id(&answer), Instant::now() + WAIT);
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert_eq!(nic_count(&ecsd, &server), before + 1, "added once");
    // The end freed the server in the same commit: the next job on it is accepted.
    let (status, next) = ecsd.post(
        "/cloudservers/action",
        &json!({ "reboot": { "servers": [{ "id": server }], "type": "SOFT" } }),
    );
    assert_eq!(status, 200, "the server is free: {next}");
    let rebooted = ecsd.wait_job(&job_id(&next), Instant::now() + WAIT);
    assert_eq!(rebooted["status"], "SUCCESS", "{rebooted}");
    assert!(ecsd.terminate().success());
    drop(ecsd);
    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    assert_eq!(nic_count(&ecsd, &server), before + 1, "and not again");
}

#[test]
fn a_crash_before_a_server_jobs_end_commit_applies_its_effect_once() {
    crash_a_server_job_at_its_end("before_commit");
}

#[test]
fn a_crash_after_a_server_jobs_end_commit_applies_its_effect_once() {
    crash_a_server_job_at_its_end("after_commit");
}

/// A synchronous edit (tags) crashed around its commit: after the restart the tag is there
/// if and only if the commit happened, and once.
fn crash_a_tag_edit(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let server = created(&ecsd, "tagged", 1)
        .into_iter()
        .next()
        .expect("a server");
    assert!(ecsd.terminate().success());
    drop(ecsd);

    let point = format!("server_edit.{when}");
    let mut ecsd = armed(dir.path(), "instant", &point, &[]);
    let answer = try_post(
        &ecsd,
        &format!("/cloudservers/{server}/tags/action"),
        &json!({ "action": "create", "tags": [{ "key": "crash", "value": "once" }] }),
    );
    assert!(
        answer.is_none(),
        "answered past the crash point: {answer:?}"
    );
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let (status, tags) = ecsd.get(&format!("/cloudservers/{server}/tags"));
    assert_eq!(status, 200, "{tags}");
    let expected = if when == "after_commit" {
        json!([{ "key": "crash", "value": "once" }])
    } else {
        json!([])
    };
    assert_eq!(tags["tags"], expected, "{tags}");
}

#[test]
fn a_crash_before_a_synchronous_edits_commit_leaves_the_server_unchanged() {
    crash_a_tag_edit("before_commit");
}

#[test]
fn a_crash_after_a_synchronous_edits_commit_keeps_the_edit_once() {
    crash_a_tag_edit("after_commit");
}

/// A server group's creation crashed around its commit: the group exists once if committed,
/// not at all otherwise.
fn crash_a_group_write(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let point = format!("group_write.{when}");
    let mut ecsd = armed(dir.path(), "instant", &point, &[]);
    let answer = try_post(
        &ecsd,
        "/cloudservers/os-server-groups",
        &json!({ "server_group": { "name": "crashgroup", "policies": ["anti-affinity"] } }),
    );
    assert!(
        answer.is_none(),
        "answered past the crash point: {answer:?}"
    );
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let (status, groups) = ecsd.get("/cloudservers/os-server-groups");
    assert_eq!(status, 200, "{groups}");
    let named = groups["server_groups"]
        .as_array()
        .expect("server_groups")
        .iter()
        .filter(|group| group["name"] == "crashgroup")
        .count();
    assert_eq!(named, usize::from(when == "after_commit"), "{groups}");
}

#[test]
fn a_crash_before_a_group_commit_leaves_no_group() {
    crash_a_group_write("before_commit");
}

#[test]
fn a_crash_after_a_group_commit_keeps_the_group_once() {
    crash_a_group_write("after_commit");
}

/// The retention purge crashed around its commit (jobs kept 1 s, so the setup's job is past
/// retention when the next run starts and purges at once): the old job is gone from the API
/// either way, its server stays, and the store goes on accepting and ending jobs.
fn crash_a_purge(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let retention = ["--job-retention", "1s"];
    let mut ecsd = Ecsd::start_with(dir.path(), "instant", &retention);
    let (status, answer) = ecsd.post("/cloudservers", &create_body("aged", 1));
    assert_eq!(status, 200, "{answer}");
    let old_job = job_id(&answer);
    let job = ecsd.wait_job(&old_job, Instant::now() + WAIT);
    assert_eq!(job["status"], "SUCCESS", "{job}");
    assert!(ecsd.terminate().success());
    drop(ecsd);
    // Setup, not an assertion: the job must be past its 1 s retention by the binary's clock.
    std::thread::sleep(Duration::from_millis(1_200));

    let point = format!("job_purge.{when}");
    let mut ecsd = armed(dir.path(), "instant", &point, &retention);
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &retention);
    let (status, gone) = ecsd.get(&format!("/jobs/{old_job}"));
    assert_eq!((status, error_code(&gone)), (400, "Common.0011"), "{gone}");
    assert_eq!(servers_named(&ecsd, "aged"), ids(&answer), "servers stay");
    created(&ecsd, "fresh", 1);
}

#[test]
fn a_crash_before_a_purge_commit_loses_nothing_else() {
    crash_a_purge("before_commit");
}

#[test]
fn a_crash_after_a_purge_commit_loses_nothing_else() {
    crash_a_purge("after_commit");
}

/// The shutdown checkpoint crashed (before or after it ran), with a job unfinished (accepted by
/// a paused engine) and one finished: both are there after the restart, and the unfinished one
/// ends once.
fn crash_the_checkpoint(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let finished = created(&ecsd, "done", 2);
    drop(ecsd);

    let point = format!("checkpoint.{when}");
    let mut ecsd = armed(dir.path(), "fast", &point, &["--engine-paused"]);
    let (status, answer) = ecsd.post("/cloudservers", &create_body("pending", 2));
    assert_eq!(status, 200, "{answer}");
    // SIGTERM: the graceful shutdown drains the writer, then checkpoints, and crashes there.
    let status = ecsd.terminate();
    assert_eq!(status.signal(), Some(SIGABRT), "{status:?}");
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    assert_eq!(servers_named(&ecsd, "done"), finished);
    let job = ecsd.wait_job(&job_id(&answer), Instant::now() + WAIT);
    assert_created_once(&ecsd, &job, &ids(&answer));
}

#[test]
fn a_crash_before_the_shutdown_checkpoint_loses_nothing() {
    crash_the_checkpoint("before");
}

#[test]
fn a_crash_after_the_shutdown_checkpoint_loses_nothing() {
    crash_the_checkpoint("after");
}

/// The version 1 schema as ecsd left it (frozen: users have such files), with a create job
/// under way in the per-step model (rows in `write_version_1_database`).
const VERSION_1_DATABASE: &str = r#"
CREATE TABLE jobs (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, job_type TEXT NOT NULL,
    status TEXT NOT NULL, begin_time INTEGER NOT NULL, end_time INTEGER, error_code TEXT,
    fail_reason TEXT) WITHOUT ROWID;
CREATE INDEX jobs_finished ON jobs (end_time) WHERE end_time IS NOT NULL;
CREATE INDEX jobs_unfinished ON jobs (project_id) WHERE end_time IS NULL;
CREATE TABLE tasks (job_id TEXT NOT NULL, idx INTEGER NOT NULL, id TEXT NOT NULL,
    server_id TEXT NOT NULL, operation TEXT NOT NULL, status TEXT NOT NULL,
    step INTEGER NOT NULL, next_run_at INTEGER, begin_time INTEGER NOT NULL, end_time INTEGER,
    error_code TEXT, fail_reason TEXT, PRIMARY KEY (job_id, idx)) WITHOUT ROWID;
CREATE INDEX tasks_due ON tasks (next_run_at) WHERE next_run_at IS NOT NULL;
CREATE TABLE servers (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL, name TEXT NOT NULL, flavor_id TEXT NOT NULL,
    status TEXT NOT NULL, vm_state TEXT NOT NULL, task_state TEXT,
    power_state INTEGER NOT NULL, progress INTEGER NOT NULL, busy_job_id TEXT,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, launched_at INTEGER,
    fault TEXT, doc TEXT NOT NULL);
CREATE INDEX servers_by_project ON servers (project_id, seq);
CREATE TABLE client_tokens (project_id TEXT NOT NULL, token TEXT NOT NULL,
    request_hash TEXT NOT NULL, job_id TEXT NOT NULL, server_ids TEXT NOT NULL,
    created_at INTEGER NOT NULL, PRIMARY KEY (project_id, token)) WITHOUT ROWID;
PRAGMA user_version = 1;
"#;

const OLD_JOB: &str = "0123456789abcdef0123456789abcdef";
const OLD_SERVERS: [&str; 2] = [
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
];

fn write_version_1_database(path: &Path) {
    let connection = rusqlite::Connection::open(path).expect("opens");
    connection
        .execute_batch(VERSION_1_DATABASE)
        .expect("version 1");
    let doc = r#"{"image_id":"i","flavor":{"id":"f","name":"f","vcpus":"1","ram":1024,"disk":"0"},"vpc_id":"v","availability_zone":"az"}"#;
    let [done, running] = OLD_SERVERS;
    // Times near the binary's clock, so the job is within its retention when it ends; the
    // remaining task's next step is already due.
    let now = (crate::support::wall_clock_now().unix_timestamp_nanos() / 1_000_000) as i64;
    let (begun, ended, due) = (now - 3_000, now - 2_000, now - 1_000);
    connection
        .execute_batch(&format!(
            "INSERT INTO jobs (id, project_id, job_type, status, begin_time)
               VALUES ('{OLD_JOB}', '{PROJECT}', 'createServer', 'RUNNING', {begun});
             INSERT INTO tasks (job_id, idx, id, server_id, operation, status, step,
                                next_run_at, begin_time, end_time)
               VALUES ('{OLD_JOB}', 0, 't0', '{done}', '{{\"op\":\"create_server\"}}',
                       'SUCCESS', 5, NULL, {begun}, {ended}),
                      ('{OLD_JOB}', 1, 't1', '{running}', '{{\"op\":\"create_server\"}}',
                       'RUNNING', 2, {due}, {begun}, NULL);
             INSERT INTO servers (id, project_id, name, flavor_id, status, vm_state, task_state,
                                  power_state, progress, busy_job_id, created_at, updated_at,
                                  doc)
               VALUES ('{done}', '{PROJECT}', 'old-a', 'f', 'ACTIVE', 'active', NULL, 1, 100,
                       NULL, {begun}, {ended}, '{doc}'),
                      ('{running}', '{PROJECT}', 'old-b', 'f', 'BUILD', 'building',
                       'networking', 0, 50, '{OLD_JOB}', {begun}, {due}, '{doc}');"
        ))
        .expect("a job under way");
}

/// A version 1 file opened by this ecsd, crashed in a migration step (the `nth` of five, before
/// or after its commit); the next start migrates the rest, and the job that was under way ends
/// once, its two servers ACTIVE, each once.
fn crash_a_migration(when: &str, nth: u32) {
    let dir = tempfile::tempdir().expect("temp dir");
    write_version_1_database(&dir.path().join("ecsd.db"));
    let point = format!("migration.{when}:{nth}");
    let mut child = crate::support::ecsd_command()
        .args(["serve", "--listen", "127.0.0.1:0", "--latency", "instant"])
        .arg("--database")
        .arg(format!("sqlite://{}", dir.path().join("ecsd.db").display()))
        .args(["--crash-at", &point])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    // The crash comes while the store opens, before the banner: read stderr to its end (it
    // ends when the process does), then reap.
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut stderr)
        .expect("reads stderr");
    let status = child.wait().expect("reaped");
    assert_eq!(status.signal(), Some(SIGABRT), "{status:?}: {stderr}");
    assert!(
        stderr.contains(&format!("crash point migration.{when}:{nth}")),
        "{stderr}"
    );

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let job = ecsd.wait_job(OLD_JOB, Instant::now() + WAIT);
    let expected = OLD_SERVERS.iter().map(|id| (*id).to_owned()).collect();
    assert_created_once(&ecsd, &job, &expected);
    assert_eq!(servers_named(&ecsd, "old-"), expected);
    // The first step's table (server groups) is there and usable.
    let (status, groups) = ecsd.get("/cloudservers/os-server-groups");
    assert_eq!(
        (status, &groups["server_groups"]),
        (200, &json!([])),
        "{groups}"
    );
}

#[test]
fn a_crash_in_the_first_migration_step_migrates_on_the_next_start() {
    crash_a_migration("before_commit", 1);
}

#[test]
fn a_crash_after_a_middle_migration_step_migrates_on_the_next_start() {
    crash_a_migration("after_commit", 3);
}

#[test]
fn a_crash_in_the_migration_that_moves_tasks_migrates_on_the_next_start() {
    crash_a_migration("before_commit", 5);
}

/// What the mixed run's client was acknowledged (or was waiting for when the process died).
#[derive(Debug, Clone)]
enum Sent {
    Create {
        name: String,
        servers: BTreeSet<String>,
    },
    Delete {
        server: String,
    },
    OnServer {
        server: String,
    },
}

/// A random number from the standard library's per-process hasher keys (no dependency).
fn random_below(bound: u64) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(bound);
    hasher.finish() % bound.max(1)
}

/// Many jobs of mixed kinds (creates, reboots, NIC additions, deletes) under way from a client
/// that keeps sending, and `kill -9` at a random moment (after a random number of
/// acknowledgements and a random delay). A start under the same profile ends every
/// acknowledged job once: creates' servers exist once, deletes' servers are gone, every job on
/// a server succeeded, and no server exists that no request named.
#[test]
fn kill_9_at_a_random_moment_among_mixed_jobs_loses_no_acknowledged_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let base: Vec<String> = created(&ecsd, "base", 8).into_iter().collect();
    drop(ecsd);

    let mut ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Sent)>::new()));
    let in_flight = std::sync::Arc::new(std::sync::Mutex::new(None::<Sent>));
    let submitter = {
        let (acknowledged, in_flight) = (acknowledged.clone(), in_flight.clone());
        let (endpoint, prefix, base) = (ecsd.endpoint.clone(), ecsd.base.clone(), base.clone());
        std::thread::spawn(move || {
            let client = client(&endpoint);
            for index in 0..400usize {
                let target = base[index % 4].clone();
                let (path, body, sent) = match index % 4 {
                    0 => {
                        let name = format!("mix{index}");
                        let sent = Sent::Create {
                            name: name.clone(),
                            servers: BTreeSet::new(),
                        };
                        ("/cloudservers".to_owned(), create_body(&name, 2), sent)
                    }
                    1 => (
                        "/cloudservers/action".to_owned(),
                        json!({ "reboot": { "servers": [{ "id": target }], "type": "SOFT" } }),
                        Sent::OnServer { server: target },
                    ),
                    2 => (
                        format!("/cloudservers/{target}/nics"),
                        json!({ "nics": [{ "subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33" }] }),
                        Sent::OnServer { server: target },
                    ),
                    _ => {
                        // The second half of the base servers is deleted, one at a time.
                        let Some(server) = base.get(4 + index / 4) else {
                            continue;
                        };
                        (
                            "/cloudservers/delete".to_owned(),
                            json!({ "servers": [{ "id": server }] }),
                            Sent::Delete {
                                server: server.clone(),
                            },
                        )
                    }
                };
                *in_flight.lock().expect("lock") = Some(sent.clone());
                let Ok(answer) = client.send(
                    "POST",
                    &format!("{prefix}{path}"),
                    body.to_string().as_bytes(),
                ) else {
                    return;
                };
                if answer.status != 200 {
                    // Refused (the server is busy with an earlier job): not acknowledged.
                    continue;
                }
                let Ok(body) = serde_json::from_str::<Value>(&answer.body) else {
                    return;
                };
                let sent = match sent {
                    Sent::Create { name, .. } => Sent::Create {
                        name,
                        servers: ids(&body),
                    },
                    other => other,
                };
                acknowledged
                    .lock()
                    .expect("lock")
                    .push((job_id(&body), sent));
            }
        })
    };
    // A random moment: after 5 to 24 acknowledgements, and 0 to 400 ms more.
    let wanted = 5 + random_below(20) as usize;
    let deadline = Instant::now() + WAIT;
    while acknowledged.lock().expect("lock").len() < wanted {
        assert!(Instant::now() < deadline, "the submitter made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(random_below(400)));
    ecsd.kill_hard();
    submitter.join().expect("the submitter stops");
    drop(ecsd);
    let acknowledged = acknowledged.lock().expect("lock").clone();
    let in_flight = in_flight.lock().expect("lock").clone();
    eprintln!(
        "killed after {} acknowledged jobs, {in_flight:?} in flight",
        acknowledged.len()
    );

    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let mut named: BTreeSet<String> = base.iter().cloned().collect();
    for (job, sent) in &acknowledged {
        let job = ecsd.wait_job(job, Instant::now() + WAIT);
        match sent {
            Sent::Create { servers, name } => {
                assert_created_once(&ecsd, &job, servers);
                assert_eq!(&servers_named(&ecsd, &format!("{name}-")), servers);
                named.extend(servers.iter().cloned());
            }
            Sent::Delete { server } => {
                assert_eq!(job["status"], "SUCCESS", "{job}");
                let (status, gone) = ecsd.get(&format!("/cloudservers/{server}"));
                assert_eq!((status, error_code(&gone)), (404, "Ecs.0114"), "{gone}");
            }
            Sent::OnServer { server } => {
                assert_eq!(job["status"], "SUCCESS", "{job}");
                let (status, kept) = ecsd.get(&format!("/cloudservers/{server}"));
                assert_eq!(status, 200, "{kept}");
            }
        }
    }
    // Nothing unacknowledged appeared: every server is a base server or an acknowledged
    // create's, but for the one request in flight at the kill, which may have committed.
    let mut listed = servers_named(&ecsd, "");
    if let Some(Sent::Create { name, .. }) = in_flight {
        listed.retain(|id| {
            let (_, server) = ecsd.get(&format!("/cloudservers/{id}"));
            !server["server"]["name"]
                .as_str()
                .is_some_and(|server_name| server_name.starts_with(&format!("{name}-")))
        });
    }
    assert!(
        listed.is_subset(&named),
        "servers no request named: {:?}",
        listed.difference(&named).collect::<Vec<_>>()
    );
}

/// A request on any path (Nova's too), whose answer may never come: `None` then.
fn try_send(ecsd: &Ecsd, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    let bytes = body.map(Value::to_string).unwrap_or_default();
    let answer = client(&ecsd.endpoint)
        .send(method, path, bytes.as_bytes())
        .ok()?;
    let body = if answer.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&answer.body).unwrap_or(Value::String(answer.body))
    };
    Some((answer.status, body))
}

/// A key pair's creation (a catalog write) crashed around its commit: the pair exists once if
/// committed, not at all otherwise.
fn crash_a_keypair_write(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let point = format!("catalog_write.{when}");
    let path = format!("/v2.1/{PROJECT}/os-keypairs");
    let mut ecsd = armed(dir.path(), "instant", &point, &[]);
    let answer = try_send(
        &ecsd,
        "POST",
        &path,
        Some(&json!({ "keypair": { "name": "crashkey" } })),
    );
    assert!(
        answer.is_none(),
        "answered past the crash point: {answer:?}"
    );
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let (status, pairs) = try_send(&ecsd, "GET", &path, None).expect("answered");
    assert_eq!(status, 200, "{pairs}");
    let named = pairs["keypairs"]
        .as_array()
        .expect("keypairs")
        .iter()
        .filter(|pair| pair["keypair"]["name"] == "crashkey")
        .count();
    assert_eq!(named, usize::from(when == "after_commit"), "{pairs}");
}

#[test]
fn a_crash_before_a_key_pair_commit_leaves_no_key_pair() {
    crash_a_keypair_write("before_commit");
}

#[test]
fn a_crash_after_a_key_pair_commit_keeps_the_key_pair_once() {
    crash_a_keypair_write("after_commit");
}

/// A document update (auto recovery, `Store::server_update`) crashed around its commit: the
/// setting is the new one if committed, the old one otherwise.
fn crash_a_document_update(when: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let server = created(&ecsd, "recovering", 1)
        .into_iter()
        .next()
        .expect("a server");
    let path = format!("{}/cloudservers/{server}/autorecovery", ecsd.base);
    let (_, before) = try_send(&ecsd, "GET", &path, None).expect("answered");
    assert_eq!(before["support_auto_recovery"], "false", "{before}");
    assert!(ecsd.terminate().success());
    drop(ecsd);

    let point = format!("server_update.{when}");
    let mut ecsd = armed(dir.path(), "instant", &point, &[]);
    let answer = try_send(
        &ecsd,
        "PUT",
        &path,
        Some(&json!({ "support_auto_recovery": "true" })),
    );
    assert!(
        answer.is_none(),
        "answered past the crash point: {answer:?}"
    );
    assert_crashed_at(&mut ecsd, &point);
    drop(ecsd);

    let ecsd = Ecsd::start_with(dir.path(), "instant", &[]);
    let (status, after) = try_send(&ecsd, "GET", &path, None).expect("answered");
    assert_eq!(status, 200, "{after}");
    if when == "after_commit" {
        assert_eq!(after["support_auto_recovery"], "true", "{after}");
    } else {
        assert_eq!(after, before, "unchanged");
    }
}

#[test]
fn a_crash_before_a_document_update_commit_leaves_the_server_unchanged() {
    crash_a_document_update("before_commit");
}

#[test]
fn a_crash_after_a_document_update_commit_keeps_the_update() {
    crash_a_document_update("after_commit");
}
