//! The client commands as scripts run them (`ecsd call`, `ecsd admin`): what they print and
//! their exit status for each case (README, "Exit status of the client commands"), against the
//! real binary.

use crate::e2e::Ecsd;
use crate::support::{create_body, ecsd_command};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Output, Stdio};

const ADMIN_TOKEN: &str = "admin-token-for-the-cli-test";
/// Nothing listens on port 1 of loopback: "unreachable".
const NOWHERE: &str = "http://127.0.0.1:1";

fn run(args: &[&str]) -> Output {
    ecsd_command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ecsd runs")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "stdout is not one JSON document: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn ecsd_call_exit_statuses_say_what_happened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "realistic", &[]);
    let body = dir.path().join("body.json");
    std::fs::write(&body, create_body("cli", 2).to_string()).expect("body written");
    let data = format!("@{}", body.display());
    let call = |args: &[&str]| {
        let line = [&["call", "--endpoint", &ecsd.endpoint][..], args].concat();
        run(&line)
    };

    // Success, with -i: the status and request id on stderr, stdout one JSON document.
    let listed = call(&["-i", "GET", "/v1/{project_id}/cloudservers/detail"]);
    assert_eq!(listed.status.code(), Some(0), "{}", stderr(&listed));
    assert_eq!(stdout_json(&listed)["count"], 0);
    let head = stderr(&listed);
    assert!(head.contains("HTTP 200"), "{head}");
    let request_id = head
        .lines()
        .find_map(|line| line.strip_prefix("X-Request-Id: "))
        .expect("X-Request-Id line");
    assert_eq!(request_id.len(), 32, "{head}");

    // An error answer: 1, the envelope on stdout.
    let missing = call(&["GET", "/v1/{project_id}/jobs/not-a-job"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stdout_json(&missing)["error"]["code"], "Common.0011");

    // --wait that times out (a realistic create takes tens of seconds): 3, after printing the
    // first answer (one line, with the serverIds) and the job as it was.
    let waited = call(&[
        "POST",
        "/v1/{project_id}/cloudservers",
        "--data",
        &data,
        "--wait",
        "--timeout",
        "1s",
    ]);
    assert_eq!(waited.status.code(), Some(3), "{}", stderr(&waited));
    let stdout = String::from_utf8_lossy(&waited.stdout).into_owned();
    let (first, rest) = stdout.split_once('\n').expect("two documents");
    let first: Value = serde_json::from_str(first).expect("the first answer on one line");
    assert_eq!(
        first["serverIds"].as_array().map(Vec::len),
        Some(2),
        "{first}"
    );
    let job: Value = serde_json::from_str(rest).expect("the job");
    assert_eq!(job["job_id"], first["job_id"]);
    assert!(
        job["status"] == "INIT" || job["status"] == "RUNNING",
        "{job}"
    );
    assert!(stderr(&waited).contains("is still"), "{}", stderr(&waited));

    // Usage errors are 64 and send nothing: against an endpoint where nothing listens, a
    // usage error is still 64, not 2.
    for args in [
        &[
            "call",
            "--endpoint",
            NOWHERE,
            "POST",
            "/v1/{project_id}/cloudservers",
            "--data",
            "@/nonexistent/body.json",
        ][..],
        &["call", "--endpoint", NOWHERE, "GET", "no-slash"],
        &["call", "--endpoint", NOWHERE, "GET"],
        &["call", "--endpoint", NOWHERE, "--no-such-flag", "GET", "/"],
        &["call", "--endpoint", "https://127.0.0.1:1", "GET", "/"],
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(64),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    // Unreachable: 2.
    let unreachable = run(&[
        "call",
        "--endpoint",
        NOWHERE,
        "GET",
        "/v1/{project_id}/cloudservers/detail",
    ]);
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(stderr(&unreachable).contains("cannot reach ecsd"));
}

/// `ecsd call … | head -1` on a large answer: the reader closes the pipe after one line; the
/// command stops quietly (no panic, no message) with 141, as a process SIGPIPE ended.
#[test]
fn a_closed_pipe_ends_the_client_commands_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--admin-token", ADMIN_TOKEN]);
    // Enough entries that the request log's answer, like the flavor list, is far larger than
    // a pipe's buffer (64 KiB): the writer must meet the closed pipe.
    for _ in 0..200 {
        assert_eq!(ecsd.get("/cloudservers/detail").0, 200);
    }
    let commands: [&[&str]; 2] = [
        &[
            "call",
            "--endpoint",
            &ecsd.endpoint,
            "GET",
            "/v1/{project_id}/cloudservers/flavors",
        ],
        &[
            "admin",
            "--endpoint",
            &ecsd.endpoint,
            "--admin-token",
            ADMIN_TOKEN,
            "requests",
        ],
    ];
    for args in commands {
        let mut child = ecsd_command()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ecsd runs");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("a first line");
        assert_eq!(first, "{\n", "{args:?}");
        drop(stdout);
        // Bounded: the command either meets the closed pipe or has nothing left to write.
        let status = child.wait().expect("exits");
        let mut errors = String::new();
        child
            .stderr
            .take()
            .expect("piped")
            .read_to_string(&mut errors)
            .expect("stderr");
        assert_eq!(status.code(), Some(141), "{args:?}: {errors}");
        assert_eq!(errors, "", "{args:?}: quiet");
    }
}

#[test]
fn ecsd_admin_calls_the_admin_api_with_its_token_and_exit_statuses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--admin-token", ADMIN_TOKEN]);
    assert_eq!(ecsd.get("/cloudservers/flavors").0, 200);
    assert_eq!(
        ecsd.post("/cloudservers", &create_body("admin-cli", 1)).0,
        200
    );
    let admin = |args: &[&str]| {
        let line = [&["admin", "--endpoint", &ecsd.endpoint][..], args].concat();
        run(&line)
    };

    // The request log, end to end: the token from the flag or ECSD_ADMIN_TOKEN.
    let read = admin(&[
        "--admin-token",
        ADMIN_TOKEN,
        "requests",
        "--since",
        "1",
        "--limit",
        "1",
    ]);
    assert_eq!(read.status.code(), Some(0), "{}", stderr(&read));
    let answer = stdout_json(&read);
    let entries = answer["requests"].as_array().expect("requests");
    assert_eq!(entries.len(), 1, "{answer}");
    assert_eq!(entries[0]["seq"], 2);
    assert_eq!(entries[0]["operation"], "CreateServers");
    let from_env = ecsd_command()
        .args(["admin", "--endpoint", &ecsd.endpoint, "-i", "requests"])
        .env("ECSD_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("ecsd runs");
    assert_eq!(from_env.status.code(), Some(0), "{}", stderr(&from_env));
    assert!(stderr(&from_env).contains("HTTP 200"));

    // A wrong token: the server's error answer, 1.
    let refused = admin(&["--admin-token", "wrong", "requests"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(stdout_json(&refused)["error"]["code"], "Ecsd.0401");
    // A bad query: 1 with the server's 400.
    let bad = admin(&[
        "--admin-token",
        ADMIN_TOKEN,
        "requests",
        "--since",
        "yesterday",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(stdout_json(&bad)["error"]["code"], "Ecsd.0400");

    // Every other capability, end to end against the server: exit 0 and the answer's JSON,
    // or exit 1 and the server's error envelope.
    let with_token = |args: &[&str]| admin(&[&["--admin-token", ADMIN_TOKEN][..], args].concat());
    let ok = |args: &[&str]| {
        let output = with_token(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        output
    };
    let refused = |args: &[&str], code: &str| {
        let output = with_token(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}: {}",
            stderr(&output)
        );
        assert_eq!(stdout_json(&output)["error"]["code"], code, "{args:?}");
    };
    let added = stdout_json(&ok(&[
        "fault",
        "add",
        "--operation",
        "createServer",
        "--effect",
        "fail",
        "--error-code",
        "Ecs.0204",
        "--sub-jobs",
        "1",
    ]));
    let rule_id = added["id"].as_str().expect("a rule id").to_owned();
    assert_eq!(added["sub_jobs"], serde_json::json!([1]), "{added}");
    let listed = stdout_json(&ok(&["fault", "list"]));
    assert_eq!(listed["faults"][0]["id"], rule_id.as_str(), "{listed}");
    ok(&["fault", "delete", &rule_id]);
    refused(&["fault", "delete", &rule_id], "Ecsd.0404");
    ok(&["fault", "clear"]);
    assert_eq!(stdout_json(&ok(&["clock"]))["mode"], "system");
    // This server runs on the system clock: moving it is a conflict.
    refused(&["clock", "advance", "10m"], "Ecsd.0409");
    refused(&["clock", "set", "2030-01-01T00:00:00Z"], "Ecsd.0409");
    ok(&["latency", "realistic"]);
    ok(&["snapshot", "save", "base"]);
    let snapshots = stdout_json(&ok(&["snapshot", "list"]));
    assert_eq!(snapshots["snapshots"][0]["name"], "base", "{snapshots}");
    ok(&["reset", "--project-id", "p1"]);
    ok(&["snapshot", "restore", "base"]);
    ok(&["snapshot", "delete", "base"]);
    refused(&["snapshot", "restore", "base"], "Ecsd.0404");
    refused(&["release", "some-job"], "Ecsd.0404");

    // Usage errors: 64; unreachable: 2.
    for args in [
        &["admin", "--endpoint", NOWHERE][..],
        &["admin", "--endpoint", NOWHERE, "fault", "add"],
        &[
            "admin",
            "--endpoint",
            NOWHERE,
            "fault",
            "add",
            "--rule",
            "@/nonexistent/rule.json",
        ],
        &["admin", "--endpoint", NOWHERE, "clock", "backwards"],
        &[
            "admin",
            "--endpoint",
            NOWHERE,
            "requests",
            "--limit",
            "many",
        ],
    ] {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(64),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let unreachable = run(&["admin", "--endpoint", NOWHERE, "requests"]);
    assert_eq!(unreachable.status.code(), Some(2));
}
