//! The `qc` binary: parse the command line, run it, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = qc::cli::Cli::parse();
    match qc::cli::main(cli) {
        Ok(status) => ExitCode::from(status.code()),
        Err(e) => {
            qc::cli::output::error(&e);
            ExitCode::from(e.exit_status().code())
        }
    }
}
