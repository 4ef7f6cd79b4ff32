//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(iam_customer_policy_blocked_kms_actions::RULE, "iam-customer-policy-blocked-kms-actions");
