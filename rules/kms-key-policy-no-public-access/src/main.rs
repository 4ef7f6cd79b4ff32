//! `kms-key-policy-no-public-access`: the AWS Config rule's Lambda function, or, when not started by Lambda, a dry-run of
//! this rule alone over exported configuration items.

fn main() -> std::process::ExitCode {
    shared::rule_main(&kms_key_policy_no_public_access::RULE)
}
