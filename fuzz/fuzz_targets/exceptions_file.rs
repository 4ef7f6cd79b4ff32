//! Fuzz target: see `kms_guardrails::fuzzing::exceptions_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_guardrails::fuzzing::exceptions_file(data));
