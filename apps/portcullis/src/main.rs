//! `portcullis`: the server (`serve`), migrations, bootstrap and offline administration.

mod admin_guard;
mod body_deadline;
mod check;
mod cli;
mod client_address;
mod commands;
mod connections;
mod lifecycle;
mod logging;
mod master_key;
mod output;
mod per_address;
mod platform;
mod rotate_master_key;
mod serve;
mod tls;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(commands::run(cli));
    logging::finish();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::error(&format!("{e:#}"));
            ExitCode::FAILURE
        }
    }
}
