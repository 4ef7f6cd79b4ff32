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
use crate::policy_store::{PolicyRecord, PolicyStore, StorePart};
use crate::resolver::{MemoryResolver, Resolver};
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
        Format::Table => render_table(&mut out, &rules, &run.counts, &run.findings, errors.len()),
        Format::Sarif => render_sarif(&mut out, &rules, &run.findings),
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
            let params = rule.parse_params(&given).and_then(|p| rule.check_offline(&p).map(|()| p));
            params.map(|p| (rule.id, p)).map_err(|e| e.to_string())
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
    findings: Findings,
    errors: Vec<InputError>,
}

/// Entries travel between the stages in batches of this many: one hand-over, and at most one
/// thread wake-up, a batch rather than an entry. Handing over single entries cost a futex call
/// and often a context switch each (3.5 futex calls an item on 100 MB, `strace -c -f`).
const BATCH: usize = 32;

/// How many batches may wait in each queue between the reader and the judges: 256 entries, the
/// bound that keeps memory flat however large the input.
const QUEUE_DEPTH: usize = 8;

/// The result of one item, by input order: its evaluations, or a mark that it waits for every
/// input to be read (a user or role whose attached policies or groups are not known yet).
enum Slot {
    Judged(Vec<Evaluation>),
    Deferred,
    /// Not an item (an AWS managed policy, an entry in error).
    Nothing,
}

/// Receives evaluations in input order (a reorder buffer over what the judges finish out of
/// order: at most the queue depth apart) and writes them out.
struct Collector {
    spool: std::io::BufWriter<std::fs::File>,
    spooled: usize,
    counts: BTreeMap<&'static str, [usize; 3]>,
    findings: Option<std::io::BufWriter<std::fs::File>>,
    next: usize,
    pending: BTreeMap<usize, Slot>,
}

impl Collector {
    fn new(keep_findings: bool) -> std::io::Result<Collector> {
        Ok(Collector {
            spool: std::io::BufWriter::new(tempfile()?),
            spooled: 0,
            counts: BTreeMap::new(),
            findings: if keep_findings { Some(std::io::BufWriter::new(tempfile()?)) } else { None },
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
        if let (Some(findings), Compliance::NonCompliant) = (&mut self.findings, evaluation.compliance_type) {
            serde_json::to_writer(&mut *findings, &Finding::of(&evaluation))?;
            findings.write_all(b"\n")?;
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

/// Reads every input as a stream and judges each item, on all cores, in four stages joined by
/// bounded queues:
///
/// 1. the reader (this thread) only splits each input into its list entries
///    ([`export::stream_raw`]): the one serial stage does the least work;
/// 2. decoders (one per core) parse each entry and convert it to a [`Resource`];
/// 3. the sequencer takes the decoded entries back in input order: it adds policies and groups
///    to the resolver and decides, for each user and role, whether everything it attaches is
///    known yet. If so, the user or role goes to a judge with the part of the resolver it needs
///    (index entries into the policy store, read when a rule asks). If not, its entry is set
///    aside in a temporary file, so that a role in one file resolves its policies from another;
/// 4. judges (one per core) run the rules; a collector writes the evaluations in input order.
///
/// What was set aside is judged last, in input order, once every input has been read.
///
/// Memory therefore holds the policy store's index (an entry per managed policy; the policies'
/// KMS statements are in a temporary file, see [`crate::policy_store`]), a bounded cache of
/// policies, the groups, and what is in flight; neither the input, nor the users and roles that
/// wait, nor the JSON report.
fn read_and_judge(
    rules: &[&Rule],
    params: &BTreeMap<&'static str, Params>,
    inputs: &[Input],
    keep_findings: bool,
) -> std::io::Result<RunOutput> {
    use std::sync::mpsc::{channel, sync_channel};
    use std::sync::Mutex;

    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let progress = progress_bar(inputs);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let (to_decode, decode_queue) = sync_channel::<Vec<(usize, usize, export::RawEntry)>>(QUEUE_DEPTH);
    let decode_queue = Mutex::new(decode_queue);
    let (to_sequence, sequence_queue) = sync_channel::<Vec<(usize, Decoded)>>(QUEUE_DEPTH);
    let (to_judge, judge_queue) = sync_channel::<Vec<(usize, Resource, StorePart)>>(QUEUE_DEPTH);
    let judge_queue = Mutex::new(judge_queue);
    let (to_collect, collect_queue) = channel::<Vec<(usize, Slot)>>();
    let mut collector = Collector::new(keep_findings)?;
    let mut read_errors = Vec::new();

    let (collector, sequenced) = std::thread::scope(|scope| -> std::io::Result<(Collector, Sequenced)> {
        let collecting = scope.spawn(move || -> std::io::Result<Collector> {
            for batch in collect_queue {
                for (order, slot) in batch {
                    collector.take(order, slot)?;
                }
            }
            Ok(collector)
        });
        for _ in 0..workers {
            let (queue, to_sequence, names) = (&decode_queue, to_sequence.clone(), &names);
            scope.spawn(move || loop {
                let next = queue.lock().map(|q| q.recv());
                let Ok(Ok(batch)) = next else { break };
                let decoded = batch
                    .into_iter()
                    .map(|(order, input, entry)| {
                        let name = names.get(input).map(String::as_str).unwrap_or_default();
                        (order, decode(name, input, entry))
                    })
                    .collect();
                if to_sequence.send(decoded).is_err() {
                    break;
                }
            });
        }
        drop(to_sequence);
        for _ in 0..workers {
            let (queue, to_collect) = (&judge_queue, to_collect.clone());
            scope.spawn(move || loop {
                let next = queue.lock().map(|q| q.recv());
                let Ok(Ok(batch)) = next else { break };
                let judged = batch
                    .into_iter()
                    .map(|(order, resource, resolver)| {
                        (order, Slot::Judged(judge(rules, params, &resolver, &resource)))
                    })
                    .collect();
                // If the report writer failed, keep draining the queue so that nothing upstream
                // is left blocked; the writer's error is reported when it is joined.
                let _ = to_collect.send(judged);
            });
        }
        let to_collect_sequencer = to_collect.clone();
        drop(to_collect);
        let sequencing = scope.spawn(move || sequence(sequence_queue, to_judge, to_collect_sequencer));
        // The bundled AWS managed policies load on first use: in the sequencer, the one serial
        // stage, at its first role. Load them beside the reader instead.
        scope.spawn(crate::bundled::len);

        let mut order = 0usize;
        let mut batch = Vec::with_capacity(BATCH);
        for (index, input) in inputs.iter().enumerate() {
            let mut on_entry = |entry: export::RawEntry| {
                batch.push((order, index, entry));
                order += 1;
                if batch.len() == BATCH {
                    // A closed queue means a later stage failed; its error is reported when joined.
                    let _ = to_decode.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
                }
            };
            let result = match input {
                Input::Sample => export::stream_raw(SAMPLE.as_bytes(), &mut on_entry).map_err(|e| e.to_string()),
                Input::File(path) => open(path, progress.as_ref())
                    .and_then(|reader| export::stream_raw(reader, &mut on_entry).map_err(|e| e.to_string())),
            };
            if let Err(message) = result {
                read_errors.push((index, InputError { file: input.name(), message }));
            }
        }
        if !batch.is_empty() {
            let _ = to_decode.send(batch);
        }
        drop(to_decode);
        let sequenced = sequencing.join().map_err(|_| std::io::Error::other("the sequencer stopped"))??;
        let collector = collecting.join().map_err(|_| std::io::Error::other("the report writer stopped"))??;
        Ok((collector, sequenced))
    })?;
    let mut collector = collector;
    judge_set_aside(rules, params, &sequenced, workers, &names, &mut collector)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    // In input order; in each input, its entries' errors, then what stopped reading it.
    let mut errors = sequenced.errors;
    errors.extend(read_errors);
    errors.sort_by_key(|(input, _)| *input);
    let errors: Vec<InputError> = errors.into_iter().map(|(_, error)| error).collect();
    for error in &errors {
        eprintln!("error: {error}");
    }
    collector.spool.flush()?;
    let spool = collector.spool.into_inner().map_err(|e| e.into_error())?;
    let findings = Findings::from(collector.findings)?;
    Ok(RunOutput { spool, counts: collector.counts, findings, errors })
}

/// One entry, decoded: what a decoder hands the sequencer.
enum Decoded {
    /// A configuration item and, for a customer managed policy, its record for the policy
    /// store. `entry`, the entry it came from, is kept only for a user or role that could not
    /// be set aside decoded ([`Resource::can_be_stored`]): it is set aside as that entry if it
    /// must wait.
    Item { resource: Box<Resource>, input: usize, entry: Option<export::RawEntry>, record: Option<PolicyRecord> },
    /// An AWS managed policy from GAAD input: resolves attachments only.
    AwsManagedPolicy { arn: String, record: PolicyRecord },
    /// An entry of input number `.0` that cannot be used.
    Error(usize, InputError),
    /// An entry that holds nothing to judge (a GAAD policy with no default version).
    Nothing,
}

/// Parses and converts one entry of input number `input`, named `name`. Managed policies also
/// get their policy store record here, on every core, so that the sequencer only appends it.
fn decode(name: &str, input: usize, entry: export::RawEntry) -> Decoded {
    let error = |message: String| Decoded::Error(input, InputError { file: name.to_owned(), message });
    match entry.decode() {
        None => Decoded::Nothing,
        Some(export::Found::Item { at, item }) => match Resource::from_owned(item) {
            Ok(resource) => {
                let record = match &resource.details {
                    Details::Policy(policy) => match PolicyRecord::of(&policy.document) {
                        Ok(record) => Some(record),
                        Err(e) => return error(format!("{at}: {e}")),
                    },
                    _ => None,
                };
                let may_wait = matches!(resource.details, Details::Role(_) | Details::User(_));
                let entry = (may_wait && !resource.can_be_stored()).then_some(entry);
                Decoded::Item { resource: Box::new(resource), input, entry, record }
            }
            Err(e) => error(format!("{at}: {e}")),
        },
        Some(export::Found::AwsManagedPolicy { arn, document }) => {
            match PolicyRecord::of(&parse_policy(&document, PolicyKind::Identity)) {
                Ok(record) => Decoded::AwsManagedPolicy { arn, record },
                Err(e) => error(format!("AWS managed policy `{arn}`: {e}")),
            }
        }
        Some(export::Found::Error(e)) => error(e.to_string()),
    }
}

/// What the sequencer leaves for the end: the full policy store, the entries set aside, the
/// entry errors in input order.
struct Sequenced {
    store: PolicyStore,
    set_aside: SetAside,
    /// With the number of the input each is in.
    errors: Vec<(usize, InputError)>,
}

/// Takes decoded entries in input order (a reorder buffer over what the decoders finish out of
/// order), fills the policy store, and sends each item to a judge or sets it aside.
fn sequence(
    decoded: std::sync::mpsc::Receiver<Vec<(usize, Decoded)>>,
    to_judge: std::sync::mpsc::SyncSender<Vec<(usize, Resource, StorePart)>>,
    to_collect: std::sync::mpsc::Sender<Vec<(usize, Slot)>>,
) -> std::io::Result<Sequenced> {
    let mut store = PolicyStore::new(tempfile()?);
    let mut set_aside = SetAside::new()?;
    let mut errors = Vec::new();
    let mut pending = BTreeMap::new();
    let mut next = 0usize;
    for batch in decoded {
        pending.extend(batch);
        let mut judging = Vec::new();
        let mut slots = Vec::new();
        while let Some(entry) = pending.remove(&next) {
            let slot = match entry {
                Decoded::Item { resource, input, entry, record } => {
                    match (&resource.details, record) {
                        (Details::Policy(_), Some(record)) => {
                            store.add_policy(&resource.arn, record).map_err(std::io::Error::other)?
                        }
                        (Details::Group(group), _) => store.add_group(resource.account_id.clone(), group.clone()),
                        _ => {}
                    }
                    match resolver_part(&resource, &store) {
                        Some(part) => {
                            judging.push((next, *resource, part));
                            if judging.len() == BATCH {
                                // A closed queue means the judges stopped; the run's error says why.
                                let _ = to_judge.send(std::mem::take(&mut judging));
                            }
                            None
                        }
                        None => {
                            set_aside.put(input, &resource, entry.as_ref())?;
                            Some(Slot::Deferred)
                        }
                    }
                }
                Decoded::AwsManagedPolicy { arn, record } => {
                    store.add_policy(&arn, record).map_err(std::io::Error::other)?;
                    Some(Slot::Nothing)
                }
                Decoded::Error(input, error) => {
                    errors.push((input, error));
                    Some(Slot::Nothing)
                }
                Decoded::Nothing => Some(Slot::Nothing),
            };
            if let Some(slot) = slot {
                slots.push((next, slot));
            }
            next += 1;
        }
        if !judging.is_empty() {
            let _ = to_judge.send(judging);
        }
        if !slots.is_empty() {
            let _ = to_collect.send(slots);
        }
    }
    set_aside.file.flush()?;
    Ok(Sequenced { store, set_aside, errors })
}

/// The part of the policy store that judging `resource` needs, when everything it attaches is
/// known now (from the inputs so far or the bundled AWS managed policies); `None` when a user or
/// role must wait for the rest of the inputs.
fn resolver_part(resource: &Resource, resolver: &PolicyStore) -> Option<StorePart> {
    let (identity, groups) = match &resource.details {
        Details::Role(role) => (&role.identity, &[][..]),
        Details::User(user) => (&user.identity, user.groups.as_slice()),
        _ => return Some(resolver.part(&resource.account_id, [], [])),
    };
    let known = |identity: &crate::item::Identity| {
        identity.managed_policy_arns().all(|arn| resolver.knows_policy(arn) || is_bundled(arn))
    };
    let groups_known = groups.iter().all(|g| resolver.group(&resource.account_id, g).is_ok_and(|group| known(&group)));
    (known(identity) && groups_known)
        .then(|| resolver.part(&resource.account_id, identity.managed_policy_arns(), groups.iter().map(String::as_str)))
}

/// Is `arn` one of the bundled AWS managed policies?
fn is_bundled(arn: &str) -> bool {
    !matches!(MemoryResolver::new().managed_policy(arn), Err(crate::resolver::ResolveError::NotFound(_)))
}

/// Users and roles that wait for every input, set aside in an anonymous temporary file (so
/// they take no memory), in input order: decoded, in serde's JSON form of [`Resource`], so
/// that they are not decoded twice; or, when a document of theirs did not parse (its error is
/// not written, see [`Resource::can_be_stored`]), as the entry they came from.
struct SetAside {
    file: std::io::BufWriter<std::fs::File>,
    count: usize,
}

/// The first byte of a set-aside record.
const SET_ASIDE_ENTRY: u8 = 0;
const SET_ASIDE_RESOURCE: u8 = 1;

/// One user or role read back from the set-aside file.
enum Waiting {
    /// Its entry, from input number `.0`, to decode again.
    Entry(usize, export::RawEntry),
    /// Decoded.
    Decoded(Box<Resource>),
}

impl SetAside {
    fn new() -> std::io::Result<SetAside> {
        Ok(SetAside { file: std::io::BufWriter::new(tempfile()?), count: 0 })
    }

    /// Appends one user or role: `SET_ASIDE_RESOURCE`, length, the resource's JSON; or, when it
    /// cannot be stored decoded, `SET_ASIDE_ENTRY`, input, kind, index, length, and the JSON of
    /// `entry`, which [`decode`] kept for exactly that case.
    fn put(&mut self, input: usize, resource: &Resource, entry: Option<&export::RawEntry>) -> std::io::Result<()> {
        self.count += 1;
        if resource.can_be_stored() {
            let json = serde_json::to_vec(resource)?;
            self.file.write_all(&[SET_ASIDE_RESOURCE])?;
            self.file.write_all(&(json.len() as u64).to_le_bytes())?;
            return self.file.write_all(&json);
        }
        let entry = entry.ok_or_else(|| {
            std::io::Error::other(format!("{} came without its entry and cannot be set aside", resource.resource_id))
        })?;
        let (tag, index) = entry.to_parts();
        let json = entry.json().as_bytes();
        self.file.write_all(&[SET_ASIDE_ENTRY])?;
        self.file.write_all(&(input as u64).to_le_bytes())?;
        self.file.write_all(&[tag])?;
        self.file.write_all(&(index as u64).to_le_bytes())?;
        self.file.write_all(&(json.len() as u64).to_le_bytes())?;
        self.file.write_all(json)
    }
}

/// Reads back one user or role that [`SetAside::put`] wrote.
fn take_set_aside(reader: &mut impl Read) -> std::io::Result<Waiting> {
    let damaged = || std::io::Error::other("a set-aside record is damaged");
    let mut word = [0u8; 8];
    let mut byte = [0u8; 1];
    let read_bytes = |reader: &mut dyn Read, word: &mut [u8; 8]| -> std::io::Result<Vec<u8>> {
        reader.read_exact(word)?;
        let mut bytes = vec![0u8; u64::from_le_bytes(*word) as usize];
        reader.read_exact(&mut bytes)?;
        Ok(bytes)
    };
    reader.read_exact(&mut byte)?;
    match byte {
        [SET_ASIDE_RESOURCE] => {
            let json = read_bytes(reader, &mut word)?;
            Ok(Waiting::Decoded(Box::new(serde_json::from_slice(&json)?)))
        }
        [SET_ASIDE_ENTRY] => {
            reader.read_exact(&mut word)?;
            let input = u64::from_le_bytes(word) as usize;
            reader.read_exact(&mut byte)?;
            reader.read_exact(&mut word)?;
            let index = u64::from_le_bytes(word) as usize;
            let json = String::from_utf8(read_bytes(reader, &mut word)?).map_err(std::io::Error::other)?;
            let [tag] = byte;
            let entry = export::RawEntry::from_parts(tag, index, json).ok_or_else(damaged)?;
            Ok(Waiting::Entry(input, entry))
        }
        _ => Err(damaged()),
    }
}

/// Judges the users and roles set aside, in input order, with the full resolver: in batches
/// spread over every core, so that memory holds one batch.
fn judge_set_aside(
    rules: &[&Rule],
    params: &BTreeMap<&'static str, Params>,
    sequenced: &Sequenced,
    workers: usize,
    names: &[String],
    collector: &mut Collector,
) -> std::io::Result<()> {
    use std::io::Seek;
    const AT_ONCE: usize = 4096;
    let mut file = sequenced.set_aside.file.get_ref().try_clone()?;
    file.rewind()?;
    let mut reader = std::io::BufReader::new(file);
    let resolver = &sequenced.store;
    let mut left = sequenced.set_aside.count;
    while left > 0 {
        let batch: Vec<Waiting> =
            (0..left.min(AT_ONCE)).map(|_| take_set_aside(&mut reader)).collect::<std::io::Result<_>>()?;
        left -= batch.len();
        let chunk = batch.len().div_ceil(workers).max(1);
        let judged: Vec<Vec<Evaluation>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        for waiting in part {
                            match waiting {
                                Waiting::Decoded(resource) => out.extend(judge(rules, params, resolver, resource)),
                                Waiting::Entry(input, entry) => {
                                    // Decoded once already, so this cannot fail.
                                    let name = names.get(*input).map(String::as_str).unwrap_or_default();
                                    if let Decoded::Item { resource, .. } = decode(name, *input, entry.clone()) {
                                        out.extend(judge(rules, params, resolver, &resource));
                                    }
                                }
                            }
                        }
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
        });
        for evaluation in judged.into_iter().flatten() {
            collector.write(evaluation)?;
        }
    }
    Ok(())
}

/// Every rule whose scope includes the resource, judged, in rule order.
fn judge(
    rules: &[&Rule],
    params: &BTreeMap<&'static str, Params>,
    resolver: &dyn Resolver,
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

/// A NON_COMPLIANT evaluation as the table and SARIF show it: one JSON line in a temporary
/// file, so that a report with many findings takes no memory.
#[derive(Debug, Serialize, serde::Deserialize)]
struct Finding {
    rule: String,
    resource_type: String,
    resource_id: String,
    resource_arn: String,
    annotation: String,
    causes: Value,
}

impl Finding {
    fn of(e: &Evaluation) -> Finding {
        Finding {
            rule: e.config_rule_name.to_owned(),
            resource_type: e.compliance_resource_type.clone(),
            resource_id: e.compliance_resource_id.clone(),
            resource_arn: e.resource_arn.clone(),
            annotation: e.annotation.clone().unwrap_or_default(),
            causes: serde_json::to_value(&e.causes).unwrap_or_default(),
        }
    }
}

/// The findings of a run, on disk, read as often as a report needs (the table reads them once
/// per rule).
struct Findings(Option<std::fs::File>);

impl Findings {
    fn from(writer: Option<std::io::BufWriter<std::fs::File>>) -> std::io::Result<Findings> {
        writer.map(|w| w.into_inner().map_err(|e| e.into_error())).transpose().map(Findings)
    }

    /// Every finding, in report order.
    fn each(&self, mut f: impl FnMut(Finding) -> Result<(), String>) -> Result<(), String> {
        use std::io::{BufRead, Seek};
        let Some(file) = &self.0 else { return Ok(()) };
        let mut file = file.try_clone().map_err(|e| e.to_string())?;
        file.rewind().map_err(|e| e.to_string())?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| e.to_string())?;
            f(serde_json::from_str(&line).map_err(|e| format!("reading back a finding: {e}"))?)?;
        }
        Ok(())
    }
}

/// SARIF 2.1.0: one reporting descriptor per rule, one result per NON_COMPLIANT evaluation,
/// located by the resource's ARN (a logical location: there is no source file). Results are
/// written one by one, as they are read back from disk.
fn render_sarif(out: &mut dyn Write, rules: &[&Rule], findings: &Findings) -> Result<(), String> {
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
    // The document around the results, split where the results go.
    let frame = serde_json::json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "kms-guardrails",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": descriptors,
            }},
            "results": ["RESULTS"],
        }],
    });
    let frame = serde_json::to_string_pretty(&frame).map_err(|e| e.to_string())?;
    let (head, tail) = frame.split_once("\"RESULTS\"").ok_or("the SARIF frame lost its marker")?;
    let io = |e: std::io::Error| e.to_string();
    out.write_all(head.trim_end().as_bytes()).map_err(io)?;
    let mut first = true;
    findings.each(|e| {
        let rule_index = rules.iter().position(|r| r.id == e.rule);
        let location = if e.resource_arn.is_empty() { e.resource_id.clone() } else { e.resource_arn.clone() };
        let result = serde_json::json!({
            "ruleId": e.rule,
            "ruleIndex": rule_index,
            "level": "error",
            "message": {"text": e.annotation},
            "locations": [{"logicalLocations": [{
                "name": e.resource_id,
                "fullyQualifiedName": location,
                "kind": "resource",
            }]}],
            "properties": {"resourceType": e.resource_type, "causes": e.causes},
        });
        let text = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
        out.write_all(if first { b"\n" } else { b",\n" }).map_err(io)?;
        first = false;
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                out.write_all(b"\n").map_err(io)?;
            }
            out.write_all(b"        ").map_err(io)?;
            out.write_all(line.as_bytes()).map_err(io)?;
        }
        Ok(())
    })?;
    // An empty list stays `[]`, as serde_json prints it.
    let tail = if first { tail.trim_start().to_owned() } else { format!("\n      {}", tail.trim_start()) };
    out.write_all(tail.as_bytes()).map_err(io)?;
    out.write_all(b"\n").map_err(io)
}

/// Per rule: the counts, then every non-compliant resource with its annotation, wrapped to 100
/// columns.
fn render_table(
    out: &mut dyn Write,
    rules: &[&Rule],
    counts: &BTreeMap<&'static str, [usize; 3]>,
    findings: &Findings,
    input_errors: usize,
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let mut totals = [0usize; 3];
    for rule in rules {
        let [compliant, non_compliant, not_applicable] = counts.get(rule.id).copied().unwrap_or_default();
        for (total, n) in totals.iter_mut().zip([compliant, non_compliant, not_applicable]) {
            *total += n;
        }
        writeln!(
            out,
            "{}\n  {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable",
            rule.id
        )
        .map_err(io)?;
        if non_compliant > 0 {
            findings.each(|e| {
                if e.rule != rule.id {
                    return Ok(());
                }
                writeln!(out, "  ✗ {} {}", e.resource_type, e.resource_id).map_err(io)?;
                for line in wrap(&e.annotation, 94) {
                    writeln!(out, "      {line}").map_err(io)?;
                }
                Ok(())
            })?;
        }
        writeln!(out).map_err(io)?;
    }
    let [compliant, non_compliant, not_applicable] = totals;
    write!(
        out,
        "{} evaluations: {compliant} compliant, {non_compliant} non-compliant, {not_applicable} not applicable",
        compliant + non_compliant + not_applicable
    )
    .map_err(io)?;
    if input_errors > 0 {
        write!(out, ", {input_errors} input errors").map_err(io)?;
    }
    writeln!(out).map_err(io)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The users and roles of the embedded sample, with the entries they came from.
    fn sample_identities() -> Vec<(Resource, export::RawEntry)> {
        let mut entries = Vec::new();
        export::stream_raw(SAMPLE.as_bytes(), &mut |entry| entries.push(entry)).unwrap();
        entries
            .into_iter()
            .filter_map(|entry| match decode("sample", 0, entry.clone()) {
                Decoded::Item { resource, .. } if matches!(resource.details, Details::Role(_) | Details::User(_)) => {
                    Some((*resource, entry))
                }
                _ => None,
            })
            .collect()
    }

    /// What is set aside comes back as it went in: decoded where every document parsed, as
    /// its entry (decoding to the same resource) where one did not.
    #[test]
    fn set_aside_users_and_roles_come_back_as_they_were() {
        let mut identities = sample_identities();
        assert!(identities.len() >= 4, "the sample has users and roles");
        // A role whose inline policy does not parse: its error is not written, its entry is.
        let (mut broken, entry) = identities[0].clone();
        let Details::Role(role) = &mut broken.details else { panic!("the sample's first identity is a role") };
        role.identity.inline.push(crate::item::NamedDocument {
            name: "broken".into(),
            document: Err(crate::policy::DocumentError::Json("EOF".into())),
        });
        assert!(!broken.can_be_stored());
        identities.push((broken, entry.clone()));

        let mut set_aside = SetAside::new().unwrap();
        for (resource, entry) in &identities {
            set_aside.put(0, resource, Some(entry)).unwrap();
        }
        set_aside.file.flush().unwrap();
        let mut file = set_aside.file.get_ref().try_clone().unwrap();
        std::io::Seek::rewind(&mut file).unwrap();
        let mut reader = std::io::BufReader::new(file);
        let mut kinds = (0, 0);
        for (i, (resource, _)) in identities.iter().enumerate() {
            match take_set_aside(&mut reader).unwrap() {
                Waiting::Decoded(back) => {
                    kinds.0 += 1;
                    assert!(resource.can_be_stored(), "#{i}");
                    assert_eq!(*back, *resource, "#{i}");
                }
                Waiting::Entry(input, back) => {
                    kinds.1 += 1;
                    assert!(!resource.can_be_stored(), "#{i}");
                    assert_eq!((input, back.json()), (0, entry.json()), "#{i}");
                }
            }
        }
        assert_eq!(set_aside.count, identities.len());
        assert!(kinds.0 >= 3 && kinds.1 >= 1, "both kinds of record were tried: {kinds:?}");
    }

    /// The decoders hand on an item's raw entry only where it may be set aside as that entry.
    #[test]
    fn decode_keeps_the_entry_only_for_users_and_roles_that_cannot_be_stored() {
        let mut entries = Vec::new();
        export::stream_raw(SAMPLE.as_bytes(), &mut |entry| entries.push(entry)).unwrap();
        let mut items = 0;
        for entry in entries {
            if let Decoded::Item { resource, entry, .. } = decode("sample", 0, entry) {
                items += 1;
                let needed =
                    matches!(resource.details, Details::Role(_) | Details::User(_)) && !resource.can_be_stored();
                assert_eq!(entry.is_some(), needed, "{}", resource.resource_id);
            }
        }
        assert!(items > 10, "the sample has items: {items}");
    }

    #[test]
    fn a_damaged_set_aside_record_is_an_error_not_a_panic() {
        for bytes in
            [&[9u8][..], &[SET_ASIDE_RESOURCE, 3, 0, 0, 0, 0, 0, 0, 0, b'{', b'}', b'x'], &[SET_ASIDE_ENTRY, 1]]
        {
            assert!(take_set_aside(&mut &bytes[..]).is_err(), "{bytes:?}");
        }
    }
}
