//! `--exceptions FILE` and `exceptions check FILE` end to end, on the embedded sample: every
//! report format, the exit statuses, and files that are malformed or unreadable. Today's date
//! is pinned with `--today`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

const TODAY: &str = "2026-12-01";

/// On the sample: key 2 wholly excepted (its one cause names AppRole); key 7's readiness
/// verdict partly (one of three causes names config.amazonaws.com); carol's exception has
/// expired; policy 4's expires within 30 days (and covers until then).
const EXCEPTIONS: &str = "\
exceptions:
  - rule: kms-key-policy-via-service-required
    resource: arn:aws:kms:*:111122223333:key/00000002-*
    principal: arn:aws:iam::111122223333:role/AppRole
    reason: AppRole decrypts through a VPC endpoint policy, reviewed 2026-10
    expires: 2027-03-31
    owner: security@example.com
  - rule: kms-key-service-readiness
    resource: 00000007-aaaa-4bbb-8ccc-000000000007
    principal: config.amazonaws.com
    reason: Config delivery without a source condition until the channel moves
    expires: 2027-01-31
  - rule: '*'
    resource: AIDASAMPLE0000000003
    reason: carol leaves the team
    expires: 2026-11-15
  - rule: iam-customer-policy-blocked-kms-actions
    resource: ANPASAMPLE0000000004
    reason: legacy policy, deleted with the old pipeline
    expires: 2026-12-20
";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kms-guardrails")).args(args).output().expect("the binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A file of its own for one test, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl TempFile {
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

fn file(name: &str, text: &str) -> TempFile {
    let path = std::env::temp_dir().join(format!("kms-guardrails-exceptions-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    TempFile(path)
}

fn dry_run(exceptions: &TempFile, format: &str) -> Output {
    run(&["dry-run", "--format", format, "--exceptions", exceptions.path(), "--today", TODAY])
}

fn find<'a>(evaluations: &'a [Value], rule: &str, id: &str) -> &'a Value {
    evaluations
        .iter()
        .find(|e| e["ConfigRuleName"] == rule && e["ComplianceResourceId"] == id)
        .unwrap_or_else(|| panic!("{rule} {id}"))
}

#[test]
fn json_shows_the_exception_of_every_cause_it_matched() {
    let exceptions = file("json.yaml", EXCEPTIONS);
    let output = dry_run(&exceptions, "json");
    assert_eq!(output.status.code(), Some(1), "still something NON_COMPLIANT: {}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let evaluations = report["Evaluations"].as_array().unwrap();

    let key2 = find(evaluations, "kms-key-policy-via-service-required", "00000002-aaaa-4bbb-8ccc-000000000002");
    assert_eq!(key2["ComplianceType"], "NOT_APPLICABLE");
    assert_eq!(
        key2["Annotation"],
        "excepted until 2027-03-31: AppRole decrypts through a VPC endpoint policy, reviewed 2026-10"
    );
    assert_eq!(
        key2["Causes"][0]["exception"],
        serde_json::json!({"index": 0, "rule": "kms-key-policy-via-service-required",
            "resource": "arn:aws:kms:*:111122223333:key/00000002-*", "principal": "arn:aws:iam::111122223333:role/AppRole",
            "reason": "AppRole decrypts through a VPC endpoint policy, reviewed 2026-10", "expires": "2027-03-31",
            "owner": "security@example.com", "expired": false})
    );
    // The other rules' verdicts on key 2 are untouched (the exception names one rule).
    let others = evaluations.iter().filter(|e| {
        e["ComplianceResourceId"] == "00000002-aaaa-4bbb-8ccc-000000000002"
            && e["ConfigRuleName"] != "kms-key-policy-via-service-required"
    });
    assert!(others.clone().count() > 0 && others.clone().all(|e| e["Causes"].to_string().find("exception").is_none()));

    let key7 = find(evaluations, "kms-key-service-readiness", "00000007-aaaa-4bbb-8ccc-000000000007");
    assert_eq!(key7["ComplianceType"], "NON_COMPLIANT", "partly covered");
    let causes = key7["Causes"].as_array().unwrap();
    assert_eq!(causes.len(), 3);
    assert!(causes[..2].iter().all(|c| c.get("exception").is_none()), "uncovered first: {causes:#?}");
    assert_eq!(causes[2]["exception"]["index"], 1);
    assert!(key7["Annotation"].as_str().unwrap().ends_with("; 1 excepted"), "{}", key7["Annotation"]);

    let carol: Vec<&Value> =
        evaluations.iter().filter(|e| e["ComplianceResourceId"] == "AIDASAMPLE0000000003").collect();
    assert!(!carol.is_empty());
    for e in carol {
        assert_eq!(e["ComplianceType"], "NON_COMPLIANT", "an expired exception covers nothing");
        assert!(e["Annotation"].as_str().unwrap().contains("(exception expired on 2026-11-15)"), "{}", e["Annotation"]);
        assert!(e["Causes"].as_array().unwrap().iter().all(|c| c["exception"]["expired"] == true));
    }

    let policy4 = find(evaluations, "iam-customer-policy-blocked-kms-actions", "ANPASAMPLE0000000004");
    assert_eq!(policy4["ComplianceType"], "NOT_APPLICABLE");
    assert!(
        stderr(&output)
            .contains("exceptions: 2 verdict(s) excepted; 1 expired, 1 expire within 30 days (as of 2026-12-01)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_table_counts_excepted_verdicts_apart_and_lists_what_expires() {
    let exceptions = file("table.yaml", EXCEPTIONS);
    let output = dry_run(&exceptions, "table");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let table = stdout(&output);
    let plain = stdout(&run(&["dry-run", "--format", "table"]));
    // Without the exceptions: `2 non-compliant, 0 not applicable` for the via-service rule's
    // keys 2 and 3 among others; with them, key 2 counts as excepted.
    let line = |text: &str, rule: &str| {
        let at = text.find(&format!("{rule}\n")).unwrap();
        text[at..].lines().nth(1).unwrap().to_owned()
    };
    let before = line(&plain, "kms-key-policy-via-service-required");
    let after = line(&table, "kms-key-policy-via-service-required");
    let n = |text: &str, what: &str| -> usize {
        text.split(", ").find(|p| p.trim().ends_with(what)).unwrap().trim().split(' ').next().unwrap().parse().unwrap()
    };
    assert_eq!(n(&after, "non-compliant"), n(&before, "non-compliant") - 1, "{before}\n{after}");
    assert_eq!(n(&after, "not applicable"), n(&before, "not applicable"), "excepted is not lumped in: {after}");
    assert_eq!(n(&after, "excepted"), 1, "{after}");
    assert!(!plain.contains("excepted"), "no exceptions file, no excepted column");
    assert!(
        table.contains(
            "  ~ AWS::KMS::Key 00000002-aaaa-4bbb-8ccc-000000000002\n      excepted until 2027-03-31: AppRole"
        ),
        "{table}"
    );
    assert!(table.contains(", 2 excepted\n"), "the totals: {table}");
    assert!(
        table.contains("exceptions expired (as of 2026-12-01; they cover nothing):\n  exceptions[2] * AIDASAMPLE0000000003 expired on 2026-11-15: carol leaves the team\n"),
        "{table}"
    );
    assert!(
        table.contains("exceptions expiring within 30 days (as of 2026-12-01):\n  exceptions[3] iam-customer-policy-blocked-kms-actions ANPASAMPLE0000000004 until 2026-12-20: legacy policy, deleted with the old pipeline\n"),
        "{table}"
    );
}

#[test]
fn sarif_puts_covered_results_under_suppressions() {
    let exceptions = file("sarif.yaml", EXCEPTIONS);
    let output = dry_run(&exceptions, "sarif");
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let log: Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<&Value> = results.iter().filter(|r| r.get("suppressions").is_some()).collect();
    assert_eq!(suppressed.len(), 2, "key 2 and policy 4");
    let key2 = suppressed
        .iter()
        .find(|r| r["locations"][0]["logicalLocations"][0]["name"] == "00000002-aaaa-4bbb-8ccc-000000000002")
        .unwrap();
    assert_eq!(key2["ruleId"], "kms-key-policy-via-service-required");
    let [suppression] = key2["suppressions"].as_array().unwrap().as_slice() else { panic!("one suppression") };
    assert_eq!(suppression["kind"], "external");
    assert_eq!(suppression["status"], "accepted");
    assert_eq!(suppression["justification"], "AppRole decrypts through a VPC endpoint policy, reviewed 2026-10");
    assert_eq!(suppression["properties"]["exception"]["expires"], "2027-03-31");
    // The partly covered and the expired stay unsuppressed results.
    let key7 = results
        .iter()
        .find(|r| {
            r["ruleId"] == "kms-key-service-readiness"
                && r["locations"][0]["logicalLocations"][0]["name"] == "00000007-aaaa-4bbb-8ccc-000000000007"
        })
        .unwrap();
    assert!(key7.get("suppressions").is_none());
    let plain: Value = serde_json::from_slice(&run(&["dry-run", "--format", "sarif"]).stdout).unwrap();
    let plain = plain["runs"][0]["results"].as_array().unwrap().len();
    assert_eq!(plain, results.len(), "the same results, two of them suppressed");
}

#[test]
fn json_files_work_as_yaml_does() {
    let json = r#"{"exceptions": [{"rule": "*", "resource": "111122223333", "reason": "sandbox account", "expires": "2027-01-01"}]}"#;
    let exceptions = file("all.json", json);
    let output = dry_run(&exceptions, "json");
    assert_eq!(output.status.code(), Some(0), "every finding is in that account: {}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let evaluations = report["Evaluations"].as_array().unwrap();
    assert!(evaluations.iter().all(|e| e["ComplianceType"] != "NON_COMPLIANT"));
    // Other accounts' items of the sample, if any, are untouched; those excepted say until when.
    let excepted =
        evaluations.iter().filter(|e| e["Annotation"] == "excepted until 2027-01-01: sandbox account").count();
    assert!(excepted > 20, "{excepted}");
}

#[test]
fn a_malformed_or_unreadable_file_is_a_usage_error_and_no_report() {
    let bad = file("bad.yaml", "exceptions:\n  - rule: kms-no-wildcard-admn\n    resource: '111122223333'\n    reasn: typo\n    expires: 2027-01-01\n");
    let output = dry_run(&bad, "json");
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty(), "no report");
    assert_eq!(
        stderr(&output),
        format!(
            "error: exceptions file {}: exceptions[0] (rule `kms-no-wildcard-admn`, resource `111122223333`): `reasn` is not a field of an exception (fields: rule, resource, principal, reason, expires, owner)\n",
            bad.path()
        )
    );
    let unknown_rule = file(
        "rule.yaml",
        "exceptions:\n  - {rule: kms-no-wildcard-admn, resource: '111122223333', reason: r, expires: 2027-01-01}\n",
    );
    let output = dry_run(&unknown_rule, "json");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`rule` `kms-no-wildcard-admn` is not a rule (rules: "), "{}", stderr(&output));

    let output = run(&["dry-run", "--format", "json", "--exceptions", "/nonexistent/exceptions.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(
        stderr(&output).starts_with("error: exceptions file /nonexistent/exceptions.yaml: "),
        "{}",
        stderr(&output)
    );

    // The Lambda parameter is refused offline, pointing at --exceptions.
    let output = run(&["dry-run", "--param", "kms-no-wildcard-admin.exceptionsUri=s3://bucket/exceptions.yaml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("pass --exceptions FILE"), "{}", stderr(&output));
    let output = run(&["dry-run", "--today", "2026-12-01"]);
    assert_eq!(output.status.code(), Some(2), "--today without --exceptions: {}", stderr(&output));
}

#[test]
fn exceptions_check_validates_and_lists_what_has_expired() {
    let exceptions = file("check.yaml", EXCEPTIONS);
    let output = run(&["exceptions", "check", "--today", TODAY, exceptions.path()]);
    assert_eq!(output.status.code(), Some(1), "one has expired: {}", stderr(&output));
    assert_eq!(
        stdout(&output),
        format!(
            "{}: 4 exception(s), valid; 1 expired, 1 expire within 30 days (as of 2026-12-01)
expired (they cover nothing):
  exceptions[2] * AIDASAMPLE0000000003 expired on 2026-11-15: carol leaves the team
expiring soon:
  exceptions[3] iam-customer-policy-blocked-kms-actions ANPASAMPLE0000000004 until 2026-12-20: legacy policy, deleted with the old pipeline
",
            exceptions.path()
        )
    );
    let output = run(&["exceptions", "check", "--today", "2026-10-01", exceptions.path()]);
    assert_eq!(output.status.code(), Some(0), "nothing expired on 2026-10-01: {}", stdout(&output));
    assert!(
        stdout(&output).contains(": 4 exception(s), valid; 0 expired, 0 expire within 30 days"),
        "{}",
        stdout(&output)
    );

    let bad = file(
        "check-bad.yaml",
        "exceptions:\n  - {rule: '*', resource: '111122223333', reason: r, expires: 2027-02-30}\n",
    );
    let output = run(&["exceptions", "check", bad.path()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).ends_with(
            "exceptions[0] (rule `*`, resource `111122223333`): `expires` `2027-02-30` is not a date as YYYY-MM-DD\n"
        ),
        "{}",
        stderr(&output)
    );
    let output = run(&["exceptions", "check", "/nonexistent/exceptions.yaml"]);
    assert_eq!(output.status.code(), Some(2));
}
