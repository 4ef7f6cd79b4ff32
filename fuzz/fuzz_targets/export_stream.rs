//! Fuzz target: see `kms_guardrails::fuzzing::export_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kms_guardrails::fuzzing::export_stream(data));
