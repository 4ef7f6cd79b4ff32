//! JSON value to checked [`Policy`], with an error that names the element.

use serde_json::{Map, Value};

use super::decode::{document_object, json_type};
use super::{
    Actions, BaseOperator, Condition, DocumentError, Effect, Operator, Policy, PolicyKind, PolicyVersion, Principal,
    Principals, Problem, Resources, SetQualifier, Statement, StatementName,
};
use crate::catalog::{may_name_kms_action, ActionSet};
use crate::pattern::{Pattern, Variables};

const STRINGS: &str = "a string or an array of strings";

/// Decodes and checks a policy document of the given kind. `raw` may be an object, a JSON
/// string or URL-encoded text (see [`super::decode`]).
pub fn parse_policy(raw: &Value, kind: PolicyKind) -> Result<Policy, DocumentError> {
    if let Value::Object(object) = raw {
        return parse_object(object, kind);
    }
    let object = document_object(raw)?;
    parse_object(&object, kind)
}

fn invalid(path: impl Into<String>, problem: Problem) -> DocumentError {
    DocumentError::Invalid { path: path.into(), problem }
}

fn wrong_type(path: impl Into<String>, expected: &'static str, found: &Value) -> DocumentError {
    invalid(path, Problem::WrongType { expected, found: json_type(found) })
}

fn parse_object(object: &Map<String, Value>, kind: PolicyKind) -> Result<Policy, DocumentError> {
    let mut version = PolicyVersion::Unspecified;
    let mut statement = None;
    for (name, value) in object {
        match name.as_str() {
            "Version" => {
                version = match value.as_str() {
                    Some("2012-10-17") => PolicyVersion::V2012,
                    Some("2008-10-17") => PolicyVersion::V2008,
                    Some(other) => return Err(invalid("Version", Problem::UnknownVersion(other.into()))),
                    None => return Err(wrong_type("Version", "a string", value)),
                }
            }
            "Id" => {
                if !value.is_string() {
                    return Err(wrong_type("Id", "a string", value));
                }
            }
            "Statement" => statement = Some(value),
            _ => return Err(invalid(name.clone(), Problem::UnknownElement)),
        }
    }
    let statement = statement.ok_or_else(|| invalid("Statement", Problem::Missing))?;
    let raw_statements: Vec<&Value> = match statement {
        Value::Array(items) => items.iter().collect(),
        Value::Object(_) => vec![statement],
        other => return Err(wrong_type("Statement", "an object or an array of objects", other)),
    };
    let variables = match version {
        PolicyVersion::V2012 => Variables::Resolved,
        PolicyVersion::V2008 | PolicyVersion::Unspecified => Variables::Literal,
    };
    let statements = raw_statements
        .into_iter()
        .enumerate()
        .map(|(index, value)| parse_statement(index, value, kind, variables))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Policy { version, statements })
}

fn parse_statement(
    index: usize,
    value: &Value,
    kind: PolicyKind,
    variables: Variables,
) -> Result<Statement, DocumentError> {
    let at = |element: &str| format!("Statement[{index}].{element}");
    let object = value.as_object().ok_or_else(|| wrong_type(format!("Statement[{index}]"), "an object", value))?;

    let mut sid = None;
    let mut effect = None;
    let (mut principal, mut not_principal) = (None, None);
    let (mut action, mut not_action) = (None, None);
    let (mut resource, mut not_resource) = (None, None);
    let mut condition = None;
    for (name, value) in object {
        match name.as_str() {
            "Sid" => {
                sid = Some(value.as_str().ok_or_else(|| wrong_type(at("Sid"), "a string", value))?.to_owned());
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
        Some(Value::String(s)) if s == "Allow" => Effect::Allow,
        Some(Value::String(s)) if s == "Deny" => Effect::Deny,
        Some(Value::String(s)) => return Err(invalid(at("Effect"), Problem::UnknownEffect(s.clone()))),
        Some(other) => return Err(wrong_type(at("Effect"), "a string", other)),
    };

    let actions = match (action, not_action) {
        (Some(_), Some(_)) => return Err(invalid(format!("Statement[{index}]"), Problem::Both("Action", "NotAction"))),
        (None, None) => return Err(invalid(format!("Statement[{index}]"), Problem::Neither("Action", "NotAction"))),
        (Some(v), None) => Actions::Only(action_patterns(v, &at("Action"))?),
        (None, Some(v)) => Actions::AllExcept(action_patterns(v, &at("NotAction"))?),
    };

    let resources = match (resource, not_resource) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!("Statement[{index}]"), Problem::Both("Resource", "NotResource")))
        }
        (None, None) => None,
        (Some(v), None) => Some(Resources::Only(arn_patterns(v, &at("Resource"), variables)?)),
        (None, Some(v)) => Some(Resources::AllExcept(arn_patterns(v, &at("NotResource"), variables)?)),
    };

    let principals = match (principal, not_principal) {
        (Some(_), Some(_)) => {
            return Err(invalid(format!("Statement[{index}]"), Problem::Both("Principal", "NotPrincipal")))
        }
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
                return Err(invalid(format!("Statement[{index}]"), Problem::Neither("Resource", "NotResource")));
            }
        }
        PolicyKind::KeyPolicy => {
            if principals.is_none() {
                return Err(invalid(format!("Statement[{index}]"), Problem::Neither("Principal", "NotPrincipal")));
            }
            if resources.is_none() {
                return Err(invalid(format!("Statement[{index}]"), Problem::Neither("Resource", "NotResource")));
            }
        }
        PolicyKind::Trust => {
            if principals.is_none() {
                return Err(invalid(format!("Statement[{index}]"), Problem::Neither("Principal", "NotPrincipal")));
            }
        }
    }

    let conditions = match condition {
        None => Vec::new(),
        Some(v) => parse_conditions(v, &at("Condition"))?,
    };

    let kms_actions = match &actions {
        Actions::Only(patterns) => ActionSet::matching(patterns),
        Actions::AllExcept(patterns) => ActionSet::matching(patterns).complement(),
    };
    let name = match sid {
        Some(sid) if !sid.is_empty() => StatementName::Sid(sid),
        _ => StatementName::Index(index),
    };
    Ok(Statement { name, effect, principals, actions, resources, conditions, kms_actions })
}

/// A string or a non-empty array of strings.
fn strings<'v>(value: &'v Value, path: &str) -> Result<Vec<&'v str>, DocumentError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(invalid(path, Problem::Empty));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| item.as_str().ok_or_else(|| wrong_type(format!("{path}[{i}]"), "a string", item)))
                .collect()
        }
        other => Err(wrong_type(path, STRINGS, other)),
    }
}

/// The patterns of `Action`/`NotAction` that can match a KMS action; the others are checked
/// (they must be strings) and dropped, since no rule reads them (see
/// [`crate::catalog::may_name_kms_action`]). Dropping them changes no statement's meaning for
/// KMS: an `Action` list still covers the same KMS actions, a `NotAction` list still excludes
/// the same ones.
fn action_patterns(value: &Value, path: &str) -> Result<Vec<Pattern>, DocumentError> {
    Ok(strings(value, path)?.into_iter().filter(|s| may_name_kms_action(s)).map(Pattern::action).collect())
}

fn arn_patterns(value: &Value, path: &str, variables: Variables) -> Result<Vec<Pattern>, DocumentError> {
    Ok(strings(value, path)?.into_iter().map(|s| Pattern::arn(s, variables)).collect())
}

fn principal_list(value: &Value, path: &str) -> Result<Vec<Principal>, DocumentError> {
    match value {
        Value::String(s) if s == "*" => Ok(vec![Principal::Everyone]),
        Value::String(_) => Err(wrong_type(path, "`*` or an object of principal types", value)),
        Value::Object(map) => {
            if map.is_empty() {
                return Err(invalid(path, Problem::Empty));
            }
            let mut out = Vec::new();
            for (principal_type, values) in map {
                let at = format!("{path}.{principal_type}");
                let values = strings(values, &at)?;
                match principal_type.as_str() {
                    "AWS" => {
                        // IAM rejects a wildcard in a principal ARN unless the value is `*` alone.
                        if let Some(partial) = values.iter().find(|v| **v != "*" && v.contains(['*', '?'])) {
                            return Err(invalid(&at, Problem::PartialWildcardPrincipal((*partial).to_owned())));
                        }
                        out.extend(values.into_iter().map(Principal::aws))
                    }
                    "Service" => out.extend(values.into_iter().map(|s| Principal::Service(s.to_owned()))),
                    "Federated" | "CanonicalUser" => out.extend(values.into_iter().map(|s| match s {
                        "*" => Principal::Everyone,
                        _ => Principal::Other(s.to_owned()),
                    })),
                    other => return Err(invalid(path, Problem::UnknownPrincipalType(other.to_owned()))),
                }
            }
            Ok(out)
        }
        other => Err(wrong_type(path, "`*` or an object of principal types", other)),
    }
}

fn parse_conditions(value: &Value, path: &str) -> Result<Vec<Condition>, DocumentError> {
    let map = value.as_object().ok_or_else(|| wrong_type(path, "an object", value))?;
    let mut out = Vec::new();
    for (operator_name, entries) in map {
        let at = format!("{path}.{operator_name}");
        let operator = parse_operator(operator_name);
        let entries = entries.as_object().ok_or_else(|| wrong_type(at.clone(), "an object", entries))?;
        for (key, values) in entries {
            let key_at = format!("{at}.{key}");
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| scalar(v, &format!("{key_at}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?,
                other => vec![scalar(other, &key_at)?],
            };
            out.push(Condition { operator: operator.clone(), key: key.to_ascii_lowercase(), values });
        }
    }
    Ok(out)
}

fn scalar(value: &Value, path: &str) -> Result<String, DocumentError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(wrong_type(path, "a string, number or boolean", other)),
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
