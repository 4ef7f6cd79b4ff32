//! Benchmark workloads and the parse-only baseline.
//!
//! `workload generate --size-mb N [--gzip] [--seed S] OUT`: writes a synthetic Config snapshot
//! from the real documents of `../shared/corpus` (bundled): customer managed policies
//! (URL-encoded documents, as Config records them), roles with inline and attached policies,
//! users in groups, and KMS keys whose policies mix compliant and non-compliant statements.
//! Deterministic for a seed. (A GAAD form of the workload is still to come.)
//!
//! `workload parse FILE`: the parse-only pass the dry-run is compared with: serde_json over the
//! same bytes (inflating `.gz`), every item decoded to a JSON value, nothing evaluated.
#![allow(clippy::expect_used, clippy::indexing_slicing)] // a benchmark tool: a failed step is a failed run

use std::io::{BufWriter, Read, Write};

use serde_json::{json, Value};

/// A small deterministic generator (SplitMix64), so that workloads repeat for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ACCOUNT: &str = "111122223333";

fn corpus() -> Vec<(String, Value)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).expect("corpus");
    let gaad: Value = serde_json::from_str(&text).expect("corpus JSON");
    gaad.get("Policies")
        .and_then(Value::as_array)
        .expect("Policies")
        .iter()
        .filter_map(|p| {
            let name = p.get("PolicyName")?.as_str()?.to_owned();
            let doc = p
                .get("PolicyVersionList")?
                .as_array()?
                .iter()
                .find(|v| v.get("IsDefaultVersion") == Some(&json!(true)))?;
            Some((name, doc.get("Document")?.clone()))
        })
        .collect()
}

fn encode(document: &Value) -> String {
    let text = document.to_string();
    let mut out = String::with_capacity(text.len() * 2);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~*".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn key_policy(rng: &mut Rng, n: usize) -> Value {
    let root = json!({"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"});
    let admin = json!({"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/KeyAdmin{}", n % 50)},
        "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"], "Resource": "*"});
    let use_via = json!({"Sid": "UseViaS3", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/App{}", n % 500)},
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}}});
    let risky = [
        json!({"Sid": "Everything", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:role/Ops")}, "Action": "kms:*", "Resource": "*"}),
        json!({"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}),
        json!({"Sid": "Trail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"}),
    ];
    let mut statements = vec![root, admin, use_via];
    if rng.below(3) == 0 {
        statements.push(risky[rng.below(risky.len())].clone());
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn item(resource_type: &str, id: &str, arn: &str, name: &str, configuration: Value, supplementary: Value) -> Value {
    json!({"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-01T12:00:00.000Z", "configurationItemStatus": "OK",
        "configurationStateId": "1762000000000", "awsAccountId": ACCOUNT, "resourceType": resource_type, "resourceId": id,
        "resourceName": name, "ARN": arn, "awsRegion": if resource_type.starts_with("AWS::IAM") { "global" } else { "us-east-1" },
        "relatedEvents": [], "relationships": [], "tags": {}, "configuration": configuration, "supplementaryConfiguration": supplementary})
}

/// The `n`-th item of the workload (policies, roles, users, groups and keys in turn).
fn nth_item(rng: &mut Rng, corpus: &[(String, Value)], n: usize) -> Value {
    let (name, document) = &corpus[rng.below(corpus.len())];
    match n % 5 {
        0 | 1 => {
            let policy = format!("{name}-{n}");
            let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{policy}");
            item(
                "AWS::IAM::Policy",
                &format!("ANPA{n:016}"),
                &arn,
                &policy,
                json!({"policyName": policy, "policyId": format!("ANPA{n:016}"),
                "arn": arn, "path": "/", "defaultVersionId": "v1", "attachmentCount": 1, "permissionsBoundaryUsageCount": 0, "isAttachable": true,
                "policyVersionList": [{"document": encode(document), "versionId": "v1", "isDefaultVersion": true}]}),
                json!({}),
            )
        }
        2 => {
            let role = format!("Role{n}");
            let attached =
                format!("arn:aws:iam::{ACCOUNT}:policy/{}-{}", corpus[rng.below(corpus.len())].0, n.saturating_sub(2));
            let arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
            item(
                "AWS::IAM::Role",
                &format!("AROA{n:016}"),
                &arn,
                &role,
                json!({"roleName": role, "roleId": format!("AROA{n:016}"), "arn": arn, "path": "/",
                "assumeRolePolicyDocument": encode(&json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})),
                "rolePolicyList": [{"policyName": "inline", "policyDocument": encode(document)}],
                "attachedManagedPolicies": [{"policyName": "attached", "policyArn": attached}, {"policyName": "ReadOnlyAccess", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]}),
                json!({}),
            )
        }
        3 => {
            let group = format!("Group{}", n % 100);
            let user = format!("user{n}");
            let arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
            if n % 100 < 5 {
                let group_arn = format!("arn:aws:iam::{ACCOUNT}:group/{group}");
                return item(
                    "AWS::IAM::Group",
                    &format!("AGPA{n:016}"),
                    &group_arn,
                    &group,
                    json!({"groupName": group, "groupId": format!("AGPA{n:016}"),
                    "arn": group_arn, "path": "/", "groupPolicyList": [{"policyName": "inline", "policyDocument": encode(document)}], "attachedManagedPolicies": []}),
                    json!({}),
                );
            }
            item(
                "AWS::IAM::User",
                &format!("AIDA{n:016}"),
                &arn,
                &user,
                json!({"userName": user, "userId": format!("AIDA{n:016}"), "arn": arn, "path": "/",
                "groupList": [group], "userPolicyList": [], "attachedManagedPolicies": []}),
                json!({}),
            )
        }
        _ => {
            let id = format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", n, n % 65536, n % 4096, (n / 7) % 4096, n);
            let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}");
            item(
                "AWS::KMS::Key",
                &id,
                &arn,
                &id,
                json!({"keyId": id, "arn": arn, "keyManager": "CUSTOMER", "keyState": "Enabled",
                "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false}),
                json!({"Policy": key_policy(rng, n).to_string()}),
            )
        }
    }
}

fn generate(args: &[String]) {
    let mut size_mb = 10usize;
    let mut gzip = false;
    let mut seed = 7u64;
    let mut out = None;
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        match arg.as_str() {
            "--size-mb" => size_mb = args.get(i + 1).and_then(|v| v.parse().ok()).expect("--size-mb N"),
            "--seed" => seed = args.get(i + 1).and_then(|v| v.parse().ok()).expect("--seed S"),
            "--gzip" => gzip = true,
            other => out = Some(other.to_owned()),
        }
        i += if matches!(arg.as_str(), "--size-mb" | "--seed") { 2 } else { 1 };
    }
    let out = out.expect("an output path");
    let file = std::fs::File::create(&out).expect("create output");
    let mut writer: Box<dyn Write> = if gzip {
        Box::new(BufWriter::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast())))
    } else {
        Box::new(BufWriter::new(file))
    };
    let corpus = corpus();
    let mut rng = Rng(seed);
    let target = size_mb * 1024 * 1024;
    let mut written = 0usize;
    writer
        .write_all(b"{\"fileVersion\":\"1.0\",\"configSnapshotId\":\"workload\",\"configurationItems\":[")
        .expect("write");
    let mut n = 0usize;
    while written < target {
        let text = nth_item(&mut rng, &corpus, n).to_string();
        if n > 0 {
            writer.write_all(b",").expect("write");
        }
        writer.write_all(text.as_bytes()).expect("write");
        written += text.len() + 1;
        n += 1;
    }
    writer.write_all(b"]}").expect("write");
    writer.flush().expect("flush");
    drop(writer);
    eprintln!("{out}: {n} items, {written} bytes of JSON");
}

/// Parse-only: walk the same bytes with serde_json, decoding each item, evaluating nothing.
fn parse(path: &str) {
    let file = std::fs::File::open(path).expect("open");
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let gz = std::io::BufRead::fill_buf(&mut reader).expect("read").starts_with(&[0x1f, 0x8b]);
    let reader: Box<dyn Read> = if gz {
        Box::new(std::io::BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(reader)))
    } else {
        Box::new(reader)
    };
    let mut items = 0usize;
    let shape = shared::export::stream(reader, &mut |found| {
        if let shared::export::Found::Item { item, .. } = found {
            std::hint::black_box(&item);
            items += 1;
        }
    });
    eprintln!("{path}: {shape:?}, {items} items parsed");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate") => generate(args.get(1..).unwrap_or_default()),
        Some("parse") => parse(args.get(1).map(String::as_str).expect("a file")),
        _ => eprintln!("usage: workload generate --size-mb N [--gzip] [--seed S] OUT | workload parse FILE"),
    }
}
