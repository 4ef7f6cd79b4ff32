//! One harness for every rule's scenario fixtures (`rules/<id>/cases/NN-what.json`).
//!
//! A fixture holds the configuration item, the rule parameters, what the resolver knows
//! (other items: managed policies, groups; the management account, or why it is unknown:
//! `managementAccountUnknown`) and the expectation:
//! the compliance, and for anything not COMPLIANT the exact annotation. The harness also checks
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

/// Builds the resolver a fixture describes.
fn resolver(spec: Option<&Value>) -> Result<MemoryResolver, String> {
    let mut resolver = MemoryResolver::new();
    let Some(spec) = spec else { return Ok(resolver) };
    for item in spec.get("items").and_then(Value::as_array).into_iter().flatten() {
        let resource = Resource::from_json(item).map_err(|e| format!("resolver item: {e}"))?;
        match resource.details {
            Details::Policy(policy) => resolver.add_policy(resource.arn.clone(), policy.document),
            Details::Group(group) => resolver.add_group(resource.account_id.clone(), group),
            other => return Err(format!("resolver items must be policies or groups, found {other:?}")),
        }
    }
    if let Some(account) = spec.get("managementAccount").and_then(Value::as_str) {
        resolver.set_management_account(account);
    }
    if let Some(reason) = spec.get("managementAccountUnknown").and_then(Value::as_str) {
        resolver.set_management_account_unknown(reason);
    }
    Ok(resolver)
}

/// Runs one fixture; `Err` says what differed.
fn run_case(rule: &Rule, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Value = serde_json::from_str(&text).map_err(|e| format!("fixture is not JSON: {e}"))?;
    let expect = case.get("expect").ok_or("fixture has no `expect`")?;
    let parameters: BTreeMap<String, String> = match case.get("parameters") {
        Some(p) => serde_json::from_value(p.clone()).map_err(|e| format!("`parameters`: {e}"))?,
        None => BTreeMap::new(),
    };
    let params = rule.parse_params(&parameters);
    let resource = Resource::from_json(case.get("item").ok_or("fixture has no `item`")?);
    if let Some(error) = expect.get("error").and_then(Value::as_str) {
        let got = match (params, resource) {
            (Err(e), _) => e.to_string(),
            (_, Err(e)) => e.to_string(),
            (Ok(_), Ok(_)) => "no error".into(),
        };
        return if got == error { Ok(()) } else { Err(format!("expected error `{error}`, got `{got}`")) };
    }
    let params = params.map_err(|e| format!("parameters rejected: {e}"))?;
    let resource = resource.map_err(|e| format!("item rejected: {e}"))?;
    let resolver = resolver(case.get("resolver"))?;
    let verdict = rule.judge(&resource, &Context { params: &params, resolver: &resolver });

    let want = expect.get("compliance").and_then(Value::as_str).ok_or("`expect.compliance` is missing")?;
    let mut problems = Vec::new();
    if verdict.compliance.as_str() != want {
        problems.push(format!("compliance: expected {want}, got {} ({:?})", verdict.compliance, verdict.annotation()));
    }
    match (expect.get("annotation").and_then(Value::as_str), verdict.annotation()) {
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
    if let Some(count) = expect.get("causes").and_then(Value::as_u64) {
        if verdict.causes.len() as u64 != count {
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
