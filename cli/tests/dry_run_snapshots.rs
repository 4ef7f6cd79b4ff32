//! The dry-run's reports, byte for byte: JSON, table and SARIF on the embedded sample and on
//! small benchmark workloads, compared with the files committed in
//! `tests/fixtures/dry-run-snapshots/` (see the README there).
//!
//! A refactoring of the dry-run must leave every file as it is. A change that means to change
//! the reports (new verdicts, new causes) refreshes them deliberately:
//!
//! ```text
//! UPDATE_SNAPSHOTS=1 cargo test -p kms-guardrails --test dry_run_snapshots
//! git diff tests/fixtures/dry-run-snapshots/
//! ```
//!
//! The workloads are generated again on every run (`cargo xtask workload generate`, in process, a fixed seed), not
//! committed; `workloads.txt` holds their size and digest, so that a change in the generator
//! is told apart from a change in the dry-run.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use clap::Parser as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A benchmark workload: the file it is written to and the generator's arguments.
struct Workload {
    file: &'static str,
    args: &'static [&'static str],
}

/// 1 MB each (the generator's smallest), so that every report stays under 1 MB.
const WORKLOADS: &[Workload] = &[
    Workload { file: "config.json", args: &["--size-mb", "1", "--seed", "7"] },
    Workload { file: "config.json.gz", args: &["--size-mb", "1", "--seed", "7", "--gzip"] },
    Workload { file: "gaad.json", args: &["--size-mb", "1", "--seed", "7", "--form", "gaad"] },
    Workload { file: "missing-attachments.json", args: &["--size-mb", "1", "--seed", "7", "--missing-attachments"] },
];

/// One dry-run: its snapshots are `<name>.json`, `<name>.table` and `<name>.sarif`.
struct Case {
    name: &'static str,
    /// A workload's file; `None`: the embedded sample.
    input: Option<&'static str>,
    args: &'static [&'static str],
    exit: i32,
}

const CASES: &[Case] = &[
    Case { name: "sample", input: None, args: &[], exit: 1 },
    Case { name: "config", input: Some("config.json"), args: &[], exit: 1 },
    // The same bytes, gzipped: the same reports (compared with `config.*`).
    Case { name: "config", input: Some("config.json.gz"), args: &[], exit: 1 },
    Case { name: "gaad", input: Some("gaad.json"), args: &[], exit: 1 },
    Case { name: "missing-attachments", input: Some("missing-attachments.json"), args: &[], exit: 1 },
    // No evaluation at all (GAAD has no keys): the empty report of each format.
    Case { name: "empty", input: Some("gaad.json"), args: &["--rule", "kms-key-policy-no-public-access"], exit: 0 },
];

const FORMATS: &[&str] = &["json", "table", "sarif"];

/// The committed snapshots: `tests/fixtures/dry-run-snapshots` at the workspace root.
fn snapshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|dir| dir.join("tests/fixtures/dry-run-snapshots"))
        .find(|dir| dir.is_dir())
        .expect("tests/fixtures/dry-run-snapshots above the crate")
}

/// FNV-1a, 64 bits: a digest of a workload, with nothing to add to the dependencies.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Where `actual` first differs from `expected`, line by line, for people.
fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let (expected, actual) = (String::from_utf8_lossy(expected), String::from_utf8_lossy(actual));
    let (mut e, mut a) = (expected.split('\n'), actual.split('\n'));
    for line in 1.. {
        match (e.next(), a.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                let show = |l: Option<&str>| l.map_or("(end of file)".to_owned(), |l| format!("{l:?}"));
                return format!("line {line}:\n      snapshot: {}\n      now:      {}", show(x), show(y));
            }
        }
    }
    "the same lines, other bytes".to_owned()
}

/// Compares `actual` with the snapshot `name` (or rewrites it under `UPDATE_SNAPSHOTS=1`); a
/// difference is described in `problems`, with the output kept beside it for `diff`.
/// `input` names what the output came from.
fn check(name: &str, input: &str, actual: &[u8], scratch: &Path, problems: &mut Vec<String>) {
    let path = snapshot_dir().join(name);
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        if std::fs::read(&path).ok().as_deref() != Some(actual) {
            std::fs::write(&path, actual).expect("write the snapshot");
            eprintln!("rewrote {}", path.display());
        }
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_default();
    if expected != actual {
        let kept = scratch.join(format!("{input}.{name}"));
        std::fs::write(&kept, actual).expect("keep the output");
        problems.push(format!(
            "{name} (from {input}): differs from the snapshot at {}\n    diff -u {} {}",
            first_difference(&expected, actual),
            path.display(),
            kept.display()
        ));
    }
}

#[test]
fn reports_are_byte_identical_to_the_snapshots() {
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dry-run-snapshots-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut problems = Vec::new();

    let mut manifest = String::from("# file  bytes  fnv1a64  command (see README.md)\n");
    for workload in WORKLOADS {
        let path = scratch.join(workload.file);
        // `cargo xtask workload generate ARGS... FILE`, through xtask's own parser, in process.
        let argv: Vec<std::ffi::OsString> = ["cargo xtask", "workload", "generate"]
            .iter()
            .map(std::ffi::OsString::from)
            .chain(workload.args.iter().map(std::ffi::OsString::from))
            .chain(std::iter::once(path.clone().into_os_string()))
            .collect();
        let cli = xtask::Cli::try_parse_from(argv).expect("the workload arguments parse");
        xtask::run(&cli).unwrap_or_else(|e| panic!("workload generate {:?}: {e}", workload.args));
        let bytes = std::fs::read(&path).expect("the workload");
        manifest.push_str(&format!(
            "{}  {}  {:016x}  workload generate {} {}\n",
            workload.file,
            bytes.len(),
            fnv1a(&bytes),
            workload.args.join(" "),
            workload.file
        ));
    }
    let before = problems.len();
    check("workloads.txt", "the generator", manifest.as_bytes(), &scratch, &mut problems);
    if problems.len() > before {
        problems.push(
            "the workload generator's output changed: the report snapshots below describe other inputs".to_owned(),
        );
    }

    for case in CASES {
        for format in FORMATS {
            let mut command = Command::new(env!("CARGO_BIN_EXE_kms-guardrails"));
            // The format is always given: without it the binary picks one by terminal.
            command.args(["dry-run", "--format", format]).args(case.args);
            if let Some(file) = case.input {
                command.arg(scratch.join(file));
            }
            let output = command.output().expect("the dry-run runs");
            let name = format!("{}.{format}", case.name);
            if output.status.code() != Some(case.exit) {
                problems.push(format!(
                    "{name} (from {}): exit status {:?}, expected {}: {}",
                    case.input.unwrap_or("sample"),
                    output.status.code(),
                    case.exit,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
            check(&name, case.input.unwrap_or("sample"), &output.stdout, &scratch, &mut problems);
        }
    }

    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&scratch);
        return;
    }
    panic!(
        "the dry-run's reports differ from tests/fixtures/dry-run-snapshots/:\n\n{}\n\n\
         A refactoring must not change them: find the cause. If the change is intended (new \
         verdicts or causes), refresh the snapshots and review the difference:\n    \
         UPDATE_SNAPSHOTS=1 cargo test -p kms-guardrails --test dry_run_snapshots\n    \
         git diff tests/fixtures/dry-run-snapshots/",
        problems.join("\n\n")
    );
}
