//! One harness for every rule's scenario fixtures (`rules/<id>/cases/NN-what.json`).
//!
//! A fixture holds the configuration item, the rule parameters, what the resolver knows
//! (other items: managed policies, groups; the management account, or why it is unknown:
//! `managementAccountUnknown`) and the expectation:
//! the compliance, and for anything not COMPLIANT the exact annotation. Fixtures are read
//! through a typed schema ([`Fixture`], `deny_unknown_fields`): a misspelt key is an error. The harness also checks
//! that the fixtures and the numbered scenarios in the rule's header are the same list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use shared::item::{Details, Resource};
use shared::rule::{Context, Rule};
use shared::MemoryResolver;

use crate::rules::ALL;

fn rule_dir(rule: &Rule) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("rules").join(rule.id)
}

fn case_files(rule: &Rule) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(rule_dir(rule).join("cases"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A scenario fixture, typed: a misspelt or unknown key is an error, never ignored.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    /// What the scenario is (the rule header's numbered line says the same).
    #[allow(dead_code)] // read by people and by the header check's reviewers, not by the harness
    scenario: String,
    /// The rule parameters, as Config's `ruleParameters` would give them.
    #[serde(default)]
    parameters: BTreeMap<String, String>,
    /// What the resolver knows besides the item.
    #[serde(default)]
    resolver: Option<ResolverSpec>,
    /// The configuration item judged.
    item: Value,
    /// The expectation.
    expect: Expect,
}

/// Other resources a verdict depends on.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ResolverSpec {
    /// Managed policies and groups, as configuration items.
    #[serde(default)]
    items: Vec<Value>,
    /// The organization's management account.
    management_account: Option<String>,
    /// Why the management account cannot be had (Organizations failed).
    management_account_unknown: Option<String>,
}

/// What the rule must answer.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    /// `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`.
    compliance: Option<String>,
    /// The exact annotation (`"?"` with `BLESS_ANNOTATIONS=1` fills it in).
    annotation: Option<String>,
    /// How many causes the verdict holds.
    causes: Option<usize>,
    /// Instead of a verdict: the parameter or item error expected.
    error: Option<String>,
}

/// Builds the resolver a fixture describes.
fn resolver(spec: Option<&ResolverSpec>) -> Result<MemoryResolver, String> {
    let mut resolver = MemoryResolver::new();
    let Some(spec) = spec else { return Ok(resolver) };
    for item in &spec.items {
        let resource = Resource::from_json(item).map_err(|e| format!("resolver item: {e}"))?;
        match resource.details {
            Details::Policy(policy) => resolver.add_policy(resource.arn.clone(), policy.document),
            Details::Group(group) => resolver.add_group(resource.account_id.clone(), group),
            other => return Err(format!("resolver items must be policies or groups, found {other:?}")),
        }
    }
    if let Some(account) = &spec.management_account {
        resolver.set_management_account(account);
    }
    if let Some(reason) = &spec.management_account_unknown {
        resolver.set_management_account_unknown(reason);
    }
    Ok(resolver)
}

/// Runs one fixture; `Err` says what differed.
fn run_case(rule: &Rule, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Fixture = serde_json::from_str(&text).map_err(|e| format!("fixture does not fit the schema: {e}"))?;
    let expect = &case.expect;
    let parameters = &case.parameters;
    let params = rule.parse_params(parameters);
    let resource = Resource::from_json(&case.item);
    if let Some(error) = &expect.error {
        let got = match (params, resource) {
            (Err(e), _) => e.to_string(),
            (_, Err(e)) => e.to_string(),
            (Ok(_), Ok(_)) => "no error".into(),
        };
        return if got == *error { Ok(()) } else { Err(format!("expected error `{error}`, got `{got}`")) };
    }
    let params = params.map_err(|e| format!("parameters rejected: {e}"))?;
    let resource = resource.map_err(|e| format!("item rejected: {e}"))?;
    let resolver = resolver(case.resolver.as_ref())?;
    let verdict = rule.judge(&resource, &Context { params: &params, resolver: &resolver });

    let want = expect.compliance.as_deref().ok_or("`expect.compliance` is missing")?;
    let mut problems = Vec::new();
    if verdict.compliance.as_str() != want {
        problems.push(format!("compliance: expected {want}, got {} ({:?})", verdict.compliance, verdict.annotation()));
    }
    match (expect.annotation.as_deref(), verdict.annotation()) {
        (Some("?"), Some(got)) if std::env::var_os("BLESS_ANNOTATIONS").is_some() => fill_annotation(path, &got)?,
        (Some(want), Some(got)) if want != got => {
            problems.push(format!("annotation:\n  expected {want}\n  got      {got}"))
        }
        (Some(want), None) => problems.push(format!("annotation: expected {want}, got none")),
        (None, Some(got)) if want == "NON_COMPLIANT" => {
            problems.push(format!("a NON_COMPLIANT fixture must state its annotation; got {got}"))
        }
        _ => {}
    }
    if let Some(count) = expect.causes {
        if verdict.causes.len() != count {
            problems.push(format!("causes: expected {count}, got {}: {:#?}", verdict.causes.len(), verdict.causes));
        }
    }
    match problems.is_empty() {
        true => Ok(()),
        false => Err(problems.join("\n")),
    }
}

/// Writes the annotation a rule produced into a fixture that holds the placeholder `"?"`, for
/// review before commit (`BLESS_ANNOTATIONS=1`). Fixtures with a stated annotation are never
/// rewritten.
fn fill_annotation(path: &Path, got: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let quoted = serde_json::to_string(got).map_err(|e| e.to_string())?;
    std::fs::write(path, text.replacen("\"annotation\": \"?\"", &format!("\"annotation\": {quoted}"), 1))
        .map_err(|e| e.to_string())
}

/// The numbers of the scenarios listed in the rule header (`//! N. ...` after `## Scenarios`).
fn header_scenarios(rule: &Rule) -> Vec<u32> {
    let source = std::fs::read_to_string(rule_dir(rule).join("src").join("lib.rs")).unwrap_or_default();
    source
        .lines()
        .skip_while(|l| !l.starts_with("//! ## Scenarios"))
        .filter_map(|l| l.strip_prefix("//! "))
        .filter_map(|l| l.split_once(". ").and_then(|(n, _)| n.parse().ok()))
        .collect()
}

fn fixture_number(path: &Path) -> Option<u32> {
    path.file_name()?.to_str()?.split('-').next()?.parse().ok()
}

#[test]
fn every_scenario_fixture_passes() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for rule in ALL {
        for path in case_files(rule) {
            ran += 1;
            if let Err(problem) = run_case(rule, &path) {
                failures.push(format!("{}:\n{problem}", path.display()));
            }
        }
    }
    assert!(ran > 0, "no fixtures found");
    assert!(failures.is_empty(), "{} of {ran} fixtures failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[test]
fn fixtures_and_header_scenarios_are_the_same_list() {
    for rule in ALL {
        let header = header_scenarios(rule);
        let fixtures: Vec<u32> = case_files(rule).iter().filter_map(|p| fixture_number(p)).collect();
        assert!(!header.is_empty(), "{}: the header lists no scenarios", rule.id);
        assert_eq!(header, fixtures, "{}: header scenarios vs cases/ files", rule.id);
    }
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
