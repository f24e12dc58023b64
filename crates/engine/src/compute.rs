//! The simulated compute service: what each operation does to a server, step by step, and how
//! long each step takes under a [`LatencyProfile`].
//!
//! An operation is a fixed list of [`Phase`]s. Each phase waits its delay, then applies a
//! [`ServerPatch`]. Because a task stores how many phases it has applied, and a phase's patch
//! depends only on the operation and the phase number, re-running a phase after a crash writes the
//! same state again: execution is idempotent by construction.

pub use crate::server::ServerFault;
use crate::server::{power_state, DocChange, FlavorRef, Nic, TaskState, VmState, Volume};
use serde::{Deserialize, Serialize};
use time::Duration;

/// The work of one task. Stored with the task, so a restarted engine knows what to resume.
/// Everything a step needs (the new flavor, the disk's device name, the NIC's port id and
/// address) is decided at acceptance and stored here, so the steps stay a pure function of
/// (operation, step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Operation {
    /// Build the server that submission already recorded (in `BUILD`).
    CreateServer,
    DeleteServer {
        delete_volume: bool,
        delete_publicip: Option<bool>,
    },
    StartServer,
    StopServer {
        hard: bool,
    },
    RebootServer {
        hard: bool,
    },
    /// Change the flavor of a stopped server.
    ResizeServer {
        flavor: FlavorRef,
    },
    /// Move a stopped server to another host (or dedicated host).
    MigrateServer {
        host: String,
        dedicated_host_id: Option<String>,
    },
    /// Rebuild the system disk: from the same image (reinstall) or another one (change OS).
    RebuildServer {
        image_id: String,
        key_name: Option<String>,
    },
    AttachVolume {
        volume: Volume,
    },
    DetachVolume {
        volume_id: String,
    },
    /// Add one NIC (one sub-job of an add-NICs job).
    AddNic {
        nic: Nic,
    },
    /// Remove one NIC (one sub-job of a delete-NICs job).
    DeleteNic {
        port_id: String,
    },
    /// A Nova resize: from a running or stopped server to `VERIFY_RESIZE` with the new flavor,
    /// the old one kept for a revert. `running`: the power state it keeps and returns to.
    ResizeToVerify {
        flavor: FlavorRef,
        previous: FlavorRef,
        running: bool,
    },
    /// Nova's `confirmResize`: keep `flavor` (the new one) and return to ACTIVE or SHUTOFF.
    ConfirmResize {
        flavor: FlavorRef,
        running: bool,
    },
    /// Nova's `revertResize`: back to `flavor` (the previous one).
    RevertResize {
        flavor: FlavorRef,
        running: bool,
    },
    /// Nova's `rebuild`: as [`Operation::RebuildServer`], from a running, stopped or ERROR
    /// server, ending running if it was running (`running`), else stopped.
    NovaRebuild {
        image_id: String,
        key_name: Option<String>,
        running: bool,
    },
}

/// How long simulated work takes. Chosen with `--latency` / `ECSD_LATENCY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LatencyProfile {
    /// No delays: a job finishes as fast as the engine can write it.
    Instant,
    /// Each job spends a visible moment in INIT and RUNNING; well under 2 s in all.
    #[default]
    Fast,
    /// Durations like the real cloud: tens of seconds to create, 15–35 s for power actions.
    Realistic,
}

impl LatencyProfile {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "instant" => Some(LatencyProfile::Instant),
            "fast" => Some(LatencyProfile::Fast),
            "realistic" => Some(LatencyProfile::Realistic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LatencyProfile::Instant => "instant",
            LatencyProfile::Fast => "fast",
            LatencyProfile::Realistic => "realistic",
        }
    }
}

/// The latency the engine schedules new jobs with: a profile, and optionally a fixed duration
/// per job type (its wire name, e.g. `createServer`, `batchRebootServers`) that replaces the
/// profile's total for that type's tasks. Changeable at runtime (`PUT /_ecsd/latency`); a
/// change applies to jobs accepted afterwards (a job's schedule is fixed at acceptance).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LatencySettings {
    pub profile: LatencyProfile,
    /// Job type → how long each of its tasks takes in all, spread over the operation's phases
    /// in the proportions of the profile (of `fast` when the profile is `instant`).
    pub per_operation: std::collections::BTreeMap<String, Duration>,
}

impl LatencySettings {
    pub fn profile(profile: LatencyProfile) -> Self {
        Self {
            profile,
            per_operation: std::collections::BTreeMap::new(),
        }
    }
}

/// A partial update of a server's state. `None` fields are left as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServerPatch {
    pub vm_state: Option<VmState>,
    /// `Some(None)` clears the task state.
    pub task_state: Option<Option<TaskState>>,
    pub power_state: Option<i64>,
    pub progress: Option<i64>,
    /// Stamp `OS-SRV-USG:launched_at` with the time of the step.
    pub mark_launched: bool,
    /// Record a `fault` on the server (only failed creates do).
    pub fault: Option<ServerFault>,
    /// Remove the server: it is gone and answers 404.
    pub remove: bool,
    /// Clear the server's `fault` (a successful rebuild of an `ERROR` server).
    pub clear_fault: bool,
    /// Change the server's document (flavor, host, image, disks, NICs).
    pub doc: Option<DocChange>,
}

/// One step of an operation: wait `delay`, then apply `patch`.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub delay: Duration,
    pub patch: ServerPatch,
}

fn set_task_state(task_state: TaskState) -> ServerPatch {
    ServerPatch {
        task_state: Some(Some(task_state)),
        ..ServerPatch::default()
    }
}

fn settle(vm_state: VmState, power: i64) -> ServerPatch {
    ServerPatch {
        vm_state: Some(vm_state),
        task_state: Some(None),
        power_state: Some(power),
        ..ServerPatch::default()
    }
}

fn power_of(running: bool) -> i64 {
    if running {
        power_state::RUNNING
    } else {
        power_state::SHUTDOWN
    }
}

fn stable_state(running: bool) -> VmState {
    if running {
        VmState::Active
    } else {
        VmState::Stopped
    }
}

fn change_doc(change: DocChange) -> ServerPatch {
    ServerPatch {
        doc: Some(change),
        ..ServerPatch::default()
    }
}

impl Operation {
    /// The phases of this operation. `seed` varies the realistic durations per task (±20 %),
    /// deterministically, so a restarted engine computes the same schedule.
    pub fn phases(&self, profile: LatencyProfile, seed: u64) -> Vec<Phase> {
        let steps: Vec<(ServerPatch, [i64; 2])> = match self {
            // [fast ms, realistic ms] per phase; the first delay is the time spent in INIT.
            Operation::CreateServer => vec![
                (
                    ServerPatch {
                        progress: Some(0),
                        ..set_task_state(TaskState::Scheduling)
                    },
                    [120, 2_000],
                ),
                (
                    ServerPatch {
                        progress: Some(25),
                        ..set_task_state(TaskState::BlockDeviceMapping)
                    },
                    [150, 6_000],
                ),
                (
                    ServerPatch {
                        progress: Some(50),
                        ..set_task_state(TaskState::Networking)
                    },
                    [150, 8_000],
                ),
                (
                    ServerPatch {
                        progress: Some(75),
                        ..set_task_state(TaskState::Spawning)
                    },
                    [150, 12_000],
                ),
                (
                    ServerPatch {
                        progress: Some(100),
                        mark_launched: true,
                        ..settle(VmState::Active, power_state::RUNNING)
                    },
                    [200, 10_000],
                ),
            ],
            Operation::StartServer => vec![
                (set_task_state(TaskState::PoweringOn), [120, 2_000]),
                (settle(VmState::Active, power_state::RUNNING), [300, 18_000]),
            ],
            Operation::StopServer { hard } => vec![
                (set_task_state(TaskState::PoweringOff), [120, 2_000]),
                (
                    settle(VmState::Stopped, power_state::SHUTDOWN),
                    [300, if *hard { 13_000 } else { 20_000 }],
                ),
            ],
            Operation::RebootServer { hard } => {
                let (first, second) = if *hard {
                    (TaskState::RebootingHard, TaskState::RebootStartedHard)
                } else {
                    (TaskState::Rebooting, TaskState::RebootStarted)
                };
                vec![
                    (set_task_state(first), [120, 2_000]),
                    (set_task_state(second), [150, 8_000]),
                    (settle(VmState::Active, power_state::RUNNING), [200, 14_000]),
                ]
            }
            Operation::DeleteServer { .. } => vec![
                (set_task_state(TaskState::Deleting), [120, 2_000]),
                (
                    ServerPatch {
                        remove: true,
                        ..settle(VmState::Deleted, power_state::NOSTATE)
                    },
                    [300, 12_000],
                ),
            ],
            // The v1 resize confirms itself: it never stops in VERIFY_RESIZE (ASYNC-OPERATIONS.md
            // §6 row 19) and ends SHUTOFF with the new flavor.
            Operation::ResizeServer { flavor } => vec![
                (set_task_state(TaskState::ResizePrep), [120, 2_000]),
                (set_task_state(TaskState::ResizeMigrating), [100, 10_000]),
                (set_task_state(TaskState::ResizeMigrated), [100, 8_000]),
                (set_task_state(TaskState::ResizeFinish), [100, 6_000]),
                (
                    ServerPatch {
                        doc: Some(DocChange::Flavor {
                            flavor: flavor.clone(),
                        }),
                        ..settle(VmState::Stopped, power_state::SHUTDOWN)
                    },
                    [150, 4_000],
                ),
            ],
            // No intermediate status is documented; the resize path is ecsd's choice
            // (ASYNC-OPERATIONS.md §2.2 row 11).
            Operation::MigrateServer {
                host,
                dedicated_host_id,
            } => vec![
                (set_task_state(TaskState::ResizePrep), [120, 2_000]),
                (set_task_state(TaskState::ResizeMigrating), [100, 15_000]),
                (set_task_state(TaskState::ResizeMigrated), [100, 8_000]),
                (set_task_state(TaskState::ResizeFinish), [100, 5_000]),
                (
                    ServerPatch {
                        doc: Some(DocChange::Host {
                            host: host.clone(),
                            dedicated_host_id: dedicated_host_id.clone(),
                        }),
                        ..settle(VmState::Stopped, power_state::SHUTDOWN)
                    },
                    [150, 4_000],
                ),
            ],
            Operation::RebuildServer { image_id, key_name } => vec![
                (set_task_state(TaskState::Rebuilding), [120, 2_000]),
                (
                    set_task_state(TaskState::RebuildBlockDeviceMapping),
                    [150, 12_000],
                ),
                (set_task_state(TaskState::RebuildSpawning), [150, 20_000]),
                (
                    ServerPatch {
                        clear_fault: true,
                        progress: Some(100),
                        doc: Some(DocChange::Image {
                            image_id: image_id.clone(),
                            key_name: key_name.clone(),
                        }),
                        ..settle(VmState::Stopped, power_state::SHUTDOWN)
                    },
                    [200, 8_000],
                ),
            ],
            Operation::NovaRebuild {
                image_id,
                key_name,
                running,
            } => vec![
                (set_task_state(TaskState::Rebuilding), [120, 2_000]),
                (
                    set_task_state(TaskState::RebuildBlockDeviceMapping),
                    [150, 12_000],
                ),
                (set_task_state(TaskState::RebuildSpawning), [150, 20_000]),
                (
                    ServerPatch {
                        clear_fault: true,
                        mark_launched: *running,
                        doc: Some(DocChange::Image {
                            image_id: image_id.clone(),
                            key_name: key_name.clone(),
                        }),
                        ..settle(stable_state(*running), power_of(*running))
                    },
                    [200, 8_000],
                ),
            ],
            Operation::ResizeToVerify {
                flavor,
                previous,
                running,
            } => vec![
                (set_task_state(TaskState::ResizePrep), [120, 2_000]),
                (set_task_state(TaskState::ResizeMigrating), [100, 10_000]),
                (set_task_state(TaskState::ResizeMigrated), [100, 8_000]),
                (set_task_state(TaskState::ResizeFinish), [100, 6_000]),
                (
                    ServerPatch {
                        doc: Some(DocChange::ResizeToVerify {
                            flavor: flavor.clone(),
                            previous: previous.clone(),
                        }),
                        ..settle(VmState::Resized, power_of(*running))
                    },
                    [150, 4_000],
                ),
            ],
            Operation::ConfirmResize { flavor, running } => vec![(
                ServerPatch {
                    doc: Some(DocChange::ResizeSettled {
                        flavor: flavor.clone(),
                    }),
                    ..settle(stable_state(*running), power_of(*running))
                },
                [100, 2_000],
            )],
            Operation::RevertResize { flavor, running } => vec![
                (set_task_state(TaskState::ResizeReverting), [120, 2_000]),
                (
                    ServerPatch {
                        doc: Some(DocChange::ResizeSettled {
                            flavor: flavor.clone(),
                        }),
                        ..settle(stable_state(*running), power_of(*running))
                    },
                    [200, 8_000],
                ),
            ],
            // Disk and NIC jobs leave the server's status alone: a first step marks the job
            // RUNNING, the second makes the change visible.
            Operation::AttachVolume { volume } => vec![
                (ServerPatch::default(), [120, 2_000]),
                (
                    change_doc(DocChange::AttachVolume {
                        volume: volume.clone(),
                    }),
                    [300, 8_000],
                ),
            ],
            Operation::DetachVolume { volume_id } => vec![
                (ServerPatch::default(), [120, 2_000]),
                (
                    change_doc(DocChange::DetachVolume {
                        volume_id: volume_id.clone(),
                    }),
                    [300, 6_000],
                ),
            ],
            Operation::AddNic { nic } => vec![
                (ServerPatch::default(), [120, 2_000]),
                (
                    change_doc(DocChange::AddNic { nic: nic.clone() }),
                    [300, 6_000],
                ),
            ],
            Operation::DeleteNic { port_id } => vec![
                (ServerPatch::default(), [120, 2_000]),
                (
                    change_doc(DocChange::RemoveNic {
                        port_id: port_id.clone(),
                    }),
                    [300, 5_000],
                ),
            ],
        };
        steps
            .into_iter()
            .enumerate()
            .map(|(index, (patch, [fast_ms, realistic_ms]))| Phase {
                delay: match profile {
                    LatencyProfile::Instant => Duration::ZERO,
                    LatencyProfile::Fast => Duration::milliseconds(fast_ms),
                    LatencyProfile::Realistic => {
                        Duration::milliseconds(jitter(realistic_ms, seed, index as u64))
                    }
                },
                patch,
            })
            .collect()
    }

    /// What a failure at any step leaves the server as. A failed create leaves an `ERROR` server
    /// with a `fault`; a failed power action or delete leaves the server as it was before.
    ///
    /// A failed resize or migration leaves the server `SHUTOFF` with its old flavor and host; a
    /// failed rebuild leaves it `ERROR` with a `fault` (from which a new reinstall or change of
    /// OS may start, as the reference allows); a failed disk or NIC job changes nothing.
    pub fn failure_patch(&self, fault: ServerFault) -> ServerPatch {
        match self {
            Operation::CreateServer => ServerPatch {
                fault: Some(fault),
                ..settle(VmState::Error, power_state::NOSTATE)
            },
            Operation::StartServer
            | Operation::ResizeServer { .. }
            | Operation::MigrateServer { .. } => settle(VmState::Stopped, power_state::SHUTDOWN),
            Operation::StopServer { .. } | Operation::RebootServer { .. } => {
                settle(VmState::Active, power_state::RUNNING)
            }
            Operation::DeleteServer { .. } => ServerPatch {
                task_state: Some(None),
                ..ServerPatch::default()
            },
            Operation::RebuildServer { .. } | Operation::NovaRebuild { .. } => ServerPatch {
                fault: Some(fault),
                ..settle(VmState::Error, power_state::SHUTDOWN)
            },
            Operation::AttachVolume { .. }
            | Operation::DetachVolume { .. }
            | Operation::AddNic { .. }
            | Operation::DeleteNic { .. } => ServerPatch::default(),
            // A failed Nova resize leaves the server as it was; a failed confirm or revert
            // leaves it waiting in VERIFY_RESIZE.
            Operation::ResizeToVerify { running, .. } => {
                settle(stable_state(*running), power_of(*running))
            }
            Operation::ConfirmResize { running, .. } | Operation::RevertResize { running, .. } => {
                settle(VmState::Resized, power_of(*running))
            }
        }
    }

    /// The NIC a task acts on (shown as the sub-job's `entities.nic_id`).
    pub fn nic_id(&self) -> Option<&str> {
        match self {
            Operation::AddNic { nic } => Some(&nic.port_id),
            Operation::DeleteNic { port_id } => Some(port_id),
            _ => None,
        }
    }

    /// The error code a failure of this operation reports, when the fault names none
    /// (`appendix/error_codes.rst`, group H of ASYNC-OPERATIONS.md §4.3).
    pub fn default_error_code(&self) -> &'static str {
        match self {
            Operation::CreateServer => "Ecs.0204",
            Operation::DeleteServer { .. } => "Ecs.0501",
            Operation::StartServer => "Ecs.0226",
            Operation::StopServer { .. } => "Ecs.0611",
            Operation::RebootServer { .. } => "Ecs.0227",
            Operation::ResizeServer { .. } => "Ecs.0207",
            Operation::MigrateServer { .. } => "Ecs.1001",
            Operation::RebuildServer { .. } | Operation::NovaRebuild { .. } => "Ecs.1002",
            Operation::AttachVolume { .. } => "Ecs.0205",
            Operation::DetachVolume { .. } => "Ecs.1002",
            Operation::AddNic { .. } => "Ecs.0217",
            Operation::DeleteNic { .. } => "Ecs.0507",
            Operation::ResizeToVerify { .. }
            | Operation::ConfirmResize { .. }
            | Operation::RevertResize { .. } => "Ecs.0207",
        }
    }
}

/// `base_ms` varied by up to ±20 %, deterministically from `seed` and the phase number.
fn jitter(base_ms: i64, seed: u64, phase: u64) -> i64 {
    // SplitMix64: a well-mixed hash of (seed, phase) without a crate.
    let mut x = seed ^ phase.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let permille = (x % 401) as i64 - 200; // -200..=200
    base_ms + base_ms * permille / 1000
}

/// A seed for [`Operation::phases`] from a task id.
pub fn seed_of(task_id: &str) -> u64 {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    task_id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{PowerTriple, ServerStatus};

    fn all_operations() -> Vec<Operation> {
        vec![
            Operation::CreateServer,
            Operation::StartServer,
            Operation::StopServer { hard: false },
            Operation::StopServer { hard: true },
            Operation::RebootServer { hard: false },
            Operation::RebootServer { hard: true },
            Operation::DeleteServer {
                delete_volume: false,
                delete_publicip: None,
            },
            Operation::ResizeServer {
                flavor: FlavorRef::default(),
            },
            Operation::MigrateServer {
                host: "h".into(),
                dedicated_host_id: None,
            },
            Operation::RebuildServer {
                image_id: "i".into(),
                key_name: None,
            },
            Operation::AttachVolume {
                volume: Volume {
                    id: "v".into(),
                    device: "/dev/vdb".into(),
                    boot_index: None,
                    size_gib: 10,
                    volume_type: "SSD".into(),
                    delete_on_termination: false,
                },
            },
            Operation::DetachVolume {
                volume_id: "v".into(),
            },
            Operation::AddNic {
                nic: Nic {
                    port_id: "p".into(),
                    subnet_id: "s".into(),
                    ip_address: "192.168.0.3".into(),
                    mac_address: "fa:16:3e:00:00:03".into(),
                    primary: false,
                },
            },
            Operation::DeleteNic {
                port_id: "p".into(),
            },
        ]
    }

    fn total(operation: &Operation, profile: LatencyProfile, seed: u64) -> Duration {
        operation
            .phases(profile, seed)
            .iter()
            .map(|phase| phase.delay)
            .sum()
    }

    fn apply(state: &mut PowerTriple, patch: &ServerPatch) {
        if let Some(vm_state) = patch.vm_state {
            state.vm_state = vm_state;
        }
        if let Some(task_state) = patch.task_state {
            state.task_state = task_state;
        }
        if let Some(power) = patch.power_state {
            state.power_state = power;
        }
    }

    /// The statuses a client sees while `operation` runs from `start`.
    fn walk(operation: Operation, start: PowerTriple) -> Vec<&'static str> {
        let mut state = start;
        operation
            .phases(LatencyProfile::Fast, 1)
            .iter()
            .map(|phase| {
                apply(&mut state, &phase.patch);
                state.status().as_str()
            })
            .collect()
    }

    #[test]
    fn instant_profile_has_no_delays() {
        for operation in all_operations() {
            assert_eq!(
                total(&operation, LatencyProfile::Instant, 7),
                Duration::ZERO
            );
        }
    }

    #[test]
    fn fast_profile_shows_each_job_in_init_and_finishes_under_two_seconds() {
        for operation in all_operations() {
            let phases = operation.phases(LatencyProfile::Fast, 7);
            assert!(phases[0].delay > Duration::ZERO, "{operation:?} skips INIT");
            assert!(total(&operation, LatencyProfile::Fast, 7) < Duration::seconds(2));
        }
    }

    #[test]
    fn realistic_profile_takes_cloud_like_durations() {
        for seed in [1, 2, 3, 99, u64::MAX] {
            let create = total(&Operation::CreateServer, LatencyProfile::Realistic, seed);
            assert!(
                create >= Duration::seconds(20) && create <= Duration::seconds(60),
                "{create}"
            );
            for power in [
                Operation::StartServer,
                Operation::StopServer { hard: false },
            ] {
                let took = total(&power, LatencyProfile::Realistic, seed);
                assert!(
                    took >= Duration::seconds(15) && took <= Duration::seconds(35),
                    "{took}"
                );
            }
        }
    }

    #[test]
    fn realistic_durations_are_deterministic_per_seed() {
        let a = Operation::CreateServer.phases(LatencyProfile::Realistic, seed_of("abc"));
        let b = Operation::CreateServer.phases(LatencyProfile::Realistic, seed_of("abc"));
        assert_eq!(a, b);
    }

    #[test]
    fn create_goes_through_build_to_active() {
        let start = PowerTriple {
            vm_state: VmState::Building,
            task_state: Some(TaskState::Scheduling),
            power_state: power_state::NOSTATE,
        };
        assert_eq!(
            walk(Operation::CreateServer, start),
            ["BUILD", "BUILD", "BUILD", "BUILD", "ACTIVE"]
        );
    }

    #[test]
    fn power_actions_show_the_documented_intermediate_statuses() {
        let active = PowerTriple {
            vm_state: VmState::Active,
            task_state: None,
            power_state: power_state::RUNNING,
        };
        let stopped = PowerTriple {
            vm_state: VmState::Stopped,
            task_state: None,
            power_state: power_state::SHUTDOWN,
        };
        assert_eq!(
            walk(Operation::StopServer { hard: false }, active),
            ["ACTIVE", "SHUTOFF"]
        );
        assert_eq!(walk(Operation::StartServer, stopped), ["SHUTOFF", "ACTIVE"]);
        assert_eq!(
            walk(Operation::RebootServer { hard: false }, active),
            ["REBOOT", "REBOOT", "ACTIVE"]
        );
        assert_eq!(
            walk(Operation::RebootServer { hard: true }, active),
            ["HARD_REBOOT", "HARD_REBOOT", "ACTIVE"]
        );
        let delete = Operation::DeleteServer {
            delete_volume: true,
            delete_publicip: None,
        };
        assert_eq!(walk(delete, stopped), ["SHUTOFF", "DELETED"]);
    }

    #[test]
    fn resize_and_rebuild_show_their_documented_statuses_and_end_shutoff() {
        let stopped = PowerTriple {
            vm_state: VmState::Stopped,
            task_state: None,
            power_state: power_state::SHUTDOWN,
        };
        let error = PowerTriple {
            vm_state: VmState::Error,
            ..stopped
        };
        let resize = Operation::ResizeServer {
            flavor: FlavorRef::default(),
        };
        assert_eq!(
            walk(resize, stopped),
            ["RESIZE", "RESIZE", "RESIZE", "RESIZE", "SHUTOFF"]
        );
        let rebuild = Operation::RebuildServer {
            image_id: "i".into(),
            key_name: None,
        };
        assert_eq!(
            walk(rebuild.clone(), stopped),
            ["REBUILD", "REBUILD", "REBUILD", "SHUTOFF"]
        );
        assert_eq!(
            walk(rebuild, error),
            ["REBUILD", "REBUILD", "REBUILD", "SHUTOFF"],
            "a failed rebuild may be retried from ERROR"
        );
        let attach = Operation::DetachVolume {
            volume_id: "v".into(),
        };
        assert_eq!(walk(attach, stopped), ["SHUTOFF", "SHUTOFF"]);
    }

    #[test]
    fn only_the_last_phase_changes_the_document() {
        for operation in all_operations() {
            let phases = operation.phases(LatencyProfile::Fast, 1);
            let (last, earlier) = phases.split_last().expect("phases");
            assert!(
                earlier.iter().all(|phase| phase.patch.doc.is_none()),
                "{operation:?}"
            );
            let changes_doc = !matches!(
                operation,
                Operation::CreateServer
                    | Operation::StartServer
                    | Operation::StopServer { .. }
                    | Operation::RebootServer { .. }
                    | Operation::DeleteServer { .. }
            );
            assert_eq!(last.patch.doc.is_some(), changes_doc, "{operation:?}");
        }
    }

    #[test]
    fn failed_create_leaves_an_error_server_with_a_fault() {
        let fault = ServerFault {
            code: "Ecs.0204".into(),
            message: "boom".into(),
            created: 0,
        };
        let patch = Operation::CreateServer.failure_patch(fault.clone());
        let mut state = PowerTriple {
            vm_state: VmState::Building,
            task_state: Some(TaskState::Networking),
            power_state: 0,
        };
        apply(&mut state, &patch);
        assert_eq!(state.status(), ServerStatus::Error);
        assert_eq!(patch.fault, Some(fault));
    }

    #[test]
    fn operations_round_trip_through_json() {
        for operation in all_operations() {
            let text = serde_json::to_string(&operation).expect("serializes");
            assert_eq!(
                serde_json::from_str::<Operation>(&text).expect("parses"),
                operation
            );
        }
    }

    #[test]
    fn profiles_parse_from_and_print_as_their_names() {
        for (name, profile) in [
            ("instant", LatencyProfile::Instant),
            ("fast", LatencyProfile::Fast),
            ("realistic", LatencyProfile::Realistic),
        ] {
            assert_eq!(LatencyProfile::parse(name), Some(profile));
            assert_eq!(profile.as_str(), name);
            let settings = LatencySettings::profile(profile);
            assert_eq!(settings.profile, profile);
            assert!(settings.per_operation.is_empty());
        }
        for unknown in ["", "Fast", "slow", "instant "] {
            assert_eq!(LatencyProfile::parse(unknown), None, "{unknown:?}");
        }
    }

    #[test]
    fn each_operation_names_its_nic_and_its_default_error_code() {
        let operations = all_operations();
        let codes: Vec<(Option<&str>, &str)> = operations
            .iter()
            .map(|operation| (operation.nic_id(), operation.default_error_code()))
            .collect();
        assert_eq!(
            codes,
            [
                (None, "Ecs.0204"),
                (None, "Ecs.0226"),
                (None, "Ecs.0611"),
                (None, "Ecs.0611"),
                (None, "Ecs.0227"),
                (None, "Ecs.0227"),
                (None, "Ecs.0501"),
                (None, "Ecs.0207"),
                (None, "Ecs.1001"),
                (None, "Ecs.1002"),
                (None, "Ecs.0205"),
                (None, "Ecs.1002"),
                (Some("p"), "Ecs.0217"),
                (Some("p"), "Ecs.0507"),
            ]
        );
    }

    #[test]
    fn failures_leave_the_server_in_the_documented_state() {
        let fault = ServerFault {
            code: "500".into(),
            message: "Ecs.0204: no capacity".into(),
            created: 1_800_000_000_000,
        };
        let create = Operation::CreateServer.failure_patch(fault.clone());
        assert_eq!(create.vm_state, Some(VmState::Error));
        assert_eq!(create.task_state, Some(None));
        assert_eq!(create.power_state, Some(power_state::NOSTATE));
        assert_eq!(create.fault.as_ref(), Some(&fault));
        let stop = Operation::StopServer { hard: false }.failure_patch(fault.clone());
        assert_eq!(
            (stop.vm_state, stop.power_state, stop.fault),
            (Some(VmState::Active), Some(power_state::RUNNING), None)
        );
        let rebuild = Operation::RebuildServer {
            image_id: "i".into(),
            key_name: None,
        }
        .failure_patch(fault.clone());
        assert_eq!(
            (rebuild.vm_state, rebuild.power_state),
            (Some(VmState::Error), Some(power_state::SHUTDOWN))
        );
        assert_eq!(rebuild.fault.as_ref(), Some(&fault));
        let delete = Operation::DeleteServer {
            delete_volume: false,
            delete_publicip: None,
        }
        .failure_patch(fault.clone());
        assert_eq!(delete.task_state, Some(None));
        assert_eq!(delete.vm_state, None);
        for running in [true, false] {
            let power = if running {
                power_state::RUNNING
            } else {
                power_state::SHUTDOWN
            };
            assert_eq!(power_of(running), power);
            let confirm = Operation::ConfirmResize {
                running,
                flavor: FlavorRef::default(),
            }
            .failure_patch(fault.clone());
            assert_eq!(confirm.vm_state, Some(VmState::Resized));
            assert_eq!(confirm.power_state, Some(power));
        }
    }

    /// The schedules are reproducible (a realistic run is seeded per second of acceptance):
    /// these values pin the hash, and the spread stays within ±20 % both ways.
    #[test]
    fn jitter_and_seeds_are_fixed_functions_of_their_inputs() {
        assert_eq!(jitter(1000, 0, 0), 800);
        assert_eq!(jitter(1000, 1, 0), 1134);
        assert_eq!(jitter(12_345, 1, 0), 13_999);
        assert_eq!(jitter(1000, 1, 1), 1000);
        assert_eq!(jitter(1000, 42, 3), 1020);
        assert_eq!(jitter(12_345, 0xdead_beef, 7), 10_765);
        let spread: Vec<i64> = (0..2_000).map(|seed| jitter(1000, seed, 2)).collect();
        assert!(spread.iter().all(|ms| (800..=1200).contains(ms)));
        assert!(spread.iter().any(|ms| *ms < 820) && spread.iter().any(|ms| *ms > 1180));
        assert_eq!(seed_of(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(seed_of("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(seed_of("job-1/0"), 0xf67a_5efe_fc3d_5031);
    }
}
