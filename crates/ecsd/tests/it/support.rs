//! Shared fixtures.

use engine::clock::{Clock, ManualClock};
use engine::engine::{CreateServers, FaultInjector, NicRequest, VolumeRequest};
use engine::flavors::FlavorCatalogue;
use engine::server::FlavorRef;
use engine::{Engine, EngineConfig};
use std::sync::Arc;
use store::sqlite::SqliteStore;
use time::macros::datetime;

pub const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// The flavor of [`create_body`] and [`create_request`]: OTC's 1 vCPU / 1 GiB general-purpose
/// flavor, in the catalogue of [`PROJECT`]'s region (`eu-de`).
pub const FLAVOR: &str = "s3.medium.1";

/// Who signs a request in the tests.
#[derive(Debug, Clone, Copy)]
pub struct Credentials {
    pub access_key: &'static str,
    pub secret_key: &'static str,
    pub project: &'static str,
}

/// The local (bootstrap) account, with ecsd's documented defaults.
pub const LOCAL: Credentials = Credentials {
    access_key: ecsd::DEFAULT_ACCESS_KEY,
    secret_key: ecsd::DEFAULT_SECRET_KEY,
    project: PROJECT,
};

/// A second tenant, to show that one account cannot see or touch another's.
pub const OTHER: Credentials = Credentials {
    access_key: "OTHERACCESSKEY000001",
    secret_key: "otherSecretKey000000000000000000000000001",
    project: "fedcba9876543210fedcba9876543210",
};

/// The wall clock, for requests signed to the real binary (which checks `X-Sdk-Date` against its
/// `SystemClock`), as a client signs them.
#[allow(clippy::disallowed_methods)]
pub fn wall_clock_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// `ecsd` (the binary under test) with none of the caller's `ECSD_*` variables: each one is
/// a flag's default (README tells users to set `ECSD_ENDPOINT`, CI machines may set others), and
/// a test that starts the binary says what it wants in arguments.
pub fn ecsd_command() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ecsd"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ECSD_") {
            command.env_remove(name);
        }
    }
    command
}

/// Sends SIGTERM to `child` (what an init system or Ctrl-C sends), without a `kill` command.
pub fn terminate(child: &std::process::Child) {
    rustix::process::kill_process(
        rustix::process::Pid::from_child(child),
        rustix::process::Signal::TERM,
    )
    .expect("SIGTERM sent");
}

/// The code of an error answer in either shape: the ECS envelope's `error.code`, or the API
/// gateway's flat `error_code` (authentication, throttling, unknown APIs).
pub fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"]
        .as_str()
        .or_else(|| body["error_code"].as_str())
        .unwrap_or_default()
}

/// The message of an error answer in either shape.
pub fn error_message(body: &serde_json::Value) -> &str {
    body["error"]["message"]
        .as_str()
        .or_else(|| body["error_msg"].as_str())
        .unwrap_or_default()
}

/// The `Host` the in-process tests send (and sign).
pub const HOST: &str = "ecsd.test:8774";

/// The accounts of [`LOCAL`] (domain `ecsd`, user `ecsd`, the default password, project
/// `eu-de`) and [`OTHER`] (domain `other`, user `bob` / `bob-password`, project `eu-nl_other`).
pub fn test_accounts() -> api::identity::accounts::Accounts {
    use api::identity::accounts::{Account, Accounts, Project, Secret, User};
    let account =
        |who: Credentials, domain: &str, user: &str, password: &str, name: &str| Account {
            access_key: who.access_key.into(),
            secret_key: Secret::new(who.secret_key),
            domain: domain.into(),
            users: vec![User {
                name: user.into(),
                password: Secret::new(password),
            }],
            projects: vec![Project {
                id: who.project.into(),
                name: name.into(),
                region: name.split('_').next().unwrap_or(name).into(),
                quotas: Default::default(),
            }],
            rate_limit: None,
        };
    Accounts::new(vec![
        account(
            LOCAL,
            "ecsd",
            "ecsd",
            ecsd::config::DEFAULT_PASSWORD,
            "eu-de",
        ),
        account(OTHER, "other", "bob", "bob-password", "eu-nl_other"),
    ])
    .expect("test accounts are valid")
}

/// [`test_accounts`] with `quotas` on [`LOCAL`]'s project ([`OTHER`]'s has none).
pub fn test_accounts_with_quotas(
    quotas: engine::quota::Quotas,
) -> api::identity::accounts::Accounts {
    let mut accounts: Vec<api::identity::accounts::Account> =
        test_accounts().iter().cloned().collect();
    for account in &mut accounts {
        for project in &mut account.projects {
            if project.id == LOCAL.project {
                project.quotas = quotas;
            }
        }
    }
    api::identity::accounts::Accounts::new(accounts).expect("test accounts are valid")
}

/// A request signed with SDK-HMAC-SHA256 as the SDKs sign it (`content-type` when there is
/// one, `host`, `x-project-id`, `x-sdk-date`), dated `at`.
pub fn signed_request(
    who: Credentials,
    at: time::OffsetDateTime,
    method: &axum::http::Method,
    path_and_query: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> axum::http::Request<axum::body::Body> {
    use axum::http::{HeaderMap, HeaderValue};
    let mut headers = HeaderMap::new();
    let mut signed = Vec::new();
    if let Some(content_type) = content_type {
        headers.insert(
            "content-type",
            HeaderValue::from_str(content_type).expect("header"),
        );
        signed.push("content-type");
    }
    headers.insert("host", HeaderValue::from_static(HOST));
    headers.insert(
        "x-project-id",
        HeaderValue::from_str(who.project).expect("header"),
    );
    headers.insert(
        "x-sdk-date",
        HeaderValue::from_str(&api::identity::signature::sdk_date(at)).expect("header"),
    );
    signed.extend(["host", "x-project-id", "x-sdk-date"]);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let authorization = api::identity::signature::authorization_header(
        who.access_key,
        who.secret_key,
        method.as_str(),
        path,
        query,
        &headers,
        &signed,
        body,
    )
    .expect("signs");
    headers.insert(
        "authorization",
        HeaderValue::from_str(&authorization).expect("header"),
    );
    let mut request = axum::http::Request::builder()
        .method(method.clone())
        .uri(path_and_query);
    if let Some(all) = request.headers_mut() {
        all.extend(headers);
    }
    request
        .body(axum::body::Body::from(body.to_vec()))
        .expect("request")
}

/// An engine over a fresh SQLite file, on a manual clock.
pub struct Harness {
    pub engine: Arc<Engine>,
    pub clock: ManualClock,
    pub store: Arc<SqliteStore>,
    pub _dir: tempfile::TempDir,
}

impl Harness {
    pub fn new(config: EngineConfig) -> Self {
        Self::with_faults(config, None)
    }

    pub fn with_faults(config: EngineConfig, faults: Option<Arc<dyn FaultInjector>>) -> Self {
        Self::build(config, faults, None)
    }

    /// An engine that reads each project's quotas from `source`, as `ecsd serve` gives it the
    /// accounts' ([`api::ecs::server_groups::AccountQuotas`]).
    pub fn with_quota_source(
        config: EngineConfig,
        source: Arc<dyn engine::quota::QuotaSource>,
    ) -> Self {
        Self::build(config, None, Some(source))
    }

    fn build(
        config: EngineConfig,
        faults: Option<Arc<dyn FaultInjector>>,
        quota_source: Option<Arc<dyn engine::quota::QuotaSource>>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(&dir.path().join("ecsd.db")).expect("store opens"));
        let clock = ManualClock::new(datetime!(2026-01-01 12:00 UTC));
        let mut engine = Self::unshared_engine(store.clone(), clock.clone(), config, faults);
        if let Some(source) = quota_source {
            engine = engine.with_quota_source(source);
        }
        let engine = Arc::new(engine);
        Self {
            engine,
            clock,
            store,
            _dir: dir,
        }
    }

    pub fn engine_over(
        store: Arc<SqliteStore>,
        clock: ManualClock,
        config: EngineConfig,
        faults: Option<Arc<dyn FaultInjector>>,
    ) -> Arc<Engine> {
        Arc::new(Self::unshared_engine(store, clock, config, faults))
    }

    fn unshared_engine(
        store: Arc<SqliteStore>,
        clock: ManualClock,
        config: EngineConfig,
        faults: Option<Arc<dyn FaultInjector>>,
    ) -> Engine {
        let clock: Arc<dyn Clock> = Arc::new(clock);
        let engine = Engine::new(store, clock, config);
        match faults {
            Some(faults) => engine.with_faults(faults),
            None => engine,
        }
    }

    /// Runs every step that is due now, until nothing is.
    pub async fn drain(&self) -> usize {
        let mut advanced = 0;
        while let engine::engine::RunOutcome::Ran(count) =
            self.engine.run_once().await.expect("engine step")
        {
            advanced += count;
        }
        advanced
    }

    /// The job as the engine shows it (phases computed at the clock's time).
    pub async fn job(&self, job_id: &str) -> engine::job::JobRecord {
        self.engine
            .job(PROJECT, job_id)
            .await
            .expect("readable")
            .expect("job exists")
    }

    /// The server as the engine shows it (phases computed at the clock's time).
    pub async fn server(&self, server_id: &str) -> engine::server::ServerRecord {
        self.engine
            .server(PROJECT, server_id)
            .await
            .expect("readable")
            .expect("server exists")
    }

    pub fn advance_ms(&self, ms: i64) {
        self.clock.advance(time::Duration::milliseconds(ms));
    }
}

pub fn config(latency: engine::compute::LatencyProfile) -> EngineConfig {
    EngineConfig {
        latency,
        ..EngineConfig::default()
    }
}

pub fn create_request(name: &str, count: u32) -> CreateServers {
    let catalogue = FlavorCatalogue::builtin();
    let flavor = catalogue
        .get(FLAVOR)
        .expect("FLAVOR is in eu-de's catalogue");
    CreateServers {
        name: name.to_owned(),
        count,
        flavor: FlavorRef::from(flavor),
        image_id: "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e".into(),
        vpc_id: "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11".into(),
        nics: vec![NicRequest {
            subnet_id: "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33".into(),
            ip_address: None,
        }],
        root_volume: VolumeRequest {
            volume_type: "SSD".into(),
            size_gib: None,
        },
        ..CreateServers::default()
    }
}

/// The body of a valid create request, as a client sends it.
pub fn create_body(name: &str, count: u32) -> serde_json::Value {
    serde_json::json!({
        "server": {
            "imageRef": "1ce5800f-6fbc-4bb0-a0e5-0d7b5f4c4c4e",
            "flavorRef": FLAVOR,
            "name": name,
            "count": count,
            "vpcid": "3b6a2f3e-6a0c-4c1d-9d7e-2f1b5f7b0a11",
            "nics": [{"subnet_id": "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33"}],
            "root_volume": {"volumetype": "SSD"}
        }
    })
}
