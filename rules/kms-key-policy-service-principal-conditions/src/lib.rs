//! # kms-key-policy-service-principal-conditions
//!
//! - **Identifier**: `kms-key-policy-service-principal-conditions`
//! - **Description**: a key policy that grants a use or admin action to an AWS service
//!   principal (`cloudtrail.amazonaws.com`, `config.amazonaws.com`, ...) must limit it with a
//!   restricting confused-deputy condition.
//! - **Rationale**: a service acts for every AWS account; without `aws:SourceArn`,
//!   `aws:SourceAccount` or `aws:SourceOrgID` (or, for CloudTrail and other services that set
//!   one, `kms:EncryptionContext:aws:<service>:arn` limited to named accounts), another
//!   account's trail or recorder can make the service use this key for them (the confused
//!   deputy). AWS's CloudTrail, Config and Control Tower key policy guidance carries these
//!   conditions.
//! - **Trigger**: configuration changes of `AWS::KMS::Key`.
//! - **Resource types**: `AWS::KMS::Key`.
//! - **Parameters**: none.
//!
//! `kms:DescribeKey` (and other actions that are neither use nor admin) needs no condition.
//! Grants to everyone are the public-access rule's concern, not this one's; unconditional
//! Denies covering the service remove grants before judging.
//!
//! ## Scenarios
//! 1. `cloudtrail.amazonaws.com` granted `kms:GenerateDataKey*` with no condition:
//!    NON_COMPLIANT, naming statement, service and action.
//! 2. CloudTrail's documented statement (`kms:EncryptionContext:aws:cloudtrail:arn` with a literal
//!    account and `aws:SourceArn`): COMPLIANT.
//! 3. `kms:EncryptionContext:aws:cloudtrail:arn` with `arn:aws:cloudtrail:*:*:trail/*` only:
//!    NON_COMPLIANT (the account field is a wildcard).
//! 4. `config.amazonaws.com` granted `kms:Decrypt` and `kms:GenerateDataKey` under
//!    `aws:SourceAccount`: COMPLIANT.
//! 5. `config.amazonaws.com` under `StringLike aws:SourceAccount 1111*`: NON_COMPLIANT.
//! 6. A service granted only `kms:DescribeKey`: COMPLIANT.
//! 7. A service under `aws:SourceOrgID`: COMPLIANT.
//! 8. A service under `StringEqualsIfExists aws:SourceAccount`: NON_COMPLIANT.
//! 9. A service granted `kms:CreateGrant` without a condition: NON_COMPLIANT.
//! 10. Upper-case condition key (`AWS:SourceAccount`) and operator (`stringequals`): COMPLIANT.
//! 11. A `kms:EncryptionContext:aws:logs:arn` condition with a literal account for
//!     `logs.us-east-1.amazonaws.com`: COMPLIANT.
//! 12. A statement to a service without a condition, with an unconditional Deny of `kms:*` to
//!     that service: COMPLIANT.
//! 13. Roles only, no service principals: COMPLIANT.
//! 14. The Control Tower example policy as AWS prints it (Config statement without a condition):
//!     NON_COMPLIANT for the Config statement.
//! 15. `cloudtrail.amazonaws.com` granted `kms:GenerateDataKey*` without a condition in a
//!     statement whose `Resource` names another key: COMPLIANT (it grants nothing on this key).

use shared::access::key_policy_grantees;
use shared::condition::guards_confused_deputy;
use shared::policy::{Principals, Statement};
use shared::support::{confused_deputy_actions, grant_cause, judge_key_policy};
use shared::{Context, Resource, Rule, Verdict};

/// The rule: run on configuration changes, one item an invocation.
pub static RULE: Rule = Rule::on_key_change(
    "kms-key-policy-service-principal-conditions",
    "service principals may use or administer a key only under confused-deputy conditions",
    &[],
    evaluate,
);

const REASON: &str = "without a restricting aws:SourceArn, aws:SourceAccount or aws:SourceOrgID condition";

/// An Allow that names a service principal and has no restricting confused-deputy condition.
fn unguarded_service_grant(statement: &Statement) -> bool {
    let names_service =
        matches!(&statement.principals, Some(Principals::Only(list)) if list.iter().any(|p| p.is_service()));
    names_service && !guards_confused_deputy(&statement.conditions)
}

fn evaluate(resource: &Resource, _ctx: &Context<'_>) -> Verdict {
    judge_key_policy(resource, |policy| {
        let causes = key_policy_grantees(policy, resource.arn(), &unguarded_service_grant)
            .into_iter()
            .filter(|g| g.grantee.is_service())
            .filter_map(|g| {
                let (action, by) = g.access.first_grant(confused_deputy_actions())?;
                Some(grant_cause(by, Some(&g.grantee.to_string()), action, REASON))
            })
            .collect();
        Verdict::from_causes(causes)
    })
}
