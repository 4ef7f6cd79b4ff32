//! The rule's scenario fixtures (`cases/`) and its own binary, through shared's test kit.

shared::rule_crate_tests!(kms_key_service_readiness::RULE, "kms-key-service-readiness");
