//! `kms-guardrails`: every rule, offline, over exported AWS Config data.

fn main() -> std::process::ExitCode {
    shared::dryrun::main_with_precheck(
        kms_guardrails::ALL,
        shared::dryrun::Precheck {
            rule: &kms_key_service_readiness::RULE,
            checklist: kms_key_service_readiness::checklist,
        },
    )
}
