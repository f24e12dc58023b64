//! Fault rules on the real binary: a `[[faults]]` rule of the config file applies after a
//! restart, `drop_response` closes the connection without an answer after the job is stored,
//! the admin API takes rules over plain HTTP from loopback, and a bad `[[faults]]` refuses the
//! start with FILE:LINE:COLUMN.

use crate::e2e::Ecsd;
use crate::support::{create_body, PROJECT};
use ecsd::call::Client;
use serde_json::Value;
use std::time::{Duration, Instant};

fn tenant(ecsd: &Ecsd) -> Client {
    Client::new(
        &ecsd.endpoint,
        ecsd::AccountArgs {
            access_key: ecsd::DEFAULT_ACCESS_KEY.into(),
            secret_key: ecsd::DEFAULT_SECRET_KEY.into(),
            project_id: PROJECT.into(),
        },
    )
    .expect("a valid endpoint")
}

fn admin_get(ecsd: &Ecsd, path: &str) -> Value {
    let response = ureq::get(&format!("{}{path}", ecsd.endpoint))
        .call()
        .expect("the admin API answers on loopback");
    serde_json::from_str(&response.into_string().expect("a body")).expect("JSON")
}

fn server_count(ecsd: &Ecsd) -> usize {
    let answer = tenant(ecsd)
        .send("GET", &format!("/v1/{PROJECT}/cloudservers/detail"), b"")
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body: Value = serde_json::from_str(&answer.body).expect("JSON");
    body["servers"].as_array().map_or(0, Vec::len)
}

fn create(ecsd: &Ecsd, name: &str) -> anyhow::Result<ecsd::call::Answer> {
    tenant(ecsd).send(
        "POST",
        &format!("/v1/{PROJECT}/cloudservers"),
        create_body(name, 1).to_string().as_bytes(),
    )
}

#[test]
fn a_config_rule_drops_the_answer_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("ecsd.toml");
    std::fs::write(
        &config,
        "[[faults]]\noperation = \"createServer\"\nserver_name = \"dropped-*\"\ntimes = 1\neffect = \"drop_response\"\n",
    )
    .expect("config written");
    let config = config.display().to_string();
    for run in 0..2 {
        let ecsd = Ecsd::start_with(dir.path(), "instant", &["--config", &config]);
        let rules = admin_get(&ecsd, "/_ecsd/faults");
        assert_eq!(rules["faults"][0]["effect"], "drop_response", "{rules}");
        assert_eq!(
            rules["faults"][0]["fired"], 0,
            "run {run}: counts start afresh"
        );

        let before = server_count(&ecsd);
        let dropped = create(&ecsd, &format!("dropped-{run}"));
        assert!(
            dropped.is_err(),
            "run {run}: the connection closes without an answer: {:?}",
            dropped.map(|answer| answer.body)
        );
        assert_eq!(server_count(&ecsd), before + 1, "the create took effect");
        // Spent: the next create is answered.
        let answered = create(&ecsd, &format!("dropped-again-{run}")).expect("answered");
        assert_eq!(answered.status, 200, "{}", answered.body);
        let rules = admin_get(&ecsd, "/_ecsd/faults");
        assert_eq!(rules["faults"][0]["fired"], 1, "{rules}");
        let metrics = ureq::get(&format!("{}/metrics", ecsd.endpoint))
            .call()
            .expect("metrics")
            .into_string()
            .expect("text");
        assert!(
            metrics.contains("ecsd_faults_fired_total{effect=\"drop_response\"} 1"),
            "{metrics}"
        );
    }
}

#[test]
fn a_bad_faults_table_refuses_the_start_with_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("ecsd.toml");
    std::fs::write(
        &config,
        "# a comment\n\n[[faults]]\neffect = \"fail\"\nprobability = 2.0\n",
    )
    .expect("config written");
    let mut child = crate::support::ecsd_command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--database")
        .arg(format!("sqlite://{}", dir.path().join("ecsd.db").display()))
        .arg("--config")
        .arg(&config)
        .env_remove("ECSD_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("ecsd starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        assert!(Instant::now() < deadline, "ecsd did not refuse to start");
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut stderr)
        .expect("stderr");
    assert!(!status.success());
    // The place of the table (`[[faults]]` on line 3), whose field the message names.
    let place = format!("{}:3:1", config.display());
    assert!(stderr.contains(&place), "{stderr}");
    assert!(stderr.contains("probability"), "{stderr}");
    assert!(
        !dir.path().join("ecsd.db").exists(),
        "refused before the database is created"
    );
}
