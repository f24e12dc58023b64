//! The SQLite backend: one file, WAL mode, `synchronous=FULL`, group commit.
//!
//! All writes go through one writer thread that owns the only writing connection. It takes every
//! command waiting in its queue, applies each inside its own savepoint of one transaction, commits
//! once (one fsync for the whole group), and only then answers each caller. So "acknowledged"
//! always means "on disk", and the cost of the fsync is shared by every request that arrived while
//! the previous commit was running. Reads use a small pool of read-only connections and never
//! wait for the writer (WAL readers see the last commit); they run on tokio's blocking pool,
//! never on the async workers, each within a deadline ([`crate::sqlite_readers`]).
//!
//! Client writes (accepting jobs) go before engine writes (task ends) when both wait; see
//! [`write_loop`]. A job's tasks live in its row ([`crate::sqlite_tasks`]): acceptance writes
//! their schedules once, and only each task's end is written after it.
//!
//! A lock file next to the database keeps a second ecsd process off the same file: this backend
//! is single-node, so the engine that owns the file is the only one running tasks.

use crate::sqlite_catalog::{self, CatalogWrite};
use crate::sqlite_groups;
use crate::sqlite_jobs;
use crate::sqlite_readers::Readers;
use crate::sqlite_state;
use crate::sqlite_tasks;
use crate::StoreOptions;
use engine::job::{JobKind, JobRecord, JobStatus};
use engine::quota::{ServerGroupInsert, ServerGroupMembership, ServerGroupRecord, Usage};
use engine::server::{
    PowerTriple, ServerDoc, ServerFault, ServerRecord, ServerStatus, TaskState, VmState,
};
use engine::store::{
    BoxFuture, ImageRecord, Insertion, JobInsert, JobInsertError, JobQuery, KeyPairRecord,
    Rejection, Reservation, ResetCounts, ServerEdit, ServerEditError, ServerPage, ServerQuery,
    ServerUpdate, SnapshotError, SnapshotInfo, Store, StoreError, TagMatch, TaskClaim, TaskEnd,
};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;
use tokio::sync::oneshot;

/// The most commands one commit takes; bounds the latency a single group can add.
const MAX_GROUP: usize = 512;
const READERS: usize = 4;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    job_type    TEXT NOT NULL,
    status      TEXT NOT NULL,
    begin_time  INTEGER NOT NULL,
    end_time    INTEGER,
    error_code  TEXT,
    fail_reason TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (end_time) WHERE end_time IS NOT NULL;
-- Unfinished jobs per project, for the per-project limit. Small: only unfinished jobs are in it.
-- (Created at every open, so databases made before it get it too.)
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (project_id) WHERE end_time IS NULL;

-- Keyed by (job, position): a job's tasks are one range, and a step finds its task by key.
CREATE TABLE IF NOT EXISTS tasks (
    job_id      TEXT NOT NULL,
    idx         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    server_id   TEXT NOT NULL,
    operation   TEXT NOT NULL,
    status      TEXT NOT NULL,
    step        INTEGER NOT NULL,
    -- NULL once the task is finished, so the due index only holds live tasks.
    next_run_at INTEGER,
    begin_time  INTEGER NOT NULL,
    end_time    INTEGER,
    error_code  TEXT,
    fail_reason TEXT,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (next_run_at) WHERE next_run_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS servers (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    flavor_id   TEXT NOT NULL,
    -- Derived from vm_state and task_state on every write; kept only to filter lists.
    status      TEXT NOT NULL,
    vm_state    TEXT NOT NULL,
    task_state  TEXT,
    power_state INTEGER NOT NULL,
    progress    INTEGER NOT NULL,
    busy_job_id TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    launched_at INTEGER,
    fault       TEXT,
    doc         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS servers_by_project ON servers (project_id, seq);

-- Idempotency tokens (X-Client-Token) and the job each one made.
CREATE TABLE IF NOT EXISTS client_tokens (
    project_id   TEXT NOT NULL,
    token        TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    job_id       TEXT NOT NULL,
    server_ids   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, token)
) WITHOUT ROWID;
"#;

/// The layout of [`SCHEMA`] plus [`MIGRATIONS`]; stored as `PRAGMA user_version`. A file of an
/// older version is migrated step by step; a newer one is refused rather than misread.
const SCHEMA_VERSION: i64 = 7;

/// The steps after version 1 ([`SCHEMA`], which never changes: users have databases of it):
/// `MIGRATIONS[i]` takes a database from version `i + 1` to `i + 2`. Each step lives in its own
/// constant so steps from different branches can be renumbered when they meet.
const MIGRATIONS: &[&str] = &[
    // 1 → 2: server groups.
    sqlite_groups::MIGRATION_SERVER_GROUPS,
    // 2 → 3: settings made once per database (the token signing key).
    MIGRATION_SETTINGS,
    // 3 → 4: key pairs (Nova's os-keypairs).
    sqlite_catalog::MIGRATION_KEYPAIRS,
    // 4 → 5: private images made from servers (Nova's createImage).
    sqlite_catalog::MIGRATION_IMAGES,
    // 5 → 6: tasks held in their job's row, with a schedule ([`sqlite_tasks`]); the rows of
    // the per-step model are moved there by [`sqlite_tasks::migrate_tasks_into_jobs`].
    sqlite_tasks::MIGRATION_JOB_TASKS,
    // 6 → 7: the job list's index ([`sqlite_jobs`]).
    sqlite_jobs::MIGRATION_JOB_LIST,
];

/// Values made once per database and shared by every process that opens it.
const MIGRATION_SETTINGS: &str = r#"
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;
"#;

/// Returns the database's token signing key, making it the first time (32 bytes from the
/// operating system's random source). `INSERT OR IGNORE` keeps the first key if two processes
/// race (only possible on backends that allow several; SQLite's lock file refuses a second).
fn token_signing_key(connection: &Connection) -> Result<Vec<u8>, StoreError> {
    let mut candidate = [0u8; 32];
    getrandom::fill(&mut candidate).map_err(|error| {
        StoreError::Backend(format!("no random source for the token key: {error}"))
    })?;
    connection
        .execute(
            "INSERT OR IGNORE INTO settings (name, value) VALUES ('token_signing_key', ?1)",
            params![candidate.as_slice()],
        )
        .map_err(backend)?;
    let key: Vec<u8> = connection
        .query_row(
            "SELECT value FROM settings WHERE name = 'token_signing_key'",
            [],
            |row| row.get(0),
        )
        .map_err(backend)?;
    if key.len() < 32 {
        return Err(StoreError::Corrupt(
            "the token signing key is shorter than 32 bytes".to_owned(),
        ));
    }
    Ok(key)
}

/// Brings a database at version 1 or later up to [`SCHEMA_VERSION`], one step per transaction.
/// `existing`: the file held a database before this start (only then is a migration logged).
fn migrate(connection: &mut Connection, existing: bool) -> Result<(), StoreError> {
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(backend)?;
    for (index, step) in MIGRATIONS.iter().enumerate() {
        let to = index as i64 + 2;
        if version >= to {
            continue;
        }
        let transaction = connection.transaction().map_err(backend)?;
        transaction
            .execute_batch(&format!("{step}\nPRAGMA user_version = {to};"))
            .map_err(backend)?;
        if to == 6 {
            sqlite_tasks::migrate_tasks_into_jobs(&transaction)?;
        }
        engine::crash::reached("migration", "before_commit", 1);
        transaction.commit().map_err(backend)?;
        engine::crash::reached("migration", "after_commit", 1);
        if existing {
            tracing::info!(from = to - 1, to, "migrated the database schema");
        }
    }
    Ok(())
}

/// Refuses a file of an unknown schema version; a new (empty) file is set to version 1. Returns
/// whether the file was new.
fn check_schema_version(connection: &Connection, path: &Path) -> Result<bool, StoreError> {
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(backend)?;
    let empty: bool = connection
        .query_row("SELECT count(*) = 0 FROM sqlite_master", [], |row| {
            row.get(0)
        })
        .map_err(backend)?;
    if empty {
        // A new file starts at version 1 ([`SCHEMA`]) and is migrated like any other.
        connection
            .execute_batch("PRAGMA user_version = 1;")
            .map_err(backend)?;
    } else if !(1..=SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::Backend(format!(
            "{} has schema version {version}, this ecsd uses {SCHEMA_VERSION}; use a new database file",
            path.display()
        )));
    }
    Ok(empty)
}

/// A write and the caller waiting for its result.
struct Pending {
    command: Command,
    reply: Reply,
}

enum Command {
    JobInsert(Box<JobInsert>),
    TaskEnd(Vec<TaskEnd>),
    JobPurge(i64),
    ServerUpdate(Box<ServerUpdate>),
    ServerEdit(Box<ServerEdit>),
    GroupInsert(Box<ServerGroupInsert>),
    GroupDelete {
        project_id: String,
        group_id: String,
        now: i64,
    },
    GroupMembership(Box<ServerGroupMembership>),
    Catalog(Box<CatalogWrite>),
    /// A reset, snapshot or restore: run alone on the writer's connection, between groups
    /// ([`write_group`]), never inside a group's transaction.
    State(StateCommand),
}

enum StateCommand {
    Reset(Option<String>),
    Save(PathBuf),
    Restore(PathBuf),
}

enum StateDone {
    Reset(ResetCounts),
    Saved,
    Restored,
}

enum Reply {
    JobInsert(oneshot::Sender<Result<Insertion, JobInsertError>>),
    TaskEnd(oneshot::Sender<Result<usize, StoreError>>),
    JobPurge(oneshot::Sender<Result<u64, StoreError>>),
    ServerUpdate(oneshot::Sender<Result<bool, StoreError>>),
    ServerEdit(oneshot::Sender<Result<ServerRecord, ServerEditError>>),
    GroupInsert(oneshot::Sender<Result<(), JobInsertError>>),
    GroupDelete(oneshot::Sender<Result<bool, StoreError>>),
    GroupMembership(oneshot::Sender<Result<(), JobInsertError>>),
    Catalog(oneshot::Sender<Result<bool, StoreError>>),
    State(oneshot::Sender<Result<StateDone, SnapshotError>>),
}

/// A command's result, held until its group's commit is known.
enum Done {
    JobInsert(Result<Insertion, JobInsertError>),
    TaskEnd(Result<usize, StoreError>),
    JobPurge(Result<u64, StoreError>),
    ServerUpdate(Result<bool, StoreError>),
    ServerEdit(Result<Box<ServerRecord>, ServerEditError>),
    GroupInsert(Result<(), JobInsertError>),
    GroupDelete(Result<bool, StoreError>),
    GroupMembership(Result<(), JobInsertError>),
    Catalog(Result<bool, StoreError>),
    State(Result<StateDone, SnapshotError>),
}

impl Done {
    /// Whether the command failed in the store (and may have written part of its work), as
    /// opposed to succeeding or being rejected before any write.
    fn store_failed(&self) -> bool {
        matches!(
            self,
            Done::JobInsert(Err(JobInsertError::Store(_)))
                | Done::TaskEnd(Err(_))
                | Done::JobPurge(Err(_))
                | Done::ServerUpdate(Err(_))
                | Done::ServerEdit(Err(ServerEditError::Store(_)))
                | Done::GroupInsert(Err(JobInsertError::Store(_)))
                | Done::GroupDelete(Err(_))
                | Done::GroupMembership(Err(JobInsertError::Store(_)))
                | Done::Catalog(Err(_))
                | Done::State(Err(_))
        )
    }
}

impl Reply {
    fn send(self, done: Done) {
        // A reply of another kind than its command cannot be built by `apply`; the fallback
        // still answers rather than leaving the caller waiting.
        let mismatch = || StoreError::Backend("internal: reply of the wrong kind".to_owned());
        match (self, done) {
            (Reply::JobInsert(reply), Done::JobInsert(result)) => drop(reply.send(result)),
            (Reply::TaskEnd(reply), Done::TaskEnd(result)) => drop(reply.send(result)),
            (Reply::JobPurge(reply), Done::JobPurge(result)) => drop(reply.send(result)),
            (Reply::ServerUpdate(reply), Done::ServerUpdate(result)) => drop(reply.send(result)),
            (Reply::ServerEdit(reply), Done::ServerEdit(result)) => {
                drop(reply.send(result.map(|server| *server)))
            }
            (Reply::GroupInsert(reply), Done::GroupInsert(result)) => drop(reply.send(result)),
            (Reply::GroupDelete(reply), Done::GroupDelete(result)) => drop(reply.send(result)),
            (Reply::GroupMembership(reply), Done::GroupMembership(result)) => {
                drop(reply.send(result))
            }
            (Reply::Catalog(reply), Done::Catalog(result)) => drop(reply.send(result)),
            (Reply::State(reply), Done::State(result)) => drop(reply.send(result)),
            (reply, _) => reply.fail(mismatch()),
        }
    }

    fn fail(self, error: StoreError) {
        match self {
            Reply::JobInsert(reply) => drop(reply.send(Err(JobInsertError::Store(error)))),
            Reply::TaskEnd(reply) => drop(reply.send(Err(error))),
            Reply::JobPurge(reply) => drop(reply.send(Err(error))),
            Reply::ServerUpdate(reply) => drop(reply.send(Err(error))),
            Reply::ServerEdit(reply) => drop(reply.send(Err(ServerEditError::Store(error)))),
            Reply::GroupInsert(reply) => drop(reply.send(Err(JobInsertError::Store(error)))),
            Reply::GroupDelete(reply) => drop(reply.send(Err(error))),
            Reply::GroupMembership(reply) => drop(reply.send(Err(JobInsertError::Store(error)))),
            Reply::Catalog(reply) => drop(reply.send(Err(error))),
            Reply::State(reply) => drop(reply.send(Err(SnapshotError::Store(error)))),
        }
    }
}

/// How the store reaches the disk. Always the default outside the power-loss tests.
pub(crate) struct Durability {
    /// The SQLite VFS to open the file with; `None`: SQLite's default.
    pub(crate) vfs: Option<&'static str>,
    /// `PRAGMA synchronous`. `FULL`: a WAL commit is synced before it returns, which is what
    /// makes an answered `{"job_id"}` survive a power loss (`NORMAL` syncs only at checkpoints).
    pub(crate) synchronous: &'static str,
}

impl Default for Durability {
    fn default() -> Self {
        Self {
            vfs: None,
            synchronous: "FULL",
        }
    }
}

/// What the writer reports ([`Store::observe`], [`Store::writer_queue_depth`]), shared by the
/// store and its writer thread. Atomics and one read lock per commit: nothing a client waits on.
#[derive(Debug, Default)]
struct WriterStats {
    /// Commands sent to the writer and not yet answered (queued, or in the group committing).
    queued: AtomicU64,
    observer: RwLock<Option<Arc<dyn engine::stats::Observer>>>,
}

impl WriterStats {
    /// A group of `size` commands was answered; `committed` when its transaction committed.
    fn answered(&self, size: usize, committed: Option<std::time::Duration>) {
        self.queued.fetch_sub(size as u64, Ordering::Relaxed);
        if let Some(elapsed) = committed {
            if let Some(observer) = self
                .observer
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .as_ref()
            {
                observer.writer_committed(size, elapsed);
            }
        }
    }
}

#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    stats: Arc<WriterStats>,
    writer: Mutex<Option<mpsc::Sender<Pending>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Arc<Readers>,
    token_signing_key: Vec<u8>,
    /// Where snapshots are kept: `snapshots/` beside the database.
    snapshots: PathBuf,
    /// The private folder of an ephemeral database (`sqlite::memory:`), removed on drop.
    ephemeral_dir: Option<PathBuf>,
    /// Held for the life of the store: the lock that keeps other processes off the file.
    _lock: File,
}

pub(crate) fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, with the default options.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Opens (creating if needed) the database at `path`.
    pub fn open_with(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        Self::open_on(path, options, &Durability::default())
    }

    /// [`SqliteStore::open_with`] through the VFS and with the `synchronous` mode `durability`
    /// names: the power-loss tests' way in (the VFS that drops unsynced writes, and the
    /// `OFF` that proves the test would notice).
    pub(crate) fn open_on(
        path: &Path,
        options: &StoreOptions,
        durability: &Durability,
    ) -> Result<Self, StoreError> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::Backend(format!("cannot create {}: {error}", parent.display()))
            })?;
        }
        let lock_path = path.with_extension("lock");
        let lock = File::create(&lock_path).map_err(|error| {
            StoreError::Backend(format!("cannot create {}: {error}", lock_path.display()))
        })?;
        lock.try_lock().map_err(|_| {
            StoreError::Backend(format!(
                "{} is in use by another ecsd process (lock {} is held)",
                path.display(),
                lock_path.display()
            ))
        })?;
        if let Some(import) = &options.import {
            sqlite_state::import(path, import, SCHEMA_VERSION)?;
        }

        let connect = || match durability.vfs {
            Some(vfs) => {
                Connection::open_with_flags_and_vfs(path, rusqlite::OpenFlags::default(), vfs)
            }
            None => Connection::open(path),
        };
        let mut writer_connection = connect().map_err(backend)?;
        writer_connection
            .execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = {};
                 PRAGMA temp_store = MEMORY;
                 PRAGMA busy_timeout = 5000;
                 PRAGMA cache_size = -32768;
                 PRAGMA wal_autocheckpoint = 10000;",
                durability.synchronous
            ))
            .map_err(backend)?;
        let new_file = check_schema_version(&writer_connection, path)?;
        writer_connection.execute_batch(SCHEMA).map_err(backend)?;
        migrate(&mut writer_connection, !new_file)?;
        let token_signing_key = token_signing_key(&writer_connection)?;

        let readers = (0..READERS)
            .map(|_| {
                let connection = connect().map_err(backend)?;
                connection
                    .execute_batch("PRAGMA query_only = ON; PRAGMA busy_timeout = 5000;")
                    .map_err(backend)?;
                Ok(connection)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let readers = Arc::new(Readers::new(readers, options.read_deadline));

        let (sender, receiver) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let writer_stats = Arc::clone(&stats);
        let writer_thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer_connection, receiver, &writer_stats))
            .map_err(|error| StoreError::Backend(format!("cannot start the writer: {error}")))?;
        Ok(Self {
            path: path.to_owned(),
            stats,
            writer: Mutex::new(Some(sender)),
            writer_thread: Mutex::new(Some(writer_thread)),
            readers,
            token_signing_key,
            snapshots: sqlite_state::snapshot_dir(path),
            ephemeral_dir: None,
            _lock: lock,
        })
    }

    /// A database for one run only (`sqlite::memory:`): a file in a private temporary folder,
    /// removed with everything in it (snapshots too) when the store is dropped. A file rather
    /// than SQLite's `:memory:`, because the writer and the readers are separate connections
    /// and WAL needs a file; the page cache keeps it in memory in practice.
    pub fn open_ephemeral(options: &StoreOptions) -> Result<Self, StoreError> {
        let dir = std::env::temp_dir().join(format!(
            "ecsd-ephemeral-{}-{}",
            std::process::id(),
            engine::job::random_uuid().simple()
        ));
        std::fs::create_dir_all(&dir).map_err(|error| {
            StoreError::Backend(format!("cannot create {}: {error}", dir.display()))
        })?;
        match Self::open_with(&dir.join("ecsd.db"), options) {
            Ok(mut store) => {
                store.ephemeral_dir = Some(dir);
                Ok(store)
            }
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(error)
            }
        }
    }

    /// Sends a state command to the writer and waits for it.
    fn state_command(
        &self,
        command: StateCommand,
    ) -> BoxFuture<'_, Result<StateDone, SnapshotError>> {
        let (sender, receiver) = oneshot::channel();
        let sent = self.send(Command::State(command), Reply::State(sender));
        Box::pin(async move {
            sent?;
            reply(receiver).await?
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes the queued writes and stops the writer. Later writes fail with `Closed`.
    pub fn close(&self) {
        self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = self
            .writer_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = thread.join();
        }
    }

    /// Sends a key pair write to the writer and waits for its commit.
    fn catalog_write(&self, write: CatalogWrite) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.write(Command::Catalog(Box::new(write)), Reply::Catalog)
    }

    /// Sends one command to the writer; the future resolves with its result once the commit
    /// that holds it is known (or `Closed` when the writer is gone). Every write of the `Store`
    /// is this call with its command and its reply slot, so none can forget to await the commit.
    fn write<T, E>(
        &self,
        command: Command,
        slot: fn(oneshot::Sender<Result<T, E>>) -> Reply,
    ) -> BoxFuture<'_, Result<T, E>>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (sender, receiver) = oneshot::channel();
        let sent = self.send(command, slot(sender));
        Box::pin(async move {
            sent?;
            reply(receiver).await?
        })
    }

    fn send(&self, command: Command, reply: Reply) -> Result<(), StoreError> {
        let writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        // Counted before the send, so the writer never answers a command not yet counted.
        self.stats.queued.fetch_add(1, Ordering::Relaxed);
        let sent = match writer.as_ref() {
            Some(sender) => sender
                .send(Pending { command, reply })
                .map_err(|_| StoreError::Closed),
            None => Err(StoreError::Closed),
        };
        if sent.is_err() {
            self.stats.queued.fetch_sub(1, Ordering::Relaxed);
        }
        sent
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
        if let Some(dir) = &self.ephemeral_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

async fn reply<T>(receiver: oneshot::Receiver<T>) -> Result<T, StoreError> {
    receiver.await.map_err(|_| StoreError::Closed)
}

impl Store for SqliteStore {
    fn job_insert(&self, insert: JobInsert) -> BoxFuture<'_, Result<Insertion, JobInsertError>> {
        self.write(Command::JobInsert(Box::new(insert)), Reply::JobInsert)
    }

    fn job_get<'a>(
        &'a self,
        project_id: &'a str,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<JobRecord>, StoreError>> {
        let (project_id, job_id) = (project_id.to_owned(), job_id.to_owned());
        Box::pin(
            self.readers
                .run(move |connection| read_job(connection, &project_id, &job_id)),
        )
    }

    fn task_claim_due(
        &self,
        claim: TaskClaim,
    ) -> BoxFuture<'_, Result<Vec<JobRecord>, StoreError>> {
        Box::pin(self.readers.run(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, project_id, job_type, status, begin_time, end_time, error_code,
                            fail_reason, tasks
                     FROM jobs WHERE due_at IS NOT NULL AND due_at <= ?1
                     ORDER BY due_at LIMIT ?2",
                )
                .map_err(backend)?;
            let rows = statement
                .query_map(params![claim.now, claim.limit as i64], raw_job_from_row)
                .map_err(backend)?;
            rows.map(|row| row.map_err(backend)?.decode()).collect()
        }))
    }

    fn task_next_due(&self) -> BoxFuture<'_, Result<Option<i64>, StoreError>> {
        Box::pin(self.readers.run(|connection| {
            connection
                .prepare_cached("SELECT min(due_at) FROM jobs WHERE due_at IS NOT NULL")
                .map_err(backend)?
                .query_row([], |row| row.get::<_, Option<i64>>(0))
                .map_err(backend)
        }))
    }

    fn task_end(&self, ends: Vec<TaskEnd>) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.write(Command::TaskEnd(ends), Reply::TaskEnd)
    }

    fn server_get<'a>(
        &'a self,
        project_id: &'a str,
        server_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ServerRecord>, StoreError>> {
        let (project_id, server_id) = (project_id.to_owned(), server_id.to_owned());
        Box::pin(self.readers.run(move |connection| {
            let mut statement = connection
                .prepare_cached(&format!(
                    "SELECT {SERVER_COLUMNS} FROM servers WHERE id = ?1 AND project_id = ?2"
                ))
                .map_err(backend)?;
            let server = statement
                .query_row(params![server_id, project_id], raw_server_from_row)
                .optional()
                .map_err(backend)?;
            let mut server = server.map(RawServer::decode).transpose()?;
            attach_tasks(connection, server.as_mut_slice())?;
            Ok(server)
        }))
    }

    fn server_list(&self, query: ServerQuery) -> BoxFuture<'_, Result<ServerPage, StoreError>> {
        Box::pin(
            self.readers
                .run(move |connection| list_servers(connection, &query)),
        )
    }

    fn server_update(&self, update: ServerUpdate) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.write(Command::ServerUpdate(Box::new(update)), Reply::ServerUpdate)
    }

    fn server_edit(
        &self,
        edit: ServerEdit,
    ) -> BoxFuture<'_, Result<ServerRecord, ServerEditError>> {
        self.write(Command::ServerEdit(Box::new(edit)), Reply::ServerEdit)
    }

    fn tag_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>> {
        let project_id = project_id.to_owned();
        Box::pin(self.readers.run(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT DISTINCT t.value FROM servers s, json_each(s.doc, '$.tags') t
                     WHERE s.project_id = ?1 ORDER BY t.value",
                )
                .map_err(backend)?;
            let tags = statement
                .query_map(params![project_id], |row| row.get::<_, String>(0))
                .map_err(backend)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            Ok(tags)
        }))
    }

    fn job_purge(&self, finished_before: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.write(Command::JobPurge(finished_before), Reply::JobPurge)
    }

    fn project_usage<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Usage, StoreError>> {
        let project_id = project_id.to_owned();
        Box::pin(
            self.readers
                .run(move |connection| sqlite_groups::project_usage(connection, &project_id)),
        )
    }

    fn server_group_insert(
        &self,
        insert: ServerGroupInsert,
    ) -> BoxFuture<'_, Result<(), JobInsertError>> {
        self.write(Command::GroupInsert(Box::new(insert)), Reply::GroupInsert)
    }

    fn keypair_insert(&self, keypair: KeyPairRecord) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.catalog_write(CatalogWrite::Insert(keypair))
    }

    fn image_insert(&self, image: ImageRecord) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.catalog_write(CatalogWrite::ImageInsert(image))
    }

    fn image_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ImageRecord>, StoreError>> {
        let project_id = project_id.to_owned();
        Box::pin(
            self.readers
                .run(move |connection| sqlite_catalog::images(connection, &project_id)),
        )
    }

    fn keypair_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<KeyPairRecord>, StoreError>> {
        let project_id = project_id.to_owned();
        Box::pin(
            self.readers
                .run(move |connection| sqlite_catalog::list(connection, &project_id)),
        )
    }

    fn keypair_delete<'a>(
        &'a self,
        project_id: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.catalog_write(CatalogWrite::Delete {
            project_id: project_id.to_owned(),
            name: name.to_owned(),
        })
    }

    fn server_group_get<'a>(
        &'a self,
        project_id: &'a str,
        group_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ServerGroupRecord>, StoreError>> {
        let (project_id, group_id) = (project_id.to_owned(), group_id.to_owned());
        Box::pin(
            self.readers.run(move |connection| {
                sqlite_groups::get_group(connection, &project_id, &group_id)
            }),
        )
    }

    fn server_group_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServerGroupRecord>, StoreError>> {
        let project_id = project_id.to_owned();
        Box::pin(
            self.readers
                .run(move |connection| sqlite_groups::list_groups(connection, &project_id)),
        )
    }

    fn server_group_delete<'a>(
        &'a self,
        project_id: &'a str,
        group_id: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        self.write(
            Command::GroupDelete {
                project_id: project_id.to_owned(),
                group_id: group_id.to_owned(),
                now,
            },
            Reply::GroupDelete,
        )
    }

    fn server_group_membership(
        &self,
        change: ServerGroupMembership,
    ) -> BoxFuture<'_, Result<(), JobInsertError>> {
        self.write(
            Command::GroupMembership(Box::new(change)),
            Reply::GroupMembership,
        )
    }

    fn job_count_unfinished(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(self.readers.run(|connection| {
            connection
                .query_row(
                    "SELECT count(*) FROM jobs WHERE end_time IS NULL",
                    [],
                    |row| row.get::<_, i64>(0),
                )
                .map(|count| count as u64)
                .map_err(backend)
        }))
    }

    fn state_reset(
        &self,
        project_id: Option<String>,
    ) -> BoxFuture<'_, Result<ResetCounts, StoreError>> {
        let done = self.state_command(StateCommand::Reset(project_id));
        Box::pin(async move {
            match done.await {
                Ok(StateDone::Reset(counts)) => Ok(counts),
                Ok(_) => Err(StoreError::Backend(
                    "internal: reply of the wrong kind".to_owned(),
                )),
                Err(SnapshotError::Store(error)) => Err(error),
                Err(other) => Err(StoreError::Backend(other.to_string())),
            }
        })
    }

    fn snapshot_save(&self, name: String) -> BoxFuture<'_, Result<SnapshotInfo, SnapshotError>> {
        Box::pin(async move {
            engine::store::check_snapshot_name(&name)?;
            std::fs::create_dir_all(&self.snapshots).map_err(|error| {
                StoreError::Backend(format!(
                    "cannot create {}: {error}",
                    self.snapshots.display()
                ))
            })?;
            let path = sqlite_state::snapshot_path(&self.snapshots, &name);
            self.state_command(StateCommand::Save(path.clone())).await?;
            Ok(sqlite_state::info(&name, &path)?)
        })
    }

    fn snapshot_list(&self) -> BoxFuture<'_, Result<Vec<SnapshotInfo>, SnapshotError>> {
        Box::pin(async move { Ok(sqlite_state::list(&self.snapshots)?) })
    }

    fn snapshot_restore(&self, name: String) -> BoxFuture<'_, Result<SnapshotInfo, SnapshotError>> {
        Box::pin(async move {
            engine::store::check_snapshot_name(&name)?;
            let path = sqlite_state::snapshot_path(&self.snapshots, &name);
            if !path.is_file() {
                return Err(SnapshotError::NotFound(name));
            }
            self.state_command(StateCommand::Restore(path.clone()))
                .await?;
            Ok(sqlite_state::info(&name, &path)?)
        })
    }

    fn snapshot_delete(&self, name: String) -> BoxFuture<'_, Result<(), SnapshotError>> {
        Box::pin(async move {
            engine::store::check_snapshot_name(&name)?;
            let path = sqlite_state::snapshot_path(&self.snapshots, &name);
            match std::fs::remove_file(&path) {
                Ok(()) => Ok(()),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    Err(SnapshotError::NotFound(name))
                }
                Err(error) => Err(StoreError::Backend(format!(
                    "cannot delete {}: {error}",
                    path.display()
                ))
                .into()),
            }
        })
    }

    fn snapshot_export(
        &self,
        name: Option<String>,
    ) -> BoxFuture<'_, Result<(File, u64), SnapshotError>> {
        Box::pin(async move {
            let open = |path: &Path| {
                let file = File::open(path).map_err(|error| {
                    StoreError::Backend(format!("cannot open {}: {error}", path.display()))
                })?;
                let bytes = file.metadata().map(|meta| meta.len()).unwrap_or(0);
                Ok::<_, StoreError>((file, bytes))
            };
            match name {
                Some(name) => {
                    engine::store::check_snapshot_name(&name)?;
                    let path = sqlite_state::snapshot_path(&self.snapshots, &name);
                    if !path.is_file() {
                        return Err(SnapshotError::NotFound(name));
                    }
                    Ok(open(&path)?)
                }
                None => {
                    std::fs::create_dir_all(&self.snapshots).map_err(|error| {
                        StoreError::Backend(format!(
                            "cannot create {}: {error}",
                            self.snapshots.display()
                        ))
                    })?;
                    // A name no snapshot can have (leading '.'), opened and then unlinked:
                    // the open file is the only way to it, and it is gone once sent.
                    let path = self.snapshots.join(format!(
                        ".export-{}.db",
                        engine::job::random_uuid().simple()
                    ));
                    self.state_command(StateCommand::Save(path.clone())).await?;
                    let opened = open(&path);
                    let _ = std::fs::remove_file(&path);
                    Ok(opened?)
                }
            }
        })
    }

    fn token_signing_key(&self) -> &[u8] {
        &self.token_signing_key
    }

    fn job_list(&self, query: JobQuery) -> BoxFuture<'_, Result<Vec<JobRecord>, StoreError>> {
        Box::pin(
            self.readers
                .run(move |connection| sqlite_jobs::list_jobs(connection, &query)),
        )
    }

    fn observe(&self, observer: Arc<dyn engine::stats::Observer>) {
        *self
            .stats
            .observer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(observer);
    }

    fn writer_queue_depth(&self) -> Option<u64> {
        Some(self.stats.queued.load(Ordering::Relaxed))
    }
    fn jobs_recent(
        &self,
        filter: engine::store::JobsRecent,
    ) -> BoxFuture<'_, Result<Vec<JobRecord>, StoreError>> {
        Box::pin(
            self.readers
                .run(move |connection| read_jobs_recent(connection, &filter)),
        )
    }
}

/// [`Store::jobs_recent`]: job ids are time-ordered (UUIDv7), so the primary key walked
/// backwards is newest first; the filters are bound parameters (`NULL` matches all).
fn read_jobs_recent(
    connection: &Connection,
    filter: &engine::store::JobsRecent,
) -> Result<Vec<JobRecord>, StoreError> {
    let (stored_status, unfinished) = match filter.status {
        None => (None, false),
        Some(JobStatus::Init | JobStatus::Running) => (None, true),
        Some(status) => (Some(status.as_str()), false),
    };
    let limit = filter.limit.min(engine::store::JOBS_RECENT_MAX) as i64;
    let mut statement = connection
        .prepare_cached(
            "SELECT id, project_id, job_type, status, begin_time, end_time, error_code,
                    fail_reason, tasks
             FROM jobs
             WHERE (?1 IS NULL OR project_id = ?1) AND (?2 IS NULL OR id = ?2)
               AND (?3 IS NULL OR job_type = ?3) AND (?4 IS NULL OR status = ?4)
               AND (?5 = 0 OR end_time IS NULL)
             ORDER BY id DESC LIMIT ?6",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(
            params![
                filter.project_id,
                filter.job_id,
                filter.kind.map(JobKind::job_type),
                stored_status,
                unfinished,
                limit
            ],
            raw_job_from_row,
        )
        .map_err(backend)?;
    rows.map(|row| row.map_err(backend)?.decode()).collect()
}

// ---------------------------------------------------------------------------------------------
// The writer thread.

/// How long engine writes may wait behind client writes before they get a turn anyway.
const MAX_BACKGROUND_WAIT: std::time::Duration = std::time::Duration::from_millis(250);

/// The writer: takes every client write (job acceptance) queued, plus an engine write (task
/// steps, purges) whenever no client write is waiting or the engine write has waited
/// [`MAX_BACKGROUND_WAIT`]. Accepting a job is what a client waits on; steps can run a little
/// late under load, as jobs do on a busy cloud.
fn write_loop(mut connection: Connection, receiver: mpsc::Receiver<Pending>, stats: &WriterStats) {
    let mut background: VecDeque<(Instant, Pending)> = VecDeque::new();
    let mut open = true;
    while open || !background.is_empty() {
        let mut group = Vec::new();
        if background.is_empty() {
            match receiver.recv() {
                Ok(pending) => sort_write(pending, &mut group, &mut background),
                Err(_) => break,
            }
        }
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(pending) => sort_write(pending, &mut group, &mut background),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let engine_turn = group.is_empty()
            || background
                .front()
                .is_some_and(|(since, _)| since.elapsed() >= MAX_BACKGROUND_WAIT);
        if engine_turn {
            if let Some((_, pending)) = background.pop_front() {
                group.push(pending);
            }
        }
        if !group.is_empty() {
            write_group(&mut connection, group, stats);
        }
    }
    // The queue is closed: checkpoint so the next start opens a small WAL.
    engine::crash::reached("checkpoint", "before", 1);
    let _ = connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    engine::crash::reached("checkpoint", "after", 1);
}

fn sort_write(
    pending: Pending,
    clients: &mut Vec<Pending>,
    engine: &mut VecDeque<(Instant, Pending)>,
) {
    match pending.command {
        Command::JobInsert(_)
        | Command::ServerUpdate(_)
        | Command::ServerEdit(_)
        | Command::GroupInsert(_)
        | Command::GroupDelete { .. }
        | Command::GroupMembership(_)
        | Command::Catalog(_)
        | Command::State(_) => clients.push(pending),
        Command::TaskEnd(_) | Command::JobPurge(_) => engine.push_back((Instant::now(), pending)),
    }
}

/// Why a group's transaction did not commit.
enum GroupError {
    /// A command failed part-way (fast path only): the group is replayed with isolation.
    CommandFailed,
    /// Beginning or committing the transaction failed: the whole group fails.
    Transaction(String),
}

/// Commits the whole group in one transaction and answers every caller. The fast path runs the
/// commands back to back: rejections are decided before a command writes anything, so they need
/// no undo. Only if a command fails part-way is the group rolled back and replayed with each
/// command in its own savepoint (savepoints cost a sub-journal copy of every page they touch).
fn write_group(connection: &mut Connection, group: Vec<Pending>, stats: &WriterStats) {
    let mut batch = Vec::with_capacity(group.len());
    for pending in group {
        match pending {
            Pending {
                command: Command::State(command),
                reply,
            } => {
                // What was queued before it is committed first: a snapshot holds every write
                // acknowledged before it was asked for.
                if !batch.is_empty() {
                    write_batch(connection, std::mem::take(&mut batch), stats);
                }
                let done = run_state(connection, command);
                // Counted when sent like any write; not a group commit.
                stats.answered(1, None);
                reply.send(Done::State(done));
            }
            pending => batch.push(pending),
        }
    }
    if !batch.is_empty() {
        write_batch(connection, batch, stats);
    }
}

fn run_state(
    connection: &mut Connection,
    command: StateCommand,
) -> Result<StateDone, SnapshotError> {
    match command {
        StateCommand::Reset(project_id) => {
            Ok(sqlite_state::reset(connection, project_id.as_deref()).map(StateDone::Reset)?)
        }
        StateCommand::Save(target) => {
            sqlite_state::save(connection, &target)?;
            Ok(StateDone::Saved)
        }
        StateCommand::Restore(source) => {
            sqlite_state::restore(connection, &source, SCHEMA_VERSION)?;
            Ok(StateDone::Restored)
        }
    }
}

/// Commits a group of ordinary writes (no state command) in one transaction.
fn write_batch(connection: &mut Connection, group: Vec<Pending>, stats: &WriterStats) {
    let size = group.len();
    let started = std::time::Instant::now();
    let (commands, replies): (Vec<Command>, Vec<Reply>) = group
        .into_iter()
        .map(|pending| (pending.command, pending.reply))
        .unzip();
    let result = match run_group(connection, &commands, false) {
        Err(GroupError::CommandFailed) => {
            tracing::warn!(
                size,
                "a write failed part-way; replaying its group command by command"
            );
            run_group(connection, &commands, true)
        }
        other => other,
    };
    // Reported before the callers are answered: whoever sees an answer sees its commit counted.
    stats.answered(size, result.is_ok().then(|| started.elapsed()));
    match result {
        Ok(results) => {
            // Committed, nobody answered yet: the crash tests' "after the commit, before the
            // answer".
            crash_points(&commands, "after_commit");
            for (reply, done) in replies.into_iter().zip(results) {
                reply.send(done);
            }
        }
        Err(GroupError::Transaction(message)) => {
            tracing::error!(error = %message, size, "a group failed to commit; all its writes are refused");
            for reply in replies {
                reply.fail(StoreError::Backend(message.clone()));
            }
        }
        Err(GroupError::CommandFailed) => {
            for reply in replies {
                reply.fail(StoreError::Backend("a write failed".to_owned()));
            }
        }
    }
    tracing::trace!(
        size,
        micros = started.elapsed().as_micros() as u64,
        "group committed"
    );
}

fn run_group(
    connection: &mut Connection,
    commands: &[Command],
    isolate: bool,
) -> Result<Vec<Done>, GroupError> {
    let transaction_error = |error: rusqlite::Error| GroupError::Transaction(error.to_string());
    let mut transaction = connection
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(transaction_error)?;
    let mut results = Vec::with_capacity(commands.len());
    for command in commands {
        if isolate {
            let mut savepoint = transaction.savepoint().map_err(transaction_error)?;
            let done = apply(&savepoint, command);
            if done.store_failed() {
                savepoint.rollback().map_err(transaction_error)?;
            }
            savepoint.commit().map_err(transaction_error)?;
            results.push(done);
        } else {
            let done = apply(&transaction, command);
            if done.store_failed() {
                // Dropping the transaction rolls it back.
                return Err(GroupError::CommandFailed);
            }
            results.push(done);
        }
    }
    crash_points(commands, "before_commit");
    transaction.commit().map_err(transaction_error)?;
    Ok(results)
}

/// Reports the group's commands to [`engine::crash`] at `when` (`before_commit`,
/// `after_commit`): task ends count one per end, every other command one.
fn crash_points(commands: &[Command], when: &str) {
    for command in commands {
        let (kind, times) = match command {
            Command::JobInsert(_) => ("job_insert", 1),
            Command::TaskEnd(ends) => ("task_end", ends.len() as u64),
            Command::JobPurge(_) => ("job_purge", 1),
            Command::ServerUpdate(_) => ("server_update", 1),
            Command::ServerEdit(_) => ("server_edit", 1),
            Command::GroupInsert(_) | Command::GroupDelete { .. } | Command::GroupMembership(_) => {
                ("group_write", 1)
            }
            Command::Catalog(_) => ("catalog_write", 1),
            // Runs alone, outside any group's transaction (`write_group`): no crash point.
            Command::State(_) => continue,
        };
        engine::crash::reached(kind, when, times);
    }
}

fn apply(connection: &Connection, command: &Command) -> Done {
    match command {
        Command::JobInsert(insert) => Done::JobInsert(insert_job(connection, insert)),
        Command::TaskEnd(ends) => Done::TaskEnd(sqlite_tasks::end_tasks(connection, ends)),
        Command::JobPurge(before) => Done::JobPurge(purge_jobs(connection, *before)),
        Command::ServerUpdate(update) => Done::ServerUpdate(update_server(connection, update)),
        Command::ServerEdit(edit) => Done::ServerEdit(edit_server(connection, edit).map(Box::new)),
        Command::GroupInsert(insert) => {
            Done::GroupInsert(sqlite_groups::insert_group(connection, insert))
        }
        Command::GroupDelete {
            project_id,
            group_id,
            now,
        } => Done::GroupDelete(sqlite_groups::delete_group(
            connection, project_id, group_id, *now,
        )),
        Command::GroupMembership(change) => {
            Done::GroupMembership(sqlite_groups::change_membership(connection, change))
        }
        Command::Catalog(write) => Done::Catalog(sqlite_catalog::apply(connection, write)),
        // Never reaches a group's transaction ([`write_group`] runs state commands alone).
        Command::State(_) => Done::State(Err(SnapshotError::Store(StoreError::Backend(
            "internal: a state command inside a write group".to_owned(),
        )))),
    }
}

/// Reads the server in the writer's transaction, checks and applies the edit, and writes the
/// name and the document back. A rejected edit writes nothing.
fn edit_server(
    connection: &Connection,
    edit: &ServerEdit,
) -> Result<ServerRecord, ServerEditError> {
    let raw = connection
        .prepare_cached(&format!(
            "SELECT {SERVER_COLUMNS} FROM servers WHERE id = ?1 AND project_id = ?2"
        ))
        .map_err(backend)?
        .query_row(
            params![edit.server_id, edit.project_id],
            raw_server_from_row,
        )
        .optional()
        .map_err(backend)?;
    let Some(raw) = raw else {
        return Err(Rejection::ServerNotFound {
            server_id: edit.server_id.clone(),
        }
        .into());
    };
    let mut server = raw.decode()?;
    edit.change.apply(&mut server)?;
    write_doc(connection, &server.id, &server.doc, edit.now)?;
    attach_tasks(connection, std::slice::from_mut(&mut server))?;
    connection
        .prepare_cached("UPDATE servers SET name = ?1 WHERE id = ?2")
        .map_err(backend)?
        .execute(params![server.name, server.id])
        .map_err(backend)?;
    server.updated_at = edit.now;
    Ok(server)
}

fn update_server(connection: &Connection, update: &ServerUpdate) -> Result<bool, StoreError> {
    let doc = connection
        .prepare_cached("SELECT doc FROM servers WHERE id = ?1 AND project_id = ?2")
        .map_err(backend)?
        .query_row(params![update.server_id, update.project_id], |row| {
            row.get::<_, String>(0)
        })
        .optional()
        .map_err(backend)?;
    let Some(doc) = doc else {
        return Ok(false);
    };
    let mut doc: ServerDoc = serde_json::from_str(&doc).map_err(|error| {
        StoreError::Corrupt(format!("server {}: doc: {error}", update.server_id))
    })?;
    update.change.apply(&mut doc);
    write_doc(connection, &update.server_id, &doc, update.now)?;
    Ok(true)
}

/// Writes a server's document, with the flavor column kept equal to the document's flavor.
pub(crate) fn write_doc(
    connection: &Connection,
    server_id: &str,
    doc: &ServerDoc,
    now: i64,
) -> Result<(), StoreError> {
    let text =
        serde_json::to_string(doc).map_err(|error| StoreError::Backend(error.to_string()))?;
    connection
        .prepare_cached(
            "UPDATE servers SET doc = ?1, flavor_id = ?2, updated_at = ?3 WHERE id = ?4",
        )
        .map_err(backend)?
        .execute(params![text, doc.flavor.id, now, server_id])
        .map_err(backend)?;
    Ok(())
}

/// The server of the project that holds `reservation` (in its document, or through an
/// unfinished task that will add it), if any.
fn reservation_holder(
    connection: &Connection,
    project_id: &str,
    reservation: &Reservation,
) -> Result<Option<String>, StoreError> {
    let (in_docs, in_tasks, values): (&str, &str, Vec<&str>) = match reservation {
        Reservation::Volume { volume_id } => (
            "SELECT s.id FROM servers s, json_each(s.doc, '$.volumes') v
             WHERE s.project_id = ?1 AND json_extract(v.value, '$.id') = ?2 LIMIT 1",
            "SELECT t.server_id FROM live_tasks t
             WHERE t.project_id = ?1
               AND json_extract(t.operation, '$.op') = 'attach_volume'
               AND json_extract(t.operation, '$.volume.id') = ?2 LIMIT 1",
            vec![volume_id],
        ),
        Reservation::FixedIp {
            subnet_id,
            ip_address,
        } => (
            "SELECT s.id FROM servers s, json_each(s.doc, '$.nics') n
             WHERE s.project_id = ?1 AND json_extract(n.value, '$.subnet_id') = ?2
               AND json_extract(n.value, '$.ip_address') = ?3 LIMIT 1",
            "SELECT t.server_id FROM live_tasks t
             WHERE t.project_id = ?1
               AND json_extract(t.operation, '$.op') = 'add_nic'
               AND json_extract(t.operation, '$.nic.subnet_id') = ?2
               AND json_extract(t.operation, '$.nic.ip_address') = ?3 LIMIT 1",
            vec![subnet_id, ip_address],
        ),
    };
    for query in [in_docs, in_tasks] {
        let mut bound: Vec<&dyn rusqlite::ToSql> = vec![&project_id];
        bound.extend(values.iter().map(|value| value as &dyn rusqlite::ToSql));
        let holder = connection
            .prepare_cached(query)
            .map_err(backend)?
            .query_row(bound.as_slice(), |row| row.get::<_, String>(0))
            .optional()
            .map_err(backend)?;
        if holder.is_some() {
            return Ok(holder);
        }
    }
    Ok(None)
}

/// Accepts a job in the writer's transaction: every check first ([`check_job`], which only
/// reads), then every write ([`write_job`]). The group runs without savepoints, so a rejection
/// must come before the first write; the boundary between the two functions is that rule.
fn insert_job(connection: &Connection, insert: &JobInsert) -> Result<Insertion, JobInsertError> {
    match check_job(connection, insert)? {
        Checked::Replay(insertion) => Ok(insertion),
        Checked::Accept(accepted) => {
            write_job(connection, insert, accepted)?;
            Ok(Insertion::Inserted)
        }
    }
}

/// What [`check_job`] decided.
enum Checked {
    /// The client token was seen with the same body: answer the job it made, write nothing.
    Replay(Insertion),
    /// Every check passed: what the writes need.
    Accept(Accepted),
}

/// What the checks read that the writes use.
struct Accepted {
    /// Each precondition's server as read (state and progress), in the preconditions' order.
    taken: Vec<(PowerTriple, i64)>,
    /// The host of each new server placed by an anti-affinity group.
    group_hosts: HashMap<String, String>,
}

/// Every check of a job's acceptance, in the transaction that will write it; reads only.
fn check_job(connection: &Connection, insert: &JobInsert) -> Result<Checked, JobInsertError> {
    if let Some(replay) = check_client_token(connection, insert)? {
        return Ok(Checked::Replay(replay));
    }
    check_unfinished_limit(connection, insert)?;
    let taken = check_preconditions(connection, insert)?;
    check_reservations(connection, insert)?;
    let group_hosts = sqlite_groups::check_job(
        connection,
        &insert.job.project_id,
        insert.quota.as_ref(),
        &insert.new_servers,
    )?;
    Ok(Checked::Accept(Accepted { taken, group_hosts }))
}

/// A client token seen before: the job it made if the body is the same (`Ecs.0005` if not).
fn check_client_token(
    connection: &Connection,
    insert: &JobInsert,
) -> Result<Option<Insertion>, JobInsertError> {
    let job = &insert.job;
    if let Some(client_token) = &insert.client_token {
        let seen = connection
            .prepare_cached(
                "SELECT request_hash, job_id, server_ids FROM client_tokens
                 WHERE project_id = ?1 AND token = ?2",
            )
            .map_err(backend)?
            .query_row(params![job.project_id, client_token.token], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .optional()
            .map_err(backend)?;
        if let Some((request_hash, job_id, server_ids)) = seen {
            if request_hash != client_token.request_hash {
                return Err(Rejection::ClientTokenReused {
                    token: client_token.token.clone(),
                }
                .into());
            }
            let server_ids = serde_json::from_str(&server_ids).map_err(|error| {
                StoreError::Corrupt(format!("client token of job {job_id}: {error}"))
            })?;
            return Ok(Some(Insertion::Replayed { job_id, server_ids }));
        }
    }
    Ok(None)
}

/// The project's limit of unfinished jobs.
fn check_unfinished_limit(
    connection: &Connection,
    insert: &JobInsert,
) -> Result<(), JobInsertError> {
    let job = &insert.job;
    if let Some(limit) = insert.unfinished_job_limit {
        // Counts at most `limit` entries of the partial index, whatever the backlog.
        let unfinished: u32 = connection
            .prepare_cached(
                "SELECT count(*) FROM
                   (SELECT 1 FROM jobs WHERE project_id = ?1 AND end_time IS NULL LIMIT ?2)",
            )
            .map_err(backend)?
            .query_row(params![job.project_id, limit], |row| row.get(0))
            .map_err(backend)?;
        if unfinished >= limit {
            return Err(Rejection::TooManyUnfinishedJobs { limit }.into());
        }
    }
    Ok(())
}

/// Each server the job takes: in the project, not held by another job, in an allowed state,
/// unchanged since the job was planned. Returns each one's state and progress as read.
fn check_preconditions(
    connection: &Connection,
    insert: &JobInsert,
) -> Result<Vec<(PowerTriple, i64)>, JobInsertError> {
    let job = &insert.job;
    let mut taken = Vec::with_capacity(insert.preconditions.len());
    for precondition in &insert.preconditions {
        let found = connection
            .prepare_cached(
                "SELECT vm_state, task_state, busy_job_id, updated_at, power_state, progress
                 FROM servers WHERE id = ?1 AND project_id = ?2",
            )
            .map_err(backend)?
            .query_row(params![precondition.server_id, job.project_id], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<String>>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                    row.get::<_, i64>(5)?,
                ))
            })
            .optional()
            .map_err(backend)?;
        let Some((vm_state, task_state, busy_job_id, updated_at, power_state, progress)) = found
        else {
            return Err(Rejection::ServerNotFound {
                server_id: precondition.server_id.clone(),
            }
            .into());
        };
        if let Some(job_id) = busy_job_id {
            return Err(Rejection::ServerBusy {
                server_id: precondition.server_id.clone(),
                job_id,
            }
            .into());
        }
        let vm_state = parse_vm_state(&vm_state)?;
        let task_state = task_state.as_deref().map(parse_task_state).transpose()?;
        if task_state.is_some() || !precondition.allowed_vm_states.contains(&vm_state) {
            return Err(Rejection::ServerWrongState {
                server_id: precondition.server_id.clone(),
                status: ServerStatus::derive(vm_state, task_state).as_str(),
            }
            .into());
        }
        if precondition
            .unchanged_since
            .is_some_and(|planned_at| planned_at != updated_at)
        {
            return Err(Rejection::ServerChanged {
                server_id: precondition.server_id.clone(),
            }
            .into());
        }
        taken.push((
            PowerTriple {
                vm_state,
                task_state,
                power_state,
            },
            progress,
        ));
    }
    Ok(taken)
}

/// The volumes and fixed IPs the job reserves, held by no other server or unfinished task.
fn check_reservations(connection: &Connection, insert: &JobInsert) -> Result<(), JobInsertError> {
    let job = &insert.job;
    for reservation in &insert.reservations {
        if let Some(server_id) = reservation_holder(connection, &job.project_id, reservation)? {
            return Err(match reservation {
                Reservation::Volume { volume_id } => Rejection::VolumeInUse {
                    volume_id: volume_id.clone(),
                    server_id,
                },
                Reservation::FixedIp {
                    subnet_id,
                    ip_address,
                } => Rejection::IpInUse {
                    subnet_id: subnet_id.clone(),
                    ip_address: ip_address.clone(),
                    server_id,
                },
            }
            .into());
        }
    }
    Ok(())
}

/// The writes of an accepted job: the taken servers' first phase and holding job, the job row,
/// the new servers, the client token. Called only after [`check_job`] accepted it.
fn write_job(
    connection: &Connection,
    insert: &JobInsert,
    Accepted { taken, group_hosts }: Accepted,
) -> Result<(), JobInsertError> {
    let job = &insert.job;
    // The taken servers show the first phase of their task from this commit on (a reboot's
    // `REBOOT`): the stored status, which list filters read, then holds until the task's end.
    for (precondition, (mut state, mut progress)) in insert.preconditions.iter().zip(taken) {
        if let Some(task) = job
            .tasks
            .iter()
            .find(|task| task.server_id == precondition.server_id)
        {
            let patch = engine::schedule::acceptance_patch(&task.operation);
            engine::schedule::apply_state(&mut state, &mut progress, &patch);
        }
        connection
            .prepare_cached(
                "UPDATE servers SET busy_job_id = ?1, status = ?2, vm_state = ?3, task_state = ?4,
                                    power_state = ?5, progress = ?6
                 WHERE id = ?7",
            )
            .map_err(backend)?
            .execute(params![
                job.id,
                state.status().as_str(),
                state.vm_state.as_str(),
                state.task_state.map(TaskState::as_str),
                state.power_state,
                progress,
                precondition.server_id
            ])
            .map_err(backend)?;
    }

    connection
        .prepare_cached(
            "INSERT INTO jobs (id, project_id, job_type, status, begin_time, end_time, error_code,
                               fail_reason, tasks, due_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(backend)?
        .execute(params![
            job.id,
            job.project_id,
            job.kind.job_type(),
            job.status.as_str(),
            job.begin_time,
            job.end_time,
            job.error_code,
            job.fail_reason,
            sqlite_tasks::encode(&job.tasks)?,
            sqlite_tasks::next_due(&job.tasks)
        ])
        .map_err(backend)?;
    let mut insert_server = connection
        .prepare_cached(
            "INSERT INTO servers (id, project_id, name, flavor_id, status, vm_state, task_state,
                                  power_state, progress, busy_job_id, created_at, updated_at,
                                  launched_at, fault, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )
        .map_err(backend)?;
    for server in &insert.new_servers {
        let doc = match group_hosts.get(&server.id) {
            Some(host) => {
                let mut doc = server.doc.clone();
                doc.host = Some(host.clone());
                serde_json::to_string(&doc)
            }
            None => serde_json::to_string(&server.doc),
        }
        .map_err(|error| StoreError::Backend(error.to_string()))?;
        let fault = server
            .fault
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(|error| StoreError::Backend(error.to_string()))?;
        insert_server
            .execute(params![
                server.id,
                server.project_id,
                server.name,
                server.flavor_id,
                server.state.status().as_str(),
                server.state.vm_state.as_str(),
                server.state.task_state.map(TaskState::as_str),
                server.state.power_state,
                server.progress,
                server.busy_job_id,
                server.created_at,
                server.updated_at,
                server.launched_at,
                fault,
                doc
            ])
            .map_err(backend)?;
    }
    if let Some(client_token) = &insert.client_token {
        let server_ids: Vec<&str> = insert
            .new_servers
            .iter()
            .map(|server| server.id.as_str())
            .collect();
        let server_ids = serde_json::to_string(&server_ids)
            .map_err(|error| StoreError::Backend(error.to_string()))?;
        connection
            .prepare_cached(
                "INSERT INTO client_tokens (project_id, token, request_hash, job_id, server_ids, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(backend)?
            .execute(params![
                job.project_id,
                client_token.token,
                client_token.request_hash,
                job.id,
                server_ids,
                job.begin_time
            ])
            .map_err(backend)?;
    }
    Ok(())
}

fn purge_jobs(connection: &Connection, finished_before: i64) -> Result<u64, StoreError> {
    let purged = connection
        .prepare_cached("DELETE FROM jobs WHERE end_time IS NOT NULL AND end_time < ?1")
        .map_err(backend)?
        .execute([finished_before])
        .map_err(backend)?;
    connection
        .prepare_cached("DELETE FROM client_tokens WHERE created_at < ?1")
        .map_err(backend)?
        .execute([finished_before])
        .map_err(backend)?;
    Ok(purged as u64)
}

// ---------------------------------------------------------------------------------------------
// Reads.

/// The columns [`raw_job_from_row`] reads, in its order.
pub(crate) const JOB_COLUMNS: &str =
    "id, project_id, job_type, status, begin_time, end_time, error_code, fail_reason, tasks";

/// A job row before its text columns are parsed.
pub(crate) struct RawJob {
    id: String,
    project_id: String,
    job_type: String,
    status: String,
    begin_time: i64,
    end_time: Option<i64>,
    error_code: Option<String>,
    fail_reason: Option<String>,
    tasks: String,
}

pub(crate) fn raw_job_from_row(row: &Row<'_>) -> rusqlite::Result<RawJob> {
    Ok(RawJob {
        id: row.get(0)?,
        project_id: row.get(1)?,
        job_type: row.get(2)?,
        status: row.get(3)?,
        begin_time: row.get(4)?,
        end_time: row.get(5)?,
        error_code: row.get(6)?,
        fail_reason: row.get(7)?,
        tasks: row.get(8)?,
    })
}

impl RawJob {
    pub(crate) fn decode(self) -> Result<JobRecord, StoreError> {
        let tasks = sqlite_tasks::decode(&self.id, self.begin_time, &self.tasks)?;
        Ok(JobRecord {
            kind: JobKind::from_job_type(&self.job_type).ok_or_else(|| {
                StoreError::Corrupt(format!("job {}: unknown type {}", self.id, self.job_type))
            })?,
            status: parse_job_status(&self.status)?,
            id: self.id,
            project_id: self.project_id,
            begin_time: self.begin_time,
            end_time: self.end_time,
            error_code: self.error_code,
            fail_reason: self.fail_reason,
            tasks,
        })
    }
}

fn read_job(
    connection: &Connection,
    project_id: &str,
    job_id: &str,
) -> Result<Option<JobRecord>, StoreError> {
    connection
        .prepare_cached(
            "SELECT id, project_id, job_type, status, begin_time, end_time, error_code,
                    fail_reason, tasks
             FROM jobs WHERE id = ?1 AND project_id = ?2",
        )
        .map_err(backend)?
        .query_row(params![job_id, project_id], raw_job_from_row)
        .optional()
        .map_err(backend)?
        .map(RawJob::decode)
        .transpose()
}

/// Fills each held server's `tasks`: the unfinished tasks on it of the job holding it (one
/// read per distinct job; the servers of a create share theirs).
fn attach_tasks(connection: &Connection, servers: &mut [ServerRecord]) -> Result<(), StoreError> {
    let mut jobs: HashMap<String, Vec<engine::job::TaskRecord>> = HashMap::new();
    for server in servers.iter_mut() {
        let Some(job_id) = server.busy_job_id.clone() else {
            continue;
        };
        if !jobs.contains_key(&job_id) {
            let row = connection
                .prepare_cached("SELECT begin_time, tasks FROM jobs WHERE id = ?1")
                .map_err(backend)?
                .query_row([&job_id], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .optional()
                .map_err(backend)?;
            let tasks = match row {
                Some((begin_time, text)) => sqlite_tasks::decode(&job_id, begin_time, &text)?,
                None => Vec::new(),
            };
            jobs.insert(job_id.clone(), tasks);
        }
        server.tasks = jobs
            .get(&job_id)
            .into_iter()
            .flatten()
            .filter(|task| task.server_id == server.id && !task.status.is_terminal())
            .cloned()
            .collect();
    }
    Ok(())
}

const SERVER_COLUMNS: &str = "id, project_id, name, flavor_id, vm_state, task_state, power_state,
                              progress, busy_job_id, created_at, updated_at, launched_at, fault, doc";

/// A server row before its text columns are parsed (parsing errors are ours, not SQLite's).
struct RawServer {
    id: String,
    project_id: String,
    name: String,
    flavor_id: String,
    vm_state: String,
    task_state: Option<String>,
    power_state: i64,
    progress: i64,
    busy_job_id: Option<String>,
    created_at: i64,
    updated_at: i64,
    launched_at: Option<i64>,
    fault: Option<String>,
    doc: String,
}

fn raw_server_from_row(row: &Row<'_>) -> rusqlite::Result<RawServer> {
    Ok(RawServer {
        id: row.get(0)?,
        project_id: row.get(1)?,
        name: row.get(2)?,
        flavor_id: row.get(3)?,
        vm_state: row.get(4)?,
        task_state: row.get(5)?,
        power_state: row.get(6)?,
        progress: row.get(7)?,
        busy_job_id: row.get(8)?,
        created_at: row.get(9)?,
        updated_at: row.get(10)?,
        launched_at: row.get(11)?,
        fault: row.get(12)?,
        doc: row.get(13)?,
    })
}

impl RawServer {
    fn decode(self) -> Result<ServerRecord, StoreError> {
        let corrupt = |what: &str, error: serde_json::Error| {
            StoreError::Corrupt(format!("server {}: {what}: {error}", self.id))
        };
        let doc: ServerDoc =
            serde_json::from_str(&self.doc).map_err(|error| corrupt("doc", error))?;
        let fault: Option<ServerFault> = self
            .fault
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|error| corrupt("fault", error))?;
        Ok(ServerRecord {
            state: PowerTriple {
                vm_state: parse_vm_state(&self.vm_state)?,
                task_state: self
                    .task_state
                    .as_deref()
                    .map(parse_task_state)
                    .transpose()?,
                power_state: self.power_state,
            },
            id: self.id,
            project_id: self.project_id,
            name: self.name,
            flavor_id: self.flavor_id,
            progress: self.progress,
            busy_job_id: self.busy_job_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            launched_at: self.launched_at,
            fault,
            doc,
            tasks: Vec::new(),
        })
    }
}

/// Turns the fuzzy name filter into a LIKE pattern: a substring in which `.` matches any one
/// character (`listing_details_about_ecss.rst`).
fn name_pattern(name: &str) -> String {
    let mut pattern = String::from("%");
    for character in name.chars() {
        match character {
            '.' => pattern.push('_'),
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(character);
            }
            other => pattern.push(other),
        }
    }
    pattern.push('%');
    pattern
}

/// An SQL condition on a server row that holds when the server has `tag` (its document keeps
/// tags as `key=value` strings; keys have no `=`), with its parameters.
fn tag_condition(tag: &TagMatch) -> (String, Vec<rusqlite::types::Value>) {
    let prefix = format!("{}=", tag.key);
    if tag.values.is_empty() {
        (
            "EXISTS (SELECT 1 FROM json_each(servers.doc, '$.tags') t \
             WHERE substr(t.value, 1, ?) = ?)"
                .to_owned(),
            vec![(prefix.chars().count() as i64).into(), prefix.into()],
        )
    } else {
        let condition = format!(
            "EXISTS (SELECT 1 FROM json_each(servers.doc, '$.tags') t WHERE t.value IN ({}))",
            vec!["?"; tag.values.len()].join(", ")
        );
        let values = tag
            .values
            .iter()
            .map(|value| format!("{prefix}{value}").into())
            .collect();
        (condition, values)
    }
}

fn list_servers(connection: &Connection, query: &ServerQuery) -> Result<ServerPage, StoreError> {
    let mut conditions = vec!["project_id = ?".to_owned()];
    let mut values: Vec<rusqlite::types::Value> = vec![query.project_id.clone().into()];
    if let Some(name) = &query.name {
        conditions.push("name LIKE ? ESCAPE '\\'".to_owned());
        values.push(name_pattern(name).into());
    }
    if let Some(fragment) = &query.name_contains {
        conditions.push("instr(name, ?) > 0".to_owned());
        values.push(fragment.clone().into());
    }
    for (tag, wanted) in query
        .tags
        .iter()
        .map(|tag| (tag, true))
        .chain(query.not_tags.iter().map(|tag| (tag, false)))
    {
        let (condition, tag_values) = tag_condition(tag);
        conditions.push(if wanted {
            condition
        } else {
            format!("NOT {condition}")
        });
        values.extend(tag_values);
    }
    if let Some(flavor_id) = &query.flavor_id {
        conditions.push("flavor_id = ?".to_owned());
        values.push(flavor_id.clone().into());
    }
    if !query.statuses.is_empty() {
        conditions.push(format!(
            "status IN ({})",
            vec!["?"; query.statuses.len()].join(", ")
        ));
        values.extend(
            query
                .statuses
                .iter()
                .map(|status| status.as_str().to_owned().into()),
        );
    }
    let filter = conditions.join(" AND ");
    let total: i64 = connection
        .prepare_cached(&format!("SELECT count(*) FROM servers WHERE {filter}"))
        .map_err(backend)?
        .query_row(rusqlite::params_from_iter(values.iter()), |row| row.get(0))
        .map_err(backend)?;
    let mut page_values = values;
    page_values.push(i64::from(query.limit).into());
    page_values.push((query.offset.min(i64::MAX as u64) as i64).into());
    let mut statement = connection
        .prepare_cached(&format!(
            "SELECT {SERVER_COLUMNS} FROM servers WHERE {filter} ORDER BY seq DESC LIMIT ? OFFSET ?"
        ))
        .map_err(backend)?;
    let servers = statement
        .query_map(
            rusqlite::params_from_iter(page_values.iter()),
            raw_server_from_row,
        )
        .map_err(backend)?
        .map(|row| row.map_err(backend).and_then(RawServer::decode))
        .collect::<Result<Vec<_>, _>>()?;
    let mut servers = servers;
    attach_tasks(connection, &mut servers)?;
    Ok(ServerPage {
        total: total as u64,
        servers,
    })
}

pub(crate) fn parse_job_status(text: &str) -> Result<JobStatus, StoreError> {
    JobStatus::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown job status {text:?}")))
}

pub(crate) fn parse_vm_state(text: &str) -> Result<VmState, StoreError> {
    VmState::parse(text).ok_or_else(|| StoreError::Corrupt(format!("unknown vm_state {text:?}")))
}

pub(crate) fn parse_task_state(text: &str) -> Result<TaskState, StoreError> {
    TaskState::parse(text)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown task_state {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filter_is_a_substring_where_dot_matches_any_character() {
        assert_eq!(name_pattern("web"), "%web%");
        assert_eq!(name_pattern("a.c"), "%a_c%");
        assert_eq!(name_pattern("50%_x"), "%50\\%\\_x%");
    }

    /// Power loss: the store runs on the `powerloss` VFS, which keeps only what was synced;
    /// the power goes right after a write was acknowledged ([`powerloss::Cut`]), and the file
    /// is opened again as the machine would find it.
    mod power_loss {
        use super::{Durability, SqliteStore};
        use crate::conformance::{create_job_insert, finish, insert_ok};
        use crate::StoreOptions;
        use engine::job::JobStatus;
        use engine::store::Store;
        use std::path::Path;

        /// The store as it runs (`Durability::default()`), on the VFS; `synchronous` replaces
        /// its mode when given.
        fn open(path: &Path, synchronous: Option<&'static str>) -> SqliteStore {
            powerloss::register().expect("the VFS registers");
            let default = Durability::default();
            let durability = Durability {
                vfs: Some(powerloss::NAME),
                synchronous: synchronous.unwrap_or(default.synchronous),
            };
            SqliteStore::open_on(path, &StoreOptions::default(), &durability).expect("opens")
        }

        /// What survives of (a job finished before a clean restart, a job accepted and one
        /// accepted and ended) after the power goes at once after their acknowledgements,
        /// the store running with `synchronous` (`None`: as it runs in production). `None`
        /// in the answer: the job is gone.
        async fn survivors(synchronous: Option<&'static str>) -> [Option<JobStatus>; 3] {
            let dir = tempfile::tempdir().expect("temp dir");
            let path = dir.path().join("ecsd.db");
            let store = open(&path, None);
            let earlier = insert_ok(&store, create_job_insert("p-earlier", 1, 0)).await;
            finish(&store, &earlier, 10).await;
            drop(store);

            let store = open(&path, synchronous);
            let accepted = insert_ok(&store, create_job_insert("p-power", 1, 1_000)).await;
            let ended = insert_ok(&store, create_job_insert("p-power", 1, 1_000)).await;
            finish(&store, &ended, 1_100).await;
            // The power goes now: every write above was acknowledged.
            let cut = powerloss::Cut::now(dir.path());
            drop(store); // Its closing checkpoint comes after the cut and is lost with it.
            cut.apply().expect("the disk as the power loss left it");

            let store = SqliteStore::open(&path).expect("opens after the power loss");
            let mut statuses = [None, None, None];
            for (status, (project, job)) in statuses.iter_mut().zip([
                ("p-earlier", &earlier),
                ("p-power", &accepted),
                ("p-power", &ended),
            ]) {
                *status = store
                    .job_get(project, &job.id)
                    .await
                    .expect("readable")
                    .map(|job| job.status);
            }
            statuses
        }

        #[tokio::test]
        async fn acknowledged_writes_survive_a_power_loss() {
            assert_eq!(
                survivors(None).await,
                [
                    Some(JobStatus::Success),
                    Some(JobStatus::Init),
                    Some(JobStatus::Success)
                ]
            );
        }

        /// The same test with `synchronous = OFF`: the acknowledged job and end are lost (only
        /// what the clean restart before synced is there), so the test above can tell.
        #[tokio::test]
        async fn with_synchronous_off_the_same_power_loss_loses_acknowledged_writes() {
            assert_eq!(
                survivors(Some("OFF")).await,
                [Some(JobStatus::Success), None, None]
            );
        }
    }

    /// The conformance suite, one test per scenario (`sqlite::tests::conformance::…`).
    mod conformance {
        use super::SqliteStore;
        use engine::store::Store;
        use std::sync::Arc;

        /// A new database in a folder of its own, removed when the test ends.
        fn fresh() -> (Arc<dyn Store>, tempfile::TempDir) {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(&dir.path().join("ecsd.db")).expect("opens");
            (Arc::new(store), dir)
        }

        crate::conformance::conformance_tests!(fresh);
    }

    #[test]
    fn the_job_list_reads_its_index_in_order() {
        let mut connection = Connection::open_in_memory().expect("opens");
        connection.execute_batch(SCHEMA).expect("schema");
        connection
            .execute_batch("PRAGMA user_version = 1;")
            .expect("version 1");
        migrate(&mut connection, false).expect("migrates");
        let queries = [
            JobQuery {
                project_id: "p".to_owned(),
                limit: 10,
                ..JobQuery::default()
            },
            JobQuery {
                project_id: "p".to_owned(),
                statuses: vec![JobStatus::Running, JobStatus::Fail],
                kinds: vec![JobKind::CreateServers, JobKind::DeleteServers],
                since: Some(1_000),
                marker: Some("0".repeat(32)),
                limit: 10,
                ..JobQuery::default()
            },
        ];
        for query in queries {
            let (sql, values) = sqlite_jobs::statement(&query);
            let plan: Vec<String> = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .expect("prepares")
                .query_map(rusqlite::params_from_iter(values), |row| row.get(3))
                .expect("explains")
                .collect::<rusqlite::Result<_>>()
                .expect("reads");
            let plan = plan.join("; ");
            assert!(plan.contains("jobs_by_project"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "sorted by the index: {plan}");
        }
    }

    /// Counts what the writer reports.
    #[derive(Debug, Default)]
    struct Commits(std::sync::Mutex<Vec<usize>>);

    impl engine::stats::Observer for Commits {
        fn writer_committed(&self, commands: usize, _elapsed: std::time::Duration) {
            self.0.lock().expect("lock").push(commands);
        }
    }

    #[tokio::test]
    async fn the_writer_counts_writes_until_answered_and_reports_each_commit() {
        // Every wait here is bounded: the blocked write must show, then finish.
        const BOUND: std::time::Duration = std::time::Duration::from_secs(30);
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        let store = Arc::new(SqliteStore::open(&path).expect("opens"));
        let commits = Arc::new(Commits::default());
        store.observe(commits.clone());
        assert_eq!(store.writer_queue_depth(), Some(0));
        // Another connection holds the write lock, so the writer's next group waits for it
        // (within its busy timeout) and the write stays counted.
        let blocker = Connection::open(&path).expect("opens");
        blocker
            .execute_batch("BEGIN IMMEDIATE")
            .expect("takes the write lock");
        let inserter = Arc::clone(&store);
        let waiting = tokio::spawn(async move {
            inserter
                .job_insert(crate::conformance::create_job_insert("p", 1, 0))
                .await
        });
        let started = Instant::now();
        while store.writer_queue_depth() != Some(1) {
            assert!(started.elapsed() < BOUND, "the write was never counted");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        assert!(
            commits.0.lock().expect("lock").is_empty(),
            "not committed yet"
        );
        blocker.execute_batch("COMMIT").expect("releases");
        let inserted = tokio::time::timeout(BOUND, waiting)
            .await
            .expect("answered in time")
            .expect("joins");
        assert!(inserted.is_ok(), "{inserted:?}");
        assert_eq!(store.writer_queue_depth(), Some(0));
        assert_eq!(*commits.0.lock().expect("lock"), [1]);
    }

    /// A group in which one command fails part-way (its job row is written, then a server id
    /// collides): that command alone is undone and refused; the rest of the group commits.
    #[tokio::test]
    async fn a_command_failing_mid_write_is_undone_alone() {
        let mut connection = Connection::open_in_memory().expect("opens");
        connection.execute_batch(SCHEMA).expect("schema");
        connection
            .execute_batch("PRAGMA user_version = 1;")
            .expect("version 1");
        migrate(&mut connection, false).expect("migrates");
        let first = crate::conformance::create_job_insert("p", 1, 0);
        let mut broken = crate::conformance::create_job_insert("p", 2, 0);
        broken.new_servers[1].id = broken.new_servers[0].id.clone(); // collides with the first
        let last = crate::conformance::create_job_insert("p", 1, 0);
        let ids = [
            first.job.id.clone(),
            broken.job.id.clone(),
            last.job.id.clone(),
        ];
        let mut receivers = Vec::new();
        let group = [first, broken, last]
            .into_iter()
            .map(|insert| {
                let (sender, receiver) = oneshot::channel();
                receivers.push(receiver);
                Pending {
                    command: Command::JobInsert(Box::new(insert)),
                    reply: Reply::JobInsert(sender),
                }
            })
            .collect();
        write_group(&mut connection, group, &WriterStats::default());
        let mut results = Vec::new();
        for receiver in receivers {
            results.push(receiver.await.expect("answered"));
        }
        assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
        assert!(
            matches!(results[1], Err(JobInsertError::Store(_))),
            "{results:?}"
        );
        let stored: Vec<bool> = ids
            .iter()
            .map(|id| read_job(&connection, "p", id).expect("reads").is_some())
            .collect();
        assert_eq!(stored, [true, false, true]);
    }

    #[tokio::test]
    async fn a_version_1_database_is_migrated_and_keeps_its_servers() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        // A database as ecsd with schema version 1 left it.
        let connection = Connection::open(&path).expect("opens");
        connection
            .execute_batch(&format!("{SCHEMA}\nPRAGMA user_version = 1;"))
            .expect("version 1 schema");
        connection
            .execute(
                "INSERT INTO servers (id, project_id, name, flavor_id, status, vm_state,
                                      power_state, progress, created_at, updated_at, doc)
                 VALUES ('s-1', 'p', 'old', 'f', 'ACTIVE', 'active', 1, 100, 0, 0,
                         '{\"image_id\":\"i\",\"flavor\":{\"id\":\"f\",\"name\":\"f\",\"vcpus\":\"1\",\"ram\":1024,\"disk\":\"0\"},\"vpc_id\":\"v\",\"availability_zone\":\"az\"}')",
                [],
            )
            .expect("a version 1 server");
        drop(connection);
        let store = SqliteStore::open(&path).expect("migrates");
        let server = store.server_get("p", "s-1").await.expect("readable");
        assert_eq!(server.map(|server| server.name).as_deref(), Some("old"));
        assert_eq!(
            store.project_usage("p").await.expect("readable").instances,
            1
        );
        store
            .server_group_insert(engine::quota::ServerGroupInsert {
                group: engine::quota::ServerGroupRecord {
                    id: "g".into(),
                    project_id: "p".into(),
                    name: "g".into(),
                    policies: vec!["anti-affinity".into()],
                    created_at: 0,
                    members: Vec::new(),
                },
                max_groups: None,
            })
            .await
            .expect("the new table exists");
        store.close();
        let version: i64 = Connection::open(&path)
            .and_then(|connection| {
                connection.query_row("PRAGMA user_version", [], |row| row.get(0))
            })
            .expect("reads the version");
        assert_eq!(version, SCHEMA_VERSION);
    }

    /// A version 3 database (one row per task, written step by step) with a create job under
    /// way: one task finished, one at step 2 of 5 with its next step due at 5,000. After the
    /// upgrade the job reads RUNNING, nothing is due before 5,000, and at 5,000 the engine
    /// writes the remaining task's end: the job succeeds and its server is ACTIVE and free. A
    /// second job none of whose tasks had finished stays due at its next run.
    #[tokio::test]
    async fn a_version_3_database_with_a_job_under_way_finishes_it_after_the_upgrade() {
        use engine::clock::{from_unix_ms, Clock, ManualClock};
        use engine::engine::RunOutcome;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        let connection = Connection::open(&path).expect("opens");
        connection
            .execute_batch(&format!(
                "{SCHEMA}\n{}\n{}\nPRAGMA user_version = 3;",
                MIGRATIONS[0], MIGRATIONS[1]
            ))
            .expect("version 3 schema");
        let doc = r#"{"image_id":"i","flavor":{"id":"f","name":"f","vcpus":"1","ram":1024,"disk":"0"},"vpc_id":"v","availability_zone":"az"}"#;
        connection
            .execute_batch(&format!(
                "INSERT INTO jobs (id, project_id, job_type, status, begin_time)
                   VALUES ('j1', 'p', 'createServer', 'RUNNING', 1000),
                          ('j2', 'p', 'createServer', 'RUNNING', 1000);
                 INSERT INTO tasks (job_id, idx, id, server_id, operation, status, step,
                                    next_run_at, begin_time, end_time)
                   VALUES ('j1', 0, 't0', 's0', '{{\"op\":\"create_server\"}}', 'SUCCESS', 5,
                           NULL, 1000, 2000),
                          ('j1', 1, 't1', 's1', '{{\"op\":\"create_server\"}}', 'RUNNING', 2,
                           5000, 1000, NULL),
                          ('j2', 0, 't2', 's2', '{{\"op\":\"create_server\"}}', 'RUNNING', 1,
                           6000, 1000, NULL);
                 INSERT INTO servers (id, project_id, name, flavor_id, status, vm_state,
                                      task_state, power_state, progress, busy_job_id,
                                      created_at, updated_at, doc)
                   VALUES ('s0', 'p', 'a', 'f', 'ACTIVE', 'active', NULL, 1, 100, NULL, 1000,
                           2000, '{doc}'),
                          ('s1', 'p', 'b', 'f', 'BUILD', 'building', 'networking', 0, 50,
                           'j1', 1000, 3000, '{doc}');"
            ))
            .expect("a job under way");
        drop(connection);
        let store = Arc::new(SqliteStore::open(&path).expect("migrates"));
        let clock = ManualClock::new(from_unix_ms(4_000));
        let engine = engine::Engine::new(
            store.clone(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            engine::EngineConfig::default(),
        );
        let job = engine.job("p", "j1").await.expect("reads").expect("kept");
        assert_eq!(job.status, JobStatus::Running);
        assert_eq!(job.tasks.len(), 2);
        // The two steps done are due at the task's begin, the rest at its next run.
        assert_eq!(job.tasks[1].schedule, [1_000, 1_000, 5_000, 5_000, 5_000]);
        assert_eq!(engine.run_once().await.expect("runs"), RunOutcome::Idle);
        assert_eq!(store.task_next_due().await.expect("reads"), Some(5_000));
        clock.set(from_unix_ms(5_000));
        assert_eq!(engine.run_once().await.expect("runs"), RunOutcome::Ran(1));
        let job = engine.job("p", "j1").await.expect("reads").expect("kept");
        assert_eq!(job.status, JobStatus::Success);
        assert_eq!(job.end_time, Some(5_000));
        // j2, none of whose tasks had finished, is still due at its next run.
        assert_eq!(store.task_next_due().await.expect("reads"), Some(6_000));
        let server = engine
            .server("p", "s1")
            .await
            .expect("reads")
            .expect("kept");
        assert_eq!(server.state.status(), ServerStatus::Active);
        assert_eq!((server.progress, server.busy_job_id), (100, None));
        let old_rows: i64 = Connection::open(&path)
            .and_then(|c| c.query_row("SELECT count(*) FROM tasks", [], |row| row.get(0)))
            .expect("counts");
        assert_eq!(old_rows, 0, "the per-step rows moved into the job");
    }

    #[test]
    fn a_database_of_another_schema_version_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        SqliteStore::open(&path).expect("creates").close();
        Connection::open(&path)
            .and_then(|connection| connection.execute_batch("PRAGMA user_version = 99;"))
            .expect("sets the version");
        let reopened = SqliteStore::open(&path);
        assert!(
            matches!(&reopened, Err(StoreError::Backend(message)) if message.contains("schema version 99")),
            "{reopened:?}"
        );
    }

    #[test]
    fn a_second_store_on_the_same_file_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        let _first = SqliteStore::open(&path).expect("opens");
        let second = SqliteStore::open(&path);
        assert!(matches!(second, Err(StoreError::Backend(message)) if message.contains("in use")));
    }

    #[tokio::test]
    async fn jobs_survive_closing_and_reopening_the_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        let job_id = {
            let store = SqliteStore::open(&path).expect("opens");
            let insert = crate::conformance::create_job_insert("p1", 1, 0);
            let job_id = insert.job.id.clone();
            store.job_insert(insert).await.expect("inserted");
            store.close();
            job_id
        };
        let store = SqliteStore::open(&path).expect("reopens");
        let job = store.job_get("p1", &job_id).await.expect("reads");
        assert_eq!(job.map(|job| job.tasks.len()), Some(1));
    }

    #[test]
    fn the_token_signing_key_is_made_once_per_database_and_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("ecsd.db");
        let first = {
            let store = SqliteStore::open(&path).expect("opens");
            let key = store.token_signing_key().to_vec();
            store.close();
            key
        };
        assert_eq!(first.len(), 32);
        assert_ne!(first, vec![0u8; 32]);
        let reopened = SqliteStore::open(&path).expect("reopens");
        assert_eq!(reopened.token_signing_key(), first, "kept across restarts");
        let other = SqliteStore::open(&dir.path().join("other.db")).expect("opens");
        assert_ne!(
            other.token_signing_key(),
            first,
            "each database has its own"
        );
    }
}
