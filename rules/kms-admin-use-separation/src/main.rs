//! `kms-admin-use-separation`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&kms_admin_use_separation::RULE])
}
