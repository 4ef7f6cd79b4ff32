//! What stops a command: made typed where it happens, shown once, by [`super::main`], as
//! `error: …` with exit status 2.
//!
//! Problems with single entries of the inputs are not here: they are
//! [`InputError`](super::input::InputError)s, reported one by one, and stop the run only as a
//! count ([`Error::Inputs`]) unless `--keep-going`.

use std::path::PathBuf;

use super::reorder::Gap;
use super::set_aside::{RecordProblem, SetAsideError};
use crate::exceptions::FileError;
use crate::policy_store::StoreError;
use crate::rule::ParamError;

/// Why a command stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum Error {
    /// `--rule` names a rule this binary does not run.
    #[error("unknown rule `{id}` (rules: {known})")]
    UnknownRule {
        /// The id given.
        id: String,
        /// The ids this binary has, comma-separated.
        known: String,
    },
    /// `--param` is not `RULE.NAME=VALUE`.
    #[error("--param `{0}`: expected RULE.NAME=VALUE")]
    ParamSyntax(String),
    /// `--param` names a rule that is not being run.
    #[error("--param `{text}`: rule `{rule}` is not being run")]
    ParamRule {
        /// The option's value.
        text: String,
        /// The rule it names.
        rule: String,
    },
    /// A rule rejected its parameters.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The embedded sample's parameters do not parse (a defect of the build).
    #[error("embedded sample parameters: {0}")]
    SampleParameters(#[source] serde_json::Error),
    /// The exceptions file cannot be read: never taken as "no exceptions".
    #[error("exceptions file {}: {source}", path.display())]
    ExceptionsRead {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The exceptions file is malformed: never partly applied.
    #[error("exceptions file {}: {source}", path.display())]
    Exceptions {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: FileError,
    },
    /// `precheck` asked of a binary that has no checklist.
    #[error("precheck is offered by the kms-guardrails binary")]
    NoPrecheck,
    /// The checklist's rule does not declare exactly one parameter for a `precheck` option.
    #[error("rule `{rule}` declares {found} parameters of the kind `{option}` sets; precheck needs exactly one")]
    PrecheckParameter {
        /// The rule.
        rule: &'static str,
        /// The option.
        option: &'static str,
        /// How many parameters of that kind the rule declares.
        found: usize,
    },
    /// An input path that does not exist.
    #[error("{}: no such file or directory", .0.display())]
    NoSuchPath(PathBuf),
    /// A directory of the inputs that cannot be listed.
    #[error("{}: {source}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Input errors, each already reported on standard error.
    #[error("{count} input error(s); use --keep-going to evaluate the rest")]
    Inputs {
        /// How many.
        count: usize,
    },
    /// `precheck`'s input errors, each already reported on standard error.
    #[error("{count} input error(s)")]
    PrecheckInputs {
        /// How many.
        count: usize,
    },
    /// `precheck` found no key to check.
    #[error("no AWS::KMS::Key configuration item in the inputs")]
    NoKeys,
    /// `--output` cannot be created.
    #[error("{}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing the report (or the rule list, or the checklist) failed.
    #[error("writing the report: {0}")]
    Write(#[source] std::io::Error),
    /// A temporary file of the run (report spool, findings, set-aside users and roles) failed.
    #[error("a temporary file of the run: {0}")]
    Temporary(#[source] std::io::Error),
    /// A record read back from a temporary file of the run does not decode.
    #[error("a temporary file of the run is damaged ({what}): {source}")]
    Damaged {
        /// What the record is.
        what: &'static str,
        /// Why it does not decode.
        source: serde_json::Error,
    },
    /// The policy store could not take a policy.
    #[error("the policy store: {0}")]
    Store(#[from] StoreError),
    /// The store of users and roles set aside failed.
    #[error("the users and roles set aside: {0}")]
    SetAside(#[from] SetAsideError),
    /// A user or role set aside cannot be judged: its record does not decode.
    #[error("{file}: the user or role set aside as record {number} cannot be judged: {problem}; no report is written, as it would lack its evaluations")]
    SetAsideRecord {
        /// The input it came from.
        file: String,
        /// The record's number.
        number: usize,
        /// Why.
        problem: RecordProblem,
    },
    /// A rule panicked: its evaluation of the item is lost.
    #[error("rule `{rule}` panicked on {resource_type} `{resource_id}` of {file}: {message}; no report is written, as it would lack that evaluation")]
    RulePanicked {
        /// The rule.
        rule: &'static str,
        /// The item's resource type.
        resource_type: String,
        /// The item's resource id.
        resource_id: String,
        /// The input it came from.
        file: String,
        /// What the panic said.
        message: String,
    },
    /// A stage of the pipeline stopped (a panic outside the rules: a defect).
    #[error("the dry-run's {stage} stopped: {message}; no report is written")]
    Stopped {
        /// The stage.
        stage: &'static str,
        /// What the panic said.
        message: String,
    },
    /// A stage stopped because another one did (only reported when nothing says why).
    #[error("the dry-run's {stage} was interrupted by another stage; no report is written")]
    Interrupted {
        /// The stage.
        stage: &'static str,
    },
    /// A second read of the inputs, to judge again the users and roles a later version of one
    /// of their policies or groups made stale, did not find what the first read found.
    #[error("{file}: read again to judge the users and roles whose policies changed later in the input, it is not what it was ({problem}); no report is written")]
    Reread {
        /// The input.
        file: String,
        /// What differed.
        problem: String,
    },
    /// Entries went missing between two stages (a defect that would otherwise go unnoticed).
    #[error("entries were lost between the {between} ({gap}); no report is written")]
    Lost {
        /// The two stages.
        between: &'static str,
        /// What the reorder buffer found.
        gap: Gap,
    },
}
