//! The scenario-fixture harness: `rules/<id>/cases/NN-what.json`, one fixture per numbered
//! scenario of the rule's header, run by the rule's own crate (`cargo test -p <rule>`) and,
//! for every rule at once, by the end-to-end suite.
//!
//! A fixture holds the configuration item, the rule parameters, what the resolver knows
//! (other items: managed policies, groups; the management account, or why it is unknown:
//! `managementAccountUnknown`) and the expectation: the compliance, and for anything not
//! COMPLIANT the exact annotation. Fixtures are read through a typed schema ([`Fixture`],
//! `deny_unknown_fields`): a misspelt key is an error. [`check_rule`] also checks that the
//! fixtures and the numbered scenarios in the rule's header are the same list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::item::{Details, Resource};
use crate::rule::{Context, Rule};
use crate::MemoryResolver;

/// A scenario fixture, typed: a misspelt or unknown key is an error, never ignored.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// What the scenario is (the rule header's numbered line says the same; read by people).
    pub scenario: String,
    /// The rule parameters, as Config's `ruleParameters` would give them.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// What the resolver knows besides the item.
    #[serde(default)]
    pub resolver: Option<ResolverSpec>,
    /// The configuration item judged.
    pub item: Value,
    /// The expectation.
    pub expect: Expect,
}

/// Other resources a verdict depends on.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResolverSpec {
    /// Managed policies and groups, as configuration items.
    #[serde(default)]
    pub items: Vec<Value>,
    /// The organization's management account.
    pub management_account: Option<String>,
    /// Why the management account cannot be had (Organizations failed).
    pub management_account_unknown: Option<String>,
}

/// What the rule must answer.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`.
    pub compliance: Option<String>,
    /// The exact annotation (`"?"` with `BLESS_ANNOTATIONS=1` fills it in).
    pub annotation: Option<String>,
    /// How many causes the verdict holds.
    pub causes: Option<usize>,
    /// Instead of a verdict: the parameter or item error expected.
    pub error: Option<String>,
}

/// A rule crate's tests (`rules/<id>/tests/scenarios.rs`): its scenario fixtures and its own
/// binary, `rule_crate_tests!(my_rule::RULE, "my-rule")`. The binary test needs the crate's
/// `cli` and `lambda` features (its defaults); cargo builds the binary for it
/// (`CARGO_BIN_EXE_<id>`).
#[macro_export]
macro_rules! rule_crate_tests {
    ($rule:path, $id:literal) => {
        #[test]
        fn every_scenario_fixture_passes_and_the_header_lists_them() {
            let dir = ::std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            let ran = $crate::test_kit::fixtures::check_rule(&$rule, dir);
            assert!(ran.is_ok(), "{}", ran.err().unwrap_or_default());
        }

        /// Outside Lambda the binary is a dry-run of this rule alone.
        #[cfg(all(feature = "cli", feature = "lambda"))]
        #[test]
        fn the_binary_runs_this_rule_alone() {
            let exe = ::std::path::Path::new(env!(concat!("CARGO_BIN_EXE_", $id)));
            let evaluations = $crate::test_kit::fixtures::check_binary(&$rule, exe);
            assert!(evaluations.is_ok(), "{}", evaluations.err().unwrap_or_default());
        }
    };
}

/// Every fixture of `rule` (its crate at `rule_dir`) passes, and the fixtures are the
/// scenarios its header lists: how many ran, or every difference found.
pub fn check_rule(rule: &Rule, rule_dir: &Path) -> Result<usize, String> {
    let files = case_files(rule_dir)?;
    let header = header_scenarios(rule_dir)?;
    let numbered: Vec<u32> = files.iter().filter_map(|p| fixture_number(p)).collect();
    let mut failures = Vec::new();
    if header.is_empty() {
        failures.push(format!("{}: the header lists no scenarios", rule.id));
    }
    if header != numbered {
        failures.push(format!("{}: header scenarios {header:?} vs cases/ files {numbered:?}", rule.id));
    }
    for path in &files {
        if let Err(problem) = run_case(rule, path) {
            failures.push(format!("{}:\n{problem}", path.display()));
        }
    }
    match failures.is_empty() {
        true => Ok(files.len()),
        false => {
            Err(format!("{} problem(s) in {} fixtures:\n\n{}", failures.len(), files.len(), failures.join("\n\n")))
        }
    }
}

/// The rule's own binary `exe`, started outside Lambda, runs a dry-run of this rule alone over
/// the embedded sample, which fails every rule somewhere (exit status 1): how many evaluations
/// it reported, or what went wrong.
pub fn check_binary(rule: &Rule, exe: &Path) -> Result<usize, String> {
    let output = std::process::Command::new(exe)
        .args(["dry-run", "--format", "json"])
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() != Some(1) {
        return Err(format!("{}: exit status {:?}, expected 1 (findings): {stderr}", rule.id, output.status.code()));
    }
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| format!("{}: not JSON: {e}", rule.id))?;
    let evaluations = report.get("Evaluations").and_then(Value::as_array).ok_or("no `Evaluations` list")?;
    match evaluations.iter().find(|e| e.get("ConfigRuleName").and_then(Value::as_str) != Some(rule.id)) {
        _ if evaluations.is_empty() => Err(format!("{}: no evaluations", rule.id)),
        Some(other) => Err(format!("{}: an evaluation of another rule: {other}", rule.id)),
        None => Ok(evaluations.len()),
    }
}

/// The fixtures in `rule_dir/cases`, in order.
pub fn case_files(rule_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = rule_dir.join("cases");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|x| x == "json") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Runs one fixture; `Err` says what differed.
pub fn run_case(rule: &Rule, path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Fixture = serde_json::from_str(&text).map_err(|e| format!("fixture does not fit the schema: {e}"))?;
    let expect = &case.expect;
    let params = rule.parse_params(&case.parameters);
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

/// Builds the resolver a fixture describes.
fn resolver(spec: Option<&ResolverSpec>) -> Result<MemoryResolver, String> {
    let mut resolver = MemoryResolver::new();
    let Some(spec) = spec else { return Ok(resolver) };
    for item in &spec.items {
        let resource = Resource::from_json(item).map_err(|e| format!("resolver item: {e}"))?;
        match resource.details {
            Details::Policy(policy) => resolver.add_policy(resource.names.arn().to_owned(), policy.document),
            Details::Group(group) => resolver.add_group(resource.names.account_id().to_owned(), group),
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

/// Writes the annotation a rule produced into a fixture that holds the placeholder `"?"`, for
/// review before commit (`BLESS_ANNOTATIONS=1`). Fixtures with a stated annotation are never
/// rewritten.
fn fill_annotation(path: &Path, got: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let quoted = serde_json::to_string(got).map_err(|e| e.to_string())?;
    std::fs::write(path, text.replacen("\"annotation\": \"?\"", &format!("\"annotation\": {quoted}"), 1))
        .map_err(|e| e.to_string())
}

/// The numbers of the scenarios listed in the rule header (`//! N. ...` after `## Scenarios`
/// in `rule_dir/src/lib.rs`).
pub fn header_scenarios(rule_dir: &Path) -> Result<Vec<u32>, String> {
    let path = rule_dir.join("src").join("lib.rs");
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(source
        .lines()
        .skip_while(|l| !l.starts_with("//! ## Scenarios"))
        .filter_map(|l| l.strip_prefix("//! "))
        .filter_map(|l| l.split_once(". ").and_then(|(n, _)| n.parse().ok()))
        .collect())
}

/// `NN` of `NN-what.json`.
fn fixture_number(path: &Path) -> Option<u32> {
    path.file_name()?.to_str()?.split('-').next()?.parse().ok()
}
