//! The workspace's tooling, run as `cargo xtask <task>` (the alias in `.cargo/config.toml`):
//!
//! - `templates` ([`templates`]): writes `cloudformation/*.yaml` from the rules' metadata;
//!   `tests/templates.rs` fails when the committed files differ from what it generates.
//! - `workload generate|parse` ([`workload`]): the dry-run benchmark's workloads and its
//!   parse-only baseline (BENCHMARKS.md, `scripts/dry-run-bench.sh`).
//! - `fuzz-seeds` ([`fuzz_seeds`]): the fuzz targets' seed corpora (`scripts/fuzz.sh`).
//!
//! Each task is a function over its parsed arguments, so that tests run the same code as the
//! command line (`cli/tests/workload.rs` parses its arguments with [`Cli`] and calls [`run`]);
//! `main.rs` only parses, runs and reports.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

pub mod fuzz_seeds;
pub mod templates;
pub mod workload;

/// `cargo xtask`: the workspace's tooling.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "The kms-guardrails workspace's tooling.")]
pub struct Cli {
    /// The task to run.
    #[command(subcommand)]
    pub task: Task,
}

/// A task.
#[derive(Debug, Subcommand)]
pub enum Task {
    /// Writes cloudformation/*.yaml from the rules' metadata (never edit them by hand).
    Templates,
    /// Benchmark workloads and the parse-only baseline (BENCHMARKS.md).
    #[command(subcommand)]
    Workload(workload::Command),
    /// Builds the fuzz targets' seed corpora from the corpus, the fixtures and the sample.
    FuzzSeeds(fuzz_seeds::FuzzSeeds),
}

/// What a task fails with: the file and what went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Options that do not go together.
    #[error("{0}")]
    Usage(&'static str),
    /// A file could not be read or written.
    #[error("`{}`: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A JSON file that does not parse.
    #[error("`{}` is not valid JSON: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// Data compiled into the workspace (the sample export, the managed-policy corpus) that
    /// does not read as expected.
    #[error("{what}: {message}")]
    Embedded {
        /// What was read.
        what: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// The workspace root (where `Cargo.toml`, `cloudformation/` and `rules/` are).
pub fn workspace_root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs `cli`'s task.
pub fn run(cli: &Cli) -> Result<(), Error> {
    match &cli.task {
        Task::Templates => write_templates(workspace_root()),
        Task::Workload(command) => {
            eprintln!("{}", workload::run(command)?);
            Ok(())
        }
        Task::FuzzSeeds(args) => {
            let root = workspace_root();
            let out = args.out.clone().unwrap_or_else(|| root.join("fuzz").join("corpus"));
            for (target, n) in fuzz_seeds::build(root, &out)? {
                println!("{target}: {n} seeds");
            }
            Ok(())
        }
    }
}

/// `cargo xtask templates`: every template of [`templates::all`], written into
/// `root/cloudformation/`.
fn write_templates(root: &Path) -> Result<(), Error> {
    for template in templates::all(kms_guardrails::ALL) {
        let name = Path::new("cloudformation").join(template.name);
        let path = root.join(&name);
        std::fs::write(&path, template.text).map_err(|source| Error::Io { path, source })?;
        println!("wrote {}", name.display());
    }
    Ok(())
}
