//! # kms-key-policy-no-public-access
//!
//! - **Identifier**: `kms-key-policy-no-public-access`
//! - **Description**: a key policy must not allow any KMS action to everyone (`"*"`,
//!   `{"AWS": "*"}` or an Allow with `NotPrincipal`) unless a restricting condition limits the
//!   caller to known accounts, an organization or named principals.
//! - **Rationale**: a key policy is a resource policy: a grant to everyone reaches every AWS
//!   account in the world. Accepted limits: `kms:CallerAccount`, `aws:PrincipalAccount`,
//!   `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:PrincipalArn`, `aws:SourceAccount`,
//!   `aws:SourceArn`, `aws:SourceOrgID`, `aws:SourceOrgPaths`, `aws:SourceVpc`, `aws:SourceVpce`
//!   (so `kms:ViaService` together with `kms:CallerAccount` passes through the latter), each with
//!   fixed values (SPEC section 2; org paths must start with a literal organization id, VPC ids
//!   hold no wildcard, as S3 Block Public Access counts them).
//! - **Trigger**: configuration changes of `AWS::KMS::Key`.
//! - **Resource types**: `AWS::KMS::Key`.
//! - **Parameters**: none.
//!
//! Unconditional Denies remove grants before judging: what a grant to everyone still gives
//! "anyone" (a principal no statement names) is public; a grant that Denies leave only to
//! named principals is judged by the rules that judge those principals.
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
//!    naming the grantee as `anyone, role sessions included (NotPrincipal names only roles)`.
//! 10. Grants to named roles and the account root only: COMPLIANT.
//! 11. `"*"` allowed `kms:Decrypt`, with an unconditional Deny of `kms:*` to `"*"`: COMPLIANT.
//! 12. `"*"` with a `ForAllValues:StringEquals aws:PrincipalOrgID` condition: NON_COMPLIANT.
//! 13. A key policy that does not parse (`Statement` is a string): NON_COMPLIANT.
//! 14. A deleted key: NOT_APPLICABLE.
//! 15. `"*"` under `ForAnyValue:StringLike aws:PrincipalOrgPaths o-a1b2c3d4e5/*`: COMPLIANT.
//! 16. `"*"` under `ForAnyValue:StringLike aws:PrincipalOrgPaths o-*/*`: NON_COMPLIANT (any
//!     organization).
//! 17. `"*"` under `StringEquals aws:SourceVpce vpce-1a2b3c4d`: COMPLIANT.
//! 18. `"*"` under `StringEquals aws:SourceOrgID o-a1b2c3d4e5`: COMPLIANT.
//! 19. `"*"` allowed `kms:Decrypt`, with a Deny of `kms:*` whose `NotPrincipal` is [own root,
//!     role/Ops]: COMPLIANT (nothing is left for anyone).

use shared::access::{key_policy_grantees, Grantee};
use shared::catalog::ActionSet;
use shared::condition::restricting;
use shared::policy::Statement;
use shared::support::{grant_cause, judge_key_policy};
use shared::{Context, Resource, Rule, Verdict};

/// Condition keys that limit a grant to everyone to known callers (SPEC section 3).
/// `kms:ViaService` together with `kms:CallerAccount` passes through the latter.
const LIMITING_KEYS: [&str; 11] = [
    "kms:CallerAccount",
    "aws:PrincipalAccount",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalArn",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceVpc",
    "aws:SourceVpce",
];

const REASON: &str = "without a condition limiting the caller's account or organization";

/// The rule: run on configuration changes, one item an invocation.
pub static RULE: Rule = Rule::on_key_change(
    "kms-key-policy-no-public-access",
    "key policies must not grant KMS actions to everyone without limiting the caller",
    &[],
    evaluate,
);

fn evaluate(resource: &Resource, _ctx: &Context<'_>) -> Verdict {
    judge_key_policy(resource, |policy| {
        let unlimited = |s: &Statement| restricting(&s.conditions, &LIMITING_KEYS).is_none();
        // What survives for anyone at all is public; a grant to everyone that Denies leave only
        // to named principals is judged by the rules that judge those principals.
        let causes = key_policy_grantees(policy, resource.arn(), &unlimited)
            .into_iter()
            .filter(|g| *g.grantee == Grantee::Anyone)
            .filter_map(|g| {
                let (action, by) = g.access.first_grant(ActionSet::ALL)?;
                Some(grant_cause(by, Some(&g.grantee.named_for(by.statement)), action, REASON))
            })
            .collect();
        Verdict::from_causes(causes)
    })
}
