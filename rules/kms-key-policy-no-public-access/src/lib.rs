//! # kms-key-policy-no-public-access
//!
//! - **Identifier**: `kms-key-policy-no-public-access`
//! - **Description**: a key policy must not allow any KMS action to everyone (`"*"`,
//!   `{"AWS": "*"}` or an Allow with `NotPrincipal`) unless a restricting condition limits the
//!   caller to known accounts, an organization or named principals.
//! - **Rationale**: a key policy is a resource policy: a grant to everyone reaches every AWS
//!   account in the world. Accepted limits: `kms:CallerAccount`, `aws:PrincipalAccount`,
//!   `aws:PrincipalOrgID`, `aws:PrincipalArn`, `aws:SourceAccount`, `aws:SourceArn` (so
//!   `kms:ViaService` together with `kms:CallerAccount` passes through the latter), each with
//!   fixed values (SPEC section 2).
//! - **Trigger**: configuration changes of `AWS::KMS::Key`.
//! - **Resource types**: `AWS::KMS::Key`.
//! - **Parameters**: none.
//!
//! Unconditional Denies to everyone remove grants before judging.
//!
//! ## Scenarios
//! 1. `"Principal": "*"` allowed `kms:Decrypt` with no condition: NON_COMPLIANT, naming the
//!    statement and action.
//! 2. `{"AWS": "*"}` allowed `kms:*` under `StringEquals kms:CallerAccount 111122223333`: COMPLIANT.
//! 3. `{"AWS": "*"}` under `StringEquals aws:PrincipalOrgID o-exampleorgid`: COMPLIANT.
//! 4. `"*"` under `kms:ViaService` alone: NON_COMPLIANT.
//! 5. `"*"` under `kms:ViaService` and `kms:CallerAccount`: COMPLIANT.
//! 6. `"*"` under `StringLike kms:CallerAccount "*"`: NON_COMPLIANT (wildcard value).
//! 7. `"*"` under `StringNotEquals aws:PrincipalAccount`: NON_COMPLIANT (negated operator).
//! 8. `"*"` under `ArnLike aws:PrincipalArn arn:aws:iam::*:role/X`: NON_COMPLIANT (account wildcard).
//! 9. An Allow with `NotPrincipal` naming one role: NON_COMPLIANT (everyone else is granted),
//!    naming the grantee as `everyone but <role> (NotPrincipal)`.
//! 10. Grants to named roles and the account root only: COMPLIANT.
//! 11. `"*"` allowed `kms:Decrypt`, with an unconditional Deny of `kms:*` to `"*"`: COMPLIANT.
//! 12. `"*"` with a `ForAllValues:StringEquals aws:PrincipalOrgID` condition: NON_COMPLIANT.
//! 13. A key policy that does not parse (`Statement` is a string): NON_COMPLIANT.
//! 14. A deleted key: NOT_APPLICABLE.

use shared::access::key_policy_grantees;
use shared::condition::restricting;
use shared::policy::{Principal, Principals, Statement};
use shared::rule::InactiveKeys;
use shared::support::{grant_cause, key_and_policy};
use shared::{Context, Resource, ResourceType, Rule, Verdict};

/// Condition keys that limit a grant to everyone to known callers.
const LIMITING_KEYS: [&str; 6] = [
    "kms:CallerAccount",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceArn",
];

/// The rule.
pub static RULE: Rule = Rule {
    id: "kms-key-policy-no-public-access",
    summary: "key policies must not grant KMS actions to everyone without limiting the caller",
    resource_types: &[ResourceType::KmsKey],
    parameters: &[],
    periodic: false,
    inactive_keys: InactiveKeys::NotApplicable,
    evaluate,
};

fn evaluate(resource: &Resource, _ctx: &Context<'_>) -> Verdict {
    let (_, policy) = match key_and_policy(resource) {
        Ok(found) => found,
        Err(verdict) => return verdict,
    };
    let unlimited = |s: &Statement| restricting(&s.conditions, &LIMITING_KEYS).is_none();
    let causes = key_policy_grantees(policy, &unlimited)
        .into_iter()
        .filter(|g| g.grantee == Principal::Everyone)
        .filter_map(|g| {
            let action = g.access.actions().first()?;
            let by = g.access.source(action)?;
            let everyone = match &by.statement.principals {
                Some(Principals::AllExcept(named)) => {
                    let named: Vec<String> = named.iter().map(ToString::to_string).collect();
                    format!("everyone but {} (NotPrincipal)", named.join(", "))
                }
                _ => "everyone (*)".to_owned(),
            };
            Some(grant_cause(
                by,
                Some(&everyone),
                action,
                "without a condition limiting the caller's account or organization",
            ))
        })
        .collect();
    Verdict::from_causes(causes)
}
