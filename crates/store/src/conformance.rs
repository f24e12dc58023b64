//! The behaviour every backend must show: one scenario per `pub(crate) async fn(&dyn Store)`,
//! each run as its own test on a fresh, empty store by [`conformance_tests!`] (the model is
//! River's driver test suite: the same list of scenarios against every driver). A scenario
//! asserts only on what it wrote itself, so none depends on another having run before it.

use engine::compute::{Operation, ServerPatch};
use engine::job::{new_job_id, new_server_id, JobKind, JobRecord, JobStatus, TaskRecord};
use engine::server::{
    power_state, DocChange, FlavorRef, Nic, PowerTriple, ServerChange, ServerDoc, ServerFault,
    ServerRecord, ServerStatus, TaskState, VmState, Volume,
};
use engine::store::{
    ClientToken, Insertion, JobInsert, JobInsertError, Precondition, Rejection, Reservation,
    ServerEdit, ServerEditError, ServerQuery, ServerUpdate, Store, TagMatch, TaskClaim, TaskEnd,
};

/// Runs every scenario of the suite, one test each, on a store of its own: `$fresh` is a
/// function returning `(Arc<dyn Store>, guard)`, called once per test; the guard (a temporary
/// folder, a scratch database) lives until the test ends. A scenario therefore sees only what it
/// wrote, and one failure does not hide the others. Another backend (PostgreSQL) runs the same
/// list with `conformance_tests!(its_fresh_store);` in its own test module.
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance::conformance_tests!(@each $fresh;
            accepted_jobs_read_back_with_their_tasks_in_order,
            jobs_of_another_project_are_invisible,
            claims_return_only_due_tasks_earliest_first,
            ends_are_fenced_by_the_task,
            finished_tasks_finish_the_job_and_free_the_server,
            partial_failure_fails_the_job_with_the_first_failed_code,
            preconditions_reject_without_a_trace,
            deleting_removes_the_server,
            server_lists_filter_and_page,
            purge_removes_only_jobs_finished_before_the_cutoff,
            a_client_token_replays_its_first_job_and_refuses_another_request,
            a_server_changed_since_planning_is_refused,
            reservations_refuse_what_another_server_holds_or_is_getting,
            document_changes_apply_with_their_step,
            an_accepted_job_shows_its_initial_task_state_at_once,
            keypairs_are_per_project_and_unique_by_name,
            several_tasks_on_one_server_free_it_with_the_last,
            server_updates_change_only_the_projects_server,
            the_unfinished_job_limit_counts_only_the_projects_unfinished_jobs,
            server_edits_check_and_apply_in_one_write,
            server_edits_of_metadata_need_an_active_or_stopped_server,
            tags_list_per_project_and_filter_server_lists,
            quotas_refuse_a_create_past_a_limit_and_leave_no_trace,
            unfinished_attaches_count_against_the_volume_quota,
            an_unfinished_resize_counts_what_it_adds,
            server_groups_are_stored_per_project_within_their_quota,
            creates_into_a_group_place_members_on_distinct_hosts,
            members_are_added_and_removed_when_stopped,
            deleting_a_group_or_a_member_ends_the_membership,
            jobs_list_newest_first_filtered_and_paged,
        );
    };
    (@each $fresh:path; $($scenario:ident,)*) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                let (store, _guard) = $fresh();
                $crate::conformance::$scenario(store.as_ref()).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;

mod job_list;
mod quotas;
pub(crate) use job_list::jobs_list_newest_first_filtered_and_paged;
pub(crate) use quotas::{
    an_unfinished_resize_counts_what_it_adds, creates_into_a_group_place_members_on_distinct_hosts,
    deleting_a_group_or_a_member_ends_the_membership, members_are_added_and_removed_when_stopped,
    quotas_refuse_a_create_past_a_limit_and_leave_no_trace,
    server_groups_are_stored_per_project_within_their_quota,
    unfinished_attaches_count_against_the_volume_quota,
};

/// A create job of `count` servers in `project`, accepted at `now`, due at once.
pub fn create_job_insert(project: &str, count: usize, now: i64) -> JobInsert {
    let job_id = new_job_id(engine::clock::from_unix_ms(1_000));
    let mut servers = Vec::new();
    let mut tasks = Vec::new();
    for index in 0..count {
        let server = server_record(project, &format!("srv-{index:04}"), Some(&job_id), now);
        tasks.push(task(
            &job_id,
            index,
            &server.id,
            Operation::CreateServer,
            now,
        ));
        servers.push(server);
    }
    JobInsert {
        job: job(&job_id, project, JobKind::CreateServers, now, tasks),
        new_servers: servers,
        preconditions: Vec::new(),
        reservations: Vec::new(),
        client_token: None,
        unfinished_job_limit: None,
        quota: None,
    }
}

fn server_record(project: &str, name: &str, busy_job_id: Option<&str>, now: i64) -> ServerRecord {
    ServerRecord {
        id: new_server_id(engine::clock::from_unix_ms(1_000)),
        project_id: project.to_owned(),
        name: name.to_owned(),
        flavor_id: "s3.medium.1".to_owned(),
        state: PowerTriple {
            vm_state: VmState::Building,
            task_state: Some(TaskState::Scheduling),
            power_state: power_state::NOSTATE,
        },
        progress: 0,
        busy_job_id: busy_job_id.map(str::to_owned),
        created_at: now,
        updated_at: now,
        launched_at: None,
        fault: None,
        doc: ServerDoc {
            image_id: "img".to_owned(),
            ..ServerDoc::default()
        },
        tasks: Vec::new(),
    }
}

fn task(job_id: &str, index: usize, server_id: &str, operation: Operation, now: i64) -> TaskRecord {
    TaskRecord {
        id: new_job_id(engine::clock::from_unix_ms(1_000)),
        job_id: job_id.to_owned(),
        index: index as i64,
        server_id: server_id.to_owned(),
        operation,
        status: JobStatus::Init,
        // One phase, due at acceptance: the task's end is due at once.
        schedule: vec![now],
        fault: None,
        begin_time: now,
        end_time: None,
        error_code: None,
        fail_reason: None,
    }
}

fn job(id: &str, project: &str, kind: JobKind, now: i64, tasks: Vec<TaskRecord>) -> JobRecord {
    JobRecord {
        id: id.to_owned(),
        project_id: project.to_owned(),
        kind,
        status: JobStatus::Init,
        begin_time: now,
        end_time: None,
        error_code: None,
        fail_reason: None,
        tasks,
    }
}

pub(super) fn settle(vm_state: VmState, power: i64) -> ServerPatch {
    ServerPatch {
        vm_state: Some(vm_state),
        task_state: Some(None),
        power_state: Some(power),
        ..ServerPatch::default()
    }
}

/// Ends `task` with `status` and the last of `patches`, at `now`.
pub(super) fn step(
    task: &TaskRecord,
    status: JobStatus,
    patches: Vec<ServerPatch>,
    now: i64,
) -> TaskEnd {
    TaskEnd {
        job_id: task.job_id.clone(),
        task_index: task.index,
        server_id: task.server_id.clone(),
        status,
        end_time: now,
        error_code: (status == JobStatus::Fail).then(|| "Ecs.0204".to_owned()),
        fail_reason: (status == JobStatus::Fail).then(|| "injected".to_owned()),
        patch: patches.into_iter().last().unwrap_or_default(),
        now,
    }
}

pub(super) async fn insert_ok(store: &dyn Store, insert: JobInsert) -> JobRecord {
    let job = insert.job.clone();
    store.job_insert(insert).await.expect("job accepted");
    job
}

async fn reread(store: &dyn Store, job: &JobRecord) -> JobRecord {
    store
        .job_get(&job.project_id, &job.id)
        .await
        .expect("readable")
        .expect("job exists")
}

/// Runs every task of `job` to SUCCESS, leaving its servers ACTIVE.
pub(super) async fn finish(store: &dyn Store, job: &JobRecord, now: i64) {
    let advances = job
        .tasks
        .iter()
        .map(|task| {
            step(
                task,
                JobStatus::Success,
                vec![settle(VmState::Active, power_state::RUNNING)],
                now,
            )
        })
        .collect();
    store.task_end(advances).await.expect("advanced");
}

pub(crate) async fn accepted_jobs_read_back_with_their_tasks_in_order(store: &dyn Store) {
    let insert = create_job_insert("p-read", 3, 1_000);
    let server_ids: Vec<_> = insert.new_servers.iter().map(|s| s.id.clone()).collect();
    let job = insert_ok(store, insert).await;
    let read = reread(store, &job).await;
    assert_eq!(read, job);
    assert_eq!(
        read.tasks
            .iter()
            .map(|t| t.server_id.clone())
            .collect::<Vec<_>>(),
        server_ids
    );
    let server = store
        .server_get("p-read", &server_ids[0])
        .await
        .expect("readable")
        .expect("visible while building");
    assert_eq!(server.state.status(), ServerStatus::Build);
    assert_eq!(server.busy_job_id.as_deref(), Some(job.id.as_str()));
    assert_eq!(store.job_count_unfinished().await.expect("counts"), 1);
    finish(store, &job, 1_100).await;
}

pub(crate) async fn jobs_of_another_project_are_invisible(store: &dyn Store) {
    let job = insert_ok(store, create_job_insert("p-mine", 1, 0)).await;
    assert!(store
        .job_get("p-other", &job.id)
        .await
        .expect("readable")
        .is_none());
    let server_id = &job.tasks[0].server_id;
    assert!(store
        .server_get("p-other", server_id)
        .await
        .expect("readable")
        .is_none());
    finish(store, &job, 10).await;
}

pub(crate) async fn claims_return_only_due_tasks_earliest_first(store: &dyn Store) {
    let later = insert_ok(store, create_job_insert("p-claim", 1, 5_000)).await;
    let sooner = insert_ok(store, create_job_insert("p-claim", 1, 4_000)).await;
    let claimed = store
        .task_claim_due(TaskClaim {
            now: 4_500,
            limit: 10,
        })
        .await
        .expect("claims");
    assert_eq!(
        claimed.iter().map(|j| j.id.as_str()).collect::<Vec<_>>(),
        [sooner.id.as_str()]
    );
    assert_eq!(
        claimed[0].tasks, sooner.tasks,
        "a claimed job comes with its tasks"
    );
    let claimed = store
        .task_claim_due(TaskClaim {
            now: 6_000,
            limit: 1,
        })
        .await
        .expect("claims");
    assert_eq!(claimed.len(), 1, "the limit holds");
    assert_eq!(
        claimed[0].id, sooner.id,
        "with both due and room for one, the earliest due is claimed"
    );
    assert_eq!(store.task_next_due().await.expect("reads"), Some(4_000));
    finish(store, &later, 6_000).await;
    finish(store, &sooner, 6_000).await;
}

pub(crate) async fn ends_are_fenced_by_the_task(store: &dyn Store) {
    let job = insert_ok(store, create_job_insert("p-fence", 1, 0)).await;
    let task = &job.tasks[0];
    let end = step(
        task,
        JobStatus::Success,
        vec![ServerPatch {
            progress: Some(100),
            mark_launched: true,
            ..settle(VmState::Active, power_state::RUNNING)
        }],
        10,
    );
    assert_eq!(store.task_end(vec![end.clone()]).await.expect("writes"), 1);
    // The same end again (a replay after a lost lease or a crash) is skipped, and so is a
    // different one computed from the same claim: the first end written stands.
    let mut late = end.clone();
    late.now = 20;
    late.end_time = 20;
    assert_eq!(store.task_end(vec![end, late]).await.expect("writes"), 0);
    let read = reread(store, &job).await;
    assert_eq!(read.status, JobStatus::Success);
    assert_eq!(read.end_time, Some(10));
    let server = server_of(store, "p-fence", &task.server_id).await;
    assert_eq!((server.updated_at, server.launched_at), (10, Some(10)));

    // In a job still running (its other task unfinished), the fence is the task's own: a
    // finished task is not ended again, and an end naming another server writes nothing.
    let job = insert_ok(store, create_job_insert("p-fence", 2, 0)).await;
    let settled = || vec![settle(VmState::Active, power_state::RUNNING)];
    let first = step(&job.tasks[0], JobStatus::Success, settled(), 10);
    assert_eq!(
        store.task_end(vec![first.clone()]).await.expect("writes"),
        1
    );
    let mut again = step(&job.tasks[0], JobStatus::Fail, settled(), 30);
    again.error_code = Some("Ecs.0000".into());
    assert_eq!(store.task_end(vec![again]).await.expect("writes"), 0);
    let mut elsewhere = step(&job.tasks[1], JobStatus::Success, settled(), 40);
    elsewhere.server_id = job.tasks[0].server_id.clone();
    assert_eq!(store.task_end(vec![elsewhere]).await.expect("writes"), 0);
    let read = reread(store, &job).await;
    assert_eq!(read.status, JobStatus::Running);
    assert_eq!(
        (read.tasks[0].status, read.tasks[0].end_time),
        (JobStatus::Success, Some(10))
    );
    assert_eq!(read.tasks[1].end_time, None);
}

pub(crate) async fn finished_tasks_finish_the_job_and_free_the_server(store: &dyn Store) {
    let job = insert_ok(store, create_job_insert("p-finish", 2, 0)).await;
    let first = step(
        &job.tasks[0],
        JobStatus::Success,
        vec![settle(VmState::Active, power_state::RUNNING)],
        50,
    );
    store.task_end(vec![first]).await.expect("writes");
    let half = reread(store, &job).await;
    assert_eq!(
        half.status,
        JobStatus::Running,
        "one of two tasks is still INIT"
    );
    assert_eq!(half.end_time, None);
    let second = step(
        &job.tasks[1],
        JobStatus::Success,
        vec![settle(VmState::Active, power_state::RUNNING)],
        70,
    );
    store.task_end(vec![second]).await.expect("writes");
    let done = reread(store, &job).await;
    assert_eq!(done.status, JobStatus::Success);
    assert_eq!(done.end_time, Some(70));
    assert_eq!((done.error_code, done.fail_reason), (None, None));
    let server = store
        .server_get("p-finish", &job.tasks[1].server_id)
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(server.state.status(), ServerStatus::Active);
    assert_eq!(server.busy_job_id, None);
    assert!(store
        .task_claim_due(TaskClaim {
            now: i64::MAX,
            limit: 100
        })
        .await
        .expect("claims")
        .iter()
        .all(|j| j.id != job.id));
}

pub(crate) async fn partial_failure_fails_the_job_with_the_first_failed_code(store: &dyn Store) {
    let job = insert_ok(store, create_job_insert("p-fail", 2, 0)).await;
    let fault = engine::server::ServerFault {
        code: "Ecs.0204".into(),
        message: "injected".into(),
        created: 5,
    };
    let failed = step(
        &job.tasks[1],
        JobStatus::Fail,
        vec![Operation::CreateServer.failure_patch(fault.clone())],
        5,
    );
    let succeeded = step(
        &job.tasks[0],
        JobStatus::Success,
        vec![settle(VmState::Active, power_state::RUNNING)],
        6,
    );
    store
        .task_end(vec![failed, succeeded])
        .await
        .expect("writes");
    let read = reread(store, &job).await;
    assert_eq!(read.status, JobStatus::Fail);
    assert_eq!(read.error_code.as_deref(), Some("Ecs.0204"));
    assert_eq!(read.fail_reason.as_deref(), Some("injected"));
    assert_eq!(read.tasks[0].status, JobStatus::Success);
    assert_eq!(read.tasks[1].status, JobStatus::Fail);
    let server = store
        .server_get("p-fail", &job.tasks[1].server_id)
        .await
        .expect("readable")
        .expect("a failed server stays, in ERROR");
    assert_eq!(server.state.status(), ServerStatus::Error);
    assert_eq!(server.fault, Some(fault));
}

pub(crate) async fn preconditions_reject_without_a_trace(store: &dyn Store) {
    let created = insert_ok(store, create_job_insert("p-pre", 1, 0)).await;
    let server_id = created.tasks[0].server_id.clone();
    let stop = |ids: Vec<String>| {
        let job_id = new_job_id(engine::clock::from_unix_ms(1_000));
        let tasks = ids
            .iter()
            .enumerate()
            .map(|(i, id)| task(&job_id, i, id, Operation::StopServer { hard: false }, 0))
            .collect();
        JobInsert {
            job: job(&job_id, "p-pre", JobKind::StopServers, 0, tasks),
            new_servers: Vec::new(),
            preconditions: ids
                .into_iter()
                .map(|server_id| Precondition {
                    server_id,
                    allowed_vm_states: &[VmState::Active],
                    unchanged_since: None,
                })
                .collect(),
            reservations: Vec::new(),
            client_token: None,
            unfinished_job_limit: None,
            quota: None,
        }
    };
    // Busy: the create job still holds it.
    let busy = stop(vec![server_id.clone()]);
    let busy_id = busy.job.id.clone();
    let result = store.job_insert(busy).await;
    assert!(
        matches!(&result, Err(JobInsertError::Rejected(Rejection::ServerBusy { job_id, .. })) if *job_id == created.id),
        "{result:?}"
    );
    assert!(
        store
            .job_get("p-pre", &busy_id)
            .await
            .expect("readable")
            .is_none(),
        "no trace"
    );

    finish(store, &created, 10).await;
    let accepted = stop(vec![server_id.clone()]);
    let accepted_job = insert_ok(store, accepted).await;
    // Busy wins: a batch naming the server (busy with `accepted_job`) and an unknown id is
    // refused for the busy server, the first precondition checked; nothing is taken.
    let result = store
        .job_insert(stop(vec![server_id.clone(), "nope".to_owned()]))
        .await;
    assert!(
        matches!(
            result,
            Err(JobInsertError::Rejected(Rejection::ServerBusy { .. }))
        ),
        "{result:?}"
    );
    finish(store, &accepted_job, 20).await; // server is ACTIVE again (finish settles it so)

    let stopped = settle(VmState::Stopped, power_state::SHUTDOWN);
    let stop_job = insert_ok(store, stop(vec![server_id.clone()])).await;
    store
        .task_end(vec![step(
            &stop_job.tasks[0],
            JobStatus::Success,
            vec![stopped],
            30,
        )])
        .await
        .expect("writes");
    // Wrong state: stopping a stopped server.
    let result = store.job_insert(stop(vec![server_id.clone()])).await;
    assert!(
        matches!(
            &result,
            Err(JobInsertError::Rejected(Rejection::ServerWrongState {
                status: "SHUTOFF",
                ..
            }))
        ),
        "{result:?}"
    );
    let unknown = stop(vec!["11111111-2222-3333-4444-555555555555".to_owned()]);
    let result = store.job_insert(unknown).await;
    assert!(
        matches!(
            result,
            Err(JobInsertError::Rejected(Rejection::ServerNotFound { .. }))
        ),
        "{result:?}"
    );
    let server = store
        .server_get("p-pre", &server_id)
        .await
        .expect("readable")
        .expect("exists");
    assert_eq!(server.busy_job_id, None, "rejections take no server");
}

pub(crate) async fn deleting_removes_the_server(store: &dyn Store) {
    let created = insert_ok(store, create_job_insert("p-del", 1, 0)).await;
    finish(store, &created, 1).await;
    let server_id = created.tasks[0].server_id.clone();
    let job_id = new_job_id(engine::clock::from_unix_ms(1_000));
    let operation = Operation::DeleteServer {
        delete_volume: false,
        delete_publicip: None,
    };
    let delete = JobInsert {
        job: job(
            &job_id,
            "p-del",
            JobKind::DeleteServers,
            2,
            vec![task(&job_id, 0, &server_id, operation, 2)],
        ),
        new_servers: Vec::new(),
        preconditions: vec![Precondition {
            server_id: server_id.clone(),
            allowed_vm_states: &[VmState::Active],
            unchanged_since: None,
        }],
        reservations: Vec::new(),
        client_token: None,
        unfinished_job_limit: None,
        quota: None,
    };
    let delete_job = insert_ok(store, delete).await;
    let gone = ServerPatch {
        remove: true,
        ..settle(VmState::Deleted, power_state::NOSTATE)
    };
    store
        .task_end(vec![step(
            &delete_job.tasks[0],
            JobStatus::Success,
            vec![gone],
            3,
        )])
        .await
        .expect("writes");
    assert_eq!(reread(store, &delete_job).await.status, JobStatus::Success);
    assert!(store
        .server_get("p-del", &server_id)
        .await
        .expect("readable")
        .is_none());
}

pub(crate) async fn server_lists_filter_and_page(store: &dyn Store) {
    let mut insert = create_job_insert("p-list", 3, 0);
    insert.new_servers[0].name = "web-a".into();
    insert.new_servers[1].name = "web-b".into();
    insert.new_servers[2].name = "db".into();
    insert.new_servers[2].flavor_id = "c3.large.2".into();
    let job = insert_ok(store, insert).await;
    let query = |name: Option<&str>, statuses: Vec<ServerStatus>, limit, offset| ServerQuery {
        project_id: "p-list".into(),
        name: name.map(str::to_owned),
        flavor_id: None,
        statuses,
        limit,
        offset,
        ..ServerQuery::default()
    };
    let all = store
        .server_list(query(None, vec![], 10, 0))
        .await
        .expect("lists");
    assert_eq!(all.total, 3);
    assert_eq!(
        all.servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["db", "web-b", "web-a"],
        "newest first"
    );
    let page = store
        .server_list(query(Some("web"), vec![], 1, 1))
        .await
        .expect("lists");
    assert_eq!((page.total, page.servers.len()), (2, 1));
    assert_eq!(page.servers[0].name, "web-a");
    let fuzzy = store
        .server_list(query(Some("w.b-"), vec![], 10, 0))
        .await
        .expect("lists");
    assert_eq!(fuzzy.total, 2, "'.' matches any one character");
    let flavored = store
        .server_list(ServerQuery {
            flavor_id: Some("c3.large.2".into()),
            ..query(None, vec![], 10, 0)
        })
        .await
        .expect("lists");
    assert_eq!(
        flavored
            .servers
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["db"]
    );
    let building = store
        .server_list(query(None, vec![ServerStatus::Build], 10, 0))
        .await
        .expect("lists");
    assert_eq!(building.total, 3);
    finish(store, &job, 5).await;
    let active = store
        .server_list(query(
            None,
            ServerStatus::Active.filter_matches().to_vec(),
            10,
            0,
        ))
        .await
        .expect("lists");
    assert_eq!(active.total, 3);
    let shutoff = store
        .server_list(query(None, vec![ServerStatus::Shutoff], 10, 0))
        .await
        .expect("lists");
    assert_eq!(shutoff.total, 0);
}

pub(crate) async fn purge_removes_only_jobs_finished_before_the_cutoff(store: &dyn Store) {
    let old = insert_ok(store, create_job_insert("p-purge", 1, 0)).await;
    finish(store, &old, 100).await;
    let recent = insert_ok(store, create_job_insert("p-purge", 1, 0)).await;
    finish(store, &recent, 300).await;
    let running = insert_ok(store, create_job_insert("p-purge", 1, 0)).await;
    let purged = store.job_purge(200).await.expect("purges");
    assert_eq!(purged, 1, "only the job finished before the cutoff");
    assert!(store
        .job_get("p-purge", &old.id)
        .await
        .expect("readable")
        .is_none());
    assert!(store
        .job_get("p-purge", &recent.id)
        .await
        .expect("readable")
        .is_some());
    assert!(
        store
            .job_get("p-purge", &running.id)
            .await
            .expect("readable")
            .is_some(),
        "unfinished jobs stay"
    );
    finish(store, &running, 400).await;
}

pub(crate) async fn a_client_token_replays_its_first_job_and_refuses_another_request(
    store: &dyn Store,
) {
    let token = |request_hash: &str| {
        Some(ClientToken {
            token: "tok-1".into(),
            request_hash: request_hash.into(),
        })
    };
    let mut first = create_job_insert("p-token", 2, 0);
    first.client_token = token("hash-a");
    let first_job = first.job.id.clone();
    let first_servers: Vec<String> = first
        .new_servers
        .iter()
        .map(|server| server.id.clone())
        .collect();
    assert_eq!(
        store.job_insert(first).await.expect("accepted"),
        Insertion::Inserted
    );

    let mut again = create_job_insert("p-token", 2, 0);
    again.client_token = token("hash-a");
    let again_job = again.job.id.clone();
    let replayed = store.job_insert(again).await.expect("accepted");
    assert_eq!(
        replayed,
        Insertion::Replayed {
            job_id: first_job.clone(),
            server_ids: first_servers,
        }
    );
    assert!(
        store
            .job_get("p-token", &again_job)
            .await
            .expect("readable")
            .is_none(),
        "nothing new stored"
    );

    let mut other = create_job_insert("p-token", 1, 0);
    other.client_token = token("hash-b");
    let result = store.job_insert(other).await;
    assert!(
        matches!(
            result,
            Err(JobInsertError::Rejected(
                Rejection::ClientTokenReused { .. }
            ))
        ),
        "{result:?}"
    );

    // Tokens are per project.
    let mut elsewhere = create_job_insert("p-token-2", 1, 0);
    elsewhere.client_token = token("hash-b");
    assert_eq!(
        store.job_insert(elsewhere).await.expect("accepted"),
        Insertion::Inserted
    );
    let job = reread(
        store,
        &store
            .job_get("p-token", &first_job)
            .await
            .expect("readable")
            .expect("exists"),
    )
    .await;
    finish(store, &job, 10).await;
}

/// A created server, run to ACTIVE; returns its id.
pub(super) async fn active_server(store: &dyn Store, project: &str, now: i64) -> String {
    let created = insert_ok(store, create_job_insert(project, 1, now)).await;
    finish(store, &created, now + 1).await;
    created.tasks[0].server_id.clone()
}

pub(super) async fn server_of(store: &dyn Store, project: &str, server_id: &str) -> ServerRecord {
    store
        .server_get(project, server_id)
        .await
        .expect("readable")
        .expect("exists")
}

/// A job of `kind` on one server with one task per operation, taking the server.
pub(super) fn server_job_insert(
    project: &str,
    server_id: &str,
    kind: JobKind,
    operations: Vec<Operation>,
    unchanged_since: Option<i64>,
    reservations: Vec<Reservation>,
) -> JobInsert {
    let job_id = new_job_id(engine::clock::from_unix_ms(1_000));
    let tasks = operations
        .into_iter()
        .enumerate()
        .map(|(index, operation)| task(&job_id, index, server_id, operation, 10))
        .collect();
    JobInsert {
        job: job(&job_id, project, kind, 10, tasks),
        new_servers: Vec::new(),
        preconditions: vec![Precondition {
            server_id: server_id.to_owned(),
            allowed_vm_states: &[VmState::Active, VmState::Stopped],
            unchanged_since,
        }],
        reservations,
        client_token: None,
        unfinished_job_limit: None,
        quota: None,
    }
}

pub(super) fn volume(id: &str, device: &str) -> Volume {
    Volume {
        id: id.to_owned(),
        device: device.to_owned(),
        boot_index: None,
        size_gib: 10,
        volume_type: "SSD".to_owned(),
        delete_on_termination: false,
    }
}

pub(super) fn nic(port_id: &str, ip_address: &str) -> Nic {
    Nic {
        port_id: port_id.to_owned(),
        subnet_id: "subnet-1".to_owned(),
        ip_address: ip_address.to_owned(),
        mac_address: "fa:16:3e:00:00:01".to_owned(),
        primary: false,
    }
}

pub(crate) async fn a_server_changed_since_planning_is_refused(store: &dyn Store) {
    let server_id = active_server(store, "p-changed", 0).await;
    let read = server_of(store, "p-changed", &server_id).await;
    let detach = |since| {
        server_job_insert(
            "p-changed",
            &server_id,
            JobKind::DetachVolume,
            vec![Operation::DetachVolume {
                volume_id: "v".to_owned(),
            }],
            Some(since),
            Vec::new(),
        )
    };
    let stale = detach(read.updated_at - 1);
    let stale_id = stale.job.id.clone();
    let result = store.job_insert(stale).await;
    assert!(
        matches!(
            &result,
            Err(JobInsertError::Rejected(Rejection::ServerChanged { .. }))
        ),
        "{result:?}"
    );
    assert!(store
        .job_get("p-changed", &stale_id)
        .await
        .expect("readable")
        .is_none());
    assert_eq!(
        server_of(store, "p-changed", &server_id).await.busy_job_id,
        None
    );
    insert_ok(store, detach(read.updated_at)).await;
}

pub(crate) async fn reservations_refuse_what_another_server_holds_or_is_getting(store: &dyn Store) {
    let holder = active_server(store, "p-reserve", 0).await;
    let other = active_server(store, "p-reserve", 0).await;
    let third = active_server(store, "p-reserve", 0).await;
    // `holder` gets a volume and a NIC through a job, still unfinished.
    let attach = server_job_insert(
        "p-reserve",
        &holder,
        JobKind::AttachVolume,
        vec![Operation::AttachVolume {
            volume: volume("vol-1", "/dev/vdb"),
        }],
        None,
        vec![Reservation::Volume {
            volume_id: "vol-1".to_owned(),
        }],
    );
    let attach_job = insert_ok(store, attach).await;
    let volume_elsewhere = server_job_insert(
        "p-reserve",
        &other,
        JobKind::AttachVolume,
        vec![Operation::AttachVolume {
            volume: volume("vol-1", "/dev/vdb"),
        }],
        None,
        vec![Reservation::Volume {
            volume_id: "vol-1".to_owned(),
        }],
    );
    let result = store.job_insert(volume_elsewhere.clone()).await;
    assert!(
        matches!(&result, Err(JobInsertError::Rejected(Rejection::VolumeInUse { server_id, .. })) if *server_id == holder),
        "a volume being attached is taken: {result:?}"
    );
    // Attached (the job finished): still taken, now through the server's document.
    store
        .task_end(vec![step(
            &attach_job.tasks[0],
            JobStatus::Success,
            vec![ServerPatch {
                doc: Some(DocChange::AttachVolume {
                    volume: volume("vol-1", "/dev/vdb"),
                }),
                ..ServerPatch::default()
            }],
            20,
        )])
        .await
        .expect("advanced");
    let result = store.job_insert(volume_elsewhere).await;
    assert!(
        matches!(&result, Err(JobInsertError::Rejected(Rejection::VolumeInUse { server_id, .. })) if *server_id == holder),
        "an attached volume is taken: {result:?}"
    );
    // Another project's server may use the same ids.
    let foreign = active_server(store, "p-reserve-2", 0).await;
    insert_ok(
        store,
        server_job_insert(
            "p-reserve-2",
            &foreign,
            JobKind::AttachVolume,
            vec![Operation::AttachVolume {
                volume: volume("vol-1", "/dev/vdb"),
            }],
            None,
            vec![Reservation::Volume {
                volume_id: "vol-1".to_owned(),
            }],
        ),
    )
    .await;

    let add_nic = |server_id: &str, port: &str| {
        server_job_insert(
            "p-reserve",
            server_id,
            JobKind::AddNics,
            vec![Operation::AddNic {
                nic: nic(port, "192.168.7.7"),
            }],
            None,
            vec![Reservation::FixedIp {
                subnet_id: "subnet-1".to_owned(),
                ip_address: "192.168.7.7".to_owned(),
            }],
        )
    };
    insert_ok(store, add_nic(&other, "port-1")).await;
    let result = store.job_insert(add_nic(&third, "port-2")).await;
    assert!(
        matches!(&result, Err(JobInsertError::Rejected(Rejection::IpInUse { server_id, .. })) if *server_id == other),
        "{result:?}"
    );
}

/// Key pairs: one per name in a project, listed by name, invisible to other projects; private
/// images likewise per id.
pub(crate) async fn keypairs_are_per_project_and_unique_by_name(store: &dyn Store) {
    let keypair = |project: &str, name: &str, key: &str| engine::store::KeyPairRecord {
        project_id: project.to_owned(),
        name: name.to_owned(),
        public_key: key.to_owned(),
        fingerprint: "00:11".to_owned(),
        key_type: "ssh".to_owned(),
        user_id: "u".to_owned(),
        created_at: 10,
    };
    assert!(store
        .keypair_insert(keypair("p-keys", "b", "k1"))
        .await
        .expect("stored"));
    assert!(store
        .keypair_insert(keypair("p-keys", "a", "k2"))
        .await
        .expect("stored"));
    assert!(
        !store
            .keypair_insert(keypair("p-keys", "a", "k3"))
            .await
            .expect("answered"),
        "a name is taken once per project"
    );
    assert!(store
        .keypair_insert(keypair("p-other", "a", "k4"))
        .await
        .expect("stored"));
    let listed = store.keypair_list("p-keys").await.expect("listed");
    let names: Vec<(&str, &str)> = listed
        .iter()
        .map(|keypair| (keypair.name.as_str(), keypair.public_key.as_str()))
        .collect();
    assert_eq!(
        names,
        [("a", "k2"), ("b", "k1")],
        "by name; the refused one wrote nothing"
    );
    assert!(store.keypair_delete("p-keys", "a").await.expect("deleted"));
    assert!(!store.keypair_delete("p-keys", "a").await.expect("answered"));
    assert_eq!(
        store.keypair_list("p-other").await.expect("listed").len(),
        1
    );

    // Private images: per project, once per id, oldest first, with their metadata.
    let image = |id: &str, at: i64| engine::store::ImageRecord {
        project_id: "p-keys".to_owned(),
        id: id.to_owned(),
        name: format!("image-{id}"),
        server_id: "s".to_owned(),
        min_disk: 40,
        min_ram: 0,
        os_distro: "Debian".to_owned(),
        metadata: [("k".to_owned(), "v".to_owned())].into_iter().collect(),
        created_at: at,
    };
    assert!(store.image_insert(image("i2", 20)).await.expect("stored"));
    assert!(store.image_insert(image("i1", 30)).await.expect("stored"));
    assert!(!store.image_insert(image("i1", 40)).await.expect("answered"));
    let images = store.image_list("p-keys").await.expect("listed");
    let ids: Vec<&str> = images.iter().map(|image| image.id.as_str()).collect();
    assert_eq!(
        ids,
        ["i2", "i1"],
        "oldest first; the repeated id wrote nothing"
    );
    assert_eq!(images[0].metadata.get("k").map(String::as_str), Some("v"));
    assert!(store
        .image_list("p-other")
        .await
        .expect("listed")
        .is_empty());
}

/// A job on a server shows its first phase's state from the accept commit on (Nova clients
/// poll right after the 202), and the listed status follows.
pub(crate) async fn an_accepted_job_shows_its_initial_task_state_at_once(store: &dyn Store) {
    let server_id = active_server(store, "p-initial", 0).await;
    let reboot = server_job_insert(
        "p-initial",
        &server_id,
        JobKind::RebootServers,
        vec![Operation::RebootServer { hard: false }],
        None,
        Vec::new(),
    );
    insert_ok(store, reboot).await;
    let taken = server_of(store, "p-initial", &server_id).await;
    assert_eq!(taken.state.task_state, Some(TaskState::Rebooting));
    assert_eq!(taken.state.status(), ServerStatus::Reboot);
    let listed = store
        .server_list(ServerQuery {
            project_id: "p-initial".to_owned(),
            statuses: vec![ServerStatus::Reboot],
            limit: 10,
            ..ServerQuery::default()
        })
        .await
        .expect("listed");
    assert_eq!(listed.servers.len(), 1, "the status column follows");
}

pub(crate) async fn document_changes_apply_with_their_step(store: &dyn Store) {
    let server_id = active_server(store, "p-doc", 0).await;
    let bigger = FlavorRef {
        id: "s3.large.2".to_owned(),
        name: "s3.large.2".to_owned(),
        vcpus: "2".to_owned(),
        ram: 4096,
        disk: "0".to_owned(),
    };
    let resize = server_job_insert(
        "p-doc",
        &server_id,
        JobKind::ResizeServer,
        vec![Operation::ResizeServer {
            flavor: bigger.clone(),
        }],
        None,
        Vec::new(),
    );
    let resize_job = insert_ok(store, resize).await;
    // Acceptance writes the first phase's state (resize_prep); nothing is written until the end.
    let midway = server_of(store, "p-doc", &server_id).await;
    assert_eq!(
        midway.state.status(),
        ServerStatus::Resize,
        "active/resize_prep is a (Nova) resize under way"
    );
    assert_eq!(
        midway.doc.flavor.id, "",
        "the flavor changes only with the last step"
    );
    let task = resize_job.tasks[0].clone();
    let last = step(
        &task,
        JobStatus::Success,
        vec![ServerPatch {
            doc: Some(DocChange::Flavor {
                flavor: bigger.clone(),
            }),
            clear_fault: true,
            ..settle(VmState::Stopped, power_state::SHUTDOWN)
        }],
        40,
    );
    store.task_end(vec![last]).await.expect("advanced");
    let done = server_of(store, "p-doc", &server_id).await;
    assert_eq!(done.doc.flavor, bigger);
    assert_eq!(
        done.flavor_id, "s3.large.2",
        "the flavor column follows the document"
    );
    assert_eq!(done.updated_at, 40);
    let listed = store
        .server_list(ServerQuery {
            project_id: "p-doc".to_owned(),
            flavor_id: Some("s3.large.2".to_owned()),
            limit: 10,
            ..ServerQuery::default()
        })
        .await
        .expect("lists");
    assert_eq!(listed.total, 1);

    // A fault is set by a failure and cleared by a later success.
    let rebuild = |image: &str| {
        server_job_insert(
            "p-doc",
            &server_id,
            JobKind::ChangeOs,
            vec![Operation::RebuildServer {
                image_id: image.to_owned(),
                key_name: None,
            }],
            None,
            Vec::new(),
        )
    };
    let failed = insert_ok(store, rebuild("img-2")).await;
    let fault = ServerFault {
        code: "Ecs.1002".to_owned(),
        message: "injected".to_owned(),
        created: 50,
    };
    store
        .task_end(vec![step(
            &failed.tasks[0],
            JobStatus::Fail,
            vec![Operation::RebuildServer {
                image_id: "img-2".to_owned(),
                key_name: None,
            }
            .failure_patch(fault.clone())],
            50,
        )])
        .await
        .expect("advanced");
    let broken = server_of(store, "p-doc", &server_id).await;
    assert_eq!(
        (broken.state.status(), broken.fault),
        (ServerStatus::Error, Some(fault))
    );
    assert_eq!(
        broken.doc.image_id, "img",
        "a failed change of OS keeps the image"
    );
    let mut insert = rebuild("img-3");
    insert.preconditions[0].allowed_vm_states = &[VmState::Error];
    let retried = insert_ok(store, insert).await;
    store
        .task_end(vec![step(
            &retried.tasks[0],
            JobStatus::Success,
            vec![ServerPatch {
                doc: Some(DocChange::Image {
                    image_id: "img-3".to_owned(),
                    key_name: None,
                }),
                clear_fault: true,
                ..settle(VmState::Stopped, power_state::SHUTDOWN)
            }],
            60,
        )])
        .await
        .expect("advanced");
    let fixed = server_of(store, "p-doc", &server_id).await;
    assert_eq!(
        (
            fixed.state.status(),
            fixed.fault,
            fixed.doc.image_id.as_str()
        ),
        (ServerStatus::Shutoff, None, "img-3")
    );
}

pub(crate) async fn several_tasks_on_one_server_free_it_with_the_last(store: &dyn Store) {
    let server_id = active_server(store, "p-nics", 0).await;
    let insert = server_job_insert(
        "p-nics",
        &server_id,
        JobKind::AddNics,
        vec![
            Operation::AddNic {
                nic: nic("port-a", "192.168.1.10"),
            },
            Operation::AddNic {
                nic: nic("port-b", "192.168.1.11"),
            },
        ],
        None,
        Vec::new(),
    );
    let job = insert_ok(store, insert).await;
    let add = |task: &TaskRecord, port: &str, ip: &str, now| {
        step(
            task,
            JobStatus::Success,
            vec![ServerPatch {
                doc: Some(DocChange::AddNic { nic: nic(port, ip) }),
                ..ServerPatch::default()
            }],
            now,
        )
    };
    store
        .task_end(vec![add(&job.tasks[0], "port-a", "192.168.1.10", 20)])
        .await
        .expect("advanced");
    let half = server_of(store, "p-nics", &server_id).await;
    assert_eq!(
        half.busy_job_id.as_deref(),
        Some(job.id.as_str()),
        "one NIC is still being added"
    );
    assert_eq!(half.doc.nics.len(), 1);
    store
        .task_end(vec![add(&job.tasks[1], "port-b", "192.168.1.11", 30)])
        .await
        .expect("advanced");
    let done = server_of(store, "p-nics", &server_id).await;
    assert_eq!(done.busy_job_id, None);
    let ports: Vec<&str> = done
        .doc
        .nics
        .iter()
        .map(|nic| nic.port_id.as_str())
        .collect();
    assert_eq!(ports, ["port-a", "port-b"]);
    assert_eq!(reread(store, &job).await.status, JobStatus::Success);
}

pub(crate) async fn server_updates_change_only_the_projects_server(store: &dyn Store) {
    let server_id = active_server(store, "p-update", 0).await;
    let update = |project: &str| ServerUpdate {
        project_id: project.to_owned(),
        server_id: server_id.clone(),
        change: DocChange::AutoRecovery {
            value: "true".to_owned(),
        },
        now: 99,
    };
    assert!(!store
        .server_update(update("p-other"))
        .await
        .expect("writes"));
    assert_eq!(
        server_of(store, "p-update", &server_id)
            .await
            .doc
            .auto_recovery,
        None
    );
    assert!(store
        .server_update(update("p-update"))
        .await
        .expect("writes"));
    let updated = server_of(store, "p-update", &server_id).await;
    assert_eq!(
        (updated.doc.auto_recovery.as_deref(), updated.updated_at),
        (Some("true"), 99)
    );
}

pub(crate) async fn the_unfinished_job_limit_counts_only_the_projects_unfinished_jobs(
    store: &dyn Store,
) {
    let limited = |project: &str| JobInsert {
        unfinished_job_limit: Some(2),
        ..create_job_insert(project, 1, 0)
    };
    let first = insert_ok(store, limited("p-limit")).await;
    insert_ok(store, limited("p-limit")).await;
    let refused = limited("p-limit");
    let refused_id = refused.job.id.clone();
    match store.job_insert(refused).await {
        Err(JobInsertError::Rejected(Rejection::TooManyUnfinishedJobs { limit: 2 })) => {}
        other => panic!("a third unfinished job must be refused: {other:?}"),
    }
    assert!(
        store
            .job_get("p-limit", &refused_id)
            .await
            .expect("readable")
            .is_none(),
        "a refused job leaves no trace"
    );
    // Another project has its own count.
    insert_ok(store, limited("p-limit-other")).await;
    // A finished job frees its place.
    finish(store, &first, 10).await;
    assert_eq!(reread(store, &first).await.status, JobStatus::Success);
    insert_ok(store, limited("p-limit")).await;
}

async fn edit(
    store: &dyn Store,
    project: &str,
    server_id: &str,
    change: ServerChange,
    now: i64,
) -> Result<ServerRecord, ServerEditError> {
    store
        .server_edit(ServerEdit {
            project_id: project.to_owned(),
            server_id: server_id.to_owned(),
            change,
            now,
        })
        .await
}

fn pairs(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    tags.iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

pub(crate) async fn server_edits_check_and_apply_in_one_write(store: &dyn Store) {
    let server_id = active_server(store, "p-edit", 0).await;
    let add = |tags: &[(&str, &str)]| ServerChange::TagsAdd {
        tags: pairs(tags),
        max: 3,
    };
    let edited = edit(
        store,
        "p-edit",
        &server_id,
        add(&[("a", "1"), ("b", "2")]),
        10,
    )
    .await
    .expect("adds");
    assert_eq!(
        (edited.doc.tags.clone(), edited.updated_at),
        (vec!["a=1".to_owned(), "b=2".to_owned()], 10)
    );
    let again = edit(
        store,
        "p-edit",
        &server_id,
        add(&[("a", "9"), ("c", "")]),
        11,
    )
    .await
    .expect("adds");
    assert_eq!(
        again.doc.tags,
        ["a=9", "b=2", "c="],
        "a key present gets the new value in place"
    );
    let too_many = edit(store, "p-edit", &server_id, add(&[("d", "4")]), 12).await;
    assert!(
        matches!(
            too_many,
            Err(ServerEditError::Rejected(Rejection::TooManyTags {
                count: 4,
                max: 3,
                ..
            }))
        ),
        "{too_many:?}"
    );
    let stored = server_of(store, "p-edit", &server_id).await;
    assert_eq!(
        (stored.doc.tags.len(), stored.updated_at),
        (3, 11),
        "a rejected edit writes nothing"
    );
    let delete = |tags: &[(&str, Option<&str>)]| ServerChange::TagsDelete {
        tags: tags
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.map(str::to_owned)))
            .collect(),
    };
    let kept = edit(store, "p-edit", &server_id, delete(&[("b", Some("x"))]), 13)
        .await
        .expect("deletes");
    assert_eq!(
        kept.doc.tags.len(),
        3,
        "another value of the key is not deleted"
    );
    for now in [14, 15] {
        let deleted = edit(
            store,
            "p-edit",
            &server_id,
            delete(&[("b", None), ("zz", None), ("c", Some(""))]),
            now,
        )
        .await
        .expect("deleting is idempotent");
        assert_eq!(deleted.doc.tags, ["a=9"]);
    }
    let renamed = edit(
        store,
        "p-edit",
        &server_id,
        ServerChange::Details {
            name: Some("renamed".into()),
            description: Some("d".into()),
            hostname: None,
        },
        16,
    )
    .await
    .expect("renames");
    let stored = server_of(store, "p-edit", &server_id).await;
    assert_eq!(stored, renamed, "the answer is the server as stored");
    assert_eq!(
        (stored.name.as_str(), stored.doc.description.as_str()),
        ("renamed", "d")
    );
    let listed = store
        .server_list(ServerQuery {
            project_id: "p-edit".into(),
            name: Some("renamed".into()),
            limit: 10,
            ..ServerQuery::default()
        })
        .await
        .expect("lists");
    assert_eq!(listed.total, 1, "lists filter on the new name");
    let elsewhere = edit(store, "p-other", &server_id, add(&[("x", "y")]), 17).await;
    assert!(
        matches!(
            elsewhere,
            Err(ServerEditError::Rejected(Rejection::ServerNotFound { .. }))
        ),
        "{elsewhere:?}"
    );
    assert_eq!(
        server_of(store, "p-edit", &server_id).await.doc.tags,
        ["a=9"]
    );
}

pub(crate) async fn server_edits_of_metadata_need_an_active_or_stopped_server(store: &dyn Store) {
    const ALLOWED: &[VmState] = &[VmState::Active, VmState::Stopped];
    let building = insert_ok(store, create_job_insert("p-meta", 1, 0)).await;
    let server_id = building.tasks[0].server_id.clone();
    let metadata: std::collections::BTreeMap<String, String> =
        [("k".to_owned(), "v".to_owned())].into();
    let update = ServerChange::MetadataUpdate {
        metadata: metadata.clone(),
        max: 2,
        allowed_vm_states: ALLOWED,
    };
    let refused = edit(store, "p-meta", &server_id, update.clone(), 1).await;
    assert!(
        matches!(
            refused,
            Err(ServerEditError::Rejected(Rejection::ServerWrongState {
                status: "BUILD",
                ..
            }))
        ),
        "{refused:?}"
    );
    let tagged = edit(
        store,
        "p-meta",
        &server_id,
        ServerChange::TagsAdd {
            tags: pairs(&[("t", "1")]),
            max: 10,
        },
        2,
    )
    .await
    .expect("tags need no state, and a job holding the server does not stop them");
    assert_eq!(tagged.busy_job_id.as_deref(), Some(building.id.as_str()));
    finish(store, &building, 3).await;
    let updated = edit(store, "p-meta", &server_id, update, 4)
        .await
        .expect("updates");
    assert_eq!(updated.doc.metadata, metadata);
    let merged = edit(
        store,
        "p-meta",
        &server_id,
        ServerChange::MetadataUpdate {
            metadata: [
                ("k".to_owned(), "w".to_owned()),
                ("n".to_owned(), "1".to_owned()),
            ]
            .into(),
            max: 2,
            allowed_vm_states: ALLOWED,
        },
        5,
    )
    .await
    .expect("updates: a key present is not counted again");
    assert_eq!(merged.doc.metadata.get("k").map(String::as_str), Some("w"));
    let over = edit(
        store,
        "p-meta",
        &server_id,
        ServerChange::MetadataUpdate {
            metadata: [
                ("n".to_owned(), "2".to_owned()),
                ("o".to_owned(), "1".to_owned()),
            ]
            .into(),
            max: 2,
            allowed_vm_states: ALLOWED,
        },
        6,
    )
    .await;
    assert!(
        matches!(
            over,
            Err(ServerEditError::Rejected(Rejection::TooManyMetadata {
                count: 3,
                max: 2,
                ..
            }))
        ),
        "{over:?}"
    );
    let stored = server_of(store, "p-meta", &server_id).await;
    assert_eq!(
        (stored.doc.metadata, stored.updated_at),
        (merged.doc.metadata.clone(), 5),
        "a refused update writes nothing, not even the key that was there"
    );
    for now in [7, 8] {
        let deleted = edit(
            store,
            "p-meta",
            &server_id,
            ServerChange::MetadataDelete {
                key: "k".into(),
                allowed_vm_states: ALLOWED,
            },
            now,
        )
        .await
        .expect("deleting an absent key is no error");
        assert_eq!(deleted.doc.metadata.keys().collect::<Vec<_>>(), ["n"]);
    }
}

pub(crate) async fn tags_list_per_project_and_filter_server_lists(store: &dyn Store) {
    let mut insert = create_job_insert("p-tags", 4, 0);
    let tag_sets: [&[&str]; 4] = [
        &["env=prod", "team=a"],
        &["env=dev", "team=a"],
        &["env="],
        &[],
    ];
    for (server, tags) in insert.new_servers.iter_mut().zip(tag_sets) {
        server.doc.tags = tags.iter().map(|tag| (*tag).to_owned()).collect();
    }
    insert.new_servers[0].name = "web-prod".into();
    insert.new_servers[1].name = "web-dev".into();
    insert_ok(store, insert).await;
    let mut other = create_job_insert("p-tags-other", 1, 0);
    other.new_servers[0].doc.tags = vec!["secret=x".into()];
    insert_ok(store, other).await;
    assert_eq!(
        store.tag_list("p-tags").await.expect("lists"),
        ["env=", "env=dev", "env=prod", "team=a"]
    );
    assert!(store.tag_list("p-none").await.expect("lists").is_empty());
    let names = |tags: Vec<TagMatch>, not_tags: Vec<TagMatch>, name_contains: Option<&str>| {
        let query = ServerQuery {
            project_id: "p-tags".into(),
            tags,
            not_tags,
            name_contains: name_contains.map(str::to_owned),
            limit: 10,
            ..ServerQuery::default()
        };
        async move {
            let page = store.server_list(query).await.expect("lists");
            let mut names: Vec<String> = page.servers.into_iter().map(|s| s.name).collect();
            names.sort();
            assert_eq!(page.total as usize, names.len());
            names
        }
    };
    let tag = |key: &str, values: &[&str]| TagMatch {
        key: key.into(),
        values: values.iter().map(|value| (*value).to_owned()).collect(),
    };
    assert_eq!(
        names(vec![tag("env", &["prod"])], vec![], None).await,
        ["web-prod"]
    );
    assert_eq!(
        names(vec![tag("env", &["prod", "dev"])], vec![], None).await,
        ["web-dev", "web-prod"]
    );
    assert_eq!(
        names(vec![tag("env", &[])], vec![], None).await,
        ["srv-0002", "web-dev", "web-prod"],
        "any value, the empty one too"
    );
    assert_eq!(
        names(
            vec![tag("env", &[]), tag("team", &["a"])],
            vec![tag("env", &["dev"])],
            None
        )
        .await,
        ["web-prod"]
    );
    assert_eq!(
        names(vec![], vec![tag("team", &[])], None).await,
        ["srv-0002", "srv-0003"]
    );
    assert_eq!(
        names(vec![], vec![], Some("b-d")).await,
        ["web-dev"],
        "a literal substring"
    );
    assert_eq!(
        names(vec![], vec![], Some("w.b")).await,
        Vec::<String>::new(),
        "'.' is not a wildcard here"
    );
    assert!(
        names(vec![tag("secret", &[])], vec![], None)
            .await
            .is_empty(),
        "other projects' tags never match"
    );
}
