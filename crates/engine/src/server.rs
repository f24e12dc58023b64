//! The simulated server: its OpenStack-style state triple and the document that describes it.
//!
//! The visible `status` is never stored as truth: it is derived from `vm_state` and `task_state`
//! with the table of `appendix/ecs_statuses.rst` ([`ServerStatus::derive`]). Storage may keep a
//! copy of it for filtering, written from the same function.

use crate::store::Rejection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `OS-EXT-STS:vm_state`: the stable state of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmState {
    Building,
    Active,
    Stopped,
    Resized,
    Error,
    Deleted,
    Shelved,
    ShelvedOffloaded,
}

impl VmState {
    pub fn as_str(self) -> &'static str {
        match self {
            VmState::Building => "building",
            VmState::Active => "active",
            VmState::Stopped => "stopped",
            VmState::Resized => "resized",
            VmState::Error => "error",
            VmState::Deleted => "deleted",
            VmState::Shelved => "shelved",
            VmState::ShelvedOffloaded => "shelved_offloaded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL_VM_STATES
            .iter()
            .copied()
            .find(|state| state.as_str() == text)
    }
}

const ALL_VM_STATES: [VmState; 8] = [
    VmState::Building,
    VmState::Active,
    VmState::Stopped,
    VmState::Resized,
    VmState::Error,
    VmState::Deleted,
    VmState::Shelved,
    VmState::ShelvedOffloaded,
];

/// `OS-EXT-STS:task_state`: what is happening to the server right now (`None` = nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TaskState {
    #[serde(rename = "scheduling")]
    Scheduling,
    #[serde(rename = "block_device_mapping")]
    BlockDeviceMapping,
    #[serde(rename = "networking")]
    Networking,
    #[serde(rename = "spawning")]
    Spawning,
    #[serde(rename = "powering-on")]
    PoweringOn,
    #[serde(rename = "powering-off")]
    PoweringOff,
    #[serde(rename = "rebooting")]
    Rebooting,
    #[serde(rename = "reboot_started")]
    RebootStarted,
    #[serde(rename = "rebooting_hard")]
    RebootingHard,
    #[serde(rename = "reboot_started_hard")]
    RebootStartedHard,
    #[serde(rename = "deleting")]
    Deleting,
    #[serde(rename = "resize_prep")]
    ResizePrep,
    #[serde(rename = "resize_migrating")]
    ResizeMigrating,
    #[serde(rename = "resize_migrated")]
    ResizeMigrated,
    #[serde(rename = "resize_finish")]
    ResizeFinish,
    #[serde(rename = "rebuilding")]
    Rebuilding,
    #[serde(rename = "rebuild_block_device_mapping")]
    RebuildBlockDeviceMapping,
    #[serde(rename = "rebuild_spawning")]
    RebuildSpawning,
    /// A Nova revert of a resize in `VERIFY_RESIZE` (status `REVERT_RESIZE`).
    #[serde(rename = "resize_reverting")]
    ResizeReverting,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Scheduling => "scheduling",
            TaskState::BlockDeviceMapping => "block_device_mapping",
            TaskState::Networking => "networking",
            TaskState::Spawning => "spawning",
            TaskState::PoweringOn => "powering-on",
            TaskState::PoweringOff => "powering-off",
            TaskState::Rebooting => "rebooting",
            TaskState::RebootStarted => "reboot_started",
            TaskState::RebootingHard => "rebooting_hard",
            TaskState::RebootStartedHard => "reboot_started_hard",
            TaskState::Deleting => "deleting",
            TaskState::ResizePrep => "resize_prep",
            TaskState::ResizeMigrating => "resize_migrating",
            TaskState::ResizeMigrated => "resize_migrated",
            TaskState::ResizeFinish => "resize_finish",
            TaskState::Rebuilding => "rebuilding",
            TaskState::RebuildBlockDeviceMapping => "rebuild_block_device_mapping",
            TaskState::RebuildSpawning => "rebuild_spawning",
            TaskState::ResizeReverting => "resize_reverting",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL_TASK_STATES
            .iter()
            .copied()
            .find(|state| state.as_str() == text)
    }
}

const ALL_TASK_STATES: [TaskState; 19] = [
    TaskState::Scheduling,
    TaskState::BlockDeviceMapping,
    TaskState::Networking,
    TaskState::Spawning,
    TaskState::PoweringOn,
    TaskState::PoweringOff,
    TaskState::Rebooting,
    TaskState::RebootStarted,
    TaskState::RebootingHard,
    TaskState::RebootStartedHard,
    TaskState::Deleting,
    TaskState::ResizePrep,
    TaskState::ResizeMigrating,
    TaskState::ResizeMigrated,
    TaskState::ResizeFinish,
    TaskState::Rebuilding,
    TaskState::RebuildBlockDeviceMapping,
    TaskState::RebuildSpawning,
    TaskState::ResizeReverting,
];

/// `OS-EXT-STS:power_state`.
pub mod power_state {
    pub const NOSTATE: i64 = 0;
    pub const RUNNING: i64 = 1;
    pub const SHUTDOWN: i64 = 4;
}

/// The `status` a client sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerStatus {
    Build,
    Active,
    Reboot,
    HardReboot,
    Rebuild,
    Migrating,
    Shutoff,
    Resize,
    VerifyResize,
    RevertResize,
    Error,
    Deleted,
    Shelved,
    ShelvedOffloaded,
    Unknown,
}

impl ServerStatus {
    pub const ALL: [ServerStatus; 15] = [
        ServerStatus::Build,
        ServerStatus::Active,
        ServerStatus::Reboot,
        ServerStatus::HardReboot,
        ServerStatus::Rebuild,
        ServerStatus::Migrating,
        ServerStatus::Shutoff,
        ServerStatus::Resize,
        ServerStatus::VerifyResize,
        ServerStatus::RevertResize,
        ServerStatus::Error,
        ServerStatus::Deleted,
        ServerStatus::Shelved,
        ServerStatus::ShelvedOffloaded,
        ServerStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ServerStatus::Build => "BUILD",
            ServerStatus::Active => "ACTIVE",
            ServerStatus::Reboot => "REBOOT",
            ServerStatus::HardReboot => "HARD_REBOOT",
            ServerStatus::Rebuild => "REBUILD",
            ServerStatus::Migrating => "MIGRATING",
            ServerStatus::Shutoff => "SHUTOFF",
            ServerStatus::Resize => "RESIZE",
            ServerStatus::VerifyResize => "VERIFY_RESIZE",
            ServerStatus::RevertResize => "REVERT_RESIZE",
            ServerStatus::Error => "ERROR",
            ServerStatus::Deleted => "DELETED",
            ServerStatus::Shelved => "SHELVED",
            ServerStatus::ShelvedOffloaded => "SHELVED_OFFLOADED",
            ServerStatus::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|status| status.as_str() == text)
    }

    /// Table 4 of `appendix/ecs_statuses.rst`: the status that a (vm_state, task_state) pair shows.
    /// Pairs the table does not list are `UNKNOWN`.
    pub fn derive(vm_state: VmState, task_state: Option<TaskState>) -> Self {
        use TaskState as T;
        use VmState as V;
        match (vm_state, task_state) {
            (
                V::Building,
                None | Some(T::Scheduling | T::BlockDeviceMapping | T::Networking | T::Spawning),
            ) => ServerStatus::Build,
            (V::Active, None | Some(T::PoweringOff | T::Deleting)) => ServerStatus::Active,
            (V::Active, Some(T::Rebooting | T::RebootStarted)) => ServerStatus::Reboot,
            (V::Active, Some(T::RebootingHard | T::RebootStartedHard)) => ServerStatus::HardReboot,
            (
                V::Active | V::Stopped | V::Error,
                Some(T::Rebuilding | T::RebuildBlockDeviceMapping | T::RebuildSpawning),
            ) => ServerStatus::Rebuild,
            (V::Stopped, None | Some(T::PoweringOn | T::Deleting)) => ServerStatus::Shutoff,
            // A Nova resize also starts from a running server (Nova's own table; the ECS
            // resize takes stopped servers only).
            (
                V::Stopped | V::Active,
                Some(T::ResizePrep | T::ResizeMigrating | T::ResizeMigrated | T::ResizeFinish),
            ) => ServerStatus::Resize,
            (V::Resized, None | Some(T::Deleting)) => ServerStatus::VerifyResize,
            (V::Resized, Some(T::ResizeReverting)) => ServerStatus::RevertResize,
            (V::Error, None | Some(T::Deleting)) => ServerStatus::Error,
            (V::Deleted, None) => ServerStatus::Deleted,
            (V::Shelved, None) => ServerStatus::Shelved,
            (V::ShelvedOffloaded, None) => ServerStatus::ShelvedOffloaded,
            _ => ServerStatus::Unknown,
        }
    }

    /// The statuses a list filter on `self` matches. `listing_details_about_ecss.rst` says a
    /// filter also returns the intermediate statuses a server may pass through on its way to
    /// or from that status (ASYNC-OPERATIONS.md §4.1).
    pub fn filter_matches(self) -> &'static [ServerStatus] {
        use ServerStatus as S;
        match self {
            S::Active => &[
                S::Active,
                S::Reboot,
                S::HardReboot,
                S::Rebuild,
                S::Migrating,
                S::Resize,
            ],
            S::Shutoff => &[S::Shutoff, S::Resize, S::Rebuild],
            S::Error => &[S::Error, S::Rebuild],
            S::VerifyResize => &[S::VerifyResize, S::RevertResize],
            S::Build => &[S::Build],
            S::Reboot => &[S::Reboot],
            S::HardReboot => &[S::HardReboot],
            S::Rebuild => &[S::Rebuild],
            S::Migrating => &[S::Migrating],
            S::Resize => &[S::Resize],
            S::RevertResize => &[S::RevertResize],
            S::Deleted => &[S::Deleted],
            S::Shelved => &[S::Shelved],
            S::ShelvedOffloaded => &[S::ShelvedOffloaded],
            S::Unknown => &[S::Unknown],
        }
    }
}

/// The state triple that jobs change, step by step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PowerTriple {
    pub vm_state: VmState,
    pub task_state: Option<TaskState>,
    pub power_state: i64,
}

impl PowerTriple {
    pub fn status(&self) -> ServerStatus {
        ServerStatus::derive(self.vm_state, self.task_state)
    }
}

/// A server as stored: the state that jobs change, plus a document of everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerRecord {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub flavor_id: String,
    pub state: PowerTriple,
    /// 0–100, moved by the create job.
    pub progress: i64,
    /// The non-terminal job that holds this server, if any. One job at a time per server.
    pub busy_job_id: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
    pub launched_at: Option<i64>,
    /// Set when a create failed: the `fault` object of a server in `ERROR`.
    pub fault: Option<ServerFault>,
    pub doc: ServerDoc,
    /// The unfinished tasks of the job holding the server that act on it, as stored (filled
    /// by the store's reads; empty when the server is free). The engine computes from their
    /// schedules the state they have reached ([`crate::schedule::server_at`]).
    pub tasks: Vec<crate::job::TaskRecord>,
}

/// The `fault` object of a server in `ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerFault {
    pub code: String,
    pub message: String,
    /// Unix milliseconds.
    pub created: i64,
}

/// Everything about a server that no job step changes while it runs. Stored as JSON so that
/// later features (tags, metadata, volumes, NICs) extend it without a schema migration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ServerDoc {
    pub image_id: String,
    pub flavor: FlavorRef,
    pub vpc_id: String,
    pub availability_zone: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub hostname: String,
    #[serde(default)]
    pub nics: Vec<Nic>,
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// As `key=value` strings, the form server views show.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub reservation_id: String,
    #[serde(default)]
    pub launch_index: i64,
    #[serde(default)]
    pub scheduler_hints: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub public_ip: Option<PublicIp>,
    /// The simulated host (`OS-EXT-SRV-ATTR:host`); `None` until a cold migration moves the
    /// server, and the view derives a name from the zone.
    #[serde(default)]
    pub host: Option<String>,
    /// The dedicated host the server runs on, if a cold migration put it on one.
    #[serde(default)]
    pub dedicated_host_id: Option<String>,
    /// `support_auto_recovery`, stored as the string clients send and read (`"true"`/`"false"`).
    #[serde(default)]
    pub auto_recovery: Option<String>,
    /// The server group (anti-affinity) the server is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_group_id: Option<String>,
    /// The flavor before a Nova resize that waits in `VERIFY_RESIZE`: what a revert restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize_previous: Option<FlavorRef>,
    /// The actions taken on the server through Nova (Nova's instance actions), oldest first,
    /// the last [`MAX_ACTION_RECORDS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instance_actions: Vec<ActionRecord>,
    /// Nova's lock: while set, the Nova API refuses the server's actions and its deletion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub locked: bool,
}

/// How many instance actions a server keeps.
pub const MAX_ACTION_RECORDS: usize = 100;

/// One action taken on a server through Nova: what, which request, when, by whom, and the job
/// that carries it out (its events are read from the job while it is retained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRecord {
    pub action: String,
    pub request_id: String,
    /// Unix milliseconds.
    pub start_time: i64,
    pub user_id: String,
    #[serde(default)]
    pub job_id: Option<String>,
}

/// A change to a server's document, applied by the last step of a job (or by a synchronous
/// update). Applying one twice leaves the document as applying it once does, so a replayed step
/// cannot duplicate a disk or a NIC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum DocChange {
    /// A resize: the new flavor.
    Flavor {
        flavor: FlavorRef,
    },
    /// A cold migration: the new host, and the dedicated host (`None` = the public pool).
    Host {
        host: String,
        dedicated_host_id: Option<String>,
    },
    /// A reinstall (same image) or change of OS (new image): the system disk is rebuilt.
    Image {
        image_id: String,
        key_name: Option<String>,
    },
    AttachVolume {
        volume: Volume,
    },
    DetachVolume {
        volume_id: String,
    },
    AddNic {
        nic: Nic,
    },
    RemoveNic {
        port_id: String,
    },
    AutoRecovery {
        value: String,
    },
    /// A Nova resize reaching `VERIFY_RESIZE`: the new flavor, and the old one kept for a
    /// revert.
    ResizeToVerify {
        flavor: FlavorRef,
        previous: FlavorRef,
    },
    /// A Nova resize confirmed (the flavor it has) or reverted (the previous one).
    ResizeSettled {
        flavor: FlavorRef,
    },
}

impl DocChange {
    pub fn apply(&self, doc: &mut ServerDoc) {
        match self {
            DocChange::Flavor { flavor } => doc.flavor = flavor.clone(),
            DocChange::Host {
                host,
                dedicated_host_id,
            } => {
                doc.host = Some(host.clone());
                doc.dedicated_host_id = dedicated_host_id.clone();
            }
            DocChange::Image { image_id, key_name } => {
                doc.image_id = image_id.clone();
                if key_name.is_some() {
                    doc.key_name = key_name.clone();
                }
            }
            DocChange::AttachVolume { volume } => {
                if !doc.volumes.iter().any(|attached| attached.id == volume.id) {
                    doc.volumes.push(volume.clone());
                }
            }
            DocChange::DetachVolume { volume_id } => {
                doc.volumes.retain(|attached| attached.id != *volume_id)
            }
            DocChange::AddNic { nic } => {
                if !doc
                    .nics
                    .iter()
                    .any(|present| present.port_id == nic.port_id)
                {
                    doc.nics.push(nic.clone());
                }
            }
            DocChange::RemoveNic { port_id } => doc.nics.retain(|nic| nic.port_id != *port_id),
            DocChange::AutoRecovery { value } => doc.auto_recovery = Some(value.clone()),
            DocChange::ResizeToVerify { flavor, previous } => {
                doc.flavor = flavor.clone();
                doc.resize_previous = Some(previous.clone());
            }
            DocChange::ResizeSettled { flavor } => {
                doc.flavor = flavor.clone();
                doc.resize_previous = None;
            }
        }
    }
}

/// The `(key, value)` pairs of a server's tags, stored as `key=value` (keys have no `=`).
pub fn tag_pairs(tags: &[String]) -> impl Iterator<Item = (&str, &str)> {
    tags.iter()
        .map(|tag| tag.split_once('=').unwrap_or((tag.as_str(), "")))
}

/// The most metadata keys a server may hold: the limits page's `maxServerMeta`
/// (`querying_tenant_quotas.rst`), which that page shows as 128.
pub const MAX_SERVER_METADATA: usize = 128;

/// A synchronous edit of a server (no job), applied by the store in one transaction after the
/// checks of [`ServerChange::apply`]. Applying one twice leaves the server as applying it once
/// does: the tag and metadata APIs are idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerChange {
    /// Adds tags; a key already present gets the new value. The server may then hold at most
    /// `max` tags ([`Rejection::TooManyTags`]).
    TagsAdd {
        tags: Vec<(String, String)>,
        max: usize,
    },
    /// Removes the tags with these keys: with a value, only if the tag has that value. Tags
    /// that are not there are ignored.
    TagsDelete { tags: Vec<(String, Option<String>)> },
    /// Sets these metadata keys; the others stay. The server's `vm_state` must be one of
    /// `allowed_vm_states` ([`Rejection::ServerWrongState`]); it may then hold at most `max`
    /// keys ([`Rejection::TooManyMetadata`]; [`MAX_SERVER_METADATA`] from the API).
    MetadataUpdate {
        metadata: BTreeMap<String, String>,
        max: usize,
        allowed_vm_states: &'static [VmState],
    },
    /// Removes one metadata key (absent: nothing to do), with the same state rule.
    MetadataDelete {
        key: String,
        allowed_vm_states: &'static [VmState],
    },
    /// Records an action in the server's instance actions (once per request id), keeping the
    /// last [`MAX_ACTION_RECORDS`].
    RecordAction { record: ActionRecord },
    /// Nova's `lock` (`true`) and `unlock` (`false`).
    Lock { locked: bool },
    /// Nova's `addSecurityGroup` / `removeSecurityGroup`: the group ids the server has.
    SecurityGroup { id: String, add: bool },
    /// `PUT` of the server: what is given replaces what is there.
    Details {
        name: Option<String>,
        description: Option<String>,
        hostname: Option<String>,
    },
}

impl ServerChange {
    /// Checks the change against the server and applies it, or says why it cannot be.
    pub fn apply(&self, server: &mut ServerRecord) -> Result<(), Rejection> {
        let state_allows = |allowed: &[VmState]| {
            if allowed.contains(&server.state.vm_state) {
                Ok(())
            } else {
                Err(Rejection::ServerWrongState {
                    server_id: server.id.clone(),
                    status: server.state.status().as_str(),
                })
            }
        };
        match self {
            ServerChange::TagsAdd { tags, max } => {
                let mut merged: Vec<(String, String)> = tag_pairs(&server.doc.tags)
                    .map(|(key, value)| (key.to_owned(), value.to_owned()))
                    .collect();
                for (key, value) in tags {
                    match merged.iter_mut().find(|(present, _)| present == key) {
                        Some(slot) => slot.1 = value.clone(),
                        None => merged.push((key.clone(), value.clone())),
                    }
                }
                if merged.len() > *max {
                    return Err(Rejection::TooManyTags {
                        server_id: server.id.clone(),
                        count: merged.len(),
                        max: *max,
                    });
                }
                server.doc.tags = merged
                    .into_iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect();
            }
            ServerChange::TagsDelete { tags } => {
                server.doc.tags.retain(|tag| {
                    let (key, value) = tag.split_once('=').unwrap_or((tag.as_str(), ""));
                    !tags.iter().any(|(gone, gone_value)| {
                        gone == key && gone_value.as_deref().is_none_or(|v| v == value)
                    })
                });
            }
            ServerChange::MetadataUpdate {
                metadata,
                max,
                allowed_vm_states,
            } => {
                state_allows(allowed_vm_states)?;
                // Counted before anything is written, so a refused update changes nothing.
                let count = server.doc.metadata.len()
                    + metadata
                        .keys()
                        .filter(|key| !server.doc.metadata.contains_key(*key))
                        .count();
                if count > *max {
                    return Err(Rejection::TooManyMetadata {
                        server_id: server.id.clone(),
                        count,
                        max: *max,
                    });
                }
                for (key, value) in metadata {
                    server.doc.metadata.insert(key.clone(), value.clone());
                }
            }
            ServerChange::MetadataDelete {
                key,
                allowed_vm_states,
            } => {
                state_allows(allowed_vm_states)?;
                server.doc.metadata.remove(key);
            }
            ServerChange::Lock { locked } => server.doc.locked = *locked,
            ServerChange::SecurityGroup { id, add } => {
                let groups = &mut server.doc.security_group_ids;
                if *add {
                    if !groups.contains(id) {
                        groups.push(id.clone());
                    }
                } else {
                    groups.retain(|group| group != id);
                }
            }
            ServerChange::RecordAction { record } => {
                let actions = &mut server.doc.instance_actions;
                if !actions
                    .iter()
                    .any(|known| known.request_id == record.request_id)
                {
                    actions.push(record.clone());
                    let excess = actions.len().saturating_sub(MAX_ACTION_RECORDS);
                    actions.drain(..excess);
                }
            }
            ServerChange::Details {
                name,
                description,
                hostname,
            } => {
                if let Some(name) = name {
                    server.name = name.clone();
                }
                if let Some(description) = description {
                    server.doc.description = description.clone();
                }
                if let Some(hostname) = hostname {
                    server.doc.hostname = hostname.clone();
                }
            }
        }
        Ok(())
    }
}

/// The flavor as it was when the server got it (a copy, so catalogue edits don't rewrite history).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlavorRef {
    pub id: String,
    pub name: String,
    pub vcpus: String,
    pub ram: u64,
    pub disk: String,
}

impl From<&crate::flavors::Flavor> for FlavorRef {
    fn from(flavor: &crate::flavors::Flavor) -> Self {
        Self {
            id: flavor.id.clone(),
            name: flavor.name.clone(),
            vcpus: flavor.vcpus.clone(),
            ram: flavor.ram,
            disk: flavor.disk.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    pub port_id: String,
    pub subnet_id: String,
    pub ip_address: String,
    pub mac_address: String,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    pub id: String,
    pub device: String,
    pub boot_index: Option<i64>,
    pub size_gib: i64,
    pub volume_type: String,
    pub delete_on_termination: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicIp {
    pub id: String,
    pub address: String,
    pub delete_on_termination: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_follows_the_status_appendix() {
        use ServerStatus as S;
        use TaskState as T;
        use VmState as V;
        let cases = [
            (V::Building, Some(T::Scheduling), S::Build),
            (V::Building, Some(T::Spawning), S::Build),
            (V::Active, None, S::Active),
            (V::Active, Some(T::PoweringOff), S::Active),
            (V::Active, Some(T::Deleting), S::Active),
            (V::Active, Some(T::Rebooting), S::Reboot),
            (V::Active, Some(T::RebootStartedHard), S::HardReboot),
            (V::Stopped, None, S::Shutoff),
            (V::Stopped, Some(T::PoweringOn), S::Shutoff),
            (V::Error, None, S::Error),
            (V::Deleted, None, S::Deleted),
            (V::Resized, None, S::VerifyResize),
            (V::Stopped, Some(T::ResizePrep), S::Resize),
            (V::Stopped, Some(T::ResizeFinish), S::Resize),
            (V::Stopped, Some(T::Rebuilding), S::Rebuild),
            (V::Error, Some(T::RebuildSpawning), S::Rebuild),
            // A Nova resize runs on an active server (Nova's table; ECS resizes stopped ones).
            (V::Active, Some(T::ResizePrep), S::Resize),
            (V::Resized, Some(T::ResizeReverting), S::RevertResize),
            (V::Active, Some(T::Rebuilding), S::Rebuild),
            (V::Resized, Some(T::Rebooting), S::Unknown),
            (V::Stopped, Some(T::Rebooting), S::Unknown),
            (V::Building, Some(T::PoweringOn), S::Unknown),
        ];
        for (vm_state, task_state, expected) in cases {
            assert_eq!(
                ServerStatus::derive(vm_state, task_state),
                expected,
                "{vm_state:?}/{task_state:?}"
            );
        }
    }

    #[test]
    fn state_names_round_trip_through_text() {
        for state in ALL_VM_STATES {
            assert_eq!(VmState::parse(state.as_str()), Some(state));
        }
        for state in ALL_TASK_STATES {
            assert_eq!(TaskState::parse(state.as_str()), Some(state));
            let json = serde_json::to_value(state).expect("serializes");
            assert_eq!(json, serde_json::Value::from(state.as_str()));
        }
        for status in ServerStatus::ALL {
            assert_eq!(ServerStatus::parse(status.as_str()), Some(status));
        }
    }

    #[test]
    fn doc_changes_apply_once_even_when_replayed() {
        let volume = Volume {
            id: "v1".into(),
            device: "/dev/vdb".into(),
            boot_index: None,
            size_gib: 10,
            volume_type: "SSD".into(),
            delete_on_termination: false,
        };
        let nic = Nic {
            port_id: "p1".into(),
            subnet_id: "s".into(),
            ip_address: "192.168.0.9".into(),
            mac_address: "fa:16:3e:00:00:01".into(),
            primary: false,
        };
        let mut doc = ServerDoc::default();
        for _ in 0..2 {
            DocChange::AttachVolume {
                volume: volume.clone(),
            }
            .apply(&mut doc);
            DocChange::AddNic { nic: nic.clone() }.apply(&mut doc);
        }
        assert_eq!((doc.volumes.len(), doc.nics.len()), (1, 1));
        DocChange::DetachVolume {
            volume_id: "v1".into(),
        }
        .apply(&mut doc);
        DocChange::RemoveNic {
            port_id: "p1".into(),
        }
        .apply(&mut doc);
        assert!(doc.volumes.is_empty() && doc.nics.is_empty());
    }

    #[test]
    fn metadata_updates_are_capped_after_the_merge_and_a_refusal_changes_nothing() {
        let mut server = ServerRecord {
            id: "s".into(),
            project_id: "p".into(),
            name: "n".into(),
            flavor_id: "f".into(),
            state: PowerTriple {
                vm_state: VmState::Active,
                task_state: None,
                power_state: 1,
            },
            progress: 100,
            busy_job_id: None,
            created_at: 0,
            updated_at: 0,
            launched_at: None,
            fault: None,
            doc: ServerDoc::default(),
            tasks: Vec::new(),
        };
        let update = |keys: std::ops::Range<usize>| ServerChange::MetadataUpdate {
            metadata: keys
                .map(|key| (format!("k{key}"), "v".to_owned()))
                .collect(),
            max: MAX_SERVER_METADATA,
            allowed_vm_states: &[VmState::Active],
        };
        assert_eq!(update(0..MAX_SERVER_METADATA).apply(&mut server), Ok(()));
        // Keys already there are overwritten, not counted again.
        assert_eq!(update(0..MAX_SERVER_METADATA).apply(&mut server), Ok(()));
        let before = server.clone();
        let refused = update(MAX_SERVER_METADATA..MAX_SERVER_METADATA + 1).apply(&mut server);
        assert_eq!(
            refused,
            Err(Rejection::TooManyMetadata {
                server_id: "s".into(),
                count: MAX_SERVER_METADATA + 1,
                max: MAX_SERVER_METADATA,
            })
        );
        assert_eq!(server, before, "a refused update changes nothing");
    }

    #[test]
    fn active_filter_includes_transitional_statuses_but_not_shutoff() {
        let matches = ServerStatus::Active.filter_matches();
        assert!(matches.contains(&ServerStatus::Reboot));
        assert!(!matches.contains(&ServerStatus::Shutoff));
    }
}
