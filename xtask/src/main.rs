//! `cargo xtask <task>`: see the library's documentation for the tasks.

use clap::Parser;

fn main() -> std::process::ExitCode {
    xtask::run(xtask::Cli::parse())
}
