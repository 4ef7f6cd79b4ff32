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

//!
//! The conversion reads the entry as a [`Tree`] and builds the item as one, in the same arena:
//! the documents are not copied (the dry-run parses each entry's text straight into a tree,
//! [`super::RawEntry::decode_gaad`]). [`gaad_entry`] gives the same as owned `Value`s.

use std::fmt;

use bumpalo::Bump;
use serde_json::Value;

use super::ExportError;
use crate::json_tree::{Keeping, Object, Tree};
use crate::policy::{knows_well_formed, PolicyKind};

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

/// One GAAD entry, converted, as owned values.
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

/// One GAAD entry, converted into trees that borrow from the entry's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GaadTree<'a> {
    /// A configuration item of the matching Config type.
    Item(Tree<'a>),
    /// An AWS managed policy: resolves attachments, never evaluated.
    AwsManagedPolicy {
        /// Its ARN.
        arn: &'a str,
        /// Its default version's document.
        document: Tree<'a>,
    },
}

/// Where an entry's policy documents are, kept as their text when it is parsed
/// ([`Keeping`]): a role's trust policy (`AssumeRolePolicyDocument`, a member of the entry), an
/// inline policy's document (`PolicyDocument`, in an element of `RolePolicyList`,
/// `UserPolicyList` or `GroupPolicyList`) and a managed policy version's (`Document`, in an
/// element of `PolicyVersionList`). A document the policy memo holds is left unread.
/// (`InstanceProfileList`'s roles have trust policies too, deeper: not read, not kept.)
pub(super) const DOCUMENTS: Keeping<'static> = Keeping {
    members: &[(1, "AssumeRolePolicyDocument"), (3, "PolicyDocument"), (3, "Document")],
    known: &|key, text| {
        let kind = if key == "AssumeRolePolicyDocument" { PolicyKind::Trust } else { PolicyKind::Identity };
        knows_well_formed(text, kind)
    },
    strings: &[],
    known_string: &|_, _| false,
};

/// Converts one entry of a GAAD list (`at` names it in errors: `RoleDetailList[3]`).
pub fn gaad_entry(list: GaadList, at: &str, entry: &Value) -> Result<Option<GaadEntry>, ExportError> {
    let arena = Bump::new();
    let converted = gaad_tree(list, &at, &Tree::of_value(entry, &arena), &arena)?;
    Ok(converted.map(|converted| match converted {
        GaadTree::Item(item) => GaadEntry::Item(item.to_value()),
        GaadTree::AwsManagedPolicy { arn, document } => {
            GaadEntry::AwsManagedPolicy { arn: arn.to_owned(), document: document.to_value() }
        }
    }))
}

/// As [`gaad_entry`], from and into trees: what the item is built of lives in `arena`.
pub fn gaad_tree<'a>(
    list: GaadList,
    at: &dyn fmt::Display,
    entry: &Tree<'a>,
    arena: &'a Bump,
) -> Result<Option<GaadTree<'a>>, ExportError> {
    let Tree::Object(entry) = entry else {
        return Err(wrong(&at.to_string(), entry, "an object"));
    };
    let fields = Fields { entry: *entry, at: At::Entry(at), arena };
    match list {
        GaadList::Policies => fields.policy(),
        GaadList::Roles => fields.identity("AWS::IAM::Role", [("RoleName", "roleName"), ("RoleId", "roleId")], || {
            Ok([
                ("assumeRolePolicyDocument", fields.document("AssumeRolePolicyDocument")?),
                ("rolePolicyList", fields.inline_policies("RolePolicyList")?),
                ("attachedManagedPolicies", fields.attached_policies()?),
                ("permissionsBoundary", fields.permissions_boundary()?),
            ]
            .to_vec())
        }),
        GaadList::Users => fields.identity("AWS::IAM::User", [("UserName", "userName"), ("UserId", "userId")], || {
            Ok([
                ("groupList", fields.group_list()?),
                ("userPolicyList", fields.inline_policies("UserPolicyList")?),
                ("attachedManagedPolicies", fields.attached_policies()?),
                ("permissionsBoundary", fields.permissions_boundary()?),
            ]
            .to_vec())
        }),
        GaadList::Groups => {
            fields.identity("AWS::IAM::Group", [("GroupName", "groupName"), ("GroupId", "groupId")], || {
                Ok([
                    ("groupPolicyList", fields.inline_policies("GroupPolicyList")?),
                    ("attachedManagedPolicies", fields.attached_policies()?),
                ]
                .to_vec())
            })
        }
    }
}

/// `{at} is <type>, expected <expected>`.
fn wrong(at: &str, value: &Tree<'_>, expected: &str) -> ExportError {
    ExportError::Field { field: at.to_owned(), problem: format!("is {}, expected {expected}", value.type_name()) }
}

fn missing(at: &str) -> ExportError {
    ExportError::Field { field: at.to_owned(), problem: "is missing".into() }
}

/// The account field of an ARN (`arn:<partition>:<service>:<region>:<account>:<resource>`).
fn arn_account(arn: &str) -> Option<&str> {
    crate::arn::Arn::parse(arn).ok().map(|arn| arn.account)
}

/// A text, or null.
fn text_or_null(text: Option<&str>) -> Tree<'_> {
    text.map_or(Tree::Null, Tree::String)
}

/// A boolean, or null.
fn bool_or_null<'a>(b: Option<bool>) -> Tree<'a> {
    b.map_or(Tree::Null, Tree::Bool)
}

/// Where an object sits in the input, written out only for an error: most entries have
/// none, and writing each list element's place cost 2% of the dry-run's instructions on GAAD.
#[derive(Clone, Copy)]
enum At<'p> {
    /// The entry (`RoleDetailList[3]`).
    Entry(&'p dyn fmt::Display),
    /// An object in a field (`RoleDetailList[3].PermissionsBoundary`).
    Field(&'p At<'p>, &'p str),
    /// An element of a list (`RoleDetailList[3].RolePolicyList[2]`).
    Element(&'p At<'p>, &'p str, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Entry(entry) => entry.fmt(f),
            At::Field(parent, name) => write!(f, "{parent}.{name}"),
            At::Element(parent, name, index) => write!(f, "{parent}.{name}[{index}]"),
        }
    }
}

/// One object's fields, with errors naming `at.<field>`; what is built lives in `arena`.
#[derive(Clone, Copy)]
struct Fields<'a, 'p> {
    entry: Object<'a>,
    at: At<'p>,
    arena: &'a Bump,
}

impl<'a, 'p> Fields<'a, 'p> {
    fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.at)
    }

    /// The fields of `entry`, the object at `at` within this one.
    fn of<'q>(&self, entry: Object<'a>, at: At<'q>) -> Fields<'a, 'q> {
        Fields { entry, at, arena: self.arena }
    }

    /// An object of `fields`, in the arena.
    fn object<const N: usize>(&self, fields: [(&'a str, Tree<'a>); N]) -> Tree<'a> {
        Tree::object_in(self.arena, fields)
    }

    /// A field that is there and not null.
    fn get(&self, name: &str) -> Option<&'a Tree<'a>> {
        self.entry.get(name).filter(|v| !matches!(v, Tree::Null))
    }

    fn text(&self, name: &str) -> Result<&'a str, ExportError> {
        match self.get(name) {
            Some(Tree::String(s)) => Ok(s),
            Some(other) => Err(wrong(&self.path(name), other, "a string")),
            None => Err(missing(&self.path(name))),
        }
    }

    fn opt_text(&self, name: &str) -> Result<Option<&'a str>, ExportError> {
        match self.get(name) {
            Some(Tree::String(s)) => Ok(Some(s)),
            Some(other) => Err(wrong(&self.path(name), other, "a string")),
            None => Ok(None),
        }
    }

    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ExportError> {
        match self.get(name) {
            Some(Tree::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong(&self.path(name), other, "a boolean")),
            None => Ok(None),
        }
    }

    /// A count, or null.
    fn opt_count(&self, name: &str) -> Result<Tree<'a>, ExportError> {
        match self.get(name) {
            Some(count @ Tree::Number(n)) if n.is_u64() => Ok(*count),
            Some(Tree::Number(_)) => Err(ExportError::Field {
                field: self.path(name),
                problem: "is a number, expected a count (a whole number, 0 or more)".into(),
            }),
            Some(other) => Err(wrong(&self.path(name), other, "a number")),
            None => Ok(Tree::Null),
        }
    }

    /// A list; absent or null is empty (see the module's note on absence).
    fn list(&self, name: &str) -> Result<&'a [Tree<'a>], ExportError> {
        match self.get(name) {
            Some(Tree::Array(items)) => Ok(items),
            Some(other) => Err(wrong(&self.path(name), other, "an array")),
            None => Ok(&[]),
        }
    }

    /// The list's elements, each an object, with its index (`RolePolicyList[2]`).
    fn objects(&self, name: &str) -> Result<Vec<(usize, Object<'a>)>, ExportError> {
        let mut out = Vec::new();
        for (i, element) in self.list(name)?.iter().enumerate() {
            match element {
                Tree::Object(object) => out.push((i, *object)),
                other => return Err(wrong(&At::Element(&self.at, name, i).to_string(), other, "an object")),
            }
        }
        Ok(out)
    }

    /// A policy document: a JSON object, or its text (URL-encoded as IAM returns it); absent is
    /// null (a missing document, judged fail closed). A document that does not parse is a
    /// verdict, not an input error; only a value that cannot be a document is one here.
    fn document(&self, name: &str) -> Result<Tree<'a>, ExportError> {
        match self.get(name) {
            None => Ok(Tree::Null),
            Some(document @ (Tree::String(_) | Tree::Object(_) | Tree::Kept(_))) => Ok(*document),
            Some(other) => {
                Err(wrong(&self.path(name), other, "a policy document (a JSON object or its URL-encoded text)"))
            }
        }
    }

    /// A configuration item of `resource_type` with this `configuration`.
    fn item(
        &self,
        resource_type: &'static str,
        id: &'a str,
        (arn, account): (&'a str, &'a str),
        name: &'a str,
        configuration: Tree<'a>,
    ) -> Tree<'a> {
        self.object([
            ("resourceType", Tree::String(resource_type)),
            ("resourceId", Tree::String(id)),
            ("resourceName", Tree::String(name)),
            ("ARN", Tree::String(arn)),
            ("awsAccountId", Tree::String(account)),
            ("awsRegion", Tree::String("global")),
            ("configurationItemStatus", Tree::String("OK")),
            ("configuration", configuration),
            ("supplementaryConfiguration", Tree::Object(Object::default())),
        ])
    }

    /// A role, user or group as a configuration item: the name and id (GAAD's field and the
    /// item's key of each), the ARN and the path, which the three have alike, then `own`, what
    /// this one has besides. Fields are read in that order, so a wrong one is the first error.
    fn identity(
        &self,
        resource_type: &'static str,
        [(name_field, name_key), (id_field, id_key)]: [(&str, &'static str); 2],
        own: impl FnOnce() -> Result<Vec<(&'static str, Tree<'a>)>, ExportError>,
    ) -> Result<Option<GaadTree<'a>>, ExportError> {
        let ((arn, account), name, id) = (self.arn()?, self.text(name_field)?, self.text(id_field)?);
        let alike = [
            (name_key, Tree::String(name)),
            (id_key, Tree::String(id)),
            ("arn", Tree::String(arn)),
            ("path", text_or_null(self.opt_text("Path")?)),
        ];
        let fields: Vec<(&'a str, Tree<'a>)> = alike.into_iter().chain(own()?).collect();
        let configuration = Tree::object_in(self.arena, fields);
        Ok(Some(GaadTree::Item(self.item(resource_type, id, (arn, account), name, configuration))))
    }

    /// `Arn`, which must carry an account field, and that account: the rules take the
    /// resource's own account from it.
    fn arn(&self) -> Result<(&'a str, &'a str), ExportError> {
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
    fn inline_policies(&self, name: &str) -> Result<Tree<'a>, ExportError> {
        let mut out = Vec::new();
        for (i, policy) in self.objects(name)? {
            let policy = self.of(policy, At::Element(&self.at, name, i));
            out.push(self.object([
                ("policyName", Tree::String(policy.text("PolicyName")?)),
                ("policyDocument", policy.document("PolicyDocument")?),
            ]));
        }
        Ok(Tree::array_in(self.arena, out))
    }

    /// `[{PolicyName, PolicyArn}]` to `[{policyName, policyArn}]`.
    fn attached_policies(&self) -> Result<Tree<'a>, ExportError> {
        let mut out = Vec::new();
        for (i, policy) in self.objects("AttachedManagedPolicies")? {
            let policy = self.of(policy, At::Element(&self.at, "AttachedManagedPolicies", i));
            out.push(self.object([
                ("policyName", Tree::String(policy.text("PolicyName")?)),
                ("policyArn", Tree::String(policy.text("PolicyArn")?)),
            ]));
        }
        Ok(Tree::array_in(self.arena, out))
    }

    /// `GroupList`: the names of a user's groups.
    fn group_list(&self) -> Result<Tree<'a>, ExportError> {
        let names = self.list("GroupList")?;
        for (i, name) in names.iter().enumerate() {
            if !name.is_string() {
                return Err(wrong(&format!("{}[{i}]", self.path("GroupList")), name, "a string"));
            }
        }
        Ok(Tree::Array(names))
    }

    /// `PermissionsBoundary` (`{PermissionsBoundaryArn, PermissionsBoundaryType}`) to the item's
    /// `permissionsBoundary` (`{permissionsBoundaryArn, permissionsBoundaryType}`); absent or
    /// null is none. Any other shape is an error naming the field
    /// (`RoleDetailList[3].PermissionsBoundary`): a boundary that is there but unread would
    /// change what the identity may do.
    fn permissions_boundary(&self) -> Result<Tree<'a>, ExportError> {
        let at = At::Field(&self.at, "PermissionsBoundary");
        let boundary = match self.get("PermissionsBoundary") {
            None => return Ok(Tree::Null),
            Some(Tree::Object(boundary)) => self.of(*boundary, at),
            Some(other) => return Err(wrong(&at.to_string(), other, "an object")),
        };
        Ok(self.object([
            ("permissionsBoundaryArn", Tree::String(boundary.text("PermissionsBoundaryArn")?)),
            ("permissionsBoundaryType", text_or_null(boundary.opt_text("PermissionsBoundaryType")?)),
        ]))
    }

    /// A `Policies` entry: an item for a customer managed policy, the default version's
    /// document for an AWS managed one.
    fn policy(&self) -> Result<Option<GaadTree<'a>>, ExportError> {
        let (arn, account) = self.arn()?;
        let mut versions = Vec::new();
        for (i, version) in self.objects("PolicyVersionList")? {
            let version = self.of(version, At::Element(&self.at, "PolicyVersionList", i));
            // `IsDefaultVersion` before the document: of two wrong fields, that one is reported.
            let is_default = version.opt_bool("IsDefaultVersion")?;
            let document = version.document("Document")?;
            versions.push((
                // Absent is not the default (see the module's note on absence).
                is_default.unwrap_or(false),
                document,
                self.object([
                    ("document", document),
                    ("versionId", text_or_null(version.opt_text("VersionId")?)),
                    ("isDefaultVersion", bool_or_null(is_default)),
                ]),
            ));
        }
        if account == "aws" {
            // An AWS managed policy only resolves attachments. Without a default version here
            // it is left out, and an identity that attaches it gets the bundled copy or, when
            // none is bundled, a fail-closed verdict for an unresolved policy.
            let default = versions.iter().find(|(is_default, ..)| *is_default);
            return Ok(default
                .map(|(_, document, _)| *document)
                .filter(|document| !matches!(document, Tree::Null))
                .map(|document| GaadTree::AwsManagedPolicy { arn, document }));
        }
        let (name, id) = (self.text("PolicyName")?, self.text("PolicyId")?);
        let configuration = self.object([
            ("policyName", Tree::String(name)),
            ("policyId", Tree::String(id)),
            ("arn", Tree::String(arn)),
            ("path", text_or_null(self.opt_text("Path")?)),
            ("defaultVersionId", text_or_null(self.opt_text("DefaultVersionId")?)),
            ("attachmentCount", self.opt_count("AttachmentCount")?),
            ("permissionsBoundaryUsageCount", self.opt_count("PermissionsBoundaryUsageCount")?),
            ("isAttachable", bool_or_null(self.opt_bool("IsAttachable")?)),
            ("policyVersionList", Tree::array_in(self.arena, versions.into_iter().map(|(.., version)| version))),
        ]);
        Ok(Some(GaadTree::Item(self.item("AWS::IAM::Policy", id, (arn, account), name, configuration))))
    }
}
