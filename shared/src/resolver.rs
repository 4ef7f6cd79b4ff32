//! The other resources a verdict can depend on, behind one interface.
//!
//! Separation of duties judges a role by its attached managed policies (and within its
//! permissions boundary, also a managed policy) and a user by its groups, which Config does not
//! put in the role's or user's item. Rules ask a [`Resolver`]; the
//! edges decide where answers come from: IAM calls in Lambda, the export and the bundled AWS
//! managed policies in the dry-run, a [`MemoryResolver`] in tests.

use std::collections::HashMap;
use std::sync::Arc;

use crate::item::{Document, Identity};
use crate::policy::{DocumentError, Policy};

/// Why another resource could not be had. Rules turn this into a fail-closed cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// Neither the export nor IAM has it.
    #[error("`{0}` was not found")]
    NotFound(String),
    /// Found, but its document does not parse.
    #[error("`{what}` does not parse: {error}")]
    Invalid {
        /// The policy ARN or group name.
        what: String,
        /// The parse error.
        error: DocumentError,
    },
    /// The lookup failed (AccessDenied, throttling that outlasted retries, ...).
    #[error("`{what}` could not be read: {reason}")]
    Unavailable {
        /// The policy ARN or group name.
        what: String,
        /// Why.
        reason: String,
    },
    /// The organization's management account is not known: nothing supplies it here, the
    /// account is in no organization, or AWS Organizations could not be read.
    #[error("the organization's management account is unknown: {0}")]
    ManagementAccountUnknown(String),
}

/// Why a resolver that was given no management account cannot name it.
const NO_MANAGEMENT_ACCOUNT_SOURCE: &str = "nothing here supplies it";

/// Looks up the resources a verdict depends on. Implementations cache; rules may ask twice.
pub trait Resolver: Sync {
    /// A managed policy's default version, by ARN.
    fn managed_policy(&self, arn: &str) -> Result<Arc<Policy>, ResolveError>;

    /// A group (inline and attached policies), by its account and name.
    fn group(&self, account: &str, name: &str) -> Result<Arc<Identity>, ResolveError>;

    /// The organization's management account id, or why it is not known.
    fn management_account(&self) -> Result<String, ResolveError> {
        Err(ResolveError::ManagementAccountUnknown(NO_MANAGEMENT_ACCOUNT_SOURCE.into()))
    }
}

/// The managed policy ARNs or the group names a part of a resolver is asked for
/// ([`MemoryResolver::part`], [`crate::policy_store::PolicyStore::part`]): any iterator of
/// `&str` (a trait alias, which Rust spells as a trait with a blanket implementation).
pub trait Names<'a>: IntoIterator<Item = &'a str> {}

impl<'a, T: IntoIterator<Item = &'a str>> Names<'a> for T {}

/// An in-memory resolver: what tests and the dry-run fill from fixtures or exports. Unknown
/// AWS managed policies fall back to the bundled set when the `bundled-policies` feature is on.
#[derive(Debug, Default, Clone)]
pub struct MemoryResolver {
    policies: HashMap<String, Result<Arc<Policy>, DocumentError>>,
    groups: HashMap<(String, String), Arc<Identity>>,
    unavailable: HashMap<String, String>,
    /// The management account, or why it could not be read; `None`: never supplied.
    management_account: Option<Result<String, String>>,
}

impl MemoryResolver {
    /// An empty resolver.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a managed policy's default document. Statements that cover no KMS action are
    /// dropped: no rule reads them, and a large export holds many (statement names keep their
    /// original index, so verdicts still point at the right statement).
    pub fn add_policy(&mut self, arn: impl Into<String>, document: Document) {
        let document = document.map(|mut policy| {
            policy.retain_kms_statements();
            Arc::new(policy)
        });
        self.policies.insert(arn.into(), document);
    }

    /// Adds a group.
    pub fn add_group(&mut self, account: impl Into<String>, group: Identity) {
        self.groups.insert((account.into(), group.name.clone()), Arc::new(group));
    }

    /// Records that `what` (a policy ARN, or `group <name>`) could not be read, and why: asking
    /// for it then fails closed with that reason.
    pub fn add_unavailable(&mut self, what: impl Into<String>, reason: impl Into<String>) {
        self.unavailable.insert(what.into(), reason.into());
    }

    /// Is this managed policy known (added, or recorded as unavailable)? Bundled AWS managed
    /// policies are not counted.
    pub fn knows_policy(&self, arn: &str) -> bool {
        self.policies.contains_key(arn) || self.unavailable.contains_key(arn)
    }

    /// The part of this resolver that judging an identity can ask for: these managed policies,
    /// these groups of `account` and their managed policies, and the management account. It
    /// shares the entries (no copies), so a judge can hold it without a lock on the whole.
    pub fn part<'a>(&self, account: &str, policy_arns: impl Names<'a>, group_names: impl Names<'a>) -> MemoryResolver {
        let mut part = MemoryResolver { management_account: self.management_account.clone(), ..Default::default() };
        let copy_policy = |part: &mut MemoryResolver, arn: &str| {
            if let Some(policy) = self.policies.get(arn) {
                part.policies.insert(arn.to_owned(), policy.clone());
            }
            if let Some(reason) = self.unavailable.get(arn) {
                part.unavailable.insert(arn.to_owned(), reason.clone());
            }
        };
        for arn in policy_arns {
            copy_policy(&mut part, arn);
        }
        for name in group_names {
            let key = (account.to_owned(), name.to_owned());
            if let Some(group) = self.groups.get(&key) {
                for attached in &group.attached {
                    copy_policy(&mut part, &attached.arn);
                }
                part.groups.insert(key, Arc::clone(group));
            }
            let what = format!("group {name}");
            if let Some(reason) = self.unavailable.get(&what) {
                part.unavailable.insert(what, reason.clone());
            }
        }
        part
    }

    /// Sets the organization's management account.
    pub fn set_management_account(&mut self, account: impl Into<String>) {
        self.management_account = Some(Ok(account.into()));
    }

    /// Records that the management account could not be read, and why: asking for it then
    /// fails with that reason.
    pub fn set_management_account_unknown(&mut self, reason: impl Into<String>) {
        self.management_account = Some(Err(reason.into()));
    }
}

impl Resolver for MemoryResolver {
    fn managed_policy(&self, arn: &str) -> Result<Arc<Policy>, ResolveError> {
        if let Some(reason) = self.unavailable.get(arn) {
            return Err(ResolveError::Unavailable { what: arn.into(), reason: reason.clone() });
        }
        match self.policies.get(arn) {
            Some(Ok(policy)) => Ok(Arc::clone(policy)),
            Some(Err(error)) => Err(ResolveError::Invalid { what: arn.into(), error: error.clone() }),
            None => bundled_fallback(arn),
        }
    }

    fn group(&self, account: &str, name: &str) -> Result<Arc<Identity>, ResolveError> {
        let what = format!("group {name}");
        if let Some(reason) = self.unavailable.get(&what) {
            return Err(ResolveError::Unavailable { what, reason: reason.clone() });
        }
        self.groups
            .get(&(account.to_owned(), name.to_owned()))
            .cloned()
            .ok_or_else(|| ResolveError::NotFound(format!("group {name}")))
    }

    fn management_account(&self) -> Result<String, ResolveError> {
        match &self.management_account {
            Some(Ok(account)) => Ok(account.clone()),
            Some(Err(reason)) => Err(ResolveError::ManagementAccountUnknown(reason.clone())),
            None => Err(ResolveError::ManagementAccountUnknown(NO_MANAGEMENT_ACCOUNT_SOURCE.into())),
        }
    }
}

/// A managed policy no resolver holds: the bundled AWS managed policy of that ARN, where there
/// is one (feature `bundled-policies`), or not found.
#[cfg(feature = "bundled-policies")]
pub(crate) fn bundled_fallback(arn: &str) -> Result<Arc<Policy>, ResolveError> {
    crate::bundled::aws_managed_policy(arn).ok_or_else(|| ResolveError::NotFound(arn.into()))
}

#[cfg(not(feature = "bundled-policies"))]
pub(crate) fn bundled_fallback(arn: &str) -> Result<Arc<Policy>, ResolveError> {
    Err(ResolveError::NotFound(arn.into()))
}
