//! What the client commands (`ecsd call`, `ecsd admin`) print and the exit status they end
//! with, shared so scripts can rely on one contract (README, "Exit status of the client
//! commands"):
//!
//! | status | meaning |
//! |---|---|
//! | 0 | a 2xx answer (with `--wait`: a job that ended `SUCCESS`) |
//! | 1 | an error answer, or a job that ended `FAIL` |
//! | 2 | ecsd could not be reached (or its answer could not be read) |
//! | 3 | `--wait` timed out: the job had not ended |
//! | 64 | a local usage error (a bad flag, a missing `@FILE`, a path without `/`): nothing was sent |
//! | 74 | standard output could not be written (other than a closed pipe) |
//! | 141 | standard output was closed by its reader (`… \| head -3`): quietly, as a process ended by SIGPIPE |
//!
//! Every answer is written with `writeln!`, never `println!`: Rust ignores SIGPIPE, so a closed
//! pipe is an error to handle, and `println!` would panic on it.

use std::io::{self, Write};
use std::process::ExitCode;

pub const SUCCESS: u8 = 0;
pub const ERROR_ANSWER: u8 = 1;
pub const UNREACHABLE: u8 = 2;
pub const WAIT_TIMEOUT: u8 = 3;
/// `EX_USAGE` of sysexits.h.
pub const USAGE: u8 = 64;
/// `EX_IOERR` of sysexits.h.
pub const OUTPUT_FAILED: u8 = 74;
/// 128 + SIGPIPE, the status of a process the closed pipe would have ended.
pub const BROKEN_PIPE: u8 = 141;

/// Why a client command stopped before it had an answer to report.
#[derive(Debug)]
pub enum Failure {
    /// The command line or a file it names is wrong; nothing was sent.
    Usage(anyhow::Error),
    /// ecsd could not be reached, or its answer not read.
    Unreachable(anyhow::Error),
    /// Standard output could not be written.
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(error: io::Error) -> Self {
        Failure::Output(error)
    }
}

/// A usage failure from a message.
pub fn usage(message: impl std::fmt::Display) -> Failure {
    Failure::Usage(anyhow::anyhow!("{message}"))
}

/// The exit status of a command that ended with `result`; `command` prefixes its messages
/// (`ecsd call`).
pub fn finish(command: &str, result: Result<u8, Failure>) -> ExitCode {
    let code = match result {
        Ok(code) => code,
        Err(Failure::Usage(error)) => {
            note(&format!("{command}: {error:#}"));
            USAGE
        }
        Err(Failure::Unreachable(error)) => {
            note(&format!("{command}: {error:#}"));
            UNREACHABLE
        }
        Err(Failure::Output(error)) if error.kind() == io::ErrorKind::BrokenPipe => BROKEN_PIPE,
        Err(Failure::Output(error)) => {
            note(&format!("{command}: cannot write the answer: {error}"));
            OUTPUT_FAILED
        }
    };
    ExitCode::from(code)
}

/// A line on standard error; a closed standard error is ignored (there is no one to tell).
pub fn note(line: &str) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// Writes an answer body to standard output: JSON pretty-printed, anything else as it came,
/// an empty body (204) as nothing, so standard output stays JSON or empty.
pub fn print_body(body: &str) -> io::Result<()> {
    if body.trim().is_empty() {
        return Ok(());
    }
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => serde_json::to_string_pretty(&json).unwrap_or_else(|_| body.to_owned()),
        Err(_) => body.to_owned(),
    };
    print_line(&text)
}

/// Writes an answer body as one line of compact JSON (anything else as it came).
pub fn print_compact(body: &str) -> io::Result<()> {
    let text = match serde_json::from_str::<serde_json::Value>(body) {
        Ok(json) => json.to_string(),
        Err(_) => body.trim_end().to_owned(),
    };
    print_line(&text)
}

fn print_line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// `-i`: the HTTP status and `X-Request-Id` of an answer, on standard error so standard output
/// stays the JSON answer.
pub fn print_head(status: u16, request_id: Option<&str>) {
    note(&format!("HTTP {status}"));
    note(&format!("X-Request-Id: {}", request_id.unwrap_or("-")));
}
