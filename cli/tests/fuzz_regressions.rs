//! Replays every regression input of the fuzz targets (`fuzz/regressions/<target>/*`: what a
//! fuzzer once found, and hand-picked malformed inputs) through the same bodies the fuzzers run
//! (`kms_guardrails::fuzzing`). Runs in `cargo test --workspace`, without cargo-fuzz.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code

use std::path::{Path, PathBuf};

use kms_guardrails::fuzzing;

/// A fuzz body: arbitrary bytes in, a panic when an invariant breaks.
type Body = fn(&[u8]);

/// Every target, with its body.
const TARGETS: &[(&str, Body)] = &[
    ("policy_document", fuzzing::policy_document),
    ("config_item", fuzzing::config_item),
    ("config_event", fuzzing::config_event),
    ("export_stream", fuzzing::export_stream),
    ("exceptions_file", fuzzing::exceptions_file),
];

fn inputs(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_regression_input_replays_clean() {
    let mut failures = Vec::new();
    for (target, body) in TARGETS {
        let files = inputs(target);
        assert!(!files.is_empty(), "fuzz/regressions/{target}/ is empty");
        for file in files {
            let bytes = std::fs::read(&file).expect("read");
            if let Err(panic) = std::panic::catch_unwind(|| body(&bytes)) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                failures.push(format!("{target}/{}: {message}", file.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    assert!(failures.is_empty(), "{} regression inputs fail:\n{}", failures.len(), failures.join("\n"));
}

/// Every target has a fuzz target file calling its body, and nothing else is there.
#[test]
fn every_body_has_a_fuzz_target() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/fuzz_targets");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("fuzz/fuzz_targets")
        .map(|e| e.expect("entry").path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut expected: Vec<String> = TARGETS.iter().map(|(t, _)| (*t).to_owned()).collect();
    expected.sort();
    assert_eq!(found, expected);
    for (target, _) in TARGETS {
        let source = std::fs::read_to_string(dir.join(format!("{target}.rs"))).unwrap();
        assert!(source.contains(&format!("kms_guardrails::fuzzing::{target}(data)")), "{target}.rs");
    }
}
