//! SQLite: tenant usage, quota checks and server groups (schema version 2).
//!
//! Called by [`crate::sqlite`]'s writer (checks and writes, inside the group's transaction) and
//! readers. A group's members are the servers whose document names it
//! (`$.server_group_id`), so deleting a server takes it out of its group with its row.

use engine::compute::seed_of;
use engine::quota::{
    first_exceeded, group_host, QuotaCheck, QuotaResource, ServerGroupInsert,
    ServerGroupMembership, ServerGroupRecord, Usage,
};
use engine::server::{ServerDoc, ServerRecord, ServerStatus, VmState};
use engine::store::{JobInsertError, Rejection, StoreError};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// The step from schema version 1 to 2: server groups. Kept apart from other migrations so
/// steps can be renumbered when branches meet; it only adds a table.
pub(crate) const MIGRATION_SERVER_GROUPS: &str = r#"
CREATE TABLE IF NOT EXISTS server_groups (
    -- Insertion order: lists show groups oldest first, also within one millisecond.
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    -- JSON array of strings.
    policies    TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS server_groups_by_project ON server_groups (project_id, seq);
"#;

/// What the project's servers hold, plus the disks, NICs, vCPUs and memory unfinished jobs
/// (attach, add NIC, resize) are adding, plus its groups.
pub(crate) fn project_usage(
    connection: &Connection,
    project_id: &str,
) -> Result<Usage, StoreError> {
    let (instances, cores, ram, nics, volumes) = connection
        .prepare_cached(
            "SELECT count(*),
                    coalesce(sum(CAST(json_extract(doc, '$.flavor.vcpus') AS INTEGER)), 0),
                    coalesce(sum(json_extract(doc, '$.flavor.ram')), 0),
                    coalesce(sum(json_array_length(doc, '$.nics')), 0),
                    coalesce(sum(json_array_length(doc, '$.volumes')), 0)
             FROM servers WHERE project_id = ?1",
        )
        .map_err(backend)?
        .query_row([project_id], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, i64>(4)?,
            ))
        })
        .map_err(backend)?;
    let (pending_nics, pending_volumes) = connection
        .prepare_cached(
            "SELECT coalesce(sum(json_extract(t.operation, '$.op') = 'add_nic'), 0),
                    coalesce(sum(json_extract(t.operation, '$.op') = 'attach_volume'), 0)
             FROM live_tasks t
             WHERE t.project_id = ?1
               AND json_extract(t.operation, '$.op') IN ('add_nic', 'attach_volume')",
        )
        .map_err(backend)?
        .query_row([project_id], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(backend)?;
    // A resize changes the document's flavor with its last step: until then, what it adds to
    // the server's flavor counts as used.
    let (pending_cores, pending_ram) = connection
        .prepare_cached(
            "SELECT coalesce(sum(max(0, CAST(json_extract(t.operation, '$.flavor.vcpus') AS INTEGER)
                                    - CAST(json_extract(s.doc, '$.flavor.vcpus') AS INTEGER))), 0),
                    coalesce(sum(max(0, json_extract(t.operation, '$.flavor.ram')
                                    - json_extract(s.doc, '$.flavor.ram'))), 0)
             FROM live_tasks t JOIN servers s ON s.id = t.server_id
             WHERE t.project_id = ?1
               AND json_extract(t.operation, '$.op') IN ('resize_server', 'resize_to_verify')",
        )
        .map_err(backend)?
        .query_row([project_id], |row| {
            Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?))
        })
        .map_err(backend)?;
    let server_groups: i64 = connection
        .prepare_cached("SELECT count(*) FROM server_groups WHERE project_id = ?1")
        .map_err(backend)?
        .query_row([project_id], |row| row.get(0))
        .map_err(backend)?;
    let count = |value: i64| u64::try_from(value).unwrap_or(0);
    Ok(Usage {
        instances: count(instances),
        cores: count(cores + pending_cores),
        ram: count(ram + pending_ram),
        nics: count(nics + pending_nics),
        volumes: count(volumes + pending_volumes),
        server_groups: count(server_groups),
    })
}

/// Checks a job's quotas and the groups its new servers join, before anything is written.
/// Returns the hosts to give new servers whose proposed host another member of their group
/// holds (server id → host).
pub(crate) fn check_job(
    connection: &Connection,
    project_id: &str,
    quota: Option<&QuotaCheck>,
    new_servers: &[ServerRecord],
) -> Result<HashMap<String, String>, JobInsertError> {
    if let Some(check) = quota.filter(|check| check.quotas.limits_servers()) {
        let used = project_usage(connection, project_id)?;
        if let Some((resource, limit, requested)) =
            first_exceeded(&check.quotas, &used, &check.demand)
        {
            return Err(Rejection::QuotaExceeded {
                resource,
                limit,
                requested,
            }
            .into());
        }
    }
    let mut hosts = HashMap::new();
    let mut joining: HashMap<&str, Vec<&ServerRecord>> = HashMap::new();
    for server in new_servers {
        if let Some(group_id) = &server.doc.server_group_id {
            joining.entry(group_id).or_default().push(server);
        }
    }
    let max_members = quota.and_then(|check| check.quotas.server_group_members);
    for (group_id, servers) in joining {
        if !group_exists(connection, project_id, group_id)? {
            return Err(Rejection::ServerGroupNotFound {
                group_id: group_id.to_owned(),
            }
            .into());
        }
        let mut taken = member_hosts(connection, project_id, group_id)?;
        let requested = (taken.len() + servers.len()) as u64;
        if let Some(limit) = max_members.filter(|limit| requested > *limit) {
            return Err(Rejection::QuotaExceeded {
                resource: QuotaResource::ServerGroupMembers,
                limit,
                requested,
            }
            .into());
        }
        for server in servers {
            let proposed = server.doc.host.clone().unwrap_or_default();
            let host = if proposed.is_empty() || taken.contains(&proposed) {
                let host = group_host(&server.doc.availability_zone, seed_of(&server.id), &taken);
                hosts.insert(server.id.clone(), host.clone());
                host
            } else {
                proposed
            };
            taken.push(host);
        }
    }
    Ok(hosts)
}

fn group_exists(
    connection: &Connection,
    project_id: &str,
    group_id: &str,
) -> Result<bool, StoreError> {
    connection
        .prepare_cached("SELECT 1 FROM server_groups WHERE id = ?1 AND project_id = ?2")
        .map_err(backend)?
        .query_row(params![group_id, project_id], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .map_err(backend)
}

/// The hosts of the group's members (a member never moved has none yet: it is on its zone's
/// shared host, which the group does not reserve).
fn member_hosts(
    connection: &Connection,
    project_id: &str,
    group_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT coalesce(json_extract(doc, '$.host'), '') FROM servers
             WHERE project_id = ?1 AND json_extract(doc, '$.server_group_id') = ?2 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![project_id, group_id], |row| row.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|row| row.map_err(backend)).collect()
}

fn members(
    connection: &Connection,
    project_id: &str,
    group_id: &str,
) -> Result<Vec<String>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT id FROM servers
             WHERE project_id = ?1 AND json_extract(doc, '$.server_group_id') = ?2 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map(params![project_id, group_id], |row| row.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|row| row.map_err(backend)).collect()
}

pub(crate) fn insert_group(
    connection: &Connection,
    insert: &ServerGroupInsert,
) -> Result<(), JobInsertError> {
    let group = &insert.group;
    if let Some(limit) = insert.max_groups {
        let used = project_usage(connection, &group.project_id)?.server_groups;
        if used + 1 > limit {
            return Err(Rejection::QuotaExceeded {
                resource: QuotaResource::ServerGroups,
                limit,
                requested: used + 1,
            }
            .into());
        }
    }
    let policies = serde_json::to_string(&group.policies)
        .map_err(|error| StoreError::Backend(error.to_string()))?;
    connection
        .prepare_cached(
            "INSERT INTO server_groups (id, project_id, name, policies, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(backend)?
        .execute(params![
            group.id,
            group.project_id,
            group.name,
            policies,
            group.created_at
        ])
        .map_err(backend)?;
    Ok(())
}

fn group_from_row(
    connection: &Connection,
    row: (String, String, String, String, i64),
) -> Result<ServerGroupRecord, StoreError> {
    let (id, project_id, name, policies, created_at) = row;
    let policies = serde_json::from_str(&policies)
        .map_err(|error| StoreError::Corrupt(format!("server group {id}: policies: {error}")))?;
    let members = members(connection, &project_id, &id)?;
    Ok(ServerGroupRecord {
        id,
        project_id,
        name,
        policies,
        created_at,
        members,
    })
}

type GroupRow = (String, String, String, String, i64);

fn read_group_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GroupRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

pub(crate) fn get_group(
    connection: &Connection,
    project_id: &str,
    group_id: &str,
) -> Result<Option<ServerGroupRecord>, StoreError> {
    let row = connection
        .prepare_cached(
            "SELECT id, project_id, name, policies, created_at FROM server_groups
             WHERE id = ?1 AND project_id = ?2",
        )
        .map_err(backend)?
        .query_row(params![group_id, project_id], read_group_row)
        .optional()
        .map_err(backend)?;
    row.map(|row| group_from_row(connection, row)).transpose()
}

pub(crate) fn list_groups(
    connection: &Connection,
    project_id: &str,
) -> Result<Vec<ServerGroupRecord>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT id, project_id, name, policies, created_at FROM server_groups
             WHERE project_id = ?1 ORDER BY seq",
        )
        .map_err(backend)?;
    let rows = statement
        .query_map([project_id], read_group_row)
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    rows.into_iter()
        .map(|row| group_from_row(connection, row))
        .collect()
}

pub(crate) fn delete_group(
    connection: &Connection,
    project_id: &str,
    group_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let deleted = connection
        .prepare_cached("DELETE FROM server_groups WHERE id = ?1 AND project_id = ?2")
        .map_err(backend)?
        .execute(params![group_id, project_id])
        .map_err(backend)?;
    if deleted == 0 {
        return Ok(false);
    }
    connection
        .prepare_cached(
            "UPDATE servers SET doc = json_remove(doc, '$.server_group_id'), updated_at = ?3
             WHERE project_id = ?1 AND json_extract(doc, '$.server_group_id') = ?2",
        )
        .map_err(backend)?
        .execute(params![project_id, group_id, now])
        .map_err(backend)?;
    Ok(true)
}

pub(crate) fn change_membership(
    connection: &Connection,
    change: &ServerGroupMembership,
) -> Result<(), JobInsertError> {
    if !group_exists(connection, &change.project_id, &change.group_id)? {
        return Err(Rejection::ServerGroupNotFound {
            group_id: change.group_id.clone(),
        }
        .into());
    }
    let found = connection
        .prepare_cached(
            "SELECT vm_state, task_state, busy_job_id, doc FROM servers
             WHERE id = ?1 AND project_id = ?2",
        )
        .map_err(backend)?
        .query_row(params![change.server_id, change.project_id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .optional()
        .map_err(backend)?;
    let Some((vm_state, task_state, busy_job_id, doc)) = found else {
        return Err(Rejection::ServerNotFound {
            server_id: change.server_id.clone(),
        }
        .into());
    };
    let mut doc: ServerDoc = serde_json::from_str(&doc).map_err(|error| {
        StoreError::Corrupt(format!("server {}: doc: {error}", change.server_id))
    })?;
    if change.add {
        if let Some(group_id) = &doc.server_group_id {
            return Err(Rejection::AlreadyInServerGroup {
                server_id: change.server_id.clone(),
                group_id: group_id.clone(),
            }
            .into());
        }
        if let Some(job_id) = busy_job_id {
            return Err(Rejection::ServerBusy {
                server_id: change.server_id.clone(),
                job_id,
            }
            .into());
        }
        let vm_state = VmState::parse(&vm_state)
            .ok_or_else(|| StoreError::Corrupt(format!("vm_state {vm_state:?}")))?;
        let task_state = task_state
            .as_deref()
            .map(|text| {
                engine::server::TaskState::parse(text)
                    .ok_or_else(|| StoreError::Corrupt(format!("task_state {text:?}")))
            })
            .transpose()?;
        // The add page: "The ECS to be added has been stopped."
        if vm_state != VmState::Stopped || task_state.is_some() {
            return Err(Rejection::ServerWrongState {
                server_id: change.server_id.clone(),
                status: ServerStatus::derive(vm_state, task_state).as_str(),
            }
            .into());
        }
        if doc.dedicated_host_id.is_some() {
            return Err(Rejection::AntiAffinityOnDedicatedHost {
                server_id: change.server_id.clone(),
            }
            .into());
        }
        let taken = member_hosts(connection, &change.project_id, &change.group_id)?;
        let requested = taken.len() as u64 + 1;
        if let Some(limit) = change.max_members.filter(|limit| requested > *limit) {
            return Err(Rejection::QuotaExceeded {
                resource: QuotaResource::ServerGroupMembers,
                limit,
                requested,
            }
            .into());
        }
        // Anti-affinity: a server on its zone's shared host, or on another member's, is moved
        // to a host of its own (it is stopped, so this is a cold placement).
        if doc.host.as_ref().is_none_or(|host| taken.contains(host)) {
            doc.host = Some(group_host(
                &doc.availability_zone,
                seed_of(&change.server_id),
                &taken,
            ));
        }
        doc.server_group_id = Some(change.group_id.clone());
    } else {
        if doc.server_group_id.as_deref() != Some(change.group_id.as_str()) {
            return Err(Rejection::NotInServerGroup {
                server_id: change.server_id.clone(),
                group_id: change.group_id.clone(),
            }
            .into());
        }
        doc.server_group_id = None;
    }
    let text =
        serde_json::to_string(&doc).map_err(|error| StoreError::Backend(error.to_string()))?;
    connection
        .prepare_cached("UPDATE servers SET doc = ?1, updated_at = ?2 WHERE id = ?3")
        .map_err(backend)?
        .execute(params![text, change.now, change.server_id])
        .map_err(backend)?;
    Ok(())
}
