//! Exported Config data: which shape a JSON document is, and the configuration items in it.
//!
//! Shapes are told apart by content, never by file name:
//! - Config snapshot and history files as delivered to S3, and `aws configservice
//!   get-resource-config-history` output: `{"configurationItems": [...]}`;
//! - `aws configservice batch-get-resource-config` output: `{"baseConfigurationItems": [...],
//!   "unprocessedResourceKeys": [...]}`, and `batch-get-aggregate-resource-config`'s
//!   `{"BaseConfigurationItems": [...], "UnprocessedResourceIdentifiers": [...]}`: a resource
//!   Config did not return is an input error, never a silent gap;
//! - `aws configservice select-resource-config` and `select-aggregate-resource-config` output:
//!   `{"Results": ["<item JSON>", ...]}`; a result lacking a field the rules need is an input
//!   error whose message gives the SELECT that works;
//! - a single configuration item: `{"resourceType": ..., "resourceId": ...}`, and
//!   `get-aggregate-resource-config`'s `{"ConfigurationItem": {...}}`;
//! - messages carrying one item (`configurationItem`): the event Config sends a rule's Lambda
//!   function (`invokingEvent`, a JSON string), the change notification Config publishes to SNS
//!   (`"Type": "Notification"`, `Message` a JSON string), its EventBridge event (`detail`), and
//!   the notification message itself (`configurationItem` and `messageType`). An oversized-item
//!   or periodic notification carries no item: an input error saying what to export instead.
//!   The item of a rule event is judged even when `eventLeftScope` is true: the dry-run's scope
//!   is its rules', not the deployed rule's;
//! - `aws iam get-account-authorization-details` output (GAAD): `UserDetailList`,
//!   `GroupDetailList`, `RoleDetailList`, `Policies` ([`gaad_entry`]). Its entries become items
//!   of the matching Config types with `resourceId` the `PolicyId`/`RoleId`/`UserId`/`GroupId`;
//!   AWS managed policies only resolve attachments and are never items (SPEC section 6).
//!
//! A page of a longer output (GAAD's `IsTruncated`, a `NextToken`) is read, with a warning
//! ([`Outline::warnings`]).
//!
//! This module is pure: it takes JSON and returns items, so the dry-run, the Lambda shell and
//! tests share it.

use serde_json::{Map, Value};

use entry_text::EntryText;

mod entry_text;
mod gaad;
mod split;
mod whole;

pub use gaad::{gaad_entry, gaad_tree, GaadEntry, GaadList, GaadTree};

/// The shape of an export document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportShape {
    /// S3 snapshot/history file or `get-resource-config-history` output.
    ConfigurationItems,
    /// `batch-get-resource-config` output.
    BatchGet,
    /// `select-resource-config` or `select-aggregate-resource-config` output.
    Select,
    /// One configuration item.
    SingleItem,
    /// `get-account-authorization-details` output.
    AuthorizationDetails,
    /// `batch-get-aggregate-resource-config` output (`BaseConfigurationItems`).
    AggregateBatchGet,
    /// `get-aggregate-resource-config` output (`ConfigurationItem`).
    AggregateItem,
    /// The event Config sends a rule's Lambda function (`invokingEvent`).
    RuleEvent,
    /// A configuration change notification as SNS delivers it (`Type`, `Message`).
    SnsNotification,
    /// A configuration change as an EventBridge event (`detail`).
    EventBridgeEvent,
    /// A configuration change notification message (`configurationItem`, `messageType`).
    Notification,
}

/// What reading a document found besides its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The document's shape.
    pub shape: ExportShape,
    /// What the reader should be told though nothing is wrong with the entries read (a page of
    /// a longer output): each a sentence, for `warning: <file>: <sentence>`.
    pub warnings: Vec<String>,
}

/// Why a document is not an export we read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// No known shape.
    #[error("not a known export shape (expected `configurationItems`, `baseConfigurationItems`, `Results`, a configuration item with `resourceType`, a Config notification or rule event carrying `configurationItem`, or `get-account-authorization-details` output); found {found}")]
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

/// Every place an entry can stand in a document. Its number is its tag in
/// [`RawEntry::to_parts`], written to disk with entries set aside: never renumber one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The document is one configuration item.
    Item = 0,
    ConfigurationItems = 1,
    BaseConfigurationItems = 2,
    Results = 3,
    Policies = 4,
    RoleDetailList = 5,
    UserDetailList = 6,
    GroupDetailList = 7,
    /// `batch-get-aggregate-resource-config`'s list.
    AggregateBaseItems = 8,
    /// `get-aggregate-resource-config`'s item.
    AggregateItem = 9,
    RuleEvent = 10,
    Sns = 11,
    EventBridge = 12,
    Notification = 13,
    Unprocessed = 14,
    AggregateUnprocessed = 15,
}

/// What the elements of a slot's list are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Contents {
    /// Configuration items, handed out unchanged.
    Items,
    /// Entries of a GAAD list, converted first ([`gaad::gaad_tree`]).
    Gaad(GaadList),
    /// `select-resource-config` results: JSON strings of the selected fields.
    SelectResults,
    /// The keys a batch-get did not return: not items, but errors.
    Unprocessed,
}

impl Slot {
    /// What an element of this slot's list is. One match names every slot, so that a slot
    /// added later must say what it holds.
    fn contents(self) -> Contents {
        match self {
            Slot::Item
            | Slot::ConfigurationItems
            | Slot::BaseConfigurationItems
            | Slot::AggregateBaseItems
            | Slot::AggregateItem
            | Slot::RuleEvent
            | Slot::Sns
            | Slot::EventBridge
            | Slot::Notification => Contents::Items,
            Slot::Policies => Contents::Gaad(GaadList::Policies),
            Slot::RoleDetailList => Contents::Gaad(GaadList::Roles),
            Slot::UserDetailList => Contents::Gaad(GaadList::Users),
            Slot::GroupDetailList => Contents::Gaad(GaadList::Groups),
            Slot::Results => Contents::SelectResults,
            Slot::Unprocessed | Slot::AggregateUnprocessed => Contents::Unprocessed,
        }
    }

    /// The GAAD list whose entries this slot holds.
    fn gaad_list(self) -> Option<GaadList> {
        match self.contents() {
            Contents::Gaad(list) => Some(list),
            Contents::Items | Contents::SelectResults | Contents::Unprocessed => None,
        }
    }

    const ALL: [Slot; 16] = [
        Slot::Item,
        Slot::ConfigurationItems,
        Slot::BaseConfigurationItems,
        Slot::Results,
        Slot::Policies,
        Slot::RoleDetailList,
        Slot::UserDetailList,
        Slot::GroupDetailList,
        Slot::AggregateBaseItems,
        Slot::AggregateItem,
        Slot::RuleEvent,
        Slot::Sns,
        Slot::EventBridge,
        Slot::Notification,
        Slot::Unprocessed,
        Slot::AggregateUnprocessed,
    ];

    /// Where the entry stands: a list's key (the entry is `key[index]`) or a field's path.
    fn key(self) -> &'static str {
        match self {
            Slot::Item => "item",
            Slot::ConfigurationItems => "configurationItems",
            Slot::BaseConfigurationItems => "baseConfigurationItems",
            Slot::Results => "Results",
            Slot::Policies => GaadList::Policies.key(),
            Slot::RoleDetailList => GaadList::Roles.key(),
            Slot::UserDetailList => GaadList::Users.key(),
            Slot::GroupDetailList => GaadList::Groups.key(),
            Slot::AggregateBaseItems => "BaseConfigurationItems",
            Slot::AggregateItem => "ConfigurationItem",
            Slot::RuleEvent => "invokingEvent.configurationItem",
            Slot::Sns => "Message.configurationItem",
            Slot::EventBridge => "detail.configurationItem",
            Slot::Notification => "configurationItem",
            Slot::Unprocessed => "unprocessedResourceKeys",
            Slot::AggregateUnprocessed => "UnprocessedResourceIdentifiers",
        }
    }

    /// Whether entries here are elements of a list.
    fn listed(self) -> bool {
        matches!(
            self,
            Slot::ConfigurationItems
                | Slot::BaseConfigurationItems
                | Slot::Results
                | Slot::Policies
                | Slot::RoleDetailList
                | Slot::UserDetailList
                | Slot::GroupDetailList
                | Slot::AggregateBaseItems
        )
    }

    /// The item list a top-level key holds, and the shape it makes the document.
    fn of_list(key: &str) -> Option<(Slot, ExportShape)> {
        let found = match key {
            "configurationItems" => (Slot::ConfigurationItems, ExportShape::ConfigurationItems),
            "baseConfigurationItems" => (Slot::BaseConfigurationItems, ExportShape::BatchGet),
            "Results" => (Slot::Results, ExportShape::Select),
            "BaseConfigurationItems" => (Slot::AggregateBaseItems, ExportShape::AggregateBatchGet),
            _ => {
                let slot = match GaadList::from_key(key)? {
                    GaadList::Policies => Slot::Policies,
                    GaadList::Roles => Slot::RoleDetailList,
                    GaadList::Users => Slot::UserDetailList,
                    GaadList::Groups => Slot::GroupDetailList,
                };
                (slot, ExportShape::AuthorizationDetails)
            }
        };
        Some(found)
    }

    /// Where an entry here at `index` stood (`configurationItems[12]`, `invokingEvent.configurationItem`).
    fn at(self, index: usize) -> String {
        SlotAt(self, index).to_string()
    }
}

/// Where an entry stood (`configurationItems[12]`, `item`), written out when asked.
#[derive(Clone, Copy)]
struct SlotAt(Slot, usize);

impl std::fmt::Display for SlotAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let SlotAt(slot, index) = *self;
        match slot.listed() {
            true => write!(f, "{}[{index}]", slot.key()),
            false => f.write_str(slot.key()),
        }
    }
}

/// Reads an export from `reader` without holding it whole: the item arrays
/// (`configurationItems`, `baseConfigurationItems`, `Results`, the GAAD lists, ...) are walked
/// element by element and each element is handed to `sink` as soon as it is parsed; only
/// the other top-level fields are kept (a single configuration item or a notification is one
/// of those, handed out at the end). Returns the shape found, and any warnings.
pub fn stream<R: std::io::Read>(reader: R, sink: &mut dyn FnMut(Found)) -> Result<Outline, StreamError> {
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let outline = top_level(&mut deserializer, sink)?;
    deserializer.end()?;
    Ok(outline)
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

/// One element of an export's item list (or a document's one item), not parsed yet: what
/// [`stream_raw`] hands out, so that the one thread reading a file only splits it, and parsing
/// and converting happen where the work is spread over every core ([`RawEntry::decode`]). Its
/// text is UTF-8 with sound brackets and strings; whether it is JSON is found out when it is
/// decoded.
#[derive(Debug, Clone)]
pub struct RawEntry {
    slot: Slot,
    index: usize,
    raw: EntryText,
    /// Where the entry's text starts in the input as read (inflated, for gzip): its text is
    /// that input's bytes from here. `None` for an entry written back rather than cut out (a
    /// document's one item) or rebuilt from parts.
    offset: Option<u64>,
}

impl RawEntry {
    /// Where the entry stood (`configurationItems[12]`, or `item` for a single-item document).
    pub fn at(&self) -> String {
        self.slot.at(self.index)
    }

    /// The entry's JSON text, as it stood in the input.
    pub fn json(&self) -> &str {
        self.raw.as_str()
    }

    /// The length of the entry's JSON text in bytes.
    pub fn text_len(&self) -> usize {
        self.raw.len()
    }

    /// Parses and converts the entry, as [`stream`] would have handed it out (`None` for a GAAD
    /// entry that is neither an item nor an AWS managed policy, or an empty list of resources a
    /// batch-get did not return). An entry that is not JSON is an error of its own, placed
    /// within the entry.
    pub fn decode(&self) -> Option<Found> {
        let at = self.at();
        match serde_json::from_str::<Value>(self.json()) {
            Ok(element) => found(self.slot, at, element),
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

    /// For an entry of a GAAD list: the entry parsed into a tree and converted
    /// ([`gaad::gaad_tree`]), handed to `read` with the arena both live in; what `read` gives.
    /// `None` for any other entry, and for one that is not JSON ([`RawEntry::decode`] words
    /// that error). Its policy documents are kept as their text ([`gaad::DOCUMENTS`]).
    pub fn decode_gaad<T>(
        &self,
        read: impl for<'t> FnOnce(Result<Option<GaadTree<'t>>, ExportError>) -> T,
    ) -> Option<T> {
        let list = self.slot.gaad_list()?;
        let at = SlotAt(self.slot, self.index);
        // A document the memo is asked about while the entry is parsed, and found, is handed
        // over to its reading: not looked up twice.
        let text = self.json();
        crate::policy::handing_over(text, || {
            crate::json_tree::Tree::with_parsed_keeping_in(text, Some(&gaad::DOCUMENTS), |entry, arena| {
                read(gaad::gaad_tree(list, &at, entry, arena))
            })
        })
        .ok()
    }

    /// The entry's text when the entry is a configuration item as it stands (a snapshot's
    /// `configurationItems`, an event's item, ...): what [`RawEntry::decode`] would hand out as
    /// [`Found::Item`] unchanged, so a caller may read it in place instead. `None` for the
    /// shapes that are converted first (GAAD, select results, unprocessed keys).
    pub fn item_text(&self) -> Option<&str> {
        (self.slot.contents() == Contents::Items).then(|| self.json())
    }

    /// Rebuilds an entry from what [`RawEntry::to_parts`] gave (an entry set aside on disk).
    pub fn from_parts(tag: u8, index: usize, json: String) -> Option<RawEntry> {
        let slot = Slot::ALL.into_iter().find(|slot| *slot as u8 == tag)?;
        Some(RawEntry { slot, index, raw: json.into(), offset: None })
    }

    /// Where the entry's text starts in the input as read, when it was cut out of it: the
    /// entry is that input's next `json().len()` bytes from there.
    pub fn offset(&self) -> Option<u64> {
        self.offset
    }

    /// A compact form of the entry's kind and place (for [`RawEntry::from_parts`]), and its
    /// index.
    pub fn to_parts(&self) -> (u8, usize) {
        (self.slot as u8, self.index)
    }
}

/// As [`stream`], but hands out each element unparsed ([`RawEntry`]): the reader only finds
/// where each entry ends (see `split`), and the entries are parsed where the work is spread
/// over every core. A document's one item is one entry. Errors of structure stop the
/// document; an entry whose content is not JSON is found when it is decoded, as that entry's
/// error.
pub fn stream_raw<R: std::io::Read>(reader: R, sink: &mut dyn FnMut(RawEntry)) -> Result<Outline, StreamError> {
    split::split(reader, sink)
}

fn unknown_shape(rest: &Map<String, Value>) -> StreamError {
    let keys: Vec<&str> = rest.keys().map(String::as_str).take(6).collect();
    StreamError::Shape(ExportError::UnknownShape { found: format!("keys {keys:?}") })
}

fn top_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    sink: &mut dyn FnMut(Found),
) -> Result<Outline, StreamError>
where
    StreamError: From<D::Error>,
{
    let (shape, rest) = deserializer.deserialize_map(TopLevel { sink })?;
    let whole = whole::whole(shape, rest)?;
    for (slot, value) in whole.entries {
        if let Some(found) = found(slot, slot.at(0), value) {
            sink(found);
        }
    }
    Ok(Outline { shape: whole.shape, warnings: whole.warnings })
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
            match Slot::of_list(&key) {
                Some((slot, found_shape)) => {
                    map.next_value_seed(List { slot, sink: &mut *self.sink })?;
                    shape = Some(found_shape);
                }
                None => {
                    let value: Value = map.next_value()?;
                    rest.insert(key, value);
                }
            }
        }
        Ok((shape, rest))
    }
}

struct List<'a> {
    slot: Slot,
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
        write!(f, "`{}` to be an array", self.slot.key())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        while let Some(element) = seq.next_element::<Value>()? {
            let at = self.slot.at(index);
            index += 1;
            if let Some(found) = found(self.slot, at, element) {
                (self.sink)(found);
            }
        }
        Ok(())
    }
}

/// What one entry is (`None`: a GAAD entry to skip, or an empty list of unprocessed resources).
fn found(slot: Slot, at: String, element: Value) -> Option<Found> {
    match slot.contents() {
        Contents::Items => Some(Found::Item { at, item: element }),
        Contents::Gaad(list) => match gaad_entry(list, &at, &element) {
            Ok(Some(GaadEntry::Item(item))) => Some(Found::Item { at, item }),
            Ok(Some(GaadEntry::AwsManagedPolicy { arn, document })) => Some(Found::AwsManagedPolicy { arn, document }),
            Ok(None) => None,
            Err(e) => Some(Found::Error(e)),
        },
        Contents::SelectResults => Some(select_result(at, element)),
        Contents::Unprocessed => whole::unprocessed(&at, &element).map(Found::Error),
    }
}

/// A SELECT that gives the rules every field they read, for messages.
pub const SELECT_THAT_WORKS: &str = "SELECT * WHERE resourceType IN ('AWS::KMS::Key', 'AWS::IAM::Policy', \
     'AWS::IAM::User', 'AWS::IAM::Role', 'AWS::IAM::Group')";

/// The same with the fields named.
const SELECT_FIELDS: &str = "SELECT resourceId, resourceType, resourceName, arn, accountId, awsRegion, \
     configuration, supplementaryConfiguration, configurationItemCaptureTime, configurationItemStatus, \
     configurationStateId, tags";

/// A `select-resource-config` result: a JSON string of the selected fields (an object is taken
/// as it is). `select` returns only the fields selected, so a result lacking what the rules
/// read is an input error that says what to select, not an item judged on half its fields.
fn select_result(at: String, element: Value) -> Found {
    let item = match element {
        Value::String(text) => match serde_json::from_str::<Value>(&text) {
            Ok(item) => item,
            Err(e) => {
                return Found::Error(ExportError::Field {
                    field: at,
                    problem: format!("is not a JSON configuration item: {e}"),
                })
            }
        },
        item => item,
    };
    let Some(object) = item.as_object() else { return Found::Item { at, item } };
    // Every item needs its type and id; an item of a type the rules read also needs its
    // configuration and its account (the "own account" of every access decision).
    let judged = object.get("resourceType").and_then(Value::as_str).and_then(crate::item::ResourceType::from_name);
    let mut lacking: Vec<&str> =
        ["resourceType", "resourceId"].into_iter().filter(|field| !object.contains_key(*field)).collect();
    if judged.is_some() {
        if !object.contains_key("configuration") {
            lacking.push("configuration");
        }
        // `accountId` as select names it; `awsAccountId` is the same field in the event dialect.
        if !object.contains_key("accountId") && !object.contains_key("awsAccountId") {
            lacking.push("accountId");
        }
    }
    if lacking.is_empty() {
        return Found::Item { at, item };
    }
    let lacking: Vec<String> = lacking.iter().map(|field| format!("`{field}`")).collect();
    Found::Error(ExportError::Field {
        field: at,
        problem: format!(
            "lacks {}, which the rules need: select whole items (`{SELECT_THAT_WORKS}`), or at least `{SELECT_FIELDS}`",
            lacking.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(text: &str) -> Result<ExportShape, String> {
        stream(text.as_bytes(), &mut |_| {}).map(|o| o.shape).map_err(|e| e.to_string())
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
            r#"{"GroupDetailList":[{"GroupName":"Admins","GroupId":"AGPA1","Arn":"arn:aws:iam::111122223333:group/Admins","AttachedManagedPolicies":{"PolicyName":"AdministratorAccess","PolicyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}}],"IsTruncated":true,"Marker":"m"}"#,
            r#"{"baseConfigurationItems":[{"resourceType":"AWS::KMS::Key","resourceId":"k"}],"unprocessedResourceKeys":[{"resourceType":"AWS::KMS::Key","resourceId":"k2"}]}"#,
            r#"{"UnprocessedResourceIdentifiers":[],"BaseConfigurationItems":[{"resourceType":"AWS::KMS::Key","resourceId":"k","accountId":"111122223333"}]}"#,
            r#"{"ConfigurationItem":{"resourceType":"AWS::KMS::Key","resourceId":"k","accountId":"111122223333"}}"#,
            r#"{"invokingEvent":"{\"configurationItem\":{\"resourceType\":\"AWS::KMS::Key\",\"resourceId\":\"k\"},\"messageType\":\"ConfigurationItemChangeNotification\"}","resultToken":"t"}"#,
            r#"{"Type":"Notification","Message":"{\"configurationItem\":{\"resourceType\":\"AWS::IAM::Role\",\"resourceId\":\"r\"},\"messageType\":\"ConfigurationItemChangeNotification\"}"}"#,
            r#"{"version":"0","source":"aws.config","detail-type":"Config Configuration Item Change","detail":{"configurationItem":{"resourceType":"AWS::KMS::Key","resourceId":"k"},"messageType":"ConfigurationItemChangeNotification"}}"#,
            r#"{"configurationItem":{"resourceType":"AWS::KMS::Key","resourceId":"k"},"messageType":"ConfigurationItemChangeNotification","recordVersion":"1.3"}"#,
            r#"{"Results":["{\"resourceId\":\"k\"}","{\"resourceType\":\"AWS::KMS::Key\",\"resourceId\":\"k\"}"],"NextToken":"n"}"#,
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
            assert!(!parsed.is_empty(), "{text}");
        }
        assert!(RawEntry::from_parts(99, 0, "{}".into()).is_none());
        for slot in Slot::ALL {
            let entry = RawEntry { slot, index: 3, raw: "{}".into(), offset: None };
            let (tag, index) = entry.to_parts();
            assert_eq!(RawEntry::from_parts(tag, index, "{}".into()).map(|e| e.at()), Some(entry.at()));
        }
    }

    /// A GAAD entry decoded again, once the policy memo holds its documents (they are then left
    /// unread: `json_tree::Keeping`), reads as the same resource: every entry of the two public
    /// GAAD exports (sources in `tests/fixtures/real-exports/SOURCES.md`), decoded three times
    /// (a document whose model keeps statements is kept from its second meeting on). Their
    /// documents are then known, as their text stands in the entry.
    #[test]
    fn gaad_entries_read_again_with_their_documents_known_read_the_same() {
        use crate::item::Resource;
        use crate::policy::{knows_well_formed, parse_policy_tree, PolicyKind};
        let mut documents = 0;
        let mut known = 0;
        for export in [
            include_str!("../../../tests/fixtures/real-exports/aws-cli-iam-get-account-authorization-details.json"),
            include_str!(
                "../../../tests/fixtures/real-exports/cloudsplaining-example-authz-details-for-overrides.json"
            ),
        ] {
            let mut entries = Vec::new();
            let outline = stream_raw(export.as_bytes(), &mut |e| entries.push(e));
            assert!(outline.is_ok(), "{outline:?}");
            for entry in &entries {
                let read = || {
                    entry.decode_gaad(|converted| match converted {
                        Ok(Some(GaadTree::Item(item))) => format!("{:?}", Resource::from_tree(&item)),
                        Ok(Some(GaadTree::AwsManagedPolicy { arn, document })) => {
                            format!("{arn} {:?}", parse_policy_tree(&document, PolicyKind::Identity))
                        }
                        other => format!("{other:?}"),
                    })
                };
                let first = read();
                assert!(first.is_some(), "{} decodes", entry.at());
                assert_eq!(read(), first, "{}", entry.at());
                assert_eq!(read(), first, "{}", entry.at());
                // The documents as their text stands in the entry, each asked about as a trust
                // policy and as an identity policy (the kind it was read as is known).
                let texts = crate::json_tree::Tree::with_parsed_keeping_in(
                    entry.json(),
                    Some(&crate::json_tree::Keeping { known: &|_, _| false, ..gaad::DOCUMENTS }),
                    |tree, _| tree.kept().into_iter().map(|(text, _)| text.to_owned()).collect::<Vec<_>>(),
                );
                for text in texts.expect("the entry parses").into_iter().filter(|text| text.len() >= 64) {
                    documents += 1;
                    known += usize::from(
                        knows_well_formed(&text, PolicyKind::Identity) || knows_well_formed(&text, PolicyKind::Trust),
                    );
                }
            }
        }
        assert!(documents >= 5, "{documents} documents");
        assert_eq!(known, documents);
    }

    /// The dry-run reads a GAAD entry as a tree ([`RawEntry::decode_gaad`]); everything else
    /// reads it as a `Value` ([`RawEntry::decode`]). Both must find the same: over the two
    /// public GAAD exports in `tests/fixtures/real-exports` (sources in its SOURCES.md), and
    /// over every field of every entry of theirs (and of the first element of each of its
    /// lists) turned into each JSON type, removed, and written twice with another value. The
    /// two share one converter ([`gaad::gaad_tree`]); this checks what each hands it and makes
    /// of what it gives.
    #[test]
    fn gaad_entries_read_as_trees_find_what_values_find() {
        let exports = [
            include_str!("../../../tests/fixtures/real-exports/aws-cli-iam-get-account-authorization-details.json"),
            include_str!(
                "../../../tests/fixtures/real-exports/cloudsplaining-example-authz-details-for-overrides.json"
            ),
        ];
        let odd = [
            json!(null),
            json!(7),
            json!(-1),
            json!(2.5),
            json!("x"),
            json!(true),
            json!([]),
            json!({}),
            json!([1]),
            json!(["x"]),
            json!([{}]),
        ];
        let mut entries: Vec<RawEntry> = Vec::new();
        for export in exports {
            let mut originals = Vec::new();
            let outline = stream_raw(export.as_bytes(), &mut |e| originals.push(e));
            assert!(outline.is_ok(), "{outline:?}");
            for entry in originals {
                let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(entry.json()) else {
                    panic!("{} is not an object", entry.at())
                };
                let variant =
                    |raw: String| RawEntry { slot: entry.slot, index: entry.index, raw: raw.into(), offset: None };
                for key in fields.keys() {
                    for value in &odd {
                        let mut changed = fields.clone();
                        changed.insert(key.clone(), value.clone());
                        entries.push(variant(Value::Object(changed).to_string()));
                    }
                    let mut removed = fields.clone();
                    removed.remove(key);
                    entries.push(variant(Value::Object(removed).to_string()));
                    // The key written again at the end: the last value is the one read.
                    let text = Value::Object(fields.clone()).to_string();
                    let twice = format!("{},{}:7}}", &text[..text.len() - 1], Value::String(key.clone()));
                    entries.push(variant(twice));
                }
                // Each nested list's first element with one field of another type.
                for (key, list) in &fields {
                    let Some(Value::Object(first)) = list.as_array().and_then(|l| l.first()) else { continue };
                    let mut elements: Vec<Map<String, Value>> = Vec::new();
                    for inner in first.keys() {
                        for value in &odd {
                            let mut element = first.clone();
                            element.insert(inner.clone(), value.clone());
                            elements.push(element);
                        }
                    }
                    for element in elements {
                        let mut changed = fields.clone();
                        changed.insert(key.clone(), json!([element]));
                        entries.push(variant(Value::Object(changed).to_string()));
                    }
                }
                entries.push(entry);
            }
        }
        let mut kinds = std::collections::BTreeSet::new();
        for entry in &entries {
            let as_tree = entry.decode_gaad(|converted| match converted {
                Ok(Some(GaadTree::Item(item))) => Some(Found::Item { at: entry.at(), item: item.to_value() }),
                Ok(Some(GaadTree::AwsManagedPolicy { arn, document })) => {
                    Some(Found::AwsManagedPolicy { arn: arn.to_owned(), document: document.to_value() })
                }
                Ok(None) => None,
                Err(e) => Some(Found::Error(e)),
            });
            let as_value = entry.decode();
            assert_eq!(as_tree, Some(as_value.clone()), "{}", entry.json());
            kinds.insert(match as_value {
                Some(Found::Item { .. }) => "item",
                Some(Found::AwsManagedPolicy { .. }) => "aws managed policy",
                Some(Found::Error(_)) => "error",
                None => "nothing",
            });
        }
        assert!(entries.len() > 1000, "{} entries", entries.len());
        assert_eq!(kinds.into_iter().collect::<Vec<_>>(), ["aws managed policy", "error", "item", "nothing"]);
        // Not JSON: left to `decode`, which words the error.
        let broken = RawEntry { slot: Slot::RoleDetailList, index: 0, raw: "{\"RoleName\":}".into(), offset: None };
        assert!(broken.decode_gaad(|_| ()).is_none());
        assert!(matches!(broken.decode(), Some(Found::Error(_))));
    }

    /// What a document gives: its outline (or error), and each thing found, as text.
    fn read(document: &Value) -> (Result<Outline, String>, Vec<String>) {
        let text = document.to_string();
        let mut found = Vec::new();
        let outline = stream(text.as_bytes(), &mut |f| {
            found.push(match f {
                Found::Item { at, item } => format!("{at}: {}", item["resourceId"].as_str().unwrap_or("?")),
                Found::AwsManagedPolicy { arn, .. } => format!("aws managed {arn}"),
                Found::Error(e) => e.to_string(),
            })
        });
        (outline.map_err(|e| e.to_string()), found)
    }

    fn shape_of(document: Value) -> Result<ExportShape, String> {
        read(&document).0.map(|o| o.shape)
    }

    #[test]
    fn every_shape_carrying_one_item_is_told_by_content() {
        let item = json!({"resourceType": "AWS::KMS::Key", "resourceId": "k1", "accountId": "111122223333"});
        let change = json!({"configurationItem": item, "messageType": "ConfigurationItemChangeNotification",
            "notificationCreationTime": "2026-01-01T00:00:00.000Z", "recordVersion": "1.3"});
        let cases = [
            (json!({"ConfigurationItem": item}), ExportShape::AggregateItem, "ConfigurationItem: k1"),
            (
                json!({"invokingEvent": change.to_string(), "ruleParameters": "{}", "resultToken": "t", "eventLeftScope": false}),
                ExportShape::RuleEvent,
                "invokingEvent.configurationItem: k1",
            ),
            (json!({"invokingEvent": change}), ExportShape::RuleEvent, "invokingEvent.configurationItem: k1"),
            (
                json!({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:111122223333:config", "Message": change.to_string()}),
                ExportShape::SnsNotification,
                "Message.configurationItem: k1",
            ),
            (
                json!({"Type": "Notification", "Message": change}),
                ExportShape::SnsNotification,
                "Message.configurationItem: k1",
            ),
            (
                json!({"version": "0", "detail-type": "Config Configuration Item Change", "source": "aws.config", "detail": change}),
                ExportShape::EventBridgeEvent,
                "detail.configurationItem: k1",
            ),
            (change.clone(), ExportShape::Notification, "configurationItem: k1"),
            (
                json!({"BaseConfigurationItems": [item], "UnprocessedResourceIdentifiers": []}),
                ExportShape::AggregateBatchGet,
                "BaseConfigurationItems[0]: k1",
            ),
        ];
        for (document, shape, found) in cases {
            let (outline, things) = read(&document);
            assert_eq!(outline.map(|o| o.shape), Ok(shape), "{document}");
            assert_eq!(things, [found], "{document}");
        }
    }

    #[test]
    fn notifications_without_an_item_say_what_to_export() {
        let summary = json!({"configurationItemSummary": {"resourceType": "AWS::IAM::Role", "resourceId": "AROA1"},
            "messageType": "OversizedConfigurationItemChangeNotification",
            "s3DeliverySummary": {"s3BucketLocation": "bucket/AWSLogs/x.json.gz"}});
        let oversized = shape_of(json!({"invokingEvent": summary.to_string(), "resultToken": "t"}));
        assert_eq!(
            oversized,
            Err("field `invokingEvent.messageType` is `OversizedConfigurationItemChangeNotification`: the notification \
                 carries only a summary of AWS::IAM::Role `AROA1`, not its configuration item; export the item instead \
                 (Config also delivered it to `s3://bucket/AWSLogs/x.json.gz`): `aws configservice \
                 get-resource-config-history --resource-type AWS::IAM::Role --resource-id AROA1 --limit 1`"
                .into())
        );
        let scheduled = json!({"awsAccountId": "111122223333", "messageType": "ScheduledNotification"});
        let error = shape_of(json!({"invokingEvent": scheduled.to_string()})).err().unwrap_or_default();
        assert!(
            error.starts_with("field `invokingEvent.messageType` is `ScheduledNotification`: a periodic evaluation carries no configuration item; export the resources instead")
                && error.contains(SELECT_THAT_WORKS),
            "{error}"
        );
        let compliance = json!({"detail-type": "Config Rules Compliance Change", "source": "aws.config",
            "detail": {"messageType": "ComplianceChangeNotification"}});
        let error = shape_of(compliance).err().unwrap_or_default();
        assert!(error.starts_with("field `detail.messageType` is `ComplianceChangeNotification`: this notification carries no configuration item"), "{error}");
        let cases = [
            (json!({"invokingEvent": 3}), "field `invokingEvent` is a number, expected a JSON string"),
            (
                json!({"invokingEvent": "{"}),
                "field `invokingEvent` is a string that is not JSON: EOF while parsing an object at line 1 column 1",
            ),
            (json!({"invokingEvent": "[]"}), "field `invokingEvent` is a JSON string of an array, expected an object"),
            (
                json!({"Type": "Notification", "Message": {"messageType": "ConfigurationItemChangeNotification", "configurationItem": [{"resourceType": "AWS::KMS::Key"}]}}),
                "field `Message.configurationItem` is an array, expected an object",
            ),
            (
                json!({"Type": "Notification", "Message": {"messageType": "ConfigurationItemChangeNotification", "configurationItems": []}}),
                "field `Message.configurationItem` is missing",
            ),
            (json!({"messageType": 1, "configurationItem": {}}), "field `messageType` is a number, expected a string"),
            (json!({"messageType": "ComplianceChangeNotification", "resourceType": "AWS::KMS::Key", "resourceId": "k"}),
                "field `messageType` is `ComplianceChangeNotification`: this notification carries no configuration item; \
                 export the resources instead: a configuration snapshot (`aws configservice deliver-config-snapshot`), or \
                 `aws configservice select-resource-config --expression \"SELECT * WHERE resourceType IN ('AWS::KMS::Key', \
                 'AWS::IAM::Policy', 'AWS::IAM::User', 'AWS::IAM::Role', 'AWS::IAM::Group')\"`"),
            (json!({"ConfigurationItem": "{}"}), "field `ConfigurationItem` is a string, expected an object"),
            (json!({"source": "aws.config", "detail": []}), "field `detail` is an array, expected an object"),
        ];
        for (document, message) in cases {
            assert_eq!(shape_of(document.clone()), Err(message.to_owned()), "{document}");
        }
    }

    #[test]
    fn resources_a_batch_get_did_not_return_are_an_error_each_list() {
        let (outline, found) = read(
            &json!({"baseConfigurationItems": [{"resourceType": "AWS::KMS::Key", "resourceId": "k1"}],
            "unprocessedResourceKeys": [{"resourceType": "AWS::KMS::Key", "resourceId": "k2"}, {"resourceType": "AWS::IAM::Role", "resourceId": "r"}]}),
        );
        assert_eq!(outline.map(|o| o.shape), Ok(ExportShape::BatchGet));
        assert_eq!(
            found,
            [
                "baseConfigurationItems[0]: k1",
                "field `unprocessedResourceKeys` lists 2 resources Config did not return, so they were not judged \
                 (AWS::KMS::Key `k2`, AWS::IAM::Role `r`): run `aws configservice batch-get-resource-config` again for them",
            ]
        );
        let (_, found) = read(&json!({"BaseConfigurationItems": [], "UnprocessedResourceIdentifiers": [
            {"SourceAccountId": "111122223333", "SourceRegion": "us-east-1", "ResourceId": "k3", "ResourceType": "AWS::KMS::Key"}]}));
        assert_eq!(
            found,
            ["field `UnprocessedResourceIdentifiers` lists 1 resources Config did not return, so they were not judged \
              (AWS::KMS::Key `k3`): run `aws configservice batch-get-aggregate-resource-config` again for them"]
        );
        let (_, found) = read(&json!({"baseConfigurationItems": [], "unprocessedResourceKeys": {}}));
        assert_eq!(found, ["field `unprocessedResourceKeys` is an object, expected an array"]);
    }

    #[test]
    fn pages_of_longer_outputs_are_read_with_a_warning() {
        let (outline, found) = read(&json!({"UserDetailList": [{"UserName": "a", "UserId": "AIDA1",
            "Arn": "arn:aws:iam::111122223333:user/a"}], "IsTruncated": true, "Marker": "m"}));
        let outline = outline.unwrap_or_else(|e| Outline { shape: ExportShape::SingleItem, warnings: vec![e] });
        assert_eq!(outline.shape, ExportShape::AuthorizationDetails);
        assert_eq!(found, ["UserDetailList[0]: AIDA1"]);
        assert_eq!(outline.warnings.len(), 1);
        assert!(outline.warnings[0]
            .starts_with("`IsTruncated` is true: this is one page of `get-account-authorization-details` output"));
        let quiet = read(&json!({"UserDetailList": [], "IsTruncated": false})).0.map(|o| o.warnings);
        assert_eq!(quiet, Ok(vec![]));
        let error = read(&json!({"UserDetailList": [], "IsTruncated": "true"})).0;
        assert_eq!(error, Err("field `IsTruncated` is a string, expected a boolean".into()));
        let paged = read(&json!({"Results": [], "NextToken": "abc"})).0.map(|o| o.warnings);
        assert!(paged.as_ref().is_ok_and(|w| w.len() == 1 && w[0].starts_with("`NextToken` is set")), "{paged:?}");
        let last_page = read(&json!({"configurationItems": [], "nextToken": ""})).0.map(|o| o.warnings);
        assert_eq!(last_page, Ok(vec![]));
    }

    #[test]
    fn select_results_lacking_what_the_rules_read_say_what_to_select() {
        let (_, found) = read(&json!({"QueryInfo": {"SelectFields": [{"Name": "resourceId"}]},
            "Results": ["{\"resourceId\":\"i-1\"}", "{\"resourceId\":\"k\",\"resourceType\":\"AWS::KMS::Key\"}",
                "{\"resourceId\":\"b\",\"resourceType\":\"AWS::S3::Bucket\"}",
                "{\"resourceId\":\"k\",\"resourceType\":\"AWS::KMS::Key\",\"accountId\":\"111122223333\",\"configuration\":{}}"]}));
        assert_eq!(found.len(), 4);
        assert_eq!(
            found[0],
            format!("field `Results[0]` lacks `resourceType`, which the rules need: select whole items (`{SELECT_THAT_WORKS}`), \
                     or at least `{SELECT_FIELDS}`")
        );
        assert!(
            found[1].starts_with("field `Results[1]` lacks `configuration`, `accountId`, which the rules need"),
            "{}",
            found[1]
        );
        assert_eq!(found[2..], ["Results[2]: b", "Results[3]: k"]);
    }

    /// A GAAD document with one entry of `list`, `change` applied to a well-formed one.
    fn gaad_error(list: &str, change: impl FnOnce(&mut Value)) -> Vec<String> {
        let mut entry = match list {
            "Policies" => json!({"PolicyName": "P", "PolicyId": "ANPA1", "Arn": "arn:aws:iam::111122223333:policy/P",
                "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0, "IsAttachable": true,
                "PolicyVersionList": [{"Document": {"Version": "2012-10-17", "Statement": []}, "VersionId": "v1", "IsDefaultVersion": true}]}),
            "RoleDetailList" => {
                json!({"RoleName": "R", "RoleId": "AROA1", "Arn": "arn:aws:iam::111122223333:role/R", "Path": "/",
                "AssumeRolePolicyDocument": "%7B%7D", "RolePolicyList": [{"PolicyName": "i", "PolicyDocument": {"Statement": []}}],
                "AttachedManagedPolicies": [{"PolicyName": "P", "PolicyArn": "arn:aws:iam::111122223333:policy/P"}]})
            }
            "UserDetailList" => {
                json!({"UserName": "U", "UserId": "AIDA1", "Arn": "arn:aws:iam::111122223333:user/U", "Path": "/",
                "GroupList": ["G"], "UserPolicyList": [], "AttachedManagedPolicies": []})
            }
            _ => json!({"GroupName": "G", "GroupId": "AGPA1", "Arn": "arn:aws:iam::111122223333:group/G", "Path": "/",
                "GroupPolicyList": [], "AttachedManagedPolicies": []}),
        };
        change(&mut entry);
        let mut document = json!({});
        document[list] = json!([{}, entry]);
        let (_, found) = read(&document);
        found.into_iter().skip(1).collect()
    }

    #[test]
    fn gaad_fields_of_the_wrong_shape_are_errors_naming_the_field() {
        for list in ["Policies", "RoleDetailList", "UserDetailList", "GroupDetailList"] {
            assert_eq!(gaad_error(list, |_| {}).len(), 1, "{list}");
            assert!(!gaad_error(list, |_| {})[0].starts_with("field"), "{list}: {:?}", gaad_error(list, |_| {}));
        }
        let set = |field: &'static str, value: Value| move |entry: &mut Value| entry[field] = value;
        type Change = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(&str, Change, &str)> = vec![
            ("GroupDetailList", Box::new(set("AttachedManagedPolicies", json!({"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}))),
                "field `GroupDetailList[1].AttachedManagedPolicies` is an object, expected an array"),
            ("GroupDetailList", Box::new(set("GroupPolicyList", json!({"PolicyName": "i"}))), "field `GroupDetailList[1].GroupPolicyList` is an object, expected an array"),
            ("GroupDetailList", Box::new(set("GroupPolicyList", json!(["i"]))), "field `GroupDetailList[1].GroupPolicyList[0]` is a string, expected an object"),
            ("GroupDetailList", Box::new(set("Path", json!(["/"]))), "field `GroupDetailList[1].Path` is an array, expected a string"),
            ("GroupDetailList", Box::new(set("GroupId", json!(7))), "field `GroupDetailList[1].GroupId` is a number, expected a string"),
            ("GroupDetailList", Box::new(set("Arn", json!("Admins"))), "field `GroupDetailList[1].Arn` is `Admins`, expected an ARN (`arn:aws:iam::<account>:...`)"),
            ("RoleDetailList", Box::new(set("RolePolicyList", json!("p"))), "field `RoleDetailList[1].RolePolicyList` is a string, expected an array"),
            ("RoleDetailList", Box::new(|e: &mut Value| e["RolePolicyList"][0]["PolicyName"] = json!(null)), "field `RoleDetailList[1].RolePolicyList[0].PolicyName` is missing"),
            ("RoleDetailList", Box::new(|e: &mut Value| e["RolePolicyList"][0]["PolicyDocument"] = json!(3)),
                "field `RoleDetailList[1].RolePolicyList[0].PolicyDocument` is a number, expected a policy document (a JSON object or its URL-encoded text)"),
            ("RoleDetailList", Box::new(|e: &mut Value| e["AttachedManagedPolicies"][0]["PolicyArn"] = json!({})),
                "field `RoleDetailList[1].AttachedManagedPolicies[0].PolicyArn` is an object, expected a string"),
            ("RoleDetailList", Box::new(set("AttachedManagedPolicies", json!([[]]))), "field `RoleDetailList[1].AttachedManagedPolicies[0]` is an array, expected an object"),
            ("RoleDetailList", Box::new(set("AssumeRolePolicyDocument", json!(["%7B%7D"]))),
                "field `RoleDetailList[1].AssumeRolePolicyDocument` is an array, expected a policy document (a JSON object or its URL-encoded text)"),
            ("RoleDetailList", Box::new(set("PermissionsBoundary", json!([]))), "field `RoleDetailList[1].PermissionsBoundary` is an array, expected an object"),
            ("UserDetailList", Box::new(set("GroupList", json!("Admins"))), "field `UserDetailList[1].GroupList` is a string, expected an array"),
            ("UserDetailList", Box::new(set("GroupList", json!(["Admins", {"GroupName": "Dev"}]))), "field `UserDetailList[1].GroupList[1]` is an object, expected a string"),
            ("UserDetailList", Box::new(set("UserPolicyList", json!({}))), "field `UserDetailList[1].UserPolicyList` is an object, expected an array"),
            ("UserDetailList", Box::new(set("AttachedManagedPolicies", json!({}))), "field `UserDetailList[1].AttachedManagedPolicies` is an object, expected an array"),
            ("Policies", Box::new(set("PolicyVersionList", json!({}))), "field `Policies[1].PolicyVersionList` is an object, expected an array"),
            ("Policies", Box::new(|e: &mut Value| e["PolicyVersionList"][0]["IsDefaultVersion"] = json!("true")),
                "field `Policies[1].PolicyVersionList[0].IsDefaultVersion` is a string, expected a boolean"),
            ("Policies", Box::new(|e: &mut Value| e["PolicyVersionList"][0]["Document"] = json!(true)),
                "field `Policies[1].PolicyVersionList[0].Document` is a boolean, expected a policy document (a JSON object or its URL-encoded text)"),
            ("Policies", Box::new(|e: &mut Value| e["PolicyVersionList"][0]["VersionId"] = json!(1)), "field `Policies[1].PolicyVersionList[0].VersionId` is a number, expected a string"),
            // Two wrong fields: `IsDefaultVersion` is read first.
            ("Policies", Box::new(|e: &mut Value| {
                e["PolicyVersionList"][0]["Document"] = json!(7);
                e["PolicyVersionList"][0]["IsDefaultVersion"] = json!(7);
            }), "field `Policies[1].PolicyVersionList[0].IsDefaultVersion` is a number, expected a boolean"),
            ("Policies", Box::new(set("AttachmentCount", json!("1"))), "field `Policies[1].AttachmentCount` is a string, expected a number"),
            ("Policies", Box::new(set("AttachmentCount", json!(-1))), "field `Policies[1].AttachmentCount` is a number, expected a count (a whole number, 0 or more)"),
            ("Policies", Box::new(set("IsAttachable", json!("yes"))), "field `Policies[1].IsAttachable` is a string, expected a boolean"),
            ("Policies", Box::new(set("DefaultVersionId", json!(["v1"]))), "field `Policies[1].DefaultVersionId` is an array, expected a string"),
            ("Policies", Box::new(|e: &mut Value| e["Arn"] = json!("arn:aws:iam::aws:policy/P") ), ""),
        ];
        for (list, change, message) in cases {
            let found = gaad_error(list, change);
            match message {
                // An AWS managed policy resolves only.
                "" => assert_eq!(found, ["aws managed arn:aws:iam::aws:policy/P"]),
                _ => assert_eq!(found, [message], "{list}"),
            }
        }
        // A list entry that is not an object.
        let (_, found) = read(&json!({"GroupDetailList": ["Admins"]}));
        assert_eq!(found, ["field `GroupDetailList[0]` is a string, expected an object"]);
    }

    #[test]
    fn absent_and_null_gaad_lists_are_empty() {
        let (_, found) = read(
            &json!({"UserDetailList": [{"UserName": "U", "UserId": "AIDA1", "Arn": "arn:aws:iam::111122223333:user/U",
            "GroupList": null}], "GroupDetailList": [{"GroupName": "G", "GroupId": "AGPA1", "Arn": "arn:aws:iam::111122223333:group/G"}]}),
        );
        // Key order depends on serde_json's `preserve_order` (on in workspace builds).
        let mut found = found;
        found.sort();
        assert_eq!(found, ["GroupDetailList[0]: AGPA1", "UserDetailList[0]: AIDA1"]);
    }

    #[test]
    fn select_results_are_json_strings() {
        let doc = json!({"Results":["{\"resourceType\":\"AWS::S3::Bucket\",\"resourceId\":\"b\"}", "not json"]});
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
        assert_eq!(resource.as_ref().map(|r| r.resource_id()), Ok("AROA1"));
        assert_eq!(resource.as_ref().map(|r| r.account_id()), Ok("111122223333"));
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
                crate::item::Details::Role(role) => Some((r.names.resource_id().to_owned(), role.identity.boundary)),
                crate::item::Details::User(user) => Some((r.names.resource_id().to_owned(), user.identity.boundary)),
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
                "field `RoleDetailList[0].PermissionsBoundary.PermissionsBoundaryArn` is missing",
            ),
            (
                json!({"PermissionsBoundaryArn":"arn:aws:iam::111122223333:policy/B","PermissionsBoundaryType":3}),
                "field `RoleDetailList[0].PermissionsBoundary.PermissionsBoundaryType` is a number, expected a string",
            ),
        ];
        for (boundary, message) in cases {
            assert_eq!(items(role(boundary)).err().map(|e| e.to_string()).as_deref(), Some(message));
        }
    }
}
