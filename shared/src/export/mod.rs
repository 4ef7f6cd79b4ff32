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

mod split;

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

/// What an export holds: configuration items to evaluate, and AWS managed policies (GAAD) that
/// only resolve attachments, as `(arn, default version document)`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ExportItems {
    /// Items, each with where it stood in the document (`configurationItems[12]`).
    pub items: Vec<(String, Value)>,
    /// AWS managed policies from GAAD input.
    pub aws_managed_policies: Vec<(String, Value)>,
}

/// One thing found in an export, handed out as soon as it is parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// A configuration item, with where it stood (`configurationItems[12]`).
    Item {
        /// Its place in the document.
        at: String,
        /// The item.
        item: Value,
    },
    /// An AWS managed policy (GAAD input): resolves attachments only.
    AwsManagedPolicy {
        /// Its ARN.
        arn: String,
        /// Its default version's document.
        document: Value,
    },
    /// One entry that cannot be used; the rest of the document goes on.
    Error(ExportError),
}

/// Why a document could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Not JSON (or cut short, or not UTF-8), with serde's line and column.
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not JSON, as [`stream_raw`] finds it: serde's wording, and the place in the file.
    #[error("not valid JSON: {0}")]
    Syntax(SyntaxError),
    /// The input could not be read (a gzip cut short or damaged, a read error).
    #[error("cannot be read: {0}")]
    Read(std::io::Error),
    /// JSON, but not an export.
    #[error("{0}")]
    Shape(#[from] ExportError),
}

/// Where a document stops being JSON, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at line {line} column {column}")]
pub struct SyntaxError {
    /// What is wrong, in serde_json's words (`EOF while parsing a list`).
    pub what: String,
    /// The line, from 1.
    pub line: u64,
    /// The column: bytes into the line, as serde_json counts them.
    pub column: u64,
}

/// What the top level of an export must be.
const TOP_LEVEL_EXPECTED: &str = "a JSON object (a Config export, AWS CLI output or a configuration item)";

/// The top-level keys that hold configuration items, the list each is, and the shape it makes
/// the document (the GAAD lists are [`GaadList`]).
const ITEM_LIST_KEYS: [(&str, ListKind, ExportShape); 3] = [
    ("configurationItems", ListKind::Items, ExportShape::ConfigurationItems),
    ("baseConfigurationItems", ListKind::Items, ExportShape::BatchGet),
    ("Results", ListKind::SelectResults, ExportShape::Select),
];

/// Reads an export from `reader` without holding it whole: the item arrays
/// (`configurationItems`, `baseConfigurationItems`, `Results`, the GAAD lists) are walked
/// element by element and each element is handed to `sink` as soon as it is parsed; only
/// the other top-level fields are kept (a single configuration item is one of those).
/// Returns the shape found.
pub fn stream<R: std::io::Read>(reader: R, sink: &mut dyn FnMut(Found)) -> Result<ExportShape, StreamError> {
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let shape = top_level(&mut deserializer, sink)?;
    deserializer.end()?;
    Ok(shape)
}

/// The items of an already-parsed `document`, whatever its shape (the same walk as [`stream`]).
pub fn items(document: Value) -> Result<ExportItems, StreamError> {
    let mut out = ExportItems::default();
    let mut first_error = None;
    top_level(document, &mut |found| match found {
        Found::Item { at, item } => out.items.push((at, item)),
        Found::AwsManagedPolicy { arn, document } => out.aws_managed_policies.push((arn, document)),
        Found::Error(e) => {
            first_error.get_or_insert(e);
        }
    })?;
    match first_error {
        Some(e) => Err(StreamError::Shape(e)),
        None => Ok(out),
    }
}

/// One element of an export's item list, not parsed yet: what [`stream_raw`] hands out, so
/// that the one thread reading a file only splits it, and parsing and converting happen where
/// the work is spread over every core ([`RawEntry::decode`]). Its text is UTF-8 with sound
/// brackets and strings; whether it is JSON is found out when it is decoded.
#[derive(Debug, Clone)]
pub struct RawEntry {
    list: ListKind,
    place: Place,
    raw: Box<str>,
}

/// Where an entry stood in its document.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// `key[index]` of an item list.
    Listed { key: &'static str, index: usize },
    /// The document is one configuration item.
    Whole,
}

impl RawEntry {
    /// Where the entry stood (`configurationItems[12]`, or `item` for a single-item document).
    pub fn at(&self) -> String {
        match self.place {
            Place::Listed { key, index } => format!("{key}[{index}]"),
            Place::Whole => "item".into(),
        }
    }

    /// The entry's JSON text, as it stood in the input.
    pub fn json(&self) -> &str {
        &self.raw
    }

    /// Parses and converts the entry, as [`stream`] would have handed it out (`None` for a GAAD
    /// entry that is neither an item nor an AWS managed policy). An entry that is not JSON is
    /// an error of its own, placed within the entry.
    pub fn decode(&self) -> Option<Found> {
        let at = self.at();
        match serde_json::from_str::<Value>(&self.raw) {
            Ok(element) => found(self.list, at, element),
            Err(e) => {
                let message = e.to_string();
                let problem = match message.rsplit_once(" at line ") {
                    Some((what, _)) if e.line() > 0 => {
                        format!("is not valid JSON: {what} at line {} column {} of the entry", e.line(), e.column())
                    }
                    _ => format!("is not valid JSON: {message}"),
                };
                Some(Found::Error(ExportError::Field { field: at, problem }))
            }
        }
    }

    /// Rebuilds an entry from what [`RawEntry::to_parts`] gave (an entry set aside on disk).
    pub fn from_parts(tag: u8, index: usize, json: String) -> Option<RawEntry> {
        let (list, place) = match tag {
            0 => (ListKind::Items, Place::Whole),
            1 => (ListKind::Items, Place::Listed { key: "configurationItems", index }),
            2 => (ListKind::Items, Place::Listed { key: "baseConfigurationItems", index }),
            3 => (ListKind::SelectResults, Place::Listed { key: "Results", index }),
            4 => (ListKind::Gaad(GaadList::Policies), Place::Listed { key: "Policies", index }),
            5 => (ListKind::Gaad(GaadList::Roles), Place::Listed { key: "RoleDetailList", index }),
            6 => (ListKind::Gaad(GaadList::Users), Place::Listed { key: "UserDetailList", index }),
            7 => (ListKind::Gaad(GaadList::Groups), Place::Listed { key: "GroupDetailList", index }),
            _ => return None,
        };
        Some(RawEntry { list, place, raw: json.into() })
    }

    /// A compact form of the entry's kind and place (for [`RawEntry::from_parts`]), and its
    /// index.
    pub fn to_parts(&self) -> (u8, usize) {
        match self.place {
            Place::Whole => (0, 0),
            Place::Listed { key, index } => {
                let tag = match key {
                    "configurationItems" => 1,
                    "baseConfigurationItems" => 2,
                    "Results" => 3,
                    "Policies" => 4,
                    "RoleDetailList" => 5,
                    "UserDetailList" => 6,
                    _ => 7,
                };
                (tag, index)
            }
        }
    }
}

/// As [`stream`], but hands out each element unparsed ([`RawEntry`]): the reader only finds
/// where each entry ends (see `split`), and the entries are parsed where the work is spread
/// over every core. A single-item document is one entry. Errors of structure stop the
/// document; an entry whose content is not JSON is found when it is decoded, as that entry's
/// error.
pub fn stream_raw<R: std::io::Read>(reader: R, sink: &mut dyn FnMut(RawEntry)) -> Result<ExportShape, StreamError> {
    split::split(reader, sink)
}

fn unknown_shape(rest: &Map<String, Value>) -> StreamError {
    let keys: Vec<&str> = rest.keys().map(String::as_str).take(6).collect();
    StreamError::Shape(ExportError::UnknownShape { found: format!("keys {keys:?}") })
}

fn top_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    sink: &mut dyn FnMut(Found),
) -> Result<ExportShape, StreamError>
where
    StreamError: From<D::Error>,
{
    let (shape, rest) = deserializer.deserialize_map(TopLevel { sink })?;
    match shape {
        Some(shape) => Ok(shape),
        None if rest.contains_key("resourceType") => {
            sink(Found::Item { at: "item".into(), item: Value::Object(rest) });
            Ok(ExportShape::SingleItem)
        }
        None => Err(unknown_shape(&rest)),
    }
}

/// Which array a list holds.
#[derive(Debug, Clone, Copy)]
enum ListKind {
    Items,
    SelectResults,
    Gaad(GaadList),
}

struct TopLevel<'s> {
    sink: &'s mut dyn FnMut(Found),
}

impl<'de> serde::de::Visitor<'de> for TopLevel<'_> {
    type Value = (Option<ExportShape>, Map<String, Value>);

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(TOP_LEVEL_EXPECTED)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut shape = None;
        let mut rest = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let listed = ITEM_LIST_KEYS.iter().find(|(k, _, _)| *k == key).copied();
            let (key, kind, found_shape) = match listed {
                Some(list) => list,
                None => match GaadList::from_key(&key) {
                    Some(list) => (list.key(), ListKind::Gaad(list), ExportShape::AuthorizationDetails),
                    None => {
                        let value: Value = map.next_value()?;
                        rest.insert(key, value);
                        continue;
                    }
                },
            };
            map.next_value_seed(List { key, kind, sink: &mut *self.sink })?;
            shape = Some(found_shape);
        }
        Ok((shape, rest))
    }
}

struct List<'a> {
    key: &'static str,
    kind: ListKind,
    sink: &'a mut dyn FnMut(Found),
}

impl<'de> serde::de::DeserializeSeed<'de> for List<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for List<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` to be an array", self.key)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(element) = seq.next_element::<Value>()? {
            let at = format!("{}[{index}]", self.key);
            index += 1;
            if let Some(found) = found(self.kind, at, element) {
                (self.sink)(found);
            }
        }
        Ok(())
    }
}

/// What one list element is (`None`: a GAAD entry to skip).
fn found(kind: ListKind, at: String, element: Value) -> Option<Found> {
    Some(match kind {
        ListKind::Items => Found::Item { at, item: element },
        ListKind::SelectResults => match element {
            Value::String(text) => match serde_json::from_str(&text) {
                Ok(item) => Found::Item { at, item },
                Err(e) => Found::Error(ExportError::Field {
                    field: at,
                    problem: format!("is not a JSON configuration item: {e}"),
                }),
            },
            item => Found::Item { at, item },
        },
        ListKind::Gaad(list) => match gaad_entry(list, &at, &element) {
            Ok(Some(GaadEntry::Item(item))) => Found::Item { at, item },
            Ok(Some(GaadEntry::AwsManagedPolicy { arn, document })) => Found::AwsManagedPolicy { arn, document },
            Ok(None) => return None,
            Err(e) => Found::Error(e),
        },
    })
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

/// `PermissionsBoundary` (`{PermissionsBoundaryArn, PermissionsBoundaryType}`) to the item's
/// `permissionsBoundary` (`{permissionsBoundaryArn, permissionsBoundaryType}`); absent or null
/// is none. Any other shape is an error naming the field (`RoleDetailList[3].PermissionsBoundary`).
fn permissions_boundary(entry: &Value, at: &str) -> Result<Value, ExportError> {
    let at = format!("{at}.PermissionsBoundary");
    let boundary = match entry.get("PermissionsBoundary") {
        None | Some(Value::Null) => return Ok(Value::Null),
        Some(boundary @ Value::Object(_)) => boundary,
        Some(other) => {
            return Err(ExportError::Field {
                field: at,
                problem: format!("is {}, expected an object", crate::policy::decode::json_type(other)),
            })
        }
    };
    let kind = match boundary.get("PermissionsBoundaryType") {
        None | Some(Value::Null) => None,
        Some(_) => Some(required(boundary, "PermissionsBoundaryType", &at)?),
    };
    Ok(json!({
        "permissionsBoundaryArn": required(boundary, "PermissionsBoundaryArn", &at)?,
        "permissionsBoundaryType": kind,
    }))
}

fn required<'v>(entry: &'v Value, name: &str, at: &str) -> Result<&'v str, ExportError> {
    text(entry, name).ok_or_else(|| ExportError::Field {
        field: format!("{at}.{name}"),
        problem: "is missing or not a string".into(),
    })
}

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
    match list {
        GaadList::Policies => {
            let arn = required(entry, "Arn", at)?;
            let versions = entry.get("PolicyVersionList").and_then(Value::as_array).cloned().unwrap_or_default();
            if arn_account(arn) == "aws" {
                let default = versions.iter().find(|v| v.get("IsDefaultVersion") == Some(&Value::Bool(true)));
                return Ok(default
                    .and_then(|v| v.get("Document"))
                    .map(|document| GaadEntry::AwsManagedPolicy { arn: arn.to_owned(), document: document.clone() }));
            }
            let name = required(entry, "PolicyName", at)?;
            let configuration = json!({
                "policyName": name,
                "policyId": entry.get("PolicyId"),
                "arn": arn,
                "path": entry.get("Path"),
                "defaultVersionId": entry.get("DefaultVersionId"),
                "attachmentCount": entry.get("AttachmentCount"),
                "permissionsBoundaryUsageCount": entry.get("PermissionsBoundaryUsageCount"),
                "isAttachable": entry.get("IsAttachable"),
                "policyVersionList": versions.iter().map(|v| json!({
                    "document": v.get("Document"),
                    "versionId": v.get("VersionId"),
                    "isDefaultVersion": v.get("IsDefaultVersion"),
                })).collect::<Vec<_>>(),
            });
            let id = required(entry, "PolicyId", at)?;
            Ok(Some(GaadEntry::Item(gaad_item("AWS::IAM::Policy", id, arn, name, configuration))))
        }
        GaadList::Roles => {
            let (arn, name, id) =
                (required(entry, "Arn", at)?, required(entry, "RoleName", at)?, required(entry, "RoleId", at)?);
            let configuration = json!({
                "roleName": name, "roleId": id, "arn": arn, "path": entry.get("Path"),
                "assumeRolePolicyDocument": entry.get("AssumeRolePolicyDocument"),
                "rolePolicyList": inline_policies(entry, "RolePolicyList"),
                "attachedManagedPolicies": attached_policies(entry),
                "permissionsBoundary": permissions_boundary(entry, at)?,
            });
            Ok(Some(GaadEntry::Item(gaad_item("AWS::IAM::Role", id, arn, name, configuration))))
        }
        GaadList::Users => {
            let (arn, name, id) =
                (required(entry, "Arn", at)?, required(entry, "UserName", at)?, required(entry, "UserId", at)?);
            let configuration = json!({
                "userName": name, "userId": id, "arn": arn, "path": entry.get("Path"),
                "groupList": entry.get("GroupList").cloned().unwrap_or_else(|| json!([])),
                "userPolicyList": inline_policies(entry, "UserPolicyList"),
                "attachedManagedPolicies": attached_policies(entry),
                "permissionsBoundary": permissions_boundary(entry, at)?,
            });
            Ok(Some(GaadEntry::Item(gaad_item("AWS::IAM::User", id, arn, name, configuration))))
        }
        GaadList::Groups => {
            let (arn, name, id) =
                (required(entry, "Arn", at)?, required(entry, "GroupName", at)?, required(entry, "GroupId", at)?);
            let configuration = json!({
                "groupName": name, "groupId": id, "arn": arn, "path": entry.get("Path"),
                "groupPolicyList": inline_policies(entry, "GroupPolicyList"),
                "attachedManagedPolicies": attached_policies(entry),
            });
            Ok(Some(GaadEntry::Item(gaad_item("AWS::IAM::Group", id, arn, name, configuration))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> Result<ExportShape, String> {
        stream(text.as_bytes(), &mut |_| {}).map_err(|e| e.to_string())
    }

    #[test]
    fn shapes_are_told_by_content() {
        assert_eq!(shape(r#"{"fileVersion":"1.0","configurationItems":[]}"#), Ok(ExportShape::ConfigurationItems));
        assert_eq!(shape(r#"{"baseConfigurationItems":[]}"#), Ok(ExportShape::BatchGet));
        assert_eq!(shape(r#"{"Results":[]}"#), Ok(ExportShape::Select));
        assert_eq!(shape(r#"{"resourceType":"AWS::KMS::Key"}"#), Ok(ExportShape::SingleItem));
        assert_eq!(shape(r#"{"RoleDetailList":[]}"#), Ok(ExportShape::AuthorizationDetails));
        assert!(shape(r#"{"foo":1}"#).err().unwrap_or_default().starts_with("not a known export shape"));
        assert!(shape("[1]")
            .err()
            .unwrap_or_default()
            .starts_with("not valid JSON: invalid type: sequence, expected a JSON object"));
        assert!(shape(r#"{"configurationItems":3}"#)
            .err()
            .unwrap_or_default()
            .contains("expected `configurationItems` to be an array"));
        assert!(shape(r#"{"configurationItems":[{"a":1},"#).err().unwrap_or_default().contains("EOF while parsing"));
    }

    #[test]
    fn items_are_handed_out_one_by_one_in_order() {
        let mut seen = Vec::new();
        let text = r#"{"fileVersion":"1.0","configurationItems":[{"resourceType":"A","resourceId":"1"},{"resourceType":"B","resourceId":"2"}]}"#;
        let got = stream(text.as_bytes(), &mut |found| {
            if let Found::Item { at, .. } = found {
                seen.push(at)
            }
        });
        assert!(got.is_ok());
        assert_eq!(seen, ["configurationItems[0]", "configurationItems[1]"]);
    }

    #[test]
    fn raw_entries_decode_to_what_stream_finds_and_survive_being_set_aside() {
        let documents = [
            r#"{"fileVersion":"1.0","configurationItems":[{"resourceType":"A","resourceId":"1"},{"resourceType":"B","resourceId":"2"}]}"#,
            r#"{"Results":["{\"resourceType\":\"AWS::KMS::Key\",\"resourceId\":\"k\"}","not json"]}"#,
            r#"{"resourceType":"AWS::KMS::Key","resourceId":"k"}"#,
            r#"{"RoleDetailList":[{"RoleName":"App","RoleId":"AROA1","Arn":"arn:aws:iam::111122223333:role/App"},{"RoleName":"NoId"}]}"#,
        ];
        for text in documents {
            let mut parsed = Vec::new();
            let shape = stream(text.as_bytes(), &mut |f| parsed.push(f)).map_err(|e| e.to_string());
            let mut entries = Vec::new();
            let raw_shape = stream_raw(text.as_bytes(), &mut |e| entries.push(e)).map_err(|e| e.to_string());
            assert_eq!(shape, raw_shape, "{text}");
            let decoded: Vec<Found> = entries.iter().filter_map(RawEntry::decode).collect();
            assert_eq!(decoded, parsed, "{text}");
            let rebuilt: Vec<Found> = entries
                .iter()
                .filter_map(|e| {
                    let (tag, index) = e.to_parts();
                    RawEntry::from_parts(tag, index, e.json().to_owned())
                })
                .filter_map(|e| e.decode())
                .collect();
            assert_eq!(rebuilt, parsed, "{text}");
        }
        assert!(RawEntry::from_parts(99, 0, "{}".into()).is_none());
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

    #[test]
    fn gaad_users_and_roles_carry_their_permissions_boundary() {
        let boundary = "arn:aws:iam::111122223333:policy/Boundary";
        let doc = json!({
            "RoleDetailList":[{"RoleName":"App","RoleId":"AROA1","Arn":"arn:aws:iam::111122223333:role/App","Path":"/",
                "PermissionsBoundary":{"PermissionsBoundaryType":"PermissionsBoundaryPolicy","PermissionsBoundaryArn":boundary}},
                {"RoleName":"Free","RoleId":"AROA2","Arn":"arn:aws:iam::111122223333:role/Free","Path":"/"}],
            "UserDetailList":[{"UserName":"alice","UserId":"AIDA1","Arn":"arn:aws:iam::111122223333:user/alice","Path":"/",
                "GroupList":[],"PermissionsBoundary":{"PermissionsBoundaryType":"PermissionsBoundaryPolicy","PermissionsBoundaryArn":boundary}}]
        });
        let out = items(doc).unwrap_or_default();
        let boundaries: Vec<(String, Option<String>)> = out
            .items
            .iter()
            .filter_map(|(_, item)| crate::item::Resource::from_json(item).ok())
            .filter_map(|r| match r.details {
                crate::item::Details::Role(role) => Some((r.resource_id, role.identity.boundary)),
                crate::item::Details::User(user) => Some((r.resource_id, user.identity.boundary)),
                _ => None,
            })
            .collect();
        assert_eq!(
            boundaries,
            [
                ("AROA1".to_owned(), Some(boundary.to_owned())),
                ("AROA2".to_owned(), None),
                ("AIDA1".to_owned(), Some(boundary.to_owned())),
            ]
        );
    }

    #[test]
    fn a_gaad_permissions_boundary_of_the_wrong_shape_is_an_error_naming_the_field() {
        let role = |boundary: Value| {
            json!({"RoleDetailList":[{"RoleName":"App","RoleId":"AROA1","Arn":"arn:aws:iam::111122223333:role/App",
                "PermissionsBoundary": boundary}]})
        };
        let cases = [
            (
                json!("arn:aws:iam::111122223333:policy/B"),
                "field `RoleDetailList[0].PermissionsBoundary` is a string, expected an object",
            ),
            (
                json!({"PermissionsBoundaryType":"PermissionsBoundaryPolicy"}),
                "field `RoleDetailList[0].PermissionsBoundary.PermissionsBoundaryArn` is missing or not a string",
            ),
            (
                json!({"PermissionsBoundaryArn":"arn:aws:iam::111122223333:policy/B","PermissionsBoundaryType":3}),
                "field `RoleDetailList[0].PermissionsBoundary.PermissionsBoundaryType` is missing or not a string",
            ),
        ];
        for (boundary, message) in cases {
            assert_eq!(items(role(boundary)).err().map(|e| e.to_string()).as_deref(), Some(message));
        }
    }
}
