//! `ecsd call`: one request, signed with the local account's keys the way the Huawei Cloud SDKs
//! sign (`SDK-HMAC-SHA256`), sent to a running ecsd; the JSON answer goes to standard output.
//! `--wait` then polls a returned job until it finishes. This is how a user drives ecsd from a
//! shell, including once request verification is on.
//!
//! Exit status ([`crate::output`]): 0 for a 2xx answer (and, with `--wait`, a job that ended
//! SUCCESS), 1 for an error answer or a FAIL job, 2 when ecsd could not be reached, 3 when
//! `--wait` timed out, 64 for a usage error (nothing sent), 141 when the reader closed the pipe.
//!
//! With `--wait`, standard output holds the first answer (one line of compact JSON: the
//! create's `serverIds` are there) and then the job as it ended (pretty-printed).

use crate::output::{self, Failure};
use crate::{parse_duration, AccountArgs};
use anyhow::{bail, Context};
use api::identity::signature::{authorization_header, sdk_date, CLIENT_SIGNED_HEADERS};
use axum::http::{HeaderMap, HeaderValue};
use clap::Args;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Args)]
pub struct CallArgs {
    /// HTTP method: GET, POST, PUT or DELETE.
    pub method: String,

    /// API path, with an optional ?query. `{project_id}` is replaced with the account's project.
    pub path: String,

    /// Request body: JSON text, @FILE, or @- for standard input.
    #[arg(long, short = 'd')]
    pub data: Option<String>,

    /// If the answer has a job_id, poll that job until SUCCESS or FAIL and print it (after the
    /// first answer, which is printed on one line).
    #[arg(long)]
    pub wait: bool,

    /// Print the HTTP status and X-Request-Id of each answer to standard error (standard output
    /// stays JSON).
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Print the signed headers instead of sending the request: one line per request, the path
    /// then each header as `name: value`, tab-separated. With PATH `@FILE`, one line for each
    /// path in FILE. For load generators (bench/run.sh): a signature stays valid for 15 minutes.
    #[arg(long, conflicts_with = "wait")]
    pub print_headers: bool,

    /// How long --wait may take, e.g. 90s, 10m.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub timeout: time::Duration,

    /// The ecsd to call (plain http).
    #[arg(long, env = "ECSD_ENDPOINT", default_value = "http://127.0.0.1:8774")]
    pub endpoint: String,

    #[command(flatten)]
    pub account: AccountArgs,
}

/// A signing client for one endpoint and account (also used by the end-to-end tests).
pub struct Client {
    agent: ureq::Agent,
    /// `http://host:port`
    base: String,
    /// `host:port`, as sent and signed.
    host: String,
    account: AccountArgs,
}

/// An answer: status, `X-Request-Id` and body text.
pub struct Answer {
    pub status: u16,
    pub request_id: Option<String>,
    pub body: String,
}

impl Client {
    pub fn new(endpoint: &str, account: AccountArgs) -> anyhow::Result<Self> {
        let Some(rest) = endpoint.strip_prefix("http://") else {
            bail!("the endpoint {endpoint:?} must start with http:// (ecsd serves plain HTTP)");
        };
        let host = rest.trim_end_matches('/');
        if host.is_empty() || host.contains('/') {
            bail!("the endpoint {endpoint:?} must be http://HOST:PORT, without a path");
        }
        Ok(Self {
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(120))
                .build(),
            base: format!("http://{host}"),
            host: host.to_owned(),
            account,
        })
    }

    /// The headers of a signed request (`Authorization` last), as [`Client::send`] sends them.
    pub fn signed_headers(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> anyhow::Result<Vec<(String, String)>> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut headers = HeaderMap::new();
        // A client signs with its own wall clock, as the SDKs do.
        #[allow(clippy::disallowed_methods)]
        let date = sdk_date(time::OffsetDateTime::now_utc());
        for (name, value) in [
            ("content-type", "application/json"),
            ("host", self.host.as_str()),
            ("x-project-id", self.account.project_id.as_str()),
            ("x-sdk-date", date.as_str()),
        ] {
            let value = HeaderValue::from_str(value)
                .with_context(|| format!("{name} {value:?} is not a valid header value"))?;
            headers.insert(name, value);
        }
        let authorization = authorization_header(
            &self.account.access_key,
            &self.account.secret_key,
            method,
            path,
            query,
            &headers,
            &CLIENT_SIGNED_HEADERS,
            body,
        )?;
        let mut signed: Vec<(String, String)> = headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        signed.push(("authorization".to_owned(), authorization));
        Ok(signed)
    }

    /// Sends one signed request; `{project_id}` is not replaced here. An error only when the
    /// request cannot be signed, ecsd cannot be reached or the answer cannot be read.
    pub fn send(&self, method: &str, path_and_query: &str, body: &[u8]) -> anyhow::Result<Answer> {
        self.send_classified(method, path_and_query, body)
            .map_err(|failure| match failure {
                Failure::Usage(error) | Failure::Unreachable(error) => error,
                Failure::Output(error) => error.into(),
            })
    }

    /// [`Client::send`], its failure told apart: a request that cannot be signed is a usage
    /// error (nothing was sent), a transport failure "unreachable".
    pub fn send_classified(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
    ) -> Result<Answer, Failure> {
        let headers = self
            .signed_headers(method, path_and_query, body)
            .map_err(Failure::Usage)?;
        let mut request = self
            .agent
            .request(method, &format!("{}{path_and_query}", self.base));
        for (name, value) in &headers {
            request = request.set(name, value);
        }
        let result = if body.is_empty() {
            request.call()
        } else {
            request.send_bytes(body)
        };
        let response = match result {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(error) => {
                return Err(Failure::Unreachable(
                    anyhow::Error::new(error)
                        .context(format!("cannot reach ecsd at {}", self.base)),
                ))
            }
        };
        let status = response.status();
        let request_id = response.header("x-request-id").map(str::to_owned);
        let body = response
            .into_string()
            .context("cannot read the answer")
            .map_err(Failure::Unreachable)?;
        Ok(Answer {
            status,
            request_id,
            body,
        })
    }
}

/// The body of `--data`: JSON text, `@FILE` or `@-` (standard input). A file that cannot be
/// read is a usage error, not "unreachable".
pub fn read_data(data: Option<&str>) -> Result<Vec<u8>, Failure> {
    Ok(match data {
        None => Vec::new(),
        Some("@-") => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .context("cannot read standard input")
                .map_err(Failure::Usage)?;
            bytes
        }
        Some(text) => match text.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .with_context(|| format!("cannot read {path}"))
                .map_err(Failure::Usage)?,
            None => text.as_bytes().to_vec(),
        },
    })
}

pub fn run(args: CallArgs) -> ExitCode {
    output::finish("ecsd call", call(args))
}

/// A method token as HTTP defines it (letters here: GET, POST, PUT, DELETE…).
fn method_of(text: &str) -> Result<String, Failure> {
    if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(output::usage(format!("{text:?} is not an HTTP method")))
    }
}

/// `--print-headers`: the signed headers of each request, one line each.
fn print_headers(args: CallArgs) -> Result<u8, Failure> {
    let method = method_of(&args.method)?;
    let body = read_data(args.data.as_deref())?;
    let paths: Vec<String> = match args.path.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {file}"))
            .map_err(Failure::Usage)?
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| line.trim().to_owned())
            .collect(),
        None => vec![args.path.clone()],
    };
    let project_id = args.account.project_id.clone();
    let client = Client::new(&args.endpoint, args.account).map_err(Failure::Usage)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for path in paths {
        let path = path.replace("{project_id}", &project_id);
        if !path.starts_with('/') {
            return Err(output::usage(format!(
                "the path {path:?} must start with /"
            )));
        }
        let mut line = path.clone();
        for (name, value) in client
            .signed_headers(&method, &path, &body)
            .map_err(Failure::Usage)?
        {
            line.push('\t');
            line.push_str(&name);
            line.push_str(": ");
            line.push_str(&value);
        }
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(output::SUCCESS)
}

fn call(args: CallArgs) -> Result<u8, Failure> {
    if args.print_headers {
        return print_headers(args);
    }
    let method = method_of(&args.method)?;
    let path = args.path.replace("{project_id}", &args.account.project_id);
    if !path.starts_with('/') {
        return Err(output::usage(format!(
            "the path {path:?} must start with /"
        )));
    }
    let body = read_data(args.data.as_deref())?;
    let project_id = args.account.project_id.clone();
    let client = Client::new(&args.endpoint, args.account).map_err(Failure::Usage)?;
    let answer = client.send_classified(&method, &path, &body)?;
    if args.include {
        output::print_head(answer.status, answer.request_id.as_deref());
    }
    let succeeded = (200..300).contains(&answer.status);
    let job_id = serde_json::from_str::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|json| json["job_id"].as_str().map(str::to_owned));
    let (true, true, Some(job_id)) = (args.wait, succeeded, job_id) else {
        output::print_body(&answer.body)?;
        return Ok(if succeeded {
            output::SUCCESS
        } else {
            output::ERROR_ANSWER
        });
    };
    // The first answer holds what the job query does not (a create's serverIds): one line,
    // so `head -1` takes it.
    output::print_compact(&answer.body)?;
    output::note(&format!("ecsd call: waiting for job {job_id}"));
    let deadline =
        Instant::now() + Duration::from_millis(args.timeout.whole_milliseconds().max(0) as u64);
    loop {
        let job = client.send_classified("GET", &format!("/v1/{project_id}/jobs/{job_id}"), b"")?;
        let status = serde_json::from_str::<serde_json::Value>(&job.body)
            .ok()
            .and_then(|json| json["status"].as_str().map(str::to_owned))
            .unwrap_or_default();
        if job.status >= 400 || status == "SUCCESS" || status == "FAIL" {
            if args.include {
                output::print_head(job.status, job.request_id.as_deref());
            }
            output::print_body(&job.body)?;
            return Ok(if status == "SUCCESS" {
                output::SUCCESS
            } else {
                output::ERROR_ANSWER
            });
        }
        if Instant::now() >= deadline {
            output::print_body(&job.body)?;
            output::note(&format!(
                "ecsd call: job {job_id} is still {status} after {}",
                args.timeout
            ));
            return Ok(output::WAIT_TIMEOUT);
        }
        // A command-line client polling a real server: wall-clock pacing is what it needs.
        std::thread::sleep(Duration::from_millis(250));
    }
}
