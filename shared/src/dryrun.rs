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
    /// Check keys against what Control Tower, CloudTrail and Config need, as a checklist.
    #[command(after_help = EXIT_HELP)]
    Precheck(PrecheckArgs),
}

#[derive(Debug, clap::Args)]
struct PrecheckArgs {
    /// Services whose needs to check: controltower, cloudtrail, config (comma-separated).
    #[arg(long, value_name = "LIST", default_value = "controltower,cloudtrail,config")]
    services: String,
    /// The organization's management account id (for controltower).
    #[arg(long, value_name = "ACCOUNT_ID")]
    management_account: Option<String>,
    /// Trail ARN patterns the CloudTrail encryption context must cover (default: every trail
    /// of the key's account).
    #[arg(long = "trail", value_name = "ARN")]
    trails: Vec<String>,
    /// Key configuration items or exports holding them (.json or .json.gz, files or directories).
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,
}

/// The checklist view a binary offers as `precheck` (the readiness rule's, in the all-rules
/// binary).
#[derive(Debug, Clone, Copy)]
pub struct Precheck {
    /// The rule whose parameters the checklist takes.
    pub rule: &'static Rule,
    /// The checklist.
    pub checklist: crate::rule::Checklist,
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

/// Parameters the sample runs with unless `--param` says otherwise (`{"rule": {"name": "value"}}`):
/// the readiness rule judges only keys it is told about.
pub const SAMPLE_PARAMETERS: &str = include_str!("../data/sample-parameters.json");

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
            None => Err("precheck is offered by the kms-guardrails binary".into()),
        },
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

/// Prints every key of the inputs as a checklist. Exit 0 when every key is ready, 1 when one
/// is not, 2 on input errors.
fn run_precheck(precheck: Precheck, args: &PrecheckArgs) -> Result<Exit, String> {
    let mut raw = BTreeMap::new();
    raw.insert("services".to_owned(), args.services.clone());
    raw.insert("managementAccountId".to_owned(), args.management_account.clone().unwrap_or_default());
    raw.insert("trailArns".to_owned(), args.trails.join(","));
    let params = precheck.rule.parse_params(&raw).map_err(|e| e.to_string())?;
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for input in input_files(&args.paths)? {
        let name = input.name();
        let mut on_found = |found: export::Found| match found {
            export::Found::Item { at, item } => match Resource::from_json(&item) {
                Ok(resource) if matches!(resource.details, Details::Key(_)) => keys.push(resource),
                Ok(_) => {}
                Err(e) => errors.push(format!("{name}: {at}: {e}")),
            },
            export::Found::AwsManagedPolicy { .. } => {}
            export::Found::Error(e) => errors.push(format!("{name}: {e}")),
        };
        let result = match &input {
            Input::Sample => export::stream(SAMPLE.as_bytes(), &mut on_found).map_err(|e| e.to_string()),
            Input::File(path) => {
                open(path, None).and_then(|r| export::stream(r, &mut on_found).map_err(|e| e.to_string()))
            }
        };
        if let Err(e) = result {
            errors.push(format!("{name}: {e}"));
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    if keys.is_empty() {
        return Err("no AWS::KMS::Key configuration item in the inputs".into());
    }
    let mut out = String::new();
    let mut all_ready = true;
    for key in &keys {
        let checks = (precheck.checklist)(key, &params);
        let unmet = checks.iter().filter(|c| !c.met).count();
        all_ready &= unmet == 0;
        let verdict = match unmet {
            0 => "READY".to_owned(),
            n => format!("NOT READY: {n} of {} requirements unmet", checks.len()),
        };
        out.push_str(&format!("{} ({}) for {}: {verdict}\n", key.resource_id, key.account_id, args.services));
        for c in &checks {
            let mark = if c.met { "[x]" } else { "[ ]" };
            out.push_str(&format!("  {mark} {}\n", c.requirement));
            if let Some(fix) = &c.fix {
                for line in wrap(fix, 90) {
                    out.push_str(&format!("        {line}\n"));
                }
            }
            if let Some(example) = &c.example {
                out.push_str(&format!("        add: {example}\n"));
            }
        }
        out.push('\n');
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(|e| e.to_string())?;
    Ok(if all_ready { Exit::Clean } else { Exit::NonCompliant })
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
    config_rule_name: &'static str,
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
    let mut given = Vec::new();
    if args.paths.is_empty() {
        let sample: BTreeMap<String, BTreeMap<String, String>> =
            serde_json::from_str(SAMPLE_PARAMETERS).map_err(|e| format!("embedded sample parameters: {e}"))?;
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
    // The table and SARIF list every finding; the JSON report is copied from the spool.
    let keep_findings = format != Format::Json;
    let run =
        read_and_judge(&rules, &params, &inputs, keep_findings).map_err(|e| format!("writing the report: {e}"))?;
    let errors = run.errors;
    if !errors.is_empty() && !args.keep_going {
        return Err(format!("{} input error(s); use --keep-going to evaluate the rest", errors.len()));
    }
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::new(&mut sink);
    let written = match format {
        Format::Json => write_json(&mut out, run.spool).map_err(|e| e.to_string()),
        Format::Table => out
            .write_all(render_table(&rules, &run.counts, &run.findings, errors.len()).as_bytes())
            .map_err(|e| e.to_string()),
        Format::Sarif => {
            render_sarif(&rules, &run.findings).and_then(|s| out.write_all(s.as_bytes()).map_err(|e| e.to_string()))
        }
    };
    written.and_then(|()| out.flush().map_err(|e| e.to_string()))?;
    if !errors.is_empty() {
        eprintln!("{} input error(s) reported and skipped (--keep-going)", errors.len());
    }
    let non_compliant = run.counts.values().any(|[_, non_compliant, _]| *non_compliant > 0);
    Ok(match (non_compliant, errors.is_empty()) {
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

/// Every file below `paths`, sorted within each directory; the embedded sample without paths.
fn input_files(paths: &[PathBuf]) -> Result<Vec<Input>, String> {
    if paths.is_empty() {
        return Ok(vec![Input::Sample]);
    }
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
    Ok(files.into_iter().map(Input::File).collect())
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

/// Where items come from: a file, or the embedded sample.
#[derive(Debug, Clone)]
enum Input {
    File(PathBuf),
    Sample,
}

impl Input {
    fn name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Sample => "(embedded sample)".into(),
        }
    }
}

/// What a run produced. Memory holds only what the reports need: per-rule counts and, for the
/// table and SARIF, the NON_COMPLIANT evaluations; every evaluation is spooled, in order, to a temporary file from
/// which the JSON report is copied.
struct RunOutput {
    spool: std::fs::File,
    counts: BTreeMap<&'static str, [usize; 3]>,
    findings: Vec<Evaluation>,
    errors: Vec<InputError>,
}

/// How many decoded items may wait between the reader and the judges: the bound that keeps
/// memory flat however large the input.
const QUEUE_DEPTH: usize = 256;

/// The result of one item, by input order: its evaluations, or a mark that it waits for every
/// input to be read (a user or role whose attached policies or groups are not known yet).
enum Slot {
    Judged(Vec<Evaluation>),
    Deferred,
}

/// Receives evaluations in input order (a reorder buffer over what the judges finish out of
/// order: at most the queue depth apart) and writes them out.
struct Collector {
    keep_findings: bool,
    spool: std::io::BufWriter<std::fs::File>,
    spooled: usize,
    counts: BTreeMap<&'static str, [usize; 3]>,
    findings: Vec<Evaluation>,
    next: usize,
    pending: BTreeMap<usize, Slot>,
}

impl Collector {
    fn new(keep_findings: bool) -> std::io::Result<Collector> {
        Ok(Collector {
            keep_findings,
            spool: std::io::BufWriter::new(tempfile()?),
            spooled: 0,
            counts: BTreeMap::new(),
            findings: Vec::new(),
            next: 0,
            pending: BTreeMap::new(),
        })
    }

    /// Takes the slot of item `order`; writes every slot that is now next in line.
    fn take(&mut self, order: usize, slot: Slot) -> std::io::Result<()> {
        self.pending.insert(order, slot);
        while let Some(slot) = self.pending.remove(&self.next) {
            if let Slot::Judged(evaluations) = slot {
                for evaluation in evaluations {
                    self.write(evaluation)?;
                }
            }
            self.next += 1;
        }
        Ok(())
    }

    fn write(&mut self, evaluation: Evaluation) -> std::io::Result<()> {
        let index = match evaluation.compliance_type {
            Compliance::Compliant => 0,
            Compliance::NonCompliant => 1,
            Compliance::NotApplicable => 2,
        };
        if let Some(count) = self.counts.entry(evaluation.config_rule_name).or_default().get_mut(index) {
            *count += 1;
        }
        if self.spooled > 0 {
            self.spool.write_all(b",\n")?;
        }
        let text = serde_json::to_string_pretty(&evaluation)?;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                self.spool.write_all(b"\n")?;
            }
            self.spool.write_all(b"    ")?;
            self.spool.write_all(line.as_bytes())?;
        }
        self.spooled += 1;
        if self.keep_findings && evaluation.compliance_type == Compliance::NonCompliant {
            self.findings.push(evaluation);
        }
        Ok(())
    }
}

/// An anonymous temporary file (removed as soon as it is created; the handle keeps it).
fn tempfile() -> std::io::Result<std::fs::File> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "kms-guardrails-{}-{}.spool",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

/// Reads every input as a stream and judges each item as soon as it is decoded, on all cores
/// (one reader, one judge per core, a bounded queue between them, a reorder buffer after).
/// Users and roles are judged on arrival when every attached policy and group they name is
/// already known (or bundled); the others wait until every input has been read, so that a role
/// in one file resolves its policies from another. Memory therefore grows with the customer
/// managed policies and groups (the resolver keeps their KMS statements), with the users and
/// roles whose attachments come later in the input, and with the NON_COMPLIANT findings; not
/// with the size of the input.
fn read_and_judge(
    rules: &[&Rule],
    params: &BTreeMap<&'static str, Params>,
    inputs: &[Input],
    keep_findings: bool,
) -> std::io::Result<RunOutput> {
    let mut errors = Vec::new();
    let resolver = std::sync::RwLock::new(MemoryResolver::new());
    let mut deferred: Vec<(usize, Resource)> = Vec::new();
    let progress = progress_bar(inputs);
    let (sender, receiver) = std::sync::mpsc::sync_channel::<(usize, Resource)>(QUEUE_DEPTH);
    let receiver = std::sync::Mutex::new(receiver);
    let (results, collected) = std::sync::mpsc::channel::<(usize, Slot)>();
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut collector = Collector::new(keep_findings)?;
    let mut output = None;

    std::thread::scope(|scope| -> std::io::Result<()> {
        let collecting = scope.spawn(move || -> std::io::Result<Collector> {
            for (order, slot) in collected {
                collector.take(order, slot)?;
            }
            Ok(collector)
        });
        for _ in 0..workers {
            let (receiver, resolver, results) = (&receiver, &resolver, results.clone());
            scope.spawn(move || loop {
                let next = receiver.lock().map(|r| r.recv());
                let Ok(Ok((order, resource))) = next else { break };
                let resolver = resolver.read().unwrap_or_else(std::sync::PoisonError::into_inner);
                let evaluations = judge(rules, params, &resolver, &resource);
                // If the report writer failed, keep draining the queue so that the reader is
                // never left blocked; the writer's error is reported when it is joined.
                let _ = results.send((order, Slot::Judged(evaluations)));
            });
        }

        let mut order = 0usize;
        for input in inputs {
            let name = input.name();
            let mut on_found = |found: export::Found| match found {
                export::Found::Item { at, item } => match Resource::from_json(&item) {
                    Ok(resource) => {
                        if let Ok(mut resolver) = resolver.write() {
                            match &resource.details {
                                Details::Policy(policy) => {
                                    resolver.add_policy(resource.arn.clone(), policy.document.clone())
                                }
                                Details::Group(group) => resolver.add_group(resource.account_id.clone(), group.clone()),
                                _ => {}
                            }
                        }
                        let waits = resolver.read().map(|r| !attachments_known(&resource, &r)).unwrap_or(true);
                        if waits {
                            let _ = results.send((order, Slot::Deferred));
                            deferred.push((order, resource));
                        } else {
                            let _ = sender.send((order, resource));
                        }
                        order += 1;
                    }
                    Err(e) => errors.push(InputError { file: name.clone(), message: format!("{at}: {e}") }),
                },
                export::Found::AwsManagedPolicy { arn, document } => {
                    if let Ok(mut resolver) = resolver.write() {
                        resolver.add_policy(arn, parse_policy(&document, PolicyKind::Identity));
                    }
                }
                export::Found::Error(e) => errors.push(InputError { file: name.clone(), message: e.to_string() }),
            };
            let result = match input {
                Input::Sample => export::stream(SAMPLE.as_bytes(), &mut on_found).map_err(|e| e.to_string()),
                Input::File(path) => open(path, progress.as_ref())
                    .and_then(|reader| export::stream(reader, &mut on_found).map_err(|e| e.to_string())),
            };
            if let Err(message) = result {
                errors.push(InputError { file: name, message });
            }
        }
        drop(sender);
        drop(results);
        let mut collector = collecting.join().map_err(|_| std::io::Error::other("the report writer stopped"))??;

        // What waited for every input: judged now, after everything else, in input order.
        let resolver = resolver.read().map_err(|_| std::io::Error::other("resolver poisoned"))?;
        let chunk = deferred.len().div_ceil(workers).max(1);
        let later: Vec<Vec<Evaluation>> = std::thread::scope(|scope| {
            let handles: Vec<_> = deferred
                .chunks(chunk)
                .map(|part| {
                    let resolver = &*resolver;
                    scope.spawn(move || part.iter().flat_map(|(_, r)| judge(rules, params, resolver, r)).collect())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        for evaluation in later.into_iter().flatten() {
            collector.write(evaluation)?;
        }
        collector.spool.flush()?;
        let spool = collector.spool.into_inner().map_err(|e| e.into_error())?;
        output = Some(RunOutput { spool, counts: collector.counts, findings: collector.findings, errors: Vec::new() });
        Ok(())
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    for error in &errors {
        eprintln!("error: {error}");
    }
    let mut run = output.ok_or_else(|| std::io::Error::other("no report"))?;
    run.errors = errors;
    Ok(run)
}

/// Are the attached policies and groups a user or role names all known now (from the inputs so
/// far or the bundled AWS managed policies)? Other items need nothing else.
fn attachments_known(resource: &Resource, resolver: &MemoryResolver) -> bool {
    use crate::resolver::Resolver;
    let (identity, groups) = match &resource.details {
        Details::Role(role) => (&role.identity, &[][..]),
        Details::User(user) => (&user.identity, user.groups.as_slice()),
        _ => return true,
    };
    let attached_known = |identity: &crate::item::Identity| {
        identity
            .attached
            .iter()
            .all(|a| !matches!(resolver.managed_policy(&a.arn), Err(crate::resolver::ResolveError::NotFound(_))))
    };
    attached_known(identity)
        && groups.iter().all(|g| match resolver.group(&resource.account_id, g) {
            Ok(group) => attached_known(&group),
            Err(_) => false,
        })
}

/// Every rule whose scope includes the resource, judged, in rule order.
fn judge(
    rules: &[&Rule],
    params: &BTreeMap<&'static str, Params>,
    resolver: &MemoryResolver,
    resource: &Resource,
) -> Vec<Evaluation> {
    let Some(resource_type) = resource.resource_type else { return Vec::new() };
    let empty = Params::default();
    rules
        .iter()
        .filter(|rule| rule.resource_types.contains(&resource_type))
        .map(|rule| {
            let params = params.get(rule.id).unwrap_or(&empty);
            evaluation(rule, resource, rule.judge(resource, &Context { params, resolver }))
        })
        .collect()
}

/// A progress bar over the input bytes, on standard error when it is a terminal.
fn progress_bar(inputs: &[Input]) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let total: u64 = inputs
        .iter()
        .filter_map(|i| match i {
            Input::File(path) => std::fs::metadata(path).ok().map(|m| m.len()),
            Input::Sample => None,
        })
        .sum();
    let bar = indicatif::ProgressBar::with_draw_target(Some(total), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {eta} {msg}") {
        bar.set_style(style);
    }
    Some(bar)
}

/// Opens a file for streaming, inflating gzip (told by its magic bytes, not its name).
fn open(path: &Path, progress: Option<&indicatif::ProgressBar>) -> Result<Box<dyn Read>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let magic = std::io::BufRead::fill_buf(&mut reader).map_err(|e| e.to_string())?;
    let gzipped = magic.starts_with(&[0x1f, 0x8b]);
    let counted: Box<dyn Read> = match progress {
        Some(bar) => Box::new(bar.wrap_read(reader)),
        None => Box::new(reader),
    };
    Ok(match gzipped {
        true => Box::new(std::io::BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(counted))),
        false => counted,
    })
}

fn evaluation(rule: &Rule, resource: &Resource, verdict: Verdict) -> Evaluation {
    Evaluation {
        config_rule_name: rule.id,
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

/// `{"Evaluations": [...]}`, copied from the spool the evaluations were written to.
fn write_json(out: &mut dyn Write, mut spool: std::fs::File) -> std::io::Result<()> {
    use std::io::Seek;
    spool.rewind()?;
    let empty = spool.metadata()?.len() == 0;
    out.write_all(if empty { b"{\n  \"Evaluations\": []" } else { b"{\n  \"Evaluations\": [\n" })?;
    std::io::copy(&mut spool, out)?;
    out.write_all(if empty { b"\n}\n" } else { b"\n  ]\n}\n" })
}

/// SARIF 2.1.0: one reporting descriptor per rule, one result per NON_COMPLIANT evaluation,
/// located by the resource's ARN (a logical location: there is no source file).
fn render_sarif(rules: &[&Rule], findings: &[Evaluation]) -> Result<String, String> {
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
    let results: Vec<Value> = findings
        .iter()
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
fn render_table(
    rules: &[&Rule],
    counts: &BTreeMap<&'static str, [usize; 3]>,
    findings: &[Evaluation],
    input_errors: usize,
) -> String {
    let mut out = String::new();
    let mut totals = [0usize; 3];
    for rule in rules {
        let [compliant, non_compliant, not_applicable] = counts.get(rule.id).copied().unwrap_or_default();
        for (total, n) in totals.iter_mut().zip([compliant, non_compliant, not_applicable]) {
            *total += n;
        }
        out.push_str(&format!(
            "{}\n  {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable\n",
            rule.id
        ));
        for e in findings.iter().filter(|e| e.config_rule_name == rule.id) {
            out.push_str(&format!("  ✗ {} {}\n", e.compliance_resource_type, e.compliance_resource_id));
            for line in wrap(e.annotation.as_deref().unwrap_or_default(), 94) {
                out.push_str(&format!("      {line}\n"));
            }
        }
        out.push('\n');
    }
    let [compliant, non_compliant, not_applicable] = totals;
    out.push_str(&format!(
        "{} evaluations: {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable",
        compliant + non_compliant + not_applicable
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
