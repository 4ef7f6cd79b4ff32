//! Every rule of the workspace, in SPEC order.

pub use kms_guardrails::ALL;

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
