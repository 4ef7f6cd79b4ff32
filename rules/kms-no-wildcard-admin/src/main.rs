//! `kms-no-wildcard-admin`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&kms_no_wildcard_admin::RULE])
}
