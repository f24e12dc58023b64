//! `ecsd admin`: a thin client of the admin API (`/_ecsd/…`) for shells and CI scripts. Each
//! subcommand is one request; the JSON answer goes to standard output, and the exit status
//! follows [`crate::output`] (0 success, 1 error answer, 2 unreachable, 64 usage error, 141
//! closed pipe). The request shapes are the admin API's (README, "Faults, time and state");
//! this module only builds them from the command line.

use crate::output::{self, Failure};
use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The ecsd to call (plain http).
    #[arg(
        long,
        env = "ECSD_ENDPOINT",
        default_value = "http://127.0.0.1:8774",
        global = true
    )]
    pub endpoint: String,

    /// The admin token (`ecsd serve --admin-token`), sent as `Authorization: Bearer`. Without
    /// one, ecsd answers loopback callers only.
    #[arg(long, env = "ECSD_ADMIN_TOKEN", hide_env_values = true, global = true)]
    pub admin_token: Option<String>,

    /// Print the HTTP status and X-Request-Id of the answer to standard error.
    #[arg(short = 'i', long = "include", global = true)]
    pub include: bool,

    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Fault rules: add, list, delete, clear (`/_ecsd/faults`).
    #[command(subcommand)]
    Fault(FaultCommand),
    /// The engine's clock: show it, advance it (`advance 10m`) or set it (`set RFC3339`).
    Clock {
        #[command(subcommand)]
        command: Option<ClockCommand>,
    },
    /// Change the latency at runtime (`PUT /_ecsd/latency`): a profile name, or per-operation
    /// durations with --operation.
    Latency(LatencyArgs),
    /// Remove every job, server and group, or one project's (`POST /_ecsd/reset`).
    Reset {
        /// Only this project.
        #[arg(long)]
        project_id: Option<String>,
    },
    /// Named snapshots of the state: save, restore, list, delete (`/_ecsd/snapshots`).
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// The request log (`GET /_ecsd/requests`), oldest first.
    Requests {
        /// Only entries after this sequence number (an entry's `seq`, or the answer's
        /// `last_seq`) or RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// Only this project's requests.
        #[arg(long)]
        project_id: Option<String>,
        /// At most this many entries (1 to 10000; default 1000).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// Let a job held by a `stuck` fault end (`POST /_ecsd/jobs/{job_id}/release`).
    Release { job_id: String },
}

#[derive(Debug, Clone, Subcommand)]
pub enum FaultCommand {
    /// Add a rule (`POST /_ecsd/faults`): from --rule (JSON, @FILE or @-), the flags, or both
    /// (the flags win).
    Add(Box<FaultRuleArgs>),
    /// List the rules and how often each fired.
    List,
    /// Delete one rule.
    Delete { id: String },
    /// Delete every rule.
    Clear,
}

/// A fault rule: `--rule` and the flags for its common keys (README, "Fault rules").
#[derive(Debug, Clone, Default, Args)]
pub struct FaultRuleArgs {
    /// The whole rule as JSON text, @FILE or @- (standard input).
    #[arg(long)]
    pub rule: Option<String>,
    /// The job type (createServer, batchStopServers…) or SDK operation (ShowJob…) to match.
    #[arg(long)]
    pub operation: Option<String>,
    #[arg(long)]
    pub project_id: Option<String>,
    #[arg(long)]
    pub job_id: Option<String>,
    #[arg(long)]
    pub server_id: Option<String>,
    /// A server name, `*` matching any run of characters (`web-*`).
    #[arg(long)]
    pub server_name: Option<String>,
    /// The next N matches, then the rule is spent.
    #[arg(long)]
    pub times: Option<u64>,
    /// Each Nth match.
    #[arg(long)]
    pub every: Option<u64>,
    /// A chance from 0 to 1 per match.
    #[arg(long)]
    pub probability: Option<f64>,
    /// The seed of --probability (deterministic).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Let the first N matches pass first.
    #[arg(long)]
    pub after: Option<u64>,
    /// When the rule stops (RFC 3339).
    #[arg(long)]
    pub expires_at: Option<String>,
    /// reject, fail, stuck, latency, throttle, gateway_error or drop_response.
    #[arg(long)]
    pub effect: Option<String>,
    /// fail: the job's error_code (Ecs.0204…).
    #[arg(long)]
    pub error_code: Option<String>,
    /// fail: the job's fail_reason.
    #[arg(long)]
    pub fail_reason: Option<String>,
    /// fail: the 0-based indexes of the sub-jobs that fail (`1` or `0,2`).
    #[arg(long, value_delimiter = ',')]
    pub sub_jobs: Vec<u64>,
    /// reject, throttle, gateway_error: the HTTP status.
    #[arg(long)]
    pub status: Option<u16>,
    /// reject, throttle: the error code answered.
    #[arg(long)]
    pub code: Option<String>,
    /// reject: the error message.
    #[arg(long)]
    pub message: Option<String>,
    /// throttle: the Retry-After seconds.
    #[arg(long)]
    pub retry_after: Option<u64>,
    /// latency: the time added (3s, 500ms…).
    #[arg(long)]
    pub duration: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ClockCommand {
    /// Show the clock (the default).
    Show,
    /// Move a virtual clock forward, e.g. `10m`, `90s`.
    Advance { by: String },
    /// Set a virtual clock to an RFC 3339 time (never backwards).
    Set { time: String },
}

#[derive(Debug, Clone, Args)]
pub struct LatencyArgs {
    /// A profile: instant, fast or realistic.
    pub profile: Option<String>,
    /// Per-operation durations, `OPERATION=DURATION` (e.g. `createServer=3s`); repeatable.
    #[arg(long = "operation", value_name = "OPERATION=DURATION")]
    pub operations: Vec<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SnapshotCommand {
    /// Save the state under NAME.
    Save { name: String },
    /// Replace the state with NAME's.
    Restore { name: String },
    /// List the snapshots.
    List,
    /// Delete NAME.
    Delete { name: String },
}

/// One admin request, as the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminRequest {
    pub method: &'static str,
    /// Path and query, percent-encoded.
    pub path: String,
    pub body: Option<Value>,
}

impl AdminRequest {
    fn new(method: &'static str, path: impl Into<String>, body: Option<Value>) -> Self {
        Self {
            method,
            path: path.into(),
            body,
        }
    }
}

/// What a path segment or query value keeps as is: RFC 3986's unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A path segment or query value, percent-encoded (ids and names come from the user).
fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

/// `?name=value&…` of the given pairs, or nothing.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .map(|value| format!("{name}={}", segment(value)))
        })
        .collect();
    if encoded.is_empty() {
        String::new()
    } else {
        format!("?{}", encoded.join("&"))
    }
}

/// The request a command line asks for; a usage error if it cannot be built (a bad `--rule`,
/// a missing `@FILE`).
pub fn request_of(command: &AdminCommand) -> Result<AdminRequest, Failure> {
    Ok(match command {
        AdminCommand::Fault(FaultCommand::Add(rule)) => {
            AdminRequest::new("POST", "/_ecsd/faults", Some(fault_rule(rule)?))
        }
        AdminCommand::Fault(FaultCommand::List) => AdminRequest::new("GET", "/_ecsd/faults", None),
        AdminCommand::Fault(FaultCommand::Delete { id }) => {
            AdminRequest::new("DELETE", format!("/_ecsd/faults/{}", segment(id)), None)
        }
        AdminCommand::Fault(FaultCommand::Clear) => {
            AdminRequest::new("DELETE", "/_ecsd/faults", None)
        }
        AdminCommand::Clock { command } => match command {
            None | Some(ClockCommand::Show) => AdminRequest::new("GET", "/_ecsd/clock", None),
            Some(ClockCommand::Advance { by }) => {
                AdminRequest::new("POST", "/_ecsd/clock", Some(json!({ "advance": by })))
            }
            Some(ClockCommand::Set { time }) => {
                AdminRequest::new("POST", "/_ecsd/clock", Some(json!({ "set": time })))
            }
        },
        AdminCommand::Latency(latency) => {
            AdminRequest::new("PUT", "/_ecsd/latency", Some(latency_body(latency)?))
        }
        AdminCommand::Reset { project_id } => AdminRequest::new(
            "POST",
            format!(
                "/_ecsd/reset{}",
                query(&[("project_id", project_id.clone())])
            ),
            None,
        ),
        AdminCommand::Snapshot(snapshot) => match snapshot {
            SnapshotCommand::Save { name } => {
                AdminRequest::new("POST", "/_ecsd/snapshots", Some(json!({ "name": name })))
            }
            SnapshotCommand::Restore { name } => AdminRequest::new(
                "POST",
                format!("/_ecsd/snapshots/{}/restore", segment(name)),
                None,
            ),
            SnapshotCommand::List => AdminRequest::new("GET", "/_ecsd/snapshots", None),
            SnapshotCommand::Delete { name } => AdminRequest::new(
                "DELETE",
                format!("/_ecsd/snapshots/{}", segment(name)),
                None,
            ),
        },
        AdminCommand::Requests {
            since,
            project_id,
            limit,
        } => AdminRequest::new(
            "GET",
            format!(
                "/_ecsd/requests{}",
                query(&[
                    ("since", since.clone()),
                    ("project_id", project_id.clone()),
                    ("limit", limit.map(|limit| limit.to_string())),
                ])
            ),
            None,
        ),
        AdminCommand::Release { job_id } => AdminRequest::new(
            "POST",
            format!("/_ecsd/jobs/{}/release", segment(job_id)),
            None,
        ),
    })
}

/// The rule of `fault add`: `--rule`'s object, then each flag given (a flag wins over the same
/// key of `--rule`). Which keys and values are valid is the server's to say.
fn fault_rule(args: &FaultRuleArgs) -> Result<Value, Failure> {
    let mut rule = match &args.rule {
        None => Map::new(),
        Some(text) => {
            let bytes = crate::call::read_data(Some(text))?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(rule)) => rule,
                Ok(_) => return Err(output::usage("--rule must be a JSON object")),
                Err(error) => return Err(output::usage(format!("--rule is not JSON: {error}"))),
            }
        }
    };
    let mut set = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            rule.insert(key.to_owned(), value);
        }
    };
    set("operation", args.operation.clone().map(Value::from));
    set("project_id", args.project_id.clone().map(Value::from));
    set("job_id", args.job_id.clone().map(Value::from));
    set("server_id", args.server_id.clone().map(Value::from));
    set("server_name", args.server_name.clone().map(Value::from));
    set("times", args.times.map(Value::from));
    set("every", args.every.map(Value::from));
    set("probability", args.probability.map(Value::from));
    set("seed", args.seed.map(Value::from));
    set("after", args.after.map(Value::from));
    set("expires_at", args.expires_at.clone().map(Value::from));
    set("effect", args.effect.clone().map(Value::from));
    set("error_code", args.error_code.clone().map(Value::from));
    set("fail_reason", args.fail_reason.clone().map(Value::from));
    set(
        "sub_jobs",
        (!args.sub_jobs.is_empty()).then(|| Value::from(args.sub_jobs.clone())),
    );
    set("status", args.status.map(Value::from));
    set("code", args.code.clone().map(Value::from));
    set("message", args.message.clone().map(Value::from));
    set("retry_after", args.retry_after.map(Value::from));
    set("duration", args.duration.clone().map(Value::from));
    if rule.is_empty() {
        return Err(output::usage(
            "fault add needs a rule: --rule '{…}' or flags such as --operation and --effect",
        ));
    }
    Ok(Value::Object(rule))
}

/// The body of `latency`: `{"profile": P}` and/or `{"operations": {OP: DURATION}}`.
fn latency_body(args: &LatencyArgs) -> Result<Value, Failure> {
    let mut body = Map::new();
    if let Some(profile) = &args.profile {
        body.insert("profile".into(), Value::from(profile.as_str()));
    }
    if !args.operations.is_empty() {
        let mut operations = Map::new();
        for pair in &args.operations {
            let Some((operation, duration)) = pair.split_once('=') else {
                return Err(output::usage(format!(
                    "--operation {pair:?} must be OPERATION=DURATION, e.g. createServer=3s"
                )));
            };
            operations.insert(operation.to_owned(), Value::from(duration));
        }
        body.insert("operations".into(), Value::Object(operations));
    }
    if body.is_empty() {
        return Err(output::usage(
            "latency needs a profile (instant, fast, realistic) or --operation OP=DURATION",
        ));
    }
    Ok(Value::Object(body))
}

/// `http://HOST:PORT` of `--endpoint`, without a trailing slash.
fn base_of(endpoint: &str) -> Result<String, Failure> {
    let host = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| {
            output::usage(format!(
                "the endpoint {endpoint:?} must start with http:// (ecsd serves plain HTTP)"
            ))
        })?
        .trim_end_matches('/');
    if host.is_empty() || host.contains('/') {
        return Err(output::usage(format!(
            "the endpoint {endpoint:?} must be http://HOST:PORT, without a path"
        )));
    }
    Ok(format!("http://{host}"))
}

/// Sends `request`; the answer's status, `X-Request-Id` and body.
fn send(
    base: &str,
    token: Option<&str>,
    request: &AdminRequest,
) -> Result<crate::call::Answer, Failure> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build();
    let mut call = agent.request(request.method, &format!("{base}{}", request.path));
    if let Some(token) = token.filter(|token| !token.is_empty()) {
        call = call.set("Authorization", &format!("Bearer {token}"));
    }
    let result = match &request.body {
        Some(body) => call
            .set("Content-Type", "application/json")
            .send_string(&body.to_string()),
        None => call.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(error) => {
            return Err(Failure::Unreachable(
                anyhow::Error::new(error).context(format!("cannot reach ecsd at {base}")),
            ))
        }
    };
    let status = response.status();
    let request_id = response.header("x-request-id").map(str::to_owned);
    let body = response
        .into_string()
        .context("cannot read the answer")
        .map_err(Failure::Unreachable)?;
    Ok(crate::call::Answer {
        status,
        request_id,
        body,
    })
}

fn admin(args: &AdminArgs) -> Result<u8, Failure> {
    let request = request_of(&args.command)?;
    let base = base_of(&args.endpoint)?;
    let answer = send(&base, args.admin_token.as_deref(), &request)?;
    if args.include {
        output::print_head(answer.status, answer.request_id.as_deref());
    }
    output::print_body(&answer.body)?;
    Ok(if (200..300).contains(&answer.status) {
        output::SUCCESS
    } else {
        output::ERROR_ANSWER
    })
}

pub fn run(args: AdminArgs) -> ExitCode {
    output::finish("ecsd admin", admin(&args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_without_env, Command};

    fn request(args: &[&str]) -> Result<AdminRequest, Failure> {
        let line = [&["ecsd", "admin"][..], args].concat();
        let cli = parse_without_env(&line).unwrap_or_else(|error| panic!("{args:?}: {error}"));
        let Command::Admin(admin) = cli.command else {
            panic!("`admin` parses as Admin")
        };
        request_of(&admin.command)
    }

    fn ok(args: &[&str]) -> AdminRequest {
        request(args).unwrap_or_else(|error| panic!("{args:?}: {error:?}"))
    }

    #[test]
    fn each_subcommand_is_one_request_of_the_admin_api() {
        let cases: Vec<(&[&str], &str, &str, Option<Value>)> = vec![
            (&["fault", "list"], "GET", "/_ecsd/faults", None),
            (
                &["fault", "delete", "r-1"],
                "DELETE",
                "/_ecsd/faults/r-1",
                None,
            ),
            (&["fault", "clear"], "DELETE", "/_ecsd/faults", None),
            (&["clock"], "GET", "/_ecsd/clock", None),
            (&["clock", "show"], "GET", "/_ecsd/clock", None),
            (
                &["clock", "advance", "10m"],
                "POST",
                "/_ecsd/clock",
                Some(json!({"advance": "10m"})),
            ),
            (
                &["clock", "set", "2030-01-01T00:00:00Z"],
                "POST",
                "/_ecsd/clock",
                Some(json!({"set": "2030-01-01T00:00:00Z"})),
            ),
            (
                &["latency", "realistic"],
                "PUT",
                "/_ecsd/latency",
                Some(json!({"profile": "realistic"})),
            ),
            (
                &["latency", "--operation", "createServer=3s"],
                "PUT",
                "/_ecsd/latency",
                Some(json!({"operations": {"createServer": "3s"}})),
            ),
            (&["reset"], "POST", "/_ecsd/reset", None),
            (
                &["reset", "--project-id", "p1"],
                "POST",
                "/_ecsd/reset?project_id=p1",
                None,
            ),
            (
                &["snapshot", "save", "base"],
                "POST",
                "/_ecsd/snapshots",
                Some(json!({"name": "base"})),
            ),
            (
                &["snapshot", "restore", "base"],
                "POST",
                "/_ecsd/snapshots/base/restore",
                None,
            ),
            (&["snapshot", "list"], "GET", "/_ecsd/snapshots", None),
            (
                &["snapshot", "delete", "base"],
                "DELETE",
                "/_ecsd/snapshots/base",
                None,
            ),
            (&["requests"], "GET", "/_ecsd/requests", None),
            (
                &[
                    "requests",
                    "--since",
                    "2026-12-06T08:00:00+01:00",
                    "--limit",
                    "5",
                ],
                "GET",
                "/_ecsd/requests?since=2026-12-06T08%3A00%3A00%2B01%3A00&limit=5",
                None,
            ),
            (&["release", "j1"], "POST", "/_ecsd/jobs/j1/release", None),
        ];
        for (args, method, path, body) in cases {
            assert_eq!(
                ok(args),
                AdminRequest {
                    method,
                    path: path.to_owned(),
                    body
                },
                "{args:?}"
            );
        }
    }

    #[test]
    fn fault_add_takes_the_rule_as_json_and_flags_that_win() {
        let rule = ok(&[
            "fault",
            "add",
            "--rule",
            r#"{"operation": "createServer", "times": 1, "effect": "stuck"}"#,
            "--effect",
            "fail",
            "--error-code",
            "Ecs.0204",
            "--sub-jobs",
            "1",
        ]);
        assert_eq!(rule.method, "POST");
        assert_eq!(rule.path, "/_ecsd/faults");
        assert_eq!(
            rule.body,
            Some(
                json!({"operation": "createServer", "times": 1, "effect": "fail",
                        "error_code": "Ecs.0204", "sub_jobs": [1]})
            )
        );
        // Usage errors: nothing given, not JSON, not an object, a missing @FILE.
        for args in [
            &["fault", "add"][..],
            &["fault", "add", "--rule", "{"],
            &["fault", "add", "--rule", "[1]"],
            &["fault", "add", "--rule", "@/nonexistent/rule.json"],
            &["latency"],
            &["latency", "--operation", "createServer"],
        ] {
            assert!(
                matches!(request(args), Err(Failure::Usage(_))),
                "{args:?} is a usage error"
            );
        }
    }
}
