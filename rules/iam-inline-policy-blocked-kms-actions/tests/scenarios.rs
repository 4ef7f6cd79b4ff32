//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(iam_inline_policy_blocked_kms_actions::RULE, "iam-inline-policy-blocked-kms-actions");
