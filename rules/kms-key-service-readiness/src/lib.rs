//! # kms-key-service-readiness
//!
//! - **Identifier**: `kms-key-service-readiness`
//! - **Description**: a KMS key that AWS Control Tower, CloudTrail or Config must use has what
//!   those services need: it is customer managed, enabled, symmetric, single-Region and in the
//!   management account (Control Tower), and its policy grants, after Denies,
//!   `config.amazonaws.com` `kms:Decrypt` and `kms:GenerateDataKey` (Config),
//!   `cloudtrail.amazonaws.com` `kms:GenerateDataKey*` under a
//!   `kms:EncryptionContext:aws:cloudtrail:arn` condition covering the account's trails and
//!   `kms:DescribeKey` (CloudTrail), and both plus `cloudtrail.amazonaws.com` `kms:Decrypt`
//!   (Control Tower), except CloudTrail's `kms:DescribeKey`: Control Tower's documented key
//!   policy does not grant it and its set-up accepts that policy (SPEC section 3: that policy
//!   passes once Config's statement has a confused-deputy condition). So `DescribeKey` is
//!   required when `cloudtrail` is named in `services`, not for `controltower` alone.
//! - **Rationale**: the inverse of the other rules. When such a key falls short, Control Tower's
//!   set-up fails its pre-check and CloudTrail stops delivering logs with no error anyone sees.
//!   Checks are semantic: a grant counts whatever the statement layout (one statement or
//!   several, `kms:GenerateDataKey*` or exact names, `Resource` `*` or the key ARN), after
//!   Denies, as `shared::access` decides it. Condition values are matched as IAM matches them:
//!   wildcards only under `StringLike`, `ArnEquals` and `ArnLike`; under `StringEquals` a `*` is
//!   a literal character, so `StringEquals` on `arn:aws:cloudtrail:*:<account>:trail/*` covers
//!   no trail.
//! - **Confused deputy**: every Allow that names a needed service's principal and grants it a
//!   use or admin action (or `kms:CreateGrant`) without a confused-deputy condition
//!   (`aws:SourceArn`, `aws:SourceAccount`, `aws:SourceOrgID`, or a
//!   `kms:EncryptionContext:aws:<service>:arn` limited to named accounts) is reported, one cause
//!   per statement, as `kms-key-policy-service-principal-conditions` would, even when another,
//!   guarded statement grants the same: the unguarded one still lets another account's trail
//!   or recorder use the key. So is a needed action that reaches the service only through a
//!   grant to everyone without such a condition. These checks are of the kind "guard against the
//!   confused deputy"; all others are "the service needs" (the checklist's `kind`, which
//!   `precheck` shows apart).
//! - **Trigger**: configuration changes of `AWS::KMS::Key`.
//! - **Resource types**: `AWS::KMS::Key`.
//! - **Parameters**:
//!   - `keyIds` (key ids or key ARNs) and `keyTag` (`key=value`, matched exactly against the
//!     item's tags; the key is everything before the first `=`): the keys to check, those named
//!     or tagged; any other key is NOT_APPLICABLE, and with neither set, every key is. `keyTag`
//!     lets one value serve an organization conformance pack. A key not named in `keyIds` whose
//!     item has no `tags` (`batch-get-resource-config` items carry none) or `tags` of the wrong
//!     shape is NON_COMPLIANT when `keyTag` is set: the rule cannot tell whether it is selected,
//!     and fails closed rather than skip a key the services may need.
//!   - `services` (default `controltower,cloudtrail,config`): which services' needs to check.
//!   - `managementAccountId`: the organization's management account (for `controltower`);
//!     when empty, that requirement is reported unmet (it cannot be confirmed).
//!   - `trailArns` (optional ARN patterns): the trails the encryption context must cover; by
//!     default, every trail of the key's account.
//!   - `requireConfusedDeputyConditions` (default `true`): with `false`, the confused-deputy
//!     findings are advisory: listed as causes (last, marked `(advisory)`) but never the reason
//!     for NON_COMPLIANT, so a key that has everything the services need is COMPLIANT with them.
//!
//! Unlike every other rule, a named key that is AWS managed or pending deletion is
//! NON_COMPLIANT (the services cannot use it), not NOT_APPLICABLE. The verdict lists every
//! unmet requirement; the annotation holds as many as fit, each with what to change. A key
//! whose item does not record `multiRegion` (older items, `select` results) is single-Region
//! unless its id starts with `mrk-`, the form every multi-Region key id has.
//!
//! ## Scenarios
//! 1. `services=controltower`: the Control Tower example key policy
//!    (`tests/fixtures/aws-docs/controltower-key-policy.json`) with a confused-deputy condition on
//!    its Config statement, on an enabled single-Region symmetric key in the management account:
//!    COMPLIANT.
//! 2. The Control Tower example policy as AWS prints it (Config statement without a condition):
//!    NON_COMPLIANT for the missing confused-deputy condition only.
//! 3. Without the Config statement: NON_COMPLIANT, `kms:Decrypt` and `kms:GenerateDataKey` unmet.
//! 4. Without the CloudTrail `GenerateDataKey*` statement: NON_COMPLIANT.
//! 5. `services=cloudtrail` and the Control Tower policy, which grants CloudTrail no
//!    `DescribeKey`: NON_COMPLIANT for that.
//! 6. Without the CloudTrail `Decrypt` statement (Control Tower needs it): NON_COMPLIANT.
//! 7. The CloudTrail statement's encryption context names another account's trails:
//!    NON_COMPLIANT (the account's trails are not covered).
//! 8. A multi-Region key: NON_COMPLIANT.
//! 9. An asymmetric key (`ECC_NIST_P256`, `SIGN_VERIFY`): NON_COMPLIANT.
//! 10. A disabled key: NON_COMPLIANT.
//! 11. A key in another account than `managementAccountId`: NON_COMPLIANT.
//! 12. A key pending deletion, named in `keyIds`: NON_COMPLIANT.
//! 13. An AWS managed key, named in `keyIds`: NON_COMPLIANT.
//! 14. A key not named in `keyIds`: NOT_APPLICABLE.
//! 15. `services=config` and a key policy granting Config what it needs in two statements
//!     (`kms:GenerateDataKey*` and `kms:Decrypt`, `Resource` the key ARN): COMPLIANT.
//! 16. `services=cloudtrail` and an unconditional Deny of `kms:GenerateDataKey*` to CloudTrail:
//!     NON_COMPLIANT (Denies remove grants).
//! 17. A key named by ARN in `keyIds`, with `services=config`, granting Config everything:
//!     COMPLIANT.
//! 18. A key policy that does not parse: NON_COMPLIANT with the parse error.
//! 19. `services=cloudtrail` with `trailArns` naming one trail the context covers, and
//!     `DescribeKey` granted: COMPLIANT.
//! 20. The Control Tower example with CloudTrail's encryption context under `StringEquals`
//!     (`arn:aws:cloudtrail:*:111122223333:trail/*`): NON_COMPLIANT, the context covers no trail
//!     (`*` is a literal character there), and the fix says to use `StringLike`.
//! 21. `services=cloudtrail`, `trailArns` naming one trail, and a statement whose context is under
//!     `StringEquals` naming exactly that trail: COMPLIANT.
//! 22. The Control Tower example on an item that does not record `multiRegion`, key id in UUID
//!     form: COMPLIANT (single-Region).
//! 23. The same with a key id in `mrk-` form: NON_COMPLIANT (multi-Region).
//! 24. `services=cloudtrail` and CloudTrail's documented key policy
//!     (`tests/fixtures/aws-docs/cloudtrail-key-policy.json`): COMPLIANT (its `kms:DescribeKey`
//!     statement has no confused-deputy condition and needs none).
//! 25. The Control Tower example as AWS prints it with the Config documentation's guarded
//!     statement (`tests/fixtures/aws-docs/config-key-policy.json`) added beside it: NON_COMPLIANT
//!     for the unguarded Control Tower statement (a guarded grant beside it does not excuse it).
//! 26. `services=config`, a guarded statement granting Config what it needs and two unguarded
//!     ones (`kms:Decrypt`; `kms:GenerateDataKey` to Config and CloudTrail): NON_COMPLIANT, one
//!     cause per unguarded statement.
//! 27. Scenario 25 with `requireConfusedDeputyConditions=false`: COMPLIANT, the unguarded
//!     statement listed as an advisory cause.
//! 28. `requireConfusedDeputyConditions=false`, Control Tower's Config statement unguarded and
//!     CloudTrail's `kms:Decrypt` missing: NON_COMPLIANT for the missing grant, the unguarded
//!     statement listed after it as advisory.
//! 29. `keyIds` naming another key and `keyTag=Purpose=control-tower`, which the key's item
//!     carries in `tags`: the key is checked (COMPLIANT).
//! 30. `keyTag` alone, the item's tags as `select-resource-config` lists them (`key`/`value`
//!     objects): the key is checked (COMPLIANT).
//! 31. `keyTag` alone and a key whose tags do not carry it: NOT_APPLICABLE.
//! 32. Neither `keyIds` nor `keyTag`: NOT_APPLICABLE.
//! 33. `keyTag` alone and an item without `tags` (as `batch-get-resource-config` gives it):
//!     NON_COMPLIANT, the selection cannot be decided.
//! 34. `keyTag` alone and `tags` that is a string: NON_COMPLIANT, naming the field.
//! 35. `keyTag` without `=`: a parameter error.

use shared::access::{key_policy_access, Access, Grantee};
use shared::arn::Arn;
use shared::catalog::ActionId;
use shared::condition::guards_confused_deputy;
use shared::item::{Key, KeyAttributes, KeyManager, KeyPolicy, KeySpec, KeyState, KeyUsage, Tags};
use shared::pattern::{Pattern, Variables};
use shared::policy::{BaseOperator, Condition, Policy, Principal, Principals, SetQualifier, Statement};
use shared::rule::{AnnotationStyle, Check, CheckKind, InactiveKeys, ParamKind, ParamSpec, Reads};
use shared::support::{access_cause, confused_deputy_actions, grant_cause};
use shared::{Cause, Compliance, Context, Details, Params, Resource, ResourceType, Rule, Verdict};

const KEY_IDS: &str = "keyIds";
const KEY_TAG: &str = "keyTag";
const SERVICES: &str = "services";
const MANAGEMENT_ACCOUNT_ID: &str = "managementAccountId";
const TRAIL_ARNS: &str = "trailArns";
const REQUIRE_DEPUTY: &str = "requireConfusedDeputyConditions";

const CONFIG: &str = "config.amazonaws.com";
const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
const TRAIL_CONTEXT_KEY: &str = "kms:encryptioncontext:aws:cloudtrail:arn";

/// The rule.
pub static RULE: Rule = Rule {
    id: "kms-key-service-readiness",
    summary: "keys named for Control Tower, CloudTrail and Config have what those services need",
    resource_types: &[ResourceType::KmsKey],
    parameters: &[
        ParamSpec::new(KEY_IDS, ParamKind::KeyIds, "", "key ids or key ARNs to check"),
        ParamSpec::new(KEY_TAG, ParamKind::Tag, "", "check keys carrying this tag, as key=value (besides keyIds)"),
        ParamSpec::new(
            SERVICES,
            ParamKind::Choices(&["controltower", "cloudtrail", "config"]),
            "controltower,cloudtrail,config",
            "services whose needs to check: controltower, cloudtrail, config",
        ),
        ParamSpec::new(
            MANAGEMENT_ACCOUNT_ID,
            ParamKind::AccountId,
            "",
            "the organization's management account (for controltower)",
        ),
        ParamSpec::new(
            TRAIL_ARNS,
            ParamKind::ArnPatterns,
            "",
            "trails the CloudTrail encryption context must cover (default: every trail of the account)",
        ),
        ParamSpec::new(
            REQUIRE_DEPUTY,
            ParamKind::Bool,
            "true",
            "a service grant without a confused-deputy condition fails the key (false: advisory)",
        ),
    ],
    reads: Reads::Item,
    // Change notifications only: one item an invocation.
    function: shared::FunctionSize::ONE_ITEM,
    inactive_keys: InactiveKeys::Evaluate,
    evaluate,
};

fn evaluate(resource: &Resource, ctx: &Context<'_>) -> Verdict {
    let Details::Key(key) = &resource.details else {
        return Verdict::not_applicable("not a KMS key");
    };
    if let Some(verdict) = unselected(key, resource.arn(), ctx.params) {
        return verdict;
    }
    verdict(&checklist(resource, ctx.params))
}

/// The verdict for a key the parameters do not select, or `None` when they select it: by
/// `keyIds` (id or ARN) or by `keyTag` against the item's tags. A key whose selection depends on
/// tags the item does not show (absent, or of the wrong shape) is NON_COMPLIANT: it may be a
/// key the services need, so the rule fails closed rather than skipping it.
fn unselected(key: &Key, arn: &str, params: &Params) -> Option<Verdict> {
    let ids = params.list(KEY_IDS);
    if ids.iter().any(|named| *named == key.key_id || (!arn.is_empty() && *named == arn)) {
        return None;
    }
    let Some((tag_key, tag_value)) = params.text(KEY_TAG).and_then(|tag| tag.split_once('=')) else {
        return Some(Verdict::not_applicable(match ids.is_empty() {
            true => "no key is selected: set keyIds or keyTag",
            false => "key is not named in keyIds",
        }));
    };
    let (subject, tags_of) = match ids.is_empty() {
        true => ("key has", "key's tags"),
        false => ("key is not named in keyIds and has", "key is not named in keyIds and its tags"),
    };
    let undecided = |why: String| {
        Some(Verdict::listing(vec![Cause::because(format!(
            "{tags_of} {why}: cannot tell whether keyTag `{tag_key}={tag_value}` selects it"
        ))]))
    };
    match &key.tags {
        Tags::Recorded(tags) if tags.get(tag_key).is_some_and(|v| v == tag_value) => None,
        Tags::Recorded(_) => Some(Verdict::not_applicable(format!("{subject} no tag `{tag_key}={tag_value}`"))),
        Tags::Absent => undecided("are not recorded in the configuration item".into()),
        Tags::Invalid(problem) => undecided(format!("cannot be read ({problem})")),
    }
}

/// NON_COMPLIANT when a check that is not advisory is unmet; every unmet check's causes are
/// listed, advisory ones last and marked, so a COMPLIANT verdict may carry advisory causes.
fn verdict(checks: &[Check]) -> Verdict {
    let mut causes: Vec<Cause> = checks.iter().filter(|c| !c.advisory).flat_map(Check::verdict_causes).collect();
    let compliance = if causes.is_empty() { Compliance::Compliant } else { Compliance::NonCompliant };
    causes.extend(checks.iter().filter(|c| c.advisory).flat_map(Check::verdict_causes).map(|mut cause| {
        cause.reason.push_str(" (advisory)");
        cause
    }));
    Verdict { compliance, causes, style: AnnotationStyle::AsManyAsFit }
}

/// Which services' needs the parameters ask for.
struct Needs {
    control_tower: bool,
    cloudtrail: bool,
    config: bool,
    /// `kms:DescribeKey` for CloudTrail: CloudTrail's own guidance asks for it; Control Tower's
    /// documented key policy (which its set-up accepts) does not grant it, so it is required only
    /// when `cloudtrail` itself is named.
    cloudtrail_describe: bool,
    /// Confused-deputy findings are advisory (`requireConfusedDeputyConditions=false`).
    deputy_advisory: bool,
}

impl Needs {
    fn from(params: &Params) -> Needs {
        let services = params.list(SERVICES);
        let has = |name: &str| services.iter().any(|s| s == name);
        let control_tower = has("controltower");
        Needs {
            control_tower,
            cloudtrail: control_tower || has("cloudtrail"),
            config: control_tower || has("config"),
            cloudtrail_describe: has("cloudtrail"),
            deputy_advisory: !params.flag(REQUIRE_DEPUTY),
        }
    }
}

/// A requirement the service needs met.
fn check(requirement: impl Into<String>, met: bool, fix: impl Into<String>) -> Check {
    Check {
        requirement: requirement.into(),
        met,
        fix: Some(fix.into()).filter(|_| !met),
        example: None,
        kind: CheckKind::ServiceNeeds,
        advisory: false,
        causes: Vec::new(),
    }
}

/// A grant check, with the statement that would meet it.
fn grant_check(requirement: String, met: bool, fix: String, example: &str) -> Check {
    Check { example: Some(example.to_owned()).filter(|_| !met), ..check(requirement, met, fix) }
}

/// An Allow statement for `service`, as JSON.
fn statement(sid: &str, service: &str, actions: &[&str], condition: &str) -> String {
    let actions: Vec<String> = actions.iter().map(|a| format!("\"{a}\"")).collect();
    let condition = if condition.is_empty() { String::new() } else { format!(", \"Condition\": {condition}") };
    format!(
        "{{\"Sid\": \"{sid}\", \"Effect\": \"Allow\", \"Principal\": {{\"Service\": \"{service}\"}}, \"Action\": [{}], \"Resource\": \"*\"{condition}}}",
        actions.join(", ")
    )
}

/// Every requirement for `resource` (a KMS key) under `params`, met or not: the readiness
/// rule's verdict, and the `precheck` checklist. Each check says its kind (what the service
/// needs, or a guard against the confused deputy) and whether it is advisory.
pub fn checklist(resource: &Resource, params: &Params) -> Vec<Check> {
    let Details::Key(key) = &resource.details else { return Vec::new() };
    let needs = Needs::from(params);
    let mut checks = vec![
        check(
            "customer managed key",
            key.manager == KeyManager::Customer,
            "key is AWS managed: use a customer managed key",
        ),
        match &key.attributes.state {
            Some(KeyState::Enabled) => check("key is enabled", true, ""),
            Some(state) if state.is_pending_deletion() => {
                check("key is enabled", false, format!("key is {state}: cancel its deletion and enable it"))
            }
            state => check(
                "key is enabled",
                false,
                format!("key is {}: enable it", state.as_ref().map_or("in an unrecorded state", KeyState::as_str)),
            ),
        },
    ];
    let KeyAttributes { spec, usage, multi_region, .. } = &key.attributes;
    let symmetric = *spec == Some(KeySpec::SymmetricDefault) && *usage == Some(KeyUsage::EncryptDecrypt);
    let spec = spec.as_ref().map_or("unrecorded", KeySpec::as_str);
    let usage = usage.as_ref().map_or("unrecorded", KeyUsage::as_str);
    checks.push(check(
        "symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)",
        symmetric,
        format!("key is {spec}/{usage}: use a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key"),
    ));
    if needs.control_tower {
        // Items that do not record `multiRegion` (older items, `select` results): a
        // multi-Region key's id always starts with `mrk-`, and no other key's does.
        let recorded = *multi_region;
        let multi_region = recorded.unwrap_or_else(|| key.key_id.starts_with("mrk-"));
        checks.push(check(
            "single-Region key",
            !multi_region,
            match recorded {
                Some(_) => "key is multi-Region: use a single-Region key",
                None => "key is multi-Region (its id starts with mrk-): use a single-Region key",
            },
        ));
        let management = params.text(MANAGEMENT_ACCOUNT_ID);
        checks.push(check(
            "key is in the management account",
            management == Some(resource.account_id()),
            match management {
                Some(m) => format!("key is in account {}, not the management account {m}", resource.account_id()),
                None => "management account unknown: set parameter managementAccountId".into(),
            },
        ));
    }
    match &key.policy {
        KeyPolicy::Parsed(policy) => checks.extend(policy_checks(policy, resource, params, &needs)),
        KeyPolicy::Invalid(e) => {
            checks.push(check("key policy parses", false, format!("key policy does not parse: {e}")))
        }
        KeyPolicy::Absent => {
            checks.push(check("key policy is recorded", false, "key policy is absent from the configuration item"))
        }
        KeyPolicy::Unreadable(reason) => {
            checks.push(check("key policy is readable", false, format!("key policy unreadable: {reason}")))
        }
    }
    checks
}

fn action(name: &str) -> Option<ActionId> {
    ActionId::by_name(name)
}

fn granted(access: &Access<'_>, name: &str) -> bool {
    action(name).is_some_and(|a| access.actions().contains(a))
}

/// The statement restricts a confused-deputy key (as the service-principal rule requires).
fn has_deputy_condition(statement: &Statement) -> bool {
    guards_confused_deputy(&statement.conditions)
}

/// The statement names `service` in its `Principal` (grants to everyone are the public-access
/// rule's concern, as in the service-principal rule).
fn names_service(statement: &Statement, service: &Principal) -> bool {
    matches!(&statement.principals, Some(Principals::Only(list)) if list.contains(service))
}

/// The trail ARNs the CloudTrail encryption context must cover: `trailArns`, or a trail of the
/// key's account no policy names (standing for every trail of the account).
fn target_trails(resource: &Resource, params: &Params) -> Vec<String> {
    let named = params.list(TRAIL_ARNS);
    if !named.is_empty() {
        return named.to_vec();
    }
    // A key item without an ARN (hand-made ones) or with fields left empty: the trail stands
    // in partition `aws`, region us-east-1.
    let arn = Arn::parse(resource.arn()).ok();
    let partition = arn.map(|a| a.partition).filter(|p| !p.is_empty()).unwrap_or("aws");
    let region = arn.map(|a| a.region).filter(|r| !r.is_empty()).unwrap_or("us-east-1");
    vec![format!("arn:{partition}:cloudtrail:{region}:{}:trail/any-trail-of-the-account", resource.account_id())]
}

/// Does condition value `value` under `operator` cover the trail `trail` (an ARN, or an ARN
/// pattern from `trailArns`) as IAM matches it? Wildcards only under `StringLike`, `ArnEquals`
/// and `ArnLike`; under `StringEquals` (`StringEqualsIgnoreCase`: ignoring ASCII case) a `*` or
/// `?` is a literal character, so the value names one trail, and covers a `trailArns` pattern
/// only when that pattern is the same literal ARN. Other operators cover nothing.
fn value_covers(operator: BaseOperator, value: &str, trail: &str) -> bool {
    let literal_trail = !trail.contains(['*', '?']);
    match operator {
        BaseOperator::StringEquals => literal_trail && value == trail,
        BaseOperator::StringEqualsIgnoreCase => literal_trail && value.eq_ignore_ascii_case(trail),
        BaseOperator::StringLike | BaseOperator::ArnEquals | BaseOperator::ArnLike => {
            Pattern::arn(value, Variables::Literal).matches(trail)
        }
        BaseOperator::Bool | BaseOperator::Null | BaseOperator::Negated | BaseOperator::OtherPositive => false,
    }
}

fn is_trail_context(condition: &Condition) -> bool {
    condition.key == TRAIL_CONTEXT_KEY && condition.operator.set != Some(SetQualifier::ForAllValues)
}

/// The statement carries a positive `kms:EncryptionContext:aws:cloudtrail:arn` condition whose
/// values cover every target trail.
fn context_covers(statement: &Statement, trails: &[String]) -> bool {
    statement
        .conditions
        .iter()
        .filter(|c| is_trail_context(c))
        .any(|c| trails.iter().all(|trail| c.values.iter().any(|v| value_covers(c.operator.base, v, trail))))
}

/// The statement writes the CloudTrail context with wildcards under `StringEquals`, where they
/// are literal characters (so it names no real trail).
fn context_wildcard_under_equals(statement: &Statement) -> bool {
    statement.conditions.iter().filter(|c| is_trail_context(c)).any(|c| {
        matches!(c.operator.base, BaseOperator::StringEquals | BaseOperator::StringEqualsIgnoreCase)
            && c.values.iter().any(|v| v.contains(['*', '?']))
    })
}

/// The confused-deputy check for `service`: every Allow naming it that grants a use or admin
/// action on this key (after Denies) without a confused-deputy condition is a cause, whether or
/// not another, guarded statement grants the same; and so is each of `needed` that reaches the
/// service only through a grant to everyone without such a condition.
///
/// Which statements grant what is asked of `shared::access`: the access one statement gives
/// (`key_policy_access` admitting only that statement, so Denies still apply), and
/// `Access::source` for the statement behind a grant.
fn deputy_check(
    policy: &Policy,
    key_arn: &str,
    service: &str,
    needed: &[&str],
    hint: &str,
    example: &str,
    advisory: bool,
) -> Check {
    let principal = Principal::Service(service.into());
    let grantee = Grantee::Named(principal.clone());
    let reason = format!("without a confused-deputy condition: {hint}");
    let mut causes: Vec<Cause> = policy
        .statements
        .iter()
        .filter(|s| names_service(s, &principal) && !has_deputy_condition(s))
        .filter_map(|unguarded| {
            let alone = key_policy_access(policy, key_arn, &grantee, &|s| std::ptr::eq(s, unguarded));
            let (action, by) = alone.first_grant(confused_deputy_actions())?;
            Some(grant_cause(by, Some(service), action, reason.as_str()))
        })
        .collect();
    let all = key_policy_access(policy, key_arn, &grantee, &|_| true);
    let named_or_guarded =
        key_policy_access(policy, key_arn, &grantee, &|s| names_service(s, &principal) || has_deputy_condition(s));
    let everyone_reason = format!("only through a grant to everyone, without a confused-deputy condition: {hint}");
    for action in needed.iter().filter_map(|name| action(name)) {
        if !named_or_guarded.actions().contains(action) {
            causes.extend(access_cause(&all, Some(service), action, &everyone_reason));
        }
    }
    let met = causes.is_empty();
    let fix = causes.iter().map(Cause::to_string).collect::<Vec<_>>().join("; ");
    Check {
        requirement: format!("{service} grants carry a confused-deputy condition"),
        met,
        fix: Some(fix).filter(|_| !met),
        example: Some(example.to_owned()).filter(|_| !met),
        kind: CheckKind::ConfusedDeputy,
        advisory,
        causes,
    }
}

fn policy_checks(policy: &Policy, resource: &Resource, params: &Params, needs: &Needs) -> Vec<Check> {
    let mut checks = Vec::new();
    let account = resource.account_id();
    let source_account = format!("{{\"StringEquals\": {{\"aws:SourceAccount\": \"{account}\"}}}}");
    let trail_context = format!(
        "{{\"StringLike\": {{\"kms:EncryptionContext:aws:cloudtrail:arn\": \"arn:aws:cloudtrail:*:{account}:trail/*\"}}}}"
    );
    let config_statement =
        statement("AllowConfigToUseKey", CONFIG, &["kms:Decrypt", "kms:GenerateDataKey"], &source_account);
    let trail_statement =
        statement("AllowCloudTrailToEncryptLogs", CLOUDTRAIL, &["kms:GenerateDataKey*"], &trail_context);
    if needs.config {
        let service = Grantee::Named(Principal::Service(CONFIG.into()));
        let all = key_policy_access(policy, resource.arn(), &service, &|_| true);
        for name in ["kms:Decrypt", "kms:GenerateDataKey"] {
            checks.push(grant_check(
                format!("{CONFIG} may {name}"),
                granted(&all, name),
                format!("{CONFIG} lacks {name}: add an Allow for it with aws:SourceAccount"),
                &config_statement,
            ));
        }
        checks.push(deputy_check(
            policy,
            resource.arn(),
            CONFIG,
            &["kms:Decrypt", "kms:GenerateDataKey"],
            &format!("add aws:SourceAccount {account}"),
            &config_statement,
            needs.deputy_advisory,
        ));
    }
    if needs.cloudtrail {
        let service = Grantee::Named(Principal::Service(CLOUDTRAIL.into()));
        let all = key_policy_access(policy, resource.arn(), &service, &|_| true);
        let trails = target_trails(resource, params);
        let generate = granted(&all, "kms:GenerateDataKey");
        checks.push(grant_check(
            format!("{CLOUDTRAIL} may kms:GenerateDataKey*"),
            generate,
            format!(
                "{CLOUDTRAIL} lacks kms:GenerateDataKey*: add an Allow with kms:EncryptionContext:aws:cloudtrail:arn"
            ),
            &trail_statement,
        ));
        if generate {
            let covered = key_policy_access(policy, resource.arn(), &service, &|s| context_covers(s, &trails));
            let covers = granted(&covered, "kms:GenerateDataKey");
            let fix = match policy.statements.iter().any(context_wildcard_under_equals) {
                true => format!("{CLOUDTRAIL} kms:GenerateDataKey* encryption context is under StringEquals, where * is a literal character: use StringLike arn:aws:cloudtrail:*:{account}:trail/*"),
                false => format!("{CLOUDTRAIL} kms:GenerateDataKey* lacks an encryption context covering the trails: add kms:EncryptionContext:aws:cloudtrail:arn arn:aws:cloudtrail:*:{account}:trail/*"),
            };
            checks.push(grant_check(
                format!("{CLOUDTRAIL} kms:GenerateDataKey* is limited to the account's trails by encryption context"),
                covers,
                fix,
                &trail_statement,
            ));
        }
        if needs.cloudtrail_describe {
            checks.push(grant_check(
                format!("{CLOUDTRAIL} may kms:DescribeKey"),
                granted(&all, "kms:DescribeKey"),
                format!("{CLOUDTRAIL} lacks kms:DescribeKey: add an Allow for it"),
                &statement("AllowCloudTrailToDescribeKey", CLOUDTRAIL, &["kms:DescribeKey"], ""),
            ));
        }
        if needs.control_tower {
            checks.push(grant_check(
                format!("{CLOUDTRAIL} may kms:Decrypt"),
                granted(&all, "kms:Decrypt"),
                format!("{CLOUDTRAIL} lacks kms:Decrypt (Control Tower needs it): add an Allow for it"),
                &statement("AllowCloudTrailToDecrypt", CLOUDTRAIL, &["kms:Decrypt"], &trail_context),
            ));
        }
        let needed: &[&str] =
            if needs.control_tower { &["kms:GenerateDataKey", "kms:Decrypt"] } else { &["kms:GenerateDataKey"] };
        checks.push(deputy_check(
            policy,
            resource.arn(),
            CLOUDTRAIL,
            needed,
            &format!("add aws:SourceArn of the trail, or limit the encryption context to account {account}"),
            &trail_statement,
            needs.deputy_advisory,
        ));
    }
    checks
}
