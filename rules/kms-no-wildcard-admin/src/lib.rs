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
//! Identity policies are judged per key cell (SPEC section 2): all keys of a region class, or
//! one named key in a region its pattern reaches; every region of the partition counts.
//! Key policies are judged per grantee class (every principal a statement names, in an Allow
//! or a Deny, any other principal of each account, anyone). Service-linked roles are
//! NOT_APPLICABLE.
//!
//! "Every admin action" means the 18 admin actions of SPEC section 2; `kms:CreateGrant`, whose
//! class depends on its statement, is not required. Service principals are judged like any
//! grantee. Identity items are judged on their own documents: a managed policy's default
//! version, or a user's, role's or group's inline policies together (attached policies are
//! judged as their own items).
//!
//! The annotation names the statement granting the first admin action and, when that statement
//! lacks a use action, the statement that grants it; a grant to everyone is named `anyone`
//! (`anyone but <the named> (NotPrincipal)` for an Allow with `NotPrincipal`), and a named
//! principal reached by it `<arn> (through `*`)`.
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
//! 10. A customer managed policy allowing `kms:*` on one named key: NON_COMPLIANT (a named key is
//!     a key cell; SPEC section 3 amended), naming the key and its region.
//! 11. A role's inline policy with `NotAction: "s3:*"` on `*`: NON_COMPLIANT.
//! 12. A group's inline policy allowing only admin actions on `*`: COMPLIANT.
//! 13. A user's two inline policies, one with every admin action, one with every use action:
//!     NON_COMPLIANT (the user holds both), naming both policies and statements.
//! 14. `Action: "*"` to everyone (`"*"`) in a key policy: NON_COMPLIANT.
//! 15. A customer managed policy that does not parse: NON_COMPLIANT with the error.
//! 16. A role with `kms:*` attached through a managed policy only: COMPLIANT (attachments are
//!     judged as their own items).
//! 17. A role's inline policy allowing `kms:*` on one named key: NON_COMPLIANT, naming the key and
//!     its region.
//! 18. A role's inline policy allowing `kms:*` on `arn:aws:kms:us-east-1:*:key/*`: NON_COMPLIANT
//!     (all keys of a region).
//! 19. A role's inline policy allowing `kms:*` on `key/mrk-*`: COMPLIANT (neither all keys of a
//!     region nor one named key).
//! 20. A group matching `exemptPrincipals`: NOT_APPLICABLE ("principal is exempt").
//! 21. A service-linked role with `kms:*`: NOT_APPLICABLE.
//! 22. A key policy granting everyone (`*`) `kms:*`, with a Deny of `kms:*` whose `NotPrincipal`
//!     is [role/Ops, own root]: COMPLIANT (a role ARN in `NotPrincipal` does not exclude the
//!     role's sessions, so the Deny covers Ops).
//! 23. The same with Ops's session `arn:aws:sts::111122223333:assumed-role/Ops/ops-session` also
//!     in `NotPrincipal`: NON_COMPLIANT, naming the session (through `*`).

use shared::access::{
    every_allow, granted_at_most, identity_cells, key_policy_grantees, Access, IdentityDoc, KeyScope,
};
use shared::catalog::ActionSet;
use shared::support::{
    grant_cause, grantee_causes, judge_key_policy, parsed_inline, GranteeFilter, EXEMPT_PRINCIPALS_PARAM,
    FLAG_ACCOUNT_ROOT_PARAM,
};
use shared::{Cause, Context, Details, Resource, ResourceType, Rule, Verdict};

/// The rule: run on configuration changes, one item an invocation.
pub static RULE: Rule = Rule::on_change(
    "kms-no-wildcard-admin",
    "no principal may be allowed every KMS admin and use action (kms:* or equivalent)",
    &[
        ResourceType::KmsKey,
        ResourceType::IamPolicy,
        ResourceType::IamUser,
        ResourceType::IamRole,
        ResourceType::IamGroup,
    ],
    &[EXEMPT_PRINCIPALS_PARAM, FLAG_ACCOUNT_ROOT_PARAM],
    evaluate,
);

const REASON: &str = "and every other KMS admin and use action";

/// A cause when `access` holds every admin and every use action. It names the statement that
/// grants the first admin action and, when that statement lacks a use action, the statement
/// granting it too (two statements together make the finding).
fn wildcard_cause(access: &Access<'_>, principal: Option<&str>, on: &str) -> Option<Cause> {
    if !access.is_wildcard_admin() {
        return None;
    }
    let first_admin = ActionSet::admin_actions().first()?;
    let admin_by = access.source(first_admin)?;
    let elsewhere = ActionSet::use_actions().minus(admin_by.statement.kms_actions).first();
    let reason = match elsewhere.and_then(|action| access.source(action)) {
        Some(use_by) => format!("and every other KMS admin action, and use actions through {}", use_by.place()),
        None => REASON.to_owned(),
    };
    Some(grant_cause(admin_by, principal, first_admin, format!("{on}{reason}")))
}

/// The cause for the first key cell of an identity's documents where they allow every admin
/// and use action: all keys of a region class, or one named key (SPEC section 3). None,
/// without working out the cells, when the documents do not allow every such action anywhere.
fn identity_cause(docs: &[IdentityDoc<'_>], resource: &Resource, holder: Option<&str>) -> Option<Cause> {
    if !Access::may_be_wildcard_admin(granted_at_most(docs)) {
        return None;
    }
    let scope = KeyScope::new(resource.arn(), resource.account_id());
    let cells = identity_cells(docs, None, &scope, &every_allow);
    let all_keys = cells.all_keys_where(Access::is_wildcard_admin).and_then(|(class, on)| {
        let on = if on == "on all keys" { String::new() } else { format!("{on} ") };
        wildcard_cause(&class.all_keys, holder, &on)
    });
    all_keys.or_else(|| {
        cells.classes.iter().find_map(|class| {
            class
                .named
                .iter()
                .find_map(|cell| wildcard_cause(&cell.access, holder, &format!("{} ", class.cell_text(cell, true))))
        })
    })
}

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    let docs = match &resource.details {
        Details::Key(_) => {
            return judge_key_policy(resource, |policy| {
                let filter = GranteeFilter::new(resource.account_id(), ctx.params);
                let grantees = key_policy_grantees(policy, resource.arn(), &every_allow);
                let causes = grantee_causes(&grantees, &filter, |g| {
                    let first_admin = ActionSet::admin_actions().first()?;
                    let by = g.access.source(first_admin)?;
                    let cause = wildcard_cause(&g.access, Some(&g.grantee.named_for(by.statement)), "")?;
                    Some((by, first_admin, cause))
                });
                Verdict::from_causes(causes)
            });
        }
        Details::Policy(policy) => match &policy.document {
            Ok(document) => {
                let docs = [IdentityDoc { name: None, policy: document }];
                return Verdict::from_causes(identity_cause(&docs, resource, None).into_iter().collect());
            }
            Err(e) => return Verdict::from_causes(vec![Cause::unparsed(None, e)]),
        },
        Details::Role(role) if role.identity.is_service_linked() => {
            return Verdict::not_applicable("service-linked role");
        }
        Details::Role(role) => &role.identity.inline,
        Details::User(user) => &user.identity.inline,
        Details::Group(group) => &group.inline,
        Details::Absent => return Verdict::not_applicable("nothing recorded to evaluate"),
    };
    if GranteeFilter::new(resource.account_id(), ctx.params).is_exempt(resource.arn()) {
        return Verdict::not_applicable("principal is exempt");
    }
    let (parsed, mut causes) = parsed_inline(docs);
    causes.splice(0..0, identity_cause(&parsed, resource, Some(resource.arn())));
    Verdict::from_causes(causes)
}
