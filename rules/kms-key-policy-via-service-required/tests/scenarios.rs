//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(kms_key_policy_via_service_required::RULE, "kms-key-policy-via-service-required");
