//! The policy model: IAM JSON documents checked into types that cannot say what IAM cannot.
//!
//! Two layers, as in cedar: the wire layer is the JSON value itself (`serde_json::Value`,
//! reached by [`decode`] from whatever encoding AWS used), and [`parse`] converts it into this
//! checked model, naming the exact element when something is wrong
//! (`Statement[2].Action: expected a string or an array of strings, found a number`). We convert
//! by hand rather than with derived structs because the error message is the product here: a
//! document that does not parse becomes a NON_COMPLIANT verdict whose annotation is that message.
//!
//! What the types guarantee:
//! - [`Effect`] is `Allow` or `Deny`, with no default (an `Effect` that defaults to Allow fails
//!   open);
//! - a statement has exactly one of `Action`/`NotAction` ([`Actions`]), at most one of
//!   `Resource`/`NotResource` ([`Resources`]) and of `Principal`/`NotPrincipal`
//!   ([`Principals`]); which of them must be present depends on the [`PolicyKind`];
//! - conditions stay structured ([`Condition`]: operator, key, values), so rules can judge them.
//!
//! The checked model also derives `serde`'s traits. That is not a second way to read IAM JSON
//! (its field names are ours, not IAM's): it is how the dry-run keeps parsed managed policies
//! in a temporary file instead of memory and reads them back exactly as they were checked,
//! statement names and all (`policy_store`).

pub mod decode;
mod memo;
mod parse;

use std::fmt;

use crate::arn::{is_account_id, Arn};
use crate::catalog::ActionSet;
use crate::pattern::Pattern;

pub use memo::{handing_over, knows_escaped, knows_well_formed};
pub use parse::{parse_policy, parse_policy_text, parse_policy_tree};

/// Where a document came from, which decides the elements it must and must not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to an identity (managed or inline): `Resource`, no `Principal`.
    Identity,
    /// A KMS key policy: `Principal` and `Resource` both required.
    KeyPolicy,
    /// A role's trust policy: `Principal` required, `Resource` not used.
    Trust,
}

/// The `Version` element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PolicyVersion {
    /// `2012-10-17`: policy variables are resolved.
    V2012,
    /// `2008-10-17`: `${...}` is literal text.
    V2008,
    /// No `Version`: as `2008-10-17`.
    Unspecified,
}

/// A checked policy document.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// The `Version` element.
    pub version: PolicyVersion,
    /// The statements, in document order; shared, so that a document met again (the parse
    /// memo) or read from the policy store is handed out without copying them.
    pub statements: std::sync::Arc<[Statement]>,
}

impl Policy {
    /// Drops the statements that cover no KMS action: what resolvers keep of a managed policy,
    /// since no rule reads the others (the statements kept keep their names, so verdicts still
    /// point at the right statement).
    pub fn retain_kms_statements(&mut self) {
        if self.statements.iter().any(|s| s.kms_actions.is_empty()) {
            self.statements = self.statements.iter().filter(|s| !s.kms_actions.is_empty()).cloned().collect();
        }
    }
}

/// How a statement is named in a verdict: its `Sid`, or `#index` (0-based) without one.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum StatementName {
    /// The statement's `Sid`.
    Sid(String),
    /// The statement's 0-based position in the document.
    Index(usize),
}

impl fmt::Display for StatementName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatementName::Sid(sid) => write!(f, "\"{sid}\""),
            StatementName::Index(i) => write!(f, "#{i}"),
        }
    }
}

/// `Allow` or `Deny`. There is no default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    /// Grants what the statement names.
    Allow,
    /// Removes what the statement names.
    Deny,
}

/// `Action` or `NotAction`, never both. Only the patterns that can match a KMS action are kept
/// (the parser checks and drops the rest; `catalog::may_name_kms_action`): every rule is about
/// KMS, so the others mean nothing to any of them.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Actions {
    /// `Action`: the actions these patterns match.
    Only(Vec<Pattern>),
    /// `NotAction`: every action these patterns do not match.
    AllExcept(Vec<Pattern>),
}

/// `Resource` or `NotResource`, never both.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Resources {
    /// `Resource`: the resources these patterns match.
    Only(Vec<Pattern>),
    /// `NotResource`: every resource these patterns do not match.
    AllExcept(Vec<Pattern>),
}

impl Resources {
    /// Does the statement apply to the resource `arn`?
    pub fn applies_to(&self, arn: &str) -> bool {
        match self {
            Resources::Only(patterns) => patterns.iter().any(|p| p.matches(arn)),
            Resources::AllExcept(patterns) => !patterns.iter().any(|p| p.matches(arn)),
        }
    }

    /// The patterns, whichever element they came from.
    pub fn patterns(&self) -> &[Pattern] {
        match self {
            Resources::Only(p) | Resources::AllExcept(p) => p,
        }
    }
}

/// `Principal` or `NotPrincipal`, never both.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Principals {
    /// `Principal`: these principals.
    Only(Vec<Principal>),
    /// `NotPrincipal`: everyone but these.
    AllExcept(Vec<Principal>),
}

/// One principal, normalised: an account id and its root ARN are the same principal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`.
    Everyone,
    /// An AWS account: `111122223333` or `arn:aws:iam::111122223333:root`.
    Account {
        /// The ARN partition (`aws`, `aws-cn`, ...); `aws` for a bare account id.
        partition: String,
        /// The 12-digit account id.
        id: String,
    },
    /// An IAM role, user, assumed-role session or other IAM ARN.
    Iam {
        /// The ARN as written.
        arn: String,
        /// The account field of the ARN.
        account: String,
    },
    /// `{"Service": "cloudtrail.amazonaws.com"}`.
    Service(String),
    /// Federated, canonical-user or unique-id principals: never matched by name.
    Other(String),
}

impl Principal {
    /// Normalises one value of `{"AWS": ...}`.
    pub fn aws(value: &str) -> Principal {
        if value == "*" {
            return Principal::Everyone;
        }
        if is_account_id(value) {
            return Principal::Account { partition: "aws".into(), id: value.into() };
        }
        match Arn::parse(value) {
            Ok(Arn { partition, service: "iam", region: "", account, resource: "root" }) => {
                Principal::Account { partition: partition.into(), id: account.into() }
            }
            Ok(Arn { service: "iam" | "sts", region: "", account, .. }) => {
                Principal::Iam { arn: value.into(), account: account.into() }
            }
            // Federated and canonical-user principals, unique ids: not ARNs of IAM.
            Ok(_) | Err(_) => Principal::Other(value.into()),
        }
    }

    /// The account the principal belongs to, where it has one.
    pub fn account(&self) -> Option<&str> {
        match self {
            Principal::Account { id, .. } => Some(id),
            Principal::Iam { account, .. } => Some(account),
            _ => None,
        }
    }

    /// True for an IAM role (`arn:<partition>:iam::<account>:role/<path><name>`).
    pub fn is_role(&self) -> bool {
        matches!(self, Principal::Iam { arn, .. } if arn_resource(arn, "iam").is_some_and(|r| r.starts_with("role/")))
    }

    /// True when `self` is a session of the role `role`
    /// (`arn:<partition>:sts::<account>:assumed-role/<role name>/<session>`): a role acts through
    /// its sessions, and a statement naming the role reaches them.
    pub fn is_session_of(&self, role: &Principal) -> bool {
        let (Principal::Iam { arn: session, account }, Principal::Iam { arn: role_arn, account: role_account }) =
            (self, role)
        else {
            return false;
        };
        // A session's resource field starts `assumed-role/`, right after the ARN's fifth `:`:
        // without that text it is no session (most principals are not), and the two ARNs need
        // not be parsed (this test ran for every grantee and statement of every key policy).
        if account != role_account || !session.contains(":assumed-role/") {
            return false;
        }
        let (Ok(session), Ok(role)) = (Arn::parse(session), Arn::parse(role_arn)) else { return false };
        if session.partition != role.partition {
            return false;
        }
        let role_name = match (role.service, role.resource.starts_with("role/")) {
            ("iam", true) => role.resource_name(),
            _ => return false,
        };
        // `assumed-role/<role name>/<session name>`: the role's name without its path.
        let session_role = match session.service {
            "sts" => session.resource.strip_prefix("assumed-role/").and_then(|r| r.split('/').next()),
            _ => None,
        };
        session_role == Some(role_name)
    }

    /// True for `{"Service": ...}` principals.
    pub fn is_service(&self) -> bool {
        matches!(self, Principal::Service(_))
    }
}

/// The resource part of an ARN of `service` (`role/App` of `arn:aws:iam::111122223333:role/App`).
fn arn_resource<'a>(arn: &'a str, service: &str) -> Option<&'a str> {
    Arn::parse(arn).ok().filter(|a| a.service == service).map(|a| a.resource)
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Principal::Everyone => f.write_str("*"),
            Principal::Account { partition, id } => write!(f, "arn:{partition}:iam::{id}:root"),
            Principal::Iam { arn, .. } => f.write_str(arn),
            Principal::Service(s) | Principal::Other(s) => f.write_str(s),
        }
    }
}

/// One statement, checked.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Statement {
    /// How a verdict names it.
    pub name: StatementName,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Principal`/`NotPrincipal`, where present.
    pub principals: Option<Principals>,
    /// `Action`/`NotAction`.
    pub actions: Actions,
    /// `Resource`/`NotResource`, where present.
    pub resources: Option<Resources>,
    /// The `Condition` block, flattened: every entry must hold for the statement to apply.
    pub conditions: Vec<Condition>,
    /// The KMS catalog actions the statement covers, expanded once at parse time.
    pub kms_actions: ActionSet,
}

impl Statement {
    /// For a `kms_actions` member, the pattern of `Action` that matched it, so a verdict can
    /// say why; `None` for `NotAction` (the action is covered by not being excluded).
    pub fn pattern_for(&self, action: &str) -> Option<&Pattern> {
        match &self.actions {
            Actions::Only(patterns) => crate::pattern::first_match(patterns, action),
            Actions::AllExcept(_) => None,
        }
    }

    /// Does the statement apply to the resource `arn` (identity policies)? A statement without
    /// a resource element applies to nothing.
    pub fn applies_to(&self, arn: &str) -> bool {
        self.resources.as_ref().is_some_and(|r| r.applies_to(arn))
    }

    /// True when the statement has no `Condition` (or an empty one).
    pub fn is_unconditional(&self) -> bool {
        self.conditions.is_empty()
    }
}

/// One entry of a `Condition` block: `{"<operator>": {"<key>": [values]}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Condition {
    /// The operator, parsed.
    pub operator: Operator,
    /// The condition key, lower-cased (keys are case-insensitive).
    pub key: String,
    /// The values, as strings (JSON booleans and numbers are written out).
    pub values: Vec<String>,
}

/// A condition operator: its base test and its qualifiers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Operator {
    /// The operator as written.
    pub name: String,
    /// The test, without qualifiers.
    pub base: BaseOperator,
    /// The set qualifier, if any.
    pub set: Option<SetQualifier>,
    /// `...IfExists`: true when the key is absent.
    pub if_exists: bool,
}

/// `ForAnyValue:` or `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SetQualifier {
    /// True when any request value matches.
    ForAnyValue,
    /// True when every request value matches, and when the key is absent.
    ForAllValues,
}

/// The condition tests IAM knows, grouped as the rules need them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BaseOperator {
    /// `StringEquals`
    StringEquals,
    /// `StringEqualsIgnoreCase`
    StringEqualsIgnoreCase,
    /// `StringLike`
    StringLike,
    /// `ArnEquals`
    ArnEquals,
    /// `ArnLike`
    ArnLike,
    /// `Bool`
    Bool,
    /// `Null`
    Null,
    /// Any negated test (`StringNotEquals`, `ArnNotLike`, `NotIpAddress`, ...).
    Negated,
    /// Numeric, date, binary and IP tests: positive, but never a restriction the rules accept.
    OtherPositive,
}

/// Why a document was rejected. Messages are lower-case and say where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentError {
    /// Not JSON.
    #[error("policy is not valid JSON: {0}")]
    Json(String),
    /// Empty text where a document was expected.
    #[error("policy document is empty")]
    Empty,
    /// `%` not followed by two hex digits.
    #[error("policy has invalid percent-encoding at byte {offset}")]
    PercentEncoding {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// Percent-decoded bytes that are not UTF-8.
    #[error("percent-decoded policy is not UTF-8 (byte {offset})")]
    Utf8 {
        /// Offset of the first invalid byte.
        offset: usize,
    },
    /// JSON, but not an object.
    #[error("policy is {found}, expected a JSON object")]
    NotObject {
        /// The JSON type found.
        found: &'static str,
    },
    /// More layers of encoding than AWS ever uses.
    #[error("policy is still encoded after {} layers of decoding", decode::MAX_LAYERS)]
    TooManyLayers,
    /// No document where one was expected.
    #[error("policy document is missing: {0}")]
    Missing(String),
    /// An element is wrong.
    #[error("{path}: {problem}")]
    Invalid {
        /// Where: `Statement[2].Action`.
        path: String,
        /// What.
        problem: Problem,
    },
}

/// What is wrong with an element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A required element is absent.
    #[error("is missing")]
    Missing,
    /// Wrong JSON type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What was expected.
        expected: &'static str,
        /// What was found.
        found: &'static str,
    },
    /// `Effect` other than `Allow`/`Deny`.
    #[error("`{0}` is not `Allow` or `Deny`")]
    UnknownEffect(String),
    /// `Version` other than the two IAM knows.
    #[error("`{0}` is not `2012-10-17` or `2008-10-17`")]
    UnknownVersion(String),
    /// Both of a pair (`Action` and `NotAction`).
    #[error("has both `{0}` and `{1}`")]
    Both(&'static str, &'static str),
    /// Neither of a required pair.
    #[error("has neither `{0}` nor `{1}`")]
    Neither(&'static str, &'static str),
    /// An element this kind of policy does not allow.
    #[error("is not allowed in {0}")]
    NotAllowed(&'static str),
    /// An element IAM does not know.
    #[error("is not a policy element")]
    UnknownElement,
    /// An empty list or string where a value is required.
    #[error("is empty")]
    Empty,
    /// A principal ARN holding a wildcard that is not `*` alone, which IAM rejects.
    #[error("`{0}` holds a wildcard: a principal is `*` or names one principal (IAM rejects partial wildcards)")]
    PartialWildcardPrincipal(String),
    /// A principal type IAM does not know.
    #[error("`{0}` is not a principal type")]
    UnknownPrincipalType(String),
}
