//! IAM evaluation, reduced to what KMS rules ask, and decided exactly: the only module that
//! does Allow/Deny arithmetic. Rules ask it questions and phrase the answers.
//!
//! Two views, one arithmetic ([`effective`]):
//! - identity policies ([`identity_cells`]): what a set of documents allows on every **key
//!   cell** of the resource's own account: every region of the partition (the pinned list in
//!   [`crate::regions`]) and one region that list does not name yet, times every key the
//!   documents name and every key they do not (UUID and `mrk-` forms). Regions that every
//!   pattern treats alike form one class and are evaluated once; the keys no document names are
//!   walked symbolically through the patterns' automata ([`crate::pattern::Symbol`]), so "all
//!   keys" is decided over the whole set of key ids, not on samples;
//! - key policies ([`key_policy_grantees`]): per **grantee class** (every principal any
//!   statement names, in `Principal` or `NotPrincipal` of an Allow or a Deny; any other
//!   principal of each account in play; anyone else), what the policy allows it on this key.
//!
//! Both follow SPEC section 2: Allows are unioned; an **unconditional** Deny that matches the
//! action and applies removes it; a Deny with a Condition removes nothing (it might not apply);
//! an Allow counts unless the caller's `counts` says a condition makes it not count.

mod cells;
mod grantees;
mod shapes;

pub use cells::{identity_cells, may_reach_unnamed_keys, Cell, KeyCells, RegionClass};
pub use grantees::{key_policy_access, key_policy_grantees, Grantee, GranteeAccess};

use crate::arn::{is_account_id, Arn};
use crate::catalog::{ActionClass, ActionId, ActionSet};
use crate::condition::restricting;
use crate::policy::{Effect, Policy, Statement};

/// A statement and the document it came from.
#[derive(Debug, Clone, Copy)]
pub struct StatementRef<'p> {
    /// The document's name (an inline policy's name, an attached policy's ARN), where the
    /// resource holds several.
    pub document: Option<&'p str>,
    /// The statement.
    pub statement: &'p Statement,
}

impl StatementRef<'_> {
    /// Is this the same statement of the same document? The name is compared too: two
    /// documents of the same text share their statements (the parse memo hands out one copy).
    pub fn same(&self, other: &StatementRef<'_>) -> bool {
        std::ptr::eq(self.statement, other.statement) && self.document == other.document
    }

    /// How a cause names the statement: `policy "Name" stmt "Sid"`, or `stmt #1` when the
    /// resource holds one document ([`crate::rule::place`], as a cause's display says it).
    pub fn place(&self) -> String {
        crate::rule::place(self.document, Some(&self.statement.name.to_string()))
    }
}

/// Decides whether an Allow statement counts (e.g. not when an accepted condition restricts it).
pub type Counts<'a> = &'a dyn Fn(&Statement) -> bool;

/// Every Allow counts.
pub fn every_allow(_: &Statement) -> bool {
    true
}

/// `kms:CreateGrant`, looked up once: [`Access::allow`] asks for it on every Allow.
static CREATE_GRANT: std::sync::LazyLock<Option<ActionId>> =
    std::sync::LazyLock::new(|| ActionId::by_name("CreateGrant"));

/// Effective access: the actions granted after Denies, and the first statement granting each.
///
/// Small, since it is made and moved for every grantee and key cell: each action names its
/// statement by a one-byte place among the few statements that are a source at all (most
/// accesses hold one or two), rather than by a reference of its own (that was 1.3 KB an
/// access, and its copies 4% of the dry-run's instructions).
#[derive(Debug, Clone)]
pub struct Access<'p> {
    granted: ActionSet,
    /// For each action (by catalog index), 1 + the place in `by` of the statement that granted
    /// it first; 0 for none.
    source_of: [u8; 55],
    /// The statements `source_of` names.
    by: Sources<'p>,
    /// `kms:CreateGrant` is granted by a statement without the AWS-resource or ViaService
    /// restriction, so it is an admin action here.
    create_grant_is_admin: bool,
}

/// How many statements an access keeps in place before the rest go to the heap.
const IN_PLACE: usize = 4;

/// The statements an [`Access`] names: the first few in place, any others in a list. At most
/// one for each action and one for `kms:CreateGrant` as admin, twice over for
/// [`Access::common`]: far fewer than the 255 places a byte counts.
#[derive(Debug, Clone, Default)]
struct Sources<'p> {
    in_place: [Option<StatementRef<'p>>; IN_PLACE],
    more: Vec<StatementRef<'p>>,
}

impl<'p> Sources<'p> {
    fn get(&self, place: usize) -> Option<StatementRef<'p>> {
        match place.checked_sub(IN_PLACE) {
            None => self.in_place.get(place).copied().flatten(),
            Some(beyond) => self.more.get(beyond).copied(),
        }
    }

    fn len(&self) -> usize {
        self.in_place.iter().filter(|s| s.is_some()).count() + self.more.len()
    }

    /// `by`'s place + 1, added if it is not there yet.
    fn mark(&mut self, by: StatementRef<'p>) -> u8 {
        let len = self.len();
        let found = (0..len).find(|place| self.get(*place).is_some_and(|known| known.same(&by)));
        let place = found.unwrap_or_else(|| {
            match self.in_place.get_mut(len) {
                Some(slot) => *slot = Some(by),
                None => self.more.push(by),
            }
            len
        });
        // At most 111 places (see the type's docs): the conversion never saturates.
        u8::try_from(place + 1).unwrap_or(u8::MAX)
    }
}

impl<'p> Access<'p> {
    fn empty() -> Self {
        Access { granted: ActionSet::EMPTY, source_of: [0; 55], by: Sources::default(), create_grant_is_admin: false }
    }

    fn set_source(&mut self, action: ActionId, mark: u8) {
        if let Some(slot) = self.source_of.get_mut(usize::from(action.index())) {
            *slot = mark;
        }
    }

    fn allow(&mut self, by: StatementRef<'p>) {
        let statement = by.statement;
        // An action already granted keeps its first statement: while Allows are added (Denies
        // come after, in `effective`), an action has a source exactly when it is granted, so
        // only the newly granted ones get one.
        let new = statement.kms_actions.minus(self.granted);
        let create_grant_as_admin = CREATE_GRANT.filter(|create_grant| {
            statement.kms_actions.contains(*create_grant) && !grant_exception(statement) && !self.create_grant_is_admin
        });
        if !new.is_empty() || create_grant_as_admin.is_some() {
            let mark = self.by.mark(by);
            for id in new.iter() {
                self.set_source(id, mark);
            }
            if let Some(create_grant) = create_grant_as_admin {
                self.create_grant_is_admin = true;
                self.set_source(create_grant, mark);
            }
        }
        self.granted = self.granted.union(statement.kms_actions);
    }

    /// Every action granted.
    pub fn actions(&self) -> ActionSet {
        self.granted
    }

    /// The use actions granted.
    pub fn use_actions(&self) -> ActionSet {
        self.granted.intersection(ActionSet::use_actions())
    }

    /// The admin actions granted, `kms:CreateGrant` included where it counts as admin.
    pub fn admin_actions(&self) -> ActionSet {
        let mut admin = ActionSet::admin_actions();
        if self.create_grant_is_admin {
            admin = admin.union(ActionSet::of_class(ActionClass::Grant));
        }
        self.granted.intersection(admin)
    }

    /// True when both an admin and a use action are granted (separation of duties).
    pub fn administers_and_uses(&self) -> bool {
        !self.admin_actions().is_empty() && !self.use_actions().is_empty()
    }

    /// True when every admin and every use action is granted (`kms:*` or its equivalent).
    pub fn is_wildcard_admin(&self) -> bool {
        Access::may_be_wildcard_admin(self.granted)
    }

    /// Could an access granted no more than `at_most` ([`granted_at_most`]) administer and
    /// use ([`Access::administers_and_uses`])? `kms:CreateGrant` counts as admin here, as it
    /// may in a statement without the AWS-resource or ViaService restriction.
    pub fn may_administer_and_use(at_most: ActionSet) -> bool {
        let admin = ActionSet::admin_actions().union(ActionSet::of_class(ActionClass::Grant));
        !at_most.intersection(admin).is_empty() && !at_most.intersection(ActionSet::use_actions()).is_empty()
    }

    /// Could an access granted no more than `at_most` ([`granted_at_most`]) be a wildcard
    /// admin ([`Access::is_wildcard_admin`])?
    pub fn may_be_wildcard_admin(at_most: ActionSet) -> bool {
        at_most.contains_all(ActionSet::admin_actions()) && at_most.contains_all(ActionSet::use_actions())
    }

    /// The first of `among` that is granted (in catalog order), with the statement granting it.
    pub fn first_grant(&self, among: ActionSet) -> Option<(ActionId, StatementRef<'p>)> {
        let action = self.granted.intersection(among).first()?;
        Some((action, self.source(action)?))
    }

    /// The statement that granted `action`, if it is granted.
    pub fn source(&self, action: ActionId) -> Option<StatementRef<'p>> {
        if !self.granted.contains(action) {
            return None;
        }
        let mark = self.source_of.get(usize::from(action.index())).copied()?;
        self.by.get(usize::from(mark.checked_sub(1)?))
    }

    /// What every one of `accesses` grants (the access on all of several keys). Each action is
    /// credited to a statement that grants it in all of them where there is one, otherwise to
    /// the first access's statement.
    fn common(accesses: &[&Access<'p>]) -> Access<'p> {
        let Some((first, rest)) = accesses.split_first() else { return Access::empty() };
        let mut common = (*first).clone();
        for other in rest {
            common.granted = common.granted.intersection(other.granted);
            common.create_grant_is_admin &= other.create_grant_is_admin;
        }
        for action in common.granted.iter() {
            let everywhere = accesses
                .iter()
                .filter_map(|a| a.source(action))
                .find(|candidate| accesses.iter().all(|a| a.source(action).is_some_and(|s| s.same(candidate))));
            if let Some(by) = everywhere {
                let mark = common.by.mark(by);
                common.set_source(action, mark);
            }
        }
        common
    }

    /// What both grant: an identity's access within its permissions boundary. Sources stay
    /// those of `self` (the identity's statements are what a verdict names).
    fn within(mut self, boundary: &Access<'_>) -> Access<'p> {
        self.granted = self.granted.intersection(boundary.granted);
        self
    }
}

/// The one place where grants and Denies meet: the Allows among `applying` that `counts`
/// accepts, unioned, minus the actions of the unconditional Denies among them. Callers decide
/// which statements apply (to a key cell, to a grantee); this decides what they leave granted.
fn effective<'p>(applying: impl IntoIterator<Item = StatementRef<'p>>, counts: Counts<'_>) -> Access<'p> {
    let mut access = Access::empty();
    effective_into(&mut access, applying, counts);
    access
}

/// [`effective`], worked out in `access` (empty): where it is to be kept, such as a slot of a
/// list, rather than returned and moved there. An `Access` is some 200 bytes, and
/// [`key_policy_grantees`] moved each three times (callgrind, 100 MB snapshot: 650,000 calls
/// of `memcpy` from it, 18.7 M instructions; 17,000 calls and 0.3 M after).
fn effective_into<'p>(
    access: &mut Access<'p>,
    applying: impl IntoIterator<Item = StatementRef<'p>>,
    counts: Counts<'_>,
) {
    let mut denied = ActionSet::EMPTY;
    for by in applying {
        let statement = by.statement;
        if statement.kms_actions.is_empty() {
            continue;
        }
        match statement.effect {
            Effect::Allow if counts(statement) => access.allow(by),
            Effect::Allow => {}
            Effect::Deny if statement.is_unconditional() => denied = denied.union(statement.kms_actions),
            Effect::Deny => {}
        }
    }
    access.granted = access.granted.minus(denied);
}

/// CreateGrant is not admin in a statement restricting `kms:GrantIsForAWSResource` to true or
/// restricting `kms:ViaService` (grants AWS services create for their resources).
fn grant_exception(statement: &Statement) -> bool {
    statement.conditions.iter().any(|c| c.restricts_grant_for_aws_resource())
        || restricting(&statement.conditions, &["kms:ViaService"]).is_some()
}

/// The most that `docs` can grant on any key cell, or any grantee: every KMS action one of
/// their Allows names. Access is Allows unioned, then Denies and boundaries taken away
/// ([`identity_cells`], [`key_policy_grantees`]), so an action outside this set is granted
/// nowhere, and a rule whose question needs such an action answers it without working out the
/// cells. Most identity documents grant no KMS action at all.
pub fn granted_at_most(docs: &[IdentityDoc<'_>]) -> ActionSet {
    docs.iter()
        .flat_map(|doc| doc.policy.statements.iter())
        .filter(|statement| statement.effect == Effect::Allow)
        .fold(ActionSet::EMPTY, |set, statement| set.union(statement.kms_actions))
}

/// One identity policy among those a principal holds.
#[derive(Debug, Clone, Copy)]
pub struct IdentityDoc<'p> {
    /// Its name in verdicts (inline policy name, attached policy ARN); `None` for the item's
    /// own document.
    pub name: Option<&'p str>,
    /// The checked document.
    pub policy: &'p Policy,
}

/// Whose keys "all keys" means: the resource's own account, in its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyScope {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: String,
    /// The 12-digit account; `None` where there is none (AWS managed policies), so that only
    /// account wildcards reach all keys.
    pub account: Option<String>,
}

impl KeyScope {
    /// The scope of a resource with this ARN and account id (the account may be empty).
    pub fn new(arn: &str, account: &str) -> Self {
        // A resource without an ARN (or with one that does not parse) is in the `aws` partition.
        let partition = Arn::parse(arn).ok().map(|a| a.partition).filter(|p| !p.is_empty()).unwrap_or("aws");
        let account = Some(account).filter(|a| is_account_id(a));
        KeyScope { partition: partition.to_owned(), account: account.map(str::to_owned) }
    }
}

#[cfg(test)]
mod tests;
