//! The `kms-guardrails` binary end to end: real files in, exit status and reports out.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kms-guardrails")).args(args).output().expect("the binary runs")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn evaluations(report: &Value) -> Vec<Value> {
    report["Evaluations"].as_array().cloned().unwrap_or_default()
}

#[test]
fn sample_shows_every_rule_passing_and_failing() {
    let output = run(&["dry-run", "--format", "json"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = stdout_json(&output);
    for rule in kms_guardrails::ALL {
        let mine: Vec<Value> = evaluations(&report).into_iter().filter(|e| e["ConfigRuleName"] == rule.id).collect();
        let has = |c: &str| mine.iter().any(|e| e["ComplianceType"] == c);
        assert!(has("COMPLIANT") && has("NON_COMPLIANT"), "{}: {mine:#?}", rule.id);
    }
    for e in evaluations(&report) {
        let compliant = e["ComplianceType"] == "COMPLIANT";
        assert_eq!(e.get("Annotation").is_none(), compliant, "{e}");
        if let Some(a) = e["Annotation"].as_str() {
            assert!(a.chars().count() <= 256);
        }
    }
}

#[test]
fn help_documents_exit_codes() {
    let output = run(&["dry-run", "--help"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("0  nothing is NON_COMPLIANT") && text.contains("2  usage or input error"), "{text}");
}

#[test]
fn rules_lists_every_rule_with_defaults() {
    let output = run(&["rules"]);
    let text = String::from_utf8_lossy(&output.stdout);
    for rule in kms_guardrails::ALL {
        assert!(text.contains(rule.id));
    }
    assert!(text.contains("blockedActionsPatterns  default: kms:Decrypt,kms:ReEncryptFrom"), "{text}");
}

fn key_item(id: &str, policy: &Value) -> Value {
    json!({"resourceType": "AWS::KMS::Key", "resourceId": id, "awsAccountId": "111122223333",
        "ARN": format!("arn:aws:kms:us-east-1:111122223333:key/{id}"), "configurationItemStatus": "OK",
        "configurationItemCaptureTime": "2026-11-01T00:00:00.000Z",
        "configuration": {"keyId": id, "keyManager": "CUSTOMER", "keyState": "Enabled"},
        "supplementaryConfiguration": {"Policy": policy.to_string()}})
}

#[test]
fn input_errors_name_the_file_and_exit_2() {
    let dir = scratch("errors");
    std::fs::write(dir.join("broken.json"), "{\"configurationItems\": [").expect("write");
    let output = run(&["dry-run", dir.join("broken.json").to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("broken.json: not valid JSON"), "{}", stderr(&output));

    std::fs::write(dir.join("other.json"), "{\"hello\": 1}").expect("write");
    let output = run(&["dry-run", dir.join("other.json").to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("other.json: not a known export shape"), "{}", stderr(&output));

    let item = json!({"configurationItems": [{"resourceId": "x"}]});
    std::fs::write(dir.join("noType.json"), item.to_string()).expect("write");
    let output = run(&["dry-run", dir.join("noType.json").to_str().expect("path")]);
    assert!(
        stderr(&output).contains("noType.json: configurationItems[0]: item: field `resourceType` is missing"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn keep_going_reports_bad_items_and_evaluates_the_rest() {
    let dir = scratch("keep-going");
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]});
    let export = json!({"configurationItems": [{"resourceType": "AWS::KMS::Key"}, key_item("k1", &public)]});
    std::fs::write(dir.join("snapshot.json"), export.to_string()).expect("write");
    let output = run(&[
        "dry-run",
        "--keep-going",
        "--format",
        "json",
        "--rule",
        "kms-key-policy-no-public-access",
        dir.to_str().expect("path"),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("configurationItems[0]: AWS::KMS::Key: field `resourceId` is missing"),
        "{}",
        stderr(&output)
    );
    let evals = evaluations(&stdout_json(&output));
    assert_eq!(evals.len(), 1);
    assert_eq!(evals[0]["ComplianceType"], "NON_COMPLIANT");
}

#[test]
fn gzip_directories_and_cross_file_resolution() {
    let dir = scratch("cross-file");
    std::fs::create_dir_all(dir.join("nested")).expect("mkdir");
    // The role is in one file, its attached customer managed policy in another (gzipped).
    let role = json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:role/Ops", "configurationItemStatus": "OK",
        "configuration": {"roleName": "Ops", "path": "/", "rolePolicyList": [
            {"policyName": "admin", "policyDocument": "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3APutKeyPolicy%22%2C%22Resource%22%3A%22*%22%7D%5D%7D"}],
            "attachedManagedPolicies": [{"policyName": "Use", "policyArn": "arn:aws:iam::111122223333:policy/Use"}]}});
    let policy = json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:policy/Use", "configurationItemStatus": "OK",
        "configuration": {"policyName": "Use", "defaultVersionId": "v1", "policyVersionList": [
            {"versionId": "v1", "isDefaultVersion": true, "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}}]}});
    std::fs::write(dir.join("role.json"), role.to_string()).expect("write");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json!({"configurationItems": [policy]}).to_string().as_bytes()).expect("gzip");
    std::fs::write(dir.join("nested").join("policies.json.gz"), gz.finish().expect("gzip")).expect("write");

    let output =
        run(&["dry-run", "--format", "json", "--rule", "kms-admin-use-separation", dir.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let evals = evaluations(&stdout_json(&output));
    let role_eval = evals.iter().find(|e| e["ComplianceResourceId"] == "AROA1").expect("role evaluated");
    assert_eq!(role_eval["ComplianceType"], "NON_COMPLIANT");
    let annotation = role_eval["Annotation"].as_str().unwrap_or_default();
    assert!(annotation.contains("kms:Decrypt on all keys and also kms:PutKeyPolicy"), "{annotation}");
}

#[test]
fn bad_params_are_usage_errors() {
    let output = run(&["dry-run", "--param", "kms-no-wildcard-admin.noSuch=1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("rule `kms-no-wildcard-admin` has no parameter `noSuch`"), "{}", stderr(&output));
    let output = run(&["dry-run", "--param", "oops"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("expected RULE.NAME=VALUE"));
}
