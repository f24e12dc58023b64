//! Tasks held with their job: the `jobs.tasks` JSON array, its codec, the end write, and the
//! migration (5 → 6) that moved the per-step `tasks` rows into it.
//!
//! Acceptance writes one row per job (its tasks' schedules inside it) where it wrote a row per
//! task with two index entries each; a task's end rewrites its job's row, which it had to
//! update anyway for the job's status. `jobs.due_at` is the earliest unwritten task end of an
//! unfinished job (NULL once finished): the engine claims by it.

use engine::compute::{Operation, ServerPatch};
use engine::job::{JobStatus, TaskFault, TaskRecord};
use engine::server::{PowerTriple, ServerDoc, TaskState};
use engine::store::{StoreError, TaskEnd};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// 5 → 6: tasks move into their job's row; `due_at` and its index; `live_tasks`, the
/// unfinished tasks as rows for the checks that read them (reservations, usage). The version 1
/// `tasks` table stays, emptied by [`migrate_tasks_into_jobs`]: [`crate::sqlite`]'s `SCHEMA`,
/// which never changes, creates it at every open.
pub const MIGRATION_JOB_TASKS: &str = r#"
ALTER TABLE jobs ADD COLUMN tasks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN due_at INTEGER;
CREATE INDEX jobs_due ON jobs (due_at) WHERE due_at IS NOT NULL;
CREATE VIEW live_tasks AS
    SELECT j.id AS job_id, j.project_id AS project_id,
           json_extract(t.value, '$.server_id') AS server_id,
           json_extract(t.value, '$.op') AS operation
    FROM jobs j, json_each(j.tasks) t
    WHERE j.end_time IS NULL AND json_extract(t.value, '$.status') = 'INIT';
"#;

/// One task as its job's row holds it. Its position in the array is its index.
#[derive(Debug, Serialize, Deserialize)]
struct StoredTask {
    id: String,
    server_id: String,
    op: Operation,
    /// When each phase is due (unix ms).
    due: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fault: Option<TaskFault>,
    /// `INIT` until the end is written, then `SUCCESS` or `FAIL`.
    status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    end: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

fn corrupt(job_id: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("job {job_id}: tasks: {error}"))
}

/// The `tasks` column of a job.
pub fn encode(tasks: &[TaskRecord]) -> Result<String, StoreError> {
    let stored: Vec<StoredTask> = tasks
        .iter()
        .map(|task| StoredTask {
            id: task.id.clone(),
            server_id: task.server_id.clone(),
            op: task.operation.clone(),
            due: task.schedule.clone(),
            fault: task.fault.clone(),
            // Stored tasks are INIT until their end: RUNNING is computed at read.
            status: if task.status.is_terminal() {
                task.status
            } else {
                JobStatus::Init
            },
            end: task.end_time,
            code: task.error_code.clone(),
            reason: task.fail_reason.clone(),
        })
        .collect();
    serde_json::to_string(&stored).map_err(|error| StoreError::Backend(error.to_string()))
}

/// A job's tasks from its `tasks` column; every task begins with its job.
pub fn decode(job_id: &str, begin_time: i64, text: &str) -> Result<Vec<TaskRecord>, StoreError> {
    let stored: Vec<StoredTask> =
        serde_json::from_str(text).map_err(|error| corrupt(job_id, error))?;
    Ok(stored
        .into_iter()
        .enumerate()
        .map(|(index, task)| TaskRecord {
            id: task.id,
            job_id: job_id.to_owned(),
            index: index as i64,
            server_id: task.server_id,
            operation: task.op,
            status: task.status,
            schedule: task.due,
            fault: task.fault,
            begin_time,
            end_time: task.end,
            error_code: task.code,
            fail_reason: task.reason,
        })
        .collect())
}

/// The earliest unwritten end among `tasks` (NULL for `due_at` when all are written).
pub fn next_due(tasks: &[TaskRecord]) -> Option<i64> {
    tasks
        .iter()
        .filter(|task| !task.status.is_terminal())
        .map(TaskRecord::end_due)
        .min()
}

/// A job's status, end and failure from its tasks (the first failed task's code and reason).
pub struct JobOutcome {
    pub status: JobStatus,
    pub end_time: Option<i64>,
    pub error_code: Option<String>,
    pub fail_reason: Option<String>,
}

pub fn outcome(tasks: &[TaskRecord]) -> JobOutcome {
    let status = JobStatus::of_tasks(tasks.iter().map(|task| task.status));
    let end_time = status
        .is_terminal()
        .then(|| tasks.iter().filter_map(|task| task.end_time).max())
        .flatten();
    let failed = (status == JobStatus::Fail)
        .then(|| tasks.iter().find(|task| task.status == JobStatus::Fail))
        .flatten();
    JobOutcome {
        status,
        end_time,
        error_code: failed.and_then(|task| task.error_code.clone()),
        fail_reason: failed.and_then(|task| task.fail_reason.clone()),
    }
}

/// Writes the ends, grouped by job: each task's outcome (skipped if already written: the
/// fence), its patch on the server, and the job's row once per job.
pub fn end_tasks(connection: &Connection, ends: &[TaskEnd]) -> Result<usize, StoreError> {
    let mut by_job: BTreeMap<&str, Vec<&TaskEnd>> = BTreeMap::new();
    for end in ends {
        by_job.entry(end.job_id.as_str()).or_default().push(end);
    }
    let mut applied = 0;
    for (job_id, ends) in by_job {
        let row = connection
            .prepare_cached("SELECT begin_time, tasks FROM jobs WHERE id = ?1 AND end_time IS NULL")
            .map_err(crate::sqlite::backend)?
            .query_row([job_id], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .optional()
            .map_err(crate::sqlite::backend)?;
        let Some((begin_time, text)) = row else {
            continue; // finished (or purged) already: every end of it is written
        };
        let mut tasks = decode(job_id, begin_time, &text)?;
        let mut written = Vec::new();
        for end in ends {
            let Some(task) = usize::try_from(end.task_index)
                .ok()
                .and_then(|index| tasks.get_mut(index))
            else {
                continue;
            };
            if task.status.is_terminal() || task.server_id != end.server_id {
                continue;
            }
            task.status = end.status;
            task.end_time = Some(end.end_time);
            task.error_code = end.error_code.clone();
            task.fail_reason = end.fail_reason.clone();
            written.push(end);
        }
        if written.is_empty() {
            continue;
        }
        for end in &written {
            // The job frees the server with its last task on it (an add-NICs job has several).
            let release = !tasks
                .iter()
                .any(|task| task.server_id == end.server_id && !task.status.is_terminal());
            patch_server(connection, end, release)?;
        }
        applied += written.len();
        let outcome = outcome(&tasks);
        let due_at = if outcome.status.is_terminal() {
            None
        } else {
            next_due(&tasks)
        };
        connection
            .prepare_cached(
                "UPDATE jobs SET tasks = ?1, status = ?2, end_time = ?3, error_code = ?4,
                                 fail_reason = ?5, due_at = ?6 WHERE id = ?7",
            )
            .map_err(crate::sqlite::backend)?
            .execute(params![
                encode(&tasks)?,
                outcome.status.as_str(),
                outcome.end_time,
                outcome.error_code,
                outcome.fail_reason,
                due_at,
                job_id
            ])
            .map_err(crate::sqlite::backend)?;
    }
    Ok(applied)
}

/// Applies an end's patch to its server; `release` frees it from the job.
fn patch_server(connection: &Connection, end: &TaskEnd, release: bool) -> Result<(), StoreError> {
    use crate::sqlite::{backend, parse_task_state, parse_vm_state};
    let current = connection
        .prepare_cached(
            "SELECT vm_state, task_state, power_state, progress, launched_at FROM servers WHERE id = ?1",
        )
        .map_err(backend)?
        .query_row([&end.server_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, Option<i64>>(4)?,
            ))
        })
        .optional()
        .map_err(backend)?;
    let Some((vm_state, task_state, power_state, mut progress, mut launched_at)) = current else {
        // Already gone (a delete's end written before a crash lost its reply): nothing to do.
        return Ok(());
    };
    let mut state = PowerTriple {
        vm_state: parse_vm_state(&vm_state)?,
        task_state: task_state.as_deref().map(parse_task_state).transpose()?,
        power_state,
    };
    let patch: &ServerPatch = &end.patch;
    engine::schedule::apply_state(&mut state, &mut progress, patch);
    if patch.mark_launched {
        launched_at = Some(end.now);
    }
    let fault = patch
        .fault
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|error| StoreError::Backend(error.to_string()))?;
    if let Some(change) = patch.doc.as_ref().filter(|_| !patch.remove) {
        let doc: String = connection
            .prepare_cached("SELECT doc FROM servers WHERE id = ?1")
            .map_err(backend)?
            .query_row([&end.server_id], |row| row.get(0))
            .map_err(backend)?;
        let mut doc: ServerDoc = serde_json::from_str(&doc).map_err(|error| {
            StoreError::Corrupt(format!("server {}: doc: {error}", end.server_id))
        })?;
        change.apply(&mut doc);
        crate::sqlite::write_doc(connection, &end.server_id, &doc, end.now)?;
    }
    if patch.remove && end.status == JobStatus::Success {
        connection
            .prepare_cached("DELETE FROM servers WHERE id = ?1")
            .map_err(backend)?
            .execute([&end.server_id])
            .map_err(backend)?;
        return Ok(());
    }
    connection
        .prepare_cached(
            "UPDATE servers SET status = ?1, vm_state = ?2, task_state = ?3, power_state = ?4,
                    progress = ?5, launched_at = ?6, updated_at = ?7,
                    fault = CASE WHEN ?11 THEN NULL ELSE coalesce(?8, fault) END,
                    busy_job_id = CASE WHEN ?9 AND busy_job_id = ?10 THEN NULL ELSE busy_job_id END
             WHERE id = ?12",
        )
        .map_err(backend)?
        .execute(params![
            state.status().as_str(),
            state.vm_state.as_str(),
            state.task_state.map(TaskState::as_str),
            state.power_state,
            progress,
            launched_at,
            end.now,
            fault,
            release,
            end.job_id,
            patch.clear_fault,
            end.server_id
        ])
        .map_err(backend)?;
    Ok(())
}

/// Moves version 3's task rows into their jobs' rows. A task under way keeps the steps it had
/// written (on its server) and ends when its next step was due: the schedule puts every phase
/// it had not reached at that time (the latency profile of the old start is not known), so an
/// upgraded database finishes what was under way, at the time it was due.
pub fn migrate_tasks_into_jobs(connection: &Connection) -> Result<(), StoreError> {
    use crate::sqlite::backend;
    let mut rows = Vec::new();
    {
        let mut statement = connection
            .prepare(
                "SELECT job_id, id, server_id, operation, status, step, next_run_at, begin_time,
                        end_time, error_code, fail_reason FROM tasks ORDER BY job_id, idx",
            )
            .map_err(backend)?;
        let mut query = statement.query([]).map_err(backend)?;
        while let Some(row) = query.next().map_err(backend)? {
            rows.push((
                row.get::<_, String>(0).map_err(backend)?,
                row.get::<_, String>(1).map_err(backend)?,
                row.get::<_, String>(2).map_err(backend)?,
                row.get::<_, String>(3).map_err(backend)?,
                row.get::<_, String>(4).map_err(backend)?,
                row.get::<_, i64>(5).map_err(backend)?,
                row.get::<_, Option<i64>>(6).map_err(backend)?,
                row.get::<_, i64>(7).map_err(backend)?,
                row.get::<_, Option<i64>>(8).map_err(backend)?,
                row.get::<_, Option<String>>(9).map_err(backend)?,
                row.get::<_, Option<String>>(10).map_err(backend)?,
            ));
        }
    }
    let mut jobs: BTreeMap<String, Vec<TaskRecord>> = BTreeMap::new();
    for (job_id, id, server_id, operation, status, step, next_run_at, begin, end, code, reason) in
        rows
    {
        let operation: Operation =
            serde_json::from_str(&operation).map_err(|error| corrupt(&job_id, error))?;
        let status = crate::sqlite::parse_job_status(&status)?;
        let phases = engine::schedule::patches(&operation).len();
        let done = usize::try_from(step).unwrap_or(0).min(phases);
        let resume = next_run_at.unwrap_or(begin);
        let schedule = (0..phases)
            .map(|phase| if phase < done { begin } else { resume })
            .collect();
        jobs.entry(job_id.clone()).or_default().push(TaskRecord {
            id,
            job_id,
            index: 0,
            server_id,
            operation,
            status: if status.is_terminal() {
                status
            } else {
                JobStatus::Init
            },
            schedule,
            fault: None,
            begin_time: begin,
            end_time: end,
            error_code: code,
            fail_reason: reason,
        });
    }
    for (job_id, tasks) in jobs {
        let due_at = next_due(&tasks);
        let due_at = due_at.filter(|_| tasks.iter().any(|task| !task.status.is_terminal()));
        connection
            .execute(
                "UPDATE jobs SET tasks = ?1, due_at = CASE WHEN end_time IS NULL THEN ?2 END
                 WHERE id = ?3",
                params![encode(&tasks)?, due_at, job_id],
            )
            .map_err(backend)?;
    }
    connection
        .execute_batch("DELETE FROM tasks;")
        .map_err(backend)?;
    Ok(())
}
