//! Real-world KMS key policies and IAM identity policies (`tests/fixtures/real-world/`: AWS
//! documentation, other tools' test fixtures, public Terraform modules and repositories), each
//! with a `<name>.source.md` naming its source, judged by the rules with the verdicts
//! `expected.json` gives them.
//!
//! A key policy is judged as the `supplementaryConfiguration.Policy` of an AWS::KMS::Key item by
//! the five key-policy rules. An identity policy is judged twice: as the default version of an
//! AWS::IAM::Policy (`iam-customer-policy-blocked-kms-actions`, `kms-no-wildcard-admin`) and as
//! the only inline policy of an AWS::IAM::Role with nothing attached
//! (`iam-inline-policy-blocked-kms-actions`, `kms-admin-use-separation`). Every rule runs with
//! its defaults. The document text is handed over as it is stored (not re-serialised), so the
//! documents that AWS published as invalid JSON reach the parser as they are.
//!
//! The expectations follow SPEC (sections 2 and 3), including its key universe and grantee
//! classes; where SPEC leaves a pair open, the document's `not_asserted` says why.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{json, Value};
use shared::item::Resource;
use shared::rule::{Cause, Compliance, Context, Rule, Verdict};
use shared::MemoryResolver;

use crate::rules::ALL;

const KEY_RULES: [&str; 5] = [
    "kms-key-policy-via-service-required",
    "kms-no-wildcard-admin",
    "kms-admin-use-separation",
    "kms-key-policy-service-principal-conditions",
    "kms-key-policy-no-public-access",
];
/// Identity rules judged on the managed-policy item.
const POLICY_RULES: [&str; 2] = ["iam-customer-policy-blocked-kms-actions", "kms-no-wildcard-admin"];
/// Identity rules judged on the role item.
const ROLE_RULES: [&str; 2] = ["iam-inline-policy-blocked-kms-actions", "kms-admin-use-separation"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// Account of every item unless a document names its own.
    account: String,
    documents: Vec<Document>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    /// File name in `tests/fixtures/real-world/`; its source is `<stem>.source.md`.
    file: String,
    kind: Kind,
    /// The item's account (`awsAccountId`), when not the default.
    account: Option<String>,
    verdicts: Vec<Expectation>,
    /// Rules deliberately left out for this document, with the reason.
    #[serde(default)]
    not_asserted: Vec<NotAsserted>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Kind {
    KeyPolicy,
    IdentityPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expectation {
    rule: String,
    compliance: Compliance,
    /// One line: why SPEC gives this verdict.
    why: String,
    /// The first cause's statement: the `Sid` (without quotes) or `#index`.
    statement: Option<String>,
    /// Text the first cause's principal contains (grantee names may carry a class suffix).
    principal: Option<String>,
    /// Text the first cause's reason contains.
    reason: Option<String>,
    /// Texts that some cause's principal contains, each.
    #[serde(default)]
    cause_principals: Vec<String>,
    /// Statements (Sid or `#index`) no cause may name: they grant nothing the verdict is about.
    #[serde(default)]
    no_cause_statements: Vec<String>,
    /// Texts no cause's principal may contain.
    #[serde(default)]
    no_cause_principals: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotAsserted {
    rule: String,
    why: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join("real-world")
}

fn expected() -> Expected {
    let text = std::fs::read_to_string(dir().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("expected.json matches the schema in tests/real_world.rs")
}

fn rule(id: &str) -> &'static Rule {
    ALL.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no rule `{id}`"))
}

const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

fn key_item(account: &str, document: &str) -> Value {
    json!({"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-01T12:00:00.000Z",
        "configurationItemStatus": "OK", "configurationStateId": "1762000000000", "awsAccountId": account,
        "resourceType": "AWS::KMS::Key", "resourceId": KEY_ID, "awsRegion": "us-east-1",
        "ARN": format!("arn:aws:kms:us-east-1:{account}:key/{KEY_ID}"),
        "configuration": {"keyId": KEY_ID, "keyManager": "CUSTOMER", "keyState": "Enabled",
            "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false},
        "supplementaryConfiguration": {"Policy": document}})
}

fn policy_item(account: &str, name: &str, document: &str) -> Value {
    let arn = format!("arn:aws:iam::{account}:policy/{name}");
    json!({"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-01T12:00:00.000Z",
        "configurationItemStatus": "OK", "configurationStateId": "1762000000000", "awsAccountId": account,
        "resourceType": "AWS::IAM::Policy", "resourceId": "ANPAREALWORLD0000001", "resourceName": name,
        "ARN": arn, "awsRegion": "global",
        "configuration": {"policyName": name, "policyId": "ANPAREALWORLD0000001", "arn": arn, "path": "/",
            "defaultVersionId": "v1", "attachmentCount": 1, "permissionsBoundaryUsageCount": 0, "isAttachable": true,
            "policyVersionList": [{"document": document, "versionId": "v1", "isDefaultVersion": true}]},
        "supplementaryConfiguration": {}})
}

fn role_item(account: &str, name: &str, document: &str) -> Value {
    let arn = format!("arn:aws:iam::{account}:role/RealWorldRole");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    json!({"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-01T12:00:00.000Z",
        "configurationItemStatus": "OK", "configurationStateId": "1762000000000", "awsAccountId": account,
        "resourceType": "AWS::IAM::Role", "resourceId": "AROAREALWORLD0000001", "resourceName": "RealWorldRole",
        "ARN": arn, "awsRegion": "global",
        "configuration": {"path": "/", "roleName": "RealWorldRole", "roleId": "AROAREALWORLD0000001", "arn": arn,
            "assumeRolePolicyDocument": trust, "instanceProfileList": [],
            "rolePolicyList": [{"policyName": name, "policyDocument": document}],
            "attachedManagedPolicies": [], "permissionsBoundary": null, "tags": []},
        "supplementaryConfiguration": {}})
}

/// The item a rule judges the document as.
fn item_for(kind: Kind, rule_id: &str, account: &str, stem: &str, document: &str) -> Result<Value, String> {
    match kind {
        Kind::KeyPolicy if KEY_RULES.contains(&rule_id) => Ok(key_item(account, document)),
        Kind::IdentityPolicy if POLICY_RULES.contains(&rule_id) => Ok(policy_item(account, stem, document)),
        Kind::IdentityPolicy if ROLE_RULES.contains(&rule_id) => Ok(role_item(account, stem, document)),
        _ => Err(format!("rule `{rule_id}` is not judged on a {kind:?}")),
    }
}

fn judge(kind: Kind, rule_id: &str, account: &str, stem: &str, document: &str) -> Result<Verdict, String> {
    let item = item_for(kind, rule_id, account, stem, document)?;
    let resource = Resource::from_json(&item).map_err(|e| format!("item rejected: {e}"))?;
    let rule = rule(rule_id);
    Ok(rule.judge(&resource, &Context { params: &rule.default_params(), resolver: &MemoryResolver::new() }))
}

/// `"Sid"` -> `Sid`; `#0` stays.
fn statement_name(cause: &Cause) -> Option<&str> {
    cause.statement.as_deref().map(|s| s.trim_matches('"'))
}

/// What differs between the verdict and the expectation; empty when they agree.
fn differences(expectation: &Expectation, verdict: &Verdict) -> Vec<String> {
    let mut problems = Vec::new();
    let want = expectation.compliance;
    if verdict.compliance != want {
        problems.push(format!("compliance: expected {want}, got {}", verdict.compliance));
    }
    let first = verdict.causes.first();
    if let Some(statement) = &expectation.statement {
        let got = first.and_then(statement_name);
        if got != Some(statement.as_str()) {
            problems.push(format!("first cause's statement: expected {statement}, got {got:?}"));
        }
    }
    if let Some(principal) = &expectation.principal {
        let got = first.and_then(|c| c.principal.as_deref());
        if !got.is_some_and(|p| p.contains(principal.as_str())) {
            problems.push(format!("first cause's principal: expected one containing {principal}, got {got:?}"));
        }
    }
    if let Some(reason) = &expectation.reason {
        let got = first.map(|c| c.reason.as_str());
        if !got.is_some_and(|r| r.contains(reason.as_str())) {
            problems.push(format!("first cause's reason: expected one containing {reason:?}, got {got:?}"));
        }
    }
    for principal in &expectation.cause_principals {
        if !verdict.causes.iter().any(|c| c.principal.as_deref().is_some_and(|p| p.contains(principal.as_str()))) {
            problems.push(format!("no cause names a principal containing {principal}"));
        }
    }
    for statement in &expectation.no_cause_statements {
        if let Some(cause) = verdict.causes.iter().find(|c| statement_name(c) == Some(statement.as_str())) {
            problems.push(format!("a cause names statement {statement}, which grants nothing here: {cause}"));
        }
    }
    for principal in &expectation.no_cause_principals {
        if let Some(cause) =
            verdict.causes.iter().find(|c| c.principal.as_deref().is_some_and(|p| p.contains(principal.as_str())))
        {
            problems.push(format!("a cause names {principal}: {cause}"));
        }
    }
    problems
}

#[test]
fn real_world_documents_get_the_verdicts_spec_gives_them() {
    let expected = expected();
    let mut failures = Vec::new();
    let mut asserted = 0;
    for doc in &expected.documents {
        let stem = doc.file.strip_suffix(".json").unwrap_or(&doc.file);
        let text = std::fs::read_to_string(dir().join(&doc.file)).expect("fixture file");
        let account = doc.account.as_deref().unwrap_or(&expected.account);
        for expectation in &doc.verdicts {
            asserted += 1;
            let problems = match judge(doc.kind, &expectation.rule, account, stem, &text) {
                Ok(verdict) => differences(expectation, &verdict)
                    .into_iter()
                    .map(|p| format!("{p}\n      annotation: {:?}", verdict.annotation()))
                    .collect(),
                Err(e) => vec![e],
            };
            for problem in problems {
                failures.push(format!("{} / {}: {problem}", doc.file, expectation.rule));
            }
        }
    }
    assert!(asserted > 0, "expected.json asserts nothing");
    assert!(
        failures.is_empty(),
        "{} of {asserted} asserted verdicts differ from SPEC's:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every fixture is listed once, has its source note, and every (document, rule) pair of its
/// kind is either asserted or left out with a reason.
#[test]
fn every_real_world_document_is_sourced_and_fully_reviewed() {
    let expected = expected();
    let files: BTreeSet<String> = std::fs::read_dir(dir())
        .expect("fixture directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && name != "expected.json")
        .collect();
    let listed: Vec<&str> = expected.documents.iter().map(|d| d.file.as_str()).collect();
    let listed_set: BTreeSet<String> = listed.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(listed.len(), listed_set.len(), "a document is listed twice");
    assert_eq!(files, listed_set, "fixture files vs documents in expected.json");
    for doc in &expected.documents {
        let stem = doc.file.strip_suffix(".json").unwrap_or(&doc.file);
        let source = dir().join(format!("{stem}.source.md"));
        let note = std::fs::read_to_string(&source).unwrap_or_default();
        assert!(note.starts_with(&format!("# {}", doc.file)), "{}: missing or untitled", source.display());
        let rules: Vec<&str> = match doc.kind {
            Kind::KeyPolicy => KEY_RULES.to_vec(),
            Kind::IdentityPolicy => POLICY_RULES.iter().chain(ROLE_RULES.iter()).copied().collect(),
        };
        let mut covered: Vec<&str> = doc
            .verdicts
            .iter()
            .map(|v| v.rule.as_str())
            .chain(doc.not_asserted.iter().map(|n| n.rule.as_str()))
            .collect();
        covered.sort_unstable();
        let mut all = rules.clone();
        all.sort_unstable();
        assert_eq!(covered, all, "{}: every rule of its kind exactly once", doc.file);
        for n in &doc.not_asserted {
            assert!(!n.why.trim().is_empty(), "{} / {}: say why it is not asserted", doc.file, n.rule);
        }
        for v in &doc.verdicts {
            assert!(!v.why.trim().is_empty(), "{} / {}: say why", doc.file, v.rule);
            // A rule's own verdict must be one its note explains.
            assert!(note.contains(&v.rule), "{}: the source note does not discuss {}", source.display(), v.rule);
        }
    }
}
