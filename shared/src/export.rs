//! Exported Config data: which shape a JSON document is, and the configuration items in it.
//!
//! Shapes are told apart by content, never by file name:
//! - Config snapshot and history files as delivered to S3, and `aws configservice
//!   get-resource-config-history` output: `{"configurationItems": [...]}`;
//! - `aws configservice batch-get-resource-config` output: `{"baseConfigurationItems": [...]}`;
//! - `aws configservice select-resource-config` output: `{"Results": ["<item JSON>", ...]}`;
//! - a single configuration item: `{"resourceType": ..., "resourceId": ...}`;
//! - `aws iam get-account-authorization-details` output (GAAD): `UserDetailList`,
//!   `GroupDetailList`, `RoleDetailList`, `Policies`. Its entries become items of the matching
//!   Config types with `resourceId` the `PolicyId`/`RoleId`/`UserId`/`GroupId`; AWS managed
//!   policies only resolve attachments and are never items (SPEC section 6).
//!
//! This module is pure: it takes parsed JSON and returns items, so the dry-run, the Lambda
//! shell and tests share it.

use serde_json::{json, Map, Value};

use crate::policy::decode::json_type;

/// The shape of an export document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportShape {
    /// S3 snapshot/history file or `get-resource-config-history` output.
    ConfigurationItems,
    /// `batch-get-resource-config` output.
    BatchGet,
    /// `select-resource-config` output.
    Select,
    /// One configuration item.
    SingleItem,
    /// `get-account-authorization-details` output.
    AuthorizationDetails,
}

/// Why a document is not an export we read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// No known shape.
    #[error("not a known export shape (expected `configurationItems`, `baseConfigurationItems`, `Results`, a configuration item with `resourceType`, or `get-account-authorization-details` output); found {found}")]
    UnknownShape {
        /// What was found instead (the top-level keys, or the JSON type).
        found: String,
    },
    /// A known shape with a wrong part.
    #[error("field `{field}` {problem}")]
    Field {
        /// Where (`configurationItems`, `Results[3]`).
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// Tells the shape of `document`.
pub fn detect(document: &Value) -> Result<ExportShape, ExportError> {
    let Some(object) = document.as_object() else {
        return Err(ExportError::UnknownShape { found: json_type(document).into() });
    };
    let shape = if object.contains_key("configurationItems") {
        ExportShape::ConfigurationItems
    } else if object.contains_key("baseConfigurationItems") {
        ExportShape::BatchGet
    } else if object.contains_key("Results") {
        ExportShape::Select
    } else if object.contains_key("resourceType") {
        ExportShape::SingleItem
    } else if ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"]
        .iter()
        .any(|k| object.contains_key(*k))
    {
        ExportShape::AuthorizationDetails
    } else {
        let keys: Vec<&str> = object.keys().map(String::as_str).take(6).collect();
        return Err(ExportError::UnknownShape { found: format!("keys {keys:?}") });
    };
    Ok(shape)
}

/// What an export holds: configuration items to evaluate, and AWS managed policies (GAAD) that
/// only resolve attachments, as `(arn, default version document)`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExportItems {
    /// Items, each with where it stood in the document (`configurationItems[12]`).
    pub items: Vec<(String, Value)>,
    /// AWS managed policies from GAAD input.
    pub aws_managed_policies: Vec<(String, Value)>,
}

/// The items of `document`, whatever its shape.
pub fn items(document: Value) -> Result<ExportItems, ExportError> {
    let shape = detect(&document)?;
    let mut out = ExportItems::default();
    let mut object = match document {
        Value::Object(object) => object,
        _ => return Err(ExportError::UnknownShape { found: "not an object".into() }),
    };
    match shape {
        ExportShape::SingleItem => out.items.push(("item".into(), Value::Object(object))),
        ExportShape::ConfigurationItems => {
            out.items = array_items(object.remove("configurationItems"), "configurationItems")?
        }
        ExportShape::BatchGet => {
            out.items = array_items(object.remove("baseConfigurationItems"), "baseConfigurationItems")?
        }
        ExportShape::Select => {
            for (at, result) in array_items(object.remove("Results"), "Results")? {
                let item = match result {
                    Value::String(text) => serde_json::from_str(&text).map_err(|e| ExportError::Field {
                        field: at.clone(),
                        problem: format!("is not a JSON configuration item: {e}"),
                    })?,
                    other => other,
                };
                out.items.push((at, item));
            }
        }
        ExportShape::AuthorizationDetails => out = authorization_details(&object)?,
    }
    Ok(out)
}

fn array_items(value: Option<Value>, field: &str) -> Result<Vec<(String, Value)>, ExportError> {
    match value {
        Some(Value::Array(items)) => {
            Ok(items.into_iter().enumerate().map(|(i, v)| (format!("{field}[{i}]"), v)).collect())
        }
        Some(other) => Err(ExportError::Field {
            field: field.into(),
            problem: format!("is {}, expected an array", json_type(&other)),
        }),
        None => Ok(Vec::new()),
    }
}

fn text<'v>(entry: &'v Value, name: &str) -> Option<&'v str> {
    entry.get(name).and_then(Value::as_str)
}

/// The account field of an ARN.
fn arn_account(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

fn gaad_item(resource_type: &str, id: &str, arn: &str, name: &str, configuration: Value) -> Value {
    json!({
        "resourceType": resource_type,
        "resourceId": id,
        "resourceName": name,
        "ARN": arn,
        "awsAccountId": arn_account(arn),
        "awsRegion": "global",
        "configurationItemStatus": "OK",
        "configuration": configuration,
        "supplementaryConfiguration": {},
    })
}

/// `[{PolicyName, PolicyDocument}]` to `[{policyName, policyDocument}]`.
fn inline_policies(entry: &Value, field: &str) -> Value {
    let list = entry.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        list.iter()
            .map(|p| json!({"policyName": p.get("PolicyName"), "policyDocument": p.get("PolicyDocument")}))
            .collect(),
    )
}

fn attached_policies(entry: &Value) -> Value {
    let list = entry.get("AttachedManagedPolicies").and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        list.iter().map(|p| json!({"policyName": p.get("PolicyName"), "policyArn": p.get("PolicyArn")})).collect(),
    )
}

fn required<'v>(entry: &'v Value, name: &str, at: &str) -> Result<&'v str, ExportError> {
    text(entry, name).ok_or_else(|| ExportError::Field {
        field: format!("{at}.{name}"),
        problem: "is missing or not a string".into(),
    })
}

fn list<'v>(object: &'v Map<String, Value>, name: &str) -> Result<&'v [Value], ExportError> {
    match object.get(name) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(ExportError::Field {
            field: name.into(),
            problem: format!("is {}, expected an array", json_type(other)),
        }),
    }
}

fn authorization_details(object: &Map<String, Value>) -> Result<ExportItems, ExportError> {
    let mut out = ExportItems::default();
    for (i, policy) in list(object, "Policies")?.iter().enumerate() {
        let at = format!("Policies[{i}]");
        let arn = required(policy, "Arn", &at)?;
        let versions = policy.get("PolicyVersionList").and_then(Value::as_array).cloned().unwrap_or_default();
        if arn_account(arn) == "aws" {
            let default = versions.iter().find(|v| v.get("IsDefaultVersion") == Some(&Value::Bool(true)));
            if let Some(document) = default.and_then(|v| v.get("Document")) {
                out.aws_managed_policies.push((arn.to_owned(), document.clone()));
            }
            continue;
        }
        let name = required(policy, "PolicyName", &at)?;
        let configuration = json!({
            "policyName": name,
            "policyId": policy.get("PolicyId"),
            "arn": arn,
            "path": policy.get("Path"),
            "defaultVersionId": policy.get("DefaultVersionId"),
            "attachmentCount": policy.get("AttachmentCount"),
            "permissionsBoundaryUsageCount": policy.get("PermissionsBoundaryUsageCount"),
            "isAttachable": policy.get("IsAttachable"),
            "policyVersionList": versions.iter().map(|v| json!({
                "document": v.get("Document"),
                "versionId": v.get("VersionId"),
                "isDefaultVersion": v.get("IsDefaultVersion"),
            })).collect::<Vec<_>>(),
        });
        let id = required(policy, "PolicyId", &at)?;
        out.items.push((at, gaad_item("AWS::IAM::Policy", id, arn, name, configuration)));
    }
    for (i, role) in list(object, "RoleDetailList")?.iter().enumerate() {
        let at = format!("RoleDetailList[{i}]");
        let (arn, name, id) =
            (required(role, "Arn", &at)?, required(role, "RoleName", &at)?, required(role, "RoleId", &at)?);
        let configuration = json!({
            "roleName": name, "roleId": id, "arn": arn, "path": role.get("Path"),
            "assumeRolePolicyDocument": role.get("AssumeRolePolicyDocument"),
            "rolePolicyList": inline_policies(role, "RolePolicyList"),
            "attachedManagedPolicies": attached_policies(role),
        });
        out.items.push((at, gaad_item("AWS::IAM::Role", id, arn, name, configuration)));
    }
    for (i, user) in list(object, "UserDetailList")?.iter().enumerate() {
        let at = format!("UserDetailList[{i}]");
        let (arn, name, id) =
            (required(user, "Arn", &at)?, required(user, "UserName", &at)?, required(user, "UserId", &at)?);
        let configuration = json!({
            "userName": name, "userId": id, "arn": arn, "path": user.get("Path"),
            "groupList": user.get("GroupList").cloned().unwrap_or_else(|| json!([])),
            "userPolicyList": inline_policies(user, "UserPolicyList"),
            "attachedManagedPolicies": attached_policies(user),
        });
        out.items.push((at, gaad_item("AWS::IAM::User", id, arn, name, configuration)));
    }
    for (i, group) in list(object, "GroupDetailList")?.iter().enumerate() {
        let at = format!("GroupDetailList[{i}]");
        let (arn, name, id) =
            (required(group, "Arn", &at)?, required(group, "GroupName", &at)?, required(group, "GroupId", &at)?);
        let configuration = json!({
            "groupName": name, "groupId": id, "arn": arn, "path": group.get("Path"),
            "groupPolicyList": inline_policies(group, "GroupPolicyList"),
            "attachedManagedPolicies": attached_policies(group),
        });
        out.items.push((at, gaad_item("AWS::IAM::Group", id, arn, name, configuration)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_told_by_content() {
        assert_eq!(detect(&json!({"fileVersion":"1.0","configurationItems":[]})), Ok(ExportShape::ConfigurationItems));
        assert_eq!(detect(&json!({"baseConfigurationItems":[]})), Ok(ExportShape::BatchGet));
        assert_eq!(detect(&json!({"Results":[]})), Ok(ExportShape::Select));
        assert_eq!(detect(&json!({"resourceType":"AWS::KMS::Key"})), Ok(ExportShape::SingleItem));
        assert_eq!(detect(&json!({"RoleDetailList":[]})), Ok(ExportShape::AuthorizationDetails));
        assert!(detect(&json!({"foo":1})).is_err());
        assert!(detect(&json!([1])).is_err());
    }

    #[test]
    fn select_results_are_json_strings() {
        let doc = json!({"Results":["{\"resourceType\":\"AWS::KMS::Key\",\"resourceId\":\"k\"}", "not json"]});
        let err = items(doc).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with("field `Results[1]` is not a JSON configuration item"), "{err}");
    }

    #[test]
    fn gaad_entries_become_items_and_aws_policies_only_resolve() {
        let doc = json!({
            "RoleDetailList":[{"RoleName":"App","RoleId":"AROA1","Arn":"arn:aws:iam::111122223333:role/App","Path":"/",
                "RolePolicyList":[{"PolicyName":"p","PolicyDocument":{"Version":"2012-10-17","Statement":[]}}],
                "AttachedManagedPolicies":[{"PolicyName":"AdministratorAccess","PolicyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}]}],
            "Policies":[{"PolicyName":"AdministratorAccess","PolicyId":"ANPA1","Arn":"arn:aws:iam::aws:policy/AdministratorAccess",
                "PolicyVersionList":[{"Document":{"Statement":[]},"VersionId":"v1","IsDefaultVersion":true}]}]
        });
        let out = items(doc).unwrap_or_default();
        assert_eq!(out.items.len(), 1);
        assert_eq!(out.aws_managed_policies.len(), 1);
        let resource = crate::item::Resource::from_json(&out.items[0].1);
        assert_eq!(resource.as_ref().map(|r| r.resource_id.as_str()), Ok("AROA1"));
        assert_eq!(resource.map(|r| r.account_id), Ok("111122223333".to_owned()));
    }
}
