//! AWS Config configuration items, and the decoded view of them that rules see.
//!
//! Config speaks two dialects. Change notifications and the snapshot/history files in S3 use
//! `awsAccountId`, `ARN`, `configurationItemVersion` and an object `configuration`; the API
//! (`get-resource-config-history`, `batch-get-resource-config`) uses `accountId`, `arn`,
//! `version` and a JSON-string `configuration` and `supplementaryConfiguration` values. Both
//! are read here, once, so no rule ever sees the difference.
//!
//! [`Resource`] is what a rule evaluates: the item's identity plus typed [`Details`] for the
//! five resource types the rules cover. Policy documents are parsed here and kept as
//! `Result`s: a document that does not parse is a verdict (fail closed), not an input error.
//! A structural gap (no `resourceType`, an IAM item without its name) is an [`ItemError`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::arn::Arn;
use bumpalo::Bump;

use crate::json_tree::{Keeping, Object, Tree};
use crate::policy::{knows_escaped, parse_policy_tree, DocumentError, Policy, PolicyKind};
use crate::version::{ItemVersion, ResourceKey, VersionError};

mod key_attributes;
mod names;

pub use names::ResourceNames;

pub use key_attributes::{KeyAttributes, KeySpec, KeyState, KeyUsage};

/// The resource types the rules evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum ResourceType {
    /// `AWS::IAM::Policy`: a customer managed policy.
    IamPolicy,
    /// `AWS::IAM::User`
    IamUser,
    /// `AWS::IAM::Role`
    IamRole,
    /// `AWS::IAM::Group`
    IamGroup,
    /// `AWS::KMS::Key`
    KmsKey,
}

impl ResourceType {
    /// Every type, in a fixed order.
    pub const ALL: [ResourceType; 5] = [
        ResourceType::IamPolicy,
        ResourceType::IamUser,
        ResourceType::IamRole,
        ResourceType::IamGroup,
        ResourceType::KmsKey,
    ];

    /// The Config type name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::IamPolicy => "AWS::IAM::Policy",
            ResourceType::IamUser => "AWS::IAM::User",
            ResourceType::IamRole => "AWS::IAM::Role",
            ResourceType::IamGroup => "AWS::IAM::Group",
            ResourceType::KmsKey => "AWS::KMS::Key",
        }
    }

    /// Parses a Config type name.
    pub fn from_name(name: &str) -> Option<ResourceType> {
        ResourceType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `configurationItemStatus`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ItemStatus {
    /// `OK`
    Ok,
    /// `ResourceDiscovered`
    Discovered,
    /// `ResourceNotRecorded`
    NotRecorded,
    /// `ResourceDeleted`
    Deleted,
    /// `ResourceDeletedNotRecorded`
    DeletedNotRecorded,
    /// Absent, or a value Config may add later: treated as present.
    Other(String),
}

impl ItemStatus {
    fn parse(value: Option<&str>) -> ItemStatus {
        match value {
            Some("OK") => ItemStatus::Ok,
            Some("ResourceDiscovered") => ItemStatus::Discovered,
            Some("ResourceNotRecorded") => ItemStatus::NotRecorded,
            Some("ResourceDeleted") => ItemStatus::Deleted,
            Some("ResourceDeletedNotRecorded") => ItemStatus::DeletedNotRecorded,
            other => ItemStatus::Other(other.unwrap_or_default().to_owned()),
        }
    }

    /// The resource no longer exists.
    pub fn is_deleted(&self) -> bool {
        matches!(self, ItemStatus::Deleted | ItemStatus::DeletedNotRecorded)
    }
}

/// Why an item cannot be read. Says which item (where known) and which field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{item}: field `{field}` {problem}")]
pub struct ItemError {
    /// `resourceType/resourceId`, or `item` when those are unknown.
    pub item: String,
    /// The field, as a dotted path (`configuration.roleName`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

/// A configuration item in either dialect, with `configuration` decoded to JSON. It borrows
/// from the [`Tree`] it was read from: `configuration` and the rest are read in place, not
/// copied (issue 18).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigItem<'a> {
    /// `resourceType`
    pub resource_type: &'a str,
    /// `resourceId`: the IAM unique id, the KMS key id.
    pub resource_id: &'a str,
    /// `resourceName`
    pub resource_name: Option<&'a str>,
    /// `ARN` / `arn`
    pub arn: Option<&'a str>,
    /// `awsAccountId` / `accountId`
    pub account_id: Option<&'a str>,
    /// `awsRegion`
    pub region: Option<&'a str>,
    /// `configurationItemStatus`
    pub status: ItemStatus,
    /// `configurationItemCaptureTime`, as RFC 3339 (epoch seconds are converted).
    pub capture_time: Option<Cow<'a, str>>,
    /// `configurationStateId`, as its decimal text (S3 files write a JSON number, the AWS CLI
    /// a string).
    pub state_id: Option<Cow<'a, str>>,
    /// `configuration`, decoded when it was a JSON string; `None` when absent or null.
    pub configuration: Option<Object<'a>>,
    /// `supplementaryConfiguration`, as recorded (values may be JSON strings).
    pub supplementary: Object<'a>,
    /// `tags`, as recorded; `None` when absent or null (`batch-get-resource-config` items
    /// carry none).
    pub tags: Option<&'a Tree<'a>>,
}

impl<'a> ConfigItem<'a> {
    /// Reads an item in either dialect, borrowing from it; a `configuration` or
    /// `supplementaryConfiguration` given as a JSON string is parsed into `arena`.
    pub fn from_tree(value: &Tree<'a>, arena: &'a Bump) -> Result<ConfigItem<'a>, ItemError> {
        let object = value.as_object().ok_or_else(|| ItemError {
            item: "item".into(),
            field: "(item)".into(),
            problem: format!("is {}, expected an object", value.type_name()),
        })?;
        let configuration = object.get("configuration");
        let supplementary = object.get("supplementaryConfiguration");
        let tags = object.get("tags").filter(|t| !matches!(t, Tree::Null));
        let required = |name: &str, item: &str| -> Result<&'a str, ItemError> {
            match object.get(name) {
                Some(Tree::String(s)) if !s.is_empty() => Ok(*s),
                Some(Tree::String(_)) => {
                    Err(ItemError { item: item.into(), field: name.into(), problem: "is empty".into() })
                }
                Some(other) => Err(ItemError {
                    item: item.into(),
                    field: name.into(),
                    problem: format!("is {}, expected a string", other.type_name()),
                }),
                None => Err(ItemError { item: item.into(), field: name.into(), problem: "is missing".into() }),
            }
        };
        let resource_type = required("resourceType", "item")?;
        let resource_id = required("resourceId", resource_type)?;
        // `type/id`, written out only for an error.
        let label = || format!("{resource_type}/{resource_id}");
        let wrong = |field: &str, problem: String| ItemError { item: label(), field: field.into(), problem };
        // An optional text field in either dialect's spelling: absent or null is none (Config
        // writes `"resourceName": null` for unnamed resources); any other non-string is an
        // error, never a field silently dropped (an `ARN` unread would lose the account).
        let text = |names: &[&str]| -> Result<Option<&'a str>, ItemError> {
            match names.iter().find_map(|n| object.get(n).filter(|v| !matches!(v, Tree::Null)).map(|v| (*n, v))) {
                None => Ok(None),
                Some((_, Tree::String(s))) => Ok(Some(*s)),
                Some((name, other)) => Err(wrong(name, format!("is {}, expected a string", other.type_name()))),
            }
        };
        let configuration = match configuration {
            None | Some(Tree::Null) => None,
            Some(Tree::String(s)) if s.trim().is_empty() || *s == "null" => None,
            Some(Tree::String(s)) => match Tree::parse_in(s, arena) {
                Ok(Tree::Null) => None,
                Ok(Tree::Object(object)) => Some(object),
                Ok(other) => {
                    return Err(wrong(
                        "configuration",
                        format!("is a JSON string of {}, expected an object", other.type_name()),
                    ))
                }
                Err(e) => return Err(wrong("configuration", format!("is a string that is not JSON: {e}"))),
            },
            Some(Tree::Object(object)) => Some(*object),
            Some(other) => {
                return Err(wrong(
                    "configuration",
                    format!("is {}, expected an object or a JSON string", other.type_name()),
                ))
            }
        };
        let supplementary = match supplementary {
            None | Some(Tree::Null) => Object::default(),
            Some(Tree::Object(object)) => *object,
            Some(Tree::String(s)) => match Tree::parse_in(s, arena) {
                Ok(Tree::Object(object)) => object,
                _ => return Err(wrong("supplementaryConfiguration", "is a string that is not a JSON object".into())),
            },
            Some(other) => {
                return Err(wrong(
                    "supplementaryConfiguration",
                    format!("is {}, expected an object", other.type_name()),
                ))
            }
        };
        // RFC 3339 text (event dialect, S3 files) or epoch seconds (the API's JSON, as the AWS
        // SDKs and `--output json` of some tools write it).
        let capture_time = match object.get("configurationItemCaptureTime") {
            None | Some(Tree::Null) => None,
            Some(Tree::String(s)) => Some(Cow::Borrowed(*s)),
            Some(Tree::Number(n)) => n.as_f64().map(|seconds| Cow::Owned(epoch_to_rfc3339(seconds))),
            Some(other) => {
                return Err(wrong(
                    "configurationItemCaptureTime",
                    format!("is {}, expected a string or a number of seconds", other.type_name()),
                ))
            }
        };
        let status = match object.get("configurationItemStatus") {
            None | Some(Tree::Null) => ItemStatus::parse(None),
            Some(Tree::String(s)) => ItemStatus::parse(Some(s)),
            Some(other) => {
                return Err(wrong("configurationItemStatus", format!("is {}, expected a string", other.type_name())))
            }
        };
        let state_id = match object.get("configurationStateId") {
            None | Some(Tree::Null) => None,
            Some(Tree::String(s)) => Some(Cow::Borrowed(*s)),
            Some(Tree::Number(n)) => Some(Cow::Owned(n.to_string())),
            Some(other) => {
                return Err(wrong(
                    "configurationStateId",
                    format!("is {}, expected a string or a number", other.type_name()),
                ))
            }
        };
        Ok(ConfigItem {
            resource_type,
            resource_id,
            resource_name: text(&["resourceName"])?,
            arn: text(&["ARN", "arn"])?,
            account_id: text(&["awsAccountId", "accountId"])?,
            region: text(&["awsRegion"])?,
            status,
            capture_time,
            state_id,
            configuration,
            supplementary,
            tags,
        })
    }

    /// `resourceType/resourceId`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.resource_type, self.resource_id)
    }
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC (millisecond precision).
pub fn epoch_to_rfc3339(seconds: f64) -> String {
    let millis_total = (seconds * 1000.0).round() as i64;
    let (secs, millis) = (millis_total.div_euclid(1000), millis_total.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let date = crate::date::Date::from_days(days);
    format!("{date}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A policy document: checked, or the reason it is not (a fail-closed verdict).
pub type Document = Result<Policy, DocumentError>;

/// A named policy document held by an identity (inline policies).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NamedDocument {
    /// The inline policy's name.
    pub name: String,
    /// Its document.
    #[serde(with = "parsed_document")]
    pub document: Document,
}

/// A managed policy attached to an identity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttachedPolicy {
    /// `policyName`
    pub name: String,
    /// `policyArn`
    pub arn: String,
}

/// `AWS::IAM::Policy`: a customer managed policy.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedPolicy {
    /// `policyName`
    pub name: String,
    /// The default version's document.
    pub document: Document,
    /// `attachmentCount`
    pub attachment_count: Option<u64>,
    /// `permissionsBoundaryUsageCount`
    pub permissions_boundary_usage_count: Option<u64>,
}

/// An IAM user, role or group: its inline and attached policies, and its permissions boundary.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// `userName` / `roleName` / `groupName`
    pub name: String,
    /// `path`
    pub path: String,
    /// Inline policies.
    pub inline: Vec<NamedDocument>,
    /// Attached managed policies.
    pub attached: Vec<AttachedPolicy>,
    /// The ARN of the managed policy set as its permissions boundary
    /// (`permissionsBoundary.permissionsBoundaryArn`; users and roles only, groups have none).
    pub boundary: Option<String>,
}

impl Identity {
    /// A service-linked role (path `/aws-service-role/`): AWS owns its policies, so the rules
    /// do not judge it.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with("/aws-service-role/")
    }

    /// The managed policies a verdict on this identity may need, by ARN: the attached ones,
    /// then the permissions boundary. What a resolver fetches, or the dry-run waits for.
    pub fn managed_policy_arns(&self) -> impl Iterator<Item = &str> {
        self.attached.iter().map(|a| a.arn.as_str()).chain(self.boundary.as_deref())
    }
}

/// `AWS::IAM::Role`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Role {
    /// Name, path and policies.
    pub identity: Identity,
    /// `assumeRolePolicyDocument`.
    #[serde(with = "parsed_document::optional")]
    pub trust: Option<Document>,
}

/// `AWS::IAM::User`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct User {
    /// Name, path and policies.
    pub identity: Identity,
    /// `groupList`: the names of its groups.
    pub groups: Vec<String>,
}

/// Who manages a KMS key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyManager {
    /// A customer managed key.
    Customer,
    /// An AWS managed key (`aws/s3`, ...): its policy is AWS's, not ours to judge.
    Aws,
}

/// The key policy as the item gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyPolicy {
    /// Parsed.
    Parsed(Policy),
    /// Present but not a valid policy.
    Invalid(DocumentError),
    /// `supplementaryConfiguration.Policy` is absent: Lambda fetches it with GetKeyPolicy; in
    /// an export it is a fail-closed verdict.
    Absent,
    /// The policy could not be read from KMS (e.g. AccessDenied): a fail-closed verdict.
    Unreadable(String),
}

/// A key's tags as the item records them: `tags` is an object of tag values in configuration
/// items, and a list of `{"key", "value"}` objects in `select-resource-config` results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tags {
    /// Recorded (possibly none): tag key to value.
    Recorded(BTreeMap<String, String>),
    /// The item has no `tags` field (`batch-get-resource-config` items never do): unknown.
    Absent,
    /// `tags` has a shape neither form has: what is wrong, naming the field.
    Invalid(String),
}

impl Tags {
    fn parse(value: Option<&Tree<'_>>) -> Tags {
        let invalid =
            |at: &str, v: &Tree<'_>| Tags::Invalid(format!("field `{at}` is {}, expected a string", v.type_name()));
        match value {
            None => Tags::Absent,
            Some(Tree::Object(map)) => {
                let mut tags = BTreeMap::new();
                for (key, v) in map.iter() {
                    match v {
                        Tree::String(s) => tags.insert(key.to_owned(), (*s).to_owned()),
                        other => return invalid(&format!("tags.{key}"), other),
                    };
                }
                Tags::Recorded(tags)
            }
            Some(Tree::Array(list)) => {
                let mut tags = BTreeMap::new();
                for (i, entry) in list.iter().enumerate() {
                    let field = |name: &str| match entry.as_object().and_then(|object| object.get(name)) {
                        Some(Tree::String(s)) => Ok((*s).to_owned()),
                        Some(other) => Err(invalid(&format!("tags[{i}].{name}"), other)),
                        None if entry.as_object().is_some() => {
                            Err(Tags::Invalid(format!("field `tags[{i}].{name}` is missing")))
                        }
                        None => Err(Tags::Invalid(format!(
                            "field `tags[{i}]` is {}, expected an object with `key` and `value`",
                            entry.type_name()
                        ))),
                    };
                    match (field("key"), field("value")) {
                        (Ok(key), Ok(value)) => tags.insert(key, value),
                        (Err(e), _) | (_, Err(e)) => return e,
                    };
                }
                Tags::Recorded(tags)
            }
            Some(other) => Tags::Invalid(format!(
                "field `tags` is {}, expected an object of tag values or a list of `key`/`value` objects",
                other.type_name()
            )),
        }
    }
}

/// `AWS::KMS::Key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// `keyId`
    pub key_id: String,
    /// `keyManager`
    pub manager: KeyManager,
    /// Its state, spec, usage and whether it is multi-Region, as the item records them.
    pub attributes: KeyAttributes,
    /// The key policy.
    pub policy: KeyPolicy,
    /// The item's `tags`.
    pub tags: Tags,
}

impl Key {
    /// Pending deletion (or pending replica deletion).
    pub fn is_pending_deletion(&self) -> bool {
        self.attributes.state.as_ref().is_some_and(KeyState::is_pending_deletion)
    }
}

/// What a rule sees of one resource.
///
/// Serde (for the dry-run's users and roles that wait on disk, see [`Resource::can_be_stored`])
/// covers users and roles only: the other variants are never written.
///
/// The variants serde writes come first: a binary encoding (postcard, the set-aside store's)
/// names a variant by its number, and serde's derive numbers a variant by its place among all
/// of them when it writes, but among those not skipped when it reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Details {
    /// `AWS::IAM::Role`
    Role(Role),
    /// `AWS::IAM::User`
    User(User),
    /// Deleted, or a type no rule evaluates: nothing to read.
    Absent,
    /// `AWS::IAM::Policy`
    #[serde(skip)]
    Policy(ManagedPolicy),
    /// `AWS::IAM::Group`
    #[serde(skip)]
    Group(Identity),
    /// `AWS::KMS::Key`
    #[serde(skip)]
    Key(Key),
}

/// One resource, decoded.
///
/// Its names (type as recorded, id, ARN, account, capture time), which every evaluation of it
/// repeats, are one shared allocation ([`ResourceNames`]); serde writes and reads them as
/// strings.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resource {
    /// The Config type name as recorded, id, ARN (empty when the item has none), owning account
    /// (from the item, else from the ARN; empty when neither has one) and
    /// `configurationItemCaptureTime`.
    pub names: ResourceNames,
    /// The type, when it is one the rules know.
    pub resource_type: Option<ResourceType>,
    /// `configurationItemStatus`
    pub status: ItemStatus,
    /// Which resource this is, whatever version ([`ResourceKey`]).
    pub key: ResourceKey,
    /// Which version of the resource this item is.
    pub version: ItemVersion,
    /// What the rules read.
    pub details: Details,
}

impl Resource {
    /// Can serde write this resource and read it back as it is? True for users and roles
    /// whose every document parsed: the dry-run sets those aside decoded, and the rest as the
    /// entry they came from. ([`DocumentError`] borrows static text, so it is not written.)
    pub fn can_be_stored(&self) -> bool {
        let identity_parsed = |identity: &Identity| identity.inline.iter().all(|named| named.document.is_ok());
        match &self.details {
            Details::Role(role) => identity_parsed(&role.identity) && role.trust.as_ref().map_or(true, Result::is_ok),
            Details::User(user) => identity_parsed(&user.identity),
            Details::Absent => true,
            Details::Policy(_) | Details::Group(_) | Details::Key(_) => false,
        }
    }

    /// Decodes an item. Deleted items and unknown types need no configuration.
    pub fn from_item(item: &ConfigItem<'_>) -> Result<Resource, ItemError> {
        let resource_type = ResourceType::from_name(item.resource_type);
        let reader = Reader { item, config: item.configuration.as_ref() };
        let arn: &str = match item.arn {
            Some(arn) => arn,
            // Items without a top-level ARN (hand-made ones) may carry it in `configuration`;
            // with neither, the ARN is empty (as `Resource::names` says, and SARIF and the
            // evaluations read it: no ARN, not a made-up one), and the account comes from
            // `awsAccountId`/`accountId` alone. A `configuration.arn` that is not a string is
            // an error (`opt_text`), not an empty ARN.
            None => reader.opt_text("arn")?.unwrap_or_default(),
        };
        let account_id = item
            .account_id
            .filter(|a| !a.is_empty())
            // An ARN that does not parse has no account to give: the account stays empty, as
            // for an item with no ARN at all (nothing the item says is dropped).
            .or_else(|| Arn::parse(arn).ok().map(|a| a.account).filter(|a| !a.is_empty()))
            .unwrap_or_default();
        let details = match resource_type {
            _ if item.status.is_deleted() => Details::Absent,
            None => Details::Absent,
            Some(t) => {
                if reader.config.is_none() {
                    return Err(reader.error("configuration", "is missing"));
                }
                match t {
                    ResourceType::IamPolicy => Details::Policy(reader.managed_policy()?),
                    ResourceType::IamRole => Details::Role(Role {
                        identity: reader.identity("roleName", "rolePolicyList")?,
                        trust: reader
                            .config_value("assumeRolePolicyDocument")
                            .map(|v| parse_policy_tree(v, PolicyKind::Trust)),
                    }),
                    ResourceType::IamUser => Details::User(User {
                        identity: reader.identity("userName", "userPolicyList")?,
                        groups: reader.string_list("groupList")?,
                    }),
                    ResourceType::IamGroup => Details::Group(reader.identity("groupName", "groupPolicyList")?),
                    ResourceType::KmsKey => Details::Key(reader.key()?),
                }
            }
        };
        let version = ItemVersion::new(item.capture_time.as_deref(), item.state_id.as_deref()).map_err(|e| {
            let field = match e {
                VersionError::CaptureTime(_) => "configurationItemCaptureTime",
                VersionError::StateId(_) => "configurationStateId",
            };
            ItemError { item: item.label(), field: field.into(), problem: e.to_string() }
        })?;
        // An item without `awsRegion` (one written by hand) is keyed with an empty region: it is
        // a version of the other region-less items of its account, type and id, and of no
        // other; nothing about the item is lost.
        let key = ResourceKey::new(account_id, item.region.unwrap_or_default(), item.resource_type, item.resource_id);
        Ok(Resource {
            names: ResourceNames::new(
                item.resource_type,
                item.resource_id,
                arn,
                account_id,
                item.capture_time.as_deref(),
            ),
            resource_type,
            status: item.status.clone(),
            key,
            version,
            details,
        })
    }

    /// Reads and decodes a configuration item from JSON in either dialect.
    pub fn from_json(value: &Value) -> Result<Resource, ItemError> {
        let arena = Bump::new();
        Resource::from_item(&ConfigItem::from_tree(&Tree::of_value(value, &arena), &arena)?)
    }

    /// As [`Resource::from_json`], from an item parsed into a [`Tree`] (the dry-run's path:
    /// the item's text is read in place, not copied into a `Value`).
    pub fn from_tree(tree: &Tree<'_>) -> Result<Resource, ItemError> {
        // For a `configuration` given as a JSON string; allocates only then.
        let arena = Bump::new();
        Resource::from_item(&ConfigItem::from_tree(tree, &arena)?)
    }

    /// As [`Resource::from_tree`], parsing the item's `text` first (the dry-run's path): its key
    /// policy is kept as written ([`KEY_POLICY_KEPT`]), so that a key policy met again is not
    /// unescaped again. `Err` when the text is not JSON (serde_json's error). Boxed where it is
    /// made: a `Resource` is several hundred bytes, and the layers of results it came back
    /// through each moved it (callgrind, BENCHMARKS.md "Stop 38").
    pub fn from_text(text: &str) -> Result<Result<Box<Resource>, ItemError>, serde_json::Error> {
        crate::policy::handing_over(text, || {
            Tree::with_parsed_keeping_in(text, Some(&KEY_POLICY_KEPT), |tree, _| {
                Resource::from_tree(tree).map(Box::new)
            })
        })
    }

    /// A user's or role's identity and groups (a role has none); `None` for other resources.
    pub fn identity_and_groups(&self) -> Option<(&Identity, &[String])> {
        match &self.details {
            Details::Role(role) => Some((&role.identity, &[][..])),
            Details::User(user) => Some((&user.identity, user.groups.as_slice())),
            _ => None,
        }
    }

    /// `resourceType/resourceId`, for messages.
    pub fn label(&self) -> String {
        format!("{}/{}", self.type_name(), self.resource_id())
    }

    /// The Config type name as recorded.
    pub fn type_name(&self) -> &str {
        self.names.type_name()
    }

    /// `resourceId`
    pub fn resource_id(&self) -> &str {
        self.names.resource_id()
    }

    /// The resource's ARN (empty when the item has none).
    pub fn arn(&self) -> &str {
        self.names.arn()
    }

    /// The owning account (from the item, else from the ARN; empty when neither has one).
    pub fn account_id(&self) -> &str {
        self.names.account_id()
    }

    /// `configurationItemCaptureTime`, when the item records one.
    pub fn capture_time(&self) -> Option<&str> {
        self.names.capture_time()
    }
}

/// Where a configuration item's key policy is (`supplementaryConfiguration.Policy`, a JSON
/// string), kept as written when the item is parsed ([`Keeping::strings`]); a key policy the
/// policy memo holds as written is left unescaped, and read from the memo (`Reader::key`
/// reads it, and nothing else reads that place).
pub const KEY_POLICY_KEPT: Keeping<'static> = Keeping {
    members: &[],
    known: &|_, _| false,
    strings: &[("supplementaryConfiguration", "Policy")],
    known_string: &|_, text| knows_escaped(text, PolicyKind::KeyPolicy),
};

/// Field access with errors that name the item and the field.
struct Reader<'r, 'a> {
    item: &'r ConfigItem<'a>,
    config: Option<&'r Object<'a>>,
}

impl<'r, 'a> Reader<'r, 'a> {
    fn error(&self, field: &str, problem: impl Into<String>) -> ItemError {
        ItemError { item: self.item.label(), field: field.into(), problem: problem.into() }
    }

    fn config_value(&self, name: &str) -> Option<&'r Tree<'a>> {
        self.config.and_then(|c| c.get(name)).filter(|v| !matches!(v, Tree::Null))
    }

    /// An optional text field of `configuration`: absent or null is none, any other
    /// non-string an error. Borrowed from the item: most are only compared or parsed (a key's
    /// state, spec and usage), and copied only where they are kept.
    fn opt_text(&self, name: &str) -> Result<Option<&'a str>, ItemError> {
        match self.config_value(name) {
            None => Ok(None),
            Some(Tree::String(s)) => Ok(Some(*s)),
            Some(other) => {
                Err(self
                    .error(&format!("configuration.{name}"), format!("is {}, expected a string", other.type_name())))
            }
        }
    }

    /// An optional boolean field of `configuration`.
    fn opt_bool(&self, name: &str) -> Result<Option<bool>, ItemError> {
        match self.config_value(name) {
            None => Ok(None),
            Some(Tree::Bool(b)) => Ok(Some(*b)),
            Some(other) => {
                Err(self
                    .error(&format!("configuration.{name}"), format!("is {}, expected a boolean", other.type_name())))
            }
        }
    }

    fn text(&self, name: &str) -> Result<String, ItemError> {
        match self.config_value(name) {
            Some(Tree::String(s)) => Ok((*s).to_owned()),
            Some(other) => {
                Err(self
                    .error(&format!("configuration.{name}"), format!("is {}, expected a string", other.type_name())))
            }
            None => Err(self.error(&format!("configuration.{name}"), "is missing")),
        }
    }

    fn count(&self, name: &str) -> Result<Option<u64>, ItemError> {
        match self.config_value(name) {
            None => Ok(None),
            Some(Tree::Number(n)) if n.is_u64() => Ok(n.as_u64()),
            Some(other) => Err(self.error(
                &format!("configuration.{name}"),
                format!("is {}, expected a count (a whole number, 0 or more)", other.type_name()),
            )),
        }
    }

    /// A list field of `configuration`. Absent or null is empty: Config records the policy
    /// and group lists of IAM items as `[]` when there are none, and the AWS::IAM resource
    /// schemas (aws-config-resource-schema) mark them optional, so absence says "none" in the
    /// same words. Any other shape is an error: a list given as an object is never "none".
    fn array(&self, name: &str) -> Result<&'r [Tree<'a>], ItemError> {
        match self.config_value(name) {
            None => Ok(&[]),
            Some(Tree::Array(items)) => Ok(items),
            Some(other) => {
                Err(self
                    .error(&format!("configuration.{name}"), format!("is {}, expected an array", other.type_name())))
            }
        }
    }

    fn string_list(&self, name: &str) -> Result<Vec<String>, ItemError> {
        self.array(name)?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    self.error(
                        &format!("configuration.{name}[{i}]"),
                        format!("is {}, expected a string", v.type_name()),
                    )
                })
            })
            .collect()
    }

    /// The text field `name` of `object`, which is at `path` (written out only for an error:
    /// the dry-run reads every user's and role's policies through here).
    fn field_text(&self, object: &Tree<'_>, path: impl Fn() -> String, name: &str) -> Result<String, ItemError> {
        match object.as_object().and_then(|object| object.get(name)) {
            Some(Tree::String(s)) => Ok((*s).to_owned()),
            Some(other) => {
                Err(self.error(&format!("{}.{name}", path()), format!("is {}, expected a string", other.type_name())))
            }
            None => Err(self.error(&format!("{}.{name}", path()), "is missing")),
        }
    }

    fn managed_policy(&self) -> Result<ManagedPolicy, ItemError> {
        let name = self.text("policyName")?;
        let versions = self.array("policyVersionList")?;
        let default_id = self.opt_text("defaultVersionId")?;
        // Each version's fields, checked: a flag or id of the wrong shape would otherwise pass
        // the default version over (a fail-closed verdict, but for the wrong reason).
        let mut checked = Vec::new();
        for (i, version) in versions.iter().enumerate() {
            // Written out only for an error.
            let at = || format!("configuration.policyVersionList[{i}]");
            let Some(fields) = version.as_object() else {
                return Err(self.error(&at(), format!("is {}, expected an object", version.type_name())));
            };
            let is_default = match fields.get("isDefaultVersion") {
                None | Some(Tree::Null) => false,
                Some(Tree::Bool(b)) => *b,
                Some(other) => {
                    return Err(self.error(
                        &format!("{}.isDefaultVersion", at()),
                        format!("is {}, expected a boolean", other.type_name()),
                    ))
                }
            };
            let id = match fields.get("versionId") {
                None | Some(Tree::Null) => None,
                Some(Tree::String(id)) => Some(*id),
                Some(other) => {
                    return Err(self
                        .error(&format!("{}.versionId", at()), format!("is {}, expected a string", other.type_name())))
                }
            };
            checked.push((is_default, id, fields));
        }
        let default = checked
            .iter()
            .find(|(is_default, _, _)| *is_default)
            .or_else(|| checked.iter().find(|(_, id, _)| default_id.is_some() && *id == default_id));
        let default = default.map(|(_, _, version)| *version);
        let document = match default.and_then(|v| v.get("document")).filter(|d| !matches!(d, Tree::Null)) {
            Some(doc) => parse_policy_tree(doc, PolicyKind::Identity),
            None => Err(DocumentError::Missing("no default version in `configuration.policyVersionList`".into())),
        };
        Ok(ManagedPolicy {
            name,
            document,
            attachment_count: self.count("attachmentCount")?,
            permissions_boundary_usage_count: self.count("permissionsBoundaryUsageCount")?,
        })
    }

    fn identity(&self, name_field: &str, inline_field: &str) -> Result<Identity, ItemError> {
        let name = self.text(name_field)?;
        // Config records `path` for every IAM identity; without one the identity is taken as
        // not service-linked (`/aws-service-role/`), so it is judged rather than passed over.
        let path = self.opt_text("path")?.unwrap_or("/").to_owned();
        let mut inline = Vec::new();
        for (i, entry) in self.array(inline_field)?.iter().enumerate() {
            let at = || format!("configuration.{inline_field}[{i}]");
            let policy_name = self.field_text(entry, at, "policyName")?;
            let document =
                match entry.as_object().and_then(|e| e.get("policyDocument")).filter(|d| !matches!(d, Tree::Null)) {
                    Some(doc) => parse_policy_tree(doc, PolicyKind::Identity),
                    None => Err(DocumentError::Missing(format!("`{}.policyDocument` is absent", at()))),
                };
            inline.push(NamedDocument { name: policy_name, document });
        }
        let mut attached = Vec::new();
        for (i, entry) in self.array("attachedManagedPolicies")?.iter().enumerate() {
            let at = || format!("configuration.attachedManagedPolicies[{i}]");
            attached.push(AttachedPolicy {
                name: self.field_text(entry, at, "policyName")?,
                arn: self.field_text(entry, at, "policyArn")?,
            });
        }
        Ok(Identity { name, path, inline, attached, boundary: self.boundary()? })
    }

    /// `permissionsBoundary`: absent or null when there is none; otherwise an object with the
    /// policy's ARN (`permissionsBoundaryArn`) and `permissionsBoundaryType`
    /// (`PermissionsBoundaryPolicy`, the only type IAM has). Any other shape is an error: a
    /// boundary that is there but unread would widen what the identity may do.
    fn boundary(&self) -> Result<Option<String>, ItemError> {
        const FIELD: &str = "configuration.permissionsBoundary";
        let boundary = match self.config_value("permissionsBoundary") {
            None => return Ok(None),
            Some(boundary @ Tree::Object(_)) => boundary,
            Some(other) => return Err(self.error(FIELD, format!("is {}, expected an object", other.type_name()))),
        };
        match boundary.as_object().and_then(|b| b.get("permissionsBoundaryType")).filter(|t| !matches!(t, Tree::Null)) {
            None | Some(Tree::String(_)) => {}
            Some(other) => {
                return Err(self.error(
                    &format!("{FIELD}.permissionsBoundaryType"),
                    format!("is {}, expected a string", other.type_name()),
                ))
            }
        }
        let arn = self.field_text(boundary, || FIELD.to_owned(), "permissionsBoundaryArn")?;
        match arn.is_empty() {
            true => Err(self.error(&format!("{FIELD}.permissionsBoundaryArn"), "is empty")),
            false => Ok(Some(arn)),
        }
    }

    fn key(&self) -> Result<Key, ItemError> {
        // A key's `resourceId` is its key id; `keyId` only repeats it.
        let key_id = self.opt_text("keyId")?.unwrap_or(self.item.resource_id).to_owned();
        // Without `keyManager` a key is judged as a customer managed key (judged, not passed
        // over as AWS's).
        let manager = match self.opt_text("keyManager")? {
            Some("AWS") => KeyManager::Aws,
            _ => KeyManager::Customer,
        };
        let policy = match self.item.supplementary.get("Policy").filter(|v| !matches!(v, Tree::Null)) {
            None => KeyPolicy::Absent,
            Some(raw) => match parse_policy_tree(raw, PolicyKind::KeyPolicy) {
                Ok(policy) => KeyPolicy::Parsed(policy),
                Err(e) => KeyPolicy::Invalid(e),
            },
        };
        Ok(Key {
            key_id,
            manager,
            attributes: KeyAttributes {
                state: self.opt_text("keyState")?.map(KeyState::parse),
                spec: match self.opt_text("keySpec")? {
                    Some(spec) => Some(spec),
                    None => self.opt_text("customerMasterKeySpec")?,
                }
                .map(KeySpec::parse),
                usage: self.opt_text("keyUsage")?.map(KeyUsage::parse),
                multi_region: self.opt_bool("multiRegion")?,
            },
            policy,
            tags: Tags::parse(self.item.tags),
        })
    }
}

/// Serde for a [`Document`] that parsed: written as its [`Policy`]. A document that did not
/// parse is not written (an error; [`Resource::can_be_stored`] is false for its resource).
mod parsed_document {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::Document;
    use crate::policy::Policy;

    pub fn serialize<S: Serializer>(document: &Document, serializer: S) -> Result<S::Ok, S::Error> {
        match document {
            Ok(policy) => policy.serialize(serializer),
            Err(_) => Err(serde::ser::Error::custom("a document that did not parse is not stored")),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Document, D::Error> {
        Policy::deserialize(deserializer).map(Ok)
    }

    /// The same for `Option<Document>`.
    pub mod optional {
        use serde::{Deserialize, Deserializer, Serializer};

        use super::Document;
        use crate::policy::Policy;

        pub fn serialize<S: Serializer>(document: &Option<Document>, serializer: S) -> Result<S::Ok, S::Error> {
            match document {
                None => serializer.serialize_none(),
                Some(Ok(policy)) => serializer.serialize_some(policy),
                Some(Err(_)) => Err(serde::ser::Error::custom("a document that did not parse is not stored")),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Document>, D::Error> {
            Ok(Option::<Policy>::deserialize(deserializer)?.map(Ok))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_dialects_read_the_same() {
        let event = json!({"resourceType":"AWS::KMS::Key","resourceId":"k1","ARN":"arn:aws:kms:us-east-1:111122223333:key/k1",
            "awsAccountId":"111122223333","configurationItemStatus":"OK","configurationItemCaptureTime":"2026-01-01T00:00:00.000Z",
            "configuration":{"keyId":"k1","keyManager":"CUSTOMER","keyState":"Enabled"},
            "supplementaryConfiguration":{"Policy":"{\"Version\":\"2012-10-17\",\"Statement\":[]}"}});
        let api = json!({"resourceType":"AWS::KMS::Key","resourceId":"k1","arn":"arn:aws:kms:us-east-1:111122223333:key/k1",
            "accountId":"111122223333","configurationItemStatus":"OK","configurationItemCaptureTime":1767225600.0,
            "configuration":"{\"keyId\":\"k1\",\"keyManager\":\"CUSTOMER\",\"keyState\":\"Enabled\"}",
            "supplementaryConfiguration":{"Policy":"\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\""}});
        let a = Resource::from_json(&event);
        let b = Resource::from_json(&api);
        assert!(a.is_ok(), "{a:?}");
        assert_eq!(a, b);
    }

    #[test]
    fn epoch_seconds_become_rfc3339() {
        assert_eq!(epoch_to_rfc3339(0.0), "1970-01-01T00:00:00.000Z");
        assert_eq!(epoch_to_rfc3339(1_767_225_600.5), "2026-01-01T00:00:00.500Z");
        assert_eq!(epoch_to_rfc3339(951_782_400.0), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn errors_name_item_and_field() {
        let missing =
            Resource::from_json(&json!({"resourceType":"AWS::IAM::Role","resourceId":"AROA1","configuration":{}}));
        assert_eq!(
            missing.err().map(|e| e.to_string()),
            Some("AWS::IAM::Role/AROA1: field `configuration.roleName` is missing".into())
        );
        let no_type = Resource::from_json(&json!({"resourceId":"x"}));
        assert_eq!(no_type.err().map(|e| e.to_string()), Some("item: field `resourceType` is missing".into()));
    }

    fn identity_with_boundary(resource_type: &str, boundary: Value) -> Result<Identity, String> {
        let (name_field, id) = match resource_type {
            "AWS::IAM::User" => ("userName", "AIDA1"),
            _ => ("roleName", "AROA1"),
        };
        let item = json!({"resourceType": resource_type, "resourceId": id,
            "configuration": {name_field: "App", "path": "/", "permissionsBoundary": boundary}});
        match Resource::from_json(&item).map_err(|e| e.to_string())?.details {
            Details::Role(role) => Ok(role.identity),
            Details::User(user) => Ok(user.identity),
            other => Err(format!("not a user or role: {other:?}")),
        }
    }

    #[test]
    fn users_and_roles_carry_their_permissions_boundary() {
        let arn = "arn:aws:iam::111122223333:policy/Boundary";
        let config = json!({"permissionsBoundaryArn": arn, "permissionsBoundaryType": "PermissionsBoundaryPolicy"});
        for resource_type in ["AWS::IAM::Role", "AWS::IAM::User"] {
            let identity = identity_with_boundary(resource_type, config.clone());
            assert_eq!(identity.as_ref().map(|i| i.boundary.as_deref()), Ok(Some(arn)), "{resource_type}");
            let arns: Vec<String> =
                identity.map(|i| i.managed_policy_arns().map(str::to_owned).collect()).unwrap_or_default();
            assert_eq!(arns, [arn], "{resource_type}");
            assert_eq!(identity_with_boundary(resource_type, Value::Null).map(|i| i.boundary), Ok(None));
        }
        let without = Resource::from_json(
            &json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "configuration": {"roleName": "App"}}),
        );
        assert!(matches!(
            without.map(|r| r.details),
            Ok(Details::Role(Role { identity: Identity { boundary: None, .. }, .. }))
        ));
    }

    #[test]
    fn a_permissions_boundary_of_the_wrong_shape_is_an_error_naming_the_field() {
        let arn = "arn:aws:iam::111122223333:policy/Boundary";
        let cases = [
            (json!(arn), "AWS::IAM::Role/AROA1: field `configuration.permissionsBoundary` is a string, expected an object"),
            (json!([arn]), "AWS::IAM::Role/AROA1: field `configuration.permissionsBoundary` is an array, expected an object"),
            (
                json!({"permissionsBoundaryType": "PermissionsBoundaryPolicy"}),
                "AWS::IAM::Role/AROA1: field `configuration.permissionsBoundary.permissionsBoundaryArn` is missing",
            ),
            (
                json!({"permissionsBoundaryArn": 7}),
                "AWS::IAM::Role/AROA1: field `configuration.permissionsBoundary.permissionsBoundaryArn` is a number, expected a string",
            ),
            (
                json!({"permissionsBoundaryArn": ""}),
                "AWS::IAM::Role/AROA1: field `configuration.permissionsBoundary.permissionsBoundaryArn` is empty",
            ),
            (
                json!({"permissionsBoundaryArn": arn, "permissionsBoundaryType": {}}),
                "AWS::IAM::Role/AROA1: field `configuration.permissionsBoundary.permissionsBoundaryType` is an object, expected a string",
            ),
        ];
        for (boundary, message) in cases {
            assert_eq!(identity_with_boundary("AWS::IAM::Role", boundary).err().as_deref(), Some(message));
        }
    }

    #[test]
    fn key_tags_in_both_forms_and_wrong_shapes_named() {
        let key = |tags: Value| {
            let mut item = json!({"resourceType":"AWS::KMS::Key","resourceId":"k1","configuration":{"keyId":"k1"}});
            if !tags.is_null() {
                item["tags"] = tags;
            }
            match Resource::from_json(&item).map(|r| r.details) {
                Ok(Details::Key(key)) => key.tags,
                other => Tags::Invalid(format!("{other:?}")),
            }
        };
        let one = Tags::Recorded(BTreeMap::from([("Purpose".to_owned(), "logs".to_owned())]));
        assert_eq!(key(json!({"Purpose": "logs"})), one);
        assert_eq!(key(json!([{"key": "Purpose", "value": "logs", "tag": "Purpose=logs"}])), one);
        assert_eq!(key(json!({})), Tags::Recorded(BTreeMap::new()));
        assert_eq!(key(Value::Null), Tags::Absent);
        assert_eq!(
            key(json!("Purpose=logs")),
            Tags::Invalid(
                "field `tags` is a string, expected an object of tag values or a list of `key`/`value` objects".into()
            )
        );
        assert_eq!(
            key(json!({"Purpose": 1})),
            Tags::Invalid("field `tags.Purpose` is a number, expected a string".into())
        );
        assert_eq!(key(json!([{"key": "Purpose"}])), Tags::Invalid("field `tags[0].value` is missing".into()));
    }

    #[test]
    fn config_item_fields_of_the_wrong_shape_are_errors_naming_the_field() {
        let key = json!({"resourceType": "AWS::KMS::Key", "resourceId": "k1", "awsAccountId": "111122223333",
            "ARN": "arn:aws:kms:us-east-1:111122223333:key/k1", "configurationItemStatus": "OK",
            "configurationItemCaptureTime": "2026-01-01T00:00:00.000Z",
            "configuration": {"keyId": "k1", "keyManager": "CUSTOMER", "keyState": "Enabled", "keySpec": "SYMMETRIC_DEFAULT",
                "keyUsage": "ENCRYPT_DECRYPT", "multiRegion": false}});
        let policy = json!({"resourceType": "AWS::IAM::Policy", "resourceId": "ANPA1", "accountId": "111122223333",
            "configuration": {"policyName": "P", "defaultVersionId": "v1", "attachmentCount": 1,
                "policyVersionList": [{"versionId": "v1", "isDefaultVersion": true, "document": {"Statement": []}}]}});
        assert!(Resource::from_json(&key).is_ok());
        assert!(Resource::from_json(&policy).is_ok());
        let cases = [
            (&key, "/ARN", json!(["arn"]), "AWS::KMS::Key/k1: field `ARN` is an array, expected a string"),
            (&key, "/awsAccountId", json!(111122223333u64), "AWS::KMS::Key/k1: field `awsAccountId` is a number, expected a string"),
            (&key, "/configurationItemStatus", json!({}), "AWS::KMS::Key/k1: field `configurationItemStatus` is an object, expected a string"),
            (&key, "/configurationItemCaptureTime", json!(true),
                "AWS::KMS::Key/k1: field `configurationItemCaptureTime` is a boolean, expected a string or a number of seconds"),
            (&key, "/configuration", json!("[1]"), "AWS::KMS::Key/k1: field `configuration` is a JSON string of an array, expected an object"),
            (&key, "/configuration/keyManager", json!(["AWS"]), "AWS::KMS::Key/k1: field `configuration.keyManager` is an array, expected a string"),
            (&key, "/configuration/keyState", json!(1), "AWS::KMS::Key/k1: field `configuration.keyState` is a number, expected a string"),
            (&key, "/configuration/multiRegion", json!("true"), "AWS::KMS::Key/k1: field `configuration.multiRegion` is a string, expected a boolean"),
            (&policy, "/configuration/attachmentCount", json!("1"),
                "AWS::IAM::Policy/ANPA1: field `configuration.attachmentCount` is a string, expected a count (a whole number, 0 or more)"),
            (&policy, "/configuration/policyVersionList/0/isDefaultVersion", json!("true"),
                "AWS::IAM::Policy/ANPA1: field `configuration.policyVersionList[0].isDefaultVersion` is a string, expected a boolean"),
            (&policy, "/configuration/policyVersionList/0/versionId", json!(1),
                "AWS::IAM::Policy/ANPA1: field `configuration.policyVersionList[0].versionId` is a number, expected a string"),
            (&policy, "/configuration/policyVersionList", json!({"versionId": "v1"}),
                "AWS::IAM::Policy/ANPA1: field `configuration.policyVersionList` is an object, expected an array"),
            (&policy, "/configuration/policyVersionList/0", json!("v1"),
                "AWS::IAM::Policy/ANPA1: field `configuration.policyVersionList[0]` is a string, expected an object"),
        ];
        for (item, pointer, value, message) in cases {
            let mut item = item.clone();
            if let Some(field) = item.pointer_mut(pointer) {
                *field = value;
            }
            assert_eq!(Resource::from_json(&item).err().map(|e| e.to_string()).as_deref(), Some(message), "{pointer}");
        }
        let role = |field: &str, value: Value| {
            let mut item =
                json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "configuration": {"roleName": "R"}});
            item["configuration"][field] = value;
            Resource::from_json(&item).err().map(|e| e.to_string())
        };
        assert_eq!(
            role(
                "attachedManagedPolicies",
                json!({"policyName": "AdministratorAccess", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
            ),
            Some(
                "AWS::IAM::Role/AROA1: field `configuration.attachedManagedPolicies` is an object, expected an array"
                    .into()
            )
        );
        assert_eq!(
            role("rolePolicyList", json!("p")),
            Some("AWS::IAM::Role/AROA1: field `configuration.rolePolicyList` is a string, expected an array".into())
        );
        assert_eq!(
            role("path", json!(1)),
            Some("AWS::IAM::Role/AROA1: field `configuration.path` is a number, expected a string".into())
        );
        // Absent and null lists are none.
        assert_eq!(role("rolePolicyList", Value::Null), None);
    }

    #[test]
    fn aggregator_and_api_spellings_read_like_the_event_dialect() {
        // `get-aggregate-resource-config` / `batch-get-aggregate-resource-config` items: the API
        // dialect (`accountId`, `arn`, `configuration` and supplementary values as JSON
        // strings, the capture time as epoch seconds).
        let api = json!({"version": "1.3", "accountId": "111122223333", "configurationItemCaptureTime": 1767225600.0,
            "configurationItemStatus": "OK", "configurationStateId": "1767225600000", "arn": "arn:aws:kms:us-east-1:111122223333:key/k1",
            "resourceType": "AWS::KMS::Key", "resourceId": "k1", "awsRegion": "us-east-1",
            "configuration": "{\"keyId\":\"k1\",\"keyManager\":\"CUSTOMER\",\"keyState\":\"Enabled\",\"multiRegion\":false}",
            "supplementaryConfiguration": {"Policy": "\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\""}});
        let resource = Resource::from_json(&api);
        assert_eq!(resource.as_ref().map(|r| r.account_id()), Ok("111122223333"));
        assert_eq!(resource.as_ref().map(|r| r.capture_time()), Ok(Some("2026-01-01T00:00:00.000Z")));
        match resource.map(|r| r.details) {
            Ok(Details::Key(key)) => {
                assert!(matches!(key.policy, KeyPolicy::Parsed(_)), "{:?}", key.policy);
                assert_eq!(key.attributes.multi_region, Some(false));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn deleted_items_need_no_configuration() {
        let deleted = Resource::from_json(
            &json!({"resourceType":"AWS::IAM::Role","resourceId":"AROA1","configurationItemStatus":"ResourceDeleted","configuration":null}),
        );
        assert_eq!(deleted.map(|r| r.details), Ok(Details::Absent));
    }

    /// An item read from its text with its key policy kept as written ([`Resource::from_text`])
    /// is the resource the plain reading gives, the first time (the policy unescaped and
    /// parsed) and once the memo holds the text as written (the policy left unescaped: the
    /// parse finds it known). The items: Config RDK's example KMS key item (from outside this
    /// project, `tests/fixtures/real-exports`), and the same item holding, as its key policy,
    /// each of the first 300 AWS managed policies of the corpus pretty-printed (a JSON string
    /// with a backslash every few bytes), the same twice encoded, a policy that is not JSON,
    /// and a tag named `Policy` with escapes.
    #[cfg(feature = "bundled-policies")]
    #[test]
    fn a_key_policy_kept_as_written_reads_as_the_plain_reading_reads_it() {
        let rdk = include_str!("../../tests/fixtures/real-exports/rdk-example-ci-aws-kms-key.json");
        let rdk: Value = serde_json::from_str(rdk).expect("the fixture is JSON");
        let mut corpus = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(crate::bundled::DATA), &mut corpus)
            .expect("the corpus inflates");
        let corpus: Value = serde_json::from_str(&corpus).expect("the corpus is JSON");
        let with_policy = |policy: Value| {
            let mut item = rdk.clone();
            item["supplementaryConfiguration"]["Policy"] = policy;
            item
        };
        let mut items = vec![rdk.clone()];
        for policy in corpus["Policies"].as_array().expect("policies").iter().take(300) {
            let document = &policy["PolicyVersionList"][0]["Document"];
            let pretty = serde_json::to_string_pretty(document).expect("a document");
            items.push(with_policy(json!(pretty)));
        }
        let twice = serde_json::to_string(
            &serde_json::to_string_pretty(&corpus["Policies"][0]["PolicyVersionList"][0]["Document"])
                .expect("a document"),
        )
        .expect("a string");
        items.push(with_policy(json!(twice)));
        items.push(with_policy(json!("{\"Version\": \"2012-10-17\", \"Statement\": [")));
        let mut tagged = rdk.clone();
        tagged["tags"] = json!({"Policy": "a \"quoted\" tag\nvalue"});
        items.push(tagged);
        let mut unread = 0;
        for item in &items {
            let text = item.to_string();
            let plain = Resource::from_json(item);
            for _ in 0..3 {
                assert_eq!(Resource::from_text(&text).expect("the item is JSON"), plain.clone().map(Box::new));
            }
            let kept = Tree::with_parsed_keeping_in(&text, Some(&KEY_POLICY_KEPT), |tree, _| {
                tree.kept().into_iter().map(|(_, read)| read).collect::<Vec<_>>()
            })
            .expect("the item is JSON");
            unread += usize::from(kept == [false]);
        }
        // Every key policy that is a JSON document was known by its third reading, and left
        // unescaped (the one that is not JSON is always read).
        assert_eq!(unread, items.len() - 1, "key policies left unread");
    }
}
