//! Fuzz target: see `kms_guardrails::fuzzing::policy_document`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_guardrails::fuzzing::policy_document(data));
