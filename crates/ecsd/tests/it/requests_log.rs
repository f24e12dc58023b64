//! The request log (`GET /_ecsd/requests`) and the ignored body fields (`--strict-bodies`),
//! through the real binary: the entries after known traffic, the filters, the bound, and that
//! no secret reaches it.

use crate::e2e::Ecsd;
use crate::support::{create_body, error_code, PROJECT};
use serde_json::{json, Value};
use std::time::Duration;

const ADMIN_TOKEN: &str = "admin-token-for-the-request-log-test";

/// `GET /_ecsd/requests?{query}` with the admin token.
fn requests(ecsd: &Ecsd, query: &str) -> Value {
    let response = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build()
        .get(&format!("{}/_ecsd/requests?{query}", ecsd.endpoint))
        .set("Authorization", &format!("Bearer {ADMIN_TOKEN}"))
        .call()
        .unwrap_or_else(|error| panic!("GET /_ecsd/requests?{query}: {error}"));
    response.into_json().expect("JSON")
}

fn rfc3339(value: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        value.as_str().expect("a time"),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|_| panic!("not RFC 3339: {value}"))
}

fn entries(answer: &Value) -> &Vec<Value> {
    answer["requests"].as_array().expect("requests")
}

/// A create body with two keys ecsd does not model: a misspelt zone and a misspelt count.
fn body_with_typos() -> Value {
    let mut body = create_body("typo", 1);
    body["server"]["availabilty_zone"] = json!("eu-de-01");
    body["server"]["cont"] = json!(3);
    body
}

#[test]
fn the_request_log_lists_known_traffic_with_filters_a_bound_and_no_secret() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(
        dir.path(),
        "fast",
        &["--request-log-size", "5", "--admin-token", ADMIN_TOKEN],
    );
    let before = requests(&ecsd, "")["last_seq"].as_u64().expect("last_seq");

    let (status, created) = ecsd.post("/cloudservers", &body_with_typos());
    assert_eq!(status, 200, "{created}");
    let job_id = created["job_id"].as_str().expect("job_id").to_owned();
    let (status, _) = ecsd.get(&format!("/jobs/{job_id}"));
    assert_eq!(status, 200);
    let (status, missing) = ecsd.get("/cloudservers/00000000-0000-0000-0000-000000000000");
    assert!(status >= 400, "{missing}");

    let answer = requests(&ecsd, &format!("since={before}"));
    let log = entries(&answer);
    assert_eq!(log.len(), 3, "{answer:#}");
    let (create, poll, failed) = (&log[0], &log[1], &log[2]);
    assert_eq!(create["method"], "POST");
    assert_eq!(create["path"], format!("/v1/{PROJECT}/cloudservers"));
    assert_eq!(create["route"], "/v1/{project_id}/cloudservers");
    assert_eq!(create["operation"], "CreateServers");
    assert_eq!(create["status"], 200);
    assert_eq!(create["code"], Value::Null);
    assert_eq!(create["job_id"], job_id.as_str());
    assert_eq!(create["access_key"], ecsd::DEFAULT_ACCESS_KEY);
    assert_eq!(create["project_id"], PROJECT);
    assert_eq!(
        create["ignored_fields"],
        json!(["server.availabilty_zone", "server.cont"])
    );
    assert!(create["duration_ms"].as_f64().is_some());
    assert!(create["request_id"]
        .as_str()
        .is_some_and(|id| id.len() == 32));
    rfc3339(&create["time"]);
    assert_eq!(poll["operation"], "ShowJob");
    assert_eq!(poll["ignored_fields"], json!([]));
    assert_eq!(failed["operation"], "ShowServer");
    assert_eq!(failed["code"], error_code(&missing));
    let seqs: Vec<u64> = log
        .iter()
        .map(|entry| entry["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [before + 1, before + 2, before + 3]);

    // The server's log warns about the ignored fields too.
    let warned = ecsd
        .log
        .lock()
        .expect("log")
        .iter()
        .any(|line| line.contains("WARN") && line.contains("server.availabilty_zone"));
    assert!(warned, "{:?}", ecsd.log.lock().expect("log"));

    // Filters: a project with no traffic, a limit, a time.
    assert!(entries(&requests(&ecsd, "project_id=another-project")).is_empty());
    assert_eq!(
        entries(&requests(
            &ecsd,
            &format!("project_id={PROJECT}&since={before}&limit=1")
        ))[0]["operation"],
        "CreateServers"
    );
    let at = create["time"].as_str().expect("time");
    let after_time = requests(&ecsd, &format!("since={}", at.replace('+', "%2B")));
    assert!(
        entries(&after_time)
            .iter()
            .all(|entry| rfc3339(&entry["time"]) > rfc3339(&create["time"])),
        "{after_time:#}"
    );
    assert!(!entries(&after_time)
        .iter()
        .any(|entry| entry["seq"] == create["seq"]));

    // A token from a password, then a call with it: the entry names the token's access key.
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(30))
        .build();
    let issued = agent
        .post(&format!("{}/v3/auth/tokens", ecsd.endpoint))
        .send_json(json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": "ecsd", "password": ecsd::config::DEFAULT_PASSWORD,
                "domain": {"name": "ecsd"}}}},
            "scope": {"project": {"name": "eu-de"}}}}))
        .expect("a token");
    let token = issued
        .header("x-subject-token")
        .expect("X-Subject-Token")
        .to_owned();
    let with_token = agent
        .get(&format!(
            "{}/v1/{PROJECT}/cloudservers/detail",
            ecsd.endpoint
        ))
        .set("X-Auth-Token", &token)
        .call()
        .expect("listed with the token");
    assert_eq!(with_token.status(), 200);
    let answer = requests(&ecsd, &format!("since={before}"));
    let log = entries(&answer);
    assert_eq!(log.len(), 5, "{answer:#}");
    assert_eq!(log[3]["operation"], "KeystoneCreateUserTokenByPassword");
    assert_eq!(log[4]["operation"], "ListServersDetails");
    assert_eq!(log[4]["access_key"], ecsd::DEFAULT_ACCESS_KEY);

    // Nothing from a credential: no secret key, password, token, signature or admin token;
    // and the admin reads above are not in the log.
    let text = answer.to_string();
    for secret in [
        ecsd::DEFAULT_SECRET_KEY,
        ecsd::config::DEFAULT_PASSWORD,
        token.as_str(),
        ADMIN_TOKEN,
        "SDK-HMAC-SHA256",
        "Signature=",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let all = requests(&ecsd, "");
    assert!(
        entries(&all).iter().all(|entry| !entry["path"]
            .as_str()
            .unwrap_or_default()
            .starts_with("/_ecsd")),
        "{all:#}"
    );

    // The bound: 6 more requests, and only the last 5 are kept.
    for _ in 0..6 {
        assert_eq!(ecsd.get("/cloudservers/flavors").0, 200);
    }
    let bounded = requests(&ecsd, "");
    let last = bounded["last_seq"].as_u64().expect("last_seq");
    let seqs: Vec<u64> = entries(&bounded)
        .iter()
        .map(|entry| entry["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, (last - 4..=last).collect::<Vec<_>>());
    assert_eq!(bounded["capacity"], 5);
    assert!(entries(&bounded)
        .iter()
        .all(|entry| entry["operation"] == "ListFlavors"));
}

#[test]
fn strict_bodies_refuse_a_typo_naming_it_and_pass_a_correct_body() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "instant", &["--strict-bodies"]);
    let (status, refused) = ecsd.post("/cloudservers", &body_with_typos());
    assert_eq!(status, 400, "{refused}");
    assert_eq!(error_code(&refused), "Ecs.0005");
    let detail = refused["error"]["details"][0]["message"]
        .as_str()
        .expect("detail");
    assert!(
        detail.starts_with("server.availabilty_zone: unknown field"),
        "{refused}"
    );
    assert!(detail.contains("server.cont"), "{refused}");
    // Nothing was created.
    let (_, listed) = ecsd.get("/cloudservers/detail");
    assert_eq!(listed["count"], 0, "{listed}");

    let (status, created) = ecsd.post("/cloudservers", &create_body("exact", 1));
    assert_eq!(status, 200, "{created}");
    // A field the reference documents but ecsd does not model is what clients send, not a
    // typo: it passes strict mode.
    let mut documented = create_body("documented", 1);
    documented["server"]["user_data"] = json!("IyEvYmluL2Jhc2gK");
    let (status, created) = ecsd.post("/cloudservers", &documented);
    assert_eq!(status, 200, "{created}");
}

/// The rows of the reference's parameter tables with a Mandatory column (`| name | Yes |`),
/// in every `.rst` under `dir`.
fn documented_names(dir: &std::path::Path, names: &mut std::collections::BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.map_while(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            documented_names(&path, names);
        } else if path.extension().is_some_and(|extension| extension == "rst") {
            let text = std::fs::read_to_string(&path).expect("a readable page");
            for line in text.lines() {
                let cells: Vec<&str> = line.trim_start().split('|').collect();
                let [_, name, mandatory, _, ..] = cells.as_slice() else {
                    continue;
                };
                let name = name.trim();
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_:.-".contains(c));
                if valid && matches!(mandatory.trim(), "Yes" | "No") {
                    names.insert(name.to_owned());
                }
            }
        }
    }
}

/// `--strict-bodies` lets documented names pass (`api::documented_fields`); where the
/// reference is present, that list must be exactly what its tables name.
#[test]
fn the_documented_field_names_are_the_references() {
    let reference = crate::reference::reference_dir();
    if !reference.is_dir() {
        eprintln!(
            "the_documented_field_names_are_the_references: SKIPPED, no reference at {}",
            reference.display()
        );
        return;
    }
    let mut names = std::collections::BTreeSet::new();
    for part in ["apis_recommended", "data_structure"] {
        documented_names(&reference.join(part), &mut names);
    }
    let listed: Vec<&str> = api::documented_fields::DOCUMENTED_REQUEST_FIELDS.to_vec();
    let extracted: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(
        listed, extracted,
        "crates/api/src/documented_fields.rs is out of date with the reference"
    );
}
