//! The storage interface the engine needs. Backends live in the `store` crate.
//!
//! Methods are noun-first and take plain parameter structs; every query that depends on time
//! takes `now` from the caller (the engine's clock), never from the database. Futures are boxed
//! so the engine and the HTTP layer can hold an `Arc<dyn Store>` chosen once at start.

use crate::compute::ServerPatch;
use crate::job::{JobKind, JobRecord, JobStatus};
use crate::quota::{
    QuotaCheck, QuotaResource, ServerGroupInsert, ServerGroupMembership, ServerGroupRecord, Usage,
};
use crate::server::{DocChange, ServerChange, ServerRecord, ServerStatus, VmState};
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A failure of the storage itself. It never carries user input, and its text is for logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage backend failed: {0}")]
    Backend(String),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    #[error("the store is shut down")]
    Closed,
    /// A read ran past the store's read deadline and was interrupted (or found no free
    /// connection before it). Caused by the query's shape and the data's volume, not by a
    /// fault: the caller may narrow the query and try again.
    #[error("the read took longer than its deadline of {} ms", deadline.as_millis())]
    ReadDeadline { deadline: std::time::Duration },
}

/// What a reset removed (`POST /_ecsd/reset`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResetCounts {
    pub jobs: u64,
    pub servers: u64,
    pub server_groups: u64,
    pub keypairs: u64,
    pub images: u64,
    pub client_tokens: u64,
}

/// A saved copy of the whole store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub name: String,
    pub bytes: u64,
    /// When the copy was written (unix ms, the file's time: the wall clock).
    pub created_at: i64,
}

/// Why a snapshot could not be saved, listed, restored, deleted or exported.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("there is no snapshot named {0:?}")]
    NotFound(String),
    #[error("a snapshot named {0:?} exists already")]
    Exists(String),
    /// A bad name, or a file that is not a snapshot this ecsd can restore; the text says which.
    #[error("{0}")]
    Invalid(String),
    #[error("this storage backend keeps no snapshots")]
    Unsupported,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks a snapshot name: 1 to 64 letters, digits, `.`, `_`, `-`, not starting with `.` and
/// without `..`, so it can only ever name a file inside the snapshots folder.
pub fn check_snapshot_name(name: &str) -> Result<(), SnapshotError> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(SnapshotError::Invalid(format!(
            "the snapshot name {name:?} is not valid: 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' and without '..'"
        )))
    }
}

/// Why a job could not be accepted. Checked inside the same transaction as the insert, so two
/// concurrent submissions can never both take the same server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("server {server_id} does not exist")]
    ServerNotFound { server_id: String },
    #[error("server {server_id} is {status}, which does not allow this operation")]
    ServerWrongState {
        server_id: String,
        status: &'static str,
    },
    #[error("the project already has {limit} unfinished jobs, the most it may have")]
    TooManyUnfinishedJobs { limit: u32 },
    #[error("server {server_id} is busy with job {job_id}")]
    ServerBusy { server_id: String, job_id: String },
    #[error("the client token {token:?} was already used for a different request")]
    ClientTokenReused { token: String },
    /// The server changed after the job was planned from it (the engine plans again).
    #[error("server {server_id} changed while the job was being planned")]
    ServerChanged { server_id: String },
    #[error("server {server_id} already has flavor {flavor_id}")]
    SameFlavor {
        server_id: String,
        flavor_id: String,
    },
    /// Outside the resize targets of the server's flavor (its family; see `flavors`).
    #[error("server {server_id} cannot be resized from {from} to {to}")]
    FlavorNotAllowed {
        server_id: String,
        from: String,
        to: String,
    },
    #[error("server {server_id} is already on dedicated host {dedicated_host_id}")]
    SameDedicatedHost {
        server_id: String,
        dedicated_host_id: String,
    },
    #[error("volume {volume_id} is already attached to server {server_id}")]
    VolumeAlreadyAttached {
        volume_id: String,
        server_id: String,
    },
    /// Attached to (or being attached to) another server.
    #[error("volume {volume_id} is in use by server {server_id}")]
    VolumeInUse {
        volume_id: String,
        server_id: String,
    },
    #[error("device {device} is already in use on server {server_id}")]
    DeviceInUse { server_id: String, device: String },
    #[error("server {server_id} has no free disk slot")]
    NoFreeDiskSlot { server_id: String },
    #[error("volume {volume_id} is not attached to server {server_id}")]
    VolumeNotAttached {
        volume_id: String,
        server_id: String,
    },
    #[error("server {server_id} has no system disk")]
    NoSystemDisk { server_id: String },
    #[error("server {server_id} has no NIC with port {port_id}")]
    NicNotFound { server_id: String, port_id: String },
    #[error("port {port_id} is the primary NIC of server {server_id}")]
    PrimaryNic { server_id: String, port_id: String },
    #[error("server {server_id} would have {count} NICs; at most {max}")]
    TooManyNics {
        server_id: String,
        count: usize,
        max: usize,
    },
    #[error("IP address {ip_address} of subnet {subnet_id} is in use by server {server_id}")]
    IpInUse {
        subnet_id: String,
        ip_address: String,
        server_id: String,
    },
    /// The project's quota of `resource` would be exceeded: `requested` is what it would hold.
    #[error("the {resource} quota is {limit}; the request would make it {requested}")]
    QuotaExceeded {
        resource: QuotaResource,
        limit: u64,
        requested: u64,
    },
    #[error("server group {group_id} does not exist")]
    ServerGroupNotFound { group_id: String },
    #[error("server {server_id} is already in server group {group_id}")]
    AlreadyInServerGroup { server_id: String, group_id: String },
    #[error("server {server_id} is not in server group {group_id}")]
    NotInServerGroup { server_id: String, group_id: String },
    /// Anti-affinity is not supported on dedicated hosts (the create page's constraint).
    #[error("server {server_id} is on a dedicated host, where anti-affinity does not apply")]
    AntiAffinityOnDedicatedHost { server_id: String },
    #[error("server {server_id} would have {count} tags; at most {max}")]
    TooManyTags {
        server_id: String,
        count: usize,
        max: usize,
    },
    /// The limits page's `maxServerMeta`, counted after the merge in the writer transaction.
    #[error("server {server_id} would have {count} metadata keys; at most {max}")]
    TooManyMetadata {
        server_id: String,
        count: usize,
        max: usize,
    },
}

/// Why a [`ServerEdit`] was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ServerEditError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, thiserror::Error)]
pub enum JobInsertError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A key pair of a project (Nova's `os-keypairs`): the public key only; ecsd never holds a
/// private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairRecord {
    pub project_id: String,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    /// `ssh` or `x509`.
    pub key_type: String,
    pub user_id: String,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// A private image a project made from one of its servers (Nova's `createImage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    pub project_id: String,
    pub id: String,
    pub name: String,
    pub server_id: String,
    /// GiB.
    pub min_disk: i64,
    /// MiB.
    pub min_ram: i64,
    pub os_distro: String,
    pub metadata: std::collections::BTreeMap<String, String>,
    /// Unix milliseconds.
    pub created_at: i64,
}

/// What must hold of an existing server for a job to take it.
#[derive(Debug, Clone, PartialEq)]
pub struct Precondition {
    pub server_id: String,
    /// The server's `vm_state` must be one of these, with no task state and no job holding it.
    pub allowed_vm_states: &'static [VmState],
    /// When the job was planned from the server as it was at this `updated_at` (device names,
    /// NIC ids…), the server must not have changed since; otherwise [`Rejection::ServerChanged`].
    pub unchanged_since: Option<i64>,
}

/// A resource that only one server of a project may hold, checked in the accept transaction
/// against every server's document and every unfinished task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// The volume is attached nowhere and no unfinished job attaches it.
    Volume { volume_id: String },
    /// No NIC of the project, present or being added, has this address in this subnet.
    FixedIp {
        subnet_id: String,
        ip_address: String,
    },
}

/// A job to accept: its record with all tasks, the servers it creates, and the servers it takes.
/// On success the job is durable and every taken server is held by it.
#[derive(Debug, Clone)]
pub struct JobInsert {
    pub job: JobRecord,
    pub new_servers: Vec<ServerRecord>,
    pub preconditions: Vec<Precondition>,
    /// Resources the job takes (a volume to attach, a fixed IP to give a new NIC).
    pub reservations: Vec<Reservation>,
    /// Makes the insert idempotent: a request repeated with the same token gets the first one's
    /// job instead of a new one.
    pub client_token: Option<ClientToken>,
    /// Refuse ([`Rejection::TooManyUnfinishedJobs`]) if the project already has this many
    /// unfinished jobs. Set by the engine from its configuration; `None`: no limit.
    pub unfinished_job_limit: Option<u32>,
    /// The project's quotas and what the job adds: checked against the project's usage (its
    /// servers and what unfinished jobs add) in the accept transaction. New servers whose
    /// document names a server group join it there too (the group must exist; its members
    /// quota is this check's `server_group_members`; each gets a host no other member holds).
    pub quota: Option<QuotaCheck>,
}

/// A client's idempotency token (`X-Client-Token`), with a hash of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub token: String,
    /// The same token with another request hash is refused, not replayed.
    pub request_hash: String,
}

/// What an accepted [`JobInsert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Insertion {
    /// The job is stored.
    Inserted,
    /// The client token was seen with the same request: nothing stored, this is the first job.
    Replayed {
        job_id: String,
        server_ids: Vec<String>,
    },
}

/// Which task ends are due: jobs holding an unfinished task whose end is due by `now`.
#[derive(Debug, Clone)]
pub struct TaskClaim {
    pub now: i64,
    /// The most jobs to answer.
    pub limit: usize,
}

/// The end of one task: its outcome and its effect on its server, written in one commit with
/// the job's new status. Fenced by the task itself: written only if the stored task is still
/// unfinished, so a repeated or stale end (a restarted engine, another node that claimed the
/// same job) is a no-op — and since a task's end is a pure function of what acceptance stored,
/// any writer writes the same end.
#[derive(Debug, Clone)]
pub struct TaskEnd {
    pub job_id: String,
    /// The task's position in its job: with `job_id`, its key.
    pub task_index: i64,
    pub server_id: String,
    /// `SUCCESS` or `FAIL`.
    pub status: JobStatus,
    pub end_time: i64,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
    /// The last phase's patch, or the operation's failure patch.
    pub patch: ServerPatch,
    /// When the end is written (unix ms): `updated`, `launched_at`.
    pub now: i64,
}

/// A filtered page of a project's servers, newest first.
#[derive(Debug, Clone, Default)]
pub struct ServerQuery {
    pub project_id: String,
    /// Fuzzy: a substring match in which `.` matches any one character.
    pub name: Option<String>,
    pub flavor_id: Option<String>,
    /// Servers whose status is any of these (empty = any).
    pub statuses: Vec<ServerStatus>,
    /// Servers that have every one of these tags.
    pub tags: Vec<TagMatch>,
    /// Servers that have none of these tags.
    pub not_tags: Vec<TagMatch>,
    /// A literal substring of the name (the tag query's `matches` on `resource_name`).
    pub name_contains: Option<String>,
    pub limit: u32,
    /// Items to skip.
    pub offset: u64,
}

/// A tag a server query asks for: its key, and the values any one of which matches (none: any
/// value, including the empty one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagMatch {
    pub key: String,
    pub values: Vec<String>,
}

impl TagMatch {
    /// Whether a server with these `key=value` tags has this tag.
    pub fn matches(&self, tags: &[String]) -> bool {
        crate::server::tag_pairs(tags).any(|(key, value)| {
            key == self.key && (self.values.is_empty() || self.values.iter().any(|v| v == value))
        })
    }
}

/// A synchronous edit of a server (tags, metadata, name and description), checked against the
/// server and applied in one transaction by [`ServerChange::apply`].
#[derive(Debug, Clone)]
pub struct ServerEdit {
    pub project_id: String,
    pub server_id: String,
    pub change: ServerChange,
    /// Unix ms: the server's new `updated`.
    pub now: i64,
}

/// A synchronous change to a server's document (no job): `support_auto_recovery` today.
#[derive(Debug, Clone)]
pub struct ServerUpdate {
    pub project_id: String,
    pub server_id: String,
    pub change: DocChange,
    /// Unix ms: the server's new `updated`.
    pub now: i64,
}

/// A page of a project's jobs, newest first (ecsd's job list, not in the reference). Job ids
/// are time-ordered ([`crate::job::new_job_id`]: their first 48 bits are the acceptance's
/// milliseconds), so "newest first" is descending id order and a marker needs no lookup.
#[derive(Debug, Clone, Default)]
pub struct JobQuery {
    pub project_id: String,
    /// Jobs in any of these statuses as a client sees them at `now` (empty: any). `INIT` and
    /// `RUNNING` are told apart from the stored schedules ([`crate::schedule::job_at`]).
    pub statuses: Vec<JobStatus>,
    /// Jobs of any of these kinds (empty: any).
    pub kinds: Vec<JobKind>,
    /// Jobs accepted at or after this instant (unix ms).
    pub since: Option<i64>,
    /// Jobs older than this job id (the last id of the previous page; it need not exist any
    /// more).
    pub marker: Option<String>,
    /// At most this many jobs.
    pub limit: u32,
    /// Jobs that finished before this instant (unix ms) are past their retention: not listed,
    /// purged yet or not.
    pub finished_since: i64,
    /// Unix ms: the instant the statuses are computed at.
    pub now: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ServerPage {
    /// All servers that match, ignoring limit and offset.
    pub total: u64,
    pub servers: Vec<ServerRecord>,
}

/// Recent jobs across projects, newest first, for the dashboard (`Store::jobs_recent`). Every
/// filter is optional and all must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobsRecent {
    pub project_id: Option<String>,
    pub job_id: Option<String>,
    pub kind: Option<crate::job::JobKind>,
    /// `SUCCESS` and `FAIL` match the stored status; `INIT` and `RUNNING` match every
    /// unfinished job (which of the two it shows is computed at read, by the engine).
    pub status: Option<JobStatus>,
    /// At most this many (the store caps it at [`JOBS_RECENT_MAX`]).
    pub limit: usize,
}

/// The most jobs one [`Store::jobs_recent`] answers.
pub const JOBS_RECENT_MAX: usize = 500;

pub trait Store: Send + Sync + std::fmt::Debug {
    /// Atomically checks the preconditions and stores the job, its tasks and its new servers.
    /// Returns only once that is durable.
    /// A job whose client token was seen before with the same request is not stored again:
    /// the answer is the first job ([`Insertion::Replayed`]). Tokens are kept as long as jobs.
    fn job_insert(&self, insert: JobInsert) -> BoxFuture<'_, Result<Insertion, JobInsertError>>;

    /// A job of `project_id` with its tasks in order; `None` if absent or another project's.
    fn job_get<'a>(
        &'a self,
        project_id: &'a str,
        job_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<JobRecord>, StoreError>>;

    /// Unfinished jobs with a task whose end is due at `now` (earliest due first), with all
    /// their tasks. A backend shared by several nodes hands each job to one claimer at a time
    /// (a lease); ends are fenced anyway ([`TaskEnd`]).
    fn task_claim_due(&self, claim: TaskClaim)
        -> BoxFuture<'_, Result<Vec<JobRecord>, StoreError>>;

    /// When the earliest unwritten task end is due, if any.
    fn task_next_due(&self) -> BoxFuture<'_, Result<Option<i64>, StoreError>>;

    /// Writes the ends in one durable commit: each task's outcome, its patch on the server
    /// (freeing it with the job's last task on it), and its job's status (finished with its
    /// last task). Returns how many were applied (an end whose task is already finished is
    /// skipped).
    fn task_end(&self, ends: Vec<TaskEnd>) -> BoxFuture<'_, Result<usize, StoreError>>;

    fn server_get<'a>(
        &'a self,
        project_id: &'a str,
        server_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ServerRecord>, StoreError>>;

    fn server_list(&self, query: ServerQuery) -> BoxFuture<'_, Result<ServerPage, StoreError>>;

    /// Applies a document change to a server of the project, durably; `false` if there is no
    /// such server. Jobs holding the server are not consulted: only changes no job makes go
    /// here.
    fn server_update(&self, update: ServerUpdate) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Checks and applies a synchronous edit in one durable transaction; answers the server as
    /// written. A server of another project is [`Rejection::ServerNotFound`]. Jobs holding the
    /// server are not consulted (the edit's own rules say which states it needs).
    fn server_edit(&self, edit: ServerEdit)
        -> BoxFuture<'_, Result<ServerRecord, ServerEditError>>;

    /// The distinct tags (`key=value`) of the project's servers, sorted.
    fn tag_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<String>, StoreError>>;

    /// Deletes finished jobs whose end is before `finished_before` (unix ms), and client tokens
    /// older than that; returns how many jobs.
    fn job_purge(&self, finished_before: i64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// How many jobs are not finished (for the start-up log and tests).
    fn job_count_unfinished(&self) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// A page of a project's jobs, newest first, each with its tasks and its status as a
    /// client sees it at `query.now` ([`crate::schedule::job_at`] applied).
    fn job_list(&self, query: JobQuery) -> BoxFuture<'_, Result<Vec<JobRecord>, StoreError>>;

    /// Reports the backend's writes (its commits) to `observer` from now on. Backends without
    /// a writer of their own report nothing.
    fn observe(&self, observer: std::sync::Arc<dyn crate::stats::Observer>) {
        let _ = observer;
    }

    /// Writes accepted by the backend and not yet committed, if it queues them.
    fn writer_queue_depth(&self) -> Option<u64> {
        None
    }

    /// The key ecsd signs its IAM tokens with: 32 random bytes made the first time a database
    /// is opened and kept in it, so tokens survive restarts and every node sharing the database
    /// accepts them, while no tenant holds the key (an account's secret key is the tenant's
    /// own, so it cannot be what proves a token's claims). Loaded when the store opens.
    fn token_signing_key(&self) -> &[u8];

    /// What the project holds: its servers (any state, until deleted), their vCPUs, memory,
    /// NICs and disks — counting those unfinished jobs are adding — and its server groups.
    fn project_usage<'a>(&'a self, project_id: &'a str)
        -> BoxFuture<'a, Result<Usage, StoreError>>;

    /// Stores a new server group unless the project already has `max_groups`
    /// ([`Rejection::QuotaExceeded`]).
    fn server_group_insert(
        &self,
        insert: ServerGroupInsert,
    ) -> BoxFuture<'_, Result<(), JobInsertError>>;

    /// Stores a key pair (Nova's `os-keypairs`); `false` if the project already has one of that
    /// name (nothing is written then).
    fn keypair_insert(&self, keypair: KeyPairRecord) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores a private image made from a server (Nova's `createImage`); `false` if the
    /// project already has one with that id.
    fn image_insert(&self, image: ImageRecord) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// The project's private images, oldest first.
    fn image_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ImageRecord>, StoreError>>;

    /// The project's key pairs, by name.
    fn keypair_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<KeyPairRecord>, StoreError>>;

    /// Deletes a key pair of the project; `false` if there is none of that name.
    fn keypair_delete<'a>(
        &'a self,
        project_id: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// A group of the project with its members; `None` if absent or another project's.
    fn server_group_get<'a>(
        &'a self,
        project_id: &'a str,
        group_id: &'a str,
    ) -> BoxFuture<'a, Result<Option<ServerGroupRecord>, StoreError>>;

    /// The project's groups, oldest first, with their members.
    fn server_group_list<'a>(
        &'a self,
        project_id: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ServerGroupRecord>, StoreError>>;

    /// Deletes a group of the project; its members leave it (their hosts stay). `false` if
    /// there is no such group.
    fn server_group_delete<'a>(
        &'a self,
        project_id: &'a str,
        group_id: &'a str,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>>;

    /// Adds a server to a group or removes it. An added server must be stopped, free of jobs,
    /// in no group, and not on a dedicated host; the group's members quota applies; it is moved
    /// to a host no other member holds. A removed server must be a member.
    fn server_group_membership(
        &self,
        change: ServerGroupMembership,
    ) -> BoxFuture<'_, Result<(), JobInsertError>>;

    /// Recent jobs of any project, newest first, with their tasks ([`JobsRecent`]); for the
    /// dashboard, not a tenant route (tenants list their own jobs by project).
    fn jobs_recent(&self, filter: JobsRecent) -> BoxFuture<'_, Result<Vec<JobRecord>, StoreError>>;

    // State control (`/_ecsd/reset`, `/_ecsd/snapshots`, `/_ecsd/export`). Defaults refuse,
    // so a backend without them still compiles; SQLite has them all.

    /// Deletes every job, server, server group, key pair, private image and client token — of
    /// one project, or all. Accounts, settings (the token key) and configuration stay.
    fn state_reset(
        &self,
        _project_id: Option<String>,
    ) -> BoxFuture<'_, Result<ResetCounts, StoreError>> {
        Box::pin(async {
            Err(StoreError::Backend(
                "this storage backend cannot reset".to_owned(),
            ))
        })
    }

    /// Saves a consistent copy of the whole store under `name` (checked with
    /// [`check_snapshot_name`]), taken while the store keeps serving.
    fn snapshot_save(&self, _name: String) -> BoxFuture<'_, Result<SnapshotInfo, SnapshotError>> {
        Box::pin(async { Err(SnapshotError::Unsupported) })
    }

    /// The saved snapshots, oldest first.
    fn snapshot_list(&self) -> BoxFuture<'_, Result<Vec<SnapshotInfo>, SnapshotError>> {
        Box::pin(async { Err(SnapshotError::Unsupported) })
    }

    /// Replaces the whole store's content with the snapshot's, in one step that readers see
    /// either before or after.
    fn snapshot_restore(
        &self,
        _name: String,
    ) -> BoxFuture<'_, Result<SnapshotInfo, SnapshotError>> {
        Box::pin(async { Err(SnapshotError::Unsupported) })
    }

    fn snapshot_delete(&self, _name: String) -> BoxFuture<'_, Result<(), SnapshotError>> {
        Box::pin(async { Err(SnapshotError::Unsupported) })
    }

    /// An open file holding a snapshot to send: the named one, or (`None`) a fresh copy of the
    /// current state that is deleted once the file is closed. With its length in bytes.
    fn snapshot_export(
        &self,
        _name: Option<String>,
    ) -> BoxFuture<'_, Result<(std::fs::File, u64), SnapshotError>> {
        Box::pin(async { Err(SnapshotError::Unsupported) })
    }
}
