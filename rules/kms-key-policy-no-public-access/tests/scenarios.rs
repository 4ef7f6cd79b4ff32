//! The rule's scenario fixtures (`cases/`), and its own binary's dry-run outside Lambda.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use kms_key_policy_no_public_access::RULE;
use std::path::Path;

#[test]
fn every_scenario_fixture_passes_and_the_header_lists_them() {
    let ran = shared::test_kit::fixtures::check_rule(&RULE, Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(ran.as_ref().is_ok_and(|n| *n > 0), "{}", ran.err().unwrap_or_else(|| "no fixtures".into()));
}

/// The rule's binary, started outside Lambda, runs a dry-run of this rule alone over the
/// embedded sample (built by cargo for this test: `CARGO_BIN_EXE_*`). The binary needs both
/// default features: `lambda` builds it, `cli` gives it the dry-run.
#[cfg(all(feature = "cli", feature = "lambda"))]
#[test]
fn the_binary_runs_this_rule_alone() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kms-key-policy-no-public-access"))
        .args(["dry-run", "--format", "json"])
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "the sample fails every rule somewhere: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let evaluations = report["Evaluations"].as_array().expect("Evaluations");
    assert!(!evaluations.is_empty());
    assert!(evaluations.iter().all(|e| e["ConfigRuleName"] == RULE.id));
}
