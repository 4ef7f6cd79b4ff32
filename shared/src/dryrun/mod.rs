//! The dry-run: every rule (or those named) over exported configuration items, offline.
//!
//! This is the imperative shell around the pure core: it reads files (`.json` and `.json.gz`,
//! directories recursively, shapes told by content), builds one resolver from everything it
//! read (so a role in one file resolves its attached policies from another, and AWS managed
//! policies from the bundled set), judges every item with every rule whose scope includes it,
//! and prints the verdicts as a table for people, as PutEvaluations-shaped JSON, or as SARIF.
//!
//! Where each part lives:
//!
//! - `args`: the command line (clap derive) and the exit statuses ([`Exit`], listed in
//!   `--help`): 0 when nothing is NON_COMPLIANT, 1 when something is, 2 on a usage or input
//!   error or when a rule or the run failed;
//! - `error`: why a command stops, one enum, printed here as `error: ...`;
//! - `input`: the inputs (files, directories, gzip, the embedded sample) and input errors;
//! - `pipeline`: the stages and their queues (reader, decoders, sequencer, judges, report
//!   writer), and how a failure stops them all;
//! - `queue`: the queues between the stages (crossbeam-channel, waiting without yielding);
//! - `reorder`: the reorder buffer both the sequencer and the report writer use;
//! - `set_aside`: users and roles that wait on disk for the end of the input;
//! - `versions`: several versions of one resource: the newest is judged, older ones retracted;
//! - `summary`: the summary line of what was read;
//! - `report`: what the report writer keeps, and one module per format;
//! - `precheck`: the `precheck` checklist;
//! - this module: the subcommands, end to end.
//!
//! Nothing is lost silently: an input error is reported (and with `--keep-going` counted in
//! the exit status), and a failure of a rule or of the run itself stops the run with exit
//! status 2 and no report, rather than a report with evaluations missing.

mod args;
mod error;
mod input;
mod pipeline;
mod precheck;
mod queue;
mod reorder;
mod report;
mod set_aside;
mod summary;
mod versions;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::rule::Rule;

pub use args::Exit;
use args::{rule_params, Cli, Command, DryRunArgs, Format};
use error::Error;
use input::input_files;
use pipeline::Rules;
use precheck::run_precheck;
pub use precheck::Precheck;
use report::{render_sarif, render_table, write_json, Kept};
use versions::Judged;

/// The embedded sample export: a few dozen items on which every rule both passes and fails.
pub const SAMPLE: &str = include_str!("../../data/sample-export.json");

/// Parameters the sample runs with unless `--param` says otherwise (`{"rule": {"name": "value"}}`):
/// the readiness rule judges only keys it is told about.
pub const SAMPLE_PARAMETERS: &str = include_str!("../../data/sample-parameters.json");

/// Runs the command line for these rules (the all-rules binary passes every rule; a rule's own
/// binary passes its one rule).
pub fn main(rules: &[&'static Rule]) -> ExitCode {
    run_cli(rules, None)
}

/// As [`main`], with a `precheck` checklist.
pub fn main_with_precheck(rules: &[&'static Rule], precheck: Precheck) -> ExitCode {
    run_cli(rules, Some(precheck))
}

fn run_cli(rules: &[&'static Rule], precheck: Option<Precheck>) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.use_stderr() {
                true => Exit::Error.into(),
                false => Exit::Clean.into(),
            };
        }
    };
    let result = match cli.command {
        Command::Rules => print_rules(rules).map(|()| Exit::Clean),
        Command::DryRun(args) => dry_run(rules, &args),
        Command::Precheck(args) => match precheck {
            Some(precheck) => run_precheck(precheck, &args),
            None => Err(Error::NoPrecheck),
        },
    };
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("error: {error}");
            Exit::Error.into()
        }
    }
}

fn print_rules(rules: &[&Rule]) -> Result<(), Error> {
    let mut out = String::new();
    for rule in rules {
        let types: Vec<&str> = rule.resource_types.iter().map(|t| t.as_str()).collect();
        out.push_str(&format!("{}\n  {}\n  resource types: {}\n", rule.id, rule.summary, types.join(", ")));
        for p in rule.parameters {
            let default = if p.default.is_empty() { "(none)" } else { p.default };
            out.push_str(&format!("  --param {}.{}  default: {}  {}\n", rule.id, p.name, default, p.description));
        }
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(Error::Write)
}

fn dry_run(all: &[&'static Rule], args: &DryRunArgs) -> Result<Exit, Error> {
    let rules: Vec<&Rule> = if args.rules.is_empty() {
        all.to_vec()
    } else {
        args.rules
            .iter()
            .map(|id| {
                all.iter().copied().find(|r| r.id == id).ok_or_else(|| Error::UnknownRule {
                    id: id.clone(),
                    known: all.iter().map(|r| r.id).collect::<Vec<_>>().join(", "),
                })
            })
            .collect::<Result<_, _>>()?
    };
    let mut given = Vec::new();
    if args.paths.is_empty() {
        let sample: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(SAMPLE_PARAMETERS).map_err(Error::SampleParameters)?;
        for (rule, values) in sample {
            if rules.iter().any(|r| r.id == rule) {
                given.extend(values.into_iter().map(|(name, value)| format!("{rule}.{name}={value}")));
            }
        }
    }
    given.extend(args.params.iter().cloned());
    let params = rule_params(&rules, &given)?;

    let inputs = input_files(&args.paths)?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json });
    let judged = match args.all_versions {
        true => Judged::All,
        false => Judged::Newest,
    };
    let run = pipeline::run(Rules { rules: &rules, params: &params }, &inputs, format, judged)?;
    let (errors, counts, summary) = (run.errors, run.collected.counts, run.summary);
    if !errors.is_empty() && !args.keep_going {
        return Err(Error::Inputs { count: errors.len() });
    }
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => {
            Box::new(std::fs::File::create(path).map_err(|source| Error::Output { path: path.clone(), source })?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(&mut sink);
    let written = match run.collected.kept {
        Kept::Json(spool) => write_json(&mut out, spool).map_err(Error::Write),
        Kept::Table(findings) => render_table(&mut out, &rules, &counts, &findings, &summary),
        Kept::Sarif(findings) => render_sarif(&mut out, &rules, &findings),
    };
    written.and_then(|()| out.flush().map_err(Error::Write))?;
    // The table ends with the summary line; a JSON or SARIF report is for programs, so the
    // summary goes to the people on standard error.
    if !matches!(format, Format::Table) {
        eprintln!("{summary}");
    }
    if !errors.is_empty() {
        eprintln!("{} input error(s) reported and skipped (--keep-going)", errors.len());
    }
    let non_compliant = counts.values().any(|[_, non_compliant, _]| *non_compliant > 0);
    Ok(match (non_compliant, errors.is_empty()) {
        (_, false) => Exit::Error,
        (true, true) => Exit::NonCompliant,
        (false, true) => Exit::Clean,
    })
}
