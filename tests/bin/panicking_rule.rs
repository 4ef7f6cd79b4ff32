//! A rule whose evaluation panics, for the end-to-end tests. Run as a Lambda function
//! (`lambda.rs`), it shows that the functions unwind (`panic = "unwind"` in every profile), so
//! that the Lambda runtime turns a panic into an invocation error instead of a dead process.
//! Run as a dry-run (`dry_run.rs`), it shows that the dry-run stops with exit status 2 and an
//! error naming what was lost, instead of reporting fewer evaluations.
#![allow(clippy::panic)] // the point of this binary

use shared::rule::{InactiveKeys, Reads};
use shared::{Context, Resource, ResourceType, Rule, Verdict};

static RULE: Rule = Rule {
    id: "panicking-rule",
    summary: "panics on every evaluation (test only)",
    resource_types: &[ResourceType::KmsKey, ResourceType::IamRole],
    parameters: &[],
    reads: Reads::Item,
    function: shared::FunctionSize::ONE_ITEM,
    inactive_keys: InactiveKeys::NotApplicable,
    evaluate,
};

fn evaluate(_: &Resource, _: &Context<'_>) -> Verdict {
    panic!("deliberate panic in a rule")
}

fn main() -> std::process::ExitCode {
    shared::rule_main(&RULE)
}
