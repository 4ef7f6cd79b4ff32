//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

use std::path::Path;

use kms_no_wildcard_admin::RULE;
use shared::test_kit::fixtures::{check_binary, check_rule};

#[test]
fn every_scenario_fixture_passes_and_the_header_lists_them() {
    let ran = check_rule(&RULE, Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(ran.is_ok(), "{}", ran.err().unwrap_or_default());
}

/// Outside Lambda the binary is a dry-run of this rule alone (it needs both default features:
/// `lambda` builds it, `cli` gives it the dry-run). Cargo builds it for this test.
#[cfg(all(feature = "cli", feature = "lambda"))]
#[test]
fn the_binary_runs_this_rule_alone() {
    let evaluations = check_binary(&RULE, Path::new(env!("CARGO_BIN_EXE_kms-no-wildcard-admin")));
    assert!(evaluations.is_ok(), "{}", evaluations.err().unwrap_or_default());
}
