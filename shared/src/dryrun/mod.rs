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
mod evaluated;
mod homeward;
mod input;
mod pipeline;
mod places;
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

use crate::exceptions::{Date, Exception, Exceptions, EXPIRING_WITHIN_DAYS};
use crate::rule::{Rule, RULE_IDS};

pub use args::Exit;
use args::{rule_params, CheckArgs, Cli, Command, DryRunArgs, ExceptionsCommand, Format};
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
        Command::Exceptions(ExceptionsCommand::Check(args)) => check_exceptions(&args),
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
    let with_params = rule_params(&rules, &given)?;

    // Checked against every rule of kms-guardrails, not only those run (or this binary's): a
    // file written for the whole pack stays valid when one rule is run.
    let today = args.today.unwrap_or_else(today_utc);
    let exceptions = match &args.exceptions {
        Some(path) => Some(read_exceptions(path)?),
        None => None,
    };
    let none = Exceptions::none();
    let applied = exceptions.as_ref().map(|e| (e, today));

    let inputs = input_files(&args.paths)?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json });
    let judged = match args.all_versions {
        true => Judged::All,
        false => Judged::Newest,
    };
    let rules_run = Rules { rules: &with_params, exceptions: exceptions.as_ref().unwrap_or(&none), today };
    let run = pipeline::run(rules_run, &inputs, format, judged)?;
    let (errors, counts, summary) = (run.errors, run.collected.counts, run.summary);
    if !errors.is_empty() && !args.keep_going {
        return Err(Error::Inputs { count: errors.len() });
    }
    let mut sink = match &args.output {
        Some(path) => {
            Sink::File(std::fs::File::create(path).map_err(|source| Error::Output { path: path.clone(), source })?)
        }
        None => Sink::Stdout(std::io::stdout().lock()),
    };
    match run.collected.kept {
        // Unbuffered, with the concrete type: see `write_json`.
        Kept::Json(report) => match &mut sink {
            Sink::File(file) => write_json(file, report)?,
            Sink::Stdout(stdout) => write_json(stdout, report).and_then(|()| stdout.flush().map_err(Error::Write))?,
        },
        Kept::Table(findings) => {
            buffered(&mut sink, |out| render_table(out, &rules, &counts, &findings, &summary, applied))?
        }
        Kept::Sarif(findings) => buffered(&mut sink, |out| render_sarif(out, &rules, &findings))?,
    }
    // The table ends with the summary line; a JSON or SARIF report is for programs, so the
    // summary goes to the people on standard error.
    if !matches!(format, Format::Table) {
        eprintln!("{summary}");
        if let Some((exceptions, today)) = applied {
            let excepted: usize = counts.values().map(|c| c[3]).sum();
            eprintln!(
                "exceptions: {excepted} verdict(s) excepted; {} expired, {} expire within {EXPIRING_WITHIN_DAYS} days (as of {today})",
                exceptions.expired(today).count(),
                exceptions.expiring(today).count()
            );
        }
    }
    if !errors.is_empty() {
        eprintln!("{} input error(s) reported and skipped (--keep-going)", errors.len());
    }
    let non_compliant = counts.values().any(|[_, non_compliant, _, _]| *non_compliant > 0);
    Ok(match (non_compliant, errors.is_empty()) {
        (_, false) => Exit::Error,
        (true, true) => Exit::NonCompliant,
        (false, true) => Exit::Clean,
    })
}

/// Where the report goes: `--output`'s file, or standard output.
enum Sink {
    File(std::fs::File),
    Stdout(std::io::StdoutLock<'static>),
}

impl Sink {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Sink::File(file) => file,
            Sink::Stdout(stdout) => stdout,
        }
    }
}

/// Writes a report through a buffer with `render`, and flushes it.
fn buffered(sink: &mut Sink, render: impl FnOnce(&mut dyn Write) -> Result<(), Error>) -> Result<(), Error> {
    let mut out = std::io::BufWriter::new(sink.writer());
    render(&mut out)?;
    out.flush().map_err(Error::Write)
}

/// Today's date, UTC, from the system clock.
fn today_utc() -> Date {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Date::from_unix_seconds(seconds)
}

/// Reads and checks an exceptions file: unreadable or malformed is an error, never "no
/// exceptions" and never a file partly applied.
fn read_exceptions(path: &std::path::Path) -> Result<Exceptions, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ExceptionsRead { path: path.into(), source })?;
    let malformed = |source| Error::Exceptions { path: path.into(), source };
    let exceptions = crate::exceptions::parse(&text).map_err(malformed)?;
    exceptions.check_rules(&RULE_IDS).map_err(malformed)?;
    Ok(exceptions)
}

/// One exception on a line: `exceptions[i] rule resource [principal] until|expired DATE: reason (owner)`.
pub(crate) fn describe_exception(e: &Exception, today: Date) -> String {
    let rule = match &e.rule {
        crate::exceptions::RuleMatch::Any => "*",
        crate::exceptions::RuleMatch::Id(id) => id,
    };
    let principal = e.principal.as_ref().map(|p| format!(" principal {}", p.as_str())).unwrap_or_default();
    let when = match e.is_live(today) {
        true => format!("until {}", e.expires),
        false => format!("expired on {}", e.expires),
    };
    let owner = e.owner.as_ref().map(|o| format!(" (owner: {o})")).unwrap_or_default();
    format!("exceptions[{}] {rule} {}{principal} {when}: {}{owner}", e.index, e.resource_text, e.reason)
}

/// `exceptions check FILE`: the file valid (exit 2 otherwise), what has expired (exit 1 when
/// anything has) and what expires within 30 days.
fn check_exceptions(args: &CheckArgs) -> Result<Exit, Error> {
    let exceptions = read_exceptions(&args.file)?;
    let today = args.today.unwrap_or_else(today_utc);
    let expired: Vec<&Exception> = exceptions.expired(today).collect();
    let expiring: Vec<&Exception> = exceptions.expiring(today).collect();
    let mut out = format!(
        "{}: {} exception(s), valid; {} expired, {} expire within {EXPIRING_WITHIN_DAYS} days (as of {today})\n",
        args.file.display(),
        exceptions.entries().len(),
        expired.len(),
        expiring.len()
    );
    for (heading, list) in [("expired (they cover nothing):", &expired), ("expiring soon:", &expiring)] {
        if !list.is_empty() {
            out.push_str(heading);
            out.push('\n');
            for e in list.iter() {
                out.push_str(&format!("  {}\n", describe_exception(e, today)));
            }
        }
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(Error::Write)?;
    Ok(match expired.is_empty() {
        true => Exit::Clean,
        false => Exit::NonCompliant,
    })
}
