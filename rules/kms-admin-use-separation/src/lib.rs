//! # kms-admin-use-separation
//!
//! - **Identifier**: `kms-admin-use-separation`
//! - **Description**: no principal may both administer and use the same key.
//! - **Rationale**: AWS's KMS guidance separates key administrators (who change a key and who
//!   may use it) from key users (who encrypt and decrypt). A principal with both can grant
//!   itself whatever the policy withholds and then use it, so no single credential should hold
//!   both.
//! - **Trigger**: configuration changes of `AWS::KMS::Key`, `AWS::IAM::User`, `AWS::IAM::Role`,
//!   and periodic: a role's verdict depends on its attached managed policies and a user's on
//!   its groups, whose edits change no role or user item.
//! - **Resource types**: `AWS::KMS::Key`, `AWS::IAM::User`, `AWS::IAM::Role`.
//! - **Parameters**:
//!   - `exemptPrincipals` (ARN patterns): grantees (and users/roles) not judged.
//!   - `flagAccountRoot` (default `false`): judge the key's own account root too.
//!
//! Key policy: per grantee (everyone `*` included; service principals are not grantees), the
//! union of the Allows that cover it (grants to everyone count for every grantee), minus the
//! unconditional Denies that cover it. Identity: a user or role over its inline policies, its
//! attached managed policies and, for a user, its groups' policies, minus their unconditional
//! Denies, within its permissions boundary; judged per key cell (SPEC section 2): every region
//! of the partition (grouped into classes every pattern treats alike) times every key the
//! policies name and every kind of key they do not, so admin on us-east-1 keys and use on
//! eu-west-1 keys is not one key, while admin on `key/mrk-*` and use on `*` is. Service-linked
//! roles are NOT_APPLICABLE. `kms:CreateGrant`
//! counts as admin except in a statement restricting `kms:GrantIsForAWSResource` to true or
//! restricting `kms:ViaService`. A policy that cannot be resolved or parsed fails the
//! principal closed.
//!
//! ## Scenarios
//! 1. A key policy giving one role `kms:PutKeyPolicy` and `kms:Decrypt` in two statements:
//!    NON_COMPLIANT, naming the role, the use action and the admin statement.
//! 2. The console default key policy (admins and users are different roles): COMPLIANT.
//! 3. A role granted `kms:CreateGrant` (no condition) and `kms:Encrypt`: NON_COMPLIANT.
//! 4. A role granted `kms:CreateGrant` under `kms:GrantIsForAWSResource: true` and `kms:Encrypt`:
//!    COMPLIANT.
//! 5. Everyone (`*`) granted `kms:Decrypt`, a role granted `kms:DisableKey`: NON_COMPLIANT (what is
//!    granted to everyone is granted to every grantee).
//! 6. A role granted `kms:*` with an unconditional Deny of every use action to that role:
//!    COMPLIANT.
//! 7. A Deny to the role's account (root ARN) removes its use actions: COMPLIANT.
//! 8. A role granted admin and use, with `exemptPrincipals` matching it: COMPLIANT.
//! 9. The own account root with `kms:*`: COMPLIANT by default (IAM delegation).
//! 10. A role with `AdministratorAccess` attached (bundled AWS managed policy): NON_COMPLIANT.
//! 11. A role whose inline policy allows admin on all keys and whose attached customer policy
//!     allows use on all keys: NON_COMPLIANT.
//! 12. A user whose group's inline policy allows `kms:Decrypt` on all keys and whose own inline
//!     policy allows `kms:ScheduleKeyDeletion` on all keys: NON_COMPLIANT.
//! 13. A role allowed admin on one named key and use on another named key: COMPLIANT.
//! 14. A role allowed admin and use on the same named key: NON_COMPLIANT, naming the key.
//! 15. A role whose attached policy is not in the export: NON_COMPLIANT (fail closed).
//! 16. A role with admin only: COMPLIANT.
//! 17. A role allowed use on all keys with `kms:*` admin removed by an unconditional Deny in
//!     another attached policy: COMPLIANT.
//! 18. A key policy granting everyone (`*`) `kms:*`, with a Deny of `kms:*` whose `NotPrincipal`
//!     is [user/Bob, own root]: NON_COMPLIANT, naming Bob (through `*`).
//! 19. A role with admin on `arn:aws:kms:us-east-1:*:key/*` (attached policy) and use on
//!     `arn:aws:kms:eu-west-1:*:key/*` (inline): COMPLIANT (no key cell is both).
//! 20. A role with admin on `arn:aws:kms:*:111122223333:key/<id>` (attached) and use on
//!     `arn:aws:kms:eu-west-1:111122223333:key/*` (inline): NON_COMPLIANT (that key in eu-west-1).
//! 21. A role with admin on `arn:aws:kms:*:*:key/mrk-*` (attached) and use on `*` (inline):
//!     NON_COMPLIANT (every multi-Region key is both).
//! 22. A service-linked role with `kms:*`: NOT_APPLICABLE.
//! 23. A user matching `exemptPrincipals`: NOT_APPLICABLE ("principal is exempt").
//! 24. A role with `kms:*` on `*` within a permissions boundary allowing only `kms:Decrypt`:
//!     COMPLIANT (it cannot administer).
//! 25. The same within a boundary allowing `kms:*` on us-east-1 keys only: NON_COMPLIANT, on all
//!     keys in us-east-1.
//! 26. The same within a boundary allowing `*` but unconditionally denying every admin action:
//!     COMPLIANT (the boundary's Denies apply).
//! 27. A role whose permissions boundary is not in the export: NON_COMPLIANT (fail closed).

use shared::access::{
    every_allow, granted_at_most, identity_cells, key_policy_grantees, Access, IdentityDoc, KeyScope,
};
use shared::catalog::ActionSet;
use shared::rule::{InactiveKeys, Reads};
use shared::support::{
    access_cause, grantee_causes, judge_key_policy, GranteeFilter, HeldPolicies, EXEMPT_PRINCIPALS_PARAM,
    FLAG_ACCOUNT_ROOT_PARAM,
};
use shared::{Cause, Context, Details, Resource, ResourceType, Rule, Verdict};

/// The rule.
pub static RULE: Rule = Rule {
    id: "kms-admin-use-separation",
    summary: "no principal may both administer and use the same key",
    resource_types: &[ResourceType::KmsKey, ResourceType::IamUser, ResourceType::IamRole],
    parameters: &[EXEMPT_PRINCIPALS_PARAM, FLAG_ACCOUNT_ROOT_PARAM],
    reads: Reads::Attachments,
    // Periodic: every recorded role, user and key of the account in one run.
    function: shared::FunctionSize::PERIODIC,
    inactive_keys: InactiveKeys::NotApplicable,
    evaluate,
};

/// A cause when `access` holds both an admin and a use action: names the use action's grant
/// and `principal()`, and, in the reason, the admin action and its statement, after `on()`.
/// Both are called only for a cause: most cells and grantees hold no both, and formatting
/// their texts for nothing (8,212 cell texts and 20,841 grantee names on the 100 MB snapshot)
/// was 8 M of its 1.66 G instructions (callgrind, BENCHMARKS.md "Stop 38").
fn separation_cause<P: AsRef<str>>(
    access: &Access<'_>,
    principal: impl FnOnce() -> Option<P>,
    on: impl FnOnce() -> String,
) -> Option<Cause> {
    let admin = access.admin_actions().first()?;
    let use_action = access.use_actions().first()?;
    let admin_by = access.source(admin)?;
    let use_by = access.source(use_action)?;
    let admin_place = match admin_by.same(&use_by) {
        true => "same statement".to_owned(),
        false => admin_by.place(),
    };
    let principal = principal();
    access_cause(
        access,
        principal.as_ref().map(AsRef::as_ref),
        use_action,
        &format!("{}and also {admin} ({admin_place})", on()),
    )
}

/// The causes of an identity's key cells: one for the keys no policy names (the first cell
/// holding both), and one for each named key that is administered and used somewhere. None,
/// without working out the cells, when the policies allow no admin or no use action at all.
fn cell_causes(resource: &Resource, held: &HeldPolicies) -> Vec<Cause> {
    let docs = held.docs();
    if !Access::may_administer_and_use(granted_at_most(&docs)) {
        return Vec::new();
    }
    let scope = KeyScope::new(resource.arn(), resource.account_id());
    let principal = Some(resource.arn());
    let mut causes: Vec<Cause> = Vec::new();
    // Within the permissions boundary, where there is one (SPEC section 2): a cell is
    // administered and used only where both the policies and the boundary allow it.
    let boundary: Vec<IdentityDoc<'_>> = held
        .boundary
        .iter()
        .map(|(arn, policy)| IdentityDoc { name: Some(arn.as_str()), policy: policy.as_ref() })
        .collect();
    let cells = identity_cells(&docs, held.boundary.as_ref().map(|_| boundary.as_slice()), &scope, &every_allow);
    let unnamed = cells.classes.iter().find_map(|class| {
        class.unnamed.iter().find_map(|cell| {
            separation_cause(&cell.access, || principal, || format!("{} ", class.cell_text(cell, false)))
        })
    });
    causes.extend(unnamed);
    let mut judged_keys: Vec<&str> = Vec::new();
    for class in &cells.classes {
        for cell in &class.named {
            if judged_keys.contains(&cell.key_id.as_str()) {
                continue;
            }
            if let Some(cause) =
                separation_cause(&cell.access, || principal, || format!("{} ", class.cell_text(cell, true)))
            {
                judged_keys.push(&cell.key_id);
                causes.push(cause);
            }
        }
    }
    causes
}

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    let filter = GranteeFilter::new(resource.account_id(), ctx.params);
    match &resource.details {
        Details::Key(_) => judge_key_policy(resource, |policy| {
            let grantees = key_policy_grantees(policy, resource.arn(), &every_allow);
            let causes = grantee_causes(&grantees, &filter, |g| {
                if g.grantee.is_service() {
                    return None;
                }
                let (use_action, by) = g.access.first_grant(ActionSet::use_actions())?;
                let cause = separation_cause(&g.access, || Some(g.grantee.named_for(by.statement)), String::new)?;
                Some((by, use_action, cause))
            });
            Verdict::from_causes(causes)
        }),
        Details::Role(role) if role.identity.is_service_linked() => Verdict::not_applicable("service-linked role"),
        Details::Role(_) | Details::User(_) => {
            if filter.is_exempt(resource.arn()) {
                return Verdict::not_applicable("principal is exempt");
            }
            let held = HeldPolicies::gather(resource, ctx);
            let mut causes = cell_causes(resource, &held);
            causes.extend(held.unreadable);
            Verdict::from_causes(causes)
        }
        _ => Verdict::not_applicable("not a KMS key, IAM user or IAM role"),
    }
}
