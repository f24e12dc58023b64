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

/// Installs the global subscriber. Call once, before anything logs.
pub fn init(format: LogFormat) {
    let _ = FORMAT.set(format);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr);
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
