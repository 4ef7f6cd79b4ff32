//! JSON value to checked [`Policy`], with an error that names the element.
//!
//! A document is read from a [`Tree`] borrowing from its decoded text (see
//! [`crate::json_tree`]), and the place of an element (`Statement[2].Action`) is an [`At`]
//! written out only for an error: most documents have none, and formatting every element's
//! place cost as much as checking it.

use std::fmt;

use serde_json::Value;

use super::decode::{json_type, object_text};
use super::{
    Actions, BaseOperator, Condition, DocumentError, Effect, Operator, Policy, PolicyKind, PolicyVersion, Principal,
    Principals, Problem, Resources, SetQualifier, Statement, StatementName,
};
use crate::catalog::{may_name_kms_action, ActionSet};
use crate::json_tree::{Kept, Object, Tree, Written};
use crate::pattern::{Pattern, Variables};

const STRINGS: &str = "a string or an array of strings";

/// Decodes and checks a policy document of the given kind. `raw` may be an object, a JSON
/// string or URL-encoded text (see [`super::decode`]).
pub fn parse_policy(raw: &Value, kind: PolicyKind) -> Result<Policy, DocumentError> {
    match raw {
        Value::Object(_) => parse_policy_tree(&Tree::of_value(raw, &bumpalo::Bump::new()), kind),
        Value::String(text) => parse_policy_text(text, kind),
        other => Err(DocumentError::NotObject { found: json_type(other) }),
    }
}

/// As [`parse_policy`], for a document held as text (JSON, a JSON string, or URL-encoded).
/// A text met before is not parsed again ([`super::memo`]).
pub fn parse_policy_text(text: &str, kind: PolicyKind) -> Result<Policy, DocumentError> {
    super::memo::remembered(text, kind, || parse_text_afresh(text, kind))
}

/// [`parse_policy_text`] without the memo: what it does with a text it has not met.
fn parse_text_afresh(text: &str, kind: PolicyKind) -> Result<Policy, DocumentError> {
    let text = object_text(text)?;
    Tree::with_parsed(&text, |tree| parse_policy_tree(tree, kind)).map_err(|e| DocumentError::Json(e.to_string()))?
}

/// A document given as a string kept as written ([`Tree::Written`]): read as its value is
/// read as text ([`parse_policy_text`]), through the memo by the text as written
/// (`memo::Form::Escaped`), so that a string met again is not unescaped again. The value is
/// a function of the written text alone, so the two agree.
fn parse_written(written: &Written<'_>, kind: PolicyKind) -> Result<Policy, DocumentError> {
    // Left unread only when the memo held the text, which then hands its document to this call
    // ([`super::memo::knows_escaped`]); were it not there, the text (a well-formed string's) is
    // unescaped here ([`Written::value`]).
    super::memo::remembered_escaped(written.text, kind, || match written.value() {
        Ok(value) => parse_text_afresh(&value, kind),
        Err(e) => Err(DocumentError::Json(e.to_string())),
    })
}

/// As [`parse_policy`], for a document read into a [`Tree`] (a field of an item): an object,
/// or text to decode. An object kept as its text ([`Tree::Kept`]) is read through the memo by
/// that text, as [`parse_policy_text`] reads it: the text is an object's, which that function
/// parses as it stands, so the two agree.
pub fn parse_policy_tree(raw: &Tree<'_>, kind: PolicyKind) -> Result<Policy, DocumentError> {
    match raw {
        Tree::Object(object) => parse_object(object, kind),
        Tree::Kept(Kept { text, object: Some(object) }) => {
            super::memo::remembered(text, kind, || parse_object(object, kind))
        }
        Tree::Kept(Kept { text, object: None }) => parse_policy_text(text, kind),
        Tree::String(text) => parse_policy_text(text, kind),
        Tree::Written(written) => parse_written(written, kind),
        other => Err(DocumentError::NotObject { found: other.type_name() }),
    }
}

/// Where an element is in the document, written out only when an error names it.
#[derive(Clone, Copy)]
enum At<'p> {
    /// A top-level element (`Statement`, `Version`).
    Top(&'p str),
    /// `Statement[i]`.
    Statement(usize),
    /// A named element inside another: `Statement[0].Action`.
    Field(&'p At<'p>, &'p str),
    /// An element of a list: `Statement[0].Action[2]`.
    Index(&'p At<'p>, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Top(name) => f.write_str(name),
            At::Statement(index) => write!(f, "Statement[{index}]"),
            At::Field(parent, name) => write!(f, "{parent}.{name}"),
            At::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

fn invalid(at: At<'_>, problem: Problem) -> DocumentError {
    DocumentError::Invalid { path: at.to_string(), problem }
}

fn wrong_type(at: At<'_>, expected: &'static str, found: &Tree<'_>) -> DocumentError {
    invalid(at, Problem::WrongType { expected, found: found.type_name() })
}

fn parse_object(object: &Object<'_>, kind: PolicyKind) -> Result<Policy, DocumentError> {
    let mut version = PolicyVersion::Unspecified;
    let mut statement = None;
    for (name, value) in object.iter() {
        match name {
            "Version" => {
                version = match value.as_str() {
                    Some("2012-10-17") => PolicyVersion::V2012,
                    Some("2008-10-17") => PolicyVersion::V2008,
                    Some(other) => return Err(invalid(At::Top("Version"), Problem::UnknownVersion(other.into()))),
                    None => return Err(wrong_type(At::Top("Version"), "a string", value)),
                }
            }
            "Id" => {
                if !value.is_string() {
                    return Err(wrong_type(At::Top("Id"), "a string", value));
                }
            }
            "Statement" => statement = Some(value),
            _ => return Err(invalid(At::Top(name), Problem::UnknownElement)),
        }
    }
    let statement = statement.ok_or_else(|| invalid(At::Top("Statement"), Problem::Missing))?;
    let raw_statements: &[Tree<'_>] = match statement {
        Tree::Array(items) => items,
        Tree::Object(_) => std::slice::from_ref(statement),
        other => return Err(wrong_type(At::Top("Statement"), "an object or an array of objects", other)),
    };
    let variables = match version {
        PolicyVersion::V2012 => Variables::Resolved,
        PolicyVersion::V2008 | PolicyVersion::Unspecified => Variables::Literal,
    };
    let mut statements = Vec::with_capacity(raw_statements.len());
    for (index, value) in raw_statements.iter().enumerate() {
        statements.extend(parse_statement(index, value, kind, variables)?);
    }
    Ok(Policy { version, statements: statements.into() })
}

/// The statement at `index`, checked; `None` for a statement of an identity policy that can
/// neither allow nor deny a KMS action: it is checked in full (its errors are the document's)
/// but not kept, since nothing reads it (every reader of an identity policy skips statements
/// without KMS actions, as [`Policy::retain_kms_statements`] does), and building its resource
/// patterns and conditions was most of the parser's work on real documents (issue 18). Key
/// and trust policies keep every statement: their principals are read whatever the actions.
fn parse_statement(
    index: usize,
    value: &Tree<'_>,
    kind: PolicyKind,
    variables: Variables,
) -> Result<Option<Statement>, DocumentError> {
    let here = At::Statement(index);
    let here = &here;
    let at = |element| At::Field(here, element);
    let object = value.as_object().ok_or_else(|| wrong_type(*here, "an object", value))?;

    let mut sid = None;
    let mut effect = None;
    let (mut principal, mut not_principal) = (None, None);
    let (mut action, mut not_action) = (None, None);
    let (mut resource, mut not_resource) = (None, None);
    let mut condition = None;
    for (name, value) in object.iter() {
        match name {
            "Sid" => {
                sid = Some(value.as_str().ok_or_else(|| wrong_type(at("Sid"), "a string", value))?);
            }
            "Effect" => effect = Some(value),
            "Principal" => principal = Some(value),
            "NotPrincipal" => not_principal = Some(value),
            "Action" => action = Some(value),
            "NotAction" => not_action = Some(value),
            "Resource" => resource = Some(value),
            "NotResource" => not_resource = Some(value),
            "Condition" => condition = Some(value),
            _ => return Err(invalid(at(name), Problem::UnknownElement)),
        }
    }

    let effect = match effect {
        None => return Err(invalid(at("Effect"), Problem::Missing)),
        Some(Tree::String("Allow")) => Effect::Allow,
        Some(Tree::String("Deny")) => Effect::Deny,
        Some(Tree::String(s)) => return Err(invalid(at("Effect"), Problem::UnknownEffect((*s).to_owned()))),
        Some(other) => return Err(wrong_type(at("Effect"), "a string", other)),
    };

    let actions = match (action, not_action) {
        (Some(_), Some(_)) => return Err(invalid(*here, Problem::Both("Action", "NotAction"))),
        (None, None) => return Err(invalid(*here, Problem::Neither("Action", "NotAction"))),
        (Some(v), None) => Actions::Only(action_patterns(v, &at("Action"))?),
        (None, Some(v)) => Actions::AllExcept(action_patterns(v, &at("NotAction"))?),
    };

    let kms_actions = match &actions {
        Actions::Only(patterns) => ActionSet::matching(patterns),
        Actions::AllExcept(patterns) => ActionSet::matching(patterns).complement(),
    };
    // What is checked but not kept (see above): the same checks, in the same order.
    let kept = kind != PolicyKind::Identity || !kms_actions.is_empty();

    let resources = match (resource, not_resource) {
        (Some(_), Some(_)) => return Err(invalid(*here, Problem::Both("Resource", "NotResource"))),
        (None, None) => None,
        (Some(v), None) if !kept => strings(v, &at("Resource")).map(|_| Some(Resources::Only(Vec::new())))?,
        (None, Some(v)) if !kept => strings(v, &at("NotResource")).map(|_| Some(Resources::AllExcept(Vec::new())))?,
        (Some(v), None) => Some(Resources::Only(arn_patterns(v, &at("Resource"), variables)?)),
        (None, Some(v)) => Some(Resources::AllExcept(arn_patterns(v, &at("NotResource"), variables)?)),
    };

    let principals = match (principal, not_principal) {
        (Some(_), Some(_)) => return Err(invalid(*here, Problem::Both("Principal", "NotPrincipal"))),
        (None, None) => None,
        (Some(v), None) => Some(Principals::Only(principal_list(v, &at("Principal"))?)),
        (None, Some(v)) => Some(Principals::AllExcept(principal_list(v, &at("NotPrincipal"))?)),
    };

    match kind {
        PolicyKind::Identity => {
            if principal.is_some() {
                return Err(invalid(at("Principal"), Problem::NotAllowed("an identity policy")));
            }
            if not_principal.is_some() {
                return Err(invalid(at("NotPrincipal"), Problem::NotAllowed("an identity policy")));
            }
            if resources.is_none() {
                return Err(invalid(*here, Problem::Neither("Resource", "NotResource")));
            }
        }
        PolicyKind::KeyPolicy => {
            if principals.is_none() {
                return Err(invalid(*here, Problem::Neither("Principal", "NotPrincipal")));
            }
            if resources.is_none() {
                return Err(invalid(*here, Problem::Neither("Resource", "NotResource")));
            }
        }
        PolicyKind::Trust => {
            if principals.is_none() {
                return Err(invalid(*here, Problem::Neither("Principal", "NotPrincipal")));
            }
        }
    }

    let conditions = match condition {
        None => Vec::new(),
        Some(v) if !kept => check_conditions(v, &at("Condition")).map(|()| Vec::new())?,
        Some(v) => parse_conditions(v, &at("Condition"))?,
    };
    if !kept {
        return Ok(None);
    }

    let name = match sid {
        Some(sid) if !sid.is_empty() => StatementName::Sid(sid.to_owned()),
        _ => StatementName::Index(index),
    };
    Ok(Some(Statement { name, effect, principals, actions, resources, conditions, kms_actions }))
}

/// A string or a non-empty array of strings, checked, then read without a copy of the list.
fn strings<'v>(value: &Tree<'v>, at: &At<'_>) -> Result<impl Iterator<Item = &'v str> + Clone, DocumentError> {
    let (one, many): (Option<&'v str>, &'v [Tree<'v>]) = match *value {
        Tree::String(s) => (Some(s), &[]),
        Tree::Array(items) => {
            if items.is_empty() {
                return Err(invalid(*at, Problem::Empty));
            }
            if let Some((i, item)) = items.iter().enumerate().find(|(_, item)| item.as_str().is_none()) {
                return Err(wrong_type(At::Index(at, i), "a string", item));
            }
            (None, items)
        }
        ref other => return Err(wrong_type(*at, STRINGS, other)),
    };
    // Every element of `many` is a string (checked above): none is skipped.
    Ok(one.into_iter().chain(many.iter().filter_map(Tree::as_str)))
}

/// The patterns of `Action`/`NotAction` that can match a KMS action; the others are checked
/// (they must be strings) and dropped, since no rule reads them (see
/// [`crate::catalog::may_name_kms_action`]). Dropping them changes no statement's meaning for
/// KMS: an `Action` list still covers the same KMS actions, a `NotAction` list still excludes
/// the same ones.
fn action_patterns(value: &Tree<'_>, at: &At<'_>) -> Result<Vec<Pattern>, DocumentError> {
    Ok(strings(value, at)?.filter(|s| may_name_kms_action(s)).map(Pattern::action).collect())
}

fn arn_patterns(value: &Tree<'_>, at: &At<'_>, variables: Variables) -> Result<Vec<Pattern>, DocumentError> {
    Ok(strings(value, at)?.map(|s| Pattern::arn(s, variables)).collect())
}

fn principal_list(value: &Tree<'_>, path: &At<'_>) -> Result<Vec<Principal>, DocumentError> {
    match value {
        Tree::String("*") => Ok(vec![Principal::Everyone]),
        Tree::String(_) => Err(wrong_type(*path, "`*` or an object of principal types", value)),
        Tree::Object(map) => {
            if map.is_empty() {
                return Err(invalid(*path, Problem::Empty));
            }
            let mut out = Vec::new();
            for (principal_type, values) in map.iter() {
                let at = At::Field(path, principal_type);
                let values = strings(values, &at)?;
                match principal_type {
                    "AWS" => {
                        // IAM rejects a wildcard in a principal ARN unless the value is `*` alone.
                        if let Some(partial) = values.clone().find(|v| *v != "*" && v.contains(['*', '?'])) {
                            return Err(invalid(at, Problem::PartialWildcardPrincipal(partial.to_owned())));
                        }
                        out.extend(values.map(Principal::aws))
                    }
                    "Service" => out.extend(values.map(|s| Principal::Service(s.to_owned()))),
                    "Federated" | "CanonicalUser" => out.extend(values.map(|s| match s {
                        "*" => Principal::Everyone,
                        _ => Principal::Other(s.to_owned()),
                    })),
                    other => return Err(invalid(*path, Problem::UnknownPrincipalType(other.to_owned()))),
                }
            }
            Ok(out)
        }
        other => Err(wrong_type(*path, "`*` or an object of principal types", other)),
    }
}

fn parse_conditions(value: &Tree<'_>, path: &At<'_>) -> Result<Vec<Condition>, DocumentError> {
    let map = value.as_object().ok_or_else(|| wrong_type(*path, "an object", value))?;
    let mut out = Vec::new();
    for (operator_name, entries) in map.iter() {
        let at = At::Field(path, operator_name);
        let operator = parse_operator(operator_name);
        let entries = entries.as_object().ok_or_else(|| wrong_type(at, "an object", entries))?;
        for (key, values) in entries.iter() {
            let key_at = At::Field(&at, key);
            let values = match values {
                Tree::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| scalar(v, At::Index(&key_at, i)))
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(other, key_at)?],
            };
            out.push(Condition { operator: operator.clone(), key: key.to_ascii_lowercase(), values });
        }
    }
    Ok(out)
}

/// What [`parse_conditions`] checks, with nothing built: the same errors, in the same order.
fn check_conditions(value: &Tree<'_>, path: &At<'_>) -> Result<(), DocumentError> {
    let map = value.as_object().ok_or_else(|| wrong_type(*path, "an object", value))?;
    for (operator_name, entries) in map.iter() {
        let at = At::Field(path, operator_name);
        let entries = entries.as_object().ok_or_else(|| wrong_type(at, "an object", entries))?;
        for (key, values) in entries.iter() {
            let key_at = At::Field(&at, key);
            match values {
                Tree::Array(items) => {
                    for (i, v) in items.iter().enumerate() {
                        check_scalar(v, At::Index(&key_at, i))?;
                    }
                }
                other => check_scalar(other, key_at)?,
            }
        }
    }
    Ok(())
}

/// What [`scalar`] checks.
fn check_scalar(value: &Tree<'_>, at: At<'_>) -> Result<(), DocumentError> {
    match value {
        Tree::String(_) | Tree::Bool(_) | Tree::Number(_) => Ok(()),
        other => Err(wrong_type(at, "a string, number or boolean", other)),
    }
}

fn scalar(value: &Tree<'_>, at: At<'_>) -> Result<String, DocumentError> {
    match value {
        Tree::String(s) => Ok((*s).to_owned()),
        Tree::Bool(b) => Ok(b.to_string()),
        Tree::Number(n) => Ok(n.to_string()),
        other => Err(wrong_type(at, "a string, number or boolean", other)),
    }
}

/// Operator names are case-insensitive; qualifiers are peeled off before the base test is read.
fn parse_operator(name: &str) -> Operator {
    let lower = name.to_ascii_lowercase();
    let (set, rest) = if let Some(rest) = lower.strip_prefix("foranyvalue:") {
        (Some(SetQualifier::ForAnyValue), rest)
    } else if let Some(rest) = lower.strip_prefix("forallvalues:") {
        (Some(SetQualifier::ForAllValues), rest)
    } else {
        (None, lower.as_str())
    };
    let (if_exists, base_name) = match rest.strip_suffix("ifexists") {
        Some(base) => (true, base),
        None => (false, rest),
    };
    let base = match base_name {
        "stringequals" => BaseOperator::StringEquals,
        "stringequalsignorecase" => BaseOperator::StringEqualsIgnoreCase,
        "stringlike" => BaseOperator::StringLike,
        "arnequals" => BaseOperator::ArnEquals,
        "arnlike" => BaseOperator::ArnLike,
        "bool" => BaseOperator::Bool,
        "null" => BaseOperator::Null,
        n if n.contains("not") => BaseOperator::Negated,
        _ => BaseOperator::OtherPositive,
    };
    Operator { name: name.to_owned(), base, set, if_exists }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn identity(v: Value) -> Result<Policy, DocumentError> {
        parse_policy(&v, PolicyKind::Identity)
    }

    fn error(v: Value, kind: PolicyKind) -> String {
        match parse_policy(&v, kind) {
            Ok(_) => "parsed".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn single_statement_object_and_string_values() {
        let p = identity(
            json!({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}),
        );
        let p = p.ok();
        assert_eq!(p.as_ref().map(|p| p.statements.len()), Some(1));
        assert_eq!(p.as_ref().map(|p| p.statements[0].kms_actions.len()), Some(1));
    }

    #[test]
    fn not_action_covers_every_other_catalog_action() {
        let p = identity(json!({"Statement":[{"Effect":"Allow","NotAction":["kms:Decrypt","iam:*"],"Resource":"*"}]}));
        assert_eq!(p.ok().map(|p| p.statements[0].kms_actions.len()), Some(54));
    }

    #[test]
    fn errors_name_the_element() {
        let id = PolicyKind::Identity;
        assert_eq!(
            error(json!({"Statement":[{"Effect":"Allow","Action":3,"Resource":"*"}]}), id),
            "Statement[0].Action: expected a string or an array of strings, found a number"
        );
        assert_eq!(
            error(json!({"Statement":[{"Effect":"allow","Action":"kms:*","Resource":"*"}]}), id),
            "Statement[0].Effect: `allow` is not `Allow` or `Deny`"
        );
        assert_eq!(
            error(json!({"Statement":[{"Action":"kms:*","Resource":"*"}]}), id),
            "Statement[0].Effect: is missing"
        );
        assert_eq!(
            error(json!({"Statement":[{"Effect":"Allow","Action":"kms:*","NotAction":"s3:*","Resource":"*"}]}), id),
            "Statement[0]: has both `Action` and `NotAction`"
        );
        assert_eq!(
            error(json!({"Statement":5}), id),
            "Statement: expected an object or an array of objects, found a number"
        );
        assert_eq!(
            error(json!({"Statement":[{"Effect":"Allow","Action":"kms:*"}]}), PolicyKind::KeyPolicy),
            "Statement[0]: has neither `Principal` nor `NotPrincipal`"
        );
        assert_eq!(
            error(
                json!({"Statement":[{"Effect":"Allow","Principal":[{"AWS":"*"}],"Action":"kms:*","Resource":"*"}]}),
                PolicyKind::KeyPolicy
            ),
            "Statement[0].Principal: expected `*` or an object of principal types, found an array"
        );
        assert_eq!(
            error(json!({"Version":"2020-01-01","Statement":[]}), id),
            "Version: `2020-01-01` is not `2012-10-17` or `2008-10-17`"
        );
    }

    #[test]
    fn principals_normalise() {
        assert_eq!(Principal::aws("111122223333"), Principal::aws("arn:aws:iam::111122223333:root"));
        assert_eq!(Principal::aws("*"), Principal::Everyone);
        assert_eq!(Principal::aws("arn:aws:iam::111122223333:role/App").account(), Some("111122223333"));
        assert!(matches!(Principal::aws("AROAEXAMPLEID"), Principal::Other(_)));
    }

    #[test]
    fn operators_parse_case_insensitively() {
        let op = parse_operator("forAnyValue:StringLikeIfExists");
        assert_eq!((op.base, op.set, op.if_exists), (BaseOperator::StringLike, Some(SetQualifier::ForAnyValue), true));
        assert_eq!(parse_operator("StringNotEquals").base, BaseOperator::Negated);
        assert_eq!(parse_operator("ArnNotLikeIfExists").base, BaseOperator::Negated);
        assert_eq!(parse_operator("NumericLessThan").base, BaseOperator::OtherPositive);
    }
}
