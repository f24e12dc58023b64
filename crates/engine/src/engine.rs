//! The engine: accepts jobs, runs their tasks step by step, and forgets them after retention.
//!
//! Accepting a job is one durable store transaction (checks included, each task's schedule and
//! fault decided and stored); the HTTP layer answers `{"job_id"}` only after it. Execution is a
//! loop of [`Engine::run_once`]: claim the jobs with a task whose end is due, compute each such
//! task's outcome, and write them all in one commit. The phases between acceptance and end are
//! never written: reads through the engine compute them from the schedule and the clock
//! ([`crate::schedule`]). Nothing here knows about HTTP or SQL.

use crate::clock::{to_unix_ms, Clock, ClockMode, ClockMoveError, VirtualClock};
use crate::compute::{seed_of, LatencyProfile, LatencySettings, Operation, ServerFault};
use crate::events::EventLog;
use crate::job::{IdSource, JobKind, JobRecord, JobStatus, TaskFault, TaskRecord};
use crate::quota::{
    group_host, QuotaCheck, QuotaSource, Quotas, ServerGroupInsert, ServerGroupMembership,
    ServerGroupRecord, Unlimited, Usage, ANTI_AFFINITY,
};
use crate::server::{
    power_state, DocChange, FlavorRef, Nic, PowerTriple, PublicIp, ServerChange, ServerDoc,
    ServerRecord, TaskState, VmState, Volume,
};
use crate::stats::{NoObserver, Observer};
use crate::store::{
    ClientToken, ImageRecord, Insertion, JobInsert, JobInsertError, JobQuery, KeyPairRecord,
    Precondition, Rejection, ResetCounts, ServerEdit, ServerEditError, ServerPage, ServerQuery,
    ServerUpdate, SnapshotError, SnapshotInfo, Store, StoreError, TaskClaim, TaskEnd,
};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use time::Duration;
use tokio::sync::{watch, Notify};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub latency: LatencyProfile,
    /// Finished jobs are kept at least this long.
    pub job_retention: Duration,
    /// How many jobs with a due task end one [`Engine::run_once`] takes.
    pub claim_batch: usize,
    /// Servers get this zone when the request names none.
    pub default_availability_zone: String,
    /// How many unfinished jobs one project may have; a job beyond it is refused at acceptance.
    /// `None`: no limit.
    pub max_unfinished_jobs_per_project: Option<u32>,
    /// The run loop writes no task end (a testing aid: `--engine-paused`). Reads still
    /// compute every phase from the schedules and the clock.
    pub paused: bool,
    /// `--seed N`: ids come from a stream seeded with it ([`IdSource::seeded`]), so a run's ids
    /// repeat run to run; other seeded features (probabilistic faults) derive their own
    /// generators from it. `None`: random.
    pub seed: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            latency: LatencyProfile::Fast,
            job_retention: Duration::hours(24),
            claim_batch: 512,
            default_availability_zone: "eu-de-01".to_owned(),
            max_unfinished_jobs_per_project: None,
            paused: false,
            seed: None,
        }
    }
}

/// A fault to inject into a task step (the hook that fault-injection features plug into).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedFault {
    /// An error code from the catalogue; the operation's default when `None`.
    pub code: Option<String>,
    pub reason: String,
}

/// Decides whether a step fails. The default injector never fails anything.
///
/// Asked at acceptance, step by step from the first, for each task (whose `schedule` is set
/// then): the first step it fails is stored with the task ([`TaskFault`]), and the task ends
/// failed when that step is due. Deciding once keeps reads and the end write consistent and
/// lets the schedule stay the only thing a restarted engine needs.
pub trait FaultInjector: Send + Sync + std::fmt::Debug {
    fn fault(&self, task: &TaskRecord, step: usize) -> Option<InjectedFault>;
}

#[derive(Debug, Default)]
pub struct NoFaults;

impl FaultInjector for NoFaults {
    fn fault(&self, _task: &TaskRecord, _step: usize) -> Option<InjectedFault> {
        None
    }
}

/// A request to create `count` servers alike. Validated by the caller (the flavor exists, ids
/// are well-formed); the engine invents what the real cloud would (ports, MACs, IPs, disk ids).
#[derive(Debug, Clone, Default)]
pub struct CreateServers {
    pub name: String,
    pub count: u32,
    pub flavor: FlavorRef,
    pub image_id: String,
    pub vpc_id: String,
    pub availability_zone: Option<String>,
    pub nics: Vec<NicRequest>,
    pub root_volume: VolumeRequest,
    pub data_volumes: Vec<VolumeRequest>,
    pub metadata: BTreeMap<String, String>,
    /// `(key, value)` pairs.
    pub tags: Vec<(String, String)>,
    pub key_name: Option<String>,
    pub description: String,
    pub security_group_ids: Vec<String>,
    /// `Some(delete_on_termination)` when an EIP is to be created with the server.
    pub public_ip: Option<bool>,
    pub scheduler_hints: BTreeMap<String, serde_json::Value>,
    /// `extendparam.support_auto_recovery`.
    pub auto_recovery: bool,
    /// `os:scheduler_hints.group`: the anti-affinity group the servers join.
    pub server_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NicRequest {
    pub subnet_id: String,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct VolumeRequest {
    pub volume_type: String,
    /// GiB; the image's minimum (40) when absent or 0.
    pub size_gib: Option<i64>,
}

/// A batch action on existing servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAction {
    Start,
    Stop {
        hard: bool,
    },
    Reboot {
        hard: bool,
    },
    Delete {
        delete_volume: bool,
        delete_publicip: Option<bool>,
    },
}

impl ServerAction {
    fn kind(self) -> JobKind {
        match self {
            ServerAction::Start => JobKind::StartServers,
            ServerAction::Stop { .. } => JobKind::StopServers,
            ServerAction::Reboot { .. } => JobKind::RebootServers,
            ServerAction::Delete { .. } => JobKind::DeleteServers,
        }
    }

    fn operation(self) -> Operation {
        match self {
            ServerAction::Start => Operation::StartServer,
            ServerAction::Stop { hard } => Operation::StopServer { hard },
            ServerAction::Reboot { hard } => Operation::RebootServer { hard },
            ServerAction::Delete {
                delete_volume,
                delete_publicip,
            } => Operation::DeleteServer {
                delete_volume,
                delete_publicip,
            },
        }
    }

    /// The stable states a server must be in (ASYNC-OPERATIONS.md §2.2): start needs it
    /// stopped, stop and reboot need it running, delete takes any state no job holds.
    fn allowed_vm_states(self) -> &'static [VmState] {
        match self {
            ServerAction::Start => &[VmState::Stopped],
            ServerAction::Stop { .. } | ServerAction::Reboot { .. } => &[VmState::Active],
            // A server waiting in VERIFY_RESIZE (Nova's resize) may be deleted too, as in Nova.
            ServerAction::Delete { .. } => &[
                VmState::Active,
                VmState::Stopped,
                VmState::Error,
                VmState::Resized,
            ],
        }
    }
}

/// A job the store has made durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub job_id: String,
    /// The servers a create job builds (empty for other jobs).
    pub server_ids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault rule refused the job (`reject`, `throttle`, `gateway_error`): nothing was stored.
    #[error("refused by fault rule {}", .0.rule_id)]
    Fault(Box<crate::faults::Fired>),
}

impl From<JobInsertError> for SubmitError {
    fn from(error: JobInsertError) -> Self {
        match error {
            JobInsertError::Rejected(rejection) => SubmitError::Rejected(rejection),
            JobInsertError::Store(store) => SubmitError::Store(store),
        }
    }
}

/// What one [`Engine::run_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// Ended this many tasks.
    Ran(usize),
    /// Nothing was due.
    Idle,
}

#[derive(Debug)]
pub struct Engine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    faults: Arc<dyn FaultInjector>,
    /// The user's fault rules, asked once per job at acceptance ([`crate::faults`]).
    pub(crate) rules: Arc<crate::faults::FaultRules>,
    pub(crate) config: EngineConfig,
    /// Pinged when an accepted job is due before the run loop's planned wake-up.
    wakeup: Notify,
    /// When the sleeping run loop will wake by itself (unix ms); `i64::MAX` while it runs.
    /// Submissions due later need not wake it: under load that saves a claim query per request.
    planned_wake: AtomicI64,
    /// Where ids come from (random, or seeded by `--seed`).
    pub(crate) ids: IdSource,
    /// The clock's handle when it is virtual (`--clock virtual`): the admin API moves it.
    virtual_clock: Option<VirtualClock>,
    /// What new jobs are scheduled with; starts as `config.latency`, changed at runtime.
    latency: std::sync::RwLock<LatencySettings>,
    /// Held shared by each run-loop step (claim and end write) and exclusively by a reset or a
    /// restore, so a step never writes the end of a task it claimed before the state under it
    /// was replaced.
    state_gate: tokio::sync::RwLock<()>,
    /// Told of task and job ends ([`crate::stats`]); set once by whoever watches ecsd.
    observer: RwLock<Arc<dyn Observer>>,
    /// What watchers are told: acceptances and task ends ([`crate::events`]).
    events: EventLog,
    /// Each project's quotas ([`Engine::with_quota_source`]; default: none).
    quota_source: Arc<dyn QuotaSource>,
}

/// Why the clock did not move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockChangeError {
    /// Only a virtual clock moves on request.
    #[error("the clock is the system clock; start ecsd with --clock virtual to move it")]
    SystemClock,
    #[error(transparent)]
    Move(#[from] ClockMoveError),
}

impl Engine {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: EngineConfig) -> Self {
        let ids = config.seed.map_or_else(IdSource::random, IdSource::seeded);
        let latency = std::sync::RwLock::new(LatencySettings::profile(config.latency));
        Self {
            store,
            clock,
            faults: Arc::new(NoFaults),
            rules: Arc::default(),
            config,
            wakeup: Notify::new(),
            planned_wake: AtomicI64::new(i64::MAX),
            ids,
            virtual_clock: None,
            latency,
            state_gate: tokio::sync::RwLock::new(()),
            observer: RwLock::new(Arc::new(NoObserver)),
            events: EventLog::default(),
            quota_source: Arc::new(Unlimited),
        }
    }

    /// Where the engine reads each project's quotas (default: [`Unlimited`]).
    pub fn with_quota_source(mut self, source: Arc<dyn QuotaSource>) -> Self {
        self.quota_source = source;
        self
    }

    /// The quotas `project_id`'s jobs, groups and members are checked against.
    pub fn quotas(&self, project_id: &str) -> Quotas {
        self.quota_source.quotas(project_id)
    }

    /// Runs the engine on a virtual clock: its time, and the handle
    /// [`Engine::clock_advance`] and [`Engine::clock_set`] move.
    pub fn with_virtual_clock(mut self, clock: VirtualClock) -> Self {
        self.clock = Arc::new(clock.clone());
        self.virtual_clock = Some(clock);
        self
    }

    /// Where the engine's ids come from (also the HTTP layer's request ids).
    pub fn ids(&self) -> &IdSource {
        &self.ids
    }

    pub fn clock_mode(&self) -> ClockMode {
        if self.virtual_clock.is_some() {
            ClockMode::Virtual
        } else {
            ClockMode::System
        }
    }

    /// Moves a virtual clock forward by `by`, and wakes the run loop so that every task now due
    /// ends at once (no real time has to pass).
    pub fn clock_advance(&self, by: Duration) -> Result<time::OffsetDateTime, ClockChangeError> {
        let clock = self
            .virtual_clock
            .as_ref()
            .ok_or(ClockChangeError::SystemClock)?;
        let now = clock.advance(by)?;
        self.wakeup.notify_one();
        Ok(now)
    }

    /// Sets a virtual clock to `to` (not before now), and wakes the run loop.
    pub fn clock_set(
        &self,
        to: time::OffsetDateTime,
    ) -> Result<time::OffsetDateTime, ClockChangeError> {
        let clock = self
            .virtual_clock
            .as_ref()
            .ok_or(ClockChangeError::SystemClock)?;
        let now = clock.set(to)?;
        self.wakeup.notify_one();
        Ok(now)
    }

    /// What new jobs are scheduled with.
    pub fn latency(&self) -> LatencySettings {
        self.latency
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes the latency of jobs accepted from now on; accepted jobs keep their schedules.
    pub fn set_latency(&self, settings: LatencySettings) {
        *self
            .latency
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = settings;
    }

    /// Deletes the jobs, servers, groups, key pairs, private images and client tokens of one
    /// project or of all; accounts and configuration stay. No run-loop step is under way
    /// meanwhile, and the loop looks again afterwards.
    pub async fn reset(&self, project_id: Option<&str>) -> Result<ResetCounts, StoreError> {
        let _exclusive = self.state_gate.write().await;
        let counts = self.store.state_reset(project_id.map(str::to_owned)).await;
        self.wakeup.notify_one();
        counts
    }

    pub async fn snapshot_save(&self, name: &str) -> Result<SnapshotInfo, SnapshotError> {
        crate::store::check_snapshot_name(name)?;
        self.store.snapshot_save(name.to_owned()).await
    }

    pub async fn snapshots(&self) -> Result<Vec<SnapshotInfo>, SnapshotError> {
        self.store.snapshot_list().await
    }

    /// Replaces the whole state with the snapshot's while no run-loop step is under way; then
    /// wakes the loop, since the restored jobs have their own next due times. Tasks of restored
    /// jobs that fell due meanwhile (the clock never goes back) end at once.
    pub async fn snapshot_restore(&self, name: &str) -> Result<SnapshotInfo, SnapshotError> {
        crate::store::check_snapshot_name(name)?;
        let _exclusive = self.state_gate.write().await;
        let restored = self.store.snapshot_restore(name.to_owned()).await;
        self.planned_wake.store(i64::MAX, Ordering::Release);
        self.wakeup.notify_one();
        restored
    }

    pub async fn snapshot_delete(&self, name: &str) -> Result<(), SnapshotError> {
        crate::store::check_snapshot_name(name)?;
        self.store.snapshot_delete(name.to_owned()).await
    }

    /// A snapshot file to send: the named one, or a fresh copy of the current state.
    pub async fn snapshot_export(
        &self,
        name: Option<&str>,
    ) -> Result<(std::fs::File, u64), SnapshotError> {
        if let Some(name) = name {
            crate::store::check_snapshot_name(name)?;
        }
        self.store.snapshot_export(name.map(str::to_owned)).await
    }

    /// Reports task and job ends to `observer` from now on, and the store's commits too (the
    /// store's [`Store::observe`]). A later call replaces an earlier one.
    pub fn observe(&self, observer: Arc<dyn Observer>) {
        self.store.observe(Arc::clone(&observer));
        *self
            .observer
            .write()
            .unwrap_or_else(PoisonError::into_inner) = observer;
    }

    /// Writes waiting for the store's writer, if the store counts them
    /// ([`Store::writer_queue_depth`]).
    pub fn writer_queue_depth(&self) -> Option<u64> {
        self.store.writer_queue_depth()
    }

    /// A page of the project's jobs, newest first, as a client sees them now; jobs past their
    /// retention ([`Engine::retention_cutoff`]) are not listed. `now` and `finished_since` of
    /// `query` are set here.
    pub async fn jobs(&self, mut query: JobQuery) -> Result<Vec<JobRecord>, StoreError> {
        query.now = self.now_ms();
        query.finished_since = self.retention_cutoff();
        self.store.job_list(query).await
    }

    /// The job and server changes this engine writes, for watchers (`GET /_ecsd/events`).
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    pub fn with_faults(mut self, faults: Arc<dyn FaultInjector>) -> Self {
        self.faults = faults;
        self
    }

    /// Shares the fault rules the admin API edits (`ecsd` builds one registry for both).
    pub fn with_rules(mut self, rules: Arc<crate::faults::FaultRules>) -> Self {
        self.rules = rules;
        self
    }

    /// Accepts a create job: the servers exist (in `BUILD`) from this moment, so their ids can be
    /// returned and a crash can never build them twice. With a `client_token` seen before for the
    /// same request, the first job is answered again and nothing new is created.
    pub async fn create_servers(
        &self,
        project_id: &str,
        request: CreateServers,
        client_token: Option<ClientToken>,
    ) -> Result<Accepted, SubmitError> {
        let at = self.clock.now();
        let now = to_unix_ms(at);
        let job_id = self.ids.job_id(at);
        let kind = JobKind::CreateServers;
        let count = request.count.max(1);
        let reservation_id = format!("r-{}", &self.ids.job_id(at)[24..]);
        let mut new_servers = Vec::with_capacity(count as usize);
        let mut tasks = Vec::with_capacity(count as usize);
        for index in 0..count {
            let server_id = self.ids.server_id(at);
            let name = if count > 1 {
                format!("{}-{index:04}", request.name)
            } else {
                request.name.clone()
            };
            let doc = self.server_doc(&request, &server_id, &name, &reservation_id, index, at);
            new_servers.push(ServerRecord {
                id: server_id.clone(),
                project_id: project_id.to_owned(),
                name,
                flavor_id: request.flavor.id.clone(),
                state: PowerTriple {
                    vm_state: VmState::Building,
                    task_state: Some(TaskState::Scheduling),
                    power_state: power_state::NOSTATE,
                },
                progress: 0,
                busy_job_id: Some(job_id.clone()),
                created_at: now,
                updated_at: now,
                launched_at: None,
                fault: None,
                doc,
                tasks: Vec::new(),
            });
            tasks.push(self.new_task(
                kind,
                &job_id,
                i64::from(index),
                server_id,
                Operation::CreateServer,
                at,
            ));
        }
        let server_ids = new_servers.iter().map(|server| server.id.clone()).collect();
        let quotas = self.quotas(project_id);
        let quota =
            (quotas.limits_servers() || request.server_group_id.is_some()).then(|| QuotaCheck {
                quotas,
                demand: create_demand(&request),
            });
        let insert = JobInsert {
            job: new_job(job_id.clone(), project_id, kind, now, tasks),
            new_servers,
            preconditions: Vec::new(),
            reservations: Vec::new(),
            client_token,
            unfinished_job_limit: None,
            quota,
        };
        match self.accept(insert).await? {
            Insertion::Inserted => Ok(Accepted { job_id, server_ids }),
            Insertion::Replayed { job_id, server_ids } => Ok(Accepted { job_id, server_ids }),
        }
    }

    /// Accepts a batch start, stop, reboot or delete. Every server must exist in the project, be
    /// in a state the action allows, and be free of other jobs; otherwise nothing is accepted.
    pub async fn server_action(
        &self,
        project_id: &str,
        action: ServerAction,
        server_ids: &[String],
    ) -> Result<Accepted, SubmitError> {
        let at = self.clock.now();
        let now = to_unix_ms(at);
        let job_id = self.ids.job_id(at);
        let mut seen = HashSet::new();
        let unique: Vec<&String> = server_ids
            .iter()
            .filter(|id| seen.insert(id.as_str()))
            .collect();
        let operation = action.operation();
        let tasks = unique
            .iter()
            .enumerate()
            .map(|(index, server_id)| {
                self.new_task(
                    action.kind(),
                    &job_id,
                    index as i64,
                    (*server_id).clone(),
                    operation.clone(),
                    at,
                )
            })
            .collect();
        let preconditions = unique
            .iter()
            .map(|server_id| Precondition {
                server_id: (*server_id).clone(),
                allowed_vm_states: action.allowed_vm_states(),
                unchanged_since: None,
            })
            .collect();
        let insert = JobInsert {
            job: new_job(job_id.clone(), project_id, action.kind(), now, tasks),
            new_servers: Vec::new(),
            preconditions,
            reservations: Vec::new(),
            client_token: None,
            unfinished_job_limit: None,
            quota: None,
        };
        self.accept(insert).await?;
        Ok(Accepted {
            job_id,
            server_ids: Vec::new(),
        })
    }

    /// Stores the job durably, then wakes the run loop if the job is due before it would wake.
    pub(crate) async fn accept(&self, mut insert: JobInsert) -> Result<Insertion, SubmitError> {
        insert.unfinished_job_limit = self.config.max_unfinished_jobs_per_project;
        // Fault rules shape the tasks before they are stored (or refuse the job): decided
        // once, at acceptance, like the schedule.
        let fired = self.apply_rules(&mut insert).await?;
        let project_id = insert.job.project_id.clone();
        let first_due = insert.job.tasks.iter().map(TaskRecord::end_due).min();
        // Built only while someone watches (`/_ecsd/events`): the hot path stays as it was.
        let accepted = self
            .events
            .watched()
            .then(|| crate::events::accepted(&insert));
        let insertion = self.store.job_insert(insert).await;
        self.rules_settle(
            fired,
            matches!(insertion, Ok(Insertion::Inserted)),
            &project_id,
        );
        let insertion = insertion?;
        let new_work = insertion == Insertion::Inserted;
        if let (true, Some(accepted)) = (new_work, accepted) {
            self.events.emit(self.now_ms(), accepted);
        }
        if new_work && first_due.is_some_and(|due| due < self.planned_wake.load(Ordering::Acquire))
        {
            self.wakeup.notify_one();
        }
        Ok(insertion)
    }

    /// The engine's clock, for callers that stamp what they record (Nova's instance actions).
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// The clock the engine runs on (system or virtual), for what must keep time with it (token
    /// lifetimes, the request log): the same handle, so a virtual clock's moves show at once.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock)
    }

    pub async fn job(
        &self,
        project_id: &str,
        job_id: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let mut job = self.store.job_get(project_id, job_id).await?;
        if let Some(job) = &mut job {
            crate::schedule::job_at(job, self.now_ms());
        }
        Ok(job)
    }

    fn now_ms(&self) -> i64 {
        to_unix_ms(self.clock.now())
    }

    /// A server as a client sees it now ([`crate::schedule::server_at`]).
    fn server_now(&self, mut server: ServerRecord) -> ServerRecord {
        crate::schedule::server_at(&mut server, self.now_ms());
        server
    }

    pub async fn server(
        &self,
        project_id: &str,
        server_id: &str,
    ) -> Result<Option<ServerRecord>, StoreError> {
        let server = self.store.server_get(project_id, server_id).await?;
        Ok(server.map(|server| self.server_now(server)))
    }

    /// Changes a server's document at once, without a job (settings such as auto-recovery);
    /// `false` if the project has no such server.
    pub async fn server_change(
        &self,
        project_id: &str,
        server_id: &str,
        change: DocChange,
    ) -> Result<bool, StoreError> {
        self.store
            .server_update(ServerUpdate {
                project_id: project_id.to_owned(),
                server_id: server_id.to_owned(),
                change,
                now: to_unix_ms(self.clock.now()),
            })
            .await
    }

    /// Checks and applies a synchronous edit (tags, metadata, name…) now, without a job;
    /// answers the server as written.
    pub async fn server_edit(
        &self,
        project_id: &str,
        server_id: &str,
        change: ServerChange,
    ) -> Result<ServerRecord, ServerEditError> {
        let server = self
            .store
            .server_edit(ServerEdit {
                project_id: project_id.to_owned(),
                server_id: server_id.to_owned(),
                change,
                now: to_unix_ms(self.clock.now()),
            })
            .await?;
        Ok(self.server_now(server))
    }

    /// The distinct `key=value` tags of the project's servers, sorted.
    pub async fn tags(&self, project_id: &str) -> Result<Vec<String>, StoreError> {
        self.store.tag_list(project_id).await
    }

    pub async fn servers(&self, query: ServerQuery) -> Result<ServerPage, StoreError> {
        let mut page = self.store.server_list(query).await?;
        let now = self.now_ms();
        for server in &mut page.servers {
            crate::schedule::server_at(server, now);
        }
        Ok(page)
    }

    /// What the project holds, for the limits page.
    pub async fn project_usage(&self, project_id: &str) -> Result<Usage, StoreError> {
        self.store.project_usage(project_id).await
    }

    /// Stores a private image made from a server; `false` if its id is taken.
    pub async fn image_insert(&self, image: ImageRecord) -> Result<bool, StoreError> {
        self.store.image_insert(image).await
    }

    pub async fn images(&self, project_id: &str) -> Result<Vec<ImageRecord>, StoreError> {
        self.store.image_list(project_id).await
    }

    /// Stores a key pair; `false` if the project has one of that name.
    pub async fn keypair_insert(&self, keypair: KeyPairRecord) -> Result<bool, StoreError> {
        self.store.keypair_insert(keypair).await
    }

    pub async fn keypairs(&self, project_id: &str) -> Result<Vec<KeyPairRecord>, StoreError> {
        self.store.keypair_list(project_id).await
    }

    /// Deletes a key pair; `false` if there is none of that name.
    pub async fn keypair_delete(&self, project_id: &str, name: &str) -> Result<bool, StoreError> {
        self.store.keypair_delete(project_id, name).await
    }

    /// Creates an anti-affinity server group, within the project's group quota.
    pub async fn server_group_create(
        &self,
        project_id: &str,
        name: &str,
    ) -> Result<ServerGroupRecord, SubmitError> {
        let at = self.clock.now();
        let group = ServerGroupRecord {
            id: self.ids.server_id(at),
            project_id: project_id.to_owned(),
            name: name.to_owned(),
            policies: vec![ANTI_AFFINITY.to_owned()],
            created_at: to_unix_ms(at),
            members: Vec::new(),
        };
        self.store
            .server_group_insert(ServerGroupInsert {
                group: group.clone(),
                max_groups: self.quotas(project_id).server_groups,
            })
            .await?;
        Ok(group)
    }

    pub async fn server_group(
        &self,
        project_id: &str,
        group_id: &str,
    ) -> Result<Option<ServerGroupRecord>, StoreError> {
        self.store.server_group_get(project_id, group_id).await
    }

    pub async fn server_groups(
        &self,
        project_id: &str,
    ) -> Result<Vec<ServerGroupRecord>, StoreError> {
        self.store.server_group_list(project_id).await
    }

    /// Deletes a group; its members stay where they are. `false` if there is no such group.
    pub async fn server_group_delete(
        &self,
        project_id: &str,
        group_id: &str,
    ) -> Result<bool, StoreError> {
        let now = to_unix_ms(self.clock.now());
        self.store
            .server_group_delete(project_id, group_id, now)
            .await
    }

    /// Adds a server to a group (`add`) or removes it; see [`Store::server_group_membership`].
    pub async fn server_group_membership(
        &self,
        project_id: &str,
        group_id: &str,
        server_id: &str,
        add: bool,
    ) -> Result<(), SubmitError> {
        let now = to_unix_ms(self.clock.now());
        self.store
            .server_group_membership(ServerGroupMembership {
                project_id: project_id.to_owned(),
                group_id: group_id.to_owned(),
                server_id: server_id.to_owned(),
                add,
                max_members: self.quotas(project_id).server_group_members,
                now,
            })
            .await?;
        Ok(())
    }

    /// Recent jobs of any project as a client sees them now, newest first (the dashboard's
    /// list). An `INIT` or `RUNNING` filter is applied after the read, to the computed status,
    /// so such a page may hold fewer than `limit` jobs.
    pub async fn jobs_recent(
        &self,
        filter: crate::store::JobsRecent,
    ) -> Result<Vec<JobRecord>, StoreError> {
        let wanted = filter.status;
        let mut jobs = self.store.jobs_recent(filter).await?;
        let now = self.now_ms();
        for job in &mut jobs {
            crate::schedule::job_at(job, now);
        }
        jobs.retain(|job| wanted.is_none_or(|status| job.status == status));
        Ok(jobs)
    }

    pub async fn unfinished_jobs(&self) -> Result<u64, StoreError> {
        self.store.job_count_unfinished().await
    }

    /// Ends every task whose end is due now, in up to `claim_batch` jobs, in one commit.
    pub async fn run_once(&self) -> Result<RunOutcome, StoreError> {
        let _shared = self.state_gate.read().await;
        let now = to_unix_ms(self.clock.now());
        let due = self
            .store
            .task_claim_due(TaskClaim {
                now,
                limit: self.config.claim_batch,
            })
            .await?;
        let ends: Vec<TaskEnd> = due
            .iter()
            .flat_map(|job| job.tasks.iter())
            .filter(|task| !task.status.is_terminal() && task.end_due() <= now)
            .map(|task| self.end(task, now))
            .collect();
        if ends.is_empty() {
            return Ok(RunOutcome::Idle);
        }
        let count = ends.len();
        let report = crate::stats::EndReport::of(&due, &ends);
        let ended = self
            .events
            .watched()
            .then(|| crate::events::ended(&due, &ends, now));
        self.store.task_end(ends).await?;
        let observer = Arc::clone(&self.observer.read().unwrap_or_else(PoisonError::into_inner));
        report.send(observer.as_ref());
        if let Some(ended) = ended {
            self.events.emit(now, ended);
        }
        Ok(RunOutcome::Ran(count))
    }

    /// Deletes finished jobs older than the retention; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        self.store.job_purge(self.retention_cutoff()).await
    }

    /// Finished jobs that ended before this instant (Unix milliseconds) are past their
    /// retention: purged, or due for the next purge (it runs once a minute). Readers treat them
    /// as gone, so a job is queryable for exactly `job_retention` after it finished.
    pub fn retention_cutoff(&self) -> i64 {
        to_unix_ms(self.clock.now() - self.config.job_retention)
    }

    /// The run loop: steps tasks as they fall due until `shutdown` turns true. Between batches it
    /// sleeps until the next task is due (at most a second), or until a job is accepted.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        if self.config.paused {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
            return;
        }
        let mut next_purge = self.clock.now();
        while !*shutdown.borrow() {
            if self.clock.now() >= next_purge {
                match self.purge_expired().await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "purged finished jobs past retention"),
                    Err(error) => tracing::error!(error.cause_chain = ?error, "purge failed"),
                }
                next_purge = self.clock.now() + Duration::minutes(1);
            }
            // Running: any submission may be due before the next claim, so all of them ping.
            self.planned_wake.store(i64::MAX, Ordering::Release);
            let idle_for = match self.run_once().await {
                Ok(RunOutcome::Ran(_)) => {
                    tokio::task::yield_now().await;
                    continue;
                }
                Ok(RunOutcome::Idle) => self.time_to_next_due().await,
                Err(error) => {
                    tracing::error!(error.cause_chain = ?error, "engine step failed; retrying");
                    std::time::Duration::from_secs(1)
                }
            };
            // A job accepted between the next-due read above and this store saw `i64::MAX` and
            // pinged, so the sleep below returns at once: no job waits past its due time.
            let wake_at = to_unix_ms(self.clock.now()) + idle_for.as_millis() as i64;
            self.planned_wake.store(wake_at, Ordering::Release);
            tokio::select! {
                _ = tokio::time::sleep(idle_for) => {}
                _ = self.wakeup.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    async fn time_to_next_due(&self) -> std::time::Duration {
        const MAX_IDLE: std::time::Duration = std::time::Duration::from_secs(1);
        match self.store.task_next_due().await {
            Ok(Some(due)) => {
                let wait_ms = due - to_unix_ms(self.clock.now());
                std::time::Duration::from_millis(wait_ms.max(0) as u64).min(MAX_IDLE)
            }
            Ok(None) => MAX_IDLE,
            Err(error) => {
                tracing::error!(error.cause_chain = ?error, "cannot read the next due task");
                MAX_IDLE
            }
        }
    }

    /// A task accepted at `at`: its schedule from the latency profile, and the fault the
    /// injector decides for it, if any (asked step by step; the first faulty step is kept).
    pub(crate) fn new_task(
        &self,
        kind: JobKind,
        job_id: &str,
        index: i64,
        server_id: String,
        operation: Operation,
        at: time::OffsetDateTime,
    ) -> TaskRecord {
        let now = to_unix_ms(at);
        let id = self.ids.job_id(at);
        let latency = self.latency();
        let mut schedule = crate::schedule::schedule(&operation, latency.profile, index, now);
        if let Some(total) = latency.per_operation.get(kind.job_type()) {
            // The profile's proportions, of `fast` when `instant` has none to keep.
            let shape = match latency.profile {
                LatencyProfile::Instant => {
                    crate::schedule::schedule(&operation, LatencyProfile::Fast, index, now)
                }
                _ => schedule,
            };
            schedule = crate::schedule::scaled(&shape, now, total.whole_milliseconds() as i64);
        }
        let mut task = TaskRecord {
            id,
            job_id: job_id.to_owned(),
            index,
            server_id,
            operation,
            status: JobStatus::Init,
            schedule,
            fault: None,
            begin_time: now,
            end_time: None,
            error_code: None,
            fail_reason: None,
        };
        task.fault = (0..task.schedule.len()).find_map(|step| {
            self.faults.fault(&task, step).map(|fault| TaskFault {
                step,
                code: fault
                    .code
                    .unwrap_or_else(|| task.operation.default_error_code().to_owned()),
                reason: fault.reason,
            })
        });
        task
    }

    /// The end of a task at `now`: the last phase's effect and `SUCCESS`, or, if a fault was
    /// decided for it, the operation's failure effect and `FAIL` with the fault's code.
    pub(crate) fn end(&self, task: &TaskRecord, now: i64) -> TaskEnd {
        let mut end = TaskEnd {
            job_id: task.job_id.clone(),
            task_index: task.index,
            server_id: task.server_id.clone(),
            status: JobStatus::Success,
            end_time: now,
            error_code: None,
            fail_reason: None,
            patch: crate::schedule::patches(&task.operation)
                .pop()
                .unwrap_or_default(),
            now,
        };
        if let Some(fault) = &task.fault {
            end.status = JobStatus::Fail;
            end.error_code = Some(fault.code.clone());
            end.fail_reason = Some(fault.reason.clone());
            end.patch = task.operation.failure_patch(ServerFault {
                code: fault.code.clone(),
                message: fault.reason.clone(),
                created: now,
            });
        }
        end
    }

    fn server_doc(
        &self,
        request: &CreateServers,
        server_id: &str,
        name: &str,
        reservation_id: &str,
        index: u32,
        at: time::OffsetDateTime,
    ) -> ServerDoc {
        let seed = seed_of(server_id);
        let nics = request
            .nics
            .iter()
            .enumerate()
            .map(|(position, nic)| {
                let nic_seed = seed.rotate_left(position as u32 * 8);
                Nic {
                    port_id: self.ids.server_id(at),
                    subnet_id: nic.subnet_id.clone(),
                    ip_address: nic
                        .ip_address
                        .clone()
                        .filter(|ip| !ip.is_empty())
                        .unwrap_or_else(|| invented_ip(nic_seed)),
                    mac_address: invented_mac(nic_seed),
                    primary: position == 0,
                }
            })
            .collect();
        let mut volumes = vec![Volume {
            id: self.ids.server_id(at),
            device: "/dev/vda".to_owned(),
            boot_index: Some(0),
            size_gib: request
                .root_volume
                .size_gib
                .filter(|size| *size > 0)
                .unwrap_or(40),
            volume_type: request.root_volume.volume_type.clone(),
            delete_on_termination: true,
        }];
        for (position, data) in request.data_volumes.iter().enumerate() {
            volumes.push(Volume {
                id: self.ids.server_id(at),
                device: format!("/dev/vd{}", device_letter(position + 1)),
                boot_index: None,
                size_gib: data.size_gib.unwrap_or(10),
                volume_type: data.volume_type.clone(),
                delete_on_termination: false,
            });
        }
        let availability_zone = request
            .availability_zone
            .clone()
            .filter(|zone| !zone.is_empty())
            .unwrap_or_else(|| self.config.default_availability_zone.clone());
        // A member of an anti-affinity group gets a host of its own; the store moves it on if
        // another member holds that one.
        let host = request
            .server_group_id
            .as_ref()
            .map(|_| group_host(&availability_zone, seed, &[]));
        ServerDoc {
            image_id: request.image_id.clone(),
            flavor: request.flavor.clone(),
            vpc_id: request.vpc_id.clone(),
            availability_zone,
            description: request.description.clone(),
            key_name: request.key_name.clone(),
            hostname: name.replace('_', "-").to_lowercase(),
            nics,
            volumes,
            metadata: request.metadata.clone(),
            tags: request
                .tags
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            security_group_ids: request.security_group_ids.clone(),
            reservation_id: reservation_id.to_owned(),
            launch_index: i64::from(index),
            scheduler_hints: request.scheduler_hints.clone(),
            public_ip: request.public_ip.map(|delete_on_termination| PublicIp {
                id: self.ids.server_id(at),
                address: invented_public_ip(seed),
                delete_on_termination,
            }),
            host,
            dedicated_host_id: None,
            auto_recovery: request.auto_recovery.then(|| "true".to_owned()),
            server_group_id: request.server_group_id.clone(),
            resize_previous: None,
            instance_actions: Vec::new(),
            locked: false,
        }
    }
}

/// What a create adds to the project's usage: per server, one instance, its flavor's vCPUs and
/// memory, its NICs, and its disks (the system disk and the data disks).
fn create_demand(request: &CreateServers) -> Usage {
    let count = u64::from(request.count.max(1));
    let vcpus: u64 = request.flavor.vcpus.trim().parse().unwrap_or(0);
    Usage {
        instances: count,
        cores: count * vcpus,
        ram: count * request.flavor.ram,
        nics: count * request.nics.len() as u64,
        volumes: count * (1 + request.data_volumes.len() as u64),
        server_groups: 0,
    }
}

pub(crate) fn new_job(
    id: String,
    project_id: &str,
    kind: JobKind,
    now: i64,
    tasks: Vec<TaskRecord>,
) -> JobRecord {
    JobRecord {
        id,
        project_id: project_id.to_owned(),
        kind,
        status: JobStatus::Init,
        begin_time: now,
        end_time: None,
        error_code: None,
        fail_reason: None,
        tasks,
    }
}

/// `a`, `b`, … `z`, then `aa`, `ab`… like Linux block devices.
pub(crate) fn device_letter(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// A private address in 192.168.0.0/16, avoiding .0, .1 (gateway) and .255.
pub(crate) fn invented_ip(seed: u64) -> String {
    format!("192.168.{}.{}", (seed >> 8) % 256, 2 + seed % 253)
}

/// An OpenStack-style MAC (`fa:16:3e` prefix).
pub(crate) fn invented_mac(seed: u64) -> String {
    let bytes = seed.to_be_bytes();
    format!(
        "fa:16:3e:{:02x}:{:02x}:{:02x}",
        bytes[5], bytes[6], bytes[7]
    )
}

/// An address in 100.64.0.0/10 (shared address space: never a real public address).
fn invented_public_ip(seed: u64) -> String {
    format!(
        "100.{}.{}.{}",
        64 + (seed >> 16) % 64,
        (seed >> 8) % 256,
        1 + seed % 254
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_letters_follow_linux_naming() {
        let names: Vec<_> = [0, 1, 25, 26, 27].into_iter().map(device_letter).collect();
        assert_eq!(names, ["a", "b", "z", "aa", "ab"]);
    }

    #[test]
    fn invented_addresses_are_well_formed() {
        for seed in [0, 1, u64::MAX, 0xdead_beef] {
            assert!(invented_ip(seed).parse::<std::net::Ipv4Addr>().is_ok());
            assert!(invented_public_ip(seed)
                .parse::<std::net::Ipv4Addr>()
                .is_ok());
            assert_eq!(invented_mac(seed).len(), 17);
        }
    }
}
