//! Jobs on one existing server: resize, cold migrate, reinstall and change OS, attach and detach
//! a disk, add and delete NICs.
//!
//! Each is planned from the server as read: the checks that depend on its document (is the
//! flavor different, which device is free, is that NIC the primary one) and the decisions the
//! steps will apply (device names, port ids, MACs, addresses) are made here and stored in the
//! task's [`Operation`], so steps stay a pure function of (operation, step). The insert then
//! requires the server to be unchanged since that read (`Precondition::unchanged_since`); if
//! another job changed it in between, the job is planned again.

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

/// What a planned job will do.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    kind: JobKind,
    /// One task each, in order.
    operations: Vec<Operation>,
    reservations: Vec<Reservation>,
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

    fn plan(
        &self,
        server: &ServerRecord,
        at: time::OffsetDateTime,
        ids: &IdSource,
    ) -> Result<Plan, Rejection> {
        let server_id = server.id.clone();
        let doc = &server.doc;
        let single = |kind: JobKind, operation: Operation| Plan {
            kind,
            operations: vec![operation],
            reservations: Vec::new(),
        };
        let has_system_disk = doc
            .volumes
            .iter()
            .any(|volume| volume.boot_index == Some(0));
        match self {
            ServerJob::Resize { flavor } | ServerJob::NovaResize { flavor } => {
                if flavor.id == doc.flavor.id {
                    return Err(Rejection::SameFlavor {
                        server_id,
                        flavor_id: flavor.id.clone(),
                    });
                }
                // The rule of `FlavorCatalogue::resize_targets`: the same family.
                let family = |name: &str| name.split('.').next().unwrap_or_default().to_owned();
                if family(&flavor.name) != family(&doc.flavor.name) {
                    return Err(Rejection::FlavorNotAllowed {
                        server_id,
                        from: doc.flavor.id.clone(),
                        to: flavor.id.clone(),
                    });
                }
                if matches!(self, ServerJob::NovaResize { .. }) {
                    return Ok(single(
                        JobKind::NovaResize,
                        Operation::ResizeToVerify {
                            flavor: flavor.clone(),
                            previous: doc.flavor.clone(),
                            running: server.state.vm_state == VmState::Active,
                        },
                    ));
                }
                Ok(single(
                    JobKind::ResizeServer,
                    Operation::ResizeServer {
                        flavor: flavor.clone(),
                    },
                ))
            }
            ServerJob::Migrate { dedicated_host_id } => {
                if dedicated_host_id.is_some() && *dedicated_host_id == doc.dedicated_host_id {
                    return Err(Rejection::SameDedicatedHost {
                        server_id,
                        dedicated_host_id: dedicated_host_id.clone().unwrap_or_default(),
                    });
                }
                // Anti-affinity does not apply on dedicated hosts (the create page's
                // constraint), so a group member stays in the public pool.
                if dedicated_host_id.is_some() && doc.server_group_id.is_some() {
                    return Err(Rejection::AntiAffinityOnDedicatedHost { server_id });
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
                Ok(single(
                    JobKind::MigrateServer,
                    Operation::MigrateServer {
                        host,
                        dedicated_host_id: dedicated_host_id.clone(),
                    },
                ))
            }
            ServerJob::ReinstallOs { key_name } | ServerJob::ChangeOs { key_name, .. } => {
                if !has_system_disk {
                    return Err(Rejection::NoSystemDisk { server_id });
                }
                let (kind, image_id) = match self {
                    ServerJob::ChangeOs { image_id, .. } => (JobKind::ChangeOs, image_id.clone()),
                    _ => (JobKind::ReinstallOs, doc.image_id.clone()),
                };
                Ok(single(
                    kind,
                    Operation::RebuildServer {
                        image_id,
                        key_name: key_name.clone(),
                    },
                ))
            }
            ServerJob::AttachVolume {
                volume_id,
                device,
                volume_type,
            } => {
                if doc.volumes.iter().any(|volume| volume.id == *volume_id) {
                    return Err(Rejection::VolumeAlreadyAttached {
                        volume_id: volume_id.clone(),
                        server_id,
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
                        if in_use.contains(device.as_str()) || (system && has_system_disk) {
                            return Err(Rejection::DeviceInUse { server_id, device });
                        }
                        device
                    }
                    None => (1..=MAX_DATA_VOLUMES)
                        .map(|index| format!("/dev/vd{}", device_letter(index)))
                        .find(|device| !in_use.contains(device.as_str()))
                        .ok_or_else(|| Rejection::NoFreeDiskSlot {
                            server_id: server_id.clone(),
                        })?,
                };
                let data_disks = doc
                    .volumes
                    .iter()
                    .filter(|volume| volume.boot_index != Some(0))
                    .count();
                let system = device == "/dev/vda";
                if !system && data_disks >= MAX_DATA_VOLUMES {
                    return Err(Rejection::NoFreeDiskSlot { server_id });
                }
                let volume = Volume {
                    id: volume_id.clone(),
                    device,
                    boot_index: system.then_some(0),
                    size_gib: ATTACHED_VOLUME_GIB,
                    volume_type: volume_type.clone().unwrap_or_else(|| "SSD".to_owned()),
                    delete_on_termination: false,
                };
                Ok(Plan {
                    kind: JobKind::AttachVolume,
                    operations: vec![Operation::AttachVolume { volume }],
                    reservations: vec![Reservation::Volume {
                        volume_id: volume_id.clone(),
                    }],
                })
            }
            ServerJob::DetachVolume { volume_id } => {
                if !doc.volumes.iter().any(|volume| volume.id == *volume_id) {
                    return Err(Rejection::VolumeNotAttached {
                        volume_id: volume_id.clone(),
                        server_id,
                    });
                }
                Ok(single(
                    JobKind::DetachVolume,
                    Operation::DetachVolume {
                        volume_id: volume_id.clone(),
                    },
                ))
            }
            ServerJob::AddNics { nics } => {
                let count = doc.nics.len() + nics.len();
                if count > MAX_NICS {
                    return Err(Rejection::TooManyNics {
                        server_id,
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
                                    server_id,
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
            ServerJob::DeleteNics { port_ids } => {
                let mut operations = Vec::with_capacity(port_ids.len());
                for port_id in port_ids {
                    let Some(nic) = doc.nics.iter().find(|nic| nic.port_id == *port_id) else {
                        return Err(Rejection::NicNotFound {
                            server_id,
                            port_id: port_id.clone(),
                        });
                    };
                    if nic.primary {
                        return Err(Rejection::PrimaryNic {
                            server_id,
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
            ServerJob::NovaRebuild { image_id, key_name } => {
                if !has_system_disk {
                    return Err(Rejection::NoSystemDisk { server_id });
                }
                Ok(single(
                    JobKind::NovaRebuild,
                    Operation::NovaRebuild {
                        image_id: image_id.clone(),
                        key_name: key_name.clone(),
                        running: server.state.vm_state == VmState::Active,
                    },
                ))
            }
            ServerJob::NovaConfirmResize | ServerJob::NovaRevertResize => {
                let running = server.state.power_state == crate::server::power_state::RUNNING;
                Ok(if matches!(self, ServerJob::NovaConfirmResize) {
                    single(
                        JobKind::NovaConfirmResize,
                        Operation::ConfirmResize {
                            flavor: doc.flavor.clone(),
                            running,
                        },
                    )
                } else {
                    single(
                        JobKind::NovaRevertResize,
                        Operation::RevertResize {
                            // A server resized before ecsd kept the previous flavor stays as it is.
                            flavor: doc.resize_previous.clone().unwrap_or(doc.flavor.clone()),
                            running,
                        },
                    )
                })
            }
        }
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
    /// one transaction that checks all of that again.
    pub async fn server_job(
        &self,
        project_id: &str,
        server_id: &str,
        request: ServerJob,
    ) -> Result<Accepted, SubmitError> {
        self.server_job_within(project_id, server_id, request, &Quotas::default())
            .await
    }

    /// [`Engine::server_job`] within the project's quotas: the NICs an add-NICs job adds, the
    /// disk an attach adds and the vCPUs and memory a resize adds count against them, in the
    /// accept transaction.
    pub async fn server_job_within(
        &self,
        project_id: &str,
        server_id: &str,
        request: ServerJob,
        quotas: &Quotas,
    ) -> Result<Accepted, SubmitError> {
        for _ in 0..PLAN_ATTEMPTS {
            let server = self
                .store
                .server_get(project_id, server_id)
                .await?
                .ok_or_else(|| Rejection::ServerNotFound {
                    server_id: server_id.to_owned(),
                })?;
            if let Some(job_id) = &server.busy_job_id {
                return Err(Rejection::ServerBusy {
                    server_id: server.id.clone(),
                    job_id: job_id.clone(),
                }
                .into());
            }
            let allowed_vm_states = request.allowed_vm_states(&server);
            if server.state.task_state.is_some()
                || !allowed_vm_states.contains(&server.state.vm_state)
            {
                return Err(Rejection::ServerWrongState {
                    server_id: server.id.clone(),
                    status: server.state.status().as_str(),
                }
                .into());
            }
            let at = self.clock.now();
            let plan = request.plan(&server, at, &self.ids)?;
            let job_id = self.ids.job_id(at);
            let quota = quotas.limits_servers().then(|| QuotaCheck {
                quotas: *quotas,
                demand: operations_demand(&plan.operations, &server.doc.flavor),
            });
            let tasks = plan
                .operations
                .into_iter()
                .enumerate()
                .map(|(index, operation)| {
                    self.new_task(
                        plan.kind,
                        &job_id,
                        index as i64,
                        server.id.clone(),
                        operation,
                        at,
                    )
                })
                .collect();
            let insert = JobInsert {
                job: new_job(job_id.clone(), project_id, plan.kind, to_unix_ms(at), tasks),
                new_servers: Vec::new(),
                preconditions: vec![Precondition {
                    server_id: server.id.clone(),
                    allowed_vm_states,
                    unchanged_since: Some(server.updated_at),
                }],
                reservations: plan.reservations,
                client_token: None,
                unfinished_job_limit: None,
                quota,
            };
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
