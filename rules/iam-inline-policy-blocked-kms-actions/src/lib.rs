//! # iam-inline-policy-blocked-kms-actions
//!
//! - **Identifier**: `iam-inline-policy-blocked-kms-actions`
//! - **Description**: no inline policy of an IAM user, role or group may allow blocked KMS
//!   actions (by default `kms:Decrypt` and `kms:ReEncryptFrom`) on all KMS keys.
//! - **Rationale**: as for customer managed policies (Security Hub KMS.2): decrypting with every
//!   key of the account defeats the key policies. Each inline policy is judged alone, with its
//!   own unconditional Denies, as SPEC section 3 says.
//! - **Trigger**: configuration changes of `AWS::IAM::User`, `AWS::IAM::Role`, `AWS::IAM::Group`.
//! - **Resource types**: `AWS::IAM::User`, `AWS::IAM::Role`, `AWS::IAM::Group`.
//! - **Parameters**:
//!   - `blockedActionsPatterns` (default `kms:Decrypt,kms:ReEncryptFrom`): action patterns to flag.
//!   - `acceptConditionKeys` (default empty): an Allow with a restricting condition on one of
//!     these keys does not count.
//!   - `excludeRoleByManagementAccount` (default `false`): when `true`, a role whose trust
//!     policy admits only principals of the organization's management account is
//!     NOT_APPLICABLE. The management account comes from the resolver (Organizations in
//!     Lambda); where it is unknown, no role is excluded (never a silent pass).
//!
//! Service-linked roles (path `/aws-service-role/`) are NOT_APPLICABLE: AWS owns their policies.
//!
//! ## Scenarios
//! 1. A role whose inline policy allows `kms:Decrypt` on `*`: NON_COMPLIANT, naming policy,
//!    statement, role and action.
//! 2. A user whose inline policy allows `kms:Decrypt` on one named key: COMPLIANT.
//! 3. A group whose inline policy allows `kms:*` on `*`: NON_COMPLIANT.
//! 4. A role without inline policies (attached ones only): COMPLIANT.
//! 5. Two inline policies: one allows `kms:Decrypt` on `*`, the other denies it: NON_COMPLIANT
//!    (each inline policy is judged alone).
//! 6. An inline policy with `NotAction: "iam:*"` on `*`: NON_COMPLIANT.
//! 7. An inline policy with `kms:ReEncrypt*` on `arn:aws:kms:*:*:key/*`: NON_COMPLIANT.
//! 8. A service-linked role (path `/aws-service-role/`) with `kms:*` on `*`: NOT_APPLICABLE.
//! 9. `excludeRoleByManagementAccount=true`, a role assumable only by the management account:
//!    NOT_APPLICABLE.
//! 10. `excludeRoleByManagementAccount=true`, a role also assumable by EC2: NON_COMPLIANT.
//! 11. An inline policy that does not parse (`Action` is an object): NON_COMPLIANT with the error.
//! 12. A deleted role: NOT_APPLICABLE.
//! 13. `acceptConditionKeys=kms:CallerAccount` and a restricting `kms:CallerAccount` condition:
//!     COMPLIANT.
//! 14. A conditional Deny of `kms:*` beside an Allow of `kms:Decrypt` on `*`: NON_COMPLIANT.
//! 15. An inline policy allowing `kms:Decrypt` on `*` with an unconditional Deny on
//!     `arn:aws:kms:*-1:*:key/*`: NON_COMPLIANT (us-east-2, eu-west-2, ... are still granted).
//! 16. Allow on `arn:aws:kms:us-*:*:key/*` minus an unconditional Deny on `us-east-1`:
//!     NON_COMPLIANT.
//! 17. Allow on `*` with an unconditional Deny on `arn:aws:kms:*:*:key/*`: COMPLIANT.
//! 18. Allow on `arn:aws:kms:eu-*:*:key/*` minus an unconditional Deny on `eu-central-1`:
//!     NON_COMPLIANT.
//! 19. Allow on `*` with an unconditional Deny on `arn:aws:kms:xx-*:*:key/*` (no listed region):
//!     NON_COMPLIANT.
//! 20. Allow on `arn:aws:kms:*:111122223333:key/*a*`: COMPLIANT (not all keys).

use shared::access::{IdentityDoc, KeyScope};
use shared::item::Document;
use shared::policy::{Effect, Principal, Principals};
use shared::rule::{InactiveKeys, ParamKind, ParamSpec};
use shared::support::{blocked_actions_causes, ACCEPT_CONDITION_KEYS_PARAM, BLOCKED_ACTIONS_PARAM};
use shared::{Cause, Context, Details, Resource, ResourceType, Rule, Verdict};

const EXCLUDE_MANAGEMENT_ROLES: &str = "excludeRoleByManagementAccount";

/// The rule.
pub static RULE: Rule = Rule {
    id: "iam-inline-policy-blocked-kms-actions",
    summary: "inline policies of IAM users, roles and groups must not allow blocked KMS actions on all keys",
    resource_types: &[ResourceType::IamUser, ResourceType::IamRole, ResourceType::IamGroup],
    parameters: &[
        BLOCKED_ACTIONS_PARAM,
        ACCEPT_CONDITION_KEYS_PARAM,
        ParamSpec {
            name: EXCLUDE_MANAGEMENT_ROLES,
            kind: ParamKind::Bool,
            default: "false",
            description: "NOT_APPLICABLE for roles only the organization's management account can assume",
        },
    ],
    periodic: false,
    inactive_keys: InactiveKeys::NotApplicable,
    evaluate,
};

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    let identity = match &resource.details {
        Details::Role(role) => {
            if role.identity.path.starts_with("/aws-service-role/") {
                return Verdict::not_applicable("service-linked role");
            }
            if ctx.params.flag(EXCLUDE_MANAGEMENT_ROLES) {
                let management = ctx.resolver.management_account();
                if let (Some(account), Some(trust)) = (management, &role.trust) {
                    if trusts_only(trust, &account) {
                        return Verdict::not_applicable("role is assumable only by the management account");
                    }
                }
            }
            &role.identity
        }
        Details::User(user) => &user.identity,
        Details::Group(group) => group,
        _ => return Verdict::not_applicable("not an IAM user, role or group"),
    };
    let scope = KeyScope::new(&resource.arn, &resource.account_id);
    let mut causes = Vec::new();
    for inline in &identity.inline {
        match &inline.document {
            Ok(policy) => causes.extend(blocked_actions_causes(
                IdentityDoc { name: Some(&inline.name), policy },
                Some(&resource.arn),
                &scope,
                ctx.params,
            )),
            Err(e) => causes.push(Cause::because(format!("does not parse: {e}")).in_document(Some(&inline.name))),
        }
    }
    Verdict::from_causes(causes)
}

/// Does the trust policy admit only principals of `account` (its root or its IAM principals)?
/// A trust policy that does not parse, or admits a service, everyone or another account, does not.
fn trusts_only(trust: &Document, account: &str) -> bool {
    let Ok(policy) = trust else { return false };
    let allows: Vec<_> = policy.statements.iter().filter(|s| s.effect == Effect::Allow).collect();
    !allows.is_empty()
        && allows.iter().all(|s| match &s.principals {
            Some(Principals::Only(list)) => list.iter().all(|p| {
                matches!(p, Principal::Account { .. } | Principal::Iam { .. }) && p.account() == Some(account)
            }),
            _ => false,
        })
}
