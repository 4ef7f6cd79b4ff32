//! Every rule of the workspace, in SPEC order.

use shared::Rule;

pub static ALL: &[&Rule] = &[&iam_customer_policy_blocked_kms_actions::RULE];

#[test]
fn rule_ids_are_their_crate_directories() {
    for rule in ALL {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("rules").join(rule.id);
        assert!(dir.join("Cargo.toml").is_file(), "{}: no crate at {}", rule.id, dir.display());
    }
}
