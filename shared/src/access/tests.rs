use super::*;
use crate::catalog::ActionId;
use crate::policy::{parse_policy, PolicyKind, Principal};
use serde_json::json;

const OWN: &str = "111122223333";
const KEY_ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn identity(statements: serde_json::Value) -> Policy {
    parse_policy(&json!({"Version": "2012-10-17", "Statement": statements}), PolicyKind::Identity).unwrap()
}

fn key_policy(statements: serde_json::Value) -> Policy {
    parse_policy(&json!({"Version": "2012-10-17", "Statement": statements}), PolicyKind::KeyPolicy).unwrap()
}

fn action(name: &str) -> ActionId {
    ActionId::by_name(name).unwrap()
}

fn cells<'p>(docs: &[&'p Policy], account: &str) -> KeyCells<'p> {
    let docs: Vec<IdentityDoc<'p>> = docs.iter().map(|policy| IdentityDoc { name: None, policy }).collect();
    let scope = KeyScope::new(&format!("arn:aws:iam::{account}:policy/p"), account);
    identity_cells(&docs, None, &scope, &every_allow)
}

fn on_all_keys(policy: &Policy, account: &str, name: &str) -> bool {
    cells(&[policy], account).all_keys_grant(action(name)).is_some()
}

fn decrypt_on_all_keys(resource: &str, account: &str) -> bool {
    let policy = identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": resource}]));
    on_all_keys(&policy, account, "kms:Decrypt")
}

#[test]
fn all_keys_means_every_key_id_of_the_own_account_in_some_region() {
    for reaches in [
        "*",
        "arn:aws:kms:*:*:key/*",
        "arn:aws:kms:*:111122223333:*",
        "arn:aws:kms:us-east-1:*:key/*",
        "arn:aws:kms:eu-*:*:key/*",
        "arn:*",
        "arn:aws:kms:*:*:key/?*",
    ] {
        assert!(decrypt_on_all_keys(reaches, OWN), "{reaches}");
    }
    for not in [
        "arn:aws:kms:*:111122223333:alias/*",
        "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:*:111122223333:key/mrk-*",
        "arn:aws:kms:*:444455556666:key/*",
        "arn:aws:kms:*:*:key/*a*",
        "arn:aws:kms:*:*:key/*-*-*-*-????????????a",
        "arn:aws:kms:*:*:key/${aws:username}",
        "arn:aws-cn:kms:*:*:key/*",
    ] {
        assert!(!decrypt_on_all_keys(not, OWN), "{not}");
    }
}

#[test]
fn without_an_own_account_only_account_wildcards_reach_all_keys() {
    assert!(decrypt_on_all_keys("arn:aws:kms:*:*:key/*", ""));
    assert!(decrypt_on_all_keys("arn:aws:kms:*:????????????:key/*", ""));
    assert!(!decrypt_on_all_keys("arn:aws:kms:*:111122223333:key/*", ""));
}

#[test]
fn a_deny_on_some_regions_leaves_the_others_granted() {
    // Issue 13, class 1: the regions a Deny misses are still granted.
    for (deny, still_granted) in [
        ("arn:aws:kms:*-1:*:key/*", "us-east-2"),
        ("arn:aws:kms:us-east-1:*:key/*", "us-east-2"),
        ("arn:aws:kms:eu-central-1:*:key/*", "eu-west-1"),
    ] {
        let policy = identity(json!([
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": deny}
        ]));
        let cells = cells(&[&policy], OWN);
        let (_, text) = cells.all_keys_grant(action("kms:Decrypt")).unwrap_or_else(|| panic!("{deny}"));
        assert!(
            cells
                .classes
                .iter()
                .any(|c| c.regions.contains(&still_granted) && c.all_keys.actions().contains(action("kms:Decrypt"))),
            "{deny}: {still_granted} is granted"
        );
        assert_ne!(text, "on all keys", "{deny}");
    }
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-*:*:key/*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:*:key/*"}
    ]));
    assert!(on_all_keys(&policy, OWN, "kms:Decrypt"), "us-east-2 is still granted");
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-*:*:key/*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-*:*:key/*"}
    ]));
    assert!(!on_all_keys(&policy, OWN, "kms:Decrypt"));
    // A Deny on regions no list names leaves every listed region granted; a Deny on `*` does not.
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:xx-*:*:key/*"}
    ]));
    assert!(on_all_keys(&policy, OWN, "kms:Decrypt"));
}

#[test]
fn the_unlisted_region_is_reached_only_by_a_region_wildcard_that_matches_any_name() {
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:??-*:*:key/*"]}
    ]));
    let cells = cells(&[&policy], OWN);
    let granted: Vec<&RegionClass<'_>> =
        cells.classes.iter().filter(|c| c.all_keys.actions().contains(action("kms:Decrypt"))).collect();
    assert_eq!(granted.len(), 1);
    assert!(granted.iter().all(|c| c.unlisted && c.regions.is_empty()));
}

#[test]
fn unnamed_keys_are_decided_over_every_id_not_samples() {
    // Sixteen patterns that together cover every UUID and mrk id: all keys.
    let first: Vec<String> = "0123456789abcdef".chars().map(|c| format!("arn:aws:kms:*:*:key/{c}*")).collect();
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": first},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/mrk-*"}
    ]));
    assert!(on_all_keys(&policy, OWN, "kms:Decrypt"));
    // Fifteen of them miss every id starting with `7`.
    let missing: Vec<String> = "012345689abcdef".chars().map(|c| format!("arn:aws:kms:*:*:key/{c}*")).collect();
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": missing},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/mrk-*"}
    ]));
    assert!(!on_all_keys(&policy, OWN, "kms:Decrypt"));
}

#[test]
fn a_deny_on_a_named_key_leaves_all_other_keys_granted() {
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": KEY_ARN}
    ]));
    let cells = cells(&[&policy], OWN);
    assert!(cells.classes.iter().all(|c| c.all_keys.actions().contains(action("kms:Decrypt"))));
    let us_east_1 = cells.classes.iter().find(|c| c.regions.contains(&"us-east-1")).unwrap();
    assert_eq!(us_east_1.named.len(), 1);
    assert!(us_east_1.named.iter().all(|n| n.access.actions().is_empty()));
    let eu_west_1 = cells.classes.iter().find(|c| c.regions.contains(&"eu-west-1")).unwrap();
    assert!(eu_west_1.named.is_empty(), "the key is named in us-east-1 only");
}

#[test]
fn named_keys_under_a_wildcard_region_exist_in_every_region() {
    // Issue 13, class 4: admin on a named key in every region, use on eu-west-1's keys.
    let policy = identity(json!([
        {"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:111122223333:key/*"}
    ]));
    let cells = cells(&[&policy], OWN);
    let both: Vec<&RegionClass<'_>> =
        cells.classes.iter().filter(|c| c.named.iter().any(|n| n.access.administers_and_uses())).collect();
    assert_eq!(both.len(), 1);
    assert!(both.iter().all(|c| c.regions == ["eu-west-1"]));
}

#[test]
fn separation_is_per_cell_not_a_union_across_regions() {
    // Issue 13, class 3.
    let admin = identity(
        json!([{"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "arn:aws:kms:us-east-1:*:key/*"}]),
    );
    let usage =
        identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:*:key/*"}]));
    let cells = cells(&[&admin, &usage], OWN);
    assert!(cells.classes.iter().flat_map(|c| &c.unnamed).all(|cell| !cell.access.administers_and_uses()));
    // A key that only wildcards reach is one both reach.
    let admin =
        identity(json!([{"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "arn:aws:kms:*:*:key/mrk-*"}]));
    let usage = identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]));
    let cells = self::cells(&[&admin, &usage], OWN);
    let both: Vec<&Cell<'_>> =
        cells.classes.iter().flat_map(|c| &c.unnamed).filter(|cell| cell.access.administers_and_uses()).collect();
    assert!(!both.is_empty());
    assert!(both.iter().all(|cell| cell.key_id.starts_with("mrk-") && cell.key_id.len() == 36));
}

#[test]
fn regions_every_pattern_treats_alike_are_one_class() {
    let policy = identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]));
    let cells = cells(&[&policy], OWN);
    assert_eq!(cells.classes.len(), 1);
    assert!(cells.classes.iter().all(|c| c.everywhere));
    let policy =
        identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-*:*:key/*"}]));
    let cells = self::cells(&[&policy], OWN);
    assert_eq!(cells.classes.len(), 2, "us-* and the rest");
}

#[test]
fn a_permissions_boundary_bounds_every_cell() {
    let policy = identity(json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]));
    let boundary = identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]));
    let docs = [IdentityDoc { name: None, policy: &policy }];
    let bounds = [IdentityDoc { name: Some("boundary"), policy: &boundary }];
    let scope = KeyScope::new("arn:aws:iam::111122223333:role/r", OWN);
    let cells = identity_cells(&docs, Some(&bounds), &scope, &every_allow);
    assert!(cells.classes.iter().all(|c| c.all_keys.actions()
        == crate::catalog::ActionSet::matching(&[crate::pattern::Pattern::action("kms:Decrypt")])));
}

#[test]
fn key_policy_denies_cover_by_principal() {
    let role = Grantee::Named(Principal::aws("arn:aws:iam::111122223333:role/App"));
    let other = Grantee::Named(Principal::aws("arn:aws:iam::444455556666:role/App"));
    let decrypt = action("kms:Decrypt");
    let allowed = |deny_principal: serde_json::Value, grantee: &Grantee| {
        let policy = key_policy(json!([
            {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
            {"Effect": "Deny", "Principal": deny_principal, "Action": "kms:*", "Resource": "*"}
        ]));
        key_policy_access(&policy, KEY_ARN, grantee, &every_allow).actions().contains(decrypt)
    };
    assert!(!allowed(json!({"AWS": "111122223333"}), &role), "an account covers its roles");
    assert!(allowed(json!({"AWS": "111122223333"}), &other));
    assert!(!allowed(json!("*"), &other));
    assert!(allowed(json!({"AWS": "arn:aws:iam::111122223333:role/Other"}), &role));
    let conditional = key_policy(json!([
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ]));
    assert!(key_policy_access(&conditional, KEY_ARN, &role, &every_allow).actions().contains(decrypt));
}

#[test]
fn grantees_named_only_in_a_deny_are_judged() {
    // Issue 13, class 2: Allow * and Deny NotPrincipal [Bob, own root] still grants Bob.
    let policy = key_policy(json!([
        {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:user/Bob", "arn:aws:iam::111122223333:root"]}, "Action": "kms:*", "Resource": "*"}
    ]));
    let grantees = key_policy_grantees(&policy, KEY_ARN, &every_allow);
    let granted: Vec<String> =
        grantees.iter().filter(|g| !g.access.actions().is_empty()).map(|g| g.grantee.to_string()).collect();
    assert_eq!(granted, ["arn:aws:iam::111122223333:user/Bob", "arn:aws:iam::111122223333:root"]);
    let bob = grantees.iter().find(|g| g.grantee.to_string().ends_with("user/Bob")).unwrap();
    let by = bob.access.source(action("kms:Decrypt")).unwrap();
    assert_eq!(bob.grantee.named_for(by.statement), "arn:aws:iam::111122223333:user/Bob (through `*`)");
    let names: Vec<String> = grantees.iter().map(|g| g.grantee.to_string()).collect();
    assert!(names.contains(&"any other principal of 111122223333".to_owned()));
    assert_eq!(names.last().map(String::as_str), Some("anyone"));
}

#[test]
fn a_role_in_not_principal_does_not_exclude_its_sessions() {
    let admin = Grantee::Named(Principal::aws("arn:aws:iam::111122223333:role/Admin"));
    let deny_all_but_admin = key_policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"}, "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/Admin"}, "Action": "kms:*", "Resource": "*"}
    ]));
    assert!(key_policy_access(&deny_all_but_admin, KEY_ARN, &admin, &every_allow).actions().is_empty());
    let app = Grantee::Named(Principal::aws("arn:aws:iam::111122223333:role/App"));
    let allow_all_but_app = key_policy(json!([
        {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    assert!(key_policy_access(&allow_all_but_app, KEY_ARN, &app, &every_allow)
        .actions()
        .contains(action("kms:Decrypt")));
    let session = Grantee::Named(Principal::aws("arn:aws:sts::111122223333:assumed-role/App/s1"));
    let allow_all_but_session = key_policy(json!([
        {"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:sts::111122223333:assumed-role/App/s1"}, "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    assert!(key_policy_access(&allow_all_but_session, KEY_ARN, &session, &every_allow).actions().is_empty());
    let allow_role = key_policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/path/App"}, "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    assert!(key_policy_access(&allow_role, KEY_ARN, &session, &every_allow).actions().contains(action("kms:Decrypt")));
}

#[test]
fn key_policy_statements_naming_another_resource_do_nothing_here() {
    let role = Grantee::Named(Principal::aws("arn:aws:iam::111122223333:role/App"));
    let policy = key_policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:111122223333:key/other"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Encrypt", "Resource": KEY_ARN},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:Sign", "NotResource": KEY_ARN}
    ]));
    let access = key_policy_access(&policy, KEY_ARN, &role, &every_allow);
    assert!(!access.actions().contains(action("kms:Decrypt")));
    assert!(access.actions().contains(action("kms:Encrypt")));
    assert!(!access.actions().contains(action("kms:Sign")));
}

#[test]
fn create_grant_is_admin_unless_restricted_to_aws_resources_or_via_service() {
    let grant = |condition: serde_json::Value| {
        let mut statement = json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "Action": "kms:CreateGrant", "Resource": "*"});
        if !condition.is_null() {
            statement["Condition"] = condition;
        }
        let policy = key_policy(json!([statement]));
        let role = Grantee::Named(Principal::aws("arn:aws:iam::111122223333:role/App"));
        !key_policy_access(&policy, KEY_ARN, &role, &every_allow).admin_actions().is_empty()
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
    let cells = cells(&[&policy], OWN);
    let name = |a: &str| cells.all_keys_grant(action(a)).map(|(s, _)| s.statement.name.to_string());
    assert_eq!(name("kms:Encrypt").as_deref(), Some("\"Narrow\""));
    assert_eq!(name("kms:Decrypt").as_deref(), Some("\"Broad\""));
}

#[test]
fn a_remembered_pool_takes_each_callers_own_statements_and_counting_rule() {
    // The same pool of patterns (`*` and one named key), three times: the shapes are walked
    // once and remembered, and what each cell is allowed still comes from each call's own
    // statements and counting rule.
    let named = "arn:aws:kms:us-east-1:111122223333:key/0000abcd-0000-4000-8000-00000000abcd";
    let decrypt = identity(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": named}
    ]));
    let encrypt = identity(json!([
        {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": named}
    ]));
    let first = cells(&[&decrypt], OWN);
    let second = cells(&[&encrypt], OWN);
    let has = |cells: &KeyCells<'_>, name: &str| cells.all_keys_grant(action(name)).is_some();
    assert!(has(&first, "kms:Decrypt") && !has(&first, "kms:Encrypt"));
    assert!(has(&second, "kms:Encrypt") && !has(&second, "kms:Decrypt"));
    let named_access = |cells: &KeyCells<'_>| -> Vec<bool> {
        cells.classes.iter().flat_map(|c| &c.named).map(|cell| cell.access.administers_and_uses()).collect()
    };
    assert_eq!(named_access(&first), [true], "admin and use on the named key");
    assert_eq!(named_access(&second), [false]);
    // The same pool and statements, counted differently: conditioned Allows do not count.
    let docs = [IdentityDoc { name: None, policy: &encrypt }];
    let scope = KeyScope::new("arn:aws:iam::111122223333:policy/p", OWN);
    let unconditioned = |s: &crate::policy::Statement| s.conditions.is_empty();
    let third = identity_cells(&docs, None, &scope, &unconditioned);
    assert!(!has(&third, "kms:Encrypt"));
    // And the remembered shape is the walked one: the same classes as a pool met first.
    assert_eq!(first.classes.len(), second.classes.len());
    for (a, b) in first.classes.iter().zip(&second.classes) {
        assert_eq!((&a.regions, a.unlisted, a.everywhere), (&b.regions, b.unlisted, b.everywhere));
        let ids = |c: &RegionClass<'_>| c.unnamed.iter().chain(&c.named).map(|x| x.key_id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(a), ids(b));
    }
}

#[test]
fn grantee_classes_kept_for_the_next_rule_are_never_another_policys_or_keys() {
    // The classes of the key policy last asked about are kept for the next question about the
    // same statements and key; any other policy or key is worked out afresh.
    let to_alice = key_policy(json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"},
        "Action": "kms:Decrypt", "Resource": KEY_ARN}]));
    let to_bob = key_policy(json!([{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/bob"},
        "Action": "kms:Decrypt", "Resource": "*"}]));
    let named = |grantees: &[GranteeAccess<'_>]| -> Vec<String> {
        grantees.iter().filter(|g| !g.access.actions().is_empty()).map(|g| g.grantee.to_string()).collect()
    };
    let other_key = "arn:aws:kms:us-east-1:111122223333:key/0000abcd-0000-4000-8000-00000000abcd";
    for _ in 0..2 {
        assert_eq!(
            named(&key_policy_grantees(&to_alice, KEY_ARN, &every_allow)),
            ["arn:aws:iam::111122223333:user/alice"]
        );
        // The same statements about another key: alice's statement names only KEY_ARN.
        assert!(named(&key_policy_grantees(&to_alice, other_key, &every_allow)).is_empty());
        assert_eq!(named(&key_policy_grantees(&to_bob, KEY_ARN, &every_allow)), ["arn:aws:iam::111122223333:user/bob"]);
        // The same policy and key, counted another way: the counting is never kept.
        assert!(named(&key_policy_grantees(&to_bob, KEY_ARN, &|_| false)).is_empty());
    }
    // A policy dropped and another made: never read as the one before.
    let mut last = Vec::new();
    for user in ["carol", "dave", "erin"] {
        let policy = key_policy(
            json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::111122223333:user/{user}")},
            "Action": "kms:Decrypt", "Resource": "*"}]),
        );
        last = named(&key_policy_grantees(&policy, KEY_ARN, &every_allow));
        assert_eq!(last, [format!("arn:aws:iam::111122223333:user/{user}")]);
    }
    assert_eq!(last.len(), 1);
}

#[test]
fn grantee_classes_kept_for_other_keys_of_the_same_policy_follow_which_statements_apply() {
    // One document (one allocation of statements, as the parse memo hands out for a text met
    // again) on keys taken in turn: the classes worked out for one key are kept for the next
    // key of that policy to which the same statements apply, and never for one to which others
    // do. More policies than a thread keeps come between, so that the kept ones are dropped.
    let key = |n: u32| format!("arn:aws:kms:us-east-1:111122223333:key/0000abcd-0000-4000-8000-{n:012}");
    let shared = key_policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "kms:Decrypt", "Resource": key(1)},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/bob"}, "Action": "kms:Encrypt", "Resource": "*"}
    ]));
    let granted = |policy: &Policy, key_arn: &str| -> Vec<String> {
        key_policy_grantees(policy, key_arn, &every_allow)
            .iter()
            .filter(|g| !g.access.actions().is_empty())
            .map(|g| {
                format!("{} {:?}", g.grantee, g.access.actions().iter().map(|a| a.to_string()).collect::<Vec<_>>())
            })
            .collect()
    };
    let alice_and_bob = [
        "arn:aws:iam::111122223333:user/alice [\"kms:Decrypt\"]",
        "arn:aws:iam::111122223333:user/bob [\"kms:Encrypt\"]",
    ];
    let bob = ["arn:aws:iam::111122223333:user/bob [\"kms:Encrypt\"]"];
    for round in 0..3 {
        for n in [1, 2, 3, 1, 3] {
            let copy = shared.clone();
            assert!(std::sync::Arc::ptr_eq(&copy.statements, &shared.statements));
            let expected: &[&str] = if n == 1 { &alice_and_bob } else { &bob };
            assert_eq!(granted(&copy, &key(n)), expected, "round {round}, key {n}");
        }
        for user in 0..super::grantees::KEPT_AT_MOST / 2 + 1 {
            let other = key_policy(
                json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::111122223333:user/u{user}")},
                "Action": "kms:Sign", "Resource": "*"}]),
            );
            assert_eq!(granted(&other, &key(1)), [format!("arn:aws:iam::111122223333:user/u{user} [\"kms:Sign\"]")]);
        }
    }
}

#[test]
fn a_statement_shared_by_two_documents_of_the_same_text_is_two_statements() {
    // The parse memo hands out one copy of a text's statements: an inline policy and a managed
    // policy of the same text hold the very same statements, and are still two documents.
    let policy = identity(json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]));
    let statement = &policy.statements[0];
    let inline = StatementRef { document: Some("inline"), statement };
    let managed = StatementRef { document: Some("arn:aws:iam::111122223333:policy/p"), statement };
    assert!(inline.same(&inline));
    assert!(!inline.same(&managed));
}

#[test]
fn each_action_names_the_first_statement_granting_it_however_many_statements_grant() {
    // Seven statements, each granting one more action (and the first again): more than an
    // access keeps in place, so the later ones are named from its list.
    let actions = [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:Sign",
        "kms:Verify",
        "kms:CreateGrant",
    ];
    let statements: Vec<serde_json::Value> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| json!({"Sid": format!("S{i}"), "Effect": "Allow", "Action": [a, "kms:Decrypt"], "Resource": "*"}))
        .collect();
    let policy = identity(serde_json::Value::Array(statements));
    let cells = cells(&[&policy], OWN);
    let access = &cells.classes[0].all_keys;
    for (i, name) in actions.iter().enumerate() {
        let by = access.source(action(name)).unwrap();
        assert_eq!(by.statement.name.to_string(), format!("\"S{i}\""), "{name}");
    }
    assert!(access.source(action("kms:DisableKey")).is_none());
    // CreateGrant without the AWS-resource restriction: admin, named by its statement.
    assert!(access.admin_actions().contains(action("kms:CreateGrant")));
    // The same through a permissions boundary that allows it all.
    let boundary = identity(json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]));
    let docs = [IdentityDoc { name: None, policy: &policy }];
    let bounds = [IdentityDoc { name: Some("boundary"), policy: &boundary }];
    let scope = KeyScope::new("arn:aws:iam::111122223333:role/r", OWN);
    let bounded = identity_cells(&docs, Some(&bounds), &scope, &every_allow);
    let access = &bounded.classes[0].all_keys;
    assert_eq!(access.source(action("kms:CreateGrant")).unwrap().statement.name.to_string(), "\"S6\"");
}

/// The rules skip working out the cells when `granted_at_most` rules a finding out, so it must
/// hold every action any cell or grantee is granted: Denies, conditions, `NotAction`, named
/// keys and boundaries only take away from it.
#[test]
fn no_cell_or_grantee_is_granted_more_than_granted_at_most() {
    let policies = [
        identity(json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])),
        identity(json!([
            {"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "arn:aws:kms:*:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:111122223333:key/*",
             "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}},
            {"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:*:key/*"}
        ])),
        identity(json!([{"Effect": "Allow", "NotAction": "kms:Decrypt", "Resource": "*"}])),
        identity(
            json!([{"Effect": "Allow", "Action": ["kms:Create*", "iam:*"], "Resource": "arn:aws:kms:*:*:key/mrk-*"}]),
        ),
    ];
    for (i, first) in policies.iter().enumerate() {
        for second in policies.iter().skip(i) {
            let docs =
                [IdentityDoc { name: Some("a"), policy: first }, IdentityDoc { name: Some("b"), policy: second }];
            let at_most = granted_at_most(&docs);
            let cells = cells(&[first, second], OWN);
            let accesses = cells.classes.iter().flat_map(|c| c.unnamed.iter().chain(&c.named).map(|cell| &cell.access));
            for access in accesses.chain(cells.classes.iter().map(|c| &c.all_keys)) {
                assert_eq!(access.actions().minus(at_most), crate::catalog::ActionSet::EMPTY);
                assert!(!access.administers_and_uses() || Access::may_administer_and_use(at_most));
                assert!(!access.is_wildcard_admin() || Access::may_be_wildcard_admin(at_most));
            }
        }
    }
    let policy = key_policy(json!([
        {"Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:CreateGrant"], "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"}, "NotAction": "kms:Encrypt", "Resource": "*"}
    ]));
    let at_most = granted_at_most(&[IdentityDoc { name: None, policy: &policy }]);
    for grantee in key_policy_grantees(&policy, KEY_ARN, &every_allow) {
        assert_eq!(grantee.access.actions().minus(at_most), crate::catalog::ActionSet::EMPTY);
        assert!(!grantee.access.administers_and_uses() || Access::may_administer_and_use(at_most));
    }
    // Nothing granted: nothing to find.
    assert!(!Access::may_administer_and_use(crate::catalog::ActionSet::EMPTY));
    assert!(!Access::may_be_wildcard_admin(crate::catalog::ActionSet::EMPTY));
}

/// The blocked-actions check skips the cells when no Allow that may reach unnamed keys names
/// the action: so no action of any other Allow may be allowed on all keys, however its
/// resources are written.
#[test]
fn only_allows_that_may_reach_unnamed_keys_allow_an_action_on_all_keys() {
    let resources = [
        json!("*"),
        json!("arn:aws:kms:*:111122223333:key/*"),
        json!("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        json!(["arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "arn:aws:s3:::bucket"]),
        json!("arn:aws:kms:us-east-1:111122223333:key/${aws:username}"),
        json!("arn:aws:kms:us-east-1:111122223333:key/${*}"),
        json!("arn:aws:kms:us-east-1:111122223333:alias/app"),
        json!("arn:aws:kms:?s-east-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef"),
    ];
    let mut reached = 0;
    for (i, first) in resources.iter().enumerate() {
        for second in resources.iter().skip(i) {
            let policy = identity(json!([
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": first},
                {"Effect": "Allow", "Action": "kms:Encrypt", "Resource": second},
                {"Effect": "Allow", "Action": "kms:Sign", "NotResource": first}
            ]));
            let reaching = policy
                .statements
                .iter()
                .filter(|s| may_reach_unnamed_keys(s))
                .fold(crate::catalog::ActionSet::EMPTY, |set, s| set.union(s.kms_actions));
            let cells = cells(&[&policy], OWN);
            for class in &cells.classes {
                assert_eq!(
                    class.all_keys.actions().minus(reaching),
                    crate::catalog::ActionSet::EMPTY,
                    "{first} {second}"
                );
                reached += usize::from(!class.all_keys.actions().is_empty());
            }
        }
    }
    assert!(reached > 0, "some pool allows an action on all keys");
}
