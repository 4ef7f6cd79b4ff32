//! The pipeline: every input read as a stream and every item judged, on all cores, in stages
//! joined by bounded queues (crossbeam-channel, waiting without yielding: see [`queue`]):
//!
//! 1. the reader (the calling thread) only splits each input into its list entries
//!    ([`export::stream_raw`]) and numbers them: the one serial stage does the least work;
//! 2. decoders (one per core) parse each entry and convert it to a [`Resource`];
//! 3. the sequencer takes the decoded entries back in input order (a [`Reorder`] buffer): it
//!    adds policies and groups to the policy store and decides, for each user and role, whether
//!    everything it attaches is known yet. If so, the item goes to a judge with the part of the
//!    store it needs (index entries, read when a rule asks). If not, it is set aside on disk
//!    ([`SetAside`]), so that a role in one file resolves its policies from another. At the end
//!    of the input it hands what was set aside to the judges, in input order, with the whole
//!    store, numbered after every entry;
//! 4. judges (one per core) run the rules, and send each resource back to the decoder that
//!    built it, to be freed on its thread ([`homeward`]);
//! 5. the report writer takes the evaluations back in number order (a [`Reorder`] buffer) and
//!    writes them out ([`report::collect`]).
//!
//! Entries move between the stages in batches of [`BATCH`], at most [`QUEUE_DEPTH`] batches a
//! queue. Memory therefore holds the policy store's index (an entry per managed policy; the
//! policies' KMS statements are in a temporary file, see [`crate::policy_store`]), a bounded
//! cache of policies, the groups, and what is in flight; neither the input, nor the users and
//! roles that wait, nor the report.
//!
//! **Nothing is lost silently.** A stage that fails (a panic, a temporary file that cannot be
//! written, a set-aside record that does not read back) records the first [`Error`] and makes
//! every stage stop at its next batch; a rule that panics is caught where it runs, so that the
//! error names the rule, the item and the file. Whatever stopped the run, it ends in that error
//! (exit status 2, no report), never in a report with fewer evaluations. At the end, both
//! reorder buffers must have handed on every number once ([`Reorder::finish`]).

use std::any::Any;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{Scope, ScopedJoinHandle};

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::args::Format;
use super::error::Error;
use super::evaluated::Evaluated;
use super::homeward::{self, Homeward, Worker};
use super::input::{progress_bar, Input, InputError};
use super::places::{Dependency, Place, Placed, PlacedError, Places};
use super::queue;
use super::reorder::{InOrder, Reorder};
use super::report::{self, Collected};
use super::set_aside::{Record, RecordKind, RecordProblem, SetAside};
use super::summary::Summary;
use super::versions::{Judged, OrderSet, Versions};
use crate::arn::Arn;
use crate::evaluation::Evaluation;
use crate::exceptions::{Date, Exceptions, Target};
use crate::export;
use crate::item::{Details, ItemError, Resource, ResourceType};
use crate::policy::{parse_policy, parse_policy_tree, DocumentError, Policy, PolicyKind};
use crate::policy_store::{PolicyRecord, PolicyStore, Replaced, StorePart};
use crate::resolver::{MemoryResolver, Resolver};
use crate::rule::{Context, Params, Rule};
use crate::version::ItemVersion;

/// Entries travel between the stages in batches of this many: one hand-over, and at most one
/// thread wake-up, a batch rather than an entry. Handing over single entries cost a futex call
/// and often a context switch each (3.5 futex calls an item on 100 MB, `strace -c -f`). Batches
/// of 64 rather than 32 (queues half as deep, the same entries in flight) took the 1 GB run's
/// context switches from 49,000 to 30,000 and its system time from 0.87 s to 0.71 s (medians of
/// 5 alternating runs, stop 22); 128 saved less again and peaked higher once (93 MB).
pub(super) const BATCH: usize = 64;

/// How many batches may wait in each queue between the reader and the judges: 256 entries, the
/// bound that keeps memory flat however large the input.
const QUEUE_DEPTH: usize = 4;

/// What a run produced: what the reports need, and the input errors, in input order (each
/// already reported on standard error).
pub(super) struct Run {
    pub(super) collected: Collected,
    pub(super) errors: Vec<InputError>,
    pub(super) summary: Summary,
}

/// The rules and their parameters: what a judge needs besides the item.
#[derive(Clone, Copy)]
pub(super) struct Rules<'a> {
    /// Each rule run with its parameters, in the order their evaluations are reported.
    pub(super) rules: &'a [(&'a Rule, Params)],
    /// Applied to every verdict (`--exceptions`; none by default) as of `today`.
    pub(super) exceptions: &'a Exceptions,
    pub(super) today: Date,
}

impl Rules<'_> {
    /// Does a rule of these judge items of `resource`'s type?
    fn cover(&self, resource: &Resource) -> bool {
        resource.resource_type.is_some_and(|t| self.rules.iter().any(|(rule, _)| rule.resource_types.contains(&t)))
    }
}

/// Runs the pipeline over `inputs`, collecting what the report in `format` needs.
pub(super) fn run(rules: Rules<'_>, inputs: &[Input], format: Format, judged: Judged) -> Result<Run, Error> {
    let names: Vec<String> = inputs.iter().map(Input::name).collect();
    let names = &names;
    let progress = progress_bar(inputs);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let failure = &Failure::default();
    let (to_decode, decode_queue) = bounded::<Vec<(usize, usize, export::RawEntry)>>(QUEUE_DEPTH);
    let (to_sequence, sequence_queue) = bounded::<Vec<(usize, Decoded)>>(QUEUE_DEPTH);
    let (to_judge, judge_queue) = bounded::<Vec<(usize, Work)>>(QUEUE_DEPTH);
    // Unbounded: the judges must never wait for the writer, which waits for them in order.
    let (to_collect, collect_queue) = unbounded::<Evaluated>();

    let (read, sequenced, collected) = std::thread::scope(|scope| {
        // Where what a stage is done with goes back to be freed: see `homeward`.
        let (to_decoders, decoder_homes) = homeward::homes::<Box<Resource>>(workers);
        let writer = stage(scope, failure, "report writer", move || {
            let batches = queue::iter(&collect_queue).take_while(|_| !failure.stopped());
            let mut in_order = InOrder::new(batches.flat_map(Evaluated::into_entries));
            let collected = report::collect(in_order.by_ref(), format)?;
            Ok((collected, in_order.into_buffer()))
        });
        for (decoder, home) in decoder_homes.into_iter().enumerate() {
            let (queue, to_sequence) = (decode_queue.clone(), to_sequence.clone());
            stage(scope, failure, "decoder", move || {
                worker(&queue, &to_sequence, failure, |(order, input, entry)| {
                    // What the judges are done with, freed here.
                    home.try_iter().for_each(drop);
                    let mut decoded = decode(name(names, input), input, entry);
                    if let Decoded::Item { built_by, .. } = &mut decoded {
                        // Harmless when it does not fit (past 65,536 decoders): the resource
                        // is then freed by its judge, as every resource was before `homeward`.
                        *built_by = Worker::try_from(decoder).ok();
                    }
                    Ok((order, decoded))
                })
            });
        }
        for _ in 0..workers {
            let (queue, to_collect) = (judge_queue.clone(), to_collect.clone());
            let mut homeward = Homeward::new(to_decoders.clone());
            stage(scope, failure, "judge", move || {
                // Sized as the last batch's evaluations were: a batch's list grown from small
                // moved its evaluations several times.
                let mut evaluations = 0;
                batches(&queue, &to_collect, failure, |batch| {
                    let mut evaluated = Evaluated::with_capacity(batch.len(), evaluations);
                    for (order, work) in batch {
                        evaluated.add(order, |list| {
                            if let Some((decoder, resource)) = work.judge(rules, names, list)? {
                                homeward.send(decoder, resource);
                            }
                            Ok::<_, Error>(())
                        })?;
                    }
                    evaluations = evaluated.evaluations();
                    Ok(evaluated)
                })
            });
        }
        drop(to_decoders);
        // Each stage holds its own ends of the queues: when it stops, those close, and the
        // stages beside it stop too instead of waiting.
        drop((decode_queue, to_sequence, judge_queue));
        let sequencer = stage(scope, failure, "sequencer", move || {
            let queues = Queues { decoded: sequence_queue, to_judge, to_collect };
            sequence(queues, Reread { inputs, names, rules }, judged, failure)
        });
        // The bundled AWS managed policies load on first use: in the sequencer, the one serial
        // stage, at its first role. Load them beside the reader instead.
        let bundled = stage(scope, failure, "loader of the bundled policies", || Ok(crate::bundled::len()));

        let read = read(inputs, progress.as_ref(), to_decode, failure);
        let sequenced = join(sequencer, failure, "sequencer");
        let collected = join(writer, failure, "report writer");
        join(bundled, failure, "loader of the bundled policies");
        (read, sequenced, collected)
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(error) = failure.take() {
        return Err(error);
    }
    let (Some(sequenced), Some((collected, in_order))) = (sequenced, collected) else {
        return Err(Error::Stopped { stage: "pipeline", message: "a stage ended without its result".into() });
    };
    let lost = |between, gap| Error::Lost { between, gap };
    sequenced.in_order.finish(read.entries).map_err(|gap| lost("decoders and sequencer", gap))?;
    in_order
        .finish(read.entries + sequenced.set_aside + sequenced.again)
        .map_err(|gap| lost("judges and report writer", gap))?;
    let collected = collected.retract(sequenced.versions.retracted())?;

    // In input order; in each input, its entries' errors, then what stopped reading it.
    let mut errors = sequenced.errors;
    errors.extend(read.errors);
    errors.sort_by_key(|(input, _)| *input);
    let errors: Vec<InputError> = errors.into_iter().map(|(_, error)| error).collect();
    for error in &errors {
        eprintln!("error: {error}");
    }
    let mut summary = sequenced.summary;
    summary.superseded = sequenced.versions.superseded();
    summary.input_errors = errors.len();
    Ok(Run { collected, errors, summary })
}

/// A decoder's loop: `work` on every item of every batch of `queue` until it closes or the run
/// fails, each batch's results sent on to `to` in one batch. An item whose work fails ends the
/// stage with that error.
fn worker<I, O>(
    queue: &Receiver<Vec<I>>,
    to: &Sender<Vec<O>>,
    failure: &Failure,
    mut work: impl FnMut(I) -> Result<O, Error>,
) -> Result<(), Error> {
    batches(queue, to, failure, |batch| batch.into_iter().map(&mut work).collect())
}

/// A stage's loop over batches: `each` makes what a batch of `queue` gives (a batch of results
/// for a decoder; for a judge, one [`Evaluated`] list) and it is sent on to `to`, until `queue`
/// closes, the run fails, or the next stage stops. A batch that fails ends the stage with that
/// error.
fn batches<I, O>(
    queue: &Receiver<Vec<I>>,
    to: &Sender<O>,
    failure: &Failure,
    mut each: impl FnMut(Vec<I>) -> Result<O, Error>,
) -> Result<(), Error> {
    for batch in queue::iter(queue).take_while(|_| !failure.stopped()) {
        let done = each(batch)?;
        // The next stage has stopped: it holds the run's error, or the run is over.
        if queue::send(to, done).is_err() {
            break;
        }
    }
    Ok(())
}

/// The first failure of any stage, and a flag every stage checks between batches.
#[derive(Default)]
struct Failure {
    stopped: AtomicBool,
    first: Mutex<Option<Error>>,
}

impl Failure {
    /// Records `error` and stops every stage. The first error is the one reported, except that
    /// a stage's own failure wins over [`Error::Interrupted`], which only tells that another
    /// stage stopped first.
    fn fail(&self, error: Error) {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        let interrupted = |e: &Error| matches!(e, Error::Interrupted { .. });
        match &*first {
            None => *first = Some(error),
            Some(earlier) if interrupted(earlier) && !interrupted(&error) => *first = Some(error),
            Some(_) => {}
        }
        self.stopped.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    fn take(&self) -> Option<Error> {
        self.first.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Runs a stage on a thread of `scope`. Its error, or its panic, is recorded in `failure`; its
/// result is [`join`]ed.
fn stage<'scope, T: Send + 'scope>(
    scope: &'scope Scope<'scope, '_>,
    failure: &'scope Failure,
    name: &'static str,
    body: impl FnOnce() -> Result<T, Error> + Send + 'scope,
) -> ScopedJoinHandle<'scope, Option<T>> {
    let run = move || match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => Some(value),
        Ok(Err(error)) => {
            failure.fail(error);
            None
        }
        Err(panic) => {
            failure.fail(Error::Stopped { stage: name, message: panic_message(panic.as_ref()) });
            None
        }
    };
    // Named, so that a profiler tells the stages apart (BENCHMARKS.md). A thread the system
    // cannot start is the run's failure, and the stage's place is taken by one that has
    // nothing to give (`join` finds `None`).
    match std::thread::Builder::new().name(name.to_owned()).spawn_scoped(scope, run) {
        Ok(handle) => handle,
        Err(error) => {
            failure.fail(Error::Stopped { stage: name, message: format!("cannot start its thread: {error}") });
            scope.spawn(|| None)
        }
    }
}

/// The result of a [`stage`], if it had one.
fn join<T>(handle: ScopedJoinHandle<'_, Option<T>>, failure: &Failure, name: &'static str) -> Option<T> {
    handle.join().unwrap_or_else(|panic| {
        failure.fail(Error::Stopped { stage: name, message: panic_message(panic.as_ref()) });
        None
    })
}

/// What a panic said, when it said it with a string.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "(no message)".to_owned(),
    }
}

/// The name of input number `input`, for messages.
fn name(names: &[String], input: usize) -> &str {
    names.get(input).map_or("(unknown input)", String::as_str)
}

/// What the reader did: how many entries it numbered, and the inputs it could not read to the
/// end (with their numbers).
struct Reading {
    entries: usize,
    errors: Vec<(usize, InputError)>,
}

/// The reader: splits every input into entries, numbers them and sends them to the decoders in
/// batches, until the inputs end or a stage fails.
fn read(
    inputs: &[Input],
    progress: Option<&indicatif::ProgressBar>,
    to_decode: Sender<Vec<(usize, usize, export::RawEntry)>>,
    failure: &Failure,
) -> Reading {
    let mut order = 0usize;
    let mut errors = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    for (index, input) in inputs.iter().enumerate() {
        let mut on_entry = |entry: export::RawEntry| {
            batch.push((order, index, entry));
            order += 1;
            // A closed queue means a later stage failed, and the run reports why.
            if batch.len() == BATCH
                && queue::send(&to_decode, std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_err()
            {
                failure.fail(Error::Interrupted { stage: "reader" });
            }
        };
        let result = match input.open(progress) {
            Ok(reader) => export::stream_raw(UntilFailure { reader, failure }, &mut on_entry)
                .map(|outline| {
                    // A page of a longer output: read, and said (SPEC section 6).
                    for warning in outline.warnings {
                        let line = format!("warning: {}: {warning}", input.name());
                        match progress {
                            Some(bar) => bar.suspend(|| eprintln!("{line}")),
                            None => eprintln!("{line}"),
                        }
                    }
                })
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if failure.stopped() {
            break;
        }
        if let Err(message) = result {
            errors.push((index, InputError { file: input.name(), message }));
        }
    }
    if !batch.is_empty() && queue::send(&to_decode, batch).is_err() {
        failure.fail(Error::Interrupted { stage: "reader" });
    }
    Reading { entries: order, errors }
}

/// An input that ends, as a read error, once a stage has failed: the reader stops within the
/// file instead of splitting the rest of it for nothing.
struct UntilFailure<'a, R> {
    reader: R,
    failure: &'a Failure,
}

impl<R: std::io::Read> std::io::Read for UntilFailure<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.failure.stopped() {
            true => Err(std::io::Error::other("the dry-run stopped")),
            false => self.reader.read(buf),
        }
    }
}

/// One entry, decoded: what a decoder hands the sequencer.
pub(super) enum Decoded {
    /// A configuration item and, for a customer managed policy, its record for the policy
    /// store. `entry`, the entry it came from, is kept only for a user or role that could not
    /// be set aside decoded ([`Resource::can_be_stored`]): it is set aside as that entry if it
    /// must wait.
    /// `built_by` is the decoder that built it, if a decoder did (see [`homeward`]); `place`
    /// where the entry stands in its input, if it was cut out of it ([`Places`]).
    Item {
        resource: Box<Resource>,
        input: usize,
        entry: Option<export::RawEntry>,
        record: Option<PolicyRecord>,
        built_by: Option<Worker>,
        place: Option<Place>,
    },
    /// An AWS managed policy from GAAD input: resolves attachments only.
    AwsManagedPolicy { arn: String, record: PolicyRecord },
    /// An entry of input number `.0` that cannot be used.
    Error(usize, InputError),
    /// An entry that holds nothing to judge (a GAAD policy with no default version).
    Nothing,
}

/// Parses and converts one entry of input number `input`, named `name`. Managed policies also
/// get their policy store record here, on every core, so that the sequencer only appends it.
// The GAAD closure below returns a whole `Decoded` as its `Err`, once an entry, matched at
// once: boxing it would cost an allocation a GAAD policy for a move of some 170 bytes.
#[allow(clippy::result_large_err)]
pub(super) fn decode(name: &str, input: usize, entry: export::RawEntry) -> Decoded {
    let error = |message: String| Decoded::Error(input, InputError { file: name.to_owned(), message });
    // An item standing as it is in the input (a snapshot's `configurationItems`, the common
    // case) is read in place from its text, with no `Value` built; any other entry, and one
    // that is not JSON (for the error's wording), through `RawEntry::decode`.
    let in_place = entry.item_text().and_then(|text| Resource::from_text(text).ok());
    if let Some(read) = in_place {
        return decoded_item(read, export::RawEntry::at, input, entry, &error);
    }
    // A GAAD entry is parsed into a tree and converted into an item built in the same arena,
    // with no `Value` built or copied either; an item read from it comes back here, since the
    // entry itself may have to be kept ([`decoded_item`]).
    let gaad = entry.decode_gaad(|converted| match converted {
        Ok(Some(export::GaadTree::Item(item))) => Ok(Resource::from_tree(&item).map(Box::new)),
        Ok(Some(export::GaadTree::AwsManagedPolicy { arn, document })) => {
            Err(aws_managed_policy(arn.to_owned(), parse_policy_tree(&document, PolicyKind::Identity), &error))
        }
        Ok(None) => Err(Decoded::Nothing),
        Err(e) => Err(error(e.to_string())),
    });
    match gaad {
        Some(Ok(read)) => return decoded_item(read, export::RawEntry::at, input, entry, &error),
        Some(Err(decoded)) => return decoded,
        None => {}
    }
    match entry.decode() {
        None => Decoded::Nothing,
        Some(export::Found::Item { at, item }) => {
            decoded_item(Resource::from_json(&item).map(Box::new), |_| at, input, entry, &error)
        }
        Some(export::Found::AwsManagedPolicy { arn, document }) => {
            aws_managed_policy(arn, parse_policy(&document, PolicyKind::Identity), &error)
        }
        Some(export::Found::Error(e)) => error(e.to_string()),
    }
}

/// An AWS managed policy of GAAD input, as [`decode`] hands it on: its record for the policy
/// store, or the error that its document does not parse.
fn aws_managed_policy(
    arn: String,
    document: Result<Policy, DocumentError>,
    error: &dyn Fn(String) -> Decoded,
) -> Decoded {
    match PolicyRecord::of(&document) {
        Ok(record) => Decoded::AwsManagedPolicy { arn, record },
        Err(e) => error(format!("AWS managed policy `{arn}`: {e}")),
    }
}

/// An item read from `entry`, as [`decode`] hands it on. Where the entry stood (`at`) is
/// written out only for an error.
fn decoded_item(
    read: Result<Box<Resource>, ItemError>,
    at: impl FnOnce(&export::RawEntry) -> String,
    input: usize,
    entry: export::RawEntry,
    error: &dyn Fn(String) -> Decoded,
) -> Decoded {
    match read {
        Ok(resource) => {
            let record = match &resource.details {
                Details::Policy(policy) => match PolicyRecord::of(&policy.document) {
                    Ok(record) => Some(record),
                    Err(e) => return error(format!("{}: {e}", at(&entry))),
                },
                _ => None,
            };
            let may_wait = matches!(resource.details, Details::Role(_) | Details::User(_));
            let place = may_wait.then(|| Place::of(&entry)).flatten();
            let entry = (may_wait && !resource.can_be_stored()).then_some(entry);
            Decoded::Item { resource, input, entry, record, built_by: None, place }
        }
        Err(e) => error(format!("{}: {e}", at(&entry))),
    }
}

/// A resource and the decoder that built it, to send it back to ([`homeward`]).
type Built = (Worker, Box<Resource>);

/// An item for a judge.
enum Work {
    /// Judged as it arrives, with the part of the store it needs.
    Now { input: usize, resource: Box<Resource>, part: StorePart, built_by: Option<Worker> },
    /// Set aside until every input was read; decoded and judged with the whole store.
    SetAside { record: Record, store: Arc<PolicyStore> },
    /// Judged again with the whole store: a later version of a policy or group it uses made
    /// its first judgement stale.
    Again { input: usize, resource: Box<Resource>, store: Arc<PolicyStore> },
}

impl Work {
    /// Every evaluation of the item, pushed onto `evaluations`; and the resource to send back
    /// to the decoder that built it. A rule that panics is an error naming it and the item:
    /// the run stops rather than report without that evaluation.
    fn judge(
        self,
        rules: Rules<'_>,
        names: &[String],
        evaluations: &mut Vec<Evaluation>,
    ) -> Result<Option<Built>, Error> {
        match self {
            Work::Now { input, resource, part, built_by } => {
                judge(rules, &part, &resource, name(names, input), evaluations)?;
                Ok(built_by.map(|by| (by, resource)))
            }
            Work::Again { input, resource, store } => {
                judge(rules, store.as_ref(), &resource, name(names, input), evaluations)?;
                Ok(None)
            }
            Work::SetAside { record, store } => {
                let (input, number) = (record.input, record.number);
                let file = name(names, input);
                let lost = |problem| Error::SetAsideRecord { file: file.to_owned(), number, problem };
                let resource = match record.kind {
                    RecordKind::Resource(bytes) => {
                        Box::new(postcard::from_bytes(&bytes).map_err(|e| lost(RecordProblem::Resource(e)))?)
                    }
                    RecordKind::Entry(entry) => match decode(file, input, entry) {
                        Decoded::Item { resource, .. } => resource,
                        Decoded::Error(_, error) => return Err(lost(RecordProblem::Entry(error))),
                        Decoded::AwsManagedPolicy { .. } | Decoded::Nothing => {
                            return Err(lost(RecordProblem::NotAnIdentity))
                        }
                    },
                };
                judge(rules, store.as_ref(), &resource, file, evaluations)?;
                Ok(None)
            }
        }
    }
}

/// What the sequencer leaves for the end.
struct Sequenced {
    /// Its reorder buffer, to check that every entry went through.
    in_order: Reorder<Decoded>,
    /// How many users and roles it set aside (and sent to the judges at the end).
    set_aside: usize,
    /// How many users and roles it judged again at the end (see [`Changes`]).
    again: usize,
    /// The entry errors, with the number of the input each is in.
    errors: Vec<(usize, InputError)>,
    /// Which version of each resource stands, and the entries whose evaluations are taken back.
    versions: Versions,
    /// What was read, for the summary line.
    summary: Summary,
}

/// The sequencer's queues: decoded entries in, work for the judges and empty evaluations for
/// the report writer out.
struct Queues {
    decoded: Receiver<Vec<(usize, Decoded)>>,
    to_judge: Sender<Vec<(usize, Work)>>,
    to_collect: Sender<Evaluated>,
}

/// What the sequencer needs to read the inputs again ([`judge_again`]).
#[derive(Clone, Copy)]
struct Reread<'a> {
    inputs: &'a [Input],
    names: &'a [String],
    rules: Rules<'a>,
}

/// The managed policies and groups whose newest version read so far replaced one that read
/// differently, each with the number of the entry that last changed it. A user or role judged
/// before that entry was judged with what is no longer the newest version: it is judged again
/// at the end, with the whole store ([`judge_again`]).
#[derive(Default)]
struct Changes {
    policies: HashMap<String, usize>,
    groups: HashMap<(String, String), usize>,
}

impl Changes {
    /// What judging `resource`, a user or role, as it came read from the store and a later
    /// change can make stale ([`Changes::made_stale`]): its managed policies (its permissions
    /// boundary among them) by ARN, and its groups by account and name, as hashes, into
    /// `dependencies` (emptied first).
    fn dependencies(resource: &Resource, dependencies: &mut Vec<Dependency>) {
        dependencies.clear();
        let Some((identity, groups)) = resource.identity_and_groups() else { return };
        dependencies.extend(identity.managed_policy_arns().map(policy_dependency));
        dependencies.extend(groups.iter().map(|name| group_dependency(resource.account_id(), name)));
    }

    /// For each policy and group, by its hash, the last entry after which a user or role that
    /// depends on it was judged with what is no longer the newest: for a policy, the entry that
    /// last changed it; for a group, the last that changed it or one of the managed policies
    /// its newest version (in `store`, whole) attaches. A user or role of entry `order` is
    /// [`Changes::made_stale`] only if one of its [`Changes::dependencies`] maps past `order`
    /// here: "any of them changed after" is "the last of them did", read from the same maps
    /// and store. Two names with one hash keep the later entry, so a shared hash can only send
    /// a place to be read that need not be.
    fn changed_after(&self, store: &PolicyStore) -> HashMap<Dependency, usize> {
        let mut last: HashMap<Dependency, usize> = HashMap::new();
        let mut note = |dependency: Dependency, when: usize| {
            let held = last.entry(dependency).or_insert(when);
            *held = (*held).max(when);
        };
        for (arn, &when) in &self.policies {
            note(policy_dependency(arn), when);
        }
        for ((account, name), &when) in &self.groups {
            note(group_dependency(account, name), when);
        }
        for (account, name, group) in store.groups() {
            if let Some(when) = group.managed_policy_arns().filter_map(|arn| self.policies.get(arn)).max() {
                note(group_dependency(account, name), *when);
            }
        }
        last
    }

    /// Was the user or role of entry `order` judged with a policy or group that changed after?
    fn made_stale(&self, resource: &Resource, order: usize, store: &PolicyStore) -> bool {
        let changed_after = |when: Option<&usize>| when.is_some_and(|&when| when > order);
        let Some((identity, groups)) = resource.identity_and_groups() else { return false };
        identity.managed_policy_arns().any(|arn| changed_after(self.policies.get(arn)))
            || groups.iter().any(|name| {
                let group_key = (resource.account_id().to_owned(), name.clone());
                changed_after(self.groups.get(&group_key))
                    || store.group_identity(resource.account_id(), name).is_some_and(|group| {
                        group.managed_policy_arns().any(|arn| changed_after(self.policies.get(arn)))
                    })
            })
    }
}

/// The hash of what a user or role depends on ([`Changes::dependencies`]): the same for the
/// whole run (a fixed seed), and 64 bits, since a hash two names share only adds a read
/// ([`Changes::changed_after`]). Cheaper than the 128-bit digest of resources, which every run
/// would pay for each user and role judged as it came.
const DEPENDENCIES: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x6b67_6465_7073);

/// A managed policy, as a user or role depends on it ([`Changes::dependencies`]).
fn policy_dependency(arn: &str) -> Dependency {
    DEPENDENCIES.hash_one(("policy", arn))
}

/// A group of `account`, as a user depends on it ([`Changes::dependencies`]).
fn group_dependency(account: &str, name: &str) -> Dependency {
    DEPENDENCIES.hash_one(("group", account, name))
}

/// The sequencer: takes decoded entries in input order (a [`Reorder`] buffer over what the
/// decoders finish out of order), keeps the newest version of each resource ([`Versions`]),
/// fills the policy store with the newest version of each managed policy and group, and sends
/// each item to a judge or sets it aside; at the end of the input, sends what it set aside,
/// with the whole store, and then the users and roles a later version of one of their
/// policies or groups made stale ([`judge_again`]).
fn sequence(queues: Queues, reread: Reread<'_>, judged: Judged, failure: &Failure) -> Result<Sequenced, Error> {
    let Queues { decoded, to_judge, to_collect } = queues;
    let mut outbox = Outbox::new(&to_judge, &to_collect);
    let mut store = PolicyStore::new(tempfile::tempfile().map_err(Error::Temporary)?);
    let mut set_aside = SetAside::new()?;
    // The entry number of each user and role set aside, in the order they were.
    let mut set_aside_orders = Vec::new();
    // The users and roles judged as they came: the only ones a later change can make stale.
    let mut judged_now = OrderSet::default();
    // Where each of them stands in its input, to read it again from there.
    let mut places = Places::new(reread.inputs.len()).map_err(Error::Temporary)?;
    // What each of them depends on, kept with its place (one list, reused).
    let mut dependencies = Vec::new();
    let mut changes = Changes::default();
    let mut versions = Versions::new(judged);
    let mut summary = Summary::default();
    let mut errors = Vec::new();
    let mut in_order = Reorder::new();
    let mut next = 0usize;
    // A closed queue means the judges or the writer stopped, and the run reports why.
    let stopped = || Error::Interrupted { stage: "sequencer" };
    for batch in queue::iter(&decoded).take_while(|_| !failure.stopped()) {
        for (order, entry) in batch {
            // The version table is far larger than the cache on large inputs, and its searches
            // were the sequencer's largest cost (`perf`, issue 18): the CPU fetches where each
            // item's search will look while the items before it are dealt with.
            if let Decoded::Item { resource, .. } = &entry {
                versions.prefetch(&resource.key);
            }
            in_order.push(order, entry);
        }
        while let Some((order, entry)) = in_order.pop() {
            next = order + 1;
            match entry {
                Decoded::Item { resource, input, entry, record, built_by, place } => {
                    let admission = versions.admit(resource.key, resource.version, order);
                    let covered = reread.rules.cover(&resource);
                    if admission.retracts {
                        summary.unjudge(&resource, covered);
                    }
                    // Every version goes to the store, which keeps the newest of each name.
                    match shelve(&mut store, &resource, record)? {
                        Ok(None) => {}
                        Ok(Some(Changed::Policy(arn))) => {
                            changes.policies.insert(arn, order);
                        }
                        Ok(Some(Changed::Group(account, name))) => {
                            changes.groups.insert((account, name), order);
                        }
                        Err(problem) => {
                            let file = name(reread.names, input).to_owned();
                            let message = format!("{}: {problem}", resource.label());
                            errors.push((input, InputError { file, message }));
                        }
                    }
                    if !admission.judge {
                        outbox.skip(order)?;
                        continue;
                    }
                    summary.judge(&resource, covered);
                    let identity = matches!(resource.details, Details::Role(_) | Details::User(_));
                    match resolver_part(&resource, &store) {
                        Some(part) => {
                            if identity {
                                judged_now.insert(order);
                                Changes::dependencies(&resource, &mut dependencies);
                                places
                                    .put(order, input, place, &dependencies, reread.inputs)
                                    .map_err(Error::Temporary)?;
                            }
                            outbox.judge(order, Work::Now { input, resource, part, built_by })?;
                        }
                        None => {
                            set_aside.put(input, &resource, entry.as_ref())?;
                            set_aside_orders.push(order);
                            outbox.skip(order)?;
                        }
                    }
                }
                Decoded::AwsManagedPolicy { arn, record } => {
                    // GAAD carries no version: the first read of an ARN stands, as for items
                    // of one version.
                    store.put_policy(&arn, ItemVersion::default(), Some(record))?;
                    outbox.skip(order)?;
                }
                Decoded::Error(input, error) => {
                    errors.push((input, error));
                    outbox.skip(order)?;
                }
                Decoded::Nothing => outbox.skip(order)?,
            }
        }
        // What waits in the outbox goes now: the judges are not kept waiting for the next batch.
        outbox.flush()?;
    }
    if failure.stopped() {
        return Err(stopped());
    }

    // Every input is read: what was set aside is judged now, numbered after every entry, but
    // for the users and roles a newer version superseded while they waited.
    let store = Arc::new(store);
    let count = set_aside.len();
    // As many records as entry numbers: both were added together. (Were one short, the
    // writer's check that every number came would fail the run.)
    for (k, (record, order)) in set_aside.into_records()?.zip(set_aside_orders).enumerate() {
        if failure.stopped() {
            return Err(stopped());
        }
        match versions.retracted().contains(order) {
            true => outbox.skip(next + k)?,
            false => outbox.judge(next + k, Work::SetAside { record: record?, store: Arc::clone(&store) })?,
        }
    }
    outbox.flush()?;
    let again = match changes.policies.is_empty() && changes.groups.is_empty() {
        true => 0,
        false => {
            let stale = Stale { changes: &changes, judged_now: &judged_now, entries: next };
            judge_again(reread, stale, places, &mut versions, &store, next + count, &mut outbox, failure)?
        }
    };
    Ok(Sequenced { in_order, set_aside: count, again, errors, versions, summary })
}

/// A managed policy or group whose newest version changed what the store holds.
enum Changed {
    Policy(String),
    Group(String, String),
}

/// Puts what an item of a managed policy or a group says in the store, which keeps what the
/// newest item of each policy ARN and group name says (a deleted item takes it out); says what
/// changed for the users and roles judged before.
fn shelve(
    store: &mut PolicyStore,
    resource: &Resource,
    record: Option<PolicyRecord>,
) -> Result<Result<Option<Changed>, Unshelved>, Error> {
    let version = resource.version;
    let changed = match (&resource.details, resource.resource_type) {
        (Details::Policy(_), _) => {
            // The decoders make the record of every policy they decode.
            let Some(record) = record else {
                return Err(Error::Stopped {
                    stage: "sequencer",
                    message: "a managed policy came without its record".into(),
                });
            };
            let replaced = store.put_policy(resource.arn(), version, Some(record))?;
            (replaced == Replaced::Different).then(|| Changed::Policy(resource.arn().to_string()))
        }
        (Details::Absent, Some(ResourceType::IamPolicy)) => {
            let replaced = store.put_policy(resource.arn(), version, None)?;
            (replaced == Replaced::Different).then(|| Changed::Policy(resource.arn().to_string()))
        }
        (Details::Group(group), _) => {
            let replaced = store.put_group(resource.account_id(), &group.name, version, Some(group.clone()));
            (replaced == Replaced::Different)
                .then(|| Changed::Group(resource.account_id().to_owned(), group.name.clone()))
        }
        // A deleted item carries no configuration: the group's name is the last part of its
        // ARN (`arn:aws:iam::111122223333:group/path/Name`). Without one, the deletion cannot
        // be applied, and the group would go on granting what it granted: an input error.
        (Details::Absent, Some(ResourceType::IamGroup)) => {
            let Ok(arn) = Arn::parse(resource.arn()) else { return Ok(Err(Unshelved::DeletedGroupWithoutArn)) };
            let name = arn.resource_name();
            let replaced = store.put_group(resource.account_id(), name, version, None);
            (replaced == Replaced::Different).then(|| Changed::Group(resource.account_id().to_owned(), name.to_owned()))
        }
        _ => None,
    };
    Ok(Ok(changed))
}

/// Why an item could not go to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Unshelved {
    /// A deleted group whose item has no ARN to name it by.
    #[error("a deleted group's item has no `ARN` naming the group (`arn:aws:iam::<account>:group/<name>`): its deletion cannot be applied")]
    DeletedGroupWithoutArn,
}

/// What [`judge_again`] looks for.
struct Stale<'a> {
    changes: &'a Changes,
    judged_now: &'a OrderSet,
    /// How many entries the first read numbered.
    entries: usize,
}

/// Reads the inputs again and judges again, with the whole store, every user and role that was
/// judged as it came and that a later version of one of its policies or groups made stale;
/// retracts what it was judged as before. They are numbered from `first`; returns how many.
///
/// Only a run whose input holds a changed policy or group after a user or role that uses it
/// pays for this second read (history files, snapshots of several days): the users and roles
/// are not kept from the first read, which would cost memory or disk for every run. Their
/// places in the inputs are kept ([`Places`]), and each is read where it stands; when the
/// places cannot be trusted, every input is split again.
#[allow(clippy::too_many_arguments)]
fn judge_again(
    reread: Reread<'_>,
    stale: Stale<'_>,
    places: Places,
    versions: &mut Versions,
    store: &Arc<PolicyStore>,
    first: usize,
    outbox: &mut Outbox<'_>,
    failure: &Failure,
) -> Result<usize, Error> {
    let mut judging = JudgingAgain { stale: &stale, versions, store, first, outbox, again: 0 };
    if let Some(placed) = places.read_back(reread.inputs).map_err(Error::Temporary)? {
        judging.at_places(placed, reread.names, failure)?;
        judging.outbox.flush()?;
        return Ok(judging.again);
    }
    let stopped = || Error::Interrupted { stage: "sequencer" };
    let mut order = 0usize;
    for (index, input) in reread.inputs.iter().enumerate() {
        let file = name(reread.names, index);
        let changed = |problem: String| Error::Reread { file: file.to_owned(), problem };
        let mut problem = None;
        let mut closed = false;
        let mut on_entry = |entry: export::RawEntry| {
            let this = order;
            order += 1;
            if problem.is_some() || closed || !stale.judged_now.contains(this) {
                return;
            }
            match judging.check(file, index, this, entry) {
                Ok(sent) => closed = !sent,
                Err(found) => problem = Some(found),
            }
        };
        // An input that did not open, or stopped, the first time does the same now: only a
        // difference in what it yields is an error.
        // Its error, if it stops again, was reported by the first read.
        if let Ok(reader) = input.open(None) {
            let _already_reported = export::stream_raw(UntilFailure { reader, failure }, &mut on_entry);
        }
        if let Some(problem) = problem {
            return Err(changed(problem));
        }
        // A closed queue means the judges or the writer stopped, and the run reports why.
        if closed || failure.stopped() {
            return Err(stopped());
        }
    }
    if order != stale.entries {
        let file = reread.names.last().map_or("(no input)", String::as_str);
        return Err(Error::Reread {
            file: file.to_owned(),
            problem: format!("the inputs hold {order} entries now, {} before", stale.entries),
        });
    }
    judging.outbox.flush()?;
    Ok(judging.again)
}

/// What [`judge_again`] checks each entry read again with, and sends the stale ones on with.
struct JudgingAgain<'s, 'v, 'o, 'q> {
    stale: &'s Stale<'s>,
    versions: &'v mut Versions,
    store: &'s Arc<PolicyStore>,
    first: usize,
    outbox: &'o mut Outbox<'q>,
    /// How many were judged again so far.
    again: usize,
}

impl JudgingAgain<'_, '_, '_, '_> {
    /// Entry `order` of input `input` (named `file`), read again: unless a newer version
    /// superseded it, decoded, checked to be the item it was, and sent to be judged again if it
    /// is stale. False when the judges' queue has closed; the problem when it is not the item
    /// it was.
    fn check(&mut self, file: &str, input: usize, order: usize, entry: export::RawEntry) -> Result<bool, String> {
        if self.versions.retracted().contains(order) {
            return Ok(true);
        }
        match decode(file, input, entry) {
            Decoded::Item { resource, .. } => {
                if !self.versions.is_judged(&resource.key, order) {
                    return Err(format!("entry {order} is no longer the item it was"));
                }
                if !self.stale.changes.made_stale(&resource, order, self.store) {
                    return Ok(true);
                }
                self.versions.retract(order);
                let work = Work::Again { input, resource, store: Arc::clone(self.store) };
                // Sent as batches fill: the items judged again are never held together.
                let sent = self.outbox.judge(self.first + self.again, work).is_ok();
                self.again += 1;
                Ok(sent)
            }
            _ => Err(format!("entry {order} is no longer a user or role")),
        }
    }

    /// Every entry at its place, in entry order, that may be stale: a problem is the run's
    /// error at once, named by its input, as the split's would be once that input was read.
    /// The entry of a place whose user or role depends on nothing that changed after it
    /// ([`Changes::changed_after`]) is not read: [`JudgingAgain::check`] would find it not stale
    /// (or superseded) and leave it. (Nor is it checked to be the item it was: its verdict
    /// stands from the first read, which that check is for.)
    fn at_places(&mut self, mut placed: Placed, names: &[String], failure: &Failure) -> Result<(), Error> {
        let changed_after = self.stale.changes.changed_after(self.store);
        let placed_error = |e| match e {
            PlacedError::Places(e) => Error::Temporary(e),
            PlacedError::Input { input, problem } => Error::Reread { file: name(names, input).to_owned(), problem },
        };
        while let Some(record) = placed.next_record() {
            let record = record.map_err(placed_error)?;
            let after =
                |dependency: &Dependency| changed_after.get(dependency).is_some_and(|&when| when > record.order);
            if self.versions.retracted().contains(record.order) || !record.dependencies.iter().any(after) {
                continue;
            }
            let (order, input, entry) = placed.read(&record).map_err(placed_error)?;
            let file = name(names, input);
            match self.check(file, input, order, entry) {
                // A closed queue means the judges or the writer stopped, and the run reports why.
                Ok(false) => return Err(Error::Interrupted { stage: "sequencer" }),
                Ok(true) if failure.stopped() => return Err(Error::Interrupted { stage: "sequencer" }),
                Ok(true) => {}
                Err(problem) => return Err(Error::Reread { file: file.to_owned(), problem }),
            }
        }
        Ok(())
    }
}

/// Work for the judges and the empty evaluations of entries not judged, for the report writer,
/// each sent as a batch of [`BATCH`] fills or when flushed.
struct Outbox<'q> {
    to_judge: &'q Sender<Vec<(usize, Work)>>,
    to_collect: &'q Sender<Evaluated>,
    judging: Vec<(usize, Work)>,
    nothing: Evaluated,
}

impl<'q> Outbox<'q> {
    fn new(to_judge: &'q Sender<Vec<(usize, Work)>>, to_collect: &'q Sender<Evaluated>) -> Outbox<'q> {
        Outbox { to_judge, to_collect, judging: Vec::with_capacity(BATCH), nothing: Evaluated::default() }
    }

    /// Entry `order` is to be judged as `work`.
    fn judge(&mut self, order: usize, work: Work) -> Result<(), Error> {
        self.judging.push((order, work));
        match self.judging.len() < BATCH {
            true => Ok(()),
            false => send(self.to_judge, &mut self.judging),
        }
    }

    /// Entry `order` has no evaluation (not an item, an input error, a superseded version, a
    /// user or role set aside): the writer is told, so that every number reaches it.
    fn skip(&mut self, order: usize) -> Result<(), Error> {
        self.nothing.add_none(order);
        match self.nothing.len() < BATCH {
            true => Ok(()),
            false => self.send_nothing(),
        }
    }

    fn flush(&mut self) -> Result<(), Error> {
        send(self.to_judge, &mut self.judging)?;
        self.send_nothing()
    }

    /// Sends the entries without evaluations, if there are any.
    fn send_nothing(&mut self) -> Result<(), Error> {
        if self.nothing.len() == 0 {
            return Ok(());
        }
        queue::send(self.to_collect, std::mem::take(&mut self.nothing))
            .map_err(|_| Error::Interrupted { stage: "sequencer" })
    }
}

/// Sends what `batch` holds, if anything, leaving it empty. A closed queue means the judges or
/// the writer stopped, and the run reports why.
fn send<T>(queue: &Sender<Vec<T>>, batch: &mut Vec<T>) -> Result<(), Error> {
    if batch.is_empty() {
        return Ok(());
    }
    queue::send(queue, std::mem::replace(batch, Vec::with_capacity(BATCH)))
        .map_err(|_| Error::Interrupted { stage: "sequencer" })
}

/// The part of the policy store that judging `resource` needs, when everything it attaches is
/// known now (from the inputs so far or the bundled AWS managed policies); `None` when a user or
/// role must wait for the rest of the inputs.
fn resolver_part(resource: &Resource, resolver: &PolicyStore) -> Option<StorePart> {
    let Some((identity, groups)) = resource.identity_and_groups() else {
        return Some(resolver.part(resource.account_id(), [], []));
    };
    let known = |identity: &crate::item::Identity| {
        identity.managed_policy_arns().all(|arn| resolver.knows_policy(arn) || is_bundled(arn))
    };
    // Borrowed, not the `Arc` `Resolver::group` hands out: its count is shared with the judges.
    let groups_known = groups.iter().all(|g| resolver.group_identity(resource.account_id(), g).is_some_and(known));
    (known(identity) && groups_known).then(|| {
        resolver.part(resource.account_id(), identity.managed_policy_arns(), groups.iter().map(String::as_str))
    })
}

/// Is `arn` one of the bundled AWS managed policies?
fn is_bundled(arn: &str) -> bool {
    !matches!(MemoryResolver::new().managed_policy(arn), Err(crate::resolver::ResolveError::NotFound(_)))
}

/// Every rule whose scope includes the resource, judged, in rule order, pushed onto
/// `evaluations`. A rule that panics is [`Error::RulePanicked`], naming the rule, the item and
/// `file`.
fn judge(
    rules: Rules<'_>,
    resolver: &dyn Resolver,
    resource: &Resource,
    file: &str,
    evaluations: &mut Vec<Evaluation>,
) -> Result<(), Error> {
    let Some(resource_type) = resource.resource_type else { return Ok(()) };
    let covering = rules.rules.iter().filter(|(rule, _)| rule.resource_types.contains(&resource_type));
    for (rule, params) in covering {
        let verdict = catch_unwind(AssertUnwindSafe(|| rule.judge(resource, &Context { params, resolver }))).map_err(
            |panic| Error::RulePanicked {
                rule: rule.id,
                resource_type: resource.type_name().to_string(),
                resource_id: resource.resource_id().to_string(),
                file: file.to_owned(),
                message: panic_message(panic.as_ref()),
            },
        )?;
        let target = Target {
            rule: rule.id,
            arn: resource.arn(),
            resource_id: resource.resource_id(),
            account_id: resource.account_id(),
        };
        evaluations.push(Evaluation::new(rule.id, resource, rules.exceptions.apply(&target, verdict, rules.today)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dryrun::SAMPLE;
    use crate::item::{AttachedPolicy, Identity, ResourceType};
    use crate::rule::{InactiveKeys, Verdict};

    /// Panics on every role; COMPLIANT for every key.
    static PANICS_ON_ROLES: Rule = Rule {
        id: "panics-on-roles",
        summary: "panics on roles (test only)",
        resource_types: &[ResourceType::IamRole, ResourceType::KmsKey],
        parameters: &[],
        reads: crate::rule::Reads::Item,
        function: crate::FunctionSize::ONE_ITEM,
        inactive_keys: InactiveKeys::Evaluate,
        evaluate: |resource, _| match resource.details {
            Details::Role(_) => panic!("deliberate panic on {}", resource.resource_id()),
            _ => Verdict::compliant(),
        },
    };

    /// [`PANICS_ON_ROLES`] alone, without parameters or exceptions.
    fn panicking_rules() -> Rules<'static> {
        static EXCEPTIONS: Exceptions = Exceptions::none();
        // Leaked: a test's rules live as long as the test binary, as a run's live as long as it.
        let rules = Box::leak(Box::new([(&PANICS_ON_ROLES, Params::default())]));
        Rules { rules, exceptions: &EXCEPTIONS, today: Date::from_days(0) }
    }

    /// A role attaching `policy`, a customer managed policy of the same account.
    fn role(id: &str, policy: &str) -> serde_json::Value {
        serde_json::json!({"resourceType": "AWS::IAM::Role", "resourceId": id, "awsAccountId": "111122223333",
            "ARN": format!("arn:aws:iam::111122223333:role/{id}"), "configurationItemStatus": "OK",
            "configuration": {"roleName": id, "path": "/", "rolePolicyList": [],
                "attachedManagedPolicies": [{"policyName": policy, "policyArn": format!("arn:aws:iam::111122223333:policy/{policy}")}]}})
    }

    fn policy(name: &str) -> serde_json::Value {
        serde_json::json!({"resourceType": "AWS::IAM::Policy", "resourceId": name, "awsAccountId": "111122223333",
            "ARN": format!("arn:aws:iam::111122223333:policy/{name}"), "configurationItemStatus": "OK",
            "configuration": {"policyName": name, "defaultVersionId": "v1", "policyVersionList": [
                {"versionId": "v1", "isDefaultVersion": true, "document": {"Version": "2012-10-17", "Statement": []}}]}})
    }

    /// A user of account 111122223333 attaching `policies` and in `groups`, or a role
    /// attaching `policies`.
    fn identity_item(user: bool, policies: &[&str], groups: &[&str]) -> Resource {
        let attached: Vec<serde_json::Value> = policies
            .iter()
            .map(|p| serde_json::json!({"policyName": p, "policyArn": format!("arn:aws:iam::111122223333:policy/{p}")}))
            .collect();
        let item = match user {
            true => {
                serde_json::json!({"resourceType": "AWS::IAM::User", "resourceId": "AIDA1", "awsAccountId": "111122223333",
                "configurationItemStatus": "OK", "configuration": {"userName": "u", "path": "/", "userPolicyList": [],
                    "attachedManagedPolicies": attached, "groupList": groups}})
            }
            false => {
                serde_json::json!({"resourceType": "AWS::IAM::Role", "resourceId": "AROA1", "awsAccountId": "111122223333",
                "configurationItemStatus": "OK", "configuration": {"roleName": "r", "path": "/", "rolePolicyList": [],
                    "attachedManagedPolicies": attached}})
            }
        };
        Resource::from_json(&item).unwrap()
    }

    /// The places read again ([`Changes::changed_after`] over each user's and role's
    /// [`Changes::dependencies`]) are exactly the stale ones [`Changes::made_stale`] finds, at
    /// every entry number: a policy changed before, at and after the entry; a group changed;
    /// a group whose policy changed; a group changed and one of its policies changed later; a
    /// group the store does not hold; a policy and a group nothing changed.
    #[test]
    fn the_places_read_again_are_the_stale_ones() {
        let account = "111122223333";
        let arn = |p: &str| format!("arn:aws:iam::{account}:policy/{p}");
        let group = |policies: &[&str]| Identity {
            name: "g".into(),
            path: "/".into(),
            inline: Vec::new(),
            attached: policies.iter().map(|p| AttachedPolicy { name: (*p).into(), arn: arn(p) }).collect(),
            boundary: None,
        };
        let mut store = PolicyStore::new(tempfile::tempfile().unwrap());
        store.put_group(account, "Attaching", ItemVersion::default(), Some(group(&["Later"])));
        store.put_group(account, "Changed", ItemVersion::default(), Some(group(&[])));
        store.put_group(account, "Both", ItemVersion::default(), Some(group(&["Later"])));
        store.put_group(account, "Quiet", ItemVersion::default(), Some(group(&["Unchanged"])));
        let mut changes = Changes::default();
        changes.policies.insert(arn("Early"), 2);
        changes.policies.insert(arn("Later"), 7);
        changes.groups.insert((account.into(), "Changed".into()), 4);
        changes.groups.insert((account.into(), "Both".into()), 1);
        changes.groups.insert((account.into(), "Unheld".into()), 5);
        let changed_after = changes.changed_after(&store);
        let identities = [
            identity_item(true, &["Early"], &[]),
            identity_item(true, &["Later", "Unchanged"], &[]),
            identity_item(true, &[], &["Attaching"]),
            identity_item(true, &[], &["Changed"]),
            identity_item(true, &[], &["Both"]),
            identity_item(true, &[], &["Unheld", "Quiet"]),
            identity_item(true, &["Unchanged"], &["Quiet", "Nowhere"]),
            identity_item(true, &["Early"], &["Changed"]),
            identity_item(false, &["Later"], &[]),
            identity_item(false, &["Unchanged"], &[]),
        ];
        let mut dependencies = Vec::new();
        let mut stale = 0;
        for (n, resource) in identities.iter().enumerate() {
            Changes::dependencies(resource, &mut dependencies);
            for order in 0..9 {
                let read = dependencies.iter().any(|d| changed_after.get(d).is_some_and(|&when| when > order));
                let made_stale = changes.made_stale(resource, order, &store);
                assert_eq!(read, made_stale, "identity {n} at entry {order}");
                stale += usize::from(made_stale);
            }
        }
        // Not every answer the same: the comparison has cases on both sides.
        assert!(stale > 10 && stale < 60, "{stale} stale");
    }

    fn key(id: &str) -> serde_json::Value {
        serde_json::json!({"resourceType": "AWS::KMS::Key", "resourceId": id, "awsAccountId": "111122223333",
            "ARN": format!("arn:aws:kms:us-east-1:111122223333:key/{id}"), "configurationItemStatus": "OK",
            "configuration": {"keyId": id, "keyManager": "CUSTOMER", "keyState": "Enabled"},
            "supplementaryConfiguration": {"Policy": "{\"Statement\": []}"}})
    }

    /// A few keys, then `items`, in a file: the run with [`PANICS_ON_ROLES`].
    fn run_with(items: &[serde_json::Value]) -> (Result<Run, Error>, tempfile::TempPath) {
        let file = tempfile::NamedTempFile::new().unwrap();
        let items: Vec<_> = (0..40).map(|n| key(&format!("k{n}"))).chain(items.iter().cloned()).collect();
        std::fs::write(file.path(), serde_json::json!({"configurationItems": items}).to_string()).unwrap();
        let path = file.into_temp_path();
        let inputs = [Input::File(path.to_path_buf())];
        (run(panicking_rules(), &inputs, Format::Json, Judged::Newest), path)
    }

    /// A rule that panics on an item judged as it arrives stops the run with an error naming
    /// the rule, the item and the file: never a report without that evaluation.
    #[test]
    fn a_rule_that_panics_on_arrival_is_an_error_naming_what_was_lost() {
        let (result, path) = run_with(&[policy("Known"), role("Early", "Known")]);
        let Err(Error::RulePanicked { rule, resource_type, resource_id, file, message }) = result else {
            panic!("not a rule panic: {:?}", result.map(|run| run.errors))
        };
        assert_eq!(
            (rule, resource_type.as_str(), resource_id.as_str()),
            ("panics-on-roles", "AWS::IAM::Role", "Early")
        );
        assert_eq!((file, message), (path.display().to_string(), "deliberate panic on Early".to_owned()));
    }

    /// The same for a role set aside until the end of the input (its policy never comes): it
    /// is judged by the same judges, and its loss is the same error.
    #[test]
    fn a_rule_that_panics_on_a_set_aside_role_is_an_error_naming_what_was_lost() {
        let (result, path) = run_with(&[role("Waits", "Missing")]);
        let Err(Error::RulePanicked { resource_id, file, .. }) = result else {
            panic!("not a rule panic: {:?}", result.map(|run| run.errors))
        };
        assert_eq!((resource_id.as_str(), file), ("Waits", path.display().to_string()));
        // Without the role, the same run reports every key.
        let (result, _path) = run_with(&[policy("Known")]);
        assert_eq!(result.unwrap().collected.counts["panics-on-roles"], [40, 0, 0, 0]);
    }

    /// A set-aside record that does not decode, or whose entry is no longer a user or role, is
    /// an error naming the file and the record; it is never skipped.
    #[test]
    fn a_set_aside_record_that_does_not_decode_is_an_error() {
        let rules = panicking_rules();
        let store = Arc::new(PolicyStore::new(tempfile::tempfile().unwrap()));
        let names = ["export.json".to_owned()];
        let mut entries = Vec::new();
        export::stream_raw(SAMPLE.as_bytes(), &mut |entry| entries.push(entry)).unwrap();
        let key = entries.into_iter().find(|e| e.json().contains("\"AWS::KMS::Key\"")).unwrap();
        let not_an_item = export::RawEntry::from_parts(1, 0, "{\"resourceType\": 1}".into()).unwrap();
        for (kind, says) in [
            // A record cut short: the resource's first field is missing.
            (RecordKind::Resource(Vec::new()), "end of buffer"),
            (RecordKind::Entry(not_an_item), "resourceType"),
        ] {
            let work = Work::SetAside { record: Record { input: 0, number: 7, kind }, store: Arc::clone(&store) };
            let mut evaluations = Vec::new();
            match work.judge(rules, &names, &mut evaluations) {
                Err(Error::SetAsideRecord { file, number: 7, problem }) if file == "export.json" => {
                    assert!(problem.to_string().contains(says), "{problem}")
                }
                other => panic!("{:?}", other.map(|built| (evaluations.len(), built.is_some()))),
            }
        }
        // A sound record is judged.
        let work = Work::SetAside {
            record: Record { input: 0, number: 1, kind: RecordKind::Entry(key) },
            store: Arc::clone(&store),
        };
        let mut evaluations = Vec::new();
        let built = work.judge(rules, &names, &mut evaluations).unwrap();
        assert_eq!(evaluations.len(), 1);
        assert!(built.is_none(), "no decoder built a set-aside item");
    }

    /// A stage's own failure is the one reported, even when a stage it stopped was first to
    /// record that it was interrupted; a panicking stage is an error, not a hung or partial run.
    #[test]
    fn the_first_real_failure_is_reported() {
        let failure = Failure::default();
        failure.fail(Error::Interrupted { stage: "reader" });
        assert!(failure.stopped());
        std::thread::scope(|scope| {
            let handle = stage(scope, &failure, "decoder", || -> Result<(), Error> { panic!("boom") });
            assert!(join(handle, &failure, "decoder").is_none());
        });
        failure.fail(Error::Interrupted { stage: "sequencer" });
        match failure.take() {
            Some(Error::Stopped { stage: "decoder", message }) => assert_eq!(message, "boom"),
            other => panic!("{other:?}"),
        }
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
                assert_eq!(entry.is_some(), needed, "{}", resource.resource_id());
            }
        }
        assert!(items > 10, "the sample has items: {items}");
    }
}
