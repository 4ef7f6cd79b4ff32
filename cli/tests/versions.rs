//! Several versions of one resource in the input (SPEC section 6, "Versions"): only the newest
//! is judged and only the newest version of a managed policy or group resolves attachments,
//! whatever the order of files and entries; `--all-versions` judges each. Each case is checked
//! against a reference: the same run over the newest versions alone, which must give the same
//! verdicts (and, where the order allows, the same bytes).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

/// A fresh directory for one test, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-versions-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// Writes `items` as a Config history file named `name` in `dir`.
fn file(dir: &Path, name: &str, items: &[Value]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, json!({"fileVersion": "1.0", "configurationItems": items}).to_string()).unwrap();
    path
}

fn dry_run(format: &str, extra: &[&str], paths: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kms-guardrails"))
        .args(["dry-run", "--format", format])
        .args(extra)
        .args(paths)
        .output()
        .unwrap()
}

/// `(rule, resource id, compliance, ordering timestamp)` of every evaluation, sorted.
fn verdicts(output: &Output) -> Vec<(String, String, String, String)> {
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut verdicts: Vec<_> = report["Evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |field: &str| e[field].as_str().unwrap().to_owned();
            (text("ConfigRuleName"), text("ComplianceResourceId"), text("ComplianceType"), text("OrderingTimestamp"))
        })
        .collect();
    verdicts.sort();
    verdicts
}

fn compliance(verdicts: &[(String, String, String, String)], rule: &str, id: &str) -> Vec<String> {
    verdicts.iter().filter(|v| v.0 == rule && v.1 == id).map(|v| v.2.clone()).collect()
}

/// A key whose policy grants `action` to role `Admin`, captured at `time`.
fn key(time: &str, state: u64, action: &str) -> Value {
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Root", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/Admin")}, "Action": action, "Resource": "*"}]});
    json!({"resourceType": "AWS::KMS::Key", "resourceId": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "awsAccountId": ACCOUNT, "awsRegion": "us-east-1", "configurationItemStatus": "OK",
        "configurationItemCaptureTime": time, "configurationStateId": state,
        "ARN": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        "configuration": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "keyManager": "CUSTOMER", "keyState": "Enabled"},
        "supplementaryConfiguration": {"Policy": policy.to_string()}})
}

/// Customer managed policy `Attached` allowing `action` on every key, captured at `time`.
fn policy(time: &str, action: &str) -> Value {
    let document = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Kms", "Effect": "Allow", "Action": action, "Resource": "*"}]});
    json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPAATTACHED", "awsAccountId": ACCOUNT,
        "awsRegion": "global", "configurationItemStatus": "OK", "configurationItemCaptureTime": time,
        "ARN": format!("arn:aws:iam::{ACCOUNT}:policy/Attached"),
        "configuration": {"policyName": "Attached", "defaultVersionId": "v1", "attachmentCount": 1,
            "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": document.to_string()}]}})
}

/// Role `App`, attaching `Attached`, captured at `time`.
fn role(time: &str) -> Value {
    json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROAAPP", "awsAccountId": ACCOUNT,
        "awsRegion": "global", "configurationItemStatus": "OK", "configurationItemCaptureTime": time,
        "ARN": format!("arn:aws:iam::{ACCOUNT}:role/App"),
        "configuration": {"roleName": "App", "path": "/", "rolePolicyList": [],
            "attachedManagedPolicies": [{"policyName": "Attached", "policyArn": format!("arn:aws:iam::{ACCOUNT}:policy/Attached")}]}})
}

const DAY1: &str = "2026-01-01T00:00:00.000Z";
const DAY2: &str = "2026-01-02T00:00:00.000Z";
const DAY3: &str = "2026-01-03T00:00:00.000Z";

/// A history of three versions of a key, the oldest and the newest fixed, the middle one not:
/// in every order, only the newest is judged, and the report is byte for byte the report of
/// the newest alone (in JSON, the table and SARIF).
#[test]
fn a_history_is_judged_by_its_newest_version_in_every_order() {
    let dir = scratch("history");
    let versions = [key(DAY1, 1, "kms:Decrypt"), key(DAY2, 2, "kms:*"), key(DAY3, 3, "kms:Decrypt")];
    let newest = file(&dir.0, "newest.json", &versions[2..]);
    for format in ["json", "table", "sarif"] {
        let reference = dry_run(format, &[], std::slice::from_ref(&newest));
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [2, 0, 1], [0, 2, 1], [1, 0, 2]] {
            let items: Vec<Value> = order.iter().map(|&i| versions[i].clone()).collect();
            let history = file(&dir.0, "history.json", &items);
            let output = dry_run(format, &[], &[history]);
            assert_eq!(output.status.code(), reference.status.code(), "{format} {order:?}");
            if format == "table" {
                // The table ends with the summary line, which counts the superseded versions.
                let text = String::from_utf8(output.stdout).unwrap();
                let (report, summary) = text.trim_end().rsplit_once('\n').unwrap();
                let reference = String::from_utf8(reference.stdout.clone()).unwrap();
                assert_eq!(report, reference.trim_end().rsplit_once('\n').unwrap().0, "{order:?}");
                assert_eq!(summary, "read 3 items: 1 judged, 2 superseded versions, 0 input errors");
            } else {
                assert_eq!(output.stdout, reference.stdout, "{format} {order:?}");
            }
        }
    }
    // The newest is fixed: kms-no-wildcard-admin finds nothing. Judged version by version, the
    // middle one was a finding.
    let newest = verdicts(&dry_run("json", &[], &[newest]));
    assert_eq!(compliance(&newest, "kms-no-wildcard-admin", "1234abcd-12ab-34cd-56ef-1234567890ab"), ["COMPLIANT"]);
    let middle = verdicts(&dry_run("json", &[], &[file(&dir.0, "middle.json", &versions[1..2])]));
    assert_eq!(compliance(&middle, "kms-no-wildcard-admin", "1234abcd-12ab-34cd-56ef-1234567890ab"), ["NON_COMPLIANT"]);
}

/// `--all-versions` judges each version, each with its own OrderingTimestamp.
#[test]
fn all_versions_judges_each_with_its_own_timestamp() {
    let dir = scratch("all");
    let history = file(
        &dir.0,
        "history.json",
        &[key(DAY3, 3, "kms:Decrypt"), key(DAY1, 1, "kms:Decrypt"), key(DAY2, 2, "kms:*")],
    );
    let output = dry_run("json", &["--all-versions"], &[history]);
    let verdicts = verdicts(&output);
    let mut no_wildcard: Vec<(&str, &str)> =
        verdicts.iter().filter(|v| v.0 == "kms-no-wildcard-admin").map(|v| (v.3.as_str(), v.2.as_str())).collect();
    no_wildcard.sort();
    assert_eq!(no_wildcard, [(DAY1, "COMPLIANT"), (DAY2, "NON_COMPLIANT"), (DAY3, "COMPLIANT")]);
}

/// A role whose attached policy changed between two snapshot files is judged against the
/// policy's newest version, whichever file comes first and wherever the role stands in it: the
/// verdicts are those of the newest snapshot alone.
#[test]
fn a_role_is_judged_against_the_newest_version_of_its_policy() {
    let dir = scratch("attachment");
    // Day 1: the policy allowed kms:*; day 2 it allows kms:Decrypt only. The role is in both.
    let day1 = [policy(DAY1, "kms:*"), role(DAY1)];
    let day2 = [role(DAY2), policy(DAY2, "kms:Decrypt")];
    let reference = verdicts(&dry_run("json", &[], &[file(&dir.0, "reference.json", &day2)]));
    assert_eq!(compliance(&reference, "kms-no-wildcard-admin", "AROAAPP"), ["COMPLIANT"]);
    let cases: [(&str, Vec<Value>, Vec<Value>); 4] = [
        ("day1 then day2", day1.to_vec(), day2.to_vec()),
        ("day2 then day1", day2.to_vec(), day1.to_vec()),
        // The role of day 2 comes before any policy: it waits for the end of the input.
        ("role first", vec![role(DAY2)], vec![policy(DAY1, "kms:*"), policy(DAY2, "kms:Decrypt"), role(DAY1)]),
        // The role is judged with day 1's policy as it comes, then day 2's policy comes: it is
        // judged again.
        ("policy changes late", vec![policy(DAY1, "kms:*"), role(DAY2)], vec![role(DAY1), policy(DAY2, "kms:Decrypt")]),
    ];
    for (case, first, second) in cases {
        let paths = [file(&dir.0, "a.json", &first), file(&dir.0, "b.json", &second)];
        let output = dry_run("json", &[], &paths);
        assert_eq!(verdicts(&output), reference, "{case}");
        for format in ["table", "sarif"] {
            let output = dry_run(format, &[], &paths);
            let reference = dry_run(format, &[], &[file(&dir.0, "reference.json", &day2)]);
            assert_eq!(output.status.code(), reference.status.code(), "{case} {format}");
        }
    }
}

/// A group's newest version decides what its users may do: a user judged before the group
/// changed is judged again.
#[test]
fn a_user_is_judged_against_the_newest_version_of_its_group() {
    let dir = scratch("group");
    let group = |time: &str, action: &str| {
        let document =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]});
        json!({"resourceType": "AWS::IAM::Group", "resourceId": "AGPAOPS", "awsAccountId": ACCOUNT, "awsRegion": "global",
            "configurationItemStatus": "OK", "configurationItemCaptureTime": time,
            "ARN": format!("arn:aws:iam::{ACCOUNT}:group/Ops"),
            "configuration": {"groupName": "Ops", "path": "/", "attachedManagedPolicies": [],
                "groupPolicyList": [{"policyName": "inline", "policyDocument": document.to_string()}]}})
    };
    let user = json!({"resourceType": "AWS::IAM::User", "resourceId": "AIDAALICE", "awsAccountId": ACCOUNT, "awsRegion": "global",
        "configurationItemStatus": "OK", "configurationItemCaptureTime": DAY1,
        "ARN": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        "configuration": {"userName": "alice", "path": "/", "groupList": ["Ops"], "userPolicyList": [], "attachedManagedPolicies": []}});
    let stale = file(&dir.0, "stale.json", &[group(DAY1, "kms:*"), user.clone(), group(DAY2, "kms:Decrypt")]);
    let reference = file(&dir.0, "reference.json", &[group(DAY2, "kms:Decrypt"), user]);
    let (got, want) = (verdicts(&dry_run("json", &[], &[stale])), verdicts(&dry_run("json", &[], &[reference])));
    assert_eq!(compliance(&want, "kms-no-wildcard-admin", "AIDAALICE"), ["COMPLIANT"]);
    assert_eq!(got, want);
}

/// A policy whose newest version is a deleted item no longer resolves: a role attaching it
/// cannot be judged complete, as with a policy never read.
#[test]
fn a_deleted_newest_version_takes_a_policy_out() {
    let dir = scratch("deleted");
    let deleted = json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPAATTACHED", "awsAccountId": ACCOUNT,
        "awsRegion": "global", "configurationItemStatus": "ResourceDeleted", "configurationItemCaptureTime": DAY2,
        "ARN": format!("arn:aws:iam::{ACCOUNT}:policy/Attached"), "configuration": null});
    let with_deleted = file(&dir.0, "deleted.json", &[policy(DAY1, "kms:Decrypt"), role(DAY1), deleted]);
    let without_policy = file(&dir.0, "without.json", &[role(DAY1)]);
    let role_verdicts = |output: &Output| -> Vec<(String, String, String, String)> {
        verdicts(output).into_iter().filter(|v| v.1 == "AROAAPP").collect()
    };
    assert_eq!(
        role_verdicts(&dry_run("json", &[], &[with_deleted])),
        role_verdicts(&dry_run("json", &[], &[without_policy]))
    );
}

/// Summary counts on standard error for JSON: judged items, types no selected rule covers,
/// superseded versions.
#[test]
fn the_summary_counts_what_was_read() {
    let dir = scratch("summary");
    let instance = json!({"resourceType": "AWS::EC2::Instance", "resourceId": "i-0123", "awsAccountId": ACCOUNT,
        "awsRegion": "us-east-1", "configurationItemStatus": "OK", "configuration": {}});
    let path = file(
        &dir.0,
        "mixed.json",
        &[key(DAY1, 1, "kms:Decrypt"), key(DAY2, 2, "kms:Decrypt"), instance.clone(), instance],
    );
    let output = dry_run("json", &[], &[path]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("read 4 items: 1 judged, 1 of types no selected rule covers (AWS::EC2::Instance 1), 2 superseded versions, 0 input errors"),
        "{stderr}"
    );
}

/// The generator's versioned workload (every resource in three versions, shuffled, older
/// policies and keys different) gives the verdicts of its newest versions alone, picked here
/// by a plain reference: the greatest capture time per resource. Annotations included.
#[test]
fn a_shuffled_versioned_workload_is_judged_as_its_newest_versions_alone() {
    let dir = scratch("workload");
    let path = dir.0.join("versions.json");
    let argv = ["cargo xtask", "workload", "generate", "--size-mb", "1", "--versions", "3"];
    let argv = argv.iter().map(std::ffi::OsString::from).chain([path.clone().into_os_string()]);
    let cli = <xtask::Cli as clap::Parser>::try_parse_from(argv).unwrap();
    xtask::run(&cli).unwrap();
    let document: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut newest: std::collections::BTreeMap<String, Value> = std::collections::BTreeMap::new();
    for item in document["configurationItems"].as_array().unwrap() {
        let key =
            ["awsAccountId", "awsRegion", "resourceType", "resourceId"].map(|f| item[f].as_str().unwrap()).join("|");
        let time = |item: &Value| item["configurationItemCaptureTime"].as_str().unwrap().to_owned();
        if newest.get(&key).is_none_or(|kept| time(item) > time(kept)) {
            newest.insert(key, item.clone());
        }
    }
    let items: Vec<Value> = newest.into_values().collect();
    assert!(items.len() * 3 == document["configurationItems"].as_array().unwrap().len());
    let reference = file(&dir.0, "newest.json", &items);
    let annotated = |output: &Output| -> Vec<(String, String, String)> {
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        let mut all: Vec<_> = report["Evaluations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let text = |f: &str| e[f].as_str().unwrap_or("").to_owned();
                (text("ComplianceResourceId"), text("ConfigRuleName"), text("Annotation"))
            })
            .collect();
        all.sort();
        all
    };
    let got = annotated(&dry_run("json", &[], std::slice::from_ref(&path)));
    let want = annotated(&dry_run("json", &[], &[reference]));
    assert!(want.len() > 100, "{}", want.len());
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(&want) {
        assert_eq!(got, want);
    }
    // Judged version by version, the verdicts differ: the workload does tell versions apart.
    let every = annotated(&dry_run("json", &["--all-versions"], &[path]));
    assert!(every.len() > want.len());
}

/// A deleted group's item without an ARN cannot say which group it deletes: an input error
/// naming it, not a group that goes on granting.
#[test]
fn a_deleted_group_without_an_arn_is_an_input_error() {
    let dir = scratch("deleted-group");
    let deleted = json!({"resourceType": "AWS::IAM::Group", "resourceId": "AGPAOPS", "awsAccountId": ACCOUNT,
        "awsRegion": "global", "configurationItemStatus": "ResourceDeleted", "configurationItemCaptureTime": DAY2,
        "configuration": null});
    let path = file(&dir.0, "deleted.json", &[deleted]);
    let output = dry_run("json", &[], std::slice::from_ref(&path));
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}: AWS::IAM::Group/AGPAOPS: a deleted group's item has no `ARN`", path.display())),
        "{stderr}"
    );
}

/// Writes `bytes` gzipped as `name` in `dir`.
fn gzipped(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, encoder.finish().unwrap()).unwrap();
    path
}

/// A user or role judged again is read where it stands in a plain file (the places the first
/// read kept), and by splitting the whole input again in a gzip file (whose places are in the
/// inflated text): the reports are the same bytes. Cases: a role whose policy changes after it
/// in the next file, and the generator's shuffled workload of three versions a resource.
#[test]
fn judged_again_from_its_place_or_from_a_second_read_alike() {
    let dir = scratch("places");
    let first = file(&dir.0, "a.json", &[policy(DAY1, "kms:*"), role(DAY2)]);
    let second = file(&dir.0, "b.json", &[role(DAY1), policy(DAY2, "kms:Decrypt")]);
    let generated = dir.0.join("versions.json");
    let argv = ["cargo xtask", "workload", "generate", "--size-mb", "2", "--versions", "3"];
    let argv = argv.iter().map(std::ffi::OsString::from).chain([generated.clone().into_os_string()]);
    xtask::run(&<xtask::Cli as clap::Parser>::try_parse_from(argv).unwrap()).unwrap();
    let gzip = |path: &Path| {
        gzipped(&dir.0, &format!("{}.gz", path.file_name().unwrap().to_str().unwrap()), &std::fs::read(path).unwrap())
    };
    let cases = [vec![first.clone(), second.clone()], vec![generated.clone()]];
    for plain in cases {
        let packed: Vec<PathBuf> = plain.iter().map(|path| gzip(path)).collect();
        let (from_places, from_reading) = (dry_run("json", &[], &plain), dry_run("json", &[], &packed));
        assert!(matches!(from_places.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&from_places.stderr));
        assert_eq!(from_places.status.code(), from_reading.status.code(), "{plain:?}");
        assert!(from_places.stdout == from_reading.stdout, "{plain:?}: the reports differ");
    }
    // The role was judged again, with day 2's policy.
    let verdicts = verdicts(&dry_run("json", &[], &[first, second]));
    assert_eq!(compliance(&verdicts, "kms-no-wildcard-admin", "AROAAPP"), ["COMPLIANT"]);
}
