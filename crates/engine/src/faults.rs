//! Fault rules: the user-controlled half of the job model (a job that ends `FAIL`, hangs in
//! `RUNNING`, is refused, or whose answer never arrives), reachable from outside through the
//! admin API (`/_ecsd/faults`) and the config file (`[[faults]]`).
//!
//! A rule is *match* (operation, project, job, server id or name pattern), *when* (`times`,
//! `every`, `probability` with a seed, `after`, `expires_at`) and *effect*. This module owns
//! the rule model, its checks, the matching and the when-logic with its counters; it decides
//! nothing about HTTP. Two places ask it:
//!
//! - the engine, **once per job at acceptance** ([`Engine::accept`]), for rules whose
//!   `operation` is a job type's wire name (`createServer`, `batchStopServers`, …) or absent:
//!   `fail` becomes the stored [`crate::job::TaskFault`] of the selected tasks, `stuck` holds
//!   their end ([`HELD`]) until released, `latency` lengthens their last phase, and the
//!   refusals come back as [`crate::SubmitError::Fault`] before anything is stored;
//! - the api's middleware on tenant routes, for rules whose `operation` is an SDK operation name
//!   (`ShowJob`, `ShowServer`, …), once per request.
//!
//! Everything is deterministic: counters move under one lock, and a rule's `probability` draws
//! from its own generator, seeded by its `seed` or by the registry's seed and the rule's id, so
//! the same rules over the same calls fire the same way every run.

use crate::compute::seed_of;
use crate::engine::Engine;
use crate::job::{JobKind, JobStatus, TaskFault};
use crate::store::{JobInsert, StoreError, TaskEnd};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The due time (unix ms) of a held task's end: a `stuck` task's last phase is scheduled here,
/// so no claim ever reaches it (about 73 million years after 1970) until a release writes the
/// end. Far below `i64::MAX`, so no arithmetic on schedules can overflow.
pub const HELD: i64 = i64::MAX / 4;

/// What a rule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Refused at submission with `status`, `code`, `message`: nothing is created.
    Reject,
    /// The job runs and its selected sub-jobs end `FAIL` with `error_code` / `fail_reason`.
    Fail,
    /// The selected sub-jobs stay `RUNNING` until released.
    Stuck,
    /// `duration` is added to the job's steps, or to a synchronous answer.
    Latency,
    /// 429 or 503 with `Retry-After`: the gateway's `APIGW.0308` or ECS's `Common.1503`.
    Throttle,
    /// 502 or 504 with an HTML body, as a load balancer answers.
    GatewayError,
    /// The request takes full effect, then the connection closes without an answer.
    DropResponse,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Reject => "reject",
            Effect::Fail => "fail",
            Effect::Stuck => "stuck",
            Effect::Latency => "latency",
            Effect::Throttle => "throttle",
            Effect::GatewayError => "gateway_error",
            Effect::DropResponse => "drop_response",
        }
    }

    /// Effects that answer instead of the operation (nothing is created or read).
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Effect::Reject | Effect::Throttle | Effect::GatewayError
        )
    }

    /// Effects that only a job can have (a synchronous call has no sub-jobs to fail or hold).
    pub fn job_only(self) -> bool {
        matches!(self, Effect::Fail | Effect::Stuck)
    }
}

/// A rule as users write it: the JSON body of `POST /_ecsd/faults` and a `[[faults]]` table
/// of the config file (same keys). Unknown keys are refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    // --- match (all optional, all must hold) ---
    /// A job type's wire name (`createServer`, …) or an SDK operation name (`ShowJob`, …).
    /// Absent: every job (never a synchronous call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    /// A name pattern: `*` stands for any run of characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    // --- when (at most one of times / every / probability) ---
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The first `after` matches pass untouched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// RFC 3339; from then on the rule matches nothing (read on the engine's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    // --- effect ---
    pub effect: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// 0-based task indexes (in `serverIds` order) that fail, hang or slow down; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_jobs: Option<Vec<usize>>,
    /// `latency`: `500ms`, `3s`, `2m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// `throttle`: seconds, sent as `Retry-After`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// A rule refused by [`FaultRules::add`]: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: &'static str,
    pub message: String,
}

fn rule_error(field: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        field,
        message: message.into(),
    }
}

/// Whether `operation` names a job type (the engine's domain) rather than an SDK operation.
pub fn is_job_operation(operation: &str) -> bool {
    JobKind::from_job_type(operation).is_some()
}

/// `500ms`, `3s`, `2m`, `1h`: a whole number and a unit.
pub fn parse_duration(text: &str) -> Option<time::Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    match unit {
        "ms" => Some(time::Duration::milliseconds(number)),
        "s" => Some(time::Duration::seconds(number)),
        "m" => Some(time::Duration::minutes(number)),
        "h" => Some(time::Duration::hours(number)),
        _ => None,
    }
}

/// Whether `name` fits `pattern`, where `*` stands for any run of characters (also none).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    // Without a `*` there is one part, and the name must be the pattern.
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// When a rule fires among its matches.
#[derive(Debug, Clone, Copy, PartialEq)]
enum When {
    Always,
    Times(u64),
    Every(u64),
    Probability(f64),
}

/// A checked rule with its counters.
#[derive(Debug)]
struct Rule {
    id: String,
    spec: FaultSpec,
    when: When,
    expires_at: Option<i64>,
    latency: Option<time::Duration>,
    /// Matches counted (`after` included).
    matched: u64,
    fired: u64,
    rng: fastrand::Rng,
}

impl FaultSpec {
    /// Checks what the engine can check (the api checks the codes against its catalogue and
    /// the operation against its routes first). Returns the parsed `when`, expiry and latency.
    fn check(&self) -> Result<(When, Option<i64>, Option<time::Duration>), RuleError> {
        let chosen: Vec<&'static str> = [
            ("times", self.times.is_some()),
            ("every", self.every.is_some()),
            ("probability", self.probability.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if let [_, second, ..] = chosen.as_slice() {
            return Err(rule_error(
                second,
                format!(
                    "at most one of times, every and probability may be set (got {})",
                    chosen.join(" and ")
                ),
            ));
        }
        let when = match (self.times, self.every, self.probability) {
            (Some(0), _, _) => return Err(rule_error("times", "must be at least 1")),
            (Some(times), _, _) => When::Times(times),
            (_, Some(0), _) => return Err(rule_error("every", "must be at least 1")),
            (_, Some(every), _) => When::Every(every),
            (_, _, Some(p)) if !(0.0..=1.0).contains(&p) || p.is_nan() => {
                return Err(rule_error("probability", format!("{p} is outside 0 to 1")))
            }
            (_, _, Some(p)) => When::Probability(p),
            _ => When::Always,
        };
        if self.seed.is_some() && self.probability.is_none() {
            return Err(rule_error("seed", "only a probability rule takes a seed"));
        }
        let expires_at = self
            .expires_at
            .as_deref()
            .map(|text| {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .map(crate::clock::to_unix_ms)
                    .map_err(|_| {
                        rule_error(
                            "expires_at",
                            format!(
                                "{text:?} is not an RFC 3339 time such as 2030-01-01T00:00:00Z"
                            ),
                        )
                    })
            })
            .transpose()?;
        if let Some(pattern) = &self.server_name {
            if pattern.is_empty() {
                return Err(rule_error("server_name", "must not be empty"));
            }
        }
        let operation = self.operation.as_deref();
        let job_rule = operation.is_none_or(is_job_operation);
        if self.effect.job_only() && !job_rule {
            return Err(rule_error(
                "effect",
                format!(
                    "{} applies to jobs only; {:?} is a synchronous operation",
                    self.effect.as_str(),
                    operation.unwrap_or_default()
                ),
            ));
        }
        let only = |field: &'static str, set: bool, effects: &[Effect]| {
            if set && !effects.contains(&self.effect) {
                let names: Vec<&str> = effects.iter().map(|effect| effect.as_str()).collect();
                Err(rule_error(
                    field,
                    format!(
                        "applies to the effect {} only, not {}",
                        names.join(" or "),
                        self.effect.as_str()
                    ),
                ))
            } else {
                Ok(())
            }
        };
        only("error_code", self.error_code.is_some(), &[Effect::Fail])?;
        only("fail_reason", self.fail_reason.is_some(), &[Effect::Fail])?;
        only(
            "sub_jobs",
            self.sub_jobs.is_some(),
            &[Effect::Fail, Effect::Stuck, Effect::Latency],
        )?;
        only("duration", self.duration.is_some(), &[Effect::Latency])?;
        only(
            "retry_after",
            self.retry_after.is_some(),
            &[Effect::Throttle],
        )?;
        only(
            "status",
            self.status.is_some(),
            &[Effect::Reject, Effect::Throttle, Effect::GatewayError],
        )?;
        only(
            "code",
            self.code.is_some(),
            &[Effect::Reject, Effect::Throttle],
        )?;
        only(
            "message",
            self.message.is_some(),
            &[Effect::Reject, Effect::Throttle],
        )?;
        let latency = match (self.effect, &self.duration) {
            (Effect::Latency, None) => {
                return Err(rule_error(
                    "duration",
                    "latency needs a duration such as 3s",
                ))
            }
            (Effect::Latency, Some(text)) => match parse_duration(text) {
                Some(duration)
                    if duration.is_positive() && duration <= time::Duration::hours(24) =>
                {
                    Some(duration)
                }
                _ => {
                    return Err(rule_error(
                        "duration",
                        format!(
                            "{text:?} is not a duration from 1ms to 24h such as 500ms, 3s or 2m"
                        ),
                    ))
                }
            },
            _ => None,
        };
        match (self.effect, self.status) {
            (Effect::Reject, Some(status)) if !(400..=599).contains(&status) => {
                return Err(rule_error("status", format!("{status} is not 400 to 599")))
            }
            (Effect::Throttle, Some(status)) if status != 429 && status != 503 => {
                return Err(rule_error(
                    "status",
                    format!("{status}: throttle is 429 or 503"),
                ))
            }
            (Effect::GatewayError, Some(status)) if status != 502 && status != 504 => {
                return Err(rule_error(
                    "status",
                    format!("{status}: gateway_error is 502 or 504"),
                ))
            }
            _ => {}
        }
        if self.effect == Effect::Reject && self.code.is_none() {
            return Err(rule_error("code", "reject needs a catalogued code"));
        }
        Ok((when, expires_at, latency))
    }
}

/// A rule as `GET /_ecsd/faults` shows it: its id, its keys, and how often it matched and fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleView {
    pub id: String,
    #[serde(flatten)]
    pub spec: FaultSpec,
    pub matched: u64,
    pub fired: u64,
}

/// What one call or job is, for matching.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The job type's wire name, or the SDK operation name of a request.
    pub operation: &'a str,
    /// A job at acceptance (`true`) or a request (`false`).
    pub job: bool,
    pub project_id: &'a str,
    pub job_id: Option<&'a str>,
    /// The job's servers in task order, or the request's server.
    pub servers: &'a [ServerRef<'a>],
}

/// A server a job or request concerns; its name when known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerRef<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
}

/// A rule that fired on one job or request.
#[derive(Debug, Clone, PartialEq)]
pub struct Fired {
    pub rule_id: String,
    pub effect: Effect,
    pub spec: FaultSpec,
    /// `latency`: how much.
    pub latency: Option<time::Duration>,
    /// The job it fired on, once accepted (or refused: the id it would have had).
    pub job_id: Option<String>,
    /// The operation it fired on.
    pub operation: String,
}

impl Fired {
    /// Whether the task at `index`, on `server`, is one the effect applies to: among
    /// `sub_jobs` (all when absent) and, when the rule names a server, that server.
    pub fn selects(&self, index: usize, server: &ServerRef<'_>) -> bool {
        let listed = self
            .spec
            .sub_jobs
            .as_ref()
            .is_none_or(|indexes| indexes.contains(&index));
        listed && server_matches(&self.spec, server)
    }
}

fn server_matches(spec: &FaultSpec, server: &ServerRef<'_>) -> bool {
    spec.server_id.as_ref().is_none_or(|id| id == server.id)
        && spec
            .server_name
            .as_ref()
            .is_none_or(|pattern| server.name.is_some_and(|name| name_matches(pattern, name)))
}

/// A job whose tasks a `stuck` rule holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldJob {
    pub job_id: String,
    pub project_id: String,
    pub rule_id: String,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    rules: Vec<Rule>,
    held: BTreeMap<String, HeldJob>,
}

/// The rules of one ecsd, shared by the engine and the api (`Arc<FaultRules>`).
#[derive(Debug)]
pub struct FaultRules {
    seed: u64,
    inner: Mutex<Inner>,
    /// How many rules exist: the accept path skips all work when there are none.
    count: AtomicUsize,
}

impl Default for FaultRules {
    fn default() -> Self {
        Self::new(0)
    }
}

impl FaultRules {
    /// A registry whose rules without a `seed` draw from a generator seeded by `seed` and the
    /// rule's id (`f-1`, `f-2`, … in order of addition).
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            inner: Mutex::new(Inner::default()),
            count: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves counters, not broken invariants: go on.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Checks and adds a rule; answers it with its new id. A refused rule changes nothing.
    pub fn add(&self, spec: FaultSpec) -> Result<RuleView, RuleError> {
        let (when, expires_at, latency) = spec.check()?;
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = format!("f-{}", inner.next_id);
        let seed = spec
            .seed
            .unwrap_or_else(|| seed_of(&format!("{}/{id}", self.seed)));
        let rule = Rule {
            id: id.clone(),
            spec,
            when,
            expires_at,
            latency,
            matched: 0,
            fired: 0,
            rng: fastrand::Rng::with_seed(seed),
        };
        let view = view(&rule);
        inner.rules.push(rule);
        self.count.store(inner.rules.len(), Ordering::Release);
        Ok(view)
    }

    /// Every rule, in order of addition.
    pub fn list(&self) -> Vec<RuleView> {
        self.lock().rules.iter().map(view).collect()
    }

    /// Removes a rule; answers it and the jobs it held (to release), or `None` if unknown.
    pub fn remove(&self, id: &str) -> Option<(RuleView, Vec<HeldJob>)> {
        let mut inner = self.lock();
        let position = inner.rules.iter().position(|rule| rule.id == id)?;
        let rule = inner.rules.remove(position);
        self.count.store(inner.rules.len(), Ordering::Release);
        let held = take_held_by(&mut inner.held, |held| held.rule_id == id);
        Some((view(&rule), held))
    }

    /// Removes every rule; answers how many, and the jobs they held.
    pub fn clear(&self) -> (usize, Vec<HeldJob>) {
        let mut inner = self.lock();
        let count = inner.rules.len();
        inner.rules.clear();
        self.count.store(0, Ordering::Release);
        let held = take_held_by(&mut inner.held, |_| true);
        (count, held)
    }

    /// Whether a rule that could apply to jobs needs the servers' names.
    pub fn wants_server_names(&self) -> bool {
        self.lock().rules.iter().any(|rule| {
            rule.spec.server_name.is_some()
                && rule.spec.operation.as_deref().is_none_or(is_job_operation)
        })
    }

    /// The first rule that fires on `target` at `now` (unix ms), in order of addition. Every
    /// rule before it that matched counted the match; rules after it are not asked (one
    /// effect per job or request).
    pub fn evaluate(&self, target: &Target<'_>, now: i64) -> Option<Fired> {
        if self.is_empty() {
            return None;
        }
        let mut inner = self.lock();
        for rule in &mut inner.rules {
            if !matches(rule, target, now) {
                continue;
            }
            rule.matched += 1;
            let after = rule.spec.after.unwrap_or(0);
            if rule.matched <= after {
                continue;
            }
            let position = rule.matched - after;
            let fire = match rule.when {
                When::Always => true,
                When::Times(times) => rule.fired < times,
                When::Every(every) => position % every == 0,
                When::Probability(p) => rule.rng.f64() < p,
            };
            if !fire {
                continue;
            }
            rule.fired += 1;
            return Some(Fired {
                rule_id: rule.id.clone(),
                effect: rule.spec.effect,
                spec: rule.spec.clone(),
                latency: rule.latency,
                job_id: target.job_id.map(str::to_owned),
                operation: target.operation.to_owned(),
            });
        }
        None
    }

    /// Takes back a firing whose job was not created after all (the store refused it, or it
    /// replayed an earlier job): the rule counts neither the match nor the firing, so "the next
    /// N jobs" means jobs that exist. A probability rule's draw is not taken back.
    pub fn refund(&self, fired: &Fired) {
        let mut inner = self.lock();
        if let Some(rule) = inner.rules.iter_mut().find(|rule| rule.id == fired.rule_id) {
            rule.matched = rule.matched.saturating_sub(1);
            rule.fired = rule.fired.saturating_sub(1);
        }
    }

    /// Records that `rule_id` holds tasks of `job_id`.
    pub fn hold(&self, held: HeldJob) {
        self.lock().held.insert(held.job_id.clone(), held);
    }

    /// Forgets a held job and answers it, if it was held.
    pub fn take_held(&self, job_id: &str) -> Option<HeldJob> {
        self.lock().held.remove(job_id)
    }
}

fn take_held_by(
    held: &mut BTreeMap<String, HeldJob>,
    select: impl Fn(&HeldJob) -> bool,
) -> Vec<HeldJob> {
    let ids: Vec<String> = held
        .values()
        .filter(|job| select(job))
        .map(|job| job.job_id.clone())
        .collect();
    ids.iter().filter_map(|id| held.remove(id)).collect()
}

fn view(rule: &Rule) -> RuleView {
    RuleView {
        id: rule.id.clone(),
        spec: rule.spec.clone(),
        matched: rule.matched,
        fired: rule.fired,
    }
}

fn matches(rule: &Rule, target: &Target<'_>, now: i64) -> bool {
    let spec = &rule.spec;
    if rule.expires_at.is_some_and(|expires| now >= expires) {
        return false;
    }
    let operation_holds = match spec.operation.as_deref() {
        // No operation: every job, never a request.
        None => target.job,
        Some(operation) => operation == target.operation,
    };
    operation_holds
        && spec
            .project_id
            .as_ref()
            .is_none_or(|project| project == target.project_id)
        && spec
            .job_id
            .as_ref()
            .is_none_or(|job| target.job_id == Some(job.as_str()))
        && (spec.server_id.is_none() && spec.server_name.is_none()
            || target
                .servers
                .iter()
                .any(|server| server_matches(spec, server)))
}

/// What one request's fault rules did, for the api: the firings of the job rules the engine
/// evaluated while serving it (the api renders refusals, closes the connection for
/// `drop_response`, logs and counts). Set by the api around each tenant request
/// ([`RequestScope::run`]); the engine writes into it through a task-local, so no handler
/// carries it.
#[derive(Debug, Default)]
pub struct RequestScope {
    pub request_id: String,
    fired: Mutex<Vec<Fired>>,
    drop_response: AtomicBool,
}

tokio::task_local! {
    static SCOPE: Arc<RequestScope>;
}

impl RequestScope {
    pub fn new(request_id: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            request_id: request_id.into(),
            ..Self::default()
        })
    }

    /// Runs `future` (the rest of the request) with this scope visible to the engine.
    pub async fn run<F: std::future::Future>(self: Arc<Self>, future: F) -> F::Output {
        SCOPE.scope(self, future).await
    }

    /// The firings noted so far.
    pub fn fired(&self) -> Vec<Fired> {
        self.fired
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether a firing asked that the answer be dropped.
    pub fn drop_response(&self) -> bool {
        self.drop_response.load(Ordering::Acquire)
    }

    /// Notes a firing in the current request's scope, if there is one; answers the request id.
    fn note(fired: &Fired) -> Option<String> {
        SCOPE
            .try_with(|scope| {
                if fired.effect == Effect::DropResponse {
                    scope.drop_response.store(true, Ordering::Release);
                }
                scope
                    .fired
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(fired.clone());
                scope.request_id.clone()
            })
            .ok()
    }
}

impl Engine {
    /// The fault rules this engine applies at acceptance.
    pub fn rules(&self) -> &Arc<FaultRules> {
        &self.rules
    }

    /// Applies the job rules to a job about to be stored: the first rule that fires shapes
    /// the tasks it selects (`fail`, `stuck`, `latency`), or refuses the job. Answers the
    /// firing, to note once the job is stored, or to refund if it is not.
    pub(crate) async fn apply_rules(
        &self,
        insert: &mut JobInsert,
    ) -> Result<Option<Fired>, crate::SubmitError> {
        if self.rules.is_empty() {
            return Ok(None);
        }
        let job = &insert.job;
        let mut names: Vec<Option<String>> = job
            .tasks
            .iter()
            .map(|task| {
                insert
                    .new_servers
                    .iter()
                    .find(|server| server.id == task.server_id)
                    .map(|server| server.name.clone())
            })
            .collect();
        if names.iter().any(Option::is_none) && self.rules.wants_server_names() {
            for (task, name) in job.tasks.iter().zip(names.iter_mut()) {
                if name.is_none() {
                    *name = self
                        .store
                        .server_get(&job.project_id, &task.server_id)
                        .await?
                        .map(|server| server.name);
                }
            }
        }
        let servers: Vec<ServerRef<'_>> = job
            .tasks
            .iter()
            .zip(&names)
            .map(|(task, name)| ServerRef {
                id: &task.server_id,
                name: name.as_deref(),
            })
            .collect();
        let target = Target {
            operation: job.kind.job_type(),
            job: true,
            project_id: &job.project_id,
            job_id: Some(&job.id),
            servers: &servers,
        };
        let now = crate::clock::to_unix_ms(self.clock.now());
        let Some(fired) = self.rules.evaluate(&target, now) else {
            return Ok(None);
        };
        let selected: Vec<bool> = servers
            .iter()
            .enumerate()
            .map(|(index, server)| fired.selects(index, server))
            .collect();
        if fired.effect.is_refusal() {
            self.fault_fired(&fired);
            return Err(crate::SubmitError::Fault(Box::new(fired)));
        }
        for (task, selected) in insert.job.tasks.iter_mut().zip(selected) {
            if !selected {
                continue;
            }
            match fired.effect {
                Effect::Fail => {
                    let step = task.schedule.len().saturating_sub(1);
                    task.fault =
                        Some(TaskFault {
                            step,
                            code: fired
                                .spec
                                .error_code
                                .clone()
                                .unwrap_or_else(|| task.operation.default_error_code().to_owned()),
                            reason: fired.spec.fail_reason.clone().unwrap_or_else(|| {
                                format!("failed by fault rule {}", fired.rule_id)
                            }),
                        });
                }
                Effect::Stuck => {
                    if let Some(end) = task.schedule.last_mut() {
                        *end = HELD;
                    }
                }
                Effect::Latency => {
                    let extra = fired
                        .latency
                        .map_or(0, |duration| duration.whole_milliseconds() as i64);
                    if let Some(end) = task.schedule.last_mut() {
                        *end += extra;
                    }
                }
                Effect::Reject | Effect::Throttle | Effect::GatewayError | Effect::DropResponse => {
                }
            }
        }
        Ok(Some(fired))
    }

    /// After the store answered for a job a rule fired on: a stored job keeps the firing (and
    /// a `stuck` one is remembered for release), anything else refunds it.
    pub(crate) fn rules_settle(&self, fired: Option<Fired>, stored: bool, project_id: &str) {
        let Some(fired) = fired else { return };
        if !stored {
            self.rules.refund(&fired);
            return;
        }
        if fired.effect == Effect::Stuck {
            if let Some(job_id) = &fired.job_id {
                self.rules.hold(HeldJob {
                    job_id: job_id.clone(),
                    project_id: project_id.to_owned(),
                    rule_id: fired.rule_id.clone(),
                });
            }
        }
        self.fault_fired(&fired);
    }

    /// Logs a firing and notes it for the request being served.
    fn fault_fired(&self, fired: &Fired) {
        let request_id = RequestScope::note(fired).unwrap_or_default();
        tracing::info!(
            rule_id = %fired.rule_id,
            effect = fired.effect.as_str(),
            operation = %fired.operation,
            job_id = fired.job_id.as_deref().unwrap_or_default(),
            request_id,
            "fault rule fired"
        );
    }

    /// Ends the held tasks of `job_id` now (as their last phase would have), fenced like any
    /// end: a task already ended is not written again. `project_id` finds a job held before a
    /// restart (the registry forgets held jobs); answers how many tasks were released, or
    /// `None` when no such job is known.
    pub async fn release(
        &self,
        job_id: &str,
        project_id: Option<&str>,
    ) -> Result<Option<usize>, StoreError> {
        let held = self.rules.take_held(job_id);
        let Some(project) = held
            .as_ref()
            .map(|held| held.project_id.as_str())
            .or(project_id)
        else {
            return Ok(None);
        };
        let Some(job) = self.store.job_get(project, job_id).await? else {
            return Ok(None);
        };
        let now = crate::clock::to_unix_ms(self.clock.now());
        let ends: Vec<TaskEnd> = job
            .tasks
            .iter()
            .filter(|task| task.status == JobStatus::Init && task.end_due() >= HELD)
            .map(|task| self.end(task, now))
            .collect();
        if ends.is_empty() {
            return Ok(Some(0));
        }
        let written = self.store.task_end(ends).await?;
        tracing::info!(job_id, released = written, "held tasks released");
        Ok(Some(written))
    }

    /// Releases the jobs a removed rule held; answers their ids.
    pub async fn release_all(&self, held: Vec<HeldJob>) -> Result<Vec<String>, StoreError> {
        let mut released = Vec::with_capacity(held.len());
        for job in held {
            if self
                .release(&job.job_id, Some(&job.project_id))
                .await?
                .is_some()
            {
                released.push(job.job_id);
            }
        }
        Ok(released)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(effect: Effect) -> FaultSpec {
        FaultSpec {
            operation: None,
            project_id: None,
            job_id: None,
            server_id: None,
            server_name: None,
            times: None,
            every: None,
            probability: None,
            seed: None,
            after: None,
            expires_at: None,
            effect,
            status: None,
            code: None,
            message: None,
            error_code: None,
            fail_reason: None,
            sub_jobs: None,
            duration: None,
            retry_after: None,
        }
    }

    fn job<'a>(operation: &'a str, servers: &'a [ServerRef<'a>]) -> Target<'a> {
        Target {
            operation,
            job: true,
            project_id: "p1",
            job_id: None,
            servers,
        }
    }

    /// Which of `calls` evaluations of `target` fire.
    fn firing(rules: &FaultRules, target: &Target<'_>, calls: usize) -> Vec<bool> {
        (0..calls)
            .map(|_| rules.evaluate(target, 0).is_some())
            .collect()
    }

    #[test]
    fn operation_project_and_server_name_must_all_match() {
        let rules = FaultRules::new(1);
        rules
            .add(FaultSpec {
                operation: Some("createServer".into()),
                project_id: Some("p1".into()),
                server_name: Some("web-*".into()),
                ..spec(Effect::Fail)
            })
            .expect("valid");
        let web = [ServerRef {
            id: "s1",
            name: Some("web-0001"),
        }];
        let db = [ServerRef {
            id: "s2",
            name: Some("db-0001"),
        }];
        assert!(rules.evaluate(&job("createServer", &web), 0).is_some());
        assert!(rules.evaluate(&job("createServer", &db), 0).is_none());
        assert!(rules.evaluate(&job("batchStopServers", &web), 0).is_none());
        let other_project = Target {
            project_id: "p2",
            ..job("createServer", &web)
        };
        assert!(rules.evaluate(&other_project, 0).is_none());
        // A request named like an SDK operation is not a job: a rule without operation is
        // for jobs only.
        let all = FaultRules::new(1);
        all.add(spec(Effect::Latency))
            .expect_err("needs a duration");
        all.add(FaultSpec {
            duration: Some("3s".into()),
            ..spec(Effect::Latency)
        })
        .expect("valid");
        let request = Target {
            job: false,
            ..job("ShowJob", &[])
        };
        assert!(all.evaluate(&request, 0).is_none());
        assert!(all.evaluate(&job("createServer", &web), 0).is_some());
    }

    #[test]
    fn name_patterns() {
        assert!(name_matches("web-*", "web-0001"));
        assert!(name_matches("*", ""));
        assert!(name_matches("a*b*c", "axxbyyc"));
        assert!(!name_matches("a*b*c", "axxbyy"));
        assert!(name_matches("exact", "exact"));
        assert!(!name_matches("exact", "exact2"));
        assert!(!name_matches("*-1", "x-12"));
        assert!(name_matches("ab*ab", "abab"));
        assert!(!name_matches("ab*ab", "aba"));
    }

    #[test]
    fn times_fires_the_next_n_matches_then_is_spent() {
        let rules = FaultRules::new(1);
        rules
            .add(FaultSpec {
                times: Some(2),
                ..spec(Effect::Fail)
            })
            .expect("valid");
        assert_eq!(
            firing(&rules, &job("createServer", &[]), 4),
            [true, true, false, false]
        );
        let listed = rules.list();
        assert_eq!((listed[0].matched, listed[0].fired), (4, 2));
    }

    #[test]
    fn every_fires_each_nth_match_and_after_lets_the_first_pass() {
        let rules = FaultRules::new(1);
        rules
            .add(FaultSpec {
                every: Some(3),
                ..spec(Effect::Fail)
            })
            .expect("valid");
        assert_eq!(
            firing(&rules, &job("createServer", &[]), 7),
            [false, false, true, false, false, true, false]
        );
        // "The second poll of that job fails": after 1, times 1.
        let rules = FaultRules::new(1);
        rules
            .add(FaultSpec {
                operation: Some("ShowJob".into()),
                job_id: Some("j1".into()),
                after: Some(1),
                times: Some(1),
                ..spec(Effect::Throttle)
            })
            .expect("valid");
        let poll = Target {
            job: false,
            job_id: Some("j1"),
            ..job("ShowJob", &[])
        };
        assert_eq!(firing(&rules, &poll, 4), [false, true, false, false]);
        let other_job = Target {
            job_id: Some("j2"),
            ..poll
        };
        assert_eq!(firing(&rules, &other_job, 2), [false, false]);
    }

    #[test]
    fn a_seeded_probability_gives_the_same_sequence_every_time() {
        let run = |registry_seed: u64, rule_seed: Option<u64>| {
            let rules = FaultRules::new(registry_seed);
            rules
                .add(FaultSpec {
                    probability: Some(0.3),
                    seed: rule_seed,
                    ..spec(Effect::Fail)
                })
                .expect("valid");
            firing(&rules, &job("createServer", &[]), 200)
        };
        let first = run(1, Some(42));
        assert_eq!(first, run(2, Some(42)), "the rule's seed decides");
        let fired = first.iter().filter(|fired| **fired).count();
        assert!((30..=90).contains(&fired), "about 30 % of 200: {fired}");
        assert_eq!(run(7, None), run(7, None), "the registry's seed decides");
        assert_ne!(run(7, None), run(8, None));
        // 0 never fires, 1 always does.
        let never = FaultRules::new(1);
        never
            .add(FaultSpec {
                probability: Some(0.0),
                ..spec(Effect::Fail)
            })
            .expect("valid");
        assert!(!firing(&never, &job("createServer", &[]), 50)
            .into_iter()
            .any(|fired| fired));
    }

    #[test]
    fn an_expired_rule_matches_nothing() {
        let rules = FaultRules::new(1);
        rules
            .add(FaultSpec {
                expires_at: Some("2030-01-01T00:00:00Z".into()),
                ..spec(Effect::Fail)
            })
            .expect("valid");
        let expiry = crate::clock::to_unix_ms(time::macros::datetime!(2030-01-01 00:00 UTC));
        let target = job("createServer", &[]);
        assert!(rules.evaluate(&target, expiry - 1).is_some());
        assert!(rules.evaluate(&target, expiry).is_none());
        assert_eq!(rules.list()[0].matched, 1, "an expired rule counts nothing");
    }

    #[test]
    fn the_first_firing_rule_wins_and_a_refund_takes_it_back() {
        let rules = FaultRules::new(1);
        let first = rules
            .add(FaultSpec {
                times: Some(1),
                ..spec(Effect::Stuck)
            })
            .expect("valid");
        rules.add(spec(Effect::Fail)).expect("valid");
        let target = job("createServer", &[]);
        let fired = rules.evaluate(&target, 0).expect("fires");
        assert_eq!(fired.rule_id, first.id);
        rules.refund(&fired);
        assert_eq!(
            rules.evaluate(&target, 0).map(|fired| fired.effect),
            Some(Effect::Stuck),
            "refunded: the job that exists is the first"
        );
        assert_eq!(
            rules.evaluate(&target, 0).map(|fired| fired.effect),
            Some(Effect::Fail)
        );
    }

    #[test]
    fn sub_jobs_and_server_filters_select_tasks() {
        let fired = |spec: FaultSpec| Fired {
            rule_id: "f-1".into(),
            effect: spec.effect,
            spec,
            latency: None,
            job_id: None,
            operation: "createServer".into(),
        };
        let a = ServerRef {
            id: "a",
            name: Some("web-1"),
        };
        let b = ServerRef {
            id: "b",
            name: Some("db-1"),
        };
        let second = fired(FaultSpec {
            sub_jobs: Some(vec![1]),
            ..spec(Effect::Fail)
        });
        assert_eq!(
            [second.selects(0, &a), second.selects(1, &b)],
            [false, true]
        );
        let all = fired(spec(Effect::Fail));
        assert_eq!([all.selects(0, &a), all.selects(1, &b)], [true, true]);
        let named = fired(FaultSpec {
            server_name: Some("db-*".into()),
            ..spec(Effect::Fail)
        });
        assert_eq!([named.selects(0, &a), named.selects(1, &b)], [false, true]);
    }

    #[test]
    fn bad_rules_name_their_field_and_add_nothing() {
        let rules = FaultRules::new(1);
        let cases = [
            (
                FaultSpec {
                    times: Some(1),
                    every: Some(2),
                    ..spec(Effect::Fail)
                },
                "every",
            ),
            (
                FaultSpec {
                    probability: Some(1.5),
                    ..spec(Effect::Fail)
                },
                "probability",
            ),
            (
                FaultSpec {
                    probability: Some(-0.1),
                    ..spec(Effect::Fail)
                },
                "probability",
            ),
            (
                FaultSpec {
                    times: Some(0),
                    ..spec(Effect::Fail)
                },
                "times",
            ),
            (
                FaultSpec {
                    expires_at: Some("tomorrow".into()),
                    ..spec(Effect::Fail)
                },
                "expires_at",
            ),
            (
                FaultSpec {
                    operation: Some("ShowJob".into()),
                    ..spec(Effect::Fail)
                },
                "effect",
            ),
            (
                FaultSpec {
                    status: Some(500),
                    ..spec(Effect::Throttle)
                },
                "status",
            ),
            (
                FaultSpec {
                    status: Some(500),
                    ..spec(Effect::GatewayError)
                },
                "status",
            ),
            (spec(Effect::Reject), "code"),
            (
                FaultSpec {
                    duration: Some("3 parsecs".into()),
                    ..spec(Effect::Latency)
                },
                "duration",
            ),
            (
                FaultSpec {
                    error_code: Some("Ecs.0204".into()),
                    ..spec(Effect::Throttle)
                },
                "error_code",
            ),
            (
                FaultSpec {
                    seed: Some(3),
                    ..spec(Effect::Fail)
                },
                "seed",
            ),
        ];
        for (bad, field) in cases {
            let error = rules.add(bad.clone()).expect_err("refused");
            assert_eq!(error.field, field, "{bad:?}: {error}");
        }
        assert!(rules.list().is_empty());
        assert!(rules.is_empty());
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let error = serde_json::from_str::<FaultSpec>(r#"{"effect":"fail","tmes":1}"#)
            .expect_err("unknown key");
        assert!(error.to_string().contains("tmes"), "{error}");
    }

    #[test]
    fn removing_a_rule_hands_back_the_jobs_it_held() {
        let rules = FaultRules::new(1);
        let stuck = rules.add(spec(Effect::Stuck)).expect("valid");
        let other = rules.add(spec(Effect::Stuck)).expect("valid");
        for (job, rule) in [("j1", &stuck.id), ("j2", &other.id)] {
            rules.hold(HeldJob {
                job_id: job.into(),
                project_id: "p1".into(),
                rule_id: rule.clone(),
            });
        }
        let (_, held) = rules.remove(&stuck.id).expect("known");
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].job_id, "j1");
        assert!(rules.remove(&stuck.id).is_none());
        assert_eq!(rules.clear().0, 1);
        assert!(rules.take_held("j2").is_none(), "clear hands back j2 too");
    }
}
