//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(kms_no_wildcard_admin::RULE, "kms-no-wildcard-admin");
