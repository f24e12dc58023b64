//! What the engine tells watchers: one [`EngineEvent`] per job or server change it writes,
//! numbered, kept in a bounded ring of recent events and broadcast to subscribers.
//!
//! The engine writes twice per task (acceptance and end, see [`crate::schedule`]), so those
//! are the changes it reports: a job accepted (its servers taken), a job's tasks ended (the
//! job's new status, each server's state after the end). The phases in between (INIT →
//! RUNNING, BUILD's task states) are computed at read and never written, so no event marks
//! them; an accepted event carries `running_at` and `due_at`, when the job reads `RUNNING` and
//! when its first end is due, so a watcher can tell without polling.
//!
//! Ids are assigned under the ring's lock, in the order events are sent, starting at 1 per
//! process: a watcher that reconnects with the last id it saw gets every later event still in
//! the ring ([`EventLog::subscribe_after`]), or learns that some are gone (`missed`).

use crate::job::{JobRecord, JobStatus, TaskRecord};
use crate::store::{JobInsert, TaskEnd};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use tokio::sync::{broadcast, watch};

/// How many recent events are kept for watchers that reconnect (about 300 bytes each).
pub const EVENT_RING: usize = 4096;

/// One change, as watchers receive it (`GET /_ecsd/events` sends it as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EngineEvent {
    /// Increasing from 1 in this process; the SSE `id`.
    pub id: u64,
    /// The engine's clock when the change was written (Unix ms).
    pub at: i64,
    #[serde(flatten)]
    pub change: Change,
}

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Change {
    /// A job was accepted, or one or more of its tasks ended (`status` is the job's status
    /// after them: `INIT`/`RUNNING` while tasks remain, then `SUCCESS` or `FAIL`).
    Job {
        project_id: String,
        job_id: String,
        job_type: &'static str,
        status: &'static str,
        /// Unix ms.
        begin_time: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_time: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error_code: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        fail_reason: Option<String>,
        /// How many of its tasks have ended, of `sub_jobs_total`.
        sub_jobs_done: usize,
        sub_jobs_total: usize,
        /// On acceptance: when the job will read `RUNNING` (its first phase is due), Unix ms.
        #[serde(skip_serializing_if = "Option::is_none")]
        running_at: Option<i64>,
        /// On acceptance: when its first task end is due, Unix ms.
        #[serde(skip_serializing_if = "Option::is_none")]
        due_at: Option<i64>,
    },
    /// A server was taken by a job (acceptance) or released by its task's end.
    Server {
        project_id: String,
        server_id: String,
        /// The job that took it, or whose task just ended on it.
        job_id: String,
        /// The ECS status after the change, where the write sets it (`BUILD` for a new
        /// server, `ACTIVE`/`SHUTOFF`/`ERROR`… at an end); absent when the change leaves it to
        /// the schedule.
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<&'static str>,
        /// Whether a job holds it after this change.
        held: bool,
        /// The server is gone (a delete ended).
        removed: bool,
    },
}

/// The ring of recent events and the channel to live subscribers.
#[derive(Debug)]
pub struct EventLog {
    inner: Mutex<Ring>,
    sender: broadcast::Sender<EngineEvent>,
    capacity: usize,
    closed: watch::Sender<bool>,
    /// Whether anyone ever subscribed: until then no event is built (nobody can ask for one:
    /// a first subscriber starts from now), so a server nobody watches pays nothing.
    watched: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Default)]
struct Ring {
    last_id: u64,
    events: VecDeque<EngineEvent>,
}

/// What a new subscriber gets: the kept events after its last id, and the live channel from
/// there on (no gap and no duplicate between the two: both are taken under one lock).
#[derive(Debug)]
pub struct Subscription {
    pub backlog: Vec<EngineEvent>,
    /// Events after `last_id` are no longer kept (the ring moved on, or the id is from another
    /// process): the watcher should reload what it shows.
    pub missed: bool,
    pub receiver: broadcast::Receiver<EngineEvent>,
    /// The id the subscriber is at: the one it gave, or the latest event when it gave none.
    /// Events on `receiver` up to it are in the backlog or were seen before.
    pub last_id: u64,
    /// Turns `true` when the server shuts down ([`EventLog::close`]): streams end then.
    pub closed: watch::Receiver<bool>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new(EVENT_RING)
    }
}

impl EventLog {
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        // The channel holds as much as the ring: a subscriber that lags further catches up
        // from the ring ([`EventLog::after`]).
        let (sender, _) = broadcast::channel(capacity);
        Self {
            inner: Mutex::new(Ring::default()),
            sender,
            capacity,
            closed: watch::Sender::new(false),
            watched: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether events are wanted: someone subscribed since the process started.
    pub fn watched(&self) -> bool {
        self.watched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Ends every subscriber's stream (the server is shutting down); events are still kept.
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Numbers, keeps and broadcasts these changes, in order.
    pub fn emit(&self, at: i64, changes: impl IntoIterator<Item = Change>) {
        let mut ring = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for change in changes {
            ring.last_id += 1;
            let event = EngineEvent {
                id: ring.last_id,
                at,
                change,
            };
            if ring.events.len() == self.capacity {
                ring.events.pop_front();
            }
            ring.events.push_back(event.clone());
            // No subscriber is not an error: the event is kept in the ring anyway.
            let _ = self.sender.send(event);
        }
    }

    /// The id of the latest event (0 before any).
    pub fn last_id(&self) -> u64 {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).last_id
    }

    /// Subscribes from `last_id` (`None`: from now on).
    pub fn subscribe_after(&self, last_id: Option<u64>) -> Subscription {
        let ring = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        self.watched
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let receiver = self.sender.subscribe();
        let (backlog, missed) = match last_id {
            None => (Vec::new(), false),
            Some(last_id) => Self::kept_after(&ring, last_id),
        };
        Subscription {
            backlog,
            missed,
            receiver,
            last_id: last_id.map_or(ring.last_id, |id| id.min(ring.last_id)),
            closed: self.closed.subscribe(),
        }
    }

    /// The kept events after `last_id`, and whether some after it are no longer kept (for a
    /// subscriber whose channel lagged).
    pub fn after(&self, last_id: u64) -> (Vec<EngineEvent>, bool) {
        let ring = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Self::kept_after(&ring, last_id)
    }

    fn kept_after(ring: &Ring, last_id: u64) -> (Vec<EngineEvent>, bool) {
        if last_id > ring.last_id {
            // An id this process never gave: the watcher saw another process's events.
            return (Vec::new(), true);
        }
        let oldest = ring
            .events
            .front()
            .map_or(ring.last_id + 1, |event| event.id);
        let missed = last_id + 1 < oldest;
        let backlog = ring
            .events
            .iter()
            .filter(|event| event.id > last_id)
            .cloned()
            .collect();
        (backlog, missed)
    }
}

/// The changes an accepted job makes: the job (`INIT`), then each server it takes (new ones
/// in `BUILD`).
pub fn accepted(insert: &JobInsert) -> Vec<Change> {
    let job = &insert.job;
    let running_at = job
        .tasks
        .iter()
        .filter(|task| task.end_step() > 0)
        .filter_map(|task| {
            task.schedule
                .first()
                .copied()
                .filter(|at| *at < task.end_due())
        })
        .min();
    let due_at = job.tasks.iter().map(TaskRecord::end_due).min();
    let mut changes = vec![job_change(job, running_at, due_at)];
    let new: HashSet<&str> = insert
        .new_servers
        .iter()
        .map(|server| server.id.as_str())
        .collect();
    let mut seen = HashSet::new();
    for task in &job.tasks {
        if seen.insert(task.server_id.as_str()) {
            changes.push(Change::Server {
                project_id: job.project_id.clone(),
                server_id: task.server_id.clone(),
                job_id: job.id.clone(),
                status: new
                    .contains(task.server_id.as_str())
                    .then_some(crate::server::ServerStatus::Build.as_str()),
                held: true,
                removed: false,
            });
        }
    }
    changes
}

/// The changes a batch of task ends makes, per job of `due` that has ends: the job with its
/// status after them (computed as the store computes it), then each server whose task ended.
pub fn ended(due: &[JobRecord], ends: &[TaskEnd], now: i64) -> Vec<Change> {
    let mut by_job: HashMap<&str, Vec<&TaskEnd>> = HashMap::new();
    for end in ends {
        by_job.entry(end.job_id.as_str()).or_default().push(end);
    }
    let mut changes = Vec::new();
    for job in due {
        let Some(job_ends) = by_job.remove(job.id.as_str()) else {
            continue;
        };
        let mut after = job.clone();
        for task in &mut after.tasks {
            match job_ends.iter().find(|end| end.task_index == task.index) {
                Some(end) => {
                    task.status = end.status;
                    task.end_time = Some(end.end_time);
                    task.error_code = end.error_code.clone();
                    task.fail_reason = end.fail_reason.clone();
                }
                None => task.status = task.status_at(now),
            }
        }
        let status = JobStatus::of_tasks(after.tasks.iter().map(|task| task.status));
        after.status = status;
        if status.is_terminal() {
            after.end_time = after.tasks.iter().filter_map(|task| task.end_time).max();
            if let Some(failed) = after
                .tasks
                .iter()
                .find(|task| task.status == JobStatus::Fail)
            {
                after.error_code = failed.error_code.clone();
                after.fail_reason = failed.fail_reason.clone();
            }
        }
        changes.push(job_change(&after, None, None));
        for end in job_ends {
            // The server stays held while another task of this job on it is unfinished.
            let held = after
                .tasks
                .iter()
                .any(|task| task.server_id == end.server_id && !task.status.is_terminal());
            let status = end.patch.vm_state.map(|vm_state| {
                let task_state = end.patch.task_state.flatten();
                crate::server::ServerStatus::derive(vm_state, task_state).as_str()
            });
            changes.push(Change::Server {
                project_id: job.project_id.clone(),
                server_id: end.server_id.clone(),
                job_id: job.id.clone(),
                status: if end.patch.remove { None } else { status },
                held,
                removed: end.patch.remove,
            });
        }
    }
    changes
}

fn job_change(job: &JobRecord, running_at: Option<i64>, due_at: Option<i64>) -> Change {
    Change::Job {
        project_id: job.project_id.clone(),
        job_id: job.id.clone(),
        job_type: job.kind.job_type(),
        status: job.status.as_str(),
        begin_time: job.begin_time,
        end_time: job.end_time,
        error_code: job.error_code.clone(),
        fail_reason: job.fail_reason.clone(),
        sub_jobs_done: job
            .tasks
            .iter()
            .filter(|task| task.status.is_terminal())
            .count(),
        sub_jobs_total: job.tasks.len(),
        running_at,
        due_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(id: &str) -> Change {
        Change::Server {
            project_id: "p".to_owned(),
            server_id: id.to_owned(),
            job_id: "j".to_owned(),
            status: None,
            held: true,
            removed: false,
        }
    }

    fn ids(events: &[EngineEvent]) -> Vec<u64> {
        events.iter().map(|event| event.id).collect()
    }

    #[test]
    fn ids_increase_and_a_subscriber_resumes_after_its_last_id() {
        let log = EventLog::new(8);
        assert!(
            !log.watched(),
            "nobody subscribed: the engine builds no events"
        );
        drop(log.subscribe_after(None));
        assert!(log.watched());
        log.emit(1, [server("a"), server("b"), server("c")]);
        let resumed = log.subscribe_after(Some(1));
        assert_eq!(ids(&resumed.backlog), [2, 3]);
        assert!(!resumed.missed);
        let mut live = log.subscribe_after(None);
        assert!(live.backlog.is_empty());
        log.emit(2, [server("d")]);
        assert_eq!(live.receiver.try_recv().map(|event| event.id), Ok(4));
        assert_eq!(log.last_id(), 4);
    }

    #[test]
    fn the_ring_is_bounded_and_says_when_events_are_gone() {
        let log = EventLog::new(2);
        log.emit(1, [server("a"), server("b"), server("c")]);
        let late = log.subscribe_after(Some(0));
        assert_eq!(ids(&late.backlog), [2, 3]);
        assert!(late.missed, "event 1 fell out of the ring");
        let current = log.subscribe_after(Some(1));
        assert!(!current.missed);
        let foreign = log.subscribe_after(Some(99));
        assert!(foreign.missed && foreign.backlog.is_empty());
    }

    #[test]
    fn events_serialise_flat_with_their_type() {
        let log = EventLog::new(2);
        let mut live = log.subscribe_after(None);
        log.emit(5, [server("s1")]);
        let event = live.receiver.try_recv().expect("sent");
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["type"], "server");
        assert_eq!(json["server_id"], "s1");
        assert_eq!(json["id"], 1);
        assert_eq!(json["at"], 5);
        assert!(json.get("status").is_none());
    }
}
