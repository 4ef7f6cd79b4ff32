//! `kms-guardrails`: every rule, offline, over exported AWS Config data.

/// The dry-run allocates and frees a `serde_json::Value` tree per entry on every core; with the
/// system allocator, malloc and free were a third of its instructions (callgrind, 10 MB export).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shared::dryrun::main_with_precheck(
        kms_guardrails::ALL,
        shared::dryrun::Precheck {
            rule: &kms_key_service_readiness::RULE,
            checklist: kms_key_service_readiness::checklist,
        },
    )
}
