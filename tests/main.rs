//! The end-to-end test binary: every rule's scenario fixtures and the managed-policy corpus,
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)] // test code: a failed step is a failed test
//! run through the same code paths the rules use.

mod aws_docs;
mod cases;
mod cfn;
mod corpus;
mod dry_run;
mod faults;
mod lambda;
mod malformed;
mod moto;
mod periodic;
mod population;
mod real_world;
mod reference;
mod rules;
mod sdk_faults;
mod template_moto;
mod template_quotas;
mod templates;
