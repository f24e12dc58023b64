//! The `ecsd` binary as a library: the command line ([`Cli`]) and the server's lifecycle
//! ([`serve`]). `main.rs` only parses and calls; tests call [`serve`] directly or spawn the binary.

use anyhow::Context;
use api::identity::auth::{Auth, Identity};
use api::identity::login_limits::LoginLimits;
use api::identity::tokens::TokenKey;
use api::AppState;
use clap::{Args, Parser, Subcommand};
use engine::clock::{ClockMode, SystemClock, VirtualClock};
use engine::compute::LatencyProfile;
use engine::{Engine, EngineConfig};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use store::DatabaseUrl;
use tokio::net::TcpListener;

/// The local account used when none is configured. Documented in README; printed at start.
pub const DEFAULT_ACCESS_KEY: &str = "ECSDLOCALACCESSKEY01";
pub const DEFAULT_SECRET_KEY: &str = "ecsdLocalSecretKey00000000000000000000001";
pub const DEFAULT_PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
/// The default limit on unfinished jobs per project: far above what a test suite keeps in
/// flight, low enough that a runaway client cannot queue unbounded work.
pub const DEFAULT_MAX_UNFINISHED_JOBS: u32 = 1000;

#[derive(Debug, Parser)]
#[command(
    name = "ecsd",
    version,
    about = "A local, durable emulator of the Elastic Cloud Server (ECS) job API."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Log lines as text or as one JSON object a line (to stderr; RUST_LOG filters).
    #[arg(
        long,
        global = true,
        env = "ECSD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: logging::LogFormat,
}

pub mod admin;
pub mod banner;
pub mod call;
pub mod config;
pub mod listener;
pub mod logging;
pub mod output;
pub mod tls;

// Parsed once at start: the size of the `serve` variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the ECS API server.
    // Boxed: its many flags make it far larger than `Call`.
    Serve(Box<ServeArgs>),
    /// Send one signed request to ecsd and print the JSON answer (e.g.
    /// `ecsd call GET /v1/{project_id}/jobs/JOB_ID`,
    /// `ecsd call POST /v1/{project_id}/cloudservers --data @body.json --wait`).
    Call(call::CallArgs),
    /// Drive a running ecsd through its admin API and print the JSON answer (e.g.
    /// `ecsd admin requests --since 42`, `ecsd admin clock advance 10m`,
    /// `ecsd admin fault add --operation createServer --effect fail --error-code Ecs.0204`).
    Admin(admin::AdminArgs),
}

/// The local account: who `serve` accepts and who `call` signs as.
#[derive(Debug, Clone, Args)]
pub struct AccountArgs {
    /// Access key of the local account.
    #[arg(long, env = "ECSD_ACCESS_KEY", default_value = DEFAULT_ACCESS_KEY, hide_default_value = true)]
    pub access_key: String,

    /// Secret key of the local account (never logged).
    #[arg(long, env = "ECSD_SECRET_KEY", default_value = DEFAULT_SECRET_KEY, hide_default_value = true, hide_env_values = true)]
    pub secret_key: String,

    /// Project id of the local account.
    #[arg(long, env = "ECSD_PROJECT_ID", default_value = DEFAULT_PROJECT_ID, hide_default_value = true)]
    pub project_id: String,
}

/// The bootstrap account that `serve` always accepts, beside those of `--config`.
#[derive(Debug, Clone, Args)]
pub struct BootstrapIdentityArgs {
    #[command(flatten)]
    pub account: AccountArgs,

    /// Domain (account name) of the local account, for token requests.
    #[arg(long, env = "ECSD_DOMAIN", default_value = "ecsd")]
    pub domain: String,

    /// IAM user name of the local account, for token requests.
    #[arg(long, env = "ECSD_USER", default_value = "ecsd")]
    pub user: String,

    /// Password of that user (never logged).
    #[arg(long, env = "ECSD_PASSWORD", default_value = config::DEFAULT_PASSWORD, hide_default_value = true, hide_env_values = true)]
    pub password: String,

    /// Name of the local account's project (token requests scope by name).
    #[arg(long, env = "ECSD_PROJECT_NAME", default_value = "eu-de")]
    pub project_name: String,

    /// Region of the local account's project, as the token catalog shows it.
    #[arg(long, env = "ECSD_REGION", default_value = "eu-de")]
    pub region: String,
}

/// Whether requests must be authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Every ECS request needs a valid AK/SK signature or token.
    Verify,
    /// No checks (loopback only): for load tools that cannot sign.
    Off,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (host:port). Port 0 picks a free port.
    #[arg(long, env = "ECSD_LISTEN", default_value = "127.0.0.1:8774")]
    pub listen: SocketAddr,

    /// Where jobs and servers are stored: sqlite://PATH (the file and its folder are created).
    #[arg(
        long,
        env = "ECSD_DATABASE",
        default_value = "sqlite://ecsd-data/ecsd.db"
    )]
    pub database: String,

    /// How long simulated work takes: instant, fast (under 2 s a job) or realistic (cloud-like:
    /// tens of seconds to create, 15–35 s for power actions).
    #[arg(long, env = "ECSD_LATENCY", default_value = "fast", value_parser = parse_latency)]
    pub latency: LatencyProfile,

    /// The engine's clock: system (the wall clock) or virtual (starts at the wall time, then
    /// moves only by POST /_ecsd/clock: {"advance": "10m"} or {"set": "<RFC 3339>"}).
    #[arg(long, env = "ECSD_CLOCK", default_value = "system", value_parser = parse_clock)]
    pub clock: ClockMode,

    /// Make ids reproducible run to run (jobs, servers, ports, disks, MACs, addresses, request
    /// ids) for the same requests from the same starting state.
    #[arg(long, env = "ECSD_SEED")]
    pub seed: Option<u64>,

    /// Start from a snapshot file (from GET /_ecsd/export or the snapshots/ folder): its
    /// content replaces the database's before serving.
    #[arg(long = "import", env = "ECSD_IMPORT", value_name = "FILE")]
    pub import: Option<PathBuf>,

    /// Testing aid: accept jobs and answer reads, but write no task's end (jobs stay RUNNING
    /// past their due end until a start without it). Used to test recovery between a task's
    /// due end and its write.
    #[arg(long, env = "ECSD_ENGINE_PAUSED", hide = true)]
    pub engine_paused: bool,

    /// Testing aid: abort the process the Nth time the write path reaches POINT
    /// (`POINT[:N]`, one of `engine::crash::POINTS`), to test what survives a crash there.
    /// Hidden and without an environment variable, so that nobody sets it by accident.
    #[arg(long, hide = true, value_parser = engine::crash::CrashPlan::parse)]
    pub crash_at: Option<engine::crash::CrashPlan>,

    /// How long finished jobs stay queryable, e.g. 24h, 90m, 3600s, 7d (at least 1s).
    #[arg(long, env = "ECSD_JOB_RETENTION", default_value = "24h", value_parser = parse_duration)]
    pub job_retention: time::Duration,

    /// A JSON file that replaces the flavor catalogue of every region; same shape as the
    /// ListFlavors response: {"flavors": [...]}. A [[regions]] table of --config wins for its
    /// region.
    #[arg(long, env = "ECSD_FLAVORS")]
    pub flavors: Option<PathBuf>,

    /// A JSON file that replaces the built-in public image catalogue the Glance reads show:
    /// {"images": [{"id", "name", "os_distro", "os_version", "min_disk", "min_ram", "regions"}]}.
    #[arg(long, env = "ECSD_IMAGES")]
    pub images: Option<PathBuf>,

    /// Largest accepted request body, in bytes.
    #[arg(long, env = "ECSD_MAX_BODY_BYTES", default_value_t = api::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,

    /// How many unfinished jobs one project may have (0: no limit); more are refused with 429
    /// Common.1503 until some finish.
    #[arg(long, env = "ECSD_MAX_UNFINISHED_JOBS", default_value_t = DEFAULT_MAX_UNFINISHED_JOBS)]
    pub max_unfinished_jobs: u32,

    /// A TOML file of accounts ([[accounts]] with access_key, secret_key, domain, users and
    /// projects); see README. The local account from the flags is always there too.
    #[arg(long, env = "ECSD_CONFIG")]
    pub config: Option<PathBuf>,

    /// verify: every ECS request must be signed (AK/SK) or carry a token. off: no checks, for
    /// benchmarks with load tools that cannot sign; refused on a non-loopback address.
    #[arg(long, env = "ECSD_AUTH", value_enum, default_value = "verify")]
    pub auth: AuthMode,

    /// Listen on a non-loopback address although an account uses a documented default secret
    /// key or password.
    #[arg(long, env = "ECSD_ALLOW_DEFAULT_CREDENTIALS")]
    pub allow_default_credentials: bool,

    /// The admin API's credential (`/_ecsd/`: faults, clock, state, request log, metrics,
    /// dashboard), sent as `Authorization: Bearer <token>`. Without one the admin API answers
    /// loopback callers only, and ecsd refuses to listen off loopback.
    #[arg(long, env = "ECSD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// How many answered requests the request log keeps for GET /_ecsd/requests (the oldest
    /// are dropped beyond it; 0: none kept).
    #[arg(long, env = "ECSD_REQUEST_LOG_SIZE", default_value_t = api::admin::requests::DEFAULT_REQUEST_LOG_SIZE)]
    pub request_log_size: usize,

    /// Refuse request body fields ecsd does not model (e.g. a typo such as
    /// `availabilty_zone`) with 400 Ecs.0005 naming the field; without it they are ignored,
    /// logged as a warning and listed in the request log.
    #[arg(long, env = "ECSD_STRICT_BODIES")]
    pub strict_bodies: bool,

    /// Requests per second per access key, for accounts without their own rate_limit (0: none).
    #[arg(long, env = "ECSD_RATE_LIMIT", default_value_t = api::identity::auth::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,

    /// How long tokens from POST /v3/auth/tokens stay valid, e.g. 24h, 30m; also the longest
    /// lifetime a presented token may have.
    #[arg(long, env = "ECSD_TOKEN_TTL", default_value = "24h", value_parser = parse_duration)]
    pub token_ttl: time::Duration,

    /// Token requests (password checks) per second per account; all unknown domains share one
    /// such allowance (0: none).
    #[arg(long, env = "ECSD_TOKEN_RATE_LIMIT", default_value_t = LoginLimits::default().per_account)]
    pub token_rate_limit: u32,

    /// Token requests per second per client address (IPv6: per /64) (0: none).
    #[arg(long, env = "ECSD_TOKEN_CLIENT_RATE_LIMIT", default_value_t = LoginLimits::default().per_client)]
    pub token_client_rate_limit: u32,

    /// The base URL clients reach ecsd at, for the token catalog's endpoints (e.g.
    /// https://ecs.eu-de.otc.t-systems.com). Unset: http:// and the request's Host header,
    /// which must then be a plain host[:port].
    #[arg(long, env = "ECSD_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,

    /// How long one database read (a list, a job, a server) may take before it is stopped and
    /// answered 503 Ecsd.0503, e.g. 10s, 1m.
    #[arg(long, env = "ECSD_QUERY_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub query_timeout: time::Duration,
    /// How long a connection may take to send a request's headers (also an idle keep-alive
    /// connection, between its requests); then it is closed.
    #[arg(long, env = "ECSD_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: time::Duration,

    /// How long a request's body may take to arrive after its headers; then 408 Ecsd.0408.
    #[arg(long, env = "ECSD_BODY_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub body_read_timeout: time::Duration,

    /// How long a whole request may take, body and handling; then 503 Ecsd.0503. Also how long
    /// writing an answer may stall on a client that does not read it.
    #[arg(long, env = "ECSD_REQUEST_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub request_timeout: time::Duration,

    /// Most connections open at once; at the limit new connections wait to be accepted.
    #[arg(long, env = "ECSD_MAX_CONNECTIONS", default_value_t = listener::DEFAULT_MAX_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); needs
    /// --tls-key.
    #[arg(
        long,
        env = "ECSD_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "ECSD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve HTTPS with a certificate from a CA made at start, and write that CA's
    /// certificate (PEM) to this file for clients to trust. The certificate holds localhost,
    /// 127.0.0.1, ::1 and each --tls-name.
    #[arg(long, env = "ECSD_TLS_SELF_SIGNED", value_name = "CA_FILE")]
    pub tls_self_signed: Option<PathBuf>,

    /// A further name (DNS name or IP address) for the self-signed certificate, e.g.
    /// ecs.eu-de.otc.t-systems.com; repeat it, or separate names with commas.
    #[arg(
        long = "tls-name",
        env = "ECSD_TLS_NAMES",
        value_delimiter = ',',
        requires = "tls_self_signed"
    )]
    pub tls_names: Vec<String>,

    #[command(flatten)]
    pub identity: BootstrapIdentityArgs,
}

/// `http://` or `https://` and a `host[:port]`, with no path, query or user.
fn parse_public_url(text: &str) -> Result<String, String> {
    let authority = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| format!("{text:?} must start with http:// or https://"))?;
    if !api::identity::tokens::is_host_and_port(authority.trim_end_matches('/')) {
        return Err(format!(
            "{text:?} must be a scheme and host[:port] only, like https://ecs.eu-de.otc.t-systems.com"
        ));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn parse_clock(text: &str) -> Result<ClockMode, String> {
    ClockMode::parse(text).ok_or_else(|| format!("{text:?} is not a clock (system, virtual)"))
}

fn parse_latency(text: &str) -> Result<LatencyProfile, String> {
    LatencyProfile::parse(text)
        .ok_or_else(|| format!("{text:?} is not a latency profile (instant, fast, realistic)"))
}

/// `30s`, `90m`, `24h`, `7d`: a positive whole number and a unit.
pub fn parse_duration(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 90m, 24h or 7d"))?;
    let duration = match unit {
        "s" => time::Duration::seconds(number),
        "m" => time::Duration::minutes(number),
        "h" => time::Duration::hours(number),
        "d" => time::Duration::days(number),
        _ => {
            return Err(format!(
                "{text:?} is not a duration like 30s, 90m, 24h or 7d"
            ))
        }
    };
    if duration < time::Duration::seconds(1) {
        return Err(format!("{text:?} is too short: at least 1s"));
    }
    Ok(duration)
}

/// A duration from [`parse_duration`] (always positive) as the standard library's.
fn std_duration(duration: time::Duration) -> std::time::Duration {
    duration.unsigned_abs()
}

/// Everything `serve` needs, built from the arguments before the listener is bound.
pub struct Server {
    engine: Arc<Engine>,
    state: AppState,
    limits: listener::ConnectionLimits,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Server {
    pub fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        let url = DatabaseUrl::parse(&args.database)?;
        // Everything that can be refused is read before the store creates its files.
        let regions = config::regions(args.flavors.as_deref(), args.config.as_deref())?;
        let accounts = match args.auth {
            AuthMode::Off => None,
            AuthMode::Verify => {
                let accounts = config::accounts(&args.identity, args.config.as_deref())?;
                config::check_project_regions(&accounts, &regions)?;
                Some(accounts)
            }
        };
        let fault_specs = match args.config.as_deref() {
            Some(path) => config::read_faults(path)?,
            None => Vec::new(),
        };
        // Fault rules: the config file's `[[faults]]`, then whatever the admin API adds. The
        // registry's seed is `--seed` (probabilistic rules without a `seed` of their own then
        // fire alike run to run), else random.
        let rules = Arc::new(engine::faults::FaultRules::new(
            args.seed
                .unwrap_or_else(|| engine::job::random_uuid().as_u64_pair().0),
        ));
        for spec in fault_specs {
            rules
                .add(spec)
                .map_err(|error| anyhow::anyhow!("[[faults]] {error}"))?;
        }
        let latency = config::latency(args.latency, args.config.as_deref())?;
        if let Some(import) = &args.import {
            // Checked before the store opens, so a missing file leaves nothing behind.
            anyhow::ensure!(
                import.is_file(),
                "cannot import {}: no such file",
                import.display()
            );
        }
        let store = store::open_with(
            &url,
            &store::StoreOptions {
                read_deadline: Some(args.query_timeout.unsigned_abs()),
                import: args.import.clone(),
            },
        )
        .with_context(|| format!("cannot open the database {}", args.database))?;
        let config = EngineConfig {
            latency: args.latency,
            job_retention: args.job_retention,
            max_unfinished_jobs_per_project: Some(args.max_unfinished_jobs)
                .filter(|limit| *limit > 0),
            paused: args.engine_paused,
            seed: args.seed,
            ..EngineConfig::default()
        };
        let wall_clock: Arc<dyn engine::clock::Clock> = Arc::new(SystemClock);
        let token_key = TokenKey::new(store.token_signing_key());
        let mut engine = Engine::new(store, wall_clock.clone(), config).with_rules(rules);
        if let Some(accounts) = &accounts {
            // The engine resolves each project's quotas itself (no handler passes them).
            engine = engine.with_quota_source(Arc::new(
                api::ecs::server_groups::AccountQuotas::from_accounts(accounts),
            ));
        }
        if args.clock == ClockMode::Virtual {
            engine = engine.with_virtual_clock(VirtualClock::starting_now());
        }
        engine.set_latency(latency);
        let engine = Arc::new(engine);
        // Tokens live on the engine's clock (a virtual one expires them when advanced); the
        // signature date window and the rate limits stay on the wall clock (see README,
        // "Time").
        let engine_clock = engine.clock();
        let auth = match accounts {
            None => api::identity::auth::Auth::Off,
            Some(accounts) => Auth::Verify(Arc::new(
                Identity::new(accounts, engine_clock, token_key)
                    .with_wall_clock(wall_clock)
                    .with_token_ttl(args.token_ttl)
                    .with_default_rate_limit(args.rate_limit)
                    .with_login_limits(LoginLimits {
                        per_account: args.token_rate_limit,
                        per_client: args.token_client_rate_limit,
                        ..LoginLimits::default()
                    })
                    .with_public_url(args.public_url.clone()),
            )),
        };
        let images = match &args.images {
            Some(path) => api::nova::images::ImageCatalogue::from_file(path)
                .with_context(|| format!("cannot load the image catalogue {}", path.display()))?,
            None => api::nova::images::ImageCatalogue::builtin(),
        };
        let state = AppState::new(engine.clone(), regions, args.max_body_bytes, auth)
            .with_admin(api::admin::access::AdminAccess::with_token(
                args.admin_token.as_deref(),
            ))
            .with_images(images)
            .with_request_log_size(args.request_log_size)
            .with_strict_bodies(args.strict_bodies)
            .with_body_read_timeout(std_duration(args.body_read_timeout))
            .with_request_timeout(std_duration(args.request_timeout));
        let limits = listener::ConnectionLimits {
            header_read_timeout: std_duration(args.header_read_timeout),
            max_connections: effective_max_connections(args.max_connections),
            // An answer is part of its request: not read within the request timeout, it is
            // given up.
            write_stall_timeout: std_duration(args.request_timeout),
            // Every request ends within the request timeout, and every unfinished head
            // within the header-read timeout: then nothing legitimate is left to wait for.
            shutdown_grace: std_duration(args.request_timeout.max(args.header_read_timeout)),
        };
        let tls = match (&args.tls_cert, &args.tls_key, &args.tls_self_signed) {
            (Some(cert), Some(key), _) => Some(tls::from_pem_files(cert, key)?),
            (_, _, Some(ca_file)) => Some(tls::self_signed(&args.tls_names, ca_file)?),
            _ => None,
        };
        Ok(Self {
            engine,
            state,
            limits,
            tls,
        })
    }

    /// Serves on `listener` ([`listener::serve`]: the connection limits, TLS if configured)
    /// until `shutdown` completes: then stops accepting, lets in-flight requests finish (for
    /// at most the longer of the request and header-read timeouts), stops the engine after its
    /// current step, and flushes the store. Unfinished jobs stay stored and resume at the next
    /// start.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let unfinished = self.engine.unfinished_jobs().await?;
        if unfinished > 0 {
            tracing::info!(unfinished, "resuming unfinished jobs");
        }
        let (stop_engine, engine_stopped) = tokio::sync::watch::channel(false);
        let engine_task = tokio::spawn(self.engine.clone().run(engine_stopped));
        let app = api::router(self.state);
        // Open event streams (`/_ecsd/events`, the dashboard) never finish by themselves: end
        // them when shutdown starts, or they would hold the graceful shutdown to its grace.
        let engine = self.engine.clone();
        let shutdown = async move {
            shutdown.await;
            engine.events().close();
        };
        listener::serve(listener, app, self.limits, self.tls, shutdown).await;
        tracing::info!("no longer accepting requests; stopping the engine");
        let _ = stop_engine.send(true);
        engine_task.await?;
        Ok(())
    }
}

/// The connection cap that the process's open-files limit (`ulimit -n`) allows: above it,
/// accept would fail (EMFILE) before the cap is reached, and every accept would stall. The
/// other descriptors (the database, its WAL and readers, the listener, the runtime, standard
/// streams) were 25 when measured; [`listener::RESERVED_DESCRIPTORS`] leaves room for them.
fn effective_max_connections(requested: u32) -> u32 {
    let Some(limit) = listener::open_files_limit() else {
        return requested;
    };
    let allowed = listener::connections_allowed(requested, limit);
    if allowed < requested {
        tracing::warn!(
            requested,
            allowed,
            open_files_limit = limit,
            "--max-connections lowered to what the open-files limit leaves (raise `ulimit -n` for more)"
        );
    }
    allowed
}

/// Refuses to serve `address` to the network with no authentication, or with credentials
/// anyone can read in the README, unless told to. Reads only the arguments and the config
/// file, so it runs before anything is bound or created.
fn check_exposure(args: &ServeArgs, address: SocketAddr) -> anyhow::Result<()> {
    if address.ip().is_loopback() {
        return Ok(());
    }
    if args.admin_token.as_deref().is_none_or(str::is_empty) {
        anyhow::bail!(
            "refusing to listen on {address} without an admin token: anyone on the network could reset the state or inject faults through /_ecsd/; set ECSD_ADMIN_TOKEN (or --admin-token), or use a loopback address"
        );
    }
    match args.auth {
        AuthMode::Off => anyhow::bail!(
            "refusing to listen on {address} with --auth off: anyone on the network could use the API; use a loopback address"
        ),
        AuthMode::Verify
            if !args.allow_default_credentials
                && config::uses_default_credentials(&config::accounts(
                    &args.identity,
                    args.config.as_deref(),
                )?) =>
        {
            anyhow::bail!(
                "refusing to listen on {address} with the documented default credentials; set ECSD_SECRET_KEY and ECSD_PASSWORD (and any config account's secrets) to your own, or pass --allow-default-credentials"
            )
        }
        AuthMode::Verify => Ok(()),
    }
}

/// Checks the exposure, binds `args.listen` (both before any file is created, so a busy port
/// leaves no database behind), opens the store, prints the banner, and serves until
/// SIGINT/SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(plan) = args.crash_at.clone() {
        // Armed before the store opens, so that a migration step can be crashed too.
        engine::crash::arm(plan);
    }
    check_exposure(&args, args.listen)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let server = Server::build(&args)?;
    let address = listener.local_addr()?;
    let scheme = if server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Before the banner: a client (or a test) may signal as soon as it has read it.
    let shutdown = shutdown_signal();
    let contents =
        banner::DatabaseContents::read(&args.database, &server.engine, args.import.as_deref())
            .await;
    banner::print(&args, &server.state.auth, scheme, address, &contents);
    server.run(listener, shutdown).await
}

/// SIGINT or SIGTERM. The handlers are installed when this is called, not when the future is
/// first polled: the serving loop may not poll it before the first requests are served, and a
/// SIGTERM before then would kill the process (the default action) instead of draining it
/// (seen in the checkpoint crash test on a loaded machine).
fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let (interrupt, terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &'static str| {
            let registered = signal(kind);
            async move {
                match registered {
                    Ok(mut signal) => {
                        signal.recv().await;
                    }
                    Err(error) => {
                        tracing::error!(%error, "cannot listen for {name}");
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        (
            listen(SignalKind::interrupt(), "SIGINT"),
            listen(SignalKind::terminate(), "SIGTERM"),
        )
    };
    #[cfg(not(unix))]
    let (interrupt, terminate) = (
        async {
            if let Err(error) = tokio::signal::ctrl_c().await {
                tracing::error!(%error, "cannot listen for SIGINT");
                std::future::pending::<()>().await;
            }
        },
        std::future::pending::<()>(),
    );
    async move {
        tokio::select! {
            _ = interrupt => tracing::info!("SIGINT received; shutting down"),
            _ = terminate => tracing::info!("SIGTERM received; shutting down"),
        }
    }
}

#[cfg(test)]
/// Parses `args` as the command line, ignoring the environment: every flag's variable is
/// switched off, so the defaults are the defaults whatever `ECSD_*` the caller has set.
pub(crate) fn parse_without_env(args: &[&str]) -> Result<Cli, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let command = Cli::command()
        .mut_args(|arg| arg.env(None))
        .mut_subcommand("serve", |serve| serve.mut_args(|arg| arg.env(None)))
        .mut_subcommand("call", |call| call.mut_args(|arg| arg.env(None)))
        .mut_subcommand("admin", |admin| admin.mut_args(|arg| arg.env(None)));
    Cli::from_arg_matches(&command.try_get_matches_from(args)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(parse_duration("24h"), Ok(time::Duration::hours(24)));
        assert_eq!(parse_duration("90m"), Ok(time::Duration::minutes(90)));
        assert_eq!(parse_duration("7d"), Ok(time::Duration::days(7)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("10 parsecs").is_err());
    }

    #[test]
    fn the_cli_contract_parses_with_its_defaults() {
        let cli = parse_without_env(&["ecsd", "serve"]).expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("`serve` parses as Serve")
        };
        assert_eq!(args.listen.to_string(), "127.0.0.1:8774");
        assert_eq!(args.latency, LatencyProfile::Fast);
        assert_eq!(args.auth, AuthMode::Verify, "verification is on by default");
        assert_eq!(args.identity.project_name, "eu-de");
        assert_eq!(args.header_read_timeout, time::Duration::seconds(10));
        assert_eq!(args.body_read_timeout, time::Duration::seconds(30));
        assert_eq!(args.request_timeout, time::Duration::seconds(60));
        assert_eq!(args.max_connections, 1024);
        assert_eq!(args.request_log_size, 10_000);
        assert!(!args.strict_bodies, "strict bodies are opt-in");
        assert!(parse_without_env(&["ecsd", "serve", "--max-connections", "0"]).is_err());
        assert_eq!(
            (args.tls_cert.as_ref(), args.tls_self_signed.as_ref()),
            (None, None)
        );
        for incomplete in [
            &["--tls-cert", "c.pem"][..],
            &["--tls-key", "k.pem"],
            &["--tls-name", "ecs.eu-de.otc.t-systems.com"],
            &[
                "--tls-cert",
                "c.pem",
                "--tls-key",
                "k.pem",
                "--tls-self-signed",
                "ca.pem",
            ],
        ] {
            let args = [&["ecsd", "serve"][..], incomplete].concat();
            assert!(parse_without_env(&args).is_err(), "{incomplete:?}");
        }
        let cli = parse_without_env(&[
            "ecsd",
            "serve",
            "--tls-self-signed",
            "ca.pem",
            "--tls-name",
            "a.example,b.example",
            "--tls-name",
            "c.example",
        ])
        .expect("parses");
        let Command::Serve(args) = cli.command else {
            panic!("`serve` parses as Serve")
        };
        assert_eq!(args.tls_names, ["a.example", "b.example", "c.example"]);
        assert!(parse_without_env(&["ecsd", "serve", "--auth", "maybe"]).is_err());
        assert!(parse_without_env(&["ecsd", "serve", "--latency", "slow"]).is_err());
        let call = parse_without_env(&["ecsd", "call", "get", "/v1/{project_id}/jobs/x", "--wait"])
            .expect("parses");
        let Command::Call(call) = call.command else {
            panic!("`call` parses as Call")
        };
        assert_eq!(call.endpoint, "http://127.0.0.1:8774");
        assert_eq!(call.account.project_id, DEFAULT_PROJECT_ID);
    }
}
