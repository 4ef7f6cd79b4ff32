//! `aws iam get-account-authorization-details` (GAAD) entries, converted into configuration
//! items of the matching Config types.
//!
//! Every field the rules read is checked for its shape, and a wrong shape is an error naming
//! the field's path (`GroupDetailList[3].AttachedManagedPolicies is an object, expected an
//! array`), never an empty value: AWS's own CLI documentation example of this command gives
//! groups an object there, and reading it as "no policies" would judge a member of an
//! administrators' group COMPLIANT.
//!
//! What absence means: the IAM API reference marks every member of `UserDetail`,
//! `GroupDetail`, `RoleDetail`, `ManagedPolicyDetail`, `PolicyDetail`, `AttachedPolicy` and
//! `PolicyVersion` "Required: No"; IAM's XML leaves an empty list out or writes it empty, and
//! the AWS CLI prints either as `[]` or not at all. So an absent (or `null`) list is an empty
//! one, an absent document is a missing document (which the rules judge NON_COMPLIANT, fail
//! closed), and an absent permissions boundary is none. The fields the rules do not read
//! (`CreateDate`, `Tags`, `InstanceProfileList`, `RoleLastUsed`, ...) are not checked.

use serde_json::{json, Value};

use super::ExportError;
use crate::policy::decode::json_type;

/// The four lists of `get-account-authorization-details` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaadList {
    /// `Policies`
    Policies,
    /// `RoleDetailList`
    Roles,
    /// `UserDetailList`
    Users,
    /// `GroupDetailList`
    Groups,
}

impl GaadList {
    /// The list's top-level key.
    pub fn key(self) -> &'static str {
        match self {
            GaadList::Policies => "Policies",
            GaadList::Roles => "RoleDetailList",
            GaadList::Users => "UserDetailList",
            GaadList::Groups => "GroupDetailList",
        }
    }

    /// The list a top-level GAAD key names.
    pub fn from_key(key: &str) -> Option<GaadList> {
        match key {
            "Policies" => Some(GaadList::Policies),
            "RoleDetailList" => Some(GaadList::Roles),
            "UserDetailList" => Some(GaadList::Users),
            "GroupDetailList" => Some(GaadList::Groups),
            _ => None,
        }
    }
}

/// One GAAD entry, converted.
#[derive(Debug, Clone, PartialEq)]
pub enum GaadEntry {
    /// A configuration item of the matching Config type.
    Item(Value),
    /// An AWS managed policy: resolves attachments, never evaluated.
    AwsManagedPolicy {
        /// Its ARN.
        arn: String,
        /// Its default version's document.
        document: Value,
    },
}

/// Converts one entry of a GAAD list (`at` names it in errors: `RoleDetailList[3]`).
pub fn gaad_entry(list: GaadList, at: &str, entry: &Value) -> Result<Option<GaadEntry>, ExportError> {
    if !entry.is_object() {
        return Err(wrong(at, entry, "an object"));
    }
    let fields = Fields { entry, at };
    match list {
        GaadList::Policies => fields.policy(),
        GaadList::Roles => fields.identity("AWS::IAM::Role", [("RoleName", "roleName"), ("RoleId", "roleId")], || {
            Ok(vec![
                ("assumeRolePolicyDocument", fields.document("AssumeRolePolicyDocument")?),
                ("rolePolicyList", fields.inline_policies("RolePolicyList")?),
                ("attachedManagedPolicies", fields.attached_policies()?),
                ("permissionsBoundary", fields.permissions_boundary()?),
            ])
        }),
        GaadList::Users => fields.identity("AWS::IAM::User", [("UserName", "userName"), ("UserId", "userId")], || {
            Ok(vec![
                ("groupList", fields.group_list()?),
                ("userPolicyList", fields.inline_policies("UserPolicyList")?),
                ("attachedManagedPolicies", fields.attached_policies()?),
                ("permissionsBoundary", fields.permissions_boundary()?),
            ])
        }),
        GaadList::Groups => {
            fields.identity("AWS::IAM::Group", [("GroupName", "groupName"), ("GroupId", "groupId")], || {
                Ok(vec![
                    ("groupPolicyList", fields.inline_policies("GroupPolicyList")?),
                    ("attachedManagedPolicies", fields.attached_policies()?),
                ])
            })
        }
    }
}

/// `{at} is <type>, expected <expected>`.
fn wrong(at: &str, value: &Value, expected: &str) -> ExportError {
    ExportError::Field { field: at.to_owned(), problem: format!("is {}, expected {expected}", json_type(value)) }
}

fn missing(at: &str) -> ExportError {
    ExportError::Field { field: at.to_owned(), problem: "is missing".into() }
}

/// The account field of an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`).
fn arn_account(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    match (parts.next(), parts.nth(3), parts.next()) {
        (Some("arn"), Some(account), Some(_)) => Some(account),
        _ => None,
    }
}

fn item(resource_type: &str, id: &str, (arn, account): (&str, &str), name: &str, configuration: Value) -> Value {
    object([
        ("resourceType", resource_type.into()),
        ("resourceId", id.into()),
        ("resourceName", name.into()),
        ("ARN", arn.into()),
        ("awsAccountId", account.into()),
        ("awsRegion", "global".into()),
        ("configurationItemStatus", "OK".into()),
        ("configuration", configuration),
        ("supplementaryConfiguration", json!({})),
    ])
}

/// An object of `fields`, each value moved in. `json!` copies a `Value` it is given through
/// serde's serializer: on the GAAD workload, copying the documents that way took more than a
/// third of the dry-run's instructions (callgrind, 100 MB).
fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(fields.into_iter().map(|(key, value)| (key.to_owned(), value)).collect())
}

/// One object's fields, with errors naming `at.<field>`.
#[derive(Clone, Copy)]
struct Fields<'v> {
    entry: &'v Value,
    at: &'v str,
}

impl<'v> Fields<'v> {
    fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.at)
    }

    /// A field that is there and not null.
    fn get(&self, name: &str) -> Option<&'v Value> {
        self.entry.get(name).filter(|v| !v.is_null())
    }

    fn text(&self, name: &str) -> Result<&'v str, ExportError> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(wrong(&self.path(name), other, "a string")),
            None => Err(missing(&self.path(name))),
        }
    }

    fn opt_text(&self, name: &str) -> Result<Option<&'v str>, ExportError> {
        match self.get(name) {
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong(&self.path(name), other, "a string")),
            None => Ok(None),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ExportError> {
        match self.get(name) {
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong(&self.path(name), other, "a boolean")),
            None => Ok(None),
        }
    }

    fn opt_count(&self, name: &str) -> Result<Option<u64>, ExportError> {
        match self.get(name) {
            Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64()),
            Some(Value::Number(_)) => Err(ExportError::Field {
                field: self.path(name),
                problem: "is a number, expected a count (a whole number, 0 or more)".into(),
            }),
            Some(other) => Err(wrong(&self.path(name), other, "a number")),
            None => Ok(None),
        }
    }

    /// A list; absent or null is empty (see the module's note on absence).
    fn list(&self, name: &str) -> Result<&'v [Value], ExportError> {
        match self.get(name) {
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(wrong(&self.path(name), other, "an array")),
            None => Ok(&[]),
        }
    }

    /// The list's elements, each an object, with its path (`RolePolicyList[2]`).
    fn objects(&self, name: &str) -> Result<Vec<(String, &'v Value)>, ExportError> {
        let mut out = Vec::new();
        for (i, element) in self.list(name)?.iter().enumerate() {
            let at = format!("{}[{i}]", self.path(name));
            if !element.is_object() {
                return Err(wrong(&at, element, "an object"));
            }
            out.push((at, element));
        }
        Ok(out)
    }

    /// A policy document: a JSON object, or its text (URL-encoded as IAM returns it); absent is
    /// null (a missing document, judged fail closed). A document that does not parse is a
    /// verdict, not an input error; only a value that cannot be a document is one here.
    fn document(&self, name: &str) -> Result<Value, ExportError> {
        match self.get(name) {
            None => Ok(Value::Null),
            Some(document @ (Value::String(_) | Value::Object(_))) => Ok(document.clone()),
            Some(other) => {
                Err(wrong(&self.path(name), other, "a policy document (a JSON object or its URL-encoded text)"))
            }
        }
    }

    /// A role, user or group as a configuration item: the name and id (GAAD's field and the
    /// item's key of each), the ARN and the path, which the three have alike, then `own`, what
    /// this one has besides. Fields are read in that order, so a wrong one is the first error.
    fn identity(
        &self,
        resource_type: &str,
        [(name_field, name_key), (id_field, id_key)]: [(&str, &'static str); 2],
        own: impl FnOnce() -> Result<Vec<(&'static str, Value)>, ExportError>,
    ) -> Result<Option<GaadEntry>, ExportError> {
        let ((arn, account), name, id) = (self.arn()?, self.text(name_field)?, self.text(id_field)?);
        let alike = [
            (name_key, json!(name)),
            (id_key, json!(id)),
            ("arn", json!(arn)),
            ("path", json!(self.opt_text("Path")?)),
        ];
        let configuration = alike.into_iter().chain(own()?).map(|(key, value)| (key.to_owned(), value)).collect();
        Ok(Some(GaadEntry::Item(item(resource_type, id, (arn, account), name, Value::Object(configuration)))))
    }

    /// `Arn`, which must carry an account field, and that account: the rules take the
    /// resource's own account from it.
    fn arn(&self) -> Result<(&'v str, &'v str), ExportError> {
        let arn = self.text("Arn")?;
        match arn_account(arn) {
            Some(account) => Ok((arn, account)),
            None => Err(ExportError::Field {
                field: self.path("Arn"),
                problem: format!("is `{arn}`, expected an ARN (`arn:aws:iam::<account>:...`)"),
            }),
        }
    }

    /// `[{PolicyName, PolicyDocument}]` to `[{policyName, policyDocument}]`.
    fn inline_policies(&self, name: &str) -> Result<Value, ExportError> {
        let mut out = Vec::new();
        for (at, policy) in self.objects(name)? {
            let policy = Fields { entry: policy, at: &at };
            out.push(object([
                ("policyName", policy.text("PolicyName")?.into()),
                ("policyDocument", policy.document("PolicyDocument")?),
            ]));
        }
        Ok(Value::Array(out))
    }

    /// `[{PolicyName, PolicyArn}]` to `[{policyName, policyArn}]`.
    fn attached_policies(&self) -> Result<Value, ExportError> {
        let mut out = Vec::new();
        for (at, policy) in self.objects("AttachedManagedPolicies")? {
            let policy = Fields { entry: policy, at: &at };
            out.push(json!({"policyName": policy.text("PolicyName")?, "policyArn": policy.text("PolicyArn")?}));
        }
        Ok(Value::Array(out))
    }

    /// `GroupList`: the names of a user's groups.
    fn group_list(&self) -> Result<Value, ExportError> {
        let mut out = Vec::new();
        for (i, name) in self.list("GroupList")?.iter().enumerate() {
            match name {
                Value::String(_) => out.push(name.clone()),
                other => return Err(wrong(&format!("{}[{i}]", self.path("GroupList")), other, "a string")),
            }
        }
        Ok(Value::Array(out))
    }

    /// `PermissionsBoundary` (`{PermissionsBoundaryArn, PermissionsBoundaryType}`) to the item's
    /// `permissionsBoundary` (`{permissionsBoundaryArn, permissionsBoundaryType}`); absent or
    /// null is none. Any other shape is an error naming the field
    /// (`RoleDetailList[3].PermissionsBoundary`): a boundary that is there but unread would
    /// change what the identity may do.
    fn permissions_boundary(&self) -> Result<Value, ExportError> {
        let at = self.path("PermissionsBoundary");
        let boundary = match self.get("PermissionsBoundary") {
            None => return Ok(Value::Null),
            Some(boundary @ Value::Object(_)) => Fields { entry: boundary, at: &at },
            Some(other) => return Err(wrong(&at, other, "an object")),
        };
        Ok(json!({
            "permissionsBoundaryArn": boundary.text("PermissionsBoundaryArn")?,
            "permissionsBoundaryType": boundary.opt_text("PermissionsBoundaryType")?,
        }))
    }

    /// A `Policies` entry: an item for a customer managed policy, the default version's
    /// document for an AWS managed one.
    fn policy(&self) -> Result<Option<GaadEntry>, ExportError> {
        let (arn, account) = self.arn()?;
        let mut versions = Vec::new();
        for (at, version) in self.objects("PolicyVersionList")? {
            let version = Fields { entry: version, at: &at };
            versions.push((
                version.opt_bool("IsDefaultVersion")?.unwrap_or(false),
                object([
                    ("document", version.document("Document")?),
                    ("versionId", version.opt_text("VersionId")?.into()),
                    ("isDefaultVersion", version.opt_bool("IsDefaultVersion")?.into()),
                ]),
            ));
        }
        if account == "aws" {
            // An AWS managed policy only resolves attachments. Without a default version here
            // it is left out, and an identity that attaches it gets the bundled copy or, when
            // none is bundled, a fail-closed verdict for an unresolved policy.
            let default = versions.iter().find(|(is_default, _)| *is_default);
            return Ok(default
                .and_then(|(_, v)| v.get("document"))
                .filter(|d| !d.is_null())
                .map(|document| GaadEntry::AwsManagedPolicy { arn: arn.to_owned(), document: document.clone() }));
        }
        let (name, id) = (self.text("PolicyName")?, self.text("PolicyId")?);
        let configuration = object([
            ("policyName", name.into()),
            ("policyId", id.into()),
            ("arn", arn.into()),
            ("path", self.opt_text("Path")?.into()),
            ("defaultVersionId", self.opt_text("DefaultVersionId")?.into()),
            ("attachmentCount", self.opt_count("AttachmentCount")?.into()),
            ("permissionsBoundaryUsageCount", self.opt_count("PermissionsBoundaryUsageCount")?.into()),
            ("isAttachable", self.opt_bool("IsAttachable")?.into()),
            ("policyVersionList", Value::Array(versions.into_iter().map(|(_, v)| v).collect())),
        ]);
        Ok(Some(GaadEntry::Item(item("AWS::IAM::Policy", id, (arn, account), name, configuration))))
    }
}
