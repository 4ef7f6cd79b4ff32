//! The benchmark workloads (`cargo xtask workload generate`, run here through the same argument
//! parser and code): the GAAD form gives the same bytes for the same seed, the export reader
//! reads every entry, and the dry-run judges its KMS policies as their names say; the snapshot
//! form's attachments resolve unless `--missing-attachments` asks them not to.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Parser;
use serde_json::Value;
use shared::export::{stream, ExportShape, Found};

/// `cargo xtask workload generate --size-mb 1 ARGS... OUT`, through xtask's own parser.
fn workload(args: &[&str], out: &Path) {
    let mut argv: Vec<OsString> =
        ["cargo xtask", "workload", "generate", "--size-mb", "1"].iter().chain(args).map(OsString::from).collect();
    argv.push(out.into());
    let cli = xtask::Cli::try_parse_from(argv).expect("the arguments parse");
    xtask::run(&cli).expect("the workload is written");
}

/// The JSON report of `kms-guardrails dry-run --rule RULE FILE`, which must exit 1 (findings).
fn dry_run_report(rule: &str, file: &Path) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_kms-guardrails"))
        .args(["dry-run", "--format", "json", "--rule", rule])
        .arg(file)
        .output()
        .expect("dry-run runs");
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON report")
}

fn generate(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    workload(&[&["--form", "gaad"], args].concat(), &out);
    out
}

/// Items by resource type, AWS managed policies, and errors, as the export reader sees them.
fn read(path: &Path) -> (BTreeMap<String, usize>, usize, Vec<String>) {
    let file = std::fs::File::open(path).expect("open");
    let (mut items, mut aws_managed, mut errors) = (BTreeMap::new(), 0, Vec::new());
    let shape = stream(std::io::BufReader::new(file), &mut |found| match found {
        Found::Item { at, item } => match shared::Resource::from_json(&item) {
            Ok(resource) => *items.entry(resource.type_name().to_string()).or_default() += 1,
            Err(e) => errors.push(format!("{at}: {e}")),
        },
        Found::AwsManagedPolicy { .. } => aws_managed += 1,
        Found::Error(e) => errors.push(e.to_string()),
    });
    assert_eq!(shape.expect("a GAAD document").shape, ExportShape::AuthorizationDetails);
    (items, aws_managed, errors)
}

#[test]
fn gaad_workload_is_deterministic_and_read_by_the_export_reader() {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-workload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let first = generate(&dir, "a.json", &[]);
    let again = generate(&dir, "b.json", &[]);
    let other_seed = generate(&dir, "c.json", &["--seed", "8"]);
    let encoded = generate(&dir, "d.json", &["--url-encoded"]);
    let bytes = std::fs::read(&first).expect("read");
    assert!(bytes.len() > 1 << 20, "at least the size asked for");
    assert!(bytes == std::fs::read(&again).expect("read"), "same seed, same bytes");
    assert!(bytes != std::fs::read(&other_seed).expect("read"), "another seed, other bytes");

    // Documents as the AWS CLI prints them (JSON), and URL-encoded as the IAM API returns them
    // (longer, so fewer entries fit in the size).
    for path in [&first, &encoded] {
        let (items, aws_managed, errors) = read(path);
        assert_eq!(errors, Vec::<String>::new());
        for resource_type in ["AWS::IAM::Policy", "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"] {
            assert!(items.get(resource_type).copied().unwrap_or_default() > 0, "{resource_type}: {items:?}");
        }
        assert!(aws_managed > 0, "attached AWS managed policies are in `Policies`");
    }

    // The dry-run: the KMS policies are judged as their names say.
    let report = dry_run_report("iam-customer-policy-blocked-kms-actions", &first);
    let gaad: Value = serde_json::from_slice(&bytes).expect("JSON");
    let names: BTreeMap<&str, &str> = gaad["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .map(|p| (p["PolicyId"].as_str().expect("PolicyId"), p["PolicyName"].as_str().expect("PolicyName")))
        .collect();
    let mut seen = BTreeMap::new();
    for evaluation in report["Evaluations"].as_array().expect("Evaluations") {
        let name = names[evaluation["ComplianceResourceId"].as_str().expect("id")];
        let Some(kind) = name.strip_prefix("Kms").and_then(|rest| rest.split('-').next()) else { continue };
        let expected = match kind {
            "DecryptAll" | "FullAccess" | "DecryptViaS3" | "ReEncrypt" => "NON_COMPLIANT",
            "DecryptOneKey" | "DecryptDenyOthers" | "EncryptOnly" => "COMPLIANT",
            other => panic!("unknown KMS policy kind {other}"),
        };
        assert_eq!(evaluation["ComplianceType"], expected, "{name}: {evaluation}");
        *seen.entry(kind.to_owned()).or_insert(0) += 1;
    }
    assert_eq!(seen.len(), 7, "every KMS policy kind: {seen:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The snapshot form: every role's attached policy and every user's group is written earlier in
/// the snapshot, so nothing fails closed as "not found"; `--missing-attachments` (the
/// cross-file worst case) makes every role and most users wait for the end and fail closed.
#[test]
fn config_workload_attachments_resolve_unless_asked_not_to() {
    let dir = std::env::temp_dir().join(format!("kms-guardrails-workload-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let not_found = |args: &[&str]| -> (usize, usize) {
        let out = dir.join("w.json");
        workload(args, &out);
        let report = dry_run_report("kms-admin-use-separation", &out);
        let evaluations = report["Evaluations"].as_array().expect("Evaluations");
        let identities: Vec<&Value> = evaluations
            .iter()
            .filter(|e| matches!(e["ComplianceResourceType"].as_str(), Some("AWS::IAM::Role" | "AWS::IAM::User")))
            .collect();
        let missing =
            identities.iter().filter(|e| e["Annotation"].as_str().unwrap_or_default().contains("not found")).count();
        (identities.len(), missing)
    };
    let (judged, missing) = not_found(&[]);
    assert!(judged > 100, "{judged} roles and users judged");
    assert_eq!(missing, 0, "attachments resolve");
    let (judged, missing) = not_found(&["--missing-attachments"]);
    assert!(missing * 10 >= judged * 9, "{missing} of {judged} fail closed as not found");
    let _ = std::fs::remove_dir_all(&dir);
}
