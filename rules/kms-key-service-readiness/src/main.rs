//! `kms-key-service-readiness`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&kms_key_service_readiness::RULE])
}
