//! Who reaches the admin API (`/_ecsd/…`, `/metrics`) of the real binary: the admin token and
//! nothing else when one is set; loopback callers when none is. A tenant's credentials never
//! reach it, and the admin token never opens a tenant route.

use crate::e2e::Ecsd;
use crate::support::{error_code, PROJECT};
use ecsd::call::Client;
use serde_json::Value;

const ADMIN_TOKEN: &str = "an-admin-token-for-tests";

fn get(ecsd: &Ecsd, path: &str, authorization: Option<&str>) -> (u16, String) {
    let mut request = ureq::get(&format!("{}{path}", ecsd.endpoint));
    if let Some(value) = authorization {
        request = request.set("Authorization", value);
    }
    match request.call() {
        Ok(response) | Err(ureq::Error::Status(_, response)) => {
            let status = response.status();
            (status, response.into_string().expect("a body"))
        }
        Err(error) => panic!("transport error: {error}"),
    }
}

fn code_of(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    error_code(&value).to_owned()
}

#[test]
fn with_an_admin_token_only_that_token_opens_the_admin_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "fast", &["--admin-token", ADMIN_TOKEN]);

    let (status, body) = get(&ecsd, "/metrics", Some(&format!("Bearer {ADMIN_TOKEN}")));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("ecsd_"), "{body}");

    let (status, body) = get(&ecsd, "/metrics", None);
    assert_eq!((status, code_of(&body).as_str()), (401, "Ecsd.0401"));
    let (status, body) = get(&ecsd, "/metrics", Some("Bearer not-the-token"));
    assert_eq!((status, code_of(&body).as_str()), (401, "Ecsd.0401"));

    // A tenant's valid signature is refused by the admin API…
    let tenant = Client::new(
        &ecsd.endpoint,
        ecsd::AccountArgs {
            access_key: ecsd::DEFAULT_ACCESS_KEY.into(),
            secret_key: ecsd::DEFAULT_SECRET_KEY.into(),
            project_id: PROJECT.into(),
        },
    )
    .expect("a valid endpoint");
    let answer = tenant.send("GET", "/metrics", b"").expect("an answer");
    assert_eq!(
        (answer.status, code_of(&answer.body).as_str()),
        (403, "Ecsd.0403")
    );
    // …and the admin token opens no tenant route.
    let (status, body) = get(
        &ecsd,
        &format!("/v1/{PROJECT}/cloudservers/detail"),
        Some(&format!("Bearer {ADMIN_TOKEN}")),
    );
    assert_eq!(status, 401, "{body}");
    // The OpenAPI document stays open to generators.
    let (status, _) = get(&ecsd, "/_ecsd/openapi.json", None);
    assert_eq!(status, 200);
}

#[test]
fn without_an_admin_token_loopback_callers_need_none() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ecsd = Ecsd::start_with(dir.path(), "fast", &[]);
    let (status, body) = get(&ecsd, "/metrics", None);
    assert_eq!(status, 200, "{body}");
    // A bearer token where none is configured is an error, not silently accepted: the caller
    // believes it is protected.
    let (status, body) = get(&ecsd, "/metrics", Some("Bearer whatever"));
    assert_eq!((status, code_of(&body).as_str()), (401, "Ecsd.0401"));
}
