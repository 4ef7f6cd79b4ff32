//! `precheck`: the readiness checklist of every key in the inputs.

use std::collections::BTreeMap;
use std::io::Write;

use super::args::{Exit, PrecheckArgs};
use super::error::Error;
use super::input::{input_files, InputError};
use super::report::wrap;
use crate::export;
use crate::item::{Details, Resource};
use crate::rule::Rule;

/// The checklist view a binary offers as `precheck` (the readiness rule's, in the all-rules
/// binary).
#[derive(Debug, Clone, Copy)]
pub struct Precheck {
    /// The rule whose parameters the checklist takes.
    pub rule: &'static Rule,
    /// The checklist.
    pub checklist: crate::rule::Checklist,
}

/// Prints every key of the inputs as a checklist. Exit 0 when every key is ready, 1 when one
/// is not, 2 on input errors.
pub(super) fn run_precheck(precheck: Precheck, args: &PrecheckArgs) -> Result<Exit, Error> {
    let mut raw = BTreeMap::new();
    raw.insert("services".to_owned(), args.services.clone());
    raw.insert("managementAccountId".to_owned(), args.management_account.clone().unwrap_or_default());
    raw.insert("trailArns".to_owned(), args.trails.join(","));
    let params = precheck.rule.parse_params(&raw)?;
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for input in input_files(&args.paths)? {
        let file = input.name();
        let error = |message: String| InputError { file: file.clone(), message };
        let mut on_found = |found: export::Found| match found {
            export::Found::Item { at, item } => match Resource::from_json(&item) {
                Ok(resource) if matches!(resource.details, Details::Key(_)) => keys.push(resource),
                Ok(_) => {}
                Err(e) => errors.push(error(format!("{at}: {e}"))),
            },
            export::Found::AwsManagedPolicy { .. } => {}
            export::Found::Error(e) => errors.push(error(e.to_string())),
        };
        let result = match input.open(None) {
            Ok(reader) => export::stream(reader, &mut on_found).map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        if let Err(message) = result {
            errors.push(error(message));
        }
    }
    if !errors.is_empty() {
        for error in &errors {
            eprintln!("error: {error}");
        }
        return Err(Error::PrecheckInputs { count: errors.len() });
    }
    if keys.is_empty() {
        return Err(Error::NoKeys);
    }
    let mut out = String::new();
    let mut all_ready = true;
    for key in &keys {
        let checks = (precheck.checklist)(key, &params);
        let unmet = checks.iter().filter(|c| !c.met).count();
        all_ready &= unmet == 0;
        let verdict = match unmet {
            0 => "READY".to_owned(),
            n => format!("NOT READY: {n} of {} requirements unmet", checks.len()),
        };
        out.push_str(&format!("{} ({}) for {}: {verdict}\n", key.resource_id, key.account_id, args.services));
        for c in &checks {
            let mark = if c.met { "[x]" } else { "[ ]" };
            out.push_str(&format!("  {mark} {}\n", c.requirement));
            if let Some(fix) = &c.fix {
                for line in wrap(fix, 90) {
                    out.push_str(&format!("        {line}\n"));
                }
            }
            if let Some(example) = &c.example {
                out.push_str(&format!("        add: {example}\n"));
            }
        }
        out.push('\n');
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(Error::Write)?;
    Ok(if all_ready { Exit::Clean } else { Exit::NonCompliant })
}
