//! Malformed input never panics and never passes: each case either is an input error that says
//! where, or a NON_COMPLIANT verdict whose annotation is the parse error (SPEC section 2: fail
//! closed). Every rule runs on every case.

use serde_json::{json, Value};
use shared::item::Resource;
use shared::{Compliance, Context, MemoryResolver};

use crate::rules::ALL;

fn key_with_policy(policy: Value) -> Value {
    json!({"resourceType": "AWS::KMS::Key", "resourceId": "k1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:kms:us-east-1:111122223333:key/k1", "configurationItemStatus": "OK",
        "configuration": {"keyId": "k1", "keyManager": "CUSTOMER", "keyState": "Enabled", "keySpec": "SYMMETRIC_DEFAULT",
            "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false},
        "supplementaryConfiguration": {"Policy": policy}})
}

fn policy_item(document: Value) -> Value {
    json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPA1", "awsAccountId": "111122223333",
        "ARN": "arn:aws:iam::111122223333:policy/P", "configurationItemStatus": "OK",
        "configuration": {"policyName": "P", "defaultVersionId": "v1",
            "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": document}]}})
}

/// Judges `item` with every rule in scope; every verdict must be NON_COMPLIANT with an
/// annotation containing `expected` (readiness: only where the key is named).
fn fails_closed(item: &Value, expected: &str) {
    let resource = Resource::from_json(item).unwrap_or_else(|e| panic!("an item error instead of a verdict: {e}"));
    let resolver = MemoryResolver::new();
    let mut judged = 0;
    for rule in ALL {
        if !resource.resource_type.is_some_and(|t| rule.resource_types.contains(&t)) {
            continue;
        }
        let mut raw = std::collections::BTreeMap::new();
        if rule.id == "kms-key-service-readiness" {
            raw.insert("keyIds".to_owned(), "k1".to_owned());
            raw.insert("managementAccountId".to_owned(), "111122223333".to_owned());
        }
        let params = rule.parse_params(&raw).expect("params");
        let verdict = rule.judge(&resource, &Context { params: &params, resolver: &resolver });
        assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}: {verdict:?}", rule.id);
        let annotation = verdict.annotation().unwrap_or_default();
        assert!(annotation.contains(expected), "{}: `{annotation}` lacks `{expected}`", rule.id);
        judged += 1;
    }
    assert!(judged > 0);
}

#[test]
fn wrong_types_at_every_level_fail_closed() {
    let cases = [
        (
            json!({"Version": "2012-10-17", "Statement": 3}),
            "Statement: expected an object or an array of objects, found a number",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": {"kms": "*"}, "Principal": "*", "Resource": "*"}]}),
            "Statement[0].Action: expected a string or an array of strings, found an object",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Principal": [{"AWS": "*"}], "Resource": "*"}]}),
            "Statement[0].Principal: expected `*` or an object of principal types, found an array",
        ),
        (
            json!({"Statement": [{"Effect": "Permit", "Action": "kms:*", "Principal": "*", "Resource": "*"}]}),
            "Statement[0].Effect: `Permit` is not `Allow` or `Deny`",
        ),
        (
            json!({"Statement": [{"Effect": "", "Action": "kms:*", "Principal": "*", "Resource": "*"}]}),
            "Statement[0].Effect: `` is not `Allow` or `Deny`",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": [], "Principal": "*", "Resource": "*"}]}),
            "Statement[0].Action: is empty",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": ["kms:*", 5], "Principal": "*", "Resource": "*"}]}),
            "Statement[0].Action[1]: expected a string, found a number",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Principal": "*", "Resource": "*", "Condition": "yes"}]}),
            "Statement[0].Condition: expected an object, found a string",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Principal": {"Robot": "x"}, "Resource": "*"}]}),
            "`Robot` is not a principal type",
        ),
        (json!([1, 2]), "policy is an array, expected a JSON object"),
        (json!(null), "key policy is absent"),
        (json!(""), "policy document is empty"),
        (json!("%7B%22Statement%22%3A%5"), "invalid percent-encoding at byte 21"),
        (json!("%7B%22a%22%3A%22%FF%22%7D"), "percent-decoded policy is not UTF-8"),
        (json!("{\"Statement\": [}"), "policy is not valid JSON"),
    ];
    for (policy, expected) in cases {
        fails_closed(&key_with_policy(policy), expected);
    }
}

#[test]
fn identity_documents_fail_closed_too() {
    fails_closed(
        &policy_item(json!({"Statement": [{"Effect": "Allow", "Action": "kms:*"}]})),
        "has neither `Resource` nor `NotResource`",
    );
    fails_closed(
        &policy_item(json!({"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Principal": "*"}]})),
        "is not allowed in an identity policy",
    );
    fails_closed(&policy_item(json!(null)), "policy document is missing");
}

#[test]
fn huge_and_deep_documents_are_judged_or_rejected_not_crashed() {
    // 100,000 statements (a document far beyond IAM's limits): judged, and the one grant found.
    let mut statements: Vec<Value> = (0..100_000)
        .map(|i| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::b{i}/*")}))
        .collect();
    statements.push(json!({"Sid": "Last", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}));
    let resource =
        Resource::from_json(&policy_item(json!({"Version": "2012-10-17", "Statement": statements}))).expect("item");
    let rule = ALL.iter().find(|r| r.id == "iam-customer-policy-blocked-kms-actions").expect("rule");
    let params = rule.default_params();
    let verdict = rule.judge(&resource, &Context { params: &params, resolver: &MemoryResolver::new() });
    assert_eq!(verdict.annotation().as_deref(), Some("stmt \"Last\": allows kms:Decrypt on all keys"));

    // Nesting deeper than serde_json's recursion limit is a parse error, not a stack overflow.
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    fails_closed(&key_with_policy(Value::String(deep)), "recursion limit exceeded");
}

#[test]
fn duplicate_keys_take_the_last_value() {
    // serde_json keeps the last of duplicate keys; the verdict follows that document (here the
    // grant to everyone, which is NON_COMPLIANT: the reading that could pass is never chosen).
    let text = r#"{"Statement": [{"Effect": "Deny", "Effect": "Allow", "Action": "kms:Decrypt", "Principal": "*", "Resource": "*"}]}"#;
    let resource = Resource::from_json(&key_with_policy(Value::String(text.into()))).expect("item");
    let rule = ALL.iter().find(|r| r.id == "kms-key-policy-no-public-access").expect("rule");
    let verdict = rule.judge(&resource, &Context { params: &rule.default_params(), resolver: &MemoryResolver::new() });
    assert_eq!(verdict.compliance, Compliance::NonCompliant);
}

#[test]
fn broken_items_are_errors_that_name_the_field() {
    let message = |v: Value| Resource::from_json(&v).err().map(|e| e.to_string()).unwrap_or_else(|| "accepted".into());
    assert_eq!(
        message(json!({"resourceType": "AWS::KMS::Key", "resourceId": "k", "configuration": null})),
        "AWS::KMS::Key/k: field `configuration` is missing"
    );
    assert_eq!(
        message(json!({"resourceType": "AWS::IAM::Role", "resourceId": "r", "configuration": 5})),
        "AWS::IAM::Role/r: field `configuration` is a number, expected an object or a JSON string"
    );
    assert_eq!(message(json!({"resourceType": "", "resourceId": "r"})), "item: field `resourceType` is empty");
    assert_eq!(
        message(
            json!({"resourceType": "AWS::IAM::Role", "resourceId": "r", "configuration": {"roleName": "r", "rolePolicyList": {}}})
        ),
        "AWS::IAM::Role/r: field `configuration.rolePolicyList` is an object, expected an array"
    );
    // Unknown resource types are read (NOT_APPLICABLE for every rule), not rejected.
    let other =
        Resource::from_json(&json!({"resourceType": "AWS::S3::Bucket", "resourceId": "b", "configuration": {}}))
            .expect("read");
    for rule in ALL {
        let verdict = rule.judge(&other, &Context { params: &rule.default_params(), resolver: &MemoryResolver::new() });
        assert_eq!(verdict.compliance, Compliance::NotApplicable);
    }
}
