//! Real exports nobody here wrote (`tests/fixtures/real-exports/`: AWS CLI and Config
//! documentation examples, other tools' fixtures; sources in `SOURCES.md`), each run through
//! the dry-run as a user would (`kms-guardrails dry-run --format json --keep-going FILE`), with
//! what `expected.json` says of it: the exit status, every verdict (rule, resource id,
//! compliance), and every input error and warning, word for word. A file in the directory
//! without an expectation fails the test: none is read and left unasserted.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// One file's expectation in `expected.json`.
struct File {
    /// The file's name in the directory.
    file: String,
    exit: i32,
    /// `[rule, resource id, compliance]`, in any order.
    verdicts: BTreeSet<[String; 3]>,
    /// Each input error after `error: <file>: `.
    errors: Vec<String>,
    /// Each warning after `warning: <file>: `.
    warnings: Vec<String>,
}

/// Reads `expected.json`; an unknown or missing key is an error (a misspelt key never passes
/// as "nothing expected"). `shows` is for the reader.
fn expected() -> Vec<File> {
    let document: Value = serde_json::from_slice(&std::fs::read(dir().join("expected.json")).unwrap()).unwrap();
    let strings =
        |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect() };
    document["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let keys: BTreeSet<&str> = entry.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys, BTreeSet::from(["file", "shows", "exit", "verdicts", "errors", "warnings"]), "{entry}");
            File {
                file: entry["file"].as_str().unwrap().to_owned(),
                exit: entry["exit"].as_i64().unwrap() as i32,
                verdicts: entry["verdicts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        let v = strings(v);
                        [v[0].clone(), v[1].clone(), v[2].clone()]
                    })
                    .collect(),
                errors: strings(&entry["errors"]),
                warnings: strings(&entry["warnings"]),
            }
        })
        .collect()
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/real-exports")
}

#[test]
fn every_real_export_gives_the_verdicts_and_errors_expected() {
    let expected = expected();
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "expected.json")
        .collect();
    let listed: BTreeSet<String> = expected.iter().map(|f| f.file.clone()).collect();
    assert_eq!(on_disk, listed, "every file has an expectation, and every expectation a file");
    let sources = std::fs::read_to_string(dir().join("SOURCES.md")).unwrap();
    let mut failures = Vec::new();
    for file in &expected {
        assert!(sources.contains(&format!("`{}`", file.file)), "{} has no source in SOURCES.md", file.file);
        let output = Command::new(env!("CARGO_BIN_EXE_kms-guardrails"))
            .current_dir(dir())
            .args(["dry-run", "--format", "json", "--keep-going", &file.file])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let report: Value = match output.stdout.is_empty() {
            true => serde_json::json!({"Evaluations": []}),
            false => serde_json::from_slice(&output.stdout).expect("stdout is JSON"),
        };
        let verdicts: BTreeSet<[String; 3]> = report["Evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let text = |name: &str| e[name].as_str().unwrap_or_default().to_owned();
                [text("ConfigRuleName"), text("ComplianceResourceId"), text("ComplianceType")]
            })
            .collect();
        let lines = |prefix: &str| -> Vec<String> {
            let prefix = format!("{prefix}: {}: ", file.file);
            stderr.lines().filter_map(|line| line.strip_prefix(&prefix)).map(str::to_owned).collect()
        };
        let want = &file.verdicts;
        let checks = [
            (
                output.status.code() == Some(file.exit),
                format!("exit {:?}, expected {}", output.status.code(), file.exit),
            ),
            (&verdicts == want, format!("verdicts {verdicts:?}, expected {want:?}")),
            (lines("error") == file.errors, format!("errors {:?}, expected {:?}", lines("error"), file.errors)),
            (
                lines("warning") == file.warnings,
                format!("warnings {:?}, expected {:?}", lines("warning"), file.warnings),
            ),
        ];
        for (ok, what) in checks {
            if !ok {
                failures.push(format!("{}: {what}\nstderr: {stderr}", file.file));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
