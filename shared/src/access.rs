//! IAM evaluation, reduced to what KMS rules ask: which catalog actions does a set of
//! statements effectively grant, and which statement granted each.
//!
//! Two questions, two entry points:
//! - identity policies ([`identity_access_on_all_keys`], [`identity_access_on_key`]): does a
//!   principal's set of policies allow an action on **all keys** of the resource's own account,
//!   or on one named key?
//! - key policies ([`key_policy_grantees`]): per grantee, what does the key policy allow it?
//!
//! Both follow SPEC section 2: Allows are unioned; an **unconditional** Deny that matches the
//! action and applies removes it; a Deny with a Condition removes nothing (it might not apply);
//! an Allow counts unless the caller's `counts` says a condition makes it not count.
//!
//! "On all keys" is decided on probes: for each candidate region (every region the policies
//! name, a real region for each wildcard region field, and one region no policy names), the
//! statements are applied to key ARNs of ids no real policy names, in both the UUID and the
//! `mrk-` form; an action is on all keys when, in one region, it is granted on every probe.
//! Several probe ids per form keep a pattern such as `key/*a*` from passing for all keys.

use crate::catalog::{ActionClass, ActionId, ActionSet};
use crate::condition::restricting;
use crate::pattern::Pattern;
use crate::policy::{Effect, Policy, Principal, Principals, Statement};

/// A statement and the document it came from.
#[derive(Debug, Clone, Copy)]
pub struct StatementRef<'p> {
    /// The document's name (an inline policy's name, an attached policy's ARN), where the
    /// resource holds several.
    pub document: Option<&'p str>,
    /// The statement.
    pub statement: &'p Statement,
}

/// Decides whether an Allow statement counts (e.g. not when an accepted condition restricts it).
pub type Counts<'a> = &'a dyn Fn(&Statement) -> bool;

/// Every Allow counts.
pub fn every_allow(_: &Statement) -> bool {
    true
}

/// Effective access: the actions granted after Denies, and the first statement granting each.
#[derive(Debug, Clone)]
pub struct Access<'p> {
    granted: ActionSet,
    sources: [Option<StatementRef<'p>>; 55],
    /// `kms:CreateGrant` is granted by a statement without the AWS-resource or ViaService
    /// restriction, so it is an admin action here.
    create_grant_is_admin: bool,
}

impl<'p> Access<'p> {
    fn empty() -> Self {
        Access { granted: ActionSet::EMPTY, sources: [None; 55], create_grant_is_admin: false }
    }

    fn allow(&mut self, by: StatementRef<'p>) {
        let statement = by.statement;
        for id in statement.kms_actions.iter() {
            let slot = self.sources.get_mut(usize::from(id.index()));
            if let Some(slot) = slot {
                if slot.is_none() {
                    *slot = Some(by);
                }
            }
        }
        self.granted = self.granted.union(statement.kms_actions);
        if let Some(create_grant) = ActionId::by_name("CreateGrant") {
            if statement.kms_actions.contains(create_grant)
                && !grant_exception(statement)
                && !self.create_grant_is_admin
            {
                self.create_grant_is_admin = true;
                if let Some(slot) = self.sources.get_mut(usize::from(create_grant.index())) {
                    *slot = Some(by);
                }
            }
        }
    }

    fn deny(&mut self, removed: ActionSet) {
        self.granted = self.granted.minus(removed);
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

    /// The statement that granted `action`, if it is granted.
    pub fn source(&self, action: ActionId) -> Option<StatementRef<'p>> {
        if !self.granted.contains(action) {
            return None;
        }
        self.sources.get(usize::from(action.index())).copied().flatten()
    }
}

/// CreateGrant is not admin in a statement restricting `kms:GrantIsForAWSResource` to true or
/// restricting `kms:ViaService` (grants AWS services create for their resources).
fn grant_exception(statement: &Statement) -> bool {
    statement.conditions.iter().any(|c| c.restricts_grant_for_aws_resource())
        || restricting(&statement.conditions, &["kms:ViaService"]).is_some()
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
        let partition = arn.split(':').nth(1).filter(|p| !p.is_empty()).unwrap_or("aws").to_owned();
        let account = Some(account).filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()));
        KeyScope { partition, account: account.map(str::to_owned) }
    }

    fn account_field(&self) -> &str {
        // Twelve characters that no literal account id matches, but `*` and twelve `?` do.
        self.account.as_deref().unwrap_or("xxxxxxxxxxxx")
    }

    /// The ARN of key `id` of this scope in `region`.
    pub fn key_arn(&self, region: &str, id: &str) -> String {
        format!("arn:{}:kms:{}:{}:key/{}", self.partition, region, self.account_field(), id)
    }
}

/// Key ids no real policy names: three in UUID form and three in multi-Region form.
const PROBE_KEY_IDS: [&str; 6] = [
    "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
    "99999999-9999-4999-8999-999999999999",
    "abcdefab-cdef-4abc-adef-abcdefabcdef",
    "mrk-0f1e2d3c4b5a49788695a4b3c2d1e0f9",
    "mrk-99999999999949998999999999999999",
    "mrk-abcdefabcdef4abcadefabcdefabcdef",
];

/// A region name shaped like AWS's that no policy names: stands for every region a policy
/// reaches only through wildcards that match any region.
const UNNAMED_REGION: &str = "xx-unnamed-1";

/// Regions per partition, to find a real region matching a wildcard region field such as `us-*`.
fn partition_regions(partition: &str) -> &'static [&'static str] {
    match partition {
        "aws-cn" => &["cn-north-1", "cn-northwest-1"],
        "aws-us-gov" => &["us-gov-west-1", "us-gov-east-1"],
        _ => &[
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-7",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-south-1",
            "eu-south-2",
            "eu-north-1",
            "il-central-1",
            "me-south-1",
            "me-central-1",
            "mx-central-1",
            "sa-east-1",
        ],
    }
}

/// The regions worth probing for these documents.
fn candidate_regions(docs: &[IdentityDoc<'_>], scope: &KeyScope) -> Vec<String> {
    let mut regions = vec![UNNAMED_REGION.to_owned()];
    let known = partition_regions(&scope.partition);
    for pattern in
        docs.iter().flat_map(|d| &d.policy.statements).filter_map(|s| s.resources.as_ref()).flat_map(|r| r.patterns())
    {
        let Some(field) = pattern.as_str().split(':').nth(3) else { continue };
        let candidates: Vec<String> = if field.contains(['*', '?']) {
            let region_pattern = Pattern::arn(field, crate::pattern::Variables::Literal);
            known.iter().filter(|r| region_pattern.matches(r)).take(1).map(|r| (*r).to_owned()).collect()
        } else if !field.is_empty() {
            vec![field.to_owned()]
        } else {
            Vec::new()
        };
        for region in candidates {
            if !regions.contains(&region) {
                regions.push(region);
            }
        }
    }
    regions
}

/// What the documents together allow on `key_arn`, after unconditional Denies.
pub fn identity_access_on_key<'p>(docs: &[IdentityDoc<'p>], key_arn: &str, counts: Counts<'_>) -> Access<'p> {
    let mut access = Access::empty();
    let mut denied = ActionSet::EMPTY;
    for doc in docs {
        for statement in &doc.policy.statements {
            if statement.kms_actions.is_empty() || !statement.applies_to(key_arn) {
                continue;
            }
            match statement.effect {
                Effect::Allow if counts(statement) => access.allow(StatementRef { document: doc.name, statement }),
                Effect::Allow => {}
                Effect::Deny if statement.is_unconditional() => denied = denied.union(statement.kms_actions),
                Effect::Deny => {}
            }
        }
    }
    access.deny(denied);
    access
}

/// What the documents together allow on **all keys** of the scope's account (SPEC section 2):
/// an action is in the result when, in at least one region, it is allowed on every probe key.
pub fn identity_access_on_all_keys<'p>(docs: &[IdentityDoc<'p>], scope: &KeyScope, counts: Counts<'_>) -> Access<'p> {
    let mut result = Access::empty();
    for region in candidate_regions(docs, scope) {
        let mut region_access: Option<Access<'p>> = None;
        for id in PROBE_KEY_IDS {
            let probe = identity_access_on_key(docs, &scope.key_arn(&region, id), counts);
            region_access = Some(match region_access {
                None => probe,
                Some(mut acc) => {
                    acc.granted = acc.granted.intersection(probe.granted);
                    acc.create_grant_is_admin &= probe.create_grant_is_admin;
                    acc
                }
            });
        }
        if let Some(acc) = region_access {
            let new = acc.granted.minus(result.granted);
            for id in new.iter() {
                let index = usize::from(id.index());
                if let (Some(slot), Some(source)) = (result.sources.get_mut(index), acc.sources.get(index)) {
                    *slot = *source;
                }
            }
            result.granted = result.granted.union(acc.granted);
            result.create_grant_is_admin |= acc.create_grant_is_admin
                && !acc.granted.intersection(ActionSet::of_class(ActionClass::Grant)).is_empty();
        }
    }
    result
}

/// The key ARNs the documents name (resource patterns with a literal key id), made concrete in
/// the scope's account, so that a rule can check each named key as well as all keys.
pub fn named_key_arns(docs: &[IdentityDoc<'_>], scope: &KeyScope) -> Vec<String> {
    let mut arns = Vec::new();
    for pattern in
        docs.iter().flat_map(|d| &d.policy.statements).filter_map(|s| s.resources.as_ref()).flat_map(|r| r.patterns())
    {
        let fields: Vec<&str> = pattern.as_str().splitn(6, ':').collect();
        let ["arn", _, "kms", region, account, resource] = fields.as_slice() else { continue };
        let Some(id) = resource.strip_prefix("key/") else { continue };
        if id.is_empty() || id.contains(['*', '?', '$']) {
            continue;
        }
        let region = if region.contains(['*', '?']) || region.is_empty() { "us-east-1" } else { region };
        let account = if account.contains(['*', '?']) || account.is_empty() { scope.account_field() } else { account };
        let arn = format!("arn:{}:kms:{region}:{account}:key/{id}", scope.partition);
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    arns
}

/// One grantee of a key policy and what the policy effectively allows it.
#[derive(Debug, Clone)]
pub struct GranteeAccess<'p> {
    /// The grantee; [`Principal::Everyone`] for `*`, `{"AWS":"*"}` and `NotPrincipal` Allows.
    pub grantee: Principal,
    /// Its access after the Denies that cover it.
    pub access: Access<'p>,
}

/// Per grantee of `policy` (a key policy, whose resource is always the key itself): the union
/// of the Allow statements that cover it (statements to everyone cover every grantee), minus
/// the unconditional Denies whose principal covers it.
pub fn key_policy_grantees<'p>(policy: &'p Policy, counts: Counts<'_>) -> Vec<GranteeAccess<'p>> {
    let mut grantees: Vec<Principal> = Vec::new();
    for statement in policy.statements.iter().filter(|s| s.effect == Effect::Allow) {
        let named: Vec<Principal> = match &statement.principals {
            Some(Principals::Only(list)) => list.clone(),
            Some(Principals::AllExcept(_)) => vec![Principal::Everyone],
            None => Vec::new(),
        };
        for principal in named {
            if !grantees.contains(&principal) {
                grantees.push(principal);
            }
        }
    }
    grantees
        .into_iter()
        .map(|grantee| {
            let access = key_policy_access(policy, &grantee, counts);
            GranteeAccess { grantee, access }
        })
        .collect()
}

/// What `policy` (a key policy) effectively allows `grantee`: the Allows that cover it (those
/// naming it, to everyone, or `NotPrincipal` without it) that `counts`, minus the unconditional
/// Denies whose principal covers it.
pub fn key_policy_access<'p>(policy: &'p Policy, grantee: &Principal, counts: Counts<'_>) -> Access<'p> {
    let mut access = Access::empty();
    let mut denied = ActionSet::EMPTY;
    for statement in &policy.statements {
        let Some(principals) = &statement.principals else { continue };
        match statement.effect {
            Effect::Allow if allow_covers(principals, grantee) && counts(statement) => {
                access.allow(StatementRef { document: None, statement });
            }
            Effect::Deny if statement.is_unconditional() && deny_covers(principals, grantee) => {
                denied = denied.union(statement.kms_actions);
            }
            _ => {}
        }
    }
    access.deny(denied);
    access
}

/// Does an Allow with these principals grant to `grantee`?
pub fn allow_covers(principals: &Principals, grantee: &Principal) -> bool {
    match principals {
        Principals::Only(list) => list.iter().any(|p| p == grantee || *p == Principal::Everyone),
        Principals::AllExcept(list) => !list.contains(grantee),
    }
}

/// Does a Deny with these principals cover `grantee`? `*` covers everyone; an account covers
/// every principal of that account; anything else covers itself; `NotPrincipal` covers everyone
/// but the named.
pub fn deny_covers(principals: &Principals, grantee: &Principal) -> bool {
    match principals {
        Principals::Only(list) => list.iter().any(|p| match p {
            Principal::Everyone => true,
            Principal::Account { id, .. } => grantee.account() == Some(id.as_str()),
            other => other == grantee,
        }),
        Principals::AllExcept(list) => !list.contains(grantee),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{parse_policy, PolicyKind};
    use serde_json::json;

    fn identity(statements: serde_json::Value) -> Policy {
        parse_policy(&json!({"Version": "2012-10-17", "Statement": statements}), PolicyKind::Identity).unwrap()
    }

    fn key_policy(statements: serde_json::Value) -> Policy {
        parse_policy(&json!({"Version": "2012-10-17", "Statement": statements}), PolicyKind::KeyPolicy).unwrap()
    }

    fn decrypt_on_all_keys(resource: &str, account: &str) -> bool {
        let policy = identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": resource}]));
        let scope = KeyScope::new(&format!("arn:aws:iam::{account}:policy/p"), account);
        let access = identity_access_on_all_keys(&[IdentityDoc { name: None, policy: &policy }], &scope, &every_allow);
        access.actions().contains(ActionId::by_name("kms:Decrypt").unwrap())
    }

    #[test]
    fn all_keys_means_every_key_id_of_the_own_account_in_some_region() {
        let own = "111122223333";
        for reaches in [
            "*",
            "arn:aws:kms:*:*:key/*",
            "arn:aws:kms:*:111122223333:*",
            "arn:aws:kms:us-east-1:*:key/*",
            "arn:aws:kms:eu-*:*:key/*",
            "arn:*",
        ] {
            assert!(decrypt_on_all_keys(reaches, own), "{reaches}");
        }
        for not in [
            "arn:aws:kms:*:111122223333:alias/*",
            "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:*:111122223333:key/mrk-*",
            "arn:aws:kms:*:444455556666:key/*",
            "arn:aws:kms:*:*:key/*a*",
            "arn:aws:kms:*:*:key/${aws:username}",
            "arn:aws-cn:kms:*:*:key/*",
        ] {
            assert!(!decrypt_on_all_keys(not, own), "{not}");
        }
    }

    #[test]
    fn without_an_own_account_only_account_wildcards_reach_all_keys() {
        assert!(decrypt_on_all_keys("arn:aws:kms:*:*:key/*", ""));
        assert!(decrypt_on_all_keys("arn:aws:kms:*:????????????:key/*", ""));
        assert!(!decrypt_on_all_keys("arn:aws:kms:*:111122223333:key/*", ""));
    }

    #[test]
    fn key_policy_denies_cover_by_principal() {
        let role = Principal::aws("arn:aws:iam::111122223333:role/App");
        let other = Principal::aws("arn:aws:iam::444455556666:role/App");
        let decrypt = ActionId::by_name("kms:Decrypt").unwrap();
        let allowed = |deny_principal: serde_json::Value, grantee: &Principal| {
            let policy = key_policy(json!([
                {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
                {"Effect": "Deny", "Principal": deny_principal, "Action": "kms:*", "Resource": "*"}
            ]));
            key_policy_access(&policy, grantee, &every_allow).actions().contains(decrypt)
        };
        assert!(!allowed(json!({"AWS": "111122223333"}), &role), "an account covers its roles");
        assert!(allowed(json!({"AWS": "111122223333"}), &other));
        assert!(!allowed(json!("*"), &other));
        assert!(allowed(json!({"AWS": "arn:aws:iam::111122223333:role/Other"}), &role));
        let not_principal = key_policy(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:*", "Resource": "*"}
        ]));
        assert!(key_policy_access(&not_principal, &role, &every_allow).actions().contains(decrypt));
        assert!(!key_policy_access(&not_principal, &other, &every_allow).actions().contains(decrypt));
        let conditional = key_policy(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]));
        assert!(
            key_policy_access(&conditional, &role, &every_allow).actions().contains(decrypt),
            "a conditional Deny removes nothing"
        );
    }

    #[test]
    fn create_grant_is_admin_unless_restricted_to_aws_resources_or_via_service() {
        let grant = |condition: serde_json::Value| {
            let mut statement = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:CreateGrant", "Resource": "*"});
            if !condition.is_null() {
                statement["Condition"] = condition;
            }
            let policy = key_policy(json!([statement]));
            let role = Principal::aws("arn:aws:iam::111122223333:role/App");
            !key_policy_access(&policy, &role, &every_allow).admin_actions().is_empty()
        };
        assert!(grant(serde_json::Value::Null));
        assert!(!grant(json!({"Bool": {"kms:GrantIsForAWSResource": "true"}})));
        assert!(!grant(json!({"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}})));
        assert!(grant(json!({"StringLike": {"kms:ViaService": "*"}})), "a wildcard ViaService restricts nothing");
    }

    #[test]
    fn sources_name_the_granting_statement() {
        let policy = identity(json!([
            {"Sid": "Narrow", "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*"},
            {"Sid": "Broad", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}
        ]));
        let scope = KeyScope::new("arn:aws:iam::111122223333:role/r", "111122223333");
        let access = identity_access_on_all_keys(&[IdentityDoc { name: None, policy: &policy }], &scope, &every_allow);
        let name = |a: &str| access.source(ActionId::by_name(a).unwrap()).map(|s| s.statement.name.to_string());
        assert_eq!(name("kms:Encrypt").as_deref(), Some("\"Narrow\""));
        assert_eq!(name("kms:Decrypt").as_deref(), Some("\"Broad\""));
    }
}
