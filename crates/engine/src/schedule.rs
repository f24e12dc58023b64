//! Schedules: when each phase of a task is due, decided at acceptance and stored once, and what
//! a task, its job and its server look like at a given time.
//!
//! The engine writes a task twice: at acceptance (its schedule, and the first phase's state on
//! the server, so list filters and quotas read exact statuses) and at its end (the outcome and
//! the last phase's effect, or the failure's). Every phase in between is computed here from the
//! stored schedule and the engine's clock when the task is read. Moving the clock (a test's
//! `ManualClock`, a virtual clock) therefore moves every task without a write.

use crate::compute::{seed_of, LatencyProfile, Operation, ServerPatch};
use crate::job::{JobRecord, JobStatus};
use crate::server::{PowerTriple, ServerRecord};

/// When each phase of `operation` is due for the task at `index` of a job accepted at
/// `accepted` (unix ms): each phase is due its delay after the previous one was due.
///
/// The realistic profile's ±20 % varies per second of acceptance and per position in the job
/// ([`cohort_seed`]), not per task: tasks accepted in the same second at the same position get
/// the same durations, so they end in the order they were accepted and their end writes touch
/// neighbouring rows (UUIDv7 keys, `seq`). Varied per task, ends came in random order, each
/// dirtying pages of its own — about four times the bytes an `instant` job writes.
pub fn schedule(
    operation: &Operation,
    profile: LatencyProfile,
    index: i64,
    accepted: i64,
) -> Vec<i64> {
    let mut due = accepted;
    operation
        .phases(profile, cohort_seed(accepted, index))
        .iter()
        .map(|phase| {
            due += phase.delay.whole_milliseconds() as i64;
            due
        })
        .collect()
}

/// A schedule stretched or shrunk to end `total_ms` after `accepted`, each phase keeping its
/// share of the whole (`PUT /_ecsd/latency` with a duration per job type). A schedule whose
/// phases all take no time is split evenly.
pub fn scaled(schedule: &[i64], accepted: i64, total_ms: i64) -> Vec<i64> {
    let total_ms = total_ms.max(0);
    let span = schedule.last().map_or(0, |last| last - accepted);
    let phases = schedule.len() as i64;
    schedule
        .iter()
        .enumerate()
        .map(|(index, due)| {
            let offset = if span > 0 {
                // i128: a long override times a long span must not overflow.
                (i128::from(due - accepted) * i128::from(total_ms) / i128::from(span)) as i64
            } else {
                total_ms * (index as i64 + 1) / phases.max(1)
            };
            accepted + offset
        })
        .collect()
}

/// The duration seed of a task: its job's second of acceptance and its position in the job.
pub fn cohort_seed(accepted: i64, index: i64) -> u64 {
    seed_of(&format!("{}/{index}", accepted.div_euclid(1_000)))
}

/// The state changes of the operation's phases, in order (the delays do not matter here).
pub fn patches(operation: &Operation) -> Vec<ServerPatch> {
    operation
        .phases(LatencyProfile::Instant, 0)
        .into_iter()
        .map(|phase| phase.patch)
        .collect()
}

/// What acceptance writes on a server the job takes: the first phase's state (a reboot shows
/// `REBOOT` from the commit that accepts it), so the stored status — what list filters read —
/// stays what the server shows until the task's end is written.
pub fn acceptance_patch(operation: &Operation) -> ServerPatch {
    patches(operation).into_iter().next().unwrap_or_default()
}

/// Sets the power triple and progress a patch names.
pub fn apply_state(state: &mut PowerTriple, progress: &mut i64, patch: &ServerPatch) {
    if let Some(vm_state) = patch.vm_state {
        state.vm_state = vm_state;
    }
    if let Some(task_state) = patch.task_state {
        state.task_state = task_state;
    }
    if let Some(power_state) = patch.power_state {
        state.power_state = power_state;
    }
    if let Some(value) = patch.progress {
        *progress = value;
    }
}

/// The job as a client sees it at `now`: unfinished tasks are `INIT` until their first phase
/// is due, then `RUNNING` until their end is written; the job's status follows its tasks'.
pub fn job_at(job: &mut JobRecord, now: i64) {
    if job.status.is_terminal() {
        return;
    }
    for task in &mut job.tasks {
        task.status = task.status_at(now);
    }
    let status = JobStatus::of_tasks(job.tasks.iter().map(|task| task.status));
    // Terminal only with every end written, and then the store made the job terminal in the
    // same commit: a stored unfinished job never reads as finished.
    job.status = if status.is_terminal() {
        JobStatus::Running
    } else {
        status
    };
}

/// The server as a client sees it at `now`: the stored state (the acceptance's or the last
/// end's) with the due phases of the unfinished tasks that hold it applied. `updated` moves to
/// the last applied phase's due time.
pub fn server_at(server: &mut ServerRecord, now: i64) {
    for task in std::mem::take(&mut server.tasks) {
        if task.server_id != server.id || task.status.is_terminal() {
            continue;
        }
        let patches = patches(&task.operation);
        // Phase 0 was written at acceptance.
        for phase in 1..task.phases_due(now) {
            if let Some(patch) = patches.get(phase) {
                apply_state(&mut server.state, &mut server.progress, patch);
            }
            if let Some(due) = task.schedule.get(phase) {
                server.updated_at = server.updated_at.max(*due);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_accumulates_the_delays_from_acceptance() {
        let due = schedule(&Operation::StartServer, LatencyProfile::Fast, 0, 1_000);
        let stretched = scaled(&due, 1_000, 10_000);
        assert_eq!(stretched.len(), due.len());
        assert_eq!(stretched.last(), Some(&11_000));
        assert!(stretched.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(scaled(&[5, 5], 5, 100), [55, 105]);
        assert_eq!(due, [1_120, 1_420]);
        let instant = schedule(&Operation::CreateServer, LatencyProfile::Instant, 0, 5);
        assert_eq!(instant, [5; 5]);
    }

    #[test]
    fn realistic_tasks_accepted_in_one_second_end_in_acceptance_order() {
        let create = |index, at| {
            schedule(
                &Operation::CreateServer,
                LatencyProfile::Realistic,
                index,
                at,
            )
        };
        let ends: Vec<i64> = (0..10)
            .map(|ms| *create(0, 7_000 + ms * 100).last().expect("phases"))
            .collect();
        assert!(ends.windows(2).all(|pair| pair[0] < pair[1]), "{ends:?}");
        // Positions in a job and other seconds still vary.
        assert_ne!(create(0, 7_000).last(), create(1, 7_000).last());
        assert_ne!(
            create(0, 7_000).last().map(|end| end - 7_000),
            create(0, 8_000).last().map(|end| end - 8_000)
        );
    }

    use crate::job::{JobKind, TaskRecord};
    use crate::server::{ServerDoc, TaskState, VmState};

    const REBOOT: Operation = Operation::RebootServer { hard: false };

    /// A soft reboot of `server_id` accepted at 1 000 ms under `fast`: phases due at 1 120
    /// (rebooting), 1 270 (reboot started) and 1 470 (active again, its end).
    fn reboot_task(server_id: &str, status: JobStatus) -> TaskRecord {
        TaskRecord {
            id: format!("task-{server_id}"),
            job_id: "job".into(),
            index: 0,
            server_id: server_id.into(),
            operation: REBOOT,
            status,
            schedule: schedule(&REBOOT, LatencyProfile::Fast, 0, 1_000),
            fault: None,
            begin_time: 1_000,
            end_time: None,
            error_code: None,
            fail_reason: None,
        }
    }

    /// The server as acceptance stored it: phase 0 (`rebooting`) applied, held by the job.
    fn rebooting_server(tasks: Vec<TaskRecord>) -> ServerRecord {
        let mut state = PowerTriple {
            vm_state: VmState::Active,
            task_state: None,
            power_state: 1,
        };
        let mut progress = 100;
        apply_state(&mut state, &mut progress, &acceptance_patch(&REBOOT));
        ServerRecord {
            id: "s1".into(),
            project_id: "p".into(),
            name: "n".into(),
            flavor_id: "f".into(),
            state,
            progress,
            busy_job_id: Some("job".into()),
            created_at: 0,
            updated_at: 1_000,
            launched_at: None,
            fault: None,
            doc: ServerDoc::default(),
            tasks,
        }
    }

    #[test]
    fn acceptance_writes_the_first_phase_and_every_phase_has_its_patch() {
        assert_eq!(patches(&REBOOT).len(), 3);
        assert_eq!(
            acceptance_patch(&REBOOT).task_state,
            Some(Some(TaskState::Rebooting))
        );
        let server = rebooting_server(Vec::new());
        assert_eq!(server.state.task_state, Some(TaskState::Rebooting));
        let mut state = server.state;
        let mut progress = 0;
        let last = patches(&REBOOT).pop().expect("phases");
        apply_state(&mut state, &mut progress, &last);
        assert_eq!((state.vm_state, state.task_state), (VmState::Active, None));
        apply_state(
            &mut state,
            &mut progress,
            &ServerPatch {
                power_state: Some(4),
                progress: Some(40),
                ..ServerPatch::default()
            },
        );
        assert_eq!((state.power_state, progress), (4, 40));
    }

    /// A read applies the due phases of the server's own unfinished tasks only, never the end
    /// (only its write does), and moves `updated_at` to the last applied phase.
    #[test]
    fn a_server_read_applies_its_own_due_phases_before_the_end() {
        let at = |now: i64, tasks: Vec<TaskRecord>| {
            let mut server = rebooting_server(tasks);
            server_at(&mut server, now);
            server
        };
        let own = || vec![reboot_task("s1", JobStatus::Init)];
        let early = at(1_200, own());
        assert_eq!(early.state.task_state, Some(TaskState::Rebooting));
        assert_eq!(early.updated_at, 1_000);
        let started = at(1_300, own());
        assert_eq!(started.state.task_state, Some(TaskState::RebootStarted));
        assert_eq!(started.updated_at, 1_270);
        let past_end = at(9_000, own());
        assert_eq!(
            past_end.state.task_state,
            Some(TaskState::RebootStarted),
            "the end is applied by its write, not by a read"
        );
        // Another server's task and a finished task change nothing.
        let others = at(
            9_000,
            vec![
                reboot_task("s2", JobStatus::Init),
                reboot_task("s1", JobStatus::Success),
            ],
        );
        assert_eq!(others.state.task_state, Some(TaskState::Rebooting));
        assert_eq!(others.updated_at, 1_000);
    }

    /// A job reads INIT until its first phase is due, then RUNNING, and RUNNING past its due
    /// end until the end is written.
    #[test]
    fn a_job_read_follows_its_tasks_and_never_shows_an_unwritten_end() {
        let job_at_time = |now: i64| {
            let mut job = JobRecord {
                id: "job".into(),
                project_id: "p".into(),
                kind: JobKind::RebootServers,
                status: JobStatus::Init,
                begin_time: 1_000,
                end_time: None,
                error_code: None,
                fail_reason: None,
                tasks: vec![reboot_task("s1", JobStatus::Init)],
            };
            job_at(&mut job, now);
            job
        };
        assert_eq!(job_at_time(1_100).status, JobStatus::Init);
        let running = job_at_time(1_130);
        assert_eq!(running.status, JobStatus::Running);
        assert_eq!(running.tasks[0].status, JobStatus::Running);
        assert_eq!(job_at_time(9_000).status, JobStatus::Running);
    }
}
