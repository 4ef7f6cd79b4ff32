//! A rule whose evaluation panics, run as a Lambda function by the end-to-end tests: it shows
//! that the functions unwind (`panic = "unwind"` in every profile), so that the Lambda runtime
//! turns a panic into an invocation error instead of a dead process.
#![allow(clippy::panic)] // the point of this binary

use shared::rule::InactiveKeys;
use shared::{Context, Resource, ResourceType, Rule, Verdict};

static RULE: Rule = Rule {
    id: "panicking-rule",
    summary: "panics on every evaluation (test only)",
    resource_types: &[ResourceType::KmsKey],
    parameters: &[],
    periodic: false,
    inactive_keys: InactiveKeys::NotApplicable,
    evaluate,
};

fn evaluate(_: &Resource, _: &Context<'_>) -> Verdict {
    panic!("deliberate panic in a rule")
}

fn main() -> std::process::ExitCode {
    shared::runtime::run(&RULE)
}
