//! Key policies per grantee class (SPEC section 2, "Grantee classes").
//!
//! A key policy is judged for every principal that any statement names (in `Principal` or
//! `NotPrincipal`, of an Allow or a Deny), for "any other principal" of each account named or
//! owning a named principal, and for "anyone" else. Each class is a set of real principals
//! that every statement treats alike, so judging one stands for all of them:
//! - an Allow covers a class when it names it, names everyone, names the role whose session
//!   the class is, or is a `NotPrincipal` Allow that does not exclude it; an account in an
//!   Allow's `Principal` is that account (IAM delegation), not its users and roles;
//! - a Deny covers a class as an Allow does, and also when it names the class's account;
//! - `NotPrincipal` excludes exactly the principals it names, except that a role ARN does not
//!   exclude the role's sessions, through which the role acts: a role grantee is never
//!   excluded, a session only by its own assumed-role ARN.
//!
//! A statement applies to the key only when its `Resource` (or `NotResource`) matches the
//! key's own ARN: `*` always does, and one naming another key grants and denies nothing here.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, Weak};

use super::{effective, effective_into, Access, Counts, StatementRef};
use crate::policy::{Effect, Policy, Principal, Principals, Statement};

/// A class of principals a key policy treats alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// A principal some statement names (an account root, a user, a role and its sessions, an
    /// assumed-role session, a service, ...).
    Named(Principal),
    /// Any principal of this account that no statement names.
    OtherOf {
        /// The 12-digit account.
        account: String,
    },
    /// Anyone else: principals of accounts no statement names, and anonymous callers.
    Anyone,
}

impl Grantee {
    /// True for a service principal (`{"Service": ...}`).
    pub fn is_service(&self) -> bool {
        matches!(self, Grantee::Named(p) if p.is_service())
    }

    /// The principal, for a named grantee.
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Grantee::Named(p) => Some(p),
            _ => None,
        }
    }

    /// Does an Allow (or, with `deny`, a Deny) with these principals reach this class?
    fn covered_by(&self, principals: &Principals, deny: bool) -> bool {
        match principals {
            Principals::Only(list) => list.iter().any(|named| match (named, self) {
                (Principal::Everyone, _) => true,
                (named, Grantee::Named(p)) => {
                    named == p
                        || p.is_session_of(named)
                        || (deny && matches!(named, Principal::Account { id, .. } if p.account() == Some(id)))
                }
                (Principal::Account { id, .. }, Grantee::OtherOf { account }) => deny && id == account,
                _ => false,
            }),
            Principals::AllExcept(list) => !self.excluded_by(list),
        }
    }

    /// Does a `NotPrincipal` list leave this class out? Only by naming it, and a role ARN does
    /// not leave out the role, which acts through its sessions.
    fn excluded_by(&self, list: &[Principal]) -> bool {
        match self {
            Grantee::Named(p) => !p.is_role() && list.contains(p),
            Grantee::OtherOf { .. } | Grantee::Anyone => false,
        }
    }

    /// How a cause names the class when `by` granted it the action: a named principal granted
    /// through a statement that does not name it says so (`(through `*`)`).
    pub fn named_for(&self, by: &Statement) -> String {
        let through = match &by.principals {
            Some(Principals::Only(list)) if list.contains(&Principal::Everyone) => {
                let names_it = matches!(self, Grantee::Named(p) if list.iter().any(|n| n == p || p.is_session_of(n)));
                (!names_it).then_some("`*`")
            }
            Some(Principals::AllExcept(_)) => Some("NotPrincipal"),
            _ => None,
        };
        match (self, through, &by.principals) {
            (Grantee::Anyone, Some("NotPrincipal"), Some(Principals::AllExcept(named))) => {
                // Role ARNs exclude nothing: their sessions, through which they act, are granted.
                let excluded: Vec<String> = named.iter().filter(|p| !p.is_role()).map(ToString::to_string).collect();
                if excluded.is_empty() {
                    "anyone, role sessions included (NotPrincipal names only roles)".to_owned()
                } else {
                    format!("anyone but {} (NotPrincipal)", excluded.join(", "))
                }
            }
            (Grantee::Named(_), Some(through), _) => format!("{self} (through {through})"),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Grantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grantee::Named(p) => write!(f, "{p}"),
            Grantee::OtherOf { account } => write!(f, "any other principal of {account}"),
            Grantee::Anyone => f.write_str("anyone"),
        }
    }
}

/// One grantee class of a key policy and what the policy effectively allows it.
#[derive(Debug, Clone)]
pub struct GranteeAccess<'p> {
    /// The class: shared with the classes kept for the next rule ([`key_policy_grantees`]
    /// asks about the same key policy for several rules in a row), rather than copied.
    pub grantee: Rc<Grantee>,
    /// Its access after the Denies that cover it.
    pub access: Access<'p>,
}

/// Every grantee class of `policy`, the key policy of the key `key_arn`, in the order the
/// statements first name them, then any other principal of each account, then anyone, each
/// with the union of the Allows that cover it and apply to the key, minus the unconditional
/// Denies that cover it and apply to the key.
pub fn key_policy_grantees<'p>(policy: &'p Policy, key_arn: &str, counts: Counts<'_>) -> Vec<GranteeAccess<'p>> {
    let classes = Classes::of(policy, key_arn);
    // Each grantee's access is worked out in its slot of the list, not moved there
    // (`effective_into`).
    let mut grantees: Vec<GranteeAccess<'p>> = classes
        .covering
        .iter()
        .map(|(grantee, _)| GranteeAccess { grantee: Rc::clone(grantee), access: Access::empty() })
        .collect();
    for (slot, (_, covering)) in grantees.iter_mut().zip(&classes.covering) {
        // The indexes are into these very statements (`Classes::of`): `get` never misses.
        let applying = covering.iter().filter_map(|i| policy.statements.get(*i));
        effective_into(&mut slot.access, applying.map(|statement| StatementRef { document: None, statement }), counts);
    }
    grantees
}

/// A key policy's grantee classes and, for each, the statements that cover it and apply to the
/// key (as indexes into the policy's statements): all that [`key_policy_grantees`] decides
/// before it counts Allows. It depends on the key only through which statements apply to it
/// ([`OnKey`]), so it is the same for every rule that asks about the same key, and for every
/// key whose policy is the same document with the same statements applying: the parse memo
/// hands out one allocation of statements for a text met again (`policy::memo`), and an
/// account's keys often share their policy's text.
struct Classes {
    covering: Vec<(Rc<Grantee>, Vec<usize>)>,
}

/// Which of a key policy's statements apply to the key, in statement order.
type OnKey = Box<[bool]>;

/// How many [`Classes`] a thread keeps by their statements before it drops them all: each
/// holds its statements' allocation (the `Statement` values' own bytes, not what they point
/// to), so that its address is not another policy's while it is kept.
pub(super) const KEPT_AT_MOST: usize = 1024;

/// The classes asked for last on a thread, and the key they were asked for.
struct Last {
    statements: Weak<[Statement]>,
    key_arn: String,
    classes: Rc<Classes>,
}

/// Classes kept by the address of their statements and which of those apply to the key. An
/// entry holds a `Weak` to those statements, so their allocation is not freed while it is
/// kept: an address found here is the very allocation the classes were worked out from (the
/// statements of an `Arc` are never changed).
type Kept = HashMap<(*const Statement, OnKey), (Weak<[Statement]>, Rc<Classes>), foldhash::fast::FixedState>;

thread_local! {
    /// The classes of the key policy last asked about on this thread. The rules judge one
    /// resource after another, each rule in turn, so four of them in a row ask about the same
    /// key: this answers them without looking at the statements.
    static LAST: RefCell<Option<Last>> = const { RefCell::new(None) };
    /// The classes worked out on this thread, for the next key with the same policy.
    static KEPT: RefCell<Kept> = RefCell::new(Kept::default());
}

impl Classes {
    /// The classes of `policy` on `key_arn`: those asked for last on this thread, if they were
    /// of the very same statements and key; otherwise those kept for the same statements with
    /// the same of them applying to the key; otherwise worked out (and kept).
    fn of(policy: &Policy, key_arn: &str) -> Rc<Classes> {
        let statements = Arc::as_ptr(&policy.statements);
        let same = |last: &Last| std::ptr::eq(last.statements.as_ptr(), statements) && last.key_arn == key_arn;
        if let Some(classes) =
            LAST.with_borrow(|last| last.as_ref().filter(|last| same(last)).map(|l| Rc::clone(&l.classes)))
        {
            return classes;
        }
        let on_key: OnKey = policy.statements.iter().map(|s| s.applies_to(key_arn)).collect();
        let key = (statements.cast::<Statement>(), on_key);
        let classes = match KEPT.with_borrow(|kept| kept.get(&key).map(|(_, classes)| Rc::clone(classes))) {
            Some(classes) => classes,
            None => {
                let classes = Rc::new(Classes::work_out(policy, &key.1));
                KEPT.with_borrow_mut(|kept| {
                    if kept.len() >= KEPT_AT_MOST {
                        kept.clear();
                    }
                    kept.insert(key, (Arc::downgrade(&policy.statements), Rc::clone(&classes)));
                });
                classes
            }
        };
        let last = Last { statements: Arc::downgrade(&policy.statements), key_arn: key_arn.to_owned(), classes };
        let classes = Rc::clone(&last.classes);
        LAST.with_borrow_mut(|slot| *slot = Some(last));
        classes
    }

    fn work_out(policy: &Policy, on_key: &[bool]) -> Classes {
        let mut classes: Vec<Grantee> = Vec::new();
        let mut accounts: Vec<String> = Vec::new();
        for statement in policy.statements.iter() {
            let named = match &statement.principals {
                Some(Principals::Only(list) | Principals::AllExcept(list)) => list,
                None => continue,
            };
            for principal in named {
                if let Some(account) = principal.account() {
                    if !accounts.iter().any(|a| a == account) {
                        accounts.push(account.to_owned());
                    }
                }
                let class = match principal {
                    Principal::Everyone => Grantee::Anyone,
                    other => Grantee::Named(other.clone()),
                };
                if !classes.contains(&class) {
                    classes.push(class);
                }
            }
        }
        classes.retain(|c| *c != Grantee::Anyone);
        classes.extend(accounts.into_iter().map(|account| Grantee::OtherOf { account }));
        classes.push(Grantee::Anyone);
        // Which statements apply to this key is the same for every class: decided once.
        // `on_key` has an entry for each statement (`Classes::of`).
        let on_key: Vec<(usize, &Statement)> = policy
            .statements
            .iter()
            .enumerate()
            .zip(on_key)
            .filter_map(|(statement, applies)| applies.then_some(statement))
            .collect();
        let covering = classes
            .into_iter()
            .map(|grantee| {
                let covering = on_key.iter().filter(|(_, s)| covers(s, &grantee)).map(|(i, _)| *i).collect();
                (Rc::new(grantee), covering)
            })
            .collect();
        Classes { covering }
    }
}

/// Does `statement` (of a key policy) cover `grantee`: name it, in an Allow or a Deny?
fn covers(statement: &Statement, grantee: &Grantee) -> bool {
    let Some(principals) = &statement.principals else { return false };
    grantee.covered_by(principals, statement.effect == Effect::Deny)
}

/// What the statements (those of a key policy that apply to the key) allow `grantee`.
fn access_of<'p>(on_key: &[&'p Statement], grantee: &Grantee, counts: Counts<'_>) -> Access<'p> {
    let covering = on_key.iter().filter(|statement| covers(statement, grantee));
    effective(covering.map(|statement| StatementRef { document: None, statement }), counts)
}

/// What `policy` (the key policy of `key_arn`) effectively allows `grantee`.
pub fn key_policy_access<'p>(policy: &'p Policy, key_arn: &str, grantee: &Grantee, counts: Counts<'_>) -> Access<'p> {
    let on_key: Vec<&'p Statement> = policy.statements.iter().filter(|s| s.applies_to(key_arn)).collect();
    access_of(&on_key, grantee, counts)
}
