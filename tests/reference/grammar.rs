//! The policy grammar the property tests draw from, and the configuration items built around it.
//!
//! Every choice list starts with its simplest element, so that proptest shrinks toward it.
//!
//! - Resource ARNs: `*`, or `arn:aws:kms:<region>:<account>:<key part>` with region fields
//!   [`REGION_FIELDS`], account fields [`ACCOUNT_FIELDS`] and key parts [`KEY_PARTS`]; as
//!   `Resource` or `NotResource` (never a policy variable under `NotResource`: whether
//!   "everything but the caller's own key" reaches every key is not a question SPEC answers).
//! - Actions: `Action` from [`ACTIONS`] or `NotAction` from [`NOT_ACTIONS`].
//! - `Effect` Allow or Deny; a `Condition` from [`CONDITIONS`] or none (a Deny with any condition
//!   removes nothing; the Allow conditions exercise CreateGrant's exception, the ViaService and
//!   public-access rules and `acceptConditionKeys`).
//! - Key policies add `Principal`/`NotPrincipal` from [`PRINCIPALS`] (users, roles, an
//!   assumed-role session, accounts as id and as root ARN, `*`, a service) and key-policy
//!   resources (`*`, the key's own ARN, or any identity resource).

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;
use serde_json::{json, Map, Value};

use super::model::OWN;

/// Another account.
pub const OTHER: &str = "444455556666";
/// A key id in the UUID form that policies name.
pub const KEY_A: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
/// A key id in the multi-Region form that policies name.
pub const KEY_B: &str = "mrk-1234abcd12ab34cd56ef1234567890ab";

/// Region fields of resource ARNs, with their weights.
pub const REGION_FIELDS: [(u32, &str); 8] =
    [(2, "*"), (3, "us-east-1"), (3, "eu-west-1"), (2, "us-*"), (2, "*-1"), (2, "eu-*"), (1, "??-????-?"), (1, "xx-*")];
/// Account fields of resource ARNs, with their weights.
pub const ACCOUNT_FIELDS: [(u32, &str); 4] = [(4, OWN), (3, "*"), (1, OTHER), (1, "1111????3333")];
/// Resource parts of KMS ARNs, with their weights.
pub const KEY_PARTS: [(u32, &str); 7] = [
    (5, "key/*"),
    (2, "key/mrk-*"),
    (1, "key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    (1, "key/mrk-1234abcd12ab34cd56ef1234567890ab"),
    (2, "*"),
    (1, "alias/*"),
    (1, "key/${aws:username}"),
];
/// `Action` patterns, with their weights.
pub const ACTIONS: [(u32, &str); 7] = [
    (2, "kms:*"),
    (3, "kms:Decrypt"),
    (3, "kms:PutKeyPolicy"),
    (1, "kms:*crypt*"),
    (1, "kms:Create*"),
    (2, "kms:Disable*"),
    (1, "*"),
];
/// `NotAction` patterns.
pub const NOT_ACTIONS: [&str; 5] = ["iam:*", "kms:Decrypt", "kms:PutKeyPolicy", "kms:Create*", "kms:*crypt*"];
/// Conditions: `(operator, key, value)`.
pub const CONDITIONS: [(&str, &str, &str); 5] = [
    ("Bool", "aws:SecureTransport", "false"),
    ("StringEquals", "kms:ViaService", "s3.us-east-1.amazonaws.com"),
    ("Bool", "kms:GrantIsForAWSResource", "true"),
    ("StringEquals", "kms:CallerAccount", OWN),
    ("StringLike", "kms:ViaService", "*"),
];
/// Key-policy principals (`service:` marks a service principal).
pub const PRINCIPALS: [&str; 11] = [
    "*",
    "arn:aws:iam::111122223333:user/Bob",
    "arn:aws:iam::111122223333:role/Admin",
    "arn:aws:sts::111122223333:assumed-role/Admin/alice",
    "arn:aws:iam::111122223333:root",
    "111122223333",
    "arn:aws:iam::111122223333:role/App",
    "arn:aws:iam::444455556666:role/Partner",
    "444455556666",
    "arn:aws:iam::444455556666:root",
    "service:cloudtrail.amazonaws.com",
];

/// Keys a key item can be: id, region, multi-Region. The third is named by no policy.
pub const KEYS: [(&str, &str, bool); 3] = [
    (KEY_A, "us-east-1", false),
    (KEY_B, "eu-west-1", true),
    ("0000ffff-0000-4fff-8fff-00000000ffff", "ap-southeast-2", false),
];

/// A JSON document that prints as compact JSON (readable counterexamples).
#[derive(Clone, PartialEq)]
pub struct Doc(pub Value);

impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

fn one_or_many(values: Vec<&str>) -> Value {
    match values.as_slice() {
        [one] => json!(one),
        _ => json!(values),
    }
}

/// One of `choices`, drawn by weight; shrinks toward the first.
fn weighted(choices: &[(u32, &'static str)]) -> impl Strategy<Value = &'static str> {
    Union::new_weighted(choices.iter().map(|(weight, choice)| (*weight, Just(*choice))).collect())
}

/// A resource ARN pattern; `variables` allows `key/${aws:username}`.
fn resource_arn(variables: bool) -> impl Strategy<Value = String> {
    let parts: Vec<(u32, &'static str)> =
        KEY_PARTS.iter().copied().filter(|(_, p)| variables || !p.contains('$')).collect();
    prop_oneof![
        1 => Just("*".to_owned()),
        6 => (weighted(&REGION_FIELDS), weighted(&ACCOUNT_FIELDS), weighted(&parts))
            .prop_map(|(region, account, part)| format!("arn:aws:kms:{region}:{account}:{part}")),
    ]
}

/// `Resource` or `NotResource` of an identity statement: (element name, patterns).
fn identity_resources() -> impl Strategy<Value = (&'static str, Vec<String>)> {
    prop_oneof![
        4 => vec(resource_arn(true), 1..=2).prop_map(|r| ("Resource", r)),
        1 => vec(resource_arn(false), 1..=2).prop_map(|r| ("NotResource", r)),
    ]
}

/// `Resource`/`NotResource` of a key-policy statement; `SELF` stands for the key's own ARN.
fn key_resources() -> impl Strategy<Value = (&'static str, Vec<String>)> {
    prop_oneof![
        6 => Just(("Resource", vec!["*".to_owned()])),
        2 => Just(("Resource", vec!["SELF".to_owned()])),
        2 => identity_resources(),
    ]
}

fn actions() -> impl Strategy<Value = (&'static str, Vec<&'static str>)> {
    prop_oneof![
        3 => weighted(&ACTIONS).prop_map(|a| ("Action", vec![a])),
        1 => vec(weighted(&ACTIONS), 2).prop_map(|a| ("Action", a)),
        1 => vec(select(&NOT_ACTIONS[..]), 1..=2).prop_map(|a| ("NotAction", a)),
    ]
}

fn condition() -> impl Strategy<Value = Option<(&'static str, &'static str, &'static str)>> {
    prop_oneof![3 => Just(None), 1 => select(&CONDITIONS[..]).prop_map(Some)]
}

fn effect() -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => Just("Allow"), 2 => Just("Deny")]
}

/// `Principal` (with `*` possible, written `"*"` or `{"AWS": "*"}`) or `NotPrincipal` (without).
fn principals() -> impl Strategy<Value = (&'static str, Value)> {
    let listed = |from: usize| vec(select(&PRINCIPALS[from..]), 1..=2);
    prop_oneof![
        3 => (listed(0), any::<bool>()).prop_map(|(list, bare_star)| ("Principal", principal_json(&list, bare_star))),
        1 => listed(1).prop_map(|list| ("NotPrincipal", principal_json(&list, false))),
    ]
}

fn principal_json(list: &[&str], bare_star: bool) -> Value {
    if bare_star && list == ["*"] {
        return json!("*");
    }
    let (services, aws): (Vec<&str>, Vec<&str>) = list.iter().partition(|p| p.starts_with("service:"));
    let mut object = Map::new();
    if !aws.is_empty() {
        object.insert("AWS".into(), one_or_many(aws));
    }
    if !services.is_empty() {
        let names = services.iter().map(|s| s.trim_start_matches("service:")).collect();
        object.insert("Service".into(), one_or_many(names));
    }
    Value::Object(object)
}

fn statement(
    effect: &str,
    principal: Option<(&str, Value)>,
    actions: (&str, Vec<&str>),
    resources: (&str, Vec<String>),
    condition: Option<(&str, &str, &str)>,
) -> Value {
    let mut s = Map::new();
    s.insert("Effect".into(), json!(effect));
    if let Some((element, value)) = principal {
        s.insert(element.into(), value);
    }
    s.insert(actions.0.into(), one_or_many(actions.1));
    s.insert(resources.0.into(), one_or_many(resources.1.iter().map(String::as_str).collect()));
    if let Some((operator, key, value)) = condition {
        s.insert("Condition".into(), json!({ operator: { key: value } }));
    }
    Value::Object(s)
}

fn document(statements: Vec<Value>) -> Doc {
    Doc(json!({"Version": "2012-10-17", "Statement": statements}))
}

/// An identity policy document of 1 to `max` statements, mostly 1 to 3 (short documents leave
/// fewer statements that blur a disagreement into agreement).
pub fn identity_doc(max: usize) -> impl Strategy<Value = Doc> {
    prop_oneof![3 => vec(identity_statement(), 1..=3), 1 => vec(identity_statement(), 1..=max)].prop_map(document)
}

fn identity_statement() -> impl Strategy<Value = Value> {
    (effect(), actions(), identity_resources(), condition()).prop_map(|(e, a, r, c)| statement(e, None, a, r, c))
}

/// A key policy of 1 to `max` statements, for one of [`KEYS`] (by index).
#[derive(Clone)]
pub struct KeyCase {
    /// Index into [`KEYS`].
    pub key: usize,
    /// The key policy (with `SELF` replaced by the key's ARN).
    pub policy: Doc,
}

impl fmt::Debug for KeyCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key {} policy {:?}", key_arn_of(self.key), self.policy)
    }
}

/// The ARN of key item `index` of [`KEYS`].
pub fn key_arn_of(index: usize) -> String {
    let (id, region, _) = KEYS[index];
    format!("arn:aws:kms:{region}:{OWN}:key/{id}")
}

/// A key and its policy.
pub fn key_case(max: usize) -> impl Strategy<Value = KeyCase> {
    let statements = vec((effect(), principals(), actions(), key_resources(), condition()), 1..=max);
    (0..KEYS.len(), statements).prop_map(|(key, statements)| {
        let own = key_arn_of(key);
        let statements = statements
            .into_iter()
            .map(|(e, p, a, (element, r), c)| {
                let r = r.into_iter().map(|x| if x == "SELF" { own.clone() } else { x }).collect();
                statement(e, Some(p), a, (element, r), c)
            })
            .collect();
        KeyCase { key, policy: document(statements) }
    })
}

// ---------------------------------------------------------------------------------------------
// Configuration items.

/// A customer managed policy item whose default version is `document`.
pub fn policy_item(document: &Value) -> Value {
    json!({"configurationItemStatus": "OK", "resourceType": "AWS::IAM::Policy", "resourceId": "ANPAREFERENCE",
        "resourceName": "Subject", "awsAccountId": OWN, "awsRegion": "global",
        "ARN": format!("arn:aws:iam::{OWN}:policy/Subject"),
        "configuration": {"policyName": "Subject", "defaultVersionId": "v1", "attachmentCount": 1,
            "permissionsBoundaryUsageCount": 0,
            "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": document}]}})
}

/// A role item holding `documents` as inline policies `P1`, `P2`, ...
pub fn role_item(documents: &[&Value]) -> Value {
    let inline: Vec<Value> = documents
        .iter()
        .enumerate()
        .map(|(i, d)| json!({"policyName": format!("P{}", i + 1), "policyDocument": d}))
        .collect();
    json!({"configurationItemStatus": "OK", "resourceType": "AWS::IAM::Role", "resourceId": "AROAREFERENCE",
        "resourceName": "Subject", "awsAccountId": OWN, "awsRegion": "global",
        "ARN": format!("arn:aws:iam::{OWN}:role/Subject"),
        "configuration": {"roleName": "Subject", "path": "/", "rolePolicyList": inline, "attachedManagedPolicies": [],
            "assumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}})
}

/// A customer managed, enabled key item ([`KEYS`] entry `index`) with `policy` as recorded
/// (a JSON string).
pub fn key_item(index: usize, policy: &Value) -> Value {
    let (id, region, multi_region) = KEYS[index];
    let arn = key_arn_of(index);
    json!({"configurationItemStatus": "OK", "resourceType": "AWS::KMS::Key", "resourceId": id, "resourceName": id,
        "awsAccountId": OWN, "awsRegion": region, "ARN": arn,
        "configuration": {"keyId": id, "arn": arn, "keyManager": "CUSTOMER", "keyState": "Enabled", "enabled": true,
            "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": multi_region},
        "supplementaryConfiguration": {"Policy": policy.to_string()}})
}
