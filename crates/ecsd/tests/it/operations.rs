//! The jobs on one server (resize, cold migrate, reinstall and change OS, attach and detach a
//! disk, add and delete NICs) driven step by step on a manual clock over SQLite: the status each
//! step shows, the final server, failures injected through the `FaultInjector`, and the
//! refusals at submission. No sleeps.

use crate::support::{config, create_request, Harness, PROJECT};
use engine::compute::LatencyProfile;
use engine::engine::{FaultInjector, InjectedFault, NicRequest, ServerAction};
use engine::flavors::FlavorCatalogue;
use engine::job::{JobKind, JobStatus, TaskRecord};
use engine::server::{FlavorRef, ServerStatus};
use engine::store::Rejection;
use engine::{ServerJob, SubmitError};
use std::sync::Arc;

const SUBNET: &str = "5e0f2e8a-7c1f-4d8e-9f42-4b2d6e8b1c33";
const OTHER_SUBNET: &str = "6f1a3b9c-8d2e-4f5a-9b6c-7d8e9f0a1b2c";
const VOLUME: &str = "a26887c6-c47b-4654-abb5-dfadf7d3f803";
const DEH: &str = "459a2b9d-804a-4745-ab19-a113bb1b4ddc";

/// Fails the tasks whose operation is `op` (its stored name) at `step`.
#[derive(Debug)]
struct FailOperation {
    op: &'static str,
    step: usize,
    /// Only the task at this index of its job (all tasks if `None`).
    index: Option<i64>,
}

impl FaultInjector for FailOperation {
    fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault> {
        let name = serde_json::to_value(&task.operation).ok()?["op"].clone();
        let chosen = name == self.op
            && step == self.step
            && self.index.is_none_or(|index| index == task.index);
        chosen.then(|| InjectedFault {
            code: None,
            reason: format!("injected: {} failed", self.op),
        })
    }
}

fn harness_failing(op: &'static str, step: usize, index: Option<i64>) -> Harness {
    let faults: Arc<dyn FaultInjector> = Arc::new(FailOperation { op, step, index });
    Harness::with_faults(config(LatencyProfile::Fast), Some(faults))
}

/// Lets every due step run, a simulated second at a time, for ten seconds.
async fn settle(harness: &Harness) {
    for _ in 0..10 {
        harness.advance_ms(1_000);
        harness.drain().await;
    }
}

/// A new server, built to ACTIVE.
async fn active_server(harness: &Harness) -> String {
    let created = harness
        .engine
        .create_servers(PROJECT, create_request("ops", 1), None)
        .await
        .expect("create accepted");
    settle(harness).await;
    created.server_ids[0].clone()
}

/// A new server, built and stopped.
async fn stopped_server(harness: &Harness) -> String {
    let id = active_server(harness).await;
    harness
        .engine
        .server_action(
            PROJECT,
            ServerAction::Stop { hard: false },
            std::slice::from_ref(&id),
        )
        .await
        .expect("stop accepted");
    settle(harness).await;
    assert_eq!(
        harness.server(&id).await.state.status(),
        ServerStatus::Shutoff
    );
    id
}

fn flavor(id: &str) -> FlavorRef {
    FlavorRef::from(
        FlavorCatalogue::builtin()
            .get(id)
            .expect("a built-in flavor"),
    )
}

/// Submits `request` on `server_id` and expects it accepted; returns the job id.
async fn submit(harness: &Harness, server_id: &str, request: ServerJob) -> String {
    harness
        .engine
        .server_job(PROJECT, server_id, request)
        .await
        .expect("accepted")
        .job_id
}

async fn refusal(harness: &Harness, server_id: &str, request: ServerJob) -> Rejection {
    match harness.engine.server_job(PROJECT, server_id, request).await {
        Err(SubmitError::Rejected(rejection)) => rejection,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Advances the clock by each delay in turn and records, after each, the server's status and
/// task state and the job's status.
async fn walk(
    harness: &Harness,
    server_id: &str,
    job_id: &str,
    delays_ms: &[i64],
) -> Vec<(&'static str, Option<&'static str>, JobStatus)> {
    let mut seen = Vec::new();
    for delay in delays_ms {
        harness.advance_ms(*delay);
        harness.drain().await;
        let server = harness.server(server_id).await;
        seen.push((
            server.state.status().as_str(),
            server.state.task_state.map(|state| state.as_str()),
            harness.job(job_id).await.status,
        ));
    }
    seen
}

/// What a finished failed job reports, and that it freed its server.
async fn assert_failed(harness: &Harness, job_id: &str, server_id: &str, code: &str) {
    let failed = harness.job(job_id).await;
    assert_eq!(failed.status, JobStatus::Fail);
    assert_eq!(failed.error_code.as_deref(), Some(code));
    assert!(
        failed
            .fail_reason
            .as_deref()
            .is_some_and(|reason| reason.starts_with("injected")),
        "{failed:?}"
    );
    assert_eq!(harness.server(server_id).await.busy_job_id, None);
}

// ---------------------------------------------------------------------------------------------
// Resize.

#[tokio::test]
async fn resize_walks_shutoff_resize_shutoff_and_changes_the_flavor_last() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = stopped_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::Resize {
            flavor: flavor("s3.large.2"),
        },
    )
    .await;
    let accepted = harness.job(&job_id).await;
    assert_eq!(
        (accepted.kind, accepted.status, accepted.tasks.len()),
        (JobKind::ResizeServer, JobStatus::Init, 1)
    );
    assert_eq!(accepted.kind.job_type(), "resizeServer");
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120, 100, 100, 100]).await,
        [
            ("RESIZE", Some("resize_prep"), Running),
            ("RESIZE", Some("resize_migrating"), Running),
            ("RESIZE", Some("resize_migrated"), Running),
            ("RESIZE", Some("resize_finish"), Running),
        ]
    );
    assert_eq!(
        harness.server(&id).await.doc.flavor.id,
        "s3.medium.1",
        "the flavor changes with the last step"
    );
    assert_eq!(
        walk(&harness, &id, &job_id, &[150]).await,
        [("SHUTOFF", None, Success)]
    );
    let resized = harness.server(&id).await;
    assert_eq!(
        (resized.doc.flavor.id.as_str(), resized.flavor_id.as_str()),
        ("s3.large.2", "s3.large.2")
    );
    assert_eq!(resized.busy_job_id, None);
}

#[tokio::test]
async fn resize_is_refused_unless_stopped_and_to_another_flavor_of_the_family() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let active = active_server(&harness).await;
    let resize = |id: &str| ServerJob::Resize {
        flavor: flavor(if id.is_empty() { "c3.large.2" } else { id }),
    };
    assert!(matches!(
        refusal(&harness, &active, resize("s3.large.2")).await,
        Rejection::ServerWrongState {
            status: "ACTIVE",
            ..
        }
    ));
    let stopped = stopped_server(&harness).await;
    assert!(matches!(
        refusal(&harness, &stopped, resize("s3.medium.1")).await,
        Rejection::SameFlavor { .. }
    ));
    assert!(matches!(
        refusal(&harness, &stopped, resize("")).await,
        Rejection::FlavorNotAllowed { .. }
    ));
    assert!(matches!(
        refusal(
            &harness,
            "00000000-0000-4000-8000-000000000000",
            resize("s3.large.2")
        )
        .await,
        Rejection::ServerNotFound { .. }
    ));
}

#[tokio::test]
async fn a_failed_resize_keeps_the_old_flavor_and_reports_ecs_0207() {
    let harness = harness_failing("resize_server", 2, None);
    let id = stopped_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::Resize {
            flavor: flavor("s3.large.2"),
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.0207").await;
    let after = harness.server(&id).await;
    assert_eq!(
        (after.state.status(), after.doc.flavor.id.as_str()),
        (ServerStatus::Shutoff, "s3.medium.1")
    );
}

// ---------------------------------------------------------------------------------------------
// One job per server.

#[tokio::test]
async fn a_running_job_holds_the_server_against_every_other_operation() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = stopped_server(&harness).await;
    let resize = submit(
        &harness,
        &id,
        ServerJob::Resize {
            flavor: flavor("s3.large.2"),
        },
    )
    .await;
    let others = [
        ServerJob::Migrate {
            dedicated_host_id: None,
        },
        ServerJob::ReinstallOs { key_name: None },
        ServerJob::AttachVolume {
            volume_id: VOLUME.into(),
            device: None,
            volume_type: None,
        },
        ServerJob::AddNics {
            nics: vec![NicRequest {
                subnet_id: SUBNET.into(),
                ip_address: None,
            }],
        },
    ];
    for other in others {
        let rejection = refusal(&harness, &id, other.clone()).await;
        assert!(
            matches!(&rejection, Rejection::ServerBusy { job_id, .. } if *job_id == resize),
            "{other:?}: {rejection:?}"
        );
    }
    let start = harness
        .engine
        .server_action(PROJECT, ServerAction::Start, std::slice::from_ref(&id))
        .await;
    assert!(matches!(
        start,
        Err(SubmitError::Rejected(Rejection::ServerBusy { .. }))
    ));
    settle(&harness).await;
    submit(
        &harness,
        &id,
        ServerJob::Migrate {
            dedicated_host_id: None,
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// Cold migration.

#[tokio::test]
async fn cold_migration_takes_the_resize_path_and_moves_the_host() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = stopped_server(&harness).await;
    let before = harness.server(&id).await;
    assert_eq!(before.doc.host, None);
    let job_id = submit(
        &harness,
        &id,
        ServerJob::Migrate {
            dedicated_host_id: Some(DEH.into()),
        },
    )
    .await;
    assert_eq!(harness.job(&job_id).await.kind.job_type(), "migrateServer");
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120, 100, 100, 100, 150]).await,
        [
            ("RESIZE", Some("resize_prep"), Running),
            ("RESIZE", Some("resize_migrating"), Running),
            ("RESIZE", Some("resize_migrated"), Running),
            ("RESIZE", Some("resize_finish"), Running),
            ("SHUTOFF", None, Success),
        ]
    );
    let moved = harness.server(&id).await;
    let host = moved.doc.host.clone().expect("a host");
    assert!(host.starts_with("deh-459a2b9d"), "{host}");
    assert_eq!(moved.doc.dedicated_host_id.as_deref(), Some(DEH));
    assert!(matches!(
        refusal(
            &harness,
            &id,
            ServerJob::Migrate {
                dedicated_host_id: Some(DEH.into())
            }
        )
        .await,
        Rejection::SameDedicatedHost { .. }
    ));
    let back = submit(
        &harness,
        &id,
        ServerJob::Migrate {
            dedicated_host_id: None,
        },
    )
    .await;
    settle(&harness).await;
    assert_eq!(harness.job(&back).await.status, Success);
    let public = harness.server(&id).await;
    assert_eq!(public.doc.dedicated_host_id, None);
    assert_ne!(public.doc.host, Some(host));
}

#[tokio::test]
async fn migration_needs_a_stopped_server_and_a_failure_keeps_the_host() {
    let harness = harness_failing("migrate_server", 1, None);
    let active = active_server(&harness).await;
    assert!(matches!(
        refusal(
            &harness,
            &active,
            ServerJob::Migrate {
                dedicated_host_id: None
            }
        )
        .await,
        Rejection::ServerWrongState { .. }
    ));
    let id = stopped_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::Migrate {
            dedicated_host_id: None,
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.1001").await;
    let after = harness.server(&id).await;
    assert_eq!(
        (after.state.status(), after.doc.host),
        (ServerStatus::Shutoff, None)
    );
}

// ---------------------------------------------------------------------------------------------
// Reinstall and change OS.

#[tokio::test]
async fn reinstall_rebuilds_from_the_same_image_and_change_os_switches_it() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = stopped_server(&harness).await;
    let image = harness.server(&id).await.doc.image_id;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::ReinstallOs {
            key_name: Some("kp-1".into()),
        },
    )
    .await;
    assert_eq!(harness.job(&job_id).await.kind.job_type(), "reInitOs");
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120, 150, 150, 200]).await,
        [
            ("REBUILD", Some("rebuilding"), Running),
            ("REBUILD", Some("rebuild_block_device_mapping"), Running),
            ("REBUILD", Some("rebuild_spawning"), Running),
            ("SHUTOFF", None, Success),
        ]
    );
    let reinstalled = harness.server(&id).await;
    assert_eq!(reinstalled.doc.image_id, image);
    assert_eq!(reinstalled.doc.key_name.as_deref(), Some("kp-1"));

    let new_image = "7d2c9a41-0c5e-4b8e-9f3a-1b2c3d4e5f60";
    let change = submit(
        &harness,
        &id,
        ServerJob::ChangeOs {
            image_id: new_image.into(),
            key_name: None,
        },
    )
    .await;
    assert_eq!(harness.job(&change).await.kind.job_type(), "changeOS");
    settle(&harness).await;
    assert_eq!(harness.job(&change).await.status, Success);
    let changed = harness.server(&id).await;
    assert_eq!(
        (changed.state.status(), changed.doc.image_id.as_str()),
        (ServerStatus::Shutoff, new_image)
    );
    assert_eq!(changed.doc.key_name.as_deref(), Some("kp-1"));
}

#[tokio::test]
async fn a_failed_change_os_leaves_error_from_which_a_reinstall_recovers() {
    let harness = harness_failing("rebuild_server", 2, None);
    let active = active_server(&harness).await;
    assert!(matches!(
        refusal(&harness, &active, ServerJob::ReinstallOs { key_name: None }).await,
        Rejection::ServerWrongState {
            status: "ACTIVE",
            ..
        }
    ));
    let id = stopped_server(&harness).await;
    let image = harness.server(&id).await.doc.image_id;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::ChangeOs {
            image_id: "7d2c9a41-0c5e-4b8e-9f3a-1b2c3d4e5f60".into(),
            key_name: None,
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.1002").await;
    let broken = harness.server(&id).await;
    assert_eq!(broken.state.status(), ServerStatus::Error);
    assert_eq!(broken.doc.image_id, image, "the image did not change");
    assert_eq!(
        broken.fault.as_ref().map(|fault| fault.code.as_str()),
        Some("Ecs.1002")
    );
    // From ERROR a new reinstall is accepted; this engine fails it again at step 2, so check
    // only the acceptance and the REBUILD status it shows from ERROR.
    let retry = submit(&harness, &id, ServerJob::ReinstallOs { key_name: None }).await;
    harness.advance_ms(120);
    harness.drain().await;
    assert_eq!(
        harness.server(&id).await.state.status(),
        ServerStatus::Rebuild
    );
    settle(&harness).await;
    assert_eq!(harness.job(&retry).await.status, JobStatus::Fail);
}

#[tokio::test]
async fn a_reinstall_from_error_succeeds_and_clears_the_fault() {
    // Fails the first rebuild task it sees (the change of OS) at step 1, and no other task.
    #[derive(Debug, Default)]
    struct FailOnce(std::sync::Mutex<Option<String>>);
    impl FaultInjector for FailOnce {
        fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault> {
            if serde_json::to_value(&task.operation).ok()?["op"] != "rebuild_server" {
                return None;
            }
            let mut failed = self.0.lock().ok()?;
            let first = failed.get_or_insert_with(|| task.id.clone()).clone();
            (step == 1 && first == task.id).then(|| InjectedFault {
                code: None,
                reason: "injected: rebuild failed".into(),
            })
        }
    }
    let faults: Arc<dyn FaultInjector> = Arc::new(FailOnce::default());
    let harness = Harness::with_faults(config(LatencyProfile::Fast), Some(faults));
    let id = stopped_server(&harness).await;
    let change = submit(
        &harness,
        &id,
        ServerJob::ChangeOs {
            image_id: "7d2c9a41-0c5e-4b8e-9f3a-1b2c3d4e5f60".into(),
            key_name: None,
        },
    )
    .await;
    settle(&harness).await;
    assert_eq!(harness.job(&change).await.status, JobStatus::Fail);
    assert_eq!(
        harness.server(&id).await.state.status(),
        ServerStatus::Error
    );
    let reinstall = submit(&harness, &id, ServerJob::ReinstallOs { key_name: None }).await;
    settle(&harness).await;
    assert_eq!(harness.job(&reinstall).await.status, JobStatus::Success);
    let fixed = harness.server(&id).await;
    assert_eq!(
        (fixed.state.status(), fixed.fault),
        (ServerStatus::Shutoff, None)
    );
}

// ---------------------------------------------------------------------------------------------
// Disks.

#[tokio::test]
async fn attach_names_devices_in_order_and_shows_the_disk_on_success() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = active_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: VOLUME.into(),
            device: None,
            volume_type: None,
        },
    )
    .await;
    let accepted = harness.job(&job_id).await;
    assert_eq!(accepted.kind.job_type(), "attachVolume");
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120]).await,
        [("ACTIVE", None, Running)]
    );
    assert_eq!(
        harness.server(&id).await.doc.volumes.len(),
        1,
        "not attached before SUCCESS"
    );
    assert_eq!(
        walk(&harness, &id, &job_id, &[300]).await,
        [("ACTIVE", None, Success)]
    );
    let attached = harness.server(&id).await;
    let devices: Vec<(&str, &str, Option<i64>)> = attached
        .doc
        .volumes
        .iter()
        .map(|volume| {
            (
                volume.id.as_str(),
                volume.device.as_str(),
                volume.boot_index,
            )
        })
        .collect();
    assert_eq!(devices[1], (VOLUME, "/dev/vdb", None));
    assert_eq!(devices[0].1, "/dev/vda");
    assert_eq!(devices[0].2, Some(0));

    // The next free letter, and /dev/sd* turned into /dev/vd*.
    let second = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e";
    submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: second.into(),
            device: None,
            volume_type: Some("SAS".into()),
        },
    )
    .await;
    settle(&harness).await;
    let third = "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f";
    submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: third.into(),
            device: Some("/dev/sdf".into()),
            volume_type: None,
        },
    )
    .await;
    settle(&harness).await;
    let devices: Vec<String> = harness
        .server(&id)
        .await
        .doc
        .volumes
        .iter()
        .map(|volume| volume.device.clone())
        .collect();
    assert_eq!(devices, ["/dev/vda", "/dev/vdb", "/dev/vdc", "/dev/vdf"]);
}

#[tokio::test]
async fn attach_refuses_a_used_device_an_attached_volume_and_a_volume_held_elsewhere() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = active_server(&harness).await;
    let attach = |volume: &str, device: Option<&str>| ServerJob::AttachVolume {
        volume_id: volume.into(),
        device: device.map(str::to_owned),
        volume_type: None,
    };
    submit(&harness, &id, attach(VOLUME, None)).await;
    settle(&harness).await;
    assert!(matches!(
        refusal(&harness, &id, attach(VOLUME, None)).await,
        Rejection::VolumeAlreadyAttached { .. }
    ));
    let other_volume = "d3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f6a";
    for device in ["/dev/vdb", "/dev/sdb", "/dev/vda"] {
        assert!(
            matches!(
                refusal(&harness, &id, attach(other_volume, Some(device))).await,
                Rejection::DeviceInUse { .. }
            ),
            "{device}"
        );
    }
    let elsewhere = active_server(&harness).await;
    assert!(matches!(
        refusal(&harness, &elsewhere, attach(VOLUME, None)).await,
        Rejection::VolumeInUse { server_id, .. } if server_id == id
    ));
}

#[tokio::test]
async fn a_failed_attach_attaches_nothing_and_reports_ecs_0205() {
    let harness = harness_failing("attach_volume", 1, None);
    let id = active_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: VOLUME.into(),
            device: None,
            volume_type: None,
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.0205").await;
    let after = harness.server(&id).await;
    assert_eq!(
        (after.state.status(), after.doc.volumes.len()),
        (ServerStatus::Active, 1)
    );
}

#[tokio::test]
async fn detach_removes_a_data_disk_and_the_system_disk_only_when_stopped() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = active_server(&harness).await;
    submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: VOLUME.into(),
            device: None,
            volume_type: None,
        },
    )
    .await;
    settle(&harness).await;
    let detach = |volume: &str| ServerJob::DetachVolume {
        volume_id: volume.into(),
    };
    let job_id = submit(&harness, &id, detach(VOLUME)).await;
    assert_eq!(harness.job(&job_id).await.kind.job_type(), "detachVolume");
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120, 300]).await,
        [("ACTIVE", None, Running), ("ACTIVE", None, Success)]
    );
    assert_eq!(harness.server(&id).await.doc.volumes.len(), 1);
    assert!(matches!(
        refusal(&harness, &id, detach(VOLUME)).await,
        Rejection::VolumeNotAttached { .. }
    ));

    let system = harness.server(&id).await.doc.volumes[0].id.clone();
    assert!(matches!(
        refusal(&harness, &id, detach(&system)).await,
        Rejection::ServerWrongState {
            status: "ACTIVE",
            ..
        }
    ));
    harness
        .engine
        .server_action(
            PROJECT,
            ServerAction::Stop { hard: true },
            std::slice::from_ref(&id),
        )
        .await
        .expect("stop accepted");
    settle(&harness).await;
    submit(&harness, &id, detach(&system)).await;
    settle(&harness).await;
    assert!(harness.server(&id).await.doc.volumes.is_empty());
    assert!(matches!(
        refusal(&harness, &id, ServerJob::ReinstallOs { key_name: None }).await,
        Rejection::NoSystemDisk { .. }
    ));
    // Attached again as /dev/vda, it is the system disk once more.
    submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: system.clone(),
            device: Some("/dev/vda".into()),
            volume_type: None,
        },
    )
    .await;
    settle(&harness).await;
    let volumes = harness.server(&id).await.doc.volumes;
    assert_eq!(
        (volumes[0].id.as_str(), volumes[0].boot_index),
        (system.as_str(), Some(0))
    );
    submit(&harness, &id, ServerJob::ReinstallOs { key_name: None }).await;
}

#[tokio::test]
async fn a_failed_detach_keeps_the_disk() {
    let harness = harness_failing("detach_volume", 1, None);
    let id = active_server(&harness).await;
    submit(
        &harness,
        &id,
        ServerJob::AttachVolume {
            volume_id: VOLUME.into(),
            device: None,
            volume_type: None,
        },
    )
    .await;
    settle(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::DetachVolume {
            volume_id: VOLUME.into(),
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.1002").await;
    assert_eq!(harness.server(&id).await.doc.volumes.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// NICs.

fn nic_request(subnet: &str, ip: Option<&str>) -> NicRequest {
    NicRequest {
        subnet_id: subnet.into(),
        ip_address: ip.map(str::to_owned),
    }
}

#[tokio::test]
async fn adding_nics_runs_one_sub_job_per_nic_and_honours_requested_addresses() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = active_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::AddNics {
            nics: vec![
                nic_request(SUBNET, None),
                nic_request(OTHER_SUBNET, Some("10.0.5.17")),
            ],
        },
    )
    .await;
    let accepted = harness.job(&job_id).await;
    assert_eq!(
        (
            accepted.kind.job_type(),
            accepted.kind.sub_job_type(),
            accepted.tasks.len()
        ),
        ("addNics", Some("addNic"), 2)
    );
    let port_ids: Vec<String> = accepted
        .tasks
        .iter()
        .map(|task| task.operation.nic_id().expect("a NIC sub-job").to_owned())
        .collect();
    assert_ne!(port_ids[0], port_ids[1]);
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120, 300]).await,
        [("ACTIVE", None, Running), ("ACTIVE", None, Success)]
    );
    let after = harness.server(&id).await;
    assert_eq!(after.busy_job_id, None);
    assert_eq!(after.doc.nics.len(), 3);
    let added = &after.doc.nics[1..];
    assert_eq!(
        added
            .iter()
            .map(|nic| nic.port_id.clone())
            .collect::<Vec<_>>(),
        port_ids
    );
    assert_eq!(added[1].ip_address, "10.0.5.17");
    assert!(added[0].ip_address.parse::<std::net::Ipv4Addr>().is_ok());
    assert!(added
        .iter()
        .all(|nic| !nic.primary && nic.mac_address.starts_with("fa:16:3e:")));
    assert_ne!(added[0].mac_address, added[1].mac_address);
}

#[tokio::test]
async fn adding_nics_refuses_too_many_and_addresses_in_use() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = active_server(&harness).await;
    let twelve = (0..12).map(|_| nic_request(SUBNET, None)).collect();
    assert!(matches!(
        refusal(&harness, &id, ServerJob::AddNics { nics: twelve }).await,
        Rejection::TooManyNics { count: 13, .. }
    ));
    let primary_ip = harness.server(&id).await.doc.nics[0].ip_address.clone();
    assert!(matches!(
        refusal(
            &harness,
            &id,
            ServerJob::AddNics {
                nics: vec![nic_request(SUBNET, Some(&primary_ip))]
            }
        )
        .await,
        Rejection::IpInUse { .. }
    ));
    assert!(matches!(
        refusal(
            &harness,
            &id,
            ServerJob::AddNics {
                nics: vec![
                    nic_request(SUBNET, Some("192.168.200.9")),
                    nic_request(SUBNET, Some("192.168.200.9"))
                ]
            }
        )
        .await,
        Rejection::IpInUse { .. }
    ));
    // Another server of the project already has (or is getting) the address.
    let other = active_server(&harness).await;
    submit(
        &harness,
        &other,
        ServerJob::AddNics {
            nics: vec![nic_request(SUBNET, Some("192.168.200.9"))],
        },
    )
    .await;
    assert!(matches!(
        refusal(
            &harness,
            &id,
            ServerJob::AddNics {
                nics: vec![nic_request(SUBNET, Some("192.168.200.9"))]
            }
        )
        .await,
        Rejection::IpInUse { server_id, .. } if server_id == other
    ));
    // The same address in another subnet is another address.
    submit(
        &harness,
        &id,
        ServerJob::AddNics {
            nics: vec![nic_request(OTHER_SUBNET, Some("192.168.200.9"))],
        },
    )
    .await;
}

#[tokio::test]
async fn one_failed_nic_fails_the_job_with_ecs_0217_and_the_other_is_added() {
    let harness = harness_failing("add_nic", 1, Some(1));
    let id = active_server(&harness).await;
    let job_id = submit(
        &harness,
        &id,
        ServerJob::AddNics {
            nics: vec![nic_request(SUBNET, None), nic_request(SUBNET, None)],
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.0217").await;
    let failed = harness.job(&job_id).await;
    let statuses: Vec<JobStatus> = failed.tasks.iter().map(|task| task.status).collect();
    assert_eq!(statuses, [JobStatus::Success, JobStatus::Fail]);
    let nics = harness.server(&id).await.doc.nics;
    assert_eq!(nics.len(), 2);
    assert_eq!(
        Some(nics[1].port_id.as_str()),
        failed.tasks[0].operation.nic_id()
    );
}

#[tokio::test]
async fn deleting_nics_removes_them_but_never_the_primary_nic() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let id = active_server(&harness).await;
    submit(
        &harness,
        &id,
        ServerJob::AddNics {
            nics: vec![nic_request(SUBNET, None), nic_request(SUBNET, None)],
        },
    )
    .await;
    settle(&harness).await;
    let nics = harness.server(&id).await.doc.nics;
    let primary = nics[0].port_id.clone();
    let delete = |ports: &[&str]| ServerJob::DeleteNics {
        port_ids: ports.iter().map(|port| (*port).to_owned()).collect(),
    };
    assert!(matches!(
        refusal(&harness, &id, delete(&[&nics[1].port_id, &primary])).await,
        Rejection::PrimaryNic { port_id, .. } if port_id == primary
    ));
    assert!(matches!(
        refusal(
            &harness,
            &id,
            delete(&["e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a7b"])
        )
        .await,
        Rejection::NicNotFound { .. }
    ));
    let job_id = submit(&harness, &id, delete(&[&nics[1].port_id, &nics[2].port_id])).await;
    let accepted = harness.job(&job_id).await;
    assert_eq!(
        (accepted.kind.job_type(), accepted.tasks.len()),
        ("deleteNics", 2)
    );
    use JobStatus::{Running, Success};
    assert_eq!(
        walk(&harness, &id, &job_id, &[120, 300]).await,
        [("ACTIVE", None, Running), ("ACTIVE", None, Success)]
    );
    let left = harness.server(&id).await.doc.nics;
    assert_eq!(
        left.iter()
            .map(|nic| nic.port_id.as_str())
            .collect::<Vec<_>>(),
        [primary.as_str()]
    );
}

#[tokio::test]
async fn a_failed_nic_deletion_keeps_the_nic_and_reports_ecs_0507() {
    let harness = harness_failing("delete_nic", 1, None);
    let id = active_server(&harness).await;
    submit(
        &harness,
        &id,
        ServerJob::AddNics {
            nics: vec![nic_request(SUBNET, None)],
        },
    )
    .await;
    settle(&harness).await;
    let port = harness.server(&id).await.doc.nics[1].port_id.clone();
    let job_id = submit(
        &harness,
        &id,
        ServerJob::DeleteNics {
            port_ids: vec![port],
        },
    )
    .await;
    settle(&harness).await;
    assert_failed(&harness, &job_id, &id, "Ecs.0507").await;
    assert_eq!(harness.server(&id).await.doc.nics.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Auto-recovery (a setting, no job).

#[tokio::test]
async fn auto_recovery_is_stored_as_the_string_given() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let mut request = create_request("ar", 1);
    request.auto_recovery = true;
    let created = harness
        .engine
        .create_servers(PROJECT, request, None)
        .await
        .expect("accepted");
    let id = created.server_ids[0].clone();
    assert_eq!(
        harness.server(&id).await.doc.auto_recovery.as_deref(),
        Some("true")
    );
    let change = engine::server::DocChange::AutoRecovery {
        value: "false".into(),
    };
    assert!(harness
        .engine
        .server_change(PROJECT, &id, change.clone())
        .await
        .expect("writes"));
    assert_eq!(
        harness.server(&id).await.doc.auto_recovery.as_deref(),
        Some("false")
    );
    assert!(!harness
        .engine
        .server_change("another-project", &id, change)
        .await
        .expect("writes"));
}

// ---------------------------------------------------------------------------------------------
// Recovery.

#[tokio::test]
async fn a_restarted_engine_finishes_the_jobs_it_found_without_repeating_an_effect() {
    let harness = Harness::new(config(LatencyProfile::Fast));
    let running = active_server(&harness).await;
    let stopped = stopped_server(&harness).await;
    let add = submit(
        &harness,
        &running,
        ServerJob::AddNics {
            nics: vec![nic_request(SUBNET, None), nic_request(SUBNET, None)],
        },
    )
    .await;
    let resize = submit(
        &harness,
        &stopped,
        ServerJob::Resize {
            flavor: flavor("s3.large.2"),
        },
    )
    .await;
    let planned: Vec<String> = harness
        .job(&add)
        .await
        .tasks
        .iter()
        .filter_map(|task| task.operation.nic_id().map(str::to_owned))
        .collect();
    harness.advance_ms(120);
    harness.drain().await;
    assert_eq!(harness.job(&add).await.status, JobStatus::Running);
    assert_eq!(harness.job(&resize).await.status, JobStatus::Running);

    // "Restart": a new engine over the same file, as in engine_steps.
    let path = harness.store.path().to_owned();
    let clock = harness.clock.clone();
    drop(harness.engine);
    harness.store.close();
    drop(harness.store);
    let store = Arc::new(store::sqlite::SqliteStore::open(&path).expect("reopens"));
    let engine = Harness::engine_over(store, clock.clone(), config(LatencyProfile::Fast), None);
    assert_eq!(engine.unfinished_jobs().await.expect("counts"), 2);
    clock.advance(time::Duration::seconds(5));
    while let engine::engine::RunOutcome::Ran(_) = engine.run_once().await.expect("step") {}
    for job_id in [&add, &resize] {
        let done = engine
            .job(PROJECT, job_id)
            .await
            .expect("readable")
            .expect("exists");
        assert_eq!(done.status, JobStatus::Success, "{done:?}");
    }
    let with_nics = engine
        .server(PROJECT, &running)
        .await
        .expect("readable")
        .expect("exists");
    let ports: Vec<String> = with_nics
        .doc
        .nics
        .iter()
        .skip(1)
        .map(|nic| nic.port_id.clone())
        .collect();
    assert_eq!(ports, planned, "the planned ports, each once");
    let resized = engine
        .server(PROJECT, &stopped)
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(
        (resized.state.status(), resized.doc.flavor.id.as_str()),
        (ServerStatus::Shutoff, "s3.large.2")
    );
}
