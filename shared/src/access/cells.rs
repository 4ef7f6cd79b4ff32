//! Identity policies over the key universe of SPEC section 2, decided exactly.
//!
//! A key cell is a region and a key of the resource's own account. Regions are every region
//! of the partition plus one that the pinned list does not name yet; keys are the key ids the
//! documents name, in each region a naming pattern reaches, and every other key id, in the
//! UUID form (`8-4-4-4-12` lowercase hex) and the multi-Region form (`mrk-` and 32 hex).
//!
//! Nothing is sampled:
//! - every region's key ARN prefix (`arn:<partition>:kms:<region>:<account>:key/`) is run
//!   through every resource pattern's automaton; regions that leave every pattern in the same
//!   state are one **class**, since no continuation can tell them apart. The unlisted region is
//!   an opaque run of text that only `*` spans;
//! - within a class, the key ids no document names are walked symbolically: at each position
//!   of an id form, a hex digit that some pattern can still meet literally is one branch, and
//!   all the digits none can are one more ([`Symbol::Other`]). Memoised on the patterns' states,
//!   this visits every distinct way the patterns can treat a key id, and each leaf (a set of
//!   patterns that match) is one kind of unnamed key.
//!
//! "On all keys" of a class is what every kind of unnamed key there is granted; the
//! per-cell questions (separation) look at each kind and each named key on its own.

use super::{effective, Access, Counts, IdentityDoc, KeyScope, StatementRef};
use crate::pattern::{Automaton, MatchState, Pattern, Symbol};
use crate::policy::{Resources, Statement};
use crate::regions;

use super::shapes::{self, ClassShape, PoolKey};

/// What a set of identity policies allows on every key cell of the scope's account.
#[derive(Debug, Clone)]
pub struct KeyCells<'p> {
    /// The region classes, in the pinned list's order (the unlisted region's class last when it
    /// is alone).
    pub classes: Vec<RegionClass<'p>>,
}

/// Regions that every pattern treats alike, and what is allowed on their keys.
#[derive(Debug, Clone)]
pub struct RegionClass<'p> {
    /// The listed regions of the class.
    pub regions: Vec<&'static str>,
    /// Whether the region no list names yet belongs to the class.
    pub unlisted: bool,
    /// Whether the class holds every region of the partition, the unlisted one included.
    pub everywhere: bool,
    /// What is allowed on every key of these regions that no document names.
    pub all_keys: Access<'p>,
    /// Each distinct kind of unnamed key: what it is allowed, and an example key id.
    pub unnamed: Vec<Cell<'p>>,
    /// Each key the documents name (and reach in these regions), with its access.
    pub named: Vec<Cell<'p>>,
}

/// One key cell (or a kind of unnamed keys, all alike): what is allowed on it.
#[derive(Debug, Clone)]
pub struct Cell<'p> {
    /// The key id (for unnamed keys, one example of the kind).
    pub key_id: String,
    /// The access on it.
    pub access: Access<'p>,
}

/// How causes name a set of regions: `in every region`, `in us-east-1`,
/// `in us-east-1 and 3 other regions`, `in a region not listed yet`.
fn describe_regions(regions: &[&str], unlisted: bool, everywhere: bool) -> String {
    if everywhere {
        return "in every region".to_owned();
    }
    let others = regions.len().saturating_sub(1) + usize::from(unlisted);
    match (regions.first(), others) {
        (None, _) => "in a region not listed yet".to_owned(),
        (Some(first), 0) => format!("in {first}"),
        (Some(first), 1) => format!("in {first} and 1 other region"),
        (Some(first), n) => format!("in {first} and {n} other regions"),
    }
}

impl RegionClass<'_> {
    /// How causes name the class's regions (see [`describe_regions`]).
    pub fn describe(&self) -> String {
        describe_regions(&self.regions, self.unlisted, self.everywhere)
    }

    /// `on all keys` when the class is every region, else `on all keys in <regions>`.
    pub fn all_keys_text(&self) -> String {
        if self.everywhere {
            "on all keys".to_owned()
        } else {
            format!("on all keys {}", self.describe())
        }
    }

    /// How a cause names one cell of the class: `on all keys ...` for a kind of unnamed key
    /// granted what all of them are, `on key/<id> ...` (`on keys like key/<id> ...` for a kind
    /// of unnamed key) otherwise.
    pub fn cell_text(&self, cell: &Cell<'_>, named: bool) -> String {
        if !named && cell.access.actions() == self.all_keys.actions() {
            return self.all_keys_text();
        }
        let kind = if named { "" } else { "keys like " };
        if self.everywhere {
            format!("on {kind}key/{}", cell.key_id)
        } else {
            format!("on {kind}key/{} {}", cell.key_id, self.describe())
        }
    }
}

impl<'p> KeyCells<'p> {
    /// The region classes whose all-keys access satisfies `holds`: the first of them (whose
    /// statements a cause names) and how a cause names all of them together (`on all keys`
    /// when they are every region, `on all keys in us-east-1 and 3 other regions` otherwise).
    pub fn all_keys_where(&self, holds: impl Fn(&Access<'p>) -> bool) -> Option<(&RegionClass<'p>, String)> {
        let matching: Vec<&RegionClass<'p>> = self.classes.iter().filter(|c| holds(&c.all_keys)).collect();
        let first = matching.first()?;
        if matching.len() == self.classes.len() {
            return Some((first, "on all keys".to_owned()));
        }
        let mut regions: Vec<&str> = matching.iter().flat_map(|c| c.regions.iter().copied()).collect();
        regions.sort_unstable();
        let unlisted = matching.iter().any(|c| c.unlisted);
        Some((first, format!("on all keys {}", describe_regions(&regions, unlisted, false))))
    }

    /// Where `action` is allowed on all keys: the statement granting it (in the first such
    /// region class) and how a cause names those regions.
    pub fn all_keys_grant(&self, action: crate::catalog::ActionId) -> Option<(StatementRef<'p>, String)> {
        let (class, text) = self.all_keys_where(|access| access.actions().contains(action))?;
        Some((class.all_keys.source(action)?, text))
    }
}

/// The two forms of a key id, position by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdPosition {
    Fixed(u8),
    Hex,
}

fn id_forms() -> [Vec<IdPosition>; 2] {
    let uuid: Vec<IdPosition> = [8usize, 4, 4, 4, 12]
        .iter()
        .enumerate()
        .flat_map(|(group, &len)| {
            let dash = (group > 0).then_some(IdPosition::Fixed(b'-'));
            dash.into_iter().chain(std::iter::repeat(IdPosition::Hex).take(len))
        })
        .collect();
    let mrk: Vec<IdPosition> =
        b"mrk-".iter().map(|b| IdPosition::Fixed(*b)).chain(std::iter::repeat(IdPosition::Hex).take(32)).collect();
    [uuid, mrk]
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Which patterns a statement's resource element consists of, as indexes into the pool.
enum Applies {
    Nothing,
    Any(Vec<usize>),
    NoneOf(Vec<usize>),
}

impl Applies {
    fn holds(&self, matched: &[bool]) -> bool {
        // Every index was handed out by `Universe::intern` for the same pool `matched` is
        // computed over, so `get` never misses; `false` only satisfies the lint on indexing.
        let hit = |i: &usize| matched.get(*i).copied().unwrap_or(false);
        match self {
            Applies::Nothing => false,
            Applies::Any(indexes) => indexes.iter().any(hit),
            Applies::NoneOf(indexes) => !indexes.iter().any(hit),
        }
    }
}

/// The statements in play and the pool of their resource patterns.
struct Universe<'p> {
    patterns: Vec<&'p Pattern>,
    /// The patterns compiled, in the same order.
    automata: Vec<&'p Automaton>,
    identity: Vec<(StatementRef<'p>, Applies)>,
    boundary: Option<Vec<(StatementRef<'p>, Applies)>>,
    /// Each named key id and the patterns that name it.
    named: Vec<(String, Vec<usize>)>,
    /// The literal pattern of each named id, to tell a named key from an unnamed one.
    named_literals: Vec<Automaton>,
}

impl<'p> Universe<'p> {
    fn new(docs: &[IdentityDoc<'p>], boundary: Option<&[IdentityDoc<'p>]>) -> Self {
        let mut universe = Universe::empty();
        universe.identity = universe.statements(docs);
        universe.boundary = boundary.map(|b| universe.statements(b));
        universe.index_patterns();
        universe
    }

    fn empty() -> Self {
        Universe {
            patterns: Vec::new(),
            automata: Vec::new(),
            identity: Vec::new(),
            boundary: None,
            named: Vec::new(),
            named_literals: Vec::new(),
        }
    }

    /// Compiles the pool's patterns and finds the key ids they name, once the pool is whole.
    fn index_patterns(&mut self) {
        for (index, pattern) in self.patterns.iter().enumerate() {
            if let Some(id) = named_key_id(pattern.as_str()) {
                match self.named.iter_mut().find(|(named, _)| named == id) {
                    Some((_, namers)) => namers.push(index),
                    None => self.named.push((id.to_owned(), vec![index])),
                }
            }
        }
        self.named_literals = self
            .named
            .iter()
            .map(|(id, _)| Pattern::arn(id, crate::pattern::Variables::Literal).automaton().clone())
            .collect();
        self.automata = self.patterns.iter().map(|p| p.automaton()).collect();
    }

    fn statements(&mut self, docs: &[IdentityDoc<'p>]) -> Vec<(StatementRef<'p>, Applies)> {
        let mut out = Vec::new();
        for doc in docs {
            for statement in doc.policy.statements.iter() {
                if statement.kms_actions.is_empty() {
                    continue;
                }
                let applies = match &statement.resources {
                    None => Applies::Nothing,
                    Some(Resources::Only(patterns)) => Applies::Any(self.intern(patterns)),
                    Some(Resources::AllExcept(patterns)) => Applies::NoneOf(self.intern(patterns)),
                };
                out.push((StatementRef { document: doc.name, statement }, applies));
            }
        }
        out
    }

    fn intern(&mut self, patterns: &'p [Pattern]) -> Vec<usize> {
        patterns
            .iter()
            .map(|pattern| match self.patterns.iter().position(|known| *known == pattern) {
                Some(index) => index,
                None => {
                    self.patterns.push(pattern);
                    self.patterns.len() - 1
                }
            })
            .collect()
    }

    /// The one kind of unnamed key there is, without walking, where each pattern from `states`
    /// is dead, matches every rest of text, or matches exactly one named id literally (the
    /// common pool: `*` and key ARNs named in full). Then every unnamed key id is matched by
    /// exactly the patterns that match everything, so there is one kind; and the walk would
    /// find it first, on the path that takes [`Symbol::Other`] (pushed last, so popped first)
    /// at every hex digit of the UUID form, its example id `other_digit` throughout. `None`
    /// where that does not hold, or where no digit is `Other` (then the walk decides).
    fn only_unnamed_kind(
        &self,
        states: &[MatchState],
        named_here: &[usize],
        hex_branches: &[Symbol],
        other_digit: u8,
    ) -> Option<(Vec<bool>, String)> {
        if !hex_branches.contains(&Symbol::Other) {
            return None;
        }
        let named_ids: Vec<&str> =
            named_here.iter().filter_map(|i| self.named.get(*i)).map(|(id, _)| id.as_str()).collect();
        let mut matched = Vec::with_capacity(self.automata.len());
        for (automaton, state) in self.automata.iter().zip(states) {
            let everything = automaton.accepts(&automaton.step(state, Symbol::Opaque));
            let alike = everything
                || state.is_dead()
                || (automaton.is_literal_from(state)
                    && named_ids.iter().any(|id| automaton.accepts(&automaton.step_str(state, id))));
            if !alike {
                return None;
            }
            matched.push(everything);
        }
        let [uuid, _] = id_forms();
        let id: String = uuid
            .iter()
            .map(|position| match position {
                IdPosition::Fixed(b) => char::from(*b),
                IdPosition::Hex => char::from(other_digit),
            })
            .collect();
        Some((matched, id))
    }

    /// Whether some automaton of `frame` (the patterns', then the named ids') can still meet
    /// `byte` literally from its state there ([`Automaton::may_meet`]).
    fn frame_may_meet(&self, frame: &[MatchState], literals: &[&Automaton], byte: u8) -> bool {
        let automata = self.automata.iter().copied().chain(literals.iter().copied());
        automata.zip(frame).any(|(a, s)| a.may_meet(s, byte))
    }

    fn step_all(&self, states: &[MatchState], symbol: Symbol) -> Vec<MatchState> {
        self.automata.iter().zip(states).map(|(a, s)| a.step(s, symbol)).collect()
    }

    fn step_text(&self, states: &[MatchState], text: &str) -> Vec<MatchState> {
        self.automata.iter().zip(states).map(|(a, s)| a.step_str(s, text)).collect()
    }

    fn accepted(&self, states: &[MatchState]) -> Vec<bool> {
        self.automata.iter().zip(states).map(|(a, s)| a.accepts(s)).collect()
    }

    fn access(&self, matched: &[bool], counts: Counts<'_>) -> Access<'p> {
        let applying = |list: &[(StatementRef<'p>, Applies)]| -> Vec<StatementRef<'p>> {
            list.iter().filter(|(_, applies)| applies.holds(matched)).map(|(by, _)| *by).collect()
        };
        let identity = effective(applying(&self.identity), counts);
        match &self.boundary {
            // The boundary's Allows all count: it bounds what the identity may do, and a
            // condition in it never widens that.
            Some(boundary) => identity.within(&effective(applying(boundary), &super::every_allow)),
            None => identity,
        }
    }

    /// The region classes of the scope's account and, in each, which patterns match each
    /// named key and each kind of unnamed key: everything [`identity_cells`] reports that the
    /// statements do not decide ([`shapes`] remembers it). `prefix` is the patterns' states
    /// after `arn:<partition>:kms:`; `suffix` steps them from a region's end to a key id's
    /// start.
    fn shape(
        &self,
        listed: &[&'static str],
        prefix: &[MatchState],
        suffix: impl Fn(Vec<MatchState>) -> Vec<MatchState>,
    ) -> Vec<ClassShape> {
        // Group the regions by the states they leave the patterns in, right after the region
        // field; the rest of the prefix is the same for all, so it is stepped once per group.
        let mut groups: Vec<(Vec<MatchState>, Vec<&'static str>, bool)> = Vec::new();
        let mut place = |states: Vec<MatchState>, region: Option<&'static str>| {
            let index = match groups.iter().position(|(known, _, _)| *known == states) {
                Some(index) => index,
                None => {
                    groups.push((states, Vec::new(), false));
                    groups.len() - 1
                }
            };
            if let Some((_, regions, unlisted)) = groups.get_mut(index) {
                match region {
                    Some(region) => regions.push(region),
                    None => *unlisted = true,
                }
            }
        };
        for region in listed {
            place(self.step_text(prefix, region), Some(region));
        }
        place(self.step_all(prefix, Symbol::Opaque), None);
        // Groups that differ after the region field may meet again once the account is read.
        let mut classes: Vec<(Vec<MatchState>, Vec<&'static str>, bool)> = Vec::new();
        for (states, regions, unlisted) in groups {
            let states = suffix(states);
            match classes.iter_mut().find(|(known, _, _)| *known == states) {
                Some((_, known_regions, known_unlisted)) => {
                    known_regions.extend(regions);
                    *known_unlisted |= unlisted;
                }
                None => classes.push((states, regions, unlisted)),
            }
        }
        classes
            .into_iter()
            .map(|(states, mut regions, unlisted)| {
                regions.sort_unstable();
                let mut named = Vec::new();
                for (index, (id, namers)) in self.named.iter().enumerate() {
                    let matched = self.accepted(&self.step_text(&states, id));
                    if namers.iter().any(|i| matched.get(*i).copied().unwrap_or(false)) {
                        named.push((index, matched));
                    }
                }
                let named_here: Vec<usize> = named.iter().map(|(index, _)| *index).collect();
                let unnamed = self.unnamed_kinds(&states, &named_here, Walk::Pruned);
                ClassShape { regions, unlisted, named, unnamed }
            })
            .collect()
    }

    /// Every distinct kind of key id no document names in this region class (`named_here`
    /// excluded), each as the patterns it matches and one example id.
    fn unnamed_kinds(&self, states: &[MatchState], named_here: &[usize], walk: Walk) -> Vec<(Vec<bool>, String)> {
        let mut kinds: Vec<(Vec<bool>, String)> = Vec::new();
        let literals: Vec<&Automaton> = named_here.iter().filter_map(|i| self.named_literals.get(*i)).collect();
        // The hex digits some pattern can still meet from here, or a named id holds, are one
        // branch each; all the others are one more (`Other`).
        let mut literal = [false; 256];
        let live = self.automata.iter().zip(states).flat_map(|(a, s)| a.live_literal_bytes(s));
        for b in live.chain(named_here.iter().filter_map(|i| self.named.get(*i)).flat_map(|(id, _)| id.bytes())) {
            if let Some(slot) = literal.get_mut(usize::from(b)) {
                *slot = true;
            }
        }
        let is_literal = |b: &u8| literal.get(usize::from(*b)).copied().unwrap_or(false);
        let mut hex_branches: Vec<Symbol> = HEX.iter().filter(|b| is_literal(b)).map(|b| Symbol::Byte(*b)).collect();
        if HEX.iter().any(|b| !is_literal(b)) {
            hex_branches.push(Symbol::Other);
        }
        let other_digit = HEX.iter().copied().find(|b| !is_literal(b)).unwrap_or(b'0');
        if walk == Walk::Pruned {
            if let Some(kind) = self.only_unnamed_kind(states, named_here, &hex_branches, other_digit) {
                return vec![kind];
            }
        }
        let patterns = self.automata.len();
        let step = |states: &[MatchState], symbol: Symbol| -> Vec<MatchState> {
            let (pattern_states, literal_states) = states.split_at(patterns.min(states.len()));
            let stepped = self.automata.iter().zip(pattern_states).map(|(a, s)| a.step(s, symbol));
            stepped.chain(literals.iter().zip(literal_states).map(|(a, s)| a.step(s, symbol))).collect()
        };
        let may_meet = |frame: &[MatchState], byte: u8| self.frame_may_meet(frame, &literals, byte);
        for form in id_forms() {
            // Depth-first over positions; a frame holds the patterns' states, then the named
            // ids' states, and the id so far. States seen at a position are not walked again.
            let mut seen: Vec<Vec<Vec<MatchState>>> = vec![Vec::new(); form.len() + 1];
            let first: Vec<MatchState> = states.iter().cloned().chain(literals.iter().map(|a| a.start())).collect();
            let mut stack = vec![(0usize, first, [0u8; 36])];
            while let Some((position, frame, id)) = stack.pop() {
                let Some(seen_here) = seen.get_mut(position) else { continue };
                if seen_here.contains(&frame) {
                    continue;
                }
                seen_here.push(frame);
                // Just pushed, so there: the frame is read in its place rather than cloned.
                let Some(frame) = seen.get(position).and_then(|here| here.last()) else { continue };
                let Some(next) = form.get(position) else {
                    let (pattern_states, literal_states) = frame.split_at(patterns.min(frame.len()));
                    let is_named = literals.iter().zip(literal_states).any(|(a, s)| a.accepts(s));
                    let matched = self.accepted(pattern_states);
                    if !is_named && !kinds.iter().any(|(known, _)| *known == matched) {
                        // `position` is the form's length here, 36 at most: `get` never misses.
                        let text = String::from_utf8_lossy(id.get(..position).unwrap_or_default()).into_owned();
                        kinds.push((matched, text));
                    }
                    continue;
                };
                let symbols: Vec<Symbol> = match next {
                    IdPosition::Fixed(b) => vec![Symbol::Byte(*b)],
                    IdPosition::Hex => match walk {
                        Walk::Pruned => alike_pruned(&hex_branches, |b| may_meet(frame, b)),
                        #[cfg(test)]
                        Walk::Every => hex_branches.clone(),
                    },
                };
                for symbol in &symbols {
                    let mut next_id = id;
                    if let Some(slot) = next_id.get_mut(position) {
                        *slot = match symbol {
                            Symbol::Byte(b) => *b,
                            _ => other_digit,
                        };
                    }
                    let child = step(frame, *symbol);
                    // A frame seen at the next position would be skipped when popped: it is
                    // not pushed at all.
                    if seen.get(position + 1).is_some_and(|there| there.contains(&child)) {
                        continue;
                    }
                    stack.push((position + 1, child, next_id));
                }
            }
        }
        kinds
    }
}

/// Which branches the walk over unnamed key ids steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Walk {
    /// Only those that can lead somewhere new ([`alike_pruned`]).
    Pruned,
    /// Every branch: slower, the same kinds; the tests' reference.
    #[cfg(test)]
    Every,
}

/// `branches` without the symbols that lead where a later one does, in the same order.
///
/// A hex digit that no automaton can meet literally from its state in the frame (`live` says
/// whether one can) steps every automaton exactly as [`Symbol::Other`] does: its byte adds no
/// position, and `?`, `*` and the other bytes do not depend on it. So all such symbols lead to
/// one frame. The walk pops the last one pushed first, walks on from its frame, and finds the
/// others' frames seen; keeping only that last one walks the same frames in the same order,
/// with the same example ids, without stepping the rest.
fn alike_pruned(branches: &[Symbol], live: impl Fn(u8) -> bool) -> Vec<Symbol> {
    let is_live = |symbol: &Symbol| match symbol {
        Symbol::Byte(b) => live(*b),
        Symbol::Other | Symbol::Opaque => false,
    };
    let last_alike = branches.iter().rposition(|symbol| !is_live(symbol));
    branches
        .iter()
        .enumerate()
        .filter(|(i, symbol)| is_live(symbol) || Some(*i) == last_alike)
        .map(|(_, s)| *s)
        .collect()
}

/// The key id a resource pattern names literally (`arn:aws:kms:*:111122223333:key/<id>`).
fn named_key_id(pattern: &str) -> Option<&str> {
    // The text after the fifth `:`, as `splitn(6, ':').nth(5)` finds it, byte by byte (`:` is
    // one byte, so each cut is on a character boundary).
    let mut resource = pattern;
    for _ in 0..5 {
        let colon = resource.bytes().position(|b| b == b':')?;
        resource = resource.get(colon + 1..)?;
    }
    let id = resource.strip_prefix("key/")?;
    (!id.is_empty() && !id.contains(['*', '?', '$'])).then_some(id)
}

/// Can `statement` apply to keys no document names, the keys "all keys" is decided on? Only
/// through `NotResource`, or a resource pattern with a wildcard or a variable: a pattern with
/// neither matches one ARN, and a key ARN it matches names its key. So an action that no such
/// Allow names is allowed on all keys of no region ([`KeyCells::all_keys_grant`]): a rule
/// asking only that need not work the cells out.
pub fn may_reach_unnamed_keys(statement: &Statement) -> bool {
    match &statement.resources {
        None => false,
        Some(Resources::AllExcept(_)) => true,
        Some(Resources::Only(patterns)) => patterns.iter().any(|p| p.has_wildcard() || p.has_variable()),
    }
}

/// What `docs` together allow on every key cell of the scope's account, after unconditional
/// Denies and within `boundary` where the principal has a permissions boundary.
pub fn identity_cells<'p>(
    docs: &[IdentityDoc<'p>],
    boundary: Option<&[IdentityDoc<'p>]>,
    scope: &KeyScope,
    counts: Counts<'_>,
) -> KeyCells<'p> {
    let universe = Universe::new(docs, boundary);
    let listed = regions::regions(&scope.partition);
    let start: Vec<MatchState> = universe.automata.iter().map(|a| a.start()).collect();
    // `arn:<partition>:kms:`, read in three parts rather than written out first.
    let prefix =
        universe.step_text(&universe.step_text(&universe.step_text(&start, "arn:"), &scope.partition), ":kms:");
    let suffix = |states: Vec<MatchState>| {
        let states = universe.step_text(&states, ":");
        let states = match &scope.account {
            Some(account) => universe.step_text(&states, account),
            None => (0..12).fold(states, |s, _| universe.step_all(&s, Symbol::Other)),
        };
        universe.step_text(&states, ":key/")
    };
    // Most documents hold only patterns that reach every key cell (`*`, `arn:aws:kms:*:*:key/*`)
    // or none (another service's ARNs): then every cell is alike and no key is named. A pattern
    // reaches every cell when it matches with the region and the key id opaque (only a `*`
    // spans an opaque run, and what a `*` spans it spans whatever the text); it reaches none
    // when it is dead once `arn:<partition>:kms:` is read.
    let everywhere = suffix(universe.step_all(&prefix, Symbol::Opaque));
    let everywhere = universe.accepted(&universe.step_all(&everywhere, Symbol::Opaque));
    let constant =
        universe.patterns.iter().enumerate().all(|(i, _)| {
            everywhere.get(i).copied().unwrap_or(false) || prefix.get(i).is_some_and(MatchState::is_dead)
        });
    if constant {
        let access = universe.access(&everywhere, counts);
        let example = Cell { key_id: "00000000-0000-0000-0000-000000000000".to_owned(), access: access.clone() };
        let class = RegionClass {
            regions: listed.to_vec(),
            unlisted: true,
            everywhere: true,
            all_keys: access,
            unnamed: vec![example],
            named: Vec::new(),
        };
        return KeyCells { classes: vec![class] };
    }
    let key = PoolKey::new(&universe.patterns, &scope.partition, scope.account.as_deref());
    let shape = shapes::remembered(key, || universe.shape(listed, &prefix, suffix));

    // A handful of distinct match vectors at most: a list beats hashing them.
    let mut memo: Vec<(Vec<bool>, Access<'p>)> = Vec::new();
    let mut access_of = |matched: &[bool]| -> Access<'p> {
        if let Some((_, known)) = memo.iter().find(|(m, _)| m.as_slice() == matched) {
            return known.clone();
        }
        let access = universe.access(matched, counts);
        memo.push((matched.to_vec(), access.clone()));
        access
    };
    let classes = shape
        .iter()
        .map(|class| {
            let named: Vec<Cell<'p>> = class
                .named
                .iter()
                .filter_map(|(index, matched)| {
                    // The shape was made for this very pool (its key is the patterns, and the
                    // named ids are read from them), so every index is in range.
                    let (id, _) = universe.named.get(*index)?;
                    Some(Cell { key_id: id.clone(), access: access_of(matched) })
                })
                .collect();
            let unnamed: Vec<Cell<'p>> = class
                .unnamed
                .iter()
                .map(|(matched, key_id)| Cell { key_id: key_id.clone(), access: access_of(matched) })
                .collect();
            let all_keys = Access::common(&unnamed.iter().map(|c| &c.access).collect::<Vec<_>>());
            let everywhere = class.unlisted && class.regions.len() == listed.len();
            RegionClass {
                regions: class.regions.clone(),
                unlisted: class.unlisted,
                everywhere,
                all_keys,
                unnamed,
                named,
            }
        })
        .collect();
    KeyCells { classes }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test code

    use super::*;
    use crate::pattern::Variables;

    proptest::proptest! {
        /// The named key id is the text after the fifth `:`, as `splitn(6, ':')` cuts it.
        #[test]
        fn the_named_key_id_is_cut_as_splitn_cuts(text in "[:a*]{0,8}(key/)?[:a*?$é]{0,6}") {
            let by_splitn = text.splitn(6, ':').nth(5).and_then(|resource| resource.strip_prefix("key/"))
                .filter(|id| !id.is_empty() && !id.contains(['*', '?', '$']));
            proptest::prop_assert_eq!(named_key_id(&text), by_splitn);
        }
    }

    /// The pruned walk finds the same kinds of unnamed keys, in the same order and with the same
    /// example ids, as the walk that steps every branch, over pools of one to three patterns
    /// drawn from named keys, partial wildcards and both id forms, in every region class.
    #[test]
    fn the_pruned_walk_finds_what_stepping_every_branch_finds() {
        let patterns = [
            "*",
            "arn:aws:kms:us-east-1:111122223333:key/00000036-0000-4000-8000-000000000036",
            "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:eu-*:*:key/0000*",
            "arn:aws:kms:*:*:key/*a*",
            "arn:aws:kms:*:*:key/*-*-*-*-????????????f",
            "arn:aws:kms:us-*:*:key/mrk-*",
            "arn:aws:kms:*:111122223333:key/mrk-0123456789abcdef0123456789abcdef",
            "arn:aws:kms:*:*:key/?0?1*",
            "arn:aws:kms:ap-south-1:*:key/*9",
            "arn:aws:kms:*:*:alias/*",
            "arn:aws:kms:*:*:key/*1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/0000007c-0000-4000-8000-00000000007c",
            "arn:aws:kms:us-east-1:444455556666:key/0000007c-0000-4000-8000-00000000007c",
        ];
        let parsed: Vec<Pattern> = patterns.iter().map(|p| Pattern::arn(p, Variables::Resolved)).collect();
        let mut pools: Vec<Vec<&Pattern>> = Vec::new();
        for (i, a) in parsed.iter().enumerate() {
            pools.push(vec![a]);
            for (j, b) in parsed.iter().enumerate().skip(i + 1) {
                pools.push(vec![a, b]);
                if let Some(c) = parsed.get(j + 1) {
                    pools.push(vec![a, b, c]);
                }
            }
        }
        let mut walked = 0;
        for pool in pools {
            let mut universe = Universe { patterns: pool.clone(), ..Universe::empty() };
            universe.index_patterns();
            let start: Vec<MatchState> = universe.automata.iter().map(|a| a.start()).collect();
            let prefix = universe.step_text(&start, "arn:aws:kms:");
            for region in ["us-east-1", "eu-west-1", "ap-south-1"] {
                let states = universe.step_text(&universe.step_text(&prefix, region), ":111122223333:key/");
                let named_here: Vec<usize> = (0..universe.named.len()).collect();
                for named in [&named_here[..], &[]] {
                    let pruned = universe.unnamed_kinds(&states, named, Walk::Pruned);
                    let every = universe.unnamed_kinds(&states, named, Walk::Every);
                    assert_eq!(pruned, every, "{:?} in {region}", pool.iter().map(|p| p.as_str()).collect::<Vec<_>>());
                    walked += 1;
                }
            }
        }
        assert!(walked > 500, "{walked} walks");
    }
}
