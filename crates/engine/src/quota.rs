//! Tenant quotas and server groups: the limits a project is configured with, what it uses, and
//! the anti-affinity groups its servers can be placed in.
//!
//! Quotas are checked by the store in the same transaction that accepts a job (or creates a
//! group, or adds a member), against what the project holds at that moment plus what unfinished
//! jobs are adding, so concurrent submissions cannot overshoot a limit together.

use serde::{Deserialize, Serialize};

/// A project's limits, as configured (`[accounts.projects.quotas]`). `None` is unlimited; a
/// project with no quotas table has no limits at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quotas {
    /// Servers (`maxTotalInstances`).
    pub instances: Option<u64>,
    /// vCPUs over all servers (`maxTotalCores`).
    pub cores: Option<u64>,
    /// Memory over all servers, MiB (`maxTotalRAMSize`).
    pub ram: Option<u64>,
    /// NICs over all servers (not on the limits page).
    pub nics: Option<u64>,
    /// Disks attached to servers, system disks included (not on the limits page).
    pub volumes: Option<u64>,
    /// Server groups (`maxServerGroups`).
    pub server_groups: Option<u64>,
    /// Servers in one server group (`maxServerGroupMembers`).
    pub server_group_members: Option<u64>,
}

impl Quotas {
    /// Whether any limit on servers and their resources is set (groups aside): only then does
    /// accepting a job need to count the project's usage.
    pub fn limits_servers(&self) -> bool {
        self.instances.is_some()
            || self.cores.is_some()
            || self.ram.is_some()
            || self.nics.is_some()
            || self.volumes.is_some()
    }
}

/// Where the engine finds a project's quotas when it accepts a job, creates a group or adds a
/// member: resolved from the project inside the engine, so no caller can leave them out.
/// Given once at build ([`crate::Engine::with_quota_source`]); the api implements it from its
/// accounts.
pub trait QuotaSource: Send + Sync + std::fmt::Debug {
    /// The quotas of `project_id`; [`Quotas::default`] (no limits) for a project it does not
    /// know.
    fn quotas(&self, project_id: &str) -> Quotas;
}

/// The default source: no project has limits (as with `--auth off`, where there are no
/// accounts to configure them in).
#[derive(Debug, Default, Clone, Copy)]
pub struct Unlimited;

impl QuotaSource for Unlimited {
    fn quotas(&self, _project_id: &str) -> Quotas {
        Quotas::default()
    }
}

/// What a project uses, or what a job would add.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub instances: u64,
    pub cores: u64,
    pub ram: u64,
    pub nics: u64,
    pub volumes: u64,
    pub server_groups: u64,
}

/// A quota that a request would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaResource {
    Instances,
    Cores,
    Ram,
    Nics,
    Volumes,
    ServerGroups,
    ServerGroupMembers,
}

impl QuotaResource {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaResource::Instances => "instances",
            QuotaResource::Cores => "cores",
            QuotaResource::Ram => "ram",
            QuotaResource::Nics => "nics",
            QuotaResource::Volumes => "volumes",
            QuotaResource::ServerGroups => "server_groups",
            QuotaResource::ServerGroupMembers => "server_group_members",
        }
    }
}

impl std::fmt::Display for QuotaResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first server quota that `used + demand` exceeds, with its limit and the total asked
/// for, if any. Resources the demand does not add to are not checked (a project already over a
/// lowered limit can still attach a disk when its core count is over).
pub fn first_exceeded(
    quotas: &Quotas,
    used: &Usage,
    demand: &Usage,
) -> Option<(QuotaResource, u64, u64)> {
    let checks = [
        (
            QuotaResource::Instances,
            quotas.instances,
            used.instances,
            demand.instances,
        ),
        (QuotaResource::Cores, quotas.cores, used.cores, demand.cores),
        (QuotaResource::Ram, quotas.ram, used.ram, demand.ram),
        (QuotaResource::Nics, quotas.nics, used.nics, demand.nics),
        (
            QuotaResource::Volumes,
            quotas.volumes,
            used.volumes,
            demand.volumes,
        ),
    ];
    checks
        .into_iter()
        .find_map(|(resource, limit, used, demand)| {
            let limit = limit?;
            let wanted = used.saturating_add(demand);
            (demand > 0 && wanted > limit).then_some((resource, limit, wanted))
        })
}

/// The limits a job is checked against and what it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaCheck {
    pub quotas: Quotas,
    pub demand: Usage,
}

/// The only policy the reference allows.
pub const ANTI_AFFINITY: &str = "anti-affinity";

/// A server group (always anti-affinity). Its members are the servers whose document names it
/// (`ServerDoc::server_group_id`), so a deleted server leaves its group with its row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerGroupRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub policies: Vec<String>,
    pub created_at: i64,
    /// Server ids, in the order the servers were created (filled in by reads; ignored on
    /// create).
    pub members: Vec<String>,
}

/// A new group, with the project's group quota.
#[derive(Debug, Clone)]
pub struct ServerGroupInsert {
    pub group: ServerGroupRecord,
    pub max_groups: Option<u64>,
}

/// Adding a server to a group (`add: true`) or removing it.
#[derive(Debug, Clone)]
pub struct ServerGroupMembership {
    pub project_id: String,
    pub group_id: String,
    pub server_id: String,
    pub add: bool,
    /// The project's members-per-group quota (adds only).
    pub max_members: Option<u64>,
    /// Unix ms: the server's new `updated`.
    pub now: i64,
}

/// The simulated host a member of an anti-affinity group is placed on: `{zone}-host-{n}` with
/// `n` from the server's id, moved on past hosts the group's other members hold.
pub fn group_host(zone: &str, seed: u64, taken: &[String]) -> String {
    let mut candidate = seed % 65_536;
    loop {
        let host = format!("{zone}-host-{candidate:04x}");
        if !taken.contains(&host) {
            return host;
        }
        candidate = (candidate + 1) % 65_536;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Usage is counted at acceptance only when a server limit is set: each of the five alone
    /// turns it on, the group limits do not, and none set leaves it off.
    #[test]
    fn any_one_server_limit_makes_acceptance_count_usage() {
        assert!(!Quotas::default().limits_servers());
        let groups_only = Quotas {
            server_groups: Some(1),
            server_group_members: Some(1),
            ..Quotas::default()
        };
        assert!(!groups_only.limits_servers());
        let one = Quotas::default;
        for (name, quotas) in [
            (
                "instances",
                Quotas {
                    instances: Some(0),
                    ..one()
                },
            ),
            (
                "cores",
                Quotas {
                    cores: Some(0),
                    ..one()
                },
            ),
            (
                "ram",
                Quotas {
                    ram: Some(0),
                    ..one()
                },
            ),
            (
                "nics",
                Quotas {
                    nics: Some(0),
                    ..one()
                },
            ),
            (
                "volumes",
                Quotas {
                    volumes: Some(0),
                    ..one()
                },
            ),
        ] {
            assert!(quotas.limits_servers(), "{name}");
        }
    }

    /// The names the quota refusals show in parentheses (`api::error`), one per resource.
    #[test]
    fn quota_resources_have_their_wire_names() {
        let names: Vec<String> = [
            QuotaResource::Instances,
            QuotaResource::Cores,
            QuotaResource::Ram,
            QuotaResource::Nics,
            QuotaResource::Volumes,
            QuotaResource::ServerGroups,
            QuotaResource::ServerGroupMembers,
        ]
        .iter()
        .map(|resource| resource.to_string())
        .collect();
        assert_eq!(
            names,
            [
                "instances",
                "cores",
                "ram",
                "nics",
                "volumes",
                "server_groups",
                "server_group_members"
            ]
        );
    }

    #[test]
    fn only_set_limits_that_the_demand_adds_to_are_checked() {
        let quotas = Quotas {
            instances: Some(2),
            cores: Some(4),
            ..Quotas::default()
        };
        let used = Usage {
            instances: 1,
            cores: 8,
            ..Usage::default()
        };
        let one_disk = Usage {
            volumes: 1,
            ..Usage::default()
        };
        assert_eq!(first_exceeded(&quotas, &used, &one_disk), None);
        let one_server = Usage {
            instances: 1,
            cores: 1,
            ..Usage::default()
        };
        assert_eq!(
            first_exceeded(&quotas, &used, &one_server),
            Some((QuotaResource::Cores, 4, 9))
        );
        let two_servers = Usage {
            instances: 2,
            ..Usage::default()
        };
        assert_eq!(
            first_exceeded(&quotas, &used, &two_servers),
            Some((QuotaResource::Instances, 2, 3))
        );
        assert_eq!(
            first_exceeded(&Quotas::default(), &used, &two_servers),
            None
        );
    }

    #[test]
    fn group_hosts_skip_hosts_other_members_hold() {
        let first = group_host("eu-de-01", 7, &[]);
        assert_eq!(first, "eu-de-01-host-0007");
        let second = group_host("eu-de-01", 7, std::slice::from_ref(&first));
        assert_eq!(second, "eu-de-01-host-0008");
    }
}
