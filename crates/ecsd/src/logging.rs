//! Where ecsd's log goes and in which form: stderr, filtered by `RUST_LOG` (default `info`),
//! as text (`--log-format text`, the default) or one JSON object a line (`json`), for log
//! collectors. What each line carries is decided where it is written (`api::observe`).

use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// The format chosen at [`init`]; text until then (and in tests that never call it).
static FORMAT: OnceLock<LogFormat> = OnceLock::new();

/// The format the log was set up with.
pub fn format() -> LogFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// `--log-format` / `ECSD_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured on a terminal.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level.
    Json,
}

/// The filter: `RUST_LOG` if set and valid, else `info`.
fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber. Call once, before anything logs, and keep the guard until
/// the process ends: dropping it writes what is still queued.
///
/// Lines are formatted where they are logged and written to stderr by a thread of its own,
/// through a buffer that is flushed whenever no more lines are queued: at the default level
/// every request logs a line, and a `write` to stderr per line cost about a third of the job
/// query's throughput (bench/run.sh, `RUST_LOG=warn` against the default). A line is on stderr
/// as soon as the queue drains; after `kill -9` the last lines may be missing.
#[must_use = "dropping the guard stops the log writer"]
pub fn init(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let _ = FORMAT.set(format);
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        // Under a flood of requests, wait rather than drop lines.
        .lossy(false)
        .finish(std::io::BufWriter::new(std::io::stderr()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(writer);
    match format {
        LogFormat::Text => builder
            // Colours only for a terminal: logs redirected to a file stay plain text.
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
    guard
}

/// Reports why `serve` stops with an error: `ecsd: …` as text, or an `error` event (target
/// `ecsd::start`) under `--log-format json`, so a collector still reads one JSON object a line.
pub fn fatal(message: &str) {
    match format() {
        LogFormat::Text => eprintln!("ecsd: {message}"),
        LogFormat::Json => tracing::error!(target: "ecsd::start", error = message, "ecsd stopped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_without_env;

    #[test]
    fn the_log_format_is_text_by_default_json_on_request_and_nothing_else() {
        let parsed = parse_without_env(&["ecsd", "serve"]).expect("parses");
        assert_eq!(parsed.log_format, LogFormat::Text);
        for args in [
            &["ecsd", "--log-format", "json", "serve"][..],
            &["ecsd", "serve", "--log-format", "json"][..],
            &[
                "ecsd",
                "call",
                "GET",
                "/v1/{project_id}/jobs/x",
                "--log-format",
                "json",
            ][..],
        ] {
            let parsed = parse_without_env(args).expect("parses");
            assert_eq!(parsed.log_format, LogFormat::Json, "{args:?}");
        }
        assert!(parse_without_env(&["ecsd", "serve", "--log-format", "xml"]).is_err());
    }
}
