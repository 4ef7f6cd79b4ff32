//! # iam-customer-policy-blocked-kms-actions
//!
//! - **Identifier**: `iam-customer-policy-blocked-kms-actions`
//! - **Description**: a customer managed IAM policy must not allow blocked KMS actions
//!   (by default `kms:Decrypt` and `kms:ReEncryptFrom`) on all KMS keys.
//! - **Rationale**: a principal that may decrypt with every key of the account can read every
//!   encrypted secret, whatever the key policies intend. AWS's guidance (Security Hub KMS.1)
//!   is to name the keys. This rule expands wildcards and `NotAction` against the KMS catalog,
//!   applies the policy's own unconditional Denies, and counts a grant as "on all keys" when it
//!   reaches every key id of the policy's account in some region (SPEC section 2).
//! - **Trigger**: configuration changes of `AWS::IAM::Policy` (change-triggered).
//! - **Resource types**: `AWS::IAM::Policy`.
//! - **Parameters**:
//!   - `blockedActionsPatterns` (default `kms:Decrypt,kms:ReEncryptFrom`): action patterns to flag.
//!   - `acceptConditionKeys` (default empty): an Allow with a restricting condition on one of
//!     these keys (e.g. `kms:ViaService,kms:CallerAccount`) does not count.
//!   - `excludePermissionBoundaryPolicy` (default `false`): when `true`, a policy used only as
//!     a permissions boundary (boundary uses, no attachments) is NOT_APPLICABLE.
//!
//! ## Scenarios
//! 1. A policy that allows `kms:Decrypt` on `*`: NON_COMPLIANT, naming statement and action.
//! 2. A policy that allows `kms:Decrypt` on one named key: COMPLIANT.
//! 3. `kms:*` on `arn:aws:kms:*:<own account>:key/*`: NON_COMPLIANT, via the pattern `kms:*`.
//! 4. Upper- and lower-case action names (`KMS:DECRYPT`): NON_COMPLIANT.
//! 5. Wildcards in the middle and in the prefix (`k*:De?rypt`): NON_COMPLIANT.
//! 6. `NotAction: ["s3:*"]` on `*`: NON_COMPLIANT (NotAction covers the KMS actions).
//! 7. `NotAction: ["kms:Decrypt", "kms:ReEncrypt*"]` on `*`: COMPLIANT.
//! 8. Allow on `*` with an unconditional Deny of `kms:Decrypt` on `*`: COMPLIANT.
//! 9. Allow on `*` with a Deny of `kms:*` that has a Condition: NON_COMPLIANT (a conditional Deny
//!    removes nothing).
//! 10. Allow on `*`, Deny on `key/mrk-*`: COMPLIANT. "All keys" means every key id in both the UUID
//!     and the `mrk-` form (SPEC section 2), and the multi-Region keys are denied.
//! 11. Allow on `arn:aws:kms:us-east-1:*:key/*` (one region, every account): NON_COMPLIANT.
//! 12. Allow on an alias ARN pattern (`alias/*`): COMPLIANT.
//! 13. Allow on another account's keys: COMPLIANT.
//! 14. Allow on `key/mrk-*` only: COMPLIANT.
//! 15. `NotResource` naming one key: NON_COMPLIANT (every other key is covered).
//! 16. Allow with a `kms:ViaService` condition and `acceptConditionKeys=kms:ViaService`: COMPLIANT.
//! 17. The same with `StringLikeIfExists`: NON_COMPLIANT (IfExists does not restrict).
//! 18. A Resource with a policy variable (`key/${aws:username}`): COMPLIANT.
//! 19. A non-default policy version allows `kms:*` on `*`, the default does not: COMPLIANT.
//! 20. A document that does not parse (`Effect` missing): NON_COMPLIANT with the parse error.
//! 21. A policy used only as a permissions boundary with `excludePermissionBoundaryPolicy=true`:
//!     NOT_APPLICABLE.
//! 22. A deleted policy: NOT_APPLICABLE.
//! 23. Custom `blockedActionsPatterns=kms:Encrypt`: a policy allowing `kms:Decrypt` only is COMPLIANT.
//! 24. `Statement` as a single object and `Action`/`Resource` as strings: NON_COMPLIANT.
//! 25. Allow `kms:Decrypt` on `*` with an unconditional Deny on `arn:aws:kms:*-1:*:key/*`:
//!     NON_COMPLIANT (every key in us-east-2, eu-west-2, ap-southeast-2, ... is still granted;
//!     regions are decided exactly, not sampled).
//! 26. Allow on `arn:aws:kms:us-*:*:key/*` minus an unconditional Deny on
//!     `arn:aws:kms:us-east-1:*:key/*`: NON_COMPLIANT (the other `us-` regions stay granted).
//! 27. Allow on `*` with an unconditional Deny on `arn:aws:kms:*:*:key/*`: COMPLIANT.
//! 28. Allow on `arn:aws:kms:eu-*:*:key/*` minus an unconditional Deny on `eu-central-1`:
//!     NON_COMPLIANT.
//! 29. Allow on `*` with an unconditional Deny on `arn:aws:kms:xx-*:*:key/*` (no listed region):
//!     NON_COMPLIANT (everything is still granted).
//! 30. Allow on `arn:aws:kms:*:111122223333:key/*a*`: COMPLIANT (key ids without an `a` are not
//!     reached, so not all keys).

use shared::access::IdentityDoc;
use shared::rule::{ParamKind, ParamSpec};
use shared::support::{blocked_actions_causes, ACCEPT_CONDITION_KEYS_PARAM, BLOCKED_ACTIONS_PARAM};
use shared::{Cause, Context, Details, Resource, ResourceType, Rule, Verdict};

const EXCLUDE_BOUNDARY: &str = "excludePermissionBoundaryPolicy";

/// The rule: run on configuration changes, one item an invocation.
pub static RULE: Rule = Rule::on_change(
    "iam-customer-policy-blocked-kms-actions",
    "customer managed IAM policies must not allow blocked KMS actions on all keys",
    &[ResourceType::IamPolicy],
    &[
        BLOCKED_ACTIONS_PARAM,
        ACCEPT_CONDITION_KEYS_PARAM,
        ParamSpec::new(
            EXCLUDE_BOUNDARY,
            ParamKind::Bool,
            "false",
            "NOT_APPLICABLE for policies used only as permissions boundaries",
        ),
    ],
    evaluate,
);

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    let Details::Policy(policy) = &resource.details else {
        return Verdict::not_applicable("not a customer managed policy");
    };
    let boundary_only =
        policy.permissions_boundary_usage_count.unwrap_or(0) > 0 && policy.attachment_count.unwrap_or(0) == 0;
    if ctx.params.flag(EXCLUDE_BOUNDARY) && boundary_only {
        return Verdict::not_applicable("policy is used only as a permissions boundary");
    }
    let document = match &policy.document {
        Ok(document) => document,
        Err(e) => return Verdict::from_causes(vec![Cause::unparsed(None, e)]),
    };
    Verdict::from_causes(blocked_actions_causes(
        IdentityDoc { name: None, policy: document },
        None,
        resource,
        ctx.params,
    ))
}
