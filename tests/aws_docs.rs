//! AWS's documented key policies (`tests/fixtures/aws-docs/`, each with its source page), judged
//! by the key-policy rules with the verdicts SPEC gives them.

use serde_json::{json, Value};
use shared::item::Resource;
use shared::{Compliance, Context, MemoryResolver};

use crate::rules::ALL;

fn verdicts(file: &str) -> Vec<(&'static str, Compliance, Option<String>)> {
    let path = format!("{}/fixtures/aws-docs/{file}", env!("CARGO_MANIFEST_DIR"));
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON");
    let item = json!({"resourceType": "AWS::KMS::Key", "resourceId": "1234abcd-12ab-34cd-56ef-1234567890ab", "awsAccountId": "111122223333",
        "ARN": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "configurationItemStatus": "OK",
        "configuration": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "keyManager": "CUSTOMER", "keyState": "Enabled"},
        "supplementaryConfiguration": {"Policy": policy.to_string()}});
    let resource = Resource::from_json(&item).expect("item");
    ALL.iter()
        .filter(|r| {
            r.id.starts_with("kms-key-policy") || r.id == "kms-no-wildcard-admin" || r.id == "kms-admin-use-separation"
        })
        .map(|rule| {
            let verdict =
                rule.judge(&resource, &Context { params: &rule.default_params(), resolver: &MemoryResolver::new() });
            (rule.id, verdict.compliance, verdict.annotation())
        })
        .collect()
}

fn of(verdicts: &[(&'static str, Compliance, Option<String>)], rule: &str) -> Compliance {
    verdicts.iter().find(|(id, _, _)| *id == rule).map(|(_, c, _)| *c).expect("rule")
}

#[test]
fn console_default_key_policy() {
    let v = verdicts("console-default-key-policy.json");
    assert_eq!(
        of(&v, "kms-key-policy-via-service-required"),
        Compliance::NonCompliant,
        "key users without kms:ViaService"
    );
    assert_eq!(of(&v, "kms-no-wildcard-admin"), Compliance::Compliant, "only the account root has kms:*");
    assert_eq!(
        of(&v, "kms-admin-use-separation"),
        Compliance::Compliant,
        "administrators and users are different roles"
    );
    assert_eq!(of(&v, "kms-key-policy-no-public-access"), Compliance::Compliant);
    assert_eq!(of(&v, "kms-key-policy-service-principal-conditions"), Compliance::Compliant);
}

#[test]
fn cloudtrail_documented_key_policy() {
    let v = verdicts("cloudtrail-key-policy.json");
    assert_eq!(
        of(&v, "kms-key-policy-service-principal-conditions"),
        Compliance::Compliant,
        "SourceArn and the trail encryption context"
    );
    assert_eq!(
        of(&v, "kms-key-policy-no-public-access"),
        Compliance::Compliant,
        "grants to * are limited by kms:CallerAccount"
    );
}

#[test]
fn config_documented_key_policy() {
    let v = verdicts("config-key-policy.json");
    assert_eq!(
        of(&v, "kms-key-policy-service-principal-conditions"),
        Compliance::Compliant,
        "AWS:SourceAccount, upper-case prefix"
    );
}

#[test]
fn controltower_documented_key_policy() {
    let v = verdicts("controltower-key-policy.json");
    let (_, compliance, annotation) =
        v.iter().find(|(id, _, _)| *id == "kms-key-policy-service-principal-conditions").expect("rule");
    assert_eq!(*compliance, Compliance::NonCompliant, "Config's statement carries no confused-deputy condition");
    assert!(annotation
        .as_deref()
        .unwrap_or_default()
        .starts_with("stmt \"Allow Config to use KMS for encryption\": config.amazonaws.com"));
}
