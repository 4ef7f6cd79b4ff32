//! The kms-guardrails evaluation core, shared by every rule.
//!
//! Pure by construction: nothing here does I/O (the bundled managed policies are compiled in),
//! so a rule is a function from a decoded [`item::Resource`] and its [`rule::Params`] to a
//! [`rule::Verdict`], testable without AWS. The AWS and Lambda shell comes behind a feature in
//! a later module and calls into this one.
//!
//! - [`pattern`]: `*`/`?` wildcard patterns, parsed once;
//! - [`arn`]: ARNs split into their six fields, once; the 12-digit account id check;
//! - [`catalog`]: the 55 KMS actions, their access levels and use/admin classes;
//! - [`policy`]: IAM documents decoded and checked into a typed model;
//! - [`condition`]: when a condition restricts a grant;
//! - [`regions`]: every region of every AWS partition, pinned from botocore's partition data;
//! - [`access`]: IAM evaluation: grants after Denies, on all keys or per grantee;
//! - [`item`]: configuration items (both dialects) and the decoded resource;
//! - [`rule`]: rule metadata, parameters, verdicts and annotations;
//! - [`evaluation`]: a verdict on one resource, ready to report (the Lambda shell and the
//!   dry-run report the same type);
//! - [`resolver`]: the other resources a verdict depends on;
//! - [`event`]: the Lambda event Config sends a rule, decoded;
//! - [`exceptions`]: the exceptions file (reason, expiry) and what it does to a verdict;
//! - [`export`]: export shapes (Config snapshots, CLI output, GAAD) to configuration items;
//! - `bundled` (feature `bundled-policies`): the AWS managed policies, offline;
//! - `dryrun` (feature `cli`): the dry-run command line;
//! - `policy_store` (feature `cli`): the dry-run's managed policies, kept in a temporary file;
//! - `runtime` (feature `runtime`): the Lambda shell (AWS SDK, Config events, PutEvaluations);
//! - `test_kit` (feature `test-util`, dev-dependencies only): the fixture harness and item
//!   builders the tests share.
//!
//! `dryrun`, `policy_store` and `runtime` are the only modules that do I/O, each behind its
//! feature.

pub mod access;
pub mod arn;
#[cfg(feature = "bundled-policies")]
pub mod bundled;
pub mod catalog;
pub mod condition;
pub mod date;
#[cfg(feature = "cli")]
pub mod digest_map;
#[cfg(feature = "cli")]
pub mod dryrun;
pub mod evaluation;
pub mod event;
pub mod exceptions;
pub mod export;
pub mod item;
pub mod json_tree;
pub mod pattern;
pub mod policy;
#[cfg(feature = "cli")]
pub mod policy_store;
pub mod regions;
pub mod resolver;
pub mod rule;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod sorted_json;
pub mod support;
#[cfg(feature = "test-util")]
pub mod test_kit;
pub mod version;

pub use evaluation::Evaluation;
pub use item::{Details, Resource, ResourceType};
pub use resolver::{MemoryResolver, Resolver};
pub use rule::{Cause, Compliance, Context, FunctionSize, Params, Rule, Verdict};

/// A rule binary's `main`: the Lambda function when started by Lambda (the runtime API is in
/// `AWS_LAMBDA_RUNTIME_API`; feature `runtime`), otherwise a dry-run of this one rule (feature
/// `cli`). The deployment zips leave `cli` out, and with it the bundled AWS managed policies.
#[cfg(any(feature = "cli", feature = "runtime"))]
pub fn rule_main(rule: &'static Rule) -> std::process::ExitCode {
    #[cfg(feature = "runtime")]
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        return runtime::run(rule);
    }
    outside_lambda(rule)
}

#[cfg(feature = "cli")]
fn outside_lambda(rule: &'static Rule) -> std::process::ExitCode {
    dryrun::main(&[rule])
}

/// A Lambda-only build started elsewhere: a usage error (exit status 2).
#[cfg(all(feature = "runtime", not(feature = "cli")))]
fn outside_lambda(rule: &'static Rule) -> std::process::ExitCode {
    eprintln!(
        "{}: not started by Lambda (AWS_LAMBDA_RUNTIME_API is not set), and this build has no dry-run \
         (built without the `cli` feature); run `kms-guardrails dry-run --rule {}` instead",
        rule.id, rule.id
    );
    std::process::ExitCode::from(2)
}
