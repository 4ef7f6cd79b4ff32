//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(kms_admin_use_separation::RULE, "kms-admin-use-separation");
