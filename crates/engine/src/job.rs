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
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord {
    pub id: String,
    pub job_id: String,
    /// Position inside the job, from 0: the order of `sub_jobs`.
    pub index: i64,
    pub server_id: String,
    pub operation: crate::compute::Operation,
    pub status: JobStatus,
    /// How many steps of the operation have been applied. Also the fencing token: a step is
    /// only written if the stored step is still the one it was computed from.
    pub step: i64,
    /// Unix milliseconds at which the next step is due.
    pub next_run_at: i64,
    pub begin_time: i64,
    pub end_time: Option<i64>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
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

fn time_ordered_uuid(at: time::OffsetDateTime) -> uuid::Uuid {
    let seconds = u64::try_from(at.unix_timestamp()).unwrap_or_default();
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        seconds,
        at.nanosecond(),
    ))
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
