//! Every rule of the workspace, in SPEC order.

pub use kms_guardrails::ALL;

/// The rule ids shared knows (for exceptions files) are the registry's, in its order.
#[test]
fn shared_knows_every_rule_id() {
    let ids: Vec<&str> = ALL.iter().map(|r| r.id).collect();
    assert_eq!(ids, shared::rule::RULE_IDS);
}

#[test]
fn rule_ids_are_their_crate_directories() {
    for rule in ALL {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("rules").join(rule.id);
        assert!(dir.join("Cargo.toml").is_file(), "{}: no crate at {}", rule.id, dir.display());
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        assert!(manifest.contains(&format!("name = \"{}\"", rule.id)), "{}: package name differs", rule.id);
    }
}

#[test]
fn every_rule_accepts_its_defaults_and_rejects_unknown_parameters() {
    for rule in ALL {
        let defaults: std::collections::BTreeMap<String, String> =
            rule.parameters.iter().map(|p| (p.name.to_owned(), p.default.to_owned())).collect();
        assert!(rule.parse_params(&defaults).is_ok(), "{}", rule.id);
        let unknown = [("noSuchParameter".to_owned(), "x".to_owned())].into_iter().collect();
        let err = rule.parse_params(&unknown).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.starts_with(&format!("rule `{}` has no parameter `noSuchParameter`", rule.id)), "{err}");
    }
}

// Each rule's own binary (a dry-run of that rule alone) is run by the rule's crate:
// `rules/<id>/tests/scenarios.rs`, through `CARGO_BIN_EXE_<id>`, so cargo builds it first.

/// No rule's `src/lib.rs` holds any of `forbidden`; `instead` says what to do.
fn no_rule_source_contains(forbidden: &[&str], instead: &str) {
    for rule in ALL {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules").join(rule.id).join("src/lib.rs");
        let text = std::fs::read_to_string(&path).expect("rule source");
        for needle in forbidden {
            assert!(!text.contains(needle), "{}: `{needle}` in {}: {instead}", rule.id, path.display());
        }
    }
}

/// The access model is the only place that applies Allows and Denies (ARCHITECTURE.md,
/// "One access model"): no rule's source looks at a statement's Deny effect, its
/// unconditional-ness or its resources itself. Rules ask `shared::access` instead.
#[test]
fn no_rule_does_allow_deny_arithmetic_itself() {
    let forbidden = ["Effect::Deny", "is_unconditional", ".applies_to(", "kms_actions.minus", ".resources"];
    no_rule_source_contains(&forbidden, "ask shared::access");
}

/// ARNs are read through `shared::arn` (ARCHITECTURE.md, "ARNs are parsed once"): no rule
/// splits one into fields by hand or checks a 12-digit account id itself.
#[test]
fn no_rule_splits_arns_or_checks_account_ids_by_hand() {
    no_rule_source_contains(&["split(':')", "splitn(", "rsplit('/')", "is_ascii_digit"], "use shared::arn");
}

/// Only the Lambda shell talks to AWS (ARCHITECTURE.md, "Pure core"): no source file of the
/// product outside `shared/src/runtime/` names an AWS SDK crate.
#[test]
fn only_the_runtime_module_names_the_aws_sdk() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("source dir").map(|e| e.expect("dir entry").path()) {
            if entry.is_dir() {
                sources(&entry, out);
            } else if entry.extension().is_some_and(|x| x == "rs") {
                out.push(entry);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["shared/src", "cli/src", "xtask/src"] {
        sources(&root.join(dir), &mut files);
    }
    for rule in ALL {
        sources(&root.join("rules").join(rule.id).join("src"), &mut files);
    }
    assert!(files.len() > 20, "found only {} source files", files.len());
    let runtime = root.join("shared/src/runtime");
    assert!(runtime.join("mod.rs").is_file(), "the runtime module tree is where this test looks");
    for file in files.iter().filter(|f| !f.starts_with(&runtime)) {
        let text = std::fs::read_to_string(file).expect("source");
        assert!(!text.contains("aws_sdk_"), "{} names an AWS SDK crate: only shared/src/runtime/ may", file.display());
    }
}
