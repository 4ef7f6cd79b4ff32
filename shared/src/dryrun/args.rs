//! The command line: subcommands, options, exit statuses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use super::error::Error;
use crate::exceptions::Date;
use crate::rule::{Params, Rule};

/// The exit statuses of every subcommand; `--help` lists them ([`Exit::meaning`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing is NON_COMPLIANT (`precheck`: every key is ready).
    Clean = 0,
    /// Something is NON_COMPLIANT (`precheck`: a key is not ready; `exceptions check`: an
    /// exception has expired).
    NonCompliant = 1,
    /// A usage or input error, or a rule or the run failed; the message says which.
    Error = 2,
}

impl Exit {
    /// Every status, in order.
    pub const ALL: [Exit; 3] = [Exit::Clean, Exit::NonCompliant, Exit::Error];

    /// What the status means, as `--help` says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Clean => "nothing is NON_COMPLIANT (exceptions check: the file is valid, none has expired)",
            Exit::NonCompliant => "something is NON_COMPLIANT (exceptions check: an exception has expired)",
            Exit::Error => {
                "usage or input error, or a rule or the run failed (the message names the file, the item and the field)"
            }
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// The exit statuses, for `--help`.
fn exit_help() -> String {
    Exit::ALL
        .iter()
        .fold("Exit status:".to_owned(), |help, exit| help + &format!("\n  {}  {}", *exit as u8, exit.meaning()))
}

#[derive(Debug, Parser)]
#[command(about = "AWS Config rules for KMS keys, run offline over exported configuration items", after_help = exit_help())]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run the rules over exported configuration items (or the embedded sample).
    #[command(after_help = exit_help())]
    DryRun(DryRunArgs),
    /// List the rules: ids, resource types, parameters and defaults.
    Rules,
    /// Check keys against what Control Tower, CloudTrail and Config need, as a checklist.
    #[command(after_help = exit_help())]
    Precheck(PrecheckArgs),
    /// Exceptions files (reason and expiry per exception; SPEC section 8).
    #[command(subcommand)]
    Exceptions(ExceptionsCommand),
}

#[derive(Debug, Subcommand)]
pub(super) enum ExceptionsCommand {
    /// Validate an exceptions file; list what has expired and what expires within 30 days.
    #[command(after_help = exit_help())]
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// Judge expiry as of this day (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub(super) today: Option<Date>,
    /// The exceptions file (YAML, or JSON).
    #[arg(value_name = "FILE")]
    pub(super) file: PathBuf,
}

/// `--today`: a day as YYYY-MM-DD.
fn parse_date(text: &str) -> Result<Date, String> {
    Date::parse(text).ok_or_else(|| format!("`{text}` is not a date as YYYY-MM-DD"))
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
    /// Judge every version of a resource the input holds (history files, snapshots of several
    /// days), each with its own OrderingTimestamp; by default only the newest is judged.
    #[arg(long)]
    pub(super) all_versions: bool,
    /// Apply this exceptions file (YAML or JSON): a verdict whose causes it all covers is
    /// NOT_APPLICABLE, `excepted until <date>: <reason>` (README, "Exceptions").
    #[arg(long, value_name = "FILE")]
    pub(super) exceptions: Option<PathBuf>,
    /// Judge exception expiry as of this day (YYYY-MM-DD) [default: today, UTC].
    #[arg(long, value_name = "DATE", value_parser = parse_date, requires = "exceptions")]
    pub(super) today: Option<Date>,
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

/// `--param RULE.NAME=VALUE` into each rule's checked parameters: each rule of `rules`, in
/// their order, with its own (a judge takes them together, without looking a rule up by name).
pub(super) fn rule_params<'r>(rules: &[&'r Rule], given: &[String]) -> Result<Vec<(&'r Rule, Params)>, Error> {
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
            // A rule given no `--param` runs with its defaults, as a Config rule without
            // InputParameters does.
            let given = raw.remove(rule.id).unwrap_or_default();
            let params = rule.parse_params(&given)?;
            // A value Lambda would get from AWS must be given here (`managementAccountId`).
            rule.check_offline(&params)?;
            Ok((*rule, params))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--help` lists every exit status, by its code, as the enum documents it.
    #[test]
    fn help_lists_every_exit_status() {
        let help = exit_help();
        for (code, exit) in Exit::ALL.iter().enumerate() {
            assert_eq!(*exit as usize, code);
            assert!(help.contains(&format!("\n  {code}  {}", exit.meaning())), "{help}");
        }
        let cli = <Cli as clap::CommandFactory>::command();
        for command in ["dry-run", "precheck"] {
            let sub = cli.find_subcommand(command).unwrap();
            assert_eq!(sub.get_after_help().map(ToString::to_string), Some(help.clone()), "{command}");
        }
        let check = cli.find_subcommand("exceptions").unwrap().find_subcommand("check").unwrap();
        assert_eq!(check.get_after_help().map(ToString::to_string), Some(help.clone()), "exceptions check");
    }
}
