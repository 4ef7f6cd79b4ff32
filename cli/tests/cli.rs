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

/// A fresh directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = PathBuf;
    fn deref(&self) -> &PathBuf {
        &self.0
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    Scratch(dir)
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
    shared::test_kit::items::key_item("111122223333", id, Some(policy))
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
        dir.0.to_str().expect("path"),
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

/// An entry that is not JSON inside sound brackets (a bad literal, a missing colon) is an
/// error of that entry, named by its place; the reader goes on, so `--keep-going` evaluates
/// the entries after it. Broken brackets, by contrast, stop the file (`input_errors_...`).
#[test]
fn an_entry_that_is_not_json_is_its_own_error_and_the_rest_is_read() {
    let dir = scratch("entry-not-json");
    let public = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]});
    let text = format!(
        "{{\"configurationItems\": [\n{},\n{{\"resourceType\": \"AWS::KMS::Key\", \"resourceId\": tru}},\n{}]}}",
        key_item("k1", &public),
        key_item("k2", &public)
    );
    std::fs::write(dir.join("snapshot.json"), text).expect("write");
    let path = dir.join("snapshot.json");
    let path = path.to_str().expect("path");
    let output = run(&["dry-run", "--format", "json", "--rule", "kms-key-policy-no-public-access", path]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(
            "snapshot.json: field `configurationItems[1]` is not valid JSON: expected ident at line 1 column 52 of the entry"
        ),
        "{}",
        stderr(&output)
    );
    let output =
        run(&["dry-run", "--keep-going", "--format", "json", "--rule", "kms-key-policy-no-public-access", path]);
    assert_eq!(output.status.code(), Some(2));
    let ids: Vec<Value> =
        evaluations(&stdout_json(&output)).iter().map(|e| e["ComplianceResourceId"].clone()).collect();
    assert_eq!(ids, [json!("k1"), json!("k2")]);
}

/// A role whose attached policy, and a user whose group, come later in the input wait for the
/// end of the input (set aside on disk) and are then judged with what came later; their
/// evaluations follow everything else, in input order. A role with an inline document that does
/// not parse waits too (set aside as its entry, not decoded) and still fails closed.
#[test]
fn users_and_roles_wait_for_policies_and_groups_later_in_the_input() {
    let dir = scratch("set-aside");
    let account = "111122223333";
    let item = |t: &str, id: &str, arn: &str, configuration: serde_json::Value| {
        json!({"resourceType": t, "resourceId": id, "awsAccountId": account, "ARN": arn,
            "configurationItemStatus": "OK", "configuration": configuration})
    };
    let decrypt_all =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let admin_all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"}]});
    let items = json!({"configurationItems": [
        item("AWS::IAM::Role", "AROA1", "arn:aws:iam::111122223333:role/Ops", json!({"roleName": "Ops", "path": "/",
            "rolePolicyList": [{"policyName": "admin", "policyDocument": admin_all}],
            "attachedManagedPolicies": [{"policyName": "Use", "policyArn": "arn:aws:iam::111122223333:policy/Use"}]})),
        item("AWS::IAM::User", "AIDA1", "arn:aws:iam::111122223333:user/ann", json!({"userName": "ann", "path": "/",
            "groupList": ["Admins"], "userPolicyList": [{"policyName": "use", "policyDocument": decrypt_all}],
            "attachedManagedPolicies": []})),
        item("AWS::IAM::Role", "AROA2", "arn:aws:iam::111122223333:role/Broken", json!({"roleName": "Broken", "path": "/",
            "rolePolicyList": [{"policyName": "broken", "policyDocument": "%7B%22Version%22"}],
            "attachedManagedPolicies": [{"policyName": "Use", "policyArn": "arn:aws:iam::111122223333:policy/Use"}]})),
        item("AWS::IAM::Policy", "ANPA1", "arn:aws:iam::111122223333:policy/Use", json!({"policyName": "Use",
            "defaultVersionId": "v1", "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": decrypt_all}]})),
        item("AWS::IAM::Group", "AGPA1", "arn:aws:iam::111122223333:group/Admins", json!({"groupName": "Admins", "path": "/",
            "groupPolicyList": [{"policyName": "admin", "policyDocument": admin_all}], "attachedManagedPolicies": []})),
    ]});
    let path = dir.join("export.json");
    std::fs::write(&path, items.to_string()).expect("write");
    let path = path.to_str().expect("path");
    let output = run(&[
        "dry-run",
        "--format",
        "json",
        "--rule",
        "iam-inline-policy-blocked-kms-actions",
        "--rule",
        "kms-admin-use-separation",
        path,
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let evals = evaluations(&stdout_json(&output));
    let order: Vec<&str> = evals.iter().filter_map(|e| e["ComplianceResourceId"].as_str()).collect();
    assert_eq!(
        order,
        ["AGPA1", "AROA1", "AROA1", "AIDA1", "AIDA1", "AROA2", "AROA2"],
        "the group is judged on arrival, the roles and user last"
    );
    for eval in evals.iter().filter(|e| e["ComplianceResourceId"] == "AROA2") {
        assert_eq!(eval["ComplianceType"], "NON_COMPLIANT", "{eval}");
        let annotation = eval["Annotation"].as_str().unwrap_or_default();
        assert!(annotation.contains("broken") && annotation.contains("not valid JSON"), "{annotation}");
    }
    for id in ["AROA1", "AIDA1"] {
        let eval = evals
            .iter()
            .find(|e| e["ComplianceResourceId"] == id && e["ConfigRuleName"] == "kms-admin-use-separation")
            .expect("evaluated");
        assert_eq!(eval["ComplianceType"], "NON_COMPLIANT", "{id}: {eval}");
        let annotation = eval["Annotation"].as_str().unwrap_or_default();
        assert!(annotation.contains("kms:Decrypt") && annotation.contains("kms:PutKeyPolicy"), "{id}: {annotation}");
    }
}

/// A role waits for its permissions boundary as for an attached policy: the boundary policy
/// comes later in the input and resolves; a boundary that is nowhere in the input fails the
/// role closed, naming it.
#[test]
fn roles_wait_for_their_permissions_boundary_later_in_the_input() {
    let dir = scratch("boundary-set-aside");
    let role = |id: &str, name: &str, boundary: &str| {
        json!({"resourceType": "AWS::IAM::Role", "resourceId": id, "awsAccountId": "111122223333",
            "ARN": format!("arn:aws:iam::111122223333:role/{name}"), "configurationItemStatus": "OK",
            "configuration": {"roleName": name, "path": "/", "rolePolicyList": [], "attachedManagedPolicies": [],
                "permissionsBoundary": {"permissionsBoundaryArn": boundary, "permissionsBoundaryType": "PermissionsBoundaryPolicy"}}})
    };
    let boundary = json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:policy/Boundary", "configurationItemStatus": "OK",
        "configuration": {"policyName": "Boundary", "defaultVersionId": "v1", "policyVersionList": [
            {"versionId": "v1", "isDefaultVersion": true, "document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}}]}});
    let items = json!({"configurationItems": [
        role("AROA1", "Bounded", "arn:aws:iam::111122223333:policy/Boundary"),
        role("AROA2", "Unbounded", "arn:aws:iam::111122223333:policy/Nowhere"),
        boundary,
    ]});
    let path = dir.join("export.json");
    std::fs::write(&path, items.to_string()).expect("write");
    let output =
        run(&["dry-run", "--format", "json", "--rule", "kms-admin-use-separation", path.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let evals = evaluations(&stdout_json(&output));
    let verdict = |id: &str| {
        let eval = evals.iter().find(|e| e["ComplianceResourceId"] == id).expect("evaluated");
        (eval["ComplianceType"].as_str().unwrap_or_default().to_owned(), eval["Annotation"].as_str().map(str::to_owned))
    };
    assert_eq!(verdict("AROA1"), ("COMPLIANT".to_owned(), None), "the boundary later in the input resolves");
    assert_eq!(
        verdict("AROA2"),
        (
            "NON_COMPLIANT".to_owned(),
            Some(
                "permissions boundary could not be resolved: `arn:aws:iam::111122223333:policy/Nowhere` was not found"
                    .to_owned()
            )
        )
    );
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
        run(&["dry-run", "--format", "json", "--rule", "kms-admin-use-separation", dir.0.to_str().expect("path")]);
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

/// `excludeRoleByManagementAccount=true` without `managementAccountId` is a usage error
/// offline (the Lambda function would ask AWS Organizations; the dry-run cannot), naming the
/// `--param` to pass; with it, a role only that account can assume is NOT_APPLICABLE.
#[test]
fn excluding_management_roles_offline_needs_the_management_account() {
    let exclude = "iam-inline-policy-blocked-kms-actions.excludeRoleByManagementAccount=true";
    let output = run(&["dry-run", "--rule", "iam-inline-policy-blocked-kms-actions", "--param", exclude]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "nothing is judged");
    let message = stderr(&output);
    assert!(
        message.contains("rule `iam-inline-policy-blocked-kms-actions` parameter `excludeRoleByManagementAccount` is `true` but `managementAccountId` is empty")
            && message.contains("organizations:DescribeOrganization")
            && message.contains("pass --param iam-inline-policy-blocked-kms-actions.managementAccountId=<account>"),
        "{message}"
    );

    let dir = scratch("management-account");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]});
    let decrypt_all =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let role = json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:role/OrganizationAccountAccessRole", "configurationItemStatus": "OK",
        "configuration": {"roleName": "OrganizationAccountAccessRole", "path": "/", "assumeRolePolicyDocument": trust,
            "rolePolicyList": [{"policyName": "decrypt", "policyDocument": decrypt_all}], "attachedManagedPolicies": []}});
    let path = dir.join("role.json");
    std::fs::write(&path, role.to_string()).expect("write");
    let path = path.to_str().expect("path");
    let judged = |account: &str| {
        let management = format!("iam-inline-policy-blocked-kms-actions.managementAccountId={account}");
        let output = run(&[
            "dry-run",
            "--format",
            "json",
            "--rule",
            "iam-inline-policy-blocked-kms-actions",
            "--param",
            exclude,
            "--param",
            &management,
            path,
        ]);
        let evals = evaluations(&stdout_json(&output));
        (output.status.code(), evals.first().map(|e| e["ComplianceType"].clone()))
    };
    assert_eq!(judged("444455556666"), (Some(0), Some(json!("NOT_APPLICABLE"))));
    assert_eq!(judged("999988887777"), (Some(1), Some(json!("NON_COMPLIANT"))));
}

#[test]
fn sarif_has_one_rule_per_rule_id_and_results_located_by_arn() {
    let output = run(&["dry-run", "--format", "sarif"]);
    assert_eq!(output.status.code(), Some(1));
    let sarif = stdout_json(&output);
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let ids: Vec<&str> =
        run["tool"]["driver"]["rules"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    let expected: Vec<&str> = kms_guardrails::ALL.iter().map(|r| r.id).collect();
    assert_eq!(ids, expected);
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for result in results {
        let rule_id = result["ruleId"].as_str().unwrap();
        assert!(expected.contains(&rule_id));
        assert_eq!(ids[result["ruleIndex"].as_u64().unwrap() as usize], rule_id);
        assert!(!result["message"]["text"].as_str().unwrap().is_empty());
        let location = result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].as_str().unwrap();
        assert!(location.starts_with("arn:aws:"), "{location}");
    }
}

#[test]
fn table_output_snapshot() {
    let output = run(&["dry-run", "--format", "table"]);
    insta::assert_snapshot!("sample_table", String::from_utf8_lossy(&output.stdout));
}

#[test]
fn json_output_snapshot() {
    let output = run(&["dry-run", "--format", "json", "--rule", "kms-admin-use-separation"]);
    insta::assert_snapshot!("sample_json_separation", String::from_utf8_lossy(&output.stdout));
}

/// The managed-policy corpus (`../shared/corpus`, bundled in `shared/data/`) as GAAD output.
fn corpus_gaad() -> Value {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn gaad_corpus_as_is_only_resolves_attachments() {
    let dir = scratch("gaad-as-is");
    std::fs::write(dir.join("gaad.json"), corpus_gaad().to_string()).unwrap();
    let output = run(&["dry-run", "--format", "json", dir.join("gaad.json").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(evaluations(&stdout_json(&output)).is_empty(), "AWS managed policies are never items");
}

#[test]
fn gaad_corpus_as_customer_policies_matches_the_core_corpus_count() {
    let mut gaad = corpus_gaad();
    for policy in gaad["Policies"].as_array_mut().unwrap() {
        let arn =
            policy["Arn"].as_str().unwrap().replace("arn:aws:iam::aws:policy/", "arn:aws:iam::111122223333:policy/");
        policy["Arn"] = Value::String(arn);
    }
    let dir = scratch("gaad-customer");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(gaad.to_string().as_bytes()).unwrap();
    std::fs::write(dir.join("gaad.json.gz"), gz.finish().unwrap()).unwrap();
    let rule = "iam-customer-policy-blocked-kms-actions";
    let output = run(&["dry-run", "--format", "json", "--rule", rule, dir.0.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let evals = evaluations(&stdout_json(&output));
    assert_eq!(evals.len(), 1452);
    let flagged = evals.iter().filter(|e| e["ComplianceType"] == "NON_COMPLIANT").count();
    // The same 75 as the core's corpus test (tests/corpus.rs), through GAAD input this time.
    assert_eq!(flagged, 75);
}

#[test]
fn precheck_prints_the_readiness_checklist() {
    let dir = scratch("precheck");
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../rules/kms-key-service-readiness/cases/02-controltower-example-as-printed.json"
        ))
        .unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("key.json"), fixture["item"].to_string()).unwrap();
    let key = dir.join("key.json");
    let output =
        run(&["precheck", "--services", "controltower", "--management-account", "111122223333", key.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("NOT READY: 1 of 12 requirements unmet"), "{text}");
    assert!(text.contains("[ ] config.amazonaws.com grants carry a confused-deputy condition"), "{text}");
    assert!(text.contains("[x] cloudtrail.amazonaws.com may kms:Decrypt"), "{text}");
    assert!(!text.contains("kms:DescribeKey"), "Control Tower alone does not need CloudTrail's DescribeKey: {text}");
    assert!(text.contains("add: {\"Sid\": \"AllowConfigToUseKey\""), "{text}");
    // The two kinds apart (SPEC section 3): what the services need, then the confused-deputy guards.
    let needs = text.find("  the service needs:\n").expect("a heading for what the services need");
    let guards = text.find("  guard against the confused deputy:\n").expect("a heading for the guards");
    assert!(needs < guards, "{text}");
    assert!(text.find("[ ] config.amazonaws.com grants carry").is_some_and(|at| at > guards), "{text}");
    // Config alone does not need the management account or Control Tower's CloudTrail grants.
    let output = run(&["precheck", "--services", "config", key.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("management account") && !text.contains("cloudtrail"), "{text}");
    let output = run(&["precheck", "--services", "nosuch", key.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
}

/// Every AWS CLI output shape, in its own dialect (API field names, `configuration` and
/// supplementary values as JSON strings), gives the same verdict for the same key.
#[test]
fn every_export_shape_reads_the_same() {
    let dir = scratch("shapes");
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"}]});
    // The API dialect: accountId, arn, epoch capture time, configuration and Policy as strings
    // (the Policy encoded twice, as batch-get-resource-config prints it).
    let api_item = json!({"version": "1.3", "accountId": "111122223333", "configurationItemCaptureTime": 1_763_877_600.0,
        "configurationItemStatus": "OK", "arn": "arn:aws:kms:us-east-1:111122223333:key/k1", "resourceType": "AWS::KMS::Key",
        "resourceId": "k1", "awsRegion": "us-east-1",
        "configuration": json!({"keyId": "k1", "keyManager": "CUSTOMER", "keyState": "Enabled"}).to_string(),
        "supplementaryConfiguration": {"Policy": Value::String(policy.to_string()).to_string()}});
    let shapes = [
        ("history.json", json!({"configurationItems": [api_item.clone()]})),
        ("batch.json", json!({"baseConfigurationItems": [api_item.clone()], "unprocessedResourceKeys": []})),
        ("select.json", json!({"Results": [api_item.to_string()], "QueryInfo": {"SelectFields": [{"Name": "*"}]}})),
        ("single.json", key_item("k1", &policy)),
    ];
    for (name, document) in shapes {
        std::fs::write(dir.join(name), document.to_string()).unwrap();
        let output = run(&[
            "dry-run",
            "--format",
            "json",
            "--rule",
            "kms-key-policy-no-public-access",
            dir.join(name).to_str().unwrap(),
        ]);
        assert_eq!(output.status.code(), Some(1), "{name}: {}", stderr(&output));
        let evals = evaluations(&stdout_json(&output));
        assert_eq!(evals.len(), 1, "{name}");
        assert_eq!(evals[0]["ComplianceResourceId"], "k1", "{name}");
        assert_eq!(evals[0]["ComplianceType"], "NON_COMPLIANT", "{name}");
        assert_eq!(
            evals[0]["Annotation"],
            "stmt \"Open\": anyone may kms:Decrypt without a condition limiting the caller's account or organization",
            "{name}"
        );
    }
    let output = run(&[
        "dry-run",
        "--format",
        "json",
        "--rule",
        "kms-key-policy-no-public-access",
        dir.join("history.json").to_str().unwrap(),
    ]);
    assert_eq!(
        evaluations(&stdout_json(&output))[0]["OrderingTimestamp"],
        "2025-11-23T06:00:00.000Z",
        "epoch capture times become RFC 3339"
    );
}

/// A gzip cut short and bytes that are not UTF-8 are input errors naming the file, never a
/// crash and never a partial pass.
#[test]
fn truncated_gzip_and_invalid_utf8_are_input_errors() {
    let dir = scratch("broken-bytes");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(json!({"configurationItems": [key_item("k1", &json!({"Statement": []}))]}).to_string().as_bytes())
        .unwrap();
    let bytes = gz.finish().unwrap();
    std::fs::write(dir.join("cut.json.gz"), &bytes[..bytes.len() / 2]).unwrap();
    let output = run(&["dry-run", "--format", "json", dir.join("cut.json.gz").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    // Inflating fails before the JSON does: a read error, in flate2's words.
    assert!(stderr(&output).contains("cut.json.gz: cannot be read: incomplete deflate stream"), "{}", stderr(&output));

    std::fs::write(
        dir.join("latin1.json"),
        b"{\"configurationItems\": [{\"resourceType\": \"AWS::KMS::Key\", \"resourceId\": \"k\xe9\"}]}",
    )
    .unwrap();
    let output = run(&["dry-run", "--format", "json", dir.join("latin1.json").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("latin1.json: not valid JSON"), "{}", stderr(&output));
}

/// Many roles attach a few customer managed policies defined in another file, some before that
/// file (set aside, judged at the end against the whole policy store) and some after it (judged
/// on arrival, reading the policies back from the store): the same attachments give the same
/// verdicts either way, and a policy that does not parse or is missing fails closed.
#[test]
fn many_roles_attach_policies_from_another_file_before_and_after_it() {
    let dir = scratch("many-roles");
    let account = "111122223333";
    let policy_arn = |name: &str| format!("arn:aws:iam::{account}:policy/{name}");
    let decrypt_all = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Logs", "Effect": "Allow", "Action": "logs:*", "Resource": "*"},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]});
    let no_kms =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    let broken =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "kms:Decrypt", "Resource": "*"}]});
    let policies: Vec<Value> = [("Use", &decrypt_all), ("Storage", &no_kms), ("Broken", &broken)]
        .iter()
        .map(|(name, document)| {
            json!({"resourceType": "AWS::IAM::Policy", "resourceId": format!("ANPA{name}"), "awsAccountId": account,
                "ARN": policy_arn(name), "configurationItemStatus": "OK",
                "configuration": {"policyName": name, "defaultVersionId": "v1", "policyVersionList": [
                    {"versionId": "v1", "isDefaultVersion": true, "document": document}]}})
        })
        .collect();
    // Role n attaches one of these; every role may administer keys through its inline policy.
    let attachments = ["Use", "Storage", "Broken", "Missing"];
    let admin_all = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"}]});
    let roles = |prefix: &str| -> Value {
        let items: Vec<Value> = (0..200)
            .map(|n| {
                let name = format!("{prefix}{n}");
                json!({"resourceType": "AWS::IAM::Role", "resourceId": name, "awsAccountId": account,
                    "ARN": format!("arn:aws:iam::{account}:role/{name}"), "configurationItemStatus": "OK",
                    "configuration": {"roleName": name, "path": "/",
                        "rolePolicyList": [{"policyName": "admin", "policyDocument": admin_all}],
                        "attachedManagedPolicies": [
                            {"policyName": "attached", "policyArn": policy_arn(attachments[n % attachments.len()])},
                            {"policyName": "ReadOnlyAccess", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]}})
            })
            .collect();
        json!({"configurationItems": items})
    };
    std::fs::write(dir.join("a-roles.json"), roles("Early").to_string()).unwrap();
    std::fs::write(dir.join("b-policies.json"), json!({"configurationItems": policies}).to_string()).unwrap();
    std::fs::write(dir.join("c-roles.json"), roles("Late").to_string()).unwrap();

    let output =
        run(&["dry-run", "--format", "json", "--rule", "kms-admin-use-separation", dir.0.to_str().expect("path")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let evals = evaluations(&stdout_json(&output));
    assert_eq!(evals.len(), 400);
    // Judged on arrival first (late roles whose policy is known by then), then those set aside
    // (every early role, and late roles whose policy never comes), each in input order.
    let order: Vec<&str> = evals.iter().map(|e| e["ComplianceResourceId"].as_str().unwrap()).collect();
    let waits = |n: &usize| attachments[n % attachments.len()] == "Missing";
    let expected: Vec<String> = (0..200)
        .filter(|n| !waits(n))
        .map(|n| format!("Late{n}"))
        .chain((0..200).map(|n| format!("Early{n}")))
        .chain((0..200).filter(waits).map(|n| format!("Late{n}")))
        .collect();
    assert_eq!(order, expected);
    for e in &evals {
        let id = e["ComplianceResourceId"].as_str().unwrap();
        let n: usize = id.trim_start_matches(char::is_alphabetic).parse().unwrap();
        let annotation = e["Annotation"].as_str().unwrap_or_default();
        let expect = |compliance: &str, says: &str| {
            assert_eq!(e["ComplianceType"], compliance, "{id}: {e}");
            assert!(annotation.contains(says), "{id}: {annotation}");
        };
        match attachments[n % attachments.len()] {
            // Statement #1 keeps its index though #0 (no KMS action) was not stored.
            "Use" => {
                expect("NON_COMPLIANT", "policy/Use\" stmt #1: arn:aws:iam::111122223333:role/");
                let says = "may kms:Decrypt on all keys and also kms:PutKeyPolicy (policy \"admin\" stmt #0)";
                assert!(annotation.ends_with(says), "{id}: {annotation}");
            }
            "Storage" => expect("COMPLIANT", ""),
            "Broken" => expect("NON_COMPLIANT", "`arn:aws:iam::111122223333:policy/Broken` does not parse"),
            _ => expect("NON_COMPLIANT", "`arn:aws:iam::111122223333:policy/Missing` was not found"),
        }
        // Its twin in the other roles file: the same verdict, but for the role's name.
        let twin_id =
            if id.starts_with("Late") { id.replacen("Late", "Early", 1) } else { id.replacen("Early", "Late", 1) };
        let twin = evals.iter().find(|t| t["ComplianceResourceId"] == twin_id.as_str()).unwrap();
        let as_mine = |v: &Value| v.to_string().replace(&format!("role/{twin_id}"), &format!("role/{id}"));
        assert_eq!(as_mine(&twin["Annotation"]), e["Annotation"].to_string(), "{id} and its twin");
        assert_eq!(as_mine(&twin["Causes"]), e["Causes"].to_string(), "{id} and its twin");
    }
}
