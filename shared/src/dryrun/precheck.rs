//! `precheck`: a rule's checklist for every key in the inputs (the readiness rule's, in the
//! all-rules binary).
//!
//! Its options set parameters of the checklist's rule, found in the rule's declaration by the
//! kind of value they take ([`PrecheckOption::takes`]), so that no parameter name is written here: the rule
//! may rename its parameters, and `precheck` follows, or stops with an error naming the option
//! when the declaration no longer has exactly one parameter of that kind.

use std::collections::BTreeMap;
use std::io::Write;

use super::args::{Exit, PrecheckArgs};
use super::error::Error;
use super::input::{input_files, InputError};
use super::report::wrap;
use crate::export;
use crate::item::{Details, Resource};
use crate::rule::{Check, CheckKind, ParamKind, ParamSpec, Rule};

/// The checklist view a binary offers as `precheck` (the readiness rule's, in the all-rules
/// binary).
#[derive(Debug, Clone, Copy)]
pub struct Precheck {
    /// The rule whose parameters the checklist takes.
    pub rule: &'static Rule,
    /// The checklist.
    pub checklist: crate::rule::Checklist,
}

/// A `precheck` option that sets a parameter of the checklist's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrecheckOption {
    /// `--services LIST`: the rule's parameter that takes names from a fixed set.
    Services,
    /// `--management-account ACCOUNT_ID`: its parameter that takes an account id.
    ManagementAccount,
    /// `--trail ARN`, repeatable: its parameter that takes ARN patterns.
    Trails,
}

impl PrecheckOption {
    fn flag(self) -> &'static str {
        match self {
            PrecheckOption::Services => "--services",
            PrecheckOption::ManagementAccount => "--management-account",
            PrecheckOption::Trails => "--trail",
        }
    }

    /// Does a parameter of this kind take the option's value?
    fn takes(self, kind: &ParamKind) -> bool {
        match self {
            PrecheckOption::Services => matches!(kind, ParamKind::Choices(_)),
            PrecheckOption::ManagementAccount => matches!(kind, ParamKind::AccountId),
            PrecheckOption::Trails => matches!(kind, ParamKind::ArnPatterns),
        }
    }

    /// The parameter of `rule` this option sets: its one parameter of the kind it takes.
    fn parameter(self, rule: &Rule) -> Result<&'static ParamSpec, Error> {
        let found: Vec<&'static ParamSpec> = rule.parameters.iter().filter(|p| self.takes(&p.kind)).collect();
        match found.as_slice() {
            [spec] => Ok(spec),
            _ => Err(Error::PrecheckParameter { rule: rule.id, option: self.flag(), found: found.len() }),
        }
    }
}

/// Prints every key of the inputs as a checklist. Exit 0 when every key is ready, 1 when one
/// is not, 2 on input errors.
pub(super) fn run_precheck(precheck: Precheck, args: &PrecheckArgs) -> Result<Exit, Error> {
    let rule = precheck.rule;
    let services = PrecheckOption::Services.parameter(rule)?;
    let given = [
        (services, args.services.clone()),
        (PrecheckOption::ManagementAccount.parameter(rule)?, args.management_account.clone()),
        (PrecheckOption::Trails.parameter(rule)?, (!args.trails.is_empty()).then(|| args.trails.join(","))),
    ];
    // What is not given takes the rule's default.
    let raw: BTreeMap<String, String> =
        given.into_iter().filter_map(|(spec, value)| Some((spec.name.to_owned(), value?))).collect();
    let params = rule.parse_params(&raw)?;
    let services = args.services.as_deref().unwrap_or(services.default);
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
            Ok(reader) => export::stream(reader, &mut on_found)
                .map(|outline| outline.warnings.iter().for_each(|warning| eprintln!("warning: {file}: {warning}")))
                .map_err(|e| e.to_string()),
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
        // Advisory findings are listed, never counted against readiness.
        let unmet = checks.iter().filter(|c| !c.met && !c.advisory).count();
        all_ready &= unmet == 0;
        let verdict = match unmet {
            0 => "READY".to_owned(),
            n => format!("NOT READY: {n} of {} requirements unmet", checks.len()),
        };
        out.push_str(&format!("{} ({}) for {}: {verdict}\n", key.resource_id(), key.account_id(), services));
        // The two kinds apart (SPEC section 3): what the services need, then the guards against
        // the confused deputy.
        for kind in [CheckKind::ServiceNeeds, CheckKind::ConfusedDeputy] {
            let of_kind: Vec<&Check> = checks.iter().filter(|c| c.kind == kind).collect();
            if of_kind.is_empty() {
                continue;
            }
            out.push_str(&format!("  {}:\n", kind.label()));
            for c in of_kind {
                let mark = match (c.met, c.advisory) {
                    (true, _) => "[x]",
                    (false, false) => "[ ]",
                    (false, true) => "[~]",
                };
                let advisory = if c.advisory && !c.met { " (advisory)" } else { "" };
                out.push_str(&format!("    {mark} {}{advisory}\n", c.requirement));
                if let Some(fix) = &c.fix {
                    for line in wrap(fix, 88) {
                        out.push_str(&format!("          {line}\n"));
                    }
                }
                if let Some(example) = &c.example {
                    out.push_str(&format!("          add: {example}\n"));
                }
            }
        }
        out.push('\n');
    }
    std::io::stdout().write_all(out.as_bytes()).map_err(Error::Write)?;
    Ok(if all_ready { Exit::Clean } else { Exit::NonCompliant })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::ResourceType;
    use crate::rule::InactiveKeys;

    const fn spec(name: &'static str, kind: ParamKind) -> ParamSpec {
        ParamSpec { name, kind, default: "", description: "" }
    }

    fn rule(parameters: &'static [ParamSpec]) -> Rule {
        Rule {
            id: "checks",
            summary: "",
            resource_types: &[ResourceType::KmsKey],
            parameters,
            reads: crate::rule::Reads::Item,
            function: crate::FunctionSize::ONE_ITEM,
            inactive_keys: InactiveKeys::Evaluate,
            evaluate: |_, _| crate::Verdict::compliant(),
        }
    }

    /// The options find their parameters by kind, whatever the rule names them.
    #[test]
    fn options_set_the_parameters_of_their_kind() {
        static PARAMETERS: [ParamSpec; 4] = [
            spec("keys", ParamKind::KeyIds),
            spec("which", ParamKind::Choices(&["a", "b"])),
            spec("payer", ParamKind::AccountId),
            spec("trails", ParamKind::ArnPatterns),
        ];
        let rule = rule(&PARAMETERS);
        let name = |option: PrecheckOption| option.parameter(&rule).map(|p| p.name).unwrap();
        assert_eq!(name(PrecheckOption::Services), "which");
        assert_eq!(name(PrecheckOption::ManagementAccount), "payer");
        assert_eq!(name(PrecheckOption::Trails), "trails");
    }

    /// A rule with no parameter, or several, of an option's kind cannot be prechecked.
    #[test]
    fn an_option_without_exactly_one_parameter_is_an_error() {
        static PARAMETERS: [ParamSpec; 2] = [spec("payer", ParamKind::AccountId), spec("member", ParamKind::AccountId)];
        let rule = rule(&PARAMETERS);
        for (option, found) in [(PrecheckOption::ManagementAccount, 2), (PrecheckOption::Services, 0)] {
            match option.parameter(&rule) {
                Err(Error::PrecheckParameter { rule: "checks", option: flag, found: n }) => {
                    assert_eq!((flag, n), (option.flag(), found))
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
