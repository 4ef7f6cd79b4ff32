//! `cargo xtask workload`: benchmark workloads and the parse-only baseline (BENCHMARKS.md,
//! `scripts/dry-run-bench.sh`).
//!
//! `cargo xtask workload generate [--size-mb N] [--gzip] [--seed S] [--form config|gaad]
//! [--url-encoded] [--missing-attachments] [--versions N] OUT` (defaults: 10 MB, seed 7, `config`):
//! writes a synthetic workload from the real documents of `../shared/corpus` (bundled).
//! Deterministic for a seed: the same arguments give the same bytes.
//!
//! - `--form config` (the default): a Config snapshot: customer managed policies (URL-encoded
//!   documents, as Config records them), roles with inline and attached policies, users in
//!   groups, and KMS keys whose policies mix compliant and non-compliant statements. Every
//!   attachment resolves to a policy or group written earlier in the snapshot, as in a real
//!   one. `--missing-attachments` gives the worst case for cross-file resolution instead:
//!   roles attach a customer managed policy and most users a group that the snapshot does not
//!   define, so they wait for the end of the input and fail closed ("not found").
//! - `--form gaad`: `aws iam get-account-authorization-details` output as the AWS CLI prints it
//!   (`UserDetailList`, `GroupDetailList`, `RoleDetailList`, `Policies`; documents decoded to
//!   JSON objects, or URL-encoded strings as the IAM API returns them with `--url-encoded`):
//!   customer managed policies (`arn:aws:iam::<account>:policy/...`, some with an older
//!   non-default version), KMS policies that are and are not scoped to keys, roles with inline,
//!   customer managed and AWS managed policies, users in groups, and the attached AWS managed
//!   policies themselves. IAM has no KMS keys, so this form has none.
//!
//! `--versions N` (Config form) writes every resource in N versions, one day apart, shuffled
//! within windows of 64 resources, the way a history file or snapshots of several days hold
//! them: the older versions of a policy carry another corpus document and those of a key
//! another key policy, so judging the wrong version changes verdicts.
//!
//! `cargo xtask workload parse FILE`: the parse-only pass the dry-run is compared with: serde_json over the
//! same bytes (inflating `.gz`), every item decoded to a JSON value, nothing evaluated.
// A benchmark tool over the embedded corpus, which is known good: a failed step there is a
// failed run. Files are another matter: errors reading or writing them are returned.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use shared::sorted_json::Sorted;
use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use crate::Error;

/// `cargo xtask workload ...`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Writes a synthetic workload from the real documents of the corpus (deterministic for a
    /// seed).
    Generate(Generate),
    /// The parse-only pass the dry-run is compared with: serde_json over FILE (inflating
    /// `.gz`), every item decoded to a JSON value, nothing evaluated.
    Parse {
        /// The workload to read.
        file: PathBuf,
    },
    /// The floors that hold still (issue 18): the time to read FILE's bytes (inflating
    /// `.gz`) into memory, then the time of serde's validating `IgnoredAny` scan over them, one
    /// core, each printed on its own line.
    Scan {
        /// The workload to read.
        file: PathBuf,
    },
}

/// `cargo xtask workload generate`'s arguments.
#[derive(Debug, Args)]
pub struct Generate {
    /// How many megabytes (MiB) of items to write, at least.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub size_mb: usize,
    /// Gzip the output (fast compression).
    #[arg(long)]
    pub gzip: bool,
    /// The generator's seed: the same arguments give the same bytes.
    #[arg(long, value_name = "S", default_value_t = 7)]
    pub seed: u64,
    /// A Config snapshot, or `aws iam get-account-authorization-details` output.
    #[arg(long, value_enum, default_value_t = Form::Config)]
    pub form: Form,
    /// GAAD form: documents URL-encoded, as the IAM API returns them.
    #[arg(long)]
    pub url_encoded: bool,
    /// Config form: roles and most users attach policies and groups the snapshot does not define.
    #[arg(long)]
    pub missing_attachments: bool,
    /// Config form: every resource in this many versions, one day apart, shuffled (a history
    /// file): policies' older versions carry another document, keys' another key policy.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub versions: u32,
    /// The file to write.
    pub out: PathBuf,
}

/// The shape of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Form {
    /// A Config snapshot (`configurationItems`).
    Config,
    /// `aws iam get-account-authorization-details` output.
    Gaad,
}

/// Runs `command`; returns the line to print on stderr (what was written or read).
pub fn run(command: &Command) -> Result<String, Error> {
    match command {
        Command::Generate(args) => generate(args),
        Command::Parse { file } => parse(file),
        Command::Scan { file } => scan(file),
    }
}

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
    let text = Sorted(document).to_string();
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

/// What the items written so far define, for later items to attach.
#[derive(Default)]
struct Written {
    /// The ARN of the last customer managed policy.
    last_policy: String,
    /// `--missing-attachments`: attach what no item defines (the cross-file worst case).
    missing: bool,
}

/// The `n`-th item of the workload (policies, roles, users, groups and keys in turn).
fn nth_item(rng: &mut Rng, corpus: &[(String, Value)], n: usize, written: &mut Written) -> Value {
    let (name, document) = &corpus[rng.below(corpus.len())];
    match n % 5 {
        0 | 1 => {
            let policy = format!("{name}-{n}");
            written.last_policy = format!("arn:aws:iam::{ACCOUNT}:policy/{policy}");
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
            let attached = match written.missing {
                true => format!(
                    "arn:aws:iam::{ACCOUNT}:policy/{}-{}",
                    corpus[rng.below(corpus.len())].0,
                    n.saturating_sub(2)
                ),
                false => written.last_policy.clone(),
            };
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
            // A group is written at the start of every hundred items (n % 100 == 3) and its users
            // follow it; with `--missing-attachments`, users name groups never written.
            let group = match written.missing {
                true => format!("Group{}", n % 100),
                false => format!("Group{}", (n / 100) % 50),
            };
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
                json!({"Policy": Sorted(&key_policy(rng, n)).to_string()}),
            )
        }
    }
}

/// Writes the workload `args` describe; returns its summary.
pub fn generate(args: &Generate) -> Result<String, Error> {
    if args.form == Form::Gaad && (args.missing_attachments || args.versions > 1) {
        return Err(Error::Usage("--missing-attachments and --versions are options of --form config"));
    }
    let out = &args.out;
    let io = |source| Error::Io { path: out.clone(), source };
    let file = std::fs::File::create(out).map_err(io)?;
    let mut writer: Box<dyn Write> = if args.gzip {
        Box::new(BufWriter::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast())))
    } else {
        Box::new(BufWriter::new(file))
    };
    let mut rng = Rng(args.seed);
    let target = args.size_mb * 1024 * 1024;
    let summary = match args.form {
        Form::Gaad => write_gaad(&mut writer, &mut rng, target, args.url_encoded),
        Form::Config => write_config(&mut writer, &mut rng, target, args.missing_attachments, args.versions),
    }
    .map_err(io)?;
    writer.flush().map_err(io)?;
    drop(writer);
    Ok(format!("{}: {summary}", out.display()))
}

fn write_config(
    writer: &mut dyn Write,
    rng: &mut Rng,
    target: usize,
    missing: bool,
    versions: u32,
) -> std::io::Result<String> {
    let corpus = corpus();
    let mut written_so_far = Written { missing, ..Written::default() };
    writer.write_all(b"{\"fileVersion\":\"1.0\",\"configSnapshotId\":\"workload\",\"configurationItems\":[")?;
    let mut n = 0usize;
    let mut list = ItemList { writer, items: 0, written: 0 };
    while list.written < target {
        if versions == 1 {
            list.write(&nth_item(rng, &corpus, n, &mut written_so_far))?;
            n += 1;
            continue;
        }
        // A window of resources, every version of each, shuffled (Fisher-Yates): a version
        // lands anywhere in the window, before or after the others of its resource.
        let mut window = Vec::new();
        for _ in 0..VERSION_WINDOW {
            let newest = nth_item(rng, &corpus, n, &mut written_so_far);
            for version in 1..versions {
                window.push(older_version(rng, &corpus, &newest, versions - version, n));
            }
            window.push(newest);
            n += 1;
        }
        for i in (1..window.len()).rev() {
            window.swap(i, rng.below(i + 1));
        }
        for item in &window {
            list.write(item)?;
        }
    }
    let ItemList { writer, items, written } = list;
    writer.write_all(b"]}")?;
    Ok(format!("{items} items of {n} resources, {written} bytes of JSON"))
}

/// The items written so far, and their bytes.
struct ItemList<'w> {
    writer: &'w mut dyn Write,
    items: usize,
    written: usize,
}

impl ItemList<'_> {
    fn write(&mut self, item: &Value) -> std::io::Result<()> {
        let text = Sorted(item).to_string();
        if self.items > 0 {
            self.writer.write_all(b",")?;
        }
        self.writer.write_all(text.as_bytes())?;
        self.written += text.len() + 1;
        self.items += 1;
        Ok(())
    }
}

/// How many resources `--versions` shuffles the versions of together.
const VERSION_WINDOW: usize = 64;

/// The version of `newest` (the `n`-th item) `age` days older: an earlier capture time and
/// state id, and for a policy another document from the corpus, for a key another key policy.
fn older_version(rng: &mut Rng, corpus: &[(String, Value)], newest: &Value, age: u32, n: usize) -> Value {
    let mut item = newest.clone();
    item["configurationItemCaptureTime"] = json!(format!("2026-10-{:02}T12:00:00.000Z", 31 - age.min(30)));
    item["configurationStateId"] = json!(format!("{}", 1_762_000_000_000u64 - u64::from(age) * 86_400_000));
    match item["resourceType"].as_str() {
        Some("AWS::IAM::Policy") => {
            let document = &corpus[rng.below(corpus.len())].1;
            item["configuration"]["policyVersionList"][0]["document"] = json!(encode(document));
        }
        Some("AWS::KMS::Key") => {
            item["supplementaryConfiguration"]["Policy"] = json!(Sorted(&key_policy(rng, n + 1)).to_string());
        }
        _ => {}
    }
    item
}

/// The AWS managed policies of the corpus as GAAD `Policies` entries, each with a default
/// version's document, in the corpus's order.
fn gaad_corpus() -> Vec<Value> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).expect("corpus");
    let gaad: Value = serde_json::from_str(&text).expect("corpus JSON");
    let policies = gaad.get("Policies").and_then(Value::as_array).expect("Policies");
    policies.iter().filter(|p| default_document(p).is_some() && p.get("Arn").is_some()).cloned().collect()
}

fn default_document(policy: &Value) -> Option<&Value> {
    policy
        .get("PolicyVersionList")?
        .as_array()?
        .iter()
        .find(|v| v.get("IsDefaultVersion") == Some(&json!(true)))?
        .get("Document")
}

const CREATED: &str = "2026-11-01T12:00:00+00:00";
const READ_ONLY_ACCESS: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// A customer managed KMS policy: (kind, document). Some grant `kms:Decrypt`-style use on
/// every key, some are scoped to a key, a service or by a Deny, some grant no decryption.
fn kms_policy(rng: &mut Rng, n: usize) -> (&'static str, Value) {
    let key = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{:08x}-0000-4000-8000-{n:012x}", n % 65536);
    let (kind, statements) = match rng.below(7) {
        0 => (
            "KmsDecryptAll",
            json!([{"Sid": "DecryptAll", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*"}]),
        ),
        1 => ("KmsFullAccess", json!([{"Sid": "KmsAll", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}])),
        2 => (
            "KmsDecryptOneKey",
            json!([{"Sid": "OneKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*"], "Resource": key}]),
        ),
        3 => (
            "KmsDecryptViaS3",
            json!([{"Sid": "ViaS3", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]),
        ),
        4 => (
            "KmsDecryptDenyOthers",
            json!([{"Sid": "DecryptAll", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "OnlyOneKey", "Effect": "Deny", "Action": "kms:Decrypt", "NotResource": key}]),
        ),
        5 => (
            "KmsEncryptOnly",
            json!([{"Sid": "Encrypt", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:DescribeKey", "kms:ListAliases"], "Resource": "*"}]),
        ),
        _ => (
            "KmsReEncrypt",
            json!([{"Sid": "ReEncrypt", "Effect": "Allow", "Action": "kms:ReEncrypt*", "Resource": "*"}]),
        ),
    };
    (kind, json!({"Version": "2012-10-17", "Statement": statements}))
}

/// A GAAD list being written: its elements, comma-separated.
#[derive(Default)]
struct List {
    bytes: Vec<u8>,
    count: usize,
}

impl List {
    /// Appends `entry`; returns the bytes added.
    fn push(&mut self, entry: &Value) -> usize {
        if self.count > 0 {
            self.bytes.push(b',');
        }
        let before = self.bytes.len();
        serde_json::to_writer(&mut self.bytes, &Sorted(entry)).expect("serialize");
        self.count += 1;
        self.bytes.len() - before + 1
    }
}

/// Writes the GAAD form (see the module header) until `target` bytes of entries.
fn write_gaad(writer: &mut dyn Write, rng: &mut Rng, target: usize, url_encoded: bool) -> std::io::Result<String> {
    let corpus = gaad_corpus();
    let document = |d: &Value| if url_encoded { Value::String(encode(d)) } else { d.clone() };
    let random_corpus = |rng: &mut Rng| &corpus[rng.below(corpus.len())];
    let (mut users, mut groups, mut roles, mut policies) =
        (List::default(), List::default(), List::default(), List::default());
    // Attached AWS managed policies, by ARN: written after the customer managed ones.
    let mut aws_managed: BTreeMap<String, Value> = BTreeMap::new();
    // The latest customer managed policies, for attachments (always policies that exist).
    let mut recent: Vec<Value> = Vec::new();
    let mut written = 0usize;
    let mut n = 0usize;
    while written < target {
        let k = n / 5;
        written += match n % 5 {
            0 | 1 | 4 => {
                let (name, default, older) = if n % 5 == 4 {
                    let (kind, doc) = kms_policy(rng, n);
                    (format!("{kind}-{n}"), doc, None)
                } else {
                    let entry = random_corpus(rng);
                    let name = format!("{}-{n}", entry["PolicyName"].as_str().expect("PolicyName"));
                    let default = default_document(entry).expect("default version").clone();
                    let older = n
                        .is_multiple_of(7)
                        .then(|| default_document(random_corpus(rng)).expect("default version").clone());
                    (name, default, older)
                };
                let mut versions = vec![
                    json!({"Document": document(&default), "VersionId": if older.is_some() { "v2" } else { "v1" }, "IsDefaultVersion": true, "CreateDate": CREATED}),
                ];
                if let Some(older) = &older {
                    versions.push(json!({"Document": document(older), "VersionId": "v1", "IsDefaultVersion": false, "CreateDate": CREATED}));
                }
                let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
                let entry = json!({"PolicyName": name, "PolicyId": format!("ANPA{n:017}"), "Arn": arn, "Path": "/",
                    "DefaultVersionId": if older.is_some() { "v2" } else { "v1" }, "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
                    "IsAttachable": true, "CreateDate": CREATED, "UpdateDate": CREATED, "PolicyVersionList": versions});
                if recent.len() == 64 {
                    recent.remove(0);
                }
                recent.push(json!({"PolicyName": name, "PolicyArn": arn}));
                policies.push(&entry)
            }
            2 => {
                let name = format!("Role{n}");
                let inline = default_document(random_corpus(rng)).expect("default version");
                let mut attached = vec![
                    recent[rng.below(recent.len())].clone(),
                    json!({"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY_ACCESS}),
                ];
                if k.is_multiple_of(10) {
                    let entry = random_corpus(rng);
                    let arn = entry["Arn"].as_str().expect("Arn").to_owned();
                    attached.push(json!({"PolicyName": entry["PolicyName"], "PolicyArn": arn}));
                    aws_managed.entry(arn).or_insert_with(|| entry.clone());
                }
                let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
                roles.push(&json!({"Path": "/", "RoleName": name, "RoleId": format!("AROA{n:017}"), "Arn": format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
                    "CreateDate": CREATED, "AssumeRolePolicyDocument": document(&trust), "InstanceProfileList": [],
                    "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": document(inline)}],
                    "AttachedManagedPolicies": attached, "Tags": [], "RoleLastUsed": {}}))
            }
            _ => {
                let mut added = 0;
                if k < 50 {
                    let name = format!("Group{k}");
                    let inline = default_document(random_corpus(rng)).expect("default version");
                    added += groups.push(&json!({"Path": "/", "GroupName": name, "GroupId": format!("AGPA{n:017}"),
                        "Arn": format!("arn:aws:iam::{ACCOUNT}:group/{name}"), "CreateDate": CREATED,
                        "GroupPolicyList": [{"PolicyName": "inline", "PolicyDocument": document(inline)}],
                        "AttachedManagedPolicies": [recent[rng.below(recent.len())].clone()]}));
                }
                let name = format!("user{n}");
                let inline: Vec<Value> = if k.is_multiple_of(4) {
                    let doc = default_document(random_corpus(rng)).expect("default version");
                    vec![json!({"PolicyName": "inline", "PolicyDocument": document(doc)})]
                } else {
                    Vec::new()
                };
                let attached: Vec<Value> =
                    if k.is_multiple_of(2) { vec![recent[rng.below(recent.len())].clone()] } else { Vec::new() };
                added + users.push(&json!({"Path": "/", "UserName": name, "UserId": format!("AIDA{n:017}"),
                    "Arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "CreateDate": CREATED,
                    "UserPolicyList": inline, "GroupList": [format!("Group{}", k % 50)], "AttachedManagedPolicies": attached, "Tags": []}))
            }
        };
        n += 1;
    }
    let customer = policies.count;
    let read_only = corpus.iter().find(|p| p["Arn"] == READ_ONLY_ACCESS).expect("ReadOnlyAccess in the corpus");
    aws_managed.entry(READ_ONLY_ACCESS.to_owned()).or_insert_with(|| read_only.clone());
    for entry in aws_managed.values() {
        let mut entry = entry.clone();
        if url_encoded {
            for version in entry["PolicyVersionList"].as_array_mut().expect("PolicyVersionList") {
                version["Document"] = document(&version["Document"]);
            }
        }
        written += policies.push(&entry);
    }
    let lists =
        [("UserDetailList", &users), ("GroupDetailList", &groups), ("RoleDetailList", &roles), ("Policies", &policies)];
    for (i, (key, list)) in lists.iter().enumerate() {
        let open = format!("{}\"{key}\":[", if i == 0 { "{" } else { "," });
        writer.write_all(open.as_bytes())?;
        writer.write_all(&list.bytes)?;
        writer.write_all(b"]")?;
    }
    writer.write_all(b"}")?;
    Ok(format!(
        "{} users, {} groups, {} roles, {customer} customer managed and {} AWS managed policies, {written} bytes of entries",
        users.count,
        groups.count,
        roles.count,
        policies.count - customer
    ))
}

/// The floors the dry-run is measured against (issue 18), each on one core, each printed on
/// its own line in seconds: `read` (the file's bytes into memory, inflating gzip), `scan`
/// (serde's validating `IgnoredAny` pass over those bytes: every byte looked at and checked as
/// JSON, nothing built) and `value` (every element of the top-level lists parsed into a
/// `serde_json::Value` and dropped, the rest scanned). The scan allocates nothing, so it holds
/// still between runs; the `Value` parse allocates per string and map and swings with the
/// machine's memory behaviour.
pub fn scan(path: &Path) -> Result<String, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let json = |source| Error::Json { path: path.to_owned(), source };
    let started = std::time::Instant::now();
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = match raw.starts_with(&[0x1f, 0x8b]) {
        true => {
            let mut inflated = Vec::new();
            flate2::read::MultiGzDecoder::new(raw.as_slice()).read_to_end(&mut inflated).map_err(io)?;
            inflated
        }
        false => raw,
    };
    let read = started.elapsed();
    let started = std::time::Instant::now();
    serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).map_err(json)?;
    let scan = started.elapsed();
    let started = std::time::Instant::now();
    // The top-level object's values: its lists' elements parsed, the rest scanned.
    let lists = serde_json::from_slice::<std::collections::BTreeMap<String, Elements>>(&bytes).map_err(json)?;
    let elements: usize = lists.values().map(|list| list.0).sum();
    let value = started.elapsed();
    Ok(format!(
        "read {:.3} s\nscan {:.3} s\nvalue {:.3} s ({elements} list elements)",
        read.as_secs_f64(),
        scan.as_secs_f64(),
        value.as_secs_f64()
    ))
}

/// A list whose elements are each parsed into a `Value` and dropped (counted), or any other
/// value, scanned (0).
struct Elements(usize);

impl<'de> serde::Deserialize<'de> for Elements {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ElementsVisitor)
    }
}

struct ElementsVisitor;

impl<'de> serde::de::Visitor<'de> for ElementsVisitor {
    type Value = Elements;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Elements, A::Error> {
        let mut count = 0;
        while let Some(element) = seq.next_element::<Value>()? {
            std::hint::black_box(element);
            count += 1;
        }
        Ok(Elements(count))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Elements, A::Error> {
        while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
        Ok(Elements(0))
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Elements, E> {
        Ok(Elements(0))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Elements, E> {
        Ok(Elements(0))
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Elements, E> {
        Ok(Elements(0))
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Elements, E> {
        Ok(Elements(0))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Elements, E> {
        Ok(Elements(0))
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Elements, E> {
        Ok(Elements(0))
    }
}

/// Parse-only: walk the same bytes with serde_json, decoding each item, evaluating nothing;
/// returns what was read.
pub fn parse(path: &Path) -> Result<String, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let gz = std::io::BufRead::fill_buf(&mut reader).map_err(io)?.starts_with(&[0x1f, 0x8b]);
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
    Ok(format!("{}: {shape:?}, {items} items parsed", path.display()))
}
