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
//!     NOT_APPLICABLE.
//!   - `managementAccountId` (default empty): that management account. When empty, the Lambda
//!     function asks AWS Organizations (`organizations:DescribeOrganization`, its
//!     `MasterAccountId`; the function's role grants that call only when it is needed), and the
//!     dry-run stops with a usage error (exit 2) asking for
//!     `--param iam-inline-policy-blocked-kms-actions.managementAccountId=<account>`: a parameter
//!     that is set is never silently ignored.
//!
//! When the management account cannot be had (Organizations denies the call, the account is in
//! no organization, any other error), the role is not excluded, and the failure is the role's
//! first cause, not a failed invocation: a role with findings is NON_COMPLIANT with
//! `not excluded by excludeRoleByManagementAccount: the organization's management account is
//! unknown: <why>` before its findings (a scheduled run still reports every other resource, as
//! an unreadable key policy does in SPEC section 5); a role without findings is COMPLIANT,
//! which it is whether excluded or not. Only roles whose trust policy admits a single account
//! need the management account; for the others the question does not arise.
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
//! 21. `excludeRoleByManagementAccount=true`, `managementAccountId` set, a role assumable only by
//!     that account: NOT_APPLICABLE (the parameter, not the resolver, names the account).
//! 22. `excludeRoleByManagementAccount=true`, `managementAccountId` set to another account than
//!     the only one the role trusts: NON_COMPLIANT.
//! 23. `excludeRoleByManagementAccount=true`, no `managementAccountId`, and AWS Organizations
//!     could not be read: NON_COMPLIANT, the first cause saying why the role is not excluded.
//! 24. As 23, for a role without findings: COMPLIANT.

use shared::access::IdentityDoc;
use shared::arn::is_account_id;
use shared::item::{Document, Role};
use shared::policy::{Effect, Principal, Principals};
use shared::rule::{ParamKind, ParamSpec, MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS};
use shared::support::{blocked_actions_causes, ACCEPT_CONDITION_KEYS_PARAM, BLOCKED_ACTIONS_PARAM};
use shared::{Cause, Context, Details, Resource, ResourceType, Rule, Verdict};

/// The rule: run on configuration changes, one item an invocation.
pub static RULE: Rule = Rule::on_change(
    "iam-inline-policy-blocked-kms-actions",
    "inline policies of IAM users, roles and groups must not allow blocked KMS actions on all keys",
    &[ResourceType::IamUser, ResourceType::IamRole, ResourceType::IamGroup],
    &[
        BLOCKED_ACTIONS_PARAM,
        ACCEPT_CONDITION_KEYS_PARAM,
        EXCLUDE_ROLE_BY_MANAGEMENT_ACCOUNT_PARAM,
        MANAGEMENT_ACCOUNT_ID_PARAM,
    ],
    evaluate,
);

/// The declaration of `excludeRoleByManagementAccount` (SPEC section 3, inline blocked
/// actions); with it, a rule may get the management account from AWS Organizations
/// ([`MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS`]).
const EXCLUDE_ROLE_BY_MANAGEMENT_ACCOUNT_PARAM: ParamSpec = ParamSpec::new(
    MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS.when,
    ParamKind::Bool,
    "false",
    "NOT_APPLICABLE for roles only the organization's management account can assume",
);

/// The declaration of `managementAccountId` for `excludeRoleByManagementAccount`.
const MANAGEMENT_ACCOUNT_ID_PARAM: ParamSpec = ParamSpec::new(
    MANAGEMENT_ACCOUNT_FROM_ORGANIZATIONS.param,
    ParamKind::AccountId,
    "",
    "the organization's management account (empty: Lambda asks AWS Organizations; the dry-run needs it)",
);

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    // Why a role that may be excluded is not: the management account is unknown.
    let mut not_excluded = None;
    let identity = match &resource.details {
        Details::Role(role) => {
            if role.identity.is_service_linked() {
                return Verdict::not_applicable("service-linked role");
            }
            match excluded_as_management_role(role, ctx) {
                Ok(true) => return Verdict::not_applicable("role is assumable only by the management account"),
                Ok(false) => {}
                Err(why) => not_excluded = Some(Cause::because(why)),
            }
            &role.identity
        }
        Details::User(user) => &user.identity,
        Details::Group(group) => group,
        _ => return Verdict::not_applicable("not an IAM user, role or group"),
    };
    let mut causes = Vec::new();
    for inline in &identity.inline {
        match &inline.document {
            Ok(policy) => causes.extend(blocked_actions_causes(
                IdentityDoc { name: Some(&inline.name), policy },
                Some(resource.arn()),
                resource,
                ctx.params,
            )),
            Err(e) => causes.push(Cause::unparsed(Some(&inline.name), e)),
        }
    }
    if let (Some(cause), false) = (not_excluded, causes.is_empty()) {
        causes.insert(0, cause);
    }
    Verdict::from_causes(causes)
}

/// Does `excludeRoleByManagementAccount` exclude the role? Only when it is set and the one
/// account the trust policy admits is the management account (`managementAccountId`, else the
/// resolver's); `Err` saying why when that account would decide it but is unknown.
fn excluded_as_management_role(role: &Role, ctx: &Context<'_>) -> Result<bool, String> {
    if !ctx.params.flag(EXCLUDE_ROLE_BY_MANAGEMENT_ACCOUNT_PARAM.name) {
        return Ok(false);
    }
    let Some(trusted) = role.trust.as_ref().and_then(sole_trusted_account) else { return Ok(false) };
    let management = match ctx.params.text(MANAGEMENT_ACCOUNT_ID_PARAM.name) {
        Some(account) => Ok(account.to_owned()),
        None => ctx.resolver.management_account(),
    };
    match management {
        Ok(account) => Ok(account == trusted),
        Err(e) => Err(format!("not excluded by {}: {e}", EXCLUDE_ROLE_BY_MANAGEMENT_ACCOUNT_PARAM.name)),
    }
}

/// The one account whose principals (its root or its IAM principals) are all the trust policy
/// admits, if there is one. A trust policy that does not parse, allows nothing, or admits a
/// service, everyone, a federated principal or a second account has none; nor has an account
/// field that is not a 12-digit id (`*`).
fn sole_trusted_account(trust: &Document) -> Option<&str> {
    let Ok(policy) = trust else { return None };
    let mut sole = None;
    for statement in policy.statements.iter().filter(|s| s.effect == Effect::Allow) {
        let Some(Principals::Only(list)) = &statement.principals else { return None };
        for principal in list {
            let account = match principal {
                Principal::Account { .. } | Principal::Iam { .. } => principal.account()?,
                _ => return None,
            };
            if !is_account_id(account) || sole.is_some_and(|s| s != account) {
                return None;
            }
            sole = Some(account);
        }
    }
    sole
}
