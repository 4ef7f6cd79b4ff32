//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(kms_key_policy_no_public_access::RULE, "kms-key-policy-no-public-access");
