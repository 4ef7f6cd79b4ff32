//! # kms-no-wildcard-admin
//!
//! - **Identifier**: `kms-no-wildcard-admin`
//! - **Description**: no grantee of a key policy, and no identity policy on all keys, may be
//!   allowed every **admin** action and every **use** action: `kms:*`, `*`, or any set of
//!   patterns or `NotAction` that covers both classes, after unconditional Denies.
//! - **Rationale**: AWS's KMS guidance: never `kms:*`. A principal with every admin and use
//!   action can re-write the key policy, schedule deletion and decrypt; a leaked credential for
//!   it is a total loss of the key.
//! - **Trigger**: configuration changes of `AWS::KMS::Key`, `AWS::IAM::Policy`, `AWS::IAM::User`,
//!   `AWS::IAM::Role`, `AWS::IAM::Group`.
//! - **Resource types**: `AWS::KMS::Key`, `AWS::IAM::Policy`, `AWS::IAM::User`,
//!   `AWS::IAM::Role`, `AWS::IAM::Group`.
//! - **Parameters**:
//!   - `exemptPrincipals` (ARN patterns): grantees (and users/roles/groups) not judged.
//!   - `flagAccountRoot` (default `false`): judge the key's own account root too.
//!
//! "Every admin action" means the 18 admin actions of SPEC section 2; `kms:CreateGrant`, whose
//! class depends on its statement, is not required. Service principals are judged like any
//! grantee. Identity items are judged on their own documents: a managed policy's default
//! version, or a user's, role's or group's inline policies together (attached policies are
//! judged as their own items).
//!
//! The annotation names the statement granting the first admin action and, when that statement
//! lacks a use action, the statement that grants it; an Allow with `NotPrincipal` is named as
//! `everyone but <the named> (NotPrincipal)`.
//!
//! ## Scenarios
//! 1. A key policy granting a role `kms:*`: NON_COMPLIANT, naming statement, role and pattern.
//! 2. The console default key policy (root `kms:*`, admins without use, users without admin):
//!    COMPLIANT.
//! 3. The same with `flagAccountRoot=true`: NON_COMPLIANT for the root.
//! 4. A role granted every admin action and every use action by name, across two statements:
//!    NON_COMPLIANT, naming both statements.
//! 5. A role granted `kms:*` with an unconditional Deny of `kms:ScheduleKeyDeletion`: COMPLIANT.
//! 6. A role granted `kms:*` with a conditional Deny of `kms:*`: NON_COMPLIANT.
//! 7. A service principal granted `kms:*`: NON_COMPLIANT.
//! 8. An exempt role granted `kms:*`: COMPLIANT.
//! 9. A customer managed policy allowing `kms:*` on `*`: NON_COMPLIANT.
//! 10. A customer managed policy allowing `kms:*` on one named key: COMPLIANT.
//! 11. A role's inline policy with `NotAction: "s3:*"` on `*`: NON_COMPLIANT.
//! 12. A group's inline policy allowing only admin actions on `*`: COMPLIANT.
//! 13. A user's two inline policies, one with every admin action, one with every use action:
//!     NON_COMPLIANT (the user holds both), naming both policies and statements.
//! 14. `Action: "*"` to everyone (`"*"`) in a key policy: NON_COMPLIANT.
//! 15. A customer managed policy that does not parse: NON_COMPLIANT with the error.
//! 16. A role with `kms:*` attached through a managed policy only: COMPLIANT (attachments are
//!     judged as their own items).

use shared::access::{
    every_allow, identity_access_on_all_keys, key_policy_grantees, Access, IdentityDoc, KeyScope, StatementRef,
};
use shared::catalog::ActionSet;
use shared::policy::{Principal, Principals};
use shared::rule::InactiveKeys;
use shared::support::{
    grant_cause, key_and_policy, parsed_inline, GranteeFilter, EXEMPT_PRINCIPALS_PARAM, FLAG_ACCOUNT_ROOT_PARAM,
};
use shared::{Cause, Context, Details, Resource, ResourceType, Rule, Verdict};

/// The rule.
pub static RULE: Rule = Rule {
    id: "kms-no-wildcard-admin",
    summary: "no principal may be allowed every KMS admin and use action (kms:* or equivalent)",
    resource_types: &[
        ResourceType::KmsKey,
        ResourceType::IamPolicy,
        ResourceType::IamUser,
        ResourceType::IamRole,
        ResourceType::IamGroup,
    ],
    parameters: &[EXEMPT_PRINCIPALS_PARAM, FLAG_ACCOUNT_ROOT_PARAM],
    periodic: false,
    inactive_keys: InactiveKeys::NotApplicable,
    evaluate,
};

const REASON: &str = "and every other KMS admin and use action";

/// How a cause names a statement: `policy "Name" stmt "Sid"`, or `stmt #1`.
fn place(by: StatementRef<'_>) -> String {
    match by.document {
        Some(document) => format!("policy \"{document}\" stmt {}", by.statement.name),
        None => format!("stmt {}", by.statement.name),
    }
}

/// How a cause names a key-policy grantee: `NotPrincipal` grants reach everyone but the named.
fn grantee_text(grantee: &Principal, by: StatementRef<'_>) -> String {
    match (grantee, &by.statement.principals) {
        (Principal::Everyone, Some(Principals::AllExcept(named))) => {
            let named: Vec<String> = named.iter().map(ToString::to_string).collect();
            format!("everyone but {} (NotPrincipal)", named.join(", "))
        }
        _ => grantee.to_string(),
    }
}

/// A cause when `access` holds every admin and every use action. It names the statement that
/// grants the first admin action and, when that statement lacks a use action, the statement
/// granting it too (two statements together make the finding).
fn wildcard_cause(access: &Access<'_>, grantee: Option<&Principal>, holder: Option<&str>) -> Option<Cause> {
    let all_admin = access.actions().contains_all(ActionSet::admin_actions());
    let all_use = access.actions().contains_all(ActionSet::use_actions());
    if !(all_admin && all_use) {
        return None;
    }
    let first_admin = ActionSet::admin_actions().first()?;
    let admin_by = access.source(first_admin)?;
    let elsewhere = ActionSet::use_actions().minus(admin_by.statement.kms_actions).first();
    let reason = match elsewhere.and_then(|action| access.source(action)) {
        Some(use_by) => format!("and every other KMS admin action, and use actions through {}", place(use_by)),
        None => REASON.to_owned(),
    };
    let principal = match grantee {
        Some(grantee) => Some(grantee_text(grantee, admin_by)),
        None => holder.map(str::to_owned),
    };
    Some(grant_cause(admin_by, principal.as_deref(), first_admin, reason))
}

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    let filter = GranteeFilter::new(&resource.account_id, ctx.params);
    let scope = KeyScope::new(&resource.arn, &resource.account_id);
    let docs = match &resource.details {
        Details::Key(_) => {
            let (_, policy) = match key_and_policy(resource) {
                Ok(found) => found,
                Err(verdict) => return verdict,
            };
            let causes = key_policy_grantees(policy, &every_allow)
                .iter()
                .filter(|g| filter.judges(&g.grantee))
                .filter_map(|g| wildcard_cause(&g.access, Some(&g.grantee), None))
                .collect();
            return Verdict::from_causes(causes);
        }
        Details::Policy(policy) => match &policy.document {
            Ok(document) => {
                let access =
                    identity_access_on_all_keys(&[IdentityDoc { name: None, policy: document }], &scope, &every_allow);
                return Verdict::from_causes(wildcard_cause(&access, None, None).into_iter().collect());
            }
            Err(e) => return Verdict::from_causes(vec![Cause::because(format!("policy does not parse: {e}"))]),
        },
        Details::Role(role) => &role.identity.inline,
        Details::User(user) => &user.identity.inline,
        Details::Group(group) => &group.inline,
        Details::Absent => return Verdict::not_applicable("nothing recorded to evaluate"),
    };
    if filter.is_exempt(&resource.arn) {
        return Verdict::not_applicable("principal is exempt");
    }
    let (parsed, mut causes) = parsed_inline(docs);
    let access = identity_access_on_all_keys(&parsed, &scope, &every_allow);
    causes.splice(0..0, wildcard_cause(&access, None, Some(&resource.arn)));
    Verdict::from_causes(causes)
}
