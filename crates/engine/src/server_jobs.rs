//! Jobs on one existing server: resize, cold migrate, reinstall and change OS, attach and detach
//! a disk, add and delete NICs.
//!
//! Each is planned from the server as read: the checks that depend on its document (is the
//! flavor different, which device is free, is that NIC the primary one) and the decisions the
//! steps will apply (device names, port ids, MACs, addresses) are made here and stored in the
//! task's [`Operation`], so steps stay a pure function of (operation, step). "Every check
//! before any write" is a function boundary: [`ServerJob::check`] is pure (a
//! [`CheckedServerJob`] or a [`Rejection`]), and only [`Engine::server_job_insert`] turns its
//! result into the job's writes. The insert then requires the server to be unchanged since
//! that read (`Precondition::unchanged_since`); if another job changed it in between, the job
//! is planned again.

use crate::clock::to_unix_ms;
use crate::compute::{seed_of, Operation};
use crate::engine::{device_letter, invented_ip, invented_mac, new_job, Accepted, NicRequest};
use crate::engine::{Engine, SubmitError};
use crate::job::{IdSource, JobKind};
use crate::quota::{QuotaCheck, Quotas, Usage};
use crate::server::{FlavorRef, Nic, ServerRecord, VmState, Volume};
use crate::store::{JobInsert, Precondition, Rejection, Reservation};
use std::collections::HashSet;

/// Most NICs a server may have (`creating_ecss.rst`: 12).
pub const MAX_NICS: usize = 12;
/// Most data disks a server may have (`creating_ecss.rst`: 59).
pub const MAX_DATA_VOLUMES: usize = 59;
/// The size given to a disk attached by id: ecsd has no block storage service to ask.
pub const ATTACHED_VOLUME_GIB: i64 = 10;

/// A job on one server, validated for shape by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerJob {
    /// `POST …/resize`: the target flavor (known to exist).
    Resize { flavor: FlavorRef },
    /// `POST …/migrate`: to a dedicated host, or (`None`) to the public pool.
    Migrate { dedicated_host_id: Option<String> },
    /// `POST /v2/…/reinstallos`: the same image again.
    ReinstallOs { key_name: Option<String> },
    /// `POST /v2/…/changeos`: a new image.
    ChangeOs {
        image_id: String,
        key_name: Option<String>,
    },
    /// `POST …/attachvolume`: `device` as sent (normalised here).
    AttachVolume {
        volume_id: String,
        device: Option<String>,
        volume_type: Option<String>,
    },
    /// `DELETE …/detachvolume/{volume_id}`.
    DetachVolume { volume_id: String },
    /// `POST …/nics`.
    AddNics { nics: Vec<NicRequest> },
    /// `POST …/nics/delete`: port ids, without duplicates.
    DeleteNics { port_ids: Vec<String> },
    /// Nova's `resize` action: to `VERIFY_RESIZE`, from a running or stopped server.
    NovaResize { flavor: FlavorRef },
    /// Nova's `confirmResize`.
    NovaConfirmResize,
    /// Nova's `revertResize`.
    NovaRevertResize,
    /// Nova's `rebuild`: `image_id` (the same or another image).
    NovaRebuild {
        image_id: String,
        key_name: Option<String>,
    },
}

/// A server job that passed every check against the server as read: what the accept
/// transaction will write, and what it must find unchanged. Made by [`ServerJob::check`]
/// without touching the store; turned into writes by [`Engine::server_job_insert`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CheckedServerJob {
    kind: JobKind,
    server_id: String,
    /// The states the accept transaction requires the server still to be in.
    allowed_vm_states: &'static [VmState],
    /// The server's `updated_at` when it was read: the plan holds only if it is unchanged.
    read_at: i64,
    /// One task each, in order.
    operations: Vec<Operation>,
    reservations: Vec<Reservation>,
    /// What the job adds to the project's usage, for the quota check at acceptance.
    demand: Usage,
}

/// What one kind of server job will do: its kind, its tasks' operations, its reservations.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    kind: JobKind,
    /// One task each, in order.
    operations: Vec<Operation>,
    reservations: Vec<Reservation>,
}

impl Plan {
    /// A job of one task that reserves nothing.
    fn single(kind: JobKind, operation: Operation) -> Self {
        Self {
            kind,
            operations: vec![operation],
            reservations: Vec::new(),
        }
    }
}

impl ServerJob {
    /// The stable states the server must be in (ASYNC-OPERATIONS.md §2.2): resize and migrate
    /// need it stopped; reinstall and change OS also take a server whose earlier rebuild failed
    /// (ERROR); disks and NICs change on a running or stopped server, except that the system
    /// disk is detached only from a stopped one.
    pub fn allowed_vm_states(&self, server: &ServerRecord) -> &'static [VmState] {
        match self {
            ServerJob::Resize { .. } | ServerJob::Migrate { .. } => &[VmState::Stopped],
            ServerJob::ReinstallOs { .. } | ServerJob::ChangeOs { .. } => {
                &[VmState::Stopped, VmState::Error]
            }
            ServerJob::DetachVolume { volume_id }
                if server
                    .doc
                    .volumes
                    .iter()
                    .any(|volume| volume.id == *volume_id && volume.boot_index == Some(0)) =>
            {
                &[VmState::Stopped]
            }
            ServerJob::AttachVolume { .. }
            | ServerJob::DetachVolume { .. }
            | ServerJob::AddNics { .. }
            | ServerJob::DeleteNics { .. }
            | ServerJob::NovaResize { .. } => &[VmState::Active, VmState::Stopped],
            ServerJob::NovaConfirmResize | ServerJob::NovaRevertResize => &[VmState::Resized],
            ServerJob::NovaRebuild { .. } => &[VmState::Active, VmState::Stopped, VmState::Error],
        }
    }

    /// Every check of this job against `server` as read, in the order a client sees them: no
    /// other job holds it, it is in a state the job allows, then what the job itself requires
    /// of its document. Pure: reads nothing and writes nothing, so a refusal leaves no trace.
    /// The ids a plan invents (ports, hosts) come from `ids` at `at`.
    pub(crate) fn check(
        &self,
        server: &ServerRecord,
        at: time::OffsetDateTime,
        ids: &IdSource,
    ) -> Result<CheckedServerJob, Rejection> {
        if let Some(job_id) = &server.busy_job_id {
            return Err(Rejection::ServerBusy {
                server_id: server.id.clone(),
                job_id: job_id.clone(),
            });
        }
        let allowed_vm_states = self.allowed_vm_states(server);
        if server.state.task_state.is_some() || !allowed_vm_states.contains(&server.state.vm_state)
        {
            return Err(Rejection::ServerWrongState {
                server_id: server.id.clone(),
                status: server.state.status().as_str(),
            });
        }
        let plan = self.plan(server, at, ids)?;
        let demand = operations_demand(&plan.operations, &server.doc.flavor);
        Ok(CheckedServerJob {
            kind: plan.kind,
            server_id: server.id.clone(),
            allowed_vm_states,
            read_at: server.updated_at,
            operations: plan.operations,
            reservations: plan.reservations,
            demand,
        })
    }

    /// The checks that depend on the job's kind, and its plan.
    fn plan(
        &self,
        server: &ServerRecord,
        at: time::OffsetDateTime,
        ids: &IdSource,
    ) -> Result<Plan, Rejection> {
        match self {
            ServerJob::Resize { flavor } => plan_resize(server, flavor, ResizeTo::Done),
            ServerJob::NovaResize { flavor } => plan_resize(server, flavor, ResizeTo::Verify),
            ServerJob::Migrate { dedicated_host_id } => {
                plan_migrate(server, dedicated_host_id.as_ref(), at, ids)
            }
            ServerJob::ReinstallOs { key_name } => {
                let image_id = server.doc.image_id.clone();
                plan_rebuild(server, JobKind::ReinstallOs, image_id, key_name)
            }
            ServerJob::ChangeOs { image_id, key_name } => {
                plan_rebuild(server, JobKind::ChangeOs, image_id.clone(), key_name)
            }
            ServerJob::AttachVolume {
                volume_id,
                device,
                volume_type,
            } => plan_attach_volume(server, volume_id, device.as_deref(), volume_type.as_ref()),
            ServerJob::DetachVolume { volume_id } => plan_detach_volume(server, volume_id),
            ServerJob::AddNics { nics } => plan_add_nics(server, nics, at, ids),
            ServerJob::DeleteNics { port_ids } => plan_delete_nics(server, port_ids),
            ServerJob::NovaRebuild { image_id, key_name } => {
                plan_nova_rebuild(server, image_id, key_name)
            }
            ServerJob::NovaConfirmResize => Ok(plan_resize_end(server, ResizeEnd::Confirm)),
            ServerJob::NovaRevertResize => Ok(plan_resize_end(server, ResizeEnd::Revert)),
        }
    }
}

fn has_system_disk(server: &ServerRecord) -> bool {
    server
        .doc
        .volumes
        .iter()
        .any(|volume| volume.boot_index == Some(0))
}

/// Where a resize ends: done (ECS) or in `VERIFY_RESIZE` (Nova).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResizeTo {
    Done,
    Verify,
}

/// Resize: to another flavor of the same family.
fn plan_resize(server: &ServerRecord, flavor: &FlavorRef, to: ResizeTo) -> Result<Plan, Rejection> {
    let doc = &server.doc;
    if flavor.id == doc.flavor.id {
        return Err(Rejection::SameFlavor {
            server_id: server.id.clone(),
            flavor_id: flavor.id.clone(),
        });
    }
    // The rule of `FlavorCatalogue::resize_targets`: the same family.
    let family = |name: &str| name.split('.').next().unwrap_or_default().to_owned();
    if family(&flavor.name) != family(&doc.flavor.name) {
        return Err(Rejection::FlavorNotAllowed {
            server_id: server.id.clone(),
            from: doc.flavor.id.clone(),
            to: flavor.id.clone(),
        });
    }
    Ok(match to {
        ResizeTo::Verify => Plan::single(
            JobKind::NovaResize,
            Operation::ResizeToVerify {
                flavor: flavor.clone(),
                previous: doc.flavor.clone(),
                running: server.state.vm_state == VmState::Active,
            },
        ),
        ResizeTo::Done => Plan::single(
            JobKind::ResizeServer,
            Operation::ResizeServer {
                flavor: flavor.clone(),
            },
        ),
    })
}

/// Cold migration: to another host of the public pool, or to a dedicated host.
fn plan_migrate(
    server: &ServerRecord,
    dedicated_host_id: Option<&String>,
    at: time::OffsetDateTime,
    ids: &IdSource,
) -> Result<Plan, Rejection> {
    let doc = &server.doc;
    if dedicated_host_id.is_some() && dedicated_host_id == doc.dedicated_host_id.as_ref() {
        return Err(Rejection::SameDedicatedHost {
            server_id: server.id.clone(),
            dedicated_host_id: dedicated_host_id.cloned().unwrap_or_default(),
        });
    }
    // Anti-affinity does not apply on dedicated hosts (the create page's
    // constraint), so a group member stays in the public pool.
    if dedicated_host_id.is_some() && doc.server_group_id.is_some() {
        return Err(Rejection::AntiAffinityOnDedicatedHost {
            server_id: server.id.clone(),
        });
    }
    let current = doc.host.clone().unwrap_or_default();
    let mut seed = seed_of(&ids.job_id(at));
    let host = loop {
        let candidate = match dedicated_host_id {
            Some(deh) => format!(
                "deh-{}-{:02x}",
                deh.chars().take(8).collect::<String>(),
                seed % 256
            ),
            None => format!("{}-host-{:04x}", doc.availability_zone, seed % 65_536),
        };
        if candidate != current {
            break candidate;
        }
        seed = seed.wrapping_add(1);
    };
    Ok(Plan::single(
        JobKind::MigrateServer,
        Operation::MigrateServer {
            host,
            dedicated_host_id: dedicated_host_id.cloned(),
        },
    ))
}

/// Reinstall (the same image) and change OS (`image_id`): the server needs a system disk.
fn plan_rebuild(
    server: &ServerRecord,
    kind: JobKind,
    image_id: String,
    key_name: &Option<String>,
) -> Result<Plan, Rejection> {
    if !has_system_disk(server) {
        return Err(Rejection::NoSystemDisk {
            server_id: server.id.clone(),
        });
    }
    Ok(Plan::single(
        kind,
        Operation::RebuildServer {
            image_id,
            key_name: key_name.clone(),
        },
    ))
}

/// Attach a disk: not attached yet, on the device asked for (free) or the first free one.
fn plan_attach_volume(
    server: &ServerRecord,
    volume_id: &str,
    device: Option<&str>,
    volume_type: Option<&String>,
) -> Result<Plan, Rejection> {
    let doc = &server.doc;
    let server_id = || server.id.clone();
    if doc.volumes.iter().any(|volume| volume.id == volume_id) {
        return Err(Rejection::VolumeAlreadyAttached {
            volume_id: volume_id.to_owned(),
            server_id: server_id(),
        });
    }
    let in_use: HashSet<&str> = doc
        .volumes
        .iter()
        .map(|volume| volume.device.as_str())
        .collect();
    let device = match device {
        Some(device) => {
            let device = kvm_device_name(device);
            let system = device == "/dev/vda";
            if in_use.contains(device.as_str()) || (system && has_system_disk(server)) {
                return Err(Rejection::DeviceInUse {
                    server_id: server_id(),
                    device,
                });
            }
            device
        }
        None => (1..=MAX_DATA_VOLUMES)
            .map(|index| format!("/dev/vd{}", device_letter(index)))
            .find(|device| !in_use.contains(device.as_str()))
            .ok_or_else(|| Rejection::NoFreeDiskSlot {
                server_id: server_id(),
            })?,
    };
    let data_disks = doc
        .volumes
        .iter()
        .filter(|volume| volume.boot_index != Some(0))
        .count();
    let system = device == "/dev/vda";
    if !system && data_disks >= MAX_DATA_VOLUMES {
        return Err(Rejection::NoFreeDiskSlot {
            server_id: server_id(),
        });
    }
    let volume = Volume {
        id: volume_id.to_owned(),
        device,
        boot_index: system.then_some(0),
        size_gib: ATTACHED_VOLUME_GIB,
        volume_type: volume_type.cloned().unwrap_or_else(|| "SSD".to_owned()),
        delete_on_termination: false,
    };
    Ok(Plan {
        kind: JobKind::AttachVolume,
        operations: vec![Operation::AttachVolume { volume }],
        reservations: vec![Reservation::Volume {
            volume_id: volume_id.to_owned(),
        }],
    })
}

/// Detach a disk: it must be attached.
fn plan_detach_volume(server: &ServerRecord, volume_id: &str) -> Result<Plan, Rejection> {
    if !server
        .doc
        .volumes
        .iter()
        .any(|volume| volume.id == volume_id)
    {
        return Err(Rejection::VolumeNotAttached {
            volume_id: volume_id.to_owned(),
            server_id: server.id.clone(),
        });
    }
    Ok(Plan::single(
        JobKind::DetachVolume,
        Operation::DetachVolume {
            volume_id: volume_id.to_owned(),
        },
    ))
}

/// Add NICs: within [`MAX_NICS`], each with a port id, a MAC and an address free on its
/// subnet (the one asked for, reserved, or an invented one).
fn plan_add_nics(
    server: &ServerRecord,
    nics: &[NicRequest],
    at: time::OffsetDateTime,
    ids: &IdSource,
) -> Result<Plan, Rejection> {
    let doc = &server.doc;
    let count = doc.nics.len() + nics.len();
    if count > MAX_NICS {
        return Err(Rejection::TooManyNics {
            server_id: server.id.clone(),
            count,
            max: MAX_NICS,
        });
    }
    let mut taken: HashSet<(String, String)> = doc
        .nics
        .iter()
        .map(|nic| (nic.subnet_id.clone(), nic.ip_address.clone()))
        .collect();
    let mut operations = Vec::with_capacity(nics.len());
    let mut reservations = Vec::new();
    for request in nics {
        let port_id = ids.server_id(at);
        let mut seed = seed_of(&port_id);
        let ip_address = match &request.ip_address {
            Some(ip) => {
                if taken.contains(&(request.subnet_id.clone(), ip.clone())) {
                    return Err(Rejection::IpInUse {
                        subnet_id: request.subnet_id.clone(),
                        ip_address: ip.clone(),
                        server_id: server.id.clone(),
                    });
                }
                reservations.push(Reservation::FixedIp {
                    subnet_id: request.subnet_id.clone(),
                    ip_address: ip.clone(),
                });
                ip.clone()
            }
            None => loop {
                let candidate = invented_ip(seed);
                if !taken.contains(&(request.subnet_id.clone(), candidate.clone())) {
                    break candidate;
                }
                seed = seed.wrapping_mul(31).wrapping_add(7);
            },
        };
        taken.insert((request.subnet_id.clone(), ip_address.clone()));
        operations.push(Operation::AddNic {
            nic: Nic {
                port_id,
                subnet_id: request.subnet_id.clone(),
                ip_address,
                mac_address: invented_mac(seed),
                primary: false,
            },
        });
    }
    Ok(Plan {
        kind: JobKind::AddNics,
        operations,
        reservations,
    })
}

/// Delete NICs: each must be the server's, and not its primary one.
fn plan_delete_nics(server: &ServerRecord, port_ids: &[String]) -> Result<Plan, Rejection> {
    let mut operations = Vec::with_capacity(port_ids.len());
    for port_id in port_ids {
        let Some(nic) = server.doc.nics.iter().find(|nic| nic.port_id == *port_id) else {
            return Err(Rejection::NicNotFound {
                server_id: server.id.clone(),
                port_id: port_id.clone(),
            });
        };
        if nic.primary {
            return Err(Rejection::PrimaryNic {
                server_id: server.id.clone(),
                port_id: port_id.clone(),
            });
        }
        operations.push(Operation::DeleteNic {
            port_id: port_id.clone(),
        });
    }
    Ok(Plan {
        kind: JobKind::DeleteNics,
        operations,
        reservations: Vec::new(),
    })
}

/// Nova's rebuild: the server needs a system disk; it comes back running if it was.
fn plan_nova_rebuild(
    server: &ServerRecord,
    image_id: &str,
    key_name: &Option<String>,
) -> Result<Plan, Rejection> {
    if !has_system_disk(server) {
        return Err(Rejection::NoSystemDisk {
            server_id: server.id.clone(),
        });
    }
    Ok(Plan::single(
        JobKind::NovaRebuild,
        Operation::NovaRebuild {
            image_id: image_id.to_owned(),
            key_name: key_name.clone(),
            running: server.state.vm_state == VmState::Active,
        },
    ))
}

/// How Nova ends a resize in `VERIFY_RESIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ResizeEnd {
    Confirm,
    Revert,
}

/// Confirm (keep the new flavor) or revert (back to the previous one); nothing to refuse past
/// the state check.
fn plan_resize_end(server: &ServerRecord, end: ResizeEnd) -> Plan {
    let doc = &server.doc;
    let running = server.state.power_state == crate::server::power_state::RUNNING;
    match end {
        ResizeEnd::Confirm => Plan::single(
            JobKind::NovaConfirmResize,
            Operation::ConfirmResize {
                flavor: doc.flavor.clone(),
                running,
            },
        ),
        ResizeEnd::Revert => Plan::single(
            JobKind::NovaRevertResize,
            Operation::RevertResize {
                // A server resized before ecsd kept the previous flavor stays as it is.
                flavor: doc.resize_previous.clone().unwrap_or(doc.flavor.clone()),
                running,
            },
        ),
    }
}

/// KVM device names (`attaching_a_disk_to_an_ecs.rst`): `/dev/sdX` and `/dev/xvdX` become
/// `/dev/vdX`. ecsd's flavors are all KVM.
pub fn kvm_device_name(device: &str) -> String {
    for prefix in ["/dev/sd", "/dev/xvd"] {
        if let Some(letters) = device.strip_prefix(prefix) {
            return format!("/dev/vd{letters}");
        }
    }
    device.to_owned()
}

/// Whether `device` is a disk device name ecsd accepts: `/dev/vd`, `/dev/sd` or `/dev/xvd`
/// followed by one or two lower-case letters.
pub fn is_device_name(device: &str) -> bool {
    let letters = ["/dev/vd", "/dev/sd", "/dev/xvd"]
        .iter()
        .find_map(|prefix| device.strip_prefix(prefix));
    letters.is_some_and(|letters| {
        (1..=2).contains(&letters.len()) && letters.bytes().all(|b| b.is_ascii_lowercase())
    })
}

/// What a job's operations add to the project's usage: a disk per attach, a NIC per add, and
/// the vCPUs and memory a resize to a larger flavor adds to `current`'s.
fn operations_demand(operations: &[Operation], current: &FlavorRef) -> Usage {
    let vcpus = |flavor: &FlavorRef| flavor.vcpus.trim().parse::<u64>().unwrap_or(0);
    let mut demand = Usage::default();
    for operation in operations {
        match operation {
            Operation::AttachVolume { .. } => demand.volumes += 1,
            Operation::AddNic { .. } => demand.nics += 1,
            Operation::ResizeServer { flavor } | Operation::ResizeToVerify { flavor, .. } => {
                demand.cores += vcpus(flavor).saturating_sub(vcpus(current));
                demand.ram += flavor.ram.saturating_sub(current.ram);
            }
            _ => {}
        }
    }
    demand
}

/// How many times a job is planned again when the server changed under it.
const PLAN_ATTEMPTS: usize = 3;

impl Engine {
    /// Accepts a job on one existing server: the server must exist in the project, be free of
    /// other jobs and in a state the job allows; then the job is planned from it and stored in
    /// one transaction that checks all of that again, within the project's quotas
    /// ([`Engine::quotas`]: the NICs an add-NICs job adds, the disk an attach adds and the
    /// vCPUs and memory a resize adds count against them).
    pub async fn server_job(
        &self,
        project_id: &str,
        server_id: &str,
        request: ServerJob,
    ) -> Result<Accepted, SubmitError> {
        let quotas = self.quotas(project_id);
        for _ in 0..PLAN_ATTEMPTS {
            let server = self
                .store
                .server_get(project_id, server_id)
                .await?
                .ok_or_else(|| Rejection::ServerNotFound {
                    server_id: server_id.to_owned(),
                })?;
            let at = self.clock.now();
            let checked = request.check(&server, at, &self.ids)?;
            let (job_id, insert) = self.server_job_insert(project_id, checked, &quotas, at);
            match self.accept(insert).await {
                Ok(_) => {
                    return Ok(Accepted {
                        job_id,
                        server_ids: Vec::new(),
                    })
                }
                Err(SubmitError::Rejected(Rejection::ServerChanged { .. })) => continue,
                Err(SubmitError::Rejected(Rejection::VolumeInUse {
                    volume_id,
                    server_id: holder,
                })) if holder == server.id => {
                    return Err(Rejection::VolumeAlreadyAttached {
                        volume_id,
                        server_id: holder,
                    }
                    .into())
                }
                Err(other) => return Err(other),
            }
        }
        Err(Rejection::ServerChanged {
            server_id: server_id.to_owned(),
        }
        .into())
    }

    /// The writes of a checked job: the job and its tasks (scheduled from `at`), and what the
    /// accept transaction must find again (the server unchanged since the read, in an allowed
    /// state, the reservations free, the quotas not exceeded). Its id comes first.
    fn server_job_insert(
        &self,
        project_id: &str,
        checked: CheckedServerJob,
        quotas: &Quotas,
        at: time::OffsetDateTime,
    ) -> (String, JobInsert) {
        let job_id = self.ids.job_id(at);
        let quota = quotas.limits_servers().then_some(QuotaCheck {
            quotas: *quotas,
            demand: checked.demand,
        });
        let tasks = checked
            .operations
            .into_iter()
            .enumerate()
            .map(|(index, operation)| {
                self.new_task(
                    checked.kind,
                    &job_id,
                    index as i64,
                    checked.server_id.clone(),
                    operation,
                    at,
                )
            })
            .collect();
        let insert = JobInsert {
            job: new_job(
                job_id.clone(),
                project_id,
                checked.kind,
                to_unix_ms(at),
                tasks,
            ),
            new_servers: Vec::new(),
            preconditions: vec![Precondition {
                server_id: checked.server_id,
                allowed_vm_states: checked.allowed_vm_states,
                unchanged_since: Some(checked.read_at),
            }],
            reservations: checked.reservations,
            client_token: None,
            unfinished_job_limit: None,
            quota,
        };
        (job_id, insert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::server::{PowerTriple, ServerDoc};
    use time::macros::datetime;

    fn flavor(id: &str, vcpus: &str, ram: u64) -> FlavorRef {
        FlavorRef {
            id: id.into(),
            name: id.into(),
            vcpus: vcpus.into(),
            ram,
            disk: "0".into(),
        }
    }

    /// A stopped server of flavor `s3.small.1` (1 vCPU, 1 GiB), read at `updated_at` 1000.
    fn stopped_server() -> ServerRecord {
        ServerRecord {
            id: "s1".into(),
            project_id: "p".into(),
            name: "n".into(),
            flavor_id: "s3.small.1".into(),
            state: PowerTriple {
                vm_state: VmState::Stopped,
                task_state: None,
                power_state: 4,
            },
            progress: 100,
            busy_job_id: None,
            created_at: 0,
            updated_at: 1_000,
            launched_at: None,
            fault: None,
            doc: ServerDoc {
                flavor: flavor("s3.small.1", "1", 1024),
                ..ServerDoc::default()
            },
            tasks: Vec::new(),
        }
    }

    fn check(job: &ServerJob, server: &ServerRecord) -> Result<CheckedServerJob, Rejection> {
        job.check(
            server,
            datetime!(2026-01-01 12:00 UTC),
            &IdSource::seeded(7),
        )
    }

    #[test]
    fn a_checked_resize_carries_what_acceptance_writes_and_requires() {
        let job = ServerJob::Resize {
            flavor: flavor("s3.large.2", "2", 4096),
        };
        let checked = check(&job, &stopped_server()).expect("a valid resize");
        assert_eq!(checked.kind, JobKind::ResizeServer);
        assert_eq!(checked.server_id, "s1");
        assert_eq!(checked.allowed_vm_states, &[VmState::Stopped]);
        assert_eq!(checked.read_at, 1_000, "the plan holds only if unchanged");
        assert_eq!(checked.operations.len(), 1);
        assert_eq!((checked.demand.cores, checked.demand.ram), (1, 3072));
    }

    #[test]
    fn a_busy_or_wrong_state_server_is_refused_before_the_jobs_own_checks() {
        // The same flavor would be refused by the resize's own check: the server's state is
        // reported first.
        let same = ServerJob::Resize {
            flavor: flavor("s3.small.1", "1", 1024),
        };
        let mut busy = stopped_server();
        busy.busy_job_id = Some("job-1".into());
        assert!(matches!(
            check(&same, &busy),
            Err(Rejection::ServerBusy { .. })
        ));
        let mut running = stopped_server();
        running.state.vm_state = VmState::Active;
        running.state.power_state = 1;
        assert!(matches!(
            check(&same, &running),
            Err(Rejection::ServerWrongState {
                status: "ACTIVE",
                ..
            })
        ));
        assert!(matches!(
            check(&same, &stopped_server()),
            Err(Rejection::SameFlavor { .. })
        ));
    }

    #[test]
    fn scsi_and_xen_device_names_become_kvm_names() {
        assert_eq!(kvm_device_name("/dev/sdc"), "/dev/vdc");
        assert_eq!(kvm_device_name("/dev/xvdb"), "/dev/vdb");
        assert_eq!(kvm_device_name("/dev/vdd"), "/dev/vdd");
    }

    #[test]
    fn device_names_are_checked_for_shape() {
        for good in ["/dev/vdb", "/dev/sda", "/dev/xvdaa"] {
            assert!(is_device_name(good), "{good}");
        }
        for bad in [
            "/dev/vd",
            "/dev/vdB",
            "vdb",
            "/dev/hda",
            "/dev/vdabc",
            "/dev/vd1",
        ] {
            assert!(!is_device_name(bad), "{bad}");
        }
    }
}
