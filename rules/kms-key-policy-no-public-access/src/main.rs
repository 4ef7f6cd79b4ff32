//! `kms-key-policy-no-public-access`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&kms_key_policy_no_public_access::RULE])
}
