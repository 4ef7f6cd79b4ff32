//! The command line: subcommands, options, exit statuses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use super::error::Error;
use crate::rule::{Params, Rule};

/// The exit statuses, as `--help` documents them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing is NON_COMPLIANT.
    Clean = 0,
    /// Something is NON_COMPLIANT.
    NonCompliant = 1,
    /// A usage or input error.
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

pub(super) const EXIT_HELP: &str = "Exit status:\n  0  nothing is NON_COMPLIANT\n  1  something is NON_COMPLIANT\n  2  usage or input error (the message names the file, the item and the field)";

#[derive(Debug, Parser)]
#[command(about = "AWS Config rules for KMS keys, run offline over exported configuration items", after_help = EXIT_HELP)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run the rules over exported configuration items (or the embedded sample).
    #[command(after_help = EXIT_HELP)]
    DryRun(DryRunArgs),
    /// List the rules: ids, resource types, parameters and defaults.
    Rules,
    /// Check keys against what Control Tower, CloudTrail and Config need, as a checklist.
    #[command(after_help = EXIT_HELP)]
    Precheck(PrecheckArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct PrecheckArgs {
    /// Services whose needs to check: controltower, cloudtrail, config (comma-separated)
    /// [default: all three].
    #[arg(long, value_name = "LIST")]
    pub(super) services: Option<String>,
    /// The organization's management account id (for controltower).
    #[arg(long, value_name = "ACCOUNT_ID")]
    pub(super) management_account: Option<String>,
    /// Trail ARN patterns the CloudTrail encryption context must cover (default: every trail
    /// of the key's account).
    #[arg(long = "trail", value_name = "ARN")]
    pub(super) trails: Vec<String>,
    /// Key configuration items or exports holding them (.json or .json.gz, files or directories).
    #[arg(value_name = "PATH", required = true)]
    pub(super) paths: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(super) struct DryRunArgs {
    /// Only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    pub(super) rules: Vec<String>,
    /// A rule parameter, as RULE.NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "RULE.NAME=VALUE")]
    pub(super) params: Vec<String>,
    /// Output format: table (people), json (PutEvaluations entries), sarif (2.1.0, for
    /// code-scanning dashboards) [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub(super) format: Option<Format>,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// Report items that cannot be read, count them, and evaluate everything else.
    #[arg(long)]
    pub(super) keep_going: bool,
    /// Files or directories (read recursively): Config snapshots and history files, AWS CLI
    /// output of get-resource-config-history, batch-get-resource-config,
    /// select-resource-config and get-account-authorization-details, single items; .json or
    /// .json.gz. Without any, the embedded sample export.
    #[arg(value_name = "PATH")]
    pub(super) paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    Table,
    Json,
    Sarif,
}

/// `--param RULE.NAME=VALUE` into each rule's checked parameters.
pub(super) fn rule_params(rules: &[&Rule], given: &[String]) -> Result<BTreeMap<&'static str, Params>, Error> {
    let mut raw: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for text in given {
        let syntax = || Error::ParamSyntax(text.clone());
        let (key, value) = text.split_once('=').ok_or_else(syntax)?;
        let (rule_id, name) = key.split_once('.').ok_or_else(syntax)?;
        let rule = rules
            .iter()
            .find(|r| r.id == rule_id)
            .ok_or_else(|| Error::ParamRule { text: text.clone(), rule: rule_id.to_owned() })?;
        raw.entry(rule.id).or_default().insert(name.to_owned(), value.to_owned());
    }
    rules
        .iter()
        .map(|rule| {
            let given = raw.remove(rule.id).unwrap_or_default();
            Ok((rule.id, rule.parse_params(&given)?))
        })
        .collect()
}
