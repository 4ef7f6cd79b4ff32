use super::*;
use crate::rule::Verdict;

const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
const RULE: &str = "kms-key-policy-via-service-required";

fn day(text: &str) -> Date {
    Date::parse(text).unwrap()
}

fn target() -> Target<'static> {
    Target { rule: RULE, arn: KEY_ARN, resource_id: KEY_ID, account_id: "111122223333" }
}

fn cause(principal: Option<&str>, reason: &str) -> Cause {
    Cause { principal: principal.map(str::to_owned), action: Some("kms:Decrypt".into()), ..Cause::because(reason) }
}

fn file(text: &str) -> Exceptions {
    parse(text).unwrap_or_else(|e| panic!("{e}"))
}

fn message(text: &str) -> String {
    parse(text).map(|_| String::new()).unwrap_or_else(|e| e.to_string())
}

const BREAK_GLASS: &str = "arn:aws:iam::111122223333:role/BreakGlass";
const APP: &str = "arn:aws:iam::111122223333:role/App";

#[test]
fn the_specs_example_reads_in_yaml_and_json() {
    let yaml = "exceptions:
  - rule: kms-key-policy-via-service-required    # a rule id, or \"*\"
    resource: arn:aws:kms:*:111122223333:key/*    # ARN pattern, resource id or account id
    principal: arn:aws:iam::111122223333:role/BreakGlass   # optional: only causes naming it
    reason: break-glass role, reviewed quarterly  # required
    expires: 2027-03-31                           # required, a date
    owner: security@example.com                  # optional
";
    let json = r#"{"exceptions": [{"rule": "kms-key-policy-via-service-required", "resource": "arn:aws:kms:*:111122223333:key/*",
        "principal": "arn:aws:iam::111122223333:role/BreakGlass", "reason": "break-glass role, reviewed quarterly",
        "expires": "2027-03-31", "owner": "security@example.com"}]}"#;
    for text in [yaml, json] {
        let exceptions = file(text);
        let [e] = exceptions.entries() else { panic!("one entry") };
        assert_eq!(e.rule, RuleMatch::Id(RULE.into()));
        assert_eq!(e.resource_text, "arn:aws:kms:*:111122223333:key/*");
        assert_eq!(e.expires, day("2027-03-31"));
        assert_eq!(e.reason, "break-glass role, reviewed quarterly");
        assert_eq!(e.owner.as_deref(), Some("security@example.com"));
        assert!(e.matches_target(&target()));
    }
    assert!(file("exceptions: []").is_empty());
}

#[test]
fn resources_match_by_arn_pattern_account_or_id() {
    let with = |resource: &str| {
        file(&format!("exceptions:\n- {{rule: '*', resource: '{resource}', reason: r, expires: 2027-01-01}}"))
    };
    let matches = |resource: &str, target: &Target<'_>| with(resource).entries()[0].matches_target(target);
    for (resource, expected) in [
        ("arn:aws:kms:*:111122223333:key/*", true),
        ("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890a?", true),
        ("arn:aws:kms:*:444455556666:key/*", false),
        // ARNs are case-sensitive.
        ("arn:aws:kms:*:111122223333:KEY/*", false),
        ("111122223333", true),
        ("444455556666", false),
        (KEY_ID, true),
        ("1234ABCD-12ab-34cd-56ef-1234567890ab", false),
    ] {
        assert_eq!(matches(resource, &target()), expected, "{resource}");
    }
    let other_rule = Target { rule: "kms-no-wildcard-admin", ..target() };
    assert!(matches("111122223333", &other_rule), "`*` is every rule");
    let named =
        file(&format!("exceptions:\n- {{rule: {RULE}, resource: '111122223333', reason: r, expires: 2027-01-01}}"));
    assert!(!named.entries()[0].matches_target(&other_rule));
    assert!(!matches("arn:aws:kms:*:*:*:*:*", &Target { arn: "", ..target() }), "no ARN: no ARN pattern matches");
}

#[test]
fn a_verdict_all_of_whose_causes_are_covered_is_not_applicable() {
    let exceptions = file(&format!(
        "exceptions:\n- rule: {RULE}\n  resource: {KEY_ID}\n  reason: legacy key, retired in March\n  expires: 2027-03-31\n  owner: kms-team"
    ));
    let verdict = Verdict::from_causes(vec![cause(Some(APP), "without kms:ViaService"), cause(None, "second")]);
    for today in ["2026-12-05", "2027-03-31"] {
        let out = exceptions.apply(&target(), verdict.clone(), day(today));
        assert_eq!(out.compliance, Compliance::NotApplicable, "{today}");
        assert_eq!(out.annotation().as_deref(), Some("excepted until 2027-03-31: legacy key, retired in March"));
        assert!(out.causes.iter().all(|c| c.exception.as_ref().is_some_and(|a| a.index == 0 && !a.expired)));
    }
    let json = serde_json::to_value(&exceptions.apply(&target(), verdict, day("2026-12-05")).causes[0]).unwrap();
    assert_eq!(
        json["exception"],
        serde_json::json!({"index": 0, "rule": RULE, "resource": KEY_ID, "reason": "legacy key, retired in March",
            "expires": "2027-03-31", "owner": "kms-team", "expired": false})
    );
}

#[test]
fn an_expired_exception_covers_nothing_and_says_so() {
    let exceptions =
        file(&format!("exceptions:\n- {{rule: {RULE}, resource: '{KEY_ID}', reason: legacy, expires: 2026-11-30}}"));
    let verdict = Verdict::from_causes(vec![cause(Some(APP), "without kms:ViaService")]);
    let out = exceptions.apply(&target(), verdict, day("2026-12-01"));
    assert_eq!(out.compliance, Compliance::NonCompliant);
    assert_eq!(
        out.annotation().as_deref(),
        Some("arn:aws:iam::111122223333:role/App may kms:Decrypt without kms:ViaService (exception expired on 2026-11-30)")
    );
    assert_eq!(out.causes[0].exception.as_ref().map(|a| a.expired), Some(true));
    assert_eq!(exceptions.expired(day("2026-12-01")).count(), 1);
    assert_eq!(exceptions.expired(day("2026-11-30")).count(), 0, "the expiry day is still covered");
}

#[test]
fn a_principal_scoped_exception_covers_only_causes_naming_that_principal() {
    let exceptions = file(&format!(
        "exceptions:\n- {{rule: {RULE}, resource: '111122223333', principal: '{BREAK_GLASS}', reason: break-glass, expires: 2027-03-31}}"
    ));
    let glass = cause(Some(&format!("{BREAK_GLASS} (through `*`)")), "without kms:ViaService");
    let app = cause(Some(APP), "without kms:ViaService");
    let nobody = cause(None, "policy does not parse");
    let out = exceptions.apply(&target(), Verdict::from_causes(vec![glass.clone(), app, nobody]), day("2026-12-05"));
    assert_eq!(out.compliance, Compliance::NonCompliant, "partly covered stays NON_COMPLIANT");
    // The uncovered causes first: the annotation names what is not covered.
    assert_eq!(out.causes.iter().map(Cause::is_excepted).collect::<Vec<_>>(), [false, false, true]);
    assert_eq!(
        out.annotation().as_deref(),
        Some("arn:aws:iam::111122223333:role/App may kms:Decrypt without kms:ViaService (+1 more, 1 excepted)")
    );
    let only_glass = exceptions.apply(&target(), Verdict::from_causes(vec![glass]), day("2026-12-05"));
    assert_eq!(only_glass.compliance, Compliance::NotApplicable);
    assert_eq!(only_glass.annotation().as_deref(), Some("excepted until 2027-03-31: break-glass"));

    let patterns = file(
        "exceptions:\n- {rule: '*', resource: '111122223333', principal: 'arn:aws:iam::111122223333:role/Break*', reason: r, expires: 2027-03-31}\n- {rule: '*', resource: '111122223333', principal: anyone, reason: r, expires: 2027-03-31}",
    );
    let [glass, anyone] = patterns.entries() else { panic!("two") };
    assert!(glass.matches_cause(&cause(Some(BREAK_GLASS), "x")));
    assert!(!glass.matches_cause(&cause(Some(APP), "x")));
    assert!(anyone.matches_cause(&cause(Some("anyone"), "x")));
    assert!(!anyone.matches_cause(&cause(Some(APP), "x")));
}

#[test]
fn the_live_exception_that_lasts_longest_covers_and_the_first_to_end_is_announced() {
    let exceptions = file(&format!(
        "exceptions:
- {{rule: '*', resource: '111122223333', reason: old, expires: 2026-01-01}}
- {{rule: {RULE}, resource: '{KEY_ID}', reason: short, expires: 2027-01-31}}
- {{rule: {RULE}, resource: '{KEY_ID}', reason: long, expires: 2027-06-30}}
- {{rule: {RULE}, resource: '{KEY_ID}', principal: '{APP}', reason: app only, expires: 2026-12-20}}"
    ));
    let verdict = Verdict::from_causes(vec![cause(None, "a"), cause(Some(APP), "b")]);
    let out = exceptions.apply(&target(), verdict, day("2026-12-05"));
    let covering: Vec<(usize, &str)> =
        out.causes.iter().map(|c| c.exception.as_ref().map(|a| (a.index, a.reason.as_str())).unwrap()).collect();
    assert_eq!(covering, [(2, "long"), (2, "long")]);
    assert_eq!(out.annotation().as_deref(), Some("excepted until 2027-06-30: long"));
    // When the longest has gone, the verdict is excepted until the earliest of what covers.
    let later = file(&format!(
        "exceptions:
- {{rule: {RULE}, resource: '{KEY_ID}', reason: all causes, expires: 2027-06-30}}
- {{rule: {RULE}, resource: '{KEY_ID}', principal: '{APP}', reason: app only, expires: 2027-12-31}}"
    ));
    let out =
        later.apply(&target(), Verdict::from_causes(vec![cause(None, "a"), cause(Some(APP), "b")]), day("2026-12-05"));
    assert_eq!(out.annotation().as_deref(), Some("excepted until 2027-06-30: all causes"));
    // Expiring soon: within 30 days of today, not yet past.
    let soon: Vec<usize> = exceptions.expiring(day("2026-12-05")).map(|e| e.index).collect();
    assert_eq!(soon, [3]);
    let soon: Vec<usize> = exceptions.expiring(day("2027-01-01")).map(|e| e.index).collect();
    assert_eq!(soon, [1]);
}

#[test]
fn compliant_and_not_applicable_verdicts_are_left_alone() {
    let exceptions = file("exceptions:\n- {rule: '*', resource: '111122223333', reason: r, expires: 2027-01-01}");
    let today = day("2026-12-05");
    let mut advisory = Verdict::compliant();
    advisory.causes.push(cause(None, "advisory"));
    for verdict in [Verdict::compliant(), advisory, Verdict::not_applicable("AWS managed key")] {
        assert_eq!(exceptions.apply(&target(), verdict.clone(), today), verdict);
    }
    let unmatched = Verdict::from_causes(vec![cause(None, "x")]);
    let elsewhere = Target { account_id: "444455556666", ..target() };
    assert_eq!(exceptions.apply(&elsewhere, unmatched.clone(), today), unmatched);
}

#[test]
fn annotations_stay_within_256_characters() {
    let reason = "é".repeat(400);
    let exceptions = file(&format!(
        "exceptions:\n- {{rule: '*', resource: '111122223333', reason: '{reason}', expires: 2027-01-01}}"
    ));
    let out = exceptions.apply(&target(), Verdict::from_causes(vec![cause(None, "x")]), day("2026-12-05"));
    let text = out.annotation().unwrap();
    assert_eq!(text.chars().count(), 256);
    assert!(text.starts_with("excepted until 2027-01-01: éé") && text.ends_with('…'));
    // Readiness lists as many causes as fit, and the excepted count after them.
    let scoped = file(&format!(
        "exceptions:\n- {{rule: '*', resource: '111122223333', principal: '{APP}', reason: r, expires: 2027-01-01}}"
    ));
    let listing = Verdict::listing(vec![cause(None, "a"), cause(Some(APP), "b"), cause(None, "c")]);
    let out = scoped.apply(&target(), listing, day("2026-12-05"));
    assert_eq!(out.annotation().as_deref(), Some("allows kms:Decrypt a; allows kms:Decrypt c; 1 excepted"));
}

#[test]
fn unknown_rules_are_named_against_the_known_ones() {
    let exceptions = file("exceptions:\n- {rule: kms-no-wildcard-admn, resource: '111122223333', reason: r, expires: 2027-01-01}\n- {rule: '*', resource: '111122223333', reason: r, expires: 2027-01-01}");
    assert_eq!(
        exceptions.check_rules(&["kms-no-wildcard-admin", "kms-admin-use-separation"]).map_err(|e| e.to_string()),
        Err("exceptions[0] (rule `kms-no-wildcard-admn`, resource `111122223333`): `rule` `kms-no-wildcard-admn` is not a rule (rules: kms-no-wildcard-admin, kms-admin-use-separation)".to_owned())
    );
}

/// Every validation error's message, as a user reads it.
#[test]
fn every_validation_error_names_the_entry_and_the_field() {
    let one = |entry: &str| message(&format!("exceptions:\n- {entry}"));
    let cases: &[(&str, &str)] = &[
        (
            "{rule: '*', resource: '111122223333', reasn: typo, reason: r, expires: 2027-01-01}",
            "exceptions[0] (rule `*`, resource `111122223333`): `reasn` is not a field of an exception (fields: rule, resource, principal, reason, expires, owner)",
        ),
        ("{rule: '*', resource: '111122223333', expires: 2027-01-01}", "exceptions[0] (rule `*`, resource `111122223333`): `reason` is missing"),
        ("{rule: '*', resource: '111122223333', reason: r}", "exceptions[0] (rule `*`, resource `111122223333`): `expires` is missing"),
        ("{resource: '111122223333', reason: r, expires: 2027-01-01}", "exceptions[0] (resource `111122223333`): `rule` is missing"),
        ("{rule: '*', reason: r, expires: 2027-01-01}", "exceptions[0] (rule `*`): `resource` is missing"),
        ("{rule: '*', resource: '111122223333', reason: '  ', expires: 2027-01-01}", "exceptions[0] (rule `*`, resource `111122223333`): `reason` is empty"),
        ("{rule: '*', resource: 111122223333, reason: r, expires: 2027-01-01}", "exceptions[0] (rule `*`): `resource` is a number, expected text (quote it)"),
        ("{rule: '*', resource: '111122223333', reason: r, expires: 2027-02-30}", "exceptions[0] (rule `*`, resource `111122223333`): `expires` `2027-02-30` is not a date as YYYY-MM-DD"),
        ("{rule: '*', resource: '111122223333', reason: r, expires: 31/03/2027}", "exceptions[0] (rule `*`, resource `111122223333`): `expires` `31/03/2027` is not a date as YYYY-MM-DD"),
        ("{rule: KMS_Rule, resource: '111122223333', reason: r, expires: 2027-01-01}", "exceptions[0] (rule `KMS_Rule`, resource `111122223333`): `rule` `KMS_Rule` is not a rule id (like `kms-no-wildcard-admin`) or `*`"),
        ("{rule: '*', resource: 'key/*', reason: r, expires: 2027-01-01}", "exceptions[0] (rule `*`, resource `key/*`): `resource` `key/*` uses `*` or `?` outside an ARN: only ARN patterns have wildcards; a resource id or account id is matched exactly"),
        ("{rule: '*', resource: 'arn:aws:kms:*', reason: r, expires: 2027-01-01}", "exceptions[0] (rule `*`, resource `arn:aws:kms:*`): `resource` `arn:aws:kms:*` is not an ARN pattern: an ARN has six `:`-separated fields (arn:partition:service:region:account:resource)"),
        ("{rule: '*', resource: 'my key', reason: r, expires: 2027-01-01}", "exceptions[0] (rule `*`, resource `my key`): `resource` `my key` holds a space: an ARN pattern, resource id or account id has none"),
        ("{rule: '*', resource: '111122223333', principal: 'Break Glass', reason: r, expires: 2027-01-01}", "exceptions[0] (rule `*`, resource `111122223333`): `principal` `Break Glass` holds a space: a principal is an ARN pattern, a service principal, `anyone`, `any other principal of <account>` or `*`"),
        ("{rule: '*', resource: '111122223333', reason: r, expires: 2027-01-01, owner: [a, b]}", "exceptions[0] (rule `*`, resource `111122223333`): `owner` is a list, expected text (quote it)"),
        ("just text", "exceptions[0]: `exceptions` is text, expected a mapping of rule, resource, principal, reason, expires, owner"),
    ];
    for (entry, expected) in cases {
        assert_eq!(one(entry), *expected, "{entry}");
    }
    // Every problem of every entry, each on its line.
    assert_eq!(
        message("exceptions:\n- {rule: '*', resource: '111122223333', reason: r, expires: 2027-01-01}\n- {rule: '*', resource: x}"),
        "2 problems:\n  exceptions[1] (rule `*`, resource `x`): `reason` is missing\n  exceptions[1] (rule `*`, resource `x`): `expires` is missing"
    );
    // The file's own shape.
    assert_eq!(
        message("exception:\n- {rule: '*'}"),
        "is not YAML of the exceptions file's shape (`exceptions:` and a list): unknown field `exception`, expected `exceptions`"
    );
    assert_eq!(
        message(""),
        "is not YAML of the exceptions file's shape (`exceptions:` and a list): missing field `exceptions`"
    );
    assert_eq!(
        message("{\"exceptions\": [}"),
        "is not JSON of the exceptions file's shape (`exceptions:` and a list): expected value at line 1 column 17"
    );
    assert_eq!(
        message("{\"exceptions\": [{\"rule\": \"*\", \"resource\": \"111122223333\", \"reason\": \"r\", \"expires\": 20270101}]}"),
        "exceptions[0] (rule `*`, resource `111122223333`): `expires` is a number, expected text (quote it)"
    );
}

/// The messages no file above reaches: an entry that does not read (serde's message, after the
/// field check has passed; kept for a field added to one list and not the other), and an
/// entry that names neither rule nor resource.
#[test]
fn the_remaining_messages() {
    let error = EntryError {
        index: 4,
        rule: None,
        resource: None,
        field: "exceptions".into(),
        problem: Problem::Unreadable("invalid type".into()),
    };
    assert_eq!(error.to_string(), "exceptions[4]: `exceptions` does not read: invalid type");
    let error = EntryError { rule: Some("*".into()), problem: Problem::Missing, field: "resource".into(), ..error };
    assert_eq!(FileError::Entries(vec![error]).to_string(), "exceptions[4] (rule `*`): `resource` is missing");
}
