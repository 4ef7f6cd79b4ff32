//! When does a `Condition` really narrow a grant?
//!
//! Rules accept some conditions as making a grant safe (`kms:ViaService` for the ViaService
//! rule, `aws:SourceAccount` for service principals, ...). A condition only counts when it
//! **restricts** (SPEC section 2):
//! - its operator is positive: `StringEquals`, `StringEqualsIgnoreCase`, `StringLike`,
//!   `ArnEquals`, `ArnLike`, alone or as `ForAnyValue:`; never `ForAllValues:` (true when the
//!   key is absent), never `...IfExists` (likewise), never a negated operator, never `Null`;
//! - every value is fixed: not `*` alone, not all wildcards, no policy variable, not empty;
//! - keys whose values are account or organization ids restrict only with wildcard-free values;
//! - ARN-valued keys (`aws:SourceArn`, `aws:PrincipalArn`, `kms:EncryptionContext:aws:<service>:arn`)
//!   restrict only when the account field of every value is a literal 12-digit account id.
//!
//! Condition keys compare case-insensitively (the parser lower-cases them).

use crate::arn::{is_account_id, Arn};
use crate::pattern::{Pattern, Variables};
use crate::policy::{BaseOperator, Condition, SetQualifier};

/// Keys whose values are account, organization, VPC or VPC endpoint ids: they restrict only
/// with wildcard-free values (as S3 Block Public Access counts `aws:SourceVpc`/`aws:SourceVpce`).
const ID_KEYS: [&str; 8] = [
    "kms:calleraccount",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:resourceaccount",
    "aws:principalorgid",
    "aws:sourceorgid",
    "aws:sourcevpc",
    "aws:sourcevpce",
];

/// Keys whose values are organization paths (`o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*`): they
/// restrict when every value starts with a literal organization id.
const ORG_PATH_KEYS: [&str; 2] = ["aws:principalorgpaths", "aws:sourceorgpaths"];

/// Keys whose values are ARNs (besides `kms:encryptioncontext:aws:<service>:arn`).
const ARN_KEYS: [&str; 2] = ["aws:sourcearn", "aws:principalarn"];

/// True for `kms:EncryptionContext:aws:<service>:arn` keys (CloudTrail's, CloudWatch Logs', ...).
pub fn is_service_arn_context_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.strip_prefix("kms:encryptioncontext:aws:")
        .and_then(|rest| rest.strip_suffix(":arn"))
        .is_some_and(|service| !service.is_empty() && !service.contains(':'))
}

/// Keys that guard a grant to a service principal against the confused deputy (lower case),
/// besides `kms:EncryptionContext:aws:<service>:arn` ([`is_service_arn_context_key`]).
const CONFUSED_DEPUTY_KEYS: [&str; 3] = ["aws:sourcearn", "aws:sourceaccount", "aws:sourceorgid"];

/// Does a statement with these conditions guard a service principal's grant against the
/// confused deputy? One restricting `aws:SourceArn`, `aws:SourceAccount`, `aws:SourceOrgID` or
/// `kms:EncryptionContext:aws:<service>:arn` condition does.
pub fn guards_confused_deputy(conditions: &[Condition]) -> bool {
    restricting_where(conditions, |key| CONFUSED_DEPUTY_KEYS.contains(&key) || is_service_arn_context_key(key))
        .is_some()
}

impl Condition {
    /// Does this condition restrict its key, in the sense of SPEC section 2?
    pub fn restricts(&self) -> bool {
        let positive = matches!(
            self.operator.base,
            BaseOperator::StringEquals
                | BaseOperator::StringEqualsIgnoreCase
                | BaseOperator::StringLike
                | BaseOperator::ArnEquals
                | BaseOperator::ArnLike
        );
        if !positive || self.operator.if_exists || self.operator.set == Some(SetQualifier::ForAllValues) {
            return false;
        }
        if self.values.is_empty() || !self.values.iter().all(|v| is_fixed(v)) {
            return false;
        }
        if ID_KEYS.contains(&self.key.as_str()) {
            return self.values.iter().all(|v| !v.contains(['*', '?']));
        }
        if ORG_PATH_KEYS.contains(&self.key.as_str()) {
            return self.values.iter().all(|v| starts_with_literal_org_id(v));
        }
        if ARN_KEYS.contains(&self.key.as_str()) || is_service_arn_context_key(&self.key) {
            return self.values.iter().all(|v| has_literal_account(v));
        }
        true
    }

    /// Does this condition restrict `kms:GrantIsForAWSResource` to `true`?
    pub fn restricts_grant_for_aws_resource(&self) -> bool {
        let operator_ok = matches!(
            self.operator.base,
            BaseOperator::Bool | BaseOperator::StringEquals | BaseOperator::StringEqualsIgnoreCase
        );
        self.key == "kms:grantisforawsresource"
            && operator_ok
            && !self.operator.if_exists
            && self.operator.set != Some(SetQualifier::ForAllValues)
            && !self.values.is_empty()
            && self.values.iter().all(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// The first condition of `conditions` that restricts one of `keys` (compared
/// case-insensitively).
pub fn restricting<'c>(conditions: &'c [Condition], keys: &[&str]) -> Option<&'c Condition> {
    restricting_where(conditions, |key| keys.iter().any(|k| k.eq_ignore_ascii_case(key)))
}

/// The first condition whose key satisfies `is_wanted` and that restricts it.
pub fn restricting_where(conditions: &[Condition], is_wanted: impl Fn(&str) -> bool) -> Option<&Condition> {
    conditions.iter().find(|c| is_wanted(&c.key) && c.restricts())
}

/// A value is fixed when it is not empty, not made of wildcards only, and holds no policy
/// variable (`${*}`, `${?}` and `${$}` are escapes, not variables).
fn is_fixed(value: &str) -> bool {
    if value.is_empty() {
        return false;
    }
    // Without `*`, `?` or `$` a value is literal text, neither wildcards nor a variable: no
    // pattern is built for it (rules ask about the same conditions for every grantee).
    if !value.contains(['*', '?', '$']) {
        return true;
    }
    let pattern = Pattern::arn(value, Variables::Resolved);
    !pattern.is_all_wildcards() && !pattern.has_variable()
}

/// The first segment of an organization path is a literal organization id (`o-` and letters
/// or digits, no wildcard).
fn starts_with_literal_org_id(value: &str) -> bool {
    // `split` always yields a first piece (the whole value when there is no `/`).
    let first = value.split('/').next().unwrap_or_default();
    first.strip_prefix("o-").is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
        && value.len() > first.len()
}

/// The account field (fifth) of an ARN value is a literal 12-digit account id.
fn has_literal_account(value: &str) -> bool {
    Arn::parse(value).is_ok_and(|arn| is_account_id(arn.account))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse_policy, PolicyKind};
    use serde_json::json;

    proptest::proptest! {
        /// A value is fixed exactly when its pattern is neither empty, all wildcards, nor
        /// holding a variable: the literal shortcut decides as the pattern does.
        #[test]
        fn is_fixed_decides_as_the_pattern_does(value in "[a*?${}:/-]{0,8}") {
            let pattern = Pattern::arn(&value, Variables::Resolved);
            let by_pattern = !value.is_empty() && !pattern.is_all_wildcards() && !pattern.has_variable();
            proptest::prop_assert_eq!(is_fixed(&value), by_pattern);
        }
    }

    fn condition(operator: &str, key: &str, values: serde_json::Value) -> Condition {
        let doc = json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*",
            "Condition": {operator: {key: values}}}]});
        parse_policy(&doc, PolicyKind::Identity)
            .ok()
            .and_then(|p| p.statements.last().cloned())
            .and_then(|mut s| s.conditions.pop())
            .unwrap_or_else(|| Condition {
                operator: crate::policy::Operator {
                    name: String::new(),
                    base: BaseOperator::Null,
                    set: None,
                    if_exists: false,
                },
                key: String::new(),
                values: vec![],
            })
    }

    #[test]
    fn positive_operators_with_fixed_values_restrict() {
        assert!(condition("StringEquals", "kms:ViaService", json!("s3.us-east-1.amazonaws.com")).restricts());
        assert!(condition("StringLike", "kms:ViaService", json!("s3.*.amazonaws.com")).restricts());
        assert!(condition("ForAnyValue:StringEquals", "kms:ViaService", json!(["a", "b"])).restricts());
        assert!(condition("stringequals", "KMS:VIASERVICE", json!("a")).restricts());
    }

    #[test]
    fn weak_operators_do_not_restrict() {
        for op in ["StringEqualsIfExists", "ForAllValues:StringEquals", "StringNotEquals", "Null", "NumericEquals"] {
            assert!(!condition(op, "kms:ViaService", json!("s3.us-east-1.amazonaws.com")).restricts(), "{op}");
        }
    }

    #[test]
    fn wildcard_and_variable_values_do_not_restrict() {
        assert!(!condition("StringLike", "kms:ViaService", json!("*")).restricts());
        assert!(!condition("StringLike", "kms:ViaService", json!("*?*")).restricts());
        assert!(!condition("StringLike", "kms:ViaService", json!(["s3.x", "*"])).restricts());
        assert!(!condition("StringEquals", "kms:ViaService", json!("${aws:username}")).restricts());
        assert!(!condition("StringLike", "kms:CallerAccount", json!("1111*")).restricts());
        assert!(condition("StringEquals", "kms:CallerAccount", json!("111122223333")).restricts());
    }

    #[test]
    fn arn_keys_need_a_literal_account() {
        let ok = "arn:aws:cloudtrail:*:111122223333:trail/*";
        assert!(condition("StringLike", "kms:EncryptionContext:aws:cloudtrail:arn", json!(ok)).restricts());
        assert!(condition("ArnLike", "aws:SourceArn", json!(ok)).restricts());
        let bad = "arn:aws:cloudtrail:*:*:trail/*";
        assert!(!condition("StringLike", "kms:EncryptionContext:aws:cloudtrail:arn", json!(bad)).restricts());
        assert!(!condition("ArnLike", "aws:SourceArn", json!("arn:aws:cloudtrail:*:1111222233??:trail/*")).restricts());
        assert!(!condition("ArnLike", "aws:SourceArn", json!("arn:aws:logs:us-east-1:*")).restricts());
        assert!(is_service_arn_context_key("kms:encryptioncontext:aws:logs:arn"));
        assert!(!is_service_arn_context_key("kms:encryptioncontext:aws:arn"));
    }

    #[test]
    fn org_paths_need_a_literal_organization_id_and_vpc_ids_no_wildcard() {
        assert!(condition("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", json!("o-a1b2c3d4e5/*")).restricts());
        assert!(condition("StringLike", "aws:SourceOrgPaths", json!(["o-a1b2c3d4e5/r-ab12/*"])).restricts());
        assert!(!condition("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", json!("o-*/*")).restricts());
        assert!(!condition("ForAnyValue:StringLike", "aws:PrincipalOrgPaths", json!("*/r-ab12/*")).restricts());
        assert!(condition("StringEquals", "aws:SourceVpce", json!("vpce-1a2b3c4d")).restricts());
        assert!(!condition("StringLike", "aws:SourceVpc", json!("vpc-*")).restricts());
    }

    #[test]
    fn grant_for_aws_resource() {
        assert!(condition("Bool", "kms:GrantIsForAWSResource", json!("true")).restricts_grant_for_aws_resource());
        assert!(condition("Bool", "kms:GrantIsForAWSResource", json!(true)).restricts_grant_for_aws_resource());
        assert!(!condition("Bool", "kms:GrantIsForAWSResource", json!("false")).restricts_grant_for_aws_resource());
        assert!(
            !condition("BoolIfExists", "kms:GrantIsForAWSResource", json!("true")).restricts_grant_for_aws_resource()
        );
    }
}
