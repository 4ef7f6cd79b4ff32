//! The kms-guardrails evaluation core, shared by every rule.
//!
//! Pure by construction: nothing here does I/O (the bundled managed policies are compiled in),
//! so a rule is a function from a decoded [`item::Resource`] and its [`rule::Params`] to a
//! [`rule::Verdict`], testable without AWS. The AWS and Lambda shell comes behind a feature in
//! a later module and calls into this one.
//!
//! - [`pattern`]: `*`/`?` wildcard patterns, parsed once;
//! - [`catalog`]: the 55 KMS actions, their access levels and use/admin classes;
//! - [`policy`]: IAM documents decoded and checked into a typed model;
//! - [`condition`]: when a condition restricts a grant;
//! - [`access`]: IAM evaluation: grants after Denies, on all keys or per grantee;
//! - [`item`]: configuration items (both dialects) and the decoded resource;
//! - [`rule`]: rule metadata, parameters, verdicts and annotations;
//! - [`resolver`]: the other resources a verdict depends on;
//! - [`event`]: the Lambda event Config sends a rule, decoded;
//! - [`export`]: export shapes (Config snapshots, CLI output, GAAD) to configuration items;
//! - `bundled` (feature `bundled-policies`): the AWS managed policies, offline;
//! - `dryrun` (feature `cli`): the dry-run command line, the one module that does I/O.

pub mod access;
#[cfg(feature = "bundled-policies")]
pub mod bundled;
pub mod catalog;
pub mod condition;
#[cfg(feature = "cli")]
pub mod dryrun;
pub mod event;
pub mod export;
pub mod item;
pub mod pattern;
pub mod policy;
pub mod resolver;
pub mod rule;
pub mod support;

pub use item::{Details, Resource, ResourceType};
pub use resolver::{MemoryResolver, Resolver};
pub use rule::{Cause, Compliance, Context, Params, Rule, Verdict};
