//! `kms-key-policy-via-service-required`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&kms_key_policy_via_service_required::RULE])
}
