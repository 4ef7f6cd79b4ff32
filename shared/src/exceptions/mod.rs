//! Exceptions with a reason and an expiry (SPEC section 8): the file, and what it does to a
//! verdict. Pure: today's date is an argument, the file's text is given; the dry-run reads the
//! file from disk and the Lambda shell from S3 or SSM (`runtime`), and both apply it here, so
//! one file gives the same verdicts in both.
//!
//! ```yaml
//! exceptions:
//!   - rule: kms-key-policy-via-service-required    # a rule id, or "*"
//!     resource: arn:aws:kms:*:111122223333:key/*    # ARN pattern, resource id or account id
//!     principal: arn:aws:iam::111122223333:role/BreakGlass   # optional
//!     reason: break-glass role, reviewed quarterly  # required
//!     expires: 2027-03-31                           # required
//!     owner: security@example.com                  # optional
//! ```
//!
//! What an exception matches:
//! - `rule`: the rule's id, or `*` for every rule;
//! - `resource`: an ARN pattern (`arn:`..., `*` and `?` as in IAM, case-sensitive as ARNs are)
//!   against the resource's ARN; twelve digits: every resource of that account; anything else:
//!   the resource id exactly (a key id, an IAM unique id `AROA...`);
//! - `principal` (optional): only causes naming a principal it matches (an ARN pattern, a
//!   service principal, `anyone`, `any other principal of <account>`, or `*`; `*` and `?` as
//!   in ARNs, case-sensitive), compared with the principal as the
//!   cause names it, without the `(through `...`)` note of a wildcard grant. Without it, every
//!   cause of the matched resources.
//!
//! What it does ([`Exceptions::apply`]), to NON_COMPLIANT verdicts only:
//! - each cause is covered by the matching exception that lasts longest (ties: the first in
//!   the file); an exception covers through its `expires` day (UTC) and from the next day
//!   covers nothing; a cause only expired exceptions match keeps the latest of them, and says
//!   `exception expired on <date>`;
//! - every cause covered: NOT_APPLICABLE, annotated `excepted until <date>: <reason>` with the
//!   exception that ends first (the day the verdict stops being excepted);
//! - some covered: NON_COMPLIANT, the uncovered causes first (the annotation names them, and
//!   counts the excepted ones).
//!
//! COMPLIANT and NOT_APPLICABLE verdicts are left alone: there is nothing to cover, and an
//! exception must never hide that a resource has become compliant, or turn an out-of-scope one
//! into a finding. (Advisory causes of a COMPLIANT verdict are not findings either.)
//!
//! The format follows the tools people already keep exceptions in: Prowler's mutelist (checks
//! by id or `*`, resources by pattern, per account, with a `Description`), Security Hub's
//! suppressed findings (a workflow status with a note), Checkov's skip comments (a check id and
//! a reason); unlike all three it requires an expiry, so that an exception is reviewed rather
//! than forgotten. The README's "Exceptions" section gives the links.

mod file;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use crate::date::Date;
pub use file::{parse, EntryError, FileError, Problem, FIELDS};

use crate::pattern::Pattern;
use crate::rule::{AnnotationStyle, Cause, Compliance, Verdict};

/// How many days ahead "expires soon" looks (the table lists those, `exceptions check` too).
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

/// A checked exceptions file.
#[derive(Debug, Clone, Default)]
pub struct Exceptions {
    entries: Vec<Exception>,
}

/// One exception.
#[derive(Debug, Clone)]
pub struct Exception {
    /// Its place in the file, from 0.
    pub index: usize,
    /// The rules it applies to.
    pub rule: RuleMatch,
    /// The resources it applies to.
    pub resource: ResourceMatch,
    /// `resource` as written.
    pub resource_text: String,
    /// Only causes naming this principal, when given.
    pub principal: Option<Principal>,
    /// Why.
    pub reason: String,
    /// The last day it covers (UTC).
    pub expires: Date,
    /// Who answers for it.
    pub owner: Option<String>,
}

/// The rules an exception applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleMatch {
    /// `*`: every rule.
    Any,
    /// One rule, by id.
    Id(String),
}

/// The resources an exception applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceMatch {
    /// An ARN pattern, against the resource's ARN.
    Arn(Pattern),
    /// Every resource of a 12-digit account.
    Account(String),
    /// One resource id, exactly.
    Id(String),
}

/// A principal pattern, against the principal a cause names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal(Pattern);

impl Principal {
    /// As written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// What an exception is matched against: the rule and the resource a verdict is about.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The rule's id.
    pub rule: &'a str,
    /// The resource's ARN (may be empty: an ARN pattern then matches nothing).
    pub arn: &'a str,
    /// The resource id Config reports (`ComplianceResourceId`).
    pub resource_id: &'a str,
    /// The resource's account.
    pub account_id: &'a str,
}

/// The exception a cause carries: the one that covers it, or the expired one that would have.
/// The dry-run's JSON shows it per cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// Its place in the file, from 0 (`exceptions[index]`).
    pub index: usize,
    /// `rule` as written.
    pub rule: String,
    /// `resource` as written.
    pub resource: String,
    /// `principal` as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Why.
    pub reason: String,
    /// Its last day.
    pub expires: Date,
    /// Who answers for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Past its date: it covers nothing.
    pub expired: bool,
}

impl Applied {
    /// Does it cover its cause (not expired)?
    pub fn covers(&self) -> bool {
        !self.expired
    }
}

impl Exception {
    /// Does it still cover on `today` (it covers through its `expires` day)?
    pub fn is_live(&self, today: Date) -> bool {
        today <= self.expires
    }

    /// Matches the rule and resource of `target`?
    pub fn matches_target(&self, target: &Target<'_>) -> bool {
        let rule = match &self.rule {
            RuleMatch::Any => true,
            RuleMatch::Id(id) => id == target.rule,
        };
        let resource = match &self.resource {
            ResourceMatch::Arn(pattern) => !target.arn.is_empty() && pattern.matches(target.arn),
            ResourceMatch::Account(account) => account == target.account_id,
            ResourceMatch::Id(id) => id == target.resource_id,
        };
        rule && resource
    }

    /// Matches `cause` (on a resource it matches)? With a principal, only causes naming one it
    /// matches.
    pub fn matches_cause(&self, cause: &Cause) -> bool {
        match (&self.principal, &cause.principal) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(Principal(pattern)), Some(named)) => pattern.matches(principal_name(named)),
        }
    }

    fn applied(&self, today: Date) -> Applied {
        let rule = match &self.rule {
            RuleMatch::Any => "*".to_owned(),
            RuleMatch::Id(id) => id.clone(),
        };
        Applied {
            index: self.index,
            rule,
            resource: self.resource_text.clone(),
            principal: self.principal.as_ref().map(|Principal(p)| p.as_str().to_owned()),
            reason: self.reason.clone(),
            expires: self.expires,
            owner: self.owner.clone(),
            expired: !self.is_live(today),
        }
    }
}

/// The principal as a cause names it, without the note of how a wildcard reached it
/// (`arn:...:role/Admin (through `*`)`).
fn principal_name(named: &str) -> &str {
    named.split_once(" (through ").map_or(named, |(name, _)| name)
}

impl Exceptions {
    /// No exceptions: [`Exceptions::apply`] changes nothing.
    pub const fn none() -> Exceptions {
        Exceptions { entries: Vec::new() }
    }

    /// Every entry, in file order.
    pub fn entries(&self) -> &[Exception] {
        &self.entries
    }

    /// Is the file empty?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Checks that every `rule` names one of `known` (or is `*`): an exception for a misspelt
    /// rule would cover nothing and say nothing. The dry-run, `exceptions check` and the Lambda
    /// functions all check against [`crate::rule::RULE_IDS`].
    pub fn check_rules(&self, known: &[&str]) -> Result<(), FileError> {
        let errors: Vec<EntryError> = self
            .entries
            .iter()
            .filter_map(|e| match &e.rule {
                RuleMatch::Id(id) if !known.contains(&id.as_str()) => Some(EntryError {
                    index: e.index,
                    rule: Some(id.clone()),
                    resource: Some(e.resource_text.clone()),
                    field: "rule".into(),
                    problem: Problem::UnknownRule { id: id.clone(), known: known.join(", ") },
                }),
                _ => None,
            })
            .collect();
        match errors.is_empty() {
            true => Ok(()),
            false => Err(FileError::Entries(errors)),
        }
    }

    /// The entries past their date on `today`.
    pub fn expired(&self, today: Date) -> impl Iterator<Item = &Exception> {
        self.entries.iter().filter(move |e| !e.is_live(today))
    }

    /// The live entries whose last day is within [`EXPIRING_WITHIN_DAYS`] of `today`.
    pub fn expiring(&self, today: Date) -> impl Iterator<Item = &Exception> {
        let horizon = today.plus_days(EXPIRING_WITHIN_DAYS);
        self.entries.iter().filter(move |e| e.is_live(today) && e.expires <= horizon)
    }

    /// The verdict on `target` with these exceptions applied on `today` (the module's header
    /// says what that does). Only NON_COMPLIANT verdicts with causes change.
    pub fn apply(&self, target: &Target<'_>, verdict: Verdict, today: Date) -> Verdict {
        if verdict.compliance != Compliance::NonCompliant || verdict.causes.is_empty() || self.entries.is_empty() {
            return verdict;
        }
        let matching: Vec<&Exception> = self.entries.iter().filter(|e| e.matches_target(target)).collect();
        if matching.is_empty() {
            return verdict;
        }
        let style = verdict.style;
        let mut causes = verdict.causes;
        for cause in &mut causes {
            cause.exception = best(&matching, cause, today).map(|e| e.applied(today));
        }
        if causes.iter().all(Cause::is_excepted) {
            return Verdict { compliance: Compliance::NotApplicable, causes, style: AnnotationStyle::Excepted };
        }
        let (mut open, covered): (Vec<Cause>, Vec<Cause>) = causes.into_iter().partition(|c| !c.is_excepted());
        open.extend(covered);
        Verdict { compliance: Compliance::NonCompliant, causes: open, style }
    }
}

/// The exception a cause gets: the live one that lasts longest, else the expired one that
/// lasted longest; ties go to the first in the file.
fn best<'a>(matching: &[&'a Exception], cause: &Cause, today: Date) -> Option<&'a Exception> {
    matching.iter().copied().filter(|e| e.matches_cause(cause)).fold(None, |best: Option<&Exception>, e| match best {
        None => Some(e),
        Some(b) => {
            let key = |x: &Exception| (x.is_live(today), x.expires);
            Some(if key(e) > key(b) { e } else { b })
        }
    })
}

/// The annotation of a verdict all of whose causes are excepted: the exception that ends
/// first, since the verdict is excepted until then.
pub(crate) fn excepted_annotation(causes: &[Cause]) -> Option<String> {
    let first_to_end = causes.iter().filter_map(|c| c.exception.as_ref()).min_by_key(|a| (a.expires, a.index))?;
    Some(format!("excepted until {}: {}", first_to_end.expires, first_to_end.reason))
}
