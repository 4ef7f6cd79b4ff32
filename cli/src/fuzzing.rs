//! The bodies of the fuzz targets (`fuzz/fuzz_targets/`), here so that the replay test
//! (`tests/fuzz_regressions.rs`) runs exactly what the fuzzer ran.
//!
//! Each body takes arbitrary bytes, feeds them to one way in (a policy document, a
//! configuration item, a Config Lambda event, an export file, an exceptions file), judges
//! whatever comes out with every rule, and checks what must hold whatever the input:
//!
//! - nothing panics (the fuzzer sees a panic as a crash);
//! - a resource whose policy document did not parse is never COMPLIANT for any rule;
//! - COMPLIANT carries no annotation, NON_COMPLIANT carries one, and no annotation is longer
//!   than Config's 256 characters;
//! - the two ways of carrying a document or an item read the same: a document as JSON text and
//!   URL-encoded; an item in the event dialect and in the API dialect (`configuration` a JSON
//!   string, `accountId`, `arn`); an export streamed and read whole;
//! - bytes that are not UTF-8 are a UTF-8 error, never a document.
//!
//! A broken invariant panics with what broke: that is how a fuzzer reports it. Every input
//! returns quickly on its own: the work is linear in the input's size.

#![allow(clippy::panic)] // a broken invariant is reported the way a fuzzer sees it: a panic

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::{json, Map, Value};
use shared::event::{self, Invocation};
use shared::export::{self, Found, GaadTree};
use shared::item::{Details, ItemError, KeyPolicy, NamedDocument, Resource};
use shared::policy::{parse_policy, parse_policy_tree, DocumentError, PolicyKind};
use shared::rule::ANNOTATION_LIMIT;
use shared::{Compliance, Context, MemoryResolver, Params, Rule, Verdict};

use crate::ALL;

/// The key id and account the synthetic items of [`policy_document`] use.
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const ACCOUNT: &str = "111122223333";

/// At most this many bytes are read from a gzip input (a small input may inflate a thousandfold).
const GZIP_LIMIT: u64 = 16 << 20;

/// A policy document as text (or as bytes that are not UTF-8): parsed as each kind of policy,
/// directly and URL-encoded, then put in every place an item carries a document (key policy,
/// customer managed policy, role, user and group inline policy) and judged by every rule.
pub fn policy_document(data: &[u8]) {
    let encoded = Value::String(percent_encode(data));
    let text = std::str::from_utf8(data).ok();
    for kind in [PolicyKind::Identity, PolicyKind::KeyPolicy, PolicyKind::Trust] {
        let via_encoding = parse_policy(&encoded, kind);
        match text {
            None => {
                if !matches!(via_encoding, Err(DocumentError::Utf8 { .. })) {
                    panic!("URL-encoded bytes that are not UTF-8 read as {via_encoding:?}");
                }
            }
            Some(text) => {
                // When the text is one JSON object, both forms take one decoding step and must
                // agree exactly (same policy, or the same error).
                let direct = parse_policy(&Value::String(text.to_owned()), kind);
                if serde_json::from_str::<Map<String, Value>>(text).is_ok() && direct != via_encoding {
                    panic!("{kind:?}: JSON text read as {direct:?}, URL-encoded as {via_encoding:?}");
                }
            }
        }
    }
    let Some(text) = text else { return };
    let items = [
        key_item(text),
        json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPAFUZZ", "awsAccountId": ACCOUNT,
            "ARN": format!("arn:aws:iam::{ACCOUNT}:policy/Fuzz"), "configurationItemStatus": "OK",
            "configuration": {"policyName": "Fuzz", "defaultVersionId": "v1", "attachmentCount": 1,
                "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": text}]}}),
        identity_item("AWS::IAM::Role", "role", text),
        identity_item("AWS::IAM::User", "user", text),
        identity_item("AWS::IAM::Group", "group", text),
    ];
    let resolver = MemoryResolver::new();
    for item in &items {
        match Resource::from_json(item) {
            Ok(resource) => judge_all(&resource, &resolver),
            Err(e) => panic!("a well-formed item carrying the document was rejected: {e}"),
        }
    }
}

/// A configuration item as JSON: read in its own dialect and, converted, in the other; both
/// must read the same. What reads is judged by every rule.
pub fn config_item(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let read = Resource::from_json(&value);
    if let Some(api) = api_dialect(&value) {
        let api_read = Resource::from_json(&api);
        if !same_reading(&read, &api_read) {
            panic!("event dialect read as {read:?}\nAPI dialect {api} read as {api_read:?}");
        }
    }
    if let Ok(resource) = read {
        judge_all(&resource, &MemoryResolver::new());
    }
}

/// A Config Lambda event as JSON: decoded as the Lambda function decodes it; a change
/// notification's item is read and judged by every rule with the event's `ruleParameters`.
pub fn config_event(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let Ok(decoded) = event::decode(&value) else { return };
    // Parameters are parsed for every rule (each rejects what it does not declare).
    let params: Vec<Option<Params>> =
        ALL.iter().map(|rule| rule.parse_params_json(decoded.rule_parameters.as_deref()).ok()).collect();
    let Invocation::Change { item } = decoded.invocation else { return };
    let Ok(resource) = Resource::from_json(&item) else { return };
    let resolver = MemoryResolver::new();
    for (rule, params) in ALL.iter().zip(&params) {
        if let Some(params) = params {
            check(rule, &resource, &rule.judge(&resource, &Context { params, resolver: &resolver }));
        }
    }
}

/// An export file (gzip when it starts with gzip's magic bytes): streamed item by item as the
/// dry-run reads it; the items found are judged by every rule, with the export's managed
/// policies and groups in the resolver. Nothing the whole-document reading finds may be missing
/// from the stream.
pub fn export_stream(data: &[u8]) {
    if data.starts_with(&[0x1f, 0x8b]) {
        let mut inflated = Vec::new();
        let mut reader = flate2::read::GzDecoder::new(data).take(GZIP_LIMIT);
        if reader.read_to_end(&mut inflated).is_ok() {
            export_stream_plain(&inflated);
        }
        return;
    }
    export_stream_plain(data);
}

/// A GAAD entry as the dry-run reads it (a tree, its policy documents kept as their text and
/// left unread once the policy memo knows them, `json_tree::Keeping`) finds what the `Value`
/// path finds, and reads as the same resource when it is read again (the memo having learnt
/// its documents the first time).
fn gaad_tree_reads_as_values_do(entry: &export::RawEntry) {
    let read = || {
        entry.decode_gaad(|converted| match converted {
            Ok(Some(GaadTree::Item(item))) => Some((
                Found::Item { at: entry.at(), item: item.to_value() },
                format!("{:?}", Resource::from_tree(&item)),
            )),
            Ok(Some(GaadTree::AwsManagedPolicy { arn, document })) => Some((
                Found::AwsManagedPolicy { arn: arn.to_owned(), document: document.to_value() },
                format!("{:?}", parse_policy_tree(&document, PolicyKind::Identity)),
            )),
            Ok(None) => None,
            Err(e) => Some((Found::Error(e), String::new())),
        })
    };
    // `None`: not a GAAD entry, or not JSON (which `decode` words).
    let Some(first) = read() else { return };
    let again = read();
    if again.as_ref() != Some(&first) {
        panic!("a GAAD entry read again reads otherwise: {first:?} then {again:?}");
    }
    let as_value = entry.decode();
    if first.as_ref().map(|(found, _)| found) != as_value.as_ref() {
        panic!("a GAAD entry read as a tree finds {first:?}, as a value {as_value:?}");
    }
}

fn export_stream_plain(data: &[u8]) {
    let mut found = Vec::new();
    let streamed = export::stream(data, &mut |f| found.push(f));
    // The dry-run reads with `stream_raw` and decodes each entry on a worker: the same shape,
    // and the same things found in the same order, as `stream`.
    let mut raw_found = Vec::new();
    let raw_streamed = export::stream_raw(data, &mut |entry| {
        gaad_tree_reads_as_values_do(&entry);
        raw_found.extend(entry.decode())
    });
    // `stream_raw` checks the structure down to the entries and leaves each entry's content to
    // its decoder: where `stream` fails on an entry's content, `stream_raw` reads on and that
    // entry decodes to an error of its own. It never accepts less than `stream` does.
    let entry_not_json = raw_found.iter().any(|f| {
        matches!(f, export::Found::Error(export::ExportError::Field { problem, .. }) if problem.starts_with("is not valid JSON"))
    });
    match (&streamed, &raw_streamed) {
        (Ok(a), Ok(b)) if a == b => {
            if raw_found != found {
                panic!("stream_raw + decode found {} things, stream {}", raw_found.len(), found.len());
            }
        }
        (Err(_), Err(_)) => {}
        (Err(_), Ok(_)) if entry_not_json => {}
        _ => panic!("stream and stream_raw disagree: {streamed:?} vs {raw_streamed:?}"),
    }
    let whole = serde_json::from_slice::<Value>(data);
    if streamed.is_ok() && whole.is_err() {
        panic!("the stream accepted a document that is not JSON: {:?}", whole.err());
    }
    if let Ok(Ok(all)) = whole.map(export::items) {
        if streamed.is_err() {
            panic!("the whole document reads ({} items) but the stream failed: {streamed:?}", all.items.len());
        }
        for (at, item) in &all.items {
            let present = found.iter().any(|f| matches!(f, Found::Item { at: a, item: i } if a == at && i == item));
            if !present {
                panic!("item `{at}` was read from the whole document but not from the stream");
            }
        }
        for (arn, document) in &all.aws_managed_policies {
            let present = found
                .iter()
                .any(|f| matches!(f, Found::AwsManagedPolicy { arn: a, document: d } if a == arn && d == document));
            if !present {
                panic!("AWS managed policy `{arn}` was read from the whole document but not from the stream");
            }
        }
    }
    // Resolve as the dry-run does: managed policies and groups from the export, then judge.
    let mut resolver = MemoryResolver::new();
    let mut resources = Vec::new();
    for f in found {
        match f {
            Found::Item { item, .. } => {
                if let Ok(resource) = Resource::from_json(&item) {
                    resources.push(resource);
                }
            }
            Found::AwsManagedPolicy { arn, document } => {
                resolver.add_policy(arn, parse_policy(&document, PolicyKind::Identity));
            }
            Found::Error(_) => {}
        }
    }
    for resource in &resources {
        match &resource.details {
            Details::Policy(policy) => resolver.add_policy(resource.arn().to_owned(), policy.document.clone()),
            Details::Group(group) => resolver.add_group(resource.account_id().to_owned(), group.clone()),
            _ => {}
        }
    }
    for resource in &resources {
        judge_all(resource, &resolver);
    }
}

/// Judges `resource` with every rule: default parameters, except that the readiness rule names
/// the key (so that it evaluates rather than answers NOT_APPLICABLE).
fn judge_all(resource: &Resource, resolver: &MemoryResolver) {
    for rule in ALL {
        let mut raw = BTreeMap::new();
        if rule.id == "kms-key-service-readiness" {
            raw.insert("keyIds".to_owned(), resource.resource_id().to_string());
            raw.insert("managementAccountId".to_owned(), ACCOUNT.to_owned());
        }
        let params = rule.parse_params(&raw).unwrap_or_else(|_| rule.default_params());
        let verdict = rule.judge(resource, &Context { params: &params, resolver });
        check(rule, resource, &verdict);
    }
}

/// The invariants of one verdict.
fn check(rule: &Rule, resource: &Resource, verdict: &Verdict) {
    let annotation = verdict.annotation();
    match (verdict.compliance, &annotation) {
        (Compliance::Compliant, Some(a)) => panic!("{}: COMPLIANT with an annotation `{a}`", rule.id),
        (Compliance::NonCompliant, None) => panic!("{}: NON_COMPLIANT without an annotation", rule.id),
        (Compliance::NonCompliant, Some(a)) if a.trim().is_empty() => {
            panic!("{}: NON_COMPLIANT with an empty annotation", rule.id)
        }
        _ => {}
    }
    if let Some(a) = &annotation {
        if a.chars().count() > ANNOTATION_LIMIT {
            panic!("{}: annotation of {} characters: `{a}`", rule.id, a.chars().count());
        }
    }
    let in_scope = resource.resource_type.is_some_and(|t| rule.resource_types.contains(&t));
    if in_scope && verdict.compliance == Compliance::Compliant {
        if let Some(problem) = unread_document(resource) {
            panic!("{}: COMPLIANT for {} whose document did not parse ({problem})", rule.id, resource.label());
        }
    }
}

/// The first policy document of `resource` that did not parse (or a key policy that is absent
/// or unreadable), if any. Trust policies are not judged by any rule's verdict, so not counted.
fn unread_document(resource: &Resource) -> Option<String> {
    let inline = |documents: &[NamedDocument]| {
        documents.iter().find_map(|d| d.document.as_ref().err().map(|e| format!("inline `{}`: {e}", d.name)))
    };
    match &resource.details {
        Details::Key(key) => match &key.policy {
            KeyPolicy::Parsed(_) => None,
            KeyPolicy::Invalid(e) => Some(e.to_string()),
            KeyPolicy::Absent => Some("key policy absent".into()),
            KeyPolicy::Unreadable(e) => Some(e.clone()),
        },
        Details::Policy(policy) => policy.document.as_ref().err().map(ToString::to_string),
        Details::Role(role) => inline(&role.identity.inline),
        Details::User(user) => inline(&user.identity.inline),
        Details::Group(group) => inline(&group.inline),
        Details::Absent => None,
    }
}

/// Do the readings of an item in its two dialects agree? A key policy wrapped once more in the
/// API dialect may exceed the decoding depth ([`shared::policy::decode::MAX_LAYERS`]); that one
/// difference is allowed.
fn same_reading(event: &Result<Resource, ItemError>, api: &Result<Resource, ItemError>) -> bool {
    match (event, api) {
        (Ok(a), Ok(b)) => {
            if a == b {
                return true;
            }
            let mut b = b.clone();
            if let (Details::Key(ka), Details::Key(kb)) = (&a.details, &mut b.details) {
                if kb.policy == KeyPolicy::Invalid(DocumentError::TooManyLayers) {
                    kb.policy = ka.policy.clone();
                }
            }
            *a == b
        }
        // An error names the field as the item spells it, so the same fault reads as
        // `awsAccountId` in one dialect and `accountId` in the other.
        (Err(a), Err(b)) => a.item == b.item && a.problem == b.problem && a.field == event_spelling(&b.field),
        _ => false,
    }
}

/// The event dialect's name for a top-level field named in the API dialect (the inverse of
/// the renaming [`api_dialect`] does); any other name as it is.
fn event_spelling(api_field: &str) -> &str {
    DIALECT_NAMES.iter().find(|(_, api)| *api == api_field).map_or(api_field, |(event, _)| event)
}

/// Top-level fields the two dialects name differently: (event dialect, API dialect).
const DIALECT_NAMES: [(&str, &str); 2] = [("awsAccountId", "accountId"), ("ARN", "arn")];

/// The API dialect of an event-dialect item (`accountId`, `arn`, `configuration` and
/// `supplementaryConfiguration` values as JSON strings), or `None` when `value` is not such an
/// item (it already spells a field the API's way) or its configuration does not survive a
/// round trip through text (floats).
fn api_dialect(value: &Value) -> Option<Value> {
    let mut object = value.as_object()?.clone();
    if DIALECT_NAMES.iter().any(|(_, api_name)| object.contains_key(*api_name)) {
        return None;
    }
    let configuration = object.get("configuration")?.as_object()?.clone();
    let text = Value::Object(configuration.clone()).to_string();
    if serde_json::from_str::<Value>(&text).ok()? != Value::Object(configuration) {
        return None;
    }
    object.insert("configuration".into(), Value::String(text));
    for (event_name, api_name) in DIALECT_NAMES {
        if let Some(v) = object.remove(event_name) {
            object.insert(api_name.into(), v);
        }
    }
    if let Some(Value::Object(supplementary)) = object.get_mut("supplementaryConfiguration") {
        for v in supplementary.values_mut() {
            if !v.is_null() {
                *v = Value::String(v.to_string());
            }
        }
    }
    Some(Value::Object(object))
}

fn key_item(policy: &str) -> Value {
    json!({"resourceType": "AWS::KMS::Key", "resourceId": KEY_ID, "awsAccountId": ACCOUNT,
        "ARN": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"), "configurationItemStatus": "OK",
        "configuration": {"keyId": KEY_ID, "keyManager": "CUSTOMER", "keyState": "Enabled",
            "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false},
        "supplementaryConfiguration": {"Policy": policy}})
}

fn identity_item(resource_type: &str, kind: &str, document: &str) -> Value {
    let name = format!("{kind}Name");
    let list = format!("{kind}PolicyList");
    json!({"resourceType": resource_type, "resourceId": "AIDAFUZZ", "awsAccountId": ACCOUNT,
        "ARN": format!("arn:aws:iam::{ACCOUNT}:{kind}/Fuzz"), "configurationItemStatus": "OK",
        "configuration": {name: "Fuzz", "path": "/", list: [{"policyName": "inline", "policyDocument": document}]}})
}

/// Every byte as `%XX`.
fn percent_encode(data: &[u8]) -> String {
    data.iter().map(|b| format!("%{b:02X}")).collect()
}

/// An exceptions file (YAML, or JSON when it opens with `{`): read and checked as the dry-run
/// and the Lambda functions read it; when it reads, applied on a fixed day to a NON_COMPLIANT
/// verdict whose causes name a principal and none. What must hold: the verdict stays
/// NON_COMPLIANT or becomes NOT_APPLICABLE, and NOT_APPLICABLE only when every cause carries a
/// live exception; every exception a cause carries is an entry of the file, expired exactly
/// when its date is past; the annotation is within 256 characters; a file that reads, reads
/// the same again.
pub fn exceptions_file(data: &[u8]) {
    use shared::exceptions::{self, Date, Target};
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(file) = exceptions::parse(text) else { return };
    let again = exceptions::parse(text).map(|f| f.entries().len());
    if again != Ok(file.entries().len()) {
        panic!("the same text read twice gave {again:?}, then {} entries", file.entries().len());
    }
    let today = Date::from_days(20_792); // 2026-12-05
    let principal = |p: Option<&str>| shared::Cause {
        principal: p.map(str::to_owned),
        action: Some("kms:Decrypt".into()),
        ..shared::Cause::because("without kms:ViaService")
    };
    let causes = vec![
        principal(Some(&format!("arn:aws:iam::{ACCOUNT}:role/BreakGlass (through `*`)"))),
        principal(Some("anyone")),
        principal(None),
    ];
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}");
    for rule in ALL {
        let target = Target { rule: rule.id, arn: &arn, resource_id: KEY_ID, account_id: ACCOUNT };
        let verdict = file.apply(&target, Verdict::from_causes(causes.clone()), today);
        let all_live = verdict.causes.iter().all(|c| c.exception.as_ref().is_some_and(|a| !a.expired));
        match verdict.compliance {
            Compliance::NotApplicable if all_live && verdict.is_excepted() => {}
            Compliance::NonCompliant if !all_live && !verdict.is_excepted() => {}
            other => panic!("{}: {other} with causes {:?}", rule.id, verdict.causes),
        }
        for applied in verdict.causes.iter().filter_map(|c| c.exception.as_ref()) {
            let Some(entry) = file.entries().get(applied.index) else {
                panic!("{}: exception #{} is not in a file of {}", rule.id, applied.index, file.entries().len())
            };
            if applied.expired != (entry.expires < today) || applied.expires != entry.expires {
                panic!(
                    "{}: exception #{} says expired={} for {}",
                    rule.id, applied.index, applied.expired, entry.expires
                );
            }
        }
        let annotation = verdict.annotation().unwrap_or_default();
        if annotation.chars().count() > ANNOTATION_LIMIT {
            panic!("{}: annotation of {} characters", rule.id, annotation.chars().count());
        }
    }
}
