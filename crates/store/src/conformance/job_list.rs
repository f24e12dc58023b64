//! Conformance: the job list (ecsd's own `GET /v1/{project_id}/jobs`): newest first, paged by
//! marker, filtered by status (computed at `now`), kind and acceptance time, one project's
//! jobs only, and none past the retention.

use super::{create_job_insert, insert_ok, step};
use engine::job::{new_job_id, JobKind, JobRecord, JobStatus};
use engine::store::{JobQuery, Store};

const PROJECT: &str = "p-joblist";

/// A job of `kind` in `project` accepted at `at` (unix ms), with one task whose first phase
/// is due 100 ms later and whose end is due 1 s later (so it reads INIT, then RUNNING).
async fn accept(store: &dyn Store, project: &str, kind: JobKind, at: i64) -> JobRecord {
    let mut insert = create_job_insert(project, 1, at);
    let id = new_job_id(engine::clock::from_unix_ms(at));
    insert.job.id = id.clone();
    insert.job.kind = kind;
    for task in &mut insert.job.tasks {
        task.job_id = id.clone();
        task.schedule = vec![at + 100, at + 1_000];
    }
    for server in &mut insert.new_servers {
        server.busy_job_id = Some(id.clone());
    }
    insert_ok(store, insert).await
}

async fn end(store: &dyn Store, job: &JobRecord, status: JobStatus, at: i64) {
    let ends = job
        .tasks
        .iter()
        .map(|task| step(task, status, Vec::new(), at))
        .collect();
    store.task_end(ends).await.expect("ended");
}

fn query(now: i64) -> JobQuery {
    JobQuery {
        project_id: PROJECT.to_owned(),
        limit: 100,
        now,
        ..JobQuery::default()
    }
}

async fn ids(store: &dyn Store, query: JobQuery) -> Vec<String> {
    store
        .job_list(query)
        .await
        .expect("lists")
        .into_iter()
        .map(|job| job.id)
        .collect()
}

pub(crate) async fn jobs_list_newest_first_filtered_and_paged(store: &dyn Store) {
    // Accepted at 10 s, 20 s, … 60 s; at 100 s: two finished (SUCCESS at 11 s, FAIL at 21 s),
    // the old one (FAIL at 10.5 s) is past a retention cutoff of 11 s; 90 s and 99.95 s unfinished.
    let old = accept(store, PROJECT, JobKind::StopServers, 5_000).await;
    let success = accept(store, PROJECT, JobKind::CreateServers, 10_000).await;
    let fail = accept(store, PROJECT, JobKind::RebootServers, 20_000).await;
    let running = accept(store, PROJECT, JobKind::CreateServers, 90_000).await;
    let init = accept(store, PROJECT, JobKind::StartServers, 99_950).await;
    let foreign = accept(store, "p-joblist-other", JobKind::CreateServers, 95_000).await;
    end(store, &old, JobStatus::Fail, 10_500).await;
    end(store, &success, JobStatus::Success, 11_000).await;
    end(store, &fail, JobStatus::Fail, 21_000).await;
    let now = 100_000;
    let all = |mut query: JobQuery| {
        query.finished_since = 11_000;
        query
    };

    // Newest first; the other project's job and the job past the retention are not there.
    let listed = store.job_list(all(query(now))).await.expect("lists");
    let listed_ids: Vec<&str> = listed.iter().map(|job| job.id.as_str()).collect();
    assert_eq!(
        listed_ids,
        [
            init.id.as_str(),
            running.id.as_str(),
            fail.id.as_str(),
            success.id.as_str()
        ]
    );
    assert!(!listed_ids.contains(&foreign.id.as_str()));
    // Each with its tasks and its status as seen at `now`.
    let statuses: Vec<JobStatus> = listed.iter().map(|job| job.status).collect();
    assert_eq!(
        statuses,
        [
            JobStatus::Init,
            JobStatus::Running,
            JobStatus::Fail,
            JobStatus::Success
        ]
    );
    assert_eq!(listed[1].tasks.len(), 1);
    assert_eq!(listed[1].tasks[0].status, JobStatus::Running);
    // Without a cutoff the old job is there too.
    assert_eq!(ids(store, query(now)).await.len(), 5);

    // Paging: a limit, then the marker (the last id of the page).
    let mut first_page = all(query(now));
    first_page.limit = 3;
    let page = ids(store, first_page).await;
    assert_eq!(
        page,
        [init.id.as_str(), running.id.as_str(), fail.id.as_str()]
    );
    let mut second_page = all(query(now));
    second_page.limit = 3;
    second_page.marker = page.last().cloned();
    assert_eq!(ids(store, second_page).await, [success.id.as_str()]);

    // Status filters: stored outcomes, and INIT / RUNNING computed from the schedules.
    let by_status = |statuses: Vec<JobStatus>| {
        let mut query = all(query(now));
        query.statuses = statuses;
        query
    };
    assert_eq!(
        ids(store, by_status(vec![JobStatus::Fail])).await,
        [fail.id.as_str()]
    );
    assert_eq!(
        ids(store, by_status(vec![JobStatus::Running])).await,
        [running.id.as_str()]
    );
    assert_eq!(
        ids(store, by_status(vec![JobStatus::Init])).await,
        [init.id.as_str()]
    );
    assert_eq!(
        ids(store, by_status(vec![JobStatus::Init, JobStatus::Success])).await,
        [init.id.as_str(), success.id.as_str()]
    );
    // A limit with a computed status still fills the page from further rows.
    let mut running_one = by_status(vec![JobStatus::Running]);
    running_one.limit = 1;
    assert_eq!(ids(store, running_one).await, [running.id.as_str()]);
    // The same job later has moved on: at 99.95 + 0.1 s the INIT job runs.
    let later = {
        let mut query = by_status(vec![JobStatus::Running]);
        query.now = 100_060;
        query
    };
    assert_eq!(
        ids(store, later).await,
        [init.id.as_str(), running.id.as_str()]
    );

    // Kinds, and the acceptance time.
    let mut creates = all(query(now));
    creates.kinds = vec![JobKind::CreateServers];
    assert_eq!(
        ids(store, creates).await,
        [running.id.as_str(), success.id.as_str()]
    );
    let mut two_kinds = all(query(now));
    two_kinds.kinds = vec![JobKind::StartServers, JobKind::RebootServers];
    assert_eq!(
        ids(store, two_kinds).await,
        [init.id.as_str(), fail.id.as_str()]
    );
    let mut since = all(query(now));
    since.since = Some(20_000);
    assert_eq!(
        ids(store, since).await,
        [init.id.as_str(), running.id.as_str(), fail.id.as_str()]
    );
    let mut since_later = all(query(now));
    since_later.since = Some(20_001);
    assert_eq!(
        ids(store, since_later).await,
        [init.id.as_str(), running.id.as_str()]
    );

    // Another project sees only its own.
    let mut other = query(now);
    other.project_id = "p-joblist-other".to_owned();
    assert_eq!(ids(store, other).await, [foreign.id.as_str()]);

    for job in [&running, &init, &foreign] {
        end(store, job, JobStatus::Success, 101_000).await;
    }
}
