//! `iam-inline-policy-blocked-kms-actions`: the AWS Config rule's Lambda function, or, when not started by Lambda, a dry-run of
//! this rule alone over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::rule_main(&iam_inline_policy_blocked_kms_actions::RULE)
}
