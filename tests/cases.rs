//! Every rule's scenario fixtures (`rules/<id>/cases/NN-what.json`) through the one harness,
//! `shared::test_kit::fixtures` (each rule crate runs its own with `cargo test -p <rule>`):
//! typed fixtures, the expectation in the file, and the fixtures the same list as the numbered
//! scenarios of the rule's header.

use std::path::{Path, PathBuf};

use shared::rule::Rule;
use shared::test_kit::fixtures::{check_rule, Fixture};

use crate::rules::ALL;

fn rule_dir(rule: &Rule) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("rules").join(rule.id)
}

#[test]
fn every_rules_scenario_fixtures_pass_and_match_its_header() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for rule in ALL {
        match check_rule(rule, &rule_dir(rule)) {
            Ok(count) => ran += count,
            Err(problems) => failures.push(format!("{}: {problems}", rule.id)),
        }
    }
    assert!(ran > 0, "no fixtures found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A misspelt key in a fixture is an error, not an expectation silently dropped.
#[test]
fn a_misspelt_fixture_key_is_an_error() {
    let misspelt = r#"{"scenario": "s", "item": {}, "expect": {"compliance": "COMPLIANT", "anotation": "x"}}"#;
    let error = serde_json::from_str::<Fixture>(misspelt).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("unknown field `anotation`"), "{error}");
    let misplaced = r#"{"scenario": "s", "item": {}, "expect": {"compliance": "COMPLIANT"}, "parameter": {}}"#;
    assert!(serde_json::from_str::<Fixture>(misplaced).is_err());
    let fine = r#"{"scenario": "s", "item": {}, "expect": {"compliance": "COMPLIANT"}}"#;
    assert!(serde_json::from_str::<Fixture>(fine).is_ok());
}
