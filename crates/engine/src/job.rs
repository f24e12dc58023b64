//! Jobs and their sub-jobs ("tasks").
//!
//! A job is what a client polls. It owns one or more tasks: the units the engine executes, each
//! against one server. A batch job (create, delete, start/stop/reboot, add/delete NICs) shows its
//! tasks as `entities.sub_jobs`; a single-target job (resize, migrate, reinstall/change OS,
//! attach/detach disk) shows its one task's target as `entities.server_id`.
//! The job's status is derived from its tasks' ([`JobStatus::of_tasks`]).
//! See `docs/state-machine.md` for the diagram.

use serde::{Deserialize, Serialize};

/// The four statuses of the reference, for jobs and sub-jobs alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JobStatus {
    /// Accepted and durable; no step has run yet.
    Init,
    /// At least one step has run, and the work is not finished.
    Running,
    /// Finished; every effect is visible.
    Success,
    /// Finished with an error code and a reason.
    Fail,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Init => "INIT",
            JobStatus::Running => "RUNNING",
            JobStatus::Success => "SUCCESS",
            JobStatus::Fail => "FAIL",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            JobStatus::Init,
            JobStatus::Running,
            JobStatus::Success,
            JobStatus::Fail,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Success | JobStatus::Fail)
    }

    /// A job's status from its tasks': INIT while none has started, RUNNING while any is
    /// unfinished, then SUCCESS only if every task succeeded (ASYNC-OPERATIONS.md §1.6).
    pub fn of_tasks(statuses: impl IntoIterator<Item = JobStatus>) -> JobStatus {
        let (mut total, mut init, mut unfinished, mut failed) = (0usize, 0usize, 0usize, 0usize);
        for status in statuses {
            total += 1;
            match status {
                JobStatus::Init => {
                    init += 1;
                    unfinished += 1;
                }
                JobStatus::Running => unfinished += 1,
                JobStatus::Fail => failed += 1,
                JobStatus::Success => {}
            }
        }
        if total == 0 || init == total {
            JobStatus::Init
        } else if unfinished > 0 {
            JobStatus::Running
        } else if failed > 0 {
            JobStatus::Fail
        } else {
            JobStatus::Success
        }
    }
}

/// What a job does, and how it is named on the wire (ASYNC-OPERATIONS.md §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobKind {
    CreateServers,
    DeleteServers,
    StartServers,
    StopServers,
    RebootServers,
    ResizeServer,
    MigrateServer,
    ReinstallOs,
    ChangeOs,
    AttachVolume,
    DetachVolume,
    AddNics,
    DeleteNics,
    /// A Nova resize, which waits in `VERIFY_RESIZE`.
    NovaResize,
    NovaConfirmResize,
    NovaRevertResize,
    NovaRebuild,
}

impl JobKind {
    /// The parent `job_type`.
    pub fn job_type(self) -> &'static str {
        match self {
            JobKind::CreateServers => "createServer",
            JobKind::DeleteServers => "deleteVMs",
            JobKind::StartServers => "batchStartServers",
            JobKind::StopServers => "batchStopServers",
            JobKind::RebootServers => "batchRebootServers",
            JobKind::ResizeServer => "resizeServer",
            JobKind::MigrateServer => "migrateServer",
            JobKind::ReinstallOs => "reInitOs",
            JobKind::ChangeOs => "changeOS",
            JobKind::AttachVolume => "attachVolume",
            JobKind::DetachVolume => "detachVolume",
            JobKind::AddNics => "addNics",
            JobKind::DeleteNics => "deleteNics",
            JobKind::NovaResize => "novaResizeServer",
            JobKind::NovaConfirmResize => "novaConfirmResize",
            JobKind::NovaRevertResize => "novaRevertResize",
            JobKind::NovaRebuild => "novaRebuildServer",
        }
    }

    /// The `job_type` of each sub-job; `None` for single-target jobs, which have none.
    pub fn sub_job_type(self) -> Option<&'static str> {
        match self {
            JobKind::CreateServers => Some("createSingleServer"),
            JobKind::DeleteServers => Some("deleteSingleServer"),
            JobKind::StartServers => Some("startServer"),
            JobKind::StopServers => Some("stopServer"),
            JobKind::RebootServers => Some("rebootServer"),
            JobKind::AddNics => Some("addNic"),
            JobKind::DeleteNics => Some("deleteNic"),
            JobKind::ResizeServer
            | JobKind::MigrateServer
            | JobKind::ReinstallOs
            | JobKind::ChangeOs
            | JobKind::AttachVolume
            | JobKind::DetachVolume
            | JobKind::NovaResize
            | JobKind::NovaConfirmResize
            | JobKind::NovaRevertResize
            | JobKind::NovaRebuild => None,
        }
    }

    pub fn from_job_type(text: &str) -> Option<Self> {
        JobKind::ALL
            .into_iter()
            .find(|kind| kind.job_type() == text)
    }

    pub const ALL: [JobKind; 17] = [
        JobKind::CreateServers,
        JobKind::DeleteServers,
        JobKind::StartServers,
        JobKind::StopServers,
        JobKind::RebootServers,
        JobKind::ResizeServer,
        JobKind::MigrateServer,
        JobKind::ReinstallOs,
        JobKind::ChangeOs,
        JobKind::AttachVolume,
        JobKind::DetachVolume,
        JobKind::AddNics,
        JobKind::DeleteNics,
        JobKind::NovaResize,
        JobKind::NovaConfirmResize,
        JobKind::NovaRevertResize,
        JobKind::NovaRebuild,
    ];

    /// Whether the job shows its tasks as `sub_jobs` (batch jobs: one per server or per NIC).
    /// Single-target jobs (resize, migrate, OS, disks) show `entities.server_id` instead
    /// (ASYNC-OPERATIONS.md §1.5).
    pub fn has_sub_jobs(self) -> bool {
        self.sub_job_type().is_some()
    }
}

/// A job as stored and as shown.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: String,
    pub project_id: String,
    pub kind: JobKind,
    pub status: JobStatus,
    /// Unix milliseconds; set when the job is accepted.
    pub begin_time: i64,
    /// Unix milliseconds; set when the last task finishes.
    pub end_time: Option<i64>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
    pub tasks: Vec<TaskRecord>,
}

/// One unit of execution: one operation on one server.
///
/// Its schedule is decided at acceptance and stored once: `schedule[i]` is when phase `i` of
/// its operation is due (unix ms). Phases before the end are never written: their effects are
/// computed from the schedule and the clock when the task is read ([`crate::schedule`]). Only
/// the end (phase `end_step()`: the last one, or the one `fault` names) is written, with the
/// task's outcome and its effect on the server.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub job_id: String,
    /// Position inside the job, from 0: the order of `sub_jobs`.
    pub index: i64,
    pub server_id: String,
    pub operation: crate::compute::Operation,
    /// As stored: `INIT` until its end is written, then `SUCCESS` or `FAIL`. A read through
    /// the engine shows `RUNNING` once the first phase is due ([`TaskRecord::status_at`]).
    pub status: JobStatus,
    /// When each phase of the operation is due (unix ms), decided at acceptance.
    pub schedule: Vec<i64>,
    /// The failure decided at acceptance (the fault injector's answer), if any: the task ends
    /// at that phase instead of the last one.
    pub fault: Option<TaskFault>,
    pub begin_time: i64,
    pub end_time: Option<i64>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

/// A failure decided for a task at acceptance: at phase `step` the task fails with `code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFault {
    pub step: usize,
    pub code: String,
    pub reason: String,
}

impl TaskRecord {
    /// The phase at which the task ends: the faulty one, else the last.
    pub fn end_step(&self) -> usize {
        let last = self.schedule.len().saturating_sub(1);
        self.fault
            .as_ref()
            .map_or(last, |fault| fault.step.min(last))
    }

    /// When the task's end is due (unix ms).
    pub fn end_due(&self) -> i64 {
        self.schedule
            .get(self.end_step())
            .copied()
            .unwrap_or(self.begin_time)
    }

    /// The status a client sees at `now`: the stored outcome once written; before that `INIT`
    /// until the first phase is due, then `RUNNING` — also past the due end, until the end is
    /// written (a job reports `SUCCESS` only once its effects are committed). A first phase due
    /// with the end (the `instant` profile, a fault at the first step) never shows `RUNNING`:
    /// the per-step engine wrote such phases in the end's write, so clients saw INIT → end.
    pub fn status_at(&self, now: i64) -> JobStatus {
        if self.status.is_terminal() {
            self.status
        } else if self.phases_due(now) > 0 {
            JobStatus::Running
        } else {
            JobStatus::Init
        }
    }

    /// How many phases count as applied at `now` for a task whose end is not written yet:
    /// those due by then and before the end (which only its write applies; phases due at the
    /// same time as the end are applied with it).
    pub fn phases_due(&self, now: i64) -> usize {
        if self.status.is_terminal() {
            return self.schedule.len();
        }
        let end_due = self.end_due();
        self.schedule
            .iter()
            .take(self.end_step())
            .take_while(|due| **due <= now && **due < end_due)
            .count()
    }
}

/// Job ids: 32 lowercase hex characters, like the reference's examples. They are UUIDv7 in
/// simple form: time-ordered (from the injected clock), so new rows append at the right edge of
/// every index instead of dirtying random pages — the difference between a few and a few hundred
/// pages written per group commit.
pub fn new_job_id(at: time::OffsetDateTime) -> String {
    time_ordered_uuid(at).simple().to_string()
}

/// Server (and port, disk) ids: UUIDs in their hyphenated form, time-ordered like job ids.
pub fn new_server_id(at: time::OffsetDateTime) -> String {
    time_ordered_uuid(at).hyphenated().to_string()
}

/// A UUIDv7 for `at`: 48 bits of milliseconds, then random bits from a user-space generator
/// (`fastrand`, seeded once per thread). `Uuid::new_v7` drew them from the operating system, a
/// `getrandom` syscall per id: a create made five or more ids, and the syscall showed in the
/// HTTP workers' profile. Ids need to be unique, not secret (every read checks the project).
fn time_ordered_uuid(at: time::OffsetDateTime) -> uuid::Uuid {
    let millis = u64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or_default();
    let random = fastrand::u128(..).to_le_bytes();
    let mut tail = [0u8; 10];
    tail.copy_from_slice(&random[..10]);
    uuid::Builder::from_unix_timestamp_millis(millis, &tail).into_uuid()
}

/// A random (v4) UUID from the same user-space generator, for ids that carry no time (request
/// ids: one per request, where a syscall each showed in the profile).
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid()
}

/// Where the engine's ids come from: random by default, or a seeded stream (`--seed N`) that
/// makes every id of a run — jobs, tasks, servers, ports, disks, EIPs, request ids, and the MACs
/// and addresses derived from them — the same run to run for the same requests in the same
/// order from the same starting state.
///
/// Seeded ids keep the UUIDv7 layout (version and variant bits, time-ordered) but their 48
/// "time" bits are a counter from [`SEEDED_EPOCH_MS`], one millisecond per id, rather than the
/// clock: a wall-clock time would differ run to run. The counter keeps them ordered, so new rows
/// still append at the right edge of the indexes.
#[derive(Debug, Default)]
pub struct IdSource {
    seeded: Option<std::sync::Mutex<SeededIds>>,
}

/// Where the "time" bits of seeded ids start: 2026-01-01T00:00:00Z.
pub const SEEDED_EPOCH_MS: u64 = 1_767_225_600_000;

#[derive(Debug)]
struct SeededIds {
    rng: fastrand::Rng,
    next_ms: u64,
    /// Request ids have a stream of their own: how often a client polls (which depends on
    /// timing) must not shift the ids of the jobs and servers it creates next.
    requests: fastrand::Rng,
}

/// Mixed into the seed of the request-id stream, so it differs from the main one.
const REQUEST_STREAM: u64 = 0x5265_7175_6573_7473;

impl IdSource {
    /// Random ids (the default): time-ordered from the clock, random bits per thread.
    pub fn random() -> Self {
        Self { seeded: None }
    }

    /// Ids from a stream seeded with `seed`.
    pub fn seeded(seed: u64) -> Self {
        Self {
            seeded: Some(std::sync::Mutex::new(SeededIds {
                rng: fastrand::Rng::with_seed(seed),
                next_ms: SEEDED_EPOCH_MS,
                requests: fastrand::Rng::with_seed(seed ^ REQUEST_STREAM),
            })),
        }
    }

    pub fn is_seeded(&self) -> bool {
        self.seeded.is_some()
    }

    /// A job (or task) id, like [`new_job_id`].
    pub fn job_id(&self, at: time::OffsetDateTime) -> String {
        self.time_ordered(at).simple().to_string()
    }

    /// A server (port, disk, group…) id, like [`new_server_id`].
    pub fn server_id(&self, at: time::OffsetDateTime) -> String {
        self.time_ordered(at).hyphenated().to_string()
    }

    /// An id that carries no time (image ids), like [`random_uuid`].
    pub fn uuid(&self) -> uuid::Uuid {
        self.untimed(|seeded| seeded.rng.u128(..))
    }

    /// A request id (`X-Request-Id`), from the request stream when seeded.
    pub fn request_id(&self) -> uuid::Uuid {
        self.untimed(|seeded| seeded.requests.u128(..))
    }

    fn untimed(&self, draw: impl FnOnce(&mut SeededIds) -> u128) -> uuid::Uuid {
        match &self.seeded {
            None => random_uuid(),
            Some(seeded) => {
                let bits = draw(
                    &mut seeded
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                uuid::Builder::from_random_bytes(bits.to_le_bytes()).into_uuid()
            }
        }
    }

    fn time_ordered(&self, at: time::OffsetDateTime) -> uuid::Uuid {
        match &self.seeded {
            None => time_ordered_uuid(at),
            Some(seeded) => {
                let mut seeded = seeded
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let millis = seeded.next_ms;
                seeded.next_ms += 1;
                let random = seeded.rng.u128(..).to_le_bytes();
                let mut tail = [0u8; 10];
                tail.copy_from_slice(&random[..10]);
                uuid::Builder::from_unix_timestamp_millis(millis, &tail).into_uuid()
            }
        }
    }
}

/// Whether `text` has the shape of a job id this server could have issued.
pub fn is_job_id(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    #[test]
    fn seeded_ids_repeat_for_the_same_seed_and_differ_for_another() {
        let at = time::macros::datetime!(2030-05-05 12:00 UTC);
        let draw = |ids: &IdSource| {
            vec![
                ids.job_id(at),
                ids.server_id(at),
                ids.uuid().to_string(),
                ids.job_id(at),
            ]
        };
        let first = draw(&IdSource::seeded(42));
        assert_eq!(first, draw(&IdSource::seeded(42)));
        // Request ids do not move the other ids: a client may poll any number of times.
        let polled = IdSource::seeded(42);
        for _ in 0..7 {
            polled.request_id();
        }
        assert_eq!(first, draw(&polled));
        assert_ne!(first, draw(&IdSource::seeded(43)));
        // Still job-id shaped and ordered, whatever the clock says.
        assert!(is_job_id(&first[0]) && is_job_id(&first[3]));
        assert!(first[0] < first[3]);
        // The default source is random.
        assert_ne!(draw(&IdSource::random()), draw(&IdSource::random()));
    }

    #[test]
    fn job_is_init_until_a_task_starts() {
        assert_eq!(JobStatus::of_tasks([Init, Init]), Init);
        assert_eq!(JobStatus::of_tasks([Init, Running]), Running);
    }

    #[test]
    fn job_runs_while_any_task_is_unfinished_even_after_a_failure() {
        assert_eq!(JobStatus::of_tasks([Fail, Init]), Running);
        assert_eq!(JobStatus::of_tasks([Success, Running]), Running);
    }

    #[test]
    fn job_succeeds_only_when_every_task_succeeds() {
        assert_eq!(JobStatus::of_tasks([Success, Success]), Success);
        assert_eq!(JobStatus::of_tasks([Success, Fail]), Fail);
    }

    #[test]
    fn job_ids_are_32_lowercase_hex_and_server_ids_are_uuids() {
        let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let job_id = new_job_id(now);
        assert!(is_job_id(&job_id), "{job_id}");
        assert!(!is_job_id(&job_id.to_uppercase()));
        assert!(!is_job_id("70a599e0-31e7-49b7-b260-868f441e862b"));
        assert!(uuid::Uuid::parse_str(&new_server_id(now)).is_ok());
    }

    #[test]
    fn ids_are_ordered_by_time() {
        let earlier = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let later = earlier + time::Duration::milliseconds(1);
        assert!(new_job_id(earlier) < new_job_id(later));
        assert!(new_server_id(earlier) < new_server_id(later));
    }

    #[test]
    fn job_type_names_are_frozen() {
        let names: Vec<_> = JobKind::ALL
            .iter()
            .map(|kind| (kind.job_type(), kind.sub_job_type()))
            .collect();
        assert_eq!(
            names,
            [
                ("createServer", Some("createSingleServer")),
                ("deleteVMs", Some("deleteSingleServer")),
                ("batchStartServers", Some("startServer")),
                ("batchStopServers", Some("stopServer")),
                ("batchRebootServers", Some("rebootServer")),
                ("resizeServer", None),
                ("migrateServer", None),
                ("reInitOs", None),
                ("changeOS", None),
                ("attachVolume", None),
                ("detachVolume", None),
                ("addNics", Some("addNic")),
                ("deleteNics", Some("deleteNic")),
                ("novaResizeServer", None),
                ("novaConfirmResize", None),
                ("novaRevertResize", None),
                ("novaRebuildServer", None),
            ]
        );
        for kind in JobKind::ALL {
            assert_eq!(JobKind::from_job_type(kind.job_type()), Some(kind));
        }
    }
}
