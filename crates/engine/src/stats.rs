//! The engine's statistics hook: what only the engine and the store know (a task or job
//! reaching its end, the store writer's commits), reported to whoever watches ecsd.
//!
//! A trait with no-op defaults rather than a metrics dependency: the engine stays free of
//! Prometheus (the HTTP layer implements [`Observer`] with its registry), and a test can
//! implement it with a few counters. Calls happen on the engine's run loop and on the store's
//! writer thread, after the write they report has committed, so they must be cheap and must
//! not block.

use crate::job::{JobKind, JobRecord, JobStatus};
use crate::store::TaskEnd;
use std::collections::HashMap;
use std::time::Duration;

/// Told of the engine's and the store's work. Every method has a no-op default.
pub trait Observer: Send + Sync + std::fmt::Debug {
    /// A task (a sub-job) of a `kind` job ended with `status` (`SUCCESS` or `FAIL`) after
    /// `duration_ms` of the engine's clock since its job was accepted.
    fn task_finished(&self, kind: JobKind, status: JobStatus, duration_ms: i64) {
        let _ = (kind, status, duration_ms);
    }

    /// A job ended (its last task's end was written) with `status`, `duration_ms` of the
    /// engine's clock after it was accepted.
    fn job_finished(&self, kind: JobKind, status: JobStatus, duration_ms: i64) {
        let _ = (kind, status, duration_ms);
    }

    /// The store committed one transaction holding `commands` writes (a group commit), which
    /// took `elapsed` of wall-clock time from its begin to its commit.
    fn writer_committed(&self, commands: usize, elapsed: Duration) {
        let _ = (commands, elapsed);
    }
}

/// The default observer: reports go nowhere.
#[derive(Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {}

/// What a batch of ends will report once written: each task's end, and each job's whose
/// last unfinished tasks are among them. Computed before the write (the ends move into the
/// store) and sent after its commit ([`EndReport::send`]); a write that fails reports nothing.
#[derive(Debug, Default)]
pub(crate) struct EndReport {
    /// `(kind, status, duration_ms)` of each task that ends.
    tasks: Vec<(JobKind, JobStatus, i64)>,
    /// Each job that ends.
    jobs: Vec<FinishedJob>,
}

/// A job whose last end is in the batch: what its metrics and its log line say.
#[derive(Debug)]
struct FinishedJob {
    id: String,
    project_id: String,
    kind: JobKind,
    status: JobStatus,
    duration_ms: i64,
    /// The first failed sub-job's code, in task order.
    error_code: Option<String>,
}

impl EndReport {
    /// `due` holds the jobs as claimed (every task, as stored before the write), `ends` what
    /// is about to be written.
    pub(crate) fn of(due: &[JobRecord], ends: &[TaskEnd]) -> Self {
        let mut report = EndReport::default();
        let by_task: HashMap<(&str, i64), &TaskEnd> = ends
            .iter()
            .map(|end| ((end.job_id.as_str(), end.task_index), end))
            .collect();
        for job in due {
            let mut statuses = Vec::with_capacity(job.tasks.len());
            let mut last_end = job.begin_time;
            let mut ended_now = false;
            let mut error_code = None;
            for task in &job.tasks {
                match by_task.get(&(job.id.as_str(), task.index)) {
                    Some(end) => {
                        ended_now = true;
                        if error_code.is_none() {
                            error_code.clone_from(&end.error_code);
                        }
                        report
                            .tasks
                            .push((job.kind, end.status, end.end_time - task.begin_time));
                        statuses.push(end.status);
                        last_end = last_end.max(end.end_time);
                    }
                    None => {
                        if error_code.is_none() {
                            error_code.clone_from(&task.error_code);
                        }
                        statuses.push(task.status);
                        last_end = last_end.max(task.end_time.unwrap_or(job.begin_time));
                    }
                }
            }
            if ended_now && statuses.iter().all(|status| status.is_terminal()) {
                let status = JobStatus::of_tasks(statuses.iter().copied());
                report.jobs.push(FinishedJob {
                    id: job.id.clone(),
                    project_id: job.project_id.clone(),
                    kind: job.kind,
                    status,
                    duration_ms: last_end - job.begin_time,
                    error_code,
                });
            }
        }
        report
    }

    pub(crate) fn send(&self, observer: &dyn Observer) {
        for (kind, status, duration_ms) in &self.tasks {
            observer.task_finished(*kind, *status, *duration_ms);
        }
        for job in &self.jobs {
            observer.job_finished(job.kind, job.status, job.duration_ms);
            // The job's other log line is "job accepted" (`api::observe::access_log`).
            tracing::info!(
                target: "ecsd::job",
                job_id = %job.id,
                project_id = %job.project_id,
                job_type = job.kind.job_type(),
                status = job.status.as_str(),
                error_code = job.error_code.as_deref(),
                duration_ms = job.duration_ms,
                "job finished"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::Operation;
    use crate::job::TaskRecord;
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Observer for Recorder {
        fn task_finished(&self, kind: JobKind, status: JobStatus, duration_ms: i64) {
            self.0.lock().expect("lock").push(format!(
                "task {} {} {duration_ms}",
                kind.job_type(),
                status.as_str()
            ));
        }

        fn job_finished(&self, kind: JobKind, status: JobStatus, duration_ms: i64) {
            self.0.lock().expect("lock").push(format!(
                "job {} {} {duration_ms}",
                kind.job_type(),
                status.as_str()
            ));
        }
    }

    fn task(index: i64, status: JobStatus, end_time: Option<i64>) -> TaskRecord {
        TaskRecord {
            id: format!("t{index}"),
            job_id: "j".to_owned(),
            index,
            server_id: format!("s{index}"),
            operation: Operation::StartServer,
            status,
            schedule: vec![1_500],
            fault: None,
            begin_time: 1_000,
            end_time,
            error_code: None,
            fail_reason: None,
        }
    }

    fn end(index: i64, status: JobStatus, at: i64) -> TaskEnd {
        TaskEnd {
            job_id: "j".to_owned(),
            task_index: index,
            server_id: format!("s{index}"),
            status,
            end_time: at,
            error_code: None,
            fail_reason: None,
            patch: Default::default(),
            now: at,
        }
    }

    fn job(tasks: Vec<TaskRecord>) -> JobRecord {
        JobRecord {
            id: "j".to_owned(),
            project_id: "p".to_owned(),
            kind: JobKind::StartServers,
            status: JobStatus::Init,
            begin_time: 1_000,
            end_time: None,
            error_code: None,
            fail_reason: None,
            tasks,
        }
    }

    #[test]
    fn a_job_is_reported_once_its_last_task_ends() {
        let recorder = Recorder::default();
        // Task 0 ended earlier (stored FAIL at 1 200); task 1 ends now, the job with it.
        let due = [job(vec![
            task(0, JobStatus::Fail, Some(1_200)),
            task(1, JobStatus::Init, None),
        ])];
        EndReport::of(&due, &[end(1, JobStatus::Success, 1_700)]).send(&recorder);
        assert_eq!(
            *recorder.0.lock().expect("lock"),
            [
                "task batchStartServers SUCCESS 700",
                "job batchStartServers FAIL 700"
            ]
        );
    }

    #[test]
    fn a_job_with_a_task_left_is_not_reported() {
        let recorder = Recorder::default();
        let due = [job(vec![
            task(0, JobStatus::Init, None),
            task(1, JobStatus::Init, None),
        ])];
        EndReport::of(&due, &[end(0, JobStatus::Success, 1_300)]).send(&recorder);
        assert_eq!(
            *recorder.0.lock().expect("lock"),
            ["task batchStartServers SUCCESS 300"]
        );
    }
}
