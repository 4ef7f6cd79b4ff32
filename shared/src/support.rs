//! Steps several rules take, written once: getting a key's policy or failing closed, deciding
//! which key-policy grantees a rule judges, gathering the identity policies a principal holds,
//! and phrasing causes.

use std::borrow::Cow;
use std::sync::Arc;

use crate::access::{Access, Grantee, GranteeAccess, IdentityDoc, StatementRef};
use crate::catalog::{ActionClass, ActionId, ActionSet};
use crate::item::{Details, Identity, Key, KeyPolicy, Resource};
use crate::pattern::{Pattern, Variables};
use crate::policy::{DocumentError, Effect, Policy, Principal};
use crate::rule::{Cause, Context, ParamKind, ParamSpec, Params, Verdict};

/// Parameter `exemptPrincipals`: principals (ARN patterns) the key-policy rules do not judge.
pub const EXEMPT_PRINCIPALS_PARAM: ParamSpec =
    ParamSpec::new("exemptPrincipals", ParamKind::ArnPatterns, "", "principal ARN patterns that are not judged");

/// Parameter `flagAccountRoot`: treat the key's own account root as a grantee.
pub const FLAG_ACCOUNT_ROOT_PARAM: ParamSpec =
    ParamSpec::new("flagAccountRoot", ParamKind::Bool, "false", "judge the key's own account root as a grantee");

/// A key and its parsed policy, or the verdict to return instead: NON_COMPLIANT (fail closed)
/// when the policy is invalid, absent or unreadable; NOT_APPLICABLE for a resource that is not
/// a key.
pub fn key_and_policy(resource: &Resource) -> Result<(&Key, &Policy), Verdict> {
    let Details::Key(key) = &resource.details else { return Err(Verdict::not_applicable("not a KMS key")) };
    match &key.policy {
        KeyPolicy::Parsed(policy) => Ok((key, policy)),
        KeyPolicy::Invalid(error) => {
            Err(Verdict::from_causes(vec![Cause::because(format!("key policy does not parse: {error}"))]))
        }
        KeyPolicy::Absent => Err(Verdict::from_causes(vec![Cause::because(
            "key policy is absent from the configuration item (supplementaryConfiguration.Policy)",
        )])),
        KeyPolicy::Unreadable(reason) => {
            Err(Verdict::from_causes(vec![Cause::because(format!("key policy unreadable: {reason}"))]))
        }
    }
}

/// The verdict on a key's policy: `judge`'s, or the one [`key_and_policy`] returns instead
/// (fail closed, or NOT_APPLICABLE for a resource that is not a key).
pub fn judge_key_policy(resource: &Resource, judge: impl FnOnce(&Policy) -> Verdict) -> Verdict {
    match key_and_policy(resource) {
        Ok((_, policy)) => judge(policy),
        Err(verdict) => verdict,
    }
}

/// The actions a grant to a service principal must guard against the confused deputy: use,
/// admin and `kms:CreateGrant`.
pub fn confused_deputy_actions() -> ActionSet {
    ActionSet::use_actions().union(ActionSet::admin_actions()).union(ActionSet::of_class(ActionClass::Grant))
}

/// The grantees a key-policy rule judges: not the key's own account root (IAM delegation)
/// unless `flagAccountRoot`, and none that `exemptPrincipals` matches.
pub struct GranteeFilter<'a> {
    own_account: &'a str,
    flag_account_root: bool,
    exempt: Vec<Pattern>,
}

impl<'a> GranteeFilter<'a> {
    /// The filter for a key in `own_account`, with the rule's parameters.
    pub fn new(own_account: &'a str, params: &Params) -> Self {
        GranteeFilter {
            own_account,
            flag_account_root: params.flag(FLAG_ACCOUNT_ROOT_PARAM.name),
            exempt: params
                .list(EXEMPT_PRINCIPALS_PARAM.name)
                .iter()
                .map(|p| Pattern::arn(p, Variables::Literal))
                .collect(),
        }
    }

    /// Does the rule judge this grantee class? `exemptPrincipals` is matched against a named
    /// principal's ARN, against `*` for anyone, and against `arn:<partition>:iam::<account>:*`
    /// for any other principal of an account (so only a pattern covering every principal of
    /// the account exempts them all).
    pub fn judges(&self, grantee: &Grantee) -> bool {
        let own_root = matches!(grantee, Grantee::Named(Principal::Account { id, .. }) if id == self.own_account);
        if own_root && !self.flag_account_root {
            return false;
        }
        // Without `exemptPrincipals` (the default), no grantee is named to be matched.
        if self.exempt.is_empty() {
            return true;
        }
        let text = match grantee {
            Grantee::Named(principal) => principal.to_string(),
            Grantee::OtherOf { account } => format!("arn:aws:iam::{account}:*"),
            Grantee::Anyone => "*".to_owned(),
        };
        !self.exempt.iter().any(|p| p.matches(&text))
    }

    /// Is an identity with this ARN exempt?
    pub fn is_exempt(&self, arn: &str) -> bool {
        self.exempt.iter().any(|p| p.matches(arn))
    }
}

/// A cause for `action` granted by `by` to `principal`, naming the statement, the document and
/// the pattern that matched when it is not the action itself.
pub fn grant_cause(
    by: StatementRef<'_>,
    principal: Option<&str>,
    action: ActionId,
    reason: impl Into<String>,
) -> Cause {
    let qualified = action.to_string();
    let pattern = by
        .statement
        .pattern_for(&qualified)
        .map(|p| p.as_str().to_owned())
        .filter(|p| !p.eq_ignore_ascii_case(&qualified))
        .or_else(|| match &by.statement.actions {
            crate::policy::Actions::AllExcept(_) => Some("NotAction".to_owned()),
            crate::policy::Actions::Only(_) => None,
        });
    Cause {
        document: by.document.map(str::to_owned),
        statement: Some(by.statement.name.to_string()),
        principal: principal.map(str::to_owned),
        action: Some(qualified),
        pattern,
        reason: reason.into(),
        exception: None,
    }
}

/// A cause for `action` in `access`, if it is granted.
pub fn access_cause(access: &Access<'_>, principal: Option<&str>, action: ActionId, reason: &str) -> Option<Cause> {
    access.source(action).map(|by| grant_cause(by, principal, action, reason))
}

/// The identity policies a user or role holds, for rules that judge the principal as a whole:
/// inline policies, attached managed policies (resolved) and, for a user, its groups' inline
/// and attached policies; and its permissions boundary (resolved like an attached policy).
/// What cannot be parsed or resolved comes back as causes, so that the rule fails closed
/// rather than judging an incomplete set (or a boundary it could not read as no boundary).
pub struct HeldPolicies<'r> {
    /// Every document that could be read, with its name. The item's own inline documents and
    /// names are borrowed from it (gathered for every user and role, most never named in a
    /// cause); its groups', which the resolver hands out, and the resolved ones are held.
    pub documents: Vec<(Cow<'r, str>, Cow<'r, Policy>)>,
    /// The permissions boundary, by its ARN, when the identity has one and it could be read.
    /// It limits what [`HeldPolicies::documents`] grant; it grants nothing itself.
    pub boundary: Option<(String, Arc<Policy>)>,
    /// One cause per document that could not be read (the boundary included).
    pub unreadable: Vec<Cause>,
}

impl<'r> HeldPolicies<'r> {
    /// Gathers what the resource (a user or role) holds; empty for other resources.
    pub fn gather(resource: &'r Resource, ctx: &Context<'_>) -> HeldPolicies<'r> {
        let mut held = HeldPolicies { documents: Vec::new(), boundary: None, unreadable: Vec::new() };
        let Some((identity, groups)) = resource.identity_and_groups() else { return held };
        held.add_own(identity, ctx);
        if let Some(arn) = &identity.boundary {
            match ctx.resolver.managed_policy(arn) {
                Ok(policy) => held.boundary = Some((arn.clone(), policy)),
                Err(e) => {
                    held.unreadable.push(Cause::because(format!("permissions boundary could not be resolved: {e}")))
                }
            }
        }
        for group in groups {
            match ctx.resolver.group(resource.account_id(), group) {
                Ok(identity) => held.add_group(group, &identity, ctx),
                Err(e) => held.unreadable.push(Cause::because(format!("group {group} could not be resolved: {e}"))),
            }
        }
        held
    }

    /// The item's own policies, named as it names them.
    fn add_own(&mut self, identity: &'r Identity, ctx: &Context<'_>) {
        for inline in &identity.inline {
            self.add_document(Cow::Borrowed(&inline.name), inline.document.as_ref().map(Cow::Borrowed));
        }
        for attached in &identity.attached {
            self.add_attached(Cow::Borrowed(&attached.arn), &attached.arn, ctx);
        }
    }

    /// A group's policies, named `group <group> <name>`.
    fn add_group(&mut self, group: &str, identity: &Identity, ctx: &Context<'_>) {
        let named = |name: &str| Cow::Owned(format!("group {group} {name}"));
        for inline in &identity.inline {
            let document = inline.document.as_ref().map(|policy| Cow::Owned(policy.clone()));
            self.add_document(named(&inline.name), document);
        }
        for attached in &identity.attached {
            self.add_attached(named(&attached.arn), &attached.arn, ctx);
        }
    }

    fn add_document(&mut self, name: Cow<'r, str>, document: Result<Cow<'r, Policy>, &DocumentError>) {
        match document {
            Ok(policy) => self.documents.push((name, policy)),
            Err(e) => self.unreadable.push(Cause::unparsed(Some(&name), e)),
        }
    }

    fn add_attached(&mut self, name: Cow<'r, str>, arn: &str, ctx: &Context<'_>) {
        match ctx.resolver.managed_policy(arn) {
            // A copy of the policy shares its statements (and their addresses, which causes
            // compare) with the resolver's.
            Ok(policy) => self.documents.push((name, Cow::Owned(Policy::clone(&policy)))),
            Err(e) => self.unreadable.push(Cause::because(format!("attached policy could not be resolved: {e}"))),
        }
    }

    /// The documents as [`IdentityDoc`]s for [`crate::access`].
    pub fn docs(&self) -> Vec<IdentityDoc<'_>> {
        self.documents.iter().map(|(name, policy)| IdentityDoc { name: Some(name), policy }).collect()
    }
}

/// Causes for inline documents that do not parse (fail closed), plus the documents that do.
pub fn parsed_inline(inline: &[crate::item::NamedDocument]) -> (Vec<IdentityDoc<'_>>, Vec<Cause>) {
    let mut docs = Vec::new();
    let mut causes = Vec::new();
    for named in inline {
        match &named.document {
            Ok(policy) => docs.push(IdentityDoc { name: Some(&named.name), policy }),
            Err(e) => causes.push(Cause::unparsed(Some(&named.name), e)),
        }
    }
    (docs, causes)
}

/// Parameter `blockedActionsPatterns`: the action patterns a blocked-actions rule flags
/// (Security Hub KMS.1/KMS.2's defaults).
pub const BLOCKED_ACTIONS_PARAM: ParamSpec = ParamSpec::new(
    "blockedActionsPatterns",
    ParamKind::ActionPatterns,
    "kms:Decrypt,kms:ReEncryptFrom",
    "KMS action patterns that must not be allowed on all keys",
);

/// Parameter `acceptConditionKeys`: condition keys whose restricting conditions make an Allow
/// not count.
pub const ACCEPT_CONDITION_KEYS_PARAM: ParamSpec = ParamSpec::new(
    "acceptConditionKeys",
    ParamKind::ConditionKeys,
    "",
    "condition keys whose restricting conditions make an Allow acceptable",
);

/// The blocked-actions check on one identity policy of `resource`, judged alone (`principal`
/// names its holder in causes, where it has one): a cause for every blocked action it allows
/// on all keys of the resource's account ([`crate::access::KeyScope::new`]), after its own
/// unconditional Denies. Allows restricted by a condition on an accepted key do not count.
pub fn blocked_actions_causes(
    doc: IdentityDoc<'_>,
    principal: Option<&str>,
    resource: &Resource,
    params: &Params,
) -> Vec<Cause> {
    // Most documents allow no KMS action at all, and many others only on keys they name: then
    // no action is allowed on all keys, and neither the blocked patterns nor the cells are
    // worked out.
    let on_unnamed_keys = doc
        .policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow && !s.kms_actions.is_empty() && crate::access::may_reach_unnamed_keys(s))
        .fold(ActionSet::EMPTY, |set, s| set.union(s.kms_actions));
    if on_unnamed_keys.is_empty() {
        return Vec::new();
    }
    let blocked = blocked_actions(params.list(BLOCKED_ACTIONS_PARAM.name));
    if blocked.intersection(on_unnamed_keys).is_empty() {
        return Vec::new();
    }
    let accepted = params.list(ACCEPT_CONDITION_KEYS_PARAM.name);
    let counts = |s: &crate::policy::Statement| {
        crate::condition::restricting_where(&s.conditions, |key| accepted.iter().any(|a| a.eq_ignore_ascii_case(key)))
            .is_none()
    };
    // Made only here, for the few documents that may allow a blocked action.
    let scope = crate::access::KeyScope::new(resource.arn(), resource.account_id());
    let cells = crate::access::identity_cells(&[doc], None, &scope, &counts);
    blocked
        .iter()
        .filter_map(|action| {
            let (by, on) = cells.all_keys_grant(action)?;
            Some(grant_cause(by, principal, action, on))
        })
        .collect()
}

/// The catalog actions the `blockedActionsPatterns` parameter's `patterns` match. Kept per
/// thread for the patterns last asked about: a run asks about the same parameter for every
/// document that may allow a KMS action on unnamed keys, and parsing its patterns anew each
/// time was 17 M instructions of the 100 MB GAAD workload (callgrind).
fn blocked_actions(patterns: &[String]) -> ActionSet {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(Vec<String>, ActionSet)>> = const { std::cell::RefCell::new(None) };
    }
    let work_out = || ActionSet::matching(&patterns.iter().map(|p| Pattern::action(p)).collect::<Vec<_>>());
    LAST.with(|last| {
        // Never borrowed elsewhere, nor again inside: `try_borrow_mut` cannot fail, and the
        // fallback works the set out as if nothing were kept.
        let Ok(mut last) = last.try_borrow_mut() else { return work_out() };
        match &*last {
            Some((kept, set)) if kept.as_slice() == patterns => *set,
            _ => {
                let set = work_out();
                *last = Some((patterns.to_vec(), set));
                set
            }
        }
    })
}

/// A principal that an Allow's `NotPrincipal` names and still grants (a role, whose sessions
/// it does not exclude): worth its own cause, since the policy's author meant to leave it out.
fn named_but_not_excluded(grantee: &Grantee, by: &StatementRef<'_>) -> bool {
    match (grantee, &by.statement.principals) {
        (Grantee::Named(p), Some(crate::policy::Principals::AllExcept(named))) => named.contains(p),
        _ => false,
    }
}

/// The causes a key-policy rule reports, one per judged grantee class that `cause_of` finds
/// at fault, without repeating itself: a class whose cause is the same grant (statement and
/// action) that already makes "anyone" a finding is left out, since naming every principal a
/// grant to everyone reaches says nothing more, unless the grant's `NotPrincipal` names it.
pub fn grantee_causes<'p>(
    grantees: &[GranteeAccess<'p>],
    filter: &GranteeFilter,
    mut cause_of: impl FnMut(&GranteeAccess<'p>) -> Option<(StatementRef<'p>, ActionId, Cause)>,
) -> Vec<Cause> {
    let found: Vec<(&GranteeAccess<'p>, StatementRef<'p>, ActionId, Cause)> = grantees
        .iter()
        .filter(|g| filter.judges(&g.grantee))
        .filter_map(|g| cause_of(g).map(|(by, action, cause)| (g, by, action, cause)))
        .collect();
    let anyone: Vec<(StatementRef<'p>, ActionId)> =
        found.iter().filter(|(g, ..)| *g.grantee == Grantee::Anyone).map(|(_, by, action, _)| (*by, *action)).collect();
    found
        .into_iter()
        .filter(|(g, by, action, _)| {
            *g.grantee == Grantee::Anyone
                || named_but_not_excluded(&g.grantee, by)
                || !anyone.iter().any(|(a_by, a_action)| a_by.same(by) && a_action == action)
        })
        .map(|(.., cause)| cause)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{AttachedPolicy, Identity, ItemStatus, ResourceNames, ResourceType, Role};
    use crate::policy::{parse_policy, PolicyKind};
    use crate::resolver::MemoryResolver;

    /// The set kept for the patterns last asked about is theirs alone: patterns that differ
    /// (two rules configured apart, in turn on one thread) each get the actions they match.
    #[test]
    fn the_blocked_actions_kept_are_those_of_the_very_patterns_asked_about() {
        let decrypt = vec!["kms:Decrypt".to_owned()];
        let wrapping = vec!["kms:ReEncrypt*".to_owned(), "KMS:GENERATEDATAKEY".to_owned()];
        let direct =
            |patterns: &[String]| ActionSet::matching(&patterns.iter().map(|p| Pattern::action(p)).collect::<Vec<_>>());
        assert_ne!(direct(&decrypt), direct(&wrapping));
        for patterns in [&decrypt, &decrypt, &wrapping, &decrypt, &Vec::new(), &wrapping] {
            assert_eq!(blocked_actions(patterns), direct(patterns), "{patterns:?}");
        }
    }

    const BOUNDARY: &str = "arn:aws:iam::111122223333:policy/Boundary";
    const ATTACHED: &str = "arn:aws:iam::111122223333:policy/Attached";

    fn role(boundary: Option<&str>) -> Resource {
        let identity = Identity {
            name: "App".into(),
            path: "/".into(),
            inline: Vec::new(),
            attached: vec![AttachedPolicy { name: "Attached".into(), arn: ATTACHED.into() }],
            boundary: boundary.map(str::to_owned),
        };
        Resource {
            names: ResourceNames::new(
                "AWS::IAM::Role",
                "AROA1",
                "arn:aws:iam::111122223333:role/App",
                "111122223333",
                None,
            ),
            resource_type: Some(ResourceType::IamRole),
            status: ItemStatus::Ok,
            key: Default::default(),
            version: Default::default(),
            details: Details::Role(Role { identity, trust: None }),
        }
    }

    fn document(actions: &str) -> crate::item::Document {
        let text = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{actions}","Resource":"*"}}]}}"#
        );
        parse_policy(&serde_json::Value::String(text), PolicyKind::Identity)
    }

    fn gather<'r>(resource: &'r Resource, resolver: &MemoryResolver) -> HeldPolicies<'r> {
        let params = Params::default();
        HeldPolicies::gather(resource, &Context { params: &params, resolver })
    }

    #[test]
    fn the_boundary_is_resolved_like_an_attached_policy() {
        let mut resolver = MemoryResolver::new();
        resolver.add_policy(ATTACHED, document("kms:*"));
        resolver.add_policy(BOUNDARY, document("kms:Decrypt"));
        let bounded = role(Some(BOUNDARY));
        let held = gather(&bounded, &resolver);
        assert!(held.unreadable.is_empty(), "{:?}", held.unreadable);
        assert_eq!(held.documents.iter().map(|(name, _)| name.as_ref()).collect::<Vec<&str>>(), [ATTACHED]);
        assert_eq!(
            held.boundary.as_ref().map(|(arn, _)| arn.as_str()),
            Some(BOUNDARY),
            "the boundary grants nothing itself"
        );

        let unbounded = role(None);
        let held = gather(&unbounded, &resolver);
        assert!(held.boundary.is_none() && held.unreadable.is_empty());
    }

    #[test]
    fn a_boundary_that_cannot_be_resolved_or_parsed_fails_closed() {
        let mut resolver = MemoryResolver::new();
        resolver.add_policy(ATTACHED, document("kms:*"));
        let bounded = role(Some(BOUNDARY));
        let missing = gather(&bounded, &resolver);
        assert!(missing.boundary.is_none());
        let reasons: Vec<&str> = missing.unreadable.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(reasons, [format!("permissions boundary could not be resolved: `{BOUNDARY}` was not found")]);

        resolver.add_unavailable(BOUNDARY, "iam:GetPolicy: AccessDenied");
        let denied = gather(&bounded, &resolver);
        let reasons: Vec<&str> = denied.unreadable.iter().map(|c| c.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [format!("permissions boundary could not be resolved: `{BOUNDARY}` could not be read: iam:GetPolicy: AccessDenied")]
        );

        let mut broken = MemoryResolver::new();
        broken.add_policy(ATTACHED, document("kms:*"));
        broken.add_policy(
            BOUNDARY,
            parse_policy(&serde_json::json!({"Statement": [{"Action": "kms:*"}]}), PolicyKind::Identity),
        );
        let invalid = gather(&bounded, &broken);
        assert!(invalid.boundary.is_none());
        let [cause] = invalid.unreadable.as_slice() else { panic!("one cause: {:?}", invalid.unreadable) };
        assert!(
            cause
                .reason
                .starts_with(&format!("permissions boundary could not be resolved: `{BOUNDARY}` does not parse: ")),
            "{}",
            cause.reason
        );
    }
}
