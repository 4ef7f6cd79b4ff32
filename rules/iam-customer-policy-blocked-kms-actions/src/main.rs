//! `iam-customer-policy-blocked-kms-actions`: this rule alone, run as a dry-run over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(&[&iam_customer_policy_blocked_kms_actions::RULE])
}
