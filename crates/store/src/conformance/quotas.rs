//! Conformance: quotas checked at acceptance, project usage, and server groups.

use super::{
    active_server, create_job_insert, finish, insert_ok, server_job_insert, server_of, settle,
    step, volume,
};
use engine::compute::{Operation, ServerPatch};
use engine::job::{JobKind, JobStatus};
use engine::quota::{
    QuotaCheck, QuotaResource, Quotas, ServerGroupInsert, ServerGroupMembership, ServerGroupRecord,
    Usage, ANTI_AFFINITY,
};
use engine::server::{power_state, VmState};
use engine::store::{JobInsertError, Rejection, Store};

fn refused(result: Result<impl std::fmt::Debug, JobInsertError>) -> Rejection {
    match result {
        Err(JobInsertError::Rejected(rejection)) => rejection,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A create of `count` servers of 2 vCPUs and 4 GiB, each with 1 NIC and 1 disk, under `quotas`.
fn create_within(project: &str, count: usize, quotas: Quotas) -> engine::store::JobInsert {
    let mut insert = create_job_insert(project, count, 0);
    for server in &mut insert.new_servers {
        server.doc.flavor.vcpus = "2".into();
        server.doc.flavor.ram = 4096;
        server.doc.nics = vec![super::nic(&format!("port-{}", server.id), "10.0.0.9")];
        server.doc.volumes = vec![volume(&format!("disk-{}", server.id), "/dev/vda")];
    }
    let count = count as u64;
    insert.quota = Some(QuotaCheck {
        quotas,
        demand: Usage {
            instances: count,
            cores: 2 * count,
            ram: 4096 * count,
            nics: count,
            volumes: count,
            server_groups: 0,
        },
    });
    insert
}

pub(crate) async fn quotas_refuse_a_create_past_a_limit_and_leave_no_trace(store: &dyn Store) {
    let project = "p-quota";
    let quotas = Quotas {
        instances: Some(3),
        cores: Some(100),
        ..Quotas::default()
    };
    insert_ok(store, create_within(project, 2, quotas)).await;
    let used = store.project_usage(project).await.expect("readable");
    assert_eq!(
        used,
        Usage {
            instances: 2,
            cores: 4,
            ram: 8192,
            nics: 2,
            volumes: 2,
            server_groups: 0
        }
    );
    let over = create_within(project, 2, quotas);
    let job_id = over.job.id.clone();
    assert_eq!(
        refused(store.job_insert(over).await),
        Rejection::QuotaExceeded {
            resource: QuotaResource::Instances,
            limit: 3,
            requested: 4
        }
    );
    assert!(store
        .job_get(project, &job_id)
        .await
        .expect("readable")
        .is_none());
    assert_eq!(
        store.project_usage(project).await.expect("readable"),
        used,
        "a refused create adds nothing"
    );
    let cores = Quotas {
        cores: Some(5),
        ..Quotas::default()
    };
    assert_eq!(
        refused(store.job_insert(create_within(project, 1, cores)).await),
        Rejection::QuotaExceeded {
            resource: QuotaResource::Cores,
            limit: 5,
            requested: 6
        }
    );
    // Without limits nothing is counted and anything goes.
    insert_ok(store, create_within(project, 5, Quotas::default())).await;
    assert_eq!(
        store
            .project_usage("p-quota-empty")
            .await
            .expect("readable"),
        Usage::default()
    );
}

pub(crate) async fn unfinished_attaches_count_against_the_volume_quota(store: &dyn Store) {
    let project = "p-quota-vol";
    let server_id = active_server(store, project, 0).await;
    let quotas = Quotas {
        volumes: Some(1),
        ..Quotas::default()
    };
    let attach = |volume_id: &str| {
        let mut insert = server_job_insert(
            project,
            &server_id,
            JobKind::AttachVolume,
            vec![Operation::AttachVolume {
                volume: volume(volume_id, "/dev/vdb"),
            }],
            None,
            Vec::new(),
        );
        insert.quota = Some(QuotaCheck {
            quotas,
            demand: Usage {
                volumes: 1,
                ..Usage::default()
            },
        });
        insert
    };
    let first = insert_ok(store, attach("vol-a")).await;
    assert_eq!(
        store
            .project_usage(project)
            .await
            .expect("readable")
            .volumes,
        1,
        "the disk being attached counts"
    );
    // Free the server without finishing the task: fail nothing, just check the quota on a
    // second server.
    let second_server = active_server(store, project, 0).await;
    let mut second = attach("vol-b");
    second.preconditions[0].server_id = second_server.clone();
    for task in &mut second.job.tasks {
        task.server_id = second_server.clone();
    }
    assert_eq!(
        refused(store.job_insert(second).await),
        Rejection::QuotaExceeded {
            resource: QuotaResource::Volumes,
            limit: 1,
            requested: 2
        }
    );
    finish(store, &first, 20).await;
}

pub(crate) async fn an_unfinished_resize_counts_what_it_adds(store: &dyn Store) {
    let project = "p-quota-resize";
    let server_id = active_server(store, project, 0).await;
    let before = store.project_usage(project).await.expect("readable");
    let mut bigger = server_of(store, project, &server_id).await.doc.flavor;
    bigger.vcpus = "4".into();
    bigger.ram += 2048;
    let resize = server_job_insert(
        project,
        &server_id,
        JobKind::ResizeServer,
        vec![Operation::ResizeServer { flavor: bigger }],
        None,
        Vec::new(),
    );
    let job = insert_ok(store, resize).await;
    let during = store.project_usage(project).await.expect("readable");
    assert_eq!(
        during.cores, 4,
        "the fixture flavor has no vCPUs: {before:?}"
    );
    assert_eq!(during.ram, before.ram + 2048);
    finish(store, &job, 20).await;
    assert_eq!(
        store
            .project_usage(project)
            .await
            .expect("readable")
            .instances,
        1
    );
}

fn group(project: &str, id: &str, name: &str, created_at: i64) -> ServerGroupRecord {
    ServerGroupRecord {
        id: id.to_owned(),
        project_id: project.to_owned(),
        name: name.to_owned(),
        policies: vec![ANTI_AFFINITY.to_owned()],
        created_at,
        members: Vec::new(),
    }
}

async fn insert_group(store: &dyn Store, group: ServerGroupRecord, max_groups: Option<u64>) {
    store
        .server_group_insert(ServerGroupInsert { group, max_groups })
        .await
        .expect("group stored");
}

pub(crate) async fn server_groups_are_stored_per_project_within_their_quota(store: &dyn Store) {
    let project = "p-groups";
    insert_group(store, group(project, "g-1", "first", 1), Some(2)).await;
    insert_group(store, group(project, "g-2", "second", 2), Some(2)).await;
    assert_eq!(
        refused(
            store
                .server_group_insert(ServerGroupInsert {
                    group: group(project, "g-3", "third", 3),
                    max_groups: Some(2),
                })
                .await
        ),
        Rejection::QuotaExceeded {
            resource: QuotaResource::ServerGroups,
            limit: 2,
            requested: 3
        }
    );
    let listed = store.server_group_list(project).await.expect("readable");
    let names: Vec<&str> = listed.iter().map(|group| group.name.as_str()).collect();
    assert_eq!(
        names,
        ["first", "second"],
        "oldest first; the refused one is absent"
    );
    assert_eq!(listed[0], group(project, "g-1", "first", 1));
    assert_eq!(
        store
            .project_usage(project)
            .await
            .expect("readable")
            .server_groups,
        2
    );
    assert!(store
        .server_group_get("p-groups-other", "g-1")
        .await
        .expect("readable")
        .is_none());
    assert!(store
        .server_group_list("p-groups-other")
        .await
        .expect("readable")
        .is_empty());
    assert!(!store
        .server_group_delete("p-groups-other", "g-1", 5)
        .await
        .expect("writes"));
    assert!(store
        .server_group_delete(project, "g-2", 5)
        .await
        .expect("writes"));
    assert!(store
        .server_group_get(project, "g-2")
        .await
        .expect("readable")
        .is_none());
}

fn create_into(
    project: &str,
    count: usize,
    group_id: &str,
    max_members: Option<u64>,
) -> engine::store::JobInsert {
    let mut insert = create_job_insert(project, count, 0);
    for server in &mut insert.new_servers {
        server.doc.availability_zone = "az-1".into();
        server.doc.server_group_id = Some(group_id.to_owned());
        // Every proposal collides: the store must move them apart.
        server.doc.host = Some("az-1-host-0001".into());
    }
    insert.quota = Some(QuotaCheck {
        quotas: Quotas {
            server_group_members: max_members,
            ..Quotas::default()
        },
        demand: Usage::default(),
    });
    insert
}

pub(crate) async fn creates_into_a_group_place_members_on_distinct_hosts(store: &dyn Store) {
    let project = "p-group-create";
    assert_eq!(
        refused(
            store
                .job_insert(create_into(project, 1, "g-none", None))
                .await
        ),
        Rejection::ServerGroupNotFound {
            group_id: "g-none".into()
        }
    );
    insert_group(store, group(project, "g-c", "c", 1), None).await;
    let created = insert_ok(store, create_into(project, 2, "g-c", Some(3))).await;
    assert_eq!(
        refused(
            store
                .job_insert(create_into(project, 2, "g-c", Some(3)))
                .await
        ),
        Rejection::QuotaExceeded {
            resource: QuotaResource::ServerGroupMembers,
            limit: 3,
            requested: 4
        }
    );
    insert_ok(store, create_into(project, 1, "g-c", Some(3))).await;
    let members = store
        .server_group_get(project, "g-c")
        .await
        .expect("readable")
        .expect("exists")
        .members;
    assert_eq!(members.len(), 3);
    assert_eq!(
        members[..2],
        [
            created.tasks[0].server_id.clone(),
            created.tasks[1].server_id.clone()
        ]
    );
    let mut hosts = Vec::new();
    for member in &members {
        let server = server_of(store, project, member).await;
        hosts.push(server.doc.host.expect("members have a host"));
    }
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts.len(), 3, "anti-affinity: one host per member");
}

fn membership(project: &str, group_id: &str, server_id: &str, add: bool) -> ServerGroupMembership {
    ServerGroupMembership {
        project_id: project.to_owned(),
        group_id: group_id.to_owned(),
        server_id: server_id.to_owned(),
        add,
        max_members: Some(1),
        now: 50,
    }
}

/// Stops an active server (a stop job run to its end).
async fn stop(store: &dyn Store, project: &str, server_id: &str) {
    let stop = server_job_insert(
        project,
        server_id,
        JobKind::StopServers,
        vec![Operation::StopServer { hard: false }],
        None,
        Vec::new(),
    );
    let job = insert_ok(store, stop).await;
    store
        .task_end(vec![step(
            &job.tasks[0],
            JobStatus::Success,
            vec![settle(VmState::Stopped, power_state::SHUTDOWN)],
            30,
        )])
        .await
        .expect("writes");
}

pub(crate) async fn members_are_added_and_removed_when_stopped(store: &dyn Store) {
    let project = "p-group-members";
    insert_group(store, group(project, "g-m", "m", 1), None).await;
    let running = active_server(store, project, 0).await;
    assert!(matches!(
        refused(
            store
                .server_group_membership(membership(project, "g-m", &running, true))
                .await
        ),
        Rejection::ServerWrongState { .. }
    ));
    stop(store, project, &running).await;
    assert_eq!(
        refused(
            store
                .server_group_membership(membership(project, "g-x", &running, true))
                .await
        ),
        Rejection::ServerGroupNotFound {
            group_id: "g-x".into()
        }
    );
    assert!(matches!(
        refused(
            store
                .server_group_membership(membership(project, "g-m", "nobody", true))
                .await
        ),
        Rejection::ServerNotFound { .. }
    ));
    store
        .server_group_membership(membership(project, "g-m", &running, true))
        .await
        .expect("added");
    let server = server_of(store, project, &running).await;
    assert_eq!(server.doc.server_group_id.as_deref(), Some("g-m"));
    assert!(server.doc.host.is_some(), "a member gets a host of its own");
    assert_eq!(server.updated_at, 50);
    assert!(matches!(
        refused(
            store
                .server_group_membership(membership(project, "g-m", &running, true))
                .await
        ),
        Rejection::AlreadyInServerGroup { .. }
    ));
    let another = active_server(store, project, 0).await;
    stop(store, project, &another).await;
    assert_eq!(
        refused(
            store
                .server_group_membership(membership(project, "g-m", &another, true))
                .await
        ),
        Rejection::QuotaExceeded {
            resource: QuotaResource::ServerGroupMembers,
            limit: 1,
            requested: 2
        }
    );
    assert!(matches!(
        refused(
            store
                .server_group_membership(membership(project, "g-m", &another, false))
                .await
        ),
        Rejection::NotInServerGroup { .. }
    ));
    store
        .server_group_membership(membership(project, "g-m", &running, false))
        .await
        .expect("removed");
    assert_eq!(
        server_of(store, project, &running)
            .await
            .doc
            .server_group_id,
        None
    );
    assert!(store
        .server_group_get(project, "g-m")
        .await
        .expect("readable")
        .expect("exists")
        .members
        .is_empty());
}

pub(crate) async fn deleting_a_group_or_a_member_ends_the_membership(store: &dyn Store) {
    let project = "p-group-delete";
    insert_group(store, group(project, "g-d", "d", 1), None).await;
    let created = insert_ok(store, create_into(project, 2, "g-d", None)).await;
    finish(store, &created, 5).await;
    let (first, second) = (
        created.tasks[0].server_id.clone(),
        created.tasks[1].server_id.clone(),
    );
    // Deleting a member server removes it from the group.
    let delete = server_job_insert(
        project,
        &first,
        JobKind::DeleteServers,
        vec![Operation::DeleteServer {
            delete_volume: false,
            delete_publicip: None,
        }],
        None,
        Vec::new(),
    );
    let job = insert_ok(store, delete).await;
    let gone = ServerPatch {
        remove: true,
        ..settle(VmState::Deleted, power_state::NOSTATE)
    };
    store
        .task_end(vec![step(
            &job.tasks[0],
            JobStatus::Success,
            vec![gone],
            40,
        )])
        .await
        .expect("writes");
    let group = store
        .server_group_get(project, "g-d")
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(group.members, std::slice::from_ref(&second));
    // Deleting the group frees its members.
    assert!(store
        .server_group_delete(project, "g-d", 60)
        .await
        .expect("writes"));
    let server = server_of(store, project, &second).await;
    assert_eq!(server.doc.server_group_id, None);
    assert_eq!(server.updated_at, 60);
}
