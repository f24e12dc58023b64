//! `ecsd`: see `ecsd --help`.

use clap::Parser;
use ecsd::{Cli, Command};
use std::process::ExitCode;

// The job query spent about a fifth of its samples in glibc's malloc and free (`perf record`
// on the benchmark's query round); mimalloc's per-thread pages take most of that away.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let _log_writer = ecsd::logging::init(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Call(args) => ecsd::call::run(args),
        Command::Admin(args) => ecsd::admin::run(args),
    }
}

/// A command line clap refused: 64 (EX_USAGE), not clap's 2, which `ecsd call` and
/// `ecsd admin` keep for "ecsd unreachable". `--help` and `--version` (printed to standard
/// output) are no error.
fn usage_error(error: &clap::Error) -> ExitCode {
    let _ = error.print();
    // A missing subcommand shows the help, but the command line was still incomplete.
    let incomplete =
        error.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand;
    if error.use_stderr() || incomplete {
        ExitCode::from(ecsd::output::USAGE)
    } else {
        ExitCode::SUCCESS
    }
}

fn serve(args: ecsd::ServeArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            ecsd::logging::fatal(&format!("cannot start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ecsd::serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            ecsd::logging::fatal(&format!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}
