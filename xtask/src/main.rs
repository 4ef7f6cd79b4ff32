//! `cargo xtask <task>`: see the library's documentation for the tasks. Exit status 0 when the
//! task succeeded, 2 (usage or I/O error, on stderr) when not.

use clap::Parser;

fn main() -> std::process::ExitCode {
    match xtask::run(&xtask::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
