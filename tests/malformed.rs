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
    shared::test_kit::items::policy_item("111122223333", "ANPA1", "P", document)
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

#[test]
fn truncated_documents_and_items_say_where() {
    // A key policy cut short, as JSON text and URL-encoded: fail closed with serde's position.
    let cut = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Princ"#;
    fails_closed(
        &key_with_policy(json!(cut)),
        "policy is not valid JSON: EOF while parsing a string at line 1 column 66",
    );
    let encoded: String = cut.bytes().map(|b| format!("%{b:02X}")).collect();
    fails_closed(&key_with_policy(json!(encoded)), "policy is not valid JSON: EOF while parsing");
    // The API dialect's `configuration` (a JSON string) cut short: an item error naming the field.
    let message = Resource::from_json(&json!({"resourceType": "AWS::KMS::Key", "resourceId": "k",
        "configuration": "{\"keyId\": \"k\", \"keyState\": \"Ena"}))
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(
        message.starts_with("AWS::KMS::Key/k: field `configuration` is a string that is not JSON: EOF while parsing"),
        "{message}"
    );
}

#[test]
fn a_one_megabyte_policy_is_judged() {
    // One statement with 40,000 actions (about 1 MB URL-encoded, as Config records it), then a
    // grant to everyone: the grant is found.
    let actions: Vec<String> = (0..40_000).map(|i| format!("s3:GetObjectVersion{i:05}")).collect();
    let document = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Big", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": actions, "Resource": "*"},
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]})
    .to_string();
    let encoded: String = document.bytes().map(|b| format!("%{b:02X}")).collect();
    assert!(encoded.len() > 1 << 20, "{} bytes", encoded.len());
    let resource = Resource::from_json(&key_with_policy(json!(encoded))).expect("item");
    let rule = ALL.iter().find(|r| r.id == "kms-key-policy-no-public-access").expect("rule");
    let verdict = rule.judge(&resource, &Context { params: &rule.default_params(), resolver: &MemoryResolver::new() });
    assert_eq!(verdict.compliance, Compliance::NonCompliant);
    assert!(verdict.annotation().unwrap_or_default().starts_with("stmt \"Public\""), "{:?}", verdict.annotation());
}

#[test]
fn patterns_with_many_stars_are_judged_by_every_rule() {
    // Resource, principal and condition patterns of 5,000 stars each (a backtracking matcher
    // would never finish): every rule answers, and the grant to everyone is still found.
    let stars = "*a".repeat(5_000);
    let document = json!({"Statement": [
        {"Sid": "Stars", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Stars"},
            "Action": format!("kms:{stars}"), "Resource": format!("arn:aws:kms:*:111122223333:key/{stars}"),
            "Condition": {"StringLike": {"kms:ViaService": stars.clone(), "aws:SourceArn": stars}}},
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]});
    let resource = Resource::from_json(&key_with_policy(document)).expect("item");
    let resolver = MemoryResolver::new();
    for rule in ALL {
        let mut raw = std::collections::BTreeMap::new();
        if rule.id == "kms-key-service-readiness" {
            raw.insert("keyIds".to_owned(), "k1".to_owned());
        }
        let params = rule.parse_params(&raw).expect("params");
        let verdict = rule.judge(&resource, &Context { params: &params, resolver: &resolver });
        if rule.id == "kms-key-policy-no-public-access" {
            assert!(verdict.annotation().unwrap_or_default().starts_with("stmt \"Public\""), "{verdict:?}");
        }
    }
    // The same stars in an identity policy: the key universe is walked through a 10,000-token
    // automaton (every region, every kind of key id) and still answers.
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": format!("arn:aws:kms:*:111122223333:key/{}", "*a".repeat(5_000))},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": format!("arn:aws:kms:*:111122223333:key/{}", "*0".repeat(5_000))}]});
    let policy = Resource::from_json(&policy_item(json!(identity.to_string()))).expect("policy item");
    for rule in ALL.iter().filter(|r| r.resource_types.contains(&shared::ResourceType::IamPolicy)) {
        let verdict = rule.judge(&policy, &Context { params: &rule.default_params(), resolver: &resolver });
        assert_eq!(verdict.compliance, Compliance::Compliant, "{}: {verdict:?}", rule.id);
    }
}

#[test]
fn a_principal_arn_with_a_partial_wildcard_fails_closed() {
    // IAM rejects `arn:aws:iam::<acct>:user/*` in a key policy (SPEC section 2): the key is
    // NON_COMPLIANT with the parse error for every key-policy rule, never judged as if valid.
    let document = json!({"Statement": [
        {"Sid": "Users", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/*"},
            "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]});
    let resource = Resource::from_json(&key_with_policy(document)).expect("item");
    for rule in ALL
        .iter()
        .filter(|r| r.id != "kms-key-service-readiness" && r.resource_types.contains(&shared::ResourceType::KmsKey))
    {
        let verdict =
            rule.judge(&resource, &Context { params: &rule.default_params(), resolver: &MemoryResolver::new() });
        assert_eq!(verdict.compliance, Compliance::NonCompliant, "{}", rule.id);
        assert!(verdict.annotation().unwrap_or_default().contains("holds a wildcard"), "{}: {verdict:?}", rule.id);
    }
}

#[test]
fn deep_nesting_in_exports_and_events_is_an_error() {
    // Beyond serde_json's recursion limit anywhere in an export or an event: an error that says
    // so, never a stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let export = format!("{{\"configurationItems\": [{{\"resourceType\": \"AWS::KMS::Key\", \"x\": {deep}}}]}}");
    let error = shared::export::stream(export.as_bytes(), &mut |_| {}).err().map(|e| e.to_string());
    assert!(error.as_deref().unwrap_or_default().contains("recursion limit exceeded"), "{error:?}");
    // The dry-run's reader only splits: the entry is its own error when decoded.
    let mut decoded = Vec::new();
    let shape = shared::export::stream_raw(export.as_bytes(), &mut |entry| decoded.extend(entry.decode()));
    assert!(shape.is_ok(), "{shape:?}");
    let message = match decoded.as_slice() {
        [shared::export::Found::Error(e)] => e.to_string(),
        other => format!("{other:?}"),
    };
    assert!(
        message.starts_with("field `configurationItems[0]` is not valid JSON: recursion limit exceeded"),
        "{message}"
    );
    let event = json!({"invokingEvent": deep, "resultToken": "t", "accountId": "111122223333", "configRuleName": "r"});
    let error = shared::event::decode(&event).err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.starts_with("config event field `invokingEvent` is not a JSON document: recursion limit exceeded"),
        "{error}"
    );
}

#[test]
fn duplicate_item_lists_are_all_read() {
    // Two `configurationItems` arrays in one file: both are read (a whole-document reader
    // would keep only the last; the stream loses nothing).
    let text = r#"{"configurationItems": [{"resourceType": "AWS::KMS::Key", "resourceId": "a"}],
                   "configurationItems": [{"resourceType": "AWS::KMS::Key", "resourceId": "b"}]}"#;
    let mut ids = Vec::new();
    shared::export::stream(text.as_bytes(), &mut |found| {
        if let shared::export::Found::Item { item, .. } = found {
            ids.push(item["resourceId"].as_str().unwrap_or_default().to_owned());
        }
    })
    .expect("stream");
    assert_eq!(ids, ["a", "b"]);
}
