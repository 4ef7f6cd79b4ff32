//! `kms-key-policy-service-principal-conditions`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&kms_key_policy_service_principal_conditions::RULE])
}
