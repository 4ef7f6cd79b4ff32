//! `cargo xtask fuzz-seeds [--out DIR]`: builds the fuzzers' seed corpora, `fuzz/corpus/<target>/`
//! by default, from what the workspace already holds: the 1,452 AWS managed policies of
//! `../shared/corpus` (bundled), every rule's scenario fixtures (`rules/*/cases/*.json`), the AWS
//! documentation fixtures and the real exports (`tests/fixtures`), the embedded sample export, and
//! that sample in every other export shape (aggregator outputs, rule event, SNS and EventBridge
//! notifications). Seeds are built,
//! not committed (`scripts/fuzz.sh` runs this).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::{json, Value};
use shared::export::{self, Found};

use crate::Error;

/// `cargo xtask fuzz-seeds`'s arguments.
#[derive(Debug, Args)]
pub struct FuzzSeeds {
    /// Where to write the corpora (one directory per target) [default: fuzz/corpus in the
    /// workspace].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Fields that hold a policy document in items, fixtures and GAAD output.
const DOCUMENT_FIELDS: &[&str] =
    &["Policy", "document", "policyDocument", "assumeRolePolicyDocument", "PolicyDocument", "Document"];

/// How many corpus policies become items, events and exports (all of them are document seeds).
const CORPUS_ITEMS: usize = 40;

/// Seeds of one target, written as `<out>/<target>/<name>`.
struct Seeds {
    dir: PathBuf,
    count: usize,
}

impl Seeds {
    fn new(out: &Path, target: &str) -> Result<Seeds, Error> {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io { path: dir.clone(), source })?;
        Ok(Seeds { dir, count: 0 })
    }

    fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), Error> {
        let safe: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        let path = self.dir.join(format!("{safe}-{}", self.count));
        std::fs::write(&path, bytes).map_err(|source| Error::Io { path, source })?;
        self.count += 1;
        Ok(())
    }
}

/// Writes every target's seeds under `out` from the workspace at `root`; returns how many
/// seeds each target got.
pub fn build(root: &Path, out: &Path) -> Result<Vec<(&'static str, usize)>, Error> {
    let mut documents = Seeds::new(out, "policy_document")?;
    let mut items = Seeds::new(out, "config_item")?;
    let mut events = Seeds::new(out, "config_event")?;
    let mut exports = Seeds::new(out, "export_stream")?;

    // Scenario fixtures: item, parameters, resolver items.
    let mut fixtures = Vec::new();
    for rule in kms_guardrails::ALL {
        let dir = root.join("rules").join(rule.id).join("cases");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|source| Error::Io { path: dir.clone(), source })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| Error::Io { path: file.clone(), source })?;
            let case: Value =
                serde_json::from_str(&text).map_err(|source| Error::Json { path: file.clone(), source })?;
            let name = format!("{}-{}", rule.id, file.file_stem().and_then(|s| s.to_str()).unwrap_or("case"));
            fixtures.push((name, case));
        }
    }
    for (name, case) in &fixtures {
        let parameters = case.get("parameters").cloned().unwrap_or_else(|| json!({}));
        let resolver_items = case.pointer("/resolver/items").and_then(Value::as_array).cloned().unwrap_or_default();
        let Some(item) = case.get("item") else { continue };
        for document in
            documents_in(item).iter().chain(resolver_items.iter().flat_map(documents_in).collect::<Vec<_>>().iter())
        {
            documents.add(name, document.as_bytes())?;
        }
        items.add(name, item.to_string().as_bytes())?;
        for extra in &resolver_items {
            items.add(name, extra.to_string().as_bytes())?;
        }
        events.add(name, change_event(item, &parameters).to_string().as_bytes())?;
        let mut all = vec![item.clone()];
        all.extend(resolver_items);
        exports.add(name, json!({"fileVersion": "1.0", "configurationItems": all}).to_string().as_bytes())?;
    }

    // AWS documentation fixtures: key policies as AWS publishes them.
    let docs = root.join("tests").join("fixtures").join("aws-docs");
    if let Ok(dir) = std::fs::read_dir(&docs) {
        for entry in dir.filter_map(Result::ok) {
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "json") {
                let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
                documents.add("aws-docs", &bytes)?;
            }
        }
    }

    // The sample export: whole, gzipped, and item by item.
    let sample = shared::dryrun::SAMPLE;
    exports.add("sample-export", sample.as_bytes())?;
    let gzipped = gzip(sample.as_bytes())
        .map_err(|e| Error::Embedded { what: "the sample export, gzipped", message: e.to_string() })?;
    exports.add("sample-export-gz", &gzipped)?;
    let mut sample_items = Vec::new();
    export::stream(sample.as_bytes(), &mut |found| {
        if let Found::Item { item, .. } = found {
            sample_items.push(item);
        }
    })
    .map_err(|e| Error::Embedded { what: "the sample export", message: e.to_string() })?;
    for item in &sample_items {
        items.add("sample", item.to_string().as_bytes())?;
        for document in documents_in(item) {
            documents.add("sample", document.as_bytes())?;
        }
    }
    if let Some(first) = sample_items.first() {
        exports.add("single-item", first.to_string().as_bytes())?;
        let as_text: Vec<Value> = sample_items.iter().take(5).map(|i| Value::String(i.to_string())).collect();
        exports.add("select", json!({"Results": as_text}).to_string().as_bytes())?;
        let batch: Vec<Value> = sample_items.iter().take(5).cloned().collect();
        exports.add("batch-get", json!({"baseConfigurationItems": batch}).to_string().as_bytes())?;
    }
    // Every other shape that carries items (SPEC section 6), around the sample's items, so
    // that the fuzzer starts from each: the aggregator outputs, the rule event, the SNS and
    // EventBridge notifications, pages of longer outputs and what a batch-get did not return.
    for (i, item) in sample_items.iter().take(5).enumerate() {
        let change = json!({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-01T00:00:00.000Z", "recordVersion": "1.3"});
        exports.add("aggregate-item", json!({"ConfigurationItem": api_dialect(item)}).to_string().as_bytes())?;
        exports.add(
            "rule-event",
            json!({"invokingEvent": change.to_string(), "ruleParameters": "{}", "resultToken": "t",
                "eventLeftScope": false, "accountId": "111122223333", "configRuleName": "r", "version": "1.0"})
            .to_string()
            .as_bytes(),
        )?;
        exports.add(
            "sns",
            json!({"Type": "Notification", "MessageId": format!("m{i}"), "TopicArn": "arn:aws:sns:us-east-1:111122223333:config",
                "Message": change.to_string(), "Timestamp": "2026-11-01T00:00:00.000Z"})
            .to_string()
            .as_bytes(),
        )?;
        exports.add(
            "eventbridge",
            json!({"version": "0", "id": format!("e{i}"), "detail-type": "Config Configuration Item Change",
                "source": "aws.config", "account": "111122223333", "region": "us-east-1", "detail": change})
            .to_string()
            .as_bytes(),
        )?;
        exports.add("notification", change.to_string().as_bytes())?;
    }
    let api: Vec<Value> = sample_items.iter().take(5).map(api_dialect).collect();
    exports.add(
        "aggregate-batch-get",
        json!({"BaseConfigurationItems": api, "UnprocessedResourceIdentifiers": [{"SourceAccountId": "111122223333",
            "SourceRegion": "us-east-1", "ResourceId": "k9", "ResourceType": "AWS::KMS::Key"}]})
        .to_string()
        .as_bytes(),
    )?;
    exports.add(
        "batch-get-unprocessed",
        json!({"baseConfigurationItems": api, "unprocessedResourceKeys": [{"resourceType": "AWS::IAM::Role", "resourceId": "r9"}]})
            .to_string()
            .as_bytes(),
    )?;
    let as_text: Vec<Value> = api.iter().map(|i| Value::String(i.to_string())).collect();
    exports.add(
        "select-aggregate-page",
        json!({"QueryInfo": {"SelectFields": [{"Name": "*"}]}, "Results": as_text, "NextToken": "more"})
            .to_string()
            .as_bytes(),
    )?;
    let real = root.join("tests").join("fixtures").join("real-exports");
    if let Ok(dir) = std::fs::read_dir(&real) {
        let mut files: Vec<PathBuf> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();
        for path in files {
            let is_export = path.extension().is_some_and(|x| x == "json") && !path.ends_with("expected.json");
            if is_export {
                let bytes = std::fs::read(&path).map_err(|source| Error::Io { path: path.clone(), source })?;
                exports.add("real-export", &bytes)?;
            }
        }
    }
    for kind in ["ScheduledNotification", "OversizedConfigurationItemChangeNotification"] {
        let invoking = json!({"messageType": kind, "notificationCreationTime": "2026-11-01T00:00:00.000Z",
            "configurationItemSummary": {"resourceType": "AWS::KMS::Key", "resourceId": "k1"}});
        events.add(kind, event(&invoking, &json!({})).to_string().as_bytes())?;
    }

    // The AWS managed policy corpus: every document, and a few as items and a GAAD export.
    let mut text = String::new();
    let corpus =
        |e: &dyn std::fmt::Display| Error::Embedded { what: "the managed-policy corpus", message: e.to_string() };
    flate2::read::GzDecoder::new(shared::bundled::DATA).read_to_string(&mut text).map_err(|e| corpus(&e))?;
    let gaad: Value = serde_json::from_str(&text).map_err(|e| corpus(&e))?;
    let policies = gaad.get("Policies").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, policy) in policies.iter().enumerate() {
        let Some(document) = policy.pointer("/PolicyVersionList/0/Document") else { continue };
        documents.add("corpus", document.to_string().as_bytes())?;
        if i < CORPUS_ITEMS {
            // As a customer managed policy of an account, so that it is an item, not a resolver entry.
            let mut customer = policy.clone();
            if let Some(arn) = policy.get("Arn").and_then(Value::as_str) {
                if let Some(object) = customer.as_object_mut() {
                    object.insert("Arn".into(), Value::String(arn.replace(":iam::aws:", ":iam::111122223333:")));
                }
            }
            let converted = export::gaad_entry(export::GaadList::Policies, "Policies[0]", &customer);
            if let Ok(Some(export::GaadEntry::Item(item))) = converted {
                items.add("corpus", item.to_string().as_bytes())?;
                events.add("corpus", change_event(&item, &json!({})).to_string().as_bytes())?;
            }
        }
    }
    let slice: Vec<Value> = policies.iter().take(CORPUS_ITEMS).cloned().collect();
    let role = json!({"RoleName": "App", "RoleId": "AROAFUZZ", "Arn": "arn:aws:iam::111122223333:role/App", "Path": "/",
        "RolePolicyList": [], "AttachedManagedPolicies": slice.iter().filter_map(|p| Some(json!({
            "PolicyName": p.get("PolicyName")?, "PolicyArn": p.get("Arn")?}))).collect::<Vec<_>>()});
    exports.add(
        "gaad",
        json!({"Policies": slice, "RoleDetailList": [role], "UserDetailList": [], "GroupDetailList": []})
            .to_string()
            .as_bytes(),
    )?;
    let group = json!({"GroupName": "Admins", "GroupId": "AGPAFUZZ", "Arn": "arn:aws:iam::111122223333:group/Admins", "Path": "/",
        "GroupPolicyList": [], "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
            "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]});
    let user = json!({"UserName": "alice", "UserId": "AIDAFUZZ", "Arn": "arn:aws:iam::111122223333:user/alice", "Path": "/",
        "GroupList": ["Admins"], "UserPolicyList": [], "AttachedManagedPolicies": [],
        "PermissionsBoundary": {"PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/PowerUserAccess"}});
    exports.add(
        "gaad-page",
        json!({"UserDetailList": [user], "GroupDetailList": [group], "IsTruncated": true, "Marker": "m"})
            .to_string()
            .as_bytes(),
    )?;

    // Exceptions files: the regression inputs (YAML and JSON, valid and not) as seeds.
    let mut exceptions = Seeds::new(out, "exceptions_file")?;
    let regressions = root.join("fuzz/regressions/exceptions_file");
    let mut files: Vec<_> = std::fs::read_dir(&regressions)
        .map_err(|source| Error::Io { path: regressions.clone(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for file in files {
        let bytes = std::fs::read(&file).map_err(|source| Error::Io { path: file.clone(), source })?;
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        exceptions.add(&name, &bytes)?;
    }

    Ok(vec![
        ("policy_document", documents.count),
        ("config_item", items.count),
        ("config_event", events.count),
        ("export_stream", exports.count),
        ("exceptions_file", exceptions.count),
    ])
}

/// An item in the API dialect, as the aggregator and batch-get calls return it: `accountId`,
/// `arn`, `configuration` and supplementary values as JSON strings, the capture time in epoch
/// seconds.
fn api_dialect(item: &Value) -> Value {
    let mut api = item.clone();
    if let Some(object) = api.as_object_mut() {
        for (from, to) in [("awsAccountId", "accountId"), ("ARN", "arn")] {
            if let Some(value) = object.remove(from) {
                object.insert(to.into(), value);
            }
        }
        if let Some(configuration) = object.get_mut("configuration") {
            *configuration = Value::String(configuration.to_string());
        }
        if let Some(Value::Object(supplementary)) = object.get_mut("supplementaryConfiguration") {
            for value in supplementary.values_mut() {
                *value = Value::String(value.to_string());
            }
        }
        object.insert("configurationItemCaptureTime".into(), json!(1_793_491_200.0));
    }
    api
}

/// Every policy document in `value` (any depth), as the text the policy target takes: strings
/// as they are (URL-encoded, as Config records them), objects as JSON.
fn documents_in(value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, &mut out);
    out
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (name, v) in map {
                match v {
                    Value::String(s) if DOCUMENT_FIELDS.contains(&name.as_str()) => out.push(s.clone()),
                    Value::Object(_) if DOCUMENT_FIELDS.contains(&name.as_str()) => out.push(v.to_string()),
                    _ => collect(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

fn change_event(item: &Value, parameters: &Value) -> Value {
    let invoking = json!({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
        "notificationCreationTime": "2026-11-01T00:00:00.000Z", "recordVersion": "1.3"});
    event(&invoking, parameters)
}

fn event(invoking: &Value, parameters: &Value) -> Value {
    json!({"version": "1.0", "invokingEvent": invoking.to_string(), "ruleParameters": parameters.to_string(),
        "resultToken": "token", "eventLeftScope": false,
        "executionRoleArn": "arn:aws:iam::111122223333:role/config-role",
        "configRuleArn": "arn:aws:config:us-east-1:111122223333:config-rule/config-rule-0123456",
        "configRuleName": "fuzz", "configRuleId": "config-rule-0123456", "accountId": "111122223333"})
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}
