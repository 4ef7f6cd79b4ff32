//! The end-to-end test binary: every rule's scenario fixtures and the managed-policy corpus,
//! run through the same code paths the rules use.

mod cases;
mod corpus;
mod rules;
