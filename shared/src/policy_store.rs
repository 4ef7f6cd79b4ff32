//! The dry-run's managed policies, kept in a temporary file so that memory does not grow with
//! how many the inputs define.
//!
//! A role in one file may attach a customer managed policy defined in any other, so the
//! dry-run must be able to answer for every managed policy it has read, until the end. Held in
//! memory, as [`crate::MemoryResolver`] holds them, those answers were what still grew with
//! the input (issue 7's memory target, issue 3): two items in five of a Config snapshot are
//! policies. Here each one is written once to an anonymous temporary file and memory keeps:
//!
//! - an index entry per policy: a 128-bit digest of its ARN (16 bytes, where the ARN itself
//!   took 80 with its allocation: a third of the 1 GB workload's index memory; see
//!   [`crate::version::digest`] for why a digest is as good as the name) and where its record
//!   is (offset and length), or the
//!   policy's version when no statement covers a KMS action (nothing is written then: most
//!   AWS documents grant no KMS action), or the parse error (rare; errors are kept as they
//!   are);
//! - a cache of the policies read back most recently, bounded by the size of their records, so
//!   that many roles attaching one policy do not read it each time.
//!
//! **What a record holds.** The policy as the resolver answers it: only the statements that
//! cover a KMS action (no rule reads the others; statement names keep their original index), in
//! the checked model's own serde form, in postcard's binary encoding (the process that writes a
//! record is the one that reads it). Reading back is postcard over a few hundred bytes (JSON
//! was 2% of the 100 MB GAAD run's instructions), far cheaper than the other choice, keeping
//! the document text and parsing it again with [`crate::policy::parse_policy`]: that would
//! redo percent-decoding, the whole document (every non-KMS statement too) and the expansion
//! of every action pattern against the KMS catalog, on every cache miss. The records are made by [`PolicyRecord::of`], off the serial
//! path (the dry-run's decoders run it on every core); the store only appends them.
//!
//! **Who reads, and how.** One thread (the dry-run's sequencer) adds policies; judges on every
//! core read at the same time. Records are written with positioned writes and read with
//! positioned reads ([`FileExt::read_at`]) on one shared file, so no reader moves a cursor
//! another relies on; a record is complete before its index entry exists. The cache sits behind
//! a mutex held only to look up or insert an `Arc`, never while reading or parsing. Judges are
//! not given the store itself while the sequencer keeps changing its index: they get a
//! [`StorePart`], the index entries one item needs, copied, resolved lazily when a rule asks.
//! Users and roles set aside until the end of the input are judged with the whole store,
//! shared (`Arc`), once it no longer changes.
//!
//! **Groups stay in memory**: few exports define more than a few hundred (the workloads of
//! BENCHMARKS.md define 50 to 100), and a user's verdict needs the group's inline documents
//! whole.
//!
//! **What is not kept**: unavailable lookups and the management account ([`Resolver`]'s
//! defaults apply): the dry-run has neither. Managed policies absent from the store fall back
//! to the bundled AWS managed policies, as with [`crate::MemoryResolver`].

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex, PoisonError};

use crate::digest_map::{DigestMap, Slot};
use crate::item::{Document, Identity};
use crate::policy::{DocumentError, Policy, PolicyVersion, Statement};
use crate::resolver::{Names, ResolveError, Resolver};
use crate::version::{digest, ItemVersion};

/// How many bytes of records the cache keeps at most, in two generations of half as many: the
/// policies read most recently stay, older ones are dropped a generation at a time. Parsed,
/// a record takes about nine times its size, so this bounds the cache to a few megabytes.
/// (Records were JSON, three times larger, under a budget of 2 MiB: the corpus's KMS
/// statements are 201 KB as JSON and 67 KB in postcard. The budget keeps the policies held in
/// memory the same.)
pub const CACHE_BYTES: usize = (2 << 20) / 3;

/// Why a policy could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The KMS statements did not serialize (nothing in the model should make this happen).
    #[error("the policy's KMS statements could not be serialized: {0}")]
    Encode(#[from] postcard::Error),
    /// A record larger than a record's length field (4 GiB).
    #[error("a policy record of {0} bytes is too large to store")]
    TooLarge(usize),
    /// The temporary file could not be written.
    #[error("the policy store could not be written: {0}")]
    Write(#[from] std::io::Error),
}

/// A managed policy made ready for the store: what the resolver will answer for it.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyRecord {
    /// It parsed and no statement covers a KMS action: only its version is kept.
    NoKms(PolicyVersion),
    /// It parsed: its KMS statements, serialized (a [`Policy`] in serde's form, postcard).
    Kms(Vec<u8>),
    /// It does not parse.
    Invalid(DocumentError),
}

impl PolicyRecord {
    /// The record for a managed policy's default document: its statements that cover no KMS
    /// action are dropped, as [`Policy::retain_kms_statements`] drops them (no rule reads them;
    /// the others keep their names).
    pub fn of(document: &Document) -> Result<PolicyRecord, StoreError> {
        let policy = match document {
            Ok(policy) => policy,
            Err(error) => return Ok(PolicyRecord::Invalid(error.clone())),
        };
        let statements: Vec<&Statement> = policy.statements.iter().filter(|s| !s.kms_actions.is_empty()).collect();
        if statements.is_empty() {
            return Ok(PolicyRecord::NoKms(policy.version));
        }
        let kms_only = KmsStatements { version: policy.version, statements };
        Ok(PolicyRecord::Kms(postcard::to_stdvec(&kms_only)?))
    }
}

/// A [`Policy`] with borrowed statements: the same serde form, without copying them.
#[derive(serde::Serialize)]
struct KmsStatements<'a> {
    version: PolicyVersion,
    statements: Vec<&'a Statement>,
}

/// Where the store answers a managed policy from.
#[derive(Debug, Clone)]
enum Entry {
    /// Parsed, no KMS statement: nothing was written.
    NoKms(PolicyVersion),
    /// Parsed: the record at `offset`, `len` bytes long.
    Stored { offset: u64, len: u32 },
    /// Does not parse.
    Invalid(Arc<DocumentError>),
}

/// How many bytes of records are gathered before they are written to the file, in one write.
/// A write for each record was one system call for each policy of an export: 0.37 s of the
/// serial sequencer's time on the 1 GB GAAD workload (BENCHMARKS.md, stop 25).
pub const WRITE_BYTES: usize = 256 << 10;

/// The file and the cache: what the store and every [`StorePart`] share.
#[derive(Debug)]
struct Shelf {
    file: File,
    cache: Mutex<Cache>,
    /// The records appended since the last write to the file.
    unwritten: Mutex<Unwritten>,
    /// When `unwritten` is written out.
    write_bytes: usize,
}

/// Records appended but not written to the file yet: they are read from here. Every record
/// before `start` is in the file, whole; every one from `start` on is in `bytes`, whole.
#[derive(Debug, Default)]
struct Unwritten {
    /// Where `bytes` begin in the file.
    start: u64,
    bytes: Vec<u8>,
}

impl Shelf {
    /// The policy an index entry stands for; a record that cannot be read back makes the
    /// policy unavailable (the rules fail closed on it).
    fn policy(&self, arn: &str, entry: &Entry) -> Result<Arc<Policy>, ResolveError> {
        let (offset, len) = match entry {
            Entry::NoKms(version) => return Ok(Arc::new(Policy { version: *version, statements: Arc::from([]) })),
            Entry::Invalid(error) => {
                return Err(ResolveError::Invalid { what: arn.into(), error: DocumentError::clone(error) })
            }
            Entry::Stored { offset, len } => (*offset, *len),
        };
        if let Some(policy) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(offset) {
            return Ok(policy);
        }
        let policy = self.read(offset, len).map(Arc::new).map_err(|reason| ResolveError::Unavailable {
            what: arn.into(),
            reason: format!("the dry-run's policy store could not read it back: {reason}"),
        })?;
        self.cache.lock().unwrap_or_else(PoisonError::into_inner).insert(offset, len as usize, Arc::clone(&policy));
        Ok(policy)
    }

    fn read(&self, offset: u64, len: u32) -> Result<Policy, String> {
        let bytes = self.read_bytes(offset, len).map_err(|e| e.to_string())?;
        postcard::from_bytes(&bytes).map_err(|e| e.to_string())
    }

    fn read_bytes(&self, offset: u64, len: u32) -> std::io::Result<Vec<u8>> {
        {
            let unwritten = self.unwritten.lock().unwrap_or_else(PoisonError::into_inner);
            if offset >= unwritten.start {
                // Not written out yet: the record is whole in `bytes`.
                let from = usize::try_from(offset - unwritten.start).map_err(std::io::Error::other)?;
                let record = from.checked_add(len as usize).and_then(|end| unwritten.bytes.get(from..end));
                return record
                    .map(<[u8]>::to_vec)
                    .ok_or_else(|| std::io::Error::other(format!("no record of {len} bytes at {offset}")));
            }
        }
        // Before `start`: written out, whole, before `start` moved past it.
        let mut bytes = vec![0u8; len as usize];
        self.file.read_exact_at(&mut bytes, offset)?;
        Ok(bytes)
    }

    /// Appends `record`, which begins at `offset` in the file (right after the last record),
    /// writing out what was gathered once it reaches `write_bytes`. A panic while the lock is
    /// held leaves `start` and `bytes` as they were or as the write left them, both whole, so
    /// a poisoned lock is taken as it is.
    fn append(&self, record: &[u8], offset: u64) -> std::io::Result<()> {
        let mut unwritten = self.unwritten.lock().unwrap_or_else(PoisonError::into_inner);
        if unwritten.start + unwritten.bytes.len() as u64 != offset {
            return Err(std::io::Error::other(format!("a record appended at {offset}, not at the store's end")));
        }
        unwritten.bytes.extend_from_slice(record);
        if unwritten.bytes.len() >= self.write_bytes {
            self.file.write_all_at(&unwritten.bytes, unwritten.start)?;
            unwritten.start += unwritten.bytes.len() as u64;
            unwritten.bytes.clear();
        }
        Ok(())
    }
}

/// The policies read most recently, by record offset, in two generations: lookups move an
/// entry into the young one; when the young one outgrows half the budget it becomes the old
/// one and the old one is dropped. Each step is a hash-map operation, so the lock is brief.
#[derive(Debug)]
struct Cache {
    budget: usize,
    young: HashMap<u64, (usize, Arc<Policy>)>,
    young_bytes: usize,
    old: HashMap<u64, (usize, Arc<Policy>)>,
}

impl Cache {
    fn new(budget: usize) -> Cache {
        Cache { budget, young: HashMap::new(), young_bytes: 0, old: HashMap::new() }
    }

    fn get(&mut self, offset: u64) -> Option<Arc<Policy>> {
        if let Some((_, policy)) = self.young.get(&offset) {
            return Some(Arc::clone(policy));
        }
        let (len, policy) = self.old.remove(&offset)?;
        self.insert(offset, len, Arc::clone(&policy));
        Some(policy)
    }

    fn insert(&mut self, offset: u64, len: usize, policy: Arc<Policy>) {
        if self.young_bytes + len > self.budget / 2 {
            self.old = std::mem::take(&mut self.young);
            self.young_bytes = 0;
        }
        if self.young.insert(offset, (len, policy)).is_none() {
            self.young_bytes += len;
        }
    }

    /// The bytes of records held, both generations.
    fn bytes(&self) -> usize {
        self.young_bytes + self.old.values().map(|(len, _)| len).sum::<usize>()
    }
}

/// What adding or removing a policy or group did to the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replaced {
    /// There was none of that name.
    Nothing,
    /// There was one, and it reads the same (the same policy, the same group).
    Same,
    /// There was one, and it reads differently (or it is gone now).
    Different,
    /// The store holds what an item of the same version or a newer one said: nothing changed.
    Kept,
}

/// Customer managed and AWS managed policies from the inputs (on disk, with an index in memory)
/// and groups (in memory), as one [`Resolver`].
#[derive(Debug)]
pub struct PolicyStore {
    shelf: Arc<Shelf>,
    /// Where the next record goes.
    end: u64,
    /// By the digest of the ARN ([`crate::version::digest`]).
    policies: DigestMap<Shelved<Entry>>,
    groups: HashMap<(String, String), Shelved<Arc<Identity>>>,
}

/// What the newest item of a policy ARN or group name said, and that item's version.
#[derive(Debug)]
struct Shelved<T> {
    version: ItemVersion,
    /// `None`: the newest item is a deletion.
    entry: Option<T>,
}

impl PolicyStore {
    /// A store writing its records to `file`, an empty file open for reading and writing (the
    /// dry-run passes an anonymous temporary file), with a cache of [`CACHE_BYTES`].
    pub fn new(file: File) -> PolicyStore {
        PolicyStore::with_cache(file, CACHE_BYTES)
    }

    /// As [`PolicyStore::new`], with a cache of `cache_bytes` bytes of records.
    pub fn with_cache(file: File, cache_bytes: usize) -> PolicyStore {
        PolicyStore::with_sizes(file, cache_bytes, WRITE_BYTES)
    }

    /// As [`PolicyStore::with_cache`], writing records out `write_bytes` at a time.
    fn with_sizes(file: File, cache_bytes: usize, write_bytes: usize) -> PolicyStore {
        let unwritten = Mutex::new(Unwritten::default());
        PolicyStore {
            shelf: Arc::new(Shelf { file, cache: Mutex::new(Cache::new(cache_bytes)), unwritten, write_bytes }),
            end: 0,
            policies: DigestMap::default(),
            groups: HashMap::new(),
        }
    }

    /// Puts what the item of `version` says of managed policy `arn`: its record, or `None`
    /// when the item is a deletion. The store holds, per ARN, what the newest item read so far
    /// says, whatever resource it is of (a policy deleted and created again under its name is
    /// two resources, one ARN); of two items of one version the first read stands, as for the
    /// items judged. A record is on disk when this returns.
    pub fn put_policy(
        &mut self,
        arn: &str,
        version: ItemVersion,
        record: Option<PolicyRecord>,
    ) -> Result<Replaced, StoreError> {
        let slot = self.policies.slot(&digest(&[arn]));
        let held = match &slot {
            Slot::Held(held) => Some(&**held),
            Slot::Vacant(_) => None,
        };
        if held.is_some_and(|held| held.version >= version) {
            return Ok(Replaced::Kept);
        }
        let entry = match record {
            None => None,
            Some(PolicyRecord::NoKms(policy_version)) => Some(Entry::NoKms(policy_version)),
            Some(PolicyRecord::Invalid(error)) => Some(Entry::Invalid(Arc::new(error))),
            Some(PolicyRecord::Kms(bytes)) => {
                let same = match held.and_then(|held| held.entry.as_ref()) {
                    Some(Entry::Stored { offset, len }) => {
                        self.shelf.read_bytes(*offset, *len).is_ok_and(|stored| stored == bytes)
                    }
                    _ => false,
                };
                match same {
                    true => held.and_then(|held| held.entry.clone()),
                    false => {
                        let len = u32::try_from(bytes.len()).map_err(|_| StoreError::TooLarge(bytes.len()))?;
                        self.shelf.append(&bytes, self.end)?;
                        let entry = Entry::Stored { offset: self.end, len };
                        self.end += u64::from(len);
                        Some(entry)
                    }
                }
            }
        };
        let replaced = match (held.map(|held| &held.entry), &entry) {
            // A deletion of a policy never read, or read deleted.
            (None | Some(None), None) => Replaced::Same,
            (None, Some(_)) => Replaced::Nothing,
            (Some(Some(Entry::NoKms(a))), Some(Entry::NoKms(b))) if a == b => Replaced::Same,
            (Some(Some(Entry::Invalid(a))), Some(Entry::Invalid(b))) if a == b => Replaced::Same,
            (Some(Some(Entry::Stored { offset: a, .. })), Some(Entry::Stored { offset: b, .. })) if a == b => {
                Replaced::Same
            }
            _ => Replaced::Different,
        };
        match slot {
            Slot::Held(held) => *held = Shelved { version, entry },
            Slot::Vacant(vacant) => vacant.put(Shelved { version, entry }),
        }
        Ok(replaced)
    }

    /// Puts what the item of `version` says of group `name` of `account`: the group, or `None`
    /// when the item is a deletion; the newest item stands, as for [`PolicyStore::put_policy`].
    pub fn put_group(&mut self, account: &str, name: &str, version: ItemVersion, group: Option<Identity>) -> Replaced {
        let key = (account.to_owned(), name.to_owned());
        let held = self.groups.get(&key);
        if held.is_some_and(|held| held.version >= version) {
            return Replaced::Kept;
        }
        let group = group.map(Arc::new);
        let replaced = match held {
            None if group.is_none() => Replaced::Same,
            None => Replaced::Nothing,
            Some(held) if held.entry == group => Replaced::Same,
            Some(_) => Replaced::Different,
        };
        self.groups.insert(key, Shelved { version, entry: group });
        replaced
    }

    /// The group `name` of `account`, if the store holds it.
    pub fn group_identity(&self, account: &str, name: &str) -> Option<&Identity> {
        self.held_group(account, name).map(Arc::as_ref)
    }

    /// Every group the store holds (not deleted): its account, name and identity.
    pub fn groups(&self) -> impl Iterator<Item = (&str, &str, &Identity)> {
        self.groups
            .iter()
            .filter_map(|((account, name), held)| Some((account.as_str(), name.as_str(), held.entry.as_deref()?)))
    }

    fn held_group(&self, account: &str, name: &str) -> Option<&Arc<Identity>> {
        self.groups.get(&(account.to_owned(), name.to_owned())).and_then(|held| held.entry.as_ref())
    }

    /// Is this managed policy in the store (and not deleted)? Bundled AWS managed policies are
    /// not counted.
    pub fn knows_policy(&self, arn: &str) -> bool {
        self.policies.get(&digest(&[arn])).is_some_and(|held| held.entry.is_some())
    }

    /// The part of the store that judging an identity can ask for: these managed policies,
    /// these groups of `account` and their managed policies. It copies index entries, not
    /// policies: a rule's question reads the record then, through the shared cache.
    pub fn part<'a>(&self, account: &str, policy_arns: impl Names<'a>, group_names: impl Names<'a>) -> StorePart {
        let (mut entries, mut groups) = (Vec::new(), Vec::new());
        let copy_policy = |entries: &mut Vec<(String, Entry)>, arn: &str| {
            if let Some(entry) = self.policies.get(&digest(&[arn])).and_then(|held| held.entry.as_ref()) {
                entries.push((arn.to_owned(), entry.clone()));
            }
        };
        for arn in policy_arns {
            copy_policy(&mut entries, arn);
        }
        for name in group_names {
            if let Some(group) = self.held_group(account, name) {
                for attached in &group.attached {
                    copy_policy(&mut entries, &attached.arn);
                }
                groups.push((account.to_owned(), Arc::clone(group)));
            }
        }
        let policies = (!entries.is_empty()).then(|| PartPolicies { shelf: Arc::clone(&self.shelf), entries });
        StorePart { policies, groups }
    }

    /// How many bytes of records the cache holds now.
    pub fn cached_bytes(&self) -> usize {
        self.shelf.cache.lock().unwrap_or_else(PoisonError::into_inner).bytes()
    }
}

impl Resolver for PolicyStore {
    fn managed_policy(&self, arn: &str) -> Result<Arc<Policy>, ResolveError> {
        match self.policies.get(&digest(&[arn])).map(|held| held.entry.as_ref()) {
            Some(Some(entry)) => self.shelf.policy(arn, entry),
            // Deleted in the newest item: as if never read.
            Some(None) => Err(ResolveError::NotFound(arn.to_owned())),
            None => crate::resolver::bundled_fallback(arn),
        }
    }

    fn group(&self, account: &str, name: &str) -> Result<Arc<Identity>, ResolveError> {
        self.held_group(account, name).cloned().ok_or_else(|| ResolveError::NotFound(format!("group {name}")))
    }
}

/// What one item's judge may ask a [`PolicyStore`] for ([`PolicyStore::part`]): index entries
/// and groups, read from the shared file when asked.
#[derive(Debug)]
pub struct StorePart {
    /// None for most items: a key, a policy, a user or role that attaches no managed policy
    /// the store holds. Such a part holds no reference to the shared file: its count, changed
    /// by the sequencer and by a judge for every item, was a cache line the two cores handed
    /// back and forth (`perf`, BENCHMARKS.md "Stop 27").
    policies: Option<PartPolicies>,
    groups: Vec<(String, Arc<Identity>)>,
}

/// The managed policies a [`StorePart`] may read, and the file they are read from.
#[derive(Debug)]
struct PartPolicies {
    shelf: Arc<Shelf>,
    /// A handful at most (an identity's attachments and its groups'): searched in order.
    entries: Vec<(String, Entry)>,
}

impl Resolver for StorePart {
    fn managed_policy(&self, arn: &str) -> Result<Arc<Policy>, ResolveError> {
        let held = self.policies.as_ref().and_then(|policies| {
            let (_, entry) = policies.entries.iter().find(|(known, _)| known == arn)?;
            Some((&policies.shelf, entry))
        });
        match held {
            Some((shelf, entry)) => shelf.policy(arn, entry),
            None => crate::resolver::bundled_fallback(arn),
        }
    }

    fn group(&self, account: &str, name: &str) -> Result<Arc<Identity>, ResolveError> {
        self.groups
            .iter()
            .find(|(known, group)| known == account && group.name == name)
            .map(|(_, group)| Arc::clone(group))
            .ok_or_else(|| ResolveError::NotFound(format!("group {name}")))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use serde_json::{json, Value};

    use super::*;

    /// An index entry, what the store keeps in memory per managed policy, stays small (the
    /// README's figure): 32 bytes beside the 16-byte digest of its ARN.
    #[test]
    fn an_index_entry_is_32_bytes() {
        assert_eq!(std::mem::size_of::<Shelved<Entry>>(), 32);
    }
    use crate::item::AttachedPolicy;
    use crate::policy::{parse_policy, PolicyKind};
    use crate::MemoryResolver;

    const ACCOUNT: &str = "111122223333";

    /// An anonymous temporary file, as the dry-run gives the store.
    fn scratch_file() -> File {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "kms-guardrails-store-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        file
    }

    /// The 1,452 real AWS managed policy documents (bundled), as customer managed policies
    /// of one account, so that none of them resolves from the bundled set by its ARN.
    fn corpus() -> Vec<(String, Document)> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(crate::bundled::DATA).read_to_string(&mut text).unwrap();
        let gaad: Value = serde_json::from_str(&text).unwrap();
        let policies = gaad["Policies"].as_array().unwrap();
        let documents: Vec<(String, Document)> = policies
            .iter()
            .map(|p| {
                let default =
                    p["PolicyVersionList"].as_array().unwrap().iter().find(|v| v["IsDefaultVersion"] == true).unwrap();
                let arn = format!("arn:aws:iam::{ACCOUNT}:policy/{}", p["PolicyName"].as_str().unwrap());
                (arn, parse_policy(&default["Document"], PolicyKind::Identity))
            })
            .collect();
        assert_eq!(documents.len(), 1452);
        documents
    }

    /// Both resolvers, given the same policies.
    fn both(documents: &[(String, Document)], cache_bytes: usize) -> (MemoryResolver, PolicyStore) {
        both_writing(documents, cache_bytes, WRITE_BYTES)
    }

    /// As [`both`], the store writing its records out `write_bytes` at a time.
    fn both_writing(
        documents: &[(String, Document)],
        cache_bytes: usize,
        write_bytes: usize,
    ) -> (MemoryResolver, PolicyStore) {
        let mut memory = MemoryResolver::new();
        let mut store = PolicyStore::with_sizes(scratch_file(), cache_bytes, write_bytes);
        for (arn, document) in documents {
            memory.add_policy(arn.clone(), document.clone());
            store.put_policy(arn, ItemVersion::default(), Some(PolicyRecord::of(document).unwrap())).unwrap();
        }
        (memory, store)
    }

    /// An answer, owned, so that two resolvers' answers compare.
    fn answer(resolver: &dyn Resolver, arn: &str) -> Result<Policy, ResolveError> {
        resolver.managed_policy(arn).map(|policy| Policy::clone(&policy))
    }

    fn invalid() -> (String, Document) {
        let document =
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "kms:*", "Resource": "*"}]});
        (format!("arn:aws:iam::{ACCOUNT}:policy/Broken"), parse_policy(&document, PolicyKind::Identity))
    }

    #[test]
    fn every_corpus_policy_reads_back_as_the_memory_resolver_answers() {
        let documents = corpus();
        // A small cache, so that reading everything twice misses, hits and evicts; records
        // written out a few at a time, so that some are read from the file and the last from
        // memory (all of the corpus's records together are under `WRITE_BYTES`).
        let (memory, store) = both_writing(&documents, 64 << 10, 1000);
        let unwritten = store.shelf.unwritten.lock().unwrap();
        assert!(unwritten.start > 50_000 && !unwritten.bytes.is_empty(), "{} written", unwritten.start);
        drop(unwritten);
        let with_kms = documents
            .iter()
            .filter(|(_, d)| d.as_ref().is_ok_and(|p| p.statements.iter().any(|s| !s.kms_actions.is_empty())))
            .count();
        assert!(with_kms > 100 && with_kms < 1452, "{with_kms} documents hold KMS statements");
        for _ in 0..2 {
            for (arn, _) in &documents {
                let expected = answer(&memory, arn);
                assert!(expected.is_ok(), "{arn}");
                assert_eq!(answer(&store, arn), expected, "{arn}");
                assert_eq!(answer(&store.part(ACCOUNT, [arn.as_str()], []), arn), expected, "{arn}");
            }
        }
        let named = documents.iter().find(|(arn, _)| arn.ends_with("/AWSKeyManagementServicePowerUser")).unwrap();
        let policy = store.managed_policy(&named.0).unwrap();
        assert!(!policy.statements.is_empty(), "the statement names are the document's: {policy:?}");
    }

    #[test]
    fn parse_errors_and_policies_not_in_the_store_answer_as_in_memory() {
        let broken = invalid();
        assert!(broken.1.is_err());
        let (memory, store) = both(std::slice::from_ref(&broken), CACHE_BYTES);
        let memory_part = memory.part(ACCOUNT, [broken.0.as_str()], []);
        let store_part = store.part(ACCOUNT, [broken.0.as_str()], []);
        let absent_customer = format!("arn:aws:iam::{ACCOUNT}:policy/Absent");
        for arn in [broken.0.as_str(), "arn:aws:iam::aws:policy/AdministratorAccess", absent_customer.as_str()] {
            let expected = answer(&memory, arn);
            assert_eq!(answer(&store, arn), expected, "{arn}");
            assert_eq!(answer(&store_part, arn), answer(&memory_part, arn), "{arn}");
        }
        assert!(matches!(answer(&store, &broken.0), Err(ResolveError::Invalid { .. })));
        assert!(answer(&store, "arn:aws:iam::aws:policy/AdministratorAccess").is_ok(), "bundled");
        assert_eq!(answer(&store, &absent_customer), Err(ResolveError::NotFound(absent_customer.clone())));
        assert!(store.knows_policy(&broken.0));
        assert!(!store.knows_policy("arn:aws:iam::aws:policy/AdministratorAccess"));
        // A part answers only what it was given; the rest falls back as the whole would not.
        let empty_part = store.part(ACCOUNT, [], []);
        assert_eq!(answer(&empty_part, &broken.0), Err(ResolveError::NotFound(broken.0.clone())));
        assert_eq!(answer(&empty_part, &broken.0), answer(&memory.part(ACCOUNT, [], []), &broken.0));
        // A part with no policy holds no reference to the file; one with a policy does.
        drop(empty_part);
        let shared = Arc::strong_count(&store.shelf);
        let empty_part = store.part(ACCOUNT, [], []);
        assert!(empty_part.policies.is_none());
        assert_eq!(Arc::strong_count(&store.shelf), shared);
        let part = store.part(ACCOUNT, [broken.0.as_str()], []);
        assert_eq!(Arc::strong_count(&store.shelf), shared + 1);
        drop(part);
    }

    #[test]
    fn groups_and_their_attached_policies_come_with_the_part() {
        let documents = corpus();
        let (mut memory, mut store) = both(&documents, CACHE_BYTES);
        let attached = documents.iter().find(|(arn, _)| arn.ends_with("/AWSKeyManagementServicePowerUser")).unwrap();
        let group = Identity {
            name: "Admins".into(),
            path: "/".into(),
            inline: Vec::new(),
            attached: vec![AttachedPolicy { name: "PowerUser".into(), arn: attached.0.clone() }],
            boundary: None,
        };
        memory.add_group(ACCOUNT, group.clone());
        store.put_group(ACCOUNT, &group.name.clone(), ItemVersion::default(), Some(group));
        let memory_part = memory.part(ACCOUNT, [], ["Admins", "Nobody"]);
        let store_part = store.part(ACCOUNT, [], ["Admins", "Nobody"]);
        assert_eq!(answer(&store_part, &attached.0), answer(&memory_part, &attached.0));
        assert!(answer(&store_part, &attached.0).is_ok_and(|p| !p.statements.is_empty()));
        for (resolver, name) in [(&store_part as &dyn Resolver, "part"), (&store, "store")] {
            assert_eq!(resolver.group(ACCOUNT, "Admins").unwrap().name, "Admins", "{name}");
            assert_eq!(resolver.group(ACCOUNT, "Nobody"), memory_part.group(ACCOUNT, "Nobody"), "{name}");
            assert_eq!(resolver.group("444455556666", "Admins"), memory.group("444455556666", "Admins"), "{name}");
            assert!(resolver.management_account().is_err(), "{name}");
        }
    }

    #[test]
    fn a_later_policy_replaces_an_earlier_one_for_later_parts() {
        let documents = corpus();
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/Twice");
        let first = documents.iter().find(|(a, _)| a.ends_with("/AWSKeyManagementServicePowerUser")).unwrap();
        let second = documents.iter().find(|(a, _)| a.ends_with("/AdministratorAccess")).unwrap();
        let (mut memory, mut store) = both(&[(arn.clone(), first.1.clone())], CACHE_BYTES);
        let (memory_before, store_before) =
            (memory.part(ACCOUNT, [arn.as_str()], []), store.part(ACCOUNT, [arn.as_str()], []));
        assert_eq!(answer(&store, &arn), answer(&memory, &arn), "read (and cached) before the replacement");
        memory.add_policy(arn.clone(), second.1.clone());
        let newer = ItemVersion::new(Some("2026-01-02T00:00:00Z"), None).unwrap();
        let replaced = store.put_policy(&arn, newer, Some(PolicyRecord::of(&second.1).unwrap())).unwrap();
        assert_eq!(replaced, Replaced::Different);
        assert_eq!(answer(&store, &arn), answer(&memory, &arn));
        assert_ne!(answer(&store, &arn), answer(&store_before, &arn));
        assert_eq!(answer(&store_before, &arn), answer(&memory_before, &arn));
    }

    /// The newest item of an ARN stands, whatever the order: an older one changes nothing, the
    /// same document again is no change, and a newer deletion takes the policy out.
    #[test]
    fn the_newest_item_of_a_policy_stands() {
        let documents = corpus();
        let arn = format!("arn:aws:iam::{ACCOUNT}:policy/Versions");
        let record = |name: &str| {
            let (_, document) = documents.iter().find(|(a, _)| a.ends_with(name)).unwrap();
            Some(PolicyRecord::of(document).unwrap())
        };
        let day = |d: u32| ItemVersion::new(Some(&format!("2026-01-0{d}T00:00:00Z")), None).unwrap();
        let mut store = PolicyStore::new(scratch_file());
        let put = |store: &mut PolicyStore, d, name| store.put_policy(&arn, day(d), record(name)).unwrap();
        assert_eq!(put(&mut store, 2, "/AdministratorAccess"), Replaced::Nothing);
        assert_eq!(put(&mut store, 1, "/AWSKeyManagementServicePowerUser"), Replaced::Kept);
        assert_eq!(put(&mut store, 2, "/AWSKeyManagementServicePowerUser"), Replaced::Kept, "a tie keeps the first");
        assert_eq!(put(&mut store, 3, "/AdministratorAccess"), Replaced::Same);
        assert!(answer(&store, &arn).is_ok_and(|p| !p.statements.is_empty()));
        assert_eq!(store.put_policy(&arn, day(4), None).unwrap(), Replaced::Different);
        assert!(!store.knows_policy(&arn));
        assert!(matches!(answer(&store, &arn), Err(ResolveError::NotFound(_))));
        assert_eq!(put(&mut store, 3, "/AdministratorAccess"), Replaced::Kept, "an older item does not bring it back");
    }

    #[test]
    fn judges_on_several_threads_read_the_same_answers() {
        let mut documents = corpus();
        documents.push(invalid());
        // A cache smaller than what the threads read, so that they evict each other's entries.
        let (memory, store) = both(&documents, 32 << 10);
        let expected: Vec<Result<Policy, ResolveError>> =
            documents.iter().map(|(arn, _)| answer(&memory, arn)).collect();
        let threads = 4;
        std::thread::scope(|scope| {
            for t in 0..threads {
                let (store, documents, expected) = (&store, &documents, &expected);
                scope.spawn(move || {
                    // Each thread in its own order, through the whole store and through parts.
                    for i in (0..documents.len()).map(|i| (i * (2 * t + 1) + t * 97) % documents.len()) {
                        let arn = documents[i].0.as_str();
                        assert_eq!(answer(store, arn), expected[i], "thread {t}: {arn}");
                        assert_eq!(answer(&store.part(ACCOUNT, [arn], []), arn), expected[i], "thread {t}: {arn}");
                    }
                });
            }
        });
    }

    #[test]
    fn the_cache_stays_within_its_budget() {
        let documents = corpus();
        let budget = 16 << 10;
        let (_, store) = both(&documents, budget);
        let largest = documents
            .iter()
            .filter_map(|(_, d)| match PolicyRecord::of(d).unwrap() {
                PolicyRecord::Kms(bytes) => Some(bytes.len()),
                _ => None,
            })
            .max()
            .unwrap();
        for (arn, _) in &documents {
            store.managed_policy(arn).unwrap();
            assert!(store.cached_bytes() <= budget + 2 * largest, "{} bytes cached", store.cached_bytes());
        }
        assert!(store.cached_bytes() > 0);
    }
}
