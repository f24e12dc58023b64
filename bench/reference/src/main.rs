//! `bench-reference`: the baselines of the ecsd benchmark (`bench/run.sh`).
//!
//! The benchmark reports ecsd's figures as ratios against servers measured in
//! the same run on the same machine, so that the goals do not depend on the
//! hardware. This binary is those servers. It answers exactly the two routes
//! the benchmark drives, and does the least work that a server with the same
//! promise could do:
//!
//! * `--mode memory`: jobs live in a `HashMap` behind an `RwLock`. Nothing is
//!   durable. This is the ceiling for the *job query* benchmark: HTTP parsing,
//!   routing, one map lookup and one JSON serialisation per request.
//! * `--mode sqlite-group`: `POST` inserts one row into SQLite (WAL,
//!   `synchronous=FULL`) and answers only after the commit is on disk. A single
//!   writer thread drains a channel and commits everything waiting in one
//!   transaction (group commit), so one fsync covers many requests. This is the
//!   baseline for *durable task delivery*: ecsd promises the same durability.
//! * `--mode sqlite-naive`: the same server, but the writer commits each row in
//!   its own transaction (a batch of one). It is reported next to the group
//!   commit figure to show what batching buys; ecsd is not compared to it.
//!
//! Routes (same paths and answer shapes as ecsd for the benchmarked requests):
//! * `POST /v1/{project_id}/cloudservers` → `200 {"job_id", "serverIds"}`
//! * `GET /v1/{project_id}/jobs/{job_id}` → `200` a finished `createServer` job
//!   with one `createSingleServer` sub-job (the documented example's shape), or
//!   `400 Common.0011` for an unknown job.

use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::{Parser, ValueEnum};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    /// Jobs in a HashMap behind an RwLock (not durable).
    Memory,
    /// SQLite, one writer thread, one transaction per drained batch.
    SqliteGroup,
    /// SQLite, one writer thread, one transaction per request.
    SqliteNaive,
}

/// Baseline servers for the ecsd benchmark.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Which baseline to run.
    #[arg(long, value_enum)]
    mode: Mode,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8780")]
    listen: SocketAddr,
    /// SQLite database file (sqlite modes only; created if missing).
    #[arg(long, required_if_eq_any = [("mode", "sqlite-group"), ("mode", "sqlite-naive")])]
    database: Option<PathBuf>,
    /// Largest number of rows committed in one transaction (sqlite-group).
    #[arg(long, default_value_t = 4096)]
    max_batch: usize,
}

/// What the GET answer needs to know about a job.
#[derive(Clone, Debug)]
struct JobRecord {
    project_id: String,
    sub_job_id: String,
    server_id: String,
    /// Acceptance time, already in the answer's format.
    created_at: String,
}

/// The GET answer: a finished createServer job shaped like the documented
/// example (ASYNC-OPERATIONS.md §1.4). The reference jobs finish instantly.
/// Typed and borrowed, so serialising it is one pass with no intermediate
/// `serde_json::Value` tree: a trivial server would do the same.
#[derive(Serialize)]
struct JobView<'a> {
    status: &'static str,
    entities: ParentEntities<'a>,
    job_id: &'a str,
    job_type: &'static str,
    begin_time: &'a str,
    end_time: &'a str,
    error_code: Option<&'a str>,
    fail_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct ParentEntities<'a> {
    sub_jobs_total: usize,
    sub_jobs: [SubJobView<'a>; 1],
}

#[derive(Serialize)]
struct SubJobView<'a> {
    status: &'static str,
    entities: SubJobEntities<'a>,
    job_id: &'a str,
    job_type: &'static str,
    begin_time: &'a str,
    end_time: &'a str,
    error_code: Option<&'a str>,
    fail_reason: Option<&'a str>,
}

#[derive(Serialize)]
struct SubJobEntities<'a> {
    server_id: &'a str,
}

fn job_view<'a>(job_id: &'a str, r: &'a JobRecord) -> JobView<'a> {
    let t = r.created_at.as_str();
    JobView {
        status: "SUCCESS",
        entities: ParentEntities {
            sub_jobs_total: 1,
            sub_jobs: [SubJobView {
                status: "SUCCESS",
                entities: SubJobEntities {
                    server_id: &r.server_id,
                },
                job_id: &r.sub_job_id,
                job_type: "createSingleServer",
                begin_time: t,
                end_time: t,
                error_code: None,
                fail_reason: None,
            }],
        },
        job_id,
        job_type: "createServer",
        begin_time: t,
        end_time: t,
        error_code: None,
        fail_reason: None,
    }
}

#[derive(Serialize)]
struct Created<'a> {
    job_id: &'a str,
    #[serde(rename = "serverIds")]
    server_ids: [&'a str; 1],
}

/// A row waiting for the writer thread, with the channel that tells the
/// request handler whether its commit succeeded.
struct Insert {
    job_id: String,
    record: JobRecord,
    body: String,
    done: oneshot::Sender<Result<(), String>>,
}

enum Backend {
    Memory(RwLock<HashMap<String, JobRecord>>),
    Sqlite {
        writer: mpsc::Sender<Insert>,
        readers: ReaderPool,
    },
}

type AppState = Arc<Backend>;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS jobs (
    job_id     TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    sub_job_id TEXT NOT NULL,
    server_id  TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
)";

const INSERT_SQL: &str =
    "INSERT INTO jobs (job_id, project_id, sub_job_id, server_id, body, created_at)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const SELECT_SQL: &str =
    "SELECT project_id, sub_job_id, server_id, created_at FROM jobs WHERE job_id = ?1";

fn open(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    // WAL + synchronous=FULL: a commit is durable once it returns (the WAL is
    // fsynced on every commit), which is what ecsd promises for a job.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// The single writer: take everything queued (up to `max_batch` rows), commit
/// it in one transaction, then answer every waiting request. With
/// `max_batch == 1` this is the naive one-transaction-per-request server.
fn writer_loop(mut conn: Connection, mut rx: mpsc::Receiver<Insert>, max_batch: usize) {
    let mut batch: Vec<Insert> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let result = commit(&mut conn, &batch).map_err(|e| e.to_string());
        for insert in batch.drain(..) {
            // The client may have gone away; nothing to do then.
            let _ = insert.done.send(result.clone());
        }
    }
}

fn commit(conn: &mut Connection, batch: &[Insert]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(INSERT_SQL)?;
        for i in batch {
            let r = &i.record;
            stmt.execute(params![
                i.job_id,
                r.project_id,
                r.sub_job_id,
                r.server_id,
                i.body,
                r.created_at
            ])?;
        }
    }
    tx.commit()
}

/// Read connections, reused across requests. A point lookup by primary key
/// takes microseconds and WAL readers never wait for the writer, so the query
/// runs directly on the async worker: the cheapest honest SQLite read.
struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn lookup(&self, job_id: &str) -> rusqlite::Result<Option<JobRecord>> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let found = conn
            .prepare_cached(SELECT_SQL)?
            .query_row([job_id], |row| {
                Ok(JobRecord {
                    project_id: row.get(0)?,
                    sub_job_id: row.get(1)?,
                    server_id: row.get(2)?,
                    created_at: row.get(3)?,
                })
            })
            .optional();
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        found
    }
}

// The baseline stands for a plain server with no injected clock; its timestamps are the wall clock.
#[allow(clippy::disallowed_methods)]
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `yyyy-mm-ddThh:mm:ss.SSSZ` (UTC), the format of the documented example.
fn iso_millis(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "error": { "message": message, "code": code, "details": [] } });
    (status, Json(body)).into_response()
}

async fn create_server(
    State(state): State<AppState>,
    Path(project_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if !body.get("server").is_some_and(Value::is_object) {
        return error(StatusCode::BAD_REQUEST, "Ecs.0005", "server is required");
    }
    let job_id = uuid::Uuid::new_v4().simple().to_string();
    let record = JobRecord {
        project_id,
        sub_job_id: uuid::Uuid::new_v4().simple().to_string(),
        server_id: uuid::Uuid::new_v4().to_string(),
        created_at: iso_millis(now_ms()),
    };
    let server_id = record.server_id.clone();
    match &*state {
        Backend::Memory(jobs) => {
            jobs.write()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(job_id.clone(), record);
        }
        Backend::Sqlite { writer, .. } => {
            let (done, committed) = oneshot::channel();
            let insert = Insert {
                job_id: job_id.clone(),
                record,
                body: body.to_string(),
                done,
            };
            let outcome = match writer.send(insert).await {
                Ok(()) => committed.await.map_err(|e| e.to_string()).and_then(|r| r),
                Err(e) => Err(e.to_string()),
            };
            if let Err(e) = outcome {
                return error(StatusCode::INTERNAL_SERVER_ERROR, "Common.0002", &e);
            }
        }
    }
    Json(Created {
        job_id: &job_id,
        server_ids: [&server_id],
    })
    .into_response()
}

async fn show_job(
    State(state): State<AppState>,
    Path((project_id, job_id)): Path<(String, String)>,
) -> Response {
    // A job is only visible in the project that created it.
    let found = match &*state {
        Backend::Memory(jobs) => jobs
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&job_id)
            .filter(|r| r.project_id == project_id)
            .map(|r| Json(job_view(&job_id, r)).into_response()),
        Backend::Sqlite { readers, .. } => match readers.lookup(&job_id) {
            Ok(r) => r
                .filter(|r| r.project_id == project_id)
                .map(|r| Json(job_view(&job_id, &r)).into_response()),
            Err(e) => {
                let msg = e.to_string();
                return error(StatusCode::INTERNAL_SERVER_ERROR, "Common.0002", &msg);
            }
        },
    };
    found.unwrap_or_else(|| error(StatusCode::BAD_REQUEST, "Common.0011", "invalid job ID"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let backend = match args.mode {
        Mode::Memory => Backend::Memory(RwLock::new(HashMap::new())),
        Mode::SqliteGroup | Mode::SqliteNaive => {
            let path = args.database.clone().ok_or("--database is required")?;
            let conn = open(&path)?;
            conn.execute(SCHEMA, [])?;
            let max_batch = if args.mode == Mode::SqliteNaive {
                1
            } else {
                args.max_batch.max(1)
            };
            let (tx, rx) = mpsc::channel(max_batch.max(1024));
            std::thread::Builder::new()
                .name("sqlite-writer".into())
                .spawn(move || writer_loop(conn, rx, max_batch))?;
            Backend::Sqlite {
                writer: tx,
                readers: ReaderPool {
                    path,
                    idle: Mutex::new(Vec::new()),
                },
            }
        }
    };
    let app = Router::new()
        .route("/v1/{project_id}/cloudservers", post(create_server))
        .route("/v1/{project_id}/jobs/{job_id}", get(show_job))
        .with_state(Arc::new(backend));
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    eprintln!(
        "bench-reference {:?} listening on {}",
        args.mode,
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await?;
    Ok(())
}

async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
