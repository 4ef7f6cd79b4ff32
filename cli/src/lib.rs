//! The registry of every rule in the workspace, in SPEC order: what the all-rules binary runs,
//! and what the tests, the tooling (xtask/) and the fuzz targets iterate over.
//!
//! With the `fuzzing` feature, `fuzzing` holds the fuzz targets' bodies (fuzz/ and
//! `tests/fuzz_regressions.rs` turn it on; the dry-run binary leaves it off).

use shared::Rule;

/// Every rule.
pub static ALL: &[&Rule] = &[
    &iam_customer_policy_blocked_kms_actions::RULE,
    &iam_inline_policy_blocked_kms_actions::RULE,
    &kms_key_policy_via_service_required::RULE,
    &kms_no_wildcard_admin::RULE,
    &kms_admin_use_separation::RULE,
    &kms_key_policy_service_principal_conditions::RULE,
    &kms_key_policy_no_public_access::RULE,
    &kms_key_service_readiness::RULE,
];

#[cfg(feature = "fuzzing")]
pub mod fuzzing;
