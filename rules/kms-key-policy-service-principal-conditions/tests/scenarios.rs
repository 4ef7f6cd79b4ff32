//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(
    kms_key_policy_service_principal_conditions::RULE,
    "kms-key-policy-service-principal-conditions"
);
