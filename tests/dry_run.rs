//! The dry-run of a rule binary whose rule panics (`bin/panicking_rule.rs`, outside Lambda):
//! the run exits 2 with an error naming the rule, the item and the file, and writes no report,
//! whether the item is judged as it arrives or set aside until the end of the input. A report
//! with that evaluation missing, and exit status 0 or 1, would be a silent loss.

use std::process::Command;

use serde_json::{json, Value};

fn role(id: &str, attached: &str) -> Value {
    json!({"resourceType": "AWS::IAM::Role", "resourceId": id, "awsAccountId": "111122223333",
        "ARN": format!("arn:aws:iam::111122223333:role/{id}"), "configurationItemStatus": "OK",
        "configuration": {"roleName": id, "path": "/", "rolePolicyList": [],
            "attachedManagedPolicies": [{"policyName": attached, "policyArn": format!("arn:aws:iam::111122223333:policy/{attached}")}]}})
}

fn policy(name: &str) -> Value {
    json!({"resourceType": "AWS::IAM::Policy", "resourceId": format!("ANPA{name}"), "awsAccountId": "111122223333",
        "ARN": format!("arn:aws:iam::111122223333:policy/{name}"), "configurationItemStatus": "OK",
        "configuration": {"policyName": name, "defaultVersionId": "v1", "policyVersionList": [
            {"versionId": "v1", "isDefaultVersion": true, "document": {"Version": "2012-10-17", "Statement": []}}]}})
}

/// Runs `panicking-rule dry-run --format json` over `items`: exit status, stdout, stderr.
fn dry_run(name: &str, items: &[Value]) -> (Option<i32>, Vec<u8>, String) {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-panicking-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("export.json");
    std::fs::write(&file, json!({"configurationItems": items}).to_string()).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_panicking-rule"))
        .args(["dry-run", "--format", "json", "--keep-going"])
        .arg(&file)
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (output.status.code(), output.stdout, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_panicking_rule_on_a_set_aside_role_stops_the_dry_run_with_exit_2() {
    // The role's policy is never defined: the role waits for the end of the input, and is
    // judged then (the set-aside path).
    let (status, stdout, stderr) = dry_run("set-aside", &[role("Waits", "Missing")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "no report: {}", String::from_utf8_lossy(&stdout));
    assert!(
        stderr.contains("error: rule `panicking-rule` panicked on AWS::IAM::Role `Waits` of ")
            && stderr.contains("export.json: deliberate panic in a rule; no report is written"),
        "{stderr}"
    );
}

#[test]
fn a_panicking_rule_on_arrival_stops_the_dry_run_with_exit_2() {
    let (status, stdout, stderr) = dry_run("arrival", &[policy("Known"), role("Early", "Known")]);
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stdout.is_empty(), "no report: {}", String::from_utf8_lossy(&stdout));
    assert!(stderr.contains("error: rule `panicking-rule` panicked on AWS::IAM::Role `Early` of "), "{stderr}");
}

/// Without an item in its scope the rule never runs: the same binary reports, and exits 0.
#[test]
fn without_an_item_in_scope_the_dry_run_reports() {
    let (status, stdout, stderr) = dry_run("none", &[policy("Known")]);
    assert_eq!(status, Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&stdout), "{\n  \"Evaluations\": []\n}\n");
}
