//! `kms-guardrails`: every rule, offline, over exported AWS Config data.

fn main() -> std::process::ExitCode {
    shared::dryrun::main(kms_guardrails::ALL)
}
