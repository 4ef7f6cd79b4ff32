//! The reference evaluator: SPEC sections 2 and 3 read literally and decided by enumeration.
//!
//! Written apart from the production access model: nothing here calls `shared::access`,
//! `shared::support` or `shared::condition`. It reads the checked policy model
//! (`shared::policy`), matches with `shared::pattern::Pattern` and takes the action list and
//! classes from `shared::catalog::CATALOG`; everything else is spelled out below, simply and
//! slowly:
//!
//! - **Identity policies** are applied statement by statement to every **key cell**: each region
//!   of the partition ([`regions`]: the listed ones and one unlisted region) times each key id
//!   (the ids the documents name, where their ARNs reach, and [`UNNAMED_KEYS`]). Allows are
//!   unioned, an unconditional Deny that matches the action and the key removes it, a Deny with a
//!   Condition removes nothing.
//! - **Key policies** are applied per **grantee class** ([`grantees`]): every principal named
//!   anywhere, an unnamed session of each named role, "another principal" of each account
//!   involved, and an outsider. A statement counts only when its `Resource`/`NotResource` matches
//!   the key's own ARN.
//!
//! Each rule function returns the compliance SPEC section 3 gives, with default parameters
//! (and the blocked-actions rules' `acceptConditionKeys`).

use shared::catalog::{ActionClass, CATALOG};
use shared::pattern::Pattern;
use shared::policy::{
    Actions, BaseOperator, Condition, Effect, Policy, Principal, Principals, Resources, SetQualifier, Statement,
};
use shared::Compliance;

/// The account every item of these tests belongs to.
pub const OWN: &str = "111122223333";

/// The regions SPEC lists for a partition. One function, so that it can become
/// `shared::regions::regions(partition)` once that module lands, without touching the rest.
pub fn listed_regions(partition: &str) -> &'static [&'static str] {
    // The pinned list the product decides over (checked against botocore by its own test);
    // the reference enumerates it region by region, with no classes.
    shared::regions::regions(partition)
}

/// A region of the partition: a listed one, or the one region the list does not name yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// A region of [`listed_regions`].
    Listed(&'static str),
    /// A region no list names yet: SPEC says only a region field that matches every region
    /// name reaches it.
    Unlisted,
}

impl Region {
    /// The name written into key ARNs.
    ///
    /// The unlisted region is written with the **empty** name. A region field matches the empty
    /// text exactly when it is made of `*` only: any literal character or `?` needs a character.
    /// That is SPEC's "matches any region name". A `*` elsewhere in the ARN cannot stand in for
    /// the region either: after `arn:aws:kms:` the text is `:<account>:key/<id>`, and no pattern
    /// of the grammar (`us-*`, `*-1`, `eu-*`, `??-????-?`, `xx-*`, literal regions) can find its
    /// literal part there (key ids hold hex digits, `-` and `mrk-` only, and no `:` follows them).
    /// Any non-empty stand-in would be reached by some pattern (`xx-*`, `*-1`, ...), which is
    /// precisely the mistake a fixed name such as `xx-unnamed-1` makes.
    pub fn name(self) -> &'static str {
        match self {
            Region::Listed(name) => name,
            Region::Unlisted => "",
        }
    }
}

/// Every region of the `aws` partition, the unlisted one last.
pub fn regions() -> Vec<Region> {
    listed_regions("aws").iter().map(|r| Region::Listed(r)).chain([Region::Unlisted]).collect()
}

/// Key ids that no generated policy names: one in the UUID form, one in the `mrk-` form.
///
/// Why two are exact for the grammar (tests/reference/grammar.rs): a key part there is `key/*`
/// (every id), `key/mrk-*` (exactly the `mrk-` ids), a literal id (only itself, and the literals
/// are not these), `*` (every id), `alias/*` or `key/${aws:username}` (no key id at all). Region
/// and account fields cannot reach into the key part (see [`Region::name`]; account fields are
/// 12 characters or `*`, and a `*` before `:key/mrk-` needs that text after it, which a UUID-form
/// ARN does not hold). So over the unnamed ids every pattern of the grammar matches all of them,
/// none, or exactly those of one form: one id per form decides every question. A grammar that
/// gains a pattern such as `key/*a*` needs more ids here (one that matches it and one that does
/// not, per form).
pub const UNNAMED_KEYS: [&str; 2] = ["99999999-9999-4999-8999-999999999999", "mrk-99999999999949998999999999999999"];

/// The ARN of key `id` of the own account in `region`.
pub fn key_arn(region: Region, id: &str) -> String {
    format!("arn:aws:kms:{}:{OWN}:key/{id}", region.name())
}

// ---------------------------------------------------------------------------------------------
// Statements, one at a time.

/// Does the statement's `Action`/`NotAction` cover the catalog action `action` (`kms:Name`)?
fn covers_action(statement: &Statement, action: &str) -> bool {
    match &statement.actions {
        Actions::Only(patterns) => patterns.iter().any(|p| p.matches(action)),
        Actions::AllExcept(patterns) => !patterns.iter().any(|p| p.matches(action)),
    }
}

/// Does the statement's `Resource`/`NotResource` reach the resource `arn`? Policy variables
/// match nothing (`Pattern::matches` is false for them).
fn reaches(statement: &Statement, arn: &str) -> bool {
    match &statement.resources {
        Some(Resources::Only(patterns)) => patterns.iter().any(|p| p.matches(arn)),
        Some(Resources::AllExcept(patterns)) => !patterns.iter().any(|p| p.matches(arn)),
        None => false,
    }
}

/// SPEC section 2, "Conditions": does this condition restrict its key?
fn restricts(condition: &Condition) -> bool {
    let positive = matches!(
        condition.operator.base,
        BaseOperator::StringEquals
            | BaseOperator::StringEqualsIgnoreCase
            | BaseOperator::StringLike
            | BaseOperator::ArnEquals
            | BaseOperator::ArnLike
    );
    if !positive || condition.operator.if_exists || condition.operator.set == Some(SetQualifier::ForAllValues) {
        return false;
    }
    let fixed = |v: &String| {
        let without_escapes = v.replace("${*}", "x").replace("${?}", "x").replace("${$}", "x");
        !v.is_empty() && !v.chars().all(|c| c == '*' || c == '?') && !without_escapes.contains("${")
    };
    if condition.values.is_empty() || !condition.values.iter().all(fixed) {
        return false;
    }
    let key = condition.key.to_ascii_lowercase();
    let id_keys = [
        "kms:calleraccount",
        "aws:principalaccount",
        "aws:sourceaccount",
        "aws:resourceaccount",
        "aws:principalorgid",
        "aws:sourceorgid",
    ];
    if id_keys.contains(&key.as_str()) {
        return condition.values.iter().all(|v| !v.contains(['*', '?']));
    }
    let service_arn_context =
        key.strip_prefix("kms:encryptioncontext:aws:").and_then(|r| r.strip_suffix(":arn")).is_some();
    if key == "aws:sourcearn" || key == "aws:principalarn" || service_arn_context {
        return condition.values.iter().all(|v| {
            let account = v.split(':').nth(4).unwrap_or_default();
            v.starts_with("arn:") && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
        });
    }
    true
}

/// Does the statement hold a restricting condition on one of `keys` (lower case)?
fn restricted_on(statement: &Statement, keys: &[&str]) -> bool {
    statement.conditions.iter().any(|c| keys.contains(&c.key.to_ascii_lowercase().as_str()) && restricts(c))
}

/// CreateGrant is not admin in a statement that restricts `kms:GrantIsForAWSResource` to true
/// or restricts `kms:ViaService`.
fn create_grant_exception(statement: &Statement) -> bool {
    let for_aws_resource = statement.conditions.iter().any(|c| {
        c.key.eq_ignore_ascii_case("kms:GrantIsForAWSResource")
            && matches!(
                c.operator.base,
                BaseOperator::Bool | BaseOperator::StringEquals | BaseOperator::StringEqualsIgnoreCase
            )
            && !c.operator.if_exists
            && c.operator.set != Some(SetQualifier::ForAllValues)
            && !c.values.is_empty()
            && c.values.iter().all(|v| v.eq_ignore_ascii_case("true"))
    });
    for_aws_resource || restricted_on(statement, &["kms:viaservice"])
}

// ---------------------------------------------------------------------------------------------
// What is granted on one key, to one principal.

/// A statement, with the catalog actions it covers (matched once: IAM's answer does not depend
/// on the key, so only the resource match is left to do per key).
#[derive(Debug, Clone)]
pub struct Stmt<'p> {
    statement: &'p Statement,
    /// One flag per [`CATALOG`] entry.
    covers: Vec<bool>,
}

/// Prepares statements for evaluation.
pub fn prepare<'p>(statements: impl IntoIterator<Item = &'p Statement>) -> Vec<Stmt<'p>> {
    statements
        .into_iter()
        .map(|statement| Stmt {
            statement,
            covers: CATALOG.iter().map(|a| covers_action(statement, &format!("kms:{}", a.name))).collect(),
        })
        .collect()
}

/// The catalog actions granted on one key (to one grantee), after Denies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// One flag per [`CATALOG`] entry.
    actions: Vec<bool>,
    /// `kms:CreateGrant` is granted by at least one Allow without the AWS-resource or
    /// ViaService restriction, so it counts as admin.
    grant_is_admin: bool,
}

impl Granted {
    /// Applies `statements` to one key: an action is granted when an Allow that counts and
    /// `allow_reaches` covers it, and no unconditional Deny that `deny_reaches` covers it.
    fn compute(
        statements: &[Stmt<'_>],
        allow_reaches: &dyn Fn(&Statement) -> bool,
        deny_reaches: &dyn Fn(&Statement) -> bool,
        counts: &dyn Fn(&Statement) -> bool,
    ) -> Granted {
        let allows: Vec<&Stmt<'_>> = statements
            .iter()
            .filter(|s| s.statement.effect == Effect::Allow && counts(s.statement) && allow_reaches(s.statement))
            .collect();
        let denies: Vec<&Stmt<'_>> = statements
            .iter()
            .filter(|s| {
                s.statement.effect == Effect::Deny && s.statement.conditions.is_empty() && deny_reaches(s.statement)
            })
            .collect();
        let mut granted = Granted { actions: vec![false; CATALOG.len()], grant_is_admin: false };
        for (i, action) in CATALOG.iter().enumerate() {
            let mut allowed_by = allows.iter().filter(|s| s.covers[i]).map(|s| s.statement).peekable();
            let denied = denies.iter().any(|s| s.covers[i]);
            if allowed_by.peek().is_some() && !denied {
                granted.actions[i] = true;
                if action.class == ActionClass::Grant && allowed_by.any(|s| !create_grant_exception(s)) {
                    granted.grant_is_admin = true;
                }
            }
        }
        granted
    }

    fn class(&self, wanted: ActionClass) -> impl Iterator<Item = bool> + '_ {
        CATALOG.iter().zip(&self.actions).filter(move |(a, _)| a.class == wanted).map(|(_, g)| *g)
    }

    /// Any catalog action.
    pub fn any(&self) -> bool {
        self.actions.iter().any(|g| *g)
    }

    /// Any use action.
    pub fn any_use(&self) -> bool {
        self.class(ActionClass::Use).any(|g| g)
    }

    /// Any admin action, CreateGrant included where it counts as admin.
    pub fn any_admin(&self) -> bool {
        self.class(ActionClass::Admin).any(|g| g) || self.grant_is_admin
    }

    /// Every admin action (the 18 of the Admin class) and every use action.
    pub fn every_admin_and_use(&self) -> bool {
        self.class(ActionClass::Admin).all(|g| g) && self.class(ActionClass::Use).all(|g| g)
    }

    /// Is any action of `wanted` (one flag per [`CATALOG`] entry) granted?
    fn any_of(&self, wanted: &[bool]) -> bool {
        self.actions.iter().zip(wanted).any(|(granted, wanted)| *granted && *wanted)
    }

    /// Granted both here and in `other` (what holds on several keys at once).
    fn and(&self, other: &Granted) -> Granted {
        Granted {
            actions: self.actions.iter().zip(&other.actions).map(|(a, b)| *a && *b).collect(),
            grant_is_admin: self.grant_is_admin && other.grant_is_admin,
        }
    }
}

fn every_allow(_: &Statement) -> bool {
    true
}

// ---------------------------------------------------------------------------------------------
// Identity policies: key cells.

/// All statements of `docs`, in order (a principal's documents act as one set), prepared.
pub fn statements_of<'p>(docs: &[&'p Policy]) -> Vec<Stmt<'p>> {
    prepare(docs.iter().flat_map(|d| d.statements.iter()))
}

/// Every resource pattern of the statements (`Resource` or `NotResource`).
fn resource_patterns<'a>(statements: &'a [Stmt<'_>]) -> impl Iterator<Item = &'a Pattern> + 'a {
    statements.iter().filter_map(|s| s.statement.resources.as_ref()).flat_map(|r| match r {
        Resources::Only(p) | Resources::AllExcept(p) => p.iter(),
    })
}

/// What the statements grant on the own account's key `id` in `region`.
fn on_key(statements: &[Stmt<'_>], region: Region, id: &str, counts: &dyn Fn(&Statement) -> bool) -> Granted {
    let arn = key_arn(region, id);
    let reach = |s: &Statement| reaches(s, &arn);
    Granted::compute(statements, &reach, &reach, counts)
}

/// What identity documents grant on every key cell of the own account, computed once and read
/// by each identity-side rule.
#[derive(Debug, Clone)]
pub struct Cells {
    /// Per region, what is granted on each of [`UNNAMED_KEYS`].
    unnamed: Vec<(Region, Vec<Granted>)>,
    /// What is granted on each named key cell.
    named: Vec<Granted>,
}

impl Cells {
    /// The cells of `docs` (a principal's documents act as one set). Allows restricted by a
    /// condition on one of `accepted_keys` (lower case) do not count; with none, every Allow does.
    pub fn of(docs: &[&Policy], accepted_keys: &[&str]) -> Cells {
        let statements = statements_of(docs);
        let counts = |s: &Statement| !restricted_on(s, accepted_keys);
        let unnamed = regions()
            .into_iter()
            .map(|region| (region, UNNAMED_KEYS.iter().map(|id| on_key(&statements, region, id, &counts)).collect()))
            .collect();
        let named =
            named_cells(&statements).iter().map(|(region, id)| on_key(&statements, *region, id, &counts)).collect();
        Cells { unnamed, named }
    }

    /// Per region, what is granted on **every** unnamed key there (SPEC's "on all keys").
    fn all_keys_of_each_region(&self) -> impl Iterator<Item = Granted> + '_ {
        self.unnamed.iter().map(|(_, keys)| {
            let none = Granted { actions: vec![false; CATALOG.len()], grant_is_admin: false };
            keys.iter().skip(1).fold(keys.first().cloned().unwrap_or(none), |all, next| all.and(next))
        })
    }

    /// Every key cell: each unnamed key in each region, and each named key cell.
    fn every_cell(&self) -> impl Iterator<Item = &Granted> + '_ {
        self.unnamed.iter().flat_map(|(_, keys)| keys).chain(&self.named)
    }
}

/// Literal key ids that resource patterns name (`...:key/<id>` without wildcards or variables).
fn named_key_ids(statements: &[Stmt<'_>]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for pattern in resource_patterns(statements) {
        let Some((_, id)) = pattern.as_str().split_once(":key/") else { continue };
        if !id.is_empty() && !id.contains(['*', '?', '$']) && !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// The named key cells: each named key id in each region where a pattern naming it reaches it
/// (in the own account). A named id in a region its ARN does not reach is an unnamed key there.
fn named_cells(statements: &[Stmt<'_>]) -> Vec<(Region, String)> {
    let mut cells = Vec::new();
    for id in named_key_ids(statements) {
        for region in regions() {
            let arn = key_arn(region, &id);
            let named_here =
                resource_patterns(statements).any(|p| p.as_str().contains(&format!(":key/{id}")) && p.matches(&arn));
            if named_here {
                cells.push((region, id.clone()));
            }
        }
    }
    cells
}

fn verdict(non_compliant: bool) -> Compliance {
    match non_compliant {
        true => Compliance::NonCompliant,
        false => Compliance::Compliant,
    }
}

/// Blocked actions (SPEC section 3), one document judged alone (its [`Cells`], with the
/// accepted condition keys): NON_COMPLIANT when, in some region, a blocked action is granted on
/// every unnamed key.
pub fn blocked_actions(cells: &Cells, blocked: &[&str]) -> Compliance {
    let patterns: Vec<Pattern> = blocked.iter().map(|p| Pattern::action(p)).collect();
    let blocked: Vec<bool> =
        CATALOG.iter().map(|a| patterns.iter().any(|p| p.matches(&format!("kms:{}", a.name)))).collect();
    verdict(cells.all_keys_of_each_region().any(|all| all.any_of(&blocked)))
}

/// No wildcard admin, identity side: NON_COMPLIANT when, on one key cell (all unnamed keys of a
/// region, or one named key), every admin and every use action is granted.
pub fn wildcard_admin_identity(cells: &Cells) -> Compliance {
    let all_keys = cells.all_keys_of_each_region().any(|all| all.every_admin_and_use());
    let named = cells.named.iter().any(Granted::every_admin_and_use);
    verdict(all_keys || named)
}

/// Admin/use separation, identity side: NON_COMPLIANT when one key cell (any region, any
/// unnamed key of either form, any named key where its ARN reaches) gets an admin and a use action.
pub fn separation_identity(cells: &Cells) -> Compliance {
    verdict(cells.every_cell().any(|granted| granted.any_admin() && granted.any_use()))
}

// ---------------------------------------------------------------------------------------------
// Key policies: grantee classes.

/// A class of principals a key policy is judged for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grantee {
    /// An account principal (named by id or root ARN).
    Account(String),
    /// A user, role or assumed-role session, named by ARN somewhere in the policy.
    Named {
        /// The ARN as written.
        arn: String,
        /// Its account.
        account: String,
    },
    /// A session of a named role, whose session ARN no statement names.
    SessionOf {
        /// The role's ARN.
        role: String,
        /// Its account.
        account: String,
    },
    /// A principal of this account that no statement names.
    OtherIn(String),
    /// A service principal.
    Service(String),
    /// A federated or other principal, matched by its text.
    Other(String),
    /// Anyone else: a principal of an account no statement names.
    Outsider,
}

impl Grantee {
    fn account(&self) -> Option<&str> {
        match self {
            Grantee::Account(a) | Grantee::OtherIn(a) => Some(a),
            Grantee::Named { account, .. } | Grantee::SessionOf { account, .. } => Some(account),
            Grantee::Service(_) | Grantee::Other(_) | Grantee::Outsider => None,
        }
    }

    fn is_service(&self) -> bool {
        matches!(self, Grantee::Service(_))
    }
}

/// `arn:aws:sts::A:assumed-role/R/S` belongs to `arn:aws:iam::A:role/R`.
fn role_of_session(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "sts", "", account, resource] => {
            let rest = resource.strip_prefix("assumed-role/")?;
            let (role, _session) = rest.split_once('/')?;
            Some(format!("arn:{partition}:iam::{account}:role/{role}"))
        }
        _ => None,
    }
}

fn is_role_arn(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("iam") && arn.split(':').nth(5).is_some_and(|r| r.starts_with("role/"))
}

/// Every grantee class of a key policy (SPEC section 2, "Grantee classes").
pub fn grantees(policy: &Policy) -> Vec<Grantee> {
    let mut out: Vec<Grantee> = Vec::new();
    let mut accounts: Vec<String> = Vec::new();
    let push = |out: &mut Vec<Grantee>, g: Grantee| {
        if !out.contains(&g) {
            out.push(g);
        }
    };
    for statement in policy.statements.iter() {
        let named = match &statement.principals {
            Some(Principals::Only(list) | Principals::AllExcept(list)) => list.as_slice(),
            None => &[],
        };
        for principal in named {
            match principal {
                Principal::Everyone => {}
                Principal::Account { id, .. } => {
                    push(&mut out, Grantee::Account(id.clone()));
                    accounts.push(id.clone());
                }
                Principal::Iam { arn, account } => {
                    push(&mut out, Grantee::Named { arn: arn.clone(), account: account.clone() });
                    if is_role_arn(arn) {
                        push(&mut out, Grantee::SessionOf { role: arn.clone(), account: account.clone() });
                    }
                    accounts.push(account.clone());
                }
                Principal::Service(s) => push(&mut out, Grantee::Service(s.clone())),
                Principal::Other(s) => push(&mut out, Grantee::Other(s.clone())),
            }
        }
    }
    for account in accounts {
        push(&mut out, Grantee::OtherIn(account));
    }
    push(&mut out, Grantee::Outsider);
    out
}

/// Does `principal`, listed in `Principal`, designate grantee `g`? `*` designates everyone; a
/// role designates itself and its sessions; an account designates itself, and for a Deny every
/// principal of that account; anything else designates itself.
fn designates(principal: &Principal, g: &Grantee, deny: bool) -> bool {
    match principal {
        Principal::Everyone => true,
        Principal::Account { id, .. } => match g {
            Grantee::Account(a) => a == id,
            _ => deny && g.account() == Some(id.as_str()),
        },
        Principal::Iam { arn, .. } => match g {
            Grantee::Named { arn: named, .. } => {
                named == arn || role_of_session(named).as_deref() == Some(arn.as_str())
            }
            Grantee::SessionOf { role, .. } => role == arn,
            _ => false,
        },
        Principal::Service(s) => *g == Grantee::Service(s.clone()),
        Principal::Other(s) => *g == Grantee::Other(s.clone()),
    }
}

/// Does `principal`, listed in `NotPrincipal`, exclude grantee `g`? Only the very principal it
/// names: a role ARN does not exclude the role's sessions, an account does not exclude its users.
/// A role never makes a request itself (it acts through its sessions: SPEC section 2), so a role
/// ARN in `NotPrincipal` excludes no caller at all, not even "the role".
fn excludes(principal: &Principal, g: &Grantee) -> bool {
    match principal {
        Principal::Everyone => true,
        Principal::Account { id, .. } => *g == Grantee::Account(id.clone()),
        Principal::Iam { arn, .. } if is_role_arn(arn) => false,
        Principal::Iam { arn, .. } => matches!(g, Grantee::Named { arn: named, .. } if named == arn),
        Principal::Service(s) => *g == Grantee::Service(s.clone()),
        Principal::Other(s) => *g == Grantee::Other(s.clone()),
    }
}

/// Does a statement with these principals cover `g` (as an Allow, or as a Deny)?
fn covers(principals: Option<&Principals>, g: &Grantee, deny: bool) -> bool {
    match principals {
        Some(Principals::Only(list)) => list.iter().any(|p| designates(p, g, deny)),
        Some(Principals::AllExcept(list)) => !list.iter().any(|p| excludes(p, g)),
        None => false,
    }
}

/// What the key policy grants grantee `g` on the key `key_arn`.
pub fn key_grant(policy: &Policy, key_arn: &str, g: &Grantee, counts: &dyn Fn(&Statement) -> bool) -> Granted {
    grant_to(&prepare(policy.statements.iter()), key_arn, g, counts)
}

/// What the prepared key-policy statements grant grantee `g` on the key `key_arn`.
fn grant_to(statements: &[Stmt<'_>], key_arn: &str, g: &Grantee, counts: &dyn Fn(&Statement) -> bool) -> Granted {
    let allow = |s: &Statement| reaches(s, key_arn) && covers(s.principals.as_ref(), g, false);
    let deny = |s: &Statement| reaches(s, key_arn) && covers(s.principals.as_ref(), g, true);
    Granted::compute(statements, &allow, &deny, counts)
}

/// With default parameters, key-policy rules do not judge the key's own account root.
fn judged(g: &Grantee) -> bool {
    *g != Grantee::Account(OWN.to_owned())
}

/// kms:ViaService required: a judged grantee that is not a service is granted a use action by
/// Allows without a restricting `kms:ViaService` condition.
pub fn via_service_required(policy: &Policy, key_arn: &str) -> Compliance {
    let counts = |s: &Statement| !restricted_on(s, &["kms:viaservice"]);
    let statements = prepare(policy.statements.iter());
    let found = grantees(policy)
        .iter()
        .filter(|g| judged(g) && !g.is_service())
        .any(|g| grant_to(&statements, key_arn, g, &counts).any_use());
    verdict(found)
}

/// No wildcard admin, key side: a judged grantee (service principals included) holds every
/// admin and every use action.
pub fn wildcard_admin_key(policy: &Policy, key_arn: &str) -> Compliance {
    let statements = prepare(policy.statements.iter());
    let found = grantees(policy)
        .iter()
        .filter(|g| judged(g))
        .any(|g| grant_to(&statements, key_arn, g, &every_allow).every_admin_and_use());
    verdict(found)
}

/// Admin/use separation, key side: a judged grantee that is not a service holds an admin and a
/// use action.
pub fn separation_key(policy: &Policy, key_arn: &str) -> Compliance {
    let statements = prepare(policy.statements.iter());
    let found = grantees(policy).iter().filter(|g| judged(g) && !g.is_service()).any(|g| {
        let granted = grant_to(&statements, key_arn, g, &every_allow);
        granted.any_admin() && granted.any_use()
    });
    verdict(found)
}

/// The condition keys that limit a grant to everyone (SPEC section 3, "No public access"), in
/// lower case. `aws:PrincipalOrgPaths`, `aws:SourceOrgPaths`, `aws:SourceVpc` and
/// `aws:SourceVpce` have restriction rules of their own that this reference does not model; the
/// grammar never generates them.
const LIMITING_KEYS: [&str; 7] = [
    "kms:calleraccount",
    "aws:principalaccount",
    "aws:principalorgid",
    "aws:principalarn",
    "aws:sourceaccount",
    "aws:sourcearn",
    "aws:sourceorgid",
];

/// No public access: the outsider (a principal of no named account, reached only by grants to
/// everyone) is granted a KMS action by Allows without a limiting condition.
pub fn no_public_access(policy: &Policy, key_arn: &str) -> Compliance {
    let counts = |s: &Statement| !restricted_on(s, &LIMITING_KEYS);
    verdict(key_grant(policy, key_arn, &Grantee::Outsider, &counts).any())
}
