//! The engine over the real SQLite store, driven step by step with a manual clock: no sleeps.

use crate::support::{config, create_request, Harness, PROJECT};
use engine::compute::LatencyProfile;
use engine::engine::{FaultInjector, InjectedFault, RunOutcome, ServerAction};
use engine::job::{JobStatus, TaskRecord};
use engine::server::ServerStatus;
use engine::store::{Rejection, ServerQuery};
use engine::SubmitError;
use std::sync::Arc;

async fn status_of(harness: &Harness, server_id: &str) -> Option<ServerStatus> {
    harness
        .engine
        .server(PROJECT, server_id)
        .await
        .expect("readable")
        .map(|server| server.state.status())
}

#[tokio::test]
async fn a_create_job_walks_init_running_success_on_the_fast_profile() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("web", 2), None)
        .await
        .expect("accepted");
    let server_id = accepted.server_ids[0].clone();

    // Accepted: INIT, and the servers are already visible as BUILD.
    assert_eq!(harness.job(&accepted.job_id).await.status, JobStatus::Init);
    assert_eq!(
        status_of(&harness, &server_id).await,
        Some(ServerStatus::Build)
    );
    assert_eq!(
        harness.engine.run_once().await.expect("step"),
        RunOutcome::Idle,
        "nothing due before the INIT delay"
    );

    // After the INIT delay the first phase is due: RUNNING, still BUILD — computed at read,
    // with nothing written (only a task's end is).
    harness.advance_ms(120);
    assert_eq!(harness.drain().await, 0);
    let running = harness.job(&accepted.job_id).await;
    assert_eq!(running.status, JobStatus::Running);
    assert!(running
        .tasks
        .iter()
        .all(|task| task.status == JobStatus::Running));
    assert_eq!(running.end_time, None);

    // Walk the remaining phases; the job ends SUCCESS and the servers ACTIVE.
    for _ in 0..4 {
        harness.advance_ms(200);
        harness.drain().await;
    }
    let done = harness.job(&accepted.job_id).await;
    assert_eq!(done.status, JobStatus::Success);
    assert!(done.end_time.is_some_and(|end| end > done.begin_time));
    assert_eq!((done.error_code, done.fail_reason), (None, None));
    let server = harness
        .engine
        .server(PROJECT, &server_id)
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(server.state.status(), ServerStatus::Active);
    assert_eq!(server.progress, 100);
    assert!(server.launched_at.is_some());
    assert_eq!(server.busy_job_id, None);
    assert_eq!(server.name, "web-0000");
}

#[tokio::test]
async fn the_instant_profile_finishes_a_job_in_one_engine_step() {
    let harness = Harness::new(config(LatencyProfile::Instant));
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("fast", 3), None)
        .await
        .expect("accepted");
    assert_eq!(
        harness.engine.run_once().await.expect("step"),
        RunOutcome::Ran(3)
    );
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Success
    );
}

#[tokio::test]
async fn power_actions_follow_the_status_table() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let created = harness
        .engine
        .create_servers(PROJECT, create_request("pwr", 1), None)
        .await
        .expect("accepted");
    harness.advance_ms(5_000);
    harness.drain().await;
    let id = created.server_ids[0].clone();
    let ids = [id.clone()];

    let stop = harness
        .engine
        .server_action(PROJECT, ServerAction::Stop { hard: false }, &ids)
        .await
        .expect("stop accepted");
    harness.advance_ms(120);
    harness.drain().await;
    assert_eq!(
        status_of(&harness, &id).await,
        Some(ServerStatus::Active),
        "stopping still shows ACTIVE"
    );
    harness.advance_ms(300);
    harness.drain().await;
    assert_eq!(harness.job(&stop.job_id).await.status, JobStatus::Success);
    assert_eq!(status_of(&harness, &id).await, Some(ServerStatus::Shutoff));

    let reboot = harness
        .engine
        .server_action(PROJECT, ServerAction::Reboot { hard: true }, &ids)
        .await;
    assert!(
        matches!(
            reboot,
            Err(SubmitError::Rejected(Rejection::ServerWrongState {
                status: "SHUTOFF",
                ..
            }))
        ),
        "{reboot:?}"
    );

    harness
        .engine
        .server_action(PROJECT, ServerAction::Start, &ids)
        .await
        .expect("start accepted");
    harness.advance_ms(120);
    harness.drain().await;
    assert_eq!(
        status_of(&harness, &id).await,
        Some(ServerStatus::Shutoff),
        "starting still shows SHUTOFF"
    );
    harness.advance_ms(300);
    harness.drain().await;
    assert_eq!(status_of(&harness, &id).await, Some(ServerStatus::Active));

    let reboot = harness
        .engine
        .server_action(PROJECT, ServerAction::Reboot { hard: true }, &ids)
        .await
        .expect("reboot accepted");
    harness.advance_ms(120);
    harness.drain().await;
    assert_eq!(
        status_of(&harness, &id).await,
        Some(ServerStatus::HardReboot)
    );
    harness.advance_ms(1_000);
    harness.drain().await;
    harness.advance_ms(1_000);
    harness.drain().await;
    let done = harness.job(&reboot.job_id).await;
    assert_eq!(
        (done.kind.job_type(), done.status),
        ("batchRebootServers", JobStatus::Success)
    );
    assert_eq!(status_of(&harness, &id).await, Some(ServerStatus::Active));
}

#[tokio::test]
async fn a_server_takes_one_job_at_a_time() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let created = harness
        .engine
        .create_servers(PROJECT, create_request("busy", 1), None)
        .await
        .expect("accepted");
    let ids = [created.server_ids[0].clone()];
    let early = harness
        .engine
        .server_action(PROJECT, ServerAction::Stop { hard: false }, &ids)
        .await;
    assert!(
        matches!(&early, Err(SubmitError::Rejected(Rejection::ServerBusy { job_id, .. })) if *job_id == created.job_id),
        "{early:?}"
    );
    harness.advance_ms(5_000);
    harness.drain().await;
    harness
        .engine
        .server_action(PROJECT, ServerAction::Stop { hard: false }, &ids)
        .await
        .expect("free once the create is done");
}

#[tokio::test]
async fn a_batch_with_one_unknown_server_is_refused_whole() {
    let harness = Harness::new(config(LatencyProfile::Instant));
    let created = harness
        .engine
        .create_servers(PROJECT, create_request("batch", 1), None)
        .await
        .expect("accepted");
    harness.drain().await;
    let ids = [
        created.server_ids[0].clone(),
        "7d9b6c02-0000-4000-8000-000000000000".to_owned(),
    ];
    let result = harness
        .engine
        .server_action(PROJECT, ServerAction::Stop { hard: false }, &ids)
        .await;
    assert!(
        matches!(
            result,
            Err(SubmitError::Rejected(Rejection::ServerNotFound { .. }))
        ),
        "{result:?}"
    );
    let server = harness
        .engine
        .server(PROJECT, &ids[0])
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(server.busy_job_id, None, "the known server was not taken");
}

/// Fails the task at `index` of every job, at its second step.
#[derive(Debug)]
struct FailTask {
    index: i64,
}

impl FaultInjector for FailTask {
    fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        (task.index == self.index && step == 1).then(|| InjectedFault {
            code: None,
            reason: "injected: no capacity on the simulated host".to_owned(),
        })
    }
}

#[tokio::test]
async fn a_partial_failure_fails_the_job_with_the_failed_sub_jobs_code() {
    let faults: Arc<dyn FaultInjector> = Arc::new(FailTask { index: 1 });
    let harness = Harness::with_faults(config(LatencyProfile::Instant), Some(faults));
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("part", 3), None)
        .await
        .expect("accepted");
    harness.drain().await;
    let done = harness.job(&accepted.job_id).await;
    assert_eq!(done.status, JobStatus::Fail);
    assert_eq!(done.error_code.as_deref(), Some("Ecs.0204"));
    assert!(done
        .fail_reason
        .as_deref()
        .is_some_and(|reason| reason.contains("no capacity")));
    let statuses: Vec<_> = done.tasks.iter().map(|task| task.status).collect();
    assert_eq!(
        statuses,
        [JobStatus::Success, JobStatus::Fail, JobStatus::Success]
    );
    let failed = harness
        .engine
        .server(PROJECT, &accepted.server_ids[1])
        .await
        .expect("readable")
        .expect("kept");
    assert_eq!(failed.state.status(), ServerStatus::Error);
    assert_eq!(
        failed.fault.map(|fault| fault.code),
        Some("Ecs.0204".to_owned())
    );
    assert_eq!(
        status_of(&harness, &accepted.server_ids[0]).await,
        Some(ServerStatus::Active)
    );
}

#[tokio::test]
async fn a_delete_job_removes_the_servers() {
    let harness = Harness::new(config(LatencyProfile::Instant));
    let created = harness
        .engine
        .create_servers(PROJECT, create_request("gone", 2), None)
        .await
        .expect("accepted");
    harness.drain().await;
    let action = ServerAction::Delete {
        delete_volume: true,
        delete_publicip: None,
    };
    let deleted = harness
        .engine
        .server_action(PROJECT, action, &created.server_ids)
        .await
        .expect("accepted");
    harness.drain().await;
    let done = harness.job(&deleted.job_id).await;
    assert_eq!(
        (done.kind.job_type(), done.status),
        ("deleteVMs", JobStatus::Success)
    );
    for id in &created.server_ids {
        assert_eq!(status_of(&harness, id).await, None);
    }
}

#[tokio::test]
async fn unfinished_jobs_resume_after_a_restart_without_duplicating_servers() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("resume", 4), None)
        .await
        .expect("accepted");
    harness.advance_ms(300);
    harness.drain().await;
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Running
    );

    // "Restart": a new engine over the same file; the old one is simply gone.
    let path = harness.store.path().to_owned();
    let clock = harness.clock.clone();
    drop(harness.engine);
    harness.store.close();
    drop(harness.store);
    let store = Arc::new(store::sqlite::SqliteStore::open(&path).expect("reopens"));
    let engine = Harness::engine_over(store, clock.clone(), config(LatencyProfile::Fast), None);
    assert_eq!(engine.unfinished_jobs().await.expect("counts"), 1);
    clock.advance(time::Duration::seconds(5));
    while let RunOutcome::Ran(_) = engine.run_once().await.expect("step") {}
    let done = engine
        .job(PROJECT, &accepted.job_id)
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(done.status, JobStatus::Success);
    let page = engine
        .servers(ServerQuery {
            project_id: PROJECT.into(),
            limit: 100,
            ..ServerQuery::default()
        })
        .await
        .expect("lists");
    let mut listed: Vec<_> = page
        .servers
        .iter()
        .map(|server| server.id.clone())
        .collect();
    listed.sort();
    let mut expected = accepted.server_ids.clone();
    expected.sort();
    assert_eq!(
        listed, expected,
        "exactly the acknowledged servers, once each"
    );
}

#[tokio::test]
async fn finished_jobs_are_purged_after_the_retention_only() {
    let harness = Harness::new(engine::EngineConfig {
        job_retention: time::Duration::hours(24),
        ..config(LatencyProfile::Instant)
    });
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("old", 1), None)
        .await
        .expect("accepted");
    harness.drain().await;
    harness.advance_ms(23 * 3_600_000);
    assert_eq!(harness.engine.purge_expired().await.expect("purges"), 0);
    harness.advance_ms(2 * 3_600_000);
    assert_eq!(harness.engine.purge_expired().await.expect("purges"), 1);
    assert!(harness
        .engine
        .job(PROJECT, &accepted.job_id)
        .await
        .expect("readable")
        .is_none());
}
