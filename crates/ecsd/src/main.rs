//! `ecsd`: see `ecsd --help`.

use clap::Parser;
use ecsd::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log_writer = ecsd::logging::init(cli.log_format);
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Call(args) => ecsd::call::run(args),
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
