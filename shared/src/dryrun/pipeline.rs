//! The stages of a dry-run.

use std::collections::BTreeMap;
use std::io::Write;

use super::input::{progress_bar, Input, InputError};
use super::reorder::Reorder;
use super::report::{Evaluation, Finding, Findings};
use super::set_aside::{take_set_aside, SetAside, Waiting};
use crate::export;
use crate::item::{Details, Resource};
use crate::policy::{parse_policy, PolicyKind};
use crate::policy_store::{PolicyRecord, PolicyStore, StorePart};
use crate::resolver::{MemoryResolver, Resolver};
use crate::rule::{Compliance, Context, Params, Rule, Verdict};

/// What a run produced. Memory holds only what the reports need: per-rule counts and, for the
/// table and SARIF, the NON_COMPLIANT evaluations; every evaluation is spooled, in order, to a temporary file from
/// which the JSON report is copied.
pub(super) struct RunOutput {
    pub(super) spool: std::fs::File,
    pub(super) counts: BTreeMap<&'static str, [usize; 3]>,
    pub(super) findings: Findings,
    pub(super) errors: Vec<InputError>,
}

/// Entries travel between the stages in batches of this many: one hand-over, and at most one
/// thread wake-up, a batch rather than an entry. Handing over single entries cost a futex call
/// and often a context switch each (3.5 futex calls an item on 100 MB, `strace -c -f`).
pub(super) const BATCH: usize = 32;

/// How many batches may wait in each queue between the reader and the judges: 256 entries, the
/// bound that keeps memory flat however large the input.
pub(super) const QUEUE_DEPTH: usize = 8;

/// The result of one item, by input order: its evaluations, or a mark that it waits for every
/// input to be read (a user or role whose attached policies or groups are not known yet).
pub(super) enum Slot {
    Judged(Vec<Evaluation>),
    Deferred,
    /// Not an item (an AWS managed policy, an entry in error).
    Nothing,
}

/// Receives evaluations in input order (a [`Reorder`] buffer over what the judges finish out of
/// order: at most the queue depth apart) and writes them out.
pub(super) struct Collector {
    pub(super) spool: std::io::BufWriter<std::fs::File>,
    pub(super) spooled: usize,
    pub(super) counts: BTreeMap<&'static str, [usize; 3]>,
    pub(super) findings: Option<std::io::BufWriter<std::fs::File>>,
    pub(super) in_order: Reorder<Slot>,
}

impl Collector {
    pub(super) fn new(keep_findings: bool) -> std::io::Result<Collector> {
        Ok(Collector {
            spool: std::io::BufWriter::new(tempfile::tempfile()?),
            spooled: 0,
            counts: BTreeMap::new(),
            findings: if keep_findings { Some(std::io::BufWriter::new(tempfile::tempfile()?)) } else { None },
            in_order: Reorder::new(),
        })
    }

    /// Takes the slot of item `order`; writes every slot that is now next in line.
    pub(super) fn take(&mut self, order: usize, slot: Slot) -> std::io::Result<()> {
        self.in_order.push(order, slot);
        while let Some((_, slot)) = self.in_order.pop() {
            if let Slot::Judged(evaluations) = slot {
                for evaluation in evaluations {
                    self.write(evaluation)?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn write(&mut self, evaluation: Evaluation) -> std::io::Result<()> {
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
pub(super) fn read_and_judge(
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
            let result = match input.open(progress.as_ref()) {
                Ok(reader) => export::stream_raw(reader, &mut on_entry).map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
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
pub(super) enum Decoded {
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
pub(super) fn decode(name: &str, input: usize, entry: export::RawEntry) -> Decoded {
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
pub(super) struct Sequenced {
    pub(super) store: PolicyStore,
    pub(super) set_aside: SetAside,
    /// With the number of the input each is in.
    pub(super) errors: Vec<(usize, InputError)>,
}

/// Takes decoded entries in input order (a [`Reorder`] buffer over what the decoders finish out
/// of order), fills the policy store, and sends each item to a judge or sets it aside.
pub(super) fn sequence(
    decoded: std::sync::mpsc::Receiver<Vec<(usize, Decoded)>>,
    to_judge: std::sync::mpsc::SyncSender<Vec<(usize, Resource, StorePart)>>,
    to_collect: std::sync::mpsc::Sender<Vec<(usize, Slot)>>,
) -> std::io::Result<Sequenced> {
    let mut store = PolicyStore::new(tempfile::tempfile()?);
    let mut set_aside = SetAside::new()?;
    let mut errors = Vec::new();
    let mut in_order = Reorder::new();
    for batch in decoded {
        for (order, entry) in batch {
            in_order.push(order, entry);
        }
        let mut judging = Vec::new();
        let mut slots = Vec::new();
        while let Some((next, entry)) = in_order.pop() {
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
pub(super) fn resolver_part(resource: &Resource, resolver: &PolicyStore) -> Option<StorePart> {
    let (identity, groups) = match &resource.details {
        Details::Role(role) => (&role.identity, &[][..]),
        Details::User(user) => (&user.identity, user.groups.as_slice()),
        _ => return Some(resolver.part(&resource.account_id, [], [])),
    };
    let known = |identity: &crate::item::Identity| {
        identity.attached.iter().all(|a| resolver.knows_policy(&a.arn) || is_bundled(&a.arn))
    };
    let groups_known = groups.iter().all(|g| resolver.group(&resource.account_id, g).is_ok_and(|group| known(&group)));
    (known(identity) && groups_known).then(|| {
        resolver.part(
            &resource.account_id,
            identity.attached.iter().map(|a| a.arn.as_str()),
            groups.iter().map(String::as_str),
        )
    })
}

/// Is `arn` one of the bundled AWS managed policies?
pub(super) fn is_bundled(arn: &str) -> bool {
    !matches!(MemoryResolver::new().managed_policy(arn), Err(crate::resolver::ResolveError::NotFound(_)))
}

/// Judges the users and roles set aside, in input order, with the full resolver: in batches
/// spread over every core, so that memory holds one batch.
pub(super) fn judge_set_aside(
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
pub(super) fn judge(
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

pub(super) fn evaluation(rule: &Rule, resource: &Resource, verdict: Verdict) -> Evaluation {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The decoders hand on an item's raw entry only where it may be set aside as that entry.
    use crate::dryrun::SAMPLE;

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
}
