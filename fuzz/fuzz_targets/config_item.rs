//! Fuzz target: see `kms_guardrails::fuzzing::config_item`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_guardrails::fuzzing::config_item(data));
