//! Writes `cloudformation/*.yaml` from the rules' metadata (see `kms_guardrails::templates`).

fn main() -> std::process::ExitCode {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../cloudformation");
    for template in kms_guardrails::templates::all(kms_guardrails::ALL) {
        let path = dir.join(template.name);
        if let Err(e) = std::fs::write(&path, template.text) {
            eprintln!("error: {}: {e}", path.display());
            return std::process::ExitCode::from(2);
        }
        println!("wrote {}", path.display());
    }
    std::process::ExitCode::SUCCESS
}
