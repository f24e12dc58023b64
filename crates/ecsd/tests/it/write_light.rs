//! The write-light engine on a `ManualClock` over SQLite: for every operation, the job, its
//! sub-job and its server are read through the engine just before and at every phase boundary,
//! while the store still holds exactly what acceptance wrote (no phase is written); past the
//! due end the job still reads RUNNING until the end is written, once. No sleeps.

use crate::support::{config, create_request, Harness, PROJECT};
use engine::compute::{LatencyProfile, Operation, ServerPatch};
use engine::engine::{NicRequest, RunOutcome, ServerAction};
use engine::flavors::FlavorCatalogue;
use engine::job::{JobRecord, JobStatus};
use engine::server::{FlavorRef, PowerTriple, ServerRecord, ServerStatus};
use engine::ServerJob;

const SUBNET: &str = "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33";
const VOLUME: &str = "a26887c6-c47b-4654-abb5-dfadf7d3f803";

async fn stored_job(harness: &Harness, job_id: &str) -> JobRecord {
    engine::store::Store::job_get(harness.store.as_ref(), PROJECT, job_id)
        .await
        .expect("readable")
        .expect("stored")
}

async fn stored_server(harness: &Harness, server_id: &str) -> Option<ServerRecord> {
    engine::store::Store::server_get(harness.store.as_ref(), PROJECT, server_id)
        .await
        .expect("readable")
}

/// A server built (ACTIVE), and stopped if `stopped`.
async fn server(harness: &Harness, stopped: bool) -> String {
    let created = harness
        .engine
        .create_servers(PROJECT, create_request("wl", 1), None)
        .await
        .expect("accepted");
    harness.advance_ms(10_000);
    harness.drain().await;
    let id = created.server_ids[0].clone();
    if stopped {
        harness
            .engine
            .server_action(
                PROJECT,
                ServerAction::Stop { hard: false },
                std::slice::from_ref(&id),
            )
            .await
            .expect("stop accepted");
        harness.advance_ms(10_000);
        harness.drain().await;
    }
    id
}

fn apply(state: &mut PowerTriple, progress: &mut i64, patch: &ServerPatch) {
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

/// Walks the accepted job's phases on the clock and checks every boundary; ends it; returns the
/// final server (`None` once deleted).
async fn walk_phases(
    harness: &Harness,
    job_id: &str,
    server_id: &str,
    before: &ServerRecord,
) -> Option<ServerRecord> {
    let accepted_job = stored_job(harness, job_id).await;
    let accepted_server = stored_server(harness, server_id).await.expect("stored");
    let task = accepted_job.tasks[0].clone();
    let phases = task.operation.phases(LatencyProfile::Fast, 0);
    assert_eq!(task.schedule.len(), phases.len(), "{:?}", task.operation);
    // What acceptance wrote: the first phase's state, the job held.
    let mut expected = before.state;
    let mut progress = before.progress;
    apply(&mut expected, &mut progress, &phases[0].patch);
    assert_eq!(accepted_server.state, expected, "{:?}", task.operation);
    assert_eq!(
        accepted_server.busy_job_id.as_deref(),
        Some(job_id),
        "held from acceptance"
    );
    let end = *task.schedule.last().expect("phases");
    for (phase, due) in task.schedule.iter().enumerate() {
        for at in [due - 1, *due] {
            harness
                .clock
                .set(engine::clock::from_unix_ms(at.max(task.begin_time)));
            if at == end {
                break;
            }
            let applied = phase + usize::from(at == *due);
            let mut state = before.state;
            let mut shown_progress = before.progress;
            for patch in phases.iter().take(applied.max(1)) {
                apply(&mut state, &mut shown_progress, &patch.patch);
            }
            let job = harness.job(job_id).await;
            let status = if applied == 0 {
                JobStatus::Init
            } else {
                JobStatus::Running
            };
            assert_eq!(
                (job.status, job.tasks[0].status),
                (status, status),
                "{:?} at phase {phase}",
                task.operation
            );
            assert_eq!(job.end_time, None);
            let server = harness.server(server_id).await;
            assert_eq!(
                (server.state, server.progress),
                (state, shown_progress),
                "{:?} at phase {phase} ({at})",
                task.operation
            );
            assert_eq!(
                harness.engine.run_once().await.expect("runs"),
                RunOutcome::Idle,
                "nothing is written before the end"
            );
            assert_eq!(stored_job(harness, job_id).await, accepted_job);
            assert_eq!(
                stored_server(harness, server_id).await.as_ref(),
                Some(&accepted_server),
                "no phase is written"
            );
        }
    }
    // Due, not yet written: still RUNNING, the server as before the end.
    assert_eq!(harness.job(job_id).await.status, JobStatus::Running);
    assert_eq!(stored_job(harness, job_id).await, accepted_job);
    assert_eq!(
        harness.engine.run_once().await.expect("runs"),
        RunOutcome::Ran(1)
    );
    assert_eq!(
        harness.engine.run_once().await.expect("runs"),
        RunOutcome::Idle,
        "the end is written once"
    );
    let done = harness.job(job_id).await;
    assert_eq!(done.status, JobStatus::Success, "{:?}", task.operation);
    assert_eq!(
        done,
        stored_job(harness, job_id).await,
        "finished: as stored"
    );
    let server = stored_server(harness, server_id).await;
    if let Some(server) = &server {
        assert_eq!(server.busy_job_id, None, "freed by the end");
        assert_eq!(harness.server(server_id).await.state, server.state);
    }
    server
}

/// Accepts `job` on a fresh server (stopped if `stopped`) and walks it.
async fn check(
    stopped: bool,
    job: impl AsyncFnOnce(&Harness, &str) -> String,
) -> (Operation, Option<ServerRecord>) {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = server(&harness, stopped).await;
    let before = harness.server(&id).await;
    let job_id = job(&harness, &id).await;
    let operation = stored_job(&harness, &job_id).await.tasks[0]
        .operation
        .clone();
    let after = walk_phases(&harness, &job_id, &id, &before).await;
    (operation, after)
}

async fn action(harness: &Harness, id: &str, action: ServerAction) -> String {
    harness
        .engine
        .server_action(PROJECT, action, &[id.to_owned()])
        .await
        .expect("accepted")
        .job_id
}

async fn server_job(harness: &Harness, id: &str, job: ServerJob) -> String {
    harness
        .engine
        .server_job(PROJECT, id, job)
        .await
        .expect("accepted")
        .job_id
}

#[tokio::test]
async fn a_create_reads_every_phase_with_nothing_written_before_its_end() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let accepted = harness
        .engine
        .create_servers(PROJECT, create_request("wl", 1), None)
        .await
        .expect("accepted");
    let id = accepted.server_ids[0].clone();
    let mut before = stored_server(&harness, &id).await.expect("stored");
    // The state before the first phase: what the first phase's patch is applied to.
    before.state.task_state = None;
    let server = walk_phases(&harness, &accepted.job_id, &id, &before)
        .await
        .expect("built");
    assert_eq!(server.state.status(), ServerStatus::Active);
    assert_eq!(server.progress, 100);
    assert!(server.launched_at.is_some());
}

#[tokio::test]
async fn power_actions_read_every_phase_with_nothing_written_before_their_end() {
    let (_, started) = check(true, async |h, id| action(h, id, ServerAction::Start).await).await;
    assert_eq!(
        started.map(|s| s.state.status()),
        Some(ServerStatus::Active)
    );
    for hard in [false, true] {
        let (_, stopped) = check(false, async |h, id| {
            action(h, id, ServerAction::Stop { hard }).await
        })
        .await;
        assert_eq!(
            stopped.map(|s| s.state.status()),
            Some(ServerStatus::Shutoff)
        );
        let (_, rebooted) = check(false, async |h, id| {
            action(h, id, ServerAction::Reboot { hard }).await
        })
        .await;
        assert_eq!(
            rebooted.map(|s| s.state.status()),
            Some(ServerStatus::Active)
        );
    }
    let delete = ServerAction::Delete {
        delete_volume: true,
        delete_publicip: None,
    };
    let (_, deleted) = check(false, async |h, id| action(h, id, delete).await).await;
    assert!(deleted.is_none(), "deleted with the end");
}

#[tokio::test]
async fn a_reboot_shows_reboot_from_the_commit_that_accepts_it() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = server(&harness, false).await;
    let job_id = action(&harness, &id, ServerAction::Reboot { hard: false }).await;
    assert_eq!(harness.job(&job_id).await.status, JobStatus::Init);
    let stored = stored_server(&harness, &id).await.expect("stored");
    assert_eq!(
        stored.state.status(),
        ServerStatus::Reboot,
        "the status list filters read is written at acceptance"
    );
    let page = harness
        .engine
        .servers(engine::store::ServerQuery {
            project_id: PROJECT.to_owned(),
            statuses: vec![ServerStatus::Reboot],
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("lists");
    assert_eq!(page.total, 1);
}

#[tokio::test]
async fn server_jobs_read_every_phase_with_nothing_written_before_their_end() {
    let resize = ServerJob::Resize {
        flavor: FlavorRef::from(FlavorCatalogue::builtin().get("s3.large.2").expect("known")),
    };
    let (_, resized) = check(true, async |h, id| server_job(h, id, resize).await).await;
    assert_eq!(resized.map(|s| s.flavor_id).as_deref(), Some("s3.large.2"));
    let migrate = ServerJob::Migrate {
        dedicated_host_id: None,
    };
    let (_, migrated) = check(true, async |h, id| server_job(h, id, migrate).await).await;
    assert_eq!(
        migrated.map(|s| s.state.status()),
        Some(ServerStatus::Shutoff)
    );
    let reinstall = ServerJob::ReinstallOs { key_name: None };
    let (_, rebuilt) = check(true, async |h, id| server_job(h, id, reinstall).await).await;
    assert_eq!(
        rebuilt.map(|s| s.state.status()),
        Some(ServerStatus::Shutoff)
    );
    let attach = ServerJob::AttachVolume {
        volume_id: VOLUME.into(),
        device: None,
        volume_type: None,
    };
    let (_, attached) = check(false, async |h, id| server_job(h, id, attach).await).await;
    assert!(attached.is_some_and(|s| s.doc.volumes.iter().any(|v| v.id == VOLUME)));
    let (_, detached) = check(true, async |h, id| {
        let system = h.server(id).await.doc.volumes[0].id.clone();
        server_job(h, id, ServerJob::DetachVolume { volume_id: system }).await
    })
    .await;
    assert!(detached.is_some_and(|s| s.doc.volumes.is_empty()));
    let add = ServerJob::AddNics {
        nics: vec![NicRequest {
            subnet_id: SUBNET.into(),
            ip_address: None,
        }],
    };
    let (_, added) = check(false, async |h, id| server_job(h, id, add).await).await;
    assert_eq!(added.map(|s| s.doc.nics.len()), Some(2));
    let (_, removed) = check(false, async |h, id| {
        let port = h.server(id).await.doc.nics[0].port_id.clone();
        let add = ServerJob::AddNics {
            nics: vec![NicRequest {
                subnet_id: SUBNET.into(),
                ip_address: None,
            }],
        };
        server_job(h, id, add).await;
        h.advance_ms(10_000);
        h.drain().await;
        let added = h.server(id).await.doc.nics[1].port_id.clone();
        assert_ne!(added, port);
        server_job(
            h,
            id,
            ServerJob::DeleteNics {
                port_ids: vec![added],
            },
        )
        .await
    })
    .await;
    assert_eq!(removed.map(|s| s.doc.nics.len()), Some(1));
}
