//! The dry-run: every rule (or those named) over exported configuration items, offline.
//!
//! This is the imperative shell around the pure core: it reads files (`.json` and `.json.gz`,
//! directories recursively, shapes told by content), builds one resolver from everything it
//! read (so a role in one file resolves its attached policies from another, and AWS managed
//! policies from the bundled set), judges every item with every rule whose scope includes it,
//! and prints the verdicts as a table for people or as PutEvaluations-shaped JSON.
//!
//! Exit status: 0 when nothing is NON_COMPLIANT, 1 when something is, 2 on a usage or input
//! error (the message names the file and, where it can, the item and the field).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::Value;

use crate::export;
use crate::item::{Details, Resource};
use crate::policy::{parse_policy, PolicyKind};
use crate::resolver::MemoryResolver;
use crate::rule::{Cause, Compliance, Context, Params, Rule, Verdict};

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

const EXIT_HELP: &str = "Exit status:\n  0  nothing is NON_COMPLIANT\n  1  something is NON_COMPLIANT\n  2  usage or input error (the message names the file, the item and the field)";

#[derive(Debug, Parser)]
#[command(about = "AWS Config rules for KMS keys, run offline over exported configuration items", after_help = EXIT_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the rules over exported configuration items (or the embedded sample).
    #[command(after_help = EXIT_HELP)]
    DryRun(DryRunArgs),
    /// List the rules: ids, resource types, parameters and defaults.
    Rules,
}

#[derive(Debug, clap::Args)]
struct DryRunArgs {
    /// Only this rule (repeatable).
    #[arg(long = "rule", value_name = "ID")]
    rules: Vec<String>,
    /// A rule parameter, as RULE.NAME=VALUE (repeatable).
    #[arg(long = "param", value_name = "RULE.NAME=VALUE")]
    params: Vec<String>,
    /// Output format: table (people), json (PutEvaluations entries), sarif (2.1.0, for
    /// code-scanning dashboards) [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Write the report here instead of standard output.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Report items that cannot be read, count them, and evaluate everything else.
    #[arg(long)]
    keep_going: bool,
    /// Files or directories (read recursively): Config snapshots and history files, AWS CLI
    /// output of get-resource-config-history, batch-get-resource-config,
    /// select-resource-config and get-account-authorization-details, single items; .json or
    /// .json.gz. Without any, the embedded sample export.
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Sarif,
}

/// The embedded sample export: a few dozen items on which every rule both passes and fails.
pub const SAMPLE: &str = include_str!("../data/sample-export.json");

/// Runs the command line for these rules (the all-rules binary passes every rule; a rule's own
/// binary passes its one rule).
pub fn main(rules: &[&'static Rule]) -> ExitCode {
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
    };
    match result {
        Ok(exit) => exit.into(),
        Err(message) => {
            eprintln!("error: {message}");
            Exit::Error.into()
        }
    }
}

fn print_rules(rules: &[&Rule]) -> Result<(), String> {
    let mut out = String::new();
    for rule in rules {
        let types: Vec<&str> = rule.resource_types.iter().map(|t| t.as_str()).collect();
        out.push_str(&format!("{}\n  {}\n  resource types: {}\n", rule.id, rule.summary, types.join(", ")));
        for p in rule.parameters {
            let default = if p.default.is_empty() { "(none)" } else { p.default };
            out.push_str(&format!("  --param {}.{}  default: {}  {}\n", rule.id, p.name, default, p.description));
        }
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(|e| e.to_string())
}

/// One input problem: which file, which item, what.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InputError {
    file: String,
    message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

/// One evaluation, as PutEvaluations takes it plus the rule name and every cause.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Evaluation {
    config_rule_name: String,
    compliance_resource_type: String,
    compliance_resource_id: String,
    compliance_type: Compliance,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotation: Option<String>,
    ordering_timestamp: String,
    causes: Vec<Cause>,
    /// Where SARIF locates the result; not part of the JSON report.
    #[serde(skip)]
    resource_arn: String,
}

fn dry_run(all: &[&'static Rule], args: &DryRunArgs) -> Result<Exit, String> {
    let rules: Vec<&Rule> = if args.rules.is_empty() {
        all.to_vec()
    } else {
        args.rules
            .iter()
            .map(|id| {
                all.iter().copied().find(|r| r.id == id).ok_or_else(|| {
                    let known: Vec<&str> = all.iter().map(|r| r.id).collect();
                    format!("unknown rule `{id}` (rules: {})", known.join(", "))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let params = rule_params(&rules, &args.params)?;

    let mut errors: Vec<InputError> = Vec::new();
    let mut documents: Vec<(String, Value)> = Vec::new();
    if args.paths.is_empty() {
        let sample = serde_json::from_str(SAMPLE).map_err(|e| format!("embedded sample: {e}"))?;
        documents.push(("(embedded sample)".into(), sample));
    }
    for file in input_files(&args.paths)? {
        match read_json(&file) {
            Ok(value) => documents.push((file.display().to_string(), value)),
            Err(message) => errors.push(InputError { file: file.display().to_string(), message }),
        }
    }

    let mut resolver = MemoryResolver::new();
    let mut resources: Vec<(String, Resource)> = Vec::new();
    for (file, document) in documents {
        let found = match export::items(document) {
            Ok(found) => found,
            Err(e) => {
                errors.push(InputError { file, message: e.to_string() });
                continue;
            }
        };
        for (arn, document) in found.aws_managed_policies {
            resolver.add_policy(arn, parse_policy(&document, PolicyKind::Identity));
        }
        for (at, item) in found.items {
            match Resource::from_json(&item) {
                Ok(resource) => {
                    match &resource.details {
                        Details::Policy(policy) => resolver.add_policy(resource.arn.clone(), policy.document.clone()),
                        Details::Group(group) => resolver.add_group(resource.account_id.clone(), group.clone()),
                        _ => {}
                    }
                    resources.push((file.clone(), resource));
                }
                Err(e) => errors.push(InputError { file: file.clone(), message: format!("{at}: {e}") }),
            }
        }
    }
    for error in &errors {
        eprintln!("error: {error}");
    }
    if !errors.is_empty() && !args.keep_going {
        return Err(format!("{} input error(s); use --keep-going to evaluate the rest", errors.len()));
    }

    let evaluations = evaluate_all(&rules, &params, &resolver, &resources);
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() { Format::Table } else { Format::Json });
    let report = match format {
        Format::Json => render_json(&evaluations)?,
        Format::Table => render_table(&rules, &evaluations, errors.len()),
        Format::Sarif => render_sarif(&rules, &evaluations)?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, report).map_err(|e| format!("{}: {e}", path.display()))?,
        None => std::io::stdout().write_all(report.as_bytes()).map_err(|e| e.to_string())?,
    }
    if !errors.is_empty() {
        eprintln!("{} input error(s) reported and skipped (--keep-going)", errors.len());
    }
    let any_non_compliant = evaluations.iter().any(|e| e.compliance_type == Compliance::NonCompliant);
    Ok(match (any_non_compliant, errors.is_empty()) {
        (_, false) => Exit::Error,
        (true, true) => Exit::NonCompliant,
        (false, true) => Exit::Clean,
    })
}

/// `--param RULE.NAME=VALUE` into each rule's checked parameters.
fn rule_params(rules: &[&Rule], given: &[String]) -> Result<BTreeMap<&'static str, Params>, String> {
    let mut raw: BTreeMap<&str, BTreeMap<String, String>> = BTreeMap::new();
    for text in given {
        let (key, value) = text.split_once('=').ok_or_else(|| format!("--param `{text}`: expected RULE.NAME=VALUE"))?;
        let (rule_id, name) =
            key.split_once('.').ok_or_else(|| format!("--param `{text}`: expected RULE.NAME=VALUE"))?;
        let rule = rules
            .iter()
            .find(|r| r.id == rule_id)
            .ok_or_else(|| format!("--param `{text}`: rule `{rule_id}` is not being run"))?;
        raw.entry(rule.id).or_default().insert(name.to_owned(), value.to_owned());
    }
    rules
        .iter()
        .map(|rule| {
            let given = raw.remove(rule.id).unwrap_or_default();
            rule.parse_params(&given).map(|p| (rule.id, p)).map_err(|e| e.to_string())
        })
        .collect()
}

/// Every file below `paths`, sorted within each directory.
fn input_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect_dir(path, &mut files)?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(files)
}

fn collect_dir(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect_dir(&entry, files)?;
        } else if entry
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".json") || n.ends_with(".json.gz"))
        {
            files.push(entry);
        }
    }
    Ok(())
}

/// Reads a file as JSON, inflating gzip (told by its magic bytes, not its name).
fn read_json(path: &Path) -> Result<Value, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes.as_slice())
            .read_to_string(&mut text)
            .map_err(|e| format!("gzip data cannot be read: {e}"))?;
        text
    } else {
        String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))
}

/// Judges every resource with every rule whose scope includes it, on all cores.
fn evaluate_all(
    rules: &[&Rule],
    params: &BTreeMap<&'static str, Params>,
    resolver: &MemoryResolver,
    resources: &[(String, Resource)],
) -> Vec<Evaluation> {
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = resources.len().div_ceil(workers).max(1);
    let judge_chunk = |part: &[(String, Resource)]| -> Vec<Evaluation> {
        let mut out = Vec::new();
        for (_, resource) in part {
            for rule in rules {
                let Some(resource_type) = resource.resource_type else { continue };
                if !rule.resource_types.contains(&resource_type) {
                    continue;
                }
                let empty = Params::default();
                let params = params.get(rule.id).unwrap_or(&empty);
                let verdict = rule.judge(resource, &Context { params, resolver });
                out.push(evaluation(rule, resource, verdict));
            }
        }
        out
    };
    std::thread::scope(|scope| {
        let handles: Vec<_> = resources.chunks(chunk).map(|part| scope.spawn(move || judge_chunk(part))).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

fn evaluation(rule: &Rule, resource: &Resource, verdict: Verdict) -> Evaluation {
    Evaluation {
        config_rule_name: rule.id.to_owned(),
        compliance_resource_type: resource.type_name.clone(),
        compliance_resource_id: resource.resource_id.clone(),
        compliance_type: verdict.compliance,
        annotation: verdict.annotation(),
        ordering_timestamp: resource.capture_time.clone().unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into()),
        causes: match verdict.compliance {
            Compliance::Compliant => Vec::new(),
            _ => verdict.causes,
        },
        resource_arn: resource.arn.clone(),
    }
}

fn render_json(evaluations: &[Evaluation]) -> Result<String, String> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Report<'a> {
        evaluations: &'a [Evaluation],
    }
    serde_json::to_string_pretty(&Report { evaluations }).map(|s| s + "\n").map_err(|e| e.to_string())
}

/// SARIF 2.1.0: one reporting descriptor per rule, one result per NON_COMPLIANT evaluation,
/// located by the resource's ARN (a logical location: there is no source file).
fn render_sarif(rules: &[&Rule], evaluations: &[Evaluation]) -> Result<String, String> {
    let descriptors: Vec<Value> = rules
        .iter()
        .map(|rule| {
            serde_json::json!({
                "id": rule.id,
                "name": rule.id,
                "shortDescription": {"text": rule.summary},
                "defaultConfiguration": {"level": "error"},
                "properties": {"resourceTypes": rule.resource_types.iter().map(|t| t.as_str()).collect::<Vec<_>>()},
            })
        })
        .collect();
    let results: Vec<Value> = evaluations
        .iter()
        .filter(|e| e.compliance_type == Compliance::NonCompliant)
        .map(|e| {
            let rule_index = rules.iter().position(|r| r.id == e.config_rule_name);
            let location =
                if e.resource_arn.is_empty() { e.compliance_resource_id.clone() } else { e.resource_arn.clone() };
            serde_json::json!({
                "ruleId": e.config_rule_name,
                "ruleIndex": rule_index,
                "level": "error",
                "message": {"text": e.annotation.clone().unwrap_or_default()},
                "locations": [{"logicalLocations": [{
                    "name": e.compliance_resource_id,
                    "fullyQualifiedName": location,
                    "kind": "resource",
                }]}],
                "properties": {"resourceType": e.compliance_resource_type, "causes": e.causes},
            })
        })
        .collect();
    let sarif = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kms-guardrails",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&sarif).map(|s| s + "\n").map_err(|e| e.to_string())
}

/// Per rule: the counts, then every non-compliant resource with its annotation, wrapped to 100
/// columns.
fn render_table(rules: &[&Rule], evaluations: &[Evaluation], input_errors: usize) -> String {
    let mut out = String::new();
    for rule in rules {
        let mine: Vec<&Evaluation> = evaluations.iter().filter(|e| e.config_rule_name == rule.id).collect();
        let count = |c: Compliance| mine.iter().filter(|e| e.compliance_type == c).count();
        out.push_str(&format!(
            "{}\n  {} compliant, {} non-compliant, {} not applicable\n",
            rule.id,
            count(Compliance::Compliant),
            count(Compliance::NonCompliant),
            count(Compliance::NotApplicable)
        ));
        for e in mine.iter().filter(|e| e.compliance_type == Compliance::NonCompliant) {
            out.push_str(&format!("  ✗ {} {}\n", e.compliance_resource_type, e.compliance_resource_id));
            for line in wrap(e.annotation.as_deref().unwrap_or_default(), 94) {
                out.push_str(&format!("      {line}\n"));
            }
        }
        out.push('\n');
    }
    let total = |c: Compliance| evaluations.iter().filter(|e| e.compliance_type == c).count();
    out.push_str(&format!(
        "{} evaluations: {} compliant, {} non-compliant, {} not applicable",
        evaluations.len(),
        total(Compliance::Compliant),
        total(Compliance::NonCompliant),
        total(Compliance::NotApplicable)
    ));
    if input_errors > 0 {
        out.push_str(&format!(", {input_errors} input errors"));
    }
    out.push('\n');
    out
}

/// Splits `text` into lines of at most `width` characters, at spaces where it can.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}
