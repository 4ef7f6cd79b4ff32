//! The rules as Lambda functions: how long a cold start takes to reach the Runtime API, and
//! how long one Config event takes to handle once its AWS calls are done (BENCHMARKS.md).
//!
//! Run: `cargo build --release -p kms-no-wildcard-admin --bin kms-no-wildcard-admin
//! --no-default-features --features lambda` (the zip's build: the function alone), then
//! `cargo bench -p kms-guardrails --bench lambda`.
//!
//! - **Init**: spawns the release rule binary (`LAMBDA_BENCH_BINARY`, default
//!   `$CARGO_TARGET_DIR/release/kms-no-wildcard-admin`, `target/` when unset)
//!   `LAMBDA_BENCH_INIT_RUNS` times (default 50) with `AWS_LAMBDA_RUNTIME_API` pointing at a
//!   fake Runtime API served here on 127.0.0.1, and times spawn to its first
//!   `GET /2018-06-01/runtime/invocation/next`. The environment is Lambda's (region, function
//!   name, fake credentials, no profile files), so nothing reaches the network.
//! - **Per event** (criterion): a Config change notification decoded (`decode_event`), its item
//!   decoded, and judged with the log line written (`judge_fetched`), as the handler does after
//!   its AWS calls. For a rule that reads attached managed policies, the documents IAM would
//!   return (URL-encoded text) are parsed into the resolver inside the timed loop, as the handler
//!   does; only the calls themselves are left out. Items: customer managed policies (a typical
//!   and a large real document), a role with three inline policies and two attached, a KMS key.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::{json, Value};
use shared::event::Invocation;
use shared::policy::{parse_policy, PolicyKind};
use shared::runtime::{decode_event, judge_fetched};
use shared::{Details, MemoryResolver, Resource, Rule};

const ACCOUNT: &str = "111122223333";

fn main() {
    init();
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    per_event(&mut criterion);
    criterion.final_summary();
}

// ---------------------------------------------------------------------------------------------
// Init: spawn to the first `GET .../invocation/next`.

fn init() {
    let binary = std::env::var_os("LAMBDA_BENCH_BINARY").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join("release/kms-no-wildcard-admin")
    });
    if !binary.is_file() {
        eprintln!(
            "init: skipped: {} not found (cargo build --release -p kms-no-wildcard-admin --bin kms-no-wildcard-admin \
             --no-default-features --features lambda)",
            binary.display()
        );
        return;
    }
    let runs: usize = std::env::var("LAMBDA_BENCH_INIT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);

    // The fake Runtime API: reports when each `next` request arrives, then drops the
    // connection (the function is killed right after).
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let address = listener.local_addr().expect("local address");
    let (arrived, arrivals) = mpsc::channel::<(Instant, String)>();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = arrived.send((Instant::now(), line.trim_end().to_owned()));
        }
    });

    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let mut child = Command::new(&binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "kms-no-wildcard-admin")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/kms-no-wildcard-admin")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("_HANDLER", "bootstrap")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
            .env("AWS_SESSION_TOKEN", "bench")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the rule binary starts");
        let (at, line) = arrivals.recv_timeout(Duration::from_secs(10)).expect("a Runtime API request within 10 s");
        let _ = child.kill();
        let _ = child.wait();
        assert!(line.starts_with("GET /2018-06-01/runtime/invocation/next "), "first request: {line}");
        times.push(at.duration_since(start));
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95).div_ceil(100).saturating_sub(1)];
    println!(
        "init: {} to the first `next` request, {runs} runs: min {:.2} ms, median {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        binary.display(),
        ms(times[0]),
        ms(median),
        ms(p95),
        ms(times[times.len() - 1])
    );
}

// ---------------------------------------------------------------------------------------------
// Per event: decode and judge, AWS calls excluded.

fn corpus() -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The default version's document of the corpus policy `name`.
fn document(corpus: &Value, name: &str) -> Value {
    let policy = corpus["Policies"].as_array().unwrap().iter().find(|p| p["PolicyName"] == name).unwrap();
    let versions = policy["PolicyVersionList"].as_array().unwrap();
    versions.iter().find(|v| v["IsDefaultVersion"] == json!(true)).unwrap()["Document"].clone()
}

/// URL-encoding, as Config records identity policy documents and IAM returns them.
fn encode(document: &Value) -> String {
    document
        .to_string()
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn item(resource_type: &str, id: &str, arn: &str, configuration: Value, supplementary: Value) -> Value {
    json!({"configurationItemVersion": "1.3", "configurationItemCaptureTime": "2026-11-23T05:59:00.000Z",
        "configurationItemStatus": "OK", "configurationStateId": "1763877540000", "awsAccountId": ACCOUNT,
        "resourceType": resource_type, "resourceId": id, "resourceName": id, "ARN": arn,
        "awsRegion": if resource_type.starts_with("AWS::IAM") { "global" } else { "us-east-1" },
        "availabilityZone": "Not Applicable", "tags": {}, "relatedEvents": [], "relationships": [],
        "configuration": configuration, "supplementaryConfiguration": supplementary})
}

/// A Config change notification for `item`, as Config sends it to the rule's function.
fn change_event(rule: &str, item: &Value, parameters: Option<&str>) -> Value {
    shared::test_kit::items::change_event(rule, item, parameters)
}

fn policy_item(corpus: &Value, name: &str) -> Value {
    let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
    item(
        "AWS::IAM::Policy",
        "ANPA00000000000000001",
        &arn,
        json!({"policyName": name, "policyId": "ANPA00000000000000001", "arn": arn, "path": "/", "defaultVersionId": "v1",
            "attachmentCount": 1, "permissionsBoundaryUsageCount": 0, "isAttachable": true,
            "policyVersionList": [{"document": encode(&document(corpus, name)), "versionId": "v1", "isDefaultVersion": true}]}),
        json!({}),
    )
}

/// A role with three inline policies and two attached (one customer managed, one AWS managed).
fn role_item(corpus: &Value) -> Value {
    let arn = format!("arn:aws:iam::{ACCOUNT}:role/DataPipeline");
    let inline: Vec<Value> = ["AmazonDynamoDBFullAccess", "ViewOnlyAccess", "AWSKeyManagementServicePowerUser"]
        .iter()
        .map(|name| json!({"policyName": name, "policyDocument": encode(&document(corpus, name))}))
        .collect();
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    item(
        "AWS::IAM::Role",
        "AROA00000000000000001",
        &arn,
        json!({"roleName": "DataPipeline", "roleId": "AROA00000000000000001", "arn": arn, "path": "/",
            "assumeRolePolicyDocument": encode(&trust), "rolePolicyList": inline,
            "attachedManagedPolicies": [
                {"policyName": "PipelineKeys", "policyArn": format!("arn:aws:iam::{ACCOUNT}:policy/PipelineKeys")},
                {"policyName": "ReadOnlyAccess", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}],
            "instanceProfileList": [], "permissionsBoundary": null, "tags": []}),
        json!({}),
    )
}

/// What IAM returns for the role's attached policies (`GetPolicyVersion`'s URL-encoded text).
fn attached_texts(corpus: &Value) -> Vec<(String, String)> {
    let pipeline_keys = json!({"Version": "2012-10-17", "Statement": [{"Sid": "UseKeys", "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/*")}]});
    vec![
        (format!("arn:aws:iam::{ACCOUNT}:policy/PipelineKeys"), encode(&pipeline_keys)),
        ("arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned(), encode(&document(corpus, "ReadOnlyAccess"))),
    ]
}

/// A customer managed key whose policy has a root statement, administrators, use through a
/// service, a direct use grant, CloudTrail and Config grants (the shape of AWS's default and
/// documented key policies).
fn key_item() -> Value {
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}");
    let role = |name: &str| format!("arn:aws:iam::{ACCOUNT}:role/{name}");
    let policy = json!({"Version": "2012-10-17", "Id": "key-policy", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow", "Principal": {"AWS": [role("KeyAdmin"), role("SecurityAudit")]},
            "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*",
                "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
            "Resource": "*"},
        {"Sid": "Allow use of the key through S3", "Effect": "Allow", "Principal": {"AWS": role("AppRole")},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": ACCOUNT}}},
        {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": role("DataPipeline")},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": role("AppRole")},
            "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:GenerateDataKey*", "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceArn": format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail")},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{ACCOUNT}:trail/*")}}},
        {"Sid": "Allow Config to use the key", "Effect": "Allow", "Principal": {"Service": "config.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
    ]});
    item(
        "AWS::KMS::Key",
        id,
        &arn,
        json!({"keyId": id, "arn": arn, "awsAccountId": ACCOUNT, "keyManager": "CUSTOMER", "keyState": "Enabled",
            "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "origin": "AWS_KMS", "multiRegion": false,
            "enabled": true, "description": "pipeline data", "creationDate": "2026-01-01T00:00:00.000Z"}),
        json!({"Policy": policy.to_string(), "KeyRotationStatus": "true"}),
    )
}

fn rule(id: &str) -> &'static Rule {
    kms_guardrails::ALL.iter().copied().find(|r| r.id == id).unwrap()
}

/// One invocation's pure part: decode the event, decode the item, build the resolver from the
/// texts IAM returned for the role's attached policies (rules that read them), judge and log.
fn handle_pure(rule: &Rule, event: &Value, fetched: &[(String, String)]) -> shared::Evaluation {
    let (event, params) = decode_event(rule, event).unwrap();
    let Invocation::Change { item } = &event.invocation else { panic!("a change notification") };
    let resource = Resource::from_json(item).unwrap();
    let mut resolver = MemoryResolver::new();
    // As the handler's `resolve`: attached policies of a role, for rules that read them.
    if rule.periodic() && matches!(resource.details, Details::Role(_)) {
        for (arn, text) in fetched {
            resolver.add_policy(arn.clone(), parse_policy(&Value::String(text.clone()), PolicyKind::Identity));
        }
    }
    judge_fetched(rule, &params, &resource, &resolver)
}

/// An item and the rules (with their parameters) that judge it.
type Case<'a> = (&'a str, Value, Vec<(&'a str, Option<&'a str>)>);

fn per_event(c: &mut Criterion) {
    // The log line is formatted as in Lambda (JSON), into a sink instead of stdout.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::sink)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
    let corpus = corpus();
    let fetched = attached_texts(&corpus);
    let key = key_item();
    let key_id = key["resourceId"].as_str().unwrap().to_owned();
    let readiness = json!({"keyIds": key_id, "managementAccountId": ACCOUNT}).to_string();
    let cases: Vec<Case> = vec![
        (
            "policy AmazonDynamoDBFullAccess (2.4 KB)",
            policy_item(&corpus, "AmazonDynamoDBFullAccess"),
            vec![("iam-customer-policy-blocked-kms-actions", None), ("kms-no-wildcard-admin", None)],
        ),
        (
            "policy ReadOnlyAccess (83 KB)",
            policy_item(&corpus, "ReadOnlyAccess"),
            vec![("iam-customer-policy-blocked-kms-actions", None), ("kms-no-wildcard-admin", None)],
        ),
        (
            "role, 3 inline + 2 attached",
            role_item(&corpus),
            vec![
                ("iam-inline-policy-blocked-kms-actions", None),
                ("kms-no-wildcard-admin", None),
                ("kms-admin-use-separation", None),
            ],
        ),
        (
            "key, 7 statements",
            key,
            vec![
                ("kms-key-policy-via-service-required", None),
                ("kms-no-wildcard-admin", None),
                ("kms-admin-use-separation", None),
                ("kms-key-policy-service-principal-conditions", None),
                ("kms-key-policy-no-public-access", None),
                ("kms-key-service-readiness", Some(readiness.as_str())),
            ],
        ),
    ];
    let mut group = c.benchmark_group("event");
    for (name, item, rules) in &cases {
        for (id, parameters) in rules {
            let rule = rule(id);
            let event = change_event(rule.id, item, *parameters);
            let evaluation = handle_pure(rule, &event, &fetched);
            println!(
                "{name} / {id}: {} event bytes, {}",
                event["invokingEvent"].as_str().unwrap().len(),
                evaluation.compliance().as_str()
            );
            group.bench_function(format!("{name} / {id}"), |b| {
                b.iter(|| handle_pure(rule, black_box(&event), black_box(&fetched)))
            });
        }
    }
    group.finish();
}
