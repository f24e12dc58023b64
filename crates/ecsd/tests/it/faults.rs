//! Fault rules applied by the engine at acceptance, over the real SQLite store on a manual
//! clock: each effect as the job, its tasks and its servers show it, the release of held tasks,
//! `expires_at` on the engine's clock, and counts that only move for jobs that exist.

use crate::support::{config, create_request, Harness, PROJECT};
use engine::compute::LatencyProfile;
use engine::engine::ServerAction;
use engine::faults::{Effect, FaultSpec};
use engine::job::JobStatus;
use engine::server::ServerStatus;
use engine::store::ServerQuery;
use engine::SubmitError;

/// A rule with only its effect set; tests fill in the rest.
pub(crate) fn rule(effect: Effect) -> FaultSpec {
    serde_json::from_value(serde_json::json!({ "effect": effect })).expect("a minimal rule")
}

fn fired(harness: &Harness) -> Vec<u64> {
    harness
        .engine
        .rules()
        .list()
        .iter()
        .map(|rule| rule.fired)
        .collect()
}

/// Creates `count` servers and runs the create to its end; answers their ids.
async fn active_servers(harness: &Harness, name: &str, count: u32) -> Vec<String> {
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request(name, count), None)
        .await
        .expect("accepted");
    harness.advance_ms(60_000);
    harness.drain().await;
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Success
    );
    accepted.server_ids
}

#[tokio::test]
async fn fail_on_the_second_sub_job_is_a_real_partial_failure() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    harness
        .engine
        .rules()
        .add(FaultSpec {
            operation: Some("createServer".into()),
            project_id: Some(PROJECT.into()),
            server_name: Some("web-*".into()),
            times: Some(1),
            error_code: Some("Ecs.0204".into()),
            fail_reason: Some("no capacity".into()),
            sub_jobs: Some(vec![1]),
            ..rule(Effect::Fail)
        })
        .expect("valid");
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("web", 2), None)
        .await
        .expect("accepted");
    // The job runs as usual until its end.
    harness.advance_ms(150);
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Running
    );
    harness.advance_ms(60_000);
    harness.drain().await;

    let job = harness.job(&accepted.job_id).await;
    assert_eq!(job.status, JobStatus::Fail);
    assert_eq!(job.error_code.as_deref(), Some("Ecs.0204"));
    assert_eq!(job.fail_reason.as_deref(), Some("no capacity"));
    let statuses: Vec<JobStatus> = job.tasks.iter().map(|task| task.status).collect();
    assert_eq!(statuses, [JobStatus::Success, JobStatus::Fail]);
    assert_eq!(job.tasks[1].server_id, accepted.server_ids[1]);

    let first = harness.server(&accepted.server_ids[0]).await;
    assert_eq!(first.state.status(), ServerStatus::Active);
    assert_eq!(first.fault, None);
    let second = harness.server(&accepted.server_ids[1]).await;
    assert_eq!(second.state.status(), ServerStatus::Error);
    let fault = second.fault.expect("a failed create's server has a fault");
    assert_eq!(
        (fault.code.as_str(), fault.message.as_str()),
        ("Ecs.0204", "no capacity")
    );

    // times: 1 is spent: the next create succeeds.
    let next = active_servers(&harness, "web-next", 1).await;
    assert_eq!(next.len(), 1);
    assert_eq!(fired(&harness), [1]);
}

#[tokio::test]
async fn a_stuck_job_runs_until_released_and_a_release_is_fenced() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let servers = active_servers(&harness, "app", 2).await;
    harness
        .engine
        .rules()
        .add(FaultSpec {
            operation: Some("batchStopServers".into()),
            sub_jobs: Some(vec![0]),
            ..rule(Effect::Stuck)
        })
        .expect("valid");
    let accepted = harness
        .engine
        .server_action(PROJECT, ServerAction::Stop { hard: false }, &servers)
        .await
        .expect("accepted");
    // A day later the held sub-job still runs; the other one ended.
    harness.advance_ms(86_400_000);
    harness.drain().await;
    let job = harness.job(&accepted.job_id).await;
    assert_eq!(job.status, JobStatus::Running);
    assert_eq!(
        job.tasks.iter().map(|task| task.status).collect::<Vec<_>>(),
        [JobStatus::Running, JobStatus::Success]
    );
    let held = harness.server(&servers[0]).await;
    assert_eq!(held.busy_job_id.as_deref(), Some(accepted.job_id.as_str()));
    assert_eq!(
        harness.server(&servers[1]).await.state.status(),
        ServerStatus::Shutoff
    );

    let released = harness
        .engine
        .release(&accepted.job_id, None)
        .await
        .expect("store");
    assert_eq!(released, Some(1));
    let job = harness.job(&accepted.job_id).await;
    assert_eq!(job.status, JobStatus::Success);
    let stopped = harness.server(&servers[0]).await;
    assert_eq!(stopped.state.status(), ServerStatus::Shutoff);
    assert_eq!(stopped.busy_job_id, None);
    // A second release finds the job in the store (with its project) but nothing held.
    assert_eq!(
        harness
            .engine
            .release(&accepted.job_id, Some(PROJECT))
            .await
            .expect("store"),
        Some(0)
    );
    assert_eq!(
        harness
            .engine
            .release(&accepted.job_id, None)
            .await
            .expect("store"),
        None,
        "forgotten once released"
    );
}

#[tokio::test]
async fn deleting_a_stuck_rule_releases_its_jobs() {
    let harness = Harness::new(config(LatencyProfile::Instant));
    let stuck = harness
        .engine
        .rules()
        .add(FaultSpec {
            operation: Some("createServer".into()),
            ..rule(Effect::Stuck)
        })
        .expect("valid");
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("held", 1), None)
        .await
        .expect("accepted");
    harness.advance_ms(3_600_000);
    harness.drain().await;
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Running
    );
    assert_eq!(
        harness.server(&accepted.server_ids[0]).await.state.status(),
        ServerStatus::Build
    );
    let (_, held) = harness
        .engine
        .rules()
        .remove(&stuck.id)
        .expect("the rule exists");
    let released = harness.engine.release_all(held).await.expect("store");
    assert_eq!(released, vec![accepted.job_id.clone()]);
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Success
    );
    assert_eq!(
        harness.server(&accepted.server_ids[0]).await.state.status(),
        ServerStatus::Active
    );
}

#[tokio::test]
async fn latency_lengthens_the_job_by_its_duration() {
    let harness = Harness::new(config(LatencyProfile::Instant));
    harness
        .engine
        .rules()
        .add(FaultSpec {
            operation: Some("createServer".into()),
            duration: Some("3s".into()),
            ..rule(Effect::Latency)
        })
        .expect("valid");
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("slow", 1), None)
        .await
        .expect("accepted");
    harness.drain().await;
    // Instant would have ended at acceptance; now it runs for 3 s.
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Running
    );
    harness.advance_ms(2_999);
    harness.drain().await;
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Running
    );
    harness.advance_ms(1);
    harness.drain().await;
    assert_eq!(
        harness.job(&accepted.job_id).await.status,
        JobStatus::Success
    );
}

#[tokio::test]
async fn a_refusal_creates_nothing() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    for effect in [Effect::Throttle, Effect::Reject, Effect::GatewayError] {
        let spec = FaultSpec {
            operation: Some("createServer".into()),
            times: Some(1),
            code: (effect == Effect::Reject).then(|| "Ecs.0005".into()),
            ..rule(effect)
        };
        harness.engine.rules().add(spec).expect("valid");
        let refused = harness
            .engine
            .create_servers(PROJECT, create_request("refused", 2), None)
            .await;
        match refused {
            Err(SubmitError::Fault(fired)) => assert_eq!(fired.effect, effect),
            other => panic!("{effect:?}: {other:?}"),
        }
        harness.engine.rules().clear();
    }
    let page = harness
        .engine
        .servers(ServerQuery {
            project_id: PROJECT.into(),
            limit: 100,
            ..ServerQuery::default()
        })
        .await
        .expect("readable");
    assert!(page.servers.is_empty(), "nothing was created");
    assert_eq!(harness.engine.unfinished_jobs().await.expect("count"), 0);
}

#[tokio::test]
async fn an_expired_rule_stops_on_the_engine_clock() {
    let harness = Harness::new(config(LatencyProfile::Instant));
    // The harness clock starts at 2026-01-01 12:00 UTC.
    harness
        .engine
        .rules()
        .add(FaultSpec {
            expires_at: Some("2026-01-01T12:01:00Z".into()),
            ..rule(Effect::Fail)
        })
        .expect("valid");
    let before = harness
        .engine
        .create_servers(PROJECT, create_request("early", 1), None)
        .await
        .expect("accepted");
    harness.drain().await;
    assert_eq!(harness.job(&before.job_id).await.status, JobStatus::Fail);
    harness.advance_ms(60_000);
    let after = harness
        .engine
        .create_servers(PROJECT, create_request("late", 1), None)
        .await
        .expect("accepted");
    harness.drain().await;
    assert_eq!(harness.job(&after.job_id).await.status, JobStatus::Success);
}

#[tokio::test]
async fn a_job_the_store_refuses_does_not_spend_a_rule() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let servers = active_servers(&harness, "db", 1).await;
    harness
        .engine
        .rules()
        .add(FaultSpec {
            operation: Some("batchStartServers".into()),
            times: Some(1),
            ..rule(Effect::Fail)
        })
        .expect("valid");
    // Start needs a stopped server: refused by the store, so the rule is not spent on it.
    let refused = harness
        .engine
        .server_action(PROJECT, ServerAction::Start, &servers)
        .await;
    assert!(
        matches!(refused, Err(SubmitError::Rejected(_))),
        "{refused:?}"
    );
    assert_eq!(fired(&harness), [0]);
    assert_eq!(harness.engine.rules().list()[0].matched, 0);

    let stop = harness
        .engine
        .server_action(PROJECT, ServerAction::Stop { hard: false }, &servers)
        .await
        .expect("accepted");
    harness.advance_ms(60_000);
    harness.drain().await;
    assert_eq!(harness.job(&stop.job_id).await.status, JobStatus::Success);
    let start = harness
        .engine
        .server_action(PROJECT, ServerAction::Start, &servers)
        .await
        .expect("accepted");
    harness.advance_ms(60_000);
    harness.drain().await;
    let job = harness.job(&start.job_id).await;
    assert_eq!(job.status, JobStatus::Fail);
    // The operation's own failure code when the rule names none; a failed start leaves the
    // server as it was.
    assert!(job.error_code.is_some());
    assert_eq!(
        harness.server(&servers[0]).await.state.status(),
        ServerStatus::Shutoff
    );
    assert_eq!(fired(&harness), [1]);
}
