//! What the workspace's tests share (feature `test-util`, for dev-dependencies only): the
//! scenario-fixture harness every rule crate and the end-to-end suite run ([`fixtures`]), and
//! builders of the configuration items and Config events tests feed the rules ([`items`]).
//!
//! Never in a rule's zip or the dry-run binary: only `[dev-dependencies]` turn it on.

pub mod fixtures;
pub mod items;
