//! Configuration items and Config events as AWS writes them (the change-notification
//! dialect), for tests: one builder for each shape the tests used to write by hand.

use serde_json::{json, Value};

/// The capture time every built item carries.
pub const CAPTURE_TIME: &str = "2026-11-23T05:59:00.000Z";

/// A customer managed, enabled, single-Region symmetric key `key_id` of `account` in
/// us-east-1, as a change notification records it: its policy (`None`: the item records none,
/// as when Config did not capture it) is `supplementaryConfiguration.Policy`, JSON text.
pub fn key_item(account: &str, key_id: &str, policy: Option<&Value>) -> Value {
    let supplementary = match policy {
        Some(p) => json!({"Policy": p.to_string()}),
        None => json!({}),
    };
    json!({"configurationItemVersion": "1.3", "configurationItemCaptureTime": CAPTURE_TIME,
        "configurationItemStatus": "OK", "awsAccountId": account, "resourceType": "AWS::KMS::Key", "resourceId": key_id,
        "ARN": format!("arn:aws:kms:us-east-1:{account}:key/{key_id}"), "awsRegion": "us-east-1",
        "configuration": {"keyId": key_id, "keyManager": "CUSTOMER", "keyState": "Enabled", "keySpec": "SYMMETRIC_DEFAULT",
            "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false},
        "supplementaryConfiguration": supplementary})
}

/// A customer managed policy `name` (id `policy_id`) of `account`, whose default version `v1`
/// holds `document` as given (any JSON, so that tests can hand over a broken one).
pub fn policy_item(account: &str, policy_id: &str, name: &str, document: Value) -> Value {
    json!({"resourceType": "AWS::IAM::Policy", "resourceId": policy_id, "awsAccountId": account,
        "ARN": format!("arn:aws:iam::{account}:policy/{name}"), "configurationItemStatus": "OK",
        "configuration": {"policyName": name, "defaultVersionId": "v1",
            "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": document}]}})
}

/// The event Config sends rule `rule` for a change of `item` (a change notification), with
/// `parameters` as `ruleParameters` (JSON text) and the rule's name as the result token. The
/// account is the item's `awsAccountId`.
pub fn change_event(rule: &str, item: &Value, parameters: Option<&str>) -> Value {
    // An item without an account gives an event without one (`null`), which the event decoder
    // rejects: a test that builds one sees the error, nothing is made up.
    let account = item.get("awsAccountId").cloned().unwrap_or(Value::Null);
    let account_text = account.as_str().unwrap_or("");
    json!({
        "version": "1.0",
        "invokingEvent": json!({
            "configurationItem": item,
            "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-11-23T06:00:00.000Z",
            "recordVersion": "1.3"
        }).to_string(),
        "ruleParameters": parameters,
        "resultToken": rule,
        "eventLeftScope": false,
        "executionRoleArn": format!("arn:aws:iam::{account_text}:role/config-role"),
        "configRuleArn": format!("arn:aws:config:us-east-1:{account_text}:config-rule/config-rule-1"),
        "configRuleName": rule,
        "configRuleId": "config-rule-1",
        "accountId": account
    })
}
